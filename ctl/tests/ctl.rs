//! The real `chatctl` binary without a daemon: against missing and dead
//! sockets, and against a fake admin socket in the test that records each
//! request and answers what the test says. Checks the exit codes, the
//! messages, each command's call, and both output forms.

mod common;

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt as _;
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::sync::mpsc;

use chat_protocol::admin::Status;
use common::{DEADLINE, Run, assert_no_panic, chatctl, run, run_at};
use serde_json::{Value, json};
use tempfile::TempDir;

/// One request as the fake daemon received it.
#[derive(Debug)]
struct Seen {
    /// `GET /v1/status`.
    line: String,
    /// The header lines, lowercased.
    headers: String,
    /// The body, empty if none.
    body: String,
}

impl Seen {
    /// The body as JSON (`Null` when empty).
    fn json(&self) -> Value {
        if self.body.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&self.body).unwrap()
        }
    }
}

/// A Unix socket in a temp dir that answers each connection, in turn, with
/// the next (status, body) of its script; status 0 closes without a word.
struct Fake {
    _dir: TempDir,
    path: PathBuf,
    seen: mpsc::Receiver<Seen>,
}

impl Fake {
    /// Answers of JSON, as almost every call has.
    fn new(script: Vec<(u16, String)>) -> Self {
        Self::typed(
            script
                .into_iter()
                .map(|(status, body)| (status, "application/json", body))
                .collect(),
        )
    }

