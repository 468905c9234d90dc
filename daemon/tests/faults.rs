//! Faults of the real `chatd`: killed (-9) in the middle of a key rotation
//! or a password change, a full state directory, a read-only one, and the
//! whole process stopped (SIGSTOP) for longer than the keepalive.
//!
//! The kill loop runs `CHAT_FAULT_LOOPS` times (default 10, for CI); the
//! full run is
//!
//! ```text
//! CHAT_FAULT_LOOPS=100 cargo nextest run -p chatd --test faults --no-capture
//! ```
//!
//! and prints how many kills landed before and after each change took
//! effect. `CHAT_FAULT_SEED` replays a run (the seed is printed).

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use chat_protocol::{ClientEvent, RejectCode, ServerEvent, Token};
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use testkit::{DEADLINE, Daemon, DaemonBuilder, Outcome, RawClient, admin_call, bin};
use tokio_tungstenite::tungstenite::Message;

/// Loopback joins in these tests outnumber the per-address defaults.
const EXEMPT: &str = "limit_exempt = [\"127.0.0.0/8\"]\n";

/// How a join attempt ended, as far as these tests care.
#[derive(Debug, PartialEq)]
enum Join {
    Joined,
    UnknownKey,
    BadPassword,
    Other(String),
}

async fn try_join(url: &str, key: &str, name: &str, password: &str) -> Join {
    match RawClient::join(url, key, name, password).await {
        Outcome::Joined(_) => Join::Joined,
        Outcome::Closed(4001, _) => Join::UnknownKey,
        Outcome::Rejected(RejectCode::BadPassword, _) => Join::BadPassword,
        other => Join::Other(format!("{other:?}")),
    }
}

/// One admin request that may be cut by the daemon's death: the status,
/// and the body when a whole answer arrived.
fn admin_request(socket: &Path, method: &str, path: &str, body: &str) -> Option<(u16, String)> {
    let mut stream = UnixStream::connect(socket).ok()?;
    stream.set_read_timeout(Some(DEADLINE)).ok()?;
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).ok()?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).ok()?;
    let text = String::from_utf8_lossy(&response);
    let status = text.split(' ').nth(1)?.parse().ok()?;
    let (_, payload) = text.split_once("\r\n\r\n")?;
    Some((status, payload.to_string()))
}

/// A small deterministic generator, so that a failing run can be replayed.
struct Rng(u64);

