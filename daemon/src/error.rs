//! The daemon's error: what can stop it from starting. Each part has an
//! error of its own that says what went wrong and what to do; this one
//! gathers them, so that `main` has one thing to report. Only the service
//! (`crate::service`) returns it: the parts below know nothing of it.

use std::net::SocketAddr;

use crate::admin::BindError;
use crate::cluster::ClusterError;
use crate::cluster::start::StartError;
use crate::config::ConfigError;
use crate::log::HistoryError;
use crate::store::StoreError;
use crate::store::password::PasswordError;
use crate::systemd::ActivationError;

/// Why chatd cannot start.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The configuration (a log filter that does not parse, an admin
    /// group that does not exist included).
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The state directory or its files.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The admin socket.
    #[error(transparent)]
    Bind(#[from] BindError),
    /// The password file, or a stored hash.
    #[error(transparent)]
    Password(#[from] PasswordError),
    /// The sockets the service manager passed.
    #[error(transparent)]
    Activation(#[from] ActivationError),
    /// The chat address cannot be listened on.
    #[error("cannot listen on {addr}: {source}{hint}")]
    Listen {
        /// The address.
        addr: SocketAddr,
        /// The system's error.
        source: std::io::Error,
        /// What to do, by the error's kind.
        hint: &'static str,
    },
    /// The metrics address cannot be listened on.
    #[error("cannot listen on {addr} for the metrics: {source}{hint}")]
    MetricsListen {
        /// The address (`metrics_listen`).
        addr: SocketAddr,
        /// The system's error.
        source: std::io::Error,
        /// What to do, by the error's kind.
        hint: &'static str,
    },
    /// A stored password hash chatd will not use.
    #[error("{}/password: {problem}; remove it, or set a new password with `chatctl passwd`", dir.display())]
    StoredHash {
        /// The state directory.
        dir: std::path::PathBuf,
        /// What is wrong with the hash.
        problem: PasswordError,
    },
    /// The room's history file exists but cannot be read.
    #[error(transparent)]
    History(#[from] HistoryError),
    /// The cluster (NATS) named by `cluster` could not be joined. (Not a
    /// `source`: the message already holds it, and `main` prints the chain.)
    #[error("cluster: {0}")]
    Cluster(ClusterError),
    /// Another system call failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The system's error.
        source: std::io::Error,
    },
}

impl From<StartError> for Error {
    fn from(e: StartError) -> Self {
        match e {
            StartError::Cluster(e) => Error::Cluster(e),
            StartError::Store(e) => Error::Store(e),
            StartError::History(e) => Error::History(e),
        }
    }
}
