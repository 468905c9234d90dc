//! Password guessing, throttled per address.
//!
//! A holder of the key without the password could otherwise guess as fast
//! as argon2 lets them. The budget, per address (an IPv4 address, or an
//! IPv6 /64; behind a trusted proxy, the client's address it forwards):
//! at most [`FAILURES`] wrong passwords answered within [`WINDOW`], the
//! guesses still being checked counted as answered wrong, so no
//! concurrency gets more; the last of them starts a block of
//! [`FIRST_BLOCK`], during which joins are refused with `throttled` and
//! the seconds to wait, without a password check. After a block the
//! address may have one guess in flight, and a wrong one starts the next
//! block, twice as long, up to [`MAX_BLOCK`]; [`QUIET`] without a wrong
//! password after a block and it starts afresh. A right password resets
//! nothing: interleaved with honest joins, guesses are held to the same
//! budget. Joins refused while blocked do not count as guesses (an honest
//! user who retries is not punished for it). Other addresses are not
//! affected.
//!
//! An address shared by many people (a NAT, a proxy that does not say who
//! its clients are) would let one guesser lock out all of them. So a name
//! that joined from an address with the right password earns an allowance
//! of its own there ([`LANES`] names per address, for [`LANE_LIFE`] after
//! its last join): its joins are counted apart from the address's, under
//! the same rules, and are not refused while the address is blocked. The
//! trade (docs/security.md): a guesser who knows such a name gets that
//! name's budget too, at most [`LANES`] + 1 budgets per address, learns
//! that the name joined from its address lately (it is checked while the
//! address is blocked), and can block that name there by guessing under
//! it; a person who never joined from the address waits out its block.

use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

use super::AddressKey;
use super::recent::Recent;

/// Wrong passwords within [`WINDOW`] that start a block.
pub const FAILURES: u32 = 5;
/// The window in which failures count.
pub const WINDOW: Duration = Duration::from_secs(60);
/// The first block.
pub const FIRST_BLOCK: Duration = Duration::from_secs(30);
/// The longest block.
pub const MAX_BLOCK: Duration = Duration::from_secs(15 * 60);
/// Time without a wrong password after a block after which a record
/// starts afresh.
pub const QUIET: Duration = MAX_BLOCK;
/// Names per address with an allowance of their own.
pub const LANES: usize = 8;
/// How long a name keeps its allowance after its last right password.
pub const LANE_LIFE: Duration = Duration::from_secs(7 * 86_400);
/// Addresses tracked at most; past it, the least recently seen one is
/// forgotten, so that a flood of addresses costs bounded memory.
const MAX_TRACKED: usize = 100_000;

/// The wrong passwords of an address, or of a name at an address.
#[derive(Debug)]
struct Bucket {
    /// Failures since `window_start`.
    failures: u32,
    window_start: Instant,
    /// Guesses being checked now.
    in_flight: u32,
    /// Blocks so far (the next lasts `FIRST_BLOCK × 2^blocks`).
    blocks: u32,
    blocked_until: Option<Instant>,
}

impl Bucket {
    fn new(now: Instant) -> Self {
        Self {
            failures: 0,
            window_start: now,
            in_flight: 0,
            blocks: 0,
            blocked_until: None,
        }
    }

    /// The whole seconds left of a block in force.
    fn wait(&self, now: Instant) -> Option<u64> {
        let left = self.blocked_until?.checked_duration_since(now)?;
        Some(left.as_secs_f64().ceil() as u64).filter(|&secs| secs > 0)
    }

    /// Forgets a window that ended, and a block long past.
    fn refresh(&mut self, now: Instant) {
        if self
            .blocked_until
            .is_some_and(|until| now.saturating_duration_since(until) >= QUIET)
        {
            self.blocks = 0;
            self.blocked_until = None;
            self.failures = 0;
        }
        if now.saturating_duration_since(self.window_start) > WINDOW {
            self.failures = 0;
            self.window_start = now;
        }
    }

    /// Guesses that may start now.
    fn left(&self) -> u32 {
        let budget = if self.blocked_until.is_some() {
            // After a block: one at a time, and a wrong one blocks again.
            1
        } else {
            FAILURES.saturating_sub(self.failures)
        };
        budget.saturating_sub(self.in_flight)
    }

