//! The room's log: every accepted public message and action, in one order,
//! numbered by the log itself (the message id is the log's sequence
//! number), bounded by `history` (a count) and `history_max_age`.
//!
//! The hub speaks to the log through [`RoomLog`], which is shaped for more
//! than one backend:
//!
//! - [`RoomLog::append`] is asynchronous and resolves to the id once the
//!   log has accepted the entry. The embedded backend ([`embedded`])
//!   accepts at once, in memory; the replicated backend of a cluster
//!   (`crate::cluster::replicated`, on NATS JetStream) resolves when the
//!   stream acknowledged the publish.
//! - Every accepted entry also comes out of the [`Accepted`] stream handed
//!   out when the log is opened, in log order, exactly once. The hub drains
//!   it under its room lock ([`crate::hub::Hub::pump_room`]), adding each entry
//!   to its in-memory [`Tail`] and fanning it out in the same step: that is
//!   what gives everyone one order and makes a joiner's history join up
//!   with the live messages. A sender sees its echo only from there, so
//!   only once the log has accepted the message.
//! - [`RoomLog::after`] reads "the entries after id X, at most N" from the
//!   log's own copy.
//!
//! ```text
//!  reader ── Hub::say ── RoomLog::append ──► (id)      embedded: memory now,
//!                              │                        the disk in batches
//!                              ▼
//!                        Accepted stream ── Hub::pump_room (room lock) ──► Tail + fan-out
//! ```
//!
//! Rooms: each room has a log of its own (the default room's is
//! `STATE_DIR/history`, another room's `STATE_DIR/rooms/HEX`, see
//! [`rooms`]), and every log of a chatd takes its ids from one counter,
//! [`Ids`], so that ids are unique and increasing server-wide: a DM's
//! place, `after` and a client's merge of what it saw rely on it.
//!
//! Direct messages are never logged: they go from sender to addressee only.

pub mod embedded;
mod file;
pub mod rooms;
mod tail;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chat_protocol::{HistoryEntry, RoomName};
use tokio::sync::mpsc;

use crate::config::Config;

pub use self::embedded::{EmbeddedLog, HistoryError};
pub use self::rooms::{RoomLogs, SharedLogs};
pub use self::tail::{After, Tail};

/// An accepted entry, shared between the log, the hub's tail and the
/// Welcomes being built.
pub type Entry = Arc<HistoryEntry>;

/// Accepted entries, in log order (see the module documentation).
pub type Accepted = mpsc::UnboundedReceiver<Entry>;

/// A message on its way into the log: everything but the id, which the log
/// assigns.
#[derive(Clone, Debug)]
pub struct Draft {
    /// The room it is said in; `None`: the default room.
    pub room: Option<RoomName>,
    /// The sender, as authenticated.
    pub from: String,
    /// The text, already checked.
    pub text: String,
    /// Server time, Unix milliseconds.
    pub ts: u64,
    /// An action (`/me`).
    pub action: bool,
    /// The sender's client id, if valid.
    pub cid: Option<String>,
}

impl Draft {
    /// The entry this draft becomes with the id `id`.
    pub fn into_entry(self, id: u64) -> HistoryEntry {
        HistoryEntry {
            room: self.room,
            id,
            from: self.from,
            text: self.text,
            ts: self.ts,
            action: self.action,
            cid: self.cid,
        }
    }
}

/// The last id given by any log of this chatd: every room's log numbers
/// its entries from it, under its own lock, so each room's ids increase in
/// its order and no id is given twice server-wide.
#[derive(Debug, Default)]
pub struct Ids(AtomicU64);

impl Ids {
    /// The next id.
    pub fn next(&self) -> u64 {
        self.0.fetch_add(1, Ordering::SeqCst) + 1
    }

    /// Ids go on after `id` at least (a log read back at start).
    pub fn raise(&self, id: u64) {
        self.0.fetch_max(id, Ordering::SeqCst);
    }

