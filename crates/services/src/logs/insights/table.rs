//! The table Logs Insights queries read: the events of one or more log
//! groups, as a DataFusion [`TableProvider`] over the log store's columnar
//! reads (`argus_storage::logs::GroupSnapshot`).
//!
//! * Projection pushdown: only the columns the query reads are decoded
//!   (`stats count(*) by bin(5m)` reads `timestamp` alone).
//! * Pruning: the time range (`timestamp` comparisons offered by the engine)
//!   skips segment files and row groups by their statistics; `message LIKE
//!   '%literal%'` filters (and `or`s of them) skip row groups through the
//!   token index. Both are answered `Inexact`: the engine still applies them.
//! * Streaming: one unit (a Parquet row group or a 32 Ki-row memtable slice)
//!   is read at a time per partition, two ahead; nothing is materialised.
//! * Newest first: units are read in descending order of their newest
//!   event, spread over the partitions, so a TopK on `@timestamp desc` finds
//!   its rows early; DataFusion's dynamic TopK filter reaching this scan
//!   skips units that can no longer contribute.
//! * `bytesScanned`: message bytes of the events read (from Parquet's
//!   unencoded-size statistics when the message column is not read).

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use arrow::array::{ArrayRef, RecordBatch, RecordBatchOptions, StringArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use argus_storage::logs::{GroupSnapshot, ScanUnit, TokenQuery, event_schema};
use async_trait::async_trait;
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::{Result, ScalarValue};
use datafusion::datasource::TableType;
use datafusion::error::DataFusionError;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::{BinaryExpr, Expr, Operator, TableProviderFilterPushDown};
use datafusion::physical_expr::{EquivalenceProperties, Partitioning, PhysicalExpr};
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::filter_pushdown::{
    ChildPushdownResult, FilterPushdownPhase, FilterPushdownPropagation, PushedDown,
};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{DisplayAs, DisplayFormatType, ExecutionPlan, PlanProperties};
use futures::StreamExt as _;
use parking_lot::Mutex;

/// The column the table adds to the store's: `@log`.
const LOG: &str = "log";
/// Units read ahead per partition.
const READ_AHEAD: usize = 2;

/// One queried group: its pinned data and its `@log` value.
pub struct GroupSource {
    pub snapshot: Arc<GroupSnapshot>,
    /// `account:group-name`.
    pub log: Arc<str>,
}

/// What the scan saw, for the query's statistics.
#[derive(Debug, Default)]
pub struct ScanCounters {
    pub message_bytes: AtomicU64,
    pub records: AtomicU64,
}

pub struct EventsTable {
    groups: Vec<GroupSource>,
    schema: SchemaRef,
    pub counters: Arc<ScanCounters>,
}

impl fmt::Debug for EventsTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventsTable").field("groups", &self.groups.len()).finish()
    }
}

/// The table schema: the store's event columns, then `log`.
pub fn table_schema() -> SchemaRef {
    let mut fields: Vec<Field> = event_schema().fields().iter().map(|field| field.as_ref().clone()).collect();
    fields.push(Field::new(LOG, DataType::Utf8, false));
    Arc::new(Schema::new(fields))
}

impl EventsTable {
    pub fn new(groups: Vec<GroupSource>) -> EventsTable {
        EventsTable { groups, schema: table_schema(), counters: Arc::new(ScanCounters::default()) }
    }
}

/// Whether `expr` is the `timestamp` column.
fn is_column(expr: &Expr, name: &str) -> bool {
    matches!(expr, Expr::Column(column) if column.name == name)
}

fn timestamp_literal(expr: &Expr) -> Option<i64> {
    match expr {
        Expr::Literal(ScalarValue::TimestampMillisecond(Some(value), _), _) => Some(*value),
        Expr::Literal(ScalarValue::Int64(Some(value)), _) => Some(*value),
        _ => None,
    }
}

