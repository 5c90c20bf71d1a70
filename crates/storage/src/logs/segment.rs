//! Segment files: immutable Parquet files of one log group's events for one
//! UTC day, sorted by [`EventKey`] (timestamp, then event id).
//!
//! Columns: `timestamp` and `ingestion_time` (milliseconds, UTC),
//! `event_id` (u64), `stream_id` (u64; never reused, so a recreated stream
//! never sees a deleted stream's events), `log_stream` (the stream name, for
//! outside readers such as DuckDB or Trino) and `message`. Row groups hold at
//! most [`ROW_GROUP_ROWS`] rows; `timestamp` has page-level statistics for
//! time pruning and `stream_id` a bloom filter so a one-stream read skips row
//! groups without that stream. The format version is in the file's
//! key-value metadata under `argus.logs.version`.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, RecordBatch, StringArray, StringBuilder, TimestampMillisecondArray, UInt64Array,
};
use arrow::buffer::OffsetBuffer;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use bytes::Bytes;
use futures::TryStreamExt;
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ArrowReaderOptions};
use futures::FutureExt;
use futures::future::BoxFuture;
use parquet::arrow::async_reader::{AsyncFileReader, ParquetRecordBatchStreamBuilder};
use parquet::errors::ParquetError;
use parquet::file::metadata::{ParquetMetaData, ParquetMetaDataReader};
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::metadata::{KeyValue, SortingColumn};
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::file::statistics::Statistics;
use parquet::schema::types::ColumnPath;
use tokio::sync::OnceCell;

use super::memtable::Memtable;
use super::{Direction, EventKey, ScanFilter, StoredEvent};
use crate::catalog::SegmentRecord;
use crate::objects::ObjectStorage;

pub const FORMAT_VERSION: &str = "1";
pub const ROW_GROUP_ROWS: usize = 32 * 1024;
/// Fresh segments are written while ingest runs: cheap compression.
const FRESH_ZSTD_LEVEL: i32 = 1;
const MILLIS_PER_DAY: i64 = 86_400_000;

const COL_TIMESTAMP: usize = 0;
const COL_INGESTION: usize = 1;
const COL_EVENT_ID: usize = 2;
const COL_STREAM_ID: usize = 3;
const COL_MESSAGE: usize = 5;

#[derive(Debug, thiserror::Error)]
pub enum SegmentError {
    #[error("parquet: {0}")]
    Parquet(#[from] parquet::errors::ParquetError),
    #[error("arrow: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
    #[error("segment file {path} is not in the expected format: {reason}")]
    Format { path: String, reason: String },
}

pub fn schema() -> SchemaRef {
    let millis = DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into()));
    Arc::new(Schema::new(vec![
        Field::new("timestamp", millis.clone(), false),
        Field::new("ingestion_time", millis, false),
        Field::new("event_id", DataType::UInt64, false),
        Field::new("stream_id", DataType::UInt64, false),
        Field::new("log_stream", DataType::Utf8, false),
        Field::new("message", DataType::Utf8, false),
    ]))
}

/// A segment file built in memory, not yet written.
#[derive(Debug)]
pub struct BuiltSegment {
    /// UTC day of the events, `YYYY-MM-DD`.
    pub day: String,
    pub bytes: Bytes,
    pub min_ts: i64,
    pub max_ts: i64,
    pub rows: u64,
    /// stream id → (rows, message bytes)
    pub streams: BTreeMap<u64, (u64, u64)>,
}

fn writer_properties(distinct_streams: usize) -> WriterProperties {
    let stream_id = ColumnPath::from("stream_id");
    WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(FRESH_ZSTD_LEVEL).unwrap_or_default()))
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .set_statistics_enabled(EnabledStatistics::Chunk)
        .set_column_statistics_enabled(ColumnPath::from("timestamp"), EnabledStatistics::Page)
        .set_column_bloom_filter_enabled(stream_id.clone(), true)
        .set_column_bloom_filter_fpp(stream_id.clone(), 0.01)
        .set_column_bloom_filter_max_ndv(stream_id, distinct_streams.max(1) as u64)
        .set_column_dictionary_enabled(ColumnPath::from("message"), false)
        .set_sorting_columns(Some(vec![
            SortingColumn { column_idx: COL_TIMESTAMP as i32, descending: false, nulls_first: false },
            SortingColumn { column_idx: COL_EVENT_ID as i32, descending: false, nulls_first: false },
        ]))
        .set_key_value_metadata(Some(vec![KeyValue::new("argus.logs.version".to_string(), FORMAT_VERSION.to_string())]))
        .build()
}

