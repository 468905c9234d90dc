//! What sealed messages carry: small JSON objects tagged by `type`.
//!
//! Unknown fields are ignored and unknown event types decode to an
//! `Unknown` variant on the receiving side, so either end can add to the
//! vocabulary without breaking the other. The server sets every sender,
//! id and timestamp; nothing a client claims about identity is trusted.

use serde::{Deserialize, Serialize};

use crate::identity::IdentityKey;

mod auth;
mod member;

pub use self::auth::Auth;
pub use self::member::Member;

/// Events a joined client sends.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientEvent {
    /// A message to everyone.
    Say {
        /// The text.
        text: String,
        /// A client-chosen id (see [`valid_cid`]), echoed in the message
        /// event and kept in history, so that a client that lost the link
        /// can tell whether the server took the line. Optional.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cid: Option<String>,
    },
    /// An action (`/me waves`), shown as `* ace waves`.
    Action {
        /// The text after `/me `.
        text: String,
        /// A client-chosen id (see [`valid_cid`]), echoed in the message
        /// event and kept in history, so that a client that lost the link
        /// can tell whether the server took the line. Optional.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cid: Option<String>,
    },
    /// A direct message to one user.
    Dm {
        /// Addressee's name (matched case-insensitively).
        to: String,
        /// The text.
        text: String,
        /// A client-chosen id (see [`valid_cid`]), echoed in the message
        /// event and kept in history, so that a client that lost the link
        /// can tell whether the server took the line. Optional.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cid: Option<String>,
    },
    /// Ask for the list of users online.
    Who,
    /// Register another key to this session's name (a second device). The
    /// server answers with `identities`, or an `error` (`not_owner`,
    /// `too_many_keys`, `names_open`).
    IdentityAdd {
        /// The public key to add.
        key: IdentityKey,
    },
    /// Remove a key from this session's name. The server answers with
    /// `identities`, or an `error` (`not_owner`, `last_key`, `names_open`).
    IdentityRemove {
        /// The public key to remove.
        key: IdentityKey,
    },
    /// The client is leaving.
    Bye {
        /// Why.
        #[serde(default = "ByeCode::leave")]
        code: ByeCode,
        /// Human words.
        #[serde(default)]
        reason: String,
    },
    /// A type this side does not know (newer peer).
    #[serde(other)]
    Unknown,
}

/// A public chat message, as broadcast and as kept in history.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct HistoryEntry {
    /// Server-assigned id, increasing.
    pub id: u64,
    /// Sender, as authenticated by the server.
    pub from: String,
    /// The text.
    pub text: String,
    /// Server time, Unix milliseconds.
    pub ts: u64,
    /// An action (`/me`) rather than a plain message.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub action: bool,
    /// The sender's client id for it, if it gave a valid one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cid: Option<String>,
}

/// The rate limit a client must keep to (token bucket).
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct RateLimit {
    /// Messages that may be sent at once.
    pub burst: u32,
    /// Messages per second refilled.
    pub per_second: u32,
}

/// The server accepts the client.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Welcome {
    /// The name the server assigned (the requested one).
    pub name: String,
    /// Everyone online, this client included.
    pub users: Vec<String>,
    /// Everyone online again, with what is known of each (their identity);
    /// in the order of `users`. Empty (absent on the wire) from a server
    /// that does not send it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<Member>,
    /// Recent public messages, oldest first; after a resume (`Auth`'s
    /// `after`), the messages after that id.
    #[serde(default)]
    pub history: Vec<HistoryEntry>,
    /// Set when the client asked to resume after an id and some messages
    /// after it are not in `history` (older than the server keeps, or more
    /// than `history` holds): the client should say messages were missed.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub gap: bool,
    /// Set when the server honoured the `Auth`'s `after`: `history` holds
    /// the messages after that id, and an absent `gap` means nothing was
    /// missed, whatever the ids (they jump after a server's crash). Absent
    /// from older servers, which leave the client to guess from the ids.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub resumed: bool,
    /// The id of the last message the room's log holds at this join (0:
    /// none yet), whether or not `history` shows it: a client that
    /// reconnects resumes after it (or after a later message it received)
    /// even when it never saw a message. Absent from older servers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_id: Option<u64>,
    /// Message of the day.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub motd: Option<String>,
    /// The rate limit in force.
    pub rate: RateLimit,
    /// Longest accepted message text, in bytes.
    pub max_text: usize,
    /// Server software and version.
    #[serde(default)]
    pub server: String,
}

