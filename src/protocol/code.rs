//! Numeric vocabulary of the RocketMQ remoting protocol: request codes, response codes,
//! the client `LanguageCode` and the header `SerializeType`.
//!
//! The numbers are fixed by Apache RocketMQ (`RequestCode.java`, `ResponseCode.java`,
//! `LanguageCode.java`, `SerializeType.java`; `rocketmq-reference.md` §1.2 and §2), so
//! they live in one place and every other module names them instead of repeating them.
//! Codes stay plain `i32` constants rather than enums because peers may send codes we do
//! not know, and those must still round-trip (to answer `REQUEST_CODE_NOT_SUPPORTED`).

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// Request codes (`RequestCode.java`) that actormq handles or names in metrics.
pub mod request_code {
    pub const SEND_MESSAGE: i32 = 10;
    pub const PULL_MESSAGE: i32 = 11;
    pub const QUERY_MESSAGE: i32 = 12;
    pub const QUERY_CONSUMER_OFFSET: i32 = 14;
    pub const UPDATE_CONSUMER_OFFSET: i32 = 15;
    pub const UPDATE_AND_CREATE_TOPIC: i32 = 17;
    pub const GET_ALL_TOPIC_CONFIG: i32 = 21;
    /// Broker: change its configuration, properties text (`mqadmin updateBrokerConfig`).
    pub const UPDATE_BROKER_CONFIG: i32 = 25;
    pub const GET_BROKER_CONFIG: i32 = 26;
    pub const GET_BROKER_RUNTIME_INFO: i32 = 28;
    pub const SEARCH_OFFSET_BY_TIMESTAMP: i32 = 29;
    pub const GET_MAX_OFFSET: i32 = 30;
    pub const GET_MIN_OFFSET: i32 = 31;
    pub const GET_EARLIEST_MSG_STORETIME: i32 = 32;
    pub const VIEW_MESSAGE_BY_ID: i32 = 33;
    pub const HEART_BEAT: i32 = 34;
    pub const UNREGISTER_CLIENT: i32 = 35;
    pub const CONSUMER_SEND_MSG_BACK: i32 = 36;
    pub const END_TRANSACTION: i32 = 37;
    pub const GET_CONSUMER_LIST_BY_GROUP: i32 = 38;
    /// Broker -> producer, oneway: how did this half's local transaction end?
    pub const CHECK_TRANSACTION_STATE: i32 = 39;
    /// Broker -> consumer, oneway: the group's consumers changed, rebalance now.
    pub const NOTIFY_CONSUMER_IDS_CHANGED: i32 = 40;
    pub const LOCK_BATCH_MQ: i32 = 41;
    pub const UNLOCK_BATCH_MQ: i32 = 42;
    pub const GET_ALL_CONSUMER_OFFSET: i32 = 43;
    pub const GET_ALL_DELAY_OFFSET: i32 = 45;
    /// Broker: does it serve this (non-TAG) subscription? A consumer asks before it starts.
    pub const CHECK_CLIENT_CONFIG: i32 = 46;
    /// Name server: store a value in its KV config (`mqadmin updateKvConfig`, `updateOrderConf`).
    pub const PUT_KV_CONFIG: i32 = 100;
    /// Name server: one value of its KV config (header `value`; QUERY_NOT_FOUND when absent).
    pub const GET_KV_CONFIG: i32 = 101;
    /// Name server: remove a value from its KV config (`mqadmin deleteKvConfig`).
    pub const DELETE_KV_CONFIG: i32 = 102;
    pub const REGISTER_BROKER: i32 = 103;
    pub const UNREGISTER_BROKER: i32 = 104;
    pub const GET_ROUTEINFO_BY_TOPIC: i32 = 105;
    pub const GET_BROKER_CLUSTER_INFO: i32 = 106;
    /// Body: a `SubscriptionGroupConfig` (`mqadmin updateSubGroup`).
    pub const UPDATE_AND_CREATE_SUBSCRIPTIONGROUP: i32 = 200;
    pub const GET_ALL_SUBSCRIPTIONGROUP_CONFIG: i32 = 201;
    /// Per queue of a topic: min and max offset, last store time (`mqadmin topicStatus`).
    pub const GET_TOPIC_STATS_INFO: i32 = 202;
    /// A consumer group's clients and subscriptions (`mqadmin consumerConnection`).
    pub const GET_CONSUMER_CONNECTION_LIST: i32 = 203;
    /// A producer group's clients (`mqadmin producerConnection`).
    pub const GET_PRODUCER_CONNECTION_LIST: i32 = 204;
    /// Name server: a broker group's topics lose write permission (`mqadmin wipeWritePerm`).
    pub const WIPE_WRITE_PERM_OF_BROKER: i32 = 205;
    pub const GET_ALL_TOPIC_LIST_FROM_NAMESERVER: i32 = 206;
    /// Name server: a topic's routes go (`mqadmin deleteTopic`).
    pub const DELETE_TOPIC_IN_NAMESRV: i32 = 216;
    /// Name server: the topics of one cluster.
    pub const GET_TOPICS_BY_CLUSTER: i32 = 224;
    /// Name server: every key and value of one KV-config namespace (`{"table":{…}}`).
    pub const GET_KVLIST_BY_NAMESPACE: i32 = 219;
    /// Name server: change its configuration, properties text (`mqadmin updateNamesrvConfig`).
    pub const UPDATE_NAMESRV_CONFIG: i32 = 318;
    /// Name server: its configuration as properties text (`mqadmin getNamesrvConfig`).
    pub const GET_NAMESRV_CONFIG: i32 = 319;
    /// Name server: does it hold this broker's topic-table version (`changed`)? Also keeps the
    /// registration alive (Java's `forceRegister=false`).
    pub const QUERY_DATA_VERSION: i32 = 322;
    /// Name server: one topic's queue data from one broker (Java's `enableSingleTopicRegister`).
    pub const REGISTER_TOPIC_IN_NAMESRV: i32 = 217;
    /// Name server: cluster and broker names (`mqadmin topicList` filters them out).
    pub const GET_SYSTEM_TOPIC_LIST_FROM_NS: i32 = 304;
    /// Name server: a broker group's topics get read and write back (`mqadmin addWritePerm`).
    pub const ADD_WRITE_PERM_OF_BROKER: i32 = 327;
    /// Name server: keeps a broker's registration alive, nothing else (header `clusterName`,
    /// `brokerAddr`, `brokerName`).
    pub const BROKER_HEARTBEAT: i32 = 904;
    /// Name server: one broker group's members, `{"brokerMemberGroup":{..}}`.
    pub const GET_BROKER_MEMBER_GROUP: i32 = 901;
    /// Name server: topics with the unit flag (`TopicSysFlag` bit 0).
    pub const GET_UNIT_TOPIC_LIST: i32 = 311;
    /// Name server: topics with the unit-subscription flag (`TopicSysFlag` bit 1).
    pub const GET_HAS_UNIT_SUB_TOPIC_LIST: i32 = 312;
    /// Name server: topics with the unit-subscription flag and without the unit flag.
    pub const GET_HAS_UNIT_SUB_UNUNIT_TOPIC_LIST: i32 = 313;
    /// A group's offsets against each queue's end (`mqadmin consumerProgress`).
    pub const GET_CONSUME_STATS: i32 = 208;
    /// Header `groupName`, `cleanOffset` (`mqadmin deleteSubGroup`).
    pub const DELETE_SUBSCRIPTIONGROUP: i32 = 207;
    pub const DELETE_TOPIC_IN_BROKER: i32 = 215;
    /// The consumer groups of a topic: online subscribers and groups with offsets on it
    /// (`mqadmin topicList -c`, `statsAll`, `queryMsgById`).
    pub const QUERY_TOPIC_CONSUME_BY_WHO: i32 = 300;
    /// Resets a group's offsets on a topic by time (`mqadmin resetOffsetByTime`).
    pub const INVOKE_BROKER_TO_RESET_OFFSET: i32 = 222;
    /// How a client learns a topic's queue counts from the broker itself.
    pub const GET_TOPIC_CONFIG: i32 = 351;
    pub const SEND_MESSAGE_V2: i32 = 310;
    pub const SEND_BATCH_MESSAGE: i32 = 320;
    /// A consumer's reply to a request message (`DefaultMQProducer.request`), V1 header names.
    pub const SEND_REPLY_MESSAGE: i32 = 324;
    /// A consumer's running state, forwarded to it by the broker (`mqadmin consumerStatus`).
    pub const GET_CONSUMER_RUNNING_INFO: i32 = 307;
    /// One statistic's minute, hour and day windows, header `statsName`, `statsKey`
    /// (`mqadmin statsAll`, the Dashboard).
    pub const VIEW_BROKER_STATS_DATA: i32 = 315;
    /// A master's slave connections or a slave's link to its master (`HARuntimeInfo`, `mqadmin
    /// haStatus`).
    pub const GET_BROKER_HA_STATUS: i32 = 907;
    /// A controller-mode broker's epoch entries (`mqadmin getBrokerEpoch`); refused by a broker
    /// not in controller mode, as actormq is not.
    pub const GET_BROKER_EPOCH_CACHE: i32 = 1007;
    /// Every subscription group's offsets against its topics' queue ends, in one answer
    /// (`mqadmin brokerConsumeStats`).
    pub const GET_BROKER_CONSUME_STATS: i32 = 317;
    /// Raw consume-queue entries of one queue from an index (`mqadmin queryCq`).
    pub const QUERY_CONSUME_QUEUE: i32 = 321;
    /// A message handed to one consumer's listener, through the broker (`mqadmin queryMsgById -d`).
    pub const CONSUME_MESSAGE_DIRECTLY: i32 = 309;
    /// Broker: Java's system topics (`mqadmin exportMetadata` / `exportMetrics` leave them out).
    pub const GET_SYSTEM_TOPIC_LIST_FROM_BROKER: i32 = 305;
    /// One group's offsets copied to another (`mqadmin cloneGroupOffset`).
    pub const CLONE_GROUP_OFFSET: i32 = 314;
    /// The same with the V2 header keys `a`..`n`.
    pub const SEND_REPLY_MESSAGE_V2: i32 = 325;
    /// Broker -> requesting producer: the reply (`ReplyMessageRequestHeader`, body = its body).
    pub const PUSH_REPLY_MESSAGE_TO_CLIENT: i32 = 326;
    pub const LITE_PULL_MESSAGE: i32 = 361;
    /// Broker: several topics created or updated at once, body `{"topicConfigList":[..]}`
    /// (`mqadmin updateTopicList`).
    pub const UPDATE_AND_CREATE_TOPIC_LIST: i32 = 18;
    /// Broker -> consumer: the offsets it holds for a topic (`GetConsumerStatusBody`).
    pub const GET_CONSUMER_STATUS_FROM_CLIENT: i32 = 221;
    /// Broker: ask a group's consumers for their offsets of a topic (`mqadmin getConsumerStatus`).
    pub const INVOKE_BROKER_TO_GET_CONSUMER_STATUS: i32 = 223;
    /// Broker: several subscription groups created or updated at once, body
    /// `{"groupConfigList":[..]}` (`mqadmin updateSubGroupList`).
    pub const UPDATE_AND_CREATE_SUBSCRIPTIONGROUP_LIST: i32 = 225;
    /// Broker: per write queue of a topic the store times a group's progress lies between (the
    /// Dashboard).
    pub const QUERY_CONSUME_TIME_SPAN: i32 = 303;
    /// Broker: consume-queue files of deleted commit-log files removed now (`mqadmin cleanExpiredCQ`).
    pub const CLEAN_EXPIRED_CONSUMEQUEUE: i32 = 306;
    /// Broker: the consume queues of topics no longer in the topic table emptied (`mqadmin
    /// cleanUnusedTopic`).
    pub const CLEAN_UNUSED_TOPIC: i32 = 316;
    /// Broker: every producer group's clients (`mqadmin producer`).
    pub const GET_ALL_PRODUCER_INFO: i32 = 328;
    /// Broker: expired commit-log files deleted whatever the hour (`mqadmin deleteExpiredCommitLog`).
    pub const DELETE_EXPIRED_COMMITLOG: i32 = 329;
    /// Broker: the topics a group has offsets on (the Dashboard).
    pub const QUERY_TOPICS_BY_CONSUMER: i32 = 343;
    /// Broker: an online group's subscription of one topic (the Dashboard).
    pub const QUERY_SUBSCRIPTION_BY_CONSUMER: i32 = 345;
    /// Broker: one subscription group's configuration.
    pub const GET_SUBSCRIPTIONGROUP_CONFIG: i32 = 352;

