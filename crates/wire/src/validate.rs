//! Input validation against the service model, with AWS's messages.
//!
//! AWS checks every request against the model's constraints (required,
//! length, range, pattern, enum) before the operation runs and reports all
//! failures at once:
//!
//! ```text
//! 2 validation errors detected: Value null at 'logGroupName' failed to satisfy
//! constraint: Member must not be null; Value '10001' at 'limit' failed to
//! satisfy constraint: Member must have value less than or equal to 10000
//! ```
//!
//! Member paths use the member names with a lowercase first letter; list
//! elements are `name.N.member` (1-based). Patterns are matched against the
//! whole value; a pattern Rust's `regex` cannot compile is not enforced.
//! The protocol decoders add their own violations for ill-typed members
//! ("Member must be of type integer"), so clients get one error naming every
//! bad member.

use std::fmt::Write as _;

use argus_core::ApiError;
use serde_json::Value;

use crate::canonical;
use crate::model::{Service, ServiceModel, Shape, ShapeType};

/// At most this many violations are spelled out in one message (all are
/// counted).
const MAX_LISTED: usize = 10;

/// Rendered values longer than this are cut (AWS quotes whole values; a cap
/// keeps a megabyte of log events from being echoed back).
const MAX_RENDERED_CHARS: usize = 16 * 1024;

/// One failed constraint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The member path, e.g. `logEvents.3.member.message`.
    pub path: String,
    /// The offending value as AWS quotes it; `None` for a missing value.
    pub value: Option<String>,
    /// What the member must satisfy, e.g. `Member must not be null`.
    pub constraint: String,
}

impl Violation {
    pub fn new(path: &Path<'_>, value: Option<String>, constraint: impl Into<String>) -> Violation {
        Violation {
            path: path.render(),
            value,
            constraint: constraint.into(),
        }
    }

    /// A member of the wrong type (a string where a number belongs, …).
    pub fn wrong_type(path: &Path<'_>, rendered: String, kind: ShapeType) -> Violation {
        Violation::new(
            path,
            Some(rendered),
            format!("Member must be of type {}", kind.name()),
        )
    }

    /// `Value 'x' at 'path' failed to satisfy constraint: …`.
    pub fn render(&self) -> String {
        match &self.value {
            Some(value) => {
                format!(
                    "Value '{value}' at '{}' failed to satisfy constraint: {}",
                    self.path, self.constraint
                )
            }
            None => format!(
                "Value null at '{}' failed to satisfy constraint: {}",
                self.path, self.constraint
            ),
        }
    }
}

/// The client-facing message for a non-empty list of violations.
pub fn message(violations: &[Violation]) -> String {
    let count = violations.len();
    let plural = if count == 1 { "" } else { "s" };
    let listed: Vec<String> = violations
        .iter()
        .take(MAX_LISTED)
        .map(Violation::render)
        .collect();
    format!(
        "{count} validation error{plural} detected: {}",
        listed.join("; ")
    )
}

/// The error a service answers violations with, including the services'
/// own wording where AWS does not use the generic message.
pub fn to_error(model: &ServiceModel, operation: &str, violations: &[Violation]) -> ApiError {
    // CloudWatch Logs answers an over-long log group or stream name with its
    // own message instead of the generic one (recorded from AWS).
    if model.service() == Service::Logs {
        let name_too_long = violations.iter().any(|v| {
            (v.path == "logGroupName" || v.path == "logStreamName")
                && v.constraint
                    .starts_with("Member must have length less than or equal to")
        });
        if name_too_long {
            return ApiError::invalid_parameter(
                "Invalid LogGroup or LogStream, both must have length less than or equal to 512.",
            );
        }
    }
    ApiError::new(model.validation_error_code(operation), message(violations))
}

