//! What this client itself tells the user about its session: why the
//! server ended it, an identity alert, one of our events refused.

use chat_protocol::{ByeCode, ErrorCode};

use super::{Entry, Kind, When, Wording, moderation};

/// Why the server ended the session: `disconnected by the server:
/// kicked: REASON`, `…: shutdown`, `…: banned until 14:05: REASON`, ….
pub fn disconnected(code: ByeCode, reason: &str, until: Option<u64>, when: When) -> Entry {
    let text = Wording::default().say("disconnected by the server: ");
    if code == ByeCode::Banned {
        return moderation::banned_words(text, reason, until, when).notice(None);
    }
    let code = serde_json::to_value(code)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| "other".into());
    let text = text.say(&code);
    if reason.is_empty() {
        text.notice(None)
    } else {
        text.say(": ").field(reason).notice(None)
    }
}

/// What an identity alert says ([`crate::identity::Alert`]).
pub fn alert(alert: &crate::identity::Alert) -> Entry {
    use crate::identity::Alert;
    use crate::identity::roster::fingerprints;
    let text = match alert {
        Alert::NewKey { name, key, before } => Wording::default()
            .say("WARNING: ")
            .field(name)
            .say(&format!(
                " has identity {}, which this client has never seen for that name on this server (it knew {}). It may be the same person on another device, or someone else using the name: check with them another way before you trust it (/whois ",
                key.fingerprint(),
                fingerprints(before)
            ))
            .field(name)
            .say(")"),
        Alert::NoKey { name, before } => Wording::default()
            .say("WARNING: ")
            .field(name)
            .say(&format!(
                " has no identity now, but had one here before ({}): it may be someone else using the name (/whois ",
                fingerprints(before)
            ))
            .field(name)
            .say(")"),
        Alert::Unsaved(why) => Wording::default().say(&format!(
            "the names and identities seen are not remembered: {why}"
        )),
    };
    let kind = match alert {
        Alert::Unsaved(_) => Kind::Notice,
        _ => Kind::Warning,
    };
    text.entry(None, kind)
}

/// One of our events was refused: `refused: MESSAGE`; for a mute, until
/// when (`refused: you are muted until 14:05 (MESSAGE)`).
pub fn error(code: ErrorCode, message: &str, until: Option<u64>, when: When) -> Entry {
    match code {
        ErrorCode::Muted => moderation::muted(message, until, when),
        _ => refused(message),
    }
}

/// One of our events was refused: `refused: MESSAGE`.
pub fn refused(message: &str) -> Entry {
    Wording::default()
        .say("refused: ")
        .field(message)
        .notice(None)
}
