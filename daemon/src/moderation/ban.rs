//! One ban as chatd keeps it, and what it matches: a join's address
//! (checked before the password), a join's name or proven identity
//! (checked after it), a session online (all three).

use std::net::IpAddr;

use chat_protocol::admin::BanEntry;
use chat_protocol::identity::Fingerprint;
use chat_protocol::{Ban, BanTarget};
use serde::{Deserialize, Serialize};

/// A ban in force until `until` (or until lifted).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct BanRecord {
    /// What was banned, as the moderator named it (what `unban` takes).
    pub target: BanTarget,
    /// What a ban by name takes in beside the name: the keys registered to
    /// it, or the identity and address of the session it ended.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub also: Vec<BanTarget>,
    /// Why, as the moderator said it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The operator who banned; absent: the server's admin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub op: Option<String>,
    /// Who acted, as the record of moderation names them: the admin's Unix
    /// user, or `op:NAME`.
    pub by: String,
    /// When the ban began, Unix milliseconds.
    pub since: u64,
    /// When it ends by itself, Unix milliseconds; absent: until lifted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<u64>,
}

/// Who a ban is matched against: a join (its address first, then its name
/// and proven identity) or a session online.
#[derive(Clone, Copy, Debug)]
pub struct Who<'a> {
    /// The name asked for or held.
    pub name: Option<&'a str>,
    /// The identity proven, by its fingerprint.
    pub identity: Option<Fingerprint>,
    /// The client's address.
    pub ip: Option<IpAddr>,
}

impl BanRecord {
    /// Whether the ban is in force at `now` (Unix milliseconds).
    pub fn in_force(&self, now: u64) -> bool {
        self.until.is_none_or(|until| until > now)
    }

    /// Whether the ban's target, or what it takes in beside it, matches
    /// `who` (what `who` leaves out matches nothing).
    pub fn matches(&self, who: &Who<'_>) -> bool {
        std::iter::once(&self.target)
            .chain(&self.also)
            .any(|target| target_matches(target, who))
    }

    /// The ban as the `bans` event lists it to an operator (`None` for an
    /// address ban: operators are shown no addresses).
    pub fn to_wire(&self) -> Option<Ban> {
        if matches!(self.target, BanTarget::Addr { .. }) {
            return None;
        }
        Some(Ban {
            target: self.target.to_string(),
            reason: self.reason.clone(),
            by: self.op.clone(),
            since: self.since,
            until: self.until,
        })
    }

    /// The ban as the admin API lists it.
    pub fn to_admin(&self) -> BanEntry {
        BanEntry {
            target: self.target.to_string(),
            reason: self.reason.clone(),
            by: self.by.clone(),
            since: self.since,
            until: self.until,
            also: self.also.iter().map(ToString::to_string).collect(),
        }
    }

    /// The reason as the `reject` and `bye` carry it: `""` when none was
    /// given (the client words the refusal itself).
    pub fn told_reason(&self) -> String {
        self.reason.clone().unwrap_or_default()
    }
}

/// Whether one target matches `who`.
pub fn target_matches(target: &BanTarget, who: &Who<'_>) -> bool {
    match target {
        BanTarget::Name(name) => who.name.is_some_and(|n| n.eq_ignore_ascii_case(name)),
        BanTarget::Key(fingerprint) => who.identity.is_some_and(|f| f == *fingerprint),
        BanTarget::Addr { addr, prefix } => who
            .ip
            .is_some_and(|ip| in_network(plain(ip), *addr, *prefix)),
    }
}

/// An IPv4-mapped IPv6 address as IPv4 (the form targets are kept in).
pub fn plain(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// Whether `ip` is in the network of `prefix` bits at `net` (`None`: the
/// address alone).
pub fn in_network(ip: IpAddr, net: IpAddr, prefix: Option<u8>) -> bool {
    match (ip, net) {
        (IpAddr::V4(ip), IpAddr::V4(net)) => {
            let bits = u32::from(prefix.unwrap_or(32));
            let mask = u32::MAX.checked_shl(32 - bits).unwrap_or(0);
            u32::from(ip) & mask == u32::from(net) & mask
        }
        (IpAddr::V6(ip), IpAddr::V6(net)) => {
            let bits = u32::from(prefix.unwrap_or(128));
            let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
            u128::from(ip) & mask == u128::from(net) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ban(target: &str, also: &[&str], until: Option<u64>) -> BanRecord {
        BanRecord {
            target: BanTarget::parse(target).unwrap(),
            also: also.iter().map(|t| BanTarget::parse(t).unwrap()).collect(),
            reason: None,
            op: None,
            by: "root".into(),
            since: 1,
            until,
        }
    }

    fn at(ip: &str) -> Who<'static> {
        Who {
            name: None,
            identity: None,
            ip: Some(ip.parse().unwrap()),
        }
    }

    #[test]
    fn targets_match_names_keys_and_networks() {
        let by_name = ban("Bob", &["key:40dd79759f005170", "addr:192.0.2.7"], None);
        let named = |name| Who {
            name: Some(name),
            identity: None,
            ip: None,
        };
        assert!(by_name.matches(&named("bOB")));
        assert!(!by_name.matches(&named("bobby")));
        assert!(by_name.matches(&Who {
            name: Some("other"),
            identity: Some(Fingerprint([
                0x40, 0xdd, 0x79, 0x75, 0x9f, 0x00, 0x51, 0x70
            ])),
            ip: None
        }));
        assert!(by_name.matches(&at("192.0.2.7")));
        assert!(by_name.matches(&at("::ffff:192.0.2.7")));
        assert!(!by_name.matches(&at("192.0.2.8")));

        let net = ban("addr:2001:db8:1:2::/64", &[], None);
        assert!(net.matches(&at("2001:db8:1:2:ffff::1")));
        assert!(!net.matches(&at("2001:db8:1:3::1")));
        assert!(!net.matches(&at("192.0.2.7")));
        let v4 = ban("addr:10.1.0.0/16", &[], Some(100));
        assert!(v4.matches(&at("10.1.255.3")) && !v4.matches(&at("10.2.0.1")));
        assert!(v4.in_force(99) && !v4.in_force(100));
        assert!(v4.to_wire().is_none(), "operators see no addresses");
        assert_eq!(by_name.to_wire().unwrap().target, "Bob");
    }
}
