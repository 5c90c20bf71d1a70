//! The scalar functions the lowered plans call, as DataFusion UDFs.
//!
//! - [`ToNumber`] (`ins_num`) and [`ToText`] (`ins_str`): Insights' loose
//!   typing — a string that reads as a number is one.
//! - [`extract::FieldExtractor`]: discovered fields, one JSON pass per event
//!   for all the names a query uses.
//! - [`parse::ParseRegex`]: `parse` captures, one regex run per event for
//!   all its groups.
//! - [`RowFunction`]: the rest of the function library, evaluated row by
//!   row over [`Val`]s (see `library.rs`). A value of the wrong kind gives
//!   null, never an error: Insights shows the field as empty.

pub(crate) mod extract;
pub(crate) mod library;
pub(crate) mod parse;
pub(crate) mod time;

use std::borrow::Cow;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, BooleanBuilder, Float64Builder, StringBuilder, TimestampMillisecondBuilder};
use arrow::datatypes::{DataType, Float64Type, Int32Type, Int64Type, TimeUnit, TimestampMillisecondType, UInt32Type, UInt64Type};
use datafusion::common::{Result, ScalarValue, exec_err};
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility};

use super::format;

/// The time zone of every timestamp column.
pub(crate) const UTC: &str = "UTC";

pub(crate) fn timestamp_type() -> DataType {
    DataType::Timestamp(TimeUnit::Millisecond, Some(UTC.into()))
}

/// One value of a row, for the row-by-row functions.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Val {
    Null,
    Num(f64),
    Str(String),
    Bool(bool),
    /// Milliseconds since the epoch.
    Time(i64),
}

/// A string that reads as a number (surrounding blanks allowed; no
/// `inf`/`NaN` words).
pub(crate) fn parse_number(text: &str) -> Option<f64> {
    let trimmed = text.trim();
    let first = trimmed.bytes().next()?;
    if !(first.is_ascii_digit() || matches!(first, b'-' | b'+' | b'.')) {
        return None;
    }
    if trimmed.bytes().any(|b| b.is_ascii_alphabetic() && b != b'e' && b != b'E') {
        return None;
    }
    trimmed.parse::<f64>().ok()
}

impl Val {
    pub(crate) fn is_null(&self) -> bool {
        matches!(self, Val::Null)
    }

    pub(crate) fn num(&self) -> Option<f64> {
        match self {
            Val::Num(n) => Some(*n),
            Val::Str(s) => parse_number(s),
            Val::Bool(b) => Some(if *b { 1.0 } else { 0.0 }),
            #[expect(clippy::cast_precision_loss)]
            Val::Time(t) => Some(*t as f64),
            Val::Null => None,
        }
    }

    pub(crate) fn text(&self) -> Option<Cow<'_, str>> {
        match self {
            Val::Str(s) => Some(Cow::Borrowed(s)),
            Val::Num(n) => Some(Cow::Owned(format::number(*n))),
            Val::Bool(b) => Some(Cow::Borrowed(if *b { "1" } else { "0" })),
            Val::Time(t) => Some(Cow::Owned(format::timestamp(*t))),
            Val::Null => None,
        }
    }

    pub(crate) fn truthy(&self) -> Option<bool> {
        match self {
            Val::Bool(b) => Some(*b),
            Val::Num(n) => Some(*n != 0.0),
            Val::Str(s) => Some(match s.trim() {
                "" | "false" | "0" => false,
                other => parse_number(other).is_none_or(|n| n != 0.0),
            }),
            Val::Time(_) => Some(true),
            Val::Null => None,
        }
    }

    pub(crate) fn time(&self) -> Option<i64> {
        match self {
            Val::Time(t) => Some(*t),
            #[expect(clippy::cast_possible_truncation)]
            other => other.num().filter(|n| n.is_finite()).map(|n| n as i64),
        }
    }
}

/// Reads row `row` of `array` as a [`Val`].
pub(crate) fn read(array: &ArrayRef, row: usize) -> Val {
    if row >= array.len() || array.is_null(row) {
        return Val::Null;
    }
    match array.data_type() {
        DataType::Utf8 => Val::Str(array.as_string::<i32>().value(row).to_string()),
        DataType::LargeUtf8 => Val::Str(array.as_string::<i64>().value(row).to_string()),
        DataType::Utf8View => Val::Str(array.as_string_view().value(row).to_string()),
        DataType::Float64 => Val::Num(array.as_primitive::<Float64Type>().value(row)),
        #[expect(clippy::cast_precision_loss)]
        DataType::Int64 => Val::Num(array.as_primitive::<Int64Type>().value(row) as f64),
        DataType::Int32 => Val::Num(f64::from(array.as_primitive::<Int32Type>().value(row))),
        #[expect(clippy::cast_precision_loss)]
        DataType::UInt64 => Val::Num(array.as_primitive::<UInt64Type>().value(row) as f64),
        DataType::UInt32 => Val::Num(f64::from(array.as_primitive::<UInt32Type>().value(row))),
        DataType::Boolean => Val::Bool(array.as_boolean().value(row)),
        DataType::Timestamp(TimeUnit::Millisecond, _) => Val::Time(array.as_primitive::<TimestampMillisecondType>().value(row)),
        _ => format::value(array, row).map_or(Val::Null, Val::Str),
    }
}

