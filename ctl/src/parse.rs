//! The value parsers of chatctl's arguments: what clap checks as it reads
//! them (`cli.rs` names them as `crate::parse_…`; the build script has
//! stand-ins), and an identity's KEY, checked after parsing.

use chat_protocol::valid_username;

use crate::exit::{Exit, Failure};

/// `--grace`: a duration in whole seconds.
pub(crate) fn parse_grace(text: &str) -> Result<u64, String> {
    let grace = chat_protocol::duration::parse(text)?;
    if grace.as_secs() > chat_protocol::admin::MAX_GRACE_SECS {
        return Err(format!(
            "a grace period is at most 30 days (30d); \"{text}\" would keep a withdrawn key alive too long"
        ));
    }
    if grace.subsec_nanos() != 0 {
        return Err(format!(
            "the grace period is counted in whole seconds; \"{text}\" is not (try 30s, 10m or 1h)"
        ));
    }
    Ok(grace.as_secs())
}

/// `kick NAME`: a valid user name, so it goes into the URL path as is.
pub(crate) fn parse_name(name: &str) -> Result<String, String> {
    if valid_username(name) {
        Ok(name.to_owned())
    } else {
        Err("user names are 1-32 of A-Z a-z 0-9 _ . - (as `chatctl users` lists them)".into())
    }
}

/// `ban TARGET`, `unban TARGET`: one of the three forms, written in its
/// one form (what the daemon lists).
pub(crate) fn parse_target(text: &str) -> Result<String, String> {
    chat_protocol::BanTarget::parse(text).map(|t| t.to_string())
}

/// `--for`: a duration in whole seconds, 1 s to 366 days.
pub(crate) fn parse_length(text: &str) -> Result<u64, String> {
    let length = chat_protocol::duration::parse(text)?;
    let max = chat_protocol::event::moderation::MAX_FOR_SECS;
    if length.subsec_nanos() != 0 || length.as_secs() == 0 {
        return Err(format!(
            "a length is a whole number of seconds, at least 1 s; \"{text}\" is not (try 30s, 10m, 2h or 7d)"
        ));
    }
    if length.as_secs() > max {
        return Err(
            "a length is at most 366 days (366d); leave --for out for a ban until lifted".into(),
        );
    }
    Ok(length.as_secs())
}

/// `names add NAME KEY`, `names remove NAME KEY`: an identity's public
/// key, in its text form; a usage error (exit 2) in the protocol crate's
/// words otherwise, which name a token or a private key given by mistake
/// and never echo it (clap's value parsers would).
pub(crate) fn identity_key(text: &str) -> anyhow::Result<String> {
    chat_protocol::IdentityKey::parse(text)
        .map(|key| key.to_string())
        .map_err(|e| Failure::new(Exit::Usage, format!("KEY: {e}")).into())
}
