//! `Registrar`: this broker's membership in a RocketMQ cluster (Java's `registerBrokerAll` /
//! `unregisterBrokerAll`, `rocketmq-reference-2.md` §8.3).
//!
//! *Owns* one link per configured name server (`cluster.namesrv_addr`: a kept-open connection, as
//! Java's name server drops a broker whose connection closes; its failure count and retry timer) and
//! the latest topic-table snapshot. *Receives* `TopicsChanged` from the SendProcessor, `Subscribe`
//! (who wants `MasterChanged`), and `Unregister` at a clean stop. *Sends* REGISTER_BROKER (103) to
//! every name server at start and every `cluster.register_interval_ms` (with `force_register`
//! false, a master asks QUERY_DATA_VERSION (322) first and registers only where the version
//! differs); for a created or changed topic, REGISTER_TOPIC_IN_NAMESRV (217) with that topic
//! (`single_topic_register`) or a new REGISTER_BROKER with the new data version;
//! UNREGISTER_BROKER (104) when stopping; and `MasterChanged` to subscribers when a
//! REGISTER_BROKER answer names a master (a slave's master and its HA address). A name server that
//! is down or answers an error is logged once per change of state and retried with backoff (1 s,
//! doubling, at most the register interval); nothing waits for it. A name server that refuses 322
//! or 217 (an older one) gets full registrations instead. *Runs on* its own arbiter, so encoding a
//! large topic table never delays a connection.

use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use tracing::{debug, info, warn};

use super::dispatcher::TopicsChanged;
use super::mailbox::{timer_tick, CountedRecipient};
use super::metrics::stats;
use actormq::broker_permission::BrokerPermission;
use actormq::client::{Client, ClientError};
use actormq::cluster::broker_requests::{
    changed_topics, needs_register, query_data_version_request, register_topic_request,
};
use actormq::cluster::register::{registered_topics, BrokerRegistration, MasterInfo};
use actormq::cluster::{register_backoff, MASTER_ID};
use actormq::config::{BrokerIdentity, ClusterConfig};
use actormq::protocol::{response_code, RemotingCommand};
use actormq::topic::{TopicConfig, TopicTable};

/// Java's `registerBrokerTimeoutMills` is 24 s; a name server that slow is as good as down.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(6);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// How long a clean stop waits for each name server's UNREGISTER_BROKER answer.
const UNREGISTER_TIMEOUT: Duration = Duration::from_secs(2);

/// A REGISTER_BROKER answer named this broker group's master: its address (`masterAddr`) and its
/// HA address (`haServerAddr`), which a slave replicates from. Published to every subscriber when
/// it differs from the last one published (only slaves get such answers; a master never does).
#[derive(Message, Debug, Clone, PartialEq, Eq)]
#[rtype(result = "()")]
pub struct MasterChanged {
    pub master_addr: String,
    /// `None` when the name server knew no HA address for the master.
    pub ha_server_addr: Option<String>,
}

/// Adds a `MasterChanged` subscriber; it gets the current master at once if one is known.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Subscribe(pub CountedRecipient<MasterChanged>);

/// A clean stop: no more registrations; UNREGISTER_BROKER to every name server (answered or
/// timed out).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Unregister;

/// One name server and the state of this broker's registration there.
struct Link {
    addr: String,
    client: Option<Arc<Client>>,
    in_flight: bool,
    /// A registration was asked for while one was in flight: send another when it finishes.
    again: bool,
    /// Consecutive failures (0 = the last registration succeeded, or none was tried yet).
    failures: u32,
    ever_registered: bool,
    /// It answered QUERY_DATA_VERSION / REGISTER_TOPIC_IN_NAMESRV with anything but "not
    /// supported" so far (a 4.x name server lacks 217).
    knows_query: bool,
    knows_single_topic: bool,
}

impl Link {
    /// Registered, connected and idle: a query or a single-topic announcement can stand in for a
    /// whole registration.
    fn settled(&self) -> bool {
        self.client.is_some() && self.ever_registered && self.failures == 0 && !self.in_flight
    }
}