/// Why the server refused a join.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RejectCode {
    /// The server has as many users as it allows.
    ServerFull,
    /// Wrong or missing password.
    BadPassword,
    /// The username is not 1–32 of `A-Z a-z 0-9 _ . -`.
    NameInvalid,
    /// Someone online has that name (case-insensitively).
    NameTaken,
    /// The `Auth` could not be read.
    BadRequest,
    /// Too many joins are being checked at once: retry shortly.
    Busy,
    /// Too many wrong passwords from this address: wait `retry_after`
    /// seconds.
    Throttled,
    /// The name is registered to other keys than the one this join proved
    /// (or it proved none).
    NameRegistered,
    /// The `Auth`'s identity or proof is not valid: one without the other,
    /// a malformed or weak key, or a proof that does not verify for this
    /// session.
    BadIdentity,
    /// Banned by an operator (the reason says why and until when).
    Banned,
    /// A code this side does not know.
    #[serde(other)]
    Other,
}

/// Why a session is being closed deliberately.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ByeCode {
    /// The user left.
    Leave,
    /// The server is shutting down.
    Shutdown,
    /// An admin kicked the user.
    Kicked,
    /// The client did not keep up with its messages.
    TooSlow,
    /// The peer stopped answering keepalives.
    Timeout,
    /// The key this session joined with was withdrawn.
    KeyRotated,
    /// The name's owner joined, proving one of the name's keys, and this
    /// session had proved none of them.
    NameRegistered,
    /// The peer broke the protocol.
    Protocol,
    /// Banned by an operator (the reason says why and until when).
    Banned,
    /// A code this side does not know.
    #[serde(other)]
    Other,
}

impl ByeCode {
    fn leave() -> Self {
        ByeCode::Leave
    }
}

/// Why the server refused one client event (the connection stays).
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// Text longer than `max_text`.
    TextTooLong,
    /// Empty text, or a control character other than newline and tab.
    TextInvalid,
    /// Sent faster than the announced rate.
    RateLimited,
    /// A direct message to someone not online.
    NoSuchUser,
    /// An event that could not be read.
    BadEvent,
    /// `identity_add` or `identity_remove` from a session not proven with
    /// one of its name's keys (or whose name is not registered).
    NotOwner,
    /// `identity_add` to a name that holds as many keys as the server
    /// allows.
    TooManyKeys,
    /// `identity_remove` of a name's last key.
    LastKey,
    /// `identity_add` or `identity_remove` on a server whose names are not
    /// bound to keys (its `names` policy is `"open"`).
    NamesOpen,
    /// A code this side does not know.
    #[serde(other)]
    Other,
}

/// Events the server sends.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerEvent {
    /// The join succeeded (s2c #1).
    Welcome(Welcome),
    /// The join failed; the server closes 1000 next.
    Reject {
        /// Machine-readable reason.
        code: RejectCode,
        /// Human words.
        reason: String,
        /// For `throttled`: seconds until a join from this address is
        /// checked again.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retry_after: Option<u64>,
    },
    /// A public message or action.
    Message(HistoryEntry),
    /// A direct message, sent to its addressee and echoed to its sender.
    Dm {
        /// Server-assigned id.
        id: u64,
        /// Sender.
        from: String,
        /// Addressee.
        to: String,
        /// The text.
        text: String,
        /// Server time, Unix milliseconds.
        ts: u64,
        /// The sender's client id for it, if it gave a valid one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cid: Option<String>,
    },
    /// Someone joined.
    Join {
        /// Who.
        name: String,
        /// Users online now.
        online: usize,
        /// Server time, Unix milliseconds.
        ts: u64,
        /// The identity the user proved, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        identity: Option<IdentityKey>,
    },
    /// Someone left.
    Leave {
        /// Who.
        name: String,
        /// Users online now.
        online: usize,
        /// Why (`left`, `kicked: …`, `connection lost`, …).
        reason: String,
        /// Server time, Unix milliseconds.
        ts: u64,
    },
    /// Joins and leaves counted together, sent instead of one `join` or
    /// `leave` each while the room is large (more than the server's
    /// `presence_summary_above` online): `joined` and `left` since the
    /// last `presence`, `join` or `leave` this client got; `online` is
    /// exact. The counts may include this client's own join.
    Presence {
        /// Joins counted.
        joined: usize,
        /// Leaves counted.
        left: usize,
        /// Users online now.
        online: usize,
        /// Server time, Unix milliseconds.
        ts: u64,
    },
    /// Answer to `who`.
    Users {
        /// Everyone online.
        users: Vec<String>,
        /// Everyone online, with their identities (see [`Welcome::members`]).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        members: Vec<Member>,
    },
    /// Answer to `identity_add` and `identity_remove`: the keys registered
    /// to the name now.
    Identities {
        /// The name (this session's).
        name: String,
        /// Its keys.
        keys: Vec<IdentityKey>,
    },
    /// A notice from the server's admin.
    Notice {
        /// The text.
        text: String,
        /// Server time, Unix milliseconds.
        ts: u64,
    },
    /// One client event was refused; the connection stays.
    Error {
        /// Machine-readable reason.
        code: ErrorCode,
        /// Human words.
        message: String,
    },
    /// The server closes the session next.
    Bye {
        /// Machine-readable reason.
        code: ByeCode,
        /// Human words.
        reason: String,
    },
    /// A type this side does not know (newer server).
    #[serde(other)]
    Unknown,
}

