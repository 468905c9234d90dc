//! systemd glue: readiness and status notifications (and more time to
//! start, while a node waits for NATS), the watchdog, and
//! socket activation. Everything here is a no-op without systemd
//! (no `NOTIFY_SOCKET`, no `LISTEN_FDS`), so chatd runs the same by hand.

use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::sync::OnceLock;
use std::sync::mpsc::{self, SyncSender, TrySendError};
use std::time::Duration;

use sd_notify::NotifyState;

/// Notifications waiting for the sender thread; past this, new ones are
/// dropped (the manager reads none: a stale status or a late watchdog
/// ping is worth nothing).
const WAITING: usize = 64;

/// What the sender thread is given: a notification, or a flush to answer.
enum Outgoing {
    States(String),
    Flush(mpsc::Sender<()>),
}

/// The sender thread's queue; `None` without a manager (no
/// `NOTIFY_SOCKET`) or when the thread could not start.
fn outbox() -> Option<&'static SyncSender<Outgoing>> {
    static OUTBOX: OnceLock<Option<SyncSender<Outgoing>>> = OnceLock::new();
    OUTBOX
        .get_or_init(|| {
            std::env::var_os("NOTIFY_SOCKET")?;
            let (tx, rx) = mpsc::sync_channel(WAITING);
            let spawned = std::thread::Builder::new()
                .name("sd-notify".into())
                .spawn(move || {
                    for outgoing in rx {
                        match outgoing {
                            Outgoing::States(states) => {
                                let sent = sd_notify::notify(&[NotifyState::Custom(&states)]);
                                if let Err(e) = sent {
                                    tracing::debug!(error = %e, "sd_notify failed");
                                }
                            }
                            Outgoing::Flush(done) => {
                                let _ = done.send(());
                            }
                        }
                    }
                });
            match spawned {
                Ok(_) => Some(tx),
                Err(e) => {
                    tracing::warn!("cannot start the thread that notifies systemd ({e}); systemd is not told chatd's state");
                    None
                }
            }
        })
        .as_ref()
}

/// Sends states to the service manager, if there is one, in order, from a
/// thread of its own: a send blocks while the manager's queue is full (it
/// holds 10 datagrams by default), and a runtime worker blocked there
/// would stall the sessions and the admin API with it. Failures are
/// logged at debug level: a missing manager is not an error.
pub fn notify(states: &[NotifyState]) {
    let Some(outbox) = outbox() else {
        return;
    };
    let text = states
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n");
    if let Err(TrySendError::Full(_)) = outbox.try_send(Outgoing::States(text)) {
        tracing::debug!("the service manager reads no notifications: one is dropped");
    }
}

/// Waits (at most `within`) until every notification sent so far is out,
/// so that the last ones (STOPPING=1) are not lost when chatd exits.
pub fn flush(within: Duration) {
    let Some(outbox) = outbox() else {
        return;
    };
    let (done, flushed) = mpsc::channel();
    if outbox.try_send(Outgoing::Flush(done)).is_ok() {
        let _ = flushed.recv_timeout(within);
    }
}

/// READY=1 with a status line.
pub fn ready(status: &str) {
    notify(&[NotifyState::Ready, NotifyState::Status(status)]);
}

/// STATUS=… alone.
pub fn status(status: &str) {
    notify(&[NotifyState::Status(status)]);
}

/// RELOADING=1 with MONOTONIC_USEC (required by systemd ≥ 253).
pub fn reloading() {
    let mut states = vec![
        NotifyState::Reloading,
        NotifyState::Status("reloading configuration"),
    ];
    if let Ok(now) = NotifyState::monotonic_usec_now() {
        states.push(now);
    }
    notify(&states);
}

/// EXTEND_TIMEOUT_USEC=…: the start may take `by` more from now (a node
/// waiting for NATS, say), with a status line saying why.
pub fn extend_start(by: Duration, why: &str) {
    let usec = u32::try_from(by.as_micros()).unwrap_or(u32::MAX);
    notify(&[
        NotifyState::ExtendTimeoutUsec(usec),
        NotifyState::Status(why),
    ]);
}

/// STOPPING=1.
pub fn stopping() {
    notify(&[NotifyState::Stopping, NotifyState::Status("shutting down")]);
}

