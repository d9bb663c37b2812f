//! Stock RocketMQ Java clients against actormq (issue 12 item 6): `rocketmq-client` 4.9.8, 5.3.3
//! and 5.5.0 (the remoting API: DefaultMQProducer, DefaultLitePullConsumer, DefaultMQPushConsumer), with
//! actormq as their name server. Each scenario of `tests/java` runs as its own `java` process
//! against the real broker binary; the Java program checks what it received and ends with
//! `OK <scenario> key=value ...` (exit 0) or `FAIL <scenario>: why` (exit 1).
//!
//! Needs the scenario jars: `mvn -q -B package` in `tests/java` writes
//! `tests/java/target/clients-<version>.jar`. The tests find them through `ACTORMQ_JAVA_CLIENTS`
//! (that directory); without it each test says why it skipped and passes, so a plain `cargo test`
//! needs no JVM. `.ci/run` builds the jars and runs
//! `ACTORMQ_JAVA_CLIENTS=tests/java/target cargo test --test java_clients`.
//! Scenarios that need what actormq does not serve yet are `#[ignore]`d with the reason; run them
//! with `-- --ignored`.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use common::java;
use common::scenario::num;
use common::TestBroker;

/// One stock client version's jar and a broker for it to talk to.
struct Java {
    jar: PathBuf,
    logs: PathBuf,
    /// Runs as long as this lives (dropping it kills the broker).
    _broker: TestBroker,
    namesrv: String,
}

impl Java {
    /// `None` (with a message) when `ACTORMQ_JAVA_CLIENTS` is not set.
    fn start(version: &str, test: &str) -> Option<Java> {
        Self::start_with(version, test, "")
    }

    /// As `start`, with `extra` added to the broker's configuration.
    fn start_with(version: &str, test: &str, extra: &str) -> Option<Java> {
        let dir = java::jars_dir("java_clients")?;
        let jar = Path::new(&dir).join(format!("clients-{version}.jar"));
        assert!(
            jar.is_file(),
            "{} does not exist: run `mvn -q -B package` in tests/java",
            jar.display()
        );
        let logs = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join("java-clients")
            .join(format!("{version}-{test}"));
        let _ = std::fs::remove_dir_all(&logs);
        // Transaction halves are checked a second after they are stored (not 6 s, then every 30 s).
        let broker = TestBroker::start_with(&format!(
            "[transaction]\ntimeout_ms = 1000\ncheck_interval_ms = 1000\n{extra}"
        ));
        let namesrv = broker.namesrv_addr.clone().expect("name-server role on");
        Some(Java {
            jar,
            logs,
            _broker: broker,
            namesrv,
        })
    }

    /// Runs one scenario to completion and returns the `key=value` pairs of its `OK` line;
    /// panics with its output if it fails or runs past the timeout.
    fn run(&self, scenario: &str, topic: &str, count: usize) -> HashMap<String, String> {
        java::run_scenario(&self.jar, &self.logs, scenario, &self.namesrv, topic, count)
    }
}

impl Java {
    /// Runs `ask` with a client of the broker, on a runtime of its own (these tests are plain
    /// `#[test]`s: the Java processes are waited for on this thread).
    fn ask_broker<T, F>(&self, ask: impl FnOnce(actormq::client::Client) -> F) -> T
    where
        F: std::future::Future<Output = T>,
    {
        common::with_client(&self._broker.addr, ask)
    }

    /// The topic's read queue count, asked of the broker.
    fn queue_count(&self, topic: &str) -> usize {
        self.ask_broker(
            |client| async move { client.read_queue_nums(topic).await.unwrap() as usize },
        )
    }