/// How an exchange with a name server went: the connection it used and the answer, or why no
/// connection could be had.
type Exchange = Result<(Arc<Client>, Result<RemotingCommand, ClientError>), ClientError>;

pub struct Registrar {
    me: BrokerRegistration,
    auto_create_topic: bool,
    default_queue_nums: i32,
    topics: Arc<TopicTable>,
    /// `brokerPermission`: masks the registered perms.
    permission: BrokerPermission,
    links: Vec<Link>,
    interval: Duration,
    force_register: bool,
    single_topic_register: bool,
    subscribers: Vec<CountedRecipient<MasterChanged>>,
    master: Option<MasterChanged>,
    stopping: bool,
}

impl Registrar {
    pub fn new(
        me: BrokerRegistration,
        broker: &BrokerIdentity,
        cluster: &ClusterConfig,
        topics: Arc<TopicTable>,
    ) -> Self {
        let links = cluster
            .namesrv_addr
            .iter()
            .map(|addr| Link {
                addr: addr.clone(),
                client: None,
                in_flight: false,
                again: false,
                failures: 0,
                ever_registered: false,
                knows_query: true,
                knows_single_topic: true,
            })
            .collect();
        Registrar {
            me,
            auto_create_topic: broker.auto_create_topic,
            default_queue_nums: broker.default_topic_queue_nums as i32,
            topics,
            permission: broker.permission,
            links,
            interval: Duration::from_millis(cluster.register_interval_ms),
            force_register: cluster.force_register,
            single_topic_register: cluster.single_topic_register,
            subscribers: Vec::new(),
            master: None,
            stopping: false,
        }
    }

    fn register_all(&mut self, ctx: &mut Context<Self>) {
        for i in 0..self.links.len() {
            self.register_one(i, ctx);
        }
    }

    fn is_master(&self) -> bool {
        self.me.broker_id == MASTER_ID
    }

    /// The periodic round: REGISTER_BROKER to every name server, or with `force_register` off a
    /// master's QUERY_DATA_VERSION to those it is settled with.
    fn refresh_all(&mut self, ctx: &mut Context<Self>) {
        for i in 0..self.links.len() {
            let link = &self.links[i];
            if self.force_register || !self.is_master() || !link.settled() || !link.knows_query {
                self.register_one(i, ctx);
                continue;
            }
            let mine = (&self.topics.data_version).into();
            let request = query_data_version_request(&self.me, &mine);
            ctx.spawn(self.exchange(i, request).into_actor(self).map(
                move |res, act, ctx| {
                    let _timer = timer_tick::<Registrar>();
                    let need = match act.settle(i, res) {
                        Ok(resp) => {
                            if resp.code == response_code::REQUEST_CODE_NOT_SUPPORTED {
                                info!(namesrv = %act.links[i].addr, "the name server does not answer QUERY_DATA_VERSION; registering in full from now on");
                                act.links[i].knows_query = false;
                            }
                            needs_register(&resp, &mine).unwrap_or(true)
                        }
                        Err(_) => true,
                    };
                    if need {
                        act.register_one(i, ctx);
                    } else {
                        debug!(namesrv = %act.links[i].addr, "the name server holds this broker's topic version");
                    }
                },
            ));
        }
    }

