//! The cluster's plumbing against a real nats-server (JetStream): the
//! room's log, name claims and the shared state, seen from two nodes; and
//! the same on a three-server NATS cluster that loses one server.

use std::time::Duration;

use bytes::Bytes;
use chatd::cluster::names::ClaimError;
use chatd::cluster::{Cluster, Settings};
use futures_util::StreamExt;
use testkit::{DEADLINE, Nats, NatsCluster};

fn settings(nats: &Nats, node: &str) -> Settings {
    Settings {
        urls: vec![nats.url()],
        ..settings_for(node)
    }
}

/// A node's settings with no server yet, one replica.
fn settings_for(node: &str) -> Settings {
    Settings {
        urls: Vec::new(),
        credentials: None,
        node_name: node.to_string(),
        room: "test".to_string(),
        claim_ttl: Duration::from_secs(2),
        history: 100,
        history_max_age: Duration::ZERO,
        replicas: 1,
    }
}

/// A join's deadline for a claim: what a join gives NATS to decide.
fn soon() -> tokio::time::Instant {
    tokio::time::Instant::now() + Duration::from_secs(5)
}

async fn node(nats: &Nats, name: &str) -> Cluster {
    tokio::time::timeout(DEADLINE, Cluster::connect(settings(nats, name)))
        .await
        .expect("connect within the deadline")
        .unwrap_or_else(|e| panic!("connect {name}: {e}\n{}", nats.log()))
}

async fn next_ids(
    stream: &mut (impl futures_util::Stream<Item = chatd::cluster::log::Entry> + Unpin),
    n: usize,
) -> Vec<(u64, Bytes)> {
    let mut got = Vec::new();
    while got.len() < n {
        let entry = tokio::time::timeout(DEADLINE, stream.next())
            .await
            .expect("an entry within the deadline")
            .expect("the stream goes on");
        got.push((entry.id, entry.payload));
    }
    got
}

#[tokio::test]
async fn two_nodes_append_and_both_follow_one_order() {
    let nats = Nats::start();
    let a = node(&nats, "a").await;
    let b = node(&nats, "b").await;
    let mut follow_a = Box::pin(a.follow(0));
    let mut follow_b = Box::pin(b.follow(0));
    let mut ids = Vec::new();
    for i in 0..10 {
        let (from, text) = if i % 2 == 0 { (&a, "a") } else { (&b, "b") };
        ids.push(
            from.append(Bytes::from(format!("{text}{i}")))
                .await
                .unwrap(),
        );
    }
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids increase: {ids:?}");
    let seen_a = next_ids(&mut follow_a, 10).await;
    let seen_b = next_ids(&mut follow_b, 10).await;
    assert_eq!(seen_a, seen_b, "both nodes see one order");
    assert_eq!(seen_a.iter().map(|e| e.0).collect::<Vec<_>>(), ids);
    assert_eq!(a.last_id().await.unwrap(), *ids.last().unwrap());
}

#[tokio::test]
async fn after_returns_exactly_what_was_missed_and_flags_a_gap() {
    let nats = Nats::start();
    let a = node(&nats, "a").await;
    let mut ids = Vec::new();
    for i in 0..8 {
        ids.push(a.append(Bytes::from(format!("m{i}"))).await.unwrap());
    }
    let after = a.after(ids[4], 100).await.unwrap();
    assert!(!after.gap);
    assert_eq!(
        after.entries.iter().map(|e| e.id).collect::<Vec<_>>(),
        ids[5..].to_vec()
    );
    assert_eq!(after.entries[0].payload, Bytes::from("m5"));
    // Nothing after the newest.
    let none = a.after(ids[7], 100).await.unwrap();
    assert!(none.entries.is_empty() && !none.gap);
    // A limit keeps the newest and says some were left out.
    let limited = a.after(0, 3).await.unwrap();
    assert!(limited.gap);
    assert_eq!(
        limited.entries.iter().map(|e| e.id).collect::<Vec<_>>(),
        ids[5..].to_vec()
    );
}

