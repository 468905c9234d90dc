//! What each node shows of a room whose members are elsewhere: an older
//! client (one that sends no `room`) sees the default room only, and
//! `chatctl users --room` and `chatctl rooms --json` on a node with no
//! member in the room list the other node's.

use super::{join, node, room_json, say, wait_room};
use chat_protocol::{ClientEvent, ServerEvent};

#[tokio::test]
async fn an_older_client_on_a_node_sees_only_the_default_rooms_events() {
    let nats = testkit::Nats::start();
    let a = node(&nats, "a");
    let b = node(&nats, "b");
    // carol, on b, sends no `room` and joins no room.
    let mut carol = join(&b, "carol").await;
    let mut ace = join(&a, "ace").await;
    let mut bob = join(&b, "bob").await;
    ace.join_room("#ops", None).await;
    bob.join_room("#ops", None).await;
    bob.wait_users(Some("#ops"), &["ace", "bob"]).await;
    ace.say_in(Some("#ops"), "from a").await;
    bob.say_in(Some("#ops"), "from b").await;
    for args in [
        &["rooms", "topic", "#ops", "deploys"][..],
        &["say", "--room", "#ops", "a notice"],
    ] {
        let (code, out, err) = a.chatctl(args);
        assert_eq!(code, 0, "{out}{err}");
    }
    bob.send(&ClientEvent::PartRoom {
        room: "#ops".into(),
    })
    .await;
    wait_room(&a, "#ops", |r| r.is_some_and(|r| r.1 == 1));
    ace.say_in(None, "marker").await;
    let mut seen = Vec::new();
    carol
        .recv_until("the marker", |e| {
            seen.push(e.clone());
            matches!(e, ServerEvent::Message(m) if m.text == "marker").then_some(())
        })
        .await;
    assert!(seen.iter().all(|e| e.room().is_none()), "{seen:#?}");
    // And what carol says without a `room` goes to the default room.
    carol.send(&say("#lobby", "hello")).await;
    ace.recv_until("carol's line", |e| match e {
        ServerEvent::Message(m) if m.text == "hello" => {
            assert_eq!(m.room, None);
            Some(())
        }
        _ => None,
    })
    .await;
}

