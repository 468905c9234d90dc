//! Name claims under NATS trouble, through the real binaries and a real
//! nats-server (and the test's own NATS client, to look at the bucket):
//! a join whose claim meets a reconnecting NATS, a claim NATS stores after
//! its join gave up, claims renewed as soon as NATS is back, the bound
//! on a dead node's names, and a claim lost while its node was stopped.

use std::time::{Duration, Instant};

use async_nats::jetstream::{self, kv};
use chat_protocol::RejectCode;
use testkit::{DEADLINE, Daemon, Nats, Outcome, RawClient};

/// Loopback joins; `ttl` as the claims' lifetime.
fn config(ttl: &str) -> String {
    format!("limit_exempt = [\"127.0.0.0/8\"]\ncluster_claim_ttl = \"{ttl}\"\n")
}

fn node(nats: &Nats, name: &str, config: &str) -> Daemon {
    Daemon::builder()
        .config(config)
        .cluster(&nats.url(), name)
        .start()
}

async fn try_join(d: &Daemon, name: &str) -> Outcome {
    RawClient::join(&d.url, &d.read_key(), name, "").await
}

/// Joins `name` on `d` as soon as the name is free (it is refused
/// `name_taken` until then), within the deadline; how long it took, and
/// the client.
async fn join_when_free(d: &Daemon, name: &str) -> (Duration, RawClient) {
    let start = Instant::now();
    loop {
        match try_join(d, name).await {
            Outcome::Joined(client) => return (start.elapsed(), *client),
            Outcome::Rejected(RejectCode::NameTaken, _) => {}
            other => panic!("joining {name}: {other:?}\n{}", d.log()),
        }
        assert!(
            start.elapsed() < DEADLINE,
            "{name} never came free; chatd's log:\n{}",
            d.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The test's own view of the room's names bucket.
async fn names_bucket(nats: &Nats) -> kv::Store {
    let client = nats.client().await;
    jetstream::new(client)
        .get_key_value("chat_names")
        .await
        .expect("the names bucket")
}

/// Which node the bucket says holds `key` (a folded name), if any.
async fn holder(bucket: &kv::Store, key: &str) -> Option<String> {
    let entry = bucket.entry(key).await.ok()??;
    if entry.operation != kv::Operation::Put {
        return None;
    }
    let value: serde_json::Value = serde_json::from_slice(&entry.value).ok()?;
    value["node"].as_str().map(str::to_string)
}

/// Waits until `d`'s status says NATS is `state` (`connected`,
/// `unavailable`).
fn wait_cluster(d: &Daemon, state: &str) {
    testkit::wait_until(&format!("node's NATS to be {state}"), || {
        let (_, status) = testkit::admin_call(&d.runtime_dir, "GET", "/v1/status", None);
        (status["cluster"] == state).then_some(())
    });
}

#[tokio::test]
async fn a_join_while_nats_reconnects_waits_for_it_instead_of_being_refused() {
    let mut nats = Nats::start();
    let a = node(&nats, "a", &config("30s"));
    nats.kill();
    wait_cluster(&a, "unavailable");
    // The join reaches its claim while NATS is away; NATS is back within
    // the join's deadline (10 s): the claim waits for it.
    let joining = {
        let (url, key) = (a.url.clone(), a.read_key());
        tokio::spawn(async move { RawClient::join(&url, &key, "ann", "").await })
    };
    nats.restart();
    match joining.await.unwrap() {
        Outcome::Joined(_) => {}
        other => panic!("a join while NATS reconnects: {other:?}\n{}", a.log()),
    }
}

#[tokio::test]
async fn a_claim_nats_stores_after_its_join_gave_up_is_released() {
    let nats = Nats::start();
    // A claim outlives a dead node by an hour here: only a release frees it.
    // Names are open: the join goes to its claim without first asking
    // NATS for the name's registration (which a hanging NATS would answer
    // `busy` before any claim is made: cluster_identities.rs).
    let a = node(
        &nats,
        "a",
        &format!(
            "{}handshake_timeout = \"2s\"\nnames = \"open\"\n",
            config("1h")
        ),
    );
    // NATS hangs while a join claims its name: the join gives up (busy),
    // then NATS wakes and stores the claim it got meanwhile.
    nats.freeze();
    match try_join(&a, "ann").await {
        Outcome::Rejected(RejectCode::Busy, _) => {}
        other => panic!("a join while NATS hangs: {other:?}"),
    }
    nats.thaw();
    let (took, _) = join_when_free(&a, "ann").await;
    eprintln!("ann free again {took:?} after NATS woke");
    // Longer this time: the claim's own try gives up unanswered (5 s)
    // before NATS wakes; it is looked for once NATS answers.
    nats.freeze();
    match try_join(&a, "bob").await {
        Outcome::Rejected(RejectCode::Busy, _) => {}
        other => panic!("a join while NATS hangs: {other:?}"),
    }
    a.wait_for_log("cluster: claim a name:");
    nats.thaw();
    join_when_free(&a, "bob").await;
}

#[tokio::test]
async fn claims_are_renewed_as_soon_as_nats_is_back() {
    let mut nats = Nats::start();
    // Renewed every 15 minutes on the timer: only a renewal on NATS's
    // return can make the claim again within the test.
    let a = node(&nats, "a", &config("1h"));
    let b = node(&nats, "b", &config("1h"));
    let _ann = RawClient::join(&a.url, &a.read_key(), "ann", "")
        .await
        .joined();
    let bucket = names_bucket(&nats).await;
    assert_eq!(holder(&bucket, "ann").await.as_deref(), Some("a"));
    // As after an outage longer than the claim's lifetime: the claim is
    // gone when NATS comes back.
    bucket.delete("ann").await.expect("delete the claim");
    nats.restart();
    let bucket = names_bucket(&nats).await;
    let start = Instant::now();
    while holder(&bucket, "ann").await.as_deref() != Some("a") {
        assert!(
            start.elapsed() < DEADLINE,
            "ann's claim was not made again; node a's log:\n{}",
            a.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // So no one on another node takes ann's name from under her.
    match try_join(&b, "ann").await {
        Outcome::Rejected(RejectCode::NameTaken, _) => {}
        other => panic!("ann on node b: {other:?}"),
    }
}

#[tokio::test]
async fn a_dead_nodes_names_come_free_within_five_sixths_of_the_claim_ttl() {
    let nats = Nats::start();
    let ttl = Duration::from_secs(6);
    let a = node(&nats, "a", &config("6s"));
    let mut b = node(&nats, "b", &config("6s"));
    // The names bucket keeps a claim five sixths of the ttl after its last
    // renewal: a dead node's names are free within the ttl, NATS's expiry
    // and a join's round trips included.
    let bucket = names_bucket(&nats).await;
    let mut stream = bucket.stream.clone();
    let max_age = stream.info().await.unwrap().config.max_age;
    assert_eq!(max_age, ttl * 5 / 6, "the names bucket's max_age");
    // A live node keeps its claims (renewed every quarter of the ttl)
    // across many lifetimes: a watch sees six renewals of bob's claim.
    let _bob = RawClient::join(&b.url, &b.read_key(), "bob", "")
        .await
        .joined();
    let mut watch = bucket.watch("bob").await.unwrap();
    let mut renewals = 0;
    while renewals < 6 {
        let entry = tokio::time::timeout(DEADLINE, futures_util::StreamExt::next(&mut watch))
            .await
            .expect("a renewal within the deadline")
            .unwrap()
            .unwrap();
        assert_eq!(entry.operation, kv::Operation::Put, "bob's claim lapsed");
        renewals += 1;
    }
    match try_join(&a, "bob").await {
        Outcome::Rejected(RejectCode::NameTaken, _) => {}
        other => panic!("bob on node a while b lives: {other:?}"),
    }
    // Node b dies: bob's name comes free on node a.
    b.signal(libc::SIGKILL);
    b.wait_exit();
    let (took, _) = join_when_free(&a, "bob").await;
    eprintln!("a dead node's name free after {took:?} (ttl {ttl:?})");
}

/// Node a stopped (SIGSTOP) longer than the claims' lifetime: ace's claim
/// lapses and a user of node b takes the name. Running again, node a's
/// renewal finds it taken: counted once as a claim lost
/// (`chatd_cluster_name_conflicts_total{kind="lost"}`), and ace's session
/// ends `name_lost`, told why.
#[tokio::test]
async fn a_claim_lost_while_its_node_was_stopped_is_counted_and_ends_the_session() {
    let nats = Nats::start();
    let a = node(&nats, "a", &config("3s"));
    let b = node(&nats, "b", &config("3s"));
    let mut ace = RawClient::join(&a.url, &a.read_key(), "ace", "")
        .await
        .joined();
    let lost = "chatd_cluster_name_conflicts_total{kind=\"lost\"}";
    let ended = "chatd_sessions_ended_total{reason=\"name_lost\"}";
    assert_eq!(
        testkit::monitoring::scraped(&a.runtime_dir, lost),
        Some(0.0)
    );
    a.signal(libc::SIGSTOP);
    let (_, _ace_on_b) = join_when_free(&b, "ace").await;
    a.signal(libc::SIGCONT);
    let (events, close) = ace.recv_to_close().await;
    assert_eq!(close.0, 1000, "{events:?}");
    assert!(
        events.iter().any(|e| matches!(
            e,
            chat_protocol::ServerEvent::Bye { reason, .. }
                if reason.contains("lost its hold on your name")
        )),
        "{events:?}"
    );
    testkit::monitoring::expect_scraped(&a.runtime_dir, lost, 1.0);
    testkit::monitoring::expect_scraped(&a.runtime_dir, ended, 1.0);
    testkit::monitoring::expect_scraped(&a.runtime_dir, "chatd_users_online", 0.0);
    // Node b won the name and lost nothing.
    assert_eq!(
        testkit::monitoring::scraped(&b.runtime_dir, lost),
        Some(0.0)
    );
    assert_eq!(
        testkit::monitoring::scraped(&b.runtime_dir, ended),
        Some(0.0)
    );
}
