//! 5.x timer messages (RocketMQ's `TimerMessageStore`): a message with `TIMER_DELAY_SEC`,
//! `TIMER_DELAY_MS` or `TIMER_DELIVER_MS` is stored in [`TIMER_TOPIC`] queue 0 and delivered to
//! its real topic when due.
//!
//! - [`rewrite`](mod@rewrite): the put rewrite (`HookUtils`), called by `send::SendPreparer` for messages
//!   whose properties contain `TIMER_`.
//! - [`format`](mod@format): the timer log and the timing wheel on disk.
//! - [`store`]: [`TimerStore`], the state machine: enqueue cursor over the timer topic's consume
//!   queue, read-ahead window of due slots, dequeue cursor, checkpoint and crash recovery.
//! - [`to_real_topic`] / [`fired`]: a stored timer record -> the message put to its real topic.
//!
//! The `Timer` actor (`actors/timer.rs`) drives the store; everything here is synchronous.
//! Format and guarantees: `docs/timer.md`.

use std::net::SocketAddr;
use std::path::PathBuf;

use crate::send::push_property;
use crate::store::message::{property, MessageToStore, RecordView};

pub mod format;
pub mod rewrite;
pub mod store;

#[cfg(test)]
mod tests;

pub use rewrite::{rewrite, Rewrite, TimerRules};
pub use store::{Due, TimerShape, TimerStore};

/// The system topic timer messages wait in (`TimerMessageStore.TIMER_TOPIC`), one queue.
pub const TIMER_TOPIC: &str = "rmq_sys_wheel_timer";

/// What goes wrong in the timer store.
#[derive(Debug, thiserror::Error)]
pub enum TimerError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {what}")]
    Corrupt { path: PathBuf, what: String },
    #[error("{path}: writing the timer checkpoint failed: {why}")]
    Checkpoint { path: PathBuf, why: String },
    #[error(
        "{path} was written with timer.precision_ms / wheel slots {was:?}, the config now gives \
         {now:?}; restore the old [timer] settings or let the timer drain and delete the directory"
    )]
    ShapeChanged {
        path: PathBuf,
        was: (u64, u64),
        now: (u64, u64),
    },
    #[error("wheel slot for {slot_ms} still holds undelivered messages of {held_by}")]
    SlotTaken { slot_ms: i64, held_by: i64 },
}

pub use crate::schedule::redeliver::{to_real_topic, RedeliverError};

/// The copy a due timer record is put as (`TimerMessageStore.convert`): its real topic and queue,
/// REAL_* removed, `TIMER_ENQUEUE_MS` (when the record was stored) and `TIMER_DEQUEUE_MS` (`now_ms`)
/// added, `TIMER_OUT_MS` and `UNIQ_KEY` kept.
pub fn fired(
    record: &RecordView<'_>,
    now_ms: i64,
    store_host: SocketAddr,
) -> Result<MessageToStore, RedeliverError> {
    let remove = [
        property::REAL_TOPIC,
        property::REAL_QID,
        property::TIMER_ENQUEUE_MS,
        property::TIMER_DEQUEUE_MS,
    ];
    let mut m = to_real_topic(record, &remove, store_host)?;
    let enqueue = record.store_timestamp.to_string();
    push_property(&mut m.properties, property::TIMER_ENQUEUE_MS, &enqueue);
    push_property(
        &mut m.properties,
        property::TIMER_DEQUEUE_MS,
        &now_ms.to_string(),
    );
    Ok(m)
}
