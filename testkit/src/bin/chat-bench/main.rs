//! `chat-bench`: drives a real chatd over loopback with the real protocol
//! and measures it, and measures bare broadcast servers (the references:
//! a relay, and the floor, the least such a server costs) under the same
//! load, so that chatd's cost can be stated as a ratio.
//! Every client checks what it receives (no loss, no duplicate, each
//! sender's order); a violation makes the exit status 1.
//!
//! Modules: `load` runs the phases, `conn` is one client's connection,
//! `check` the per-client checker, `hist` the latency percentiles,
//! `reference` what the two bare servers share (their kinds, test-only
//! faults, the child process), `relay` and `floor` the servers
//! themselves, `server` starts or attaches to what is measured, `proc`
//! reads /proc, `report` prints.
//! How to run it and how to read it: docs/performance.md.

mod check;
mod conn;
mod floor;
mod hist;
mod load;
mod proc;
mod reference;
mod relay;
mod report;
mod server;
mod suite;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};

use crate::load::{Load, Pace, Run};
use crate::reference::{Fault, Kind};
use crate::report::Report;
use crate::server::Server;

/// Exit status when a checker found a violation.
const EXIT_VIOLATION: u8 = 1;
/// Exit status when the bench could not run (bad flags, no server).
const EXIT_SETUP: u8 = 2;
/// Exit status when no violation was found but the run is incomplete
/// (joins failed, a phase hit its time limit).
const EXIT_INCOMPLETE: u8 = 3;

