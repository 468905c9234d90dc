//! The replicated backend: the room's log is a NATS JetStream stream shared
//! by every node of a cluster ([`crate::cluster`]).
//!
//! Accepted means: stored by NATS (the stream's acknowledgement), which
//! also numbers it: the id is the stream sequence, the same on every node.
//! `ReplicatedLog::append` publishes and resolves with that id; it does
//! not hand the entry to the room itself. Every node follows the stream
//! instead ([`crate::cluster::Cluster::follow`]) and feeds what arrives,
//! from any node, to its `Accepted` stream, in stream order, then wakes
//! the room (the node's `arrived`) to fan it out. So a sender's echo, like everyone
//! else's copy, comes from the stream: once NATS accepted the message.
//!
//! While NATS is out of reach, appends are refused at once ("cluster
//! unavailable, not sent") rather than queued: the sender knows, and
//! nothing is shown that the log may not keep. Following resumes by itself
//! after the last entry delivered.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chat_protocol::HistoryEntry;
use prometheus_client::metrics::histogram::Histogram;
use tokio::sync::mpsc;
use tracing::Level;

pub use super::arrivals::Arrivals;
use crate::cluster::{Cluster, ClusterError};
use crate::log::{Accepted, After, Appending, Bounds, CatchingUp, Draft, Entry, LogError, RoomLog};
use crate::logging::line_budget::LineBudget;

/// What a sender is told when NATS cannot take its message.
pub const UNAVAILABLE: &str = "cluster unavailable, not sent";

/// What a sender is told when NATS took the message but did not confirm
/// it in time: it may still come (its echo says so).
pub const UNCONFIRMED: &str =
    "cluster unavailable, not confirmed: the message may still appear (its echo will say so)";

/// What a joiner of a room is told when the room's history cannot be
/// read from NATS.
pub const UNAVAILABLE_ROOM: &str =
    "cluster unavailable: the room's history cannot be read now; try /join again";

/// Longest an append waits for NATS's acknowledgement.
const APPEND_DEADLINE: Duration = Duration::from_secs(5);

/// The log on NATS JetStream (see the module documentation).
pub struct ReplicatedLog {
    cluster: Cluster,
    /// The room's subject in the rooms' stream.
    subject: String,
    /// The room (`None`: the default room): what every entry read from
    /// its subject says, whatever its payload claims.
    room: Option<chat_protocol::RoomName>,
    /// The newest id delivered to the room.
    last: Arc<AtomicU64>,
    /// The newest id when the log was opened: the room starts from it.
    start: u64,
    /// What the stream held at start, for the room's first history; given
    /// out once.
    seed: Mutex<Option<After>>,
    /// The task that follows the stream; `None`: resting.
    follower: Mutex<Option<tokio::task::JoinHandle<()>>>,
    /// Where followed entries go: the room's accepted stream.
    tx: mpsc::UnboundedSender<Entry>,
    /// Told as entries come in.
    arrived: Arc<Arrivals>,
    /// How many entries a room's history keeps (read when it catches up).
    count: AtomicUsize,
    /// Each publish's time to NATS's acknowledgement
    /// (`chatd_nats_publish_duration_seconds`).
    publish: Option<Histogram>,
}

impl ReplicatedLog {
    /// The default room's log: reads the newest `bounds.count` entries
    /// the stream keeps and starts following it after them. `arrived` is
    /// told as entries come in: the node then has the room fan them out
    /// ([`crate::hub::Hub::pump_room`]).
    pub async fn open(
        cluster: Cluster,
        bounds: Bounds,
        arrived: Arc<Arrivals>,
        publish: Option<Histogram>,
    ) -> Result<(Self, Accepted), ClusterError> {
        let subject = cluster.log_subject();
        let mut seed = cluster.after_in(&subject, 0, bounds.count).await?;
        seed.gap = false;
        let last = match seed.entries.last() {
            Some(entry) => entry.id,
            None => cluster.last_id().await?,
        };
        let entries = seed
            .entries
            .iter()
            .filter_map(|e| decode(e.id, &e.payload, None))
            .map(Arc::new)
            .collect();
        let (log, rx) = Self::resting(cluster, subject, None, bounds, arrived, publish);
        log.last.store(last, Ordering::Relaxed);
        let log = Self {
            start: last,
            seed: Mutex::new(Some(After {
                entries,
                gap: false,
            })),
            ..log
        };
        log.follow_after(last);
        Ok((log, rx))
    }

