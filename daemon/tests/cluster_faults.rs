//! A room on several chatd nodes under faults, through the real binaries
//! and a real nats-server: a node killed with SIGKILL while ten senders
//! send, NATS restarted mid-run, NATS away (new messages refused, users
//! kept), a client moved to another node resuming after the last id it
//! saw, a restarted node that still has the history, and a room on a
//! three-server NATS cluster (replicated stream) losing one server.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use chat_protocol::{ClientEvent, ServerEvent};
use testkit::{DEADLINE, Daemon, Nats, Outcome, RawClient, connect};

/// Loopback joins and fast senders; a short claim lifetime, so a dead
/// node's names come free within the tests' deadlines.
const CONFIG: &str = "limit_exempt = [\"127.0.0.0/8\"]\nrate_burst = 1000\nrate_per_second = 1000\n\
                      cluster_claim_ttl = \"3s\"\n";

fn node(nats: &Nats, name: &str) -> Daemon {
    Daemon::builder()
        .config(CONFIG)
        .cluster(&nats.url(), name)
        .start()
}

async fn join(d: &Daemon, key: &str, name: &str) -> RawClient {
    RawClient::join(&d.url, key, name, "").await.joined()
}

/// What one sender saw: the texts echoed to it.
type Echoed = Vec<String>;

/// Sends `count` messages `{name}-{i}`, each after the echo of the one
/// before (or an error), with a short pause, and returns those echoed.
/// A refused message (NATS away) is tried again; a closed connection
/// ends the sender. `echoes` counts every echo.
async fn send_all(mut client: RawClient, count: usize, echoes: Arc<AtomicUsize>) -> Echoed {
    let name = client.welcome.name.clone();
    let mut echoed = Vec::new();
    let started = Instant::now();
    let mut i = 0;
    while i < count && started.elapsed() < DEADLINE * 2 {
        let text = format!("{name}-{i}");
        // A client id, as chat sends: a message sent again after "not
        // confirmed" is logged once.
        client
            .send(&ClientEvent::Say {
                room: None,
                text: text.clone(),
                cid: Some(text.clone()),
            })
            .await;
        // Generous: on a NATS cluster that lost a server, the stream's
        // new leader and the readers' new consumers take seconds each.
        let outcome = tokio::time::timeout(DEADLINE * 2, async {
            loop {
                match client.recv().await {
                    Ok(ServerEvent::Message(m)) if m.text == text => return Some(true),
                    Ok(ServerEvent::Error { .. }) => return Some(false),
                    Ok(_) => {}
                    Err(_) => return None,
                }
            }
        })
        .await
        .unwrap_or_else(|_| panic!("{name}: no echo nor error for {text:?}"));
        match outcome {
            Some(true) => {
                echoed.push(text);
                echoes.fetch_add(1, Ordering::Relaxed);
                i += 1;
            }
            Some(false) => tokio::time::sleep(Duration::from_millis(100)).await,
            None => break,
        }
        tokio::time::sleep(Duration::from_millis(15)).await;
    }
    echoed
}

/// Every message a receiver saw, (id, text), until it sees `end`.
async fn receive_until(mut client: RawClient, end: &str) -> Vec<(u64, String)> {
    let name = client.welcome.name.clone();
    let mut seen = Vec::new();
    let mut last_other = None;
    let result = tokio::time::timeout(DEADLINE * 3, async {
        loop {
            match client.recv().await {
                Ok(ServerEvent::Message(m)) => {
                    let done = m.text == end;
                    seen.push((m.id, m.text));
                    if done {
                        return;
                    }
                }
                Ok(other) => last_other = Some(other),
                Err(close) => panic!("{name} was closed {close:?} after {last_other:?}"),
            }
        }
    })
    .await;
    result.unwrap_or_else(|_| panic!("{name} never saw {end:?}; saw {} messages", seen.len()));
    seen
}

