//! What the two command-line programs, `chat` and `chatctl`, share at the
//! terminal: the password prompt on `/dev/tty` ([`prompt`], with echo
//! off: [`EchoOff`]), lines read with bounded memory ([`line`]), and the plumbing from an error to an exit code
//! ([`Failure`], [`exit_of`]). Each program keeps its own table of exit codes (they are
//! contracts, see DESIGN.md). The terminal escaper both use is
//! `chat_protocol::escape`, and the clock `chat_protocol::clock`.

pub mod line;
pub mod prompt;

use std::fmt;
use std::fs::File;
use std::os::fd::AsRawFd as _;

/// A program's exit codes.
pub trait ExitCode: Copy + fmt::Debug + PartialEq + Send + Sync + 'static {
    /// The code of an error that carries none of its own.
    const OTHER: Self;

    /// The process exit code.
    fn code(self) -> i32;
}

/// An error with its own exit code. Its message names the problem and the
/// fix; it never holds a password.
#[derive(Debug)]
pub struct Failure<E> {
    /// How the process ends.
    pub exit: E,
    /// What to tell the user.
    pub message: String,
}

impl<E> Failure<E> {
    /// A failure that ends the process with `exit`.
    pub fn new(exit: E, message: impl Into<String>) -> Self {
        Self {
            exit,
            message: message.into(),
        }
    }
}

impl<E> fmt::Display for Failure<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl<E: fmt::Debug> std::error::Error for Failure<E> {}

/// The exit code for any error: a [`Failure`]'s own (wherever it is in the
/// chain of contexts), else [`ExitCode::OTHER`].
pub fn exit_of<E: ExitCode>(err: &anyhow::Error) -> E {
    err.downcast_ref::<Failure<E>>()
        .map_or(E::OTHER, |f| f.exit)
}

/// A terminal with echo turned off; echo comes back on
/// [`EchoOff::restore`] or when it is dropped. The newline still shows, so
/// the cursor moves on after the (unseen) password.
pub struct EchoOff {
    /// The terminal, to read the password from.
    pub tty: File,
    saved: libc::termios,
}

impl EchoOff {
    /// Turns echo off on `tty`.
    pub fn new(tty: File) -> std::io::Result<Self> {
        let fd = tty.as_raw_fd();
        // SAFETY: `termios` is plain data; `tcgetattr` fills it for an open
        // descriptor, and `tcsetattr` only reads it.
        unsafe {
            let mut saved: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(fd, &mut saved) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            let mut quiet = saved;
            quiet.c_lflag &= !libc::ECHO;
            quiet.c_lflag |= libc::ECHONL;
            if libc::tcsetattr(fd, libc::TCSAFLUSH, &quiet) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(Self { tty, saved })
        }
    }

    /// Turns echo back on; doing it twice is harmless.
    pub fn restore(&self) {
        // SAFETY: as in `new`.
        unsafe {
            libc::tcsetattr(self.tty.as_raw_fd(), libc::TCSANOW, &self.saved);
        }
    }
}

impl Drop for EchoOff {
    fn drop(&mut self) {
        self.restore();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Copy, Debug, PartialEq)]
    enum Code {
        Other,
        Special,
    }

    impl ExitCode for Code {
        const OTHER: Self = Code::Other;
        fn code(self) -> i32 {
            match self {
                Code::Other => 1,
                Code::Special => 42,
            }
        }
    }

    #[test]
    fn failures_keep_their_code_through_anyhow_and_context() {
        let err = anyhow::Error::new(Failure::new(Code::Special, "no"));
        assert_eq!(exit_of::<Code>(&err), Code::Special);
        assert_eq!(exit_of::<Code>(&anyhow::anyhow!("other")), Code::Other);
        let wrapped = anyhow::Error::new(Failure::new(Code::Special, "gone")).context("calling");
        assert_eq!(exit_of::<Code>(&wrapped), Code::Special);
        let as_context = anyhow::anyhow!("inner").context(Failure::new(Code::Special, "outer"));
        assert_eq!(exit_of::<Code>(&as_context), Code::Special);
        assert_eq!(exit_of::<Code>(&as_context).code(), 42);
    }
}
