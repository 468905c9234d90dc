//! Real `nats-server`s (with JetStream) for the cluster's tests and the
//! benchmark: one server ([`Nats`]), or three clustered ones
//! ([`NatsCluster`]) for replicated streams.
//!
//! Both run the same way ([`Process`]): the server's stderr is kept as its
//! log, its client port (`-1`: a free one) is read from that log once it
//! says it is ready, and it is stopped by PID.

use std::ffi::OsString;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

use tempfile::TempDir;

use crate::wait_until;

fn program() -> PathBuf {
    for dir in ["/usr/sbin", "/usr/bin", "/usr/local/bin", "/usr/local/sbin"] {
        let path = PathBuf::from(dir).join("nats-server");
        if path.exists() {
            return path;
        }
    }
    panic!("nats-server is not installed; the cluster tests need it: apt-get install nats-server");
}

/// One running nats-server: the child, its log, its client port.
struct Process {
    child: Option<Child>,
    port: u16,
    log: Arc<Mutex<String>>,
}

impl Process {
    /// Starts `nats-server ARGS` and waits until it listens for clients.
    fn start(args: &[OsString]) -> Process {
        let mut child = Command::new(program())
            .args(args)
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
        let mut process = Process {
            child: Some(child),
            port: 0,
            log,
        };
        process.port = wait_until("nats-server to listen", || {
            let log = process.log();
            if log.contains("Server is ready") {
                log.lines()
                    .find_map(|l| l.split("Listening for client connections on ").nth(1))
                    .and_then(|addr| addr.rsplit(':').next()?.trim().parse().ok())
            } else {
                None
            }
        });
        process
    }

    fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            crate::signal(child.id(), libc::SIGKILL);
            let _ = child.wait();
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
    }
}

/// `-1` (a free port, reported in the log) until the port is known.
fn port_arg(port: u16) -> String {
    if port == 0 {
        "-1".to_string()
    } else {
        port.to_string()
    }
}

/// A nats-server on 127.0.0.1 with JetStream and its own store directory;
/// stopped (by PID) when dropped.
pub struct Nats {
    process: Process,
    store: TempDir,
    /// This server's password (see [`secret`]).
    secret: String,
}

impl Nats {
    /// Starts a server on a free port.
    pub fn start() -> Nats {
        Nats::start_at(0, secret())
    }

    /// Starts a server on `port` (0: a free one).
    fn start_at(port: u16, secret: String) -> Nats {
        let store = tempfile::tempdir().expect("temp dir");
        Nats {
            process: Process::start(&Nats::args(port, store.path(), &secret)),
            store,
            secret,
        }
    }

    /// A server on a free port that is not started yet: a test can point a
    /// chatd at [`Planned::url`] before it runs.
    pub fn plan() -> Planned {
        let [port] = free_ports::<1>();
        Planned {
            port,
            secret: secret(),
        }
    }

    /// Writes the server's config file (in its store directory) and returns
    /// the arguments that run it.
    fn args(port: u16, store: &Path, secret: &str) -> Vec<OsString> {
        let config = format!(
            "listen: \"127.0.0.1:{port}\"\njetstream {{ store_dir: {store:?} }}\n\
             authorization {{ user: {USER}, password: \"{secret}\" }}\n",
            port = port_arg(port),
        );
        let path = store.join("nats.conf");
        std::fs::write(&path, config).expect("write a nats-server config");
        vec!["-c".into(), path.into()]
    }

    /// `nats://testkit:PASSWORD@127.0.0.1:PORT`: only the nodes of the
    /// test that started this server can use it.
    pub fn url(&self) -> String {
        format!(
            "nats://{USER}:{}@127.0.0.1:{}",
            self.secret, self.process.port
        )
    }

    /// The server's log so far (since its last start).
    pub fn log(&self) -> String {
        self.process.log()
    }

    /// A NATS client of the test's own, logged in (the NATS client reads
    /// no login from a URL by itself), for what a test publishes or reads
    /// beside the nodes.
    pub async fn client(&self) -> async_nats::Client {
        client(&self.url(), &self.secret).await
    }

    /// The server's process id (for measuring its CPU time); `None` once
    /// killed.
    pub fn pid(&self) -> Option<u32> {
        self.process.pid()
    }

    /// Stops the server (SIGKILL, by PID) and waits for it.
    pub fn kill(&mut self) {
        self.process.kill();
    }

