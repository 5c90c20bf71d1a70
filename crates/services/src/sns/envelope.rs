//! What a subscription endpoint receives, prepared when a message is
//! accepted: the JSON envelope SNS posts to http/https endpoints (with
//! its signature), and everything the other formats need.
//!
//! SNS signs the canonical string of a message: for a `Notification` the
//! `Message`, `MessageId`, `Subject` (when there is one), `Timestamp`,
//! `TopicArn` and `Type` members; for a `SubscriptionConfirmation` the
//! `Message`, `MessageId`, `SubscribeURL`, `Timestamp`, `Token`, `TopicArn`
//! and `Type` members — each as its name, a newline, its value, a newline,
//! in that (byte) order.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// How often and how far apart failed HTTP deliveries are retried (SNS's
/// `healthyRetryPolicy`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RetryPolicy {
    pub min_delay_target: i64,
    pub max_delay_target: i64,
    pub num_retries: u32,
    pub num_no_delay_retries: u32,
    pub num_min_delay_retries: u32,
    pub num_max_delay_retries: u32,
    pub backoff_function: Backoff,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Backoff {
    Linear,
    Arithmetic,
    Geometric,
    Exponential,
}

impl Default for RetryPolicy {
    /// SNS's default for http/https: three retries, 20 seconds apart.
    fn default() -> Self {
        RetryPolicy {
            min_delay_target: 20,
            max_delay_target: 20,
            num_retries: 3,
            num_no_delay_retries: 0,
            num_min_delay_retries: 0,
            num_max_delay_retries: 0,
            backoff_function: Backoff::Linear,
        }
    }
}

impl RetryPolicy {
    /// The policy for deliveries to email and chat endpoints, which SNS
    /// retries on its own schedule: a few tries a minute apart.
    pub fn for_other_protocols() -> Self {
        RetryPolicy {
            min_delay_target: 60,
            max_delay_target: 60,
            num_retries: 3,
            ..RetryPolicy::default()
        }
    }

    /// The seconds to wait before retry number `retry` (1-based), or None
    /// when the retries are used up. The phases: immediate retries, retries
    /// at the minimum delay, the backoff from minimum to maximum, retries at
    /// the maximum delay.
    pub fn delay_before(&self, retry: u32) -> Option<i64> {
        if retry == 0 || retry > self.num_retries {
            return None;
        }
        let (min, max) = (
            self.min_delay_target.max(0),
            self.max_delay_target.max(self.min_delay_target.max(0)),
        );
        if retry <= self.num_no_delay_retries {
            return Some(0);
        }
        let after_immediate = retry - self.num_no_delay_retries;
        if after_immediate <= self.num_min_delay_retries {
            return Some(min);
        }
        let backoff_retries = self
            .num_retries
            .saturating_sub(
                self.num_no_delay_retries + self.num_min_delay_retries + self.num_max_delay_retries,
            )
            .max(1);
        let step = after_immediate - self.num_min_delay_retries;
        if step > backoff_retries {
            return Some(max);
        }
        let fraction = f64::from(step) / f64::from(backoff_retries);
        let delay = match self.backoff_function {
            Backoff::Linear | Backoff::Arithmetic => min as f64 + (max - min) as f64 * fraction,
            Backoff::Geometric | Backoff::Exponential => {
                let base = (min.max(1)) as f64;
                base * (max as f64 / base).powf(fraction)
            }
        };
        Some(delay.round() as i64)
    }
}

/// One prepared delivery, stored in the outbox as JSON.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Payload {
    /// `Notification` or `SubscriptionConfirmation`.
    pub kind: String,
    pub protocol: String,
    pub endpoint: String,
    /// For http/https: `sns`, `slack` or `teams`.
    pub format: String,
    pub raw: bool,
    pub subscription_arn: String,
    pub topic_arn: String,
    pub message_id: String,
    pub subject: Option<String>,
    /// The message as this protocol receives it.
    pub message: String,
    /// The signed JSON envelope.
    pub envelope: Value,
    pub display_name: Option<String>,
    /// SubscribeURL of a confirmation; UnsubscribeURL of a notification.
    pub link: String,
    /// Where a person can look at the alarm a notification is about.
    pub alarm_link: Option<String>,
    pub retry: RetryPolicy,
}

