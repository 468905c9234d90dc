//! Rooms through the real `chatd` and protocol-level clients
//! (docs/protocol.md §10.8): a room's messages reach its members only, in
//! one order, and an older client (one that sends no `room`) sees the
//! default room alone; joins, leaves and `online` per room; the limits and
//! refusals with their codes; a session's end leaving every room.

use chat_protocol::{ClientEvent, ErrorCode, RoomName, ServerEvent};
use testkit::{Daemon, DaemonBuilder, RawClient};

/// Loopback joins and quick messages: past the per-address and rate
/// defaults.
const EXEMPT: &str =
    "limit_exempt = [\"127.0.0.0/8\"]\nrate_burst = 1000\nrate_per_second = 1000\n";

fn builder(extra: &str) -> DaemonBuilder {
    Daemon::builder().config(&format!("{EXEMPT}{extra}"))
}

async fn join(d: &Daemon, name: &str) -> RawClient {
    RawClient::join(&d.url, &d.key, name, "").await.joined()
}

fn room(name: &str) -> RoomName {
    RoomName::parse(name).unwrap()
}

fn say(room: Option<&str>, text: &str) -> ClientEvent {
    ClientEvent::Say {
        room: room.map(str::to_owned),
        text: text.into(),
        cid: None,
    }
}

/// The messages a client receives until (and with) `last`, as
/// `(room, text)`; every event on the way is returned too.
async fn messages_until(
    client: &mut RawClient,
    last: &str,
) -> (Vec<(Option<RoomName>, String)>, Vec<ServerEvent>) {
    let mut seen = Vec::new();
    let mut events = Vec::new();
    client
        .recv_until(&format!("{last:?}"), |e| {
            events.push(e.clone());
            match e {
                ServerEvent::Message(m) => {
                    seen.push((m.room.clone(), m.text.clone()));
                    (m.text == last).then_some(())
                }
                _ => None,
            }
        })
        .await;
    (seen, events)
}

/// The next `n` messages a client receives, as `(room, text)`.
async fn messages(client: &mut RawClient, n: usize) -> Vec<(Option<RoomName>, String)> {
    let mut seen = Vec::new();
    client
        .recv_until(&format!("{n} messages"), |e| {
            if let ServerEvent::Message(m) = e {
                seen.push((m.room.clone(), m.text.clone()));
            }
            (seen.len() == n).then_some(())
        })
        .await;
    seen
}

#[tokio::test]
async fn a_rooms_messages_reach_its_members_only_in_one_order_and_an_older_client_sees_the_lobby() {
    let d = builder("").start();
    let mut ace = join(&d, "ace").await;
    let mut bob = join(&d, "bob").await;
    // carol is an older client: it sends no `room` and joins no room.
    let mut carol = join(&d, "carol").await;
    assert_eq!(ace.welcome.default_room, Some(room("#lobby")));
    assert_eq!(ace.welcome.rooms, [room("#lobby")]);

    let joined = ace.join_room("#Ops", None).await;
    assert_eq!(joined.room, room("#ops"), "names are folded");
    assert_eq!(
        (joined.users.as_slice(), joined.last_id),
        (&["ace".to_string()][..], 0)
    );
    let joined = bob.join_room("#ops", None).await;
    assert_eq!(joined.users, ["ace", "bob"]);
    // ace is told, with the room's count, not the server's (3).
    ace.recv_until("bob's join of #ops", |e| match e {
        ServerEvent::Join {
            room: Some(r),
            name,
            online,
            ..
        } if name == "bob" => {
            assert_eq!((r.as_str(), *online), ("#ops", 2));
            Some(())
        }
        _ => None,
    })
    .await;

    // Two senders at once, interleaved: both members see one order.
    for i in 0..5 {
        ace.send(&say(Some("#ops"), &format!("ace {i}"))).await;
        bob.send(&say(Some("#ops"), &format!("bob {i}"))).await;
    }
    let ace_seen = messages(&mut ace, 10).await;
    let bob_seen = messages(&mut bob, 10).await;
    assert_eq!(ace_seen, bob_seen, "one order for the room's members");
    assert!(ace_seen.iter().all(|(r, _)| *r == Some(room("#ops"))));

    // carol saw none of it, nor the joins of #ops: the next thing she
    // gets is her own line in the default room, with no `room`.
    carol.send(&say(None, "carol here")).await;
    let (carol_seen, events) = messages_until(&mut carol, "carol here").await;
    assert_eq!(carol_seen, [(None, "carol here".to_string())], "{events:?}");
    assert!(events.iter().all(|e| e.room().is_none()), "{events:?}");
    // And the members of #ops got carol's line too, as the default room's.
    let (seen, _) = messages_until(&mut ace, "carol here").await;
    assert_eq!(seen, [(None, "carol here".to_string())]);

    // who per room; rooms lists both with their counts.
    ace.send(&ClientEvent::Who {
        room: Some("#ops".into()),
        after: None,
    })
    .await;
    ace.recv_until("users of #ops", |e| match e {
        ServerEvent::Users {
            room: Some(r),
            users,
            ..
        } => {
            assert_eq!(
                (r.as_str(), users.as_slice()),
                ("#ops", &["ace".to_string(), "bob".to_string()][..])
            );
            Some(())
        }
        _ => None,
    })
    .await;
    ace.send(&ClientEvent::Rooms).await;
    let rooms = ace
        .recv_until("rooms", |e| match e {
            ServerEvent::Rooms { rooms } => Some(rooms.clone()),
            _ => None,
        })
        .await;
    let listed: Vec<(&str, usize)> = rooms.iter().map(|r| (r.room.as_str(), r.online)).collect();
    assert_eq!(listed, [("#lobby", 3), ("#ops", 2)]);
}

