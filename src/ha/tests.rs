//! The HA wire on byte literals, a slave connection's stream over real mapped files, and
//! SYNC_MASTER's admission and release rules.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use tokio_util::codec::{Decoder, Encoder};

use super::master::{Reported, SlaveError, SlaveStream};
use super::sync::{Admitted, SlaveSync, MAX_GAP_NOT_IN_SYNC};
use super::wire::*;
use crate::store::mapped_file::MappedFile;

#[test]
fn reports_are_the_last_complete_eight_bytes_and_text_is_refused() {
    let mut c = ReportCodec;
    let mut buf = BytesMut::new();
    c.encode(100, &mut buf).unwrap();
    c.encode(250, &mut buf).unwrap();
    buf.extend_from_slice(&[0, 0, 0]);
    assert_eq!(
        c.decode(&mut buf).unwrap(),
        Some(250),
        "the newest report wins"
    );
    assert_eq!(buf.len(), 3, "a partial report waits");
    assert_eq!(c.decode(&mut buf).unwrap(), None);
    let mut http = BytesMut::from(&b"GET / HTTP/1.1\r\n"[..]);
    assert!(matches!(
        c.decode(&mut http),
        Err(HaWireError::BadReport(_))
    ));
    let mut negative = BytesMut::from(&(-5i64).to_be_bytes()[..]);
    assert!(matches!(
        c.decode(&mut negative),
        Err(HaWireError::BadReport(-5))
    ));
}

#[test]
fn transfers_decode_one_byte_at_a_time_and_bad_headers_are_refused() {
    let mut c = TransferCodec { max_body: 1024 };
    let mut wire = transfer_header(4096, 3).to_vec();
    wire.extend_from_slice(b"abc");
    wire.extend_from_slice(&transfer_header(4099, 0));
    let mut buf = BytesMut::new();
    let mut got = Vec::new();
    for b in wire {
        buf.extend_from_slice(&[b]);
        while let Some(t) = c.decode(&mut buf).unwrap() {
            got.push((t.offset, t.bytes.to_vec()));
        }
    }
    assert_eq!(got, vec![(4096, b"abc".to_vec()), (4099, vec![])]);
    let mut big = BytesMut::from(&transfer_header(0, 2048)[..]);
    assert!(matches!(
        c.decode(&mut big),
        Err(HaWireError::BadHeader { size: 2048, .. })
    ));
    let mut text = BytesMut::from(&b"HTTP/1.1 200 OK\r\n"[..]);
    assert!(c.decode(&mut text).is_err());
}

/// Two 4 KiB files: the first full (readable to its end), the second readable to 100 bytes.
fn table(dir: &std::path::Path) -> Vec<Arc<MappedFile>> {
    let mut a = MappedFile::create(&dir.join("a"), 0, 4096).unwrap();
    a.write(0, &[1u8; 4096]).unwrap();
    a.set_readable_end(4096);
    let mut b = MappedFile::create(&dir.join("b"), 4096, 4096).unwrap();
    b.write(0, &[2u8; 100]).unwrap();
    b.set_readable_end(100);
    vec![Arc::new(a), Arc::new(b)]
}

#[test]
fn a_new_slave_starts_at_the_first_file_and_chunks_never_cross_files() {
    let d = tempfile::tempdir().unwrap();
    let t = table(d.path());
    let now = Instant::now();
    let mut s = SlaveStream::new(now);
    assert_eq!(
        s.next_chunk(&t, 1000, now),
        Ok(None),
        "nothing before the first report"
    );
    assert_eq!(s.report(0, 0, 4196, now), Ok(Reported::Started { from: 0 }));
    let (off, bytes) = s.next_chunk(&t, 4000, now).unwrap().unwrap();
    assert_eq!((off, bytes.len()), (0, 4000));
    let (off, bytes) = s.next_chunk(&t, 4000, now).unwrap().unwrap();
    assert_eq!((off, bytes.len()), (4000, 96));
    let (off, bytes) = s.next_chunk(&t, 4000, now).unwrap().unwrap();
    assert_eq!((off, bytes.len()), (4096, 100));
    assert_eq!(s.next_chunk(&t, 1000, now), Ok(None), "caught up");

    let mut s = SlaveStream::new(now);
    assert_eq!(
        s.report(4000, 0, 4196, now),
        Ok(Reported::Started { from: 4000 })
    );
    let (off, bytes) = s.next_chunk(&t, 1000, now).unwrap().unwrap();
    assert_eq!(
        (off, bytes.len()),
        (4000, 96),
        "the rest of the first file only"
    );
    let (off, bytes) = s.next_chunk(&t, 64, now).unwrap().unwrap();
    assert_eq!((off, bytes.len()), (4096, 64), "cut to the batch size");
    assert_eq!(s.report(4160, 0, 4196, now), Ok(Reported::Acked));
    assert_eq!(s.lag_bytes(4196), 36);
    assert_eq!(
        s.report(4100, 0, 4196, now),
        Err(SlaveError::WentBack {
            from: 4160,
            to: 4100
        })
    );
}

