//! What a joined client sends (docs/protocol.md §10.3): the events, as
//! tagged JSON. A room a client names is a plain string here, as typed:
//! the server folds and checks it, and answers a bad one with
//! `room_invalid` (a `RoomName` would make the event unreadable, and the
//! answer `bad_event`).

use serde::{Deserialize, Serialize};

use super::{BanTarget, ByeCode};
use crate::identity::IdentityKey;

/// Events a joined client sends.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientEvent {
    /// A message to everyone in a room.
    Say {
        /// The room it is for (as typed: the server folds and checks it,
        /// `room_invalid`); absent: the default room.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        room: Option<String>,
        /// The text.
        text: String,
        /// A client-chosen id (see [`super::valid_cid`]), echoed in the message
        /// event and kept in history, so that a client that lost the link
        /// can tell whether the server took the line. Optional.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cid: Option<String>,
    },
    /// An action (`/me waves`), shown as `* ace waves`.
    Action {
        /// The room it is for (as typed: the server folds and checks it,
        /// `room_invalid`); absent: the default room.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        room: Option<String>,
        /// The text after `/me `.
        text: String,
        /// A client-chosen id (see [`super::valid_cid`]), echoed in the message
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
        /// A client-chosen id (see [`super::valid_cid`]), echoed in the message
        /// event and kept in history, so that a client that lost the link
        /// can tell whether the server took the line. Optional.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cid: Option<String>,
    },
    /// Ask for the list of users online: a room's members (`users`
    /// answers, with the `room`).
    Who {
        /// The room it is for (as typed: the server folds and checks it,
        /// `room_invalid`); absent: the default room.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        room: Option<String>,
        /// Where to continue a list that was cut (`more`): the folded form
        /// (ASCII lower case) of the last name received. The answer holds
        /// the users whose folded names sort after it (byte order).
        /// Absent: from the start.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        after: Option<String>,
    },
    /// Join a room (made if it does not exist and this session may make
    /// rooms); answered with `room_joined`, or an `error`
    /// (`room_invalid`, `no_such_room`, `too_many_rooms`). Joining a room
    /// the session is in answers `room_joined` again.
    JoinRoom {
        /// The room, as typed (`#ops`, `#Ops`).
        room: String,
        /// Resume the room: the id of the last message of this room this
        /// client received; `room_joined`'s history then holds the room's
        /// messages after it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        after: Option<u64>,
    },
    /// Leave a room; answered with `room_parted`, or an `error`
    /// (`not_in_room`, `cannot_part` for the default room).
    PartRoom {
        /// The room.
        room: String,
    },
    /// Ask for the rooms this session may see; answered with `rooms`.
    Rooms,
    /// Set a room's topic (operators and the admin; empty clears it);
    /// answered with the room's `topic` event, or an `error`.
    Topic {
        /// The room.
        room: String,
        /// The topic: one line of at most [`super::room::MAX_TOPIC`] bytes.
        text: String,
    },
    /// Invite a registered name into a room (operators and the admin): a
    /// private room admits the names invited. Answered with the
    /// `moderation` event (`invite`), or an `error`.
    Invite {
        /// The room.
        room: String,
        /// The name invited.
        name: String,
    },
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
    /// An operator disconnects a user, who may join again. Answered with
    /// the room's `moderation` event (with `by` this operator), or an
    /// `error` (`not_operator`, `no_such_user`, `forbidden`).
    Kick {
        /// Who (matched case-insensitively against the users online).
        name: String,
        /// Why (see [`super::validate_reason`]); optional.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// An operator bans a name: its sessions end, its joins are refused.
    /// Answered like `kick`.
    Ban {
        /// What to ban; operators may ban names only (`forbidden` else).
        target: BanTarget,
        /// How long, in seconds (1 to [`super::moderation::MAX_FOR_SECS`]);
        /// absent: until lifted.
        #[serde(rename = "for", default, skip_serializing_if = "Option::is_none")]
        for_secs: Option<u64>,
        /// Why (see [`super::validate_reason`]); optional.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// An operator lifts a ban (the target as `bans` lists it). Answered
    /// with `moderation`, or an `error` (`not_banned`, `forbidden`, …).
    Unban {
        /// What is banned.
        target: BanTarget,
    },
    /// An operator mutes a user: they stay and read, and what they say is
    /// refused (`muted`). Answered like `kick`.
    Mute {
        /// Who.
        name: String,
        /// How long, in seconds (1 to [`super::moderation::MAX_FOR_SECS`]);
        /// absent: until lifted.
        #[serde(rename = "for", default, skip_serializing_if = "Option::is_none")]
        for_secs: Option<u64>,
        /// Why (see [`super::validate_reason`]); optional.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// An operator lifts a mute. Answered with `moderation`, or an `error`
    /// (`not_muted`, `forbidden`, …).
    Unmute {
        /// Who.
        name: String,
    },
    /// An operator asks for the bans in force; answered with `bans`, or an
    /// `error` `not_operator`.
    Bans,
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

impl ClientEvent {
    /// The room the event names, as sent (not checked); `None`: the
    /// default room, or nothing room-scoped (`rooms`, a DM, moderation).
    pub fn room(&self) -> Option<&str> {
        match self {
            Self::Say { room, .. } | Self::Action { room, .. } | Self::Who { room, .. } => {
                room.as_deref()
            }
            Self::JoinRoom { room, .. }
            | Self::PartRoom { room }
            | Self::Topic { room, .. }
            | Self::Invite { room, .. } => Some(room),
            _ => None,
        }
    }

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
