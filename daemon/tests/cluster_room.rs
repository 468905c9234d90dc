//! One room across chatd nodes: real chatd processes joined through a real
//! nats-server, real clients on each. Messages in one order everywhere,
//! users of every node in every list, joins, leaves and DMs across nodes,
//! one name on one node only, and a node killed outright.

use std::time::{Duration, Instant};

use chat_protocol::{ClientEvent, ErrorCode, HistoryEntry, RejectCode, ServerEvent};
use testkit::{DEADLINE, Daemon, Nats, Outcome, RawClient};

/// Claims live 3 s, so a dead node's users go within seconds; many
/// loopback connections are allowed.
const CONFIG: &str = "limit_exempt = [\"127.0.0.0/8\"]\n\
                      cluster_claim_ttl = \"3s\"\n\
                      rate_burst = 1000\n\
                      rate_per_second = 1000\n";

fn node(nats: &Nats, name: &str) -> Daemon {
    Daemon::builder()
        .config(CONFIG)
        .cluster(&nats.url(), name)
        .start()
}

async fn try_join(d: &Daemon, name: &str) -> Outcome {
    RawClient::join(&d.url, &d.read_key(), name, "").await
}

async fn join(d: &Daemon, name: &str) -> RawClient {
    match try_join(d, name).await {
        Outcome::Joined(c) => *c,
        other => panic!("{name} could not join: {other:?}\n{}", d.log()),
    }
}

/// The next `n` public messages a client receives: (id, from, text).
async fn messages(client: &mut RawClient, n: usize) -> Vec<(u64, String, String)> {
    let mut got = Vec::new();
    while got.len() < n {
        let entry = client
            .recv_until("a message", |e| match e {
                ServerEvent::Message(m) => Some(m.clone()),
                _ => None,
            })
            .await;
        let HistoryEntry { id, from, text, .. } = entry;
        got.push((id, from, text));
    }
    got
}

/// Everyone on `nodes` (one client each) says `per` messages at once; every
/// client sees all of them, with the same ids in the same order.
async fn one_order(nodes: usize, per: usize) {
    let nats = Nats::start();
    let daemons: Vec<Daemon> = (0..nodes).map(|i| node(&nats, &format!("n{i}"))).collect();
    let mut clients = Vec::new();
    for (i, d) in daemons.iter().enumerate() {
        clients.push(join(d, &format!("user{i}")).await);
    }
    let everyone: Vec<String> = (0..nodes).map(|i| format!("user{i}")).collect();
    let everyone: Vec<&str> = everyone.iter().map(String::as_str).collect();
    for client in &mut clients {
        client.wait_users(None, &everyone).await;
    }
    let sends = clients.iter_mut().enumerate().map(|(i, c)| async move {
        for k in 0..per {
            c.send(&ClientEvent::Say {
                room: None,
                text: format!("{i}:{k}"),
                cid: None,
            })
            .await;
        }
        messages(c, nodes * per).await
    });
    let seen = futures_util::future::join_all(sends).await;
    for (i, s) in seen.iter().enumerate() {
        assert_eq!(s, &seen[0], "client {i} saw another order than client 0");
        for k in 0..per {
            assert!(
                s.iter()
                    .any(|(_, from, text)| from == &format!("user{i}")
                        && text == &format!("{i}:{k}")),
                "user{i}'s message {k} is missing"
            );
        }
    }
    let ids: Vec<u64> = seen[0].iter().map(|m| m.0).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids rise: {ids:?}");
    // Each node counts its own: its users' messages, their appends to the
    // log through NATS, and the other nodes it sees.
    for d in &daemons {
        let expect =
            |series, want| testkit::monitoring::expect_scraped(&d.runtime_dir, series, want);
        let per = per as f64;
        expect("chatd_messages_total{kind=\"say\"}", per);
        expect("chatd_log_appends_total", per);
        let published = testkit::monitoring::scraped(
            &d.runtime_dir,
            "chatd_nats_publish_duration_seconds_count",
        );
        assert!(published.unwrap() >= per, "{published:?}");
        expect("chatd_nats_connected", 1.0);
        expect("chatd_users_online", 1.0); // this node's own
        expect("chatd_cluster_peers", (nodes - 1) as f64);
    }
}

