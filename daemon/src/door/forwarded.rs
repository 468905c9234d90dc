//! Who the client is behind a trusted reverse proxy.
//!
//! Behind a proxy every connection comes from the proxy's address, so one
//! client's wrong passwords or connections would count against everyone
//! else's. A connection from an address in `trusted_proxies` is counted
//! instead under the client's address that the proxy writes in the one
//! header `forwarded_header` names (`X-Forwarded-For`, or RFC 7239's
//! `Forwarded`); the other header is never read, so a client cannot
//! smuggle an address in it through a proxy that passes it on.
//!
//! Each proxy appends the address it got the request from, so the header
//! lists the hops from the client to the last proxy, and everything left
//! of the first proxy's entry is whatever the client wrote. The client is
//! the right-most hop that is not a trusted proxy: the address the
//! nearest untrusted party connected from. When that hop says it is not
//! known (`unknown`, or an obfuscated name like `_hidden`), or the
//! header is absent, the connection counts as the proxy's own. When it is
//! not an address at all, the proxy is broken: the request is refused
//! (400) and the problem logged, rather than lumping every client of that
//! proxy under one address without a word.

use std::net::{IpAddr, SocketAddr};

use crate::config::Config;
use crate::config::network::Cidr;
pub use crate::config::network::ForwardedHeader;
use axum::http::HeaderMap;

/// The proxies in force (from the configuration).
#[derive(Clone, Debug, Default)]
pub struct Proxies {
    /// Addresses or ranges of the trusted proxies.
    pub trusted: Vec<Cidr>,
    /// The one header read from them.
    pub header: ForwardedHeader,
}

/// A header a trusted proxy sent that does not name an address where the
/// client should be: what it said, for the log.
#[derive(Debug, PartialEq, Eq)]
pub struct Malformed(pub String);

/// One hop of the header.
#[derive(Debug, PartialEq, Eq)]
enum Hop {
    Address(IpAddr, Option<u16>),
    /// `unknown` or an obfuscated identifier: the proxy does not say.
    Unknown,
    Bad(String),
}

impl Proxies {
    /// The proxies a configuration trusts (ranges that do not parse, which
    /// the configuration's checks refuse, are left out).
    pub fn of(config: &Config) -> Self {
        Self {
            trusted: config
                .trusted_proxies
                .iter()
                .filter_map(|range| range.parse().ok())
                .collect(),
            header: config.forwarded_header,
        }
    }

    /// Whether connections from `ip` come through a trusted proxy.
    pub fn trusts(&self, ip: IpAddr) -> bool {
        self.trusted.iter().any(|cidr| cidr.contains(ip))
    }

    /// The client of a request that came from the trusted proxy `proxy`:
    /// the right-most hop of the header that is not a trusted proxy (its
    /// port when the header gives one, else 0); the proxy itself when the
    /// header is absent or that hop is not known.
    pub fn client(&self, headers: &HeaderMap, proxy: SocketAddr) -> Result<SocketAddr, Malformed> {
        let hops = match self.header {
            ForwardedHeader::XForwardedFor => x_forwarded_for(headers)?,
            ForwardedHeader::Forwarded => forwarded(headers)?,
        };
        let mut leftmost = None;
        for hop in hops.into_iter().rev() {
            match hop {
                Hop::Address(ip, port) if self.trusts(ip) => leftmost = Some((ip, port)),
                Hop::Address(ip, port) => return Ok(SocketAddr::new(ip, port.unwrap_or(0))),
                Hop::Unknown => return Ok(proxy),
                Hop::Bad(text) => return Err(Malformed(text)),
            }
        }
        // Every hop a trusted proxy: the first one is the client.
        Ok(leftmost.map_or(proxy, |(ip, port)| SocketAddr::new(ip, port.unwrap_or(0))))
    }
}

/// The values of every `name` header, in order, as text.
fn values<'a>(
    headers: &'a HeaderMap,
    name: &'static str,
) -> Result<impl Iterator<Item = &'a str>, Malformed> {
    let values: Vec<&str> = headers
        .get_all(name)
        .iter()
        .map(|v| {
            v.to_str()
                .map_err(|_| Malformed(format!("{name}: not ASCII")))
        })
        .collect::<Result<_, _>>()?;
    Ok(values.into_iter())
}

/// `X-Forwarded-For`: a comma list of addresses (headers given more than
/// once are one list, in order).
fn x_forwarded_for(headers: &HeaderMap) -> Result<Vec<Hop>, Malformed> {
    Ok(values(headers, "x-forwarded-for")?
        .flat_map(|v| v.split(','))
        .map(|hop| node(hop.trim()))
        .collect())
}