/// Narrows `range` by a filter on `timestamp`; true when the filter was
/// understood (wholly a conjunction of `timestamp` comparisons).
fn time_bounds(expr: &Expr, range: &mut (i64, i64)) -> bool {
    let Expr::BinaryExpr(BinaryExpr { left, op, right }) = expr else { return false };
    if *op == Operator::And {
        let mut left_range = *range;
        let mut right_range = *range;
        let understood = time_bounds(left, &mut left_range) && time_bounds(right, &mut right_range);
        if understood {
            range.0 = left_range.0.max(right_range.0);
            range.1 = left_range.1.min(right_range.1);
        }
        return understood;
    }
    let (value, op) = match (is_column(left, "timestamp"), timestamp_literal(right), is_column(right, "timestamp"), timestamp_literal(left)) {
        (true, Some(value), _, _) => (value, *op),
        (_, _, true, Some(value)) => match op.swap() {
            Some(op) => (value, op),
            None => return false,
        },
        _ => return false,
    };
    match op {
        Operator::GtEq => range.0 = range.0.max(value),
        Operator::Gt => range.0 = range.0.max(value.saturating_add(1)),
        Operator::LtEq => range.1 = range.1.min(value),
        Operator::Lt => range.1 = range.1.min(value.saturating_sub(1)),
        Operator::Eq => {
            range.0 = range.0.max(value);
            range.1 = range.1.min(value);
        }
        _ => return false,
    }
    true
}

/// The literals one of which every match of `expr` contains, when `expr` is
/// `message LIKE '%literal%'` or an `or` of such.
fn required_literals(expr: &Expr) -> Option<Vec<String>> {
    match expr {
        Expr::Like(like) if !like.negated && !like.case_insensitive && is_column(&like.expr, "message") => {
            let Expr::Literal(ScalarValue::Utf8(Some(pattern)) | ScalarValue::Utf8View(Some(pattern)) | ScalarValue::LargeUtf8(Some(pattern)), _) =
                like.pattern.as_ref()
            else {
                return None;
            };
            let escape = like.escape_char.unwrap_or('\\');
            // The longest run of plain characters between wildcards.
            let mut runs: Vec<String> = vec![String::new()];
            let mut chars = pattern.chars();
            while let Some(c) = chars.next() {
                if c == escape {
                    let next = chars.next()?;
                    runs.last_mut()?.push(next);
                } else if c == '%' || c == '_' {
                    runs.push(String::new());
                } else {
                    runs.last_mut()?.push(c);
                }
            }
            let longest = runs.into_iter().max_by_key(String::len)?;
            (!longest.is_empty()).then(|| vec![longest])
        }
        Expr::BinaryExpr(BinaryExpr { left, op: Operator::Or, right }) => {
            let mut all = required_literals(left)?;
            all.extend(required_literals(right)?);
            Some(all)
        }
        _ => None,
    }
}

#[async_trait]
impl TableProvider for EventsTable {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn supports_filters_pushdown(&self, filters: &[&Expr]) -> Result<Vec<TableProviderFilterPushDown>> {
        Ok(filters
            .iter()
            .map(|filter| {
                let mut range = (i64::MIN, i64::MAX);
                if time_bounds(filter, &mut range) || required_literals(filter).is_some() {
                    TableProviderFilterPushDown::Inexact
                } else {
                    TableProviderFilterPushDown::Unsupported
                }
            })
            .collect())
    }

    async fn scan(&self, state: &dyn Session, projection: Option<&Vec<usize>>, filters: &[Expr], _limit: Option<usize>) -> Result<Arc<dyn ExecutionPlan>> {
        let projection: Vec<usize> = projection.cloned().unwrap_or_else(|| (0..self.schema.fields().len()).collect());
        let schema = Arc::new(self.schema.project(&projection)?);
        let mut range = (i64::MIN, i64::MAX);
        let mut literals: Vec<Vec<String>> = Vec::new();
        for filter in filters {
            let mut narrowed = range;
            if time_bounds(filter, &mut narrowed) {
                range = narrowed;
            } else if let Some(alternatives) = required_literals(filter) {
                literals.push(alternatives);
            }
        }
        let tokens = TokenQuery::from_literals(literals.iter().map(|alternatives| alternatives.iter().map(|text| (text.as_str(), false))));
        let mut units: Vec<(Arc<ScanUnit>, Arc<str>)> = Vec::new();
        for group in &self.groups {
            let found = group.snapshot.units(range.0, range.1, &tokens).await.map_err(|error| DataFusionError::External(Box::new(error)))?;
            units.extend(found.into_iter().map(|unit| (Arc::new(unit), Arc::clone(&group.log))));
        }
        // Newest first.
        units.sort_by(|a, b| b.0.max_ts.cmp(&a.0.max_ts).then(b.0.min_ts.cmp(&a.0.min_ts)));
        let partitions = state.config().target_partitions().clamp(1, units.len().max(1));
        let mut assigned: Vec<Vec<(Arc<ScanUnit>, Arc<str>)>> = vec![Vec::new(); partitions];
        for (index, unit) in units.into_iter().enumerate() {
            if let Some(partition) = assigned.get_mut(index % partitions) {
                partition.push(unit);
            }
        }
        let properties = Arc::new(PlanProperties::new(
            EquivalenceProperties::new(Arc::clone(&schema)),
            Partitioning::UnknownPartitioning(partitions),
            EmissionType::Incremental,
            Boundedness::Bounded,
        ));
        Ok(Arc::new(EventsExec {
            partitions: Arc::new(assigned),
            projection,
            range,
            schema,
            properties,
            counters: Arc::clone(&self.counters),
            dynamic: Arc::new(Mutex::new(Vec::new())),
        }))
    }
}

