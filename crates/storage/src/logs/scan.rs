//! Key-ordered reads across every source of a log group: the segment files
//! and the memtables (active and being flushed), merged lazily.
//!
//! A source is opened only when the merge position reaches the first key it
//! could hold, and a segment is read one row group at a time, so a page
//! costs O(page + row group), not a rescan of the group.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, VecDeque};
use std::sync::Arc;

use super::memtable::{MemCursor, SharedMemtable};
use super::segment::{SegCursor, Segment, SegmentError};
use super::{Direction, EventKey, ScanFilter, ScanPage, StoredEvent};

const MEM_CHUNK: usize = 1024;

enum Cursor {
    Mem(MemCursor),
    Seg(SegCursor),
}

impl Cursor {
    fn bound(&self) -> Option<EventKey> {
        match self {
            Cursor::Mem(cursor) => cursor.bound(),
            Cursor::Seg(cursor) => Some(cursor.bound()),
        }
    }

    /// Next non-empty chunk, or empty when the source is exhausted.
    async fn next_chunk(&mut self) -> Result<Vec<StoredEvent>, SegmentError> {
        match self {
            Cursor::Mem(cursor) => loop {
                let chunk = cursor.next_chunk(MEM_CHUNK);
                if !chunk.is_empty() || cursor.is_done() {
                    return Ok(chunk);
                }
            },
            Cursor::Seg(cursor) => cursor.next_chunk().await,
        }
    }
}

struct Open {
    cursor: Cursor,
    buffer: VecDeque<StoredEvent>,
}

#[derive(PartialEq, Eq)]
struct Head {
    key: EventKey,
    source: usize,
    direction: Direction,
}

impl Ord for Head {
    fn cmp(&self, other: &Self) -> Ordering {
        let by_key = match self.direction {
            Direction::Forward => other.key.cmp(&self.key),
            Direction::Backward => self.key.cmp(&other.key),
        };
        by_key.then_with(|| other.source.cmp(&self.source))
    }
}

impl PartialOrd for Head {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

fn comes_first(direction: Direction, a: EventKey, b: EventKey) -> bool {
    match direction {
        Direction::Forward => a <= b,
        Direction::Backward => a >= b,
    }
}

/// What one page may hold.
#[derive(Debug, Clone, Copy)]
pub struct PageLimits {
    pub max_events: usize,
    /// Stop before the page's cost (sum of `cost(event)`) would exceed this.
    pub max_bytes: usize,
}

/// Reads one page in `direction` starting after `after`.
pub async fn scan(
    memtables: Vec<SharedMemtable>,
    segments: Vec<Arc<Segment>>,
    filter: Arc<ScanFilter>,
    direction: Direction,
    after: Option<EventKey>,
    limits: PageLimits,
    cost: impl Fn(&StoredEvent) -> usize,
) -> Result<ScanPage, SegmentError> {
    let mut pending: Vec<(EventKey, Cursor)> = Vec::new();
    for memtable in memtables {
        let cursor = MemCursor::new(memtable, Arc::clone(&filter), direction, after);
        if let Some(bound) = cursor.bound() {
            pending.push((bound, Cursor::Mem(cursor)));
        }
    }
    for segment in segments {
        if segment.may_contain(&filter) {
            let cursor = SegCursor::new(segment, Arc::clone(&filter), direction, after);
            pending.push((cursor.bound(), Cursor::Seg(cursor)));
        }
    }
    // Sources to open, the next one (in read direction) last.
    pending.sort_by(|a, b| match direction {
        Direction::Forward => b.0.cmp(&a.0),
        Direction::Backward => a.0.cmp(&b.0),
    });

    let mut open: Vec<Open> = Vec::new();
    let mut heads: BinaryHeap<Head> = BinaryHeap::new();
    let mut page = ScanPage { events: Vec::new(), more: false };
    let mut page_cost = 0usize;
    loop {
        // Open every source that could hold the next event.
        while let Some((bound, _)) = pending.last() {
            let reached = match heads.peek() {
                None => true,
                Some(head) => comes_first(direction, *bound, head.key),
            };
            if !reached {
                break;
            }
            let Some((_, cursor)) = pending.pop() else { break };
            debug_assert!(cursor.bound().is_some());
            let mut source = Open { cursor, buffer: VecDeque::new() };
            source.buffer.extend(source.cursor.next_chunk().await?);
            if let Some(first) = source.buffer.front() {
                heads.push(Head { key: first.key, source: open.len(), direction });
            }
            open.push(source);
        }

        let Some(head) = heads.pop() else {
            return Ok(page);
        };
        let Some(source) = open.get_mut(head.source) else {
            return Ok(page);
        };
        if page.events.len() >= limits.max_events {
            page.more = true;
            return Ok(page);
        }
        let Some(event) = source.buffer.pop_front() else { continue };
        let event_cost = cost(&event);
        if !page.events.is_empty() && page_cost + event_cost > limits.max_bytes {
            page.more = true;
            return Ok(page);
        }
        page_cost += event_cost;
        page.events.push(event);
        if source.buffer.is_empty() {
            source.buffer.extend(source.cursor.next_chunk().await?);
        }
        if let Some(next) = source.buffer.front() {
            heads.push(Head { key: next.key, source: head.source, direction });
        }
    }
}