/// Each message once, in increasing ids, and every `expected` among them.
fn check_exactly_once(who: &str, seen: &[(u64, String)], expected: &BTreeSet<String>) {
    let mut texts = BTreeMap::new();
    for (id, text) in seen {
        assert!(
            texts.insert(text.clone(), *id).is_none(),
            "{who} saw {text:?} twice"
        );
    }
    assert!(
        seen.windows(2).all(|w| w[0].0 < w[1].0),
        "{who}: ids not increasing: {seen:?}"
    );
    let missing: Vec<&String> = expected
        .iter()
        .filter(|t| !texts.contains_key(*t))
        .collect();
    assert!(
        missing.is_empty(),
        "{who} missed echoed messages {missing:?}"
    );
}

/// A receiver on each of `a` and `b`, each taking every message until
/// `END`.
async fn watch_both(
    a: &Daemon,
    b: &Daemon,
    key: &str,
) -> [tokio::task::JoinHandle<Vec<(u64, String)>>; 2] {
    [
        tokio::spawn(receive_until(join(a, key, "watch-a").await, "END")),
        tokio::spawn(receive_until(join(b, key, "watch-b").await, "END")),
    ]
}

/// What the senders had echoed; with `all`, each must have sent all its
/// `all` messages (none gave up).
async fn echoed_by(
    senders: Vec<tokio::task::JoinHandle<Echoed>>,
    all: Option<usize>,
) -> BTreeSet<String> {
    let mut echoed = BTreeSet::new();
    for sender in senders {
        let sent = sender.await.unwrap();
        if let Some(all) = all {
            assert_eq!(sent.len(), all, "a sender stopped early: {sent:?}");
        }
        echoed.extend(sent);
    }
    echoed
}

/// Four senders, two on each node, each sending `count` messages; returns
/// once twenty messages were echoed, so the fault comes mid-run.
async fn two_by_two(
    a: &Daemon,
    b: &Daemon,
    key: &str,
    count: usize,
) -> Vec<tokio::task::JoinHandle<Echoed>> {
    let echoes = Arc::new(AtomicUsize::new(0));
    let mut senders = Vec::new();
    for (i, d) in [a, b, a, b].into_iter().enumerate() {
        let client = join(d, key, &format!("s{i}")).await;
        senders.push(tokio::spawn(send_all(client, count, echoes.clone())));
    }
    testkit::wait_until("some messages before the fault", || {
        (echoes.load(Ordering::Relaxed) >= 20).then_some(())
    });
    senders
}

