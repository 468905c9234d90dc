//! The server under test: a chatd this bench starts (testkit's `Daemon`,
//! the binary next to this one, so a release bench runs a release chatd),
//! the reference server as a child process, or a chatd already running
//! (`--url`).

use std::time::Duration;

use testkit::Daemon;

use crate::conn::{Proto, Target};
use crate::proc;
use crate::reference::{Fault, ReferenceProcess};

/// The join password of a chatd the bench starts with `--password`: not
/// a secret, a bench-only server on loopback.
const BENCH_PASSWORD: &str = "bench password";

/// A server under test, stopped when dropped (if the bench started it).
pub struct Server {
    /// Where clients connect.
    pub target: Target,
    /// Its PID, when known.
    pub pid: Option<u32>,
    /// `chatd` or `reference`.
    pub name: &'static str,
    /// Keeps what the bench started alive (a `Daemon`, a child process,
    /// the password file's directory).
    _owned: Box<dyn std::any::Any>,
}

impl Server {
    /// Starts chatd with a configuration fit for `clients` loopback
    /// clients: no per-address limits on 127.0.0.0/8, room for everyone,
    /// a rate limit no sender reaches, queues deep enough that a bench
    /// client a little behind is not dropped as too slow.
    pub fn chatd(clients: usize, password: bool) -> Result<Server, String> {
        let config = format!(
            "max_users = {}\nrate_burst = 1000000\nrate_per_second = 1000000\n\
             outbound_queue = 4096\noutbound_queue_bytes = 67108864\n\
             limit_exempt = [\"127.0.0.0/8\"]\n",
            clients + 100
        );
        let dir = tempfile::tempdir().map_err(|e| format!("temp dir: {e}"))?;
        let mut builder = Daemon::builder().config(&config);
        if password {
            let file = dir.path().join("password");
            std::fs::write(&file, BENCH_PASSWORD)
                .map_err(|e| format!("writing {}: {e}", file.display()))?;
            builder = builder
                .arg("--password-file")
                .arg(file.to_string_lossy().into_owned());
        }
        let daemon = builder.start();
        let proto = Proto::Chat {
            token: daemon.key.clone(),
            password: if password {
                BENCH_PASSWORD.into()
            } else {
                String::new()
            },
        };
        Ok(Server {
            target: Target::new(&daemon.url, proto)?,
            pid: Some(daemon.pid()),
            name: "chatd",
            _owned: Box::new((daemon, dir)),
        })
    }

    /// Starts the reference server (`fault`: a test aid).
    pub fn reference(fault: Option<Fault>) -> Result<Server, String> {
        let process = ReferenceProcess::start(fault)?;
        Ok(Server {
            target: Target::new(&process.url, Proto::Bare)?,
            pid: Some(process.pid()),
            name: "reference",
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
            target: Target::new(url, Proto::Chat { token, password })?,
            pid,
            name: "chatd",
            _owned: Box::new(()),
        })
    }

    /// Pins every thread of the server to `cpu`.
    pub fn pin(&self, cpu: usize) -> Result<(), String> {
        let pid = self
            .pid
            .ok_or("--pin-server needs the server's PID (--server-pid)")?;
        // The runtime starts its workers lazily; give them a moment.
        std::thread::sleep(Duration::from_millis(100));
        proc::pin_process(pid, cpu)
            .map_err(|e| format!("pinning the server (PID {pid}) to CPU {cpu}: {e}"))
    }
}
