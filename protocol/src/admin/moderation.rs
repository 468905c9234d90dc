//! The admin API's moderation calls (docs/admin-api.md, "Moderation"):
//! bans, mutes and operators set by the server's admin, and the record of
//! who did what.
//!
//! Times are Unix milliseconds, as on the wire (docs/protocol.md §10.7);
//! a length (`for`) is whole seconds; `by` names who acted: the admin's
//! Unix user, or `op:NAME` for an operator of the room.

use serde::{Deserialize, Serialize};

/// `POST /v1/bans`: ban a target (`NAME`, `key:FINGERPRINT` or
/// `addr:ADDRESS[/PREFIX]`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct BanRequest {
    /// What to ban, in the text form of `chat_protocol::BanTarget`.
    pub target: String,
    /// How long, in seconds (1 to 366 days); absent: until lifted.
    #[serde(rename = "for", default, skip_serializing_if = "Option::is_none")]
    pub for_secs: Option<u64>,
    /// Why: one line of at most 200 bytes, shown to the banned user and to
    /// the room.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// One ban in force, as the admin API lists it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct BanEntry {
    /// What is banned (what `DELETE /v1/bans?target=` takes).
    pub target: String,
    /// Why; absent when no reason was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Who banned: the admin's Unix user, or `op:NAME`.
    pub by: String,
    /// When the ban began, Unix milliseconds.
    pub since: u64,
    /// When it ends by itself, Unix milliseconds; absent: until lifted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<u64>,
    /// What a ban by name takes in beside the name: the identities
    /// (`key:…`) and addresses (`addr:…`) it also refuses.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub also: Vec<String>,
}

/// `GET /v1/bans`: the bans in force, oldest first.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Bans {
    /// The bans.
    pub bans: Vec<BanEntry>,
}

/// The answer to `POST /v1/bans`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Banned {
    /// The ban, as it is in force now.
    pub ban: BanEntry,
    /// Sessions it ended (on this node; in a cluster the other nodes end
    /// theirs as they learn of the ban).
    pub ended: usize,
}

/// The answer to `DELETE /v1/bans?target=…`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Unbanned {
    /// The target whose ban was lifted.
    pub target: String,
}

/// `POST /v1/mutes`: mute a user (who stays and reads).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct MuteRequest {
    /// The user's name.
    pub name: String,
    /// How long, in seconds (1 to 366 days); absent: until lifted.
    #[serde(rename = "for", default, skip_serializing_if = "Option::is_none")]
    pub for_secs: Option<u64>,
    /// Why: one line of at most 200 bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// One mute in force, as the admin API lists it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct MuteEntry {
    /// The name muted.
    pub name: String,
    /// Why; absent when no reason was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Who muted: the admin's Unix user, or `op:NAME`.
    pub by: String,
    /// When the mute began, Unix milliseconds.
    pub since: u64,
    /// When it ends by itself, Unix milliseconds; absent: until lifted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<u64>,
    /// The identities it silences (`key:…`), whatever name they join as.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keys: Vec<String>,
    /// For a user without an identity: the address the name is silenced
    /// from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub addr: Option<String>,
}

/// `GET /v1/mutes`: the mutes in force, oldest first.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Mutes {
    /// The mutes.
    pub mutes: Vec<MuteEntry>,
}

/// The answer to `POST /v1/mutes`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Muted {
    /// The mute, as it is in force now.
    pub mute: MuteEntry,
}

/// The answer to `DELETE /v1/mutes?name=…`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Unmuted {
    /// The name whose mute was lifted.
    pub name: String,
}

/// `POST /v1/operators`: make a registered name an operator of the room.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct OperatorRequest {
    /// The name (registered: the rights follow its keys).
    pub name: String,
}

/// `GET /v1/operators`: the room's operators.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Operators {
    /// Their names, as the admin wrote them.
    pub operators: Vec<String>,
}

/// The answer to `POST /v1/operators` and `DELETE /v1/operators?name=…`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct OperatorChanged {
    /// The name.
    pub name: String,
    /// Whether it is an operator now.
    pub op: bool,
}

/// One moderation act, as the record of who did what keeps it
/// (`GET /v1/audit`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct AuditEntry {
    /// When, Unix milliseconds.
    pub ts: u64,
    /// Who: the admin's Unix user, or `op:NAME`.
    pub actor: String,
    /// What: `kick`, `ban`, `unban`, `mute`, `unmute`, `op`, `deop`,
    /// `name_remove`.
    pub action: String,
    /// On what: a name, or a ban's target.
    pub target: String,
    /// Why, when a reason was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Until when (a ban or mute), Unix milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<u64>,
    /// In a cluster, the node that took the order (absent alone).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
}

/// `GET /v1/audit?since=SECONDS`: the acts of the last `since` seconds
/// (all that are kept without it), oldest first.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Audit {
    /// The acts, every node's in a cluster, in time order.
    pub entries: Vec<AuditEntry>,
    /// In a cluster whose shared record could not be read: what went
    /// wrong (the entries are then this node's own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
}
