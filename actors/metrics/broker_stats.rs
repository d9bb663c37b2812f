//! The `Metrics` actor's share of RocketMQ's `BrokerStatsManager`: per-topic and per-group put
//! and get statistics over a minute, an hour and a day (`actormq::stats_items`), read by
//! `VIEW_BROKER_STATS_DATA` (315) through the `AdminProcessor`.
//!
//! Receives `StoreStats` from the `Dispatcher` once per sampling interval
//! (`metrics.stats_sample_interval_ms`, Java's 10 s): the totals it counted (per topic, what the
//! consume queues took; per topic and group, what FOUND pull answers carried). Each arrival is one
//! sample, timed by this actor's clock; the windows only ever hold whole samples, as Java's.
//! Receives `ViewStats` from the `AdminProcessor` and answers one item's windows. Lives here
//! because `Metrics` already owns the broker's other sampled figures (the rates); nothing on the
//! send path talks to it.

use std::sync::Arc;

use actix::prelude::*;

use super::{stats, Metrics};
use actormq::stats_items::{BrokerStats, BrokerStatsData, StoreCounters};
use actormq::FastMap;

impl Metrics {
    /// The statistics kept for `VIEW_BROKER_STATS_DATA` (cluster name and sampling interval from
    /// the config).
    pub fn with_broker_stats(mut self, broker_stats: BrokerStats) -> Self {
        self.broker_stats = broker_stats;
        self
    }
}

/// Every `topic@group`'s get rate over the last minute, as of the last sample.
pub type GroupGetTps = Arc<FastMap<String, f64>>;

/// The `Dispatcher`'s counters, once per sampling interval: one sample of every item. Answered
/// with the groups' get rates after it, which the Dispatcher reports as `consumeTps`.
#[derive(Message)]
#[rtype(result = "GroupGetTps")]
pub struct StoreStats(pub StoreCounters);

impl Handler<StoreStats> for Metrics {
    type Result = MessageResult<StoreStats>;

    fn handle(
        &mut self,
        StoreStats(counters): StoreStats,
        _ctx: &mut Context<Self>,
    ) -> Self::Result {
        let _timer = stats().metrics.handling();
        let now_ms = self.started.elapsed().as_millis() as u64;
        self.broker_stats.sample(now_ms, &counters);
        MessageResult(Arc::new(self.broker_stats.group_get_tps()))
    }
}

/// One item's windows (`statsName`, `statsKey`), or Java's remark for one it does not have.
#[derive(Message)]
#[rtype(result = "Result<BrokerStatsData, String>")]
pub struct ViewStats {
    pub name: String,
    pub key: String,
}

impl Handler<ViewStats> for Metrics {
    type Result = Result<BrokerStatsData, String>;

    fn handle(&mut self, msg: ViewStats, _ctx: &mut Context<Self>) -> Self::Result {
        let _timer = stats().metrics.handling();
        self.broker_stats.view(&msg.name, &msg.key)
    }
}
