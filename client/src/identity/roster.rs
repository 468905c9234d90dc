//! Who is online with which identity, in this session, checked against the
//! [`KnownNames`] record: what the `✓` in the user list, `/whois` and the
//! warnings about a changed key come from. Both front ends feed it the
//! server's events and show what it returns. It also knows who is an
//! operator (the `@` of the user list), and what the user [`Ignored`]:
//! whether a message is hidden, by its sender's identity where the sender
//! has one.
//!
//! Only a server that sends `members` (in its `welcome`) says who proved
//! an identity; from an older server nothing is recorded and nothing is
//! warned about: a missing identity there says nothing.

use std::collections::HashMap;

use chat_protocol::{IdentityKey, Member, ModerationAction, ServerEvent, Welcome};

use super::known::{KnownNames, Seen};
use crate::escape::one_line;
use crate::ignore::Ignored;

/// Something the user must be told, prominently.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Alert {
    /// `name` has an identity this client has not seen for it on this
    /// server; `before` are the ones it had.
    NewKey {
        /// The name.
        name: String,
        /// Its identity now.
        key: IdentityKey,
        /// The ones recorded before.
        before: Vec<IdentityKey>,
    },
    /// `name` has no identity, and had one here before.
    NoKey {
        /// The name.
        name: String,
        /// The ones recorded before.
        before: Vec<IdentityKey>,
    },
    /// The record could not be written (said once).
    Unsaved(String),
}

/// One user online.
struct Online {
    /// The identity the server says the user proved.
    key: Option<IdentityKey>,
    /// Whether the user is an operator of the room.
    op: bool,
}

/// This session's view of identities.
pub struct Roster {
    /// Online, by lowercase name.
    online: HashMap<String, Online>,
    /// The names ignored here, and how many of their messages were hidden.
    pub ignored: Ignored,
    /// Names (lowercase) a kick or ban just removed: their `leave` is
    /// shown without the reason the room was told already.
    removed: Vec<String>,
    /// Whether the server says who proved an identity.
    identities: bool,
    /// Our own name, whose sightings warn no one.
    me: String,
    known: KnownNames,
    unsaved_told: bool,
    /// What the user should be told at the start (see [`Roster::tell`]).
    notes: Vec<String>,
    /// The time now, in Unix ms (fixed in tests).
    now: fn() -> u64,
}

impl Roster {
    /// A roster that checks names against `known`.
    pub fn new(known: KnownNames) -> Self {
        Self {
            online: HashMap::new(),
            ignored: Ignored::in_memory(),
            removed: Vec::new(),
            identities: false,
            me: String::new(),
            known,
            unsaved_told: false,
            notes: Vec::new(),
            now: chat_protocol::clock::now_ms,
        }
    }

    /// A roster that remembers nothing beyond this run (tests, or no place
    /// for the record).
    pub fn in_memory() -> Self {
        Self::new(KnownNames::in_memory())
    }

    /// Takes `ignored` as the list of names ignored.
    pub fn with_ignored(mut self, ignored: Ignored) -> Self {
        self.ignored = ignored;
        self
    }

    /// Sets the clock (tests).
    #[cfg(test)]
    pub fn with_clock(mut self, now: fn() -> u64) -> Self {
        self.now = now;
        self
    }

    /// Keeps `note` for the front end to show at the start (the full
    /// screen hides what was said on stderr before it).
    pub fn tell(&mut self, note: String) {
        self.notes.push(note);
    }

    /// The notes kept by [`Roster::tell`], once.
    pub fn take_notes(&mut self) -> Vec<String> {
        std::mem::take(&mut self.notes)
    }

    /// A `welcome` (the first, or a rejoin's): who is online now.
    pub fn welcome(&mut self, welcome: &Welcome) -> Vec<Alert> {
        self.me = welcome.name.clone();
        self.identities = !welcome.members.is_empty();
        self.users(&welcome.users, &welcome.members)
    }

