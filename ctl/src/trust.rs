//! Whether an admin socket may be trusted, checked before chatctl sends it
//! a single byte.
//!
//! chatctl sends secrets (`passwd`'s new password) and believes what it is
//! told (`key`'s token, `rotate-key --disconnect`'s success), so it must be
//! sure that a chatd run by someone entitled to it listens on the socket,
//! not a program that another local user planted, say at
//! `/tmp/chatd-$UID/admin.sock` before the victim's own chatd made it.
//!
//! The rule, for every socket tried (found or given with `--socket` /
//! `CHATD_SOCKET` alike): the admitted owners are root, the caller (its
//! effective uid) and the daemon's system user [`DAEMON_USER`] (looked up
//! with `getpwnam`; absent on machines without the package). Then
//!
//! 1. the socket's directory (and, if it is a symlink, the link itself) is
//!    owned by an admitted owner, and it is not writable by group or others
//!    (so a world-writable directory such as `/tmp` is refused even with
//!    its sticky bit: anyone could have put the socket there);
//! 2. the process that listens on the socket, as `SO_PEERCRED` reports it on
//!    the connected socket, runs as an admitted owner.
//!
//! The first is checked before `connect()`, so a planted socket does not
//! even see a connection; the second after it and before any request. A
//! chatd that runs as any other user must be administered as that user
//! (`sudo -u USER chatctl …`) or as root.

use std::ffi::{CStr, CString};
use std::io;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};

use tokio::net::UnixStream;

use crate::exit::{Exit, Failure};
use crate::output::one_line;

/// The system user that the packaged chatd runs as (packaging/chatd.sysusers).
pub const DAEMON_USER: &str = "chatd";

/// Mode bits that let group or others create or rename entries.
const WRITABLE_BY_OTHERS: u32 = 0o022;

/// Whose sockets chatctl talks to: root, the caller and the daemon's user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trusted {
    /// The caller's effective uid.
    caller: u32,
    /// [`DAEMON_USER`]'s uid, if that user exists.
    daemon: Option<u32>,
}

impl Trusted {
    /// Root, `caller` and, if it exists, the daemon's user `daemon`.
    pub fn new(caller: u32, daemon: Option<u32>) -> Self {
        Self { caller, daemon }
    }

    /// The owners this process admits.
    pub fn from_env() -> Self {
        // SAFETY: geteuid has no preconditions and cannot fail.
        let caller = unsafe { libc::geteuid() };
        Self::new(caller, uid_of(DAEMON_USER))
    }

    /// Whether `uid` may own the socket's directory and listen on it.
    pub fn admits(&self, uid: u32) -> bool {
        uid == 0 || uid == self.caller || Some(uid) == self.daemon
    }

    /// The admitted owners in words: `you (uid 1000), root or the daemon's
    /// user chatd (uid 998)`.
    pub fn who(&self) -> String {
        let mut names = Vec::new();
        if self.caller != 0 {
            names.push(format!("you (uid {})", self.caller));
        }
        names.push("root".to_string());
        if let Some(uid) = self.daemon.filter(|&uid| uid != 0 && uid != self.caller) {
            names.push(format!("the daemon's user {DAEMON_USER} (uid {uid})"));
        }
        match names.split_last() {
            Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
            _ => names.concat(),
        }
    }
}

/// Why a socket is not trusted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Distrust {
    /// The directory (or a symlink standing for it) belongs to `uid`, who
    /// is not admitted.
    Owner {
        /// The directory, or the symlink, as named.
        dir: PathBuf,
        /// Its owner.
        uid: u32,
    },
    /// The directory may be written by group or others.
    Writable {
        /// The directory.
        dir: PathBuf,
        /// Its permission bits (with set-id and sticky bits).
        mode: u32,
    },
    /// The process listening on the socket runs as `uid`, not admitted.
    Listener {
        /// The listener's uid, from `SO_PEERCRED`.
        uid: u32,
    },
    /// The listener's credentials could not be read.
    Unverifiable {
        /// Why.
        error: String,
    },
}

impl Distrust {
    /// The failure to report for `socket` (exit 77): the problem, that
    /// nothing was sent, and the fix.
    pub fn failure(&self, socket: &Path, trusted: &Trusted) -> Failure {
        let socket = one_line(&socket.display().to_string());
        let who = trusted.who();
        let message = match self {
            Self::Owner { dir, uid } => {
                let dir = one_line(&dir.display().to_string());
                format!(
                    "refusing {socket}: its directory {dir} belongs to {}, not to {who}, so \
                     anyone may be listening there; nothing was sent. If you did not make \
                     {dir}, someone else did, perhaps to catch what chatctl sends: have it \
                     removed (as root) and let chatd make it again, or point --socket or \
                     CHATD_SOCKET at the daemon's socket in a directory that {who} own \
                     (the system daemon's is /run/chatd/admin.sock)",
                    account(*uid)
                )
            }
            Self::Writable { dir, mode } => {
                let dir = one_line(&dir.display().to_string());
                format!(
                    "refusing {socket}: its directory {dir} may be written by others \
                     (mode {mode:04o}), so anyone could have put a socket there; nothing was \
                     sent. Keep the admin socket in a directory that only its owner may \
                     write (chatd makes its runtime directory 0700: `chatd --runtime-dir \
                     DIR`), and point --socket or CHATD_SOCKET at DIR/admin.sock"
                )
            }
            Self::Listener { uid } => format!(
                "refusing {socket}: the process listening on it runs as {}, not as {who}, \
                 so it is not a chatd you can trust; nothing was sent. Stop whatever \
                 listens there (`ss -xlp` names it) and use a chatd that runs as {who}",
                account(*uid)
            ),
            Self::Unverifiable { error } => format!(
                "refusing {socket}: cannot tell who listens on it ({}); nothing was sent",
                one_line(error)
            ),
        };
        Failure::new(Exit::PermissionDenied, message)
    }
}

