//! The identity commands: `/whois NAME` (shown by the client itself) and
//! `/identity add|remove KEY` (sent to the server).

use chat_protocol::{ClientEvent, IdentityKey, valid_username};

use super::Command;
use crate::escape::one_line;

/// `/whois NAME`.
pub(super) fn whois(rest: &str) -> Result<Command, String> {
    let name = rest.trim();
    if name.is_empty() || name.contains(char::is_whitespace) {
        return Err("usage: /whois NAME".into());
    }
    if !valid_username(name) {
        return Err(format!(
            "/whois: {:?} is not a username (1-32 of A-Z a-z 0-9 _ . -)",
            one_line(name)
        ));
    }
    Ok(Command::Whois(name.to_owned()))
}

/// `/identity add KEY`, `/identity remove KEY`.
pub(super) fn keys(rest: &str) -> Result<Command, String> {
    const USAGE: &str = "usage: /identity add KEY, or /identity remove KEY (KEY: the chat-id1_… line that `chat --show-identity` prints on the other device)";
    let mut words = rest.split_whitespace();
    let (Some(verb), Some(key), None) = (words.next(), words.next(), words.next()) else {
        return Err(USAGE.into());
    };
    // Never echoed: a secret pasted by mistake stays off the screen.
    let key = IdentityKey::parse(key).map_err(|err| format!("/identity: {err}"))?;
    match verb {
        "add" => Ok(Command::Send(ClientEvent::IdentityAdd { key })),
        "remove" => Ok(Command::Send(ClientEvent::IdentityRemove { key })),
        _ => Err(USAGE.into()),
    }
}

#[cfg(test)]
mod tests {
    use chat_protocol::Identity;

    use super::super::parse;
    use super::*;

    #[test]
    fn identity_commands_parse_and_refuse_clearly() {
        let key = Identity::from_seed(&[5; 32]).public();
        assert_eq!(
            parse(&format!("/identity add {key}")),
            Ok(Command::Send(ClientEvent::IdentityAdd { key }))
        );
        assert_eq!(
            parse(&format!("/identity remove  {key} ")),
            Ok(Command::Send(ClientEvent::IdentityRemove { key }))
        );
        assert_eq!(parse("/whois bob"), Ok(Command::Whois("bob".into())));
        assert!(parse("/whois").unwrap_err().contains("usage"));
        assert!(parse("/whois a b").unwrap_err().contains("usage"));
        assert!(parse("/whois <x>").unwrap_err().contains("not a username"));
        assert!(parse("/identity add").unwrap_err().contains("usage"));
        assert!(
            parse(&format!("/identity keep {key}"))
                .unwrap_err()
                .contains("usage")
        );
        let secret = Identity::from_seed(&[5; 32]).secret_text();
        let err = parse(&format!("/identity add {}", secret.as_str())).unwrap_err();
        assert!(err.contains("private key"), "{err}");
        assert!(!err.contains(&secret[15..]), "{err}");
    }
}
