//! Where chatd keeps its files.
//!
//! Each path comes from the first that is set: command-line flag, config
//! file, the variable systemd sets (`STATE_DIRECTORY`, `RUNTIME_DIRECTORY`,
//! `CONFIGURATION_DIRECTORY`), then root's defaults (`/etc/chatd`,
//! `/var/lib/chatd`, `/run/chatd`) or, for other users, the XDG ones.

use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Why chatd will not use a directory.
#[derive(Debug, thiserror::Error)]
pub enum DirError {
    /// Someone else could change it (owner, mode, link, parents), or it is
    /// not a directory: the message names the problem and the fix.
    #[error("{0}")]
    Unsafe(String),
    /// The system refused an operation on it.
    #[error("cannot {action} {what}: {source}")]
    Io {
        /// What was being done: "create", "open", "inspect", …
        action: &'static str,
        /// The directory, as named to the user.
        what: String,
        /// The system's error.
        source: std::io::Error,
    },
    /// No state directory can be found without `HOME`.
    #[error("no state directory: set HOME or XDG_STATE_HOME, or pass --state-dir DIR")]
    NoStateDir,
}

impl DirError {
    fn io(action: &'static str, what: impl std::fmt::Display, source: std::io::Error) -> Self {
        Self::Io {
            action,
            what: what.to_string(),
            source,
        }
    }
}

/// The process's effective uid.
pub fn euid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

fn env_path(name: &str) -> Option<PathBuf> {
    // systemd may pass several colon-separated directories; the first is ours.
    std::env::var_os(name)
        .filter(|v| !v.is_empty())
        .map(|v| PathBuf::from(v.to_string_lossy().split(':').next().unwrap_or_default()))
}

fn home() -> Option<PathBuf> {
    env_path("HOME")
}

fn xdg(var: &str, fallback_under_home: &str) -> Option<PathBuf> {
    env_path(var).or_else(|| home().map(|h| h.join(fallback_under_home)))
}

/// The config file to read when none is given: `None` means "run on defaults".
/// Unlike the directories, a default config file that does not exist is fine.
pub fn default_config_file() -> Option<PathBuf> {
    let candidate = if let Some(dir) = env_path("CONFIGURATION_DIRECTORY") {
        dir.join("chatd.toml")
    } else if euid() == 0 {
        PathBuf::from("/etc/chatd/chatd.toml")
    } else {
        xdg("XDG_CONFIG_HOME", ".config")?.join("chatd/chatd.toml")
    };
    candidate.exists().then_some(candidate)
}

/// The state directory when neither flag nor config names one.
pub fn default_state_dir() -> Result<PathBuf, DirError> {
    if let Some(dir) = env_path("STATE_DIRECTORY") {
        return Ok(dir);
    }
    if euid() == 0 {
        return Ok(PathBuf::from("/var/lib/chatd"));
    }
    xdg("XDG_STATE_HOME", ".local/state")
        .map(|d| d.join("chatd"))
        .ok_or(DirError::NoStateDir)
}

/// The runtime directory when neither flag nor config names one.
pub fn default_runtime_dir() -> PathBuf {
    if let Some(dir) = env_path("RUNTIME_DIRECTORY") {
        return dir;
    }
    if euid() == 0 {
        return PathBuf::from("/run/chatd");
    }
    match env_path("XDG_RUNTIME_DIR") {
        Some(dir) => dir.join("chatd"),
        None => PathBuf::from(format!("/tmp/chatd-{}", euid())),
    }
}

/// The admin socket that a plain `chatctl` (no `--socket`, no
/// `CHATD_SOCKET`) run by this user tries first: its own user's runtime
/// path, as ctl/src/socket.rs computes it (it does not read
/// `RUNTIME_DIRECTORY`). When chatd serves another one, its hints name
/// `--socket`, so that `chatctl key` does not ask another daemon.
pub fn chatctl_first_socket() -> PathBuf {
    let dir = if euid() == 0 {
        PathBuf::from("/run/chatd")
    } else {
        match env_path("XDG_RUNTIME_DIR") {
            Some(dir) => dir.join("chatd"),
            None => PathBuf::from(format!("/tmp/chatd-{}", euid())),
        }
    };
    dir.join(chat_protocol::admin::SOCKET_NAME)
}

/// Which of chatd's own directories a check is about, so that a refusal
/// names it and the flag that chooses another.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DirRole {
    /// Keys and the password hash (`--state-dir`).
    State,
    /// The admin socket (`--runtime-dir`).
    Runtime,
}

impl std::fmt::Display for DirRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            DirRole::State => "state directory",
            DirRole::Runtime => "runtime directory",
        })
    }
}

impl DirRole {
    /// The flag that chooses another one.
    fn flag(self) -> &'static str {
        match self {
            DirRole::State => "--state-dir",
            DirRole::Runtime => "--runtime-dir",
        }
    }
}

