//! The admin API's rooms (docs/admin-api.md, "Rooms"): `GET /v1/rooms`,
//! `POST /v1/rooms`, `DELETE /v1/rooms/{room}`, `PUT
//! /v1/rooms/{room}/topic`, `POST /v1/rooms/{room}/invite`. In a path, a
//! room is named without its `#` (`/v1/rooms/ops`) or with it
//! percent-encoded (`/v1/rooms/%23ops`).

use serde::{Deserialize, Serialize};

use crate::RoomName;

/// One room of `GET /v1/rooms`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct RoomSummary {
    /// The room.
    pub room: RoomName,
    /// Its members online.
    pub online: usize,
    /// Its topic; absent: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    /// Joinable by the names invited only.
    pub private: bool,
    /// Made by the admin: it stays when empty (a room made by joining it
    /// goes after `room_idle_expiry` empty). The default room always stays.
    pub lasting: bool,
    /// Whether it is the default room.
    pub default: bool,
    /// Messages kept in its history now.
    pub messages: usize,
    /// The names invited, as written.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub invited: Vec<String>,
}

/// `GET /v1/rooms`: every room, the default room first, then by name.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Rooms {
    /// The rooms.
    pub rooms: Vec<RoomSummary>,
}

/// `POST /v1/rooms`: make a lasting room (or make a room that exists
/// lasting, with the settings given).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RoomAddRequest {
    /// The room: `#` and 1-32 of `a-z 0-9 _ . -` (upper case folded).
    pub room: String,
    /// Its topic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    /// Joinable by invited names only, and listed only to them.
    #[serde(default)]
    pub private: bool,
}

/// Answer to `POST /v1/rooms`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct RoomAdded {
    /// The room, its name folded.
    pub room: RoomName,
    /// Made now (`false`: it existed, and is lasting now).
    pub made: bool,
}

/// Answer to `DELETE /v1/rooms/{room}`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct RoomRemoved {
    /// The room removed, with its history.
    pub room: RoomName,
    /// Members taken out of it (each got `room_parted` with a reason).
    pub parted: usize,
}

/// `PUT /v1/rooms/{room}/topic`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TopicRequest {
    /// The topic: one line of at most 300 bytes; empty clears it.
    pub text: String,
}

/// Answer to a topic set.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct TopicSet {
    /// The room.
    pub room: RoomName,
    /// Members told.
    pub delivered: usize,
}

/// `POST /v1/rooms/{room}/invite`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct InviteRequest {
    /// The name invited: 1-32 of `A-Z a-z 0-9 _ . -`.
    pub name: String,
}

/// Answer to an invitation.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Invited {
    /// The room.
    pub room: RoomName,
    /// The name invited, as written.
    pub name: String,
}
