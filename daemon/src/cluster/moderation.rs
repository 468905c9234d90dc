//! Moderation's book in a cluster: one JSON value (`crate::moderation::Book`)
//! under [`MODERATION`] in the room's state bucket, changed by
//! compare-and-set on the revision read (a change decided again on the
//! newer book when another node changed it first), and followed by every
//! node (`super::watch`), which puts each newer book in force: the room
//! told, the sessions a new ban matches ended. A ban made on one node
//! ends a session on another as fast as the bucket's watch delivers it
//! (milliseconds on a LAN: docs/cluster.md).
//!
//! The book is bounded ([`crate::moderation::MAX_BANS`]) so that it stays
//! well within one NATS message.

use std::sync::Arc;

use bytes::Bytes;

use super::node::Node;
use super::shared::Versioned;
use crate::hub::Hub;
use crate::moderation::{Book, ChangeError, Changed, Moderation};

/// The book's key in the state bucket.
pub const MODERATION: &str = "moderation";

/// Reads and writes of one change before it gives up on a book other
/// nodes keep changing.
const TRIES: usize = 8;

fn unavailable(e: super::ClusterError) -> ChangeError {
    ChangeError::Unavailable(e.to_string())
}

/// The book a value holds.
fn decode(value: &[u8]) -> Result<Book, String> {
    serde_json::from_slice(value).map_err(|e| e.to_string())
}

/// Changes the cluster's book by `change` (on the book without the bans
/// that ended) and puts the result in force here.
pub async fn change(
    node: &Node,
    moderation: &Moderation,
    hub: &Hub,
    change: impl Fn(&mut Book) -> Result<(), ChangeError>,
) -> Result<Changed, ChangeError> {
    for _ in 0..TRIES {
        let read = node.shared.get(MODERATION).await.map_err(unavailable)?;
        let (mut book, revision) = match &read {
            Some(read) => (
                decode(&read.value).map_err(|e| {
                    ChangeError::NotStored(format!(
                        "the cluster's moderation state does not read ({e}); \
                         remove the key {MODERATION} from the state bucket to lift every ban"
                    ))
                })?,
                read.revision,
            ),
            None => (Book::default(), 0),
        };
        book.prune(chat_protocol::clock::now_ms());
        change(&mut book)?;
        let value = Bytes::from(serde_json::to_vec(&book).expect("a book serializes"));
        let written = if revision == 0 {
            node.shared.create(MODERATION, value).await
        } else {
            node.shared.replace(MODERATION, value, revision).await
        }
        .map_err(unavailable)?;
        if let Some(revision) = written {
            let book = Arc::new(book);
            // Ended by the watch already if it was quicker: none here then.
            let (before, ended) = put_in_force(node, moderation, hub, book.clone(), revision);
            return Ok(Changed {
                after: book,
                before,
                ended,
            });
        }
    }
    Err(ChangeError::Unavailable(
        "other nodes kept changing the moderation state; try again".into(),
    ))
}

/// A value of the book as the watch (or a read at start) saw it: put in
/// force here if it is newer than the one held.
pub fn follow(node: &Node, moderation: &Moderation, hub: &Hub, change: Versioned) {
    match decode(&change.value) {
        Ok(book) => {
            put_in_force(node, moderation, hub, Arc::new(book), change.revision);
        }
        Err(e) => tracing::error!(
            revision = change.revision,
            "cluster: the moderation state in the state bucket does not read ({e}); this node keeps the bans it holds"
        ),
    }
}

/// Puts `book` (at `revision`) in force here unless it is already, or a
/// newer one is: the room told, the sessions its new bans match ended.
/// The book before, and the sessions ended.
fn put_in_force(
    node: &Node,
    moderation: &Moderation,
    hub: &Hub,
    book: Arc<Book>,
    revision: u64,
) -> (Arc<Book>, usize) {
    let mut held = node.moderation_revision.lock().expect("lock");
    if revision <= *held {
        return (moderation.book(), 0);
    }
    *held = revision;
    let before = moderation.install_shared(book.clone());
    let ended = crate::ops::moderate::apply(hub, &before, &book);
    (before, ended)
}

/// The revision of the book this node holds (0: none yet).
pub fn held(node: &Node) -> u64 {
    *node.moderation_revision.lock().expect("lock")
}
