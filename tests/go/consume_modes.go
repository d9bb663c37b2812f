// Scenarios for orderly, delayed, broadcast and dead-lettered consumption (listed at the top of
// main.go).
package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/apache/rocketmq-client-go/v2"
	"github.com/apache/rocketmq-client-go/v2/admin"
	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"
	"github.com/apache/rocketmq-client-go/v2/producer"
)

// startProducer starts a producer of group; extra options (a queue selector) are appended.
func startProducer(namesrv, group string, extra ...producer.Option) rocketmq.Producer {
	opts := append([]producer.Option{
		producer.WithNsResolver(primitive.NewPassthroughResolver([]string{namesrv})),
		producer.WithGroupName(group),
		producer.WithRetry(2),
		producer.WithSendMsgTimeout(5 * time.Second),
	}, extra...)
	p, err := rocketmq.NewProducer(opts...)
	if err != nil {
		fail("new producer: %v", err)
	}
	if err := p.Start(); err != nil {
		fail("start producer: %v", err)
	}
	return p
}

// sendOK sends m synchronously and fails the scenario unless the broker stored it.
func sendOK(p rocketmq.Producer, m *primitive.Message) *primitive.SendResult {
	r, err := p.SendSync(context.Background(), m)
	if err != nil {
		fail("send %s: %v", m.GetKeys(), err)
	}
	if r.Status != primitive.SendOK {
		fail("send %s: status %v", m.GetKeys(), r.Status)
	}
	return r
}

// keyIndex is i of a key "<mode>-<i>" (-1 when it is not one of mode's).
func keyIndex(mode, k string) int {
	i, err := strconv.Atoi(strings.TrimPrefix(k, mode+"-"))
	if err != nil || !strings.HasPrefix(k, mode+"-") {
		return -1
	}
	return i
}

// Orderly messages: message i has sharding key "order-<i%orderlyShards>".
const orderlyShards = 8

func orderlyShard(i int) string { return fmt.Sprintf("order-%d", i%orderlyShards) }

func orderlyMessage(topic string, i int) *primitive.Message {
	k := key("orderly", i)
	return primitive.NewMessage(topic, body(k)).WithTag(tag(i)).WithKeys([]string{k}).
		WithShardingKey(orderlyShard(i))
}

// produceOrderly sends count messages one after the other through the hash queue selector
// (the queue chosen by the FNV hash of the sharding key, as a MessageQueueSelector would): every
// message of a sharding key must land in the same queue, each queue's offsets rising in send order.
func produceOrderly(namesrv, topic string, count int) string {
	p := startProducer(namesrv, "go_opg_"+topic, producer.WithQueueSelector(producer.NewHashQueueSelector()))
	defer func() { _ = p.Shutdown() }()
	shardQueue := map[string]int{}
	lastOffset := map[int]int64{}
	for i := 0; i < count; i++ {
		r := sendOK(p, orderlyMessage(topic, i))
		q, shard := r.MessageQueue.QueueId, orderlyShard(i)
		if prev, ok := shardQueue[shard]; ok && prev != q {
			fail("message %d of %s went to queue %d, earlier ones to %d", i, shard, q, prev)
		}
		shardQueue[shard] = q
		if last, ok := lastOffset[q]; ok && r.QueueOffset <= last {
			fail("message %d: queue %d offset %d after %d", i, q, r.QueueOffset, last)
		}
		lastOffset[q] = r.QueueOffset
	}
	return fmt.Sprintf("sent=%d shards=%d queues=%d", count, len(shardQueue), len(lastOffset))
}

// orderTally checks an orderly consumer's deliveries: each message once, one listener call at a
// time per queue, and within each queue (and each sharding key) in send order.
type orderTally struct {
	topic string
	count int

	mu         sync.Mutex
	seen       map[int]int    // message -> deliveries
	busy       map[int]bool   // queues a listener call is running for
	lastOffset map[int]int64  // queue -> last queue offset delivered
	lastIndex  map[int]int    // queue -> last message delivered
	shardLast  map[string]int // sharding key -> last message delivered
	shardQueue map[string]int // sharding key -> its queue
	deliveries int
	problems   []string
	done       chan struct{}
}

func (t *orderTally) problem(format string, args ...interface{}) {
	t.problems = append(t.problems, fmt.Sprintf(format, args...))
}

