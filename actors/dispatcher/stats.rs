//! The `Dispatcher`'s counting for `VIEW_BROKER_STATS_DATA` (RocketMQ's `incTopicPutNums`,
//! `incGroupGetNums` and their sizes), off the send path: puts are counted per dispatched run by
//! the consume queue that takes it (`ConsumeQueue::count_put`, inside the lookup the reput makes
//! anyway), gets per FOUND pull answer here. Once per sampling interval the totals go to the
//! `Metrics` actor as a snapshot (`StoreStats`), by message: no counter is shared.
//!
//! A slave ships no puts: its records arrive by replication, and Java's slave counts no sends.

use std::time::Duration;

use actix::prelude::*;

use super::super::mailbox::{timer_tick, CountedRecipient};
use super::super::metrics::{stats, GroupGetTps, StoreStats};
use super::Dispatcher;
use actormq::stats_items::{StoreCounters, Tally};
use actormq::store::read::{GetStatus, PullQuery, PullRead};
use actormq::FastMap;

/// What FOUND pull answers carried, by topic, then group; and the groups' get rates over the last
/// minute as `Metrics` computed them at the last sample (`consumeTps`).
#[derive(Debug, Default)]
pub(super) struct GetCounts {
    /// Topic -> group -> what its FOUND answers carried since start-up.
    counts: FastMap<String, FastMap<String, Tally>>,
    /// `topic@group` -> messages per second over the last minute, from `Metrics`.
    tps: GroupGetTps,
}

impl GetCounts {
    /// `group`'s get rate on `topic` over the last minute (Java's `tpsGroupGetNums`): 0 before
    /// the first sample and for a pair that never got anything.
    pub(super) fn consume_tps(&self, group: &str, topic: &str) -> f64 {
        let key = format!("{topic}@{group}");
        self.tps.get(&key).copied().unwrap_or(0.0)
    }

    /// Counts a pull answer if it carries messages: their number and bytes, once.
    pub(super) fn pulled(&mut self, q: &PullQuery, r: &PullRead) {
        if r.status != GetStatus::Found || r.count == 0 {
            return;
        }
        let (msgs, bytes) = (r.count as u64, r.body.len() as u64);
        // One lookup per level for a pair counted before (every pull but the first).
        if let Some(tally) = self
            .counts
            .get_mut(&q.topic)
            .and_then(|g| g.get_mut(&q.group))
        {
            return tally.count(msgs, bytes);
        }
        let groups = self.counts.entry(q.topic.clone()).or_default();
        groups
            .entry(q.group.clone())
            .or_default()
            .count(msgs, bytes);
    }

    fn snapshot(&self) -> Vec<(String, String, Tally)> {
        let mut list = Vec::new();
        for (topic, groups) in &self.counts {
            for (group, tally) in groups {
                list.push((topic.clone(), group.clone(), *tally));
            }
        }
        list
    }
}

/// From start-up: send the counters to `to` every `interval`.
#[derive(Message)]
#[rtype(result = "()")]
pub struct ShipStats {
    pub to: CountedRecipient<StoreStats>,
    pub interval: Duration,
}

impl Handler<ShipStats> for Dispatcher {
    type Result = ();

    fn handle(&mut self, msg: ShipStats, ctx: &mut Context<Self>) {
        let _timer = stats().dispatcher.handling();
        let ShipStats { to, interval } = msg;
        ctx.run_interval(interval, move |act, ctx| {
            let _tick = timer_tick::<Dispatcher>();
            let topic_puts = match act.role.slave {
                true => Vec::new(),
                false => act.reput.queues().put_tallies(),
            };
            let group_gets = act.gets.snapshot();
            let sampled = to.send(StoreStats(StoreCounters {
                topic_puts,
                group_gets,
            }));
            let keep = sampled.into_actor(act).map(|tps, act, _| {
                if let Ok(tps) = tps {
                    act.gets.tps = tps;
                }
            });
            ctx.spawn(keep);
        });
    }
}
