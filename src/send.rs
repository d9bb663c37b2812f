//! The send path's pure part (RocketMQ's `SendMessageProcessor` before `putMessage`): a send request
//! becomes encoded records (queue choice for `queueId < 0`, topic auto-creation, the broker-added
//! properties `UNIQ_KEY`, `CLUSTER`, `MSG_REGION` and `TRACE_ON`, each record's consume-queue tag code), and an append's outcome
//! becomes the SEND response. No actors: the `SendProcessor` owns a [`SendPreparer`] and the topic
//! table and only routes, so everything here is unit-tested directly.

use std::net::SocketAddr;

use bytes::BytesMut;
use tracing::info;

use crate::broker_permission::BrokerPermission;
use crate::config::BrokerIdentity;
use crate::protocol::header::{send_response, SendMessageRequestHeader};
use crate::protocol::{
    request_code, response_code, ByteString, RemotingCommand, OVERLOAD_REMARK,
    REJECT_REQUEST_REMARK,
};
use crate::retry::{self, RETRY_GROUP_TOPIC_PREFIX};
use crate::schedule::{
    self,
    levels::DelayLevels,
    rewrite::{delay_level, parse_delay_level, schedule, schedule_at_level, BadDelayLevel},
};
use crate::store::commit_log::{AppendError, Appended};
use crate::store::disk_space::DiskUsage;
use crate::store::message::{
    decode_batch, encode, find_property, offset_msg_id, property, tags_hash_code, KnownProperties,
    MessageToStore, UniqIdGenerator,
};
use crate::store::now_ms;
use crate::subscription_group::SubscriptionGroupTable;
use crate::timer::{rewrite, Rewrite, TimerRules, TIMER_TOPIC};
use crate::topic::{validate_topic_name, TopicConfig, TopicTable};
use crate::transaction;

#[cfg(test)]
mod tests;

/// RocketMQ's limit on the encoded properties (an i16 length on disk).
const MAX_PROPERTIES_LEN: usize = 32767;

/// A refusal: response code and remark.
pub type Refusal = (i32, String);

/// The two hosts a record names: the client's (born) and this broker's listen address (store).
#[derive(Debug, Clone, Copy)]
pub struct Hosts {
    pub born: SocketAddr,
    pub store: SocketAddr,
}

/// A request turned into records, ready for the writer.
#[derive(Debug)]
pub struct Prepared {
    /// Where the records go: the request's topic and queue, or `SCHEDULE_TOPIC_XXXX` and the
    /// delay level's queue for a delayed message, or `rmq_sys_wheel_timer` queue 0 for a timer
    /// message.
    pub topic: String,
    pub queue_id: i32,
    /// The queue id the response names: the request's (Java answers the chosen queue of the real
    /// topic for delayed and timer messages too).
    pub reply_queue_id: i32,
    pub records: BytesMut,
    pub sizes: Vec<u32>,
    pub uniq_keys: Vec<String>,
    pub tags_codes: Vec<i64>,
    /// The topics auto-created for this send (usually none): the caller persists the table before
    /// the send may be acknowledged, and takes them out again if it cannot.
    pub created_topics: Vec<String>,
    /// A consumer group was auto-created for a send to its `%RETRY%` topic (the caller persists
    /// the group table).
    pub created_group: bool,
    /// A `SEND_BATCH_MESSAGE`: its entries are never delayed or timer-rewritten (Java 5.3 stores
    /// them as sent).
    pub batch: bool,
    /// SYNC_MASTER: the sender waits for a slave to have the records (`WAIT` is not `false`,
    /// Java's `isWaitStoreMsgOK`). Always false unless the preparer is told the role.
    pub wait_slave: bool,
    /// A transaction's half message (stored in the half topic): its producer group, so the
    /// caller can have it checked if it is not ended in time.
    pub half: Option<String>,
}

/// Turns send requests into records; keeps what spans requests (the unique-id generator and the
/// round-robin queue choice).
pub struct SendPreparer {
    broker: BrokerIdentity,
    uniq_ids: UniqIdGenerator,
    round_robin: u32,
    timer: TimerRules,
    /// SYNC_MASTER: look at each send's `WAIT` property.
    sync_master: bool,
    /// Named in the refusals of a broker without write permission (Java names `brokerIP1`).
    store_ip: std::net::IpAddr,
}

