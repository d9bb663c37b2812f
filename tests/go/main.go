// Scenarios for the stock Go client (github.com/apache/rocketmq-client-go/v2) against actormq, one
// process each, run by tests/go_clients.rs:
//
//	actormq-go-clients <scenario> <namesrv host:port> <topic> <count>
//
// Scenarios:
//
//	produce     sync-sends <count> messages, async-sends <count>, sends <count> oneway and <count>
//	            in batches of 10 (tags TagA/TagB, one key each), plus <count>/10 sync sends tagged
//	            TagC that the consumers below filter out.
//	push        a clustering push consumer subscribed with "TagA || TagB" consumes what produce
//	            sent: every message exactly once, body, tag and topic as sent, no TagC.
//	push-retry  as push, but the listener returns ConsumeRetryLater (delay level 1) for one
//	            chosen message the first time: it must come back exactly once more with
//	            ReconsumeTimes 1, everything else exactly once. Needs CONSUMER_SEND_MSG_BACK (36)
//	            and the %RETRY% topic.
//	push-retry-delayed  as push-retry, and the retry copy must not be stored (in %RETRY%, from
//	            the delay schedule) before its delay level 1 (1 s) has passed. Needs delay levels too.
//	pull-subscribe  as push, with the PullConsumer in subscribe mode (Poll, then ACK).
//	push-sql    a push consumer with the SQL92 selector "TAGS = 'TagA'" (the broker needs
//	            enable_property_filter) gets exactly the TagA messages produce sent, each once.
//	pull-from   the PullConsumer's PullFrom at offsets the scenario keeps (v2.1.2 has no assign
//	            mode): every queue from 0 to its end, every TagA/TagB message exactly once; then
//	            UpdateOffset and PersistOffset commit each queue's end (the test reads them back
//	            while the consumer holds on, with ACTORMQ_GO_HOLD=1 as in push-orderly).
//	transaction  a TransactionProducer sends <count> messages: message i's local transaction
//	            commits (i%3 == 0), rolls back (1) or stays unknown (2) until the broker's check
//	            (CHECK_TRANSACTION_STATE) asks, which commits it. A push consumer must then get
//	            exactly the committed ones (0 and 2), each once, and every unknown one was checked.
//	produce-orderly  sync-sends <count> messages through the hash queue selector
//	            (WithQueueSelector(NewHashQueueSelector()), sharding keys order-0..order-7): each
//	            sharding key's messages in one queue, each queue's offsets rising in send order.
//	push-orderly  an orderly push consumer (WithConsumerOrder(true): it locks its queues with
//	            LOCK_BATCH_MQ before pulling them, unlocks them with UNLOCK_BATCH_MQ at shutdown)
//	            reads what produce-orderly sent: each message once, one listener call at a time
//	            per queue, each queue and each sharding key in send order. With ACTORMQ_GO_HOLD=1
//	            it prints "holding" when done and waits for a line (or the end) on stdin before
//	            shutting down, while the test looks at the broker's locks.
//	push-delay  sends <count> messages with WithDelayTimeLevel(2) (5 s), then a push consumer
//	            reads them: each once, as sent, and none stored in its topic (the copy's store
//	            timestamp) or delivered before 5 s after its send began.
//	push-broadcast  as push, with a broadcasting consumer (WithConsumerModel(BroadCasting)); it
//	            also reports when it was up and down, so the test can run two at once and check
//	            that they overlapped. Offsets go to $rocketmq.client.localOffsetStoreDir.
//	push-dlq    sends <count> messages; a push consumer with WithMaxReconsumeTimes(2) answers
//	            ConsumeRetryLater every time for message <count>/2: it must come 3 times
//	            (reconsume times 0, 1, 2) and no more, then lie in %DLQ%<group> (the test reads it
//	            there); everything else once.
//
// The last stdout line is machine-readable: `OK <scenario> key=value ...` (exit 0) or
// `FAIL <scenario>: why` (exit 1). The client's own log goes to $ACTORMQ_GO_LOG when set (at info
// level), else to stderr at warn level.
package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/apache/rocketmq-client-go/v2"
	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"
	"github.com/apache/rocketmq-client-go/v2/producer"
	"github.com/apache/rocketmq-client-go/v2/rlog"
)

