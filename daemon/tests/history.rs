//! The room's log, through the real `chatd`: history kept in
//! `STATE_DIR/history` across a restart with ids that continue, the age
//! bound, a torn last record, resume after a disconnect (exactly the missed
//! messages, with `gap` when some are no longer kept), and a full or
//! read-only state directory that keeps chat going and shows in the status.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::process::Command;
use std::time::Instant;

use chat_protocol::{ClientEvent, HistoryEntry, ServerEvent};
use testkit::{DEADLINE, Daemon, DaemonBuilder, RawClient, admin_call, connect};

/// Loopback joins in these tests outnumber the per-address defaults.
/// And its messages come faster than the default rate.
const EXEMPT: &str =
    "limit_exempt = [\"127.0.0.0/8\"]\nrate_burst = 1000\nrate_per_second = 1000\n";

fn builder(extra: &str) -> DaemonBuilder {
    Daemon::builder().config(&format!("{EXEMPT}{extra}"))
}

async fn join(d: &Daemon, name: &str) -> RawClient {
    RawClient::join(&d.url, &d.key, name, "").await.joined()
}

async fn join_after(d: &Daemon, name: &str, after: Option<u64>) -> RawClient {
    RawClient::join_after(connect(&d.url).await, &d.key, name, "", after)
        .await
        .joined()
}

/// Says `text` and waits for its echo; its id.
async fn say(client: &mut RawClient, text: &str) -> u64 {
    client
        .send(&ClientEvent::Say {
            room: None,
            text: text.into(),
            cid: None,
        })
        .await;
    client
        .recv_until(&format!("the echo of {text:?}"), |e| match e {
            ServerEvent::Message(m) if m.text == text => Some(m.id),
            _ => None,
        })
        .await
}

fn ids_texts(history: &[HistoryEntry]) -> Vec<(u64, String)> {
    history.iter().map(|e| (e.id, e.text.clone())).collect()
}

fn status(d: &Daemon) -> serde_json::Value {
    let (code, body) = admin_call(&d.runtime_dir, "GET", "/v1/status", None);
    assert_eq!(code, 200, "{body}");
    body
}

