//! `metric` widgets: the `metrics` array (compact rows with the `.` and
//! `...` shorthands, expression rows), annotations, axes, legend, table
//! settings and the scalar properties.
//!
//! Row errors use the words CloudWatch answers with (recorded in client
//! bug reports, see the parent module): a field that is not a non-empty
//! string is "Invalid metric field type, only \"String\" type is allowed"
//! at the field; a row whose trailing rendering object is invalid, or whose
//! last dimension has no value, is "Should NOT have more than N items" at
//! the row, N being the items CloudWatch could accept.

use serde_json::{Map, Value};

use super::check::{Checker, HEX_COLOR_PATTERN, as_integer, child, is_hex_color, is_metric_id, is_valid_period, item};

/// Metrics and expressions in one widget.
const MAX_ROWS: usize = 500;
/// Alarm annotations in one widget.
const MAX_ALARM_ANNOTATIONS: usize = 1;

const INVALID_FIELD_TYPE: &str = "Invalid metric field type, only \"String\" type is allowed";
const ROW_NOT_ARRAY: &str =
    "Field \"metrics\" has to be an array of array of strings, with an optional metricRenderer object as last element";
const NO_DATA_SOURCE: &str =
    "The metric widget should have specified a region and a data source or an alarm annotation";

const VIEWS: &[&str] = &["timeSeries", "singleValue", "gauge", "bar", "pie", "table"];

/// Checks the `properties` of a `metric` widget; returns how many metric
/// and expression rows it graphs.
pub(super) fn check(checker: &mut Checker, path: &str, properties: &Map<String, Value>) -> usize {
    let metrics = properties.get("metrics");
    let annotations = properties.get("annotations");
    let mut rows = 0;
    if let Some(metrics) = metrics {
        rows = check_metrics(checker, &child(path, "metrics"), metrics);
    } else if !has_alarm_annotation(annotations) {
        checker.error(path, "Should have required property 'metrics'");
        checker.error(path, NO_DATA_SOURCE);
        if annotations.is_none() {
            checker.error(path, "Should have required property 'annotations'");
        }
    }
    if let Some(annotations) = annotations {
        check_annotations(checker, &child(path, "annotations"), annotations);
    }

    for (key, value) in properties {
        let value_path = child(path, key);
        match key.as_str() {
            "region" | "accountId" | "title" | "timezone" => {
                checker.string(&value_path, value);
            }
            "stat" => {
                checker.bounded_string(&value_path, value, 255);
            }
            "period" => checker.period(&value_path, value),
            "view" => checker.one_of(&value_path, value, VIEWS),
            "stacked" | "liveData" | "sparkline" | "setPeriodToTimeRange" | "trend" | "singleValueFullPrecision" => {
                checker.boolean(&value_path, value);
            }
            "legend" => checker.legend(&value_path, value),
            "yAxis" => check_y_axes(checker, &value_path, value),
            "table" => check_table(checker, &value_path, value),
            // `metrics` and `annotations` are checked above; CloudWatch keeps
            // properties it does not know (the console adds new ones often).
            _ => {}
        }
    }

    if properties.get("view").and_then(Value::as_str) == Some("gauge") && !gauge_has_range(properties) {
        checker.warn(
            &child(path, "yAxis"),
            "A gauge needs yAxis.left.min and yAxis.left.max; without them the widget does not render",
        );
    }
    rows
}

fn has_alarm_annotation(annotations: Option<&Value>) -> bool {
    annotations
        .and_then(|annotations| annotations.get("alarms"))
        .and_then(Value::as_array)
        .is_some_and(|alarms| !alarms.is_empty())
}

fn gauge_has_range(properties: &Map<String, Value>) -> bool {
    let left = properties.get("yAxis").and_then(|axes| axes.get("left"));
    let bound = |name: &str| left.and_then(|left| left.get(name)).is_some_and(Value::is_number);
    bound("min") && bound("max")
}

/// The fields of the last metric row, after shorthand expansion, that a
/// `.` or `...` in the next row refers to.
type PreviousRow = Option<Vec<String>>;

fn check_metrics(checker: &mut Checker, path: &str, metrics: &Value) -> usize {
    let Some(rows) = checker.array(path, metrics, MAX_ROWS) else { return 0 };
    let mut previous: PreviousRow = None;
    for (index, row) in rows.iter().enumerate() {
        let row_path = item(path, index);
        match row {
            Value::Array(items) => check_row(checker, &row_path, items, &mut previous),
            Value::Object(_) => checker.error(&row_path, "Should be array"),
            _ => checker.error(&row_path, ROW_NOT_ARRAY),
        }
    }
    rows.len()
}

