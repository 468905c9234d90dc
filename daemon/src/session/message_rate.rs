//! A token bucket: `burst` events at once, then `per_second` refilled;
//! plus a credit for the time the server itself kept the reader waiting.
//!
//! The session's reader handles one message at a time: while it waits for
//! the server's own work (an append that NATS is slow to confirm, a DM to
//! another node), what the client sends meanwhile queues in the socket, and
//! is read all at once when the wait ends. Charged then, a client that kept
//! to the announced rate would find the bucket capped at `burst` and be
//! refused. So the reader credits the bucket for each such wait
//! ([`TokenBucket::credit`]): the tokens the wait would have refilled past
//! the cap, usable for as long as the wait lasted. A client's average rate
//! is still bounded by `per_second`: the credit only stands for time during
//! which the server read nothing.

use std::time::{Duration, Instant};

/// Per-connection message budget.
pub struct TokenBucket {
    capacity: f64,
    per_second: f64,
    tokens: f64,
    last: Instant,
    /// Tokens above the cap, earned while the server kept the reader
    /// waiting.
    credit: f64,
    /// When what is left of the credit lapses.
    credit_until: Instant,
}

impl TokenBucket {
    /// A full bucket.
    pub fn new(burst: u32, per_second: u32) -> Self {
        Self::starting_at(burst, per_second, Instant::now())
    }

    fn starting_at(burst: u32, per_second: u32, now: Instant) -> Self {
        let capacity = f64::from(burst.max(1));
        Self {
            capacity,
            per_second: f64::from(per_second.max(1)),
            tokens: capacity,
            last: now,
            credit: 0.0,
            credit_until: now,
        }
    }

    /// Takes one token if there is one.
    pub fn take(&mut self) -> bool {
        self.take_at(Instant::now())
    }

    fn take_at(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.per_second).min(self.capacity);
        if now >= self.credit_until {
            self.credit = 0.0;
        }
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else if self.credit >= 1.0 {
            self.credit -= 1.0;
            true
        } else {
            false
        }
    }

    /// Credits the bucket for `waited`, time during which the server kept
    /// the reader from reading (see the module documentation): what the
    /// refill over that time would have added past the cap (never more
    /// than the wait earns: a client kept waiting with an empty bucket gets
    /// no more than the rate), usable for as long again (a later wait
    /// extends what is left by its own length).
    pub fn credit(&mut self, waited: Duration) {
        self.credit_at(waited, Instant::now());
    }

    fn credit_at(&mut self, waited: Duration, now: Instant) {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        let filled = self.tokens + elapsed * self.per_second;
        self.tokens = filled.min(self.capacity);
        let lost = (filled - self.capacity).clamp(0.0, waited.as_secs_f64() * self.per_second);
        // A credit still good when the wait began is not used up by it:
        // the reader could not read meanwhile.
        let began = now.checked_sub(waited).unwrap_or(now);
        if began >= self.credit_until {
            self.credit = 0.0;
        }
        self.credit += lost;
        self.credit_until = (self.credit_until + waited).max(now + waited);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_refill() {
        let t0 = Instant::now();
        let mut b = TokenBucket::starting_at(3, 2, t0);
        assert!(b.take_at(t0) && b.take_at(t0) && b.take_at(t0));
        assert!(!b.take_at(t0));
        assert!(!b.take_at(t0 + Duration::from_millis(400)));
        assert!(b.take_at(t0 + Duration::from_millis(600)));
        // A long pause refills only up to the burst.
        let later = t0 + Duration::from_secs(100);
        assert!((0..3).all(|_| b.take_at(later)));
        assert!(!b.take_at(later));
    }

    #[test]
    fn a_wait_on_the_server_is_credited_for_what_the_cap_would_have_lost() {
        let t0 = Instant::now();
        let mut b = TokenBucket::starting_at(10, 5, t0);
        // The reader took a line, then waited three times 5 s on appends
        // (a frozen NATS), one queued line read after each wait; a client
        // at 5/s queued 75 lines meanwhile, read at once when NATS is back.
        let mut now = t0;
        assert!(b.take_at(now));
        for _ in 0..3 {
            now += Duration::from_secs(5);
            b.credit_at(Duration::from_secs(5), now);
            assert!(b.take_at(now));
        }
        let taken = (0..200).take_while(|_| b.take_at(now)).count();
        assert!(taken >= 72, "the queued lines pass: {taken}");
        assert!(
            taken <= 10 + 75,
            "but no more than the waits earned: {taken}"
        );
        // A client kept waiting with an empty bucket (flooding through a
        // slow NATS) gets no credit: its rate stays the rate.
        let mut c = TokenBucket::starting_at(1, 5, t0);
        assert!(c.take_at(t0));
        let mut now = t0;
        let mut passed = 0;
        for _ in 0..100 {
            now += Duration::from_millis(100);
            c.credit_at(Duration::from_millis(100), now);
            passed += usize::from(c.take_at(now));
        }
        assert!(passed <= 50, "{passed} in 10 s at 5/s");
        // What is left of a credit lapses after as long as the wait.
        let mut d = TokenBucket::starting_at(10, 5, t0);
        assert!((0..10).all(|_| d.take_at(t0)));
        let resumed = t0 + Duration::from_secs(4);
        d.credit_at(Duration::from_secs(4), resumed);
        let late = resumed + Duration::from_secs(5);
        assert_eq!(
            (0..30).take_while(|_| d.take_at(late)).count(),
            10,
            "the credit lapsed"
        );
    }
}
