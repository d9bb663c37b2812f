//! `actormq stats`: one row per actor — mailbox depth, throughput, handling time, rejections — read
//! with `GET_BROKER_RUNTIME_INFO`. With `--watch SECS` it redraws in place like `top`, and the rates
//! and percentiles cover the last interval (the difference of two snapshots).

use std::collections::HashMap;
use std::io::Write;
use std::time::{Duration, Instant};

use anyhow::Context as _;

use actormq::client::{Client, ClientError};
use actormq::metrics::{Gauge, MailboxSnapshot};
use actormq::protocol::{request_code, RemotingCommand};

#[derive(clap::Args)]
pub struct StatsArgs {
    /// Redraw every SECS seconds until interrupted.
    #[arg(long)]
    watch: Option<f64>,
    /// Print the raw runtime-info table as JSON.
    #[arg(long)]
    json: bool,
    /// Also one row per open connection (its depth = its requests in flight).
    #[arg(long)]
    connections: bool,
}

async fn fetch(client: &Client, per_connection: bool) -> anyhow::Result<HashMap<String, String>> {
    let mut request = RemotingCommand::request(request_code::GET_BROKER_RUNTIME_INFO, 0);
    if per_connection {
        request = request.with_ext("perConnection", "true");
    }
    let resp = client.request(request).await?;
    if resp.code != 0 {
        return Err(ClientError::from_response(&resp).into());
    }
    #[derive(serde::Deserialize)]
    struct KvTable {
        table: HashMap<String, String>,
    }
    let kv: KvTable =
        serde_json::from_slice(&resp.body).context("runtime info is not a KVTable")?;
    Ok(kv.table)
}

/// Every actor's row, then (when asked for) one row per connection.
fn mailboxes(table: &HashMap<String, String>) -> anyhow::Result<Vec<MailboxSnapshot>> {
    let json = table
        .get("actormq.mailboxes")
        .context("the broker did not report mailboxes")?;
    let mut rows: Vec<MailboxSnapshot> = serde_json::from_str(json)?;
    if let Some(json) = table.get("actormq.connections") {
        rows.extend(serde_json::from_str::<Vec<MailboxSnapshot>>(json)?);
    }
    Ok(rows)
}

fn render(
    now: &[MailboxSnapshot],
    before: Option<&[MailboxSnapshot]>,
    secs: f64,
    offset: &str,
) -> String {
    let mut out = format!(
        "{:<28} {:>9} {:>7} {:>7} {:>12} {:>10} {:>9} {:>9} {:>9} {:>9}\n",
        "ACTOR",
        "CAPACITY",
        "DEPTH",
        "PEAK",
        "HANDLED",
        "MSG/S",
        "P50(us)",
        "P99(us)",
        "MAX(us)",
        "REJECTED"
    );
    for m in now {
        let window = before
            .and_then(|b| b.iter().find(|p| p.actor == m.actor))
            .map(|p| m.since(p));
        let recent = window.as_ref().unwrap_or(m);
        let rate = if window.is_some() {
            recent.handled as f64 / secs
        } else {
            f64::NAN
        };
        out.push_str(&format!(
            "{:<28} {:>9} {:>7} {:>7} {:>12} {:>10} {:>9.0} {:>9.0} {:>9.0} {:>9}\n",
            m.actor,
            m.capacity,
            m.depth,
            m.peak_depth,
            m.handled,
            if rate.is_nan() {
                "-".to_string()
            } else {
                format!("{rate:.0}")
            },
            recent.quantile_secs(0.5) * 1e6,
            recent.quantile_secs(0.99) * 1e6,
            m.handle_seconds_max * 1e6,
            m.rejected,
        ));
    }
    out.push_str(&format!("commit log offset: {offset} bytes\n"));
    out
}

/// The broker's place in its cluster: name, id, role and advertised addresses (absent from brokers
/// that do not report them).
fn render_identity(table: &HashMap<String, String>) -> String {
    let Some(role) = table.get("brokerRole") else {
        return String::new();
    };
    let get = |k: &str| table.get(k).map(String::as_str).unwrap_or("-");
    let namesrv = match get("namesrvAddr") {
        "" => "none",
        n => n,
    };
    format!(
        "broker {} (cluster {}) id {} {role}; clients connect to {}, slaves to {}; name servers: {namesrv}\n",
        get("brokerName"),
        get("brokerClusterName"),
        get("brokerId"),
        get("brokerAddr"),
        get("haServerAddr"),
    )
}

/// The broker's gauges (`actormq.gauges`), if it reported them.
fn gauges(table: &HashMap<String, String>) -> Option<Vec<Gauge>> {
    serde_json::from_str(table.get("actormq.gauges")?).ok()
}

