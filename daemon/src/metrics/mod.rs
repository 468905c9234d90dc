//! What chatd counts, in the Prometheus format: [`Metrics`], one registry
//! of the `prometheus-client` crate and a handle on every metric in it,
//! cheap to clone and handed to the parts that count (the door, the
//! sessions, the room, the password check, the log, the cluster, the admin
//! API). A leaf, like `logging/`: every part counts into it, it uses none.
//!
//! The catalogue of what is counted (names, types, labels, their values,
//! buckets) is docs/operations.md, "Monitoring"; `daemon/tests/metrics.rs`
//! holds a real chatd's scrape to it. Counting is an atomic addition on
//! a metric made at start (no lock, no allocation); a histogram takes a
//! short lock of its own. Gauges of what the parts keep anyway (users
//! online, bytes queued, argon2's load, …) are read from them when a scrape
//! comes (`crate::admin::metrics`), so nothing is done for them meanwhile.

mod family;
mod format;
pub mod labels;
mod register;
pub mod rooms;
mod tally;

pub use family::Labelled;
pub use format::Format;
pub use tally::Tally;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use std::sync::Arc;

use labels::{
    Argon2Result, HandshakeFailure, JoinOutcome, MessageKind, ModerationAction, NameConflict,
    PasswordChange, Refusal, RefusedCode, ReloadResult, SessionEnd, Stage,
};

/// Upper bounds, in seconds, of `chatd_handshake_duration_seconds`.
pub const HANDSHAKE_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
/// Of `chatd_join_duration_seconds`.
pub const JOIN_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
/// Of `chatd_argon2_duration_seconds`.
pub const ARGON2_BUCKETS: &[f64] = &[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5];
/// Of `chatd_log_append_duration_seconds`.
pub const LOG_APPEND_BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];
/// Of `chatd_nats_publish_duration_seconds`.
pub const NATS_PUBLISH_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

/// What the registry holds beyond the metrics.
#[derive(Clone, Copy, Debug, Default)]
pub struct Options {
    /// A node of a cluster: the cluster's families are there.
    pub cluster: bool,
    /// `metrics_per_room`: series per room an admin made.
    pub per_room: bool,
}

/// chatd's metrics (see the module documentation); a clone is another
/// handle on the same registry.
#[derive(Clone)]
pub struct Metrics(Arc<Registered>);

impl std::ops::Deref for Metrics {
    type Target = Registered;

    fn deref(&self) -> &Registered {
        &self.0
    }
}

impl Default for Metrics {
    /// A single chatd's metrics (tests, and parts made on their own).
    fn default() -> Self {
        Self::new(Options::default())
    }
}

/// Every metric of the registry, by what it counts; the names and meanings
/// are the catalogue's.
pub struct Registered {
    registry: Registry,
    /// Whether the families of `metrics_per_room` are wanted.
    pub per_room: bool,
    /// `chatd_max_users`.
    pub max_users: Gauge,
    /// `chatd_reloads_total`.
    pub reloads: Labelled<ReloadResult, Counter>,
    /// `chatd_connections_accepted_total`.
    pub connections_accepted: Counter,
    /// `chatd_connections_refused_total`.
    pub connections_refused: Labelled<Refusal, Counter>,
    /// `chatd_connections`.
    pub connections: Labelled<Stage, Gauge>,
    /// `chatd_handshakes_failed_total`.
    pub handshakes_failed: Labelled<HandshakeFailure, Counter>,
    /// `chatd_handshake_duration_seconds`.
    pub handshake_duration: Histogram,
    /// `chatd_joins_total`.
    pub joins: Labelled<JoinOutcome, Counter>,
    /// `chatd_join_duration_seconds`.
    pub join_duration: Histogram,
    /// `chatd_users_online`.
    pub users_online: Gauge,
    /// `chatd_sessions_ended_total`.
    pub sessions_ended: Labelled<SessionEnd, Counter>,
    /// `chatd_messages_total`.
    pub messages: Labelled<MessageKind, Counter>,
    /// `chatd_messages_refused_total`.
    pub messages_refused: Labelled<RefusedCode, Counter>,
    /// `chatd_deliveries_total`.
    pub deliveries: Counter,
    /// `chatd_sent_bytes_total`.
    pub sent_bytes: Counter,
    /// `chatd_events_dropped_total`.
    pub events_dropped: Counter,
    /// `chatd_outbound_queue_bytes`.
    pub outbound_queue_bytes: Gauge,
    /// `chatd_argon2_running`.
    pub argon2_running: Gauge,
    /// `chatd_argon2_waiting`.
    pub argon2_waiting: Gauge,
    /// `chatd_argon2_refused_busy_total`.
    pub argon2_refused_busy: Counter,
    /// `chatd_argon2_verifications_total`.
    pub argon2_verifications: Labelled<Argon2Result, Counter>,
    /// `chatd_argon2_duration_seconds`.
    pub argon2_duration: Histogram,
    /// `chatd_guess_blocks_total`.
    pub guess_blocks: Counter,
    /// `chatd_throttled_addresses`.
    pub throttled_addresses: Gauge,
    /// `chatd_log_appends_total`.
    pub log_appends: Counter,
    /// `chatd_log_append_failures_total`.
    pub log_append_failures: Counter,
    /// `chatd_log_append_duration_seconds`.
    pub log_append_duration: Histogram,
    /// `chatd_log_history_entries`.
    pub log_history_entries: Gauge,
    /// `chatd_log_persist_errors_total`.
    pub log_persist_errors: Counter,
    /// `chatd_log_persist_failing`.
    pub log_persist_failing: Gauge,
    /// `chatd_key_rotations_total`.
    pub key_rotations: Counter,
    /// `chatd_password_changes_total`.
    pub password_changes: Labelled<PasswordChange, Counter>,
    /// `chatd_moderation_actions_total`.
    pub moderation_actions: Labelled<ModerationAction, Counter>,
    /// The families of a node of a cluster; `None` alone.
    pub cluster: Option<ClusterMetrics>,
    /// The families of `metrics_per_room`; `None` without it.
    pub rooms: Option<rooms::PerRoom>,
}

