//! Where chatd keeps its files.
//!
//! Each path comes from the first that is set: command-line flag, config
//! file, the variable systemd sets (`STATE_DIRECTORY`, `RUNTIME_DIRECTORY`,
//! `CONFIGURATION_DIRECTORY`), then root's defaults (`/etc/chatd`,
//! `/var/lib/chatd`, `/run/chatd`) or, for other users, the XDG ones.

use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

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
pub fn default_state_dir() -> Result<PathBuf, String> {
    if let Some(dir) = env_path("STATE_DIRECTORY") {
        return Ok(dir);
    }
    if euid() == 0 {
        return Ok(PathBuf::from("/var/lib/chatd"));
    }
    xdg("XDG_STATE_HOME", ".local/state")
        .map(|d| d.join("chatd"))
        .ok_or_else(|| {
            "no state directory: set HOME or XDG_STATE_HOME, or pass --state-dir DIR".into()
        })
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

/// Creates `dir` (mode 0700) if missing and checks that it is ours and not
/// open to others.
pub fn ensure_private_dir(dir: &Path) -> Result<(), String> {
    match std::fs::symlink_metadata(dir) {
        Ok(meta) => {
            if !meta.is_dir() {
                return Err(format!("{} exists but is not a directory", dir.display()));
            }
            if meta.uid() != euid() && euid() != 0 {
                return Err(format!(
                    "{} belongs to uid {}, not to this user ({}); remove it or choose another directory",
                    dir.display(),
                    meta.uid(),
                    euid()
                ));
            }
            if meta.mode() & 0o002 != 0 {
                return Err(format!(
                    "{} is writable by everyone; fix it with `chmod 700 {}`",
                    dir.display(),
                    dir.display()
                ));
            }
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(|e| format!("cannot create directory {}: {e}", dir.display()))?;
            // The umask may have narrowed the mode; widen nothing, but make sure it is 0700.
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
                .map_err(|e| format!("cannot set mode 0700 on {}: {e}", dir.display()))
        }
        Err(e) => Err(format!("cannot inspect {}: {e}", dir.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_private_dirs() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("a/b");
        ensure_private_dir(&dir).unwrap();
        let mode = std::fs::metadata(&dir).unwrap().mode() & 0o777;
        assert_eq!(mode, 0o700);
        ensure_private_dir(&dir).unwrap();
    }

    #[test]
    fn refuses_world_writable_and_files() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("open");
        std::fs::create_dir(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
        assert!(
            ensure_private_dir(&dir)
                .unwrap_err()
                .contains("writable by everyone")
        );
        let file = tmp.path().join("file");
        std::fs::write(&file, "").unwrap();
        assert!(
            ensure_private_dir(&file)
                .unwrap_err()
                .contains("not a directory")
        );
    }
}
