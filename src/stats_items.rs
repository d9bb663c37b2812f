//! Per-topic and per-group statistics as RocketMQ's `VIEW_BROKER_STATS_DATA` (315) reports them
//! (`mqadmin statsAll`, the Dashboard): Java's `StatsItem` / `StatsItemSet` and the part of its
//! `BrokerStatsManager` actormq keeps: `TOPIC_PUT_NUMS` / `TOPIC_PUT_SIZE` (key: the topic),
//! `GROUP_GET_NUMS` / `GROUP_GET_SIZE` (key: `topic@group`), `BROKER_PUT_NUMS` /
//! `BROKER_GET_NUMS` (key: the cluster name, as Java's `incBrokerPutNums` / `incBrokerGetNums`).
//!
//! Pure and synchronous: the broker's `Dispatcher` counts ([`Tally`], per consume-queue append and
//! per FOUND pull answer) and ships its totals ([`StoreCounters`]) once per sampling interval to
//! the `Metrics` actor, which hands them here with the time ([`BrokerStats::sample`]); nothing here
//! reads a clock, so the tests drive time by hand.
//!
//! As Java: each item keeps three windows of samples `(time, times, value)`: one per sampling
//! interval (10 s) with the last 7 kept (the minute), one per 60 intervals (10 min) with 7 kept
//! (the hour), one per 360 intervals (1 h) with 25 kept (the day). The first sample of a window
//! is preceded by a zero sample one period earlier, so everything counted before it shows. A
//! window's `sum` is the newest value minus the oldest, `tps` the sum per second between them,
//! `avgpt` the sum per counting (`times`): messages per send, bytes per pull. Only completed
//! samples count, never what was counted since the last one. Unlike Java, a window with no time
//! between its samples has a tps of 0, never a division by zero, and a counter that goes back
//! (a counting site started over) is read as a restart from 0, so an item's value never shrinks.
//! Items are never dropped (Java drops them only when a topic or group is deleted, or with the
//! off-by-default `maxStatsIdleTimeInMinutes`).

use std::collections::VecDeque;

use serde::Serialize;

use crate::FastMap;

/// Messages put to a topic (value: messages; times: appends, a batch send counts once).
pub const TOPIC_PUT_NUMS: &str = "TOPIC_PUT_NUMS";
/// Bytes put to a topic (value: whole stored records; times: appends).
pub const TOPIC_PUT_SIZE: &str = "TOPIC_PUT_SIZE";
/// Messages a group pulled from a topic (value: messages; times: FOUND pull answers).
pub const GROUP_GET_NUMS: &str = "GROUP_GET_NUMS";
/// Bytes a group pulled from a topic (value: record bytes; times: FOUND pull answers).
pub const GROUP_GET_SIZE: &str = "GROUP_GET_SIZE";
/// Messages put to the broker, every topic (value only: times stays 0, as Java).
pub const BROKER_PUT_NUMS: &str = "BROKER_PUT_NUMS";
/// Messages pulled from the broker, every group (value only, as Java).
pub const BROKER_GET_NUMS: &str = "BROKER_GET_NUMS";

/// The stats names kept, in the order of [`BrokerStats`]' sets.
pub const STATS_NAMES: [&str; 6] = [
    TOPIC_PUT_NUMS,
    TOPIC_PUT_SIZE,
    GROUP_GET_NUMS,
    GROUP_GET_SIZE,
    BROKER_PUT_NUMS,
    BROKER_GET_NUMS,
];

/// The minute window: one sample per interval, 7 kept (6 intervals: a minute at 10 s).
const MINUTE: Tier = Tier { every: 1, keep: 7 };
/// The hour window: one sample per 60 intervals (10 min at 10 s), 7 kept.
const HOUR: Tier = Tier { every: 60, keep: 7 };
/// The day window: one sample per 360 intervals (1 h at 10 s), 25 kept.
const DAY: Tier = Tier {
    every: 360,
    keep: 25,
};
const TIERS: [Tier; 3] = [MINUTE, HOUR, DAY];

/// Java's sampling interval (`samplingInSeconds`): 10 s.
pub const DEFAULT_SAMPLE_INTERVAL_MS: u64 = 10_000;

#[derive(Debug, Clone, Copy)]
struct Tier {
    /// Sampled every this many intervals (the first interval samples every tier).
    every: u64,
    /// Samples kept.
    keep: usize,
}

/// What one counting site added up for one key since the broker started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    /// Messages.
    pub msgs: u64,
    /// Their bytes.
    pub bytes: u64,
    /// How many times it counted (appends, FOUND pull answers).
    pub times: u64,
}

