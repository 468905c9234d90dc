//! The render model: what a server event shows, as structured lines (time,
//! kind, sender, text) that a front end draws its own way.
//!
//! Text here is as the peer sent it; the front end escapes it (through
//! [`crate::escape`]) when it draws, so that what is kept is what was said
//! and what is shown can never drive the terminal.

use chat_protocol::{HistoryEntry, ServerEvent, Welcome};

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
    /// A divider with a label (history/live, a gap).
    Divider,
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
}

impl Entry {
    /// A notice from the client or the server.
    pub fn notice(ts: Option<u64>, text: impl Into<String>) -> Self {
        Self {
            ts,
            kind: Kind::Notice,
            from: String::new(),
            text: text.into(),
            id: None,
        }
    }

    /// A divider labelled `label`.
    pub fn divider(label: impl Into<String>) -> Self {
        Self {
            ts: None,
            kind: Kind::Divider,
            from: String::new(),
            text: label.into(),
            id: None,
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
        }
    }
}

/// The lines `event` shows; none for events that show nothing in the pane
/// (a `Welcome` is drawn by [`welcome`], a `Reject` ends the join).
pub fn entries(event: &ServerEvent) -> Vec<Entry> {
    let one = |entry| vec![entry];
    match event {
        ServerEvent::Welcome(welcome) => self::welcome(welcome),
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
        }),
        ServerEvent::Join { name, online, ts } => one(Entry::notice(
            Some(*ts),
            format!("{name} joined ({online} online)"),
        )),
        ServerEvent::Leave {
            name,
            online,
            reason,
            ts,
        } => {
            let mut text = format!("{name} left ({online} online)");
            if let Some(reason) = crate::render::leave_reason(reason) {
                text.push_str(": ");
                text.push_str(reason);
            }
            one(Entry::notice(Some(*ts), text))
        }
        ServerEvent::Users { users } => {
            one(Entry::notice(None, format!("online: {}", users.join(", "))))
        }
        ServerEvent::Notice { text, ts } => {
            one(Entry::notice(Some(*ts), format!("notice: {text}")))
        }
        ServerEvent::Error { message, .. } => {
            one(Entry::notice(None, format!("refused: {message}")))
        }
        ServerEvent::Bye { code, reason } => one(Entry::notice(
            None,
            crate::render::disconnected(*code, reason),
        )),
        ServerEvent::Reject { .. } | ServerEvent::Unknown => Vec::new(),
    }
}

/// A welcome: who we are, the message of the day, then the history
/// between a "history" and a "live" divider.
pub fn welcome(welcome: &Welcome) -> Vec<Entry> {
    let mut out = vec![Entry::notice(
        None,
        format!(
            "joined as {} ({} online)",
            welcome.name,
            welcome.users.len()
        ),
    )];
    if let Some(motd) = welcome.motd.as_deref().filter(|m| !m.is_empty()) {
        out.push(Entry::notice(None, format!("motd: {motd}")));
    }
    if !welcome.history.is_empty() {
        out.push(Entry::divider("history"));
        out.extend(welcome.history.iter().map(Entry::message));
    }
    out.push(Entry::divider("live"));
    out
}

#[cfg(test)]
mod tests {
    use chat_protocol::RateLimit;

    use super::*;

    #[test]
    fn welcome_puts_history_between_dividers() {
        let welcome = Welcome {
            name: "ace".into(),
            users: vec!["ace".into(), "bob".into()],
            history: vec![HistoryEntry {
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
    fn leave_reasons_follow_the_name() {
        let leave = ServerEvent::Leave {
            name: "bob".into(),
            online: 1,
            reason: "\"bye\"".into(),
            ts: 5,
        };
        assert_eq!(entries(&leave)[0].text, "bob left (1 online): \"bye\"");
        let plain = ServerEvent::Leave {
            name: "bob".into(),
            online: 1,
            reason: "left".into(),
            ts: 5,
        };
        assert_eq!(
            entries(&plain)[0].text,
            "bob left (1 online)",
            "`left` once"
        );
    }
}