    /// Answers of the given content types.
    fn typed(script: Vec<(u16, &'static str, String)>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("admin.sock");
        let listener = UnixListener::bind(&path).unwrap();
        let (tx, seen) = mpsc::channel();
        std::thread::spawn(move || {
            for (status, content_type, body) in script {
                let Ok((mut stream, _)) = listener.accept() else {
                    return;
                };
                stream.set_read_timeout(Some(DEADLINE)).unwrap();
                if status == 0 {
                    continue;
                }
                // chatctl may connect and then decide not to ask (a bad
                // password on stdin): nothing to record then.
                let Some(request) = read_request(&mut stream) else {
                    continue;
                };
                let answer = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(answer.as_bytes());
                let _ = tx.send(request);
            }
        });
        Self {
            _dir: dir,
            path,
            seen,
        }
    }

    /// A fake that answers once with 200 and `body`.
    fn ok(body: Value) -> Self {
        Self::new(vec![(200, body.to_string())])
    }

    /// The next request it received.
    fn next(&self) -> Seen {
        self.seen
            .recv_timeout(DEADLINE)
            .expect("chatctl sent a request")
    }

    fn run(&self, args: &[&str]) -> Run {
        run_at(&self.path, args, "")
    }
}

fn read_request(stream: &mut impl Read) -> Option<Seen> {
    let mut bytes = Vec::new();
    let mut buf = [0u8; 4096];
    let head_end = loop {
        if let Some(at) = bytes.windows(4).position(|w| w == b"\r\n\r\n") {
            break at;
        }
        let n = stream.read(&mut buf).expect("read request");
        if n == 0 {
            return None;
        }
        bytes.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8(bytes[..head_end].to_vec()).unwrap();
    let (line, headers) = head.split_once("\r\n").unwrap_or((&head, ""));
    let headers = headers.to_ascii_lowercase();
    let length: usize = headers
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .map_or(0, |v| v.trim().parse().unwrap());
    let mut body = bytes[head_end + 4..].to_vec();
    while body.len() < length {
        let n = stream.read(&mut buf).expect("read body");
        assert!(n > 0, "body ended early");
        body.extend_from_slice(&buf[..n]);
    }
    Some(Seen {
        line: line.to_string(),
        headers,
        body: String::from_utf8(body).unwrap(),
    })
}

fn error_body(code: &str, message: &str) -> String {
    json!({"error": {"code": code, "message": message}}).to_string()
}

fn sample_status() -> Value {
    json!({
        "version": "0.1.0",
        "uptime_secs": 93_784,
        "listen": "127.0.0.1:1719",
        "key_id": "0123456789abcdef",
        "previous_key_id": "fedcba9876543210",
        "previous_key_expires": 4_102_444_800u64,
        "online": 2,
        "max_users": 100,
        "messages_total": 1234,
        "messages_per_minute": 12,
        "password": "admin",
        "state_dir": "/var/lib/chatd",
        "pid": 4321,
    })
}

#[test]
fn no_daemon_exits_69_naming_the_socket_tried() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("admin.sock");
    let check = |run: Run| {
        let err = run.failed(69);
        assert!(
            err.contains(&format!("{}: no such socket", socket.display())),
            "{err}"
        );
        assert!(
            err.contains("`chatd`") && err.contains("systemctl start chatd"),
            "{err}"
        );
    };
    check(run_at(&socket, &["status"], ""));
    // CHATD_SOCKET is as explicit as --socket: the one path tried.
    let mut cmd = chatctl();
    cmd.env("CHATD_SOCKET", &socket).arg("users");
    let run = run(cmd, "");
    assert!(!run.stderr.contains("/run/chatd/admin.sock"), "{run:?}");
    check(run);
}

#[test]
fn without_a_socket_every_default_path_is_named() {
    let system = Path::new("/run/chatd/admin.sock");
    if system.exists() {
        eprintln!(
            "skipped: a system chatd may be running at {}",
            system.display()
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = chatctl();
    cmd.env("XDG_RUNTIME_DIR", dir.path()).arg("status");
    let err = run(cmd, "").failed(69);
    // SAFETY: geteuid has no preconditions.
    let own = if unsafe { libc::geteuid() } == 0 {
        system.to_path_buf()
    } else {
        dir.path().join("chatd/admin.sock")
    };
    let own_at = err.find(&own.display().to_string()).expect(&err);
    let system_at = err.find("/run/chatd/admin.sock").expect(&err);
    assert!(own_at <= system_at, "own runtime path first: {err}");

    // An empty CHATD_SOCKET counts as unset.
    let mut cmd = chatctl();
    cmd.env("XDG_RUNTIME_DIR", dir.path())
        .env("CHATD_SOCKET", "")
        .arg("status");
    assert_eq!(run(cmd, "").failed(69), err);
}

#[test]
fn a_socket_nothing_listens_on_exits_69() {
    let dir = tempfile::tempdir().unwrap();
    // A stopped daemon's leftover: bound, then closed.
    let stale = dir.path().join("stale.sock");
    drop(UnixListener::bind(&stale).unwrap());
    let err = run_at(&stale, &["status"], "").failed(69);
    assert!(
        err.contains(&format!("{}: connection refused", stale.display())),
        "{err}"
    );
    // A plain file where the socket should be.
    let plain = dir.path().join("plain");
    std::fs::write(&plain, "").unwrap();
    let err = run_at(&plain, &["key"], "").failed(69);
    assert!(
        err.contains(&format!("{}: not a socket", plain.display())),
        "{err}"
    );
}

#[test]
fn a_socket_in_a_directory_anyone_may_write_is_refused() {
    // As `--socket /tmp/admin.sock` would be: anyone could have put it there.
    let fake = Fake::ok(sample_status());
    let dir = fake.path.parent().unwrap();
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o1777)).unwrap();
    let err = fake.run(&["status"]).failed(77);
    for says in [
        &format!("refusing {}", fake.path.display())[..],
        &format!(
            "its directory {} may be written by others (mode 1777)",
            dir.display()
        ),
        "nothing was sent",
        "--runtime-dir",
    ] {
        assert!(err.contains(says), "{says:?} in {err}");
    }
    // Group-writable is no better.
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o770)).unwrap();
    let err = fake.run(&["key"]).failed(77);
    assert!(err.contains("(mode 0770)"), "{err}");
    assert!(fake.seen.try_recv().is_err(), "no call was made");
    // Private again: the same socket is used.
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    fake.run(&["status"]).ok();
    assert_eq!(fake.next().line, "GET /v1/status HTTP/1.1");
}

