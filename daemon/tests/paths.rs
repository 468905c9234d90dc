//! Where chatd keeps its files when no flag names them: the variables
//! systemd sets, then (for a user other than root) the XDG directories.
//!
//! Root's own defaults (`/etc/chatd`, `/var/lib/chatd`, `/run/chatd`) are
//! never exercised: when the tests run as root, chatd runs as nobody
//! through `setpriv`, so that even a chatd that ignored the variables could
//! not write to the system's directories.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use testkit::{Daemon, DaemonBuilder, RawClient, admin_call};

/// The uid that `setpriv` runs chatd as when the tests run as root.
const NOBODY: u32 = 65534;

/// Who chatd runs as in these tests.
struct RunAs {
    uid: u32,
    setpriv: bool,
}

impl RunAs {
    /// Nobody through `setpriv` when the tests run as root, the tests' own
    /// user otherwise; `None` as root without `setpriv`.
    fn unprivileged() -> Option<Self> {
        // SAFETY: geteuid has no preconditions.
        let euid = unsafe { libc::geteuid() };
        if euid != 0 {
            return Some(Self {
                uid: euid,
                setpriv: false,
            });
        }
        let found = Command::new("setpriv")
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        found.then_some(Self {
            uid: NOBODY,
            setpriv: true,
        })
    }

    fn apply(&self, builder: DaemonBuilder) -> DaemonBuilder {
        if self.setpriv {
            builder.wrapped_in(
                "setpriv",
                &["--reuid=65534", "--regid=65534", "--clear-groups", "--"],
            )
        } else {
            builder
        }
    }

    /// A temp dir that this user can reach (mode 0755).
    fn temp_root(&self) -> tempfile::TempDir {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        tmp
    }

    /// Makes `dir` (0700) and gives it to this user, as systemd or a login
    /// session would.
    fn own_dir(&self, dir: &Path) -> PathBuf {
        std::fs::create_dir_all(dir).unwrap();
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).unwrap();
        if self.setpriv {
            std::os::unix::fs::chown(dir, Some(self.uid), Some(self.uid)).unwrap();
        }
        dir.to_path_buf()
    }

    /// Checks that chatd runs as this user.
    fn assert_runs_chatd(&self, d: &Daemon) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", d.pid())).unwrap();
        let uid = status
            .lines()
            .find_map(|l| l.strip_prefix("Uid:"))
            .and_then(|ids| ids.split_whitespace().nth(1))
            .unwrap();
        assert_eq!(uid, self.uid.to_string(), "chatd's effective uid");
    }

    /// Checks that chatd made `dir` private to itself.
    fn assert_made_private(&self, dir: &Path) {
        let meta = std::fs::metadata(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        assert_eq!(meta.mode() & 0o777, 0o700, "{}", dir.display());
        assert_eq!(meta.uid(), self.uid, "{}", dir.display());
    }
}

/// Joins and returns the motd, which tells which config file was read.
fn motd_on_join(d: &Daemon) -> Option<String> {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(RawClient::join(&d.url, &d.key, "ace", ""))
        .joined()
        .welcome
        .motd
}

/// The state directory the admin API reports.
fn reported_state_dir(d: &Daemon) -> PathBuf {
    let (code, status) = admin_call(&d.runtime_dir, "GET", "/v1/status", None);
    assert_eq!(code, 200, "{status}");
    PathBuf::from(status["state_dir"].as_str().unwrap())
}

#[test]
fn the_directories_systemd_sets_are_used_without_flags() {
    // As root without setpriv this runs as root: every variable points at
    // a temp dir, so chatd has no reason to look further.
    let run_as = RunAs::unprivileged().unwrap_or(RunAs {
        uid: 0,
        setpriv: false,
    });
    let tmp = run_as.temp_root();
    let state = run_as.own_dir(&tmp.path().join("state"));
    let other_state = run_as.own_dir(&tmp.path().join("other-state"));
    let runtime = run_as.own_dir(&tmp.path().join("run"));
    let config = tmp.path().join("config");
    std::fs::create_dir(&config).unwrap();
    std::fs::write(
        config.join("chatd.toml"),
        "motd = \"from CONFIGURATION_DIRECTORY\"\n",
    )
    .unwrap();
    // Decoys: were the systemd variables ignored, chatd would land here.
    let xdg = run_as.own_dir(&tmp.path().join("xdg"));
    let d = run_as
        .apply(Daemon::builder())
        .dirs_found_at(&state, &runtime)
        // systemd passes several directories colon-separated; the first is chatd's.
        .env(
            "STATE_DIRECTORY",
            format!("{}:{}", state.display(), other_state.display()),
        )
        .env("RUNTIME_DIRECTORY", runtime.to_str().unwrap())
        .env("CONFIGURATION_DIRECTORY", config.to_str().unwrap())
        .env("HOME", xdg.to_str().unwrap())
        .env("XDG_STATE_HOME", xdg.to_str().unwrap())
        .env("XDG_RUNTIME_DIR", xdg.to_str().unwrap())
        .env("XDG_CONFIG_HOME", xdg.to_str().unwrap())
        .start();
    run_as.assert_runs_chatd(&d);
    assert!(d.key.starts_with("chat1_"), "{}", d.key);
    assert!(runtime.join("admin.sock").exists());
    assert_eq!(reported_state_dir(&d), state);
    assert_eq!(
        motd_on_join(&d).as_deref(),
        Some("from CONFIGURATION_DIRECTORY")
    );
    assert_eq!(std::fs::read_dir(&other_state).unwrap().count(), 0);
    assert_eq!(std::fs::read_dir(&xdg).unwrap().count(), 0);
}

