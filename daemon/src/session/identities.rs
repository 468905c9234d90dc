//! `identity_add` and `identity_remove` (docs/protocol.md §12.5): a
//! session that proved one of its name's keys adds another key to the
//! name (a second device) or removes one, by the registry's rules
//! ([`crate::registry::edit`]); answered with the name's keys now
//! (`identities`) or an `error`.

use chat_protocol::clock::now_secs;
use chat_protocol::{ErrorCode, IdentityKey, ServerEvent};

use super::Parts;
use crate::hub::Member;
use crate::registry::EditError;
use crate::registry::edit::{self, By, Refusal};
use crate::registry::record::MAX_KEYS;

/// Adds (`add`) or removes `key` for `member`'s name, and answers it.
pub async fn change(member: &Member, parts: &Parts, key: IdentityKey, add: bool) {
    match answer(member, parts, key, add).await {
        Ok(keys) => member.send(&ServerEvent::Identities {
            name: member.name.clone(),
            keys,
        }),
        Err((code, message)) => super::reader::refuse(member, parts, code, message),
    }
}

async fn answer(
    member: &Member,
    parts: &Parts,
    key: IdentityKey,
    add: bool,
) -> Result<Vec<IdentityKey>, (ErrorCode, String)> {
    if !parts.registry.policy().binds() {
        return Err((
            ErrorCode::NamesOpen,
            "names are not bound to keys on this server".into(),
        ));
    }
    let by = By::Session(member.identity);
    let name = &member.name;
    let edited = if add {
        let change = edit::add_key(name, key, by, now_secs());
        parts.peers.edit_name(&parts.registry, name, change).await
    } else {
        let change = edit::remove_key(key, by);
        parts.peers.edit_name(&parts.registry, name, change).await
    };
    let refused = match edited {
        Ok(record) => {
            let keys = record.map(|r| r.keys).unwrap_or_default();
            tracing::info!(
                name = %name,
                key = %key.fingerprint(),
                keys = keys.len(),
                "names: {} by the name's owner",
                if add { "key added" } else { "key removed" }
            );
            return Ok(keys);
        }
        Err(EditError::Refused(refusal)) => refusal,
        Err(e) => return Err((ErrorCode::Other, e.to_string())),
    };
    Err(match refusal_words(refused, name) {
        Some(words) => words,
        None => (ErrorCode::Other, "the change was refused".into()),
    })
}

/// The `error` for a refusal of a session's change.
fn refusal_words(refusal: Refusal, name: &str) -> Option<(ErrorCode, String)> {
    Some(match refusal {
        Refusal::NotOwner => (
            ErrorCode::NotOwner,
            format!(
                "only a session that proved one of the keys registered to \"{name}\" may change them"
            ),
        ),
        Refusal::TooManyKeys => (
            ErrorCode::TooManyKeys,
            format!("\"{name}\" holds {MAX_KEYS} keys, as many as a name may; remove one first"),
        ),
        Refusal::LastKey => (
            ErrorCode::LastKey,
            format!(
                "that is the only key of \"{name}\"; add another first (only the server's admin removes a name's last key)"
            ),
        ),
        Refusal::Taken(_) | Refusal::NoSuchName => return None,
    })
}
