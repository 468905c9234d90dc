//! `GET /v1/health`: whether this chatd serves. The metrics listener
//! (`crate::service::metrics_listener`) answers `GET /health` with the
//! same [`check`].
//!
//! In order: a chatd that stops does not serve (`shutting_down`); one whose
//! room or accept loop does not answer a probe within 2 s is stuck
//! (`stalled`, the watchdog's round trip: `crate::door::probe`); a node of
//! a cluster without NATS for longer than `handshake_timeout` refuses joins
//! and messages (`cluster_unreachable`: a shorter outage is one that joins
//! wait out anyway).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chat_protocol::admin::{ApiError, HEALTH_SERVING, HEALTH_UNAVAILABLE, Health};

use super::Parts;
use crate::door::probe;

/// The handler: 200 and `serving`, or 503 and why not.
pub async fn health(State(parts): State<Parts>) -> Response {
    let (status, health) = check(&parts).await;
    (status, Json(health)).into_response()
}

/// Whether chatd serves, as the status code and the body to answer.
pub async fn check(parts: &Parts) -> (StatusCode, Health) {
    let unavailable = |code: &str, message: String| {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Health {
                status: HEALTH_UNAVAILABLE.to_string(),
                error: Some(ApiError {
                    code: code.to_string(),
                    message,
                }),
            },
        )
    };
    let shutting_down = || {
        unavailable(
            "shutting_down",
            "chatd is shutting down: sessions are being closed".into(),
        )
    };
    if parts.shutdown.is_cancelled() {
        return shutting_down();
    }
    // The accept loop ends at the shutdown: a probe it was asked then
    // gets no answer, and chatd is not stuck but stopping.
    let answered = tokio::select! {
        answered = probe::round_trip(&parts.door, &parts.hub) => answered,
        () = parts.shutdown.cancelled() => return shutting_down(),
    };
    if !answered {
        return unavailable(
            "stalled",
            format!(
                "the room or the chat listener's accept loop did not answer within {} s: chatd is stuck; \
                 systemd's watchdog restarts it (else restart it, and report the log)",
                probe::WITHIN.as_secs()
            ),
        );
    }
    let patience = parts.config.get().handshake_timeout.0;
    if let Some(away) = parts.peers.nats_away()
        && away > patience
    {
        return unavailable(
            "cluster_unreachable",
            format!(
                "NATS has been out of reach for {}s, longer than handshake_timeout ({}s): joins and messages are \
                 refused until it is back; check that NATS runs and that this node reaches it",
                away.as_secs(),
                patience.as_secs()
            ),
        );
    }
    (
        StatusCode::OK,
        Health {
            status: HEALTH_SERVING.to_string(),
            error: None,
        },
    )
}
