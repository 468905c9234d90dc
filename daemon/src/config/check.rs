//! What values the configuration allows: the bounds, and the checks that
//! the types alone do not make ([`Config::validate`]), each failure named
//! by its key so that a file's error can give the line.

use std::time::Duration;

use crate::config::{Config, Invalid};

/// Largest `max_text` allowed: a message and its envelope must fit one
/// server message along with escaping.
pub const MAX_TEXT_CEILING: usize = 64 * 1024;

/// Bounds of `outbound_queue_bytes`: room for a few of the largest
/// messages, and not more than any one client should ever pin.
pub const MIN_QUEUE_BYTES: usize = 64 * 1024;
/// See [`MIN_QUEUE_BYTES`].
pub const MAX_QUEUE_BYTES: usize = 1024 * 1024 * 1024;

/// Largest configuration file read: the documented file is a few KiB.
pub const MAX_CONFIG_BYTES: u64 = 1024 * 1024;

/// Longest `room_idle_expiry` may be: a year and a day.
pub const MAX_ROOM_IDLE_EXPIRY: Duration = Duration::from_secs(366 * 86_400);

/// Smallest `history_max_bytes`: room for a few of the longest messages.
pub const MIN_HISTORY_BYTES: usize = 1024 * 1024;

/// Longest any configured duration may be: a day is already far beyond
/// sane, and the bound keeps deadline arithmetic from overflowing. (One
/// exception: `name_expiry`, counted in days: [`NAME_EXPIRY`].)
pub const MAX_DURATION: Duration = Duration::from_secs(86_400);

/// The bounds of `name_expiry`: a day to ten years. It is compared with
/// Unix seconds, never added to a deadline.
pub const NAME_EXPIRY: std::ops::RangeInclusive<Duration> =
    Duration::from_secs(86_400)..=Duration::from_secs(3650 * 86_400);

/// The largest `max_names`: the registry is kept in memory and written
/// whole (`STATE_DIR/names`).
pub const MAX_NAMES_CEILING: usize = 100_000;

impl Config {
    /// Checks values that the types alone do not bound.
    pub fn validate(&self) -> Result<(), Invalid> {
        let check = |ok: bool, key: &'static str, message: &str| {
            if ok {
                Ok(())
            } else {
                Err(Invalid {
                    key,
                    message: message.to_string(),
                })
            }
        };
        check(
            (1..=MAX_TEXT_CEILING).contains(&self.max_text),
            "max_text",
            "max_text must be between 1 and 65536 bytes",
        )?;
        check(
            self.history <= 10_000,
            "history",
            "history must be at most 10000 messages",
        )?;
        check(
            self.max_users >= 1,
            "max_users",
            "max_users must be at least 1",
        )?;
        check(
            self.max_connections_per_ip >= 1,
            "max_connections_per_ip",
            "max_connections_per_ip must be at least 1",
        )?;
        check(
            self.connections_per_ip_per_minute >= 1,
            "connections_per_ip_per_minute",
            "connections_per_ip_per_minute must be at least 1",
        )?;
        for range in &self.limit_exempt {
            range
                .parse::<super::network::Cidr>()
                .map_err(|message| Invalid {
                    key: "limit_exempt",
                    message: format!("limit_exempt: {message}"),
                })?;
        }
        for range in &self.trusted_proxies {
            let cidr = range
                .parse::<super::network::Cidr>()
                .map_err(|message| Invalid {
                    key: "trusted_proxies",
                    message: format!("trusted_proxies: {message}"),
                })?;
            check(
                !cidr.is_everything(),
                "trusted_proxies",
                &format!(
                    "trusted_proxies: \"{range}\" trusts every address, so any client could claim to be any other \
                     (and dodge the per-address limits and the password-guess throttle): list only your reverse proxies' addresses"
                ),
            )?;
        }
        check(
            self.rate_burst >= 1,
            "rate_burst",
            "rate_burst must be at least 1",
        )?;
        check(
            self.rate_per_second >= 1,
            "rate_per_second",
            "rate_per_second must be at least 1",
        )?;
        check(
            self.outbound_queue >= 1,
            "outbound_queue",
            "outbound_queue must be at least 1",
        )?;
        check(
            (MIN_QUEUE_BYTES..=MAX_QUEUE_BYTES).contains(&self.outbound_queue_bytes),
            "outbound_queue_bytes",
            "outbound_queue_bytes must be between 65536 (64 KiB) and 1073741824 (1 GiB)",
        )?;
        for (key, d) in [
            ("presence_interval", self.presence_interval),
            ("handshake_timeout", self.handshake_timeout),
            ("keepalive_interval", self.keepalive_interval),
            ("keepalive_timeout", self.keepalive_timeout),
            ("write_timeout", self.write_timeout),
            ("shutdown_timeout", self.shutdown_timeout),
        ] {
            check(!d.0.is_zero(), key, &format!("{key} must be more than 0"))?;
            check(
                d.0 <= MAX_DURATION,
                key,
                &format!("{key} must be at most 1d"),
            )?;
        }
        check(
            self.max_rooms >= 1,
            "max_rooms",
            "max_rooms must be at least 1 (the default room)",
        )?;
        check(
            self.max_rooms_per_session >= 1,
            "max_rooms_per_session",
            "max_rooms_per_session must be at least 1 (the default room)",
        )?;
        check(
            self.room_idle_expiry.0 <= MAX_ROOM_IDLE_EXPIRY,
            "room_idle_expiry",
            "room_idle_expiry must be at most 366d",
        )?;
        check(
            !self.room_idle_expiry.0.is_zero(),
            "room_idle_expiry",
            "room_idle_expiry must be more than 0 (a room made by joining it would go at once)",
        )?;
        check(
            self.history_max_bytes >= MIN_HISTORY_BYTES,
            "history_max_bytes",
            "history_max_bytes must be at least 1048576 (1 MiB)",
        )?;
        check(
            NAME_EXPIRY.contains(&self.name_expiry.0),
            "name_expiry",
            "name_expiry must be at least 1d and at most 3650d (ten years)",
        )?;
        check(
            (1..=MAX_NAMES_CEILING).contains(&self.max_names),
            "max_names",
            "max_names must be between 1 and 100000",
        )?;
        check(
            self.keepalive_timeout.0 > self.keepalive_interval.0,
            "keepalive_timeout",
            "keepalive_timeout must be longer than keepalive_interval",
        )?;
        if let Some(motd) = &self.motd {
            chat_protocol::validate_text(motd, self.max_text).map_err(|(_, e)| Invalid {
                key: "motd",
                message: format!("motd: {e}"),
            })?;
        }
        self.listen_addr()?;
        self.metrics_addr()?;
        self.validate_cluster()
    }
}
