//! Key rotation: a new join key under the same server identity, with an
//! optional grace period for the old one. At most two keys are ever
//! accepted; when the grace ends the old key is erased from disk and memory.

use std::time::Duration;

use chat_protocol::admin::Rotated;
use chat_protocol::{JoinKey, Token};

use crate::hub::Ending;
use crate::state::{App, now_secs};
use crate::store::PreviousKey;

/// Rotates the key. The new key file is written (atomically) before the new
/// key is accepted, so a crash leaves a whole, valid key on disk. The disk
/// work runs on the blocking pool, and handshakes keep reading the old key
/// set until the new one is in place.
pub async fn rotate(app: &App, grace: Duration, disconnect: bool) -> Result<Rotated, String> {
    let _writing = app.state_writes.lock().await;
    let old = app.keys.read().expect("lock").current.clone();
    let new = Token {
        join_key: JoinKey::generate(),
        server_public: app.identity.public(),
    };
    let previous = (!grace.is_zero()).then(|| PreviousKey {
        token: old.clone(),
        // Rounded up: `now_secs` is truncated, and a grace is a minimum.
        expires: now_secs()
            .saturating_add(grace.as_secs().max(1))
            .saturating_add(1),
    });
    // Disk first, in an order where a failure (a full disk, say) leaves the
    // old state in force: the previous key is recorded before the new key
    // replaces it, and a stale previous key is erased only after.
    let on_disk = {
        let (app, new, previous) = (app.clone(), new.clone(), previous.clone());
        tokio::task::spawn_blocking(move || -> Result<(), String> {
            if let Some(p) = &previous {
                app.store.save_previous_key(p)?;
            }
            app.store.save_key(&new)?;
            if previous.is_none() {
                // The new key is on disk: go on even if the stale file stays
                // (it is refused at the next start unless still in its grace).
                if let Err(e) = app.store.erase_previous_key() {
                    tracing::warn!("{e}");
                }
            }
            Ok(())
        })
    };
    on_disk.await.map_err(|e| e.to_string())??;
    {
        let mut keys = app.keys.write().expect("lock");
        keys.current = new.clone();
        keys.previous = previous.clone();
    }

    let new_id = new.key_id();
    let disconnected = if disconnect {
        app.hub
            .end_where(|m| m.key_id != new_id, Ending::key_rotated)
    } else {
        0
    };
    if let Some(p) = &previous {
        schedule_expiry(app.clone(), p.token.key_id(), p.expires);
    }
    Ok(Rotated {
        token: new.encode(),
        key_id: new_id.to_string(),
        previous_key_id: old.key_id().to_string(),
        previous_key_expires: previous.map(|p| p.expires),
        disconnected,
    })
}

/// Erases the previous key when its grace ends (unless it was replaced).
pub fn schedule_expiry(app: App, key_id: chat_protocol::KeyId, expires: u64) {
    tokio::spawn(async move {
        let wait = expires.saturating_sub(now_secs());
        tokio::select! {
            () = tokio::time::sleep(Duration::from_secs(wait)) => {}
            () = app.shutdown.cancelled() => return,
        }
        // Under the state lock: a rotation running now must not have its
        // fresh previous key erased by this stale expiry.
        let _writing = app.state_writes.lock().await;
        let ended = {
            let mut keys = app.keys.write().expect("lock");
            let ended = keys
                .previous
                .as_ref()
                .is_some_and(|p| p.token.key_id() == key_id);
            if ended {
                keys.previous = None;
            }
            ended
        };
        if ended {
            let store_app = app.clone();
            let erased = tokio::task::spawn_blocking(move || store_app.store.erase_previous_key())
                .await
                .unwrap_or_else(|e| Err(e.to_string()));
            match erased {
                Ok(()) => {
                    tracing::info!(key_id = %key_id, "the previous key's grace period ended; it no longer joins")
                }
                Err(e) => tracing::error!("{e}"),
            }
        }
    });
}
