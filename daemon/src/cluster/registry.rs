//! The names registry of a cluster: one record a name
//! (`crate::registry::record::Record`, JSON) in the bucket
//! `<room>_registry`, under the name's folded key (as its claims are,
//! [`super::names::key_of`]), kept for ever (no `max_age`: a name is
//! released by the expiry sweep, not by NATS).
//!
//! Every change is a compare-and-set on the revision read (revision 0,
//! or a deletion's, for a name not registered), applying the registry's
//! rules ([`crate::registry::edit`]) to the record as it is: two nodes
//! registering one name at once both write on the same revision, NATS
//! takes exactly one, and the other reads the winner's record and decides
//! again (its own key: kept; another: refused). So no name is ever
//! registered to two keys by two nodes.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use async_nats::jetstream::kv;
use bytes::Bytes;
use futures_util::StreamExt;
use tokio::time::Instant;

use super::names::{key_of, name_of};
use super::{Cluster, ClusterError};
use crate::config::names::Policy;
use crate::registry::EditError;
use crate::registry::edit::{Edit, Refusal};
use crate::registry::record::Record;

/// Reads and writes of one change before it gives up on a record other
/// nodes keep changing.
const TRIES: usize = 8;

/// How long the count of names is trusted before it is counted again.
const COUNT_FOR: Duration = Duration::from_secs(10);

/// How long a listing of the registry may take.
const LIST_WAIT: Duration = Duration::from_secs(10);

/// This node's view of the registry bucket.
pub struct Registered {
    store: kv::Store,
    /// The number of names last counted, and when.
    count: std::sync::Mutex<Option<(Instant, usize)>>,
}

/// A record as read: the record (none: not registered) and the revision
/// to compare a change with.
struct Read {
    record: Option<Record>,
    revision: u64,
}

impl Cluster {
    /// Opens the registry bucket.
    pub async fn registry(&self) -> Result<Registered, ClusterError> {
        let store = self
            .js()
            .get_key_value(self.registry_bucket())
            .await
            .map_err(|e| ClusterError::js("open the names registry bucket", e))?;
        Ok(Registered {
            store,
            count: std::sync::Mutex::new(None),
        })
    }
}

impl Registered {
    /// `name`'s record, if it is registered.
    pub async fn get(&self, name: &str) -> Result<Option<Record>, ClusterError> {
        Ok(self.read(&key_of(name)).await?.record)
    }

    async fn read(&self, key: &str) -> Result<Read, ClusterError> {
        let entry = self
            .store
            .entry(key)
            .await
            .map_err(|e| ClusterError::js("read the names registry", e))?;
        let Some(entry) = entry else {
            return Ok(Read {
                record: None,
                revision: 0,
            });
        };
        if entry.operation != kv::Operation::Put {
            return Ok(Read {
                record: None,
                revision: entry.revision,
            });
        }
        let record = decode(key, &entry.value).map_err(|reason| ClusterError::BadValue {
            what: "read the names registry",
            reason,
        })?;
        Ok(Read {
            record: Some(record),
            revision: entry.revision,
        })
    }

    /// Changes `name`'s record by `edit`, on the revision read, read again
    /// and decided again while other nodes change it first; a new name
    /// past `max_names` is refused. The record after.
    pub async fn edit(
        &self,
        name: &str,
        edit: impl Fn(Option<&Record>) -> Result<Edit, Refusal>,
        max_names: usize,
    ) -> Result<Option<Record>, EditError> {
        let key = key_of(name);
        let unavailable = |e: ClusterError| EditError::Unavailable(e.to_string());
        for _ in 0..TRIES {
            let Read { record, revision } = self.read(&key).await.map_err(unavailable)?;
            let change = edit(record.as_ref()).map_err(EditError::Refused)?;
            let written = match &change {
                Edit::Keep => return Ok(record),
                Edit::Put(new) => {
                    if record.is_none() && self.count().await.map_err(unavailable)? >= max_names {
                        return Err(EditError::Full(max_names));
                    }
                    match self
                        .store
                        .update(&key, Bytes::from(new.encode()), revision)
                        .await
                    {
                        Ok(_) => true,
                        Err(e) if e.kind() == kv::UpdateErrorKind::WrongLastRevision => false,
                        Err(e) => {
                            return Err(unavailable(ClusterError::js(
                                "change the names registry",
                                e,
                            )));
                        }
                    }
                }
                Edit::Delete => match self
                    .store
                    .delete_expect_revision(&key, Some(revision))
                    .await
                {
                    Ok(()) => true,
                    Err(e) if e.kind() == kv::DeleteErrorKind::WrongLastRevision => false,
                    Err(e) => {
                        return Err(unavailable(ClusterError::js(
                            "change the names registry",
                            e,
                        )));
                    }
                },
            };
            if written {
                if record.is_none() || change == Edit::Delete {
                    *self.count.lock().expect("lock") = None;
                }
                return Ok(match change {
                    Edit::Put(new) => Some(new),
                    _ => None,
                });
            }
        }
        Err(EditError::Unavailable(format!(
            "the record of {name} kept changing on other nodes; try again"
        )))
    }

