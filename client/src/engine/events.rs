//! What passes between the [`Engine`](super::Engine) and a front end,
//! besides the commands: why it woke ([`Wake`]), the state of the link
//! ([`Link`]) and what happened ([`Event`]).

use chat_protocol::{Member, RoomJoined, RoomName, ServerEvent, Welcome};
use tokio::time::Instant;

use super::Pending;
use crate::connection::{Incoming, JoinError};
use crate::exit::{Exit, Failure};

/// What woke the engine up; pass it to [`Engine::handle`](super::Engine::handle).
pub enum Wake {
    /// The server sent something (or the link ended).
    Incoming(Incoming),
    /// The pacer lets the next queued line go.
    SendDue,
    /// The backoff is over: time to join again.
    RetryDue,
    /// A join in progress finished.
    Joined(Box<Result<crate::connection::Joined, JoinError>>),
}

/// The state of the link to the server, for a status bar.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Link {
    /// Joined.
    Up,
    /// Waiting to join again, at `at`.
    Waiting {
        /// When the next attempt starts.
        at: Instant,
        /// Attempts made since the link was lost.
        attempt: u32,
    },
    /// A join is in progress.
    Joining,
    /// The session is over.
    Down,
}

/// What a front end is told.
#[derive(Debug)]
pub enum Event {
    /// The server sent this; `raw` is its JSON as received.
    Server {
        /// The event.
        event: ServerEvent,
        /// Its JSON.
        raw: Vec<u8>,
    },
    /// Who is in a room (`None`: the default room), exactly: the answer
    /// to [`Engine::refresh_users`](super::Engine::refresh_users), which
    /// shows nothing: the names, and the `members` when the server sends
    /// them.
    Users(Option<RoomName>, Vec<String>, Vec<Member>),
    /// The server's answer to a line came: it was taken.
    Confirmed(u64),
    /// The server refused a line (an `error` event, also given as
    /// [`Event::Server`]).
    Refused(u64),
    /// A line whose fate cannot be known after the link dropped (a direct
    /// message: history does not hold them); it is not sent again.
    Unknown(Pending),
    /// The link is gone; a rejoin follows (see [`Link::Waiting`]).
    Lost(String),
    /// Joined again. `welcome.history` holds only what was not shown yet;
    /// `gap` says that messages may have been missed before it.
    Rejoined {
        /// The new welcome, its history merged.
        welcome: Welcome,
        /// Whether the history may not cover the time away.
        gap: bool,
        /// The server joined (one of several, maybe another than before).
        url: String,
    },
    /// A room joined again after a reconnect (its `join_room {room,
    /// after}` answered): `joined.history` holds only what was not shown
    /// yet, `gap` says that messages of the room may have been missed.
    RoomRejoined {
        /// The room's new welcome, its history merged.
        joined: RoomJoined,
        /// Whether the history may not cover the time away.
        gap: bool,
    },
    /// The session is no longer in this room and could not join it again
    /// after a reconnect; the server's words (its `error`, given before
    /// as [`Event::Server`]).
    RoomLost(RoomName, String),
    /// A rejoin attempt failed, and another follows.
    RetryFailed(String),
    /// The session is over; `failure` says why and how to exit, `remedy`
    /// what the user could give to join again.
    Ended {
        /// Why, and the exit code.
        failure: Failure,
        /// A new password or key that would let a rejoin succeed.
        remedy: Remedy,
    },
}

/// What could let a session that ended join again: a full-screen client
/// asks for it in place ([`Engine::reconnect_now`](super::Engine::reconnect_now)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Remedy {
    /// Nothing the user can type (a kick, a ban, a full server).
    Nothing,
    /// A password: the server refused the one given (it changed).
    Password,
    /// A key: the server no longer accepts this one (it was rotated).
    Key,
}

impl Remedy {
    /// What can help after `failure`; `key_rotated` says that a `Bye`
    /// ended the session because the key was withdrawn.
    pub fn after(failure: &Failure, key_rotated: bool) -> Self {
        match failure.exit {
            Exit::BadPassword => Self::Password,
            Exit::KeyMismatch => Self::Key,
            Exit::Disconnected if key_rotated => Self::Key,
            _ => Self::Nothing,
        }
    }
}
