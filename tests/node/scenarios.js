#!/usr/bin/env node
// Scenarios for the stock Node.js client ali-ons (3.12.0, npm) against actormq, one process each,
// run by tests/node_clients.rs:
//
//   node scenarios.js <scenario> <namesrv host:port> <topic> <count> [round]
//
// Scenarios:
//
//   produce       `Producer.send` <count> messages one after another ("sync") and <count> more all
//                 at once ("async": the promises awaited together, as a Node application fires
//                 sends), tags TagA/TagB alternating, one key each, plus <count>/10 tagged TagC that
//                 the consumers below do not subscribe to. Every answer SEND_OK, every (queue,
//                 offset) handed out once. With [round], the keys start with it (`r2.sync-3`).
//                 Every tenth body is 6 KiB, which ali-ons sends zlib-compressed.
//   push          a clustering push consumer subscribed with "TagA || TagB", from the first offset:
//                 every TagA/TagB message of produce exactly once with topic, tag, key and body as
//                 sent. ali-ons drops non-matching tags itself too, so the messages the broker
//                 returns are counted as well: no TagC may come back from the broker.
//   push-resume   the consumer group of push again, after produce with round r2: exactly the r2
//                 messages, no r1 message again (push's consumer committed its offsets on close).
//   push-retry    as push, but the listener throws for one message the first time. ali-ons sends it
//                 back with CONSUMER_SEND_MSG_BACK (36), delay level 0 (the broker's choice: 3 +
//                 reconsume times, 10 s); it must come back exactly once through %RETRY%<group>,
//                 with reconsume times 1, stored no earlier than 10 s after the first delivery, and
//                 36 must have succeeded (no fallback to the client's own send to %RETRY%).
//   push-dlq      as push, with maxReconsumeTimes 1 (sent in 36's header: ali-ons' version 121 is
//                 V3_4_9, the first the broker takes it from), and the listener throws for one
//                 message every time: it is delivered twice (reconsume times 0, then 1 from
//                 %RETRY%), the second send-back puts it in %DLQ%<group>, and a consumer of that
//                 topic (another group) reads it there once, body, tag and key as sent, reconsume
//                 times 2.
//   push-sql      a push consumer with an SQL92 selector (`TAGS = 'TagA'`): exactly the TagA
//                 messages. ali-ons does no filtering of its own here. Needs enable_property_filter.
//   broadcast     two broadcasting consumers of one group (two client instances): each gets every
//                 TagA/TagB message exactly once.
//   delay         sends <count> messages with delay level 2 (5 s) and consumes them: each exactly
//                 once, in its own topic, stored no earlier than 5 s after it was born, with
//                 DELAY=2 and REAL_TOPIC still in its properties as the stock broker stores them.
//   restart-last  a push consumer with ali-ons' default start (CONSUME_FROM_LAST_OFFSET) starts on
//                 the empty topic and stops (committing its offsets: ali-ons commits -1 for a queue
//                 at offset 0), <count> messages are sent while it is down, and the group's next
//                 consumer must get every one of them exactly once: the broker answers the -1
//                 offset's QUERY_CONSUMER_OFFSET as it answers a group without one (0 while the
//                 queue's first message is in memory), not as offset -1, which ali-ons reads as
//                 "start at the end".
//   sharding      sends <count> messages with four sharding keys (ali-ons picks the queue from the
//                 key: the way it sends "orderly"): each key's messages land in one queue, and a
//                 push consumer gets each key's messages in the order they were sent.
//
// The last stdout line is machine-readable: `OK <scenario> key=value ...` (exit 0) or
// `FAIL <scenario>: why` (exit 1). ali-ons' own log goes to $ACTORMQ_NODE_LOG when set (info
// level and up), else warnings and errors go to stderr.
'use strict';

const fs = require('fs');
const util = require('util');
const { Producer, Consumer, Message } = require('ali-ons');
// Observation only (counted, passed through unchanged): what the broker returns to pulls, and how
// each CONSUMER_SEND_MSG_BACK ended. ali-ons' public API shows neither.
const MQClientAPI = require('ali-ons/lib/mq_client_api');

