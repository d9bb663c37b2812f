use super::*;
use proptest::prelude::*;

fn pairs(text: &str) -> Vec<(String, String)> {
    parse_properties(text.as_bytes()).unwrap()
}

fn kv(k: &str, v: &str) -> (String, String) {
    (k.to_string(), v.to_string())
}

#[test]
fn properties_as_java_loads_them() {
    // What `MixAll.properties2String` sends: key=value lines.
    assert_eq!(
        pairs("orderMessageEnable=true\nlistenPort=9876\n"),
        [kv("orderMessageEnable", "true"), kv("listenPort", "9876")]
    );
    // Separators, blanks, comments, line ends.
    assert_eq!(
        pairs("  a = 1\r\nb:2\rc 3\n# c=x\n   ! d=y\n\n\te\nf=\n"),
        [
            kv("a", "1"),
            kv("b", "2"),
            kv("c", "3"),
            kv("e", ""),
            kv("f", "")
        ]
    );
    // Only the first separator counts; the value keeps the rest and its trailing blanks.
    assert_eq!(pairs("a==b : c \n"), [kv("a", "=b : c ")]);
    // Escapes in keys and values; \uXXXX; any other escaped char is itself.
    assert_eq!(
        pairs("a\\=b\\ c=x\\ty\\u0041\\z\\\\\n"),
        [kv("a=b c", "x\tyAz\\")]
    );
    // Continuations drop the next line's leading blanks; an even number of backslashes does not
    // continue; a comment does not continue.
    assert_eq!(
        pairs("a=1\\\n   2\\\n3\nb=x\\\\\nc=y\n#z\\\nd=w"),
        [kv("a", "123"), kv("b", "x\\"), kv("c", "y"), kv("d", "w")]
    );
    // A continuation at the end of the text, and bytes as ISO-8859-1.
    assert_eq!(parse_properties(b"k=v\\").unwrap(), [kv("k", "v")]);
    assert_eq!(parse_properties(b"k=\xe9").unwrap(), [kv("k", "\u{e9}")]);
    assert_eq!(pairs(""), []);
    for bad in ["a=\\u12", "a=\\u12g4", "\\uzzzz=1"] {
        assert_eq!(
            parse_properties(bad.as_bytes()),
            Err(PropertiesError::MalformedUnicode),
            "{bad}"
        );
    }
}

#[test]
fn only_order_message_enable_is_applied() {
    assert_eq!(plan_update(b"").unwrap(), ConfigUpdate::default());
    assert_eq!(
        plan_update(b"orderMessageEnable=true\n").unwrap(),
        ConfigUpdate {
            order_message_enable: Some(true)
        }
    );
    assert_eq!(
        plan_update(b"orderMessageEnable=TRUE\norderMessageEnable = false\n")
            .unwrap()
            .order_message_enable,
        Some(false)
    );
    let e = plan_update(b"orderMessageEnable=yes").unwrap_err();
    assert_eq!(e, ConfigUpdateError::NotBoolean("\"yes\"".into()));
    assert_eq!(
        e.to_string(),
        "orderMessageEnable=\"yes\": not true or false"
    );

    let e = plan_update(b"orderMessageEnable=true\nlistenPort=1\nnoSuchKey=2\nlistenPort=3")
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "Can not update config at runtime: \"listenPort\", \"noSuchKey\"; only \
         orderMessageEnable can be, the rest is set in the config file and takes a restart"
    );
    for black in BLACK_LIST {
        let body = format!("orderMessageEnable=true\n{black}=/x\n");
        assert_eq!(
            plan_update(body.as_bytes()),
            Err(ConfigUpdateError::BlackList)
        );
    }
    assert_eq!(
        plan_update(b"a=\\u00").unwrap_err().to_string(),
        "string2Properties error: Malformed \\uxxxx encoding."
    );
}

/// A remark stays one short line whatever the keys are.
#[test]
fn refusals_are_bounded() {
    let mut body = String::new();
    for i in 0..1000 {
        body.push_str(&format!("key{i}\\n{}=1\n", "x".repeat(500)));
    }
    let remark = plan_update(body.as_bytes()).unwrap_err().to_string();
    assert!(
        !remark.contains('\n') && remark.len() < 3000,
        "{}",
        remark.len()
    );
}

#[test]
fn rendered_keys() {
    let p = NamesrvProperties {
        listen: "127.0.0.1:9876".parse().unwrap(),
        kv_config_path: "/s/config/kvConfig.json".into(),
        scan_interval_ms: 5000,
        idle_timeout_secs: 120,
        order_message_enable: false,
    };
    let text = p.render();
    assert_eq!(
        text,
        "bindAddress=127.0.0.1\nenableAllTopicList=true\nenableTopicList=true\n\
         kvConfigPath=/s/config/kvConfig.json\nlistenPort=9876\norderMessageEnable=false\n\
         returnOrderTopicConfigToBroker=true\nscanNotActiveBrokerInterval=5000\n\
         serverChannelMaxIdleTimeSeconds=120\n"
    );
    // Sorted, and read back as Java reads it.
    let keys: Vec<String> = pairs(&text).into_iter().map(|(k, _)| k).collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);
    let config = BrokerConfig::default();
    let of = NamesrvProperties::of(&config);
    assert_eq!(of.kv_config_path, "./store/config/kvConfig.json");
    assert_eq!(of.listen.port(), 9876);
}

proptest! {
    /// Any bytes: an answer, never a panic.
    #[test]
    fn any_body_is_answered(body in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = plan_update(&body);
    }

    /// What Java's `properties2String` writes for a plain key and value reads back.
    #[test]
    fn plain_pairs_round_trip(k in "[A-Za-z][A-Za-z0-9.]{0,20}", v in "[A-Za-z0-9./;:, -]{0,30}") {
        let text = format!("{k}={v}\n");
        let got = pairs(&text);
        prop_assert_eq!(got, vec![(k, v.trim_start().to_string())]);
    }
}
