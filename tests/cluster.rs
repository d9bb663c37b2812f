//! Cluster membership with real processes (issue 14 items 1 and 5): actormq brokers register with
//! an actormq name-server-only node (`--namesrv-only`); routes and cluster info list every broker;
//! a producer that routes as RocketMQ's does spreads sends over both; a broker that stops
//! re-registering expires, one that closes its connection or stops cleanly is removed at once; a
//! name server that is down at start or answers errors is logged once and retried with backoff; a
//! slave is routed beside its master and learns the master's HA address; a broker's own name-server
//! role takes other brokers; advertised addresses; `actormq cluster list` and the role line of
//! `actormq stats`.

mod common;

use std::collections::BTreeMap;
use std::process::Command;
use std::time::{Duration, Instant};

use actormq::client::{Client, OutgoingMessage, PullRequest};
use actormq::cluster::route_table::{ClusterInfo, TopicRouteData};
use actormq::protocol::{request_code, response_code, RemotingCommand};
use actormq::store::message::decode_offset_msg_id;
use common::{wait_until_async, TestBroker};

/// A name server that drops silent brokers after 3 s (checked every 200 ms).
fn name_server() -> TestBroker {
    TestBroker::start_namesrv_only("[namesrv]\nbroker_expiry_ms = 3000\nscan_interval_ms = 200")
}

/// A broker named `name` registering every second with `ns`, without a name-server role of its own.
fn broker(name: &str, ns: &str) -> TestBroker {
    TestBroker::start_with(&format!(
        "[broker]\nname = \"{name}\"\ndefault_topic_queue_nums = 2\n\
         [cluster]\nnamesrv_addr = [\"{ns}\"]\nregister_interval_ms = 1000\n\
         [namesrv]\nenabled = false"
    ))
}

async fn cluster_info(ns: &Client) -> ClusterInfo {
    let resp = ns
        .request(RemotingCommand::request(
            request_code::GET_BROKER_CLUSTER_INFO,
            0,
        ))
        .await
        .unwrap();
    assert_eq!(resp.code, response_code::SUCCESS);
    ClusterInfo::decode(&resp.body).unwrap()
}

async fn route(ns: &Client, topic: &str) -> Option<TopicRouteData> {
    let cmd =
        RemotingCommand::request(request_code::GET_ROUTEINFO_BY_TOPIC, 0).with_ext("topic", topic);
    let resp = ns.request(cmd).await.unwrap();
    (resp.code == response_code::SUCCESS).then(|| TopicRouteData::decode(&resp.body).unwrap())
}

/// Broker names in a route, sorted.
fn names(r: &TopicRouteData) -> Vec<String> {
    let mut n: Vec<String> = r
        .broker_datas
        .iter()
        .map(|b| b.broker_name.clone())
        .collect();
    n.sort();
    n
}

/// What RocketMQ's producer does with routes: the topic's route (TBW102's while the topic does
/// not exist), every writable queue of every master in turn, and on a failed send one retry on
/// the next broker.
struct Producer {
    ns: Client,
    /// (broker name, address, queue id), round-robin.
    queues: Vec<(String, String, i32)>,
    next: usize,
    clients: BTreeMap<String, Client>,
}

impl Producer {
    async fn new(ns: &str) -> Producer {
        Producer {
            ns: Client::connect(ns).await.unwrap(),
            queues: Vec::new(),
            next: 0,
            clients: BTreeMap::new(),
        }
    }

    async fn refresh(&mut self, topic: &str) {
        let r = match route(&self.ns, topic).await {
            Some(r) => r,
            None => route(&self.ns, "TBW102").await.expect("TBW102 is routed"),
        };
        self.queues.clear();
        for q in &r.queue_datas {
            let b = r
                .broker_datas
                .iter()
                .find(|b| b.broker_name == q.broker_name);
            let Some(addr) = b.and_then(|b| b.broker_addrs.get(&0)) else {
                continue;
            };
            for id in 0..q.write_queue_nums {
                self.queues.push((q.broker_name.clone(), addr.clone(), id));
            }
        }
        assert!(!self.queues.is_empty(), "no writable queue for {topic}");
    }

