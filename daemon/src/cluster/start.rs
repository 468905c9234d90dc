//! A node's start beside a NATS that is not ready yet.
//!
//! After a reboot systemd starts NATS and every chatd node at once: NATS
//! may not listen yet, and a NATS cluster answers JetStream requests only
//! once its servers elected a meta leader ("jetstream request timed out"
//! meanwhile). So before it says READY, a node tries each step of its start
//! in the cluster again ([`Starting::retry`]) while NATS refuses it for a
//! reason that passes (no server answers, JetStream times out or is not
//! there yet), with a growing pause (250 ms to 2 s), until
//! `cluster_start_timeout` (2 minutes by default) after the first step.
//! Meanwhile it says in its log what it waits for (every 5 s at most) and
//! keeps extending systemd's start timeout (`EXTEND_TIMEOUT_USEC`), so the
//! unit's `TimeoutStartSec` does not cut it short. What cannot pass by
//! waiting (credentials NATS refuses, a value in the cluster that does not
//! read, another live node of this name) ends the start at once.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::ClusterError;
use super::keys::RoomKeys;
use super::node::Node;
use super::replicated::ReplicatedLog;
use crate::config::Config;
use crate::log::{Accepted, Bounds, HistoryError, RoomLog};
use crate::metrics::Metrics;
use crate::store::keyring::Keys;
use crate::store::password::Gate;
use crate::store::{Store, StoreError};

/// Why a start could not join its cluster, or open the room's log.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The cluster refused, or was not ready in time. (Not a `source`:
    /// the message already holds it.)
    #[error("cluster: {0}")]
    Cluster(ClusterError),
    /// The state directory, while mirroring the cluster's values into it.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A single chatd's history file.
    #[error(transparent)]
    History(#[from] HistoryError),
}

/// The first pause between two tries; it doubles up to [`LONGEST_PAUSE`].
const FIRST_PAUSE: Duration = Duration::from_millis(250);

/// The longest pause between two tries.
const LONGEST_PAUSE: Duration = Duration::from_secs(2);

/// How often, at most, the log says what the start waits for.
const SAY_EVERY: Duration = Duration::from_secs(5);

/// How far ahead each extension of systemd's start timeout reaches: more
/// than one try (a connection or a JetStream request gives up after 5 s)
/// and a pause.
const EXTEND_BY: Duration = Duration::from_secs(30);

/// A node's start in its cluster: the bound, and what was said.
pub struct Starting {
    bound: Duration,
    until: Instant,
    said: Option<Instant>,
}

impl Starting {
    /// A start that gives up `bound` from now.
    pub fn new(bound: Duration) -> Self {
        Self {
            bound,
            until: Instant::now() + bound,
            said: None,
        }
    }

    /// Runs `step` until it succeeds, fails for a reason that does not
    /// pass by waiting, or the bound is reached (see the module
    /// documentation).
    pub async fn retry<T, F, Fut>(&mut self, mut step: F) -> Result<T, StartError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, StartError>>,
    {
        let mut pause = FIRST_PAUSE;
        loop {
            let error = match step().await {
                Ok(done) => return Ok(done),
                Err(StartError::Cluster(e)) if e.passes() => e,
                Err(e) => return Err(e),
            };
            let now = Instant::now();
            if self.bound.is_zero() {
                return Err(StartError::Cluster(error));
            }
            if now + pause >= self.until {
                return Err(StartError::Cluster(ClusterError::NotReady {
                    waited: self.bound,
                    last: Box::new(error),
                }));
            }
            self.waiting(&error, now);
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(LONGEST_PAUSE);
        }
    }

    /// Says what the start waits for, and extends systemd's start timeout.
    fn waiting(&mut self, error: &ClusterError, now: Instant) {
        crate::systemd::extend_start(EXTEND_BY, "waiting for NATS and JetStream");
        if self.said.is_some_and(|at| now < at + SAY_EVERY) {
            return;
        }
        self.said = Some(now);
        let left = self.until.saturating_duration_since(now).as_secs();
        tracing::warn!(
            "cluster: waiting for NATS ({error}); trying again, for {left} s more (cluster_start_timeout)"
        );
    }
}

