//! The clients' tasks during a run: each client's receiving task (checks,
//! times and counts what arrives) and each sender's (M messages, paced).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;

use super::{Load, Pace, Shared};
use crate::check::{self, Checker};
use crate::conn::{Received, Rx, Tx};

/// A client's receiving task: checks, times and counts until the run stops
/// or the connection ends.
pub(super) async fn receive(
    index: usize,
    mut rx: Rx,
    shared: Arc<Shared>,
    window: Option<Arc<Semaphore>>,
    load: Load,
) {
    let mut checker = Checker::new(load.senders, load.messages, |j| load.hears(index, j));
    loop {
        let got = tokio::select! {
            biased;
            _ = shared.stop.cancelled() => break,
            got = rx.next() => got,
        };
        match got {
            Received::Message(text) => {
                let stamp = check::decode(&text);
                if checker.receive(stamp).delivered() {
                    let (Some(stamp), now) = (stamp, shared.now_us()) else {
                        continue;
                    };
                    shared.latency.record(now.saturating_sub(stamp.sent_us));
                    shared.delivered.fetch_add(1, Ordering::Relaxed);
                    shared.last_delivery_us.fetch_max(now, Ordering::Relaxed);
                    if stamp.sender == index
                        && let Some(w) = &window
                    {
                        w.add_permits(1);
                    }
                }
            }
            Received::Refused => {
                shared.refused.fetch_add(1, Ordering::Relaxed);
            }
            Received::Other => {
                shared.other_events.fetch_add(1, Ordering::Relaxed);
            }
            Received::Closed => {
                shared.closed.fetch_add(1, Ordering::Relaxed);
                // A sender whose echoes can no longer come stops waiting.
                if let Some(w) = &window {
                    w.close();
                }
                break;
            }
        }
    }
    let found = checker.finish();
    shared
        .violations
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .add(&found);
}

/// A sender's task: M messages, paced; returns its sending half so the
/// connection stays open until the run ends.
pub(super) async fn send(
    index: usize,
    mut tx: Tx,
    shared: Arc<Shared>,
    window: Arc<Semaphore>,
    load: Load,
    deadline: Instant,
) -> Tx {
    let deadline = tokio::time::Instant::from_std(deadline);
    let start = tokio::time::Instant::now();
    for seq in 0..load.messages {
        match load.pace {
            Pace::Window(_) => {
                let permit = tokio::select! {
                    permit = window.acquire() => permit,
                    _ = tokio::time::sleep_until(deadline) => break,
                };
                match permit {
                    Ok(p) => p.forget(),
                    Err(_) => break,
                }
            }
            Pace::Rate(total) => {
                let per_sender = total / load.senders.max(1) as f64;
                let at = start + Duration::from_secs_f64(seq as f64 / per_sender.max(1e-3));
                if at >= deadline {
                    break;
                }
                tokio::time::sleep_until(at).await;
            }
        }
        let text = check::encode(index, seq, shared.now_us(), load.size);
        if tx.send(text).await.is_err() {
            break;
        }
        shared.sent.fetch_add(1, Ordering::Relaxed);
    }
    tx
}
