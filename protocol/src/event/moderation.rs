//! What moderation adds to the events (docs/protocol.md §10.7): the
//! actions the room is told of, a ban as the `bans` answer lists it, what
//! a ban applies to ([`BanTarget`]), and the rules for a moderator's
//! reason and length.
//!
//! Operators act from their client (`kick`, `ban`, `unban`, `mute`,
//! `unmute`, `bans`); the server's admin acts through chatctl. Whoever
//! acted, the room is told once with a `moderation` event, which names the
//! operator in `by` (absent: the server's admin).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::{Deserialize, Serialize};

use crate::event::code::ErrorCode;
use crate::identity::Fingerprint;

/// The longest reason for a kick, ban or mute, in bytes.
pub const MAX_REASON: usize = 200;

/// The longest a ban or mute with a length may last (`for`, in seconds):
/// 366 days. Longer is "until lifted" (no `for`).
pub const MAX_FOR_SECS: u64 = 366 * 86_400;

/// The shortest network an `addr:` target may name: a wider one bans a
/// large part of the Internet, which is never what was meant.
pub const MIN_PREFIX_V4: u8 = 8;

/// The shortest IPv6 network an `addr:` target may name.
pub const MIN_PREFIX_V6: u8 = 16;

/// What a `moderation` event tells the room was done.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ModerationAction {
    /// A user was disconnected (they may join again).
    Kick,
    /// A name, identity or address was banned: its sessions end, its
    /// joins are refused.
    Ban,
    /// A ban was lifted.
    Unban,
    /// A user may read but not speak.
    Mute,
    /// A mute was lifted.
    Unmute,
    /// A registered name was made an operator of the room.
    Op,
    /// A name is an operator no longer.
    Deop,
    /// A registered name was invited into a room (the event's `room`);
    /// told to the room's members and to the name invited.
    Invite,
    /// An action this side does not know.
    #[serde(other)]
    Other,
}

/// One ban, as the `bans` answer lists it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Ban {
    /// What is banned, in the text form [`BanTarget`] reads (what `unban`
    /// takes). A string here, so that a client reads a form it does not
    /// know.
    pub target: String,
    /// Why, as the moderator said it; absent when no reason was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The operator who banned; absent: the server's admin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    /// When the ban began, Unix milliseconds.
    pub since: u64,
    /// When it ends by itself, Unix milliseconds; absent: until lifted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<u64>,
}

/// Checks a moderator's reason: at most [`MAX_REASON`] bytes on one line,
/// with no control character at all (not even a tab or a newline), and
/// not only white space. The codes are those of a message's text.
pub fn validate_reason(reason: &str) -> Result<(), (ErrorCode, String)> {
    if reason.len() > MAX_REASON {
        return Err((
            ErrorCode::TextTooLong,
            format!(
                "the reason is {} bytes; the limit is {MAX_REASON}",
                reason.len()
            ),
        ));
    }
    if reason.trim().is_empty() {
        return Err((ErrorCode::TextInvalid, "the reason is empty".into()));
    }
    if let Some(c) = reason.chars().find(|c| c.is_control()) {
        return Err((
            ErrorCode::TextInvalid,
            format!(
                "the reason is one line without control characters (it holds U+{:04X})",
                u32::from(c)
            ),
        ));
    }
    Ok(())
}

/// What a ban applies to, in one of three text forms:
///
/// - `NAME`: a username (1–32 of `A-Z a-z 0-9 _ . -`);
/// - `key:FINGERPRINT`: an identity, by its fingerprint (16 hex digits);
/// - `addr:ADDRESS` or `addr:ADDRESS/PREFIX`: an IPv4 or IPv6 address, or
///   a network (IPv4 /8 to /32, IPv6 /16 to /128).
///
/// Read strictly and written in one form: the fingerprint in lowercase,
/// the address as Rust writes it (IPv6 compressed, an IPv4-mapped IPv6
/// address as IPv4), a network by its first address, and a prefix that
/// covers one address left out. Operators may ban names only; the other
/// forms are the admin's (docs/protocol.md §10.7).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum BanTarget {
    /// A username, as given (matched case-insensitively).
    Name(String),
    /// An identity, by its fingerprint.
    Key(Fingerprint),
    /// An address, or the network of `prefix` bits around it.
    Addr {
        /// The address (the network's first one).
        addr: IpAddr,
        /// The network's prefix length; `None`: this address alone.
        prefix: Option<u8>,
    },
}

