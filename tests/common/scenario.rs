//! A stock client's scenario run as its own process (the Java and Go client tests): stdout is
//! captured while stderr goes to the test's, the process is killed at a deadline, and the
//! scenario's verdict is its exit code plus its `OK <scenario> key=value ...` line.

use std::collections::HashMap;
use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Runs `cmd` to completion or until `timeout`; returns its exit code (None: killed at the
/// timeout or by a signal) and its stdout.
pub fn run(cmd: &mut Command, timeout: Duration) -> (Option<i32>, String) {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("run {cmd:?}: {e}"));
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the scenario process") {
            break Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    (status.and_then(|s| s.code()), reader.join().unwrap())
}

/// The `key=value` pairs of the `OK <scenario>` line, when the process exited 0 and printed one.
pub fn ok_fields(scenario: &str, code: Option<i32>, out: &str) -> Option<HashMap<String, String>> {
    let prefix = format!("OK {scenario}");
    let line = out.lines().find_map(|l| {
        l.strip_prefix(&prefix)
            .filter(|rest| rest.is_empty() || rest.starts_with(' '))
    })?;
    (code == Some(0)).then(|| {
        line.split_whitespace()
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    })
}

/// A number from an `OK` line; panics naming the key when it is missing or not a number.
pub fn num(result: &HashMap<String, String>, key: &str) -> usize {
    result
        .get(key)
        .unwrap_or_else(|| panic!("no {key}= in {result:?}"))
        .parse()
        .unwrap_or_else(|e| panic!("{key}= in {result:?}: {e}"))
}
