//! The name server's own configuration over the wire: GET_NAMESRV_CONFIG (319) prints it as Java
//! properties text, UPDATE_NAMESRV_CONFIG (318) changes it (`mqadmin getNamesrvConfig` /
//! `updateNamesrvConfig`).
//!
//! Java prints every field of its `NamesrvConfig` and `NettyServerConfig`; actormq prints the keys
//! that have an actormq equivalent, with actormq's values ([`NamesrvProperties`]). Java's update
//! sets any known field by reflection (unknown keys are silently dropped) and refuses only its
//! black list. actormq can change one thing while running, `orderMessageEnable`; every other key
//! is refused by name, with nothing applied, rather than answered SUCCESS and ignored.
//!
//! The request body is read as Java's `Properties.load(InputStream)` reads it (ISO-8859-1,
//! comments, `=`/`:`/blank separators, backslash escapes and continuations): [`parse_properties`].

use std::net::SocketAddr;

use crate::config::BrokerConfig;
use crate::protocol::header::Quoted;

/// Keys Java refuses with NO_PERMISSION "Can not update config in black list." (its fixed list
/// plus `NamesrvConfig.configBlackList`'s default).
pub const BLACK_LIST: [&str; 4] = [
    "configBlackList",
    "configStorePath",
    "kvConfigPath",
    "rocketmqHome",
];

/// The one key UPDATE_NAMESRV_CONFIG applies (until restart).
pub const ORDER_MESSAGE_ENABLE: &str = "orderMessageEnable";

/// What GET_NAMESRV_CONFIG prints, under Java's key names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamesrvProperties {
    /// `namesrv.listen` as configured (`bindAddress`, `listenPort`; port 0 stays 0).
    pub listen: SocketAddr,
    /// `kvConfigPath`.
    pub kv_config_path: String,
    /// `scanNotActiveBrokerInterval`: `namesrv.scan_interval_ms`.
    pub scan_interval_ms: u64,
    /// `serverChannelMaxIdleTimeSeconds`: `server.idle_timeout_secs`, which the name-server
    /// listener applies too.
    pub idle_timeout_secs: u64,
    /// `orderMessageEnable`, as it is now.
    pub order_message_enable: bool,
}

impl NamesrvProperties {
    /// The values of a node's configuration (`order_message_enable` as configured).
    pub fn of(config: &BrokerConfig) -> NamesrvProperties {
        NamesrvProperties {
            listen: config.namesrv.listen,
            kv_config_path: super::kv_config::kv_config_path(config)
                .display()
                .to_string(),
            scan_interval_ms: config.namesrv.scan_interval_ms,
            idle_timeout_secs: config.server.idle_timeout_secs,
            order_message_enable: config.namesrv.order_message_enable,
        }
    }

    /// `key=value` lines sorted by key, as Java's `getAllConfigsFormatString`. The fixed values
    /// are what actormq always does: both topic lists are served, REGISTER_BROKER answers carry
    /// the order-topic namespace.
    pub fn render(&self) -> String {
        let pairs = [
            ("bindAddress", self.listen.ip().to_string()),
            ("enableAllTopicList", "true".to_string()),
            ("enableTopicList", "true".to_string()),
            ("kvConfigPath", self.kv_config_path.clone()),
            ("listenPort", self.listen.port().to_string()),
            (ORDER_MESSAGE_ENABLE, self.order_message_enable.to_string()),
            ("returnOrderTopicConfigToBroker", "true".to_string()),
            (
                "scanNotActiveBrokerInterval",
                self.scan_interval_ms.to_string(),
            ),
            (
                "serverChannelMaxIdleTimeSeconds",
                self.idle_timeout_secs.to_string(),
            ),
        ];
        pairs.iter().map(|(k, v)| format!("{k}={v}\n")).collect()
    }
}

/// What an accepted UPDATE_NAMESRV_CONFIG changes.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ConfigUpdate {
    pub order_message_enable: Option<bool>,
}

/// Why an UPDATE_NAMESRV_CONFIG is refused; nothing of it is applied.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigUpdateError {
    /// The body is not properties text (Java: SYSTEM_ERROR "string2Properties error").
    #[error("string2Properties error: {0}")]
    Properties(PropertiesError),
    /// Java's remark, exactly (NO_PERMISSION).
    #[error("Can not update config in black list.")]
    BlackList,
    /// Keys actormq cannot change while running (NO_PERMISSION), quoted.
    #[error(
        "Can not update config at runtime: {}; only {ORDER_MESSAGE_ENABLE} can be, the rest \
         is set in the config file and takes a restart",
        .0.join(", ")
    )]
    NotAtRuntime(Vec<String>),
    /// `orderMessageEnable` is not `true` or `false` (SYSTEM_ERROR); the value quoted.
    #[error("{ORDER_MESSAGE_ENABLE}={0}: not true or false")]
    NotBoolean(String),
}

