//! Several chatd nodes sharing one room through NATS JetStream, behind one
//! seam: [`Peers`] (alone, or a node of a cluster) is all the rest of
//! chatd sees of other nodes, and [`Peers::start`] is the one place that
//! decides whether a cluster is configured. No NATS type leaves this
//! folder.
//!
//! The plumbing: a connection to NATS ([`Cluster::connect`]) and what the
//! nodes share there, each in its own submodule:
//!
//! - [`log`]: the room's log, a JetStream stream. The stream sequence of an
//!   accepted message is its id, and every node delivers from the stream in
//!   order, so all users on all nodes see one order; [`replicated`] is the
//!   room's log backend on it (`crate::log::RoomLog`).
//! - [`names`]: who holds which name, in a key-value bucket with
//!   create-if-absent; a claim lives only while its node keeps refreshing it
//!   (the bucket's `max_age`), so a dead node's names come free by
//!   themselves; [`claim`] is one join's claim, tried again while NATS
//!   cannot decide.
//! - [`shared`]: values every node must agree on, created by the first
//!   node and adopted by the others: the keys ([`keys`]) and the admin
//!   password ([`password`]); [`changes`] changes them on every node,
//!   [`watch`] follows them.
//! - [`nodes`]: which nodes are alive, one entry each that lapses unless
//!   refreshed; [`control`]: the admin's kicks, notices, reloads and user
//!   lists sent to every node, carried out with `crate::ops` as the admin
//!   API does here; [`admin`]: what the admin API adds across nodes.
//! - [`presence`]: the users of the other nodes, from a watch of the names
//!   bucket, and [`dm`]: direct messages to them, over a plain subject per
//!   node.
//! - [`registry`]: the names registry (names owned by keys), one record a
//!   name in a bucket of its own, every change a compare-and-set.
//! - [`node`]: this chatd as a node (what [`Peers::Cluster`] holds);
//!   [`start`]: its start beside a NATS not ready yet; [`tasks`]: what it
//!   runs until the shutdown.
//!
//! Everything a cluster keeps is named after its room (`room`, default
//! `chat`): the stream `CHAT_LOG` on subject `chat.log`, the buckets
//! `chat_names`, `chat_state`, `chat_nodes` and `chat_registry`, so several
//! rooms can share one NATS.
//!
//! Compatibility: Debian 12's nats-server is 2.9. async-nats's
//! `create_key_value` asks for the account's info first and cannot read a
//! 2.9 answer, so the buckets' streams are created here directly, with the
//! key-value conventions (`KV_<bucket>`, subjects `$KV.<bucket>.>`, rollup
//! allowed, deletes denied), and opened with `get_key_value`.

pub(crate) mod admin;
pub(crate) mod arrivals;
pub(crate) mod audit;
pub(crate) mod changes;
pub(crate) mod claim;
mod connect;
pub(crate) mod control;
pub(crate) mod dm;
pub(crate) mod error;
pub(crate) mod keys;
pub(crate) mod kick;
pub mod log;
pub(crate) mod login;
pub(crate) mod moderate;
pub(crate) mod moderation;
pub mod names;
pub(crate) mod node;
pub(crate) mod nodes;
pub(crate) mod password;
pub(crate) mod peers;
pub(crate) mod presence;
pub(crate) mod registry;
pub(crate) mod replicated;
pub(crate) mod rooms;
pub(crate) mod shared;
pub(crate) mod start;
pub(crate) mod tasks;
pub(crate) mod watch;

pub use error::ClusterError;
pub use peers::{Claim, Peers};

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_nats::jetstream::{self, stream};

use crate::config::cluster::{shown_urls, valid_node_name};

/// How a node joins a cluster (the `cluster*` and `node_name` settings).
#[derive(Clone, Debug)]
pub struct Settings {
    /// NATS server URLs (`nats://host:port`), tried in turn.
    pub urls: Vec<String>,
    /// A NATS credentials file (`.creds`) or nkey seed file.
    pub credentials: Option<PathBuf>,
    /// This node's name in `chatctl users` and `status`.
    pub node_name: String,
    /// The room: the prefix of every stream, bucket and subject.
    pub room: String,
    /// How long a dead node's names stay taken.
    pub claim_ttl: Duration,
    /// How many messages the log keeps (the `history` setting; at least 1).
    pub history: usize,
    /// How old a message the log keeps (`history_max_age`; zero: no bound).
    pub history_max_age: Duration,
    /// How many NATS servers keep a copy of the log and the buckets (1, or
    /// 3 on a three-server NATS cluster to survive one server's loss).
    pub replicas: usize,
}

