package actormq.clients;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

import org.apache.rocketmq.client.consumer.DefaultLitePullConsumer;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.common.message.MessageQueue;

import static actormq.clients.Ctx.require;

/** DefaultLitePullConsumer scenarios: read messages 0..count-1 of the shared scheme back. */
final class LitePull {
    private LitePull() {}

    static DefaultLitePullConsumer create(Ctx ctx) {
        DefaultLitePullConsumer c = new DefaultLitePullConsumer(ctx.consumerGroup());
        c.setNamesrvAddr(ctx.namesrv);
        c.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        c.setPollNameServerInterval(1000);
        return c;
    }

    /** Polls until every message was seen; no message may come twice (a fresh group, one client). */
    static Ctx.Tally pollAll(Ctx ctx, DefaultLitePullConsumer c) {
        Ctx.Tally tally = new Ctx.Tally(ctx.count);
        long deadline = System.currentTimeMillis() + Ctx.CONSUME_TIMEOUT_MS;
        while (!tally.complete()) {
            require(System.currentTimeMillis() < deadline, "received " + tally.distinct() + " of "
                + ctx.count + " in " + Ctx.CONSUME_TIMEOUT_MS + " ms; first missing: " + tally.missing());
            for (MessageExt m : c.poll(1000)) {
                tally.add(ctx.check(m));
            }
        }
        require(tally.duplicates() == 0, tally.duplicates() + " duplicate deliveries");
        return tally;
    }

    /** subscribe(topic, "*"): rebalance assigns every queue to the only client. */
    static String subscribe(Ctx ctx) throws Exception {
        DefaultLitePullConsumer c = create(ctx);
        c.subscribe(ctx.topic, "*");
        c.start();
        long t0 = System.currentTimeMillis();
        Ctx.Tally tally = pollAll(ctx, c);
        long ms = System.currentTimeMillis() - t0;
        c.shutdown();
        return "received=" + tally.distinct() + " duplicates=0 ms=" + ms;
    }

    /**
     * seekToBegin on every queue, with the queues' pull tasks paused and their in-flight pulls
     * settled first. seek() interrupts the queue's old pull task through the pool thread it last
     * ran on; by then that thread may be running another queue's task, and an interrupt landing in
     * its FOUND path (the cache's interruptible put) drops a pulled batch inside the client while
     * its pull offset moves on (apache/rocketmq#3853, #7565: the same with the Java broker). Paused
     * tasks only reschedule themselves, so a stray interrupt finds nothing to break.
     */
    static void seekAllToBegin(DefaultLitePullConsumer c, Collection<MessageQueue> queues)
        throws Exception {
        c.pause(queues);
        Thread.sleep(1000);
        for (MessageQueue q : queues) {
            c.seekToBegin(q);
        }
        c.resume(queues);
    }

    /**
     * assign(all queues) and seekToBegin each (GET_MIN/MAX_OFFSET), read everything, commitSync,
     * then committed(queue) (QUERY_CONSUMER_OFFSET) must add up to count.
     */
    static String assign(Ctx ctx) throws Exception {
        DefaultLitePullConsumer c = create(ctx);
        c.setAutoCommit(false);
        c.start();
        Collection<MessageQueue> queues = c.fetchMessageQueues(ctx.topic);
        require(!queues.isEmpty(), "no queues for " + ctx.topic);
        c.assign(queues);
        seekAllToBegin(c, queues);
        Ctx.Tally tally = pollAll(ctx, c);
        c.commitSync();
        long deadline = System.currentTimeMillis() + 10_000;
        long committed;
        List<String> perQueue;
        do {
            Thread.sleep(100);
            committed = 0;
            perQueue = new ArrayList<>();
            for (MessageQueue q : queues) {
                Long o = c.committed(q);
                perQueue.add(q.getQueueId() + "=" + o);
                committed += o == null || o < 0 ? 0 : o;
            }
        } while (committed != ctx.count && System.currentTimeMillis() < deadline);
        require(committed == ctx.count, "committed offsets " + perQueue + " add up to " + committed
            + ", expected " + ctx.count);
        c.shutdown();
        return "received=" + tally.distinct() + " duplicates=0 queues=" + queues.size() + " committed=" + committed;
    }
}
