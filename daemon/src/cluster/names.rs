//! Names unique across nodes: claims in a key-value bucket.
//!
//! A claim is created only if the key is absent (NATS decides between two
//! nodes claiming one name at once: exactly one create succeeds). The
//! bucket's `max_age` is the claim's lifetime: the node that holds a claim
//! renews it every third of that with a compare-and-set on the revision it
//! holds, so a claim outlives its node by at most `claim_ttl`, and a renewal
//! never overwrites a claim another node made after this one had lapsed.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_nats::jetstream::kv;
use bytes::Bytes;

use super::{Cluster, ClusterError};

/// Why a name could not be claimed.
#[derive(Debug, thiserror::Error)]
pub enum ClaimError {
    /// Someone on some node holds it.
    #[error("the name is taken")]
    Taken,
    /// NATS could not decide.
    #[error(transparent)]
    Cluster(#[from] ClusterError),
}

/// The claims this node holds, and their revisions.
#[derive(Clone)]
pub struct Names {
    store: kv::Store,
    node: String,
    held: Arc<Mutex<HashMap<String, u64>>>,
}

/// The bucket key for a name: folded to lower case, and `.` (a token
/// separator in NATS subjects) written as `=2e` (`=` is not in names).
pub fn key_of(name: &str) -> String {
    name.to_ascii_lowercase().replace('.', "=2e")
}

impl Cluster {
    /// This node's view of the names bucket.
    pub async fn names(&self) -> Result<Names, ClusterError> {
        let store = self
            .js()
            .get_key_value(self.names_bucket())
            .await
            .map_err(|e| ClusterError::js("open the names bucket", e))?;
        Ok(Names {
            store,
            node: self.settings().node_name.clone(),
            held: Arc::default(),
        })
    }
}

impl Names {
    /// Claims `name` for a user of this node.
    pub async fn claim(&self, name: &str) -> Result<(), ClaimError> {
        let key = key_of(name);
        match self
            .store
            .create(&key, Bytes::from(self.node.clone()))
            .await
        {
            Ok(revision) => {
                self.held
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(key, revision);
                Ok(())
            }
            Err(e) if e.kind() == kv::CreateErrorKind::AlreadyExists => Err(ClaimError::Taken),
            Err(e) => Err(ClusterError::js("claim a name", e).into()),
        }
    }

    /// Gives `name` up (its user left). Only this node's own claim is
    /// removed, never one another node made since.
    pub async fn release(&self, name: &str) -> Result<(), ClusterError> {
        let key = key_of(name);
        let revision = self
            .held
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&key);
        let Some(revision) = revision else {
            return Ok(());
        };
        match self
            .store
            .delete_expect_revision(&key, Some(revision))
            .await
        {
            Ok(()) => Ok(()),
            // Lapsed and taken by someone else meanwhile: not ours to delete.
            Err(e) if e.kind() == kv::DeleteErrorKind::WrongLastRevision => Ok(()),
            Err(e) => Err(ClusterError::js("release a name", e)),
        }
    }

    /// Renews every claim this node holds. Returns the names it lost (their
    /// claims lapsed, e.g. while NATS was out of reach, and someone else
    /// took them): their users must go.
    pub async fn renew(&self) -> Result<Vec<String>, ClusterError> {
        let held: Vec<(String, u64)> = self
            .held
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|(k, r)| (k.clone(), *r))
            .collect();
        let mut lost = Vec::new();
        let mut failure = None;
        for (key, revision) in held {
            match self
                .store
                .update(&key, Bytes::from(self.node.clone()), revision)
                .await
            {
                Ok(new) => {
                    let mut map = self.held.lock().unwrap_or_else(|p| p.into_inner());
                    // Released meanwhile: leave it released.
                    if let Some(r) = map.get_mut(&key) {
                        *r = new;
                    }
                }
                Err(e) if e.kind() == kv::UpdateErrorKind::WrongLastRevision => {
                    self.held
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .remove(&key);
                    lost.push(key.replace("=2e", "."));
                }
                Err(e) => failure = Some(ClusterError::js("renew the name claims", e)),
            }
        }
        match failure {
            Some(e) if lost.is_empty() => Err(e),
            _ => Ok(lost),
        }
    }

    /// Which node holds `name`, if any.
    pub async fn holder(&self, name: &str) -> Result<Option<String>, ClusterError> {
        let value = self
            .store
            .get(key_of(name))
            .await
            .map_err(|e| ClusterError::js("look a name up", e))?;
        Ok(value.map(|v| String::from_utf8_lossy(&v).into_owned()))
    }

    /// How many claims this node holds.
    pub fn held(&self) -> usize {
        self.held.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}