impl ClusterError {
    /// Whether waiting may cure it: NATS not there yet, or JetStream not
    /// answering yet.
    pub fn passes(&self) -> bool {
        matches!(
            self,
            ClusterError::Connect { .. } | ClusterError::JetStream { .. }
        )
    }
}

impl From<ClusterError> for StartError {
    fn from(e: ClusterError) -> Self {
        StartError::Cluster(e)
    }
}

/// What a start leaves: the other nodes (none alone), the keys in force
/// (the cluster's, on a node of one), and the room's log.
pub struct Started {
    /// The other nodes, or none.
    pub peers: super::Peers,
    /// The keys in force.
    pub keys: Keys,
    /// The room's log.
    pub log: Arc<dyn RoomLog>,
    /// Its stream of accepted entries, for the room.
    pub accepted: Accepted,
    /// Where the other rooms' logs are: the state directory alone, the
    /// cluster's stream on a node.
    pub rooms: crate::log::RoomLogs,
    /// The rooms' settings the cluster's nodes share (`None` alone: they
    /// are in the state directory).
    pub shared_rooms: Option<super::rooms::Listed>,
}

/// A single chatd's start: the keys it loaded, its log in `STATE_DIR/history`.
pub(super) fn alone(
    config: &Config,
    store: &Store,
    keys: Keys,
    metrics: &Metrics,
) -> Result<Started, StartError> {
    let (log, accepted) = crate::log::EmbeddedLog::open(
        store.dir(),
        Bounds::of(config),
        metrics.log_persist_errors.clone(),
    )?;
    let rooms =
        crate::log::RoomLogs::on_disk(store.dir(), log.ids(), metrics.log_persist_errors.clone());
    Ok(Started {
        peers: super::Peers::Alone,
        keys,
        log: Arc::new(log),
        accepted,
        rooms,
        shared_rooms: None,
    })
}

/// A node's start in its cluster, each step tried again while NATS is not
/// ready: joins, refuses a live twin of its name, adopts the cluster's keys
/// (or publishes its own, as the first node) and admin password, and opens
/// the room's stream.
pub(super) async fn join(
    config: &Config,
    listen: SocketAddr,
    store: &Store,
    ours: Keys,
    gate: &Gate,
    metrics: &Metrics,
    starting: &mut Starting,
) -> Result<Started, StartError> {
    let node = starting
        .retry(|| async { Ok(Node::join(config, metrics.clone()).await?) })
        .await?;
    let listen = listen.to_string();
    starting
        .retry(|| async { Ok(node.check_name_free(&listen).await?) })
        .await?;
    // One room, one set of keys: the first node's.
    let ours = RoomKeys {
        identity: ours.identity,
        token: ours.token,
        previous: ours.previous,
        disconnect: false,
    };
    let (theirs, revision) = starting
        .retry(|| super::keys::adopt(&node.cluster, &node.shared, store, &ours))
        .await?;
    let keys = theirs.unwrap_or(ours);
    node.keys_revision
        .store(revision, std::sync::atomic::Ordering::Relaxed);
    starting
        .retry(|| super::password::adopt(&node, store, gate))
        .await?;
    let bounds = Bounds::of(config);
    let publish = metrics
        .cluster
        .as_ref()
        .map(|c| c.nats_publish_duration.clone());
    let (log, accepted) = starting
        .retry(|| async {
            Ok(ReplicatedLog::open(
                node.cluster.clone(),
                bounds,
                node.arrived.clone(),
                publish.clone(),
            )
            .await?)
        })
        .await?;
    let (shared_rooms, listed) = starting
        .retry(|| async { Ok(node.cluster.shared_rooms().await?) })
        .await?;
    let _ = node.rooms.set(Arc::new(shared_rooms));
    let rooms = crate::log::RoomLogs::shared(Arc::new(super::rooms::ClusterLogs {
        cluster: node.cluster.clone(),
        arrived: node.arrived.clone(),
        publish,
    }));
    Ok(Started {
        peers: super::Peers::Cluster(Arc::new(node)),
        keys: Keys {
            identity: keys.identity,
            token: keys.token,
            previous: keys.previous,
        },
        log: Arc::new(log),
        accepted,
        rooms,
        shared_rooms: Some(listed),
    })
}
