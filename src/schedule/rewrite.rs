//! The put rewrite of a delayed message (`HookUtils.handleScheduleMessage` /
//! `transformDelayLevelMessage`, `CommitLog.putMessage` in 4.9.8): a message whose `DELAY` property
//! is a level n > 0, with transaction type NOT or COMMIT, is stored in [`SCHEDULE_TOPIC`] queue
//! `n - 1` instead of its own topic; `REAL_TOPIC` / `REAL_QID` keep where it goes when due, and its
//! consume-queue tag code is the delivery time. A level above the highest is clamped, and the
//! `DELAY` property says the clamped level (Java's `setDelayTimeLevel(max)`).
//!
//! Applies to every stored message carrying `DELAY > 0`, whatever its topic (plain sends, and the
//! `%RETRY%` records consumer retries produce). Costs one property lookup when `DELAY` is absent.

use crate::protocol::header::Quoted;
use crate::send::push_property;
use crate::store::message::{find_property, parse_properties, property, sys_flag, MessageToStore};

use super::{queue_id, DelayLevels, SCHEDULE_TOPIC};

/// `DELAY` is not a number: Java's `Integer.parseInt` fails and the send is answered with the
/// exception. The value is quoted as header remarks quote it: escaped onto one line, cut at 100
/// characters.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("java.lang.NumberFormatException: For input string: {}", Quoted(.0))]
pub struct BadDelayLevel(pub String);

/// The `DELAY` level of a property string: 0 when absent (`Message.getDelayTimeLevel`).
pub fn delay_level(properties: &str) -> Result<i32, BadDelayLevel> {
    // A substring search first, the property parse only when it can hit.
    if !properties.contains("DELAY\u{1}") {
        return Ok(0);
    }
    parse_delay_level(find_property(properties, property::DELAY))
}

/// The level a `DELAY` value names: 0 when absent, Java's NumberFormatException text when bad.
pub fn parse_delay_level(value: Option<&str>) -> Result<i32, BadDelayLevel> {
    match value {
        None => Ok(0),
        Some(v) => v.parse().map_err(|_| BadDelayLevel(v.to_string())),
    }
}

/// Moves `message` to [`SCHEDULE_TOPIC`] if it carries `DELAY > 0` and is not a prepared or
/// rolled-back transaction message; returns its consume-queue tag code (the delivery time,
/// `now_ms() + delay(level)`), or `None` when the message stays as it is. The clock is read only
/// for a delayed message.
pub fn schedule(
    message: &mut MessageToStore,
    levels: &DelayLevels,
    now_ms: impl FnOnce() -> i64,
) -> Result<Option<i64>, BadDelayLevel> {
    let level = delay_level(&message.properties)?;
    schedule_at_level(message, level, levels, now_ms)
}

/// [`schedule`] for a caller that has already read the `DELAY` level of `message`'s properties
/// (the send path finds it in the one walk it makes over them, `store::message::KnownProperties`).
pub fn schedule_at_level(
    message: &mut MessageToStore,
    level: i32,
    levels: &DelayLevels,
    now_ms: impl FnOnce() -> i64,
) -> Result<Option<i64>, BadDelayLevel> {
    if level <= 0 {
        return Ok(None);
    }
    let tran = sys_flag::transaction_type(message.sys_flag);
    if tran != sys_flag::TRANSACTION_NOT_TYPE && tran != sys_flag::TRANSACTION_COMMIT {
        return Ok(None);
    }
    let level = levels.clamp(level);
    let mut props = message.properties.clone();
    if level.to_string() != find_property(&props, property::DELAY).unwrap_or("") {
        props = without(&props, &[property::DELAY]);
        push_property(&mut props, property::DELAY, &level.to_string());
    }
    push_property(&mut props, property::REAL_TOPIC, &message.topic);
    push_property(
        &mut props,
        property::REAL_QID,
        &message.queue_id.to_string(),
    );
    message.properties = props;
    message.topic = SCHEDULE_TOPIC.to_string();
    message.queue_id = queue_id(level);
    let delay = levels.delay_ms(level).unwrap_or(1000);
    Ok(Some(now_ms().saturating_add(delay)))
}

/// `properties` without the entries named in `remove` (malformed entries are dropped too, as a
/// Java round trip through the property map drops them).
pub fn without(properties: &str, remove: &[&str]) -> String {
    let mut out = String::with_capacity(properties.len());
    for (k, v) in parse_properties(properties) {
        if !remove.contains(&k) {
            push_property(&mut out, k, v);
        }
    }
    out
}

#[cfg(test)]
mod tests;
