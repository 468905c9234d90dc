//! A node's tasks, started once the daemon's parts exist and stopped by
//! the shutdown: the room fed from the room's stream, the name claims
//! renewed, the keys and password followed, the admin's orders carried
//! out (and this node's liveness entry kept), DMs from other nodes
//! delivered, and the users of the other nodes listed.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::node::{Node, renew_claims};
use super::start::{StartError, Starting};
use super::{control, dm, presence, watch};
use crate::config::Current;
use crate::hub::Hub;
use crate::ops::reload::Reload;
use crate::ops::rotate::Rotation;
use crate::ops::status::Facts;
use crate::registry::Registry;
use crate::store::keyring::Keyring;

/// What a node's tasks use of the daemon.
#[derive(Clone)]
pub struct Context {
    /// The configuration in force (a notice is held to its `max_text`).
    pub config: Arc<Current>,
    /// The keys and password, which other nodes change.
    pub keyring: Arc<Keyring>,
    /// The room.
    pub hub: Arc<Hub>,
    /// The names registry (a node of a cluster keeps its records in NATS).
    pub registry: Arc<Registry>,
    /// The bans (a node of a cluster follows the cluster's).
    pub moderation: Arc<crate::moderation::Moderation>,
    /// The record of moderation, whose entries go on to the cluster's.
    pub audit: Arc<crate::moderation::audit::Audit>,
    /// This node's liveness entry (where it listens, since when).
    pub facts: Arc<Facts>,
    /// A rotation another node made, put in force here.
    pub rotation: Rotation,
    /// A reload another node asked for.
    pub reload: Reload,
    /// Fires at shutdown.
    pub shutdown: CancellationToken,
    /// The shutdown waits for the liveness task's last act.
    pub sessions: TaskTracker,
}

/// Starts the tasks; DMs are listened for before it returns (tried again
/// while NATS is not ready, within the start's bound), and the users of
/// the other nodes are listed (for at most a few seconds), so that the
/// first `Welcome` lists them too.
pub(super) async fn start(
    node: &Arc<Node>,
    ctx: Context,
    starting: &mut Starting,
) -> Result<(), StartError> {
    let kept = ctx.registry.kept_here();
    if kept > 0 {
        tracing::warn!(
            kept,
            "the state directory's names registry holds names, which a node of a cluster does not use \
             (the cluster's registry is in NATS): register them again there with `chatctl names add NAME KEY`"
        );
    }
    tokio::spawn(pump_arrivals(
        node.arrived.clone(),
        ctx.hub.clone(),
        ctx.shutdown.clone(),
    ));
    tokio::spawn(renew_claims(
        node.clone(),
        ctx.hub.clone(),
        ctx.shutdown.clone(),
    ));
    // The cluster's bans are in force before the first join is checked.
    let bans = starting
        .retry(|| async { Ok(node.shared.get(super::moderation::MODERATION).await?) })
        .await?;
    let kept = ctx.moderation.book().bans.len();
    if kept > 0 {
        tracing::warn!(
            kept,
            "the state directory's moderation state holds bans, which a node of a cluster does not use \
             (the cluster's bans are in NATS): ban again there with `chatctl ban`"
        );
    }
    match bans {
        Some(bans) => super::moderation::follow(node, &ctx.moderation, &ctx.hub, bans),
        None => {
            ctx.moderation.install_shared(Default::default());
        }
    }
    tokio::spawn(watch::follow(
        node.clone(),
        ctx.rotation.clone(),
        ctx.moderation.clone(),
    ));
    tokio::spawn(count_reconnections(node.clone(), ctx.shutdown.clone()));
    if let Some(entries) = ctx.audit.share() {
        tokio::spawn(super::audit::publish(
            node.clone(),
            entries,
            ctx.shutdown.clone(),
        ));
    }
    if let Some(shared) = node.rooms.get() {
        ctx.hub.share_settings(shared.clone());
        tokio::spawn(super::rooms::follow(
            node.clone(),
            shared.clone(),
            ctx.hub.clone(),
            shared.listed_at,
            ctx.shutdown.clone(),
        ));
    }
    tokio::spawn(control::run(node.clone(), ctx.clone()));
    starting
        .retry(|| async { Ok(dm::start(node, &ctx.hub, &ctx.shutdown).await?) })
        .await?;
    presence::start(node, &ctx.hub, &ctx.shutdown).await;
    Ok(())
}

/// Fans out what other nodes (and this one) put in the room's replicated
/// log, as it arrives, until the shutdown.
async fn pump_arrivals(
    arrived: Arc<super::replicated::Arrivals>,
    hub: Arc<Hub>,
    shutdown: CancellationToken,
) {
    loop {
        tokio::select! {
            rooms = arrived.next() => {
                for room in rooms {
                    hub.pump_room(room.as_ref());
                }
            }
            () = shutdown.cancelled() => return,
        }
    }
}

/// Counts each time the connection to NATS comes back
/// (`chatd_nats_reconnects_total`), until the shutdown.
async fn count_reconnections(node: Arc<Node>, shutdown: CancellationToken) {
    let Some(metrics) = &node.metrics.cluster else {
        return;
    };
    let mut connections = node.cluster.connections();
    let mut seen = *connections.borrow_and_update();
    loop {
        tokio::select! {
            changed = connections.changed() => {
                if changed.is_err() {
                    return;
                }
            }
            () = shutdown.cancelled() => return,
        }
        let now = *connections.borrow_and_update();
        metrics.nats_reconnects.inc_by(now.saturating_sub(seen));
        seen = now;
    }
}
