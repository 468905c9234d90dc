//! The render model: what a server event shows, as structured lines (time,
//! kind, sender, text spans) that every front end draws its own way: the
//! full screen ([`crate::tui`]) and the line mode ([`crate::render`]). The
//! wording of each kind of event lives here, once for both.
//!
//! Text here is as the peer sent it; the front end escapes it (through
//! [`crate::escape`]) when it draws, so that what is kept is what was said
//! and what is shown can never drive the terminal. An entry's [`Span`]s say
//! how: a peer's text may run over several lines (the line mode indents
//! the ones after the first), a field a peer controls (a name, a reason)
//! stays on its line (a newline in it is escaped, not a line break).
//!
//! `--json` does not go through the model: it prints the protocol's own
//! event, every field as the server sent it (`id`, `cid`, an error's
//! `code`, events this client does not know), while the model is a
//! drawing, in words, that keeps only what is shown.

mod moderation;
mod notices;
mod rooms;

use std::ops::Range;

use chat_protocol::{HistoryEntry, RoomName, ServerEvent, Welcome};

pub use self::moderation::banned;
pub use self::notices::{alert, disconnected, error};

/// How a front end shows a time a moderation event names (the end of a
/// ban or mute, when a ban began), in Unix milliseconds: the time alone
/// when it is today, with the date otherwise. The full screen shows it
/// with its clock (`time_format`), the line mode in local `HH:MM`.
pub type When<'a> = &'a dyn Fn(u64) -> String;

/// What a line is, which decides how it looks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A public message.
    Message,
    /// An action (`/me`): `* ace waves`.
    Action,
    /// A direct message to `to`.
    Dm {
        /// The addressee.
        to: String,
    },
    /// Something the server or the client says (`-!-`).
    Notice,
    /// An admin's notice (`chatctl say`): a notice that the line mode
    /// stamps with its time, as it does every message.
    AdminNotice,
    /// A divider with a label (history/live, a gap). The line mode draws
    /// none.
    Divider,
    /// Something the user must not miss (a name back with another
    /// identity): drawn to stand out, and on stderr in the line mode.
    Warning,
}

/// Which front end the lines are for. Both show every event in the same
/// words; the welcome differs by what the full screen shows elsewhere.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Front {
    /// The full screen, whose user list beside the pane says who is
    /// online: the welcome gives only how many.
    Screen,
    /// The line mode, with no user list: the welcome lists who is online.
    Lines,
}

/// One line of the message pane (its text may hold several lines).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Server time in Unix milliseconds, where the event has one.
    pub ts: Option<u64>,
    /// What it is.
    pub kind: Kind,
    /// The sender (empty for notices and dividers).
    pub from: String,
    /// The text, unescaped; `\n` separates its lines.
    pub text: String,
    /// The message id, for messages.
    pub id: Option<u64>,
    /// The room of a message or action, when not the default room: the
    /// line mode draws it (`[12:00:00] #ops <ace> hi`); the full screen
    /// shows the room's messages in the room's own pane.
    pub room: Option<RoomName>,
    /// The byte ranges of `text` that are fields a peer controls (names,
    /// reasons) in a notice's wording, in order; see [`Entry::spans`].
    pub fields: Vec<Range<usize>>,
}

