//! The rooms' logs as the hub holds them: the history's bounds shared by
//! the rooms held now, every log to close, and why a history cannot be
//! made durable.

use std::sync::Arc;

use chat_protocol::clock::now_ms;

use super::Hub;
use crate::log::{Bounds, RoomLog};

impl Hub {
    /// The history's bounds changed (a reload put a new configuration in
    /// force, or a room was made or removed: the bytes are shared by the
    /// rooms held now): every room's history is trimmed to them, in its
    /// log too.
    pub fn set_bounds(&self, bounds: Bounds) {
        let others = self.others();
        let bounds = bounds.shared_by(others.len() + 1);
        for slot in std::iter::once(&self.lobby).chain(others.iter().map(|s| &**s)) {
            slot.log.set_bounds(bounds);
            let mut room = slot.room.lock().expect("lock");
            room.pump();
            room.history.set_bounds(bounds, now_ms());
        }
    }

    /// The bounds in force shared again by the rooms held now.
    pub(crate) fn reshare_bounds(&self) {
        self.set_bounds(Bounds::of(&self.config()));
    }

    /// The default room's log.
    pub fn log(&self) -> &Arc<dyn RoomLog> {
        &self.lobby.log
    }

    /// Every room's log (the default room's first), to close them.
    pub fn logs(&self) -> Vec<Arc<dyn RoomLog>> {
        std::iter::once(self.lobby.log.clone())
            .chain(self.others().iter().map(|slot| slot.log.clone()))
            .collect()
    }

    /// Why some room's history cannot be made durable now, if it cannot
    /// (the default room's first; all share the state directory's disk).
    pub fn persist_error(&self) -> Option<String> {
        self.logs().iter().find_map(|log| log.persist_error())
    }
}
