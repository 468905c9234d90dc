//! The failures of a join the server refused, or that the server failed:
//! a close before the `Challenge`, a busy server, an impostor, a sealed
//! `Reject`. Each names the problem and the fix, with its exit code;
//! whatever the server said is escaped before it is shown.

use chat_protocol::{Auth, KeyId, RejectCode, close};
use tokio_tungstenite::tungstenite::protocol::CloseFrame;

use super::lost;
use crate::escape::one_line;
use crate::exit::{Exit, Failure};

/// The failure for a close before the Challenge. Nothing is authenticated
/// yet: a 4001 reason is searched for a key id only, shown as unverified.
pub(super) fn closed_in_handshake(
    frame: Option<CloseFrame>,
    ours: KeyId,
    url: &str,
) -> anyhow::Error {
    let code = frame.as_ref().map(|f| u16::from(f.code));
    match code {
        Some(close::UNKNOWN_KEY) => {
            let theirs = frame
                .as_ref()
                .and_then(|f| key_id_in(&f.reason))
                .map_or_else(
                    || "it did not say which key it wants".to_owned(),
                    |id| format!("it says its current key is {id} (unverified: nothing is authenticated yet)"),
                );
            Failure::new(
                Exit::KeyMismatch,
                format!(
                    "the server at {url} does not accept this key (key id {ours}); {theirs}. Ask its admin for the current key (`chatctl key`)"
                ),
            )
            .into()
        }
        Some(close::PROTOCOL) => lost(format!(
            "the server at {url} refused our Hello (close code 1002); is it a chat v1 server?"
        )),
        Some(code) => lost(format!(
            "the server closed the connection during the handshake (close code {code})"
        )),
        None => lost("the server closed the connection during the handshake".into()),
    }
}

/// The first run of exactly 16 lowercase hex digits in `text`.
pub fn key_id_in(text: &str) -> Option<&str> {
    let is_hex = |b: u8| b.is_ascii_digit() || (b'a'..=b'f').contains(&b);
    let bytes = text.as_bytes();
    let mut start = 0;
    while start < bytes.len() {
        let len = bytes[start..].iter().take_while(|&&b| is_hex(b)).count();
        if len == 16 {
            return Some(&text[start..start + 16]);
        }
        start += len.max(1);
    }
    None
}

/// A server at its connection limit: it sheds load before the upgrade.
pub(super) fn busy(url: &str, how: &str) -> anyhow::Error {
    Failure::new(
        Exit::Unreachable,
        format!(
            "the server at {url} is busy ({how}: it is at its connection limit); retry shortly"
        ),
    )
    .into()
}

pub(super) fn impostor(detail: &str) -> anyhow::Error {
    Failure::new(
        Exit::Impostor,
        format!("server failed its identity check: {detail}; check --url and the key, and tell the server's admin"),
    )
    .into()
}

/// A join the server refused with a sealed `Reject`: the failure to report,
/// and the server's code (which [`super::JoinError`] keeps).
#[derive(Debug)]
pub(super) struct Rejected {
    /// The server's code.
    pub(super) code: RejectCode,
    /// The message and exit code.
    pub(super) failure: Failure,
}

impl std::fmt::Display for Rejected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.failure.fmt(f)
    }
}

impl std::error::Error for Rejected {}

/// What a sealed `Reject` says.
pub(super) struct Refusal<'a> {
    /// Its code.
    pub(super) code: RejectCode,
    /// The server's words (a ban's reason for `banned`).
    pub(super) reason: &'a str,
    /// For `throttled`: seconds to wait.
    pub(super) retry_after: Option<u64>,
    /// For `banned`: when the ban ends (Unix ms).
    pub(super) until: Option<u64>,
}