/// Where a value sits in the input, as AWS spells it in validation
/// messages (`logEvents.3.member.message`). Built on the stack while
/// decoding and rendered only when a violation is recorded, so valid
/// requests never pay for path strings.
#[derive(Debug, Clone, Copy)]
pub enum Path<'a> {
    Root,
    /// A structure member (rendered with its first letter lowercased).
    Member(&'a Path<'a>, &'a str),
    /// The element at a zero-based index of a list.
    Element(&'a Path<'a>, usize),
    /// The value under a key of a map.
    MapValue(&'a Path<'a>, &'a str),
}

impl<'a> Path<'a> {
    pub fn member(&'a self, name: &'a str) -> Path<'a> {
        Path::Member(self, name)
    }

    pub fn element(&'a self, index: usize) -> Path<'a> {
        Path::Element(self, index)
    }

    pub fn map_value(&'a self, key: &'a str) -> Path<'a> {
        Path::MapValue(self, key)
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        self.write(&mut out);
        out
    }

    fn write(&self, out: &mut String) {
        match self {
            Path::Root => {}
            Path::Member(parent, name) => {
                parent.write(out);
                if !out.is_empty() {
                    out.push('.');
                }
                let mut chars = name.chars();
                if let Some(first) = chars.next() {
                    out.extend(first.to_lowercase());
                    out.push_str(chars.as_str());
                }
            }
            Path::Element(parent, index) => {
                parent.write(out);
                out.push('.');
                out.push_str(&index.saturating_add(1).to_string());
                out.push_str(".member");
            }
            Path::MapValue(parent, key) => {
                parent.write(out);
                out.push('.');
                out.push_str(key);
                out.push_str(".member");
            }
        }
    }
}

/// Checks a canonical input value against the shape `shape_name`, appending
/// every failed constraint.
pub fn validate(
    model: &ServiceModel,
    shape_name: &str,
    value: &Value,
    violations: &mut Vec<Violation>,
) {
    let Some(shape) = model.shape(shape_name) else {
        return;
    };
    validate_structure_members(model, shape, value, &Path::Root, violations);
}

fn validate_structure_members(
    model: &ServiceModel,
    shape: &Shape,
    value: &Value,
    path: &Path<'_>,
    violations: &mut Vec<Violation>,
) {
    let Value::Object(object) = value else { return };
    for (name, member) in &shape.members {
        let member_path = path.member(name);
        match object.get(name) {
            None | Some(Value::Null) => {
                if shape.is_required(name) {
                    violations.push(Violation::new(
                        &member_path,
                        None,
                        "Member must not be null",
                    ));
                }
            }
            Some(member_value) => {
                validate_value(model, &member.shape, member_value, &member_path, violations)
            }
        }
    }
}

fn validate_value(
    model: &ServiceModel,
    shape_name: &str,
    value: &Value,
    path: &Path<'_>,
    violations: &mut Vec<Violation>,
) {
    let Some(shape) = model.shape(shape_name) else {
        return;
    };
    match shape.kind {
        ShapeType::Structure => validate_structure_members(model, shape, value, path, violations),
        ShapeType::List => {
            let Value::Array(items) = value else { return };
            for constraint in length_constraints(shape, items.len()) {
                violations.push(Violation::new(
                    path,
                    Some(render(model, shape_name, value)),
                    constraint,
                ));
            }
            let Some(member) = &shape.member else { return };
            for (index, item) in items.iter().enumerate() {
                if !item.is_null() {
                    validate_value(
                        model,
                        &member.shape,
                        item,
                        &path.element(index),
                        violations,
                    );
                }
            }
        }
        ShapeType::Map => validate_map(model, shape, shape_name, value, path, violations),
        _ => {
            for constraint in scalar_constraints(shape, value) {
                violations.push(Violation::new(
                    path,
                    Some(render(model, shape_name, value)),
                    constraint,
                ));
            }
        }
    }
}