#[tokio::test]
async fn messages_cross_two_nodes_both_ways_in_one_order() {
    one_order(2, 20).await;
}

#[tokio::test]
async fn messages_cross_three_nodes_in_one_order() {
    one_order(3, 10).await;
}

#[tokio::test]
async fn who_welcome_joins_and_leaves_cover_every_node() {
    let nats = Nats::start();
    let a = node(&nats, "na");
    let b = node(&nats, "nb");
    let mut carol = join(&b, "carol").await;
    let mut ace = join(&a, "Ace").await;
    // A join on A, seen on B with the cluster-wide count.
    let (name, online) = carol
        .recv_until("ace's join", |e| match e {
            ServerEvent::Join { name, online, .. } => Some((name.clone(), *online)),
            _ => None,
        })
        .await;
    assert_eq!((name.as_str(), online), ("Ace", 2));
    // A joiner on A is welcomed with the users of both nodes, in order.
    let bob = join(&a, "bob").await;
    assert_eq!(bob.welcome.users, ["Ace", "bob", "carol"]);
    carol.wait_users(None, &["Ace", "bob", "carol"]).await;
    // A join and a leave on B, seen on A.
    let dave = join(&b, "dave").await;
    let (name, online) = ace
        .recv_until("dave's join", |e| match e {
            ServerEvent::Join { name, online, .. } if name == "dave" => {
                Some((name.clone(), *online))
            }
            _ => None,
        })
        .await;
    assert_eq!((name.as_str(), online), ("dave", 4));
    ace.wait_users(None, &["Ace", "bob", "carol", "dave"]).await;
    dave.leave().await;
    let (name, online, reason) = ace
        .recv_until("dave's leave", |e| match e {
            ServerEvent::Leave {
                name,
                online,
                reason,
                ..
            } => Some((name.clone(), *online, reason.clone())),
            _ => None,
        })
        .await;
    assert_eq!(
        (name.as_str(), online, reason.as_str()),
        ("dave", 3, "left")
    );
    // A leave on A, seen on B.
    bob.leave().await;
    let name = carol
        .recv_until("bob's leave", |e| match e {
            ServerEvent::Leave { name, reason, .. } if name == "bob" => Some(reason.clone()),
            _ => None,
        })
        .await;
    assert_eq!(name, "left");
    carol.wait_users(None, &["Ace", "carol"]).await;
}

/// A DM from `from` to `to` (another node): delivered there, echoed here.
async fn dm_across(from: &mut RawClient, to: &mut RawClient, text: &str) {
    let addressee = to.welcome.name.to_uppercase();
    from.send(&ClientEvent::Dm {
        to: addressee,
        text: text.into(),
        cid: Some("c1".into()),
    })
    .await;
    let got = to
        .recv_until("the DM", |e| match e {
            ServerEvent::Dm { from, to, text, .. } => {
                Some((from.clone(), to.clone(), text.clone()))
            }
            _ => None,
        })
        .await;
    assert_eq!(
        got,
        (
            from.welcome.name.clone(),
            to.welcome.name.clone(),
            text.to_string()
        )
    );
    let echo = from
        .recv_until("the DM's echo", |e| match e {
            ServerEvent::Dm { to, text, cid, .. } => Some((to.clone(), text.clone(), cid.clone())),
            ServerEvent::Error { code, message, .. } => panic!("{code:?}: {message}"),
            _ => None,
        })
        .await;
    assert_eq!(
        echo,
        (to.welcome.name.clone(), text.to_string(), Some("c1".into()))
    );
}

#[tokio::test]
async fn a_dm_crosses_to_another_node_and_back() {
    let nats = Nats::start();
    // Node names as host names often are: with dots.
    let a = node(&nats, "a.example.org");
    let b = node(&nats, "b.example.org");
    let mut ace = join(&a, "ace").await;
    let mut bob = join(&b, "bob").await;
    ace.wait_users(None, &["ace", "bob"]).await;
    bob.wait_users(None, &["ace", "bob"]).await;
    dm_across(&mut ace, &mut bob, "psst, bob").await;
    dm_across(&mut bob, &mut ace, "hi ace").await;
    // Known nowhere: no_such_user, as on one node.
    ace.send(&ClientEvent::Dm {
        to: "zed".into(),
        text: "anyone?".into(),
        cid: None,
    })
    .await;
    let code = ace
        .recv_until("the error", |e| match e {
            ServerEvent::Error { code, .. } => Some(*code),
            _ => None,
        })
        .await;
    assert_eq!(code, ErrorCode::NoSuchUser);
    // DMs are never logged: they are in no one's history.
    let late = join(&b, "late").await;
    assert!(
        late.welcome.history.is_empty(),
        "{:?}",
        late.welcome.history
    );
}

