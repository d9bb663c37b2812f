//! The stock Java pieces built by `mvn -q -B package` in `tests/java` (found through
//! `ACTORMQ_JAVA_CLIENTS`, that build's `target` directory): the scenario jars
//! (`clients-<version>.jar`) and the Java name server's classpath (`namesrv-5.3.3/`).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Once};
use std::time::Duration;

use super::scenario;

/// The directory holding the jars.
pub const JARS_ENV: &str = "ACTORMQ_JAVA_CLIENTS";
/// A scenario process that runs longer than this is killed (each has its own 60 s deadlines).
pub const PROCESS_TIMEOUT: Duration = Duration::from_secs(150);

/// The jars' directory, or `None` (said once on stderr, naming `test_file`) when
/// `ACTORMQ_JAVA_CLIENTS` is not set.
pub fn jars_dir(test_file: &str) -> Option<PathBuf> {
    let Some(dir) = std::env::var_os(JARS_ENV) else {
        // Straight to stderr (eprintln! would be captured by the test harness), once.
        static SAID: Once = Once::new();
        SAID.call_once(|| {
            let _ = writeln!(
                std::io::stderr(),
                "{test_file}: skipped, {JARS_ENV} is not set. Build the jars with \
                 `mvn -q -B package` in tests/java, then run \
                 `{JARS_ENV}=tests/java/target cargo test --test {test_file}`"
            );
        });
        return None;
    };
    Some(PathBuf::from(dir))
}

/// Runs one scenario of `jar` to completion and returns the `key=value` pairs of its `OK` line;
/// panics with its output if it fails or runs past the timeout. The client's log goes to `logs`.
pub fn run_scenario(
    jar: &Path,
    logs: &Path,
    scenario: &str,
    namesrv: &str,
    topic: &str,
    count: usize,
) -> HashMap<String, String> {
    let (code, out) = scenario::run(
        Command::new("java")
            .args(["-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"])
            // The client's own log: 4.9 reads the first property, 5.x the second.
            .arg(format!("-Drocketmq.client.logRoot={}", logs.display()))
            .arg(format!("-Drocketmq.log.root={}", logs.display()))
            .arg("-jar")
            .arg(jar)
            .args([scenario, namesrv, topic, &count.to_string()]),
        PROCESS_TIMEOUT,
    );
    match scenario::ok_fields(scenario, code, &out) {
        Some(fields) => {
            eprintln!("--- java {scenario} {topic} {count}:\n{out}");
            fields
        }
        None => panic!(
            "java {scenario} {topic} {count} exited with {code:?} (client log in {}):\n{out}",
            logs.display()
        ),
    }
}

/// The stock Java name server (`rocketmq-namesrv` 5.3.3) on a free port, its home and logs in a
/// temp dir (`rocketmq-reference-2.md` §10). Killed on drop.
pub struct JavaNameServer {
    pub addr: String,
    child: Child,
    _home: tempfile::TempDir,
}

impl JavaNameServer {
    /// Starts it from `<jars>/namesrv-5.3.3/*` and waits (up to 90 s: the JVM is slow to start
    /// on a busy machine) for "The Name Server boot success".
    pub fn start(jars: &Path) -> JavaNameServer {
        let lib = jars.join("namesrv-5.3.3");
        assert!(
            lib.is_dir(),
            "{} does not exist: run `mvn -q -B package` in tests/java",
            lib.display()
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let home = tempfile::tempdir().expect("tempdir");
        let props = home.path().join("namesrv.properties");
        std::fs::write(&props, format!("listenPort={port}\n")).unwrap();
        let mut child = Command::new("java")
            .args(["-Xms128m", "-Xmx256m", "-XX:+UseSerialGC"])
            .arg(format!("-Duser.home={}", home.path().display()))
            .arg("-cp")
            .arg(format!("{}/*", lib.display()))
            .arg("org.apache.rocketmq.namesrv.NamesrvStartup")
            .arg("-c")
            .arg(&props)
            .env("ROCKETMQ_HOME", home.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the Java name server");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                eprintln!("[java namesrv] {line}");
                if line.contains("The Name Server boot success") {
                    let _ = tx.send(());
                }
            }
        });
        if rx.recv_timeout(Duration::from_secs(90)).is_err() {
            let _ = child.kill();
            panic!("the Java name server did not boot within 90 s");
        }
        JavaNameServer {
            addr: format!("127.0.0.1:{port}"),
            child,
            _home: home,
        }
    }
}

impl Drop for JavaNameServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
