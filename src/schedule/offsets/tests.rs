use super::*;

#[test]
fn java_formats_are_read() {
    // 4.9.8: no dataVersion, unquoted keys.
    let t = DelayOffsets::decode("{\"offsetTable\":{1:5,3:0}}").unwrap();
    assert_eq!(t.iter().collect::<Vec<_>>(), vec![(1, 5), (3, 0)]);
    // 5.x pretty (tabs), and quoted keys.
    let text = "{\n\t\"dataVersion\":{\n\t\t\"counter\":7,\n\t\t\"stateVersion\":0,\n\t\t\"timestamp\":1700000000000\n\t},\n\t\"offsetTable\":{\n\t\t2:10,\n\t\t18:4\n\t}\n}";
    let t = DelayOffsets::decode(text).unwrap();
    assert_eq!(t.get(2), Some(10));
    assert_eq!(t.get(18), Some(4));
    assert_eq!(t.data_version.counter, 7);
    let t = DelayOffsets::decode("{\"offsetTable\":{\"4\":9}}").unwrap();
    assert_eq!(t.get(4), Some(9));
    assert!(DelayOffsets::decode("{\"offsetTable\":{\"x\":9}}").is_err());
    assert!(DelayOffsets::decode("{").is_err());
}

#[test]
fn written_as_java_writes_and_read_back() {
    let mut t = DelayOffsets::default();
    assert!(t.set(3, 0));
    assert!(t.set(1, 5));
    assert!(!t.set(1, 5));
    t.next_version(1_700_000_000_000);
    assert_eq!(
        t.encode(false),
        "{\"dataVersion\":{\"counter\":1,\"stateVersion\":0,\"timestamp\":1700000000000},\"offsetTable\":{1:5,3:0}}"
    );
    assert_eq!(DelayOffsets::decode(&t.encode(true)).unwrap(), t);
    assert_eq!(DelayOffsets::decode(&t.encode(false)).unwrap(), t);
    let empty = DelayOffsets::default();
    assert!(empty.encode(false).ends_with("\"offsetTable\":{}}"));
    assert_eq!(DelayOffsets::decode(&empty.encode(true)).unwrap(), empty);
}

#[test]
fn file_round_trip_and_missing_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config/delayOffset.json");
    assert_eq!(DelayOffsets::load(&path).unwrap(), DelayOffsets::default());
    let mut t = DelayOffsets::default();
    t.set(2, 42);
    t.save(&path).unwrap();
    assert_eq!(DelayOffsets::load(&path).unwrap(), t);
    std::fs::write(&path, "nonsense").unwrap();
    let e = DelayOffsets::load(&path).unwrap_err().to_string();
    assert!(e.contains("delayOffset.json"), "{e}");
}

#[test]
fn clamped_into_each_queue() {
    let mut t = DelayOffsets::default();
    t.set(1, 2);
    t.set(2, 50);
    t.set(3, 7);
    t.set(4, 1);
    let changed = t.clamp(|level| match level {
        1 => Some((5, 9)),
        2 => Some((0, 10)),
        3 => Some((0, 10)),
        _ => None,
    });
    assert_eq!(changed, vec![(1, 2, 5), (2, 50, 10)]);
    assert_eq!(
        t.iter().collect::<Vec<_>>(),
        vec![(1, 5), (2, 10), (3, 7), (4, 1)]
    );
}
