//! The caller's table, wrapped. It
//! - applies the query's time range itself: the provider is offered the
//!   range as a filter on `timestamp` (to prune by), and whatever it
//!   returns is cut to the range here — a batch wholly inside passes
//!   untouched, with no copy;
//! - counts the events of the range and their message bytes
//!   (`recordsScanned`, `bytesScanned`);
//! - stops on cancellation;
//! - offers the query's filters to the provider as *inexact* (it may prune
//!   by them, e.g. with a token index; DataFusion still applies them, so
//!   `recordsMatched` can be counted on them).

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use arrow::array::{Array, ArrayRef, AsArray, BooleanArray};
use arrow::compute::filter_record_batch;
use arrow::datatypes::{DataType, SchemaRef, TimeUnit, TimestampMillisecondType};
use async_trait::async_trait;
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::Result;
use datafusion::common::ScalarValue;
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::datasource::TableType;
use datafusion::error::DataFusionError;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown, col, lit};
use datafusion::physical_expr::{EquivalenceProperties, Partitioning, PhysicalExpr};
use datafusion::physical_plan::filter_pushdown::{FilterDescription, FilterPushdownPhase};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{DisplayAs, DisplayFormatType, ExecutionPlan, PlanProperties};
use futures::StreamExt as _;

use super::lower::{MESSAGE, TIMESTAMP};
use super::udf::UTC;

/// What the scan saw.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub records: AtomicU64,
    pub bytes: AtomicU64,
}

#[derive(Debug)]
pub(crate) struct CountingTable {
    pub inner: Arc<dyn TableProvider>,
    pub counters: Arc<Counters>,
    pub cancel: Option<Arc<AtomicBool>>,
    /// The query's time range (ms, both included).
    pub range: (i64, i64),
}

#[async_trait]
impl TableProvider for CountingTable {
    fn schema(&self) -> SchemaRef {
        self.inner.schema()
    }

    fn table_type(&self) -> TableType {
        self.inner.table_type()
    }

    async fn scan(&self, state: &dyn Session, projection: Option<&Vec<usize>>, filters: &[Expr], limit: Option<usize>) -> Result<Arc<dyn ExecutionPlan>> {
        let table_schema = self.inner.schema();
        let timestamp_column = table_schema.index_of(TIMESTAMP)?;
        // Read the timestamp too, to cut to the range.
        let wanted: Vec<usize> = projection.cloned().unwrap_or_else(|| (0..table_schema.fields().len()).collect());
        let mut read = wanted.clone();
        if !read.contains(&timestamp_column) {
            read.push(timestamp_column);
        }
        let (start, end) = self.range;
        let time =
            col(TIMESTAMP).gt_eq(lit(ScalarValue::TimestampMillisecond(Some(start), Some(UTC.into())))).and(col(TIMESTAMP).lt_eq(lit(ScalarValue::TimestampMillisecond(Some(end), Some(UTC.into())))));
        let mut offered: Vec<Expr> = filters.to_vec();
        if self.inner.supports_filters_pushdown(&[&time])?.first().is_some_and(|answer| *answer != TableProviderFilterPushDown::Unsupported) {
            offered.push(time);
        }
        // No limit: rows outside the range may come back and be dropped here.
        let _ = limit;
        let input = self.inner.scan(state, Some(&read), &offered, None).await?;
        let input_schema = input.schema();
        let position = |name: &str| input_schema.index_of(name).ok();
        let keep: Vec<usize> = wanted.iter().filter_map(|&index| position(table_schema.field(index).name())).collect();
        let message = position(MESSAGE).filter(|&index| matches!(input_schema.field(index).data_type(), DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View));
        let timestamp = position(TIMESTAMP).filter(|&index| matches!(input_schema.field(index).data_type(), DataType::Timestamp(TimeUnit::Millisecond, _)));
        let schema = Arc::new(input_schema.project(&keep)?);
        let properties = if keep.len() == input_schema.fields().len() && keep.iter().enumerate().all(|(at, &index)| at == index) {
            Arc::clone(input.properties())
        } else {
            let partitions = input.properties().output_partitioning().partition_count();
            Arc::new(PlanProperties::new(
                EquivalenceProperties::new(Arc::clone(&schema)),
                Partitioning::UnknownPartitioning(partitions),
                input.properties().emission_type,
                input.properties().boundedness,
            ))
        };
        Ok(Arc::new(CountingExec { input, counters: Arc::clone(&self.counters), message, timestamp, keep, schema, properties, range: self.range, cancel: self.cancel.clone() }))
    }

    fn supports_filters_pushdown(&self, filters: &[&Expr]) -> Result<Vec<TableProviderFilterPushDown>> {
        let answers = self.inner.supports_filters_pushdown(filters)?;
        Ok(answers
            .into_iter()
            .map(|answer| match answer {
                TableProviderFilterPushDown::Exact | TableProviderFilterPushDown::Inexact => TableProviderFilterPushDown::Inexact,
                TableProviderFilterPushDown::Unsupported => TableProviderFilterPushDown::Unsupported,
            })
            .collect())
    }
}

