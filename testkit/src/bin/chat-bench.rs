//! `chat-bench`: measures chatd with real sockets on loopback and prints
//! figures. Not a test: it asserts nothing and has no pass mark.
//!
//! ```text
//! cargo run --release -p testkit --bin chat-bench [-- CLIENTS MESSAGES]
//! ```
//!
//! 1. Memory: chatd's resident set before and after CLIENTS idle joined
//!    connections (default 500), per connection: first with an empty
//!    history, then again after 50 messages of 4000 quote characters
//!    (the worst case of the default limits: every Welcome is ~400 KiB).
//! 2. Fan-out: one sender, 10 receivers; MESSAGES (default 5000) messages
//!    sent as fast as the server accepts them; delivered messages per
//!    second and send→receive latency percentiles. The sender keeps at
//!    most 100 messages in flight.
//!
//! 3. Join storm with a password: a second chatd with a join password;
//!    CLIENTS clients join at once (50 in flight), as a room does when it
//!    reconnects after a restart; the time it takes and chatd's RSS after.
//!
//! Every loop is bounded in count and in time (60 s a phase).

use std::time::{Duration, Instant};

use chat_protocol::{ClientEvent, ServerEvent};
use testkit::{Daemon, RawClient};

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn raise_fd_limit() {
    // SAFETY: getrlimit/setrlimit on our own process with a local struct.
    unsafe {
        let mut lim: libc::rlimit = std::mem::zeroed();
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 {
            lim.rlim_cur = lim.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}

/// Joins `n` idle clients (bounded by 60 s) and prints chatd's memory per
/// connection and the join rate; returns the clients, still connected.
async fn idle_joins(d: &Daemon, n: usize, prefix: &str) -> Vec<RawClient> {
    let before = rss_kib(d.pid());
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut idle = Vec::with_capacity(n);
    let started = Instant::now();
    for i in 0..n {
        if Instant::now() > deadline {
            break;
        }
        idle.push(
            RawClient::join(&d.url, &d.key, &format!("{prefix}{i}"), "")
                .await
                .joined(),
        );
    }
    let join_secs = started.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = rss_kib(d.pid());
    let count = idle.len().max(1) as f64;
    let history = idle.first().map_or(0, |c| c.welcome.history.len());
    println!(
        "memory: {} idle joined connections (history of {history} in their Welcome): RSS {before} KiB -> {after} KiB, {:.1} KiB per connection",
        idle.len(),
        (after.saturating_sub(before)) as f64 / count
    );
    println!(
        "joins: {} in {join_secs:.2} s, {:.0} joins/s (sequential, full handshake each)",
        idle.len(),
        count / join_secs
    );
    idle
}

/// Waits (at most 10 s) for the echo of `text`.
async fn wait_echo(client: &mut RawClient, text: &str) {
    let _ = tokio::time::timeout(Duration::from_secs(10), async {
        while let Ok(event) = client.recv().await {
            if matches!(&event, ServerEvent::Message(m) if m.text == text) {
                return;
            }
        }
    })
    .await;
}

#[tokio::main]
async fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let clients = args.first().copied().unwrap_or(500).min(5000);
    let messages = args.get(1).copied().unwrap_or(5000).min(1_000_000);
    raise_fd_limit();
    let d = Daemon::builder()
        .config(&format!(
            "max_users = {}\nrate_burst = 1000000\nrate_per_second = 1000000\noutbound_queue = 4096\noutbound_queue_bytes = 67108864\nlimit_exempt = [\"127.0.0.0/8\"]\n",
            2 * clients + 100
        ))
        .start();
    println!("chatd pid {} at {}", d.pid(), d.url);

    // Phase 1: memory per idle connection, first with an empty history,
    // then with a full one (each join gets a Welcome of about 400 KiB).
    tokio::time::sleep(Duration::from_millis(300)).await;
    let empty = idle_joins(&d, clients, "idle").await;
    let mut filler = RawClient::join(&d.url, &d.key, "filler", "").await.joined();
    let text = "\"".repeat(4000);
    for i in 0..50 {
        let text = format!("{i} {text}");
        filler
            .send(&ClientEvent::Say {
                text: text.clone(),
                cid: None,
            })
            .await;
        wait_echo(&mut filler, &text).await;
    }
    let full = idle_joins(&d, clients, "full").await;
    drop((empty, full, filler));

    // Phase 2: fan-out throughput and latency.
    let receivers = 10;
    let mut tasks = Vec::new();
    let epoch = Instant::now();
    for r in 0..receivers {
        let mut c = RawClient::join(&d.url, &d.key, &format!("rx{r}"), "")
            .await
            .joined();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(messages);
            let end = Instant::now() + Duration::from_secs(60);
            while latencies.len() < messages && Instant::now() < end {
                match tokio::time::timeout(Duration::from_secs(10), c.recv()).await {
                    Ok(Ok(ServerEvent::Message(m))) => {
                        let sent_us: u128 = m
                            .text
                            .split(' ')
                            .next()
                            .and_then(|t| t.parse().ok())
                            .unwrap_or(0);
                        latencies.push(epoch.elapsed().as_micros().saturating_sub(sent_us));
                    }
                    Ok(Ok(_)) => {}
                    _ => break,
                }
            }
            latencies
        }));
    }
    let mut tx = RawClient::join(&d.url, &d.key, "sender", "").await.joined();
    let started = Instant::now();
    let payload = "x".repeat(100);
    // Sent in windows of 100: the sender waits for the echo of each
    // window's last message, so no receiver's queue is flooded and the
    // figure is a rate the server sustains.
    let mut sent = 0;
    while sent < messages {
        let window = (messages - sent).min(100);
        let mut last = String::new();
        for _ in 0..window {
            last = format!("{} {payload}", epoch.elapsed().as_micros());
            tx.send(&ClientEvent::Say {
                text: last.clone(),
                cid: None,
            })
            .await;
        }
        sent += window;
        tx.recv_until("the window's echo", |e| {
            matches!(e, ServerEvent::Message(m) if m.text == last).then_some(())
        })
        .await;
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let secs = started.elapsed().as_secs_f64();
    all.sort_unstable();
    let pct = |p: f64| {
        all.get(((all.len() as f64 - 1.0) * p) as usize)
            .copied()
            .unwrap_or(0) as f64
            / 1000.0
    };
    println!(
        "fan-out: {messages} messages x {receivers} receivers = {} delivered in {secs:.2} s: {:.0} deliveries/s, {:.0} messages/s in",
        all.len(),
        all.len() as f64 / secs,
        messages as f64 / secs
    );
    println!(
        "latency send->receive: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        pct(0.5),
        pct(0.99),
        pct(1.0)
    );
    println!("chatd RSS at the end: {} KiB", rss_kib(d.pid()));
    if std::env::var_os("BENCH_LOG").is_some() {
        eprintln!("{}", d.log());
    }
    drop(d);
    password_storm(clients).await;
}