    /// The RocketMQ name of a request code (e.g. `"SEND_MESSAGE_V2"`), or `"UNKNOWN"`.
    /// Used as the bounded `code` label of `actormq_requests_total`.
    pub fn name(code: i32) -> &'static str {
        match code {
            SEND_MESSAGE => "SEND_MESSAGE",
            PULL_MESSAGE => "PULL_MESSAGE",
            QUERY_MESSAGE => "QUERY_MESSAGE",
            QUERY_CONSUMER_OFFSET => "QUERY_CONSUMER_OFFSET",
            UPDATE_CONSUMER_OFFSET => "UPDATE_CONSUMER_OFFSET",
            UPDATE_AND_CREATE_TOPIC => "UPDATE_AND_CREATE_TOPIC",
            GET_ALL_TOPIC_CONFIG => "GET_ALL_TOPIC_CONFIG",
            UPDATE_BROKER_CONFIG => "UPDATE_BROKER_CONFIG",
            GET_BROKER_CONFIG => "GET_BROKER_CONFIG",
            GET_BROKER_RUNTIME_INFO => "GET_BROKER_RUNTIME_INFO",
            SEARCH_OFFSET_BY_TIMESTAMP => "SEARCH_OFFSET_BY_TIMESTAMP",
            GET_MAX_OFFSET => "GET_MAX_OFFSET",
            GET_MIN_OFFSET => "GET_MIN_OFFSET",
            GET_EARLIEST_MSG_STORETIME => "GET_EARLIEST_MSG_STORETIME",
            VIEW_MESSAGE_BY_ID => "VIEW_MESSAGE_BY_ID",
            HEART_BEAT => "HEART_BEAT",
            UNREGISTER_CLIENT => "UNREGISTER_CLIENT",
            CONSUMER_SEND_MSG_BACK => "CONSUMER_SEND_MSG_BACK",
            END_TRANSACTION => "END_TRANSACTION",
            CHECK_TRANSACTION_STATE => "CHECK_TRANSACTION_STATE",
            NOTIFY_CONSUMER_IDS_CHANGED => "NOTIFY_CONSUMER_IDS_CHANGED",
            GET_CONSUMER_LIST_BY_GROUP => "GET_CONSUMER_LIST_BY_GROUP",
            LOCK_BATCH_MQ => "LOCK_BATCH_MQ",
            UNLOCK_BATCH_MQ => "UNLOCK_BATCH_MQ",
            GET_ALL_CONSUMER_OFFSET => "GET_ALL_CONSUMER_OFFSET",
            GET_ALL_DELAY_OFFSET => "GET_ALL_DELAY_OFFSET",
            CHECK_CLIENT_CONFIG => "CHECK_CLIENT_CONFIG",
            PUT_KV_CONFIG => "PUT_KV_CONFIG",
            GET_KV_CONFIG => "GET_KV_CONFIG",
            DELETE_KV_CONFIG => "DELETE_KV_CONFIG",
            REGISTER_BROKER => "REGISTER_BROKER",
            UNREGISTER_BROKER => "UNREGISTER_BROKER",
            UPDATE_AND_CREATE_SUBSCRIPTIONGROUP => "UPDATE_AND_CREATE_SUBSCRIPTIONGROUP",
            GET_ALL_SUBSCRIPTIONGROUP_CONFIG => "GET_ALL_SUBSCRIPTIONGROUP_CONFIG",
            GET_ROUTEINFO_BY_TOPIC => "GET_ROUTEINFO_BY_TOPIC",
            GET_BROKER_CLUSTER_INFO => "GET_BROKER_CLUSTER_INFO",
            GET_TOPIC_STATS_INFO => "GET_TOPIC_STATS_INFO",
            GET_CONSUMER_CONNECTION_LIST => "GET_CONSUMER_CONNECTION_LIST",
            GET_PRODUCER_CONNECTION_LIST => "GET_PRODUCER_CONNECTION_LIST",
            WIPE_WRITE_PERM_OF_BROKER => "WIPE_WRITE_PERM_OF_BROKER",
            GET_ALL_TOPIC_LIST_FROM_NAMESERVER => "GET_ALL_TOPIC_LIST_FROM_NAMESERVER",
            DELETE_TOPIC_IN_NAMESRV => "DELETE_TOPIC_IN_NAMESRV",
            GET_TOPICS_BY_CLUSTER => "GET_TOPICS_BY_CLUSTER",
            GET_KVLIST_BY_NAMESPACE => "GET_KVLIST_BY_NAMESPACE",
            UPDATE_NAMESRV_CONFIG => "UPDATE_NAMESRV_CONFIG",
            GET_NAMESRV_CONFIG => "GET_NAMESRV_CONFIG",
            GET_SYSTEM_TOPIC_LIST_FROM_NS => "GET_SYSTEM_TOPIC_LIST_FROM_NS",
            ADD_WRITE_PERM_OF_BROKER => "ADD_WRITE_PERM_OF_BROKER",
            QUERY_DATA_VERSION => "QUERY_DATA_VERSION",
            REGISTER_TOPIC_IN_NAMESRV => "REGISTER_TOPIC_IN_NAMESRV",
            BROKER_HEARTBEAT => "BROKER_HEARTBEAT",
            GET_BROKER_MEMBER_GROUP => "GET_BROKER_MEMBER_GROUP",
            GET_UNIT_TOPIC_LIST => "GET_UNIT_TOPIC_LIST",
            GET_HAS_UNIT_SUB_TOPIC_LIST => "GET_HAS_UNIT_SUB_TOPIC_LIST",
            GET_HAS_UNIT_SUB_UNUNIT_TOPIC_LIST => "GET_HAS_UNIT_SUB_UNUNIT_TOPIC_LIST",
            GET_CONSUME_STATS => "GET_CONSUME_STATS",
            DELETE_SUBSCRIPTIONGROUP => "DELETE_SUBSCRIPTIONGROUP",
            DELETE_TOPIC_IN_BROKER => "DELETE_TOPIC_IN_BROKER",
            INVOKE_BROKER_TO_RESET_OFFSET => "INVOKE_BROKER_TO_RESET_OFFSET",
            QUERY_TOPIC_CONSUME_BY_WHO => "QUERY_TOPIC_CONSUME_BY_WHO",
            GET_TOPIC_CONFIG => "GET_TOPIC_CONFIG",
            SEND_MESSAGE_V2 => "SEND_MESSAGE_V2",
            SEND_REPLY_MESSAGE => "SEND_REPLY_MESSAGE",
            GET_CONSUMER_RUNNING_INFO => "GET_CONSUMER_RUNNING_INFO",
            VIEW_BROKER_STATS_DATA => "VIEW_BROKER_STATS_DATA",
            GET_BROKER_HA_STATUS => "GET_BROKER_HA_STATUS",
            GET_BROKER_EPOCH_CACHE => "GET_BROKER_EPOCH_CACHE",
            GET_BROKER_CONSUME_STATS => "GET_BROKER_CONSUME_STATS",
            QUERY_CONSUME_QUEUE => "QUERY_CONSUME_QUEUE",
            CONSUME_MESSAGE_DIRECTLY => "CONSUME_MESSAGE_DIRECTLY",
            CLONE_GROUP_OFFSET => "CLONE_GROUP_OFFSET",
            GET_SYSTEM_TOPIC_LIST_FROM_BROKER => "GET_SYSTEM_TOPIC_LIST_FROM_BROKER",
            SEND_REPLY_MESSAGE_V2 => "SEND_REPLY_MESSAGE_V2",
            PUSH_REPLY_MESSAGE_TO_CLIENT => "PUSH_REPLY_MESSAGE_TO_CLIENT",
            SEND_BATCH_MESSAGE => "SEND_BATCH_MESSAGE",
            LITE_PULL_MESSAGE => "LITE_PULL_MESSAGE",
            UPDATE_AND_CREATE_TOPIC_LIST => "UPDATE_AND_CREATE_TOPIC_LIST",
            GET_CONSUMER_STATUS_FROM_CLIENT => "GET_CONSUMER_STATUS_FROM_CLIENT",
            INVOKE_BROKER_TO_GET_CONSUMER_STATUS => "INVOKE_BROKER_TO_GET_CONSUMER_STATUS",
            UPDATE_AND_CREATE_SUBSCRIPTIONGROUP_LIST => "UPDATE_AND_CREATE_SUBSCRIPTIONGROUP_LIST",
            QUERY_CONSUME_TIME_SPAN => "QUERY_CONSUME_TIME_SPAN",
            CLEAN_EXPIRED_CONSUMEQUEUE => "CLEAN_EXPIRED_CONSUMEQUEUE",
            CLEAN_UNUSED_TOPIC => "CLEAN_UNUSED_TOPIC",
            GET_ALL_PRODUCER_INFO => "GET_ALL_PRODUCER_INFO",
            DELETE_EXPIRED_COMMITLOG => "DELETE_EXPIRED_COMMITLOG",
            QUERY_TOPICS_BY_CONSUMER => "QUERY_TOPICS_BY_CONSUMER",
            QUERY_SUBSCRIPTION_BY_CONSUMER => "QUERY_SUBSCRIPTION_BY_CONSUMER",
            GET_SUBSCRIPTIONGROUP_CONFIG => "GET_SUBSCRIPTIONGROUP_CONFIG",
            _ => "UNKNOWN",
        }
    }
}

