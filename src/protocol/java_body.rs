//! Request bodies the Java broker decodes with `RemotingSerializable.decode` (fastjson) and then
//! dereferences, and how it fails on bad ones: the exception escapes the processor and the answer
//! is `SYSTEM_ERROR` with the exception's text as the remark (`rocketmq-reference-2.md` §1.1).
//! [`decode`] reads such a body and [`JavaBodyError`] is that refusal, so every processor that
//! takes a JSON body (the queue locks, the topic and group lists) refuses alike.

use serde::de::DeserializeOwned;

/// A request body Java's broker fails on; `Display` is the exception's text, with the body class
/// and field named in place of the JVM stack frame.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JavaBodyError {
    /// No body, or the JSON `null`: Java's decode returns `null` (or `new String(null)` throws)
    /// and the processor dereferences it.
    #[error("java.lang.NullPointerException, the {body} is missing")]
    Missing { body: &'static str },
    /// The body is not the JSON Java's fastjson reads.
    #[error("com.alibaba.fastjson.JSONException: {detail}, decoding {body}")]
    Json { body: &'static str, detail: String },
    /// A field the processor dereferences is absent or `null`.
    #[error("java.lang.NullPointerException, the field {body}.{field} is null")]
    Null {
        body: &'static str,
        field: &'static str,
    },
}

impl JavaBodyError {
    /// Java answers every one of them `SYSTEM_ERROR` (an exception escaped the processor).
    pub fn response_code(&self) -> i32 {
        super::response_code::SYSTEM_ERROR
    }
}

/// Reads a request body as Java's `RemotingSerializable.decode` does; `body` names the class.
/// Empty or `null`: [`JavaBodyError::Missing`].
pub fn decode<T: DeserializeOwned>(bytes: &[u8], body: &'static str) -> Result<T, JavaBodyError> {
    if bytes.is_empty() {
        return Err(JavaBodyError::Missing { body });
    }
    let parsed: Option<T> = serde_json::from_slice(bytes).map_err(|e| JavaBodyError::Json {
        body,
        detail: e.to_string(),
    })?;
    parsed.ok_or(JavaBodyError::Missing { body })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize, PartialEq)]
    struct Body {
        list: Option<Vec<i32>>,
    }

    #[test]
    fn bodies_decode_or_fail_as_java() {
        assert_eq!(
            decode::<Body>(br#"{"list":[1]}"#, "B"),
            Ok(Body {
                list: Some(vec![1])
            })
        );
        for missing in [&b""[..], b"null"] {
            let e = decode::<Body>(missing, "B").unwrap_err();
            assert_eq!(e, JavaBodyError::Missing { body: "B" });
            assert_eq!(
                e.to_string(),
                "java.lang.NullPointerException, the B is missing"
            );
        }
        let e = decode::<Body>(b"{oops", "B").unwrap_err();
        assert!(matches!(e, JavaBodyError::Json { body: "B", .. }), "{e}");
        assert!(
            e.to_string()
                .starts_with("com.alibaba.fastjson.JSONException: "),
            "{e}"
        );
        assert_eq!(e.response_code(), super::super::response_code::SYSTEM_ERROR);
    }
}
