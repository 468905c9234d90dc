//! Values every node must agree on, in the room's state bucket.
//!
//! The first node to start publishes its own value (its join key, its
//! server identity, its password hash); later nodes adopt what is there, so
//! a token printed by any node joins every node. A change (a key rotation,
//! a new password) is a compare-and-set on the revision the changer read,
//! and every node watches the bucket to apply it.

use async_nats::jetstream::kv;
use bytes::Bytes;
use futures_util::{Stream, StreamExt};

use super::{Cluster, ClusterError};

/// A value in the state bucket and the revision it was read at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Versioned {
    /// The bytes.
    pub value: Bytes,
    /// The bucket revision (for a later compare-and-set).
    pub revision: u64,
}

/// This node's view of the state bucket.
#[derive(Clone)]
pub struct Shared {
    store: kv::Store,
}

impl Cluster {
    /// Opens the room's state bucket.
    pub async fn shared(&self) -> Result<Shared, ClusterError> {
        let store = self
            .js()
            .get_key_value(self.state_bucket())
            .await
            .map_err(|e| ClusterError::js("open the state bucket", e))?;
        Ok(Shared { store })
    }
}

impl Shared {
    /// The cluster's value for `key`: `ours` if no node set one yet (it is
    /// stored), else the one already there.
    pub async fn adopt_or_publish(
        &self,
        key: &str,
        ours: Bytes,
    ) -> Result<Versioned, ClusterError> {
        match self.store.create(key, ours.clone()).await {
            Ok(revision) => Ok(Versioned {
                value: ours,
                revision,
            }),
            Err(e) if e.kind() == kv::CreateErrorKind::AlreadyExists => {
                self.get(key).await?.ok_or_else(|| ClusterError::JetStream {
                    what: "read the shared state",
                    reason: format!("{key} exists but could not be read"),
                })
            }
            Err(e) => Err(ClusterError::js("publish the shared state", e)),
        }
    }

    /// The current value of `key`.
    pub async fn get(&self, key: &str) -> Result<Option<Versioned>, ClusterError> {
        let entry = self
            .store
            .entry(key)
            .await
            .map_err(|e| ClusterError::js("read the shared state", e))?;
        Ok(entry.and_then(|e| {
            (e.operation == kv::Operation::Put).then_some(Versioned {
                value: e.value,
                revision: e.revision,
            })
        }))
    }

    /// Stores `key`'s first value: `Ok(None)` if another node stored one
    /// first (read it and decide again).
    pub async fn create(&self, key: &str, value: Bytes) -> Result<Option<u64>, ClusterError> {
        match self.store.create(key, value).await {
            Ok(revision) => Ok(Some(revision)),
            Err(e) if e.kind() == kv::CreateErrorKind::AlreadyExists => Ok(None),
            Err(e) => Err(ClusterError::js("store the shared state", e)),
        }
    }

    /// Replaces `key`'s value if it is still at `revision`; `Ok(None)` if
    /// another node changed it first (read it again and decide).
    pub async fn replace(
        &self,
        key: &str,
        value: Bytes,
        revision: u64,
    ) -> Result<Option<u64>, ClusterError> {
        match self.store.update(key, value, revision).await {
            Ok(revision) => Ok(Some(revision)),
            Err(e) if e.kind() == kv::UpdateErrorKind::WrongLastRevision => Ok(None),
            Err(e) => Err(ClusterError::js("change the shared state", e)),
        }
    }

    /// Every later change of `key`, as it happens.
    pub async fn watch(
        &self,
        key: &str,
    ) -> Result<impl Stream<Item = Versioned> + Send + 'static, ClusterError> {
        let watch = self
            .store
            .watch(key)
            .await
            .map_err(|e| ClusterError::js("watch the shared state", e))?;
        Ok(watch.filter_map(|entry| async move {
            let entry = entry.ok()?;
            (entry.operation == kv::Operation::Put).then_some(Versioned {
                value: entry.value,
                revision: entry.revision,
            })
        }))
    }
}
