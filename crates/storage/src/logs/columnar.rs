//! Columnar reads for analytic queries (Logs Insights): a group's events as
//! Arrow record batches of the segment schema, only the columns asked for,
//! in independent *units* — one Parquet row group, or one slice of a
//! memtable — so a query engine can stream them, spread them over threads
//! and read them newest first.
//!
//! [`LogStore::snapshot`] pins what a group holds now (its segment files and
//! the rows its memtables hold); [`GroupSnapshot::units`] lists the units
//! that can hold events of a time range (segment files per day and row
//! groups by their timestamp statistics, then the token index for the
//! tokens every match must contain); [`ScanUnit::read`] reads one. Hidden
//! events — expired by retention or of deleted streams — are never
//! returned, as in `LogStore::read`.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, BooleanArray, RecordBatch, RecordBatchOptions, StringBuilder, TimestampMillisecondArray, UInt64Array,
};
use arrow::compute::filter_record_batch;
use arrow::datatypes::SchemaRef;
use futures::TryStreamExt as _;
use parquet::arrow::ProjectionMask;
use parquet::arrow::async_reader::ParquetRecordBatchStreamBuilder;
use parquet::file::statistics::Statistics;

use super::memtable::SharedMemtable;
use super::segment::{self, Segment, SegmentError};
use super::store::LogStore;
use super::{StoreError, TokenQuery};

/// Rows of a memtable read as one unit.
const MEM_UNIT_ROWS: usize = 32 * 1024;
/// Rows per batch read from a row group: a few hundred kilobytes of
/// messages, so a batch stays in cache through the query's operators and
/// its buffers are reused by the allocator instead of being faulted in
/// afresh (a whole row group's messages are megabytes).
const READ_BATCH_ROWS: usize = 4 * 1024;

/// Column indexes in [`segment::schema`].
pub const COL_TIMESTAMP: usize = 0;
pub const COL_INGESTION: usize = 1;
pub const COL_EVENT_ID: usize = 2;
pub const COL_STREAM_ID: usize = 3;
pub const COL_LOG_STREAM: usize = 4;
pub const COL_MESSAGE: usize = 5;

/// The schema of the batches (before projection): `timestamp`,
/// `ingestion_time`, `event_id`, `stream_id`, `log_stream`, `message`.
pub fn event_schema() -> SchemaRef {
    segment::schema()
}

/// What every unit of one snapshot shares.
#[derive(Debug)]
struct Shared {
    /// Live streams: id → name. Events of other streams are hidden.
    streams: HashMap<u64, Arc<str>>,
    /// Events older than this are expired (retention).
    cutoff: i64,
}

/// A group's data at one moment: its segment files and memtable rows.
pub struct GroupSnapshot {
    pub group_id: u64,
    pub group_name: String,
    segments: Vec<Arc<Segment>>,
    /// Memtables and how many rows each held when pinned.
    memtables: Vec<(SharedMemtable, usize)>,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for GroupSnapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupSnapshot")
            .field("group_id", &self.group_id)
            .field("segments", &self.segments.len())
            .field("memtables", &self.memtables.len())
            .finish()
    }
}

enum UnitKind {
    RowGroup { segment: Arc<Segment>, row_group: usize, all_live: bool, message_bytes: Option<u64>, rows: u64 },
    Mem { table: SharedMemtable, rows: Range<usize> },
}

/// One independently readable piece of a group: a row group of a segment
/// file or a slice of a memtable.
pub struct ScanUnit {
    /// Bounds of the timestamps it may hold (ms).
    pub min_ts: i64,
    pub max_ts: i64,
    kind: UnitKind,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for ScanUnit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match &self.kind {
            UnitKind::RowGroup { segment, row_group, .. } => format!("{}#{row_group}", segment.record.path),
            UnitKind::Mem { rows, .. } => format!("memtable rows {rows:?}"),
        };
        f.debug_struct("ScanUnit").field("min_ts", &self.min_ts).field("max_ts", &self.max_ts).field("kind", &kind).finish()
    }
}

/// The batches read from a unit and the bytes of their events' messages
/// (counted whether or not the message column was asked for).
#[derive(Debug)]
pub struct UnitBatch {
    /// Never empty; no batch without rows.
    pub batches: Vec<RecordBatch>,
    pub message_bytes: u64,
}

impl UnitBatch {
    pub fn rows(&self) -> usize {
        self.batches.iter().map(RecordBatch::num_rows).sum()
    }
}

