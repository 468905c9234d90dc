//! chatd's command line, on its own so that `build.rs` can include it too
//! and make chatd(8) and the shell completions from it (through
//! `chat-docgen`): what `--help` says and what `man chatd` says are the
//! same text.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;

/// The chat daemon: serves secure terminal chat over WebSocket.
///
/// Runs in the foreground and logs to stderr. With no flags and no config
/// file it listens on 127.0.0.1:1719 and keeps its key under your XDG state
/// directory; on first start it makes the server key, and `STATE_DIR/key`
/// holds the token people join with (`chatctl key` shows it too).
///
/// Signals: SIGHUP reloads the configuration; SIGTERM or SIGINT stop it
/// (every client is told, then it exits 0).
///
/// Exit codes: 0 stopped cleanly (or --check-config passed), 1 error
/// (bad configuration, state or address in use; the message says which),
/// 2 usage.
#[derive(Parser, Debug, Clone)]
#[command(name = "chatd", version, about, long_about)]
pub struct Cli {
    /// Address to listen on, e.g. 0.0.0.0:1719 or [::]:1719 [default: 127.0.0.1:1719].
    #[arg(long, value_name = "ADDR", value_parser = parse_listen)]
    pub listen: Option<SocketAddr>,
    /// Directory for the server key and password hash [default: $STATE_DIRECTORY, /var/lib/chatd as root, else $XDG_STATE_HOME/chatd].
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// Directory for the admin socket [default: $RUNTIME_DIRECTORY, /run/chatd as root, else $XDG_RUNTIME_DIR/chatd or /tmp/chatd-$UID].
    #[arg(long, value_name = "DIR")]
    pub runtime_dir: Option<PathBuf>,
    /// Configuration file [default: $CONFIGURATION_DIRECTORY/chatd.toml, /etc/chatd/chatd.toml as root, else $XDG_CONFIG_HOME/chatd/chatd.toml; none is fine].
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// File holding the join password (one trailing newline is stripped) [default: the systemd credential "password", if any]. Without a password anyone with the key may join.
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,
    /// Join a cluster: NATS server URLs, comma-separated (nats://HOST:PORT); nodes on one NATS share one room. Needs cluster_credentials unless every URL is loopback.
    #[arg(long, value_name = "URL")]
    pub cluster: Option<String>,
    /// This node's name in the cluster [default: the host name].
    #[arg(long, value_name = "NAME")]
    pub node_name: Option<String>,
    /// Check the configuration, print the effective settings (no secrets) and exit.
    #[arg(long)]
    pub check_config: bool,
}

/// `--listen`: an IP address and a port, so that a typo is a usage error.
fn parse_listen(text: &str) -> Result<SocketAddr, String> {
    text.parse().map_err(|_| {
        "expected an IP address and a port, like 127.0.0.1:1719, 0.0.0.0:1719 or [::]:1719 (no host names)".to_string()
    })
}
