//! The signals chatd acts on, turned into requests on its [`Handle`]:
//! SIGTERM and SIGINT stop it, SIGHUP reloads the configuration.

use tokio::signal::unix::{Signal, SignalKind, signal};

use crate::{Error, Handle};

/// The handlers, installed (before READY=1, so that a signal sent the
/// moment the service manager sees chatd ready is handled rather than
/// fatal) but not yet forwarded.
pub struct Signals {
    term: Signal,
    int: Signal,
    hup: Signal,
}

impl Signals {
    /// Installs the handlers; needs a running tokio runtime.
    pub fn install() -> Result<Self, Error> {
        let install = |kind| {
            signal(kind).map_err(|source| Error::Io {
                what: "installing signal handlers",
                source,
            })
        };
        Ok(Self {
            term: install(SignalKind::terminate())?,
            int: install(SignalKind::interrupt())?,
            hup: install(SignalKind::hangup())?,
        })
    }

    /// Forwards every signal to `handle` until the first SIGTERM or SIGINT.
    pub async fn forward(mut self, handle: Handle) {
        loop {
            tokio::select! {
                _ = self.term.recv() => break,
                _ = self.int.recv() => break,
                _ = self.hup.recv() => handle.reload(),
            }
        }
        handle.shutdown();
    }
}
