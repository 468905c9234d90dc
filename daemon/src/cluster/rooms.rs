//! The rooms a cluster's nodes share (docs/cluster.md "Rooms").
//!
//! - **Settings**: every room's settings (topic, private, invitations,
//!   lasting, made when) are one JSON value each in the bucket
//!   `chat_rooms`, under the room's name in hex; the default room's too
//!   once it has any. A node reads them all at its start, writes what its
//!   admin, operators and users change ([`SharedRooms::save`]: each room
//!   whose settings differ from what the bucket holds), and follows the
//!   others' changes ([`follow`]). Two nodes changing one room at once:
//!   the last write wins, on every node.
//! - **Logs**: a room's log is its subject in the rooms' stream
//!   ([`super::log`]); [`ClusterLogs`] opens it resting, so a node reads a
//!   room's messages only while one of its users is in it.
//! - **Members**: each user's name claim lists the rooms it is in
//!   ([`super::names::Holder::rooms`]); [`super::presence`] tells the
//!   rooms here who of the other nodes is in them.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_nats::jetstream::kv;
use bytes::Bytes;
use chat_protocol::RoomName;
use futures_util::StreamExt;
use prometheus_client::metrics::histogram::Histogram;
use tokio_util::sync::CancellationToken;

use super::replicated::ReplicatedLog;
use super::{Cluster, ClusterError};
use crate::hub::Hub;
use crate::log::{Accepted, Bounds, RoomLog, SharedLogs};
use crate::store::rooms::RoomMeta;

/// How long the first read of the rooms' settings may take.
const LIST_WAIT: Duration = Duration::from_secs(10);

/// Largest settings value read back (a room's topic and up to a few
/// thousand invitations).
const MAX_VALUE: usize = 256 * 1024;

/// The rooms' settings in the cluster's bucket.
pub struct SharedRooms {
    store: kv::Store,
    /// The bucket's revision of each room's settings as this node last
    /// wrote or read them: an older value seen by the watch (this node's
    /// own write coming back after a newer one) is not put in force.
    revisions: Mutex<HashMap<RoomName, u64>>,
    /// What the bucket holds, as far as this node knows: only what differs
    /// from it is written.
    published: Mutex<BTreeMap<RoomName, RoomMeta>>,
    /// One save at a time, so the newest settings are the last written.
    turn: tokio::sync::Mutex<()>,
    /// The bucket's last revision read at the start: [`follow`] goes on
    /// after it.
    pub listed_at: u64,
}

/// What [`SharedRooms::open`] read: the settings, and the revision the
/// watch goes on after.
pub struct Listed {
    /// Every room's settings, by name.
    pub metas: BTreeMap<RoomName, RoomMeta>,
    /// The bucket's last revision read.
    pub revision: u64,
}

/// A settings value read back: a valid room name in hex as its key, JSON
/// of [`RoomMeta`] within [`MAX_VALUE`] with a valid topic.
fn decode(key: &str, value: &[u8]) -> Result<(RoomName, RoomMeta), String> {
    let room = RoomName::from_hex(key).map_err(|e| format!("not a room's name in hex: {e}"))?;
    if value.len() > MAX_VALUE {
        return Err(format!("{} bytes, more than {MAX_VALUE}", value.len()));
    }
    let meta: RoomMeta = serde_json::from_slice(value).map_err(|e| format!("not settings: {e}"))?;
    if let Some(topic) = &meta.topic {
        chat_protocol::validate_topic(topic).map_err(|(_, e)| format!("its topic: {e}"))?;
    }
    if meta
        .invited
        .keys()
        .any(|k| !chat_protocol::valid_username(k))
    {
        return Err("an invited name is not a name".into());
    }
    Ok((room, meta))
}

fn note_bad(key: &str, why: &str) {
    static BAD: crate::logging::line_budget::LineBudget =
        crate::logging::line_budget::LineBudget::new(
            "cluster: rooms' settings ignored",
            3,
            Duration::from_secs(60),
        );
    crate::budgeted!(
        BAD,
        tracing::Level::WARN,
        key,
        "cluster: ignored a room's settings that break the rules ({why}); another program writes the rooms bucket?"
    );
}

