//! `UPDATE_CONSUMER_OFFSET` (15, usually oneway), as Java 5.2+ answers it
//! (`ConsumerManageProcessor.updateConsumerOffset`): the group (SUBSCRIPTION_GROUP_NOT_EXIST) and
//! the topic (TOPIC_NOT_EXIST) must exist, so a consumer still committing after its group or topic
//! was deleted does not bring their offsets back.
//!
//! The `SendProcessor` owns both tables. This actor keeps their names (`GroupsKnown`,
//! `TopicsChanged`), so the commit of a known group on a known topic is stored with no hop, and
//! hands any other commit to the owner (`CheckCommit`), which refuses it or hands it back checked
//! (`CommitChecked`). A snapshot alone could refuse a group born a moment ago: a heartbeat or a
//! pull announces a new group to the owner before it is answered, so the owner has the group
//! before any commit that follows that answer, while its snapshot may still be on the way here.

use std::collections::HashSet;
use std::sync::Arc;

use super::super::dispatcher::TopicsChanged;
use super::super::send_processor::CheckCommit;
use super::*;
use actormq::topic::TopicTable;

/// The owner's tables as this actor last heard of them, and the owner.
#[derive(Default)]
pub(super) struct CommitGate {
    groups: Option<Arc<HashSet<String>>>,
    topics: Option<Arc<TopicTable>>,
    owner: Option<CountedRecipient<CheckCommit>>,
}

impl CommitGate {
    /// Whether the snapshots have both the group and the topic.
    fn covers(&self, group: &str, topic: &str) -> bool {
        self.groups.as_ref().is_some_and(|g| g.contains(group))
            && self.topics.as_ref().is_some_and(|t| t.get(topic).is_some())
    }

    /// Whether the topic snapshot has `topic` (true without one). A topic is in it before any
    /// request that follows its creation: the owner publishes the table before it answers the
    /// send, heartbeat or admin request that created it.
    pub(super) fn has_topic(&self, topic: &str) -> bool {
        self.topics.as_ref().is_none_or(|t| t.get(topic).is_some())
    }
}

impl OffsetProcessor {
    /// The topic table at start (then `TopicsChanged`).
    pub fn with_topics(mut self, topics: Arc<TopicTable>) -> Self {
        self.commit_gate.topics = Some(topics);
        self
    }

    /// Stores a commit whose group and topic are known here or were `checked` by the owner, and
    /// hands any other to the owner (stored unchecked while there is none, as before start-up
    /// completes).
    pub(super) fn update_offset(&mut self, req: Request, checked: bool) {
        let h = ExtReader::for_request(&req.cmd);
        // Every field Java's header requires, in its order.
        let parsed = (|| {
            let group = h.str("consumerGroup")?;
            let topic = h.str("topic")?;
            let queue_id: i32 = h.parse("queueId")?;
            let offset: i64 = h.parse("commitOffset")?;
            Ok::<_, HeaderError>((group, topic, queue_id, offset))
        })();
        let (group, topic, queue_id, offset) = match parsed {
            Ok(fields) => fields,
            Err(e) => {
                let response = req.cmd.response_to(e.response_code(), Some(e.to_string()));
                return req.reply.send(response);
            }
        };
        if !checked && !self.commit_gate.covers(group, topic) {
            if let Some(owner) = &self.commit_gate.owner {
                return owner.do_send(CheckCommit(req));
            }
        }
        let response = if self.resets.get(group, topic, queue_id).is_some() {
            // Java's remark; the client's offset predates the reset.
            let remark = "Offset has been previously reset".to_string();
            req.cmd.response_to(response_code::SUCCESS, Some(remark))
        } else {
            self.commit(group, topic, queue_id, offset);
            req.cmd.response_to(response_code::SUCCESS, None)
        };
        req.reply.send(response);
    }
}

impl Handler<TopicsChanged> for OffsetProcessor {
    type Result = ();

    fn handle(&mut self, changed: TopicsChanged, _ctx: &mut Context<Self>) {
        let _timer = stats().offset_processor.handling();
        self.commit_gate.topics = Some(changed.topics);
    }
}

/// The group table's names, with every change of it, from its owner (the `SendProcessor`),
/// named as where commits of other groups are checked.
#[derive(Message)]
#[rtype(result = "()")]
pub struct GroupsKnown {
    pub groups: Arc<HashSet<String>>,
    pub owner: CountedRecipient<CheckCommit>,
}

impl Handler<GroupsKnown> for OffsetProcessor {
    type Result = ();

    fn handle(&mut self, known: GroupsKnown, _ctx: &mut Context<Self>) {
        let _timer = stats().offset_processor.handling();
        self.commit_gate.groups = Some(known.groups);
        self.commit_gate.owner = Some(known.owner);
    }
}

/// A commit the owner of the tables found both the group and the topic for.
#[derive(Message)]
#[rtype(result = "()")]
pub struct CommitChecked(pub Request);

impl Handler<CommitChecked> for OffsetProcessor {
    type Result = ();

    fn handle(&mut self, CommitChecked(req): CommitChecked, _ctx: &mut Context<Self>) {
        let _timer = stats().offset_processor.handling();
        self.update_offset(req, true);
    }
}
