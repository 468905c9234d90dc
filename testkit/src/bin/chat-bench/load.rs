//! The load: N clients join (at most `join_concurrency` at a time), wait
//! until the server's presence events stop, then S of them send M
//! messages each while every client, senders included, checks what it
//! receives. Every phase has a time limit and ends by itself.
//!
//! Data flow: each joined client is one receiving task (`receive`) that
//! checks each message, records its latency in the shared histogram and
//! counts everything else; a sender has a second task (`send`) that writes
//! its messages, paced either by a window of unacknowledged messages
//! (permits given back by its own receiving task when the echo arrives) or
//! by a fixed schedule.

use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::check::Violations;
use crate::conn::{self, ClientSockets, Target, Tx};
use crate::hist::Histogram;
use crate::proc::{CpuSample, CpuUse, Measured};

mod tasks;

use tasks::{receive, send};

/// How senders pace themselves.
#[derive(Clone, Copy, Debug)]
pub enum Pace {
    /// As fast as the server takes them, at most this many unacknowledged
    /// (not yet echoed back) per sender.
    Window(u32),
    /// This many messages a second in total, spread evenly over senders.
    Rate(f64),
}

/// The shape of a run.
#[derive(Clone, Debug)]
pub struct Load {
    /// Clients that join (N).
    pub clients: usize,
    /// How many of them send (S), the first S.
    pub senders: usize,
    /// Messages per sender (M).
    pub messages: u64,
    /// Bytes of each message's text.
    pub size: usize,
    /// Pacing.
    pub pace: Pace,
    /// Joins in flight at once.
    pub join_concurrency: usize,
    /// Time limit of the join phase (joins and the presence that follows).
    pub join_limit: Duration,
    /// Time limit of the sending phase.
    pub send_limit: Duration,
    /// The sending phase also ends once every sender is done and nothing
    /// arrived for this long (a lost message never arrives).
    pub quiet: Duration,
    /// Source addresses to spread connections over (127.0.0.1, .2, …);
    /// 0 binds none.
    pub sources: u8,
    /// How the clients set up their sockets.
    pub client_sockets: ClientSockets,
    /// Rooms the clients are spread over (`--rooms R`): with R > 1,
    /// client `i` joins `#rK`, K = `i mod R` (and stays in the default
    /// room, where no one speaks), the senders too; each sender's messages
    /// go to its room only, and each client checks its room's senders
    /// only. With R = 1, everyone speaks in the default room.
    pub rooms: usize,
}

impl Load {
    /// The room of client `i`: `None` for the default room.
    pub fn room_of(&self, i: usize) -> Option<String> {
        (self.rooms > 1).then(|| format!("#r{}", i % self.rooms))
    }

    /// Whether sender `sender`'s messages reach client `i`.
    pub fn hears(&self, i: usize, sender: usize) -> bool {
        i % self.rooms.max(1) == sender % self.rooms.max(1)
    }
}

/// Figures of the join phase.
#[derive(Clone, Debug, Default)]
pub struct JoinFigures {
    /// Clients joined.
    pub joined: usize,
    /// Joins that failed, and the first reason.
    pub failed: usize,
    /// `busy` refusals the clients got (and retried) before joining.
    pub busy: u64,
    /// The first failure's words.
    pub first_error: Option<String>,
    /// From the first connect to the last Welcome, seconds.
    pub secs: f64,
    /// One join's connect + handshake + Welcome time, p50 and p99, µs.
    pub p50_us: u64,
    /// p99 of the same.
    pub p99_us: u64,
    /// Non-message events received by all clients from the first join until
    /// they stopped (join, leave, presence summaries, …).
    pub presence_events: u64,
    /// From the last Welcome until presence events stopped, seconds.
    pub settle_secs: f64,
    /// Whether the phase hit its time limit.
    pub timed_out: bool,
    /// CPU used over the phase (joins and settling).
    pub cpu: CpuUse,
    /// Server RSS before the first join and once settled, KiB.
    pub rss_before_kib: u64,
    /// See `rss_before_kib`.
    pub rss_joined_kib: u64,
}