#[test]
fn a_daemon_that_hangs_up_exits_69() {
    let fake = Fake::new(vec![(0, String::new())]);
    let err = fake.run(&["status"]).failed(69);
    assert!(
        err.contains("closed the connection before answering"),
        "{err}"
    );
}

#[test]
fn http_403_exits_77_naming_the_group() {
    let message = "permission denied: the admin API admits root, the daemon's own user, or a member of the group \"chat-admin\"";
    let fake = Fake::new(vec![(403, error_body("forbidden", message))]);
    let err = fake.run(&["status"]).failed(77);
    assert_eq!(err, format!("chatctl: forbidden: {message}\n"));
    // Without a message saying who may, chatctl says it.
    let fake = Fake::new(vec![(403, "{}".into())]);
    let err = fake.run(&["users"]).failed(77);
    assert!(
        err.contains("you must be root, the daemon's user, or a member of its admin group"),
        "{err}"
    );
}

#[test]
fn refusals_exit_1_with_code_and_message_on_one_line() {
    let fake = Fake::new(vec![
        (409, error_body("conflict", "a rotation is already running")),
        (
            400,
            error_body(
                "bad_request",
                "the notice has control characters\n\u{1b}[2J",
            ),
        ),
    ]);
    let err = fake.run(&["rotate-key"]).failed(1);
    assert_eq!(err, "chatctl: conflict: a rotation is already running\n");
    let err = fake.run(&["say", "x"]).failed(1);
    assert_eq!(
        err,
        "chatctl: bad_request: the notice has control characters\\x0a\\x1b[2J\n"
    );
    // With --json the error is also JSON on stdout (DESIGN): the daemon's
    // code and message as it sent them.
    let fake = Fake::new(vec![(404, error_body("no_such_user", "no one called bob"))]);
    let error = fake.run(&["--json", "kick", "bob"]).failed_json(1);
    assert_eq!(error["error"]["code"], "no_such_user");
    assert_eq!(error["error"]["message"], "no one called bob");
}

#[test]
fn json_errors_of_chatctl_itself_are_json_on_stdout_too() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("admin.sock");
    let error = run_at(&missing, &["--json", "status"], "").failed_json(69);
    assert_eq!(error["error"]["code"], "unreachable");
    let mut cmd = chatctl();
    cmd.args(["--json", "--no-such-flag", "status"]);
    let error = run(cmd, "").failed_json(2);
    assert_eq!(error["error"]["code"], "usage");
}

#[test]
fn status_as_a_table_and_as_json() {
    let fake = Fake::new(vec![
        (200, sample_status().to_string()),
        (200, sample_status().to_string()),
        (200, sample_status().to_string()),
    ]);
    let table = fake.run(&["status"]).ok();
    let seen = fake.next();
    assert_eq!(seen.line, "GET /v1/status HTTP/1.1");
    assert!(
        seen.headers.contains("host: localhost\r\n") || seen.headers.ends_with("host: localhost"),
        "{seen:?}"
    );
    for line in [
        "version:          0.1.0",
        "uptime:           1d 2h",
        "key id:           0123456789abcdef",
        "previous key id:  fedcba9876543210, joins until 2100-01-01 00:00:00 UTC (in ",
        "online:           2 of 100",
        "password:         admin (set with `chatctl passwd`)",
        "state dir:        /var/lib/chatd",
    ] {
        assert!(
            table.lines().any(|l| l.starts_with(line)),
            "{line:?} in\n{table}"
        );
    }
    // --json before or after the subcommand: the daemon's object, parsed.
    for args in [&["--json", "status"], &["status", "--json"]] {
        let value = fake.run(args).json();
        fake.next();
        assert_eq!(value, sample_status());
        let _: Status = serde_json::from_value(value).unwrap();
    }
}

