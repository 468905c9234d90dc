//! `chatd`: the chat daemon.
//!
//! Start-up reads the configuration (`config`), resolves the directories
//! (`paths`), opens the state directory and its keys (`store`), binds the
//! listener and serves sessions (`server` → `session` → `hub`) until
//! SIGTERM or SIGINT, then ends every session with a sealed `Bye` and
//! close 1001 within the shutdown timeout.

mod config;
mod hub;
mod logging;
mod password;
mod paths;
mod ratelimit;
mod server;
mod session;
mod state;
mod store;

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, RwLock};
use std::time::SystemTime;

use anyhow::{Context, anyhow};
use clap::Parser;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::Config;
use crate::state::{AppState, KeySet, now_secs};

/// The chat daemon: serves secure terminal chat over WebSocket.
///
/// Runs in the foreground and logs to stderr. With no flags and no config
/// file it listens on 127.0.0.1:1719 and keeps its key under your XDG state
/// directory. On first start it makes the server key; `STATE_DIR/key` holds
/// the token people join with.
#[derive(Parser, Debug)]
#[command(name = "chatd", version, about, long_about)]
struct Cli {
    /// Address to listen on, e.g. 0.0.0.0:1719 or [::]:1719 [default: 127.0.0.1:1719].
    #[arg(long, value_name = "ADDR")]
    listen: Option<String>,
    /// Directory for the server key and password hash [default: /var/lib/chatd as root, else $XDG_STATE_HOME/chatd].
    #[arg(long, value_name = "DIR")]
    state_dir: Option<PathBuf>,
    /// Directory for the admin socket [default: /run/chatd as root, else $XDG_RUNTIME_DIR/chatd].
    #[arg(long, value_name = "DIR")]
    runtime_dir: Option<PathBuf>,
    /// Configuration file [default: /etc/chatd/chatd.toml as root, else $XDG_CONFIG_HOME/chatd/chatd.toml, if it exists].
    #[arg(long, value_name = "PATH")]
    config: Option<PathBuf>,
    /// File holding the join password (one trailing newline is stripped). Without one, anyone with the key may join.
    #[arg(long, value_name = "FILE")]
    password_file: Option<PathBuf>,
}

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
    if let Some(listen) = &cli.listen {
        config.listen = listen.clone();
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
    config.validate().map_err(|e| anyhow!(e))?;
    Ok(config)
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let config = effective_config(&cli)?;
    logging::init(&config.log_level).map_err(|e| anyhow!(e))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(serve(config))
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let state_dir = match &config.state_dir {
        Some(dir) => dir.clone(),
        None => paths::default_state_dir().map_err(|e| anyhow!(e))?,
    };
    let store = store::Store::open(&state_dir).map_err(|e| anyhow!(e))?;
    let (identity, token, created) = store.load_or_create_keys().map_err(|e| anyhow!(e))?;
    let previous = store
        .load_previous_key(&identity, now_secs())
        .map_err(|e| anyhow!(e))?;

    let gate = password::Gate::default();
    if let Some(admin_hash) = store.load_password_hash().map_err(|e| anyhow!(e))? {
        password::check_stored_hash(&admin_hash).map_err(|e| {
            anyhow!(
                "{}/password: {e}; remove it or set a new password with `chatctl passwd`",
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
    if gate.source() == password::Source::None {
        tracing::warn!(
            "no join password is set: anyone who has the key can join (set one with --password-file)"
        );
    }

    let addr: SocketAddr = config.listen_addr().map_err(|e| anyhow!(e))?;
    let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| {
        format!(
            "cannot listen on {addr} (is another server using it? choose another with --listen)"
        )
    })?;
    let listen_addr = listener.local_addr().context("reading the bound address")?;

    let app = Arc::new(AppState {
        hub: hub::Hub::new(Arc::new(config.clone())),
        identity,
        keys: RwLock::new(KeySet {
            current: token.clone(),
            previous,
        }),
        password: gate,
        store,
        shutdown: CancellationToken::new(),
        sessions: TaskTracker::new(),
        connections: AtomicUsize::new(0),
        started: SystemTime::now(),
        listen_addr,
    });

    let url = format!("ws://{listen_addr}/");
    tracing::info!(key_id = %token.key_id(), "listening on {url}");
    let key_path = app.store.key_path();
    if created {
        tracing::info!(
            "made a new server key; the token is in {}",
            key_path.display()
        );
    }
    if std::io::stderr().is_terminal() {
        announce(&token.encode(), &url, &key_path);
    } else {
        tracing::info!(
            "the key token to hand to people is in {}",
            key_path.display()
        );
    }

    tokio::spawn(watch_signals(app.clone()));
    let service = server::router(app.clone()).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, service)
        .with_graceful_shutdown(app.shutdown.clone().cancelled_owned())
        .await
        .context("serving chat")?;

    // axum does not track upgraded connections: wait for our sessions.
    app.sessions.close();
    let bound = config.shutdown_timeout.0;
    if tokio::time::timeout(bound, app.sessions.wait())
        .await
        .is_err()
    {
        tracing::warn!(
            "{} sessions did not end within {bound:?}; dropping them",
            app.sessions.len()
        );
    }
    tracing::info!("stopped");
    Ok(())
}

/// Tells the person at the terminal how to join, as the original tool did.
/// The token goes straight to the terminal, never through the log.
fn announce(token: &str, url: &str, key_path: &std::path::Path) {
    let join_url = if url.starts_with("ws://127.0.0.1:1719/") {
        String::new()
    } else {
        format!(" --url {url}")
    };
    eprintln!();
    eprintln!("  Key: {token}");
    eprintln!(
        "  (also in {}; show it any time with `chatctl key`)",
        key_path.display()
    );
    eprintln!();
    eprintln!("  Join from another terminal:");
    eprintln!(
        "    CHAT_KEY=$(cat {}) chat{join_url} --username ace",
        key_path.display()
    );
    eprintln!();
}

async fn watch_signals(app: state::App) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int), Ok(mut hup)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
        signal(SignalKind::hangup()),
    ) else {
        tracing::error!("cannot install signal handlers");
        return;
    };
    loop {
        tokio::select! {
            _ = term.recv() => break,
            _ = int.recv() => break,
            _ = hup.recv() => tracing::info!("SIGHUP: reload is not supported yet"),
        }
    }
    tracing::info!(online = app.hub.online(), "shutting down");
    app.shutdown.cancel();
}
