//! Emptying consume queues on an admin's request: a deleted topic's (`DELETE_TOPIC_IN_BROKER`,
//! from the `SendProcessor`), every topic no longer in the topic table (`CLEAN_UNUSED_TOPIC`,
//! 316, `mqadmin cleanUnusedTopic`) and the files of records retention deleted
//! (`CLEAN_EXPIRED_CONSUMEQUEUE`, 306, `mqadmin cleanExpiredCQ`), from the `AdminProcessor`.
//!
//! A queue emptied keeps its next offset ([`ConsumeQueues::clear_topic`]): records of the topic
//! appended before the deletion but dispatched after it land at or above that offset and are
//! served, as a send racing a deletion may also land after it in Java.

use actix::prelude::*;
use tracing::info;

use super::super::metrics::stats;
use super::Dispatcher;
use actormq::schedule::is_system_topic;

/// The topic was deleted: its consume queues are emptied.
#[derive(Message)]
#[rtype(result = "()")]
pub struct ClearTopic(pub String);

impl Handler<ClearTopic> for Dispatcher {
    type Result = ();

    fn handle(&mut self, ClearTopic(topic): ClearTopic, _ctx: &mut Context<Self>) {
        let _timer = stats().dispatcher.handling();
        self.reput.queues_mut().clear_topic(&topic);
    }
}

/// What an admin asked to clean; answered with the number of topics (unused) or files (expired)
/// it removed.
#[derive(Message, Debug, Clone, Copy, PartialEq, Eq)]
#[rtype(result = "usize")]
pub enum CleanQueues {
    /// Java's `cleanUnusedTopic`: the queues of topics not in the topic table (not the broker's
    /// own, not LMQ topics) are emptied.
    Unused,
    /// Java's `cleanExpiredConsumerQueue`: consume-queue files whose records retention deleted go
    /// now instead of at retention's next round (each queue's last file stays: it holds the
    /// queue's next offset).
    Expired,
}

impl Handler<CleanQueues> for Dispatcher {
    type Result = usize;

    fn handle(&mut self, clean: CleanQueues, _ctx: &mut Context<Self>) -> usize {
        let _timer = stats().dispatcher.handling();
        match clean {
            CleanQueues::Unused => {
                let topics = self.topics.clone();
                let cleared = self
                    .reput
                    .queues_mut()
                    .clear_unused(|t| topics.get(t).is_some(), is_system_topic);
                info!(topics = ?cleared, "cleanUnusedTopic");
                cleared.len()
            }
            CleanQueues::Expired => {
                let first = self.files.first().map_or(0, |f| f.start_offset());
                let removed = self.reput.queues_mut().forget_below(first);
                info!(
                    commit_log_min = first,
                    files = removed,
                    "cleanExpiredConsumerQueue"
                );
                removed
            }
        }
    }
}
