//! What rooms add to the events (docs/protocol.md §10.8): a room's name
//! ([`RoomName`]), a room's welcome ([`RoomJoined`]), a line of the
//! `rooms` list ([`RoomInfo`]) and the rules of a topic.
//!
//! A session is always in the server's default room (the `Welcome`'s
//! `default_room`), which it cannot leave, and in the other rooms it
//! joined. Every room-scoped event carries `room`; absent, it means the
//! default room, so a client that knows nothing of rooms lives in the
//! default room alone and sees exactly what it saw before rooms existed.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::event::code::ErrorCode;
use crate::event::{HistoryEntry, Member};

/// The longest room name after its `#`, in bytes.
pub const MAX_ROOM_NAME: usize = 32;

/// The longest topic, in bytes.
pub const MAX_TOPIC: usize = 300;

/// A room's name, as the protocol writes it: `#` and 1–32 of
/// `a-z 0-9 _ . -`, the first a letter or a digit. Upper-case letters are
/// folded to lower case when a name is read ([`RoomName::parse`]), so
/// `#Ops` and `#ops` are one room, always written `#ops`.
///
/// Where a name becomes a file name or a NATS subject token, it is
/// written in hex ([`RoomName::to_hex`]): the bytes of the whole name,
/// `#` included, in lowercase hex (`#ops` is `236f7073`), which no
/// filesystem or subject syntax reads as anything but a name.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RoomName(String);

/// Why a text is not a room's name; its `Display` says what one is.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RoomNameError {
    /// No `#` first.
    #[error("{0:?} is not a room: a room's name starts with # (like #ops)")]
    NoHash(String),
    /// Nothing after the `#`, or more than [`MAX_ROOM_NAME`] bytes.
    #[error("{0:?} is not a room: a room's name is # and 1 to 32 of a-z 0-9 _ . -")]
    Length(String),
    /// A character outside `a-z 0-9 _ . -` (after folding), or a first
    /// one that is not a letter or a digit.
    #[error(
        "{0:?} is not a room: a room's name is # and 1 to 32 of a-z 0-9 _ . -, the first a letter or digit"
    )]
    Character(String),
    /// Hex that is not a room's name in hex (a file or subject not ours).
    #[error("{0:?} is not a room's name in hex")]
    Hex(String),
}

impl RoomName {
    /// Reads a room's name, folding ASCII upper case to lower case (see
    /// the type's documentation).
    pub fn parse(text: &str) -> Result<Self, RoomNameError> {
        let Some(rest) = text.strip_prefix('#') else {
            return Err(RoomNameError::NoHash(text.to_owned()));
        };
        if rest.is_empty() || rest.len() > MAX_ROOM_NAME {
            return Err(RoomNameError::Length(text.to_owned()));
        }
        let folded = rest.to_ascii_lowercase();
        let allowed = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
        let first_ok = folded.bytes().next().is_some_and(allowed);
        let rest_ok = folded
            .bytes()
            .all(|b| allowed(b) || matches!(b, b'_' | b'.' | b'-'));
        if !(first_ok && rest_ok) {
            return Err(RoomNameError::Character(text.to_owned()));
        }
        Ok(Self(format!("#{folded}")))
    }

    /// The name as the protocol writes it (`#ops`).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name without its `#` (`ops`).
    pub fn bare(&self) -> &str {
        &self.0[1..]
    }

    /// The name in lowercase hex, `#` included: a file name or a NATS
    /// subject token that is always safe (`#ops` → `236f7073`).
    pub fn to_hex(&self) -> String {
        crate::hex::encode(self.0.as_bytes())
    }

    /// Reads back what [`RoomName::to_hex`] wrote; only a valid name in
    /// its one form (lowercase hex of a folded name) is read.
    pub fn from_hex(hex: &str) -> Result<Self, RoomNameError> {
        let bad = || RoomNameError::Hex(hex.to_owned());
        let bytes = crate::hex::decode(hex).ok_or_else(bad)?;
        let text = String::from_utf8(bytes).map_err(|_| bad())?;
        let name = Self::parse(&text).map_err(|_| bad())?;
        if name.0 != text || name.to_hex() != hex {
            return Err(bad());
        }
        Ok(name)
    }
}

impl fmt::Display for RoomName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for RoomName {
    type Err = RoomNameError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text)
    }
}

