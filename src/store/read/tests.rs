//! Reads on a temp store written by the commit log's state machine and indexed by reput: every
//! pull status, limits, the tag filter, records by offset and the search by store time.

use super::*;
use crate::store::commit_log::{recover, CommitLog, CommitLogOptions, Scan, WriteMode};
use crate::store::consume_queue::CqLayout;
use crate::store::consume_queues::{ConsumeQueues, Reput};
use crate::store::message::tests::sample;
use crate::store::message::{encode, properties_to_string};

/// The queue id `sample` encodes.
const QUEUE: i32 = 3;

struct Store {
    dir: tempfile::TempDir,
    log: CommitLog,
    reput: Reput,
    table: FileTable,
    /// Commit-log offset of each record appended, in order.
    offsets: Vec<i64>,
}

impl Store {
    fn new(file_size: u64) -> Store {
        let dir = tempfile::tempdir().unwrap();
        let cl = dir.path().join("commitlog");
        let found = recover(&cl, file_size, Scan::Everything { check_crc: true }).unwrap();
        let log = CommitLog::new(
            found,
            CommitLogOptions {
                dir: cl,
                file_size,
                write_mode: WriteMode::Mapped,
                fail_write: None,
            },
        );
        let queues = ConsumeQueues::new(dir.path().to_path_buf(), CqLayout::new(4));
        Store {
            dir,
            table: log.table(),
            log,
            reput: Reput::new(queues, 0, false),
            offsets: Vec::new(),
        }
    }

    /// Appends one record with `tag` to topic `T` and indexes it.
    fn put(&mut self, tag: &str, body_len: usize) {
        let props = properties_to_string([("TAGS", tag)]);
        let mut r = bytes::BytesMut::new();
        encode(&sample("T", &vec![b'b'; body_len], &props), &mut r).unwrap();
        let code = tags_hash_code(tag);
        let a = self
            .log
            .append("T".into(), QUEUE, &mut r, 1, &[code])
            .unwrap();
        self.offsets.push(a.physical_offset);
        let runs = self.log.take_runs();
        assert_eq!(self.reput.records(runs).len(), 1);
        if let Some(t) = self.log.take_table_change() {
            self.table = t;
        }
    }

    fn reader(&self) -> CommitLogReader<'_> {
        CommitLogReader {
            files: &self.table,
            end: self.reput.dispatched(),
        }
    }

    fn cq(&self) -> Option<&ConsumeQueue> {
        self.reput.queues().get("T", QUEUE)
    }

    fn pull(&self, offset: i64, max_msgs: usize, max_bytes: usize, tags: &str) -> PullRead {
        let q = PullQuery {
            group: "g".into(),
            topic: "T".into(),
            queue_id: QUEUE,
            offset,
            max_msgs,
            max_bytes,
            filter: TagFilter::parse(Some(tags)),
            suspend: None,
            reset_to: None,
        };
        self.reader().get_message(self.cq(), &q)
    }
}

/// How many records a pull body holds.
fn count(body: &[u8]) -> usize {
    let (mut at, mut n) = (0, 0);
    while at + 4 <= body.len() {
        at += i32::from_be_bytes(body[at..at + 4].try_into().unwrap()) as usize;
        n += 1;
    }
    n
}

#[test]
fn tag_filters() {
    assert_eq!(TagFilter::parse(None), TagFilter::All);
    assert_eq!(TagFilter::parse(Some(" * ")), TagFilter::All);
    assert_eq!(TagFilter::parse(Some("")), TagFilter::All);
    assert_eq!(TagFilter::parse(Some(" || ")), TagFilter::All);
    let f = TagFilter::parse(Some("TagA || TagB"));
    assert_eq!(
        f,
        TagFilter::Codes(vec![tags_hash_code("TagA"), tags_hash_code("TagB")])
    );
    assert!(f.matches(tags_hash_code("TagB")));
    assert!(!f.matches(tags_hash_code("TagC")));
    assert!(!f.matches(0));
}

#[test]
fn tag_filter_unions_pass_what_either_passes() {
    let ab = TagFilter::parse(Some("TagA || TagB"));
    let bc = TagFilter::parse(Some("TagB || TagC"));
    let codes = |tags: &[&str]| TagFilter::Codes(tags.iter().map(|t| tags_hash_code(t)).collect());
    assert_eq!(ab.clone().union(bc), codes(&["TagA", "TagB", "TagC"]));
    assert_eq!(ab.clone().union(TagFilter::All), TagFilter::All);
    assert_eq!(TagFilter::All.union(ab.clone()), TagFilter::All);
    assert_eq!(ab.clone().union(ab.clone()), ab);
}

