//! awsQuery requests (<https://smithy.io/2.0/aws/protocols/aws-query-protocol.html>):
//! form-encoded `key=value` pairs, from the body of a POST or the query
//! string of a GET.
//!
//! Keys spell a path through the input shape: `Name` for a top-level member
//! (its `locationName` if it has one), `Outer.Inner` for nested structures,
//! `List.member.N` for lists (`List.N` when flattened, with the member's
//! `locationName` replacing the last segment), `Map.entry.N.key` /
//! `Map.entry.N.value` for maps (`Map.N.key` when flattened; `key`/`value`
//! renamed by `locationName`). Indices are 1-based and only the ones present
//! are visited, so no allocation depends on an index a client writes. An
//! empty list is the bare key with an empty value. Timestamps are ISO 8601.
//!
//! A body that is not valid percent-encoded UTF-8 is `MalformedQueryString`.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;

use percent_encoding::percent_decode;
use serde_json::{Map, Value};

use crate::canonical;
use crate::model::{ServiceModel, ShapeRef, ShapeType};
use crate::validate::{self, Path, Violation};

use super::MalformedBody;

/// Deepest structure nesting followed; recursive shapes could otherwise be
/// walked as deep as a client makes a key.
const MAX_DEPTH: usize = 32;

/// The decoded form parameters, sorted so a key prefix is a range.
pub(super) type Params = BTreeMap<String, String>;

/// Collects the parameters of the query string and, for form posts, the body
/// (body values win).
pub(super) fn parse_params(
    parts: &http::request::Parts,
    body: &[u8],
) -> Result<Params, MalformedBody> {
    let mut params = Params::new();
    if let Some(query) = parts.uri.query() {
        parse_form(query.as_bytes(), &mut params)?;
    }
    let is_form = parts
        .headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| {
            value
                .trim()
                .to_ascii_lowercase()
                .starts_with(super::FORM_CONTENT_TYPE)
        });
    if is_form || (parts.method == http::Method::POST && !body.is_empty()) {
        parse_form(body, &mut params)?;
    }
    Ok(params)
}

/// Parses `application/x-www-form-urlencoded` bytes, rejecting invalid UTF-8.
fn parse_form(input: &[u8], params: &mut Params) -> Result<(), MalformedBody> {
    for pair in input.split(|byte| *byte == b'&') {
        if pair.is_empty() {
            continue;
        }
        let (key, value) = match pair.iter().position(|byte| *byte == b'=') {
            Some(at) => (
                pair.get(..at).unwrap_or_default(),
                pair.get(at + 1..).unwrap_or_default(),
            ),
            None => (pair, &b""[..]),
        };
        params.insert(decode_component(key)?, decode_component(value)?);
    }
    Ok(())
}

fn decode_component(raw: &[u8]) -> Result<String, MalformedBody> {
    let spaced: Vec<u8> = raw
        .iter()
        .map(|byte| if *byte == b'+' { b' ' } else { *byte })
        .collect();
    let decoded: Vec<u8> = percent_decode(&spaced).collect();
    String::from_utf8(decoded).map_err(|_| MalformedBody::FormNotUtf8)
}

/// Decodes the parameters into the canonical input.
pub(super) fn decode_input(
    model: &ServiceModel,
    input: Option<&ShapeRef>,
    params: &Params,
    violations: &mut Vec<Violation>,
) -> Value {
    let Some(input) = input else {
        return Value::Object(Map::new());
    };
    let Some(shape) = model.shape(&input.shape) else {
        return Value::Object(Map::new());
    };
    let decoder = Decoder { model, params };
    let mut out = Map::new();
    decoder.structure_members(shape, "", &Path::Root, 0, violations, &mut out);
    Value::Object(out)
}

struct Decoder<'a> {
    model: &'a ServiceModel,
    params: &'a Params,
}