// How long a consumer may take to receive everything: the retry needs the broker's 10 s delay,
// then ali-ons' route poll (every 30 s) to find %RETRY%<group>.
const CONSUME_TIMEOUT_MS = 90 * 1000;
// A whole scenario, whatever it waits for.
const SCENARIO_TIMEOUT_MS = 120 * 1000;
// Deliveries after the last expected one are waited for this long, so duplicates show up.
const SETTLE_MS = 1000;
const SUBSCRIPTION = 'TagA || TagB';
const SKIP_TAG = 'TagC';

class Failure extends Error {}

function fail(msg) {
  throw new Failure(msg);
}

// ali-ons' logger interface. Its messages are printf-style.
function makeLogger() {
  const path = process.env.ACTORMQ_NODE_LOG;
  if (path) {
    const out = fs.createWriteStream(path, { flags: 'a' });
    const write = level => (...args) => out.write(`${new Date().toISOString()} ${level} ${util.format(...args)}\n`);
    return { debug() {}, info: write('INFO'), warn: write('WARN'), error: write('ERROR') };
  }
  const write = level => (...args) => process.stderr.write(`${level} ${util.format(...args)}\n`);
  return { debug() {}, info() {}, warn: write('WARN'), error: write('ERROR') };
}
const logger = makeLogger();

// Errors ali-ons reports as 'error' events. Some are expected (a new group's first
// QUERY_CONSUMER_OFFSET answers QUERY_NOT_FOUND, as Java's does), so they are logged and counted,
// not failed on; the checks are on what is delivered.
const clientErrors = [];
function onClientError(err) {
  clientErrors.push(err);
  logger.warn('[scenario] client error event: %s', err && err.stack || err);
}

// The options every client gets: the name server directly (never `onsAddr`, ali-ons' default is
// Aliyun's HTTP address service), and dummy Aliyun credentials as its README shows: with them every
// request carries AccessKey / Signature / OnsChannel header fields, which a broker without ACL
// ignores.
function clientOptions(namesrv, extra) {
  return Object.assign({
    nameSrv: namesrv,
    // Required by the constructor, used only to fetch name-server addresses from onsAddr.
    httpclient: { request() { throw new Error('httpclient used: onsAddr should not be'); } },
    accessKeyId: 'actormq-test-ak',
    accessKeySecret: 'actormq-test-sk',
    logger,
  }, extra);
}

const brokerTags = new Map(); // topic -> tag -> messages the broker returned to pulls
const sendBacks = { ok: 0, failed: 0 };
{
  const pull = MQClientAPI.prototype.pullMessage;
  MQClientAPI.prototype.pullMessage = async function(...args) {
    const result = await pull.apply(this, args);
    for (const m of result.msgFoundList) {
      const byTag = brokerTags.get(m.topic) || new Map();
      brokerTags.set(m.topic, byTag);
      byTag.set(m.tags, (byTag.get(m.tags) || 0) + 1);
    }
    return result;
  };
  const sendBack = MQClientAPI.prototype.consumerSendMessageBack;
  MQClientAPI.prototype.consumerSendMessageBack = async function(...args) {
    try {
      const r = await sendBack.apply(this, args);
      sendBacks.ok++;
      return r;
    } catch (err) {
      sendBacks.failed++;
      throw err;
    }
  };
}

const sleep = ms => new Promise(resolve => setTimeout(resolve, ms));
const tag = i => (i % 2 === 0 ? 'TagA' : 'TagB');
const modes = round => (round ? [ `${round}.sync`, `${round}.async` ] : [ 'sync', 'async' ]);
const key = (mode, i) => `${mode}-${i}`;
// Every tenth message (numbers ending in 7) has a 6 KiB body: ali-ons zlib-compresses bodies of
// 4 KiB and more and flags them in sysFlag, which the broker must keep for the consumer to inflate.
const LARGE_BODY = Array.from({ length: 6 * 1024 }, (_, i) => String.fromCharCode(97 + (i * 7919) % 26)).join('');
const body = k => (/7$/.test(k) ? `node ${k} ${LARGE_BODY}` : `node ${k}`);

