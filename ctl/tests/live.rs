//! Every `chatctl` command against a real `chatd` (testkit starts it on
//! 127.0.0.1 port 0 with its own temp dirs), in both output forms, with
//! the effect checked from a protocol-level client where there is one.
//!
//! Needs `chatd` built next to `chatctl`: run the workspace's tests
//! (`cargo nextest run --workspace`, or `cargo build --workspace` first).

mod common;

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use chat_protocol::admin::{Rotated, Status};
use chat_protocol::{ByeCode, RejectCode, ServerEvent, Token};
use common::{Run, run, run_at};
use serde_json::json;
use testkit::{Daemon, Outcome, RawClient};

fn socket(d: &Daemon) -> PathBuf {
    d.runtime_dir.join("admin.sock")
}

/// `chatctl --socket D's socket ARGS…`.
fn ctl(d: &Daemon, args: &[&str]) -> Run {
    run_at(&socket(d), args, "")
}

fn key_id(token: &str) -> String {
    Token::parse(token).unwrap().key_id().to_string()
}

async fn join(d: &Daemon, name: &str) -> RawClient {
    RawClient::join(&d.url, &d.key, name, "").await.joined()
}

#[tokio::test]
async fn status() {
    let d = Daemon::start();
    let table = ctl(&d, &["status"]).ok();
    for line in [
        format!("pid:        {}", d.pid()),
        format!("listen:     127.0.0.1:{}", d.port),
        format!("key id:     {}", key_id(&d.key)),
        "online:     0 of ".to_string(),
        "password:   none (anyone with the key may join)".to_string(),
    ] {
        assert!(
            table.lines().any(|l| l.starts_with(&line)),
            "{line:?} in\n{table}"
        );
    }
    let status: Status = serde_json::from_value(ctl(&d, &["status", "--json"]).json()).unwrap();
    assert_eq!(status.pid, d.pid());
    assert_eq!(status.key_id, key_id(&d.key));
    assert_eq!(status.previous_key_id, None);
    // CHATD_SOCKET finds it as --socket does.
    let mut cmd = common::chatctl();
    cmd.env("CHATD_SOCKET", socket(&d))
        .args(["--json", "status"]);
    assert_eq!(run(cmd, "").json()["pid"], d.pid());
}

#[tokio::test]
async fn users() {
    let d = Daemon::start();
    assert_eq!(ctl(&d, &["users"]).ok(), "no one is online\n");
    assert_eq!(ctl(&d, &["users", "--json"]).json(), json!({"users": []}));
    let _ace = join(&d, "ace").await;
    let table = ctl(&d, &["users"]).ok();
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 2, "{table}");
    let header: Vec<&str> = lines[0].split_whitespace().collect();
    assert_eq!(header, ["NAME", "ADDRESS", "SINCE", "MESSAGES", "KEY"]);
    let row: Vec<&str> = lines[1].split_whitespace().collect();
    assert_eq!(row[0], "ace", "{table}");
    assert!(row[1].starts_with("127.0.0.1:"), "{table}");
    assert!(
        lines[1].ends_with(&format!("0  {}", key_id(&d.key))),
        "{table}"
    );
    let users = ctl(&d, &["users", "--json"]).json();
    assert_eq!(users["users"][0]["name"], "ace");
    assert_eq!(users["users"][0]["key_id"], key_id(&d.key));
}

#[tokio::test]
async fn key() {
    let d = Daemon::start();
    assert_eq!(ctl(&d, &["key"]).ok(), format!("{}\n", d.key));
    let key = ctl(&d, &["--json", "key"]).json();
    assert_eq!(key, json!({"token": d.key, "key_id": key_id(&d.key)}));
}

