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
pub mod rooms;
mod tally;

pub use family::Labelled;
pub use format::Format;
pub use tally::Tally;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::{Registry, Unit};
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

/// Registers a metric made with `Default`, and gives it back.
fn plain<M>(registry: &mut Registry, name: &str, help: &str, unit: Option<Unit>) -> M
where
    M: prometheus_client::registry::Metric + Default + Clone,
{
    let metric = M::default();
    match unit {
        Some(unit) => registry.register_with_unit(name, help, unit, metric.clone()),
        None => registry.register(name, help, metric.clone()),
    }
    metric
}

/// Registers a histogram of durations in seconds with `buckets`.
fn seconds(registry: &mut Registry, name: &str, help: &str, buckets: &[f64]) -> Histogram {
    let histogram = Histogram::new(buckets.iter().copied());
    registry.register_with_unit(name, help, Unit::Seconds, histogram.clone());
    histogram
}

impl Metrics {
    /// A registry with every family `options` call for, every closed label
    /// value in force at 0, and the build and start time set.
    pub fn new(options: Options) -> Self {
        let mut r = Registry::default();
        let reg = &mut r;
        reg.register(
            "chatd_build",
            "chatd's version and the wire protocol's, as labels",
            Info::new([
                ("version", env!("CARGO_PKG_VERSION")),
                ("protocol", PROTOCOL),
            ]),
        );
        let start_time: Gauge = plain(
            reg,
            "chatd_start_time",
            "When this chatd started, in Unix seconds",
            Some(Unit::Seconds),
        );
        start_time.set(i64::try_from(chat_protocol::clock::now_secs()).unwrap_or(i64::MAX));
        let max_users = plain(reg, "chatd_max_users", "max_users in force", None);
        let reloads = Labelled::register(reg, "chatd_reloads", "Configuration reloads, by result");
        let connections_accepted = plain(
            reg,
            "chatd_connections_accepted",
            "TCP connections accepted on the chat listener, before any check",
            None,
        );
        let connections_refused = Labelled::register(
            reg,
            "chatd_connections_refused",
            "Connections refused before any crypto work, by reason",
        );
        let connections =
            Labelled::register(reg, "chatd_connections", "Connections open now, by stage");
        let handshakes_failed = Labelled::register(
            reg,
            "chatd_handshakes_failed",
            "Connections that ended before a join was decided, by reason",
        );
        let handshake_duration = seconds(
            reg,
            "chatd_handshake_duration",
            "From the TCP accept to the client's Auth opened",
            HANDSHAKE_BUCKETS,
        );
        let joins = Labelled::register(
            reg,
            "chatd_joins",
            "Joins decided, by outcome: welcome or the Reject code",
        );
        let join_duration = seconds(
            reg,
            "chatd_join_duration",
            "From the Auth opened to the Welcome or Reject sent",
            JOIN_BUCKETS,
        );
        let users_online = plain(
            reg,
            "chatd_users_online",
            "Users joined to this node now",
            None,
        );
        let sessions_ended = Labelled::register(
            reg,
            "chatd_sessions_ended",
            "Joined sessions that ended, by reason",
        );
        let messages = Labelled::register(
            reg,
            "chatd_messages",
            "Messages accepted from this node's users, by kind",
        );
        let messages_refused = Labelled::register(
            reg,
            "chatd_messages_refused",
            "Events of joined users refused with an error event, by code",
        );
        let deliveries = plain(
            reg,
            "chatd_deliveries",
            "Events queued for this node's users, once per user",
            None,
        );
        let sent_bytes = plain(
            reg,
            "chatd_sent",
            "Bytes of sealed messages written to joined users",
            Some(Unit::Bytes),
        );
        let events_dropped = plain(
            reg,
            "chatd_events_dropped",
            "Events not queued because the user's queue was full",
            None,
        );
        let outbound_queue_bytes = plain(
            reg,
            "chatd_outbound_queue",
            "Bytes waiting in the outbound queues of this node's users now",
            Some(Unit::Bytes),
        );
        let argon2_running = plain(
            reg,
            "chatd_argon2_running",
            "argon2 verifications running now",
            None,
        );
        let argon2_waiting = plain(
            reg,
            "chatd_argon2_waiting",
            "Joins waiting for an argon2 slot now",
            None,
        );
        let argon2_refused_busy = plain(
            reg,
            "chatd_argon2_refused_busy",
            "Joins refused busy because every waiting place for argon2 was taken",
            None,
        );
        let argon2_verifications = Labelled::register(
            reg,
            "chatd_argon2_verifications",
            "argon2 verifications finished, by result",
        );
        let argon2_duration = seconds(
            reg,
            "chatd_argon2_duration",
            "One argon2 verification's time on its thread",
            ARGON2_BUCKETS,
        );
        let guess_blocks = plain(
            reg,
            "chatd_guess_blocks",
            "Blocks begun by the password-guess throttle",
            None,
        );
        let throttled_addresses = plain(
            reg,
            "chatd_throttled_addresses",
            "Addresses whose joins are refused now for too many wrong passwords",
            None,
        );
        let log_appends = plain(
            reg,
            "chatd_log_appends",
            "Public messages and actions the room's log accepted from this node",
            None,
        );
        let log_append_failures = plain(
            reg,
            "chatd_log_append_failures",
            "Messages the room's log refused",
            None,
        );
        let log_append_duration = seconds(
            reg,
            "chatd_log_append_duration",
            "From a message handed to the room's log to its acceptance",
            LOG_APPEND_BUCKETS,
        );
        let log_history_entries = plain(
            reg,
            "chatd_log_history_entries",
            "Messages kept now for joins and resumes",
            None,
        );
        let log_persist_errors = plain(
            reg,
            "chatd_log_persist_errors",
            "Failed writes of STATE_DIR/history",
            None,
        );
        let log_persist_failing = plain(
            reg,
            "chatd_log_persist_failing",
            "1 while STATE_DIR/history cannot be written, else 0",
            None,
        );
        let key_rotations = plain(
            reg,
            "chatd_key_rotations",
            "Key rotations made through this node",
            None,
        );
        let password_changes = Labelled::register(
            reg,
            "chatd_password_changes",
            "Join password changes made through this node",
        );
        let moderation_actions = Labelled::register(
            reg,
            "chatd_moderation_actions",
            "Moderation through this node, by action",
        );
        let cluster = options.cluster.then(|| ClusterMetrics {
            nats_connected: plain(
                reg,
                "chatd_nats_connected",
                "1 while this node's NATS connection is up, else 0",
                None,
            ),
            nats_reconnects: plain(
                reg,
                "chatd_nats_reconnects",
                "Times the NATS connection came back after it was lost",
                None,
            ),
            nats_publish_duration: seconds(
                reg,
                "chatd_nats_publish_duration",
                "A JetStream publish to the room's log, from the send to the acknowledgement",
                NATS_PUBLISH_BUCKETS,
            ),
            name_conflicts: Labelled::register(
                reg,
                "chatd_cluster_name_conflicts",
                "Name claims that met another node's, by kind",
            ),
            peers: plain(
                reg,
                "chatd_cluster_peers",
                "The other nodes this node sees alive",
                None,
            ),
        });
        let rooms = options.per_room.then(|| rooms::PerRoom::register(&mut r));
        Self(Arc::new(Registered {
            registry: r,
            per_room: options.per_room,
            max_users,
            reloads,
            connections_accepted,
            connections_refused,
            connections,
            handshakes_failed,
            handshake_duration,
            joins,
            join_duration,
            users_online,
            sessions_ended,
            messages,
            messages_refused,
            deliveries,
            sent_bytes,
            events_dropped,
            outbound_queue_bytes,
            argon2_running,
            argon2_waiting,
            argon2_refused_busy,
            argon2_verifications,
            argon2_duration,
            guess_blocks,
            throttled_addresses,
            log_appends,
            log_append_failures,
            log_append_duration,
            log_history_entries,
            log_persist_errors,
            log_persist_failing,
            key_rotations,
            password_changes,
            moderation_actions,
            cluster,
            rooms,
        }))
    }

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
