//! A real `chatd` process for a test.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::{DEADLINE, bin, wait_until};

/// How to start a daemon.
#[derive(Default)]
pub struct DaemonBuilder {
    args: Vec<String>,
    config: Option<String>,
    env: Vec<(String, String)>,
    root: Option<Arc<TempDir>>,
    runtime_dir: Option<PathBuf>,
    found_dirs: Option<(PathBuf, PathBuf)>,
    wrapper: Vec<String>,
    wait_ready: bool,
    listen: Option<String>,
    tmpfs_state: Option<String>,
}

impl DaemonBuilder {
    /// Adds a command-line argument.
    pub fn arg(mut self, arg: impl Into<String>) -> Self {
        self.args.push(arg.into());
        self
    }

    /// Writes this TOML to `ROOT/chatd.toml` and passes `--config`.
    pub fn config(mut self, toml: &str) -> Self {
        self.config = Some(toml.to_string());
        self
    }

    /// Sets an environment variable for the daemon.
    pub fn env(mut self, key: &str, value: impl Into<String>) -> Self {
        self.env.push((key.to_string(), value.into()));
        self
    }

    /// Uses this runtime directory instead of `ROOT/run`.
    pub fn runtime_dir(mut self, dir: &Path) -> Self {
        self.runtime_dir = Some(dir.to_path_buf());
        self
    }

    /// Passes neither `--state-dir` nor `--runtime-dir`, so chatd finds its
    /// directories itself from the environment the test gives it; they are
    /// expected at `state_dir` and `runtime_dir`. Never use this without
    /// pointing that environment at temp dirs: as root, chatd's defaults are
    /// the system's own directories.
    pub fn dirs_found_at(mut self, state_dir: &Path, runtime_dir: &Path) -> Self {
        self.found_dirs = Some((state_dir.to_path_buf(), runtime_dir.to_path_buf()));
        self
    }

    /// Runs chatd through `program` (for example `setpriv`), with `args`
    /// before chatd's own command line. The program must exec chatd, so
    /// that the process the test signals and kills is chatd itself.
    pub fn wrapped_in(mut self, program: &str, args: &[&str]) -> Self {
        self.wrapper = std::iter::once(program)
            .chain(args.iter().copied())
            .map(str::to_string)
            .collect();
        self
    }

    /// Puts the state directory on a tmpfs of `size` (`64k`, say), mounted
    /// in a mount namespace of chatd's own (`unshare --mount`, so root
    /// only): nothing outside sees the mount, and it vanishes with chatd
    /// whatever happens to the test. [`Daemon::state_dir`] is then the
    /// directory as chatd sees it, through `/proc/PID/root`.
    pub fn state_on_tmpfs(mut self, size: &str) -> Self {
        self.tmpfs_state = Some(size.to_string());
        self
    }

    /// Listens on `addr` instead of 127.0.0.1 port 0 (a restart on the
    /// same port).
    pub fn listen(mut self, addr: impl Into<String>) -> Self {
        self.listen = Some(addr.into());
        self
    }

    /// Joins the cluster on NATS at `urls` as node `node`
    /// (`--cluster URLS --node-name NODE`).
    pub fn cluster(self, urls: &str, node: &str) -> Self {
        self.arg("--cluster").arg(urls).arg("--node-name").arg(node)
    }

    /// Reuses the directories of an earlier daemon (a restart).
    pub fn same_dirs_as(mut self, other: &Daemon) -> Self {
        self.root = Some(other.root.clone());
        self
    }

    /// Starts without waiting for the listener (for start-up failures).
    pub fn spawn(mut self) -> Daemon {
        self.wait_ready = false;
        self.launch()
    }

    /// Starts and waits until the listener is bound.
    pub fn start(mut self) -> Daemon {
        self.wait_ready = true;
        self.launch()
    }

