//! The SNS operations, with SNS's validation rules and error wording
//! (`InvalidParameter` "Invalid parameter: …", `NotFound` "Topic does not
//! exist" …). Inputs arrive as canonical JSON values.

use std::collections::HashMap;
use std::sync::atomic::Ordering;

use argus_core::{ApiError, ErrorCode, RequestContext};
use argus_query::sns_filter;
use argus_storage::catalog::DeliveryRecord;
use base64::Engine;
use serde_json::{Map, Value, json};

use super::envelope::{self, Payload, RetryPolicy};
use super::{SnsService, Subscription, Topic, catalog_error};
use crate::monitoring::alarms::AlarmNotification;

const PAGE: usize = 100;
const MAX_MESSAGE_BYTES: usize = 262_144;
const MAX_TAGS: usize = 50;
/// Attributes SetTopicAttributes and CreateTopic accept.
const TOPIC_ATTRIBUTES: &[&str] = &[
    "Policy",
    "DisplayName",
    "DeliveryPolicy",
    "SignatureVersion",
    "KmsMasterKeyId",
    "TracingConfig",
    "FifoTopic",
    "ContentBasedDeduplication",
    "FifoThroughputScope",
    "ArchivePolicy",
    "DataProtectionPolicy",
];
const SUBSCRIPTION_ATTRIBUTES: &[&str] = &[
    "DeliveryPolicy",
    "FilterPolicy",
    "FilterPolicyScope",
    "RawMessageDelivery",
    "RedrivePolicy",
    "SubscriptionRoleArn",
    "ReplayPolicy",
    // Argus's own: how a webhook wants its messages (sns, slack, teams).
    "WebhookFormat",
];
const PROTOCOLS: &[&str] = &[
    "http",
    "https",
    "email",
    "email-json",
    "sms",
    "sqs",
    "application",
    "lambda",
    "firehose",
];

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::SnsInvalidParameter, message)
}

fn not_found(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::NotFound, message)
}

fn text<'a>(input: &'a Value, key: &str) -> Option<&'a str> {
    input.get(key).and_then(Value::as_str)
}

fn required<'a>(input: &'a Value, key: &str) -> Result<&'a str, ApiError> {
    text(input, key).ok_or_else(|| {
        invalid(format!(
            "Invalid parameter: {key} Reason: no value for required parameter"
        ))
    })
}

fn attribute_map(input: &Value, key: &str) -> Map<String, Value> {
    match input.get(key) {
        Some(Value::Object(map)) => map
            .iter()
            .map(|(name, value)| (name.clone(), Value::String(as_text(value))))
            .collect(),
        _ => Map::new(),
    }
}

fn as_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn tags_of(input: &Value) -> Result<Vec<(String, String)>, ApiError> {
    let mut tags = Vec::new();
    for tag in input
        .get("Tags")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let key = tag.get("Key").and_then(Value::as_str).unwrap_or("");
        let value = tag.get("Value").and_then(Value::as_str).unwrap_or("");
        if key.is_empty()
            || key.chars().count() > 128
            || value.chars().count() > 256
            || key.starts_with("aws:")
        {
            return Err(invalid(format!(
                "Invalid parameter: Tags Reason: the tag key `{key}` or its value is not allowed"
            )));
        }
        tags.push((key.to_string(), value.to_string()));
    }
    Ok(tags)
}

fn merge_tags(
    existing: &mut Vec<(String, String)>,
    new: Vec<(String, String)>,
) -> Result<(), ApiError> {
    for (key, value) in new {
        match existing.iter_mut().find(|(existing, _)| *existing == key) {
            Some(slot) => slot.1 = value,
            None => existing.push((key, value)),
        }
    }
    if existing.len() > MAX_TAGS {
        return Err(ApiError::new(
            ErrorCode::TagLimitExceeded,
            format!(
                "Could not complete request: tag quota of per resource exceeded ({MAX_TAGS} tags)"
            ),
        ));
    }
    Ok(())
}

fn page<T: Clone>(
    items: &[T],
    key: impl Fn(&T) -> &str,
    token: Option<&str>,
) -> Result<(Vec<T>, Option<String>), ApiError> {
    let start = match token {
        Some(token) => {
            let after = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(token)
                .ok()
                .and_then(|bytes| String::from_utf8(bytes).ok())
                .ok_or_else(|| invalid("Invalid parameter: NextToken"))?;
            items
                .iter()
                .position(|item| key(item) > after.as_str())
                .unwrap_or(items.len())
        }
        None => 0,
    };
    let chunk: Vec<T> = items.iter().skip(start).take(PAGE).cloned().collect();
    let next = (start + PAGE < items.len())
        .then(|| {
            chunk
                .last()
                .map(|last| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key(last)))
        })
        .flatten();
    Ok((chunk, next))
}

// ------------------------------------------------------------------ topics

fn check_topic_name(name: &str, fifo: bool) -> Result<(), ApiError> {
    let stem = name.strip_suffix(".fifo").unwrap_or(name);
    let valid = !stem.is_empty()
        && name.len() <= 256
        && stem
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_')
        && (fifo == name.ends_with(".fifo"));
    if valid {
        Ok(())
    } else if fifo || name.ends_with(".fifo") {
        Err(invalid(
            "Invalid parameter: Fifo Topic names must end with .fifo and must be made up of only uppercase and lowercase ASCII letters, numbers, underscores, and hyphens, and must be between 1 and 256 characters long.",
        ))
    } else {
        Err(invalid("Invalid parameter: Topic Name"))
    }
}