impl Settings {
    /// How long a name claim lives in NATS after its last renewal (the
    /// names bucket's `max_age`): five sixths of `claim_ttl`, so that a
    /// dead node's names are free within `claim_ttl`, NATS's expiry and a
    /// join's round trips included (25 s at the default 30 s).
    pub fn claim_lifetime(&self) -> Duration {
        self.claim_ttl * 5 / 6
    }

    /// How often a node renews its claims: every quarter of `claim_ttl`
    /// (at least every 500 ms), which leaves a renewal seven twelfths of
    /// `claim_ttl` to be late before a live claim lapses.
    pub fn renew_every(&self) -> Duration {
        (self.claim_ttl / 4).max(Duration::from_millis(500))
    }
}

/// Entries the rooms' stream keeps at least of each room, whatever
/// `history` says: a node reads every entry of the rooms it follows from
/// the stream, and one that falls behind by more than the stream keeps
/// would never see the entries dropped meanwhile (a burst of 10 000
/// messages against `history = 50` lost some). `history` still bounds
/// what joiners get; `history_max_age` bounds what the stream keeps in
/// time; a room removed has its entries purged.
pub const LAG_FLOOR: usize = 100_000;

/// How long each JetStream request of a node's set-up may take (the
/// default is 5 s; see [`Cluster::connect`]).
const SETUP_REQUEST: Duration = Duration::from_secs(2);

/// A node's connection to the cluster.
#[derive(Clone)]
pub struct Cluster {
    client: async_nats::Client,
    js: jetstream::Context,
    settings: Settings,
    /// Counts the connections made to NATS: a change is a reconnection,
    /// after which readers make their consumers again at once rather than
    /// wait for the server's idle heartbeats to say theirs are gone.
    connections: tokio::sync::watch::Receiver<u64>,
    /// Since when the connection to NATS has been lost (`None` while it
    /// is up): the health check says so once it lasts.
    lost_since: Arc<Mutex<Option<Instant>>>,
}

impl Cluster {
    /// Whether the connection to NATS is up right now.
    pub fn connected(&self) -> bool {
        self.client.connection_state() == async_nats::connection::State::Connected
    }

    /// How long the connection to NATS has been lost; `None` while it is
    /// up.
    pub fn away_for(&self) -> Option<Duration> {
        if self.connected() {
            return None;
        }
        let since = *self.lost_since.lock().expect("lock");
        Some(since.map_or(Duration::ZERO, |since| since.elapsed()))
    }

    /// Changes each time the connection to NATS is made again.
    pub(crate) fn connections(&self) -> tokio::sync::watch::Receiver<u64> {
        self.connections.clone()
    }

    /// The settings this node joined with.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The JetStream context, for the submodules.
    pub(crate) fn js(&self) -> &jetstream::Context {
        &self.js
    }

    /// Sends a control message (a kick, a notice, a reload of the room
    /// settings) to every node, this one included. Control messages are not
    /// logged: a node that is down misses them, as its users do.
    pub async fn publish_control(&self, message: bytes::Bytes) -> Result<(), ClusterError> {
        self.client
            .publish(self.control_subject(), message)
            .await
            .map_err(|e| ClusterError::js("send a control message", e))?;
        self.client
            .flush()
            .await
            .map_err(|e| ClusterError::js("send a control message", e))
    }

    /// Every control message sent from now on, by any node.
    pub async fn control(&self) -> Result<async_nats::Subscriber, ClusterError> {
        let subscriber = self
            .client
            .subscribe(self.control_subject())
            .await
            .map_err(|e| ClusterError::js("listen for control messages", e))?;
        // A round trip through the server (a flush only empties our own
        // buffer): the server reads a connection in order, so once its
        // answer is here it has the subscription too.
        self.js
            .get_stream(self.log_stream())
            .await
            .map_err(|e| ClusterError::js("listen for control messages", e))?;
        Ok(subscriber)
    }

