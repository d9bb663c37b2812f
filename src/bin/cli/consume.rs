//! `actormq pull` and `actormq consume`: read messages back.
//!
//! `consume` reads every queue of a topic for a consumer group: it starts at the group's committed
//! offset (or `--from first|last` when it has none), prints each message, commits the next offset as
//! it goes (COMMIT_OFFSET on the following pull, and UPDATE_CONSUMER_OFFSET before it exits), and with
//! `--follow` keeps long-polling like `tail -f`: one suspended pull per queue, so an idle topic costs
//! no requests until a message arrives.

use std::time::Duration;

use anyhow::Context as _;
use tokio::task::JoinSet;

use actormq::client::{Client, PullRequest, ReceivedMessage};
use actormq::protocol::response_code;
use actormq::store::message::{find_property, property};

#[derive(clap::Args)]
pub struct PullArgs {
    #[arg(long)]
    topic: String,
    #[arg(long)]
    queue: i32,
    #[arg(long, default_value_t = 0)]
    offset: i64,
    /// Most messages to print.
    #[arg(long, default_value_t = 32)]
    count: u32,
    /// Tag expression: `*` or `TagA || TagB`.
    #[arg(long, default_value = "*")]
    tags: String,
    /// Print bodies as hex.
    #[arg(long)]
    hex: bool,
}

#[derive(clap::Args)]
#[command(group(clap::ArgGroup::new("lookup").required(true).args(["key", "unique_key"])))]
pub struct QueryArgs {
    #[arg(long)]
    topic: String,
    /// A word of the messages' KEYS.
    #[arg(long)]
    key: Option<String>,
    /// A message's unique id (UNIQ_KEY, the msgId clients print).
    #[arg(long)]
    unique_key: Option<String>,
    /// Most messages to ask for (the broker gives at most 64; 32 by unique key).
    #[arg(long, default_value_t = 64)]
    max: i32,
    /// Stored at or after this time (ms since the epoch).
    #[arg(long, default_value_t = 0)]
    begin: i64,
    /// Stored at or before this time (ms since the epoch).
    #[arg(long, default_value_t = i64::MAX)]
    end: i64,
    /// Print bodies as hex.
    #[arg(long)]
    hex: bool,
}

