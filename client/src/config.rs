//! The client's configuration file: `$XDG_CONFIG_HOME/chat/config.toml`
//! (`~/.config/chat/config.toml`), optional.
//!
//! ```toml
//! url = "ws://chat.example.org:1719/"
//! username = "ace"
//! key_file = "~/.config/chat/key"       # or key = "chat1_…"
//! password_command = "pass show chat"   # or password_file = "…"
//! identity = "~/.config/chat/work.identity"  # or "none"; default:
//!                                       # $XDG_DATA_HOME/chat/identity
//!
//! time_format = "%H:%M:%S"              # full screen: strftime, %H:%M by default
//! bell = "mentions"                     # off, mentions (default), all
//! color = "auto"                        # auto (off when NO_COLOR is set), always, never
//! log_dir = "~/.local/state/chat/logs"  # off by default
//!
//! [profile.work]                        # chat --profile work
//! url = "ws://a.work.example:1719/, ws://b.work.example:1719/"  # tried in turn
//! key_file = "~/.config/chat/work.key"
//! ```
//!
//! The top-level settings apply to every run; `--profile NAME` lays the
//! `[profile.NAME]` table over them. Flags and the environment override
//! both. The password itself is never in the file: only where to find it.
//! Unknown keys and bad values are refused with the file and the line, as
//! chatd does with its own. A file that belongs to someone other than the
//! caller or root, or that others can change, is refused before it is
//! read: its `password_command` would run as the caller.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chat_protocol::config_file::{key_line, line_at, located, place};
use serde::Deserialize;

use crate::exit::{Exit, Failure};

/// One set of settings (the top level, or a profile).
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The server's URL, or several of one room as a comma list.
    pub url: Option<String>,
    /// The name to join as.
    pub username: Option<String>,
    /// The key token itself.
    pub key: Option<String>,
    /// A file whose first line is the key token.
    pub key_file: Option<PathBuf>,
    /// A file holding the password.
    pub password_file: Option<PathBuf>,
    /// A command (run by `sh -c`) that prints the password.
    pub password_command: Option<String>,
    /// Full screen: how a line's time is shown (strftime: `%H:%M`,
    /// `%H:%M:%S`, `%I:%M %p`, …).
    pub time_format: Option<String>,
    /// Full screen: when the terminal bell rings: `off`, `mentions`, `all`.
    pub bell: Option<String>,
    /// Full screen: colours `auto` (unless `NO_COLOR` is set), `always`,
    /// `never`.
    pub color: Option<String>,
    /// Full screen: the directory where each server's lines are logged, a
    /// file per room (none by default).
    pub log_dir: Option<PathBuf>,
    /// The identity file (`none`: no identity).
    pub identity: Option<PathBuf>,
}

/// The file as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    url: Option<String>,
    username: Option<String>,
    key: Option<String>,
    key_file: Option<PathBuf>,
    password_file: Option<PathBuf>,
    password_command: Option<String>,
    time_format: Option<String>,
    bell: Option<String>,
    color: Option<String>,
    log_dir: Option<PathBuf>,
    identity: Option<PathBuf>,
    #[serde(default)]
    profile: BTreeMap<String, Settings>,
}

/// Where the file is: `$XDG_CONFIG_HOME/chat/config.toml`, else
/// `~/.config/chat/config.toml`.
pub fn path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|v| !v.is_empty())
                .map(|home| PathBuf::from(home).join(".config"))
        })?;
    Some(base.join("chat").join("config.toml"))
}

fn refused(message: String) -> anyhow::Error {
    Failure::new(Exit::Usage, message).into()
}

/// The settings for this run: the file at [`path`] (none if it does not
/// exist), with `profile` laid over its top level.
pub fn load(profile: Option<&str>) -> anyhow::Result<Settings> {
    let Some(path) = path() else {
        return match profile {
            Some(_) => Err(refused(
                "--profile needs a configuration file, and neither XDG_CONFIG_HOME nor HOME is set"
                    .into(),
            )),
            None => Ok(Settings::default()),
        };
    };
    let text = match read_trusted(&path) {
        Ok(Ok(text)) => text,
        Ok(Err(refusal)) => return Err(refused(refusal)),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound && profile.is_none() => {
            return Ok(Settings::default());
        }
        // Run as another user with this one's HOME (`su`, `sudo -E`): the
        // file is someone else's; go on without it, and say so.
        Err(err) if err.kind() == std::io::ErrorKind::PermissionDenied && profile.is_none() => {
            eprintln!(
                "chat: not reading the configuration {} ({err}); going on without it",
                path.display()
            );
            return Ok(Settings::default());
        }
        Err(err) => {
            return Err(refused(format!(
                "reading the configuration {}: {err}",
                path.display()
            )));
        }
    };
    parse(&text, &path, profile).map_err(refused)
}