/// Opens chatd's own directory `dir`, making it when missing, and refuses
/// one that anyone but chatd's user could change: whoever can write to
/// the runtime directory can move `admin.sock` away and put their own in
/// its place, and whoever can write to the state directory can swap the
/// key files. The rules hold for root too:
///
/// - owned by chatd's own uid (root included: a directory another user
///   owns is that user's to change);
/// - not writable by its group or by others (0750 and 0755, as systemd's
///   `RuntimeDirectoryMode=` makes them, are fine; 0770 is not);
/// - not a symbolic link (whoever can change the link moves the directory).
///
/// Missing parents are made (0700) as `mkdir -p` would; the directory
/// itself with one plain `mkdir` (0700), so that one someone else made
/// meanwhile is checked like any other rather than taken as made.
/// Returns the open directory (`O_NOFOLLOW`): the checks ran on what it
/// refers to, and the caller changes its mode or group through it.
pub fn ensure_private_dir(dir: &Path, role: DirRole) -> Result<std::fs::File, DirError> {
    let shown = dir.display();
    let flag = role.flag();
    check_ancestors(dir, role)?;
    let made = match std::fs::symlink_metadata(dir) {
        Ok(_) => false,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::DirBuilder::new()
                    .recursive(true)
                    .mode(0o700)
                    .create(parent)
                    .map_err(|e| DirError::io("create", parent.display(), e))?;
            }
            match std::fs::DirBuilder::new().mode(0o700).create(dir) {
                Ok(()) => true,
                // Made by someone else since we looked: checked below.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => false,
                Err(e) => return Err(DirError::io("create", format!("{role} {shown}"), e)),
            }
        }
        Err(e) => return Err(DirError::io("inspect", format!("{role} {shown}"), e)),
    };
    let opened = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(dir);
    let handle = match opened {
        Ok(handle) => handle,
        // O_NOFOLLOW refuses a link with ELOOP, or ENOTDIR with O_DIRECTORY.
        Err(e) if matches!(e.raw_os_error(), Some(libc::ELOOP | libc::ENOTDIR)) => {
            let is_link = std::fs::symlink_metadata(dir).is_ok_and(|m| m.file_type().is_symlink());
            if is_link {
                let target = std::fs::read_link(dir)
                    .map(|t| format!(" (to {})", t.display()))
                    .unwrap_or_default();
                return Err(DirError::Unsafe(format!(
                    "{role} {shown} is a symbolic link{target}, which whoever can change it could point elsewhere: pass the real directory with {flag}, or put a directory in the link's place"
                )));
            }
            return Err(DirError::Unsafe(format!(
                "{role} {shown} exists but is not a directory: move it away or choose another {flag}"
            )));
        }
        Err(e) => {
            // Most often a directory of another user's that chatd may not
            // even enter: say whose it is.
            let me = euid();
            return Err(match std::fs::symlink_metadata(dir) {
                Ok(meta) if meta.uid() != me => DirError::Unsafe(format!(
                    "{role} {shown} is owned by uid {}, not chatd's uid {me} ({e}): remove it, or choose another {flag}",
                    meta.uid()
                )),
                _ => return Err(DirError::io("open", format!("{role} {shown}"), e)),
            });
        }
    };
    if made {
        // The umask may have narrowed the mode; make it exactly 0700.
        handle
            .set_permissions(std::fs::Permissions::from_mode(0o700))
            .map_err(|e| DirError::io("set mode 0700 on", format!("{role} {shown}"), e))?;
    }
    let meta = handle
        .metadata()
        .map_err(|e| DirError::io("inspect", format!("{role} {shown}"), e))?;
    let me = euid();
    if meta.uid() != me {
        return Err(DirError::Unsafe(format!(
            "{role} {shown} is owned by uid {}, not chatd's uid {me}: chown it to uid {me} or choose another {flag}",
            meta.uid()
        )));
    }
    let mode = meta.mode() & 0o7777;
    let writable_by = if mode & 0o002 != 0 {
        Some("everyone")
    } else if mode & 0o020 != 0 {
        Some("its group")
    } else {
        None
    };
    if let Some(who) = writable_by {
        return Err(DirError::Unsafe(format!(
            "{role} {shown} is writable by {who} (mode {mode:04o}), who could swap chatd's files there: fix it with `chmod go-w {shown}` or choose another {flag}"
        )));
    }
    Ok(handle)
}