/// `MQVersion.Version` ordinals the broker compares a request's `version` with.
pub mod version {
    /// `V3_4_9`: from this client version on, a send-back's or retry send's `maxReconsumeTimes`
    /// header overrides the group's `retryMaxTimes`.
    pub const V3_4_9: i32 = 121;
    /// `V3_0_11`: from this broker version on, a REGISTER_BROKER body is a `RegisterBrokerBody`
    /// (before it, a bare `TopicConfigSerializeWrapper`).
    pub const V3_0_11: i32 = 37;
    /// `V5_0_0`: from this broker version on, a compressed `RegisterBrokerBody` ends with the
    /// static-topic mappings.
    pub const V5_0_0: i32 = 413;
    /// `V3_0_7_SNAPSHOT`: older consumers cannot answer GET_CONSUMER_STATUS_FROM_CLIENT.
    pub const V3_0_7_SNAPSHOT: i32 = 28;
}

/// `PullSysFlag` bits of a pull request's `sysFlag` (`rocketmq-reference.md` §3.3).
pub mod pull_sys_flag {
    /// The pull carries the consumer's offset (`commitOffset`) to store.
    pub const COMMIT_OFFSET: i32 = 0x1;
    /// Park the pull (long polling) when nothing is there yet.
    pub const SUSPEND: i32 = 0x2;
    /// The pull carries its subscription expression.
    pub const SUBSCRIPTION: i32 = 0x4;
    /// A lite pull consumer's request.
    pub const LITE_PULL: i32 = 0x10;
}

