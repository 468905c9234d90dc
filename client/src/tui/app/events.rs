//! What the engine's events do to the [`App`]: server events into the
//! pane and the user list (what `/ignore` hides left out, and counted),
//! lines confirmed or refused, the link lost and joined again, the
//! session ended.

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
                match &event {
                    ServerEvent::Join { name, online, .. } => {
                        let mut users = self.users.clone();
                        users.push(name.clone());
                        self.set_users(&users);
                        self.online = *online;
                    }
                    ServerEvent::Leave { name, online, .. } => {
                        let users: Vec<_> = self
                            .users
                            .iter()
                            .filter(|u| !u.eq_ignore_ascii_case(name))
                            .cloned()
                            .collect();
                        self.set_users(&users);
                        self.online = *online;
                    }
                    // Who joined and left is not said: the list is asked
                    // for again (see `wants_users`).
                    ServerEvent::Presence { online, .. } => {
                        self.online = *online;
                        self.users_stale = true;
                    }
                    ServerEvent::Users { users, .. } => self.set_users(users),
                    _ => {}
                }
                // A goodbye is told by the `Lost` or `Ended` that follows.
                if !matches!(event, ServerEvent::Bye { .. }) {
                    let clock = self.clock.clone();
                    for entry in model::entries(&event, &|ts| clock.when(ts)) {
                        self.push(entry, false);
                    }
                }
            }
            Event::Users(users, _) => self.set_users(&users),
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
                self.users_stale = false;
                self.me = welcome.name.clone();
                self.max_text = welcome.max_text;
                self.set_users(&welcome.users);
                self.note(format!(
                    "rejoined as {} ({} online)",
                    welcome.name,
                    welcome.users.len()
                ));
                if gap {
                    self.note("some messages were missed while away (older than the server keeps)");
                }
                let history: Vec<_> = welcome
                    .history
                    .iter()
                    .filter(|message| !self.ids.hides_from(&message.from))
                    .collect();
                if !history.is_empty() {
                    self.push(Entry::divider("while away"), true);
                    for message in history {
                        self.push(Entry::message(message), true);
                    }
                    self.push(Entry::divider("live"), true);
                }
            }
            Event::Ended { failure, remedy } => self.on_ended(failure, remedy),
        }
        // After the event's own lines: a join, then what is wrong with it.
        for alert in alerts {
            self.push(model::alert(&alert), false);
        }
    }
}