fn check_topic_attribute(name: &str, value: &str) -> Result<(), ApiError> {
    let known = TOPIC_ATTRIBUTES.contains(&name)
        || name.ends_with("FeedbackRoleArn")
        || name.ends_with("SuccessFeedbackSampleRate");
    if !known {
        return Err(invalid("Invalid parameter: AttributeName"));
    }
    let fail = |reason: &str| {
        Err(invalid(format!(
            "Invalid parameter: Attributes Reason: {name}: {reason}"
        )))
    };
    match name {
        "SignatureVersion" if value != "1" && value != "2" => fail("must be 1 or 2"),
        "TracingConfig" if value != "PassThrough" && value != "Active" => {
            fail("must be PassThrough or Active")
        }
        "FifoTopic" | "ContentBasedDeduplication" if value != "true" && value != "false" => {
            fail("must be true or false")
        }
        "Policy" | "DeliveryPolicy" | "ArchivePolicy" | "DataProtectionPolicy"
            if !value.is_empty()
                && serde_json::from_str::<Value>(value)
                    .map_or(true, |parsed| !parsed.is_object()) =>
        {
            fail("must be a JSON object")
        }
        "DisplayName" if value.chars().count() > 100 => fail("must be at most 100 characters"),
        _ => Ok(()),
    }
}

fn topic_arn(ctx: &RequestContext, name: &str) -> String {
    format!("arn:aws:sns:{}:{}:{name}", ctx.region, ctx.account_id)
}

/// A topic of the caller's account and region.
fn find_topic(service: &SnsService, ctx: &RequestContext, arn: &str) -> Result<Topic, ApiError> {
    let parts: Vec<&str> = arn.split(':').collect();
    if parts.len() != 6 || parts.first() != Some(&"arn") || parts.get(2) != Some(&"sns") {
        return Err(invalid("Invalid parameter: TopicArn"));
    }
    service
        .topic(arn)
        .filter(|topic| topic.account == ctx.account_id && topic.region == ctx.region)
        .ok_or_else(|| not_found("Topic does not exist"))
}

pub(super) async fn create_topic(
    service: &SnsService,
    ctx: &RequestContext,
    input: Value,
) -> Result<Value, ApiError> {
    let name = required(&input, "Name")?;
    let attributes = attribute_map(&input, "Attributes");
    for (key, value) in &attributes {
        check_topic_attribute(key, &as_text(value))?;
    }
    let fifo = attributes.get("FifoTopic").and_then(Value::as_str) == Some("true");
    check_topic_name(name, fifo)?;
    let tags = tags_of(&input)?;
    let arn = topic_arn(ctx, name);
    let _writing = service.writing.lock().await;
    if let Some(mut existing) = service.topic(&arn) {
        // CreateTopic is idempotent: the same name answers the same ARN,
        // unless it asks for different attributes.
        let differs = attributes
            .iter()
            .any(|(key, value)| existing.attributes.get(key).unwrap_or(&Value::Null) != value);
        if differs {
            return Err(invalid(
                "Invalid parameter: Attributes Reason: Topic already exists with different attributes",
            ));
        }
        if !tags.is_empty() {
            let before = existing.tags.clone();
            merge_tags(&mut existing.tags, tags)?;
            if existing.tags != before {
                return Err(invalid(
                    "Invalid parameter: Tags Reason: Topic already exists with different tags",
                ));
            }
        }
        return Ok(json!({"TopicArn": arn}));
    }
    let mut topic = Topic {
        arn: arn.clone(),
        account: ctx.account_id.clone(),
        region: ctx.region.clone(),
        name: name.to_string(),
        attributes,
        tags: Vec::new(),
        created_ms: service.now_ms(),
        deleted_subscriptions: 0,
    };
    merge_tags(&mut topic.tags, tags)?;
    service
        .catalog
        .put_topic(&topic.record())
        .map_err(catalog_error)?;
    service.registry.write().topics.insert(arn.clone(), topic);
    Ok(json!({"TopicArn": arn}))
}

pub(super) async fn delete_topic(
    service: &SnsService,
    ctx: &RequestContext,
    input: Value,
) -> Result<Value, ApiError> {
    let arn = required(&input, "TopicArn")?;
    let _writing = service.writing.lock().await;
    // Deleting a topic that does not exist succeeds, as on SNS.
    let Ok(topic) = find_topic(service, ctx, arn) else {
        return Ok(json!({}));
    };
    service
        .catalog
        .delete_topic(&topic.arn)
        .map_err(catalog_error)?;
    let mut registry = service.registry.write();
    registry.topics.remove(&topic.arn);
    registry
        .subscriptions
        .retain(|_, subscription| subscription.topic_arn != topic.arn);
    Ok(json!({}))
}

pub(super) fn list_topics(
    service: &SnsService,
    ctx: &RequestContext,
    input: Value,
) -> Result<Value, ApiError> {
    let arns: Vec<String> = service
        .registry
        .read()
        .topics
        .values()
        .filter(|topic| topic.account == ctx.account_id && topic.region == ctx.region)
        .map(|topic| topic.arn.clone())
        .collect();
    let (chunk, next) = page(&arns, |arn| arn.as_str(), text(&input, "NextToken"))?;
    let mut output =
        json!({"Topics": chunk.iter().map(|arn| json!({"TopicArn": arn})).collect::<Vec<_>>()});
    if let (Some(next), Some(object)) = (next, output.as_object_mut()) {
        object.insert("NextToken".into(), json!(next));
    }
    Ok(output)
}

fn default_policy(topic: &Topic) -> String {
    let actions = [
        "SNS:GetTopicAttributes",
        "SNS:SetTopicAttributes",
        "SNS:AddPermission",
        "SNS:RemovePermission",
        "SNS:DeleteTopic",
        "SNS:Subscribe",
        "SNS:ListSubscriptionsByTopic",
        "SNS:Publish",
    ];
    json!({
        "Version": "2008-10-17",
        "Id": "__default_policy_ID",
        "Statement": [{
            "Sid": "__default_statement_ID",
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Action": actions,
            "Resource": topic.arn,
            "Condition": {"StringEquals": {"AWS:SourceOwner": topic.account}},
        }],
    })
    .to_string()
}

fn default_delivery_policy() -> Value {
    let retry = RetryPolicy::default();
    json!({"http": {
        "defaultHealthyRetryPolicy": retry,
        "disableSubscriptionOverrides": false,
        "defaultRequestPolicy": {"headerContentType": "text/plain; charset=UTF-8"},
    }})
}