/// The remark RocketMQ answers with `SYSTEM_BUSY` when a request queue is full (and actormq when a
/// mailbox is full or a connection has too many requests in flight).
pub const OVERLOAD_REMARK: &str = "[OVERLOAD]system busy, start flow control for a while";

/// The remark `RemotingCommand.createResponseCommand` starts a response with; a Java handler that
/// sets only the code (GET_BROKER_MEMBER_GROUP, UPDATE_AND_CREATE_TOPIC_LIST) answers SUCCESS
/// with it.
pub const UNSET_RESPONSE_REMARK: &str = "not set any response code";

/// The remark of Java 5.x's `rejectRequest` answer (`SYSTEM_BUSY`), given to sends on a slave.
pub const REJECT_REQUEST_REMARK: &str =
    "[REJECTREQUEST]system busy, start flow control for a while";

/// Response codes (`ResponseCode.java`, `RemotingSysResponseCode.java`).
pub mod response_code {
    pub const SUCCESS: i32 = 0;
    pub const SYSTEM_ERROR: i32 = 1;
    pub const SYSTEM_BUSY: i32 = 2;
    pub const REQUEST_CODE_NOT_SUPPORTED: i32 = 3;
    pub const TRANSACTION_FAILED: i32 = 4;
    pub const FLUSH_DISK_TIMEOUT: i32 = 10;
    pub const SLAVE_NOT_AVAILABLE: i32 = 11;
    pub const FLUSH_SLAVE_TIMEOUT: i32 = 12;
    pub const MESSAGE_ILLEGAL: i32 = 13;
    pub const SERVICE_NOT_AVAILABLE: i32 = 14;
    pub const VERSION_NOT_SUPPORTED: i32 = 15;
    pub const NO_PERMISSION: i32 = 16;
    pub const TOPIC_NOT_EXIST: i32 = 17;
    pub const TOPIC_EXIST_ALREADY: i32 = 18;
    pub const PULL_NOT_FOUND: i32 = 19;
    pub const PULL_RETRY_IMMEDIATELY: i32 = 20;
    pub const PULL_OFFSET_MOVED: i32 = 21;
    pub const QUERY_NOT_FOUND: i32 = 22;
    pub const SUBSCRIPTION_PARSE_FAILED: i32 = 23;
    pub const SUBSCRIPTION_NOT_EXIST: i32 = 24;
    pub const SUBSCRIPTION_NOT_LATEST: i32 = 25;
    pub const FILTER_DATA_NOT_EXIST: i32 = 27;
    pub const SUBSCRIPTION_GROUP_NOT_EXIST: i32 = 26;
    pub const INVALID_PARAMETER: i32 = 29;
    /// No live consumer in the group (GET_CONSUMER_CONNECTION_LIST and other admin requests).
    pub const CONSUMER_NOT_ONLINE: i32 = 206;
    /// A request forwarded to a client got no answer in time.
    pub const CONSUME_MSG_TIMEOUT: i32 = 207;
    pub const FLOW_CONTROL: i32 = 215;
    pub const GO_AWAY: i32 = 1500;