    pub(crate) fn control_subject(&self) -> String {
        format!("{}.control", self.settings.room)
    }

    pub(crate) fn log_stream(&self) -> String {
        format!("{}_LOG", self.settings.room.to_ascii_uppercase())
    }

    /// The default room's subject in the rooms' stream.
    pub(crate) fn log_subject(&self) -> String {
        format!("{}.log", self.settings.room)
    }

    /// The subject of `room`'s entries in the rooms' stream: the default
    /// room's (`None`) is `chat.log`, as before rooms; another room's is
    /// `chat.log.HEX`, its name in hex (`chat.log.236f7073` is `#ops`).
    pub(crate) fn room_subject(&self, room: Option<&chat_protocol::RoomName>) -> String {
        match room {
            None => self.log_subject(),
            Some(room) => format!("{}.log.{}", self.settings.room, room.to_hex()),
        }
    }

    pub(crate) fn rooms_bucket(&self) -> String {
        format!("{}_rooms", self.settings.room)
    }

    pub(crate) fn names_bucket(&self) -> String {
        format!("{}_names", self.settings.room)
    }

    pub(crate) fn state_bucket(&self) -> String {
        format!("{}_state", self.settings.room)
    }

    pub(crate) fn nodes_bucket(&self) -> String {
        format!("{}_nodes", self.settings.room)
    }

    pub(crate) fn registry_bucket(&self) -> String {
        format!("{}_registry", self.settings.room)
    }

    /// Makes the rooms' log stream keep at most `history` messages of each
    /// room, but never fewer than [`LAG_FLOOR`], none older than `max_age`
    /// (zero: no age bound); creates the stream if it is missing.
    pub async fn set_log_bounds(
        &self,
        history: usize,
        max_age: Duration,
    ) -> Result<(), ClusterError> {
        let config = self.log_config(history, max_age);
        self.create_or_update(&self.js, config, "create the room's log stream")
            .await
    }

    /// The rooms' log stream's configuration (see
    /// [`Cluster::set_log_bounds`]): the default room's subject and every
    /// other room's ([`Cluster::room_subject`]), bounded per subject.
    fn log_config(&self, history: usize, max_age: Duration) -> stream::Config {
        stream::Config {
            name: self.log_stream(),
            subjects: vec![self.log_subject(), format!("{}.*", self.log_subject())],
            max_messages: -1,
            max_messages_per_subject: history.max(LAG_FLOOR) as i64,
            max_age,
            num_replicas: self.settings.replicas.max(1),
            ..Default::default()
        }
    }

    /// A bucket's stream, laid out the way a key-value bucket is (see the
    /// module's compatibility note).
    fn bucket_config(&self, bucket: &str, max_age: Duration) -> stream::Config {
        stream::Config {
            name: format!("KV_{bucket}"),
            subjects: vec![format!("$KV.{bucket}.>")],
            max_messages_per_subject: 1,
            max_age,
            allow_rollup: true,
            deny_delete: true,
            allow_direct: true,
            discard: stream::DiscardPolicy::New,
            num_replicas: self.settings.replicas.max(1),
            ..Default::default()
        }
    }

    /// Creates the stream `config` describes, or brings its bounds to
    /// `config`'s, with `js`'s requests.
    async fn create_or_update(
        &self,
        js: &jetstream::Context,
        config: stream::Config,
        what: &'static str,
    ) -> Result<(), ClusterError> {
        match js.get_stream(&config.name).await {
            Ok(mut existing) => {
                let info = existing
                    .info()
                    .await
                    .map_err(|e| ClusterError::js(what, e))?;
                if info.config.max_messages != config.max_messages
                    || info.config.max_messages_per_subject != config.max_messages_per_subject
                    || info.config.subjects != config.subjects
                    || info.config.max_age != config.max_age
                {
                    js.update_stream(config)
                        .await
                        .map_err(|e| ClusterError::js(what, e))?;
                }
                Ok(())
            }
            Err(_) => match js.create_stream(config.clone()).await {
                Ok(_) => Ok(()),
                // Another node created it meanwhile.
                Err(_) if js.get_stream(&config.name).await.is_ok() => Ok(()),
                Err(e) => Err(ClusterError::js(what, e)),
            },
        }
    }
}
