//! The rooms a session is in (docs/protocol.md §10.8), as the engine keeps
//! them: which rooms besides the default one, the id of the last message
//! seen in each (a rejoin resumes each room after it), and the rejoin of
//! every room after a reconnect.
//!
//! The server keeps no rooms for a session that ended, so after the
//! `Welcome` (which resumes the default room) the engine sends
//! `join_room {room, after}` for each other room, ahead of the queue and
//! paced like any line. The lines sent to a room but not answered when the
//! link dropped are held until that room's `room_joined` comes: its
//! history settles them (taken by the server, or sent again), as the
//! `Welcome`'s settles the default room's. Until then nothing else is sent
//! to that room (a line to it waits; lines to other rooms go on), so its
//! lines keep the order they were typed in.

use std::collections::{BTreeMap, VecDeque};

use chat_protocol::{ClientEvent, RoomJoined, RoomName, ServerEvent, Welcome};

use super::pending::merge;
use super::{Engine, Event, Pending};

/// A room the session is in, other than the default room.
#[derive(Debug)]
pub(super) struct InRoom {
    pub(super) room: RoomName,
    /// The id of the last message of this room received (or its last
    /// `room_joined`'s `last_id`): the rejoin resumes after it.
    pub(super) last_id: Option<u64>,
}

/// A room being joined again after a reconnect.
#[derive(Debug)]
pub(super) struct Rejoining {
    /// The `join_room` that rejoins it.
    seq: u64,
    /// Lines to it that were sent and not answered when the link dropped.
    held: VecDeque<Pending>,
    /// Whether the session was in the room (a resume), rather than asked
    /// to join it and got no answer before the link dropped (a first join,
    /// the user's own `join_room` sent again).
    resume: bool,
}

/// The room a client event is for, as a name, when it is one of the
/// rooms besides `default` (a room that is not a name stays the server's
/// to refuse).
pub(super) fn room_of(event: &ClientEvent, default: Option<&RoomName>) -> Option<RoomName> {
    let room = RoomName::parse(event.room()?).ok()?;
    (Some(&room) != default).then_some(room)
}

impl Engine {
    /// The server's default room; `None`: a server without rooms.
    pub fn default_room(&self) -> Option<&RoomName> {
        self.default_room.as_ref()
    }

    /// Takes the rooms of a (first) `Welcome`.
    pub(super) fn rooms_from(&mut self, welcome: &Welcome) {
        self.default_room = welcome.default_room.clone();
        self.rooms = welcome
            .rooms
            .iter()
            .filter(|room| Some(*room) != welcome.default_room.as_ref())
            .map(|room| InRoom {
                room: room.clone(),
                last_id: None,
            })
            .collect();
    }

    /// Records `id` as the last message seen in `room` (`None`: the
    /// default room).
    pub(super) fn seen_in(&mut self, room: Option<&RoomName>, id: u64) {
        let room = room.filter(|r| Some(*r) != self.default_room.as_ref());
        match room.and_then(|room| self.rooms.iter_mut().find(|r| &r.room == room)) {
            Some(joined) => joined.last_id = Some(id),
            None if room.is_none() => self.last_id = Some(id),
            // A message of a room we are not in (a server's slip): it
            // moves no resume point.
            None => {}
        }
    }

    /// Whether `pending` may be sent now: not while its room is being
    /// rejoined, unless it is the `join_room` that rejoins it.
    pub(super) fn sendable(&self, pending: &Pending) -> bool {
        match room_of(&pending.event, self.default_room.as_ref()) {
            Some(room) => self
                .rejoining
                .get(&room)
                .is_none_or(|rejoin| rejoin.seq == pending.seq),
            None => true,
        }
    }

    /// The index in the queue of the next line that may be sent.
    pub(super) fn next_sendable(&self) -> Option<usize> {
        self.queue.iter().position(|p| self.sendable(p))
    }

    /// After a rejoin's `Welcome`: takes out of `inflight` the lines for
    /// other rooms (held until each room's `room_joined`), and gives the
    /// `join_room` of every room the session was in (resuming it) or had
    /// asked to join without an answer, to queue ahead of everything (the
    /// second list). What is left of `inflight` (the first) is the
    /// default room's, for the `Welcome` to settle. Rooms a server without
    /// rooms cannot give back are lost.
    pub(super) fn rejoin_rooms(
        &mut self,
        welcome: &Welcome,
        inflight: VecDeque<Pending>,
        events: &mut Vec<Event>,
    ) -> (VecDeque<Pending>, Vec<Pending>) {
        self.default_room = welcome.default_room.clone();
        let default = self.default_room.clone();
        let mut lines: BTreeMap<RoomName, VecDeque<Pending>> = BTreeMap::new();
        let mut joins = Vec::new();
        let mut rest = VecDeque::new();
        for pending in inflight {
            match (&pending.event, room_of(&pending.event, default.as_ref())) {
                (ClientEvent::JoinRoom { .. }, Some(room)) => joins.push((room, pending)),
                (_, Some(room)) => lines.entry(room).or_default().push_back(pending),
                (_, None) => rest.push_back(pending),
            }
        }
        self.rejoining.clear();
        let rooms = std::mem::take(&mut self.rooms);
        if default.is_none() {
            // Rooms cannot be rejoined on a server without them.
            for joined in rooms {
                events.push(Event::RoomLost(
                    joined.room,
                    "the server joined again has no rooms".into(),
                ));
            }
            rest.extend(lines.into_values().flatten());
            rest.extend(joins.into_iter().map(|(_, p)| p));
            return (rest, Vec::new());
        }
        let mut ahead = Vec::new();
        for joined in rooms {
            if welcome.rooms.contains(&joined.room) {
                // The server kept it for us: nothing to rejoin.
                self.rooms.push(joined);
                continue;
            }
            self.next_seq += 1;
            let seq = self.next_seq;
            let held = lines.remove(&joined.room).unwrap_or_default();
            ahead.push(Pending {
                seq,
                event: ClientEvent::JoinRoom {
                    room: joined.room.as_str().to_owned(),
                    after: joined.last_id,
                },
            });
            self.rejoining.insert(
                joined.room.clone(),
                Rejoining {
                    seq,
                    held,
                    resume: true,
                },
            );
            self.rooms.push(joined);
        }
        for (room, pending) in joins {
            if let std::collections::btree_map::Entry::Vacant(entry) = self.rejoining.entry(room) {
                let held = lines.remove(entry.key()).unwrap_or_default();
                entry.insert(Rejoining {
                    seq: pending.seq,
                    held,
                    resume: false,
                });
                ahead.push(pending);
            }
        }
        // Lines to a room neither joined nor asked for: the server's to
        // refuse (`not_in_room`).
        rest.extend(lines.into_values().flatten());
        (rest, ahead)
    }

