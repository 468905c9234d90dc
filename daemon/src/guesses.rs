//! Password guessing, throttled per address.
//!
//! A holder of the key without the password could otherwise guess as fast
//! as argon2 lets them. After [`FAILURES`] wrong passwords within
//! [`WINDOW`] from one address (an IPv4 address, or an IPv6 /64), joins
//! from it are refused with `throttled` and the seconds to wait, without
//! running argon2, for [`FIRST_BLOCK`]; each further wrong password after a
//! block doubles the next one, up to [`MAX_BLOCK`]. A right password resets
//! the address. Joins refused while blocked do not count as guesses (an
//! honest user who retries is not punished for it). Other addresses are
//! not affected.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// Wrong passwords within [`WINDOW`] that start a block.
pub const FAILURES: u32 = 5;
/// The window in which failures count.
pub const WINDOW: Duration = Duration::from_secs(60);
/// The first block.
pub const FIRST_BLOCK: Duration = Duration::from_secs(30);
/// The longest block.
pub const MAX_BLOCK: Duration = Duration::from_secs(15 * 60);
/// Addresses tracked at most; past it, the oldest quiet ones are forgotten
/// first, so that a flood of addresses costs bounded memory.
const MAX_TRACKED: usize = 100_000;

/// The key an address is counted under: IPv6 by its /64, as one host
/// usually holds a whole /64.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Source {
    /// An IPv4 address (an IPv4-mapped IPv6 one too).
    V4([u8; 4]),
    /// The first 64 bits of an IPv6 address.
    V6([u8; 8]),
}

impl From<IpAddr> for Source {
    fn from(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(v4) => Source::V4(v4.octets()),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Source::V4(v4.octets()),
                None => {
                    let mut prefix = [0; 8];
                    prefix.copy_from_slice(&v6.octets()[..8]);
                    Source::V6(prefix)
                }
            },
        }
    }
}

#[derive(Debug)]
struct Entry {
    /// Failures since `window_start`.
    failures: u32,
    window_start: Instant,
    /// Blocks so far (the next lasts `FIRST_BLOCK × 2^blocks`).
    blocks: u32,
    blocked_until: Option<Instant>,
    last_seen: Instant,
}

/// The per-address record of wrong passwords.
#[derive(Default)]
pub struct Guesses {
    entries: Mutex<HashMap<Source, Entry>>,
}

impl Guesses {
    /// If joins from `ip` are blocked now: the whole seconds left.
    pub fn blocked(&self, ip: IpAddr) -> Option<u64> {
        self.blocked_at(ip, Instant::now())
    }

    fn blocked_at(&self, ip: IpAddr, now: Instant) -> Option<u64> {
        let entries = self.entries.lock().expect("lock");
        let until = entries.get(&Source::from(ip))?.blocked_until?;
        let left = until.checked_duration_since(now)?;
        Some(left.as_secs_f64().ceil() as u64).filter(|&secs| secs > 0)
    }

    /// A wrong password from `ip`.
    pub fn failed(&self, ip: IpAddr) {
        self.failed_at(ip, Instant::now());
    }

    fn failed_at(&self, ip: IpAddr, now: Instant) {
        let mut entries = self.entries.lock().expect("lock");
        if entries.len() >= MAX_TRACKED {
            forget_quiet(&mut entries, now);
        }
        let entry = entries.entry(Source::from(ip)).or_insert(Entry {
            failures: 0,
            window_start: now,
            blocks: 0,
            blocked_until: None,
            last_seen: now,
        });
        entry.last_seen = now;
        let after_a_block = entry.blocked_until.is_some_and(|until| until <= now);
        if after_a_block {
            // A wrong password right after a block: the next block, longer.
            entry.blocks = entry.blocks.saturating_add(1);
            entry.blocked_until = Some(now + block_length(entry.blocks));
            entry.failures = 0;
            entry.window_start = now;
            return;
        }
        if now.duration_since(entry.window_start) > WINDOW {
            entry.failures = 0;
            entry.window_start = now;
        }
        entry.failures += 1;
        if entry.failures >= FAILURES {
            entry.blocked_until = Some(now + block_length(entry.blocks));
            entry.failures = 0;
        }
    }

