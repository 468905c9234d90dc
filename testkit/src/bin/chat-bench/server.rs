//! The server under test: a chatd this bench starts (testkit's `Daemon`,
//! the binary next to this one, so a release bench runs a release chatd),
//! K chatd nodes sharing one room through a nats-server the bench starts
//! too (`--nodes K`), a reference server (the relay or the floor) as a
//! child process, or a chatd already running (`--url`).

use std::time::Duration;

use testkit::{Daemon, Nats};

use crate::conn::{Proto, Target};
use crate::proc::{self, Measured};
use crate::reference::{Fault, Kind, ReferenceProcess};

/// The join password of a chatd the bench starts with `--password`: not
/// a secret, a bench-only server on loopback.
const BENCH_PASSWORD: &str = "bench password";

/// A server under test, stopped when dropped (if the bench started it).
pub struct Server {
    /// Where clients connect: one target, or one per node.
    pub targets: Vec<Target>,
    /// Its processes (every node's), when known, and the nats-server's.
    pub measured: Measured,
    /// `chatd`, `reference` (the relay) or `floor`.
    pub name: &'static str,
    /// How many chatd nodes share the room through NATS; `None`: one
    /// chatd on its own (no NATS).
    pub nodes: Option<usize>,
    /// Keeps what the bench started alive (a `Daemon`, a child process,
    /// the password file's directory).
    _owned: Box<dyn std::any::Any>,
}

impl Server {
    /// Starts one chatd on its own (no cluster), configured for `clients`
    /// loopback clients ([`chatd_config`]).
    pub fn chatd(clients: usize, password: bool) -> Result<Server, String> {
        let config = chatd_config(clients);
        let dir = tempfile::tempdir().map_err(|e| format!("temp dir: {e}"))?;
        let mut builder = Daemon::builder().config(&config);
        if password {
            builder = with_password(builder, &dir)?;
        }
        let daemon = builder.start();
        Ok(Server {
            targets: vec![Target::new(&daemon.url, chat_proto(&daemon, password))?],
            measured: Measured {
                server: vec![daemon.pid()],
                nats: None,
            },
            name: "chatd",
            nodes: None,
            _owned: Box::new((daemon, dir)),
        })
    }

    /// Starts a nats-server (JetStream, 127.0.0.1, a free port) and `nodes`
    /// chatd nodes joined to it (`--cluster URL --node-name nodeI`), each
    /// with its own state directory and the configuration of
    /// [`Server::chatd`] (and the same password). Each node's clients join
    /// with that node's own key token: the same token on every node once
    /// the nodes share the room's key through the cluster, and still right
    /// while each node has a key of its own.
    pub fn cluster(clients: usize, password: bool, nodes: usize) -> Result<Server, String> {
        let config = chatd_config(clients);
        let dir = tempfile::tempdir().map_err(|e| format!("temp dir: {e}"))?;
        let nats = Nats::start();
        let mut daemons: Vec<Daemon> = Vec::with_capacity(nodes);
        for i in 1..=nodes {
            let mut builder = Daemon::builder()
                .config(&config)
                .cluster(&nats.url(), &format!("node{i}"));
            if password {
                builder = with_password(builder, &dir)?;
            }
            daemons.push(builder.start());
        }
        let targets = daemons
            .iter()
            .map(|d| Target::new(&d.url, chat_proto(d, password)))
            .collect::<Result<_, _>>()?;
        Ok(Server {
            targets,
            measured: Measured {
                server: daemons.iter().map(Daemon::pid).collect(),
                nats: nats.pid(),
            },
            name: "chatd",
            nodes: Some(nodes),
            // Dropped in this order: the nodes before their NATS.
            _owned: Box::new((daemons, nats, dir)),
        })
    }

    /// Starts reference server `kind` (`fault`: a test aid).
    pub fn reference(kind: Kind, fault: Option<Fault>) -> Result<Server, String> {
        let process = ReferenceProcess::start(kind, fault)?;
        Ok(Server {
            targets: vec![Target::new(&process.url, Proto::Bare)?],
            measured: Measured {
                server: vec![process.pid()],
                nats: None,
            },
            name: kind.report_name(),
            nodes: None,
            _owned: Box::new(process),
        })
    }

    /// A chatd someone else runs.
    pub fn attach(
        url: &str,
        token: String,
        password: String,
        pid: Option<u32>,
    ) -> Result<Server, String> {
        chat_protocol::Token::parse(&token).map_err(|e| {
            format!("the token is not valid ({e}): give the one `chatctl key` prints")
        })?;
        Ok(Server {
            targets: vec![Target::new(url, Proto::Chat { token, password })?],
            measured: Measured {
                server: pid.into_iter().collect(),
                nats: None,
            },
            name: "chatd",
            nodes: None,
            _owned: Box::new(()),
        })
    }

    /// Pins every thread of the server (every node) to `cpu`.
    pub fn pin(&self, cpu: usize) -> Result<(), String> {
        if !self.measured.known() {
            return Err("--pin-server needs the server's PID (--server-pid)".into());
        }
        // The runtime starts its workers lazily; give them a moment.
        std::thread::sleep(Duration::from_millis(100));
        for &pid in &self.measured.server {
            proc::pin_process(pid, cpu)
                .map_err(|e| format!("pinning the server (PID {pid}) to CPU {cpu}: {e}"))?;
        }
        Ok(())
    }

    /// Where clients connect, for the progress line: the URL, or the
    /// first node's and how many more.
    pub fn place(&self) -> String {
        match self.targets.as_slice() {
            [one] => one.url.clone(),
            [first, rest @ ..] => format!("{} and {} more nodes", first.url, rest.len()),
            [] => String::new(),
        }
    }
}

/// A chatd configuration fit for `clients` loopback clients: no
/// per-address limits on 127.0.0.0/8, room for everyone, a rate limit no
/// sender reaches, queues deep enough that a bench client a little behind
/// is not dropped as too slow, and room for the rooms of `--rooms`.
fn chatd_config(clients: usize) -> String {
    format!(
        "max_users = {}\nrate_burst = 1000000\nrate_per_second = 1000000\n\
             outbound_queue = 4096\noutbound_queue_bytes = 67108864\n\
             limit_exempt = [\"127.0.0.0/8\"]\nmax_rooms = 2000\nrooms_made_per_hour = 1000\n",
        clients + 100
    )
}

/// `builder` with the bench's join password (a file in `dir`).
fn with_password(
    builder: testkit::DaemonBuilder,
    dir: &tempfile::TempDir,
) -> Result<testkit::DaemonBuilder, String> {
    let file = dir.path().join("password");
    std::fs::write(&file, BENCH_PASSWORD)
        .map_err(|e| format!("writing {}: {e}", file.display()))?;
    Ok(builder
        .arg("--password-file")
        .arg(file.to_string_lossy().into_owned()))
}

/// How the bench's clients join `daemon` (its key token, the password).
fn chat_proto(daemon: &Daemon, password: bool) -> Proto {
    Proto::Chat {
        token: daemon.key.clone(),
        password: if password {
            BENCH_PASSWORD.into()
        } else {
            String::new()
        },
    }
}