    /// Sends one message; returns the broker name that stored it.
    async fn send(&mut self, topic: &str, body: &str) -> String {
        let mut last_error = String::new();
        for _attempt in 0..2 {
            let (name, addr, queue) = self.queues[self.next % self.queues.len()].clone();
            self.next += 1;
            let msg = OutgoingMessage {
                queue_id: queue,
                ..OutgoingMessage::new(topic, body.to_string())
            };
            if !self.clients.contains_key(&addr) {
                let connect = Client::connect(&addr);
                match tokio::time::timeout(Duration::from_secs(1), connect).await {
                    Ok(Ok(mut c)) => {
                        c.timeout = Duration::from_millis(800);
                        self.clients.insert(addr.clone(), c);
                    }
                    other => {
                        last_error = format!("{addr}: {:?}", other.map(|r| r.err()));
                        // Skip this broker's other queues too, as the client's fault strategy.
                        self.next += 1;
                        continue;
                    }
                }
            }
            match self.clients[&addr].send(&msg).await {
                Ok(r) if r.code == response_code::SUCCESS => return name,
                other => {
                    last_error = format!("{addr}: {other:?}");
                    self.clients.remove(&addr);
                }
            }
        }
        panic!("send failed on two brokers: {last_error}");
    }
}

/// Two brokers register with a name-server-only node; routes, cluster info and the topic list
/// name both; a producer spreads over both. A broker that stops answering (SIGSTOP: its connection
/// stays open) expires after `broker_expiry_ms`, and sends keep succeeding on the other.
#[tokio::test]
async fn two_brokers_register_a_producer_spreads_and_a_silent_one_expires() {
    let ns_node = name_server();
    let ns_addr = ns_node.addr.clone();
    let a = broker("broker-a", &ns_addr);
    let b = broker("broker-b", &ns_addr);
    let ns = Client::connect(&ns_addr).await.unwrap();

    wait_until_async(
        Duration::from_secs(10),
        "both brokers registered",
        || async { cluster_info(&ns).await.broker_addr_table.len() == 2 },
    )
    .await;
    let info = cluster_info(&ns).await;
    assert_eq!(info.broker_addr_table["broker-a"].broker_addrs[&0], a.addr);
    assert_eq!(info.broker_addr_table["broker-b"].broker_addrs[&0], b.addr);
    assert_eq!(info.cluster_addr_table["DefaultCluster"].len(), 2);
    let tbw = route(&ns, "TBW102").await.expect("TBW102 routed");
    assert_eq!(names(&tbw), ["broker-a", "broker-b"]);

    // A new topic: the producer goes by TBW102, each broker auto-creates the topic and
    // re-registers at once, and the topic's own route then lists both.
    let mut producer = Producer::new(&ns_addr).await;
    producer.refresh("Spread").await;
    let mut per_broker: BTreeMap<String, usize> = BTreeMap::new();
    for i in 0..40 {
        *per_broker
            .entry(producer.send("Spread", &format!("m{i}")).await)
            .or_default() += 1;
    }
    assert_eq!(
        per_broker.len(),
        2,
        "sends spread over both: {per_broker:?}"
    );
    assert!(per_broker.values().all(|n| *n >= 10), "{per_broker:?}");
    wait_until_async(Duration::from_secs(5), "Spread routed to both", || async {
        route(&ns, "Spread")
            .await
            .is_some_and(|r| r.broker_datas.len() == 2)
    })
    .await;
    let list = ns
        .request(RemotingCommand::request(
            request_code::GET_ALL_TOPIC_LIST_FROM_NAMESERVER,
            0,
        ))
        .await
        .unwrap();
    let list: serde_json::Value = serde_json::from_slice(&list.body).unwrap();
    assert!(list["topicList"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t == "Spread"));

    // broker-b goes silent without closing its connection: only expiry can remove it.
    let stopped = Instant::now();
    // SAFETY: signalling our own child process, which has not been waited for.
    unsafe { libc::kill(b.pid() as i32, libc::SIGSTOP) };
    wait_until_async(Duration::from_secs(10), "broker-b expired", || async {
        route(&ns, "Spread")
            .await
            .is_some_and(|r| r.broker_datas.len() == 1)
    })
    .await;
    let waited = stopped.elapsed();
    assert!(
        waited >= Duration::from_millis(2500),
        "expired after {waited:?}, before its 3 s timeout"
    );
    let logged = || !ns_node.log_lines("The broker channel expired").is_empty();
    common::wait_until(Duration::from_secs(5), "the expiry logged", logged).await;
    assert_eq!(names(&route(&ns, "Spread").await.unwrap()), ["broker-a"]);
    assert!(!cluster_info(&ns)
        .await
        .broker_addr_table
        .contains_key("broker-b"));
    producer.refresh("Spread").await;
    for i in 0..10 {
        assert_eq!(
            producer.send("Spread", &format!("after{i}")).await,
            "broker-a"
        );
    }
    drop(b); // SIGKILL works on a stopped process
    drop(a);
}