type Assigned = Vec<Vec<(Arc<ScanUnit>, Arc<str>)>>;

/// The scan: units per partition, read in order with a little read-ahead.
pub struct EventsExec {
    partitions: Arc<Assigned>,
    /// Indexes into the table schema.
    projection: Vec<usize>,
    range: (i64, i64),
    schema: SchemaRef,
    properties: Arc<PlanProperties>,
    counters: Arc<ScanCounters>,
    /// Dynamic filters pushed down by a TopK (on `timestamp`).
    dynamic: Arc<Mutex<Vec<Arc<dyn PhysicalExpr>>>>,
}

impl fmt::Debug for EventsExec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventsExec").field("projection", &self.projection).field("range", &self.range).finish()
    }
}

impl DisplayAs for EventsExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let units: usize = self.partitions.iter().map(Vec::len).sum();
        write!(f, "EventsExec: units={units}, projection={:?}, range={:?}", self.projection, self.range)
    }
}

impl ExecutionPlan for EventsExec {
    fn name(&self) -> &'static str {
        "EventsExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        Vec::new()
    }

    fn apply_expressions(&self, _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>) -> Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn with_new_children(self: Arc<Self>, children: Vec<Arc<dyn ExecutionPlan>>) -> Result<Arc<dyn ExecutionPlan>> {
        if children.is_empty() { Ok(self) } else { Err(DataFusionError::Internal("EventsExec has no children".into())) }
    }

    /// Keeps the dynamic filters of a TopK above to skip units with; the
    /// TopK still applies them (answered "not pushed").
    fn handle_child_pushdown_result(
        &self,
        phase: FilterPushdownPhase,
        child_pushdown_result: ChildPushdownResult,
        _config: &ConfigOptions,
    ) -> Result<FilterPushdownPropagation<Arc<dyn ExecutionPlan>>> {
        if phase == FilterPushdownPhase::Post {
            let mut dynamic = self.dynamic.lock();
            for filter in &child_pushdown_result.parent_filters {
                dynamic.push(Arc::clone(&filter.filter));
            }
        }
        Ok(FilterPushdownPropagation {
            filters: child_pushdown_result.parent_filters.iter().map(|_| PushedDown::No).collect(),
            updated_node: None,
        })
    }

    fn execute(&self, partition: usize, _context: Arc<TaskContext>) -> Result<SendableRecordBatchStream> {
        let units: Vec<(Arc<ScanUnit>, Arc<str>)> = self.partitions.get(partition).cloned().unwrap_or_default();
        let store_columns: Vec<usize> = self.projection.iter().copied().filter(|&index| index < event_schema().fields().len()).collect();
        let log_index = event_schema().fields().len();
        let projection = self.projection.clone();
        let (start, end) = self.range;
        let schema = Arc::clone(&self.schema);
        let counters = Arc::clone(&self.counters);
        let dynamic = Arc::clone(&self.dynamic);
        let out_schema = Arc::clone(&schema);
        // Under a TopK, one unit at a time: its dynamic filter, updated by
        // the batches already read, then decides on the next unit.
        let ahead = if self.dynamic.lock().is_empty() { READ_AHEAD } else { 1 };
        let stream = futures::stream::iter(units)
            .map(move |(unit, log)| {
                let store_columns = store_columns.clone();
                let dynamic = Arc::clone(&dynamic);
                async move {
                    if !dynamic::may_pass(&dynamic, &unit) {
                        return Ok(None);
                    }
                    let read = unit.read(&store_columns, start, end).await.map_err(|error| DataFusionError::External(Box::new(error)))?;
                    Ok::<_, DataFusionError>(read.map(|read| (read, log)))
                }
            })
            .buffered(ahead)
            .flat_map(move |read| {
                let batches: Vec<Result<RecordBatch>> = match read {
                    Ok(None) => Vec::new(),
                    Err(error) => vec![Err(error)],
                    Ok(Some((read, log))) => {
                        counters.message_bytes.fetch_add(read.message_bytes, Ordering::Relaxed);
                        counters.records.fetch_add(read.rows() as u64, Ordering::Relaxed);
                        read.batches.iter().map(|batch| assemble(&out_schema, &projection, log_index, batch, &log)).collect()
                    }
                };
                futures::stream::iter(batches)
            });
        Ok(Box::pin(RecordBatchStreamAdapter::new(schema, stream)))
    }
}

