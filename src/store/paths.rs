//! On-disk layout of the store and small file-system helpers.
//!
//! RocketMQ names every commit-log and consume-queue file by the absolute byte offset
//! of its first byte, zero padded to 20 digits, and keeps fixed well-known files under
//! the store root (`abort`, `lock`, `checkpoint`, `config/*.json`). Centralising the
//! names here keeps the rest of the store free of string formatting, and
//! [`write_atomic`] gives the crash-safe replace used for checkpoint and config files.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::error::{IoContext, Result};

/// Width of a RocketMQ file name (`UtilAll.offset2FileName`).
pub const FILE_NAME_LEN: usize = 20;

/// The file name of a file starting at `start_offset`: 20 digits, zero padded.
pub fn file_name(start_offset: u64) -> String {
    format!("{start_offset:020}")
}

/// Parses a file name produced by [`file_name`]. Exactly 20 ASCII digits, else `None`.
pub fn parse_file_name(name: &str) -> Option<u64> {
    if name.len() != FILE_NAME_LEN || !name.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    name.parse().ok()
}

/// `root/commitlog`
pub fn commitlog_dir(root: &Path) -> PathBuf {
    root.join("commitlog")
}

/// `root/consumequeue`
pub fn consume_queue_root(root: &Path) -> PathBuf {
    root.join("consumequeue")
}

/// One queue's directory, `root/consumequeue/<topic>/<queueId>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueDir {
    pub topic: String,
    pub queue_id: i32,
    pub path: PathBuf,
}

/// Every queue directory under `root/consumequeue`, sorted by topic and queue id. Names that are
/// not UTF-8 or not a queue id are skipped, and so are topic entries that cannot be listed (a
/// stray file); a missing `consumequeue` yields an empty list.
pub fn consume_queue_dirs(root: &Path) -> Result<Vec<QueueDir>> {
    let cq_root = consume_queue_root(root);
    let topics = match fs::read_dir(&cq_root) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(super::StoreError::io(&cq_root, e)),
    };
    let mut out = Vec::new();
    for topic_dir in topics {
        let topic_dir = topic_dir.at(&cq_root)?;
        let Some(topic) = topic_dir.file_name().to_str().map(str::to_string) else {
            continue;
        };
        let Ok(ids) = fs::read_dir(topic_dir.path()) else {
            continue;
        };
        for id_dir in ids {
            let id_dir = id_dir.at(topic_dir.path())?;
            let Some(queue_id) = id_dir.file_name().to_str().and_then(|s| s.parse().ok()) else {
                continue;
            };
            out.push(QueueDir {
                topic: topic.clone(),
                queue_id,
                path: id_dir.path(),
            });
        }
    }
    out.sort_by(|a, b| (&a.topic, a.queue_id).cmp(&(&b.topic, b.queue_id)));
    Ok(out)
}

/// `root/consumequeue/<topic>/<queueId>`
///
/// `topic` must be a [`is_safe_dir_name`]: a topic read from a record (a damaged store, a
/// master's stream) could otherwise name a directory outside the store (`/x`, `..`).
pub fn consume_queue_dir(root: &Path, topic: &str, queue_id: i32) -> PathBuf {
    consume_queue_root(root)
        .join(topic)
        .join(queue_id.to_string())
}

/// A name that is one directory under its parent: not empty, not `.` or `..`, no `/` or NUL.
pub fn is_safe_dir_name(name: &str) -> bool {
    !name.is_empty() && name != "." && name != ".." && !name.contains(['/', '\0'])
}

/// `root/index`: the message index files.
pub fn index_dir(root: &Path) -> PathBuf {
    root.join("index")
}

/// Length of an index file name, `yyyyMMddHHmmssSSS` (`UtilAll.timeMillisToHumanString`).
pub const INDEX_FILE_NAME_LEN: usize = 17;

/// The name of an index file created at `ms` (Unix ms): its local time as `yyyyMMddHHmmssSSS`,
/// as Java names them (UTC if the local time cannot be had).
pub fn index_file_name(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let millis = ms.rem_euclid(1000);
    let tm = Some(secs).filter(|s| *s >= 0).and_then(local_tm);
    match tm {
        Some(t) => format!(
            "{:04}{:02}{:02}{:02}{:02}{:02}{millis:03}",
            t.tm_year + 1900,
            t.tm_mon + 1,
            t.tm_mday,
            t.tm_hour,
            t.tm_min,
            t.tm_sec
        ),
        None => format!("{:017}", ms.max(0)),
    }
}

