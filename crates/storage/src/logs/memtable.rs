//! The in-memory buffer of one log group's recently accepted events, before
//! they are flushed to a segment file.
//!
//! Append-only and copy-free: a batch's messages stay in the WAL payload the
//! write already produced (shared `Bytes`); the memtable records, per row,
//! the key, stream and where the message sits in its payload. Each inserted
//! batch is a *run*. PutLogEvents batches are in chronological order and
//! event ids grow within a batch, so every run is sorted by [`EventKey`];
//! reads and flushes merge runs instead of keeping a sorted index current.

#![allow(clippy::indexing_slicing)] // row and run indexes are recorded at insert and always in bounds

use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap};
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use parking_lot::RwLock;

use super::record::BatchIndex;
use super::{Direction, EventKey, ScanFilter, StoredEvent};
use crate::catalog::StreamStats;

/// Rows of one inserted batch: one stream, sorted by key.
#[derive(Debug, Clone)]
struct Run {
    stream_id: u64,
    start: usize,
    len: usize,
    min_ts: i64,
    max_ts: i64,
    /// The WAL payload the messages live in.
    payload: Bytes,
}

/// Per-stream totals of what this memtable holds.
#[derive(Debug, Clone, Copy, Default)]
pub struct StreamDelta {
    pub stats: StreamStats,
    pub rows: u64,
    pub message_bytes: u64,
    /// Bytes of WAL records that carry this stream's events.
    pub wal_bytes: u64,
}

/// Bytes of bookkeeping per row (keys, stream, message location).
const ROW_OVERHEAD: usize = 44;

#[derive(Debug)]
pub struct Memtable {
    stream_ids: Vec<u64>,
    timestamps: Vec<i64>,
    ingestion: Vec<i64>,
    event_ids: Vec<u64>,
    /// Row → its run, and the message's byte range in the run's payload.
    run_of_row: Vec<u32>,
    message_offsets: Vec<u32>,
    message_lens: Vec<u32>,
    runs: Vec<Run>,
    runs_by_stream: HashMap<u64, Vec<usize>>,
    streams: HashMap<u64, StreamDelta>,
    payload_bytes: usize,
    min_lsn: u64,
    max_lsn: u64,
    wal_bytes: u64,
    created: Instant,
}

pub type SharedMemtable = Arc<RwLock<Memtable>>;

impl Default for Memtable {
    fn default() -> Self {
        Memtable {
            stream_ids: Vec::new(),
            timestamps: Vec::new(),
            ingestion: Vec::new(),
            event_ids: Vec::new(),
            run_of_row: Vec::new(),
            message_offsets: Vec::new(),
            message_lens: Vec::new(),
            runs: Vec::new(),
            runs_by_stream: HashMap::new(),
            streams: HashMap::new(),
            payload_bytes: 0,
            min_lsn: 0,
            max_lsn: 0,
            wal_bytes: 0,
            created: Instant::now(),
        }
    }
}

/// Event id of the `index`-th event of the WAL record `lsn`: unique, and
/// growing in ingestion order. A batch holds at most 10,000 events.
pub fn event_id(lsn: u64, index: usize) -> u64 {
    (lsn << 16) | (index as u64 & 0xFFFF)
}

impl Memtable {
    pub fn new() -> Memtable {
        Memtable::default()
    }

    pub fn len(&self) -> usize {
        self.timestamps.len()
    }

    /// Approximate memory held, for flush decisions.
    pub fn memory_bytes(&self) -> usize {
        self.payload_bytes + self.len() * ROW_OVERHEAD + self.runs.len() * 64
    }

    pub fn min_lsn(&self) -> u64 {
        self.min_lsn
    }

    pub fn max_lsn(&self) -> u64 {
        self.max_lsn
    }

    pub fn wal_bytes(&self) -> u64 {
        self.wal_bytes
    }

    pub fn age(&self) -> std::time::Duration {
        self.created.elapsed()
    }

    pub fn streams(&self) -> &HashMap<u64, StreamDelta> {
        &self.streams
    }

