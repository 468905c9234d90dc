//! Who is on the other nodes: a watch of the names bucket.
//!
//! Every claim says which node holds the name ([`super::names::Holder`]),
//! so the bucket is the cluster's list of users. Each node watches it, the
//! current values first, and tells its room ([`crate::hub`]) what changes:
//! a claim made by another node is a remote join, a deleted one a remote
//! leave ("left"). A renewal (a put on a name already known on that node)
//! only refreshes the time it was last seen. A node that dies stops
//! renewing, and its claims expire in silence (a watch sees no expiry):
//! every claim not renewed within `cluster_claim_ttl` is swept here as a
//! leave with the reason "node lost", so a dead node's users leave every
//! list within that bound (plus one sweep tick).
//!
//! NATS trouble does not end the watch: it is made again after the last
//! revision seen, as [`super::log`]'s `follow` does (at once after a
//! reconnection). While this node itself
//! cannot reach NATS nothing is swept (it cannot tell a dead node from its
//! own outage), and after it reconnects every node gets a whole lifetime
//! again to be heard from.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::kv;
use futures_util::StreamExt;
use tokio::time::Instant;

use tokio_util::sync::CancellationToken;

use super::names::{Holder, key_of, name_of};
use super::node::Node;
use crate::hub::Hub;
use crate::hub::rooms_shared::Elsewhere;

/// How long a start waits for the current list of users before it serves
/// anyway (the rest then arrives as joins).
const FIRST_LIST: Duration = Duration::from_secs(3);

/// A user of another node, as the watch knows it.
struct Known {
    node: Arc<str>,
    /// The identity the user proved at its join.
    identity: Option<chat_protocol::IdentityKey>,
    /// Whether the user proved one of its name's registered keys.
    owner: bool,
    /// The rooms besides the default one it is in, as its claim says.
    rooms: Vec<chat_protocol::RoomName>,
    /// When its claim was last made or renewed, as seen here.
    seen: Instant,
}

/// Most rooms read from one claim (far more than a session is let into
/// with any sane `max_rooms_per_session`); the rest are ignored.
const MAX_CLAIM_ROOMS: usize = 1_000;

/// The rooms a claim lists, each once, at most [`MAX_CLAIM_ROOMS`].
fn rooms_of(holder: &mut Holder) -> Vec<chat_protocol::RoomName> {
    let mut rooms = std::mem::take(&mut holder.rooms);
    rooms.truncate(MAX_CLAIM_ROOMS);
    rooms.sort();
    rooms.dedup();
    rooms
}

/// The watch's state: who is where, and up to which revision.
pub struct Watcher {
    /// This node: its own claims are its own users, not remote ones.
    ours: String,
    /// A claim's lifetime: unrenewed for longer, its node is gone.
    ttl: Duration,
    /// Remote users by bucket key.
    known: HashMap<String, Known>,
    /// Node names, shared by their users.
    nodes: HashMap<String, Arc<str>>,
    /// The last revision applied (0: none yet).
    revision: u64,
    /// Since when this node has been connected (`None`: it is not).
    connected_since: Option<Instant>,
}

impl Watcher {
    /// A watcher for node `ours`, claims living `ttl`.
    pub fn new(ours: &str, ttl: Duration) -> Self {
        Self {
            ours: ours.to_string(),
            ttl,
            known: HashMap::new(),
            nodes: HashMap::new(),
            revision: 0,
            connected_since: Some(Instant::now()),
        }
    }

