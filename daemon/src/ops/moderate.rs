//! What moderation does on this node, and the rules an order is held to
//! (docs/protocol.md §10.7): a ban's length and reason, the targets no
//! one may ban (a join key's id, a trusted proxy's addresses), what a ban
//! by name takes in beside the name from a session here, and a change of
//! the book put in force: the room told once, then the sessions a new ban
//! matches ended with a sealed `Bye` `banned`.
//!
//! A change is put in force by [`apply`] on every node alike: the node
//! that took the order, and (in a cluster) each node that learns of it.

use std::sync::Arc;

use chat_protocol::clock::now_ms;
use chat_protocol::event::moderation::MAX_FOR_SECS;
use chat_protocol::{BanTarget, ModerationAction, ServerEvent, validate_reason};

use crate::config::Current;
use crate::config::network::Cidr;
use crate::ending::Ending;
use crate::hub::{Hub, Member};
use crate::moderation::ban::{BanRecord, Who};
use crate::moderation::mute::MuteRecord;
use crate::moderation::{Book, ChangeError, Moderation};
use crate::registry::Registry;
use crate::store::keyring::Keyring;

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
}

impl Moderating {
    /// Records an act of `actor` (a journal line and a line of the audit
    /// file).
    pub fn record(
        &self,
        actor: &Actor,
        action: &str,
        target: &str,
        reason: Option<&str>,
        until: Option<u64>,
    ) {
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
            },
        );
    }
}

