//! `chatd`: the chat daemon's command line. The daemon itself is the
//! library (`lib.rs`): this file reads the flags, sets up logging and the
//! process, opens the state directory and the sockets, runs
//! [`chatd::run`] with the signals forwarded to it, and reports how it
//! ended.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use chatd::config::Overrides;
use chatd::{Handle, Listeners, logging, process, reload, signals, store};
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
struct Cli {
    /// Address to listen on, e.g. 0.0.0.0:1719 or [::]:1719 [default: 127.0.0.1:1719].
    #[arg(long, value_name = "ADDR", value_parser = parse_listen)]
    listen: Option<SocketAddr>,
    /// Directory for the server key and password hash [default: $STATE_DIRECTORY, /var/lib/chatd as root, else $XDG_STATE_HOME/chatd].
    #[arg(long, value_name = "DIR")]
    state_dir: Option<PathBuf>,
    /// Directory for the admin socket [default: $RUNTIME_DIRECTORY, /run/chatd as root, else $XDG_RUNTIME_DIR/chatd or /tmp/chatd-$UID].
    #[arg(long, value_name = "DIR")]
    runtime_dir: Option<PathBuf>,
    /// Configuration file [default: $CONFIGURATION_DIRECTORY/chatd.toml, /etc/chatd/chatd.toml as root, else $XDG_CONFIG_HOME/chatd/chatd.toml; none is fine].
    #[arg(long, value_name = "PATH")]
    config: Option<PathBuf>,
    /// File holding the join password (one trailing newline is stripped) [default: the systemd credential "password", if any]. Without a password anyone with the key may join.
    #[arg(long, value_name = "FILE")]
    password_file: Option<PathBuf>,
    /// Check the configuration, print the effective settings (no secrets) and exit.
    #[arg(long)]
    check_config: bool,
}

/// `--listen`: an IP address and a port, so that a typo is a usage error.
fn parse_listen(text: &str) -> Result<SocketAddr, String> {
    text.parse().map_err(|_| {
        "expected an IP address and a port, like 127.0.0.1:1719, 0.0.0.0:1719 or [::]:1719 (no host names)".to_string()
    })
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

fn run(cli: Cli) -> anyhow::Result<()> {
    let overrides = Overrides {
        config: cli.config,
        listen: cli.listen,
        state_dir: cli.state_dir,
        runtime_dir: cli.runtime_dir,
        password_file: cli.password_file,
    };
    let mut config = overrides.load()?;
    config.resolve_dirs()?;
    if cli.check_config {
        let report = chatd::service::check_config(overrides.source().as_deref(), &config)?;
        print!("{report}");
        return Ok(());
    }
    let filter = logging::init(&config.log_level)?;
    process::prepare(&config);
    let defaults = (config.state_dir.clone(), config.runtime_dir.clone());
    let reloader = reload::Reloader::new(
        move || {
            let mut config = overrides.load()?;
            chatd::check_machine(&config)?;
            // The resolved defaults, so an unset directory does not read as a change.
            config.state_dir = config.state_dir.or_else(|| defaults.0.clone());
            config.runtime_dir = config.runtime_dir.or_else(|| defaults.1.clone());
            Ok(config)
        },
        Some(filter),
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async {
        // The library's errors each say what went wrong and what to do.
        let handle = Handle::new();
        tokio::spawn(signals::Signals::install()?.forward(handle.clone()));
        // The lock first (one chatd per state directory), then the sockets,
        // then the keys: a chatd that cannot listen leaves no key behind.
        let state_dir = config.state_dir.as_deref().expect("resolved above");
        let store = store::Store::open(state_dir)?;
        let admin_gid = chatd::check_machine(&config)?;
        let listeners = Listeners::open(&config, admin_gid).await?;
        chatd::run(config, store, listeners, reloader, handle).await
    })?;
    Ok(())
}