#[tokio::test]
async fn rotate_key() {
    let d = Daemon::start();
    let first = d.key.clone();
    let mut ace = join(&d, "ace").await;

    // With grace: the old key joins for a while, sessions stay.
    let out = ctl(&d, &["rotate-key", "--grace", "10m"]).ok();
    let second = d.read_key();
    assert_ne!(second, first);
    assert_eq!(out.lines().last(), Some(second.as_str()), "{out}");
    assert!(
        out.contains(&format!("new key id:    {}\n", key_id(&second))),
        "{out}"
    );
    assert!(
        out.contains(&format!("old key id:    {}, joins until ", key_id(&first))),
        "{out}"
    );
    assert!(out.contains("kept connected"), "{out}");
    RawClient::join(&d.url, &first, "bob", "").await.joined();
    let status = ctl(&d, &["status"]).ok();
    assert!(
        status.contains(&format!(
            "previous key id:  {}, joins until",
            key_id(&first)
        )),
        "{status}"
    );

    // After a leak: no grace, old sessions out.
    let rotated: Rotated =
        serde_json::from_value(ctl(&d, &["rotate-key", "--disconnect", "--json"]).json()).unwrap();
    assert_eq!(rotated.token, d.read_key());
    assert_eq!(rotated.previous_key_id, key_id(&second));
    assert_eq!(rotated.previous_key_expires, None);
    assert!(rotated.disconnected >= 1, "{rotated:?}");
    let (events, _) = ace.recv_to_close().await;
    assert!(
        events.iter().any(|e| matches!(
            e,
            ServerEvent::Bye {
                code: ByeCode::KeyRotated,
                ..
            }
        )),
        "{events:?}"
    );
    match RawClient::join(&d.url, &second, "cat", "").await {
        Outcome::Closed(4001, _) => {}
        other => panic!("the replaced key still joins: {other:?}"),
    }
}

#[tokio::test]
async fn passwd() {
    let d = Daemon::start();
    let out = run_at(&socket(&d), &["passwd", "--stdin"], "s3cret word\n").ok();
    assert_eq!(
        out,
        "password set; in force: admin (set with `chatctl passwd`)\n"
    );
    assert_eq!(ctl(&d, &["status", "--json"]).json()["password"], "admin");
    assert!(matches!(
        RawClient::join(&d.url, &d.key, "ace", "").await,
        Outcome::Rejected(RejectCode::BadPassword, _)
    ));
    RawClient::join(&d.url, &d.key, "ace", "s3cret word")
        .await
        .joined();

    assert_eq!(
        ctl(&d, &["passwd", "--clear", "--json"]).json(),
        json!({"password": "none"})
    );
    RawClient::join(&d.url, &d.key, "bob", "").await.joined();
    let out = ctl(&d, &["passwd", "--clear"]).ok();
    assert_eq!(
        out,
        "admin password removed; in force: none (anyone with the key may join)\n"
    );

    let set = run_at(&socket(&d), &["--json", "passwd", "--stdin"], "other\n").json();
    assert_eq!(set, json!({"password": "admin"}));
    assert!(!d.log().contains("s3cret"), "the password is never logged");
}

#[tokio::test]
async fn passwd_asks_twice_on_the_terminal_without_echo() {
    let d = Daemon::start();
    let prompts = ["New join password: ", "Again: "];

    // Two different answers: refused, nothing changes.
    let (code, shown) = common::run_on_terminal(
        &socket(&d),
        &["passwd"],
        &prompts,
        &["first pw", "other pw"],
    );
    assert_eq!(code, 1, "{shown}");
    assert!(
        shown.contains("the two passwords differ; nothing changed"),
        "{shown}"
    );
    assert_eq!(ctl(&d, &["status", "--json"]).json()["password"], "none");

    let (code, shown) = common::run_on_terminal(
        &socket(&d),
        &["passwd"],
        &prompts,
        &["tty secret", "tty secret"],
    );
    assert_eq!(code, 0, "{shown}");
    assert!(shown.contains("password set; in force: admin"), "{shown}");
    assert!(
        !shown.contains("tty secret"),
        "the password was echoed: {shown:?}"
    );
    assert_eq!(ctl(&d, &["status", "--json"]).json()["password"], "admin");
    RawClient::join(&d.url, &d.key, "ace", "tty secret")
        .await
        .joined();
}

