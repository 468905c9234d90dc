//! The answer to `who`: a room's lists of its members, taken serialized
//! from its roster under the room's lock (pointers), then encoded off it:
//! the users from the `who`'s `after` on, as many as fit one answer, with
//! `more` when the list goes on ([`super::lists::Lists::cut`]).

use chat_protocol::{RoomName, ServerEvent};

use super::lists::{LIMIT, Lists, json_len};
use super::member::Member;
use super::room::Room;

/// A `users` answer not encoded yet.
pub struct UnsentUsers {
    /// The room it is for; `None`: the default room.
    room: Option<RoomName>,
    /// The room's members online, serialized.
    lists: Lists,
    /// Where the answer starts in them (after the `who`'s `after`).
    from: usize,
}

impl UnsentUsers {
    /// The answer for `room`, from its roster, starting after `after`
    /// (folded here), or from the start.
    pub(super) fn of(room: &Room, after: Option<&str>) -> Self {
        let from = after.map_or(0, |after| room.roster.after(&after.to_ascii_lowercase()));
        Self {
            room: room.tag.clone(),
            lists: Lists {
                users: room.roster.users(),
                members: room.roster.members(),
            },
            from,
        }
    }

    /// The answer's JSON, in at most `limit` bytes.
    pub fn encode(self, limit: usize) -> Vec<u8> {
        let (mut users, mut members) = (Vec::new(), Vec::new());
        Lists::placeholders_of(&mut users, &mut members);
        let head = ServerEvent::Users {
            room: self.room,
            users,
            members,
            more: false,
        };
        let cut = self.lists.cut(self.from, json_len(&head), &[], limit);
        let ServerEvent::Users {
            room,
            users,
            members,
            ..
        } = head
        else {
            unreachable!("made as users above")
        };
        let head = ServerEvent::Users {
            room,
            users,
            members,
            more: cut.more,
        };
        self.lists.splice(&head.to_bytes(), cut.range)
    }

    /// The answer's JSON, as `member` is sent it: in one server message,
    /// and in half its queue's bound ([`queued_limit`]).
    pub fn encode_for(self, member: &Member) -> Vec<u8> {
        self.encode(queued_limit(member.queue_bytes))
    }

    /// The answer as it will be sent to `member` (tests).
    #[cfg(test)]
    pub fn event(self, limit: usize) -> ServerEvent {
        ServerEvent::from_bytes(&self.encode(limit)).expect("a users answer reads")
    }
}

/// The largest answer queued to a session whose queue holds `queue_bytes`
/// (`outbound_queue_bytes`): one server message, and at most half the
/// queue's bound, so that a long answer never ends the session as too
/// slow by itself (a `users` answer and a `room_joined` are queued as any
/// event; the `Welcome` is not).
pub(super) fn queued_limit(queue_bytes: usize) -> usize {
    LIMIT.min(queue_bytes / 2)
}
