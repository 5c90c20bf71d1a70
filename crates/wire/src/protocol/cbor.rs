//! smithy rpc-v2-cbor bodies (<https://smithy.io/2.0/additional-specs/protocols/smithy-rpc-v2.html>).
//!
//! Structures and maps are CBOR maps with text keys, lists arrays,
//! timestamps tag 1 around epoch seconds (integer or float), blobs byte
//! strings, non-finite doubles real IEEE NaN/∞ (canonical strings here).
//! Floats are written in the shortest IEEE width that holds them exactly
//! (ciborium's choice; every client reads half/single/double), `float`
//! members never wider than single precision. Decoding goes through
//! `ciborium::Value`, which never allocates from a
//! declared length (items are read chunk by chunk, so a length prefix larger
//! than the body fails as truncated input) and limits nesting depth; then the
//! model drives the conversion to canonical values, checking types.
//!
//! Lenient where the spec allows clients latitude: untagged numbers for
//! timestamps, text for blobs, indefinite-length items, unknown tags
//! (ignored), null members (absent).

use ciborium::Value as Cbor;
use serde_json::{Map, Value};

use crate::canonical;
use crate::model::{ServiceModel, ShapeRef, ShapeType};
use crate::validate::{self, Path, Violation};

use super::MalformedBody;

/// Deepest nesting accepted in a request; the models nest far less.
const MAX_DEPTH: usize = 64;

/// CBOR tag 1: epoch-based date/time.
const EPOCH_TAG: u64 = 1;

/// Decodes a request body into the canonical input.
pub(super) fn decode_input(
    model: &ServiceModel,
    input: Option<&ShapeRef>,
    body: &[u8],
    violations: &mut Vec<Violation>,
) -> Result<Value, MalformedBody> {
    if body.is_empty() {
        return Ok(Value::Object(Map::new()));
    }
    let wire = parse(body)?;
    if !matches!(untag(&wire), Cbor::Map(_)) {
        return Err(MalformedBody::NotAnObject("CBOR map"));
    }
    let Some(input) = input else {
        return Ok(Value::Object(Map::new()));
    };
    Ok(decode_value(model, input, &wire, &Path::Root, violations)
        .unwrap_or_else(|| Value::Object(Map::new())))
}

/// Parses exactly one CBOR item spanning the whole body.
fn parse(body: &[u8]) -> Result<Cbor, MalformedBody> {
    let mut reader = body;
    let value: Cbor = ciborium::de::from_reader_with_recursion_limit(&mut reader, MAX_DEPTH)
        .map_err(|error| MalformedBody::Cbor(error.to_string()))?;
    if !reader.is_empty() {
        return Err(MalformedBody::TrailingData);
    }
    Ok(value)
}

/// Strips tags other than the ones a shape gives meaning to.
fn untag(value: &Cbor) -> &Cbor {
    let mut value = value;
    while let Cbor::Tag(_, inner) = value {
        value = inner;
    }
    value
}

