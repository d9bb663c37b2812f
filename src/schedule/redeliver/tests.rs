use bytes::BytesMut;

use super::*;
use crate::store::message::{decode, encode, properties_to_string, sys_flag, Decoded};

fn stored(props: &str) -> BytesMut {
    let m = MessageToStore {
        topic: super::super::SCHEDULE_TOPIC.into(),
        queue_id: 1,
        flag: 7,
        body: bytes::Bytes::from_static(b"hello"),
        properties: props.into(),
        sys_flag: sys_flag::COMPRESSED,
        born_timestamp: 1_700_000_000_000,
        born_host: "10.0.0.7:4000".parse().unwrap(),
        store_host: "10.0.0.1:10911".parse().unwrap(),
        reconsume_times: 2,
        prepared_transaction_offset: 0,
    };
    let mut out = BytesMut::new();
    encode(&m, &mut out).unwrap();
    out
}

fn view(bytes: &[u8]) -> RecordView<'_> {
    match decode(bytes, true).unwrap() {
        Decoded::Record(r) => r,
        other => panic!("{other:?}"),
    }
}

#[test]
fn back_to_the_real_topic_without_delay() {
    let props = properties_to_string([
        ("TAGS", "tagA"),
        ("KEYS", "k1"),
        ("UNIQ_KEY", "U1"),
        ("DELAY", "2"),
        ("REAL_TOPIC", "Orders"),
        ("REAL_QID", "5"),
    ]);
    let bytes = stored(&props);
    let store: SocketAddr = "127.0.0.1:10911".parse().unwrap();
    let m = to_real_topic(&view(&bytes), &["DELAY"], store).unwrap();
    assert_eq!((m.topic.as_str(), m.queue_id), ("Orders", 5));
    assert_eq!(&m.body[..], b"hello");
    assert_eq!(
        (m.flag, m.sys_flag, m.reconsume_times),
        (7, sys_flag::COMPRESSED, 2)
    );
    assert_eq!(m.born_timestamp, 1_700_000_000_000);
    assert_eq!(m.born_host, "10.0.0.7:4000".parse().unwrap());
    assert_eq!(m.store_host, store);
    assert_eq!(find_property(&m.properties, "DELAY"), None);
    for (k, v) in [
        ("TAGS", "tagA"),
        ("KEYS", "k1"),
        ("UNIQ_KEY", "U1"),
        ("REAL_TOPIC", "Orders"),
        ("REAL_QID", "5"),
    ] {
        assert_eq!(find_property(&m.properties, k), Some(v), "{k}");
    }
    assert_eq!(tags_code(&m), tags_hash_code("tagA"));
}

#[test]
fn nothing_to_remove_keeps_the_properties_verbatim() {
    let props = properties_to_string([("REAL_TOPIC", "T"), ("REAL_QID", "0")]);
    let bytes = stored(&props);
    let m = to_real_topic(&view(&bytes), &["DELAY"], "127.0.0.1:1".parse().unwrap()).unwrap();
    assert_eq!(m.properties, props);
    assert_eq!(tags_code(&m), 0);
}

#[test]
fn missing_or_bad_real_queue_is_an_error() {
    let host = "127.0.0.1:1".parse().unwrap();
    let bytes = stored(&properties_to_string([("REAL_QID", "0")]));
    assert!(matches!(
        to_real_topic(&view(&bytes), &[], host),
        Err(RedeliverError::Missing {
            key: "REAL_TOPIC",
            ..
        })
    ));
    let bytes = stored(&properties_to_string([
        ("REAL_TOPIC", "T"),
        ("REAL_QID", "x"),
    ]));
    assert!(matches!(
        to_real_topic(&view(&bytes), &[], host),
        Err(RedeliverError::Invalid {
            key: "REAL_QID",
            ..
        })
    ));
    let bytes = stored(&properties_to_string([("REAL_TOPIC", "T")]));
    assert!(matches!(
        to_real_topic(&view(&bytes), &[], host),
        Err(RedeliverError::Missing {
            key: "REAL_QID",
            ..
        })
    ));
}