/// Figures of the sending phase.
#[derive(Clone, Debug, Default)]
pub struct SendFigures {
    /// Messages sent.
    pub sent: u64,
    /// First deliveries (each message to each client), and the number expected.
    pub delivered: u64,
    /// N × S × M.
    pub expected: u64,
    /// From the first send to the last delivery, seconds.
    pub secs: f64,
    /// Send → receive latency, µs.
    pub p50_us: u64,
    /// p99 of the same.
    pub p99_us: u64,
    /// The largest.
    pub max_us: u64,
    /// `error` events (refused messages: a rate limit, say).
    pub refused: u64,
    /// Other non-message events during the phase.
    pub other_events: u64,
    /// Clients whose connection ended before the phase did.
    pub closed: u64,
    /// Whether the phase hit its time limit.
    pub timed_out: bool,
    /// What the checkers found.
    pub violations: Violations,
    /// CPU used over the phase.
    pub cpu: CpuUse,
}

/// What every task of a run shares.
struct Shared {
    epoch: Instant,
    latency: Histogram,
    delivered: AtomicU64,
    last_delivery_us: AtomicU64,
    other_events: AtomicU64,
    refused: AtomicU64,
    closed: AtomicU64,
    sent: AtomicU64,
    stop: CancellationToken,
    violations: Mutex<Violations>,
}

impl Shared {
    fn now_us(&self) -> u64 {
        self.epoch.elapsed().as_micros() as u64
    }
}

/// A run in progress: joined clients, their tasks, what they share.
pub struct Run {
    load: Load,
    shared: Arc<Shared>,
    measured: Measured,
    txs: Vec<Option<Tx>>,
    windows: Vec<Arc<Semaphore>>,
    receivers: JoinSet<()>,
    /// The clients that joined.
    joined: Vec<usize>,
}

/// The source address of client `i`.
fn source(load: &Load, i: usize) -> Option<IpAddr> {
    (load.sources > 0).then(|| IpAddr::from([127, 0, 0, 1 + (i % load.sources as usize) as u8]))
}

impl Run {
    /// Joins every client, client `i` to `targets[i % targets.len()]` (the
    /// nodes of a cluster in turn; senders are spread too); returns the run
    /// and the join phase's figures. `measured`: whose CPU and memory are
    /// read.
    pub async fn join(load: Load, targets: &[Target], measured: Measured) -> (Run, JoinFigures) {
        let shared = Arc::new(Shared {
            epoch: Instant::now(),
            latency: Histogram::default(),
            delivered: AtomicU64::new(0),
            last_delivery_us: AtomicU64::new(0),
            other_events: AtomicU64::new(0),
            refused: AtomicU64::new(0),
            closed: AtomicU64::new(0),
            sent: AtomicU64::new(0),
            stop: CancellationToken::new(),
            violations: Mutex::new(Violations::default()),
        });
        let windows: Vec<Arc<Semaphore>> = (0..load.senders)
            .map(|_| match load.pace {
                Pace::Window(w) => Arc::new(Semaphore::new(w as usize)),
                Pace::Rate(_) => Arc::new(Semaphore::new(0)),
            })
            .collect();
        let mut fig = JoinFigures {
            rss_before_kib: measured.rss_kib(),
            ..JoinFigures::default()
        };
        let before = CpuSample::take(&measured);
        let deadline = before.at + load.join_limit;
        let gate = Arc::new(Semaphore::new(load.join_concurrency.max(1)));
        let join_times = Arc::new(Histogram::default());
        let busy = Arc::new(AtomicU64::new(0));
        let mut joins = JoinSet::new();
        for i in 0..load.clients {
            let target = targets[i % targets.len()].clone();
            let (gate, times, busy) = (gate.clone(), join_times.clone(), busy.clone());
            let (src, sockets) = (source(&load, i), load.client_sockets);
            let room = load.room_of(i);
            joins.spawn(async move {
                let _turn = gate.acquire_owned().await.map_err(|e| e.to_string())?;
                let started = Instant::now();
                let left = deadline.saturating_duration_since(started);
                let joined = tokio::time::timeout(
                    left,
                    conn::join(
                        &target,
                        &format!("b{i}"),
                        room,
                        src,
                        deadline,
                        sockets,
                        &busy,
                    ),
                )
                .await
                .map_err(|_| "join phase time limit".to_string())??;
                times.record(started.elapsed().as_micros() as u64);
                Ok::<_, String>((i, joined))
            });
        }
        let mut txs: Vec<Option<Tx>> = (0..load.clients).map(|_| None).collect();
        let mut receivers = JoinSet::new();
        let mut joined = Vec::new();
        while let Some(result) = joins.join_next().await {
            let outcome = result.unwrap_or_else(|e| Err(format!("join task failed: {e}")));
            match outcome {
                Ok((i, (tx, rx))) => {
                    txs[i] = Some(tx);
                    joined.push(i);
                    let window = windows.get(i).cloned();
                    receivers.spawn(receive(i, rx, shared.clone(), window, load.clone()));
                    fig.joined += 1;
                }
                Err(e) => {
                    fig.failed += 1;
                    fig.first_error.get_or_insert(e);
                }
            }
        }
        let joined_at = Instant::now();
        fig.busy = busy.load(Ordering::Relaxed);
        fig.secs = joined_at.duration_since(before.at).as_secs_f64();
        fig.p50_us = join_times.percentile(0.5);
        fig.p99_us = join_times.percentile(0.99);
        // Settle: presence events stop arriving (nothing new for 500 ms).
        let mut last = (shared.other_events.load(Ordering::Relaxed), Instant::now());
        loop {
            tokio::time::sleep(Duration::from_millis(50)).await;
            let now = shared.other_events.load(Ordering::Relaxed);
            if now != last.0 {
                last = (now, Instant::now());
            } else if last.1.elapsed() >= Duration::from_millis(500) {
                break;
            }
            if Instant::now() >= deadline {
                fig.timed_out = true;
                break;
            }
        }
        fig.settle_secs = last.1.duration_since(joined_at).as_secs_f64().max(0.0);
        fig.presence_events = shared.other_events.load(Ordering::Relaxed);
        fig.cpu = CpuUse::between(&before, &CpuSample::take(&measured));
        fig.rss_joined_kib = measured.rss_kib();
        let run = Run {
            load,
            shared,
            measured,
            txs,
            windows,
            receivers,
            joined,
        };
        (run, fig)
    }