/// A piece of an entry's text, which says how a front end escapes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Span<'a> {
    /// Text that may run over several lines (a message, a notice, the
    /// message of the day, and our own wording around the fields).
    Text(&'a str),
    /// A field a peer controls (a name, a reason) that stays on the line
    /// it is in.
    Field(&'a str),
}

impl Entry {
    /// A notice from the client or the server.
    pub fn notice(ts: Option<u64>, text: impl Into<String>) -> Self {
        Wording::default().say(&text.into()).notice(ts)
    }

    /// A divider labelled `label`.
    pub fn divider(label: impl Into<String>) -> Self {
        Self {
            ts: None,
            kind: Kind::Divider,
            from: String::new(),
            text: label.into(),
            id: None,
            room: None,
            fields: Vec::new(),
        }
    }

    /// A public message or action.
    pub fn message(message: &HistoryEntry) -> Self {
        Self {
            ts: Some(message.ts),
            kind: if message.action {
                Kind::Action
            } else {
                Kind::Message
            },
            from: message.from.clone(),
            text: message.text.clone(),
            id: Some(message.id),
            room: message.room.clone(),
            fields: Vec::new(),
        }
    }

    /// The text in spans: the fields, and the text between them (one span
    /// of text, maybe empty, when there is no field).
    pub fn spans(&self) -> Vec<Span<'_>> {
        let mut spans = Vec::with_capacity(self.fields.len() * 2 + 1);
        let mut at = 0;
        for field in &self.fields {
            if field.start > at {
                spans.push(Span::Text(&self.text[at..field.start]));
            }
            spans.push(Span::Field(&self.text[field.clone()]));
            at = field.end;
        }
        if at < self.text.len() || spans.is_empty() {
            spans.push(Span::Text(&self.text[at..]));
        }
        spans
    }
}

/// A notice's text as it is built: our words and the peer's fields.
#[derive(Default)]
struct Wording {
    text: String,
    fields: Vec<Range<usize>>,
}

impl Wording {
    /// Our words, or a peer's text that may run over several lines.
    fn say(mut self, words: &str) -> Self {
        self.text.push_str(words);
        self
    }

    /// A field a peer controls, kept on its line.
    fn field(mut self, field: &str) -> Self {
        let start = self.text.len();
        self.text.push_str(field);
        self.fields.push(start..self.text.len());
        self
    }

    fn notice(self, ts: Option<u64>) -> Entry {
        self.entry(ts, Kind::Notice)
    }

    fn entry(self, ts: Option<u64>, kind: Kind) -> Entry {
        Entry {
            ts,
            kind,
            from: String::new(),
            text: self.text,
            id: None,
            room: None,
            fields: self.fields,
        }
    }
}

/// The lines `event` shows on the full screen; see [`Front::entries`].
pub fn entries(event: &ServerEvent, when: When) -> Vec<Entry> {
    Front::Screen.entries(event, when)
}

/// A welcome on the full screen; see [`Front::welcome`].
pub fn welcome(welcome: &Welcome) -> Vec<Entry> {
    Front::Screen.welcome(welcome)
}

