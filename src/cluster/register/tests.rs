use super::*;
use crate::broker_permission::BrokerPermission;
use crate::protocol::response_code;

fn me() -> BrokerRegistration {
    BrokerRegistration {
        cluster: "DefaultCluster".into(),
        broker_name: "broker-a".into(),
        broker_addr: "10.0.0.5:10911".into(),
        broker_id: 0,
        ha_server_addr: "10.0.0.5:10912".into(),
    }
}

fn table() -> TopicTable {
    let mut t = TopicTable::default();
    t.insert(TopicConfig::new("orders", 4));
    t.insert(TopicConfig::new("SCHEDULE_TOPIC_XXXX", 18));
    t
}

#[test]
fn crc_is_javas_with_the_sign_bit_cleared() {
    // CRC-32 of "123456789" is 0xCBF43926; Java's UtilAll.crc32 masks it with 0x7FFFFFFF.
    assert_eq!(java_crc32(b"123456789"), 0x4BF4_3926);
}

#[test]
fn the_request_carries_javas_header_and_a_json_body_with_the_data_version() {
    let topics = registered_topics(&table(), true, 8, BrokerPermission::default());
    let cmd = me().register_request(&topics);
    assert_eq!(cmd.code, request_code::REGISTER_BROKER);
    for (k, v) in [
        ("brokerName", "broker-a"),
        ("brokerAddr", "10.0.0.5:10911"),
        ("clusterName", "DefaultCluster"),
        ("haServerAddr", "10.0.0.5:10912"),
        ("brokerId", "0"),
        ("compressed", "false"),
        ("enableActingMaster", "false"),
    ] {
        assert_eq!(cmd.ext(k), Some(v), "{k}");
    }
    assert_eq!(
        cmd.ext("bodyCrc32"),
        Some(java_crc32(&cmd.body).to_string().as_str())
    );
    let body: serde_json::Value = serde_json::from_slice(&cmd.body).unwrap();
    let wrapper = &body["topicConfigSerializeWrapper"];
    assert_eq!(wrapper["dataVersion"]["counter"], 2);
    assert_eq!(wrapper["dataVersion"]["stateVersion"], 0);
    assert_eq!(wrapper["topicConfigTable"]["orders"]["writeQueueNums"], 4);
    assert_eq!(wrapper["topicConfigTable"]["TBW102"]["perm"], 7);
    assert_eq!(wrapper["topicConfigTable"]["TBW102"]["readQueueNums"], 8);
    assert_eq!(body["filterServerList"], serde_json::json!([]));
    // And the name server side reads back exactly that.
    let parsed = parse_register_request(&cmd).unwrap();
    assert_eq!(parsed.topics, topics);
    assert_eq!(parsed.broker_id, 0);
    assert_eq!(parsed.enable_acting_master, Some(false));
    assert_eq!(parsed.heartbeat_timeout_ms, None);
}

#[test]
fn without_auto_create_there_is_no_tbw102() {
    let topics = registered_topics(&table(), false, 8, BrokerPermission::default());
    assert!(!topics.topic_config_table.contains_key(AUTO_CREATE_TOPIC));
    assert_eq!(topics.topic_config_table.len(), 2);
}

#[test]
fn a_bad_crc_a_missing_field_and_a_bad_body_are_refused() {
    let mut cmd = me().register_request(&registered_topics(
        &table(),
        true,
        8,
        BrokerPermission::default(),
    ));
    cmd.ext_fields.insert("bodyCrc32", "12345");
    assert_eq!(parse_register_request(&cmd), Err(ClusterError::Crc));
    // crc 0 = not checked
    cmd.ext_fields.insert("bodyCrc32", "0");
    assert!(parse_register_request(&cmd).is_ok());

    let mut no_name = me().register_request(&TopicConfigWrapper::default());
    no_name.ext_fields = no_name
        .ext_fields
        .iter()
        .filter(|(k, _)| *k != "brokerName")
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let e = parse_register_request(&no_name).unwrap_err();
    assert!(e.to_string().contains("<brokerName>"), "{e}");

    let garbage = me()
        .register_request(&TopicConfigWrapper::default())
        .with_body(bytes::Bytes::from_static(b"{not json"));
    let mut garbage = garbage;
    garbage.ext_fields.insert("bodyCrc32", "0");
    assert!(matches!(
        parse_register_request(&garbage),
        Err(ClusterError::Body(_))
    ));
}

#[test]
fn an_old_broker_sends_a_bare_wrapper_and_no_body_means_no_topics() {
    let topics = registered_topics(&table(), false, 8, BrokerPermission::default());
    let mut cmd = me().register_request(&topics);
    cmd.body = serde_json::to_vec(&topics).unwrap().into();
    cmd.ext_fields.insert("bodyCrc32", "0");
    cmd.version = 10;
    assert_eq!(parse_register_request(&cmd).unwrap().topics, topics);
    cmd.body = bytes::Bytes::new();
    assert_eq!(
        parse_register_request(&cmd).unwrap().topics,
        TopicConfigWrapper::default()
    );
}

#[test]
fn unregister_names_the_broker() {
    let cmd = me().unregister_request();
    assert_eq!(cmd.code, request_code::UNREGISTER_BROKER);
    let r = parse_unregister_request(&cmd).unwrap();
    assert_eq!(r.broker_addr, "10.0.0.5:10911");
    assert_eq!(r.broker_id, 0);
    let mut bad = cmd.clone();
    bad.ext_fields.insert("brokerId", "-1");
    assert!(parse_unregister_request(&bad).is_err());
}

