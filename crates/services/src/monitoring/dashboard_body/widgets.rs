//! The `properties` of `text`, `log`, `alarm`, `explorer` and `custom`
//! widgets. (`metric` widgets have their own module; `chart` widgets, the
//! newest kind, are stored without checks beyond `properties` being an
//! object.)

use serde_json::{Map, Value};

use super::check::{Checker, child, item};

/// Alarms in one alarm-status widget.
const MAX_ALARMS: usize = 100;
/// Metrics in one metrics-explorer widget.
const MAX_EXPLORER_METRICS: usize = 100;

pub(super) fn check_text(checker: &mut Checker, path: &str, properties: &Map<String, Value>) {
    if let Some(markdown) = checker.required(properties, path, "markdown") {
        checker.string(&child(path, "markdown"), markdown);
    }
    if let Some(background) = properties.get("background") {
        checker.one_of(&child(path, "background"), background, &["solid", "transparent"]);
    }
}

pub(super) fn check_log(checker: &mut Checker, path: &str, properties: &Map<String, Value>) {
    if let Some(query) = checker.required(properties, path, "query") {
        let query_path = child(path, "query");
        let uses_insights_language =
            properties.get("queryLanguage").and_then(Value::as_str).is_none_or(|language| language == "CWLI");
        if let Some(query) = checker.string(&query_path, query)
            && uses_insights_language
            && !starts_with_source(query)
        {
            checker.warn(
                &query_path,
                "The query does not start with SOURCE '<log group name>' |, so the widget has no log group to query",
            );
        }
    }
    for (key, value) in properties {
        let value_path = child(path, key);
        match key.as_str() {
            "region" | "title" | "accountId" | "queryLanguage" => {
                checker.string(&value_path, value);
            }
            "view" => checker.one_of(&value_path, value, &["table", "timeSeries", "bar", "pie"]),
            "stacked" => checker.boolean(&value_path, value),
            _ => {}
        }
    }
}

/// `SOURCE '/aws/ecs/pacs-backend' | …`, any case, or the
/// `SOURCE logGroups(…)` form.
fn starts_with_source(query: &str) -> bool {
    let trimmed = query.trim_start();
    trimmed.get(..6).is_some_and(|keyword| keyword.eq_ignore_ascii_case("SOURCE"))
        && trimmed.get(6..).is_some_and(|rest| rest.starts_with(char::is_whitespace))
}

pub(super) fn check_alarm(checker: &mut Checker, path: &str, properties: &Map<String, Value>) {
    if let Some(alarms) = checker.required(properties, path, "alarms") {
        let alarms_path = child(path, "alarms");
        if let Some(alarms) = checker.array(&alarms_path, alarms, MAX_ALARMS) {
            checker.min_items(&alarms_path, alarms, 1);
            for (index, alarm) in alarms.iter().enumerate() {
                let alarm_path = item(&alarms_path, index);
                if let Some(arn) = checker.bounded_string(&alarm_path, alarm, 2048)
                    && !is_alarm_arn(arn)
                {
                    checker.warn(
                        &alarm_path,
                        "Not an alarm ARN (arn:aws:cloudwatch:<region>:<account>:alarm:<name>); the widget cannot show it",
                    );
                }
            }
        }
    }
    for (key, value) in properties {
        let value_path = child(path, key);
        match key.as_str() {
            "title" => {
                checker.string(&value_path, value);
            }
            "sortBy" => checker.one_of(&value_path, value, &["default", "stateUpdatedTimestamp", "timestamp"]),
            "states" => {
                let Some(states) = checker.array(&value_path, value, 3) else { continue };
                for (index, state) in states.iter().enumerate() {
                    checker.one_of(&item(&value_path, index), state, &["ALARM", "INSUFFICIENT_DATA", "OK"]);
                }
            }
            _ => {}
        }
    }
}

fn is_alarm_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(7, ':').collect();
    matches!(parts.as_slice(), ["arn", _, "cloudwatch", _, _, "alarm", name] if !name.is_empty())
}

pub(super) fn check_explorer(checker: &mut Checker, path: &str, properties: &Map<String, Value>) -> usize {
    let mut metric_count = 0;
    if let Some(metrics) = checker.required(properties, path, "metrics") {
        let metrics_path = child(path, "metrics");
        if let Some(metrics) = checker.array(&metrics_path, metrics, MAX_EXPLORER_METRICS) {
            checker.min_items(&metrics_path, metrics, 1);
            metric_count = metrics.len();
            for (index, metric) in metrics.iter().enumerate() {
                check_explorer_metric(checker, &item(&metrics_path, index), metric);
            }
        }
    }
    if let Some(labels) = checker.required(properties, path, "labels") {
        let labels_path = child(path, "labels");
        if let Some(labels) = checker.array(&labels_path, labels, usize::MAX) {
            for (index, label) in labels.iter().enumerate() {
                let label_path = item(&labels_path, index);
                let Some(label) = checker.object(&label_path, label) else { continue };
                if let Some(key) = checker.required(label, &label_path, "key") {
                    checker.bounded_string(&child(&label_path, "key"), key, 1024);
                }
                if let Some(value) = label.get("value") {
                    checker.string(&child(&label_path, "value"), value);
                }
            }
        }
    }
    for (key, value) in properties {
        let value_path = child(path, key);
        match key.as_str() {
            "title" | "splitBy" => {
                checker.string(&value_path, value);
            }
            "period" => checker.period(&value_path, value),
            "aggregateBy" => {
                let Some(aggregate) = checker.object(&value_path, value) else { continue };
                if let Some(key) = aggregate.get("key") {
                    checker.string(&child(&value_path, "key"), key);
                }
                if let Some(function) = aggregate.get("func") {
                    checker.one_of(&child(&value_path, "func"), function, &["AVG", "MIN", "MAX", "STDDEV", "SUM"]);
                }
            }
            "widgetOptions" => check_explorer_options(checker, &value_path, value),
            _ => {}
        }
    }
    metric_count
}

fn check_explorer_metric(checker: &mut Checker, path: &str, value: &Value) {
    let Some(metric) = checker.object(path, value) else { return };
    for required in ["metricName", "resourceType"] {
        if let Some(field) = checker.required(metric, path, required) {
            checker.bounded_string(&child(path, required), field, 1024);
        }
    }
    if let Some(stat) = metric.get("stat") {
        checker.bounded_string(&child(path, "stat"), stat, 255);
    }
}

fn check_explorer_options(checker: &mut Checker, path: &str, value: &Value) {
    let Some(options) = checker.object(path, value) else { return };
    for (key, field) in options {
        let field_path = child(path, key);
        match key.as_str() {
            "legend" => checker.legend(&field_path, field),
            "rowsPerPage" | "widgetsPerRow" => {
                checker.integer(&field_path, field, 1, None);
            }
            "stacked" => checker.boolean(&field_path, field),
            "view" => checker.one_of(&field_path, field, &["timeSeries", "bar", "pie"]),
            _ => {}
        }
    }
}

pub(super) fn check_custom(checker: &mut Checker, path: &str, properties: &Map<String, Value>) {
    if let Some(endpoint) = checker.required(properties, path, "endpoint") {
        checker.bounded_string(&child(path, "endpoint"), endpoint, 2048);
    }
    if let Some(title) = properties.get("title") {
        checker.string(&child(path, "title"), title);
    }
}