// enter marks queue q busy (a second concurrent call for it is a problem); leave frees it.
func (t *orderTally) enter(q int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.busy[q] {
		t.problem("two listener calls at once for queue %d", q)
	}
	t.busy[q] = true
}

func (t *orderTally) leave(q int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.busy[q] = false
}

func (t *orderTally) record(q int, m *primitive.MessageExt) {
	t.mu.Lock()
	defer t.mu.Unlock()
	k := m.GetKeys()
	i := keyIndex("orderly", k)
	if i < 0 || i >= t.count {
		t.problem("unexpected message key %q", k)
		return
	}
	switch {
	case m.Topic != t.topic:
		t.problem("%s: topic %q", k, m.Topic)
	case m.GetTags() != tag(i):
		t.problem("%s: tag %q, sent %q", k, m.GetTags(), tag(i))
	case string(m.Body) != string(body(k)):
		t.problem("%s: body %q", k, m.Body)
	case m.GetShardingKey() != orderlyShard(i):
		t.problem("%s: sharding key %q", k, m.GetShardingKey())
	case m.Queue == nil || m.Queue.QueueId != q:
		t.problem("%s: in the listener call for queue %d, from queue %v", k, q, m.Queue)
	}
	if last, ok := t.lastOffset[q]; ok && m.QueueOffset <= last {
		t.problem("queue %d: offset %d delivered after %d", q, m.QueueOffset, last)
	}
	t.lastOffset[q] = m.QueueOffset
	if last, ok := t.lastIndex[q]; ok && i <= last {
		t.problem("queue %d: message %d delivered after %d", q, i, last)
	}
	t.lastIndex[q] = i
	shard := orderlyShard(i)
	if last, ok := t.shardLast[shard]; ok && i <= last {
		t.problem("%s: message %d delivered after %d", shard, i, last)
	}
	t.shardLast[shard] = i
	if prev, ok := t.shardQueue[shard]; ok && prev != q {
		t.problem("%s: message %d from queue %d, earlier ones from %d", shard, i, q, prev)
	}
	t.shardQueue[shard] = q
	t.seen[i]++
	t.deliveries++
	if len(t.seen) == t.count && t.deliveries == t.count {
		close(t.done)
	}
}

// pushOrderly consumes what produce-orderly sent with an orderly push consumer
// (WithConsumerOrder: the client locks its queues with LOCK_BATCH_MQ before it pulls them and
// unlocks them with UNLOCK_BATCH_MQ at shutdown). With ACTORMQ_GO_HOLD=1 it prints "holding"
// once everything has arrived and waits for a line (or the end) on stdin before it shuts down,
// so the test can look at the broker's locks while the consumer holds them.
func pushOrderly(namesrv, topic string, count int) string {
	t := &orderTally{topic: topic, count: count, seen: map[int]int{}, busy: map[int]bool{},
		lastOffset: map[int]int64{}, lastIndex: map[int]int{}, shardLast: map[string]int{},
		shardQueue: map[string]int{}, done: make(chan struct{})}
	listener := func(ctx context.Context, msgs ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
		oc, ok := primitive.GetOrderlyCtx(ctx)
		if !ok {
			t.mu.Lock()
			t.problem("a listener call without an orderly context")
			t.mu.Unlock()
			return consumer.ConsumeSuccess, nil
		}
		q := oc.MQ.QueueId
		t.enter(q)
		defer t.leave(q)
		time.Sleep(time.Millisecond) // long enough for an overlapping call to show
		for _, m := range msgs {
			t.record(q, m)
		}
		return consumer.ConsumeSuccess, nil
	}
	start := time.Now()
	c := startPush(namesrv, "go_ord_cg_"+topic, topic, consumer.MessageSelector{Type: consumer.TAG, Expression: "*"},
		listener, consumer.WithConsumerOrder(true))
	timedOut := false
	select {
	case <-t.done:
	case <-time.After(consumeTimeout):
		timedOut = true
	}
	elapsed := time.Since(start)
	time.Sleep(settle) // anything delivered twice shows up now
	t.mu.Lock()
	problems, distinct, deliveries, queues := t.problems, len(t.seen), t.deliveries, len(t.lastOffset)
	t.mu.Unlock()
	if len(problems) > 0 {
		fail("%d bad deliveries, first: %s", len(problems), problems[0])
	}
	if timedOut || distinct != count || deliveries != count {
		fail("%d of %d messages in %d deliveries (timed out: %v)", distinct, count, deliveries, timedOut)
	}
	if os.Getenv("ACTORMQ_GO_HOLD") == "1" {
		fmt.Println("holding")
		waitForStdin(consumeTimeout)
	}
	_ = c.Shutdown()
	return fmt.Sprintf("received=%d deliveries=%d queues=%d ms=%d", distinct, deliveries, queues, elapsed.Milliseconds())
}