    /// The log of the room `room` (not the default one), resting: it
    /// follows once the room takes a member here
    /// ([`RoomLog::catch_up`]).
    pub fn room(
        cluster: Cluster,
        room: &chat_protocol::RoomName,
        bounds: Bounds,
        arrived: Arc<Arrivals>,
        publish: Option<Histogram>,
    ) -> (Self, Accepted) {
        let subject = cluster.room_subject(Some(room));
        Self::resting(
            cluster,
            subject,
            Some(room.clone()),
            bounds,
            arrived,
            publish,
        )
    }

    fn resting(
        cluster: Cluster,
        subject: String,
        room: Option<chat_protocol::RoomName>,
        bounds: Bounds,
        arrived: Arc<Arrivals>,
        publish: Option<Histogram>,
    ) -> (Self, Accepted) {
        let (tx, rx) = mpsc::unbounded_channel();
        let log = Self {
            cluster,
            subject,
            room,
            last: Arc::new(AtomicU64::new(0)),
            start: 0,
            seed: Mutex::new(None),
            follower: Mutex::new(None),
            tx,
            arrived,
            count: AtomicUsize::new(bounds.count),
            publish,
        };
        (log, rx)
    }
}

/// Hands every entry of `subject` after `last` to the room, in stream
/// order.
async fn follow(
    cluster: Cluster,
    subject: String,
    room: Option<chat_protocol::RoomName>,
    last: Arc<AtomicU64>,
    tx: mpsc::UnboundedSender<Entry>,
    arrived: Arc<Arrivals>,
) {
    use futures_util::StreamExt;
    let mut entries = std::pin::pin!(cluster.follow_in(subject, last.load(Ordering::Relaxed)));
    while let Some(entry) = entries.next().await {
        last.store(entry.id, Ordering::Relaxed);
        let Some(decoded) = decode(entry.id, &entry.payload, room.clone()) else {
            continue;
        };
        if tx.send(Arc::new(decoded)).is_err() {
            return;
        }
        arrived.arrived(&room);
    }
}

/// An entry as stored: the [`HistoryEntry`] in JSON, its id left 0 (the
/// stream's sequence is the id).
fn encode(draft: Draft) -> bytes::Bytes {
    serde_json::to_vec(&draft.into_entry(0))
        .expect("an entry always serializes")
        .into()
}

/// Largest entry read back from the stream: the longest text any node
/// accepts ([`crate::config::check::MAX_TEXT_CEILING`]), doubled for JSON's
/// escapes, and room for the other members. Far below the 1 MiB a
/// client takes in one message, so an entry always fits a `Welcome`.
pub const MAX_ENTRY: usize = 2 * crate::config::check::MAX_TEXT_CEILING + 1024;

const _: () = assert!(MAX_ENTRY < chat_protocol::sizes::MAX_SERVER_MESSAGE / 4);

/// Why an entry read back from the stream is not handed to the room.
fn refused(payload: &[u8]) -> Result<HistoryEntry, String> {
    if payload.len() > MAX_ENTRY {
        return Err(format!(
            "{} bytes, more than the {MAX_ENTRY} an entry may have",
            payload.len()
        ));
    }
    let entry: HistoryEntry = chat_protocol::json::from_slice_strict(payload)
        .ok_or("not an entry (JSON with from, text, ts, and no member twice)")?;
    // What reaches a terminal is held to the rules of the local path: a
    // valid sender's name, a text within the text rules, a valid client id.
    if !chat_protocol::valid_username(&entry.from) {
        return Err("the sender is not a valid name".into());
    }
    chat_protocol::validate_text(&entry.text, crate::config::check::MAX_TEXT_CEILING)
        .map_err(|(_, e)| format!("the text breaks the text rules: {e}"))?;
    if entry
        .cid
        .as_deref()
        .is_some_and(|c| !chat_protocol::valid_cid(c))
    {
        return Err("the client id is not a valid one".into());
    }
    Ok(entry)
}

