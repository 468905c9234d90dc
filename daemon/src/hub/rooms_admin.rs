//! What the admin asks of the rooms (`chatctl rooms`): the list with
//! everything about each room, a lasting room made, a room removed with
//! its history, a topic set, a name invited, a room's users and a notice
//! to one room. Each change is kept in `STATE_DIR/rooms.json` by the
//! caller ([`Hub::save_rooms`]).

use std::sync::Arc;

use chat_protocol::admin::RoomSummary;
use chat_protocol::clock::now_ms;
use chat_protocol::{ModerationAction, RoomName, ServerEvent};

use super::room::Room;
use super::{Hub, Member, Slot};
use crate::metrics::rooms::RoomCount;
use crate::store::rooms::{Invitation, RoomMeta};

/// Why the admin's order about a room was refused.
#[derive(Debug, thiserror::Error)]
pub enum RoomOrderError {
    /// No such room.
    #[error("there is no room {0}: `chatctl rooms` lists them")]
    NoSuchRoom(RoomName),
    /// What the default room cannot be or have.
    #[error("{0}")]
    DefaultRoom(String),
    /// A value that breaks the rules (a topic, a name).
    #[error("{0}")]
    Invalid(String),
    /// `max_rooms` reached.
    #[error("{0}")]
    TooMany(String),
    /// The room's history cannot be written.
    #[error("{0}")]
    Disk(String),
}

impl Hub {
    /// Every room, the default room first, then by name.
    pub fn room_summaries(&self) -> Vec<RoomSummary> {
        let mut list = vec![summary(&self.lobby(), true)];
        for slot in self.others() {
            list.push(summary(&slot.room.lock().expect("lock"), false));
        }
        list
    }

    /// The rooms `metrics_per_room` shows: the default room, then those
    /// an admin made, with this node's members and messages.
    pub fn room_counts(&self) -> Vec<RoomCount> {
        let count = |room: &Room| RoomCount {
            room: room.name.to_string(),
            members: room.users.len(),
            messages: room.messages_here,
        };
        let mut list = vec![count(&self.lobby())];
        for slot in self.others() {
            let room = slot.room.lock().expect("lock");
            if room.meta.lasting {
                list.push(count(&room));
            }
        }
        list
    }

    /// The room `room` (the default room's slot for its name).
    fn slot(&self, room: &RoomName) -> Option<Arc<Slot>> {
        if self.is_default(room) {
            return None;
        }
        self.others.lock().expect("lock").get(room).cloned()
    }

    /// Runs `f` on `room`'s state under its lock (the default room too).
    fn with_room<T>(
        &self,
        room: &RoomName,
        f: impl FnOnce(&mut Room) -> T,
    ) -> Result<T, RoomOrderError> {
        if self.is_default(room) {
            return Ok(f(&mut self.lobby()));
        }
        let slot = self
            .slot(room)
            .ok_or_else(|| RoomOrderError::NoSuchRoom(room.clone()))?;
        let mut locked = slot.room.lock().expect("lock");
        Ok(f(&mut locked))
    }

    /// Makes `room` lasting (made now if it does not exist), with `topic`
    /// and `private` if given; whether it was made now.
    pub fn add_room(
        &self,
        room: &RoomName,
        topic: Option<String>,
        private: bool,
    ) -> Result<bool, RoomOrderError> {
        if let Some(topic) = &topic {
            chat_protocol::validate_topic(topic).map_err(|(_, e)| RoomOrderError::Invalid(e))?;
        }
        if self.is_default(room) && private {
            return Err(RoomOrderError::DefaultRoom(format!(
                "{room} is the default room, which every session is in: it cannot be private"
            )));
        }
        let config = self.config();
        let made = {
            let mut others = self.others.lock().expect("lock");
            if self.is_default(room) || others.contains_key(room) {
                false
            } else {
                if others.len() + 1 >= config.max_rooms {
                    return Err(RoomOrderError::TooMany(format!(
                        "this server holds {} rooms, the most max_rooms allows: remove one (chatctl rooms remove), or raise max_rooms",
                        others.len() + 1
                    )));
                }
                let meta = RoomMeta {
                    created: now_ms(),
                    ..RoomMeta::default()
                };
                let bounds = crate::log::Bounds::of(&config).shared_by(others.len() + 2);
                let slot = self
                    .open_room(room, meta, bounds)
                    .map_err(|e| RoomOrderError::Disk(e.to_string()))?;
                others.insert(room.clone(), slot);
                true
            }
        };
        if made {
            self.reshare_bounds();
        }
        self.with_room(room, |r| {
            r.meta.lasting = true;
            r.meta.private |= private;
        })?;
        if let Some(topic) = topic {
            self.set_topic(room, topic, None)?;
        }
        Ok(made)
    }

    /// Removes `room` with its history (its log closed and its file
    /// removed, off the runtime): its members get `room_parted` with the
    /// reason. How many were in it.
    /// The members it had here are returned too (a node of a cluster
    /// says in their claims that they left it).
    pub async fn remove_room(
        self: &Arc<Self>,
        room: &RoomName,
    ) -> Result<(usize, Vec<Arc<Member>>), RoomOrderError> {
        let (slot, members) = self.take_room(room)?;
        self.drop_logs(vec![(room.clone(), slot)]).await;
        Ok((members.len(), members))
    }

