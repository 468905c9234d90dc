//! The rules of the cluster settings (`cluster`, `cluster_credentials`,
//! `node_name`, `cluster_claim_ttl`, `cluster_start_timeout`,
//! `cluster_replicas`), and the rules every node holds what it reads from
//! NATS to: a node's name, and URLs shown without their credentials.

use std::time::Duration;

use super::{Config, Invalid};

impl Config {
    /// The `cluster*` and `node_name` settings.
    pub(super) fn validate_cluster(&self) -> Result<(), Invalid> {
        let invalid = |key: &'static str, message: String| Err(Invalid { key, message });
        for url in &self.cluster {
            let shown = shown_urls(std::slice::from_ref(url));
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
            if self.cluster_credentials.is_none() && !is_loopback_url(url) {
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
            && !valid_node_name(name)
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

/// `urls` as they may be shown: any `user:password@` left out.
pub fn shown_urls(urls: &[String]) -> String {
    urls.iter()
        .map(|url| match url.split_once("://") {
            Some((scheme, rest)) => match rest.rsplit_once('@') {
                Some((_, host)) => format!("{scheme}://…@{host}"),
                None => url.clone(),
            },
            None => match url.rsplit_once('@') {
                Some((_, host)) => format!("…@{host}"),
                None => url.clone(),
            },
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// Whether `name` may name a node: 1 to 64 of `A-Z a-z 0-9 _ - .`, the
/// rule of the `node_name` setting. Names read from NATS (claims, liveness
/// entries, control messages, users answers) are held to it too: a node's
/// name becomes a NATS subject token (`<room>.dm.<node>`, its `.` written
/// `=2e`), and `*`, `>`, white space or anything else must never reach a
/// subject, nor a terminal.
pub fn valid_node_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

/// Whether `url` points at this machine only (loopback), where the cluster
/// may run without credentials.
pub fn is_loopback_url(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let rest = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
    let host = if let Some(v6) = rest.strip_prefix('[') {
        v6.split_once(']').map_or(v6, |(h, _)| h)
    } else {
        rest.split(':').next().unwrap_or(rest)
    };
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_urls_are_recognised() {
        for url in [
            "nats://127.0.0.1:4222",
            "nats://localhost:4222",
            "nats://[::1]:4222",
            "nats://u:p@127.0.0.2:4222",
            "127.0.0.1:4222",
        ] {
            assert!(is_loopback_url(url), "{url}");
        }
        for url in [
            "nats://10.0.0.1:4222",
            "nats://nats.example.org:4222",
            "nats://[2001:db8::1]:4222",
            "nats://localhost.evil.org:4222",
        ] {
            assert!(!is_loopback_url(url), "{url}");
        }
    }

    #[test]
    fn node_names_that_could_reach_a_subject_badly_are_refused() {
        for good in ["a", "n1", "chat-1.example.org", "A_b"] {
            assert!(valid_node_name(good), "{good}");
        }
        let long = "n".repeat(65);
        for bad in [
            "",
            "*",
            ">",
            "a.*",
            "a.>",
            "a b",
            "a\tb",
            "a\nb",
            "é",
            long.as_str(),
        ] {
            assert!(!valid_node_name(bad), "{bad:?}");
        }
    }

    #[test]
    fn credentials_in_urls_are_never_shown() {
        let urls = [
            "nats://u:secret@127.0.0.1:4222".to_string(),
            "tls://nats.example.org:4222".to_string(),
            "u:secret@10.0.0.1:4222".to_string(),
        ];
        let shown = shown_urls(&urls);
        assert!(!shown.contains("secret"), "{shown}");
        assert_eq!(
            shown,
            "nats://…@127.0.0.1:4222,tls://nats.example.org:4222,…@10.0.0.1:4222"
        );
    }
}
