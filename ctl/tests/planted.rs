//! A fake admin API that another local user planted, against the real
//! `chatctl` run as its victim: chatctl must refuse it (exit 77, naming the
//! owner and the fix) and send it nothing, neither the new password of
//! `passwd --stdin` nor the calls of `key` and `rotate-key`.
//!
//! Two distinct non-root users play attacker and victim through `setpriv`,
//! so these tests need root (CI runs as root); as another user they are
//! skipped. The fake is this test binary itself, run again as the attacker
//! with [`PLANT`] set (see [`fake_admin_api`]): a plain Unix listener that
//! reports every connection and how many bytes it received, and answers a
//! request as a daemon would, so that a chatctl without the checks would
//! exit 0 and the test would fail on that too.

mod common;

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::os::unix::fs::{DirBuilderExt as _, MetadataExt as _, PermissionsExt as _};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;

use common::{DEADLINE, Run, run};

/// Set to a socket path, turns this binary into the planted listener.
const PLANT: &str = "CHATCTL_TEST_PLANT";

/// What the listener reports on stderr starts with this.
const REPORT: &str = "plant: ";

/// Uids used by no other test: the planted directory's name holds the
/// victim's uid, so each test has its own pair.
const VICTIM: u32 = 47_101;
const ATTACKER: u32 = 47_102;
const PEER_VICTIM: u32 = 47_103;
const PEER_ATTACKER: u32 = 47_104;

/// Not a test of its own: the planted listener, when a test below runs
/// this binary again as the attacker with [`PLANT`] set. Does nothing
/// otherwise.
#[test]
fn fake_admin_api() {
    let Some(socket) = std::env::var_os(PLANT) else {
        return;
    };
    let socket = PathBuf::from(socket);
    let dir = socket.parent().unwrap();
    if !dir.exists() {
        // As an attacker would: a directory the victim can enter.
        std::fs::DirBuilder::new().mode(0o755).create(dir).unwrap();
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let listener = UnixListener::bind(&socket).unwrap();
    std::fs::set_permissions(&socket, std::fs::Permissions::from_mode(0o777)).unwrap();
    eprintln!("{REPORT}listening");
    for stream in listener.incoming() {
        let mut stream = stream.unwrap();
        let received = read_request(&mut stream);
        if received.starts_with(b"END") {
            eprintln!("{REPORT}end");
            return;
        }
        eprintln!("{REPORT}received {}", received.len());
        if !received.is_empty() {
            // What a daemon would say, good for passwd, key and rotate-key.
            let body = r#"{"password":"admin","token":"chat1_FAKE","key_id":"0000000000000000","previous_key_id":"1111111111111111","previous_key_expires":null,"disconnected":0}"#;
            let answer = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(answer.as_bytes());
        }
    }
}

/// Every byte of one request: its head and the body its content-length
/// announces, or whatever came before the peer closed.
fn read_request(stream: &mut UnixStream) -> Vec<u8> {
    stream.set_read_timeout(Some(DEADLINE)).unwrap();
    let mut bytes = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        if let Some(at) = bytes.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&bytes[..at]).to_ascii_lowercase();
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .map_or(0, |v| v.trim().parse().unwrap_or(0));
            if bytes.len() >= at + 4 + length {
                return bytes;
            }
        }
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return bytes,
            Ok(n) => bytes.extend_from_slice(&buf[..n]),
        }
    }
}

/// Whether these tests can run: root, to be two other users.
fn can_switch_users() -> bool {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: only root can run chatctl and the fake as two other users");
        return false;
    }
    assert!(
        Command::new("setpriv").arg("--version").output().is_ok(),
        "setpriv is missing: install util-linux (.ci/run does)"
    );
    true
}

/// `setpriv` as `uid` (group `uid`, no others).
fn setpriv(uid: u32) -> Command {
    let mut cmd = Command::new("setpriv");
    cmd.args([
        &format!("--reuid={uid}"),
        &format!("--regid={uid}"),
        "--clear-groups",
        "--",
    ]);
    cmd
}

/// The real chatctl as `uid`, with neither `XDG_RUNTIME_DIR` nor
/// `CHATD_SOCKET` (as under cron, `sudo -u` or `su`).
fn chatctl_as(uid: u32, args: &[&str], stdin: &str) -> Run {
    let mut cmd = setpriv(uid);
    cmd.arg(env!("CARGO_BIN_EXE_chatctl"))
        .args(args)
        .env_remove("XDG_RUNTIME_DIR")
        .env_remove("CHATD_SOCKET")
        .env("TZ", "UTC");
    run(cmd, stdin)
}

/// The fake admin API, listening at `socket` as `uid`; killed (by its pid)
/// and `cleanup` removed when dropped.
struct Planted {
    child: Child,
    socket: PathBuf,
    reports: mpsc::Receiver<String>,
    cleanup: Option<PathBuf>,
}

