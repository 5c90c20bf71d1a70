//! Result values as GetQueryResults shows them: every value is a string.
//!
//! - timestamps: `2026-12-02 15:14:00.000` (UTC, milliseconds);
//! - numbers: whole numbers without a fraction (`42`, also for an average
//!   that happens to be whole), others in the shortest form that reads back
//!   to the same double (`2.5`, `0.1`, `1e-7`);
//! - conditions: `1` or `0` (Insights treats conditions as numbers);
//! - strings as they are; a null value is no field at all in the row.

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::datatypes::{
    DataType, Float64Type, Int32Type, Int64Type, TimeUnit, TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType, TimestampSecondType, UInt32Type, UInt64Type,
};

/// `2026-12-02 15:14:00.000` for milliseconds since the epoch (UTC).
pub fn timestamp(millis: i64) -> String {
    let days = millis.div_euclid(86_400_000);
    let in_day = millis.rem_euclid(86_400_000);
    let (year, month, day) = civil_from_days(days);
    let (hour, minute, second, milli) = (in_day / 3_600_000, in_day / 60_000 % 60, in_day / 1000 % 60, in_day % 1000);
    format!("{year:04}-{month:02}-{day:02} {hour:02}:{minute:02}:{second:02}.{milli:03}")
}

/// A number as Insights prints it.
pub fn number(value: f64) -> String {
    if value.is_nan() {
        return "NaN".to_string();
    }
    if value.is_infinite() {
        return if value > 0.0 { "Infinity".to_string() } else { "-Infinity".to_string() };
    }
    if value.fract() == 0.0 && value.abs() < 1e17 {
        // Exact: |value| < 2^63 and whole.
        #[expect(clippy::cast_possible_truncation)]
        let whole = value as i64;
        return whole.to_string();
    }
    format!("{value}")
}

/// The value at `row` of `array`, or `None` when it is null.
pub fn value(array: &ArrayRef, row: usize) -> Option<String> {
    if row >= array.len() || array.is_null(row) {
        return None;
    }
    let text = match array.data_type() {
        DataType::Utf8 => array.as_string::<i32>().value(row).to_string(),
        DataType::LargeUtf8 => array.as_string::<i64>().value(row).to_string(),
        DataType::Utf8View => array.as_string_view().value(row).to_string(),
        DataType::Float64 => number(array.as_primitive::<Float64Type>().value(row)),
        DataType::Int64 => array.as_primitive::<Int64Type>().value(row).to_string(),
        DataType::Int32 => array.as_primitive::<Int32Type>().value(row).to_string(),
        DataType::UInt64 => array.as_primitive::<UInt64Type>().value(row).to_string(),
        DataType::UInt32 => array.as_primitive::<UInt32Type>().value(row).to_string(),
        DataType::Boolean => if array.as_boolean().value(row) { "1" } else { "0" }.to_string(),
        DataType::Timestamp(TimeUnit::Millisecond, _) => timestamp(array.as_primitive::<TimestampMillisecondType>().value(row)),
        DataType::Timestamp(TimeUnit::Second, _) => timestamp(array.as_primitive::<TimestampSecondType>().value(row).saturating_mul(1000)),
        DataType::Timestamp(TimeUnit::Microsecond, _) => timestamp(array.as_primitive::<TimestampMicrosecondType>().value(row).div_euclid(1000)),
        DataType::Timestamp(TimeUnit::Nanosecond, _) => timestamp(array.as_primitive::<TimestampNanosecondType>().value(row).div_euclid(1_000_000)),
        _ => {
            let formatter = arrow::util::display::ArrayFormatter::try_new(array.as_ref(), &Default::default()).ok()?;
            formatter.value(row).to_string()
        }
    };
    Some(text)
}

/// (year, month 1–12, day 1–31) of a day count since 1970-01-01
/// (Howard Hinnant's `civil_from_days`).
pub(crate) fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Days since 1970-01-01 of a civil date (inverse of [`civil_from_days`]).
pub(crate) fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let yoe = year.rem_euclid(400);
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_timestamps_and_numbers() {
        assert_eq!(timestamp(0), "1970-01-01 00:00:00.000");
        assert_eq!(timestamp(1_796_224_440_123), "2026-12-02 15:14:00.123");
        assert_eq!(timestamp(-1), "1969-12-31 23:59:59.999");
        assert_eq!(number(42.0), "42");
        assert_eq!(number(-3.0), "-3");
        assert_eq!(number(2.5), "2.5");
        assert_eq!(number(1.0 / 3.0), "0.3333333333333333");
        for days in [-800_000, -1, 0, 1, 59, 365, 20_000, 2_000_000] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }
}
