//! What an alarm publishes to an SNS topic when its state changes: the JSON
//! message CloudWatch sends (AlarmName, NewStateValue, NewStateReason,
//! StateChangeTime, Region, OldStateValue, Trigger …) and its subject
//! (`ALARM: "name" in US East (N. Virginia)`).

use jiff::Timestamp;
use serde_json::{Map, Value, json};

use super::evaluate::reason_data_time;
use super::{Alarm, COMPOSITE_ALARM};
use argus_storage::catalog::AlarmStateRecord;

/// (subject, message JSON) for a state change of `alarm` to `new`.
pub(super) fn alarm_message(alarm: &Alarm, new: &AlarmStateRecord, now: i64) -> (String, String) {
    let region = region_name(&alarm.region);
    let mut subject = format!("{}: \"{}\" in {region}", new.value, alarm.name);
    // SNS subjects are at most 100 characters.
    if subject.chars().count() > 100 {
        subject = subject.chars().take(97).collect::<String>() + "...";
    }
    let config = &alarm.config;
    let mut message = Map::new();
    message.insert("AlarmName".into(), json!(alarm.name));
    message.insert(
        "AlarmDescription".into(),
        config
            .get("AlarmDescription")
            .cloned()
            .unwrap_or(Value::Null),
    );
    message.insert("AWSAccountId".into(), json!(alarm.account));
    message.insert(
        "AlarmConfigurationUpdatedTimestamp".into(),
        json!(reason_data_time(alarm.config_updated_ms)),
    );
    message.insert("NewStateValue".into(), json!(new.value));
    message.insert("NewStateReason".into(), json!(new.reason));
    message.insert("StateChangeTime".into(), json!(reason_data_time(now)));
    message.insert("Region".into(), json!(region));
    message.insert("AlarmArn".into(), json!(alarm.arn()));
    message.insert("OldStateValue".into(), json!(alarm.state.value));
    for member in ["OKActions", "AlarmActions", "InsufficientDataActions"] {
        message.insert(
            member.into(),
            config.get(member).cloned().unwrap_or_else(|| json!([])),
        );
    }
    if alarm.kind == COMPOSITE_ALARM {
        message.insert(
            "AlarmRule".into(),
            config.get("AlarmRule").cloned().unwrap_or(Value::Null),
        );
        let children = new
            .reason_data
            .as_deref()
            .and_then(|data| serde_json::from_str::<Value>(data).ok())
            .and_then(|data| data.get("triggeringAlarms").cloned())
            .unwrap_or_else(|| json!([]));
        message.insert("TriggeringChildren".into(), children);
    } else {
        message.insert("Trigger".into(), trigger(config));
    }
    (subject, Value::Object(message).to_string())
}