/// `QUERY_MESSAGE` by key or unique key, printed like `pull`, filtered as RocketMQ's clients
/// filter (the index compares hashes only).
pub async fn query(broker: &str, args: QueryArgs) -> anyhow::Result<()> {
    let client = Client::connect(broker).await?;
    let (key, unique) = match (&args.key, &args.unique_key) {
        (_, Some(id)) => (id.as_str(), true),
        (Some(key), None) => (key.as_str(), false),
        (None, None) => anyhow::bail!("give --key or --unique-key"),
    };
    let r = client
        .query_message(&args.topic, key, args.max, (args.begin, args.end), unique)
        .await?;
    let found = r.matching(&args.topic, key, unique);
    for m in &found {
        print(m, args.hex);
    }
    eprintln!(
        "{} found; index last updated at {} (phy offset {})",
        found.len(),
        r.index_last_update_timestamp,
        r.index_last_update_phy_offset
    );
    Ok(())
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum StartFrom {
    First,
    Last,
}

#[derive(clap::Args)]
pub struct ConsumeArgs {
    #[arg(long)]
    topic: String,
    #[arg(long)]
    group: String,
    /// Where to start a queue the group has no committed offset for.
    #[arg(long, value_enum, default_value = "first")]
    from: StartFrom,
    /// Keep waiting for new messages (long polling).
    #[arg(long)]
    follow: bool,
    /// Tag expression: `*` or `TagA || TagB`.
    #[arg(long, default_value = "*")]
    tags: String,
    /// Print bodies as hex.
    #[arg(long)]
    hex: bool,
    /// Messages per pull.
    #[arg(long, default_value_t = 32)]
    batch: u32,
}

fn print(m: &ReceivedMessage, hex: bool) {
    println!("{}", line(m, hex));
}

/// One message as printed: ids and position, tags, keys, the retry history when it has one
/// (`reconsumeTimes` above 0, `RETRY_TOPIC`, `ORIGIN_MESSAGE_ID`), then the body.
fn line(m: &ReceivedMessage, hex: bool) -> String {
    use std::fmt::Write;
    let mut out = format!(
        "msgId={} queue={} offset={} tags={} keys={}",
        m.msg_id,
        m.queue_id,
        m.queue_offset,
        m.tags.as_deref().unwrap_or(""),
        m.keys.as_deref().unwrap_or(""),
    );
    if m.reconsume_times > 0 {
        let _ = write!(out, " reconsumeTimes={}", m.reconsume_times);
    }
    for (key, label) in [
        (property::RETRY_TOPIC, "retryTopic"),
        (property::ORIGIN_MESSAGE_ID, "originMsgId"),
    ] {
        if let Some(v) = find_property(&m.properties, key) {
            let _ = write!(out, " {label}={v}");
        }
    }
    let _ = match (hex, std::str::from_utf8(&m.body)) {
        (false, Ok(text)) => write!(out, " body={text}"),
        _ => write!(out, " body={}", hex_string(&m.body)),
    };
    out
}

fn hex_string(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub async fn pull(broker: &str, args: PullArgs) -> anyhow::Result<()> {
    let client = Client::connect(broker).await?;
    let mut offset = args.offset;
    let mut printed = 0;
    while printed < args.count {
        let r = client
            .pull(&PullRequest {
                max_msgs: (args.count - printed).min(1024),
                subscription: args.tags.clone(),
                ..PullRequest::new("actormq-cli", &args.topic, args.queue, offset)
            })
            .await?;
        for m in &r.messages {
            print(m, args.hex);
        }
        printed += r.messages.len() as u32;
        match r.code {
            response_code::SUCCESS | response_code::PULL_RETRY_IMMEDIATELY
                if r.next_begin_offset > offset =>
            {
                offset = r.next_begin_offset
            }
            _ => {
                eprintln!(
                    "{} at offset {offset}: nextBeginOffset={} min={} max={}",
                    r.status, r.next_begin_offset, r.min_offset, r.max_offset
                );
                break;
            }
        }
    }
    Ok(())
}

pub async fn consume(broker: &str, args: ConsumeArgs) -> anyhow::Result<()> {
    let client = std::sync::Arc::new(Client::connect(broker).await?);
    let queues = client
        .read_queue_nums(&args.topic)
        .await
        .with_context(|| format!("looking up topic {}", args.topic))?;
    let args = std::sync::Arc::new(args);
    let mut tasks = JoinSet::new();
    for queue in 0..queues {
        let (client, args) = (client.clone(), args.clone());
        tasks.spawn(async move { consume_queue(&client, &args, queue).await });
    }
    while let Some(done) = tasks.join_next().await {
        done??;
    }
    Ok(())
}

async fn consume_queue(client: &Client, args: &ConsumeArgs, queue: i32) -> anyhow::Result<()> {
    let mut offset = match client
        .query_consumer_offset(&args.group, &args.topic, queue)
        .await?
    {
        Some(o) => o,
        None => match args.from {
            StartFrom::First => client.min_offset(&args.topic, queue).await?,
            StartFrom::Last => client.max_offset(&args.topic, queue).await?,
        },
    };
    let mut committed = offset;
    loop {
        let r = client
            .pull(&PullRequest {
                max_msgs: args.batch,
                subscription: args.tags.clone(),
                commit_offset: Some(committed),
                suspend: args.follow.then_some(Duration::from_secs(20)),
                ..PullRequest::new(&args.group, &args.topic, queue, offset)
            })
            .await?;
        for m in &r.messages {
            print(m, args.hex);
        }
        match r.code {
            response_code::SUCCESS | response_code::PULL_RETRY_IMMEDIATELY => {
                offset = r.next_begin_offset
            }
            response_code::PULL_OFFSET_MOVED => offset = r.next_begin_offset,
            _ if args.follow => {} // long poll timed out: ask again
            _ => break,            // PULL_NOT_FOUND: caught up
        }
        committed = offset;
    }
    client
        .update_consumer_offset(&args.group, &args.topic, queue, offset)
        .await?;
    // The update is oneway: a round trip makes sure it left before the process exits.
    client.max_offset(&args.topic, queue).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(properties: &str, reconsume_times: i32) -> ReceivedMessage {
        ReceivedMessage {
            msg_id: "ID".into(),
            topic: "%RETRY%cg".into(),
            queue_id: 0,
            queue_offset: 7,
            physical_offset: 0,
            store_timestamp: 0,
            born_timestamp: 0,
            reconsume_times,
            tags: Some("TagA".into()),
            keys: None,
            uniq_key: None,
            properties: properties.into(),
            body: bytes::Bytes::from_static(b"hi"),
            raw: bytes::Bytes::new(),
        }
    }

    #[test]
    fn a_retried_message_shows_its_retry_history() {
        let m = message("RETRY_TOPIC\u{1}T\u{2}ORIGIN_MESSAGE_ID\u{1}AB12\u{2}", 2);
        assert_eq!(
            line(&m, false),
            "msgId=ID queue=0 offset=7 tags=TagA keys= reconsumeTimes=2 retryTopic=T \
             originMsgId=AB12 body=hi"
        );
        let m = message("TAGS\u{1}TagA\u{2}", 0);
        assert_eq!(
            line(&m, true),
            "msgId=ID queue=0 offset=7 tags=TagA keys= body=6869"
        );
    }
}
