//! What chatd reads from NATS is held to the rules of the local path,
//! through the real binaries, a real nats-server and the test's own NATS
//! client publishing what no chatd would: a log entry with a forged
//! sender and control characters, a kick and a notice with escapes, and
//! name claims of nodes whose names would make a subject a wildcard.

use std::time::Duration;

use async_nats::jetstream;
use chat_protocol::{ClientEvent, ErrorCode, ServerEvent};
use testkit::{Daemon, Nats, RawClient};

const CONFIG: &str = "limit_exempt = [\"127.0.0.0/8\"]\ncluster_claim_ttl = \"30s\"\n";

fn node(nats: &Nats, name: &str) -> Daemon {
    Daemon::builder()
        .config(CONFIG)
        .cluster(&nats.url(), name)
        .start()
}

async fn join(d: &Daemon, name: &str) -> RawClient {
    RawClient::join(&d.url, &d.read_key(), name, "")
        .await
        .joined()
}

/// Every event a client gets until (and with) the first that `last`
/// picks.
async fn events_until(
    client: &mut RawClient,
    what: &str,
    last: impl Fn(&ServerEvent) -> bool,
) -> Vec<ServerEvent> {
    let mut seen = Vec::new();
    client
        .recv_until(what, |e| {
            seen.push(e.clone());
            last(e).then_some(())
        })
        .await;
    seen
}

/// Whether any text a user was shown holds a control character other
/// than newline and tab, or a name that is not one.
fn hostile(events: &[ServerEvent]) -> Option<&ServerEvent> {
    let bad_text = |t: &str| t.chars().any(|c| c.is_control() && c != '\n' && c != '\t');
    events.iter().find(|e| match e {
        ServerEvent::Message(m) => {
            bad_text(&m.text) || !chat_protocol::valid_username(&m.from) || m.text.contains("evil")
        }
        ServerEvent::Notice { text, .. } => bad_text(text) || text.contains("evil"),
        _ => false,
    })
}

#[tokio::test]
async fn what_another_program_publishes_on_the_rooms_subjects_reaches_no_user() {
    let nats = Nats::start();
    let a = node(&nats, "a");
    let b = node(&nats, "b");
    let mut ann = join(&a, "ann").await;
    let mut bob = join(&b, "bob").await;
    let js = jetstream::new(nats.client().await);

    // The room's log: a forged sender, a text with ESC and NUL, a sender
    // that is fine with a text that is not, an entry far too large.
    let forged = [
        serde_json::json!({"id": 0, "from": "root\u{1b}[2J...\nSYSTEM", "text": "evil", "ts": 1}),
        serde_json::json!({"id": 0, "from": "mallory", "text": "evil\u{1b}[2J\u{0}", "ts": 1}),
        serde_json::json!({"id": 0, "from": "mallory", "text": format!("evil{}", "x".repeat(200_000)), "ts": 1}),
    ];
    for entry in &forged {
        js.publish("chat.log", serde_json::to_vec(entry).unwrap().into())
            .await
            .unwrap()
            .await
            .unwrap();
    }
    // Then a message of ann's, after them in the log: once both users have
    // it, the forged ones were read, and dropped.
    ann.send(&ClientEvent::Say {
        room: None,
        text: "after".into(),
        cid: None,
    })
    .await;
    let is_after = |e: &ServerEvent| matches!(e, ServerEvent::Message(m) if m.text == "after");
    for user in [&mut ann, &mut bob] {
        let seen = events_until(user, "ann's message after the forged ones", is_after).await;
        assert_eq!(hostile(&seen), None, "{} was shown it", user.welcome.name);
    }
    // Nor are they history, on either node.
    for d in [&a, &b] {
        let late = join(d, "late").await;
        let texts: Vec<&str> = late
            .welcome
            .history
            .iter()
            .map(|e| e.text.as_str())
            .collect();
        assert_eq!(texts, ["after"], "the history on {}", d.url);
        late.leave().await;
    }

    // Control orders: a kick whose reason clears the screen, a notice with
    // ESC and NUL, one from a node whose name is a wildcard; then a fine
    // notice, after them.
    let client = nats.client().await;
    for order in [
        serde_json::json!({"origin": "x", "type": "kick", "name": "bob", "reason": "\u{1b}[2Jflood"}),
        serde_json::json!({"origin": "x", "type": "notice", "text": "evil\u{1b}[2J\u{0}"}),
        serde_json::json!({"origin": "x.*", "type": "notice", "text": "evil from a wildcard"}),
        serde_json::json!({"origin": "x", "type": "notice", "text": "fine"}),
    ] {
        client
            .publish("chat.control", serde_json::to_vec(&order).unwrap().into())
            .await
            .unwrap();
    }
    client.flush().await.unwrap();
    let is_fine = |e: &ServerEvent| matches!(e, ServerEvent::Notice { text, .. } if text == "fine");
    for user in [&mut ann, &mut bob] {
        let seen = events_until(user, "the fine notice", is_fine).await;
        assert_eq!(hostile(&seen), None, "{} was shown it", user.welcome.name);
        assert!(
            !seen.iter().any(|e| matches!(e, ServerEvent::Bye { .. })),
            "{} was kicked: {seen:?}",
            user.welcome.name
        );
    }

    // Name claims: a valid name on nodes whose names are wildcards or hold
    // white space (a DM to them would go to a subject that is not one
    // node's); then a fine claim, after them.
    let names = js.get_key_value("chat_names").await.unwrap();
    for (key, node) in [("mallory", "evil.*"), ("trudy", ">"), ("eve", "a b")] {
        let value = serde_json::json!({"node": node, "name": key});
        names
            .put(key, serde_json::to_vec(&value).unwrap().into())
            .await
            .unwrap();
    }
    let value = serde_json::json!({"node": "ghost", "name": "trent"});
    names
        .put("trent", serde_json::to_vec(&value).unwrap().into())
        .await
        .unwrap();
    for user in [&mut ann, &mut bob] {
        let start = std::time::Instant::now();
        loop {
            user.send(&ClientEvent::Who {
                room: None,
                after: None,
            })
            .await;
            let users = user
                .recv_until("the users", |e| match e {
                    ServerEvent::Users { users, .. } => Some(users.clone()),
                    _ => None,
                })
                .await;
            if users.iter().any(|u| u == "trent") {
                for bad in ["mallory", "trudy", "eve"] {
                    assert!(!users.iter().any(|u| u == bad), "{bad} listed: {users:?}");
                }
                break;
            }
            assert!(
                start.elapsed() < testkit::DEADLINE,
                "trent never listed: {users:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // A DM to one of them reaches no subject: no such user.
        user.send(&ClientEvent::Dm {
            to: "mallory".into(),
            text: "hi".into(),
            cid: None,
        })
        .await;
        let code = user
            .recv_until("the DM's answer", |e| match e {
                ServerEvent::Error { code, .. } => Some(*code),
                ServerEvent::Dm { .. } => Some(ErrorCode::Other),
                _ => None,
            })
            .await;
        assert_eq!(code, ErrorCode::NoSuchUser);
    }
    for d in [&a, &b] {
        assert!(
            d.log().contains("breaks the rules"),
            "the drops are logged: {}",
            d.log()
        );
    }
}