fn decode_value(
    model: &ServiceModel,
    shape_ref: &ShapeRef,
    wire: &Cbor,
    path: &Path<'_>,
    violations: &mut Vec<Violation>,
) -> Option<Value> {
    let shape = model.shape(&shape_ref.shape)?;
    // Timestamps read the tag; everything else ignores tags.
    if shape.kind == ShapeType::Timestamp {
        let seconds = match wire {
            Cbor::Tag(EPOCH_TAG, inner) => number(inner),
            Cbor::Null => return None,
            other => number(untag(other)),
        };
        return match seconds.and_then(canonical::seconds_value) {
            Some(value) => Some(value),
            None => {
                violations.push(Violation::wrong_type(path, render(wire), shape.kind));
                None
            }
        };
    }
    let wire = untag(wire);
    if matches!(wire, Cbor::Null) {
        return None;
    }
    let wrong_type = |violations: &mut Vec<Violation>| {
        violations.push(Violation::wrong_type(path, render(wire), shape.kind));
        None
    };
    match shape.kind {
        ShapeType::Structure => {
            let Cbor::Map(entries) = wire else {
                return wrong_type(violations);
            };
            let mut out = Map::new();
            for (key, item) in entries {
                let Cbor::Text(key) = untag(key) else {
                    continue;
                };
                let Some((name, member)) = shape.members.iter().find(|(name, member)| {
                    member.location_name.as_deref().unwrap_or(name.as_str()) == key
                }) else {
                    continue;
                };
                let member_path = path.member(name);
                if let Some(value) = decode_value(model, member, item, &member_path, violations) {
                    out.insert(name.clone(), value);
                }
            }
            Some(Value::Object(out))
        }
        ShapeType::List => {
            let Cbor::Array(items) = wire else {
                return wrong_type(violations);
            };
            let member = shape.member.as_ref()?;
            let mut out = Vec::with_capacity(items.len());
            for (index, item) in items.iter().enumerate() {
                out.extend(decode_value(
                    model,
                    member,
                    item,
                    &path.element(index),
                    violations,
                ));
            }
            Some(Value::Array(out))
        }
        ShapeType::Map => {
            let Cbor::Map(entries) = wire else {
                return wrong_type(violations);
            };
            let value_ref = shape.value.as_ref()?;
            let mut out = Map::new();
            for (key, item) in entries {
                let Cbor::Text(key) = untag(key) else {
                    violations.push(Violation::wrong_type(path, render(key), ShapeType::String));
                    continue;
                };
                let item_path = path.map_value(key);
                if let Some(value) = decode_value(model, value_ref, item, &item_path, violations) {
                    out.insert(key.clone(), value);
                }
            }
            Some(Value::Object(out))
        }
        ShapeType::String => match wire {
            Cbor::Text(text) => Some(Value::String(text.clone())),
            _ => wrong_type(violations),
        },
        ShapeType::Boolean => match wire {
            Cbor::Bool(flag) => Some(Value::Bool(*flag)),
            _ => wrong_type(violations),
        },
        ShapeType::Integer | ShapeType::Long => {
            let integer = match wire {
                Cbor::Integer(integer) => i64::try_from(i128::from(*integer)).ok(),
                Cbor::Float(float) => canonical::whole_f64_to_i64(*float),
                _ => None,
            };
            let in_range =
                integer.filter(|n| shape.kind == ShapeType::Long || i32::try_from(*n).is_ok());
            match in_range {
                Some(integer) => Some(Value::from(integer)),
                None => wrong_type(violations),
            }
        }
        ShapeType::Float | ShapeType::Double => match number(wire) {
            Some(float) => Some(canonical::float_value(float)),
            None => wrong_type(violations),
        },
        ShapeType::Blob => match wire {
            Cbor::Bytes(bytes) => Some(Value::String(canonical::encode_base64(bytes))),
            Cbor::Text(text) => Some(Value::String(canonical::encode_base64(text.as_bytes()))),
            _ => wrong_type(violations),
        },
        ShapeType::Timestamp | ShapeType::Other => to_json(wire),
    }
}

/// A CBOR number as f64 (integers beyond 2^53 lose precision, as in JSON).
fn number(wire: &Cbor) -> Option<f64> {
    match wire {
        #[allow(clippy::cast_precision_loss)]
        Cbor::Integer(integer) => Some(i128::from(*integer) as f64),
        Cbor::Float(float) => Some(*float),
        _ => None,
    }
}

/// Best-effort JSON view of an untyped CBOR value.
fn to_json(wire: &Cbor) -> Option<Value> {
    Some(match untag(wire) {
        Cbor::Integer(integer) => match i64::try_from(i128::from(*integer)) {
            Ok(integer) => Value::from(integer),
            Err(_) => canonical::float_value(number(wire)?),
        },
        Cbor::Float(float) => canonical::float_value(*float),
        Cbor::Bytes(bytes) => Value::String(canonical::encode_base64(bytes)),
        Cbor::Text(text) => Value::String(text.clone()),
        Cbor::Bool(flag) => Value::Bool(*flag),
        Cbor::Null => return None,
        Cbor::Array(items) => Value::Array(items.iter().filter_map(to_json).collect()),
        Cbor::Map(entries) => {
            let mut out = Map::new();
            for (key, item) in entries {
                if let (Cbor::Text(key), Some(item)) = (untag(key), to_json(item)) {
                    out.insert(key.clone(), item);
                }
            }
            Value::Object(out)
        }
        _ => return None,
    })
}

/// How a wire value is quoted in a type violation.
fn render(wire: &Cbor) -> String {
    let text = match untag(wire) {
        Cbor::Text(text) => text.clone(),
        Cbor::Integer(integer) => i128::from(*integer).to_string(),
        Cbor::Float(float) => canonical::format_double(*float),
        Cbor::Bool(flag) => flag.to_string(),
        Cbor::Bytes(bytes) => format!("<{} bytes>", bytes.len()),
        Cbor::Array(items) => format!("<list of {}>", items.len()),
        Cbor::Map(entries) => format!("<map of {}>", entries.len()),
        _ => "null".to_owned(),
    };
    validate::truncate(text)
}

