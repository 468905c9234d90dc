//! Log lines that anyone on the network can cause, kept to a trickle.
//!
//! A refused handshake costs its sender nothing but can cost chatd a log
//! line; without a bound, a flood of bad keys or wrong passwords fills the
//! journal (1 000 lines in 2 s before this). Each kind of such line gets a
//! [`Throttle`]: a few lines per window, then silence, and the next line
//! that is said carries the count of those that were not.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A budget of log lines per time window for one kind of event.
pub struct Throttle {
    lines: u32,
    window: Duration,
    state: Mutex<Option<Window>>,
}

struct Window {
    start: Instant,
    said: u32,
    suppressed: u64,
}

impl Throttle {
    /// At most `lines` lines every `window`.
    pub const fn new(lines: u32, window: Duration) -> Self {
        Self {
            lines,
            window,
            state: Mutex::new(None),
        }
    }

    /// Whether to log this event now: `Some(n)` with the number of events
    /// left unsaid since the last line (to be said with it), `None` to stay
    /// silent (it is counted).
    pub fn admit(&self) -> Option<u64> {
        self.admit_at(Instant::now())
    }

    fn admit_at(&self, now: Instant) -> Option<u64> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let window = state.get_or_insert(Window {
            start: now,
            said: 0,
            suppressed: 0,
        });
        if now.duration_since(window.start) >= self.window {
            window.start = now;
            window.said = 0;
        }
        if window.said < self.lines {
            window.said += 1;
            Some(std::mem::take(&mut window.suppressed))
        } else {
            window.suppressed += 1;
            None
        }
    }
}

/// Logs an event at `$level` through `$throttle`, adding `suppressed = N`
/// when lines were left out since the last one:
/// `throttled!(REFUSALS, Level::INFO, %peer, "refused")`.
#[macro_export]
macro_rules! throttled {
    ($throttle:expr, $level:expr, $($field:tt)+) => {
        match $throttle.admit() {
            Some(0) => tracing::event!($level, $($field)+),
            Some(suppressed) => tracing::event!($level, suppressed, $($field)+),
            None => {}
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn says_a_few_then_counts_the_rest() {
        let throttle = Throttle::new(2, Duration::from_secs(10));
        let t0 = Instant::now();
        assert_eq!(throttle.admit_at(t0), Some(0));
        assert_eq!(throttle.admit_at(t0), Some(0));
        for _ in 0..5 {
            assert_eq!(throttle.admit_at(t0 + Duration::from_secs(9)), None);
        }
        let later = t0 + Duration::from_secs(10);
        assert_eq!(throttle.admit_at(later), Some(5), "the count comes along");
        assert_eq!(throttle.admit_at(later), Some(0));
        assert_eq!(throttle.admit_at(later), None);
    }
}