    fn launch(self) -> Daemon {
        let root = self
            .root
            .unwrap_or_else(|| Arc::new(tempfile::tempdir().expect("temp dir")));
        let mut state_dir = root.path().join("state");
        let mut runtime_dir = self
            .runtime_dir
            .clone()
            .unwrap_or_else(|| root.path().join("run"));
        let mut wrapper = self.wrapper.clone();
        if let Some(size) = &self.tmpfs_state {
            // $0 is chatd (or the next wrapper), "$@" the rest: the mount
            // goes on the --state-dir argument.
            let script = format!(
                r#"s=; p=; for a in "$@"; do [ "$p" = --state-dir ] && s=$a; p=$a; done
                   mkdir -p "$s" && mount -t tmpfs -o size={size},mode=0700 tmpfs "$s" && exec "$0" "$@""#
            );
            let mut outer: Vec<String> = ["unshare", "--mount", "--propagation", "private", "--"]
                .into_iter()
                .map(str::to_string)
                .collect();
            outer.extend(["sh".into(), "-c".into(), script]);
            outer.extend(wrapper);
            wrapper = outer;
        }
        let mut cmd = match wrapper.split_first() {
            Some((program, args)) => {
                let mut cmd = Command::new(program);
                cmd.args(args).arg(bin("chatd"));
                cmd
            }
            None => Command::new(bin("chatd")),
        };
        cmd.arg("--listen")
            .arg(self.listen.as_deref().unwrap_or("127.0.0.1:0"));
        match &self.found_dirs {
            Some((state, runtime)) => {
                state_dir = state.clone();
                runtime_dir = runtime.clone();
            }
            None => {
                cmd.arg("--state-dir")
                    .arg(&state_dir)
                    .arg("--runtime-dir")
                    .arg(&runtime_dir);
            }
        }
        if let Some(toml) = &self.config {
            let path = root.path().join("chatd.toml");
            std::fs::write(&path, toml).expect("write config");
            cmd.arg("--config").arg(path);
        }
        cmd.args(&self.args);
        // What systemd or the user's session may have set, so that chatd
        // sees only what the test gives it (a developer's own
        // XDG_CONFIG_HOME/chatd/chatd.toml, say).
        for var in [
            "NOTIFY_SOCKET",
            "LISTEN_FDS",
            "LISTEN_PID",
            "LISTEN_FDNAMES",
            "WATCHDOG_USEC",
            "JOURNAL_STREAM",
            "STATE_DIRECTORY",
            "RUNTIME_DIRECTORY",
            "CONFIGURATION_DIRECTORY",
            "CREDENTIALS_DIRECTORY",
            "XDG_CONFIG_HOME",
            "XDG_STATE_HOME",
            "XDG_RUNTIME_DIR",
        ] {
            cmd.env_remove(var);
        }
        cmd.env("RUST_LOG", "info").env("HOME", root.path());
        // Never the machine's own /etc/chatd/chatd.toml (a package installed
        // while the tests run, say): the configuration directory is the
        // test's own, unless the test lets chatd find its directories.
        if self.found_dirs.is_none() {
            cmd.env("CONFIGURATION_DIRECTORY", root.path());
        }
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn chatd");
        let log = Arc::new(Mutex::new(String::new()));
        let stderr = child.stderr.take().expect("stderr");
        let sink = log.clone();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let mut log = sink.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        if self.tmpfs_state.is_some() {
            let inside = state_dir
                .strip_prefix("/")
                .unwrap_or(&state_dir)
                .to_path_buf();
            state_dir = PathBuf::from(format!("/proc/{}/root", child.id())).join(inside);
        }
        let mut daemon = Daemon {
            child,
            reader: Some(reader),
            root,
            state_dir,
            runtime_dir,
            log,
            port: 0,
            url: String::new(),
            key: String::new(),
        };
        if self.wait_ready {
            daemon.wait_ready();
        }
        daemon
    }
}

/// A running `chatd`, stopped (SIGKILL) when dropped.
pub struct Daemon {
    child: Child,
    reader: Option<std::thread::JoinHandle<()>>,
    root: Arc<TempDir>,
    /// Its state directory.
    pub state_dir: PathBuf,
    /// Its runtime directory.
    pub runtime_dir: PathBuf,
    log: Arc<Mutex<String>>,
    /// The bound port.
    pub port: u16,
    /// `ws://127.0.0.1:PORT/`.
    pub url: String,
    /// The key token.
    pub key: String,
}

impl Daemon {
    /// A builder.
    pub fn builder() -> DaemonBuilder {
        DaemonBuilder::default()
    }