pub(super) fn get_topic_attributes(
    service: &SnsService,
    ctx: &RequestContext,
    input: Value,
) -> Result<Value, ApiError> {
    let topic = find_topic(service, ctx, required(&input, "TopicArn")?)?;
    let subscriptions = service.subscriptions_of(&topic.arn);
    let confirmed = subscriptions
        .iter()
        .filter(|subscription| subscription.confirmed)
        .count();
    let mut attributes = Map::new();
    attributes.insert("TopicArn".into(), json!(topic.arn));
    attributes.insert("Owner".into(), json!(topic.account));
    attributes.insert("Policy".into(), json!(default_policy(&topic)));
    attributes.insert("DisplayName".into(), json!(""));
    attributes.insert(
        "SubscriptionsConfirmed".into(),
        json!(confirmed.to_string()),
    );
    attributes.insert(
        "SubscriptionsPending".into(),
        json!((subscriptions.len() - confirmed).to_string()),
    );
    attributes.insert(
        "SubscriptionsDeleted".into(),
        json!(topic.deleted_subscriptions.to_string()),
    );
    let effective = match topic.attribute("DeliveryPolicy") {
        Some(policy) if !policy.is_empty() => policy.to_string(),
        _ => default_delivery_policy().to_string(),
    };
    attributes.insert("EffectiveDeliveryPolicy".into(), json!(effective));
    if topic.is_fifo() {
        attributes.insert("FifoTopic".into(), json!("true"));
        attributes.insert("ContentBasedDeduplication".into(), json!("false"));
    }
    for (key, value) in &topic.attributes {
        attributes.insert(key.clone(), value.clone());
    }
    Ok(json!({"Attributes": attributes}))
}

pub(super) async fn set_topic_attributes(
    service: &SnsService,
    ctx: &RequestContext,
    input: Value,
) -> Result<Value, ApiError> {
    let arn = required(&input, "TopicArn")?;
    let name = required(&input, "AttributeName")?;
    let value = text(&input, "AttributeValue").unwrap_or("");
    check_topic_attribute(name, value)?;
    if name == "FifoTopic" {
        return Err(invalid(
            "Invalid parameter: AttributeName Reason: FifoTopic can only be set when the topic is created",
        ));
    }
    let _writing = service.writing.lock().await;
    let mut topic = find_topic(service, ctx, arn)?;
    topic.attributes.insert(name.to_string(), json!(value));
    service
        .catalog
        .put_topic(&topic.record())
        .map_err(catalog_error)?;
    service
        .registry
        .write()
        .topics
        .insert(topic.arn.clone(), topic);
    Ok(json!({}))
}

// ----------------------------------------------------------- subscriptions

fn check_subscription_attribute(name: &str, value: &str, protocol: &str) -> Result<(), ApiError> {
    if !SUBSCRIPTION_ATTRIBUTES.contains(&name) {
        return Err(invalid("Invalid parameter: AttributeName"));
    }
    let fail = |reason: &str| Err(invalid(format!("Invalid parameter: {name}: {reason}")));
    match name {
        "RawMessageDelivery" if value != "true" && value != "false" => {
            fail("must be true or false")
        }
        "RawMessageDelivery" if value == "true" && protocol.starts_with("email") => Err(invalid(
            "Invalid parameter: Attributes Reason: Delivery protocol [email] does not support raw message delivery.",
        )),
        "FilterPolicyScope" if value != "MessageAttributes" && value != "MessageBody" => {
            fail("must be MessageAttributes or MessageBody")
        }
        "WebhookFormat" if !matches!(value, "sns" | "slack" | "teams") => {
            fail("must be sns, slack or teams")
        }
        "WebhookFormat" if protocol != "http" && protocol != "https" => {
            fail("applies to http and https subscriptions only")
        }
        "DeliveryPolicy" | "RedrivePolicy" | "ReplayPolicy"
            if !value.is_empty()
                && serde_json::from_str::<Value>(value)
                    .map_or(true, |parsed| !parsed.is_object()) =>
        {
            fail("must be a JSON object")
        }
        _ => Ok(()),
    }
}

/// Subscribe words a bad filter policy as an attribute problem;
/// SetSubscriptionAttributes names the attribute itself.
fn check_filter(subscription: &Subscription, on_subscribe: bool) -> Result<(), ApiError> {
    subscription
        .parse_filter()
        .map(|_| ())
        .map_err(|error| invalid(if on_subscribe { error.subscribe_message() } else { error.to_string() }))
}

fn check_endpoint(protocol: &str, endpoint: &str) -> Result<(), ApiError> {
    let ok = match protocol {
        "http" => endpoint.starts_with("http://") && endpoint.len() > 7,
        "https" => endpoint.starts_with("https://") && endpoint.len() > 8,
        "email" | "email-json" => {
            let mut parts = endpoint.splitn(2, '@');
            matches!((parts.next(), parts.next()), (Some(local), Some(domain)) if !local.is_empty() && domain.contains('.') && !domain.contains(' '))
        }
        _ => !endpoint.is_empty(),
    };
    if ok {
        Ok(())
    } else {
        Err(invalid(format!(
            "Invalid parameter: Endpoint Reason: `{endpoint}` is not a valid {protocol} endpoint"
        )))
    }
}

/// Subscriptions that need the endpoint's owner to confirm them.
fn needs_confirmation(protocol: &str) -> bool {
    matches!(protocol, "http" | "https" | "email" | "email-json")
}

fn subscribe_url(service: &SnsService, topic_arn: &str, token: &str) -> String {
    format!(
        "{}/?Action=ConfirmSubscription&TopicArn={}&Token={token}",
        service.options.public_url,
        percent_encoding::utf8_percent_encode(topic_arn, percent_encoding::NON_ALPHANUMERIC)
    )
}

