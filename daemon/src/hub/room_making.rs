//! The making of a room by joining it (under `room_creation` and the
//! limits: `max_rooms`, `max_rooms_per_session`, `rooms_made_per_hour`)
//! and the opening of a room on its log.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use chat_protocol::clock::now_ms;
use chat_protocol::{ErrorCode, RoomName};

use super::rooms::{Refusal, no_such_room};
use super::{Hub, Member, Slot};
use crate::config::{Config, RoomCreation};
use crate::log::Bounds;
use crate::store::rooms::RoomMeta;

/// One hour, in milliseconds: the window of `rooms_made_per_hour`.
const HOUR_MS: u64 = 3_600_000;

impl Hub {
    /// The room `room`, found, or made for `member` if it may make it;
    /// whether it was made now.
    pub(super) fn find_or_make(
        &self,
        member: &Member,
        room: &RoomName,
        config: &Config,
    ) -> Result<(Arc<Slot>, bool), Refusal> {
        let mut others = self.others.lock().expect("lock");
        if let Some(slot) = others.get(room) {
            return Ok((slot.clone(), false));
        }
        let may_make = match config.room_creation {
            RoomCreation::Anyone => true,
            // An operator's session: its name's rights, proven with a key.
            RoomCreation::Operators => member.op.load(Ordering::Relaxed),
            RoomCreation::Admin => false,
        };
        if !may_make {
            return Err(no_such_room(room, config));
        }
        let in_rooms = member.rooms.lock().expect("lock").len() + 1;
        if in_rooms >= config.max_rooms_per_session {
            return Err((
                ErrorCode::TooManyRooms,
                format!(
                    "you are in {in_rooms} rooms, the most this server lets one session be in: /part one first"
                ),
            ));
        }
        if others.len() + 1 >= config.max_rooms {
            return Err((
                ErrorCode::TooManyRooms,
                format!(
                    "this server holds {} rooms, the most it allows: join one of them (/rooms)",
                    others.len() + 1
                ),
            ));
        }
        let now = now_ms();
        let mut made = member.made.lock().expect("lock");
        while made.front().is_some_and(|&at| at + HOUR_MS <= now) {
            made.pop_front();
        }
        if made.len() >= config.rooms_made_per_hour as usize {
            return Err((
                ErrorCode::TooManyRooms,
                format!(
                    "you made {} rooms in the last hour, the most this server allows: join a room that exists (/rooms), or try again later",
                    made.len()
                ),
            ));
        }
        let meta = RoomMeta {
            created: now,
            ..RoomMeta::default()
        };
        let bounds = Bounds::of(config).shared_by(others.len() + 2);
        let slot = self.open_room(room, meta, bounds).map_err(|e| {
            tracing::error!("{e}");
            (
                ErrorCode::Other,
                format!(
                    "{room} cannot be made now (its history cannot be written); try again later"
                ),
            )
        })?;
        made.push_back(now);
        others.insert(room.clone(), slot.clone());
        tracing::info!(room = %room, by = %member.name, "room made");
        Ok((slot, true))
    }

    /// A new room `room` with `meta`, its log opened within `bounds`.
    pub(super) fn open_room(
        &self,
        room: &RoomName,
        meta: RoomMeta,
        bounds: Bounds,
    ) -> Result<Arc<Slot>, crate::log::HistoryError> {
        let (log, accepted) = self.logs.open(room, bounds)?;
        Ok(Arc::new(Slot::new(
            room.clone(),
            Some(room.clone()),
            meta,
            log,
            accepted,
            bounds,
            self.metrics.clone(),
        )))
    }
}
