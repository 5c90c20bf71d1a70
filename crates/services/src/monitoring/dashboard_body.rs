//! What CloudWatch's `PutDashboard` checks in a `DashboardBody`, as a pure
//! function: [`validate`] takes the body string and says whether CloudWatch
//! would store it (with warnings) or reject it (with the error message and
//! the `DashboardValidationMessages` it would send).
//!
//! The structure follows AWS's "Dashboard Body Structure and Syntax"
//! (<https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/CloudWatch-Dashboard-Body-Structure.html>):
//!
//! * top level: `widgets` (required, 0–500), `variables` (0–25),
//!   `start`, `end` (only with `start`), `periodOverride` (`auto`,
//!   `inherit`); other keys are warned about and ignored;
//! * every widget: `type` (`metric`, `text`, `log`, `alarm`, `explorer`,
//!   `custom`, `chart`), `x` 0–23 and `y` ≥ 0 (each needs the other),
//!   `width` 1–24, `height` 1–1000, `properties` (required object);
//! * per type, the documented properties' types, enumerations and ranges
//!   (`metric.rs`, `widgets.rs`, `variables.rs`), including the compact
//!   metric rows `[namespace, name, dimension, value, …, {rendering}]`, the
//!   `.` and `...` shorthands and expression rows.
//!
//! Errors carry CloudWatch's wording where a client has recorded it (the
//! conformance snapshots hold no dashboard errors, so the sources are bug
//! reports quoting real responses, e.g. aws-cdk issues #5026 and #31066,
//! gchq/sleeper #3674): a body that is not a JSON object is "The field
//! DashboardBody must be a valid JSON object"; schema failures are "The
//! dashboard body is invalid, there are N validation errors:" followed by
//! the `dataPath`/`message` list as indented JSON, with the same list in
//! `DashboardValidationMessages`. Messages follow the schema validator's
//! phrasing ("Should be integer", "Should be <= 23", "Should have required
//! property 'type'"). What AWS leaves undocumented and a client could still
//! render (a dangling `.`, a log query without `SOURCE`, a gauge without a
//! range) is a warning, returned with success, never an error.
//!
//! It never panics and never recurses into the body: JSON nesting is
//! bounded by `serde_json`'s recursion limit (128) while parsing, and the
//! checks walk the documented structure only, a fixed depth. The caller
//! caps the body's size before calling.

mod check;
mod metric;
mod variables;
mod widgets;

use std::sync::LazyLock;

use argus_core::{ApiError, ErrorCode};
use regex::Regex;
use serde::Serialize;
use serde_json::{Map, Value};

use check::{Checker, child, item};

/// Widgets in one dashboard.
pub const MAX_WIDGETS: usize = 500;
/// Metrics across all widgets of a dashboard that CloudWatch graphs.
pub const MAX_DASHBOARD_METRICS: usize = 2500;
/// Validation messages listed in one error; the count in the message
/// stays exact.
const MAX_LISTED_MESSAGES: usize = 100;

pub const NOT_A_JSON_OBJECT: &str = "The field DashboardBody must be a valid JSON object";

const WIDGET_TYPES: &[&str] = &["metric", "text", "log", "alarm", "explorer", "custom", "chart"];

/// One entry of `DashboardValidationMessages`: where in the body (a JSON
/// pointer, `""` for the whole body) and what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ValidationMessage {
    #[serde(rename = "DataPath")]
    pub data_path: String,
    #[serde(rename = "Message")]
    pub message: String,
}

/// A body CloudWatch rejects: `DashboardInvalidInputError` (query code
/// `InvalidParameterInput`, HTTP 400) with `message` and
/// `dashboardValidationMessages`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct DashboardBodyError {
    pub message: String,
    pub validation_messages: Vec<ValidationMessage>,
}

impl DashboardBodyError {
    pub fn code(&self) -> ErrorCode {
        ErrorCode::DashboardInvalidInputError
    }
}

impl From<DashboardBodyError> for ApiError {
    /// The message (which lists the first problems, as AWS's does) and the
    /// error shape's `dashboardValidationMessages`.
    fn from(error: DashboardBodyError) -> ApiError {
        let members = serde_json::json!({ "dashboardValidationMessages": error.validation_messages });
        ApiError::new(error.code(), error.message).with_members(members)
    }
}