    /// Adds one durable WAL record's events (chronological, one stream);
    /// `payload` is the record's payload, which `batch` indexes.
    pub fn insert(&mut self, lsn: u64, batch: &BatchIndex, payload: Bytes, wal_bytes: u64) {
        debug_assert!(batch.events.windows(2).all(|pair| pair[0].timestamp <= pair[1].timestamp));
        if self.max_lsn == 0 {
            self.created = Instant::now();
        }
        if self.min_lsn == 0 {
            self.min_lsn = lsn;
        }
        self.max_lsn = self.max_lsn.max(lsn);
        self.wal_bytes += wal_bytes;
        let start = self.len();
        let delta = self.streams.entry(batch.stream_id).or_default();
        delta.wal_bytes += wal_bytes;
        let (Some(first), Some(last)) = (batch.events.first(), batch.events.last()) else {
            return;
        };
        let run_index = self.runs.len() as u32;
        for (index, event) in batch.events.iter().enumerate() {
            self.stream_ids.push(batch.stream_id);
            self.timestamps.push(event.timestamp);
            self.ingestion.push(batch.ingestion_ms);
            self.event_ids.push(event_id(lsn, index));
            self.run_of_row.push(run_index);
            self.message_offsets.push(event.offset);
            self.message_lens.push(event.len);
            delta.message_bytes += u64::from(event.len);
        }
        delta.rows += batch.events.len() as u64;
        delta.stats.merge(&StreamStats {
            first_event_ms: Some(first.timestamp),
            last_event_ms: Some(last.timestamp),
            last_ingestion_ms: Some(batch.ingestion_ms),
        });
        self.payload_bytes += payload.len();
        self.runs_by_stream.entry(batch.stream_id).or_default().push(self.runs.len());
        self.runs.push(Run {
            stream_id: batch.stream_id,
            start,
            len: batch.events.len(),
            min_ts: first.timestamp,
            max_ts: last.timestamp,
            payload,
        });
    }

    fn key(&self, row: usize) -> EventKey {
        EventKey { timestamp: self.timestamps[row], event_id: self.event_ids[row] }
    }

    pub fn stream_id(&self, row: usize) -> u64 {
        self.stream_ids[row]
    }

    pub fn timestamp(&self, row: usize) -> i64 {
        self.timestamps[row]
    }

    pub fn ingestion(&self, row: usize) -> i64 {
        self.ingestion[row]
    }

    pub fn event_id(&self, row: usize) -> u64 {
        self.event_ids[row]
    }

    /// The message of a row. Payloads hold what were `String`s, so the UTF-8
    /// check cannot fail short of memory corruption.
    pub fn message(&self, row: usize) -> &str {
        std::str::from_utf8(self.message_bytes(row)).unwrap_or_default()
    }

    /// The message's bytes, unchecked (flush validates whole columns at once).
    pub fn message_bytes(&self, row: usize) -> &[u8] {
        let run = &self.runs[self.run_of_row[row] as usize];
        let start = self.message_offsets[row] as usize;
        run.payload.get(start..start + self.message_lens[row] as usize).unwrap_or_default()
    }

    pub fn message_len(&self, row: usize) -> usize {
        self.message_lens[row] as usize
    }

    pub fn stored_event(&self, row: usize) -> StoredEvent {
        StoredEvent {
            key: self.key(row),
            stream_id: self.stream_ids[row],
            ingestion_ms: self.ingestion[row],
            message: self.message(row).to_string(),
        }
    }

    /// Row indexes of every event, in key order (a merge of the sorted
    /// runs); rows of streams for which `keep` is false are left out. Used
    /// by flush.
    pub fn sorted_rows(&self, keep: impl Fn(u64) -> bool) -> Vec<usize> {
        let mut heap: BinaryHeap<std::cmp::Reverse<(EventKey, usize)>> = BinaryHeap::new();
        let mut ends: Vec<usize> = Vec::new();
        for run in &self.runs {
            if run.len > 0 && keep(run.stream_id) {
                heap.push(std::cmp::Reverse((self.key(run.start), ends.len())));
                ends.push(run.start + run.len);
            }
        }
        // Which row each heap slot is at.
        let mut positions: Vec<usize> =
            self.runs.iter().filter(|run| run.len > 0 && keep(run.stream_id)).map(|run| run.start).collect();
        let mut rows = Vec::with_capacity(self.len());
        while let Some(std::cmp::Reverse((_, slot))) = heap.pop() {
            let row = positions[slot];
            rows.push(row);
            let next = row + 1;
            if next < ends[slot] {
                positions[slot] = next;
                heap.push(std::cmp::Reverse((self.key(next), slot)));
            }
        }
        rows
    }
}

/// One run being merged: the next row to look at and the last row allowed.
#[derive(Debug, Clone, Copy)]
struct RunCursor {
    /// Next row in read direction.
    next: usize,
    /// Rows left in read direction.
    remaining: usize,
}

#[derive(Debug, PartialEq, Eq)]
struct HeapEntry {
    key: EventKey,
    cursor: usize,
    direction: Direction,
}

