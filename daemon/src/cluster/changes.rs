//! Key rotations and admin password changes made on any node, put in
//! force on every node.
//!
//! A change is a compare-and-set in the state bucket on the revision the
//! changing node just read: `chatctl rotate-key` computes the new keys from
//! the cluster's (as a local rotation does from its own), `chatctl passwd`
//! writes the new hash (empty: cleared). A change that loses the race to
//! another node's is made once more on what that node wrote (so two admins
//! rotating at once get two rotations, in some order, as on one node); a
//! second loss is reported and nothing changes. With NATS out of reach the
//! change is refused and nothing changes anywhere.
//!
//! Every node, the changing one included, puts a value in force through
//! one function per value ([`apply_keys`], [`apply_password`]): the state
//! directory first (the key file's rename is the commit point), then
//! memory, exactly as a local rotation or `passwd` does. A value is applied
//! only when its revision is newer than the one the node holds, so the
//! changing node, which applies its change at once, skips it when the
//! watch (`cluster::watch`) brings it back. Both run under `state_writes`.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use chat_protocol::admin::Rotated;

use super::ClusterError;
use super::keys::{KEYS, RoomKeys};
use super::node::Node;
use super::password::{self, PASSWORD};
use crate::ops::rotate::{RotateError, Rotation};
use crate::store::StoreError;
use crate::store::keyring::Keyring;

/// How long a change may wait for NATS before it is refused.
const CHANGE_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a change did not happen, or happened only in part.
#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    /// NATS is out of reach (or did not answer in time): nothing changed.
    #[error(
        "the cluster is unavailable; nothing changed ({0}); check that NATS runs and this node reaches it (`chatctl status`), then try again"
    )]
    Unavailable(String),
    /// Other nodes changed the value twice while this one tried.
    #[error(
        "another node changed the {0} at the same moment, twice; nothing changed here; look at it (`chatctl key`, `chatctl status`) and try again if still needed"
    )]
    Conflict(&'static str),
    /// The value in the bucket does not read.
    #[error("the cluster's {what} does not read ({reason}); nothing changed")]
    Damaged {
        /// Which value.
        what: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The cluster took the change, and this node put it in force in
    /// memory, but could not write it into its state directory.
    #[error(
        "the change reached every node, but this node could not write it into its state directory: {0}; fix that, then restart this node (it takes the cluster's value at start)"
    )]
    Disk(StoreError),
    /// A single chatd's rotation failed (nothing changed).
    #[error(transparent)]
    NotRotated(#[from] RotateError),
    /// A single chatd could not store its new password (nothing changed).
    #[error(transparent)]
    NotStored(StoreError),
}

/// Runs one request to NATS, bounded by [`CHANGE_TIMEOUT`]; refused at once
/// when the connection is down (the client would queue it until NATS
/// returns).
async fn within<T>(
    node: &Node,
    request: impl Future<Output = Result<T, ClusterError>>,
) -> Result<T, ChangeError> {
    if !node.cluster.connected() {
        return Err(ChangeError::Unavailable("not connected to NATS".into()));
    }
    match tokio::time::timeout(CHANGE_TIMEOUT, request).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(ChangeError::Unavailable(e.to_string())),
        Err(_) => Err(ChangeError::Unavailable(format!(
            "NATS did not answer within {} s",
            CHANGE_TIMEOUT.as_secs()
        ))),
    }
}

/// Rotates the room's key on every node: the new keys are computed from
/// the cluster's as `keys::rotate` computes them from a node's own.
pub async fn rotate(
    node: &Node,
    rotation: &Rotation,
    grace: Duration,
    disconnect: bool,
) -> Result<Rotated, ChangeError> {
    // Held across the compare-and-set, so that the watch cannot apply this
    // change before this node does (and the count of ended sessions is
    // this call's).
    let _writing = rotation.keyring.state_writes.lock().await;
    for _ in 0..2 {
        let Some(current) = within(node, node.shared.get(KEYS)).await? else {
            return Err(ChangeError::Damaged {
                what: "keys",
                reason: format!("no value {KEYS:?} in the state bucket"),
            });
        };
        let theirs = RoomKeys::decode(&current.value).ok_or(ChangeError::Damaged {
            what: "keys",
            reason: format!("the value {KEYS:?} is not a set of keys"),
        })?;
        if theirs.identity.public() != rotation.keyring.identity.public() {
            return Err(ChangeError::Damaged {
                what: "keys",
                reason: "they belong to another server identity; restart this node to take it"
                    .into(),
            });
        }
        let (token, previous) = crate::ops::rotate::next_keys(&theirs.token, grace, disconnect);
        let next = RoomKeys {
            identity: theirs.identity,
            token,
            previous,
            disconnect,
        };
        let encoded = bytes::Bytes::copy_from_slice(&next.encode());
        if let Some(revision) =
            within(node, node.shared.replace(KEYS, encoded, current.revision)).await?
        {
            // A revision this node just wrote is newer than any it holds.
            return apply_keys_locked(node, rotation, next, revision)
                .await?
                .ok_or(ChangeError::Conflict("keys"));
        }
    }
    Err(ChangeError::Conflict("keys"))
}

