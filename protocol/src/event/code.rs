//! The machine-readable codes of events: why a join was refused
//! (`reject`), why a session ends (`bye`), why one client event was
//! refused (`error`). Each reads a code it does not know as `Other`, so
//! either end can add codes within v1.

use serde::{Deserialize, Serialize};

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
    /// Banned (by the server's admin or an operator): the `reject`'s
    /// `reason` is the ban's (maybe empty), its `until` the ban's end.
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
    /// Banned (by the server's admin or an operator): the `bye`'s
    /// `reason` is the ban's (maybe empty), its `until` the ban's end.
    Banned,
    /// A code this side does not know.
    #[serde(other)]
    Other,
}

impl ByeCode {
    pub(super) fn leave() -> Self {
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
    /// A direct message, or a `kick`, `mute` or `unmute`, naming someone
    /// the server does not know (not online); an `invite` of a name that
    /// is not registered.
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
    /// A moderation event (`kick`, `ban`, `unban`, `mute`, `unmute`,
    /// `bans`, `invite`, `topic`) from a session that is not an
    /// operator's.
    NotOperator,
    /// An operator acted on what only the server's admin may touch:
    /// another operator, a ban or mute the admin set, a `key:` or `addr:`
    /// target.
    Forbidden,
    /// A `say`, `action` or `dm` from a muted user; the `error`'s `until`
    /// is the mute's end (absent: until lifted).
    Muted,
    /// `unban` of a target that is not banned.
    NotBanned,
    /// `unmute` of a name that is not muted.
    NotMuted,
    /// A `room` that is not a room's name (`#` and 1–32 of
    /// `a-z 0-9 _ . -`, the first a letter or digit).
    RoomInvalid,
    /// A room that does not exist, and that this session may not make by
    /// joining it (the server's `room_creation` policy); also a private
    /// room this session was not invited to (its existence is not told).
    NoSuchRoom,
    /// A `say`, `action`, `who`, `part_room`, `topic` or `invite` naming a
    /// room this session is not in.
    NotInRoom,
    /// A `join_room` over a limit: the rooms a session may be in, the
    /// rooms the server holds, or the rooms a session may make per hour
    /// (the `message` says which).
    TooManyRooms,
    /// A `part_room` of the default room, which every session stays in.
    CannotPart,
    /// A code this side does not know.
    #[serde(other)]
    Other,
}