impl Cluster {
    /// Opens the rooms' bucket and reads every room's settings.
    pub async fn shared_rooms(&self) -> Result<(SharedRooms, Listed), ClusterError> {
        let fail = |e: &dyn std::fmt::Display| ClusterError::js("read the rooms' settings", e);
        let store = self
            .js()
            .get_key_value(self.rooms_bucket())
            .await
            .map_err(|e| fail(&e))?;
        let mut stream = store.stream.clone();
        let info = stream.info().await.map_err(|e| fail(&e))?;
        let last = info.state.last_sequence;
        let mut metas = BTreeMap::new();
        if info.state.messages > 0 {
            let listing = async {
                let mut watch = store.watch_with_history(">").await.map_err(|e| fail(&e))?;
                while let Some(entry) = watch.next().await {
                    let entry = entry.map_err(|e| fail(&e))?;
                    if entry.operation == kv::Operation::Put {
                        match decode(&entry.key, &entry.value) {
                            Ok((room, meta)) => {
                                metas.insert(room, meta);
                            }
                            Err(why) => note_bad(&entry.key, &why),
                        }
                    } else if let Ok(room) = RoomName::from_hex(&entry.key) {
                        metas.remove(&room);
                    }
                    if entry.revision >= last {
                        break;
                    }
                }
                Ok::<(), ClusterError>(())
            };
            tokio::time::timeout(LIST_WAIT, listing)
                .await
                .map_err(|_| fail(&"no answer in time"))??;
        }
        let shared = SharedRooms {
            store,
            revisions: Mutex::default(),
            published: Mutex::new(metas.clone()),
            turn: tokio::sync::Mutex::default(),
            listed_at: last,
        };
        Ok((
            shared,
            Listed {
                metas,
                revision: last,
            },
        ))
    }
}

impl SharedRooms {
    /// Writes each room's settings that differ from what the bucket holds
    /// (`metas` is every room's, as this node has them now), and removes
    /// the rooms no longer among them. A write that fails is logged; the
    /// next change writes it again.
    pub async fn save(&self, metas: BTreeMap<RoomName, RoomMeta>) {
        let _turn = self.turn.lock().await;
        let (changed, gone) = {
            let published = self.published.lock().expect("lock");
            let changed: Vec<(RoomName, RoomMeta)> = metas
                .iter()
                .filter(|(room, meta)| published.get(*room) != Some(*meta))
                .map(|(room, meta)| (room.clone(), meta.clone()))
                .collect();
            let gone: Vec<RoomName> = published
                .keys()
                .filter(|room| !metas.contains_key(*room))
                .cloned()
                .collect();
            (changed, gone)
        };
        for (room, meta) in changed {
            let value = Bytes::from(serde_json::to_vec(&meta).expect("settings serialize"));
            match self.store.put(room.to_hex(), value).await {
                Ok(revision) => {
                    self.revisions
                        .lock()
                        .expect("lock")
                        .insert(room.clone(), revision);
                    self.published.lock().expect("lock").insert(room, meta);
                }
                Err(e) => tracing::error!("cluster: {room}'s settings could not be shared: {e}"),
            }
        }
        for room in gone {
            match self.store.delete(room.to_hex()).await {
                Ok(()) => {
                    self.published.lock().expect("lock").remove(&room);
                }
                Err(e) => {
                    tracing::error!("cluster: the removal of {room} could not be shared: {e}")
                }
            }
        }
    }

    /// Whether a change of `room` at `revision`, seen by the watch, is
    /// newer than what this node wrote or saw of it (then it is noted as
    /// what the bucket holds).
    fn newer(&self, room: &RoomName, revision: u64, meta: Option<&RoomMeta>) -> bool {
        let mut revisions = self.revisions.lock().expect("lock");
        if revisions.get(room).is_some_and(|&seen| seen >= revision) {
            return false;
        }
        revisions.insert(room.clone(), revision);
        let mut published = self.published.lock().expect("lock");
        match meta {
            Some(meta) => published.insert(room.clone(), meta.clone()),
            None => published.remove(room),
        };
        true
    }
}

impl crate::hub::rooms_shared::SharedSettings for SharedRooms {
    fn save(
        &self,
        metas: BTreeMap<RoomName, RoomMeta>,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + '_>> {
        Box::pin(SharedRooms::save(self, metas))
    }
}

