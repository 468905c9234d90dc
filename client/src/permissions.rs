//! Which of its files `chat` trusts, and which it warns about.
//!
//! The configuration file can name a `password_command`, which `chat` runs
//! as whoever runs it: a file that someone else owns or can change would
//! let them run commands as you (as root, with `sudo -E chat`, which keeps
//! `HOME`). It is read only when it belongs to the caller or to root and
//! no one else can write to it; otherwise `chat` refuses it and says how
//! to fix it. The key file and the password file hold secrets: like ssh
//! with a private key, `chat` warns when other users can read them.
//!
//! The checks look at the file as opened (`fstat`), so the file checked
//! is the file read.

use std::fs::{File, Metadata};
use std::os::unix::fs::MetadataExt as _;
use std::path::Path;

/// The caller's effective user id.
pub fn euid() -> u32 {
    // SAFETY: geteuid(2) cannot fail and touches no memory.
    unsafe { libc::geteuid() }
}

/// Why the configuration file at `path`, as `meta` describes it, must not
/// be read by user `me`; `None` when it may.
pub fn config_refusal(path: &Path, meta: &Metadata, me: u32) -> Option<String> {
    let path = path.display();
    let why = "chat does not read it: its password_command would run as you";
    let owner = meta.uid();
    if owner != me && owner != 0 {
        return Some(format!(
            "the configuration {path} belongs to uid {owner}, not to you (uid {me}) or root; {why}. \
             Use a configuration of your own (XDG_CONFIG_HOME or HOME pointing to your own directory), \
             or, if it is yours, make it so: chown {me} {path}"
        ));
    }
    let mode = meta.mode() & 0o7777;
    if mode & 0o022 != 0 {
        return Some(format!(
            "the configuration {path} can be changed by other users (mode {mode:04o}); {why}. \
             Fix: chmod go-w {path}"
        ));
    }
    None
}

/// The warning for a secret file (`what`: "key file", "password file")
/// that other users can read or change; `None` when only its owner can.
pub fn exposed_secret(path: &Path, meta: &Metadata, what: &str) -> Option<String> {
    let mode = meta.mode() & 0o7777;
    (mode & 0o077 != 0).then(|| {
        format!(
            "warning: the {what} {} is open to other users (mode {mode:04o}): whoever reads it can join as you. Fix: chmod 600 {}",
            path.display(),
            path.display()
        )
    })
}

/// Prints the warning of [`exposed_secret`] for the opened `file`, if any.
pub fn warn_if_exposed(file: &File, path: &Path, what: &str) {
    if let Some(warning) = file
        .metadata()
        .ok()
        .and_then(|meta| exposed_secret(path, &meta, what))
    {
        eprintln!("chat: {warning}");
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    fn file_with_mode(dir: &Path, name: &str, mode: u32) -> std::path::PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, "x").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        path
    }

    #[test]
    fn a_configuration_others_can_change_is_refused_with_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        let me = euid();
        for mode in [0o600, 0o644, 0o640, 0o400] {
            let path = file_with_mode(dir.path(), "ok.toml", mode);
            let meta = std::fs::metadata(&path).unwrap();
            assert_eq!(config_refusal(&path, &meta, me), None, "{mode:o}");
        }
        for mode in [0o664, 0o646, 0o666, 0o620] {
            let path = file_with_mode(dir.path(), "open.toml", mode);
            let meta = std::fs::metadata(&path).unwrap();
            let why = config_refusal(&path, &meta, me).expect("refused");
            assert!(why.contains("can be changed by other users"), "{why}");
            assert!(
                why.contains(&format!("chmod go-w {}", path.display())),
                "{why}"
            );
        }
    }

    #[test]
    fn a_configuration_of_another_user_is_refused_and_roots_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let path = file_with_mode(dir.path(), "config.toml", 0o644);
        if euid() != 0 {
            // chown to another uid needs root; the owner rule is still
            // checked with our own uid standing for "another user".
            eprintln!("not root: the chown case is skipped; checking the rule as another uid");
            let meta = std::fs::metadata(&path).unwrap();
            let why = config_refusal(&path, &meta, euid() + 1).expect("refused");
            assert!(why.contains("belongs to uid"), "{why}");
            return;
        }
        // Root's own file is fine for root, and for anyone.
        let meta = std::fs::metadata(&path).unwrap();
        assert_eq!(config_refusal(&path, &meta, 0), None);
        assert_eq!(config_refusal(&path, &meta, 1234), None);
        std::os::unix::fs::chown(&path, Some(1234), Some(1234)).unwrap();
        let meta = std::fs::metadata(&path).unwrap();
        let why = config_refusal(&path, &meta, 0).expect("refused");
        assert!(
            why.contains("belongs to uid 1234, not to you (uid 0) or root"),
            "{why}"
        );
        assert!(
            why.contains(&format!("chown 0 {}", path.display())),
            "{why}"
        );
        assert_eq!(
            config_refusal(&path, &meta, 1234),
            None,
            "uid 1234's own file is fine for uid 1234"
        );
    }

    #[test]
    fn secrets_open_to_others_are_warned_about() {
        let dir = tempfile::tempdir().unwrap();
        let private = file_with_mode(dir.path(), "key", 0o600);
        let meta = std::fs::metadata(&private).unwrap();
        assert_eq!(exposed_secret(&private, &meta, "key file"), None);
        let open = file_with_mode(dir.path(), "password", 0o644);
        let meta = std::fs::metadata(&open).unwrap();
        let warning = exposed_secret(&open, &meta, "password file").expect("warned");
        assert!(
            warning.contains("password file") && warning.contains("mode 0644"),
            "{warning}"
        );
        assert!(warning.contains(&format!("chmod 600 {}", open.display())));
    }
}
