//! The stock Go client (`github.com/apache/rocketmq-client-go/v2` v2.1.2, the latest tagged v2
//! release) against actormq, with actormq as its name server (issue 12 item 6). `tests/go` is one
//! Go program with a subcommand per scenario; each runs as its own process against the real broker
//! binary, checks what it got, and ends with `OK <scenario> key=value ...` (exit 0) or
//! `FAIL <scenario>: why` (exit 1).
//!
//! Gated by `ACTORMQ_GO_CLIENTS=1`: without it each test says why it skipped and passes, so a
//! plain `cargo test` needs no Go toolchain. With it, the first test builds the program once
//! (`go build` in `tests/go`, modules from the Go proxy pinned by `tests/go/go.sum`) into
//! `CARGO_TARGET_TMPDIR`. `.ci/run` runs `ACTORMQ_GO_CLIENTS=1 cargo test --test go_clients`.
//! Scenarios that need what actormq does not serve yet are `#[ignore]`d with the reason.

mod common;

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Once, OnceLock};
use std::time::Duration;

use common::scenario::{self, num};
use common::TestBroker;

/// Set to `1` to run these tests.
const GATE_ENV: &str = "ACTORMQ_GO_CLIENTS";
/// A scenario process that runs longer than this is killed (each has its own 90 s deadline).
const PROCESS_TIMEOUT: Duration = Duration::from_secs(150);

/// The scenario program, built on first use (once per test run).
fn program() -> Option<&'static Path> {
    if std::env::var(GATE_ENV).as_deref() != Ok("1") {
        // Straight to stderr (eprintln! would be captured by the test harness), once.
        static SAID: Once = Once::new();
        SAID.call_once(|| {
            let _ = writeln!(
                std::io::stderr(),
                "go_clients: skipped, {GATE_ENV} is not 1. With Go on PATH, run \
                 `{GATE_ENV}=1 cargo test --test go_clients`"
            );
        });
        return None;
    }
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    Some(BUILT.get_or_init(|| {
        let exe = Path::new(env!("CARGO_TARGET_TMPDIR")).join("actormq-go-clients");
        let status = Command::new("go")
            .args(["build", "-o"])
            .arg(&exe)
            .arg(".")
            .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/go"))
            .env("GOFLAGS", "-mod=mod")
            .status()
            .expect("run `go build` (Go on PATH)");
        assert!(status.success(), "go build in tests/go failed: {status}");
        exe
    }))
}

/// The scenario program and a broker for it to talk to.
struct Go {
    exe: &'static Path,
    logs: PathBuf,
    /// Runs as long as this lives (dropping it kills the broker).
    _broker: TestBroker,
    namesrv: String,
}

impl Go {
    /// `None` (with a message) when the tests are not enabled.
    fn start(test: &str) -> Option<Go> {
        Self::start_with(test, "")
    }

    /// As `start`, with `extra` added to the broker's configuration.
    fn start_with(test: &str, extra: &str) -> Option<Go> {
        let exe = program()?;
        let logs = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join("go-clients")
            .join(test);
        let _ = std::fs::remove_dir_all(&logs);
        std::fs::create_dir_all(&logs).expect("log dir");
        // Transaction halves are checked a second after they are stored (not 6 s, then every 30 s).
        let broker = TestBroker::start_with(&format!(
            "[transaction]\ntimeout_ms = 1000\ncheck_interval_ms = 1000\n{extra}"
        ));
        let namesrv = broker.namesrv_addr.clone().expect("name-server role on");
        Some(Go {
            exe,
            logs,
            _broker: broker,
            namesrv,
        })
    }

    /// Runs one scenario to completion and returns the `key=value` pairs of its `OK` line;
    /// panics with its output if it fails or runs past the timeout.
    fn run(&self, scenario: &str, topic: &str, count: usize) -> HashMap<String, String> {
        let log = self.logs.join(format!("{scenario}.log"));
        let (code, out) = scenario::run(
            Command::new(self.exe)
                .args([scenario, &self.namesrv, topic, &count.to_string()])
                .env("ACTORMQ_GO_LOG", &log),
            PROCESS_TIMEOUT,
        );
        match scenario::ok_fields(scenario, code, &out) {
            Some(fields) => {
                eprintln!("--- go {scenario} {topic} {count}:\n{out}");
                fields
            }
            None => panic!(
                "go {scenario} {topic} {count} exited with {code:?} (client log {}):\n{out}",
                log.display()
            ),
        }
    }
}