/// Whether `name` is an index file's name (17 ASCII digits); anything else in `index/` is skipped.
pub fn is_index_file_name(name: &str) -> bool {
    name.len() == INDEX_FILE_NAME_LEN && name.bytes().all(|b| b.is_ascii_digit())
}

/// `secs` since the Unix epoch (before it when negative) in the machine's local time zone
/// (`localtime_r`, which honours `TZ`), as Java's `Calendar` sees it.
pub fn local_tm(secs: i64) -> Option<libc::tm> {
    let time = libc::time_t::try_from(secs).ok()?;
    // SAFETY: `libc::tm` is a plain C struct of integers and a pointer, for which all-zero
    // bytes are a valid value.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    // SAFETY: `localtime_r` only reads `time` and writes the `tm` it is given, both valid for
    // the call; it is the thread-safe variant (no shared static buffer).
    let converted = unsafe { libc::localtime_r(&time, &mut tm) };
    (!converted.is_null()).then_some(tm)
}

/// `root/abort`: present at startup means the previous run did not shut down cleanly.
pub fn abort_path(root: &Path) -> PathBuf {
    root.join("abort")
}

/// `root/lock`: exclusive lock held while a broker owns the store.
pub fn lock_path(root: &Path) -> PathBuf {
    root.join("lock")
}

/// `root/checkpoint`: the 4 KiB checkpoint page.
pub fn checkpoint_path(root: &Path) -> PathBuf {
    root.join("checkpoint")
}

/// `root/config`
pub fn config_dir(root: &Path) -> PathBuf {
    root.join("config")
}

/// `root/config/topics.json`
pub fn topics_json(root: &Path) -> PathBuf {
    config_dir(root).join("topics.json")
}

/// `root/config/consumerOffset.json`
pub fn consumer_offsets_json(root: &Path) -> PathBuf {
    config_dir(root).join("consumerOffset.json")
}

/// `root/config/subscriptionGroup.json`
pub fn subscription_group_json(root: &Path) -> PathBuf {
    config_dir(root).join("subscriptionGroup.json")
}

/// `root/config/kvConfig.json`: the name server's KV config (RocketMQ's `kvConfigPath`), unless
/// `namesrv.kv_config_path` names another file.
pub fn kv_config_json(root: &Path) -> PathBuf {
    config_dir(root).join("kvConfig.json")
}

/// `root/config/delayOffset.json`: the delivery progress of each delay level
/// (`StorePathConfigHelper.getDelayOffsetStorePath`).
pub fn delay_offsets_json(root: &Path) -> PathBuf {
    config_dir(root).join("delayOffset.json")
}

/// `root/timer`: the timer store (`timerlog`, `timerwheel`, `checkpoint.json`).
pub fn timer_dir(root: &Path) -> PathBuf {
    root.join("timer")
}

/// `root/timer/timerlog`
pub fn timer_log(timer_dir: &Path) -> PathBuf {
    timer_dir.join("timerlog")
}

/// `root/timer/timerwheel`
pub fn timer_wheel(timer_dir: &Path) -> PathBuf {
    timer_dir.join("timerwheel")
}

/// `root/timer/checkpoint.json`: the timer store's cursors.
pub fn timer_checkpoint(timer_dir: &Path) -> PathBuf {
    timer_dir.join("checkpoint.json")
}

/// Lists the offset-named files of `dir`, sorted by start offset. Entries whose names do
/// not parse (temp files, foreign files, directories with odd names) are skipped. A
/// missing directory yields an empty list.
pub fn list_files(dir: &Path) -> Result<Vec<(u64, PathBuf)>> {
    let rd = match fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(super::StoreError::io(dir, e)),
    };
    let mut out = Vec::new();
    for entry in rd {
        let entry = entry.at(dir)?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some(off) = parse_file_name(name) else {
            continue;
        };
        let ft = entry.file_type().at(entry.path())?;
        if ft.is_file() {
            out.push((off, entry.path()));
        }
    }
    out.sort_by_key(|(o, _)| *o);
    Ok(out)
}