impl AsRef<str> for RoomName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Serialize for RoomName {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for RoomName {
    /// A server event's `room` is read as a room's name (folded): one that
    /// is not makes the event unreadable. Client events carry rooms as
    /// plain strings instead, so that the server can answer a bad one with
    /// `room_invalid` rather than `bad_event`.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// The answer to `join_room`: the room's welcome, as the `Welcome` is the
/// default room's. On the wire, `{"type":"room_joined","room":…}`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct RoomJoined {
    /// The room (its name folded, as the server keeps it).
    pub room: RoomName,
    /// The room's topic; absent when it has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    /// Whether the room is private (joinable by invitation only).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub private: bool,
    /// The room's members online, this client included, sorted
    /// case-insensitively.
    pub users: Vec<String>,
    /// The same members with their identities and marks, in the order of
    /// `users` (see [`crate::event::Welcome::members`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<Member>,
    /// As the `Welcome`'s: the lists stop before the end; `who` with the
    /// `room` and `after` gives the rest.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub more: bool,
    /// The room's recent messages, oldest first (each with its `room`);
    /// after a resume (`join_room`'s `after`), the messages after that id.
    #[serde(default)]
    pub history: Vec<HistoryEntry>,
    /// As the `Welcome`'s: some messages after `after` are not in
    /// `history`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub gap: bool,
    /// As the `Welcome`'s: the server honoured `after`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub resumed: bool,
    /// The id of the last message of this room's log at this join (0:
    /// none yet): a client resumes the room after it, or after a later
    /// message of the room it received.
    pub last_id: u64,
}

/// One room of the `rooms` answer.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct RoomInfo {
    /// The room.
    pub room: RoomName,
    /// Its members online.
    pub online: usize,
    /// Its topic; absent when it has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    /// Whether it is private (listed only to its members, the names
    /// invited to it, the operators and the admin).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub private: bool,
}

/// Checks a topic: at most [`MAX_TOPIC`] bytes on one line, with no
/// control character at all (not even a tab). Empty clears the topic.
/// The codes are those of a message's text.
pub fn validate_topic(topic: &str) -> Result<(), (ErrorCode, String)> {
    if topic.len() > MAX_TOPIC {
        return Err((
            ErrorCode::TextTooLong,
            format!(
                "the topic is {} bytes; the limit is {MAX_TOPIC}",
                topic.len()
            ),
        ));
    }
    if let Some(c) = topic.chars().find(|c| c.is_control()) {
        return Err((
            ErrorCode::TextInvalid,
            format!(
                "a topic is one line without control characters (it holds U+{:04X})",
                u32::from(c)
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_folded_and_checked() {
        for (text, name) in [
            ("#ops", "#ops"),
            ("#Ops", "#ops"),
            ("#LOBBY", "#lobby"),
            ("#a", "#a"),
            ("#9lives", "#9lives"),
            ("#build.ci-2_x", "#build.ci-2_x"),
        ] {
            assert_eq!(RoomName::parse(text).unwrap().as_str(), name, "{text}");
        }
        let longest = format!("#{}", "x".repeat(MAX_ROOM_NAME));
        assert!(RoomName::parse(&longest).is_ok());
        for bad in [
            "ops",
            "",
            "#",
            "##ops",
            "#_ops",
            "#.ops",
            "#-ops",
            "#op s",
            "#opé",
            "#ops\n",
            "#ops/x",
            " #ops",
            &format!("#{}", "x".repeat(MAX_ROOM_NAME + 1)),
        ] {
            assert!(RoomName::parse(bad).is_err(), "{bad:?}");
        }
        assert!(
            RoomName::parse("ops")
                .unwrap_err()
                .to_string()
                .contains("starts with #")
        );
        assert_eq!(RoomName::parse("#Ops").unwrap().bare(), "ops");
    }

    #[test]
    fn hex_is_one_form_both_ways() {
        let ops = RoomName::parse("#ops").unwrap();
        assert_eq!(ops.to_hex(), "236f7073");
        assert_eq!(RoomName::from_hex("236f7073").unwrap(), ops);
        // Upper-case hex, a name not folded, not a name at all: not ours.
        for bad in ["236F7073", "234f7073", "6f7073", "23", "zz", "2"] {
            assert!(RoomName::from_hex(bad).is_err(), "{bad}");
        }
        let longest = RoomName::parse(&format!("#{}", "a.".repeat(16))).unwrap();
        assert_eq!(RoomName::from_hex(&longest.to_hex()).unwrap(), longest);
    }

    #[test]
    fn a_server_event_with_a_bad_room_is_unreadable() {
        let ok: RoomName = serde_json::from_str(r##""#Ops""##).unwrap();
        assert_eq!(ok.as_str(), "#ops");
        assert!(serde_json::from_str::<RoomName>(r#""ops""#).is_err());
        assert!(serde_json::from_str::<RoomName>("3").is_err());
    }

    #[test]
    fn topics() {
        assert!(validate_topic("").is_ok(), "empty clears");
        assert!(validate_topic("deploys and incidents").is_ok());
        assert!(validate_topic(&"x".repeat(MAX_TOPIC)).is_ok());
        assert_eq!(
            validate_topic(&"x".repeat(MAX_TOPIC + 1)).unwrap_err().0,
            ErrorCode::TextTooLong
        );
        for bad in ["a\nb", "a\tb", "\u{1b}[2J"] {
            assert_eq!(validate_topic(bad).unwrap_err().0, ErrorCode::TextInvalid);
        }
    }
}
