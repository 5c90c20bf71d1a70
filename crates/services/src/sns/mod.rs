//! Amazon SNS: topics, subscriptions, Publish, and delivery to http/https
//! endpoints (SNS's signed JSON envelope), Slack and Microsoft Teams
//! incoming webhooks (their own message formats), and email through an
//! SMTP relay.
//!
//! - `api.rs` — the operations with SNS's validation rules.
//! - `envelope.rs` — the messages endpoints receive: the JSON envelope and
//!   its canonical string to sign, the confirmation texts, alarm mails.
//! - `chat.rs` — Slack and Teams message cards.
//! - `signing.rs` — the signing key and the certificate Argus serves.
//! - `delivery.rs` — the delivery worker: the durable outbox, retries with
//!   SNS's default HTTP policy, outcomes and counters.
//!
//! Topics and subscriptions live in memory and in the catalog; changes go
//! to the catalog first. A Publish is acknowledged once its deliveries,
//! one per matching confirmed subscription, are committed to the catalog's
//! outbox — so an acknowledged message is delivered even across a crash.

mod api;
mod chat;
mod delivery;
mod envelope;
mod signing;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use argus_core::{ApiError, RequestContext, SharedClock};
use argus_query::sns_filter::{self, FilterPolicy};
use argus_storage::catalog::{CatalogError, SnsCatalog, SubscriptionRecord, TopicRecord};
use async_trait::async_trait;
use parking_lot::RwLock;
use serde_json::{Map, Value};

pub use delivery::run_delivery;
pub use signing::MessageSigner;

use crate::monitoring::alarms::AlarmNotifier;
use crate::{AwsService, not_implemented};

/// Where an SNS deployment differs between servers.
#[derive(Debug, Clone)]
pub struct SnsOptions {
    /// The base URL endpoints use to reach Argus (SubscribeURL,
    /// UnsubscribeURL, SigningCertURL), e.g. `http://127.0.0.1:4566`.
    pub public_url: String,
    /// `smtp://[user:pass@]host[:port][?tls=required]` or `smtps://…`;
    /// without it, email subscriptions fail their deliveries.
    pub smtp_url: Option<String>,
    /// The sender of notification mails.
    pub smtp_from: String,
    /// Where the signing key and certificate are kept.
    pub key_dir: PathBuf,
}

/// Counters for Argus's own `/metrics`.
#[derive(Debug, Default)]
pub struct SnsCounters {
    pub published: AtomicU64,
    pub deliveries_succeeded: AtomicU64,
    pub delivery_attempts_failed: AtomicU64,
    pub deliveries_failed: AtomicU64,
}

