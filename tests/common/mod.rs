//! A real broker process for integration tests: a temp store, a free port, and the
//! `actormq listening on <addr>` line on stdout as the readiness signal (no fixed sleeps).

#![allow(dead_code)] // each test file uses a different subset

pub mod answer;
pub mod java;
pub mod java_server;
pub mod scenario;
pub mod small_disk;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use tempfile::TempDir;

pub struct TestBroker {
    pub dir: TempDir,
    pub addr: String,
    /// `host:port` of the Prometheus endpoint, when `[metrics] listen` is set.
    pub metrics_addr: Option<String>,
    /// `host:port` of the name-server role, when enabled (it is by default).
    pub namesrv_addr: Option<String>,
    /// `host:port` of a master's HA listener (`actormq ha on <addr>`); `None` on a slave.
    pub ha_addr: Option<String>,
    extra_config: String,
    /// Environment variables set for the broker process (fault-injection hooks).
    env: Vec<(String, String)>,
    /// Extra command-line arguments (e.g. `--namesrv-only`).
    args: Vec<String>,
    /// Every line the broker wrote to stderr (its log), across restarts.
    log: Arc<Mutex<Vec<String>>>,
    child: Option<Child>,
}

/// Extra TOML merged into the test config's sections, e.g. `flush_mode("sync")`.
pub fn config_text(root: &Path, extra: &str) -> String {
    // Small files so rolls happen in tests; everything else is the default unless `extra` says so.
    let mut sections: Vec<(String, Vec<String>)> = vec![
        ("server".into(), vec!["listen = \"127.0.0.1:0\"".into()]),
        (
            "store".into(),
            vec![
                format!("root = {:?}", root.display().to_string()),
                "commitlog_file_bytes = 1048576".into(),
                // Small index files (4.2 MB, not 420 MB) for the many brokers tests run at once.
                "max_hash_slot_num = 50000".into(),
                "max_index_num = 200000".into(),
            ],
        ),
        ("broker".into(), vec!["max_message_bytes = 262144".into()]),
        ("log".into(), vec!["level = \"info\"".into()]),
        ("namesrv".into(), vec!["listen = \"127.0.0.1:0\"".into()]),
        // Every master listens for slaves: a free port, so brokers run side by side.
        ("ha".into(), vec!["listen = \"127.0.0.1:0\"".into()]),
    ];
    let mut current = String::new();
    for line in extra.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if line.starts_with('[') {
            current = line.trim_matches(|c| c == '[' || c == ']').to_string();
            if !sections.iter().any(|(s, _)| *s == current) {
                sections.push((current.clone(), vec![]));
            }
            continue;
        }
        let key = line.split('=').next().unwrap().trim();
        let section = &mut sections.iter_mut().find(|(s, _)| *s == current).unwrap().1;
        section.retain(|l| l.split('=').next().unwrap().trim() != key);
        section.push(line.to_string());
    }
    sections
        .into_iter()
        .map(|(s, lines)| format!("[{s}]\n{}\n", lines.join("\n")))
        .collect()
}

impl TestBroker {
    pub fn start() -> TestBroker {
        Self::start_with("")
    }

    pub fn start_with(extra_config: &str) -> TestBroker {
        Self::start_with_env(extra_config, &[])
    }

    /// A name-server-only node (`--namesrv-only`); `addr` and `namesrv_addr` both name its listener.
    pub fn start_namesrv_only(extra_config: &str) -> TestBroker {
        Self::start_full(extra_config, &[], &["--namesrv-only"])
    }

    /// Like `start_with`, with extra environment variables for the broker process.
    pub fn start_with_env(extra_config: &str, env: &[(&str, &str)]) -> TestBroker {
        Self::start_full(extra_config, env, &[])
    }

    fn start_full(extra_config: &str, env: &[(&str, &str)], args: &[&str]) -> TestBroker {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut b = TestBroker {
            dir,
            addr: String::new(),
            metrics_addr: None,
            namesrv_addr: None,
            ha_addr: None,
            extra_config: extra_config.to_string(),
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            args: args.iter().map(|a| a.to_string()).collect(),
            log: Arc::default(),
            child: None,
        };
        b.launch();
        b
    }

