//! What sealed messages carry: small JSON objects tagged by `type`.
//!
//! Unknown fields are ignored and unknown event types decode to an
//! `Unknown` variant on the receiving side, so either end can add to the
//! vocabulary without breaking the other. The server sets every sender,
//! id and timestamp; nothing a client claims about identity is trusted.

use serde::{Deserialize, Serialize};

use crate::identity::IdentityKey;

mod auth;
mod client;
mod code;
mod member;
pub mod moderation;
pub mod room;

pub use self::auth::Auth;
pub use self::client::ClientEvent;
pub use self::code::{ByeCode, ErrorCode, RejectCode};
pub use self::member::Member;
pub use self::moderation::{Ban, BanTarget, ModerationAction, validate_reason};
pub use self::room::{RoomInfo, RoomJoined, RoomName, RoomNameError, validate_topic};

/// A public chat message, as broadcast and as kept in history.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct HistoryEntry {
    /// The room it was said in; absent: the default room.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room: Option<RoomName>,
    /// Server-assigned id, increasing server-wide.
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
    /// Set when `users` and `members` stop before the end of the list, to
    /// fit one server message: `who` with `after` (the last name's folded
    /// form) gives the rest. Absent (`false`): the lists are whole. A
    /// client that ignores it (older ones) sees the first part only.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub more: bool,
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
    /// The default room: the one this session is in from the start and
    /// cannot leave, meant by every event without a `room`. Absent from a
    /// server without rooms (a client then offers no room commands).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_room: Option<RoomName>,
    /// The rooms this session is in (the default room first).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rooms: Vec<RoomName>,
    /// The default room's topic, if it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
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
        /// For `banned`: when the ban ends, Unix milliseconds; absent:
        /// until lifted.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        until: Option<u64>,
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
        /// The room; absent: the default room.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        room: Option<RoomName>,
        /// Who.
        name: String,
        /// Users online now.
        online: usize,
        /// Server time, Unix milliseconds.
        ts: u64,
        /// The identity the user proved, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        identity: Option<IdentityKey>,
        /// Whether the user is an operator of the room (as in `members`).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        op: bool,
    },
    /// Someone left.
    Leave {
        /// The room; absent: the default room.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        room: Option<RoomName>,
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
        /// The room; absent: the default room.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        room: Option<RoomName>,
        /// Joins counted.
        joined: usize,
        /// Leaves counted.
        left: usize,
        /// Users online now.
        online: usize,
        /// Server time, Unix milliseconds.
        ts: u64,
    },
    /// Answer to `who`: everyone online, or, after a `who`'s `after`,
    /// those whose folded names sort after it; as many as fit one server
    /// message.
    Users {
        /// The room; absent: the default room.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        room: Option<RoomName>,
        /// Everyone online (after `after`), sorted by folded name.
        users: Vec<String>,
        /// Everyone online, with their identities (see [`Welcome::members`]).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        members: Vec<Member>,
        /// The lists stop before the end, to fit one server message: `who`
        /// with `after` gives the rest (see [`Welcome::more`]).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        more: bool,
    },
    /// Answer to `identity_add` and `identity_remove`: the keys registered
    /// to the name now.
    Identities {
        /// The name (this session's).
        name: String,
        /// Its keys.
        keys: Vec<IdentityKey>,
    },
    /// Answer to `bans`: the bans in force, oldest first.
    Bans {
        /// The bans.
        bans: Vec<Ban>,
    },
    /// A notice from the server's admin.
    Notice {
        /// The room it is told in; absent: everyone (the default room).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        room: Option<RoomName>,
        /// The text.
        text: String,
        /// Server time, Unix milliseconds.
        ts: u64,
    },
    /// A moderator acted (the server's admin or an operator): told once to
    /// everyone online, the operator who asked included (it is the answer
    /// to their `kick`, `ban`, `unban`, `mute` or `unmute`).
    Moderation {
        /// The room it concerns (an `invite`); absent: the server (a
        /// kick, ban or mute is server-wide).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        room: Option<RoomName>,
        /// What was done.
        action: ModerationAction,
        /// To whom: a name, or a ban's target as `bans` lists it.
        target: String,
        /// The operator who did it; absent: the server's admin.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        by: Option<String>,
        /// For a ban or mute with a length: when it ends, Unix
        /// milliseconds (`ts` + the length); absent: until lifted.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        until: Option<u64>,
        /// Why, as the moderator said it; absent when none was given.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
        /// Server time, Unix milliseconds.
        ts: u64,
    },
    /// One client event was refused; the connection stays.
    Error {
        /// The room the refused event named, when it is a valid name.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        room: Option<RoomName>,
        /// Machine-readable reason.
        code: ErrorCode,
        /// Human words.
        message: String,
        /// For `muted`: when the mute ends, Unix milliseconds; absent:
        /// until lifted.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        until: Option<u64>,
    },
    /// The answer to `join_room`: the room's welcome.
    RoomJoined(RoomJoined),
    /// This session is no longer in a room: the answer to `part_room`, or
    /// (with a `reason`) the server took it out (the room was removed).
    RoomParted {
        /// The room.
        room: RoomName,
        /// Why, when the session did not ask.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// The answer to `rooms`: the rooms this session may see, by name.
    Rooms {
        /// The rooms.
        rooms: Vec<RoomInfo>,
    },
    /// A room's topic changed (told to its members; the answer to a
    /// `topic` from its setter).
    Topic {
        /// The room.
        room: RoomName,
        /// The topic; empty: cleared.
        text: String,
        /// Who set it; absent: the server's admin.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        by: Option<String>,
        /// Server time, Unix milliseconds.
        ts: u64,
    },
    /// The server closes the session next.
    Bye {
        /// Machine-readable reason.
        code: ByeCode,
        /// Human words; for `banned`, the ban's reason (maybe empty).
        reason: String,
        /// For `banned`: when the ban ends, Unix milliseconds; absent:
        /// until lifted.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        until: Option<u64>,
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
    /// The room the event names (`room` of a message, join, leave,
    /// presence, users, notice, moderation, error, room answer or topic);
    /// `None`: the default room, or nothing room-scoped (a welcome, a DM,
    /// a bye).
    pub fn room(&self) -> Option<&RoomName> {
        match self {
            Self::Message(HistoryEntry { room, .. })
            | Self::Join { room, .. }
            | Self::Leave { room, .. }
            | Self::Presence { room, .. }
            | Self::Users { room, .. }
            | Self::Notice { room, .. }
            | Self::Moderation { room, .. }
            | Self::Error { room, .. } => room.as_ref(),
            Self::RoomJoined(RoomJoined { room, .. })
            | Self::RoomParted { room, .. }
            | Self::Topic { room, .. } => Some(room),
            Self::Welcome(_)
            | Self::Reject { .. }
            | Self::Dm { .. }
            | Self::Identities { .. }
            | Self::Bans { .. }
            | Self::Rooms { .. }
            | Self::Bye { .. }
            | Self::Unknown => None,
        }
    }

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
            room: None,
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
            room: None,
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
                room: None,
                text: "hi".into(),
                cid: None
            }
        );
        let new = ClientEvent::Say {
            room: None,
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
    fn rooms_are_optional_both_ways() {
        // An older client's events: no room, the default room.
        let say: ClientEvent = serde_json::from_str(r#"{"type":"say","text":"hi"}"#).unwrap();
        assert_eq!(say.room(), None);
        let who = ClientEvent::Who {
            room: None,
            after: None,
        };
        assert_eq!(
            String::from_utf8(who.to_bytes()).unwrap(),
            r#"{"type":"who"}"#
        );
        assert_eq!(ClientEvent::from_bytes(br#"{"type":"who"}"#), Some(who));
        // A room as typed is read as sent: the server answers a bad one
        // with `room_invalid`, not `bad_event`.
        let bad = ClientEvent::from_bytes(br#"{"type":"say","room":"ops","text":"hi"}"#).unwrap();
        assert_eq!(bad.room(), Some("ops"));
        let join = ClientEvent::from_bytes(br##"{"type":"join_room","room":"#Ops","after":7}"##);
        assert_eq!(
            join,
            Some(ClientEvent::JoinRoom {
                room: "#Ops".into(),
                after: Some(7)
            })
        );

        // Today's server events: no room, and the same bytes as before.
        let m = ServerEvent::from_bytes(
            br#"{"type":"message","id":3,"from":"ace","text":"hello","ts":1700000000000}"#,
        )
        .unwrap();
        assert_eq!(m.room(), None);
        assert_eq!(
            String::from_utf8(m.to_bytes()).unwrap(),
            r#"{"type":"message","id":3,"from":"ace","text":"hello","ts":1700000000000}"#
        );
        // A room's: folded when read; a server event with a bad room is
        // unreadable.
        let ops = ServerEvent::from_bytes(
            br##"{"type":"join","room":"#OPS","name":"dave","online":3,"ts":1}"##,
        )
        .unwrap();
        assert_eq!(ops.room().map(RoomName::as_str), Some("#ops"));
        assert!(
            ServerEvent::from_bytes(
                br#"{"type":"join","room":"ops","name":"d","online":3,"ts":1}"#
            )
            .is_none()
        );
        let joined = ServerEvent::RoomJoined(RoomJoined {
            room: RoomName::parse("#ops").unwrap(),
            topic: None,
            private: false,
            users: vec!["ace".into()],
            members: Vec::new(),
            more: false,
            history: Vec::new(),
            gap: false,
            resumed: false,
            last_id: 0,
        });
        let bytes = joined.to_bytes();
        assert_eq!(
            String::from_utf8(bytes.clone()).unwrap(),
            r##"{"type":"room_joined","room":"#ops","users":["ace"],"history":[],"last_id":0}"##
        );
        assert_eq!(ServerEvent::from_bytes(&bytes), Some(joined));
        // A welcome from a server without rooms names no default room.
        let welcome = ServerEvent::from_bytes(
            br#"{"type":"welcome","name":"ace","users":["ace"],"rate":{"burst":10,"per_second":5},"max_text":4096}"#,
        );
        assert!(
            matches!(welcome, Some(ServerEvent::Welcome(Welcome { default_room: None, ref rooms, .. })) if rooms.is_empty())
        );
    }

    /// A list cut to fit one message says `more`, and `who` asks for the
    /// rest with `after`; both absent mean what they meant before (the
    /// lists whole, from the start), and an event without them is the
    /// same bytes as before.
    #[test]
    fn long_lists_are_paged_and_the_old_forms_still_read() {
        let who = ClientEvent::from_bytes(br#"{"type":"who"}"#).unwrap();
        assert_eq!(
            who,
            ClientEvent::Who {
                room: None,
                after: None
            }
        );
        let next = ClientEvent::Who {
            room: Some("#ops".into()),
            after: Some("bob".into()),
        };
        let bytes = next.to_bytes();
        assert_eq!(
            String::from_utf8(bytes.clone()).unwrap(),
            r##"{"type":"who","room":"#ops","after":"bob"}"##
        );
        assert_eq!(ClientEvent::from_bytes(&bytes), Some(next));

        // `more` absent: false, and not written when false.
        let whole = ServerEvent::from_bytes(br#"{"type":"users","users":["ace"]}"#).unwrap();
        assert!(matches!(whole, ServerEvent::Users { more: false, .. }));
        assert_eq!(whole.to_bytes(), br#"{"type":"users","users":["ace"]}"#);
        let cut = ServerEvent::Users {
            room: None,
            users: vec!["ace".into()],
            members: vec![Member::named("ace")],
            more: true,
        };
        let bytes = cut.to_bytes();
        assert_eq!(
            String::from_utf8(bytes.clone()).unwrap(),
            r#"{"type":"users","users":["ace"],"members":[{"name":"ace"}],"more":true}"#
        );
        assert_eq!(ServerEvent::from_bytes(&bytes), Some(cut));

        let old = br#"{"type":"welcome","name":"ace","users":["ace"],"history":[],"rate":{"burst":10,"per_second":5},"max_text":4096,"server":"x"}"#;
        let Some(ServerEvent::Welcome(mut welcome)) = ServerEvent::from_bytes(old) else {
            panic!("a welcome");
        };
        assert!(!welcome.more);
        assert_eq!(ServerEvent::Welcome(welcome.clone()).to_bytes(), old);
        welcome.more = true;
        let bytes = ServerEvent::Welcome(welcome.clone()).to_bytes();
        assert!(
            String::from_utf8_lossy(&bytes).contains(r#""users":["ace"],"more":true,"history""#)
        );
        assert_eq!(
            ServerEvent::from_bytes(&bytes),
            Some(ServerEvent::Welcome(welcome))
        );

        let old =
            br##"{"type":"room_joined","room":"#ops","users":["ace"],"history":[],"last_id":0}"##;
        let Some(ServerEvent::RoomJoined(mut joined)) = ServerEvent::from_bytes(old) else {
            panic!("a room_joined");
        };
        assert!(!joined.more);
        joined.more = true;
        let bytes = ServerEvent::RoomJoined(joined.clone()).to_bytes();
        assert!(String::from_utf8_lossy(&bytes).contains(r#""more":true"#));
        assert_eq!(
            ServerEvent::from_bytes(&bytes),
            Some(ServerEvent::RoomJoined(joined))
        );
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
                room: None,
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
                until: None,
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
