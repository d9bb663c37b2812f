//! The scanner against the serde path (`codec::decode_json_header_serde`): on headers real clients
//! send, on hand-picked edge cases, and on generated headers (property tests).

use bytes::{Bytes, BytesMut};
use bytestring::ByteString;
use proptest::prelude::*;
use proptest::sample::Index;

use super::scan;
use crate::protocol::code::{request_code, LanguageCode};
use crate::protocol::codec::{decode_header, decode_json_header_serde, encode_header};
use crate::protocol::{RemotingCommand, SerializeType};

/// What the scanner makes of `header`: `None` for "not handled" (and for invalid UTF-8, which
/// never reaches it).
fn fast(header: &[u8]) -> Option<RemotingCommand> {
    let text = ByteString::try_from(Bytes::copy_from_slice(header)).ok()?;
    scan(&text)
}

/// The differential check: whenever the scanner answers, serde answers the same command; and
/// the public decoder (scanner, then serde) agrees with serde alone.
fn check(header: &[u8]) -> Result<Option<RemotingCommand>, TestCaseError> {
    let serde = decode_json_header_serde(Bytes::copy_from_slice(header));
    let fast = fast(header);
    match (&fast, &serde) {
        (Some(f), Ok(s)) => prop_assert_eq!(f, s),
        (Some(f), Err(e)) => {
            return Err(TestCaseError::fail(format!(
                "scanner accepted what serde refuses ({e}): {f:?} from {:?}",
                String::from_utf8_lossy(header)
            )))
        }
        (None, _) => {}
    }
    let full = decode_header(SerializeType::Json, Bytes::copy_from_slice(header));
    match (&full, &serde) {
        (Ok(a), Ok(b)) => prop_assert_eq!(a, b),
        (Err(_), Err(_)) => {}
        _ => {
            return Err(TestCaseError::fail(format!(
                "decode_header {full:?} but serde {serde:?}"
            )))
        }
    }
    Ok(fast)
}

/// The scanner must take `header`, and give serde's command.
fn handled(header: &[u8]) -> RemotingCommand {
    match check(header) {
        Ok(Some(c)) => c,
        other => panic!(
            "{other:?} for {:?}",
            String::from_utf8_lossy(header).into_owned()
        ),
    }
}

/// The scanner must leave `header` to serde; `serde_ok` says whether serde takes it.
fn left_to_serde(header: &[u8], serde_ok: bool) {
    assert!(
        matches!(check(header), Ok(None)),
        "{:?}",
        String::from_utf8_lossy(header)
    );
    assert_eq!(
        decode_json_header_serde(Bytes::copy_from_slice(header)).is_ok(),
        serde_ok,
        "{:?}",
        String::from_utf8_lossy(header)
    );
}