    /// The sending phase; then every client stops and reports.
    pub async fn send(mut self) -> SendFigures {
        let load = self.load.clone();
        let shared = self.shared.clone();
        let presence_before = shared.other_events.load(Ordering::Relaxed);
        let before = CpuSample::take(&self.measured);
        let start_us = shared.now_us();
        let deadline = before.at + load.send_limit;
        let mut senders = JoinSet::new();
        for (i, window) in self.windows.iter().enumerate() {
            if let Some(tx) = self.txs[i].take() {
                senders.spawn(send(
                    i,
                    tx,
                    shared.clone(),
                    window.clone(),
                    load.clone(),
                    deadline,
                ));
            }
        }
        // Each joined client hears its room's senders.
        let expected = self
            .joined
            .iter()
            .map(|&i| (0..load.senders).filter(|&j| load.hears(i, j)).count() as u64)
            .sum::<u64>()
            * load.messages;
        let mut fig = SendFigures {
            expected,
            ..SendFigures::default()
        };
        let mut kept = Vec::new();
        let mut last = (0, Instant::now());
        loop {
            tokio::time::sleep(Duration::from_millis(20)).await;
            while let Some(done) = senders.try_join_next() {
                kept.extend(done.ok());
            }
            let delivered = shared.delivered.load(Ordering::Relaxed);
            if delivered >= expected {
                break;
            }
            if delivered != last.0 {
                last = (delivered, Instant::now());
            } else if senders.is_empty() && last.1.elapsed() >= load.quiet {
                break;
            }
            if Instant::now() >= deadline {
                fig.timed_out = true;
                break;
            }
        }
        fig.cpu = CpuUse::between(&before, &CpuSample::take(&self.measured));
        shared.stop.cancel();
        senders.abort_all();
        // Every receiving task stops at once and adds its counts.
        let _ = tokio::time::timeout(Duration::from_secs(30), async {
            while self.receivers.join_next().await.is_some() {}
        })
        .await;
        drop(kept);
        drop(self.txs);
        fig.sent = shared.sent.load(Ordering::Relaxed);
        fig.delivered = shared.delivered.load(Ordering::Relaxed);
        let end_us = shared
            .last_delivery_us
            .load(Ordering::Relaxed)
            .max(start_us + 1);
        fig.secs = (end_us - start_us) as f64 / 1e6;
        fig.p50_us = shared.latency.percentile(0.5);
        fig.p99_us = shared.latency.percentile(0.99);
        fig.max_us = shared.latency.max();
        fig.refused = shared.refused.load(Ordering::Relaxed);
        fig.closed = shared.closed.load(Ordering::Relaxed);
        fig.other_events = shared.other_events.load(Ordering::Relaxed) - presence_before;
        fig.violations = *shared.violations.lock().unwrap_or_else(|p| p.into_inner());
        fig
    }
}
