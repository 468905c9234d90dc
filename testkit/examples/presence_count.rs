//! Counts the events about presence (`join`, `leave`, `presence`) that
//! chatd sends while CLIENTS clients join one after another, each read
//! by its own task. Not a test: it prints the count and asserts nothing.
//!
//! ```text
//! cargo run -p testkit --example presence_count [-- CLIENTS [CONFIG_TOML]]
//! ```
//!
//! With the default settings (summaries above 100 online, once a second);
//! a second argument is added to the configuration (for example
//! `presence_summary_above = 100000` for the old behaviour, N(N-1)/2).
//! Bounded: joins stop after 120 s; the count is read once it has been
//! still for 3 s (at most 60 s).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use chat_protocol::ServerEvent;
use testkit::{Daemon, RawClient};

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let clients: usize = args.next().map_or(1000, |n| n.parse().expect("CLIENTS"));
    let extra = args.next().unwrap_or_default();
    let config = format!("limit_exempt = [\"127.0.0.0/8\"]\nmax_users = {clients}\n{extra}\n");
    let d = Daemon::builder().config(&config).start();
    let (joins, leaves, summaries) = (
        Arc::new(AtomicUsize::new(0)),
        Arc::new(AtomicUsize::new(0)),
        Arc::new(AtomicUsize::new(0)),
    );
    let started = Instant::now();
    let deadline = started + Duration::from_secs(120);
    let mut readers = Vec::with_capacity(clients);
    for i in 0..clients {
        if Instant::now() > deadline {
            println!("joins stopped at {i}: 120 s passed");
            break;
        }
        let mut client = RawClient::join(&d.url, &d.key, &format!("u{i}"), "")
            .await
            .joined();
        let counts = (joins.clone(), leaves.clone(), summaries.clone());
        readers.push(tokio::spawn(async move {
            while let Ok(event) = client.recv().await {
                let counter = match event {
                    ServerEvent::Join { .. } => &counts.0,
                    ServerEvent::Leave { .. } => &counts.1,
                    ServerEvent::Presence { .. } => &counts.2,
                    _ => continue,
                };
                counter.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    let join_secs = started.elapsed().as_secs_f64();
    let total = || {
        joins.load(Ordering::Relaxed)
            + leaves.load(Ordering::Relaxed)
            + summaries.load(Ordering::Relaxed)
    };
    let (mut last, mut still_since) = (total(), Instant::now());
    let settle = Instant::now() + Duration::from_secs(60);
    while still_since.elapsed() < Duration::from_secs(3) && Instant::now() < settle {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if total() != last {
            (last, still_since) = (total(), Instant::now());
        }
    }
    println!(
        "{} clients joined in {join_secs:.1} s{}: {} presence events in all ({} join, {} leave, {} presence); one event each would be {}",
        readers.len(),
        if extra.is_empty() {
            String::from(" (default settings)")
        } else {
            format!(" ({})", extra.trim())
        },
        total(),
        joins.load(Ordering::Relaxed),
        leaves.load(Ordering::Relaxed),
        summaries.load(Ordering::Relaxed),
        readers.len() * readers.len().saturating_sub(1) / 2,
    );
    for reader in readers {
        reader.abort();
    }
}