function message(topic, t, k) {
  const m = new Message(topic, t, body(k));
  m.keys = [ k ];
  return m;
}

async function startProducer(namesrv, group) {
  const p = new Producer(clientOptions(namesrv, { producerGroup: group }));
  p.on('error', onClientError);
  await p.ready();
  return p;
}

// Checks send answers: SEND_OK, a msgId, each (queue, offset) once.
class SendChecker {
  constructor() { this.offsets = new Set(); }
  check(what, r) {
    if (r.sendStatus !== 'SEND_OK') fail(`${what}: status ${r.sendStatus}`);
    if (!r.msgId) fail(`${what}: no msgId`);
    const at = `${r.messageQueue.queueId}/${r.queueOffset}`;
    if (this.offsets.has(at)) fail(`${what}: queue offset ${at} handed out twice`);
    this.offsets.add(at);
  }
}

async function produce(namesrv, topic, count, round) {
  const p = await startProducer(namesrv, `node_pg_${topic}`);
  const checker = new SendChecker();
  const [ syncMode, asyncMode ] = modes(round);
  for (let i = 0; i < count; i++) {
    const k = key(syncMode, i);
    checker.check(k, await p.send(message(topic, tag(i), k)));
  }
  for (let i = 0; i < Math.floor(count / 10); i++) {
    const k = key(`${round || ''}skip`, i);
    checker.check(k, await p.send(message(topic, SKIP_TAG, k)));
  }
  const sent = [];
  for (let i = 0; i < count; i++) {
    const k = key(asyncMode, i);
    sent.push(p.send(message(topic, tag(i), k)).then(r => checker.check(k, r)));
  }
  await Promise.all(sent);
  await p.close();
  return `sent=${2 * count} skipped=${Math.floor(count / 10)}`;
}

// Checks and counts what consumers receive: every expected message once (retryKey twice).
class Tally {
  constructor(topic, expected, retryKey) {
    this.topic = topic;
    this.expected = expected; // key -> tag
    this.retryKey = retryKey;
    this.want = expected.size + (retryKey ? 1 : 0);
    this.seen = new Map(); // key -> [{ reconsumeTimes, at, stored, born, properties }], one per delivery
    this.deliveries = 0;
    this.problems = [];
    this.done = new Promise(resolve => { this.resolveDone = resolve; });
  }

  static ofProduce(topic, count, round, onlyTag) {
    const expected = new Map();
    for (const mode of modes(round)) {
      for (let i = 0; i < count; i++) {
        if (!onlyTag || tag(i) === onlyTag) expected.set(key(mode, i), tag(i));
      }
    }
    return expected;
  }

  // Records one delivery; true when it is retryKey's first (to be failed).
  record(msg) {
    const k = msg.keys;
    const wantTag = this.expected.get(k);
    if (wantTag === undefined) {
      this.problems.push(`unexpected message key ${JSON.stringify(k)} tag ${JSON.stringify(msg.tags)} topic ${msg.topic}`);
      return false;
    }
    if (msg.topic !== this.topic) this.problems.push(`${k}: topic ${JSON.stringify(msg.topic)}`);
    else if (msg.tags !== wantTag) this.problems.push(`${k}: tag ${JSON.stringify(msg.tags)}, sent ${wantTag}`);
    else if (!msg.body || msg.body.toString() !== body(k)) this.problems.push(`${k}: body ${JSON.stringify(msg.body && msg.body.toString())}`);
    const list = this.seen.get(k) || [];
    this.seen.set(k, list);
    list.push({ reconsumeTimes: msg.reconsumeTimes, at: Date.now(), stored: msg.storeTimestamp, born: msg.bornTimestamp, properties: msg.properties });
    this.deliveries++;
    if (this.deliveries === this.want) this.resolveDone();
    return k === this.retryKey && list.length === 1;
  }

