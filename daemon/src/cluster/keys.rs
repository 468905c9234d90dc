//! The room's keys shared by every node: the server identity, the join key
//! and, during a rotation's grace, the previous key, as one value
//! ([`KEYS`]) in the cluster's state bucket, so that they always change
//! together.
//!
//! The first node to start publishes its own; every later node adopts the
//! cluster's and mirrors it into its state directory (`identity`, `key`,
//! `key.previous`), so `STATE_DIR/key` holds the token that joins every
//! node, and a node restarted while NATS is away starts with the keys it
//! last knew.

use base64::Engine as _;
use chat_protocol::{ServerIdentity, Token};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::shared::{Shared, Versioned};
use super::start::StartError;
use super::{Cluster, ClusterError};
use crate::store::{PreviousKey, Store, StoreError};

/// The state bucket's key for the keys.
pub const KEYS: &str = "keys";

/// The keys as the cluster holds them.
#[derive(Serialize, Deserialize)]
struct Wire {
    /// The identity's 32 secret bytes, in base64.
    identity: String,
    /// The join key's token (`chat1_…`).
    token: String,
    /// The previous key during a grace.
    #[serde(default)]
    previous: Option<WirePrevious>,
    /// The rotation that made `token` ended the sessions on other keys
    /// (at once when there is no `previous`).
    #[serde(default)]
    disconnect: bool,
}

#[derive(Serialize, Deserialize)]
struct WirePrevious {
    token: String,
    expires: u64,
    #[serde(default)]
    disconnect: bool,
}

/// The room's keys, as a node holds them.
pub struct RoomKeys {
    /// The static key pair S.
    pub identity: ServerIdentity,
    /// The join key in force.
    pub token: Token,
    /// The previous key while its grace runs.
    pub previous: Option<PreviousKey>,
    /// The rotation that put `token` in force asked to disconnect the
    /// sessions on older keys: every node ends them at once when there is
    /// no grace (with a grace, `previous` says when).
    pub disconnect: bool,
}

impl RoomKeys {
    /// The keys as stored in the bucket (secrets: the buffer is wiped
    /// when dropped).
    pub fn encode(&self) -> Zeroizing<Vec<u8>> {
        let wire = Wire {
            identity: base64::engine::general_purpose::STANDARD
                .encode(self.identity.secret_bytes().as_slice()),
            token: self.token.encode(),
            previous: self.previous.as_ref().map(|p| WirePrevious {
                token: p.token.encode(),
                expires: p.expires,
                disconnect: p.disconnect,
            }),
            disconnect: self.disconnect,
        };
        Zeroizing::new(serde_json::to_vec(&wire).expect("keys always serialize"))
    }

    /// The keys read from the bucket; `None` if they do not read or do not
    /// belong together.
    pub fn decode(bytes: &[u8]) -> Option<RoomKeys> {
        let wire: Wire = serde_json::from_slice(bytes).ok()?;
        let secret = Zeroizing::new(
            base64::engine::general_purpose::STANDARD
                .decode(&wire.identity)
                .ok()?,
        );
        let secret: &[u8; 32] = secret.as_slice().try_into().ok()?;
        let identity = ServerIdentity::from_secret_bytes(secret);
        let token = Token::parse(&wire.token).ok()?;
        let previous = match &wire.previous {
            Some(p) => Some(PreviousKey {
                token: Token::parse(&p.token).ok()?,
                expires: p.expires,
                disconnect: p.disconnect,
            }),
            None => None,
        };
        let belong = token.server_public == identity.public()
            && previous
                .as_ref()
                .is_none_or(|p| p.token.server_public == identity.public());
        belong.then_some(RoomKeys {
            identity,
            token,
            previous,
            disconnect: wire.disconnect,
        })
    }