/// Longest username, in bytes.
pub const MAX_USERNAME: usize = 32;

/// Whether `name` is 1–32 of `A-Z a-z 0-9 _ . -`.
pub fn valid_username(name: &str) -> bool {
    (1..=MAX_USERNAME).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

/// Longest client id (`cid`), in bytes.
pub const MAX_CID: usize = 32;

/// Whether `cid` is a client id the server keeps: 1–32 of
/// `A-Z a-z 0-9 _ -`. Others are dropped (the line is still taken).
pub fn valid_cid(cid: &str) -> bool {
    (1..=MAX_CID).contains(&cid.len())
        && cid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'))
}

/// The first control character in `text` that a message may not hold
/// (any but newline and tab), if there is one. Texts an admin sends into
/// the room (a kick's reason, a notice) follow the same rule.
pub fn forbidden_control(text: &str) -> Option<char> {
    text.chars()
        .find(|&c| c.is_control() && c != '\n' && c != '\t')
}

/// Checks a message text: not empty, at most `max_text` bytes, no control
/// characters other than newline and tab.
pub fn validate_text(text: &str, max_text: usize) -> Result<(), (ErrorCode, String)> {
    if text.len() > max_text {
        return Err((
            ErrorCode::TextTooLong,
            format!("message is {} bytes; the limit is {max_text}", text.len()),
        ));
    }
    if text.trim().is_empty() {
        return Err((ErrorCode::TextInvalid, "message is empty".into()));
    }
    if let Some(c) = forbidden_control(text) {
        return Err((
            ErrorCode::TextInvalid,
            format!(
                "message contains the control character U+{:04X}",
                u32::from(c)
            ),
        ));
    }
    Ok(())
}

impl ServerEvent {
    /// Reads a server event strictly (a member given twice, at any depth,
    /// makes it unreadable); `None` when it cannot be read.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        crate::json::from_slice_strict(bytes)
    }

    /// The JSON bytes of this event, to be sealed.
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("server events always serialize")
    }
}

