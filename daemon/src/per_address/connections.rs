//! Connections per address, counted from `accept`: at most
//! `max_connections_per_ip` open at once and `connections_per_ip_per_minute`
//! new ones a minute from one address (an IPv4 address, or an IPv6 /64),
//! so that one host cannot hold every slot or churn through them. A
//! connection over a limit is closed at once, before any HTTP or crypto
//! work. Addresses in `limit_exempt` (a reverse proxy in front, say) are
//! not counted; loopback is counted like any other.

use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use super::AddressKey;
use super::recent::Recent;
use crate::config::Config;
use crate::config::network::Cidr;

/// The window of the per-minute count.
const MINUTE: Duration = Duration::from_secs(60);
/// Addresses tracked at most; past it, the least recently seen address
/// without an open connection is forgotten (so the table holds more only
/// while more addresses than this have connections open, which
/// `max_users` bounds).
const MAX_TRACKED: usize = 100_000;

/// Why a connection was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    /// As many open as allowed from this address.
    TooMany(usize),
    /// As many new this minute as allowed from this address.
    TooFast(u32),
}

#[derive(Debug)]
struct Entry {
    open: usize,
    window_start: Instant,
    new_in_window: u32,
}

type Table = Arc<Mutex<Recent<AddressKey, Entry>>>;

/// The counts per address.
#[derive(Clone)]
pub struct Connections {
    entries: Table,
}

impl Default for Connections {
    fn default() -> Self {
        Self::with_capacity(MAX_TRACKED)
    }
}

/// One counted connection; dropping it frees its place.
pub struct Held {
    entries: Table,
    source: AddressKey,
}

impl Drop for Held {
    fn drop(&mut self) {
        let mut entries = self.entries.lock().expect("lock");
        if let Some(entry) = entries.peek_mut(&self.source) {
            entry.open = entry.open.saturating_sub(1);
        }
    }
}

/// The limits in force (from the configuration).
#[derive(Clone, Debug)]
pub struct Limits {
    /// Open connections per address.
    pub open: usize,
    /// New connections per address per minute.
    pub per_minute: u32,
    /// Addresses not counted.
    pub exempt: Vec<Cidr>,
}

impl Limits {
    /// The limits a configuration sets (ranges that do not parse, which
    /// the configuration's checks refuse, are left out).
    pub fn of(config: &Config) -> Self {
        Self {
            open: config.max_connections_per_ip,
            per_minute: config.connections_per_ip_per_minute,
            exempt: config
                .limit_exempt
                .iter()
                .filter_map(|range| range.parse().ok())
                .collect(),
        }
    }
}

impl Connections {
    /// A table of at most `cap` addresses (beyond those with connections
    /// open).
    fn with_capacity(cap: usize) -> Self {
        Self {
            entries: Arc::new(Mutex::new(Recent::new(cap))),
        }
    }

    /// Counts a new connection from `ip`: `Ok(Some(held))` while it is
    /// open, `Ok(None)` for an exempt address, `Err` over a limit.
    pub fn admit(&self, ip: IpAddr, limits: &Limits) -> Result<Option<Held>, Refused> {
        self.admit_at(ip, limits, Instant::now())
    }

    fn admit_at(&self, ip: IpAddr, limits: &Limits, now: Instant) -> Result<Option<Held>, Refused> {
        if limits.exempt.iter().any(|cidr| cidr.contains(ip)) {
            return Ok(None);
        }
        let source = AddressKey::from(ip);
        let mut entries = self.entries.lock().expect("lock");
        let fresh = || Entry {
            open: 0,
            window_start: now,
            new_in_window: 0,
        };
        // A connection's place must not be forgotten while it is open.
        let entry = entries.entry(&source, fresh, |e| e.open > 0);
        if now.duration_since(entry.window_start) >= MINUTE {
            entry.window_start = now;
            entry.new_in_window = 0;
        }
        if entry.open >= limits.open {
            return Err(Refused::TooMany(limits.open));
        }
        if entry.new_in_window >= limits.per_minute {
            return Err(Refused::TooFast(limits.per_minute));
        }
        entry.open += 1;
        entry.new_in_window += 1;
        Ok(Some(Held {
            entries: self.entries.clone(),
            source,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(open: usize, per_minute: u32, exempt: &[&str]) -> Limits {
        Limits {
            open,
            per_minute,
            exempt: exempt.iter().map(|c| c.parse().unwrap()).collect(),
        }
    }

    #[test]
    fn open_connections_are_bounded_per_address_and_freed_on_drop() {
        let per = Connections::default();
        let l = limits(2, 100, &[]);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let one = per.admit(a, &l).unwrap();
        let _two = per.admit(a, &l).unwrap();
        assert_eq!(per.admit(a, &l).err(), Some(Refused::TooMany(2)));
        assert!(
            per.admit("192.0.2.2".parse().unwrap(), &l).is_ok(),
            "others unaffected"
        );
        drop(one);
        assert!(
            per.admit(a, &l).is_ok(),
            "a closed connection frees its place"
        );
    }

    #[test]
    fn new_connections_are_bounded_per_minute() {
        let per = Connections::default();
        let l = limits(100, 3, &[]);
        let (a, t0) = ("2001:db8::1".parse().unwrap(), Instant::now());
        for _ in 0..3 {
            drop(per.admit_at(a, &l, t0).unwrap());
        }
        // The same /64 counts as the same host.
        let same_64: IpAddr = "2001:db8::ffff".parse().unwrap();
        assert_eq!(
            per.admit_at(same_64, &l, t0).err(),
            Some(Refused::TooFast(3))
        );
        assert!(per.admit_at(a, &l, t0 + MINUTE).is_ok(), "a new minute");
    }

    /// Past the bound, with every address seen within the minute, a new
    /// address forgets the least recent one: the table stays at its
    /// bound, each connection costs the same few steps (no scan), and an
    /// address with a connection open keeps its count.
    #[test]
    fn the_table_is_bounded_and_each_connection_costs_constant_work() {
        const CAP: usize = 1000;
        let per = Connections::with_capacity(CAP);
        let l = limits(1, 100, &[]);
        let t0 = Instant::now();
        let addr = |i: u32| IpAddr::from(std::net::Ipv4Addr::from(0x0a00_0000 + i));
        // One address holds its one connection open throughout.
        let _open = per.admit_at(addr(0), &l, t0).unwrap();
        for i in 1..(20 * CAP as u32) {
            let work = per.entries.lock().unwrap().work();
            drop(per.admit_at(addr(i), &l, t0).unwrap());
            let work = per.entries.lock().unwrap().work() - work;
            assert!(work <= 4, "connection {i} touched {work} records");
            assert!(per.entries.lock().unwrap().len() <= CAP);
        }
        assert_eq!(
            per.admit_at(addr(0), &l, t0).err(),
            Some(Refused::TooMany(1)),
            "the open connection was not forgotten"
        );
    }

    #[test]
    fn exempt_ranges_are_not_counted() {
        let per = Connections::default();
        let l = limits(1, 1, &["127.0.0.0/8", "fd00::/8"]);
        for _ in 0..10 {
            assert!(matches!(
                per.admit("127.1.2.3".parse().unwrap(), &l),
                Ok(None)
            ));
            assert!(matches!(
                per.admit("::ffff:127.0.0.1".parse().unwrap(), &l),
                Ok(None)
            ));
            assert!(matches!(
                per.admit("fd12::1".parse().unwrap(), &l),
                Ok(None)
            ));
        }
        assert!(
            per.admit("10.0.0.1".parse().unwrap(), &l)
                .unwrap()
                .is_some()
        );
    }
}