#[test]
fn a_user_other_than_root_gets_the_xdg_directories() {
    let Some(run_as) = RunAs::unprivileged() else {
        eprintln!("skipped: running as root and setpriv is not installed");
        return;
    };
    let tmp = run_as.temp_root();
    let state_home = run_as.own_dir(&tmp.path().join("state-home"));
    let runtime_home = run_as.own_dir(&tmp.path().join("runtime-home"));
    let config_home = tmp.path().join("config-home");
    std::fs::create_dir_all(config_home.join("chatd")).unwrap();
    std::fs::write(
        config_home.join("chatd/chatd.toml"),
        "motd = \"from XDG_CONFIG_HOME\"\n",
    )
    .unwrap();
    let home = run_as.own_dir(&tmp.path().join("home"));
    let state = state_home.join("chatd");
    let runtime = runtime_home.join("chatd");
    let d = run_as
        .apply(Daemon::builder())
        .dirs_found_at(&state, &runtime)
        .env("HOME", home.to_str().unwrap())
        .env("XDG_STATE_HOME", state_home.to_str().unwrap())
        .env("XDG_RUNTIME_DIR", runtime_home.to_str().unwrap())
        .env("XDG_CONFIG_HOME", config_home.to_str().unwrap())
        .start();
    run_as.assert_runs_chatd(&d);
    assert!(d.key.starts_with("chat1_"), "{}", d.key);
    // Missing directories are made, private to chatd's user.
    run_as.assert_made_private(&state);
    run_as.assert_made_private(&runtime);
    assert!(runtime.join("admin.sock").exists());
    assert_eq!(reported_state_dir(&d), state);
    assert_eq!(motd_on_join(&d).as_deref(), Some("from XDG_CONFIG_HOME"));
    // It tells the person where the key is.
    d.wait_for_log(&state.join("key").display().to_string());
    assert_eq!(std::fs::read_dir(&home).unwrap().count(), 0);
}

#[test]
fn without_xdg_state_and_config_home_chatd_uses_home() {
    let Some(run_as) = RunAs::unprivileged() else {
        eprintln!("skipped: running as root and setpriv is not installed");
        return;
    };
    let tmp = run_as.temp_root();
    let home = run_as.own_dir(&tmp.path().join("home"));
    std::fs::create_dir_all(home.join(".config/chatd")).unwrap();
    std::fs::write(
        home.join(".config/chatd/chatd.toml"),
        "motd = \"from ~/.config\"\n",
    )
    .unwrap();
    // XDG_RUNTIME_DIR stays set: without it chatd uses /tmp/chatd-$UID,
    // which parallel tests would share.
    let runtime_home = run_as.own_dir(&tmp.path().join("runtime-home"));
    let state = home.join(".local/state/chatd");
    let runtime = runtime_home.join("chatd");
    let d = run_as
        .apply(Daemon::builder())
        .dirs_found_at(&state, &runtime)
        .env("HOME", home.to_str().unwrap())
        .env("XDG_RUNTIME_DIR", runtime_home.to_str().unwrap())
        .start();
    run_as.assert_runs_chatd(&d);
    run_as.assert_made_private(&state);
    assert_eq!(reported_state_dir(&d), state);
    assert_eq!(motd_on_join(&d).as_deref(), Some("from ~/.config"));
}