#[test]
fn status_mapping() {
    use response_code::*;
    assert_eq!(GetStatus::Found.response_code(3), SUCCESS);
    assert_eq!(
        GetStatus::NoMatchedMessage.response_code(3),
        PULL_RETRY_IMMEDIATELY
    );
    assert_eq!(
        GetStatus::MessageWasRemoving.response_code(3),
        PULL_RETRY_IMMEDIATELY
    );
    assert_eq!(GetStatus::NoMessageInQueue.response_code(0), PULL_NOT_FOUND);
    assert_eq!(
        GetStatus::NoMessageInQueue.response_code(5),
        PULL_OFFSET_MOVED
    );
    assert_eq!(
        GetStatus::NoMatchedLogicQueue.response_code(0),
        PULL_NOT_FOUND
    );
    assert_eq!(
        GetStatus::NoMatchedLogicQueue.response_code(5),
        PULL_OFFSET_MOVED
    );
    assert_eq!(
        GetStatus::OffsetOverflowOne.response_code(5),
        PULL_NOT_FOUND
    );
    assert_eq!(
        GetStatus::OffsetOverflowBadly.response_code(9),
        PULL_OFFSET_MOVED
    );
    assert_eq!(
        GetStatus::OffsetTooSmall.response_code(0),
        PULL_OFFSET_MOVED
    );
    assert_eq!(GetStatus::OffsetTooSmall.name(), "OFFSET_TOO_SMALL");
}

#[test]
fn each_pull_status() {
    let mut s = Store::new(1 << 16);
    let r = s.pull(0, 32, 1 << 20, "*");
    assert_eq!(
        (r.status, r.next_begin),
        (GetStatus::NoMatchedLogicQueue, 0)
    );
    for i in 0..6 {
        s.put(if i % 2 == 0 { "A" } else { "B" }, 20);
    }
    let r = s.pull(0, 32, 1 << 20, "*");
    assert_eq!(
        (r.status, r.next_begin, r.min, r.max),
        (GetStatus::Found, 6, 0, 6)
    );
    assert_eq!(count(&r.body), 6);
    let r = s.pull(1, 32, 1 << 20, "B");
    assert_eq!(
        (r.status, r.next_begin, count(&r.body)),
        (GetStatus::Found, 6, 3)
    );
    let r = s.pull(0, 32, 1 << 20, "C");
    assert_eq!((r.status, r.next_begin), (GetStatus::NoMatchedMessage, 6));
    let r = s.pull(6, 32, 1 << 20, "*");
    assert_eq!((r.status, r.next_begin), (GetStatus::OffsetOverflowOne, 6));
    let r = s.pull(9, 32, 1 << 20, "*");
    assert_eq!(
        (r.status, r.next_begin),
        (GetStatus::OffsetOverflowBadly, 6)
    );
    assert!(r.body.is_empty());
    // Retention moved the queue's minimum past the first two records.
    s.reput.queues_mut().forget_below(s.offsets[2] as u64);
    let r = s.pull(0, 32, 1 << 20, "*");
    assert_eq!(
        (r.status, r.next_begin, r.min),
        (GetStatus::OffsetTooSmall, 2, 2)
    );
}

/// A pending reset answers the pull with the reset offset (and the queue's bounds), not records.
#[test]
fn a_pending_reset_moves_the_pull_instead_of_reading() {
    let mut s = Store::new(1 << 16);
    for _ in 0..3 {
        s.put("TagA", 10);
    }
    let q = PullQuery {
        group: "g".into(),
        topic: "T".into(),
        queue_id: QUEUE,
        offset: 2,
        max_msgs: 32,
        max_bytes: 1 << 20,
        filter: TagFilter::All,
        suspend: None,
        reset_to: Some(1),
    };
    let r = s.reader().get_message(s.cq(), &q);
    assert_eq!(
        (r.status, r.next_begin, r.min, r.max, r.body.len()),
        (GetStatus::OffsetReset, 1, 0, 3, 0)
    );
    assert_eq!(r.status.response_code(2), response_code::PULL_OFFSET_MOVED);
    assert_eq!(r.status.name(), "OFFSET_RESET");
}