  // Resolves true when it timed out.
  wait() {
    return Promise.race([ this.done.then(() => false), sleep(CONSUME_TIMEOUT_MS).then(() => true) ]);
  }

  // Fails unless every expected message came once (retryKey twice, the second time with
  // reconsume times 1, stored minGapMs or more after the first delivery); returns the OK fields.
  verify(timedOut, elapsed, minGapMs) {
    if (this.problems.length) fail(`${this.problems.length} bad deliveries, first: ${this.problems[0]}`);
    const missing = [];
    const wrong = [];
    for (const k of this.expected.keys()) {
      const n = (this.seen.get(k) || []).length;
      const wantN = k === this.retryKey ? 2 : 1;
      if (n === 0) missing.push(k);
      else if (n !== wantN) wrong.push(`${k} x${n}`);
    }
    if (missing.length) {
      fail(`${missing.length} of ${this.expected.size} messages never delivered (timed out: ${timedOut}), e.g. ${missing.slice(0, 5)}; ${this.deliveries} deliveries`);
    }
    if (wrong.length) fail(`wrong delivery counts (want 1, or 2 for ${this.retryKey}): ${wrong.slice(0, 5)}`);
    let result = `received=${this.seen.size} deliveries=${this.deliveries} ms=${elapsed}`;
    if (this.retryKey) {
      const [ first, again ] = this.seen.get(this.retryKey);
      if (first.reconsumeTimes !== 0 || again.reconsumeTimes !== 1) {
        fail(`${this.retryKey}: reconsume times ${first.reconsumeTimes} then ${again.reconsumeTimes}, want 0 then 1`);
      }
      const gap = again.stored - first.at;
      if (gap < minGapMs) fail(`${this.retryKey}: retry copy stored ${gap} ms after the first delivery, before its delay (${minGapMs} ms)`);
      result += ` retried=${this.retryKey} gap_ms=${gap}`;
    }
    return result;
  }
}

// A push consumer of group on topic; `listener` gets each message (ali-ons hands them over one at
// a time by default).
async function startConsumer(namesrv, group, topic, expression, listener, extra) {
  const c = new Consumer(clientOptions(namesrv, Object.assign({
    consumerGroup: group,
    consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET',
  }, extra)));
  c.on('error', onClientError);
  c.subscribe(topic, expression, async msg => listener(msg));
  await c.ready();
  return c;
}

// Fails if the broker returned any message of topic tagged with a tag not in `allowed`.
function checkBrokerFiltered(topic, allowed) {
  const byTag = brokerTags.get(topic) || new Map();
  for (const [ t, n ] of byTag) {
    if (!allowed.includes(t)) fail(`the broker returned ${n} message(s) tagged ${t} for a subscription of ${allowed.join(' || ')}`);
  }
}

// push, push-resume, push-retry, push-sql.
async function push(namesrv, topic, count, { group, round, retryKey, expression, onlyTag }) {
  const t = new Tally(topic, Tally.ofProduce(topic, count, round, onlyTag), retryKey);
  const start = Date.now();
  const c = await startConsumer(namesrv, group, topic, expression, msg => {
    if (t.record(msg)) throw new Error(`failing ${msg.keys} once, on purpose`);
  });
  const timedOut = await t.wait();
  const elapsed = Date.now() - start;
  await sleep(SETTLE_MS);
  await c.close();
  const result = t.verify(timedOut, elapsed, retryKey ? 9500 : 0);
  checkBrokerFiltered(topic, onlyTag ? [ onlyTag ] : [ 'TagA', 'TagB' ]);
  if (retryKey && (sendBacks.ok !== 1 || sendBacks.failed !== 0)) {
    fail(`CONSUMER_SEND_MSG_BACK: ${sendBacks.ok} succeeded, ${sendBacks.failed} failed (ali-ons then sends to %RETRY% itself); want 1 and 0`);
  }
  return `${result} send_back_ok=${sendBacks.ok}`;
}

