//! Names unique across nodes: claims in a key-value bucket.
//!
//! A claim is created only if the key is absent (NATS decides between two
//! nodes claiming one name at once: exactly one create succeeds). The
//! bucket's `max_age` is the claim's lifetime: the node that holds a claim
//! renews it every third of that with a compare-and-set on the revision it
//! holds, so a claim outlives its node by at most `claim_ttl`, and a renewal
//! never overwrites a claim another node made after this one had lapsed.
//!
//! A claim's value is JSON `{"node":…,"name":…}`: the node that holds it
//! and the name as its user wrote it (the key is folded), and the identity
//! the user proved at its join, if any (`identity`, the key's text form),
//! so every node can list the users of the others with their identities
//! ([`super::presence`]). A bare node name, as the first cluster releases
//! wrote, is still read.

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

/// The claims this node holds: their revisions and values.
#[derive(Clone)]
pub struct Names {
    pub(super) store: kv::Store,
    client: async_nats::Client,
    /// Changes at each connection made to NATS (see [`Cluster`]).
    pub(super) connections: tokio::sync::watch::Receiver<u64>,
    /// How long a claim lives unrenewed in NATS ([`super::Settings::claim_lifetime`]).
    pub(super) lifetime: std::time::Duration,
    node: String,
    pub(super) held: Arc<Mutex<HashMap<String, (u64, Bytes)>>>,
    /// Held by a renewal pass and by each release, so that a release
    /// never races a renewal of the same claim (the one would leave the
    /// claim behind, or end the next holder of the name).
    turn: Arc<tokio::sync::Mutex<()>>,
}

/// What a claim says: who holds the name, and where.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Holder {
    /// The node the user is on.
    pub node: String,
    /// The name as the user wrote it.
    pub name: String,
    /// A random id of this one claim (16 hex digits), so that a node tells
    /// a claim of its own that NATS stored without answering from another
    /// claim of the same name on the same node. Absent in older claims.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim: Option<String>,
    /// The identity the user proved at its join; absent: none (and in
    /// older claims).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<chat_protocol::IdentityKey>,
    /// Whether that identity is one of the name's registered keys, as the
    /// node checked it at the join (the condition for an operator's
    /// mark). Absent: no (and in older claims).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub owner: bool,
    /// The rooms besides the default one the user is in, so every node
    /// lists it in them ([`super::rooms`]). Absent: none (and in older
    /// claims).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rooms: Vec<chat_protocol::RoomName>,
}

impl Holder {
    /// A new claim of `name` by `node` for a user who proved `identity`,
    /// with its own random id.
    pub fn new(node: &str, name: &str, identity: Option<chat_protocol::IdentityKey>) -> Holder {
        let mut id = [0u8; 8];
        getrandom::fill(&mut id).expect("the OS random generator failed");
        Holder {
            node: node.to_string(),
            name: name.to_string(),
            claim: Some(id.iter().map(|b| format!("{b:02x}")).collect()),
            identity,
            owner: false,
            rooms: Vec::new(),
        }
    }

    /// The claim's value.
    pub fn encode(&self) -> Bytes {
        Bytes::from(serde_json::to_vec(self).expect("a holder always serializes"))
    }

    /// Reads a claim's value for bucket key `key`: the JSON form, or a
    /// bare node name (then the name is the key, unfolded as far as it can
    /// be). `None`: neither.
    pub fn decode(key: &str, value: &[u8]) -> Option<Holder> {
        if value.first() == Some(&b'{') {
            return serde_json::from_slice(value).ok();
        }
        let node = std::str::from_utf8(value).ok()?.trim();
        (!node.is_empty()).then(|| Holder {
            node: node.to_string(),
            name: name_of(key),
            claim: None,
            identity: None,
            owner: false,
            rooms: Vec::new(),
        })
    }
}

/// The bucket key for a name: folded to lower case, and `.` (a token
/// separator in NATS subjects) written as `=2e` (`=` is not in names).
pub fn key_of(name: &str) -> String {
    name.to_ascii_lowercase().replace('.', "=2e")
}

/// The (folded) name a bucket key stands for.
pub fn name_of(key: &str) -> String {
    key.replace("=2e", ".")
}

/// Whether `stored` is the claim `ours` of `key`, perhaps listing other
/// rooms (a change of them that NATS stored without answering, or that
/// never reached it): the same bytes, or the same node and claim id.
fn same_claim(key: &str, stored: &[u8], ours: &[u8]) -> bool {
    if stored == ours {
        return true;
    }
    match (Holder::decode(key, stored), Holder::decode(key, ours)) {
        (Some(stored), Some(ours)) => {
            ours.claim.is_some() && stored.claim == ours.claim && stored.node == ours.node
        }
        _ => false,
    }
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
            client: self.client.clone(),
            connections: self.connections(),
            lifetime: self.settings().claim_lifetime(),
            node: self.settings().node_name.clone(),
            held: Arc::default(),
            turn: Arc::default(),
        })
    }
}