    /// The right password from `ip`: it starts afresh.
    pub fn succeeded(&self, ip: IpAddr) {
        self.entries.lock().expect("lock").remove(&Source::from(ip));
    }

    /// Addresses blocked now (for `chatctl status`).
    pub fn throttled(&self) -> usize {
        let now = Instant::now();
        self.entries
            .lock()
            .expect("lock")
            .values()
            .filter(|e| e.blocked_until.is_some_and(|until| until > now))
            .count()
    }
}

/// `FIRST_BLOCK × 2^blocks`, at most [`MAX_BLOCK`].
fn block_length(blocks: u32) -> Duration {
    FIRST_BLOCK
        .checked_mul(1u32.checked_shl(blocks).unwrap_or(u32::MAX))
        .unwrap_or(MAX_BLOCK)
        .min(MAX_BLOCK)
}

/// Forgets the addresses that are not blocked and quiet for a window, then,
/// if that was not enough, the least recently seen half.
fn forget_quiet(entries: &mut HashMap<Source, Entry>, now: Instant) {
    entries.retain(|_, e| {
        e.blocked_until.is_some_and(|until| until > now)
            || now.duration_since(e.last_seen) <= WINDOW
    });
    if entries.len() >= MAX_TRACKED {
        let mut seen: Vec<Instant> = entries.values().map(|e| e.last_seen).collect();
        seen.sort_unstable();
        let cut = seen[seen.len() / 2];
        entries.retain(|_, e| e.last_seen > cut);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn five_failures_in_a_minute_block_and_the_block_doubles() {
        let guesses = Guesses::default();
        let (a, t0) = (ip("192.0.2.1"), Instant::now());
        for i in 0..FAILURES - 1 {
            guesses.failed_at(a, t0 + Duration::from_secs(u64::from(i)));
            assert_eq!(guesses.blocked_at(a, t0 + Duration::from_secs(5)), None);
        }
        let fifth = t0 + Duration::from_secs(10);
        guesses.failed_at(a, fifth);
        assert_eq!(guesses.blocked_at(a, fifth), Some(30));
        assert_eq!(
            guesses.blocked_at(ip("192.0.2.2"), fifth),
            None,
            "others unaffected"
        );
        // After the block, one more wrong password: 60 s.
        let after = fifth + FIRST_BLOCK + Duration::from_secs(1);
        assert_eq!(guesses.blocked_at(a, after), None);
        guesses.failed_at(a, after);
        assert_eq!(guesses.blocked_at(a, after), Some(60));
        // And so on, up to 15 minutes.
        let mut now = after;
        for _ in 0..10 {
            now += MAX_BLOCK + Duration::from_secs(1);
            guesses.failed_at(a, now);
        }
        assert_eq!(guesses.blocked_at(a, now), Some(MAX_BLOCK.as_secs()));
        // The right password resets it.
        guesses.succeeded(a);
        assert_eq!(guesses.blocked_at(a, now), None);
    }

    #[test]
    fn failures_spread_over_more_than_a_minute_do_not_block() {
        let guesses = Guesses::default();
        let (a, t0) = (ip("192.0.2.1"), Instant::now());
        for i in 0..20u64 {
            let now = t0 + Duration::from_secs(16 * i);
            guesses.failed_at(a, now);
            assert_eq!(guesses.blocked_at(a, now), None, "failure {i}");
        }
    }

    #[test]
    fn ipv6_counts_per_64_and_mapped_ipv4_as_ipv4() {
        let guesses = Guesses::default();
        let t0 = Instant::now();
        for i in 0..FAILURES {
            guesses.failed_at(ip(&format!("2001:db8:1:2::{i}")), t0);
        }
        assert!(guesses.blocked_at(ip("2001:db8:1:2:ffff::1"), t0).is_some());
        assert_eq!(guesses.blocked_at(ip("2001:db8:1:3::1"), t0), None);
        for _ in 0..FAILURES {
            guesses.failed_at(ip("::ffff:198.51.100.7"), t0);
        }
        assert!(guesses.blocked_at(ip("198.51.100.7"), t0).is_some());
    }
}