/// The kind a function's result has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Out {
    Num,
    Str,
    Bool,
    Time,
    /// The common type of the value arguments (`coalesce`, `if`, `case`),
    /// else a string.
    Common(Values),
}

/// Which arguments are values, for [`Out::Common`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Values {
    All,
    /// `if(c, a, b)`: all but the first.
    AfterFirst,
    /// `case(c1, v1, c2, v2, …, [else])`.
    Case,
}

/// Normalizes a type to the four the engine uses.
pub(crate) fn normal_type(data_type: &DataType) -> Option<DataType> {
    match data_type {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => Some(DataType::Utf8),
        DataType::Float64 | DataType::Float32 | DataType::Int64 | DataType::Int32 | DataType::Int16 | DataType::Int8 | DataType::UInt64 | DataType::UInt32 | DataType::UInt16 | DataType::UInt8 => {
            Some(DataType::Float64)
        }
        DataType::Boolean => Some(DataType::Boolean),
        DataType::Timestamp(_, _) => Some(timestamp_type()),
        DataType::Null => None,
        _ => Some(DataType::Utf8),
    }
}

impl Out {
    pub(crate) fn data_type(self, args: &[DataType]) -> DataType {
        match self {
            Out::Num => DataType::Float64,
            Out::Str => DataType::Utf8,
            Out::Bool => DataType::Boolean,
            Out::Time => timestamp_type(),
            Out::Common(values) => {
                let picked: Vec<&DataType> = args
                    .iter()
                    .enumerate()
                    .filter(|(index, _)| match values {
                        Values::All => true,
                        Values::AfterFirst => *index > 0,
                        Values::Case => index % 2 == 1 || (args.len() % 2 == 1 && index + 1 == args.len()),
                    })
                    .map(|(_, data_type)| data_type)
                    .collect();
                let mut common: Option<DataType> = None;
                for data_type in picked {
                    let Some(normal) = normal_type(data_type) else { continue };
                    match &common {
                        None => common = Some(normal),
                        Some(existing) if *existing == normal => {}
                        Some(_) => return DataType::Utf8,
                    }
                }
                common.unwrap_or(DataType::Utf8)
            }
        }
    }
}

/// Builds an array of `data_type` from row values (a value that does not
/// convert is null).
pub(crate) fn build(data_type: &DataType, values: impl Iterator<Item = Val>, rows: usize) -> ArrayRef {
    match data_type {
        DataType::Float64 => {
            let mut builder = Float64Builder::with_capacity(rows);
            values.for_each(|value| builder.append_option(value.num()));
            Arc::new(builder.finish())
        }
        DataType::Boolean => {
            let mut builder = BooleanBuilder::with_capacity(rows);
            values.for_each(|value| builder.append_option(value.truthy()));
            Arc::new(builder.finish())
        }
        DataType::Timestamp(_, _) => {
            let mut builder = TimestampMillisecondBuilder::with_capacity(rows).with_timezone(UTC);
            values.for_each(|value| builder.append_option(value.time()));
            Arc::new(builder.finish())
        }
        _ => {
            let mut builder = StringBuilder::with_capacity(rows, rows * 8);
            values.for_each(|value| builder.append_option(value.text()));
            Arc::new(builder.finish())
        }
    }
}

/// A function of the library, evaluated row by row. Two are equal when
/// their names are (each name has one evaluator).
#[derive(Debug)]
pub(crate) struct RowFunction {
    name: String,
    signature: Signature,
    out: Out,
    eval: fn(&[Val]) -> Val,
}

impl PartialEq for RowFunction {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.out == other.out
    }
}

impl Eq for RowFunction {}

impl std::hash::Hash for RowFunction {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.name.hash(state);
        self.out.hash(state);
    }
}

impl RowFunction {
    pub(crate) fn udf(name: &str, out: Out, eval: fn(&[Val]) -> Val) -> ScalarUDF {
        ScalarUDF::new_from_impl(RowFunction { name: format!("ins_{name}"), signature: Signature::variadic_any(Volatility::Immutable), out, eval })
    }
}

impl ScalarUDFImpl for RowFunction {
    fn name(&self) -> &str {
        &self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        Ok(self.out.data_type(arg_types))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let all_scalar = args.args.iter().all(|arg| matches!(arg, ColumnarValue::Scalar(_)));
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let out_type = args.return_field.data_type().clone();
        let count = if all_scalar { 1 } else { rows };
        let mut row_values: Vec<Val> = Vec::with_capacity(arrays.len());
        let eval = self.eval;
        let values = (0..count).map(|row| {
            row_values.clear();
            row_values.extend(arrays.iter().map(|array| read(array, if array.len() == 1 { 0 } else { row })));
            eval(&row_values)
        });
        let array = build(&out_type, values, count);
        if all_scalar {
            return Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(&array, 0)?));
        }
        Ok(ColumnarValue::Array(array))
    }
}