/// Replication, from `actormq.gauges`: on a master one line per slave (lag in bytes and seconds,
/// acknowledged offset), on a slave its view of the master.
fn render_replication(table: &HashMap<String, String>) -> String {
    let Some(gauges) = gauges(table) else {
        return String::new();
    };
    let value = |name: &str, slave: Option<&str>| {
        gauges
            .iter()
            .find(|g| {
                g.name == name
                    && slave.is_none_or(|s| g.labels.iter().any(|(k, v)| k == "slave" && v == s))
            })
            .map(|g| g.value)
    };
    let mut out = String::new();
    if let Some(n) = value("ha_slaves", None) {
        out.push_str(&format!("replication: {n} slave(s)\n"));
        let slaves = gauges.iter().filter(|g| g.name == "ha_slave_lag_bytes");
        for g in slaves {
            let Some((_, peer)) = g.labels.iter().find(|(k, _)| k == "slave") else {
                continue;
            };
            let secs = value("ha_slave_lag_seconds", Some(peer)).unwrap_or(0.0);
            let acked = value("ha_slave_ack_offset_bytes", Some(peer)).unwrap_or(0.0);
            out.push_str(&format!(
                "  slave {peer}: lag {} bytes, {secs:.3} s, acked offset {acked}\n",
                g.value
            ));
        }
    }
    if let Some(connected) = value("ha_master_connected", None) {
        let master = value("ha_master_offset_bytes", None).unwrap_or(0.0);
        let behind = value("ha_slave_behind_bytes", None).unwrap_or(0.0);
        let state = if connected > 0.0 {
            "connected"
        } else {
            "disconnected"
        };
        out.push_str(&format!(
            "replication (slave): master {state}, master offset {master}, behind {behind} bytes\n"
        ));
    }
    out
}

/// The disk state, the connection bounds' counters and the rejected requests, from
/// `actormq.gauges`.
fn render_guards(table: &HashMap<String, String>) -> String {
    let Some(gauges) = gauges(table) else {
        return String::new();
    };
    let label = |g: &Gauge, key: &str| {
        g.labels
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let value = |name: &str| gauges.iter().find(|g| g.name == name).map(|g| g.value);
    let mut out = String::new();
    if let (Some(used), Some(writable)) = (value("disk_used_ratio"), value("store_writable")) {
        let state = if writable > 0.0 {
            "yes"
        } else {
            "no (disk full)"
        };
        out.push_str(&format!(
            "disk: used {:.1}%, writable {state}\n",
            used * 100.0
        ));
    }
    out.push_str("connections:");
    let guard = |g: &&Gauge| g.name.starts_with("connections_") || g.name.starts_with("frame_");
    for g in gauges.iter().filter(guard) {
        let reason = label(g, "reason");
        let name = g.name.trim_end_matches("_total");
        match reason.is_empty() {
            true => out.push_str(&format!(" {name}={}", g.value)),
            false => out.push_str(&format!(" {name}[{reason}]={}", g.value)),
        }
    }
    out.push('\n');
    let rejected: Vec<_> = gauges
        .iter()
        .filter(|g| g.name == "requests_rejected_total")
        .collect();
    if !rejected.is_empty() {
        out.push_str(&format!(
            "{:<40} {:<32} {:>10}\n",
            "REJECTED REQUEST", "RESPONSE", "COUNT"
        ));
    }
    for g in rejected {
        let request = format!("{}({})", label(g, "request"), label(g, "request_code"));
        let response = format!("{}({})", label(g, "response"), label(g, "response_code"));
        out.push_str(&format!("{request:<40} {response:<32} {:>10}\n", g.value));
    }
    out
}

pub async fn run(broker: &str, args: StatsArgs) -> anyhow::Result<()> {
    let client = Client::connect(broker).await?;
    let table = fetch(&client, args.connections).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&table)?);
        return Ok(());
    }
    let offset =
        |t: &HashMap<String, String>| t.get("commitLogMaxOffset").cloned().unwrap_or_default();
    let mut previous = mailboxes(&table)?;
    let Some(every) = args.watch else {
        print!("{}", render_identity(&table));
        print!("{}", render(&previous, None, 0.0, &offset(&table)));
        print!("{}", render_guards(&table));
        print!("{}", render_replication(&table));
        return Ok(());
    };
    let every = Duration::from_secs_f64(every.max(0.1));
    let mut taken = Instant::now();
    loop {
        tokio::time::sleep(every).await;
        let table = fetch(&client, args.connections).await?;
        let now = mailboxes(&table)?;
        let secs = taken.elapsed().as_secs_f64();
        taken = Instant::now();
        // Clear the screen and home the cursor, then draw: refreshes in place like `top`.
        print!(
            "\x1b[2J\x1b[H{}{}",
            render_identity(&table),
            render(&now, Some(&previous), secs, &offset(&table))
        );
        print!("{}", render_guards(&table));
        print!("{}", render_replication(&table));
        std::io::stdout().flush().ok();
        previous = now;
    }
}