    /// A request forwarded to the first consumer of `group` (from 38), the body of its answer:
    /// GET_CONSUMER_RUNNING_INFO, or with `direct` (msgId, topic) CONSUME_MESSAGE_DIRECTLY.
    fn ask_consumer(&self, group: &str, direct: Option<(&str, &str)>) -> String {
        use actormq::protocol::{request_code, response_code, RemotingCommand};
        self.ask_broker(|client| async move {
            let list = RemotingCommand::request(request_code::GET_CONSUMER_LIST_BY_GROUP, 0)
                .with_ext("consumerGroup", group);
            let r = client.request(list).await.unwrap();
            let ids: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
            let id = ids["consumerIdList"][0]
                .as_str()
                .expect("a consumer")
                .to_string();
            let ask = match direct {
                None => RemotingCommand::request(request_code::GET_CONSUMER_RUNNING_INFO, 0)
                    .with_ext("jstackEnable", "false"),
                Some((msg_id, topic)) => {
                    RemotingCommand::request(request_code::CONSUME_MESSAGE_DIRECTLY, 0)
                        .with_ext("msgId", msg_id)
                        .with_ext("topic", topic)
                }
            }
            .with_ext("consumerGroup", group)
            .with_ext("clientId", &id);
            let r = client.request(ask).await.unwrap();
            assert_eq!(r.code, response_code::SUCCESS, "{:?}", r.remark);
            String::from_utf8_lossy(&r.body).into_owned()
        })
    }

    /// Starts a scenario without waiting for it; its `holds <n>` lines are read as they come.
    fn spawn(&self, scenario: &str, topic: &str, count: usize) -> Held {
        let mut child = java::command(&self.jar, &self.logs, scenario, &self.namesrv, topic, count)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("run java");
        let stdout = child.stdout.take().expect("piped");
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
            {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Held {
            child,
            lines,
            holds: 0,
        }
    }
}

/// A running `push-hold` scenario: how many of the topic's queues it last said it holds.
struct Held {
    child: std::process::Child,
    lines: std::sync::mpsc::Receiver<String>,
    holds: usize,
}

impl Held {
    fn latest(&mut self) -> usize {
        while let Ok(line) = self.lines.try_recv() {
            if let Some(n) = line.strip_prefix("holds ") {
                self.holds = n.trim().parse().unwrap_or(self.holds);
            }
        }
        self.holds
    }