// waitForStdin returns at a line or the end of stdin, or after limit.
func waitForStdin(limit time.Duration) {
	got := make(chan struct{})
	go func() {
		_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
		close(got)
	}()
	select {
	case <-got:
	case <-time.After(limit):
		fail("nothing on stdin for %v", limit)
	}
}

// The delay level push-delay sends with, and its delay (RocketMQ's default messageDelayLevel
// "1s 5s 10s ...").
const (
	delayLevel = 2
	delayOfIt  = 5 * time.Second
)

// pushDelay sends count messages with WithDelayTimeLevel(2), then a push consumer reads them:
// each exactly once, as sent, and none stored in its topic (the scheduled copy's store timestamp)
// or delivered before 5 s after its send began. Reports the least and the largest gap.
func pushDelay(namesrv, topic string, count int) string {
	p := startProducer(namesrv, "go_dpg_"+topic)
	sentAt := map[string]int64{} // written before the consumer starts, read-only after
	for i := 0; i < count; i++ {
		k := key("delay", i)
		m := primitive.NewMessage(topic, body(k)).WithTag(tag(i)).WithKeys([]string{k}).WithDelayTimeLevel(delayLevel)
		sentAt[k] = time.Now().UnixMilli()
		sendOK(p, m)
	}
	_ = p.Shutdown()

	var mu sync.Mutex
	seen := map[string]int{}
	var problems []string
	minStored, maxStored, minDelivered := int64(1<<62), int64(0), int64(1<<62)
	done := make(chan struct{})
	listener := func(ctx context.Context, msgs ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
		now := time.Now().UnixMilli()
		mu.Lock()
		defer mu.Unlock()
		for _, m := range msgs {
			k := m.GetKeys()
			sent, ok := sentAt[k]
			i := keyIndex("delay", k)
			switch {
			case !ok:
				problems = append(problems, fmt.Sprintf("unexpected message key %q", k))
				continue
			case m.Topic != topic || m.GetTags() != tag(i) || string(m.Body) != string(body(k)):
				problems = append(problems, fmt.Sprintf("%s: topic %q tag %q body %q", k, m.Topic, m.GetTags(), m.Body))
			}
			stored, delivered := m.StoreTimestamp-sent, now-sent
			if stored < delayOfIt.Milliseconds() {
				problems = append(problems, fmt.Sprintf("%s: stored in %s %d ms after its send began, before its delay level %d (%v)",
					k, topic, stored, delayLevel, delayOfIt))
			}
			if delivered < delayOfIt.Milliseconds() {
				problems = append(problems, fmt.Sprintf("%s: delivered %d ms after its send began, before its delay level %d (%v)",
					k, delivered, delayLevel, delayOfIt))
			}
			minStored, maxStored = min(minStored, stored), max(maxStored, stored)
			minDelivered = min(minDelivered, delivered)
			seen[k]++
			if len(seen) == count {
				select {
				case <-done:
				default:
					close(done)
				}
			}
		}
		return consumer.ConsumeSuccess, nil
	}
	c := startPush(namesrv, "go_delay_cg_"+topic, topic, consumer.MessageSelector{Type: consumer.TAG, Expression: "*"}, listener)
	timedOut := false
	select {
	case <-done:
	case <-time.After(consumeTimeout):
		timedOut = true
	}
	time.Sleep(settle) // anything delivered twice shows up now
	_ = c.Shutdown()
	mu.Lock()
	defer mu.Unlock()
	if len(problems) > 0 {
		fail("%d bad deliveries, first: %s", len(problems), problems[0])
	}
	for k, n := range seen {
		if n != 1 {
			fail("%s delivered %d times", k, n)
		}
	}
	if len(seen) != count {
		fail("%d of %d delayed messages delivered (timed out: %v)", len(seen), count, timedOut)
	}
	return fmt.Sprintf("received=%d min_stored_ms=%d max_stored_ms=%d min_delivered_ms=%d",
		len(seen), minStored, maxStored, minDelivered)
}