impl BanTarget {
    /// Reads the text form (see the type's documentation); `Err` says what
    /// is wrong and what the forms are.
    pub fn parse(text: &str) -> Result<Self, String> {
        const FORMS: &str =
            "a ban's target is NAME, key:FINGERPRINT (16 hex digits) or addr:ADDRESS[/PREFIX]";
        if let Some(hex) = text.strip_prefix("key:") {
            let bytes = crate::hex::decode(hex)
                .and_then(|b| <[u8; 8]>::try_from(b).ok())
                .ok_or_else(|| {
                    format!("key:{hex:?} is not a fingerprint (16 hex digits); {FORMS}")
                })?;
            return Ok(Self::Key(Fingerprint(bytes)));
        }
        if let Some(addr) = text.strip_prefix("addr:") {
            return parse_addr(addr).map_err(|why| format!("addr:{addr:?}: {why}; {FORMS}"));
        }
        if crate::valid_username(text) {
            return Ok(Self::Name(text.to_owned()));
        }
        Err(format!("{text:?} is not a ban's target: {FORMS}"))
    }

    /// Whether this is a name (the one form an operator may ban).
    pub fn is_name(&self) -> bool {
        matches!(self, Self::Name(_))
    }
}

/// `ADDRESS` or `ADDRESS/PREFIX`, in the one form [`BanTarget`] keeps.
fn parse_addr(text: &str) -> Result<BanTarget, String> {
    let (addr, prefix) = match text.split_once('/') {
        Some((addr, prefix)) => {
            let prefix: u8 = prefix
                .parse()
                .ok()
                .filter(|_| prefix.bytes().all(|b| b.is_ascii_digit()))
                .ok_or("the prefix is not a number")?;
            (addr, Some(prefix))
        }
        None => (text, None),
    };
    let mut addr: IpAddr = addr
        .parse()
        .map_err(|_| "not an IPv4 or IPv6 address (no brackets, no port)")?;
    let mut prefix = prefix;
    // One address, one form: an IPv4-mapped IPv6 address is IPv4.
    if let IpAddr::V6(v6) = addr
        && let Some(v4) = v6.to_ipv4_mapped()
    {
        prefix = match prefix {
            Some(p) if p < 96 => return Err("an IPv4-mapped network must be /96 or longer".into()),
            Some(p) => Some(p - 96),
            None => None,
        };
        addr = IpAddr::V4(v4);
    }
    let (bits, min) = match addr {
        IpAddr::V4(_) => (32, MIN_PREFIX_V4),
        IpAddr::V6(_) => (128, MIN_PREFIX_V6),
    };
    match prefix {
        Some(p) if p > bits => return Err(format!("the prefix is longer than {bits} bits")),
        Some(p) if p < min => {
            return Err(format!(
                "a network wider than /{min} would ban a large part of the Internet"
            ));
        }
        _ => {}
    }
    let prefix = prefix.filter(|&p| p < bits);
    if let Some(p) = prefix {
        addr = network(addr, p);
    }
    Ok(BanTarget::Addr { addr, prefix })
}

/// The first address of the network of `prefix` bits around `addr`.
fn network(addr: IpAddr, prefix: u8) -> IpAddr {
    match addr {
        IpAddr::V4(v4) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V4(Ipv4Addr::from(u32::from(v4) & mask))
        }
        IpAddr::V6(v6) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V6(Ipv6Addr::from(u128::from(v6) & mask))
        }
    }
}

impl fmt::Display for BanTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Name(name) => f.write_str(name),
            Self::Key(fingerprint) => write!(f, "key:{fingerprint}"),
            Self::Addr { addr, prefix: None } => write!(f, "addr:{addr}"),
            Self::Addr {
                addr,
                prefix: Some(p),
            } => write!(f, "addr:{addr}/{p}"),
        }
    }
}

impl std::str::FromStr for BanTarget {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        Self::parse(text)
    }
}

impl Serialize for BanTarget {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for BanTarget {
    /// The text form, read strictly (no white space forgiven).
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round(text: &str) -> String {
        BanTarget::parse(text).unwrap().to_string()
    }

    #[test]
    fn targets_read_strictly_and_write_in_one_form() {
        assert_eq!(BanTarget::parse("bob"), Ok(BanTarget::Name("bob".into())));
        assert_eq!(round("key:40DD79759F005170"), "key:40dd79759f005170");
        assert_eq!(round("addr:192.0.2.7"), "addr:192.0.2.7");
        assert_eq!(round("addr:192.0.2.7/24"), "addr:192.0.2.0/24");
        assert_eq!(round("addr:192.0.2.7/32"), "addr:192.0.2.7");
        assert_eq!(round("addr:2001:DB8::1/64"), "addr:2001:db8::/64");
        assert_eq!(round("addr:2001:db8::1/128"), "addr:2001:db8::1");
        assert_eq!(round("addr:::ffff:192.0.2.7"), "addr:192.0.2.7");
        assert_eq!(round("addr:::ffff:192.0.2.7/120"), "addr:192.0.2.0/24");
        for bad in [
            "",
            " bob",
            "bob ",
            "b@d",
            "key:",
            "key:40dd",
            "key:40dd79759f00517g",
            "KEY:40dd79759f005170",
            "addr:",
            "addr:host.example",
            "addr:[2001:db8::1]",
            "addr:192.0.2.7:1719",
            "addr:192.0.2.7/33",
            "addr:192.0.2.7/7",
            "addr:192.0.2.7/+24",
            "addr:192.0.2.7/",
            "addr:2001:db8::/15",
            "addr:::ffff:192.0.2.7/64",
        ] {
            assert!(BanTarget::parse(bad).is_err(), "{bad:?}");
        }
        let why = BanTarget::parse("addr:10.0.0.0/4").unwrap_err();
        assert!(
            why.contains("wider than /8") && why.contains("key:FINGERPRINT"),
            "{why}"
        );
    }

