//! Unit tests of the consume queue: entries, files, growth, recovery and finalize.

use super::*;
use proptest::prelude::*;

fn entry(i: u64) -> CqEntry {
    CqEntry {
        commit_log_offset: (i * 100) as i64,
        size: 100,
        tags_code: i as i64 - 3,
    }
}

/// A queue started at 1000 (files of 300 entries: its first file starts at 900) reads from
/// 1000, survives a reopen (the blank entries before 1000 are neither taken for the end nor
/// read: the minimum is 1000 again), and retention leaves that minimum; a queue with entries
/// cannot be restarted.
#[test]
fn start_at_begins_a_rebuilt_queue_at_its_first_surviving_record() {
    let d = tempfile::tempdir().unwrap();
    let mut q = ConsumeQueue::open(d.path().join("q"), CqLayout::new(300)).unwrap();
    q.start_at(1000).unwrap();
    assert_eq!((q.min_offset(), q.max_offset()), (1000, 1000));
    q.append(1000, entry(1000)).unwrap();
    q.append(1001, entry(1001)).unwrap();
    assert_eq!(q.get(999), None);
    assert_eq!(q.get(1001), Some(entry(1001)));
    q.flush().unwrap();
    assert!(q
        .start_at(5)
        .unwrap_err()
        .to_string()
        .contains("holds entries"));
    drop(q);

    let mut q = ConsumeQueue::open(d.path().join("q"), CqLayout::new(300)).unwrap();
    assert_eq!(q.max_offset(), 1002);
    assert_eq!(q.min_offset(), 1000, "the blanks are below the minimum");
    q.truncate_from_physical(1002 * 100).unwrap();
    assert_eq!(
        q.max_offset(),
        1002,
        "blank entries are not records past the end"
    );
    q.delete_below_physical(1000 * 100).unwrap();
    assert_eq!((q.min_offset(), q.max_offset()), (1000, 1002));
    assert_eq!(q.get(1000), Some(entry(1000)));
    q.append(1002, entry(1002)).unwrap();
}

#[test]
fn entry_layout() {
    let e = CqEntry {
        commit_log_offset: 0x0102030405060708,
        size: 0x0A0B0C0D,
        tags_code: -1,
    };
    let b = e.encode();
    assert_eq!(&b[..8], &[1, 2, 3, 4, 5, 6, 7, 8]);
    assert_eq!(&b[8..12], &[0xA, 0xB, 0xC, 0xD]);
    assert_eq!(&b[12..], &[0xFF; 8]);
    assert_eq!(CqEntry::decode(&b), e);
}

#[test]
fn retention_removes_whole_files_below_and_moves_the_min() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().join("T").join("0");
    let mut q = ConsumeQueue::open(dir.clone(), CqLayout::new(4)).unwrap();
    for i in 0..10 {
        q.append(i, entry(i)).unwrap(); // entry i's record is at commit-log offset i * 100
    }
    // Records below 650 are gone: file [0, 4) entirely, file [4, 8) up to index 6.
    assert_eq!(q.delete_below_physical(650).unwrap(), 1);
    assert_eq!((q.min_offset(), q.max_offset(), q.file_count()), (7, 10, 2));
    assert_eq!((q.get(6), q.get(7)), (None, Some(entry(7))));
    // Everything gone: the last file stays so the max offset survives.
    assert_eq!(q.delete_below_physical(10_000).unwrap(), 1);
    assert_eq!(
        (q.min_offset(), q.max_offset(), q.file_count()),
        (10, 10, 1)
    );
    q.append(10, entry(10)).unwrap();
    assert_eq!((q.min_offset(), q.get(10)), (10, Some(entry(10))));
    drop(q);
    let q = ConsumeQueue::open(dir, CqLayout::new(4)).unwrap();
    assert_eq!(
        (q.min_offset(), q.max_offset()),
        (8, 11),
        "after a restart the file start is the min until retention runs again"
    );
}

