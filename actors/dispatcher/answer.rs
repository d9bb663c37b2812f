//! The one-shot reads the `Dispatcher` answers for the processors (`Query`): offsets, message
//! lookups, topic config, key queries, consume stats (one group, 208, or every group, 317), raw
//! consume-queue entries (321), a group's consume time span (303), the targets of an offset reset
//! (`ResetTargets`); each against the queues and the commit log it owns.

use std::collections::BTreeMap;

use super::*;
use actormq::client_registry::Subscription;
use actormq::consume_queue_query::{QueryConsumeQueue, QueryConsumeQueueBody};
use actormq::consumer_offsets::TopicOffsets;
use actormq::store::disk_space::DiskUsage;
use actormq::topic_stats::time_span::{queue_time_span, time_span_body};
use actormq::topic_stats::{
    broker_consume_stats_body, consume_stats_body, topic_stats_body, GroupConsumeStats,
    QueueConsume, QueueStats,
};

impl Dispatcher {
    /// Answers a query from the store's state, at once.
    pub(super) fn answer(&self, kind: QueryKind, response: RemotingCommand) -> RemotingCommand {
        match kind {
            // Answered by `pull` (which may park it); here, at once.
            QueryKind::Pull(q) => {
                let r = self.read(&q);
                pull_response(response, &q, r, &self.role)
            }
            QueryKind::MaxOffset { topic, queue_id } => {
                let max = self.queue(&topic, queue_id).map_or(0, |q| q.max_offset());
                response.with_ext("offset", max)
            }
            QueryKind::MinOffset { topic, queue_id } => {
                let min = self.queue(&topic, queue_id).map_or(0, |q| q.min_offset());
                response.with_ext("offset", min)
            }
            QueryKind::SearchOffset {
                topic,
                queue_id,
                timestamp,
                upper,
            } => {
                let cq = self.queue(&topic, queue_id);
                response.with_ext("offset", self.reader().search_offset(cq, timestamp, upper))
            }
            QueryKind::ZeroIfInMemory { topic, queue_id } => {
                let cq = self.queue(&topic, queue_id);
                if self.reader().first_record_in_memory(cq, in_memory_bytes()) {
                    response.with_ext("offset", 0)
                } else {
                    refuse(
                        response,
                        response_code::QUERY_NOT_FOUND,
                        "Not found, V3_0_6_SNAPSHOT maybe this group consume message first".into(),
                    )
                }
            }
            QueryKind::ViewMessage { offset } => match self.reader().record_at(offset) {
                Some(bytes) => response.with_body(bytes::Bytes::copy_from_slice(bytes)),
                None => refuse(
                    response,
                    response_code::SYSTEM_ERROR,
                    format!("can not find message by the offset, {offset}"),
                ),
            },
            QueryKind::ByKey(q) => self.answer_by_key(q, response),
            QueryKind::EarliestStoreTime { topic, queue_id } => {
                self.earliest_store_time(&topic, queue_id, response)
            }
            QueryKind::ConsumeStats {
                group,
                offsets,
                broker_name,
            } => self.consume_stats(&group, offsets, &broker_name, response),
            QueryKind::BrokerConsumeStats {
                groups,
                order_only,
                broker_name,
                broker_addr,
            } => {
                let stats = self.broker_consume_stats(groups, order_only);
                let body = broker_consume_stats_body(&broker_addr, &broker_name, &stats);
                response.with_body(body.into())
            }
            QueryKind::ConsumeQueue {
                query,
                subscription,
            } => self.query_consume_queue(&query, subscription, response),
            QueryKind::TopicStats { topic, broker_name } => {
                self.topic_stats(&topic, &broker_name, response)
            }
            QueryKind::ConsumeTimeSpan {
                topic,
                offsets,
                broker_name,
            } => self.consume_time_span(&topic, &offsets, &broker_name, response),
            QueryKind::TopicConfig { topic } => match self.topics.get(&topic) {
                // Java answers the TopicConfig's own fields at the top level
                // (`TopicConfigAndQueueMapping extends TopicConfig`; no mapping detail here).
                Some(config) => match serde_json::to_vec(config) {
                    Ok(json) => response.with_body(json.into()),
                    Err(e) => refuse(response, response_code::SYSTEM_ERROR, e.to_string()),
                },
                None => refuse(
                    response,
                    response_code::TOPIC_NOT_EXIST,
                    format!("No topic in this broker. topic: {topic}"),
                ),
            },
        }
    }