/// Refuses a directory whose ancestors someone else could change: the
/// checks on the directory itself mean nothing if another user can rename
/// it away, or a parent of it, and put their own in its place. Every
/// ancestor (symbolic links resolved) must belong to root or chatd's uid
/// and be writable by no one else, unless it has the sticky bit (as
/// `/tmp` has: there only an entry's owner may rename it); every symbolic
/// link on the way must belong to root or chatd's uid.
fn check_ancestors(dir: &Path, role: DirRole) -> Result<(), DirError> {
    let (shown, flag, me) = (dir.display(), role.flag(), euid());
    let absolute = std::path::absolute(dir)
        .map_err(|e| DirError::io("resolve", format!("{role} {shown}"), e))?;
    let Some(parent) = absolute.parent() else {
        return Ok(());
    };
    let trusted = |uid: u32| uid == 0 || uid == me;
    // The links as written: whoever owns one can point it elsewhere.
    let mut prefix = PathBuf::new();
    for component in parent.components() {
        prefix.push(component);
        match std::fs::symlink_metadata(&prefix) {
            Ok(meta) if meta.file_type().is_symlink() && !trusted(meta.uid()) => {
                return Err(DirError::Unsafe(format!(
                    "{role} {shown}: {} is a symbolic link owned by uid {}, who could point it elsewhere: choose another {flag}",
                    prefix.display(),
                    meta.uid()
                )));
            }
            Ok(_) => {}
            // Missing from here on: made by chatd, as it makes the rest.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => break,
            Err(e) => return Err(DirError::io("inspect", prefix.display(), e)),
        }
    }
    // The directories as they are, from the deepest that exists up.
    let existing = parent
        .ancestors()
        .find(|p| p.exists())
        .unwrap_or(Path::new("/"));
    let real = existing
        .canonicalize()
        .map_err(|e| DirError::io("resolve", existing.display(), e))?;
    for ancestor in real.ancestors() {
        let meta = std::fs::metadata(ancestor)
            .map_err(|e| DirError::io("inspect", ancestor.display(), e))?;
        let mode = meta.mode();
        let open_to_others = mode & 0o022 != 0 && mode & 0o1000 == 0;
        if !trusted(meta.uid()) {
            return Err(DirError::Unsafe(format!(
                "{role} {shown}: its parent {} is owned by uid {}, who could move the {role} away and put another in its place: choose a {role} under directories of root or of chatd's uid {me}, with {flag}",
                ancestor.display(),
                meta.uid()
            )));
        }
        if open_to_others {
            return Err(DirError::Unsafe(format!(
                "{role} {shown}: its parent {} is writable by others (mode {:04o}), who could move the {role} away and put another in its place: `chmod go-w {}` (or `chmod +t`), or choose another {flag}",
                ancestor.display(),
                mode & 0o7777,
                ancestor.display()
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_private_dirs() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("a/b");
        ensure_private_dir(&dir, DirRole::State).unwrap();
        let mode = std::fs::metadata(&dir).unwrap().mode() & 0o777;
        assert_eq!(mode, 0o700);
        ensure_private_dir(&dir, DirRole::State).unwrap();
        // Readable by group and others, as systemd may make it: fine.
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        ensure_private_dir(&dir, DirRole::Runtime).unwrap();
    }

    #[test]
    fn refuses_a_dir_whose_parent_others_may_write() {
        let tmp = tempfile::tempdir().unwrap();
        let parent = tmp.path().join("shared");
        std::fs::create_dir(&parent).unwrap();
        std::fs::set_permissions(&parent, std::fs::Permissions::from_mode(0o777)).unwrap();
        let dir = parent.join("state");
        let err = ensure_private_dir(&dir, DirRole::State)
            .unwrap_err()
            .to_string();
        assert!(err.contains("writable by others (mode 0777)"), "{err}");
        assert!(!dir.exists(), "nothing made under an unsafe parent");
        // The sticky bit (as /tmp has) makes it safe: only an entry's owner
        // may rename it.
        std::fs::set_permissions(&parent, std::fs::Permissions::from_mode(0o1777)).unwrap();
        ensure_private_dir(&dir, DirRole::State).unwrap();
        // A link on the way is followed only when root or chatd owns it:
        // this one is ours.
        let link = tmp.path().join("via");
        std::os::unix::fs::symlink(&parent, &link).unwrap();
        ensure_private_dir(&link.join("state"), DirRole::State).unwrap();
    }

    #[test]
    fn refuses_writable_dirs_links_and_files() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("open");
        std::fs::create_dir(&dir).unwrap();
        for (mode, who) in [
            (0o777, "everyone"),
            (0o770, "its group"),
            (0o730, "its group"),
        ] {
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(mode)).unwrap();
            let err = ensure_private_dir(&dir, DirRole::State)
                .unwrap_err()
                .to_string();
            assert!(err.contains(&format!("writable by {who}")), "{err}");
            assert!(
                err.contains("chmod go-w") && err.contains("--state-dir"),
                "{err}"
            );
        }
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
        let link = tmp.path().join("link");
        std::os::unix::fs::symlink(&dir, &link).unwrap();
        let err = ensure_private_dir(&link, DirRole::Runtime)
            .unwrap_err()
            .to_string();
        assert!(err.contains("is a symbolic link"), "{err}");
        assert!(err.contains("--runtime-dir"), "{err}");
        let file = tmp.path().join("file");
        std::fs::write(&file, "").unwrap();
        let err = ensure_private_dir(&file, DirRole::State)
            .unwrap_err()
            .to_string();
        assert!(err.contains("not a directory"), "{err}");
    }
}