#[test]
fn append_get_restart() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().join("T").join("0");
    let mut q = ConsumeQueue::open(dir.clone(), CqLayout::new(4)).unwrap();
    assert_eq!(
        (q.min_offset(), q.max_offset(), q.last_entry()),
        (0, 0, None)
    );
    assert!(q.get(0).is_none());
    assert!(q.append(1, entry(1)).is_err());
    for i in 0..10 {
        q.append(i, entry(i)).unwrap();
    }
    assert!(q.append(3, entry(3)).is_err());
    assert!(q
        .append(
            10,
            CqEntry {
                size: 0,
                ..entry(10)
            }
        )
        .is_err());
    assert_eq!(q.file_count(), 3);
    assert_eq!(q.get(7), Some(entry(7)));
    assert_eq!(q.get(10), None);
    q.flush().unwrap();
    drop(q);

    let names: Vec<u64> = paths::list_files(&dir)
        .unwrap()
        .into_iter()
        .map(|(o, _)| o)
        .collect();
    assert_eq!(names, vec![0, 80, 160]);

    let mut q = ConsumeQueue::open(dir.clone(), CqLayout::new(4)).unwrap();
    assert_eq!((q.min_offset(), q.max_offset()), (0, 10));
    assert_eq!(q.last_entry(), Some(entry(9)));
    for i in 10..12 {
        q.append(i, entry(i)).unwrap();
    }
    drop(q);
    // Exactly full last file: end is the file end.
    let mut q = ConsumeQueue::open(dir.clone(), CqLayout::new(4)).unwrap();
    assert_eq!(q.max_offset(), 12);
    q.append(12, entry(12)).unwrap();
    assert_eq!(q.file_count(), 4);
    q.flush().unwrap();
}

#[test]
fn deleted_prefix_and_empty_trailing_file() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().to_path_buf();
    let mut q = ConsumeQueue::open(dir.clone(), CqLayout::new(4)).unwrap();
    for i in 0..9 {
        q.append(i, entry(i)).unwrap();
    }
    drop(q);
    std::fs::remove_file(dir.join(paths::file_name(0))).unwrap();
    std::fs::write(dir.join(paths::file_name(240)), b"").unwrap();
    let q = ConsumeQueue::open(dir.clone(), CqLayout::new(4)).unwrap();
    assert!(!dir.join(paths::file_name(240)).exists());
    assert_eq!((q.min_offset(), q.max_offset()), (4, 9));
    assert_eq!(q.get(3), None);
    assert_eq!(q.get(4), Some(entry(4)));
    // A gap is corruption.
    drop(q);
    std::fs::remove_file(dir.join(paths::file_name(80))).unwrap();
    std::fs::write(dir.join(paths::file_name(0)), [0u8; 80]).unwrap();
    let e = ConsumeQueue::open(dir.clone(), CqLayout::new(4)).unwrap_err();
    assert!(e.to_string().contains("gap"), "{e}");
}

#[test]
fn truncation() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().to_path_buf();
    let mut q = ConsumeQueue::open(dir.clone(), CqLayout::new(4)).unwrap();
    for i in 0..11 {
        q.append(i, entry(i)).unwrap();
    }
    // Record 5 spans [500, 600): keep it at end 600, drop it at 599.
    q.truncate_from_physical(1_000_000).unwrap();
    assert_eq!(q.max_offset(), 11);
    q.truncate_from_physical(600).unwrap();
    assert_eq!(q.max_offset(), 6);
    assert_eq!(q.file_count(), 2);
    q.truncate_from_physical(599).unwrap();
    assert_eq!(q.max_offset(), 5);
    assert_eq!(q.last_entry(), Some(entry(4)));
    assert_eq!(q.get(5), None);
    drop(q);
    let mut q = ConsumeQueue::open(dir.clone(), CqLayout::new(4)).unwrap();
    assert_eq!(q.max_offset(), 5);
    assert_eq!(paths::list_files(&dir).unwrap().len(), 2);
    q.append(5, entry(5)).unwrap();
    // Truncate at a file boundary: the later file is removed entirely.
    q.truncate_from_physical(400).unwrap();
    assert_eq!((q.max_offset(), q.file_count()), (4, 1));
    q.truncate_from_physical(0).unwrap();
    assert_eq!((q.min_offset(), q.max_offset(), q.file_count()), (0, 0, 1));
    drop(q);
    let mut q = ConsumeQueue::open(dir.clone(), CqLayout::new(4)).unwrap();
    assert_eq!(q.max_offset(), 0);
    for i in 0..6 {
        q.append(i, entry(i)).unwrap();
    }
    assert_eq!(q.get(5), Some(entry(5)));
}