    /// Applies one change of the bucket to the room, in revision order:
    /// `key` now holds `value` (`None`: deleted).
    pub fn apply(
        &mut self,
        hub: &Hub,
        revision: u64,
        key: &str,
        value: Option<&[u8]>,
        now: Instant,
    ) {
        if revision <= self.revision {
            return;
        }
        self.revision = revision;
        let Some(value) = value else {
            if let Some(gone) = self.known.remove(key) {
                hub.remote_left(&name_of(key), &gone.node, "left");
            }
            return;
        };
        // Names are shown to every user: only a valid one, claimed under
        // its own key, is listed (the bucket is the cluster's, but the
        // names in it reach terminals).
        // The node's name too: it becomes a DM's subject.
        let holder = Holder::decode(key, value).filter(|h| {
            chat_protocol::valid_username(&h.name)
                && key_of(&h.name) == key
                && super::valid_node_name(&h.node)
        });
        let Some(holder) = holder else {
            static IGNORED: crate::logging::line_budget::LineBudget =
                crate::logging::line_budget::LineBudget::new(
                    "cluster: name claims ignored",
                    3,
                    Duration::from_secs(60),
                );
            crate::budgeted!(
                IGNORED,
                tracing::Level::WARN,
                key,
                "cluster: ignored a name claim that breaks the rules (a valid name under its own key, a valid node name); another program writes the names bucket?"
            );
            return;
        };
        if holder.node == self.ours {
            // One of ours: whoever had it on another node is gone.
            if let Some(gone) = self.known.remove(key) {
                hub.remote_left(&name_of(key), &gone.node, "left");
            }
            return;
        }
        let mut holder = holder;
        let rooms = rooms_of(&mut holder);
        if let Some(known) = self.known.get_mut(key)
            && *known.node == *holder.node
            && known.identity == holder.identity
            && known.owner == holder.owner
        {
            known.seen = now;
            if known.rooms != rooms {
                let old = std::mem::replace(&mut known.rooms, rooms);
                let user = Elsewhere {
                    key,
                    name: &holder.name,
                    node: &known.node,
                    identity: known.identity,
                    owner: known.owner,
                };
                hub.remote_rooms(&user, &old, &known.rooms);
            }
            return;
        }
        if key_of(&holder.name) != key {
            tracing::debug!(key, "cluster: a name claim for another name was ignored");
            return;
        }
        let node = self.node(&holder.node);
        let known = Known {
            node: node.clone(),
            identity: holder.identity,
            owner: holder.owner,
            rooms: rooms.clone(),
            seen: now,
        };
        if let Some(old) = self.known.insert(key.to_string(), known) {
            // Lapsed on one node and claimed on another (or, on the same
            // node, by a user of another identity: the leave was missed).
            let why = if old.node == node {
                "left"
            } else {
                "node lost"
            };
            hub.remote_left(&name_of(key), &old.node, why);
        }
        hub.remote_joined(
            holder.name.to_ascii_lowercase(),
            holder.name.clone(),
            node.clone(),
            holder.identity,
            holder.owner,
        );
        let user = Elsewhere {
            key,
            name: &holder.name,
            node: &node,
            identity: holder.identity,
            owner: holder.owner,
        };
        hub.remote_rooms(&user, &[], &rooms);
    }

    /// Removes, as "node lost", the users whose claims were not renewed
    /// within their lifetime; nothing while this node is cut off.
    pub fn sweep(&mut self, hub: &Hub, connected: bool, now: Instant) {
        let since = match (connected, self.connected_since) {
            (false, _) => {
                self.connected_since = None;
                return;
            }
            (true, None) => *self.connected_since.insert(now),
            (true, Some(since)) => since,
        };
        let ttl = self.ttl;
        let mut lost = Vec::new();
        self.known.retain(|key, known| {
            let alive = known.seen.max(since) + ttl > now;
            if !alive {
                lost.push((name_of(key), known.node.clone()));
            }
            alive
        });
        if lost.is_empty() {
            return;
        }
        for (name, node) in lost {
            hub.remote_left(&name, &node, "node lost");
        }
        // Nodes with no users left are forgotten.
        let known = &self.known;
        self.nodes
            .retain(|_, node| known.values().any(|k| Arc::ptr_eq(&k.node, node)));
    }

    fn node(&mut self, name: &str) -> Arc<str> {
        self.nodes
            .entry(name.to_string())
            .or_insert_with(|| Arc::from(name))
            .clone()
    }
}

fn note_trouble(error: &dyn std::fmt::Display) {
    static TROUBLE: crate::logging::line_budget::LineBudget =
        crate::logging::line_budget::LineBudget::new(
            "cluster: watching the names",
            3,
            Duration::from_secs(60),
        );
    crate::budgeted!(
        TROUBLE,
        tracing::Level::WARN,
        %error,
        "cluster: watching who is on the other nodes failed; retrying"
    );
}

/// Starts the watch of the other nodes' users, and waits (at most
/// [`FIRST_LIST`]) until the room lists those online now, so that the
/// first `Welcome` lists them too.
pub async fn start(node: &Arc<Node>, hub: &Arc<Hub>, shutdown: &CancellationToken) {
    let (ready, listed) = tokio::sync::oneshot::channel();
    let store = node.names.store().clone();
    let ours = node.name().to_string();
    let ttl = node.cluster.settings().claim_lifetime();
    let watcher = Watcher::new(&ours, ttl);
    tokio::spawn(run(
        node.clone(),
        hub.clone(),
        shutdown.clone(),
        store,
        watcher,
        ready,
    ));
    if tokio::time::timeout(FIRST_LIST, listed).await.is_err() {
        tracing::warn!("cluster: the users of the other nodes are not all listed yet");
    }
}