// push-dlq: see the list at the top.
async function pushDlq(namesrv, topic, count) {
  const group = `node_xg_${topic}`;
  const failKey = key('sync', Math.floor(count / 2));
  const t = new Tally(topic, Tally.ofProduce(topic, count), failKey);
  const start = Date.now();
  const c = await startConsumer(namesrv, group, topic, SUBSCRIPTION, msg => {
    t.record(msg);
    if (msg.keys === failKey) throw new Error(`failing ${failKey}, every time, on purpose`);
  }, { maxReconsumeTimes: 1 });
  const timedOut = await t.wait();
  const elapsed = Date.now() - start;
  // The second send-back is done when ali-ons has counted it.
  const deadline = Date.now() + 10000;
  while (sendBacks.ok + sendBacks.failed < 2 && Date.now() < deadline) await sleep(50);
  const result = t.verify(timedOut, elapsed, 9500);
  if (sendBacks.ok !== 2 || sendBacks.failed !== 0) {
    fail(`CONSUMER_SEND_MSG_BACK: ${sendBacks.ok} succeeded, ${sendBacks.failed} failed; want 2 and 0`);
  }

  const dlqTopic = `%DLQ%${group}`;
  const dead = [];
  const reader = await startConsumer(namesrv, `node_dlqr_${topic}`, dlqTopic, '*', msg => { dead.push(msg); },
    { instanceName: 'dlq-reader' });
  const readDeadline = Date.now() + CONSUME_TIMEOUT_MS;
  while (!dead.length && Date.now() < readDeadline) await sleep(100);
  await sleep(SETTLE_MS);
  await reader.close();
  await c.close();
  if (dead.length !== 1) fail(`${dead.length} messages in ${dlqTopic}, want 1 (${failKey})`);
  const [ d ] = dead;
  if (d.keys !== failKey || d.tags !== tag(Math.floor(count / 2)) || d.body.toString() !== body(failKey)) {
    fail(`${dlqTopic} holds key ${d.keys} tag ${d.tags}, want ${failKey} as sent`);
  }
  if (d.reconsumeTimes !== 2) fail(`${dlqTopic}: reconsume times ${d.reconsumeTimes}, want 2`);
  // Seen once more after the DLQ was read would mean the broker retried it instead.
  if (t.seen.get(failKey).length !== 2) fail(`${failKey} delivered ${t.seen.get(failKey).length} times`);
  return `${result} dead=${dead.length} send_back_ok=${sendBacks.ok}`;
}

// Two broadcasting consumers of one group, each a client instance of its own.
async function broadcast(namesrv, topic, count) {
  const expected = Tally.ofProduce(topic, count);
  const start = Date.now();
  const tallies = [];
  const consumers = [];
  for (const instance of [ 'b1', 'b2' ]) {
    const t = new Tally(topic, expected);
    tallies.push(t);
    consumers.push(await startConsumer(namesrv, `node_bg_${topic}`, topic, SUBSCRIPTION,
      msg => { t.record(msg); }, { isBroadcast: true, instanceName: instance }));
  }
  const timedOut = await Promise.all(tallies.map(t => t.wait()));
  const elapsed = Date.now() - start;
  await sleep(SETTLE_MS);
  for (const c of consumers) await c.close();
  const results = tallies.map((t, i) => t.verify(timedOut[i], elapsed, 0));
  checkBrokerFiltered(topic, [ 'TagA', 'TagB' ]);
  return `consumers=2 ${results[0]}`;
}

const DELAY_LEVEL = 2; // 5 s in RocketMQ's default messageDelayLevel
const DELAY_MS = 5000;

