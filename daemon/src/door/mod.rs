//! The door: everything before a session exists. The accept loop
//! ([`accept`]) counts every TCP connection from `accept` (open at once
//! and per address), bounds its HTTP phase by the handshake's deadline and
//! hands its requests to the router of [`upgrade`], which answers every
//! path: a WebSocket upgrade starts a session (`crate::session`), anything
//! else gets a short refusal. Behind a trusted reverse proxy the client is
//! the one its header names ([`forwarded`]).

pub(crate) mod accept;
pub(crate) mod forwarded;
pub(crate) mod probe;
pub mod upgrade;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Level;

use crate::config::Current;
use crate::logging::line_budget::LineBudget;
use crate::metrics::labels::Refusal;
use crate::metrics::{Metrics, Tally};
use crate::per_address::Connections;
use crate::per_address::connections::{Held, Refused};

/// Connections allowed beyond `max_users`, for handshakes in progress;
/// past it an upgrade is answered 503.
pub const PENDING_SLACK: usize = 64;

/// Connections past the 503 band are closed as soon as they are accepted.
const HARD_SLACK: usize = 2 * PENDING_SLACK;

/// The door's own state: the connections open, in all and per address.
#[derive(Default)]
pub struct Door {
    /// Open chat connections: from `accept` until the session, if any, ends.
    pub connections: AtomicUsize,
    /// Connections per address (open, and new this minute).
    pub per_address: Connections,
    /// The accept loop's answer to the watchdog's probe.
    pub probe: probe::Probe,
}

/// What the door uses of the daemon.
#[derive(Clone)]
pub struct Parts {
    /// The configuration in force.
    pub config: Arc<Current>,
    /// The connections counted.
    pub door: Arc<Door>,
    /// What the door counts: connections accepted, refused, failed.
    pub metrics: Metrics,
    /// What a session started here uses.
    pub session: Arc<crate::session::Parts>,
    /// Every session task, so the shutdown can wait for them.
    pub sessions: TaskTracker,
    /// Fires at shutdown: no new connection, no new upgrade.
    pub shutdown: CancellationToken,
}

/// One open TCP connection, counted in [`Door::connections`] from
/// `accept` until the connection, and the session it became, have ended.
pub struct Slot(Arc<Door>, #[allow(dead_code)] Option<Held>);

/// What the accept loop knows of a connection, handed to its requests (as
/// an axum extension) and on to its session.
#[derive(Clone)]
pub struct Accepted {
    /// The peer's address.
    pub peer: SocketAddr,
    /// Whether the peer is a trusted proxy (`trusted_proxies`): the client
    /// is the one its request names, and is counted then.
    pub via_proxy: bool,
    /// Taken at `accept`: the upgrade and the chat handshake share it.
    pub deadline: Instant,
    /// The connection's place among those counted.
    pub slot: Arc<Slot>,
    /// The connection's place in the metrics, settled by the door or by
    /// its session.
    pub tally: Tally,
}

/// The most connections open at once for this `max_users`.
pub fn max_connections(max_users: usize) -> usize {
    max_users.saturating_add(HARD_SLACK)
}

impl Slot {
    /// A slot, unless `cap` connections are open.
    fn take(door: &Arc<Door>, cap: usize, held: Option<Held>) -> Option<Arc<Slot>> {
        if door.connections.fetch_add(1, Ordering::Relaxed) >= cap {
            door.connections.fetch_sub(1, Ordering::Relaxed);
            return None;
        }
        Some(Arc::new(Slot(door.clone(), held)))
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.connections.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Warns that connections are being refused, at most once every 10 s: a
/// flood must not flood the log too.
pub fn warn_busy(peer: SocketAddr, what: &str) {
    static BUSY: LineBudget = LineBudget::new("refusing connections", 1, Duration::from_secs(10));
    crate::budgeted!(BUSY, Level::WARN, %peer, "{what} (said at most once every 10 s)");
}

/// The label of a refusal by the per-address limits.
pub fn refusal(refused: &Refused) -> Refusal {
    match refused {
        Refused::TooMany(_) => Refusal::AddressOpen,
        Refused::TooFast(_) => Refusal::AddressRate,
    }
}

/// Logs a connection refused by the per-address limits, a few times per
/// 10 s (anyone can cause it).
pub fn refuse_address(peer: SocketAddr, refused: &Refused) {
    static PER_ADDRESS: LineBudget = LineBudget::new(
        "closing connections over a per-address limit",
        5,
        Duration::from_secs(10),
    );
    let why = match refused {
        Refused::TooMany(n) => {
            format!("{n} connections from this address are open (max_connections_per_ip)")
        }
        Refused::TooFast(n) => {
            format!(
                "{n} connections from this address in the last minute (connections_per_ip_per_minute)"
            )
        }
    };
    crate::budgeted!(PER_ADDRESS, Level::INFO, %peer, "closing a new connection: {why}");
}
