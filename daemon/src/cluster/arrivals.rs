//! Which rooms' replicated logs have entries waiting to be fanned out
//! ([`Arrivals`]).

use std::sync::Mutex;

use tokio::sync::Notify;

/// Which rooms' logs handed their rooms new entries since the node last
/// had them fanned out ([`crate::hub::Hub::pump_room`]): each is pumped,
/// and no other, so a message costs nothing in the rooms it is not in.
#[derive(Default)]
pub struct Arrivals {
    /// The rooms with entries waiting (`None`: the default room).
    rooms: Mutex<std::collections::BTreeSet<Option<chat_protocol::RoomName>>>,
    /// Told when one is added.
    notify: Notify,
}

impl Arrivals {
    /// `room`'s log handed it new entries.
    pub(super) fn arrived(&self, room: &Option<chat_protocol::RoomName>) {
        let mut rooms = self.rooms.lock().unwrap_or_else(|p| p.into_inner());
        if !rooms.contains(room) {
            rooms.insert(room.clone());
        }
        drop(rooms);
        // A permit is kept if the pump is busy: it looks again.
        self.notify.notify_one();
    }

    /// Waits for arrivals; the rooms that have some, each once.
    pub async fn next(&self) -> Vec<Option<chat_protocol::RoomName>> {
        loop {
            let rooms = std::mem::take(&mut *self.rooms.lock().unwrap_or_else(|p| p.into_inner()));
            if !rooms.is_empty() {
                return rooms.into_iter().collect();
            }
            self.notify.notified().await;
        }
    }
}
