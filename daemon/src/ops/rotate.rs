//! Key rotation: a new join key under the same server identity, with an
//! optional grace period for the old one. At most two keys are ever
//! accepted; when the grace ends the old key is erased from disk and memory.
//!
//! On disk a rotation has one commit point: the atomic rename of `key`.
//! What comes before only prepares it (with a grace, `key.previous` gets
//! the old key, bound to the new one; without, the previous key of an
//! earlier rotation is erased), so a failure or a crash before the rename
//! leaves the rotation undone and reported as failed, and one after it
//! leaves it done. A `key.previous` is only ever taken beside the key that
//! replaced it (`Store::load_previous_key`), so no restart brings back a
//! key that a rotation withdrew.
//!
//! With `disconnect`, the sessions on older keys end at once when there is
//! no grace, and when the grace ends when there is one: those that joined
//! with the old key during the grace too. A grace cut short by a newer
//! rotation ends them then. The sessions such a grace will end are told,
//! with a notice, when it starts and a minute before it ends.

use std::time::Duration;

use std::sync::Arc;

use chat_protocol::admin::Rotated;
use chat_protocol::clock::now_secs;
use chat_protocol::{JoinKey, KeyId, Token};
use tokio_util::sync::CancellationToken;

use crate::ending::Ending;
use crate::hub::Hub;
use crate::store::keyring::Keyring;
use crate::store::{PreviousKey, StoreError};

/// What a rotation touches: the keys (in memory and in the state
/// directory), the room (whose sessions on old keys it ends or warns), and
/// the shutdown (which ends a grace's timer).
#[derive(Clone)]
pub struct Rotation {
    /// The keys and their state directory.
    pub keyring: Arc<Keyring>,
    /// The room.
    pub hub: Arc<Hub>,
    /// Ends a grace's timer.
    pub shutdown: CancellationToken,
}

/// A rotation that did not happen: the current key is still in force.
#[derive(Debug, thiserror::Error)]
#[error(
    "the key was not rotated: {cause}. The current key {current} is still in force{also}; fix the cause and rotate again"
)]
pub struct RotateError {
    /// What failed.
    pub cause: StoreError,
    /// The key still in force.
    pub current: KeyId,
    /// What else changed: the previous key of an earlier rotation, erased.
    also: String,
}

/// The keys a rotation of `current` puts in force: a new join key under
/// the same identity and, with a grace, `current` as the previous key
/// until the grace ends (rounded up to whole seconds).
pub fn next_keys(
    current: &Token,
    grace: Duration,
    disconnect: bool,
) -> (Token, Option<PreviousKey>) {
    let new = Token {
        join_key: JoinKey::generate(),
        server_public: current.server_public,
    };
    let previous = (!grace.is_zero()).then(|| PreviousKey {
        token: current.clone(),
        // Rounded up: `now_secs` is truncated, and a grace is a minimum.
        expires: now_secs()
            .saturating_add(grace.as_secs().max(1))
            .saturating_add(1),
        disconnect,
    });
    (new, previous)
}

impl Rotation {
    /// Rotates the key. The disk work runs on the blocking pool, and
    /// handshakes keep reading the old key set until the new one is in place.
    pub async fn rotate(&self, grace: Duration, disconnect: bool) -> Result<Rotated, RotateError> {
        let keyring = &self.keyring;
        let _writing = keyring.state_writes.lock().await;
        let old = keyring.keys.read().expect("lock").current.clone();
        let (new, previous) = next_keys(&old, grace, disconnect);
        let on_disk = {
            let (keyring, new, previous) = (keyring.clone(), new.clone(), previous.clone());
            tokio::task::spawn_blocking(move || -> Result<(), (bool, StoreError)> {
                match &previous {
                    Some(p) => keyring.store.save_previous_key(p, &new),
                    None => keyring.store.erase_previous_key(),
                }
                .map_err(|e| (false, e))?;
                // The commit point.
                keyring.store.save_key(&new).map_err(|e| (true, e))
            })
        };
        if let Err((prepared, cause)) = on_disk
            .await
            .unwrap_or_else(|e| Err((false, StoreError::Panicked(e.to_string()))))
        {
            // The first step went through: the earlier previous key is gone
            // from disk (erased, or replaced by a file bound to a key that
            // never came into force). Memory follows, so that a restart
            // changes nothing.
            let withdrawn = if prepared {
                keyring.keys.write().expect("lock").previous.take()
            } else {
                None
            };
            self.end_pending(withdrawn.as_ref(), &[old.key_id()]);
            let also = match withdrawn {
                Some(p) => format!("; the previous key {} no longer joins", p.token.key_id()),
                None => String::new(),
            };
            return Err(RotateError {
                cause,
                current: old.key_id(),
                also,
            });
        }
        Ok(self.put_in_force(new, previous, disconnect))
    }

