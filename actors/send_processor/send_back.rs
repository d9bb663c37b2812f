//! `CONSUMER_SEND_MSG_BACK` (36): a consumer hands back a message it failed to consume; the
//! original is looked up (the `Dispatcher`), then stored again in `%RETRY%<group>` (scheduled by
//! its delay level) or `%DLQ%<group>`.

use super::*;

/// A send-back between the record lookup and the append.
pub struct PendingSendBack {
    plan: SendBackPlan,
    reply: ReplyTo,
    response: RemotingCommand,
}

impl SendProcessor {
    /// `CONSUMER_SEND_MSG_BACK` (36): the plan, then the `Dispatcher` is asked for the record.
    pub(super) fn send_back(&mut self, req: Request, ctx: &mut Context<Self>) {
        let response = req.cmd.response_to(response_code::SUCCESS, None);
        let plan = match self.plan_send_back(&req) {
            Ok(Some(plan)) => plan,
            Ok(None) => return req.reply.send(response),
            Err(refusal) => return refuse(req.reply, response, refusal),
        };
        let (offset, looked) = (plan.offset, Mailbox::new(ctx.address()).recipient());
        let then = PendingSendBack {
            plan,
            reply: req.reply,
            response,
        };
        let look = LookMessage {
            offset,
            then,
            reply: looked,
        };
        if let Err(SendError::Full(m) | SendError::Closed(m)) = self.dispatcher.try_send(look) {
            let busy = (response_code::SYSTEM_BUSY, OVERLOAD_REMARK.to_string());
            refuse(m.then.reply, m.then.response, busy);
        }
    }

    /// Java's steps before the record lookup: the group (created if unknown), `retryQueueNums <= 0`
    /// acknowledged and dropped (`None`), the `%RETRY%` topic (created, must be writable), the max.
    fn plan_send_back(&mut self, req: &Request) -> Result<Option<SendBackPlan>, Refusal> {
        let h = SendBackHeader::decode(&req.cmd).map_err(|e| (e.response_code(), e.to_string()))?;
        let Some((group, topic)) = self.retry_topic_of(&h.group, h.unit_mode)? else {
            return Ok(None);
        };
        if !topic.writable() {
            let remark = format!(
                "the topic[{}] sending message is forbidden",
                topic.topic_name
            );
            return Err((response_code::NO_PERMISSION, remark));
        }
        self.send_backs = self.send_backs.wrapping_add(1);
        let version = req.cmd.version;
        Ok(Some(SendBackPlan {
            max: retry::max_reconsume_times(group.retry_max_times, h.max_reconsume_times, version),
            retry_queue_id: (self.send_backs % topic.write_queue_nums.max(1) as u32) as i32,
            store_host: self.store_host,
            group: h.group,
            offset: h.offset,
            delay_level: h.delay_level,
        }))
    }
}

/// The original of a send-back, looked up: retry or DLQ (created on demand), record appended.
impl Handler<MessageLooked<PendingSendBack>> for SendProcessor {
    type Result = ();

    fn handle(&mut self, msg: MessageLooked<PendingSendBack>, _ctx: &mut Context<Self>) {
        let _timer = stats().send_processor.handling();
        let PendingSendBack {
            plan,
            reply,
            response,
        } = msg.then;
        let new = match plan.apply(msg.record.as_deref()) {
            Ok(new) => new,
            Err(refusal) => return refuse(reply, response, refusal),
        };
        if new.target == SendBackTarget::DeadLetter {
            if let Err(refusal) =
                self.ensure_topic(&new.message.topic, retry::DLQ_NUMS_PER_GROUP, 0)
            {
                return refuse(reply, response, refusal);
            }
            info!(topic = %new.original_topic, dlq = %new.message.topic, offset = plan.offset, reconsume_times = new.reconsume_times, max = plan.max, "message sent back to the dead-letter queue");
        }
        let prepared = match Prepared::single(new.message, &self.delay_levels) {
            Ok(p) => p,
            Err((_, why)) => return refuse(reply, response, retry::put_refusal(&why)),
        };
        let done = move |outcome| reply.send(retry::send_back_response(response, outcome));
        self.append_one(prepared, Box::new(done));
    }
}