    /// The broker's process id (while it runs).
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    pub fn root(&self) -> PathBuf {
        self.dir.path().join("store")
    }

    pub fn config_path(&self) -> PathBuf {
        self.dir.path().join("broker.toml")
    }

    fn launch(&mut self) {
        std::fs::write(
            self.config_path(),
            config_text(&self.root(), &self.extra_config),
        )
        .unwrap();
        self.spawn();
    }

    fn spawn(&mut self) {
        let mut child = Command::new(env!("CARGO_BIN_EXE_actormq-broker"))
            .arg("--config")
            .arg(self.config_path())
            .args(&self.args)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn broker");
        let stdout = child.stdout.take().unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let (mut metrics, mut namesrv, mut ha) = (None, None, None);
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(m) = line.strip_prefix("actormq metrics on http://") {
                    metrics = m.strip_suffix("/metrics").map(str::to_string);
                }
                if let Some(addr) = line.strip_prefix("actormq namesrv on ") {
                    namesrv = Some(addr.to_string());
                }
                if let Some(addr) = line.strip_prefix("actormq ha on ") {
                    ha = Some(addr.to_string());
                }
                if let Some(addr) = line.strip_prefix("actormq listening on ") {
                    let _ = tx.send((
                        addr.to_string(),
                        metrics.clone(),
                        namesrv.clone(),
                        ha.clone(),
                    ));
                }
            }
        });
        // Keep the pipe drained; echo to the test's stderr so failures show the broker's log.
        let log = self.log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                eprintln!("[broker] {line}");
                log.lock().unwrap().push(line);
            }
        });
        (
            self.addr,
            self.metrics_addr,
            self.namesrv_addr,
            self.ha_addr,
        ) = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("broker did not print its listening line within 30 s");
        self.child = Some(child);
    }

    /// Graceful stop (SIGTERM); returns the exit status code.
    pub fn stop(&mut self) -> Option<i32> {
        let mut child = self.child.take()?;
        // SAFETY: `kill` is a plain syscall; the pid is our own child, not yet waited for, so it
        // cannot have been reused by another process.
        unsafe {
            libc::kill(child.id() as i32, libc::SIGTERM);
        }
        let status = child.wait().ok();
        eprintln!("[test] broker stopped: {status:?}");
        status.and_then(|s| s.code())
    }

    /// Crash: SIGKILL, no shutdown work at all.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts again on the same store (after `stop` or `kill9`).
    /// The broker's log lines so far that contain `needle`.
    pub fn log_lines(&self, needle: &str) -> Vec<String> {
        let log = self.log.lock().unwrap();
        log.iter().filter(|l| l.contains(needle)).cloned().collect()
    }

    /// Replaces the extra config used by the next `restart` (e.g. a master restarted as a slave).
    pub fn reconfigure(&mut self, extra_config: &str) {
        self.extra_config = extra_config.to_string();
    }

    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "stop or kill the broker first");
        self.launch();
    }

    /// Restarts on the configuration file as the broker left it (what it wrote back included),
    /// instead of writing it afresh.
    pub fn restart_on_its_config(&mut self) {
        assert!(self.child.is_none(), "stop or kill the broker first");
        self.spawn();
    }

    pub async fn client(&self) -> actormq::client::Client {
        actormq::client::Client::connect(&self.addr)
            .await
            .expect("connect")
    }
}

