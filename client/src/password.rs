//! Where the join password comes from: `--password-file`, `CHAT_PASSWORD`,
//! or, when the server asks for one that was not given and a person is at
//! the terminal, a prompt on `/dev/tty` with echo off.
//!
//! Never from the command line, where `ps` and shell history would show it.
//! No message here ever contains the password.

use std::fs::File;
use std::io::{BufReader, Write as _};
use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;
use chat_protocol::limits::MAX_PASSWORD;
use zeroize::Zeroizing;

use crate::exit::{Exit, Failure};
use crate::input::{Line, read_line};
use crate::signals::Signals;
use chat_term::EchoOff;

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
                f.take(MAX_PASSWORD as u64 + 3).read_to_end(&mut bytes)
            })
            .with_context(|| format!("reading the password file {}", path.display()))?;
        return check(
            strip_newline(bytes),
            &format!("the password file {}", path.display()),
        )
        .map(Some);
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
        .take(MAX_PASSWORD as u64 + 3)
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
    check(
        strip_newline(bytes),
        "the output of the configuration's password_command",
    )
}

/// `bytes` without one trailing `\n` (or `\r\n`).
fn strip_newline(mut bytes: Zeroizing<Vec<u8>>) -> Zeroizing<Vec<u8>> {
    if bytes.last() == Some(&b'\n') {
        bytes.pop();
        if bytes.last() == Some(&b'\r') {
            bytes.pop();
        }
    }
    bytes
}

/// The password in `bytes`, if it is UTF-8 and at most 1 KiB.
fn check(bytes: Zeroizing<Vec<u8>>, source: &str) -> anyhow::Result<Zeroizing<String>> {
    if bytes.len() > MAX_PASSWORD {
        return Err(Failure::new(
            Exit::Error,
            format!("the password in {source} is over {MAX_PASSWORD} bytes, the limit"),
        )
        .into());
    }
    match std::str::from_utf8(&bytes) {
        Ok(text) => Ok(Zeroizing::new(text.to_owned())),
        Err(_) => Err(Failure::new(
            Exit::Error,
            format!("the password in {source} is not UTF-8 text"),
        )
        .into()),
    }
}

/// Whether a person can be asked: stdin and stderr are both terminals.
pub fn can_prompt() -> bool {
    // SAFETY: `isatty` only inspects the descriptor.
    unsafe { libc::isatty(0) == 1 && libc::isatty(2) == 1 }
}

/// Asks for the password on `/dev/tty` with echo off. Ctrl-C or SIGTERM
/// restores the terminal and ends with [`Exit::Interrupted`].
pub async fn prompt(url: &str, signals: &mut Signals) -> anyhow::Result<Zeroizing<String>> {
    let mut tty = File::options()
        .read(true)
        .write(true)
        .open("/dev/tty")
        .context("opening /dev/tty to ask for the password")?;
    write!(tty, "{url} needs a password.\nPassword: ")
        .and_then(|()| tty.flush())
        .context("writing the password prompt to /dev/tty")?;
    let echo_off = Arc::new(EchoOff::new(tty).context("turning off echo on /dev/tty")?);
    let reader = {
        let echo_off = Arc::clone(&echo_off);
        tokio::task::spawn_blocking(move || {
            read_line(&mut BufReader::new(&echo_off.tty), MAX_PASSWORD)
        })
    };
    let line = tokio::select! {
        line = reader => line.context("the password prompt failed")?,
        () = signals.recv() => {
            echo_off.restore();
            eprintln!();
            return Err(Failure::new(Exit::Interrupted, "interrupted").into());
        }
    };
    echo_off.restore();
    match line.context("reading the password from /dev/tty")? {
        Some(Line::Text(password)) => Ok(Zeroizing::new(password)),
        Some(Line::TooLong(_)) => Err(Failure::new(
            Exit::Error,
            format!("that password is too long; passwords are at most {MAX_PASSWORD} bytes"),
        )
        .into()),
        Some(Line::NotUtf8) => {
            Err(Failure::new(Exit::Error, "that password is not UTF-8 text").into())
        }
        None => Err(Failure::new(Exit::BadPassword, "no password given").into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_trailing_newline_is_stripped() {
        assert_eq!(strip_newline(b"pw\n".to_vec().into()).as_slice(), b"pw");
        assert_eq!(strip_newline(b"pw\r\n".to_vec().into()).as_slice(), b"pw");
        assert_eq!(strip_newline(b"pw\n\n".to_vec().into()).as_slice(), b"pw\n");
        assert_eq!(strip_newline(b"pw".to_vec().into()).as_slice(), b"pw");
        assert_eq!(strip_newline(b" pw \n".to_vec().into()).as_slice(), b" pw ");
    }

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
