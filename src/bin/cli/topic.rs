//! `actormq topic create|list|describe|delete`: topic administration with RocketMQ's own codes
//! (`UPDATE_AND_CREATE_TOPIC`, `GET_ALL_TOPIC_CONFIG`, `DELETE_TOPIC_IN_BROKER`).

use anyhow::Context as _;
use clap::Subcommand;

use actormq::client::{Client, ClientError};
use actormq::protocol::{request_code, response_code, RemotingCommand};
use actormq::topic::{TopicConfig, TopicTable};

#[derive(Subcommand)]
pub enum TopicCommand {
    /// Create a topic, or update its queue counts and permission.
    Create {
        #[arg(long)]
        topic: String,
        /// Read and write queue count.
        #[arg(long, default_value_t = 8)]
        queues: i32,
        /// Permission bits: 4 read, 2 write (6 = both).
        #[arg(long, default_value_t = 6)]
        perm: i32,
    },
    /// Every topic with its queue counts.
    List,
    /// One topic: config and, per queue, the next queue offset.
    Describe {
        #[arg(long)]
        topic: String,
    },
    /// Remove a topic's config (stored messages stay until retention deletes their files).
    Delete {
        #[arg(long)]
        topic: String,
    },
}

async fn call(client: &Client, cmd: RemotingCommand) -> anyhow::Result<RemotingCommand> {
    let resp = client.request(cmd).await?;
    if resp.code != response_code::SUCCESS {
        return Err(ClientError::from_response(&resp).into());
    }
    Ok(resp)
}

async fn all_topics(client: &Client) -> anyhow::Result<TopicTable> {
    let resp = call(
        client,
        RemotingCommand::request(request_code::GET_ALL_TOPIC_CONFIG, 0),
    )
    .await?;
    serde_json::from_slice(&resp.body).context("GET_ALL_TOPIC_CONFIG body is not a topic table")
}

fn print_row(t: &TopicConfig) {
    println!(
        "{:<40} read={:<4} write={:<4} perm={}",
        t.topic_name, t.read_queue_nums, t.write_queue_nums, t.perm
    );
}

pub async fn run(broker: &str, cmd: TopicCommand) -> anyhow::Result<()> {
    let client = Client::connect(broker).await?;
    match cmd {
        TopicCommand::Create {
            topic,
            queues,
            perm,
        } => {
            let request = RemotingCommand::request(request_code::UPDATE_AND_CREATE_TOPIC, 0)
                .with_ext("topic", &topic)
                .with_ext("defaultTopic", "TBW102")
                .with_ext("readQueueNums", queues)
                .with_ext("writeQueueNums", queues)
                .with_ext("perm", perm)
                .with_ext("topicFilterType", "SINGLE_TAG")
                .with_ext("topicSysFlag", 0)
                .with_ext("order", false);
            call(&client, request).await?;
            println!("topic {topic}: {queues} queues, perm {perm}");
        }
        TopicCommand::List => {
            for t in all_topics(&client).await?.topic_config_table.values() {
                print_row(t);
            }
        }
        TopicCommand::Describe { topic } => {
            let table = all_topics(&client).await?;
            let t = table
                .get(&topic)
                .with_context(|| format!("no topic {topic}"))?;
            print_row(t);
            for q in 0..t.read_queue_nums {
                let max = client.max_offset(&topic, q).await?;
                let min = client.min_offset(&topic, q).await?;
                println!("  queue {q}: offsets {min}..{max}");
            }
        }
        TopicCommand::Delete { topic } => {
            let request = RemotingCommand::request(request_code::DELETE_TOPIC_IN_BROKER, 0)
                .with_ext("topic", &topic);
            call(&client, request).await?;
            println!("topic {topic} deleted");
        }
    }
    Ok(())
}