impl Decoder<'_> {
    /// Decodes each member of `shape` found under the key prefix `prefix`.
    fn structure_members(
        &self,
        shape: &crate::model::Shape,
        prefix: &str,
        path: &Path<'_>,
        depth: usize,
        violations: &mut Vec<Violation>,
        out: &mut Map<String, Value>,
    ) {
        for (name, member) in &shape.members {
            let wire_name = member.location_name.as_deref().unwrap_or(name);
            let key = join(prefix, wire_name);
            let member_path = path.member(name);
            if let Some(value) = self.value(member, &key, &member_path, depth, violations) {
                out.insert(name.clone(), value);
            }
        }
    }

    fn value(
        &self,
        shape_ref: &ShapeRef,
        key: &str,
        path: &Path<'_>,
        depth: usize,
        violations: &mut Vec<Violation>,
    ) -> Option<Value> {
        let shape = self.model.shape(&shape_ref.shape)?;
        match shape.kind {
            ShapeType::Structure => {
                if depth >= MAX_DEPTH || !self.has_children(key) {
                    return None;
                }
                let mut out = Map::new();
                self.structure_members(shape, key, path, depth + 1, violations, &mut out);
                Some(Value::Object(out))
            }
            ShapeType::List => {
                if depth >= MAX_DEPTH {
                    return None;
                }
                let member = shape.member.as_ref()?;
                let base = if shape.flattened || shape_ref.flattened {
                    match &member.location_name {
                        Some(name) => replace_last_segment(key, name),
                        None => key.to_owned(),
                    }
                } else {
                    join(key, member.location_name.as_deref().unwrap_or("member"))
                };
                let indices = self.indices(&base);
                if indices.is_empty() {
                    // `List=` (empty value) is how clients send an empty list.
                    return self
                        .params
                        .get(key)
                        .filter(|v| v.is_empty())
                        .map(|_| Value::Array(Vec::new()));
                }
                let mut items = Vec::with_capacity(indices.len());
                for (position, index) in indices.iter().enumerate() {
                    let item_key = format!("{base}.{index}");
                    let item_path = path.element(position);
                    items.extend(self.value(member, &item_key, &item_path, depth + 1, violations));
                }
                Some(Value::Array(items))
            }
            ShapeType::Map => {
                if depth >= MAX_DEPTH {
                    return None;
                }
                let (key_ref, value_ref) = (shape.key.as_ref()?, shape.value.as_ref()?);
                let base = if shape.flattened || shape_ref.flattened {
                    key.to_owned()
                } else {
                    join(key, "entry")
                };
                let key_name = key_ref.location_name.as_deref().unwrap_or("key");
                let value_name = value_ref.location_name.as_deref().unwrap_or("value");
                let indices = self.indices(&base);
                if indices.is_empty() {
                    return self
                        .params
                        .get(key)
                        .filter(|v| v.is_empty())
                        .map(|_| Value::Object(Map::new()));
                }
                let mut out = Map::new();
                for index in indices {
                    let entry = format!("{base}.{index}");
                    let Some(entry_key) = self.params.get(&join(&entry, key_name)) else {
                        continue;
                    };
                    let entry_path = path.map_value(entry_key);
                    let value_key = join(&entry, value_name);
                    if let Some(value) =
                        self.value(value_ref, &value_key, &entry_path, depth + 1, violations)
                    {
                        out.insert(entry_key.clone(), value);
                    }
                }
                Some(Value::Object(out))
            }
            kind => {
                let text = self.params.get(key)?;
                match scalar(kind, text) {
                    Some(value) => Some(value),
                    None => {
                        violations.push(Violation::wrong_type(
                            path,
                            validate::truncate(text.clone()),
                            kind,
                        ));
                        None
                    }
                }
            }
        }
    }

    /// Whether any parameter lies under `prefix.`.
    fn has_children(&self, prefix: &str) -> bool {
        let start = format!("{prefix}.");
        self.params
            .range::<str, _>((Bound::Included(start.as_str()), Bound::Unbounded))
            .next()
            .is_some_and(|(key, _)| key.starts_with(&start))
    }

    /// The 1-based indices present under `base.` (`base.3.x`, `base.7`), in
    /// numeric order. Segments that are not plain positive numbers are ignored.
    fn indices(&self, base: &str) -> BTreeSet<u64> {
        let start = format!("{base}.");
        let mut indices = BTreeSet::new();
        let under = self
            .params
            .range::<str, _>((Bound::Included(start.as_str()), Bound::Unbounded));
        for (key, _) in under {
            let Some(rest) = key.strip_prefix(&start) else {
                break;
            };
            let segment = rest.split('.').next().unwrap_or_default();
            let is_plain_number = !segment.is_empty()
                && !segment.starts_with('0')
                && segment.bytes().all(|b| b.is_ascii_digit());
            if let Some(index) = segment.parse::<u64>().ok().filter(|_| is_plain_number) {
                indices.insert(index);
            }
        }
        indices
    }
}

/// Converts a scalar parameter; `None` when it does not parse as `kind`.
fn scalar(kind: ShapeType, text: &str) -> Option<Value> {
    match kind {
        ShapeType::String => Some(Value::String(text.to_owned())),
        ShapeType::Boolean => {
            if text.eq_ignore_ascii_case("true") {
                Some(Value::Bool(true))
            } else if text.eq_ignore_ascii_case("false") {
                Some(Value::Bool(false))
            } else {
                None
            }
        }
        ShapeType::Integer => text.trim().parse::<i32>().ok().map(Value::from),
        ShapeType::Long => text.trim().parse::<i64>().ok().map(Value::from),
        ShapeType::Float | ShapeType::Double => {
            let text = text.trim();
            let float = canonical::special_float(text).or_else(|| parse_finite(text))?;
            Some(canonical::float_value(float))
        }
        ShapeType::Timestamp => {
            canonical::parse_timestamp_text(text).and_then(canonical::seconds_value)
        }
        ShapeType::Blob => canonical::decode_base64(text)
            .map(|bytes| Value::String(canonical::encode_base64(&bytes))),
        ShapeType::Structure | ShapeType::List | ShapeType::Map | ShapeType::Other => None,
    }
}

/// Rust's float parser also takes "inf" and "nan"; only the AWS spellings
/// of the special values are accepted (by `special_float`).
fn parse_finite(text: &str) -> Option<f64> {
    text.parse::<f64>().ok().filter(|float| float.is_finite())
}

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_owned()
    } else {
        format!("{prefix}.{name}")
    }
}

fn replace_last_segment(key: &str, name: &str) -> String {
    match key.rsplit_once('.') {
        Some((parent, _)) => format!("{parent}.{name}"),
        None => name.to_owned(),
    }
}