impl SendPreparer {
    /// `store_ip` seeds the `UNIQ_KEY`s (as the Java client's ids carry its IP).
    pub fn new(broker: BrokerIdentity, store_ip: std::net::IpAddr) -> Self {
        SendPreparer {
            broker,
            uniq_ids: UniqIdGenerator::new(store_ip),
            round_robin: 0,
            timer: TimerRules::default(),
            sync_master: false,
            store_ip,
        }
    }

    /// The broker's permission changed (UPDATE_BROKER_CONFIG).
    pub fn set_permission(&mut self, permission: BrokerPermission) {
        self.broker.permission = permission;
    }

    /// `msgCheck`: a broker without write permission refuses sends to its ordered topics (the
    /// name servers already route no other sends here; one that arrives on a stale route is
    /// taken, as Java does).
    fn check_broker_writable(&self, topics: &TopicTable, topic: &str) -> Result<(), Refusal> {
        if self.broker.permission.writable() || !topics.get(topic).is_some_and(|t| t.order) {
            return Ok(());
        }
        Err((
            response_code::NO_PERMISSION,
            format!("the broker[{}] sending message is forbidden", self.store_ip),
        ))
    }

    /// A SYNC_MASTER's preparer: sends wait for a slave unless they say `WAIT=false`.
    pub fn with_sync_master(mut self, sync_master: bool) -> Self {
        self.sync_master = sync_master;
        self
    }

    /// Timer messages follow `rules` (`[timer]`) instead of the defaults.
    pub fn with_timer_rules(mut self, rules: TimerRules) -> Self {
        self.timer = rules;
        self
    }

    /// Turns a send request (10, 310, 320) into records for the writer; the topic is created in
    /// `topics` first if it is new and auto-creation is on (`Prepared::created_topics`). A send to
    /// `%RETRY%<group>` (the consumer's fallback when a send-back failed) may be redirected to the
    /// group's `%DLQ%` topic (`SendPreparer::retry_send`); only such topics pay for that check.
    pub fn prepare(
        &mut self,
        cmd: &RemotingCommand,
        hosts: Hosts,
        topics: &mut TopicTable,
        groups: &mut SubscriptionGroupTable,
    ) -> Result<Prepared, Refusal> {
        let mut header = match cmd.code {
            request_code::SEND_MESSAGE | request_code::SEND_REPLY_MESSAGE => {
                SendMessageRequestHeader::from_ext_v1(&cmd.ext_fields)
            }
            _ => SendMessageRequestHeader::from_ext_v2(&cmd.ext_fields),
        }
        .map_err(|e| (e.response_code(), e.to_string()))?;
        validate_topic_name(&header.topic).map_err(|e| (response_code::INVALID_PARAMETER, e))?;
        let batch = cmd.code == request_code::SEND_BATCH_MESSAGE;
        let retry = header.topic.starts_with(RETRY_GROUP_TOPIC_PREFIX);
        if batch && retry {
            let remark = format!(
                "batch request does not support retry group {}",
                header.topic
            );
            return Err((response_code::MESSAGE_ILLEGAL, remark));
        }
        if schedule::send_forbidden(&header.topic) {
            return Err((
                response_code::NO_PERMISSION,
                format!("Sending message to topic[{}] is forbidden.", header.topic),
            ));
        }
        self.check_broker_writable(topics, &header.topic)?;
        let (topic, created) = topic_for_send(&self.broker, topics, &header)?;
        let mut created_topics = Vec::new();
        if created {
            created_topics.push(topic.topic_name.clone());
        }
        let mut queue_id = if header.queue_id < 0 {
            self.round_robin = self.round_robin.wrapping_add(1);
            (self.round_robin % topic.write_queue_nums as u32) as i32
        } else if header.queue_id >= topic.write_queue_nums {
            return Err((
                response_code::INVALID_PARAMETER,
                format!(
                    "request queueId[{}] is illegal, topic {} has {} write queues",
                    header.queue_id, header.topic, topic.write_queue_nums
                ),
            ));
        } else {
            header.queue_id
        };
        let mut created_group = false;
        if retry {
            let redirect = self.retry_send(&mut header, cmd.version, topics, groups)?;
            created_group = redirect.created_group;
            created_topics.extend(redirect.created_topic);
            if let Some(dlq_queue) = redirect.dead_letter_queue {
                queue_id = dlq_queue;
            }
        }

        let mut prepared = Prepared {
            topic: header.topic.clone(),
            queue_id,
            reply_queue_id: queue_id,
            records: BytesMut::new(),
            sizes: Vec::new(),
            uniq_keys: Vec::new(),
            tags_codes: Vec::new(),
            created_topics,
            created_group,
            batch,
            // One property lookup, only on a SYNC_MASTER.
            wait_slave: self.sync_master
                && header
                    .properties
                    .as_deref()
                    .and_then(|p| find_property(p, property::WAIT))
                    != Some("false"),
            half: None,
        };
        if batch {
            // Java 4.9.8 / 5.3 refuse a batch whose own (header) properties carry DELAY > 0
            // (`CommitLog.asyncPutMessages`); DELAY inside the entries is stored as sent, undelayed.
            let props = header.properties.as_deref().unwrap_or("");
            if delay_level(props).map_err(delay_refusal)? > 0 {
                return Err((
                    response_code::MESSAGE_ILLEGAL,
                    format!(
                        "the message is illegal, maybe msg body or properties length not matched. msg body length limit {}B, msg properties length limit 32KB.",
                        self.broker.max_message_bytes
                    ),
                ));
            }
            let entries = decode_batch(&cmd.body).map_err(|e| {
                (
                    response_code::MESSAGE_ILLEGAL,
                    format!("bad batch body: {e:?}"),
                )
            })?;
            if entries.is_empty() {
                return Err((response_code::MESSAGE_ILLEGAL, "empty batch".into()));
            }
            for entry in entries {
                self.add_record(
                    &mut prepared,
                    &header,
                    entry.flag,
                    cmd.body.slice_ref(entry.body),
                    entry.properties,
                    hosts,
                )?;
            }
        } else {
            let props = header.properties.as_deref().unwrap_or("");
            let body = cmd.body.clone();
            self.add_record(&mut prepared, &header, header.flag, body, props, hosts)?;
        }
        Ok(prepared)
    }

