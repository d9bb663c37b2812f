package actormq.clients;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendCallback;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.message.Message;

import static actormq.clients.Ctx.require;

/** DefaultMQProducer scenarios: each sends messages 0..count-1 of the shared scheme to the topic. */
final class Produce {
    private Produce() {}

    static DefaultMQProducer start(Ctx ctx) throws Exception {
        DefaultMQProducer p = new DefaultMQProducer(ctx.producerGroup());
        p.setNamesrvAddr(ctx.namesrv);
        p.setSendMsgTimeout(10_000);
        p.start();
        return p;
    }

    /** Every acknowledged send must be SEND_OK at a (queue, offset) not handed out before. */
    static final class Acks {
        final Set<String> positions = new HashSet<>();
        final Set<Integer> queues = new HashSet<>();

        synchronized void add(SendResult r) {
            require(r.getSendStatus() == SendStatus.SEND_OK, "send status " + r.getSendStatus());
            require(r.getMsgId() != null && r.getOffsetMsgId() != null, "no msgId in " + r);
            int q = r.getMessageQueue().getQueueId();
            queues.add(q);
            require(positions.add(q + "@" + r.getQueueOffset()), "offset handed out twice: " + r);
        }

        String summary(int sent) {
            return "sent=" + sent + " acked=" + positions.size() + " queues=" + queues.size();
        }
    }

    static String sync(Ctx ctx) throws Exception {
        DefaultMQProducer p = start(ctx);
        Acks acks = new Acks();
        for (int i = 0; i < ctx.count; i++) {
            acks.add(p.send(ctx.message(i)));
        }
        p.shutdown();
        return acks.summary(ctx.count);
    }

    static String async(Ctx ctx) throws Exception {
        DefaultMQProducer p = start(ctx);
        Acks acks = new Acks();
        CountDownLatch done = new CountDownLatch(ctx.count);
        AtomicReference<Throwable> error = new AtomicReference<>();
        for (int i = 0; i < ctx.count; i++) {
            p.send(ctx.message(i), new SendCallback() {
                @Override
                public void onSuccess(SendResult r) {
                    try {
                        acks.add(r);
                    } catch (RuntimeException e) {
                        error.compareAndSet(null, e);
                    }
                    done.countDown();
                }

                @Override
                public void onException(Throwable e) {
                    error.compareAndSet(null, e);
                    done.countDown();
                }
            });
        }
        require(done.await(60, TimeUnit.SECONDS), "async sends not all answered in 60 s");
        p.shutdown();
        if (error.get() != null) {
            throw new IllegalStateException("async send failed", error.get());
        }
        return acks.summary(ctx.count);
    }

    static String oneway(Ctx ctx) throws Exception {
        DefaultMQProducer p = start(ctx);
        for (int i = 0; i < ctx.count; i++) {
            p.sendOneway(ctx.message(i));
        }
        // Oneway sends get no answer; give the last frames time to leave before closing.
        Thread.sleep(500);
        p.shutdown();
        return "sent=" + ctx.count;
    }

    static String batch(Ctx ctx) throws Exception {
        DefaultMQProducer p = start(ctx);
        int batches = 0;
        Set<Integer> queues = new HashSet<>();
        for (int first = 0; first < ctx.count; first += 16) {
            List<Message> batch = new ArrayList<>();
            for (int i = first; i < Math.min(first + 16, ctx.count); i++) {
                batch.add(ctx.message(i));
            }
            SendResult r = p.send(batch);
            require(r.getSendStatus() == SendStatus.SEND_OK, "batch send status " + r.getSendStatus());
            require(r.getMsgId().split(",").length == batch.size(),
                "batch of " + batch.size() + " answered msgIds " + r.getMsgId());
            queues.add(r.getMessageQueue().getQueueId());
            batches++;
        }
        p.shutdown();
        return "sent=" + ctx.count + " batches=" + batches + " queues=" + queues.size();
    }

    /** Message i goes to queue (i % 8) % queues through a MessageQueueSelector. */
    static String orderly(Ctx ctx) throws Exception {
        DefaultMQProducer p = start(ctx);
        Map<Integer, Long> lastOffset = new HashMap<>();
        for (int i = 0; i < ctx.count; i++) {
            SendResult r = p.send(ctx.message(i), (mqs, msg, arg) -> mqs.get((Integer) arg % mqs.size()), i % 8);
            require(r.getSendStatus() == SendStatus.SEND_OK, "send status " + r.getSendStatus());
            int q = r.getMessageQueue().getQueueId();
            Long last = lastOffset.put(q, r.getQueueOffset());
            require(last == null || r.getQueueOffset() > last,
                "queue " + q + " offset went from " + last + " to " + r.getQueueOffset());
        }
        p.shutdown();
        return "sent=" + ctx.count + " queues=" + lastOffset.size();
    }
}
