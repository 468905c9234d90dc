//! Abuse by a holder of the key without the password: a flood of
//! wrong-password joins from many loopback addresses, against the real
//! `chatd`. The argon2 bound must hold (threads and memory stay bounded
//! even though the handshake deadline cancels waiting joins), and an honest
//! join gets an answer, never a silent wait until its deadline.

use std::net::Ipv4Addr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chat_protocol::{Auth, ClientHandshake, RejectCode, Token};
use futures_util::{SinkExt, StreamExt};
use testkit::{Daemon, Outcome, RawClient};
use tokio_tungstenite::tungstenite::Message;

/// How long the flood lasts, and how many joins it keeps in flight.
const FLOOD_FOR: Duration = Duration::from_secs(5);
const IN_FLIGHT: usize = 96;
/// Never more joins than this in all, whatever the machine's speed.
const FLOOD_MAX_JOINS: u64 = 20_000;
/// Honest joins tried while the flood runs.
const HONEST_DURING_FLOOD: usize = 10;

/// chatd's thread count and resident memory (KiB), from /proc.
fn threads_and_rss(pid: u32) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
    };
    Some((field("Threads:")?, field("VmRSS:")?))
}

/// One wrong-password join from `source`, as a flooder does it: every
/// failure is ignored, the answer is awaited for 3 s at most.
async fn wrong_join(url: &str, key: &Token, source: Ipv4Addr, n: u64) -> Option<()> {
    let attempt = async {
        let socket = tokio::net::TcpSocket::new_v4().ok()?;
        socket.bind((source, 0).into()).ok()?;
        let addr = url.trim_start_matches("ws://").trim_end_matches('/');
        let stream = socket.connect(addr.parse().ok()?).await.ok()?;
        let (mut ws, _) = tokio_tungstenite::client_async(url, stream).await.ok()?;
        let hs = ClientHandshake::new(key);
        ws.send(Message::Binary(hs.hello().to_vec().into()))
            .await
            .ok()?;
        let challenge = loop {
            match ws.next().await?.ok()? {
                Message::Binary(b) => break b,
                Message::Close(_) => return None,
                _ => continue,
            }
        };
        let (mut session, _) = hs.on_challenge(&challenge).ok()?;
        let auth = Auth {
            username: format!("flood{n}"),
            password: String::from("wrong").into(),
            client: "flood".into(),
            after: None,
            identity: None,
            proof: None,
        };
        let sealed = session.sealer.seal(&auth.to_bytes()).ok()?;
        ws.send(Message::Binary(sealed.into())).await.ok()?;
        // The answer (a Reject, a Bye or a close), or nothing.
        ws.next().await?.ok()?;
        Some(())
    };
    tokio::time::timeout(Duration::from_secs(3), attempt)
        .await
        .ok()?
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_flood_keeps_threads_and_memory_bounded() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("pw");
    std::fs::write(&file, "right horse\n").unwrap();
    // A short deadline makes the daemon give up on waiting joins often:
    // exactly what let the argon2 bound escape.
    let d = Daemon::builder()
        .config("handshake_timeout = \"3s\"\nmax_users = 512\n")
        .arg("--password-file")
        .arg(file.to_str().unwrap())
        .start();
    let (idle_threads, idle_rss) = threads_and_rss(d.pid()).expect("chatd's /proc status");

    // The sampler: the highest thread count and RSS seen.
    let stop = Arc::new(AtomicBool::new(false));
    let peak_threads = Arc::new(AtomicU64::new(0));
    let peak_rss = Arc::new(AtomicU64::new(0));
    let sampler = {
        let (stop, peak_threads, peak_rss, pid) = (
            stop.clone(),
            peak_threads.clone(),
            peak_rss.clone(),
            d.pid(),
        );
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                if let Some((threads, rss)) = threads_and_rss(pid) {
                    peak_threads.fetch_max(threads, Ordering::Relaxed);
                    peak_rss.fetch_max(rss, Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };

    // The flood: IN_FLIGHT workers, each from its own address, each
    // joining again and again until FLOOD_FOR has passed.
    let started = Instant::now();
    let joins = Arc::new(AtomicU64::new(0));
    let workers: Vec<_> = (0..IN_FLIGHT)
        .map(|i| {
            let (url, joins) = (d.url.clone(), joins.clone());
            let key = Token::parse(&d.key).unwrap();
            let source = Ipv4Addr::new(127, 0, 1 + (i / 200) as u8, 2 + (i % 200) as u8);
            tokio::spawn(async move {
                while started.elapsed() < FLOOD_FOR {
                    let n = joins.fetch_add(1, Ordering::Relaxed);
                    if n >= FLOOD_MAX_JOINS {
                        break;
                    }
                    let _ = wrong_join(&url, &key, source, n).await;
                }
            })
        })
        .collect();

    // Honest joins during the flood get an answer: a Welcome, or a prompt
    // `busy`; never the deadline's Bye (the handshake deadline is 3 s: time enough on a machine whose CPUs are kept busy by other work, short enough that a gate that let joins wait past it would show).
    tokio::time::sleep(Duration::from_secs(1)).await;
    let mut honest_outcomes = Vec::new();
    for i in 0..HONEST_DURING_FLOOD {
        let name = format!("honest{i}");
        match RawClient::join(&d.url, &d.key, &name, "right horse").await {
            Outcome::Joined(_) => honest_outcomes.push("welcome"),
            Outcome::Rejected(RejectCode::Busy, _) => honest_outcomes.push("busy"),
            other => panic!("honest join {i} during the flood got {other:?}"),
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    for worker in workers {
        worker.await.unwrap();
    }
    let flood_joins = joins.load(Ordering::Relaxed).min(FLOOD_MAX_JOINS);
    let flood_secs = started.elapsed().as_secs_f64();

    // Once the flood is over, the right password joins (a `busy` may still
    // come while the last waiters drain).
    let deadline = Instant::now() + testkit::DEADLINE;
    loop {
        match RawClient::join(&d.url, &d.key, "after", "right horse").await {
            Outcome::Joined(_) => break,
            Outcome::Rejected(RejectCode::Busy, _) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            other => panic!("after the flood, the right password got {other:?}"),
        }
    }
    stop.store(true, Ordering::Relaxed);
    sampler.join().unwrap();
    let (threads, rss) = (
        peak_threads.load(Ordering::Relaxed),
        peak_rss.load(Ordering::Relaxed),
    );
    let after = threads_and_rss(d.pid()).expect("chatd's /proc status");
    println!(
        "flood: {flood_joins} wrong-password joins in {flood_secs:.1} s from {IN_FLIGHT} addresses; \
         chatd threads idle {idle_threads}, peak {threads}, after {}; \
         RSS idle {} MiB, peak {} MiB, after {} MiB; honest joins during it: {honest_outcomes:?}",
        after.0,
        idle_rss / 1024,
        rss / 1024,
        after.1 / 1024
    );
    // Two argon2 runs at once cost 2 × 19 MiB; each extra one would be a
    // blocking thread and 19 MiB more (hundreds of threads and gigabytes
    // before the fix). The bounds leave room for the runtime's own threads
    // and the flood's connections, and none for runaway argon2.
    assert!(
        threads <= idle_threads + 24,
        "chatd reached {threads} threads under the flood (idle: {idle_threads})"
    );
    assert!(
        rss <= idle_rss + 200 * 1024,
        "chatd reached {} MiB under the flood (idle: {} MiB)",
        rss / 1024,
        idle_rss / 1024
    );
}
