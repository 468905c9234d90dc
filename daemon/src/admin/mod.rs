//! The admin API: HTTP/1.1 + JSON over `RUNTIME_DIR/admin.sock`.
//!
//! Three gates before any handler runs: the socket's mode (0660, group =
//! the admin group), the caller's `SO_PEERCRED` (root, the daemon's user or
//! the admin group), and no browser headers (`Origin`, `Referer`), so a web
//! page can never drive it. Handlers live in `api`; every mutating call is
//! logged with the caller's uid, never with a secret.

mod api;
mod bans;
pub mod health;
pub mod metrics;
mod mutes;
mod names;
mod operators;
pub mod peer;
mod rooms;
pub mod socket;

pub use socket::{BindError, bind, socket_path};

use std::sync::Arc;

use axum::Router;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chat_protocol::admin::{ApiError, ErrorBody};

use tokio_util::sync::CancellationToken;
use tracing::Level;

use crate::cluster::Peers;
use crate::config::Current;
use crate::door::Door;
use crate::hub::Hub;
use crate::logging::line_budget::LineBudget;
use crate::metrics::Metrics;
use crate::ops::reload::Reload;
use crate::ops::rotate::Rotation;
use crate::ops::status::Facts;
use crate::per_address::Guesses;
use crate::registry::Registry;
use crate::store::keyring::Keyring;
use peer::Peer;

/// What the admin API uses of the daemon: nearly all of it, since it
/// reports on and changes every part. A handler names the parts it uses
/// (`State(Parts { hub, peers, .. })`).
#[derive(Clone)]
pub struct Parts {
    /// The configuration in force.
    pub config: Arc<Current>,
    /// The admin group's gid, when one is configured.
    pub admin_gid: Option<u32>,
    /// When the daemon started, where it listens, its message rate.
    pub facts: Arc<Facts>,
    /// Wrong passwords per address (the status counts the addresses
    /// throttled).
    pub guesses: Arc<Guesses>,
    /// The keys and the password.
    pub keyring: Arc<Keyring>,
    /// The room.
    pub hub: Arc<Hub>,
    /// The names registry.
    pub registry: Arc<Registry>,
    /// Bans and what moderation uses on this node.
    pub moderating: crate::ops::moderate::Moderating,
    /// The other nodes, if any.
    pub peers: Arc<Peers>,
    /// The door, whose accept loop answers the health check's probe.
    pub door: Arc<Door>,
    /// What chatd counts, for `/v1/metrics` (and counted into by changes).
    pub metrics: Metrics,
    /// Fires at shutdown: the health check says so.
    pub shutdown: CancellationToken,
    /// A key rotation on this node.
    pub rotation: Rotation,
    /// A reload on this node.
    pub reload: Reload,
}

/// Largest request body: a notice of the longest text, escaped, fits.
const MAX_BODY: usize = 512 * 1024;

/// An error answer: status, stable code and a human message.
pub struct Failure {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl Failure {
    /// A failure with this status and code.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    /// 400 bad_request.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    /// 500 internal.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message)
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ApiError {
                code: self.code.to_string(),
                message: self.message,
            },
        };
        (self.status, axum::Json(body)).into_response()
    }
}

/// Refuses callers who are not root, the daemon's user or in the admin group,
/// and anything a browser sent.
/// Refused callers are logged only a few times per this window.
const REFUSAL_LOG_WINDOW: std::time::Duration = std::time::Duration::from_secs(10);

async fn guard(
    State(Parts {
        config, admin_gid, ..
    }): State<Parts>,
    ConnectInfo(peer): ConnectInfo<Peer>,
    request: Request,
    next: Next,
) -> Response {
    let headers = request.headers();
    if headers.contains_key(header::ORIGIN) || headers.contains_key(header::REFERER) {
        static BROWSER: LineBudget = LineBudget::new(
            "admin API: refused a request with browser headers",
            5,
            REFUSAL_LOG_WINDOW,
        );
        crate::budgeted!(
            BROWSER,
            Level::WARN,
            uid = peer.uid,
            "admin API: refused a request with browser headers (Origin/Referer)"
        );
        return Failure::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "requests from web browsers are refused",
        )
        .into_response();
    }
    if !peer::allowed(&peer, crate::store::paths::euid(), admin_gid) {
        // Anyone who can reach the socket can cause this line: a few per
        // window, then a count.
        static REFUSED: LineBudget =
            LineBudget::new("admin API: refused caller", 5, REFUSAL_LOG_WINDOW);
        match peer.pid {
            Some(pid) => {
                crate::budgeted!(
                    REFUSED,
                    Level::WARN,
                    uid = peer.uid,
                    pid,
                    "admin API: refused caller"
                );
            }
            None => crate::budgeted!(
                REFUSED,
                Level::WARN,
                uid = peer.uid,
                "admin API: refused caller"
            ),
        }
        let group = match &config.get().admin_group {
            Some(g) => format!(", or a member of the group \"{g}\""),
            None => String::new(),
        };
        let message =
            format!("permission denied: the admin API admits root, the daemon's own user{group}");
        return Failure::new(StatusCode::FORBIDDEN, "forbidden", message).into_response();
    }
    next.run(request).await
}

/// Every error of this API is JSON; axum's own rejections (a path segment
/// that does not decode, a body over the size limit) come as plain text, so
/// they are rewrapped here with their text as the message.
async fn json_errors(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if is_json || !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let text = axum::body::to_bytes(response.into_body(), 4096)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_string())
        .unwrap_or_default();
    let code = match status {
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "too_large",
        s if s.is_server_error() => "internal",
        _ => "bad_request",
    };
    let message = if text.is_empty() {
        status.canonical_reason().unwrap_or("error").to_string()
    } else {
        text
    };
    Failure::new(status, code, message).into_response()
}

/// The admin router.
pub fn router(parts: Parts) -> Router {
    api::routes()
        .method_not_allowed_fallback(|| async {
            Failure::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "this admin call does not take that method; see docs/admin-api.md",
            )
        })
        .fallback(|| async {
            Failure::new(
                StatusCode::NOT_FOUND,
                "not_found",
                "no such admin call; see docs/admin-api.md",
            )
        })
        .layer(axum::middleware::from_fn_with_state(parts.clone(), guard))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY))
        .layer(axum::middleware::map_response(json_errors))
        .with_state(parts)
}
