use std::io::Write;

use super::*;
use crate::protocol::code::version::V3_0_11;

/// `RegisterBrokerBody.encode(true)` of stock Java 5.3.3 (`JavaBody.java` in this directory):
/// data version {counter 7, stateVersion 2, timestamp 1700000000123}; topics `orders` (8 read, 4
/// write, perm 6, sys flag 3 and order on, neither of which the compressed form carries),
/// `TBW102` (8/8, perm 7), `tagged` (2/2, perm 4, MULTI_TAG, attributes
/// `{"+message.type":"FIFO"}`); one static-topic mapping for `orders`.
const JAVA_BODY: &[u8] = include_bytes!("java-5.3.3-body.bin");

/// `MQVersion.CURRENT_VERSION` of 5.3.3.
const V5_3_3: i32 = 479;

fn topic(name: &str, read: i32, write: i32, perm: i32, filter: &str) -> TopicConfig {
    TopicConfig {
        topic_name: name.into(),
        read_queue_nums: read,
        write_queue_nums: write,
        perm,
        topic_filter_type: filter.into(),
        topic_sys_flag: 0,
        order: false,
    }
}

/// What Java's own decode prints for the fixture (`JavaBody.java`).
fn java_fixture_wrapper() -> TopicConfigWrapper {
    TopicConfigWrapper {
        topic_config_table: [
            topic("TBW102", 8, 8, 7, "SINGLE_TAG"),
            topic("orders", 8, 4, 6, "SINGLE_TAG"),
            topic("tagged", 2, 2, 4, "MULTI_TAG"),
        ]
        .into_iter()
        .map(|t| (t.topic_name.clone(), t))
        .collect(),
        data_version: WireDataVersion {
            counter: 7,
            state_version: 2,
            timestamp: 1_700_000_000_123,
        },
    }
}

/// The inflated layout, built by hand, then zlib-compressed.
#[derive(Default)]
struct Plain(Vec<u8>);

