//! Conversions between wire scalars and the canonical value handlers see
//! (see the crate docs): timestamps as epoch seconds, blobs as base64 text,
//! non-finite doubles as the strings `"NaN"`, `"Infinity"`, `"-Infinity"`
//! (what awsJson clients send, since JSON has no such numbers).
//!
//! Everything here is total: bad input gives `None`, never a panic.

use base64::Engine;
use base64::engine::general_purpose::{GeneralPurpose, PAD_INDIFFERENT};
use serde_json::{Number, Value};

/// Standard base64, accepting input with or without padding.
pub(crate) const BASE64: GeneralPurpose =
    GeneralPurpose::new(&base64::alphabet::STANDARD, PAD_INDIFFERENT);

/// Decodes base64 text (padded or not).
pub(crate) fn decode_base64(text: &str) -> Option<Vec<u8>> {
    BASE64.decode(text.trim()).ok()
}

/// Encodes bytes as padded standard base64.
pub(crate) fn encode_base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The canonical form of epoch seconds: an integer when whole, else a float
/// (millisecond precision is what every protocol carries).
pub(crate) fn seconds_value(seconds: f64) -> Option<Value> {
    if !seconds.is_finite() {
        return None;
    }
    if seconds.fract() == 0.0 && seconds.abs() < 9.0e15 {
        // Whole and well inside i64: exact.
        #[allow(clippy::cast_possible_truncation)]
        return Some(Value::from(seconds as i64));
    }
    Number::from_f64(seconds).map(Value::Number)
}

/// Reads a canonical timestamp: epoch seconds as a number, or (leniently,
/// for handler output) an ISO 8601 / RFC 3339 string.
pub(crate) fn value_seconds(value: &Value) -> Option<f64> {
    match value {
        Value::Number(number) => number.as_f64(),
        Value::String(text) => parse_timestamp_text(text),
        _ => None,
    }
}

/// Parses a timestamp written as text: ISO 8601 (with or without a zone
/// offset; none means UTC) or epoch seconds.
pub(crate) fn parse_timestamp_text(text: &str) -> Option<f64> {
    let text = text.trim();
    if let Ok(seconds) = text.parse::<f64>() {
        return seconds.is_finite().then_some(seconds);
    }
    if let Ok(timestamp) = text.parse::<jiff::Timestamp>() {
        return Some(timestamp_seconds(timestamp));
    }
    let civil = text.parse::<jiff::civil::DateTime>().ok()?;
    let zoned = civil.to_zoned(jiff::tz::TimeZone::UTC).ok()?;
    Some(timestamp_seconds(zoned.timestamp()))
}

fn timestamp_seconds(timestamp: jiff::Timestamp) -> f64 {
    // Milliseconds are what AWS keeps; rounding there avoids 0.1229999 noise.
    #[allow(clippy::cast_precision_loss)]
    let millis = timestamp.as_millisecond() as f64;
    millis / 1000.0
}

/// Formats epoch seconds as AWS's ISO 8601 form with milliseconds,
/// `2024-01-02T03:04:05.678Z`.
pub(crate) fn format_iso8601(seconds: f64) -> Option<String> {
    if !seconds.is_finite() {
        return None;
    }
    #[allow(clippy::cast_possible_truncation)]
    let millis = (seconds * 1000.0).round() as i64;
    let timestamp = jiff::Timestamp::from_millisecond(millis).ok()?;
    // Built from the civil fields (not strftime, whose Display can fail).
    let civil = timestamp.to_zoned(jiff::tz::TimeZone::UTC).datetime();
    Some(format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        civil.year(),
        civil.month(),
        civil.day(),
        civil.hour(),
        civil.minute(),
        civil.second(),
        civil.subsec_nanosecond() / 1_000_000
    ))
}

/// The special double spellings clients use where JSON has no number.
pub(crate) fn special_float(text: &str) -> Option<f64> {
    match text {
        "NaN" => Some(f64::NAN),
        "Infinity" => Some(f64::INFINITY),
        "-Infinity" => Some(f64::NEG_INFINITY),
        _ => None,
    }
}

/// The canonical value of a double: a number, or the special spelling.
pub(crate) fn float_value(float: f64) -> Value {
    if float.is_nan() {
        Value::from("NaN")
    } else if float == f64::INFINITY {
        Value::from("Infinity")
    } else if float == f64::NEG_INFINITY {
        Value::from("-Infinity")
    } else {
        Number::from_f64(float).map_or(Value::Null, Value::Number)
    }
}