    /// `getConsumeStats`: per topic the group has offsets for (a topic this broker does not have
    /// is skipped, as Java does), per read queue: the queue's end, the group's offset (floored at
    /// 0) and the store time of the message before it; `consumeTps` the group's get rate over the
    /// last minute, summed over those topics.
    fn consume_stats(
        &self,
        group: &str,
        offsets: Vec<(String, BTreeMap<i32, i64>)>,
        broker_name: &str,
        response: RemotingCommand,
    ) -> RemotingCommand {
        let (mut rows, mut tps) = (Vec::new(), 0.0);
        for (topic, committed) in offsets {
            let Some(config) = self.topics.get(&topic) else {
                continue;
            };
            // Java 5.3.3's `getConsumeStats` walks the read queues (317 walks the write queues).
            rows.extend(self.consume_rows(&topic, &committed, config.read_queue_nums, true));
            tps += self.gets.consume_tps(group, &topic);
        }
        response.with_body(consume_stats_body(broker_name, &rows, tps).into())
    }

    /// `fetchAllConsumeStatsInBroker`: per group, per topic it has offsets on that this broker
    /// has (and that is an order topic, if `order_only`), the `getConsumeStats` rows over the
    /// topic's write queues, with `pullOffset` 0 as Java leaves it there.
    fn broker_consume_stats(
        &self,
        groups: Vec<(String, TopicOffsets)>,
        order_only: bool,
    ) -> Vec<GroupConsumeStats> {
        let topics = |group: &str, offsets: TopicOffsets| {
            let rows = offsets.into_iter().filter_map(|(topic, committed)| {
                let config = self.topics.get(&topic)?;
                if order_only && !config.order {
                    return None;
                }
                let queues = config.write_queue_nums;
                let rows = self.consume_rows(&topic, &committed, queues, false);
                Some((rows, self.gets.consume_tps(group, &topic)))
            });
            rows.collect()
        };
        groups
            .into_iter()
            .map(|(group, offsets)| GroupConsumeStats {
                topics: topics(&group, offsets),
                group,
            })
            .collect()
    }

    /// One row per queue `0..queues` of `topic`: the queue's end, the group's offset (floored at
    /// 0) and the store time of the message before it; `pullOffset` is the consumer offset when
    /// `pull_is_consumer` (208), else 0 (317).
    fn consume_rows(
        &self,
        topic: &str,
        committed: &BTreeMap<i32, i64>,
        queues: i32,
        pull_is_consumer: bool,
    ) -> Vec<QueueConsume> {
        let reader = self.reader();
        (0..queues.max(0))
            .map(|queue_id| {
                let cq = self.queue(topic, queue_id);
                let consumer = committed.get(&queue_id).copied().unwrap_or(0).max(0);
                let last = cq
                    .filter(|_| consumer > 0)
                    .and_then(|q| q.get(consumer as u64 - 1))
                    .and_then(|e| reader.store_timestamp(&e))
                    .unwrap_or(0);
                QueueConsume {
                    topic: topic.to_string(),
                    queue_id,
                    broker_offset: cq.map_or(0, |q| q.max_offset() as i64),
                    consumer_offset: consumer,
                    pull_offset: if pull_is_consumer { consumer } else { 0 },
                    last_timestamp: last,
                }
            })
            .collect()
    }

    /// `queryConsumeQueue`: the queue's entries from the query's index (the rules are
    /// `actormq::consume_queue_query`'s). No such queue: SYSTEM_ERROR; an index it does not
    /// hold: SUCCESS with Java's remark and no body.
    fn query_consume_queue(
        &self,
        query: &QueryConsumeQueue,
        subscription: Option<Subscription>,
        response: RemotingCommand,
    ) -> RemotingCommand {
        let Some(cq) = self.queue(&query.topic, query.queue_id) else {
            let remark = query.queue_not_exist();
            return refuse(response, response_code::SYSTEM_ERROR, remark);
        };
        let (min, max) = (cq.min_offset(), cq.max_offset());
        let Some(indexes) = query.indexes(min, max, cq.entries_per_file()) else {
            return refuse(response, response_code::SUCCESS, query.index_not_exist());
        };
        let entries = indexes.map_while(|i| cq.get(i));
        let body = QueryConsumeQueueBody::new(query, (min, max), entries, subscription);
        match body.to_json() {
            Ok(json) => response.with_body(json.into()),
            Err(e) => refuse(response, response_code::SYSTEM_ERROR, e.to_string()),
        }
    }

    /// `getTopicStatsInfo`: over max(read, write) queues of the topic, each queue's min and max
    /// offset (floored at 0) and the store time of its entry `max - 1` (0 when empty); an unknown
    /// topic is TOPIC_NOT_EXIST with Java's remark.
    fn topic_stats(
        &self,
        topic: &str,
        broker_name: &str,
        response: RemotingCommand,
    ) -> RemotingCommand {
        let (config, response) = match self.known_topic(topic, response) {
            Ok(found) => found,
            Err(refused) => return refused,
        };
        let queues = config.read_queue_nums.max(config.write_queue_nums).max(0);
        let reader = self.reader();
        let stats: Vec<QueueStats> = (0..queues)
            .map(|queue_id| {
                let cq = self.queue(topic, queue_id);
                let (min, max) = cq.map_or((0, 0), |q| (q.min_offset(), q.max_offset()));
                let last = cq
                    .filter(|_| max > 0)
                    .and_then(|q| q.get(max - 1))
                    .and_then(|e| reader.store_timestamp(&e))
                    .unwrap_or(0);
                QueueStats {
                    queue_id,
                    min_offset: min as i64,
                    max_offset: max as i64,
                    last_update_timestamp: last,
                }
            })
            .collect();
        response.with_body(topic_stats_body(broker_name, topic, &stats).into())
    }
}