/// Checks a `DashboardBody` as `PutDashboard` does. `Ok` holds the warnings
/// for the successful response's `DashboardValidationMessages` (usually
/// none); `Err` is the rejection.
pub fn validate(body: &str) -> Result<Vec<ValidationMessage>, DashboardBodyError> {
    let Ok(Value::Object(dashboard)) = serde_json::from_str::<Value>(body) else {
        return Err(DashboardBodyError { message: NOT_A_JSON_OBJECT.to_owned(), validation_messages: Vec::new() });
    };
    let mut checker = Checker::default();
    check_dashboard(&mut checker, &dashboard);
    if checker.errors.is_empty() {
        return Ok(checker.warnings);
    }
    Err(invalid_body(checker.errors))
}

fn invalid_body(mut errors: Vec<ValidationMessage>) -> DashboardBodyError {
    #[derive(Serialize)]
    struct Listed<'a> {
        #[serde(rename = "dataPath")]
        data_path: &'a str,
        message: &'a str,
    }

    let total = errors.len();
    errors.truncate(MAX_LISTED_MESSAGES);
    let listed: Vec<Listed<'_>> =
        errors.iter().map(|error| Listed { data_path: &error.data_path, message: &error.message }).collect();
    // Serializing borrowed strings into a String cannot fail; an empty list
    // would still leave a readable message.
    let list = serde_json::to_string_pretty(&listed).unwrap_or_default();
    DashboardBodyError {
        message: format!("The dashboard body is invalid, there are {total} validation errors:\n{list}"),
        validation_messages: errors,
    }
}

fn check_dashboard(checker: &mut Checker, dashboard: &Map<String, Value>) {
    let root = "";
    let mut metric_count = 0;
    if let Some(widgets) = checker.required(dashboard, root, "widgets") {
        let widgets_path = child(root, "widgets");
        if let Some(widgets) = checker.array(&widgets_path, widgets, MAX_WIDGETS) {
            for (index, widget) in widgets.iter().enumerate() {
                metric_count += check_widget(checker, &item(&widgets_path, index), widget);
            }
        }
    }
    if metric_count > MAX_DASHBOARD_METRICS {
        checker.warn(
            "/widgets",
            format!("The dashboard has {metric_count} metrics; CloudWatch graphs at most {MAX_DASHBOARD_METRICS}"),
        );
    }

    for (key, value) in dashboard {
        let value_path = child(root, key);
        match key.as_str() {
            "widgets" => {}
            "variables" => variables::check(checker, &value_path, value),
            "start" => check_time(checker, &value_path, value, true),
            "end" => check_time(checker, &value_path, value, false),
            "periodOverride" => checker.one_of(&value_path, value, &["auto", "inherit"]),
            _ => {
                checker.warn(root, format!("The \"{key}\" property is not expected, will be ignored"));
            }
        }
    }
    if dashboard.contains_key("end") && !dashboard.contains_key("start") {
        checker.error(root, "Should have property start when property end is present");
    }
}

/// `start` is relative (`-PT6H`, `-P3D`) or absolute; `end` is absolute.
fn check_time(checker: &mut Checker, path: &str, value: &Value, relative_allowed: bool) {
    static RELATIVE: LazyLock<Option<Regex>> =
        LazyLock::new(|| Regex::new(r"^-P(?:\d+[YMWD])*(?:T(?:\d+(?:\.\d+)?[HMS])+)?$").ok());
    static ABSOLUTE: LazyLock<Option<Regex>> = LazyLock::new(|| {
        Regex::new(r"^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$").ok()
    });

    let Some(time) = checker.string(path, value) else { return };
    let matches = |pattern: &LazyLock<Option<Regex>>| pattern.as_ref().is_some_and(|regex| regex.is_match(time));
    let is_relative = relative_allowed && time.len() > 2 && matches(&RELATIVE);
    if !is_relative && !matches(&ABSOLUTE) {
        let expected = if relative_allowed {
            "a relative time such as -PT6H or an ISO 8601 time such as 2018-12-17T06:00:00.000Z"
        } else {
            "an ISO 8601 time such as 2018-12-17T06:00:00.000Z"
        };
        checker
            .warn(path, format!("The time \"{time}\" is not {expected}; the dashboard opens with its default range"));
    }
}

