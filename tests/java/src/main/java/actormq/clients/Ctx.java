package actormq.clients;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.TreeMap;

import org.apache.rocketmq.common.MQVersion;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;

/** What a scenario is run with, and the message scheme every scenario shares. */
final class Ctx {
    /** How long a consumer scenario waits for everything it expects. */
    static final long CONSUME_TIMEOUT_MS = 60_000;

    final String namesrv;
    final String topic;
    final int count;

    Ctx(String namesrv, String topic, int count) {
        this.namesrv = namesrv;
        this.topic = topic;
        this.count = count;
    }

    String producerGroup() { return topic + "_pg"; }
    String consumerGroup() { return topic + "_cg"; }

    static String clientVersion() {
        return MQVersion.getVersionDesc(MQVersion.CURRENT_VERSION);
    }

    static boolean is5x() {
        return clientVersion().startsWith("V5");
    }

    /** Message i of the shared scheme. */
    Message message(int i) {
        return new Message(topic, "T" + (i % 3), "k-" + i, ("m-" + i).getBytes(StandardCharsets.UTF_8));
    }

    /** Checks a received message against the scheme and returns its i. */
    int check(MessageExt m) {
        String body = new String(m.getBody(), StandardCharsets.UTF_8);
        require(body.startsWith("m-"), "unexpected body " + body);
        int i = Integer.parseInt(body.substring(2));
        require(i >= 0 && i < count, "index out of range: " + body);
        require(topic.equals(m.getTopic()), "message " + i + " has topic " + m.getTopic());
        require(("k-" + i).equals(m.getKeys()), "message " + i + " has keys " + m.getKeys());
        require(("T" + (i % 3)).equals(m.getTags()), "message " + i + " has tags " + m.getTags());
        return i;
    }

    static void require(boolean ok, String what) {
        if (!ok) {
            throw new IllegalStateException(what);
        }
    }

    /** Counts deliveries per message index: everything received once, duplicates, missing. */
    static final class Tally {
        final int count;
        final Map<Integer, Integer> seen = new TreeMap<>();
        int deliveries;

        Tally(int count) { this.count = count; }

        synchronized void add(int i) {
            seen.merge(i, 1, Integer::sum);
            deliveries++;
        }

        synchronized boolean complete() { return seen.size() == count; }
        synchronized int distinct() { return seen.size(); }
        synchronized int duplicates() { return deliveries - seen.size(); }

        synchronized String missing() {
            StringBuilder s = new StringBuilder();
            int shown = 0;
            for (int i = 0; i < count && shown < 10; i++) {
                if (!seen.containsKey(i)) {
                    s.append(shown++ == 0 ? "" : ",").append(i);
                }
            }
            return s.toString();
        }

        /** Waits until every message was seen once, or fails after the consume timeout. */
        void await(String what) throws InterruptedException {
            long deadline = System.currentTimeMillis() + CONSUME_TIMEOUT_MS;
            while (!complete()) {
                if (System.currentTimeMillis() > deadline) {
                    throw new IllegalStateException(what + ": received " + distinct() + " of " + count
                        + " distinct in " + CONSUME_TIMEOUT_MS + " ms; first missing: " + missing());
                }
                Thread.sleep(20);
            }
        }
    }

    /** Thrown by a scenario that does not exist for this client version. */
    static final class NotApplicable extends RuntimeException {
        NotApplicable(String why) { super(why); }
    }
}
