//! The tables this actor owns, from outside the send path: the topic-admin codes (17, 21, 215;
//! 18 in `lists.rs`) and the group-admin ones (200, 201, 207; 225 and 352 in `lists.rs`), a
//! slave's metadata sync from its master, the retry topics of groups that announce themselves
//! (answering their heartbeats), the groups that pulls announce, the snapshots of the group table
//! other actors keep, and the broker's permission (published with the topic table).

use super::*;

impl SendProcessor {
    /// The `PullProcessor`, which checks pulls against the group table (`gate`), and this
    /// actor (`me`), where pulls announce unknown groups and the `OffsetProcessor` has commits of
    /// groups it does not know checked.
    pub fn with_group_snapshots(
        mut self,
        gate: CountedRecipient<GroupsChanged>,
        me: Mailbox<SendProcessor>,
    ) -> Self {
        self.group_snapshots = Some((gate, me));
        self
    }

    /// `findSubscriptionGroupConfig`, persisting a group it creates.
    pub(super) fn group(&mut self, group: &str) -> Result<SubscriptionGroupConfig, Refusal> {
        let (config, created) = self
            .groups
            .find_or_create(group, self.auto_create_group)
            .map_err(|e| (response_code::SUBSCRIPTION_GROUP_NOT_EXIST, e.to_string()))?;
        let config = config.clone();
        if created {
            info!(group, "subscription group created");
            self.save_groups();
        }
        Ok(config)
    }

    /// Persists the group table and gives the pull path its new snapshot.
    pub(super) fn save_groups(&self) {
        if let Err(e) = self.groups.save(&self.groups_path) {
            warn!(error = %e, "persisting the subscription group table failed");
        }
        self.publish_groups();
    }

    /// The pull path's snapshot of the group table ([`PullGate`]), the names the
    /// `OffsetProcessor` checks commits against, and the groups the `ClientManager` does not tell
    /// of their members' heartbeats.
    pub(super) fn publish_groups(&self) {
        if let Some(clients) = &self.clients {
            let quiet = self.groups.subscription_group_table.iter();
            let quiet = quiet.filter(|(_, c)| !c.notify_consumer_ids_changed_enable);
            let quiet = quiet.map(|(name, _)| name.clone()).collect();
            clients.do_send(QuietGroups(std::sync::Arc::new(quiet)));
        }
        let Some((gate, me)) = &self.group_snapshots else {
            return;
        };
        gate.do_send(GroupsChanged {
            gate: PullGate::new(&self.groups, self.auto_create_group),
            creator: me.recipient(),
        });
        if let Some(offsets) = &self.offsets {
            let names = self.groups.subscription_group_table.keys().cloned();
            offsets.do_send(GroupsKnown {
                groups: std::sync::Arc::new(names.collect()),
                owner: me.recipient(),
            });
        }
    }

