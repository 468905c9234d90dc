//! What moderation does on this node, and the rules an order is held to
//! (docs/protocol.md §10.7): a ban's length and reason, the targets no
//! one may ban (a join key's id, a trusted proxy's addresses), what a ban
//! by name takes in beside the name from a session here, and a change of
//! the book put in force: the room told once, then the sessions a new ban
//! matches ended with a sealed `Bye` `banned`.
//!
//! A change is put in force by [`apply`] on every node alike: the node
//! that took the order, and (in a cluster) each node that learns of it.
//! The orders themselves, and how each changes the book, are
//! `super::moderation_orders`.

use std::sync::Arc;

use chat_protocol::clock::now_ms;
use chat_protocol::event::moderation::MAX_FOR_SECS;
use chat_protocol::{BanTarget, ModerationAction, ServerEvent, validate_reason};

use crate::config::Current;
use crate::config::network::Cidr;
use crate::ending::Ending;
use crate::hub::{Hub, Member};
use crate::moderation::ban::{BanRecord, Who};
use crate::moderation::{Book, ChangeError, Moderation};
use crate::registry::Registry;
use crate::store::keyring::Keyring;

pub use super::moderation_orders::{
    BanOrder, MuteOrder, put_ban, put_mute, set_operator, take_ban, take_mute,
};

/// Who gave an order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Actor {
    /// The server's admin, by the Unix user that called the admin API.
    Admin {
        /// The user's name (`uid N` without one).
        user: String,
        /// The uid, from the admin socket's peer credentials.
        uid: u32,
    },
    /// An operator of the room, by name.
    Operator(String),
}

impl Actor {
    /// Who acted, as the record of moderation names them.
    pub fn by(&self) -> String {
        match self {
            Actor::Admin { user, .. } => user.clone(),
            Actor::Operator(name) => format!("op:{name}"),
        }
    }

    /// The operator, as the room's events name them (`None`: the admin).
    pub fn op(&self) -> Option<String> {
        match self {
            Actor::Admin { .. } => None,
            Actor::Operator(name) => Some(name.clone()),
        }
    }
}

/// What moderation uses of this node.
#[derive(Clone)]
pub struct Moderating {
    /// The configuration in force (`trusted_proxies`).
    pub config: Arc<Current>,
    /// The join keys, whose ids are never a ban's target.
    pub keyring: Arc<Keyring>,
    /// The room.
    pub hub: Arc<Hub>,
    /// The names registry (a registered name's keys).
    pub registry: Arc<Registry>,
    /// The bans.
    pub moderation: Arc<Moderation>,
    /// The record of who did what.
    pub audit: Arc<crate::moderation::audit::Audit>,
    /// Counts each act (`chatd_moderation_actions_total`).
    pub metrics: crate::metrics::Metrics,
}

impl Moderating {
    /// Records an act of `actor` (a journal line and a line of the audit
    /// file) and counts it.
    pub fn record(
        &self,
        actor: &Actor,
        action: &str,
        target: &str,
        reason: Option<&str>,
        until: Option<u64>,
    ) {
        if let Some(counted) = crate::metrics::labels::ModerationAction::of(action) {
            self.metrics.moderation_actions.inc(counted);
        }
        let uid = match actor {
            Actor::Admin { uid, .. } => Some(*uid),
            Actor::Operator(_) => None,
        };
        self.audit.record(
            uid,
            chat_protocol::admin::AuditEntry {
                ts: now_ms(),
                actor: actor.by(),
                action: action.to_string(),
                target: target.to_string(),
                reason: reason.map(str::to_string),
                until,
                node: None,
            },
        );
    }
}

pub(super) fn refused(code: &'static str, why: impl Into<String>) -> ChangeError {
    ChangeError::Refused(code, why.into())
}

/// A length in seconds: 1 to [`MAX_FOR_SECS`].
pub fn check_length(for_secs: Option<u64>) -> Result<(), ChangeError> {
    match for_secs {
        Some(0) => Err(refused(
            "bad_request",
            "a length is at least 1 s; leave it out for a ban until lifted",
        )),
        Some(s) if s > MAX_FOR_SECS => Err(refused(
            "bad_request",
            format!(
                "a length is at most 366 days ({MAX_FOR_SECS} s); leave it out for a ban until lifted"
            ),
        )),
        _ => Ok(()),
    }
}

/// A reason: one line of at most 200 bytes, no control character.
pub fn check_reason(reason: Option<&str>) -> Result<(), ChangeError> {
    match reason {
        Some(reason) => validate_reason(reason).map_err(|(_, why)| refused("bad_request", why)),
        None => Ok(()),
    }
}

/// Refuses the targets no one may ban: a `key:` equal to a join key's id
/// (every holder of the token would be banned), an `addr:` that reaches a
/// trusted proxy (every client behind it would be).
pub fn check_target(m: &Moderating, target: &BanTarget) -> Result<(), ChangeError> {
    match target {
        BanTarget::Key(fingerprint) => {
            let keys = m.keyring.keys.read().expect("lock");
            let ids = std::iter::once(keys.current.key_id())
                .chain(keys.previous.as_ref().map(|p| p.token.key_id()));
            for id in ids {
                if id.0 == fingerprint.0 {
                    return Err(refused(
                        "join_key",
                        format!(
                            "key:{fingerprint} is the id of the room's join key, not an identity: \
                             it would ban everyone who has the token. Ban a name, an identity \
                             (`chatctl users` shows each user's identity fingerprint) or an address"
                        ),
                    ));
                }
            }
            Ok(())
        }
        BanTarget::Addr { addr, prefix } => {
            let bits = prefix.unwrap_or(if addr.is_ipv4() { 32 } else { 128 });
            if let Some(proxy) = trusted_proxies(m).find(|p| p.overlaps(*addr, bits)) {
                return Err(refused(
                    "trusted_proxy",
                    format!(
                        "{target} reaches the trusted proxy {proxy} (trusted_proxies): every client \
                         behind it would be banned. Ban the clients' own addresses, which the proxy \
                         names, or their names"
                    ),
                ));
            }
            Ok(())
        }
        BanTarget::Name(_) => Ok(()),
    }
}

