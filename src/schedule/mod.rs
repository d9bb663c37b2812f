//! Delay levels (RocketMQ's `ScheduleMessageService` and the put rewrite of `HookUtils`), pure and
//! synchronous; the `Scheduler` actor (`actors/scheduler.rs`) drives them.
//!
//! - [`levels`]: `messageDelayLevel` (`"1s 5s 10s 30s 1m ..."`) parsed into per-level delays.
//! - [`rewrite`]: at put, a message with `DELAY=n > 0` (transaction type NOT or COMMIT) becomes a
//!   record of [`SCHEDULE_TOPIC`] queue `n - 1`, its real topic and queue kept in `REAL_TOPIC` /
//!   `REAL_QID`, its consume-queue tag code the delivery time.
//! - [`redeliver`]: a stored record back into a message for its real topic (shared with timer
//!   messages).
//! - [`state`]: the per-level delivery state machine (what to read, what is due, when to look again,
//!   the offset advanced only after a successful append).
//! - [`offsets`]: `config/delayOffset.json` in Java's format.

pub mod levels;
pub mod offsets;
pub mod redeliver;
pub mod rewrite;
pub mod state;

pub use levels::{DelayLevels, DelayLevelsError};

use crate::topic::TopicConfig;

/// RocketMQ's `TopicValidator.RMQ_SYS_SCHEDULE_TOPIC`: where delayed messages wait.
pub const SCHEDULE_TOPIC: &str = "SCHEDULE_TOPIC_XXXX";
/// Queues of [`SCHEDULE_TOPIC`] (`TopicConfigManager.SCHEDULE_TOPIC_QUEUE_NUM`).
pub const SCHEDULE_TOPIC_QUEUE_NUMS: i32 = 18;
/// A real topic the scheduler never delivers to (`ScheduleMessageService`: "\[BUG\] ... discard").
pub const TRANS_HALF_TOPIC: &str = "RMQ_SYS_TRANS_HALF_TOPIC";

/// Topics a client may not send to (`TopicValidator.NOT_ALLOWED_SEND_TOPIC_SET`).
pub fn send_forbidden(topic: &str) -> bool {
    [
        SCHEDULE_TOPIC,
        crate::transaction::HALF_TOPIC,
        crate::transaction::OP_TOPIC,
        "TRANS_CHECK_MAX_TIME_TOPIC",
        "SELF_TEST_TOPIC",
        "OFFSET_MOVED_EVENT",
    ]
    .contains(&topic)
}

/// `TopicValidator.SYSTEM_TOPIC_PREFIX`: every topic named so is the broker's.
const SYSTEM_TOPIC_PREFIX: &str = "rmq_sys_";

/// Topics the broker owns (`TopicValidator.isSystemTopic`: its system topic set and the
/// `rmq_sys_` prefix): topic admin (create, update, delete) refuses them, as Java does with its
/// default `validateSystemTopicWhenUpdateTopic=true`.
pub fn is_system_topic(topic: &str) -> bool {
    crate::topic::SYSTEM_TOPIC_SET.contains(&topic) || topic.starts_with(SYSTEM_TOPIC_PREFIX)
}

/// Java's remark refusing topic admin on `topic` when it is a system topic.
pub fn system_topic_conflict(topic: &str) -> Option<String> {
    is_system_topic(topic).then(|| format!("The topic[{topic}] is conflict with system topic."))
}

/// `SCHEDULE_TOPIC_XXXX` as Java's `TopicConfigManager` creates it at every start: 18 queues (more
/// if more levels are configured, so every level has its queue), readable and writable.
pub fn schedule_topic_config(levels: &DelayLevels) -> TopicConfig {
    let queues = SCHEDULE_TOPIC_QUEUE_NUMS.max(levels.max_level());
    TopicConfig::new(SCHEDULE_TOPIC, queues)
}

/// The queue of [`SCHEDULE_TOPIC`] holding `level` (`delayLevel2QueueId`).
pub fn queue_id(level: i32) -> i32 {
    level - 1
}

/// The level a queue of [`SCHEDULE_TOPIC`] holds (`queueId2DelayLevel`).
pub fn level_of_queue(queue_id: i32) -> i32 {
    queue_id + 1
}

#[cfg(test)]
mod topic_rule_tests {
    use super::*;

    #[test]
    fn system_topics_and_send_refusals_are_javas() {
        for t in [
            "TBW102",
            "RMQ_SYS_TRACE_TOPIC",
            "CHECKPOINT_TOPIC",
            "rmq_sys_anything",
        ] {
            assert!(is_system_topic(t), "{t}");
            assert!(!send_forbidden(t), "{t}");
        }
        for t in [
            SCHEDULE_TOPIC,
            "RMQ_SYS_TRANS_HALF_TOPIC",
            "OFFSET_MOVED_EVENT",
        ] {
            assert!(is_system_topic(t) && send_forbidden(t), "{t}");
        }
        for t in ["Orders", "%RETRY%g", "RMQ_SYS_", "rmq_sy"] {
            assert!(!is_system_topic(t) && !send_forbidden(t), "{t}");
        }
    }
}