impl Rng {
    fn seeded() -> (Self, u64) {
        let seed = std::env::var("CHAT_FAULT_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos() as u64
                    | 1
            });
        (Self(seed), seed)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Op {
    RotateNoGrace,
    RotateGrace,
    Passwd,
}

impl Op {
    fn request(self, password: &str) -> (&'static str, &'static str, String) {
        match self {
            Op::RotateNoGrace => ("POST", "/v1/key/rotate", "{}".into()),
            Op::RotateGrace => ("POST", "/v1/key/rotate", r#"{"grace_secs":3600}"#.into()),
            Op::Passwd => (
                "PUT",
                "/v1/password",
                json!({ "password": password }).to_string(),
            ),
        }
    }
}

/// Per operation: kills that found the change done, not done, and how
/// many of the done ones had been answered 200 first.
#[derive(Default, Debug)]
struct Counts {
    done: u32,
    not_done: u32,
    answered: u32,
}

fn builder() -> DaemonBuilder {
    Daemon::builder().config(EXEMPT)
}

fn kill9(d: &mut Daemon) {
    d.signal(libc::SIGKILL);
    d.wait_exit();
}

#[tokio::test]
async fn kill_9_during_rotation_and_password_change_loses_nothing_and_revives_nothing() {
    let loops: u32 = std::env::var("CHAT_FAULT_LOOPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let (mut rng, seed) = Rng::seeded();
    eprintln!("kill loop: {loops} loops, CHAT_FAULT_SEED={seed}");

    let mut d = builder().start();
    let mut password = "pw-start".to_string();
    let (code, _) = admin_call(
        &d.runtime_dir,
        "PUT",
        "/v1/password",
        Some(&json!({ "password": password }).to_string()),
    );
    assert_eq!(code, 200);

    // How long each change takes here, so that the kills land around it.
    let mut took = [Duration::ZERO; 3];
    for (i, op) in [Op::RotateNoGrace, Op::RotateGrace, Op::Passwd]
        .into_iter()
        .enumerate()
    {
        let (method, path, body) = op.request(&password);
        let start = Instant::now();
        let (code, _) = admin_request(&d.runtime_dir.join("admin.sock"), method, path, &body)
            .expect("an answer");
        assert_eq!(code, 200);
        took[i] = start.elapsed();
    }
    // The measuring changes left a grace and the same password: restart
    // from a known point, on the key now in force.
    // The rotation with grace above made the no-grace key the previous one.
    let text = std::fs::read_to_string(d.state_dir.join("key.previous")).unwrap();
    let mut allowed_previous = Some(text.lines().next().unwrap().to_string());
    let mut seen: Vec<String> = allowed_previous.iter().cloned().collect();
    let mut counts = [Counts::default(), Counts::default(), Counts::default()];

    for i in 0..loops {
        let before = d.read_key();
        if !seen.contains(&before) {
            seen.push(before.clone());
        }
        let op = match rng.below(3) {
            0 => Op::RotateNoGrace,
            1 => Op::RotateGrace,
            _ => Op::Passwd,
        };
        let new_password = format!("pw-{i}");
        let (method, path, body) = op.request(&new_password);
        let socket = d.runtime_dir.join("admin.sock");
        let caller = std::thread::spawn(move || admin_request(&socket, method, path, &body));
        // Anywhere from before the request arrives to after it is answered.
        let window = took[op as usize].as_micros() as u64 * 2 + 2000;
        std::thread::sleep(Duration::from_micros(rng.below(window)));
        kill9(&mut d);
        let answer = caller.join().expect("admin caller");
        let answered_ok = matches!(answer, Some((200, _)));

        // The same state directory always starts.
        d = builder().same_dirs_as(&d).start();
        let after = d.read_key();
        Token::parse(&after).unwrap_or_else(|e| panic!("loop {i}: key does not parse: {e:?}"));
        let names = |n: &str| format!("l{i}{n}");

        // The password in force: the old or the new one, never neither.
        let password_changed = match try_join(&d.url, &after, &names("p"), &new_password).await {
            Join::Joined if op == Op::Passwd => true,
            Join::BadPassword => {
                assert_eq!(
                    try_join(&d.url, &after, &names("q"), &password).await,
                    Join::Joined,
                    "loop {i} ({op:?}): neither the old nor the new password joins with the current key; log:\n{}",
                    d.log()
                );
                false
            }
            other => panic!(
                "loop {i} ({op:?}): the current key with the new password: {other:?}; log:\n{}",
                d.log()
            ),
        };
        let rotated = after != before;
        if rotated {
            assert!(
                matches!(op, Op::RotateGrace | Op::RotateNoGrace),
                "loop {i}: the key changed during {op:?}"
            );
            assert!(
                !seen.contains(&after),
                "loop {i}: a key withdrawn earlier came back as the current one"
            );
        }
        let done = match op {
            Op::Passwd => password_changed,
            _ => rotated,
        };
        if answered_ok {
            assert!(
                done,
                "loop {i} ({op:?}): answered 200 but not in force after the restart: {answer:?}"
            );
            if op != Op::Passwd {
                let token = serde_json::from_str::<serde_json::Value>(&answer.clone().unwrap().1)
                    .unwrap()["token"]
                    .as_str()
                    .unwrap()
                    .to_string();
                assert_eq!(
                    token, after,
                    "loop {i}: the key answered is not the key in force"
                );
            }
        }
        if password_changed {
            password = new_password.clone();
        }
        let c = &mut counts[op as usize];
        if done {
            c.done += 1;
            c.answered += u32::from(answered_ok);
        } else {
            c.not_done += 1;
        }
        match (op, rotated) {
            (Op::RotateGrace, true) => {
                assert_eq!(
                    try_join(&d.url, &before, &names("g"), &password).await,
                    Join::Joined,
                    "loop {i}: the key a rotation with grace replaced does not join during its grace"
                );
                allowed_previous = Some(before.clone());
            }
            (Op::RotateNoGrace, true) => allowed_previous = None,
            _ => {}
        }
        // The current key joins; at most it and the previous one do.
        assert_eq!(
            try_join(&d.url, &after, &names("c"), &password).await,
            Join::Joined,
            "loop {i}: the current key does not join"
        );
        for (n, old) in seen.iter().enumerate() {
            if *old == after || Some(old) == allowed_previous.as_ref() {
                continue;
            }
            let got = try_join(&d.url, old, &names(&format!("o{n}")), &password).await;
            assert_eq!(
                got,
                Join::UnknownKey,
                "loop {i} ({op:?}): key #{n}, withdrawn, is accepted again; log:\n{}",
                d.log()
            );
        }
        let leftovers: Vec<_> = std::fs::read_dir(&d.state_dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with('.'))
            .collect();
        // A write cut by the kill leaves its temp file; chatd removes it
        // when it starts again.
        assert!(
            leftovers.is_empty(),
            "loop {i}: temp files after the restart: {leftovers:?}"
        );
    }
    let [nograce, grace, passwd] = &counts;
    eprintln!(
        "kill loop done ({loops} loops, seed {seed}):\n  rotate (no grace): {} done ({} answered first), {} not done\n  rotate (grace):    {} done ({} answered first), {} not done\n  passwd:            {} done ({} answered first), {} not done",
        nograce.done,
        nograce.answered,
        nograce.not_done,
        grace.done,
        grace.answered,
        grace.not_done,
        passwd.done,
        passwd.answered,
        passwd.not_done
    );
}

/// What a failed change must leave: the same key file, parseable, the same
/// password file, no temp file, no previous key, and both still joining.
async fn assert_unchanged(d: &Daemon, state: &Path, key_text: &str, password_text: &str) {
    let key_now = std::fs::read_to_string(state.join("key")).unwrap();
    assert_eq!(key_now, key_text, "the key file changed");
    Token::parse(key_now.lines().next().unwrap()).expect("key parses");
    assert_eq!(
        std::fs::read_to_string(state.join("password")).unwrap(),
        password_text,
        "the password file changed"
    );
    let names: Vec<_> = std::fs::read_dir(state)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        !names
            .iter()
            .any(|n| n.starts_with('.') || n == "key.previous"),
        "half-written files left: {names:?}"
    );
    let (code, status) = admin_call(&d.runtime_dir, "GET", "/v1/status", None);
    assert_eq!(code, 200);
    assert_eq!(
        status["key_id"],
        Token::parse(&d.key).unwrap().key_id().to_string()
    );
    assert_eq!(
        try_join(&d.url, &d.key, "still", "old-pw").await,
        Join::Joined
    );
    assert_eq!(
        try_join(&d.url, &d.key, "newpw", "new-pw").await,
        Join::BadPassword
    );
}

/// Tries every change the admin can make to the state directory; each must
/// fail with a 500 that names `problem`, and chatctl must exit 1 saying so.
/// `chatctl` runs as nobody when `as_nobody`, the daemon's own user (it
/// refuses, as root, a socket in a directory nobody owns).
fn assert_changes_refused(d: &Daemon, problem: &str, as_nobody: bool) {
    for (method, path, body) in [
        ("POST", "/v1/key/rotate", "{}"),
        ("POST", "/v1/key/rotate", r#"{"grace_secs":600}"#),
        ("POST", "/v1/key/rotate", r#"{"disconnect":true}"#),
        ("PUT", "/v1/password", r#"{"password":"new-pw"}"#),
    ] {
        let (code, answer) = admin_call(&d.runtime_dir, method, path, Some(body));
        assert_eq!(code, 500, "{method} {path} {body}: {answer}");
        let message = answer["error"]["message"].as_str().unwrap_or_default();
        assert!(
            message.contains(problem),
            "{method} {path}: the error does not name {problem:?}: {answer}"
        );
    }
    for args in [&["rotate-key"][..], &["rotate-key", "--grace", "10m"]] {
        let mut cmd = if as_nobody {
            let mut cmd = Command::new("setpriv");
            cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
                .arg(bin("chatctl"));
            cmd
        } else {
            Command::new(bin("chatctl"))
        };
        let out = cmd
            .arg("--socket")
            .arg(d.runtime_dir.join("admin.sock"))
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "chatctl {args:?}: {stderr}");
        assert!(stderr.contains(problem), "chatctl {args:?}: {stderr}");
    }
}

fn set_password(d: &Daemon, password: &str) {
    let (code, body) = admin_call(
        &d.runtime_dir,
        "PUT",
        "/v1/password",
        Some(&json!({ "password": password }).to_string()),
    );
    assert_eq!(code, 200, "{body}");
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

#[tokio::test]
async fn a_full_state_directory_refuses_changes_and_keeps_the_old_key_and_password() {
    // The state directory is a 64 KiB tmpfs mounted in a mount namespace of
    // chatd's own (unshare -m): the mount is invisible outside it and
    // vanishes with chatd, whatever happens to the test, so no mount is
    // ever left behind. The test reaches the directory through
    // /proc/PID/root.
    assert!(
        is_root(),
        "this test mounts a tmpfs and must run as root (CI does); run it as root"
    );
    let d = builder().state_on_tmpfs("64k").start();
    let state = d.state_dir.clone();
    let inside = state
        .strip_prefix(format!("/proc/{}/root", d.pid()))
        .map(|p| Path::new("/").join(p))
        .expect("the state directory as chatd sees it");
    let mounts = std::fs::read_to_string(format!("/proc/{}/mounts", d.pid())).unwrap();
    assert!(
        mounts.contains(&format!("tmpfs {} tmpfs", inside.display())),
        "the state directory is not the tmpfs: {mounts}"
    );
    let outside = std::fs::read_to_string("/proc/self/mounts").unwrap();
    assert!(
        !outside.contains(&inside.display().to_string()),
        "the tmpfs is visible outside chatd's namespace"
    );
    set_password(&d, "old-pw");
    let key_text = std::fs::read_to_string(state.join("key")).unwrap();
    let password_text = std::fs::read_to_string(state.join("password")).unwrap();
    // Fill it up.
    let mut ballast = std::fs::File::create(state.join("ballast")).unwrap();
    let chunk = vec![0u8; 4096];
    loop {
        match ballast.write(&chunk) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) if e.raw_os_error() == Some(libc::ENOSPC) => break,
            Err(e) => panic!("filling the tmpfs: {e}"),
        }
    }
    drop(ballast);
    assert_changes_refused(&d, "No space left on device", false);
    assert_unchanged(&d, &state, &key_text, &password_text).await;
    // Room again: the same changes go through.
    std::fs::remove_file(state.join("ballast")).unwrap();
    let (code, body) = admin_call(&d.runtime_dir, "POST", "/v1/key/rotate", Some("{}"));
    assert_eq!(code, 200, "{body}");
    set_password(&d, "new-pw");
}

#[tokio::test]
async fn a_read_only_state_directory_refuses_changes_and_keeps_the_old_key_and_password() {
    // Root ignores file modes: as root, chatd runs as nobody.
    let setpriv = is_root();
    if setpriv {
        assert!(
            Command::new("setpriv")
                .arg("--version")
                .stdout(Stdio::null())
                .status()
                .is_ok_and(|s| s.success()),
            "as root this test runs chatd as nobody through setpriv (util-linux); install it"
        );
    }
    let tmp = tempfile::tempdir().unwrap();
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let own_dir = |name: &str| {
        let dir = tmp.path().join(name);
        std::fs::create_dir(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
        if setpriv {
            std::os::unix::fs::chown(&dir, Some(65534), Some(65534)).unwrap();
        }
        dir
    };
    let (state, runtime) = (own_dir("state"), own_dir("run"));
    let config = tmp.path().join("chatd.toml");
    std::fs::write(&config, EXEMPT).unwrap();
    let start = || {
        let b = Daemon::builder()
            .dirs_found_at(&state, &runtime)
            .arg("--state-dir")
            .arg(state.to_str().unwrap())
            .arg("--runtime-dir")
            .arg(runtime.to_str().unwrap())
            .arg("--config")
            .arg(config.to_str().unwrap());
        if setpriv {
            b.wrapped_in(
                "setpriv",
                &["--reuid=65534", "--regid=65534", "--clear-groups", "--"],
            )
        } else {
            b
        }
        .start()
    };
    let mut d = start();
    set_password(&d, "old-pw");
    let key_text = std::fs::read_to_string(state.join("key")).unwrap();
    let password_text = std::fs::read_to_string(state.join("password")).unwrap();
    std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o500)).unwrap();
    assert_changes_refused(&d, "Permission denied", setpriv);
    assert_unchanged(&d, &state, &key_text, &password_text).await;
    // Writable again and restarted: the old key and password are in force.
    d.terminate();
    std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o700)).unwrap();
    let d = start();
    assert_eq!(d.read_key(), key_text.trim_end());
    assert_unchanged(&d, &state, &key_text, &password_text).await;
}