/// Every `extFields` key and value that has no escape in `header` is a slice of its buffer.
fn assert_shared(header: &Bytes) {
    let text = ByteString::try_from(header.clone()).unwrap();
    let c = scan(&text).unwrap();
    let range = header.as_ptr_range();
    for (k, v) in c.ext_fields.iter() {
        for s in [k, v] {
            let escaped = !header
                .windows(s.len() + 2)
                .any(|w| w[0] == b'"' && &w[1..=s.len()] == s.as_bytes() && w[s.len() + 1] == b'"');
            if !escaped && !s.is_empty() {
                assert!(range.contains(&s.as_ptr()), "{s:?} was copied");
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Headers as clients send them.

/// `rocketmq-reference.md` §1.3: a stock Java client's SEND_MESSAGE_V2 (fastjson, sorted keys).
const JAVA_SEND_V2: &[u8] = br#"{"code":310,"extFields":{"a":"pg","b":"TopicTest","c":"TBW102","d":"4","e":"1","f":"0","g":"1700000000000","h":"0","i":"UNIQ_KEY\u0001AC110001000018B4AAC2000000000000\u0002WAIT\u0001true\u0002TAGS\u0001TagA\u0002","j":"0","k":"false","m":"false","n":"broker-a"},"flag":0,"language":"JAVA","opaque":42,"serializeTypeCurrentRPC":"JSON","version":479}"#;

/// The C++ client 2.2.0 (tests/headers.rs): numbers as JSON numbers, `remark` empty.
const CPP_SEND_V2: &[u8] = br#"{"code":310,"language":"CPP","version":333,"opaque":1,"flag":0,"remark":"","extFields":{"a":"cpp_pg","b":"CppTopic","c":"TBW102","d":4,"e":0,"f":0,"g":1700000000000,"h":0,"i":"TAGS\u0001TagA\u0002WAIT\u0001true\u0002","j":0,"k":"0","m":"0"}}"#;

/// rocketmq-client-go (jsoniter, struct order, `&` escaped as `\u0026`), version 317.
const GO_SEND_V2: &[u8] = br#"{"code":310,"language":"GO","version":317,"opaque":7,"flag":0,"remark":"","extFields":{"a":"go_pg","b":"GoTopic","c":"TBW102","d":"4","e":"2","f":"0","g":"1700000000000","h":"0","i":"KEYS\u0001a\u0026b\u0002UNIQ_KEY\u00010A0B0C0D000018B4AAC2000000000001\u0002","j":"0","k":"false","l":"0","m":"false"}}"#;

/// A Java heartbeat with a remark, nulls and unknown scalar fields.
const JAVA_HEARTBEAT: &[u8] = br#"{"code":34,"extFields":{"gone":null},"flag":0,"language":"JAVA","opaque":9,"remark":"hi \"there\"","serializeTypeCurrentRPC":"JSON","version":479,"extra":true,"n":-1}"#;

#[test]
fn real_client_headers_take_the_fast_path() {
    let java = handled(JAVA_SEND_V2);
    assert_eq!(java.code, request_code::SEND_MESSAGE_V2);
    assert_eq!(java.language, LanguageCode::Java);
    assert_eq!(
        (java.version, java.opaque, java.ext_fields.len()),
        (479, 42, 13)
    );
    assert_eq!(
        java.ext("i"),
        Some("UNIQ_KEY\u{1}AC110001000018B4AAC2000000000000\u{2}WAIT\u{1}true\u{2}TAGS\u{1}TagA\u{2}")
    );
    let cpp = handled(CPP_SEND_V2);
    assert_eq!(cpp.language, LanguageCode::Cpp);
    assert_eq!(cpp.remark.as_deref(), Some(""));
    assert_eq!(
        (cpp.ext("d"), cpp.ext("g")),
        (Some("4"), Some("1700000000000"))
    );
    let go = handled(GO_SEND_V2);
    assert_eq!((go.language, go.version), (LanguageCode::Go, 317));
    assert!(go.ext("i").unwrap().starts_with("KEYS\u{1}a&b\u{2}"));
    let hb = handled(JAVA_HEARTBEAT);
    assert_eq!(hb.remark.as_deref(), Some("hi \"there\""));
    assert!(hb.ext_fields.is_empty());
    for h in [JAVA_SEND_V2, CPP_SEND_V2, GO_SEND_V2, JAVA_HEARTBEAT] {
        assert_shared(&Bytes::from_static(h));
    }
}

/// What actormq itself writes (its client's requests, the broker's responses) comes back through
/// the scanner.
#[test]
fn actormq_headers_take_the_fast_path() {
    let msg = crate::client::OutgoingMessage {
        tags: Some("TagA".into()),
        keys: Some("order-42".into()),
        ..crate::client::OutgoingMessage::new("BenchTopic", vec![b'x'; 16])
    };
    let req = crate::client::producer_request(&msg);
    let resp = req
        .response_to(0, Some("ok\n\u{e9}".into()))
        .with_ext("queueOffset", 12);
    for c in [req, resp] {
        let mut out = BytesMut::new();
        encode_header(&c, &mut out).unwrap();
        let got = handled(&out);
        assert_eq!(got.ext_fields, c.ext_fields);
        assert_eq!(got.remark, c.remark);
        assert_shared(&out.freeze());
    }
}

// ---------------------------------------------------------------------------------------------
// Edge cases, one by one.

#[test]
fn numbers_keep_serdes_text() {
    let c = handled(br#"{"code":1,"extFields":{"z":0,"n":-0,"m":-17,"big":123456789012345678}}"#);
    assert_eq!(c.ext("z"), Some("0"));
    assert_eq!(c.ext("n"), Some("-0"), "serde reads -0 as the float -0.0");
    assert_eq!(c.ext("m"), Some("-17"));
    assert_eq!(c.ext("big"), Some("123456789012345678"));
    // Floats, exponents and longer integers are serde's to stringify.
    for (num, text) in [
        ("1.0", "1"),
        ("1e3", "1000"),
        ("-1.5E-2", "-0.015"),
        ("1234567890123456789", "1234567890123456789"),
        ("12345678901234567890", "12345678901234567890"),
        ("123456789012345678901", "123456789012345670000"),
    ] {
        let h = format!(r#"{{"code":1,"extFields":{{"x":{num}}}}}"#);
        left_to_serde(h.as_bytes(), true);
        let c = decode_json_header_serde(Bytes::from(h)).unwrap();
        assert_eq!(c.ext("x"), Some(text), "{num}");
    }
}

#[test]
fn integer_fields_follow_serdes_types() {
    let c = handled(br#"{"code":-5,"version":null,"opaque":2147483647,"flag":-2147483648}"#);
    assert_eq!(
        (c.code, c.version, c.opaque, c.flag),
        (-5, 0, i32::MAX, i32::MIN)
    );
    for h in [
        &br#"{"code":2147483648}"#[..],
        br#"{"code":-2147483649}"#,
        br#"{"code":-0}"#,
        br#"{"code":01}"#,
        br#"{"code":1.0}"#,
        br#"{"code":"5"}"#,
        br#"{"code":null}"#,
        br#"{"code":1,"flag":true}"#,
        br#"{"opaque":1}"#,
        br#"{}"#,
    ] {
        left_to_serde(h, false);
    }
}

#[test]
fn language_by_name_number_or_null() {
    for (v, l) in [
        (r#""GO""#, LanguageCode::Go),
        (r#""G\u004F""#, LanguageCode::Go),
        (r#""KOTLIN""#, LanguageCode::Other),
        ("12", LanguageCode::Rust),
        ("300", LanguageCode::Other),
        ("-3", LanguageCode::Other),
        ("null", LanguageCode::Java),
    ] {
        let h = format!(r#"{{"code":1,"language":{v}}}"#);
        assert_eq!(handled(h.as_bytes()).language, l, "{v}");
    }
    left_to_serde(br#"{"code":1,"language":-0}"#, false);
    left_to_serde(br#"{"code":1,"language":true}"#, false);
}

#[test]
fn strings_unescape_like_serde() {
    let c = handled(
        br#"{"code":1,"remark":"a\"b\\c\/d\b\f\n\r\t\u00e9\u00E9\ud83d\ude00","extFields":{"k\u0041":"v\n"}}"#,
    );
    assert_eq!(
        c.remark.as_deref(),
        Some("a\"b\\c/d\u{8}\u{c}\n\r\t\u{e9}\u{e9}\u{1F600}")
    );
    assert_eq!(c.ext("kA"), Some("v\n"));
    // Raw non-ASCII passes through.
    let c = handled("{\"code\":1,\"extFields\":{\"主题\":\"é😀\"}}".as_bytes());
    assert_eq!(c.ext("主题"), Some("é😀"));
    for h in [
        &br#"{"code":1,"remark":"\ud800"}"#[..],
        br#"{"code":1,"remark":"\udc00"}"#,
        br#"{"code":1,"remark":"\ud800\u0041"}"#,
        br#"{"code":1,"remark":"\x"}"#,
        br#"{"code":1,"remark":"\u00g0"}"#,
        b"{\"code\":1,\"remark\":\"a\nb\"}",
        b"{\"code\":1,\"remark\":\"a\x01b\"}",
        br#"{"code":1,"remark":"abc"#,
        // A key whose null value is skipped is still read by serde (found by the proptest).
        br#"{"extFields":{"\x":null},"code":1}"#,
        br#"{"code":1,"extFields":{"\ud800":null}}"#,
    ] {
        left_to_serde(h, false);
    }
}

#[test]
fn structure_outside_the_subset_is_left_to_serde() {
    // serde takes these; the scanner does not read them.
    for h in [
        &br#"{"c\u006fde":1}"#[..],
        br#"{"code":1,"unknown":{"x":[1,2]}}"#,
        br#"{"code":1,"unknown":[]}"#,
        br#"{"code":1,"unknown":2.5}"#,
    ] {
        left_to_serde(h, true);
    }
    // serde refuses these.
    for h in [
        &br#"{"code":1,"code":2}"#[..],
        br#"{"code":1,"remark":null,"remark":null}"#,
        br#"{"code":1,"extFields":{},"extFields":null}"#,
        br#"{"code":1,}"#,
        br#"{"code":1}x"#,
        br#"{"code":1"#,
        br#"{"code" 1}"#,
        b"\x0c{\"code\":1}",
        b"{\"code\":1}\x0c",
        br#"{"code":1,"extFields":{"a":[1]}}"#,
        br#"{"code":1,"extFields":{"a":{}}}"#,
        br#"{"code":1,"extFields":{"a":1,}}"#,
        br#"{"code":1,"extFields":{"a":tru}}"#,
        br#"{"code":1,"extFields":{"a":nul}}"#,
        br#"{"code":1,"extFields":{"a":truex}}"#,
        br#"{"code":1,"extFields":{a:1}}"#,
        br#"{"code":1,"extFields":[]}"#,
        br#"{"code":1,"extFields":"x"}"#,
        br#"{"code":1,"remark":5}"#,
        b"{\"code\":1,\"remark\":\"\xff\"}",
        br#"[1]"#,
    ] {
        left_to_serde(h, false);
    }
}

#[test]
fn ext_fields_nulls_and_duplicates() {
    let c = handled(
        br#" { "code" : 1 , "extFields" : { "k" : "1" , "gone" : null , "k" : "2" , "j" : "x" , "j" : null } } "#,
    );
    assert_eq!(
        (c.ext("k"), c.ext("j"), c.ext("gone")),
        (Some("2"), Some("x"), None)
    );
    assert_eq!(c.ext_fields.len(), 2);
    let c = handled(b"{\"code\":1,\"extFields\":null}\r\n\t");
    assert!(c.ext_fields.is_empty());
}

// ---------------------------------------------------------------------------------------------
// Generated headers.

/// JSON whitespace, and now and then a form feed (not JSON whitespace).
fn ws() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        120 => Just(""),
        20 => Just(" "),
        10 => Just("\n\t"),
        10 => Just("\r\n  "),
        1 => Just("\u{c}"),
    ]
}

/// One character of a string's content, written raw or as one of its escapes (and now and then
/// something invalid: a raw control character, a bad escape, a lone surrogate).
fn string_piece() -> impl Strategy<Value = String> {
    let ch = prop_oneof![
        8 => proptest::char::range('a', 'z'),
        1 => Just('"'),
        1 => Just('\\'),
        1 => Just('/'),
        1 => Just('\u{e9}'),
        1 => Just('\n'),
        1 => Just('\u{1}'),
        1 => Just('\u{1F600}'),
        1 => Just('主'),
    ];
    prop_oneof![
        40 => (ch, 0u8..4).prop_map(|(c, how)| escape_char(c, how)),
        1 => Just(r"\x".to_string()),
        1 => Just(r"\ud800".to_string()),
        1 => Just(r"\udc01".to_string()),
        1 => Just(r"\u12".to_string()),
    ]
}

/// `c` as JSON string content: `how` 0 raw where JSON allows it, 1 the short escape where there
/// is one, 2 `\u` lower-case, 3 `\u` upper-case (UTF-16 units, so surrogate pairs).
fn escape_char(c: char, how: u8) -> String {
    let short = match c {
        '"' => Some(r#"\""#),
        '\\' => Some(r"\\"),
        '/' => Some(r"\/"),
        '\n' => Some(r"\n"),
        _ => None,
    };
    match (how, short) {
        (0, _) if c != '"' && c != '\\' && c >= ' ' => c.to_string(),
        (0 | 1, Some(s)) => s.to_string(),
        _ => {
            let mut units = [0u16; 2];
            c.encode_utf16(&mut units)
                .iter()
                .map(|u| {
                    if how == 3 {
                        format!("\\u{u:04X}")
                    } else {
                        format!("\\u{u:04x}")
                    }
                })
                .collect()
        }
    }
}

fn json_string() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "[a-z]{0,6}".prop_map(|s| format!("\"{s}\"")),
        2 => proptest::collection::vec(string_piece(), 0..8)
            .prop_map(|p| format!("\"{}\"", p.concat())),
    ]
}

fn json_number() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => any::<i32>().prop_map(|n| n.to_string()),
        3 => (0i64..1000).prop_map(|n| n.to_string()),
        1 => any::<i64>().prop_map(|n| n.to_string()),
        1 => any::<u64>().prop_map(|n| n.to_string()),
        1 => prop::sample::select(vec![
            "-0", "01", "-01", "1.0", "1e3", "-1.5E-2", "0.5", "1E+2", "2147483648", "-2147483649",
            "123456789012345678", "-123456789012345678", "1234567890123456789", "-", "1.", "+1",
        ])
        .prop_map(str::to_string),
    ]
}

/// An `i32` field's value: mostly one in range, else any number or scalar.
fn int_value() -> impl Strategy<Value = String> {
    prop_oneof![
        12 => any::<i32>().prop_map(|n| n.to_string()),
        1 => json_number(),
        1 => scalar(),
    ]
}

fn scalar() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => json_string(),
        3 => json_number(),
        1 => prop::sample::select(vec!["true", "false", "null", "tru", "nul"])
            .prop_map(str::to_string),
    ]
}

/// Any value, nested ones included (in unknown fields serde ignores them; elsewhere it refuses).
fn value() -> impl Strategy<Value = String> {
    scalar().prop_recursive(2, 8, 3, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..3)
                .prop_map(|v| format!("[{}]", v.join(","))),
            proptest::collection::vec((json_string(), inner), 0..3).prop_map(|v| {
                let m: Vec<String> = v.into_iter().map(|(k, v)| format!("{k}:{v}")).collect();
                format!("{{{}}}", m.join(","))
            }),
        ]
    })
}

/// An `extFields` key: mostly from a small set, so keys repeat.
fn ext_key() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-e]".prop_map(|s| format!("\"{s}\"")),
        1 => json_string(),
    ]
}

