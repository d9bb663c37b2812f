//! The stock Java RocketMQ server pieces (name server, broker 5.3.3) as processes for tests, from
//! the jars `mvn -q -B package` in `tests/java-server` copies to `tests/java-server/target/lib`.
//! Tests find that directory through `ACTORMQ_JAVA_SERVER`; without it they say why they skipped
//! and pass, so a plain `cargo test` needs no JVM (`.ci/run` sets it).
//!
//! How the pieces are run follows `rocketmq-reference-2.md` §10: `java -cp '<lib>/*' <main> -c
//! <properties>`, `ROCKETMQ_HOME` set (5.3.3 needs it set, not populated), `-Duser.home` per
//! instance so each keeps its logs (`<home>/logs/rocketmqlogs/`) apart, small heaps.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Once};
use std::time::Duration;

/// The directory holding the server jars (`tests/java-server/target/lib`).
pub const SERVER_ENV: &str = "ACTORMQ_JAVA_SERVER";

/// The jar directory, or `None` (said once on stderr) when `ACTORMQ_JAVA_SERVER` is not set.
pub fn server_lib(test_file: &str) -> Option<PathBuf> {
    let Some(dir) = std::env::var_os(SERVER_ENV) else {
        static SAID: Once = Once::new();
        SAID.call_once(|| {
            let _ = writeln!(
                std::io::stderr(),
                "{test_file}: skipped, {SERVER_ENV} is not set. Copy the jars with `mvn -q -B \
                 package` in tests/java-server, then run \
                 `{SERVER_ENV}=tests/java-server/target/lib cargo test --test {test_file}`"
            );
        });
        return None;
    };
    // Absolute: the Java processes may run in a directory of their own.
    let lib = std::path::absolute(PathBuf::from(dir)).expect("the jar directory's path");
    // Another release's jars may be tried the same way (`mvn -q -B package
    // -Drocketmq.version=5.5.0` in a copy of tests/java-server).
    let has_broker = std::fs::read_dir(&lib).is_ok_and(|entries| {
        entries.flatten().any(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            name.starts_with("rocketmq-broker-") && name.ends_with(".jar")
        })
    });
    assert!(
        has_broker,
        "{} lacks rocketmq-broker-<version>.jar: run `mvn -q -B package` in tests/java-server",
        lib.display()
    );
    Some(lib)
}

/// Runs the stock `mqadmin` (rocketmq-tools 5.3.3, `MQAdminStartup`) with `args` against the name
/// server `namesrv`, in a home directory of its own; its output and exit status.
pub fn mqadmin(lib: &Path, namesrv: &str, args: &[&str]) -> std::process::Output {
    let home = tempfile::tempdir().expect("mqadmin home");
    Command::new("java")
        .args(["-Xms64m", "-Xmx256m"])
        .arg(format!("-Duser.home={}", home.path().display()))
        .arg("-cp")
        .arg(format!("{}/*", lib.display()))
        .arg("org.apache.rocketmq.tools.command.MQAdminStartup")
        .args(args)
        .args(["-n", namesrv])
        .current_dir(home.path())
        .env("ROCKETMQ_HOME", home.path())
        .output()
        .expect("run java (mqadmin)")
}

/// A port `p` such that `p`, `p - 2` (the Java broker's fast/VIP port) and `p + 1` (its HA
/// port) were all free a moment ago. Picked below the kernel's ephemeral range (32768 and up on
/// Linux): a port the kernel hands out for port 0 is also what it hands out as the local port of
/// outgoing connections, so in the gap before the Java broker binds it an actormq broker's
/// connection could take it (a Java broker exiting at start-up in CI was that).
pub fn free_broker_port() -> u16 {
    use std::hash::{BuildHasher, RandomState};
    let seed = RandomState::new();
    (0u64..)
        .map(|i| 20_000 + (seed.hash_one(i) % 12_000) as u16)
        .find(|&port| {
            [port - 2, port, port + 1]
                .iter()
                .all(|p| TcpListener::bind(("127.0.0.1", *p)).is_ok())
        })
        .expect("an endless search ends only with a port")
}

/// A port for a Java name server: free a moment ago, below the ephemeral range (see
/// [`free_broker_port`]).
pub fn free_java_port() -> u16 {
    free_broker_port()
}

/// One Java server process; killed (SIGKILL) when dropped.
pub struct JavaProcess {
    child: Option<Child>,
    /// `-Duser.home`: logs are under `logs/rocketmqlogs/`.
    pub home: PathBuf,
    /// Every stdout line, for the test's failure messages.
    lines: mpsc::Receiver<String>,
    what: &'static str,
}

