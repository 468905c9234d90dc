//! Follows the keys, the admin password and moderation's book in the
//! cluster's state bucket and puts every change another node makes in
//! force on this one (`cluster::changes`, `cluster::moderation`).
//!
//! The watches are made again whenever they end or the connection to NATS
//! comes back after an outage, and each time, once they are in place, the
//! current values are read and applied if they are newer than the ones
//! this node holds: a change made while this node was cut off (or between
//! its start and its first watch) is not missed.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use futures_util::StreamExt;
use tokio_util::sync::CancellationToken;

use super::changes::{self, ChangeError};
use super::keys::{KEYS, RoomKeys};
use super::moderation::{self, MODERATION};
use super::node::Node;
use super::password::{self, PASSWORD};
use super::shared::Versioned;
use crate::moderation::Moderation;
use crate::ops::rotate::Rotation;

/// How long to wait before a failed watch is made again.
const EVERY: Duration = Duration::from_millis(500);

/// Runs until the shutdown (spawned at start on a node of a cluster). A
/// change of the keys is put in force as `rotation` does it here.
pub async fn follow(node: Arc<Node>, rotation: Rotation, moderation: Arc<Moderation>) {
    let shutdown = &rotation.shutdown;
    let mut connections = node.cluster.connections();
    loop {
        // Seen: a reconnection from here on makes the watches again.
        connections.borrow_and_update();
        let watches = async {
            Ok::<_, super::ClusterError>((
                node.shared.watch(KEYS).await?,
                node.shared.watch(PASSWORD).await?,
                node.shared.watch(MODERATION).await?,
            ))
        };
        let made = tokio::select! {
            made = tokio::time::timeout(Duration::from_secs(10), watches) => made,
            () = shutdown.cancelled() => return,
        };
        let (keys, password, bans) = match made {
            Ok(Ok(watches)) => watches,
            Ok(Err(e)) => {
                tracing::debug!("cluster: watching the keys and password failed: {e}");
                if pause(shutdown).await {
                    return;
                }
                continue;
            }
            Err(_) => {
                if pause(shutdown).await {
                    return;
                }
                continue;
            }
        };
        let (mut keys, mut password, mut bans) =
            (Box::pin(keys), Box::pin(password), Box::pin(bans));
        if let Err(e) = catch_up(&node, &rotation, &moderation).await {
            // Made again, and read again, rather than miss a change.
            tracing::debug!("cluster: reading the keys and password failed: {e}");
            if pause(shutdown).await {
                return;
            }
            continue;
        }
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                change = keys.next() => match change {
                    Some(change) => on_keys(&node, &rotation, change).await,
                    None => break,
                },
                change = password.next() => match change {
                    Some(change) => on_password(&node, &rotation, change).await,
                    None => break,
                },
                change = bans.next() => match change {
                    Some(change) => moderation::follow(&node, &moderation, &rotation.hub, change),
                    None => break,
                },
                Ok(()) = connections.changed() => {
                    tracing::debug!("cluster: NATS is back; watching the keys and password again");
                    break;
                }
            }
        }
    }
}

/// Waits a little before trying again; `true` at shutdown.
async fn pause(shutdown: &CancellationToken) -> bool {
    tokio::select! {
        () = tokio::time::sleep(EVERY) => false,
        () = shutdown.cancelled() => true,
    }
}

/// Reads the values and applies those newer than the ones held.
async fn catch_up(
    node: &Node,
    rotation: &Rotation,
    bans: &Moderation,
) -> Result<(), super::ClusterError> {
    if let Some(book) = node.shared.get(MODERATION).await?
        && book.revision > moderation::held(node)
    {
        moderation::follow(node, bans, &rotation.hub, book);
    }
    if let Some(keys) = node.shared.get(KEYS).await?
        && keys.revision > node.keys_revision.load(Ordering::Acquire)
    {
        on_keys(node, rotation, keys).await;
    }
    if let Some(hash) = node.shared.get(PASSWORD).await?
        && hash.revision > node.password_revision.load(Ordering::Acquire)
    {
        on_password(node, rotation, hash).await;
    }
    Ok(())
}

async fn on_keys(node: &Node, rotation: &Rotation, change: Versioned) {
    let Some(keys) = RoomKeys::decode(&change.value) else {
        tracing::error!(
            revision = change.revision,
            "cluster: the keys in the state bucket do not read; this node keeps its own"
        );
        return;
    };
    match changes::apply_keys(node, rotation, keys, change.revision).await {
        Ok(Some(rotated)) => tracing::info!(
            key_id = %rotated.key_id,
            previous = %rotated.previous_key_id,
            previous_expires = rotated.previous_key_expires,
            disconnected = rotated.disconnected,
            disconnect_at = rotated.disconnect_at,
            "cluster: the key was rotated on another node; this node now uses the new one"
        ),
        Ok(None) => {}
        Err(e) => report(&e),
    }
}

async fn on_password(node: &Node, rotation: &Rotation, change: Versioned) {
    let hash = match password::decode(&change.value) {
        Ok(hash) => hash,
        Err(problem) => {
            tracing::error!(
                revision = change.revision,
                "cluster: the admin password in the state bucket is not a usable hash ({problem}); this node keeps its own"
            );
            return;
        }
    };
    let set = hash.is_some();
    let held = node.password_revision.load(Ordering::Acquire);
    match changes::apply_password(node, &rotation.keyring, hash, change.revision).await {
        Ok(()) if change.revision > held => tracing::info!(
            set,
            "cluster: the admin-set join password was changed on another node; in force here too"
        ),
        Ok(()) => {}
        Err(e) => report(&e),
    }
}

fn report(e: &ChangeError) {
    tracing::error!("cluster: {e}");
}
