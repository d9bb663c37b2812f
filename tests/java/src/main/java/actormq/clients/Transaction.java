package actormq.clients;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentSkipListSet;

import org.apache.rocketmq.client.consumer.DefaultLitePullConsumer;
import org.apache.rocketmq.client.producer.LocalTransactionState;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.client.producer.TransactionListener;
import org.apache.rocketmq.client.producer.TransactionMQProducer;
import org.apache.rocketmq.client.producer.TransactionSendResult;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;

import static actormq.clients.Ctx.require;

/**
 * TransactionMQProducer: message i's local transaction commits (i % 3 == 0), rolls back (1) or
 * stays unknown (2) until the broker's check (CHECK_TRANSACTION_STATE) asks, which commits it. A
 * consumer must then read exactly the committed ones (0 and 2), never a rolled-back one, and the
 * check must have asked about every unknown one.
 */
final class Transaction {
    private Transaction() {}

    static int index(Message m) {
        return Integer.parseInt(new String(m.getBody(), StandardCharsets.UTF_8).substring(2));
    }

    static String run(Ctx ctx) throws Exception {
        Set<Integer> checked = new ConcurrentSkipListSet<>();
        TransactionMQProducer p = new TransactionMQProducer(ctx.producerGroup());
        p.setNamesrvAddr(ctx.namesrv);
        p.setSendMsgTimeout(10_000);
        p.setTransactionListener(new TransactionListener() {
            @Override
            public LocalTransactionState executeLocalTransaction(Message msg, Object arg) {
                switch (index(msg) % 3) {
                    case 0: return LocalTransactionState.COMMIT_MESSAGE;
                    case 1: return LocalTransactionState.ROLLBACK_MESSAGE;
                    default: return LocalTransactionState.UNKNOW;
                }
            }

            @Override
            public LocalTransactionState checkLocalTransaction(MessageExt msg) {
                int i = index(msg);
                checked.add(i);
                return i % 3 == 1 ? LocalTransactionState.ROLLBACK_MESSAGE : LocalTransactionState.COMMIT_MESSAGE;
            }
        });
        p.start();
        for (int i = 0; i < ctx.count; i++) {
            TransactionSendResult r = p.sendMessageInTransaction(ctx.message(i), null);
            require(r.getSendStatus() == SendStatus.SEND_OK, "half " + i + ": " + r.getSendStatus());
        }
        Set<Integer> want = new TreeSet<>();
        for (int i = 0; i < ctx.count; i++) {
            if (i % 3 != 1) {
                want.add(i);
            }
        }
        DefaultLitePullConsumer c = LitePull.create(ctx);
        c.subscribe(ctx.topic, "*");
        c.start();
        Set<Integer> seen = new TreeSet<>();
        long deadline = System.currentTimeMillis() + Ctx.CONSUME_TIMEOUT_MS;
        // Then two more seconds: a rolled-back or twice-committed message would show up there.
        long settle = Long.MAX_VALUE;
        while (System.currentTimeMillis() < settle) {
            require(System.currentTimeMillis() < deadline, "received " + seen.size() + " of "
                + want.size() + " committed; checked " + checked.size());
            List<MessageExt> got = c.poll(500);
            for (MessageExt m : got) {
                int i = ctx.check(m);
                require(i % 3 != 1, "rolled-back message " + i + " was delivered");
                require(seen.add(i), "message " + i + " delivered twice");
                require(m.getProperty("TRAN_MSG") == null, "committed message keeps TRAN_MSG");
            }
            if (settle == Long.MAX_VALUE && seen.equals(want)) {
                settle = System.currentTimeMillis() + 2_000;
            }
        }
        c.shutdown();
        p.shutdown();
        for (int i = 2; i < ctx.count; i += 3) {
            require(checked.contains(i), "the broker never checked unknown transaction " + i);
        }
        return "committed=" + seen.size() + " checked=" + checked.size();
    }
}
