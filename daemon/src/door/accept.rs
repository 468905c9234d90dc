//! The chat listener: every TCP connection, from `accept` to the upgrade.
//!
//! chatd keeps its own accept loop, for bounds that a server facing the
//! network needs and that `axum::serve` does not give: each connection is
//! counted from `accept` until its session ends (so connections that never
//! upgrade count too, and past a hard cap are closed at once); one
//! deadline, taken at `accept`, covers the upgrade and the chat handshake
//! (a connection that sends nothing, or half a request, is dropped); a
//! request head is at most 8 KiB. Each connection is then served by hyper's
//! HTTP/1 with those bounds, and its requests by the axum router of
//! [`crate::door::upgrade`], which answers every path.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::Router;
use axum::http::Request;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tower_service::Service as _;
use tracing::Level;

use crate::logging::line_budget::Throttle;
use crate::state::App;

/// Connections allowed beyond `max_users`, for handshakes in progress;
/// past it an upgrade is answered 503.
pub const PENDING_SLACK: usize = 64;

/// Connections past the 503 band are closed as soon as they are accepted.
const HARD_SLACK: usize = 2 * PENDING_SLACK;

/// Largest HTTP request head read before the upgrade (hyper's minimum).
const MAX_REQUEST: usize = 8 * 1024;

/// One open TCP connection, counted in `AppState::connections` from
/// `accept` until the connection, and the session it became, have ended.
pub struct Slot(
    App,
    #[allow(dead_code)] Option<crate::per_address::connections::Held>,
);

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
}

/// The most connections open at once for this `max_users`.
pub fn max_connections(max_users: usize) -> usize {
    max_users.saturating_add(HARD_SLACK)
}

impl Slot {
    /// A slot, unless [`max_connections`] are open.
    fn take(app: &App, held: Option<crate::per_address::connections::Held>) -> Option<Arc<Slot>> {
        let cap = max_connections(app.hub.config().max_users);
        if app.connections.fetch_add(1, Ordering::Relaxed) >= cap {
            app.connections.fetch_sub(1, Ordering::Relaxed);
            return None;
        }
        Some(Arc::new(Slot(app.clone(), held)))
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
    static BUSY: Throttle = Throttle::new("refusing connections", 1, Duration::from_secs(10));
    crate::throttled!(BUSY, Level::WARN, %peer, "{what} (said at most once every 10 s)");
}

/// Logs a connection refused by the per-address limits, a few times per
/// 10 s (anyone can cause it).
pub fn refuse_address(peer: SocketAddr, refused: &crate::per_address::connections::Refused) {
    static PER_ADDRESS: Throttle = Throttle::new(
        "closing connections over a per-address limit",
        5,
        Duration::from_secs(10),
    );
    let why = match refused {
        crate::per_address::connections::Refused::TooMany(n) => {
            format!("{n} connections from this address are open (max_connections_per_ip)")
        }
        crate::per_address::connections::Refused::TooFast(n) => {
            format!(
                "{n} connections from this address in the last minute (connections_per_ip_per_minute)"
            )
        }
    };
    crate::throttled!(PER_ADDRESS, Level::INFO, %peer, "closing a new connection: {why}");
}

/// Accepts chat connections until the shutdown.
pub async fn serve(listener: TcpListener, app: App) {
    let router = crate::door::upgrade::router(app.clone());
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    accept_failed(e, &app).await;
                    continue;
                }
            },
            () = app.shutdown.cancelled() => return,
        };
        // One deadline from here to the Welcome: the upgrade and the chat
        // handshake share it.
        let config = app.hub.config();
        let deadline = Instant::now() + config.handshake_timeout.0;
        // One address may not hold or churn through every slot. A trusted
        // proxy's connections are counted once its request says for whom
        // (`upgrade.rs`).
        let via_proxy = config.proxies().trusts(peer.ip());
        let held = match via_proxy {
            true => None,
            false => match app.per_address.admit(peer.ip(), &config.limits()) {
                Ok(held) => held,
                Err(refused) => {
                    refuse_address(peer, &refused);
                    drop(stream);
                    continue;
                }
            },
        };
        let Some(slot) = Slot::take(&app, held) else {
            warn_busy(
                peer,
                &format!("closing new connections: too many are open (max_users + {HARD_SLACK})"),
            );
            drop(stream);
            continue;
        };
        let accepted = Accepted {
            peer,
            via_proxy,
            deadline,
            slot,
        };
        let shutdown = app.shutdown.clone();
        tokio::spawn(connection(stream, accepted, router.clone(), shutdown));
    }
}

/// `accept` failed: a peer that gave up is nothing; anything else (out of
/// file descriptors, say) is logged and retried after a pause, as hyper does.
async fn accept_failed(e: std::io::Error, app: &App) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        e.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        return;
    }
    tracing::error!("cannot accept connections: {e}; retrying in 1 s");
    tokio::select! {
        () = tokio::time::sleep(Duration::from_secs(1)) => {}
        () = app.shutdown.cancelled() => {}
    }
}

/// Serves the HTTP phase of one connection through the chat `router`,
/// bounded by its deadline; an upgrade hands the socket to a session and
/// ends this task.
async fn connection(
    stream: TcpStream,
    accepted: Accepted,
    router: Router,
    shutdown: CancellationToken,
) {
    let _ = stream.set_nodelay(true);
    let (peer, deadline) = (accepted.peer, accepted.deadline);
    let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
        request.extensions_mut().insert(accepted.clone());
        router.clone().call(request)
    });
    let http = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(deadline.saturating_duration_since(Instant::now()))
        // An upgrade request is a few hundred bytes: no slot may hold more.
        .max_buf_size(MAX_REQUEST)
        .max_headers(32)
        .serve_connection(TokioIo::new(stream), service)
        .with_upgrades();
    tokio::select! {
        served = tokio::time::timeout_at(deadline, http) => match served {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::debug!(%peer, error = %e, "HTTP phase failed"),
            Err(_) => tracing::debug!(%peer, "closed: no WebSocket upgrade within the handshake deadline"),
        },
        () = shutdown.cancelled() => {}
    }
}
