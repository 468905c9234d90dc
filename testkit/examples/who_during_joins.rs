//! Measures how long another user's `/who` takes to be answered while
//! JOINS clients join at once a room whose history is HISTORY messages
//! of SIZE bytes (each of their Welcomes is cut to the 1 MiB a server
//! message may hold). Not a test: it prints the round trips and asserts
//! nothing (docs/performance.md, "A big Welcome and everyone else").
//!
//! ```text
//! cargo build --release -p chatd
//! cargo run --release -p testkit --example who_during_joins [-- JOINS HISTORY SIZE ROUNDS]
//! ```
//!
//! Defaults: 12 joins, a history of 10 000 messages of 4 000 bytes, 3
//! rounds. Bounded: each round's joins must end within 120 s.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use chat_protocol::{ClientEvent, ServerEvent};
use testkit::{Daemon, RawClient};

/// Messages sent before their echoes are awaited, while filling.
const WINDOW: usize = 64;

fn arg(args: &mut impl Iterator<Item = String>, default: usize, name: &str) -> usize {
    args.next()
        .map_or(default, |n| n.parse().unwrap_or_else(|_| panic!("{name}")))
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let joins = arg(&mut args, 12, "JOINS");
    let history = arg(&mut args, 10_000, "HISTORY");
    let size = arg(&mut args, 4_000, "SIZE");
    let rounds = arg(&mut args, 3, "ROUNDS");
    let config = format!(
        "limit_exempt = [\"127.0.0.0/8\"]\nhistory = {history}\nmax_text = {}\n\
         rate_burst = 1000000\nrate_per_second = 1000000\nmax_users = {}\n\
         outbound_queue = 4096\nhandshake_timeout = \"120s\"\n",
        size.max(1),
        joins * rounds + 10
    );
    let d = Daemon::builder().config(&config).start();

    let started = Instant::now();
    let mut filler = RawClient::join(&d.url, &d.key, "filler", "").await.joined();
    let text = "x".repeat(size);
    let mut sent = 0;
    while sent < history {
        let batch = WINDOW.min(history - sent);
        for _ in 0..batch {
            let say = ClientEvent::Say {
                room: None,
                text: text.clone(),
                cid: None,
            };
            filler.send(&say).await;
        }
        for _ in 0..batch {
            filler
                .recv_until("an echo", |e| {
                    matches!(e, ServerEvent::Message(_)).then_some(())
                })
                .await;
        }
        sent += batch;
    }
    println!(
        "history: {history} messages of {size} bytes, filled in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    filler.leave().await;

    let mut watcher = RawClient::join(&d.url, &d.key, "watcher", "")
        .await
        .joined();
    let idle = who(&mut watcher).await;
    println!("/who alone: {:.1} ms", idle.as_secs_f64() * 1e3);

    let mut worst = Duration::ZERO;
    for round in 0..rounds {
        let done = Arc::new(AtomicBool::new(false));
        let start = Instant::now();
        let tasks: Vec<_> = (0..joins)
            .map(|i| {
                let (url, key) = (d.url.clone(), d.key.clone());
                tokio::spawn(async move {
                    let name = format!("j{round}x{i}");
                    let joined = RawClient::join(&url, &key, &name, "").await.joined();
                    let kept = joined.welcome.history.len();
                    (joined, kept)
                })
            })
            .collect();
        let all = {
            let done = done.clone();
            tokio::spawn(async move {
                let mut out = Vec::new();
                for t in tasks {
                    out.push(t.await.expect("a join"));
                }
                done.store(true, Ordering::SeqCst);
                out
            })
        };
        let mut trips = Vec::new();
        while !done.load(Ordering::SeqCst) {
            assert!(
                start.elapsed() < Duration::from_secs(120),
                "joins took over 120 s"
            );
            trips.push(who(&mut watcher).await);
        }
        let joined = all.await.expect("the joins");
        let joins_took = start.elapsed();
        let max = trips.iter().max().copied().unwrap_or_default();
        worst = worst.max(max);
        trips.sort();
        let median = trips.get(trips.len() / 2).copied().unwrap_or_default();
        println!(
            "round {}: {joins} joins in {:.2} s ({} entries in each Welcome); /who answered {} times, median {:.1} ms, max {:.1} ms",
            round + 1,
            joins_took.as_secs_f64(),
            joined.first().map_or(0, |j| j.1),
            trips.len(),
            median.as_secs_f64() * 1e3,
            max.as_secs_f64() * 1e3,
        );
        for (client, _) in joined {
            client.leave().await;
        }
    }
    println!(
        "worst /who round trip during the joins: {:.1} ms",
        worst.as_secs_f64() * 1e3
    );
}

/// One `/who`: sent, and its answer received (other events skipped).
async fn who(client: &mut RawClient) -> Duration {
    let sent = Instant::now();
    client
        .send(&ClientEvent::Who {
            room: None,
            after: None,
        })
        .await;
    client
        .recv_until("the users", |e| {
            matches!(e, ServerEvent::Users { .. }).then_some(())
        })
        .await;
    sent.elapsed()
}