    /// Freezes the server (SIGSTOP, by PID): it keeps its connections but
    /// answers nothing, as a hung NATS would, until [`Nats::thaw`].
    pub fn freeze(&self) {
        if let Some(pid) = self.pid() {
            crate::signal(pid, libc::SIGSTOP);
        }
    }

    /// Lets a frozen server go on (SIGCONT, by PID).
    pub fn thaw(&self) {
        if let Some(pid) = self.pid() {
            crate::signal(pid, libc::SIGCONT);
        }
    }

    /// Starts the server again on the same port with the same store, as
    /// after a crash or a restart.
    pub fn restart(&mut self) {
        self.kill();
        self.process = Process::start(&Nats::args(
            self.process.port,
            self.store.path(),
            &self.secret,
        ));
    }
}

/// The user every test server knows (with its own [`secret`]).
const USER: &str = "testkit";

/// A fresh password (32 hex digits from the kernel's random source) for
/// one test's NATS server or cluster, which also names its cluster.
///
/// Tests run side by side on one machine, and a server restarted on its
/// port (or a route port picked free and then bound) can find that port
/// taken meanwhile by another test's server. Without a password of its
/// own, a test's nodes would then reconnect to the other test's server,
/// and a route would join the two clusters: each test would see the
/// other's users, names and log entries. With one, a stray node or route
/// is refused.
fn secret() -> String {
    use std::io::Read;
    let mut bytes = [0u8; 16];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .expect("read /dev/urandom");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A [`Nats`] to be started later on a port chosen now ([`Nats::plan`]).
pub struct Planned {
    port: u16,
    secret: String,
}

impl Planned {
    /// The URL the server will have, with its login.
    pub fn url(&self) -> String {
        format!("nats://{USER}:{}@127.0.0.1:{}", self.secret, self.port)
    }

    /// Starts the server.
    pub fn start(self) -> Nats {
        Nats::start_at(self.port, self.secret)
    }
}

/// A client of the test server at `url`, logged in with `secret`.
async fn client(url: &str, secret: &str) -> async_nats::Client {
    async_nats::ConnectOptions::with_user_and_password(USER.into(), secret.into())
        .connect(url)
        .await
        .unwrap_or_else(|e| panic!("connect to the test's nats-server: {e}"))
}

/// How many servers a [`NatsCluster`] runs.
const CLUSTER_SIZE: usize = 3;

/// Three nats-servers on 127.0.0.1 clustered with JetStream (Raft), so a
/// stream with 3 replicas survives one of them; each has its own config
/// file and store under one temp directory. Started once JetStream has
/// elected its meta leader (or at once: [`NatsCluster::spawn`]); stopped
/// (by PID) when dropped.
pub struct NatsCluster {
    dir: TempDir,
    /// The cluster's password, for clients and routes alike, and the tail
    /// of its cluster name (see [`secret`]).
    secret: String,
    /// Route ports, chosen up front: every server's config names them all.
    routes: [u16; CLUSTER_SIZE],
    /// Monitoring ports, where `/jsz` says whom a server knows as leader.
    monitors: [u16; CLUSTER_SIZE],
    servers: Vec<Process>,
}

impl NatsCluster {
    /// Starts three clustered servers on free ports, and waits until each
    /// knows JetStream's meta leader.
    pub fn start() -> NatsCluster {
        let cluster = NatsCluster::spawn();
        for i in 0..CLUSTER_SIZE {
            cluster.wait_for_meta_leader(i);
        }
        cluster
    }

    /// Starts three clustered servers on free ports and returns as soon as
    /// each listens for clients: JetStream has no leader yet (as right
    /// after a reboot).
    pub fn spawn() -> NatsCluster {
        let dir = tempfile::tempdir().expect("temp dir");
        let ports = free_ports::<{ 2 * CLUSTER_SIZE }>();
        let mut cluster = NatsCluster {
            dir,
            secret: secret(),
            routes: std::array::from_fn(|i| ports[i]),
            monitors: std::array::from_fn(|i| ports[CLUSTER_SIZE + i]),
            servers: Vec::new(),
        };
        // Each waits for its client port only; the routes form meanwhile.
        for i in 0..CLUSTER_SIZE {
            let args = cluster.args(i, 0);
            cluster.servers.push(Process::start(&args));
        }
        cluster
    }

    /// Writes server `i`'s config file (client port `port`, 0: a free one)
    /// and returns the arguments that run it.
    fn args(&self, i: usize, port: u16) -> Vec<OsString> {
        let mut routes = String::new();
        for (j, route) in self.routes.iter().enumerate() {
            if j != i {
                let _ = write!(
                    routes,
                    "nats-route://{USER}:{}@127.0.0.1:{route}, ",
                    self.secret
                );
            }
        }
        let store = self.dir.path().join(format!("store{i}"));
        let config = format!(
            "server_name: n{i}\nlisten: \"127.0.0.1:{port}\"\n\
             http: \"127.0.0.1:{monitor}\"\n\
             jetstream {{ store_dir: {store:?} }}\n\
             authorization {{ user: {USER}, password: \"{secret}\" }}\n\
             cluster {{\n  name: testkit-{name}\n  listen: \"127.0.0.1:{route}\"\n  \
             authorization {{ user: {USER}, password: \"{secret}\" }}\n  routes: [{routes}]\n}}\n",
            port = port_arg(port),
            secret = self.secret,
            name = &self.secret[..8],
            monitor = self.monitors[i],
            route = self.routes[i],
        );
        let path = self.dir.path().join(format!("n{i}.conf"));
        std::fs::write(&path, config).expect("write a nats-server config");
        vec!["-c".into(), path.into()]
    }

    /// Waits until server `i` knows JetStream's meta leader (it is the
    /// leader, or has heard of the one elected), as its monitoring
    /// endpoint `/jsz` says: its log does not always say so after a
    /// restart.
    fn wait_for_meta_leader(&self, i: usize) {
        let start = std::time::Instant::now();
        while meta_leader(self.monitors[i]).is_none() {
            assert!(
                start.elapsed() < crate::DEADLINE,
                "timed out after {:?} waiting for nats-server n{i} to know its meta leader; the servers' logs:\n{}",
                crate::DEADLINE,
                self.logs()
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }

    /// `nats://testkit:PASSWORD@127.0.0.1:PORT` of server `i`.
    pub fn url(&self, i: usize) -> String {
        format!(
            "nats://{USER}:{}@127.0.0.1:{}",
            self.secret, self.servers[i].port
        )
    }

    /// A NATS client of the test's own on server `i`, logged in.
    pub async fn client(&self, i: usize) -> async_nats::Client {
        client(&self.url(i), &self.secret).await
    }

    /// Every server's URL, comma-joined: one `--cluster` value.
    pub fn urls(&self) -> String {
        (0..CLUSTER_SIZE)
            .map(|i| self.url(i))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Server `i`'s log since its last start.
    pub fn log(&self, i: usize) -> String {
        self.servers[i].log()
    }

    /// Every server's log, headed by its name, for a failing test.
    pub fn logs(&self) -> String {
        (0..CLUSTER_SIZE)
            .map(|i| format!("--- n{i}\n{}", self.log(i)))
            .collect()
    }

    /// Stops server `i` (SIGKILL, by PID) and waits for it.
    pub fn kill(&mut self, i: usize) {
        self.servers[i].kill();
    }

    /// Starts server `i` again on its ports with its store, as after a
    /// crash, and waits until it knows the meta leader.
    pub fn restart(&mut self, i: usize) {
        self.kill(i);
        let args = self.args(i, self.servers[i].port);
        self.servers[i] = Process::start(&args);
        self.wait_for_meta_leader(i);
    }
}

/// Free ports: bound on port 0 all at once (so they differ), then
/// released for nats-server to take.
pub fn free_ports<const N: usize>() -> [u16; N] {
    let listeners: Vec<std::net::TcpListener> = (0..N)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port"))
        .collect();
    std::array::from_fn(|i| listeners[i].local_addr().expect("local address").port())
}

/// The meta leader a nats-server knows, from its monitoring port's
/// `/jsz`; `None` while it knows none (or does not answer).
fn meta_leader(monitor: u16) -> Option<String> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", monitor)).ok()?;
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(2)))
        .ok()?;
    stream
        .write_all(b"GET /jsz HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .ok()?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).ok()?;
    let at = answer.windows(4).position(|w| w == b"\r\n\r\n")?;
    let body: serde_json::Value = serde_json::from_slice(&answer[at + 4..]).ok()?;
    body["meta_cluster"]["leader"]
        .as_str()
        .filter(|leader| !leader.is_empty())
        .map(str::to_string)
}
