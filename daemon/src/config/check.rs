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

/// Longest any configured duration may be: a day is already far beyond
/// sane, and the bound keeps deadline arithmetic from overflowing.
pub const MAX_DURATION: Duration = Duration::from_secs(86_400);

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
                .parse::<crate::per_address::connections::Cidr>()
                .map_err(|message| Invalid {
                    key: "limit_exempt",
                    message: format!("limit_exempt: {message}"),
                })?;
        }
        for range in &self.trusted_proxies {
            let cidr = range
                .parse::<crate::per_address::connections::Cidr>()
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
        self.validate_cluster()
    }

    /// The `cluster*` and `node_name` settings.
    fn validate_cluster(&self) -> Result<(), Invalid> {
        let invalid = |key: &'static str, message: String| Err(Invalid { key, message });
        for url in &self.cluster {
            let shown = crate::cluster::shown_urls(std::slice::from_ref(url));
            let scheme_ok = url
                .split_once("://")
                .is_none_or(|(scheme, _)| matches!(scheme, "nats" | "tls"));
            if !scheme_ok || url.chars().any(char::is_whitespace) {
                return invalid(
                    "cluster",
                    format!(
                        "cluster: {shown:?} is not a NATS URL; write nats://HOST:PORT (or tls://HOST:PORT)"
                    ),
                );
            }
            if self.cluster_credentials.is_none() && !crate::cluster::is_loopback_url(url) {
                return invalid(
                    "cluster",
                    format!(
                        "cluster: {shown} is not on this machine, and the cluster carries the room's key and messages: \
                         set cluster_credentials to a NATS credentials (.creds) or nkey seed file, and use TLS"
                    ),
                );
            }
        }
        if let Some(name) = &self.node_name
            && !crate::cluster::valid_node_name(name)
        {
            return invalid(
                "node_name",
                "node_name must be 1 to 64 of the characters A-Z a-z 0-9 _ - .".into(),
            );
        }
        let ttl = self.cluster_claim_ttl.0;
        if ttl < Duration::from_secs(3) || ttl > Duration::from_secs(3600) {
            return invalid(
                "cluster_claim_ttl",
                "cluster_claim_ttl must be between 3s and 1h".into(),
            );
        }
        if self.cluster_start_timeout.0 > Duration::from_secs(3600) {
            return invalid(
                "cluster_start_timeout",
                "cluster_start_timeout must be at most 1h".into(),
            );
        }
        if !matches!(self.cluster_replicas, 1..=5) {
            return invalid(
                "cluster_replicas",
                "cluster_replicas must be between 1 and 5 (3 on a three-server NATS cluster)"
                    .into(),
            );
        }
        Ok(())
    }
}
