//! Comparisons shared by JSON and space-delimited patterns: the right-hand
//! side of `=`, `!=`, `<`, `<=`, `>`, `>=` and how it is tested against one
//! value of the event.
//!
//! Rules (AWS "Filter and Pattern Syntax", JSON and space-delimited sections):
//! * A number on the right (`400`, `-1.5`, `+1000`, `10e-3`) compares
//!   numerically with a JSON number or with text that is itself a number
//!   (space-delimited fields are always text; `"latency": "12"` counts too).
//!   `=` is false and `!=` true when the value is not a number.
//! * Any other right-hand side is text: `=`/`!=` only; a `*` at the start
//!   and/or end is a wildcard (`*Event`, `Event*`, `*html*`, `123.123.*`,
//!   `*` alone matches any value); a `*` in the middle is a literal character
//!   (AWS: "`Ev*ent` will only match the actual string `Ev*ent`"). Text
//!   compares with a JSON number's text as written and with `true`, `false`,
//!   `null` for those literals.
//! * A `%regex%` on the right: `=` is a search of the value's text, `!=` its negation.

use std::borrow::Cow;

use super::regexp::FilterRegex;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Comparison {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Comparison {
    pub(crate) fn is_ordering(self) -> bool {
        matches!(self, Comparison::Lt | Comparison::Le | Comparison::Gt | Comparison::Ge)
    }

    pub(crate) fn symbol(self) -> &'static str {
        match self {
            Comparison::Eq => "=",
            Comparison::Ne => "!=",
            Comparison::Lt => "<",
            Comparison::Le => "<=",
            Comparison::Gt => ">",
            Comparison::Ge => ">=",
        }
    }
}

/// Text with optional `*` wildcards at its ends.
#[derive(Debug, Clone)]
pub(crate) struct TextPattern {
    core: String,
    any_prefix: bool,
    any_suffix: bool,
}

impl TextPattern {
    pub(crate) fn new(text: &str) -> TextPattern {
        let mut core = text;
        let any_prefix = core.starts_with('*');
        if any_prefix {
            core = &core[1..];
        }
        let any_suffix = core.ends_with('*');
        if any_suffix {
            core = &core[..core.len() - 1];
        }
        TextPattern { core: core.to_string(), any_prefix, any_suffix }
    }

    pub(crate) fn matches(&self, text: &str) -> bool {
        let core = self.core.as_str();
        match (self.any_prefix, self.any_suffix) {
            (false, false) => text == core,
            (false, true) => text.starts_with(core),
            (true, false) => text.ends_with(core),
            (true, true) => text.contains(core),
        }
    }

    /// The text without its wildcards, and whether it must equal the whole value.
    pub(crate) fn core(&self) -> (&str, bool) {
        (&self.core, !self.any_prefix && !self.any_suffix)
    }
}

/// The right-hand side of a comparison.
#[derive(Debug, Clone)]
pub(crate) enum Operand {
    Number(f64),
    Text(TextPattern),
    Regex(FilterRegex),
}

/// One value of an event, as the comparison sees it.
#[derive(Debug, Clone)]
pub(crate) enum Scalar<'a> {
    /// JSON string content (unescaped) or a space-delimited field.
    Text(Cow<'a, str>),
    /// A JSON number, as written.
    Number(&'a str),
    Bool(bool),
    Null,
}

impl Scalar<'_> {
    fn text(&self) -> &str {
        match self {
            Scalar::Text(text) => text,
            Scalar::Number(text) => text,
            Scalar::Bool(true) => "true",
            Scalar::Bool(false) => "false",
            Scalar::Null => "null",
        }
    }

    fn number(&self) -> Option<f64> {
        match self {
            Scalar::Number(text) => fast_decimal(text).or_else(|| text.parse().ok()),
            Scalar::Text(text) => parse_number(text),
            Scalar::Bool(_) | Scalar::Null => None,
        }
    }
}

/// Whether `value <comparison> operand` holds. Ordering comparisons only
/// reach here with a numeric operand (the parser refuses the rest).
pub(crate) fn compare(comparison: Comparison, operand: &Operand, value: &Scalar<'_>) -> bool {
    match operand {
        Operand::Number(expected) => match value.number() {
            Some(actual) => match comparison {
                Comparison::Eq => actual == *expected,
                Comparison::Ne => actual != *expected,
                Comparison::Lt => actual < *expected,
                Comparison::Le => actual <= *expected,
                Comparison::Gt => actual > *expected,
                Comparison::Ge => actual >= *expected,
            },
            None => comparison == Comparison::Ne,
        },
        Operand::Text(pattern) => match comparison {
            Comparison::Eq => pattern.matches(value.text()),
            Comparison::Ne => !pattern.matches(value.text()),
            _ => false,
        },
        Operand::Regex(regex) => match comparison {
            Comparison::Eq => regex.is_match(value.text()),
            Comparison::Ne => !regex.is_match(value.text()),
            _ => false,
        },
    }
}

