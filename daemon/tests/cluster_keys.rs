//! Keys and the admin password across the nodes of a cluster: two real
//! chatd nodes on one real nats-server. A rotation or a `passwd` on any
//! node reaches the other's memory and state directory; with NATS away
//! both are refused and change nothing.

use chat_protocol::{ByeCode, RejectCode, ServerEvent, Token};
use serde_json::json;
use testkit::{Daemon, Nats, Outcome, RawClient, admin_call, wait_until};

/// Many joins from 127.0.0.1, some with a wrong key or password.
const CONFIG: &str = r#"limit_exempt = ["127.0.0.0/8"]"#;

fn node(nats: &Nats, name: &str) -> Daemon {
    Daemon::builder()
        .config(CONFIG)
        .cluster(&nats.url(), name)
        .start()
}

fn key_id(token: &str) -> String {
    Token::parse(token).unwrap().key_id().to_string()
}

/// `GET /v1/key`: what `chatctl key` shows.
fn shown_key(d: &Daemon) -> String {
    let (code, key) = admin_call(&d.runtime_dir, "GET", "/v1/key", None);
    assert_eq!(code, 200, "{key}");
    key["token"].as_str().unwrap().to_string()
}

fn rotate(d: &Daemon, body: &str) -> serde_json::Value {
    let (code, rotated) = admin_call(&d.runtime_dir, "POST", "/v1/key/rotate", Some(body));
    assert_eq!(code, 200, "{rotated}\n{}", d.log());
    rotated
}

/// Waits until `d`'s key file holds `token`, and then until `d` uses it
/// (the file is written first, memory follows).
fn wait_for_key(d: &Daemon, token: &str) {
    wait_until("the node to take the cluster's key", || {
        (d.read_key() == token && shown_key(d) == token).then_some(())
    });
}

fn password_in_force(d: &Daemon) -> String {
    let (_, status) = admin_call(&d.runtime_dir, "GET", "/v1/status", None);
    status["password"].as_str().unwrap_or_default().to_string()
}

fn ended_by_rotation(events: &[ServerEvent]) -> bool {
    events.iter().any(|e| {
        matches!(
            e,
            ServerEvent::Bye {
                code: ByeCode::KeyRotated,
                ..
            }
        )
    })
}

