//! Moderation's orders (a ban, a mute) held to the rules, and how each
//! change of the book is made: a ban or mute put or taken out, a name made
//! an operator or not, within the book's bounds. Pure functions on the
//! book, so that a single chatd and a cluster's compare-and-set apply the
//! same ones (`crate::cluster::moderate`).

use chat_protocol::BanTarget;

use super::moderate::{Actor, Moderating, check_length, check_reason, check_target, refused};
use crate::moderation::ban::BanRecord;
use crate::moderation::mute::MuteRecord;
use crate::moderation::{Book, ChangeError};

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