impl Tally {
    /// Counts one append or one pull answer of `msgs` messages and `bytes` bytes.
    pub fn count(&mut self, msgs: u64, bytes: u64) {
        self.msgs += msgs;
        self.bytes += bytes;
        self.times += 1;
    }

    /// Adds another tally (a topic's queues summed).
    pub fn merge(&mut self, other: &Tally) {
        self.msgs += other.msgs;
        self.bytes += other.bytes;
        self.times += other.times;
    }

    pub fn is_zero(&self) -> bool {
        self.times == 0 && self.msgs == 0 && self.bytes == 0
    }
}

/// The counting site's totals at one moment; a key absent here is unchanged since the last time.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoreCounters {
    /// Per topic: what its consume queues took.
    pub topic_puts: Vec<(String, Tally)>,
    /// Per (topic, group): what FOUND pull answers carried.
    pub group_gets: Vec<(String, String, Tally)>,
}

/// One window's figures (Java's `StatsSnapshot`).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct StatsSnapshot {
    /// Counted between the oldest and the newest sample.
    pub sum: u64,
    /// `sum` per second between them.
    pub tps: f64,
    /// `sum` per counting (0 when nothing counted `times`).
    pub avgpt: f64,
    /// Countings between them.
    pub times: u64,
}

/// `BrokerStatsItem`: one window as the body carries it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct BrokerStatsItem {
    pub sum: u64,
    pub tps: f64,
    pub avgpt: f64,
}

impl From<StatsSnapshot> for BrokerStatsItem {
    fn from(s: StatsSnapshot) -> Self {
        BrokerStatsItem {
            sum: s.sum,
            tps: s.tps,
            avgpt: s.avgpt,
        }
    }
}

/// `BrokerStatsData`, the body of a `VIEW_BROKER_STATS_DATA` answer (JSON, as Java's
/// `RemotingSerializable.encode`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BrokerStatsData {
    pub stats_minute: BrokerStatsItem,
    pub stats_hour: BrokerStatsItem,
    pub stats_day: BrokerStatsItem,
}

/// Java's `CallSnapshot`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Sample {
    at_ms: u64,
    times: u64,
    value: u64,
}

/// One statistic of one key (Java's `StatsItem`).
#[derive(Debug, Clone, Default)]
pub struct StatsItem {
    /// Counted so far (Java's `value` / `times` adders); never shrinks.
    value: u64,
    times: u64,
    /// The counting site's totals last seen, to turn them into increments.
    seen: (u64, u64),
    /// Minute, hour and day samples, oldest first.
    windows: [VecDeque<Sample>; 3],
}

impl StatsItem {
    /// Adds `value` and `times` (Java's `addValue`).
    pub fn add(&mut self, value: u64, times: u64) {
        self.value = self.value.saturating_add(value);
        self.times = self.times.saturating_add(times);
    }

    /// Takes a counting site's totals; returns the increment since the totals last seen (all of
    /// them if they went back: the site started over from 0).
    pub fn observe(&mut self, value: u64, times: u64) -> (u64, u64) {
        let (seen_value, seen_times) = self.seen;
        let delta = if value < seen_value || times < seen_times {
            (value, times)
        } else {
            (value - seen_value, times - seen_times)
        };
        self.seen = (value, times);
        self.add(delta.0, delta.1);
        delta
    }

    /// Takes a sample for window `w` (0 minute, 1 hour, 2 day) at `now_ms`; a first sample is
    /// preceded by a zero sample one `period_ms` earlier.
    fn sample(&mut self, w: usize, keep: usize, now_ms: u64, period_ms: u64) {
        let list = &mut self.windows[w];
        if list.is_empty() {
            list.push_back(Sample {
                at_ms: now_ms.saturating_sub(period_ms),
                times: 0,
                value: 0,
            });
        }
        list.push_back(Sample {
            at_ms: now_ms,
            times: self.times,
            value: self.value,
        });
        while list.len() > keep {
            list.pop_front();
        }
    }

    fn compute(list: &VecDeque<Sample>) -> StatsSnapshot {
        let (Some(first), Some(last)) = (list.front(), list.back()) else {
            return StatsSnapshot::default();
        };
        let sum = last.value.saturating_sub(first.value);
        let times = last.times.saturating_sub(first.times);
        let elapsed_ms = last.at_ms.saturating_sub(first.at_ms);
        StatsSnapshot {
            sum,
            tps: match elapsed_ms {
                0 => 0.0,
                ms => sum as f64 * 1000.0 / ms as f64,
            },
            avgpt: match times {
                0 => 0.0,
                t => sum as f64 / t as f64,
            },
            times,
        }
    }

    /// The minute window (Java's `getStatsDataInMinute`).
    pub fn minute(&self) -> StatsSnapshot {
        Self::compute(&self.windows[0])
    }