proptest! {
    #[test]
    fn entry_round_trip(o in any::<i64>(), s in any::<i32>(), t in any::<i64>()) {
        let e = CqEntry { commit_log_offset: o, size: s, tags_code: t };
        prop_assert_eq!(CqEntry::decode(&e.encode()), e);
    }

    #[test]
    fn queue_round_trip(n in 0u64..40, per_file in 1u64..7, cut in 0i64..5000) {
        let d = tempfile::tempdir().unwrap();
        let mut q = ConsumeQueue::open(d.path().to_path_buf(), CqLayout::new(per_file)).unwrap();
        for i in 0..n { q.append(i, entry(i)).unwrap(); }
        q.truncate_from_physical(cut).unwrap();
        let expect = n.min((cut / 100).max(0) as u64);
        prop_assert_eq!(q.max_offset(), expect);
        drop(q);
        let q = ConsumeQueue::open(d.path().to_path_buf(), CqLayout::new(per_file)).unwrap();
        prop_assert_eq!(q.max_offset(), expect);
        for i in 0..expect { prop_assert_eq!(q.get(i), Some(entry(i))); }
    }
}

fn disk_len(dir: &Path, start_byte: u64) -> u64 {
    std::fs::metadata(dir.join(paths::file_name(start_byte)))
        .unwrap()
        .len()
}

/// Files of 300 entries (6,000 bytes) starting at 64 bytes: the first file doubles 64 -> 128 ->
/// ... -> 4096 -> 6000 (the full size, exactly) as entries arrive, every entry stays readable after
/// each growth, and the second file starts small again under its RocketMQ name.
#[test]
fn a_new_file_starts_small_and_doubles_to_the_full_size() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().join("q");
    let layout = CqLayout::new(300).with_initial_bytes(64);
    let mut q = ConsumeQueue::open(dir.clone(), layout).unwrap();
    let mut lengths = vec![];
    for i in 0..310 {
        q.append(i, entry(i)).unwrap();
        let len = disk_len(&dir, 0);
        if lengths.last() != Some(&len) {
            lengths.push(len);
        }
        // Reads right after a growth (and of every earlier entry) see the entries.
        assert_eq!(q.get(i), Some(entry(i)));
        assert_eq!(q.get(i / 2), Some(entry(i / 2)));
    }
    assert_eq!(
        lengths,
        [64, 128, 256, 512, 1024, 2048, 4096, 6000],
        "doublings, capped at the full size"
    );
    assert_eq!(q.file_count(), 2);
    assert_eq!(disk_len(&dir, 6000), 256, "10 entries: 64 -> 128 -> 256");
    assert_eq!(
        q.get(310),
        None,
        "nothing past the end, nothing past the mapping"
    );
    for i in 0..310 {
        assert_eq!(q.get(i), Some(entry(i)));
    }
    q.flush().unwrap();
}

/// The default start is 64 KiB, so a queue of one message costs 64 KiB on disk, not 6 MB.
#[test]
fn one_entry_costs_the_initial_bytes_not_the_full_file() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().join("q");
    let mut q = ConsumeQueue::open(dir.clone(), CqLayout::new(300_000)).unwrap();
    q.append(0, entry(0)).unwrap();
    assert_eq!(disk_len(&dir, 0), DEFAULT_CQ_INITIAL_BYTES);
    use std::os::unix::fs::MetadataExt;
    let blocks = std::fs::metadata(dir.join(paths::file_name(0)))
        .unwrap()
        .blocks();
    assert!(
        blocks * 512 >= DEFAULT_CQ_INITIAL_BYTES,
        "allocated, not sparse: {blocks} blocks"
    );
}

