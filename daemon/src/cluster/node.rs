//! This chatd as a node of a cluster: its connection to NATS and the name
//! claims of its users, as the rest of the daemon uses them.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::names::{ClaimError, Names};
use super::shared::Shared;
use super::{Cluster, ClusterError, Settings, shown_urls};
use crate::config::Config;
use crate::ending::Ending;
use crate::hub::Hub;
use crate::metrics::Metrics;
use crate::metrics::labels::NameConflict;

/// A node's part in the cluster (what [`super::Peers::Cluster`] holds).
pub struct Node {
    /// The connection to NATS.
    pub cluster: Cluster,
    /// The claims on this node's users' names.
    pub names: Names,
    /// The values every node shares (the keys, the password).
    pub shared: Shared,
    /// The state bucket's revision of the keys this node holds.
    pub keys_revision: AtomicU64,
    /// The state bucket's revision of the admin password this node holds
    /// (0: no node published one yet).
    pub password_revision: AtomicU64,
    /// The state bucket's revision of the moderation book this node holds
    /// (0: none yet); held while a book is put in force, so that an older
    /// one never replaces a newer.
    pub moderation_revision: std::sync::Mutex<u64>,
    /// The nodes alive, this one included (`chatctl status`, `users`).
    pub nodes: super::nodes::Nodes,
    /// The names registry (names owned by keys).
    pub registry: super::registry::Registered,
    /// Told each time the rooms' stream handed a room new entries.
    pub arrived: Arc<super::replicated::Arrivals>,
    /// The rooms' settings the nodes share (set once, at the start).
    pub rooms: std::sync::OnceLock<Arc<super::rooms::SharedRooms>>,
    /// What the node counts (name conflicts, reconnections).
    pub metrics: Metrics,
}

/// Why a name could not be taken for a join.
pub enum Claim {
    /// Someone on some node holds it.
    Taken,
    /// NATS is out of reach: no one can say.
    Unavailable,
}

impl Node {
    /// Joins the cluster `config` names.
    pub async fn join(config: &Config, metrics: Metrics) -> Result<Node, ClusterError> {
        let cluster = Cluster::connect(Settings {
            urls: config.cluster.clone(),
            credentials: config.cluster_credentials.clone(),
            node_name: config.node_name(),
            room: "chat".into(),
            claim_ttl: config.cluster_claim_ttl.0,
            history: config.history,
            history_max_age: config.history_max_age.0,
            replicas: config.cluster_replicas,
        })
        .await?;
        let names = cluster.names().await?;
        let shared = cluster.shared().await?;
        let nodes = cluster.nodes().await?;
        let registry = cluster.registry().await?;
        tracing::info!(
            node = %cluster.settings().node_name,
            urls = %shown_urls(&config.cluster),
            "joined the cluster"
        );
        Ok(Node {
            cluster,
            names,
            shared,
            keys_revision: AtomicU64::new(0),
            password_revision: AtomicU64::new(0),
            moderation_revision: std::sync::Mutex::new(0),
            nodes,
            registry,
            arrived: Arc::default(),
            rooms: std::sync::OnceLock::new(),
            metrics,
        })
    }

    /// Refuses to start beside a live node of the same name (the default
    /// name is the host name: two nodes on one host would share it, and
    /// take each other's claims, orders and DMs for their own). An entry
    /// with this very listen address is taken for this node before a
    /// restart, its entry not yet lapsed.
    pub async fn check_name_free(&self, listen: &str) -> Result<(), ClusterError> {
        let twin = self
            .nodes
            .list()
            .await?
            .into_iter()
            .find(|n| n.node == self.name() && n.listen != listen);
        match twin {
            Some(twin) => Err(ClusterError::NameInUse {
                node: twin.node,
                listen: twin.listen,
            }),
            None => Ok(()),
        }
    }

    /// This node's name.
    pub fn name(&self) -> &str {
        &self.cluster.settings().node_name
    }

