//! `ins_field(message, i)`: discovered field number `i` of the query.
//!
//! One extractor serves a query: it knows every discovered name the query
//! uses. The first call on a batch column parses each message once for all
//! names and caches the columns; the calls for the other names on the same
//! column are then lookups. Each call is correct on its own, so the
//! optimizer may move, merge or duplicate them freely.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};

use arrow::array::{Array, ArrayRef, AsArray, StringBuilder};
use arrow::datatypes::DataType;
use datafusion::common::{Result, ScalarValue, exec_err};
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility};

use super::{array_key, as_utf8, literal_index};
use crate::insights::exec::fields;

/// Batches kept per query (two partitions, a filter and a projection each).
const CACHE_ENTRIES: usize = 8;

struct Entry {
    key: (usize, usize, usize),
    _source: ArrayRef,
    columns: Vec<ArrayRef>,
}

#[derive(Default)]
pub(crate) struct Cache {
    entries: Mutex<VecDeque<Entry>>,
}

impl Cache {
    pub(crate) fn get(&self, key: (usize, usize, usize), index: usize) -> Option<ArrayRef> {
        let entries = self.entries.lock().ok()?;
        entries.iter().find(|entry| entry.key == key).and_then(|entry| entry.columns.get(index).cloned())
    }

    pub(crate) fn put(&self, key: (usize, usize, usize), source: ArrayRef, columns: Vec<ArrayRef>) {
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= CACHE_ENTRIES {
                entries.pop_front();
            }
            entries.push_back(Entry { key, _source: source, columns });
        }
    }
}

impl std::fmt::Debug for Cache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Cache")
    }
}

#[derive(Debug)]
pub(crate) struct FieldExtractor {
    /// Flattened names (`a.b.0.c`), filled while the query is lowered.
    names: Arc<Mutex<Vec<String>>>,
    signature: Signature,
    cache: Arc<Cache>,
}

impl FieldExtractor {
    pub(crate) fn new(names: Arc<Mutex<Vec<String>>>) -> FieldExtractor {
        FieldExtractor { names, signature: Signature::any(2, Volatility::Immutable), cache: Arc::default() }
    }

    fn names(&self) -> Vec<String> {
        self.names.lock().map(|names| names.clone()).unwrap_or_default()
    }

    fn extract(&self, messages: &ArrayRef, names: &[String]) -> Result<Vec<ArrayRef>> {
        let messages = messages.as_string::<i32>();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        let mut builders: Vec<StringBuilder> = names.iter().map(|_| StringBuilder::with_capacity(messages.len(), 0)).collect();
        let mut found: Vec<Option<Cow<'_, str>>> = vec![None; names.len()];
        for message in messages.iter() {
            match message {
                Some(message) if fields::looks_like_json(message) => {
                    fields::lookup(message, &names, &mut found);
                    for (builder, value) in builders.iter_mut().zip(found.iter()) {
                        builder.append_option(value.as_deref());
                    }
                }
                _ => builders.iter_mut().for_each(StringBuilder::append_null),
            }
        }
        Ok(builders.into_iter().map(|mut builder| Arc::new(builder.finish()) as ArrayRef).collect())
    }
}

impl PartialEq for FieldExtractor {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.cache, &other.cache)
    }
}

impl Eq for FieldExtractor {}

impl Hash for FieldExtractor {
    fn hash<H: Hasher>(&self, state: &mut H) {
        "ins_field".hash(state);
    }
}

impl ScalarUDFImpl for FieldExtractor {
    fn name(&self) -> &str {
        "ins_field"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let index = literal_index(args.args.get(1))?;
        let names = self.names();
        if index >= names.len() {
            return exec_err!("ins_field: no field {index}");
        }
        let Some(source) = args.args.first() else { return exec_err!("ins_field takes two arguments") };
        let (array, scalar) = match source {
            ColumnarValue::Array(array) => (as_utf8(array)?, false),
            ColumnarValue::Scalar(value) => (as_utf8(&value.to_array_of_size(1)?)?, true),
        };
        let key = array_key(array.as_string::<i32>());
        let column = match self.cache.get(key, index) {
            Some(column) => column,
            None => {
                let columns = self.extract(&array, &names)?;
                let column = columns.get(index).cloned();
                self.cache.put(key, Arc::clone(&array), columns);
                match column {
                    Some(column) => column,
                    None => return exec_err!("ins_field: no field {index}"),
                }
            }
        };
        if scalar {
            return Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(&column, 0)?));
        }
        Ok(ColumnarValue::Array(column))
    }
}
