//! The daemon's error: what can stop it from starting or from reloading.
//! Each module has an error of its own that says what went wrong and what
//! to do; this one gathers them, so that `main` has one thing to report.

use std::net::SocketAddr;

use crate::admin::BindError;
use crate::config::ConfigError;
use crate::store::StoreError;
use crate::store::password::PasswordError;
use crate::systemd::ActivationError;

/// Why chatd cannot start, or cannot reload its configuration.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The configuration.
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
    /// A log filter that does not parse: `log_level = "…": …`.
    #[error("{0}")]
    LogFilter(String),
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
    /// The configured admin group does not exist.
    #[error("admin_group = \"{0}\": no such group; create it (`groupadd {0}`) or fix the config")]
    NoSuchGroup(String),
    /// A stored password hash chatd will not use.
    #[error("{}/password: {problem}; remove it, or set a new password with `chatctl passwd`", dir.display())]
    StoredHash {
        /// The state directory.
        dir: std::path::PathBuf,
        /// What is wrong with the hash.
        problem: PasswordError,
    },
    /// The room's history file exists but cannot be read: starting without
    /// it would rewrite it and give its message ids out again.
    #[error("cannot read {}: {source}; chatd needs it to continue the room's history and message ids: fix its permissions (chatd's user reads and writes it, mode 600), or move it away to start the history afresh", path.display())]
    History {
        /// The file.
        path: std::path::PathBuf,
        /// The system's error.
        source: std::io::Error,
    },
    /// The cluster (NATS) named by `cluster` could not be joined. (Not a
    /// `source`: the message already holds it, and `main` prints the chain.)
    #[error("cluster: {0}")]
    Cluster(crate::cluster::ClusterError),
    /// Another system call failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The system's error.
        source: std::io::Error,
    },
}

impl From<crate::cluster::ClusterError> for Error {
    fn from(e: crate::cluster::ClusterError) -> Self {
        Error::Cluster(e)
    }
}
