//! awsJson 1.0 / 1.1 bodies (<https://smithy.io/2.0/aws/protocols/aws-json-1_1-protocol.html>).
//!
//! The wire form is already almost the canonical one: structures are JSON
//! objects keyed by member name (or `locationName`), timestamps epoch
//! seconds, blobs base64 strings, non-finite doubles the strings `"NaN"`,
//! `"Infinity"`, `"-Infinity"`. Decoding checks every member's type against
//! the model and drops members the model does not know; encoding writes only
//! the members the output shape declares.
//!
//! A body that is not JSON (or not an object) is a `SerializationException`;
//! an empty body is an empty input, as the protocol tests require.

use serde_json::{Map, Value};

use super::MalformedBody;
use crate::canonical;
use crate::model::{ServiceModel, ShapeRef, ShapeType};
use crate::validate::{self, Path, Violation};

/// Decodes a request body into the canonical input.
pub(super) fn decode_input(
    model: &ServiceModel,
    input: Option<&ShapeRef>,
    body: &[u8],
    violations: &mut Vec<Violation>,
) -> Result<Value, MalformedBody> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Object(Map::new()));
    }
    let wire: Value = serde_json::from_slice(body).map_err(MalformedBody::Json)?;
    if !wire.is_object() {
        return Err(MalformedBody::NotAnObject("JSON object"));
    }
    let Some(input) = input else {
        return Ok(Value::Object(Map::new()));
    };
    Ok(decode_value(model, input, wire, &Path::Root, violations)
        .unwrap_or_else(|| Value::Object(Map::new())))
}

/// Converts one wire value to its canonical form, moving its strings rather
/// than copying them; `None` when it is null or ill-typed (then a violation
/// is recorded).
fn decode_value(
    model: &ServiceModel,
    shape_ref: &ShapeRef,
    wire: Value,
    path: &Path<'_>,
    violations: &mut Vec<Violation>,
) -> Option<Value> {
    if wire.is_null() {
        return None;
    }
    let Some(shape) = model.shape(&shape_ref.shape) else {
        return Some(wire);
    };
    let wrong_type = |wire: &Value, violations: &mut Vec<Violation>| {
        violations.push(Violation::wrong_type(path, render_wire(wire), shape.kind));
        None
    };
    match shape.kind {
        ShapeType::Structure => {
            let Value::Object(mut object) = wire else {
                return wrong_type(&wire, violations);
            };
            if shape.document {
                return Some(Value::Object(object));
            }
            let mut out = Map::new();
            for (name, member) in &shape.members {
                let wire_name = member.location_name.as_deref().unwrap_or(name);
                if let Some(value) = object.remove(wire_name) {
                    let member_path = path.member(name);
                    if let Some(value) = decode_value(model, member, value, &member_path, violations) {
                        out.insert(name.clone(), value);
                    }
                }
            }
            Some(Value::Object(out))
        }
        ShapeType::List => {
            let Value::Array(items) = wire else {
                return wrong_type(&wire, violations);
            };
            let Some(member) = &shape.member else {
                return Some(Value::Array(items));
            };
            let mut out = Vec::with_capacity(items.len());
            for (index, item) in items.into_iter().enumerate() {
                let item_path = path.element(index);
                out.extend(decode_value(model, member, item, &item_path, violations));
            }
            Some(Value::Array(out))
        }
        ShapeType::Map => {
            let Value::Object(object) = wire else {
                return wrong_type(&wire, violations);
            };
            let Some(value_ref) = &shape.value else {
                return Some(Value::Object(object));
            };
            let mut out = Map::new();
            for (key, item) in object {
                let item_path = path.map_value(&key);
                if let Some(value) = decode_value(model, value_ref, item, &item_path, violations) {
                    out.insert(key, value);
                }
            }
            Some(Value::Object(out))
        }
        ShapeType::String => match wire {
            Value::String(_) => Some(wire),
            _ => wrong_type(&wire, violations),
        },
        ShapeType::Boolean => match wire {
            Value::Bool(_) => Some(wire),
            _ => wrong_type(&wire, violations),
        },
        ShapeType::Integer => match canonical::value_i64(&wire).filter(|n| i32::try_from(*n).is_ok()) {
            Some(integer) => Some(Value::from(integer)),
            None => wrong_type(&wire, violations),
        },
        ShapeType::Long => match canonical::value_i64(&wire) {
            Some(integer) => Some(Value::from(integer)),
            None => wrong_type(&wire, violations),
        },
        ShapeType::Float | ShapeType::Double => match canonical::value_f64(&wire) {
            Some(float) => Some(canonical::float_value(float)),
            None => wrong_type(&wire, violations),
        },
        ShapeType::Timestamp => {
            let seconds = match &wire {
                Value::Number(number) => number.as_f64(),
                Value::String(text) => canonical::parse_timestamp_text(text),
                _ => None,
            };
            match seconds.and_then(canonical::seconds_value) {
                Some(value) => Some(value),
                None => wrong_type(&wire, violations),
            }
        }
        // Re-encoded so handlers always see padded standard base64.
        ShapeType::Blob => match &wire {
            Value::String(text) => match canonical::decode_base64(text) {
                Some(bytes) => Some(Value::String(canonical::encode_base64(&bytes))),
                None => wrong_type(&wire, violations),
            },
            _ => wrong_type(&wire, violations),
        },
        ShapeType::Other => Some(wire),
    }
}