/// The alarm message as a person reads it in a mail: what changed and
/// why, then the alarm's details, threshold, metric and actions.
pub(crate) fn email_text(message: &str) -> String {
    let Ok(Value::Object(m)) = serde_json::from_str::<Value>(message) else {
        return message.to_string();
    };
    let text = |key: &str| -> String {
        match m.get(key) {
            Some(Value::String(text)) => text.clone(),
            Some(Value::Null) | None => String::new(),
            Some(other) => other.to_string(),
        }
    };
    let name = text("AlarmName");
    let new_state = text("NewStateValue");
    let when = jiff::Timestamp::strptime("%Y-%m-%dT%H:%M:%S%.f%z", text("StateChangeTime"))
        .map(|ts| long_time(ts.as_millisecond()))
        .unwrap_or_else(|_| text("StateChangeTime"));
    let mut out = format!(
        "You are receiving this email because your Argus (Amazon CloudWatch-compatible) alarm \"{name}\" in the {} region has entered the {new_state} state, because \"{}\" at \"{when}\".\n\n",
        text("Region"),
        text("NewStateReason"),
    );
    out.push_str("Alarm Details:\n");
    for (label, value) in [
        ("Name", name.clone()),
        ("Description", text("AlarmDescription")),
        (
            "State Change",
            format!("{} -> {new_state}", text("OldStateValue")),
        ),
        ("Reason for State Change", text("NewStateReason")),
        ("Timestamp", when.clone()),
        ("AWS Account", text("AWSAccountId")),
        ("Alarm Arn", text("AlarmArn")),
    ] {
        out.push_str(&format!("- {:<27}{value}\n", format!("{label}:")));
    }
    if let Some(Value::Object(trigger)) = m.get("Trigger") {
        let field = |key: &str| match trigger.get(key) {
            Some(Value::String(text)) => text.clone(),
            Some(Value::Null) | None => String::new(),
            Some(other) => other.to_string(),
        };
        let period = field("Period");
        out.push_str(&format!(
            "\nThreshold:\n- The alarm is in the ALARM state when the metric is {} {} for at least {} of the last {} period(s){}.\n",
            field("ComparisonOperator"),
            field("Threshold"),
            trigger.get("DatapointsToAlarm").map_or_else(|| field("EvaluationPeriods"), |value| value.to_string()),
            field("EvaluationPeriods"),
            if period.is_empty() { String::new() } else { format!(" of {period} seconds") },
        ));
        if trigger.contains_key("MetricName") {
            let dimensions = trigger
                .get("Dimensions")
                .and_then(Value::as_array)
                .map(|dims| {
                    dims.iter()
                        .map(|d| {
                            format!(
                                "[{} = {}]",
                                d.get("name").and_then(Value::as_str).unwrap_or(""),
                                d.get("value").and_then(Value::as_str).unwrap_or("")
                            )
                        })
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .unwrap_or_default();
            out.push_str("\nMonitored Metric:\n");
            out.push_str(&format!(
                "- MetricNamespace:            {}\n",
                field("Namespace")
            ));
            out.push_str(&format!(
                "- MetricName:                 {}\n",
                field("MetricName")
            ));
            out.push_str(&format!("- Dimensions:                 {dimensions}\n"));
            out.push_str(&format!("- Period:                     {period} seconds\n"));
            let statistic = if trigger.contains_key("ExtendedStatistic") {
                field("ExtendedStatistic")
            } else {
                field("Statistic")
            };
            out.push_str(&format!("- Statistic:                  {statistic}\n"));
            let unit = field("Unit");
            out.push_str(&format!(
                "- Unit:                       {}\n",
                if unit.is_empty() {
                    "not specified"
                } else {
                    &unit
                }
            ));
            out.push_str(&format!(
                "- TreatMissingData:           {}\n",
                field("TreatMissingData")
            ));
        }
    } else if m.contains_key("AlarmRule") {
        out.push_str(&format!("\nAlarm Rule:\n- {}\n", text("AlarmRule")));
    }
    out.push_str("\nState Change Actions:\n");
    for (label, key) in [
        ("OK", "OKActions"),
        ("ALARM", "AlarmActions"),
        ("INSUFFICIENT_DATA", "InsufficientDataActions"),
    ] {
        let actions = m.get(key).and_then(Value::as_array).map(|list| {
            list.iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(", ")
        });
        out.push_str(&format!(
            "- {label}: {}\n",
            actions
                .map(|list| if list.is_empty() {
                    String::new()
                } else {
                    format!("[{list}]")
                })
                .unwrap_or_default()
        ));
    }
    out
}

fn trigger(config: &Map<String, Value>) -> Value {
    let mut trigger = Map::new();
    let copy = |trigger: &mut Map<String, Value>, member: &str| {
        if let Some(value) = config.get(member) {
            trigger.insert(member.into(), value.clone());
        }
    };
    if let Some(metrics) = config.get("Metrics") {
        trigger.insert("Metrics".into(), lower_dimension_keys(metrics));
    } else {
        copy(&mut trigger, "MetricName");
        copy(&mut trigger, "Namespace");
        if let Some(statistic) = config.get("Statistic").and_then(Value::as_str) {
            trigger.insert("StatisticType".into(), json!("Statistic"));
            trigger.insert("Statistic".into(), json!(statistic.to_uppercase()));
        } else if let Some(extended) = config.get("ExtendedStatistic") {
            trigger.insert("StatisticType".into(), json!("ExtendedStatistic"));
            trigger.insert("ExtendedStatistic".into(), extended.clone());
        }
        trigger.insert(
            "Unit".into(),
            config.get("Unit").cloned().unwrap_or(Value::Null),
        );
        trigger.insert(
            "Dimensions".into(),
            lower_dimension_keys(config.get("Dimensions").unwrap_or(&json!([]))),
        );
        copy(&mut trigger, "Period");
    }
    for member in [
        "EvaluationPeriods",
        "DatapointsToAlarm",
        "ComparisonOperator",
        "Threshold",
        "ThresholdMetricId",
    ] {
        copy(&mut trigger, member);
    }
    trigger.insert(
        "TreatMissingData".into(),
        config
            .get("TreatMissingData")
            .cloned()
            .unwrap_or_else(|| json!("missing")),
    );
    trigger.insert(
        "EvaluateLowSampleCountPercentile".into(),
        config
            .get("EvaluateLowSampleCountPercentile")
            .cloned()
            .unwrap_or_else(|| json!("")),
    );
    Value::Object(trigger)
}

/// CloudWatch's alarm messages write dimensions as `{"value", "name"}`.
fn lower_dimension_keys(value: &Value) -> Value {
    match value {
        Value::Array(items) => Value::Array(items.iter().map(lower_dimension_keys).collect()),
        Value::Object(map) => {
            let is_dimension =
                map.len() == 2 && map.contains_key("Name") && map.contains_key("Value");
            Value::Object(
                map.iter()
                    .map(|(key, value)| {
                        let key = if is_dimension {
                            key.to_lowercase()
                        } else {
                            key.clone()
                        };
                        (key, lower_dimension_keys(value))
                    })
                    .collect(),
            )
        }
        other => other.clone(),
    }
}

/// "Wednesday 12 July, 2023 10:33:14 UTC", as composite alarm reasons say it.
pub(super) fn long_time(ms: i64) -> String {
    Timestamp::from_millisecond(ms)
        .map(|ts| ts.strftime("%A %-d %B, %Y %H:%M:%S UTC").to_string())
        .unwrap_or_default()
}

/// The region's display name, as alarm messages and subjects carry it.
pub(crate) fn region_name(code: &str) -> String {
    let name = match code {
        "us-east-1" => "US East (N. Virginia)",
        "us-east-2" => "US East (Ohio)",
        "us-west-1" => "US West (N. California)",
        "us-west-2" => "US West (Oregon)",
        "ca-central-1" => "Canada (Central)",
        "eu-west-1" => "EU (Ireland)",
        "eu-west-2" => "EU (London)",
        "eu-west-3" => "EU (Paris)",
        "eu-central-1" => "EU (Frankfurt)",
        "eu-central-2" => "EU (Zurich)",
        "eu-north-1" => "EU (Stockholm)",
        "eu-south-1" => "EU (Milan)",
        "ap-northeast-1" => "Asia Pacific (Tokyo)",
        "ap-northeast-2" => "Asia Pacific (Seoul)",
        "ap-northeast-3" => "Asia Pacific (Osaka)",
        "ap-southeast-1" => "Asia Pacific (Singapore)",
        "ap-southeast-2" => "Asia Pacific (Sydney)",
        "ap-south-1" => "Asia Pacific (Mumbai)",
        "ap-east-1" => "Asia Pacific (Hong Kong)",
        "sa-east-1" => "South America (Sao Paulo)",
        "me-south-1" => "Middle East (Bahrain)",
        "af-south-1" => "Africa (Cape Town)",
        other => other,
    };
    name.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_times_read_like_cloudwatch() {
        // 2023-07-12T10:33:14Z
        assert_eq!(
            long_time(1_689_157_994_000),
            "Wednesday 12 July, 2023 10:33:14 UTC"
        );
    }

    #[test]
    fn alarm_mails_say_what_changed_and_why() {
        let message = json!({
            "AlarmName": "pacs-backend-error-rate", "AlarmDescription": "Errors", "AWSAccountId": "000000000000",
            "NewStateValue": "ALARM", "OldStateValue": "OK", "NewStateReason": "Threshold Crossed",
            "StateChangeTime": "2023-07-12T10:33:14.000+0000", "Region": "US East (N. Virginia)",
            "AlarmArn": "arn:aws:cloudwatch:us-east-1:000000000000:alarm:pacs-backend-error-rate",
            "AlarmActions": ["arn:aws:sns:us-east-1:000000000000:pacs-alerts"], "OKActions": [],
            "Trigger": {"MetricName": "PACSBackendErrors", "Namespace": "PACS", "Statistic": "SUM", "Period": 10,
                        "EvaluationPeriods": 2, "ComparisonOperator": "GreaterThanThreshold", "Threshold": 10.0,
                        "Dimensions": [{"name": "Service", "value": "backend"}], "TreatMissingData": "notBreaching"}
        });
        let text = email_text(&message.to_string());
        assert!(text.contains("\"pacs-backend-error-rate\" in the US East (N. Virginia) region has entered the ALARM state"), "{text}");
        assert!(
            text.contains("at \"Wednesday 12 July, 2023 10:33:14 UTC\""),
            "{text}"
        );
        assert!(
            text.contains("- State Change:              OK -> ALARM"),
            "{text}"
        );
        assert!(
            text.contains(
                "GreaterThanThreshold 10.0 for at least 2 of the last 2 period(s) of 10 seconds"
            ),
            "{text}"
        );
        assert!(text.contains("[Service = backend]"), "{text}");
        assert!(
            text.contains("- ALARM: [arn:aws:sns:us-east-1:000000000000:pacs-alerts]"),
            "{text}"
        );
    }

    #[test]
    fn dimensions_in_triggers_have_lowercase_keys() {
        let dims = json!([{"Name": "Service", "Value": "pacs"}]);
        assert_eq!(
            lower_dimension_keys(&dims),
            json!([{"name": "Service", "value": "pacs"}])
        );
    }
}
