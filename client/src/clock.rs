//! Times and dates as the full screen shows them: a time on every line, in
//! the configured `time_format` (strftime's, `%H:%M` by default), and the
//! date on the marker where the day changes. Local time, or UTC in tests,
//! so that what they draw does not depend on the machine's time zone.

use std::ffi::CString;

/// The time format when none is configured: 24-hour `HH:MM`.
pub const DEFAULT_TIME_FORMAT: &str = "%H:%M";

/// The conversions a `time_format` may use: hours, minutes, seconds,
/// AM/PM, the date's parts and the zone (nothing that could print a
/// control character or a line of its own).
const CONVERSIONS: &str = "HMSIlpPyYmdebBaAjZzTR%";

/// Checks a `time_format`: only the [`CONVERSIONS`], no control
/// character, at most 32 bytes; `Err` says what is wrong.
pub fn check_format(format: &str) -> Result<(), String> {
    if format.is_empty() || format.len() > 32 {
        return Err("time_format must be 1-32 bytes, like \"%H:%M\" or \"%I:%M:%S %p\"".into());
    }
    if format.chars().any(char::is_control) {
        return Err("time_format may not hold control characters".into());
    }
    let mut chars = format.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            continue;
        }
        match chars.next() {
            Some(conv) if CONVERSIONS.contains(conv) => {}
            Some(conv) => {
                return Err(format!(
                    "time_format: %{conv} is not one of %H %M %S %I %l %p %P %y %Y %m %d %e %b %B %a %A %j %Z %z %T %R %%"
                ));
            }
            None => return Err("time_format ends with a lone %".into()),
        }
    }
    Ok(())
}

/// How times and dates are shown.
#[derive(Clone, Debug)]
pub struct Clock {
    /// The strftime format of a line's time (checked by [`check_format`]).
    format: CString,
    /// UTC rather than local time (tests).
    utc: bool,
    /// The time now, in Unix milliseconds (fixed in tests).
    pub now: fn() -> u64,
}

impl Clock {
    /// Local time in `format` (checked by [`check_format`]; anything else
    /// falls back to [`DEFAULT_TIME_FORMAT`]).
    pub fn local(format: &str) -> Self {
        Self::new(format, false)
    }

    /// UTC in `format`.
    #[cfg(test)]
    pub fn utc(format: &str) -> Self {
        Self::new(format, true)
    }

    fn new(format: &str, utc: bool) -> Self {
        let format = if check_format(format).is_ok() {
            format
        } else {
            DEFAULT_TIME_FORMAT
        };
        Self {
            format: CString::new(format).expect("checked: no NUL"),
            utc,
            now: chat_protocol::clock::now_ms,
        }
    }

    /// The time now, in Unix milliseconds.
    pub fn now(&self) -> u64 {
        (self.now)()
    }

    /// The broken-down time of `ts` (Unix milliseconds).
    fn tm(&self, ts: u64) -> Option<libc::tm> {
        let secs = libc::time_t::try_from(ts / 1000).unwrap_or(libc::time_t::MAX);
        // SAFETY: `localtime_r`/`gmtime_r` write only into `tm`, which
        // lives on this stack frame, and read only `secs`.
        unsafe {
            let mut tm: libc::tm = std::mem::zeroed();
            let done = if self.utc {
                libc::gmtime_r(&secs, &mut tm)
            } else {
                libc::localtime_r(&secs, &mut tm)
            };
            (!done.is_null()).then_some(tm)
        }
    }

    fn strftime(&self, format: &std::ffi::CStr, ts: u64) -> String {
        let Some(tm) = self.tm(ts) else {
            return "--:--".into();
        };
        let mut buf = [0u8; 128];
        // SAFETY: `buf` is writable for its length, `format` is a valid C
        // string and `tm` a valid broken-down time; strftime writes at most
        // `buf.len()` bytes and returns how many (0 when it did not fit).
        let n = unsafe { libc::strftime(buf.as_mut_ptr().cast(), buf.len(), format.as_ptr(), &tm) };
        String::from_utf8_lossy(&buf[..n]).into_owned()
    }

    /// The time of a line.
    pub fn time(&self, ts: u64) -> String {
        self.strftime(&self.format, ts)
    }

    /// Which day `ts` falls on (year and day of the year): lines whose
    /// days differ get a marker between them.
    pub fn day(&self, ts: u64) -> (i32, i32) {
        self.tm(ts).map_or((0, 0), |tm| (tm.tm_year, tm.tm_yday))
    }

    /// A time moderation names (the end of a ban or mute): the line's
    /// time when it is today, with the date (`2023-11-15 12:00`) on
    /// another day.
    pub fn when(&self, ts: u64) -> String {
        if self.day(ts) == self.day(self.now()) {
            self.time(ts)
        } else {
            format!("{} {}", self.strftime(c"%Y-%m-%d", ts), self.time(ts))
        }
    }

    /// The date and time of a log line: `2023-11-14 12:00:05`.
    pub fn stamp(&self, ts: u64) -> String {
        self.strftime(c"%Y-%m-%d %H:%M:%S", ts)
    }

    /// The date on a day's marker: `Tue 14 Nov 2023`.
    pub fn date(&self, ts: u64) -> String {
        self.strftime(c"%a %d %b %Y", ts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2023-11-14 12:00:05 UTC.
    const TS: u64 = 1_699_963_205_000;

    #[test]
    fn formats_days_and_dates() {
        assert_eq!(Clock::utc("%H:%M").time(TS), "12:00");
        assert_eq!(Clock::utc("%H:%M:%S").time(TS), "12:00:05");
        assert_eq!(Clock::utc("%I:%M %p").time(TS), "12:00 PM");
        assert_eq!(Clock::utc("%H:%M").date(TS), "Tue 14 Nov 2023");
        let mut clock = Clock::utc("%H:%M");
        clock.now = || TS;
        assert_eq!(clock.when(TS + 3_600_000), "13:00");
        assert_eq!(clock.when(TS + 86_400_000), "2023-11-15 12:00");
        let clock = Clock::utc("%H:%M");
        assert_eq!(clock.day(TS), clock.day(TS + 11 * 3_600_000));
        assert_ne!(clock.day(TS), clock.day(TS + 12 * 3_600_000));
    }

    #[test]
    fn formats_are_checked() {
        for good in ["%H:%M", "%H:%M:%S", "%I:%M %p", "[%T]", "%%"] {
            assert_eq!(check_format(good), Ok(()), "{good}");
        }
        for bad in ["", "%n", "%H\n", "%", "%c", &"x".repeat(33)] {
            assert!(check_format(bad).is_err(), "{bad:?}");
        }
        assert_eq!(Clock::utc("%n").time(TS), "12:00", "a bad one falls back");
    }
}
