//! Which filter a consumer's subscription asks for, as Java's `PullMessageProcessor` and
//! `ClientManageProcessor.checkClientConfig` decide it: a `TAG` expression (`*`, `TagA || TagB`),
//! or an `SQL92` expression over the message's properties (`MessageSelector.bySql`), which a
//! broker serves only with `broker.enable_property_filter` (Java's `enablePropertyFilter`, off by
//! default there too). Without it an SQL92 subscription is refused with Java's SYSTEM_ERROR,
//! never read as a tag list (which would match nothing, silently).
//!
//! A lite-pull consumer's pulls carry their subscription; a push consumer's do not (only
//! `expressionType` and `subVersion`, unless `postSubscriptionWhenPull`), and the broker filters
//! with what the group's heartbeats registered ([`RegisteredFilters`], fed by the
//! `ClientManager`), as Java does with its `ConsumerGroupInfo` and `ConsumerFilterManager`: a TAG
//! subscription's records of other tags are skipped on the broker (not sent, and a long poll is
//! not woken by them). Compiled selectors are kept by their text ([`SelectorCache`]) instead of
//! being compiled per pull.

use std::collections::HashMap;
use std::sync::Arc;

use crate::filter::Sql92Filter;
use crate::protocol::response_code;
use crate::store::read::{SqlSelector, TagFilter};
use crate::FastMap;

/// `ExpressionType.TAG`; an absent or empty type means it too (`ExpressionType.isTagType`).
pub const TAG: &str = "TAG";

/// Why a subscription is refused: the response code and remark Java answers.
pub type Refusal = (i32, String);

/// Compiled SQL92 selectors by expression text. Bounded: when full it starts over (consumers
/// keep a handful of subscriptions; a client cycling through new expressions cannot grow it).
#[derive(Debug, Default)]
pub struct SelectorCache {
    compiled: HashMap<String, Arc<Sql92Filter>>,
}

/// Most selectors kept at once.
const CACHE_CAPACITY: usize = 1024;

impl SelectorCache {
    fn get_or_compile(&mut self, expression: &str) -> Result<Arc<Sql92Filter>, String> {
        if let Some(f) = self.compiled.get(expression) {
            return Ok(f.clone());
        }
        let f = Arc::new(Sql92Filter::compile(expression).map_err(|e| e.to_string())?);
        if self.compiled.len() >= CACHE_CAPACITY {
            self.compiled.clear();
        }
        self.compiled.insert(expression.to_string(), f.clone());
        Ok(f)
    }
}

/// `ExpressionType.isTagType`.
pub fn is_tag_type(expression_type: Option<&str>) -> bool {
    matches!(expression_type, None | Some("") | Some(TAG))
}

fn not_supported(expression_type: &str) -> Refusal {
    (
        response_code::SYSTEM_ERROR,
        format!("The broker does not support consumer to filter message by {expression_type}"),
    )
}

/// What a pull's header says about its subscription.
#[derive(Debug, Clone, Copy, Default)]
pub struct PullSubscription<'a> {
    pub group: &'a str,
    pub topic: &'a str,
    pub expression_type: Option<&'a str>,
    /// `subscription`: absent (or empty) on a push consumer's pulls.
    pub expression: Option<&'a str>,
    pub sub_version: i64,
    /// The SUBSCRIPTION sys flag: the pull's own subscription counts (a lite pull). Without it
    /// Java filters by what the group registered, whatever the pull's `expressionType` says (the
    /// Go push consumer always says TAG).
    pub own_subscription: bool,
}