    /// The RocketMQ name of a response code (e.g. `"SYSTEM_BUSY"`), or `"UNKNOWN"`.
    /// Used as the bounded `result` label of `actormq_requests_total`.
    pub fn name(code: i32) -> &'static str {
        match code {
            SUCCESS => "SUCCESS",
            SYSTEM_ERROR => "SYSTEM_ERROR",
            SYSTEM_BUSY => "SYSTEM_BUSY",
            REQUEST_CODE_NOT_SUPPORTED => "REQUEST_CODE_NOT_SUPPORTED",
            TRANSACTION_FAILED => "TRANSACTION_FAILED",
            FLUSH_DISK_TIMEOUT => "FLUSH_DISK_TIMEOUT",
            SLAVE_NOT_AVAILABLE => "SLAVE_NOT_AVAILABLE",
            FLUSH_SLAVE_TIMEOUT => "FLUSH_SLAVE_TIMEOUT",
            MESSAGE_ILLEGAL => "MESSAGE_ILLEGAL",
            SERVICE_NOT_AVAILABLE => "SERVICE_NOT_AVAILABLE",
            VERSION_NOT_SUPPORTED => "VERSION_NOT_SUPPORTED",
            NO_PERMISSION => "NO_PERMISSION",
            TOPIC_NOT_EXIST => "TOPIC_NOT_EXIST",
            TOPIC_EXIST_ALREADY => "TOPIC_EXIST_ALREADY",
            PULL_NOT_FOUND => "PULL_NOT_FOUND",
            PULL_RETRY_IMMEDIATELY => "PULL_RETRY_IMMEDIATELY",
            PULL_OFFSET_MOVED => "PULL_OFFSET_MOVED",
            QUERY_NOT_FOUND => "QUERY_NOT_FOUND",
            SUBSCRIPTION_PARSE_FAILED => "SUBSCRIPTION_PARSE_FAILED",
            SUBSCRIPTION_NOT_EXIST => "SUBSCRIPTION_NOT_EXIST",
            SUBSCRIPTION_NOT_LATEST => "SUBSCRIPTION_NOT_LATEST",
            FILTER_DATA_NOT_EXIST => "FILTER_DATA_NOT_EXIST",
            SUBSCRIPTION_GROUP_NOT_EXIST => "SUBSCRIPTION_GROUP_NOT_EXIST",
            INVALID_PARAMETER => "INVALID_PARAMETER",
            CONSUMER_NOT_ONLINE => "CONSUMER_NOT_ONLINE",
            CONSUME_MSG_TIMEOUT => "CONSUME_MSG_TIMEOUT",
            FLOW_CONTROL => "FLOW_CONTROL",
            GO_AWAY => "GO_AWAY",
            _ => "UNKNOWN",
        }
    }
}

