//! Names registered per address: under `names = "first-come"` a new key
//! and a new name cost nothing, so one address (an IPv4 address, or an
//! IPv6 /64; behind a trusted proxy, the client it names) registers at
//! most [`PER_ADDRESS`] names within [`WINDOW`]. Past it, its joins go on
//! unregistered (a later join registers the name); `max_names` bounds the
//! whole registry. Counted per node.

use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use super::AddressKey;
use super::recent::Recent;

/// Names one address may register within [`WINDOW`].
pub const PER_ADDRESS: u32 = 10;
/// The window registrations are counted in.
pub const WINDOW: Duration = Duration::from_secs(3600);
/// Addresses tracked at most (the least recently seen forgotten first).
const MAX_TRACKED: usize = 100_000;

/// One address's registrations since `since`.
struct Count {
    n: u32,
    since: Instant,
}

/// Registrations per address (see the module documentation).
pub struct Registrations {
    table: Mutex<Recent<AddressKey, Count>>,
}

impl Default for Registrations {
    fn default() -> Self {
        Self {
            table: Mutex::new(Recent::new(MAX_TRACKED)),
        }
    }
}

impl Registrations {
    /// Takes one registration for `ip` if it has one left in the window
    /// (give it back with [`Registrations::give_back`] if nothing was
    /// registered after all).
    pub fn take(&self, ip: IpAddr) -> bool {
        self.take_at(ip, Instant::now())
    }

    fn take_at(&self, ip: IpAddr, now: Instant) -> bool {
        let mut table = self.table.lock().expect("lock");
        let count = table.entry(
            &AddressKey::from(ip),
            || Count { n: 0, since: now },
            |_| false,
        );
        if now.duration_since(count.since) >= WINDOW {
            *count = Count { n: 0, since: now };
        }
        if count.n >= PER_ADDRESS {
            return false;
        }
        count.n += 1;
        true
    }

    /// Gives back a registration [`Registrations::take`] took.
    pub fn give_back(&self, ip: IpAddr) {
        let mut table = self.table.lock().expect("lock");
        if let Some(count) = table.peek_mut(&AddressKey::from(ip)) {
            count.n = count.n.saturating_sub(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_registers_a_few_names_an_hour() {
        let r = Registrations::default();
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "2001:db8::1".parse().unwrap();
        let same64: IpAddr = "2001:db8::2".parse().unwrap();
        let t0 = Instant::now();
        for _ in 0..PER_ADDRESS {
            assert!(r.take_at(a, t0));
        }
        assert!(!r.take_at(a, t0));
        r.give_back(a);
        assert!(r.take_at(a, t0));
        assert!(!r.take_at(a, t0 + WINDOW / 2));
        assert!(r.take_at(a, t0 + WINDOW), "a new window");
        for _ in 0..PER_ADDRESS {
            assert!(r.take_at(b, t0));
        }
        assert!(!r.take_at(same64, t0), "IPv6 is counted per /64");
    }
}