/// `Forwarded` (RFC 7239): a comma list of elements, each `;`-separated
/// `name=value` pairs, a value a token or a quoted string; the hop is the
/// element's `for`, and an element without one is not known.
fn forwarded(headers: &HeaderMap) -> Result<Vec<Hop>, Malformed> {
    let mut hops = Vec::new();
    for value in values(headers, "forwarded")? {
        for element in split_unquoted(value, ',') {
            let mut hop = None;
            for pair in split_unquoted(element, ';') {
                let pair = pair.trim();
                if pair.is_empty() {
                    continue;
                }
                let Some((name, value)) = pair.split_once('=') else {
                    hop = Some(Hop::Bad(element.trim().to_string()));
                    break;
                };
                if !name.trim().eq_ignore_ascii_case("for") {
                    continue;
                }
                if hop.is_some() {
                    hop = Some(Hop::Bad(element.trim().to_string()));
                    break;
                }
                hop = Some(match unquote(value.trim()) {
                    Some(text) => node(&text),
                    None => Hop::Bad(value.trim().to_string()),
                });
            }
            hops.push(hop.unwrap_or(Hop::Unknown));
        }
    }
    Ok(hops)
}

/// `text` split at each `sep` that is not inside double quotes.
fn split_unquoted(text: &str, sep: char) -> Vec<&str> {
    let (mut parts, mut start, mut quoted, mut escaped) = (Vec::new(), 0, false, false);
    for (i, c) in text.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            c if c == sep && !quoted => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

/// A token, or a quoted string with its escapes undone; `None` for an
/// unterminated quote.
fn unquote(value: &str) -> Option<String> {
    let Some(inner) = value.strip_prefix('"') else {
        return Some(value.to_string());
    };
    let inner = inner.strip_suffix('"')?;
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        out.push(if c == '\\' { chars.next()? } else { c });
    }
    Some(out)
}

