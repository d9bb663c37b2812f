//! Cluster membership at start-up and shutdown (`docs/cluster.md`): the identity and advertised
//! addresses this broker registers under, the `Registrar` (REGISTER_BROKER to `cluster.namesrv_addr`,
//! UNREGISTER_BROKER at a clean stop), the local broker's entry in its own name-server role, and the
//! name-server-only node (`--namesrv-only`: the name-server role alone, no store).

use std::net::SocketAddr;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use actix::prelude::*;
use tracing::{info, warn};

use super::actors::mailbox::Mailbox;
use super::actors::metrics::Metrics;
use super::actors::name_server::{LocalBroker, NameServer};
use super::actors::processor_table::ProcessorTableBuilder;
use super::actors::registrar::{Registrar, Unregister};
use super::actors::server::{Server, Shutdown};
use super::{bind, connection_limits, StopSignals};
use actormq::cluster::advertise::{advertised, store_host};
use actormq::cluster::kv_config::{kv_config_path, KvConfig};
use actormq::cluster::register::BrokerRegistration;
use actormq::config::{BrokerConfig, BrokerRole};
use actormq::topic::TopicTable;

/// Who this broker is in its cluster, and the actor that tells the name servers.
pub struct Membership {
    pub registration: BrokerRegistration,
    /// What records name as their store host: the advertised client address, resolved.
    pub store_host: SocketAddr,
    /// The `Registrar` on its own arbiter; `None` when `cluster.namesrv_addr` is empty.
    pub registrar: Option<(Mailbox<Registrar>, Arbiter)>,
}

impl Membership {
    /// The identity for a broker whose clients' listener is bound at `addr` and whose HA listener
    /// is (or will be) bound at `ha_listen` (pass the bound address when `ha.listen` has port 0);
    /// registration starts at once when name servers are configured.
    pub fn start(
        config: &BrokerConfig,
        addr: SocketAddr,
        ha_listen: SocketAddr,
        topics: &TopicTable,
    ) -> Membership {
        let c = &config.cluster;
        let registration = BrokerRegistration {
            cluster: config.broker.cluster.clone(),
            broker_name: config.broker.name.clone(),
            broker_addr: advertised(c.advertise_addr.as_deref(), addr),
            broker_id: c.broker_id,
            ha_server_addr: advertised(config.ha.advertise_addr.as_deref(), ha_listen),
        };
        info!(
            broker = %registration.broker_addr,
            ha_server = %registration.ha_server_addr,
            role = ?c.role,
            id = c.broker_id,
            namesrv = ?c.namesrv_addr,
            "cluster identity"
        );
        let registrar = (!c.namesrv_addr.is_empty()).then(|| {
            let arbiter = Arbiter::new();
            let registrar = Registrar::new(
                registration.clone(),
                &config.broker,
                c,
                Arc::new(topics.clone()),
            );
            let addr = Registrar::start_in_arbiter(&arbiter.handle(), move |_| registrar);
            (Mailbox::new(addr), arbiter)
        });
        Membership {
            store_host: Self::store_host(&registration.broker_addr, addr),
            registration,
            registrar,
        }
    }

    /// The store host records name: the advertised client address (`advertise::store_host`),
    /// its host name resolved once here; `bound` is the clients' listener.
    fn store_host(advertised: &str, bound: SocketAddr) -> SocketAddr {
        let resolve = |name: &str| {
            use std::net::ToSocketAddrs;
            name.to_socket_addrs()
                .map(Iterator::collect)
                .unwrap_or_default()
        };
        match store_host(advertised, bound, resolve) {
            Ok(host) => host,
            Err(fallback) => {
                warn!(%advertised, store_host = %fallback, "the advertised address does not resolve: records name the bound address, which other hosts may not reach");
                fallback
            }
        }
    }

    /// The local broker as its own name-server role registers it.
    pub fn local_broker(&self, config: &BrokerConfig) -> LocalBroker {
        LocalBroker {
            registration: self.registration.clone(),
            auto_create_topic: config.broker.auto_create_topic,
            default_queue_nums: config.broker.default_topic_queue_nums as i32,
            permission: config.broker.permission,
        }
    }

    /// The fixed `GET_BROKER_RUNTIME_INFO` entries naming this broker's place in its cluster (what
    /// `actormq stats` prints above its table): role, id, names and advertised addresses; and
    /// `brokerActive`, Java's `isSpecialServiceRunning` (the transaction check runs): true on a
    /// master, false on a slave.
    pub fn runtime_info(&self, config: &BrokerConfig) -> Vec<(String, String)> {
        let me = &self.registration;
        let active = config.cluster.role != BrokerRole::Slave;
        [
            ("brokerRole", role_name(config).to_string()),
            ("brokerActive", active.to_string()),
            ("brokerId", me.broker_id.to_string()),
            ("brokerName", me.broker_name.clone()),
            ("brokerClusterName", me.cluster.clone()),
            ("brokerAddr", me.broker_addr.clone()),
            ("haServerAddr", me.ha_server_addr.clone()),
            ("namesrvAddr", config.cluster.namesrv_addr.join(";")),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }

    /// Shutdown, first step: UNREGISTER_BROKER everywhere (answered or timed out), so clients stop
    /// routing here before connections are drained.
    pub async fn unregister(&mut self) -> anyhow::Result<()> {
        if let Some((registrar, arbiter)) = self.registrar.take() {
            registrar.send(Unregister).await?;
            arbiter.stop();
        }
        Ok(())
    }
}

/// RocketMQ's name of the configured role (`brokerRole`).
pub fn role_name(config: &BrokerConfig) -> &'static str {
    match config.cluster.role {
        BrokerRole::AsyncMaster => "ASYNC_MASTER",
        BrokerRole::SyncMaster => "SYNC_MASTER",
        BrokerRole::Slave => "SLAVE",
    }
}

/// `actormq-broker --namesrv-only`: the name-server role alone, on `namesrv.listen`, until
/// SIGINT/SIGTERM. No store is opened; the KV config is read from `kvConfig.json`
/// (`namesrv.kv_config_path`), and a damaged one stops the start. Prints `actormq namesrv on
/// <addr>` and then `actormq listening on <addr>` (the readiness line scripts and tests wait for),
/// both naming the name-server listener.
pub async fn run_namesrv_only(config: BrokerConfig) -> anyhow::Result<()> {
    let kv = KvConfig::load(kv_config_path(&config))?;
    let actor_stats = super::actors::metrics::init(&config);
    let limits = connection_limits(&config);
    let metrics = Metrics::new(
        actor_stats.all(),
        Arc::new(AtomicU64::new(0)),
        limits.guards.clone(),
    );
    let metrics = Mailbox::new(metrics.start());
    super::serve_metrics(&config, &metrics).await?;
    let name_server = NameServer::new(None, &config, kv, metrics.recipient());
    let name_server = Mailbox::new(name_server.start());
    let listener = bind("namesrv.listen", config.namesrv.listen).await?;
    let addr = listener.local_addr()?;
    let table = ProcessorTableBuilder::default()
        .serve(&name_server)?
        .freeze();
    let server = Server::start(listener, table, limits, name_server.recipient());
    let stop = StopSignals::install()?;
    info!(%addr, "name server started (name-server-only mode, no store)");
    println!("actormq namesrv on {addr}");
    println!("actormq listening on {addr}");
    std::io::Write::flush(&mut std::io::stdout()).ok();
    stop.wait().await;
    info!("shutting down");
    server.send(Shutdown).await?;
    System::current().stop();
    Ok(())
}