    /// Topics were created or changed: REGISTER_TOPIC_IN_NAMESRV per topic to each name server a
    /// master is settled with, a whole registration to the others.
    fn announce(&mut self, topics: &[TopicConfig], ctx: &mut Context<Self>) {
        for i in 0..self.links.len() {
            let link = &self.links[i];
            let single = self.single_topic_register && self.is_master();
            if !(single && link.settled() && link.knows_single_topic) {
                self.register_one(i, ctx);
                continue;
            }
            for t in topics {
                let request = register_topic_request(&self.me.broker_name, t, self.permission);
                let topic = t.topic_name.clone();
                ctx.spawn(self.exchange(i, request).into_actor(self).map(
                    move |res, act, ctx| {
                        let _timer = timer_tick::<Registrar>();
                        let namesrv = act.links[i].addr.clone();
                        match act.settle(i, res) {
                            Ok(resp) if resp.code == response_code::SUCCESS => {
                                debug!(%namesrv, %topic, "registered the topic with the name server");
                            }
                            outcome => {
                                if let Ok(resp) = &outcome {
                                    if resp.code == response_code::REQUEST_CODE_NOT_SUPPORTED {
                                        act.links[i].knows_single_topic = false;
                                    }
                                }
                                info!(%namesrv, %topic, outcome = ?outcome.map(|r| r.code), "REGISTER_TOPIC_IN_NAMESRV failed; registering the whole table");
                                act.register_one(i, ctx);
                            }
                        }
                    },
                ));
            }
        }
    }

    /// `request` to name server `i`, on its kept connection (opened if needed).
    fn exchange(
        &self,
        i: usize,
        request: RemotingCommand,
    ) -> impl std::future::Future<Output = Exchange> {
        let (client, addr) = (self.links[i].client.clone(), self.links[i].addr.clone());
        async move {
            let client = match client {
                Some(c) => c,
                None => Arc::new(connect(&addr).await?),
            };
            let resp = client.request_timeout(request, REQUEST_TIMEOUT).await;
            Ok((client, resp))
        }
    }

    /// Keeps name server `i`'s connection after an answer, drops it after a failure (it may be
    /// broken, and a new one is cheap). Returns the answer, whatever its code.
    fn settle(&mut self, i: usize, result: Exchange) -> Result<RemotingCommand, ClientError> {
        match result {
            Ok((client, Ok(resp))) => {
                self.links[i].client = Some(client);
                Ok(resp)
            }
            Ok((_, Err(e))) | Err(e) => {
                self.links[i].client = None;
                Err(e)
            }
        }
    }

    /// REGISTER_BROKER to name server `i`, on its kept connection (opened if needed).
    fn register_one(&mut self, i: usize, ctx: &mut Context<Self>) {
        if self.stopping {
            return;
        }
        if self.links[i].in_flight {
            self.links[i].again = true;
            return;
        }
        let wrapper = registered_topics(
            &self.topics,
            self.auto_create_topic,
            self.default_queue_nums,
            self.permission,
        );
        let request = self.me.register_request(&wrapper);
        self.links[i].in_flight = true;
        ctx.spawn(
            self.exchange(i, request)
                .into_actor(self)
                .map(move |res, act, ctx| act.registered(i, res, ctx)),
        );
    }

    /// The answer (or failure) of a registration with name server `i`.
    fn registered(&mut self, i: usize, result: Exchange, ctx: &mut Context<Self>) {
        // A completion, counted as a message to itself.
        let _timer = timer_tick::<Registrar>();
        let outcome = self.settle(i, result).and_then(|resp| {
            if resp.code == response_code::SUCCESS {
                Ok(resp)
            } else {
                Err(ClientError::from_response(&resp))
            }
        });
        let link = &mut self.links[i];
        link.in_flight = false;
        match outcome {
            Ok(resp) => {
                if link.failures > 0 || !link.ever_registered {
                    info!(namesrv = %link.addr, broker = %self.me.broker_addr, "registered with the name server");
                }
                debug!(namesrv = %link.addr, "Registering current broker to name server completed");
                link.failures = 0;
                link.ever_registered = true;
                let again = std::mem::take(&mut link.again);
                self.answered(MasterInfo::from_answer(&resp));
                if again {
                    self.register_one(i, ctx);
                }
            }
            Err(e) => {
                link.failures += 1;
                let backoff = register_backoff(link.failures, self.interval);
                if link.failures == 1 {
                    warn!(namesrv = %link.addr, error = %e, retry_in = ?backoff, "registering with the name server failed; retrying with backoff");
                } else {
                    debug!(namesrv = %link.addr, error = %e, failures = link.failures, "registering with the name server failed again");
                }
                // A registration asked for meanwhile is covered by the retry.
                link.again = false;
                ctx.run_later(backoff, move |act, ctx| {
                    let _tick = timer_tick::<Registrar>();
                    act.register_one(i, ctx);
                });
            }
        }
    }