    /// A guess was answered (`right` or wrong) or given up; `true` when
    /// it began a block.
    fn answered(&mut self, right: Option<bool>, now: Instant) -> bool {
        self.in_flight = self.in_flight.saturating_sub(1);
        if right != Some(false) {
            return false;
        }
        self.refresh(now);
        if self.wait(now).is_some() {
            return false;
        }
        if self.blocked_until.is_some() {
            // A wrong password right after a block: the next, longer.
            self.blocks = self.blocks.saturating_add(1);
            self.blocked_until = Some(now + block_length(self.blocks));
            self.failures = 0;
            self.window_start = now;
            return true;
        }
        self.failures += 1;
        if self.failures >= FAILURES {
            self.blocked_until = Some(now + block_length(self.blocks));
            self.failures = 0;
            return true;
        }
        false
    }
}

/// A name's own allowance at an address.
#[derive(Debug)]
struct Lane {
    /// The name, folded to lower case.
    name: String,
    /// Its last right password from this address.
    earned: Instant,
    bucket: Bucket,
}

#[derive(Debug)]
struct Entry {
    address: Bucket,
    /// At most [`LANES`]; made by right passwords only.
    lanes: Vec<Lane>,
}

impl Entry {
    /// The bucket a join under `name` (folded) is counted in.
    fn bucket(&mut self, name: Option<&str>, now: Instant) -> &mut Bucket {
        let lane = name.and_then(|name| {
            self.lanes.iter().position(|lane| {
                lane.name == name && now.saturating_duration_since(lane.earned) <= LANE_LIFE
            })
        });
        match lane {
            Some(i) => &mut self.lanes[i].bucket,
            None => &mut self.address,
        }
    }

    /// `name` joined with the right password: its allowance is renewed,
    /// or made in place of the least recently earned one.
    fn earn(&mut self, name: &str, now: Instant) {
        if let Some(lane) = self.lanes.iter_mut().find(|lane| lane.name == name) {
            lane.earned = now;
            return;
        }
        if self.lanes.len() >= LANES
            && let Some(oldest) = (0..self.lanes.len()).min_by_key(|&i| self.lanes[i].earned)
        {
            self.lanes.swap_remove(oldest);
        }
        self.lanes.push(Lane {
            name: name.to_string(),
            earned: now,
            bucket: Bucket::new(now),
        });
    }

    fn blocked(&self, now: Instant) -> bool {
        self.address.wait(now).is_some() || self.lanes.iter().any(|l| l.bucket.wait(now).is_some())
    }
}

/// Why a join may not guess now.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Blocked: the whole seconds left.
    Throttled(u64),
    /// The budget is all in flight, and none of it was answered before the
    /// join had to be: the client may retry shortly.
    Busy,
}

/// What [`Guesses::try_begin`] found.
enum Check<'a> {
    Go(Guess<'a>),
    Blocked(u64),
    /// What is left of the budget is being checked now.
    Full,
}

/// The per-address record of wrong passwords.
pub struct Guesses {
    entries: Mutex<Recent<AddressKey, Entry>>,
    /// Told when a guess is answered or given up (a join waiting for the
    /// budget looks again).
    changed: Notify,
}

impl Default for Guesses {
    fn default() -> Self {
        Self::with_capacity(MAX_TRACKED)
    }
}

/// One guess being checked, counted in its address's (or name's) budget
/// from [`Guesses::begin`]; [`Guess::answered`] records its verdict.
/// Dropped without one (the check gave no verdict, or the join gave up),
/// it frees its place and counts as nothing: no answer reached anyone.
pub struct Guess<'a> {
    guesses: &'a Guesses,
    source: AddressKey,
    /// The name, folded, when it is a valid one.
    name: Option<String>,
    done: bool,
}

impl Guess<'_> {
    /// The verdict: a wrong password counts; a right one gives the name
    /// its own allowance at this address. `true` when this wrong password
    /// began a block (`chatd_guess_blocks_total`).
    pub fn answered(mut self, right: bool) -> bool {
        self.finish(Some(right), Instant::now())
    }

    fn finish(&mut self, right: Option<bool>, now: Instant) -> bool {
        self.done = true;
        let mut entries = self.guesses.entries.lock().expect("lock");
        let entry = entries.entry(&self.source, || fresh(now), |_| false);
        let blocked = entry.bucket(self.name.as_deref(), now).answered(right, now);
        if let (Some(true), Some(name)) = (right, &self.name) {
            entry.earn(name, now);
        }
        drop(entries);
        self.guesses.changed.notify_waiters();
        blocked
    }
}

