//! How a session ends: [`Ending`] says why (the sealed `Bye` if any, the
//! close code, what the room is told), and [`Control`] is the switch that
//! ends one session, reachable from the room, the admin API and the
//! session's own reader and writer. The first reason given wins.

use std::sync::{Arc, Mutex};

use chat_protocol::ByeCode;

use crate::metrics::labels::SessionEnd;
use tokio_util::sync::CancellationToken;

/// Longest reason a user may give for leaving that the room is shown.
pub const MAX_LEAVE_REASON: usize = 200;

/// How and why a session ends; the first reason given wins.
#[derive(Clone, Debug)]
pub struct Ending {
    /// The sealed `Bye` to send first, if the peer is still trusted.
    pub bye: Option<(ByeCode, String)>,
    /// The WebSocket close code.
    pub close_code: u16,
    /// The close frame's reason (informal; empty unless the peer broke the
    /// protocol).
    pub close_reason: String,
    /// What the others are told in the `leave` event.
    pub leave_reason: String,
    /// With a `Bye` `banned`: when the ban ends, Unix milliseconds.
    pub until: Option<u64>,
    /// Keep the socket open a moment after the close frame: the peer's
    /// unread bytes would otherwise make the kernel reset the connection
    /// before the peer reads why it was closed.
    pub linger: bool,
    /// Why, as `chatd_sessions_ended_total` counts a joined session's end.
    pub reason: SessionEnd,
}

impl Ending {
    fn without_bye(reason: SessionEnd, close_code: u16, leave: impl Into<String>) -> Self {
        Self {
            bye: None,
            close_code,
            close_reason: String::new(),
            leave_reason: leave.into(),
            until: None,
            linger: false,
            reason,
        }
    }

    fn with_bye(
        reason: SessionEnd,
        code: ByeCode,
        bye: impl Into<String>,
        close_code: u16,
        leave: impl Into<String>,
    ) -> Self {
        Self {
            bye: Some((code, bye.into())),
            ..Self::without_bye(reason, close_code, leave)
        }
    }

    /// The user asked to leave, with the reason they gave: shown to the
    /// room in quotes (so no one can pass their words off as the server's,
    /// `left: "kicked: spam"`), when it is one line of at most
    /// [`MAX_LEAVE_REASON`] bytes.
    pub fn left(reason: &str) -> Self {
        let fits = !reason.trim().is_empty()
            && reason.len() <= MAX_LEAVE_REASON
            && !reason.chars().any(char::is_control);
        let shown = if fits {
            format!("left: {reason:?}")
        } else {
            "left".to_string()
        };
        Self::without_bye(SessionEnd::Left, chat_protocol::close::NORMAL, shown)
    }

    /// The join was refused: the sealed `Reject`, already sent, serves as
    /// the `Bye`.
    pub fn rejected() -> Self {
        Self::without_bye(SessionEnd::Left, chat_protocol::close::NORMAL, "refused")
    }

    /// The connection broke without a goodbye.
    pub fn lost() -> Self {
        Self::without_bye(
            SessionEnd::Lost,
            chat_protocol::close::NORMAL,
            "connection lost",
        )
    }

    /// The peer sent something that failed to open or was not sealed.
    pub fn untrusted(close_code: u16, why: &str) -> Self {
        Self {
            close_reason: why.to_string(),
            ..Self::without_bye(
                SessionEnd::Protocol,
                close_code,
                format!("connection lost ({why})"),
            )
        }
    }

    /// An admin kicked the user.
    pub fn kicked(reason: &str) -> Self {
        let (bye, leave) = if reason.is_empty() {
            (
                "kicked by the admin".to_string(),
                "kicked by the admin".to_string(),
            )
        } else {
            (reason.to_string(), format!("kicked: {reason}"))
        };
        Self::with_bye(
            SessionEnd::Kicked,
            ByeCode::Kicked,
            bye,
            chat_protocol::close::NORMAL,
            leave,
        )
    }

    /// A moderator banned the user's name, identity or address: the `Bye`
    /// carries the ban's reason (`""` when none was given: the client
    /// words it) and end; the room is told `banned: <reason>`.
    pub fn banned(reason: Option<&str>, until: Option<u64>) -> Self {
        let leave = match reason {
            Some(reason) => format!("banned: {reason}"),
            None => "banned".to_string(),
        };
        let mut ending = Self::with_bye(
            SessionEnd::Banned,
            ByeCode::Banned,
            reason.unwrap_or_default(),
            chat_protocol::close::NORMAL,
            leave,
        );
        ending.until = until;
        ending
    }

    /// The user's queue overflowed.
    pub fn too_slow(queued: usize) -> Self {
        Self::with_bye(
            SessionEnd::TooSlow,
            ByeCode::TooSlow,
            format!("your connection fell {queued} messages behind"),
            chat_protocol::close::NORMAL,
            "too slow",
        )
    }

