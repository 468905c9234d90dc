//! What the rooms' own events do to the [`App`]: a room joined opens its
//! buffer (shown, when it answers our `/join`), a room left closes it, a
//! room joined again after a reconnect gets what it missed, and a room
//! that could not be joined again is closed, said where the user looks.

use chat_protocol::{RoomJoined, RoomName};

use super::{App, Place};
use crate::model::Entry;

impl App {
    /// A `room_joined`: the room's buffer, opened and filled (members,
    /// topic), shown if it answers our `/join`; its index, for the
    /// event's lines.
    pub(super) fn room_joined(&mut self, joined: &RoomJoined) -> usize {
        let at = self
            .find_room(Some(&joined.room))
            .unwrap_or_else(|| self.open(Place::Room(joined.room.clone())));
        let buf = &mut self.buffers[at];
        buf.set_users(&joined.users);
        buf.topic.clone_from(&joined.topic);
        buf.users_stale = false;
        if let Some(i) = self.joining.iter().position(|(_, r)| r == &joined.room) {
            self.joining.remove(i);
            self.switch_to(at);
        }
        at
    }

    /// A `room_parted`: the room's buffer closed (never the default
    /// room's); the buffer on screen then, for the event's line.
    pub(super) fn room_parted(&mut self, room: &RoomName) -> usize {
        if let Some(at) = self.find_room(Some(room)).filter(|&at| at != 0) {
            self.close(at);
        }
        self.current
    }

    /// A room joined again after a reconnect: its members and topic now,
    /// and what it missed.
    pub(super) fn room_rejoined(&mut self, joined: RoomJoined, gap: bool) {
        let at = self.room_joined(&joined);
        if gap {
            self.push_to(
                at,
                Entry::notice(
                    None,
                    "some messages of this room were missed while away (older than the server keeps)",
                ),
                false,
            );
        }
        self.while_away(at, &joined.history);
    }

    /// A room that could not be joined again: its buffer goes, and the
    /// server's words (`why`) are said where the user looks then.
    pub(super) fn room_lost(&mut self, room: &RoomName, why: &str) {
        if let Some(at) = self.find_room(Some(room)).filter(|&at| at != 0) {
            self.close(at);
        }
        let why = crate::escape::one_line(why);
        self.note(format!(
            "no longer in {room}: it could not be joined again after the reconnect ({why})"
        ));
    }
}