impl Names {
    pub(super) fn connected(&self) -> bool {
        self.client.connection_state() == async_nats::connection::State::Connected
    }

    /// Gives `name` up (its user left). Only this node's own claim is
    /// removed, never one another node made since.
    pub async fn release(&self, name: &str) -> Result<(), ClusterError> {
        // Out of the held claims first, before waiting for the turn: a
        // release given up while a long renewal pass runs must not leave
        // a claim that is renewed for ever (it lapses within the ttl).
        let key = key_of(name);
        let held = self
            .held
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&key);
        let Some((revision, ours)) = held else {
            return Ok(());
        };
        let _turn = self.turn.lock().await;
        let delete = |revision| self.store.delete_expect_revision(&key, Some(revision));
        match delete(revision).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == kv::DeleteErrorKind::WrongLastRevision => {
                // Still ours at another revision (a renewal went through
                // but its answer was lost)? Else another node's: left be.
                match self.reconcile_read(&key, &ours).await? {
                    Some(revision) => delete(revision)
                        .await
                        .map_err(|e| ClusterError::js("release a name", e)),
                    None => Ok(()),
                }
            }
            Err(e) => Err(ClusterError::js("release a name", e)),
        }
    }

    /// Says in `name`'s claim that its user is in `rooms` (besides the
    /// default room), so the other nodes list it there. A claim this node
    /// does not hold (released, or lost) is left alone; a write NATS
    /// refuses, or does not answer in time, is logged, and the next
    /// renewal writes the rooms.
    pub async fn set_rooms(&self, name: &str, rooms: Vec<chat_protocol::RoomName>) {
        let key = key_of(name);
        let _turn = self.turn.lock().await;
        let held = self
            .held
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key)
            .cloned();
        let Some((revision, old)) = held else {
            return;
        };
        let Some(mut holder) = Holder::decode(&key, &old) else {
            return;
        };
        holder.rooms = rooms;
        let new = holder.encode();
        if new == old {
            return;
        }
        // Held before it is written: whatever becomes of this write (NATS
        // does not answer in time and stores it later, or never gets it),
        // the next renewal writes these rooms, and knows the claim as its
        // own when NATS already holds it.
        self.hold(&key, revision, new.clone());
        let mut result = self.store.update(&key, new.clone(), revision).await;
        if let Err(e) = &result
            && e.kind() == kv::UpdateErrorKind::WrongLastRevision
        {
            // A renewal went through but its answer was lost: the bucket
            // holds this claim at another revision.
            match self.reconcile_read(&key, &old).await {
                Ok(Some(revision)) => result = self.store.update(&key, new.clone(), revision).await,
                _ => return,
            }
        }
        match result {
            Ok(revision) => self.hold(&key, revision, new),
            Err(e) => tracing::warn!(
                "cluster: the rooms of a user were not shared; the next renewal shares them: {e}"
            ),
        }
    }

    /// Notes that this node's claim of `key` is `value`, at `revision`,
    /// unless it was released meanwhile.
    fn hold(&self, key: &str, revision: u64, value: Bytes) {
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(entry) = held.get_mut(key) {
            *entry = (revision, value);
        }
    }

    /// Renews every claim this node holds. Returns the names it lost (their
    /// claims lapsed, e.g. while NATS was out of reach, and someone else
    /// took them): their users must go.
    pub async fn renew(&self) -> Result<Vec<String>, ClusterError> {
        if !self.connected() {
            return Err(ClusterError::js(
                "renew the name claims",
                "not connected to NATS",
            ));
        }
        let _turn = self.turn.lock().await;
        let held: Vec<(String, u64, Bytes)> = self
            .held
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|(k, (r, v))| (k.clone(), *r, v.clone()))
            .collect();
        let mut lost = Vec::new();
        let mut failure = None;
        for (key, revision, value) in held {
            match self.store.update(&key, value.clone(), revision).await {
                Ok(new) => self.keep(&key, new),
                Err(e) if e.kind() == kv::UpdateErrorKind::WrongLastRevision => {
                    match self.reconcile(&key, value).await {
                        Ok(Some(new)) => self.keep(&key, new),
                        Ok(None) => {
                            self.held
                                .lock()
                                .unwrap_or_else(|p| p.into_inner())
                                .remove(&key);
                            lost.push(name_of(&key));
                        }
                        Err(e) => {
                            failure = Some(e);
                            break;
                        }
                    }
                }
                // NATS in trouble: the rest waits for the next pass.
                Err(e) => {
                    failure = Some(ClusterError::js("renew the name claims", e));
                    break;
                }
            }
        }
        match failure {
            Some(e) if lost.is_empty() => Err(e),
            _ => Ok(lost),
        }
    }

    /// A renewal found the claim at another revision than the one held:
    /// whether it is still this node's. It is when the bucket holds this
    /// very claim (an earlier renewal went through but its answer was
    /// lost, as when a NATS server dies mid-request), and when no one
    /// holds the name and this node takes it again first. `Some`: the
    /// revision now held; `None`: someone else has it.
    async fn reconcile(&self, key: &str, ours: Bytes) -> Result<Option<u64>, ClusterError> {
        if let Some(revision) = self.reconcile_read(key, &ours).await? {
            return Ok(Some(revision));
        }
        match self.store.create(key, ours).await {
            Ok(revision) => Ok(Some(revision)),
            Err(e) if e.kind() == kv::CreateErrorKind::AlreadyExists => Ok(None),
            Err(e) => Err(ClusterError::js("renew the name claims", e)),
        }
    }

    /// The revision at which the bucket holds `ours` for `key` (this very
    /// claim, whatever rooms it lists: [`same_claim`]), if it does.
    pub(super) async fn reconcile_read(
        &self,
        key: &str,
        ours: &Bytes,
    ) -> Result<Option<u64>, ClusterError> {
        let entry = self
            .store
            .entry(key)
            .await
            .map_err(|e| ClusterError::js("read a name claim", e))?;
        Ok(entry.and_then(|e| {
            (e.operation == kv::Operation::Put && same_claim(key, &e.value, ours))
                .then_some(e.revision)
        }))
    }

    /// Notes the revision a renewal left a claim at, unless it was released
    /// meanwhile.
    fn keep(&self, key: &str, revision: u64) {
        let mut map = self.held.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((r, _)) = map.get_mut(key) {
            *r = revision;
        }
    }

    /// Which node holds `name`, if any.
    pub async fn holder(&self, name: &str) -> Result<Option<String>, ClusterError> {
        Ok(self.claim_of(name).await?.map(|h| h.node))
    }

    /// The claim of `name`, if any: the node that holds it, the name as its
    /// user wrote it, the identity its session proved.
    pub async fn claim_of(&self, name: &str) -> Result<Option<Holder>, ClusterError> {
        let value = self
            .store
            .get(key_of(name))
            .await
            .map_err(|e| ClusterError::js("look a name up", e))?;
        let key = key_of(name);
        // Only a node of a valid name is named back (to the admin, in a
        // kick's answer); a claim that breaks the rules holds for no one.
        Ok(value
            .and_then(|v| Holder::decode(&key, &v))
            .filter(|h| super::valid_node_name(&h.node)))
    }

    /// The bucket itself, for the watch of who is where.
    pub(crate) fn store(&self) -> &kv::Store {
        &self.store
    }

    /// This node's name, as its claims carry it.
    pub fn node(&self) -> &str {
        &self.node
    }

    /// How many claims this node holds.
    pub fn held(&self) -> usize {
        self.held.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_claim_value_says_node_and_name_and_a_bare_node_still_reads() {
        let key = chat_protocol::Identity::from_seed(&[1; 32]).public();
        let holder = Holder::new("n1", "Ace.B", Some(key));
        assert_eq!(holder.claim.as_ref().map(String::len), Some(16));
        assert_ne!(holder.claim, Holder::new("n1", "Ace.B", None).claim);
        let key = key_of(&holder.name);
        assert_eq!(key, "ace=2eb");
        assert_eq!(Holder::decode(&key, &holder.encode()), Some(holder));
        assert_eq!(
            Holder::decode(&key, b"n2"),
            Some(Holder {
                node: "n2".into(),
                name: "ace.b".into(),
                claim: None,
                identity: None,
                owner: false,
                rooms: Vec::new(),
            })
        );
        assert_eq!(Holder::decode(&key, b""), None);
        assert_eq!(Holder::decode(&key, b"{not json"), None);
    }

    #[test]
    fn a_claim_is_ours_whatever_rooms_it_lists_but_not_another_claim() {
        let ours = Holder::new("n1", "ace", None);
        let key = key_of(&ours.name);
        let mut in_ops = ours.clone();
        in_ops.rooms = vec![chat_protocol::RoomName::parse("#ops").unwrap()];
        assert!(same_claim(&key, &in_ops.encode(), &ours.encode()));
        assert!(same_claim(&key, &ours.encode(), &in_ops.encode()));
        let again = Holder::new("n1", "ace", None);
        assert!(!same_claim(&key, &again.encode(), &ours.encode()));
        let mut elsewhere = ours.clone();
        elsewhere.node = "n2".into();
        assert!(!same_claim(&key, &elsewhere.encode(), &ours.encode()));
        // Claims without an id (older nodes') are ours only byte for byte.
        assert!(same_claim(&key, b"n1", b"n1"));
        assert!(!same_claim(
            &key,
            b"n1",
            b"{\"node\":\"n1\",\"name\":\"ace\"}"
        ));
    }
}