    /// Starts a daemon on its defaults (plus test dirs and port 0).
    pub fn start() -> Self {
        Self::builder().start()
    }

    /// Waits until the chat listener is bound (a daemon [`DaemonBuilder::spawn`]ed
    /// that is expected to come up), then reads its port and key; panics
    /// with its log if it exits first.
    pub fn wait_ready(&mut self) {
        let port = wait_until("chatd to listen", || {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "chatd exited with {status} before listening; its log:\n{}",
                    self.log()
                );
            }
            let log = self.log();
            let at = log.find("listening on ws://127.0.0.1:")?;
            let rest = &log[at + "listening on ws://127.0.0.1:".len()..];
            rest.split('/').next()?.parse::<u16>().ok()
        });
        self.port = port;
        self.url = format!("ws://127.0.0.1:{port}/");
        self.key = self.read_key();
    }

    /// The first line of `STATE_DIR/key`.
    pub fn read_key(&self) -> String {
        let text = std::fs::read_to_string(self.state_dir.join("key")).expect("read key file");
        text.lines().next().unwrap_or_default().to_string()
    }

    /// Everything chatd wrote to stderr so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Waits until the log contains `needle`.
    pub fn wait_for_log(&self, needle: &str) {
        wait_until(&format!("chatd to log {needle:?}"), || {
            self.log().contains(needle).then_some(())
        });
    }

    /// The metrics listener's address (`metrics_listen`), as chatd logged
    /// it once bound.
    pub fn metrics_addr(&self) -> std::net::SocketAddr {
        const SAID: &str = "serving metrics on http://";
        wait_until("chatd to say where it serves its metrics", || {
            let log = self.log();
            let rest = &log[log.find(SAID)? + SAID.len()..];
            rest[..rest.find('/')?].parse().ok()
        })
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The temp directory holding state, runtime and config.
    pub fn root(&self) -> &Path {
        self.root.path()
    }

    /// Sends a signal.
    pub fn signal(&self, sig: i32) {
        crate::signal(self.pid(), sig);
    }

    /// The exit status if the process has exited, without waiting.
    pub fn try_exit(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().expect("wait chatd")
    }

    /// Waits for the process to exit.
    pub fn wait_exit(&mut self) -> ExitStatus {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("wait chatd") {
                // The whole log, up to the last line, before anyone reads it.
                if let Some(reader) = self.reader.take() {
                    let _ = reader.join();
                }
                return status;
            }
            assert!(
                start.elapsed() < DEADLINE,
                "chatd did not exit; its log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Runs the real `chatctl --socket RUNTIME_DIR/admin.sock ARGS`: its
    /// exit code, stdout and stderr.
    pub fn chatctl(&self, args: &[&str]) -> (i32, String, String) {
        let out = Command::new(bin("chatctl"))
            .arg("--socket")
            .arg(self.runtime_dir.join("admin.sock"))
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("run chatctl");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// `chatctl --json ARGS` against this daemon, which must succeed: its
    /// answer (panics with the output and the daemon's log otherwise).
    pub fn chatctl_json(&self, args: &[&str]) -> serde_json::Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let (code, out, err) = self.chatctl(&all);
        assert_eq!(code, 0, "chatctl {args:?}: {out}{err}\n{}", self.log());
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"))
    }

    /// The keys `chatctl names --json` lists for `name`, any case (`None`:
    /// the name is not registered).
    pub fn name_keys(&self, name: &str) -> Option<Vec<String>> {
        let names = self.chatctl_json(&["names"]);
        names["names"]
            .as_array()
            .expect("names")
            .iter()
            .find(|n| {
                n["name"]
                    .as_str()
                    .is_some_and(|n| n.eq_ignore_ascii_case(name))
            })
            .map(|n| {
                n["keys"]
                    .as_array()
                    .expect("keys")
                    .iter()
                    .map(|k| k["key"].as_str().expect("a key").to_string())
                    .collect()
            })
    }

    /// Stops with SIGTERM and returns the exit status.
    pub fn terminate(&mut self) -> ExitStatus {
        self.signal(libc::SIGTERM);
        self.wait_exit()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