fn ext_fields_value() -> impl Strategy<Value = String> {
    let entry = (
        ext_key(),
        ws(),
        ws(),
        prop_oneof![8 => scalar(), 1 => value()],
    );
    prop_oneof![
        8 => proptest::collection::vec(entry, 0..14).prop_map(|v| {
            let m: Vec<String> = v
                .into_iter()
                .map(|(k, w1, w2, v)| format!("{k}{w1}:{w2}{v}"))
                .collect();
            format!("{{{}}}", m.join(","))
        }),
        1 => Just("null".to_string()),
        1 => value(),
    ]
}

/// A top-level member, as `"key"` and value text.
fn member() -> impl Strategy<Value = (String, String)> {
    let int_key = prop::sample::select(vec!["\"version\"", "\"opaque\"", "\"flag\""]);
    prop_oneof![
        3 => (int_key.prop_map(str::to_string), int_value()),
        1 => (Just("\"language\"".to_string()), prop_oneof![
            prop::sample::select(vec!["\"JAVA\"", "\"GO\"", "\"CPP\"", "\"RUST\"", "\"X\"", "null"])
                .prop_map(str::to_string),
            scalar(),
        ]),
        1 => (Just("\"remark\"".to_string()), prop_oneof![json_string(), Just("null".to_string()), scalar()]),
        2 => (Just("\"extFields\"".to_string()), ext_fields_value()),
        1 => (prop::sample::select(vec!["\"serializeTypeCurrentRPC\"", "\"x\"", "\"c\\u006fde\""])
            .prop_map(str::to_string), value()),
        1 => (json_string(), value()),
    ]
}

