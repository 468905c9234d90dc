//! Helpers for the client's end-to-end tests: the real `chat` binary as a
//! child process ([`Chat`]), and a one-connection fake server ([`fake`])
//! for what a real daemon never does (fail its identity check, send a
//! forged message).

#![allow(dead_code)] // each test file uses a different part

pub mod fake;
pub mod proxy;
pub mod tmux;

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use testkit::{DEADLINE, wait_until};

/// A running `chat`, its output collected as it comes. Killed (by its own
/// PID) when dropped.
pub struct Chat {
    child: Child,
    stdin: Option<ChildStdin>,
    out: Arc<Mutex<String>>,
    err: Arc<Mutex<String>>,
    readers: Vec<std::thread::JoinHandle<()>>,
}

/// Where the tests' `chat`s keep their data (`known_names`) unless a test
/// gives its own: under the target directory, never the developer's home.
pub fn data_home() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("chat-test-data")
}

/// `chat --url URL` with CHAT_KEY set to `key`, in a clean environment:
/// no configuration file, no identity (CHAT_IDENTITY=none; the identity
/// tests set their own), data under [`data_home`].
pub fn command(url: &str, key: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_chat"));
    cmd.arg("--url").arg(url);
    cmd.env_remove("CHAT_PASSWORD").env("CHAT_KEY", key);
    // No configuration file of the developer's own.
    cmd.env("XDG_CONFIG_HOME", "/nonexistent/chat-test-config");
    cmd.env("CHAT_IDENTITY", "none")
        .env("XDG_DATA_HOME", data_home());
    cmd
}

/// Collects a pipe into a string as it comes; the thread ends at EOF.
fn collect(
    mut from: impl Read + Send + 'static,
) -> (Arc<Mutex<String>>, std::thread::JoinHandle<()>) {
    let text = Arc::new(Mutex::new(String::new()));
    let sink = text.clone();
    let reader = std::thread::spawn(move || {
        let mut reader = BufReader::new(&mut from);
        let mut line = String::new();
        while reader.read_line(&mut line).is_ok_and(|n| n > 0) {
            sink.lock().unwrap().push_str(&line);
            line.clear();
        }
    });
    (text, reader)
}

impl Chat {
    /// Starts `chat` against `url` with `key` and `args`.
    pub fn start(url: &str, key: &str, args: &[&str]) -> Self {
        let mut cmd = command(url, key);
        cmd.args(args);
        Self::spawn(cmd)
    }

    /// Starts a prepared command, with stdin, stdout and stderr piped.
    pub fn spawn(mut cmd: Command) -> Self {
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn chat");
        let (out, out_reader) = collect(child.stdout.take().unwrap());
        let (err, err_reader) = collect(child.stderr.take().unwrap());
        Self {
            stdin: child.stdin.take(),
            child,
            out,
            err,
            readers: vec![out_reader, err_reader],
        }
    }

    /// Starts `chat` and waits until it has joined as `name`.
    pub fn joined(url: &str, key: &str, name: &str, args: &[&str]) -> Self {
        let mut all = vec!["--username", name];
        all.extend_from_slice(args);
        let chat = Self::start(url, key, &all);
        chat.wait_out(&format!("-!- joined as {name}"));
        chat
    }

    /// Types one line.
    pub fn line(&mut self, text: &str) {
        let stdin = self.stdin.as_mut().expect("stdin still open");
        writeln!(stdin, "{text}").expect("write to chat's stdin");
        stdin.flush().unwrap();
    }

    /// Ends the input (as at the end of a piped file).
    pub fn end_input(&mut self) {
        self.stdin = None;
    }

    /// Everything printed on stdout so far.
    pub fn stdout(&self) -> String {
        self.out.lock().unwrap().clone()
    }

    /// Everything printed on stderr so far.
    pub fn stderr(&self) -> String {
        self.err.lock().unwrap().clone()
    }

    /// Waits until stdout contains `needle`.
    pub fn wait_out(&self, needle: &str) {
        self.wait_for(needle, || self.stdout());
    }

    /// Waits until stderr contains `needle`.
    pub fn wait_err(&self, needle: &str) {
        self.wait_for(needle, || self.stderr());
    }

    /// Waits until stdout or stderr contains `needle`.
    pub fn wait_for_either(&self, needle: &str) {
        self.wait_for(needle, || format!("{}{}", self.stdout(), self.stderr()));
    }

    fn wait_for(&self, needle: &str, text: impl Fn() -> String) {
        let start = Instant::now();
        while !text().contains(needle) {
            assert!(
                start.elapsed() < DEADLINE,
                "timed out waiting for {needle:?}\nstdout:\n{}\nstderr:\n{}",
                self.stdout(),
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits for the process to exit; its exit code.
    pub fn wait_exit(&mut self) -> i32 {
        let status = wait_until("chat to exit", || self.child.try_wait().expect("wait chat"));
        // The readers end at EOF: all the output is in once they have.
        for reader in self.readers.drain(..) {
            reader.join().expect("output reader");
        }
        status.code().unwrap_or_else(|| {
            panic!(
                "chat died of a signal: {status}\nstdout:\n{}\nstderr:\n{}",
                self.stdout(),
                self.stderr()
            )
        })
    }

    /// Ends the input and waits for the exit code.
    pub fn finish(&mut self) -> i32 {
        self.end_input();
        self.wait_exit()
    }

    /// Sends a signal to this process.
    pub fn signal(&self, sig: i32) {
        testkit::signal(self.child.id(), sig);
    }

    /// A description for assertion messages.
    pub fn output(&self) -> String {
        format!("stdout:\n{}\nstderr:\n{}", self.stdout(), self.stderr())
    }
}

impl Drop for Chat {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