// How long a consumer may take to receive everything.
const consumeTimeout = 90 * time.Second

// Deliveries after the last expected one are waited for this long, so duplicates show up.
const settle = time.Second

// The tag expression the consumers subscribe with; produce also sends skipTag messages.
const (
	subscription = "TagA || TagB"
	skipTag      = "TagC"
	batchSize    = 10
)

var modes = []string{"sync", "async", "oneway", "batch"}

type failure struct{ msg string }

// fail ends the scenario with a FAIL line (recovered in main).
func fail(format string, args ...interface{}) {
	panic(failure{fmt.Sprintf(format, args...)})
}

func main() {
	if len(os.Args) != 5 {
		fmt.Fprintln(os.Stderr, "usage: actormq-go-clients <scenario> <namesrv> <topic> <count> (scenarios: see the top of main.go)")
		os.Exit(2)
	}
	scenario, namesrv, topic := os.Args[1], os.Args[2], os.Args[3]
	count, err := strconv.Atoi(os.Args[4])
	if err != nil || count < 1 {
		fmt.Fprintf(os.Stderr, "count %q: want a positive number\n", os.Args[4])
		os.Exit(2)
	}
	if path := os.Getenv("ACTORMQ_GO_LOG"); path != "" {
		_ = rlog.SetOutputPath(path)
		rlog.SetLogLevel("info")
	} else {
		rlog.SetLogLevel("warn")
	}
	defer func() {
		if r := recover(); r != nil {
			f, ok := r.(failure)
			if !ok {
				panic(r)
			}
			fmt.Printf("FAIL %s: %s\n", scenario, f.msg)
			os.Exit(1)
		}
	}()
	var result string
	switch scenario {
	case "produce":
		result = produce(namesrv, topic, count)
	case "push":
		result = push(namesrv, topic, count, "", 0)
	case "push-retry":
		result = push(namesrv, topic, count, key("sync", count/2), 0)
	case "push-retry-delayed":
		// Delay level 1 is 1 s; allow for the two clock readings.
		result = push(namesrv, topic, count, key("sync", count/2), 900*time.Millisecond)
	case "pull-subscribe":
		result = pullSubscribe(namesrv, topic, count)
	case "push-sql":
		result = pushSQL(namesrv, topic, count)
	case "transaction":
		result = transaction(namesrv, topic, count)
	case "produce-orderly":
		result = produceOrderly(namesrv, topic, count)
	case "push-orderly":
		result = pushOrderly(namesrv, topic, count)
	case "push-delay":
		result = pushDelay(namesrv, topic, count)
	case "push-broadcast":
		result = pushBroadcast(namesrv, topic, count)
	case "push-dlq":
		result = pushDLQ(namesrv, topic, count)
	case "pull-from":
		result = pullFrom(namesrv, topic, count)
	default:
		fail("unknown scenario")
	}
	fmt.Printf("OK %s %s\n", scenario, result)
}

func key(mode string, i int) string { return fmt.Sprintf("%s-%d", mode, i) }

func body(key string) []byte { return []byte("go " + key) }

func tag(i int) string {
	if i%2 == 0 {
		return "TagA"
	}
	return "TagB"
}

func message(topic, mode string, i int) *primitive.Message {
	k := key(mode, i)
	return primitive.NewMessage(topic, body(k)).WithTag(tag(i)).WithKeys([]string{k})
}