#[tokio::test]
async fn the_log_keeps_history_entries_and_says_when_older_ones_are_gone() {
    let nats = Nats::start();
    let mut s = settings(&nats, "a");
    s.history_max_age = Duration::from_secs(3);
    let a = Cluster::connect(s).await.unwrap();
    let payloads = |after: &chatd::cluster::log::After| {
        after
            .entries
            .iter()
            .map(|e| e.payload.clone())
            .collect::<Vec<_>>()
    };
    for i in 0..3 {
        a.append(Bytes::from(format!("m{i}"))).await.unwrap();
    }
    // At most `limit` entries: the newest, with a gap before them.
    let newest = a.after(0, 2).await.unwrap();
    assert!(newest.gap, "m0 left out by the limit");
    assert_eq!(payloads(&newest), [Bytes::from("m1"), Bytes::from("m2")]);
    // Past history_max_age the stream drops them.
    let start = tokio::time::Instant::now();
    while !a.after(0, 100).await.unwrap().entries.is_empty() {
        assert!(start.elapsed() < DEADLINE, "the entries never aged out");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for i in 3..6 {
        a.append(Bytes::from(format!("m{i}"))).await.unwrap();
    }
    let after = a.after(0, 100).await.unwrap();
    assert!(after.gap, "the first three aged out");
    assert_eq!(
        payloads(&after),
        [Bytes::from("m3"), Bytes::from("m4"), Bytes::from("m5")]
    );
}

#[tokio::test]
async fn one_name_claimed_at_once_on_two_nodes_goes_to_exactly_one() {
    let nats = Nats::start();
    let a = node(&nats, "a").await.names().await.unwrap();
    let b = node(&nats, "b").await.names().await.unwrap();
    for round in 0..20 {
        let name = format!("Name.{round}");
        let lower = name.to_lowercase();
        let (ra, rb) = tokio::join!(a.claim(&name, None, soon()), b.claim(&lower, None, soon()));
        let wins = [&ra, &rb].iter().filter(|r| r.is_ok()).count();
        assert_eq!(wins, 1, "round {round}: {ra:?} {rb:?}");
        for r in [ra, rb] {
            assert!(matches!(r, Ok(()) | Err(ClaimError::Taken)), "{r:?}");
        }
    }
    assert_eq!(a.held() + b.held(), 20);
    // Released, a name is free for the other node.
    let name = "Name.0";
    let (winner, loser) = if a.holder(name).await.unwrap().as_deref() == Some("a") {
        (&a, &b)
    } else {
        (&b, &a)
    };
    assert!(matches!(
        loser.claim(name, None, soon()).await,
        Err(ClaimError::Taken)
    ));
    winner.release(name).await.unwrap();
    loser.claim(name, None, soon()).await.unwrap();
}

#[tokio::test]
async fn a_claim_lives_while_renewed_and_lapses_when_its_node_is_gone() {
    let nats = Nats::start();
    let a = node(&nats, "a").await.names().await.unwrap();
    let b = node(&nats, "b").await.names().await.unwrap();
    a.claim("alice", None, soon()).await.unwrap();
    a.claim("bob", None, soon()).await.unwrap();
    // Renewed every half second for three times the claim's lifetime: kept.
    let until = tokio::time::Instant::now() + Duration::from_secs(6);
    while tokio::time::Instant::now() < until {
        assert_eq!(a.renew().await.unwrap(), Vec::<String>::new());
        assert!(matches!(
            b.claim("alice", None, soon()).await,
            Err(ClaimError::Taken)
        ));
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // Node a stops renewing (it died): within the lifetime plus the
    // server's expiry sweep, the names come free.
    let start = tokio::time::Instant::now();
    loop {
        match b.claim("alice", None, soon()).await {
            Ok(()) => break,
            Err(ClaimError::Taken) => {
                assert!(start.elapsed() < DEADLINE, "alice never came free");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => panic!("{e}"),
        }
    }
    // Node a comes back and renews: it learns it lost alice, taken by b;
    // bob lapsed too but no one took him, so a takes him again and his
    // user stays.
    let lost = a.renew().await.unwrap();
    assert_eq!(lost, ["alice"]);
    assert_eq!(b.holder("alice").await.unwrap().as_deref(), Some("b"));
    assert_eq!(b.holder("bob").await.unwrap().as_deref(), Some("a"));
    // a's release of a name it lost does not free b's claim.
    a.release("alice").await.unwrap();
    assert_eq!(b.holder("alice").await.unwrap().as_deref(), Some("b"));
}

#[tokio::test]
async fn the_first_node_publishes_shared_state_and_the_others_adopt_it() {
    let nats = Nats::start();
    let a = node(&nats, "a").await.shared().await.unwrap();
    let b = node(&nats, "b").await.shared().await.unwrap();
    let first = a.adopt_or_publish("key", Bytes::from("K1")).await.unwrap();
    let second = b.adopt_or_publish("key", Bytes::from("K-b")).await.unwrap();
    assert_eq!(second.value, Bytes::from("K1"), "b adopts a's key");
    assert_eq!(second.revision, first.revision);
    let mut watch = Box::pin(b.watch("key").await.unwrap());
    // A rotation on a: a compare-and-set on the revision it read.
    let rev = a
        .replace("key", Bytes::from("K2"), first.revision)
        .await
        .unwrap()
        .expect("nobody changed it meanwhile");
    // b, still holding the old revision, loses the race.
    assert_eq!(
        b.replace("key", Bytes::from("K-b2"), first.revision)
            .await
            .unwrap(),
        None
    );
    // b's watch sees the change (after the current value it starts with).
    let seen = tokio::time::timeout(DEADLINE, async {
        loop {
            let v = watch.next().await.expect("watch goes on");
            if v.revision == rev {
                return v;
            }
        }
    })
    .await
    .expect("the change within the deadline");
    assert_eq!(seen.value, Bytes::from("K2"));
    assert_eq!(
        b.get("key").await.unwrap().unwrap().value,
        Bytes::from("K2")
    );
}

#[tokio::test]
async fn control_messages_reach_every_node() {
    let nats = Nats::start();
    let a = node(&nats, "a").await;
    let b = node(&nats, "b").await;
    let mut on_a = a.control().await.unwrap();
    let mut on_b = b.control().await.unwrap();
    b.publish_control(Bytes::from("kick alice")).await.unwrap();
    for sub in [&mut on_a, &mut on_b] {
        let m = tokio::time::timeout(DEADLINE, sub.next())
            .await
            .expect("within the deadline")
            .expect("a message");
        assert_eq!(m.payload, Bytes::from("kick alice"));
    }
}

#[tokio::test]
async fn a_nats_restart_loses_nothing_accepted_and_following_resumes() {
    let mut nats = Nats::start();
    let a = node(&nats, "a").await;
    let mut follow = Box::pin(a.follow(0));
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(a.append(Bytes::from(format!("m{i}"))).await.unwrap());
    }
    let before = next_ids(&mut follow, 5).await;
    nats.restart();
    // Appends fail while NATS is away or reconnecting; they succeed once it
    // is back. Retry each until it is accepted (bounded).
    for i in 5..10 {
        let start = tokio::time::Instant::now();
        loop {
            match a.append(Bytes::from(format!("m{i}"))).await {
                Ok(id) => {
                    ids.push(id);
                    break;
                }
                Err(e) => {
                    assert!(start.elapsed() < DEADLINE, "m{i} never accepted: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }
    let after = next_ids(&mut follow, 5).await;
    let all: Vec<u64> = before.iter().chain(&after).map(|e| e.0).collect();
    assert_eq!(all, ids, "every accepted message once, in order");
    assert_eq!(a.after(0, 100).await.unwrap().entries.len(), 10);
}

/// Appends `payload`, retried while NATS fails over (bounded): the id once
/// accepted.
async fn append_until_accepted(node: &Cluster, payload: String) -> u64 {
    let start = tokio::time::Instant::now();
    loop {
        match node.append(Bytes::from(payload.clone())).await {
            Ok(id) => return id,
            Err(e) => {
                assert!(start.elapsed() < DEADLINE, "{payload} never accepted: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// The node's names bucket, opened again and again while NATS fails over
/// (bounded).
async fn names_of(node: &Cluster) -> chatd::cluster::names::Names {
    let start = tokio::time::Instant::now();
    loop {
        match node.names().await {
            Ok(names) => return names,
            Err(e) => {
                assert!(
                    start.elapsed() < DEADLINE,
                    "the names bucket never opened: {e}"
                );
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
}

/// Entries until one with id `last` or later. Each may take twice the
/// deadline: after a server dies, NATS takes a while to place a new
/// consumer under load.
async fn follow_until(
    stream: &mut (impl futures_util::Stream<Item = chatd::cluster::log::Entry> + Unpin),
    last: u64,
) -> Vec<(u64, Bytes)> {
    let mut got: Vec<(u64, Bytes)> = Vec::new();
    while got.last().is_none_or(|e| e.0 < last) {
        assert!(got.len() < 10_000, "no end to the log");
        let entry = tokio::time::timeout(2 * DEADLINE, stream.next())
            .await
            .unwrap_or_else(|_| panic!("no entry after {got:?} within the deadline"))
            .expect("the stream goes on");
        got.push((entry.id, entry.payload));
    }
    got
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicated_log_and_names_survive_a_killed_nats_server() {
    let mut nats = NatsCluster::start();
    // Each node is given one server; it learns the others from it (NATS
    // tells its clients the cluster's URLs) and reconnects to one of them.
    let urls: Vec<String> = nats.urls().split(',').map(String::from).collect();
    let connect = |i: usize, name: &str| {
        let settings = Settings {
            urls: vec![urls[i].clone()],
            replicas: 3,
            ..settings_for(name)
        };
        let name = name.to_string();
        async move {
            tokio::time::timeout(DEADLINE, Cluster::connect(settings))
                .await
                .expect("connect within the deadline")
                .unwrap_or_else(|e| panic!("connect {name}: {e}"))
        }
    };
    let a = connect(0, "a").await;
    let b = connect(1, "b").await;
    let mut follow_a = Box::pin(a.follow(0));
    let mut follow_b = Box::pin(b.follow(0));

    // Both nodes append at once; server n0, a's, is killed mid-run.
    let done = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let writer = |node: Cluster, tag: &'static str| {
        let done = done.clone();
        tokio::spawn(async move {
            let mut ids = Vec::new();
            for i in 0..30 {
                ids.push(append_until_accepted(&node, format!("{tag}{i}")).await);
                done.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
            ids
        })
    };
    let writers = [writer(a.clone(), "a"), writer(b.clone(), "b")];
    let start = tokio::time::Instant::now();
    while done.load(std::sync::atomic::Ordering::SeqCst) < 20 {
        assert!(
            start.elapsed() < DEADLINE,
            "appends stalled before the kill"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    nats.kill(0);
    let mut accepted = Vec::new();
    for writer in writers {
        let ids = writer.await.expect("writer");
        assert!(
            ids.windows(2).all(|w| w[0] < w[1]),
            "one node's ids rise: {ids:?}"
        );
        accepted.extend(ids);
    }
    accepted.sort_unstable();
    accepted.dedup();
    assert_eq!(accepted.len(), 60, "sixty distinct ids: {accepted:?}");

    // Both readers: every accepted entry exactly once, in one order. (An
    // append whose answer was lost in the failover may be in the log too,
    // once, with its own id.)
    let last = *accepted.last().unwrap();
    let seen_a = follow_until(&mut follow_a, last).await;
    let seen_b = follow_until(&mut follow_b, last).await;
    assert_eq!(seen_a, seen_b, "both nodes see one order");
    let seen: Vec<u64> = seen_a.iter().map(|e| e.0).collect();
    assert!(seen.windows(2).all(|w| w[0] < w[1]), "each once: {seen:?}");
    for id in &accepted {
        assert!(seen.contains(id), "accepted {id} not followed: {seen:?}");
    }

    // Names: exactly one of two nodes wins each claim after the kill,
    // once the names bucket answers again (its leader may have been n0).
    let (a, b) = (names_of(&a).await, names_of(&b).await);
    let start = tokio::time::Instant::now();
    while a.holder("nobody").await.is_err() || b.holder("nobody").await.is_err() {
        assert!(
            start.elapsed() < DEADLINE,
            "the names bucket never answered"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for round in 0..10 {
        let name = format!("after.kill.{round}");
        let (ra, rb) = tokio::join!(a.claim(&name, None, soon()), b.claim(&name, None, soon()));
        let wins = [&ra, &rb].iter().filter(|r| r.is_ok()).count();
        assert_eq!(wins, 1, "round {round}: {ra:?} {rb:?}");
    }

    // n0 comes back and catches up: a node joined to it reads every entry.
    nats.restart(0);
    let c = connect(0, "c").await;
    let start = tokio::time::Instant::now();
    let entries = loop {
        match c.after(0, 1000).await {
            Ok(after) if after.entries.last().is_some_and(|e| e.id >= last) => {
                break after.entries;
            }
            other => {
                assert!(start.elapsed() < DEADLINE, "n0 never caught up: {other:?}");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    };
    let read: Vec<(u64, Bytes)> = entries.into_iter().map(|e| (e.id, e.payload)).collect();
    assert_eq!(read, seen_a, "the restarted server holds the same log");
}

#[tokio::test]
async fn a_reader_behind_by_more_than_the_history_still_gets_every_entry() {
    // The stream keeps more than `history` (at least LAG_FLOOR): a node
    // that falls behind a burst reads what it has not read yet, instead
    // of finding it dropped (a burst of 10 000 against history = 50 lost
    // entries when the stream kept only `history`).
    let nats = Nats::start();
    let settings = Settings {
        history: 5,
        ..settings(&nats, "a")
    };
    let a = tokio::time::timeout(DEADLINE, Cluster::connect(settings))
        .await
        .expect("connect within the deadline")
        .unwrap();
    let mut ids = Vec::new();
    for i in 0..40 {
        ids.push(a.append(Bytes::from(format!("m{i}"))).await.unwrap());
    }
    let mut follow = Box::pin(a.follow(0));
    let got: Vec<u64> = next_ids(&mut follow, 40)
        .await
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert_eq!(got, ids);
    // Joiners still get only `history`: the newest five.
    let after = a.after(0, 5).await.unwrap();
    assert_eq!(after.entries.len(), 5);
    assert_eq!(after.entries[4].id, ids[39]);
}
