//! The top-level `variables` array: property and pattern variables with
//! text, select or radio inputs.

use std::collections::HashSet;

use serde_json::{Map, Value};

use super::check::{Checker, child, item};

const MAX_VARIABLES: usize = 25;
const MAX_VALUES: usize = 500;

pub(super) fn check(checker: &mut Checker, path: &str, value: &Value) {
    let Some(variables) = checker.array(path, value, MAX_VARIABLES) else { return };
    let mut seen_properties = HashSet::new();
    for (index, variable) in variables.iter().enumerate() {
        let variable_path = item(path, index);
        let Some(variable) = checker.object(&variable_path, variable) else { continue };
        check_variable(checker, &variable_path, variable);
        // Two variables driving the same property would fight over it.
        if variable.get("type").and_then(Value::as_str) == Some("property")
            && let Some(property) = variable.get("property").and_then(Value::as_str)
            && !seen_properties.insert(property)
        {
            checker
                .error(&child(&variable_path, "property"), format!("Duplicated property in variable: \"{property}\""));
        }
    }
}

fn check_variable(checker: &mut Checker, path: &str, variable: &Map<String, Value>) {
    let kind = checker.required(variable, path, "type");
    if let Some(kind) = kind {
        checker.one_of(&child(path, "type"), kind, &["property", "pattern"]);
        // The field the variable replaces is named by its type.
        if let Some(target_name @ ("property" | "pattern")) = kind.as_str()
            && let Some(target) = checker.required(variable, path, target_name)
        {
            checker.bounded_string(&child(path, target_name), target, 2048);
        }
    }
    let input_type = checker.required(variable, path, "inputType");
    if let Some(input_type) = input_type {
        checker.one_of(&child(path, "inputType"), input_type, &["input", "select", "radio"]);
    }
    if let Some(id) = checker.required(variable, path, "id") {
        let id_path = child(path, "id");
        if let Some(id) = checker.bounded_string(&id_path, id, 32)
            && !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            checker.error(&id_path, "Should match pattern \"^[0-9A-Za-z_-]+$\"");
        }
    }

    for (key, value) in variable {
        let value_path = child(path, key);
        match key.as_str() {
            "label" => {
                checker.bounded_string(&value_path, value, 30);
            }
            "search" => {
                checker.bounded_string(&value_path, value, 2048);
            }
            "populateFrom" => {
                checker.bounded_string(&value_path, value, 255);
            }
            "visible" => checker.boolean(&value_path, value),
            "defaultValue" => check_scalar(checker, &value_path, value),
            "values" => check_values(checker, &value_path, value),
            _ => {}
        }
    }

    // A select or radio input lists its values, or finds them with a search.
    let is_choice = matches!(input_type.and_then(Value::as_str), Some("select" | "radio"));
    if is_choice && !variable.contains_key("values") {
        if variable.contains_key("search") {
            checker.required(variable, path, "populateFrom");
        } else {
            checker.error(path, "Should have required property 'values'");
        }
    }
}

fn check_values(checker: &mut Checker, path: &str, value: &Value) {
    let Some(values) = checker.array(path, value, MAX_VALUES) else { return };
    checker.min_items(path, values, 1);
    for (index, choice) in values.iter().enumerate() {
        let choice_path = item(path, index);
        let Some(choice) = checker.object(&choice_path, choice) else { continue };
        if let Some(value) = checker.required(choice, &choice_path, "value") {
            check_scalar(checker, &child(&choice_path, "value"), value);
        }
        if let Some(label) = choice.get("label") {
            checker.bounded_string(&child(&choice_path, "label"), label, 255);
        }
    }
}

/// A variable value: a string of at most 255 characters, a number or a
/// boolean.
fn check_scalar(checker: &mut Checker, path: &str, value: &Value) {
    match value {
        Value::String(string) if string.chars().count() > 255 => {
            checker.error(path, "Should NOT be longer than 255 characters");
        }
        Value::String(_) | Value::Number(_) | Value::Bool(_) => {}
        _ => checker.error(path, "Should be string,number,boolean"),
    }
}