/// Phase 3: `n` joins at once (50 in flight) to a chatd with a password.
async fn password_storm(n: usize) {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("pw");
    std::fs::write(&file, "storm password\n").expect("password file");
    let d = Daemon::builder()
        .config(&format!(
            "max_users = {}\nlimit_exempt = [\"127.0.0.0/8\"]\n",
            n + 100
        ))
        .arg("--password-file")
        .arg(file.to_str().expect("a UTF-8 path"))
        .start();
    let before = rss_kib(d.pid());
    let started = Instant::now();
    let deadline = started + Duration::from_secs(60);
    let in_flight = std::sync::Arc::new(tokio::sync::Semaphore::new(50));
    let mut joins = Vec::with_capacity(n);
    for i in 0..n {
        let (url, key, in_flight) = (d.url.clone(), d.key.clone(), in_flight.clone());
        joins.push(tokio::spawn(async move {
            let _turn = in_flight.acquire_owned().await.ok()?;
            if Instant::now() > deadline {
                return None;
            }
            // A busy server says so; a reconnecting client tries again.
            loop {
                match RawClient::join(&url, &key, &format!("storm{i}"), "storm password").await {
                    testkit::Outcome::Joined(client) => return Some(client),
                    testkit::Outcome::Rejected(chat_protocol::RejectCode::Busy, _)
                        if Instant::now() < deadline =>
                    {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                    _ => return None,
                }
            }
        }));
    }
    let mut joined = Vec::new();
    for join in joins {
        if let Ok(Some(client)) = join.await {
            joined.push(client);
        }
    }
    let secs = started.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_millis(500)).await;
    println!(
        "join storm with a password: {} of {n} joined in {secs:.2} s; chatd RSS {before} KiB -> {} KiB",
        joined.len(),
        rss_kib(d.pid())
    );
}
