//! The stock Java pieces built by `mvn -q -B package` in `tests/java` (found through
//! `ACTORMQ_JAVA_CLIENTS`, that build's `target` directory): the scenario jars
//! (`clients-<version>.jar`). The Java server pieces are in `java_server.rs`.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Once;
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
        &mut command(jar, logs, scenario, namesrv, topic, count),
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

/// The `java` command line of one scenario.
pub fn command(
    jar: &Path,
    logs: &Path,
    scenario: &str,
    namesrv: &str,
    topic: &str,
    count: usize,
) -> Command {
    let mut cmd = Command::new("java");
    cmd.args(["-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"])
        // The client's own log: 4.9 reads the first property, 5.x the second.
        .arg(format!("-Drocketmq.client.logRoot={}", logs.display()))
        .arg(format!("-Drocketmq.log.root={}", logs.display()))
        // A broadcasting consumer's own offsets: not in ~/.rocketmq_offsets, where a file left
        // by an earlier run could hold offsets this broker never handed out.
        .arg(format!(
            "-Drocketmq.client.localOffsetStoreDir={}",
            logs.join("offsets").display()
        ))
        .arg("-jar")
        .arg(jar)
        .args([scenario, namesrv, topic, &count.to_string()]);
    cmd
}
