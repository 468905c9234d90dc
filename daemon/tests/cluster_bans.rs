//! Bans in a cluster, through two real chatd nodes and a real
//! nats-server: a ban made on node 1 ends the session it matches on node
//! 2, within a generous deadline (the time it took is printed: a figure
//! for docs/cluster.md, never asserted), tells node 2's room once, and
//! refuses the rejoin there; the bans are listed on either node, and a
//! lift on node 2 lets the name in on node 1.

use std::time::Instant;

use chat_protocol::{ByeCode, ModerationAction, RejectCode, ServerEvent};
use testkit::{Daemon, Nats, Outcome, RawClient};

fn node(nats: &Nats, name: &str) -> Daemon {
    Daemon::builder().cluster(&nats.url(), name).start()
}

async fn join(d: &Daemon, name: &str) -> Outcome {
    RawClient::join(&d.url, &d.read_key(), name, "").await
}

#[tokio::test]
async fn a_ban_on_one_node_ends_the_session_on_another() {
    let nats = Nats::start();
    let one = node(&nats, "n1");
    let two = node(&nats, "n2");
    let mut watcher = join(&two, "watcher").await.joined();
    // From an address of its own: the ban takes it in (bob is not
    // registered), and the others' must not be.
    let ws = testkit::connect_from(&two.url, "127.0.0.40".parse().unwrap()).await;
    let mut bob = RawClient::join_on(ws, &two.read_key(), "bob", "")
        .await
        .joined();

    let start = Instant::now();
    let answer = one.chatctl_json(&["ban", "bob", "--reason", "spam"]);
    assert_eq!(answer["ban"]["target"], "bob");
    let (events, (close, _)) = bob.recv_to_close().await;
    let took = start.elapsed();
    eprintln!("figure: a ban on node 1 ended the session on node 2 in {took:?}");
    assert_eq!(close, 1000);
    assert!(
        events.iter().any(|e| matches!(e, ServerEvent::Bye { code: ByeCode::Banned, reason, .. } if reason == "spam")),
        "{events:?}\n{}",
        two.log()
    );
    watcher
        .recv_until("the moderation event on node 2", |e| match e {
            ServerEvent::Moderation {
                action: ModerationAction::Ban,
                target,
                ..
            } if target == "bob" => Some(()),
            _ => None,
        })
        .await;
    let left = watcher
        .recv_until("bob's leave", |e| match e {
            ServerEvent::Leave { name, reason, .. } if name == "bob" => Some(reason.clone()),
            _ => None,
        })
        .await;
    assert_eq!(left, "banned: spam");
    for d in [&one, &two] {
        assert!(matches!(
            join(d, "bob").await,
            Outcome::Rejected(RejectCode::Banned, _)
        ));
        let listed = d.chatctl_json(&["bans"]);
        assert_eq!(listed["bans"][0]["target"], "bob", "{listed}");
    }

    // Lifted on node 2: bob joins node 1, and node 1's room was told.
    let mut other = join(&one, "carol").await.joined();
    two.chatctl_json(&["unban", "bob"]);
    other
        .recv_until("the unban on node 1", |e| match e {
            ServerEvent::Moderation {
                action: ModerationAction::Unban,
                target,
                ..
            } if target == "bob" => Some(()),
            _ => None,
        })
        .await;
    join(&one, "bob").await.joined();
}