// produce sends with all four send modes and returns the counts.
func produce(namesrv, topic string, count int) string {
	p, err := rocketmq.NewProducer(
		producer.WithNsResolver(primitive.NewPassthroughResolver([]string{namesrv})),
		producer.WithGroupName("go_pg_"+topic),
		producer.WithRetry(2),
		producer.WithSendMsgTimeout(5*time.Second),
	)
	if err != nil {
		fail("new producer: %v", err)
	}
	if err := p.Start(); err != nil {
		fail("start producer: %v", err)
	}
	defer func() { _ = p.Shutdown() }()
	ctx := context.Background()
	offsets := map[string]bool{} // "queue/offset": each handed out once
	checkResult := func(what string, r *primitive.SendResult, err error, n int) {
		if err != nil {
			fail("%s: %v", what, err)
		}
		if r.Status != primitive.SendOK {
			fail("%s: status %v", what, r.Status)
		}
		// The broker's offset msgIds, comma-separated for a batch (the client's own MsgID is
		// empty for a batch in v2.1.2).
		if ids := strings.Split(r.OffsetMsgID, ","); len(ids) != n || ids[0] == "" {
			fail("%s: %d offset msgIds for %d messages (%q)", what, len(ids), n, r.OffsetMsgID)
		}
		for j := 0; j < n; j++ {
			at := fmt.Sprintf("%d/%d", r.MessageQueue.QueueId, r.QueueOffset+int64(j))
			if offsets[at] {
				fail("%s: queue offset %s handed out twice", what, at)
			}
			offsets[at] = true
		}
	}

	for i := 0; i < count; i++ {
		r, err := p.SendSync(ctx, message(topic, "sync", i))
		checkResult(key("sync", i), r, err, 1)
	}
	for i := 0; i < count/10; i++ {
		m := primitive.NewMessage(topic, body(key("skip", i))).WithTag(skipTag).WithKeys([]string{key("skip", i)})
		r, err := p.SendSync(ctx, m)
		checkResult(key("skip", i), r, err, 1)
	}

	var wg sync.WaitGroup
	var mu sync.Mutex
	asyncErrs := []string{}
	for i := 0; i < count; i++ {
		wg.Add(1)
		k := key("async", i)
		err := p.SendAsync(ctx, func(_ context.Context, r *primitive.SendResult, err error) {
			defer wg.Done()
			mu.Lock()
			defer mu.Unlock()
			if err != nil || r.Status != primitive.SendOK {
				asyncErrs = append(asyncErrs, fmt.Sprintf("%s: %v %v", k, err, r))
			}
		}, message(topic, "async", i))
		if err != nil {
			fail("%s: %v", k, err)
		}
	}
	waited := make(chan struct{})
	go func() { wg.Wait(); close(waited) }()
	select {
	case <-waited:
	case <-time.After(60 * time.Second):
		fail("async send callbacks missing after 60 s")
	}
	if len(asyncErrs) > 0 {
		fail("async sends failed: %v", asyncErrs)
	}

	for i := 0; i < count; i++ {
		if err := p.SendOneWay(ctx, message(topic, "oneway", i)); err != nil {
			fail("%s: %v", key("oneway", i), err)
		}
	}

	batches := 0
	for start := 0; start < count; start += batchSize {
		var batch []*primitive.Message
		for i := start; i < start+batchSize && i < count; i++ {
			batch = append(batch, message(topic, "batch", i))
		}
		r, err := p.SendSync(ctx, batch...)
		checkResult(fmt.Sprintf("batch from %d", start), r, err, len(batch))
		batches++
	}
	return fmt.Sprintf("sent=%d skipped=%d batches=%d", len(modes)*count, count/10, batches)
}

// One delivery as the consumer saw it.
type delivery struct {
	reconsumeTimes int32
	at             time.Time // when the listener saw it
	stored         time.Time // the broker's store timestamp of this copy
}

// tally checks and counts what a consumer receives: every TagA/TagB message produce sent to
// topic, once (retryKey twice).
type tally struct {
	topic    string
	retryKey string
	minGap   time.Duration     // the least time from retryKey's first delivery to its retry copy being stored
	expected map[string]string // key -> tag
	want     int               // deliveries expected in all

	mu         sync.Mutex
	seen       map[string][]delivery
	deliveries int
	problems   []string
	done       chan struct{} // closed at the want-th delivery
}

func newTally(topic string, count int, retryKey string, minGap time.Duration) *tally {
	return newTallyOf(topic, count, retryKey, minGap, "")
}

// newTallyOf expects only the messages tagged onlyTag (every TagA/TagB one when empty).
func newTallyOf(topic string, count int, retryKey string, minGap time.Duration, onlyTag string) *tally {
	t := &tally{topic: topic, retryKey: retryKey, minGap: minGap, expected: map[string]string{},
		seen: map[string][]delivery{}, done: make(chan struct{})}
	for _, mode := range modes {
		for i := 0; i < count; i++ {
			if onlyTag == "" || tag(i) == onlyTag {
				t.expected[key(mode, i)] = tag(i)
			}
		}
	}
	t.want = len(t.expected)
	if retryKey != "" {
		t.want++
	}
	return t
}

