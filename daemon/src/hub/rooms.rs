//! The rooms besides the default one (docs/protocol.md §10.8): joining
//! (and making) one, leaving it, what is said and asked in it, the list a
//! session may see, and the rooms a session leaves at its end.
//!
//! A session's room events come here from its reader, one at a time. The
//! map of rooms is locked only to find, make or remove a room; a room's
//! own lock orders its joins, leaves and messages as the default room's
//! does. Lock order: the map, then one room, then a member's set of rooms.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use chat_protocol::clock::now_ms;
use chat_protocol::{ErrorCode, RoomInfo, RoomJoined, RoomName, ServerEvent};

use super::room_joined::UnsentRoom;
use super::who::{UnsentUsers, queued_limit};
use super::{Hub, Member, Room, Slot};
use crate::config::{Config, RoomCreation};
use crate::hub::presence::summarised;
use crate::log::After;

/// Why a room event was refused: the `error` event's code and words.
pub type Refusal = (ErrorCode, String);

/// "you are not in #ops".
pub fn not_in_room(room: &RoomName) -> Refusal {
    (
        ErrorCode::NotInRoom,
        format!("you are not in {room}: /join {room} first"),
    )
}

/// The words of `no_such_room`, the same whether the room does not exist
/// or is private and the session not invited (its existence is not told).
pub(super) fn no_such_room(room: &RoomName, config: &Config) -> Refusal {
    let message = match config.room_creation {
        RoomCreation::Anyone => format!("there is no room {room} you may join"),
        policy => format!(
            "there is no room {room} you may join; only {} may make rooms",
            policy.who()
        ),
    };
    (ErrorCode::NoSuchRoom, message)
}

impl Hub {
    /// The room named `room`, when it is one besides the default room.
    pub(super) fn other(&self, room: &RoomName) -> Option<Arc<Slot>> {
        self.others.lock().expect("lock").get(room).cloned()
    }

    /// Whether `room` is the default room.
    pub fn is_default(&self, room: &RoomName) -> bool {
        *room == self.config().default_room
    }

    /// `member` joins `room` (made if it does not exist and the policy
    /// lets this session make rooms), or resumes it after `after`, and is
    /// sent its `room_joined` under the room's lock (so nothing of the
    /// room reaches it before). A room the session is in is answered
    /// again, with nothing told to others. Whether the room was made now
    /// (the rooms' settings changed).
    ///
    /// A room whose log rests (a node of a cluster with no member in the
    /// room) first reads what it missed from the log, then follows it
    /// again ([`crate::log::RoomLog::catch_up`]).
    pub async fn join_room(
        &self,
        member: &Arc<Member>,
        room: &RoomName,
        after: Option<u64>,
    ) -> Result<bool, Refusal> {
        let config = self.config();
        if self.is_default(room) {
            let mut lobby = self.lobby();
            lobby.pump();
            answer(&mut lobby, member, after, &config);
            return Ok(false);
        }
        let mut made_now = false;
        // Bounded: each pass either answers or finds the room changed
        // under it (removed, or resting again) since it looked.
        for _ in 0..8 {
            let (slot, made) = self.find_or_make(member, room, &config)?;
            if made {
                made_now = true;
                // One room more shares the history's bytes.
                self.reshare_bounds();
            }
            let caught = if slot.log.following() {
                None
            } else {
                let last = slot.room.lock().expect("lock").history.last_id();
                slot.log
                    .catch_up(last)
                    .await
                    .map_err(|e| (ErrorCode::Other, e.to_string()))?
            };
            let mut locked = slot.room.lock().expect("lock");
            if locked.removed {
                // Removed since it was found: look again.
                continue;
            }
            if let Some(caught) = caught {
                if !slot.log.following() {
                    locked.catch_up(caught);
                    slot.log.follow_after(locked.history.last_id());
                }
            } else if !slot.log.following() {
                // Rested again since it was looked at.
                continue;
            }
            locked.pump();
            let key = member.name.to_ascii_lowercase();
            if locked.users.contains_key(&key) {
                answer(&mut locked, member, after, &config);
                return Ok(made_now);
            }
            if locked.meta.private && !locked.meta.is_invited(&member.name) {
                self.rest_if_empty(&slot, &locked);
                return Err(no_such_room(room, &config));
            }
            let mut rooms = member.rooms.lock().expect("lock");
            let in_rooms = rooms.len() + 1;
            if in_rooms >= config.max_rooms_per_session {
                drop(rooms);
                self.rest_if_empty(&slot, &locked);
                return Err((
                    ErrorCode::TooManyRooms,
                    format!(
                        "you are in {in_rooms} rooms, the most this server lets one session be in: /part one first"
                    ),
                ));
            }
            rooms.insert(room.clone());
            drop(rooms);
            self.enter(&mut locked, &key, member, &config);
            answer(&mut locked, member, after, &config);
            return Ok(made_now);
        }
        Err((
            ErrorCode::Other,
            format!("{room} changed while you joined it; try /join {room} again"),
        ))
    }

