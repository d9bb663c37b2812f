//! The `NameServer`'s KV config and configuration codes (Java's `DefaultRequestProcessor`):
//! PUT_KV_CONFIG (100), GET_KV_CONFIG (101), DELETE_KV_CONFIG (102), GET_KVLIST_BY_NAMESPACE
//! (219), UPDATE_NAMESRV_CONFIG (318) and GET_NAMESRV_CONFIG (319). The table and its file are
//! `actormq::cluster::kv_config` (a change is on disk before it is answered SUCCESS); the
//! properties text and what an update may change are `actormq::cluster::namesrv_config`. Here only
//! the wire codes are decided.

use tracing::{info, warn};

use super::super::connection::Request;
use super::NameServer;
use actormq::cluster::kv_config::{
    no_item_remark, no_namespace_remark, parse_key, parse_put, NAMESPACE_ORDER_TOPIC_CONFIG,
};
use actormq::cluster::namesrv_config::{plan_update, ConfigUpdateError};
use actormq::protocol::{request_code, response_code, RemotingCommand};

impl NameServer {
    /// Answers one of this file's codes.
    pub(super) fn kv_and_config(&mut self, req: &Request) -> RemotingCommand {
        let cmd = &req.cmd;
        match cmd.code {
            request_code::PUT_KV_CONFIG => {
                let put = match parse_put(cmd) {
                    Ok(p) => p,
                    Err(e) => {
                        return cmd.response_to(response_code::SYSTEM_ERROR, Some(e.to_string()))
                    }
                };
                match self.kv.put(put.namespace, put.key, put.value) {
                    Ok(previous) => {
                        info!(namespace = put.namespace, key = put.key, value_bytes = put.value.len(),
                            updated = previous.is_some(), peer = %req.peer, "putKVConfig");
                        cmd.response_to(response_code::SUCCESS, None)
                    }
                    Err(e) => self.not_written(cmd, &e),
                }
            }
            request_code::GET_KV_CONFIG => {
                let (namespace, key) = parse_key(cmd);
                match self.kv.get(namespace, key) {
                    Some(value) => cmd
                        .response_to(response_code::SUCCESS, None)
                        .with_ext("value", value),
                    None => cmd.response_to(
                        response_code::QUERY_NOT_FOUND,
                        Some(no_item_remark(namespace, key)),
                    ),
                }
            }
            request_code::DELETE_KV_CONFIG => {
                let (namespace, key) = parse_key(cmd);
                match self.kv.delete(namespace, key) {
                    Ok(removed) => {
                        if removed.is_some() {
                            info!(namespace, key, peer = %req.peer, "deleteKVConfig");
                        }
                        cmd.response_to(response_code::SUCCESS, None)
                    }
                    Err(e) => self.not_written(cmd, &e),
                }
            }
            request_code::GET_KVLIST_BY_NAMESPACE => {
                let namespace = cmd.ext("namespace");
                match self.kv.namespace_json(namespace) {
                    Some(body) => cmd
                        .response_to(response_code::SUCCESS, None)
                        .with_body(body.into()),
                    None => cmd.response_to(
                        response_code::QUERY_NOT_FOUND,
                        Some(no_namespace_remark(namespace)),
                    ),
                }
            }
            request_code::GET_NAMESRV_CONFIG => {
                let mut properties = self.properties.clone();
                properties.order_message_enable = self.order_message_enable;
                cmd.response_to(response_code::SUCCESS, None)
                    .with_body(properties.render().into_bytes().into())
            }
            _ => self.update_config(req),
        }
    }

    /// UPDATE_NAMESRV_CONFIG: `orderMessageEnable` is applied until restart; anything else
    /// refuses the whole request (black-listed keys with Java's remark).
    fn update_config(&mut self, req: &Request) -> RemotingCommand {
        let cmd = &req.cmd;
        match plan_update(&cmd.body) {
            Ok(update) => {
                if let Some(on) = update.order_message_enable {
                    info!(peer = %req.peer, order_message_enable = on, "updateConfig");
                    self.order_message_enable = on;
                }
                cmd.response_to(response_code::SUCCESS, None)
            }
            Err(e) => {
                let code = match e {
                    ConfigUpdateError::BlackList | ConfigUpdateError::NotAtRuntime(_) => {
                        response_code::NO_PERMISSION
                    }
                    ConfigUpdateError::Properties(_) | ConfigUpdateError::NotBoolean(_) => {
                        response_code::SYSTEM_ERROR
                    }
                };
                warn!(peer = %req.peer, error = %e, "updateConfig refused");
                cmd.response_to(code, Some(e.to_string()))
            }
        }
    }

    /// A KV change that could not be written: SYSTEM_ERROR, the table unchanged.
    fn not_written(
        &self,
        cmd: &RemotingCommand,
        e: &actormq::store::StoreError,
    ) -> RemotingCommand {
        warn!(path = %self.kv.path().display(), error = %e, "the KV config could not be written; the change is refused");
        cmd.response_to(
            response_code::SYSTEM_ERROR,
            Some(format!("KV config not written: {e}")),
        )
    }

    /// `orderTopicConf` of a route: the topic's order config while `orderMessageEnable` is on.
    pub(super) fn order_topic_conf(&self, topic: &str) -> Option<String> {
        if !self.order_message_enable {
            return None;
        }
        self.kv
            .get(Some(NAMESPACE_ORDER_TOPIC_CONFIG), Some(topic))
            .map(str::to_string)
    }

    /// A REGISTER_BROKER answer's body: the order-topic namespace, if it was ever written
    /// (Java's `returnOrderTopicConfigToBroker`, default on).
    pub(super) fn order_topic_table(&self) -> Option<Vec<u8>> {
        self.kv.namespace_json(Some(NAMESPACE_ORDER_TOPIC_CONFIG))
    }
}