    /// The hour window.
    pub fn hour(&self) -> StatsSnapshot {
        Self::compute(&self.windows[1])
    }

    /// The day window.
    pub fn day(&self) -> StatsSnapshot {
        Self::compute(&self.windows[2])
    }

    /// All three, as the body carries them.
    pub fn data(&self) -> BrokerStatsData {
        BrokerStatsData {
            stats_minute: self.minute().into(),
            stats_hour: self.hour().into(),
            stats_day: self.day().into(),
        }
    }
}

/// Every kept statistic by name and key (Java's `BrokerStatsManager.statsTable`).
#[derive(Debug, Clone)]
pub struct BrokerStats {
    /// The key of the `BROKER_*` items.
    cluster: String,
    interval_ms: u64,
    /// Intervals sampled so far.
    ticks: u64,
    /// One key -> item map per name of [`STATS_NAMES`], in that order.
    sets: [FastMap<String, StatsItem>; 6],
}

impl BrokerStats {
    /// No items yet; `cluster` keys the `BROKER_*` items; one sample per `interval_ms`
    /// ([`DEFAULT_SAMPLE_INTERVAL_MS`] as Java; tests sample faster).
    pub fn new(cluster: impl Into<String>, interval_ms: u64) -> BrokerStats {
        BrokerStats {
            cluster: cluster.into(),
            interval_ms: interval_ms.max(1),
            ticks: 0,
            sets: Default::default(),
        }
    }

    fn item_mut(&mut self, name: usize, key: &str) -> &mut StatsItem {
        let set = &mut self.sets[name];
        if !set.contains_key(key) {
            set.insert(key.to_string(), StatsItem::default());
        }
        set.get_mut(key).expect("just inserted")
    }

    /// One sampling interval passed (`now_ms`, any monotonic clock): takes the counting site's
    /// totals, then samples the minute window of every item, and the hour and day windows
    /// when theirs are due. Keys with nothing counted yet get no item (Java creates one on
    /// the first count).
    pub fn sample(&mut self, now_ms: u64, counters: &StoreCounters) {
        let (mut put, mut get) = (0u64, 0u64);
        for (topic, t) in counters.topic_puts.iter().filter(|(_, t)| !t.is_zero()) {
            let (msgs, _) = self.item_mut(0, topic).observe(t.msgs, t.times);
            self.item_mut(1, topic).observe(t.bytes, t.times);
            put += msgs;
        }
        for (topic, group, t) in counters.group_gets.iter().filter(|(.., t)| !t.is_zero()) {
            let key = format!("{topic}@{group}");
            let (msgs, _) = self.item_mut(2, &key).observe(t.msgs, t.times);
            self.item_mut(3, &key).observe(t.bytes, t.times);
            get += msgs;
        }
        // Java adds to the broker items' value only (`getValue().add`), never to their times.
        let cluster = self.cluster.clone();
        if put > 0 || self.sets[4].contains_key(&cluster) {
            self.item_mut(4, &cluster).add(put, 0);
        }
        if get > 0 || self.sets[5].contains_key(&cluster) {
            self.item_mut(5, &cluster).add(get, 0);
        }
        for (w, tier) in TIERS.iter().enumerate() {
            if self.ticks.is_multiple_of(tier.every) {
                let period_ms = self.interval_ms.saturating_mul(tier.every);
                for item in self.sets.iter_mut().flat_map(|s| s.values_mut()) {
                    item.sample(w, tier.keep, now_ms, period_ms);
                }
            }
        }
        self.ticks += 1;
    }

    /// Every `topic@group`'s get rate over the minute window (Java's `tpsGroupGetNums`, the
    /// `consumeTps` of GET_CONSUME_STATS and GET_BROKER_CONSUME_STATS).
    pub fn group_get_tps(&self) -> FastMap<String, f64> {
        self.sets[2]
            .iter()
            .map(|(key, item)| (key.clone(), item.minute().tps))
            .collect()
    }

    /// The item `name` / `key`, if counted (Java's `getStatsItem`).
    pub fn item(&self, name: &str, key: &str) -> Option<&StatsItem> {
        let set = STATS_NAMES.iter().position(|n| *n == name)?;
        self.sets[set].get(key)
    }

    /// `VIEW_BROKER_STATS_DATA`'s body for `name` / `key`, or the remark of Java's refusal
    /// (`SYSTEM_ERROR`) for a name or key it does not have.
    pub fn view(&self, name: &str, key: &str) -> Result<BrokerStatsData, String> {
        self.item(name, key)
            .map(StatsItem::data)
            .ok_or_else(|| format!("The stats <{name}> <{key}> not exist"))
    }
}

#[cfg(test)]
mod tests;
