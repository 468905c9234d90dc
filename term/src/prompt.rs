//! Asking for a password on the terminal: on `/dev/tty` (so it works with
//! stdin piped), echo off from before the first prompt shows until the
//! answers are read, and back on however the prompt ends (answered,
//! interrupted, failed). What an answer's bytes mean as a password is
//! `chat_protocol::password::from_bytes`.

use std::fmt;
use std::fs::File;
use std::future::Future;
use std::io::{self, BufRead, BufReader, Write as _};
use std::sync::Arc;

use chat_protocol::password::MAX_PASSWORD_READ;
use zeroize::Zeroizing;

use crate::EchoOff;

/// Why a prompt could not ask, or read the answer.
#[derive(Debug)]
pub enum PromptError {
    /// There is no terminal to ask on (`/dev/tty` does not open).
    NoTerminal(io::Error),
    /// Echo could not be turned off: nothing was asked.
    EchoOff(io::Error),
    /// Writing a prompt or reading an answer failed.
    Io(io::Error),
}

impl fmt::Display for PromptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoTerminal(e) => write!(f, "opening /dev/tty to ask for the password: {e}"),
            Self::EchoOff(e) => write!(f, "turning off echo on /dev/tty: {e}"),
            Self::Io(e) => write!(f, "reading the password from /dev/tty: {e}"),
        }
    }
}

impl std::error::Error for PromptError {}

/// What a prompt got.
pub enum Prompted<T> {
    /// One answer a prompt asked, in order: the bytes of its line (line
    /// ending included), or `None` where input ended first.
    Answers(Vec<Option<Zeroizing<Vec<u8>>>>),
    /// `interrupted` came first, with its value: echo is back on, and a
    /// newline went to stderr so the shell's prompt starts on a line of
    /// its own.
    Interrupted(T),
}

/// Asks each of `prompts` in turn on `/dev/tty`, one line each, echo off;
/// after an answer for which `go_on` says no, asks no more. Ends early,
/// echo restored, if `interrupted` resolves first (Ctrl-C, SIGTERM).
pub async fn ask<T>(
    prompts: Vec<String>,
    go_on: impl Fn(&[u8]) -> bool + Send + 'static,
    interrupted: impl Future<Output = T>,
) -> Result<Prompted<T>, PromptError> {
    let tty = File::options()
        .read(true)
        .write(true)
        .open("/dev/tty")
        .map_err(PromptError::NoTerminal)?;
    // Echo off before the prompt shows, as getpass(3) does: nothing typed
    // after the prompt appears is ever echoed (nor flushed away).
    let echo_off = Arc::new(EchoOff::new(tty).map_err(PromptError::EchoOff)?);
    let reader = {
        let echo_off = Arc::clone(&echo_off);
        tokio::task::spawn_blocking(move || -> io::Result<Vec<Option<Zeroizing<Vec<u8>>>>> {
            let mut tty = BufReader::new(&echo_off.tty);
            let mut answers = Vec::new();
            for prompt in &prompts {
                (&echo_off.tty).write_all(prompt.as_bytes())?;
                (&echo_off.tty).flush()?;
                let answer = read_line(&mut tty)?;
                let more = answer.as_deref().is_some_and(|line| go_on(line));
                answers.push(answer);
                if !more {
                    break;
                }
            }
            Ok(answers)
        })
    };
    let read = tokio::select! {
        read = reader => read,
        value = interrupted => {
            echo_off.restore();
            eprintln!();
            return Ok(Prompted::Interrupted(value));
        }
    };
    echo_off.restore();
    let answers = read
        .map_err(|e| PromptError::Io(io::Error::other(e)))?
        .map_err(PromptError::Io)?;
    Ok(Prompted::Answers(answers))
}

/// Reads one line through its `\n`, keeping at most a password's worth of
/// it (`MAX_PASSWORD_READ` bytes, its line ending included: enough to
/// tell one that is too long) and wiping what it keeps when dropped;
/// `None` at end of input before any byte. The rest of a longer line is
/// read and dropped, never kept.
pub fn read_line(reader: &mut impl BufRead) -> io::Result<Option<Zeroizing<Vec<u8>>>> {
    let cap = usize::try_from(MAX_PASSWORD_READ).unwrap_or(usize::MAX);
    // Room for the `\n` too: the buffer never grows, so no copy of the
    // secret is left behind in memory that is not wiped.
    let mut kept = Zeroizing::new(Vec::with_capacity(cap + 1));
    let Some(line) = crate::line::read_capped(reader, cap, &mut kept)? else {
        return Ok(None);
    };
    if line.ended && line.len == kept.len() {
        kept.push(b'\n');
    }
    Ok(Some(kept))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chat_protocol::sizes::MAX_PASSWORD;

    fn line(input: &[u8]) -> Option<Vec<u8>> {
        read_line(&mut &input[..]).unwrap().map(|l| l.to_vec())
    }

    #[test]
    fn one_line_is_read_with_its_ending_and_the_rest_left_unread() {
        let mut input = &b" pw \r\nsecond\n"[..];
        assert_eq!(
            read_line(&mut input).unwrap().unwrap().as_slice(),
            b" pw \r\n"
        );
        assert_eq!(input, b"second\n");
        assert_eq!(line(b"pw"), Some(b"pw".to_vec()));
        assert_eq!(line(b"\n"), Some(b"\n".to_vec()));
        assert_eq!(line(b""), None);
    }

    #[test]
    fn a_long_line_is_read_to_its_end_and_kept_only_in_part() {
        let mut long = vec![b'a'; 10 * MAX_PASSWORD];
        long.extend_from_slice(b"\nnext");
        let mut input = &long[..];
        let kept = read_line(&mut input).unwrap().unwrap();
        assert_eq!(kept.len() as u64, MAX_PASSWORD_READ);
        assert_eq!(input, b"next");
        assert!(chat_protocol::password::from_bytes(kept).is_err());
    }
}