fn unsubscribe_url(service: &SnsService, subscription_arn: &str) -> String {
    format!(
        "{}/?Action=Unsubscribe&SubscriptionArn={}",
        service.options.public_url,
        percent_encoding::utf8_percent_encode(subscription_arn, percent_encoding::NON_ALPHANUMERIC)
    )
}

fn retry_policy(topic: &Topic, subscription: &Subscription) -> RetryPolicy {
    if !matches!(subscription.protocol.as_str(), "http" | "https") {
        return RetryPolicy::for_other_protocols();
    }
    let from_subscription = subscription
        .attribute("DeliveryPolicy")
        .and_then(|text| serde_json::from_str::<Value>(text).ok())
        .and_then(|policy| policy.get("healthyRetryPolicy").cloned());
    let from_topic = topic
        .attribute("DeliveryPolicy")
        .and_then(|text| serde_json::from_str::<Value>(text).ok())
        .and_then(|policy| policy.pointer("/http/defaultHealthyRetryPolicy").cloned());
    let base = serde_json::to_value(RetryPolicy::default()).unwrap_or(Value::Null);
    let merged =
        [from_topic, from_subscription]
            .into_iter()
            .flatten()
            .fold(base, |mut base, overrides| {
                if let (Some(base), Some(overrides)) = (base.as_object_mut(), overrides.as_object())
                {
                    for (key, value) in overrides {
                        base.insert(key.clone(), value.clone());
                    }
                }
                base
            });
    serde_json::from_value(merged).unwrap_or_default()
}

fn signed(
    service: &SnsService,
    topic: &Topic,
    mut envelope: Map<String, Value>,
) -> Map<String, Value> {
    let version = topic
        .attribute("SignatureVersion")
        .unwrap_or("1")
        .to_string();
    let signature = service
        .signer
        .sign(&version, &envelope::string_to_sign(&envelope));
    envelope.insert("SignatureVersion".into(), json!(version));
    envelope.insert("Signature".into(), json!(signature));
    envelope.insert("SigningCertURL".into(), json!(service.signing_cert_url()));
    envelope
}

fn base_payload(
    topic: &Topic,
    subscription: &Subscription,
    kind: &str,
    message_id: &str,
) -> Payload {
    Payload {
        kind: kind.to_string(),
        protocol: subscription.protocol.clone(),
        endpoint: subscription.endpoint.clone(),
        format: subscription.webhook_format().to_string(),
        raw: subscription.raw(),
        subscription_arn: subscription.arn.clone(),
        topic_arn: topic.arn.clone(),
        message_id: message_id.to_string(),
        subject: None,
        message: String::new(),
        envelope: Value::Null,
        display_name: topic
            .attribute("DisplayName")
            .filter(|name| !name.is_empty())
            .map(str::to_string),
        link: String::new(),
        alarm_link: None,
        retry: RetryPolicy::default(),
    }
}

fn delivery(payload: &Payload, now: i64) -> DeliveryRecord {
    DeliveryRecord {
        id: 0,
        subscription_arn: payload.subscription_arn.clone(),
        message_id: payload.message_id.clone(),
        payload: serde_json::to_string(payload).unwrap_or_default(),
        attempts: 0,
        due_ms: now,
    }
}

fn confirmation(
    service: &SnsService,
    topic: &Topic,
    subscription: &Subscription,
    now: i64,
) -> DeliveryRecord {
    let message_id = uuid::Uuid::new_v4().to_string();
    let link = subscribe_url(service, &topic.arn, &subscription.token);
    let mut envelope = Map::new();
    envelope.insert("Type".into(), json!("SubscriptionConfirmation"));
    envelope.insert("MessageId".into(), json!(message_id));
    envelope.insert("Token".into(), json!(subscription.token));
    envelope.insert("TopicArn".into(), json!(topic.arn));
    envelope.insert(
        "Message".into(),
        json!(envelope::confirmation_message(&topic.arn)),
    );
    envelope.insert("SubscribeURL".into(), json!(link));
    envelope.insert("Timestamp".into(), json!(envelope::timestamp(now)));
    let mut payload = base_payload(topic, subscription, "SubscriptionConfirmation", &message_id);
    payload.message = envelope::confirmation_message(&topic.arn);
    payload.envelope = Value::Object(signed(service, topic, envelope));
    payload.link = link;
    payload.retry = retry_policy(topic, subscription);
    delivery(&payload, now)
}

fn new_token() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

pub(super) async fn subscribe(
    service: &SnsService,
    ctx: &RequestContext,
    input: Value,
) -> Result<Value, ApiError> {
    let topic_arn = required(&input, "TopicArn")?;
    let protocol = required(&input, "Protocol")?;
    if !PROTOCOLS.contains(&protocol) {
        return Err(invalid(
            "Invalid parameter: Amazon SNS does not support this protocol string: ".to_string()
                + protocol,
        ));
    }
    let endpoint = text(&input, "Endpoint").unwrap_or("");
    check_endpoint(protocol, endpoint)?;
    let attributes = attribute_map(&input, "Attributes");
    for (key, value) in &attributes {
        check_subscription_attribute(key, &as_text(value), protocol)?;
    }
    let return_arn = input
        .get("ReturnSubscriptionArn")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let _writing = service.writing.lock().await;
    let topic = find_topic(service, ctx, topic_arn)?;
    let existing = service
        .subscriptions_of(&topic.arn)
        .into_iter()
        .find(|subscription| {
            subscription.protocol == protocol && subscription.endpoint == endpoint
        });
    if let Some(existing) = existing {
        if !attributes.is_empty()
            && attributes
                .iter()
                .any(|(key, value)| existing.attributes.get(key) != Some(value))
        {
            return Err(invalid(
                "Invalid parameter: Attributes Reason: Subscription already exists with different attributes",
            ));
        }
        let arn = if existing.confirmed || return_arn {
            existing.arn
        } else {
            "pending confirmation".to_string()
        };
        return Ok(json!({"SubscriptionArn": arn}));
    }
    let now = service.now_ms();
    let mut subscription = Subscription {
        arn: format!("{}:{}", topic.arn, uuid::Uuid::new_v4()),
        topic_arn: topic.arn.clone(),
        account: ctx.account_id.clone(),
        region: ctx.region.clone(),
        protocol: protocol.to_string(),
        endpoint: endpoint.to_string(),
        attributes,
        confirmed: !needs_confirmation(protocol),
        token: new_token(),
        created_ms: now,
        filter: None,
    };
    check_filter(&subscription, true)?;
    subscription.filter = subscription.parse_filter().ok().flatten();
    let deliveries = if subscription.confirmed {
        Vec::new()
    } else {
        vec![confirmation(service, &topic, &subscription, now)]
    };
    service
        .catalog
        .put_subscription(&subscription.record(), &deliveries)
        .map_err(catalog_error)?;
    let arn = if subscription.confirmed || return_arn {
        subscription.arn.clone()
    } else {
        "pending confirmation".to_string()
    };
    service
        .registry
        .write()
        .subscriptions
        .insert(subscription.arn.clone(), subscription);
    service.wake.notify_one();
    Ok(json!({"SubscriptionArn": arn}))
}

