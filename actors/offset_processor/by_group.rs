//! The `OffsetProcessor`'s reads of one group's offsets the RocketMQ Dashboard asks for:
//! `QUERY_CONSUME_TIME_SPAN` (303: per write queue of a topic, the store times around the
//! group's offset, forwarded with the offsets to the `Dispatcher`, which holds the queues) and
//! `QUERY_TOPICS_BY_CONSUMER` (343: the topics the group has offsets on, answered here from the
//! table, as Java's `whichTopicByConsumer`).

use super::*;

impl OffsetProcessor {
    /// 303: header `topic`, `group` (both `@CFNotNull`); the group's committed offsets on the
    /// topic go to the `Dispatcher`, which answers.
    pub(super) fn consume_time_span(&mut self, req: Request) {
        let h = ExtReader::for_request(&req.cmd);
        let parsed = h.str("topic").and_then(|t| Ok((t, h.str("group")?)));
        let (topic, group) = match parsed {
            Ok(p) => p,
            Err(e) => {
                let response = req.cmd.response_to(e.response_code(), Some(e.to_string()));
                return req.reply.send(response);
            }
        };
        let offsets = self
            .table
            .group_offsets(group, Some(topic))
            .into_iter()
            .next()
            .map(|(_, queues)| queues)
            .unwrap_or_default();
        let kind = QueryKind::ConsumeTimeSpan {
            topic: topic.to_string(),
            offsets,
            broker_name: self.broker_name.clone(),
        };
        forward(&self.dispatcher, kind, &req.cmd, req.reply);
    }

    /// 343: header `group` (`@CFNotNull`); Java's `TopicList` with this broker's address
    /// (`{"brokerAddr":..,"topicList":[..]}`), none: an empty list.
    pub(super) fn topics_by_consumer(&self, cmd: &RemotingCommand) -> RemotingCommand {
        let group = match ExtReader::for_request(cmd).str("group") {
            Ok(g) => g,
            Err(e) => return cmd.response_to(e.response_code(), Some(e.to_string())),
        };
        let body = serde_json::json!({
            "brokerAddr": self.broker_addr,
            "topicList": self.table.topics_of_group(group),
        });
        cmd.response_to(response_code::SUCCESS, None)
            .with_body(body.to_string().into_bytes().into())
    }
}