    /// Who is online, from a `welcome` or a `users` answer.
    pub fn users(&mut self, users: &[String], members: &[Member]) -> Vec<Alert> {
        self.online.clear();
        self.identities |= !members.is_empty();
        let mut alerts = Vec::new();
        if members.is_empty() {
            for name in users {
                self.online.insert(
                    name.to_ascii_lowercase(),
                    Online {
                        key: None,
                        op: false,
                    },
                );
            }
        } else {
            for member in members {
                alerts.extend(self.saw(&member.name, member.identity, member.op));
            }
        }
        alerts.extend(self.flush());
        alerts
    }

    /// What a server event changes: joins, leaves, the `users` answer,
    /// operators made and unmade. Only the default room's joins, leaves
    /// and lists say who is online (everyone is in it); another room's
    /// say who is in that room, which the front end keeps.
    pub fn event(&mut self, event: &ServerEvent) -> Vec<Alert> {
        if matches!(
            event,
            ServerEvent::Join { room: Some(_), .. }
                | ServerEvent::Leave { room: Some(_), .. }
                | ServerEvent::Users { room: Some(_), .. }
        ) {
            return Vec::new();
        }
        match event {
            ServerEvent::Welcome(welcome) => self.welcome(welcome),
            ServerEvent::Users { users, members, .. } => self.users(users, members),
            ServerEvent::Join {
                name, identity, op, ..
            } => {
                let mut alerts: Vec<Alert> = self.saw(name, *identity, *op).into_iter().collect();
                alerts.extend(self.flush());
                alerts
            }
            ServerEvent::Leave { name, .. } => {
                self.online.remove(&name.to_ascii_lowercase());
                Vec::new()
            }
            ServerEvent::Moderation { action, target, .. } => {
                if let Some(user) = self.online.get_mut(&target.to_ascii_lowercase()) {
                    match action {
                        ModerationAction::Op => user.op = true,
                        ModerationAction::Deop => user.op = false,
                        _ => {}
                    }
                }
                Vec::new()
            }
            _ => Vec::new(),
        }
    }

    /// `event` as a front end shows it, when that differs: the `leave`
    /// of a user the room was just told was kicked or banned, without the
    /// reason it already read. Call it for every server event.
    pub fn shown(&mut self, event: &ServerEvent) -> Option<ServerEvent> {
        match event {
            ServerEvent::Moderation {
                action: ModerationAction::Kick | ModerationAction::Ban,
                target,
                ..
            } if self.online.contains_key(&target.to_ascii_lowercase()) => {
                if self.removed.len() >= 16 {
                    self.removed.remove(0);
                }
                self.removed.push(target.to_ascii_lowercase());
                None
            }
            ServerEvent::Leave {
                room,
                name,
                online,
                ts,
                ..
            } => {
                let at = self
                    .removed
                    .iter()
                    .position(|n| n.eq_ignore_ascii_case(name))?;
                // Told in every room the user was in, the default room's
                // last: that one ends it.
                if room.is_none() {
                    self.removed.remove(at);
                }
                Some(ServerEvent::Leave {
                    room: room.clone(),
                    name: name.clone(),
                    online: *online,
                    reason: String::new(),
                    ts: *ts,
                })
            }
            ServerEvent::Join { name, .. } => {
                self.removed.retain(|n| !n.eq_ignore_ascii_case(name));
                None
            }
            _ => None,
        }
    }

    /// Whether `event` is a message from someone ignored (counted if so):
    /// a public message, action or direct message, not our own.
    pub fn hides(&mut self, event: &ServerEvent) -> bool {
        match event {
            ServerEvent::Message(message) => self.hides_from(&message.from),
            ServerEvent::Dm { from, .. } => self.hides_from(from),
            _ => false,
        }
    }

    /// Whether a message from `name` is hidden (counted if so).
    pub fn hides_from(&mut self, name: &str) -> bool {
        if name.eq_ignore_ascii_case(&self.me) {
            return false;
        }
        let key = self.key_of(name);
        self.ignored.hides(name, key.as_ref())
    }

    /// `/ignore NAME`: by the identity NAME has now, if any.
    pub fn ignore(&mut self, name: &str) -> Result<String, String> {
        if name.eq_ignore_ascii_case(&self.me) {
            return Err("you cannot ignore yourself".into());
        }
        let key = self.key_of(name);
        self.ignored.add(name, key)
    }

    /// `/unignore NAME`.
    pub fn unignore(&mut self, name: &str) -> Result<String, String> {
        let key = self.key_of(name);
        self.ignored.remove(name, key)
    }

