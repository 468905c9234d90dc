//! The little arithmetic the suite's tables need: medians, a straight
//! line through measured points (the linear model of memory and join
//! time), and today's date.

/// The median of `values` (the mean of the middle two for an even count);
/// `None` for none.
pub fn median(mut values: Vec<f64>) -> Option<f64> {
    values.retain(|v| v.is_finite());
    values.sort_by(f64::total_cmp);
    let n = values.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(values[n / 2]),
        _ => Some((values[n / 2 - 1] + values[n / 2]) / 2.0),
    }
}

/// A straight line `y = intercept + slope × x`, fitted by least squares.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Line {
    /// `y` at `x = 0`.
    pub intercept: f64,
    /// `y` per unit of `x`.
    pub slope: f64,
    /// The largest distance of a point from the line, as a share of that
    /// point's `y` (0.05: every point within 5 %).
    pub worst_miss: f64,
}

impl Line {
    /// The line through `points` (x, y); `None` for fewer than two
    /// distinct x.
    pub fn fit(points: &[(f64, f64)]) -> Option<Line> {
        let n = points.len() as f64;
        let (sx, sy) = points
            .iter()
            .fold((0.0, 0.0), |(sx, sy), (x, y)| (sx + x, sy + y));
        let (mx, my) = (sx / n, sy / n);
        let sxx: f64 = points.iter().map(|(x, _)| (x - mx) * (x - mx)).sum();
        if points.len() < 2 || sxx <= 0.0 {
            return None;
        }
        let sxy: f64 = points.iter().map(|(x, y)| (x - mx) * (y - my)).sum();
        let slope = sxy / sxx;
        let intercept = my - slope * mx;
        let worst_miss = points
            .iter()
            .map(|(x, y)| ((intercept + slope * x) - y).abs() / y.abs().max(f64::MIN_POSITIVE))
            .fold(0.0, f64::max);
        Some(Line {
            intercept,
            slope,
            worst_miss,
        })
    }

    /// `y` at `x`.
    pub fn at(&self, x: f64) -> f64 {
        self.intercept + self.slope * x
    }
}

/// Today's date (UTC) as `YYYY-MM-DD`.
pub fn today() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    date_of(secs / 86_400)
}

/// The civil date `days` after 1970-01-01 (H. Hinnant's `civil_from_days`).
fn date_of(days: u64) -> String {
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_of_odd_even_and_no_values() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(vec![4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(vec![f64::NAN, 5.0]), Some(5.0));
        assert_eq!(median(Vec::new()), None);
    }

    #[test]
    fn a_line_through_points_and_how_far_they_stray() {
        let line = Line::fit(&[(1.0, 12.0), (2.0, 22.0), (3.0, 32.0)]).unwrap();
        assert!((line.slope - 10.0).abs() < 1e-9 && (line.intercept - 2.0).abs() < 1e-9);
        assert!(line.worst_miss < 1e-9);
        assert!((line.at(10.0) - 102.0).abs() < 1e-9);
        // Quadratic points miss a straight line.
        let bent = Line::fit(&[(1.0, 1.0), (2.0, 4.0), (3.0, 9.0), (4.0, 16.0)]).unwrap();
        assert!(bent.worst_miss > 0.2, "{bent:?}");
        assert_eq!(Line::fit(&[(1.0, 1.0)]), None);
        assert_eq!(Line::fit(&[(1.0, 1.0), (1.0, 2.0)]), None);
    }

    #[test]
    fn dates_from_days_since_the_epoch() {
        assert_eq!(date_of(0), "1970-01-01");
        assert_eq!(date_of(11_016), "2000-02-29");
        assert_eq!(date_of(20_788), "2026-12-01");
    }
}
