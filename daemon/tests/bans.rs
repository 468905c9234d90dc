//! Bans through the real chatd and the real `chatctl` (docs/protocol.md
//! §10.7, docs/admin-api.md "Moderation"): a ban by name ends the session
//! with a sealed `Bye` `banned`, tells the room, refuses the rejoin (also
//! under another name from the same identity) and lapses on time; address
//! bans refuse before the password (no argon2 runs) and only that address;
//! the targets no one may ban; bans survive a restart.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use chat_protocol::{ByeCode, Identity, ModerationAction, RejectCode, ServerEvent};
use serde_json::Value;
use testkit::{Daemon, Greeted, Outcome, RawClient, connect_from};

fn identity(seed: u8) -> Identity {
    Identity::from_seed(&[seed; 32])
}

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

/// A join of `name` from `source`, proving `who` (or nothing).
async fn join(d: &Daemon, source: &str, name: &str, who: Option<&Identity>) -> Outcome {
    RawClient::join_as_on(
        connect_from(&d.url, ip(source)).await,
        &d.key,
        name,
        "",
        who,
    )
    .await
}

/// The server's whole answer to a join that must be refused (the
/// `Reject` with every member).
async fn refusal(d: &Daemon, source: &str, name: &str, who: Option<&Identity>) -> ServerEvent {
    let mut greeted = Greeted::greet(connect_from(&d.url, ip(source)).await, &d.key)
        .await
        .expect("greeted");
    let auth = greeted.auth_as(name, "", who);
    match greeted.answer(&auth).await {
        Ok(reject @ ServerEvent::Reject { .. }) => reject,
        other => panic!("expected a reject, got {other:?}"),
    }
}

/// `chatctl --json ARGS`, which the daemon must refuse: its error code
/// and message.
fn ctl_refused(d: &Daemon, args: &[&str]) -> (String, String) {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let (code, out, err) = d.chatctl(&all);
    assert_eq!(code, 1, "chatctl {args:?} should be refused: {out}{err}");
    let v: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    (
        v["error"]["code"].as_str().unwrap().to_string(),
        v["error"]["message"].as_str().unwrap().to_string(),
    )
}

/// The targets `chatctl bans --json` lists.
fn targets(d: &Daemon) -> Vec<String> {
    d.chatctl_json(&["bans"])["bans"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["target"].as_str().unwrap().to_string())
        .collect()
}

fn password_checks(d: &Daemon) -> u64 {
    d.chatctl_json(&["status"])["password_checks"]
        .as_u64()
        .unwrap()
}

#[tokio::test]
async fn a_ban_by_name_ends_the_session_refuses_its_identity_and_lapses() {
    let d = Daemon::start();
    let alice = identity(1);
    let mut watcher = join(&d, "127.0.0.1", "watcher", None).await.joined();
    // First-come: alice's identity join registers the name to her key.
    let mut banned = join(&d, "127.0.0.5", "alice", Some(&alice)).await.joined();

    let answer = d.chatctl_json(&["ban", "alice", "--for", "3s", "--reason", "spam"]);
    let fingerprint = alice.public().fingerprint().to_string();
    assert_eq!(answer["ban"]["target"], "alice");
    assert_eq!(answer["ban"]["reason"], "spam");
    assert_eq!(answer["ban"]["by"], "root", "the admin's Unix user");
    assert_eq!(answer["ended"], 1);
    // A registered name bans its keys, not its address.
    assert_eq!(
        answer["ban"]["also"],
        serde_json::json!([format!("key:{fingerprint}")])
    );
    let until = answer["ban"]["until"].as_u64().unwrap();
    let since = answer["ban"]["since"].as_u64().unwrap();
    assert_eq!(until, since + 3000);

    // The session ends at once with a sealed Bye: the reason and the end.
    let (events, (close, _)) = banned.recv_to_close().await;
    assert_eq!(close, 1000);
    assert!(
        events.iter().any(|e| matches!(e, ServerEvent::Bye { code: ByeCode::Banned, reason, until: Some(u) } if reason == "spam" && *u == until)),
        "{events:?}"
    );
    // The room is told once, then sees the leave with the reason.
    watcher
        .recv_until("the moderation event", |e| match e {
            ServerEvent::Moderation {
                action: ModerationAction::Ban,
                target,
                by: None,
                until: Some(u),
                reason: Some(r),
                ..
            } if target == "alice" && *u == until && r == "spam" => Some(()),
            _ => None,
        })
        .await;
    let left = watcher
        .recv_until("alice's leave", |e| match e {
            ServerEvent::Leave { name, reason, .. } if name == "alice" => Some(reason.clone()),
            _ => None,
        })
        .await;
    assert_eq!(left, "banned: spam");

    // Refused: the name, and the identity under another name.
    for name in ["alice", "alice2"] {
        match refusal(&d, "127.0.0.5", name, Some(&alice)).await {
            ServerEvent::Reject {
                code: RejectCode::Banned,
                reason,
                until: u,
                ..
            } => assert_eq!((reason.as_str(), u), ("spam", Some(until)), "{name}"),
            other => panic!("{name}: {other:?}"),
        }
    }
    // The address is not banned: another name without the key joins.
    join(&d, "127.0.0.5", "carol", None).await.joined();

    // The ban lapses by itself.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match join(&d, "127.0.0.5", "alice", Some(&alice)).await {
            Outcome::Joined(_) => break,
            Outcome::Rejected(RejectCode::Banned, _) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            other => panic!("the ban did not lapse: {other:?}"),
        }
    }
    assert!(targets(&d).is_empty(), "a lapsed ban is not listed");
}