    /// The topic-admin codes, served here because this actor owns the topic table:
    /// `UPDATE_AND_CREATE_TOPIC` (17), `GET_ALL_TOPIC_CONFIG` (21), `DELETE_TOPIC_IN_BROKER` (215).
    /// `None` for every other code.
    pub(super) fn topic_admin(&mut self, cmd: &RemotingCommand) -> Option<RemotingCommand> {
        let refuse = |code: i32, remark: String| cmd.response_to(code, Some(remark));
        let ext = ExtReader::for_request(cmd);
        let system_topic = |name: &str| {
            schedule::system_topic_conflict(name)
                .map(|remark| refuse(response_code::INVALID_PARAMETER, remark))
        };
        Some(match cmd.code {
            request_code::UPDATE_AND_CREATE_TOPIC => {
                let parsed = (|| {
                    let name = ext.str("topic")?.to_string();
                    let read: i32 = ext.parse("readQueueNums")?;
                    let write: i32 = ext.parse("writeQueueNums")?;
                    let perm: i32 = ext.parse("perm")?;
                    let order = ext.opt_java_bool("order").unwrap_or(false);
                    Ok::<_, HeaderError>((name, read, write, perm, order))
                })();
                let (name, read, write, perm, order) = match parsed {
                    Ok(p) => p,
                    Err(e) => return Some(refuse(e.response_code(), e.to_string())),
                };
                if let Err(e) = validate_topic_name(&name) {
                    return Some(refuse(response_code::INVALID_PARAMETER, e));
                }
                if let Some(refused) = system_topic(&name) {
                    return Some(refused);
                }
                if !(1..=1024).contains(&read) || !(1..=1024).contains(&write) {
                    let remark =
                        format!("queue counts must be 1..=1024, got read {read} write {write}");
                    return Some(refuse(response_code::INVALID_PARAMETER, remark));
                }
                let mut config = TopicConfig::new(&name, write);
                config.read_queue_nums = read;
                config.perm = perm;
                config.order = order;
                info!(topic = %name, read, write, perm, "topic created or updated");
                self.create_topic(config);
                cmd.response_to(response_code::SUCCESS, None)
            }
            request_code::GET_ALL_TOPIC_CONFIG => {
                let body = serde_json::to_vec(&self.topics).expect("topic table serializes");
                cmd.response_to(response_code::SUCCESS, None)
                    .with_body(body.into())
            }
            request_code::GET_ALL_SUBSCRIPTIONGROUP_CONFIG => {
                let body = serde_json::to_vec(&self.groups).unwrap_or_default();
                cmd.response_to(response_code::SUCCESS, None)
                    .with_body(body.into())
            }
            request_code::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP => {
                let config: SubscriptionGroupConfig = match serde_json::from_slice(&cmd.body) {
                    Ok(c) => c,
                    Err(e) => {
                        let remark = format!("bad subscription group config: {e}");
                        return Some(refuse(response_code::INVALID_PARAMETER, remark));
                    }
                };
                if let Err(e) = validate_group_name(&config.group_name) {
                    return Some(refuse(response_code::INVALID_PARAMETER, e));
                }
                info!(group = %config.group_name, retry_queue_nums = config.retry_queue_nums,
                    retry_max_times = config.retry_max_times, consume_enable = config.consume_enable,
                    "subscription group created or updated");
                self.groups.upsert(config);
                self.save_groups();
                cmd.response_to(response_code::SUCCESS, None)
            }
            request_code::DELETE_SUBSCRIPTIONGROUP => {
                let group = match ext.str("groupName") {
                    Ok(g) => g,
                    Err(e) => return Some(refuse(e.response_code(), e.to_string())),
                };
                if self.groups.remove(group) {
                    info!(group, "subscription group deleted");
                    self.save_groups();
                } else {
                    warn!(group, "subscription group to delete does not exist");
                }
                if ext.opt_java_bool("cleanOffset") == Some(true) {
                    if let Some(offsets) = &self.offsets {
                        offsets.do_send(RemoveOffsets(OffsetsOf::Group(group.to_string())));
                    }
                }
                cmd.response_to(response_code::SUCCESS, None)
            }
            request_code::DELETE_TOPIC_IN_BROKER => {
                let Some(name) = cmd.ext("topic") else {
                    let remark = "the header field topic is required".to_string();
                    return Some(refuse(response_code::INVALID_PARAMETER, remark));
                };
                if let Some(refused) = system_topic(name) {
                    return Some(refused);
                }
                if self.topics.remove(name) {
                    info!(topic = %name, "topic deleted");
                    self.publish_topics();
                }
                // As Java's `deleteTopicInBroker`, whether or not the table had it: every group's
                // offsets on it go, and its consume queues are emptied (its records stay in the
                // commit log until retention deletes their files, unreachable by queue).
                if let Some(offsets) = &self.offsets {
                    offsets.do_send(RemoveOffsets(OffsetsOf::Topic(name.to_string())));
                }
                self.dispatcher.do_send(ClearTopic(name.to_string()));
                cmd.response_to(response_code::SUCCESS, None)
            }
            _ => return self.config_lists(cmd),
        })
    }
}

