//! `config/delayOffset.json`: the next `SCHEDULE_TOPIC_XXXX` queue offset of each delay level
//! (`ScheduleMessageService.offsetTable`), in Java's own format so either broker reads the other's
//! file. fastjson writes the integer level keys unquoted (`{"offsetTable":{1:5,3:0}}`, 4.9.8) and
//! 5.x adds `"dataVersion"`; we write the 5.x shape (4.9.8 ignores the extra field) and read both,
//! with quoted or unquoted keys. Only levels that have had a message are in the table (Java adds a
//! level on its first `updateOffset`).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use serde::Deserialize;

use crate::protocol::fastjson::quote_bare_keys;
use crate::store::paths::write_atomic;
use crate::store::{Result, StoreError};

/// 5.x's `DataVersion`: bumped whenever the table is written with a change.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DataVersion {
    pub counter: i64,
    pub state_version: i64,
    pub timestamp: i64,
}

/// Level -> next queue offset to deliver.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DelayOffsets {
    table: BTreeMap<i32, i64>,
    pub data_version: DataVersion,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Wire {
    #[serde(default)]
    offset_table: BTreeMap<String, i64>,
    #[serde(default)]
    data_version: Option<DataVersion>,
}

impl DelayOffsets {
    /// The saved offset of `level`.
    pub fn get(&self, level: i32) -> Option<i64> {
        self.table.get(&level).copied()
    }

    /// Sets `level`'s offset; true if that changed the table.
    pub fn set(&mut self, level: i32, offset: i64) -> bool {
        self.table.insert(level, offset) != Some(offset)
    }

    /// Every (level, offset).
    pub fn iter(&self) -> impl Iterator<Item = (i32, i64)> + '_ {
        self.table.iter().map(|(l, o)| (*l, *o))
    }

    /// A new data version (`DataVersion.nextVersion`), before writing a changed table.
    pub fn next_version(&mut self, now_ms: i64) {
        self.data_version.counter += 1;
        self.data_version.timestamp = now_ms;
    }

    /// `correctDelayOffset`: each saved offset clamped into its queue's `[min, max]` (`bounds`
    /// gives them; `None` = no queue, left alone). Returns the (level, from, to) it changed.
    pub fn clamp(&mut self, bounds: impl Fn(i32) -> Option<(i64, i64)>) -> Vec<(i32, i64, i64)> {
        let mut changed = Vec::new();
        for (level, offset) in self.table.iter_mut() {
            let Some((min, max)) = bounds(*level) else {
                continue;
            };
            let to = (*offset).max(min).min(max);
            if to != *offset {
                changed.push((*level, *offset, to));
                *offset = to;
            }
        }
        changed
    }

    /// Java's JSON: compact for `GET_ALL_DELAY_OFFSET`, tab-indented (fastjson's pretty format) for
    /// the file. Level keys unquoted, as fastjson writes an `Integer` key.
    pub fn encode(&self, pretty: bool) -> String {
        let (nl, t1, t2) = if pretty {
            ("\n", "\t", "\t\t")
        } else {
            ("", "", "")
        };
        let v = &self.data_version;
        let mut s = String::with_capacity(128 + self.table.len() * 16);
        let _ = write!(
            s,
            "{{{nl}{t1}\"dataVersion\":{{{nl}{t2}\"counter\":{},{nl}{t2}\"stateVersion\":{},{nl}{t2}\"timestamp\":{}{nl}{t1}}},{nl}{t1}\"offsetTable\":{{",
            v.counter, v.state_version, v.timestamp
        );
        for (i, (level, offset)) in self.table.iter().enumerate() {
            let sep = if i > 0 { "," } else { "" };
            let _ = write!(s, "{sep}{nl}{t2}{level}:{offset}");
        }
        if !self.table.is_empty() {
            let _ = write!(s, "{nl}{t1}");
        }
        let _ = write!(s, "}}{nl}}}");
        s
    }

    /// Parses Java's JSON (4.9.8 or 5.x; keys quoted or not).
    pub fn decode(text: &str) -> std::result::Result<DelayOffsets, String> {
        let wire: Wire = serde_json::from_str(&quote_bare_keys(text)).map_err(|e| e.to_string())?;
        let mut table = BTreeMap::new();
        for (k, v) in wire.offset_table {
            let level: i32 = k
                .trim()
                .parse()
                .map_err(|_| format!("offsetTable key {k:?} is not a level"))?;
            table.insert(level, v);
        }
        Ok(DelayOffsets {
            table,
            data_version: wire.data_version.unwrap_or_default(),
        })
    }

    /// Loads the file, or an empty table when it does not exist yet.
    pub fn load(path: &Path) -> Result<DelayOffsets> {
        match std::fs::read_to_string(path) {
            Ok(text) => Self::decode(&text).map_err(|e| {
                StoreError::Corruption(format!("{}: not a delay offset table: {e}", path.display()))
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(DelayOffsets::default()),
            Err(e) => Err(StoreError::io(path, e)),
        }
    }

    /// Writes the file atomically (temp file, fsync, rename, directory fsync).
    pub fn save(&self, path: &Path) -> Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| StoreError::io(dir, e))?;
        }
        write_atomic(path, self.encode(true).as_bytes())
    }
}

#[cfg(test)]
mod tests;
