//! The daemon as a whole: its sockets ([`Listeners`]), start-up from them,
//! the serve loop and shutdown ([`run`]), steered through a [`Handle`].

pub mod banner;
pub mod process;
pub mod signals;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize};
use std::sync::{Arc, RwLock};
use std::time::SystemTime;

use tokio::net::{TcpListener, UnixListener};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::Error;
use crate::config::{Config, ConfigError};
use crate::door::accept as server;
use crate::hub::presence;
use crate::ops::{reload, rotate as keys, status};
use crate::per_address::password_guesses::Guesses;
use crate::state::{App, AppState, KeySet, now_secs};
use crate::store::password;
use crate::{admin, hub, logging, store, systemd};

/// What the outside asks of a running daemon: stop, or reload the
/// configuration. `main` forwards the signals to it (SIGTERM/SIGINT,
/// SIGHUP); a test calls it directly.
#[derive(Clone, Default)]
pub struct Handle {
    shutdown: CancellationToken,
    reload: Arc<Notify>,
}

impl Handle {
    /// A handle for a daemon not yet started.
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks the daemon to stop: every session gets a goodbye, then
    /// [`run`] returns.
    pub fn shutdown(&self) {
        self.shutdown.cancel();
    }

    /// Asks the daemon to read its configuration again, as SIGHUP does.
    pub fn reload(&self) {
        self.reload.notify_one();
    }
}

/// The sockets chatd serves on: the chat listener and the admin socket.
pub struct Listeners {
    /// The chat listener (TCP).
    pub chat: TcpListener,
    /// The admin API's Unix socket.
    pub admin: UnixListener,
    /// The admin socket's path when chatd bound it (removed at exit);
    /// `None` when the service manager passed it.
    pub admin_path: Option<PathBuf>,
}

