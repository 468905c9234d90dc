//! Rooms across the nodes of a cluster (docs/cluster.md "Rooms"): real
//! chatd processes joined through a real nats-server, protocol-level
//! clients on each. A room's members on two nodes see one order and no one
//! else sees it; rooms, members, topics and invitations are the same on
//! every node; a node reads a room's messages only while one of its users
//! is in it; a node's death loses nothing accepted in a room.

use std::time::{Duration, Instant};

use chat_protocol::{ClientEvent, ErrorCode, RoomName, ServerEvent};
use testkit::{DEADLINE, Daemon, Nats, RawClient};

/// Claims live 3 s, so a dead node's users go within seconds; many
/// loopback connections and quick messages are allowed.
const CONFIG: &str = "limit_exempt = [\"127.0.0.0/8\"]\n\
                      cluster_claim_ttl = \"3s\"\n\
                      rate_burst = 1000\n\
                      rate_per_second = 1000\n";

// More cases, each file one kind (one test binary, these helpers shared).
#[path = "cluster_rooms/faults.rs"]
mod faults;
#[path = "cluster_rooms/hostile.rs"]
mod hostile;
#[path = "cluster_rooms/views.rs"]
mod views;

fn node(nats: &Nats, name: &str) -> Daemon {
    node_with(nats, name, CONFIG)
}

/// A node of `nats` named `name`, with `config` as its whole configuration.
fn node_with(nats: &Nats, name: &str, config: &str) -> Daemon {
    Daemon::builder()
        .config(config)
        .cluster(&nats.url(), name)
        .start()
}

async fn join(d: &Daemon, name: &str) -> RawClient {
    RawClient::join(&d.url, &d.read_key(), name, "")
        .await
        .joined()
}

fn room(name: &str) -> RoomName {
    RoomName::parse(name).unwrap()
}

fn say(room: &str, text: &str) -> ClientEvent {
    ClientEvent::Say {
        room: Some(room.into()),
        text: text.into(),
        cid: None,
    }
}

/// The next `n` messages a client receives: (room, id, text).
async fn messages(client: &mut RawClient, n: usize) -> Vec<(Option<RoomName>, u64, String)> {
    let mut seen = Vec::new();
    client
        .recv_until(&format!("{n} messages"), |e| {
            if let ServerEvent::Message(m) = e {
                seen.push((m.room.clone(), m.id, m.text.clone()));
            }
            (seen.len() == n).then_some(())
        })
        .await;
    seen
}

