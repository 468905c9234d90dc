//! Exit codes, a contract with users' scripts (DESIGN.md, "Names that are
//! contracts"), and the error type that carries one out to `main`.
//!
//! Code deep in the client returns `anyhow::Error`; where a failure has a
//! code of its own it wraps a [`Failure`], which `main` finds again with
//! `downcast_ref`. Anything else exits [`Exit::Error`].

/// How `chat` ends. The numbers never change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// Left cleanly (end of input, `/quit`, Ctrl-C).
    Ok = 0,
    /// Any other error.
    Error = 1,
    /// Bad command line (clap's own code).
    Usage = 2,
    /// At least one line was refused, by the server or locally; or the
    /// full screen was left with lines not sent or a draft.
    Refused = 3,
    /// The server ended the session (kick, shutdown, key rotation); the reason was shown.
    Disconnected = 4,
    /// The connection broke without a sealed goodbye.
    ConnectionLost = 5,
    /// The server does not accept this key.
    KeyMismatch = 10,
    /// The server could not prove it holds the key's server identity.
    Impostor = 11,
    /// Wrong or missing password.
    BadPassword = 12,
    /// Someone online already has the name, or it is registered to
    /// someone else's identity.
    NameTaken = 13,
    /// The name is not 1–32 of `A-Z a-z 0-9 _ . -`.
    NameInvalid = 14,
    /// The server has as many users as it allows.
    ServerFull = 15,
    /// Too many failed joins from this address; the wait is shown.
    Throttled = 16,
    /// Banned by an operator (a `Reject` or `Bye` with the code `banned`);
    /// the reason, which says until when, is shown.
    Banned = 17,
    /// Nothing answered at the URL (refused, DNS, timeout).
    Unreachable = 69,
    /// Ctrl-C or SIGTERM before the join completed (128 + SIGINT).
    Interrupted = 130,
}

impl Exit {
    /// The process exit status.
    pub fn code(self) -> i32 {
        self as i32
    }
}

/// The `--help` text that documents every exit code.
pub const EXIT_CODES_HELP: &str = "\
Exit codes:
   0  left cleanly (end of input, /quit, Ctrl-C or SIGTERM)
   1  other error (among them: the server refused this client's identity
      proof, or the identity file is refused or damaged)
   2  usage error
   3  a line was refused (by the server, or locally: too long, unknown
      /command), or not confirmed by the server within 10 s of the end of input;
      full screen: left with lines not sent or a draft typed
   4  disconnected by the server (kick, shutdown, key rotation); the reason is
      shown (full screen: the screen stays until you leave with q or Ctrl-C)
   5  connection lost (closed or broken without a sealed goodbye)
  10  key mismatch: the server does not accept this key
  11  the server failed its identity check (not the server this key belongs to)
  12  bad password
  13  name taken, or registered to someone else's identity (the name
      belongs to someone else)
  14  name invalid (1-32 of A-Z a-z 0-9 _ . -)
  15  server full
  16  throttled: too many wrong passwords from this address; the wait is shown
  17  banned (the reason and the end are shown)
  69  server unreachable (connection refused, DNS failure, timeout)
 130  interrupted (Ctrl-C or SIGTERM) before joining";

/// An error with its own exit code. Its message is one line that names the
/// problem and the fix; it never holds the key or the password.
pub type Failure = chat_term::Failure<Exit>;

impl chat_term::ExitCode for Exit {
    const OTHER: Self = Exit::Error;

    fn code(self) -> i32 {
        self as i32
    }
}

/// The exit code for any error: a [`Failure`]'s own, else [`Exit::Error`].
pub fn exit_of(err: &anyhow::Error) -> Exit {
    chat_term::exit_of(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_the_contract() {
        let pairs = [
            (Exit::Ok, 0),
            (Exit::Error, 1),
            (Exit::Usage, 2),
            (Exit::Refused, 3),
            (Exit::Disconnected, 4),
            (Exit::ConnectionLost, 5),
            (Exit::KeyMismatch, 10),
            (Exit::Impostor, 11),
            (Exit::BadPassword, 12),
            (Exit::NameTaken, 13),
            (Exit::NameInvalid, 14),
            (Exit::ServerFull, 15),
            (Exit::Throttled, 16),
            (Exit::Banned, 17),
            (Exit::Unreachable, 69),
            (Exit::Interrupted, 130),
        ];
        for (exit, code) in pairs {
            assert_eq!(exit.code(), code);
            assert!(
                EXIT_CODES_HELP.contains(&format!("{code:>4}  ")),
                "{code} is documented"
            );
        }
    }
}
