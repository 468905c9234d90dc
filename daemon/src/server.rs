//! The chat listener: an axum app whose every path upgrades to a session.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;

use axum::Router;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chat_protocol::limits::{MAX_AUTH, MAX_SERVER_MESSAGE, max_client_message};

use crate::state::App;

/// Connections allowed beyond `max_users`, for handshakes in progress.
const PENDING_SLACK: usize = 64;

/// The router: any path, any method that upgrades.
pub fn router(app: App) -> Router {
    Router::new().fallback(upgrade).with_state(app)
}

async fn upgrade(
    State(app): State<App>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let Ok(ws) = ws else {
        return (
            StatusCode::UPGRADE_REQUIRED,
            "This is a chat server (chatd). It speaks WebSocket, subprotocol chat.v1: join it with the `chat` client.\n",
        )
            .into_response();
    };
    if app.shutdown.is_cancelled() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "the server is shutting down\n",
        )
            .into_response();
    }
    let config = app.hub.config();
    if app.connections.load(Ordering::Relaxed) >= config.max_users + PENDING_SLACK {
        tracing::warn!(%peer, "refused a connection: too many open connections");
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "the server is busy; try again later\n",
        )
            .into_response();
    }
    let max_in = MAX_AUTH.max(max_client_message(config.max_text));
    let sessions = app.sessions.clone();
    ws.protocols([chat_protocol::SUBPROTOCOL])
        .read_buffer_size(4 * 1024)
        .write_buffer_size(0)
        .max_write_buffer_size(2 * MAX_SERVER_MESSAGE)
        .max_message_size(max_in)
        .max_frame_size(max_in)
        .on_upgrade(move |socket| sessions.track_future(crate::session::run(socket, peer, app)))
}
