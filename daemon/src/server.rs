//! The chat listener: every TCP connection, from `accept` to the upgrade.
//!
//! chatd runs its own accept loop and WebSocket upgrade (hyper's HTTP/1 and
//! tungstenite; axum serves only the admin API), for bounds that a server
//! facing the network needs: each connection is counted from `accept`
//! until its session ends (so connections that never upgrade count too, and
//! past a hard cap are closed at once); one deadline, taken at `accept`,
//! covers the upgrade and the chat handshake (a connection that sends
//! nothing, or half a request, is dropped); a request head is at most 8 KiB;
//! a request that is not an upgrade gets its answer with `Connection:
//! close`. Any path upgrades to a session. Owning the socket also lets the
//! session send a large message in fragments (see `session::frames`).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::body::Body;
use axum::http::header::{
    CONNECTION, CONTENT_TYPE, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_KEY, SEC_WEBSOCKET_PROTOCOL,
    SEC_WEBSOCKET_VERSION, UPGRADE,
};
use axum::http::{
    HeaderMap, HeaderName, HeaderValue, Method, Request, Response, StatusCode, Version,
};
use chat_protocol::limits::{MAX_AUTH, MAX_SERVER_MESSAGE, max_client_message};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tracing::Level;

use crate::connection::Connection;
use crate::state::App;
use crate::throttle::Throttle;

/// Connections allowed beyond `max_users`, for handshakes in progress;
/// past it an upgrade is answered 503.
const PENDING_SLACK: usize = 64;

/// Connections past the 503 band are closed as soon as they are accepted.
const HARD_SLACK: usize = 2 * PENDING_SLACK;

/// Largest HTTP request head read before the upgrade (hyper's minimum).
const MAX_REQUEST: usize = 8 * 1024;

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

/// Warns that connections are being refused, at most once every 10 s: a
/// flood must not flood the log too.
fn warn_busy(peer: SocketAddr, what: &str) {
    static BUSY: Throttle = Throttle::new(1, Duration::from_secs(10));
    crate::throttled!(BUSY, Level::WARN, %peer, "{what} (said at most once every 10 s)");
}

