package actormq.clients;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.RequestCallback;
import org.apache.rocketmq.client.utils.MessageUtil;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;

import static actormq.clients.Ctx.require;

/**
 * Request-reply (RocketMQ 4.6+'s RPC mode): a requester calls {@code DefaultMQProducer.request}
 * (with a callback) for each message; a push consumer answers each with {@code MessageUtil.createReplyMessage}
 * (to {@code <cluster>_REPLY_TOPIC}, which needs the CLUSTER property the broker adds), sent by
 * its own producer as SEND_REPLY_MESSAGE_V2; the broker pushes the reply to the requester
 * (PUSH_REPLY_MESSAGE_TO_CLIENT), whose {@code request} returns it.
 */
final class RequestReply {
    private RequestReply() {}

    static String run(Ctx ctx) throws Exception {
        DefaultMQProducer replier = new DefaultMQProducer(ctx.topic + "_replier");
        replier.setNamesrvAddr(ctx.namesrv);
        replier.setInstanceName("replier");
        replier.start();
        Push.Errors errors = new Push.Errors();
        DefaultMQPushConsumer c = Push.create(ctx, "reply-consumer");
        c.registerMessageListener((MessageListenerConcurrently) (msgs, context) -> {
            for (MessageExt m : msgs) {
                try {
                    String body = new String(m.getBody(), StandardCharsets.UTF_8);
                    Message reply = MessageUtil.createReplyMessage(m,
                        ("re:" + body).getBytes(StandardCharsets.UTF_8));
                    replier.send(reply, 10_000);
                } catch (Exception e) {
                    errors.record(e);
                }
            }
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        c.start();
        DefaultMQProducer requester = Produce.start(ctx);
        long t0 = System.currentTimeMillis();
        for (int i = 0; i < ctx.count; i++) {
            // The callback form: the blocking request(msg, timeout) of 5.3.1+ clients returns
            // before any reply can come, whatever the broker (apache/rocketmq#9319: the send's
            // callback releases the wait). Since 4.9.4 the callback also hears onSuccess(null)
            // when the request is stored, before the reply's onSuccess: that one is skipped.
            CompletableFuture<Message> answer = new CompletableFuture<>();
            requester.request(ctx.message(i), new RequestCallback() {
                @Override
                public void onSuccess(Message message) {
                    if (message != null) {
                        answer.complete(message);
                    }
                }

                @Override
                public void onException(Throwable e) {
                    answer.completeExceptionally(e);
                }
            }, 20_000);
            Message reply = answer.get(30, TimeUnit.SECONDS);
            errors.check();
            require(reply != null, "request " + i + " got no reply");
            String body = new String(reply.getBody(), StandardCharsets.UTF_8);
            require(body.equals("re:m-" + i), "request " + i + " got the reply " + body);
        }
        long ms = System.currentTimeMillis() - t0;
        requester.shutdown();
        c.shutdown();
        replier.shutdown();
        errors.check();
        return "replied=" + ctx.count + " ms=" + ms;
    }
}
