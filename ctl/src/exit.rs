//! Exit codes, a contract with users' scripts (DESIGN.md, "Names that are
//! contracts"), and the error type that carries one out to `main`.
//!
//! Code below `main` returns `anyhow::Error`; a failure with a code of its
//! own wraps a [`Failure`], which `main` finds again with `downcast_ref`.
//! Anything else (a local I/O error, an answer that does not parse) exits
//! [`Exit::Refused`], the catch-all.

/// How `chatctl` ends. The numbers never change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// Done.
    Ok = 0,
    /// The daemon refused the call (or another error).
    Refused = 1,
    /// Bad command line (clap's own code).
    Usage = 2,
    /// No daemon answered on any socket tried (`EX_UNAVAILABLE`).
    Unreachable = 69,
    /// The socket or the daemon refused this user, or chatctl refused a
    /// socket it cannot trust (`EX_NOPERM`).
    PermissionDenied = 77,
}

impl Exit {
    /// The process exit status.
    pub fn code(self) -> i32 {
        self as i32
    }
}

/// An error with its own exit code. Its message names the problem and the
/// fix; it never holds a password.
pub type Failure = chat_term::Failure<Exit>;

impl chat_term::ExitCode for Exit {
    const OTHER: Self = Exit::Refused;

    fn code(self) -> i32 {
        self as i32
    }
}

/// The daemon's own error code and message, as it sent them, under the
/// [`Failure`] that says it for people (for `--json`).
#[derive(Debug, thiserror::Error)]
#[error("{code}: {message}")]
pub struct DaemonSaid {
    /// The stable code (`no_such_user`, …).
    pub code: String,
    /// The daemon's message.
    pub message: String,
}

impl Exit {
    /// The `code` of a `--json` error that the daemon did not name.
    pub fn json_code(self) -> &'static str {
        match self {
            Exit::Ok => "ok",
            Exit::Refused => "error",
            Exit::Usage => "usage",
            Exit::Unreachable => "unreachable",
            Exit::PermissionDenied => "forbidden",
        }
    }
}

/// An error as `--json` prints it on stdout, in the daemon's own shape:
/// `{"error":{"code":…,"message":…}}`.
pub fn json_error(code: &str, message: &str) -> String {
    serde_json::json!({ "error": { "code": code, "message": message } }).to_string()
}

/// The exit code for any error: a [`Failure`]'s own, else [`Exit::Refused`].
pub fn exit_of(err: &anyhow::Error) -> Exit {
    chat_term::exit_of(err)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::EXIT_CODES_HELP;

    #[test]
    fn codes_are_the_contract() {
        let pairs = [
            (Exit::Ok, 0),
            (Exit::Refused, 1),
            (Exit::Usage, 2),
            (Exit::Unreachable, 69),
            (Exit::PermissionDenied, 77),
        ];
        for (exit, code) in pairs {
            assert_eq!(exit.code(), code);
            assert!(
                EXIT_CODES_HELP.contains(&format!("\n{code:>4}  ")),
                "{code} is documented"
            );
        }
    }
}
