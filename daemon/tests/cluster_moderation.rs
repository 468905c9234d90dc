//! What the rooms of a cluster are told of moderation, through two real
//! chatd nodes and a real nats-server: a kick (the admin's or an
//! operator's) is told once to every node's room, whichever node was
//! asked and whichever holds the session; so are a ban and a mute.

use chat_protocol::{ByeCode, ClientEvent, Identity, ModerationAction, RejectCode, ServerEvent};
use testkit::{Daemon, Nats, Outcome, RawClient};

fn node(nats: &Nats, name: &str) -> Daemon {
    Daemon::builder().cluster(&nats.url(), name).start()
}

async fn join(d: &Daemon, name: &str, who: Option<&Identity>) -> RawClient {
    RawClient::join_as(&d.url, &d.read_key(), name, "", who)
        .await
        .joined()
}

/// Waits until `who` sees the admin's notice `mark`, counting the
/// `moderation` events of `action` on `target` seen meanwhile; each with
/// its `by`.
async fn told_before(
    who: &mut RawClient,
    action: ModerationAction,
    target: &str,
    mark: &str,
) -> Vec<Option<String>> {
    let mut seen = Vec::new();
    who.recv_until(mark, |e| match e {
        ServerEvent::Moderation {
            action: a,
            target: t,
            by,
            ..
        } if *a == action && t == target => {
            seen.push(by.clone());
            None
        }
        ServerEvent::Notice { text, .. } if text == mark => Some(()),
        _ => None,
    })
    .await;
    seen
}

#[tokio::test]
async fn every_node_s_room_is_told_of_a_kick_once() {
    let nats = Nats::start();
    let one = node(&nats, "n1");
    let two = node(&nats, "n2");
    let mut w1 = join(&one, "w1", None).await;
    let mut w2 = join(&two, "w2", None).await;
    let mut bob = join(&two, "bob", None).await;
    let mut dave = join(&one, "dave", None).await;
    for w in [&mut w1, &mut w2] {
        for name in ["bob", "dave"] {
            w.recv_until(name, |e| match e {
                ServerEvent::Join { name: n, .. } if n == name => Some(()),
                _ => None,
            })
            .await;
        }
    }

    // Asked on node 1, the session on node 2.
    let answer = one.chatctl_json(&["kick", "BOB", "--reason", "flood"]);
    assert_eq!(answer["name"], "bob", "{answer}");
    assert_eq!(answer["node"], "n2", "{answer}");
    let (events, _) = bob.recv_to_close().await;
    assert!(
        events.iter().any(|e| matches!(e, ServerEvent::Bye { code: ByeCode::Kicked, reason, .. } if reason == "flood")),
        "{events:?}"
    );
    one.chatctl_json(&["say", "mark one"]);
    for w in [&mut w1, &mut w2] {
        let seen = told_before(w, ModerationAction::Kick, "bob", "mark one").await;
        assert_eq!(seen, vec![None], "{}\n{}", one.log(), two.log());
    }

    // Asked on node 1, the session on node 1: node 2's room is told too.
    one.chatctl_json(&["kick", "dave"]);
    dave.recv_to_close().await;
    one.chatctl_json(&["say", "mark two"]);
    for w in [&mut w1, &mut w2] {
        let seen = told_before(w, ModerationAction::Kick, "dave", "mark two").await;
        assert_eq!(seen, vec![None], "{}\n{}", one.log(), two.log());
    }
}

/// The leave of a user kicked or banned on another node says why, as it
/// does on that node (an older client, which knows no `moderation` event,
/// sees only the leave): the names bucket, whence a remote leave comes,
/// tells no reason, but the order was told on every node first.
#[tokio::test]
async fn a_leave_on_another_node_says_kicked_or_banned() {
    let nats = Nats::start();
    let one = node(&nats, "n1");
    let two = node(&nats, "n2");
    let mut w1 = join(&one, "w1", None).await;
    let mut bob = join(&two, "bob", None).await;
    // From an address of its own: the ban takes it in (carl is not
    // registered), and w1's must not be.
    let ws = testkit::connect_from(&two.url, "127.0.0.41".parse().unwrap()).await;
    let mut carl = RawClient::join_on(ws, &two.read_key(), "carl", "")
        .await
        .joined();
    for name in ["bob", "carl"] {
        w1.recv_until(name, |e| match e {
            ServerEvent::Join { name: n, .. } if n == name => Some(()),
            _ => None,
        })
        .await;
    }
    let leave_of = |name: &'static str| {
        move |e: &ServerEvent| match e {
            ServerEvent::Leave {
                name: n, reason, ..
            } if n == name => Some(reason.clone()),
            _ => None,
        }
    };
    one.chatctl_json(&["kick", "bob", "--reason", "flood"]);
    bob.recv_to_close().await;
    let reason = w1.recv_until("bob's leave", leave_of("bob")).await;
    assert_eq!(reason, "kicked: flood", "{}\n{}", one.log(), two.log());
    one.chatctl_json(&["ban", "carl", "--reason", "spam"]);
    carl.recv_to_close().await;
    let reason = w1.recv_until("carl's leave", leave_of("carl")).await;
    assert_eq!(reason, "banned: spam", "{}\n{}", one.log(), two.log());
}

