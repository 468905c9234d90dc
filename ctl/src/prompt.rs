//! Where `chatctl passwd` gets the new join password: asked twice on
//! `/dev/tty` with echo off, or one line of stdin with `--stdin`.
//!
//! Never from the command line, where `ps` and shell history would show
//! it. No message here, nor anywhere in chatctl, contains the password.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Write as _};
use std::sync::Arc;

use anyhow::Context as _;
use chat_protocol::limits::MAX_PASSWORD;

use zeroize::Zeroizing;

use crate::exit::{Exit, Failure};
use chat_term::EchoOff;

/// One line as read, capped in memory.
#[derive(Debug, PartialEq, Eq)]
enum Line {
    /// The bytes before the line ending (`\n`, or `\r\n`); wiped when
    /// dropped.
    Bytes(Zeroizing<Vec<u8>>),
    /// Longer than [`MAX_PASSWORD`]; the rest was not read.
    TooLong,
    /// End of input before any byte.
    End,
}

/// Reads one line, keeping at most `MAX_PASSWORD` bytes of it.
fn read_line(reader: &mut impl BufRead) -> io::Result<Line> {
    let mut bytes = Zeroizing::new(Vec::new());
    // One byte over the limit tells a too-long line from one that fits;
    // two more leave room for "\r\n".
    let read = Read::take(&mut *reader, MAX_PASSWORD as u64 + 3).read_until(b'\n', &mut bytes)?;
    if read == 0 {
        return Ok(Line::End);
    }
    if bytes.last() == Some(&b'\n') {
        bytes.pop();
        if bytes.last() == Some(&b'\r') {
            bytes.pop();
        }
    }
    if bytes.len() > MAX_PASSWORD {
        return Ok(Line::TooLong);
    }
    Ok(Line::Bytes(bytes))
}

/// The password in `line`, if it is 1 byte to 1 KiB of UTF-8.
fn check(line: Line, source: &str) -> Result<Zeroizing<String>, Failure> {
    let bytes = match line {
        Line::Bytes(bytes) => bytes,
        Line::TooLong => {
            return Err(Failure::new(
                Exit::Refused,
                format!(
                    "the password from {source} is too long; passwords are at most {MAX_PASSWORD} bytes"
                ),
            ));
        }
        Line::End => {
            return Err(Failure::new(
                Exit::Refused,
                format!("no password on {source}; nothing changed"),
            ));
        }
    };
    if bytes.is_empty() {
        return Err(Failure::new(
            Exit::Refused,
            format!(
                "the password from {source} is empty; to remove the admin password use `chatctl passwd --clear`"
            ),
        ));
    }
    match std::str::from_utf8(&bytes) {
        Ok(text) => Ok(Zeroizing::new(text.to_owned())),
        Err(_) => Err(Failure::new(
            Exit::Refused,
            format!("the password from {source} is not UTF-8 text"),
        )),
    }
}

/// The first line of stdin (one trailing newline stripped).
pub fn from_stdin() -> anyhow::Result<Zeroizing<String>> {
    let line = read_line(&mut io::stdin().lock()).context("reading the password from stdin")?;
    Ok(check(line, "stdin")?)
}

