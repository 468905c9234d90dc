//! The server's secrets in memory, with the state directory that keeps
//! them: the identity, the join keys accepted ([`KeySet`]), the password
//! check ([`Gate`]), and the lock every change to what the state
//! directory mirrors takes.

use std::sync::RwLock;

use chat_protocol::{JoinKey, KeyId, ServerIdentity, Token};

use super::password::Gate;
use super::{PreviousKey, Store};

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

/// The keys a start loads (or makes), or takes from its cluster.
pub struct Keys {
    /// The static key pair S.
    pub identity: ServerIdentity,
    /// The join key in force.
    pub token: Token,
    /// The previous key while its grace runs.
    pub previous: Option<PreviousKey>,
}

/// The server's secrets and their state directory (see the module
/// documentation).
pub struct Keyring {
    /// The static key pair S.
    pub identity: ServerIdentity,
    /// Accepted join keys.
    pub keys: RwLock<KeySet>,
    /// The password check.
    pub password: Gate,
    /// The state directory (held locked).
    pub store: Store,
    /// Held by every change to what the state directory mirrors (key
    /// rotation and expiry, the admin-set password), so that disk and
    /// memory always change together and in one order.
    pub state_writes: tokio::sync::Mutex<()>,
}

impl Keyring {
    /// `keys` in force, checked by `password`, kept in `store`.
    pub fn new(keys: Keys, password: Gate, store: Store) -> Self {
        Self {
            identity: keys.identity,
            keys: RwLock::new(KeySet {
                current: keys.token,
                previous: keys.previous,
            }),
            password,
            store,
            state_writes: tokio::sync::Mutex::new(()),
        }
    }

    /// The current key's fingerprint.
    pub fn key_id(&self) -> KeyId {
        self.keys.read().expect("lock").current.key_id()
    }
}