/// Sets (`Some`) or clears (`None`) the admin password on every node.
pub async fn set_password(
    node: &Node,
    keyring: &Arc<Keyring>,
    hash: Option<String>,
) -> Result<(), ChangeError> {
    let _writing = keyring.state_writes.lock().await;
    let value = password::encode(hash.as_deref());
    for _ in 0..2 {
        // Revision 0: no node ever had one; the write then expects none.
        let revision = within(node, node.shared.get(PASSWORD))
            .await?
            .map_or(0, |v| v.revision);
        if let Some(revision) =
            within(node, node.shared.replace(PASSWORD, value.clone(), revision)).await?
        {
            return apply_password_locked(node, keyring, hash, revision).await;
        }
    }
    Err(ChangeError::Conflict("password"))
}

/// Puts the cluster's keys at `revision` in force on this node, unless it
/// holds them already; `Ok(None)` when there was nothing to do.
pub async fn apply_keys(
    node: &Node,
    rotation: &Rotation,
    keys: RoomKeys,
    revision: u64,
) -> Result<Option<Rotated>, ChangeError> {
    let _writing = rotation.keyring.state_writes.lock().await;
    apply_keys_locked(node, rotation, keys, revision).await
}

async fn apply_keys_locked(
    node: &Node,
    rotation: &Rotation,
    keys: RoomKeys,
    revision: u64,
) -> Result<Option<Rotated>, ChangeError> {
    if revision <= node.keys_revision.load(Ordering::Acquire) {
        return Ok(None);
    }
    if keys.identity.public() != rotation.keyring.identity.public() {
        // Only if someone replaced the bucket's value by hand: the
        // identity is read at start only.
        tracing::error!(
            "cluster: the keys in the state bucket belong to another server identity; \
             this node keeps its keys until it is restarted (it then takes the cluster's)"
        );
        return Ok(None);
    }
    node.keys_revision.store(revision, Ordering::Release);
    let keyring = rotation.keyring.clone();
    let (keys, mirrored) = tokio::task::spawn_blocking(move || {
        let mirrored = keys.mirror(&keyring.store);
        (keys, mirrored)
    })
    .await
    .map_err(|e| ChangeError::Disk(StoreError::Panicked(e.to_string())))?;
    // Memory follows the cluster even if the disk failed: every other
    // node joins with the new key, and this one takes it again at start.
    let rotated = rotation.put_in_force(keys.token, keys.previous, keys.disconnect);
    match mirrored {
        Ok(()) => Ok(Some(rotated)),
        Err(e) => Err(ChangeError::Disk(e)),
    }
}

/// Puts the cluster's admin password at `revision` in force on this node,
/// unless it holds it already.
pub async fn apply_password(
    node: &Node,
    keyring: &Arc<Keyring>,
    hash: Option<String>,
    revision: u64,
) -> Result<(), ChangeError> {
    let _writing = keyring.state_writes.lock().await;
    apply_password_locked(node, keyring, hash, revision).await
}

async fn apply_password_locked(
    node: &Node,
    keyring: &Arc<Keyring>,
    hash: Option<String>,
    revision: u64,
) -> Result<(), ChangeError> {
    if revision <= node.password_revision.load(Ordering::Acquire) {
        return Ok(());
    }
    node.password_revision.store(revision, Ordering::Release);
    let (store, saved) = (keyring.clone(), hash.clone());
    let mirrored = tokio::task::spawn_blocking(move || match &saved {
        Some(hash) => store.store.save_password_hash(hash),
        None => store.store.erase_password_hash(),
    })
    .await
    .unwrap_or_else(|e| Err(StoreError::Panicked(e.to_string())));
    keyring.password.set_admin_hash(hash);
    mirrored.map_err(ChangeError::Disk)
}