/// The peer's implementation language (`LanguageCode.java`).
///
/// JSON headers carry it by name (`"JAVA"`), binary headers by number. Unknown names or
/// numbers decode as [`LanguageCode::Other`] instead of failing: the field is purely
/// informational and new clients keep adding languages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum LanguageCode {
    #[default]
    Java,
    Cpp,
    DotNet,
    Python,
    Delphi,
    Erlang,
    Ruby,
    Other,
    Http,
    Go,
    Php,
    Oms,
    Rust,
    NodeJs,
}

impl LanguageCode {
    /// All variants, in wire-number order (index == number).
    pub const ALL: [LanguageCode; 14] = [
        LanguageCode::Java,
        LanguageCode::Cpp,
        LanguageCode::DotNet,
        LanguageCode::Python,
        LanguageCode::Delphi,
        LanguageCode::Erlang,
        LanguageCode::Ruby,
        LanguageCode::Other,
        LanguageCode::Http,
        LanguageCode::Go,
        LanguageCode::Php,
        LanguageCode::Oms,
        LanguageCode::Rust,
        LanguageCode::NodeJs,
    ];

    /// The number used in the ROCKETMQ binary header.
    pub fn as_u8(self) -> u8 {
        self as u8
    }

    /// Maps a binary-header number back; unknown numbers become `Other`.
    pub fn from_u8(n: u8) -> Self {
        Self::ALL
            .get(usize::from(n))
            .copied()
            .unwrap_or(LanguageCode::Other)
    }