/// Puts in force here the changes other nodes make to the rooms'
/// settings, from after `revision`, until the shutdown; the watch is made
/// again after any trouble. A room removed elsewhere is taken from its
/// members here, whose claims then say so.
pub async fn follow(
    node: Arc<super::node::Node>,
    shared: Arc<SharedRooms>,
    hub: Arc<Hub>,
    mut revision: u64,
    shutdown: CancellationToken,
) {
    let mut pause = Duration::from_millis(50);
    let mut connections = node.cluster.connections();
    loop {
        connections.borrow_and_update();
        match shared.store.watch_all_from_revision(revision + 1).await {
            Ok(mut watch) => loop {
                tokio::select! {
                    entry = watch.next() => match entry {
                        Some(Ok(entry)) => {
                            revision = revision.max(entry.revision);
                            pause = Duration::from_millis(50);
                            apply(&node, &shared, &hub, &entry).await;
                        }
                        Some(Err(e)) => {
                            tracing::warn!("cluster: following the rooms' settings failed; retrying: {e}");
                            break;
                        }
                        None => break,
                    },
                    _ = connections.changed() => break,
                    () = shutdown.cancelled() => return,
                }
            },
            Err(e) => {
                tracing::warn!("cluster: following the rooms' settings failed; retrying: {e}")
            }
        }
        tokio::select! {
            () = tokio::time::sleep(pause) => {}
            () = shutdown.cancelled() => return,
        }
        pause = (pause * 2).min(Duration::from_secs(2));
    }
}

/// One change of the rooms' bucket, put in force here.
async fn apply(node: &super::node::Node, shared: &SharedRooms, hub: &Hub, entry: &kv::Entry) {
    if entry.operation != kv::Operation::Put {
        let Ok(room) = RoomName::from_hex(&entry.key) else {
            return;
        };
        if !shared.newer(&room, entry.revision, None) {
            return;
        }
        for member in hub.room_removed_elsewhere(&room) {
            node.note_rooms(&member).await;
        }
        return;
    }
    match decode(&entry.key, &entry.value) {
        Ok((room, meta)) => {
            if shared.newer(&room, entry.revision, Some(&meta)) {
                hub.room_changed_elsewhere(&room, meta);
            }
        }
        Err(why) => note_bad(&entry.key, &why),
    }
}

/// The rooms' logs of a node: each room's subject in the rooms' stream
/// ([`ReplicatedLog::room`]), resting until the room takes a member here.
pub struct ClusterLogs {
    /// The connection to NATS.
    pub cluster: Cluster,
    /// Told as entries arrive, for the rooms to fan them out.
    pub arrived: Arc<super::replicated::Arrivals>,
    /// Each publish's time to NATS's acknowledgement.
    pub publish: Option<Histogram>,
}

impl SharedLogs for ClusterLogs {
    fn open(&self, room: &RoomName, bounds: Bounds) -> (Arc<dyn RoomLog>, Accepted) {
        let (log, accepted) = ReplicatedLog::room(
            self.cluster.clone(),
            room,
            bounds,
            self.arrived.clone(),
            self.publish.clone(),
        );
        (Arc::new(log), accepted)
    }

    fn remove(&self, room: &RoomName) {
        let cluster = self.cluster.clone();
        let subject = cluster.room_subject(Some(room));
        tokio::spawn(async move { cluster.purge_subject(&subject).await });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_read_back_are_held_to_the_rules() {
        let ops = RoomName::parse("#ops").unwrap();
        let meta = RoomMeta {
            topic: Some("builds".into()),
            private: true,
            ..RoomMeta::default()
        };
        let value = serde_json::to_vec(&meta).unwrap();
        assert_eq!(decode(&ops.to_hex(), &value), Ok((ops.clone(), meta)));
        assert!(decode("not hex", &value).is_err());
        assert!(decode(&ops.to_hex(), b"{not json").is_err());
        let bell = serde_json::json!({"topic": "a\u{7}bell"}).to_string();
        assert!(decode(&ops.to_hex(), bell.as_bytes()).is_err());
        let bad_name =
            serde_json::json!({"invited": {"a b": {"name": "a b", "ts": 1}}}).to_string();
        assert!(decode(&ops.to_hex(), bad_name.as_bytes()).is_err());
        assert!(decode(&ops.to_hex(), &vec![b' '; MAX_VALUE + 1]).is_err());
    }
}
