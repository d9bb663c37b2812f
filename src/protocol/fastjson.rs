//! fastjson's non-standard JSON made readable by serde_json.
//!
//! The Java broker serializes its tables (and some answers, e.g. a Java name server's
//! GET_BROKER_CLUSTER_INFO body) with fastjson, which writes the keys of an integer-keyed
//! map without quotes: `"offsetTable":{"TopicA@GroupA":{0:664,1:646}}` in `consumerOffset.json`,
//! `{"offsetTable":{1:5,2:0}}` in `delayOffset.json`. That is not JSON, so a store directory taken
//! over from a Java broker would not load. [`quote_bare_keys`] turns such keys into strings, which
//! serde reads into integer-keyed maps as usual; what actormq writes back is plain JSON, which
//! fastjson reads too. Written by hand because it is one small, exactly specified rewrite of a
//! format no crate reads ("JSON with fastjson's bare numeric keys").
//!
//! fastjson also writes a map keyed by an object with the object itself as the key
//! (`{"messageQueueTable":{{"brokerName":"b","queueId":0,"topic":"T"}:5}}`, a Java client's
//! `GetConsumerStatusBody`; apache/rocketmq#3389). [`FastValue::parse`] reads that form: objects
//! entry by entry with keys of any kind, everything else through serde_json.

use std::borrow::Cow;

use serde_json::Value;

/// Puts quotes around every object key that is a bare number (`{0:1}` -> `{"0":1}`), leaving
/// strings and values alone. Text without such keys is returned unchanged and not copied.
pub fn quote_bare_keys(text: &str) -> Cow<'_, str> {
    let bytes = text.as_bytes();
    let mut out: Option<String> = None;
    let mut copied = 0;
    let mut in_string = false;
    let mut escaped = false;
    // Whether the next non-blank byte starts an object key: after `{` or after `,` inside an object.
    let mut expect_key = false;
    // Open brackets: true for an object, false for an array.
    let mut nesting: Vec<bool> = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            i += 1;
            continue;
        }
        match b {
            b'"' => {
                in_string = true;
                expect_key = false;
            }
            b'{' => {
                nesting.push(true);
                expect_key = true;
            }
            b'[' => {
                nesting.push(false);
                expect_key = false;
            }
            b'}' | b']' => {
                nesting.pop();
                expect_key = false;
            }
            b',' => expect_key = nesting.last() == Some(&true),
            b if b.is_ascii_whitespace() => {}
            b'-' | b'0'..=b'9' if expect_key => {
                let end = i
                    + 1
                    + bytes[i + 1..]
                        .iter()
                        .take_while(|c| c.is_ascii_digit())
                        .count();
                let rest = &text[end..];
                if rest.trim_start().starts_with(':') {
                    let s = out.get_or_insert_with(|| String::with_capacity(text.len() + 64));
                    s.push_str(&text[copied..i]);
                    s.push('"');
                    s.push_str(&text[i..end]);
                    s.push('"');
                    copied = end;
                }
                expect_key = false;
                i = end;
                continue;
            }
            _ => expect_key = false,
        }
        i += 1;
    }
    match out {
        Some(mut s) => {
            s.push_str(&text[copied..]);
            Cow::Owned(s)
        }
        None => Cow::Borrowed(text),
    }
}

/// How deep [`FastValue::parse`] follows nested objects: far beyond any RocketMQ body, and a
/// hostile body cannot exhaust the stack.
const MAX_DEPTH: usize = 64;

/// A fastjson value whose objects may have keys that are not strings.
#[derive(Debug, Clone, PartialEq)]
pub enum FastValue {
    /// An object: its entries in order, keys of any kind.
    Object(Vec<(FastValue, FastValue)>),
    /// Anything else, as JSON; an array is read as plain JSON (fastjson writes no object-keyed
    /// map inside the arrays RocketMQ decodes this way).
    Json(Value),
}