    /// 5.x `handleRetryAndDLQ` for a send to `%RETRY%<group>`: the group must exist (or is created);
    /// a message reconsumed more than the max (the header's `l`, else the group's `retryMaxTimes`)
    /// is redirected to `%DLQ%<group>` (created on demand, one queue) with `DELAY=-1`. The order
    /// lock check of 5.x (DLQ while the group holds an unexpired queue lock) needs the lock table,
    /// which the send path does not have: it passes "not locked".
    fn retry_send(
        &mut self,
        header: &mut SendMessageRequestHeader,
        request_version: i32,
        topics: &mut TopicTable,
        groups: &mut SubscriptionGroupTable,
    ) -> Result<RetrySend, Refusal> {
        let group = retry::group_of_retry_topic(&header.topic).unwrap_or_default();
        let (config, created_group) = groups
            .find_or_create(group, self.broker.auto_create_subscription_group)
            .map_err(|e| (response_code::SUBSCRIPTION_GROUP_NOT_EXIST, e.to_string()))?;
        let max = retry::max_reconsume_times(
            config.retry_max_times,
            header.max_reconsume_times,
            request_version,
        );
        let mut out = RetrySend {
            created_group,
            created_topic: None,
            dead_letter_queue: None,
        };
        if retry::retry_send_dead_letters(header.reconsume_times, max, false) {
            let dlq = retry::dlq_topic(group);
            info!(topic = %header.topic, dlq = %dlq, reconsume_times = header.reconsume_times, max, "retry send goes to the dead-letter queue");
            if ensure_topic(topics, &dlq, retry::DLQ_NUMS_PER_GROUP, 0) {
                out.created_topic = Some(dlq.clone());
            }
            let props = header.properties.as_deref().unwrap_or("");
            header.properties = Some(retry::dead_letter_properties(props));
            header.topic = dlq;
            out.dead_letter_queue = Some(0);
        }
        Ok(out)
    }

