//! One user in the room, and the member's bounded outbound queue: events
//! wait there, bounded in count and in bytes, until the member's writer
//! takes them; a full queue ends the member as too slow.

use std::collections::{BTreeSet, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use chat_protocol::{IdentityKey, KeyId, RoomName, ServerEvent};
use tokio::sync::mpsc;

use crate::ending::{Control, Ending};
use crate::metrics::Metrics;

/// An event serialized once and shared by every queue it waits in. A thin
/// pointer: tokio allocates a queue's slots 32 at a time, up front, and at
/// 8 bytes a slot that block is a quarter of what `Bytes` (32) would take.
pub type Serialized = Arc<Vec<u8>>;

/// What a join proved of itself: its identity, and whether that makes it
/// an operator of the room.
#[derive(Clone, Copy, Debug, Default)]
pub struct Proven {
    /// The identity proved, if any.
    pub identity: Option<IdentityKey>,
    /// An operator's name, proven with one of its keys.
    pub op: bool,
    /// The name is registered and the join proved one of its keys.
    pub owner: bool,
}

/// One user online.
pub struct Member {
    /// The name as the user wrote it.
    pub name: String,
    /// Peer address.
    pub addr: SocketAddr,
    /// When the user joined.
    pub since: SystemTime,
    /// The key the session joined with.
    pub key_id: KeyId,
    /// The identity the session proved at its join, if any.
    pub identity: Option<IdentityKey>,
    /// Whether the session has an operator's rights now: its name is an
    /// operator's and it proved one of the name's keys (set at the join,
    /// changed by `op` and `deop`).
    pub op: std::sync::atomic::AtomicBool,
    /// Whether the session proved one of its registered name's keys (the
    /// condition for an operator's rights).
    pub owner: bool,
    /// Messages sent (public, actions and DMs).
    pub messages: AtomicU64,
    /// Ends this session.
    pub control: Arc<Control>,
    pub(crate) tx: mpsc::Sender<Serialized>,
    pub(crate) queue: usize,
    /// Bytes in the queue now, and taken by the writer but not yet written.
    pub(crate) queued: Queued,
    pub(crate) queue_bytes: usize,
    /// The rooms this session joined besides the default one. Taken only
    /// while no other lock is held, or under one room's lock.
    pub(crate) rooms: Mutex<BTreeSet<RoomName>>,
    /// When (Unix ms) this session made rooms, in the last hour.
    pub(crate) made: Mutex<VecDeque<u64>>,
    /// What a delivery counts into.
    pub(crate) metrics: Metrics,
}

/// The bytes waiting in one member's queue. One counter per member, and
/// no shared one: a delivery under the room's lock touches only its
/// member's cache lines ([`crate::hub::Hub::queued_bytes`] sums them).
#[derive(Clone, Default)]
pub(crate) struct Queued {
    pub(crate) member: Arc<AtomicUsize>,
}

impl Queued {
    fn add(&self, n: usize) -> usize {
        self.member.fetch_add(n, Ordering::Relaxed) + n
    }

    fn sub(&self, n: usize) {
        self.member.fetch_sub(n, Ordering::Relaxed);
    }

    /// Bytes counted now.
    pub(crate) fn get(&self) -> usize {
        self.member.load(Ordering::Relaxed)
    }
}

impl Member {
    /// Queues serialized event bytes, counted as one delivery; a queue
    /// full by count or by bytes ends the session as too slow.
    pub fn deliver(&self, bytes: Serialized) {
        if self.queue(bytes) {
            self.metrics.deliveries.inc();
        }
    }

    /// Queues serialized event bytes, leaving the delivery for the caller
    /// to count (a fan-out counts all of its own at once); `true` if
    /// queued. A queue full by count or by bytes ends the session as too
    /// slow, and the event is counted as dropped.
    pub(crate) fn queue(&self, bytes: Serialized) -> bool {
        let len = bytes.len();
        if self.queued.add(len) > self.queue_bytes {
            self.queued.sub(len);
            self.metrics.events_dropped.inc();
            self.control.end(Ending::too_slow(
                self.tx.max_capacity() - self.tx.capacity(),
            ));
            return false;
        }
        match self.tx.try_send(bytes) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.queued.sub(len);
                self.metrics.events_dropped.inc();
                self.control.end(Ending::too_slow(self.queue));
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {
                self.queued.sub(len);
                false
            }
        }
    }

    /// Queues one event for this member only.
    pub fn send(&self, event: &ServerEvent) {
        self.deliver(Arc::new(event.to_bytes()));
    }
}

/// The receiving end of a member's queue. What the writer takes out still
/// counts against the member's byte bound until it has been handed to the
/// socket ([`Queue::release`]): a batch taken at once must not hide a slow
/// reader's backlog from the bound.
pub struct Queue {
    pub(crate) rx: mpsc::Receiver<Serialized>,
    pub(crate) queued: Queued,
    /// Bytes taken out and not yet released.
    pub(crate) held: usize,
}

impl Queue {
    /// The next event, or `None` once the member is gone; its bytes count
    /// until [`Queue::release`].
    pub async fn recv(&mut self) -> Option<Serialized> {
        let bytes = self.rx.recv().await?;
        self.held += bytes.len();
        Some(bytes)
    }

    /// An event if one is waiting now; its bytes count until
    /// [`Queue::release`].
    pub fn try_recv(&mut self) -> Option<Serialized> {
        let bytes = self.rx.try_recv().ok()?;
        self.held += bytes.len();
        Some(bytes)
    }

    /// What was taken out so far is written: it no longer counts.
    pub fn release(&mut self) {
        self.queued.sub(std::mem::take(&mut self.held));
    }

    /// Releases what was taken out except `keep` bytes (an event taken but
    /// not yet written, which still counts against the bound).
    pub fn release_keeping(&mut self, keep: usize) {
        let keep = keep.min(self.held);
        self.queued.sub(self.held - keep);
        self.held = keep;
    }

    /// Events waiting.
    pub fn len(&self) -> usize {
        self.rx.len()
    }

    /// Whether none is waiting.
    pub fn is_empty(&self) -> bool {
        self.rx.is_empty()
    }
}

impl Drop for Queue {
    fn drop(&mut self) {
        // What is left in the queue, and what was taken and never
        // written, goes with it.
        self.release();
        self.rx.close();
        while let Ok(bytes) = self.rx.try_recv() {
            self.queued.sub(bytes.len());
        }
    }
}