impl Dispatcher {
    /// The topic's configuration and `response` to fill, or `response` refused as Java's
    /// `selectTopicConfig` miss: TOPIC_NOT_EXIST `topic[<topic>] not exist`.
    fn known_topic(
        &self,
        topic: &str,
        response: RemotingCommand,
    ) -> Result<(&actormq::topic::TopicConfig, RemotingCommand), RemotingCommand> {
        match self.topics.get(topic) {
            Some(config) => Ok((config, response)),
            None => {
                let remark = format!("topic[{topic}] not exist");
                Err(refuse(response, response_code::TOPIC_NOT_EXIST, remark))
            }
        }
    }

    /// `queryConsumeTimeSpan`: per write queue of the topic, Java's `QueueTimeSpan` from the
    /// queue's first and last store times and the group's committed offset (none: -1, as
    /// Java's `queryOffset`); an unknown topic is TOPIC_NOT_EXIST with Java's remark.
    fn consume_time_span(
        &self,
        topic: &str,
        offsets: &BTreeMap<i32, i64>,
        broker_name: &str,
        response: RemotingCommand,
    ) -> RemotingCommand {
        let (config, response) = match self.known_topic(topic, response) {
            Ok(found) => found,
            Err(refused) => return refused,
        };
        let (reader, now_ms) = (self.reader(), actormq::store::now_ms());
        let spans: Vec<_> = (0..config.write_queue_nums.max(0))
            .map(|queue_id| {
                let cq = self.queue(topic, queue_id);
                // The store time of entry `i`, -1 when the queue does not hold it (as Java's
                // `getMessageStoreTimeStamp`).
                let store_time = |i: i64| {
                    let entry = u64::try_from(i).ok().and_then(|i| cq?.get(i));
                    entry.and_then(|e| reader.store_timestamp(&e)).unwrap_or(-1)
                };
                let earliest = cq.map_or(-1, |q| store_time(q.min_offset() as i64));
                let max = cq.map_or(0, |q| q.max_offset() as i64);
                let consumer = offsets.get(&queue_id).copied().unwrap_or(-1);
                queue_time_span(queue_id, earliest, max, consumer, store_time, now_ms)
            })
            .collect();
        response.with_body(time_span_body(broker_name, topic, &spans).into())
    }
}

impl Handler<ResetTargets> for Dispatcher {
    type Result = Result<Vec<(i32, i64)>, String>;

    fn handle(&mut self, r: ResetTargets, _ctx: &mut Context<Self>) -> Self::Result {
        let _timer = stats().dispatcher.handling();
        let reader = self.reader();
        let by_time = |queue_id: i32| {
            let cq = self.queue(&r.topic, queue_id);
            match r.timestamp {
                t if t < 0 => cq.map_or(0, |q| q.max_offset() as i64),
                t => reader.search_offset(cq, t, false),
            }
        };
        let targets: Vec<(i32, i64)> = if r.queue_id >= 0 {
            let offset = match r.offset.filter(|o| *o != -1) {
                Some(offset) => {
                    let cq = self.queue(&r.topic, r.queue_id);
                    let (min, max) = cq.map_or((0, 0), |q| (q.min_offset(), q.max_offset()));
                    let (min, max) = (min as i64, max as i64);
                    // Java's bounds: the queue's end + 1 is accepted too.
                    if offset < min || offset > max + 1 {
                        return Err(format!(
                            "Target offset {offset} not in consume queue range [{min}-{max}]"
                        ));
                    }
                    offset
                }
                None => by_time(r.queue_id),
            };
            vec![(r.queue_id, offset)]
        } else {
            let queues = self.topics.get(&r.topic).map_or(0, |c| c.read_queue_nums);
            (0..queues.max(0)).map(|q| (q, by_time(q))).collect()
        };
        if targets.is_empty() {
            return Err("No queues to reset.".into());
        }
        Ok(targets)
    }
}

impl Handler<AskStoreBounds> for Dispatcher {
    type Result = StoreBounds;

    fn handle(&mut self, _: AskStoreBounds, _ctx: &mut Context<Self>) -> StoreBounds {
        let _timer = stats().dispatcher.handling();
        let reader = self.reader();
        let disk = self.files.last().map(|f| DiskUsage::measure(f.path()));
        StoreBounds {
            min_offset: reader.min_offset().unwrap_or(0),
            earliest_store_time: reader.earliest_store_time(),
            dispatched: self.reput.dispatched(),
            disk: disk.and_then(Result::ok),
        }
    }
}