/// A whole header: `code` (usually), other members in random order, random whitespace.
fn header() -> impl Strategy<Value = Vec<u8>> {
    let code = proptest::option::weighted(0.95, int_value());
    (proptest::collection::vec(member(), 0..5), code)
        .prop_map(|(mut members, code)| {
            if let Some(code) = code {
                members.push(("\"code\"".to_string(), code));
            }
            members
        })
        .prop_shuffle()
        .prop_flat_map(|members| {
            let n = members.len();
            (Just(members), proptest::collection::vec(ws(), 4 * n + 3))
        })
        .prop_map(|(members, ws)| {
            let mut s = format!("{}{{{}", ws[0], ws[1]);
            for (i, (k, v)) in members.iter().enumerate() {
                let w = &ws[3 + 4 * i..];
                if i > 0 {
                    s.push_str(w[3]);
                    s.push(',');
                }
                s.push_str(&format!("{}{k}{}:{}{v}", w[0], w[1], w[2]));
            }
            s.push_str(&format!("{}}}", ws[2]));
            s.into_bytes()
        })
}

/// Now and then a damaged byte stream: cut short, a byte inserted (invalid UTF-8 too).
#[derive(Debug, Clone)]
enum Damage {
    None,
    Truncate(Index),
    Insert(Index, u8),
}

