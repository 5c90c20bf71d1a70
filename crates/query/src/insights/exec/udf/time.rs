//! `ins_floor(t, amount, unit, offset, ceil)`: `datefloor`, `dateceil` and
//! the calendar units of `bin` (months, quarters, years, counted from
//! 1970-01 — `bin(1q)` starts quarters in January, April, July, October).
//! Fixed units are `t - (t - offset) mod period`; weeks start on Monday.
//! `bin` of fixed units is lowered to DataFusion's `date_bin` instead.
//!
//! `ins_list(x)`: the elements of a list for `unnest` — a JSON array's
//! items (strings as their content, other items as JSON text); any other
//! value is a list of itself.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Int64Builder, ListBuilder, StringBuilder, TimestampMillisecondArray};
use arrow::datatypes::{DataType, Field, TimestampMillisecondType};
use datafusion::common::{Result, ScalarValue, exec_err};
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility};

use super::{UTC, as_utf8, timestamp_type};
use crate::insights::TimeUnit;
use crate::insights::exec::format::{civil_from_days, days_from_civil};

/// Monday, 1970-01-05, in milliseconds: weeks start here.
const MONDAY: i64 = 4 * 86_400_000;

/// The start of the period of `amount` `unit`s holding `t`.
pub(crate) fn floor(t: i64, amount: i64, unit: TimeUnit, offset: i64) -> i64 {
    let amount = amount.max(1);
    let months = match unit {
        TimeUnit::Month => Some(amount),
        TimeUnit::Quarter => Some(amount * 3),
        TimeUnit::Year => Some(amount * 12),
        _ => None,
    };
    if let Some(months) = months {
        let local = t - offset;
        let (year, month, _) = civil_from_days(local.div_euclid(86_400_000));
        let index = (year - 1970) * 12 + (month - 1);
        let start = index - index.rem_euclid(months);
        let (year, month) = (1970 + start.div_euclid(12), start.rem_euclid(12) + 1);
        return days_from_civil(year, month, 1) * 86_400_000 + offset;
    }
    let period = i64::try_from(unit.fixed_millis().unwrap_or(1)).unwrap_or(1).saturating_mul(amount);
    let origin = if unit == TimeUnit::Week { MONDAY + offset } else { offset };
    t - (t - origin).rem_euclid(period)
}

/// The end of that period (`t` itself when it is on a boundary).
pub(crate) fn ceil(t: i64, amount: i64, unit: TimeUnit, offset: i64) -> i64 {
    let start = floor(t, amount, unit, offset);
    if start == t {
        return t;
    }
    // The next boundary: the floor of a time just past this period.
    let mut probe = start;
    let mut step = 86_400_000i64;
    if let Some(millis) = unit.fixed_millis() {
        return start + i64::try_from(millis).unwrap_or(1).saturating_mul(amount.max(1));
    }
    loop {
        probe += step;
        let next = floor(probe, amount, unit, offset);
        if next > start {
            return next;
        }
        step = step.saturating_mul(2);
    }
}

pub(crate) fn unit_code(unit: TimeUnit) -> i64 {
    match unit {
        TimeUnit::Millisecond => 0,
        TimeUnit::Second => 1,
        TimeUnit::Minute => 2,
        TimeUnit::Hour => 3,
        TimeUnit::Day => 4,
        TimeUnit::Week => 5,
        TimeUnit::Month => 6,
        TimeUnit::Quarter => 7,
        TimeUnit::Year => 8,
    }
}

fn unit_of(code: i64) -> Option<TimeUnit> {
    Some(match code {
        0 => TimeUnit::Millisecond,
        1 => TimeUnit::Second,
        2 => TimeUnit::Minute,
        3 => TimeUnit::Hour,
        4 => TimeUnit::Day,
        5 => TimeUnit::Week,
        6 => TimeUnit::Month,
        7 => TimeUnit::Quarter,
        8 => TimeUnit::Year,
        _ => return None,
    })
}

#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct Floor {
    signature: Signature,
}

impl Floor {
    pub(crate) fn udf() -> ScalarUDF {
        ScalarUDF::new_from_impl(Floor { signature: Signature::any(5, Volatility::Immutable) })
    }
}

fn int_arg(arg: Option<&ColumnarValue>) -> Result<i64> {
    match arg {
        Some(ColumnarValue::Scalar(ScalarValue::Int64(Some(value)))) => Ok(*value),
        Some(ColumnarValue::Scalar(ScalarValue::Boolean(Some(value)))) => Ok(i64::from(*value)),
        _ => exec_err!("ins_floor: expected literal arguments"),
    }
}

