//! The one seam between chatd and the other nodes of its cluster:
//! [`Peers`], alone or a node of one. Its methods are what a session, the
//! room and the admin API need from other nodes, and each method's `match`
//! is here, in this file: a single chatd's code paths meet no NATS type,
//! and nothing outside `cluster/` asks whether a cluster is configured
//! ([`Peers::start`] is the one place that decides).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use chat_protocol::admin::{Rotated, User, Users};
use chat_protocol::clock::now_secs;
use chat_protocol::{ErrorCode, IdentityKey};
use tokio::time::Instant;

use super::changes::ChangeError;
use super::node::Node;
use super::start::{StartError, Started, Starting};
use super::tasks::Context;
use crate::config::Config;
use crate::config::names::Policy;
use crate::hub::{Dm, Hub, Member, no_such_user};
use crate::metrics::Metrics;
use crate::metrics::labels::NameConflict;
use crate::moderation::{Book, ChangeError as ModerationError, Changed, Moderation};
use crate::ops::rotate::Rotation;
use crate::ops::status::{ClusterView, Facts};
use crate::registry::edit::{Edit, Refusal};
use crate::registry::record::Record;
use crate::registry::{EditError, Registry};
use crate::store::Store;
use crate::store::keyring::{Keyring, Keys};
use crate::store::password::Gate;

pub use super::node::Claim;

/// The other nodes: none ([`Peers::Alone`], a self-contained chatd), or
/// this chatd's place in a cluster.
pub enum Peers {
    /// A single chatd: no other node.
    Alone,
    /// A node of a cluster, through NATS.
    Cluster(Arc<Node>),
}

impl Peers {
    /// Starts alone, or in the cluster `config` names: there, each step is
    /// tried again while NATS is not ready, within `starting`'s bound, the
    /// cluster's keys and admin password are adopted (or this node's
    /// published, as the first), and the room's log is the cluster's
    /// stream; alone, the log is `STATE_DIR/history`.
    pub async fn start(
        config: &Config,
        listen: SocketAddr,
        store: &Store,
        keys: Keys,
        gate: &Gate,
        metrics: &Metrics,
        starting: &mut Starting,
    ) -> Result<Started, StartError> {
        if config.cluster.is_empty() {
            super::start::alone(config, store, keys, metrics)
        } else {
            super::start::join(config, listen, store, keys, gate, metrics, starting).await
        }
    }

    /// The policy an unset `names` means, when the cluster decides it (a
    /// single chatd's state directory decided it already: `None`);
    /// `created`: the keys in force were made by this start.
    pub async fn names_default(
        &self,
        config: &Config,
        created: bool,
        starting: &mut Starting,
    ) -> Result<Option<Policy>, StartError> {
        match self {
            Peers::Alone => Ok(None),
            Peers::Cluster(node) => starting
                .retry(|| async {
                    Ok(super::registry::default_policy(&node.shared, config, created).await?)
                })
                .await
                .map(Some),
        }
    }

    /// Starts the node's tasks (nothing alone).
    pub async fn serve(&self, ctx: Context, starting: &mut Starting) -> Result<(), StartError> {
        match self {
            Peers::Alone => Ok(()),
            Peers::Cluster(node) => super::tasks::start(node, ctx, starting).await,
        }
    }

    /// This node's name in its cluster (`None` alone).
    pub fn node_name(&self) -> Option<&str> {
        match self {
            Peers::Alone => None,
            Peers::Cluster(node) => Some(node.name()),
        }
    }

    /// How long NATS has been out of reach (`None` alone, or while
    /// connected).
    pub fn nats_away(&self) -> Option<Duration> {
        match self {
            Peers::Alone => None,
            Peers::Cluster(node) => node.cluster.away_for(),
        }
    }

    /// Sets the cluster's gauges for a scrape: whether NATS is connected,
    /// and the other nodes alive (listed within a second; left as they
    /// were when NATS cannot say). Nothing alone.
    pub async fn gauge(&self, metrics: &Metrics) {
        let (Peers::Cluster(node), Some(cluster)) = (self, &metrics.cluster) else {
            return;
        };
        let connected = node.cluster.connected();
        cluster.nats_connected.set(i64::from(connected));
        if connected && let Ok(nodes) = node.nodes.list().await {
            let others = nodes.iter().filter(|n| n.node != node.name()).count();
            cluster.peers.set(i64::try_from(others).unwrap_or(i64::MAX));
        }
    }