#[tokio::test]
async fn a_joiner_gets_the_rooms_history_and_a_resume_the_messages_after() {
    let d = builder("").start();
    let mut ace = join(&d, "ace").await;
    ace.join_room("#ops", None).await;
    let lobby = ace.say_in(None, "in the lobby").await;
    let first = ace.say_in(Some("#ops"), "ops one").await;
    let second = ace.say_in(Some("#ops"), "ops two").await;
    assert!(lobby < first && first < second, "ids increase server-wide");
    let mut bob = join(&d, "bob").await;
    let joined = bob.join_room("#ops", None).await;
    let history: Vec<(u64, &str)> = joined
        .history
        .iter()
        .map(|e| (e.id, e.text.as_str()))
        .collect();
    assert_eq!(history, [(first, "ops one"), (second, "ops two")]);
    assert!(joined.history.iter().all(|e| e.room == Some(room("#ops"))));
    assert_eq!(joined.last_id, second);
    let lobby_history: Vec<&str> = bob
        .welcome
        .history
        .iter()
        .map(|e| e.text.as_str())
        .collect();
    assert_eq!(lobby_history, ["in the lobby"], "the default room's own");
    // A resume: exactly what came after, with `resumed`.
    let third = ace.say_in(Some("#ops"), "ops three").await;
    let mut again = join(&d, "bob2").await;
    let resumed = again.join_room("#ops", Some(second)).await;
    assert!(resumed.resumed && !resumed.gap);
    let ids: Vec<u64> = resumed.history.iter().map(|e| e.id).collect();
    assert_eq!(ids, [third]);
}

#[tokio::test]
async fn refusals_carry_their_codes_and_rooms() {
    let d = builder("").start();
    let mut ace = join(&d, "ace").await;
    let (code, room_of, message) = ace
        .refused(&ClientEvent::JoinRoom {
            room: "ops".into(),
            after: None,
        })
        .await;
    assert_eq!((code, room_of), (ErrorCode::RoomInvalid, None));
    assert!(message.contains("starts with #"), "{message}");
    let (code, room_of, message) = ace.refused(&say(Some("#ops"), "hi")).await;
    assert_eq!((code, room_of), (ErrorCode::NotInRoom, Some(room("#ops"))));
    assert!(message.contains("/join #ops"), "{message}");
    let (code, ..) = ace
        .refused(&ClientEvent::PartRoom {
            room: "#lobby".into(),
        })
        .await;
    assert_eq!(code, ErrorCode::CannotPart);
    let (code, ..) = ace
        .refused(&ClientEvent::PartRoom {
            room: "#ops".into(),
        })
        .await;
    assert_eq!(code, ErrorCode::NotInRoom);
    let (code, ..) = ace
        .refused(&ClientEvent::Topic {
            room: "#lobby".into(),
            text: "x".into(),
        })
        .await;
    assert_eq!(code, ErrorCode::NotOperator);
    let (code, ..) = ace
        .refused(&ClientEvent::Invite {
            room: "#lobby".into(),
            name: "bob".into(),
        })
        .await;
    assert_eq!(code, ErrorCode::NotOperator);
    // The default room by name is the default room: joined, said in.
    let joined = ace.join_room("#LOBBY", None).await;
    assert_eq!(joined.room, room("#lobby"));
    ace.say_in(Some("#lobby"), "said by name").await;
}