/// Encodes a canonical output as the CBOR body.
pub(super) fn encode_output(
    model: &ServiceModel,
    output: &ShapeRef,
    value: &Value,
) -> Result<Vec<u8>, String> {
    let wire = encode_value(model, output, value).unwrap_or_else(|| Cbor::Map(Vec::new()));
    let mut body = Vec::new();
    ciborium::into_writer(&wire, &mut body).map_err(|error| error.to_string())?;
    Ok(body)
}

/// The wire form of a structure's members (an error shape's extra members).
pub(super) fn encode_members(model: &ServiceModel, shape: &str, value: &Value) -> Vec<(Cbor, Cbor)> {
    match encode_value(model, &ShapeRef::to(shape), value) {
        Some(Cbor::Map(entries)) => entries,
        _ => Vec::new(),
    }
}

fn encode_value(model: &ServiceModel, shape_ref: &ShapeRef, value: &Value) -> Option<Cbor> {
    if value.is_null() {
        return None;
    }
    let Some(shape) = model.shape(&shape_ref.shape) else {
        return Some(untyped(value));
    };
    match (shape.kind, value) {
        (ShapeType::Structure, Value::Object(object)) => {
            let mut entries = Vec::with_capacity(object.len());
            for (name, member) in &shape.members {
                let Some(member_value) = object.get(name) else {
                    continue;
                };
                let wire_name = member.location_name.as_deref().unwrap_or(name);
                if let Some(encoded) = encode_value(model, member, member_value) {
                    entries.push((Cbor::Text(wire_name.to_owned()), encoded));
                }
            }
            super::json::debug_unknown_members(shape_ref, object, |name| {
                shape.members.contains_key(name)
            });
            Some(Cbor::Map(entries))
        }
        (ShapeType::List, Value::Array(items)) => {
            let Some(member) = &shape.member else {
                return Some(untyped(value));
            };
            Some(Cbor::Array(
                items
                    .iter()
                    .filter_map(|item| encode_value(model, member, item))
                    .collect(),
            ))
        }
        (ShapeType::Map, Value::Object(object)) => {
            let Some(value_ref) = &shape.value else {
                return Some(untyped(value));
            };
            let entries = object
                .iter()
                .filter_map(|(key, item)| {
                    Some((
                        Cbor::Text(key.clone()),
                        encode_value(model, value_ref, item)?,
                    ))
                })
                .collect();
            Some(Cbor::Map(entries))
        }
        (ShapeType::Timestamp, _) => {
            let seconds = canonical::value_seconds(value)?;
            let inner = match canonical::whole_f64_to_i64(seconds) {
                Some(whole) => Cbor::Integer(whole.into()),
                None => Cbor::Float(seconds),
            };
            Some(Cbor::Tag(EPOCH_TAG, Box::new(inner)))
        }
        // smithy-go reads a `float` only from a 32-bit (or smaller) CBOR
        // float; rounding to f32 first makes ciborium pick such a width.
        (ShapeType::Float, _) => {
            #[allow(clippy::cast_possible_truncation)]
            let single = canonical::value_f64(value)? as f32;
            Some(Cbor::Float(f64::from(single)))
        }
        (ShapeType::Double, _) => canonical::value_f64(value).map(Cbor::Float),
        (ShapeType::Integer | ShapeType::Long, _) => match canonical::value_i64(value) {
            Some(integer) => Some(Cbor::Integer(integer.into())),
            None => Some(untyped(value)),
        },
        (ShapeType::Blob, Value::String(text)) => match canonical::decode_base64(text) {
            Some(bytes) => Some(Cbor::Bytes(bytes)),
            None => {
                tracing::warn!(shape = %shape_ref.shape, "blob output is not base64; sending its text bytes");
                Some(Cbor::Bytes(text.as_bytes().to_vec()))
            }
        },
        _ => Some(untyped(value)),
    }
}

/// CBOR for a value the model gives no type to.
fn untyped(value: &Value) -> Cbor {
    match value {
        Value::Null => Cbor::Null,
        Value::Bool(flag) => Cbor::Bool(*flag),
        Value::Number(number) => match (number.as_i64(), number.as_f64()) {
            (Some(integer), _) => Cbor::Integer(integer.into()),
            (None, Some(float)) => Cbor::Float(float),
            (None, None) => Cbor::Null,
        },
        Value::String(text) => Cbor::Text(text.clone()),
        Value::Array(items) => Cbor::Array(items.iter().map(untyped).collect()),
        Value::Object(object) => Cbor::Map(
            object
                .iter()
                .map(|(key, item)| (Cbor::Text(key.clone()), untyped(item)))
                .collect(),
        ),
    }
}