fn refused(code: &'static str, why: impl Into<String>) -> ChangeError {
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
    let Some(member) = m.hub.member(name) else {
        return Vec::new();
    };
    let mut also = Vec::new();
    if let Some(identity) = member.identity {
        also.push(BanTarget::Key(identity.fingerprint()));
    }
    let ip = crate::moderation::ban::plain(member.addr.ip());
    if admin && !trusted_proxies(m).any(|p| p.contains(ip)) {
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
        ended += hub.end_where(
            |m| matches_member(ban, m),
            || Ending::banned(ban.reason.as_deref(), ban.until),
        );
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
        if let Some(member) = hub.member(name) {
            member
                .op
                .store(op && member.owner, std::sync::atomic::Ordering::Relaxed);
        }
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

/// Adds (or replaces: a target banned again gets the new reason and
/// length) `ban` in `book`, within [`crate::moderation::MAX_BANS`].
pub fn put_ban(book: &mut Book, ban: BanRecord) -> Result<(), ChangeError> {
    book.bans.retain(|b| !same_target(&b.target, &ban.target));
    if book.bans.len() >= crate::moderation::MAX_BANS {
        return Err(refused(
            "too_many_bans",
            format!(
                "{} bans are in force, as many as chatd keeps; lift some first (`chatctl bans`, `chatctl unban TARGET`)",
                crate::moderation::MAX_BANS
            ),
        ));
    }
    book.bans.push(ban);
    Ok(())
}

/// Removes the ban of `target` from `book`: the ban lifted, or
/// `not_banned`.
pub fn take_ban(book: &mut Book, target: &BanTarget) -> Result<BanRecord, ChangeError> {
    let at = book
        .bans
        .iter()
        .position(|b| same_target(&b.target, target))
        .ok_or_else(|| refused("not_banned", format!("{target} is not banned")))?;
    Ok(book.bans.remove(at))
}

/// Whether two targets are one (names case-insensitively).
pub fn same_target(a: &BanTarget, b: &BanTarget) -> bool {
    match (a, b) {
        (BanTarget::Name(a), BanTarget::Name(b)) => a.eq_ignore_ascii_case(b),
        _ => a == b,
    }
}

/// An order to ban.
#[derive(Clone, Debug)]
pub struct BanOrder {
    /// What to ban.
    pub target: BanTarget,
    /// How long, in seconds; `None`: until lifted.
    pub for_secs: Option<u64>,
    /// Why.
    pub reason: Option<String>,
    /// Who orders it.
    pub actor: Actor,
}

impl BanOrder {
    /// Holds the order to the rules (length, reason, target; an operator
    /// bans names only).
    pub fn check(&self, m: &Moderating) -> Result<(), ChangeError> {
        check_length(self.for_secs)?;
        check_reason(self.reason.as_deref())?;
        if matches!(self.actor, Actor::Operator(_)) && !self.target.is_name() {
            return Err(refused(
                "forbidden",
                "operators ban names only; key: and addr: bans are the server admin's",
            ));
        }
        check_target(m, &self.target)
    }

    /// The ban it makes at `now` (Unix milliseconds), taking in `also`.
    pub fn record(&self, also: Vec<BanTarget>, now: u64) -> BanRecord {
        BanRecord {
            target: self.target.clone(),
            also,
            reason: self.reason.clone(),
            op: self.actor.op(),
            by: self.actor.by(),
            since: now,
            until: self.for_secs.map(|s| now + s * 1000),
        }
    }
}

/// An order to mute.
#[derive(Clone, Debug)]
pub struct MuteOrder {
    /// Whom.
    pub name: String,
    /// How long, in seconds; `None`: until lifted.
    pub for_secs: Option<u64>,
    /// Why.
    pub reason: Option<String>,
    /// Who orders it.
    pub actor: Actor,
}

impl MuteOrder {
    /// Holds the order to the rules (name, length, reason).
    pub fn check(&self) -> Result<(), ChangeError> {
        if !chat_protocol::valid_username(&self.name) {
            return Err(refused(
                "bad_request",
                "a name is 1 to 32 of A-Z a-z 0-9 _ . -",
            ));
        }
        check_length(self.for_secs)?;
        check_reason(self.reason.as_deref())
    }

    /// The mute it makes at `now`, silencing `keys` (fingerprints) or,
    /// without any, the name from `addr`.
    pub fn record(
        &self,
        keys: Vec<String>,
        addr: Option<std::net::IpAddr>,
        now: u64,
    ) -> MuteRecord {
        MuteRecord {
            name: self.name.clone(),
            addr: if keys.is_empty() { addr } else { None },
            keys,
            reason: self.reason.clone(),
            op: self.actor.op(),
            by: self.actor.by(),
            since: now,
            until: self.for_secs.map(|s| now + s * 1000),
        }
    }
}

/// Adds (or replaces: a name muted again gets the new reason and length)
/// `mute` in `book`, within [`crate::moderation::MAX_BANS`] mutes.
pub fn put_mute(book: &mut Book, mute: MuteRecord) -> Result<(), ChangeError> {
    book.mutes
        .retain(|m| !m.name.eq_ignore_ascii_case(&mute.name));
    if book.mutes.len() >= crate::moderation::MAX_BANS {
        return Err(refused(
            "too_many_mutes",
            format!(
                "{} mutes are in force, as many as chatd keeps; lift some first (`chatctl mutes`, `chatctl unmute NAME`)",
                crate::moderation::MAX_BANS
            ),
        ));
    }
    book.mutes.push(mute);
    Ok(())
}

/// Removes the mute of `name` from `book`: the mute lifted, or
/// `not_muted`.
pub fn take_mute(book: &mut Book, name: &str) -> Result<MuteRecord, ChangeError> {
    let at = book
        .mutes
        .iter()
        .position(|m| m.name.eq_ignore_ascii_case(name))
        .ok_or_else(|| refused("not_muted", format!("{name} is not muted")))?;
    Ok(book.mutes.remove(at))
}

/// Makes `name` an operator (`op`) or not in `book`, within
/// [`crate::moderation::MAX_OPERATORS`]; `not_operator` to deop a name that
/// is not one.
pub fn set_operator(book: &mut Book, name: &str, op: bool) -> Result<(), ChangeError> {
    let at = book
        .operators
        .iter()
        .position(|o| o.eq_ignore_ascii_case(name));
    match (op, at) {
        (true, Some(_)) => Ok(()),
        (true, None) if book.operators.len() >= crate::moderation::MAX_OPERATORS => Err(refused(
            "too_many_operators",
            format!(
                "the room has {} operators, as many as it may; deop one first",
                crate::moderation::MAX_OPERATORS
            ),
        )),
        (true, None) => {
            book.operators.push(name.to_string());
            Ok(())
        }
        (false, Some(at)) => {
            book.operators.remove(at);
            Ok(())
        }
        (false, None) => Err(refused(
            "not_operator",
            format!("{name} is not an operator"),
        )),
    }
}