#[tokio::test]
async fn a_node_with_no_member_in_a_room_lists_the_other_nodes_members() {
    let nats = testkit::Nats::start();
    let a = node(&nats, "a");
    let b = node(&nats, "b");
    let mut ace = join(&a, "ace").await;
    let _carol = join(&b, "carol").await;
    let (code, out, err) = a.chatctl(&["rooms", "add", "#ops", "--topic", "deploys"]);
    assert_eq!(code, 0, "{out}{err}");
    ace.join_room("#ops", None).await;
    ace.say_in(Some("#ops"), "one").await;
    wait_room(&b, "#ops", |r| r.is_some_and(|r| r.1 == 1));
    let users = b.chatctl_json(&["users", "--room", "#ops"]);
    let names: Vec<&str> = users["users"]
        .as_array()
        .expect("users")
        .iter()
        .map(|u| u["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["ace"], "{users}");
    assert_eq!(users["users"][0]["node"], "a");
    // Both nodes list #ops alike, but for what each keeps of it.
    let (on_a, on_b) = (room_json(&a, "#ops"), room_json(&b, "#ops"));
    for (field, want) in [
        ("online", serde_json::json!(1)),
        ("topic", "deploys".into()),
        ("private", false.into()),
        ("lasting", true.into()),
        ("default", false.into()),
    ] {
        assert_eq!((field, &on_a[field]), (field, &want), "{on_a}");
        assert_eq!((field, &on_b[field]), (field, &want), "{on_b}");
    }
    assert_eq!(
        (on_a["messages"].as_u64(), on_b["messages"].as_u64()),
        (Some(1), Some(0))
    );
}

#[tokio::test]
async fn one_room_made_at_once_on_two_nodes_is_one_room_within_max_rooms() {
    let config = format!("{}max_rooms = 3\n", super::CONFIG);
    let nats = testkit::Nats::start();
    let a = super::node_with(&nats, "a", &config);
    let b = super::node_with(&nats, "b", &config);
    let mut ace = join(&a, "ace").await;
    let mut bob = join(&b, "bob").await;
    // Both make #new at the same moment, each on its node.
    let new = ClientEvent::JoinRoom {
        room: "#new".into(),
        after: None,
    };
    ace.send(&new).await;
    bob.send(&new).await;
    for client in [&mut ace, &mut bob] {
        client
            .recv_until("room_joined #new", |e| match e {
                ServerEvent::RoomJoined(j) if j.room.as_str() == "#new" => Some(()),
                ServerEvent::Error { message, .. } => panic!("{message}"),
                _ => None,
            })
            .await;
    }
    ace.wait_users(Some("#new"), &["ace", "bob"]).await;
    bob.wait_users(Some("#new"), &["ace", "bob"]).await;
    let id = ace.say_in(Some("#new"), "one room").await;
    bob.recv_until("ace's line", |e| match e {
        ServerEvent::Message(m) if m.id == id => Some(()),
        _ => None,
    })
    .await;
    // A topic set on b reaches ace: both nodes hold the same settings.
    let (code, out, err) = b.chatctl(&["rooms", "topic", "#new", "one"]);
    assert_eq!(code, 0, "{out}{err}");
    ace.recv_until("the topic", |e| match e {
        ServerEvent::Topic { room, text, .. } if room.as_str() == "#new" => {
            assert_eq!(text, "one");
            Some(())
        }
        _ => None,
    })
    .await;
    // max_rooms (3, the default room included) holds across nodes: a
    // room made on b counts on a.
    bob.join_room("#second", None).await;
    wait_room(&a, "#second", |r| r.is_some());
    let (code, _, message) = ace
        .refused(&ClientEvent::JoinRoom {
            room: "#third".into(),
            after: None,
        })
        .await;
    assert_eq!(code, chat_protocol::ErrorCode::TooManyRooms, "{message}");
}

#[tokio::test]
async fn a_private_rooms_counts_are_its_members_on_every_node() {
    let nats = testkit::Nats::start();
    let a = node(&nats, "a");
    let b = node(&nats, "b");
    let mut ace = join(&a, "ace").await;
    let mut carol = join(&a, "carol").await;
    let mut bob = join(&b, "bob").await;
    for args in [
        &["rooms", "add", "#sec", "--private"][..],
        &["rooms", "invite", "#sec", "ace"],
        &["rooms", "invite", "#sec", "bob"],
    ] {
        let (code, out, err) = a.chatctl(args);
        assert_eq!(code, 0, "{out}{err}");
    }
    wait_room(&b, "#sec", |r| r.is_some());
    ace.join_room("#sec", None).await;
    let joined = bob.join_room("#sec", None).await;
    assert_eq!(joined.users, ["ace", "bob"]);
    ace.recv_until("bob's join of #sec", |e| match e {
        ServerEvent::Join {
            room: Some(r),
            name,
            online,
            ..
        } if name == "bob" && r.as_str() == "#sec" => {
            assert_eq!(*online, 2);
            Some(())
        }
        _ => None,
    })
    .await;
    for d in [&a, &b] {
        assert_eq!(room_json(d, "#sec")["online"], 2);
    }
    // carol, on a and not invited, is told nothing of it.
    carol.send(&ClientEvent::Rooms).await;
    let listed = carol
        .recv_until("the rooms", |e| match e {
            ServerEvent::Rooms { rooms } => Some(rooms.clone()),
            _ => None,
        })
        .await;
    assert!(
        listed.iter().all(|r| r.room.as_str() != "#sec"),
        "{listed:?}"
    );
}