/// A broker whose connection closes (kill -9) is removed at once, as Java's `onChannelDestroy`;
/// one that stops cleanly sends UNREGISTER_BROKER first. Sends keep succeeding on the other.
#[tokio::test]
async fn a_killed_broker_is_removed_at_once_and_a_clean_stop_unregisters() {
    // A long expiry: only the connection close or the unregister can remove a broker here.
    let ns_node = TestBroker::start_namesrv_only(
        "[namesrv]\nbroker_expiry_ms = 120000\nscan_interval_ms = 200",
    );
    let ns_addr = ns_node.addr.clone();
    let a = broker("broker-a", &ns_addr);
    let mut b = broker("broker-b", &ns_addr);
    let mut c = broker("broker-c", &ns_addr);
    let ns = Client::connect(&ns_addr).await.unwrap();
    wait_until_async(
        Duration::from_secs(10),
        "three brokers registered",
        || async { cluster_info(&ns).await.broker_addr_table.len() == 3 },
    )
    .await;

    b.kill9();
    wait_until_async(Duration::from_secs(5), "broker-b removed", || async {
        !cluster_info(&ns)
            .await
            .broker_addr_table
            .contains_key("broker-b")
    })
    .await;

    assert_eq!(c.stop(), Some(0));
    let info = cluster_info(&ns).await;
    assert!(
        !info.broker_addr_table.contains_key("broker-c"),
        "removed by the time it exited"
    );
    // Logs are read on other threads: wait for the lines.
    let logged = || ns_node.log_lines("broker unregistered").len() == 1;
    common::wait_until(Duration::from_secs(5), "the name server logged it", logged).await;
    let logged = || c.log_lines("unregisterBroker OK").len() == 1;
    common::wait_until(Duration::from_secs(5), "the broker logged it", logged).await;

    let mut producer = Producer::new(&ns_addr).await;
    producer.refresh("Survivor").await;
    for i in 0..6 {
        assert_eq!(
            producer.send("Survivor", &format!("s{i}")).await,
            "broker-a"
        );
    }
    drop(a);
}

/// A name server that is down when the broker starts: the broker serves anyway, logs the failure
/// once (not once per retry), retries with backoff and registers once the name server is up.
#[tokio::test]
async fn a_name_server_down_at_start_is_retried_with_backoff() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let ns_addr = format!("127.0.0.1:{port}");
    let a = broker("broker-a", &ns_addr);
    let client = a.client().await;
    client
        .send(&OutgoingMessage::new("Alone", "x"))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(3500)).await; // retries at 1 s, 2 s
    assert_eq!(
        a.log_lines("registering with the name server failed").len(),
        1,
        "one warning per change of state"
    );
    let ns_node =
        TestBroker::start_namesrv_only(&format!("[namesrv]\nlisten = \"127.0.0.1:{port}\""));
    let ns = Client::connect(&ns_node.addr).await.unwrap();
    wait_until_async(
        Duration::from_secs(15),
        "registered after the name server came up",
        || async { route(&ns, "Alone").await.is_some() },
    )
    .await;
    // The broker's log is read on another thread: wait for the line, then check it came once.
    let logged = || !a.log_lines("registered with the name server").is_empty();
    common::wait_until(Duration::from_secs(5), "the recovery logged", logged).await;
    tokio::time::sleep(Duration::from_millis(1500)).await; // more registrations, same state
    let registered = a.log_lines("registered with the name server");
    assert_eq!(registered.len(), 1, "{:#?}", a.log_lines("registrar"));
}

/// Routes name the advertised address: `cluster.advertise_addr` when set, and never the wildcard
/// a broker bound to 0.0.0.0 listens on.
#[tokio::test]
async fn routes_name_the_advertised_address() {
    let set = TestBroker::start_with("[cluster]\nadvertise_addr = \"10.9.8.7:1234\"");
    let ns = Client::connect(set.namesrv_addr.as_deref().unwrap())
        .await
        .unwrap();
    let r = route(&ns, "TBW102").await.unwrap();
    assert_eq!(r.broker_datas[0].broker_addrs[&0], "10.9.8.7:1234");

    let wild = TestBroker::start_with("[server]\nlisten = \"0.0.0.0:0\"");
    let ns = Client::connect(wild.namesrv_addr.as_deref().unwrap())
        .await
        .unwrap();
    let r = route(&ns, "TBW102").await.unwrap();
    let addr: std::net::SocketAddr = r.broker_datas[0].broker_addrs[&0].parse().unwrap();
    assert!(!addr.ip().is_unspecified(), "{addr}");
    assert_eq!(
        addr.port(),
        wild.addr
            .rsplit(':')
            .next()
            .unwrap()
            .parse::<u16>()
            .unwrap()
    );
}