/// Exact powers of ten an f64 holds without rounding.
const POWERS_OF_TEN: [f64; 16] = [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15];

/// The common case of a short plain decimal (`200`, `-1234.5`) without the
/// general float parser: at most 15 significant digits make the mantissa
/// exact, and dividing by an exact power of ten rounds once, so the result
/// equals `str::parse`'s. Anything else returns `None`.
fn fast_decimal(text: &str) -> Option<f64> {
    let (negative, digits) = match text.as_bytes().split_first()? {
        (b'-', rest) => (true, rest),
        _ => (false, text.as_bytes()),
    };
    if digits.is_empty() || digits.len() > 16 {
        return None;
    }
    let mut mantissa: u64 = 0;
    let mut fraction_digits = None;
    let mut significant = 0;
    for (index, &byte) in digits.iter().enumerate() {
        match byte {
            b'0'..=b'9' => {
                mantissa = mantissa * 10 + u64::from(byte - b'0');
                significant += 1;
                if let Some(count) = fraction_digits.as_mut() {
                    *count += 1;
                }
            }
            b'.' if fraction_digits.is_none() && index > 0 && index + 1 < digits.len() => fraction_digits = Some(0),
            _ => return None,
        }
    }
    if significant > 15 {
        return None;
    }
    let scale = POWERS_OF_TEN.get(fraction_digits.unwrap_or(0))?;
    let magnitude = mantissa as f64 / scale;
    Some(if negative { -magnitude } else { magnitude })
}

/// Parses AWS's number grammar: an optional sign, digits with an optional
/// decimal part (or a leading `.`), an optional exponent. Rejects everything
/// else Rust's float parser would accept (`inf`, `NaN`, hex, blanks).
pub(crate) fn parse_number(text: &str) -> Option<f64> {
    let bytes = text.as_bytes();
    let mut at = 0;
    if matches!(bytes.first(), Some(b'+' | b'-')) {
        at += 1;
    }
    let integer_start = at;
    while bytes.get(at).is_some_and(u8::is_ascii_digit) {
        at += 1;
    }
    let mut digits = at - integer_start;
    if bytes.get(at) == Some(&b'.') {
        at += 1;
        let fraction_start = at;
        while bytes.get(at).is_some_and(u8::is_ascii_digit) {
            at += 1;
        }
        digits += at - fraction_start;
    }
    if digits == 0 {
        return None;
    }
    if matches!(bytes.get(at), Some(b'e' | b'E')) {
        at += 1;
        if matches!(bytes.get(at), Some(b'+' | b'-')) {
            at += 1;
        }
        let exponent_start = at;
        while bytes.get(at).is_some_and(u8::is_ascii_digit) {
            at += 1;
        }
        if at == exponent_start {
            return None;
        }
    }
    if at != bytes.len() {
        return None;
    }
    text.strip_prefix('+').unwrap_or(text).parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_grammar_is_awss_not_rusts() {
        for (text, expected) in [("400", 400.0), ("+1000", 1000.0), ("-1.5", -1.5), ("10e3", 10e3), ("10e-3", 10e-3), ("55.", 55.0), (".5", 0.5)] {
            assert_eq!(parse_number(text), Some(expected), "{text}");
        }
        for text in ["", "+", "-", ".", "e3", "1e", "inf", "NaN", "0x10", " 1", "1 ", "1_000", "1.2.3"] {
            assert_eq!(parse_number(text), None, "{text}");
        }
    }

    #[test]
    fn fast_decimal_agrees_with_the_float_parser() {
        for text in ["0", "200", "-1", "1234.5", "0.1", "0.3", "-0.75", "999999999999999", "123456.789012345", "7.0"] {
            assert_eq!(fast_decimal(text), Some(text.parse::<f64>().expect("float")), "{text}");
        }
        for text in ["", "-", "1.", ".5", "1e3", "1234567890123456", "1.000000000000001", "1.2.3", "+1", "0x1"] {
            assert_eq!(fast_decimal(text), None, "{text}");
        }
    }

    #[test]
    fn wildcards_only_at_the_ends() {
        assert!(TextPattern::new("*Event").matches("PutEvent"));
        assert!(TextPattern::new("Event*").matches("EventName"));
        assert!(!TextPattern::new("Ev*ent").matches("Event"));
        assert!(TextPattern::new("Ev*ent").matches("Ev*ent"));
        assert!(TextPattern::new("*").matches(""));
        assert!(TextPattern::new("*html*").matches("GET /index.html HTTP/1.0"));
    }
}
