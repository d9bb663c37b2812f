//! The `OffsetProcessor`'s admin reads answered by the `Dispatcher`: `GET_CONSUME_STATS` (208,
//! `mqadmin consumerProgress`: one group's offsets from the table, the queues' ends from the
//! Dispatcher), and the two that need the online consumers' subscriptions as well:
//! `GET_BROKER_CONSUME_STATS` (317, `mqadmin brokerConsumeStats`) and `QUERY_CONSUME_QUEUE` (321,
//! `mqadmin queryCq`). `CLONE_GROUP_OFFSET` (314, `mqadmin cloneGroupOffset`) is answered here,
//! after the same question when the source group may be online. Each of those asks the `ClientManager` (which
//! introduced itself with [`SubscriptionSource`]) for the subscriptions, without pausing this
//! actor, then forwards the query to the `Dispatcher`, which answers through the request's
//! `ReplyTo`, as GET_CONSUME_STATS (208) does. Before the `ClientManager` is known (or if it
//! stopped), no consumer counts as online.
//!
//! GET_BROKER_CONSUME_STATS walks the groups of the offset table: Java walks the
//! subscription-group table (which this actor does not own), so a group with a configuration
//! but no offsets, which Java lists with an empty list, is left out here, and a group with
//! offsets but no configuration (deleted without `cleanOffset`), which Java leaves out, is listed.
//! Neither changes `mqadmin brokerConsumeStats`'s rows or its "Diff Total" in the first case.

use std::collections::{BTreeMap, BTreeSet};

use super::super::client_manager::{AskSubscriptions, ClientManager};
use super::*;
use actormq::client_registry::Subscription;
use actormq::consume_queue_query::QueryConsumeQueue;
use actormq::topic_stats::subscribed_topics_only;

/// Group -> topic -> subscription, for the groups asked about that have a live consumer.
type Subscriptions = BTreeMap<String, BTreeMap<String, Subscription>>;

impl OffsetProcessor {
    /// 208: the group's offsets (on `topic` only, if given), forwarded.
    pub(super) fn consume_stats(&mut self, req: Request) {
        let h = ExtReader::for_request(&req.cmd);
        let group = match h.str("consumerGroup") {
            Ok(g) => g,
            Err(e) => {
                let response = req.cmd.response_to(e.response_code(), Some(e.to_string()));
                return req.reply.send(response);
            }
        };
        let kind = QueryKind::ConsumeStats {
            group: group.to_string(),
            offsets: self.table.group_offsets(group, h.opt_str("topic")),
            broker_name: self.broker_name.clone(),
        };
        forward(&self.dispatcher, kind, &req.cmd, req.reply);
    }

    /// 317: every group's offsets, less the topics an online group does not subscribe to.
    /// `isOrder` is a primitive `boolean` in Java: absent, or anything but "true", is false.
    pub(super) fn broker_consume_stats(&mut self, req: Request, ctx: &mut Context<Self>) {
        let order_only = ExtReader::for_request(&req.cmd)
            .opt_java_bool("isOrder")
            .unwrap_or(false);
        let groups = self.table.offsets_by_group();
        let names = groups.iter().map(|(g, _)| g.clone()).collect();
        self.with_subscriptions(names, req, ctx, move |act, subscriptions| {
            let mut groups = groups;
            subscribed_topics_only(&mut groups, &subscriptions);
            QueryKind::BrokerConsumeStats {
                groups,
                order_only,
                broker_name: act.broker_name.clone(),
                broker_addr: act.broker_addr.clone(),
            }
        });
    }

    /// 321: the query, with the named group's online subscription of the topic.
    pub(super) fn query_consume_queue(&mut self, req: Request, ctx: &mut Context<Self>) {
        let query = match QueryConsumeQueue::from_ext(&ExtReader::for_request(&req.cmd)) {
            Ok(q) => q,
            Err(e) => {
                let response = req.cmd.response_to(e.response_code(), Some(e.to_string()));
                return req.reply.send(response);
            }
        };
        let names = query.consumer_group.iter().cloned().collect();
        self.with_subscriptions(names, req, ctx, move |_, mut subscriptions| {
            let subscription = query
                .consumer_group
                .as_ref()
                .and_then(|g| subscriptions.remove(g))
                .and_then(|mut topics| topics.remove(&query.topic));
            QueryKind::ConsumeQueue {
                query,
                subscription,
            }
        });
    }

