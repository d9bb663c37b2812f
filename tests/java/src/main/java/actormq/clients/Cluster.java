package actormq.clients;

import java.util.Map;
import java.util.TreeMap;

import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;

import static actormq.clients.Ctx.require;

/**
 * Cluster scenarios (issue 14): a stock producer against a name server that several brokers
 * registered with. It routes as it always does (TBW102 for a new topic, then the topic's own route,
 * refreshed every second here) and retries a failed send on another broker (its default
 * retryTimesWhenSendFailed = 2). Every send must end SEND_OK; the result names how many landed on
 * each broker.
 */
final class Cluster {
    private Cluster() {}

    /** Sends messages 0..count-1 synchronously, {@code pauseMs} apart. */
    static String send(Ctx ctx, long pauseMs) throws Exception {
        DefaultMQProducer p = new DefaultMQProducer(ctx.producerGroup());
        p.setNamesrvAddr(ctx.namesrv);
        p.setSendMsgTimeout(5_000);
        p.setPollNameServerInterval(1000);
        p.start();
        Map<String, Integer> perBroker = new TreeMap<>();
        for (int i = 0; i < ctx.count; i++) {
            SendResult r = p.send(ctx.message(i));
            require(r.getSendStatus() == SendStatus.SEND_OK, "message " + i + ": " + r);
            perBroker.merge(r.getMessageQueue().getBrokerName(), 1, Integer::sum);
            if (pauseMs > 0) {
                Thread.sleep(pauseMs);
            }
        }
        p.shutdown();
        StringBuilder brokers = new StringBuilder();
        for (Map.Entry<String, Integer> e : perBroker.entrySet()) {
            brokers.append(brokers.length() == 0 ? "" : ",").append(e.getKey()).append(':').append(e.getValue());
        }
        return "sent=" + ctx.count + " brokers=" + brokers;
    }
}