/// Every record names the advertised address as its store host, so the offset msgIds clients
/// decode to reach the broker (`viewMessage`, `mqadmin queryMsgById`) name what they can reach,
/// never the wildcard or loopback of a 0.0.0.0 bind: sends, and what the broker writes itself (a
/// delayed message's delivery).
#[tokio::test]
async fn msg_ids_name_the_advertised_address() {
    let set = TestBroker::start_with(
        "[server]\nlisten = \"0.0.0.0:0\"\n[cluster]\nadvertise_addr = \"10.9.8.7:1234\"\n\
         [broker]\nmessage_delay_level = \"1s\"",
    );
    let client = set.client().await;
    let advertised: std::net::SocketAddr = "10.9.8.7:1234".parse().unwrap();
    let host = |id: &str| decode_offset_msg_id(id).map(|(host, _)| host);
    let now = OutgoingMessage {
        queue_id: 0,
        ..OutgoingMessage::new("Named", "now")
    };
    let sent = client.send(&now).await.unwrap();
    assert_eq!(host(&sent.msg_id), Some(advertised), "{}", sent.msg_id);
    let delayed = OutgoingMessage {
        queue_id: 0,
        properties: vec![("DELAY".into(), "1".into())],
        ..OutgoingMessage::new("Named", "later")
    };
    let sent = client.send(&delayed).await.unwrap();
    assert_eq!(host(&sent.msg_id), Some(advertised), "{}", sent.msg_id);
    let pull = || async {
        let r = client.pull(&PullRequest::new("g", "Named", 0, 0)).await;
        r.unwrap().messages
    };
    wait_until_async(
        Duration::from_secs(10),
        "the delayed message delivered",
        || async { pull().await.iter().any(|m| &m.body[..] == b"later") },
    )
    .await;
    let found = pull().await;
    assert!(found.len() >= 2, "{found:?}");
    for m in &found {
        assert_eq!(host(&m.msg_id), Some(advertised), "{:?}", m.body);
    }
}

