//! One chat connection's place in the metrics, from `accept` to its end:
//! counted in `chatd_connections` by stage, and settled once: refused
//! (`chatd_connections_refused_total`), failed before its join was decided
//! (`chatd_handshakes_failed_total`), or decided
//! (`chatd_joins_total`, with the join's time). The door makes it, the
//! session carries it on; shared by both (a clone is the same tally), it
//! ends when the last of them lets it go. A connection that ends unsettled
//! went away: `closed`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

use tokio::time::Instant;

use super::Metrics;
use super::labels::{HandshakeFailure, JoinOutcome, Refusal, Stage};

/// The tally has been settled (refused, failed or decided).
const SETTLED: u8 = 1;
/// The connection joined the room.
const JOINED: u8 = 2;

/// One connection's tally (see the module documentation).
#[derive(Clone)]
pub struct Tally(Arc<Inner>);

struct Inner {
    metrics: Metrics,
    accepted: Instant,
    state: AtomicU8,
}

impl Tally {
    pub(super) fn new(metrics: Metrics) -> Self {
        metrics.connections.inc(Stage::Handshake);
        Self(Arc::new(Inner {
            metrics,
            accepted: Instant::now(),
            state: AtomicU8::new(0),
        }))
    }

    /// Marks the tally settled; `true` the first time only.
    fn settle(&self) -> bool {
        self.0.state.fetch_or(SETTLED, Ordering::AcqRel) & SETTLED == 0
    }

    /// Refused before any crypto work (a 503 or 429 at the upgrade).
    pub fn refused(&self, why: Refusal) {
        if self.settle() {
            self.0.metrics.connections_refused.inc(why);
        }
    }

    /// Ended before its join was decided.
    pub fn failed(&self, why: HandshakeFailure) {
        if self.settle() {
            self.0.metrics.handshakes_failed.inc(why);
        }
    }

    /// The client's `Auth` opened: the handshake's time is observed, and
    /// the join's starts (its start is returned).
    pub fn auth_opened(&self) -> Instant {
        let now = Instant::now();
        self.0
            .metrics
            .handshake_duration
            .observe((now - self.0.accepted).as_secs_f64());
        now
    }

    /// The join was decided (a `Welcome` or a `Reject` sent) after it
    /// began at `since` ([`Tally::auth_opened`]).
    pub fn decided(&self, outcome: JoinOutcome, since: Instant) {
        if self.settle() {
            let metrics = &self.0.metrics;
            metrics.joins.inc(outcome);
            metrics.join_duration.observe(since.elapsed().as_secs_f64());
        }
    }

    /// The connection is a session in the room now.
    pub fn joined(&self) {
        if self.0.state.fetch_or(JOINED, Ordering::AcqRel) & JOINED == 0 {
            self.0.metrics.connections.dec(Stage::Handshake);
            self.0.metrics.connections.inc(Stage::Joined);
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        let state = *self.state.get_mut();
        let stage = if state & JOINED != 0 {
            Stage::Joined
        } else {
            Stage::Handshake
        };
        self.metrics.connections.dec(stage);
        if state & SETTLED == 0 {
            self.metrics.handshakes_failed.inc(HandshakeFailure::Closed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_connection_is_settled_once_and_counted_by_stage_until_it_ends() {
        let metrics = Metrics::default();
        let tally = metrics.connection();
        let shared = tally.clone();
        assert_eq!(metrics.connections.get(Stage::Handshake), 1);
        let since = tally.auth_opened();
        tally.decided(JoinOutcome::Welcome, since);
        shared.failed(HandshakeFailure::Timeout);
        tally.joined();
        shared.joined();
        assert_eq!(metrics.connections.get(Stage::Handshake), 0);
        assert_eq!(metrics.connections.get(Stage::Joined), 1);
        drop(tally);
        assert_eq!(
            metrics.connections.get(Stage::Joined),
            1,
            "a clone holds it"
        );
        drop(shared);
        assert_eq!(metrics.connections.get(Stage::Joined), 0);
        assert_eq!(metrics.joins.get(JoinOutcome::Welcome), 1);
        assert_eq!(metrics.handshakes_failed.get(HandshakeFailure::Timeout), 0);
        assert_eq!(metrics.handshakes_failed.get(HandshakeFailure::Closed), 0);

        // Let go unsettled: the client went away.
        drop(metrics.connection());
        assert_eq!(metrics.handshakes_failed.get(HandshakeFailure::Closed), 1);
        assert_eq!(metrics.connections.get(Stage::Handshake), 0);
    }
}