fn validate_map(
    model: &ServiceModel,
    shape: &Shape,
    shape_name: &str,
    value: &Value,
    path: &Path<'_>,
    violations: &mut Vec<Violation>,
) {
    let Value::Object(entries) = value else {
        return;
    };
    for constraint in length_constraints(shape, entries.len()) {
        violations.push(Violation::new(
            path,
            Some(render(model, shape_name, value)),
            constraint,
        ));
    }
    let key_shape = shape.key.as_ref().and_then(|key| model.shape(&key.shape));
    let value_ref = shape.value.as_ref();
    let value_shape = value_ref.and_then(|v| model.shape(&v.shape));
    for (key, entry) in entries {
        if let Some(key_shape) = key_shape {
            let failed = scalar_constraints(key_shape, &Value::String(key.clone()));
            if !failed.is_empty() {
                let constraint =
                    format!("Map keys must satisfy constraint: [{}]", failed.join(", "));
                violations.push(Violation::new(
                    path,
                    Some(truncate(key.clone())),
                    constraint,
                ));
            }
        }
        let (Some(value_ref), Some(value_shape)) = (value_ref, value_shape) else {
            continue;
        };
        if entry.is_null() {
            continue;
        }
        match value_shape.kind {
            ShapeType::Structure | ShapeType::List | ShapeType::Map => {
                validate_value(
                    model,
                    &value_ref.shape,
                    entry,
                    &path.map_value(key),
                    violations,
                );
            }
            _ => {
                let failed = scalar_constraints(value_shape, entry);
                if !failed.is_empty() {
                    let constraint =
                        format!("Map value must satisfy constraint: [{}]", failed.join(", "));
                    violations.push(Violation::new(
                        path,
                        Some(render(model, &value_ref.shape, entry)),
                        constraint,
                    ));
                }
            }
        }
    }
}

fn length_constraints(shape: &Shape, length: usize) -> Vec<String> {
    let mut failed = Vec::new();
    #[allow(clippy::cast_precision_loss)]
    let length = length as f64;
    if let Some(max) = shape.max
        && length > max
    {
        failed.push(format!(
            "Member must have length less than or equal to {}",
            format_bound(max)
        ));
    }
    if let Some(min) = shape.min
        && length < min
    {
        failed.push(format!(
            "Member must have length greater than or equal to {}",
            format_bound(min)
        ));
    }
    failed
}

/// The constraints a scalar value fails, in AWS's wording.
fn scalar_constraints(shape: &Shape, value: &Value) -> Vec<String> {
    match shape.kind {
        ShapeType::String => {
            let Value::String(text) = value else {
                return Vec::new();
            };
            let mut failed = length_constraints(shape, text.chars().count());
            if let (Some(pattern), Some(regex)) = (&shape.pattern, shape.pattern_regex())
                && !regex.is_match(text)
            {
                failed.push(format!(
                    "Member must satisfy regular expression pattern: {pattern}"
                ));
            }
            if let Some(allowed) = &shape.enum_values
                && !allowed.iter().any(|allowed| allowed == text)
            {
                failed.push(format!(
                    "Member must satisfy enum value set: [{}]",
                    allowed.join(", ")
                ));
            }
            failed
        }
        ShapeType::Blob => {
            let Value::String(text) = value else {
                return Vec::new();
            };
            match canonical::decode_base64(text) {
                Some(bytes) => length_constraints(shape, bytes.len()),
                None => Vec::new(),
            }
        }
        ShapeType::Integer | ShapeType::Long | ShapeType::Float | ShapeType::Double => {
            let Some(number) = canonical::value_f64(value) else {
                return Vec::new();
            };
            if number.is_nan() {
                return Vec::new();
            }
            let mut failed = Vec::new();
            if let Some(max) = shape.max
                && number > max
            {
                failed.push(format!(
                    "Member must have value less than or equal to {}",
                    format_bound(max)
                ));
            }
            if let Some(min) = shape.min
                && number < min
            {
                failed.push(format!(
                    "Member must have value greater than or equal to {}",
                    format_bound(min)
                ));
            }
            failed
        }
        _ => Vec::new(),
    }
}

/// Bounds print as integers when whole (`10000`, not `10000.0`).
fn format_bound(bound: f64) -> String {
    match canonical::whole_f64_to_i64(bound) {
        Some(whole) => whole.to_string(),
        None => bound.to_string(),
    }
}