fn damage() -> impl Strategy<Value = Damage> {
    prop_oneof![
        8 => Just(Damage::None),
        1 => any::<Index>().prop_map(Damage::Truncate),
        1 => (any::<Index>(), prop_oneof![Just(0xFFu8), Just(0xC3), Just(0x80), Just(0), any::<u8>()])
            .prop_map(|(i, b)| Damage::Insert(i, b)),
    ]
}

fn apply(mut h: Vec<u8>, d: &Damage) -> Vec<u8> {
    match d {
        Damage::None => {}
        Damage::Truncate(i) => h.truncate(i.index(h.len().max(1))),
        Damage::Insert(i, b) => h.insert(i.index(h.len() + 1), *b),
    }
    h
}

/// A header the scanner must read: known fields with the right types, scalar unknown fields,
/// every string shape but valid ones only, whitespace JSON allows.
fn clean_header() -> impl Strategy<Value = (Vec<u8>, bool)> {
    let piece = (
        prop_oneof![
            8 => proptest::char::range('a', 'z'),
            1 => Just('"'),
            1 => Just('\\'),
            1 => Just('\u{e9}'),
            1 => Just('\u{1}'),
            1 => Just('\u{1F600}'),
        ],
        0u8..4,
    )
        .prop_map(|(c, how)| escape_char(c, how));
    let string = proptest::collection::vec(piece, 0..6).prop_map(|p| format!("\"{}\"", p.concat()));
    let int = prop_oneof![
        any::<i32>().prop_map(|n| n.to_string()),
        Just("null".to_string())
    ];
    let ext_value = prop_oneof![
        4 => string.clone(),
        2 => (-999_999_999_999_999_999i64..=999_999_999_999_999_999).prop_map(|n| n.to_string()),
        1 => prop::sample::select(vec!["true", "false", "null", "-0"]).prop_map(str::to_string),
    ];
    let ext = proptest::collection::vec((ext_key_clean(), ext_value), 0..14).prop_map(|v| {
        let m: Vec<String> = v.into_iter().map(|(k, v)| format!("{k}:{v}")).collect();
        format!("{{{}}}", m.join(" , "))
    });
    let ws = prop::sample::select(vec!["", " ", "\n", "\t", "\r"]);
    (
        any::<i32>(),
        [int.clone(), int.clone(), int],
        prop_oneof![
            string.clone(),
            Just("null".to_string()),
            (0u8..20).prop_map(|n| n.to_string())
        ],
        prop_oneof![string.clone(), Just("null".to_string())],
        prop_oneof![ext, Just("null".to_string())],
        proptest::collection::vec(
            (
                "\"[a-z]{1,8}X\"",
                prop_oneof![string, (-5i32..5).prop_map(|n| n.to_string())],
            ),
            0..3,
        ),
        ws,
    )
        .prop_map(|(code, ints, language, remark, ext, unknown, ws)| {
            let mut m = vec![
                ("\"code\"".to_string(), code.to_string()),
                ("\"version\"".to_string(), ints[0].clone()),
                ("\"opaque\"".to_string(), ints[1].clone()),
                ("\"flag\"".to_string(), ints[2].clone()),
                ("\"language\"".to_string(), language),
                ("\"remark\"".to_string(), remark),
                ("\"extFields\"".to_string(), ext),
            ];
            m.extend(unknown);
            (m, ws)
        })
        .prop_flat_map(|(m, ws)| {
            let n = m.len();
            (Just(m).prop_shuffle(), 1..=n, Just(ws))
        })
        .prop_map(|(m, keep, ws)| {
            // `code` may be shuffled out of the kept prefix: then serde refuses, and so must we.
            let has_code = m[..keep].iter().any(|(k, _)| k == "\"code\"");
            let body: Vec<String> = m[..keep]
                .iter()
                .map(|(k, v)| format!("{ws}{k}{ws}:{ws}{v}{ws}"))
                .collect();
            (
                format!("{ws}{{{}}}{ws}", body.join(",")).into_bytes(),
                has_code,
            )
        })
}

fn ext_key_clean() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-e]".prop_map(|s| format!("\"{s}\"")),
        1 => "[a-z\u{e9}]{0,5}".prop_map(|s| format!("\"{s}\"")),
        1 => Just(r#""k\u0041""#.to_string()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Whatever the header, the scanner never answers differently from serde.
    #[test]
    fn scanner_agrees_with_serde(h in header(), d in damage()) {
        check(&apply(h, &d))?;
    }

    /// Headers in the scanner's subset are read by it, not left to serde.
    #[test]
    fn scanner_reads_its_subset((h, has_code) in clean_header()) {
        let got = check(&h)?;
        prop_assert_eq!(got.is_some(), has_code, "{}", String::from_utf8_lossy(&h));
    }

    /// Arbitrary bytes after `{"code":1,` (mostly garbage): still never a disagreement.
    #[test]
    fn scanner_agrees_on_random_tails(tail in proptest::collection::vec(any::<u8>(), 0..40)) {
        let mut h = br#"{"code":1,"extFields":{"a":"#.to_vec();
        h.extend_from_slice(&tail);
        check(&h)?;
    }
}
