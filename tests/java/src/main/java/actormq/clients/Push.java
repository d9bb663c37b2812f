package actormq.clients;

import java.lang.reflect.Method;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import org.apache.rocketmq.client.consumer.DefaultLitePullConsumer;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.ConsumeOrderlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.consumer.listener.MessageListenerOrderly;
import org.apache.rocketmq.client.impl.factory.MQClientInstance;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.common.message.MessageQueue;

import static actormq.clients.Ctx.require;

/** DefaultMQPushConsumer scenarios (clustering, from the first offset). */
final class Push {
    private Push() {}

    static DefaultMQPushConsumer create(Ctx ctx, String instance) throws Exception {
        DefaultMQPushConsumer c = new DefaultMQPushConsumer(ctx.consumerGroup());
        c.setNamesrvAddr(ctx.namesrv);
        c.setInstanceName(instance);
        c.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        // Routes every second: the %RETRY% topic exists only after the first heartbeat.
        c.setPollNameServerInterval(1000);
        c.subscribe(ctx.topic, "*");
        return c;
    }

    /** The first exception a listener hit, rethrown by the scenario's main thread. */
    static final class Errors {
        final AtomicReference<Throwable> first = new AtomicReference<>();

        void record(Throwable e) {
            first.compareAndSet(null, e);
        }

        void check() {
            if (first.get() != null) {
                throw new IllegalStateException("listener check failed", first.get());
            }
        }
    }

    /** A listener that checks and counts every message it gets, recording what fails. */
    static MessageListenerConcurrently checking(Ctx ctx, Ctx.Tally tally, Errors errors) {
        return (msgs, context) -> {
            for (MessageExt m : msgs) {
                try {
                    tally.add(ctx.check(m));
                } catch (RuntimeException e) {
                    errors.record(e);
                }
            }
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        };
    }

    /** MessageListenerConcurrently: everything arrives, once. */
    static String concurrently(Ctx ctx) throws Exception {
        Ctx.Tally tally = new Ctx.Tally(ctx.count);
        Errors errors = new Errors();
        DefaultMQPushConsumer c = create(ctx, "push");
        c.registerMessageListener(checking(ctx, tally, errors));
        long t0 = System.currentTimeMillis();
        c.start();
        tally.await("push consumer");
        long ms = System.currentTimeMillis() - t0;
        Thread.sleep(500); // anything delivered twice shows up now
        c.shutdown();
        errors.check();
        require(tally.duplicates() == 0, tally.duplicates() + " duplicate deliveries");
        return "received=" + tally.distinct() + " duplicates=0 ms=" + ms;
    }

    /**
     * MessageModel.BROADCASTING: every consumer of the group gets every message, once (the offsets
     * are the client's own, in {@code rocketmq.client.localOffsetStoreDir}; the instance name, and
     * so the client id and its offsets file, is this process's). The test runs two at once; each
     * reports when it was up (start returned) and down (before shutdown), in Unix milliseconds.
     */
    static String broadcast(Ctx ctx) throws Exception {
        Ctx.Tally tally = new Ctx.Tally(ctx.count);
        Errors errors = new Errors();
        DefaultMQPushConsumer c = create(ctx, "broadcast-" + ProcessHandle.current().pid());
        setBroadcasting(c);
        c.registerMessageListener(checking(ctx, tally, errors));
        long t0 = System.currentTimeMillis();
        c.start();
        long up = System.currentTimeMillis();
        tally.await("broadcast push consumer");
        long ms = System.currentTimeMillis() - t0;
        Thread.sleep(1000); // anything delivered twice shows up now
        long down = System.currentTimeMillis();
        c.shutdown();
        errors.check();
        require(tally.duplicates() == 0, tally.duplicates() + " duplicate deliveries");
        return "received=" + tally.distinct() + " duplicates=0 ms=" + ms + " up_ms=" + up + " down_ms=" + down;
    }

    /** setMessageModel(BROADCASTING): MessageModel moved from rocketmq-common (4.x) to rocketmq-remoting (5.x). */
    static void setBroadcasting(DefaultMQPushConsumer c) throws Exception {
        for (String name : new String[] {"org.apache.rocketmq.remoting.protocol.heartbeat.MessageModel",
            "org.apache.rocketmq.common.protocol.heartbeat.MessageModel"}) {
            Class<?> model;
            try {
                model = Class.forName(name);
            } catch (ClassNotFoundException e) {
                continue;
            }
            for (Object m : model.getEnumConstants()) {
                if (((Enum<?>) m).name().equals("BROADCASTING")) {
                    DefaultMQPushConsumer.class.getMethod("setMessageModel", model).invoke(c, m);
                }
            }
            require(String.valueOf(c.getMessageModel()).equals("BROADCASTING"), "message model " + c.getMessageModel());
            return;
        }
        throw new IllegalStateException("no MessageModel class in this client");
    }