/// A slave's metadata sync: the master's topic table and subscription groups, each applied only
/// when its data version differs from this broker's (`SlaveSynchronize`).
#[derive(Message)]
#[rtype(result = "()")]
pub struct ApplyMasterTables {
    pub topics: Option<TopicTable>,
    pub groups: Option<SubscriptionGroupTable>,
}

impl Handler<ApplyMasterTables> for SendProcessor {
    type Result = ();

    fn handle(&mut self, msg: ApplyMasterTables, _ctx: &mut Context<Self>) {
        let _timer = stats().send_processor.handling();
        if let Some(t) = msg
            .topics
            .and_then(|t| slave_sync::topics_to_apply(&self.topics, t))
        {
            info!(
                topics = t.topic_config_table.len(),
                "topic table synced from the master"
            );
            self.topics = t;
            self.publish_topics();
        }
        if let Some(g) = msg
            .groups
            .and_then(|g| slave_sync::groups_to_apply(&self.groups, g))
        {
            info!(
                groups = g.subscription_group_table.len(),
                "subscription groups synced from the master"
            );
            self.groups = g;
            self.save_groups();
        }
    }
}

/// A consumer group announced itself (heartbeat): create the group if unknown and its
/// `%RETRY%<group>` topic with the group's `retryQueueNums` queues, as Java's heartbeat does,
/// then send the heartbeat's `answer` if this is its last group.
#[derive(Message)]
#[rtype(result = "()")]
pub struct EnsureRetryTopic {
    pub group: String,
    pub unit_mode: bool,
    pub answer: Option<(ReplyTo, RemotingCommand)>,
}

impl Handler<EnsureRetryTopic> for SendProcessor {
    type Result = ();

    fn handle(&mut self, msg: EnsureRetryTopic, _ctx: &mut Context<Self>) {
        let _timer = stats().send_processor.handling();
        if let Err((_, why)) = self.retry_topic_of(&msg.group, msg.unit_mode) {
            debug!(group = %msg.group, %why, "no retry topic for this consumer group");
        }
        if let Some((reply, response)) = msg.answer {
            reply.send(response);
        }
    }
}

/// A pull named a group this broker does not know yet and creates on first use (Java's pull
/// `findSubscriptionGroupConfig`): created and persisted, the pull path told.
#[derive(Message)]
#[rtype(result = "()")]
pub struct EnsureGroup(pub String);

impl Handler<EnsureGroup> for SendProcessor {
    type Result = ();

    fn handle(&mut self, EnsureGroup(group): EnsureGroup, _ctx: &mut Context<Self>) {
        let _timer = stats().send_processor.handling();
        if let Err((_, why)) = self.group(&group) {
            debug!(%group, %why, "a pulled group could not be created");
        }
    }
}

/// UPDATE_BROKER_CONFIG changed `brokerPermission` (from the `AdminProcessor`): a new topic-table
/// data version, as Java's `nextVersion`, persisted and published with the permission, so the
/// name servers are told (the `Registrar` re-registers, the name-server role masks its routes)
/// and pulls are checked against it.
#[derive(Message)]
#[rtype(result = "()")]
pub struct SetBrokerPermission(pub BrokerPermission);

impl Handler<SetBrokerPermission> for SendProcessor {
    type Result = ();

    fn handle(&mut self, SetBrokerPermission(p): SetBrokerPermission, _ctx: &mut Context<Self>) {
        let _timer = stats().send_processor.handling();
        if p == self.permission {
            return;
        }
        info!(from = %self.permission, to = %p, "broker permission changed");
        self.permission = p;
        self.preparer.set_permission(p);
        self.topics.touch();
        self.publish_topics();
    }
}
