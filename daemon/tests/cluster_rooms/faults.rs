//! Rooms across nodes under NATS trouble and node restarts: a user's
//! rooms reach the other nodes once NATS answers again, a node restarted
//! finds its rooms and the other nodes' members in them again, and a room
//! whose members are all on another node is not expired.

use chat_protocol::{ClientEvent, ServerEvent};
use testkit::{Daemon, Nats, RawClient};

use super::{CONFIG, join, node, node_with, room_json, rooms_of, wait_room};

/// Claims live 8 s (renewed every 2 s): NATS may stop answering for a few
/// seconds without any claim lapsing.
const SLOW_CLAIMS: &str = "limit_exempt = [\"127.0.0.0/8\"]\n\
                           cluster_claim_ttl = \"8s\"\n\
                           rate_burst = 1000\n\
                           rate_per_second = 1000\n";

/// Nodes a and b with claims that outlive a short NATS outage; ace and
/// bob in #ops on a and b, carl on a in the default room only.
async fn ops_on_two_nodes(nats: &Nats) -> (Daemon, Daemon, RawClient, RawClient, RawClient) {
    let a = node_with(nats, "a", SLOW_CLAIMS);
    let b = node_with(nats, "b", SLOW_CLAIMS);
    let mut ace = join(&a, "ace").await;
    let carl = join(&a, "carl").await;
    let mut bob = join(&b, "bob").await;
    ace.join_room("#ops", None).await;
    bob.join_room("#ops", None).await;
    bob.wait_users(Some("#ops"), &["ace", "bob"]).await;
    (a, b, ace, carl, bob)
}

#[tokio::test]
async fn a_users_rooms_reach_the_other_nodes_after_nats_did_not_answer() {
    let nats = Nats::start();
    let (a, _b, mut ace, mut carl, mut bob) = ops_on_two_nodes(&nats).await;
    // NATS answers nothing: carl's join into #ops is answered (a follows
    // the room already, for ace), but his claim cannot say so in time.
    nats.freeze();
    carl.join_room("#ops", None).await;
    a.wait_for_log("the rooms of a user were not shared in time");
    nats.thaw();
    // Once NATS answers, b lists carl in #ops, and his later part too;
    // his session goes on (his claim is still his).
    bob.wait_users(Some("#ops"), &["ace", "bob", "carl"]).await;
    carl.send(&ClientEvent::PartRoom {
        room: "#ops".into(),
    })
    .await;
    bob.wait_users(Some("#ops"), &["ace", "bob"]).await;
    carl.say_in(None, "still here").await;
    ace.say_in(Some("#ops"), "and ace too").await;
    assert!(
        !a.log().contains("name lost"),
        "a user lost its name:\n{}",
        a.log()
    );
}

#[tokio::test]
async fn a_users_rooms_reach_the_other_nodes_after_nats_came_back() {
    let mut nats = Nats::start();
    let (a, _b, _ace, mut carl, mut bob) = ops_on_two_nodes(&nats).await;
    // NATS goes away: carl's join into #ops is answered (a follows the
    // room already), but his claim cannot say so.
    nats.kill();
    carl.join_room("#ops", None).await;
    a.wait_for_log("the rooms of a user were not shared");
    nats.restart();
    // Once a is back, b lists carl in #ops.
    bob.wait_users(Some("#ops"), &["ace", "bob", "carl"]).await;
    carl.say_in(Some("#ops"), "back").await;
}

/// Whether `d` lists `room`.
fn has_room(d: &Daemon, room: &str) -> bool {
    rooms_of(d).iter().any(|r| r.0 == room)
}

#[tokio::test]
async fn a_room_whose_members_are_all_on_another_node_does_not_expire() {
    let config = format!("{SLOW_CLAIMS}room_idle_expiry = \"1s\"\n");
    let nats = Nats::start();
    let a = node_with(&nats, "a", &config);
    let b = node_with(&nats, "b", &config);
    let mut ace = join(&a, "ace").await;
    let mut bob = join(&b, "bob").await;
    // ace makes #x and #clock on a; bob joins #x on b; ace leaves both.
    ace.join_room("#x", None).await;
    ace.join_room("#clock", None).await;
    bob.join_room("#x", None).await;
    ace.wait_users(Some("#x"), &["ace", "bob"]).await;
    for room in ["#x", "#clock"] {
        ace.send(&ClientEvent::PartRoom { room: room.into() }).await;
    }
    // #clock, empty everywhere, expires: a's expiry ran past the bound
    // since ace left #x as well; #x, with bob in it on b, stays on both.
    wait_room(&a, "#clock", |r| r.is_none());
    wait_room(&b, "#clock", |r| r.is_none());
    assert!(has_room(&a, "#x") && has_room(&b, "#x"));
    wait_room(&a, "#x", |r| r.is_some_and(|r| r.1 == 1));
    bob.say_in(Some("#x"), "still here").await;
}

#[tokio::test]
async fn a_node_restarted_while_its_users_are_in_rooms_finds_them_again() {
    let nats = Nats::start();
    let mut a = node(&nats, "a");
    let b = node(&nats, "b");
    let mut ace = join(&a, "ace").await;
    let mut bob = join(&b, "bob").await;
    ace.join_room("#ops", None).await;
    bob.join_room("#ops", None).await;
    let (code, out, err) = a.chatctl(&["rooms", "topic", "#ops", "deploys"]);
    assert_eq!(code, 0, "{out}{err}");
    let before = ace.say_in(Some("#ops"), "before the restart").await;
    bob.wait_users(Some("#ops"), &["ace", "bob"]).await;
    // a stops: bob sees ace leave #ops too.
    assert!(a.terminate().success());
    bob.recv_until("ace's leave of #ops", |e| match e {
        ServerEvent::Leave {
            room: Some(r),
            name,
            ..
        } if name == "ace" && r.as_str() == "#ops" => Some(()),
        _ => None,
    })
    .await;
    // a again: #ops, made by joining it, is there with its topic and bob.
    let a = Daemon::builder()
        .config(CONFIG)
        .cluster(&nats.url(), "a")
        .same_dirs_as(&a)
        .start();
    wait_room(&a, "#ops", |r| r.is_some_and(|r| r.1 == 1));
    assert_eq!(room_json(&a, "#ops")["topic"], "deploys");
    // ace comes back and resumes #ops; both lists have both again.
    let mut ace = join(&a, "ace").await;
    let joined = ace.join_room("#ops", Some(before - 1)).await;
    let texts: Vec<&str> = joined.history.iter().map(|m| m.text.as_str()).collect();
    assert_eq!(texts, ["before the restart"]);
    assert_eq!(joined.users, ["ace", "bob"]);
    bob.wait_users(Some("#ops"), &["ace", "bob"]).await;
    let id = bob.say_in(Some("#ops"), "welcome back").await;
    assert!(id > before);
    ace.recv_until("bob's line", |e| match e {
        ServerEvent::Message(m) if m.text == "welcome back" => Some(()),
        _ => None,
    })
    .await;
}