#[test]
fn key_prints_the_token_alone() {
    let token = "chat1_AAAAbbbbCCCCdddd";
    let fake = Fake::new(vec![
        (
            200,
            json!({"token": token, "key_id": "0123456789abcdef"}).to_string(),
        ),
        (
            200,
            json!({"token": token, "key_id": "0123456789abcdef"}).to_string(),
        ),
    ]);
    assert_eq!(fake.run(&["key"]).ok(), format!("{token}\n"));
    assert_eq!(fake.next().line, "GET /v1/key HTTP/1.1");
    assert_eq!(fake.run(&["key", "--json"]).json()["token"], token);
}

#[test]
fn every_command_makes_its_call() {
    let rotated = json!({
        "token": "chat1_NEW", "key_id": "1111111111111111",
        "previous_key_id": "2222222222222222", "previous_key_expires": null,
        "disconnected": 3,
    });
    let cases: Vec<(&[&str], &str, Value, Value, &str)> = vec![
        (
            &["users"],
            "GET /v1/users",
            Value::Null,
            json!({"users": [{"name": "ace", "address": "127.0.0.1:5", "since": 0,
                              "messages": 7, "key_id": "0123456789abcdef"}]}),
            "NAME  ADDRESS      SINCE",
        ),
        (
            &["rotate-key", "--disconnect", "--grace", "10m"],
            "POST /v1/key/rotate",
            json!({"disconnect": true, "grace_secs": 600}),
            rotated.clone(),
            "3 sessions disconnected",
        ),
        (
            &["rotate-key"],
            "POST /v1/key/rotate",
            json!({"disconnect": false, "grace_secs": 0}),
            rotated,
            "\nchat1_NEW\n",
        ),
        (
            &["passwd", "--clear"],
            "DELETE /v1/password",
            Value::Null,
            json!({"password": "file"}),
            "admin password removed; in force: file",
        ),
        (
            &["kick", "ace", "--reason", "flooding the room"],
            "POST /v1/users/ace/kick",
            json!({"reason": "flooding the room"}),
            json!({"name": "ace"}),
            "kicked ace\n",
        ),
        (
            &["kick", "ace"],
            "POST /v1/users/ace/kick",
            json!({"reason": null}),
            json!({"name": "ace"}),
            "kicked ace\n",
        ),
        (
            &["say", "back", "at  noon"],
            "POST /v1/notice",
            json!({"text": "back at  noon"}),
            json!({"delivered": 2}),
            "notice sent to 2 users\n",
        ),
        (
            &["reload"],
            "POST /v1/reload",
            Value::Null,
            json!({"changed": ["motd"], "restart_needed": ["listen"]}),
            "needs a restart: listen\n",
        ),
    ];
    for (args, call, body, answer, shows) in cases {
        let fake = Fake::new(vec![(200, answer.to_string()), (200, answer.to_string())]);
        let out = fake.run(args).ok();
        assert!(out.contains(shows), "{args:?}: {shows:?} in\n{out}");
        let seen = fake.next();
        assert_eq!(seen.line, format!("{call} HTTP/1.1"), "{args:?}");
        assert_eq!(seen.json(), body, "{args:?}");
        if !seen.body.is_empty() {
            assert!(
                seen.headers.contains("content-type: application/json"),
                "{seen:?}"
            );
        }
        let json_args: Vec<&str> = args.iter().copied().chain(["--json"]).collect();
        assert_eq!(fake.run(&json_args).json(), answer, "{args:?}");
    }
}