impl Ord for HeapEntry {
    fn cmp(&self, other: &Self) -> Ordering {
        // BinaryHeap pops the greatest: forward scans want the smallest key.
        let by_key = match self.direction {
            Direction::Forward => other.key.cmp(&self.key),
            Direction::Backward => self.key.cmp(&other.key),
        };
        by_key.then_with(|| other.cursor.cmp(&self.cursor))
    }
}

impl PartialOrd for HeapEntry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// A lazy, key-ordered read over a memtable: merges the runs that can hold
/// matching events. It sees the runs that existed when it was created.
pub struct MemCursor {
    table: SharedMemtable,
    filter: Arc<ScanFilter>,
    direction: Direction,
    cursors: Vec<RunCursor>,
    heap: BinaryHeap<HeapEntry>,
    bound: Option<EventKey>,
}

impl MemCursor {
    pub fn new(table: SharedMemtable, filter: Arc<ScanFilter>, direction: Direction, after: Option<EventKey>) -> MemCursor {
        let mut cursors = Vec::new();
        let mut heap = BinaryHeap::new();
        let mut bound: Option<EventKey> = None;
        {
            let memtable = table.read();
            let run_indexes: Vec<usize> = match filter.streams.single() {
                Some(stream_id) => memtable.runs_by_stream.get(&stream_id).cloned().unwrap_or_default(),
                None => (0..memtable.runs.len()).collect(),
            };
            for run_index in run_indexes {
                let run = &memtable.runs[run_index];
                if run.max_ts < filter.start_ts || run.min_ts > filter.end_ts || !filter.streams.contains(run.stream_id) {
                    continue;
                }
                let rows = run.start..run.start + run.len;
                // First row (in read direction) inside the time range and past `after`.
                let cursor = match direction {
                    Direction::Forward => {
                        let first = partition_point(rows.clone(), |row| {
                            let key = memtable.key(row);
                            key.timestamp < filter.start_ts || after.is_some_and(|after| key <= after)
                        });
                        let end = partition_point(rows.clone(), |row| memtable.timestamps[row] <= filter.end_ts);
                        RunCursor { next: first, remaining: end.saturating_sub(first) }
                    }
                    Direction::Backward => {
                        let end = partition_point(rows.clone(), |row| {
                            let key = memtable.key(row);
                            key.timestamp <= filter.end_ts && after.is_none_or(|after| key < after)
                        });
                        let first = partition_point(rows.clone(), |row| memtable.timestamps[row] < filter.start_ts);
                        RunCursor { next: end.saturating_sub(1), remaining: end.saturating_sub(first) }
                    }
                };
                if cursor.remaining == 0 {
                    continue;
                }
                let key = memtable.key(cursor.next);
                bound = Some(match (bound, direction) {
                    (None, _) => key,
                    (Some(b), Direction::Forward) => b.min(key),
                    (Some(b), Direction::Backward) => b.max(key),
                });
                heap.push(HeapEntry { key, cursor: cursors.len(), direction });
                cursors.push(cursor);
            }
        }
        MemCursor { table, filter, direction, cursors, heap, bound }
    }

    /// The first key (in read direction) this cursor can return, if any.
    pub fn bound(&self) -> Option<EventKey> {
        self.bound
    }

    /// Up to `max` matching events in read direction; empty when done.
    pub fn next_chunk(&mut self, max: usize) -> Vec<StoredEvent> {
        let memtable = self.table.read();
        let mut out = Vec::new();
        // Bound the work per call even when the predicate rejects most rows.
        let mut examined = 0usize;
        while out.len() < max && examined < max.saturating_mul(64).max(4096) {
            let Some(entry) = self.heap.pop() else { break };
            examined += 1;
            let cursor = &mut self.cursors[entry.cursor];
            let row = cursor.next;
            cursor.remaining -= 1;
            if cursor.remaining > 0 {
                cursor.next = match self.direction {
                    Direction::Forward => row + 1,
                    Direction::Backward => row - 1,
                };
                self.heap.push(HeapEntry { key: memtable.key(cursor.next), cursor: entry.cursor, direction: self.direction });
            }
            if self.filter.matches_message(memtable.message(row)) {
                out.push(memtable.stored_event(row));
            }
        }
        out
    }

    pub fn is_done(&self) -> bool {
        self.heap.is_empty()
    }
}

/// First index in `range` for which `pred` is false (`pred` must be true
/// then false along the range).
fn partition_point(range: std::ops::Range<usize>, pred: impl Fn(usize) -> bool) -> usize {
    let (mut low, mut high) = (range.start, range.end);
    while low < high {
        let mid = low + (high - low) / 2;
        if pred(mid) {
            low = mid + 1;
        } else {
            high = mid;
        }
    }
    low
}
