use super::*;
use crate::store::StoreError;

/// What a 5.3 broker writes (fastjson, keys sorted), trimmed to one group.
const JAVA_5_FILE: &str = r#"{
    "dataVersion":{"counter":3,"stateVersion":0,"timestamp":1700000000000},
    "forbiddenTable":{},
    "subscriptionGroupTable":{
        "cg":{"attributes":{},"brokerId":0,"consumeBroadcastEnable":true,"consumeEnable":true,
              "consumeFromMinEnable":true,"consumeMessageOrderly":false,"consumeTimeoutMinute":15,
              "groupName":"cg","groupRetryPolicy":{"type":"CUSTOMIZED"},"groupSysFlag":0,
              "notifyConsumerIdsChangedEnable":true,"retryMaxTimes":5,"retryQueueNums":2,
              "whichBrokerWhenConsumeSlowly":1}
    }
}"#;

#[test]
fn a_java_file_loads_and_keeps_what_actormq_does_not_use() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config/subscriptionGroup.json");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, JAVA_5_FILE).unwrap();
    let table = SubscriptionGroupTable::load(&path).unwrap();
    let cg = table.get("cg").unwrap();
    assert_eq!((cg.retry_queue_nums, cg.retry_max_times), (2, 5));
    assert_eq!(cg.other["groupRetryPolicy"]["type"], "CUSTOMIZED");
    assert!(table.other.contains_key("forbiddenTable"));
    table.save(&path).unwrap();
    assert_eq!(SubscriptionGroupTable::load(&path).unwrap(), table);
}

#[test]
fn a_missing_file_is_an_empty_table_and_garbage_is_corruption() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("subscriptionGroup.json");
    assert_eq!(
        SubscriptionGroupTable::load(&path).unwrap(),
        SubscriptionGroupTable::default()
    );
    std::fs::write(&path, "{not json").unwrap();
    assert!(matches!(
        SubscriptionGroupTable::load(&path),
        Err(StoreError::Corruption(_))
    ));
}

/// `findSubscriptionGroupConfig`: Java's defaults for a new group, once; refused when auto-creation
/// is off or the name is invalid.
#[test]
fn unknown_groups_are_created_with_java_defaults() {
    let mut t = SubscriptionGroupTable::default();
    let (cg, created) = t.find_or_create("cg", true).unwrap();
    assert!(created);
    assert_eq!((cg.retry_queue_nums, cg.retry_max_times), (1, 16));
    assert!(cg.consume_enable && !cg.consume_message_orderly);
    assert_eq!(t.data_version.counter, 1);
    let (_, created) = t.find_or_create("cg", true).unwrap();
    assert!(!created);
    assert_eq!(t.data_version.counter, 1);
    assert_eq!(
        t.find_or_create("other", false).unwrap_err(),
        GroupError::NotExist("other".into())
    );
    assert!(t.find_or_create("bad group", true).is_err());
    assert!(t.find_or_create(&"g".repeat(121), true).is_err());
    assert!(t.find_or_create(&"g".repeat(120), true).is_ok());
    // An existing group is found even with auto-creation off.
    assert!(t.find_or_create("cg", false).is_ok());
}

#[test]
fn group_names() {
    assert!(validate_group_name("CID_cg-1|%x").is_ok());
    assert!(validate_group_name("").is_err());
    assert!(validate_group_name("  ").is_err());
    assert!(validate_group_name("a.b").is_err());
}

/// Like topic names (found by fuzzing there): a refused group is named on one line.
#[test]
fn a_refused_group_is_named_on_one_line() {
    let err = validate_group_name("cg\nX").unwrap_err();
    assert!(
        err.starts_with("the specified group cg\\nX contains"),
        "{err}"
    );
}

/// UPDATE_AND_CREATE_SUBSCRIPTIONGROUP: the new settings replace the old ones whole, and the data
/// version moves on (a slave then takes the table).
#[test]
fn upsert_replaces_a_groups_settings_and_moves_the_version() {
    let mut t = SubscriptionGroupTable::default();
    t.find_or_create("g", true).unwrap();
    let before = t.data_version.counter;
    let mut config = SubscriptionGroupConfig::new("g");
    config.retry_max_times = 3;
    t.upsert(config);
    assert_eq!(t.get("g").unwrap().retry_max_times, 3);
    assert!(t.data_version.counter > before);
    t.upsert(SubscriptionGroupConfig::new("h"));
    assert_eq!(t.subscription_group_table.len(), 2);
}

#[test]
fn a_removed_group_is_gone_and_moves_the_data_version_once() {
    let mut t = SubscriptionGroupTable::default();
    t.find_or_create("cg", true).unwrap();
    let before = t.data_version.counter;
    assert!(t.remove("cg"));
    assert_eq!(t.data_version.counter, before + 1);
    assert!(t.get("cg").is_none());
    assert!(!t.remove("cg"));
    assert_eq!(t.data_version.counter, before + 1);
}

#[test]
fn system_groups_are_created_and_predefined_groups_exist_without_auto_create() {
    let mut table = SubscriptionGroupTable::default();
    assert!(table.find_or_create("app", false).is_err());
    let (_, created) = table.find_or_create("CID_RMQ_SYS_X", false).unwrap();
    assert!(created);
    let table = table.with_predefined();
    for name in PREDEFINED_GROUPS {
        assert_eq!(
            table.get(name).unwrap(),
            &SubscriptionGroupConfig::new(name)
        );
    }
    // What a file says of a predefined group is kept.
    let mut custom = SubscriptionGroupTable::default();
    custom.upsert(SubscriptionGroupConfig {
        retry_max_times: 2,
        ..SubscriptionGroupConfig::new("TOOLS_CONSUMER")
    });
    assert_eq!(
        custom
            .with_predefined()
            .get("TOOLS_CONSUMER")
            .unwrap()
            .retry_max_times,
        2
    );
}