    /// Writes these keys into the state directory, the key file last (its
    /// rename is the commit point, as in a rotation).
    pub fn mirror(&self, store: &Store) -> Result<(), StoreError> {
        store.save_identity(&self.identity)?;
        match &self.previous {
            Some(p) => store.save_previous_key(p, &self.token)?,
            None => store.erase_previous_key()?,
        }
        store.save_key(&self.token)
    }
}

/// The secrets in the wire form are wiped when it is dropped.
impl Drop for Wire {
    fn drop(&mut self) {
        use zeroize::Zeroize as _;
        self.identity.zeroize();
        self.token.zeroize();
        if let Some(p) = &mut self.previous {
            p.token.zeroize();
        }
    }
}

/// The cluster's keys: `None` if they are `ours` (this is the first node:
/// they are published), else the cluster's, mirrored into `store`. Also
/// the revision the keys were read at.
pub async fn adopt(
    cluster: &Cluster,
    shared: &Shared,
    store: &Store,
    ours: &RoomKeys,
) -> Result<(Option<RoomKeys>, u64), StartError> {
    let encoded = ours.encode();
    let Versioned { value, revision } = shared
        .adopt_or_publish(KEYS, bytes::Bytes::copy_from_slice(&encoded))
        .await?;
    if value.as_ref() == encoded.as_slice() {
        return Ok((None, revision));
    }
    let theirs = RoomKeys::decode(&value).ok_or_else(|| {
        StartError::Cluster(ClusterError::BadValue {
            what: "adopt the cluster's keys",
            reason: format!(
                "the value {KEYS:?} in the state bucket does not read; another program wrote it? \
                 delete it (`nats kv del {}_state {KEYS}`) and restart a node to publish its keys",
                cluster.settings().room
            ),
        })
    })?;
    if theirs.token.key_id() != ours.token.key_id() {
        tracing::info!(
            key_id = %theirs.token.key_id(),
            "took the cluster's key; {} now holds it",
            store.key_path().display()
        );
    }
    // At start, before anything is served: the disk work is done here.
    theirs.mirror(store)?;
    Ok((Some(theirs), revision))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chat_protocol::JoinKey;

    fn token(identity: &ServerIdentity) -> Token {
        Token {
            join_key: JoinKey::generate(),
            server_public: identity.public(),
        }
    }

    /// What every node reads back is what the rotating node wrote: the
    /// grace's end and both disconnect flags included.
    #[test]
    fn keys_round_trip_with_their_grace_and_disconnect() {
        let identity = ServerIdentity::generate();
        let keys = RoomKeys {
            token: token(&identity),
            previous: Some(PreviousKey {
                token: token(&identity),
                expires: 1_800_000_000,
                disconnect: true,
            }),
            disconnect: true,
            identity,
        };
        let back = RoomKeys::decode(&keys.encode()).expect("decodes");
        assert_eq!(back.identity.public(), keys.identity.public());
        assert_eq!(back.token.key_id(), keys.token.key_id());
        let (p, q) = (back.previous.unwrap(), keys.previous.unwrap());
        assert_eq!(p.token.key_id(), q.token.key_id());
        assert_eq!((p.expires, p.disconnect), (q.expires, q.disconnect));
        assert!(back.disconnect);
    }

    /// A value written before `disconnect` existed reads as no disconnect;
    /// keys of another identity do not read at all.
    #[test]
    fn older_values_read_and_mismatched_keys_do_not() {
        let identity = ServerIdentity::generate();
        let old = serde_json::json!({
            "identity": base64::engine::general_purpose::STANDARD
                .encode(identity.secret_bytes().as_slice()),
            "token": token(&identity).encode(),
        });
        let read = RoomKeys::decode(old.to_string().as_bytes()).expect("decodes");
        assert!(!read.disconnect && read.previous.is_none());
        let other = ServerIdentity::generate();
        let mismatched = serde_json::json!({
            "identity": old["identity"],
            "token": token(&other).encode(),
        });
        assert!(RoomKeys::decode(mismatched.to_string().as_bytes()).is_none());
    }
}