// record checks one delivery; true when it is the first delivery of retryKey (to be retried).
func (t *tally) record(m *primitive.MessageExt) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	k := m.GetKeys()
	wantTag, ok := t.expected[k]
	switch {
	case !ok:
		t.problems = append(t.problems, fmt.Sprintf("unexpected message key %q tag %q", k, m.GetTags()))
		return false
	case m.Topic != t.topic:
		t.problems = append(t.problems, fmt.Sprintf("%s: topic %q", k, m.Topic))
	case m.GetTags() != wantTag:
		t.problems = append(t.problems, fmt.Sprintf("%s: tag %q, sent %q", k, m.GetTags(), wantTag))
	case string(m.Body) != string(body(k)):
		t.problems = append(t.problems, fmt.Sprintf("%s: body %q", k, m.Body))
	}
	t.seen[k] = append(t.seen[k], delivery{m.ReconsumeTimes, time.Now(), time.UnixMilli(m.StoreTimestamp)})
	t.deliveries++
	if t.deliveries == t.want {
		close(t.done)
	}
	return k == t.retryKey && len(t.seen[k]) == 1
}

// wait returns when everything expected has arrived or consumeTimeout passed, whether it timed out.
func (t *tally) wait() bool {
	select {
	case <-t.done:
		return false
	case <-time.After(consumeTimeout):
		return true
	}
}

// verify fails unless every expected message arrived once (retryKey twice, the second time with
// reconsume times 1, stored at least minGap after the first delivery); returns the result fields.
//
// The gap is measured to the retry copy's store timestamp (broker and client share a clock here),
// not to its delivery: a broker that delays a sent-back message stores the copy in %RETRY% when it
// is due, while the delivery also waits for the client to route and rebalance %RETRY% (up to 30 s
// in v2.1.2), which would hide a missing delay.
func (t *tally) verify(timedOut bool, elapsed time.Duration) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.problems) > 0 {
		fail("%d bad deliveries, first: %s", len(t.problems), t.problems[0])
	}
	var missing, wrong []string
	for k := range t.expected {
		n := len(t.seen[k])
		wantN := 1
		if k == t.retryKey {
			wantN = 2
		}
		if n == 0 {
			missing = append(missing, k)
		} else if n != wantN {
			wrong = append(wrong, fmt.Sprintf("%s x%d", k, n))
		}
	}
	if len(missing) > 0 {
		fail("%d of %d messages never delivered (timed out: %v), e.g. %v; %d deliveries",
			len(missing), len(t.expected), timedOut, first(missing), t.deliveries)
	}
	if len(wrong) > 0 {
		fail("wrong delivery counts (want 1, or 2 for %q): %v", t.retryKey, first(wrong))
	}
	result := fmt.Sprintf("received=%d deliveries=%d ms=%d", len(t.seen), t.deliveries, elapsed.Milliseconds())
	if t.retryKey != "" {
		d := t.seen[t.retryKey]
		if d[0].reconsumeTimes != 0 || d[1].reconsumeTimes != 1 {
			fail("%s: reconsume times %d then %d, want 0 then 1", t.retryKey, d[0].reconsumeTimes, d[1].reconsumeTimes)
		}
		gap := d[1].stored.Sub(d[0].at)
		if t.minGap > 0 && gap < t.minGap {
			fail("%s: retry copy stored %v after the first delivery, before its delay level 1 (1 s)", t.retryKey, gap)
		}
		result += fmt.Sprintf(" retried=%s gap_ms=%d", t.retryKey, gap.Milliseconds())
	}
	return result
}

