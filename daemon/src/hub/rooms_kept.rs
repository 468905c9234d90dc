//! The rooms' settings kept (`STATE_DIR/rooms.json`, through
//! [`crate::store::rooms::RoomBook`]), and the end of a room made by
//! joining it once it has been empty for `room_idle_expiry`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chat_protocol::RoomName;
use chat_protocol::clock::now_ms;
use tokio_util::sync::CancellationToken;

use super::{Hub, Slot};
use crate::store::rooms::{Kept, RoomMeta};

/// How often rooms are checked for their idle expiry, at most.
const EXPIRY_CHECK: Duration = Duration::from_secs(60);

impl Hub {
    /// Every room's settings, the default room's included.
    pub fn metas(&self) -> BTreeMap<RoomName, RoomMeta> {
        let mut metas = BTreeMap::new();
        {
            let lobby = self.lobby();
            if lobby.meta != RoomMeta::default() {
                metas.insert(lobby.name.clone(), lobby.meta.clone());
            }
        }
        for slot in self.others() {
            let room = slot.room.lock().expect("lock");
            if room.confirmed {
                metas.insert(room.name.clone(), room.meta.clone());
            }
        }
        metas
    }

    /// Writes the rooms' settings as they are now (a room made, removed,
    /// its topic or invitations changed). A write that fails is logged:
    /// the rooms go on in memory, and the next change writes them all.
    pub async fn save_rooms(&self) {
        let Some(book) = &self.book else {
            if let Some(shared) = self.shared.get() {
                shared.save(self.metas()).await;
            }
            return;
        };
        // Taken before the settings are read: the last write holds the
        // newest settings.
        let _turn = book.turn().await;
        let kept = Kept {
            rooms: self.metas(),
            last_id: self.logs.ids().last(),
        };
        if let Err(e) = book.save(kept).await {
            tracing::error!("the rooms' settings could not be written: {e}");
        }
    }

    /// Removes the rooms made by joining them that have been empty for
    /// `room_idle_expiry` at `now` (Unix ms); the rooms removed, whose
    /// logs the caller closes and removes ([`Hub::drop_logs`]).
    pub(super) fn expire(&self, now: u64) -> Vec<(RoomName, Arc<Slot>)> {
        let expiry =
            u64::try_from(self.config().room_idle_expiry.0.as_millis()).unwrap_or(u64::MAX);
        let mut others = self.others.lock().expect("lock");
        let mut gone = Vec::new();
        others.retain(|name, slot| {
            let mut room = slot.room.lock().expect("lock");
            let idle = room
                .empty_since
                .is_some_and(|since| since.saturating_add(expiry) <= now);
            if idle && room.online() == 0 && !room.meta.lasting {
                room.removed = true;
                if room.confirmed {
                    gone.push((name.clone(), slot.clone()));
                } else {
                    // Never this node's to remove: it only goes here.
                    slot.log.close(Duration::ZERO);
                }
                return false;
            }
            true
        });
        gone
    }

    /// Closes the logs of `rooms`, removed, and removes their files: off
    /// the runtime (the writers' last batches). Then the settings kept.
    pub(super) async fn drop_logs(self: &Arc<Self>, rooms: Vec<(RoomName, Arc<Slot>)>) {
        if rooms.is_empty() {
            return;
        }
        // One room fewer shares the history's bytes.
        self.reshare_bounds();
        let hub = self.clone();
        let _ = tokio::task::spawn_blocking(move || {
            for (name, slot) in &rooms {
                hub.logs.remove(name, slot.log.as_ref());
                tracing::info!(room = %name, "room removed with its history");
            }
        })
        .await;
        self.save_rooms().await;
    }
}

/// Removes idle rooms until `shutdown`: every minute (or a tenth of
/// `room_idle_expiry`, if shorter, at least a second).
pub async fn run_expiry(hub: Arc<Hub>, shutdown: CancellationToken) {
    loop {
        let every =
            (hub.config().room_idle_expiry.0 / 10).clamp(Duration::from_secs(1), EXPIRY_CHECK);
        tokio::select! {
            () = tokio::time::sleep(every) => {}
            () = shutdown.cancelled() => return,
        }
        let gone = hub.expire(now_ms());
        hub.drop_logs(gone).await;
    }
}