impl Drop for TestBroker {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// Polls `probe` until it returns true or `limit` passes; panics with `what` on timeout.
pub async fn wait_until<F: FnMut() -> bool>(limit: Duration, what: &str, mut probe: F) {
    let deadline = std::time::Instant::now() + limit;
    while !probe() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Runs the broker binary with a config and returns (exit code, stderr).
pub fn run_broker_expecting_failure(config: &Path) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_actormq-broker"))
        .arg("--config")
        .arg(config)
        .output()
        .expect("run broker");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// One record of a commit log, as read back from disk.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredRecord {
    pub physical: i64,
    pub topic: String,
    pub queue: i32,
    pub queue_offset: i64,
    pub body: Vec<u8>,
    pub properties: String,
}

/// Reads every record of a store's commit log, checking each body CRC and that each record's
/// physical-offset field matches where it lies. Stops in each file at its first non-record.
pub fn read_commit_log(root: &Path) -> Vec<StoredRecord> {
    use actormq::store::message::{decode, Decoded};
    use actormq::store::paths;
    let mut out = Vec::new();
    for (start, path) in paths::list_files(&paths::commitlog_dir(root)).unwrap() {
        let bytes = std::fs::read(path).unwrap();
        let mut at = 0;
        while let Ok(Decoded::Record(r)) = decode(&bytes[at..], true) {
            assert_eq!(r.physical_offset as u64, start + at as u64);
            out.push(StoredRecord {
                physical: r.physical_offset,
                topic: r.topic.to_string(),
                queue: r.queue_id,
                queue_offset: r.queue_offset,
                body: r.body.to_vec(),
                properties: r.properties.to_string(),
            });
            at += r.total_size as usize;
        }
    }
    out
}

/// Like `wait_until`, for a probe that has to talk to the broker.
pub async fn wait_until_async<F, Fut>(limit: Duration, what: &str, mut probe: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = std::time::Instant::now() + limit;
    while !probe().await {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Every message body of one queue, pulled from offset 0 until the broker has no more (any
/// answer but SUCCESS ends it), `max_msgs` at a time.
pub async fn pull_queue_bodies(
    c: &actormq::client::Client,
    group: &str,
    topic: &str,
    queue: i32,
    max_msgs: u32,
) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut offset = 0;
    loop {
        let mut req = actormq::client::PullRequest::new(group, topic, queue, offset);
        req.max_msgs = max_msgs;
        let r = c.pull(&req).await.unwrap();
        if r.code != actormq::protocol::response_code::SUCCESS {
            return out;
        }
        offset = r.next_begin_offset;
        out.extend(r.messages.into_iter().map(|m| m.body.to_vec()));
    }
}

/// A process's anonymous resident memory (`RssAnon`), in KiB.
pub fn anon_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("RssAnon:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// A Java 5.3 push consumer's HEART_BEAT (language JAVA, version 479): client `client_id`,
/// consumer group `group` subscribed to each of `topics` (all tags), starting from
/// `consume_from` (`CONSUME_FROM_FIRST_OFFSET`, ...), also producing for `producer_group` if given.
pub fn java_consumer_heartbeat(
    client_id: &str,
    group: &str,
    topics: &[&str],
    consume_from: &str,
    producer_group: Option<&str>,
) -> actormq::protocol::RemotingCommand {
    use actormq::protocol::{request_code, LanguageCode, RemotingCommand};
    let subscriptions: Vec<serde_json::Value> = topics
        .iter()
        .map(|topic| {
            serde_json::json!({
                "classFilterMode": false, "codeSet": [], "expressionType": "TAG",
                "subString": "*", "subVersion": 1_700_000_000_000i64, "tagsSet": [], "topic": topic
            })
        })
        .collect();
    let producers: Vec<serde_json::Value> = producer_group
        .iter()
        .map(|g| serde_json::json!({"groupName": g}))
        .collect();
    let body = serde_json::json!({
        "clientID": client_id,
        "consumerDataSet": [{
            "consumeFromWhere": consume_from,
            "consumeType": "CONSUME_PASSIVELY",
            "groupName": group,
            "messageModel": "CLUSTERING",
            "subscriptionDataSet": subscriptions,
            "unitMode": false
        }],
        "producerDataSet": producers
    });
    let mut cmd =
        RemotingCommand::request(request_code::HEART_BEAT, 0).with_body(body.to_string().into());
    cmd.language = LanguageCode::Java;
    cmd.version = 479;
    cmd
}

/// Runs `ask` with a client of the broker at `addr`, on a runtime of its own: for plain `#[test]`s
/// that wait for stock-client processes on their own thread.
pub fn with_client<T, F>(addr: &str, ask: impl FnOnce(actormq::client::Client) -> F) -> T
where
    F: std::future::Future<Output = T>,
{
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        let client = actormq::client::Client::connect(addr).await.unwrap();
        ask(client).await
    })
}
