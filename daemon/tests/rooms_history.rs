//! Rooms' history through the real `chatd`: each room's log in
//! `STATE_DIR/rooms/HEX` (mode 0600) beside the default room's
//! `STATE_DIR/history`, kept across a restart with ids that go on
//! server-wide; a room made by joining it and left empty for
//! `room_idle_expiry` goes with its history, and its ids are never given
//! again.

use std::os::unix::fs::PermissionsExt;
use std::time::Instant;

use chat_protocol::{ClientEvent, RoomInfo, ServerEvent};
use testkit::{DEADLINE, Daemon, DaemonBuilder, RawClient};

const EXEMPT: &str =
    "limit_exempt = [\"127.0.0.0/8\"]\nrate_burst = 1000\nrate_per_second = 1000\n";

fn builder(extra: &str) -> DaemonBuilder {
    Daemon::builder().config(&format!("{EXEMPT}{extra}"))
}

async fn join(d: &Daemon, name: &str) -> RawClient {
    RawClient::join(&d.url, &d.key, name, "").await.joined()
}

async fn rooms(client: &mut RawClient) -> Vec<RoomInfo> {
    client.send(&ClientEvent::Rooms).await;
    client
        .recv_until("rooms", |e| match e {
            ServerEvent::Rooms { rooms } => Some(rooms.clone()),
            _ => None,
        })
        .await
}

fn texts(history: &[chat_protocol::HistoryEntry]) -> Vec<&str> {
    history.iter().map(|e| e.text.as_str()).collect()
}

#[tokio::test]
async fn each_rooms_history_survives_a_restart_and_ids_go_on_server_wide() {
    let mut d = builder("").start();
    let mut ace = join(&d, "ace").await;
    ace.join_room("#ops", None).await;
    ace.join_room("#dev", None).await;
    ace.say_in(Some("#ops"), "ops one").await;
    ace.say_in(None, "lobby one").await;
    ace.say_in(Some("#dev"), "dev one").await;
    let last = ace.say_in(Some("#ops"), "ops two").await;
    ace.leave().await;
    assert!(d.terminate().success(), "log:\n{}", d.log());
    let file = d.state_dir.join("rooms").join("236f7073");
    let mode = std::fs::metadata(&file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "{}", file.display());
    let kept = std::fs::read_to_string(d.state_dir.join("rooms.json")).unwrap();
    assert!(kept.contains("#ops") && kept.contains("#dev"), "{kept}");

    let d = builder("").same_dirs_as(&d).start();
    let mut bob = join(&d, "bob").await;
    assert_eq!(texts(&bob.welcome.history), ["lobby one"]);
    let listed: Vec<(String, usize)> = rooms(&mut bob)
        .await
        .into_iter()
        .map(|r| (r.room.to_string(), r.online))
        .collect();
    assert_eq!(
        listed,
        [("#lobby".into(), 1), ("#dev".into(), 0), ("#ops".into(), 0)]
    );
    let ops = bob.join_room("#ops", None).await;
    assert_eq!(texts(&ops.history), ["ops one", "ops two"]);
    assert_eq!(ops.last_id, last);
    let dev = bob.join_room("#dev", None).await;
    assert_eq!(texts(&dev.history), ["dev one"]);
    let next = bob.say_in(Some("#dev"), "dev two").await;
    assert!(
        next > last,
        "ids go on after every room's: {next} after {last}"
    );
}

