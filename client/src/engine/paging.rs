//! Lists of users too long for one server message: a `welcome`,
//! `room_joined` or `users` answer that says `more` holds the first part,
//! and the engine reads the rest with `who {room, after}` (the last name's
//! folded form), one page at a time, each paced and queued like a
//! [`Engine::refresh_users`], until a page says no more
//! (docs/protocol.md, "Long lists"). The whole list is then given as
//! [`Event::Users`]; for a `/who` the user typed, as its answer (one
//! `users` event with every name) and its confirmation.

use chat_protocol::{ClientEvent, Member, RoomName, ServerEvent};

use super::{Engine, Event, Pending};

/// A list being read page by page.
#[derive(Debug)]
pub(super) struct Paging {
    /// The room as the `who` names it (`None`: the default room).
    room: Option<String>,
    /// The names read so far.
    users: Vec<String>,
    /// The members read so far, beside them.
    members: Vec<Member>,
    /// The `/who` the user typed that this list answers, if one.
    typed: Option<Pending>,
}

impl Paging {
    /// A list whose first part is `users` and `members`, for `room`.
    pub(super) fn of(room: Option<&RoomName>, users: &[String], members: &[Member]) -> Self {
        Self {
            room: room.map(|r| r.as_str().to_owned()),
            users: users.to_vec(),
            members: members.to_vec(),
            typed: None,
        }
    }
}

impl Engine {
    /// Reads the rest of `paging`'s list: its next page is asked for now,
    /// or after the list being read, if one is.
    pub(super) fn read_more(&mut self, paging: Paging) {
        if self.refresh.is_some() {
            self.lists_waiting.push_back(paging);
            return;
        }
        let after = paging.users.last().map(|u| u.to_ascii_lowercase());
        let seq = self.submit(ClientEvent::Who {
            room: paging.room.clone(),
            after,
        });
        // Next, before the lines typed since: a `/who` typed before them
        // is answered before them.
        if let Some(page) = self.queue.pop_back() {
            self.queue.push_front(page);
        }
        self.refresh = Some(seq);
        self.paging = Some(paging);
    }

    /// Takes in a `users` answer to the silent `who` `asked` (a refresh, or
    /// a page of a list being read) or, with `more`, to a `/who` typed:
    /// `false` when it is neither (a typed `/who` whole, the caller's).
    pub(super) fn on_users(
        &mut self,
        asked: &mut Option<Pending>,
        answer: &ServerEvent,
        events: &mut Vec<Event>,
    ) -> bool {
        let ServerEvent::Users {
            room,
            users,
            members,
            more,
        } = answer
        else {
            return false;
        };
        let silent = asked.is_some() && asked.as_ref().map(|p| p.seq) == self.refresh;
        let mut paging = if silent {
            self.refresh = None;
            self.paging.take().unwrap_or_else(|| Paging {
                room: asked.as_ref().and_then(|p| match &p.event {
                    ClientEvent::Who { room, .. } => room.clone(),
                    _ => None,
                }),
                users: Vec::new(),
                members: Vec::new(),
                typed: None,
            })
        } else if *more {
            let typed = asked.take();
            Paging {
                room: typed.as_ref().and_then(|p| match &p.event {
                    ClientEvent::Who { room, .. } => room.clone(),
                    _ => None,
                }),
                users: Vec::new(),
                members: Vec::new(),
                typed,
            }
        } else {
            return false;
        };
        paging.users.extend(users.iter().cloned());
        paging.members.extend(members.iter().cloned());
        if *more {
            self.read_more(paging);
            return true;
        }
        let Paging {
            users,
            members,
            typed,
            ..
        } = paging;
        match typed {
            Some(typed) => {
                let event = ServerEvent::Users {
                    room: room.clone(),
                    users,
                    members,
                    more: false,
                };
                let raw = event.to_bytes();
                events.push(Event::Server { event, raw });
                events.push(Event::Confirmed(typed.seq));
            }
            None => events.push(Event::Users(room.clone(), users, members)),
        }
        if let Some(next) = self.lists_waiting.pop_front() {
            self.read_more(next);
        }
        true
    }

    /// A page refused (or lost with the link): the list is not read
    /// further (a typed `/who` is refused with it); the next one waiting
    /// is.
    pub(super) fn drop_paging(&mut self, events: &mut Vec<Event>) {
        if let Some(typed) = self.paging.take().and_then(|p| p.typed) {
            events.push(Event::Refused(typed.seq));
        }
        if let Some(next) = self.lists_waiting.pop_front() {
            self.read_more(next);
        }
    }
}