    /// Publishes the master a REGISTER_BROKER answer named, if it is news.
    fn answered(&mut self, info: MasterInfo) {
        let Some(master_addr) = info.master_addr else {
            return;
        };
        let news = MasterChanged {
            master_addr,
            ha_server_addr: info.ha_server_addr,
        };
        if self.master.as_ref() == Some(&news) {
            return;
        }
        info!(master = %news.master_addr, ha_server = ?news.ha_server_addr, "the name server names this group's master");
        for s in &self.subscribers {
            s.do_send(news.clone());
        }
        self.master = Some(news);
    }
}

async fn connect(addr: &str) -> Result<Client, ClientError> {
    match tokio::time::timeout(CONNECT_TIMEOUT, Client::connect(addr)).await {
        Ok(r) => r,
        Err(_) => Err(ClientError::Timeout(CONNECT_TIMEOUT)),
    }
}

impl Actor for Registrar {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        self.register_all(ctx);
        ctx.run_interval(self.interval, |act, ctx| {
            let _tick = timer_tick::<Registrar>();
            act.refresh_all(ctx);
        });
    }
}

impl Handler<TopicsChanged> for Registrar {
    type Result = ();

    fn handle(&mut self, changed: TopicsChanged, ctx: &mut Context<Self>) {
        let _timer = stats().registrar.handling();
        let TopicsChanged { topics, permission } = changed;
        if permission != self.permission {
            // Every registered perm changes: the whole table, as Java's forced registration.
            info!(%permission, "registering the broker's new permission");
            (self.topics, self.permission) = (topics, permission);
            self.register_all(ctx);
            return;
        }
        if topics.data_version == self.topics.data_version {
            self.topics = topics;
            return;
        }
        let changed: Vec<TopicConfig> = changed_topics(&self.topics, &topics)
            .into_iter()
            .cloned()
            .collect();
        self.topics = topics;
        if !changed.is_empty() {
            self.announce(&changed, ctx);
        } else if !self.single_topic_register {
            // A deletion: the new data version, as before.
            self.register_all(ctx);
        }
    }
}

impl Handler<Subscribe> for Registrar {
    type Result = ();

    fn handle(&mut self, Subscribe(to): Subscribe, _ctx: &mut Context<Self>) {
        let _timer = stats().registrar.handling();
        if let Some(m) = &self.master {
            to.do_send(m.clone());
        }
        self.subscribers.push(to);
    }
}

impl Handler<Unregister> for Registrar {
    type Result = ResponseActFuture<Self, ()>;

    fn handle(&mut self, _: Unregister, _ctx: &mut Context<Self>) -> Self::Result {
        let _timer = stats().registrar.handling();
        self.stopping = true;
        let request = self.me.unregister_request();
        let calls: Vec<_> = self
            .links
            .iter()
            .map(|l| (l.addr.clone(), l.client.clone(), request.clone()))
            .map(|(addr, client, request)| async move {
                let client = match client {
                    Some(c) => c,
                    None => Arc::new(connect(&addr).await?),
                };
                let resp = client.request_timeout(request, UNREGISTER_TIMEOUT).await?;
                match resp.code {
                    response_code::SUCCESS => Ok(addr),
                    _ => Err(ClientError::from_response(&resp)),
                }
            })
            .collect();
        Box::pin(
            async move {
                for r in futures_util::future::join_all(calls).await {
                    match r {
                        Ok(addr) => info!(namesrv = %addr, "unregisterBroker OK"),
                        Err(e) => warn!(error = %e, "unregisterBroker failed"),
                    }
                }
            }
            .into_actor(self),
        )
    }
}