impl LogStore {
    /// Pins a group's current files and memtable rows for a columnar read.
    pub fn snapshot(&self, group_id: u64) -> Result<GroupSnapshot, StoreError> {
        let group = self.group_by_id(group_id)?;
        let cutoff = self.retention_cutoff(&group);
        let streams: HashMap<u64, Arc<str>> =
            group.streams.read().by_id.iter().map(|(&id, stream)| (id, Arc::clone(&stream.name))).collect();
        let (segments, memtables) = {
            let data = group.data.read();
            let memtables = data.memtables().into_iter().map(|table| {
                let rows = table.read().len();
                (table, rows)
            });
            (data.segments.clone(), memtables.collect())
        };
        Ok(GroupSnapshot {
            group_id,
            group_name: group.name.clone(),
            segments,
            memtables,
            shared: Arc::new(Shared { streams, cutoff }),
        })
    }
}

impl GroupSnapshot {
    /// Names of the live streams by id.
    pub fn stream_name(&self, stream_id: u64) -> Option<&Arc<str>> {
        self.shared.streams.get(&stream_id)
    }

    /// Unflushed events held (rows pinned in memtables).
    pub fn memtable_rows(&self) -> usize {
        self.memtables.iter().map(|(_, rows)| rows).sum()
    }

    /// The units that may hold visible events with timestamps in
    /// `start..=end` whose messages contain `tokens`.
    pub async fn units(&self, start: i64, end: i64, tokens: &TokenQuery) -> Result<Vec<ScanUnit>, StoreError> {
        let start = start.max(self.shared.cutoff);
        let mut units = Vec::new();
        if start > end {
            return Ok(units);
        }
        for segment in &self.segments {
            let record = &segment.record;
            if record.max_ts < start || record.min_ts > end {
                continue;
            }
            if !record.streams.iter().any(|stream| self.shared.streams.contains_key(&stream.stream_id)) {
                continue;
            }
            let all_live = record.streams.iter().all(|stream| self.shared.streams.contains_key(&stream.stream_id));
            let metadata = segment.metadata().await?;
            let mut candidates = Vec::new();
            let mut bounds = Vec::new();
            for (index, row_group) in metadata.metadata().row_groups().iter().enumerate() {
                let (min_ts, max_ts) = match row_group.columns().get(COL_TIMESTAMP).and_then(|column| column.statistics()) {
                    Some(Statistics::Int64(stats)) => {
                        (stats.min_opt().copied().unwrap_or(i64::MIN), stats.max_opt().copied().unwrap_or(i64::MAX))
                    }
                    _ => (record.min_ts, record.max_ts),
                };
                if max_ts < start || min_ts > end {
                    continue;
                }
                candidates.push(index);
                let message_bytes = row_group
                    .columns()
                    .get(COL_MESSAGE)
                    .and_then(|column| column.unencoded_byte_array_data_bytes())
                    .and_then(|bytes| u64::try_from(bytes).ok());
                let rows = u64::try_from(row_group.num_rows()).unwrap_or(0);
                bounds.push((index, min_ts, max_ts, message_bytes, rows));
            }
            if !tokens.is_empty() && !candidates.is_empty() {
                candidates = segment.prune_by_tokens(tokens, candidates).await;
            }
            for (index, min_ts, max_ts, message_bytes, rows) in bounds {
                if candidates.contains(&index) {
                    units.push(ScanUnit {
                        min_ts,
                        max_ts,
                        kind: UnitKind::RowGroup { segment: Arc::clone(segment), row_group: index, all_live, message_bytes, rows },
                        shared: Arc::clone(&self.shared),
                    });
                }
            }
        }
        for (table, rows) in &self.memtables {
            let memtable = table.read();
            let mut from = 0;
            while from < *rows {
                let to = (from + MEM_UNIT_ROWS).min(*rows);
                let (mut min_ts, mut max_ts) = (i64::MAX, i64::MIN);
                for row in from..to {
                    let timestamp = memtable.timestamp(row);
                    min_ts = min_ts.min(timestamp);
                    max_ts = max_ts.max(timestamp);
                }
                if max_ts >= start && min_ts <= end {
                    units.push(ScanUnit {
                        min_ts,
                        max_ts,
                        kind: UnitKind::Mem { table: Arc::clone(table), rows: from..to },
                        shared: Arc::clone(&self.shared),
                    });
                }
                from = to;
            }
        }
        Ok(units)
    }
}

