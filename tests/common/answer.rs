//! An answer reduced to what the name-server tests compare: code, remark, the one header field a
//! test looks at (`value` of GET_KV_CONFIG, `changed` of QUERY_DATA_VERSION) and the body as JSON
//! (or its text when it is not JSON, e.g. fastjson's bare keys).

use actormq::client::Client;
use actormq::protocol::{response_code, RemotingCommand};

#[derive(Debug, PartialEq)]
pub struct Answer {
    pub code: i32,
    pub remark: Option<String>,
    pub header: Option<String>,
    pub body: Option<serde_json::Value>,
}

impl Answer {
    pub fn success() -> Answer {
        Answer {
            code: response_code::SUCCESS,
            remark: None,
            header: None,
            body: None,
        }
    }

    pub fn refused(code: i32, remark: &str) -> Answer {
        Answer {
            code,
            remark: Some(remark.to_string()),
            ..Answer::success()
        }
    }
}

/// Sends `cmd` and reads the answer, with the header field `header`.
pub async fn ask(client: &Client, cmd: RemotingCommand, header: &str) -> Answer {
    let resp = client.request(cmd).await.expect("an answer");
    let body = (!resp.body.is_empty()).then(|| {
        serde_json::from_slice(&resp.body).unwrap_or_else(|_| {
            serde_json::Value::String(String::from_utf8_lossy(&resp.body).into_owned())
        })
    });
    Answer {
        code: resp.code,
        remark: resp.remark.clone().filter(|r| !r.is_empty()),
        header: resp.ext(header).map(str::to_string),
        body,
    }
}