    /// A `room_joined` that answers `pending` (a `join_room`): the room is
    /// joined (or joined again), its history remembered; for a rejoin, its
    /// history merged with what was shown and its held lines settled.
    pub(super) fn on_room_joined(
        &mut self,
        mut joined: RoomJoined,
        raw: Vec<u8>,
        pending: Option<Pending>,
        events: &mut Vec<Event>,
    ) {
        let room = joined.room.clone();
        if joined.more {
            let first = super::paging::Paging::of(Some(&room), &joined.users, &joined.members);
            self.read_more(first);
        }
        let rejoin = pending
            .as_ref()
            .and_then(|p| match self.rejoining.get(&room) {
                Some(rejoin) if rejoin.seq == p.seq => self.rejoining.remove(&room),
                _ => None,
            });
        let is_default = self.default_room.as_ref() == Some(&room);
        if !is_default && !self.rooms.iter().any(|r| r.room == room) {
            self.rooms.push(InRoom {
                room: room.clone(),
                last_id: None,
            });
        }
        let Some(rejoin) = rejoin else {
            for entry in &joined.history {
                self.remember(entry);
            }
            self.seen_in(Some(&room), joined.last_id);
            events.push(Event::Server {
                event: ServerEvent::RoomJoined(joined),
                raw,
            });
            events.extend(pending.map(|p| Event::Confirmed(p.seq)));
            return;
        };
        let history = std::mem::take(&mut joined.history);
        let merged = merge(history, &self.seen, &self.me, rejoin.held);
        let gap = rejoin.resume && (joined.gap || (!joined.resumed && merged.gap));
        for entry in &merged.fresh {
            self.remember(entry);
        }
        self.seen_in(Some(&room), joined.last_id);
        for pending in merged.resend.into_iter().rev() {
            self.queue.push_front(pending);
        }
        events.extend(merged.unknown.into_iter().map(Event::Unknown));
        joined.history = merged.fresh;
        if rejoin.resume {
            events.push(Event::RoomRejoined { joined, gap });
        } else {
            let raw = ServerEvent::RoomJoined(joined.clone()).to_bytes();
            events.push(Event::Server {
                event: ServerEvent::RoomJoined(joined),
                raw,
            });
            events.extend(pending.map(|p| Event::Confirmed(p.seq)));
        }
        events.extend(merged.confirmed.into_iter().map(Event::Confirmed));
    }

    /// What a `room_parted`, `rooms` or `topic` answers: the oldest line
    /// sent that asked for it (`None` inside: none did, such as a topic
    /// set by someone else; `None`: not an answer). A `room_parted` also
    /// takes the room out of the session's.
    pub(super) fn room_answer(&mut self, event: &ServerEvent) -> Option<Option<Pending>> {
        let same =
            |asked: &str, room: &RoomName| RoomName::parse(asked).ok().as_ref() == Some(room);
        match event {
            ServerEvent::RoomParted { room, .. } => {
                self.rooms.retain(|r| &r.room != room);
                self.rejoining.remove(room);
                Some(self.answered_by(
                    |e| matches!(e, ClientEvent::PartRoom { room: asked } if same(asked, room)),
                ))
            }
            ServerEvent::Rooms { .. } => {
                Some(self.answered_by(|e| matches!(e, ClientEvent::Rooms)))
            }
            ServerEvent::Topic {
                room, by: Some(by), ..
            } if self.is_me(by) => Some(self.answered_by(
                |e| matches!(e, ClientEvent::Topic { room: asked, .. } if same(asked, room)),
            )),
            _ => None,
        }
    }

    /// An `error` (saying `why`) refused `pending`: when it was the
    /// `join_room` of a rejoin, the room is lost (its held lines refused
    /// too).
    pub(super) fn on_refused_join(
        &mut self,
        pending: &Pending,
        why: &str,
        events: &mut Vec<Event>,
    ) {
        let Some(room) = room_of(&pending.event, self.default_room.as_ref()) else {
            return;
        };
        let ours = matches!(pending.event, ClientEvent::JoinRoom { .. })
            && self
                .rejoining
                .get(&room)
                .is_some_and(|rejoin| rejoin.seq == pending.seq);
        if !ours {
            return;
        }
        let rejoin = self.rejoining.remove(&room).expect("checked above");
        self.rooms.retain(|r| r.room != room);
        events.extend(rejoin.held.into_iter().map(|p| Event::Refused(p.seq)));
        if rejoin.resume {
            events.push(Event::RoomLost(room, why.to_owned()));
        }
    }
}
