//! actormq: an actor-based message broker that speaks Apache RocketMQ's remoting protocol and stores
//! messages in a RocketMQ-format commit log of memory-mapped files.
//!
//! # Layout
//!
//! This library holds everything that is *not* an actor, so it can be tested without an actor
//! system and shared by the broker, the CLI and the tests:
//!
//! - [`config`]: `broker.toml` -> typed, validated configuration with one-line errors.
//! - [`protocol`]: RocketMQ remoting frames: codes, `RemotingCommand`, the tokio-util codec, and
//!   typed views of request headers.
//! - [`store`]: on-disk formats: the stored-message record, mapped files, consume-queue entries,
//!   the checkpoint, and start-up recovery. Pure and synchronous.
//! - [`timer`]: 5.x timer messages: the put rewrite, the on-disk timer log and wheel, and the
//!   timer store's state machine (enqueue / dequeue cursors, read-ahead, recovery).
//! - [`topic`]: topic configurations and the persisted topic table.
//! - [`topic_stats`]: the bodies keyed by message queue: `GET_TOPIC_STATS_INFO` (`mqadmin
//!   topicStatus`), `GET_CONSUME_STATS` (`consumerProgress`), `GET_BROKER_CONSUME_STATS`
//!   (`brokerConsumeStats`).
//! - [`consume_queue_query`]: `QUERY_CONSUME_QUEUE` (`mqadmin queryCq`): its header, which
//!   consume-queue entries it answers, and its body.
//! - [`subscription_group`]: consumer-group settings (retry queues, max retries) and
//!   `subscriptionGroup.json`.
//! - [`config_lists`]: topic and group configurations created in batches (`mqadmin
//!   updateTopicList`, `updateSubGroupList`): their bodies and checks.
//! - [`transaction`]: transactional messages: the half record, END_TRANSACTION's commit and
//!   rollback, the op records, the producer check-back and which halves still wait for it.
//! - [`property_edit`]: a property string edited like Java's property map.
//! - [`retry`]: consume retry and dead letters: where a sent-back message goes and what its new
//!   record holds.
//! - [`send`]: the send path's pure part: a send request -> encoded records, an append -> the response.
//! - [`reply`]: request-reply messages: the reply topic and the push of a reply to its requester.
//! - [`client_registry`]: the producers and consumers that heartbeat, on which connection, and
//!   what each consumer group said about itself.
//! - [`ha`]: master/slave replication: the HA wire, a slave connection's stream, SYNC_MASTER waits.
//! - [`metrics`]: lock-free mailbox counters, the store's message counters (puts, pulls) and the
//!   Prometheus text rendering.
//! - [`rates`]: message rates over 10 s / 60 s / 600 s and the day totals, from once-a-second
//!   samples of the message counters (RocketMQ's `StoreStatsService` and `BrokerStats`).
//! - [`stats_items`]: per-topic and per-group put and get statistics over a minute, an hour and a
//!   day, as `VIEW_BROKER_STATS_DATA` (`mqadmin statsAll`) reads them (RocketMQ's `StatsItem`).
//! - [`consumer_offsets`]: each consumer group's committed offsets and `consumerOffset.json`.
//! - [`consumer_status`]: `INVOKE_BROKER_TO_GET_CONSUMER_STATUS` (`mqadmin getConsumerStatus`):
//!   which consumers are asked for their offsets, and their answers gathered into the broker's.
//! - [`queue_locks`]: which client holds each queue of a consumer group (ordered consumption).
//! - [`limits`]: connection bounds: frame budget, read/idle deadlines, reply backpressure,
//!   connection cap and the rejected-request counters.
//! - [`long_poll`]: pulls parked at the end of their queue until records arrive or time runs out.
//! - [`schedule`]: delay levels: the put rewrite into `SCHEDULE_TOPIC_XXXX`, the delivery state
//!   machine, `delayOffset.json`.
//! - [`broker_permission`]: the broker's own permission (`brokerPermission`, how a broker is
//!   drained) and UPDATE_BROKER_CONFIG, the one runtime change it takes.
//! - [`subscription_filter`]: which filter a pull's subscription asks for (TAG, or SQL92 with
//!   `broker.enable_property_filter`) and CHECK_CLIENT_CONFIG's answer.
//! - [`filter`]: SQL92 subscriptions (`MessageSelector.bySql`) matched on a message's properties.
//! - [`cluster`]: cluster membership: REGISTER_BROKER / UNREGISTER_BROKER formats, the name
//!   server's route table of many brokers, advertised addresses.
//! - [`client`]: an async TCP client (many requests in flight on one connection, matched by
//!   `opaque`), used by the `actormq` CLI, its benchmark and the integration tests.
//!
//! The actors live in `actors/` at the repository root and are compiled into the broker binary only,
//! so nothing here can depend on them.

pub mod broker_permission;
pub mod client;
pub mod client_registry;
pub mod cluster;
pub mod config;
pub mod config_lists;
pub mod config_update;
pub mod consume_queue_query;
pub mod consumer_offsets;
pub mod consumer_status;
pub mod filter;
pub mod ha;
pub mod limits;
pub mod long_poll;
pub mod metrics;
pub mod property_edit;
pub mod protocol;
pub mod put_latency;
pub mod queue_locks;
pub mod rates;
pub mod reply;
pub mod retry;
pub mod runtime_info;
pub mod schedule;
pub mod send;
pub mod stats_items;
pub mod store;
pub mod subscription_filter;
pub mod subscription_group;
pub mod timer;
pub mod topic;
pub mod topic_stats;
pub mod transaction;

/// The maps looked up for every message (queue offsets, consume queues by topic and queue id, the
/// request-code table): foldhash instead of std's SipHash, which cost about 160 instructions a
/// lookup and five lookups per message (callgrind). foldhash is seeded per map, so topic names a
/// client picks still cannot be chosen to collide.
pub type FastMap<K, V> = foldhash::HashMap<K, V>;