impl Front {
    /// The lines `event` shows; none for events that show nothing (a
    /// `Reject` ends the join, and an event this client does not know
    /// has no words). `when` shows the times of moderation.
    pub fn entries(self, event: &ServerEvent, when: When) -> Vec<Entry> {
        let one = |entry| vec![entry];
        match event {
            ServerEvent::Welcome(welcome) => self.welcome(welcome),
            ServerEvent::Message(message) => one(Entry::message(message)),
            ServerEvent::Dm {
                id,
                from,
                to,
                text,
                ts,
                ..
            } => one(Entry {
                ts: Some(*ts),
                kind: Kind::Dm { to: to.clone() },
                from: from.clone(),
                text: text.clone(),
                id: Some(*id),
                room: None,
                fields: Vec::new(),
            }),
            ServerEvent::Join {
                room,
                name,
                online,
                ts,
                ..
            } => one(Wording::default()
                .field(name)
                .say(&format!(
                    " joined{} ({online} online)",
                    rooms::in_room(room)
                ))
                .notice(Some(*ts))),
            ServerEvent::Leave {
                room,
                name,
                online,
                reason,
                ts,
            } => {
                let mut text = Wording::default()
                    .field(name)
                    .say(&format!(" left{} ({online} online)", rooms::in_room(room)));
                if let Some(reason) = leave_reason(reason) {
                    text = text.say(": ").field(reason);
                }
                one(text.notice(Some(*ts)))
            }
            ServerEvent::Presence {
                room,
                joined,
                left,
                online,
                ts,
            } => one(Wording::default()
                .say(&rooms::prefix(room))
                .say(&presence(*joined, *left, *online))
                .notice(Some(*ts))),
            ServerEvent::Users {
                room, users, more, ..
            } => one(online(room.as_ref(), users, *more)),
            ServerEvent::Identities { keys, .. } => one(identities(keys)),
            ServerEvent::Notice { room, text, ts } => {
                let to = room
                    .as_ref()
                    .map_or_else(String::new, |r| format!(" to {r}"));
                one(Wording::default()
                    .say(&format!("notice{to}: "))
                    .say(text)
                    .entry(Some(*ts), Kind::AdminNotice))
            }
            ServerEvent::Moderation {
                room,
                action,
                target,
                by,
                until,
                reason,
                ts,
            } => one(moderation::told(
                *action,
                target,
                by.as_deref(),
                room.as_ref(),
                *until,
                reason.as_deref(),
                *ts,
            )),
            ServerEvent::RoomJoined(joined) => rooms::joined(self, joined),
            ServerEvent::RoomParted { room, reason } => one(rooms::parted(room, reason.as_deref())),
            ServerEvent::Rooms { rooms } => rooms::list(rooms),
            ServerEvent::Topic {
                room, text, by, ts, ..
            } => one(rooms::topic(room, text, by.as_deref(), *ts)),
            ServerEvent::Bans { bans } => moderation::bans(self, bans, when),
            ServerEvent::Error {
                code,
                message,
                until,
                ..
            } => one(error(*code, message, *until, when)),
            ServerEvent::Bye {
                code,
                reason,
                until,
            } => one(disconnected(*code, reason, *until, when)),
            ServerEvent::Reject { .. } | ServerEvent::Unknown => Vec::new(),
        }
    }

    /// A welcome: who we are (and who is online, or how many), the message
    /// of the day, then the history between a "history" and a "live"
    /// divider.
    pub fn welcome(self, welcome: &Welcome) -> Vec<Entry> {
        let mut joined = Wording::default().say("joined as ").field(&welcome.name);
        if let Some(room) = &welcome.default_room {
            joined = joined.say(&format!(" in {room}"));
        }
        let mut out = match self {
            Self::Screen => vec![
                joined
                    .say(&format!(
                        " ({} online)",
                        count(&welcome.users, welcome.more)
                    ))
                    .notice(None),
            ],
            Self::Lines => vec![
                joined.notice(None),
                online(None, &welcome.users, welcome.more),
            ],
        };
        if let Some(motd) = welcome.motd.as_deref().filter(|m| !m.is_empty()) {
            out.push(Wording::default().say("motd: ").say(motd).notice(None));
        }
        if let Some(topic) = welcome.topic.as_deref().filter(|t| !t.is_empty()) {
            out.push(rooms::topic_line(topic));
        }
        if !welcome.history.is_empty() {
            out.push(Entry::divider("history"));
            out.extend(welcome.history.iter().map(Entry::message));
        }
        out.push(Entry::divider("live"));
        out
    }
}

/// The keys of our name, after `/identity add` or `remove`.
fn identities(keys: &[chat_protocol::IdentityKey]) -> Entry {
    let list: Vec<String> = keys
        .iter()
        .map(|key| format!("{} ({key})", key.fingerprint()))
        .collect();
    Wording::default()
        .say(&format!(
            "identities registered to your name now: {}",
            if list.is_empty() {
                "none".to_owned()
            } else {
                list.join(", ")
            }
        ))
        .notice(None)
}

/// Who is online: `online: ace, bob`; in a room, `online in #ops: ace,
/// bob`.
/// How many are online, as a list says it: `3`, or `3000+` for the first
/// part of a list that goes on (`more`: the client reads the rest).
fn count(users: &[String], more: bool) -> String {
    if more {
        format!("{}+", users.len())
    } else {
        users.len().to_string()
    }
}

