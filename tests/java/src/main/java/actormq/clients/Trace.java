package actormq.clients;

import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.Set;

import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.MessageExt;

import static actormq.clients.Ctx.require;

/**
 * Message trace ({@code enableMsgTrace}): a traced producer and a traced push consumer; their
 * trace dispatchers send trace records (type {@code Pub}, {@code SubBefore}, {@code SubAfter},
 * fields split by \u0001, records by \u0002) to {@code RMQ_SYS_TRACE_TOPIC}, which the broker
 * auto-creates from {@code TBW102}'s route as Java does. A plain consumer then reads that topic
 * until every message has its {@code Pub} and {@code SubAfter} record.
 */
final class Trace {
    private Trace() {}

    static final String TRACE_TOPIC = "RMQ_SYS_TRACE_TOPIC";

    static String run(Ctx ctx) throws Exception {
        DefaultMQProducer p = new DefaultMQProducer(ctx.producerGroup(), true, null);
        p.setNamesrvAddr(ctx.namesrv);
        p.setSendMsgTimeout(10_000);
        p.start();
        Set<String> ids = new HashSet<>();
        for (int i = 0; i < ctx.count; i++) {
            SendResult r = p.send(ctx.message(i));
            ids.add(r.getMsgId());
        }

        Ctx.Tally tally = new Ctx.Tally(ctx.count);
        Push.Errors errors = new Push.Errors();
        DefaultMQPushConsumer c = new DefaultMQPushConsumer(ctx.consumerGroup(), true, null);
        c.setNamesrvAddr(ctx.namesrv);
        c.setInstanceName("traced");
        c.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        c.setPollNameServerInterval(1000);
        c.subscribe(ctx.topic, "*");
        c.registerMessageListener(Push.checking(ctx, tally, errors));
        c.start();
        tally.await("traced push consumer");
        errors.check();
        // The traced clients keep running until their records are read: each trace dispatcher
        // sends its batch within ~100 ms while it runs, but a shutdown right after consuming
        // could lose the consumer's last batch (seen once with 4.9.8 in CI: SubAfter for 0 of 20).

        Set<String> published = new HashSet<>();
        Set<String> consumed = new HashSet<>();
        DefaultMQPushConsumer reader = new DefaultMQPushConsumer(ctx.topic + "_trace_reader");
        reader.setNamesrvAddr(ctx.namesrv);
        reader.setInstanceName("trace-reader");
        reader.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        reader.setPollNameServerInterval(1000);
        reader.subscribe(TRACE_TOPIC, "*");
        reader.registerMessageListener((MessageListenerConcurrently) (msgs, context) -> {
            for (MessageExt m : msgs) {
                String body = new String(m.getBody(), StandardCharsets.UTF_8);
                for (String record : body.split("\u0002")) {
                    String[] fields = record.split("\u0001");
                    for (String id : ids) {
                        if (record.contains(id)) {
                            if ("Pub".equals(fields[0])) {
                                synchronized (published) { published.add(id); }
                            } else if ("SubAfter".equals(fields[0])) {
                                synchronized (consumed) { consumed.add(id); }
                            }
                        }
                    }
                }
            }
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        reader.start();
        long deadline = System.currentTimeMillis() + Ctx.CONSUME_TIMEOUT_MS;
        while (true) {
            int pub;
            int sub;
            synchronized (published) { pub = published.size(); }
            synchronized (consumed) { sub = consumed.size(); }
            if (pub == ctx.count && sub == ctx.count) {
                break;
            }
            require(System.currentTimeMillis() < deadline, "trace records in " + TRACE_TOPIC
                + " after " + Ctx.CONSUME_TIMEOUT_MS + " ms: Pub for " + pub + ", SubAfter for " + sub
                + " of " + ctx.count + " messages");
            Thread.sleep(50);
        }
        reader.shutdown();
        c.shutdown();
        p.shutdown();
        return "received=" + tally.distinct() + " traced_pub=" + published.size()
            + " traced_sub=" + consumed.size();
    }
}
