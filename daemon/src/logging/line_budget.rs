//! Log lines that anyone on the network can cause, kept to a trickle.
//!
//! A refused handshake costs its sender nothing but can cost chatd a log
//! line; without a bound, a flood of bad keys or wrong passwords fills the
//! journal (1 000 lines in 2 s before this). Each kind of such line gets a
//! [`LineBudget`]: a few lines per window, then silence, and the next line
//! that is said carries the count of those that were not; a window that
//! ends in silence has its count said by [`flush`], which the status task
//! calls every few seconds.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A budget of log lines per time window for one kind of event.
pub struct LineBudget {
    what: &'static str,
    lines: u32,
    window: Duration,
    state: Mutex<Option<Window>>,
}

/// Every budget that has been used, for [`flush`].
static USED: Mutex<Vec<&'static LineBudget>> = Mutex::new(Vec::new());

/// Logs, for each budget whose window has ended with lines left out, how
/// many were, so that the last of a flood is counted too.
pub fn flush() {
    let used = USED.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let now = Instant::now();
    for budget in used {
        if let Some(suppressed) = budget.take_ended(now) {
            tracing::info!(suppressed, "{} ({suppressed} more not logged)", budget.what);
        }
    }
}

struct Window {
    start: Instant,
    said: u32,
    suppressed: u64,
}

impl LineBudget {
    /// At most `lines` lines every `window` about `what` (which names the
    /// lines left out when they are counted).
    pub const fn new(what: &'static str, lines: u32, window: Duration) -> Self {
        Self {
            what,
            lines,
            window,
            state: Mutex::new(None),
        }
    }

    /// Whether to log this event now: `Some(n)` with the number of events
    /// left unsaid since the last line (to be said with it), `None` to stay
    /// silent (it is counted).
    pub fn admit(&'static self) -> Option<u64> {
        self.admit_at(Instant::now())
    }

    fn admit_at(&'static self, now: Instant) -> Option<u64> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let window = state.get_or_insert_with(|| {
            USED.lock().unwrap_or_else(|e| e.into_inner()).push(self);
            Window {
                start: now,
                said: 0,
                suppressed: 0,
            }
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

/// Logs an event at `$level` through `$budget`, adding `suppressed = N`
/// when lines were left out since the last one:
/// `budgeted!(REFUSALS, Level::INFO, %peer, "refused")`.
#[macro_export]
macro_rules! budgeted {
    ($budget:expr, $level:expr, $($field:tt)+) => {
        match $budget.admit() {
            Some(0) => tracing::event!($level, $($field)+),
            Some(suppressed) => tracing::event!($level, suppressed, $($field)+),
            None => {}
        }
    };
}

impl LineBudget {
    /// The count of lines left out in a window that has ended, taken.
    fn take_ended(&self, now: Instant) -> Option<u64> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let window = state.as_mut()?;
        if window.suppressed == 0 || now.duration_since(window.start) < self.window {
            return None;
        }
        Some(std::mem::take(&mut window.suppressed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn says_a_few_then_counts_the_rest() {
        static BUDGET: LineBudget = LineBudget::new("test lines", 2, Duration::from_secs(10));
        let budget = &BUDGET;
        let t0 = Instant::now();
        assert_eq!(budget.admit_at(t0), Some(0));
        assert_eq!(budget.admit_at(t0), Some(0));
        for _ in 0..5 {
            assert_eq!(budget.admit_at(t0 + Duration::from_secs(9)), None);
        }
        let later = t0 + Duration::from_secs(10);
        assert_eq!(budget.admit_at(later), Some(5), "the count comes along");
        assert_eq!(budget.admit_at(later), Some(0));
        assert_eq!(budget.admit_at(later), None);
        // A window that ends in silence: its count is taken once.
        let end = later + Duration::from_secs(10);
        assert_eq!(budget.take_ended(later), None, "the window is still open");
        assert_eq!(budget.take_ended(end), Some(1));
        assert_eq!(budget.take_ended(end), None);
    }
}