/// Who is online (in `room`); the first part of a list that goes on
/// (`more`) ends with `…`: the whole list follows once read.
fn online(room: Option<&RoomName>, users: &[String], more: bool) -> Entry {
    let mut text = match room {
        Some(room) => Wording::default().say(&format!("online in {room}: ")),
        None => Wording::default().say("online: "),
    };
    for (i, user) in users.iter().enumerate() {
        if i > 0 {
            text = text.say(", ");
        }
        text = text.field(user);
    }
    if more {
        text = text.say(", …");
    }
    text.notice(None)
}

/// A summary of joins and leaves: `12 joined, 3 left (1004 online)`, a
/// count of 0 left out (`12 joined (1004 online)`).
fn presence(joined: usize, left: usize, online: usize) -> String {
    let counts: Vec<String> = [(joined, "joined"), (left, "left")]
        .into_iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, what)| format!("{n} {what}"))
        .collect();
    if counts.is_empty() {
        format!("{online} online")
    } else {
        format!("{} ({online} online)", counts.join(", "))
    }
}

/// The reason a leave is shown with, if any: the server's plain `left`
/// (the user simply left) adds nothing to "ace left", so it is not
/// repeated; every other reason (`left: "…"`, a kick, `too slow`) is.
fn leave_reason(reason: &str) -> Option<&str> {
    (!reason.is_empty() && reason != "left").then_some(reason)
}

#[cfg(test)]
mod tests {
    use chat_protocol::RateLimit;

    use super::*;

    #[test]
    fn welcome_puts_history_between_dividers() {
        let welcome = Welcome {
            default_room: None,
            rooms: Vec::new(),
            topic: None,
            name: "ace".into(),
            users: vec!["ace".into(), "bob".into()],
            members: Vec::new(),
            more: false,
            history: vec![HistoryEntry {
                room: None,
                id: 3,
                from: "bob".into(),
                text: "morning".into(),
                ts: 1,
                action: false,
                cid: None,
            }],
            motd: None,
            rate: RateLimit {
                burst: 10,
                per_second: 5,
            },
            max_text: 4096,
            server: String::new(),
            gap: false,
            resumed: false,
            last_id: None,
        };
        let kinds: Vec<_> = self::welcome(&welcome)
            .into_iter()
            .map(|e| e.kind)
            .collect();
        assert_eq!(
            kinds,
            [Kind::Notice, Kind::Divider, Kind::Message, Kind::Divider]
        );
    }

    #[test]
    fn a_presence_summary_leaves_out_a_count_of_zero() {
        let text = |joined, left| {
            let event = ServerEvent::Presence {
                room: None,
                joined,
                left,
                online: 1004,
                ts: 5,
            };
            let entries = entries(&event, &crate::render::when);
            assert_eq!(entries.len(), 1);
            assert_eq!(entries[0].kind, Kind::Notice);
            assert_eq!(entries[0].ts, Some(5));
            entries[0].text.clone()
        };
        assert_eq!(text(12, 3), "12 joined, 3 left (1004 online)");
        assert_eq!(text(12, 0), "12 joined (1004 online)");
        assert_eq!(text(0, 3), "3 left (1004 online)");
        assert_eq!(text(0, 0), "1004 online");
    }

    #[test]
    fn leave_reasons_follow_the_name() {
        let leave = ServerEvent::Leave {
            room: None,
            name: "bob".into(),
            online: 1,
            reason: "\"bye\"".into(),
            ts: 5,
        };
        assert_eq!(
            entries(&leave, &crate::render::when)[0].text,
            "bob left (1 online): \"bye\""
        );
        let plain = ServerEvent::Leave {
            room: None,
            name: "bob".into(),
            online: 1,
            reason: "left".into(),
            ts: 5,
        };
        assert_eq!(
            entries(&plain, &crate::render::when)[0].text,
            "bob left (1 online)",
            "`left` once"
        );
    }
}