pub(super) async fn confirm_subscription(
    service: &SnsService,
    ctx: &RequestContext,
    input: Value,
) -> Result<Value, ApiError> {
    let topic_arn = required(&input, "TopicArn")?;
    let token = required(&input, "Token")?;
    find_topic(service, ctx, topic_arn)?;
    let arn = confirm(service, topic_arn, token).await?;
    Ok(json!({"SubscriptionArn": arn}))
}

/// Confirms the subscription of `topic_arn` that `token` was issued to.
pub(super) async fn confirm(
    service: &SnsService,
    topic_arn: &str,
    token: &str,
) -> Result<String, ApiError> {
    let _writing = service.writing.lock().await;
    if service.topic(topic_arn).is_none() {
        return Err(not_found("Topic does not exist"));
    }
    let Some(mut subscription) = service
        .subscriptions_of(topic_arn)
        .into_iter()
        .find(|subscription| !token.is_empty() && subscription.token == token)
    else {
        return Err(invalid("Invalid token"));
    };
    if !subscription.confirmed {
        subscription.confirmed = true;
        service
            .catalog
            .put_subscription(&subscription.record(), &[])
            .map_err(catalog_error)?;
        tracing::info!(subscription = %subscription.arn, endpoint = %subscription.endpoint, "SNS subscription confirmed");
    }
    let arn = subscription.arn.clone();
    service
        .registry
        .write()
        .subscriptions
        .insert(arn.clone(), subscription);
    Ok(arn)
}

pub(super) async fn unsubscribe(
    service: &SnsService,
    ctx: &RequestContext,
    input: Value,
) -> Result<Value, ApiError> {
    let subscription = find_subscription(service, ctx, required(&input, "SubscriptionArn")?)?;
    unsubscribe_arn(service, &subscription.arn).await?;
    Ok(json!({}))
}

pub(super) async fn unsubscribe_arn(service: &SnsService, arn: &str) -> Result<(), ApiError> {
    let _writing = service.writing.lock().await;
    let Some(subscription) = service.subscription(arn) else {
        return Err(not_found("Subscription does not exist"));
    };
    service
        .catalog
        .delete_subscription(arn)
        .map_err(catalog_error)?;
    let mut registry = service.registry.write();
    registry.subscriptions.remove(arn);
    if let Some(topic) = registry.topics.get_mut(&subscription.topic_arn) {
        topic.deleted_subscriptions += 1;
    }
    Ok(())
}

fn subscription_summary(subscription: &Subscription) -> Value {
    let arn = if subscription.confirmed {
        subscription.arn.clone()
    } else {
        "PendingConfirmation".to_string()
    };
    json!({
        "SubscriptionArn": arn,
        "Owner": subscription.account,
        "Protocol": subscription.protocol,
        "Endpoint": subscription.endpoint,
        "TopicArn": subscription.topic_arn,
    })
}

fn list_of(subscriptions: Vec<Subscription>, token: Option<&str>) -> Result<Value, ApiError> {
    let (chunk, next) = page(
        &subscriptions,
        |subscription| subscription.arn.as_str(),
        token,
    )?;
    let mut output =
        json!({"Subscriptions": chunk.iter().map(subscription_summary).collect::<Vec<_>>()});
    if let (Some(next), Some(object)) = (next, output.as_object_mut()) {
        object.insert("NextToken".into(), json!(next));
    }
    Ok(output)
}

pub(super) fn list_subscriptions(
    service: &SnsService,
    ctx: &RequestContext,
    input: Value,
) -> Result<Value, ApiError> {
    let subscriptions: Vec<Subscription> = service
        .registry
        .read()
        .subscriptions
        .values()
        .filter(|subscription| {
            subscription.account == ctx.account_id && subscription.region == ctx.region
        })
        .cloned()
        .collect();
    list_of(subscriptions, text(&input, "NextToken"))
}

pub(super) fn list_subscriptions_by_topic(
    service: &SnsService,
    ctx: &RequestContext,
    input: Value,
) -> Result<Value, ApiError> {
    let topic = find_topic(service, ctx, required(&input, "TopicArn")?)?;
    let mut subscriptions = service.subscriptions_of(&topic.arn);
    subscriptions.sort_by(|a, b| a.arn.cmp(&b.arn));
    list_of(subscriptions, text(&input, "NextToken"))
}

fn find_subscription(
    service: &SnsService,
    ctx: &RequestContext,
    arn: &str,
) -> Result<Subscription, ApiError> {
    if arn.split(':').count() != 7 || !arn.starts_with("arn:aws:sns:") {
        return Err(invalid("Invalid parameter: SubscriptionArn"));
    }
    service
        .subscription(arn)
        .filter(|subscription| {
            subscription.account == ctx.account_id && subscription.region == ctx.region
        })
        .ok_or_else(|| not_found("Subscription does not exist"))
}

