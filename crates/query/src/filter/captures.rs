//! Values of a matched event that metric filters publish: `$.latency` of a
//! JSON event, `$duration` / `$3` of a space-delimited one.

use std::borrow::Cow;

use super::delimited::DelimitedPattern;
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
    /// A space-delimited event; `$name` / `$N` are found on demand.
    Fields { pattern: &'m DelimitedPattern, message: &'m str },
}

/// A compiled reference to one field of a matched event: `$.a.b[0]` for
/// JSON events, `$name` / `$N` for space-delimited ones. Compile it once
/// and read it from many events' [`Captures`].
#[derive(Debug, Clone)]
pub struct FieldRef {
    pub(crate) text: String,
    pub(crate) json: Option<Selector>,
}

impl FieldRef {
    /// `None` unless `text` is `$` followed by a name or a JSON path.
    pub fn parse(text: &str) -> Option<FieldRef> {
        if text.len() < 2 || !text.starts_with('$') {
            return None;
        }
        Some(FieldRef { text: text.to_string(), json: Selector::parse(text) })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }
}

/// Field references read together (a metric value and its dimensions).
#[derive(Debug, Clone, Default)]
pub struct FieldRefs {
    pub(crate) fields: Vec<FieldRef>,
    /// The JSON selectors among `fields` (at most a pattern's worth) and,
    /// for each, its position in `fields`.
    selectors: Vec<Selector>,
    slot_of_selector: Vec<usize>,
}

impl FieldRefs {
    /// `None` for more references than one JSON scan tracks.
    pub fn new(fields: Vec<FieldRef>) -> Option<FieldRefs> {
        let mut selectors = Vec::new();
        let mut slot_of_selector = Vec::new();
        for (slot, field) in fields.iter().enumerate() {
            if let Some(selector) = &field.json {
                selectors.push(selector.clone());
                slot_of_selector.push(slot);
            }
        }
        (selectors.len() <= json_scan::MAX_SELECTORS).then_some(FieldRefs { fields, selectors, slot_of_selector })
    }

    pub fn len(&self) -> usize {
        self.fields.len()
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }
}

impl<'m> Captures<'m> {
    pub(crate) fn nothing() -> Captures<'m> {
        Captures { inner: Inner::Nothing }
    }

    pub(crate) fn json(message: &'m str) -> Captures<'m> {
        Captures { inner: Inner::Json(message) }
    }

    pub(crate) fn fields(pattern: &'m DelimitedPattern, message: &'m str) -> Captures<'m> {
        Captures { inner: Inner::Fields { pattern, message } }
    }

    /// The value `selector` names: `$.a.b[0]` for JSON events (any property,
    /// not only those the pattern tests; `None` when missing or when it is an
    /// object or array), `$name` or `$N` for space-delimited events.
    pub fn value(&self, selector: &str) -> Option<FieldValue<'m>> {
        match &self.inner {
            Inner::Nothing => None,
            Inner::Json(message) => json_value(message, &Selector::parse(selector)?),
            Inner::Fields { pattern, message } => pattern.field(message, selector).map(|text| FieldValue::String(Cow::Borrowed(text))),
        }
    }

    /// The values of a set of fields, `None` where a field is missing (or
    /// an object or array): a JSON event is scanned once for all of them.
    pub fn values_of(&self, refs: &FieldRefs, out: &mut Vec<Option<FieldValue<'m>>>) {
        out.clear();
        match &self.inner {
            Inner::Nothing => out.resize(refs.fields.len(), None),
            Inner::Json(message) => json_values(message, refs, out),
            Inner::Fields { pattern, message } => out.extend(
                refs.fields.iter().map(|field| pattern.field(message, &field.text).map(|text| FieldValue::String(Cow::Borrowed(text)))),
            ),
        }
    }

    /// TestMetricFilter's `extractedValues`: every field of a space-delimited
    /// event under its `$name` or `$N`; empty for other pattern kinds (as on AWS).
    pub fn extracted_values(&self) -> Vec<(String, &'m str)> {
        match &self.inner {
            Inner::Fields { pattern, message } => pattern.extract(message),
            Inner::Nothing | Inner::Json(_) => Vec::new(),
        }
    }
}

/// Per selector, the value it reached: a repeated property's last
/// occurrence, a wildcard's first value.
struct Capture<'m> {
    found: Option<JsonValue<'m>>,
    first_only: bool,
}

impl<'m> HitSink<'m> for Capture<'m> {
    fn hit(&mut self, _selector: usize, value: JsonValue<'m>) {
        if !(self.first_only && self.found.is_some()) {
            self.found = Some(value);
        }
    }
}

fn json_value<'m>(message: &'m str, selector: &Selector) -> Option<FieldValue<'m>> {
    let mut capture = Capture { found: None, first_only: selector.has_wildcard() };
    if !json_scan::scan(message, std::slice::from_ref(selector), &mut capture) {
        return None;
    }
    field_value(capture.found?)
}

/// The same for a [`FieldRefs`] set, straight into the caller's slots.
struct Collect<'m, 'o, 'r> {
    out: &'o mut [Option<FieldValue<'m>>],
    refs: &'r FieldRefs,
    /// Wildcard selectors that already reached a value.
    reached: u128,
}

impl<'m> HitSink<'m> for Collect<'m, '_, '_> {
    fn hit(&mut self, selector: usize, value: JsonValue<'m>) {
        let bit = 1u128 << selector;
        if self.refs.selectors.get(selector).is_some_and(Selector::has_wildcard) {
            if self.reached & bit != 0 {
                return;
            }
            self.reached |= bit;
        }
        if let Some(slot) = self.refs.slot_of_selector.get(selector).and_then(|&slot| self.out.get_mut(slot)) {
            *slot = field_value(value);
        }
    }
}

fn json_values<'m>(message: &'m str, refs: &FieldRefs, out: &mut Vec<Option<FieldValue<'m>>>) {
    out.resize(refs.fields.len(), None);
    let mut collect = Collect { out: out.as_mut_slice(), refs, reached: 0 };
    if !json_scan::scan(message, &refs.selectors, &mut collect) {
        out.iter_mut().for_each(|slot| *slot = None);
    }
}

pub(crate) fn field_value(value: JsonValue<'_>) -> Option<FieldValue<'_>> {
    match value {
        JsonValue::String { raw, escaped } => Some(FieldValue::String(JsonValue::string_content(raw, escaped))),
        JsonValue::Number(text) => text.parse().ok().map(FieldValue::Number),
        JsonValue::Bool(flag) => Some(FieldValue::Bool(flag)),
        JsonValue::Null => Some(FieldValue::Null),
        JsonValue::Object | JsonValue::Array => None,
    }
}
