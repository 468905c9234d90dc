//! Why the cluster could not be used: each error says what failed and
//! what to check.

use std::path::PathBuf;
use std::time::Duration;

/// Why the cluster could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// No NATS server answered.
    #[error(
        "cannot reach NATS at {urls}: {reason}; check that nats-server runs there (with -js) and the URL"
    )]
    Connect {
        /// The URLs tried.
        urls: String,
        /// What failed.
        reason: String,
    },
    /// NATS answered but refused this node (its credentials, TLS).
    #[error(
        "NATS at {urls} refused this node: {reason}; check cluster_credentials and the URL (nats:// or tls://)"
    )]
    Refused {
        /// The URLs tried.
        urls: String,
        /// What failed.
        reason: String,
    },
    /// A value the cluster keeps does not read (another program wrote it).
    #[error("{what}: {reason}")]
    BadValue {
        /// What was being done.
        what: &'static str,
        /// What is wrong, and the fix.
        reason: String,
    },
    /// NATS or its JetStream was not ready within `cluster_start_timeout`.
    #[error(
        "NATS was not ready within cluster_start_timeout ({}): {last}; check that nats-server runs (with JetStream) at the cluster URLs, or raise cluster_start_timeout",
        chat_protocol::duration::format(*waited)
    )]
    NotReady {
        /// How long the start waited.
        waited: Duration,
        /// What refused the last try.
        last: Box<ClusterError>,
    },
    /// The credentials file could not be read or used.
    #[error("cluster_credentials {path}: {reason}")]
    Credentials {
        /// The file.
        path: PathBuf,
        /// What failed.
        reason: String,
    },
    /// A JetStream request failed (JetStream off, a limit, NATS gone).
    #[error("NATS JetStream: {what}: {reason}")]
    JetStream {
        /// What was being done.
        what: &'static str,
        /// What failed.
        reason: String,
    },
    /// Another live node has this node's name.
    #[error(
        "another node named {node:?} is alive in this cluster (listening on {listen}); give each node its own node_name (--node-name), or stop the other one"
    )]
    NameInUse {
        /// The name.
        node: String,
        /// Where the other one listens.
        listen: String,
    },
    /// The room name cannot name NATS streams and buckets.
    #[error("cluster room {0:?}: use 1-32 of A-Z a-z 0-9 _ -")]
    Room(String),
}

impl ClusterError {
    pub(crate) fn js(what: &'static str, err: impl std::fmt::Display) -> Self {
        ClusterError::JetStream {
            what,
            reason: err.to_string(),
        }
    }
}