/// The directory that holds `socket` (`.` for a bare file name).
pub fn socket_dir(socket: &Path) -> &Path {
    match socket.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

/// The verdict on a directory with owner `uid` and mode `mode`.
pub fn judge_dir(dir: &Path, uid: u32, mode: u32, trusted: &Trusted) -> Result<(), Distrust> {
    if !trusted.admits(uid) {
        return Err(Distrust::Owner {
            dir: dir.to_path_buf(),
            uid,
        });
    }
    if mode & WRITABLE_BY_OTHERS != 0 {
        return Err(Distrust::Writable {
            dir: dir.to_path_buf(),
            mode: mode & 0o7777,
        });
    }
    Ok(())
}

/// Checks the directory of `socket`. The outer error is the file system's
/// (a missing directory is `NotFound`: no socket there); the inner one says
/// why the directory is not trusted.
pub fn check_dir(socket: &Path, trusted: &Trusted) -> io::Result<Result<(), Distrust>> {
    let dir = socket_dir(socket);
    let link = std::fs::symlink_metadata(dir)?;
    if link.file_type().is_symlink() && !trusted.admits(link.uid()) {
        return Ok(Err(Distrust::Owner {
            dir: dir.to_path_buf(),
            uid: link.uid(),
        }));
    }
    let meta = std::fs::metadata(dir)?;
    if !meta.is_dir() {
        return Err(io::Error::new(
            io::ErrorKind::NotADirectory,
            format!("{} is not a directory", dir.display()),
        ));
    }
    Ok(judge_dir(dir, meta.uid(), meta.mode(), trusted))
}

/// Checks who listens on the other end of `stream` (`SO_PEERCRED`).
pub fn check_listener(stream: &UnixStream, trusted: &Trusted) -> Result<(), Distrust> {
    let cred = stream.peer_cred().map_err(|err| Distrust::Unverifiable {
        error: err.to_string(),
    })?;
    if trusted.admits(cred.uid()) {
        Ok(())
    } else {
        Err(Distrust::Listener { uid: cred.uid() })
    }
}

/// `uid 1600 (mallory)`, or `uid 1600` for a uid without a name.
fn account(uid: u32) -> String {
    match user_name(uid) {
        Some(name) => format!("uid {uid} ({})", one_line(&name)),
        None => format!("uid {uid}"),
    }
}

/// The name of user `uid`, if it has one.
fn user_name(uid: u32) -> Option<String> {
    let mut buf = vec![0u8; 4096];
    // SAFETY: `pwd` is plain data that getpwuid_r fills, pointing into
    // `buf`, which outlives every read of it; `found` is null or `&pwd`.
    unsafe {
        let mut pwd: libc::passwd = std::mem::zeroed();
        let mut found: *mut libc::passwd = std::ptr::null_mut();
        let rc = libc::getpwuid_r(
            uid,
            &mut pwd,
            buf.as_mut_ptr().cast(),
            buf.len(),
            &mut found,
        );
        if rc != 0 || found.is_null() || pwd.pw_name.is_null() {
            return None;
        }
        Some(CStr::from_ptr(pwd.pw_name).to_string_lossy().into_owned())
    }
}

/// The uid of user `name`, if it exists.
fn uid_of(name: &str) -> Option<u32> {
    let name = CString::new(name).ok()?;
    let mut buf = vec![0u8; 4096];
    // SAFETY: as in `user_name`; `name` is a valid C string that outlives
    // the call.
    unsafe {
        let mut pwd: libc::passwd = std::mem::zeroed();
        let mut found: *mut libc::passwd = std::ptr::null_mut();
        let rc = libc::getpwnam_r(
            name.as_ptr(),
            &mut pwd,
            buf.as_mut_ptr().cast(),
            buf.len(),
            &mut found,
        );
        if rc != 0 || found.is_null() {
            return None;
        }
        Some(pwd.pw_uid)
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    const USER: Trusted = Trusted {
        caller: 1000,
        daemon: Some(998),
    };

    #[test]
    fn root_the_caller_and_the_daemon_user_are_admitted() {
        for uid in [0, 1000, 998] {
            assert!(USER.admits(uid), "{uid}");
        }
        for uid in [1, 999, 1001, 65534] {
            assert!(!USER.admits(uid), "{uid}");
        }
        let no_daemon_user = Trusted::new(1000, None);
        assert!(no_daemon_user.admits(0) && no_daemon_user.admits(1000));
        assert!(!no_daemon_user.admits(998));
    }

    #[test]
    fn who_reads_naturally() {
        assert_eq!(
            USER.who(),
            "you (uid 1000), root or the daemon's user chatd (uid 998)"
        );
        assert_eq!(Trusted::new(1000, None).who(), "you (uid 1000) or root");
        assert_eq!(
            Trusted::new(0, Some(998)).who(),
            "root or the daemon's user chatd (uid 998)"
        );
        assert_eq!(Trusted::new(0, None).who(), "root");
        assert_eq!(Trusted::new(998, Some(998)).who(), "you (uid 998) or root");
    }

    #[test]
    fn a_directory_must_be_admitted_and_private() {
        let dir = Path::new("/run/chatd");
        for (uid, mode) in [(0, 0o40755), (1000, 0o40700), (998, 0o40710), (0, 0o40711)] {
            assert_eq!(judge_dir(dir, uid, mode, &USER), Ok(()), "{uid} {mode:o}");
        }
        assert_eq!(
            judge_dir(dir, 1500, 0o40700, &USER),
            Err(Distrust::Owner {
                dir: dir.into(),
                uid: 1500
            })
        );
        for mode in [0o41777, 0o40775, 0o40757, 0o40770] {
            assert_eq!(
                judge_dir(dir, 0, mode, &USER),
                Err(Distrust::Writable {
                    dir: dir.into(),
                    mode: mode & 0o7777
                }),
                "{mode:o}"
            );
        }
    }

    #[test]
    fn the_directory_of_a_bare_name_is_the_working_directory() {
        assert_eq!(socket_dir(Path::new("admin.sock")), Path::new("."));
        assert_eq!(socket_dir(Path::new("/tmp/x.sock")), Path::new("/tmp"));
        assert_eq!(socket_dir(Path::new("/x.sock")), Path::new("/"));
    }

    #[test]
    fn directories_on_disk() {
        // SAFETY: geteuid has no preconditions.
        let me = Trusted::new(unsafe { libc::geteuid() }, None);
        let tmp = tempfile::tempdir().unwrap();
        let sock = tmp.path().join("admin.sock");
        assert_eq!(check_dir(&sock, &me).unwrap(), Ok(()));
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o1777)).unwrap();
        assert!(matches!(
            check_dir(&sock, &me).unwrap(),
            Err(Distrust::Writable { mode: 0o1777, .. })
        ));
        let missing = tmp.path().join("nowhere/admin.sock");
        assert_eq!(
            check_dir(&missing, &me).unwrap_err().kind(),
            io::ErrorKind::NotFound
        );
        // A symlink to a private directory is as good as the directory.
        let private = tmp.path().join("private");
        std::fs::create_dir(&private).unwrap();
        std::os::unix::fs::symlink(&private, tmp.path().join("link")).unwrap();
        assert_eq!(
            check_dir(&tmp.path().join("link/admin.sock"), &me).unwrap(),
            Ok(())
        );
        // Only root can give a symlink to someone else; that someone could
        // point it elsewhere at any time.
        if me.caller == 0 {
            let other = 47_105;
            std::os::unix::fs::lchown(tmp.path().join("link"), Some(other), None).unwrap();
            assert_eq!(
                check_dir(&tmp.path().join("link/admin.sock"), &me).unwrap(),
                Err(Distrust::Owner {
                    dir: tmp.path().join("link"),
                    uid: other
                })
            );
            std::os::unix::fs::chown(&private, Some(other), None).unwrap();
            assert_eq!(
                check_dir(&private.join("admin.sock"), &me).unwrap(),
                Err(Distrust::Owner {
                    dir: private.clone(),
                    uid: other
                })
            );
        }
    }

    #[test]
    fn failures_name_the_problem_and_the_fix() {
        let sock = Path::new("/tmp/chatd-1000/admin.sock");
        let owner = Distrust::Owner {
            dir: "/tmp/chatd-1000".into(),
            uid: 4_000_000,
        }
        .failure(sock, &USER);
        assert_eq!(owner.exit, Exit::PermissionDenied);
        for says in [
            "refusing /tmp/chatd-1000/admin.sock",
            "belongs to uid 4000000, not to you (uid 1000), root or the daemon's user chatd",
            "nothing was sent",
            "removed (as root)",
            "--socket",
        ] {
            assert!(
                owner.message.contains(says),
                "{says:?} in {}",
                owner.message
            );
        }
        let writable = Distrust::Writable {
            dir: "/tmp".into(),
            mode: 0o1777,
        }
        .failure(Path::new("/tmp/x.sock"), &USER);
        assert!(
            writable
                .message
                .contains("/tmp may be written by others (mode 1777)")
                && writable.message.contains("--runtime-dir"),
            "{}",
            writable.message
        );
        let listener = Distrust::Listener { uid: 0 }.failure(sock, &USER);
        assert!(
            listener
                .message
                .contains("runs as uid 0 (root), not as you"),
            "{}",
            listener.message
        );
    }
}
