//! Which admin sockets to try, in order (DESIGN.md, "Paths").
//!
//! An explicit `--socket PATH` or `CHATD_SOCKET` is the only one tried: the
//! user said where the daemon is. Otherwise the runtime path that a `chatd`
//! started by this user would choose comes first (the same rules as the
//! daemon's `paths.rs`), then the system daemon's `/run/chatd/admin.sock`.
//! The list is computed from plain inputs so that the order is unit-tested.
//!
//! Being on the list earns a path no trust: every one of them, the explicit
//! one included, passes [`crate::trust`]'s checks before chatctl sends it
//! anything, and one that fails them ends the search (exit 77) rather than
//! letting chatctl fall back past a path that someone else controls, such
//! as a `/tmp/chatd-$UID` that another user made first.

use std::ffi::OsString;
use std::path::PathBuf;

use chat_protocol::admin::SOCKET_NAME;

/// The system daemon's runtime directory.
pub const SYSTEM_RUNTIME_DIR: &str = "/run/chatd";

/// Where to look for the daemon.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidates {
    /// The paths, best first, without duplicates.
    pub paths: Vec<PathBuf>,
    /// Whether the user named the one path (`--socket` or `CHATD_SOCKET`).
    pub explicit: bool,
}

/// The sockets to try, given `--socket`/`CHATD_SOCKET` (clap merges the
/// two), this process's effective uid and `XDG_RUNTIME_DIR`.
pub fn candidates(
    explicit: Option<PathBuf>,
    euid: u32,
    xdg_runtime_dir: Option<OsString>,
) -> Candidates {
    if let Some(path) = explicit {
        return Candidates {
            paths: vec![path],
            explicit: true,
        };
    }
    let own_runtime_dir = if euid == 0 {
        PathBuf::from(SYSTEM_RUNTIME_DIR)
    } else {
        // As chatd reads it: empty means unset, and of a colon-separated
        // list the first entry is ours.
        match xdg_runtime_dir
            .filter(|dir| !dir.is_empty())
            .map(|dir| {
                dir.to_string_lossy()
                    .split(':')
                    .next()
                    .unwrap_or_default()
                    .to_owned()
            })
            .filter(|dir| !dir.is_empty())
        {
            Some(dir) => PathBuf::from(dir).join("chatd"),
            None => PathBuf::from(format!("/tmp/chatd-{euid}")),
        }
    };
    let mut paths = vec![own_runtime_dir.join(SOCKET_NAME)];
    let system = PathBuf::from(SYSTEM_RUNTIME_DIR).join(SOCKET_NAME);
    if !paths.contains(&system) {
        paths.push(system);
    }
    Candidates {
        paths,
        explicit: false,
    }
}

/// [`candidates`] for this process.
pub fn from_env(explicit: Option<PathBuf>) -> Candidates {
    // SAFETY: geteuid has no preconditions and cannot fail.
    let euid = unsafe { libc::geteuid() };
    candidates(explicit, euid, std::env::var_os("XDG_RUNTIME_DIR"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(c: &Candidates) -> Vec<&str> {
        c.paths.iter().map(|p| p.to_str().unwrap()).collect()
    }

    #[test]
    fn an_explicit_socket_is_the_only_one_tried() {
        let c = candidates(
            Some("/srv/chat/admin.sock".into()),
            1000,
            Some("/run/user/1000".into()),
        );
        assert!(c.explicit);
        assert_eq!(paths(&c), ["/srv/chat/admin.sock"]);
    }

    #[test]
    fn a_user_tries_their_runtime_dir_then_the_system_daemon() {
        let c = candidates(None, 1000, Some("/run/user/1000".into()));
        assert!(!c.explicit);
        assert_eq!(
            paths(&c),
            ["/run/user/1000/chatd/admin.sock", "/run/chatd/admin.sock"]
        );
    }

    #[test]
    fn without_xdg_runtime_dir_a_user_tries_tmp() {
        for unset in [None, Some(OsString::new()), Some(OsString::from(":"))] {
            let c = candidates(None, 1000, unset);
            assert_eq!(
                paths(&c),
                ["/tmp/chatd-1000/admin.sock", "/run/chatd/admin.sock"]
            );
        }
    }

    #[test]
    fn the_first_of_a_colon_list_counts_as_chatd_reads_it() {
        let c = candidates(None, 1000, Some("/run/user/1000:/other".into()));
        assert_eq!(c.paths[0], PathBuf::from("/run/user/1000/chatd/admin.sock"));
    }

    #[test]
    fn root_tries_the_system_socket_once() {
        let c = candidates(None, 0, Some("/run/user/0".into()));
        assert_eq!(paths(&c), ["/run/chatd/admin.sock"]);
    }
}