/// Checks one widget; returns how many metrics it graphs.
fn check_widget(checker: &mut Checker, path: &str, value: &Value) -> usize {
    let Some(widget) = checker.object(path, value) else { return 0 };
    let mut widget_type = None;
    if let Some(kind) = checker.required(widget, path, "type") {
        checker.one_of(&child(path, "type"), kind, WIDGET_TYPES);
        widget_type = kind.as_str().filter(|kind| WIDGET_TYPES.contains(kind));
    }

    for (key, value) in widget {
        let value_path = child(path, key);
        match key.as_str() {
            "x" => checker.integer(&value_path, value, 0, Some(23)),
            "y" => checker.integer(&value_path, value, 0, None),
            "width" => checker.integer(&value_path, value, 1, Some(24)),
            "height" => checker.integer(&value_path, value, 1, Some(1000)),
            "type" | "properties" => None,
            _ => {
                checker.warn(
                    path,
                    format!(
                        "The \"{key}\" property is not expected to be part of a widget definition, will be ignored"
                    ),
                );
                None
            }
        };
    }
    for (present, missing) in [("x", "y"), ("y", "x")] {
        if widget.contains_key(present) && !widget.contains_key(missing) {
            checker.error(path, format!("Should have property {missing} when property {present} is present"));
        }
    }

    let Some(properties) = checker.required(widget, path, "properties") else { return 0 };
    let properties_path = child(path, "properties");
    let Some(properties) = checker.object(&properties_path, properties) else { return 0 };
    match widget_type {
        Some("metric") => metric::check(checker, &properties_path, properties),
        Some("text") => {
            widgets::check_text(checker, &properties_path, properties);
            0
        }
        Some("log") => {
            widgets::check_log(checker, &properties_path, properties);
            0
        }
        Some("alarm") => {
            widgets::check_alarm(checker, &properties_path, properties);
            0
        }
        Some("explorer") => widgets::check_explorer(checker, &properties_path, properties),
        Some("custom") => {
            widgets::check_custom(checker, &properties_path, properties);
            0
        }
        // `chart` widgets, or a type already reported as invalid.
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_message_lists_the_messages_as_indented_json() {
        let error = validate(r#"{"widgets": [{"type": "text", "x": 24, "y": 0, "properties": {}}]}"#).unwrap_err();
        assert_eq!(
            error.message,
            "The dashboard body is invalid, there are 2 validation errors:\n[\n  {\n    \"dataPath\": \"/widgets/0/x\",\n    \"message\": \"Should be <= 23\"\n  },\n  {\n    \"dataPath\": \"/widgets/0/properties\",\n    \"message\": \"Should have required property 'markdown'\"\n  }\n]"
        );
        assert_eq!(error.validation_messages.len(), 2);
        assert_eq!(error.code(), ErrorCode::DashboardInvalidInputError);
    }

    #[test]
    fn listed_messages_are_capped_but_counted() {
        let rows = vec![r#"["AWS/EC2", 1]"#; 300].join(",");
        let body = format!(r#"{{"widgets": [{{"type": "metric", "properties": {{"metrics": [{rows}]}}}}]}}"#);
        let error = validate(&body).unwrap_err();
        assert!(error.message.starts_with("The dashboard body is invalid, there are 300 validation errors:"));
        assert_eq!(error.validation_messages.len(), MAX_LISTED_MESSAGES);
    }

    #[test]
    fn pointer_tokens_are_escaped() {
        assert_eq!(child("/widgets/0", "a/b~c"), "/widgets/0/a~1b~0c");
    }

    #[test]
    fn validation_messages_serialize_with_aws_member_names() {
        let message = ValidationMessage { data_path: "/widgets".into(), message: "Should be array".into() };
        assert_eq!(
            serde_json::to_value(&message).unwrap(),
            serde_json::json!({"DataPath": "/widgets", "Message": "Should be array"})
        );
    }
}