/// Reads an UPDATE_NAMESRV_CONFIG body. An empty body changes nothing (Java: SUCCESS).
pub fn plan_update(body: &[u8]) -> Result<ConfigUpdate, ConfigUpdateError> {
    let props = parse_properties(body).map_err(ConfigUpdateError::Properties)?;
    if props.iter().any(|(k, _)| BLACK_LIST.contains(&k.as_str())) {
        return Err(ConfigUpdateError::BlackList);
    }
    // Named in the remark: the first 20 distinct keys.
    let mut refused: Vec<&str> = Vec::new();
    for (k, _) in &props {
        if k != ORDER_MESSAGE_ENABLE && !refused.contains(&k.as_str()) && refused.len() < 20 {
            refused.push(k);
        }
    }
    if !refused.is_empty() {
        let names = refused.iter().map(|k| Quoted(k).to_string()).collect();
        return Err(ConfigUpdateError::NotAtRuntime(names));
    }
    let mut update = ConfigUpdate::default();
    // Later lines win, as in `Properties.load`.
    if let Some((_, v)) = props.iter().rev().find(|(k, _)| k == ORDER_MESSAGE_ENABLE) {
        // Java's `Boolean.parseBoolean` makes any other word false; a typo is refused here.
        update.order_message_enable = Some(match v.trim() {
            t if t.eq_ignore_ascii_case("true") => true,
            t if t.eq_ignore_ascii_case("false") => false,
            _ => return Err(ConfigUpdateError::NotBoolean(Quoted(v).to_string())),
        });
    }
    Ok(update)
}

/// A properties text `Properties.load` throws on.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PropertiesError {
    #[error("Malformed \\uxxxx encoding.")]
    MalformedUnicode,
}

/// `Properties.load(InputStream)`: every `(key, value)` in order (duplicates kept; the last one
/// counts). Bytes are ISO-8859-1 characters, as Java reads a stream.
pub fn parse_properties(bytes: &[u8]) -> Result<Vec<(String, String)>, PropertiesError> {
    let text: Vec<char> = bytes.iter().map(|&b| char::from(b)).collect();
    let mut out = Vec::new();
    for line in logical_lines(&text) {
        let (key, value) = split_key_value(&line);
        out.push((unescape(key)?, unescape(value)?));
    }
    Ok(out)
}

/// Java's blank characters between a key and its value and at the start of a line.
fn is_blank(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\u{c}')
}

/// `Properties.LineReader`: natural lines joined where one ends in an odd number of backslashes
/// (the joined line's leading blanks dropped); blank and comment (`#`, `!`) lines skipped. The
/// escapes stay for [`unescape`], except the joining backslash.
fn logical_lines(text: &[char]) -> Vec<Vec<char>> {
    let mut lines = Vec::new();
    let mut i = 0;
    while i < text.len() {
        let mut line = Vec::new();
        let mut first = true;
        loop {
            // Leading blanks of a natural line.
            while i < text.len() && is_blank(text[i]) {
                i += 1;
            }
            let start = i;
            while i < text.len() && text[i] != '\n' && text[i] != '\r' {
                i += 1;
            }
            let natural = &text[start..i];
            // The line terminator: \n, \r or \r\n.
            if i < text.len() {
                if text[i] == '\r' && text.get(i + 1) == Some(&'\n') {
                    i += 1;
                }
                i += 1;
            }
            if first && matches!(natural.first(), Some('#' | '!')) {
                break;
            }
            first = false;
            let trailing = natural.iter().rev().take_while(|&&c| c == '\\').count();
            if trailing % 2 == 1 {
                line.extend_from_slice(&natural[..natural.len() - 1]);
                if i < text.len() {
                    continue;
                }
            } else {
                line.extend_from_slice(natural);
            }
            break;
        }
        if !line.is_empty() {
            lines.push(line);
        }
    }
    lines
}

/// `Properties.load0`: the key ends at the first unescaped `=`, `:` or blank; then blanks, at most
/// one `=` or `:`, and blanks again precede the value.
fn split_key_value(line: &[char]) -> (&[char], &[char]) {
    let mut key_len = 0;
    let mut escaped = false;
    while key_len < line.len() {
        let c = line[key_len];
        if !escaped && (c == '=' || c == ':' || is_blank(c)) {
            break;
        }
        escaped = c == '\\' && !escaped;
        key_len += 1;
    }
    let mut v = key_len;
    let mut separator_seen = false;
    while v < line.len() {
        let c = line[v];
        if is_blank(c) {
            v += 1;
        } else if !separator_seen && (c == '=' || c == ':') {
            separator_seen = true;
            v += 1;
        } else {
            break;
        }
    }
    (&line[..key_len], &line[v..])
}

/// `Properties.loadConvert`: `\uXXXX`, `\t` `\n` `\r` `\f`, and `\x` = `x`.
fn unescape(s: &[char]) -> Result<String, PropertiesError> {
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        let c = s[i];
        i += 1;
        if c != '\\' {
            out.push(c);
            continue;
        }
        let Some(&e) = s.get(i) else { break };
        i += 1;
        match e {
            'u' => {
                let hex = s.get(i..i + 4).ok_or(PropertiesError::MalformedUnicode)?;
                let mut unit: u32 = 0;
                for h in hex {
                    unit = unit * 16 + h.to_digit(16).ok_or(PropertiesError::MalformedUnicode)?;
                }
                i += 4;
                // A UTF-16 unit; a lone surrogate becomes U+FFFD.
                out.push(char::from_u32(unit).unwrap_or('\u{fffd}'));
            }
            't' => out.push('\t'),
            'r' => out.push('\r'),
            'n' => out.push('\n'),
            'f' => out.push('\u{c}'),
            other => out.push(other),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