    /// The identity `name` proved, if online with one.
    fn key_of(&self, name: &str) -> Option<IdentityKey> {
        self.online
            .get(&name.to_ascii_lowercase())
            .and_then(|user| user.key)
    }

    /// Whether `name` is online as an operator of the room.
    pub fn operator(&self, name: &str) -> bool {
        self.online
            .get(&name.to_ascii_lowercase())
            .is_some_and(|user| user.op)
    }

    /// Whether anyone online is an operator (the user list then makes
    /// room for the mark).
    pub fn any_operator(&self) -> bool {
        self.online.values().any(|user| user.op)
    }

    fn saw(&mut self, name: &str, key: Option<IdentityKey>, op: bool) -> Option<Alert> {
        self.online
            .insert(name.to_ascii_lowercase(), Online { key, op });
        if !self.identities {
            return None;
        }
        let seen = self.known.saw(name, key, (self.now)());
        if name.eq_ignore_ascii_case(&self.me) {
            return None;
        }
        match (seen, key) {
            (Seen::NewKey { before }, Some(key)) => Some(Alert::NewKey {
                name: name.to_owned(),
                key,
                before,
            }),
            (Seen::NoKey { before }, _) => Some(Alert::NoKey {
                name: name.to_owned(),
                before,
            }),
            _ => None,
        }
    }

    fn flush(&mut self) -> Option<Alert> {
        let err = self.known.flush().err()?;
        (!std::mem::replace(&mut self.unsaved_told, true)).then_some(Alert::Unsaved(err))
    }

    /// Whether `name` is online with an identity the server verified.
    pub fn verified(&self, name: &str) -> bool {
        self.online
            .get(&name.to_ascii_lowercase())
            .is_some_and(|user| user.key.is_some())
    }

    /// What `/whois NAME` shows in the line client: whether the name is
    /// online and with which identity, then every key this client has seen
    /// for it on this server, with when.
    pub fn whois(&self, name: &str) -> Vec<String> {
        let shown = one_line(name);
        let first = match self.identity_of(name) {
            Some(identity) => format!("{shown}: online, {identity}"),
            None => format!("{shown}: not online"),
        };
        std::iter::once(first).chain(self.seen(name)).collect()
    }

    /// What the full screen's `/whois NAME` adds to its own line (which
    /// says whether the name is online): its identity, if online on a
    /// server that shows identities, and the keys this client has seen for
    /// it, if any (nothing at all where there is nothing to say).
    pub fn identity_lines(&self, name: &str) -> Vec<String> {
        let shown = one_line(name);
        let identity = self
            .identity_of(name)
            .filter(|_| self.identities)
            .map(|identity| format!("{shown}: {identity}"));
        let seen = if self.known.keys(name).is_empty() {
            Vec::new()
        } else {
            self.seen(name)
        };
        identity.into_iter().chain(seen).collect()
    }

    /// The identity of `name`, in words, if it is online.
    fn identity_of(&self, name: &str) -> Option<String> {
        let user = self.online.get(&name.to_ascii_lowercase())?;
        Some(match user.key {
            Some(key) => format!(
                "identity {} ({key}), verified by the server",
                key.fingerprint()
            ),
            None if self.identities => "no identity".into(),
            None => "this server does not show identities".into(),
        })
    }

    /// The keys this client has seen for `name` on this server, with when.
    fn seen(&self, name: &str) -> Vec<String> {
        let shown = one_line(name);
        let keys = self.known.keys(name);
        if keys.is_empty() {
            return vec![format!(
                "  this client has seen no identity for {shown} on this server"
            )];
        }
        let mut lines = vec![format!(
            "  identities this client has seen for {shown} on this server:"
        )];
        for (key, record) in keys {
            lines.push(format!(
                "  {} ({key}): first seen {}, last seen {}",
                key.fingerprint(),
                crate::render::date(record.first),
                crate::render::date(record.last)
            ));
        }
        lines
    }
}

/// The fingerprints of `keys`, as a list for a sentence.
pub fn fingerprints(keys: &[IdentityKey]) -> String {
    keys.iter()
        .map(|key| key.fingerprint().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests;
