//! `messageDelayLevel`: the delay of each level, parsed as `ScheduleMessageService.parseDelayLevel`
//! does: entries separated by spaces, each a whole number followed by one unit of `s`, `m`, `h` or
//! `d`; level n is the n-th entry. Unlike Java (which logs and starts without levels), a bad entry
//! is refused, so the broker does not start with a configuration it cannot honour.

use std::fmt;

use serde::Deserialize;

/// RocketMQ's default `messageDelayLevel`.
pub const DEFAULT_MESSAGE_DELAY_LEVEL: &str =
    "1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h";

/// Why a `messageDelayLevel` string is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DelayLevelsError {
    #[error("no levels: expected entries such as \"1s 5s 1m 2h\"")]
    Empty,
    #[error("level {level} ({entry:?}): expected a whole number followed by s, m, h or d")]
    BadEntry { level: usize, entry: String },
    #[error("level {level} ({entry:?}): the delay overflows")]
    Overflow { level: usize, entry: String },
}

/// The parsed levels, with the text they came from (the config echoes it back).
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct DelayLevels {
    text: String,
    /// `delays_ms[n - 1]` is level n's delay.
    delays_ms: Vec<u64>,
}

impl fmt::Debug for DelayLevels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.text)
    }
}

impl Default for DelayLevels {
    fn default() -> Self {
        DelayLevels::parse(DEFAULT_MESSAGE_DELAY_LEVEL).expect("the default levels parse")
    }
}

impl TryFrom<String> for DelayLevels {
    type Error = DelayLevelsError;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        DelayLevels::parse(&text)
    }
}

impl DelayLevels {
    /// Parses `"1s 5s 10s 30s 1m ..."`.
    pub fn parse(text: &str) -> Result<DelayLevels, DelayLevelsError> {
        let mut delays_ms = Vec::new();
        for (i, entry) in text.split_whitespace().enumerate() {
            let level = i + 1;
            let bad = || DelayLevelsError::BadEntry {
                level,
                entry: entry.to_string(),
            };
            let unit_ms: u64 = match entry.as_bytes().last() {
                Some(b's') => 1000,
                Some(b'm') => 60_000,
                Some(b'h') => 3_600_000,
                Some(b'd') => 86_400_000,
                _ => return Err(bad()),
            };
            let digits = &entry[..entry.len() - 1];
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad());
            }
            let overflow = || DelayLevelsError::Overflow {
                level,
                entry: entry.to_string(),
            };
            let n: u64 = digits.parse().map_err(|_| overflow())?;
            let ms = n
                .checked_mul(unit_ms)
                .filter(|ms| *ms <= i64::MAX as u64 / 2)
                .ok_or_else(overflow)?;
            delays_ms.push(ms);
        }
        if delays_ms.is_empty() {
            return Err(DelayLevelsError::Empty);
        }
        Ok(DelayLevels {
            text: text.to_string(),
            delays_ms,
        })
    }

    /// The text the levels were parsed from.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The highest level (`maxDelayLevel`): the number of entries.
    pub fn max_level(&self) -> i32 {
        self.delays_ms.len() as i32
    }

    /// `level` clamped to the highest level (a level above it is delivered with the highest).
    pub fn clamp(&self, level: i32) -> i32 {
        level.min(self.max_level())
    }

    /// The delay of `level` in milliseconds; `None` outside `1..=max_level`.
    pub fn delay_ms(&self, level: i32) -> Option<i64> {
        let index = usize::try_from(level).ok()?.checked_sub(1)?;
        self.delays_ms.get(index).map(|ms| *ms as i64)
    }

    /// Every level, `1..=max_level`.
    pub fn levels(&self) -> impl Iterator<Item = i32> {
        1..=self.max_level()
    }
}

#[cfg(test)]
mod tests;