/// `ins_num(x)`: a number, or null when `x` does not read as one.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct ToNumber {
    signature: Signature,
}

impl ToNumber {
    pub(crate) fn udf() -> ScalarUDF {
        ScalarUDF::new_from_impl(ToNumber { signature: Signature::any(1, Volatility::Immutable) })
    }
}

impl ScalarUDFImpl for ToNumber {
    fn name(&self) -> &str {
        "ins_num"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Float64)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let Some(arg) = args.args.first() else { return exec_err!("ins_num takes one argument") };
        match arg {
            ColumnarValue::Scalar(scalar) => {
                let array = scalar.to_array_of_size(1)?;
                let number = to_number(&array)?;
                Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(&number, 0)?))
            }
            ColumnarValue::Array(array) => Ok(ColumnarValue::Array(to_number(array)?)),
        }
    }
}

fn to_number(array: &ArrayRef) -> Result<ArrayRef> {
    match array.data_type() {
        DataType::Utf8 => Ok(Arc::new(array.as_string::<i32>().iter().map(|value| value.and_then(parse_number)).collect::<arrow::array::Float64Array>())),
        DataType::Utf8View => Ok(Arc::new(array.as_string_view().iter().map(|value| value.and_then(parse_number)).collect::<arrow::array::Float64Array>())),
        DataType::Float64 => Ok(Arc::clone(array)),
        DataType::Timestamp(_, _) => {
            let millis = arrow::compute::cast(array, &DataType::Int64)?;
            Ok(arrow::compute::cast(&millis, &DataType::Float64)?)
        }
        DataType::Boolean | DataType::Int64 | DataType::Int32 | DataType::UInt64 | DataType::UInt32 | DataType::Null => Ok(arrow::compute::cast(array, &DataType::Float64)?),
        _ => Ok(build(&DataType::Float64, (0..array.len()).map(|row| read(array, row)), array.len())),
    }
}

/// `ins_str(x)`: the value as Insights shows it.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct ToText {
    signature: Signature,
}

impl ToText {
    pub(crate) fn udf() -> ScalarUDF {
        ScalarUDF::new_from_impl(ToText { signature: Signature::any(1, Volatility::Immutable) })
    }
}

impl ScalarUDFImpl for ToText {
    fn name(&self) -> &str {
        "ins_str"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let Some(arg) = args.args.first() else { return exec_err!("ins_str takes one argument") };
        let convert = |array: &ArrayRef| -> ArrayRef {
            if array.data_type() == &DataType::Utf8 {
                return Arc::clone(array);
            }
            let mut builder = StringBuilder::with_capacity(array.len(), array.len() * 8);
            (0..array.len()).for_each(|row| builder.append_option(format::value(array, row)));
            Arc::new(builder.finish())
        };
        match arg {
            ColumnarValue::Scalar(scalar) => Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(&convert(&scalar.to_array_of_size(1)?), 0)?)),
            ColumnarValue::Array(array) => Ok(ColumnarValue::Array(convert(array))),
        }
    }
}

/// A string column as `&StringArray`-like access: Utf8 or Utf8View, any
/// other type formatted to text first.
pub(crate) fn as_utf8(array: &ArrayRef) -> Result<ArrayRef> {
    match array.data_type() {
        DataType::Utf8 => Ok(Arc::clone(array)),
        DataType::Utf8View | DataType::LargeUtf8 => Ok(arrow::compute::cast(array, &DataType::Utf8)?),
        _ => {
            let mut builder = StringBuilder::with_capacity(array.len(), array.len() * 8);
            (0..array.len()).for_each(|row| builder.append_option(format::value(array, row)));
            Ok(Arc::new(builder.finish()))
        }
    }
}

/// Identity of an array's buffers, for the per-batch caches: two calls on
/// the same batch column see the same key. The cache holds the array, so
/// its buffers cannot be freed and their addresses reused while cached.
pub(crate) fn array_key(array: &arrow::array::StringArray) -> (usize, usize, usize) {
    (array.values().as_ptr() as usize, array.value_offsets().as_ptr() as usize, array.len())
}

/// A literal integer argument of a UDF call.
pub(crate) fn literal_index(arg: Option<&ColumnarValue>) -> Result<usize> {
    match arg {
        Some(ColumnarValue::Scalar(ScalarValue::Int64(Some(value)))) => usize::try_from(*value).map_err(|_| datafusion::error::DataFusionError::Execution("negative index".into())),
        _ => exec_err!("expected a literal index argument"),
    }
}
