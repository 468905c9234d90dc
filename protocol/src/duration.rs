//! Human durations (`30s`, `10m`, `1h`, `0`), as config files and
//! `chatctl rotate-key --grace` write them.

use std::time::Duration;

/// Parses `N` followed by `ms`, `s`, `m`, `h` or `d`; a bare `0` is zero.
pub fn parse(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let n: u64 = digits.parse().map_err(|_| {
        format!("invalid duration \"{text}\": expected a number and a unit, like 30s, 10m or 1h")
    })?;
    let secs = match unit {
        "ms" => return Ok(Duration::from_millis(n)),
        "s" => Some(n),
        "m" => n.checked_mul(60),
        "h" => n.checked_mul(3600),
        "d" => n.checked_mul(86_400),
        _ => {
            return Err(format!(
                "invalid duration \"{text}\": the unit must be ms, s, m, h or d (like 30s, 10m or 1h)"
            ));
        }
    };
    secs.map(Duration::from_secs)
        .ok_or_else(|| format!("duration \"{text}\" is too long"))
}

/// Formats a duration the way [`parse`] reads it (largest exact unit).
pub fn format(d: Duration) -> String {
    let ms = d.as_millis();
    if !ms.is_multiple_of(1000) {
        return format!("{ms}ms");
    }
    let s = d.as_secs();
    match s {
        0 => "0".into(),
        s if s % 86_400 == 0 => format!("{}d", s / 86_400),
        s if s % 3600 == 0 => format!("{}h", s / 3600),
        s if s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units() {
        assert_eq!(parse("30s").unwrap(), Duration::from_secs(30));
        assert_eq!(parse("10m").unwrap(), Duration::from_secs(600));
        assert_eq!(parse("1h").unwrap(), Duration::from_secs(3600));
        assert_eq!(parse("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse("0").unwrap(), Duration::ZERO);
        for bad in ["", "s", "10", "10x", "-1s", "1.5h", "99999999999999999999d"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn formats_round_trip() {
        for text in ["0", "250ms", "45s", "10m", "1h", "2d", "90s"] {
            assert_eq!(format(parse(text).unwrap()), text);
        }
    }
}
