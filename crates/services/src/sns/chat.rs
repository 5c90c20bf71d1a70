//! Messages for Slack and Microsoft Teams incoming webhooks. A CloudWatch
//! alarm notification becomes a card with the alarm's name, its state
//! change, the reason and a link; any other message is shown as its
//! subject and text. A subscription confirmation is a message with the
//! link to confirm.

use serde_json::{Value, json};

use super::envelope::Payload;

/// The alarm fields a card shows, when the message is a CloudWatch alarm
/// notification.
struct AlarmCard {
    name: String,
    new_state: String,
    old_state: String,
    reason: String,
    region: String,
    account: String,
    time: String,
    description: Option<String>,
}

fn alarm_card(message: &str) -> Option<AlarmCard> {
    let value: Value = serde_json::from_str(message).ok()?;
    let text = |key: &str| value.get(key).and_then(Value::as_str).map(str::to_string);
    Some(AlarmCard {
        name: text("AlarmName")?,
        new_state: text("NewStateValue")?,
        old_state: text("OldStateValue").unwrap_or_default(),
        reason: text("NewStateReason").unwrap_or_default(),
        region: text("Region").unwrap_or_default(),
        account: text("AWSAccountId").unwrap_or_default(),
        time: text("StateChangeTime").unwrap_or_default(),
        description: text("AlarmDescription").filter(|text| !text.is_empty()),
    })
}

fn state_emoji(state: &str) -> &'static str {
    match state {
        "ALARM" => ":rotating_light:",
        "OK" => ":white_check_mark:",
        _ => ":grey_question:",
    }
}

fn state_color(state: &str) -> &'static str {
    match state {
        "ALARM" => "#d63333",
        "OK" => "#2eb67d",
        _ => "#9e9e9e",
    }
}

/// The JSON body for a Slack incoming webhook.
pub(crate) fn slack(payload: &Payload) -> Value {
    if payload.kind == "SubscriptionConfirmation" {
        let text = format!(
            "Argus: this channel was subscribed to the SNS topic `{}`. Confirm the subscription: <{}|Confirm subscription>",
            payload.topic_arn, payload.link
        );
        return json!({"text": text});
    }
    let Some(card) = alarm_card(&payload.message) else {
        let text = match &payload.subject {
            Some(subject) => format!("*{subject}*\n{}", payload.message),
            None => payload.message.clone(),
        };
        return json!({"text": text});
    };
    let title = format!(
        "{} {}: {}",
        state_emoji(&card.new_state),
        card.new_state,
        card.name
    );
    let mut blocks = vec![
        json!({"type": "header", "text": {"type": "plain_text", "text": title.chars().take(150).collect::<String>()}}),
        json!({"type": "section", "text": {"type": "mrkdwn", "text": card.reason}}),
        json!({"type": "section", "fields": [
            {"type": "mrkdwn", "text": format!("*State change*\n{} → {}", card.old_state, card.new_state)},
            {"type": "mrkdwn", "text": format!("*Region*\n{}", card.region)},
            {"type": "mrkdwn", "text": format!("*Account*\n{}", card.account)},
            {"type": "mrkdwn", "text": format!("*Time*\n{}", card.time)},
        ]}),
    ];
    if let Some(description) = &card.description {
        blocks.insert(
            1,
            json!({"type": "context", "elements": [{"type": "mrkdwn", "text": description}]}),
        );
    }
    if let Some(link) = &payload.alarm_link {
        blocks.push(json!({"type": "context", "elements": [{"type": "mrkdwn", "text": format!("<{link}|View alarm {}>", card.name)}]}));
    }
    json!({
        "text": format!("{}: {} — {}", card.new_state, card.name, card.reason),
        "attachments": [{"color": state_color(&card.new_state), "blocks": blocks}],
    })
}

