//! `chatd`: the chat daemon.
//!
//! Start-up reads the configuration (`config`), resolves the directories
//! (`paths`), opens the state directory and its keys (`store`), takes or
//! binds the listeners (`systemd`, `admin`), and serves chat sessions
//! (`server` → `session` → `hub`) and the admin API (`admin`) until SIGTERM
//! or SIGINT; then every session gets a sealed `Bye` and close 1001 within
//! the shutdown timeout. SIGHUP reloads (`reload`).

mod admin;
mod cli;
mod config;
mod hub;
mod keys;
mod logging;
mod password;
mod paths;
mod process;
mod ratelimit;
mod reload;
mod server;
mod session;
mod state;
mod status;
mod store;
mod systemd;
mod throttle;

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, AtomicUsize};
use std::sync::{Arc, RwLock};
use std::time::SystemTime;

use anyhow::{Context, anyhow};
use clap::Parser as _;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::cli::Cli;
use crate::config::Config;
use crate::state::{AppState, KeySet, now_secs};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("chatd: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The configuration from the file (if any) with the flags on top.
fn effective_config(cli: &Cli) -> anyhow::Result<Config> {
    let mut config = match cli.config.clone().or_else(paths::default_config_file) {
        Some(path) => Config::load(&path).map_err(|e| anyhow!(e))?,
        None => Config::default(),
    };
    if let Some(listen) = cli.listen {
        config.listen = listen.to_string();
    }
    if let Some(dir) = &cli.state_dir {
        config.state_dir = Some(dir.clone());
    }
    if let Some(dir) = &cli.runtime_dir {
        config.runtime_dir = Some(dir.clone());
    }
    if let Some(file) = &cli.password_file {
        config.password_file = Some(file.clone());
    }
    if config.password_file.is_none() {
        // systemd's LoadCredential=password:… delivers the password here.
        if let Some(dir) = std::env::var_os("CREDENTIALS_DIRECTORY") {
            let credential = PathBuf::from(dir).join("password");
            if credential.exists() {
                config.password_file = Some(credential);
            }
        }
    }
    config.validate().map_err(|e| anyhow!(e))?;
    Ok(config)
}

/// What the configuration names that only this machine can confirm: the
/// log filter parses and the admin group exists. Checked at start, by
/// `--check-config` and on reload, so that neither a check nor a reload
/// passes a configuration that the next start would refuse.
fn check_machine(config: &Config) -> anyhow::Result<Option<u32>> {
    logging::filter(&config.log_level).map_err(|e| anyhow!(e))?;
    match &config.admin_group {
        Some(name) => Ok(Some(admin::peer::group_gid(name).ok_or_else(|| {
            anyhow!("admin_group = \"{name}\": no such group; create it (`groupadd {name}`) or fix the config")
        })?)),
        None => Ok(None),
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let mut config = effective_config(&cli)?;
    if config.state_dir.is_none() {
        config.state_dir = Some(paths::default_state_dir().map_err(|e| anyhow!(e))?);
    }
    if config.runtime_dir.is_none() {
        config.runtime_dir = Some(paths::default_runtime_dir());
    }
    if cli.check_config {
        return check_config(&cli, &config);
    }
    let filter = logging::init(&config.log_level).map_err(|e| anyhow!(e))?;
    process::raise_fd_limit(config.max_users);
    process::return_freed_memory();
    if !config.core_dumps {
        process::forbid_core_dumps();
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let reload_cli = cli.clone();
    let defaults = (config.state_dir.clone(), config.runtime_dir.clone());
    let reloader = reload::Reloader::new(
        move || {
            let mut config = effective_config(&reload_cli)?;
            check_machine(&config)?;
            // The resolved defaults, so an unset directory does not read as a change.
            config.state_dir = config.state_dir.or_else(|| defaults.0.clone());
            config.runtime_dir = config.runtime_dir.or_else(|| defaults.1.clone());
            Ok(config)
        },
        Some(filter),
    );
    runtime.block_on(serve(config, reloader))
}

fn check_config(cli: &Cli, config: &Config) -> anyhow::Result<()> {
    let source = cli.config.clone().or_else(paths::default_config_file);
    match &source {
        Some(path) => println!(
            "# configuration from {} with command-line flags applied",
            path.display()
        ),
        None => {
            println!("# no configuration file: built-in defaults with command-line flags applied")
        }
    }
    check_machine(config)?;
    if let Some(file) = &config.password_file {
        password::read_password_file(file).map_err(|e| anyhow!(e))?;
        println!("# the password file is readable (its content is not shown)");
    }
    print!(
        "{}",
        toml::to_string(config).context("printing the configuration")?
    );
    Ok(())
}

async fn serve(config: Config, reloader: reload::Reloader) -> anyhow::Result<()> {
    let state_dir = config.state_dir.clone().expect("resolved in run");
    let runtime_dir = config.runtime_dir.clone().expect("resolved in run");
    // The lock first: a second chatd on this directory stops here.
    let store = store::Store::open(&state_dir).map_err(|e| anyhow!(e))?;
    let admin_gid = check_machine(&config)?;

    // The listeners before any key is made or read, so that a chatd that
    // cannot bind leaves a fresh state directory without identity or key.
    let activated = if systemd::activated() {
        systemd::take_listeners().map_err(|e| anyhow!(e))?
    } else {
        Default::default()
    };
    let listener = match activated.chat {
        Some(std_listener) => {
            tokio::net::TcpListener::from_std(std_listener).context("inherited chat socket")?
        }
        None => {
            let addr: SocketAddr = config.listen_addr().map_err(|e| anyhow!(e))?;
            tokio::net::TcpListener::bind(addr)
                .await
                .map_err(|e| anyhow!("cannot listen on {addr}: {e}{}", bind_hint(&e)))?
        }
    };
    let listen_addr = listener.local_addr().context("reading the bound address")?;
    let admin_bound_here = activated.admin.is_none();
    let admin_listener = match activated.admin {
        Some(l) => l,
        None => admin::bind(&runtime_dir, admin_gid).map_err(|e| anyhow!(e))?,
    };
    let admin_listener =
        tokio::net::UnixListener::from_std(admin_listener).context("admin socket")?;
    let admin_path = admin::socket_path(&runtime_dir);

    let loaded = async {
        let (identity, token, created) = store.load_or_create_keys().map_err(|e| anyhow!(e))?;
        let previous = store
            .load_previous_key(&identity, &token, now_secs())
            .map_err(|e| anyhow!(e))?;

        let gate = password::Gate::default();
        if let Some(admin_hash) = store.load_password_hash().map_err(|e| anyhow!(e))? {
            password::check_stored_hash(&admin_hash).map_err(|e| {
                anyhow!(
                    "{}/password: {e}; remove it, or set a new password with `chatctl passwd`",
                    state_dir.display()
                )
            })?;
            gate.set_admin_hash(Some(admin_hash));
        }
        if let Some(file) = &config.password_file {
            let password = password::read_password_file(file).map_err(|e| anyhow!(e))?;
            let hash = tokio::task::spawn_blocking(move || password::hash(&password)).await?;
            gate.set_file_hash(Some(hash.map_err(|e| anyhow!(e))?));
        }
        anyhow::Ok((identity, token, created, previous, gate))
    }
    .await;
    let (identity, token, created, previous, gate) = match loaded {
        Ok(loaded) => loaded,
        Err(e) => {
            // Not left behind as a stale socket for the next start to replace.
            if admin_bound_here {
                let _ = std::fs::remove_file(&admin_path);
            }
            return Err(e);
        }
    };

    let app = Arc::new(AppState {
        hub: hub::Hub::new(Arc::new(config.clone())),
        identity,
        keys: RwLock::new(KeySet {
            current: token.clone(),
            previous: previous.clone(),
        }),
        password: gate,
        store,
        state_writes: tokio::sync::Mutex::new(()),
        shutdown: CancellationToken::new(),
        sessions: TaskTracker::new(),
        connections: AtomicUsize::new(0),
        started: SystemTime::now(),
        listen_addr,
        admin_gid,
        messages_per_minute: AtomicU64::new(0),
        reloader,
    });
    if let Some(p) = previous {
        keys::schedule_expiry(app.clone(), p.token.key_id(), p.expires);
    }

    let url = format!("ws://{listen_addr}/");
    tracing::info!(key_id = %token.key_id(), "listening on {url}");
    if admin_bound_here {
        tracing::info!("admin API on {}", admin_path.display());
    } else {
        tracing::info!("admin API on the Unix socket passed by the service manager");
    }
    if app.password.source() == password::Source::None {
        tracing::warn!(
            "no join password is set: anyone who has the key can join (set one with --password-file or `chatctl passwd`)"
        );
    }
    let key_path = app.store.key_path();
    if created {
        tracing::info!(
            "made a new server key; the token is in {}",
            key_path.display()
        );
    }
    // A plain `chatctl key` asks the socket of chatctl_first_socket(); if
    // this chatd serves another, the hint names it. (A socket passed by the
    // service manager has a path chatd does not know.)
    let chatctl_key = if !admin_bound_here || admin_path == paths::chatctl_first_socket() {
        "chatctl key".to_string()
    } else {
        format!("chatctl --socket {} key", shell_word(&admin_path))
    };
    if std::io::stderr().is_terminal() {
        announce(&token.encode(), &url, &key_path, &chatctl_key);
    } else {
        tracing::info!(
            "the key token to hand to people is in {} (or run `{chatctl_key}`)",
            key_path.display()
        );
    }

    let admin_service =
        admin::router(app.clone()).into_make_service_with_connect_info::<admin::peer::Peer>();
    let admin_server = tokio::spawn(
        axum::serve(admin_listener, admin_service)
            .with_graceful_shutdown(app.shutdown.clone().cancelled_owned())
            .into_future(),
    );
    tokio::spawn(watch_signals(app.clone(), Signals::install()?));
    tokio::spawn(status::run(app.clone()));
    if let Some(every) = systemd::watchdog_interval() {
        tokio::spawn(watchdog(app.clone(), every));
    }
    systemd::ready(&status::line(&app));

    server::serve(listener, app.clone()).await;

    // Upgraded connections are not hyper's to track: wait for our sessions, and
    // the admin server, within one bound for the whole shutdown.
    app.sessions.close();
    let bound = app.hub.config().shutdown_timeout.0;
    let deadline = tokio::time::Instant::now() + bound;
    if tokio::time::timeout_at(deadline, app.sessions.wait())
        .await
        .is_err()
    {
        tracing::warn!(
            "{} sessions did not end within {bound:?}; dropping them",
            app.sessions.len()
        );
    }
    let _ = tokio::time::timeout_at(deadline, admin_server).await;
    if admin_bound_here {
        let _ = std::fs::remove_file(&admin_path);
    }
    tracing::info!("stopped");
    Ok(())
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

/// Tells the person at the terminal how to join, as the original tool did.
/// The token goes straight to the terminal, never through the log.
fn announce(token: &str, url: &str, key_path: &std::path::Path, chatctl_key: &str) {
    let url_flag = if url == "ws://127.0.0.1:1719/" {
        String::new()
    } else {
        format!(" --url {url}")
    };
    eprintln!();
    eprintln!("  Key: {token}");
    eprintln!(
        "  (kept in {}; `{chatctl_key}` shows it too)",
        key_path.display()
    );
    eprintln!();
    eprintln!(
        "  Join from two other terminals (from a checkout, `cargo run --release -p chat-client --` stands for `chat`):"
    );
    eprintln!(
        "    CHAT_KEY=$(cat {}) chat{url_flag} --username ace",
        key_path.display()
    );
    eprintln!(
        "    CHAT_KEY=$(cat {}) chat{url_flag} --username bob",
        key_path.display()
    );
    eprintln!();
}

/// A path as one shell word: as is when it holds only characters no shell
/// treats specially, else in single quotes.
fn shell_word(path: &std::path::Path) -> String {
    let text = path.to_string_lossy();
    if text
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"/._-+:@%".contains(&b))
    {
        text.into_owned()
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    }
}

async fn watchdog(app: state::App, every: std::time::Duration) {
    let mut tick = tokio::time::interval(every);
    loop {
        tokio::select! {
            _ = tick.tick() => systemd::watchdog(),
            () = app.shutdown.cancelled() => return,
        }
    }
}

/// The signals chatd acts on, installed before READY=1 so that a SIGHUP
/// or SIGTERM sent the moment the service manager sees it ready is handled
/// rather than fatal.
struct Signals {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
    hup: tokio::signal::unix::Signal,
}

impl Signals {
    fn install() -> anyhow::Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        let install = |kind| signal(kind).context("installing signal handlers");
        Ok(Self {
            term: install(SignalKind::terminate())?,
            int: install(SignalKind::interrupt())?,
            hup: install(SignalKind::hangup())?,
        })
    }
}

async fn watch_signals(app: state::App, signals: Signals) {
    let Signals {
        mut term,
        mut int,
        mut hup,
    } = signals;
    loop {
        tokio::select! {
            _ = term.recv() => break,
            _ = int.recv() => break,
            _ = hup.recv() => {
                tracing::info!("SIGHUP: reloading the configuration");
                let _ = reload::reload(&app).await;
            }
        }
    }
    tracing::info!(online = app.hub.online(), "shutting down");
    systemd::stopping();
    app.shutdown.cancel();
}