/// The filter of a pull: its own expression when it carries one, else (SQL92) the one its group
/// registered, refused as Java refuses a missing or older registration.
pub fn pull_filter(
    pull: &PullSubscription<'_>,
    property_filter: bool,
    cache: &mut SelectorCache,
    registered: &RegisteredFilters,
) -> Result<TagFilter, Refusal> {
    if let Some(r) = registered.find(pull).filter(|_| !pull.own_subscription) {
        return r.filter_for(pull);
    }
    let kind = match pull.expression_type {
        Some(t) if !is_tag_type(Some(t)) => t,
        _ => return Ok(TagFilter::parse(pull.expression)),
    };
    if !property_filter {
        return Err(not_supported(kind));
    }
    let Some(expression) = pull
        .expression
        .filter(|e| !e.is_empty() || pull.own_subscription)
    else {
        return registered.lookup(pull);
    };
    let parsed = match kind {
        "SQL92" => cache.get_or_compile(expression),
        other => Err(format!("no filter for expression type {other}")),
    };
    parsed
        .map(|f| TagFilter::Sql(SqlSelector(f)))
        .map_err(|why| {
            tracing::debug!(%expression, %why, "subscription refused");
            (
                response_code::SUBSCRIPTION_PARSE_FAILED,
                "parse the consumer's subscription failed".to_string(),
            )
        })
}

/// One subscription from a consumer's heartbeat (`SubscriptionData`): `TAG` (`*` or a tag list)
/// or a selector (`SQL92`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct HeartbeatSubscription {
    pub topic: String,
    pub expression_type: String,
    pub expression: String,
    pub sub_version: i64,
}

impl HeartbeatSubscription {
    fn is_tag(&self) -> bool {
        is_tag_type(Some(&self.expression_type))
    }
}

/// What a group's pulls without their own expression are filtered by, for one topic.
#[derive(Debug, Clone)]
enum Registered {
    /// Every live consumer of the group subscribes to the topic by tags: what any of them
    /// takes (one client's tags never hide another's messages, even when a group's clients
    /// disagree, which in Java loses the older client's messages). `sub_version` is the newest
    /// of them: a pull naming a newer one comes from a subscription not heard of yet.
    Tags { sub_version: i64, filter: TagFilter },
    /// The newest subscription is a selector (Java's `ConsumerFilterManager`): its compiled
    /// form, `None` when it does not compile (Java then has no filter data for it).
    Selector {
        sub_version: i64,
        selector: Option<SqlSelector>,
    },
}

/// The subscriptions consumer groups registered with their heartbeats, group -> topic. Looked up
/// on every push consumer's pull: foldhash, not SipHash (the keys come from heartbeats of
/// clients the broker serves, and a group's map is bounded).
#[derive(Debug, Default)]
pub struct RegisteredFilters {
    groups: FastMap<String, FastMap<String, Registered>>,
    /// The groups whose consumers said `MessageModel.BROADCASTING` (a group's
    /// `consumeBroadcastEnable` can refuse their pulls).
    broadcasting: std::collections::HashSet<String>,
}

/// Most groups whose subscriptions are kept; past it the registrations start over (a pull of a
/// dropped group is served by its own expression, or refused if SQL92, until its next
/// heartbeat, 30 s at most).
const MAX_GROUPS: usize = 10_000;

impl RegisteredFilters {
    /// `subs`, the subscriptions of every live consumer of `group` (the `ClientManager` sends
    /// them whenever one changes), replace what the group registered. Selectors are kept only
    /// while `property_filter` is on (else SQL92 pulls are refused anyway).
    pub fn register(
        &mut self,
        group: &str,
        subs: &[HeartbeatSubscription],
        property_filter: bool,
        cache: &mut SelectorCache,
    ) {
        let mut topics: FastMap<String, Registered> = FastMap::default();
        let newest_first = {
            let mut s: Vec<&HeartbeatSubscription> = subs
                .iter()
                .filter(|s| s.is_tag() || property_filter)
                .collect();
            s.sort_by_key(|s| std::cmp::Reverse(s.sub_version));
            s
        };
        for sub in newest_first {
            match topics.get_mut(&sub.topic) {
                None => {
                    let entry = if sub.is_tag() {
                        Registered::Tags {
                            sub_version: sub.sub_version,
                            filter: TagFilter::parse(Some(&sub.expression)),
                        }
                    } else {
                        Registered::Selector {
                            sub_version: sub.sub_version,
                            selector: (sub.expression_type == "SQL92")
                                .then(|| cache.get_or_compile(&sub.expression).ok())
                                .flatten()
                                .map(SqlSelector),
                        }
                    };
                    topics.insert(sub.topic.clone(), entry);
                }
                // An older client's tags widen the newest TAG subscription.
                Some(Registered::Tags { filter, .. }) if sub.is_tag() => {
                    let older = TagFilter::parse(Some(&sub.expression));
                    *filter = std::mem::replace(filter, TagFilter::All).union(older);
                }
                // Under a selector the newest decides, as in Java.
                Some(_) => {}
            }
        }
        if topics.is_empty() {
            self.groups.remove(group);
            return;
        }
        if self.groups.len() >= MAX_GROUPS && !self.groups.contains_key(group) {
            self.groups.clear();
        }
        self.groups.insert(group.to_string(), topics);
    }

