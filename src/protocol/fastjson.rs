//! fastjson's non-standard JSON made readable by serde_json. Java writes a map with integer keys
//! (`HashMap<Long, String>`, `ConcurrentMap<Integer, Long>`) with the keys unquoted
//! (`{"brokerAddrs":{0:"10.0.0.1:10911"}}`, `{"offsetTable":{1:5}}`): `delayOffset.json`, and the
//! GET_BROKER_CLUSTER_INFO body of a Java name server (`rocketmq-reference.md` §3.5).

/// Quotes bare numeric object keys (`{1:5}` -> `{"1":5}`). Strings, and numbers that are values
/// (including array elements), are left untouched.
pub fn quote_bare_keys(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    let mut chars = text.char_indices().peekable();
    let (mut in_string, mut escaped, mut expect_key) = (false, false, false);
    // Whether each open container is an object (true) or an array (false).
    let mut objects: Vec<bool> = Vec::new();
    while let Some((i, c)) = chars.next() {
        if in_string {
            out.push(c);
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => {
                in_string = true;
                expect_key = false;
                out.push(c);
            }
            '{' | '[' => {
                objects.push(c == '{');
                expect_key = c == '{';
                out.push(c);
            }
            '}' | ']' => {
                objects.pop();
                expect_key = false;
                out.push(c);
            }
            ',' => {
                expect_key = objects.last().copied().unwrap_or(false);
                out.push(c);
            }
            c if expect_key && (c.is_ascii_digit() || c == '-') => {
                let mut end = i + c.len_utf8();
                while let Some((j, d)) = chars.peek().copied() {
                    if !d.is_ascii_digit() {
                        break;
                    }
                    end = j + 1;
                    chars.next();
                }
                out.push('"');
                out.push_str(&text[i..end]);
                out.push('"');
                expect_key = false;
            }
            c if c.is_whitespace() => out.push(c),
            _ => {
                expect_key = false;
                out.push(c);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::quote_bare_keys;

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