/// Quotes a canonical value the way AWS's messages do: strings and numbers
/// as they are, lists as `[a, b]`, maps as `{k=v}`, structures as
/// `ShapeName(member=value, other=null)`.
pub fn render(model: &ServiceModel, shape_name: &str, value: &Value) -> String {
    let mut out = String::new();
    render_into(model, Some(shape_name), value, &mut out);
    truncate(out)
}

fn render_into(model: &ServiceModel, shape_name: Option<&str>, value: &Value, out: &mut String) {
    if out.len() > MAX_RENDERED_CHARS {
        return;
    }
    let shape = shape_name.and_then(|name| model.shape(name));
    match value {
        Value::Null => out.push_str("null"),
        Value::String(text) => out.push_str(text),
        Value::Bool(flag) => {
            let _ = write!(out, "{flag}");
        }
        Value::Number(number) => {
            let is_float =
                shape.is_some_and(|s| matches!(s.kind, ShapeType::Float | ShapeType::Double));
            match number.as_f64() {
                Some(float) if is_float => out.push_str(&canonical::format_double(float)),
                _ => {
                    let _ = write!(out, "{number}");
                }
            }
        }
        Value::Array(items) => {
            let member = shape
                .and_then(|s| s.member.as_ref())
                .map(|m| m.shape.as_str());
            out.push('[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push_str(", ");
                }
                render_into(model, member, item, out);
            }
            out.push(']');
        }
        Value::Object(object) => match shape {
            Some(structure) if structure.kind == ShapeType::Structure => {
                let name = shape_name.unwrap_or_default();
                out.push_str(name);
                out.push('(');
                for (index, (member_name, member)) in structure.members.iter().enumerate() {
                    if index > 0 {
                        out.push_str(", ");
                    }
                    out.push_str(&Path::Root.member(member_name).render());
                    out.push('=');
                    render_into(
                        model,
                        Some(&member.shape),
                        object.get(member_name).unwrap_or(&Value::Null),
                        out,
                    );
                }
                out.push(')');
            }
            _ => {
                let value_shape = shape
                    .and_then(|s| s.value.as_ref())
                    .map(|v| v.shape.as_str());
                out.push('{');
                for (index, (key, entry)) in object.iter().enumerate() {
                    if index > 0 {
                        out.push_str(", ");
                    }
                    out.push_str(key);
                    out.push('=');
                    render_into(model, value_shape, entry, out);
                }
                out.push('}');
            }
        },
    }
}

