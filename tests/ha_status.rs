//! `GET_BROKER_HA_STATUS` (907, `docs/cluster.md` "Checking replication"): an actormq master and
//! slave on loopback, asked raw once the slave caught up (the master lists the slave in sync at
//! the master's log end; the slave names its master's HA address and its own log end), and (with
//! the Java jars, `ACTORMQ_JAVA_SERVER`) the stock `mqadmin haStatus -b` printing both.

mod common;

use std::time::Duration;

use actormq::client::{producer_request as send_request, Client, OutgoingMessage};
use actormq::protocol::{request_code, response_code, RemotingCommand};
use common::{wait_until_async, TestBroker};
use serde_json::Value;

const TOPIC: &str = "HaStatusTopic";

/// The broker's 907 answer, parsed.
async fn ha_status(c: &Client) -> Value {
    let r = c
        .request(RemotingCommand::request(
            request_code::GET_BROKER_HA_STATUS,
            0,
        ))
        .await
        .unwrap();
    assert_eq!(r.code, response_code::SUCCESS, "{:?}", r.remark);
    serde_json::from_slice(&r.body).unwrap()
}

/// `commitLogMaxOffset` of GET_BROKER_RUNTIME_INFO (28).
async fn runtime_max_offset(c: &Client) -> i64 {
    let r = c
        .request(RemotingCommand::request(
            request_code::GET_BROKER_RUNTIME_INFO,
            0,
        ))
        .await
        .unwrap();
    let v: Value = serde_json::from_slice(&r.body).unwrap();
    v["table"]["commitLogMaxOffset"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn master_and_slave_answer_ha_status() {
    let master = TestBroker::start_with(
        "[cluster]\nrole = \"ASYNC_MASTER\"\n[ha]\nheartbeat_interval_ms = 1000\nhousekeeping_interval_ms = 4000",
    );
    let master_ha = master.ha_addr.clone().expect("a master");
    let slave = TestBroker::start_with(&format!(
        "[cluster]\nrole = \"SLAVE\"\nbroker_id = 1\n[ha]\nmaster_addr = \"{master_ha}\"\nmaster_broker_addr = \"{}\"\nheartbeat_interval_ms = 1000\nhousekeeping_interval_ms = 4000\nreconnect_max_ms = 1000",
        master.addr
    ));
    let (mc, sc) = (master.client().await, slave.client().await);
    let create = RemotingCommand::request(request_code::UPDATE_AND_CREATE_TOPIC, 0)
        .with_ext("topic", TOPIC)
        .with_ext("defaultTopic", "TBW102")
        .with_ext("readQueueNums", 4)
        .with_ext("writeQueueNums", 4)
        .with_ext("perm", 6)
        .with_ext("topicFilterType", "SINGLE_TAG");
    assert_eq!(
        mc.request(create).await.unwrap().code,
        response_code::SUCCESS
    );
    for i in 0..20 {
        let m = OutgoingMessage::new(TOPIC, format!("ha-status-{i}"));
        let r = mc.request(send_request(&m)).await.unwrap();
        assert_eq!(r.code, response_code::SUCCESS, "{:?}", r.remark);
    }
    let max = runtime_max_offset(&mc).await;
    assert!(max > 0);

    // The slave caught up: its own log end is the master's, and the master saw its ack.
    wait_until_async(Duration::from_secs(20), "the slave to catch up", || {
        let (mc, sc) = (&mc, &sc);
        async move {
            runtime_max_offset(sc).await == max
                && ha_status(mc).await["haConnectionInfo"][0]["slaveAckOffset"] == max
        }
    })
    .await;

    let m = ha_status(&mc).await;
    assert_eq!(m["master"], true, "{m}");
    assert_eq!(m["masterCommitLogMaxOffset"], max, "{m}");
    assert_eq!(m["inSyncSlaveNums"], 1, "{m}");
    let conns = m["haConnectionInfo"].as_array().unwrap();
    assert_eq!(conns.len(), 1, "{m}");
    let c = &conns[0];
    assert!(c["addr"].as_str().unwrap().starts_with("127.0.0.1:"), "{m}");
    assert_eq!(c["slaveAckOffset"], max, "{m}");
    assert_eq!(c["diff"], 0, "{m}");
    assert_eq!(c["inSync"], true, "{m}");
    assert_eq!(c["transferFromWhere"], max, "{m}");
    assert!(m["haClientRuntimeInfo"].get("masterAddr").is_none(), "{m}");

    let s = ha_status(&sc).await;
    assert_eq!(s["master"], false, "{s}");
    assert_eq!(s["haConnectionInfo"], serde_json::json!([]), "{s}");
    let client = &s["haClientRuntimeInfo"];
    assert_eq!(client["masterAddr"], master_ha.as_str(), "{s}");
    assert_eq!(client["maxOffset"], max, "{s}");
    let now = actormq::store::now_ms();
    for stamp in ["lastReadTimestamp", "lastWriteTimestamp"] {
        let t = client[stamp].as_i64().unwrap();
        assert!(now - 60_000 < t && t <= now, "{stamp}: {s}");
    }
    // Java 5.3.3's HAClientRuntimeInfo has no getter for `isActivated`: fastjson leaves it out.
    assert!(client.get("isActivated").is_none(), "{s}");

    // The stock mqadmin (blocks this runtime: after all async work).
    let Some(lib) = common::java_server::server_lib("ha_status") else {
        return;
    };
    let namesrv = master.namesrv_addr.as_deref().expect("name server");
    let out = common::java_server::mqadmin(&lib, namesrv, &["haStatus", "-b", &master.addr]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(
        stdout.contains(&format!("#MasterCommitLogMaxOffset\t{max}\n")),
        "{stdout}"
    );
    assert!(stdout.contains("#SlaveNum\t1\n"), "{stdout}");
    assert!(stdout.contains("#InSyncSlaveNum\t1\n"), "{stdout}");
    let addr = c["addr"].as_str().unwrap();
    let row: Vec<&str> = stdout
        .lines()
        .find(|l| l.starts_with(addr))
        .unwrap_or_else(|| panic!("no row for {addr}: {stdout}"))
        .split_whitespace()
        .collect();
    let max = max.to_string();
    assert_eq!(row, [addr, &max, "0", "0.00", "OK", &max], "{stdout}");

    let out = common::java_server::mqadmin(&lib, namesrv, &["haStatus", "-b", &slave.addr]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(
        stdout.contains(&format!("#MasterAddr\t{master_ha}\n")),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("#CommitLogMaxOffset\t{max}\n")),
        "{stdout}"
    );
}