/// Ends the run with `END` said on `a`, and checks that both receivers
/// saw every echoed message once, in increasing ids.
async fn end_and_check(
    a: &Daemon,
    key: &str,
    receivers: [tokio::task::JoinHandle<Vec<(u64, String)>>; 2],
    echoed: &BTreeSet<String>,
) {
    let mut end = join(a, key, "ender").await;
    end.send(&ClientEvent::Say {
        room: None,
        text: "END".into(),
        cid: None,
    })
    .await;
    for (who, receiver) in ["watch-a", "watch-b"].into_iter().zip(receivers) {
        check_exactly_once(who, &receiver.await.unwrap(), echoed);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_node_killed_while_ten_senders_send_loses_nothing_echoed_and_repeats_nothing() {
    let nats = Nats::start();
    let a = node(&nats, "a");
    let b = node(&nats, "b");
    let mut c = node(&nats, "c");
    let key = a.read_key();
    let receivers = watch_both(&a, &b, &key).await;
    // Ten senders: four on the node that dies, three on each survivor.
    let echoes_on_c = Arc::new(AtomicUsize::new(0));
    let other_echoes = Arc::new(AtomicUsize::new(0));
    let mut senders = Vec::new();
    for i in 0..10 {
        let (d, echoes) = match i % 3 {
            0 if i < 10 => (&c, &echoes_on_c),
            1 => (&a, &other_echoes),
            _ => (&b, &other_echoes),
        };
        let client = join(d, &key, &format!("s{i}")).await;
        senders.push(tokio::spawn(send_all(client, 40, echoes.clone())));
    }
    testkit::wait_until("the senders on node c to get echoes", || {
        (echoes_on_c.load(Ordering::Relaxed) >= 20).then_some(())
    });
    c.signal(libc::SIGKILL);
    c.wait_exit();
    let echoed = echoed_by(senders, None).await;
    assert!(
        other_echoes.load(Ordering::Relaxed) >= 6 * 40,
        "the survivors' senders finished"
    );
    end_and_check(&a, &key, receivers, &echoed).await;
    // The dead node's names come free within the claim's lifetime.
    let started = Instant::now();
    loop {
        match RawClient::join(&a.url, &key, "s0", "").await {
            Outcome::Joined(_) => break,
            Outcome::Rejected(chat_protocol::RejectCode::NameTaken, _) => {}
            other => panic!("joining as s0 again: {other:?}"),
        }
        assert!(
            started.elapsed() < DEADLINE,
            "the dead node's name s0 was never freed"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn nats_restarted_mid_run_loses_nothing_accepted() {
    let mut nats = Nats::start();
    let a = node(&nats, "a");
    let b = node(&nats, "b");
    let key = a.read_key();
    let receivers = watch_both(&a, &b, &key).await;
    let senders = two_by_two(&a, &b, &key, 30).await;
    nats.restart();
    let echoed = echoed_by(senders, Some(30)).await;
    end_and_check(&a, &key, receivers, &echoed).await;
}

/// Says `text` until it is echoed (true) or refused (false).
async fn say_once(client: &mut RawClient, text: &str) -> Result<u64, String> {
    client
        .send(&ClientEvent::Say {
            room: None,
            text: text.into(),
            cid: None,
        })
        .await;
    client
        .recv_until(
            &format!("the echo of or an error for {text:?}"),
            |e| match e {
                ServerEvent::Message(m) if m.text == text => Some(Ok(m.id)),
                ServerEvent::Error { message, .. } => Some(Err(message.clone())),
                _ => None,
            },
        )
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_nats_is_away_new_messages_are_refused_users_stay_and_it_recovers() {
    let mut nats = Nats::start();
    let a = node(&nats, "a");
    let key = a.read_key();
    let mut ann = join(&a, &key, "ann").await;
    let before = say_once(&mut ann, "before").await.expect("echoed");
    nats.kill();
    let refused = say_once(&mut ann, "while away").await;
    assert_eq!(
        refused,
        Err("cluster unavailable, not sent".to_string()),
        "{}",
        a.log()
    );
    // Still connected: the room answers.
    ann.send(&ClientEvent::Who {
        room: None,
        after: None,
    })
    .await;
    let users = ann
        .recv_until("the user list", |e| match e {
            ServerEvent::Users { users, .. } => Some(users.clone()),
            _ => None,
        })
        .await;
    assert_eq!(users, ["ann"]);
    let (_, status) = testkit::admin_call(&a.runtime_dir, "GET", "/v1/status", None);
    assert_eq!(status["online"], 1, "{status}");
    nats.restart();
    // Back by itself: a message goes through again.
    let started = Instant::now();
    let after = loop {
        match say_once(&mut ann, "after").await {
            Ok(id) => break id,
            Err(_) => {
                assert!(started.elapsed() < DEADLINE, "chat never recovered");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    };
    assert!(after > before);
    // And what was accepted before the outage is still history.
    let bob = join(&a, &key, "bob").await;
    let texts: Vec<&str> = bob
        .welcome
        .history
        .iter()
        .map(|e| e.text.as_str())
        .collect();
    assert_eq!(texts, ["before", "after"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_moved_by_a_node_death_resumes_on_another_node_missing_nothing() {
    let nats = Nats::start();
    let a = node(&nats, "a");
    let mut b = node(&nats, "b");
    let key = a.read_key();
    let mut sender = join(&a, &key, "sender").await;
    let mut moved = join(&b, &key, "moved").await;
    let mut last = 0;
    for i in 0..5 {
        let id = say_once(&mut sender, &format!("m{i}")).await.unwrap();
        last = moved
            .recv_until("a message on node b", |e| match e {
                ServerEvent::Message(m) if m.id == id => Some(m.id),
                _ => None,
            })
            .await;
    }
    b.signal(libc::SIGKILL);
    b.wait_exit();
    for i in 5..10 {
        say_once(&mut sender, &format!("m{i}")).await.unwrap();
    }
    // The same name on node a, once the dead node's claim lapsed, after
    // the last id seen.
    let started = Instant::now();
    let mut resumed = loop {
        match RawClient::join_after(connect(&a.url).await, &key, "moved", "", Some(last)).await {
            Outcome::Joined(client) => break *client,
            Outcome::Rejected(chat_protocol::RejectCode::NameTaken, _) => {
                assert!(started.elapsed() < DEADLINE, "the name never came free");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            other => panic!("resuming: {other:?}"),
        }
    };
    let texts: Vec<&str> = resumed
        .welcome
        .history
        .iter()
        .map(|e| e.text.as_str())
        .collect();
    assert_eq!(texts, ["m5", "m6", "m7", "m8", "m9"]);
    assert!(!resumed.welcome.gap);
    // And live messages follow, once each.
    let id = say_once(&mut sender, "live").await.unwrap();
    let got = resumed
        .recv_until("the live message", |e| match e {
            ServerEvent::Message(m) => Some((m.id, m.text.clone())),
            _ => None,
        })
        .await;
    assert_eq!(got, (id, "live".to_string()));
}

#[tokio::test]
async fn a_restarted_node_still_has_the_history() {
    let nats = Nats::start();
    let mut a = node(&nats, "a");
    let key = a.read_key();
    let mut ann = join(&a, &key, "ann").await;
    let first = say_once(&mut ann, "kept").await.unwrap();
    ann.leave().await;
    a.terminate();
    let a = Daemon::builder()
        .config(CONFIG)
        .cluster(&nats.url(), "a")
        .same_dirs_as(&a)
        .start();
    assert_eq!(a.read_key(), key, "the key survives the restart");
    let mut bob = join(&a, &key, "bob").await;
    let ids: Vec<(u64, &str)> = bob
        .welcome
        .history
        .iter()
        .map(|e| (e.id, e.text.as_str()))
        .collect();
    assert_eq!(ids, [(first, "kept")]);
    let next = say_once(&mut bob, "next").await.unwrap();
    assert!(next > first, "ids continue: {next} after {first}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_room_on_a_three_server_nats_cluster_survives_the_loss_of_a_server() {
    let mut nats = testkit::NatsCluster::start();
    let replicated = format!("{CONFIG}cluster_replicas = 3\n");
    let start = |name: &str| {
        Daemon::builder()
            .config(&replicated)
            .cluster(&nats.urls(), name)
            .start()
    };
    let a = start("a");
    let b = start("b");
    let key = a.read_key();
    let receivers = watch_both(&a, &b, &key).await;
    let senders = two_by_two(&a, &b, &key, 25).await;
    nats.kill(0);
    let echoed = echoed_by(senders, Some(25)).await;
    end_and_check(&a, &key, receivers, &echoed).await;
    // The history is the replicated stream's: a later joiner on either
    // node gets the same last messages.
    let late_a = join(&a, &key, "late-a").await;
    let late_b = join(&b, &key, "late-b").await;
    let ids = |c: &RawClient| c.welcome.history.iter().map(|e| e.id).collect::<Vec<_>>();
    assert_eq!(ids(&late_a), ids(&late_b));
    assert!(!ids(&late_a).is_empty());
}

#[tokio::test]
async fn a_second_live_node_of_the_same_name_is_refused_and_a_restart_is_not() {
    let nats = Nats::start();
    let mut a = node(&nats, "a");
    // Another chatd given the same name (two nodes on one host, both
    // named after it): refused at start, naming the fix.
    let mut twin = Daemon::builder()
        .config(CONFIG)
        .cluster(&nats.url(), "a")
        .spawn();
    let status = twin.wait_exit();
    assert_eq!(status.code(), Some(1), "{}", twin.log());
    assert!(
        twin.log().contains("another node named \"a\" is alive")
            && twin.log().contains("--node-name"),
        "{}",
        twin.log()
    );
    // The same node killed and started again on its address while its
    // entry has not lapsed yet: that is itself, and it starts.
    let addr = a
        .url
        .trim_start_matches("ws://")
        .trim_end_matches('/')
        .to_string();
    a.signal(libc::SIGKILL);
    a.wait_exit();
    let again = Daemon::builder()
        .config(CONFIG)
        .cluster(&nats.url(), "a")
        .same_dirs_as(&a)
        .listen(addr)
        .start();
    let key = again.read_key();
    join(&again, &key, "ann").await;
}

/// What one paced sender saw: the texts echoed to it, and the codes of the
/// errors it got.
struct Paced {
    echoed: Vec<String>,
    errors: Vec<chat_protocol::ErrorCode>,
}

/// Sends `count` lines `{name}-{i}` at `per_second`, whatever comes back
/// (as a line client keeps to the announced rate), while reading what the
/// server answers; returns once every line has its echo or an error.
/// `sent` counts the lines sent so far.
async fn send_paced(
    client: RawClient,
    count: usize,
    per_second: u32,
    sent: Arc<AtomicUsize>,
) -> Paced {
    let name = client.welcome.name.clone();
    let (mut tx, mut rx) = client.split();
    let sending = {
        let name = name.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1) / per_second);
            for i in 0..count {
                tick.tick().await;
                let text = format!("{name}-{i}");
                tx.send(&ClientEvent::Say {
                    room: None,
                    text: text.clone(),
                    cid: Some(text),
                })
                .await;
                sent.fetch_add(1, Ordering::Relaxed);
            }
            tx
        })
    };
    let mut paced = Paced {
        echoed: Vec::new(),
        errors: Vec::new(),
    };
    let mine = format!("{name}-");
    tokio::time::timeout(DEADLINE * 2, async {
        while paced.echoed.len() + paced.errors.len() < count {
            match rx.recv().await {
                Ok(ServerEvent::Message(m)) if m.text.starts_with(&mine) => {
                    paced.echoed.push(m.text)
                }
                Ok(ServerEvent::Error { code, .. }) => paced.errors.push(code),
                Ok(_) => {}
                Err(close) => panic!("{name} was closed: {close:?}"),
            }
        }
    })
    .await
    .unwrap_or_else(|_| {
        panic!(
            "{name}: {} echoes and {:?} for {count} lines",
            paced.echoed.len(),
            paced.errors
        )
    });
    sending.await.unwrap();
    paced
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_frozen_nats_costs_no_line_of_a_client_that_keeps_to_the_rate() {
    // The default rate (bursts of 10, 5 a second), announced to clients.
    let nats = Nats::start();
    let node = |name: &str| {
        Daemon::builder()
            .config("limit_exempt = [\"127.0.0.0/8\"]\n")
            .cluster(&nats.url(), name)
            .start()
    };
    let (a, b) = (node("a"), node("b"));
    let key = a.read_key();
    let receivers = watch_both(&a, &b, &key).await;
    let rate = join(&a, &key, "probe").await.welcome.rate;
    assert_eq!((rate.burst, rate.per_second), (10, 5), "the defaults");
    let sent = Arc::new(AtomicUsize::new(0));
    let mut senders = Vec::new();
    for (d, name) in [(&a, "pa"), (&b, "pb")] {
        let client = join(d, &key, name).await;
        senders.push(tokio::spawn(send_paced(
            client,
            60,
            rate.per_second,
            sent.clone(),
        )));
    }
    // NATS hangs while each sender sends 30 lines (6 s at the rate): its
    // reader waits on an append meanwhile, and what the client sent queues
    // in the socket.
    testkit::wait_until("ten lines each before the freeze", || {
        (sent.load(Ordering::Relaxed) >= 20).then_some(())
    });
    nats.freeze();
    testkit::wait_until("thirty lines each while NATS is frozen", || {
        (sent.load(Ordering::Relaxed) >= 80).then_some(())
    });
    nats.thaw();
    let mut echoed = BTreeSet::new();
    for sender in senders {
        let paced = sender.await.unwrap();
        assert!(
            !paced
                .errors
                .contains(&chat_protocol::ErrorCode::RateLimited),
            "a client at the announced rate was refused: {:?} ({} echoed)",
            paced.errors,
            paced.echoed.len()
        );
        echoed.extend(paced.echoed);
    }
    assert!(!echoed.is_empty());
    // What was echoed reached both nodes once each, in one order.
    end_and_check(&a, &key, receivers, &echoed).await;
}
