//! A room's `room_joined`, the answer to `join_room`, as a join's
//! `Welcome` is built ([`super::welcome`]): the room's lists of its members
//! taken serialized from its roster under the room's lock ([`UnsentRoom`]),
//! then fitted into one server message with the newest history that fits,
//! the lists' bytes copied into place.

use std::ops::Range;
use std::sync::Arc;

use chat_protocol::{HistoryEntry, RoomJoined, ServerEvent};

use super::listing::Listed;
use super::lists::{Lists, json_len};
use crate::log::Entry;

/// A room's `room_joined` not fitted yet, as [`super::Unsent`] is a
/// `Welcome`.
pub struct UnsentRoom {
    /// The answer, its `users`, `members` and `history` empty.
    joined: RoomJoined,
    /// The room's members online, this user included, serialized.
    lists: Lists,
    /// The history entries it may hold, oldest first.
    entries: Vec<Entry>,
    /// Whether the join asked to resume (`after`).
    resume: bool,
    /// The largest answer: one server message's, or less (half the
    /// session's queue bound: it is queued as any event).
    limit: usize,
}

impl UnsentRoom {
    /// A `room_joined` of `joined` (its lists and history ignored), `users`
    /// and `members` (the room's roster) and `entries`, in at most `limit`
    /// bytes.
    pub fn new(
        mut joined: RoomJoined,
        users: Arc<Listed>,
        members: Arc<Listed>,
        entries: Vec<Entry>,
        resume: bool,
        limit: usize,
    ) -> Self {
        Lists::placeholders_of(&mut joined.users, &mut joined.members);
        joined.history = Vec::new();
        Self {
            joined,
            lists: Lists { users, members },
            entries,
            resume,
            limit,
        }
    }

    /// The answer as it will be sent, its lists still serialized apart,
    /// and the run of them it holds: the newest entries that fit; a resume
    /// that loses entries that way says `gap`; lists that do not fit whole
    /// are cut, with `more` ([`Lists::cut`]).
    fn fit(self) -> (RoomJoined, Lists, Range<usize>) {
        let Self {
            mut joined,
            lists,
            entries,
            resume,
            limit,
        } = self;
        let gap_before = joined.gap;
        joined.gap |= resume;
        let head = ServerEvent::RoomJoined(joined);
        let cut = lists.cut(0, json_len(&head), &entries, limit);
        let ServerEvent::RoomJoined(mut joined) = head else {
            unreachable!("made as a RoomJoined above")
        };
        joined.gap = gap_before || (resume && cut.skip > 0);
        joined.more = cut.more;
        joined.history = entries[cut.skip..]
            .iter()
            .map(|e| HistoryEntry::clone(e))
            .collect();
        (joined, lists, cut.range)
    }

    /// The fitted answer's JSON, the lists copied into their places, ready
    /// to seal.
    pub fn encode(self) -> Vec<u8> {
        let (joined, lists, range) = self.fit();
        lists.splice(&ServerEvent::RoomJoined(joined).to_bytes(), range)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chat_protocol::{Member, RoomName};

    /// The lists copied into place give the very bytes a `room_joined`
    /// serialized with its users and members would, whatever the topic.
    #[test]
    fn the_rooms_lists_are_copied_into_their_places() {
        let listed = vec![
            Member::named("ace"),
            Member {
                name: "Bob".into(),
                identity: None,
                op: true,
            },
        ];
        let users = Listed::of(&[br#""ace""#, br#""Bob""#]);
        let json: Vec<Vec<u8>> = listed
            .iter()
            .map(|m| serde_json::to_vec(m).unwrap())
            .collect();
        let members = Listed::of(&json.iter().map(Vec::as_slice).collect::<Vec<_>>());
        let room: RoomName = "#ops".parse().unwrap();
        let mut joined = RoomJoined {
            room: room.clone(),
            topic: Some(r#""users":[] "members":[{"name":""}]"#.into()),
            private: false,
            users: Vec::new(),
            members: Vec::new(),
            more: false,
            history: Vec::new(),
            gap: false,
            resumed: false,
            last_id: 3,
        };
        let entry = Arc::new(HistoryEntry {
            room: Some(room),
            id: 3,
            from: "ace".into(),
            text: r#""users":[]"#.into(),
            ts: 1_700_000_000_000,
            action: false,
            cid: None,
        });
        let bytes = UnsentRoom::new(
            joined.clone(),
            users,
            members,
            vec![entry.clone()],
            false,
            crate::hub::lists::LIMIT,
        )
        .encode();
        joined.users = vec!["ace".into(), "Bob".into()];
        joined.members = listed;
        joined.history = vec![HistoryEntry::clone(&entry)];
        assert_eq!(bytes, ServerEvent::RoomJoined(joined).to_bytes());
    }
}