impl ScanUnit {
    /// Events (rows) it may hold, for planning.
    pub fn rows(&self) -> u64 {
        match &self.kind {
            UnitKind::RowGroup { rows, .. } => *rows,
            UnitKind::Mem { rows, .. } => (rows.end - rows.start) as u64,
        }
    }

    /// Reads the visible events with timestamps in `start..=end`, the
    /// columns `projection` (indexes into [`event_schema`], in that order).
    /// `None` when none is left.
    pub async fn read(&self, projection: &[usize], start: i64, end: i64) -> Result<Option<UnitBatch>, StoreError> {
        let start = start.max(self.shared.cutoff);
        if start > end || self.max_ts < start || self.min_ts > end {
            return Ok(None);
        }
        let batch = match &self.kind {
            UnitKind::RowGroup { segment, row_group, all_live, message_bytes, rows } => {
                self.read_row_group(segment, *row_group, *all_live, *message_bytes, *rows, projection, start, end).await?
            }
            UnitKind::Mem { table, rows } => self.read_memtable(table, rows.clone(), projection, start, end)?,
        };
        Ok(batch.filter(|read| read.rows() > 0))
    }

    #[allow(clippy::too_many_arguments)]
    async fn read_row_group(
        &self,
        segment: &Arc<Segment>,
        row_group: usize,
        all_live: bool,
        message_bytes: Option<u64>,
        total_rows: u64,
        projection: &[usize],
        start: i64,
        end: i64,
    ) -> Result<Option<UnitBatch>, StoreError> {
        let whole_range = self.min_ts >= start && self.max_ts <= end;
        // Columns to read: the projection, plus what deciding visibility needs.
        let mut read: Vec<usize> = projection.to_vec();
        if !whole_range && !read.contains(&COL_TIMESTAMP) {
            read.push(COL_TIMESTAMP);
        }
        if !all_live && !read.contains(&COL_STREAM_ID) {
            read.push(COL_STREAM_ID);
        }
        let count_messages = message_bytes.is_none() && !read.contains(&COL_MESSAGE);
        if count_messages {
            read.push(COL_MESSAGE);
        }
        let metadata = segment.metadata().await?.clone();
        let mask = ProjectionMask::roots(metadata.metadata().file_metadata().schema_descr(), read.iter().copied());
        let stream = ParquetRecordBatchStreamBuilder::new_with_metadata(segment.reader(), metadata)
            .with_row_groups(vec![row_group])
            .with_projection(mask)
            .with_batch_size(READ_BATCH_ROWS)
            .build()
            .map_err(SegmentError::from)?;
        let batches: Vec<RecordBatch> = stream.try_collect().await.map_err(SegmentError::from)?;
        // The reader returns the columns in file order.
        let mut sorted = read.clone();
        sorted.sort_unstable();
        let positions: Vec<usize> =
            projection.iter().filter_map(|index| sorted.iter().position(|at| at == index)).collect();
        let mut kept = Vec::with_capacity(batches.len());
        let mut bytes = 0;
        for batch in batches {
            let batch = self.visible(batch, &sorted, whole_range, all_live, start, end)?;
            if batch.num_rows() == 0 {
                continue;
            }
            bytes += match column_of(&batch, &sorted, COL_MESSAGE) {
                Some(messages) => string_bytes(messages),
                None => match message_bytes {
                    Some(total) if total_rows > 0 => {
                        u64::try_from(u128::from(total) * batch.num_rows() as u128 / u128::from(total_rows)).unwrap_or(total)
                    }
                    Some(total) => total,
                    None => 0,
                },
            };
            kept.push(project(&batch, &positions)?);
        }
        Ok(Some(UnitBatch { batches: kept, message_bytes: bytes }))
    }

