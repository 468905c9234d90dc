//! This chatd as a node of a cluster: its connection to NATS and the name
//! claims of its users, as the rest of the daemon uses them.

use std::sync::atomic::AtomicU64;
use std::time::Duration;

use super::names::{ClaimError, Names};
use super::shared::Shared;
use super::{Cluster, ClusterError, Settings};
use crate::config::Config;
use crate::ending::Ending;
use crate::state::App;

/// A node's part in the cluster (held by [`crate::state::AppState`]).
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
    /// The nodes alive, this one included (`chatctl status`, `users`).
    pub nodes: super::nodes::Nodes,
}

/// Why a name could not be taken for a join.
pub enum Claim {
    /// Someone on some node holds it.
    Taken,
    /// NATS is out of reach: no one can say.
    Unavailable,
}

impl Node {
    /// Joins the cluster `config` names (`None` when it names none).
    pub async fn join(config: &Config) -> Result<Option<Node>, ClusterError> {
        if config.cluster.is_empty() {
            return Ok(None);
        }
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
        tracing::info!(
            node = %cluster.settings().node_name,
            urls = %super::shown_urls(&config.cluster),
            "joined the cluster"
        );
        Ok(Some(Node {
            cluster,
            names,
            shared,
            keys_revision: AtomicU64::new(0),
            password_revision: AtomicU64::new(0),
            nodes,
        }))
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

    /// Claims `name` for a user joining here.
    pub async fn claim(&self, name: &str) -> Result<(), Claim> {
        match self.names.claim(name).await {
            Ok(()) => Ok(()),
            Err(ClaimError::Taken) => Err(Claim::Taken),
            Err(ClaimError::Cluster(e)) => {
                tracing::warn!("cluster: a join could not claim its name: {e}");
                Err(Claim::Unavailable)
            }
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

/// Keeps this node's claims alive, every third of their lifetime, until
/// the shutdown; the users whose names were lost meanwhile (NATS was out
/// of reach past their lifetime and someone else took them) are ended.
pub async fn renew_claims(app: App) {
    let Some(node) = &app.cluster else {
        return;
    };
    let every = node.cluster.settings().claim_ttl / 3;
    let mut tick = tokio::time::interval(every.max(Duration::from_millis(500)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = app.shutdown.cancelled() => return,
        }
        match node.names.renew().await {
            Ok(lost) if lost.is_empty() => {}
            Ok(lost) => {
                let ended = app.hub.end_where(
                    |m| lost.iter().any(|l| l.eq_ignore_ascii_case(&m.name)),
                    Ending::name_lost,
                );
                tracing::warn!(
                    lost = lost.len(),
                    ended,
                    "cluster: names lost while NATS was out of reach; their users were disconnected"
                );
            }
            Err(e) => tracing::debug!("cluster: renewing the name claims failed: {e}"),
        }
    }
}