// push consumes everything produce sent (TagA/TagB only) with a clustering push consumer, exactly
// once; when retryKey is set, that message once more after a ConsumeRetryLater, minGap or more
// after its first delivery.
func push(namesrv, topic string, count int, retryKey string, minGap time.Duration) string {
	t := newTally(topic, count, retryKey, minGap)
	listener := func(ctx context.Context, msgs ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
		result := consumer.ConsumeSuccess
		for _, m := range msgs {
			if t.record(m) {
				result = consumer.ConsumeRetryLater
				if cc, ok := primitive.GetConcurrentlyCtx(ctx); ok {
					cc.DelayLevelWhenNextConsume = 1 // 1 s
				}
			}
		}
		return result, nil
	}
	start := time.Now()
	selector := consumer.MessageSelector{Type: consumer.TAG, Expression: subscription}
	c := startPush(namesrv, "go_cg_"+topic, topic, selector, listener, consumer.WithConsumeMessageBatchMaxSize(1))
	timedOut := t.wait()
	elapsed := time.Since(start)
	time.Sleep(settle) // anything delivered twice shows up now
	_ = c.Shutdown()
	return t.verify(timedOut, elapsed)
}

// startPush starts a clustering push consumer of group, from the first offset, subscribed to
// topic with selector; extra options (batch size) are appended.
func startPush(namesrv, group, topic string, selector consumer.MessageSelector,
	listener func(context.Context, ...*primitive.MessageExt) (consumer.ConsumeResult, error),
	extra ...consumer.Option) rocketmq.PushConsumer {
	opts := append([]consumer.Option{
		consumer.WithNsResolver(primitive.NewPassthroughResolver([]string{namesrv})),
		consumer.WithGroupName(group),
		consumer.WithConsumerModel(consumer.Clustering),
		consumer.WithConsumeFromWhere(consumer.ConsumeFromFirstOffset),
	}, extra...)
	c, err := rocketmq.NewPushConsumer(opts...)
	if err != nil {
		fail("new push consumer: %v", err)
	}
	if err := c.Subscribe(topic, selector, listener); err != nil {
		fail("subscribe: %v", err)
	}
	if err := c.Start(); err != nil {
		fail("start push consumer: %v", err)
	}
	return c
}

// pushSQL consumes with an SQL92 selector on the TAGS property (MessageSelector of type SQL92):
// exactly the TagA messages arrive, once each. The v2.1.2 push consumer's pulls say TAG and carry
// no expression, so the broker must filter by what the heartbeat registered, as Java's does.
func pushSQL(namesrv, topic string, count int) string {
	t := newTallyOf(topic, count, "", 0, "TagA")
	listener := func(ctx context.Context, msgs ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
		for _, m := range msgs {
			t.record(m)
		}
		return consumer.ConsumeSuccess, nil
	}
	start := time.Now()
	selector := consumer.MessageSelector{Type: consumer.SQL92, Expression: "TAGS = 'TagA'"}
	c := startPush(namesrv, "go_sql_cg_"+topic, topic, selector, listener)
	timedOut := t.wait()
	elapsed := time.Since(start)
	time.Sleep(settle) // a message the selector does not select would have come by now
	_ = c.Shutdown()
	return t.verify(timedOut, elapsed)
}

// pullSubscribe consumes everything produce sent (TagA/TagB only) with the PullConsumer in
// subscribe mode (rebalanced queues, Poll, ACK commits the offsets), exactly once.
func pullSubscribe(namesrv, topic string, count int) string {
	t := newTally(topic, count, "", 0)
	c := startPull(namesrv, "go_lg_"+topic, topic)
	start := time.Now()
	ctx := context.Background()
	stop := time.Now().Add(consumeTimeout)
	timedOut := false
	var settled time.Time // when everything has arrived and the settle time is over
	var elapsed time.Duration
	for {
		if settled.IsZero() {
			select {
			case <-t.done:
				elapsed = time.Since(start)
				settled = time.Now().Add(settle) // keep polling: duplicates show up now
			default:
			}
		}
		if !settled.IsZero() && time.Now().After(settled) {
			break
		}
		if settled.IsZero() && time.Now().After(stop) {
			timedOut = true
			break
		}
		cr, err := c.Poll(ctx, 200*time.Millisecond)
		if err != nil {
			continue // consumer.ErrNoNewMsg
		}
		for _, m := range cr.GetMsgList() {
			t.record(m)
		}
		c.ACK(ctx, cr, consumer.ConsumeSuccess)
	}
	if timedOut {
		elapsed = time.Since(start)
	}
	_ = c.Shutdown()
	return t.verify(timedOut, elapsed)
}

func first(s []string) []string {
	if len(s) > 5 {
		return s[:5]
	}
	return s
}