/// Reads a `config/*.json` table (`what` names it in the error), or `T::default()` when the file
/// does not exist yet. A file a Java broker wrote loads too ([`crate::protocol::fastjson`]).
pub fn load_json<T: serde::de::DeserializeOwned + Default>(path: &Path, what: &str) -> Result<T> {
    let corrupt = |e: &dyn std::fmt::Display| {
        super::StoreError::Corruption(format!("{}: not a {what}: {e}", path.display()))
    };
    match fs::read(path) {
        Ok(bytes) => {
            let text = std::str::from_utf8(&bytes).map_err(|e| corrupt(&e))?;
            serde_json::from_str(&crate::protocol::fastjson::quote_bare_keys(text))
                .map_err(|e| corrupt(&e))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(T::default()),
        Err(e) => Err(super::StoreError::io(path, e)),
    }
}

/// Writes a `config/*.json` table atomically ([`write_atomic`]), creating its directory.
pub fn save_json<T: serde::Serialize>(path: &Path, value: &T) -> Result<()> {
    let json = serde_json::to_vec_pretty(value)
        .map_err(|e| super::StoreError::Invalid(format!("{}: {e}", path.display())))?;
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).at(dir)?;
    }
    write_atomic(path, &json)
}

/// Fsyncs a directory so a rename or create inside it is durable.
pub fn fsync_dir(dir: &Path) -> Result<()> {
    let d = fs::File::open(dir).at(dir)?;
    d.sync_all().at(dir)
}

/// Replaces `path` with `bytes` atomically: writes a temp file in the same directory,
/// fsyncs it, renames it over `path` and fsyncs the directory. A crash leaves either the
/// old or the new content, never a mix.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let fname = path.file_name().ok_or_else(|| {
        super::StoreError::Invalid(format!("{}: not a file path", path.display()))
    })?;
    let mut tmp_name = fname.to_os_string();
    tmp_name.push(format!(".tmp.{}", std::process::id()));
    let tmp = dir.join(tmp_name);
    let res = (|| {
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp)
            .at(&tmp)?;
        f.write_all(bytes).at(&tmp)?;
        f.sync_all().at(&tmp)?;
        drop(f);
        fs::rename(&tmp, path).at(path)?;
        fsync_dir(&dir)
    })();
    if res.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn names() {
        assert_eq!(file_name(0), "00000000000000000000");
        assert_eq!(file_name(1073741824), "00000000001073741824");
        assert_eq!(parse_file_name("00000000001073741824"), Some(1073741824));
        assert_eq!(parse_file_name("0000000000107374182"), None);
        assert_eq!(parse_file_name("000000000010737418245"), None);
        assert_eq!(parse_file_name("+0000000001073741824"), None);
        assert_eq!(parse_file_name("0000000000107374182a"), None);
        assert_eq!(parse_file_name("99999999999999999999"), None); // > u64::MAX
    }

    #[test]
    fn layout() {
        let r = Path::new("/s");
        assert_eq!(commitlog_dir(r), Path::new("/s/commitlog"));
        assert_eq!(
            consume_queue_dir(r, "T", 3),
            Path::new("/s/consumequeue/T/3")
        );
        assert_eq!(abort_path(r), Path::new("/s/abort"));
        assert_eq!(lock_path(r), Path::new("/s/lock"));
        assert_eq!(checkpoint_path(r), Path::new("/s/checkpoint"));
        assert_eq!(topics_json(r), Path::new("/s/config/topics.json"));
        assert_eq!(
            consumer_offsets_json(r),
            Path::new("/s/config/consumerOffset.json")
        );
    }

    #[test]
    fn list_sorted_and_filtered() {
        let d = tempfile::tempdir().unwrap();
        assert!(list_files(&d.path().join("missing")).unwrap().is_empty());
        for o in [2048u64, 0, 1024] {
            fs::write(d.path().join(file_name(o)), b"x").unwrap();
        }
        fs::write(d.path().join("junk"), b"x").unwrap();
        fs::write(d.path().join("00000000000000000000.tmp"), b"x").unwrap();
        let l = list_files(d.path()).unwrap();
        let offs: Vec<u64> = l.iter().map(|(o, _)| *o).collect();
        assert_eq!(offs, vec![0, 1024, 2048]);
        assert_eq!(l[1].1, d.path().join(file_name(1024)));
    }

    #[test]
    fn atomic_write_replaces() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("f.json");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"two");
        assert_eq!(fs::read_dir(d.path()).unwrap().count(), 1);
        let err = write_atomic(&d.path().join("nope/f"), b"x").unwrap_err();
        assert!(err.to_string().contains("nope"), "{err}");
    }

    proptest! {
        #[test]
        fn name_round_trip(o in any::<u64>()) {
            prop_assert_eq!(parse_file_name(&file_name(o)), Some(o));
        }
    }
}