#[tokio::test]
async fn address_bans_refuse_before_the_password_and_only_that_address() {
    let dir = tempfile::tempdir().unwrap();
    let password = dir.path().join("password");
    std::fs::write(&password, "hunter22\n").unwrap();
    let d = Daemon::builder()
        .arg("--password-file")
        .arg(password.to_str().unwrap())
        .config("trusted_proxies = [\"127.0.3.1\"]\n")
        .start();

    let answer = d.chatctl_json(&["ban", "addr:127.0.2.77/24", "--reason", "abuse"]);
    assert_eq!(answer["ban"]["target"], "addr:127.0.2.0/24", "one form");
    let checks = password_checks(&d);
    let join_from = |source: &'static str| {
        let d = &d;
        async move {
            RawClient::join_as_on(
                connect_from(&d.url, ip(source)).await,
                &d.key,
                "zed",
                "hunter22",
                None,
            )
            .await
        }
    };
    match join_from("127.0.2.9").await {
        Outcome::Rejected(RejectCode::Banned, reason) => assert_eq!(reason, "abuse"),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        password_checks(&d),
        checks,
        "a banned address's join never reaches argon2"
    );
    let joined = join_from("127.0.5.9").await.joined();
    assert_eq!(password_checks(&d), checks + 1, "another address's does");
    joined.leave().await;

    // No one bans the join key's id, nor a trusted proxy's address.
    let key_id = d.chatctl_json(&["status"])["key_id"]
        .as_str()
        .unwrap()
        .to_string();
    let (code, message) = ctl_refused(&d, &["ban", &format!("key:{key_id}")]);
    assert_eq!(code, "join_key", "{message}");
    assert!(message.contains("everyone who has the token"), "{message}");
    let (code, message) = ctl_refused(&d, &["ban", "addr:127.0.3.0/24"]);
    assert_eq!(code, "trusted_proxy", "{message}");
    assert!(targets(&d) == ["addr:127.0.2.0/24"]);

    // Lifted: the address joins; a second lift is refused.
    let lifted = d.chatctl_json(&["unban", "addr:127.0.2.0/24"]);
    assert_eq!(lifted["target"], "addr:127.0.2.0/24");
    join_from("127.0.2.9").await.joined().leave().await;
    let (code, _) = ctl_refused(&d, &["unban", "addr:127.0.2.0/24"]);
    assert_eq!(code, "not_banned");
}

#[tokio::test]
async fn bans_survive_a_restart() {
    let mut d = Daemon::start();
    // An unregistered name online (no identity): its address is taken in.
    let mut eve = join(&d, "127.0.0.9", "eve", None).await.joined();
    let answer = d.chatctl_json(&["ban", "eve"]);
    assert_eq!(answer["ban"]["also"], serde_json::json!(["addr:127.0.0.9"]));
    assert!(answer["ban"].get("until").is_none(), "until lifted");
    let (events, _) = eve.recv_to_close().await;
    assert!(
        events.iter().any(|e| matches!(e, ServerEvent::Bye { code: ByeCode::Banned, reason, until: None } if reason.is_empty())),
        "{events:?}"
    );
    d.chatctl_json(&["ban", "key:0123456789abcdef", "--for", "1d"]);
    d.terminate();

    let file = d.state_dir.join("moderation");
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(&file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);

    let d = Daemon::builder().same_dirs_as(&d).start();
    assert_eq!(targets(&d), ["eve", "key:0123456789abcdef"]);
    assert!(matches!(
        join(&d, "127.0.0.1", "eve", None).await,
        Outcome::Rejected(RejectCode::Banned, _)
    ));
    assert!(matches!(
        join(&d, "127.0.0.9", "zed", None).await,
        Outcome::Rejected(RejectCode::Banned, _)
    ));
    join(&d, "127.0.0.10", "zed", None).await.joined();
}

#[tokio::test]
async fn the_real_chat_shows_the_ban_and_exits_17() {
    let d = Daemon::start();
    d.chatctl_json(&["ban", "mallory", "--for", "1h", "--reason", "spam"]);
    let out = std::process::Command::new(testkit::bin("chat"))
        .args(["--plain", "--url", &d.url, "--username", "mallory"])
        .env("CHAT_KEY", &d.key)
        .env("CHAT_IDENTITY", "none")
        .env("XDG_CONFIG_HOME", "/nonexistent/chat-test-config")
        .env_remove("CHAT_PASSWORD")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run chat");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(17), "{stderr}");
    assert!(
        stderr.contains("banned") && stderr.contains("spam"),
        "{stderr}"
    );
}
