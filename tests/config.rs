//! Configuration errors stop the broker at start with a one-line message naming the file and key.

mod common;

use common::{config_text, run_broker_expecting_failure};

fn write_config(dir: &std::path::Path, text: &str) -> std::path::PathBuf {
    let path = dir.join("broker.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn fails_with(text: &str, expected: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let path = write_config(dir.path(), text);
    let (code, stderr) = run_broker_expecting_failure(&path);
    assert_eq!(code, Some(2), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
    assert!(
        stderr.contains(&*path.display().to_string()),
        "names the file: {stderr}"
    );
    for e in expected {
        assert!(stderr.contains(e), "expected {e:?} in {stderr}");
    }
}

#[test]
fn unknown_key() {
    fails_with(
        "[server]\nlisen = \"127.0.0.1:1\"\n",
        &["server.lisen", "unknown field"],
    );
}

#[test]
fn wrong_type() {
    fails_with("[flush]\ninterval_ms = \"soon\"\n", &["flush.interval_ms"]);
}

#[test]
fn bad_broker_permission() {
    fails_with(
        "[broker]\npermission = 16\n",
        &["broker.permission", "16 is not a permission"],
    );
}

#[test]
fn bad_flush_mode() {
    fails_with("[flush]\nmode = \"sometimes\"\n", &["flush.mode"]);
}

#[test]
fn port_out_of_range() {
    fails_with(
        "[server]\nlisten = \"127.0.0.1:99999\"\n",
        &["server.listen"],
    );
}

#[test]
fn zero_file_size() {
    let dir = tempfile::tempdir().unwrap();
    let text = config_text(&dir.path().join("s"), "[store]\ncommitlog_file_bytes = 0");
    fails_with(&text, &["store.commitlog_file_bytes = 0"]);
}

#[test]
fn unwritable_store_root() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("file");
    std::fs::write(&file, "x").unwrap();
    let text = config_text(&file.join("store"), "");
    fails_with(&text, &["store.root"]);
}

#[test]
fn missing_config_file() {
    let dir = tempfile::tempdir().unwrap();
    let (code, stderr) = run_broker_expecting_failure(&dir.path().join("nope.toml"));
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("nope.toml") && stderr.contains("cannot read config file"),
        "{stderr}"
    );
}

/// The repository's own broker.toml is valid (it is also compared to the defaults in a unit test).
#[test]
fn checked_in_config_parses() {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/broker.toml")).unwrap();
    actormq::config::BrokerConfig::parse(&text, std::path::Path::new("broker.toml")).unwrap();
}