    /// Whether `group`'s consumers consume by broadcast (they said so in their heartbeats).
    pub fn set_broadcasting(&mut self, group: &str, broadcasting: bool) {
        if !broadcasting {
            self.broadcasting.remove(group);
        } else if !self.broadcasting.contains(group) {
            self.broadcasting.insert(group.to_string());
        }
    }

    /// Whether `group`'s live consumers consume by broadcast.
    pub fn is_broadcasting(&self, group: &str) -> bool {
        self.broadcasting.contains(group)
    }

    /// Whether nothing is registered (then no pull needs a lookup).
    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// What the pull's group registered for its topic.
    fn find(&self, pull: &PullSubscription<'_>) -> Option<&Registered> {
        self.groups.get(pull.group)?.get(pull.topic)
    }

    #[cfg(test)]
    fn holds(&self, pull: &PullSubscription<'_>) -> bool {
        self.find(pull).is_some()
    }

    /// The registered filter for a pull without its own expression.
    fn lookup(&self, pull: &PullSubscription<'_>) -> Result<TagFilter, Refusal> {
        match self.find(pull) {
            None => Err((
                response_code::SUBSCRIPTION_NOT_EXIST,
                "the consumer's subscription not exist".to_string(),
            )),
            Some(r) => r.filter_for(pull),
        }
    }
}

impl Registered {
    /// The filter a pull without its own expression gets from this registration.
    fn filter_for(&self, pull: &PullSubscription<'_>) -> Result<TagFilter, Refusal> {
        match self {
            // A subscription newer than any heard of: Java refuses it (SUBSCRIPTION_NOT_LATEST,
            // the client retries in 3 s); TAG is served by the pull's own expression (none on a
            // push consumer's pull: unfiltered), which every client filters again itself.
            Registered::Tags { sub_version, .. } if *sub_version < pull.sub_version => {
                Ok(TagFilter::parse(pull.expression))
            }
            Registered::Tags { filter, .. } => Ok(filter.clone()),
            Registered::Selector { sub_version, .. } if *sub_version < pull.sub_version => Err((
                response_code::SUBSCRIPTION_NOT_LATEST,
                "the consumer's subscription not latest".to_string(),
            )),
            Registered::Selector {
                selector: Some(s), ..
            } => Ok(TagFilter::Sql(s.clone())),
            Registered::Selector { selector: None, .. } => Err((
                response_code::FILTER_DATA_NOT_EXIST,
                "The broker's consumer filter data is not exist!Your expression may be wrong!"
                    .to_string(),
            )),
        }
    }
}

