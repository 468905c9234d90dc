//! What the engine's events do to the [`App`]: server events into the
//! pane and the user list, lines confirmed or refused, the link lost and
//! joined again, the session ended.

use chat_protocol::{ClientEvent, ServerEvent};

use super::App;
use crate::engine::Event;
use crate::model::{self, Entry};

impl App {
    /// What the engine reported.
    pub fn on_engine(&mut self, event: Event) {
        let alerts = self.identities_in(&event);
        match event {
            Event::Server { event, .. } => {
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
                    for entry in model::entries(&event) {
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
                if !welcome.history.is_empty() {
                    self.push(Entry::divider("while away"), true);
                    for message in &welcome.history {
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
