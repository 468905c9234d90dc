//! Paces outgoing events to the rate limit the server announces in `Welcome`.
//!
//! The server refuses events sent faster than its token bucket allows
//! (`burst` at once, then `per_second`), so the line client keeps a bucket of
//! its own and holds a line back until the bucket has a token: piping a big
//! file into `chat` then loses no line. The client's bucket is a little
//! stricter than the server's (one token of the burst kept in reserve, 90 %
//! of the refill rate), so that network jitter, which can bunch up messages
//! that left evenly spaced, never pushes the server's bucket below zero.

use std::time::{Duration, Instant};

use chat_protocol::RateLimit;

/// Share of the announced refill rate the client uses.
const RATE_MARGIN: f64 = 0.9;

/// A token bucket over [`Instant`]s; the caller passes the time in, so the
/// arithmetic is tested without waiting.
#[derive(Debug)]
pub struct Pacer {
    capacity: f64,
    per_second: f64,
    tokens: f64,
    last: Instant,
}

impl Pacer {
    /// A full bucket for `rate`, starting at `now`. A zero in `rate` is
    /// taken as 1: the protocol has no way to announce "no limit", and the
    /// strictest reading loses no line.
    pub fn new(rate: RateLimit, now: Instant) -> Self {
        let burst = rate.burst.max(1);
        let capacity = f64::from(burst.saturating_sub(1).max(1));
        Self {
            capacity,
            per_second: f64::from(rate.per_second.max(1)) * RATE_MARGIN,
            tokens: capacity,
            last: now,
        }
    }

    fn tokens_at(&self, now: Instant) -> f64 {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        (self.tokens + elapsed * self.per_second).min(self.capacity)
    }

    /// The earliest time the next event may be sent: `now` or later.
    pub fn ready_at(&self, now: Instant) -> Instant {
        let tokens = self.tokens_at(now);
        if tokens >= 1.0 {
            return now;
        }
        now + Duration::from_secs_f64((1.0 - tokens) / self.per_second)
    }

    /// Spends one token for an event sent at `now`. Sending before
    /// [`Pacer::ready_at`] drives the bucket into debt, which later sends
    /// repay by waiting longer.
    pub fn take(&mut self, now: Instant) {
        self.tokens = self.tokens_at(now) - 1.0;
        self.last = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rate(burst: u32, per_second: u32) -> RateLimit {
        RateLimit { burst, per_second }
    }

    /// Sends `n` events as fast as the pacer allows; returns their times
    /// as offsets from the start.
    fn schedule(pacer: &mut Pacer, start: Instant, n: usize) -> Vec<Duration> {
        let mut now = start;
        (0..n)
            .map(|_| {
                now = pacer.ready_at(now);
                pacer.take(now);
                now - start
            })
            .collect()
    }

    #[test]
    fn burst_then_steady_rate() {
        let start = Instant::now();
        let mut pacer = Pacer::new(rate(10, 5), start);
        let times = schedule(&mut pacer, start, 40);
        // The burst, less one token kept in reserve, goes at once.
        assert!(times[..9].iter().all(|t| t.is_zero()), "{times:?}");
        assert!(!times[9].is_zero());
        // Then 90 % of 5 per second: one every 222 ms.
        for pair in times[9..].windows(2) {
            let gap = (pair[1] - pair[0]).as_secs_f64();
            assert!((gap - 1.0 / 4.5).abs() < 1e-6, "{gap}");
        }
        // Total: 31 paced sends at 4.5 per second.
        assert!((times[39].as_secs_f64() - 31.0 / 4.5).abs() < 1e-3);
    }

    #[test]
    fn never_faster_than_the_server_allows() {
        // Replay the client's schedule against the server's exact bucket.
        let start = Instant::now();
        let announced = rate(10, 5);
        let mut pacer = Pacer::new(announced, start);
        let mut server_tokens = f64::from(announced.burst);
        let mut last = Duration::ZERO;
        for t in schedule(&mut pacer, start, 200) {
            server_tokens = (server_tokens + (t - last).as_secs_f64() * 5.0).min(10.0);
            last = t;
            assert!(
                server_tokens >= 1.0,
                "at {t:?} the server bucket holds {server_tokens}"
            );
            server_tokens -= 1.0;
        }
    }

    #[test]
    fn idle_time_refills_up_to_capacity_only() {
        let start = Instant::now();
        let mut pacer = Pacer::new(rate(3, 1), start);
        schedule(&mut pacer, start, 2);
        let later = start + Duration::from_secs(3600);
        let times = schedule(&mut pacer, later, 3);
        assert_eq!(&times[..2], [Duration::ZERO, Duration::ZERO]);
        assert!(times[2] > Duration::ZERO);
    }

    #[test]
    fn burst_of_one_still_paces() {
        let start = Instant::now();
        let mut pacer = Pacer::new(rate(1, 2), start);
        let times = schedule(&mut pacer, start, 3);
        assert_eq!(times[0], Duration::ZERO);
        assert!((times[1].as_secs_f64() - 1.0 / 1.8).abs() < 1e-6);
    }

    #[test]
    fn zero_is_taken_as_one() {
        let start = Instant::now();
        // (rate, expected gap between the last two of 12 sends)
        for (r, gap) in [
            (rate(0, 0), 1.0 / 0.9),
            (rate(10, 0), 1.0 / 0.9),
            (rate(0, 5), 1.0 / 4.5),
        ] {
            let mut pacer = Pacer::new(r, start);
            let times = schedule(&mut pacer, start, 12);
            let last = (times[11] - times[10]).as_secs_f64();
            assert!((last - gap).abs() < 1e-6, "{r:?}: {times:?}");
        }
    }
}