pub(super) fn get_subscription_attributes(
    service: &SnsService,
    ctx: &RequestContext,
    input: Value,
) -> Result<Value, ApiError> {
    let subscription = find_subscription(service, ctx, required(&input, "SubscriptionArn")?)?;
    let topic = service.topic(&subscription.topic_arn);
    let mut attributes = Map::new();
    attributes.insert("SubscriptionArn".into(), json!(subscription.arn));
    attributes.insert("TopicArn".into(), json!(subscription.topic_arn));
    attributes.insert("Owner".into(), json!(subscription.account));
    attributes.insert("Protocol".into(), json!(subscription.protocol));
    attributes.insert("Endpoint".into(), json!(subscription.endpoint));
    attributes.insert(
        "PendingConfirmation".into(),
        json!((!subscription.confirmed).to_string()),
    );
    attributes.insert(
        "ConfirmationWasAuthenticated".into(),
        json!(subscription.confirmed.to_string()),
    );
    attributes.insert(
        "RawMessageDelivery".into(),
        json!(subscription.raw().to_string()),
    );
    if let Some(topic) = &topic {
        let policy = retry_policy(topic, &subscription);
        attributes.insert(
            "EffectiveDeliveryPolicy".into(),
            json!(json!({"healthyRetryPolicy": policy}).to_string()),
        );
    }
    if subscription.attribute("FilterPolicy").is_some() {
        attributes.insert("FilterPolicyScope".into(), json!("MessageAttributes"));
    }
    for (key, value) in &subscription.attributes {
        attributes.insert(key.clone(), value.clone());
    }
    Ok(json!({"Attributes": attributes}))
}

pub(super) async fn set_subscription_attributes(
    service: &SnsService,
    ctx: &RequestContext,
    input: Value,
) -> Result<Value, ApiError> {
    let arn = required(&input, "SubscriptionArn")?;
    let name = required(&input, "AttributeName")?;
    let value = text(&input, "AttributeValue").unwrap_or("");
    let _writing = service.writing.lock().await;
    let mut subscription = find_subscription(service, ctx, arn)?;
    check_subscription_attribute(name, value, &subscription.protocol)?;
    if value.is_empty() && name == "FilterPolicy" {
        subscription.attributes.remove(name);
    } else {
        subscription
            .attributes
            .insert(name.to_string(), json!(value));
    }
    check_filter(&subscription, false)?;
    subscription.filter = subscription.parse_filter().ok().flatten();
    service
        .catalog
        .put_subscription(&subscription.record(), &[])
        .map_err(catalog_error)?;
    service
        .registry
        .write()
        .subscriptions
        .insert(subscription.arn.clone(), subscription);
    Ok(json!({}))
}

// ----------------------------------------------------------------- publish

/// One message to publish, validated.
struct Outgoing {
    subject: Option<String>,
    /// Per protocol (MessageStructure `json`), with `default`.
    messages: Map<String, Value>,
    attributes: Map<String, Value>,
    /// `{name: (DataType, value)}` for filter policies.
    typed: HashMap<String, (String, String)>,
    dedup_key: Option<String>,
}

fn parameter_value(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::InvalidParameterValue, message)
}

fn validate_message(topic: &Topic, entry: &Value) -> Result<Outgoing, ApiError> {
    let message = text(entry, "Message").unwrap_or("");
    if message.is_empty() {
        return Err(invalid("Invalid parameter: Empty message"));
    }
    let mut size = message.len();
    let subject = match text(entry, "Subject") {
        Some(subject) => {
            let printable = subject
                .chars()
                .all(|c| c.is_ascii() && !c.is_ascii_control());
            if subject.is_empty() || subject.chars().count() > 100 || !printable {
                return Err(invalid(
                    "Invalid parameter: Subject Reason: must be 1 to 100 ASCII characters without line breaks or control characters",
                ));
            }
            Some(subject.to_string())
        }
        None => None,
    };
    let mut messages = Map::new();
    match text(entry, "MessageStructure") {
        Some("json") => {
            let Ok(Value::Object(structure)) = serde_json::from_str::<Value>(message) else {
                return Err(invalid(
                    "Invalid parameter: Message Structure - JSON message body failed to parse",
                ));
            };
            if !structure.get("default").is_some_and(Value::is_string) {
                return Err(invalid(
                    "Invalid parameter: Message Structure - No default entry in JSON message body",
                ));
            }
            for (protocol, value) in structure {
                if let Value::String(text) = value {
                    messages.insert(protocol, Value::String(text));
                }
            }
        }
        Some(other) => {
            return Err(invalid(format!(
                "Invalid parameter: MessageStructure Reason: `{other}` is not supported; use json"
            )));
        }
        None => {
            messages.insert("default".into(), json!(message));
        }
    }
    let mut attributes = Map::new();
    let mut typed = HashMap::new();
    if let Some(Value::Object(given)) = entry.get("MessageAttributes") {
        if given.len() > 10 {
            return Err(invalid(
                "Invalid parameter: MessageAttributes Reason: a message can have at most 10 attributes",
            ));
        }
        for (name, attribute) in given {
            let valid_name = !name.is_empty()
                && name.len() <= 256
                && !name.starts_with('.')
                && !name.ends_with('.')
                && !name.contains("..")
                && !name.to_ascii_lowercase().starts_with("aws.")
                && !name.to_ascii_lowercase().starts_with("amazon.")
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
            if !valid_name {
                return Err(parameter_value(format!(
                    "The message attribute name '{name}' is invalid."
                )));
            }
            let data_type = text(attribute, "DataType").unwrap_or("");
            let base = data_type.split('.').next().unwrap_or("");
            let kind = if data_type == "String.Array" {
                "String.Array"
            } else {
                base
            };
            if !matches!(kind, "String" | "Number" | "Binary" | "String.Array") {
                return Err(parameter_value(format!(
                    "The message attribute '{name}' has an invalid message attribute type, the set of supported type prefixes is Binary, Number, and String."
                )));
            }
            let value = if kind == "Binary" {
                text(attribute, "BinaryValue")
            } else {
                text(attribute, "StringValue")
            }
            .unwrap_or("");
            if value.is_empty() {
                return Err(parameter_value(format!(
                    "The message attribute '{name}' must contain non-empty message attribute value for message attribute type '{kind}'."
                )));
            }
            if kind == "Number"
                && value
                    .trim()
                    .parse::<f64>()
                    .map_or(true, |number| !number.is_finite())
            {
                return Err(parameter_value(format!(
                    "Could not cast message attribute '{name}' value to number."
                )));
            }
            if kind == "String.Array"
                && !serde_json::from_str::<Value>(value).is_ok_and(|parsed| parsed.is_array())
            {
                return Err(parameter_value(format!(
                    "The message attribute '{name}' with type 'String.Array' must be a JSON array."
                )));
            }
            size += name.len() + data_type.len() + value.len();
            attributes.insert(name.clone(), json!({"Type": data_type, "Value": value}));
            typed.insert(name.clone(), (data_type.to_string(), value.to_string()));
        }
    }
    if size > MAX_MESSAGE_BYTES {
        return Err(invalid("Invalid parameter: Message too long"));
    }
    let mut dedup_key = None;
    if topic.is_fifo() {
        let Some(group) = text(entry, "MessageGroupId").filter(|group| !group.is_empty()) else {
            return Err(invalid(
                "Invalid parameter: The MessageGroupId parameter is required for FIFO topics",
            ));
        };
        let _ = group;
        let id = match text(entry, "MessageDeduplicationId") {
            Some(id) => id.to_string(),
            None if topic.attribute("ContentBasedDeduplication") == Some("true") => {
                use rsa::sha2::Digest;
                format!("{:x}", rsa::sha2::Sha256::digest(message.as_bytes()))
            }
            None => {
                return Err(invalid(
                    "Invalid parameter: The topic should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly",
                ));
            }
        };
        dedup_key = Some(format!("fifo:{}:{id}", topic.arn));
    }
    Ok(Outgoing {
        subject,
        messages,
        attributes,
        typed,
        dedup_key,
    })
}

