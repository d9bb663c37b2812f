//! The table reads and batch writes of the admin codes this actor serves because it owns the
//! topic and group tables: `UPDATE_AND_CREATE_TOPIC_LIST` (18, `mqadmin updateTopicList`),
//! `UPDATE_AND_CREATE_SUBSCRIPTIONGROUP_LIST` (225, `mqadmin updateSubGroupList`) and
//! `GET_SUBSCRIPTIONGROUP_CONFIG` (352). The bodies and their checks are
//! `actormq::config_lists`; here a checked list is applied whole and persisted once.

use super::*;
use actormq::config_lists::{group_list, topic_list};

impl SendProcessor {
    /// 18, 225 and 352; `None` for every other code.
    pub(super) fn config_lists(&mut self, cmd: &RemotingCommand) -> Option<RemotingCommand> {
        let refuse = |(code, remark): Refusal| cmd.response_to(code, Some(remark));
        Some(match cmd.code {
            request_code::UPDATE_AND_CREATE_TOPIC_LIST => match topic_list(&cmd.body) {
                Ok(topics) => {
                    self.create_topics(topics);
                    // Java sets only the code of the response it started.
                    let remark = actormq::protocol::UNSET_RESPONSE_REMARK.to_string();
                    cmd.response_to(response_code::SUCCESS, Some(remark))
                }
                Err(refusal) => refuse(refusal),
            },
            request_code::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP_LIST => match group_list(&cmd.body) {
                Ok(groups) => {
                    let names: Vec<String> = groups.iter().map(|g| g.group_name.clone()).collect();
                    info!(groups = ?names, "subscription groups created or updated");
                    for config in groups {
                        self.groups.upsert(config);
                    }
                    self.save_groups();
                    cmd.response_to(response_code::SUCCESS, None)
                }
                Err(refusal) => refuse(refusal),
            },
            request_code::GET_SUBSCRIPTIONGROUP_CONFIG => {
                let ext = ExtReader::for_request(cmd);
                let group = match ext.str("group") {
                    Ok(g) => g,
                    Err(e) => return Some(refuse((e.response_code(), e.to_string()))),
                };
                // Java's `findSubscriptionGroupConfig`: an unknown group is created when
                // `auto_create_subscription_group` is on and its name is valid.
                match self.group(group) {
                    Ok(config) => match serde_json::to_vec(&config) {
                        Ok(body) => cmd
                            .response_to(response_code::SUCCESS, None)
                            .with_body(body.into()),
                        Err(e) => refuse((response_code::SYSTEM_ERROR, e.to_string())),
                    },
                    Err(_) => refuse((
                        response_code::SUBSCRIPTION_GROUP_NOT_EXIST,
                        "No group in this broker".into(),
                    )),
                }
            }
            _ => return None,
        })
    }

    /// Adds or replaces every topic whose configuration differs from the table's, then persists
    /// and publishes the table once (the name servers hear of them all in one registration).
    fn create_topics(&mut self, topics: Vec<TopicConfig>) {
        let mut changed = Vec::new();
        for config in topics {
            if self.topics.get(&config.topic_name) == Some(&config) {
                continue;
            }
            changed.push(config.topic_name.clone());
            self.topics.insert(config);
        }
        if changed.is_empty() {
            return;
        }
        info!(topics = ?changed, "topics created or updated");
        self.publish_topics();
    }
}