#[test]
fn a_directory_another_user_owns_is_refused() {
    // Only root can make a directory that belongs to someone else.
    let Some(run_as) = RunAs::unprivileged().filter(|r| r.setpriv) else {
        eprintln!("skipped: needs root and setpriv");
        return;
    };
    let tmp = run_as.temp_root();
    let state_home = run_as.own_dir(&tmp.path().join("state-home"));
    // What someone else planted where chatd's runtime directory goes (as
    // another user could at /tmp/chatd-$UID): root's, 0700.
    let runtime_home = tmp.path().join("runtime-home");
    std::fs::create_dir_all(runtime_home.join("chatd")).unwrap();
    std::fs::set_permissions(&runtime_home, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut d = run_as
        .apply(Daemon::builder())
        .dirs_found_at(&state_home.join("chatd"), &runtime_home.join("chatd"))
        .env("HOME", state_home.to_str().unwrap())
        .env("XDG_STATE_HOME", state_home.to_str().unwrap())
        .env("XDG_RUNTIME_DIR", runtime_home.to_str().unwrap())
        .spawn();
    let status = d.wait_exit();
    assert_eq!(status.code(), Some(1), "{}", d.log());
    let expected = format!(
        "runtime directory {} is owned by uid 0, not chatd's uid {NOBODY}: chown it to uid {NOBODY} or choose another --runtime-dir",
        runtime_home.join("chatd").display()
    );
    assert!(d.log().contains(&expected), "{}", d.log());
}

/// Starts chatd on `state` and `runtime` (found through the variables
/// systemd sets, so that the test picks them) and expects it to refuse:
/// exit 1 before it listens. Returns its log.
fn refused_on(state: &Path, runtime: &Path) -> String {
    let mut d = Daemon::builder()
        .dirs_found_at(state, runtime)
        .env("STATE_DIRECTORY", state.to_str().unwrap())
        .env("RUNTIME_DIRECTORY", runtime.to_str().unwrap())
        .spawn();
    testkit::wait_until("chatd to exit", || {
        assert!(
            !d.log().contains("listening on"),
            "chatd started on {} and {}; its log:\n{}",
            state.display(),
            runtime.display(),
            d.log()
        );
        d.try_exit()
    });
    let status = d.wait_exit();
    assert_eq!(status.code(), Some(1), "{}", d.log());
    d.log()
}

/// A directory of mode `mode`, made by the test's own user.
fn dir_with_mode(path: &Path, mode: u32) -> PathBuf {
    std::fs::create_dir_all(path).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    path.to_path_buf()
}

#[test]
fn as_root_a_directory_another_user_owns_is_refused() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: only root can give a directory to another user");
        return;
    }
    // chatd runs as root here: root could write to any directory, but one
    // that another user owns is that user's to change (to move admin.sock
    // away, or the keys).
    let tmp = tempfile::tempdir().unwrap();
    let own = dir_with_mode(&tmp.path().join("own"), 0o700);
    let theirs = dir_with_mode(&tmp.path().join("theirs"), 0o700);
    std::os::unix::fs::chown(&theirs, Some(1500), Some(1500)).unwrap();
    let log = refused_on(&theirs, &own);
    let expected = format!(
        "state directory {} is owned by uid 1500, not chatd's uid 0: chown it to uid 0 or choose another --state-dir",
        theirs.display()
    );
    assert!(log.contains(&expected), "{log}");
    let log = refused_on(&own, &theirs);
    let expected = format!(
        "runtime directory {} is owned by uid 1500, not chatd's uid 0: chown it to uid 0 or choose another --runtime-dir",
        theirs.display()
    );
    assert!(log.contains(&expected), "{log}");
    assert!(!theirs.join("admin.sock").exists());
    assert_eq!(std::fs::read_dir(&theirs).unwrap().count(), 0);
}

#[test]
fn a_directory_its_group_can_write_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let own = dir_with_mode(&tmp.path().join("own"), 0o700);
    let shared = dir_with_mode(&tmp.path().join("shared"), 0o770);
    let log = refused_on(&shared, &own);
    let expected = format!(
        "state directory {} is writable by its group (mode 0770), who could swap chatd's files there: fix it with `chmod go-w {}` or choose another --state-dir",
        shared.display(),
        shared.display()
    );
    assert!(log.contains(&expected), "{log}");
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o730)).unwrap();
    let log = refused_on(&own, &shared);
    assert!(
        log.contains(&format!(
            "runtime directory {} is writable by its group (mode 0730)",
            shared.display()
        )),
        "{log}"
    );
    assert!(!shared.join("admin.sock").exists());
    // What systemd's RuntimeDirectoryMode=0750 or 0755 makes is fine:
    // readable, not writable, by others.
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o755)).unwrap();
    let d = Daemon::builder()
        .dirs_found_at(&own, &shared)
        .env("STATE_DIRECTORY", own.to_str().unwrap())
        .env("RUNTIME_DIRECTORY", shared.to_str().unwrap())
        .start();
    let (code, _) = admin_call(&d.runtime_dir, "GET", "/v1/status", None);
    assert_eq!(code, 200);
}

#[test]
fn a_symbolic_link_is_refused_as_either_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let own = dir_with_mode(&tmp.path().join("own"), 0o700);
    let real = dir_with_mode(&tmp.path().join("real"), 0o700);
    let link = tmp.path().join("link");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    for (state, runtime, role, flag) in [
        (&link, &own, "state directory", "--state-dir"),
        (&own, &link, "runtime directory", "--runtime-dir"),
    ] {
        let log = refused_on(state, runtime);
        let expected = format!(
            "{role} {} is a symbolic link (to {}), which whoever can change it could point elsewhere: pass the real directory with {flag}, or put a directory in the link's place",
            link.display(),
            real.display()
        );
        assert!(log.contains(&expected), "{log}");
    }
    assert_eq!(std::fs::read_dir(&real).unwrap().count(), 0);
}
