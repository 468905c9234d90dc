//! `chatd`: the chat daemon's command line. The daemon itself is the
//! library (`lib.rs`): this file reads the flags, sets up logging and the
//! process, opens the state directory and the sockets, runs
//! [`chatd::run`] with the signals forwarded to it, and reports how it
//! ended.

mod cli;

use std::process::ExitCode;

use anyhow::Context;
use chatd::config::Overrides;
use chatd::config::reload::Reloader;
use chatd::service::{process, signals};
use chatd::{Handle, Listeners, logging, store};
use clap::Parser as _;

use crate::cli::Cli;

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
        cluster: cli.cluster,
        node_name: cli.node_name,
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
    let reloader = Reloader::new(
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