#[test]
fn gone_offsets_ahead_slaves_heartbeats_and_lag_in_time() {
    let d = tempfile::tempdir().unwrap();
    let t = table(d.path());
    let now = Instant::now();
    let mut s = SlaveStream::new(now);
    assert_eq!(
        s.report(100, 4096, 4196, now),
        Err(SlaveError::OffsetGone {
            asked: 100,
            first: 4096
        })
    );
    let mut s = SlaveStream::new(now);
    assert_eq!(
        s.report(9000, 0, 4196, now),
        Ok(Reported::Ahead {
            slave: 9000,
            master: 4196
        })
    );
    assert_eq!(
        s.next_chunk(&t, 1000, now),
        Ok(None),
        "waits for the master to pass it"
    );
    assert_eq!(s.heartbeat_due(now, Duration::from_secs(5)), Some(9000));
    assert_eq!(
        s.heartbeat_due(now + Duration::from_secs(1), Duration::from_secs(5)),
        None
    );
    assert_eq!(
        s.heartbeat_due(now + Duration::from_secs(6), Duration::from_secs(5)),
        Some(9000)
    );
    assert_eq!(
        s.report(9000, 0, 4196, now),
        Ok(Reported::Acked),
        "logged once"
    );

    let mut s = SlaveStream::new(now);
    s.report(10, 0, 100, now).unwrap();
    let later = now + Duration::from_secs(2);
    s.report(50, 0, 200, later).unwrap();
    assert_eq!(
        s.lag_time(200, later),
        Duration::from_secs(2),
        "as of the start"
    );
    let later2 = now + Duration::from_secs(3);
    s.report(100, 0, 300, later2).unwrap();
    assert_eq!(
        s.lag_time(300, later2),
        Duration::from_secs(3),
        "has what the master had at `now`"
    );
    let later3 = now + Duration::from_secs(4);
    s.report(200, 0, 300, later3).unwrap();
    assert_eq!(
        s.lag_time(300, later3),
        Duration::from_secs(2),
        "has what the master had at `later`"
    );
    s.report(300, 0, 300, later3).unwrap();
    assert_eq!(s.lag_time(300, later3), Duration::ZERO);
}

#[test]
fn sync_master_waits_for_an_ack_and_refuses_without_a_slave() {
    let now = Instant::now();
    let mut s: SlaveSync<u32> = SlaveSync::new(Duration::from_secs(3));
    assert_eq!(
        s.admit(100, now, 1),
        Admitted::NotAvailable(1),
        "no slave connected"
    );
    assert!(s.acked(Some(0)).is_empty());
    assert_eq!(
        s.admit(MAX_GAP_NOT_IN_SYNC + 10, now, 2),
        Admitted::NotAvailable(2),
        "too far behind"
    );
    assert_eq!(s.admit(100, now, 3), Admitted::Waiting);
    assert_eq!(
        s.admit(200, now + Duration::from_secs(1), 4),
        Admitted::Waiting
    );
    assert_eq!(s.acked(Some(150)), vec![3]);
    assert_eq!(
        s.admit(120, now, 5),
        Admitted::Done(5),
        "already acknowledged"
    );
    assert!(s.acked(None).is_empty(), "a lost slave releases nothing");
    assert_eq!(s.expire(now + Duration::from_secs(3)), Vec::<u32>::new());
    assert_eq!(s.expire(now + Duration::from_secs(4)), vec![4]);
    assert!(s.is_empty());
}