    /// Takes `room` out of the rooms and its members out of it (returned).
    pub(super) fn take_room(
        &self,
        room: &RoomName,
    ) -> Result<(Arc<Slot>, Vec<Arc<Member>>), RoomOrderError> {
        if self.is_default(room) {
            return Err(RoomOrderError::DefaultRoom(format!(
                "{room} is the default room, which every session is in: it cannot be removed (default_room names another)"
            )));
        }
        let slot = self
            .others
            .lock()
            .expect("lock")
            .remove(room)
            .ok_or_else(|| RoomOrderError::NoSuchRoom(room.clone()))?;
        let mut locked = slot.room.lock().expect("lock");
        locked.removed = true;
        locked.pump();
        let event = ServerEvent::RoomParted {
            room: room.clone(),
            reason: Some("the room was removed".into()),
        };
        locked.broadcast(&event, None);
        let members: Vec<Arc<Member>> = std::mem::take(&mut locked.users).into_values().collect();
        for member in &members {
            member.rooms.lock().expect("lock").remove(room);
        }
        drop(locked);
        Ok((slot, members))
    }

    /// Sets `room`'s topic (`""` clears it) and tells its members; `by`
    /// the operator, `None` the admin. How many were told.
    pub fn set_topic(
        &self,
        room: &RoomName,
        text: String,
        by: Option<String>,
    ) -> Result<usize, RoomOrderError> {
        chat_protocol::validate_topic(&text).map_err(|(_, e)| RoomOrderError::Invalid(e))?;
        self.with_room(room, |r| {
            r.meta.topic = Some(text.clone()).filter(|t| !t.is_empty());
            r.meta.topic_by.clone_from(&by);
            r.meta.topic_ts = now_ms();
            r.broadcast(
                &ServerEvent::Topic {
                    room: room.clone(),
                    text,
                    by,
                    ts: now_ms(),
                },
                None,
            );
            r.users.len()
        })
    }

    /// Invites `name` into `room`, by the admin (`by` `None`) or an
    /// operator's session: a private room admits it from now on. Told (a
    /// `moderation` event `invite`) to the name, if online, and the
    /// operator who asked; a private room's members too.
    pub fn invite(
        &self,
        room: &RoomName,
        name: &str,
        by: Option<&Member>,
    ) -> Result<(), RoomOrderError> {
        if !chat_protocol::valid_username(name) {
            return Err(RoomOrderError::Invalid(format!(
                "{name:?} is not a name: 1 to 32 of A-Z a-z 0-9 _ . -"
            )));
        }
        if self.is_default(room) {
            return Err(RoomOrderError::DefaultRoom(format!(
                "{room} is the default room, which everyone is in: no invitation needed"
            )));
        }
        let event = ServerEvent::Moderation {
            room: Some(room.clone()),
            action: ModerationAction::Invite,
            target: name.to_string(),
            by: by.map(|m| m.name.clone()),
            until: None,
            reason: None,
            ts: now_ms(),
        };
        let key = name.to_ascii_lowercase();
        let by_key = by.map(|m| m.name.to_ascii_lowercase());
        // Who of the name and the operator the room's members were.
        let (name_told, by_told) = self.with_room(room, |r| {
            r.meta.invited.insert(
                key.clone(),
                Invitation {
                    name: name.to_string(),
                    by: by.map(|m| m.name.clone()),
                    ts: now_ms(),
                },
            );
            if !r.meta.private {
                return (false, false);
            }
            r.broadcast(&event, None);
            let told = |k: &str| r.users.contains_key(k);
            (told(&key), by_key.as_deref().is_some_and(told))
        })?;
        if !name_told && let Some(member) = self.member(name) {
            member.send(&event);
        }
        if let Some(by) = by
            && !by_told
            && by_key.as_deref() != Some(key.as_str())
        {
            by.send(&event);
        }
        Ok(())
    }

    /// The names in `room`, in order; `None`: no such room.
    pub fn room_names(&self, room: &RoomName) -> Option<Vec<String>> {
        self.with_room(room, |r| r.names()).ok()
    }

    /// A notice from the admin to `room`'s members; how many.
    pub fn notice_in(&self, room: &RoomName, text: &str) -> Result<usize, RoomOrderError> {
        if self.is_default(room) {
            return Ok(self.notice(text));
        }
        self.with_room(room, |r| {
            r.broadcast(
                &ServerEvent::Notice {
                    room: Some(room.clone()),
                    text: text.to_string(),
                    ts: now_ms(),
                },
                None,
            );
            r.users.len()
        })
    }
}

/// A room as the admin API lists it.
fn summary(room: &Room, default: bool) -> RoomSummary {
    RoomSummary {
        room: room.name.clone(),
        online: room.online(),
        topic: room.meta.topic.clone(),
        private: room.meta.private,
        lasting: default || room.meta.lasting,
        default,
        messages: room.history.len(),
        invited: room.meta.invited.values().map(|i| i.name.clone()).collect(),
    }
}
