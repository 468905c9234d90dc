//! The wall clock as the protocol counts it: Unix time, in milliseconds
//! for event timestamps (`ts`) and in seconds for the admin API's times.

use std::time::{SystemTime, UNIX_EPOCH};

/// Unix milliseconds now (0 for a clock set before 1970).
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Unix seconds now (0 for a clock set before 1970).
pub fn now_secs() -> u64 {
    unix_secs(SystemTime::now())
}

/// Unix seconds of `time` (0 before 1970).
pub fn unix_secs(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn milliseconds_and_seconds_agree() {
        let (ms, secs) = (now_ms(), now_secs());
        assert!(secs > 1_700_000_000, "a clock after 2023: {secs}");
        assert!(ms / 1000 >= secs.saturating_sub(1) && ms / 1000 <= secs + 1);
        assert_eq!(unix_secs(UNIX_EPOCH), 0);
    }
}