/// The JSON body for a Microsoft Teams incoming webhook (or a Workflows
/// webhook): an Adaptive Card in a message.
pub(crate) fn teams(payload: &Payload) -> Value {
    let mut body = Vec::new();
    let mut actions = Vec::new();
    if payload.kind == "SubscriptionConfirmation" {
        body.push(text_block("Argus: confirm this SNS subscription", true));
        body.push(text_block(
            &format!(
                "This channel was subscribed to the topic {}.",
                payload.topic_arn
            ),
            false,
        ));
        actions.push(
            json!({"type": "Action.OpenUrl", "title": "Confirm subscription", "url": payload.link}),
        );
    } else if let Some(card) = alarm_card(&payload.message) {
        let mut title = text_block(&format!("{}: {}", card.new_state, card.name), true);
        if let Some(object) = title.as_object_mut() {
            let color = match card.new_state.as_str() {
                "ALARM" => "Attention",
                "OK" => "Good",
                _ => "Default",
            };
            object.insert("color".into(), json!(color));
        }
        body.push(title);
        if let Some(description) = &card.description {
            body.push(text_block(description, false));
        }
        body.push(text_block(&card.reason, false));
        body.push(json!({"type": "FactSet", "facts": [
            {"title": "State change", "value": format!("{} → {}", card.old_state, card.new_state)},
            {"title": "Region", "value": card.region},
            {"title": "Account", "value": card.account},
            {"title": "Time", "value": card.time},
        ]}));
        if let Some(link) = &payload.alarm_link {
            actions.push(json!({"type": "Action.OpenUrl", "title": "View alarm", "url": link}));
        }
    } else {
        if let Some(subject) = &payload.subject {
            body.push(text_block(subject, true));
        }
        body.push(text_block(&payload.message, false));
    }
    let mut card = json!({
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
    });
    if !actions.is_empty()
        && let Some(object) = card.as_object_mut()
    {
        object.insert("actions".into(), Value::Array(actions));
    }
    json!({
        "type": "message",
        "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": null, "content": card}],
    })
}

fn text_block(text: &str, heading: bool) -> Value {
    if heading {
        json!({"type": "TextBlock", "text": text, "wrap": true, "size": "Large", "weight": "Bolder"})
    } else {
        json!({"type": "TextBlock", "text": text, "wrap": true})
    }
}

#[cfg(test)]
#[allow(clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::sns::envelope::RetryPolicy;

    fn payload(kind: &str, message: &str) -> Payload {
        Payload {
            kind: kind.into(),
            protocol: "https".into(),
            endpoint: "https://hooks.slack.com/services/T/B/X".into(),
            format: "slack".into(),
            raw: false,
            subscription_arn: "arn:aws:sns:us-east-1:000000000000:pacs-alerts:1".into(),
            topic_arn: "arn:aws:sns:us-east-1:000000000000:pacs-alerts".into(),
            message_id: "m".into(),
            subject: Some("ALARM: \"x\"".into()),
            message: message.into(),
            envelope: Value::Null,
            display_name: None,
            link: "http://127.0.0.1:4566/?Action=ConfirmSubscription&Token=t".into(),
            alarm_link: Some("http://127.0.0.1:4566/_argus/alarms/pacs".into()),
            retry: RetryPolicy::default(),
        }
    }

    const ALARM: &str = r#"{"AlarmName":"pacs","NewStateValue":"ALARM","OldStateValue":"OK","NewStateReason":"Threshold Crossed: 2 datapoints","Region":"US East (N. Virginia)","AWSAccountId":"000000000000","StateChangeTime":"2026-01-01T00:00:00.000+0000"}"#;

    #[test]
    fn alarm_notifications_become_cards_with_state_reason_and_link() {
        let slack = slack(&payload("Notification", ALARM));
        let text = slack.to_string();
        assert!(text.contains("ALARM: pacs"), "{text}");
        assert!(text.contains("Threshold Crossed: 2 datapoints"), "{text}");
        assert!(text.contains("OK → ALARM"), "{text}");
        assert!(
            text.contains("<http://127.0.0.1:4566/_argus/alarms/pacs|View alarm pacs>"),
            "{text}"
        );

        let teams = teams(&payload("Notification", ALARM));
        let card = &teams["attachments"][0]["content"];
        assert_eq!(card["type"], "AdaptiveCard");
        assert_eq!(card["body"][0]["color"], "Attention");
        assert_eq!(
            card["actions"][0]["url"],
            "http://127.0.0.1:4566/_argus/alarms/pacs"
        );
    }

    #[test]
    fn confirmations_carry_the_subscribe_link_and_plain_messages_their_text() {
        assert!(
            slack(&payload("SubscriptionConfirmation", ""))
                .to_string()
                .contains("Action=ConfirmSubscription")
        );
        assert_eq!(
            teams(&payload("SubscriptionConfirmation", ""))["attachments"][0]["content"]["actions"]
                [0]["url"],
            "http://127.0.0.1:4566/?Action=ConfirmSubscription&Token=t"
        );
        assert_eq!(
            slack(&payload("Notification", "disk full"))["text"],
            "*ALARM: \"x\"*\ndisk full"
        );
    }
}