#[tokio::test]
async fn an_operator_s_kick_of_a_user_on_another_node_is_told_everywhere() {
    let nats = Nats::start();
    let one = node(&nats, "n1");
    let two = node(&nats, "n2");
    let key = Identity::from_seed(&[7; 32]);
    // carol: a registered name (first-come), made an operator.
    join(&one, "carol", Some(&key)).await.leave().await;
    one.chatctl_json(&["op", "carol"]);
    let mut carol = join(&one, "carol", Some(&key)).await;
    let mut w2 = join(&two, "w2", None).await;
    let mut bob = join(&two, "bob", None).await;
    carol
        .recv_until("bob", |e| match e {
            ServerEvent::Join { name, .. } if name == "bob" => Some(()),
            _ => None,
        })
        .await;

    carol
        .send(&ClientEvent::Kick {
            name: "bob".into(),
            reason: Some("off topic".into()),
        })
        .await;
    let (events, _) = bob.recv_to_close().await;
    assert!(
        events.iter().any(|e| matches!(e, ServerEvent::Bye { code: ByeCode::Kicked, reason, .. } if reason == "off topic")),
        "{events:?}"
    );
    one.chatctl_json(&["say", "mark"]);
    for w in [&mut carol, &mut w2] {
        let seen = told_before(w, ModerationAction::Kick, "bob", "mark").await;
        assert_eq!(seen, vec![Some("carol".to_string())], "{}", two.log());
    }
    let audit = one.chatctl_json(&["audit"]);
    assert!(audit.to_string().contains("op:carol"), "{audit}");
}

#[tokio::test]
async fn every_node_s_room_is_told_of_a_ban_and_a_mute_once() {
    let nats = Nats::start();
    let one = node(&nats, "n1");
    let two = node(&nats, "n2");
    let mut w1 = join(&one, "w1", None).await;
    let mut w2 = join(&two, "w2", None).await;
    // From an address of its own: the ban takes it in.
    let ws = testkit::connect_from(&two.url, "127.0.0.40".parse().unwrap()).await;
    let mut bob = RawClient::join_on(ws, &two.read_key(), "bob", "")
        .await
        .joined();
    let _erin = join(&one, "erin", None).await;
    for w in [&mut w1, &mut w2] {
        for name in ["bob", "erin"] {
            w.recv_until(name, |e| match e {
                ServerEvent::Join { name: n, .. } if n == name => Some(()),
                _ => None,
            })
            .await;
        }
    }

    one.chatctl_json(&["ban", "bob", "--reason", "spam"]);
    bob.recv_to_close().await;
    two.chatctl_json(&["mute", "erin", "--for", "10m"]);
    // The book's changes reach every node in order, each once: the last
    // one told closes the count.
    one.chatctl_json(&["unmute", "erin"]);
    for w in [&mut w1, &mut w2] {
        let (mut bans, mut mutes) = (0, 0);
        w.recv_until("the unmute", |e| match e {
            ServerEvent::Moderation { action, target, .. } => match (action, target.as_str()) {
                (ModerationAction::Ban, "bob") => {
                    bans += 1;
                    None
                }
                (ModerationAction::Mute, "erin") => {
                    mutes += 1;
                    None
                }
                (ModerationAction::Unmute, "erin") => Some(()),
                _ => None,
            },
            _ => None,
        })
        .await;
        assert_eq!((bans, mutes), (1, 1), "{}\n{}", one.log(), two.log());
    }
}

/// The names `who`'s `users` answer marks `op`.
async fn marked(who: &mut RawClient) -> Vec<String> {
    who.send(&ClientEvent::Who {
        room: None,
        after: None,
    })
    .await;
    who.recv_until("the users", |e| match e {
        ServerEvent::Users { members, .. } => Some(
            members
                .iter()
                .filter(|m| m.op)
                .map(|m| m.name.clone())
                .collect(),
        ),
        _ => None,
    })
    .await
}

/// Waits until `who` sees `name` join; whether it is marked `op`.
async fn joins(who: &mut RawClient, name: &str) -> bool {
    who.recv_until(name, |e| match e {
        ServerEvent::Join { name: n, op, .. } if n == name => Some(*op),
        _ => None,
    })
    .await
}

/// Waits until `who` sees `name` leave.
async fn leaves(who: &mut RawClient, name: &str) {
    who.recv_until(name, |e| match e {
        ServerEvent::Leave { name: n, .. } if n == name => Some(()),
        _ => None,
    })
    .await;
}

/// Waits until `who` sees a `moderation` event of `action`.
async fn told(who: &mut RawClient, action: ModerationAction) {
    who.recv_until("a moderation event", |e| match e {
        ServerEvent::Moderation { action: a, .. } if *a == action => Some(()),
        _ => None,
    })
    .await;
}