#[tokio::test]
async fn an_idle_room_goes_with_its_history_and_its_ids_are_not_given_again() {
    let mut d = builder("room_idle_expiry = \"1s\"\n").start();
    let mut ace = join(&d, "ace").await;
    ace.join_room("#tmp", None).await;
    let last = ace.say_in(Some("#tmp"), "soon gone").await;
    let file = d.state_dir.join("rooms").join("23746d70");
    assert!(file.exists(), "{}", file.display());
    ace.send(&ClientEvent::PartRoom {
        room: "#tmp".into(),
    })
    .await;
    let start = Instant::now();
    loop {
        let listed = rooms(&mut ace).await;
        if listed.iter().all(|r| r.room.as_str() != "#tmp") {
            break;
        }
        assert!(start.elapsed() < DEADLINE, "#tmp still listed: {listed:?}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let start = Instant::now();
    while file.exists() {
        assert!(start.elapsed() < DEADLINE, "{} still there", file.display());
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    ace.leave().await;
    assert!(d.terminate().success(), "log:\n{}", d.log());

    let d = builder("").same_dirs_as(&d).start();
    let mut bob = join(&d, "bob").await;
    let tmp = bob.join_room("#tmp", None).await;
    assert!(tmp.history.is_empty(), "made afresh: {:?}", tmp.history);
    let next = bob.say_in(None, "after").await;
    assert!(
        next > last,
        "{next} is not after {last}, the removed room's"
    );
}

/// What a message counts for against `history_max_bytes` (see
/// docs/configuration.md): its text, its sender's name and 64 bytes.
fn size(e: &chat_protocol::HistoryEntry) -> usize {
    e.text.len() + e.from.len() + e.cid.as_ref().map_or(0, String::len) + 64
}

#[tokio::test]
async fn all_rooms_history_together_stays_within_history_max_bytes() {
    let config = "history = 1000\nhistory_max_bytes = 1048576\n";
    let mut d = builder(config).start();
    let mut ace = join(&d, "ace").await;
    ace.join_room("#a", None).await;
    ace.join_room("#b", None).await;
    // Three rooms share 1 MiB: a third each.
    let share = 1_048_576 / 3;
    let long = "x".repeat(4000);
    let mut last = 0;
    for i in 0..120 {
        last = ace.say_in(Some("#a"), &format!("{i} {long}")).await;
    }
    ace.say_in(Some("#b"), "short").await;
    let check = |history: &[chat_protocol::HistoryEntry]| {
        let bytes: usize = history.iter().map(size).sum();
        assert!(
            bytes <= share,
            "{bytes} bytes kept, more than a third of 1 MiB"
        );
        assert!(
            history.len() < 120 && history.len() > 50,
            "{}",
            history.len()
        );
        assert_eq!(history.last().unwrap().id, last, "the newest kept");
        assert!(
            history
                .first()
                .unwrap()
                .text
                .starts_with(&format!("{} ", 120 - history.len()))
        );
    };
    let mut bob = join(&d, "bob").await;
    check(&bob.join_room("#a", None).await.history);
    assert_eq!(texts(&bob.join_room("#b", None).await.history), ["short"]);
    bob.leave().await;
    ace.leave().await;
    assert!(d.terminate().success(), "log:\n{}", d.log());
    // The file was trimmed alike: the same after a restart.
    let d = builder(config).same_dirs_as(&d).start();
    let mut carol = join(&d, "carol").await;
    check(&carol.join_room("#a", None).await.history);
}

/// Polls the status until `check` holds for `history_persist_error`.
fn wait_persist_error(d: &Daemon, what: &str, check: impl Fn(Option<&str>) -> bool) {
    testkit::wait_until(what, || {
        let (code, body) = testkit::admin_call(&d.runtime_dir, "GET", "/v1/status", None);
        assert_eq!(code, 200, "{body}");
        check(body["history_persist_error"].as_str()).then_some(())
    });
}

#[tokio::test]
async fn a_rooms_history_that_cannot_be_written_shows_in_the_status() {
    // Root: the state directory is a small tmpfs filled up.
    assert!(
        // SAFETY: geteuid has no preconditions.
        unsafe { libc::geteuid() } == 0,
        "this test mounts a tmpfs and must run as root (CI does)"
    );
    let d = builder("history = 3\n").state_on_tmpfs("256k").start();
    let mut ace = join(&d, "ace").await;
    ace.join_room("#ops", None).await;
    ace.say_in(Some("#ops"), "before").await;
    let ballast = d.state_dir.join("ballast");
    testkit::fill_disk(&ballast);
    // Only #ops speaks: the error is its log's.
    for i in 0..40 {
        ace.say_in(Some("#ops"), &format!("during {i}")).await;
    }
    wait_persist_error(&d, "the error", |e| {
        e.is_some_and(|e| e.contains("No space left on device"))
    });
    std::fs::remove_file(&ballast).unwrap();
    ace.say_in(Some("#ops"), "after").await;
    wait_persist_error(&d, "the recovery", |e| e.is_none());
    let file = d.state_dir.join("rooms").join("236f7073");
    testkit::wait_until("the file written again", || {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        (text.contains("\"after\"") && text.contains("during 39")).then_some(())
    });
}
