//! The metrics listener (`metrics_listen`): plain HTTP for a Prometheus
//! server, without authentication. `GET /metrics` answers as the admin
//! API's `GET /v1/metrics` and `GET /health` as its `GET /v1/health` (the
//! same handlers, `crate::admin::metrics` and `crate::admin::health`);
//! any other path is 404, any other method 405.
//!
//! Bounded like every socket chatd serves: at most [`MAX_CONNECTIONS`] at
//! once (more are closed at accept), a request head of at most
//! [`MAX_REQUEST`] bytes that must come within [`HEAD_TIMEOUT`], and a
//! connection that lives at most [`CONNECTION_TIMEOUT`] (a scraper
//! reconnects).

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::{Request, StatusCode};
use axum::routing::get;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;
use tower_service::Service as _;
use tracing::Level;

use crate::admin;
use crate::logging::line_budget::LineBudget;

/// Connections served at once.
pub const MAX_CONNECTIONS: usize = 16;

/// Largest request head read (hyper's minimum buffer).
const MAX_REQUEST: usize = 8 * 1024;

/// Time for a request's head to arrive, the first and each next one.
const HEAD_TIMEOUT: Duration = Duration::from_secs(5);

/// Longest a connection is kept.
const CONNECTION_TIMEOUT: Duration = Duration::from_secs(60);

/// The two paths, answered with the admin API's handlers.
fn router(parts: admin::Parts) -> Router {
    Router::new()
        .route("/metrics", get(admin::metrics::metrics))
        .route("/health", get(admin::health::health))
        .method_not_allowed_fallback(|| async {
            (
                StatusCode::METHOD_NOT_ALLOWED,
                "only GET is answered here\n",
            )
        })
        .fallback(|| async {
            (
                StatusCode::NOT_FOUND,
                "not found: chatd answers GET /metrics and GET /health here\n",
            )
        })
        .with_state(parts)
}

/// Serves `listener` until `stopped`: the end of chatd's shutdown, not its
/// start, so that `/health` says `shutting_down` (and a scrape counts the
/// sessions ended) while the sessions are closed.
pub async fn serve(listener: TcpListener, parts: admin::Parts, stopped: CancellationToken) {
    if let Ok(addr) = listener.local_addr() {
        tracing::info!(
            "serving metrics on http://{addr}/metrics and health on http://{addr}/health"
        );
    }
    let router = router(parts);
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    tracing::debug!(error = %e, "metrics listener: accept failed");
                    tokio::select! {
                        () = tokio::time::sleep(Duration::from_millis(100)) => continue,
                        () = stopped.cancelled() => return,
                    }
                }
            },
            () = stopped.cancelled() => return,
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            static FULL: LineBudget = LineBudget::new(
                "metrics listener: closing connections over its cap",
                1,
                Duration::from_secs(10),
            );
            crate::budgeted!(
                FULL,
                Level::WARN,
                %peer,
                "metrics listener: {MAX_CONNECTIONS} connections are open; closing a new one"
            );
            drop(stream);
            continue;
        };
        tokio::spawn(connection(stream, router.clone(), slot, stopped.clone()));
    }
}

/// Serves one connection within its bounds.
async fn connection(
    stream: TcpStream,
    router: Router,
    _slot: OwnedSemaphorePermit,
    stopped: CancellationToken,
) {
    let service =
        hyper::service::service_fn(move |request: Request<Incoming>| router.clone().call(request));
    let http = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEAD_TIMEOUT)
        .max_buf_size(MAX_REQUEST)
        .max_headers(32)
        .serve_connection(TokioIo::new(stream), service);
    tokio::select! {
        _ = tokio::time::timeout(CONNECTION_TIMEOUT, http) => {}
        () = stopped.cancelled() => {}
    }
}
