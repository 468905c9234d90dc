//! The reference servers chatd's figures are read against, and what they
//! share: bare broadcast servers with no security at all, run as child
//! processes of this binary (`chat-bench serve-reference --kind K`) so
//! that their CPU time and memory are read from `/proc` exactly like
//! chatd's, in the same run on the same machine.
//!
//! Two kinds: the *relay* (`relay.rs`), the plain tokio-tungstenite
//! pattern, a reader and a writer task per connection; and the *floor*
//! (`floor/`), one thread, a broadcast ring and one write per connection a
//! turn: the least a broadcast server can cost. Both speak the same bare
//! WebSocket, so one load and one checker serve both.
//!
//! `--fault` is a test aid, never a benchmark setting: it makes a
//! reference break its promise on purpose, so that tests can prove that
//! the bench's checker notices. It acts on the 10th, 35th, 60th, …
//! message of each connection (every 25th from the 10th).

use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};

/// Which reference server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    /// A tokio relay: a reader and a writer task per connection.
    Relay,
    /// The floor: one thread, a broadcast ring, one write per connection a turn.
    Floor,
}

impl Kind {
    /// Its name on the command line.
    pub fn flag(self) -> &'static str {
        match self {
            Kind::Relay => "relay",
            Kind::Floor => "floor",
        }
    }

    /// Its name in reports and JSON (`server`): the relay kept the name
    /// it had when it was the only reference.
    pub fn report_name(self) -> &'static str {
        match self {
            Kind::Relay => "reference",
            Kind::Floor => "floor",
        }
    }
}

/// A deliberate fault of a reference server (a test aid).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Fault {
    /// The message is not delivered to anyone but its sender.
    Drop,
    /// The message is delivered twice to everyone but its sender.
    Dup,
    /// The message is held back and delivered after its sender's next one.
    Reorder,
}

impl Fault {
    /// Its name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Fault::Drop => "drop",
            Fault::Dup => "dup",
            Fault::Reorder => "reorder",
        }
    }
}

/// Whether the `k`-th message (from 1) of a connection is one a fault acts on.
pub fn faulty(k: u64) -> bool {
    k % 25 == 10
}

/// `chat-bench serve-reference`: runs reference `kind` on 127.0.0.1:`port`.
pub fn serve(kind: Kind, port: u16, fault: Option<Fault>) -> Result<(), String> {
    match kind {
        Kind::Relay => crate::relay::serve(port, fault),
        Kind::Floor => crate::floor::serve(port, fault),
    }
}

/// Tells the parent where a reference listens (`listening on ADDR`, the
/// first line of its stdout), and makes the process end when the parent's
/// end of its stdin closes (the bench that started it is gone).
pub fn announce(addr: SocketAddr) -> Result<(), String> {
    println!("listening on {addr}");
    std::io::stdout().flush().map_err(|e| e.to_string())?;
    std::thread::spawn(|| {
        let _ = std::io::copy(&mut std::io::stdin(), &mut std::io::sink());
        std::process::exit(0);
    });
    Ok(())
}

/// A reference server running as a child process of this binary.
pub struct ReferenceProcess {
    child: Child,
    /// `ws://127.0.0.1:PORT/`.
    pub url: String,
}

impl ReferenceProcess {
    /// Starts `chat-bench serve-reference --kind KIND --port 0` and waits
    /// for its port.
    pub fn start(kind: Kind, fault: Option<Fault>) -> Result<Self, String> {
        let exe = std::env::current_exe().map_err(|e| format!("finding chat-bench itself: {e}"))?;
        let mut cmd = Command::new(exe);
        cmd.args(["serve-reference", "--kind", kind.flag(), "--port", "0"]);
        if let Some(f) = fault {
            cmd.args(["--fault", f.name()]);
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("starting the {} server: {e}", kind.flag()))?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .map_err(|e| format!("reading the {} server's port: {e}", kind.flag()))?;
        let addr = line
            .trim()
            .strip_prefix("listening on ")
            .ok_or_else(|| format!("the {} server said {line:?}, not its address", kind.flag()))?;
        Ok(ReferenceProcess {
            url: format!("ws://{addr}/"),
            child,
        })
    }

    /// Its PID.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for ReferenceProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