/// Builds one file per UTC day from a memtable's rows in key order,
/// leaving out streams for which `stream_name` has no name (deleted
/// streams). Row groups are built and encoded one at a time, so the memory
/// a flush needs beyond the memtable is one row group plus the compressed
/// file.
pub fn build(memtable: &Memtable, stream_name: impl Fn(u64) -> Option<Arc<str>>) -> Result<Vec<BuiltSegment>, SegmentError> {
    let names: HashMap<u64, Option<Arc<str>>> =
        memtable.streams().keys().map(|&stream_id| (stream_id, stream_name(stream_id))).collect();
    let rows = memtable.sorted_rows(|stream_id| names.get(&stream_id).is_some_and(Option::is_some));
    let mut built = Vec::new();
    let day_of = |row: usize| memtable.timestamp(row).div_euclid(MILLIS_PER_DAY);
    let mut rest: &[usize] = &rows;
    while let Some(&first) = rest.first() {
        let day = day_of(first);
        let (day_rows, later) = rest.split_at(rest.partition_point(|&row| day_of(row) == day));
        rest = later;

        let mut streams: BTreeMap<u64, (u64, u64)> = BTreeMap::new();
        let message_bytes: usize = day_rows.iter().map(|&row| memtable.message_len(row)).sum();
        let mut buffer = Vec::with_capacity(message_bytes / 4 + 4096);
        let mut writer = ArrowWriter::try_new(&mut buffer, schema(), Some(writer_properties(names.len())))?;
        for chunk in day_rows.chunks(ROW_GROUP_ROWS) {
            writer.write(&row_group_batch(memtable, chunk, &names, &mut streams)?)?;
        }
        writer.close()?;
        let min_ts = day_rows.first().map(|&row| memtable.timestamp(row)).unwrap_or_default();
        let max_ts = day_rows.last().map(|&row| memtable.timestamp(row)).unwrap_or_default();
        built.push(BuiltSegment {
            day: day_label(min_ts),
            bytes: Bytes::from(buffer),
            min_ts,
            max_ts,
            rows: day_rows.len() as u64,
            streams,
        });
    }
    Ok(built)
}

/// One row group's columns; adds each row to its stream's (rows, message
/// bytes) totals.
fn row_group_batch(
    memtable: &Memtable,
    rows: &[usize],
    names: &HashMap<u64, Option<Arc<str>>>,
    streams: &mut BTreeMap<u64, (u64, u64)>,
) -> Result<RecordBatch, SegmentError> {
    let mut log_stream = StringBuilder::with_capacity(rows.len(), rows.len() * 16);
    // Messages are copied into one buffer and checked as UTF-8 once, as a
    // whole column, instead of row by row.
    let message_bytes: usize = rows.iter().map(|&row| memtable.message_len(row)).sum();
    let mut values: Vec<u8> = Vec::with_capacity(message_bytes);
    let mut offsets: Vec<i32> = Vec::with_capacity(rows.len() + 1);
    offsets.push(0);
    for &row in rows {
        let stream_id = memtable.stream_id(row);
        let name = names.get(&stream_id).and_then(Option::as_deref).unwrap_or("");
        log_stream.append_value(name);
        let text = memtable.message_bytes(row);
        values.extend_from_slice(text);
        offsets.push(i32::try_from(values.len()).map_err(|_| {
            SegmentError::Arrow(arrow::error::ArrowError::ComputeError("a row group's messages exceed 2 GiB".into()))
        })?);
        let entry = streams.entry(stream_id).or_default();
        entry.0 += 1;
        entry.1 += text.len() as u64;
    }
    let message = StringArray::try_new(OffsetBuffer::new(offsets.into()), values.into(), None)?;
    let arrays: Vec<ArrayRef> = vec![
        Arc::new(TimestampMillisecondArray::from_iter_values(rows.iter().map(|&row| memtable.timestamp(row))).with_timezone("UTC")),
        Arc::new(TimestampMillisecondArray::from_iter_values(rows.iter().map(|&row| memtable.ingestion(row))).with_timezone("UTC")),
        Arc::new(UInt64Array::from_iter_values(rows.iter().map(|&row| memtable.event_id(row)))),
        Arc::new(UInt64Array::from_iter_values(rows.iter().map(|&row| memtable.stream_id(row)))),
        Arc::new(log_stream.finish()),
        Arc::new(message),
    ];
    Ok(RecordBatch::try_new(schema(), arrays)?)
}