/// The families only a node of a cluster has.
pub struct ClusterMetrics {
    /// `chatd_nats_connected`.
    pub nats_connected: Gauge,
    /// `chatd_nats_reconnects_total`.
    pub nats_reconnects: Counter,
    /// `chatd_nats_publish_duration_seconds`.
    pub nats_publish_duration: Histogram,
    /// `chatd_cluster_name_conflicts_total`.
    pub name_conflicts: Labelled<NameConflict, Counter>,
    /// `chatd_cluster_peers`.
    pub peers: Gauge,
}

impl Metrics {
    /// The metrics in `format`, as a scrape gets them.
    pub fn encode(&self, format: Format) -> String {
        self.encode_with_rooms(format, &[])
    }

    /// Every metric in `format`, the per-room series (with
    /// `metrics_per_room`) being those of `rooms`.
    pub fn encode_with_rooms(&self, format: Format, rooms: &[rooms::RoomCount]) -> String {
        let _scrape = self.rooms.as_ref().map(|per_room| {
            let held = per_room.scrape.lock().unwrap_or_else(|p| p.into_inner());
            per_room.refresh(rooms);
            held
        });
        let mut text = String::with_capacity(16 * 1024);
        let encoded = match format {
            Format::Text => {
                prometheus_client::encoding::prometheus_text::encode(&mut text, &self.registry)
            }
            Format::OpenMetrics => {
                prometheus_client::encoding::text::encode(&mut text, &self.registry)
            }
        };
        encoded.expect("writing to a String cannot fail");
        text
    }

    /// A new connection, counted in `chatd_connections{stage="handshake"}`
    /// until it joins or ends (see [`Tally`]).
    pub fn connection(&self) -> Tally {
        Tally::new(self.clone())
    }
}

/// The wire protocol's version, as `chatd_build_info` labels it.
const PROTOCOL: &str = "1";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_formats_carry_the_suffixes_and_every_closed_value_at_0() {
        let metrics = Metrics::default();
        metrics.joins.inc(JoinOutcome::Welcome);
        let text = metrics.encode(Format::Text);
        assert!(
            text.contains("chatd_joins_total{outcome=\"welcome\"} 1\n"),
            "{text}"
        );
        assert!(text.contains("chatd_joins_total{outcome=\"busy\"} 0\n"));
        assert!(text.contains("chatd_joins_total{outcome=\"banned\"} 0\n"));
        assert!(text.contains("chatd_messages_refused_total{code=\"no_such_room\"} 0\n"));
        assert!(text.contains("chatd_sessions_ended_total{reason=\"banned\"} 0\n"));
        assert!(text.contains("chatd_moderation_actions_total{action=\"deop\"} 0\n"));
        assert!(text.contains("chatd_build_info{version=\""));
        assert!(text.contains("chatd_sent_bytes_total 0\n"));
        assert!(text.contains("chatd_outbound_queue_bytes 0\n"));
        assert!(text.contains("chatd_start_time_seconds "));
        assert!(text.contains("chatd_handshake_duration_seconds_bucket{le=\"0.005\"} 0\n"));
        assert!(
            !text.contains("chatd_nats"),
            "cluster families only in a cluster"
        );
        assert!(!text.ends_with("# EOF\n"));
        let om = metrics.encode(Format::OpenMetrics);
        assert!(om.ends_with("# EOF\n"));
        assert!(om.contains("# UNIT chatd_sent_bytes bytes\n"), "{om}");
        assert!(om.contains("# TYPE chatd_build info\n"), "{om}");
        // A value marked later appears once it is counted.
        metrics.joins.inc(JoinOutcome::Banned);
        assert_eq!(metrics.joins.get(JoinOutcome::Banned), 1);
        let cluster = Metrics::new(Options {
            cluster: true,
            per_room: false,
        });
        let text = cluster.encode(Format::Text);
        assert!(text.contains("chatd_nats_connected 0\n"));
        assert!(text.contains("chatd_cluster_name_conflicts_total{kind=\"lost\"} 0\n"));
    }
}
