//! Message rates and day totals as RocketMQ reports them in `GET_BROKER_RUNTIME_INFO`: the
//! `putTps` / `getFoundTps` / `getMissTps` / `getTotalTps` / `getTransferredTps` of Java's
//! `StoreStatsService` (rates over the last 10 s, 60 s and 600 s) and the `msgPutTotal*` /
//! `msgGetTotal*` of its `BrokerStats` (the totals now and at the last two day changes).
//!
//! Pure and synchronous: the broker's `Metrics` actor reads the store's counters ([`Totals`]) once
//! a second and hands them here with the time ([`RateSampler::sample`]); nothing here reads a clock,
//! so the tests drive time by hand.
//!
//! As Java: one sample a second, the last 601 kept (600 s of intervals); the rate over a window of
//! N seconds is the difference between the newest sample and the one N samples before it, divided
//! by the time between the two. Unlike Java, a broker younger than the window gets the rate over
//! the samples it has (Java answers an empty string until it has N + 1 samples), and a window
//! without two samples or without time between them is 0, never a division by zero.

use std::collections::VecDeque;

use crate::put_latency::{self, PutMinutes};

/// Samples kept: one a second for 600 s, plus the newest (Java's `MAX_RECORDS_OF_SAMPLING + 1`).
pub const MAX_SAMPLES: usize = 601;

/// The windows RocketMQ reports, in seconds (one sample a second), in the order it prints them.
pub const WINDOWS_SECS: [usize; 3] = [10, 60, 600];

const DAY_MS: u64 = 86_400_000;

/// The store's counters at one moment; each only ever grows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    /// Messages appended to the commit log (a batch counts its messages).
    pub put: u64,
    /// Bytes appended (whole records, as stored).
    pub put_bytes: u64,
    /// Messages handed to consumers in FOUND pull answers.
    pub transferred: u64,
    /// Pull answers that carried messages.
    pub pulls_found: u64,
    /// Pull answers that carried none (not found, offset moved, retry).
    pub pulls_missed: u64,
}

/// Per-second rates over one window.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Rates {
    /// Messages appended (`putTps`).
    pub put: f64,
    /// Pulls that found messages (`getFoundTps`).
    pub found: f64,
    /// Pulls that found none (`getMissTps`).
    pub missed: f64,
    /// Messages transferred to consumers (`getTransferredTps`).
    pub transferred: f64,
}

impl Rates {
    /// All pulls (`getTotalTps`: found + missed).
    pub fn pulls(&self) -> f64 {
        self.found + self.missed
    }
}

/// Everything the runtime info reports about message flow, at one moment.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FlowReport {
    /// The counters now (read when the report was asked for, not at the last sample).
    pub now: Totals,
    /// Rates over [`WINDOWS_SECS`], in that order.
    pub rates: [Rates; 3],
    /// The totals when the UTC day last changed while the broker ran (all 0 before that).
    pub today_morning: Totals,
    /// The totals at the day change before that one (all 0 before that).
    pub yesterday_morning: Totals,
    /// Appends per put-latency bucket in the last whole minute ([`put_latency::BOUNDS_MS`]):
    /// `putMessageDistributeTime`, `putLatency99`, `putLatency999`.
    pub put_latency: [u64; put_latency::BUCKETS],
}