/// `YYYY-MM-DD` of a millisecond timestamp (UTC, proleptic Gregorian).
pub fn day_label(millis: i64) -> String {
    let days = millis.div_euclid(MILLIS_PER_DAY);
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let day_of_year = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

/// A segment file known to the store; its Parquet footer is read once, on
/// first use, and kept.
#[derive(Debug)]
pub struct Segment {
    pub record: SegmentRecord,
    storage: ObjectStorage,
    metadata: OnceCell<ArrowReaderMetadata>,
}

impl Segment {
    pub fn new(record: SegmentRecord, storage: ObjectStorage) -> Segment {
        Segment { record, storage, metadata: OnceCell::new() }
    }

    fn reader(&self) -> SegmentReader {
        SegmentReader { storage: self.storage.clone(), path: self.record.path.clone(), file_bytes: self.record.file_bytes }
    }

    async fn metadata(&self) -> Result<&ArrowReaderMetadata, SegmentError> {
        self.metadata
            .get_or_try_init(|| async {
                let mut reader = self.reader();
                let options = ArrowReaderOptions::new();
                Ok(ArrowReaderMetadata::load_async(&mut reader, options).await?)
            })
            .await
    }

    pub fn may_contain(&self, filter: &ScanFilter) -> bool {
        self.record.max_ts >= filter.start_ts
            && self.record.min_ts <= filter.end_ts
            && self.record.streams.iter().any(|stream| filter.streams.contains(stream.stream_id))
    }

    fn format_error(&self, reason: impl Into<String>) -> SegmentError {
        SegmentError::Format { path: self.record.path.clone(), reason: reason.into() }
    }
}

/// Parquet's async reader over [`ObjectStorage`]: every byte of a segment
/// file is read through the object store.
struct SegmentReader {
    storage: ObjectStorage,
    path: String,
    file_bytes: u64,
}

fn external(error: crate::objects::ObjectError) -> ParquetError {
    ParquetError::External(Box::new(error))
}

impl AsyncFileReader for SegmentReader {
    fn get_bytes(&mut self, range: std::ops::Range<u64>) -> BoxFuture<'_, parquet::errors::Result<Bytes>> {
        async move { self.storage.get_range(&self.path, range).await.map_err(external) }.boxed()
    }

    fn get_byte_ranges(
        &mut self,
        ranges: Vec<std::ops::Range<u64>>,
    ) -> BoxFuture<'_, parquet::errors::Result<Vec<Bytes>>> {
        async move { self.storage.get_ranges(&self.path, &ranges).await.map_err(external) }.boxed()
    }

    fn get_metadata<'a>(
        &'a mut self,
        _options: Option<&'a ArrowReaderOptions>,
    ) -> BoxFuture<'a, parquet::errors::Result<Arc<ParquetMetaData>>> {
        async move {
            let file_bytes = self.file_bytes;
            let metadata =
                ParquetMetaDataReader::new().with_prefetch_hint(Some(64 * 1024)).load_and_finish(self, file_bytes).await?;
            Ok(Arc::new(metadata))
        }
        .boxed()
    }
}

/// A lazy, key-ordered read over one segment: one row group per chunk.
pub struct SegCursor {
    segment: Arc<Segment>,
    filter: Arc<ScanFilter>,
    direction: Direction,
    after: Option<EventKey>,
    /// Row groups still to read, in read order; `None` until the footer is loaded.
    pending: Option<VecDeque<usize>>,
}

impl SegCursor {
    pub fn new(segment: Arc<Segment>, filter: Arc<ScanFilter>, direction: Direction, after: Option<EventKey>) -> SegCursor {
        SegCursor { segment, filter, direction, after, pending: None }
    }

    /// A key no later (in read direction) than anything this cursor returns.
    pub fn bound(&self) -> EventKey {
        let record = &self.segment.record;
        match self.direction {
            Direction::Forward => EventKey { timestamp: record.min_ts.max(self.filter.start_ts), event_id: 0 },
            Direction::Backward => EventKey { timestamp: record.max_ts.min(self.filter.end_ts), event_id: u64::MAX },
        }
    }

    async fn init(&mut self) -> Result<(), SegmentError> {
        let metadata = self.segment.metadata().await?;
        let mut candidates = VecDeque::new();
        for (index, row_group) in metadata.metadata().row_groups().iter().enumerate() {
            let Some(column) = row_group.columns().get(COL_TIMESTAMP) else {
                return Err(self.segment.format_error("missing timestamp column"));
            };
            let (min_ts, max_ts) = match column.statistics() {
                Some(Statistics::Int64(stats)) => {
                    (stats.min_opt().copied().unwrap_or(i64::MIN), stats.max_opt().copied().unwrap_or(i64::MAX))
                }
                _ => (i64::MIN, i64::MAX),
            };
            if max_ts < self.filter.start_ts || min_ts > self.filter.end_ts {
                continue;
            }
            let past_position = match (self.direction, self.after) {
                (_, None) => true,
                (Direction::Forward, Some(after)) => max_ts >= after.timestamp,
                (Direction::Backward, Some(after)) => min_ts <= after.timestamp,
            };
            if past_position {
                candidates.push_back(index);
            }
        }
        if self.direction == Direction::Backward {
            candidates = candidates.into_iter().rev().collect();
        }
        self.pending = Some(candidates);
        Ok(())
    }