    fn add_record(
        &mut self,
        prepared: &mut Prepared,
        header: &SendMessageRequestHeader,
        flag: i32,
        // Shares the request's buffer (no copy); `encode` copies it once, into the record.
        body: bytes::Bytes,
        client_props: &str,
        hosts: Hosts,
    ) -> Result<(), Refusal> {
        if body.is_empty() {
            return Err((
                response_code::MESSAGE_ILLEGAL,
                "the message body is empty".into(),
            ));
        }
        if body.len() > self.broker.max_message_bytes {
            return Err((
                response_code::MESSAGE_ILLEGAL,
                format!(
                    "the message body size {} exceeds the maximum {}",
                    body.len(),
                    self.broker.max_message_bytes
                ),
            ));
        }
        let mut props = String::with_capacity(client_props.len() + 80);
        props.push_str(client_props);
        let found = KnownProperties::scan(client_props);
        let uniq = match found.uniq_key.map(str::to_string) {
            Some(u) => u,
            None => {
                let id = self.uniq_ids.next_id();
                push_property(&mut props, property::UNIQ_KEY, &id);
                id
            }
        };
        push_property(&mut props, property::CLUSTER, &self.broker.cluster);
        // As Java 5.x's send processor: 5.x clients trace a consumed message only with a region.
        push_property(&mut props, property::MSG_REGION, &self.broker.region_id);
        let trace_on = if self.broker.trace_on {
            "true"
        } else {
            "false"
        };
        push_property(&mut props, property::TRACE_ON, trace_on);
        // Transactions: a half goes to the half topic as it is, never delayed or scheduled; its
        // commit is (END_TRANSACTION).
        if !prepared.batch && found.tran_msg.is_some() {
            let level = parse_delay_level(found.delay).unwrap_or(0);
            if transaction::is_half(found.tran_msg, header.reconsume_times, level) {
                return self.add_half(prepared, header, flag, body, props, uniq, hosts);
            }
        }
        // Timer messages (5.x): one substring check here; the parsing only when it hits. A batch's
        // entries are not intercepted (Java looks at the batch's own properties only).
        let mut deliver_ms = None;
        if !prepared.batch && found.timer {
            let now = now_ms();
            let (topic, queue_id) = (&header.topic, prepared.queue_id);
            match rewrite(&props, topic, queue_id, header.sys_flag, now, self.timer)? {
                Rewrite::Unchanged => {}
                Rewrite::Stripped(p) => props = p,
                Rewrite::Scheduled {
                    properties,
                    deliver_ms: at,
                } => {
                    props = properties;
                    prepared.topic = TIMER_TOPIC.to_string();
                    prepared.queue_id = 0;
                    deliver_ms = Some(at);
                }
            }
        }
        check_properties_len(&props)?;
        let mut message = to_store(prepared, header, flag, body, props, hosts);
        // The one delay check of the send path: a property lookup, the rewrite only when used.
        let levels = &self.broker.message_delay_level;
        let delivery_time = match (prepared.batch, deliver_ms.is_some() || found.timer) {
            (true, _) => None,
            // The timer rewrite may have changed the properties: read them again.
            (false, true) => schedule(&mut message, levels, now_ms).map_err(delay_refusal)?,
            (false, false) => {
                let level = parse_delay_level(found.delay).map_err(delay_refusal)?;
                schedule_at_level(&mut message, level, levels, now_ms).map_err(delay_refusal)?
            }
        };
        if delivery_time.is_some() {
            prepared.topic.clone_from(&message.topic);
            prepared.queue_id = message.queue_id;
        }
        // A delayed or timer record's consume-queue tag code is its delivery time.
        let tags_code = delivery_time
            .or(deliver_ms)
            .unwrap_or_else(|| found.tags.map_or(0, tags_hash_code));
        prepared.push(&message, uniq, tags_code)
    }
}