impl ScalarUDFImpl for Floor {
    fn name(&self) -> &str {
        "ins_floor"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(timestamp_type())
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let amount = int_arg(args.args.get(1))?;
        let Some(unit) = unit_of(int_arg(args.args.get(2))?) else { return exec_err!("ins_floor: bad unit") };
        let offset = int_arg(args.args.get(3))?;
        let up = int_arg(args.args.get(4))? != 0;
        let Some(source) = args.args.first() else { return exec_err!("ins_floor: no timestamp") };
        let convert = |array: &ArrayRef| -> Result<ArrayRef> {
            let millis = match array.data_type() {
                DataType::Timestamp(_, _) => arrow::compute::cast(array, &timestamp_type())?,
                _ => {
                    let numbers = super::build(&timestamp_type(), (0..array.len()).map(|row| super::read(array, row)), array.len());
                    arrow::compute::cast(&numbers, &timestamp_type())?
                }
            };
            let values = millis.as_primitive::<TimestampMillisecondType>();
            let out: TimestampMillisecondArray = values.iter().map(|value| value.map(|t| if up { ceil(t, amount, unit, offset) } else { floor(t, amount, unit, offset) })).collect();
            Ok(Arc::new(out.with_timezone(UTC)))
        };
        match source {
            ColumnarValue::Scalar(value) => Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(&convert(&value.to_array_of_size(1)?)?, 0)?)),
            ColumnarValue::Array(array) => Ok(ColumnarValue::Array(convert(array)?)),
        }
    }
}

#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct ListItems {
    signature: Signature,
}

impl ListItems {
    pub(crate) fn udf() -> ScalarUDF {
        ScalarUDF::new_from_impl(ListItems { signature: Signature::any(1, Volatility::Immutable) })
    }
}

pub(crate) fn list_type() -> DataType {
    DataType::List(Arc::new(Field::new("item", DataType::Utf8, true)))
}

impl ScalarUDFImpl for ListItems {
    fn name(&self) -> &str {
        "ins_list"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(list_type())
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let Some(source) = args.args.first() else { return exec_err!("ins_list: no argument") };
        let array = match source {
            ColumnarValue::Scalar(value) => value.to_array_of_size(args.number_rows)?,
            ColumnarValue::Array(array) => Arc::clone(array),
        };
        let texts = as_utf8(&array)?;
        let texts = texts.as_string::<i32>();
        let mut builder = ListBuilder::new(StringBuilder::new());
        for text in texts.iter() {
            match text {
                None => builder.append_null(),
                Some(text) => {
                    match serde_json::from_str::<serde_json::Value>(text) {
                        Ok(serde_json::Value::Array(items)) => {
                            for item in items {
                                match item {
                                    serde_json::Value::Null => builder.values().append_null(),
                                    serde_json::Value::String(s) => builder.values().append_value(s),
                                    other => builder.values().append_value(other.to_string()),
                                }
                            }
                        }
                        _ => builder.values().append_value(text),
                    }
                    builder.append(true);
                }
            }
        }
        Ok(ColumnarValue::Array(Arc::new(builder.finish())))
    }
}

/// `ins_ordinals(list)`: `[0, 1, …]` as long as `list`, unnested beside it
/// so that rows keep the order of the items.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct Ordinals {
    signature: Signature,
}

impl Ordinals {
    pub(crate) fn udf() -> ScalarUDF {
        ScalarUDF::new_from_impl(Ordinals { signature: Signature::any(1, Volatility::Immutable) })
    }
}

impl ScalarUDFImpl for Ordinals {
    fn name(&self) -> &str {
        "ins_ordinals"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::List(Arc::new(Field::new("item", DataType::Int64, true))))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let Some(source) = args.args.first() else { return exec_err!("ins_ordinals: no argument") };
        let array = match source {
            ColumnarValue::Scalar(value) => value.to_array_of_size(args.number_rows)?,
            ColumnarValue::Array(array) => Arc::clone(array),
        };
        let Some(lists) = array.as_list_opt::<i32>() else { return exec_err!("ins_ordinals: not a list") };
        let mut builder = ListBuilder::new(Int64Builder::new());
        for row in 0..lists.len() {
            if lists.is_null(row) {
                builder.append_null();
                continue;
            }
            let length = lists.value_length(row);
            for ordinal in 0..i64::from(length) {
                builder.values().append_value(ordinal);
            }
            builder.append(true);
        }
        Ok(ColumnarValue::Array(Arc::new(builder.finish())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 3_600_000;

    #[test]
    fn floors_and_ceils() {
        // 2026-12-02 15:14:00.000
        let t = 1_796_224_440_000;
        assert_eq!(floor(t, 5, TimeUnit::Minute, 0), t - 4 * 60_000);
        assert_eq!(floor(t, 1, TimeUnit::Hour, 0), t - 14 * 60_000);
        assert_eq!(ceil(t, 1, TimeUnit::Hour, 0), t + 46 * 60_000);
        assert_eq!(ceil(t - 14 * 60_000, 1, TimeUnit::Hour, 0), t - 14 * 60_000);
        // 2026-12-01 and 2026-10-01, 2026-01-01.
        let december = days_from_civil(2026, 12, 1) * 86_400_000;
        assert_eq!(floor(t, 1, TimeUnit::Month, 0), december);
        assert_eq!(floor(t, 1, TimeUnit::Quarter, 0), days_from_civil(2026, 10, 1) * 86_400_000);
        assert_eq!(floor(t, 1, TimeUnit::Year, 0), days_from_civil(2026, 1, 1) * 86_400_000);
        assert_eq!(ceil(t, 1, TimeUnit::Month, 0), days_from_civil(2027, 1, 1) * 86_400_000);
        // 2026-11-30 was a Monday.
        assert_eq!(floor(t, 1, TimeUnit::Week, 0), days_from_civil(2026, 11, 30) * 86_400_000);
        assert_eq!(floor(t, 1, TimeUnit::Day, HOUR), days_from_civil(2026, 12, 2) * 86_400_000 + HOUR);
    }
}