async function delay(namesrv, topic, count) {
  const p = await startProducer(namesrv, `node_dpg_${topic}`);
  const checker = new SendChecker();
  const expected = new Map();
  for (let i = 0; i < count; i++) {
    const k = key('delay', i);
    const m = message(topic, tag(i), k);
    m.delayTimeLevel = DELAY_LEVEL;
    expected.set(k, tag(i));
    checker.check(k, await p.send(m));
  }
  await p.close();
  const t = new Tally(topic, expected);
  const start = Date.now();
  const c = await startConsumer(namesrv, `node_dg_${topic}`, topic, SUBSCRIPTION, msg => { t.record(msg); });
  const timedOut = await t.wait();
  const elapsed = Date.now() - start;
  await sleep(SETTLE_MS);
  await c.close();
  const result = t.verify(timedOut, elapsed, 0);
  let minWait = Infinity;
  for (const [ k, [ d ] ] of t.seen) {
    // Born is the producer's clock, stored the broker's: the same machine here.
    const waited = d.stored - d.born;
    // A little slack for the two clocks' millisecond readings.
    if (waited < DELAY_MS - 100) fail(`${k}: stored ${waited} ms after it was born, before its delay level ${DELAY_LEVEL} (${DELAY_MS} ms)`);
    // The stock 5.3.3 broker's delivered copy keeps DELAY (its messageTimeUp clears it only after
    // building the stored property string) and names the real topic.
    if (d.properties.DELAY !== String(DELAY_LEVEL)) fail(`${k}: delivered with DELAY=${d.properties.DELAY}, the stock broker keeps ${DELAY_LEVEL}`);
    if (d.properties.REAL_TOPIC !== topic) fail(`${k}: delivered with REAL_TOPIC=${d.properties.REAL_TOPIC}`);
    minWait = Math.min(minWait, waited);
  }
  return `${result} min_wait_ms=${minWait}`;
}

// The topic's queues the consumer has taken up (ali-ons keeps both tables to itself).
function heldQueues(c, topic) {
  const all = (c._topicSubscribeInfoTable.get(topic) || []).length;
  const held = Array.from(c.processQueueTable.values()).filter(e => e.messageQueue.topic === topic).length;
  return { all, held };
}

async function restartLast(namesrv, topic, count) {
  const group = `node_lg_${topic}`;
  // ali-ons' default consumeFromWhere, as an application leaves it.
  const extra = { consumeFromWhere: 'CONSUME_FROM_LAST_OFFSET' };
  const early = [];
  const first = await startConsumer(namesrv, group, topic, SUBSCRIPTION, msg => { early.push(msg.keys); }, extra);
  const deadline = Date.now() + 30000;
  for (let q = heldQueues(first, topic); !q.all || q.held < q.all; q = heldQueues(first, topic)) {
    if (Date.now() > deadline) fail(`the first consumer holds ${q.held} of ${q.all} queues after 30 s`);
    await sleep(100);
  }
  await first.close();
  if (early.length) fail(`the first consumer got ${early}, the topic was empty`);

  const p = await startProducer(namesrv, `node_lpg_${topic}`);
  const checker = new SendChecker();
  const expected = new Map();
  for (let i = 0; i < count; i++) {
    const k = key('down', i);
    expected.set(k, tag(i));
    checker.check(k, await p.send(message(topic, tag(i), k)));
  }
  await p.close();

  const t = new Tally(topic, expected);
  const start = Date.now();
  const again = await startConsumer(namesrv, group, topic, SUBSCRIPTION, msg => { t.record(msg); }, extra);
  const timedOut = await t.wait();
  const elapsed = Date.now() - start;
  await sleep(SETTLE_MS);
  await again.close();
  return t.verify(timedOut, elapsed, 0);
}

const SHARDS = 4;