    /// The matching events of the next row group that has any, in read
    /// direction; empty when the segment is exhausted.
    pub async fn next_chunk(&mut self) -> Result<Vec<StoredEvent>, SegmentError> {
        if self.pending.is_none() {
            self.init().await?;
        }
        loop {
            let Some(row_group) = self.pending.as_mut().and_then(VecDeque::pop_front) else {
                return Ok(Vec::new());
            };
            let events = self.read_row_group(row_group).await?;
            if !events.is_empty() {
                return Ok(events);
            }
        }
    }

    async fn read_row_group(&self, row_group: usize) -> Result<Vec<StoredEvent>, SegmentError> {
        let metadata = self.segment.metadata().await?.clone();
        let mut builder = ParquetRecordBatchStreamBuilder::new_with_metadata(self.segment.reader(), metadata);
        if let Some(stream_id) = self.filter.streams.single()
            && let Some(bloom) = builder.get_row_group_column_bloom_filter(row_group, COL_STREAM_ID).await?
            && !bloom.check(&(stream_id as i64))
        {
            return Ok(Vec::new());
        }
        let stream = builder.with_row_groups(vec![row_group]).with_batch_size(ROW_GROUP_ROWS).build()?;
        let batches: Vec<RecordBatch> = stream.try_collect().await?;
        let mut events = Vec::new();
        for batch in &batches {
            self.collect_matches(batch, &mut events)?;
        }
        if self.direction == Direction::Backward {
            events.reverse();
        }
        Ok(events)
    }

    fn collect_matches(&self, batch: &RecordBatch, out: &mut Vec<StoredEvent>) -> Result<(), SegmentError> {
        let column = |index: usize| batch.columns().get(index).ok_or_else(|| self.segment.format_error("missing column"));
        let timestamps = downcast::<TimestampMillisecondArray>(column(COL_TIMESTAMP)?, || self.segment.format_error("timestamp type"))?;
        let ingestion = downcast::<TimestampMillisecondArray>(column(COL_INGESTION)?, || self.segment.format_error("ingestion_time type"))?;
        let event_ids = downcast::<UInt64Array>(column(COL_EVENT_ID)?, || self.segment.format_error("event_id type"))?;
        let stream_ids = downcast::<UInt64Array>(column(COL_STREAM_ID)?, || self.segment.format_error("stream_id type"))?;
        let messages = downcast::<StringArray>(column(COL_MESSAGE)?, || self.segment.format_error("message type"))?;
        for row in 0..batch.num_rows() {
            let key = EventKey { timestamp: timestamps.value(row), event_id: event_ids.value(row) };
            if key.timestamp < self.filter.start_ts || key.timestamp > self.filter.end_ts {
                continue;
            }
            let past_position = match (self.direction, self.after) {
                (_, None) => true,
                (Direction::Forward, Some(after)) => key > after,
                (Direction::Backward, Some(after)) => key < after,
            };
            if !past_position || !self.filter.streams.contains(stream_ids.value(row)) {
                continue;
            }
            let message = messages.value(row);
            if !self.filter.matches_message(message) {
                continue;
            }
            out.push(StoredEvent {
                key,
                stream_id: stream_ids.value(row),
                ingestion_ms: ingestion.value(row),
                message: message.to_string(),
            });
        }
        Ok(())
    }
}

fn downcast<T: Array + 'static>(array: &ArrayRef, error: impl FnOnce() -> SegmentError) -> Result<&T, SegmentError> {
    array.as_any().downcast_ref::<T>().ok_or_else(error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_labels_are_utc_calendar_days() {
        assert_eq!(day_label(0), "1970-01-01");
        assert_eq!(day_label(86_399_999), "1970-01-01");
        assert_eq!(day_label(86_400_000), "1970-01-02");
        assert_eq!(day_label(1_709_251_200_000), "2024-03-01");
        assert_eq!(day_label(1_709_164_800_000), "2024-02-29");
        assert_eq!(day_label(-1), "1969-12-31");
    }
}