    /// Puts keys already on disk in force in memory: the key set swapped,
    /// the sessions the rotation asked to end ended (at once without a grace;
    /// those of a grace this rotation cut short), the grace's end scheduled.
    /// A local rotation and one that came from another node of a cluster
    /// (`cluster::changes`) both end here. Called under `state_writes`.
    pub fn put_in_force(
        &self,
        new: Token,
        previous: Option<PreviousKey>,
        disconnect: bool,
    ) -> Rotated {
        let (old, replaced) = {
            let mut keys = self.keyring.keys.write().expect("lock");
            let old = std::mem::replace(&mut keys.current, new.clone());
            let replaced = std::mem::replace(&mut keys.previous, previous.clone());
            (old, replaced)
        };
        let new_id = new.key_id();
        let disconnected = if disconnect && previous.is_none() {
            self.hub
                .end_where(|m| m.key_id != new_id, Ending::key_rotated)
        } else {
            // A grace this rotation cut short: its pending disconnect is due.
            self.end_pending(replaced.as_ref(), &[old.key_id(), new_id])
        };
        if let Some(p) = &previous {
            if p.disconnect {
                let left = p.expires.saturating_sub(now_secs());
                self.warn_sessions(
                new_id,
                &format!(
                    "the server's key was replaced: the key this session joined with stops working in {}, and this session will be disconnected then. Ask the admin for the new key (`chatctl key` prints it)",
                    in_words(left)
                ),
            );
            }
            self.schedule_expiry(p.token.key_id(), p.expires);
        }
        Rotated {
            token: new.encode(),
            key_id: new_id.to_string(),
            previous_key_id: old.key_id().to_string(),
            previous_key_expires: previous.as_ref().map(|p| p.expires),
            disconnected,
            disconnect_at: previous.filter(|p| p.disconnect).map(|p| p.expires),
        }
    }

    /// For a previous key that stopped joining: if its rotation asked to
    /// disconnect, ends the sessions on any key but those in `keep`. Returns
    /// how many were ended.
    fn end_pending(&self, ended: Option<&PreviousKey>, keep: &[KeyId]) -> usize {
        match ended {
            Some(p) if p.disconnect => self
                .hub
                .end_where(|m| !keep.contains(&m.key_id), Ending::key_rotated),
            _ => 0,
        }
    }

    /// Tells the sessions here on any key but `keep` (those a grace that
    /// disconnects will end) `text`, as the admin's notices are told, so that
    /// people do not simply vanish.
    fn warn_sessions(&self, keep: KeyId, text: &str) {
        let event = chat_protocol::ServerEvent::Notice {
            room: None,
            text: text.to_owned(),
            ts: chat_protocol::clock::now_ms(),
        };
        let keep = keep.to_string();
        for user in self.hub.users().into_iter().filter(|u| u.key_id != keep) {
            if let Some(member) = self.hub.member(&user.name) {
                member.send(&event);
            }
        }
    }

    /// Erases the previous key when its grace ends (unless it was replaced),
    /// and ends the sessions on older keys if its rotation asked to; a
    /// minute before, it tells them once more.
    pub fn schedule_expiry(&self, key_id: KeyId, expires: u64) {
        let this = self.clone();
        tokio::spawn(async move {
            let warn_at = expires.saturating_sub(LAST_WARNING_SECS);
            if warn_at > now_secs() {
                tokio::select! {
                    () = tokio::time::sleep(Duration::from_secs(warn_at - now_secs())) => {}
                    () = this.shutdown.cancelled() => return,
                }
                // Still this grace, and one that disconnects?
                let current = {
                    let keys = this.keyring.keys.read().expect("lock");
                    keys.previous
                        .as_ref()
                        .filter(|p| p.token.key_id() == key_id && p.disconnect)
                        .map(|_| keys.current.key_id())
                };
                if let Some(current) = current {
                    this.warn_sessions(
                    current,
                    &format!(
                        "this session will be disconnected in {}: the key it joined with is withdrawn. Ask the admin for the new key (`chatctl key` prints it)",
                        in_words(expires.saturating_sub(now_secs()))
                    ),
                );
                }
            }
            let wait = expires.saturating_sub(now_secs());
            tokio::select! {
                () = tokio::time::sleep(Duration::from_secs(wait)) => {}
                () = this.shutdown.cancelled() => return,
            }
            // Under the state lock: a rotation running now must not have its
            // fresh previous key erased by this stale expiry.
            let _writing = this.keyring.state_writes.lock().await;
            let (ended, current) = {
                let mut keys = this.keyring.keys.write().expect("lock");
                let ended = keys.previous.take_if(|p| p.token.key_id() == key_id);
                (ended, keys.current.key_id())
            };
            let Some(ended) = ended else {
                return;
            };
            // After the key set changed: a session that joins from here on
            // finds its key withdrawn and ends itself (`session::admit`).
            let disconnected = this.end_pending(Some(&ended), &[current]);
            let keyring = this.keyring.clone();
            let erased = tokio::task::spawn_blocking(move || keyring.store.erase_previous_key())
                .await
                .unwrap_or_else(|e| Err(StoreError::Panicked(e.to_string())));
            match erased {
                Ok(()) if ended.disconnect => tracing::info!(
                    key_id = %key_id,
                    disconnected,
                    "the previous key's grace period ended; it no longer joins, and the sessions on it were disconnected"
                ),
                Ok(()) => {
                    tracing::info!(key_id = %key_id, "the previous key's grace period ended; it no longer joins")
                }
                Err(e) => tracing::error!("{e}"),
            }
        });
    }
}

/// How long before a grace that disconnects ends its sessions are told
/// once more.
const LAST_WARNING_SECS: u64 = 60;

/// `secs` for people: `45 s`, `10 min`, `2 h`.
fn in_words(secs: u64) -> String {
    match secs {
        0..120 => format!("{secs} s"),
        120..7200 => format!("{} min", secs.div_ceil(60)),
        _ => format!("{} h", secs.div_ceil(3600)),
    }
}
