//! The sockets chatd serves on: taken from systemd, or bound.

use std::net::SocketAddr;
use std::path::PathBuf;

use tokio::net::{TcpListener, UnixListener};

use crate::Error;
use crate::config::{Config, ConfigError};
use crate::{admin, systemd};

/// The sockets chatd serves on: the chat listener, the admin socket, and
/// the metrics listener if one is configured.
pub struct Listeners {
    /// The chat listener (TCP).
    pub chat: TcpListener,
    /// The admin API's Unix socket.
    pub admin: UnixListener,
    /// The admin socket's path when chatd bound it (removed at exit);
    /// `None` when the service manager passed it.
    pub admin_path: Option<PathBuf>,
    /// The metrics listener (`metrics_listen`), always bound by chatd.
    pub metrics: Option<TcpListener>,
}

impl Listeners {
    /// Takes the sockets the service manager passed (`LISTEN_FDS`), or
    /// binds `config.listen` and `RUNTIME_DIR/admin.sock`; binds
    /// `metrics_listen` either way (systemd passes the chat socket only).
    /// Done before the state directory is touched, so that a chatd that
    /// cannot listen leaves nothing behind.
    pub async fn open(config: &Config, admin_gid: Option<u32>) -> Result<Self, Error> {
        let runtime_dir = config.runtime_dir.clone().expect("resolved before start");
        let activated = if systemd::activated() {
            systemd::take_listeners()?
        } else {
            Default::default()
        };
        let chat = match activated.chat {
            Some(std_listener) => {
                TcpListener::from_std(std_listener).map_err(|source| Error::Io {
                    what: "using the inherited chat socket",
                    source,
                })?
            }
            None => {
                let addr: SocketAddr =
                    config
                        .listen_addr()
                        .map_err(|invalid| ConfigError::Invalid {
                            place: String::new(),
                            invalid,
                        })?;
                TcpListener::bind(addr)
                    .await
                    .map_err(|source| Error::Listen {
                        addr,
                        hint: bind_hint(&source),
                        source,
                    })?
            }
        };
        let metrics = match config
            .metrics_addr()
            .map_err(|invalid| ConfigError::Invalid {
                place: String::new(),
                invalid,
            })? {
            Some(addr) => {
                Some(
                    TcpListener::bind(addr)
                        .await
                        .map_err(|source| Error::MetricsListen {
                            addr,
                            hint: metrics_hint(&source),
                            source,
                        })?,
                )
            }
            None => None,
        };
        let (admin, admin_path) = match activated.admin {
            Some(listener) => (listener, None),
            None => (
                admin::bind(&runtime_dir, admin_gid)?,
                Some(admin::socket_path(&runtime_dir)),
            ),
        };
        let admin = UnixListener::from_std(admin).map_err(|source| Error::Io {
            what: "using the admin socket",
            source,
        })?;
        Ok(Self {
            chat,
            admin,
            admin_path,
            metrics,
        })
    }
}

/// What to do about a failed bind, by its cause.
fn bind_hint(e: &std::io::Error) -> &'static str {
    match e.kind() {
        std::io::ErrorKind::AddrInUse => {
            " (another server is using it: stop it, or choose another address with --listen)"
        }
        std::io::ErrorKind::AddrNotAvailable => {
            " (this machine has no such address: see `ip addr`, or listen on 0.0.0.0 or [::])"
        }
        std::io::ErrorKind::PermissionDenied => {
            " (ports below 1024 need root or CAP_NET_BIND_SERVICE: choose a higher port)"
        }
        _ => " (choose another address with --listen)",
    }
}

/// What to do about a failed bind of the metrics listener.
fn metrics_hint(e: &std::io::Error) -> &'static str {
    match e.kind() {
        std::io::ErrorKind::AddrInUse => {
            " (another server is using it: stop it, or choose another port in metrics_listen)"
        }
        std::io::ErrorKind::AddrNotAvailable => {
            " (this machine has no such address: see `ip addr`, and fix metrics_listen)"
        }
        std::io::ErrorKind::PermissionDenied => {
            " (ports below 1024 need root or CAP_NET_BIND_SERVICE: choose a higher port in metrics_listen)"
        }
        _ => " (choose another address in metrics_listen)",
    }
}
