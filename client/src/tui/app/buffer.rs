//! The conversations of the full screen: one [`Buffer`] per room the
//! session is in (the default room first) and one per person in direct
//! messages (under "direct" in the room list), each with its own pane
//! (scrollback, scroll position, unread count), members and topic. The app
//! shows one at a time, [`App::current`]; the others keep counting what
//! came (unread messages, and mentions of us). Against a server without
//! rooms there is one buffer, and direct messages stay in it, as before
//! rooms.
//!
//! Where an event goes: a room's to that room's buffer, the default
//! room's (no `room`) to the first, a direct message to its person's
//! (opened when the first one comes), and what concerns no room (a
//! notice to everyone, a moderation, an error that names no room, the
//! client's own notes) to the buffer on screen.

use chat_protocol::RoomName;

use super::{Anchor, App, Shown};
use crate::model::Kind;

/// What a buffer holds.
#[derive(Clone, Debug, Eq)]
pub enum Place {
    /// A room (the default room too).
    Room(RoomName),
    /// Direct messages with one person (the name as first seen; matched
    /// ASCII case-insensitively, as the server matches names).
    Direct(String),
}

impl PartialEq for Place {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::Room(a), Self::Room(b)) => a == b,
            (Self::Direct(a), Self::Direct(b)) => a.eq_ignore_ascii_case(b),
            _ => false,
        }
    }
}

impl Place {
    /// The room, for a room's buffer.
    pub fn room(&self) -> Option<&RoomName> {
        match self {
            Self::Room(room) => Some(room),
            Self::Direct(_) => None,
        }
    }

    /// How the room list and the status bar name it: `#ops`, `bob`.
    pub fn label(&self) -> &str {
        match self {
            Self::Room(room) => room.as_str(),
            Self::Direct(name) => name,
        }
    }
}

/// One conversation, as described in the module documentation.
#[derive(Debug)]
pub struct Buffer {
    /// What it holds.
    pub place: Place,
    /// Its pane, oldest first.
    pub lines: Vec<Shown>,
    /// `None`: live (the newest at the bottom).
    pub scroll: Option<Anchor>,
    /// Messages from others that came while scrolled up.
    pub unseen: usize,
    /// Messages from others that came while another buffer was on screen.
    pub unread: usize,
    /// Of those, the ones that mention us (and direct messages to us).
    pub mentions: usize,
    /// The day of the last line with a time, for the day-change marker.
    pub(super) last_day: Option<(i32, i32)>,
    /// The room's members, sorted (none for direct messages).
    pub users: Vec<String>,
    /// How many are in the room, as the server last said.
    pub online: usize,
    /// The room's topic, when it has one.
    pub topic: Option<String>,
    /// Since a presence summary: the member list is out of date.
    pub(super) users_stale: bool,
}

impl Buffer {
    /// An empty buffer for `place`.
    pub fn new(place: Place) -> Self {
        Self {
            place,
            lines: Vec::new(),
            scroll: None,
            unseen: 0,
            unread: 0,
            mentions: 0,
            last_day: None,
            users: Vec::new(),
            online: 0,
            topic: None,
            users_stale: false,
        }
    }

    /// Sets the member list (sorted, one entry per name).
    pub fn set_users(&mut self, users: &[String]) {
        self.users = users.to_vec();
        self.users.sort_by_key(|u| u.to_ascii_lowercase());
        self.users.dedup_by(|a, b| a.eq_ignore_ascii_case(b));
        self.online = self.users.len();
    }

    /// Adds `name` to the members.
    pub fn add_user(&mut self, name: &str) {
        let mut users = self.users.clone();
        users.push(name.to_owned());
        self.set_users(&users);
    }

    /// Takes `name` out of the members.
    pub fn remove_user(&mut self, name: &str) {
        let users: Vec<_> = self
            .users
            .iter()
            .filter(|u| !u.eq_ignore_ascii_case(name))
            .cloned()
            .collect();
        self.set_users(&users);
    }
}

impl App {
    /// The buffer on screen.
    pub fn buf(&self) -> &Buffer {
        &self.buffers[self.current]
    }

    /// The buffer on screen, to change.
    pub fn buf_mut(&mut self) -> &mut Buffer {
        &mut self.buffers[self.current]
    }

    /// The index of `place`'s buffer, if it is open.
    pub fn find_place(&self, place: &Place) -> Option<usize> {
        self.buffers.iter().position(|b| &b.place == place)
    }

    /// The index of `room`'s buffer (`None`: the default room's, the
    /// first), if it is open.
    pub fn find_room(&self, room: Option<&RoomName>) -> Option<usize> {
        match room {
            None => Some(0),
            Some(room) => self.find_place(&Place::Room(room.clone())),
        }
    }

    /// The index of `place`'s buffer, opened if it is not: rooms after
    /// the rooms, direct messages at the end.
    pub fn open(&mut self, place: Place) -> usize {
        if let Some(at) = self.find_place(&place) {
            return at;
        }
        let at = match place {
            Place::Room(_) => self
                .buffers
                .iter()
                .position(|b| matches!(b.place, Place::Direct(_)))
                .unwrap_or(self.buffers.len()),
            Place::Direct(_) => self.buffers.len(),
        };
        self.buffers.insert(at, Buffer::new(place));
        if at <= self.current && self.buffers.len() > 1 {
            self.current += 1;
        }
        at
    }

    /// Closes buffer `at` (never the first, the default room's); the one
    /// before it is shown if it was on screen.
    pub fn close(&mut self, at: usize) {
        if at == 0 || at >= self.buffers.len() {
            return;
        }
        self.buffers.remove(at);
        if self.current >= at {
            self.current -= 1;
            self.shown_now();
        }
    }

    /// Shows buffer `at`: its unread count is read.
    pub fn switch_to(&mut self, at: usize) {
        if at >= self.buffers.len() || at == self.current {
            return;
        }
        self.completion = None;
        self.search = None;
        self.current = at;
        self.shown_now();
    }

    /// The next buffer (`+1`) or the one before (`-1`), round the list.
    pub fn switch_by(&mut self, step: isize) {
        let n = self.buffers.len() as isize;
        let at = (self.current as isize + step).rem_euclid(n);
        self.switch_to(at as usize);
    }

    fn shown_now(&mut self) {
        let buf = self.buf_mut();
        buf.unread = 0;
        buf.mentions = 0;
    }

    /// The room plain lines go to: the current buffer's, `None` for the
    /// default room (or a direct-message buffer, which sends DMs).
    pub fn current_room(&self) -> Option<&RoomName> {
        let room = self.buf().place.room()?;
        (self.current != 0).then_some(room)
    }

    /// The buffer `kind` of message goes to, from `from` to `to`: a direct
    /// message to its person's (with rooms), else `default`.
    pub(super) fn direct_place(&self, kind: &Kind, from: &str) -> Option<Place> {
        let Kind::Dm { to } = kind else {
            return None;
        };
        if !self.rooms {
            return None;
        }
        let peer = if self.is_me(from) { to } else { from };
        Some(Place::Direct(peer.to_owned()))
    }

    /// Who the user list shows: the room's members; for direct messages,
    /// everyone online (the default room's).
    pub fn shown_users(&self) -> &[String] {
        match self.buf().place {
            Place::Room(_) => &self.buf().users,
            Place::Direct(_) => &self.buffers[0].users,
        }
    }

    /// How many the status bar says are online: the room's members; for
    /// direct messages, everyone.
    pub fn shown_online(&self) -> usize {
        match self.buf().place {
            Place::Room(_) => self.buf().online,
            Place::Direct(_) => self.buffers[0].online,
        }
    }
}
