//! Everything the daemon shares between tasks, in one `Arc<AppState>`.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize};
use std::sync::{Arc, RwLock};
use std::time::SystemTime;

use chat_protocol::{JoinKey, KeyId, ServerIdentity, Token};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::hub::Hub;
use crate::ops::reload::Reloader;
use crate::per_address::password_guesses::Guesses;
use crate::store::password::Gate;
use crate::store::{PreviousKey, Store};

/// The keys the server accepts: the current one and, during a rotation's
/// grace period, the previous one. Never more than two.
pub struct KeySet {
    /// The key handed to people.
    pub current: Token,
    /// The withdrawn key and when it stops joining.
    pub previous: Option<PreviousKey>,
}

impl KeySet {
    /// The join key for a key id, if that key is accepted at `now` (Unix seconds).
    pub fn lookup(&self, id: &KeyId, now: u64) -> Option<JoinKey> {
        if self.current.key_id() == *id {
            return Some(self.current.join_key.clone());
        }
        self.previous
            .as_ref()
            .filter(|p| p.expires > now && p.token.key_id() == *id)
            .map(|p| p.token.join_key.clone())
    }

    /// Whether a key id is accepted at `now`, as [`KeySet::lookup`] decides.
    pub fn accepts(&self, id: &KeyId, now: u64) -> bool {
        self.current.key_id() == *id
            || self
                .previous
                .as_ref()
                .is_some_and(|p| p.expires > now && p.token.key_id() == *id)
    }

    /// When the sessions on keys other than the current one will be
    /// disconnected: the end of the grace, if the rotation asked for it.
    pub fn disconnect_at(&self, now: u64) -> Option<u64> {
        self.previous
            .as_ref()
            .filter(|p| p.disconnect && p.expires > now)
            .map(|p| p.expires)
    }
}

pub use chat_protocol::clock::now_secs;

/// The daemon's shared state.
pub struct AppState {
    /// The room.
    pub hub: Hub,
    /// The static key pair S.
    pub identity: ServerIdentity,
    /// Accepted join keys.
    pub keys: RwLock<KeySet>,
    /// The password check.
    pub password: Gate,
    /// Wrong passwords per address, and the addresses throttled for them.
    pub guesses: Guesses,
    /// Connections per address (open, and new this minute).
    pub per_address: crate::per_address::connections::PerAddress,
    /// The state directory (held locked).
    pub store: Store,
    /// Held by every change to what the state directory mirrors (key
    /// rotation and expiry, the admin-set password), so that disk and
    /// memory always change together and in one order.
    pub state_writes: tokio::sync::Mutex<()>,
    /// Fires once, at shutdown; every session's control is its child.
    pub shutdown: CancellationToken,
    /// Every session task (and a cluster node's liveness task, which takes
    /// the node off the list at the end), so shutdown can wait for them.
    pub sessions: TaskTracker,
    /// Open chat connections: from `accept` until the session, if any, ends.
    pub connections: AtomicUsize,
    /// When the daemon started.
    pub started: SystemTime,
    /// Where the chat listener is bound.
    pub listen_addr: SocketAddr,
    /// The admin group's gid, when one is configured.
    pub admin_gid: Option<u32>,
    /// Messages relayed in the last minute (sampled by `status::run`).
    pub messages_per_minute: AtomicU64,
    /// Reads the configuration again on SIGHUP or `POST /v1/reload`.
    pub reloader: Reloader,
    /// This chatd's part in a cluster, when `cluster` names one.
    pub cluster: Option<crate::cluster::node::Node>,
}

impl AppState {
    /// The current key's fingerprint.
    pub fn key_id(&self) -> KeyId {
        self.keys.read().expect("lock").current.key_id()
    }
}

/// Shared handle.
pub type App = Arc<AppState>;