/// The canonical string SNS signs for a message of type `kind`.
pub(crate) fn string_to_sign(envelope: &Map<String, Value>) -> String {
    let kind = envelope.get("Type").and_then(Value::as_str).unwrap_or("");
    let keys: &[&str] = if kind == "Notification" {
        &[
            "Message",
            "MessageId",
            "Subject",
            "Timestamp",
            "TopicArn",
            "Type",
        ]
    } else {
        &[
            "Message",
            "MessageId",
            "SubscribeURL",
            "Timestamp",
            "Token",
            "TopicArn",
            "Type",
        ]
    };
    let mut text = String::new();
    for key in keys {
        if let Some(value) = envelope.get(*key).and_then(Value::as_str) {
            text.push_str(key);
            text.push('\n');
            text.push_str(value);
            text.push('\n');
        }
    }
    text
}

/// SNS's timestamp form: `2012-05-02T00:54:06.655Z`.
pub(crate) fn timestamp(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|ts| ts.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
        .unwrap_or_default()
}

pub(crate) fn confirmation_message(topic_arn: &str) -> String {
    format!(
        "You have chosen to subscribe to the topic {topic_arn}.\nTo confirm the subscription, visit the SubscribeURL included in this message."
    )
}

/// The confirmation mail a person receives for an email subscription.
pub(crate) fn confirmation_mail(topic_arn: &str, subscribe_url: &str) -> (String, String) {
    (
        "AWS Notification - Subscription Confirmation".to_string(),
        format!(
            "You have chosen to subscribe to the topic:\n{topic_arn}\n\nTo confirm this subscription, click or visit the link below (If this was in error no action is necessary):\nConfirm subscription: {subscribe_url}\n"
        ),
    )
}

/// A notification mail: the message, then how to unsubscribe.
pub(crate) fn notification_mail(payload: &Payload) -> (String, String) {
    let subject = payload
        .subject
        .clone()
        .unwrap_or_else(|| "AWS Notification Message".to_string());
    let body = format!(
        "{}\n\n--\nIf you wish to stop receiving notifications from this topic, please click or visit the link below to unsubscribe:\n{}\n",
        payload.message, payload.link
    );
    (subject, body)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn notifications_sign_their_members_in_order_and_skip_a_missing_subject() {
        let envelope = json!({
            "Type": "Notification", "MessageId": "m1", "TopicArn": "arn:aws:sns:us-east-1:000000000000:t",
            "Message": "hello", "Timestamp": "2026-01-01T00:00:00.000Z", "UnsubscribeURL": "http://x"
        });
        let Value::Object(envelope) = envelope else {
            unreachable!()
        };
        assert_eq!(
            string_to_sign(&envelope),
            "Message\nhello\nMessageId\nm1\nTimestamp\n2026-01-01T00:00:00.000Z\nTopicArn\narn:aws:sns:us-east-1:000000000000:t\nType\nNotification\n"
        );
    }

    #[test]
    fn the_default_policy_retries_three_times_twenty_seconds_apart() {
        let policy = RetryPolicy::default();
        assert_eq!(
            (1..=4)
                .map(|retry| policy.delay_before(retry))
                .collect::<Vec<_>>(),
            vec![Some(20), Some(20), Some(20), None]
        );
    }

    #[test]
    fn backoff_phases_go_from_immediate_to_the_maximum() {
        let policy = RetryPolicy {
            min_delay_target: 1,
            max_delay_target: 16,
            num_retries: 8,
            num_no_delay_retries: 1,
            num_min_delay_retries: 1,
            num_max_delay_retries: 2,
            backoff_function: Backoff::Exponential,
        };
        let delays: Vec<_> = (1..=9).map(|retry| policy.delay_before(retry)).collect();
        assert_eq!(
            delays,
            vec![
                Some(0),
                Some(1),
                Some(2),
                Some(4),
                Some(8),
                Some(16),
                Some(16),
                Some(16),
                None
            ]
        );
    }
}
