//! Operators and moderation in rooms, through the real chatd, the real
//! `chatctl` and protocol-level clients (docs/protocol.md §10.7, §10.8):
//! an operator's session sets topics, invites registered names into
//! private rooms and, under `room_creation = "operators"`, makes rooms by
//! joining them, where a plain user is refused; the operator's mark shows
//! in every room's lists; a mute holds in every room and a ban ends the
//! session in each.

use chat_protocol::{
    ByeCode, ClientEvent, ErrorCode, Identity, Member, ModerationAction, RoomName, ServerEvent,
};
use testkit::{Daemon, DaemonBuilder, RawClient, connect_from};

/// Loopback joins and quick messages: past the per-address and rate
/// defaults.
const EXEMPT: &str =
    "limit_exempt = [\"127.0.0.0/8\"]\nrate_burst = 1000\nrate_per_second = 1000\n";

fn builder(extra: &str) -> DaemonBuilder {
    Daemon::builder().config(&format!("{EXEMPT}{extra}"))
}

async fn join(d: &Daemon, name: &str, who: Option<&Identity>) -> RawClient {
    RawClient::join_as(&d.url, &d.key, name, "", who)
        .await
        .joined()
}

fn room(name: &str) -> RoomName {
    RoomName::parse(name).unwrap()
}

/// The names a list marks as operators.
fn marked(members: &[Member]) -> Vec<&str> {
    members
        .iter()
        .filter(|m| m.op)
        .map(|m| m.name.as_str())
        .collect()
}

/// carol, registered (first-come, proven with her key) and made an
/// operator by the admin, online.
async fn operator(d: &Daemon) -> RawClient {
    let carol = join(d, "carol", Some(&Identity::from_seed(&[3; 32]))).await;
    d.chatctl_json(&["op", "carol"]);
    carol
}

/// Waits for the `topic` event of `room`: its text and `by`.
async fn topic_told(who: &mut RawClient, room_name: &str) -> (String, Option<String>) {
    let wanted = room(room_name);
    who.recv_until(&format!("the topic of {room_name}"), |e| match e {
        ServerEvent::Topic { room, text, by, .. } if *room == wanted => {
            Some((text.clone(), by.clone()))
        }
        _ => None,
    })
    .await
}

#[tokio::test]
async fn an_operator_sets_topics_and_invites_and_a_plain_user_is_refused_not_operator() {
    let d = builder("").start();
    // dave: a registered name, offline for now.
    let dave_key = Identity::from_seed(&[4; 32]);
    join(&d, "dave", Some(&dave_key)).await.leave().await;
    let key = Identity::from_seed(&[3; 32]);
    let mut carol = join(&d, "carol", Some(&key)).await;
    let mut bob = join(&d, "bob", None).await;
    carol.join_room("#ops", None).await;
    // Made an operator while in #ops: #ops lists the mark from then on.
    d.chatctl_json(&["op", "carol"]);
    carol
        .recv_until("carol's op", |e| {
            matches!(
                e,
                ServerEvent::Moderation {
                    action: ModerationAction::Op,
                    ..
                }
            )
            .then_some(())
        })
        .await;
    let joined = bob.join_room("#ops", None).await;
    assert_eq!(marked(&joined.members), ["carol"], "{:?}", joined.members);

    // Topics: the operator's is told to the room with her as `by`.
    let set = |text: &str| ClientEvent::Topic {
        room: "#ops".into(),
        text: text.into(),
    };
    let (code, room_of, message) = bob.refused(&set("bob's topic")).await;
    assert_eq!(
        (code, room_of),
        (ErrorCode::NotOperator, Some(room("#ops")))
    );
    assert!(message.contains("operators"), "{message}");
    carol.send(&set("deploys and incidents")).await;
    for who in [&mut carol, &mut bob] {
        assert_eq!(
            topic_told(who, "#ops").await,
            ("deploys and incidents".to_string(), Some("carol".into()))
        );
    }
    let rooms = d.chatctl_json(&["rooms"]);
    let ops = rooms["rooms"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["room"] == "#ops")
        .unwrap();
    assert_eq!(ops["topic"], "deploys and incidents", "{rooms}");
    // From outside the room: not_in_room.
    let (code, ..) = carol
        .refused(&ClientEvent::Topic {
            room: "#elsewhere".into(),
            text: "x".into(),
        })
        .await;
    assert_eq!(code, ErrorCode::NotInRoom);

    // Invitations into a private room the admin made.
    d.chatctl_json(&["rooms", "add", "#staff", "--private"]);
    // Listed to the operator, not to others.
    for (who, listed) in [(&mut carol, true), (&mut bob, false)] {
        who.send(&ClientEvent::Rooms).await;
        let rooms = who
            .recv_until("the rooms", |e| match e {
                ServerEvent::Rooms { rooms } => Some(rooms.clone()),
                _ => None,
            })
            .await;
        let staff = rooms.iter().any(|r| r.room.as_str() == "#staff");
        assert_eq!(staff, listed, "{rooms:?}");
    }
    let mut dave = join(&d, "dave", Some(&dave_key)).await;
    let staff = || ClientEvent::JoinRoom {
        room: "#staff".into(),
        after: None,
    };
    assert_eq!(dave.refused(&staff()).await.0, ErrorCode::NoSuchRoom);
    let invite = |name: &str| ClientEvent::Invite {
        room: "#staff".into(),
        name: name.into(),
    };
    let (code, room_of, _) = bob.refused(&invite("dave")).await;
    assert_eq!(
        (code, room_of),
        (ErrorCode::NotOperator, Some(room("#staff")))
    );
    let (code, _, message) = carol.refused(&invite("nobody")).await;
    assert_eq!(code, ErrorCode::NoSuchUser, "{message}");
    assert!(message.contains("not registered"), "{message}");
    carol.send(&invite("Dave")).await;
    let invited = |e: &ServerEvent| match e {
        ServerEvent::Moderation {
            room: Some(r),
            action: ModerationAction::Invite,
            target,
            by,
            ..
        } if r.as_str() == "#staff" => Some((target.clone(), by.clone())),
        _ => None,
    };
    let told = (String::from("Dave"), Some(String::from("carol")));
    assert_eq!(carol.recv_until("carol's invite", invited).await, told);
    assert_eq!(dave.recv_until("dave's invite", invited).await, told);
    let joined = dave.join_room("#staff", None).await;
    assert_eq!(joined.users, ["dave"]);
    assert_eq!(
        d.chatctl_json(&["rooms"])["rooms"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["room"] == "#staff")
            .unwrap()["invited"],
        serde_json::json!(["Dave"])
    );
}

