//! `GET /v1/metrics`: chatd's metrics as Prometheus reads them, in the
//! format the request's `Accept` asks for. The metrics listener
//! (`crate::service::metrics_listener`) answers `GET /metrics` with the
//! same [`render`].

use axum::extract::State;
use axum::http::HeaderMap;
use axum::http::header::{ACCEPT, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};

use super::Parts;
use crate::metrics::Format;

/// The handler: the text, with its content type.
pub async fn metrics(State(parts): State<Parts>, headers: HeaderMap) -> Response {
    let format = Format::from_accept(headers.get(ACCEPT).and_then(|v| v.to_str().ok()));
    let text = render(&parts, format).await;
    ([(CONTENT_TYPE, format.content_type())], text).into_response()
}

/// The gauges of what the parts keep anyway, read from them now, then
/// every metric in `format`.
pub async fn render(parts: &Parts, format: Format) -> String {
    let metrics = &parts.metrics;
    let count = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
    metrics.max_users.set(count(parts.config.get().max_users));
    metrics.users_online.set(count(parts.hub.online()));
    metrics
        .outbound_queue_bytes
        .set(count(parts.hub.queued_bytes()));
    let gate = &parts.keyring.password;
    metrics.argon2_running.set(count(gate.running()));
    metrics.argon2_waiting.set(count(gate.waiting()));
    metrics
        .throttled_addresses
        .set(count(parts.guesses.throttled()));
    metrics
        .log_history_entries
        .set(count(parts.hub.history_len()));
    let failing = parts.hub.log().persist_error().is_some();
    metrics.log_persist_failing.set(i64::from(failing));
    parts.peers.gauge(metrics).await;
    let rooms = match &metrics.rooms {
        Some(_) => parts.hub.room_counts(),
        None => Vec::new(),
    };
    metrics.encode_with_rooms(format, &rooms)
}