/// Reads a canonical double (number or special spelling).
pub(crate) fn value_f64(value: &Value) -> Option<f64> {
    match value {
        Value::Number(number) => number.as_f64(),
        Value::String(text) => special_float(text),
        _ => None,
    }
}

/// Reads a canonical integer; whole floats count (`5.0` is 5).
pub(crate) fn value_i64(value: &Value) -> Option<i64> {
    let Value::Number(number) = value else {
        return None;
    };
    if let Some(integer) = number.as_i64() {
        return Some(integer);
    }
    let float = number.as_f64()?;
    whole_f64_to_i64(float)
}

/// A float that is a whole number inside i64's range, as an integer.
pub(crate) fn whole_f64_to_i64(float: f64) -> Option<i64> {
    // 2^63 is exactly representable; anything at or above it overflows.
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    if !float.is_finite() || float.fract() != 0.0 || !(-LIMIT..LIMIT).contains(&float) {
        return None;
    }
    #[allow(clippy::cast_possible_truncation)]
    Some(float as i64)
}

/// Formats a double the way AWS's XML does (`41.0`, `0.5`, `1.0E10` is
/// written `10000000000.0`): always with a fractional part when whole.
pub(crate) fn format_double(float: f64) -> String {
    if float.is_nan() {
        return "NaN".to_owned();
    }
    if float.is_infinite() {
        return if float > 0.0 {
            "Infinity".to_owned()
        } else {
            "-Infinity".to_owned()
        };
    }
    // Debug formatting is the shortest round-trip form and keeps ".0".
    format!("{float:?}")
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_parse_in_the_forms_clients_send() {
        assert_eq!(
            parse_timestamp_text("2024-01-02T03:04:05Z"),
            Some(1_704_164_645.0)
        );
        assert_eq!(
            parse_timestamp_text("2024-01-02T03:04:05.123456Z"),
            Some(1_704_164_645.123)
        );
        assert_eq!(
            parse_timestamp_text("2024-01-02T04:04:05+01:00"),
            Some(1_704_164_645.0)
        );
        assert_eq!(
            parse_timestamp_text("2024-01-02T03:04:05"),
            Some(1_704_164_645.0)
        );
        assert_eq!(parse_timestamp_text("1704164645"), Some(1_704_164_645.0));
        assert_eq!(parse_timestamp_text("yesterday"), None);
        assert_eq!(parse_timestamp_text("NaN"), None);
        assert_eq!(parse_timestamp_text("99999-01-01T00:00:00Z"), None);
    }

    #[test]
    fn timestamps_format_with_milliseconds() {
        assert_eq!(
            format_iso8601(1_704_164_645.0).as_deref(),
            Some("2024-01-02T03:04:05.000Z")
        );
        assert_eq!(
            format_iso8601(1_704_164_645.5).as_deref(),
            Some("2024-01-02T03:04:05.500Z")
        );
        assert_eq!(
            format_iso8601(-0.25).as_deref(),
            Some("1969-12-31T23:59:59.750Z")
        );
        assert_eq!(format_iso8601(f64::NAN), None);
        assert_eq!(format_iso8601(1e300), None);
    }

    #[test]
    fn seconds_are_integers_when_whole() {
        assert_eq!(seconds_value(5.0), Some(Value::from(5)));
        assert_eq!(seconds_value(5.5), Some(Value::from(5.5)));
        assert_eq!(seconds_value(f64::INFINITY), None);
    }

    #[test]
    fn doubles_keep_their_special_spellings() {
        assert_eq!(float_value(f64::NAN), Value::from("NaN"));
        assert_eq!(
            value_f64(&Value::from("-Infinity")),
            Some(f64::NEG_INFINITY)
        );
        assert_eq!(format_double(41.0), "41.0");
        assert_eq!(format_double(0.1), "0.1");
        assert_eq!(whole_f64_to_i64(9.3e18), None);
        assert_eq!(whole_f64_to_i64(-3.0), Some(-3));
    }

    #[test]
    fn base64_accepts_missing_padding() {
        assert_eq!(decode_base64("aGk="), Some(b"hi".to_vec()));
        assert_eq!(decode_base64("aGk"), Some(b"hi".to_vec()));
        assert_eq!(decode_base64("not base64!"), None);
        assert_eq!(encode_base64(b"hi"), "aGk=");
    }
}