#[tokio::test]
async fn under_room_creation_operators_only_an_operators_join_makes_a_room() {
    let d = builder("room_creation = \"operators\"\n").start();
    let mut carol = operator(&d).await;
    let mut bob = join(&d, "bob", None).await;
    let new = ClientEvent::JoinRoom {
        room: "#new".into(),
        after: None,
    };
    // A plain user is not told whether the room exists (as for a private
    // room): no_such_room, in words that say who may make rooms.
    let (code, room_of, message) = bob.refused(&new).await;
    assert_eq!((code, room_of), (ErrorCode::NoSuchRoom, Some(room("#new"))));
    assert!(message.contains("operators"), "{message}");
    let joined = carol.join_room("#new", None).await;
    assert_eq!(
        (joined.users.as_slice(), marked(&joined.members)),
        (&["carol".to_string()][..], vec!["carol"])
    );
    // Made, it is there for everyone to join.
    let joined = bob.join_room("#new", None).await;
    assert_eq!(joined.users, ["bob", "carol"]);
}

#[tokio::test]
async fn a_mute_holds_in_every_room_and_a_ban_ends_the_session_in_each() {
    let d = builder("").start();
    let mut ace = join(&d, "ace", None).await;
    // From an address of his own: the admin's ban by name takes in the
    // address of the session it ends.
    let ws = connect_from(&d.url, "127.0.0.30".parse().unwrap()).await;
    let mut bob = RawClient::join_as_on(ws, &d.key, "bob", "", None)
        .await
        .joined();
    ace.join_room("#ops", None).await;
    bob.join_room("#ops", None).await;
    d.chatctl_json(&["mute", "bob"]);
    // Told once, server-wide (no `room`), in the default room.
    ace.recv_until("bob's mute", |e| match e {
        ServerEvent::Moderation {
            room,
            action: ModerationAction::Mute,
            target,
            ..
        } if target == "bob" => {
            assert_eq!(*room, None);
            Some(())
        }
        _ => None,
    })
    .await;
    let (code, room_of, _) = bob
        .refused(&ClientEvent::Say {
            room: Some("#ops".into()),
            text: "let me speak".into(),
            cid: None,
        })
        .await;
    assert_eq!((code, room_of), (ErrorCode::Muted, Some(room("#ops"))));
    // Nobody received it: ace's next line is the next message she sees.
    ace.send(&ClientEvent::Say {
        room: Some("#ops".into()),
        text: "ace here".into(),
        cid: None,
    })
    .await;
    let mut seen = Vec::new();
    ace.recv_until("ace's echo", |e| match e {
        ServerEvent::Message(m) => {
            seen.push(m.text.clone());
            (m.text == "ace here").then_some(())
        }
        _ => None,
    })
    .await;
    assert_eq!(seen, ["ace here"]);

    d.chatctl_json(&["ban", "bob"]);
    let mut left = Vec::new();
    ace.recv_until("bob's leave of both rooms", |e| {
        if let ServerEvent::Leave { room, name, .. } = e
            && name == "bob"
        {
            left.push(room.clone());
        }
        (left.len() == 2).then_some(())
    })
    .await;
    assert_eq!(left, [Some(room("#ops")), None], "the default room's last");
    let (events, _) = bob.recv_to_close().await;
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
}