    /// Claims `name` on every node for a join here that proved `identity`
    /// (other nodes list it so): `Ok(true)` when a claim was made (release
    /// it if the join fails), `Ok(false)` alone (the room alone decides).
    /// In a cluster a name a member here holds is taken without a claim
    /// (were it released between this look and the join, the join would
    /// hold the name unclaimed); NATS is waited for while it cannot decide,
    /// until `deadline`.
    pub async fn claim(
        &self,
        hub: &Hub,
        name: &str,
        identity: Option<IdentityKey>,
        owner: bool,
        deadline: Instant,
    ) -> Result<bool, Claim> {
        match self {
            Peers::Alone => Ok(false),
            Peers::Cluster(_) if hub.member(name).is_some() => Err(Claim::Taken),
            Peers::Cluster(node) => {
                let claimed = node.claim(name, identity, owner, deadline).await;
                if let (Err(Claim::Taken), Some(cluster)) = (&claimed, &node.metrics.cluster) {
                    cluster.name_conflicts.inc(NameConflict::Taken);
                }
                claimed.map(|()| true)
            }
        }
    }

    /// Asks the other nodes to end their session of `name` unless it
    /// proved one of `keys` (the name's owner is joining here; nothing
    /// alone).
    pub async fn end_unproven_elsewhere(&self, name: &str, keys: &[IdentityKey]) {
        match self {
            Peers::Alone => {}
            Peers::Cluster(node) => super::admin::end_unproven(node, name, keys).await,
        }
    }

    /// `name`'s record in the names registry, if it is registered; `Err`:
    /// a cluster's NATS cannot say now. (A record in a cluster's bucket
    /// that breaks the rules is a name registered to no key: its joins are
    /// refused until the admin removes it.)
    pub async fn registered(
        &self,
        registry: &Registry,
        name: &str,
    ) -> Result<Option<Record>, String> {
        match self {
            Peers::Alone => Ok(registry.get_here(name)),
            Peers::Cluster(node) => super::registry::lookup(node, name).await,
        }
    }

    /// Changes `name`'s record by `edit` (the registry's rules,
    /// `crate::registry::edit`): in `STATE_DIR/names` alone, by
    /// compare-and-set in a cluster's bucket. The record after.
    pub async fn edit_name(
        &self,
        registry: &Registry,
        name: &str,
        edit: impl Fn(Option<&Record>) -> Result<Edit, Refusal>,
    ) -> Result<Option<Record>, EditError> {
        match self {
            Peers::Alone => registry.edit_here(name, edit).await,
            Peers::Cluster(node) => node.registry.edit(name, edit, registry.max_names()).await,
        }
    }

    /// Every registered name, in name order, with the last-seen times
    /// noted here and not yet written.
    pub async fn names(&self, registry: &Registry) -> Result<Vec<Record>, String> {
        let records = match self {
            Peers::Alone => registry.list_here(),
            Peers::Cluster(node) => node.registry.list().await.map_err(|e| e.to_string())?,
        };
        Ok(registry.with_seen(records))
    }

    /// Writes the last-seen times noted since the last batch.
    pub async fn write_seen(&self, registry: &Registry) {
        let seen = registry.take_seen();
        let written = match self {
            Peers::Alone => registry.touch_here(seen).await.map_err(|e| e.to_string()),
            Peers::Cluster(node) => node.registry.touch(seen).await.map_err(|e| e.to_string()),
        };
        if let Err(e) = written {
            tracing::warn!("names: when names were last seen was not written: {e}");
        }
    }

    /// Releases the names unused for `name_expiry` that no one online
    /// holds; the names released.
    pub async fn expire_names(
        &self,
        registry: &Registry,
        hub: &Hub,
    ) -> Result<Vec<String>, String> {
        let cutoff = now_secs().saturating_sub(registry.expiry_secs());
        let online = |name: &str| hub.holder(name).is_some();
        match self {
            Peers::Alone => registry
                .expire_here(cutoff, online)
                .await
                .map_err(|e| e.to_string()),
            Peers::Cluster(node) => node
                .registry
                .expire(cutoff, online)
                .await
                .map_err(|e| e.to_string()),
        }
    }

