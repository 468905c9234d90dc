//! What can be wrong with a configuration, said the way chatd says it:
//! `FILE line N: problem`, with the key and the expected kind in plain
//! words.

use std::path::{Path, PathBuf};

/// Why a configuration cannot be used. Each names the file and line (or
/// the flag) and what would be right.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file cannot be read.
    #[error("cannot read config {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The system's error.
        source: std::io::Error,
    },
    /// The file is too large to be a configuration.
    #[error("config {} is over 1 MiB; is it the right file?", .0.display())]
    TooLarge(PathBuf),
    /// Not TOML, an unknown key or a value of the wrong kind:
    /// `FILE line N: problem`.
    #[error("{0}")]
    Syntax(String),
    /// A value out of its range, with where it was set.
    #[error("{place}{invalid}")]
    Invalid {
        /// `FILE line N: `, `FILE: `, or nothing (a flag).
        place: String,
        /// The key and the problem.
        invalid: Invalid,
    },
    /// No directory can be found for what nothing named.
    #[error(transparent)]
    Dir(#[from] crate::store::paths::DirError),
    /// The log filter does not parse.
    #[error(transparent)]
    LogFilter(#[from] crate::logging::FilterError),
    /// The configured admin group does not exist.
    #[error("admin_group = \"{0}\": no such group; create it (`groupadd {0}`) or fix the config")]
    NoSuchGroup(String),
}

/// A value the types accept but the daemon does not: which key, and why.
#[derive(Debug)]
pub struct Invalid {
    /// The TOML key.
    pub key: &'static str,
    /// What is wrong and what would be right.
    pub message: String,
}

impl std::fmt::Display for Invalid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// The line (1-based) where `key` is set at the top level of `text`.
pub(crate) fn key_line(text: &str, key: &str) -> Option<usize> {
    chat_protocol::config_file::key_line(text, key, None)
}

/// Turns a toml error into `FILE line N: problem`; a value of the wrong
/// type is said in plain words, naming the key.
pub(crate) fn describe_toml_error(text: &str, origin: &Path, e: &toml::de::Error) -> String {
    use chat_protocol::config_file::{line_at, located};
    let line = e.span().map(|span| line_at(text, span.start));
    let key = line.and_then(|line| {
        let (key, _) = text.lines().nth(line - 1)?.split_once('=')?;
        let key = key.trim().trim_matches('"');
        (!key.is_empty()).then_some(key)
    });
    let plain = key.and_then(|key| wrong_type_in_plain_words(key, e.message().trim_end()));
    let message = plain.as_deref().unwrap_or(e.message().trim_end());
    located(origin, line, message)
}

/// serde's `invalid type: string "10", expected usize` as `history must
/// be a whole number, like history = 10 (no quotes), not the string "10"`;
/// `None` for any other message.
fn wrong_type_in_plain_words(key: &str, message: &str) -> Option<String> {
    let rest = message
        .strip_prefix("invalid type: ")
        .or_else(|| message.strip_prefix("invalid value: "))?;
    let (found, expected) = rest.rsplit_once(", expected ")?;
    let durations = [
        "handshake_timeout",
        "keepalive_interval",
        "keepalive_timeout",
        "write_timeout",
        "shutdown_timeout",
    ];
    let wanted = match expected {
        "usize" | "u64" => format!("a whole number of 0 or more, like {key} = 10 (no quotes)"),
        "u32" => format!("a whole number from 0 to 4294967295, like {key} = 10 (no quotes)"),
        "a boolean" => format!("true or false (no quotes), like {key} = false"),
        "a string" if key == "name_expiry" => {
            format!("a duration in days in double quotes, like {key} = \"365d\"")
        }
        "a string" if durations.contains(&key) => {
            format!("a duration in double quotes, like {key} = \"10s\" (or \"5m\", \"1h\")")
        }
        "a string" => format!("text in double quotes, like {key} = \"…\""),
        "path string" => format!("a path in double quotes, like {key} = \"/var/lib/chatd\""),
        _ => return None,
    };
    let found = found.replace('`', "");
    let found = match found.split_once(' ') {
        Some(("string", value)) => format!("the text {value}"),
        Some(("integer" | "floating", value)) => {
            format!("the number {}", value.trim_start_matches("point "))
        }
        Some(("boolean", value)) => value.to_string(),
        _ => found,
    };
    Some(format!("{key} must be {wanted}, not {found}"))
}