impl FlowReport {
    /// The `GET_BROKER_RUNTIME_INFO` keys this report answers, formatted as the Java broker does
    /// (rates `"<10s> <60s> <600s>"`, here with two decimals each; totals as integers; the
    /// average size as Java's `String.valueOf(double)` writes a small number).
    pub fn runtime_info(&self) -> Vec<(&'static str, String)> {
        let windows = |f: fn(&Rates) -> f64| {
            let [a, b, c] = self.rates.map(|r| f(&r));
            format!("{a:.2} {b:.2} {c:.2}")
        };
        let transferred = windows(|r| r.transferred);
        let average_size = self.now.put_bytes as f64 / self.now.put.max(1) as f64;
        vec![
            ("putTps", windows(|r| r.put)),
            ("getFoundTps", windows(|r| r.found)),
            ("getMissTps", windows(|r| r.missed)),
            ("getTotalTps", windows(Rates::pulls)),
            ("getTransferredTps", transferred.clone()),
            // 4.9's spelling, which its `mqadmin clusterList` reads.
            ("getTransferedTps", transferred),
            ("msgPutTotalTodayNow", self.now.put.to_string()),
            ("msgGetTotalTodayNow", self.now.transferred.to_string()),
            (
                "msgPutTotalTodayMorning",
                self.today_morning.put.to_string(),
            ),
            (
                "msgGetTotalTodayMorning",
                self.today_morning.transferred.to_string(),
            ),
            (
                "msgPutTotalYesterdayMorning",
                self.yesterday_morning.put.to_string(),
            ),
            (
                "msgGetTotalYesterdayMorning",
                self.yesterday_morning.transferred.to_string(),
            ),
            ("putMessageSizeTotal", self.now.put_bytes.to_string()),
            // `{:?}` writes 12.0 and 12.5 as Java does (no exponent below 10^7 bytes).
            ("putMessageAverageSize", format!("{average_size:?}")),
            (
                "putMessageDistributeTime",
                put_latency::distribution_text(&put_latency::coarse(&self.put_latency)),
            ),
            (
                "putLatency99",
                format!("{:.2}", put_latency::quantile_ms(&self.put_latency, 0.99)),
            ),
            (
                "putLatency999",
                format!("{:.2}", put_latency::quantile_ms(&self.put_latency, 0.999)),
            ),
        ]
    }
}

#[derive(Debug, Clone, Copy)]
struct Sample {
    /// Monotonic milliseconds (any origin).
    at_ms: u64,
    totals: Totals,
}

/// The last [`MAX_SAMPLES`] samples of the store's counters and the totals at the last two UTC
/// day changes.
#[derive(Debug, Clone, Default)]
pub struct RateSampler {
    samples: VecDeque<Sample>,
    /// The UTC day (days since the epoch) of the newest sample.
    day: Option<u64>,
    today_morning: Totals,
    yesterday_morning: Totals,
    put_minutes: PutMinutes,
}

impl RateSampler {
    pub fn new() -> Self {
        RateSampler {
            samples: VecDeque::with_capacity(MAX_SAMPLES),
            ..Default::default()
        }
    }

    /// Records `totals` as read at `at_ms` (a monotonic clock in milliseconds, for the rates) and
    /// `unix_ms` (the wall clock, for the day). When the UTC day has moved on since the last
    /// sample, these totals become the day's morning totals (Java's `BrokerStats.record`, which
    /// runs at midnight); a wall clock stepped back to an earlier day changes nothing.
    pub fn sample(&mut self, at_ms: u64, unix_ms: u64, totals: Totals) {
        let day = unix_ms / DAY_MS;
        match self.day {
            Some(last) if day > last => {
                self.yesterday_morning = self.today_morning;
                self.today_morning = totals;
                self.day = Some(day);
            }
            Some(_) => {}
            None => self.day = Some(day),
        }
        if self.samples.len() == MAX_SAMPLES {
            self.samples.pop_front();
        }
        self.samples.push_back(Sample { at_ms, totals });
    }

    /// The rates over the last `window` samples (seconds), or over all there are when fewer.
    pub fn rates(&self, window: usize) -> Rates {
        let (Some(last), Some(first)) = (
            self.samples.back(),
            self.samples
                .get(self.samples.len().saturating_sub(window.saturating_add(1))),
        ) else {
            return Rates::default();
        };
        let ms = last.at_ms.saturating_sub(first.at_ms);
        if ms == 0 {
            return Rates::default();
        }
        let per_second = |f: fn(&Totals) -> u64| {
            f(&last.totals).saturating_sub(f(&first.totals)) as f64 * 1000.0 / ms as f64
        };
        Rates {
            put: per_second(|t| t.put),
            found: per_second(|t| t.pulls_found),
            missed: per_second(|t| t.pulls_missed),
            transferred: per_second(|t| t.transferred),
        }
    }