/// A send's message as the store takes it, at `prepared`'s topic and queue.
fn to_store(
    prepared: &Prepared,
    header: &SendMessageRequestHeader,
    flag: i32,
    body: bytes::Bytes,
    properties: String,
    hosts: Hosts,
) -> MessageToStore {
    MessageToStore {
        topic: prepared.topic.clone(),
        queue_id: prepared.queue_id,
        flag,
        body,
        properties,
        sys_flag: header.sys_flag,
        born_timestamp: header.born_timestamp,
        born_host: hosts.born,
        store_host: hosts.store,
        reconsume_times: header.reconsume_times,
        prepared_transaction_offset: 0,
    }
}

/// RocketMQ's limit on a record's properties (an i16 length on disk): MESSAGE_ILLEGAL beyond it.
fn check_properties_len(properties: &str) -> Result<(), Refusal> {
    if properties.len() > MAX_PROPERTIES_LEN {
        let remark = format!(
            "the message properties size {} exceeds the maximum {MAX_PROPERTIES_LEN}",
            properties.len()
        );
        return Err((response_code::MESSAGE_ILLEGAL, remark));
    }
    Ok(())
}

impl SendPreparer {
    /// A transaction's half message (`transaction::half_message`): stored in the half topic's
    /// queue 0, so `Prepared::topic` and `queue_id` change with it; the reply keeps the real queue.
    #[allow(clippy::too_many_arguments)]
    fn add_half(
        &mut self,
        prepared: &mut Prepared,
        header: &SendMessageRequestHeader,
        flag: i32,
        body: bytes::Bytes,
        props: String,
        uniq: String,
        hosts: Hosts,
    ) -> Result<(), Refusal> {
        let message = to_store(prepared, header, flag, body, props, hosts);
        let half = transaction::half_message(message, &uniq);
        check_properties_len(&half.properties)?;
        prepared.topic.clone_from(&half.topic);
        prepared.queue_id = half.queue_id;
        prepared.half = Some(
            find_property(&half.properties, property::PGROUP)
                .unwrap_or_default()
                .to_string(),
        );
        let tags_code = find_property(&half.properties, property::TAGS).map_or(0, tags_hash_code);
        prepared.push(&half, uniq, tags_code)
    }
}

impl Prepared {
    /// One record the broker makes itself (a send-back's retry or dead letter), ready for the
    /// writer exactly as a send's records are: the put path for every record, the delay rewrite
    /// included (a retry's `DELAY` schedules it in `SCHEDULE_TOPIC_XXXX`).
    pub fn single(mut message: MessageToStore, levels: &DelayLevels) -> Result<Prepared, Refusal> {
        let delivery_time = schedule(&mut message, levels, now_ms).map_err(delay_refusal)?;
        let mut prepared = Prepared {
            topic: message.topic.clone(),
            queue_id: message.queue_id,
            reply_queue_id: message.queue_id,
            records: BytesMut::new(),
            sizes: Vec::with_capacity(1),
            uniq_keys: Vec::with_capacity(1),
            tags_codes: Vec::with_capacity(1),
            created_topics: Vec::new(),
            created_group: false,
            batch: false,
            wait_slave: false,
            half: None,
        };
        let props = message.properties.as_str();
        let uniq = find_property(props, property::UNIQ_KEY).unwrap_or_default();
        let tags_code = delivery_time
            .unwrap_or_else(|| find_property(props, property::TAGS).map_or(0, tags_hash_code));
        prepared.push(&message, uniq.to_string(), tags_code)?;
        Ok(prepared)
    }

    /// Encodes `message` as the next record.
    fn push(
        &mut self,
        message: &MessageToStore,
        uniq: String,
        tags_code: i64,
    ) -> Result<(), Refusal> {
        let before = self.records.len();
        encode(message, &mut self.records)
            .map_err(|e| (response_code::MESSAGE_ILLEGAL, e.to_string()))?;
        self.sizes.push((self.records.len() - before) as u32);
        self.uniq_keys.push(uniq);
        self.tags_codes.push(tags_code);
        Ok(())
    }
}

/// What [`SendPreparer::retry_send`] did.
struct RetrySend {
    created_group: bool,
    created_topic: Option<String>,
    /// Redirected to the group's DLQ, this queue.
    dead_letter_queue: Option<i32>,
}