    /// No sign of life within the keepalive timeout. Lingers: the peer's
    /// answers may be waiting unread (chatd itself was stopped or starved
    /// past the timeout, say), and closing over them would reset the
    /// connection before the peer reads its `Bye`.
    pub fn timeout() -> Self {
        let mut ending = Self::with_bye(
            SessionEnd::Timeout,
            ByeCode::Timeout,
            "no answer to keepalive",
            chat_protocol::close::NORMAL,
            "timed out",
        );
        ending.linger = true;
        ending
    }

    /// The `Auth` did not come within the handshake deadline.
    pub fn handshake_timeout() -> Self {
        Self::with_bye(
            SessionEnd::Timeout,
            ByeCode::Timeout,
            "handshake deadline missed",
            chat_protocol::close::POLICY,
            "handshake deadline missed",
        )
    }

    /// The key the session joined with was withdrawn.
    pub fn key_rotated() -> Self {
        Self::with_bye(
            SessionEnd::KeyRotated,
            ByeCode::KeyRotated,
            "the server's key was rotated; ask the admin for the new key (`chatctl key`)",
            chat_protocol::close::NORMAL,
            "key rotated",
        )
    }

    /// The cluster gave the user's name to someone on another node (this
    /// node could not renew its claim while NATS was out of reach).
    pub fn name_lost() -> Self {
        Self::with_bye(
            SessionEnd::NameLost,
            ByeCode::Other,
            "this server lost its hold on your name while the cluster was out of reach, and someone else has it now; join again with another name",
            chat_protocol::close::NORMAL,
            "name lost",
        )
    }

    /// The owner of the registered name `name` joined, proving one of its
    /// keys, and this session had proved none of them.
    pub fn name_registered(name: &str) -> Self {
        Self::with_bye(
            SessionEnd::NameRegistered,
            ByeCode::NameRegistered,
            format!(
                "the name \"{name}\" is registered, and its owner joined proving one of its keys; join again with another name"
            ),
            chat_protocol::close::NORMAL,
            "replaced by the name's owner",
        )
    }

    /// The server is shutting down.
    pub fn shutdown() -> Self {
        Self::with_bye(
            SessionEnd::Shutdown,
            ByeCode::Shutdown,
            "the server is shutting down",
            chat_protocol::close::GOING_AWAY,
            "server shutdown",
        )
    }

    /// A message over the size limit; `size` when it is known (a message
    /// over the WebSocket cap is refused before it is read whole).
    pub fn too_big(size: Option<usize>, limit: usize) -> Self {
        let mut ending = Self::with_bye(
            SessionEnd::Protocol,
            ByeCode::Protocol,
            match size {
                Some(size) => format!("a message of {size} bytes is over the limit of {limit}"),
                None => format!("a message is over the limit of {limit} bytes"),
            },
            chat_protocol::close::TOO_BIG,
            "sent an oversized message",
        );
        ending.linger = true;
        ending
    }
}

/// The switch that ends one session, reachable from the hub and the admin API.
pub struct Control {
    cancel: CancellationToken,
    shutdown: CancellationToken,
    ending: Mutex<Option<Ending>>,
}

impl Control {
    /// A control that also fires when `parent` (the server's shutdown) does.
    pub fn new(parent: &CancellationToken) -> Arc<Self> {
        Arc::new(Self {
            cancel: parent.child_token(),
            shutdown: parent.clone(),
            ending: Mutex::new(None),
        })
    }

    /// Ends the session for `why`, unless it is already ending.
    pub fn end(&self, why: Ending) {
        let mut slot = self.ending.lock().expect("lock");
        // A cancellation without a reason came from the shutdown: keep it so.
        if slot.is_none() && !self.cancel.is_cancelled() {
            *slot = Some(why);
        }
        drop(slot);
        self.cancel.cancel();
    }

    /// Why the session ends; a cancellation without a reason is the shutdown.
    pub fn ending(&self) -> Ending {
        self.ending
            .lock()
            .expect("lock")
            .clone()
            .unwrap_or_else(Ending::shutdown)
    }

    /// Whether the session has been told to end.
    pub fn is_ending(&self) -> bool {
        self.cancel.is_cancelled()
    }

    /// Resolves when the session must end.
    pub fn cancelled(&self) -> tokio_util::sync::WaitForCancellationFuture<'_> {
        self.cancel.cancelled()
    }

    /// Resolves when the whole server shuts down (a narrower signal than
    /// [`Control::cancelled`], for work that only the shutdown may cut).
    pub fn shutting_down(&self) -> tokio_util::sync::WaitForCancellationFuture<'_> {
        self.shutdown.cancelled()
    }
}
