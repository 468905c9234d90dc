//! What the engine's events do to the [`App`]: server events into the
//! pane of the buffer they belong to ([`super::buffer`]) and its member
//! list (what `/ignore` hides left out, and counted), lines confirmed or
//! refused, the link lost and joined again, the session ended. The rooms'
//! own events (a room joined, left, its topic) are in
//! [`super::room_events`].

use chat_protocol::{ClientEvent, ServerEvent};

use super::App;
use crate::engine::Event;
use crate::model::{self, Entry};

impl App {
    /// What the engine reported.
    pub fn on_engine(&mut self, event: Event) {
        let alerts = self.identities_in(&event);
        if let Event::Server { event, .. } = &event
            && self.ids.hides(event)
        {
            return;
        }
        match event {
            Event::Server { event, .. } => {
                // A leave the room was told of by a kick or ban, shorter.
                let event = self.ids.shown(&event).unwrap_or(event);
                let at = self.on_server(&event);
                // A room's welcome holds history: it does not ring.
                let history = matches!(event, ServerEvent::RoomJoined(_));
                // A goodbye is told by the `Lost` or `Ended` that follows.
                if !matches!(event, ServerEvent::Bye { .. }) {
                    let clock = self.clock.clone();
                    for entry in model::entries(&event, &|ts| clock.when(ts)) {
                        let at = self
                            .direct_place(&entry.kind, &entry.from)
                            .map_or(at, |place| self.open(place));
                        self.push_to(at, entry, history);
                    }
                }
            }
            Event::Users(room, users, _) => {
                if let Some(at) = self.find_room(room.as_ref()) {
                    self.buffers[at].set_users(&users);
                }
            }
            Event::Confirmed(seq) | Event::Refused(seq) => self.settle(seq),
            Event::Unknown(pending) => {
                self.settle(pending.seq);
                if let ClientEvent::Dm { to, .. } = &pending.event {
                    self.note(format!(
                        "a direct message to {to} may not have been delivered: the link dropped before the server answered (not sent again)"
                    ));
                } else if crate::input::moderates(&pending.event) {
                    self.note(
                        "a moderation you asked for may not have been done: the link dropped before the server answered (not sent again; /bans lists the bans)",
                    );
                }
            }
            Event::Lost(why) => {
                self.stale_since.get_or_insert(self.clock.now());
                self.note(format!("{why}; reconnecting"));
            }
            // Said once while it fails the same way; the status bar counts down.
            Event::RetryFailed(why) => {
                if self.last_retry_error.as_ref() != Some(&why) {
                    self.note(format!("reconnecting failed: {why}"));
                    self.last_retry_error = Some(why);
                }
            }
            Event::Rejoined { welcome, gap, url } => {
                self.last_retry_error = None;
                self.ended = None;
                self.secret = None;
                self.url = url;
                self.stale_since = None;
                self.me = welcome.name.clone();
                self.max_text = welcome.max_text;
                let lobby = &mut self.buffers[0];
                lobby.users_stale = false;
                lobby.set_users(&welcome.users);
                lobby.topic.clone_from(&welcome.topic);
                self.note(format!(
                    "rejoined as {} ({} online)",
                    welcome.name,
                    welcome.users.len()
                ));
                if gap {
                    self.push_to(
                        0,
                        Entry::notice(
                            None,
                            "some messages were missed while away (older than the server keeps)",
                        ),
                        false,
                    );
                }
                self.while_away(0, &welcome.history);
            }
            Event::RoomRejoined { joined, gap } => self.room_rejoined(joined, gap),
            Event::RoomLost(room, why) => self.room_lost(&room, &why),
            Event::Ended { failure, remedy } => self.on_ended(failure, remedy),
        }
        // After the event's own lines: a join, then what is wrong with it.
        for alert in alerts {
            self.push(model::alert(&alert), false);
        }
    }

    /// What `event` changes in the buffers (members, counts, topics, a
    /// room joined or left); the buffer its lines go to.
    fn on_server(&mut self, event: &ServerEvent) -> usize {
        let room = event.room();
        let room_at = self.find_room(room);
        match event {
            ServerEvent::Join { name, online, .. } => {
                if let Some(at) = room_at {
                    self.buffers[at].add_user(name);
                    self.buffers[at].online = *online;
                }
            }
            ServerEvent::Leave { name, online, .. } => {
                if let Some(at) = room_at {
                    self.buffers[at].remove_user(name);
                    self.buffers[at].online = *online;
                }
            }
            // Who joined and left is not said: the list is asked for
            // again (see `wants_users`).
            ServerEvent::Presence { online, .. } => {
                if let Some(at) = room_at {
                    self.buffers[at].online = *online;
                    self.buffers[at].users_stale = true;
                }
            }
            ServerEvent::Users { users, .. } => {
                if let Some(at) = room_at {
                    self.buffers[at].set_users(users);
                }
            }
            ServerEvent::RoomJoined(joined) => return self.room_joined(joined),
            ServerEvent::RoomParted { room, .. } => return self.room_parted(room),
            ServerEvent::Topic { text, .. } => {
                if let Some(at) = room_at {
                    self.buffers[at].topic = Some(text.clone()).filter(|t| !t.is_empty());
                }
            }
            _ => {}
        }
        // The events of the default room to its buffer, a room's to its
        // own, and what concerns no room where the user looks; so the
        // answer to a `/who` and a refusal (of what the user just did,
        // a rejoin's too, whose room may be closed next).
        match (room, room_at) {
            _ if matches!(event, ServerEvent::Users { .. } | ServerEvent::Error { .. }) => {
                self.current
            }
            (None, _) if is_the_default_rooms(event) => 0,
            (Some(_), Some(at)) => at,
            _ => self.current,
        }
    }

    /// Shows what a rejoin's history holds that was not shown yet, in
    /// buffer `at`, between a "while away" and a "live" divider.
    pub(super) fn while_away(&mut self, at: usize, history: &[chat_protocol::HistoryEntry]) {
        let history: Vec<_> = history
            .iter()
            .filter(|message| !self.ids.hides_from(&message.from))
            .collect();
        if !history.is_empty() {
            self.push_to(at, Entry::divider("while away"), true);
            for message in history {
                self.push_to(at, Entry::message(message), true);
            }
            self.push_to(at, Entry::divider("live"), true);
        }
    }
}

/// Whether `event`, without a `room`, is the default room's own (a
/// message, a join, a leave, a presence summary), which goes to its
/// buffer; anything else without a room is shown where the user looks.
fn is_the_default_rooms(event: &ServerEvent) -> bool {
    matches!(
        event,
        ServerEvent::Message(_)
            | ServerEvent::Join { .. }
            | ServerEvent::Leave { .. }
            | ServerEvent::Presence { .. }
    )
}