async function sharding(namesrv, topic, count) {
  const p = await startProducer(namesrv, `node_spg_${topic}`);
  const queueOf = new Map(); // sharding key -> queue id
  const lastOffset = new Map();
  for (let i = 0; i < count; i++) {
    const shard = `order-${i % SHARDS}`;
    const m = message(topic, 'TagA', key(shard, i));
    m.shardingKey = shard;
    const r = await p.send(m);
    if (r.sendStatus !== 'SEND_OK') fail(`${key(shard, i)}: status ${r.sendStatus}`);
    const q = String(r.messageQueue.queueId);
    if (!queueOf.has(shard)) queueOf.set(shard, q);
    if (queueOf.get(shard) !== q) fail(`${shard}: sent to queue ${q}, earlier ones to ${queueOf.get(shard)}`);
    if (lastOffset.has(shard) && r.queueOffset <= lastOffset.get(shard)) fail(`${shard}: offset ${r.queueOffset} after ${lastOffset.get(shard)}`);
    lastOffset.set(shard, r.queueOffset);
  }
  await p.close();
  const expected = new Map();
  for (let i = 0; i < count; i++) expected.set(key(`order-${i % SHARDS}`, i), 'TagA');
  const t = new Tally(topic, expected);
  const order = new Map(); // sharding key -> message numbers in delivery order
  const start = Date.now();
  const c = await startConsumer(namesrv, `node_sg_${topic}`, topic, '*', msg => {
    t.record(msg);
    const [ shard, i ] = msg.keys.split(/-(?=\d+$)/);
    (order.get(shard) || order.set(shard, []).get(shard)).push(Number(i));
  });
  const timedOut = await t.wait();
  const elapsed = Date.now() - start;
  await sleep(SETTLE_MS);
  await c.close();
  const result = t.verify(timedOut, elapsed, 0);
  for (const [ shard, seq ] of order) {
    for (let j = 1; j < seq.length; j++) {
      if (seq[j] <= seq[j - 1]) fail(`${shard}: message ${seq[j]} delivered after ${seq[j - 1]}`);
    }
  }
  return `${result} queues=${new Set(queueOf.values()).size}`;
}

async function run(scenario, namesrv, topic, count, round) {
  const group = `node_cg_${topic}`;
  switch (scenario) {
    case 'produce': return produce(namesrv, topic, count, round);
    case 'push': return push(namesrv, topic, count, { group, expression: SUBSCRIPTION });
    case 'push-resume': return push(namesrv, topic, count, { group, round: 'r2', expression: SUBSCRIPTION });
    case 'push-retry':
      return push(namesrv, topic, count, { group, expression: SUBSCRIPTION, retryKey: key('sync', Math.floor(count / 2)) });
    case 'push-sql':
      return push(namesrv, topic, count, {
        group: `node_sql_${topic}`, onlyTag: 'TagA',
        expression: { expressionType: 'SQL92', subString: "TAGS = 'TagA'" },
      });
    case 'push-dlq': return pushDlq(namesrv, topic, count);
    case 'broadcast': return broadcast(namesrv, topic, count);
    case 'delay': return delay(namesrv, topic, count);
    case 'sharding': return sharding(namesrv, topic, count);
    case 'restart-last': return restartLast(namesrv, topic, count);
    default: fail('unknown scenario');
  }
}

function main() {
  const [ scenario, namesrv, topic, countArg, round ] = process.argv.slice(2);
  const count = Number(countArg);
  if (!topic || !Number.isInteger(count) || count < 1) {
    process.stderr.write('usage: node scenarios.js produce|push|push-resume|push-retry|push-dlq|push-sql|broadcast|delay|restart-last|sharding <namesrv> <topic> <count> [round]\n');
    process.exit(2);
  }
  // ali-ons keeps timers and sockets alive after close: the process ends here, not by itself.
  const finish = (line, code) => {
    process.stdout.write(`${line}\n`, () => process.exit(code));
  };
  const timer = setTimeout(() => finish(`FAIL ${scenario}: still running after ${SCENARIO_TIMEOUT_MS} ms`, 1), SCENARIO_TIMEOUT_MS);
  run(scenario, namesrv, topic, count, round).then(
    result => {
      clearTimeout(timer);
      finish(`OK ${scenario} ${result} client_errors=${clientErrors.length}`, 0);
    },
    err => {
      clearTimeout(timer);
      finish(`FAIL ${scenario}: ${err instanceof Failure ? err.message : err && err.stack || err}`, 1);
    });
}

main();