/// One node: an address, with a port or not (`192.0.2.1`, `192.0.2.1:80`,
/// `2001:db8::1`, `[2001:db8::1]:80`), `unknown`, or an obfuscated name
/// (`_` and letters, digits, `.`, `_`, `-`, as RFC 7239 §6.3 writes them).
fn node(text: &str) -> Hop {
    if text.eq_ignore_ascii_case("unknown")
        || (text.starts_with('_')
            && text[1..]
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
            && text.len() > 1)
    {
        return Hop::Unknown;
    }
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Hop::Address(ip, None);
    }
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return Hop::Address(addr.ip(), Some(addr.port()));
    }
    // `[2001:db8::1]` without a port.
    if let Some(ip) = text
        .strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .and_then(|t| t.parse::<std::net::Ipv6Addr>().ok())
    {
        return Hop::Address(IpAddr::V6(ip), None);
    }
    Hop::Bad(text.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proxies(header: ForwardedHeader, trusted: &[&str]) -> Proxies {
        Proxies {
            trusted: trusted.iter().map(|c| c.parse().unwrap()).collect(),
            header,
        }
    }

    fn client(p: &Proxies, headers: &[(&str, &str)]) -> Result<String, Malformed> {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.append(
                axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                value.parse().unwrap(),
            );
        }
        let proxy: SocketAddr = "10.0.0.1:5555".parse().unwrap();
        p.client(&map, proxy).map(|a| a.to_string())
    }

    #[test]
    fn a_configuration_names_the_proxies_and_their_header() {
        let config = Config::parse(
            "trusted_proxies = [\"10.0.0.0/8\", \"fd00::1\"]\nforwarded_header = \"forwarded\"\n",
            std::path::Path::new("chatd.toml"),
        )
        .unwrap();
        let proxies = Proxies::of(&config);
        assert!(proxies.trusts("10.1.2.3".parse().unwrap()));
        assert!(proxies.trusts("fd00::1".parse().unwrap()));
        assert!(!proxies.trusts("192.0.2.1".parse().unwrap()));
        assert_eq!(proxies.header, ForwardedHeader::Forwarded);
    }

    #[test]
    fn the_client_is_the_right_most_untrusted_hop() {
        let p = proxies(ForwardedHeader::XForwardedFor, &["10.0.0.0/8"]);
        let xff = |v| client(&p, &[("X-Forwarded-For", v)]).unwrap();
        assert_eq!(xff("203.0.113.5"), "203.0.113.5:0");
        // What the client wrote itself is on the left, never read.
        assert_eq!(xff("198.51.100.1, 203.0.113.5"), "203.0.113.5:0");
        // Behind two proxies of ours.
        assert_eq!(xff("198.51.100.1, 203.0.113.5, 10.0.0.2"), "203.0.113.5:0");
        // Every hop ours: the first.
        assert_eq!(xff("10.0.0.3, 10.0.0.2"), "10.0.0.3:0");
        assert_eq!(xff("2001:db8::7"), "[2001:db8::7]:0");
        assert_eq!(xff("[2001:db8::7]:443"), "[2001:db8::7]:443");
        assert_eq!(xff("203.0.113.5:4711"), "203.0.113.5:4711");
        // Two headers are one list, in order.
        assert_eq!(
            client(
                &p,
                &[
                    ("X-Forwarded-For", "203.0.113.5"),
                    ("X-Forwarded-For", "10.0.0.2")
                ]
            )
            .unwrap(),
            "203.0.113.5:0"
        );
    }

    #[test]
    fn without_the_header_or_a_known_client_it_is_the_proxy_itself() {
        let p = proxies(ForwardedHeader::XForwardedFor, &["10.0.0.0/8"]);
        assert_eq!(client(&p, &[]).unwrap(), "10.0.0.1:5555");
        assert_eq!(
            client(&p, &[("X-Forwarded-For", "203.0.113.5, unknown")]).unwrap(),
            "10.0.0.1:5555"
        );
        assert_eq!(
            client(&p, &[("X-Forwarded-For", "_hidden")]).unwrap(),
            "10.0.0.1:5555"
        );
    }

    #[test]
    fn only_the_configured_header_is_read() {
        let xff = proxies(ForwardedHeader::XForwardedFor, &["10.0.0.0/8"]);
        let both = [
            ("X-Forwarded-For", "203.0.113.5"),
            ("Forwarded", "for=198.51.100.9"),
        ];
        assert_eq!(client(&xff, &both).unwrap(), "203.0.113.5:0");
        assert_eq!(
            client(&xff, &[("Forwarded", "for=198.51.100.9")]).unwrap(),
            "10.0.0.1:5555",
            "a Forwarded header is not read when X-Forwarded-For is configured"
        );
        let fwd = proxies(ForwardedHeader::Forwarded, &["10.0.0.0/8"]);
        assert_eq!(client(&fwd, &both).unwrap(), "198.51.100.9:0");
        assert_eq!(
            client(&fwd, &[("X-Forwarded-For", "203.0.113.5")]).unwrap(),
            "10.0.0.1:5555"
        );
    }

    #[test]
    fn forwarded_is_read_as_rfc_7239_writes_it() {
        let p = proxies(ForwardedHeader::Forwarded, &["10.0.0.0/8"]);
        let fwd = |v| client(&p, &[("Forwarded", v)]);
        assert_eq!(
            fwd("for=198.51.100.1, for=\"[2001:db8:cafe::17]:4711\";proto=https;by=10.0.0.1")
                .unwrap(),
            "[2001:db8:cafe::17]:4711"
        );
        assert_eq!(fwd("For=\"203.0.113.5\"").unwrap(), "203.0.113.5:0");
        assert_eq!(
            fwd("for=203.0.113.5, for=10.0.0.2;host=\"a,b\"").unwrap(),
            "203.0.113.5:0"
        );
        // An element without `for`: not known.
        assert_eq!(fwd("proto=https").unwrap(), "10.0.0.1:5555");
        assert_eq!(fwd("for=unknown").unwrap(), "10.0.0.1:5555");
    }

    #[test]
    fn a_hop_that_is_not_an_address_is_malformed() {
        let xff = proxies(ForwardedHeader::XForwardedFor, &["10.0.0.0/8"]);
        for bad in [
            "",
            "203.0.113.5,",
            "host.example",
            "203.0.113",
            "1.2.3.4 5.6.7.8",
        ] {
            assert!(
                client(&xff, &[("X-Forwarded-For", bad)]).is_err(),
                "{bad:?}"
            );
        }
        // Garbage left of the client is the client's own business.
        assert_eq!(
            client(&xff, &[("X-Forwarded-For", "garbage, 203.0.113.5")]).unwrap(),
            "203.0.113.5:0"
        );
        let fwd = proxies(ForwardedHeader::Forwarded, &["10.0.0.0/8"]);
        for bad in [
            "for=host.example",
            "for",
            "for=\"203.0.113.5",
            "for=203.0.113.5;for=198.51.100.1",
        ] {
            assert!(client(&fwd, &[("Forwarded", bad)]).is_err(), "{bad:?}");
        }
    }
}
