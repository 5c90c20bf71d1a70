//! `ins_parse(source, i)`: capture group `i` of one `parse` command's
//! regex (a glob is turned into a regex first). The regex runs once per
//! event for all its groups: the first call on a batch column captures
//! every group and caches the columns for the others. A value the regex
//! does not match gives null for every group. With `multi`, each output
//! is the list of that group over every match (unnested by the plan into
//! one row per match).

use std::hash::{Hash, Hasher};
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, ListBuilder, StringBuilder};
use arrow::datatypes::DataType;
use datafusion::common::{Result, ScalarValue, exec_err};
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility};
use regex::Regex;

use super::extract::Cache;
use super::{array_key, as_utf8, literal_index};

#[derive(Debug)]
pub(crate) struct ParseRegex {
    regex: Regex,
    /// The capture group number of each output, in output order.
    groups: Vec<usize>,
    /// `multi`: every match, each output a list (one item per match).
    multi: bool,
    signature: Signature,
    cache: Arc<Cache>,
}

impl ParseRegex {
    /// `groups`: the regex's group numbers, one per output field.
    pub(crate) fn new(regex: Regex, groups: Vec<usize>, multi: bool) -> ParseRegex {
        ParseRegex { regex, groups, multi, signature: Signature::any(2, Volatility::Immutable), cache: Arc::default() }
    }

    fn capture_all(&self, values: &ArrayRef) -> Vec<ArrayRef> {
        let values = values.as_string::<i32>();
        let mut builders: Vec<ListBuilder<StringBuilder>> = self.groups.iter().map(|_| ListBuilder::new(StringBuilder::new())).collect();
        for value in values.iter() {
            if let Some(text) = value {
                for captures in self.regex.captures_iter(text) {
                    for (builder, &group) in builders.iter_mut().zip(&self.groups) {
                        builder.values().append_option(captures.get(group).map(|m| m.as_str()));
                    }
                }
            }
            builders.iter_mut().for_each(|builder| builder.append(true));
        }
        builders.into_iter().map(|mut builder| Arc::new(builder.finish()) as ArrayRef).collect()
    }

    fn capture(&self, values: &ArrayRef) -> Vec<ArrayRef> {
        if self.multi {
            return self.capture_all(values);
        }
        let values = values.as_string::<i32>();
        let mut builders: Vec<StringBuilder> = self.groups.iter().map(|_| StringBuilder::with_capacity(values.len(), 0)).collect();
        let mut locations = self.regex.capture_locations();
        for value in values.iter() {
            let matched = value.and_then(|text| self.regex.captures_read(&mut locations, text).map(|_| text));
            for (builder, &group) in builders.iter_mut().zip(&self.groups) {
                let captured = matched.and_then(|text| locations.get(group).and_then(|(start, end)| text.get(start..end)));
                builder.append_option(captured);
            }
        }
        builders.into_iter().map(|mut builder| Arc::new(builder.finish()) as ArrayRef).collect()
    }
}

impl PartialEq for ParseRegex {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.cache, &other.cache)
    }
}

impl Eq for ParseRegex {}

impl Hash for ParseRegex {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.regex.as_str().hash(state);
        self.groups.hash(state);
        self.multi.hash(state);
    }
}

impl ScalarUDFImpl for ParseRegex {
    fn name(&self) -> &str {
        "ins_parse"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(if self.multi { super::time::list_type() } else { DataType::Utf8 })
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let index = literal_index(args.args.get(1))?;
        let Some(source) = args.args.first() else { return exec_err!("ins_parse takes two arguments") };
        let (array, scalar) = match source {
            ColumnarValue::Array(array) => (as_utf8(array)?, false),
            ColumnarValue::Scalar(value) => (as_utf8(&value.to_array_of_size(1)?)?, true),
        };
        let key = array_key(array.as_string::<i32>());
        let column = match self.cache.get(key, index) {
            Some(column) => column,
            None => {
                let columns = self.capture(&array);
                let column = columns.get(index).cloned();
                self.cache.put(key, Arc::clone(&array), columns);
                match column {
                    Some(column) => column,
                    None => return exec_err!("ins_parse: no group {index}"),
                }
            }
        };
        if scalar {
            return Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(&column, 0)?));
        }
        Ok(ColumnarValue::Array(column))
    }
}