/// Text [`FastValue::parse`] does not read.
#[derive(Debug, thiserror::Error)]
pub enum FastjsonError {
    #[error("{0}")]
    Json(#[from] serde_json::Error),
    #[error("expected {expected} at byte {at}")]
    Syntax { expected: &'static str, at: usize },
    #[error("objects nested deeper than {MAX_DEPTH}")]
    TooDeep,
}

impl FastValue {
    /// Reads `text`: one value, with only blanks after it.
    pub fn parse(text: &str) -> Result<FastValue, FastjsonError> {
        let (value, end) = Self::read(text, 0, 0)?;
        let end = skip_blanks(text, end);
        if end != text.len() {
            return Err(FastjsonError::Syntax {
                expected: "the end of the text",
                at: end,
            });
        }
        Ok(value)
    }

    /// The value of string key `key` of an object.
    pub fn get(&self, key: &str) -> Option<&FastValue> {
        let FastValue::Object(entries) = self else {
            return None;
        };
        entries.iter().find_map(|(k, v)| match k {
            FastValue::Json(Value::String(s)) if s == key => Some(v),
            _ => None,
        })
    }

    /// As plain JSON: `None` if an object in it has a key that is not a string.
    pub fn to_json(&self) -> Option<Value> {
        match self {
            FastValue::Json(v) => Some(v.clone()),
            FastValue::Object(entries) => entries
                .iter()
                .map(|(k, v)| match k {
                    FastValue::Json(Value::String(s)) => Some((s.clone(), v.to_json()?)),
                    _ => None,
                })
                .collect::<Option<serde_json::Map<_, _>>>()
                .map(Value::Object),
        }
    }

    /// The value starting at or after byte `at` (blanks skipped), and the byte after it.
    fn read(text: &str, at: usize, depth: usize) -> Result<(FastValue, usize), FastjsonError> {
        let at = skip_blanks(text, at);
        if text.as_bytes().get(at) != Some(&b'{') {
            let mut values = serde_json::Deserializer::from_str(&text[at..]).into_iter::<Value>();
            return match values.next() {
                Some(Ok(v)) => Ok((FastValue::Json(v), at + values.byte_offset())),
                Some(Err(e)) => Err(e.into()),
                None => Err(FastjsonError::Syntax {
                    expected: "a value",
                    at,
                }),
            };
        }
        if depth >= MAX_DEPTH {
            return Err(FastjsonError::TooDeep);
        }
        let mut entries = Vec::new();
        let mut at = skip_blanks(text, at + 1);
        if text.as_bytes().get(at) == Some(&b'}') {
            return Ok((FastValue::Object(entries), at + 1));
        }
        loop {
            let (key, after) = Self::read(text, at, depth + 1)?;
            at = expect(text, after, b':', "':'")?;
            let (value, after) = Self::read(text, at, depth + 1)?;
            entries.push((key, value));
            at = skip_blanks(text, after);
            match text.as_bytes().get(at) {
                Some(b',') => at += 1,
                Some(b'}') => return Ok((FastValue::Object(entries), at + 1)),
                _ => {
                    return Err(FastjsonError::Syntax {
                        expected: "',' or '}'",
                        at,
                    })
                }
            }
        }
    }
}

fn skip_blanks(text: &str, at: usize) -> usize {
    at + text.as_bytes()[at.min(text.len())..]
        .iter()
        .take_while(|b| b.is_ascii_whitespace())
        .count()
}

/// The byte after `want`, which must be the first non-blank at or after `at`.
fn expect(text: &str, at: usize, want: u8, expected: &'static str) -> Result<usize, FastjsonError> {
    let at = skip_blanks(text, at);
    match text.as_bytes().get(at) {
        Some(b) if *b == want => Ok(at + 1),
        _ => Err(FastjsonError::Syntax { expected, at }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_integer_keys_get_quotes() {
        let java = "{\n\t\"offsetTable\":{\n\t\t\"T@G\":{0:664,1:646,-1:3\n\t\t}\n\t}\n}";
        let fixed = quote_bare_keys(java);
        assert_eq!(
            fixed,
            "{\n\t\"offsetTable\":{\n\t\t\"T@G\":{\"0\":664,\"1\":646,\"-1\":3\n\t\t}\n\t}\n}"
        );
        let v: serde_json::Value = serde_json::from_str(&fixed).unwrap();
        assert_eq!(v["offsetTable"]["T@G"]["1"], 646);
    }

    #[test]
    fn values_strings_and_arrays_are_left_alone() {
        for text in [
            r#"{"a":1,"b":[1,2,{"c":3}],"d":"{0:1, 2:3}","e":-5}"#,
            r#"{"q\"uote":{"x":[0,1]}}"#,
            "[1, 2, 3]",
            "",
        ] {
            assert!(matches!(
                quote_bare_keys(text),
                std::borrow::Cow::Borrowed(_)
            ));
        }
    }

    #[test]
    fn keys_after_arrays_and_nested_objects() {
        let fixed = quote_bare_keys(r#"{"a":[1,2],7:{8:[9]},9 : 1}"#);
        assert_eq!(fixed, r#"{"a":[1,2],"7":{"8":[9]},"9" : 1}"#);
    }

    #[test]
    fn bare_keys_are_quoted_and_values_are_not() {
        assert_eq!(
            quote_bare_keys(r#"{"brokerAddrs":{0:"h:1",1:"h:2"},"n":[1,2],"s":"{3:4}"}"#),
            r#"{"brokerAddrs":{"0":"h:1","1":"h:2"},"n":[1,2],"s":"{3:4}"}"#
        );
        assert_eq!(quote_bare_keys(r#"{ -1 : 5 }"#), r#"{ "-1" : 5 }"#);
        assert_eq!(
            quote_bare_keys(r#"[{1:2},{3:[4,5]}]"#),
            r#"[{"1":2},{"3":[4,5]}]"#
        );
    }

    /// A Java client's `GetConsumerStatusBody` as fastjson writes it: object keys, bare numbers.
    #[test]
    fn object_keyed_maps_are_read() {
        let text = r#"{"consumerTable":{},"messageQueueTable":{{"brokerName":"b","queueId":0,"topic":"T"}:5, {"brokerName":"b","queueId":1,"topic":"T"} : -1},"n":[1,{"a":2}],7:"x"}"#;
        let v = FastValue::parse(text).unwrap();
        assert_eq!(v.get("consumerTable"), Some(&FastValue::Object(vec![])));
        let Some(FastValue::Object(table)) = v.get("messageQueueTable") else {
            panic!("{v:?}")
        };
        let entries: Vec<(Value, Value)> = table
            .iter()
            .map(|(k, v)| (k.to_json().unwrap(), v.to_json().unwrap()))
            .collect();
        assert_eq!(
            entries,
            [
                (
                    serde_json::json!({"brokerName":"b","queueId":0,"topic":"T"}),
                    serde_json::json!(5)
                ),
                (
                    serde_json::json!({"brokerName":"b","queueId":1,"topic":"T"}),
                    serde_json::json!(-1)
                ),
            ]
        );
        assert_eq!(
            v.get("n").and_then(FastValue::to_json),
            Some(serde_json::json!([1, {"a": 2}]))
        );
        // An object key makes the whole object non-JSON; a bare number key too.
        assert_eq!(v.to_json(), None);
        assert_eq!(v.get("missing"), None);
        let plain = FastValue::parse(r#" {"a":{"b":null}} "#).unwrap();
        assert_eq!(plain.to_json(), Some(serde_json::json!({"a":{"b":null}})));
    }

    #[test]
    fn broken_text_is_an_error_not_a_panic() {
        for bad in [
            "",
            "{",
            "{\"a\"",
            "{\"a\":",
            "{\"a\":1",
            "{\"a\":1,}",
            "{\"a\" 1}",
            "{{}:1",
            "{} x",
            "[1,",
            "{\"a\":1]",
            "\u{0}",
            "{\"a\":{{{",
        ] {
            assert!(FastValue::parse(bad).is_err(), "{bad:?}");
        }
        let deep = "{\"a\":".repeat(100) + "1" + &"}".repeat(100);
        assert!(matches!(
            FastValue::parse(&deep),
            Err(FastjsonError::TooDeep)
        ));
        let fine = "{\"a\":".repeat(10) + "1" + &"}".repeat(10);
        assert!(FastValue::parse(&fine).is_ok());
    }

    proptest::proptest! {
        /// A consumer's answer is untrusted input: whatever it holds, reading it never panics.
        #[test]
        fn any_text_is_read_or_refused(text in "[{}\\[\\]:,\"a-z0-9 .-]{0,64}") {
            let _ = FastValue::parse(&text);
            let _ = quote_bare_keys(&text);
        }

        #[test]
        fn any_unicode_is_read_or_refused(text in "\\PC{0,48}") {
            let _ = FastValue::parse(&text);
        }
    }
}