/// The watch, made again after any trouble, and the sweep, until the
/// shutdown.
async fn run(
    node: Arc<Node>,
    hub: Arc<Hub>,
    shutdown: CancellationToken,
    store: kv::Store,
    mut watcher: Watcher,
    ready: tokio::sync::oneshot::Sender<()>,
) {
    let connected = || node.cluster.connected();
    let every = (watcher.ttl / 4).clamp(Duration::from_millis(250), Duration::from_secs(5));
    let mut sweep = tokio::time::interval(every);
    sweep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut ready = Some(ready);
    let mut pause = Duration::from_millis(50);
    let mut connections = node.cluster.connections();
    loop {
        connections.borrow_and_update();
        let watch = if watcher.revision == 0 {
            store.watch_with_history(">").await
        } else {
            store.watch_all_from_revision(watcher.revision + 1).await
        };
        match watch {
            Ok(mut watch) => {
                // An empty bucket sends nothing: the list is complete now.
                if ready.is_some() && store.status().await.is_ok_and(|s| s.values() == 0) {
                    ready.take().map(|r| r.send(()));
                }
                loop {
                    tokio::select! {
                        entry = watch.next() => match entry {
                            Some(Ok(entry)) => {
                                let value = (entry.operation == kv::Operation::Put)
                                    .then_some(&entry.value[..]);
                                watcher.apply(
                                    &hub,
                                    entry.revision,
                                    &entry.key,
                                    value,
                                    Instant::now(),
                                );
                                if entry.delta == 0 {
                                    ready.take().map(|r| r.send(()));
                                }
                                pause = Duration::from_millis(50);
                            }
                            Some(Err(e)) => {
                                note_trouble(&e);
                                break;
                            }
                            None => break,
                        },
                        _ = sweep.tick() => watcher.sweep(&hub, connected(), Instant::now()),
                        // Back from an outage: made again at once, after
                        // the last revision applied.
                        _ = connections.changed() => break,
                        () = shutdown.cancelled() => return,
                    }
                }
            }
            Err(e) => note_trouble(&e),
        }
        tokio::select! {
            () = tokio::time::sleep(pause) => {}
            _ = sweep.tick() => watcher.sweep(&hub, connected(), Instant::now()),
            () = shutdown.cancelled() => return,
        }
        pause = (pause * 2).min(Duration::from_secs(2));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn claim(w: &mut Watcher, hub: &Hub, revision: u64, node: &str, name: &str, at: Instant) {
        let value = Holder::new(node, name, None).encode();
        let key = key_of(name);
        w.apply(hub, revision, &key, Some(&value), at);
    }

    #[test]
    fn claims_join_deletes_leave_renewals_refresh_and_silence_is_node_lost() {
        let hub = crate::hub::tests::hub_of(Config::default());
        let mut w = Watcher::new("a", Duration::from_secs(3));
        let t0 = Instant::now();
        claim(&mut w, &hub, 1, "b", "Bob.B", t0);
        claim(&mut w, &hub, 2, "a", "ace", t0);
        claim(&mut w, &hub, 3, "c", "carol", t0);
        assert_eq!(
            hub.names(),
            ["Bob.B", "carol"],
            "a's own claims are its own"
        );
        // A renewal of bob, then c falls silent.
        let t2 = t0 + Duration::from_secs(2);
        claim(&mut w, &hub, 4, "b", "Bob.B", t2);
        w.sweep(&hub, true, t2);
        assert_eq!(hub.remote_online(), 2);
        let t4 = t0 + Duration::from_secs(4);
        w.sweep(&hub, true, t4);
        assert_eq!(hub.names(), ["Bob.B"], "carol's node is lost");
        // Cut off: nothing swept; reconnected: a whole lifetime again.
        w.sweep(&hub, false, t0 + Duration::from_secs(10));
        w.sweep(&hub, true, t0 + Duration::from_secs(11));
        assert_eq!(hub.names(), ["Bob.B"]);
        w.sweep(&hub, true, t0 + Duration::from_secs(15));
        assert!(hub.names().is_empty());
        // A delete is a leave; an old revision is ignored.
        claim(&mut w, &hub, 5, "b", "dave", t4);
        claim(&mut w, &hub, 4, "b", "eve", t4);
        assert_eq!(hub.names(), ["dave"]);
        w.apply(&hub, 6, "dave", None, t4);
        assert!(hub.names().is_empty());
        assert_eq!(w.revision, 6);
    }
}