/// A scrape as chatd sends it (abridged).
const SCRAPE: &str = "\
# HELP chatd_build_info chatd's version and protocol.
# TYPE chatd_build_info gauge
chatd_build_info{version=\"0.1.0\",protocol=\"1\"} 1
# HELP chatd_users_online Users joined to this node.
# TYPE chatd_users_online gauge
chatd_users_online 2
";

#[test]
fn metrics_prints_the_text_as_sent_in_the_format_asked() {
    let text_type = "text/plain; version=0.0.4; charset=utf-8";
    let om_type = "application/openmetrics-text; version=1.0.0; charset=utf-8";
    let om_scrape = format!(
        "{}# EOF\n",
        SCRAPE.replace("gauge\nchatd_build_info", "info\nchatd_build_info")
    );
    let fake = Fake::typed(vec![
        (200, text_type, SCRAPE.into()),
        (200, om_type, om_scrape.clone()),
        (200, text_type, SCRAPE.into()),
    ]);
    assert_eq!(fake.run(&["metrics"]).ok(), SCRAPE);
    let seen = fake.next();
    assert_eq!(seen.line, "GET /v1/metrics HTTP/1.1");
    assert!(
        seen.headers
            .lines()
            .any(|l| l == "accept: text/plain; version=0.0.4"),
        "{seen:?}"
    );
    assert_eq!(fake.run(&["metrics", "--openmetrics"]).ok(), om_scrape);
    let seen = fake.next();
    assert!(
        seen.headers
            .contains("accept: application/openmetrics-text; version=1.0.0, text/plain"),
        "OpenMetrics first: {seen:?}"
    );
    // --json: the text in a JSON string, with its content type.
    let value = fake.run(&["--json", "metrics"]).json();
    assert_eq!(value, json!({"content_type": text_type, "text": SCRAPE}));

    // A text that could drive the terminal is escaped (chatd sends none).
    let fake = Fake::typed(vec![(
        200,
        text_type,
        "chatd_x{a=\"\u{1b}[2J\"} 1\n".into(),
    )]);
    assert_eq!(fake.run(&["metrics"]).ok(), "chatd_x{a=\"\\x1b[2J\"} 1\n");

    // A chatd without metrics, and one that refuses.
    let fake = Fake::new(vec![
        (
            404,
            error_body("not_found", "no such admin call; see docs/admin-api.md"),
        ),
        (403, error_body("forbidden", "not allowed")),
    ]);
    let err = fake.run(&["metrics"]).failed(1);
    assert_eq!(
        err,
        "chatctl: not_found: no such admin call; see docs/admin-api.md\n"
    );
    fake.run(&["metrics"]).failed(77);
}

#[test]
fn health_exits_0_when_serving_and_1_with_the_reason_when_not() {
    let serving = json!({"status": "serving"});
    let message = "NATS has been out of reach for 14s, longer than handshake_timeout (10s)";
    let unavailable = json!({"status": "unavailable",
                             "error": {"code": "cluster_unreachable", "message": message}});
    let fake = Fake::new(vec![
        (200, serving.to_string()),
        (200, serving.to_string()),
        (503, unavailable.to_string()),
        (503, unavailable.to_string()),
    ]);
    assert_eq!(fake.run(&["health"]).ok(), "serving\n");
    assert_eq!(fake.next().line, "GET /v1/health HTTP/1.1");
    assert_eq!(fake.run(&["health", "--json"]).json(), serving);
    let err = fake.run(&["health"]).failed(1);
    assert_eq!(err, format!("chatctl: cluster_unreachable: {message}\n"));
    let error = fake.run(&["--json", "health"]).failed_json(1);
    assert_eq!(error["error"]["code"], "cluster_unreachable");
    assert_eq!(error["error"]["message"], message);
}

#[test]
fn passwd_reads_stdin_and_never_shows_the_password() {
    let fake = Fake::ok(json!({"password": "admin"}));
    let run = run_at(
        &fake.path,
        &["passwd", "--stdin"],
        "s3cret pass\nnext line\n",
    );
    assert!(
        !run.stdout.contains("s3cret") && !run.stderr.contains("s3cret"),
        "{run:?}"
    );
    assert_eq!(
        run.ok(),
        "password set; in force: admin (set with `chatctl passwd`)\n"
    );
    let seen = fake.next();
    assert_eq!(seen.line, "PUT /v1/password HTTP/1.1");
    assert_eq!(seen.json(), json!({"password": "s3cret pass"}));

    // Nothing to read, or an empty line: refused before any call.
    for input in ["", "\n"] {
        let fake = Fake::ok(json!({"password": "admin"}));
        let err = run_at(&fake.path, &["passwd", "--stdin"], input).failed(1);
        assert!(
            err.contains("nothing changed") || err.contains("--clear"),
            "{err}"
        );
        assert!(fake.seen.try_recv().is_err(), "no call was made");
    }
}

#[test]
fn passwd_without_a_terminal_points_at_stdin() {
    // chatctl first checks that it may call (a status), then asks on
    // /dev/tty, which a process without a controlling terminal lacks.
    let fake = Fake::ok(sample_status());
    let err = fake.run(&["passwd"]).failed(2);
    assert!(err.contains("--stdin"), "{err}");
    assert_eq!(fake.next().line, "GET /v1/status HTTP/1.1");
}

#[test]
fn usage_errors_exit_2_before_any_call() {
    let dir = tempfile::tempdir().unwrap();
    let nowhere = dir.path().join("admin.sock");
    for (args, says) in [
        (&["rotate-key", "--grace", "10x"][..], "30s, 10m or 1h"),
        (&["rotate-key", "--grace=-1s"], "--grace"),
        (&["rotate-key", "--grace", "1500ms"], "whole seconds"),
        (&["rotate-key", "--grace", "31d"], "--grace"),
        (&["rotate-key", "--grace", "31d"], "at most 30 days"),
        (&["kick", "../status"], "A-Z a-z 0-9"),
        (
            &["kick", "ace", "--reason", "flood\x1b[2J"],
            "the reason holds the control character U+001B",
        ),
        (
            &["say", "a\rb"],
            "the notice holds the control character U+000D",
        ),
        (&["say", "ok", "\u{9b}31m"], "U+009B"),
        (&["passwd", "--stdin", "--clear"], "cannot be used with"),
        (&["passwd", "hunter2"], "unexpected argument"),
        (&["frobnicate"], "unrecognized subcommand"),
        (&[], "Usage"),
    ] {
        let run = run_at(&nowhere, args, "");
        assert_eq!(run.code, 2, "{args:?}: {run:?}");
        assert!(
            run.stderr.contains(says),
            "{args:?}: {says:?} in {}",
            run.stderr
        );
        assert_no_panic(&run.stderr);
        assert!(!run.stderr.contains('\x1b'), "{args:?}: {}", run.stderr);
    }
}

#[test]
fn help_lists_the_exit_codes() {
    let mut cmd = chatctl();
    cmd.arg("--help");
    let help = run(cmd, "").ok();
    for code in ["   0  ", "   1  ", "   2  ", "  69  ", "  77  "] {
        assert!(help.contains(&format!("\n{code}")), "{code:?} in\n{help}");
    }
}

#[test]
fn completions_and_man_page() {
    for (shell, marker) in [
        ("bash", "_chatctl()"),
        ("zsh", "#compdef chatctl"),
        ("fish", "complete -c chatctl"),
    ] {
        let mut cmd = chatctl();
        cmd.args(["completions", shell]);
        let script = run(cmd, "").ok();
        assert!(
            script.contains(marker) && script.contains("rotate-key"),
            "{shell}"
        );
    }
    let mut cmd = chatctl();
    cmd.arg("man");
    let page = run(cmd, "").ok();
    assert!(
        page.contains(".TH chatctl 8 ") && page.contains(".SH \"EXIT STATUS\""),
        "{page}"
    );
}

#[test]
fn a_closed_pipe_is_not_a_panic() {
    for args in [
        &["man"][..],
        &["completions", "bash"],
        &["completions", "zsh"],
    ] {
        // The reader is gone before chatctl writes: every write fails EPIPE.
        let mut child = chatctl()
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let output = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(0), "{args:?}: {stderr}");
        assert_eq!(stderr, "", "{args:?}");
    }
    // As people write it.
    let mut cmd = std::process::Command::new("sh");
    cmd.arg("-c")
        .arg(format!("'{}' man | head -1", env!("CARGO_BIN_EXE_chatctl")));
    let run = run(cmd, "");
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.stdout.lines().count(), 1, "{run:?}");
    assert_eq!(run.stderr, "");
}