/// What one client saw: public messages (server id, the number in the
/// text) in arrival order, and how its connection ended.
#[derive(Debug, Default)]
struct Seen {
    messages: Vec<(u64, u64)>,
    ended: Option<String>,
}

enum Saw {
    Message(u64, u64),
    Ended(String),
}

/// Runs a joined client until its connection ends: sends what comes on
/// `outbox`, reports every public message and the end on `report`. It
/// reads all the time, so that it answers the server's pings.
async fn run_client(
    idx: usize,
    mut c: RawClient,
    mut outbox: tokio::sync::mpsc::UnboundedReceiver<String>,
    report: tokio::sync::mpsc::UnboundedSender<(usize, Saw)>,
) {
    let mut open = true;
    let mut bye = None;
    let end = loop {
        tokio::select! {
            text = outbox.recv(), if open => match text {
                Some(text) => {
                    let plain = ClientEvent::Say { room: None,  text, cid: None }.to_bytes();
                    let sealed = c.session.sealer.seal(&plain).unwrap();
                    // A send into a closed connection is not an error here:
                    // the read side reports how it ended.
                    let _ = c.ws.send(Message::Binary(sealed.into())).await;
                }
                None => open = false,
            },
            msg = c.ws.next() => match msg {
                Some(Ok(Message::Binary(b))) => {
                    // Anything that does not open or parse ends the client
                    // at once, reported (not a panic in this task, which
                    // the test would only notice at its deadline).
                    let plain = match c
                        .session
                        .opener
                        .open(&b, chat_protocol::sizes::MAX_SERVER_MESSAGE)
                    {
                        Ok(plain) => plain,
                        Err(e) => break format!("BROKEN: a server message does not open: {e:?}"),
                    };
                    match serde_json::from_slice::<ServerEvent>(&plain) {
                        Ok(ServerEvent::Message(m)) => match m.text.trim_start_matches('m').parse() {
                            Ok(n) => {
                                let _ = report.send((idx, Saw::Message(m.id, n)));
                            }
                            Err(_) => break format!("BROKEN: unexpected message {m:?}"),
                        },
                        Ok(ServerEvent::Bye { code, reason, .. }) => bye = Some(format!("{code:?} {reason}")),
                        Ok(_) => {}
                        Err(e) => break format!("BROKEN: an event does not parse: {e}"),
                    }
                }
                Some(Ok(Message::Close(frame))) => {
                    break format!("close {:?} after bye {bye:?}", frame.map(|f| u16::from(f.code)));
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => break format!("error {e} after bye {bye:?}"),
                None => break format!("eof after bye {bye:?}"),
            },
        }
    };
    let _ = report.send((idx, Saw::Ended(end)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigstop_past_the_keepalive_then_sigcont_delivers_nothing_twice() {
    let d = builder()
        .config(&format!(
            "{EXEMPT}keepalive_interval = \"500ms\"\nkeepalive_timeout = \"2s\"\nrate_burst = 100\nrate_per_second = 100\n"
        ))
        .start();
    const CLIENTS: usize = 6;
    let (report_tx, mut report) = tokio::sync::mpsc::unbounded_channel();
    let mut outboxes = Vec::new();
    let mut tasks = Vec::new();
    for idx in 0..CLIENTS {
        let c = RawClient::join(&d.url, &d.key, &format!("c{idx}"), "")
            .await
            .joined();
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        outboxes.push(tx);
        tasks.push(tokio::spawn(run_client(idx, c, rx, report_tx.clone())));
    }
    // One more joins after the fault, to send the last messages.
    let mut seen: Vec<Seen> = (0..=CLIENTS).map(|_| Seen::default()).collect();
    // Collects reports until `done` holds for every client, or the deadline.
    async fn collect(
        report: &mut tokio::sync::mpsc::UnboundedReceiver<(usize, Saw)>,
        seen: &mut [Seen],
        check: std::ops::Range<usize>,
        what: &str,
        done: impl Fn(&Seen) -> bool,
    ) {
        tokio::time::timeout(DEADLINE, async {
            while !seen[check.clone()].iter().all(&done) {
                let (idx, saw) = report.recv().await.expect("reports");
                match saw {
                    Saw::Message(id, n) => seen[idx].messages.push((id, n)),
                    Saw::Ended(how) => seen[idx].ended = Some(how),
                }
            }
        })
        .await
        .unwrap_or_else(|_| panic!("timed out waiting for {what}: {seen:?}"));
    }
    let has = |n: u64| move |s: &Seen| s.ended.is_some() || s.messages.iter().any(|m| m.1 == n);
    // Before the stop, everyone gets everything.
    for n in 0..10 {
        outboxes[0].send(format!("m{n}")).unwrap();
    }
    collect(
        &mut report,
        &mut seen,
        0..CLIENTS,
        "m9 before the stop",
        has(9),
    )
    .await;
    assert!(seen.iter().all(|s| s.ended.is_none()), "{seen:?}");

    d.signal(libc::SIGSTOP);
    // Sent while chatd is stopped: they wait in the sockets.
    for n in 10..20 {
        outboxes[0].send(format!("m{n}")).unwrap();
    }
    // The fault itself: stopped for more than twice the keepalive timeout.
    std::thread::sleep(Duration::from_secs(5));
    d.signal(libc::SIGCONT);
    // The sender may have been dropped: the last messages come from a
    // client that joins after the fault.
    let late = RawClient::join(&d.url, &d.key, "late", "").await.joined();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tasks.push(tokio::spawn(run_client(
        CLIENTS,
        late,
        rx,
        report_tx.clone(),
    )));
    for n in 20..30 {
        tx.send(format!("m{n}")).unwrap();
    }
    outboxes.push(tx);
    // The late sender gets its own last message back: it joined after the
    // fault, so nothing excuses its loss.
    collect(
        &mut report,
        &mut seen,
        CLIENTS..CLIENTS + 1,
        "the late sender's m29",
        has(29),
    )
    .await;
    assert!(
        seen[CLIENTS].ended.is_none(),
        "the client that joined after the fault was dropped: {:?}; log:\n{}",
        seen[CLIENTS],
        d.log()
    );
    // Each client recovers (sees the last message) or is dropped.
    collect(
        &mut report,
        &mut seen,
        0..CLIENTS + 1,
        "m29 or an end",
        has(29),
    )
    .await;
    drop(outboxes);
    for (idx, s) in seen.iter().enumerate() {
        let numbers: Vec<u64> = s.messages.iter().map(|m| m.1).collect();
        let ids: Vec<u64> = s.messages.iter().map(|m| m.0).collect();
        // Each sender's messages at most once and in order (the first
        // sender's 0-19, the late one's 20-29).
        for from in [0..20, 20..30] {
            let theirs: Vec<u64> = numbers
                .iter()
                .copied()
                .filter(|n| from.contains(n))
                .collect();
            assert!(
                theirs.windows(2).all(|w| w[0] < w[1]),
                "client {idx}: a message twice or out of order: {numbers:?}"
            );
        }
        assert!(
            ids.windows(2).all(|w| w[0] < w[1]),
            "client {idx}: a server id twice or out of order: {ids:?}"
        );
        if let Some(how) = &s.ended {
            assert!(
                !how.starts_with("BROKEN"),
                "client {idx}: {how}; log:\n{}",
                d.log()
            );
            // Dropped: with a sealed Bye or a close, never unsealed junk
            // (run_client panics on anything that fails to open).
            assert!(
                how.starts_with("close") || !how.ends_with("after bye None"),
                "client {idx}: dropped without a Bye or a close frame: {how}; log:\n{}",
                d.log()
            );
        }
        eprintln!(
            "client {idx}: {} messages, ended: {:?}",
            s.messages.len(),
            s.ended
        );
    }
    for t in tasks {
        t.abort();
        if let Err(e) = t.await
            && e.is_panic()
        {
            std::panic::resume_unwind(e.into_panic());
        }
    }
    // chatd itself came through: no panic, and it still serves.
    assert!(d.log().find("panicked").is_none(), "{}", d.log());
    assert_eq!(try_join(&d.url, &d.key, "after", "").await, Join::Joined);
}
