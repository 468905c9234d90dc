//! The label values of chatd's metrics: closed sets, one enum each, as the
//! catalogue (docs/operations.md, "Monitoring", "Label values") lists
//! them. A value marked there "(later)" is a variant of its own kind here
//! ([`Label::later`]): it has no series until it is first counted, since
//! chatd does not have its feature yet.

use chat_protocol::{ErrorCode, RejectCode};

/// A closed set of label values, for one label key.
pub trait Label: Copy + 'static {
    /// The label's key (`outcome`, `reason`, …).
    const KEY: &'static str;
    /// Every value, in declaration order: `ALL[v.index()] == v`.
    const ALL: &'static [Self];
    /// The value as exposed.
    fn name(self) -> &'static str;
    /// Whether the value waits for a feature chatd does not have yet
    /// (no series at 0 from the start).
    fn later(self) -> bool;
    /// The value's place in [`Label::ALL`].
    fn index(self) -> usize;
}

/// Declares a closed label: its values now, then those marked later.
macro_rules! label {
    (
        $(#[$doc:meta])*
        pub enum $name:ident: $key:literal {
            $($(#[$vdoc:meta])* $variant:ident = $value:literal,)*
        }
        $(later {
            $($(#[$ldoc:meta])* $lvariant:ident = $lvalue:literal,)*
        })?
    ) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum $name {
            $($(#[$vdoc])* $variant,)*
            $($($(#[$ldoc])* $lvariant,)*)?
        }

        impl Label for $name {
            const KEY: &'static str = $key;
            const ALL: &'static [Self] = &[$(Self::$variant,)* $($(Self::$lvariant,)*)?];

            fn name(self) -> &'static str {
                match self {
                    $(Self::$variant => $value,)*
                    $($(Self::$lvariant => $lvalue,)*)?
                }
            }

            fn later(self) -> bool {
                match self {
                    $(Self::$variant => false,)*
                    $($(Self::$lvariant => true,)*)?
                }
            }

            fn index(self) -> usize {
                self as usize
            }
        }
    };
}

label! {
    /// How a configuration reload ended.
    pub enum ReloadResult: "result" {
        /// In force.
        Ok = "ok",
        /// Refused: nothing changed.
        Failed = "failed",
    }
}

label! {
    /// Why a connection was refused before any crypto work.
    pub enum Refusal: "reason" {
        /// Its address already holds `max_connections_per_ip`.
        AddressOpen = "address_open",
        /// Its address opened `connections_per_ip_per_minute` in the last minute.
        AddressRate = "address_rate",
        /// Too many connections are open (503 at the upgrade, or closed at accept).
        Capacity = "capacity",
    }
}

label! {
    /// Where a connection is: in its handshake, or joined.
    pub enum Stage: "stage" {
        /// Accepted, not joined: the upgrade, the handshake, the join's checks.
        Handshake = "handshake",
        /// A session in the room.
        Joined = "joined",
    }
}

label! {
    /// Why a connection ended before its join was decided.
    pub enum HandshakeFailure: "reason" {
        /// Not a WebSocket upgrade (426 or 400).
        Upgrade = "upgrade",
        /// A bad `Hello` or key share (close 1002).
        Malformed = "malformed",
        /// A key id of no key accepted (close 4001).
        UnknownKey = "unknown_key",
        /// The `Auth` did not open (close 1008).
        BadSeal = "bad_seal",
        /// `handshake_timeout` passed.
        Timeout = "timeout",
        /// The client went away before its join was decided.
        Closed = "closed",
        /// chatd began to stop before the join was decided.
        Shutdown = "shutdown",
    }
}

label! {
    /// How a join was decided: welcome, or the code of the `Reject`.
    pub enum JoinOutcome: "outcome" {
        /// Joined.
        Welcome = "welcome",
        /// `server_full`.
        ServerFull = "server_full",
        /// `bad_password`.
        BadPassword = "bad_password",
        /// `name_invalid`.
        NameInvalid = "name_invalid",
        /// `name_taken`.
        NameTaken = "name_taken",
        /// `bad_request`.
        BadRequest = "bad_request",
        /// `busy`.
        Busy = "busy",
        /// `throttled`.
        Throttled = "throttled",
        /// `name_registered` (names bound to keys).
        NameRegistered = "name_registered",
        /// `bad_identity` (names bound to keys).
        BadIdentity = "bad_identity",
        /// `banned` (bans).
        Banned = "banned",
    }
}

impl From<RejectCode> for JoinOutcome {
    fn from(code: RejectCode) -> Self {
        match code {
            RejectCode::ServerFull => Self::ServerFull,
            RejectCode::BadPassword => Self::BadPassword,
            RejectCode::NameInvalid => Self::NameInvalid,
            RejectCode::NameTaken => Self::NameTaken,
            RejectCode::BadRequest => Self::BadRequest,
            RejectCode::Busy => Self::Busy,
            RejectCode::Throttled => Self::Throttled,
            RejectCode::NameRegistered => Self::NameRegistered,
            RejectCode::BadIdentity => Self::BadIdentity,
            RejectCode::Banned => Self::Banned,
            // Only ever read from a newer peer; chatd sends none.
            RejectCode::Other => Self::BadRequest,
        }
    }
}

label! {
    /// Why a joined session ended.
    pub enum SessionEnd: "reason" {
        /// The user left.
        Left = "left",
        /// The connection closed or broke without a `Bye` (a WebSocket
        /// close alone counts here).
        Lost = "lost",
        /// No sign of life within `keepalive_timeout`.
        Timeout = "timeout",
        /// The queue overflowed, or a write took longer than `write_timeout`.
        TooSlow = "too_slow",
        /// An admin kicked the user.
        Kicked = "kicked",
        /// A rotation with `--disconnect`.
        KeyRotated = "key_rotated",
        /// In a cluster: another node took the name while this node could
        /// not renew its claim.
        NameLost = "name_lost",
        /// The client broke the protocol.
        Protocol = "protocol",
        /// chatd is stopping.
        Shutdown = "shutdown",
        /// The name's owner joined with its key.
        NameRegistered = "name_registered",
        /// A ban matched the session.
        Banned = "banned",
    }
}

label! {
    /// What kind of message was accepted.
    pub enum MessageKind: "kind" {
        /// A public message.
        Say = "say",
        /// An action (`/me`).
        Action = "action",
        /// A direct message.
        Dm = "dm",
    }
}

label! {
    /// Why an event of a joined user was refused: the `error` event's code.
    pub enum RefusedCode: "code" {
        /// `text_too_long`.
        TextTooLong = "text_too_long",
        /// `text_invalid`.
        TextInvalid = "text_invalid",
        /// `rate_limited`.
        RateLimited = "rate_limited",
        /// `no_such_user`.
        NoSuchUser = "no_such_user",
        /// `bad_event`.
        BadEvent = "bad_event",
        /// `names_open`.
        NamesOpen = "names_open",
        /// `other` (the log refused the message).
        Other = "other",
        /// `not_owner` (names bound to keys).
        NotOwner = "not_owner",
        /// `too_many_keys` (names bound to keys).
        TooManyKeys = "too_many_keys",
        /// `last_key` (names bound to keys).
        LastKey = "last_key",
        /// `not_operator` (moderation).
        NotOperator = "not_operator",
        /// `forbidden` (moderation).
        Forbidden = "forbidden",
        /// `muted` (moderation).
        Muted = "muted",
        /// `not_banned` (moderation).
        NotBanned = "not_banned",
        /// `not_muted` (moderation).
        NotMuted = "not_muted",
        /// `room_invalid` (rooms).
        RoomInvalid = "room_invalid",
        /// `no_such_room` (rooms).
        NoSuchRoom = "no_such_room",
        /// `not_in_room` (rooms).
        NotInRoom = "not_in_room",
        /// `too_many_rooms` (rooms).
        TooManyRooms = "too_many_rooms",
        /// `cannot_part` (rooms).
        CannotPart = "cannot_part",
    }
}

impl From<ErrorCode> for RefusedCode {
    fn from(code: ErrorCode) -> Self {
        match code {
            ErrorCode::TextTooLong => Self::TextTooLong,
            ErrorCode::TextInvalid => Self::TextInvalid,
            ErrorCode::RateLimited => Self::RateLimited,
            ErrorCode::NoSuchUser => Self::NoSuchUser,
            ErrorCode::BadEvent => Self::BadEvent,
            ErrorCode::NotOwner => Self::NotOwner,
            ErrorCode::TooManyKeys => Self::TooManyKeys,
            ErrorCode::LastKey => Self::LastKey,
            ErrorCode::NamesOpen => Self::NamesOpen,
            ErrorCode::NotOperator => Self::NotOperator,
            ErrorCode::Forbidden => Self::Forbidden,
            ErrorCode::Muted => Self::Muted,
            ErrorCode::NotBanned => Self::NotBanned,
            ErrorCode::NotMuted => Self::NotMuted,
            ErrorCode::RoomInvalid => Self::RoomInvalid,
            ErrorCode::NoSuchRoom => Self::NoSuchRoom,
            ErrorCode::NotInRoom => Self::NotInRoom,
            ErrorCode::TooManyRooms => Self::TooManyRooms,
            ErrorCode::CannotPart => Self::CannotPart,
            ErrorCode::Other => Self::Other,
        }
    }
}

label! {
    /// What an argon2 verification found.
    pub enum Argon2Result: "result" {
        /// The password matches.
        Match = "match",
        /// It does not.
        Mismatch = "mismatch",
    }
}

label! {
    /// A change of the admin-set join password.
    pub enum PasswordChange: "change" {
        /// `chatctl passwd`.
        Set = "set",
        /// `chatctl passwd --clear`.
        Clear = "clear",
    }
}

label! {
    /// Moderation through this node, by the admin or an operator.
    pub enum ModerationAction: "action" {
        /// A kick.
        Kick = "kick",
        /// A ban.
        Ban = "ban",
        /// A ban lifted.
        Unban = "unban",
        /// A mute.
        Mute = "mute",
        /// A mute lifted.
        Unmute = "unmute",
        /// A name made an operator of the room.
        Op = "op",
        /// An operator's rights taken back.
        Deop = "deop",
    }
}

impl ModerationAction {
    /// The action an entry of the record of moderation names (`None`:
    /// one that is not a moderation action, a name's removal).
    pub fn of(action: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|a| a.name() == action)
    }
}

label! {
    /// A name claim that met another node's.
    pub enum NameConflict: "kind" {
        /// A join refused: another node's claim holds the name.
        Taken = "taken",
        /// A claim of this node was another node's at its renewal (one
        /// merely gone is made again, and not counted).
        Lost = "lost",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check<L: Label + PartialEq + std::fmt::Debug>() {
        for (i, value) in L::ALL.iter().enumerate() {
            assert_eq!(value.index(), i, "{value:?}");
        }
    }

    #[test]
    fn every_value_is_at_its_index() {
        check::<ReloadResult>();
        check::<Refusal>();
        check::<Stage>();
        check::<HandshakeFailure>();
        check::<JoinOutcome>();
        check::<SessionEnd>();
        check::<MessageKind>();
        check::<RefusedCode>();
        check::<Argon2Result>();
        check::<PasswordChange>();
        check::<ModerationAction>();
        check::<NameConflict>();
    }

    #[test]
    fn protocol_codes_keep_their_wire_names() {
        let wire = |code: &dyn erased::Wire| code.wire();
        for code in [
            RejectCode::ServerFull,
            RejectCode::BadPassword,
            RejectCode::NameInvalid,
            RejectCode::NameTaken,
            RejectCode::BadRequest,
            RejectCode::Busy,
            RejectCode::Throttled,
            RejectCode::NameRegistered,
            RejectCode::BadIdentity,
            RejectCode::Banned,
        ] {
            assert_eq!(JoinOutcome::from(code).name(), wire(&code));
        }
        for code in [
            ErrorCode::TextTooLong,
            ErrorCode::TextInvalid,
            ErrorCode::RateLimited,
            ErrorCode::NoSuchUser,
            ErrorCode::BadEvent,
            ErrorCode::NotOwner,
            ErrorCode::TooManyKeys,
            ErrorCode::LastKey,
            ErrorCode::NamesOpen,
            ErrorCode::NotOperator,
            ErrorCode::Forbidden,
            ErrorCode::Muted,
            ErrorCode::NotBanned,
            ErrorCode::NotMuted,
            ErrorCode::Other,
        ] {
            assert_eq!(RefusedCode::from(code).name(), wire(&code));
        }
    }

    mod erased {
        pub trait Wire {
            fn wire(&self) -> String;
        }
        impl<T: serde::Serialize> Wire for T {
            fn wire(&self) -> String {
                serde_json::to_value(self)
                    .unwrap()
                    .as_str()
                    .unwrap()
                    .to_string()
            }
        }
    }
}