fn filter_accepts(subscription: &Subscription, outgoing: &Outgoing, body: &str) -> bool {
    let Some(filter) = &subscription.filter else {
        return true;
    };
    match filter.scope() {
        sns_filter::Scope::MessageAttributes => {
            let lookup = |name: &str| {
                outgoing
                    .typed
                    .get(name)
                    .map(|(data_type, value)| sns_filter::Attribute { data_type, value })
            };
            filter.matches_attributes(&lookup)
        }
        sns_filter::Scope::MessageBody => {
            serde_json::from_str::<Value>(body).is_ok_and(|parsed| filter.matches_body(&parsed))
        }
    }
}

/// Queues `outgoing` for every confirmed subscription of `topic` whose
/// filter accepts it; returns the message id.
fn accept(service: &SnsService, topic: &Topic, outgoing: &Outgoing) -> Result<String, ApiError> {
    let now = service.now_ms();
    let message_id = uuid::Uuid::new_v4().to_string();
    let timestamp = envelope::timestamp(now);
    let default = outgoing
        .messages
        .get("default")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let alarm_link = serde_json::from_str::<Value>(&default)
        .ok()
        .filter(|message| message.get("NewStateValue").is_some())
        .and_then(|message| {
            message
                .get("AlarmName")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .map(|name| {
            format!(
                "{}/_argus/alarms/{}?region={}",
                service.options.public_url,
                percent_encoding::utf8_percent_encode(&name, percent_encoding::NON_ALPHANUMERIC),
                topic.region
            )
        });
    // One signature per distinct message text (MessageStructure json may
    // give each protocol its own).
    let mut signatures: HashMap<String, Map<String, Value>> = HashMap::new();
    let mut deliveries = Vec::new();
    for subscription in service
        .subscriptions_of(&topic.arn)
        .into_iter()
        .filter(|subscription| subscription.confirmed)
    {
        let message = outgoing
            .messages
            .get(&subscription.protocol)
            .and_then(Value::as_str)
            .unwrap_or(&default)
            .to_string();
        if !filter_accepts(&subscription, outgoing, &message) {
            continue;
        }
        let signed_envelope = signatures
            .entry(message.clone())
            .or_insert_with(|| {
                let mut envelope = Map::new();
                envelope.insert("Type".into(), json!("Notification"));
                envelope.insert("MessageId".into(), json!(message_id));
                envelope.insert("TopicArn".into(), json!(topic.arn));
                if let Some(subject) = &outgoing.subject {
                    envelope.insert("Subject".into(), json!(subject));
                }
                envelope.insert("Message".into(), json!(message));
                envelope.insert("Timestamp".into(), json!(timestamp));
                signed(service, topic, envelope)
            })
            .clone();
        let mut envelope = signed_envelope;
        let link = unsubscribe_url(service, &subscription.arn);
        envelope.insert("UnsubscribeURL".into(), json!(link));
        if !outgoing.attributes.is_empty() {
            envelope.insert(
                "MessageAttributes".into(),
                Value::Object(outgoing.attributes.clone()),
            );
        }
        let mut payload = base_payload(topic, &subscription, "Notification", &message_id);
        payload.subject = outgoing.subject.clone();
        payload.message = message;
        payload.envelope = Value::Object(envelope);
        payload.link = link;
        payload.alarm_link = alarm_link.clone();
        payload.retry = retry_policy(topic, &subscription);
        deliveries.push(delivery(&payload, now));
    }
    let accepted = service
        .catalog
        .accept_message(outgoing.dedup_key.as_deref(), &message_id, now, &deliveries)
        .map_err(catalog_error)?;
    service.counters.published.fetch_add(1, Ordering::Relaxed);
    if !deliveries.is_empty() {
        service.wake.notify_one();
    }
    Ok(accepted)
}

fn publish_target(
    service: &SnsService,
    ctx: &RequestContext,
    input: &Value,
) -> Result<Topic, ApiError> {
    if text(input, "PhoneNumber").is_some() {
        return Err(invalid(
            "Invalid parameter: PhoneNumber Reason: SMS delivery is not supported by this server",
        ));
    }
    let arn = text(input, "TopicArn")
        .or_else(|| text(input, "TargetArn"))
        .ok_or_else(|| {
            invalid(
                "Invalid parameter: TopicArn or TargetArn Reason: no value for required parameter",
            )
        })?;
    find_topic(service, ctx, arn)
}

pub(super) async fn publish(
    service: &SnsService,
    ctx: &RequestContext,
    input: Value,
) -> Result<Value, ApiError> {
    let topic = publish_target(service, ctx, &input)?;
    let outgoing = validate_message(&topic, &input)?;
    let message_id = accept(service, &topic, &outgoing)?;
    Ok(json!({"MessageId": message_id}))
}

pub(super) async fn publish_batch(
    service: &SnsService,
    ctx: &RequestContext,
    input: Value,
) -> Result<Value, ApiError> {
    let topic = find_topic(service, ctx, required(&input, "TopicArn")?)?;
    let entries = input
        .get("PublishBatchRequestEntries")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if entries.is_empty() {
        return Err(ApiError::new(
            ErrorCode::EmptyBatchRequest,
            "The batch request doesn't contain any entries",
        ));
    }
    if entries.len() > 10 {
        return Err(ApiError::new(
            ErrorCode::TooManyEntriesInBatchRequest,
            "The batch request contains more entries than permissible (10)",
        ));
    }
    let mut ids = std::collections::HashSet::new();
    let mut total = 0;
    for entry in &entries {
        let id = text(entry, "Id").unwrap_or("");
        let valid = !id.is_empty()
            && id.len() <= 80
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !valid {
            return Err(ApiError::new(
                ErrorCode::InvalidBatchEntryId,
                format!(
                    "The Id of a batch entry in a batch request doesn't abide by the specification: `{id}`"
                ),
            ));
        }
        if !ids.insert(id.to_string()) {
            return Err(ApiError::new(
                ErrorCode::BatchEntryIdsNotDistinct,
                "Two or more batch entries in the request have the same Id",
            ));
        }
        total += text(entry, "Message").map_or(0, str::len);
    }
    if total > MAX_MESSAGE_BYTES {
        return Err(ApiError::new(
            ErrorCode::BatchRequestTooLong,
            "The length of all the messages put together is more than the limit (262144 bytes)",
        ));
    }
    let mut successful = Vec::new();
    let mut failed = Vec::new();
    for entry in &entries {
        let id = text(entry, "Id").unwrap_or("");
        match validate_message(&topic, entry)
            .and_then(|outgoing| accept(service, &topic, &outgoing))
        {
            Ok(message_id) => successful.push(json!({"Id": id, "MessageId": message_id})),
            Err(error) => failed.push(json!({
                "Id": id,
                "Code": error.code.name().trim_end_matches("Exception"),
                "Message": error.message,
                "SenderFault": error.code.is_sender_fault(),
            })),
        }
    }
    Ok(json!({"Successful": successful, "Failed": failed}))
}

/// An alarm action: CloudWatch publishes the alarm JSON to every protocol
/// but email, which gets the same change as text.
pub(super) async fn publish_alarm(
    service: &SnsService,
    notification: &AlarmNotification,
) -> Result<String, String> {
    let topic = service
        .topic(&notification.topic_arn)
        .filter(|topic| {
            topic.account == notification.account && topic.region == notification.region
        })
        .ok_or_else(|| format!("the topic {} does not exist", notification.topic_arn))?;
    let mut messages = Map::new();
    messages.insert("default".into(), json!(notification.message));
    messages.insert("email".into(), json!(notification.email));
    let outgoing = Outgoing {
        subject: Some(notification.subject.clone()),
        messages,
        attributes: Map::new(),
        typed: HashMap::new(),
        dedup_key: Some(notification.dedup_key.clone()),
    };
    accept(service, &topic, &outgoing).map_err(|error| error.message)
}

// -------------------------------------------------------------------- tags

fn tagged_topic(
    service: &SnsService,
    ctx: &RequestContext,
    input: &Value,
) -> Result<Topic, ApiError> {
    let arn = required(input, "ResourceArn")?;
    find_topic(service, ctx, arn).map_err(|error| match error.code {
        ErrorCode::NotFound => {
            ApiError::new(ErrorCode::ResourceNotFound, "Resource does not exist")
        }
        _ => error,
    })
}

pub(super) async fn tag_resource(
    service: &SnsService,
    ctx: &RequestContext,
    input: Value,
) -> Result<Value, ApiError> {
    let _writing = service.writing.lock().await;
    let mut topic = tagged_topic(service, ctx, &input)?;
    merge_tags(&mut topic.tags, tags_of(&input)?)?;
    service
        .catalog
        .put_topic(&topic.record())
        .map_err(catalog_error)?;
    service
        .registry
        .write()
        .topics
        .insert(topic.arn.clone(), topic);
    Ok(json!({}))
}

pub(super) async fn untag_resource(
    service: &SnsService,
    ctx: &RequestContext,
    input: Value,
) -> Result<Value, ApiError> {
    let _writing = service.writing.lock().await;
    let mut topic = tagged_topic(service, ctx, &input)?;
    let keys: Vec<&str> = input
        .get("TagKeys")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    topic.tags.retain(|(key, _)| !keys.contains(&key.as_str()));
    service
        .catalog
        .put_topic(&topic.record())
        .map_err(catalog_error)?;
    service
        .registry
        .write()
        .topics
        .insert(topic.arn.clone(), topic);
    Ok(json!({}))
}

pub(super) fn list_tags(
    service: &SnsService,
    ctx: &RequestContext,
    input: Value,
) -> Result<Value, ApiError> {
    let topic = tagged_topic(service, ctx, &input)?;
    let tags: Vec<Value> = topic
        .tags
        .iter()
        .map(|(key, value)| json!({"Key": key, "Value": value}))
        .collect();
    Ok(json!({"Tags": tags}))
}
