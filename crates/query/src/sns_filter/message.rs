//! The message side: which typed values a key of the policy finds in a
//! message's attributes or in its JSON body.

use serde_json::Value;

use super::condition::Candidate;
use super::policy::KeyRule;

/// One SNS message attribute as delivered.
///
/// `data_type` is `String`, `String.Array`, `Number` (or a custom
/// `Number.xyz`/`String.xyz`) or `Binary`; `value` is the attribute's
/// `StringValue` (for `String.Array`, a JSON array as text).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attribute<'a> {
    pub data_type: &'a str,
    pub value: &'a str,
}

/// How SNS reads an attribute for filtering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AttributeKind {
    String,
    Number,
    /// `String.Array` (and the `Number.Array` of SNS's numeric examples).
    Array,
    /// `Binary` and anything unknown: "SNS ignores message attributes with
    /// the Binary data type".
    Ignored,
}

fn kind(data_type: &str) -> AttributeKind {
    if data_type == "String.Array" || data_type == "Number.Array" {
        return AttributeKind::Array;
    }
    // Custom types keep their base: `Number.float` is a Number.
    match data_type.split('.').next().unwrap_or_default() {
        "String" => AttributeKind::String,
        "Number" => AttributeKind::Number,
        _ => AttributeKind::Ignored,
    }
}

/// Whether the attribute takes part in filtering at all.
pub(super) fn is_compared(attribute: &Attribute<'_>) -> bool {
    kind(attribute.data_type) != AttributeKind::Ignored
}

/// Decides one key of an attribute-scope policy against the attribute of
/// that name (`None` when the message has none).
pub(super) fn attribute_key_holds(rule: &KeyRule, attribute: Option<Attribute<'_>>) -> bool {
    let Some(attribute) = attribute else {
        return rule.accepts(&[]);
    };
    match kind(attribute.data_type) {
        AttributeKind::String => rule.accepts(&[Candidate::Str(attribute.value)]),
        AttributeKind::Number => match parse_number(attribute.value) {
            Some(number) => rule.accepts(&[Candidate::Number(number)]),
            // SNS refuses such a Number at Publish; should one arrive
            // anyway, it is still text.
            None => rule.accepts(&[Candidate::Str(attribute.value)]),
        },
        AttributeKind::Array => match serde_json::from_str::<Value>(attribute.value) {
            Ok(array @ Value::Array(_)) => {
                let mut elements = Vec::new();
                collect(&array, &[], &mut elements);
                rule.accepts(&elements)
            }
            // Not a JSON array: the text itself is the one value.
            _ => rule.accepts(&[Candidate::Str(attribute.value)]),
        },
        AttributeKind::Ignored => rule.accepts(&[]),
    }
}

/// A `Number` attribute's value: any finite decimal, exponents allowed
/// (`3.015e2`).
fn parse_number(text: &str) -> Option<f64> {
    text.trim()
        .parse::<f64>()
        .ok()
        .filter(|number| number.is_finite())
}

/// Decides one key of a body-scope policy against the body.
pub(super) fn body_key_holds(rule: &KeyRule, body: &Value) -> bool {
    let mut values = Vec::new();
    collect(body, &rule.path, &mut values);
    rule.accepts(&values)
}

/// Gathers the scalars found at `path` below `value`. Arrays anywhere on the
/// way are walked element by element (an array matches if any element
/// does); objects are not values, so a path ending on one finds nothing.
///
/// A body key containing dots stands for the path it spells
/// (`{"a.b": 1}` is found at `a`, `b`), the mirror of the same rule for
/// policy keys.
fn collect<'v>(value: &'v Value, path: &[String], out: &mut Vec<Candidate<'v>>) {
    match value {
        Value::Array(items) => {
            for item in items {
                collect(item, path, out);
            }
        }
        Value::Object(fields) => {
            let Some(first) = path.first() else {
                return;
            };
            for (key, child) in fields {
                if key == first {
                    collect(child, path.get(1..).unwrap_or_default(), out);
                } else if key.contains('.')
                    && let Some(rest) = strip_dotted(key, path)
                {
                    collect(child, rest, out);
                }
            }
        }
        scalar => {
            if path.is_empty()
                && let Some(candidate) = Candidate::of_json(scalar)
            {
                out.push(candidate);
            }
        }
    }
}

/// The rest of `path` after the segments of a dotted body key, if they are
/// its beginning.
fn strip_dotted<'p>(key: &str, path: &'p [String]) -> Option<&'p [String]> {
    let mut remaining = path;
    for segment in key.split('.') {
        let (first, rest) = remaining.split_first()?;
        if first != segment {
            return None;
        }
        remaining = rest;
    }
    Some(remaining)
}