/// `produce` with `count`, checked, then `consumer` on the same topic; its `OK` fields (None:
/// the tests are not enabled).
fn produce_then(
    test: &str,
    topic: &str,
    count: usize,
    consumer: &str,
) -> Option<HashMap<String, String>> {
    let go = Go::start(test)?;
    let sent = go.run("produce", topic, count);
    assert_eq!(num(&sent, "sent"), 4 * count);
    assert_eq!(num(&sent, "batches"), count.div_ceil(10));
    Some(go.run(consumer, topic, count))
}

/// Sync, async, oneway and batch sends (tags, keys; plus TagC messages the consumer filters
/// out), then a clustering push consumer subscribed with `TagA || TagB` gets every TagA/TagB
/// message exactly once, as sent.
#[test]
fn sends_then_push_consumer_gets_each_once() {
    let Some(got) = produce_then("sends_push", "GoSendsPush", 100, "push") else {
        return;
    };
    assert_eq!(num(&got, "received"), 400);
    assert_eq!(num(&got, "deliveries"), 400);
}

/// The same sends, then the PullConsumer in subscribe mode (rebalance, Poll, ACK committing the
/// offsets) gets every TagA/TagB message exactly once, as sent.
#[test]
fn sends_then_pull_consumer_subscribe_gets_each_once() {
    let Some(got) = produce_then("sends_pull", "GoSendsPull", 100, "pull-subscribe") else {
        return;
    };
    assert_eq!(num(&got, "received"), 400);
    assert_eq!(num(&got, "deliveries"), 400);
}

/// The listener answers ConsumeRetryLater once for one message: the client sends it back
/// (CONSUMER_SEND_MSG_BACK, delay level 1), it comes back once through `%RETRY%<group>` with
/// reconsume times 1, and every other message is delivered exactly once.
#[test]
fn push_consumer_retry_later_redelivers_once() {
    let Some(got) = produce_then("retry", "GoRetry", 20, "push-retry") else {
        return;
    };
    assert_eq!(num(&got, "received"), 80);
    assert_eq!(num(&got, "deliveries"), 81);
}

/// As above, and the copy sent back with delay level 1 is not stored in `%RETRY%<group>` before
/// 1 s has passed (its store timestamp: its delivery also waits for the client to route
/// `%RETRY%`, up to 30 s in v2.1.2, which would hide a missing delay).
#[test]
fn push_consumer_retry_later_waits_its_delay_level() {
    let Some(got) = produce_then("retry_delay", "GoRetryDelay", 20, "push-retry-delayed") else {
        return;
    };
    assert_eq!(num(&got, "deliveries"), 81);
    assert!(num(&got, "gap_ms") >= 900, "{got:?}");
}

/// TransactionProducer: committed halves are delivered once, rolled-back ones never, and an
/// unknown one is checked (CHECK_TRANSACTION_STATE to the Go producer), which commits it.
#[test]
fn transaction_commit_rollback_and_check() {
    let Some(go) = Go::start("transaction") else {
        return;
    };
    let got = go.run("transaction", "GoTx", 30);
    assert_eq!(num(&got, "committed"), 20, "{got:?}");
}

/// An SQL92 selector (`TAGS = 'TagA'`) on a broker with `enable_property_filter`: the v2.1.2 push
/// consumer, whose pulls say TAG with no expression, gets exactly the TagA messages, each once:
/// the broker filters by the group's registered subscription, as Java's does.
#[test]
fn sql92_push_consumer_gets_what_its_selector_selects() {
    let Some(go) = Go::start_with("sql", "[broker]\nenable_property_filter = true") else {
        return;
    };
    let sent = go.run("produce", "GoSql", 40);
    assert_eq!(num(&sent, "sent"), 160);
    let got = go.run("push-sql", "GoSql", 40);
    assert_eq!(num(&got, "received"), 80);
    assert_eq!(num(&got, "deliveries"), 80);
}