fn cli(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_actormq"))
        .args(args)
        .output()
        .expect("run actormq");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// `actormq cluster list` lists every broker the name server knows, with its id, address,
/// version and role; `actormq stats` names the broker's role and advertised addresses.
#[tokio::test]
async fn cluster_list_and_stats_show_membership() {
    let ns_node = name_server();
    let a = broker("broker-a", &ns_node.addr);
    let b = broker("broker-b", &ns_node.addr);
    let ns = Client::connect(&ns_node.addr).await.unwrap();
    wait_until_async(
        Duration::from_secs(10),
        "both brokers registered",
        || async { cluster_info(&ns).await.broker_addr_table.len() == 2 },
    )
    .await;
    let out = cli(&["cluster", "list", "-n", &ns_node.addr]);
    let rows: Vec<&str> = out.lines().skip(1).collect();
    assert_eq!(rows.len(), 2, "{out}");
    for (row, (name, addr)) in rows
        .iter()
        .zip([("broker-a", &a.addr), ("broker-b", &b.addr)])
    {
        let cols: Vec<&str> = row.split_whitespace().collect();
        assert_eq!(
            cols[..4],
            ["DefaultCluster", name, "0", addr.as_str()],
            "{out}"
        );
        assert!(
            row.contains("actormq") && row.contains("ASYNC_MASTER"),
            "{out}"
        );
    }
    let json = cli(&["cluster", "list", "-n", &ns_node.addr, "--json"]);
    assert!(json.contains("\"brokerAddrTable\""), "{json}");

    let stats = cli(&["--broker", &a.addr, "stats"]);
    let first = stats.lines().next().unwrap();
    assert!(
        first.contains("broker broker-a (cluster DefaultCluster) id 0 ASYNC_MASTER")
            && first.contains(&format!("clients connect to {}", a.addr))
            && first.contains(&ns_node.addr),
        "{first}"
    );
    assert!(
        stats.contains("registrar"),
        "the registrar has a mailbox row"
    );
}

/// A broker's own name-server role takes registrations from other brokers too: a two-broker
/// cluster without a third process. Its own entry never expires; the other one does.
#[tokio::test]
async fn a_brokers_own_name_server_role_takes_other_brokers() {
    let a = TestBroker::start_with(
        "[broker]\nname = \"broker-a\"\n[namesrv]\nbroker_expiry_ms = 2000\nscan_interval_ms = 200",
    );
    let ns_addr = a.namesrv_addr.clone().unwrap();
    let b = broker("broker-b", &ns_addr);
    let ns = Client::connect(&ns_addr).await.unwrap();
    wait_until_async(Duration::from_secs(10), "broker-b registered", || async {
        route(&ns, "TBW102")
            .await
            .is_some_and(|r| r.broker_datas.len() == 2)
    })
    .await;
    // SAFETY: signalling our own child process, which has not been waited for.
    unsafe { libc::kill(b.pid() as i32, libc::SIGSTOP) };
    wait_until_async(Duration::from_secs(10), "broker-b expired", || async {
        route(&ns, "TBW102")
            .await
            .is_some_and(|r| r.broker_datas.len() == 1)
    })
    .await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(
        names(&route(&ns, "TBW102").await.unwrap()),
        ["broker-a"],
        "the local broker stays"
    );
    drop(b);
}

/// A slave (same broker name, id 1) is listed beside its master in routes, and its registration
/// answer names the master's address and HA address (what the replication side subscribes to).
#[tokio::test]
async fn a_slave_is_routed_beside_its_master_and_learns_its_ha_address() {
    let ns_node = name_server();
    let ns_addr = ns_node.addr.clone();
    let master = TestBroker::start_with(&format!(
        "[broker]\nname = \"broker-a\"\n\
         [cluster]\nnamesrv_addr = [\"{ns_addr}\"]\nregister_interval_ms = 1000\n\
         [ha]\nadvertise_addr = \"127.0.0.1:20912\"\n[namesrv]\nenabled = false"
    ));
    let slave = TestBroker::start_with(&format!(
        "[broker]\nname = \"broker-a\"\n\
         [cluster]\nnamesrv_addr = [\"{ns_addr}\"]\nregister_interval_ms = 1000\nrole = \"SLAVE\"\nbroker_id = 1\n\
         [ha]\nadvertise_addr = \"127.0.0.1:20913\"\n[namesrv]\nenabled = false"
    ));
    let ns = Client::connect(&ns_addr).await.unwrap();
    wait_until_async(
        Duration::from_secs(10),
        "master and slave listed",
        || async {
            route(&ns, "TBW102")
                .await
                .is_some_and(|r| r.broker_datas[0].broker_addrs.len() == 2)
        },
    )
    .await;
    let r = route(&ns, "TBW102").await.unwrap();
    let addrs = &r.broker_datas[0].broker_addrs;
    assert_eq!((&addrs[&0], &addrs[&1]), (&master.addr, &slave.addr));
    let expected = format!("master={} ha_server=Some(\"127.0.0.1:20912\")", master.addr);
    let learned = || {
        slave
            .log_lines("names this group's master")
            .iter()
            .any(|l| l.contains(&expected))
    };
    common::wait_until(
        Duration::from_secs(5),
        "the slave learned its master",
        learned,
    )
    .await;
    assert!(master.log_lines("names this group's master").is_empty());
}

/// A "name server" that answers REGISTER_BROKER with an error (here a broker's own port, which does
/// not serve code 103): logged once, retried, and the broker serves sends meanwhile.
#[tokio::test]
async fn a_name_server_answering_errors_is_logged_once_and_retried() {
    let other = TestBroker::start();
    let a = TestBroker::start_with(&format!(
        "[cluster]\nnamesrv_addr = [\"{}\"]\n[namesrv]\nenabled = false\n\
         [log]\nlevel = \"info,actormq_broker::actors::registrar=debug\"",
        other.addr
    ));
    let client = a.client().await;
    for i in 0..5 {
        client
            .send(&OutgoingMessage::new("Busy", format!("m{i}")))
            .await
            .unwrap();
    }
    let failed = || !a.log_lines("failed; retrying with backoff").is_empty();
    common::wait_until(Duration::from_secs(5), "the failure logged", failed).await;
    tokio::time::sleep(Duration::from_millis(3500)).await; // retries at 1 s, 2 s
    let lines = a.log_lines("failed; retrying with backoff");
    assert_eq!(lines.len(), 1, "{lines:#?}");
    assert!(
        lines[0].contains("REQUEST_CODE_NOT_SUPPORTED"),
        "{lines:#?}"
    );
    // Retried (at debug level, so not one warning per attempt).
    assert!(!a.log_lines("failed again").is_empty());
}
