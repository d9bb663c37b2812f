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

use std::borrow::Cow;

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

#[cfg(test)]
mod tests {
    use super::quote_bare_keys;

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
}
