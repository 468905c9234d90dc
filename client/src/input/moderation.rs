//! The moderation commands (`/kick`, `/ban`, `/unban`, `/mute`,
//! `/unmute`, `/bans`: sent to the server, which lets only operators use
//! them) and the client's own `/ignore` and `/unignore`.
//!
//! A length is the word after the name when it reads as one (`30s`,
//! `10m`, `2h`, `7d`); the rest of the line is the reason, one line of at
//! most 200 bytes (docs/protocol.md §10.7).

use std::time::Duration;

use chat_protocol::event::moderation::MAX_FOR_SECS;
use chat_protocol::{BanTarget, ClientEvent, duration, valid_username, validate_reason};

use super::Command;
use crate::escape::one_line;

/// `NAME`, checked, for `/command`.
fn name(word: &str, command: &str) -> Result<String, String> {
    if valid_username(word) {
        Ok(word.to_owned())
    } else {
        Err(format!(
            "/{command}: {:?} is not a username (1-32 of A-Z a-z 0-9 _ . -)",
            one_line(word)
        ))
    }
}

/// The first word and the rest, trimmed.
fn first_word(rest: &str) -> (&str, &str) {
    let rest = rest.trim();
    rest.split_once(char::is_whitespace)
        .map_or((rest, ""), |(word, more)| (word, more.trim()))
}

/// The reason: none when empty, else checked as the server checks it.
fn reason(text: &str, command: &str) -> Result<Option<String>, String> {
    if text.is_empty() {
        return Ok(None);
    }
    validate_reason(text)
        .map(|()| Some(text.to_owned()))
        .map_err(|(_, why)| format!("/{command}: {why} (not sent)"))
}

/// `[DURATION] [REASON]`: the length in whole seconds, if the first word
/// is one, and the reason.
fn length_and_reason(text: &str, command: &str) -> Result<(Option<u64>, Option<String>), String> {
    let (word, more) = first_word(text);
    let Ok(length) = duration::parse(word) else {
        return Ok((None, reason(text.trim(), command)?));
    };
    if length.is_zero() {
        return Err(format!(
            "/{command}: a length of 0 does nothing; leave it out for one that lasts until lifted"
        ));
    }
    if length.subsec_nanos() != 0 {
        return Err(format!(
            "/{command}: the length is in whole seconds (like 30s, 10m, 2h, 7d)"
        ));
    }
    if length > Duration::from_secs(MAX_FOR_SECS) {
        return Err(format!(
            "/{command}: {word} is longer than the most a server takes ({}); leave the length out for one that lasts until lifted",
            duration::format(Duration::from_secs(MAX_FOR_SECS))
        ));
    }
    Ok((Some(length.as_secs()), reason(more, command)?))
}

/// `/kick NAME [REASON]`.
pub(super) fn kick(rest: &str) -> Result<Command, String> {
    let (word, more) = first_word(rest);
    if word.is_empty() {
        return Err("usage: /kick NAME [REASON]".into());
    }
    Ok(Command::Send(ClientEvent::Kick {
        name: name(word, "kick")?,
        reason: reason(more, "kick")?,
    }))
}

/// `/ban NAME [DURATION] [REASON]`, `/mute NAME [DURATION] [REASON]`.
pub(super) fn ban_or_mute(command: &str, rest: &str) -> Result<Command, String> {
    let (word, more) = first_word(rest);
    if word.is_empty() {
        return Err(format!(
            "usage: /{command} NAME [DURATION] [REASON] (DURATION like 30s, 10m, 2h, 7d; without one it lasts until lifted)"
        ));
    }
    let name = name(word, command)?;
    let (for_secs, reason) = length_and_reason(more, command)?;
    Ok(Command::Send(if command == "ban" {
        ClientEvent::Ban {
            target: BanTarget::Name(name),
            for_secs,
            reason,
        }
    } else {
        ClientEvent::Mute {
            name,
            for_secs,
            reason,
        }
    }))
}

/// `/unban TARGET`: a name, or a target as `/bans` lists it.
pub(super) fn unban(rest: &str) -> Result<Command, String> {
    let (word, more) = first_word(rest);
    if word.is_empty() || !more.is_empty() {
        return Err("usage: /unban TARGET (a name, or a target as /bans lists it)".into());
    }
    let target = BanTarget::parse(word).map_err(|why| format!("/unban: {}", one_line(&why)))?;
    Ok(Command::Send(ClientEvent::Unban { target }))
}

/// `/unmute NAME`.
pub(super) fn unmute(rest: &str) -> Result<Command, String> {
    let (word, more) = first_word(rest);
    if word.is_empty() || !more.is_empty() {
        return Err("usage: /unmute NAME".into());
    }
    Ok(Command::Send(ClientEvent::Unmute {
        name: name(word, "unmute")?,
    }))
}