#[tokio::test]
async fn a_rotation_on_one_node_is_the_key_of_every_node() {
    let nats = Nats::start();
    let n1 = node(&nats, "n1");
    let n2 = node(&nats, "n2");
    let old = n1.read_key();
    assert_eq!(n2.read_key(), old, "node 2 started with node 1's key");
    let mut zed = RawClient::join(&n2.url, &old, "zed", "").await.joined();
    let rotated = rotate(&n1, "{}");
    let new = rotated["token"].as_str().unwrap().to_string();
    assert_ne!(new, old);
    assert_eq!(n1.read_key(), new);
    wait_for_key(&n2, &new);
    assert_eq!(shown_key(&n2), new, "chatctl key on node 2");
    assert!(
        !n2.state_dir.join("key.previous").exists(),
        "no grace: no previous key"
    );
    let mut ace = RawClient::join(&n2.url, &new, "ace", "").await.joined();
    match RawClient::join(&n2.url, &old, "bob", "").await {
        Outcome::Closed(4001, reason) => assert!(reason.contains(&key_id(&new)), "{reason}"),
        other => panic!("the old key joined node 2: {other:?}"),
    }
    // Without --disconnect, a session on the old key stays.
    zed.send(&chat_protocol::ClientEvent::Who {
        room: None,
        after: None,
    })
    .await;
    zed.recv_until("the list of users", |e| {
        matches!(e, ServerEvent::Users { .. }).then_some(())
    })
    .await;
    // --disconnect without a grace, on node 2: the sessions on older keys
    // end at once on both nodes.
    let mut kim = RawClient::join(&n1.url, &new, "kim", "").await.joined();
    let newest = rotate(&n2, r#"{"disconnect": true}"#)["token"]
        .as_str()
        .unwrap()
        .to_string();
    wait_for_key(&n1, &newest);
    assert_eq!(shown_key(&n1), newest);
    for (who, client) in [("zed", &mut zed), ("ace", &mut ace), ("kim", &mut kim)] {
        let (events, close) = client.recv_to_close().await;
        assert!(ended_by_rotation(&events), "{who}: {events:?} {close:?}");
    }
    RawClient::join(&n1.url, &newest, "lou", "").await.joined();
    for d in [&n1, &n2] {
        assert!(!d.log().contains(&new), "the key must never be logged");
    }
}

#[tokio::test]
async fn a_grace_with_disconnect_ends_the_old_sessions_on_both_nodes_when_it_ends() {
    let nats = Nats::start();
    let n1 = node(&nats, "n1");
    let n2 = node(&nats, "n2");
    let old = n1.read_key();
    let mut ace = RawClient::join(&n1.url, &old, "ace", "").await.joined();
    let mut bob = RawClient::join(&n2.url, &old, "bob", "").await.joined();
    // Through the real chatctl, as an admin would.
    let out = std::process::Command::new(testkit::bin("chatctl"))
        .arg("--socket")
        .arg(n1.runtime_dir.join("admin.sock"))
        .args(["--json", "rotate-key", "--grace", "8s", "--disconnect"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let rotated: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let new = rotated["token"].as_str().unwrap().to_string();
    wait_for_key(&n2, &new);
    assert!(n2.state_dir.join("key.previous").exists());
    // During the grace the old key joins node 2, the new one too.
    let mut cat = RawClient::join(&n2.url, &old, "cat", "").await.joined();
    let mut dan = RawClient::join(&n2.url, &new, "dan", "").await.joined();
    // When it ends, every session on the old key ends, on both nodes.
    for (who, client) in [("ace", &mut ace), ("bob", &mut bob), ("cat", &mut cat)] {
        let (events, close) = client.recv_to_close().await;
        assert!(
            ended_by_rotation(&events),
            "{who}: {events:?} {close:?}\n{}",
            n2.log()
        );
    }
    wait_until("node 2 to erase the previous key", || {
        (!n2.state_dir.join("key.previous").exists()).then_some(())
    });
    match RawClient::join(&n2.url, &old, "eve", "").await {
        Outcome::Closed(4001, _) => {}
        other => panic!("the old key joined node 2 after its grace: {other:?}"),
    }
    // The session on the new key is still there, alone once each node has
    // taken its closed sessions out of the room (a client sees its close a
    // moment before its node lists it no more).
    wait_until("the users to be dan alone", || {
        let (_, users) = admin_call(&n2.runtime_dir, "GET", "/v1/users", None);
        let names: Vec<String> = users["users"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|u| u["name"].as_str().map(String::from))
            .collect();
        (names == ["dan"]).then_some(())
    });
    dan.send(&chat_protocol::ClientEvent::Who {
        room: None,
        after: None,
    })
    .await;
    dan.recv_until("the list of users", |e| {
        matches!(e, ServerEvent::Users { .. }).then_some(())
    })
    .await;
}

#[tokio::test]
async fn passwd_on_one_node_is_the_password_of_every_node() {
    let nats = Nats::start();
    let n1 = node(&nats, "n1");
    let n2 = node(&nats, "n2");
    let (code, body) = admin_call(
        &n2.runtime_dir,
        "PUT",
        "/v1/password",
        Some(&json!({"password": "s3cret"}).to_string()),
    );
    assert_eq!(code, 200, "{body}\n{}", n2.log());
    wait_until("node 1 to take the password", || {
        (password_in_force(&n1) == "admin").then_some(())
    });
    let stored = std::fs::read_to_string(n1.state_dir.join("password")).unwrap();
    assert!(stored.starts_with("$argon2id$"), "a hash, mirrored");
    match RawClient::join(&n1.url, &n1.key, "ace", "").await {
        Outcome::Rejected(RejectCode::BadPassword, _) => {}
        other => panic!("node 1 let a join in without the password: {other:?}"),
    }
    RawClient::join(&n1.url, &n1.key, "bob", "s3cret")
        .await
        .joined();
    // Cleared on node 2: no password on node 1 either.
    let (code, body) = admin_call(&n2.runtime_dir, "DELETE", "/v1/password", None);
    assert_eq!(code, 200, "{body}");
    wait_until("node 1 to drop the password", || {
        (password_in_force(&n1) == "none").then_some(())
    });
    assert!(!n1.state_dir.join("password").exists());
    RawClient::join(&n1.url, &n1.key, "cat", "").await.joined();
    for d in [&n1, &n2] {
        assert!(
            !d.log().contains("s3cret"),
            "the password must never be logged"
        );
    }
}

#[tokio::test]
async fn a_node_restarted_after_a_rotation_starts_with_the_cluster_key_and_password() {
    let nats = Nats::start();
    let n1 = node(&nats, "n1");
    let mut n2 = node(&nats, "n2");
    assert!(n2.terminate().success());
    let new = rotate(&n1, "{}")["token"].as_str().unwrap().to_string();
    let (code, body) = admin_call(
        &n1.runtime_dir,
        "PUT",
        "/v1/password",
        Some(r#"{"password":"later"}"#),
    );
    assert_eq!(code, 200, "{body}");
    let n2 = Daemon::builder()
        .config(CONFIG)
        .cluster(&nats.url(), "n2")
        .same_dirs_as(&n2)
        .start();
    assert_eq!(n2.read_key(), new);
    assert_eq!(password_in_force(&n2), "admin");
    RawClient::join(&n2.url, &new, "ace", "later")
        .await
        .joined();
}

#[tokio::test]
async fn with_nats_away_rotate_and_passwd_are_refused_and_change_nothing() {
    let mut nats = Nats::start();
    let n1 = node(&nats, "n1");
    let n2 = node(&nats, "n2");
    let old = n1.read_key();
    nats.kill();
    let (code, body) = admin_call(&n1.runtime_dir, "POST", "/v1/key/rotate", Some("{}"));
    assert_eq!(code, 503, "{body}");
    assert_eq!(body["error"]["code"], "cluster_unavailable");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("the cluster is unavailable; nothing changed"),
        "{message}"
    );
    let (code, body) = admin_call(
        &n2.runtime_dir,
        "PUT",
        "/v1/password",
        Some(r#"{"password":"nope"}"#),
    );
    assert_eq!(code, 503, "{body}");
    assert_eq!(body["error"]["code"], "cluster_unavailable");
    for d in [&n1, &n2] {
        assert_eq!(d.read_key(), old);
        assert_eq!(shown_key(d), old);
        assert!(!d.state_dir.join("password").exists());
        assert_eq!(password_in_force(d), "none");
    }
    // NATS back: the watches are made again, and a rotation reaches node 2.
    nats.restart();
    let new = wait_until("a rotation once NATS is back", || {
        let (code, body) = admin_call(&n1.runtime_dir, "POST", "/v1/key/rotate", Some("{}"));
        match code {
            200 => Some(body["token"].as_str().unwrap().to_string()),
            503 => None,
            _ => panic!("{code} {body}"),
        }
    });
    wait_for_key(&n2, &new);
    assert_eq!(shown_key(&n2), new);
}