impl Planted {
    fn start(uid: u32, socket: &Path, cleanup: Option<PathBuf>) -> Self {
        let mut child = setpriv(uid)
            .arg(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "fake_admin_api",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(PLANT, socket)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run the fake admin API");
        let stderr = child.stderr.take().unwrap();
        let (tx, reports) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { return };
                match line.strip_prefix(REPORT) {
                    Some(report) => {
                        let _ = tx.send(report.to_string());
                    }
                    None => eprintln!("fake admin API: {line}"),
                }
            }
        });
        let planted = Self {
            child,
            socket: socket.to_path_buf(),
            reports,
            cleanup,
        };
        assert_eq!(planted.next(), "listening");
        planted
    }

    fn next(&self) -> String {
        self.reports
            .recv_timeout(DEADLINE)
            .expect("a report from the fake admin API")
    }

    /// Every connection the fake saw, as the number of bytes received on
    /// it, once it has handled all of them (it takes them in turn, and the
    /// last is ours).
    fn finish(self, socket: &Path) -> Vec<usize> {
        let mut end = UnixStream::connect(socket).expect("connect to the fake");
        end.write_all(b"END").unwrap();
        drop(end);
        let mut received = Vec::new();
        loop {
            let report = self.next();
            if report == "end" {
                return received;
            }
            let n = report
                .strip_prefix("received ")
                .unwrap_or_else(|| panic!("{report}"));
            received.push(n.parse().unwrap());
        }
    }
}

impl Drop for Planted {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.socket);
        if let Some(dir) = &self.cleanup {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// The calls an attacker most wants to catch: the new password, the key
/// it could forge, and a rotation after a leak it could swallow.
const CALLS: [(&[&str], &str); 3] = [
    (&["passwd", "--stdin"], "n3w-s3cret\n"),
    (&["key"], ""),
    (&["rotate-key", "--disconnect"], ""),
];

#[test]
fn a_socket_another_user_planted_in_tmp_gets_nothing() {
    if !can_switch_users() {
        return;
    }
    // Where chatctl run by VICTIM without XDG_RUNTIME_DIR looks first.
    let dir = PathBuf::from(format!("/tmp/chatd-{VICTIM}"));
    let socket = dir.join("admin.sock");
    let _ = std::fs::remove_dir_all(&dir); // left by an earlier, killed run
    let planted = Planted::start(ATTACKER, &socket, Some(dir.clone()));
    let meta = std::fs::metadata(&dir).unwrap();
    assert_eq!(meta.uid(), ATTACKER, "the attacker made the directory");

    for (args, stdin) in CALLS {
        let err = chatctl_as(VICTIM, args, stdin).failed(77);
        for says in [
            &format!("refusing {}", socket.display())[..],
            &format!("its directory {} belongs to uid {ATTACKER}", dir.display()),
            &format!("not to you (uid {VICTIM})"),
            "nothing was sent",
            "removed (as root)",
            "--socket",
        ] {
            assert!(err.contains(says), "{args:?}: {says:?} in {err}");
        }
        assert!(!err.contains("n3w-s3cret"), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
    }
    // An explicit path gets the same check.
    let path = socket.to_str().unwrap();
    let err = chatctl_as(VICTIM, &["--socket", path, "key"], "").failed(77);
    assert!(err.contains(&format!("belongs to uid {ATTACKER}")), "{err}");

    assert_eq!(
        planted.finish(&socket),
        Vec::<usize>::new(),
        "the planted socket never even saw a connection"
    );
}

#[test]
fn a_listener_running_as_another_user_gets_nothing() {
    if !can_switch_users() {
        return;
    }
    // A directory that passes the directory check (root's, 0755) holding a
    // socket that PEER_ATTACKER listens on: bound in the attacker's own
    // directory, then moved here (the listener's credentials stay its own).
    let tmp = tempfile::tempdir().unwrap();
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o711)).unwrap();
    let own = tmp.path().join("attacker");
    std::fs::create_dir(&own).unwrap();
    std::os::unix::fs::chown(&own, Some(PEER_ATTACKER), Some(PEER_ATTACKER)).unwrap();
    let run_dir = tmp.path().join("run");
    std::fs::create_dir(&run_dir).unwrap();
    std::fs::set_permissions(&run_dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let planted = Planted::start(PEER_ATTACKER, &own.join("admin.sock"), None);
    let socket = run_dir.join("admin.sock");
    std::fs::rename(own.join("admin.sock"), &socket).unwrap();

    let path = socket.to_str().unwrap();
    for (args, stdin) in CALLS {
        let args: Vec<&str> = ["--socket", path].iter().chain(args).copied().collect();
        let err = chatctl_as(PEER_VICTIM, &args, stdin).failed(77);
        for says in [
            &format!("refusing {path}")[..],
            &format!(
                "the process listening on it runs as uid {PEER_ATTACKER}, not as you (uid {PEER_VICTIM})"
            ),
            "nothing was sent",
        ] {
            assert!(err.contains(says), "{args:?}: {says:?} in {err}");
        }
        assert!(!err.contains("n3w-s3cret"), "{err}");
    }
    assert_eq!(
        planted.finish(&socket),
        vec![0; CALLS.len()],
        "one connection per call, and not one byte on any"
    );
}