    /// The last id given.
    pub fn last(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// How much the log keeps: at most `count` entries, none older than
/// `max_age` (`None`: no age bound).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bounds {
    /// Entries kept (`history`); 0 keeps nothing, in memory or on disk.
    pub count: usize,
    /// Oldest entry kept (`history_max_age`), if bounded.
    pub max_age: Option<Duration>,
    /// The entries' sizes added up ([`tail::size`]): this room's share of
    /// `history_max_bytes` ([`Bounds::shared_by`]); past it the oldest go.
    pub max_bytes: usize,
}

impl Bounds {
    /// The bounds a configuration sets.
    pub fn of(config: &Config) -> Self {
        Self {
            count: config.history,
            max_age: Some(config.history_max_age.0).filter(|age| !age.is_zero()),
            max_bytes: config.history_max_bytes,
        }
    }

    /// These bounds for one of `rooms` rooms: the bytes shared equally,
    /// so that all rooms' history together stays within
    /// `history_max_bytes`.
    pub fn shared_by(self, rooms: usize) -> Self {
        Self {
            max_bytes: self.max_bytes / rooms.max(1),
            ..self
        }
    }

    /// The oldest timestamp (Unix ms) kept at `now_ms`, if ages are bounded.
    pub fn oldest_ts(&self, now_ms: u64) -> Option<u64> {
        self.max_age
            .map(|age| now_ms.saturating_sub(u64::try_from(age.as_millis()).unwrap_or(u64::MAX)))
    }
}

/// Why an append was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// The log cannot take entries now (a replicated backend out of reach);
    /// the text is for the sender: "…, not sent".
    #[error("{0}")]
    Unavailable(String),
}

/// The boxed future of [`RoomLog::append`] (object-safe).
pub type Appending<'a> = Pin<Box<dyn Future<Output = Result<u64, LogError>> + Send + 'a>>;

/// The boxed future of [`RoomLog::catch_up`].
pub type CatchingUp<'a> =
    Pin<Box<dyn Future<Output = Result<Option<After>, LogError>> + Send + 'a>>;

/// The room's log, whatever keeps it (see the module documentation).
pub trait RoomLog: Send + Sync {
    /// Appends a public message or action; resolves to its id once the log
    /// accepted it. The entry also comes out of the [`Accepted`] stream.
    fn append(&self, draft: Draft) -> Appending<'_>;

    /// The entries after `id`, at most `limit` (the newest ones when more
    /// are kept), oldest first; `gap` when some entries after `id` are not
    /// among them.
    fn after(&self, id: u64, limit: usize) -> After;

    /// The id of the last entry accepted (0: none yet).
    fn last_id(&self) -> u64;

    /// Every entry accepted after this id is still kept, when the log
    /// knows it better than the entries it gives (the embedded log after a
    /// crash: its ids jumped past the last one on disk, and a resume after
    /// that one misses nothing). `None`: what came before the oldest entry
    /// kept is gone.
    fn kept_after(&self) -> Option<u64> {
        None
    }

    /// New bounds (on reload): entries past them are dropped.
    fn set_bounds(&self, bounds: Bounds);

    /// Whether accepted entries come out of the [`Accepted`] stream now.
    /// A room's replicated log rests (follows nothing) while the room has
    /// no member on this node, so a node receives only the messages of
    /// the rooms its users are in; the embedded log always follows.
    fn following(&self) -> bool {
        true
    }

    /// A resting log's newest entries after the room's last one, read
    /// before the room takes a member again (`None`: it follows already).
    /// The room adds them to its history and then calls
    /// [`RoomLog::follow_after`], both under its lock.
    fn catch_up(&self, _after: u64) -> CatchingUp<'_> {
        Box::pin(async { Ok(None) })
    }

    /// Follows again: every entry after `id` comes out of the
    /// [`Accepted`] stream.
    fn follow_after(&self, _id: u64) {}

    /// Stops following (the room has no member here any more).
    fn rest(&self) {}

    /// Why the log cannot be made durable now, if it cannot (a full or
    /// read-only disk); chat goes on meanwhile.
    fn persist_error(&self) -> Option<String>;

    /// Writes what is still in flight and stops the log's tasks; at most
    /// `bound` is spent. After it, appends are kept in memory only.
    fn close(&self, bound: Duration);
}