    /// The Java enum name used in JSON headers (`"JAVA"`, `"NODE_JS"`).
    pub fn name(self) -> &'static str {
        match self {
            LanguageCode::Java => "JAVA",
            LanguageCode::Cpp => "CPP",
            LanguageCode::DotNet => "DOTNET",
            LanguageCode::Python => "PYTHON",
            LanguageCode::Delphi => "DELPHI",
            LanguageCode::Erlang => "ERLANG",
            LanguageCode::Ruby => "RUBY",
            LanguageCode::Other => "OTHER",
            LanguageCode::Http => "HTTP",
            LanguageCode::Go => "GO",
            LanguageCode::Php => "PHP",
            LanguageCode::Oms => "OMS",
            LanguageCode::Rust => "RUST",
            LanguageCode::NodeJs => "NODE_JS",
        }
    }

    /// Maps a Java enum name back; unknown names become `Other`.
    pub fn from_name(name: &str) -> Self {
        Self::ALL
            .iter()
            .copied()
            .find(|l| l.name() == name)
            .unwrap_or(LanguageCode::Other)
    }
}

impl fmt::Display for LanguageCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for LanguageCode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for LanguageCode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct LanguageVisitor;
        impl Visitor<'_> for LanguageVisitor {
            type Value = LanguageCode;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a language name such as \"JAVA\" or its number")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<LanguageCode, E> {
                Ok(LanguageCode::from_name(v))
            }
            // Lenient: some serializers write enums by ordinal.
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<LanguageCode, E> {
                Ok(u8::try_from(v).map_or(LanguageCode::Other, LanguageCode::from_u8))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<LanguageCode, E> {
                Ok(u8::try_from(v).map_or(LanguageCode::Other, LanguageCode::from_u8))
            }
        }
        d.deserialize_any(LanguageVisitor)
    }
}