    /// How many names are registered (counted again at most every
    /// [`COUNT_FOR`]).
    async fn count(&self) -> Result<usize, ClusterError> {
        if let Some((at, n)) = *self.count.lock().expect("lock")
            && at.elapsed() < COUNT_FOR
        {
            return Ok(n);
        }
        let fail = |e: &dyn std::fmt::Display| ClusterError::js("count the registered names", e);
        let counting = async {
            let mut keys = self.store.keys().await.map_err(|e| fail(&e))?;
            let mut n = 0;
            while let Some(key) = keys.next().await {
                key.map_err(|e| fail(&e))?;
                n += 1;
            }
            Ok::<_, ClusterError>(n)
        };
        let n = tokio::time::timeout(LIST_WAIT, counting)
            .await
            .map_err(|_| fail(&"no answer in time"))??;
        *self.count.lock().expect("lock") = Some((Instant::now(), n));
        Ok(n)
    }

    /// Every record, by folded name. A value that breaks the rules is left
    /// out, with a warning (another program wrote it; it refuses joins of
    /// its name until it is removed).
    pub async fn list(&self) -> Result<Vec<Record>, ClusterError> {
        let fail = |e: &dyn std::fmt::Display| ClusterError::js("list the names registry", e);
        // Fresh: the store's own status is the one it was opened with.
        // The newest value of the bucket is some name's newest: once the
        // watch of each name's newest reached it, every name was seen.
        let mut stream = self.store.stream.clone();
        let info = stream.info().await.map_err(|e| fail(&e))?;
        let last = info.state.last_sequence;
        if info.state.messages == 0 {
            return Ok(Vec::new());
        }
        let listing = async {
            let mut watch = self
                .store
                .watch_with_history(">")
                .await
                .map_err(|e| fail(&e))?;
            let mut records = BTreeMap::new();
            while let Some(entry) = watch.next().await {
                let entry = entry.map_err(|e| fail(&e))?;
                if entry.operation == kv::Operation::Put {
                    match decode(&entry.key, &entry.value) {
                        Ok(record) => {
                            records.insert(entry.key.clone(), record);
                        }
                        Err(reason) => tracing::warn!(
                            key = %entry.key,
                            "cluster: a names registry value breaks the rules ({reason}); remove it with `chatctl names remove {}`",
                            name_of(&entry.key)
                        ),
                    }
                } else {
                    records.remove(&entry.key);
                }
                if entry.revision >= last {
                    break;
                }
            }
            Ok::<_, ClusterError>(records.into_values().collect())
        };
        tokio::time::timeout(LIST_WAIT, listing)
            .await
            .map_err(|_| fail(&"no answer in time"))?
    }

    /// Writes the last-seen times `seen` (by folded name), each a
    /// compare-and-set that leaves a record changed meanwhile to the next
    /// batch.
    pub async fn touch(&self, seen: HashMap<String, u64>) -> Result<(), ClusterError> {
        for (folded, at) in seen {
            let key = key_of(&folded);
            let Read { record, revision } = match self.read(&key).await {
                Ok(read) => read,
                Err(ClusterError::BadValue { .. }) => continue,
                Err(e) => return Err(e),
            };
            let Some(mut record) = record.filter(|r| r.last_seen < at) else {
                continue;
            };
            record.last_seen = at;
            match self
                .store
                .update(&key, Bytes::from(record.encode()), revision)
                .await
            {
                Ok(_) => {}
                Err(e) if e.kind() == kv::UpdateErrorKind::WrongLastRevision => {}
                Err(e) => return Err(ClusterError::js("note when names were last seen", e)),
            }
        }
        Ok(())
    }

