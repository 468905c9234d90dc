//! The admin-set join password shared by every node: its argon2id PHC
//! string as the value [`PASSWORD`] in the cluster's state bucket; an
//! empty value means none (it was cleared), no value at all that no node
//! ever had one.
//!
//! At start a node that has a hash in `STATE_DIR/password` publishes it if
//! no node did; otherwise the node adopts the cluster's (a hash, or none)
//! and mirrors it into its state directory, so a node restarted while NATS
//! is away keeps the password it last knew. The configured
//! `password_file` is not shared: each node hashes its own, and the admin
//! password overrides it wherever one is set.

use bytes::Bytes;

use super::ClusterError;
use super::node::Node;
use super::shared::Versioned;
use super::start::StartError;
use crate::store::Store;
use crate::store::password::{Gate, PasswordError, check_stored_hash};

/// The state bucket's key for the admin password's hash.
pub const PASSWORD: &str = "password";

/// The bucket's value for a hash (`None`: the password was cleared).
pub fn encode(hash: Option<&str>) -> Bytes {
    Bytes::copy_from_slice(hash.unwrap_or_default().as_bytes())
}

/// The hash a bucket value holds (`None`: cleared); an error if it is not
/// a PHC string this daemon would load from its own state directory.
pub fn decode(value: &[u8]) -> Result<Option<String>, PasswordError> {
    if value.is_empty() {
        return Ok(None);
    }
    let text = String::from_utf8_lossy(value).into_owned();
    check_stored_hash(&text)?;
    Ok(Some(text))
}

/// Publishes this node's admin password hash if no node did, or adopts the
/// cluster's into `gate` and `store`; records the revision it was read at.
pub async fn adopt(node: &Node, store: &Store, gate: &Gate) -> Result<(), StartError> {
    let ours = store.load_password_hash()?;
    let theirs = match &ours {
        Some(hash) => Some(
            node.shared
                .adopt_or_publish(PASSWORD, encode(Some(hash)))
                .await?,
        ),
        None => node.shared.get(PASSWORD).await?,
    };
    let Some(Versioned { value, revision }) = theirs else {
        return Ok(());
    };
    let hash = decode(&value).map_err(|problem| ClusterError::BadValue {
        what: "adopt the cluster's password",
        reason: format!(
            "the value {PASSWORD:?} in the state bucket is not a usable hash ({problem}); \
                 set a new password with `chatctl passwd` on a node that runs, or delete it \
                 (`nats kv del {}_state {PASSWORD}`)",
            node.cluster.settings().room
        ),
    })?;
    node.password_revision
        .store(revision, std::sync::atomic::Ordering::Relaxed);
    if hash != ours {
        // At start, before anything is served: the disk work is done here.
        match &hash {
            Some(hash) => store.save_password_hash(hash)?,
            None => store.erase_password_hash()?,
        }
        tracing::info!(
            set = hash.is_some(),
            "took the cluster's admin-set join password"
        );
        gate.set_admin_hash(hash);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_is_none_a_hash_reads_and_anything_else_is_refused() {
        assert_eq!(decode(&encode(None)).unwrap(), None);
        let hash = crate::store::password::hash("pw").unwrap();
        assert_eq!(decode(&encode(Some(&hash))).unwrap(), Some(hash.clone()));
        assert!(decode(b"plaintext").is_err());
        let costly = hash.replace("m=19456", "m=4000000");
        assert!(decode(costly.as_bytes()).is_err(), "bounds as at load");
    }
}
