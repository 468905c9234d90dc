//! The systemd units in packaging/ are valid and hardened.

use std::path::{Path, PathBuf};
use std::process::Command;

fn packaging() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../packaging")
}

/// Copies the units to a temp dir with ExecStart pointing at the built chatd
/// (systemd-analyze refuses a unit whose binary does not exist).
fn units() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let chatd = testkit::bin("chatd");
    for name in ["chatd.service", "chatd.socket"] {
        let text = std::fs::read_to_string(packaging().join(name)).unwrap();
        let text = text.replace("/usr/bin/chatd", chatd.to_str().unwrap());
        std::fs::write(tmp.path().join(name), text).unwrap();
    }
    tmp
}

#[test]
fn units_pass_systemd_analyze_verify() {
    let tmp = units();
    for name in ["chatd.service", "chatd.socket"] {
        let out = Command::new("systemd-analyze")
            .args(["verify", "--man=no"])
            .arg(tmp.path().join(name))
            .output()
            .expect("systemd-analyze is installed (.ci/run installs systemd)");
        // verify exits 0 even on unknown keys: any output on stderr is a failure.
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && stderr.trim().is_empty(),
            "{name}: {stderr}"
        );
    }
}

#[test]
fn the_service_is_hardened() {
    let tmp = units();
    let out = Command::new("systemd-analyze")
        .args(["security", "--offline=yes"])
        .arg(tmp.path().join("chatd.service"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let score: f64 = text
        .lines()
        .find_map(|l| l.split("Overall exposure level for chatd.service: ").nth(1))
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("no exposure level in:\n{text}"));
    // Issue 14 asks for 1.5 or less; docs/operations.md says what each
    // remaining point costs.
    assert!(
        score <= 1.5,
        "exposure level {score} (a bare unit scores 9.6)"
    );
}

#[test]
fn the_service_is_type_notify_with_a_sighup_reload() {
    let text = std::fs::read_to_string(packaging().join("chatd.service")).unwrap();
    for line in [
        "Type=notify",
        "ExecReload=/bin/kill -HUP $MAINPID",
        "StateDirectory=chatd",
        "RuntimeDirectory=chatd",
    ] {
        assert!(text.lines().any(|l| l == line), "missing {line}");
    }
}