/// Accepts chat connections until the shutdown.
pub async fn serve(listener: TcpListener, app: App) {
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
        let deadline = Instant::now() + app.hub.config().handshake_timeout.0;
        let Some(slot) = Slot::take(&app) else {
            warn_busy(
                peer,
                &format!("closing new connections: too many are open (max_users + {HARD_SLACK})"),
            );
            drop(stream);
            continue;
        };
        tokio::spawn(connection(stream, peer, deadline, slot, app.clone()));
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

/// Serves the HTTP phase of one connection, bounded by its deadline; an
/// upgrade hands the socket to a session and ends this task.
async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    deadline: Instant,
    slot: Arc<Slot>,
    app: App,
) {
    let _ = stream.set_nodelay(true);
    let shutdown = app.shutdown.clone();
    let service = hyper::service::service_fn(move |request| {
        let response = answer(request, peer, deadline, &slot, &app);
        async move { Ok::<_, Infallible>(response) }
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

/// The answer to one request on any path: `101 Switching Protocols` and a
/// session for a WebSocket upgrade (RFC 6455 §4.2), else a short refusal.
fn answer(
    mut request: Request<hyper::body::Incoming>,
    peer: SocketAddr,
    deadline: Instant,
    slot: &Arc<Slot>,
    app: &App,
) -> Response<Body> {
    let key = match upgrade_key(&request) {
        Upgrade::Key(key) => key,
        Upgrade::BadKey => {
            return refuse(
                StatusCode::BAD_REQUEST,
                "a WebSocket upgrade needs a Sec-WebSocket-Key of 16 bytes in base64\n",
            );
        }
        Upgrade::No => {
            return refuse(
                StatusCode::UPGRADE_REQUIRED,
                "This is a chat server (chatd). It speaks WebSocket, subprotocol chat.v1: join it with the `chat` client.\n",
            );
        }
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
        warn_busy(
            peer,
            &format!(
                "answering upgrades 503: more than max_users + {PENDING_SLACK} connections are open"
            ),
        );
        return refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            "the server is busy; try again later\n",
        );
    }
    let accept = derive_accept_key(key.as_bytes());
    // Subprotocol names are case-sensitive (RFC 6455 §4.1): `chat.v1` only.
    let offered = request
        .headers()
        .get_all(SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|p| p.trim() == chat_protocol::SUBPROTOCOL);
    // Small buffers: an idle connection holds a few KiB, not hundreds.
    let max_in = MAX_AUTH.max(max_client_message(config.max_text));
    let ws_config = WebSocketConfig::default()
        .read_buffer_size(4 * 1024)
        .write_buffer_size(0)
        .max_write_buffer_size(2 * MAX_SERVER_MESSAGE)
        .max_message_size(Some(max_in))
        .max_frame_size(Some(max_in));
    let upgraded = hyper::upgrade::on(&mut request);
    let (slot, session_app) = (slot.clone(), app.clone());
    app.sessions.spawn(async move {
        match upgraded.await {
            Ok(upgraded) => {
                let conn = Connection::new(TokioIo::new(upgraded), ws_config).await;
                crate::session::run(conn, peer, deadline, session_app).await;
            }
            Err(e) => tracing::debug!(%peer, error = %e, "the upgrade did not complete"),
        }
        drop(slot);
    });
    let mut response = Response::builder()
        .status(StatusCode::SWITCHING_PROTOCOLS)
        .header(CONNECTION, "upgrade")
        .header(UPGRADE, "websocket")
        .header(SEC_WEBSOCKET_ACCEPT, accept);
    if offered {
        response = response.header(SEC_WEBSOCKET_PROTOCOL, chat_protocol::SUBPROTOCOL);
    }
    response.body(Body::empty()).expect("a valid 101 response")
}

/// What a request asks for.
#[derive(Debug, PartialEq)]
enum Upgrade<'a> {
    /// A WebSocket upgrade, with its `Sec-WebSocket-Key`.
    Key(&'a HeaderValue),
    /// A WebSocket upgrade without a valid key (RFC 6455 §4.2.1: 400).
    BadKey,
    /// Anything else.
    No,
}

/// Whether `request` is a WebSocket upgrade: HTTP/1.1 `GET` with
/// `Connection: upgrade`, `Upgrade: websocket`, version 13 and a key that
/// is 16 bytes in base64.
fn upgrade_key<B>(request: &Request<B>) -> Upgrade<'_> {
    use base64::Engine as _;
    let headers = request.headers();
    let upgrade = request.method() == Method::GET
        && request.version() == Version::HTTP_11
        && has_token(headers, &CONNECTION, "upgrade")
        && has_token(headers, &UPGRADE, "websocket")
        && headers
            .get(SEC_WEBSOCKET_VERSION)
            .is_some_and(|v| v == "13");
    if !upgrade {
        return Upgrade::No;
    }
    match headers.get(SEC_WEBSOCKET_KEY) {
        Some(key)
            if base64::engine::general_purpose::STANDARD
                .decode(key.as_bytes())
                .is_ok_and(|k| k.len() == 16) =>
        {
            Upgrade::Key(key)
        }
        _ => Upgrade::BadKey,
    }
}

/// Whether a comma-separated header lists `token` (case-insensitively).
fn has_token(headers: &HeaderMap, name: &HeaderName, token: &str) -> bool {
    headers.get_all(name).iter().any(|value| {
        value
            .to_str()
            .is_ok_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
    })
}

/// An answer that ends the connection; it names the WebSocket version
/// chatd speaks, as RFC 6455 asks of a refused upgrade.
fn refuse(status: StatusCode, text: &'static str) -> Response<Body> {
    Response::builder()
        .status(status)
        .header(CONNECTION, "close")
        .header(SEC_WEBSOCKET_VERSION, "13")
        .header(CONTENT_TYPE, "text/plain; charset=utf-8")
        .body(Body::from(text))
        .expect("a valid response")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(headers: &[(&str, &str)]) -> Request<()> {
        let mut builder = Request::builder().method("GET").uri("/");
        for (k, v) in headers {
            builder = builder.header(*k, *v);
        }
        builder.body(()).unwrap()
    }

    #[test]
    fn only_a_websocket_upgrade_has_a_key() {
        let good = [
            ("Connection", "keep-alive, Upgrade"),
            ("Upgrade", "WebSocket"),
            ("Sec-WebSocket-Version", "13"),
            ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
        ];
        assert!(
            matches!(upgrade_key(&request(&good)), Upgrade::Key(k) if k == "dGhlIHNhbXBsZSBub25jZQ==")
        );
        // RFC 6455's example.
        assert_eq!(
            derive_accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
        for drop in 0..good.len() {
            let missing: Vec<_> = good
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != drop)
                .map(|(_, h)| *h)
                .collect();
            let expected = if drop == 3 {
                Upgrade::BadKey
            } else {
                Upgrade::No
            };
            assert_eq!(upgrade_key(&request(&missing)), expected, "{missing:?}");
        }
        let mut old = good;
        old[2] = ("Sec-WebSocket-Version", "8");
        assert_eq!(upgrade_key(&request(&old)), Upgrade::No);
        let mut short = good;
        short[3] = ("Sec-WebSocket-Key", "c2hvcnQ=");
        assert_eq!(upgrade_key(&request(&short)), Upgrade::BadKey);
        let mut post = request(&good);
        *post.method_mut() = Method::POST;
        assert_eq!(upgrade_key(&post), Upgrade::No);
    }
}
