//! The put rewrite of a 5.x timer message (RocketMQ's `HookUtils.checkIfTimerMessage` and
//! `transformTimerMessage`): which messages are timer messages, their deliver time, the refusals,
//! and the properties of the record stored in `rmq_sys_wheel_timer` queue 0.

use crate::protocol::response_code;
use crate::schedule::rewrite::without;
use crate::send::push_property;
use crate::store::message::{find_property, property, sys_flag};

use super::TIMER_TOPIC;

/// What a send needs to know about timer messages (`[timer]`, see `config::TimerConfig`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimerRules {
    /// `timerWheelEnable`: off -> timer messages are refused with SYSTEM_ERROR.
    pub enabled: bool,
    /// `timerMaxDelaySec`: a longer delay is refused with MESSAGE_ILLEGAL.
    pub max_delay_sec: u64,
}

impl Default for TimerRules {
    fn default() -> Self {
        TimerRules {
            enabled: true,
            max_delay_sec: 259_200,
        }
    }
}

/// The outcome of [`rewrite`] for a message that carries a `TIMER_` property.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rewrite {
    /// Store as sent: a past deliver time, or a message the timer does not apply to.
    Unchanged,
    /// `DELAY > 0` wins: the TIMER_* properties are dropped, the rest is the delay level's business.
    Stripped(String),
    /// A future deliver time: store these properties in [`TIMER_TOPIC`] queue 0; the consume-queue
    /// tag code is `deliver_ms`.
    Scheduled { properties: String, deliver_ms: i64 },
}

/// The three properties that ask for a deliver time, in the order Java looks at them.
const ASKS: [&str; 3] = [
    property::TIMER_DELAY_SEC,
    property::TIMER_DELAY_MS,
    property::TIMER_DELIVER_MS,
];

/// Java's remark for `WHEEL_TIMER_MSG_ILLEGAL` (`SendMessageProcessor.handlePutMessageResult`).
pub fn illegal_remark(max_delay_sec: u64) -> String {
    format!(
        "timer message illegal, the delay time should not be bigger than the max delay {}ms; or if \
         set del msg, the delay time should be bigger than the current time",
        max_delay_sec.saturating_mul(1000)
    )
}

/// Java's remark for `WHEEL_TIMER_NOT_ENABLE`.
pub fn not_enabled_remark(enabled: bool) -> String {
    format!("accurate timer message is not enabled, timerWheelEnable is {enabled}")
}

/// The rewrite of one message about to be stored in `topic` / `queue_id` with `props` (already
/// holding the broker-added properties), at `now_ms`. Only called when `props` contains `TIMER_`.
pub fn rewrite(
    props: &str,
    topic: &str,
    queue_id: i32,
    sys_flag_value: i32,
    now_ms: i64,
    rules: TimerRules,
) -> Result<Rewrite, (i32, String)> {
    let tran = sys_flag::transaction_type(sys_flag_value);
    if tran != sys_flag::TRANSACTION_NOT_TYPE && tran != sys_flag::TRANSACTION_COMMIT {
        return Ok(Rewrite::Unchanged);
    }
    // A rolled or already fired timer message is never intercepted again ("double check").
    if topic == TIMER_TOPIC || find_property(props, property::TIMER_OUT_MS).is_some() {
        return Ok(Rewrite::Unchanged);
    }
    let delay_level = find_property(props, property::DELAY)
        .and_then(|v| v.parse::<i32>().ok())
        .unwrap_or(0);
    if delay_level > 0 {
        return Ok(
            match ASKS.iter().any(|k| find_property(props, k).is_some()) {
                true => Rewrite::Stripped(without(props, &ASKS)),
                false => Rewrite::Unchanged,
            },
        );
    }
    let Some((key, value)) = ASKS
        .iter()
        .find_map(|k| find_property(props, k).map(|v| (*k, v)))
    else {
        return Ok(Rewrite::Unchanged);
    };
    if !rules.enabled {
        return Err((
            response_code::SYSTEM_ERROR,
            not_enabled_remark(rules.enabled),
        ));
    }
    let illegal = || {
        (
            response_code::MESSAGE_ILLEGAL,
            illegal_remark(rules.max_delay_sec),
        )
    };
    let n = parse_java_long(value).ok_or_else(illegal)?;
    let deliver_ms = match key {
        property::TIMER_DELAY_SEC => now_ms.checked_add(n.checked_mul(1000).ok_or_else(illegal)?),
        property::TIMER_DELAY_MS => now_ms.checked_add(n),
        _ => Some(n),
    }
    .ok_or_else(illegal)?;
    if deliver_ms <= now_ms {
        if find_property(props, property::TIMER_DEL_UNIQKEY).is_some() {
            return Err(illegal());
        }
        return Ok(Rewrite::Unchanged);
    }
    if (deliver_ms - now_ms) as u64 > rules.max_delay_sec.saturating_mul(1000) {
        return Err(illegal());
    }
    let mut properties = String::with_capacity(props.len() + 64);
    properties.push_str(props);
    push_property(
        &mut properties,
        property::TIMER_OUT_MS,
        &deliver_ms.to_string(),
    );
    push_property(&mut properties, property::REAL_TOPIC, topic);
    push_property(&mut properties, property::REAL_QID, &queue_id.to_string());
    Ok(Rewrite::Scheduled {
        properties,
        deliver_ms,
    })
}

/// Java's `Long.parseLong`: an optional sign and decimal digits, nothing else (no spaces).
fn parse_java_long(s: &str) -> Option<i64> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}