// pushBroadcast is push with a broadcasting consumer (WithConsumerModel(BroadCasting): every
// consumer of the group gets every message; offsets are kept by the client, in
// $rocketmq.client.localOffsetStoreDir). Reports when it was up (Start returned) and down (before
// Shutdown), in Unix milliseconds, so the test can tell two of them ran at once.
func pushBroadcast(namesrv, topic string, count int) string {
	t := newTally(topic, count, "", 0)
	listener := func(ctx context.Context, msgs ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
		for _, m := range msgs {
			t.record(m)
		}
		return consumer.ConsumeSuccess, nil
	}
	start := time.Now()
	selector := consumer.MessageSelector{Type: consumer.TAG, Expression: subscription}
	c := startPush(namesrv, "go_bc_cg_"+topic, topic, selector, listener, consumer.WithConsumerModel(consumer.BroadCasting))
	up := time.Now()
	timedOut := t.wait()
	elapsed := time.Since(start)
	time.Sleep(settle) // anything delivered twice shows up now
	down := time.Now()
	_ = c.Shutdown()
	return t.verify(timedOut, elapsed) + fmt.Sprintf(" up_ms=%d down_ms=%d", up.UnixMilli(), down.UnixMilli())
}

// The most times push-dlq's consumer reconsumes a message (WithMaxReconsumeTimes).
const dlqMaxReconsume = 2

// pushDLQ sends count messages; a push consumer with WithMaxReconsumeTimes(2) answers
// ConsumeRetryLater (delay level 1) every time for message count/2, which must therefore be
// delivered 3 times (reconsume times 0, 1, 2) and then no more: the broker moves it to
// %DLQ%<group> (the test reads it there). Every other message exactly once.
func pushDLQ(namesrv, topic string, count int) string {
	p := startProducer(namesrv, "go_dlqpg_"+topic)
	for i := 0; i < count; i++ {
		k := key("dlq", i)
		sendOK(p, primitive.NewMessage(topic, body(k)).WithTag(tag(i)).WithKeys([]string{k}))
	}
	_ = p.Shutdown()
	failing := key("dlq", count/2)
	want := count + dlqMaxReconsume

	var mu sync.Mutex
	seen := map[string][]int32{} // key -> reconsume times of each delivery
	deliveries := 0
	var problems []string
	done := make(chan struct{})
	listener := func(ctx context.Context, msgs ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
		mu.Lock()
		defer mu.Unlock()
		result := consumer.ConsumeSuccess
		for _, m := range msgs {
			k := m.GetKeys()
			i := keyIndex("dlq", k)
			if i < 0 || i >= count || m.Topic != topic || m.GetTags() != tag(i) || string(m.Body) != string(body(k)) {
				problems = append(problems, fmt.Sprintf("unexpected delivery: key %q topic %q tag %q body %q", k, m.Topic, m.GetTags(), m.Body))
				continue
			}
			seen[k] = append(seen[k], m.ReconsumeTimes)
			deliveries++
			if deliveries == want {
				close(done)
			}
			if k == failing {
				result = consumer.ConsumeRetryLater
				if cc, ok := primitive.GetConcurrentlyCtx(ctx); ok {
					cc.DelayLevelWhenNextConsume = 1 // 1 s
				}
			}
		}
		return result, nil
	}
	group := "go_dlq_cg_" + topic
	c := startPush(namesrv, group, topic, consumer.MessageSelector{Type: consumer.TAG, Expression: "*"}, listener,
		consumer.WithConsumeMessageBatchMaxSize(1), consumer.WithMaxReconsumeTimes(dlqMaxReconsume))
	timedOut := false
	select {
	case <-done:
	case <-time.After(consumeTimeout):
		timedOut = true
	}
	// A fourth delivery would come a delay level (1 s) after the third failure, plus a pull.
	time.Sleep(3 * time.Second)
	_ = c.Shutdown()
	mu.Lock()
	defer mu.Unlock()
	if len(problems) > 0 {
		fail("%d bad deliveries, first: %s", len(problems), problems[0])
	}
	for i := 0; i < count; i++ {
		k := key("dlq", i)
		got := fmt.Sprint(seen[k])
		wantTimes := "[0]"
		if k == failing {
			wantTimes = "[0 1 2]"
		}
		if got != wantTimes {
			fail("%s delivered with reconsume times %s, want %s (timed out: %v, %d deliveries)", k, got, wantTimes, timedOut, deliveries)
		}
	}
	return fmt.Sprintf("received=%d deliveries=%d dead=%s dlq=%%DLQ%%%s", len(seen), deliveries, failing, group)
}