/// What a hostile daemon (or a user name, notice or reason it passes on)
/// could use to drive the terminal or disguise text: controls, bidi
/// overrides and isolates, zero-width and other format characters, the
/// line and paragraph separators, tag characters.
const HOSTILE: &str = "ev\u{202e}il\u{2066}\u{200b}\u{ad}\u{2028}\u{2029}\u{e0041}\u{e007f}\u{9b}2J\u{7f}\u{1b}]0;t\u{7}\t\n";

/// No character of `text` other than its line ends can drive a terminal.
fn assert_terminal_safe(text: &str) {
    for line in text.lines() {
        assert!(
            !line.chars().any(chat_protocol::escape::is_unsafe),
            "a raw control or format character in {line:?}"
        );
    }
    assert!(!text.contains('\r'), "{text:?}");
}

#[test]
fn hostile_text_is_escaped_in_tables_and_json() {
    let users = json!({"users": [{"name": HOSTILE, "address": HOSTILE, "since": 0,
                                  "messages": 1, "key_id": HOSTILE}]});
    let mut status = sample_status();
    status["version"] = json!(HOSTILE);
    status["state_dir"] = json!(HOSTILE);
    let kicked = json!({"name": HOSTILE});
    let reloaded = json!({"changed": [HOSTILE], "restart_needed": [HOSTILE]});
    for (args, answer) in [
        (&["users"][..], users),
        (&["status"], status),
        (&["kick", "ace", "--reason", "x"], kicked),
        (&["reload"], reloaded),
    ] {
        let fake = Fake::new(vec![(200, answer.to_string()), (200, answer.to_string())]);
        let table = fake.run(args).ok();
        assert_terminal_safe(&table);
        assert!(
            table.contains("ev\\u{202e}il\\u{2066}\\u{200b}\\u{ad}\\u{2028}\\u{2029}\\u{e0041}\\u{e007f}\\u{9b}2J\\x7f\\x1b]0;t\\x07\\x09\\x0a"),
            "{args:?}: every character escaped, visibly:\n{table}"
        );
        let json_args: Vec<&str> = args.iter().copied().chain(["--json"]).collect();
        let run = fake.run(&json_args);
        assert_terminal_safe(&run.stdout);
        for escaped in [
            "\\u202e",
            "\\u2028",
            "\\u2029",
            "\\udb40\\udc41",
            "\\u009b",
            "\\u007f",
        ] {
            assert!(run.stdout.contains(escaped), "{escaped} in {}", run.stdout);
        }
        assert_eq!(run.json(), answer, "{args:?}: the same value");
    }

    // A refusal's message (say, a notice or a reason the daemon echoes).
    let fake = Fake::new(vec![
        (400, error_body("bad_request", HOSTILE)),
        (400, error_body("bad_request", HOSTILE)),
    ]);
    let err = fake.run(&["say", "x"]).failed(1);
    assert_terminal_safe(&err);
    assert_eq!(err.lines().count(), 1, "{err}");
    let run = fake.run(&["--json", "say", "x"]);
    assert_terminal_safe(&run.stdout);
    assert_terminal_safe(&run.stderr);
    let error = run.failed_json(1);
    assert_eq!(error["error"]["message"], HOSTILE, "the same value");
}
