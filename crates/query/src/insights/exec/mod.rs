//! Logs Insights execution: a parsed [`Query`] lowered onto Apache
//! DataFusion and run over the caller's table of log events.
//!
//! The table ([`TableProvider`]) has the log segment schema plus the group:
//! `timestamp`, `ingestion_time` (`Timestamp(ms, "UTC")`), `event_id`,
//! `stream_id` (`UInt64`), `log_stream`, `message`, `log` (`Utf8`; `log` is
//! `@log`, `account:group`). [`run`] filters it to the query's time range
//! (offered to the provider, which may prune), runs the commands, and
//! returns rows of `(field, value)` strings as GetQueryResults shows them,
//! with statistics. Semantics and choices: `README.md` beside `mod.rs` of
//! `insights`, section "Execution".
//!
//! | file | what |
//! |---|---|
//! | `lower.rs` | commands and expressions → DataFusion plan |
//! | `udf/` | loose typing, discovered fields, `parse`, the function library |
//! | `fields.rs` | JSON discovered fields (streaming lookup, flattening) |
//! | `scan.rs` | counting, cancellable wrapper of the caller's table |
//! | `format.rs` | values as result strings |
//! | `ptr.rs` | `@ptr` encoding |

pub mod format;
pub mod ptr;

mod fields;
mod lower;
mod scan;
mod udf;

#[cfg(test)]
mod tests;

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use arrow::datatypes::{TimestampMillisecondType, UInt64Type};
use datafusion::catalog::TableProvider;
use datafusion::error::DataFusionError;
use datafusion::execution::disk_manager::{DiskManagerBuilder, DiskManagerMode};
use datafusion::execution::memory_pool::GreedyMemoryPool;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::physical_plan::{ExecutionPlan, execute_stream};
use datafusion::prelude::{SessionConfig, SessionContext};
use futures::StreamExt as _;

use super::Query;

/// The discovered fields of an event's message (flattened JSON names and
/// their values, as rows and GetLogRecord show them); none for a message
/// that is not one JSON object.
pub fn discovered_fields(message: &str) -> Vec<(String, String)> {
    fields::flatten(message)
}

/// StartQuery's default `limit`.
pub const DEFAULT_LIMIT: usize = 10_000;
/// StartQuery's largest `limit` (botocore's model).
pub const MAX_RESULT_LIMIT: usize = 100_000;
/// The memory a query may use by default.
pub const DEFAULT_MEMORY_LIMIT: usize = 512 * 1024 * 1024;

const CANCELLED: &str = "the query was cancelled";

/// How to run a query.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The time range, milliseconds since the epoch, both ends included.
    pub start_time: i64,
    pub end_time: i64,
    /// Result rows at most (StartQuery's `limit`); a `limit` command in the
    /// query applies too (the smaller wins).
    pub limit: usize,
    /// Bytes of memory the query's operators may hold (sorts, groups); past
    /// it the query fails with [`ExecError::TooMuchMemory`].
    pub memory_limit: usize,
    /// Threads of work (DataFusion partitions).
    pub target_partitions: usize,
    /// Set to stop the query: it ends with [`ExecError::Cancelled`] at the
    /// next batch. Dropping the future of [`run`] stops it too.
    pub cancel: Option<Arc<AtomicBool>>,
    /// "Now" for `now()`, milliseconds since the epoch.
    pub now_ms: i64,
}

impl RunOptions {
    pub fn new(start_time: i64, end_time: i64) -> RunOptions {
        let now_ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |elapsed| i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX));
        RunOptions { start_time, end_time, limit: DEFAULT_LIMIT, memory_limit: DEFAULT_MEMORY_LIMIT, target_partitions: 2, cancel: None, now_ms }
    }
}

/// GetQueryResults' statistics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Statistics {
    /// Events that passed the query's filters (before `stats`).
    pub records_matched: u64,
    /// Events of the time range read from the table.
    pub records_scanned: u64,
    /// Bytes of their messages (counted when the query reads messages).
    pub bytes_scanned: u64,
}

/// One result row: `(field, value)` in Insights' order; a field without a
/// value is left out.
pub type ResultRow = Vec<(String, String)>;

#[derive(Debug, Clone, Default)]
pub struct QueryOutput {
    pub rows: Vec<ResultRow>,
    pub statistics: Statistics,
}

#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    /// A command, mode or function Argus does not run yet.
    #[error("not supported: {0}")]
    Unsupported(String),
    /// A query the engine cannot run as written.
    #[error("invalid query: {0}")]
    Invalid(String),
    #[error("the query used too much memory (more than {limit} bytes); narrow the time range or the groups")]
    TooMuchMemory { limit: usize },
    #[error("{CANCELLED}")]
    Cancelled,
    #[error("internal error: {0}")]
    Internal(String),
    #[error("query failed: {0}")]
    DataFusion(DataFusionError),
}

impl From<DataFusionError> for ExecError {
    fn from(error: DataFusionError) -> ExecError {
        ExecError::DataFusion(error)
    }
}

fn classify(error: DataFusionError, options: &RunOptions) -> ExecError {
    let root = error.find_root();
    match root {
        DataFusionError::ResourcesExhausted(_) => ExecError::TooMuchMemory { limit: options.memory_limit },
        DataFusionError::Execution(message) if message == CANCELLED => ExecError::Cancelled,
        _ => ExecError::DataFusion(error),
    }
}