/// The text of the configuration at `path`, or why it is not read: it
/// belongs to someone other than the caller or root, or others can change
/// it (see [`crate::permissions`]).
fn read_trusted(path: &Path) -> std::io::Result<Result<String, String>> {
    use std::io::Read as _;
    let mut file = std::fs::File::open(path)?;
    let meta = file.metadata()?;
    if let Some(refusal) =
        crate::permissions::config_refusal(path, &meta, crate::permissions::euid())
    {
        return Ok(Err(refusal));
    }
    let mut text = String::new();
    file.read_to_string(&mut text)?;
    Ok(Ok(text))
}

/// Parses and checks `text` (from `origin`), then picks `profile`.
pub fn parse(text: &str, origin: &Path, profile: Option<&str>) -> Result<Settings, String> {
    let file: File = toml::from_str(text).map_err(|e| {
        let line = e.span().map(|span| line_at(text, span.start));
        located(origin, line, e.message().trim_end())
    })?;
    let base = Settings {
        url: file.url,
        username: file.username,
        key: file.key,
        key_file: file.key_file,
        password_file: file.password_file,
        password_command: file.password_command,
        time_format: file.time_format,
        bell: file.bell,
        color: file.color,
        log_dir: file.log_dir,
        identity: file.identity,
    };
    check(&base, text, origin, None)?;
    for (name, settings) in &file.profile {
        check(settings, text, origin, Some(name))?;
    }
    let Some(name) = profile else {
        return Ok(base);
    };
    let Some(chosen) = file.profile.get(name) else {
        let known: Vec<&str> = file.profile.keys().map(String::as_str).collect();
        return Err(format!(
            "{} has no [profile.{name}] (its profiles: {})",
            origin.display(),
            if known.is_empty() {
                "none".to_owned()
            } else {
                known.join(", ")
            }
        ));
    };
    let chosen = chosen.clone();
    // A profile's key source replaces the top level's, whichever form.
    let key_set = chosen.key.is_some() || chosen.key_file.is_some();
    let password_set = chosen.password_file.is_some() || chosen.password_command.is_some();
    Ok(Settings {
        url: chosen.url.or(base.url),
        username: chosen.username.or(base.username),
        key: if key_set { chosen.key } else { base.key },
        key_file: if key_set {
            chosen.key_file
        } else {
            base.key_file
        },
        password_file: if password_set {
            chosen.password_file
        } else {
            base.password_file
        },
        password_command: if password_set {
            chosen.password_command
        } else {
            base.password_command
        },
        time_format: chosen.time_format.or(base.time_format),
        bell: chosen.bell.or(base.bell),
        color: chosen.color.or(base.color),
        log_dir: chosen.log_dir.or(base.log_dir),
        identity: chosen.identity.or(base.identity),
    })
}

/// The values' own rules: one key source, one password source, a valid
/// URL and name.
fn check(s: &Settings, text: &str, origin: &Path, profile: Option<&str>) -> Result<(), String> {
    let table = profile.map(|p| format!("profile.{p}"));
    let at = |key: &str| place(origin, key_line(text, key, table.as_deref()));
    if s.key.is_some() && s.key_file.is_some() {
        return Err(format!(
            "{}: give key or key_file, not both",
            at("key_file")
        ));
    }
    if s.password_file.is_some() && s.password_command.is_some() {
        return Err(format!(
            "{}: give password_file or password_command, not both",
            at("password_command")
        ));
    }
    if let Some(urls) = &s.url {
        for url in urls.split(',') {
            crate::parse_url(url).map_err(|why| format!("{}: url: {why}", at("url")))?;
        }
    }
    if let Some(name) = &s.username
        && !chat_protocol::valid_username(name)
    {
        return Err(format!(
            "{}: username {:?} is not valid: use 1-32 of A-Z a-z 0-9 _ . -",
            at("username"),
            crate::escape::one_line(name)
        ));
    }
    if let Some(key) = &s.key {
        chat_protocol::Token::parse(key)
            .map_err(|err| format!("{}: the key is not valid: {err}", at("key")))?;
    }
    if let Some(format) = &s.time_format {
        crate::clock::check_format(format)
            .map_err(|why| format!("{}: {why}", at("time_format")))?;
    }
    let one_of = |key: &str, value: &Option<String>, allowed: &[&str]| match value {
        Some(v) if !allowed.contains(&v.as_str()) => Err(format!(
            "{}: {key} is {:?}; use {}",
            at(key),
            crate::escape::one_line(v),
            allowed.join(", ")
        )),
        _ => Ok(()),
    };
    one_of("bell", &s.bell, &["off", "mentions", "all"])?;
    one_of("color", &s.color, &["auto", "always", "never"])?;
    Ok(())
}