// txListener decides message i's local transaction by i%3 and records the broker's checks.
type txListener struct {
	mu      sync.Mutex
	checked map[int]bool
}

func txIndex(body []byte) int {
	i, err := strconv.Atoi(strings.TrimPrefix(string(body), "go tx-"))
	if err != nil {
		fail("unexpected body %q", body)
	}
	return i
}

func (l *txListener) ExecuteLocalTransaction(m *primitive.Message) primitive.LocalTransactionState {
	switch txIndex(m.Body) % 3 {
	case 0:
		return primitive.CommitMessageState
	case 1:
		return primitive.RollbackMessageState
	}
	return primitive.UnknowState
}

func (l *txListener) CheckLocalTransaction(m *primitive.MessageExt) primitive.LocalTransactionState {
	i := txIndex(m.Body)
	l.mu.Lock()
	l.checked[i] = true
	l.mu.Unlock()
	if i%3 == 1 {
		return primitive.RollbackMessageState
	}
	return primitive.CommitMessageState
}

// transaction: see the scenario list at the top.
func transaction(namesrv, topic string, count int) string {
	l := &txListener{checked: map[int]bool{}}
	p, err := rocketmq.NewTransactionProducer(l,
		producer.WithNsResolver(primitive.NewPassthroughResolver([]string{namesrv})),
		producer.WithGroupName("go_tx_"+topic),
		producer.WithRetry(2),
		producer.WithSendMsgTimeout(5*time.Second),
	)
	if err != nil {
		fail("new transaction producer: %v", err)
	}
	if err := p.Start(); err != nil {
		fail("start transaction producer: %v", err)
	}
	defer func() { _ = p.Shutdown() }()
	for i := 0; i < count; i++ {
		m := primitive.NewMessage(topic, body(key("tx", i))).WithTag(tag(i))
		r, err := p.SendMessageInTransaction(context.Background(), m)
		if err != nil || r.Status != primitive.SendOK {
			fail("half %d: %v %v", i, err, r)
		}
	}
	want := 0
	for i := 0; i < count; i++ {
		if i%3 != 1 {
			want++
		}
	}
	var mu sync.Mutex
	seen := map[int]bool{}
	done := make(chan struct{})
	listener := func(ctx context.Context, msgs ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
		mu.Lock()
		defer mu.Unlock()
		for _, m := range msgs {
			i := txIndex(m.Body)
			if i%3 == 1 {
				fail("rolled-back message %d was delivered", i)
			}
			if seen[i] {
				fail("message %d delivered twice", i)
			}
			seen[i] = true
			if len(seen) == want {
				close(done)
			}
		}
		return consumer.ConsumeSuccess, nil
	}
	c := startPush(namesrv, "go_txc_"+topic, topic, consumer.MessageSelector{Type: consumer.TAG, Expression: "*"}, listener)
	select {
	case <-done:
	case <-time.After(consumeTimeout):
		mu.Lock()
		n := len(seen)
		mu.Unlock()
		fail("received %d of %d committed messages", n, want)
	}
	time.Sleep(2 * settle) // a rolled-back or twice-delivered message shows up now
	_ = c.Shutdown()
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := 2; i < count; i += 3 {
		if !l.checked[i] {
			fail("the broker never checked unknown transaction %d", i)
		}
	}
	return fmt.Sprintf("committed=%d checked=%d", want, len(l.checked))
}

// startPull starts a clustering PullConsumer of group subscribed to topic with the tag
// subscription, from the first offset.
func startPull(namesrv, group, topic string) rocketmq.PullConsumer {
	c, err := rocketmq.NewPullConsumer(
		consumer.WithNsResolver(primitive.NewPassthroughResolver([]string{namesrv})),
		consumer.WithGroupName(group),
		consumer.WithConsumerModel(consumer.Clustering),
		consumer.WithConsumeFromWhere(consumer.ConsumeFromFirstOffset),
	)
	if err != nil {
		fail("new pull consumer: %v", err)
	}
	if err := c.Subscribe(topic, consumer.MessageSelector{Type: consumer.TAG, Expression: subscription}); err != nil {
		fail("subscribe: %v", err)
	}
	if err := c.Start(); err != nil {
		fail("start pull consumer: %v", err)
	}
	return c
}