/// `/bans`.
pub(super) fn bans(rest: &str) -> Result<Command, String> {
    if rest.trim().is_empty() {
        Ok(Command::Send(ClientEvent::Bans))
    } else {
        Err("usage: /bans".into())
    }
}

/// `/ignore [NAME]` (alone: the list), `/unignore NAME`.
pub(super) fn ignore(command: &str, rest: &str) -> Result<Command, String> {
    let (word, more) = first_word(rest);
    if !more.is_empty() || (command == "unignore" && word.is_empty()) {
        return Err(format!(
            "usage: /{command} NAME{}",
            if command == "ignore" {
                " (alone: who is ignored)"
            } else {
                ""
            }
        ));
    }
    if command == "ignore" {
        if word.is_empty() {
            return Ok(Command::Ignore(None));
        }
        return Ok(Command::Ignore(Some(name(word, command)?)));
    }
    Ok(Command::Unignore(name(word, command)?))
}

#[cfg(test)]
mod tests {
    use super::super::parse;
    use super::*;

    fn sent(line: &str) -> ClientEvent {
        match parse(line) {
            Ok(Command::Send(event)) => event,
            other => panic!("{line:?} gave {other:?}"),
        }
    }

    #[test]
    fn moderation_commands_become_their_events() {
        assert_eq!(
            sent("/ban bob 10m spam, again"),
            ClientEvent::Ban {
                target: BanTarget::Name("bob".into()),
                for_secs: Some(600),
                reason: Some("spam, again".into()),
            }
        );
        assert_eq!(
            sent("/ban  mallory "),
            ClientEvent::Ban {
                target: BanTarget::Name("mallory".into()),
                for_secs: None,
                reason: None,
            }
        );
        // A word that is not a length starts the reason.
        assert_eq!(
            sent("/mute bob 2nd warning"),
            ClientEvent::Mute {
                name: "bob".into(),
                for_secs: None,
                reason: Some("2nd warning".into()),
            }
        );
        assert_eq!(
            sent("/mute bob 7d"),
            ClientEvent::Mute {
                name: "bob".into(),
                for_secs: Some(7 * 86_400),
                reason: None,
            }
        );
        assert_eq!(
            sent("/kick bob calm down"),
            ClientEvent::Kick {
                name: "bob".into(),
                reason: Some("calm down".into()),
            }
        );
        assert_eq!(
            sent("/kick bob"),
            ClientEvent::Kick {
                name: "bob".into(),
                reason: None,
            }
        );
        assert_eq!(
            sent("/unban key:40dd79759f005170"),
            ClientEvent::Unban {
                target: BanTarget::parse("key:40dd79759f005170").unwrap()
            }
        );
        assert_eq!(
            sent("/unmute bob"),
            ClientEvent::Unmute { name: "bob".into() }
        );
        assert_eq!(sent("/bans"), ClientEvent::Bans);
        assert_eq!(parse("/ignore"), Ok(Command::Ignore(None)));
        assert_eq!(
            parse("/ignore Bob"),
            Ok(Command::Ignore(Some("Bob".into())))
        );
        assert_eq!(parse("/unignore bob"), Ok(Command::Unignore("bob".into())));
    }

    #[test]
    fn bad_moderation_commands_are_explained() {
        let err = |line: &str| parse(line).unwrap_err();
        assert!(err("/kick").starts_with("usage: /kick NAME"));
        assert!(err("/ban").contains("DURATION like 30s"));
        assert!(err("/mute").starts_with("usage: /mute NAME"));
        assert!(err("/ban b@d 1h").contains("not a username"));
        assert!(err("/ban bob 0 x").contains("a length of 0"));
        assert!(err("/ban bob 1500ms").contains("whole seconds"));
        assert!(err("/ban bob 400d").contains("longer than the most"));
        assert!(err(&format!("/ban bob 1h {}", "x".repeat(201))).contains("limit is 200"));
        assert!(err("/mute bob 1h two\nlines").contains("one line"));
        assert!(err("/unban").starts_with("usage: /unban TARGET"));
        assert!(err("/unban bob now").starts_with("usage"));
        assert!(err("/unban addr:10.0.0.1/2").contains("wider than /8"));
        assert!(err("/unmute").starts_with("usage"));
        assert!(err("/bans all").starts_with("usage"));
        assert!(err("/unignore").starts_with("usage: /unignore NAME"));
        assert!(err("/ignore a b").starts_with("usage: /ignore NAME"));
        assert!(!err("/kick \x1b[2J").contains('\x1b'));
    }
}