/// `~/` at the start of `path` is the home directory.
pub fn expand_home(path: &Path) -> PathBuf {
    match (path.strip_prefix("~"), std::env::var_os("HOME")) {
        (Ok(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => path.to_path_buf(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "chat1_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0-Pw";

    fn parse(text: &str, profile: Option<&str>) -> Result<Settings, String> {
        super::parse(text, Path::new("config.toml"), profile)
    }

    #[test]
    fn profiles_lay_over_the_top_level() {
        let text = "url = \"ws://a:1/\"\nusername = \"ace\"\nkey_file = \"k\"\n\n[profile.work]\nurl = \"ws://b:2/\"\npassword_command = \"pass show chat\"\n";
        let base = parse(text, None).unwrap();
        assert_eq!(base.url.as_deref(), Some("ws://a:1/"));
        let work = parse(text, Some("work")).unwrap();
        assert_eq!(work.url.as_deref(), Some("ws://b:2/"));
        assert_eq!(work.username.as_deref(), Some("ace"));
        assert_eq!(work.key_file.as_deref(), Some(Path::new("k")));
        assert_eq!(work.password_command.as_deref(), Some("pass show chat"));
        let missing = parse(text, Some("home")).unwrap_err();
        assert!(
            missing.contains("no [profile.home] (its profiles: work)"),
            "{missing}"
        );
    }

    #[test]
    fn full_screen_settings_are_checked_and_profiles_override_them() {
        let text = "time_format = \"%H:%M:%S\"\nbell = \"all\"\ncolor = \"never\"\nlog_dir = \"~/logs\"\n\n[profile.quiet]\nbell = \"off\"\n";
        let base = parse(text, None).unwrap();
        assert_eq!(base.time_format.as_deref(), Some("%H:%M:%S"));
        assert_eq!(base.bell.as_deref(), Some("all"));
        assert_eq!(base.color.as_deref(), Some("never"));
        assert_eq!(base.log_dir.as_deref(), Some(Path::new("~/logs")));
        let quiet = parse(text, Some("quiet")).unwrap();
        assert_eq!(quiet.bell.as_deref(), Some("off"));
        assert_eq!(quiet.time_format.as_deref(), Some("%H:%M:%S"));
        let err = parse("bell = \"loud\"\n", None).unwrap_err();
        assert!(
            err.starts_with("config.toml line 1: bell is \"loud\"; use off, mentions, all"),
            "{err}"
        );
        let err = parse("\ncolor = \"blue\"\n", None).unwrap_err();
        assert!(err.starts_with("config.toml line 2: color"), "{err}");
        let err = parse("time_format = \"%c\"\n", None).unwrap_err();
        assert!(
            err.contains("line 1: time_format: %c is not one of"),
            "{err}"
        );
    }

    #[test]
    fn unknown_keys_and_bad_values_name_the_line() {
        let err = parse("url = \"ws://a:1/\"\npassword = \"hunter2\"\n", None).unwrap_err();
        assert!(err.starts_with("config.toml line 2:"), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
        let err = parse("\n[profile.x]\nurl = \"http://a/\"\n", None).unwrap_err();
        assert!(err.starts_with("config.toml line 3: url:"), "{err}");
        let err = parse("username = \"not valid\"\n", None).unwrap_err();
        assert!(err.starts_with("config.toml line 1:"), "{err}");
        let err = parse("username = 7\n", None).unwrap_err();
        assert!(err.starts_with("config.toml line 1:"), "{err}");
        let err = parse(&format!("key = \"{KEY}\"\nkey_file = \"k\"\n"), None).unwrap_err();
        assert!(err.contains("line 2: give key or key_file"), "{err}");
        let err = parse("key = \"chat1_nope\"\n", None).unwrap_err();
        assert!(
            err.starts_with("config.toml line 1: the key is not valid"),
            "{err}"
        );
        assert!(!err.contains("chat1_nope"), "{err}");
        assert!(parse(&format!("key = \"{KEY}\"\n"), None).is_ok());
    }
}