#[tokio::test]
async fn the_limits_refuse_with_too_many_rooms_and_the_policy_with_no_such_room() {
    let d = builder("max_rooms = 3\nmax_rooms_per_session = 2\nrooms_made_per_hour = 2\n").start();
    let mut ace = join(&d, "ace").await;
    ace.join_room("#a", None).await;
    // In two rooms, the most one session may be in.
    let (code, _, message) = ace
        .refused(&ClientEvent::JoinRoom {
            room: "#b".into(),
            after: None,
        })
        .await;
    assert_eq!(code, ErrorCode::TooManyRooms);
    assert!(message.contains("/part"), "{message}");
    ace.send(&ClientEvent::PartRoom { room: "#a".into() }).await;
    ace.recv_until("room_parted", |e| {
        matches!(e, ServerEvent::RoomParted { .. }).then_some(())
    })
    .await;
    // A second room made by this session: the server holds 3 now.
    ace.join_room("#b", None).await;
    let mut bob = join(&d, "bob").await;
    let (code, _, message) = bob
        .refused(&ClientEvent::JoinRoom {
            room: "#c".into(),
            after: None,
        })
        .await;
    assert_eq!(code, ErrorCode::TooManyRooms);
    assert!(message.contains("holds 3 rooms"), "{message}");
    // Rooms that exist are joined whatever the server's count.
    bob.join_room("#a", None).await;
    drop(d);

    let d = builder("room_creation = \"admin\"\n").start();
    let mut ace = join(&d, "ace").await;
    let (code, room_of, message) = ace
        .refused(&ClientEvent::JoinRoom {
            room: "#new".into(),
            after: None,
        })
        .await;
    assert_eq!((code, room_of), (ErrorCode::NoSuchRoom, Some(room("#new"))));
    assert!(message.contains("chatctl rooms add"), "{message}");
    drop(d);

    let d = builder("rooms_made_per_hour = 1\n").start();
    let mut ace = join(&d, "ace").await;
    ace.join_room("#one", None).await;
    let (code, _, message) = ace
        .refused(&ClientEvent::JoinRoom {
            room: "#two".into(),
            after: None,
        })
        .await;
    assert_eq!(code, ErrorCode::TooManyRooms);
    assert!(message.contains("in the last hour"), "{message}");
}

#[tokio::test]
async fn a_part_and_a_sessions_end_are_told_in_each_room_the_default_rooms_last() {
    let d = builder("").start();
    let mut ace = join(&d, "ace").await;
    let mut bob = join(&d, "bob").await;
    ace.join_room("#ops", None).await;
    ace.join_room("#dev", None).await;
    bob.join_room("#ops", None).await;
    bob.join_room("#dev", None).await;
    bob.send(&ClientEvent::PartRoom {
        room: "#dev".into(),
    })
    .await;
    bob.recv_until("room_parted #dev", |e| match e {
        ServerEvent::RoomParted {
            room: r,
            reason: None,
        } if r.as_str() == "#dev" => Some(()),
        _ => None,
    })
    .await;
    let leave = |e: &ServerEvent| match e {
        ServerEvent::Leave {
            room,
            name,
            online,
            reason,
            ..
        } if name == "bob" => Some((
            room.as_ref().map(|r| r.to_string()),
            *online,
            reason.clone(),
        )),
        _ => None,
    };
    let parted = ace.recv_until("bob's part of #dev", leave).await;
    assert_eq!(parted, (Some("#dev".into()), 1, "left".into()));
    bob.leave().await;
    let first = ace.recv_until("bob's leave of #ops", leave).await;
    let last = ace.recv_until("bob's leave of the lobby", leave).await;
    assert_eq!(first, (Some("#ops".into()), 1, "left".into()));
    assert_eq!(last, (None, 1, "left".into()));
    // bob is in no room now: the room's list says so.
    ace.send(&ClientEvent::Who {
        room: Some("#ops".into()),
        after: None,
    })
    .await;
    ace.recv_until("users of #ops", |e| match e {
        ServerEvent::Users {
            room: Some(_),
            users,
            ..
        } => {
            assert_eq!(users, &["ace".to_string()]);
            Some(())
        }
        _ => None,
    })
    .await;
}