/// The output batch: the store's columns and `log`, in projection order.
fn assemble(schema: &SchemaRef, projection: &[usize], log_index: usize, batch: &RecordBatch, log: &str) -> Result<RecordBatch> {
    let rows = batch.num_rows();
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(projection.len());
    let mut next_store = 0;
    for &index in projection {
        if index == log_index {
            columns.push(Arc::new(StringArray::from_iter_values(std::iter::repeat_n(log, rows))));
        } else {
            let column = batch.columns().get(next_store).ok_or_else(|| DataFusionError::Internal("missing column".into()))?;
            columns.push(Arc::clone(column));
            next_store += 1;
        }
    }
    let options = RecordBatchOptions::new().with_row_count(Some(rows));
    Ok(RecordBatch::try_new_with_options(Arc::clone(schema), columns, &options)?)
}

/// Skipping units by a TopK's dynamic filter.
mod dynamic {
    use super::*;

    /// Whether a unit may hold rows passing the current dynamic filters,
    /// judged by its timestamp bounds. Filters not of the form `timestamp
    /// > x` / `timestamp < x` (possibly `or`-ed with tie-breakers) pass.
    pub(super) fn may_pass(filters: &Mutex<Vec<Arc<dyn PhysicalExpr>>>, unit: &ScanUnit) -> bool {
        let filters = filters.lock().clone();
        filters.iter().all(|filter| {
            let Ok(current) = datafusion::physical_expr_common::physical_expr::snapshot_physical_expr(Arc::clone(filter)) else { return true };
            bound_may_pass(&current, unit.min_ts, unit.max_ts).unwrap_or(true)
        })
    }

    /// `Some(false)` when no timestamp in `min..=max` can pass `expr`.
    fn bound_may_pass(expr: &Arc<dyn PhysicalExpr>, min: i64, max: i64) -> Option<bool> {
        use datafusion::physical_expr::expressions::{BinaryExpr, Column, Literal};
        let binary = expr.downcast_ref::<BinaryExpr>()?;
        match binary.op() {
            Operator::Or => {
                let left = bound_may_pass(binary.left(), min, max).unwrap_or(true);
                let right = bound_may_pass(binary.right(), min, max).unwrap_or(true);
                Some(left || right)
            }
            Operator::And => {
                let left = bound_may_pass(binary.left(), min, max).unwrap_or(true);
                let right = bound_may_pass(binary.right(), min, max).unwrap_or(true);
                Some(left && right)
            }
            op => {
                let column = binary.left().downcast_ref::<Column>()?;
                if column.name() != "timestamp" {
                    return None;
                }
                let literal = binary.right().downcast_ref::<Literal>()?;
                let ScalarValue::TimestampMillisecond(Some(value), _) = literal.value() else { return None };
                let value = *value;
                Some(match op {
                    Operator::Gt => max > value,
                    Operator::GtEq => max >= value,
                    Operator::Lt => min < value,
                    Operator::LtEq => min <= value,
                    Operator::Eq => min <= value && value <= max,
                    _ => return None,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::logical_expr::{col, lit};

    #[test]
    fn time_filters_narrow_the_range() {
        let ts = |value: i64| lit(ScalarValue::TimestampMillisecond(Some(value), Some("UTC".into())));
        let filter = col("timestamp").gt_eq(ts(10)).and(col("timestamp").lt_eq(ts(20)));
        let mut range = (i64::MIN, i64::MAX);
        assert!(time_bounds(&filter, &mut range));
        assert_eq!(range, (10, 20));
        let mut range = (i64::MIN, i64::MAX);
        assert!(!time_bounds(&col("message").eq(lit("x")), &mut range));
    }

    #[test]
    fn like_filters_give_literals() {
        assert_eq!(required_literals(&col("message").like(lit("%ERROR%"))), Some(vec!["ERROR".to_string()]));
        let either = col("message").like(lit("%a b%")).or(col("message").like(lit("%x\\%y%")));
        assert_eq!(required_literals(&either), Some(vec!["a b".to_string(), "x%y".to_string()]));
        assert_eq!(required_literals(&col("message").not_like(lit("%x%"))), None);
        assert_eq!(required_literals(&col("log").like(lit("%x%"))), None);
    }
}
