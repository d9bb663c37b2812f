use super::*;
use proptest::prelude::*;

fn table_in(dir: &tempfile::TempDir) -> KvConfig {
    KvConfig::load(dir.path().join("config/kvConfig.json")).unwrap()
}

#[test]
fn a_missing_file_is_an_empty_table_and_nothing_is_created() {
    let dir = tempfile::tempdir().unwrap();
    let kv = table_in(&dir);
    assert_eq!(kv.get(Some("ns"), Some("k")), None);
    assert_eq!(kv.namespace_json(Some("ns")), None);
    assert!(!dir.path().join("config").exists());
}

#[test]
fn put_get_delete_and_the_file_java_reads() {
    let dir = tempfile::tempdir().unwrap();
    let mut kv = table_in(&dir);
    assert_eq!(
        kv.put("ORDER_TOPIC_CONFIG", "T", "broker-a:4").unwrap(),
        None
    );
    assert_eq!(
        kv.put("ORDER_TOPIC_CONFIG", "T", "broker-a:8").unwrap(),
        Some("broker-a:4".into())
    );
    kv.put("other", "k", "v").unwrap();
    assert_eq!(
        kv.get(Some("ORDER_TOPIC_CONFIG"), Some("T")),
        Some("broker-a:8")
    );
    assert_eq!(kv.get(None, Some("T")), None);
    assert_eq!(kv.get(Some("ORDER_TOPIC_CONFIG"), None), None);

    let file: serde_json::Value =
        serde_json::from_slice(&std::fs::read(kv.path()).unwrap()).unwrap();
    assert_eq!(
        file,
        serde_json::json!({"configTable": {"ORDER_TOPIC_CONFIG": {"T": "broker-a:8"}, "other": {"k": "v"}}})
    );

    assert_eq!(
        kv.delete(Some("other"), Some("k")).unwrap(),
        Some("v".into())
    );
    assert_eq!(kv.delete(Some("other"), Some("k")).unwrap(), None);
    assert_eq!(kv.delete(None, None).unwrap(), None);
    // The emptied namespace stays, as in Java: its list is empty, not "not found".
    assert_eq!(
        kv.namespace_json(Some("other")).unwrap(),
        br#"{"table":{}}"#
    );
    assert_eq!(
        kv.namespace_json(Some("ORDER_TOPIC_CONFIG")).unwrap(),
        br#"{"table":{"T":"broker-a:8"}}"#
    );

    let again = table_in(&dir);
    assert_eq!(
        again.get(Some("ORDER_TOPIC_CONFIG"), Some("T")),
        Some("broker-a:8")
    );
    assert_eq!(
        again.namespace_json(Some("other")).unwrap(),
        br#"{"table":{}}"#
    );
}

/// A file the Java name server wrote (fastjson, compact) loads.
#[test]
fn a_java_file_loads() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kvConfig.json");
    std::fs::write(
        &path,
        r#"{"configTable":{"ORDER_TOPIC_CONFIG":{"TopicA":"broker-a:4;broker-b:4"}}}"#,
    )
    .unwrap();
    let kv = KvConfig::load(path).unwrap();
    assert_eq!(
        kv.get(Some(NAMESPACE_ORDER_TOPIC_CONFIG), Some("TopicA")),
        Some("broker-a:4;broker-b:4")
    );
    std::fs::write(dir.path().join("empty.json"), "{}").unwrap();
    assert!(KvConfig::load(dir.path().join("empty.json")).is_ok());
}

#[test]
fn a_damaged_file_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes) in [
        ("cut.json", &br#"{"configTable":{"ns":{"k":"#[..]),
        ("wrong.json", br#"{"configTable":{"ns":["v"]}}"#),
        ("null.json", br#"{"configTable":null}"#),
        ("binary.json", b"\xff\xfe\x00"),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let e = KvConfig::load(path).unwrap_err().to_string();
        assert!(e.contains(name) && e.contains("kvConfig.json"), "{e}");
        assert!(!e.contains('\n'), "one line: {e}");
    }
    // A directory where the file should be: an I/O error, not an empty table.
    let e = KvConfig::load(dir.path().to_path_buf()).unwrap_err();
    assert!(matches!(e, StoreError::Io { .. }), "{e}");
}

/// A change that cannot be written is undone: the table says what the file says.
#[test]
fn a_failed_write_leaves_the_table_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let mut kv = table_in(&dir);
    std::fs::write(dir.path().join("config"), "a file, not a directory").unwrap();
    assert!(kv.put("ns", "k", "v").is_err());
    assert_eq!(kv.get(Some("ns"), Some("k")), None);
    assert_eq!(kv.namespace_json(Some("ns")), None);

    let ok = dir.path().join("ok.json");
    std::fs::write(&ok, r#"{"configTable":{"ns":{"k":"v"}}}"#).unwrap();
    let mut kv = KvConfig::load(ok.clone()).unwrap();
    kv.path = dir.path().join("config/kvConfig.json");
    assert!(kv.delete(Some("ns"), Some("k")).is_err());
    assert_eq!(kv.get(Some("ns"), Some("k")), Some("v"));
}

#[test]
fn put_header() {
    let put = |fields: &[(&'static str, &str)]| {
        let mut cmd = RemotingCommand::request(crate::protocol::request_code::PUT_KV_CONFIG, 1);
        for (k, v) in fields {
            cmd = cmd.with_ext(k, v);
        }
        cmd
    };
    let cmd = put(&[("namespace", "n"), ("key", "k"), ("value", "")]);
    assert_eq!(
        parse_put(&cmd).unwrap(),
        PutKv {
            namespace: "n",
            key: "k",
            value: ""
        }
    );
    for cmd in [
        put(&[("key", "k"), ("value", "v")]),
        put(&[("namespace", "n")]),
    ] {
        assert_eq!(parse_put(&cmd), Err(PutKvError::NamespaceOrKeyNull));
        assert_eq!(
            parse_put(&cmd).unwrap_err().to_string(),
            "namespace or key is null"
        );
    }
    let e = parse_put(&put(&[("namespace", "n"), ("key", "k")])).unwrap_err();
    assert!(
        e.to_string()
            .contains("PutKVConfigRequestHeader.value is null"),
        "{e}"
    );
}

#[test]
fn java_remarks() {
    assert_eq!(
        no_item_remark(Some("ns"), Some("k")),
        "No config item, Namespace: ns Key: k"
    );
    assert_eq!(
        no_item_remark(None, None),
        "No config item, Namespace: null Key: null"
    );
    assert_eq!(
        no_namespace_remark(Some("ns")),
        "No config item, Namespace: ns"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]
    /// Whatever strings go in come back out of the file.
    #[test]
    fn any_strings_round_trip(entries in proptest::collection::vec(
        ("\\PC{0,8}", "[a-z\u{0}\"\\\\é]{0,8}", "\\PC{0,12}"), 0..8)) {
        let dir = tempfile::tempdir().unwrap();
        let mut kv = table_in(&dir);
        for (n, k, v) in &entries {
            kv.put(n, k, v).unwrap();
        }
        let again = table_in(&dir);
        for (n, k, _) in &entries {
            prop_assert_eq!(again.get(Some(n), Some(k)), kv.get(Some(n), Some(k)));
        }
        prop_assert_eq!(&again.table, &kv.table);
    }
}
