//! How the registry is made ([`Metrics::new`]): every family the options
//! call for registered under its catalogue name, every closed label value
//! in force made at 0, the build info and the start time set.

use std::sync::Arc;

use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::{Registry, Unit};

use super::{
    ARGON2_BUCKETS, ClusterMetrics, HANDSHAKE_BUCKETS, JOIN_BUCKETS, LOG_APPEND_BUCKETS, Labelled,
    Metrics, NATS_PUBLISH_BUCKETS, Options, PROTOCOL, Registered, rooms,
};

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
}
