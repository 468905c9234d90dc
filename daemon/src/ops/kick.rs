//! A kick on this node: the admin API's, and one another node sends on.

use std::sync::Arc;

use crate::ending::Ending;
use crate::hub::{Hub, Member};

/// Longest kick reason, as the admin API takes it.
pub const MAX_REASON: usize = 1024;

/// Holds a kick's reason to the rules of a text shown to users (at most
/// [`MAX_REASON`] bytes; empty is fine). `Err` says what is wrong.
pub fn check_reason(reason: &str) -> Result<(), String> {
    let shown = if reason.is_empty() { "-" } else { reason };
    chat_protocol::validate_text(shown, MAX_REASON)
        .map(|_| ())
        .map_err(|(_, e)| e)
}

/// Ends `name`'s session here (any case) with `reason`: the member
/// kicked, or `None` when no one here has that name.
pub fn here(hub: &Hub, name: &str, reason: &str) -> Option<Arc<Member>> {
    let member = hub.member(name)?;
    member.control.end(Ending::kicked(reason));
    Some(member)
}
