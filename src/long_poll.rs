//! Parked pulls (RocketMQ's `PullRequestHoldService`): a pull that finds nothing at the end of its
//! queue waits here, per topic-queue, until records its filter matches are indexed or its timeout
//! passes. Pure bookkeeping, generic over what answers a pull (`T`: the Dispatcher keeps the
//! prepared response, the way back to the connection and its timer handle), so it is tested
//! without an actor system.

use std::collections::HashMap;

use crate::store::consume_queue::DispatchRun;
use crate::store::read::PullQuery;

/// One parked pull: its id, what it asked for and what answers it.
pub type Parked<T> = (u64, PullQuery, T);

/// Pulls waiting for data, per topic and queue id.
#[derive(Debug)]
pub struct ParkedPulls<T> {
    parked: HashMap<String, HashMap<i32, Vec<Parked<T>>>>,
    next_id: u64,
}

impl<T> Default for ParkedPulls<T> {
    fn default() -> Self {
        ParkedPulls {
            parked: HashMap::new(),
            next_id: 0,
        }
    }
}

impl<T> ParkedPulls<T> {
    /// The id the next parked pull gets (to name it in its timer before parking it).
    pub fn next_id(&self) -> u64 {
        self.next_id
    }

    /// Parks a pull; returns its id.
    pub fn park(&mut self, query: PullQuery, waiter: T) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        self.repark(id, query, waiter);
        id
    }

    /// Takes out the pull `id` parked on `topic`/`queue_id` (its timeout passed), if still there.
    pub fn take(&mut self, topic: &str, queue_id: i32, id: u64) -> Option<(PullQuery, T)> {
        let list = self.parked.get_mut(topic)?.get_mut(&queue_id)?;
        let at = list.iter().position(|(i, _, _)| *i == id)?;
        let (_, query, waiter) = list.swap_remove(at);
        self.forget_if_empty(topic, queue_id);
        Some((query, waiter))
    }

    /// Drops `topic`/`queue_id`'s list when nothing waits there any more (and the topic's when
    /// none of its queues has a waiter), so [`is_empty`](Self::is_empty) tells the truth.
    fn forget_if_empty(&mut self, topic: &str, queue_id: i32) {
        let Some(ids) = self.parked.get_mut(topic) else {
            return;
        };
        if ids.get(&queue_id).is_some_and(Vec::is_empty) {
            ids.remove(&queue_id);
        }
        if ids.is_empty() {
            self.parked.remove(topic);
        }
    }

    /// Parks (again) under `id`: a pull [`woken_by`](Self::woken_by) new entries that its
    /// records turned out not to satisfy keeps the id its timer names.
    pub fn repark(&mut self, id: u64, query: PullQuery, waiter: T) {
        self.parked
            .entry(query.topic.clone())
            .or_default()
            .entry(query.queue_id)
            .or_default()
            .push((id, query, waiter));
    }

    /// Takes out the pulls on `run`'s queue that one of its new entries satisfies, with their ids.
    pub fn woken_by(&mut self, run: &DispatchRun) -> Vec<Parked<T>> {
        let Some(ids) = self.parked.get_mut(&*run.topic) else {
            return Vec::new();
        };
        let Some(list) = ids.get_mut(&run.queue_id) else {
            return Vec::new();
        };
        let mut woken = Vec::new();
        let mut i = 0;
        while i < list.len() {
            let filter = &list[i].1.filter;
            if run.entries.iter().any(|e| filter.matches(e.tags_code)) {
                woken.push(list.swap_remove(i));
            } else {
                i += 1;
            }
        }
        self.forget_if_empty(&run.topic, run.queue_id);
        woken
    }

    /// Takes out every parked pull (shutdown).
    pub fn drain(&mut self) -> Vec<(PullQuery, T)> {
        std::mem::take(&mut self.parked)
            .into_values()
            .flat_map(HashMap::into_values)
            .flatten()
            .map(|(_, query, waiter)| (query, waiter))
            .collect()
    }

    pub fn is_empty(&self) -> bool {
        self.parked.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::consume_queue::CqEntry;
    use crate::store::message::tags_hash_code;
    use crate::store::read::TagFilter;

    fn pull(topic: &str, queue_id: i32, tags: &str) -> PullQuery {
        PullQuery {
            topic: topic.into(),
            group: "g".into(),
            queue_id,
            offset: 0,
            max_msgs: 32,
            max_bytes: 1 << 20,
            filter: TagFilter::parse(Some(tags)),
            suspend: None,
            reset_to: None,
        }
    }

    fn run(topic: &str, queue_id: i32, tags: &[&str]) -> DispatchRun {
        DispatchRun {
            topic: topic.into(),
            queue_id,
            first_queue_offset: 0,
            entries: tags
                .iter()
                .map(|t| CqEntry {
                    commit_log_offset: 0,
                    size: 1,
                    tags_code: tags_hash_code(t),
                })
                .collect(),
        }
    }

    #[test]
    fn new_records_wake_only_matching_pulls_on_their_queue() {
        let mut p = ParkedPulls::default();
        p.park(pull("T", 0, "*"), "all");
        p.park(pull("T", 0, "B"), "only B");
        p.park(pull("T", 1, "*"), "other queue");
        let woken: Vec<_> = p
            .woken_by(&run("T", 0, &["A"]))
            .into_iter()
            .map(|w| w.2)
            .collect();
        assert_eq!(woken, ["all"]);
        assert!(p.woken_by(&run("U", 0, &["B"])).is_empty(), "other topic");
        let woken: Vec<_> = p
            .woken_by(&run("T", 0, &["A", "B"]))
            .into_iter()
            .map(|w| w.2)
            .collect();
        assert_eq!(woken, ["only B"]);
        assert_eq!(p.drain().len(), 1);
        assert!(p.is_empty());
    }

    #[test]
    fn a_reparked_pull_keeps_its_id() {
        let mut p = ParkedPulls::default();
        let id = p.park(pull("T", 0, "*"), "w");
        let (woken_id, mut query, waiter) = p.woken_by(&run("T", 0, &["A"])).pop().unwrap();
        assert_eq!(woken_id, id);
        query.offset = 1;
        p.repark(woken_id, query, waiter);
        let (query, waiter) = p.take("T", 0, id).unwrap();
        assert_eq!((query.offset, waiter), (1, "w"));
        assert!(p.is_empty());
    }

    #[test]
    fn a_timed_out_pull_is_taken_once() {
        let mut p = ParkedPulls::default();
        assert_eq!(p.next_id(), 0);
        let id = p.park(pull("T", 0, "*"), 7);
        assert_eq!(p.take("T", 0, id).map(|w| w.1), Some(7));
        assert!(p.is_empty(), "nothing left waiting");
        assert!(p.take("T", 0, id).is_none());
        assert!(p.take("T", 3, 99).is_none());
    }
}
