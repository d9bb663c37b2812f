//! Put latency as RocketMQ's `StoreStatsService` reports it in `GET_BROKER_RUNTIME_INFO`, from one
//! counter per append: `putMessageDistributeTime` (13 coarse buckets) and `putLatency99` /
//! `putLatency999` (percentiles interpolated over 76 fine buckets), both over the last whole
//! minute.
//!
//! Java keeps two bucket sets and bumps both for every put. Here the writer bumps one counter, in
//! a bucket set fine enough for both ([`BOUNDS_MS`]: every bound of either set), and the report
//! sums them into Java's two sets once a minute. Pure: the `Metrics` actor samples the counters
//! with the time ([`PutMinutes::sample`]).

use std::fmt::Write as _;
use std::time::Duration;

/// Java's coarse buckets (`PUT_MESSAGE_ENTIRE_TIME_MAX_DESC`): an append of `ms` whole
/// milliseconds is counted in the first bucket whose bound exceeds it (0 ms in the first, 10 s and
/// over in the last).
pub const COARSE_BOUNDS_MS: [u64; COARSE_BUCKETS - 1] = [
    1, 10, 50, 100, 200, 500, 1_000, 2_000, 3_000, 4_000, 5_000, 10_000,
];
pub const COARSE_BUCKETS: usize = 13;
const COARSE_NAMES: [&str; COARSE_BUCKETS] = [
    "[<=0ms]",
    "[0~10ms]",
    "[10~50ms]",
    "[50~100ms]",
    "[100~200ms]",
    "[200~500ms]",
    "[500ms~1s]",
    "[1~2s]",
    "[2~3s]",
    "[3~4s]",
    "[4~5s]",
    "[5~10s]",
    "[10s~]",
];

/// Java's fine buckets (`PUT_MESSAGE_ENTIRE_TIME_BUCKETS`): (step in ms, how many), each bucket
/// holding the appends up to and including its bound, after the previous bound; a last bucket up
/// to `Long.MAX_VALUE` holds the rest.
const FINE_STEPS: [(u64, usize); 7] = [
    (1, 20),
    (2, 15),
    (5, 10),
    (10, 10),
    (50, 6),
    (100, 5),
    (1_000, 9),
];
/// The fine buckets' count, the last (over 10 s) included.
pub const FINE_BUCKETS: usize = 76;
const FINE_BOUNDS_MS: [u64; FINE_BUCKETS] = fine_bounds();

/// The counters' buckets: inclusive upper bounds in ms, every bound of the fine set and the last
/// millisecond below every coarse bound, so each bucket lies within one bucket of either set.
pub const BUCKETS: usize = 87;
pub const BOUNDS_MS: [u64; BUCKETS] = counter_bounds();

const fn fine_bounds() -> [u64; FINE_BUCKETS] {
    let mut out = [0; FINE_BUCKETS];
    let (mut n, mut at, mut step) = (0, 0, 0);
    while step < FINE_STEPS.len() {
        let (size, count) = FINE_STEPS[step];
        let mut i = 0;
        while i < count {
            at += size;
            out[n] = at;
            n += 1;
            i += 1;
        }
        step += 1;
    }
    out[n] = i64::MAX as u64;
    out
}

/// The sorted union of 0, the fine bounds and each coarse bound minus one.
const fn counter_bounds() -> [u64; BUCKETS] {
    let mut out = [0; BUCKETS];
    let (mut n, mut f, mut c) = (1, 0, 0);
    while f < FINE_BUCKETS || c < COARSE_BOUNDS_MS.len() {
        let fine = if f < FINE_BUCKETS {
            FINE_BOUNDS_MS[f]
        } else {
            u64::MAX
        };
        let coarse = if c < COARSE_BOUNDS_MS.len() {
            COARSE_BOUNDS_MS[c] - 1
        } else {
            u64::MAX
        };
        let next = if fine < coarse { fine } else { coarse };
        if next > out[n - 1] {
            out[n] = next;
            n += 1;
        }
        if fine == next {
            f += 1;
        }
        if coarse == next {
            c += 1;
        }
    }
    assert!(n == BUCKETS, "BUCKETS is the union's size");
    out
}