#[test]
fn an_empty_queue_has_no_message() {
    let s = Store::new(1 << 16);
    let empty =
        ConsumeQueue::open(s.dir.path().join("consumequeue/E/0"), CqLayout::new(4)).unwrap();
    let q = PullQuery {
        group: "g".into(),
        topic: "E".into(),
        queue_id: 0,
        offset: 0,
        max_msgs: 1,
        max_bytes: 1,
        filter: TagFilter::All,
        suspend: None,
        reset_to: None,
    };
    let r = s.reader().get_message(Some(&empty), &q);
    assert_eq!(r.status, GetStatus::NoMessageInQueue);
}

/// Entries whose records are no longer readable (their file left the table) are skipped; a pull
/// that finds nothing else says the messages are being removed, one that finds later records
/// returns them.
#[test]
fn records_gone_from_the_table_are_removing() {
    let mut s = Store::new(4096);
    for i in 0..8 {
        s.put(if i < 3 { "A" } else { "B" }, 1200);
    }
    assert!(s.table.len() >= 3);
    let removed = s.log.delete_files_before(4096);
    assert_eq!(removed.len(), 1);
    s.table = s.log.take_table_change().unwrap();
    let r = s.pull(0, 32, 1 << 20, "A");
    assert_eq!((r.status, r.next_begin), (GetStatus::MessageWasRemoving, 8));
    let r = s.pull(0, 32, 1 << 20, "*");
    assert_eq!((r.status, count(&r.body)), (GetStatus::Found, 5));
}

#[test]
fn limits_cap_records_and_bytes_but_return_at_least_one() {
    let mut s = Store::new(1 << 16);
    for _ in 0..10 {
        s.put("A", 100);
    }
    let one = s.reader().record_at(s.offsets[0]).unwrap().len();
    let r = s.pull(0, 3, 1 << 20, "*");
    assert_eq!((count(&r.body), r.next_begin), (3, 3));
    let r = s.pull(0, 32, one * 2 + 1, "*");
    assert_eq!((count(&r.body), r.next_begin), (2, 2));
    let r = s.pull(4, 32, 1, "*");
    assert_eq!(
        (count(&r.body), r.next_begin),
        (1, 5),
        "one record even above max bytes"
    );
    let r = s.pull(0, 0, 1 << 20, "*");
    assert_eq!(count(&r.body), 1, "max_msgs 0 reads one");
}

#[test]
fn record_at_only_where_a_record_starts_and_below_the_end() {
    let mut s = Store::new(1 << 16);
    s.put("A", 10);
    s.put("A", 10);
    let reader = s.reader();
    let first = reader.record_at(s.offsets[0]).unwrap();
    assert_eq!(first.len() as i64, s.offsets[1]);
    assert!(reader.record_at(s.offsets[1]).is_some());
    assert!(reader.record_at(s.offsets[1] + 4).is_none(), "mid-record");
    assert!(reader.record_at(-1).is_none());
    let short = CommitLogReader {
        files: &s.table,
        end: s.offsets[1] as u64,
    };
    assert!(
        short.record_at(s.offsets[1]).is_none(),
        "not dispatched yet"
    );
    assert!(short.bytes(0, i32::MAX).is_none());
}

#[test]
fn search_by_store_time_finds_both_boundaries() {
    let mut s = Store::new(1 << 16);
    let mut times = Vec::new();
    for _ in 0..5 {
        s.put("A", 10);
        let e = s.cq().unwrap().last_entry().unwrap();
        times.push(s.reader().store_timestamp(&e).unwrap());
        std::thread::sleep(std::time::Duration::from_millis(3));
    }
    let (cq, r) = (s.cq(), s.reader());
    assert_eq!(r.search_offset(cq, times[2], false), 2);
    assert_eq!(r.search_offset(cq, times[2], true), 2);
    assert_eq!(r.search_offset(cq, times[2] + 1, false), 3);
    assert_eq!(r.search_offset(cq, times[2] + 1, true), 2);
    assert_eq!(r.search_offset(cq, 0, false), 0);
    assert_eq!(r.search_offset(cq, i64::MAX, false), 5);
    assert_eq!(r.search_offset(cq, i64::MAX, true), 4);
    assert_eq!(r.search_offset(None, 5, true), 0);
    assert!(r.first_record_in_memory(cq, u64::MAX));
    assert!(!r.first_record_in_memory(cq, 0));
}