#[derive(Debug)]
pub(crate) struct CountingExec {
    input: Arc<dyn ExecutionPlan>,
    counters: Arc<Counters>,
    /// The index of the message column in the input, when read.
    message: Option<usize>,
    /// The index of the timestamp column in the input.
    timestamp: Option<usize>,
    /// The input columns passed on, in order.
    keep: Vec<usize>,
    schema: SchemaRef,
    properties: Arc<PlanProperties>,
    range: (i64, i64),
    cancel: Option<Arc<AtomicBool>>,
}

impl DisplayAs for CountingExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CountingExec: range={:?}", self.range)
    }
}

/// The bytes of the messages of the rows `selected` (all when `None`).
fn message_bytes(column: &ArrayRef, selected: Option<&BooleanArray>) -> usize {
    let take = |row: usize| selected.is_none_or(|mask| mask.value(row));
    match column.data_type() {
        DataType::Utf8 => {
            let strings = column.as_string::<i32>();
            if selected.is_none() && strings.null_count() == 0 {
                let offsets = strings.value_offsets();
                let span = offsets.last().copied().unwrap_or(0) - offsets.first().copied().unwrap_or(0);
                return usize::try_from(span).unwrap_or(0);
            }
            (0..strings.len()).filter(|&row| take(row) && strings.is_valid(row)).map(|row| strings.value(row).len()).sum()
        }
        DataType::LargeUtf8 => {
            let strings = column.as_string::<i64>();
            (0..strings.len()).filter(|&row| take(row) && strings.is_valid(row)).map(|row| strings.value(row).len()).sum()
        }
        DataType::Utf8View => {
            let strings = column.as_string_view();
            (0..strings.len()).filter(|&row| take(row) && strings.is_valid(row)).map(|row| strings.value(row).len()).sum()
        }
        _ => 0,
    }
}

impl ExecutionPlan for CountingExec {
    fn name(&self) -> &'static str {
        "CountingExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.input]
    }

    fn apply_expressions(&self, _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>) -> Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    /// Dynamic filters (a TopK's current threshold, in the `Post` phase)
    /// go on to the provider, which may skip data by them; the query's own
    /// filters (`Pre`) stay above, where `recordsMatched` is counted.
    fn gather_filters_for_pushdown(&self, phase: FilterPushdownPhase, parent_filters: Vec<Arc<dyn PhysicalExpr>>, _config: &ConfigOptions) -> Result<FilterDescription> {
        if phase == FilterPushdownPhase::Post { FilterDescription::from_children(parent_filters, &self.children()) } else { Ok(FilterDescription::all_unsupported(&parent_filters, &self.children())) }
    }

    fn with_new_children(self: Arc<Self>, mut children: Vec<Arc<dyn ExecutionPlan>>) -> Result<Arc<dyn ExecutionPlan>> {
        let Some(input) = children.pop() else { return Err(DataFusionError::Internal("CountingExec takes one child".into())) };
        Ok(Arc::new(CountingExec {
            input,
            counters: Arc::clone(&self.counters),
            message: self.message,
            timestamp: self.timestamp,
            keep: self.keep.clone(),
            schema: Arc::clone(&self.schema),
            properties: Arc::clone(&self.properties),
            range: self.range,
            cancel: self.cancel.clone(),
        }))
    }

    fn execute(&self, partition: usize, context: Arc<TaskContext>) -> Result<SendableRecordBatchStream> {
        let stream = self.input.execute(partition, context)?;
        let counters = Arc::clone(&self.counters);
        let (message, timestamp, keep) = (self.message, self.timestamp, self.keep.clone());
        let (start, end) = self.range;
        let cancel = self.cancel.clone();
        let counted = stream.map(move |batch| {
            if cancel.as_ref().is_some_and(|flag| flag.load(Ordering::Relaxed)) {
                return Err(DataFusionError::Execution(super::CANCELLED.into()));
            }
            let batch = batch?;
            // Rows of the time range: all of them, or a mask.
            let mask: Option<BooleanArray> = match timestamp.and_then(|index| batch.columns().get(index)) {
                Some(column) => {
                    let times = column.as_primitive::<TimestampMillisecondType>();
                    let inside = |time: i64| (start..=end).contains(&time);
                    let all = times.null_count() == 0 && times.values().iter().all(|&time| inside(time));
                    (!all).then(|| times.iter().map(|time| Some(time.is_some_and(inside))).collect())
                }
                None => None,
            };
            let records = mask.as_ref().map_or(batch.num_rows(), BooleanArray::true_count);
            counters.records.fetch_add(u64::try_from(records).unwrap_or(0), Ordering::Relaxed);
            if let Some(column) = message.and_then(|index| batch.columns().get(index)) {
                counters.bytes.fetch_add(u64::try_from(message_bytes(column, mask.as_ref())).unwrap_or(0), Ordering::Relaxed);
            }
            let batch = match &mask {
                Some(mask) => filter_record_batch(&batch, mask)?,
                None => batch,
            };
            Ok(batch.project(&keep)?)
        });
        Ok(Box::pin(RecordBatchStreamAdapter::new(Arc::clone(&self.schema), counted)))
    }
}
