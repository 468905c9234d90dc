//! Latency percentiles from a shared log-linear histogram: every receiving
//! client records into one array of atomic counters, so a run of millions
//! of deliveries keeps no list of samples. Below 128 µs each value has its
//! own bucket; above, each power of two is cut into 128 buckets, so a
//! reported value is at most 1/128 (0.8 %) below the true one. The maximum
//! is kept exactly.

use std::sync::atomic::{AtomicU64, Ordering};

/// Sub-buckets per power of two (and exact buckets below it).
const SUB: u64 = 128;
const SUB_BITS: u32 = 7;
/// Bucket count: the exact ones, then 128 per power of two from 2^7 to 2^63.
const BUCKETS: usize = (SUB + (64 - SUB_BITS as u64) * SUB) as usize;

/// The bucket of `v`.
fn index(v: u64) -> usize {
    if v < SUB {
        return v as usize;
    }
    let e = 63 - v.leading_zeros(); // >= 7
    let mantissa = (v >> (e - SUB_BITS)) & (SUB - 1);
    (SUB + u64::from(e - SUB_BITS) * SUB + mantissa) as usize
}

/// The smallest value of bucket `i`.
fn low(i: usize) -> u64 {
    let i = i as u64;
    if i < SUB {
        return i;
    }
    let e = (i - SUB) / SUB + u64::from(SUB_BITS);
    let mantissa = (i - SUB) % SUB;
    (SUB + mantissa) << (e - u64::from(SUB_BITS))
}

/// A histogram many tasks record into at once.
pub struct Histogram {
    counts: Vec<AtomicU64>,
    max: AtomicU64,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            counts: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(),
            max: AtomicU64::new(0),
        }
    }
}

impl Histogram {
    /// Records one value.
    pub fn record(&self, v: u64) {
        self.counts[index(v)].fetch_add(1, Ordering::Relaxed);
        self.max.fetch_max(v, Ordering::Relaxed);
    }

    /// How many values were recorded.
    pub fn count(&self) -> u64 {
        self.counts.iter().map(|c| c.load(Ordering::Relaxed)).sum()
    }

    /// The largest value recorded (0 if none).
    pub fn max(&self) -> u64 {
        self.max.load(Ordering::Relaxed)
    }

    /// The nearest-rank percentile `p` (0 < p ≤ 1): the smallest recorded
    /// value (to the bucket's precision) that at least `p` of all values do
    /// not exceed. `p = 1` is the exact maximum. 0 if nothing was recorded.
    pub fn percentile(&self, p: f64) -> u64 {
        let total = self.count();
        if total == 0 {
            return 0;
        }
        if p >= 1.0 {
            return self.max();
        }
        let rank = ((p * total as f64).ceil() as u64).clamp(1, total);
        let mut seen = 0;
        for (i, c) in self.counts.iter().enumerate() {
            seen += c.load(Ordering::Relaxed);
            if seen >= rank {
                return low(i).min(self.max());
            }
        }
        self.max()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The textbook nearest-rank percentile of a sorted list.
    fn exact(sorted: &[u64], p: f64) -> u64 {
        let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
        sorted[rank - 1]
    }

    #[test]
    fn buckets_round_trip_and_cover_every_value() {
        for v in (0..5000).chain([u64::MAX / 3, u64::MAX - 1, u64::MAX]) {
            let i = index(v);
            assert!(i < BUCKETS, "{v} -> {i}");
            assert!(low(i) <= v, "bucket {i} starts at {} above {v}", low(i));
            assert!(v - low(i) <= v / SUB, "{v} in bucket from {}", low(i));
            if i + 1 < BUCKETS {
                assert!(low(i + 1) > v, "{v} belongs to the next bucket");
            }
        }
        assert_eq!(index(127), 127);
        assert_eq!(index(128), 128);
        assert_eq!(low(index(1000)), 1000 / 8 * 8);
    }

    #[test]
    fn small_values_are_exact() {
        let h = Histogram::default();
        for v in 1..=100 {
            h.record(v);
        }
        assert_eq!(h.count(), 100);
        assert_eq!(h.percentile(0.5), 50);
        assert_eq!(h.percentile(0.99), 99);
        assert_eq!(h.percentile(1.0), 100);
        assert_eq!(h.percentile(0.001), 1);
    }

    #[test]
    fn large_values_within_one_percent_of_the_exact_percentile() {
        let h = Histogram::default();
        // A skewed spread: mostly around 2 ms, a tail to 900 ms.
        let mut values: Vec<u64> = (0..20_000u64)
            .map(|i| 1_500 + (i * 7919) % 1_000 + if i % 97 == 0 { i * 45 } else { 0 })
            .collect();
        for &v in &values {
            h.record(v);
        }
        values.sort_unstable();
        for p in [0.5, 0.9, 0.99, 0.999] {
            let (got, want) = (h.percentile(p), exact(&values, p));
            assert!(
                got <= want && want - got <= want / 100,
                "p{p}: {got} vs exact {want}"
            );
        }
        assert_eq!(h.percentile(1.0), *values.last().unwrap());
        assert_eq!(h.max(), *values.last().unwrap());
    }

    #[test]
    fn empty_histogram_reports_zero() {
        let h = Histogram::default();
        assert_eq!(h.percentile(0.5), 0);
        assert_eq!(h.percentile(1.0), 0);
    }
}