    /// Lets `slot`'s log rest when no member is left in it here (a node of
    /// a cluster then receives none of the room's messages); under the
    /// room's lock, `room`.
    pub(super) fn rest_if_empty(&self, slot: &Slot, room: &Room) {
        if room.users.is_empty() {
            slot.log.rest();
        }
    }

    /// Puts `member` (folded: `key`) into `room` and tells its members.
    fn enter(&self, room: &mut Room, key: &str, member: &Arc<Member>, config: &Config) {
        let online = room.online() + 1;
        let counted = summarised(online, config.presence_summary_above);
        if !counted {
            room.send_presence();
        }
        room.users.insert(key.to_string(), member.clone());
        room.relist(key);
        room.empty_since = None;
        if counted {
            self.count_presence(room, |tally| tally.joined += 1);
        } else {
            room.broadcast(
                &ServerEvent::Join {
                    room: room.tag.clone(),
                    name: member.name.clone(),
                    online,
                    ts: now_ms(),
                    identity: member.identity,
                    op: member.op.load(Ordering::Relaxed),
                },
                Some(key),
            );
        }
    }

    /// Takes `member` out of `room` and tells its members why (a kick on
    /// its own, others counted in a large room); whether it was in.
    fn exit(&self, room: &mut Room, member: &Arc<Member>, reason: &str, kicked: bool) -> bool {
        let key = member.name.to_ascii_lowercase();
        if !room.users.get(&key).is_some_and(|m| Arc::ptr_eq(m, member)) {
            return false;
        }
        room.pump();
        let online = room.online() - 1;
        if !kicked && summarised(online, self.config().presence_summary_above) {
            room.users.remove(&key);
            room.relist(&key);
            self.count_presence(room, |tally| tally.left += 1);
        } else {
            room.send_presence();
            room.users.remove(&key);
            room.relist(&key);
            room.broadcast(
                &ServerEvent::Leave {
                    room: room.tag.clone(),
                    name: member.name.clone(),
                    online,
                    reason: reason.to_string(),
                    ts: now_ms(),
                },
                None,
            );
        }
        if room.users.is_empty() {
            room.empty_since = Some(now_ms());
        }
        true
    }

    /// `member` leaves `room` (`part_room`).
    pub fn part_room(&self, member: &Arc<Member>, room: &RoomName) -> Result<(), Refusal> {
        if self.is_default(room) {
            return Err((
                ErrorCode::CannotPart,
                format!("{room} is this server's default room: every session stays in it"),
            ));
        }
        let slot = self.other(room).ok_or_else(|| not_in_room(room))?;
        let mut locked = slot.room.lock().expect("lock");
        if !self.exit(&mut locked, member, "left", false) {
            return Err(not_in_room(room));
        }
        self.rest_if_empty(&slot, &locked);
        drop(locked);
        member.rooms.lock().expect("lock").remove(room);
        member.send(&ServerEvent::RoomParted {
            room: room.clone(),
            reason: None,
        });
        Ok(())
    }

    /// At a session's end: it leaves every room it joined (the default
    /// room is left after, by [`Hub::leave`]).
    pub(super) fn leave_rooms(&self, member: &Arc<Member>, reason: &str, kicked: bool) {
        let rooms = std::mem::take(&mut *member.rooms.lock().expect("lock"));
        for room in rooms {
            if let Some(slot) = self.other(&room) {
                let mut locked = slot.room.lock().expect("lock");
                self.exit(&mut locked, member, reason, kicked);
                self.rest_if_empty(&slot, &locked);
            }
        }
    }