/// A short last file is recovered: its entries are found whether zeros or the end of the file
/// follow them, appends continue and grow it; a short file that is *not* the last is damage.
#[test]
fn recovery_accepts_a_short_last_file() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().join("q");
    let layout = CqLayout::new(300).with_initial_bytes(64);
    let mut q = ConsumeQueue::open(dir.clone(), layout).unwrap();
    for i in 0..20 {
        q.append(i, entry(i)).unwrap();
    }
    q.flush().unwrap();
    drop(q);
    assert_eq!(disk_len(&dir, 0), 512, "20 entries = 400 bytes, then zeros");
    let mut q = ConsumeQueue::open(dir.clone(), layout).unwrap();
    assert_eq!(q.max_offset(), 20);
    assert_eq!(q.get(19), Some(entry(19)));
    for i in 20..30 {
        q.append(i, entry(i)).unwrap();
    }
    assert_eq!(disk_len(&dir, 0), 1024);
    drop(q);

    // Entries up to the end of the file (an odd length: a torn last entry is not an entry).
    let file = dir.join(paths::file_name(0));
    let f = std::fs::OpenOptions::new().write(true).open(&file).unwrap();
    f.set_len(25 * 20 + 7).unwrap();
    drop(f);
    let q = ConsumeQueue::open(dir.clone(), layout).unwrap();
    assert_eq!(q.max_offset(), 25);
    assert_eq!(q.get(24), Some(entry(24)));
    assert_eq!(q.get(25), None);
    drop(q);

    // A short file followed by another one was never written by this store.
    std::fs::write(dir.join(paths::file_name(6000)), entry(300).encode()).unwrap();
    let e = ConsumeQueue::open(dir.clone(), layout).unwrap_err();
    assert!(
        e.to_string().contains("only the last file may be shorter"),
        "{e}"
    );
}

/// Truncation and retention work on grown files; a queue restarted at an index far into its
/// first file (`start_at`) grows that file to hold the blank entries.
#[test]
fn truncate_and_start_at_on_short_files() {
    let d = tempfile::tempdir().unwrap();
    let layout = CqLayout::new(300).with_initial_bytes(64);
    let mut q = ConsumeQueue::open(d.path().join("a"), layout).unwrap();
    for i in 0..50 {
        q.append(i, entry(i)).unwrap();
    }
    q.truncate_from_physical(10 * 100).unwrap();
    assert_eq!(q.max_offset(), 10);
    drop(q);
    let q = ConsumeQueue::open(d.path().join("a"), layout).unwrap();
    assert_eq!(q.max_offset(), 10);

    let dir = d.path().join("b");
    let mut q = ConsumeQueue::open(dir.clone(), layout).unwrap();
    q.start_at(1000).unwrap();
    q.append(1000, entry(1000)).unwrap();
    assert_eq!(
        disk_len(&dir, 900 * 20),
        2048,
        "100 blank entries + 1: 2020 bytes"
    );
    drop(q);
    let q = ConsumeQueue::open(dir, layout).unwrap();
    assert_eq!(q.max_offset(), 1001);
}

/// `finalize_dir` extends every short file to the full size (what a Java broker loads), keeps the
/// entries, leaves full files and foreign names alone, and a second run has nothing to do.
#[test]
fn finalize_extends_short_files_to_full_size() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path();
    let layout = CqLayout::new(300).with_initial_bytes(64);
    for (topic, queue_id, n) in [("A", 0, 5u64), ("A", 1, 400), ("B", 3, 1)] {
        let mut q =
            ConsumeQueue::open(paths::consume_queue_dir(root, topic, queue_id), layout).unwrap();
        for i in 0..n {
            q.append(i, entry(i)).unwrap();
        }
    }
    std::fs::write(root.join("consumequeue/A/0/notes.txt"), "x").unwrap();
    let done = finalize_dir(root, layout).unwrap();
    assert_eq!(
        done,
        Finalized {
            files: 4,
            extended: 3
        },
        "A/1's first file was full"
    );
    for dir in paths::consume_queue_dirs(root).unwrap() {
        for (_, path) in paths::list_files(&dir.path).unwrap() {
            assert_eq!(std::fs::metadata(&path).unwrap().len(), 6000, "{path:?}");
        }
    }
    let q = ConsumeQueue::open(paths::consume_queue_dir(root, "A", 1), layout).unwrap();
    assert_eq!(q.max_offset(), 400);
    assert_eq!(q.get(399), Some(entry(399)));
    let q = ConsumeQueue::open(paths::consume_queue_dir(root, "A", 0), layout).unwrap();
    assert_eq!(q.max_offset(), 5);
    assert_eq!(finalize_dir(root, layout).unwrap().extended, 0);
    assert_eq!(
        std::fs::read_to_string(root.join("consumequeue/A/0/notes.txt")).unwrap(),
        "x"
    );
    assert_eq!(
        finalize_dir(&root.join("none"), layout).unwrap(),
        Finalized::default()
    );
}