    #[test]
    fn targets_are_json_strings() {
        let target: BanTarget = serde_json::from_str(r#""addr:10.1.2.3/16""#).unwrap();
        assert_eq!(
            serde_json::to_string(&target).unwrap(),
            r#""addr:10.1.0.0/16""#
        );
        assert!(serde_json::from_str::<BanTarget>(r#"" bob""#).is_err());
        assert!(serde_json::from_str::<BanTarget>("7").is_err());
    }

    #[test]
    fn moderation_events_round_trip_with_their_wire_names() {
        use crate::{ClientEvent, ServerEvent};
        let ban = ClientEvent::Ban {
            target: BanTarget::Name("bob".into()),
            for_secs: Some(600),
            reason: Some("spam".into()),
        };
        let json = String::from_utf8(ban.to_bytes()).unwrap();
        assert_eq!(
            json,
            r#"{"type":"ban","target":"bob","for":600,"reason":"spam"}"#
        );
        assert_eq!(ClientEvent::from_bytes(json.as_bytes()), Some(ban));
        assert_eq!(
            ClientEvent::from_bytes(br#"{"type":"mute","name":"bob"}"#),
            Some(ClientEvent::Mute {
                name: "bob".into(),
                for_secs: None,
                reason: None
            })
        );
        // A target that is none of the forms, or a length that is not a
        // whole number: unreadable (the server answers `bad_event`).
        for bad in [
            &br#"{"type":"ban","target":"b@d"}"#[..],
            br#"{"type":"unban","target":"addr:10.0.0.1/99"}"#,
            br#"{"type":"ban","target":"bob","for":-1}"#,
            br#"{"type":"ban","target":"bob","for":"10m"}"#,
            br#"{"type":"kick"}"#,
        ] {
            assert_eq!(ClientEvent::from_bytes(bad), None, "{bad:?}");
        }

        let told = ServerEvent::Moderation {
            room: None,
            action: ModerationAction::Ban,
            target: "key:40dd79759f005170".into(),
            by: None,
            until: None,
            reason: None,
            ts: 7,
        };
        let json = String::from_utf8(told.to_bytes()).unwrap();
        assert_eq!(
            json,
            r#"{"type":"moderation","action":"ban","target":"key:40dd79759f005170","ts":7}"#
        );
        assert_eq!(ServerEvent::from_bytes(json.as_bytes()), Some(told));
        // A newer server's action, and a target form this side does not
        // know, still read.
        let newer =
            br#"{"type":"moderation","action":"shun","target":"net:x","by":"carol","ts":1}"#;
        assert!(matches!(
            ServerEvent::from_bytes(newer),
            Some(ServerEvent::Moderation {
                action: ModerationAction::Other,
                ..
            })
        ));
        // An older server's error, reject and bye (no `until`) still read.
        assert!(matches!(
            ServerEvent::from_bytes(br#"{"type":"error","code":"muted","message":"m"}"#),
            Some(ServerEvent::Error {
                code: ErrorCode::Muted,
                until: None,
                ..
            })
        ));
        assert!(matches!(
            ServerEvent::from_bytes(br#"{"type":"bye","code":"banned","reason":"r","until":9}"#),
            Some(ServerEvent::Bye { until: Some(9), .. })
        ));
    }

    #[test]
    fn reasons_are_one_short_line() {
        assert!(validate_reason("spam, again").is_ok());
        assert!(validate_reason(&"x".repeat(MAX_REASON)).is_ok());
        assert_eq!(
            validate_reason(&"x".repeat(MAX_REASON + 1)).unwrap_err().0,
            ErrorCode::TextTooLong
        );
        for bad in ["", "  ", "two\nlines", "a\ttab", "esc\x1b[2J"] {
            assert_eq!(
                validate_reason(bad).unwrap_err().0,
                ErrorCode::TextInvalid,
                "{bad:?}"
            );
        }
    }
}