    /// The room `room` with `member` in it, or `not_in_room`.
    fn member_of(&self, member: &Member, room: &RoomName) -> Result<Arc<Slot>, Refusal> {
        let slot = self.other(room).ok_or_else(|| not_in_room(room))?;
        let key = member.name.to_ascii_lowercase();
        if slot.room.lock().expect("lock").users.contains_key(&key) {
            Ok(slot)
        } else {
            Err(not_in_room(room))
        }
    }

    /// A `say` or `action` to `room` (the default room or one `member`
    /// is in), appended to its log and, once accepted, relayed to its
    /// members; its id.
    pub async fn say_to(
        &self,
        member: &Member,
        room: &RoomName,
        text: String,
        action: bool,
        cid: Option<String>,
    ) -> Result<u64, Refusal> {
        let logged = if self.is_default(room) {
            self.say(member, text, action, cid).await
        } else {
            let slot = self.member_of(member, room)?;
            self.say_in(&slot, member, text, action, cid).await
        };
        logged.map_err(|e| (ErrorCode::Other, e.to_string()))
    }

    /// Whether `member` is in `room` (every session is in the default
    /// room), or `not_in_room`.
    pub fn check_in(&self, member: &Member, room: &RoomName) -> Result<(), Refusal> {
        if self.is_default(room) {
            return Ok(());
        }
        self.member_of(member, room).map(drop)
    }

    /// The answer to `who` for `room`, from after `after` on.
    pub fn who_in(
        &self,
        member: &Member,
        room: &RoomName,
        after: Option<&str>,
    ) -> Result<UnsentUsers, Refusal> {
        if self.is_default(room) {
            return Ok(self.who(after));
        }
        let slot = self.member_of(member, room)?;
        let answer = UnsentUsers::of(&slot.room.lock().expect("lock"), after);
        Ok(answer)
    }

    /// The rooms `member` may see: the default room, then every public
    /// room and the private ones it is in or invited to (an operator's
    /// session: all of them), by name.
    pub fn rooms_for(&self, member: &Member) -> Vec<RoomInfo> {
        let key = member.name.to_ascii_lowercase();
        let op = member.op.load(Ordering::Relaxed);
        let mut list = vec![info(&self.lobby())];
        for slot in self.others() {
            let room = slot.room.lock().expect("lock");
            let visible = !room.meta.private
                || op
                || room.users.contains_key(&key)
                || room.meta.is_invited(&member.name);
            if visible {
                list.push(info(&room));
            }
        }
        list
    }
}

/// A room's line of the `rooms` answer.
fn info(room: &Room) -> RoomInfo {
    RoomInfo {
        room: room.name.clone(),
        online: room.online(),
        topic: room.meta.topic.clone(),
        private: room.meta.private,
    }
}

/// Sends `member`, in `room`, its `room_joined`, with the room's history
/// after `after` (a resume) or its recent history. Serialized under the
/// room's lock, once: at most one server message, and `join_room` is
/// paced by the rate limit.
fn answer(room: &mut Room, member: &Member, after: Option<u64>, config: &Config) {
    room.history.trim(now_ms());
    let history = match after {
        Some(id) => room.history.after(id, config.history),
        None => After {
            entries: room.history.recent(config.history),
            gap: false,
        },
    };
    let joined = RoomJoined {
        room: room.name.clone(),
        topic: room.meta.topic.clone(),
        private: room.meta.private,
        users: Vec::new(),
        members: Vec::new(),
        more: false,
        history: Vec::new(),
        gap: history.gap,
        resumed: after.is_some(),
        last_id: room.history.last_id(),
    };
    let (users, members) = (room.roster.users(), room.roster.members());
    let limit = queued_limit(member.queue_bytes);
    let bytes = UnsentRoom::new(
        joined,
        users,
        members,
        history.entries,
        after.is_some(),
        limit,
    )
    .encode();
    member.deliver(Arc::new(bytes));
}