/// Found by the `recovery_scan` fuzz target: a queue offset whose byte offset does not fit
/// wrapped around (a file named by the wrapped offset, entries unreadable); now refused.
#[test]
fn a_queue_offset_without_a_byte_offset_is_refused() {
    let d = tempfile::tempdir().unwrap();
    let mut q = ConsumeQueue::open(d.path().join("q"), CqLayout::new(300)).unwrap();
    for index in [MAX_QUEUE_OFFSET + 1, 8_101_786_613_639_544_832, u64::MAX] {
        let err = q.start_at(index).unwrap_err().to_string();
        assert!(err.contains("past the largest"), "{err}");
    }
    assert_eq!((q.file_count(), q.max_offset()), (0, 0));
    q.start_at(MAX_QUEUE_OFFSET).unwrap();
    q.append(MAX_QUEUE_OFFSET, entry(1)).unwrap();
    assert_eq!(q.get(MAX_QUEUE_OFFSET), Some(entry(1)));
    let err = q.append(MAX_QUEUE_OFFSET + 1, entry(2)).unwrap_err();
    assert!(err.to_string().contains("past the largest"), "{err}");
}

/// `clear` (a deleted topic): every entry goes, the next offset stays (on reopen too), whether
/// the next offset lies inside the last file or exactly at its end; appends continue there.
#[test]
fn clear_drops_every_entry_and_keeps_the_next_offset() {
    for n in [650u64, 600, 7] {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().join("q");
        let mut q = ConsumeQueue::open(dir.clone(), CqLayout::new(300)).unwrap();
        for i in 0..n {
            q.append(i, entry(i)).unwrap();
        }
        // What a crash during an earlier clear leaves: ignored on open, replaced by this clear.
        let start = (n * CQ_ENTRY_SIZE as u64) / 6000 * 6000;
        let stale = dir.join(format!("{}.clearing", paths::file_name(start)));
        std::fs::write(&stale, b"stale").unwrap();
        q.clear().unwrap();
        assert_eq!((q.min_offset(), q.max_offset()), (n, n), "n={n}");
        assert_eq!(q.get(n - 1), None);
        assert_eq!(q.file_count(), 1);
        let names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(
            names.len(),
            1,
            "n={n}: only the new file, no temporary left: {names:?}"
        );
        q.append(n, entry(n)).unwrap();
        q.flush().unwrap();
        drop(q);

        let q = ConsumeQueue::open(dir, CqLayout::new(300)).unwrap();
        assert_eq!(
            (q.min_offset(), q.max_offset()),
            (n, n + 1),
            "n={n} reopened"
        );
        assert_eq!(q.get(n), Some(entry(n)));
        assert_eq!(q.get(n - 1), None);
    }
}

#[test]
fn clearing_an_empty_queue_removes_its_files() {
    let d = tempfile::tempdir().unwrap();
    let mut q = ConsumeQueue::open(d.path().join("q"), CqLayout::new(300)).unwrap();
    q.clear().unwrap();
    assert!(q.is_cleared());
    assert_eq!((q.min_offset(), q.max_offset(), q.file_count()), (0, 0, 0));
}