    /// 314: `srcGroup`'s offsets on `topic` (blank: on every topic it has offsets on) copied to
    /// `destGroup`, as Java's `cloneGroupOffset`: unless `offline`, a source group with a consumer
    /// online keeps only the topics it subscribes to. Two differences from Java: a blank topic
    /// clones every topic (Java 5.3.3 then passes the blank topic itself to `cloneOffset` and
    /// copies nothing; `mqadmin` always sends one), and topics are not checked against the topic
    /// table (this actor does not own it): the source's offsets name the topics it consumed.
    pub(super) fn clone_group_offset(&mut self, req: Request, ctx: &mut Context<Self>) {
        let h = ExtReader::for_request(&req.cmd);
        let parsed = h
            .str("srcGroup")
            .and_then(|src| Ok((src, h.str("destGroup")?)));
        let (src, dest) = match parsed {
            Ok((src, dest)) => (src.to_string(), dest.to_string()),
            Err(e) => {
                let response = req.cmd.response_to(e.response_code(), Some(e.to_string()));
                return req.reply.send(response);
            }
        };
        let topics = match h.opt_str("topic").filter(|t| !t.trim().is_empty()) {
            Some(topic) => BTreeSet::from([topic.to_string()]),
            None => self.table.topics_of_group(&src),
        };
        let offline = h.opt_java_bool("offline").unwrap_or(false);
        let Request { cmd, reply, .. } = req;
        let asked = vec![src.clone()];
        let clone = move |act: &mut Self, online: Option<BTreeMap<String, Subscription>>| {
            let subscribed = |t: &&String| online.as_ref().is_none_or(|s| s.contains_key(*t));
            let topics = topics.iter().filter(subscribed).map(String::as_str);
            if act.table.clone_offsets(&src, &dest, topics) {
                act.dirty = true;
                info!(src = %src, dest = %dest, "consumer offsets cloned");
            }
            reply.send(cmd.response_to(response_code::SUCCESS, None));
        };
        match self.clients.clone().filter(|_| !offline) {
            None => clone(self, None),
            Some(clients) => clients
                .send(AskSubscriptions { groups: asked })
                .into_actor(self)
                .map(move |answer, act, _| {
                    // One group asked: what came back, if anything, is its.
                    let online = answer.unwrap_or_default().into_values().next();
                    clone(act, online)
                })
                .spawn(ctx),
        }
    }

    /// Asks the `ClientManager` for the subscriptions of `groups` (none asked: none), builds the
    /// query with them and forwards it to the `Dispatcher`.
    fn with_subscriptions(
        &mut self,
        groups: Vec<String>,
        req: Request,
        ctx: &mut Context<Self>,
        query: impl FnOnce(&mut Self, Subscriptions) -> QueryKind + 'static,
    ) {
        let Request { cmd, reply, .. } = req;
        match self.clients.as_ref().filter(|_| !groups.is_empty()) {
            None => {
                let kind = query(self, Subscriptions::new());
                forward(&self.dispatcher, kind, &cmd, reply);
            }
            Some(clients) => clients
                .send(AskSubscriptions { groups })
                .into_actor(self)
                .map(move |answer, act, _| {
                    let kind = query(act, answer.unwrap_or_default());
                    forward(&act.dispatcher, kind, &cmd, reply);
                })
                .spawn(ctx),
        }
    }
}

/// The `ClientManager`, on start: ask it for the online consumers' subscriptions.
#[derive(Message)]
#[rtype(result = "()")]
pub struct SubscriptionSource(pub Mailbox<ClientManager>);

impl Handler<SubscriptionSource> for OffsetProcessor {
    type Result = ();

    fn handle(&mut self, SubscriptionSource(clients): SubscriptionSource, _: &mut Context<Self>) {
        let _timer = stats().offset_processor.handling();
        self.clients = Some(clients);
    }
}