    /// The rows of `batch` (columns `sorted`) in `start..=end` and of live
    /// streams; the checks known to pass for the whole unit are skipped.
    fn visible(
        &self,
        batch: RecordBatch,
        sorted: &[usize],
        whole_range: bool,
        all_live: bool,
        start: i64,
        end: i64,
    ) -> Result<RecordBatch, StoreError> {
        let column = |index: usize| column_of(&batch, sorted, index);
        let mut keep: Option<BooleanArray> = None;
        if !whole_range && let Some(times) = column(COL_TIMESTAMP) {
            let times = times.as_any().downcast_ref::<TimestampMillisecondArray>();
            keep = times.map(|times| times.iter().map(|time| Some(time.is_some_and(|time| time >= start && time <= end))).collect());
        }
        if !all_live && let Some(ids) = column(COL_STREAM_ID).and_then(|ids| ids.as_any().downcast_ref::<UInt64Array>()) {
            let live: BooleanArray = ids.iter().map(|id| Some(id.is_some_and(|id| self.shared.streams.contains_key(&id)))).collect();
            keep = Some(match keep {
                Some(keep) => arrow::compute::and(&keep, &live).map_err(SegmentError::from)?,
                None => live,
            });
        }
        Ok(match &keep {
            Some(keep) if keep.true_count() < batch.num_rows() => filter_record_batch(&batch, keep).map_err(SegmentError::from)?,
            _ => batch,
        })
    }

    fn read_memtable(&self, table: &SharedMemtable, rows: Range<usize>, projection: &[usize], start: i64, end: i64) -> Result<Option<UnitBatch>, StoreError> {
        let memtable = table.read();
        let selected: Vec<usize> = rows
            .filter(|&row| {
                let time = memtable.timestamp(row);
                time >= start && time <= end && self.shared.streams.contains_key(&memtable.stream_id(row))
            })
            .collect();
        let message_bytes: u64 = selected.iter().map(|&row| memtable.message_len(row) as u64).sum();
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(projection.len());
        for &index in projection {
            let array: ArrayRef = match index {
                COL_TIMESTAMP => Arc::new(
                    TimestampMillisecondArray::from_iter_values(selected.iter().map(|&row| memtable.timestamp(row))).with_timezone("UTC"),
                ),
                COL_INGESTION => Arc::new(
                    TimestampMillisecondArray::from_iter_values(selected.iter().map(|&row| memtable.ingestion(row))).with_timezone("UTC"),
                ),
                COL_EVENT_ID => Arc::new(UInt64Array::from_iter_values(selected.iter().map(|&row| memtable.event_id(row)))),
                COL_STREAM_ID => Arc::new(UInt64Array::from_iter_values(selected.iter().map(|&row| memtable.stream_id(row)))),
                COL_LOG_STREAM => {
                    let mut names = StringBuilder::with_capacity(selected.len(), selected.len() * 16);
                    for &row in &selected {
                        names.append_value(self.shared.streams.get(&memtable.stream_id(row)).map_or("", |name| &**name));
                    }
                    Arc::new(names.finish())
                }
                COL_MESSAGE => {
                    let mut messages = StringBuilder::with_capacity(selected.len(), usize::try_from(message_bytes).unwrap_or(0));
                    for &row in &selected {
                        messages.append_value(memtable.message(row));
                    }
                    Arc::new(messages.finish())
                }
                other => return Err(StoreError::Unavailable(format!("no column {other} in log events"))),
            };
            columns.push(array);
        }
        drop(memtable);
        let schema = Arc::new(event_schema().project(projection).map_err(SegmentError::from)?);
        let options = RecordBatchOptions::new().with_row_count(Some(selected.len()));
        let batch = RecordBatch::try_new_with_options(schema, columns, &options).map_err(SegmentError::from)?;
        Ok(Some(UnitBatch { batches: vec![batch], message_bytes }))
    }
}

fn column_of<'a>(batch: &'a RecordBatch, sorted: &[usize], index: usize) -> Option<&'a ArrayRef> {
    sorted.iter().position(|&at| at == index).and_then(|at| batch.columns().get(at))
}

fn string_bytes(array: &ArrayRef) -> u64 {
    match array.as_any().downcast_ref::<arrow::array::StringArray>() {
        Some(strings) => {
            let offsets = strings.value_offsets();
            let span = offsets.last().copied().unwrap_or(0) - offsets.first().copied().unwrap_or(0);
            u64::try_from(span).unwrap_or(0)
        }
        None => 0,
    }
}

/// The batch's columns at `positions`, keeping the row count.
fn project(batch: &RecordBatch, positions: &[usize]) -> Result<RecordBatch, StoreError> {
    if positions.is_empty() {
        let schema = Arc::new(arrow::datatypes::Schema::empty());
        let options = RecordBatchOptions::new().with_row_count(Some(batch.num_rows()));
        return Ok(RecordBatch::try_new_with_options(schema, Vec::new(), &options).map_err(SegmentError::from)?);
    }
    Ok(batch.project(positions).map_err(SegmentError::from)?)
}