#[tokio::test]
async fn one_name_joined_at_once_on_two_nodes_goes_to_exactly_one() {
    let nats = Nats::start();
    let a = node(&nats, "na");
    let b = node(&nats, "nb");
    for round in 0..5 {
        let name = format!("racer{round}");
        let upper = name.to_uppercase();
        let (on_a, on_b) = tokio::join!(try_join(&a, &name), try_join(&b, &upper));
        let mut winners = Vec::new();
        for outcome in [on_a, on_b] {
            match outcome {
                Outcome::Joined(c) => winners.push(*c),
                Outcome::Rejected(RejectCode::NameTaken, _) => {}
                other => panic!("round {round}: {other:?}"),
            }
        }
        assert_eq!(winners.len(), 1, "round {round}: {winners:?}");
        for winner in winners {
            winner.leave().await;
        }
    }
    // Each loser was refused by the other node's claim (counted before
    // its Reject was sent).
    let taken = "chatd_cluster_name_conflicts_total{kind=\"taken\"}";
    let conflicts: f64 = [&a, &b]
        .iter()
        .map(|d| testkit::monitoring::scraped(&d.runtime_dir, taken).unwrap())
        .sum();
    assert_eq!(conflicts, 5.0);
}

#[tokio::test]
async fn a_killed_nodes_users_leave_every_list_and_their_names_come_free() {
    let nats = Nats::start();
    let a = node(&nats, "na");
    let b = node(&nats, "nb");
    let c = node(&nats, "nc");
    let mut ace = join(&a, "ace").await;
    let mut carol = join(&c, "carol").await;
    let _bob = join(&b, "bob").await;
    let _bea = join(&b, "bea").await;
    ace.wait_users(None, &["ace", "bea", "bob", "carol"]).await;
    carol
        .wait_users(None, &["ace", "bea", "bob", "carol"])
        .await;
    b.signal(libc::SIGKILL);
    let killed = Instant::now();
    for client in [&mut ace, &mut carol] {
        let mut gone = Vec::new();
        while gone.len() < 2 {
            let (name, reason) = client
                .recv_until("a leave", |e| match e {
                    ServerEvent::Leave { name, reason, .. } => Some((name.clone(), reason.clone())),
                    _ => None,
                })
                .await;
            assert_eq!(reason, "node lost", "{name}");
            gone.push(name);
        }
        gone.sort();
        assert_eq!(gone, ["bea", "bob"]);
    }
    eprintln!(
        "the killed node's users left the lists {:?} after the kill (claim ttl 3 s)",
        killed.elapsed()
    );
    ace.wait_users(None, &["ace", "carol"]).await;
    // Their names come free (NATS drops the lapsed claims by itself).
    let start = Instant::now();
    let bob = loop {
        match try_join(&c, "bob").await {
            Outcome::Joined(bob) => break bob,
            Outcome::Rejected(RejectCode::NameTaken, _) => {
                assert!(start.elapsed() < DEADLINE, "bob never came free");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(bob.welcome.users, ["ace", "bob", "carol"]);
    let name = ace
        .recv_until("bob's join on another node", |e| match e {
            ServerEvent::Join { name, .. } => Some(name.clone()),
            _ => None,
        })
        .await;
    assert_eq!(name, "bob");
}

#[tokio::test]
async fn the_watch_of_other_nodes_survives_a_nats_restart() {
    let mut nats = Nats::start();
    // Claims outlive the restart, so no one's name lapses meanwhile.
    let config = CONFIG.replace("\"3s\"", "\"20s\"");
    let start = |name: &str| {
        Daemon::builder()
            .config(&config)
            .cluster(&nats.url(), name)
            .start()
    };
    let (a, b) = (start("na"), start("nb"));
    let mut ace = join(&a, "ace").await;
    let _bob = join(&b, "bob").await;
    ace.wait_users(None, &["ace", "bob"]).await;
    // An outage long enough for the watches' consumers to be missed.
    nats.kill();
    tokio::time::sleep(Duration::from_secs(6)).await;
    nats.restart();
    // Joins on B once NATS is back (the first ones may find it away).
    let started = Instant::now();
    let _dave = loop {
        match try_join(&b, "dave").await {
            Outcome::Joined(dave) => break dave,
            Outcome::Rejected(RejectCode::Busy, _) => {
                assert!(started.elapsed() < DEADLINE, "NATS never came back");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            other => panic!("{other:?}"),
        }
    };
    let name = ace
        .recv_until("dave's join after the restart", |e| match e {
            ServerEvent::Join { name, .. } => Some(name.clone()),
            _ => None,
        })
        .await;
    assert_eq!(name, "dave");
    ace.wait_users(None, &["ace", "bob", "dave"]).await;
}

/// Says `text` and waits for its echo; its id.
async fn say(client: &mut RawClient, text: &str) -> u64 {
    let say = ClientEvent::Say {
        room: None,
        text: text.into(),
        cid: None,
    };
    client.send(&say).await;
    client
        .recv_until(&format!("the echo of {text:?}"), |e| match e {
            ServerEvent::Message(m) if m.text == text => Some(m.id),
            _ => None,
        })
        .await
}

/// A resume on a node keeps the Welcome's contract: `resumed`, and `gap`
/// only when messages were missed. An entry of the log that no node reads
/// (written by something else on its subject) is no gap, nor is a node
/// killed and restarted; an id older than the history is.
#[tokio::test]
async fn a_resume_on_a_node_says_gap_only_when_messages_were_missed() {
    let nats = Nats::start();
    let config = format!("{CONFIG}history = 4\n");
    let start = |name: &str, listen: Option<u16>| {
        let builder = Daemon::builder().config(&config).cluster(&nats.url(), name);
        match listen {
            Some(port) => builder.listen(format!("127.0.0.1:{port}")),
            None => builder,
        }
    };
    let mut a = start("na", None).start();
    let b = start("nb", None).start();
    let mut ace = join(&a, "ace").await;
    let m0 = say(&mut ace, "m0").await;
    let m1 = say(&mut ace, "m1").await;
    // Stored before m2 is sent: JetStream's ack, not a bare publish and a
    // flush (which only says the server read it, not that the stream
    // stored it before chatd's next publish).
    let raw = async_nats::jetstream::new(nats.client().await);
    raw.publish("chat.log", "not an entry".into())
        .await
        .unwrap()
        .await
        .unwrap();
    let m2 = say(&mut ace, "m2").await;
    assert!(m2 > m1 + 1, "the raw entry took an id between them");
    let after = |d: &Daemon, name: &'static str, id: u64| {
        let (url, key) = (d.url.clone(), d.read_key());
        async move {
            RawClient::join_after(testkit::connect(&url).await, &key, name, "", Some(id))
                .await
                .joined()
                .welcome
        }
    };
    let bob = after(&b, "bob", m1).await;
    assert!(bob.resumed && !bob.gap, "{bob:?}");
    let texts: Vec<&str> = bob.history.iter().map(|e| e.text.as_str()).collect();
    assert_eq!(texts, ["m2"]);

    drop(ace);
    a.signal(libc::SIGKILL);
    a.wait_exit();
    let a = start("na", Some(a.port)).same_dirs_as(&a).start();
    let carol = after(&a, "carol", m2).await;
    assert!(
        carol.resumed && !carol.gap && carol.history.is_empty(),
        "{carol:?}"
    );
    let mut dave = join(&a, "dave").await;
    for text in ["m3", "m4", "m5"] {
        say(&mut dave, text).await;
    }
    // The log keeps 4 entries (m2 to m5): m1 is gone.
    let eve = after(&a, "eve", m0).await;
    assert!(eve.resumed && eve.gap, "{eve:?}");
    let texts: Vec<&str> = eve.history.iter().map(|e| e.text.as_str()).collect();
    assert_eq!(texts, ["m2", "m3", "m4", "m5"]);
}