/// Cuts a rendered value at [`MAX_RENDERED_CHARS`] (on a char boundary).
pub(crate) fn truncate(mut text: String) -> String {
    if text.len() > MAX_RENDERED_CHARS {
        let mut cut = MAX_RENDERED_CHARS;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push_str("...");
    }
    text
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;
    use argus_core::ErrorCode;

    fn check(service: Service, operation: &str, input: Value) -> Vec<Violation> {
        let model = service.model();
        let shape = model
            .operation(operation)
            .and_then(|op| op.input.as_ref())
            .map(|i| i.shape.clone());
        let mut violations = Vec::new();
        validate(model, &shape.unwrap_or_default(), &input, &mut violations);
        violations
    }

    #[test]
    fn limit_over_the_maximum_matches_aws() {
        let violations = check(
            Service::Logs,
            "GetLogEvents",
            json!({"logStreamName": "s", "logGroupName": "g", "limit": 10001}),
        );
        let error = to_error(Service::Logs.model(), "GetLogEvents", &violations);
        assert_eq!(error.code, ErrorCode::InvalidParameter);
        assert_eq!(
            error.message,
            "1 validation error detected: Value '10001' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 10000"
        );
    }

    #[test]
    fn missing_required_members_are_null() {
        let violations = check(Service::Logs, "CreateLogGroup", json!({}));
        assert_eq!(
            message(&violations),
            "1 validation error detected: Value null at 'logGroupName' failed to satisfy constraint: Member must not be null"
        );
    }

    #[test]
    fn several_violations_are_counted_and_joined() {
        let violations = check(Service::Logs, "GetLogEvents", json!({"limit": 0}));
        let text = message(&violations);
        assert!(text.starts_with("2 validation errors detected: "), "{text}");
        assert!(text.contains(
            "Value null at 'logStreamName' failed to satisfy constraint: Member must not be null; "
        ));
        assert!(text.contains("Value '0' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1"));
    }

    #[test]
    fn enum_and_pattern_messages() {
        let violations = check(
            Service::CloudWatch,
            "SetAlarmState",
            json!({"AlarmName": "a", "StateValue": "INVALID", "StateReason": "r"}),
        );
        assert_eq!(
            message(&violations),
            "1 validation error detected: Value 'INVALID' at 'stateValue' failed to satisfy constraint: Member must satisfy enum value set: [OK, ALARM, INSUFFICIENT_DATA]"
        );
        let violations = check(
            Service::Logs,
            "DescribeLogStreams",
            json!({"logGroupName": "bad name"}),
        );
        assert_eq!(violations.len(), 1);
        assert_eq!(
            violations[0].constraint,
            "Member must satisfy regular expression pattern: [\\.\\-_/#A-Za-z0-9]+"
        );
    }

    #[test]
    fn nested_paths_name_the_list_element() {
        let violations = check(
            Service::Logs,
            "PutLogEvents",
            json!({"logGroupName": "g", "logStreamName": "s", "logEvents": [{"timestamp": 1, "message": "ok"}, {"timestamp": 2}]}),
        );
        assert_eq!(
            message(&violations),
            "1 validation error detected: Value null at 'logEvents.2.member.message' failed to satisfy constraint: Member must not be null"
        );
    }

    #[test]
    fn list_length_violations_render_structures_like_aws() {
        let transformation =
            json!({"metricName": "metric1", "metricNamespace": "namespace1", "metricValue": "1"});
        let violations = check(
            Service::Logs,
            "PutMetricFilter",
            json!({"logGroupName": "g", "filterName": "f", "filterPattern": "", "metricTransformations": [transformation.clone(), transformation]}),
        );
        assert_eq!(violations.len(), 1);
        let rendered = violations[0].render();
        assert!(rendered.starts_with("Value '[MetricTransformation(metricName=metric1, metricNamespace=namespace1, metricValue=1, defaultValue=null"), "{rendered}");
        assert!(rendered.ends_with("at 'metricTransformations' failed to satisfy constraint: Member must have length less than or equal to 1"));
    }

    #[test]
    fn map_keys_and_values_are_checked() {
        let long_key = "k".repeat(200);
        let violations = check(
            Service::Logs,
            "TagResource",
            json!({"resourceArn": "arn:aws:logs:us-east-1:1:log-group:g", "tags": {long_key: "v"}}),
        );
        assert_eq!(violations.len(), 1, "{violations:?}");
        assert!(violations[0].constraint.starts_with(
            "Map keys must satisfy constraint: [Member must have length less than or equal to 128"
        ));
    }

    #[test]
    fn logs_reports_long_group_names_in_its_own_words() {
        let violations = check(
            Service::Logs,
            "CreateLogGroup",
            json!({"logGroupName": "X".repeat(513)}),
        );
        let error = to_error(Service::Logs.model(), "CreateLogGroup", &violations);
        assert_eq!(
            error.message,
            "Invalid LogGroup or LogStream, both must have length less than or equal to 512."
        );
        assert_eq!(error.code, ErrorCode::InvalidParameter);
    }

    #[test]
    fn long_values_are_cut() {
        let rendered = truncate("é".repeat(MAX_RENDERED_CHARS));
        assert!(rendered.len() <= MAX_RENDERED_CHARS + 3);
        assert!(rendered.ends_with("..."));
    }

    #[test]
    fn many_violations_list_only_the_first_ten() {
        let violations: Vec<Violation> = (0..25)
            .map(|i| Violation::new(&Path::Root.member(&format!("m{i}")), None, "Member must not be null"))
            .collect();
        let text = message(&violations);
        assert!(text.starts_with("25 validation errors detected"));
        assert_eq!(text.matches("; ").count(), 9);
    }
}