impl Plain {
    fn int(mut self, n: i32) -> Self {
        self.0.extend_from_slice(&n.to_be_bytes());
        self
    }
    fn field(self, text: &str) -> Self {
        let mut p = self.int(text.len() as i32);
        p.0.extend_from_slice(text.as_bytes());
        p
    }
    /// A data version, one topic per `topics` entry, an empty filter-server list.
    fn body(topics: &[&str]) -> Self {
        let mut p = Plain::default()
            .field(r#"{"counter":1,"stateVersion":0,"timestamp":5}"#)
            .int(topics.len() as i32);
        for t in topics {
            p = p.field(t);
        }
        p.field("[]")
    }
    fn zlib(&self) -> Vec<u8> {
        let mut z = ZlibEncoder::new(Vec::new(), Compression::default());
        z.write_all(&self.0).unwrap();
        z.finish().unwrap()
    }
}

#[test]
fn a_body_from_a_java_broker_reads_as_java_reads_it() {
    assert_eq!(
        JAVA_BODY[..2],
        [0x78, 0xda],
        "a zlib header (best compression)"
    );
    assert_eq!(decode(JAVA_BODY, V5_3_3).unwrap(), java_fixture_wrapper());
    // A broker before 5.0 has no mapping section: what follows the filter servers is not read.
    assert_eq!(
        decode(JAVA_BODY, V5_0_0 - 1).unwrap(),
        java_fixture_wrapper()
    );
}

#[test]
fn encode_writes_javas_layout_and_reads_back() {
    let wrapper = java_fixture_wrapper();
    let bytes = encode(&wrapper);
    assert_eq!(bytes[..2], [0x78, 0xda]);
    assert_eq!(decode(&bytes, V5_3_3).unwrap(), wrapper);
    let mut plain = Vec::new();
    ZlibDecoder::new(&bytes[..])
        .read_to_end(&mut plain)
        .unwrap();
    let expected = Plain::default()
        .field(r#"{"counter":7,"stateVersion":2,"timestamp":1700000000123}"#)
        .int(3)
        .field("TBW102 8 8 7 SINGLE_TAG {}")
        .field("orders 8 4 6 SINGLE_TAG {}")
        .field("tagged 2 2 4 MULTI_TAG {}")
        .field("[]")
        .int(0);
    assert_eq!(plain, expected.0);
}

#[test]
fn raw_deflate_and_garbage_are_not_zlib() {
    let plain = Plain::body(&["t 1 1 6 SINGLE_TAG"]).int(0);
    let mut raw = flate2::write::DeflateEncoder::new(Vec::new(), Compression::default());
    raw.write_all(&plain.0).unwrap();
    let raw = raw.finish().unwrap();
    for bad in [&raw[..], b"{\"not\":\"zlib\"}", &[0u8; 3][..], &[]] {
        let e = decode(bad, V5_3_3).unwrap_err();
        assert!(
            matches!(
                e,
                CompressedBodyError::Zlib {
                    field: Field::DataVersion,
                    ..
                } | CompressedBodyError::Truncated {
                    field: Field::DataVersion,
                    ..
                }
            ),
            "{e}"
        );
    }
    assert!(decode(&plain.zlib(), V5_3_3).is_ok());
}

#[test]
fn every_truncation_is_an_error_never_a_panic() {
    let whole = JAVA_BODY.len();
    let mut ok_cuts = Vec::new();
    for cut in 0..whole {
        match decode(&JAVA_BODY[..cut], V5_3_3) {
            Ok(_) => ok_cuts.push(cut),
            Err(e) => assert!(
                matches!(
                    e,
                    CompressedBodyError::Zlib { .. } | CompressedBodyError::Truncated { .. }
                ),
                "cut {cut}: {e}"
            ),
        }
    }
    // Only the stream's end may go missing (the end-of-block code, the Adler-32 trailer): every
    // field is read by then, and Java's InflaterInputStream does not look further either.
    assert!(ok_cuts.iter().all(|&c| c >= whole - 8), "{ok_cuts:?}");
    // One corrupt byte anywhere: whatever it makes of it, it returns.
    let mut refused = 0;
    for i in 0..whole {
        let mut bad = JAVA_BODY.to_vec();
        bad[i] ^= 0x55;
        refused += usize::from(decode(&bad, V5_3_3).is_err());
    }
    assert!(refused > whole / 2, "{refused} of {whole} refused");
}

#[test]
fn lengths_are_never_trusted() {
    // A length far past what the stream holds: refused before anything is allocated for it.
    let huge = Plain::default().int(i32::MAX).zlib();
    assert_eq!(
        decode(&huge, V5_3_3).unwrap_err(),
        CompressedBodyError::TooLarge {
            field: Field::DataVersion,
            len: i32::MAX,
            at: 4
        }
    );
    // Under the limit but more than the stream holds: it ends inside the field.
    let short = Plain::default().int(1 << 20).field("{}").zlib();
    assert!(matches!(
        decode(&short, V5_3_3).unwrap_err(),
        CompressedBodyError::Truncated {
            field: Field::DataVersion,
            at: 10,
            wanted: 1_048_576
        }
    ));
    let negative = Plain::default().int(-1).zlib();
    assert_eq!(
        decode(&negative, V5_3_3).unwrap_err(),
        CompressedBodyError::NegativeLength {
            field: Field::DataVersion,
            len: -1
        }
    );
    // A topic count far past the topics there are.
    let many = Plain::default()
        .field(r#"{"counter":1}"#)
        .int(i32::MAX)
        .field("t 1 1 6 SINGLE_TAG")
        .zlib();
    assert!(matches!(
        decode(&many, V5_3_3).unwrap_err(),
        CompressedBodyError::Truncated {
            field: Field::TopicConfig(1),
            ..
        }
    ));
    // The whole inflated body is capped: a field that would pass the cap is refused before it
    // is read.
    let past_cap = Plain::default()
        .field(r#"{"counter":1}"#)
        .int(1)
        .int((MAX_INFLATED_BYTES - 10) as i32)
        .zlib();
    assert!(matches!(
        decode(&past_cap, V5_3_3).unwrap_err(),
        CompressedBodyError::TooLarge {
            field: Field::TopicConfig(0),
            ..
        }
    ));
}

#[test]
fn a_negative_count_reads_nothing_as_javas_loop() {
    let body = Plain::default()
        .field(r#"{"counter":3}"#)
        .int(-5)
        .field("[]")
        .int(-1)
        .zlib();
    let w = decode(&body, V5_3_3).unwrap();
    assert!(w.topic_config_table.is_empty());
    assert_eq!(w.data_version.counter, 3);
}

#[test]
fn the_filter_server_list_and_trailing_bytes_are_not_checked() {
    let body = Plain::body(&["t 1 1 6 SINGLE_TAG"]);
    let mut not_json = Plain::default()
        .field(r#"{"counter":1}"#)
        .int(1)
        .field("t 1 1 6 SINGLE_TAG")
        .field("not json")
        .int(0);
    not_json.0.extend_from_slice(b"trailing");
    assert!(decode(&not_json.zlib(), V5_3_3).is_ok());
    // Before 5.0 the mapping count is not read at all, so it may be absent.
    assert!(decode(&body.zlib(), V5_0_0 - 1).is_ok());
    assert!(matches!(
        decode(&body.zlib(), V5_0_0).unwrap_err(),
        CompressedBodyError::Truncated {
            field: Field::MappingCount,
            ..
        }
    ));
    assert!(decode(&body.zlib(), V3_0_11).is_ok());
}

#[test]
fn a_mapping_must_be_json_naming_its_topic() {
    let with = |mapping: &str| {
        let p = Plain::body(&["t 1 1 6 SINGLE_TAG"]).int(1).field(mapping);
        decode(&p.zlib(), V5_3_3)
    };
    assert!(with(r#"{"topic":"t","currIdMap":{0:0}}"#).is_ok());
    for bad in [r#"{"bname":"b"}"#, r#"{"topic":null}"#, "not json", ""] {
        let e = with(bad).unwrap_err();
        assert!(
            matches!(
                e,
                CompressedBodyError::Content {
                    field: Field::Mapping(0),
                    ..
                }
            ),
            "{bad}: {e}"
        );
    }
}

#[test]
fn bad_data_versions_and_topic_configs_name_the_field() {
    let body = Plain::default().field("nope").int(0).field("[]").int(0);
    let e = decode(&body.zlib(), V5_3_3).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("compressed body: the DataVersion \"nope\": "),
        "{e}"
    );
    let body = Plain::body(&["ok 1 1 6 SINGLE_TAG", "bad 1 x 6 SINGLE_TAG"]).int(0);
    let e = decode(&body.zlib(), V5_3_3).unwrap_err();
    assert_eq!(
        e.to_string(),
        "compressed body: topic config #1 \"bad 1 x 6 SINGLE_TAG\": writeQueueNums \"x\" is not an int"
    );
}

#[test]
fn topic_config_text_as_javas_decode() {
    assert_eq!(
        decode_topic_config("t 4 2 6 SINGLE_TAG {}"),
        Ok(topic("t", 4, 2, 6, "SINGLE_TAG"))
    );
    // No attributes (Java writes none for a null map), attributes with spaces, extra fields.
    assert_eq!(
        decode_topic_config("t +4 -2 6 MULTI_TAG "),
        Ok(topic("t", 4, -2, 6, "MULTI_TAG"))
    );
    assert!(decode_topic_config(r#"t 4 2 6 SINGLE_TAG {"a b":"c"} x"#).is_ok());
    for (bad, why) in [
        ("t 4 2 6", "4 space-separated fields"),
        ("", "1 space-separated fields"),
        ("     ", "0 space-separated fields"),
        ("t 4 2 6 single_tag {}", "no TopicFilterType \"single_tag\""),
        ("t 4  2 6 SINGLE_TAG", "writeQueueNums \"\" is not an int"),
        (
            "t 4 2 2147483648 SINGLE_TAG",
            "perm \"2147483648\" is not an int",
        ),
    ] {
        let e = decode_topic_config(bad).unwrap_err();
        assert!(e.starts_with(why), "{bad:?}: {e}");
    }
    assert_eq!(
        encode_topic_config(&topic("t", 4, 2, 6, "SINGLE_TAG")),
        "t 4 2 6 SINGLE_TAG {}"
    );
}

#[test]
fn a_zlib_header_is_told_from_json() {
    assert!(is_zlib(JAVA_BODY));
    assert!(is_zlib(&encode(&java_fixture_wrapper())));
    assert!(is_zlib(&Plain::body(&[]).zlib()), "default compression");
    for json in [
        &b"{\"topicConfigSerializeWrapper\":{}}"[..],
        b" {}",
        b"x",
        b"",
        b"xy",
    ] {
        assert!(!is_zlib(json), "{json:?}");
    }
}
