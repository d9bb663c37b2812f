//! The `NameServer`'s answers to what a broker sends between registrations, and to the member and
//! unit-topic lists (Java 5.3.3's `DefaultRequestProcessor`): QUERY_DATA_VERSION (322),
//! BROKER_HEARTBEAT (904), REGISTER_TOPIC_IN_NAMESRV (217), GET_BROKER_MEMBER_GROUP (901),
//! GET_UNIT_TOPIC_LIST (311), GET_HAS_UNIT_SUB_TOPIC_LIST (312) and
//! GET_HAS_UNIT_SUB_UNUNIT_TOPIC_LIST (313). The rules and formats are
//! `actormq::cluster::route_table`'s; here only the wire codes are decided. 322 and 904 keep a
//! registration alive, as a REGISTER_BROKER does.

use tracing::{info, warn};

use super::super::connection::Request;
use super::{now, ok, NameServer};
use actormq::cluster::register::WireDataVersion;
use actormq::cluster::route_table::{RegisterTopicBody, UnitTopicList};
use actormq::protocol::header::{ExtReader, HeaderError};
use actormq::protocol::{request_code, response_code, RemotingCommand};

impl NameServer {
    /// Answers one of this file's codes; a header field Java needs and did not get is the
    /// caller's SYSTEM_ERROR.
    pub(super) fn broker_codes(&mut self, req: &Request) -> Result<RemotingCommand, HeaderError> {
        let cmd = &req.cmd;
        let h = ExtReader::for_request(cmd);
        Ok(match cmd.code {
            request_code::QUERY_DATA_VERSION => {
                // Java reads the body before it looks at the header; no body (or `null`) is no
                // version, which is always `changed`.
                let version = if cmd.body.is_empty() {
                    None
                } else {
                    match serde_json::from_slice::<Option<WireDataVersion>>(&cmd.body) {
                        Ok(v) => v,
                        Err(e) => return Ok(system_error(cmd, "DataVersion", &e)),
                    }
                };
                let (cluster, addr) = (h.str("clusterName")?, h.str("brokerAddr")?);
                let answer = self
                    .table
                    .query_data_version(cluster, addr, version.as_ref(), now());
                let resp = match &answer.stored {
                    Some(stored) => ok(cmd, stored),
                    None => cmd.response_to(response_code::SUCCESS, None),
                };
                resp.with_ext("changed", answer.changed)
            }
            request_code::BROKER_HEARTBEAT => {
                let (cluster, addr) = (h.str("clusterName")?, h.str("brokerAddr")?);
                self.table.touch(cluster, addr, now());
                cmd.response_to(response_code::SUCCESS, None)
            }
            request_code::REGISTER_TOPIC_IN_NAMESRV => {
                // As Java: the body is read first; no body is no queue data.
                let body = if cmd.body.is_empty() {
                    RegisterTopicBody::default()
                } else {
                    match RegisterTopicBody::decode(&cmd.body) {
                        Ok(b) => b,
                        Err(e) => return Ok(system_error(cmd, "TopicRouteData", &e)),
                    }
                };
                match h.opt_str("topic") {
                    // Java answers SUCCESS here too, and files the queue data under a null topic
                    // no route request can name; nothing is kept here.
                    None => {
                        warn!(peer = %req.peer, "REGISTER_TOPIC_IN_NAMESRV names no topic; ignored")
                    }
                    Some(topic) => {
                        let done = self.table.register_topic(topic, body);
                        if let Some(q) = &done.stopped_at {
                            warn!(topic, queue_data = ?q, peer = %req.peer,
                                "Register topic contains illegal broker; it and what follows ignored");
                        }
                        if done.put > 0 {
                            info!(topic, queue_datas = done.put, peer = %req.peer, "topic route registered");
                        }
                    }
                }
                // SUCCESS whatever was taken, as Java.
                cmd.response_to(response_code::SUCCESS, None)
            }
            request_code::GET_BROKER_MEMBER_GROUP => {
                let group = self
                    .table
                    .broker_member_group(h.opt_str("clusterName"), h.opt_str("brokerName"));
                // Java's handler never clears the remark its response was created with.
                let remark = Some(actormq::protocol::UNSET_RESPONSE_REMARK.to_string());
                cmd.response_to(response_code::SUCCESS, remark)
                    .with_body(group.encode_response().into())
            }
            code => {
                let which = match code {
                    request_code::GET_UNIT_TOPIC_LIST => UnitTopicList::Unit,
                    request_code::GET_HAS_UNIT_SUB_TOPIC_LIST => UnitTopicList::HasUnitSub,
                    _ => UnitTopicList::HasUnitSubNotUnit,
                };
                let topics = self.table.unit_topic_list(which);
                ok(cmd, &serde_json::json!({ "topicList": topics }))
            }
        })
    }
}

/// A body fastjson would not parse: SYSTEM_ERROR, naming what it should have been.
fn system_error(cmd: &RemotingCommand, what: &str, e: &dyn std::fmt::Display) -> RemotingCommand {
    cmd.response_to(
        response_code::SYSTEM_ERROR,
        Some(format!("Failed to decode {what}: {e}")),
    )
}