impl Drop for Guess<'_> {
    fn drop(&mut self) {
        if !self.done {
            self.finish(None, Instant::now());
        }
    }
}

fn fresh(now: Instant) -> Entry {
    Entry {
        address: Bucket::new(now),
        lanes: Vec::new(),
    }
}

impl Guesses {
    fn with_capacity(cap: usize) -> Self {
        Self {
            entries: Mutex::new(Recent::new(cap)),
            changed: Notify::new(),
        }
    }

    /// Counts a password check for a join from `ip` under `name` before it
    /// starts; waits (until `answer_by`) while what is left of the budget
    /// is being checked by other joins.
    pub async fn begin(
        &self,
        ip: IpAddr,
        name: &str,
        answer_by: Instant,
    ) -> Result<Guess<'_>, Refusal> {
        loop {
            // Registered before the look, so an answer in between wakes it.
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            match self.try_begin(ip, name, Instant::now()) {
                Check::Go(guess) => return Ok(guess),
                Check::Blocked(wait) => return Err(Refusal::Throttled(wait)),
                Check::Full => {}
            }
            if tokio::time::timeout_at(answer_by, changed).await.is_err() {
                return Err(Refusal::Busy);
            }
        }
    }

    /// The blocked check and the count of a guess in flight, under one
    /// lock: no interleaving starts more guesses than the budget.
    fn try_begin(&self, ip: IpAddr, name: &str, now: Instant) -> Check<'_> {
        let source = AddressKey::from(ip);
        let name = chat_protocol::valid_username(name).then(|| name.to_ascii_lowercase());
        let mut entries = self.entries.lock().expect("lock");
        let entry = entries.entry(&source, || fresh(now), |_| false);
        let bucket = entry.bucket(name.as_deref(), now);
        bucket.refresh(now);
        if let Some(wait) = bucket.wait(now) {
            return Check::Blocked(wait);
        }
        if bucket.left() == 0 {
            return Check::Full;
        }
        bucket.in_flight += 1;
        Check::Go(Guess {
            guesses: self,
            source,
            name,
            done: false,
        })
    }

    /// Addresses with a block in force now (for `chatctl status`).
    pub fn throttled(&self) -> usize {
        let now = Instant::now();
        let entries = self.entries.lock().expect("lock");
        entries.values().filter(|e| e.blocked(now)).count()
    }
}

