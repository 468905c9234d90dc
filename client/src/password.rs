//! Where the join password comes from: `--password-file`, `CHAT_PASSWORD`,
//! or, when the server asks for one that was not given and a person is at
//! the terminal, a prompt on `/dev/tty` with echo off.
//!
//! Never from the command line, where `ps` and shell history would show it.
//! No message here ever contains the password.

use std::path::Path;

use anyhow::Context as _;
use chat_protocol::password::{MAX_PASSWORD_READ, NotAPassword, from_bytes};
use chat_protocol::sizes::MAX_PASSWORD;
use chat_term::prompt::{self, Prompted};
use zeroize::Zeroizing;

use crate::exit::{Exit, Failure};
use crate::signals::Signals;

/// The environment variable that may hold the password.
pub const ENV: &str = "CHAT_PASSWORD";

/// The password from `file` (one trailing newline stripped), else from
/// `CHAT_PASSWORD`, else `None` (none given).
pub fn from_file_or_env(file: Option<&Path>) -> anyhow::Result<Option<Zeroizing<String>>> {
    if let Some(path) = file {
        use std::io::Read as _;
        // A password, its line ending, and one byte to tell a longer file.
        let mut bytes = Zeroizing::new(Vec::new());
        std::fs::File::open(path)
            .and_then(|f| {
                crate::permissions::warn_if_exposed(&f, path, "password file");
                f.take(MAX_PASSWORD_READ).read_to_end(&mut bytes)
            })
            .with_context(|| format!("reading the password file {}", path.display()))?;
        return check(bytes, &format!("the password file {}", path.display())).map(Some);
    }
    match std::env::var_os(ENV) {
        Some(value) => check(Zeroizing::new(value.into_encoded_bytes()), ENV).map(Some),
        None => Ok(None),
    }
}

/// The password that `command` (run by `sh -c`, the configuration's
/// `password_command`) prints on its standard output, one trailing newline
/// stripped. Its standard error goes to ours (a prompt of its own can show).
pub fn from_command(command: &str) -> anyhow::Result<Zeroizing<String>> {
    use std::io::Read as _;
    use std::process::{Command, Stdio};
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(command)
        .stdin(Stdio::inherit())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .context("running the configuration's password_command")?;
    let mut bytes = Zeroizing::new(Vec::new());
    let read = child
        .stdout
        .take()
        .expect("piped stdout")
        .take(MAX_PASSWORD_READ)
        .read_to_end(&mut bytes);
    // Nothing more is read: a command that prints on and on is stopped.
    if read.is_ok() && bytes.len() > MAX_PASSWORD + 2 {
        let _ = child.kill();
    }
    let status = child
        .wait()
        .context("waiting for the configuration's password_command")?;
    read.context("reading the output of the configuration's password_command")?;
    if !status.success() && bytes.len() <= MAX_PASSWORD + 2 {
        return Err(Failure::new(
            Exit::Error,
            format!("the configuration's password_command failed ({status})"),
        )
        .into());
    }
    check(bytes, "the output of the configuration's password_command")
}

/// The password in `bytes` (one trailing newline stripped, UTF-8, at
/// most 1 KiB: [`from_bytes`]), or what is wrong with it, never what it is.
fn check(bytes: Zeroizing<Vec<u8>>, source: &str) -> anyhow::Result<Zeroizing<String>> {
    from_bytes(bytes).map_err(|problem| {
        let message = match problem {
            NotAPassword::TooLong(_) => {
                format!("the password in {source} is over {MAX_PASSWORD} bytes, the limit")
            }
            NotAPassword::NotUtf8 => format!("the password in {source} is not UTF-8 text"),
        };
        Failure::new(Exit::Error, message).into()
    })
}

/// Whether a person can be asked: stdin and stderr are both terminals.
pub fn can_prompt() -> bool {
    // SAFETY: `isatty` only inspects the descriptor.
    unsafe { libc::isatty(0) == 1 && libc::isatty(2) == 1 }
}

/// Asks for the password on `/dev/tty` with echo off. Ctrl-C or SIGTERM
/// restores the terminal and ends with [`Exit::Interrupted`].
pub async fn prompt(url: &str, signals: &mut Signals) -> anyhow::Result<Zeroizing<String>> {
    let asked = prompt::ask(
        vec![format!("{url} needs a password.\nPassword: ")],
        |_| true,
        signals.recv(),
    )
    .await
    .map_err(anyhow::Error::new)?;
    let answer = match asked {
        Prompted::Interrupted(()) => {
            return Err(Failure::new(Exit::Interrupted, "interrupted").into());
        }
        Prompted::Answers(mut answers) => answers.pop().flatten(),
    };
    let Some(bytes) = answer else {
        return Err(Failure::new(Exit::BadPassword, "no password given").into());
    };
    from_bytes(bytes).map_err(|problem| {
        let message = match problem {
            NotAPassword::TooLong(_) => {
                format!("that password is too long; passwords are at most {MAX_PASSWORD} bytes")
            }
            NotAPassword::NotUtf8 => "that password is not UTF-8 text".to_string(),
        };
        Failure::new(Exit::Error, message).into()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_and_encoding_are_checked_without_echoing() {
        assert_eq!(*check(b"hunter2".to_vec().into(), "x").unwrap(), "hunter2");
        assert_eq!(
            check(vec![b'a'; MAX_PASSWORD].into(), "x").unwrap().len(),
            MAX_PASSWORD
        );
        let long = check(vec![b'a'; MAX_PASSWORD + 1].into(), "x")
            .unwrap_err()
            .to_string();
        assert!(
            long.contains("over 1024 bytes") && !long.contains("aaaa"),
            "{long}"
        );
        let bad = check(b"hunter\xff".to_vec().into(), "x")
            .unwrap_err()
            .to_string();
        assert!(
            bad.contains("not UTF-8") && !bad.contains("hunter"),
            "{bad}"
        );
    }

    #[test]
    fn password_file_is_read() {
        let path = std::env::temp_dir().join(format!("chat-pw-test-{}", std::process::id()));
        std::fs::write(&path, "s3cret\n").unwrap();
        let got = from_file_or_env(Some(&path));
        std::fs::remove_file(&path).unwrap();
        assert_eq!(got.unwrap().as_deref().map(String::as_str), Some("s3cret"));
        let missing = from_file_or_env(Some(Path::new("/nonexistent/pw"))).unwrap_err();
        assert!(format!("{missing:#}").contains("/nonexistent/pw"));
    }
}