/// The failure for a sealed `Reject`; the server's words are escaped.
pub(super) fn rejected(refusal: &Refusal, auth: &Auth, url: &str) -> anyhow::Error {
    let Refusal {
        code,
        reason,
        retry_after,
        until,
    } = *refusal;
    let banned = crate::model::banned(reason, until, &crate::render::when);
    let reason = one_line(reason);
    let name = one_line(&auth.username);
    let refused = format!("the server at {url} refused to let {name} join");
    let (exit, message) = match code {
        RejectCode::BadPassword if auth.password.is_empty() => (
            Exit::BadPassword,
            format!(
                "{refused}: it needs a password (give it with --password-file FILE or CHAT_PASSWORD)"
            ),
        ),
        RejectCode::BadPassword => (
            Exit::BadPassword,
            format!(
                "{refused}: {reason} (give the right one with --password-file FILE or CHAT_PASSWORD)"
            ),
        ),
        RejectCode::NameTaken => (
            Exit::NameTaken,
            format!("{refused}: {reason} (--username NAME)"),
        ),
        RejectCode::NameInvalid => (
            Exit::NameInvalid,
            format!("{refused}: {reason} (--username NAME)"),
        ),
        RejectCode::ServerFull => (Exit::ServerFull, format!("{refused}: {reason}")),
        RejectCode::Busy => (
            Exit::Error,
            format!("{refused}: {reason} (the server limits how many passwords it checks at once)"),
        ),
        // The server's reason says why and how long to wait: said once.
        RejectCode::Throttled => (
            Exit::Throttled,
            match retry_after {
                Some(_) => {
                    format!("{refused}: {reason} (the right password is refused too until then)")
                }
                None => format!("{refused}: {reason}"),
            },
        ),
        RejectCode::NameRegistered => (
            Exit::NameTaken,
            format!(
                "{refused}: {reason} (the name belongs to someone else: it is registered to {}; use another --username NAME)",
                if auth.identity.is_some() {
                    "other identities than this one"
                } else {
                    "an identity, and chat joined without one"
                }
            ),
        ),
        RejectCode::BadIdentity => (
            Exit::Error,
            format!(
                "{refused}: {reason} (the server did not accept this client's identity proof; --no-identity joins without it)"
            ),
        ),
        RejectCode::Banned => (Exit::Banned, format!("{refused}: {banned}")),
        RejectCode::BadRequest | RejectCode::Other => (Exit::Error, format!("{refused}: {reason}")),
    };
    Rejected {
        code,
        failure: Failure::new(exit, message),
    }
    .into()
}

#[cfg(test)]
mod tests {
    use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

    use super::*;

    #[test]
    fn key_id_is_found_in_the_close_reason() {
        let reason = "unknown key id; the server's current key is 0123456789abcdef";
        assert_eq!(key_id_in(reason), Some("0123456789abcdef"));
        assert_eq!(key_id_in("key 0123456789abcdef."), Some("0123456789abcdef"));
        // Too long, too short, uppercase: not a key id.
        assert_eq!(key_id_in("0123456789abcdef0"), None);
        assert_eq!(key_id_in("0123456789abcde"), None);
        assert_eq!(key_id_in("0123456789ABCDEF"), None);
        assert_eq!(key_id_in("deadbeef 00112233445566778899"), None);
        assert_eq!(key_id_in("é0123456789abcdef"), Some("0123456789abcdef"));
        assert_eq!(key_id_in(""), None);
    }

    #[test]
    fn key_mismatch_names_both_keys_and_the_fix() {
        let ours = KeyId([0xab; 8]);
        let frame = CloseFrame {
            code: CloseCode::from(4001),
            reason: "unknown key id; the server's current key is 0011223344556677 \x1b[2J".into(),
        };
        let err = closed_in_handshake(Some(frame), ours, "ws://h:1/");
        let failure = err.downcast_ref::<Failure>().unwrap();
        assert_eq!(failure.exit, Exit::KeyMismatch);
        let text = &failure.message;
        assert!(text.contains("abababababababab"), "{text}");
        assert!(text.contains("0011223344556677 (unverified"), "{text}");
        assert!(text.contains("chatctl key"), "{text}");
        assert!(
            !text.contains('\x1b'),
            "the unauthenticated reason is not shown"
        );
    }