/// An entry read back, of `room`'s subject (`None`: the default room's),
/// which is its room whatever it says: one that breaks the rules (written
/// by something else on the subject) is dropped, with a warning (a few a
/// minute).
fn decode(id: u64, payload: &[u8], room: Option<chat_protocol::RoomName>) -> Option<HistoryEntry> {
    match refused(payload) {
        Ok(mut entry) => {
            entry.id = id;
            entry.room = room;
            Some(entry)
        }
        Err(why) => {
            static DROPPED: LineBudget = LineBudget::new(
                "cluster: entries of the room's log dropped",
                3,
                Duration::from_secs(60),
            );
            crate::budgeted!(
                DROPPED,
                Level::WARN,
                id,
                "cluster: dropped an entry of the room's log that breaks the rules ({why}); another program publishes on its subject?"
            );
            None
        }
    }
}

impl RoomLog for ReplicatedLog {
    fn append(&self, draft: Draft) -> Appending<'_> {
        Box::pin(async move {
            if !self.cluster.connected() {
                return Err(LogError::Unavailable(UNAVAILABLE.into()));
            }
            // A message with a client id is logged once even if its
            // client, told it was not confirmed, sends it again.
            let once = draft
                .cid
                .as_ref()
                .map(|cid| format!("{}:{cid}", draft.from.to_ascii_lowercase()));
            let payload = encode(draft);
            let append = async {
                match &once {
                    Some(once) => self.cluster.append_once(&self.subject, payload, once).await,
                    None => self.cluster.append_to(&self.subject, payload).await,
                }
            };
            let sent = std::time::Instant::now();
            match tokio::time::timeout(APPEND_DEADLINE, append).await {
                Ok(Ok(id)) => {
                    if let Some(publish) = &self.publish {
                        publish.observe(sent.elapsed().as_secs_f64());
                    }
                    Ok(id)
                }
                // Sent, but NATS did not answer: a publish queued in the
                // client goes out once NATS is back, so "not sent" would
                // not be true.
                Ok(Err(e)) => {
                    tracing::warn!("cluster: a message was not confirmed: {e}");
                    Err(LogError::Unavailable(UNCONFIRMED.into()))
                }
                Err(_) => Err(LogError::Unavailable(UNCONFIRMED.into())),
            }
        })
    }

    fn after(&self, id: u64, limit: usize) -> After {
        // Only the room's first history asks the log itself (later joins
        // are served from the room's tail); that is the seed read at open.
        let seed = self.seed.lock().unwrap_or_else(|p| p.into_inner()).take();
        let mut seed = seed.unwrap_or_default();
        seed.entries.retain(|e| e.id > id);
        let drop_n = seed.entries.len().saturating_sub(limit);
        seed.entries.drain(..drop_n);
        seed.gap = drop_n > 0;
        seed
    }

    fn last_id(&self) -> u64 {
        // Until the room took its first history, the id it starts from:
        // what arrives meanwhile waits in the accepted stream.
        if self
            .seed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_some()
        {
            self.start
        } else {
            self.last.load(Ordering::Relaxed)
        }
    }

    fn set_bounds(&self, bounds: Bounds) {
        self.count.store(bounds.count, Ordering::Relaxed);
        // The stream's bounds are every room's: the default room's log
        // sets them, the others' only read as many.
        if self.subject != self.cluster.log_subject() {
            return;
        }
        let cluster = self.cluster.clone();
        tokio::spawn(async move {
            if let Err(e) = cluster
                .set_log_bounds(bounds.count, bounds.max_age.unwrap_or_default())
                .await
            {
                tracing::warn!("cluster: the room's log keeps its old bounds: {e}");
            }
        });
    }

    fn persist_error(&self) -> Option<String> {
        None
    }

    fn following(&self) -> bool {
        self.follower
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_some()
    }

    fn catch_up(&self, after: u64) -> CatchingUp<'_> {
        Box::pin(async move {
            if self.following() {
                return Ok(None);
            }
            let count = self.count.load(Ordering::Relaxed);
            let read = self.cluster.after_in(&self.subject, after, count);
            let found = match tokio::time::timeout(APPEND_DEADLINE, read).await {
                Ok(Ok(found)) => found,
                Ok(Err(e)) => {
                    tracing::warn!("cluster: a room's history could not be read: {e}");
                    return Err(LogError::Unavailable(UNAVAILABLE_ROOM.into()));
                }
                Err(_) => return Err(LogError::Unavailable(UNAVAILABLE_ROOM.into())),
            };
            // The room follows on after what was read; with no history
            // kept, after the room's newest entry (nothing older is sent
            // to its members as if new).
            let read_through = match found.entries.last() {
                Some(entry) => entry.id,
                None if count == 0 => self
                    .cluster
                    .last_id_of(&self.subject)
                    .await
                    .map_err(|_| LogError::Unavailable(UNAVAILABLE_ROOM.into()))?,
                None => 0,
            };
            self.last.fetch_max(read_through, Ordering::Relaxed);
            let entries = found
                .entries
                .iter()
                .filter_map(|e| decode(e.id, &e.payload, self.room.clone()))
                .map(Arc::new)
                .collect();
            Ok(Some(After {
                entries,
                gap: found.gap,
            }))
        })
    }

    fn follow_after(&self, id: u64) {
        let mut follower = self.follower.lock().unwrap_or_else(|p| p.into_inner());
        if follower.is_some() {
            return;
        }
        self.last.fetch_max(id, Ordering::Relaxed);
        tracing::debug!(subject = %self.subject, after = id, "cluster: following a room's log");
        *follower = Some(tokio::spawn(follow(
            self.cluster.clone(),
            self.subject.clone(),
            self.room.clone(),
            self.last.clone(),
            self.tx.clone(),
            self.arrived.clone(),
        )));
    }

    fn rest(&self) {
        if let Some(follower) = self
            .follower
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        {
            follower.abort();
            tracing::debug!(subject = %self.subject, "cluster: resting a room's log (no member here)");
        }
    }

    fn close(&self, _bound: Duration) {
        // Nothing is in flight: an append resolves only once NATS stored it.
        self.rest();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(from: &str, text: &str) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({"id": 0, "from": from, "text": text, "ts": 1}))
            .unwrap()
    }

    #[test]
    fn entries_that_break_the_local_rules_are_dropped() {
        let good = decode(7, &entry("ann", "hi\tthere\nall"), None).expect("a valid entry reads");
        assert_eq!((good.id, good.from.as_str()), (7, "ann"));
        let too_long = "x".repeat(crate::config::check::MAX_TEXT_CEILING + 1);
        for bad in [
            entry("root\u{1b}[2J\nSYSTEM", "hi"),
            entry("", "hi"),
            entry("ann", "a\u{1b}[31mred"),
            entry("ann", "nul\u{0}"),
            entry("ann", " "),
            entry("ann", &too_long),
            br#"{"id":0,"from":"ann","text":"a","text":"b","ts":1}"#.to_vec(),
            br#"{"id":0,"from":"ann","text":"a","ts":1,"cid":"not a cid"}"#.to_vec(),
            br#"["ann","hi"]"#.to_vec(),
            vec![b' '; MAX_ENTRY + 1],
        ] {
            assert!(
                decode(1, &bad, None).is_none(),
                "{}",
                String::from_utf8_lossy(&bad[..bad.len().min(80)])
            );
        }
    }
}
