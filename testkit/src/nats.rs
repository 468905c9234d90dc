//! A real `nats-server` (with JetStream) for the cluster's tests.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

use tempfile::TempDir;

use crate::wait_until;

/// A nats-server on 127.0.0.1 with JetStream and its own store directory;
/// stopped (by PID) when dropped.
pub struct Nats {
    child: Option<Child>,
    port: u16,
    store: Arc<TempDir>,
    log: Arc<Mutex<String>>,
}

fn program() -> PathBuf {
    for dir in ["/usr/sbin", "/usr/bin", "/usr/local/bin", "/usr/local/sbin"] {
        let path = PathBuf::from(dir).join("nats-server");
        if path.exists() {
            return path;
        }
    }
    panic!("nats-server is not installed; the cluster tests need it: apt-get install nats-server");
}

impl Nats {
    /// Starts a server on a free port.
    pub fn start() -> Nats {
        let store = Arc::new(tempfile::tempdir().expect("temp dir"));
        Nats::spawn(0, store)
    }

    fn spawn(port: u16, store: Arc<TempDir>) -> Nats {
        // -p -1: a random free port, reported in the log.
        let port_arg = if port == 0 {
            "-1".to_string()
        } else {
            port.to_string()
        };
        let mut child = Command::new(program())
            .args(["-js", "-a", "127.0.0.1", "-p", &port_arg, "-sd"])
            .arg(store.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start nats-server");
        let log = Arc::new(Mutex::new(String::new()));
        let stderr = child.stderr.take().expect("stderr");
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let mut log = sink.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        let mut nats = Nats {
            child: Some(child),
            port,
            store,
            log,
        };
        nats.port = wait_until("nats-server to listen", || {
            let log = nats.log.lock().unwrap();
            if log.contains("Server is ready") {
                log.lines()
                    .find_map(|l| l.split("Listening for client connections on ").nth(1))
                    .and_then(|addr| addr.rsplit(':').next()?.trim().parse().ok())
            } else {
                None
            }
        });
        nats
    }

    /// `nats://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Stops the server (SIGKILL, by PID) and waits for it.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            crate::signal(child.id(), libc::SIGKILL);
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port with the same store, as
    /// after a crash or a restart.
    pub fn restart(&mut self) {
        self.kill();
        let again = Nats::spawn(self.port, self.store.clone());
        self.child = again.into_child();
        self.log = Arc::new(Mutex::new(String::new()));
    }

    fn into_child(mut self) -> Option<Child> {
        self.child.take()
    }
}

impl Drop for Nats {
    fn drop(&mut self) {
        self.kill();
    }
}
