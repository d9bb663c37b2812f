// Writes java-5.3.3-body.bin: a RegisterBrokerBody as a stock 5.3.3 broker with
// compressedRegister=true sends it (RegisterBrokerBody.encode(true)), and prints what the Java name
// server reads back from it (RegisterBrokerBody.decode(bytes, true, V5_3_3)); the unit tests in
// tests.rs expect the same. Run with the jars of tests/java-server:
//   javac -cp 'tests/java-server/target/lib/*' -d /tmp JavaBody.java
//   java -cp 'tests/java-server/target/lib/*:/tmp' JavaBody java-5.3.3-body.bin
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.rocketmq.common.MQVersion;
import org.apache.rocketmq.common.TopicConfig;
import org.apache.rocketmq.common.TopicFilterType;
import org.apache.rocketmq.remoting.protocol.DataVersion;
import org.apache.rocketmq.remoting.protocol.body.RegisterBrokerBody;
import org.apache.rocketmq.remoting.protocol.statictopic.TopicQueueMappingInfo;

public class JavaBody {
    public static void main(String[] args) throws Exception {
        RegisterBrokerBody body = new RegisterBrokerBody();
        DataVersion version = new DataVersion();
        version.setTimestamp(1700000000123L);
        version.setCounter(new AtomicLong(7));
        version.setStateVersion(2);
        body.getTopicConfigSerializeWrapper().setDataVersion(version);
        ConcurrentMap<String, TopicConfig> topics = body.getTopicConfigSerializeWrapper().getTopicConfigTable();
        TopicConfig orders = new TopicConfig("orders", 8, 4, 6);
        orders.setTopicSysFlag(3); // not in the compressed form: read back as 0
        orders.setOrder(true); // neither
        topics.put("orders", orders);
        topics.put("TBW102", new TopicConfig("TBW102", 8, 8, 7));
        TopicConfig tagged = new TopicConfig("tagged", 2, 2, 4);
        tagged.setTopicFilterType(TopicFilterType.MULTI_TAG);
        Map<String, String> attributes = new HashMap<>();
        attributes.put("+message.type", "FIFO");
        tagged.setAttributes(attributes);
        topics.put("tagged", tagged);
        TopicQueueMappingInfo mapping = new TopicQueueMappingInfo("orders", 2, "broker-j", 1);
        mapping.getCurrIdMap().put(0, 0);
        mapping.getCurrIdMap().put(1, 1);
        Map<String, TopicQueueMappingInfo> mappings = new HashMap<>();
        mappings.put("orders", mapping);
        body.getTopicConfigSerializeWrapper().setTopicQueueMappingInfoMap(mappings);

        byte[] bytes = body.encode(true);
        Files.write(Paths.get(args[0]), bytes);

        RegisterBrokerBody back = RegisterBrokerBody.decode(bytes, true, MQVersion.Version.V5_3_3);
        System.out.println(back.getTopicConfigSerializeWrapper().getDataVersion().toJson());
        for (TopicConfig t : new TreeMap<>(back.getTopicConfigSerializeWrapper().getTopicConfigTable()).values()) {
            System.out.println(t);
        }
        System.out.println(back.getTopicConfigSerializeWrapper().getTopicQueueMappingInfoMap());
    }
}