    /// The wait and its cause are said once, in the server's words.
    #[test]
    fn a_throttled_join_says_the_wait_once() {
        let auth = Auth {
            username: "ace".into(),
            password: String::from("pw").into(),
            client: String::new(),
            after: None,
            identity: None,
            proof: None,
        };
        let reason = "too many wrong passwords from this address; try again in 29 s";
        let refusal = Refusal {
            code: RejectCode::Throttled,
            reason,
            retry_after: Some(29),
            until: None,
        };
        let err = rejected(&refusal, &auth, "ws://h:1/");
        let failure = &err.downcast_ref::<Rejected>().unwrap().failure;
        assert_eq!(failure.exit, Exit::Throttled);
        let text = &failure.message;
        assert_eq!(text.matches("29 s").count(), 1, "{text}");
        assert_eq!(
            text.matches("too many wrong passwords").count(),
            1,
            "{text}"
        );
        assert!(text.contains("the right password is refused too"), "{text}");
    }

    #[test]
    fn rejects_map_to_exit_codes() {
        let cases = [
            (RejectCode::BadPassword, Exit::BadPassword),
            (RejectCode::NameTaken, Exit::NameTaken),
            (RejectCode::NameInvalid, Exit::NameInvalid),
            (RejectCode::ServerFull, Exit::ServerFull),
            (RejectCode::BadRequest, Exit::Error),
            (RejectCode::Other, Exit::Error),
            (RejectCode::Throttled, Exit::Throttled),
            (RejectCode::NameRegistered, Exit::NameTaken),
            (RejectCode::BadIdentity, Exit::Error),
        ];
        let auth = Auth {
            username: "ace".into(),
            password: String::from("pw").into(),
            client: String::new(),
            after: None,
            identity: None,
            proof: None,
        };
        for (code, exit) in cases {
            let refusal = Refusal {
                code,
                reason: "why\x07",
                retry_after: Some(30),
                until: None,
            };
            let err = rejected(&refusal, &auth, "ws://h:1/");
            let rejected = err.downcast_ref::<Rejected>().unwrap();
            assert_eq!(rejected.code, code);
            let failure = &rejected.failure;
            assert_eq!(failure.exit, exit);
            assert!(
                failure
                    .message
                    .starts_with("the server at ws://h:1/ refused to let ace join: why\\x07"),
                "{}",
                failure.message
            );
        }
        let nothing = Auth {
            password: String::new().into(),
            ..auth
        };
        let refusal = Refusal {
            code: RejectCode::BadPassword,
            reason: "wrong password",
            retry_after: None,
            until: None,
        };
        let err = rejected(&refusal, &nothing, "ws://h:1/");
        let failure = &err.downcast_ref::<Rejected>().unwrap().failure;
        assert_eq!(failure.exit, Exit::BadPassword);
        assert!(
            failure.message.contains("it needs a password"),
            "{}",
            failure.message
        );
    }

    /// A ban's refusal says until when (in local time) and why, exit 17.
    #[test]
    fn a_ban_says_why_and_until_when() {
        let auth = Auth {
            username: "ace".into(),
            password: String::new().into(),
            client: String::new(),
            after: None,
            identity: None,
            proof: None,
        };
        let until = 1_900_000_000_000;
        let cases = [
            (
                "spam\x07",
                Some(until),
                format!("banned until {}: spam\\x07", crate::render::when(until)),
            ),
            ("", None, "banned for good".to_owned()),
        ];
        for (reason, until, said) in cases {
            let refusal = Refusal {
                code: RejectCode::Banned,
                reason,
                retry_after: None,
                until,
            };
            let err = rejected(&refusal, &auth, "ws://h:1/");
            let failure = &err.downcast_ref::<Rejected>().unwrap().failure;
            assert_eq!(failure.exit, Exit::Banned);
            assert_eq!(
                failure.message,
                format!("the server at ws://h:1/ refused to let ace join: {said}")
            );
        }
    }
}