fn trusted_proxies(m: &Moderating) -> impl Iterator<Item = Cidr> {
    m.config
        .get()
        .trusted_proxies
        .iter()
        .filter_map(|range| range.parse::<Cidr>().ok())
        .collect::<Vec<_>>()
        .into_iter()
}

/// What a ban of `name` takes in from its session here, if any: the
/// identity it proved, and (for the admin's bans: operators see no
/// addresses) its address, unless that is a trusted proxy's.
pub fn session_covers(m: &Moderating, name: &str, admin: bool) -> Vec<BanTarget> {
    match m.hub.member(name) {
        Some(member) => covers(m, member.identity, Some(member.addr.ip()), admin),
        None => Vec::new(),
    }
}

/// What a ban by name takes in from a session (here or on another node
/// of a cluster) that proved `identity` from `ip`: the identity, and for
/// the admin's bans the address, unless that is a trusted proxy's.
pub fn covers(
    m: &Moderating,
    identity: Option<chat_protocol::IdentityKey>,
    ip: Option<std::net::IpAddr>,
    admin: bool,
) -> Vec<BanTarget> {
    let mut also = Vec::new();
    if let Some(identity) = identity {
        also.push(BanTarget::Key(identity.fingerprint()));
    }
    let ip = ip.map(crate::moderation::ban::plain);
    if let Some(ip) = ip
        && admin
        && !trusted_proxies(m).any(|p| p.contains(ip))
    {
        also.push(BanTarget::Addr {
            addr: ip,
            prefix: None,
        });
    }
    also
}

/// `member`'s session, as bans match it.
pub fn who_is(member: &Member) -> Who<'_> {
    Who {
        name: Some(&member.name),
        identity: member.identity.map(|k| k.fingerprint()),
        ip: Some(member.addr.ip()),
    }
}

/// Notes that the users of other nodes `ban` matches are banned: their
/// leaves, which come from their nodes, say so here too
/// ([`Hub::expect_remote_leave`]). An address ban matches none here: their
/// addresses are their nodes' to know. Called where the ban is put in
/// force, and before it is written where it is made (a leave may come back
/// first).
pub fn expect_banned_leaves(hub: &Hub, ban: &BanRecord) {
    hub.expect_remote_leave(
        |name, identity| {
            ban.matches(&Who {
                name: Some(name),
                identity: identity.map(|k| k.fingerprint()),
                ip: None,
            })
        },
        &Ending::banned(ban.reason.as_deref(), ban.until).leave_reason,
    );
}

/// Whether `ban` matches `member`'s session.
pub fn matches_member(ban: &BanRecord, member: &Member) -> bool {
    ban.matches(&who_is(member))
}

/// Puts a change of the book from `before` to `after` in force here: each
/// new ban told to the room (an address ban is not: the room is shown no
/// addresses) and the sessions it matches ended; each lifted one told.
/// The sessions ended.
pub fn apply(hub: &Hub, before: &Book, after: &Book) -> usize {
    let now = now_ms();
    let mut ended = 0;
    for ban in after.added_since(before) {
        if !matches!(ban.target, BanTarget::Addr { .. }) {
            hub.tell(&ServerEvent::Moderation {
                room: None,
                action: ModerationAction::Ban,
                target: ban.target.to_string(),
                by: ban.op.clone(),
                until: ban.until,
                reason: ban.reason.clone(),
                ts: now,
            });
        }
        expect_banned_leaves(hub, ban);
        let banned = || Ending::banned(ban.reason.as_deref(), ban.until);
        ended += hub.end_where(|m| matches_member(ban, m), banned);
    }
    for mute in after.mutes_added_since(before) {
        hub.tell(&ServerEvent::Moderation {
            room: None,
            action: ModerationAction::Mute,
            target: mute.name.clone(),
            by: mute.op.clone(),
            until: mute.until,
            reason: mute.reason.clone(),
            ts: now,
        });
    }
    for mute in after.mutes_lifted_since(before, now) {
        hub.tell(&ServerEvent::Moderation {
            room: None,
            action: ModerationAction::Unmute,
            target: mute.name.clone(),
            by: after.lifted_by.clone(),
            until: None,
            reason: None,
            ts: now,
        });
    }
    for (name, op) in after.operators_changed_since(before) {
        let action = if op {
            ModerationAction::Op
        } else {
            ModerationAction::Deop
        };
        hub.tell(&ServerEvent::Moderation {
            room: None,
            action,
            target: name.to_string(),
            by: None,
            until: None,
            reason: None,
            ts: now,
        });
        hub.set_op(name, op);
    }
    for ban in after.lifted_since(before, now) {
        if !matches!(ban.target, BanTarget::Addr { .. }) {
            hub.tell(&ServerEvent::Moderation {
                room: None,
                action: ModerationAction::Unban,
                target: ban.target.to_string(),
                by: after.lifted_by.clone(),
                until: None,
                reason: None,
                ts: now,
            });
        }
    }
    ended
}
