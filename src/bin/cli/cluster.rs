//! `actormq cluster list`: every broker a name server knows, as `mqadmin clusterList` prints it
//! (cluster, broker name, broker id, address, version), plus what each broker's
//! GET_BROKER_RUNTIME_INFO tells cheaply (role, uptime, commit-log offset). Works against an
//! actormq name-server role or a stock Java name server; a broker that does not answer is listed
//! with `-` in those columns.

use std::collections::HashMap;
use std::time::Duration;

use actormq::client::{Client, ClientError};
use actormq::cluster::route_table::ClusterInfo;
use actormq::protocol::{request_code, response_code, RemotingCommand};

/// How long one broker may take to answer its runtime info.
const BROKER_TIMEOUT: Duration = Duration::from_secs(3);

#[derive(clap::Subcommand)]
pub enum ClusterCommand {
    /// Every cluster, broker group and broker a name server knows (as `mqadmin clusterList`).
    List(ListArgs),
}

#[derive(clap::Args)]
pub struct ListArgs {
    /// The name server to ask (`host:port`).
    #[arg(long, short = 'n', default_value = "127.0.0.1:9876")]
    namesrv: String,
    /// Print the name server's ClusterInfo as JSON instead (no broker is asked).
    #[arg(long)]
    json: bool,
}

pub async fn run(cmd: ClusterCommand) -> anyhow::Result<()> {
    match cmd {
        ClusterCommand::List(args) => list(args).await,
    }
}

async fn list(args: ListArgs) -> anyhow::Result<()> {
    let ns = Client::connect(&args.namesrv).await?;
    let request = RemotingCommand::request(request_code::GET_BROKER_CLUSTER_INFO, 0);
    let resp = ns.request(request).await?;
    if resp.code != response_code::SUCCESS {
        return Err(ClientError::from_response(&resp).into());
    }
    let info = ClusterInfo::decode(&resp.body)
        .map_err(|e| anyhow::anyhow!("the name server's cluster info is not readable: {e}"))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&info)?);
        return Ok(());
    }
    println!(
        "{:<20} {:<20} {:>4}  {:<22} {:<18} {:<13} {:>8} {:>16}",
        "#CLUSTER",
        "#BROKER NAME",
        "#BID",
        "#ADDR",
        "#VERSION",
        "#ROLE",
        "#UPTIME",
        "#COMMITLOG OFFSET"
    );
    for (cluster, names) in &info.cluster_addr_table {
        for name in names {
            let Some(group) = info.broker_addr_table.get(name) else {
                continue;
            };
            for (id, addr) in &group.broker_addrs {
                let rt = runtime_info(addr).await.unwrap_or_default();
                let get = |k: &str| rt.get(k).cloned().unwrap_or_else(|| "-".into());
                println!(
                    "{:<20} {:<20} {:>4}  {:<22} {:<18} {:<13} {:>8} {:>16}",
                    cluster,
                    name,
                    id,
                    addr,
                    get("brokerVersionDesc"),
                    get("brokerRole"),
                    get("runtime"),
                    get("commitLogMaxOffset"),
                );
            }
        }
    }
    Ok(())
}

/// A broker's GET_BROKER_RUNTIME_INFO table; `None` if it cannot be had quickly.
async fn runtime_info(addr: &str) -> Option<HashMap<String, String>> {
    let client = tokio::time::timeout(BROKER_TIMEOUT, Client::connect(addr))
        .await
        .ok()?
        .ok()?;
    let request = RemotingCommand::request(request_code::GET_BROKER_RUNTIME_INFO, 0);
    let resp = client.request_timeout(request, BROKER_TIMEOUT).await.ok()?;
    #[derive(serde::Deserialize)]
    struct KvTable {
        table: HashMap<String, String>,
    }
    (resp.code == response_code::SUCCESS)
        .then(|| serde_json::from_slice::<KvTable>(&resp.body).ok())
        .flatten()
        .map(|kv| kv.table)
}