fn check_row(checker: &mut Checker, path: &str, items: &[Value], previous: &mut PreviousRow) {
    let (fields, renderer) = match items.split_last() {
        None => {
            checker.error(path, "Should NOT have fewer than 1 items");
            return;
        }
        Some((Value::Object(renderer), fields)) => (fields, Some(renderer)),
        Some(_) => (items, None),
    };

    let Some(renderer) = renderer.filter(|_| fields.is_empty()) else {
        check_metric_row(checker, path, fields, renderer, previous);
        return;
    };
    // `[ { "expression": "…", "id": "e1" } ]`. A `.` in a later row still
    // refers to the metric row before it, so `previous` stays.
    let expression_path = item(path, 0);
    if checker.required(renderer, &expression_path, "expression").is_some() {
        for (key, problem) in renderer_problems(renderer) {
            checker.error(&child(&expression_path, &key), problem);
        }
    }
}

fn check_metric_row(
    checker: &mut Checker,
    path: &str,
    fields: &[Value],
    renderer: Option<&Map<String, Value>>,
    previous: &mut PreviousRow,
) {
    let mut strings = Vec::with_capacity(fields.len());
    for (index, field) in fields.iter().enumerate() {
        match field.as_str() {
            Some(string) if !string.is_empty() => strings.push(string),
            _ => checker.error(&item(path, index), INVALID_FIELD_TYPE),
        }
    }
    if strings.len() != fields.len() {
        *previous = None;
        return;
    }

    let expanded = expand_shorthands(checker, path, &strings, previous.as_deref());
    if expanded.len() < 2 {
        checker.error(path, "Should NOT have fewer than 2 items");
    } else if expanded.len() % 2 == 1 {
        // A dimension name without its value: CloudWatch accepts the row
        // only without its last field.
        checker.error(path, format!("Should NOT have more than {} items", fields.len().saturating_sub(1)));
    }
    if let Some(renderer) = renderer
        && !renderer_problems(renderer).is_empty()
    {
        // CloudWatch does not say what is wrong inside the rendering object,
        // only that the row would be valid without it.
        checker.error(path, format!("Should NOT have more than {} items", fields.len()));
    }
    *previous = Some(expanded);
}

/// Replaces `.` (the previous row's field at the same position) and a
/// leading `...` (all of the previous row's fields but the ones that
/// follow). A shorthand with nothing to refer to is kept as written and
/// warned about: the widget then shows no data for that row.
fn expand_shorthands(checker: &mut Checker, path: &str, strings: &[&str], previous: Option<&[String]>) -> Vec<String> {
    if let Some((&"...", rest)) = strings.split_first() {
        let Some(previous) = previous.filter(|previous| previous.len() > rest.len()) else {
            checker.warn(
                &item(path, 0),
                "\"...\" repeats the fields of the previous metric, but there is no previous metric with more fields than this one",
            );
            return strings.iter().map(|&field| field.to_owned()).collect();
        };
        let repeated = previous.iter().take(previous.len() - rest.len()).cloned();
        return repeated.chain(rest.iter().map(|&field| field.to_owned())).collect();
    }

    let mut expanded = Vec::with_capacity(strings.len());
    for (index, &field) in strings.iter().enumerate() {
        let referred = if field == "." { previous.and_then(|previous| previous.get(index)) } else { None };
        if field == "." && referred.is_none() {
            checker.warn(
                &item(path, index),
                "\".\" repeats the field of the previous metric at the same position, but there is none",
            );
        }
        expanded.push(referred.cloned().unwrap_or_else(|| field.to_owned()));
    }
    expanded
}

/// What is wrong with a rendering-properties object (the last item of a
/// metric row, or the only item of an expression row), as
/// `(property, message)` pairs.
fn renderer_problems(renderer: &Map<String, Value>) -> Vec<(String, &'static str)> {
    let mut problems = Vec::new();
    for (key, value) in renderer {
        let problem = match key.as_str() {
            "expression" => match value.as_str() {
                Some("") => Some("Should NOT be shorter than 1 characters"),
                Some(_) => None,
                None => Some("Should be string"),
            },
            "label" | "region" | "accountId" | "stat" => (!value.is_string()).then_some("Should be string"),
            "color" => match value.as_str() {
                Some(color) if !is_hex_color(color) => Some(HEX_COLOR_PATTERN),
                Some(_) => None,
                None => Some("Should be string"),
            },
            "id" => match value.as_str() {
                Some(id) if !is_metric_id(id) => Some("Should match pattern \"^[a-z][a-zA-Z0-9_]*$\""),
                Some(_) => None,
                None => Some("Should be string"),
            },
            "period" => match as_integer(value) {
                Some(seconds) if !is_valid_period(seconds) => Some("Should be multiple of 60"),
                Some(_) => None,
                None => Some("Should be integer"),
            },
            "visible" | "returnData" => (!value.is_boolean()).then_some("Should be boolean"),
            "yAxis" => (!matches!(value.as_str(), Some("left" | "right")))
                .then_some("Should be equal to one of the allowed values"),
            // Unknown scalars are ignored; objects and arrays are not
            // rendering properties (a `dimensions` object is a common
            // mistake CloudWatch rejects).
            _ => (value.is_object() || value.is_array()).then_some("Should be string"),
        };
        if let Some(problem) = problem {
            problems.push((key.clone(), problem));
        }
    }
    problems
}