/// The counter bucket of an append that took `took` (whole milliseconds, as Java measures).
pub fn bucket(took: Duration) -> usize {
    let ms = took.as_millis().min(u64::MAX as u128) as u64;
    BOUNDS_MS
        .partition_point(|&bound| bound < ms)
        .min(BUCKETS - 1)
}

/// Java's coarse counts (`putMessageDistributeTime`) from the counters'.
pub fn coarse(counts: &[u64; BUCKETS]) -> [u64; COARSE_BUCKETS] {
    let mut out = [0; COARSE_BUCKETS];
    for (bound, n) in BOUNDS_MS.iter().zip(counts) {
        out[COARSE_BOUNDS_MS.partition_point(|&b| b <= *bound)] += n;
    }
    out
}

/// Java's fine counts from the counters'.
fn fine(counts: &[u64; BUCKETS]) -> [u64; FINE_BUCKETS] {
    let mut out = [0; FINE_BUCKETS];
    for (bound, n) in BOUNDS_MS.iter().zip(counts) {
        out[FINE_BOUNDS_MS.partition_point(|&b| b < *bound)] += n;
    }
    out
}

/// `findPutMessageEntireTimePX`: the latency at quantile `px` in ms, interpolated linearly within
/// the fine bucket it falls in, as Java computes it (0 with no appends; Java's integer arithmetic,
/// its overflow in the last bucket included).
pub fn quantile_ms(counts: &[u64; BUCKETS], px: f64) -> f64 {
    let fine = fine(counts);
    let total: u64 = fine.iter().sum();
    let index = (total as f64 * px) as i64;
    let mut passed = 0i64;
    for (i, (&bound, &n)) in FINE_BOUNDS_MS.iter().zip(&fine).enumerate() {
        let n = n as i64;
        if index <= passed + n {
            if n == 0 {
                return if i == 0 {
                    0.0
                } else {
                    FINE_BOUNDS_MS[i - 1] as f64
                };
            }
            let relative = index - passed;
            let (low, width) = match i {
                0 => (0, bound as i64),
                _ => (
                    FINE_BOUNDS_MS[i - 1] as i64,
                    (bound - FINE_BOUNDS_MS[i - 1]) as i64,
                ),
            };
            return low as f64 + width.wrapping_mul(relative) as f64 / n as f64;
        }
        passed += n;
    }
    0.0
}

/// `putMessageDistributeTime` as Java formats it: `[<=0ms]:3 [0~10ms]:1 ... [10s~]:0 ` (each
/// bucket followed by a space), which monitoring tools split on spaces and colons.
pub fn distribution_text(counts: &[u64; COARSE_BUCKETS]) -> String {
    let mut out = String::with_capacity(200);
    for (name, n) in COARSE_NAMES.iter().zip(counts) {
        let _ = write!(out, "{name}:{n} ");
    }
    out
}

/// The counts of the last whole minute (Java swaps both bucket sets once a minute), from samples
/// of the counters.
#[derive(Debug, Clone)]
pub struct PutMinutes {
    minute: Option<u64>,
    at_last_rotation: [u64; BUCKETS],
    last_minute: [u64; BUCKETS],
}

impl Default for PutMinutes {
    fn default() -> Self {
        PutMinutes {
            minute: None,
            at_last_rotation: [0; BUCKETS],
            last_minute: [0; BUCKETS],
        }
    }
}

impl PutMinutes {
    /// The counters at `at_ms`: the first sample of a new minute ends the last one.
    pub fn sample(&mut self, at_ms: u64, counts: [u64; BUCKETS]) {
        let minute = at_ms / 60_000;
        match self.minute {
            Some(m) if m == minute => {}
            Some(_) => {
                let last = &self.at_last_rotation;
                self.last_minute = std::array::from_fn(|i| counts[i].saturating_sub(last[i]));
                self.at_last_rotation = counts;
            }
            None => self.at_last_rotation = counts,
        }
        self.minute = Some(minute);
    }

