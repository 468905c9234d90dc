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

use std::time::Duration;

use axum::Router;
use axum::http::Request;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tower_service::Service as _;

use super::forwarded::Proxies;
use super::{
    Accepted, HARD_SLACK, Parts, Slot, max_connections, refusal, refuse_address, warn_busy,
};
use crate::metrics::labels::{HandshakeFailure, Refusal};
use crate::per_address::connections::Limits;

/// Largest HTTP request head read before the upgrade (hyper's minimum).
const MAX_REQUEST: usize = 8 * 1024;

/// Accepts chat connections until the shutdown.
pub async fn serve(listener: TcpListener, parts: Parts) {
    let router = super::upgrade::router(parts.clone());
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    accept_failed(e, &parts.shutdown).await;
                    continue;
                }
            },
            () = parts.door.probe.asked() => {
                parts.door.probe.answer();
                continue;
            }
            () = parts.shutdown.cancelled() => return,
        };
        parts.metrics.connections_accepted.inc();
        // One deadline from here to the Welcome: the upgrade and the chat
        // handshake share it.
        let config = parts.config.get();
        let deadline = Instant::now() + config.handshake_timeout.0;
        // One address may not hold or churn through every slot. A trusted
        // proxy's connections are counted once its request says for whom
        // (`upgrade.rs`).
        let via_proxy = Proxies::of(&config).trusts(peer.ip());
        let held = match via_proxy {
            true => None,
            false => match parts
                .door
                .per_address
                .admit(peer.ip(), &Limits::of(&config))
            {
                Ok(held) => held,
                Err(refused) => {
                    parts.metrics.connections_refused.inc(refusal(&refused));
                    refuse_address(peer, &refused);
                    drop(stream);
                    continue;
                }
            },
        };
        let Some(slot) = Slot::take(&parts.door, max_connections(config.max_users), held) else {
            parts.metrics.connections_refused.inc(Refusal::Capacity);
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
            tally: parts.metrics.connection(),
        };
        let shutdown = parts.shutdown.clone();
        tokio::spawn(connection(stream, accepted, router.clone(), shutdown));
    }
}

/// `accept` failed: a peer that gave up is nothing; anything else (out of
/// file descriptors, say) is logged and retried after a pause, as hyper does.
async fn accept_failed(e: std::io::Error, shutdown: &CancellationToken) {
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
        () = shutdown.cancelled() => {}
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
    let tally = accepted.tally.clone();
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
            Ok(Err(e)) => {
                // Not HTTP, or too large a request: a scanner, not a client.
                if e.is_timeout() {
                    tally.failed(HandshakeFailure::Timeout);
                } else if e.is_parse() || e.is_parse_too_large() {
                    tally.failed(HandshakeFailure::Upgrade);
                }
                tracing::debug!(%peer, error = %e, "HTTP phase failed");
            }
            Err(_) => {
                tally.failed(HandshakeFailure::Timeout);
                tracing::debug!(%peer, "closed: no WebSocket upgrade within the handshake deadline");
            }
        },
        () = shutdown.cancelled() => tally.failed(HandshakeFailure::Shutdown),
    }
}