    /// SIGKILL: the client gets no chance to unregister.
    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Polls `done` every 50 ms for up to `secs` seconds; panics naming `what` if it never holds.
fn wait_for(secs: u64, what: &str, mut done: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    while !done() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// A producer scenario, then a consumer scenario reading the same topic back.
fn send_then_read(version: &str, test: &str, send: &str, read: &str, count: usize) {
    let Some(java) = Java::start(version, test) else {
        return;
    };
    let topic = format!("Java{}", test.replace('_', ""));
    let sent = java.run(send, &topic, count);
    assert_eq!(num(&sent, "sent"), count);
    let got = java.run(read, &topic, count);
    assert_eq!(num(&got, "received"), count);
}

/// One self-contained scenario (it sends and consumes itself).
fn alone(version: &str, test: &str, scenario: &str, count: usize) -> HashMap<String, String> {
    let Some(java) = Java::start(version, test) else {
        return HashMap::new();
    };
    let topic = format!("Java{}", test.replace('_', ""));
    java.run(scenario, &topic, count)
}

/// The same tests for each client version; `$extra` adds version-only tests.
macro_rules! java_client_tests {
    ($module:ident, $version:literal, { $($extra:item)* }) => {
        mod $module {
            use super::*;
            const V: &str = $version;

            #[test]
            fn sync_send_then_lite_pull_subscribe() {
                send_then_read(V, "sync_subscribe", "send-sync", "pull-subscribe", 200);
            }

            #[test]
            fn async_send_then_lite_pull_assign_and_commit() {
                send_then_read(V, "async_assign", "send-async", "pull-assign", 200);
            }

            #[test]
            fn oneway_send_then_push_consumer() {
                send_then_read(V, "oneway_push", "send-oneway", "push", 200);
            }

            #[test]
            fn batch_send_then_lite_pull_subscribe() {
                send_then_read(V, "batch_subscribe", "send-batch", "pull-subscribe", 200);
            }

            #[test]
            fn selector_send_then_lite_pull_assign() {
                send_then_read(V, "orderly_assign", "send-orderly", "pull-assign", 200);
            }

            /// The first push consumer stops mid-stream; the second resumes from the committed
            /// offsets (no loss, duplicates counted: the Java side allows those in flight).
            #[test]
            fn push_consumer_restart_resumes_from_committed_offsets() {
                let Some(java) = Java::start(V, "restart") else {
                    return;
                };
                java.run("send-sync", "JavaRestart", 400);
                let r = java.run("push-restart", "JavaRestart", 400);
                assert_eq!(num(&r, "received"), 400);
                assert!(num(&r, "first") < 400 && num(&r, "second") < 400, "{r:?}");
            }

            /// Two MessageModel.BROADCASTING push consumers of one group, running at once:
            /// each gets every message, none twice.
            #[test]
            fn broadcast_push_consumers_each_get_every_message() {
                let Some(java) = Java::start(V, "broadcast") else {
                    return;
                };
                let topic = "JavaBroadcast";
                assert_eq!(num(&java.run("send-sync", topic, 200), "sent"), 200);
                let (a, b) = std::thread::scope(|s| {
                    let a = s.spawn(|| java.run("push-broadcast", topic, 200));
                    let b = s.spawn(|| java.run("push-broadcast", topic, 200));
                    (a.join().unwrap(), b.join().unwrap())
                });
                for got in [&a, &b] {
                    assert_eq!(num(got, "received"), 200, "{got:?}");
                    assert_eq!(num(got, "duplicates"), 0, "{got:?}");
                }
                let both_up = num(&a, "up_ms").max(num(&b, "up_ms"));
                let first_down = num(&a, "down_ms").min(num(&b, "down_ms"));
                assert!(both_up < first_down, "the two consumers did not run at once: {a:?} {b:?}");
            }

            /// `enableMsgTrace` on a producer and a push consumer: their trace records (Pub,
            /// SubAfter) reach RMQ_SYS_TRACE_TOPIC (auto-created from TBW102's route, as Java
            /// does) and read back, one of each per message.
            #[test]
            fn message_trace_records_reach_the_trace_topic() {
                let r = alone(V, "trace", "trace", 20);
                if !r.is_empty() {
                    assert_eq!((num(&r, "traced_pub"), num(&r, "traced_sub")), (20, 20), "{r:?}");
                }
            }

            /// DELAY=1 (1 s with the default levels): never delivered before it is due.
            #[test]
            fn delay_level_send_is_delivered_when_due() {
                alone(V, "delay_level", "delay-level", 20);
            }

            /// RECONSUME_LATER: sent back with 36, redelivered from %RETRY% with reconsumeTimes + 1,
            /// dead-lettered after maxReconsumeTimes (the scenario checks the sequence, not the
            /// backoff: without delay levels the retry is redelivered at once).
            #[test]
            fn reconsume_later_is_redelivered_then_dead_lettered() {
                send_then_read(V, "reconsume", "send-sync", "push-reconsume-later", 20);
            }

            /// MessageListenerOrderly: the consumer locks its queues (41), then each queue's
            /// messages arrive in offset order, none twice; it unlocks (42) at shutdown.
            #[test]
            fn orderly_push_consumer_receives_each_queue_in_order() {
                send_then_read(V, "orderly_push", "send-orderly", "push-orderly", 200);
            }

            /// `mqadmin resetOffsetByTime`'s request (222) while a push consumer that has read
            /// everything runs: its next pulls are moved back (PULL_OFFSET_MOVED) and every
            /// message comes again. Slow by the client's design: a parked pull (up to 15 s)
            /// returns first, then the client waits 10 s before it moves.
            #[test]
            fn offset_reset_by_time_redelivers_to_a_running_push_consumer() {
                let r = alone(V, "reset", "push-reset", 40);
                if !r.is_empty() {
                    assert_eq!((num(&r, "received"), num(&r, "again")), (40, 40), "{r:?}");
                }
            }

            /// Two push consumers share a group; one is killed with SIGKILL. The broker drops
            /// the dead client when its connection closes and tells the survivor
            /// (NOTIFY_CONSUMER_IDS_CHANGED), which then holds every queue; before, the dead
            /// client stayed listed for 120 s and its queues went unconsumed that long.
            #[test]
            fn a_killed_push_consumers_queues_go_to_the_survivor() {
                let Some(java) = Java::start(V, "failover") else {
                    return;
                };
                let topic = "JavaFailover";
                java.run("send-sync", topic, 8);
                let queues = java.queue_count(topic);
                let mut a = java.spawn("push-hold", topic, 90);
                let mut b = java.spawn("push-hold", topic, 90);
                let shared = |a: &mut Held, b: &mut Held| {
                    a.latest() > 0 && b.latest() > 0 && a.latest() + b.latest() == queues
                };
                wait_for(60, "both consumers holding queues", || shared(&mut a, &mut b));
                a.kill();
                let killed = std::time::Instant::now();
                wait_for(60, "the survivor holding every queue", || b.latest() == queues);
                eprintln!("survivor held all {queues} queues {:?} after the kill", killed.elapsed());
                assert!(killed.elapsed() < std::time::Duration::from_secs(30), "took {:?}", killed.elapsed());
                b.kill();
            }

            /// GET_CONSUMER_RUNNING_INFO (307, `mqadmin consumerStatus`) forwarded to a stock
            /// push consumer: its answer, ConsumerRunningInfo JSON naming its subscription,
            /// comes back through the broker; so does its CONSUME_MESSAGE_DIRECTLY result (309).
            #[test]
            fn running_info_of_a_stock_consumer_comes_back_through_the_broker() {
                let Some(java) = Java::start(V, "running_info") else {
                    return;
                };
                let topic = "JavaRunningInfo";
                java.run("send-sync", topic, 4);
                let mut consumer = java.spawn("push-hold", topic, 60);
                wait_for(60, "the consumer holding queues", || consumer.latest() > 0);
                let info = java.ask_consumer(&format!("{topic}_cg"), None);
                assert!(info.contains("subscriptionSet") && info.contains(topic), "{info}");
                // CONSUME_MESSAGE_DIRECTLY (309, `mqadmin queryMsgById -d`): the stored message
                // runs through the consumer's listener, which says how it went.
                let sent = java.ask_broker(|client| async move {
                    let msg = actormq::client::OutgoingMessage::new(topic, "direct");
                    client.send(&msg).await.unwrap().msg_id
                });
                let result = java.ask_consumer(&format!("{topic}_cg"), Some((&sent, topic)));
                assert!(result.contains("CR_SUCCESS"), "{result}");
                consumer.kill();
            }

            /// Request-reply (`DefaultMQProducer.request`): each request's reply, sent by the
            /// consumer to `<cluster>_REPLY_TOPIC` (SEND_REPLY_MESSAGE_V2), is pushed to the
            /// requester (PUSH_REPLY_MESSAGE_TO_CLIENT) and returned by its `request`.
            #[test]
            fn request_reply_returns_each_reply_to_its_requester() {
                let r = alone(V, "request_reply", "request-reply", 20);
                if !r.is_empty() {
                    assert_eq!(num(&r, "replied"), 20, "{r:?}");
                }
            }

            /// TransactionMQProducer: committed halves are delivered, rolled-back ones never,
            /// and an unknown one is checked (CHECK_TRANSACTION_STATE to the producer), which
            /// commits it.
            /// `MessageSelector.bySql` on a broker with `enable_property_filter`: exactly the
            /// selected messages (11 of 40), none other.
            #[test]
            fn sql92_selector_gets_exactly_what_it_selects() {
                let extra = "[broker]\nenable_property_filter = true";
                let Some(java) = Java::start_with(V, "sql_push", extra) else {
                    return;
                };
                assert_eq!(num(&java.run("sql-send", "JavaSqlPush", 40), "sent"), 40);
                let got = java.run("push-sql", "JavaSqlPush", 40);
                assert_eq!(num(&got, "received"), 11);
                assert_eq!(num(&got, "unexpected"), 0);
            }

            /// Without `enable_property_filter` the consumer is refused at start with Java's reason.
            #[test]
            fn sql92_consumer_is_refused_without_property_filters() {
                let Some(java) = Java::start(V, "sql_refused") else {
                    return;
                };
                assert_eq!(num(&java.run("sql-send", "JavaSqlRefused", 5), "sent"), 5);
                let got = java.run("push-sql-refused", "JavaSqlRefused", 5);
                assert_eq!(got.get("refused").map(String::as_str), Some("true"));
            }

            #[test]
            fn transaction_commit_rollback_and_check() {
                let Some(java) = Java::start(V, "transaction") else {
                    return;
                };
                let r = java.run("transaction", "JavaTransaction", 30);
                assert_eq!(num(&r, "committed"), 20, "{r:?}");
            }

            $($extra)*
        }
    };
}

java_client_tests!(v4_9_8, "4.9.8", {});

java_client_tests!(v5_3_3, "5.3.3", {
    #[test]
    fn deliver_time_send_is_delivered_when_due() {
        alone(V, "deliver_time", "deliver-time", 20);
    }
});

java_client_tests!(v5_5_0, "5.5.0", {
    #[test]
    fn deliver_time_send_is_delivered_when_due() {
        alone(V, "deliver_time", "deliver-time", 20);
    }
});
