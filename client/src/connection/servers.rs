//! Several servers of one room: [`join_any`] tries each URL in turn, in the
//! order given, and joins the first that lets it in.
//!
//! A server that cannot be reached, is full, or drops the link is passed
//! over for the next; a refusal that another server of the same room would
//! repeat (the key, the password, the name) ends the attempt at once.

use chat_protocol::{Auth, Identity, Token, Welcome};

use super::{Connection, JoinError, join};
use crate::exit::Failure;

/// A join that succeeded: the connection, its `Welcome`, the URL joined.
pub type Joined = (Connection, Welcome, String);

/// Joins the first of `urls` that lets us in (proving `identity`, if
/// any): the connection, its `Welcome` and the URL joined. With every
/// server passed over, the error names each one's failure.
pub async fn join_any(
    urls: &[String],
    token: &Token,
    auth: &Auth,
    identity: Option<&Identity>,
) -> Result<Joined, JoinError> {
    let mut failures: Vec<JoinError> = Vec::new();
    for url in urls {
        match join(url, token, auth, identity).await {
            Ok((conn, welcome)) => return Ok((conn, welcome, url.clone())),
            Err(err) if err.retry_helps() => failures.push(err),
            Err(err) => return Err(err),
        }
    }
    let Some(last) = failures.pop() else {
        return Err(JoinError {
            failure: Failure::new(crate::exit::Exit::Usage, "no server URL was given"),
            retry: super::Retry::Useless,
            rejected: None,
        });
    };
    if failures.is_empty() {
        return Err(last);
    }
    let mut message = String::from("no server let us in: ");
    for err in &failures {
        message.push_str(&err.failure.message);
        message.push_str("; ");
    }
    message.push_str(&last.failure.message);
    Err(JoinError {
        failure: Failure::new(last.failure.exit, message),
        retry: last.retry,
        rejected: last.rejected,
    })
}
