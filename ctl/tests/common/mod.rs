//! Runs the real `chatctl` binary for the integration tests.
//!
//! Each run starts in a session of its own (no controlling terminal, so a
//! password prompt fails at once instead of waiting on the developer's
//! terminal), with `CHATD_SOCKET` removed, and ends within a deadline.

#![allow(dead_code)] // Each test binary uses its own part of this module.

use std::io::{Read, Write};
use std::os::unix::process::CommandExt as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Liveness bound for one run; never an assertion of speed.
pub const DEADLINE: Duration = Duration::from_secs(30);

/// How a run ended.
#[derive(Debug)]
pub struct Run {
    /// The exit code (`-1` if killed by a signal).
    pub code: i32,
    /// Everything on stdout.
    pub stdout: String,
    /// Everything on stderr.
    pub stderr: String,
}

impl Run {
    /// Asserts exit 0 and returns stdout.
    pub fn ok(self) -> String {
        assert_eq!(self.code, 0, "chatctl failed: {self:?}");
        assert_eq!(self.stderr, "", "nothing on stderr when all is well");
        self.stdout
    }

    /// Asserts exit `code` with nothing on stdout and one `chatctl: ` line
    /// on stderr, and returns that line.
    pub fn failed(self, code: i32) -> String {
        assert_eq!(self.code, code, "{self:?}");
        assert_eq!(self.stdout, "", "nothing on stdout on failure: {self:?}");
        assert!(self.stderr.starts_with("chatctl: "), "{self:?}");
        assert_no_panic(&self.stderr);
        self.stderr
    }

    /// A failure under `--json`: the message on stderr (`chatctl: `, or
    /// clap's for a usage error), and the error as one JSON object on
    /// stdout; returns that object.
    pub fn failed_json(self, code: i32) -> serde_json::Value {
        assert_eq!(self.code, code, "{self:?}");
        assert!(!self.stderr.is_empty(), "{self:?}");
        assert_no_panic(&self.stderr);
        assert_eq!(self.stdout.lines().count(), 1, "one JSON line: {self:?}");
        let value: serde_json::Value =
            serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("{e}: {self:?}"));
        assert!(value["error"]["code"].is_string(), "{value}");
        assert!(value["error"]["message"].is_string(), "{value}");
        value
    }

    /// stdout parsed as one JSON value.
    pub fn json(self) -> serde_json::Value {
        let out = self.ok();
        assert_eq!(out.lines().count(), 1, "one JSON object on one line: {out}");
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"))
    }
}

/// A `chatctl` command with a clean environment.
pub fn chatctl() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_chatctl"));
    cmd.env_remove("CHATD_SOCKET").env("TZ", "UTC");
    // SAFETY: setsid is async-signal-safe and touches no memory of ours.
    unsafe {
        cmd.pre_exec(|| {
            libc::setsid();
            Ok(())
        });
    }
    cmd
}

/// Runs `chatctl --socket SOCKET ARGS…` with `stdin` as its input.
pub fn run_at(socket: &Path, args: &[&str], stdin: &str) -> Run {
    let mut cmd = chatctl();
    cmd.arg("--socket").arg(socket).args(args);
    run(cmd, stdin)
}

/// Runs `cmd` to its end (killed after [`DEADLINE`]).
pub fn run(mut cmd: Command, stdin: &str) -> Run {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn chatctl");
    let mut input = child.stdin.take().unwrap();
    // chatctl may exit without reading: a failed write is fine.
    let _ = input.write_all(stdin.as_bytes());
    drop(input);
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let stdout = std::thread::spawn(move || {
        let mut s = String::new();
        out.read_to_string(&mut s).map(|_| s)
    });
    let stderr = std::thread::spawn(move || {
        let mut s = String::new();
        err.read_to_string(&mut s).map(|_| s)
    });
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait chatctl") {
            break status;
        }
        if start.elapsed() > DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chatctl did not exit within {DEADLINE:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    Run {
        code: status.code().unwrap_or(-1),
        stdout: stdout.join().unwrap().expect("stdout is UTF-8"),
        stderr: stderr.join().unwrap().expect("stderr is UTF-8"),
    }
}

/// Fails if `stderr` shows a panic.
pub fn assert_no_panic(stderr: &str) {
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// Runs `chatctl --socket SOCKET ARGS…` on a pseudo-terminal of its own (its
/// controlling terminal, so `/dev/tty` is the pty), typing each of `lines`
/// once the matching prompt in `prompts` has appeared. Returns the exit
/// code and everything the terminal showed.
pub fn run_on_terminal(
    socket: &Path,
    args: &[&str],
    prompts: &[&str],
    lines: &[&str],
) -> (i32, String) {
    use std::os::fd::{FromRawFd as _, OwnedFd};
    use std::sync::{Arc, Mutex};

    let (mut master, slave) = {
        let (mut master, mut slave) = (-1, -1);
        // SAFETY: openpty writes two new descriptors into the out-pointers;
        // the name, termios and winsize arguments may be null.
        let rc = unsafe {
            libc::openpty(
                &mut master,
                &mut slave,
                std::ptr::null_mut(),
                std::ptr::null(),
                std::ptr::null(),
            )
        };
        assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
        // SAFETY: both descriptors are new and owned by nobody else.
        unsafe {
            (
                std::fs::File::from(OwnedFd::from_raw_fd(master)),
                OwnedFd::from_raw_fd(slave),
            )
        }
    };
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_chatctl"));
    cmd.env_remove("CHATD_SOCKET")
        .arg("--socket")
        .arg(socket)
        .args(args)
        .stdin(Stdio::from(slave.try_clone().unwrap()))
        .stdout(Stdio::from(slave.try_clone().unwrap()))
        .stderr(Stdio::from(slave));
    // SAFETY: setsid and ioctl are async-signal-safe; stdin is the pty.
    unsafe {
        cmd.pre_exec(|| {
            libc::setsid();
            if libc::ioctl(0, libc::TIOCSCTTY, 0) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn().expect("spawn chatctl on a pty");
    drop(cmd); // our copies of the slave: the child's exit ends the reads
    let shown = Arc::new(Mutex::new(Vec::new()));
    let reader = {
        let shown = shown.clone();
        let mut master = master.try_clone().unwrap();
        std::thread::spawn(move || {
            let mut buf = [0u8; 1024];
            // EIO once the child's side is gone.
            while let Ok(n @ 1..) = master.read(&mut buf) {
                shown.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        })
    };
    let text =
        |shown: &Mutex<Vec<u8>>| String::from_utf8_lossy(&shown.lock().unwrap()).into_owned();
    for (prompt, line) in prompts.iter().zip(lines) {
        testkit::wait_until(&format!("the prompt {prompt:?}"), || {
            text(&shown).contains(prompt).then_some(())
        });
        master.write_all(format!("{line}\n").as_bytes()).unwrap();
    }
    let status = testkit::wait_until("chatctl to exit", || child.try_wait().unwrap());
    reader.join().unwrap();
    (status.code().unwrap_or(-1), text(&shown))
}
