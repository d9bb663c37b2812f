package actormq.clients;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.MessageSelector;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.exception.MQClientException;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;

import static actormq.clients.Ctx.require;

/**
 * SQL92 subscriptions ({@code MessageSelector.bySql}) over user properties. Message i of the shared
 * scheme also carries {@code a=i} and {@code color=red} (even i) or {@code blue} (odd i).
 */
final class SqlFilter {
    private SqlFilter() {}

    /** Numbers compared with a property's text, BETWEEN, AND over OR, a string equality. */
    static final String SELECTOR = "a BETWEEN 10 AND 29 AND color = 'red' OR a = 3";

    static boolean selected(int i) {
        return (i >= 10 && i <= 29 && i % 2 == 0) || i == 3;
    }

    /** Sends message i with its properties. */
    static String send(Ctx ctx) throws Exception {
        DefaultMQProducer p = new DefaultMQProducer(ctx.producerGroup());
        p.setNamesrvAddr(ctx.namesrv);
        p.start();
        try {
            for (int i = 0; i < ctx.count; i++) {
                Message m = ctx.message(i);
                m.putUserProperty("a", String.valueOf(i));
                m.putUserProperty("color", i % 2 == 0 ? "red" : "blue");
                SendResult r = p.send(m);
                require(r.getSendStatus() == SendStatus.SEND_OK, "send " + i + ": " + r.getSendStatus());
            }
        } finally {
            p.shutdown();
        }
        return "sent=" + ctx.count;
    }

    static DefaultMQPushConsumer consumer(Ctx ctx) throws MQClientException {
        DefaultMQPushConsumer c = new DefaultMQPushConsumer(ctx.consumerGroup());
        c.setNamesrvAddr(ctx.namesrv);
        c.setInstanceName("sql");
        c.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        c.setPollNameServerInterval(1000);
        c.subscribe(ctx.topic, MessageSelector.bySql(SELECTOR));
        return c;
    }

    /** A push consumer with the selector gets exactly the selected messages, once each. */
    static String push(Ctx ctx) throws Exception {
        int expected = 0;
        for (int i = 0; i < ctx.count; i++) {
            if (selected(i)) {
                expected++;
            }
        }
        Map<Integer, Integer> got = new ConcurrentHashMap<>();
        Push.Errors errors = new Push.Errors();
        DefaultMQPushConsumer c = consumer(ctx);
        c.registerMessageListener((MessageListenerConcurrently) (msgs, context) -> {
            for (MessageExt m : msgs) {
                try {
                    got.merge(ctx.check(m), 1, Integer::sum);
                } catch (RuntimeException e) {
                    errors.record(e);
                }
            }
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        c.start();
        long deadline = System.currentTimeMillis() + Ctx.CONSUME_TIMEOUT_MS;
        while (countSelected(got) < expected && System.currentTimeMillis() < deadline) {
            Thread.sleep(50);
        }
        Thread.sleep(2000); // a message the selector does not select would have come by now
        c.shutdown();
        errors.check();
        int unexpected = 0;
        int duplicates = 0;
        for (Map.Entry<Integer, Integer> e : got.entrySet()) {
            if (!selected(e.getKey())) {
                unexpected++;
            }
            if (e.getValue() > 1) {
                duplicates++;
            }
        }
        require(countSelected(got) == expected,
            "received " + countSelected(got) + " of the " + expected + " selected: " + got.keySet());
        require(unexpected == 0, unexpected + " received that the selector does not select: " + got.keySet());
        return "received=" + expected + " unexpected=0 duplicates=" + duplicates;
    }

    private static int countSelected(Map<Integer, Integer> got) {
        int n = 0;
        for (int i : got.keySet()) {
            if (selected(i)) {
                n++;
            }
        }
        return n;
    }

    /** A broker that does not serve SQL92 refuses the consumer at start, with its reason. */
    static String refused(Ctx ctx) throws Exception {
        DefaultMQPushConsumer c = consumer(ctx);
        c.registerMessageListener((MessageListenerConcurrently) (msgs, context) ->
            ConsumeConcurrentlyStatus.CONSUME_SUCCESS);
        try {
            c.start();
        } catch (MQClientException e) {
            c.shutdown();
            String why = String.valueOf(e.getMessage());
            require(why.contains("does not support consumer to filter message by SQL92"),
                "refused for another reason: " + why);
            return "refused=true";
        }
        c.shutdown();
        throw new IllegalStateException("the consumer started on a broker without SQL92 filtering");
    }
}