impl SnsCounters {
    pub fn snapshot(&self) -> [(&'static str, &'static str, f64); 4] {
        let read = |counter: &AtomicU64| counter.load(Ordering::Relaxed) as f64;
        [
            ("argus_sns_messages_published_total", "counter", read(&self.published)),
            ("argus_sns_deliveries_succeeded_total", "counter", read(&self.deliveries_succeeded)),
            ("argus_sns_delivery_attempts_failed_total", "counter", read(&self.delivery_attempts_failed)),
            ("argus_sns_deliveries_failed_total", "counter", read(&self.deliveries_failed)),
        ]
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Topic {
    pub arn: String,
    pub account: String,
    pub region: String,
    pub name: String,
    pub attributes: Map<String, Value>,
    pub tags: Vec<(String, String)>,
    pub created_ms: i64,
    pub deleted_subscriptions: u64,
}

impl Topic {
    fn record(&self) -> TopicRecord {
        let tags = self
            .tags
            .iter()
            .map(|(key, value)| serde_json::json!({"Key": key, "Value": value}))
            .collect();
        TopicRecord {
            arn: self.arn.clone(),
            account: self.account.clone(),
            region: self.region.clone(),
            name: self.name.clone(),
            attributes: Value::Object(self.attributes.clone()).to_string(),
            tags: Value::Array(tags).to_string(),
            created_ms: self.created_ms,
        }
    }

    fn from_record(record: TopicRecord) -> Topic {
        let attributes = match serde_json::from_str(&record.attributes) {
            Ok(Value::Object(map)) => map,
            _ => Map::new(),
        };
        let tags = match serde_json::from_str::<Value>(&record.tags) {
            Ok(Value::Array(tags)) => tags
                .iter()
                .filter_map(|tag| {
                    Some((
                        tag.get("Key")?.as_str()?.to_string(),
                        tag.get("Value")?.as_str()?.to_string(),
                    ))
                })
                .collect(),
            _ => Vec::new(),
        };
        Topic {
            arn: record.arn,
            account: record.account,
            region: record.region,
            name: record.name,
            attributes,
            tags,
            created_ms: record.created_ms,
            deleted_subscriptions: 0,
        }
    }

    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes.get(name).and_then(Value::as_str)
    }

    pub fn is_fifo(&self) -> bool {
        self.name.ends_with(".fifo")
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Subscription {
    pub arn: String,
    pub topic_arn: String,
    pub account: String,
    pub region: String,
    pub protocol: String,
    pub endpoint: String,
    pub attributes: Map<String, Value>,
    pub confirmed: bool,
    pub token: String,
    pub created_ms: i64,
    /// The parsed FilterPolicy attribute.
    pub filter: Option<FilterPolicy>,
}

impl Subscription {
    fn record(&self) -> SubscriptionRecord {
        SubscriptionRecord {
            arn: self.arn.clone(),
            topic_arn: self.topic_arn.clone(),
            account: self.account.clone(),
            region: self.region.clone(),
            protocol: self.protocol.clone(),
            endpoint: self.endpoint.clone(),
            attributes: Value::Object(self.attributes.clone()).to_string(),
            confirmed: self.confirmed,
            token: self.token.clone(),
            created_ms: self.created_ms,
        }
    }

    fn from_record(record: SubscriptionRecord) -> Subscription {
        let attributes = match serde_json::from_str(&record.attributes) {
            Ok(Value::Object(map)) => map,
            _ => Map::new(),
        };
        let mut subscription = Subscription {
            arn: record.arn,
            topic_arn: record.topic_arn,
            account: record.account,
            region: record.region,
            protocol: record.protocol,
            endpoint: record.endpoint,
            attributes,
            confirmed: record.confirmed,
            token: record.token,
            created_ms: record.created_ms,
            filter: None,
        };
        subscription.filter = subscription.parse_filter().ok().flatten();
        subscription
    }

    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes.get(name).and_then(Value::as_str)
    }

    pub fn raw(&self) -> bool {
        self.attribute("RawMessageDelivery") == Some("true")
    }

    /// The filter policy in its attributes, parsed (None without one).
    pub fn parse_filter(&self) -> Result<Option<FilterPolicy>, sns_filter::PolicyError> {
        let Some(policy) = self
            .attribute("FilterPolicy")
            .filter(|text| !text.trim().is_empty())
        else {
            return Ok(None);
        };
        let scope = match self.attribute("FilterPolicyScope") {
            Some("MessageBody") => sns_filter::Scope::MessageBody,
            _ => sns_filter::Scope::MessageAttributes,
        };
        sns_filter::parse(policy, scope).map(Some)
    }

    /// How a webhook endpoint wants its messages: `sns` (the envelope),
    /// `slack` or `teams`. Slack and Teams webhook hosts are recognised;
    /// the `WebhookFormat` attribute overrides.
    pub fn webhook_format(&self) -> &'static str {
        match self.attribute("WebhookFormat") {
            Some("slack") => return "slack",
            Some("teams") => return "teams",
            Some("sns") => return "sns",
            _ => {}
        }
        let host = self
            .endpoint
            .split_once("://")
            .map(|(_, rest)| {
                rest.split(['/', '?', '#'])
                    .next()
                    .unwrap_or("")
                    .rsplit('@')
                    .next()
                    .unwrap_or("")
            })
            .unwrap_or("")
            .split(':')
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        if host == "hooks.slack.com" {
            "slack"
        } else if host.ends_with(".webhook.office.com")
            || host == "outlook.office.com"
            || host.ends_with(".logic.azure.com")
            || host.ends_with(".powerplatform.com")
        {
            "teams"
        } else {
            "sns"
        }
    }
}

#[derive(Debug, Default)]
struct Registry {
    topics: BTreeMap<String, Topic>,
    subscriptions: BTreeMap<String, Subscription>,
}

pub struct SnsService {
    catalog: Arc<dyn SnsCatalog>,
    clock: SharedClock,
    options: SnsOptions,
    signer: MessageSigner,
    registry: RwLock<Registry>,
    /// Serialises changes to topics and subscriptions (catalog first, then memory).
    writing: tokio::sync::Mutex<()>,
    wake: tokio::sync::Notify,
    pub counters: SnsCounters,
}

impl SnsService {
    pub fn new(
        catalog: Arc<dyn SnsCatalog>,
        clock: SharedClock,
        options: SnsOptions,
    ) -> Result<SnsService, String> {
        let signer = MessageSigner::load_or_create(&options.key_dir)?;
        let mut registry = Registry::default();
        for record in catalog.load_topics().map_err(|error| error.to_string())? {
            registry
                .topics
                .insert(record.arn.clone(), Topic::from_record(record));
        }
        for record in catalog
            .load_subscriptions()
            .map_err(|error| error.to_string())?
        {
            registry
                .subscriptions
                .insert(record.arn.clone(), Subscription::from_record(record));
        }
        Ok(SnsService {
            catalog,
            clock,
            options,
            signer,
            registry: RwLock::new(registry),
            writing: tokio::sync::Mutex::new(()),
            wake: tokio::sync::Notify::new(),
            counters: SnsCounters::default(),
        })
    }

