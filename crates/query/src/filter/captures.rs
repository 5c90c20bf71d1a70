//! Values of a matched event that metric filters publish: `$.latency` of a
//! JSON event, `$duration` / `$3` of a space-delimited one.

use std::borrow::Cow;

use super::json_scan::{self, HitSink, JsonValue};
use super::selector::Selector;
use super::value::parse_number;

/// One extracted value.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldValue<'m> {
    Number(f64),
    String(Cow<'m, str>),
    Bool(bool),
    Null,
}

impl FieldValue<'_> {
    /// The value as a number: a JSON number, or text in AWS's number grammar
    /// (space-delimited fields are always text).
    pub fn as_number(&self) -> Option<f64> {
        match self {
            FieldValue::Number(number) => Some(*number),
            FieldValue::String(text) => parse_number(text),
            FieldValue::Bool(_) | FieldValue::Null => None,
        }
    }
}

/// The fields of an event a pattern matched.
#[derive(Debug, Clone)]
pub struct Captures<'m> {
    inner: Inner<'m>,
}

#[derive(Debug, Clone)]
enum Inner<'m> {
    /// Term and regex patterns extract nothing.
    Nothing,
    /// Any selector can be read from the (already validated) JSON event.
    Json(&'m str),
    /// `$name` / `$N` and the raw field text, in field order.
    Fields(Vec<(String, &'m str)>),
}

impl<'m> Captures<'m> {
    pub(crate) fn nothing() -> Captures<'m> {
        Captures { inner: Inner::Nothing }
    }

    pub(crate) fn json(message: &'m str) -> Captures<'m> {
        Captures { inner: Inner::Json(message) }
    }

    pub(crate) fn fields(fields: Vec<(String, &'m str)>) -> Captures<'m> {
        Captures { inner: Inner::Fields(fields) }
    }

    /// The value `selector` names: `$.a.b[0]` for JSON events (any property,
    /// not only those the pattern tests; `None` when missing or when it is an
    /// object or array), `$name` or `$N` for space-delimited events.
    pub fn value(&self, selector: &str) -> Option<FieldValue<'m>> {
        match &self.inner {
            Inner::Nothing => None,
            Inner::Json(message) => json_value(message, selector),
            Inner::Fields(fields) => {
                fields.iter().find(|(name, _)| name == selector).map(|(_, text)| FieldValue::String(Cow::Borrowed(*text)))
            }
        }
    }

    /// TestMetricFilter's `extractedValues`: every field of a space-delimited
    /// event under its `$name` or `$N`; empty for other pattern kinds (as on AWS).
    pub fn extracted_values(&self) -> impl Iterator<Item = (&str, &'m str)> + '_ {
        let fields: &[(String, &'m str)] = match &self.inner {
            Inner::Fields(fields) => fields,
            Inner::Nothing | Inner::Json(_) => &[],
        };
        fields.iter().map(|(name, text)| (name.as_str(), *text))
    }
}

struct Capture<'m> {
    found: Option<JsonValue<'m>>,
    first_only: bool,
}

impl<'m> HitSink<'m> for Capture<'m> {
    fn hit(&mut self, _selector: usize, value: JsonValue<'m>) {
        // A repeated property: the last occurrence counts; a wildcard: the first value reached.
        if !(self.first_only && self.found.is_some()) {
            self.found = Some(value);
        }
    }
}

fn json_value<'m>(message: &'m str, selector: &str) -> Option<FieldValue<'m>> {
    let selector = Selector::parse(selector)?;
    let mut capture = Capture { found: None, first_only: selector.has_wildcard() };
    if !json_scan::scan(message, std::slice::from_ref(&selector), &mut capture) {
        return None;
    }
    match capture.found? {
        JsonValue::String { raw, escaped } => Some(FieldValue::String(JsonValue::string_content(raw, escaped))),
        JsonValue::Number(text) => text.parse().ok().map(FieldValue::Number),
        JsonValue::Bool(flag) => Some(FieldValue::Bool(flag)),
        JsonValue::Null => Some(FieldValue::Null),
        JsonValue::Object | JsonValue::Array => None,
    }
}