/// The rooms `d`'s admin API lists, by name: (online, messages kept here).
fn rooms_of(d: &Daemon) -> Vec<(String, u64, u64)> {
    let listed = d.chatctl_json(&["rooms"]);
    listed["rooms"]
        .as_array()
        .expect("a list of rooms")
        .iter()
        .map(|r| {
            (
                r["room"].as_str().unwrap().to_string(),
                r["online"].as_u64().unwrap(),
                r["messages"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// A room of `chatctl rooms --json` on `d`.
fn room_json(d: &Daemon, name: &str) -> serde_json::Value {
    let listed = d.chatctl_json(&["rooms"]);
    listed["rooms"]
        .as_array()
        .expect("a list of rooms")
        .iter()
        .find(|r| r["room"] == name)
        .unwrap_or_else(|| panic!("{name} on {}: {listed}", d.url))
        .clone()
}

/// Waits until `d` lists `room` as `want` says.
fn wait_room(d: &Daemon, name: &str, want: impl Fn(Option<&(String, u64, u64)>) -> bool) {
    let start = Instant::now();
    loop {
        let rooms = rooms_of(d);
        if want(rooms.iter().find(|r| r.0 == name)) {
            return;
        }
        assert!(start.elapsed() < DEADLINE, "{name} on {}: {rooms:?}", d.url);
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[tokio::test]
async fn a_rooms_members_on_two_nodes_see_one_order_and_no_one_else_sees_it() {
    let nats = Nats::start();
    let a = node(&nats, "a");
    let b = node(&nats, "b");
    let mut ace = join(&a, "ace").await;
    let mut bob = join(&b, "bob").await;
    // carol, on bob's node, is in the default room only.
    let mut carol = join(&b, "carol").await;
    assert_eq!(ace.welcome.default_room, Some(room("#lobby")));
    ace.join_room("#ops", None).await;
    let joined = bob.join_room("#OPS", None).await;
    assert_eq!(joined.room, room("#ops"));
    // ace is told of bob's join into #ops (from bob's node), with the
    // room's own count.
    ace.recv_until("bob's join into #ops", |e| match e {
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
    ace.wait_users(Some("#ops"), &["ace", "bob"]).await;
    bob.wait_users(Some("#ops"), &["ace", "bob"]).await;
    // Both say at once; both see the same 20, in one order.
    let per = 10;
    let sends = [&mut ace, &mut bob].into_iter().map(|c| async move {
        let me = c.welcome.name.clone();
        for k in 0..per {
            c.send(&say("#ops", &format!("{me}:{k}"))).await;
        }
        messages(c, 2 * per).await
    });
    let seen = futures_util::future::join_all(sends).await;
    assert_eq!(seen[0], seen[1], "ace and bob saw another order");
    assert!(seen[0].iter().all(|(r, _, _)| *r == Some(room("#ops"))));
    let ids: Vec<u64> = seen[0].iter().map(|m| m.1).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids rise: {ids:?}");
    // carol gets none of it: the next message she sees is the lobby's.
    let lobby = carol.say_in(None, "only the lobby").await;
    assert!(lobby > ids[0]);
    // She is not in #ops, and lists it with its two members (one each on
    // two nodes).
    carol.send(&ClientEvent::Rooms).await;
    let listed = carol
        .recv_until("the rooms", |e| match e {
            ServerEvent::Rooms { rooms } => Some(rooms.clone()),
            ServerEvent::Message(m) => panic!("carol received {m:?}"),
            _ => None,
        })
        .await;
    let ops = listed
        .iter()
        .find(|r| r.room == room("#ops"))
        .expect("#ops");
    assert_eq!(ops.online, 2);
    let (code, _, _) = carol.refused(&say("#ops", "let me in")).await;
    assert_eq!(code, ErrorCode::NotInRoom);
    // The admin's notice to #ops on a reaches its members on b too.
    let (code, out, err) = a.chatctl(&["say", "--room", "#ops", "builds are green"]);
    assert_eq!(code, 0, "{out}{err}");
    bob.recv_until("the notice to #ops", |e| match e {
        ServerEvent::Notice {
            room: Some(r),
            text,
            ..
        } if r.as_str() == "#ops" => {
            assert_eq!(text, "builds are green");
            Some(())
        }
        _ => None,
    })
    .await;
    // bob parts: ace is told, with the room's count.
    bob.send(&ClientEvent::PartRoom {
        room: "#ops".into(),
    })
    .await;
    ace.recv_until("bob's leave of #ops", |e| match e {
        ServerEvent::Leave {
            room: Some(r),
            name,
            online,
            ..
        } if name == "bob" && r.as_str() == "#ops" => {
            assert_eq!(*online, 1);
            Some(())
        }
        _ => None,
    })
    .await;
}

#[tokio::test]
async fn a_node_reads_a_rooms_messages_only_while_one_of_its_users_is_in_it() {
    let nats = Nats::start();
    let a = node(&nats, "a");
    let b = node(&nats, "b");
    let mut ace = join(&a, "ace").await;
    let mut bob = join(&b, "bob").await;
    ace.join_room("#ops", None).await;
    for i in 0..5 {
        ace.say_in(Some("#ops"), &format!("before {i}")).await;
    }
    // b knows the room (its settings are shared) and that ace is in it,
    // but keeps none of its messages: no one there is in it.
    wait_room(&b, "#ops", |r| r.is_some_and(|r| r.1 == 1));
    wait_room(&a, "#ops", |r| r.is_some_and(|r| r.2 == 5));
    assert_eq!(rooms_of(&b).iter().find(|r| r.0 == "#ops").unwrap().2, 0);
    // bob joins: b reads the room's history then, and follows it.
    let joined = bob.join_room("#ops", None).await;
    let texts: Vec<&str> = joined.history.iter().map(|m| m.text.as_str()).collect();
    assert_eq!(
        texts,
        ["before 0", "before 1", "before 2", "before 3", "before 4"]
    );
    let id = ace.say_in(Some("#ops"), "while bob is in").await;
    let got = messages(&mut bob, 1).await;
    assert_eq!(got, [(Some(room("#ops")), id, "while bob is in".into())]);
    wait_room(&b, "#ops", |r| r.is_some_and(|r| r.2 == 6));
    // bob parts: b rests the room again, and keeps what it had.
    bob.send(&ClientEvent::PartRoom {
        room: "#ops".into(),
    })
    .await;
    wait_room(&a, "#ops", |r| r.is_some_and(|r| r.1 == 1));
    for i in 0..3 {
        ace.say_in(Some("#ops"), &format!("after {i}")).await;
    }
    wait_room(&a, "#ops", |r| r.is_some_and(|r| r.2 == 9));
    // A message in the default room goes everywhere: once bob has it, b
    // has read what came before it, and it read none of #ops's.
    ace.say_in(None, "lobby").await;
    bob.recv_until("the lobby's message", |e| match e {
        ServerEvent::Message(m) if m.room.is_some() => panic!("bob received {m:?}"),
        ServerEvent::Message(m) if m.text == "lobby" => Some(()),
        _ => None,
    })
    .await;
    assert_eq!(rooms_of(&b).iter().find(|r| r.0 == "#ops").unwrap().2, 6);
    // Back in: what was said meanwhile is there, after what it kept.
    let joined = bob.join_room("#ops", Some(id)).await;
    let texts: Vec<&str> = joined.history.iter().map(|m| m.text.as_str()).collect();
    assert_eq!(texts, ["after 0", "after 1", "after 2"]);
    assert!(!joined.gap, "nothing missed after {id}");
}

#[tokio::test]
async fn rooms_topics_and_invitations_are_the_same_on_every_node() {
    let nats = Nats::start();
    let a = node(&nats, "a");
    let b = node(&nats, "b");
    let mut carol = join(&b, "carol").await;
    let (code, out, err) = a.chatctl(&["rooms", "add", "#secret", "--private", "--topic", "plans"]);
    assert_eq!(code, 0, "{out}{err}");
    // On b the room is there, and private: not listed, not joinable.
    wait_room(&b, "#secret", |r| r.is_some());
    carol.send(&ClientEvent::Rooms).await;
    let listed = carol
        .recv_until("the rooms", |e| match e {
            ServerEvent::Rooms { rooms } => Some(rooms.clone()),
            _ => None,
        })
        .await;
    assert!(
        listed.iter().all(|r| r.room != room("#secret")),
        "{listed:?}"
    );
    let join_secret = ClientEvent::JoinRoom {
        room: "#secret".into(),
        after: None,
    };
    let (code, _, _) = carol.refused(&join_secret).await;
    assert_eq!(code, ErrorCode::NoSuchRoom);
    // Invited on a: carol, on b, is told and may join.
    let (code, out, err) = a.chatctl(&["rooms", "invite", "#secret", "carol"]);
    assert_eq!(code, 0, "{out}{err}");
    carol
        .recv_until("carol's invitation", |e| match e {
            ServerEvent::Moderation {
                room: Some(r),
                target,
                ..
            } if r.as_str() == "#secret" => {
                assert_eq!(target, "carol");
                Some(())
            }
            _ => None,
        })
        .await;
    let joined = carol.join_room("#secret", None).await;
    assert_eq!(joined.topic.as_deref(), Some("plans"));
    assert!(joined.private);
    // Something said, for the removal to take away.
    carol.send(&say("#secret", "friday's plans")).await;
    assert_eq!(messages(&mut carol, 1).await[0].2, "friday's plans");
    // A topic set on a reaches carol on b.
    let (code, out, err) = a.chatctl(&["rooms", "topic", "#secret", "new plans"]);
    assert_eq!(code, 0, "{out}{err}");
    carol
        .recv_until("the new topic", |e| match e {
            ServerEvent::Topic { room: r, text, .. } if r.as_str() == "#secret" => {
                assert_eq!(text, "new plans");
                Some(())
            }
            _ => None,
        })
        .await;
    wait_room(&a, "#secret", |r| r.is_some_and(|r| r.1 == 1));
    // Removed on a: carol, on b, is parted, and the room is gone on both.
    let (code, out, err) = a.chatctl(&["rooms", "remove", "#secret"]);
    assert_eq!(code, 0, "{out}{err}");
    carol
        .recv_until("the room's removal", |e| match e {
            ServerEvent::RoomParted { room: r, reason } if r.as_str() == "#secret" => {
                assert!(reason.is_some());
                Some(())
            }
            _ => None,
        })
        .await;
    wait_room(&b, "#secret", |r| r.is_none());
    wait_room(&a, "#secret", |r| r.is_none());
    // And made again, by joining, it starts empty: its history went too,
    // on both nodes (b reads the room's log anew for its first member).
    let mut ace = join(&a, "ace").await;
    let joined = ace.join_room("#secret", None).await;
    assert!(joined.history.is_empty(), "{:?}", joined.history);
    assert!(!joined.private);
    let joined = carol.join_room("#secret", None).await;
    assert!(joined.history.is_empty(), "{:?}", joined.history);
}

#[tokio::test]
async fn a_nodes_death_loses_nothing_accepted_in_a_room() {
    let nats = Nats::start();
    let mut a = node(&nats, "a");
    let b = node(&nats, "b");
    let mut ace = join(&a, "ace").await;
    let mut bob = join(&b, "bob").await;
    ace.join_room("#ops", None).await;
    bob.join_room("#ops", None).await;
    ace.wait_users(Some("#ops"), &["ace", "bob"]).await;
    // ace sends 30 and a is killed once ace has the echoes of some of
    // them: every echoed one was accepted and must survive.
    for k in 0..30 {
        ace.send(&say("#ops", &format!("m{k}"))).await;
    }
    let echoed = messages(&mut ace, 10).await;
    a.signal(libc::SIGKILL);
    let _ = a.wait_exit();
    // bob has each of them, in order.
    let mut seen = Vec::new();
    bob.recv_until("the echoed messages", |e| {
        if let ServerEvent::Message(m) = e {
            seen.push((m.room.clone(), m.id, m.text.clone()));
        }
        seen.ends_with(&echoed[echoed.len() - 1..]).then_some(())
    })
    .await;
    for m in &echoed {
        assert!(seen.contains(m), "bob misses {m:?}");
    }
    // ace comes back on b and resumes #ops: nothing accepted is missing.
    let mut again = join(&b, "ace2").await;
    let first = echoed[0].1;
    let joined = again.join_room("#ops", Some(first - 1)).await;
    let history: Vec<(Option<RoomName>, u64, String)> = joined
        .history
        .iter()
        .map(|m| (m.room.clone(), m.id, m.text.clone()))
        .collect();
    for m in &echoed {
        assert!(history.contains(m), "the resume misses {m:?}: {history:?}");
    }
    // bob sees ace leave #ops when a's claims lapse.
    bob.recv_until("ace's leave of #ops", |e| match e {
        ServerEvent::Leave {
            room: Some(r),
            name,
            ..
        } if name == "ace" && r.as_str() == "#ops" => Some(()),
        _ => None,
    })
    .await;
}

#[tokio::test]
async fn with_no_history_kept_a_joiner_on_another_node_gets_nothing_old_as_new() {
    let nats = Nats::start();
    let quiet = |name: &str| {
        Daemon::builder()
            .config(&format!("{CONFIG}history = 0\n"))
            .cluster(&nats.url(), name)
            .start()
    };
    let a = quiet("a");
    let b = quiet("b");
    let mut ace = join(&a, "ace").await;
    let mut bob = join(&b, "bob").await;
    ace.join_room("#ops", None).await;
    for i in 0..3 {
        ace.say_in(Some("#ops"), &format!("old {i}")).await;
    }
    let joined = bob.join_room("#ops", None).await;
    assert!(joined.history.is_empty());
    let id = ace.say_in(Some("#ops"), "new").await;
    let got = messages(&mut bob, 1).await;
    assert_eq!(got, [(Some(room("#ops")), id, "new".into())]);
}
