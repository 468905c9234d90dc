//! A kick on this node: the room told (a `moderation` event), then the
//! session ended. The admin API's and an operator's kicks, and one another
//! node sends on, all go through here (`crate::cluster::Peers::kick`).

use chat_protocol::{ModerationAction, ServerEvent};

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

/// Tells everyone here that `target` is kicked, by the operator `by`
/// (`None`: the admin), for `reason` (empty: none given). Told before the
/// session ends, as every moderation is.
pub fn tell(hub: &Hub, target: &str, by: Option<String>, reason: &str) {
    expect_leave(hub, target, reason);
    hub.tell(&ServerEvent::Moderation {
        room: None,
        action: ModerationAction::Kick,
        target: target.to_string(),
        by,
        until: None,
        reason: (!reason.is_empty()).then(|| reason.to_string()),
        ts: chat_protocol::clock::now_ms(),
    });
}

/// Notes that `target`, if a user of another node, is kicked for
/// `reason`: its leave, which comes from its node, says so here too
/// ([`Hub::expect_remote_leave`]). Before the order is sent, where this
/// node sends it: the leave may come back before the order's answer.
pub fn expect_leave(hub: &Hub, target: &str, reason: &str) {
    hub.expect_remote_leave(
        |name, _| name.eq_ignore_ascii_case(target),
        &Ending::kicked(reason).leave_reason,
    );
}

/// Ends `member`'s session with `reason`.
pub fn end(member: &Member, reason: &str) {
    member.control.end(Ending::kicked(reason));
}
