//! Rooms across nodes against another program that writes to the
//! cluster's NATS: forged name claims that list rooms, and a forged entry
//! on a room's subject. What it writes is held to the nodes' own rules.

use async_nats::jetstream::{self, kv};
use chat_protocol::{ClientEvent, RoomName, ServerEvent};
use futures_util::StreamExt;
use testkit::{Daemon, Nats};

use super::{join, node_with, room, rooms_of, wait_room};

/// Claims live 30 s (forged ones stay listed for the whole test); at
/// most 5 rooms, the default one included.
const CONFIG: &str = "limit_exempt = [\"127.0.0.0/8\"]\n\
                      cluster_claim_ttl = \"30s\"\n\
                      max_rooms = 5\n\
                      rate_burst = 1000\n\
                      rate_per_second = 1000\n";

/// The test's own view of the cluster's bucket `name`.
async fn bucket(nats: &Nats, name: &str) -> kv::Store {
    jetstream::new(nats.client().await)
        .get_key_value(name)
        .await
        .expect("the bucket")
}

/// Writes a claim of `name`, on a node "x" that does not exist, in
/// `rooms`, as another program could.
async fn forge_claim(names: &kv::Store, name: &str, rooms: &[String]) {
    let claim = serde_json::json!({"node": "x", "name": name, "rooms": rooms});
    names
        .put(name, claim.to_string().into())
        .await
        .expect("a forged claim");
}

/// Forges claims of `name`, in `rooms`, and then of `marker`, in none,
/// and waits until `d` lists `online` users in its default room: the
/// watch applies claims in order, so `name`'s is applied in full then.
async fn forge_and_wait(
    d: &Daemon,
    names: &kv::Store,
    name: &str,
    rooms: &[String],
    marker: &str,
    online: u64,
) {
    forge_claim(names, name, rooms).await;
    forge_claim(names, marker, &[]).await;
    wait_room(d, "#lobby", |r| r.is_some_and(|r| r.1 == online));
}

#[tokio::test]
async fn rooms_named_only_by_a_claim_are_not_written_to_the_rooms_bucket() {
    let nats = Nats::start();
    let a = node_with(&nats, "a", CONFIG);
    let names = bucket(&nats, "chat_names").await;
    forge_and_wait(&a, &names, "mallory", &["#ghost".into()], "mallet", 2).await;
    // a lists mallory in #ghost, which no node made.
    wait_room(&a, "#ghost", |r| r.is_some_and(|r| r.1 == 1));
    // A room made on a writes the rooms' settings: #real's, not #ghost's
    // (a claim that named a room before its settings came must not write
    // settings over the ones its node is writing).
    let (code, out, err) = a.chatctl(&["rooms", "add", "#real"]);
    assert_eq!(code, 0, "{out}{err}");
    let rooms = bucket(&nats, "chat_rooms").await;
    let keys: Vec<String> = rooms
        .keys()
        .await
        .expect("the rooms' keys")
        .map(|k| k.expect("a key"))
        .collect()
        .await;
    assert_eq!(keys, [room("#real").to_hex()]);
}

#[tokio::test]
async fn a_forged_claim_makes_no_more_rooms_than_max_rooms() {
    let nats = Nats::start();
    let a = node_with(&nats, "a", CONFIG);
    let names = bucket(&nats, "chat_names").await;
    let many: Vec<String> = (0..10_000).map(|i| format!("#f{i:05}")).collect();
    forge_and_wait(&a, &names, "mallory", &many, "mallet", 2).await;
    let rooms = rooms_of(&a);
    assert!(
        rooms.len() <= 5,
        "{} rooms: {:?}",
        rooms.len(),
        rooms.iter().take(8).collect::<Vec<_>>()
    );
    // A claim whose rooms break the rules is ignored as a whole.
    forge_and_wait(&a, &names, "trudy", &["ops".into()], "trent", 3).await;
    assert!(!rooms_of(&a).iter().any(|r| r.0.contains("ops")));
}