impl JavaProcess {
    /// A name server on `127.0.0.1:<port>`, ready when it says so.
    pub fn namesrv(lib: &Path, dir: &Path, port: u16) -> JavaProcess {
        let conf = dir.join("namesrv.properties");
        std::fs::write(&conf, format!("listenPort={port}\n")).unwrap();
        let mut p = Self::spawn(
            "namesrv",
            lib,
            dir,
            &["-Xms128m", "-Xmx256m"],
            "org.apache.rocketmq.namesrv.NamesrvStartup",
            &conf,
        );
        p.wait_for("The Name Server boot success", Duration::from_secs(60));
        p
    }

    /// A broker with `properties` (broker.conf lines) written to `<dir>/broker.conf`, ready when
    /// it says "boot success".
    pub fn broker(lib: &Path, dir: &Path, properties: &str) -> JavaProcess {
        let conf = dir.join("broker.conf");
        std::fs::write(&conf, properties).unwrap();
        let mut p = Self::spawn(
            "broker",
            lib,
            dir,
            &["-Xms512m", "-Xmx512m", "-XX:MaxDirectMemorySize=512m"],
            "org.apache.rocketmq.broker.BrokerStartup",
            &conf,
        );
        p.wait_for("boot success", Duration::from_secs(90));
        p
    }

    fn spawn(
        what: &'static str,
        lib: &Path,
        dir: &Path,
        heap: &[&str],
        main: &str,
        conf: &Path,
    ) -> JavaProcess {
        let home = dir.join(format!("{what}-home"));
        std::fs::create_dir_all(&home).unwrap();
        let mut child = Command::new("java")
            .args(heap)
            .arg(format!("-Duser.home={}", home.display()))
            .arg("-cp")
            .arg(format!("{}/*", lib.display()))
            .arg(main)
            .arg("-c")
            .arg(conf)
            .env("ROCKETMQ_HOME", &home)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("spawn java {what}: {e}"));
        let (tx, lines) = mpsc::channel();
        // Start-up failures (a port in use, a bad setting) are printed to stderr before exiting.
        let stderr = child.stderr.take().unwrap();
        let tx_err = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx_err.send(format!("[stderr] {line}")).is_err() {
                    break;
                }
            }
        });
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        JavaProcess {
            child: Some(child),
            home,
            lines,
            what,
        }
    }

    fn wait_for(&mut self, needle: &str, limit: Duration) {
        let deadline = std::time::Instant::now() + limit;
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            let why = match self.lines.recv_timeout(left) {
                Ok(line) if line.contains(needle) => return,
                Ok(line) => {
                    seen.push(line);
                    continue;
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    format!("did not print {needle:?} within {limit:?}")
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    format!("exited before printing {needle:?}")
                }
            };
            panic!(
                "java {} {why}; its last lines:\n{}",
                self.what,
                seen[seen.len().saturating_sub(30)..].join("\n")
            );
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// A clean stop: SIGTERM runs the Java shutdown hook (flush, checkpoint, remove `abort`,
    /// persist consumer offsets); waits for the process to exit.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // SAFETY: a plain syscall on our own child, not yet waited for (its pid is ours).
            unsafe {
                libc::kill(child.id() as i32, libc::SIGTERM);
            }
            let _ = child.wait();
        }
    }

    /// A crash: SIGKILL, no shutdown hook.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for JavaProcess {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// `broker.conf` for a Java master on `127.0.0.1:<port>` storing under `store`, registering with
/// `namesrv`; `extra` lines are appended (a later key wins in Java's Properties).
pub fn broker_properties(
    name: &str,
    port: u16,
    store: &Path,
    namesrv: &str,
    extra: &str,
) -> String {
    format!(
        "brokerClusterName=DefaultCluster\nbrokerName={name}\nbrokerId=0\n\
         brokerRole=ASYNC_MASTER\nflushDiskType=ASYNC_FLUSH\nnamesrvAddr={namesrv}\n\
         brokerIP1=127.0.0.1\nbrokerIP2=127.0.0.1\nlistenPort={port}\nhaListenPort={ha}\n\
         storePathRootDir={root}\nstorePathCommitLog={root}/commitlog\n\
         autoCreateTopicEnable=true\nautoCreateSubscriptionGroup=true\n\
         diskMaxUsedSpaceRatio=95\ndiskSpaceWarningLevelRatio=98\n{extra}\n",
        ha = port + 1,
        root = store.display(),
    )
}
