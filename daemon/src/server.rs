//! The chat listener: every TCP connection, from `accept` to the upgrade.
//!
//! chatd runs its own accept loop rather than `axum::serve`, for three
//! bounds that a server facing the network needs and `axum::serve` lacks:
//! each connection is counted from `accept` until its session ends (so
//! connections that never upgrade count too, and past a hard cap are
//! closed at once); the HTTP phase must end within the handshake deadline
//! (a connection that sends nothing, or half a request, is dropped); and a
//! request that is not an upgrade gets its answer with `Connection: close`.
//! Any path upgrades to a session.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::{ConnectInfo, Extension, State};
use axum::http::{Request, StatusCode};
use axum::response::{IntoResponse, Response};
use chat_protocol::limits::{MAX_AUTH, MAX_SERVER_MESSAGE, max_client_message};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};

use crate::state::App;

/// Connections allowed beyond `max_users`, for handshakes in progress;
/// past it an upgrade is answered 503.
const PENDING_SLACK: usize = 64;

/// Connections past the 503 band are closed as soon as they are accepted.
const HARD_SLACK: usize = 2 * PENDING_SLACK;

/// One open TCP connection, counted in `AppState::connections` from
/// `accept` until the connection, and the session it became, have ended.
pub struct Slot(App);

/// The most connections open at once for this `max_users`.
pub fn max_connections(max_users: usize) -> usize {
    max_users.saturating_add(HARD_SLACK)
}

impl Slot {
    /// A slot, unless [`max_connections`] are open.
    fn take(app: &App) -> Option<Arc<Slot>> {
        let cap = max_connections(app.hub.config().max_users);
        if app.connections.fetch_add(1, Ordering::Relaxed) >= cap {
            app.connections.fetch_sub(1, Ordering::Relaxed);
            return None;
        }
        Some(Arc::new(Slot(app.clone())))
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.connections.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Accepts chat connections until the shutdown.
pub async fn serve(listener: TcpListener, app: App) {
    let router = router(app.clone());
    let mut last_warning: Option<Instant> = None;
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    accept_failed(e).await;
                    continue;
                }
            },
            () = app.shutdown.cancelled() => return,
        };
        let Some(slot) = Slot::take(&app) else {
            // Once every 10 s at most: a flood must not flood the log too.
            if last_warning.is_none_or(|t| t.elapsed() > Duration::from_secs(10)) {
                tracing::warn!(%peer, "closing new connections: too many are open (max_users + {HARD_SLACK})");
                last_warning = Some(Instant::now());
            }
            drop(stream);
            continue;
        };
        tokio::spawn(connection(stream, peer, slot, router.clone(), app.clone()));
    }
}

/// `accept` failed: a peer that gave up is nothing; anything else (out of
/// file descriptors, say) is logged and retried after a pause, as hyper does.
async fn accept_failed(e: std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        e.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        return;
    }
    tracing::error!("cannot accept connections: {e}; retrying in 1 s");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

/// Serves the HTTP phase of one connection, bounded by the handshake
/// deadline; an upgrade hands the socket to a session and ends this task.
async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    slot: Arc<Slot>,
    router: Router,
    app: App,
) {
    let _ = stream.set_nodelay(true);
    let deadline = app.hub.config().handshake_timeout.0;
    let service = hyper::service::service_fn(move |mut request: Request<hyper::body::Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        request.extensions_mut().insert(slot.clone());
        let mut router = router.clone();
        tower_service::Service::call(&mut router, request.map(Body::new))
    });
    let http = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(deadline)
        .serve_connection(TokioIo::new(stream), service)
        .with_upgrades();
    tokio::select! {
        served = tokio::time::timeout(deadline, http) => match served {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::debug!(%peer, error = %e, "HTTP phase failed"),
            Err(_) => tracing::debug!(%peer, "closed: no WebSocket upgrade within the handshake deadline"),
        },
        () = app.shutdown.cancelled() => {}
    }
}

/// The router: any path, any method that upgrades.
fn router(app: App) -> Router {
    Router::new().fallback(upgrade).with_state(app)
}

async fn upgrade(
    State(app): State<App>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Extension(slot): Extension<Arc<Slot>>,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let Ok(ws) = ws else {
        return refuse(
            StatusCode::UPGRADE_REQUIRED,
            "This is a chat server (chatd). It speaks WebSocket, subprotocol chat.v1: join it with the `chat` client.\n",
        );
    };
    if app.shutdown.is_cancelled() {
        return refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            "the server is shutting down\n",
        );
    }
    let config = app.hub.config();
    // This connection is among those counted.
    if app.connections.load(Ordering::Relaxed) > config.max_users + PENDING_SLACK {
        tracing::warn!(%peer, "refused a connection: too many open connections");
        return refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            "the server is busy; try again later\n",
        );
    }
    let max_in = MAX_AUTH.max(max_client_message(config.max_text));
    let sessions = app.sessions.clone();
    ws.protocols([chat_protocol::SUBPROTOCOL])
        .read_buffer_size(4 * 1024)
        .write_buffer_size(0)
        .max_write_buffer_size(2 * MAX_SERVER_MESSAGE)
        .max_message_size(max_in)
        .max_frame_size(max_in)
        .on_upgrade(move |socket| {
            sessions.track_future(async move {
                crate::session::run(socket, peer, app).await;
                drop(slot);
            })
        })
}

/// An answer that ends the connection.
fn refuse(status: StatusCode, text: &'static str) -> Response {
    (status, [(axum::http::header::CONNECTION, "close")], text).into_response()
}