    /// The report with `now` as the current totals.
    /// The writer's put-latency counters at `at_ms` (the same clock as [`RateSampler::sample`]).
    pub fn sample_put_latency(&mut self, at_ms: u64, counts: [u64; put_latency::BUCKETS]) {
        self.put_minutes.sample(at_ms, counts);
    }

    pub fn report(&self, now: Totals) -> FlowReport {
        FlowReport {
            now,
            rates: WINDOWS_SECS.map(|w| self.rates(w)),
            today_morning: self.today_morning,
            yesterday_morning: self.yesterday_morning,
            put_latency: *self.put_minutes.last_minute(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A day boundary in unix milliseconds (2024-01-01T00:00:00Z) and a time of day after it.
    const MIDNIGHT: u64 = 19_723 * DAY_MS;
    const NOON: u64 = MIDNIGHT + DAY_MS / 2;

    fn puts(put: u64) -> Totals {
        Totals {
            put,
            ..Totals::default()
        }
    }

    fn table(r: &FlowReport) -> std::collections::HashMap<&'static str, String> {
        r.runtime_info().into_iter().collect()
    }

    /// No sample, or one: every rate is 0 (nothing to divide, and no division by zero).
    #[test]
    fn no_rate_before_two_samples() {
        let mut s = RateSampler::new();
        assert_eq!(s.rates(10), Rates::default());
        s.sample(0, NOON, puts(500));
        assert_eq!(s.rates(10), Rates::default());
        // A second sample at the same instant: no time between them.
        s.sample(0, NOON, puts(600));
        assert_eq!(s.rates(10), Rates::default());
        assert_eq!(table(&s.report(puts(600)))["putTps"], "0.00 0.00 0.00");
    }

    /// 100 messages a second for 700 s, then 1,000 a second for 20 s: the 10 s window sees only
    /// the fast ones, the 60 s and 600 s windows the mix, each over exactly its own span.
    #[test]
    fn each_window_spans_its_own_seconds() {
        let mut s = RateSampler::new();
        let mut total = 0;
        for sec in 0..=700u64 {
            s.sample(sec * 1000, NOON + sec * 1000, puts(total));
            total += 100;
        }
        total -= 100;
        for sec in 701..=720u64 {
            total += 1000;
            s.sample(sec * 1000, NOON + sec * 1000, puts(total));
        }
        assert_eq!(s.samples.len(), MAX_SAMPLES, "only 601 samples are kept");
        assert_eq!(s.rates(10).put, 1000.0);
        // 60 s: 20 s at 1,000 and 40 s at 100.
        assert_eq!(s.rates(60).put, (20.0 * 1000.0 + 40.0 * 100.0) / 60.0);
        assert_eq!(s.rates(600).put, (20.0 * 1000.0 + 580.0 * 100.0) / 600.0);
        let r = table(&s.report(puts(total)));
        assert_eq!(r["putTps"], "1000.00 400.00 130.00");
    }

    /// The divisor is the time between the samples, not their count: a late tick (the actor was
    /// busy) does not inflate the rate.
    #[test]
    fn the_rate_divides_by_elapsed_time() {
        let mut s = RateSampler::new();
        s.sample(0, NOON, puts(0));
        s.sample(1000, NOON + 1000, puts(100));
        s.sample(3000, NOON + 3000, puts(300));
        assert_eq!(s.rates(10).put, 100.0);
        assert_eq!(s.rates(1).put, 100.0);
    }

    /// A broker 5 s old answers every window over those 5 s.
    #[test]
    fn a_young_broker_uses_the_samples_it_has() {
        let mut s = RateSampler::new();
        for sec in 0..=5u64 {
            let t = Totals {
                put: sec * 40,
                put_bytes: sec * 40 * 200,
                transferred: sec * 32,
                pulls_found: sec,
                pulls_missed: sec * 3,
            };
            s.sample(sec * 1000, NOON + sec * 1000, t);
        }
        let want = Rates {
            put: 40.0,
            found: 1.0,
            missed: 3.0,
            transferred: 32.0,
        };
        for w in WINDOWS_SECS {
            assert_eq!(s.rates(w), want, "window {w}");
        }
        let now = Totals {
            put: 200,
            put_bytes: 40_100,
            transferred: 160,
            pulls_found: 5,
            pulls_missed: 15,
        };
        let r = table(&s.report(now));
        assert_eq!(r["putTps"], "40.00 40.00 40.00");
        assert_eq!(r["getFoundTps"], "1.00 1.00 1.00");
        assert_eq!(r["getMissTps"], "3.00 3.00 3.00");
        assert_eq!(r["getTotalTps"], "4.00 4.00 4.00");
        assert_eq!(r["getTransferredTps"], "32.00 32.00 32.00");
        assert_eq!(r["getTransferedTps"], r["getTransferredTps"]);
        // The totals are the ones given now, not the last sample's.
        assert_eq!(r["msgPutTotalTodayNow"], "200");
        assert_eq!(r["msgGetTotalTodayNow"], "160");
        assert_eq!(r["putMessageSizeTotal"], "40100");
        assert_eq!(r["putMessageAverageSize"], "200.5");
    }

    /// The morning totals are 0 until the UTC day changes; then today's morning is the total at
    /// the change and yesterday's the one before it. A clock stepped back changes nothing.
    #[test]
    fn morning_totals_follow_the_utc_day() {
        let mut s = RateSampler::new();
        let t = |put, transferred| Totals {
            put,
            transferred,
            ..Totals::default()
        };
        s.sample(0, MIDNIGHT - 2000, t(10, 1));
        s.sample(1000, MIDNIGHT - 1000, t(20, 2));
        let r = table(&s.report(t(25, 3)));
        for key in [
            "msgPutTotalTodayMorning",
            "msgGetTotalTodayMorning",
            "msgPutTotalYesterdayMorning",
            "msgGetTotalYesterdayMorning",
        ] {
            assert_eq!(r[key], "0", "{key} before any day change");
        }
        // The first sample of the new day.
        s.sample(2000, MIDNIGHT, t(30, 3));
        s.sample(3000, MIDNIGHT + 1000, t(40, 4));
        let r = table(&s.report(t(40, 4)));
        assert_eq!(
            (
                &*r["msgPutTotalTodayMorning"],
                &*r["msgGetTotalTodayMorning"]
            ),
            ("30", "3")
        );
        assert_eq!(r["msgPutTotalYesterdayMorning"], "0");
        // The wall clock steps back into the previous day: not a day change.
        s.sample(4000, MIDNIGHT - 5000, t(50, 5));
        assert_eq!(s.report(t(50, 5)).today_morning, t(30, 3));
        // The next midnight.
        s.sample(5000, MIDNIGHT + DAY_MS + 10, t(90, 9));
        let r = s.report(t(95, 9));
        assert_eq!((r.today_morning, r.yesterday_morning), (t(90, 9), t(30, 3)));
        let r = table(&r);
        assert_eq!(r["msgPutTotalYesterdayMorning"], "30");
        assert_eq!(r["msgGetTotalYesterdayMorning"], "3");
    }

    /// No put yet: the average size is 0.0, not NaN (Java divides by at least 1 too).
    #[test]
    fn average_size_of_nothing_is_zero() {
        let r = table(&RateSampler::new().report(Totals::default()));
        assert_eq!(r["putMessageAverageSize"], "0.0");
        assert_eq!(r["getTotalTps"], "0.00 0.00 0.00");
    }
}