    pub fn last_minute(&self) -> &[u64; BUCKETS] {
        &self.last_minute
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts_of(ms: &[u64]) -> [u64; BUCKETS] {
        let mut counts = [0; BUCKETS];
        for &m in ms {
            counts[bucket(Duration::from_millis(m))] += 1;
        }
        counts
    }

    #[test]
    fn the_bucket_sets_are_javas() {
        assert_eq!(FINE_BOUNDS_MS[..3], [1, 2, 3]);
        assert_eq!(FINE_BOUNDS_MS[19..22], [20, 22, 24]);
        assert_eq!(FINE_BOUNDS_MS[74], 10_000);
        assert_eq!(FINE_BOUNDS_MS[75], i64::MAX as u64);
        assert!(BOUNDS_MS.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(BOUNDS_MS[..3], [0, 1, 2]);
        assert!(BOUNDS_MS.contains(&49) && BOUNDS_MS.contains(&50) && BOUNDS_MS.contains(&9_999));
    }

    #[test]
    fn coarse_counts_fall_in_javas_buckets_and_print_as_java_does() {
        let mut counts = counts_of(&[0, 0, 1, 9, 10, 49, 999, 1_000, 9_999, 10_000, 60_000]);
        counts[bucket(Duration::from_micros(999))] += 1;
        let coarse = coarse(&counts);
        assert_eq!(coarse, [3, 2, 2, 0, 0, 0, 1, 1, 0, 0, 0, 1, 2]);
        let text = distribution_text(&coarse);
        assert!(
            text.starts_with("[<=0ms]:3 [0~10ms]:2 [10~50ms]:2 [50~100ms]:0 "),
            "{text}"
        );
        assert!(text.ends_with("[5~10s]:1 [10s~]:2 "), "{text}");
        // What rocketmq-exporter does with it: split on spaces, then on ':'.
        let parsed: Vec<(&str, u64)> = text
            .split_whitespace()
            .map(|t| {
                t.split_once(':')
                    .map(|(k, v)| (k, v.parse().unwrap()))
                    .unwrap()
            })
            .collect();
        assert_eq!(parsed.len(), COARSE_BUCKETS);
    }

    /// The answers of Java 5.3.3's `findPutMessageEntireTimePX` for the same puts (its arithmetic
    /// done by hand: `lastBucket + (bucket - lastBucket) * relativeIndex / (double) count`).
    #[test]
    fn quantiles_interpolate_as_java_does() {
        assert_eq!(quantile_ms(&[0; BUCKETS], 0.99), 0.0);
        // 100 appends of 0 ms: all in the first fine bucket (up to 1 ms); index 99 of 100.
        let zeros = counts_of(&[0; 100]);
        assert_eq!(quantile_ms(&zeros, 0.99), 0.99);
        assert_eq!(quantile_ms(&zeros, 0.999), 0.99);
        // 90 at 0 ms, 10 at 30 ms (fine bucket (28, 30]): index 99 -> 28 + 2 * 9 / 10.
        let mut mixed = [0u64; 100];
        mixed[90..].fill(30);
        let mixed = counts_of(&mixed);
        assert!((quantile_ms(&mixed, 0.99) - 29.8).abs() < 1e-9);
        // 1000: index 999 -> 28 + 2 * 99 / 100 = 29.98... with 900 at 0 ms and 100 at 30 ms.
        let mut many = vec![0u64; 900];
        many.extend([30; 100]);
        assert!((quantile_ms(&counts_of(&many), 0.999) - 29.98).abs() < 1e-9);
    }

    #[test]
    fn minutes_rotate_on_the_first_sample_of_the_next() {
        let mut minutes = PutMinutes::default();
        let first = counts_of(&[0, 5]);
        minutes.sample(500, first);
        let mut later = first;
        later[bucket(Duration::ZERO)] += 1;
        minutes.sample(59_999, later);
        assert_eq!(minutes.last_minute(), &[0; BUCKETS]);
        minutes.sample(60_000, later);
        assert_eq!(coarse(minutes.last_minute())[..2], [1, 0]);
    }
}
