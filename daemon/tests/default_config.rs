//! `config/chatd.toml`, the documented default configuration, checked
//! against the real `chatd`: it parses, its values are the built-in
//! defaults, it documents every key, and its commented-out examples are
//! valid too.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The workspace's `config/chatd.toml`.
fn default_config() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the daemon crate lives in the workspace")
        .join("config/chatd.toml")
}

/// `chatd --check-config --config PATH` in an environment that no systemd
/// variable or user setting of the machine running the tests can change.
fn check_config(config: &Path, home: &Path) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_chatd"));
    cmd.arg("--check-config").arg("--config").arg(config);
    for var in [
        "CONFIGURATION_DIRECTORY",
        "STATE_DIRECTORY",
        "RUNTIME_DIRECTORY",
        "CREDENTIALS_DIRECTORY",
        "XDG_CONFIG_HOME",
        "XDG_STATE_HOME",
        "XDG_RUNTIME_DIR",
        "RUST_LOG",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("HOME", home).output().expect("run chatd")
}

/// The effective settings `--check-config` printed, without its first
/// line (which names the file).
fn settings(out: &Output) -> String {
    assert!(
        out.status.success(),
        "chatd --check-config failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout.clone()).unwrap();
    let mut lines = text.lines();
    assert!(lines.next().is_some_and(|l| l.starts_with("# ")), "{text}");
    lines.collect::<Vec<_>>().join("\n")
}

/// Every key chatd knows, as its error for an unknown key lists them.
fn known_keys(tmp: &Path) -> Vec<String> {
    let probe = tmp.join("probe.toml");
    std::fs::write(&probe, "no_such_key = 1\n").unwrap();
    let out = check_config(&probe, tmp);
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    let list = err
        .split_once("expected one of")
        .unwrap_or_else(|| panic!("no key list in {err}"))
        .1;
    let keys: Vec<String> = list
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect();
    assert!(keys.len() > 10, "{keys:?}");
    keys
}

/// `(key, line)` for every `key = value` line, commented out (`# key = …`)
/// or not.
fn assignments(text: &str, commented: bool) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|line| {
            let line = if commented {
                line.strip_prefix("# ")?
            } else {
                line
            };
            let (key, _) = line.split_once(" = ")?;
            let is_key =
                !key.is_empty() && key.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
            is_key.then(|| (key.to_string(), line.to_string()))
        })
        .collect()
}

#[test]
fn the_default_config_parses_and_holds_the_built_in_defaults() {
    let tmp = tempfile::tempdir().unwrap();
    let empty = tmp.path().join("empty.toml");
    std::fs::write(&empty, "").unwrap();
    let from_file = settings(&check_config(&default_config(), tmp.path()));
    let built_in = settings(&check_config(&empty, tmp.path()));
    assert_eq!(
        from_file, built_in,
        "config/chatd.toml must hold the built-in defaults"
    );
}

#[test]
fn the_default_config_documents_every_key_once() {
    let tmp = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(default_config()).unwrap();
    let mut documented: Vec<String> = assignments(&text, false)
        .into_iter()
        .chain(assignments(&text, true))
        .map(|(key, _)| key)
        .collect();
    documented.sort();
    let mut known = known_keys(tmp.path());
    known.sort();
    assert_eq!(
        documented, known,
        "every key of chatd's Config appears in config/chatd.toml exactly once, set or commented out"
    );
}

#[test]
fn the_commented_out_examples_are_valid() {
    let tmp = tempfile::tempdir().unwrap();
    let password = tmp.path().join("password");
    std::fs::write(&password, "example\n").unwrap();
    let text = std::fs::read_to_string(default_config()).unwrap();
    let examples = assignments(&text, true);
    assert!(!examples.is_empty());
    let mut config = String::new();
    for (key, line) in &examples {
        if key == "password_file" {
            // The example names a file that need not exist here.
            config.push_str(&format!(
                "password_file = {:?}\n",
                password.to_str().unwrap()
            ));
        } else if key == "admin_group" {
            // Nor need the example's group exist (chatd checks it does):
            // root's always does.
            config.push_str("admin_group = \"root\"\n");
        } else {
            config.push_str(line);
            config.push('\n');
        }
    }
    let path = tmp.path().join("examples.toml");
    std::fs::write(&path, &config).unwrap();
    let printed = settings(&check_config(&path, tmp.path()));
    for (key, line) in &examples {
        if key != "password_file" && key != "admin_group" {
            assert!(printed.lines().any(|l| l == line), "{line} in {printed}");
        }
    }
}