#[derive(Parser, Debug)]
#[command(
    name = "chat-bench",
    about = "Measures chatd (and bare reference servers) with real clients on loopback",
    after_help = "Exit status: 0 clean and complete, 1 a violation (loss, duplicate, reorder), \
                  2 could not run, 3 incomplete (joins failed or a phase hit its time limit).\n\
                  Documentation: docs/performance.md"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// Clients that join (N)
    #[arg(short = 'n', long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    clients: u64,
    /// Of them, clients that send (S)
    #[arg(short = 's', long, default_value_t = 10)]
    senders: usize,
    /// Messages each sender sends (M)
    #[arg(short = 'm', long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    messages: u64,
    /// Bytes of each message's text (at least its header, ~20 bytes)
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..=4096))]
    size: u64,
    /// Unacknowledged messages a sender may have in flight (its own echo
    /// acknowledges one); the default pacing: as fast as the server takes them
    #[arg(long, default_value_t = 32, conflicts_with = "rate")]
    window: u32,
    /// Send at this fixed rate instead, messages per second in total over all senders
    #[arg(long, value_name = "MSGS_PER_S")]
    rate: Option<f64>,
    /// Start K chatd nodes sharing the room through a nats-server the bench
    /// starts too (chatd --cluster), and spread the clients over them in
    /// turn; without it, one chatd on its own
    #[arg(long, value_name = "K", value_parser = clap::value_parser!(u64).range(1..=64), conflicts_with = "url")]
    nodes: Option<u64>,
    /// Spread the clients (and the senders) over R rooms: with R > 1
    /// client i joins #rK, K = i mod R (no one speaks in the default room),
    /// each message goes to its room only, each client checks its room's
    /// senders only; 1: everyone in the default room
    #[arg(long, value_name = "R", default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=1000), conflicts_with_all = ["reference", "compare", "nodes"])]
    rooms: u64,
    /// Join with a password (the chatd the bench starts gets one)
    #[arg(long)]
    password: bool,
    /// Measure a bare reference server instead of chatd: `relay` (a tokio
    /// relay, the default when no KIND is given), `floor` (one thread, a
    /// broadcast ring: the least a broadcast server costs), or both
    /// (`relay,floor`); with --compare, what chatd is compared with
    #[arg(
        long,
        value_enum,
        value_name = "KIND",
        num_args = 0..=1,
        default_missing_value = "relay",
        value_delimiter = ','
    )]
    reference: Vec<Kind>,
    /// Run the load on chatd, then on each --reference server (the relay if
    /// none is named), and print chatd ÷ each
    #[arg(long)]
    compare: bool,
    /// Attach to a running chatd at ws://IP:PORT/ instead of starting one
    #[arg(long, value_name = "URL")]
    url: Option<String>,
    /// The running chatd's key token (chat1_…); CHAT_KEY is better (not in `ps`)
    #[arg(long, env = "CHAT_KEY", hide_env_values = true, requires = "url")]
    token: Option<String>,
    /// File holding the running chatd's join password (one trailing newline stripped)
    #[arg(long, value_name = "FILE", requires = "url")]
    password_file: Option<PathBuf>,
    /// PID of the running chatd, for its CPU time and memory
    #[arg(long, value_name = "PID", requires = "url")]
    server_pid: Option<u32>,
    /// Pin the server's threads to this CPU
    #[arg(long, value_name = "CPU")]
    pin_server: Option<usize>,
    /// Pin the load generator (this process) to this CPU
    #[arg(long, value_name = "CPU")]
    pin_load: Option<usize>,
    /// Joins in flight at once
    #[arg(long, default_value_t = 64)]
    join_concurrency: usize,
    /// Time limit of the join phase, seconds
    #[arg(long, default_value_t = 120)]
    join_limit: u64,
    /// Time limit of the sending phase, seconds
    #[arg(long, default_value_t = 120)]
    send_limit: u64,
    /// The sending phase ends this many seconds after the last delivery
    /// once every sender is done, even if messages are missing
    #[arg(long, default_value_t = 2.0)]
    quiet: f64,
    /// Source addresses 127.0.0.1… to spread connections over [default: one per 25 000 clients above 28 000]
    #[arg(long)]
    sources: Option<u8>,
    /// How the clients set up their sockets: `bench` (TCP_NODELAY, 4 KiB
    /// WebSocket buffers) or `default` (nothing set, as an independent
    /// client: Nagle on, tungstenite's 128 KiB buffers in this process)
    #[arg(long, value_enum, default_value = "bench")]
    client_sockets: conn::ClientSockets,
    /// Print one JSON object instead of the table
    #[arg(long)]
    json: bool,
    /// TEST AID, not a benchmark setting: make the reference server(s)
    /// drop, duplicate or reorder some messages, to prove the checker notices
    #[arg(long, value_enum, requires = "reference", conflicts_with = "compare")]
    fault: Option<Fault>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Make the tables of docs/performance.md: run each scenario's cases
    /// (chatd against the floor) as child chat-bench processes, take the
    /// median of --runs runs, print markdown (testkit/bench/all.sh runs it)
    Suite {
        /// Scenarios to run, in this order [default: all of them]
        #[arg(value_enum)]
        scenarios: Vec<suite::Scenario>,
        /// Runs of each case; the tables show medians (the scale
        /// scenario runs each case once)
        #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=99))]
        runs: u32,
        /// The commit measured, for the tables' headings
        #[arg(long, default_value = "unknown")]
        commit: String,
        /// The command to name in the headings [default: this one]
        #[arg(long, value_name = "TEXT")]
        command: Option<String>,
        /// Do not pin the server and the load to CPUs 0 and 1 (the default
        /// with 2 CPUs or more)
        #[arg(long)]
        no_pin: bool,
        /// Tiny loads that only check that every scenario runs and prints
        #[arg(long)]
        smoke: bool,
        /// Write each run's JSON into this directory
        #[arg(long, value_name = "DIR")]
        save: Option<PathBuf>,
    },
    /// Run a reference server alone (what `--reference` starts): prints
    /// `listening on 127.0.0.1:PORT`, serves until its stdin closes
    ServeReference {
        /// Which one
        #[arg(long, value_enum, default_value = "relay")]
        kind: Kind,
        /// Port on 127.0.0.1 (0: any free one)
        #[arg(long, default_value_t = 0)]
        port: u16,
        /// TEST AID: drop, duplicate or reorder every 25th message of each
        /// connection (from the 10th)
        #[arg(long, value_enum)]
        fault: Option<Fault>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(Command::Suite {
        scenarios,
        runs,
        commit,
        command,
        no_pin,
        smoke,
        save,
    }) = cli.command
    {
        let scenarios = if scenarios.is_empty() {
            suite::Scenario::ALL.to_vec()
        } else {
            scenarios
        };
        if let Some(dir) = &save
            && let Err(e) = std::fs::create_dir_all(dir)
        {
            eprintln!("chat-bench suite: creating --save {}: {e}", dir.display());
            return ExitCode::from(EXIT_SETUP);
        }
        let opts = suite::Options {
            runs,
            commit,
            command: command.unwrap_or_else(|| std::env::args().collect::<Vec<_>>().join(" ")),
            pin: !no_pin && proc::cpus() >= 2,
            smoke,
            save,
            // The most this process (and so each child) may have.
            nofile: proc::raise_nofile(0),
        };
        return ExitCode::from(suite::run(&scenarios, &opts));
    }
    if let Some(Command::ServeReference { kind, port, fault }) = cli.command {
        return match reference::serve(kind, port, fault) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("chat-bench serve-reference: {e}");
                ExitCode::from(EXIT_SETUP)
            }
        };
    }
    match bench(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("chat-bench: {e}");
            ExitCode::from(EXIT_SETUP)
        }
    }
}

/// The load the flags describe.
fn load_of(cli: &Cli) -> Result<Load, String> {
    let clients = cli.clients as usize;
    if cli.senders == 0 || cli.senders > clients {
        return Err(format!(
            "--senders {} must be between 1 and --clients {clients}",
            cli.senders
        ));
    }
    let pace = match cli.rate {
        Some(r) if r > 0.0 && r.is_finite() => Pace::Rate(r),
        Some(r) => {
            return Err(format!(
                "--rate {r}: give a positive number of messages per second"
            ));
        }
        None if cli.window == 0 => return Err("--window 0: give at least 1".into()),
        None => Pace::Window(cli.window),
    };
    let sources = cli.sources.unwrap_or(if clients > 28_000 {
        clients.div_ceil(25_000) as u8
    } else {
        0
    });
    Ok(Load {
        clients,
        senders: cli.senders,
        messages: cli.messages,
        size: cli.size as usize,
        pace,
        join_concurrency: cli.join_concurrency,
        join_limit: Duration::from_secs(cli.join_limit),
        send_limit: Duration::from_secs(cli.send_limit),
        quiet: Duration::from_secs_f64(cli.quiet.max(0.1)),
        sources,
        client_sockets: cli.client_sockets,
        rooms: cli.rooms as usize,
    })
}

