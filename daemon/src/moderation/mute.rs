//! One mute as chatd keeps it: whom it silences (by identity, or by name
//! and address for a user without one, so that it lasts across a rejoin
//! and no one else who takes the name later is silenced), why, and until
//! when.

use std::net::IpAddr;

use chat_protocol::admin::MuteEntry;
use chat_protocol::identity::Fingerprint;
use serde::{Deserialize, Serialize};

use super::ban::Who;

/// A mute in force until `until` (or until lifted).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct MuteRecord {
    /// The name muted, as the moderator wrote it.
    pub name: String,
    /// The identities it silences (the keys registered to the name, or the
    /// one its session proved); empty: the name, from `addr`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keys: Vec<String>,
    /// For a name without an identity: the address its session came from
    /// (absent: the name from any address).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub addr: Option<IpAddr>,
    /// Why, as the moderator said it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The operator who muted; absent: the server's admin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub op: Option<String>,
    /// Who acted: the admin's Unix user, or `op:NAME`.
    pub by: String,
    /// When the mute began, Unix milliseconds.
    pub since: u64,
    /// When it ends by itself, Unix milliseconds; absent: until lifted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<u64>,
}

impl MuteRecord {
    /// Whether the mute is in force at `now` (Unix milliseconds).
    pub fn in_force(&self, now: u64) -> bool {
        self.until.is_none_or(|until| until > now)
    }

    /// Whether the mute silences `who`: one of its identities proven, or
    /// (without any) its name from its address.
    pub fn matches(&self, who: &Who<'_>) -> bool {
        if !self.keys.is_empty() {
            let proven = who.identity.map(|f| f.to_string());
            return proven.is_some_and(|f| self.keys.contains(&f));
        }
        who.name.is_some_and(|n| n.eq_ignore_ascii_case(&self.name))
            && self.addr.is_none_or(|addr| {
                who.ip
                    .is_some_and(|ip| super::ban::plain(ip) == super::ban::plain(addr))
            })
    }

    /// The words of the `error` `muted` (the client shows `until` itself).
    pub fn told(&self) -> String {
        let by = match &self.op {
            Some(op) => format!("muted by {op}"),
            None => "muted by the admin".to_string(),
        };
        match &self.reason {
            Some(reason) => format!("{by}: {reason}"),
            None => by,
        }
    }

    /// The mute as the admin API lists it.
    pub fn to_admin(&self) -> MuteEntry {
        MuteEntry {
            name: self.name.clone(),
            reason: self.reason.clone(),
            by: self.by.clone(),
            since: self.since,
            until: self.until,
            keys: self.keys.iter().map(|k| format!("key:{k}")).collect(),
            addr: self.addr.map(|a| a.to_string()),
        }
    }
}

/// The fingerprint's text form, as a mute keeps it.
pub fn key_of(fingerprint: Fingerprint) -> String {
    fingerprint.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mute_follows_the_identity_or_the_name_from_its_address() {
        let f = Fingerprint([1; 8]);
        let by_key = MuteRecord {
            name: "bob".into(),
            keys: vec![key_of(f)],
            addr: None,
            reason: None,
            op: Some("carol".into()),
            by: "op:carol".into(),
            since: 0,
            until: Some(10),
        };
        let who = |name, identity, ip: &str| Who {
            name: Some(name),
            identity,
            ip: Some(ip.parse().unwrap()),
        };
        assert!(by_key.matches(&who("bobby", Some(f), "10.0.0.1")));
        assert!(!by_key.matches(&who("bob", None, "10.0.0.1")));
        assert!(by_key.in_force(9) && !by_key.in_force(10));
        assert_eq!(by_key.told(), "muted by carol");
        let by_name = MuteRecord {
            keys: vec![],
            addr: Some("10.0.0.1".parse().unwrap()),
            reason: Some("flood".into()),
            op: None,
            ..by_key
        };
        assert!(by_name.matches(&who("BOB", None, "::ffff:10.0.0.1")));
        assert!(!by_name.matches(&who("bob", None, "10.0.0.2")));
        assert_eq!(by_name.told(), "muted by the admin: flood");
    }
}
