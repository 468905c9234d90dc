//! Where `chatctl passwd` gets the new join password: asked twice on
//! `/dev/tty` with echo off, or one line of stdin with `--stdin`.
//!
//! Never from the command line, where `ps` and shell history would show
//! it. No message here, nor anywhere in chatctl, contains the password.

use std::io;

use anyhow::Context as _;
use chat_protocol::password::{NotAPassword, from_bytes};
use chat_protocol::sizes::MAX_PASSWORD;
use chat_term::prompt::{self, PromptError, Prompted, read_line};
use zeroize::Zeroizing;

use crate::exit::{Exit, Failure};

/// The password in `line` (one line as read, `None` at end of input), if
/// it is 1 byte to 1 KiB of UTF-8 once its line ending is stripped.
fn check(line: Option<Zeroizing<Vec<u8>>>, source: &str) -> Result<Zeroizing<String>, Failure> {
    let refused = |message: String| Failure::new(Exit::Refused, message);
    let Some(bytes) = line else {
        return Err(refused(format!("no password on {source}; nothing changed")));
    };
    let password = from_bytes(bytes).map_err(|problem| match problem {
        NotAPassword::TooLong(_) => refused(format!(
            "the password from {source} is too long; passwords are at most {MAX_PASSWORD} bytes"
        )),
        NotAPassword::NotUtf8 => refused(format!("the password from {source} is not UTF-8 text")),
    })?;
    if password.is_empty() {
        return Err(refused(format!(
            "the password from {source} is empty; to remove the admin password use `chatctl passwd --clear`"
        )));
    }
    Ok(password)
}

/// The first line of stdin (one trailing newline stripped).
pub fn from_stdin() -> anyhow::Result<Zeroizing<String>> {
    let line = read_line(&mut io::stdin().lock()).context("reading the password from stdin")?;
    Ok(check(line, "stdin")?)
}

/// Asks twice on `/dev/tty` with echo off. Ctrl-C or SIGTERM restores the
/// terminal, then ends the process by that signal, as if uncaught.
pub async fn from_terminal() -> anyhow::Result<Zeroizing<String>> {
    let mut interrupt = signal(tokio::signal::unix::SignalKind::interrupt())?;
    let mut terminate = signal(tokio::signal::unix::SignalKind::terminate())?;
    let interrupted = async {
        tokio::select! {
            _ = interrupt.recv() => libc::SIGINT,
            _ = terminate.recv() => libc::SIGTERM,
        }
    };
    // The second prompt only after a first answer that is a password.
    let go_on = |line: &[u8]| check(Some(Zeroizing::new(line.to_vec())), "").is_ok();
    let prompts = vec!["New join password: ".to_string(), "Again: ".to_string()];
    let answers = match prompt::ask(prompts, go_on, interrupted).await {
        Ok(Prompted::Answers(answers)) => answers,
        Ok(Prompted::Interrupted(sig)) => die_by(sig),
        Err(PromptError::NoTerminal(err)) => {
            return Err(Failure::new(
                Exit::Usage,
                format!("no terminal to ask for the password on ({err}); pipe it in with `chatctl passwd --stdin`"),
            )
            .into());
        }
        Err(e) => return Err(e.into()),
    };
    let mut answers = answers.into_iter();
    let password = check(answers.next().flatten(), "the terminal")?;
    match answers.next().map(|line| check(line, "the terminal")) {
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

/// Ends the process by `sig` with its default action (the terminal is
/// restored already), so the shell sees what it expects of an interrupted
/// command.
fn die_by(sig: libc::c_int) -> ! {
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

    fn line(bytes: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
        Some(Zeroizing::new(bytes.to_vec()))
    }

    #[test]
    fn bad_passwords_are_refused_without_being_shown() {
        assert_eq!(*check(line(b"hunter2\n"), "stdin").unwrap(), "hunter2");
        let mut max = vec![b'a'; MAX_PASSWORD];
        max.extend_from_slice(b"\r\n");
        assert_eq!(check(line(&max), "stdin").unwrap().len(), MAX_PASSWORD);
        for (bad, says) in [
            (line(b"\n"), "empty"),
            (None, "no password"),
            (line(&[b'a'; MAX_PASSWORD + 1]), "at most 1024"),
            (line(b"hunter\xff"), "not UTF-8"),
        ] {
            let err = check(bad, "stdin").unwrap_err();
            assert_eq!(err.exit, Exit::Refused);
            assert!(err.message.contains(says), "{}", err.message);
            assert!(!err.message.contains("hunter"), "{}", err.message);
        }
    }
}