    /**
     * A slow consumer (one thread, 5 ms a message) stops with a clean shutdown, which persists
     * its offsets, when it has about half the messages; what it had pulled but not consumed is
     * dropped. A second consumer of the same group must resume from the committed offsets:
     * nothing lost, and far fewer duplicates than a restart from the first offset would give
     * (a message being consumed while the first one stops is committed by nobody: a duplicate).
     */
    static String restart(Ctx ctx) throws Exception {
        Ctx.Tally tally = new Ctx.Tally(ctx.count);
        Errors errors = new Errors();
        AtomicLong phase1 = new AtomicLong();
        AtomicLong phase2 = new AtomicLong();
        AtomicReference<AtomicLong> phase = new AtomicReference<>(phase1);
        MessageListenerConcurrently listener = (msgs, context) -> {
            for (MessageExt m : msgs) {
                try {
                    tally.add(ctx.check(m));
                    AtomicLong deliveries = phase.get();
                    deliveries.incrementAndGet();
                    if (deliveries == phase1) {
                        Thread.sleep(5); // slow enough that the stop comes mid-stream
                    }
                } catch (RuntimeException e) {
                    errors.record(e);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        };
        DefaultMQPushConsumer first = create(ctx, "first");
        first.setConsumeThreadMin(1);
        first.setConsumeThreadMax(1);
        first.registerMessageListener(listener);
        first.start();
        long deadline = System.currentTimeMillis() + Ctx.CONSUME_TIMEOUT_MS;
        while (tally.distinct() < ctx.count / 2) {
            require(System.currentTimeMillis() < deadline, "first consumer got only " + tally.distinct());
            Thread.sleep(5);
        }
        first.shutdown();
        int afterFirst = tally.distinct();
        require(afterFirst < ctx.count, "first consumer got everything before it stopped; raise count");
        phase.set(phase2);

        DefaultMQPushConsumer second = create(ctx, "second");
        second.registerMessageListener(listener);
        second.start();
        tally.await("second consumer");
        Thread.sleep(1000); // late duplicates show up now
        second.shutdown();
        errors.check();
        int dups = tally.duplicates();
        System.out.println("first consumer: " + phase1.get() + " deliveries, " + afterFirst
            + " distinct; second: " + phase2.get() + " deliveries; duplicates " + dups);
        require(phase2.get() < ctx.count - afterFirst + afterFirst / 2,
            "second consumer re-read " + phase2.get() + " messages: it did not resume from the committed offsets");
        return "received=" + tally.distinct() + " first=" + phase1.get() + " second=" + phase2.get()
            + " duplicates=" + dups;
    }

    /**
     * An admin resets the group's offsets to a time before the first message while a push
     * consumer that has consumed everything runs: INVOKE_BROKER_TO_RESET_OFFSET (222) to the
     * topic's broker, as {@code mqadmin resetOffsetByTime} sends it. The broker answers the
     * consumer's next pull of each queue with PULL_OFFSET_MOVED to the reset offset (Java 5.2+'s
     * server-side reset); the client moves there, and every message must be delivered again.
     */
    static String reset(Ctx ctx) throws Exception {
        long before = System.currentTimeMillis();
        Thread.sleep(5); // store times are milliseconds: every message is after `before`
        DefaultMQProducer p = Produce.start(ctx);
        for (int i = 0; i < ctx.count; i++) {
            p.send(ctx.message(i));
        }
        p.shutdown();
        Ctx.Tally first = new Ctx.Tally(ctx.count);
        Ctx.Tally second = new Ctx.Tally(ctx.count);
        AtomicReference<Ctx.Tally> phase = new AtomicReference<>(first);
        Errors errors = new Errors();
        DefaultMQPushConsumer c = create(ctx, "reset");
        c.setPersistConsumerOffsetInterval(1000);
        c.registerMessageListener((MessageListenerConcurrently) (msgs, context) -> {
            for (MessageExt m : msgs) {
                try {
                    phase.get().add(ctx.check(m));
                } catch (RuntimeException e) {
                    errors.record(e);
                }
            }
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        c.start();
        first.await("push consumer before the reset");
        Thread.sleep(2000); // offsets persisted (every second): the reset has to move them back
        phase.set(second);
        // The broker of each queue the consumer holds (the route types' package differs between
        // 4.x and 5.x; MessageQueue's does not).
        MQClientInstance client = c.getDefaultMQPushConsumerImpl().getmQClientFactory();
        java.util.Set<String> brokers = new java.util.TreeSet<>();
        for (MessageQueue mq : c.getDefaultMQPushConsumerImpl().getRebalanceImpl().getProcessQueueTable().keySet()) {
            brokers.add(mq.getBrokerName());
        }
        Map<MessageQueue, Long> reset = new HashMap<>();
        for (String broker : brokers) {
            String addr = client.findBrokerAddressInPublish(broker);
            reset.putAll(client.getMQClientAPIImpl().invokeBrokerToResetOffset(
                addr, ctx.topic, ctx.consumerGroup(), before, true, 3000));
        }
        System.out.println("reset to " + reset);
        require(!reset.isEmpty(), "the reset answered no queue");
        for (Long offset : reset.values()) {
            require(offset == 0, "a queue reset to " + offset + ", not 0: " + reset);
        }
        // A parked pull (15 s) returns first, then the client waits 10 s before it moves.
        second.await("push consumer after the reset");
        Thread.sleep(500);
        c.shutdown();
        errors.check();
        return "received=" + first.distinct() + " again=" + second.distinct() + " queues=" + reset.size();
    }

    /**
     * A push consumer that only holds queues, for {@code count} seconds at most (or until it is
     * killed): prints {@code holds <n>} whenever the number of the topic's queues it holds
     * changes. The test runs two in one group, kills one with SIGKILL and watches the other take
     * every queue (the broker must drop the dead client at once, not 120 s later).
     */
    static String hold(Ctx ctx) throws Exception {
        DefaultMQPushConsumer c = create(ctx, "hold-" + ProcessHandle.current().pid());
        c.registerMessageListener((MessageListenerConcurrently) (msgs, context) ->
            ConsumeConcurrentlyStatus.CONSUME_SUCCESS);
        c.start();
        int last = -1;
        long end = System.currentTimeMillis() + ctx.count * 1000L;
        while (System.currentTimeMillis() < end) {
            int n = 0;
            for (MessageQueue mq : c.getDefaultMQPushConsumerImpl().getRebalanceImpl().getProcessQueueTable().keySet()) {
                if (mq.getTopic().equals(ctx.topic)) {
                    n++;
                }
            }
            if (n != last) {
                System.out.println("holds " + n);
                System.out.flush();
                last = n;
            }
            Thread.sleep(20);
        }
        c.shutdown();
        return "held=" + last;
    }

    /** Sets a delay on a message and returns the earliest time it may be delivered (client clock). */
    interface Delay {
        long apply(Message m) throws Exception;
    }

    /** Delay level 1, which is 1 s in RocketMQ's default messageDelayLevel. */
    static String delayLevel(Ctx ctx) throws Exception {
        return delayed(ctx, m -> {
            long due = System.currentTimeMillis() + 1000;
            m.setDelayTimeLevel(1);
            return due;
        });
    }

    /**
     * 5.x only: Message.setDeliverTimeMs(now + 3 s), the TIMER_DELIVER_MS property. The broker rounds
     * the time down to its 1 s precision, so a message may come up to a second before the asked time.
     */
    static String deliverTime(Ctx ctx) throws Exception {
        Method setDeliverTimeMs;
        try {
            setDeliverTimeMs = Message.class.getMethod("setDeliverTimeMs", long.class);
        } catch (NoSuchMethodException e) {
            throw new Ctx.NotApplicable("Message.setDeliverTimeMs is 5.x only");
        }
        return delayed(ctx, m -> {
            long at = System.currentTimeMillis() + 3000;
            setDeliverTimeMs.invoke(m, at);
            return at - 1000;
        });
    }

    /**
     * One process: a warm-up message tagged "warmup" creates the topic, a push consumer of tags
     * T0 || T1 || T2 (so the broker filters the warm-up out) starts and waits until it holds the
     * topic's queues, then the delayed messages are sent. None may reach the listener before it is
     * due; reports how late they came.
     */
    static String delayed(Ctx ctx, Delay delay) throws Exception {
        DefaultMQProducer p = Produce.start(ctx);
        p.send(new Message(ctx.topic, "warmup", "warmup".getBytes(StandardCharsets.UTF_8)));
        Ctx.Tally tally = new Ctx.Tally(ctx.count);
        Errors errors = new Errors();
        Map<Integer, Long> due = new ConcurrentHashMap<>();
        AtomicLong maxLate = new AtomicLong(Long.MIN_VALUE);
        AtomicLong minLate = new AtomicLong(Long.MAX_VALUE);
        DefaultMQPushConsumer c = create(ctx, "delayed");
        c.subscribe(ctx.topic, "T0 || T1 || T2");
        c.registerMessageListener((MessageListenerConcurrently) (msgs, context) -> {
            long now = System.currentTimeMillis();
            for (MessageExt m : msgs) {
                try {
                    int i = ctx.check(m);
                    Long dueAt = due.get(i);
                    require(dueAt != null, "message " + i + " received before its send returned");
                    long late = now - dueAt;
                    require(late >= 0, "message " + i + " delivered " + (-late) + " ms early");
                    maxLate.accumulateAndGet(late, Math::max);
                    minLate.accumulateAndGet(late, Math::min);
                    tally.add(i);
                } catch (RuntimeException e) {
                    errors.record(e);
                }
            }
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        c.start();
        long deadline = System.currentTimeMillis() + 20_000;
        while (c.getDefaultMQPushConsumerImpl().getRebalanceImpl().getProcessQueueTable().isEmpty()) {
            require(System.currentTimeMillis() < deadline, "the consumer got no queue of " + ctx.topic + " in 20 s");
            Thread.sleep(20);
        }
        Produce.Acks acks = new Produce.Acks();
        for (int i = 0; i < ctx.count; i++) {
            Message m = ctx.message(i);
            long dueAt = delay.apply(m);
            due.put(i, dueAt); // before the send: a broker that ignores the delay delivers at once
            acks.add(p.send(m));
        }
        p.shutdown();
        deadline = System.currentTimeMillis() + Ctx.CONSUME_TIMEOUT_MS;
        while (!tally.complete() && errors.first.get() == null) {
            require(System.currentTimeMillis() < deadline, "received " + tally.distinct() + " of "
                + ctx.count + " in " + Ctx.CONSUME_TIMEOUT_MS + " ms; first missing: " + tally.missing());
            Thread.sleep(20);
        }
        c.shutdown();
        errors.check();
        require(maxLate.get() < 10_000, "a message came " + maxLate.get() + " ms after it was due");
        return "received=" + tally.distinct() + " minLateMs=" + minLate.get() + " maxLateMs=" + maxLate.get();
    }

    /** maxReconsumeTimes for push-reconsume-later: a message is delivered at most 3 times. */
    static final int MAX_RECONSUME = 2;

    /**
     * RECONSUME_LATER with delayLevelWhenNextConsume 1 (1 s) and maxReconsumeTimes 2: message i
     * with i % 4 == 1 fails once (delivered twice, the second time with reconsumeTimes 1); i % 4 ==
     * 0 fails always (delivered 3 times, then in %DLQ%group); the rest succeed at once. Redelivered
     * messages must come back with their own topic, key, tag and body.
     */
    static String reconsumeLater(Ctx ctx) throws Exception {
        Map<Integer, List<Integer>> deliveries = new ConcurrentHashMap<>(); // i -> reconsumeTimes seen
        Errors errors = new Errors();
        DefaultMQPushConsumer c = create(ctx, "reconsume");
        c.setMaxReconsumeTimes(MAX_RECONSUME);
        c.setConsumeMessageBatchMaxSize(1);
        c.registerMessageListener((MessageListenerConcurrently) (msgs, context) -> {
            context.setDelayLevelWhenNextConsume(1);
            MessageExt m = msgs.get(0);
            try {
                int i = ctx.check(m);
                List<Integer> seen = deliveries.computeIfAbsent(i, k -> new ArrayList<>());
                synchronized (seen) {
                    seen.add(m.getReconsumeTimes());
                    boolean fail = i % 4 == 0 || (i % 4 == 1 && seen.size() == 1);
                    return fail ? ConsumeConcurrentlyStatus.RECONSUME_LATER : ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
                }
            } catch (RuntimeException e) {
                errors.record(e);
                return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
            }
        });
        c.start();
        long deadline = System.currentTimeMillis() + Ctx.CONSUME_TIMEOUT_MS;
        int expectedDlq = 0;
        long expected = 0;
        for (int i = 0; i < ctx.count; i++) {
            expected += wanted(i);
            expectedDlq += i % 4 == 0 ? 1 : 0;
        }
        while (total(deliveries) < expected) {
            errors.check();
            if (System.currentTimeMillis() > deadline) {
                throw new IllegalStateException("deliveries " + total(deliveries) + " of " + expected
                    + " expected in " + Ctx.CONSUME_TIMEOUT_MS + " ms: " + summary(ctx, deliveries));
            }
            Thread.sleep(20);
        }
        Thread.sleep(3000); // a message past maxReconsumeTimes must not come a fourth time
        c.shutdown();
        errors.check();
        for (int i = 0; i < ctx.count; i++) {
            List<Integer> seen = deliveries.get(i);
            List<Integer> want = new ArrayList<>();
            for (int r = 0; r < wanted(i); r++) {
                want.add(r);
            }
            require(want.equals(seen), "message " + i + " delivered with reconsumeTimes " + brief(seen)
                + ", expected " + want);
        }
        int dlq = readDlq(ctx, expectedDlq);
        return "received=" + deliveries.size() + " deliveries=" + expected + " dlq=" + dlq;
    }

    static int wanted(int i) {
        return i % 4 == 0 ? MAX_RECONSUME + 1 : i % 4 == 1 ? 2 : 1;
    }

    /** A list, cut after 8 entries. */
    static String brief(List<Integer> l) {
        if (l == null || l.size() <= 8) {
            return String.valueOf(l);
        }
        return l.subList(0, 8) + " and " + (l.size() - 8) + " more";
    }

    static long total(Map<Integer, List<Integer>> deliveries) {
        long n = 0;
        for (List<Integer> l : deliveries.values()) {
            synchronized (l) {
                n += l.size();
            }
        }
        return n;
    }

    static String summary(Ctx ctx, Map<Integer, List<Integer>> deliveries) {
        StringBuilder s = new StringBuilder();
        for (int i = 0; i < Math.min(ctx.count, 8); i++) {
            s.append(i).append("->").append(brief(deliveries.get(i))).append(' ');
        }
        return s.toString();
    }

    /** Reads %DLQ%<group> (assign mode, from the start): exactly the always-failing messages. */
    static int readDlq(Ctx ctx, int expected) throws Exception {
        String dlq = "%DLQ%" + ctx.consumerGroup();
        DefaultLitePullConsumer r = new DefaultLitePullConsumer(ctx.consumerGroup() + "_dlq_reader");
        r.setNamesrvAddr(ctx.namesrv);
        r.setAutoCommit(false);
        r.start();
        Collection<MessageQueue> queues = r.fetchMessageQueues(dlq);
        r.assign(queues);
        LitePull.seekAllToBegin(r, queues);
        Map<Integer, Integer> got = new HashMap<>();
        long deadline = System.currentTimeMillis() + 20_000;
        while (got.size() < expected && System.currentTimeMillis() < deadline) {
            for (MessageExt m : r.poll(1000)) {
                String body = new String(m.getBody(), StandardCharsets.UTF_8);
                int i = Integer.parseInt(body.substring(2));
                require(i % 4 == 0, "message " + i + " in " + dlq + " should not be there");
                require(("k-" + i).equals(m.getKeys()), "DLQ message " + i + " has keys " + m.getKeys());
                got.merge(i, 1, Integer::sum);
            }
        }
        r.shutdown();
        require(got.size() == expected, dlq + " holds " + got.size() + " of the " + expected + " always-failing messages");
        return got.size();
    }

    /** MessageListenerOrderly (needs queue locks): each queue's messages in offset order. */
    static String orderly(Ctx ctx) throws Exception {
        Ctx.Tally tally = new Ctx.Tally(ctx.count);
        Errors errors = new Errors();
        Map<Integer, Long> lastOffset = new ConcurrentHashMap<>();
        Map<Integer, Integer> lastIndex = new ConcurrentHashMap<>();
        DefaultMQPushConsumer c = create(ctx, "orderly");
        c.registerMessageListener((MessageListenerOrderly) (msgs, context) -> {
            for (MessageExt m : msgs) {
                try {
                    int i = ctx.check(m);
                    int q = m.getQueueId();
                    Long lo = lastOffset.put(q, m.getQueueOffset());
                    require(lo == null || m.getQueueOffset() > lo,
                        "queue " + q + " offset " + m.getQueueOffset() + " after " + lo);
                    Integer li = lastIndex.put(q, i);
                    require(li == null || i > li, "queue " + q + " message " + i + " after " + li);
                    tally.add(i);
                } catch (RuntimeException e) {
                    errors.record(e);
                }
            }
            return ConsumeOrderlyStatus.SUCCESS;
        });
        c.start();
        tally.await("orderly push consumer");
        c.shutdown();
        errors.check();
        require(tally.duplicates() == 0, tally.duplicates() + " duplicate deliveries");
        return "received=" + tally.distinct() + " queues=" + lastOffset.size();
    }
}
