//! `actormq send` scheduling flags: `--delay-level`, `--deliver-at`, `--deliver-in`.
//!
//! Each becomes the property a stock Java producer sets for the same request
//! (`rocketmq-reference-2.md` §3): `Message.setDelayTimeLevel(n)` -> `DELAY=n`,
//! `setDeliverTimeMs(epochMs)` -> `TIMER_DELIVER_MS`, `setDelayTimeMs(ms)` -> `TIMER_DELAY_MS`.
//! The broker decides what they mean (delay levels are its `messageDelayLevel` list; timer
//! messages are 5.x). The flags exclude each other, and a value that does not parse is a one-line
//! error before anything is sent. Parsing is hand-written (RFC 3339, durations) and unit-tested.

use actormq::store::message::{days_from_civil, property};

/// The scheduling flags of `actormq send` (at most one).
#[derive(clap::Args, Debug, Default)]
pub struct ScheduleArgs {
    /// Delay level N >= 1 (RocketMQ's setDelayTimeLevel): sets property DELAY=N. Level N is the
    /// broker's N-th delay (by default 1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h).
    #[arg(long, value_name = "N")]
    delay_level: Option<String>,
    /// Deliver at TIME: RFC 3339 (2026-12-06T10:00:00Z, 2026-12-06T11:00:00.5+01:00) or epoch
    /// milliseconds. Sets property TIMER_DELIVER_MS (setDeliverTimeMs; a 5.x timer message).
    #[arg(long, value_name = "TIME")]
    deliver_at: Option<String>,
    /// Deliver after DURATION: a number with a unit ms, s, m, h or d, or several (1500ms, 30s,
    /// 5m, 1h30m). Sets property TIMER_DELAY_MS (setDelayTimeMs; a 5.x timer message).
    #[arg(long, value_name = "DURATION")]
    deliver_in: Option<String>,
}

/// Why the scheduling flags cannot be sent; `Display` is one line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    #[error("--{0} and --{1} cannot be used together: give at most one of --delay-level, --deliver-at, --deliver-in")]
    Conflict(&'static str, &'static str),
    #[error("--delay-level {0:?}: expected a whole number of 1 or more")]
    DelayLevel(String),
    #[error("--deliver-at {0:?}: expected an RFC 3339 time (2026-12-06T10:00:00Z) or epoch milliseconds")]
    DeliverAt(String),
    #[error(
        "--deliver-in {0:?}: expected a positive duration such as 1500ms, 30s, 5m, 2h, 1d or 1h30m"
    )]
    DeliverIn(String),
}

impl ScheduleArgs {
    /// The property to add to the message, if a flag was given.
    pub fn property(&self) -> Result<Option<(&'static str, String)>, ScheduleError> {
        let given: Vec<&'static str> = [
            ("delay-level", self.delay_level.is_some()),
            ("deliver-at", self.deliver_at.is_some()),
            ("deliver-in", self.deliver_in.is_some()),
        ]
        .into_iter()
        .filter_map(|(name, set)| set.then_some(name))
        .collect();
        if let [first, second, ..] = given[..] {
            return Err(ScheduleError::Conflict(first, second));
        }
        if let Some(level) = &self.delay_level {
            let n =
                parse_delay_level(level).ok_or_else(|| ScheduleError::DelayLevel(level.clone()))?;
            return Ok(Some((property::DELAY, n.to_string())));
        }
        if let Some(time) = &self.deliver_at {
            let ms = parse_time_ms(time).ok_or_else(|| ScheduleError::DeliverAt(time.clone()))?;
            return Ok(Some((property::TIMER_DELIVER_MS, ms.to_string())));
        }
        if let Some(duration) = &self.deliver_in {
            let ms = parse_duration_ms(duration)
                .filter(|ms| *ms > 0)
                .ok_or_else(|| ScheduleError::DeliverIn(duration.clone()))?;
            return Ok(Some((property::TIMER_DELAY_MS, ms.to_string())));
        }
        Ok(None)
    }
}

/// A delay level: a Java `int` of 1 or more (the broker caps it at its highest level).
fn parse_delay_level(s: &str) -> Option<i32> {
    digits_only(s)?.parse::<i32>().ok().filter(|n| *n >= 1)
}

/// `s` if it is non-empty ASCII digits.
fn digits_only(s: &str) -> Option<&str> {
    (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())).then_some(s)
}

/// Epoch milliseconds, or an RFC 3339 date-time converted to them.
fn parse_time_ms(s: &str) -> Option<i64> {
    match digits_only(s) {
        Some(ms) => ms.parse().ok(),
        None => parse_rfc3339_ms(s),
    }
}

/// `YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)` (RFC 3339 §5.6; `t`, `z` and a space in
/// place of `T` accepted as the RFC allows). Fractions below a millisecond are dropped.
fn parse_rfc3339_ms(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    if !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let num =
        |from: usize, to: usize| -> Option<i64> { digits_only(s.get(from..to)?)?.parse().ok() };
    let (year, month, day) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
    let (hour, minute, second) = (num(11, 13)?, num(14, 16)?, num(17, 19)?);
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    // 60 is a leap second (RFC 3339 allows it); it counts as the next minute's first second.
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let mut rest = &s[19..];
    let mut millis = 0;
    if let Some(after_dot) = rest.strip_prefix('.') {
        let len = after_dot.bytes().take_while(u8::is_ascii_digit).count();
        if len == 0 {
            return None;
        }
        let first3 = format!("{:0<3}", &after_dot[..len.min(3)]);
        millis = first3.parse::<i64>().ok()?;
        rest = &after_dot[len..];
    }
    let offset_minutes = match rest {
        "Z" | "z" => 0,
        _ => {
            let r = rest.as_bytes();
            if r.len() != 6 || r[3] != b':' {
                return None;
            }
            let sign = match r[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let (oh, om) = (
                digits_only(rest.get(1..3)?)?.parse::<i64>().ok()?,
                digits_only(rest.get(4..6)?)?.parse::<i64>().ok()?,
            );
            if oh > 23 || om > 59 {
                return None;
            }
            sign * (oh * 60 + om)
        }
    };
    let days = days_from_civil(year, month, day);
    let seconds = days * 86_400 + hour * 3_600 + minute * 60 + second - offset_minutes * 60;
    Some(seconds * 1_000 + millis)
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// A duration as one or more `<whole number><unit>` parts, units `ms`, `s`, `m`, `h`, `d`.
fn parse_duration_ms(s: &str) -> Option<i64> {
    let mut rest = s;
    let mut total: i64 = 0;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let value: i64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let letters = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        let unit_ms: i64 = match &rest[..letters] {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            _ => return None,
        };
        rest = &rest[letters..];
        total = total.checked_add(value.checked_mul(unit_ms)?)?;
    }
    Some(total)
}

#[cfg(test)]
mod tests;