/// The scheduler's read: entries with their record bytes from an offset, at most N, with the
/// queue's bounds; nothing past the queue's end; no queue = empty.
#[test]
fn read_queue_returns_entries_with_records() {
    let mut s = Store::new(64 * 1024);
    for tag in ["a", "b", "c"] {
        s.put(tag, 10);
    }
    let r = s.reader();
    let slice = r.read_queue(s.cq(), 1, 10);
    assert_eq!((slice.min, slice.max), (0, 3));
    assert_eq!(
        slice
            .records
            .iter()
            .map(|q| q.queue_offset)
            .collect::<Vec<_>>(),
        vec![1, 2]
    );
    assert_eq!(slice.records[0].tags_code, tags_hash_code("b"));
    let bytes = slice.records[0].record.as_ref().unwrap();
    assert_eq!(Some(&bytes[..]), r.record_at(s.offsets[1]));
    assert_eq!(r.read_queue(s.cq(), 0, 2).records.len(), 2);
    assert!(r.read_queue(s.cq(), 3, 10).records.is_empty());
    assert_eq!(r.read_queue(None, 0, 10), QueueSlice::default());
}

impl Store {
    /// Flips one byte of the commit log on disk (the mapping sees it: one page cache).
    fn flip(&self, offset: u64) {
        use std::os::unix::fs::FileExt;
        let f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(
                self.dir
                    .path()
                    .join("commitlog")
                    .join(crate::store::paths::file_name(0)),
            )
            .unwrap();
        let mut b = [0u8; 1];
        f.read_exact_at(&mut b, offset).unwrap();
        f.write_all_at(&[b[0] ^ 0xFF], offset).unwrap();
    }
}

#[test]
fn a_record_with_a_damaged_body_is_skipped_not_served() {
    let mut s = Store::new(1 << 16);
    for _ in 0..3 {
        s.put("A", 40);
    }
    // A byte inside record 1's body (the topic and properties follow it).
    s.flip(s.offsets[2] as u64 - 20);
    let r = s.pull(0, 32, 1 << 20, "*");
    assert_eq!(r.status, GetStatus::Found);
    assert_eq!(count(&r.body), 2);
    assert_eq!(r.next_begin, 3);
    assert_eq!(r.damaged.len(), 1);
    assert_eq!((r.damaged[0].0, r.damaged[0].1), (1, s.offsets[1]));
    assert!(r.damaged[0].2.contains("CRC"), "{:?}", r.damaged);
    // A pull for one message starting at the damaged one gets the next good one.
    let r = s.pull(1, 1, 1 << 20, "*");
    assert_eq!(
        (r.status, r.next_begin, count(&r.body)),
        (GetStatus::Found, 3, 1)
    );
    assert_eq!(s.reader().record_at(s.offsets[1]), None, "not by id either");
    assert!(s.reader().record_at(s.offsets[0]).is_some());
}

#[test]
fn an_entry_that_does_not_name_its_record_is_skipped() {
    let mut s = Store::new(1 << 16);
    s.put("A", 40);
    s.put("A", 40);
    let size = (s.offsets[1] - s.offsets[0]) as i32;
    let bad = |first_queue_offset: i64, commit_log_offset: i64| {
        crate::store::consume_queue::DispatchRun {
            topic: "T".into(),
            queue_id: QUEUE,
            first_queue_offset,
            entries: smallvec::smallvec![CqEntry {
                commit_log_offset,
                size,
                tags_code: tags_hash_code("A"),
            }],
        }
    };
    // Mid-record, then the right bytes but another entry's record (queue offset 0, not 3).
    let (first, mid) = (s.offsets[0], s.offsets[0] + 10);
    s.reput.queues_mut().index(&bad(2, mid)).unwrap();
    s.reput.queues_mut().index(&bad(3, first)).unwrap();
    let r = s.pull(0, 32, 1 << 20, "*");
    assert_eq!(count(&r.body), 2, "the two real records");
    assert_eq!(r.next_begin, 4);
    let skipped: Vec<i64> = r.damaged.iter().map(|d| d.0).collect();
    assert_eq!(skipped, vec![2, 3]);
}

/// The commit log's first offset and its first record's store time (runtime info's
/// `commitLogMinOffset` and `earliestMessageTimeStamp`); -1 while nothing is stored.
#[test]
fn the_first_records_store_time_and_offset() {
    let mut s = Store::new(1 << 16);
    assert_eq!(s.reader().earliest_store_time(), -1);
    let before = crate::store::now_ms();
    s.put("TagA", 10);
    s.put("TagB", 10);
    let reader = s.reader();
    assert_eq!(reader.min_offset(), Some(0));
    let first = reader.earliest_store_time();
    assert!(
        first >= before && first <= crate::store::now_ms(),
        "{first}"
    );
}