/// How a wire value is quoted in a type violation.
fn render_wire(wire: &Value) -> String {
    let text = match wire {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    };
    validate::truncate(text)
}

/// Encodes a canonical output as the JSON body (`{}` without an output shape).
pub(super) fn encode_output(
    model: &ServiceModel,
    output: Option<&ShapeRef>,
    value: &Value,
) -> Vec<u8> {
    let wire = match output {
        Some(output) => {
            encode_value(model, output, value).unwrap_or_else(|| Value::Object(Map::new()))
        }
        None => Value::Object(Map::new()),
    };
    // Serializing a Value into memory cannot fail (no non-string keys).
    serde_json::to_vec(&wire).unwrap_or_else(|_| b"{}".to_vec())
}

/// The wire form of a structure's members (an error shape's extra members).
pub(super) fn encode_members(model: &ServiceModel, shape: &str, value: &Value) -> Map<String, Value> {
    match encode_value(model, &ShapeRef::to(shape), value) {
        Some(Value::Object(members)) => members,
        _ => Map::new(),
    }
}

fn encode_value(model: &ServiceModel, shape_ref: &ShapeRef, value: &Value) -> Option<Value> {
    if value.is_null() {
        return None;
    }
    let Some(shape) = model.shape(&shape_ref.shape) else {
        return Some(value.clone());
    };
    match (shape.kind, value) {
        (ShapeType::Structure, Value::Object(object)) if !shape.document => {
            let mut out = Map::new();
            for (name, member) in &shape.members {
                let Some(member_value) = object.get(name) else {
                    continue;
                };
                let wire_name = member.location_name.as_deref().unwrap_or(name);
                if let Some(encoded) = encode_value(model, member, member_value) {
                    out.insert(wire_name.to_owned(), encoded);
                }
            }
            debug_unknown_members(shape_ref, object, |name| shape.members.contains_key(name));
            Some(Value::Object(out))
        }
        (ShapeType::List, Value::Array(items)) => {
            let Some(member) = &shape.member else {
                return Some(value.clone());
            };
            Some(Value::Array(
                items
                    .iter()
                    .filter_map(|item| encode_value(model, member, item))
                    .collect(),
            ))
        }
        (ShapeType::Map, Value::Object(object)) => {
            let Some(value_ref) = &shape.value else {
                return Some(value.clone());
            };
            let mut out = Map::new();
            for (key, item) in object {
                if let Some(encoded) = encode_value(model, value_ref, item) {
                    out.insert(key.clone(), encoded);
                }
            }
            Some(Value::Object(out))
        }
        (ShapeType::Timestamp, _) => {
            let seconds = canonical::value_seconds(value)?;
            let format = shape_ref
                .timestamp_format
                .as_deref()
                .or(shape.timestamp_format.as_deref());
            match format {
                Some("iso8601") => canonical::format_iso8601(seconds).map(Value::String),
                _ => canonical::seconds_value(seconds),
            }
        }
        (ShapeType::Float | ShapeType::Double, _) => {
            canonical::value_f64(value).map(canonical::float_value)
        }
        _ => Some(value.clone()),
    }
}

/// Handlers returning members the model does not declare is a bug worth
/// seeing in debug logs, not worth failing a response over.
pub(super) fn debug_unknown_members(
    shape_ref: &ShapeRef,
    object: &Map<String, Value>,
    known: impl Fn(&str) -> bool,
) {
    for name in object.keys() {
        if !known(name) {
            tracing::debug!(shape = %shape_ref.shape, member = %name, "output member not in the model; dropped");
        }
    }
}