#[test]
fn slave_sync_replaces_tables_by_data_version_and_merges_offsets() {
    use super::slave_sync::*;
    use crate::consumer_offsets::ConsumerOffsetTable;
    use crate::topic::{TopicConfig, TopicTable};
    let mut master = TopicTable::default();
    master.insert(TopicConfig::new("T", 4));
    master.data_version.counter = 3;
    let body = serde_json::to_vec(&master).unwrap();
    let decoded = decode_topics(&body).unwrap();
    assert_eq!(decoded, master);
    let same = master.clone();
    assert_eq!(
        topics_to_apply(&same, decoded.clone()),
        None,
        "same version: kept"
    );
    assert_eq!(
        topics_to_apply(&TopicTable::default(), decoded.clone()),
        Some(master.clone())
    );
    // An entry filed under another name is refused, not applied.
    let bad = br#"{"topicConfigTable":{"A":{"topicName":"B","readQueueNums":1,"writeQueueNums":1,"perm":6}}}"#;
    assert!(decode_topics(bad).is_err());
    assert!(decode_topics(b"not json").is_err());

    let mut local = ConsumerOffsetTable::default();
    local.commit("g", "Only", 0, 5);
    local.commit("g", "T", 0, 1);
    let mut remote = ConsumerOffsetTable::default();
    remote.commit("g", "T", 0, 9);
    assert!(merge_offsets(&mut local, remote.clone()));
    assert_eq!(local.get("g", "T", 0), Some(9));
    assert_eq!(
        local.get("g", "Only", 0),
        Some(5),
        "the slave's own entries stay"
    );
    assert!(!merge_offsets(&mut local, remote), "nothing new");
    let offsets = decode_offsets(br#"{"offsetTable":{"T@g":{"0":3}}}"#).unwrap();
    assert_eq!(offsets.get("g", "T", 0), Some(3));
    let delay = decode_delay_offsets(br#"{"offsetTable":{1:5,3:0}}"#).unwrap();
    assert_eq!(delay.iter().collect::<Vec<_>>(), vec![(1, 5), (3, 0)]);
    assert!(decode_groups(b"[]").is_err());
}

#[test]
fn pull_suggestions_follow_the_role_and_the_consumer_lag() {
    use super::pull::{PullRole, Suggestion};
    let s = |broker_id, retry_at_master| Suggestion {
        broker_id,
        retry_at_master,
    };
    let master = PullRole::default();
    assert_eq!(master.suggest(10, 100, true), s(0, false));
    assert_eq!(
        master.suggest(500, 100, true),
        s(0, false),
        "slave reads off: always the master"
    );
    let reads = PullRole {
        slave_read_enable: true,
        ..master
    };
    assert_eq!(
        reads.suggest(500, 100, true),
        s(1, false),
        "far behind: the slow-consumer broker"
    );
    assert_eq!(reads.suggest(10, 100, true), s(0, false));
    let slave = PullRole {
        slave: true,
        master_online: true,
        ..PullRole::default()
    };
    assert_eq!(
        slave.suggest(10, 100, true),
        s(0, false),
        "served, then back to the master"
    );
    assert_eq!(
        slave.suggest(10, 100, false),
        s(0, true),
        "nothing here: retry at the master"
    );
    let orphan = PullRole {
        master_online: false,
        ..slave
    };
    assert_eq!(
        orphan.suggest(10, 100, false),
        s(0, false),
        "master down: the slave serves"
    );
    let slow_slave = PullRole {
        slave_read_enable: true,
        ..slave
    };
    assert_eq!(
        slow_slave.suggest(500, 100, false),
        s(1, false),
        "a slow consumer stays"
    );
}

#[test]
fn a_java_masters_consumer_offsets_with_bare_integer_keys_decode() {
    // GET_ALL_CONSUMER_OFFSET (43) from a stock Java 5.3.3 master, as fastjson writes it.
    let body = br#"{"dataVersion":{"counter":3,"stateVersion":0,"timestamp":1},"offsetTable":{"T@G":{0:2,1:7}}}"#;
    let table = super::slave_sync::decode_offsets(body).unwrap();
    assert_eq!(table.get("G", "T", 0), Some(2));
    assert_eq!(table.get("G", "T", 1), Some(7));
}

/// ASYNC_MASTER coalescing: the first chunk goes at once; the next waits out the interval while
/// less than a batch is unsent, and goes at once when a full batch is ready or the interval is
/// over; with nothing unsent there is nothing to wait for.
#[test]
fn chunks_coalesce_to_one_per_interval_unless_a_batch_is_ready() {
    let d = tempfile::tempdir().unwrap();
    let t = table(d.path());
    let t0 = Instant::now();
    let ms = Duration::from_millis;
    let mut s = SlaveStream::new(t0);
    s.report(0, 0, 4196, t0).unwrap();
    assert_eq!(
        s.coalesce_wait(4196, 1000, ms(2), t0),
        None,
        "no chunk sent yet"
    );
    s.next_chunk(&t, 4000, t0).unwrap().unwrap();
    assert_eq!(s.unsent(4196), 196);
    let t1 = t0 + ms(1);
    assert_eq!(s.coalesce_wait(4196, 1000, ms(2), t1), Some(ms(1)));
    assert_eq!(
        s.coalesce_wait(4196, 196, ms(2), t1),
        None,
        "a full batch waits for nothing"
    );
    assert_eq!(
        s.coalesce_wait(4196, 1000, ms(2), t0 + ms(2)),
        None,
        "interval over"
    );
    assert_eq!(
        s.coalesce_wait(4196, 1000, Duration::ZERO, t1),
        None,
        "SYNC_MASTER"
    );
    assert_eq!(
        s.coalesce_wait(4000, 1000, ms(2), t1),
        None,
        "nothing unsent"
    );
}