/// CHECK_CLIENT_CONFIG (46), which a Java consumer sends before it starts with a non-TAG
/// subscription: `None` = SUCCESS; else Java's refusal (the compile error as the remark).
pub fn check_client_config(
    expression_type: Option<&str>,
    subscription: Option<&str>,
    property_filter: bool,
) -> Option<Refusal> {
    if is_tag_type(expression_type) {
        return None;
    }
    let kind = expression_type.unwrap_or_default();
    if !property_filter {
        return Some(not_supported(kind));
    }
    let error = match kind {
        "SQL92" => Sql92Filter::compile(subscription.unwrap_or(""))
            .err()
            .map(|e| e.to_string()),
        other => Some(format!("no filter for expression type {other}")),
    };
    error.map(|e| (response_code::SUBSCRIPTION_PARSE_FAILED, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pull<'a>(kind: Option<&'a str>, expression: Option<&'a str>) -> PullSubscription<'a> {
        PullSubscription {
            group: "g",
            topic: "t",
            expression_type: kind,
            expression,
            sub_version: 5,
            own_subscription: expression.is_some(),
        }
    }

    fn filter(
        kind: Option<&str>,
        expression: Option<&str>,
        on: bool,
        cache: &mut SelectorCache,
    ) -> Result<TagFilter, Refusal> {
        pull_filter(
            &pull(kind, expression),
            on,
            cache,
            &RegisteredFilters::default(),
        )
    }

    #[test]
    fn tag_subscriptions_are_tag_filters() {
        let mut cache = SelectorCache::default();
        for t in [None, Some(""), Some("TAG")] {
            let f = filter(t, Some("A || B"), false, &mut cache).unwrap();
            assert_eq!(f, TagFilter::parse(Some("A || B")));
            assert_eq!(check_client_config(t, Some("A"), false), None);
        }
    }

    #[test]
    fn sql92_is_refused_as_java_refuses_it_while_property_filters_are_off() {
        let mut cache = SelectorCache::default();
        let refusal = (
            response_code::SYSTEM_ERROR,
            "The broker does not support consumer to filter message by SQL92".to_string(),
        );
        assert_eq!(
            filter(Some("SQL92"), Some("a > 1"), false, &mut cache),
            Err(refusal.clone())
        );
        assert_eq!(
            check_client_config(Some("SQL92"), Some("a > 1"), false),
            Some(refusal)
        );
    }

    #[test]
    fn sql92_selectors_are_compiled_once_and_bad_ones_refused() {
        let mut cache = SelectorCache::default();
        let f = filter(Some("SQL92"), Some("a > 1"), true, &mut cache).unwrap();
        assert!(matches!(f, TagFilter::Sql(_)));
        let again = filter(Some("SQL92"), Some("a > 1"), true, &mut cache).unwrap();
        assert_eq!(f, again);
        assert_eq!(cache.compiled.len(), 1);
        let (code, remark) = filter(Some("SQL92"), Some("a >"), true, &mut cache).unwrap_err();
        assert_eq!(code, response_code::SUBSCRIPTION_PARSE_FAILED);
        assert_eq!(remark, "parse the consumer's subscription failed");
        let (code, _) = check_client_config(Some("SQL92"), Some("a >"), true).unwrap();
        assert_eq!(code, response_code::SUBSCRIPTION_PARSE_FAILED);
        assert_eq!(
            check_client_config(Some("SQL92"), Some("a > 1"), true),
            None
        );
        assert!(filter(Some("CLASS"), Some("x"), true, &mut cache).is_err());
    }

    fn sub(topic: &str, expression: &str, sub_version: i64) -> HeartbeatSubscription {
        HeartbeatSubscription {
            topic: topic.into(),
            expression_type: "SQL92".into(),
            expression: expression.into(),
            sub_version,
        }
    }

    fn tags(topic: &str, expression: &str, sub_version: i64) -> HeartbeatSubscription {
        HeartbeatSubscription {
            expression_type: "TAG".into(),
            ..sub(topic, expression, sub_version)
        }
    }

    /// A push consumer's TAG pull (no expression, no SUBSCRIPTION flag) is filtered by what the
    /// group's live consumers subscribe to together.
    #[test]
    fn tag_pulls_without_an_expression_use_what_the_group_subscribes_to() {
        let mut cache = SelectorCache::default();
        let mut reg = RegisteredFilters::default();
        let push = |v: i64| PullSubscription {
            sub_version: v,
            own_subscription: false,
            ..pull(Some("TAG"), None)
        };
        let ask = |reg: &RegisteredFilters, cache: &mut SelectorCache, v: i64| {
            pull_filter(&push(v), false, cache, reg)
        };
        // Nothing registered: unfiltered (the client filters tags itself).
        assert_eq!(ask(&reg, &mut cache, 5), Ok(TagFilter::All));
        reg.register("g", &[tags("t", "A || B", 5)], false, &mut cache);
        assert!(reg.holds(&push(5)));
        assert_eq!(
            ask(&reg, &mut cache, 5),
            Ok(TagFilter::parse(Some("A || B")))
        );
        // Java's push consumers send subVersion, the Go client 0: both are covered.
        assert_eq!(
            ask(&reg, &mut cache, 0),
            Ok(TagFilter::parse(Some("A || B")))
        );
        // A subscription newer than registered: its own expression (none: all).
        assert_eq!(ask(&reg, &mut cache, 6), Ok(TagFilter::All));
        // Two clients that disagree: what either takes.
        reg.register(
            "g",
            &[tags("t", "A", 5), tags("t", "C", 3), tags("other", "*", 3)],
            false,
            &mut cache,
        );
        assert_eq!(
            ask(&reg, &mut cache, 5),
            Ok(TagFilter::parse(Some("A || C")))
        );
        reg.register(
            "g",
            &[tags("t", "A", 5), tags("t", "*", 3)],
            false,
            &mut cache,
        );
        assert_eq!(ask(&reg, &mut cache, 5), Ok(TagFilter::All));
        // Selectors are not kept while property filters are off; tags are.
        reg.register(
            "g",
            &[tags("t", "A", 5), sub("s", "a > 1", 5)],
            false,
            &mut cache,
        );
        assert!(!reg.holds(&PullSubscription {
            topic: "s",
            ..push(5)
        }));
        // The group's last consumer gone: nothing registered.
        reg.register("g", &[], false, &mut cache);
        assert!(reg.is_empty());
    }

    /// A push consumer's pull names no expression: its group's registration is used, as Java's.
    #[test]
    fn pulls_without_an_expression_use_the_groups_registration() {
        let mut cache = SelectorCache::default();
        let mut reg = RegisteredFilters::default();
        let ask = |reg: &RegisteredFilters, cache: &mut SelectorCache, v: i64| {
            let p = PullSubscription {
                sub_version: v,
                ..pull(Some("SQL92"), None)
            };
            pull_filter(&p, true, cache, reg)
        };
        assert_eq!(
            ask(&reg, &mut cache, 5).unwrap_err().0,
            response_code::SUBSCRIPTION_NOT_EXIST
        );
        reg.register("g", &[sub("t", "a > 1", 5)], true, &mut cache);
        let f = ask(&reg, &mut cache, 5).unwrap();
        let TagFilter::Sql(s) = &f else {
            panic!("{f:?}")
        };
        assert_eq!(s.0.expression(), "a > 1");
        // A newer subscription than registered: not latest.
        assert_eq!(
            ask(&reg, &mut cache, 6).unwrap_err().0,
            response_code::SUBSCRIPTION_NOT_LATEST
        );
        // Of two live clients, the newer subscription decides.
        reg.register(
            "g",
            &[sub("t", "a > 1", 5), sub("t", "a > 7", 4)],
            true,
            &mut cache,
        );
        assert_eq!(ask(&reg, &mut cache, 5).unwrap(), f);
        reg.register("g", &[sub("t", "a > 7", 6)], true, &mut cache);
        assert_ne!(ask(&reg, &mut cache, 6).unwrap(), f);
        // An expression that does not compile: no filter data.
        reg.register("g", &[sub("t", "a >", 7)], true, &mut cache);
        assert_eq!(
            ask(&reg, &mut cache, 7).unwrap_err().0,
            response_code::FILTER_DATA_NOT_EXIST
        );
        // A push consumer whose pulls say TAG with no expression (the Go client's): its
        // group's registration decides, as in Java.
        reg.register("g", &[sub("t", "a > 1", 8)], true, &mut cache);
        let go = PullSubscription {
            sub_version: 8,
            ..pull(Some("TAG"), Some(""))
        };
        let go = PullSubscription {
            own_subscription: false,
            ..go
        };
        assert!(matches!(
            pull_filter(&go, true, &mut cache, &reg),
            Ok(TagFilter::Sql(_))
        ));
        // A lite pull's own TAG subscription is its own.
        let lite = pull(Some("TAG"), Some("A"));
        assert_eq!(
            pull_filter(&lite, true, &mut cache, &reg),
            Ok(TagFilter::parse(Some("A")))
        );
        // No SQL92 subscription left: forgotten.
        reg.register("g", &[], true, &mut cache);
        assert_eq!(
            ask(&reg, &mut cache, 7).unwrap_err().0,
            response_code::SUBSCRIPTION_NOT_EXIST
        );
    }
}
