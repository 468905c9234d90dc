//! The round trip that proves chatd still serves: the chat listener's
//! accept loop answers a probe between two accepts, and the room answers
//! one from under its lock (the lock every join, leave and message takes).
//! The watchdog (`crate::service`) tells systemd `WATCHDOG=1` only after
//! it, and the health check (`crate::admin::health`) says `stalled`
//! without it. It never involves NATS: a node without NATS still serves
//! what it can.

use std::time::Duration;

use tokio::sync::Notify;

use super::Door;
use crate::hub::Hub;

/// How long the round trip may take.
pub const WITHIN: Duration = Duration::from_secs(2);

/// How often the room's lock is tried while another holds it.
const RETRY: Duration = Duration::from_millis(1);

/// The accept loop's side of the probe: asked, it answers everyone who
/// waits.
#[derive(Default)]
pub struct Probe {
    asked: Notify,
    answered: Notify,
}

impl Probe {
    /// Resolves when a probe asks (the accept loop waits on it beside
    /// `accept`).
    pub async fn asked(&self) {
        self.asked.notified().await;
    }

    /// Answers every probe waiting.
    pub fn answer(&self) {
        self.answered.notify_waiters();
    }

    /// Asks the accept loop, and waits for its answer.
    async fn ask(&self) {
        let answered = self.answered.notified();
        tokio::pin!(answered);
        // Registered before the question, so an answer at once counts.
        answered.as_mut().enable();
        self.asked.notify_one();
        answered.await;
    }
}

/// Whether the accept loop and the room both answered within [`WITHIN`].
pub async fn round_trip(door: &Door, hub: &Hub) -> bool {
    let both = async {
        door.probe.ask().await;
        // The room's lock is a blocking one: tried, never waited on, so
        // that a stuck room cannot take a runtime worker with it.
        while !hub.probe() {
            tokio::time::sleep(RETRY).await;
        }
    };
    tokio::time::timeout(WITHIN, both).await.is_ok()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::config::{Config, Current};

    #[tokio::test(start_paused = true)]
    async fn the_round_trip_needs_an_accept_loop_that_answers() {
        let door = Arc::new(Door::default());
        let hub = Hub::new(Arc::new(Current::new(Config::default())));
        assert!(!round_trip(&door, &hub).await, "no accept loop, no answer");
        let answering = door.clone();
        let accept_loop = tokio::spawn(async move {
            loop {
                answering.probe.asked().await;
                answering.probe.answer();
            }
        });
        // Several at once are all answered.
        let (a, b) = tokio::join!(round_trip(&door, &hub), round_trip(&door, &hub));
        assert!(a && b);
        accept_loop.abort();
        let _ = accept_loop.await;
        assert!(!round_trip(&door, &hub).await, "the loop is gone");
    }
}
