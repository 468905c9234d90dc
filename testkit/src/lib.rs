//! Test support shared by the crates' integration tests: it runs the real
//! `chatd` binary on 127.0.0.1 port 0 with its own temp directories, and
//! speaks the wire protocol directly ([`RawClient`]) for tests that need
//! to misbehave or look at bytes.
//!
//! Every wait has a generous deadline and fails with the daemon's log.

mod admin;
mod daemon;
mod elsewhere;
pub mod monitoring;
mod nats;
mod notify;
mod raw;
mod rooms;

pub use admin::{admin_call, admin_call_at, admin_call_with};
pub use daemon::{Daemon, DaemonBuilder};
pub use elsewhere::{claim_names, long_names};
pub use nats::{Nats, NatsCluster, Planned, free_ports};
pub use notify::Notify;
pub use raw::{
    Greeted, Outcome, RawClient, RawReceiver, RawSender, Ws, close_of, connect, connect_from,
    connect_from_with_headers, connect_with_receive_buffer, next_binary, send_fragments,
};

use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Deadline for anything a test waits for; only a liveness bound.
pub const DEADLINE: Duration = Duration::from_secs(30);

/// Path of a binary of this workspace, built next to the running test.
pub fn bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    // target/debug/deps/test-xxxx → target/debug/NAME; a binary of ours
    // (chat-bench) sits in target/PROFILE itself, an example in
    // target/PROFILE/examples.
    let mut dir = exe.parent().expect("target directory");
    if dir.ends_with("deps") || dir.ends_with("examples") {
        dir = dir.parent().expect("target directory");
    }
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is not built; run the tests with `cargo nextest run --workspace` (or `cargo build --workspace` first)",
        path.display()
    );
    path
}

/// Polls `check` until it returns `Some`, or panics naming `what`.
pub fn wait_until<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(
            start.elapsed() < DEADLINE,
            "timed out after {DEADLINE:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Sends a signal to a process we started, by PID. `SIGSTOP` returns once
/// every thread of the process is stopped: the stop is asynchronous (it
/// begins when the thread chosen for the signal next runs, which on a
/// loaded machine may be well after kill(2) returned, and the other
/// threads go on meanwhile), and a test that went on at once could still
/// be answered by the process it meant to freeze.
pub fn signal(pid: u32, sig: i32) {
    // SAFETY: kill(2) with a PID of a child this test started.
    let sent = unsafe { libc::kill(pid as libc::pid_t, sig) } == 0;
    if sent && sig == libc::SIGSTOP {
        wait_until(&format!("process {pid} to stop"), || {
            all_stopped(pid).then_some(())
        });
    }
}

/// Whether every thread of process `pid` is stopped (state `T` in
/// `/proc/PID/task/*/stat`).
fn all_stopped(pid: u32) -> bool {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return false;
    };
    tasks.flatten().all(|task| {
        std::fs::read_to_string(task.path().join("stat")).is_ok_and(|stat| {
            // The state follows the command name, which ends with the
            // last ')' (a name may hold one itself).
            stat.rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().next())
                .is_some_and(|state| state == "T" || state == "t")
        })
    })
}

/// Writes `path` until its filesystem is full (a small tmpfs state
/// directory, [`DaemonBuilder::state_on_tmpfs`]); removing the file frees
/// the space again.
pub fn fill_disk(path: &std::path::Path) {
    use std::io::Write;
    let mut file = std::fs::File::create(path).expect("the ballast file");
    let chunk = vec![0u8; 4096];
    loop {
        match file.write(&chunk) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) if e.raw_os_error() == Some(libc::ENOSPC) => break,
            Err(e) => panic!("filling {}: {e}", path.display()),
        }
    }
}