/// How a frame's header is encoded: the top byte of the header-length word (§1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SerializeType {
    /// fastjson-style JSON (§1.3); what Java servers send by default.
    #[default]
    Json = 0,
    /// The compact ROCKETMQ binary layout (§1.4).
    RocketMq = 1,
}

impl SerializeType {
    /// The header-word type byte.
    pub fn as_u8(self) -> u8 {
        self as u8
    }

    /// Parses the header-word type byte; `None` for anything but 0 and 1.
    pub fn from_u8(n: u8) -> Option<Self> {
        match n {
            0 => Some(SerializeType::Json),
            1 => Some(SerializeType::RocketMq),
            _ => None,
        }
    }

    /// The Java enum name, as written in `serializeTypeCurrentRPC`.
    pub fn name(self) -> &'static str {
        match self {
            SerializeType::Json => "JSON",
            SerializeType::RocketMq => "ROCKETMQ",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_names() {
        assert_eq!(request_code::name(310), "SEND_MESSAGE_V2");
        assert_eq!(request_code::name(361), "LITE_PULL_MESSAGE");
        assert_eq!(request_code::name(351), "GET_TOPIC_CONFIG");
        assert_eq!(request_code::name(300), "QUERY_TOPIC_CONSUME_BY_WHO");
        assert_eq!(request_code::name(322), "QUERY_DATA_VERSION");
        assert_eq!(request_code::name(904), "BROKER_HEARTBEAT");
        assert_eq!(
            request_code::name(313),
            "GET_HAS_UNIT_SUB_UNUNIT_TOPIC_LIST"
        );
        assert_eq!(request_code::name(328), "GET_ALL_PRODUCER_INFO");
        assert_eq!(request_code::name(9999), "UNKNOWN");
        assert_eq!(response_code::name(2), "SYSTEM_BUSY");
        assert_eq!(response_code::name(1500), "GO_AWAY");
        assert_eq!(response_code::name(-1), "UNKNOWN");
    }

    #[test]
    fn language_numbers_and_names() {
        for (i, l) in LanguageCode::ALL.iter().enumerate() {
            assert_eq!(usize::from(l.as_u8()), i);
            assert_eq!(LanguageCode::from_u8(l.as_u8()), *l);
            assert_eq!(LanguageCode::from_name(l.name()), *l);
        }
        assert_eq!(LanguageCode::Rust.as_u8(), 12);
        assert_eq!(LanguageCode::NodeJs.name(), "NODE_JS");
        assert_eq!(LanguageCode::from_u8(14), LanguageCode::Other);
        assert_eq!(LanguageCode::from_u8(255), LanguageCode::Other);
        assert_eq!(LanguageCode::from_name("COBOL"), LanguageCode::Other);
    }

    #[test]
    fn language_serde_by_name() {
        assert_eq!(
            serde_json::to_string(&LanguageCode::DotNet).unwrap(),
            "\"DOTNET\""
        );
        let l: LanguageCode = serde_json::from_str("\"GO\"").unwrap();
        assert_eq!(l, LanguageCode::Go);
        let l: LanguageCode = serde_json::from_str("\"KOTLIN\"").unwrap();
        assert_eq!(l, LanguageCode::Other);
        let l: LanguageCode = serde_json::from_str("12").unwrap();
        assert_eq!(l, LanguageCode::Rust);
        let l: LanguageCode = serde_json::from_str("-3").unwrap();
        assert_eq!(l, LanguageCode::Other);
    }

    #[test]
    fn serialize_type_bytes() {
        assert_eq!(SerializeType::from_u8(0), Some(SerializeType::Json));
        assert_eq!(SerializeType::from_u8(1), Some(SerializeType::RocketMq));
        assert_eq!(SerializeType::from_u8(2), None);
        assert_eq!(SerializeType::RocketMq.name(), "ROCKETMQ");
    }
}