    /// Releases the names unused since before `cutoff` that no one online
    /// holds (`online`), each a compare-and-set on the revision listed;
    /// the names released.
    pub async fn expire(
        &self,
        cutoff: u64,
        online: impl Fn(&str) -> bool,
    ) -> Result<Vec<String>, ClusterError> {
        let mut gone = Vec::new();
        for record in self.list().await? {
            if record.last_seen >= cutoff || online(&record.name) {
                continue;
            }
            let key = key_of(&record.name);
            let read = self.read(&key).await?;
            if read.record.as_ref() != Some(&record) {
                continue;
            }
            match self
                .store
                .delete_expect_revision(&key, Some(read.revision))
                .await
            {
                Ok(()) => gone.push(record.name),
                Err(e) if e.kind() == kv::DeleteErrorKind::WrongLastRevision => {}
                Err(e) => return Err(ClusterError::js("release unused names", e)),
            }
        }
        if !gone.is_empty() {
            *self.count.lock().expect("lock") = None;
        }
        Ok(gone)
    }
}

/// The state bucket's key that marks a room whose names registry was kept
/// from its start (or since an admin set `names` to bind names): its value
/// is the policy that marked it, for people reading the bucket.
const MARK: &str = "names";

/// The policy an unset `names` means on every node of this cluster, as
/// `STATE_DIR/names` decides it for a single chatd
/// ([`crate::registry::file::default_policy`]), the mark being in the
/// state bucket instead of a file: `first-come` for a room that has one,
/// or that this node made now (`created`: the cluster's keys are the ones
/// it made), which marks it; `open` for a cluster from before the
/// registry, with a warning at every start. A `names` set to bind names
/// marks the room too, so that leaving it unset later keeps names bound.
pub async fn default_policy(
    shared: &super::shared::Shared,
    config: &crate::config::Config,
    created: bool,
) -> Result<Policy, ClusterError> {
    let marked = shared.get(MARK).await?.is_some();
    let default = crate::registry::file::default_policy(marked, created);
    let binds = config.names.unwrap_or(default).binds();
    if !marked && binds {
        let policy = config.names.unwrap_or(default).as_str();
        shared
            .adopt_or_publish(MARK, Bytes::from_static(policy.as_bytes()))
            .await?;
    }
    if config.names.is_none() && default == Policy::Open {
        tracing::warn!(
            "names is not set, and this cluster's room was made by an older chatd (its state bucket holds keys but no names registry): \
             names stay open, so anyone with the key may join under any free name. {}",
            crate::registry::file::SET_NAMES
        );
    }
    Ok(default)
}

/// `name`'s record for a join on `node`: a value that breaks the rules
/// is a name registered to no key (its joins are refused, with a warning,
/// until the admin removes it); `Err`: NATS cannot say now.
pub async fn lookup(node: &super::node::Node, name: &str) -> Result<Option<Record>, String> {
    match node.registry.get(name).await {
        Ok(record) => Ok(record),
        Err(ClusterError::BadValue { reason, .. }) => {
            static DAMAGED: crate::logging::line_budget::LineBudget =
                crate::logging::line_budget::LineBudget::new(
                    "cluster: damaged names registry values",
                    3,
                    Duration::from_secs(60),
                );
            crate::budgeted!(
                DAMAGED,
                tracing::Level::WARN,
                name,
                "cluster: the names registry's value for this name breaks the rules ({reason}); its joins are refused until it is removed (`chatctl names remove NAME`)"
            );
            Ok(Some(Record {
                name: name.to_string(),
                keys: Vec::new(),
                registered: 0,
                last_seen: 0,
            }))
        }
        Err(e) => Err(e.to_string()),
    }
}

/// A registry value for bucket key `key`: a record of the name the key
/// stands for.
fn decode(key: &str, value: &[u8]) -> Result<Record, String> {
    let record = Record::decode(value)?;
    if key_of(&record.name) != key {
        return Err(format!("a record of {} under another name", record.name));
    }
    Ok(record)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_must_be_a_record_of_its_own_name() {
        let key = chat_protocol::Identity::from_seed(&[1; 32]).public();
        let record = Record::new("Ace.B", key, 1);
        assert_eq!(decode("ace=2eb", &record.encode()), Ok(record.clone()));
        assert!(decode("bob", &record.encode()).is_err());
        assert!(decode("ace=2eb", b"{}").is_err());
    }
}