#[tokio::test]
async fn an_entry_on_a_rooms_subject_is_that_rooms_whatever_it_says() {
    let nats = Nats::start();
    let a = node_with(&nats, "a", CONFIG);
    let b = node_with(&nats, "b", CONFIG);
    let mut ace = join(&a, "ace").await;
    let mut bob = join(&b, "bob").await;
    let mut carol = join(&b, "carol").await;
    ace.join_room("#ops", None).await;
    bob.join_room("#ops", None).await;
    ace.say_in(Some("#ops"), "genuine").await;
    // Another program copies that entry on #ops's subject, saying it is
    // the default room's.
    let ops = room("#ops");
    let subject = format!("chat.log.{}", ops.to_hex());
    let js = jetstream::new(nats.client().await);
    let last = js
        .get_stream("CHAT_LOG")
        .await
        .expect("the log's stream")
        .get_last_raw_message_by_subject(&subject)
        .await
        .expect("#ops's last entry");
    let mut forged: serde_json::Value = serde_json::from_slice(&last.payload).unwrap();
    forged["room"] = "#lobby".into();
    forged["text"] = "forged".into();
    js.publish(subject, forged.to_string().into())
        .await
        .unwrap()
        .await
        .expect("stored");
    // bob, in #ops, sees it as #ops's; carol, in the default room only,
    // never sees it.
    bob.recv_until("the forged entry", |e| match e {
        ServerEvent::Message(m) if m.text == "forged" => {
            assert_eq!(m.room, Some(ops.clone()));
            Some(())
        }
        _ => None,
    })
    .await;
    ace.say_in(None, "marker").await;
    carol
        .recv_until("the marker", |e| match e {
            ServerEvent::Message(m) if m.text == "forged" => panic!("carol saw {m:?}"),
            ServerEvent::Message(m) if m.text == "marker" => Some(()),
            _ => None,
        })
        .await;
    // A rejoin reads it from the stream as #ops's too.
    bob.send(&ClientEvent::PartRoom {
        room: "#ops".into(),
    })
    .await;
    wait_room(&b, "#ops", |r| r.is_some_and(|r| r.1 == 1));
    let joined = bob.join_room("#ops", None).await;
    let forged = joined.history.iter().find(|m| m.text == "forged");
    assert_eq!(
        forged.map(|m| m.room.clone()),
        Some(Some(RoomName::parse("#ops").unwrap()))
    );
}

#[tokio::test]
async fn forged_rooms_settings_that_break_the_rules_are_ignored() {
    let nats = Nats::start();
    let a = node_with(&nats, "a", CONFIG);
    let rooms = bucket(&nats, "chat_rooms").await;
    let huge = serde_json::json!({"topic": "x".repeat(300 * 1024)});
    let bell = serde_json::json!({"topic": "a\u{7}bell"});
    let bad_name =
        serde_json::json!({"private": true, "invited": {"a b": {"name": "a b", "ts": 1}}});
    for (key, value) in [
        (room("#huge").to_hex(), huge.to_string()),
        (room("#bell").to_hex(), bell.to_string()),
        (room("#names").to_hex(), bad_name.to_string()),
        ("not-hex".to_string(), "{}".to_string()),
        (room("#junk").to_hex(), "{not json".to_string()),
        // Last: what follows the rules is put in force.
        (room("#fine").to_hex(), r#"{"topic":"fine"}"#.to_string()),
    ] {
        rooms.put(key, value.into()).await.expect("a forged value");
    }
    wait_room(&a, "#fine", |r| r.is_some());
    let listed: Vec<String> = rooms_of(&a).into_iter().map(|r| r.0).collect();
    assert_eq!(listed, ["#lobby", "#fine"]);
    assert!(
        a.log()
            .contains("ignored a room's settings that break the rules")
    );
}

#[tokio::test]
async fn a_claim_of_a_name_held_here_leaves_no_one_behind_in_a_room() {
    let nats = Nats::start();
    // a's own claims are renewed every 30 s: not while the test runs.
    let a = node_with(&nats, "a", &CONFIG.replace("30s", "120s"));
    let names = bucket(&nats, "chat_names").await;
    // ace is on a, in the default room only; bob is in #ops.
    let _ace = join(&a, "ace").await;
    let mut bob = join(&a, "bob").await;
    bob.join_room("#ops", None).await;
    // A claim of ace on another node, in #ops (forged here; a node that
    // took the name while a's claim had lapsed writes the same), then
    // its release.
    forge_claim(&names, "ace", &["#ops".into()]).await;
    names.delete("ace").await.expect("the claim's release");
    forge_claim(&names, "mallet", &["#ops".into()]).await;
    // Once mallet's claim is applied, ace's release was: the other ace,
    // never listed in #ops while the ace here held the name, is not there.
    bob.wait_users(Some("#ops"), &["bob", "mallet"]).await;
}

#[tokio::test]
async fn a_user_of_another_node_who_took_a_name_held_here_comes_into_its_rooms() {
    let nats = Nats::start();
    let a = node_with(&nats, "a", CONFIG);
    let names = bucket(&nats, "chat_names").await;
    let mut ace = join(&a, "ace").await;
    let mut bob = join(&a, "bob").await;
    ace.join_room("#ops", None).await;
    bob.join_room("#ops", None).await;
    // ace's name is claimed on another node, in #ops (as a node does that
    // took it while a's claim had lapsed); the ace here still holds it.
    forge_claim(&names, "ace", &["#ops".into()]).await;
    forge_and_wait(&a, &names, "mallet", &[], "trent", 4).await;
    // Once the ace here has gone, the other node's ace is in #ops here.
    ace.leave().await;
    bob.recv_until("the ace here leaving #ops", |e| match e {
        ServerEvent::Leave {
            room: Some(r),
            name,
            ..
        } if name == "ace" && r.as_str() == "#ops" => Some(()),
        _ => None,
    })
    .await;
    bob.recv_until("the other ace's join of #ops", |e| match e {
        ServerEvent::Join {
            room: Some(r),
            name,
            ..
        } if name == "ace" && r.as_str() == "#ops" => Some(()),
        _ => None,
    })
    .await;
    bob.wait_users(Some("#ops"), &["ace", "bob"]).await;
}