#[test]
fn the_answer_names_the_master_only_when_set() {
    let req = me().unregister_request();
    let ok = req.response_to(response_code::SUCCESS, None);
    assert_eq!(MasterInfo::from_answer(&ok), MasterInfo::default());
    let ok = ok
        .with_ext("masterAddr", "10.0.0.4:10911")
        .with_ext("haServerAddr", "10.0.0.4:10912");
    assert_eq!(
        MasterInfo::from_answer(&ok),
        MasterInfo {
            master_addr: Some("10.0.0.4:10911".into()),
            ha_server_addr: Some("10.0.0.4:10912".into()),
        }
    );
}

#[test]
fn a_java_5x_body_with_static_topic_mappings_is_read() {
    let body = br#"{"filterServerList":[],"topicConfigSerializeWrapper":{"dataVersion":{"counter":3,"stateVersion":0,"timestamp":1700000000000},"mappingDataVersion":{"counter":0,"stateVersion":0,"timestamp":0},"topicConfigTable":{"orders":{"attributes":{},"order":false,"perm":6,"readQueueNums":4,"topicFilterType":"SINGLE_TAG","topicName":"orders","topicSysFlag":0,"writeQueueNums":4}},"topicQueueMappingInfoMap":{"orders":{"bname":"broker-a","currIdMap":{0:0,1:1},"epoch":0,"scope":"__global__","topic":"orders","totalQueues":2}}}}"#;
    let mut cmd = me().register_request(&TopicConfigWrapper::default());
    cmd.body = bytes::Bytes::from_static(body);
    cmd.ext_fields
        .insert("bodyCrc32", java_crc32(body).to_string());
    let r = parse_register_request(&cmd).unwrap();
    assert_eq!(r.topics.data_version.counter, 3);
    assert_eq!(r.topics.topic_config_table["orders"].write_queue_nums, 4);
}

/// A compressed REGISTER_BROKER (Java's `compressedRegister=true`): the CRC is over the body as
/// sent; the topics and data version come out as from the JSON form, the sys flags 0 (the
/// compressed form has none); a bad stream is a body error.
#[test]
fn a_compressed_body_is_read_and_checked() {
    use crate::cluster::compressed_register;
    let topics = registered_topics(&table(), true, 8, BrokerPermission::default());
    let mut cmd = me().register_request(&topics);
    let body = compressed_register::encode(&topics);
    cmd.ext_fields.insert("compressed", "true");
    cmd.ext_fields
        .insert("bodyCrc32", java_crc32(&body).to_string());
    cmd.body = body.into();
    cmd.version = 479;
    assert_eq!(parse_register_request(&cmd).unwrap().topics, topics);

    // The same bytes with a JSON body's CRC: refused before anything is inflated.
    let mut bad_crc = cmd.clone();
    bad_crc.ext_fields.insert("bodyCrc32", "1");
    assert_eq!(parse_register_request(&bad_crc), Err(ClusterError::Crc));

    let mut garbage = cmd.clone();
    garbage.body = bytes::Bytes::from_static(b"{\"not\":\"zlib\"}");
    garbage.ext_fields.insert("bodyCrc32", "0");
    let e = parse_register_request(&garbage).unwrap_err();
    assert!(matches!(e, ClusterError::Body(_)), "{e}");
    assert!(
        e.to_string()
            .starts_with("Failed to decode RegisterBrokerBody: compressed body: "),
        "{e}"
    );

    // Java's own bytes (`compressed_register/JavaBody.java`).
    let mut java = cmd.clone();
    java.body =
        bytes::Bytes::from_static(include_bytes!("../compressed_register/java-5.3.3-body.bin"));
    java.ext_fields.insert("bodyCrc32", "0");
    let r = parse_register_request(&java).unwrap();
    assert_eq!(r.topics.data_version.counter, 7);
    assert_eq!(r.topics.topic_config_table["orders"].read_queue_nums, 8);
    assert_eq!(r.topics.topic_config_table["orders"].topic_sys_flag, 0);
}

/// Before `V3_0_11` (ordinal 37) Java reads a bare wrapper, whatever `compressed` says; from it
/// on a `RegisterBrokerBody`.
#[test]
fn the_body_form_follows_the_brokers_version() {
    let topics = registered_topics(&table(), false, 8, BrokerPermission::default());
    let mut cmd = me().register_request(&topics);
    cmd.ext_fields.insert("bodyCrc32", "0");
    cmd.version = 37;
    assert_eq!(parse_register_request(&cmd).unwrap().topics, topics);
    cmd.version = 36;
    // A RegisterBrokerBody read as a bare wrapper: no topics in it.
    assert_eq!(
        parse_register_request(&cmd).unwrap().topics,
        TopicConfigWrapper::default()
    );
    cmd.body = serde_json::to_vec(&topics).unwrap().into();
    cmd.ext_fields.insert("compressed", "true");
    assert_eq!(parse_register_request(&cmd).unwrap().topics, topics);
}

/// A 5.x Java broker with `compressedRegister=true` sends its compressed body as
/// `compressed=false`; it is read by its zlib header.
#[test]
fn a_compressed_body_labelled_uncompressed_is_read() {
    let mut cmd = me().register_request(&TopicConfigWrapper::default());
    cmd.body =
        bytes::Bytes::from_static(include_bytes!("../compressed_register/java-5.3.3-body.bin"));
    cmd.ext_fields
        .insert("bodyCrc32", java_crc32(&cmd.body).to_string());
    assert_eq!(cmd.ext("compressed"), Some("false"));
    cmd.version = 479;
    let r = parse_register_request(&cmd).unwrap();
    assert_eq!(r.topics.topic_config_table.len(), 3);
    assert_eq!(r.topics.data_version.state_version, 2);
}
