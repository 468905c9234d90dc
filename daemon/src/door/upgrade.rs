//! The chat listener's HTTP answers, as an axum router: any path upgrades
//! to a chat session (RFC 6455 §4.2, subprotocol `chat.v1` selected when
//! offered); anything else gets a short refusal that closes the connection
//! (400 for an upgrade without a valid key, 426 for a plain request, 503
//! while shutting down or too busy).
//!
//! The upgrade itself is done here rather than by axum's `WebSocketUpgrade`:
//! the session needs the raw upgraded stream for tokio-tungstenite, so that
//! it can send a long message as fragments (axum's socket sends whole
//! messages only) and set tungstenite's buffers and limits per connection.

use axum::Router;
use axum::body::Body;
use axum::extract::{Extension, Request, State};
use axum::http::header::{
    CONNECTION, CONTENT_TYPE, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_KEY, SEC_WEBSOCKET_PROTOCOL,
    SEC_WEBSOCKET_VERSION, UPGRADE,
};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Version};
use axum::response::{IntoResponse, Response};
use chat_protocol::sizes::{MAX_AUTH, MAX_SERVER_MESSAGE, max_client_message};
use hyper_util::rt::TokioIo;
use std::sync::atomic::Ordering;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use tracing::Level;

use super::forwarded::{ForwardedHeader, Malformed, Proxies};
use super::{Accepted, PENDING_SLACK, Parts, refusal, refuse_address, warn_busy};
use crate::config::Config;
use crate::logging::line_budget::LineBudget;
use crate::metrics::labels::{HandshakeFailure, Refusal};
use crate::per_address::connections::Limits;
use crate::session::connection::Connection;

/// tungstenite's write buffer: frames fed to it are written out once it
/// holds more than this, and at every flush. A writer feeds a batch of
/// events and flushes once, so a batch costs about one write(2) per this
/// many bytes instead of one per event; it is also about what the buffer
/// keeps allocated once a batch has gone through it.
pub const WRITE_BUFFER: usize = 4 * 1024;

/// tungstenite's read buffer, allocated for every connection at the
/// upgrade and kept for its life: what a client sends is small (a `Hello`
/// is 78 bytes, a line of chat a few hundred); a longer message grows the
/// buffer for its frame. It is also the most read(2) takes at once: a
/// client sending as fast as it may sends a few lines per read.
pub const READ_BUFFER: usize = 1024;

/// The chat listener's routes: every path and method, one handler.
pub fn router(parts: Parts) -> Router {
    Router::new().fallback(answer).with_state(parts)
}

/// The answer to one request on any path: `101 Switching Protocols` and a
/// session for a WebSocket upgrade (RFC 6455 §4.2), else a short refusal.
async fn answer(
    State(parts): State<Parts>,
    Extension(accepted): Extension<Accepted>,
    mut request: Request,
) -> Response {
    let peer = accepted.peer;
    let key = match upgrade_key(&request) {
        Upgrade::Key(key) => key,
        Upgrade::BadKey => {
            accepted.tally.failed(HandshakeFailure::Upgrade);
            return refuse(
                StatusCode::BAD_REQUEST,
                "a WebSocket upgrade needs a Sec-WebSocket-Key of 16 bytes in base64\n",
            );
        }
        Upgrade::No => {
            accepted.tally.failed(HandshakeFailure::Upgrade);
            return refuse(
                StatusCode::UPGRADE_REQUIRED,
                "This is a chat server (chatd). It speaks WebSocket, subprotocol chat.v1: join it with the `chat` client.\n",
            );
        }
    };
    if parts.shutdown.is_cancelled() {
        accepted.tally.failed(HandshakeFailure::Shutdown);
        return refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            "the server is shutting down\n",
        );
    }
    let config = parts.config.get();
    // Through a trusted proxy: the client is the one its header names, and
    // is counted now, under that address (see `forwarded.rs`).
    let (client, held) = if accepted.via_proxy {
        let proxies = Proxies::of(&config);
        let client = match proxies.client(request.headers(), peer) {
            Ok(client) => client,
            Err(Malformed(what)) => {
                accepted.tally.failed(HandshakeFailure::Upgrade);
                return malformed(peer, proxies.header, &what);
            }
        };
        match parts
            .door
            .per_address
            .admit(client.ip(), &Limits::of(&config))
        {
            Ok(held) => (client, held),
            Err(refused) => {
                accepted.tally.refused(refusal(&refused));
                refuse_address(client, &refused);
                return refuse(
                    StatusCode::TOO_MANY_REQUESTS,
                    "too many connections from your address; try again later\n",
                );
            }
        }
    } else {
        (peer, None)
    };
    // This connection is among those counted.
    if parts.door.connections.load(Ordering::Relaxed) > config.max_users + PENDING_SLACK {
        accepted.tally.refused(Refusal::Capacity);
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
    let ws_config = ws_config(&config);
    let upgraded = hyper::upgrade::on(&mut request);
    let session = parts.session.clone();
    let task = async move {
        match upgraded.await {
            Ok(upgraded) => {
                let conn = Connection::new(TokioIo::new(upgraded), ws_config).await;
                let tally = accepted.tally.clone();
                crate::session::run(conn, client, accepted.deadline, tally, session).await;
            }
            Err(e) => tracing::debug!(%peer, error = %e, "the upgrade did not complete"),
        }
        // The places, in `held` and `accepted`, are released only now.
        drop(held);
        drop(accepted.slot);
    };
    // What every connection's task holds for its life, beside what it
    // allocates (see docs/architecture.md, memory): logged once.
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| tracing::debug!(bytes = size_of_val(&task), "session task future size"));
    parts.sessions.spawn(task);
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

/// The answer to a trusted proxy whose header names no client address:
/// 400, and a line in the log (within a budget: a broken proxy sends it
/// for every request).
fn malformed(proxy: std::net::SocketAddr, header: ForwardedHeader, what: &str) -> Response {
    static MALFORMED: LineBudget = LineBudget::new(
        "refused: a trusted proxy's header names no client",
        3,
        std::time::Duration::from_secs(10),
    );
    let what: String = what.chars().take(100).collect();
    crate::budgeted!(
        MALFORMED,
        Level::WARN,
        %proxy,
        "refused a request from a trusted proxy: its {} header has {what:?} where the client's address belongs; \
         fix the proxy, or set forwarded_header to the header it sets",
        header.name()
    );
    refuse(
        StatusCode::BAD_REQUEST,
        match header {
            ForwardedHeader::XForwardedFor => {
                "the proxy in front of this server sent an X-Forwarded-For header that names no client address\n"
            }
            ForwardedHeader::Forwarded => {
                "the proxy in front of this server sent a Forwarded header that names no client address\n"
            }
        },
    )
}

/// tungstenite's buffers and limits for a chat connection under `config`.
/// Small buffers: an idle connection holds a few KiB, not hundreds.
pub fn ws_config(config: &Config) -> WebSocketConfig {
    let max_in = MAX_AUTH.max(max_client_message(config.max_text));
    WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(WRITE_BUFFER)
        .max_write_buffer_size(2 * MAX_SERVER_MESSAGE)
        .max_message_size(Some(max_in))
        .max_frame_size(Some(max_in))
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
fn refuse(status: StatusCode, text: &'static str) -> Response {
    let headers = [
        (CONNECTION, "close"),
        (SEC_WEBSOCKET_VERSION, "13"),
        (CONTENT_TYPE, "text/plain; charset=utf-8"),
    ];
    (status, headers, text).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(headers: &[(&str, &str)]) -> axum::http::Request<()> {
        let mut builder = axum::http::Request::builder().method("GET").uri("/");
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
