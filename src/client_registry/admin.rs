//! The registry's answers to admin reads across groups (Java's `ProducerManager.getProducerTable`,
//! `ConsumerManager.findSubscriptionData`): `GET_ALL_PRODUCER_INFO` (328, `mqadmin producer`),
//! `QUERY_SUBSCRIPTION_BY_CONSUMER` (345, the Dashboard), and the live consumers
//! `INVOKE_BROKER_TO_GET_CONSUMER_STATUS` (223) asks ([`crate::consumer_status`]).

use std::collections::BTreeMap;
use std::time::Instant;

use serde::Serialize;
use serde_json::{json, Map, Value};

use super::{ClientChannel, ClientRegistry, ConnectionHandle, RegistryError};
use crate::protocol::LanguageCode;

/// Java's `ProducerInfo`, fields in fastjson's (alphabetical) order.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ProducerInfo<'a> {
    client_id: &'a str,
    language: LanguageCode,
    last_update_timestamp: i64,
    #[serde(rename = "remoteIP")]
    remote_ip: String,
    version: i32,
}

impl<'a> ProducerInfo<'a> {
    fn of<C>(c: &'a ClientChannel<C>, now: Instant, now_ms: i64) -> Self {
        let age = now.saturating_duration_since(c.last_heartbeat).as_millis();
        ProducerInfo {
            client_id: &c.client_id,
            language: c.peer.language,
            last_update_timestamp: now_ms.saturating_sub(i64::try_from(age).unwrap_or(i64::MAX)),
            remote_ip: format!("/{}", c.peer.addr),
            version: c.peer.version,
        }
    }
}

/// Java's `ProducerTableInfo`.
#[derive(Serialize)]
struct ProducerTableInfo<'a> {
    data: BTreeMap<&'a str, Vec<ProducerInfo<'a>>>,
}

impl<C: ConnectionHandle> ClientRegistry<C> {
    /// GET_ALL_PRODUCER_INFO's body, Java's `ProducerTableInfo` (`{"data":{group:[..]}}`): every
    /// group with a live producer, each producer's client id, language, version, last heartbeat
    /// (Unix ms: `now_ms` less its age at `now`) and `remoteIP` as Java's
    /// `channel.remoteAddress().toString()` prints it (`/ip:port`). No producer: `{"data":{}}`.
    pub fn producer_table_body(&self, now: Instant, now_ms: i64) -> Result<Vec<u8>, RegistryError> {
        let data = self
            .producers
            .keys()
            .filter_map(|group| {
                let live: Vec<ProducerInfo<'_>> = self
                    .live_producers(group)
                    .map(|c| ProducerInfo::of(c, now, now_ms))
                    .collect();
                (!live.is_empty()).then_some((group.as_str(), live))
            })
            .collect();
        Ok(serde_json::to_vec(&ProducerTableInfo { data })?)
    }

    /// QUERY_SUBSCRIPTION_BY_CONSUMER's body, Java's `QuerySubscriptionResponseBody`
    /// (`{"group","subscriptionData","topic"}`, nulls left out): the group's subscription of
    /// `topic` as its clients sent it, when the group has a live consumer subscribing to it.
    /// `None` when Java fails instead: an online group asked about no topic (its subscription
    /// table is looked up with a `null` key, a NullPointerException).
    pub fn subscription_body(&self, group: &str, topic: Option<&str>) -> Option<Vec<u8>> {
        let subscriptions = self.subscriptions_of(group);
        let found = match topic {
            Some(t) => subscriptions
                .get(t)
                .map(|s| Value::Object(s.fields.clone())),
            None if self.live_consumers(group).next().is_some() => return None,
            None => None,
        };
        let mut body = Map::new();
        body.insert("group".into(), json!(group));
        if let Some(data) = found {
            body.insert("subscriptionData".into(), data);
        }
        if let Some(t) = topic {
            body.insert("topic".into(), json!(t));
        }
        Some(Value::Object(body).to_string().into_bytes())
    }

    /// The live consumers of `group` as (client id, version): whom INVOKE_BROKER_TO_GET_CONSUMER_STATUS
    /// may ask (`crate::consumer_status::clients_to_ask`).
    pub fn consumer_versions(&self, group: &str) -> Vec<(&str, i32)> {
        self.live_consumers(group)
            .map(|c| (c.client_id.as_str(), c.peer.version))
            .collect()
    }
}