    /// Changes moderation's book by `change`: in `STATE_DIR/moderation`
    /// alone, by compare-and-set in a cluster's state bucket (where
    /// `change` may run again on a newer book); then puts it in force here
    /// (`crate::ops::moderate::apply`: the room told, the sessions a new
    /// ban matches ended). The other nodes put it in force as they see it.
    pub async fn change_moderation(
        &self,
        moderation: &Moderation,
        hub: &Hub,
        change: impl Fn(&mut Book) -> Result<(), ModerationError>,
    ) -> Result<Changed, ModerationError> {
        match self {
            Peers::Alone => {
                let (after, before) = moderation.change_here(change).await?;
                let ended = crate::ops::moderate::apply(hub, &before, &after);
                Ok(Changed {
                    after,
                    before,
                    ended,
                })
            }
            Peers::Cluster(node) => super::moderation::change(node, moderation, hub, change).await,
        }
    }

    /// Tells the other nodes which rooms `member` is in now, after it
    /// joined or left one (nothing alone).
    pub async fn note_rooms(&self, member: &crate::hub::Member) {
        match self {
            Peers::Alone => {}
            Peers::Cluster(node) => node.note_rooms(member).await,
        }
    }

    /// Gives up `name`, whose user left (nothing alone).
    pub async fn release(&self, name: &str) {
        match self {
            Peers::Alone => {}
            Peers::Cluster(node) => node.release(name).await,
        }
    }

    /// Sends `dm` from `from` to its addressee on node `to_node`, and
    /// echoes it to the sender once delivered; the error to tell the
    /// sender otherwise (alone there is no other node: no such user).
    pub async fn send_dm(
        &self,
        hub: &Hub,
        from: &Member,
        to_node: &str,
        dm: Dm,
    ) -> Result<(), (ErrorCode, String)> {
        match self {
            Peers::Alone => Err(no_such_user(&dm.to)),
            Peers::Cluster(node) => super::dm::send(node, hub, from, to_node, dm).await,
        }
    }

    /// Rotates the room's key: here alone, on every node in a cluster.
    pub async fn rotate(
        &self,
        rotation: &Rotation,
        grace: Duration,
        disconnect: bool,
    ) -> Result<Rotated, ChangeError> {
        match self {
            Peers::Alone => Ok(rotation.rotate(grace, disconnect).await?),
            Peers::Cluster(node) => super::changes::rotate(node, rotation, grace, disconnect).await,
        }
    }

    /// Sets (`Some`) or clears (`None`) the admin-set join password: here
    /// alone, on every node in a cluster.
    pub async fn set_password(
        &self,
        keyring: &Arc<Keyring>,
        hash: Option<String>,
    ) -> Result<(), ChangeError> {
        match self {
            Peers::Alone => crate::ops::password::set_here(keyring, hash)
                .await
                .map_err(ChangeError::NotStored),
            Peers::Cluster(node) => super::changes::set_password(node, keyring, hash).await,
        }
    }

    /// Sends an admin's notice, already shown here, on to the other nodes:
    /// `None` alone, else whether it went.
    pub async fn notice_elsewhere(
        &self,
        text: &str,
        room: Option<&chat_protocol::RoomName>,
    ) -> Option<bool> {
        match self {
            Peers::Alone => None,
            Peers::Cluster(node) => Some(super::admin::notice(node, text, room).await),
        }
    }

    /// Asks the other nodes to reload their own configuration files.
    pub async fn reload_elsewhere(&self) {
        match self {
            Peers::Alone => {}
            Peers::Cluster(node) => super::admin::reload(node).await,
        }
    }

    /// Everyone online: this node's users (`here`) and, in a cluster,
    /// those of the other nodes that answer in time.
    pub async fn users(&self, here: Vec<User>) -> Users {
        match self {
            Peers::Alone => Users {
                users: here,
                warning: None,
            },
            Peers::Cluster(node) => super::admin::users(node, here).await,
        }
    }

    /// What the status says of the cluster (nothing alone).
    pub async fn status(&self, hub: &Hub, facts: &Facts) -> ClusterView {
        match self {
            Peers::Alone => ClusterView::default(),
            Peers::Cluster(node) => super::admin::status(node, hub, facts).await,
        }
    }
}