    pub fn now_ms(&self) -> i64 {
        self.clock.now_millis()
    }

    /// The PEM certificate served at the SigningCertURL.
    pub fn signing_certificate(&self) -> &str {
        self.signer.certificate_pem()
    }

    pub fn signing_cert_url(&self) -> String {
        format!(
            "{}/_argus/sns/SimpleNotificationService.pem",
            self.options.public_url
        )
    }

    /// Confirms a subscription from its SubscribeURL (an unsigned GET, as
    /// on SNS); returns the subscription ARN.
    pub async fn confirm_from_link(
        &self,
        topic_arn: &str,
        token: &str,
    ) -> Result<String, ApiError> {
        api::confirm(self, topic_arn, token).await
    }

    /// Unsubscribes from an UnsubscribeURL (an unsigned GET, as on SNS).
    pub async fn unsubscribe_from_link(&self, subscription_arn: &str) -> Result<(), ApiError> {
        api::unsubscribe_arn(self, subscription_arn).await
    }

    pub(crate) fn topic(&self, arn: &str) -> Option<Topic> {
        self.registry.read().topics.get(arn).cloned()
    }

    pub(crate) fn subscription(&self, arn: &str) -> Option<Subscription> {
        self.registry.read().subscriptions.get(arn).cloned()
    }

    pub(crate) fn subscriptions_of(&self, topic_arn: &str) -> Vec<Subscription> {
        self.registry
            .read()
            .subscriptions
            .values()
            .filter(|subscription| subscription.topic_arn == topic_arn)
            .cloned()
            .collect()
    }
}

pub(crate) fn catalog_error(error: CatalogError) -> ApiError {
    tracing::error!(%error, "SNS catalog write failed");
    ApiError::internal()
}

#[async_trait]
impl AwsService for SnsService {
    async fn call(
        &self,
        ctx: &RequestContext,
        operation: &str,
        input: Value,
    ) -> Result<Value, ApiError> {
        match operation {
            "CreateTopic" => api::create_topic(self, ctx, input).await,
            "DeleteTopic" => api::delete_topic(self, ctx, input).await,
            "ListTopics" => api::list_topics(self, ctx, input),
            "GetTopicAttributes" => api::get_topic_attributes(self, ctx, input),
            "SetTopicAttributes" => api::set_topic_attributes(self, ctx, input).await,
            "Subscribe" => api::subscribe(self, ctx, input).await,
            "ConfirmSubscription" => api::confirm_subscription(self, ctx, input).await,
            "Unsubscribe" => api::unsubscribe(self, ctx, input).await,
            "ListSubscriptions" => api::list_subscriptions(self, ctx, input),
            "ListSubscriptionsByTopic" => api::list_subscriptions_by_topic(self, ctx, input),
            "GetSubscriptionAttributes" => api::get_subscription_attributes(self, ctx, input),
            "SetSubscriptionAttributes" => api::set_subscription_attributes(self, ctx, input).await,
            "Publish" => api::publish(self, ctx, input).await,
            "PublishBatch" => api::publish_batch(self, ctx, input).await,
            "TagResource" => api::tag_resource(self, ctx, input).await,
            "UntagResource" => api::untag_resource(self, ctx, input).await,
            "ListTagsForResource" => api::list_tags(self, ctx, input),
            other => Err(not_implemented("SNS", other)),
        }
    }
}

/// Alarm actions naming an SNS topic publish here.
#[async_trait]
impl AlarmNotifier for SnsService {
    async fn publish(
        &self,
        notification: &crate::monitoring::alarms::AlarmNotification,
    ) -> Result<String, String> {
        api::publish_alarm(self, notification).await
    }
}