/// The reference servers to run, each once, in the order given; the relay
/// alone for a bare `--compare`.
fn references(cli: &Cli) -> Vec<Kind> {
    let mut kinds: Vec<Kind> = Vec::new();
    for &k in &cli.reference {
        if !kinds.contains(&k) {
            kinds.push(k);
        }
    }
    if kinds.is_empty() && cli.compare {
        kinds.push(Kind::Relay);
    }
    kinds
}

fn bench(cli: Cli) -> Result<u8, String> {
    let load = load_of(&cli)?;
    let with_chatd = cli.reference.is_empty() || cli.compare;
    if !with_chatd && (cli.nodes.is_some() || cli.url.is_some()) {
        return Err(
            "--nodes and --url say how to run chatd, but --reference alone runs no chatd: \
             add --compare to measure chatd too"
                .into(),
        );
    }
    // One descriptor a client here, one in the server (which inherits
    // this limit, each process counting its own), and some to spare.
    let want = load.clients as u64 + 1024;
    let limit = proc::raise_nofile(want);
    if limit < want {
        return Err(format!(
            "the open-file limit is {limit}, {want} are needed for {} clients: raise the hard limit (ulimit -Hn, or LimitNOFILE=), which needs root with CAP_SYS_RESOURCE",
            load.clients
        ));
    }
    if let Some(cpu) = cli.pin_load {
        proc::pin_self(cpu).map_err(|e| format!("pinning the load to CPU {cpu}: {e}"))?;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("starting the runtime: {e}"))?;
    let mut reports = Vec::new();
    if with_chatd {
        let server = match &cli.url {
            Some(url) => {
                let token = cli
                    .token
                    .clone()
                    .ok_or("--url needs the key token: set CHAT_KEY (or --token)")?;
                let password = match &cli.password_file {
                    Some(path) => {
                        let text = std::fs::read_to_string(path).map_err(|e| {
                            format!("reading --password-file {}: {e}", path.display())
                        })?;
                        text.strip_suffix('\n').unwrap_or(&text).to_string()
                    }
                    None => String::new(),
                };
                Server::attach(url, token, password, cli.server_pid)?
            }
            None => match cli.nodes {
                Some(k) => Server::cluster(load.clients, cli.password, k as usize)?,
                None => Server::chatd(load.clients, cli.password)?,
            },
        };
        let password = cli.password || cli.password_file.is_some();
        reports.push(measure(&runtime, &cli, &load, server, password)?);
    }
    for kind in references(&cli) {
        let server = Server::reference(kind, cli.fault)?;
        reports.push(measure(&runtime, &cli, &load, server, false)?);
    }
    print(&cli, &reports);
    let code = if reports.iter().any(|r| !r.clean()) {
        EXIT_VIOLATION
    } else if reports.iter().any(|r| !r.complete()) {
        EXIT_INCOMPLETE
    } else {
        0
    };
    Ok(code)
}

/// One run of the load against `server`.
fn measure(
    runtime: &tokio::runtime::Runtime,
    cli: &Cli,
    load: &Load,
    server: Server,
    password: bool,
) -> Result<Report, String> {
    if let Some(cpu) = cli.pin_server {
        server.pin(cpu)?;
    }
    if !cli.json {
        eprintln!(
            "chat-bench: {} at {} (PID {}): {} clients joining…",
            server.name,
            server.place(),
            if server.measured.known() {
                let pids: Vec<String> = server.measured.server.iter().map(u32::to_string).collect();
                pids.join(", ")
            } else {
                "unknown".into()
            },
            load.clients
        );
    }
    let loadavg_before = proc::loadavg();
    let (join, send) = runtime.block_on(async {
        let (run, join) = Run::join(load.clone(), &server.targets, server.measured.clone()).await;
        let send = run.send().await;
        (join, send)
    });
    Ok(Report {
        server: server.name.into(),
        hwm_kib: server.measured.hwm_kib(),
        measured: server.measured.clone(),
        nodes: server.nodes,
        load: load.clone(),
        password,
        join,
        send,
        loadavg: [loadavg_before, proc::loadavg()],
        cpus: proc::cpus(),
        kernel_socket_bytes: proc::socket_kernel_bytes(),
    })
}

fn print(cli: &Cli, reports: &[Report]) {
    match (cli.json, reports) {
        (true, [one]) => println!("{}", one.json()),
        (true, runs) => println!("{}", report::json_of_runs(runs)),
        (false, [one]) => print!("{}", one.table()),
        (false, [base, others @ ..]) => print!("{}", report::compare_table(base, others)),
        (false, []) => {}
    }
}