impl ClientEvent {
    /// Reads a client event strictly (a member given twice, at any depth,
    /// makes it unreadable); `None` when it cannot be read.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        crate::json::from_slice_strict(bytes)
    }

    /// The JSON bytes of this event, to be sealed.
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("client events always serialize")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_in_array_form_are_unreadable() {
        assert!(Auth::from_bytes(br#"["auth","ace"]"#).is_none());
        assert!(Auth::from_bytes(br#"["auth","ace","","x"]"#).is_none());
        assert!(ClientEvent::from_bytes(br#"["say","hi"]"#).is_none());
        assert!(ServerEvent::from_bytes(br#"["notice","hi",1]"#).is_none());
        assert!(ClientEvent::from_bytes(br#"{"type":"say","text":"hi"}"#).is_some());
    }

    #[test]
    fn events_are_tagged_json() {
        let e = ClientEvent::Dm {
            to: "bob".into(),
            text: "hi".into(),
            cid: None,
        };
        assert_eq!(
            String::from_utf8(e.to_bytes()).unwrap(),
            r#"{"type":"dm","to":"bob","text":"hi"}"#
        );
        let m = ServerEvent::Message(HistoryEntry {
            id: 3,
            from: "ace".into(),
            text: "hello".into(),
            ts: 1_700_000_000_000,
            action: false,
            cid: None,
        });
        let json = String::from_utf8(m.to_bytes()).unwrap();
        assert_eq!(
            json,
            r#"{"type":"message","id":3,"from":"ace","text":"hello","ts":1700000000000}"#
        );
        assert_eq!(serde_json::from_str::<ServerEvent>(&json).unwrap(), m);
    }

    #[test]
    fn presence_is_tagged_json() {
        let e = ServerEvent::Presence {
            joined: 12,
            left: 3,
            online: 1004,
            ts: 1_700_000_005_000,
        };
        let json = String::from_utf8(e.to_bytes()).unwrap();
        assert_eq!(
            json,
            r#"{"type":"presence","joined":12,"left":3,"online":1004,"ts":1700000005000}"#
        );
        assert_eq!(ServerEvent::from_bytes(json.as_bytes()), Some(e));
    }

    #[test]
    fn client_ids_are_optional_and_echoed() {
        let old: ClientEvent = serde_json::from_str(r#"{"type":"say","text":"hi"}"#).unwrap();
        assert_eq!(
            old,
            ClientEvent::Say {
                text: "hi".into(),
                cid: None
            }
        );
        let new = ClientEvent::Say {
            text: "hi".into(),
            cid: Some("k3x-7".into()),
        };
        assert_eq!(
            String::from_utf8(new.to_bytes()).unwrap(),
            r#"{"type":"say","text":"hi","cid":"k3x-7"}"#
        );
        let m: ServerEvent = serde_json::from_str(
            r#"{"type":"message","id":1,"from":"a","text":"hi","ts":1,"cid":"k3x-7"}"#,
        )
        .unwrap();
        assert!(
            matches!(m, ServerEvent::Message(HistoryEntry { cid: Some(c), .. }) if c == "k3x-7")
        );
        assert!(valid_cid("a-Z_9") && !valid_cid("") && !valid_cid("a.b"));
        assert!(!valid_cid(&"x".repeat(33)) && valid_cid(&"x".repeat(32)));
    }

    #[test]
    fn unknown_types_and_fields_are_tolerated() {
        let e: ServerEvent = serde_json::from_str(r#"{"type":"poll","question":"?"}"#).unwrap();
        assert_eq!(e, ServerEvent::Unknown);
        let e: ServerEvent =
            serde_json::from_str(r#"{"type":"notice","text":"hi","ts":1,"colour":"red"}"#).unwrap();
        assert_eq!(
            e,
            ServerEvent::Notice {
                text: "hi".into(),
                ts: 1
            }
        );
        let e: ServerEvent =
            serde_json::from_str(r#"{"type":"reject","code":"later","reason":"x"}"#).unwrap();
        assert_eq!(
            e,
            ServerEvent::Reject {
                code: RejectCode::Other,
                reason: "x".into(),
                retry_after: None,
            }
        );
        let e: ClientEvent = serde_json::from_str(r#"{"type":"bye"}"#).unwrap();
        assert_eq!(
            e,
            ClientEvent::Bye {
                code: ByeCode::Leave,
                reason: String::new()
            }
        );
    }

    #[test]
    fn usernames() {
        for ok in ["a", "ace", "user_1234", "A.b-C", &"x".repeat(32)] {
            assert!(valid_username(ok), "{ok}");
        }
        for bad in [
            "",
            "a b",
            "é",
            "a/b",
            "<script>",
            &"x".repeat(33),
            "\u{1b}[31m",
        ] {
            assert!(!valid_username(bad), "{bad}");
        }
    }

    #[test]
    fn texts() {
        assert!(validate_text("hello\n\tworld", 100).is_ok());
        assert_eq!(
            validate_text("", 100).unwrap_err().0,
            ErrorCode::TextInvalid
        );
        assert_eq!(
            validate_text("a\u{1b}[2J", 100).unwrap_err().0,
            ErrorCode::TextInvalid
        );
        assert_eq!(
            validate_text("a\r", 100).unwrap_err().0,
            ErrorCode::TextInvalid
        );
        assert_eq!(
            validate_text(&"x".repeat(101), 100).unwrap_err().0,
            ErrorCode::TextTooLong
        );
    }
}