impl Listeners {
    /// Takes the sockets the service manager passed (`LISTEN_FDS`), or
    /// binds `config.listen` and `RUNTIME_DIR/admin.sock`. Done before the
    /// state directory is touched, so that a chatd that cannot listen
    /// leaves nothing behind.
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

/// What the configuration names that only this machine can confirm: the
/// log filter parses and the admin group exists (its gid is returned).
/// Checked at start, by `--check-config` and on reload, so that neither a
/// check nor a reload passes a configuration that the next start would
/// refuse.
pub fn check_machine(config: &Config) -> Result<Option<u32>, Error> {
    logging::filter(&config.log_level)?;
    match &config.admin_group {
        Some(name) => Ok(Some(
            admin::peer::group_gid(name).ok_or_else(|| Error::NoSuchGroup(name.clone()))?,
        )),
        None => Ok(None),
    }
}

/// Serves chat and the admin API on `listeners` until `handle` says stop:
/// loads the keys and the password from `store` (opened, and so locked, by
/// the caller before it bound the listeners), tells systemd READY=1,
/// serves, and at the end gives every session its goodbye within
/// `shutdown_timeout`.
pub async fn run(
    config: Config,
    store: store::Store,
    listeners: Listeners,
    reloader: reload::Reloader,
    handle: Handle,
) -> Result<(), Error> {
    let Listeners {
        chat,
        admin: admin_listener,
        admin_path,
    } = listeners;
    let listen_addr = chat.local_addr().map_err(|source| Error::Io {
        what: "reading the bound address",
        source,
    })?;
    let (app, token, created) =
        match assemble(config, store, listen_addr, reloader, handle.clone()).await {
            Ok(assembled) => assembled,
            Err(e) => {
                // Nothing was served: the socket chatd made goes with it.
                if let Some(path) = &admin_path {
                    let _ = std::fs::remove_file(path);
                }
                return Err(e);
            }
        };
    banner::started(&app, &token, created, admin_path.as_deref());

    let admin_service =
        admin::router(app.clone()).into_make_service_with_connect_info::<admin::peer::Peer>();
    let admin_server = tokio::spawn(
        axum::serve(admin_listener, admin_service)
            .with_graceful_shutdown(app.shutdown.clone().cancelled_owned())
            .into_future(),
    );
    tokio::spawn(serve_reloads(app.clone(), handle.reload.clone()));
    tokio::spawn(status::run(app.clone()));
    let summaries = app.clone();
    tokio::spawn(async move { presence::run(&summaries.hub, &summaries.shutdown).await });
    if let Some(every) = systemd::watchdog_interval() {
        tokio::spawn(watchdog(app.clone(), every));
    }
    systemd::ready(&status::line(&app));

    // Returns when the shutdown begins.
    server::serve(chat, app.clone()).await;
    tracing::info!(online = app.hub.online(), "shutting down");
    systemd::stopping();

    // Upgraded connections are not hyper's to track: wait for our sessions, and
    // the admin server, within one bound for the whole shutdown.
    app.sessions.close();
    let bound = app.hub.config().shutdown_timeout.0;
    let end = tokio::time::Instant::now() + bound;
    // The last fifth of the bound (at most 1 s) is kept for the history
    // file, so that writing it never takes chatd past the bound.
    let for_sessions = bound - (bound / 5).min(std::time::Duration::from_secs(1));
    let deadline = tokio::time::Instant::now() + for_sessions;
    if tokio::time::timeout_at(deadline, app.sessions.wait())
        .await
        .is_err()
    {
        tracing::warn!(
            "{} sessions did not end within {for_sessions:?}; dropping them",
            app.sessions.len()
        );
    }
    let _ = tokio::time::timeout_at(deadline, admin_server).await;
    // Every message accepted goes to disk before chatd exits.
    let log = app.hub.log().clone();
    let left = end.saturating_duration_since(tokio::time::Instant::now());
    let _ = tokio::task::spawn_blocking(move || log.close(left)).await;
    if let Some(path) = admin_path {
        let _ = std::fs::remove_file(path);
    }
    tracing::info!("stopped");
    Ok(())
}

/// The daemon's shared state, assembled from `store` (its keys and
/// password are loaded, or made on first start) and `config`, for a chat
/// listener at `listen_addr`; also the current key and whether it was made
/// now. [`run`] serves with it; tests run the room and sessions on it
/// in-process.
pub async fn assemble(
    config: Config,
    store: store::Store,
    listen_addr: SocketAddr,
    reloader: reload::Reloader,
    handle: Handle,
) -> Result<(App, chat_protocol::Token, bool), Error> {
    let mut loaded = Loaded::from(&config, &store).await?;
    // In a cluster, each step that NATS refuses for now (it is starting
    // too) is tried again, up to `cluster_start_timeout`.
    let mut starting = crate::cluster::start::Starting::new(config.cluster_start_timeout.0);
    let node = starting
        .retry(|| async { Ok(crate::cluster::node::Node::join(&config).await?) })
        .await?;
    if let Some(node) = &node {
        let listen = listen_addr.to_string();
        starting
            .retry(|| async { Ok(node.check_name_free(&listen).await?) })
            .await?;
    }
    if let Some(node) = &node {
        // One room, one set of keys: the first node's.
        let ours_id = loaded.token.key_id();
        let ours = crate::cluster::keys::RoomKeys {
            identity: loaded.identity,
            token: loaded.token,
            previous: loaded.previous,
            disconnect: false,
        };
        let (theirs, revision) = starting
            .retry(|| crate::cluster::keys::adopt(&node.cluster, &node.shared, &store, &ours))
            .await?;
        let keys = theirs.unwrap_or(ours);
        node.keys_revision
            .store(revision, std::sync::atomic::Ordering::Relaxed);
        loaded.created &= keys.token.key_id() == ours_id;
        starting
            .retry(|| crate::cluster::password::adopt(node, &store, &loaded.gate))
            .await?;
        (loaded.identity, loaded.token, loaded.previous) =
            (keys.identity, keys.token, keys.previous);
    }
    let (token, previous) = (loaded.token, loaded.previous);
    let bounds = crate::log::Bounds::of(&config);
    let (log, accepted, arrived): (Arc<dyn crate::log::RoomLog>, _, _) = match &node {
        Some(node) => {
            let (log, accepted) = starting
                .retry(|| async {
                    Ok(crate::cluster::replicated::ReplicatedLog::open(
                        node.cluster.clone(),
                        bounds,
                    )
                    .await?)
                })
                .await?;
            let arrived = log.arrived();
            (Arc::new(log), accepted, Some(arrived))
        }
        None => {
            let (log, accepted) = crate::log::EmbeddedLog::open(store.dir(), bounds)?;
            (Arc::new(log), accepted, None)
        }
    };
    let app = Arc::new(AppState {
        hub: hub::Hub::with_log(Arc::new(config), log, accepted),
        identity: loaded.identity,
        keys: RwLock::new(KeySet {
            current: token.clone(),
            previous: previous.clone(),
        }),
        password: loaded.gate,
        guesses: Guesses::default(),
        per_address: Default::default(),
        store,
        state_writes: tokio::sync::Mutex::new(()),
        shutdown: handle.shutdown.clone(),
        sessions: TaskTracker::new(),
        connections: AtomicUsize::new(0),
        started: SystemTime::now(),
        listen_addr,
        admin_gid: loaded.admin_gid,
        messages_per_minute: AtomicU64::new(0),
        reloader,
        cluster: node,
    });
    if let Some(arrived) = arrived {
        tokio::spawn(pump_arrivals(app.clone(), arrived));
        tokio::spawn(crate::cluster::node::renew_claims(app.clone()));
        tokio::spawn(crate::cluster::watch::follow(app.clone()));
        tokio::spawn(crate::cluster::control::run(app.clone()));
        starting
            .retry(|| async { Ok(crate::cluster::dm::start(&app).await?) })
            .await?;
        crate::cluster::presence::start(&app).await;
    }
    if let Some(p) = previous {
        keys::schedule_expiry(app.clone(), p.token.key_id(), p.expires);
    }
    Ok((app, token, loaded.created))
}

/// What a start reads or makes before it serves.
struct Loaded {
    admin_gid: Option<u32>,
    identity: chat_protocol::ServerIdentity,
    token: chat_protocol::Token,
    /// Whether the key was made now (first start).
    created: bool,
    previous: Option<store::PreviousKey>,
    gate: password::Gate,
}

impl Loaded {
    async fn from(config: &Config, store: &store::Store) -> Result<Self, Error> {
        let admin_gid = check_machine(config)?;
        let (identity, token, created) = store.load_or_create_keys()?;
        let previous = store.load_previous_key(&identity, &token, now_secs())?;
        let gate = password_gate(config, store).await?;
        Ok(Self {
            admin_gid,
            identity,
            token,
            created,
            previous,
            gate,
        })
    }
}

/// The password check in force at start: the admin-set hash (checked
/// against sane bounds) and the configured password file, hashed now.
async fn password_gate(config: &Config, store: &store::Store) -> Result<password::Gate, Error> {
    let state_dir = store.dir();
    let gate = password::Gate::default();
    if let Some(admin_hash) = store.load_password_hash()? {
        password::check_stored_hash(&admin_hash).map_err(|problem| Error::StoredHash {
            dir: state_dir.to_path_buf(),
            problem,
        })?;
        gate.set_admin_hash(Some(admin_hash));
    }
    if let Some(file) = &config.password_file {
        let password = password::read_password_file(file)?;
        let hash = gate.hash(password).await?;
        gate.set_file_hash(Some(hash));
    }
    Ok(gate)
}

/// Fans out what other nodes (and this one) put in the room's replicated
/// log, as it arrives, until the shutdown.
async fn pump_arrivals(app: App, arrived: Arc<Notify>) {
    loop {
        tokio::select! {
            () = arrived.notified() => app.hub.pump(),
            () = app.shutdown.cancelled() => return,
        }
    }
}

/// Reloads each time the handle asks, until the shutdown.
async fn serve_reloads(app: App, requests: Arc<Notify>) {
    loop {
        tokio::select! {
            () = requests.notified() => {
                tracing::info!("SIGHUP: reloading the configuration");
                let _ = reload::reload(&app).await;
            }
            () = app.shutdown.cancelled() => return,
        }
    }
}

async fn watchdog(app: App, every: std::time::Duration) {
    let mut tick = tokio::time::interval(every);
    loop {
        tokio::select! {
            _ = tick.tick() => systemd::watchdog(),
            () = app.shutdown.cancelled() => return,
        }
    }
}

/// `--check-config`: the settings in force as TOML (no secrets), after the
/// checks a start would make: the machine's (log filter, admin group) and
/// the password file's readability.
pub fn check_config(source: Option<&std::path::Path>, config: &Config) -> Result<String, Error> {
    use std::fmt::Write as _;
    let mut text = String::new();
    match source {
        Some(path) => writeln!(
            text,
            "# configuration from {} with command-line flags applied",
            path.display()
        ),
        None => writeln!(
            text,
            "# no configuration file: built-in defaults with command-line flags applied"
        ),
    }
    .expect("writing to a String");
    check_machine(config)?;
    if let Some(file) = &config.password_file {
        password::read_password_file(file)?;
        text.push_str("# the password file is readable (its content is not shown)\n");
    }
    text.push_str(&toml::to_string(config).expect("the configuration always serializes"));
    Ok(text)
}
