//! The checker every dashboard part reports into, and the type, range and
//! shape checks they share, worded the way CloudWatch words them (its
//! messages come from a JSON-schema validator: "Should be integer",
//! "Should be <= 23", "Should have required property 'type'").

use serde_json::{Map, Value};

use super::ValidationMessage;

pub(super) const HEX_COLOR_PATTERN: &str = "Should match pattern \"^#([0-9a-fA-F]{3}){1,2}$\"";

/// Collects errors (the body is rejected) and warnings (the body is stored,
/// the messages go back in the successful response).
#[derive(Debug, Default)]
pub(super) struct Checker {
    pub(super) errors: Vec<ValidationMessage>,
    pub(super) warnings: Vec<ValidationMessage>,
}

/// The JSON pointer of `key` under `parent` (RFC 6901: `~` and `/` escaped).
pub(super) fn child(parent: &str, key: &str) -> String {
    let escaped = key.replace('~', "~0").replace('/', "~1");
    format!("{parent}/{escaped}")
}

/// The JSON pointer of array element `index` under `parent`.
pub(super) fn item(parent: &str, index: usize) -> String {
    format!("{parent}/{index}")
}

impl Checker {
    pub(super) fn error(&mut self, data_path: &str, message: impl Into<String>) {
        self.errors.push(ValidationMessage { data_path: data_path.to_owned(), message: message.into() });
    }

    pub(super) fn warn(&mut self, data_path: &str, message: impl Into<String>) {
        self.warnings.push(ValidationMessage { data_path: data_path.to_owned(), message: message.into() });
    }

    /// Reports a missing required property at the path of the object that
    /// lacks it; returns the value when present.
    pub(super) fn required<'v>(&mut self, object: &'v Map<String, Value>, path: &str, key: &str) -> Option<&'v Value> {
        let value = object.get(key);
        if value.is_none() {
            self.error(path, format!("Should have required property '{key}'"));
        }
        value
    }

    pub(super) fn object<'v>(&mut self, path: &str, value: &'v Value) -> Option<&'v Map<String, Value>> {
        let object = value.as_object();
        if object.is_none() {
            self.error(path, "Should be object");
        }
        object
    }

    /// An array of at most `max_items` elements (more is reported, and the
    /// elements are still returned so they get checked too).
    pub(super) fn array<'v>(&mut self, path: &str, value: &'v Value, max_items: usize) -> Option<&'v [Value]> {
        let Some(array) = value.as_array() else {
            self.error(path, "Should be array");
            return None;
        };
        if array.len() > max_items {
            self.error(path, format!("Should NOT have more than {max_items} items"));
        }
        Some(array)
    }

    pub(super) fn min_items(&mut self, path: &str, array: &[Value], min_items: usize) {
        if array.len() < min_items {
            self.error(path, format!("Should NOT have fewer than {min_items} items"));
        }
    }

    pub(super) fn string<'v>(&mut self, path: &str, value: &'v Value) -> Option<&'v str> {
        let string = value.as_str();
        if string.is_none() {
            self.error(path, "Should be string");
        }
        string
    }

    /// A string of 1 to `max_chars` characters.
    pub(super) fn bounded_string<'v>(&mut self, path: &str, value: &'v Value, max_chars: usize) -> Option<&'v str> {
        let string = self.string(path, value)?;
        let chars = string.chars().count();
        if chars == 0 {
            self.error(path, "Should NOT be shorter than 1 characters");
        } else if chars > max_chars {
            self.error(path, format!("Should NOT be longer than {max_chars} characters"));
        }
        Some(string)
    }

    pub(super) fn boolean(&mut self, path: &str, value: &Value) {
        if !value.is_boolean() {
            self.error(path, "Should be boolean");
        }
    }

    pub(super) fn number(&mut self, path: &str, value: &Value) {
        if !value.is_number() {
            self.error(path, "Should be number");
        }
    }

    /// An integer within `min..=max`. `6.0` counts as an integer, as it does
    /// for CloudWatch's (JavaScript) validator.
    pub(super) fn integer(&mut self, path: &str, value: &Value, min: i64, max: Option<i64>) -> Option<i64> {
        let Some(integer) = as_integer(value) else {
            self.error(path, "Should be integer");
            return None;
        };
        if integer < min {
            self.error(path, format!("Should be >= {min}"));
        } else if let Some(max) = max
            && integer > max
        {
            self.error(path, format!("Should be <= {max}"));
        }
        Some(integer)
    }

    pub(super) fn one_of(&mut self, path: &str, value: &Value, allowed: &[&str]) {
        if !value.as_str().is_some_and(|string| allowed.contains(&string)) {
            self.error(path, "Should be equal to one of the allowed values");
        }
    }

    /// A period in seconds: the high-resolution 1, 5, 10 and 30, or a
    /// multiple of 60.
    pub(super) fn period(&mut self, path: &str, value: &Value) {
        let Some(seconds) = self.integer(path, value, 1, None) else { return };
        if seconds >= 1 && !is_valid_period(seconds) {
            self.error(path, "Should be multiple of 60");
        }
    }

    /// A colour: `#rrggbb` or `#rgb`.
    pub(super) fn hex_color(&mut self, path: &str, value: &Value) {
        if self.string(path, value).is_some_and(|color| !is_hex_color(color)) {
            self.error(path, HEX_COLOR_PATTERN);
        }
    }

    /// A `legend` object: `{ "position": "right" | "bottom" | "hidden" }`.
    pub(super) fn legend(&mut self, path: &str, value: &Value) {
        let Some(legend) = self.object(path, value) else { return };
        if let Some(position) = legend.get("position") {
            self.one_of(&child(path, "position"), position, &["right", "bottom", "hidden"]);
        }
    }
}

pub(super) fn as_integer(value: &Value) -> Option<i64> {
    if let Some(integer) = value.as_i64() {
        return Some(integer);
    }
    let float = value.as_f64()?;
    // Beyond ±2^53 a float no longer says which integer it is; those are
    // out of every range checked here anyway.
    let in_range = float.fract() == 0.0 && float.abs() < 9_007_199_254_740_992.0;
    in_range.then_some(float as i64)
}

pub(super) fn is_valid_period(seconds: i64) -> bool {
    matches!(seconds, 1 | 5 | 10 | 30) || (seconds >= 60 && seconds % 60 == 0)
}

/// A colour as CloudWatch's console writes it: `#rrggbb` (or short `#rgb`).
pub(super) fn is_hex_color(color: &str) -> bool {
    let Some(digits) = color.strip_prefix('#') else { return false };
    matches!(digits.len(), 3 | 6) && digits.chars().all(|c| c.is_ascii_hexdigit())
}

/// A metric or expression id: a lowercase letter, then letters, digits and
/// underscores.
pub(super) fn is_metric_id(id: &str) -> bool {
    let mut chars = id.chars();
    chars.next().is_some_and(|first| first.is_ascii_lowercase()) && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}