#[tokio::test]
async fn kick() {
    let d = Daemon::start();
    let mut ace = join(&d, "ace").await;
    let mut bob = join(&d, "bob").await;
    assert_eq!(
        ctl(&d, &["kick", "ace", "--reason", "flooding"]).ok(),
        "kicked ace\n"
    );
    let (events, _) = ace.recv_to_close().await;
    let reason = events.iter().find_map(|e| match e {
        ServerEvent::Bye {
            code: ByeCode::Kicked,
            reason,
            ..
        } => Some(reason.as_str()),
        _ => None,
    });
    assert_eq!(reason, Some("flooding"), "{events:?}");
    assert_eq!(
        ctl(&d, &["kick", "--json", "BOB"]).json(),
        json!({"name": "bob"})
    );
    bob.recv_to_close().await;
    let err = ctl(&d, &["kick", "nobody"]).failed(1);
    assert!(err.starts_with("chatctl: no_such_user: "), "{err}");
}

#[tokio::test]
async fn say() {
    let d = Daemon::start();
    let mut ace = join(&d, "ace").await;
    assert_eq!(
        ctl(&d, &["say", "maintenance", "at noon"]).ok(),
        "notice sent to 1 user\n"
    );
    ace.recv_until("the notice", |e| {
        matches!(e, ServerEvent::Notice { text, .. } if text == "maintenance at noon").then_some(())
    })
    .await;
    assert_eq!(
        ctl(&d, &["--json", "say", "again"]).json(),
        json!({"delivered": 1})
    );
    // Refused before the call, as the daemon would refuse it.
    let err = ctl(&d, &["say", "\u{1b}[2J"]).failed(2);
    assert!(err.contains("control character U+001B"), "{err}");
    assert!(!err.contains('\u{1b}'), "{err:?}");
    let (code, body) = testkit::admin_call(
        &d.runtime_dir,
        "POST",
        "/v1/notice",
        Some(r#"{"text":"\u001b[2J"}"#),
    );
    assert_eq!(code, 400, "{body}");
    assert_eq!(body["error"]["code"], "bad_request", "{body}");
}

#[tokio::test]
async fn reload() {
    let d = Daemon::builder().config("motd = \"first\"\n").start();
    assert_eq!(ctl(&d, &["reload"]).ok(), "reloaded; no setting changed\n");
    std::fs::write(d.root().join("chatd.toml"), "motd = \"second\"\n").unwrap();
    assert_eq!(ctl(&d, &["reload"]).ok(), "reloaded; now in force: motd\n");
    assert_eq!(
        join(&d, "ace").await.welcome.motd.as_deref(),
        Some("second")
    );
    assert_eq!(
        ctl(&d, &["reload", "--json"]).json(),
        json!({"changed": [], "restart_needed": []})
    );
    std::fs::write(d.root().join("chatd.toml"), "motd = \"third\"\nlisen = 1\n").unwrap();
    let err = ctl(&d, &["reload"]).failed(1);
    assert!(
        err.starts_with("chatctl: bad_request: ") && err.contains("line 2"),
        "{err}"
    );
}

/// Loopback joins in the room tests outnumber the per-address defaults.
const EXEMPT: &str = "limit_exempt = [\"127.0.0.0/8\"]\n";

#[tokio::test]
async fn rooms_add_list_topic_say_users_and_remove() {
    let d = Daemon::builder().config(EXEMPT).start();
    let listed = ctl(&d, &["rooms"]).ok();
    assert!(
        listed
            .lines()
            .nth(1)
            .unwrap()
            .starts_with("#lobby (default)  "),
        "{listed}"
    );
    let mut ace = join(&d, "ace").await;
    let mut bob = join(&d, "bob").await;
    ace.join_room("#ops", None).await;
    assert_eq!(
        ctl(&d, &["rooms", "add", "#OPS", "--topic", "deploys"]).ok(),
        "room #ops exists; it is lasting now\n"
    );
    ace.recv_until("the topic of #ops", |e| match e {
        ServerEvent::Topic { room, text, by, .. } => {
            assert_eq!(
                (room.as_str(), text.as_str(), by),
                ("#ops", "deploys", &None)
            );
            Some(())
        }
        _ => None,
    })
    .await;
    assert_eq!(
        ctl(&d, &["rooms", "add", "staff", "--private"]).ok(),
        "room #staff made\n"
    );
    let rooms = ctl(&d, &["rooms", "--json"]).json();
    let summary: Vec<(&str, u64, bool, bool)> = rooms["rooms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["room"].as_str().unwrap(),
                r["online"].as_u64().unwrap(),
                r["private"].as_bool().unwrap(),
                r["lasting"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("#lobby", 2, false, true),
            ("#ops", 1, false, true),
            ("#staff", 0, true, true)
        ]
    );
    assert_eq!(rooms["rooms"][1]["topic"], "deploys");
    let table = ctl(&d, &["rooms"]).ok();
    assert!(
        table.contains("#ops") && table.contains("deploys"),
        "{table}"
    );
    let users = ctl(&d, &["users", "--room", "#ops", "--json"]).json();
    assert_eq!(users["users"].as_array().unwrap().len(), 1, "{users}");
    assert_eq!(users["users"][0]["name"], "ace");
    // A notice to #ops reaches its member only: bob's next notice is the
    // one to everyone, without a room.
    assert_eq!(
        ctl(&d, &["say", "--room", "ops", "freeze"]).ok(),
        "notice sent to 1 user\n"
    );
    ace.recv_until("the notice to #ops", |e| match e {
        ServerEvent::Notice { room, text, .. } if text == "freeze" => {
            assert_eq!(room.as_ref().map(|r| r.as_str()), Some("#ops"));
            Some(())
        }
        _ => None,
    })
    .await;
    ctl(&d, &["say", "to everyone"]).ok();
    bob.recv_until("the notice to everyone", |e| match e {
        ServerEvent::Notice { room, text, .. } => {
            assert_eq!((room, text.as_str()), (&None, "to everyone"));
            Some(())
        }
        _ => None,
    })
    .await;
    assert_eq!(
        ctl(&d, &["rooms", "remove", "#ops"]).ok(),
        "room #ops removed with its history (1 taken out)\n"
    );
    ace.recv_until("room_parted #ops", |e| match e {
        ServerEvent::RoomParted { room, reason } => {
            assert_eq!(
                (room.as_str(), reason.as_deref()),
                ("#ops", Some("the room was removed"))
            );
            Some(())
        }
        _ => None,
    })
    .await;
    assert!(!d.state_dir.join("rooms").join("236f7073").exists());
    let err = ctl(&d, &["rooms", "remove", "#lobby"]).failed(1);
    assert!(
        err.contains("default_room") && err.contains("cannot be removed"),
        "{err}"
    );
    let err = ctl(&d, &["rooms", "remove", "#gone"]).failed(1);
    assert!(err.contains("no_such_room"), "{err}");
    let err = ctl(&d, &["rooms", "add", "o p"]).failed(2);
    assert!(err.contains("is not a room"), "{err}");
    let err = ctl(&d, &["users", "--room", "#nowhere"]).failed(1);
    assert!(err.contains("no_such_room"), "{err}");
}

#[tokio::test]
async fn a_private_room_refuses_the_uninvited_and_admits_the_invited_across_a_restart() {
    let mut d = Daemon::builder().config(EXEMPT).start();
    ctl(&d, &["rooms", "add", "#staff", "--private"]).ok();
    let mut bob = join(&d, "bob").await;
    let join_staff = chat_protocol::ClientEvent::JoinRoom {
        room: "#staff".into(),
        after: None,
    };
    let (code, _, refused) = bob.refused(&join_staff).await;
    assert_eq!(code, chat_protocol::ErrorCode::NoSuchRoom);
    // The words a room that does not exist gets: its existence is not told.
    assert_eq!(refused, "there is no room #staff you may join");
    bob.send(&chat_protocol::ClientEvent::Rooms).await;
    bob.recv_until("rooms", |e| match e {
        ServerEvent::Rooms { rooms } => {
            assert!(
                rooms.iter().all(|r| r.room.as_str() != "#staff"),
                "{rooms:?}"
            );
            Some(())
        }
        _ => None,
    })
    .await;
    assert_eq!(
        ctl(&d, &["rooms", "invite", "#staff", "Bob"]).ok(),
        "Bob invited into #staff\n"
    );
    bob.recv_until("the invitation", |e| match e {
        ServerEvent::Moderation { room, target, .. } => {
            assert_eq!(
                (room.as_ref().map(|r| r.as_str()), target.as_str()),
                (Some("#staff"), "Bob")
            );
            Some(())
        }
        _ => None,
    })
    .await;
    let joined = bob.join_room("#staff", None).await;
    assert!(joined.private);
    bob.leave().await;
    assert!(d.terminate().success(), "log:\n{}", d.log());

    let d = Daemon::builder().config(EXEMPT).same_dirs_as(&d).start();
    let mut carol = join(&d, "carol").await;
    let (code, ..) = carol.refused(&join_staff).await;
    assert_eq!(code, chat_protocol::ErrorCode::NoSuchRoom);
    let mut bob = join(&d, "bob").await;
    assert!(
        bob.join_room("#staff", None).await.private,
        "still private, bob still invited"
    );
}

/// `chatctl` run as uid 65534 with primary group `gid` and no others.
fn as_nobody(gid: u32, socket: &Path, args: &[&str]) -> Option<Run> {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    if !root {
        eprintln!("skipped: only root can run chatctl as another user here");
        return None;
    }
    assert!(
        Command::new("setpriv").arg("--version").output().is_ok(),
        "setpriv is missing: install util-linux (.ci/run does)"
    );
    let mut cmd = Command::new("setpriv");
    cmd.args([
        "--reuid=65534",
        &format!("--regid={gid}"),
        "--clear-groups",
        "--",
    ])
    .arg(env!("CARGO_BIN_EXE_chatctl"))
    .arg("--socket")
    .arg(socket)
    .args(args)
    .env_remove("CHATD_SOCKET");
    Some(run(cmd, ""))
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[tokio::test]
async fn permission_denied_exits_77() {
    // Group 1 is `daemon` on Debian; any existing group would do.
    let d = Daemon::builder()
        .config("admin_group = \"daemon\"\n")
        .start();
    let sock = socket(&d);
    chmod(d.root(), 0o711);

    // The runtime directory is private: connect() fails with EACCES.
    let Some(denied) = as_nobody(65534, &sock, &["status"]) else {
        return;
    };
    let err = denied.failed(77);
    assert!(
        err.contains(&format!(
            "permission denied connecting to {}",
            sock.display()
        )),
        "{err}"
    );
    assert!(
        err.contains("root, the daemon's user, or a member of its admin group"),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "(the group of {} is daemon)",
            d.runtime_dir.display()
        )),
        "the admin group is named: {err}"
    );

    // The socket (root:daemon 0660) refuses others, and says whose it is.
    chmod(&d.runtime_dir, 0o711);
    let err = as_nobody(65534, &sock, &["status"]).unwrap().failed(77);
    assert!(err.contains("the socket's group is daemon"), "{err}");

    // A member of the admin group is admitted.
    let status = as_nobody(1, &sock, &["status", "--json"]).unwrap().json();
    assert_eq!(status["pid"], d.pid());

    // A socket anyone may connect to: the daemon itself answers 403.
    chmod(&sock, 0o666);
    let err = as_nobody(65534, &sock, &["key"]).unwrap().failed(77);
    assert!(err.starts_with("chatctl: forbidden: "), "{err}");
    assert!(err.contains("\"daemon\""), "the group is named: {err}");
}
