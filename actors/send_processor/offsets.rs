//! The offset requests this actor checks against its topic and group tables before the
//! `OffsetProcessor`, which owns the offsets, does them: an offset reset (222) and a consumer's
//! offset commit (15) of a group or topic the `OffsetProcessor`'s snapshot of the tables lacks.

use super::super::offset_processor::CommitChecked;
use super::*;

/// An `UPDATE_CONSUMER_OFFSET` whose group or topic the `OffsetProcessor`'s snapshot of the
/// tables lacks: refused as Java 5.2+ refuses it (`ConsumerManageProcessor.updateConsumerOffset`:
/// group first, then topic), or handed back to be stored.
#[derive(Message)]
#[rtype(result = "()")]
pub struct CheckCommit(pub Request);

impl Handler<CheckCommit> for SendProcessor {
    type Result = ();

    fn handle(&mut self, CheckCommit(req): CheckCommit, _ctx: &mut Context<Self>) {
        let _timer = stats().send_processor.handling();
        let ext = ExtReader::for_request(&req.cmd);
        // Both present: the OffsetProcessor parsed the header before handing it here.
        let (group, topic) = (ext.opt_str("consumerGroup"), ext.opt_str("topic"));
        let (group, topic) = (group.unwrap_or_default(), topic.unwrap_or_default());
        let refusal = if self.groups.get(group).is_none() {
            let remark = format!("Group {group} not exist!");
            Some((response_code::SUBSCRIPTION_GROUP_NOT_EXIST, remark))
        } else if self.topics.get(topic).is_none() {
            Some((
                response_code::TOPIC_NOT_EXIST,
                format!("Topic {topic} not exist!"),
            ))
        } else {
            None
        };
        match (refusal, &self.offsets) {
            (None, Some(offsets)) => offsets.do_send(CommitChecked(req)),
            (Some((code, remark)), _) => {
                debug!(peer = %req.peer, %remark, "consumer offset commit refused");
                req.reply.send(req.cmd.response_to(code, Some(remark)));
            }
            // Not in a broker (the OffsetProcessor is the one that asked), but never unanswered.
            (None, None) => {
                let remark = "offsets are not served by this broker".to_string();
                req.reply.send(
                    req.cmd
                        .response_to(response_code::SYSTEM_ERROR, Some(remark)),
                );
            }
        }
    }
}

impl SendProcessor {
    /// `INVOKE_BROKER_TO_RESET_OFFSET` (222, `mqadmin resetOffsetByTime`), as Java 5.2+ does it on
    /// the broker (`useServerSideResetOffset`): refused on a slave, for an unknown topic
    /// (TOPIC_NOT_EXIST) or group (SUBSCRIPTION_GROUP_NOT_EXIST), which this actor's tables
    /// answer; the `OffsetProcessor` does the reset and answers.
    pub(super) fn reset_offset(&mut self, req: Request) {
        let cmd = &req.cmd;
        let refuse = |code: i32, remark: String| req.cmd.response_to(code, Some(remark));
        let parsed = (|| {
            let ext = ExtReader::for_request(cmd);
            let topic = ext.str("topic")?.to_string();
            let group = ext.str("group")?.to_string();
            let timestamp: i64 = ext.parse("timestamp")?;
            // Required by Java's header; the server-side reset does not use it.
            ext.java_bool("isForce")?;
            let queue_id: i32 = ext.opt_parse("queueId")?.unwrap_or(-1);
            let offset: Option<i64> = ext.opt_parse("offset")?;
            Ok::<_, HeaderError>((
                group,
                ResetTargets {
                    topic,
                    queue_id,
                    timestamp,
                    offset,
                },
            ))
        })();
        let response = match parsed {
            Err(e) => refuse(e.response_code(), e.to_string()),
            Ok(_) if self.slave => refuse(
                response_code::SYSTEM_ERROR,
                "Can not reset offset in slave broker".into(),
            ),
            Ok((_, t)) if self.topics.get(&t.topic).is_none() => refuse(
                response_code::TOPIC_NOT_EXIST,
                format!("Topic {} does not exist", t.topic),
            ),
            Ok((group, _)) if self.groups.get(&group).is_none() => refuse(
                response_code::SUBSCRIPTION_GROUP_NOT_EXIST,
                format!("Group {group} does not exist"),
            ),
            Ok((group, targets)) => match &self.offsets {
                Some(offsets) => {
                    info!(group, topic = %targets.topic, timestamp = targets.timestamp,
                        queue_id = targets.queue_id, peer = %req.peer, "offset reset asked");
                    let response = cmd.response_to(response_code::SUCCESS, None);
                    return offsets.do_send(ResetOffsets {
                        group,
                        targets,
                        response,
                        reply: req.reply,
                    });
                }
                None => refuse(
                    response_code::SYSTEM_ERROR,
                    "offsets are not served by this broker".into(),
                ),
            },
        };
        req.reply.send(response);
    }
}
