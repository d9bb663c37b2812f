package actormq.clients;

import java.util.Arrays;

/**
 * Entry point: {@code java -jar clients-<version>.jar <scenario> <namesrv> <topic> <count>}.
 *
 * <p>Each scenario prints progress lines and, last, {@code OK <scenario> key=value ...}; on a failed
 * check it prints {@code FAIL <scenario>: <why>} and exits 1 (2 for bad usage, 3 when the scenario
 * does not apply to this client version). Groups are derived from the topic ({@code <topic>_pg},
 * {@code <topic>_cg}), so a consumer scenario run after a producer scenario on the same topic reads
 * what it sent. Message i has body {@code m-i}, key {@code k-i} and tag {@code T(i%3)}.
 */
public final class Main {
    public static void main(String[] args) {
        // Rebalance every second instead of every 20 s, so new queues (the %RETRY% topic's route
        // arrives after the first heartbeat creates it) are picked up quickly. Must be set before
        // any client class loads.
        System.setProperty("rocketmq.client.rebalance.waitInterval", "1000");
        if (args.length != 4) {
            System.err.println("usage: <scenario> <namesrv host:port> <topic> <count>");
            System.exit(2);
        }
        Ctx ctx = new Ctx(args[1], args[2], Integer.parseInt(args[3]));
        String scenario = args[0];
        System.out.println("client " + Ctx.clientVersion() + " scenario " + scenario + " "
            + String.join(" ", Arrays.copyOfRange(args, 1, 4)));
        try {
            String result = run(scenario, ctx);
            System.out.println("OK " + scenario + " " + result);
            System.out.flush();
            System.exit(0);
        } catch (Ctx.NotApplicable e) {
            System.out.println("N/A " + scenario + ": " + e.getMessage());
            System.exit(3);
        } catch (Throwable e) {
            e.printStackTrace(System.out);
            System.out.println("FAIL " + scenario + ": " + e);
            System.out.flush();
            System.exit(1);
        }
    }

    static String run(String scenario, Ctx ctx) throws Exception {
        switch (scenario) {
            case "send-sync": return Produce.sync(ctx);
            case "send-async": return Produce.async(ctx);
            case "send-oneway": return Produce.oneway(ctx);
            case "send-batch": return Produce.batch(ctx);
            case "send-orderly": return Produce.orderly(ctx);
            case "pull-subscribe": return LitePull.subscribe(ctx);
            case "pull-assign": return LitePull.assign(ctx);
            case "push": return Push.concurrently(ctx);
            case "push-restart": return Push.restart(ctx);
            case "push-broadcast": return Push.broadcast(ctx);
            case "delay-level": return Push.delayLevel(ctx);
            case "deliver-time": return Push.deliverTime(ctx);
            case "push-reconsume-later": return Push.reconsumeLater(ctx);
            case "push-orderly": return Push.orderly(ctx);
            case "push-reset": return Push.reset(ctx);
            case "push-hold": return Push.hold(ctx);
            case "request-reply": return RequestReply.run(ctx);
            case "transaction": return Transaction.run(ctx);
            case "trace": return Trace.run(ctx);
            case "sql-send": return SqlFilter.send(ctx);
            case "push-sql": return SqlFilter.push(ctx);
            case "push-sql-refused": return SqlFilter.refused(ctx);
            case "cluster-send": return Cluster.send(ctx, 0);
            case "cluster-send-steady": return Cluster.send(ctx, 100);
            default: throw new IllegalArgumentException("unknown scenario " + scenario);
        }
    }
}