/// How often to send WATCHDOG=1, when the manager asked for it (half its timeout).
pub fn watchdog_interval() -> Option<Duration> {
    sd_notify::watchdog_enabled().map(|d| d / 2)
}

/// WATCHDOG=1.
pub fn watchdog() {
    notify(&[NotifyState::Watchdog]);
}

/// Listeners handed over by the service manager.
#[derive(Default)]
pub struct Activated {
    /// The chat listener (a TCP socket).
    pub chat: Option<std::net::TcpListener>,
    /// The admin listener (a Unix stream socket).
    pub admin: Option<std::os::unix::net::UnixListener>,
}

/// Whether `fd` is a listening stream socket (not UDP, not a connected one).
fn is_listening_stream(fd: RawFd) -> bool {
    let get = |option: libc::c_int| -> Option<libc::c_int> {
        let mut value: libc::c_int = 0;
        let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        // SAFETY: getsockopt into a local int of the size we pass.
        let rc = unsafe {
            libc::getsockopt(
                fd,
                libc::SOL_SOCKET,
                option,
                (&raw mut value).cast(),
                &mut len,
            )
        };
        (rc == 0).then_some(value)
    };
    get(libc::SO_TYPE) == Some(libc::SOCK_STREAM) && get(libc::SO_ACCEPTCONN) == Some(1)
}

fn family(fd: RawFd) -> Option<libc::sa_family_t> {
    // SAFETY: getsockname on a descriptor handed to us, into a zeroed storage
    // of the size we pass.
    unsafe {
        let mut storage: libc::sockaddr_storage = std::mem::zeroed();
        let mut len = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
        if libc::getsockname(fd, (&raw mut storage).cast(), &mut len) != 0 {
            return None;
        }
        Some(storage.ss_family)
    }
}

/// Why the sockets the service manager passed cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ActivationError {
    /// `LISTEN_FDS` and friends do not parse.
    #[error("LISTEN_FDS is set but unusable: {0}")]
    Unusable(std::io::Error),
    /// A descriptor that is not one of ours.
    #[error(
        "socket activation passed descriptor {0}, which is not a listening TCP socket nor the one admin Unix socket; check ListenStream= in the .socket unit"
    )]
    Unexpected(std::os::fd::RawFd),
    /// An inherited socket cannot be made non-blocking.
    #[error("inherited {which} socket: {source}")]
    Setup {
        /// "chat" or "admin".
        which: &'static str,
        /// The system's error.
        source: std::io::Error,
    },
}

/// Takes the sockets passed with `LISTEN_FDS`: TCP ones serve chat, a Unix
/// one serves the admin API. Anything else is refused with a clear error.
pub fn take_listeners() -> Result<Activated, ActivationError> {
    let fds = sd_notify::listen_fds().map_err(ActivationError::Unusable)?;
    let mut activated = Activated::default();
    for fd in fds {
        let kind = if is_listening_stream(fd) {
            family(fd)
        } else {
            None
        };
        // SAFETY: systemd passed this descriptor to us and nothing else owns it.
        let owned = unsafe { OwnedFd::from_raw_fd(fd) };
        match kind.map(i32::from) {
            Some(libc::AF_INET | libc::AF_INET6) if activated.chat.is_none() => {
                activated.chat = Some(std::net::TcpListener::from(owned));
            }
            Some(libc::AF_UNIX) if activated.admin.is_none() => {
                activated.admin = Some(std::os::unix::net::UnixListener::from(owned));
            }
            _ => {
                return Err(ActivationError::Unexpected(fd));
            }
        }
    }
    // tokio needs non-blocking sockets; systemd hands them over blocking.
    if let Some(l) = &activated.chat {
        l.set_nonblocking(true)
            .map_err(|source| ActivationError::Setup {
                which: "chat",
                source,
            })?;
    }
    if let Some(l) = &activated.admin {
        l.set_nonblocking(true)
            .map_err(|source| ActivationError::Setup {
                which: "admin",
                source,
            })?;
    }
    Ok(activated)
}

/// Whether the service manager passed sockets.
pub fn activated() -> bool {
    std::env::var_os("LISTEN_FDS").is_some()
}