#[tokio::test]
async fn an_operator_on_another_node_is_marked_op() {
    let nats = Nats::start();
    let one = node(&nats, "n1");
    let two = node(&nats, "n2");
    let key = Identity::from_seed(&[9; 32]);
    let mut early = join(&two, "early", None).await;
    // carol: a registered name (first-come), on node 1 with its key.
    join(&one, "carol", Some(&key)).await.leave().await;
    leaves(&mut early, "carol").await;
    let carol = join(&one, "carol", Some(&key)).await;
    assert!(!joins(&mut early, "carol").await);
    assert_eq!(marked(&mut early).await, Vec::<String>::new());

    // Made an operator on node 2: its room marks her at once.
    two.chatctl_json(&["op", "carol"]);
    told(&mut early, ModerationAction::Op).await;
    assert_eq!(marked(&mut early).await, ["carol"]);
    // A later join on node 2 sees the mark in its Welcome.
    let late = join(&two, "late", None).await;
    let ops: Vec<&str> = late
        .welcome
        .members
        .iter()
        .filter(|m| m.op)
        .map(|m| m.name.as_str())
        .collect();
    assert_eq!(ops, ["carol"], "{:?}", late.welcome.members);
    // Her next join is marked in the join event too.
    carol.leave().await;
    leaves(&mut early, "carol").await;
    let _carol = join(&one, "carol", Some(&key)).await;
    assert!(joins(&mut early, "carol").await, "{}", two.log());

    // Taken off on node 1: the mark goes on node 2.
    one.chatctl_json(&["deop", "carol"]);
    told(&mut early, ModerationAction::Deop).await;
    assert_eq!(marked(&mut early).await, Vec::<String>::new());
}

#[tokio::test]
async fn a_ban_of_an_unregistered_name_on_another_node_takes_its_identity_and_address() {
    let nats = Nats::start();
    // Under "open", an identity join registers nothing.
    let open = |name| {
        Daemon::builder()
            .config("names = \"open\"\n")
            .cluster(&nats.url(), name)
            .start()
    };
    let (one, two) = (open("n1"), open("n2"));
    let bob = Identity::from_seed(&[11; 32]);
    let ws = testkit::connect_from(&two.url, "127.0.0.30".parse().unwrap()).await;
    let mut session = RawClient::join_as_on(ws, &two.read_key(), "bob", "", Some(&bob))
        .await
        .joined();

    let answer = one.chatctl_json(&["ban", "bob"]);
    let fingerprint = bob.public().fingerprint().to_string();
    assert_eq!(
        answer["ban"]["also"],
        serde_json::json!([format!("key:{fingerprint}"), "addr:127.0.0.30"]),
        "{answer}"
    );
    let (events, _) = session.recv_to_close().await;
    assert!(
        events.iter().any(|e| matches!(
            e,
            ServerEvent::Bye {
                code: ByeCode::Banned,
                ..
            }
        )),
        "{events:?}"
    );
    // The identity under another name, and the address, are refused on
    // either node.
    for d in [&one, &two] {
        let ws = testkit::connect_from(&d.url, "127.0.0.31".parse().unwrap()).await;
        assert!(matches!(
            RawClient::join_as_on(ws, &d.read_key(), "robert", "", Some(&bob)).await,
            Outcome::Rejected(RejectCode::Banned, _)
        ));
        let ws = testkit::connect_from(&d.url, "127.0.0.30".parse().unwrap()).await;
        assert!(matches!(
            RawClient::join_as_on(ws, &d.read_key(), "zed", "", None).await,
            Outcome::Rejected(RejectCode::Banned, _)
        ));
    }
}

#[tokio::test]
async fn the_audit_on_any_node_shows_every_node_s_acts_in_time_order() {
    let nats = Nats::start();
    let one = node(&nats, "n1");
    let two = node(&nats, "n2");
    let _erin = join(&two, "erin", None).await;
    one.chatctl_json(&["ban", "mallory", "--reason", "spam"]);
    two.chatctl_json(&["mute", "erin", "--for", "10m"]);
    one.chatctl_json(&["unban", "mallory"]);
    let want = [
        ("ban", "mallory", "n1"),
        ("mute", "erin", "n2"),
        ("unban", "mallory", "n1"),
    ]
    .map(|(a, t, n)| (a.to_string(), t.to_string(), n.to_string()));
    for d in [&one, &two] {
        // Each node publishes its acts as it records them: the other
        // node's are there within a moment.
        let audit = testkit::wait_until("every node's acts in the audit", || {
            let audit = d.chatctl_json(&["audit"]);
            (audit["entries"].as_array().map_or(0, Vec::len) >= want.len()).then_some(audit)
        });
        assert!(audit.get("warning").is_none(), "{audit}");
        let acts: Vec<(String, String, String)> = audit["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["action"].as_str().unwrap().to_string(),
                    e["target"].as_str().unwrap().to_string(),
                    e["node"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        assert_eq!(acts, want, "{audit}");
        let (_, table, _) = d.chatctl(&["audit"]);
        assert!(table.contains("NODE"), "{table}");
    }
}