fn check_annotations(checker: &mut Checker, path: &str, value: &Value) {
    let Some(annotations) = checker.object(path, value) else { return };
    if let Some(alarms) = annotations.get("alarms") {
        let alarms_path = child(path, "alarms");
        if let Some(alarms) = checker.array(&alarms_path, alarms, MAX_ALARM_ANNOTATIONS) {
            for (index, alarm) in alarms.iter().enumerate() {
                checker.bounded_string(&item(&alarms_path, index), alarm, 2048);
            }
        }
    }
    for (direction, fills) in [("horizontal", &["above", "below", "none"]), ("vertical", &["before", "after", "none"])]
    {
        let Some(lines) = annotations.get(direction) else { continue };
        let lines_path = child(path, direction);
        let Some(lines) = checker.array(&lines_path, lines, usize::MAX) else { continue };
        for (index, line) in lines.iter().enumerate() {
            let line_path = item(&lines_path, index);
            match line {
                // A band: two linked lines.
                Value::Array(band) => {
                    checker.min_items(&line_path, band, 2);
                    if band.len() > 2 {
                        checker.error(&line_path, "Should NOT have more than 2 items");
                    }
                    for (edge_index, edge) in band.iter().enumerate() {
                        check_annotation_line(checker, &item(&line_path, edge_index), edge, direction, fills);
                    }
                }
                _ => check_annotation_line(checker, &line_path, line, direction, fills),
            }
        }
    }
}

fn check_annotation_line(checker: &mut Checker, path: &str, value: &Value, direction: &str, fills: &[&str]) {
    let Some(line) = checker.object(path, value) else { return };
    if let Some(position) = checker.required(line, path, "value") {
        let position_path = child(path, "value");
        if direction == "horizontal" {
            checker.number(&position_path, position);
        } else {
            checker.string(&position_path, position);
        }
    }
    for (key, field) in line {
        let field_path = child(path, key);
        match key.as_str() {
            "label" => {
                checker.string(&field_path, field);
            }
            "color" => checker.hex_color(&field_path, field),
            "fill" => checker.one_of(&field_path, field, fills),
            "visible" => checker.boolean(&field_path, field),
            "yAxis" if direction == "horizontal" => checker.one_of(&field_path, field, &["left", "right"]),
            _ => {}
        }
    }
}

fn check_y_axes(checker: &mut Checker, path: &str, value: &Value) {
    let Some(axes) = checker.object(path, value) else { return };
    for side in ["left", "right"] {
        let Some(axis) = axes.get(side) else { continue };
        let axis_path = child(path, side);
        let Some(axis) = checker.object(&axis_path, axis) else { continue };
        for (key, field) in axis {
            let field_path = child(&axis_path, key);
            match key.as_str() {
                "label" => {
                    checker.string(&field_path, field);
                }
                "min" | "max" => checker.number(&field_path, field),
                "showUnits" => checker.boolean(&field_path, field),
                _ => {}
            }
        }
    }
}

fn check_table(checker: &mut Checker, path: &str, value: &Value) {
    let Some(table) = checker.object(path, value) else { return };
    for (key, field) in table {
        let field_path = child(path, key);
        match key.as_str() {
            "layout" => checker.one_of(&field_path, field, &["vertical", "horizontal"]),
            "stickySummary" | "showTimeSeriesData" => checker.boolean(&field_path, field),
            "summaryColumns" => {
                let Some(columns) = checker.array(&field_path, field, 4) else { continue };
                for (index, column) in columns.iter().enumerate() {
                    checker.one_of(&item(&field_path, index), column, &["MIN", "MAX", "SUM", "AVG"]);
                }
            }
            _ => {}
        }
    }
}