/// Runs `query` over `table` (see the module documentation).
pub async fn run(query: &Query, table: Arc<dyn TableProvider>, options: &RunOptions) -> Result<QueryOutput, ExecError> {
    if options.limit == 0 || options.limit > MAX_RESULT_LIMIT {
        return Err(ExecError::Invalid(format!("limit must be from 1 to {MAX_RESULT_LIMIT}")));
    }
    if options.end_time < options.start_time {
        return Err(ExecError::Invalid("the end time is before the start time".into()));
    }
    let runtime = RuntimeEnvBuilder::new()
        .with_memory_pool(Arc::new(GreedyMemoryPool::new(options.memory_limit)))
        .with_disk_manager_builder(DiskManagerBuilder::default().with_mode(DiskManagerMode::Disabled))
        .build_arc()?;
    let config = SessionConfig::new().with_target_partitions(options.target_partitions.max(1)).with_information_schema(false);
    let ctx = SessionContext::new_with_config_rt(config, runtime);
    let counters = Arc::new(scan::Counters::default());
    let table = Arc::new(scan::CountingTable { inner: table, counters: Arc::clone(&counters), cancel: options.cancel.clone(), range: (options.start_time, options.end_time) });
    let df = ctx.read_table(table)?;
    let (df, output) = lower::Lowerer::new(df, options).lower(query)?;
    let plan = df.create_physical_plan().await.map_err(|error| classify(error, options))?;
    let mut stream = execute_stream(Arc::clone(&plan), ctx.task_ctx()).map_err(|error| classify(error, options))?;
    let mut rows = Vec::new();
    let mut seen: HashSet<Vec<String>> = HashSet::new();
    while let Some(batch) = stream.next().await {
        if options.cancel.as_ref().is_some_and(|flag| flag.load(Ordering::Relaxed)) {
            return Err(ExecError::Cancelled);
        }
        let batch = batch.map_err(|error| classify(error, options))?;
        format_batch(&batch, &output, &mut seen, &mut rows)?;
        if rows.len() >= output.limit {
            rows.truncate(output.limit);
            break;
        }
    }
    drop(stream);
    let records_scanned = counters.records.load(Ordering::Relaxed);
    let records_matched = matched(&plan).unwrap_or(records_scanned);
    let statistics = Statistics { records_matched, records_scanned, bytes_scanned: counters.bytes.load(Ordering::Relaxed) };
    Ok(QueryOutput { rows, statistics })
}

/// Events that passed the filters: the rows out of the topmost filters
/// that have no aggregation below them.
fn matched(plan: &Arc<dyn ExecutionPlan>) -> Option<u64> {
    fn has_aggregate(plan: &Arc<dyn ExecutionPlan>) -> bool {
        plan.name() == "AggregateExec" || plan.children().into_iter().any(has_aggregate)
    }
    fn walk(plan: &Arc<dyn ExecutionPlan>, found: &mut Vec<u64>) {
        if plan.name() == "FilterExec" && !has_aggregate(plan) {
            found.push(plan.metrics().and_then(|metrics| metrics.output_rows()).map_or(0, |rows| u64::try_from(rows).unwrap_or(0)));
            return;
        }
        plan.children().into_iter().for_each(|child| walk(child, found));
    }
    let mut found = Vec::new();
    walk(plan, &mut found);
    (!found.is_empty()).then(|| found.iter().sum())
}

fn format_batch(batch: &RecordBatch, output: &lower::Output, seen: &mut HashSet<Vec<String>>, rows: &mut Vec<ResultRow>) -> Result<(), ExecError> {
    let column = |name: &str| -> Result<ArrayRef, ExecError> { batch.column_by_name(name).cloned().ok_or_else(|| ExecError::Internal(format!("missing column {name}"))) };
    let mut visible: Vec<(&str, ArrayRef)> = Vec::new();
    let mut ptr: Vec<ArrayRef> = Vec::new();
    let mut dedup: Vec<ArrayRef> = Vec::new();
    for (name, out) in &output.columns {
        let array = column(out)?;
        if name.starts_with("__ptr_") {
            ptr.push(array);
        } else if name.starts_with("__dedup_") {
            dedup.push(array);
        } else {
            visible.push((name.as_str(), array));
        }
    }
    for row in 0..batch.num_rows() {
        if output.dedup.is_some() {
            let key: Option<Vec<String>> = dedup.iter().map(|array| format::value(array, row)).collect();
            // A row with a null dedup field is always kept (AWS).
            if let Some(key) = key
                && !seen.insert(key)
            {
                continue;
            }
        }
        let mut result: ResultRow = Vec::with_capacity(visible.len() + 1);
        for (index, (name, array)) in visible.iter().enumerate() {
            if let Some(value) = format::value(array, row) {
                result.push(((*name).to_string(), value));
            }
            if output.default_fields && index == 3 {
                let message = visible.get(1).and_then(|(_, array)| format::value(array, row)).unwrap_or_default();
                for (field, value) in fields::flatten(&message) {
                    if !result.iter().any(|(existing, _)| *existing == field) {
                        result.push((field, value));
                    }
                }
            }
        }
        if output.ptr
            && let [log, timestamp, event_id] = ptr.as_slice()
            && !log.is_null(row)
        {
            let pointer = ptr::EventPointer {
                log: log.as_string::<i32>().value(row).to_string(),
                timestamp: timestamp.as_primitive::<TimestampMillisecondType>().value(row),
                event_id: event_id.as_primitive::<UInt64Type>().value(row),
            };
            result.push(("@ptr".to_string(), ptr::encode(&pointer)));
        }
        rows.push(result);
        if rows.len() >= output.limit {
            break;
        }
    }
    Ok(())
}