// pullFrom reads what produce sent (TagA/TagB) queue by queue with the PullConsumer's PullFrom,
// at offsets it keeps itself: from 0 until the queue's max offset (the pull result's), each
// message exactly once, then UpdateOffset and PersistOffset commit where it stopped
// (UPDATE_CONSUMER_OFFSET; the test reads the group's offsets back from the broker), and
// CurrentOffset must say so. v2.1.2 has no assign mode (no Assign or Seek): PullFrom needs a
// started consumer, which needs a subscription, whose own pulls fill a cache that this scenario
// polls only to learn that the rebalance has given it every queue (it acknowledges nothing, so
// they commit nothing).
func pullFrom(namesrv, topic string, count int) string {
	a, err := admin.NewAdmin(admin.WithResolver(primitive.NewPassthroughResolver([]string{namesrv})))
	if err != nil {
		fail("new admin: %v", err)
	}
	mqs, err := a.FetchPublishMessageQueues(context.Background(), topic)
	_ = a.Close()
	if err != nil || len(mqs) == 0 {
		fail("the queues of %s: %v %v", topic, mqs, err)
	}
	t := newTally(topic, count, "", 0)
	c := startPull(namesrv, "go_pf_"+topic, topic)
	start := time.Now()
	ctx := context.Background()
	ends := map[int]int64{}
	committed := int64(0)
	for _, mq := range mqs {
		offset := int64(0)
		for pulls := 0; ; pulls++ {
			if pulls > count {
				fail("queue %d: %d pulls and not at its end (offset %d)", mq.QueueId, pulls, offset)
			}
			r, err := c.PullFrom(ctx, mq, offset, 32)
			if err != nil {
				fail("pull queue %d from %d: %v", mq.QueueId, offset, err)
			}
			switch r.Status {
			case primitive.PullFound, primitive.PullNoMsgMatched:
			default:
				fail("pull queue %d from %d: status %v (max offset %d)", mq.QueueId, offset, r.Status, r.MaxOffset)
			}
			for _, m := range r.GetMessageExts() {
				t.record(m)
			}
			if r.NextBeginOffset <= offset {
				fail("pull queue %d from %d: next offset %d", mq.QueueId, offset, r.NextBeginOffset)
			}
			offset = r.NextBeginOffset
			if offset >= r.MaxOffset {
				break // a pull at the end would be parked by the broker (long polling)
			}
		}
		ends[mq.QueueId] = offset
		committed += offset
	}
	// PersistOffset sends only the offsets of queues the rebalance has given the consumer, and
	// drops the others from memory (v2.1.2's remoteBrokerOffsetStore.persist): first wait until
	// the subscription's own pulls have brought something from every queue (Poll, never ACKed).
	held := map[int]bool{}
	deadline := time.Now().Add(consumeTimeout)
	for len(held) < len(mqs) {
		if time.Now().After(deadline) {
			fail("the subscription reached %d of %d queues", len(held), len(mqs))
		}
		if cr, err := c.Poll(ctx, 200*time.Millisecond); err == nil {
			held[cr.GetMQ().QueueId] = true
		}
	}
	for _, mq := range mqs {
		if err := c.UpdateOffset(mq, ends[mq.QueueId]); err != nil {
			fail("update offset of queue %d: %v", mq.QueueId, err)
		}
	}
	if err := c.PersistOffset(ctx, topic); err != nil {
		fail("persist offsets: %v", err)
	}
	for _, mq := range mqs {
		if got, _ := c.CurrentOffset(mq); got != ends[mq.QueueId] {
			fail("queue %d: current offset %d after UpdateOffset(%d)", mq.QueueId, got, ends[mq.QueueId])
		}
	}
	// The commits are oneway, and Shutdown closes the connection right after its own: some of
	// them can be lost then (against the stock Java broker too). With ACTORMQ_GO_HOLD=1 the
	// consumer stays connected while the test reads the committed offsets from the broker.
	if os.Getenv("ACTORMQ_GO_HOLD") == "1" {
		fmt.Println("holding")
		waitForStdin(consumeTimeout)
	}
	elapsed := time.Since(start)
	_ = c.Shutdown()
	select {
	case <-t.done:
	default:
		return t.verify(true, elapsed) // fails, naming what is missing
	}
	return t.verify(false, elapsed) + fmt.Sprintf(" queues=%d committed=%d", len(mqs), committed)
}