/// `createTopicInSendMessageBackMethod`: creates `name` (read-write, `queue_nums` queues) unless it
/// exists; true if it was created.
pub fn ensure_topic(topics: &mut TopicTable, name: &str, queue_nums: i32, sys_flag: i32) -> bool {
    if topics.get(name).is_some() {
        return false;
    }
    let mut config = TopicConfig::new(name, queue_nums);
    config.topic_sys_flag = sys_flag;
    info!(topic = %name, queues = queue_nums, "topic created");
    topics.insert(config);
    true
}

/// The topic's config, created on first use when `auto_create_topic` is on and the broker holds
/// fewer than `auto_create_topic_limit` topics.
fn topic_for_send(
    broker: &BrokerIdentity,
    topics: &mut TopicTable,
    header: &SendMessageRequestHeader,
) -> Result<(TopicConfig, bool), Refusal> {
    if let Some(t) = topics.get(&header.topic) {
        if !t.writable() {
            return Err((
                response_code::NO_PERMISSION,
                format!("the topic[{}] sending message is forbidden", header.topic),
            ));
        }
        return Ok((t.clone(), false));
    }
    let at_limit = topics.len() >= broker.auto_create_topic_limit;
    if !broker.auto_create_topic || at_limit {
        // `msgCheck`: a consumer's retry topic is still created, with one queue.
        if header.topic.starts_with(RETRY_GROUP_TOPIC_PREFIX) {
            ensure_topic(topics, &header.topic, 1, 0);
            if let Some(config) = topics.get(&header.topic) {
                return Ok((config.clone(), true));
            }
        }
        let mut remark = format!("topic[{}] not exist, apply first please!", header.topic);
        if broker.auto_create_topic {
            remark.push_str(&format!(
                " (not auto-created: the broker holds {} topics, broker.auto_create_topic_limit = {})",
                topics.len(),
                broker.auto_create_topic_limit
            ));
        }
        return Err((response_code::TOPIC_NOT_EXIST, remark));
    }
    let cap = broker.default_topic_queue_nums as i32;
    let queues = match header.default_topic_queue_nums {
        n if n > 0 => n.min(cap),
        _ => cap,
    };
    let config = TopicConfig::new(&header.topic, queues);
    topics.insert(config.clone());
    info!(topic = %header.topic, queues, "topic auto-created");
    Ok((config, true))
}

/// A `DELAY` that is not a number, answered as Java answers the `NumberFormatException`.
fn delay_refusal(e: BadDelayLevel) -> Refusal {
    (response_code::SYSTEM_ERROR, e.to_string())
}

/// Appends `key\u{1}value\u{2}`. Clients differ on the trailing separator: the Java 4.9.8 client
/// sends the last property without one (`TAGS\u{1}T0`), so one is added before appending there.
pub fn push_property(props: &mut String, key: &str, value: &str) {
    if !props.is_empty() && !props.ends_with('\u{2}') {
        props.push('\u{2}');
    }
    props.push_str(key);
    props.push('\u{1}');
    props.push_str(value);
    props.push('\u{2}');
}

/// The code and remark a failed append is answered with (`handlePutMessageResult`).
fn append_refusal(e: &AppendError) -> Refusal {
    match e {
        AppendError::CreateMappedFileFailed(why) => (
            response_code::SYSTEM_ERROR,
            format!("create mapped file failed, server is busy or broken. ({why})"),
        ),
        AppendError::WriteFailed(why) => (
            response_code::SYSTEM_ERROR,
            format!("write commit log failed; the message is not stored. ({why})"),
        ),
        AppendError::TooLarge { bytes, file_size } => (
            response_code::MESSAGE_ILLEGAL,
            format!("the batch of {bytes} bytes does not fit a {file_size}-byte commit-log file"),
        ),
        AppendError::Sealed => (
            response_code::SERVICE_NOT_AVAILABLE,
            "the broker is shutting down".into(),
        ),
        AppendError::Busy => (response_code::SYSTEM_BUSY, OVERLOAD_REMARK.into()),
        AppendError::FlushTimeout(_) => (
            response_code::FLUSH_DISK_TIMEOUT,
            "flush disk timeout; the message is stored".into(),
        ),
        AppendError::NotWritable { used_hundredths } => (
            response_code::SERVICE_NOT_AVAILABLE,
            disk_full_remark(*used_hundredths),
        ),
        AppendError::SlaveNotAvailable(_) => (
            response_code::SLAVE_NOT_AVAILABLE,
            "no slave is connected or the slave is too far behind; the message is stored on the master".into(),
        ),
        AppendError::SlaveTimeout(_) => (
            response_code::FLUSH_SLAVE_TIMEOUT,
            "wait for the slave timed out; the message is stored on the master".into(),
        ),
        AppendError::NotMaster => (response_code::SYSTEM_BUSY, REJECT_REQUEST_REMARK.into()),
    }
}