    /// Claims `name` for a user joining here; while NATS cannot decide
    /// (reconnecting, a leader being elected), tried again until
    /// `deadline` ([`super::claim`]).
    pub async fn claim(
        &self,
        name: &str,
        identity: Option<chat_protocol::IdentityKey>,
        owner: bool,
        deadline: tokio::time::Instant,
    ) -> Result<(), Claim> {
        match self.names.claim_as(name, identity, owner, deadline).await {
            Ok(()) => Ok(()),
            Err(ClaimError::Taken) => Err(Claim::Taken),
            Err(ClaimError::Cluster(e)) => {
                static UNCLAIMED: crate::logging::line_budget::LineBudget =
                    crate::logging::line_budget::LineBudget::new(
                        "cluster: joins that could not claim their names",
                        3,
                        Duration::from_secs(10),
                    );
                crate::budgeted!(
                    UNCLAIMED,
                    tracing::Level::WARN,
                    "cluster: a join could not claim its name: {e}"
                );
                Err(Claim::Unavailable)
            }
        }
    }

    /// Says in `member`'s claim which rooms it is in now (at most 2 s;
    /// else the next change of its rooms says it).
    pub async fn note_rooms(&self, member: &crate::hub::Member) {
        let rooms: Vec<_> = member.rooms.lock().expect("lock").iter().cloned().collect();
        if tokio::time::timeout(
            Duration::from_secs(2),
            self.names.set_rooms(&member.name, rooms),
        )
        .await
        .is_err()
        {
            tracing::warn!("cluster: the rooms of a user were not shared in time");
        }
    }

    /// Gives up `name` (its user left). A release that fails or takes
    /// more than 2 s is left: the claim lapses by itself within
    /// `cluster_claim_ttl`.
    pub async fn release(&self, name: &str) {
        match tokio::time::timeout(Duration::from_secs(2), self.names.release(name)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!("cluster: a name was not released: {e}"),
            Err(_) => {
                tracing::warn!("cluster: a name was not released in time; it lapses by itself")
            }
        }
    }
}

/// How soon a renewal pass that NATS refused is tried again.
const RENEW_RETRY: Duration = Duration::from_secs(1);

/// Keeps this node's claims alive until the shutdown: every
/// [`super::Settings::renew_every`], at once each time the connection to
/// NATS comes back (after an outage longer than their lifetime the claims
/// have lapsed, and until they are made again anyone may take the names),
/// and again within a second after a pass NATS refused. The users whose
/// names were lost meanwhile (NATS was out of reach past their lifetime
/// and someone else took them) are ended.
pub async fn renew_claims(node: Arc<Node>, hub: Arc<Hub>, shutdown: CancellationToken) {
    let every = node.cluster.settings().renew_every();
    let mut connections = node.cluster.connections();
    connections.borrow_and_update();
    let mut next = tokio::time::Instant::now() + every;
    loop {
        tokio::select! {
            () = tokio::time::sleep_until(next) => {}
            changed = connections.changed() => {
                if changed.is_err() {
                    return;
                }
                tracing::info!(held = node.names.held(), "cluster: back on NATS; renewing this node's name claims now");
            }
            () = shutdown.cancelled() => return,
        }
        next = tokio::time::Instant::now() + every;
        match node.names.renew().await {
            Ok(lost) if lost.is_empty() => {}
            Ok(lost) => {
                if let Some(cluster) = &node.metrics.cluster {
                    for _ in &lost {
                        cluster.name_conflicts.inc(NameConflict::Lost);
                    }
                }
                let ended = hub.end_where(
                    |m| lost.iter().any(|l| l.eq_ignore_ascii_case(&m.name)),
                    Ending::name_lost,
                );
                tracing::warn!(
                    lost = lost.len(),
                    ended,
                    "cluster: names lost while NATS was out of reach; their users were disconnected"
                );
            }
            Err(e) => {
                tracing::debug!("cluster: renewing the name claims failed: {e}");
                next = tokio::time::Instant::now() + RENEW_RETRY.min(every);
            }
        }
    }
}