/// Asks twice on `/dev/tty` with echo off. Ctrl-C or SIGTERM restores the
/// terminal, then ends the process by that signal, as if uncaught.
pub async fn from_terminal() -> anyhow::Result<Zeroizing<String>> {
    let tty = File::options()
        .read(true)
        .write(true)
        .open("/dev/tty")
        .map_err(|err| {
            Failure::new(
                Exit::Usage,
                format!("no terminal to ask for the password on ({err}); pipe it in with `chatctl passwd --stdin`"),
            )
        })?;
    // Echo off before the prompt shows, as getpass(3) does: nothing typed
    // after the prompt appears is ever echoed (nor flushed away).
    let echo_off = Arc::new(EchoOff::new(tty).context("turning off echo on /dev/tty")?);
    (&echo_off.tty)
        .write_all(b"New join password: ")
        .and_then(|()| (&echo_off.tty).flush())
        .context("writing the password prompt to /dev/tty")?;
    let reader = {
        let echo_off = Arc::clone(&echo_off);
        tokio::task::spawn_blocking(move || -> io::Result<(Line, Option<Line>)> {
            let mut tty = BufReader::new(&echo_off.tty);
            let first = read_line(&mut tty)?;
            if !matches!(first, Line::Bytes(ref b) if !b.is_empty()) {
                return Ok((first, None));
            }
            (&echo_off.tty).write_all(b"Again: ")?;
            (&echo_off.tty).flush()?;
            let second = read_line(&mut tty)?;
            Ok((first, Some(second)))
        })
    };
    let mut interrupt = signal(tokio::signal::unix::SignalKind::interrupt())?;
    let mut terminate = signal(tokio::signal::unix::SignalKind::terminate())?;
    let read = tokio::select! {
        read = reader => read.context("the password prompt failed")?,
        _ = interrupt.recv() => die_by(&echo_off, libc::SIGINT),
        _ = terminate.recv() => die_by(&echo_off, libc::SIGTERM),
    };
    echo_off.restore();
    let (first, second) = read.context("reading the password from /dev/tty")?;
    let password = check(first, "the terminal")?;
    match second.map(|line| check(line, "the terminal")) {
        Some(Ok(again)) if again == password => Ok(password),
        Some(Ok(_)) => {
            Err(Failure::new(Exit::Refused, "the two passwords differ; nothing changed").into())
        }
        Some(Err(err)) => Err(err.into()),
        None => Err(Failure::new(Exit::Refused, "the password prompt ended early").into()),
    }
}

fn signal(kind: tokio::signal::unix::SignalKind) -> anyhow::Result<tokio::signal::unix::Signal> {
    tokio::signal::unix::signal(kind).context("watching for Ctrl-C during the password prompt")
}

/// Restores the terminal, then ends the process by `sig` with its default
/// action, so the shell sees what it expects of an interrupted command.
fn die_by(echo_off: &EchoOff, sig: libc::c_int) -> ! {
    echo_off.restore();
    eprintln!();
    // SAFETY: resetting a disposition and raising a signal have no memory
    // preconditions; the default action of SIGINT/SIGTERM ends the process.
    unsafe {
        libc::signal(sig, libc::SIG_DFL);
        libc::raise(sig);
    }
    std::process::exit(128 + sig);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(input: &[u8]) -> Line {
        read_line(&mut &input[..]).unwrap()
    }

    #[test]
    fn one_trailing_newline_is_stripped_and_the_rest_left_unread() {
        assert_eq!(line(b"pw\n"), Line::Bytes(b"pw".to_vec().into()));
        assert_eq!(line(b"pw\r\n"), Line::Bytes(b"pw".to_vec().into()));
        assert_eq!(line(b"pw"), Line::Bytes(b"pw".to_vec().into()));
        assert_eq!(
            line(b" pw \nsecond\n"),
            Line::Bytes(b" pw ".to_vec().into())
        );
        assert_eq!(line(b"\n"), Line::Bytes(Vec::new().into()));
        assert_eq!(line(b""), Line::End);
    }

    #[test]
    fn the_size_limit_is_one_kib() {
        let mut max = vec![b'a'; MAX_PASSWORD];
        max.extend_from_slice(b"\r\n");
        assert_eq!(line(&max), Line::Bytes(vec![b'a'; MAX_PASSWORD].into()));
        assert_eq!(line(&vec![b'a'; MAX_PASSWORD + 1]), Line::TooLong);
        assert_eq!(line(&vec![b'a'; 10 * MAX_PASSWORD]), Line::TooLong);
    }

    #[test]
    fn bad_passwords_are_refused_without_being_shown() {
        assert_eq!(
            *check(Line::Bytes(b"hunter2".to_vec().into()), "stdin").unwrap(),
            "hunter2"
        );
        for (bad, says) in [
            (Line::Bytes(Vec::new().into()), "empty"),
            (Line::End, "no password"),
            (Line::TooLong, "at most 1024"),
            (Line::Bytes(b"hunter\xff".to_vec().into()), "not UTF-8"),
        ] {
            let err = check(bad, "stdin").unwrap_err();
            assert_eq!(err.exit, Exit::Refused);
            assert!(err.message.contains(says), "{}", err.message);
            assert!(!err.message.contains("hunter"), "{}", err.message);
        }
    }
}