/// Polls the status until `check` holds for `history_persist_error`.
fn wait_persist_error(
    d: &Daemon,
    what: &str,
    check: impl Fn(Option<&str>) -> bool,
) -> serde_json::Value {
    let start = Instant::now();
    loop {
        let s = status(d);
        if check(s["history_persist_error"].as_str()) {
            return s;
        }
        assert!(
            start.elapsed() < DEADLINE,
            "status never showed {what}: {s}\nlog:\n{}",
            d.log()
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[tokio::test]
async fn history_survives_a_restart_and_ids_continue() {
    let mut d = builder("history = 20\n").start();
    let mut ace = join(&d, "ace").await;
    let mut sent = Vec::new();
    for i in 0..5 {
        let text = format!("before restart {i}");
        sent.push((say(&mut ace, &text).await, text));
    }
    // A direct message is never kept.
    let _bob = join(&d, "bob").await;
    ace.send(&ClientEvent::Dm {
        to: "bob".into(),
        text: "private words".into(),
        cid: None,
    })
    .await;
    ace.recv_until("the dm echo", |e| {
        matches!(e, ServerEvent::Dm { .. }).then_some(())
    })
    .await;
    assert!(d.terminate().success(), "log:\n{}", d.log());
    let file = d.root().join("state/history");
    let meta = std::fs::metadata(&file).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    let on_disk = std::fs::read_to_string(&file).unwrap();
    assert!(on_disk.contains("before restart 4"), "{on_disk}");
    assert!(
        !on_disk.contains("private words"),
        "a DM on disk: {on_disk}"
    );

    let d = builder("history = 20\n").same_dirs_as(&d).start();
    let mut carol = join(&d, "carol").await;
    assert_eq!(ids_texts(&carol.welcome.history), sent);
    let next = say(&mut carol, "after restart").await;
    assert_eq!(
        next,
        sent.last().unwrap().0 + 1,
        "ids continue, never reused"
    );
}

#[tokio::test]
async fn history_max_age_drops_old_messages_in_memory_and_on_disk() {
    let mut d = builder("history = 20\nhistory_max_age = \"3s\"\n").start();
    let mut ace = join(&d, "ace").await;
    let old = say(&mut ace, "old words").await;
    // Joins until a Welcome no longer holds it (bounded by the deadline).
    let start = Instant::now();
    for n in 0.. {
        let probe = join(&d, &format!("probe{n}")).await;
        let gone = !probe.welcome.history.iter().any(|e| e.id == old);
        probe.leave().await;
        if gone {
            break;
        }
        assert!(start.elapsed() < DEADLINE, "the old message never aged out");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    // The file loses it too, without a restart or another message.
    let file = d.state_dir.join("history");
    testkit::wait_until("the old message to leave the file", || {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        (!text.contains("old words")).then_some(())
    });
    let fresh = say(&mut ace, "fresh words").await;
    assert!(d.terminate().success(), "log:\n{}", d.log());
    // Loaded with no age bound: the old one is gone for good; the fresh one
    // is there unless it aged out itself meanwhile.
    let d = builder("history = 20\nhistory_max_age = \"0\"\n")
        .same_dirs_as(&d)
        .start();
    let bob = join(&d, "bob").await;
    assert!(
        !bob.welcome.history.iter().any(|e| e.id == old),
        "{:?}",
        bob.welcome.history
    );
    assert!(bob.welcome.history.iter().all(|e| e.id == fresh));
}

#[tokio::test]
async fn a_torn_last_record_is_skipped_with_a_warning() {
    let mut d = builder("history = 20\n").start();
    let mut ace = join(&d, "ace").await;
    let first = say(&mut ace, "one").await;
    let second = say(&mut ace, "two").await;
    assert!(d.terminate().success(), "log:\n{}", d.log());
    // A crash in the middle of a write leaves half a line.
    let file = d.root().join("state/history");
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&file)
        .unwrap();
    write!(f, "{{\"id\":{},\"from\":\"ace\",\"te", second + 1).unwrap();
    drop(f);

    let d = builder("history = 20\n").same_dirs_as(&d).start();
    d.wait_for_log("the last record is incomplete");
    d.wait_for_log("did not stop cleanly");
    let mut bob = join(&d, "bob").await;
    assert_eq!(
        ids_texts(&bob.welcome.history),
        [(first, "one".into()), (second, "two".into())]
    );
    // The torn record's id (and any a crash lost) is never given again.
    assert!(say(&mut bob, "three").await > second + 1);
}

/// A history file that exists but cannot be read stops the start with the
/// fix: starting without it would rewrite it and give its ids out again.
#[tokio::test]
async fn an_unreadable_history_file_stops_the_start_and_is_left_alone() {
    let mut d = builder("history = 20\n").start();
    let mut ace = join(&d, "ace").await;
    say(&mut ace, "kept").await;
    assert!(d.terminate().success(), "log:\n{}", d.log());
    // Unreadable even for root: a directory where the file should be.
    let file = d.root().join("state/history");
    let saved = d.root().join("history.saved");
    std::fs::rename(&file, &saved).unwrap();
    std::fs::create_dir(&file).unwrap();
    let mut second = builder("history = 20\n").same_dirs_as(&d).spawn();
    let status = second.wait_exit();
    assert!(!status.success(), "started anyway; log:\n{}", second.log());
    let log = second.log();
    assert!(
        log.contains("cannot read")
            && log.contains("history")
            && log.contains("fix its permissions"),
        "{log}"
    );
    assert!(file.is_dir(), "the unreadable file was replaced");
    // Put back, the room continues where it was.
    std::fs::remove_dir(&file).unwrap();
    std::fs::rename(&saved, &file).unwrap();
    let d = builder("history = 20\n").same_dirs_as(&d).start();
    let bob = join(&d, "bob").await;
    assert_eq!(
        bob.welcome.history.last().map(|e| e.text.as_str()),
        Some("kept")
    );
}

#[tokio::test]
async fn after_kill_9_the_history_is_there_and_no_id_is_given_twice() {
    let mut d = builder("history = 50\n").start();
    let mut ace = join(&d, "ace").await;
    let mut echoed = Vec::new();
    for i in 0..20 {
        echoed.push(say(&mut ace, &format!("m{i}")).await);
    }
    d.signal(libc::SIGKILL);
    d.wait_exit();
    let d = builder("history = 50\n").same_dirs_as(&d).start();
    d.wait_for_log("did not stop cleanly");
    let mut bob = join(&d, "bob").await;
    // What survived is what was written: a run of the messages sent, in
    // order (the last batch may be lost to the crash, nothing else).
    let kept: Vec<u64> = bob.welcome.history.iter().map(|e| e.id).collect();
    assert_eq!(kept, echoed[..kept.len()], "{kept:?} of {echoed:?}");
    let next = say(&mut bob, "after the crash").await;
    assert!(next > *echoed.last().unwrap(), "{next} reuses an id");
}

/// After a `kill -9`, ids jump by a million; a client that resumes after
/// the last id it saw (on disk, or lost in the crash) missed nothing: the
/// Welcome says it resumed (`resumed`) and has no `gap`. One away for
/// longer than the history still gets its `gap`.
#[tokio::test]
async fn a_resume_after_a_kill_9_restart_misses_nothing_and_a_real_gap_is_still_told() {
    let mut d = builder("history = 5\n").start();
    let mut ace = join(&d, "ace").await;
    let mut ids = Vec::new();
    for i in 0..8 {
        ids.push(say(&mut ace, &format!("m{i}")).await);
    }
    let file = d.state_dir.join("history");
    testkit::wait_until("the last message on disk", || {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        text.contains("\"text\":\"m7\"").then_some(())
    });
    d.signal(libc::SIGKILL);
    d.wait_exit();
    let d = builder("history = 5\n").same_dirs_as(&d).start();
    d.wait_for_log("did not stop cleanly");
    let last = ids[7];
    for (name, after) in [("ace", last), ("lost", last + 1)] {
        let c = join_after(&d, name, Some(after)).await;
        assert!(
            c.welcome.resumed && !c.welcome.gap && c.welcome.history.is_empty(),
            "after {after}: {:?}",
            c.welcome
        );
        assert!(c.welcome.last_id.unwrap() > last + 1, "ids jumped");
    }
    let bob = join_after(&d, "bob", Some(ids[5])).await;
    assert!(bob.welcome.resumed && !bob.welcome.gap);
    let texts: Vec<&str> = bob
        .welcome
        .history
        .iter()
        .map(|e| e.text.as_str())
        .collect();
    assert_eq!(texts, ["m6", "m7"]);
    // Away since m0: m1 and m2 are no longer kept.
    let carol = join_after(&d, "carol", Some(ids[0])).await;
    assert!(carol.welcome.resumed && carol.welcome.gap);
    assert_eq!(ids_texts(&carol.welcome.history).len(), 5);
    // A message after the restart: after the jump, and nothing missed.
    let mut eve = join(&d, "eve").await;
    assert!(!eve.welcome.resumed, "no after, no resume");
    let next = say(&mut eve, "after the restart").await;
    let dave = join_after(&d, "dave", Some(last)).await;
    assert!(dave.welcome.resumed && !dave.welcome.gap);
    assert_eq!(
        ids_texts(&dave.welcome.history),
        [(next, "after the restart".to_string())]
    );
}

#[tokio::test]
async fn resume_after_a_disconnect_returns_exactly_the_missed_messages() {
    let d = builder("history = 50\n").start();
    let mut ace = join(&d, "ace").await;
    let mut bob = join(&d, "bob").await;
    let seen = say(&mut ace, "seen by bob").await;
    bob.recv_until("seen by bob", |e| {
        matches!(e, ServerEvent::Message(m) if m.id == seen).then_some(())
    })
    .await;
    // bob's link drops: no goodbye.
    drop(bob);
    ace.recv_until("bob's leave", |e| {
        matches!(e, ServerEvent::Leave { name, .. } if name == "bob").then_some(())
    })
    .await;
    let mut missed = Vec::new();
    for i in 0..3 {
        let text = format!("missed {i}");
        missed.push((say(&mut ace, &text).await, text));
    }
    let mut bob = join_after(&d, "bob", Some(seen)).await;
    assert_eq!(ids_texts(&bob.welcome.history), missed);
    assert!(!bob.welcome.gap);
    // Live from here, nothing twice.
    let live = say(&mut ace, "live").await;
    let next = bob
        .recv_until("the next message", |e| match e {
            ServerEvent::Message(m) => Some(m.id),
            _ => None,
        })
        .await;
    assert_eq!(next, live);
    // Resuming after the newest id: nothing to catch up on.
    let carol = join_after(&d, "carol", Some(live)).await;
    assert!(carol.welcome.history.is_empty() && !carol.welcome.gap);
}

#[tokio::test]
async fn resume_with_an_id_older_than_the_log_keeps_says_there_is_a_gap() {
    let d = builder("history = 3\n").start();
    let mut ace = join(&d, "ace").await;
    let mut ids = Vec::new();
    for i in 0..6 {
        ids.push(say(&mut ace, &format!("m{i}")).await);
    }
    let bob = join_after(&d, "bob", Some(ids[0])).await;
    assert!(bob.welcome.gap, "missed 5, kept 3: a gap");
    let got: Vec<u64> = bob.welcome.history.iter().map(|e| e.id).collect();
    assert_eq!(got, ids[3..]);
    // An id this log never gave (a client of another server): a gap too.
    let carol = join_after(&d, "carol", Some(ids[5] + 1000)).await;
    assert!(carol.welcome.gap);
    // Missed nothing kept out: no gap.
    let dave = join_after(&d, "dave", Some(ids[2])).await;
    assert!(!dave.welcome.gap);
    assert_eq!(dave.welcome.history.len(), 3);
    // Without `after`, no gap is ever claimed.
    let eve = join(&d, "eve").await;
    assert!(!eve.welcome.gap);
}

/// The state directory as chatd sees it inside its own mount namespace.
fn inside(d: &Daemon) -> std::path::PathBuf {
    d.state_dir
        .strip_prefix(format!("/proc/{}/root", d.pid()))
        .map(|p| std::path::Path::new("/").join(p))
        .expect("the state directory as chatd sees it")
}

/// Runs `args` in chatd's mount namespace (root only).
fn in_chatd_namespace(d: &Daemon, args: &[&str]) {
    let status = Command::new("nsenter")
        .args(["-t", &d.pid().to_string(), "-m", "--"])
        .args(args)
        .status()
        .expect("nsenter (util-linux) runs");
    assert!(status.success(), "{args:?} in chatd's namespace");
}

/// A read-only bind mount over the state directory, in chatd's namespace:
/// files opened from now on are read-only (a remount of the tmpfs itself
/// is refused while chatd holds files open on it).
fn make_read_only(d: &Daemon) {
    let dir = inside(d);
    let dir = dir.to_str().unwrap();
    in_chatd_namespace(d, &["mount", "--bind", dir, dir]);
    in_chatd_namespace(d, &["mount", "-o", "remount,bind,ro", dir]);
}

fn make_writable(d: &Daemon) {
    let dir = inside(d);
    in_chatd_namespace(d, &["umount", "-l", dir.to_str().unwrap()]);
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// Chat goes on while the history cannot be written; the status says so;
/// once the disk takes writes again the file holds everything kept.
async fn chat_survives(
    d: &Daemon,
    break_disk: impl FnOnce(),
    mend_disk: impl FnOnce(),
    cause: &str,
) {
    let mut ace = join(d, "ace").await;
    let mut bob = join(d, "bob").await;
    say(&mut ace, "before").await;
    break_disk();
    // history = 3: a rewrite comes within a few messages, so the failure
    // shows whether or not appends to the open file still succeed.
    let mut ids = Vec::new();
    for i in 0..40 {
        ids.push(say(&mut ace, &format!("during {i}")).await);
    }
    let got = bob
        .recv_until("the last message", |e| match e {
            ServerEvent::Message(m) if m.text == "during 39" => Some(m.id),
            _ => None,
        })
        .await;
    assert_eq!(got, *ids.last().unwrap());
    let s = wait_persist_error(d, "the error", |e| e.is_some_and(|e| e.contains(cause)));
    assert!(
        s["history_persist_error"]
            .as_str()
            .unwrap()
            .contains("history"),
        "{s}"
    );
    // The status may say so a moment before the log line is written.
    d.wait_for_log("cannot write");
    let scraped = |series| testkit::monitoring::scraped(&d.runtime_dir, series);
    assert_eq!(scraped("chatd_log_persist_failing"), Some(1.0));
    let errors = scraped("chatd_log_persist_errors_total");
    assert!(errors.unwrap() >= 1.0, "{errors:?}");
    let late = join(d, "carol").await;
    assert_eq!(late.welcome.history.len(), 3, "served from memory");
    mend_disk();
    say(&mut ace, "after").await;
    wait_persist_error(d, "the recovery", |e| e.is_none());
    assert_eq!(scraped("chatd_log_persist_failing"), Some(0.0));
    d.wait_for_log("saved again");
    let text = std::fs::read_to_string(d.state_dir.join("history")).unwrap();
    assert!(
        text.contains("\"after\"") && text.contains("during 39"),
        "{text}"
    );
}

#[tokio::test]
async fn a_full_state_directory_keeps_chat_going_and_shows_in_the_status() {
    assert!(
        is_root(),
        "this test mounts a tmpfs and must run as root (CI does)"
    );
    let d = builder("history = 3\n").state_on_tmpfs("256k").start();
    let ballast = d.state_dir.join("ballast");
    let fill = || testkit::fill_disk(&ballast);
    let empty = || std::fs::remove_file(&ballast).unwrap();
    chat_survives(&d, fill, empty, "No space left on device").await;
}

#[tokio::test]
async fn a_read_only_state_directory_keeps_chat_going_and_shows_in_the_status() {
    assert!(
        is_root(),
        "this test mounts a tmpfs and must run as root (CI does)"
    );
    let d = builder("history = 3\n").state_on_tmpfs("1m").start();
    chat_survives(
        &d,
        || make_read_only(&d),
        || make_writable(&d),
        "Read-only file system",
    )
    .await;
}