/// `FIRST_BLOCK × 2^blocks`, at most [`MAX_BLOCK`].
fn block_length(blocks: u32) -> Duration {
    FIRST_BLOCK
        .checked_mul(1u32.checked_shl(blocks).unwrap_or(u32::MAX))
        .unwrap_or(MAX_BLOCK)
        .min(MAX_BLOCK)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    impl Guesses {
        /// A guess from `ip` under `name` at `now`, answered at once:
        /// whether it began a block, or `Err` with the wait when blocked.
        fn guess_at(&self, ip: IpAddr, name: &str, right: bool, now: Instant) -> Result<bool, u64> {
            match self.try_begin(ip, name, now) {
                Check::Go(mut guess) => Ok(guess.finish(Some(right), now)),
                Check::Blocked(wait) => Err(wait),
                Check::Full => panic!("nothing else is in flight"),
            }
        }

        fn blocked_at(&self, ip: IpAddr, name: &str, now: Instant) -> Option<u64> {
            match self.try_begin(ip, name, now) {
                Check::Blocked(wait) => Some(wait),
                _ => None,
            }
        }
    }

    #[test]
    fn five_failures_in_a_minute_block_and_the_block_doubles() {
        let guesses = Guesses::default();
        let (a, t0) = (ip("192.0.2.1"), Instant::now());
        for i in 0..FAILURES - 1 {
            let blocked = guesses
                .guess_at(a, "x", false, t0 + secs(u64::from(i)))
                .unwrap();
            assert!(!blocked, "no block began");
            assert_eq!(guesses.blocked_at(a, "x", t0 + secs(5)), None);
        }
        let fifth = t0 + secs(10);
        assert!(
            guesses.guess_at(a, "x", false, fifth).unwrap(),
            "a block began"
        );
        assert_eq!(guesses.blocked_at(a, "x", fifth), Some(30));
        assert_eq!(
            guesses.blocked_at(ip("192.0.2.2"), "x", fifth),
            None,
            "others unaffected"
        );
        // After the block, one more wrong password: 60 s.
        let after = fifth + FIRST_BLOCK + secs(1);
        assert!(
            guesses.guess_at(a, "x", false, after).unwrap(),
            "another began"
        );
        assert_eq!(guesses.blocked_at(a, "x", after), Some(60));
        // And so on, up to 15 minutes.
        let mut now = after;
        for _ in 0..10 {
            now += MAX_BLOCK.min(block_length(10)) + secs(1);
            let _ = guesses.guess_at(a, "x", false, now);
        }
        assert_eq!(guesses.blocked_at(a, "x", now), Some(MAX_BLOCK.as_secs()));
        // Quiet for QUIET after the last block: it starts afresh.
        let fresh = now + MAX_BLOCK + QUIET;
        for _ in 0..FAILURES - 1 {
            guesses.guess_at(a, "x", false, fresh).unwrap();
        }
        assert_eq!(guesses.blocked_at(a, "x", fresh), None);
    }

    /// Sixteen joins at once get five checks; the rest wait. After the
    /// block, one at a time.
    #[test]
    fn guesses_in_flight_count_against_the_budget() {
        let guesses = Guesses::default();
        let (a, t0) = (ip("192.0.2.1"), Instant::now());
        let mut flying = Vec::new();
        let mut full = 0;
        for _ in 0..16 {
            match guesses.try_begin(a, "x", t0) {
                Check::Go(guess) => flying.push(guess),
                Check::Full => full += 1,
                Check::Blocked(_) => panic!("not blocked yet"),
            }
        }
        assert_eq!(
            (flying.len(), full),
            (FAILURES as usize, 16 - FAILURES as usize)
        );
        for mut guess in flying {
            guess.finish(Some(false), t0);
        }
        assert_eq!(guesses.blocked_at(a, "x", t0), Some(30));
        let after = t0 + FIRST_BLOCK;
        let Check::Go(mut one) = guesses.try_begin(a, "x", after) else {
            panic!("one guess after the block");
        };
        assert!(matches!(guesses.try_begin(a, "x", after), Check::Full));
        one.finish(Some(false), after);
        assert_eq!(guesses.blocked_at(a, "x", after), Some(60));
    }

    /// A guess that got no verdict (the check was busy, the join gave up)
    /// frees its place and counts as nothing.
    #[test]
    fn a_guess_without_a_verdict_counts_nothing() {
        let guesses = Guesses::default();
        let (a, t0) = (ip("192.0.2.1"), Instant::now());
        for _ in 0..3 * FAILURES {
            let Check::Go(guess) = guesses.try_begin(a, "x", t0) else {
                panic!("a free place");
            };
            drop(guess);
        }
        assert_eq!(guesses.blocked_at(a, "x", t0), None);
    }

    /// Right passwords from the same address reset nothing: guesses
    /// interleaved with honest joins are blocked after five.
    #[test]
    fn right_passwords_reset_nothing() {
        let guesses = Guesses::default();
        let (a, t0) = (ip("192.0.2.1"), Instant::now());
        let mut wrong = 0;
        for i in 0..12 {
            let now = t0 + secs(i);
            guesses.guess_at(a, "ace", true, now).unwrap();
            if guesses.guess_at(a, "mallory", false, now).is_ok() {
                wrong += 1;
            }
        }
        assert_eq!(wrong, FAILURES);
        assert!(guesses.blocked_at(a, "mallory", t0 + secs(12)).is_some());
    }

    /// A name that joined from an address has an allowance of its own
    /// there: a guesser under other names does not lock it out, and is
    /// held to the address's budget; under that name, to the name's.
    #[test]
    fn a_name_that_joined_from_an_address_is_not_locked_out_by_its_guessers() {
        let guesses = Guesses::default();
        let (nat, t0) = (ip("198.51.100.7"), Instant::now());
        guesses.guess_at(nat, "Ace", true, t0).unwrap();
        let mut answered = 0;
        for i in 0..20 {
            if guesses.guess_at(nat, &format!("m{i}"), false, t0).is_ok() {
                answered += 1;
            }
        }
        assert_eq!(answered, FAILURES, "the guesser's budget");
        assert!(
            guesses.blocked_at(nat, "bob", t0).is_some(),
            "a name new here waits"
        );
        assert_eq!(
            guesses.blocked_at(nat, "ace", t0),
            None,
            "ace is not locked out"
        );
        guesses.guess_at(nat, "ACE", true, t0).unwrap();
        // Guessing under ace's name spends ace's budget, and no more.
        let answered = (0..20)
            .filter(|_| guesses.guess_at(nat, "ace", false, t0).is_ok())
            .count();
        assert_eq!(answered, FAILURES as usize);
        assert!(guesses.blocked_at(nat, "ace", t0).is_some());
        // An invalid name never has an allowance.
        assert!(guesses.blocked_at(nat, "ace\n", t0).is_some());
        // The allowance lapses LANE_LIFE after the last right password.
        let later = t0 + LANE_LIFE + secs(1);
        for i in 0..FAILURES {
            guesses
                .guess_at(nat, &format!("m{i}"), false, later)
                .unwrap();
        }
        assert!(
            guesses.blocked_at(nat, "ace", later).is_some(),
            "ace's allowance lapsed"
        );
    }

    #[test]
    fn an_address_keeps_at_most_a_few_allowances() {
        let guesses = Guesses::default();
        let (a, t0) = (ip("192.0.2.1"), Instant::now());
        for i in 0..3 * LANES as u64 {
            guesses
                .guess_at(a, &format!("n{i}"), true, t0 + secs(i))
                .unwrap();
        }
        let mut entries = guesses.entries.lock().unwrap();
        let entry = entries.peek_mut(&AddressKey::from(a)).unwrap();
        assert_eq!(entry.lanes.len(), LANES);
        let newest = format!("n{}", 3 * LANES - 1);
        assert!(entry.lanes.iter().any(|l| l.name == newest));
    }

    #[test]
    fn failures_spread_over_more_than_a_minute_do_not_block() {
        let guesses = Guesses::default();
        let (a, t0) = (ip("192.0.2.1"), Instant::now());
        for i in 0..20u64 {
            let now = t0 + secs(16 * i);
            guesses.guess_at(a, "x", false, now).unwrap();
            assert_eq!(guesses.blocked_at(a, "x", now), None, "failure {i}");
        }
    }

    #[test]
    fn ipv6_counts_per_64_and_mapped_ipv4_as_ipv4() {
        let guesses = Guesses::default();
        let t0 = Instant::now();
        for i in 0..FAILURES {
            guesses
                .guess_at(ip(&format!("2001:db8:1:2::{i}")), "x", false, t0)
                .unwrap();
        }
        assert!(
            guesses
                .blocked_at(ip("2001:db8:1:2:ffff::1"), "x", t0)
                .is_some()
        );
        assert_eq!(guesses.blocked_at(ip("2001:db8:1:3::1"), "x", t0), None);
        for _ in 0..FAILURES {
            guesses
                .guess_at(ip("::ffff:198.51.100.7"), "x", false, t0)
                .unwrap();
        }
        assert!(guesses.blocked_at(ip("198.51.100.7"), "x", t0).is_some());
    }

    /// Past the bound the least recent address is forgotten, at a constant
    /// cost per join.
    #[test]
    fn the_table_is_bounded_and_each_guess_costs_constant_work() {
        const CAP: usize = 1000;
        let guesses = Guesses::with_capacity(CAP);
        let t0 = Instant::now();
        for i in 0..(20 * CAP as u32) {
            let a = IpAddr::from(std::net::Ipv4Addr::from(0x0a00_0000 + i));
            let work = guesses.entries.lock().unwrap().work();
            guesses.guess_at(a, "x", false, t0).unwrap();
            let work = guesses.entries.lock().unwrap().work() - work;
            assert!(work <= 4, "guess {i} touched {work} records");
            assert!(guesses.entries.lock().unwrap().len() <= CAP);
        }
    }
}