/// The answer to a send whose auto-created topic could not be persisted (the topic is not
/// created): on a full disk Java's disk-full answer (with the usage of `dir`'s file system),
/// else `SYSTEM_ERROR` naming the error.
pub fn topic_not_persisted(dir: &std::path::Path, e: &crate::store::StoreError) -> Refusal {
    if e.is_out_of_space() {
        let used = DiskUsage::measure(dir).map_or(100.0, |u| u.used_percent());
        let remark = disk_full_remark((used * 100.0) as u32);
        return (response_code::SERVICE_NOT_AVAILABLE, remark);
    }
    let remark = format!("create topic failed: the topic table could not be written ({e})");
    (response_code::SYSTEM_ERROR, remark)
}

/// Java's remark for `PutMessageStatus.SERVICE_NOT_AVAILABLE`, with its `diskUtil()` figures
/// (used ratio as a fraction; the commit log, consume queues and index share one disk here).
pub fn disk_full_remark(used_hundredths: u32) -> String {
    let ratio = f64::from(used_hundredths) / 10_000.0;
    format!(
        "service not available now. It may be caused by one of the following reasons: the \
         broker's disk is full [CL: {ratio:5.2} CQ: {ratio:5.2} INDEX: {ratio:5.2}], messages \
         are put to the slave, message store has been shut down, etc."
    )
}

/// The SEND response for an append outcome (`SendMessageProcessor.handlePutMessageResult`).
pub fn send_response(
    mut response: RemotingCommand,
    outcome: Result<Appended, AppendError>,
    store_host: SocketAddr,
    queue_id: i32,
    sizes: &[u32],
    uniq_keys: &[String],
    trace: &TraceSettings,
) -> RemotingCommand {
    let appended = match outcome {
        Ok(a) => a,
        Err(e) => {
            let (code, remark) = append_refusal(&e);
            response.code = code;
            response.remark = Some(remark);
            match e {
                // Stored, only not flushed or replicated in time: the client still gets the ids.
                AppendError::FlushTimeout(a)
                | AppendError::SlaveNotAvailable(a)
                | AppendError::SlaveTimeout(a) => a,
                _ => return response,
            }
        }
    };
    let mut offset = appended.physical_offset;
    let mut ids = String::with_capacity(sizes.len() * 33);
    for (i, size) in sizes.iter().enumerate() {
        if i > 0 {
            ids.push(',');
        }
        ids.push_str(&offset_msg_id(store_host, offset));
        offset += *size as i64;
    }
    let ext = &mut response.ext_fields;
    ext.reserve(6);
    ext.insert(send_response::MSG_ID, ids);
    ext.insert(send_response::QUEUE_ID, queue_id.to_string());
    ext.insert(
        send_response::QUEUE_OFFSET,
        appended.queue_offset.to_string(),
    );
    ext.insert(send_response::TRANSACTION_ID, uniq_keys.join(","));
    ext.insert(send_response::MSG_REGION, trace.region_id.clone());
    ext.insert(send_response::TRACE_ON, trace.trace_on.clone());
    response
}

/// `broker.region_id` and `broker.trace_on` as a send answer carries them (made once: cloning a
/// `ByteString` copies no bytes).
#[derive(Debug, Clone)]
pub struct TraceSettings {
    region_id: ByteString,
    trace_on: ByteString,
}

impl TraceSettings {
    pub fn new(broker: &BrokerIdentity) -> TraceSettings {
        TraceSettings {
            region_id: ByteString::from(broker.region_id.clone()),
            trace_on: ByteString::from_static(if broker.trace_on { "true" } else { "false" }),
        }
    }
}
