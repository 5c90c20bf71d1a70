//! The log event store: log groups and streams (metadata in the catalog,
//! mirrored in memory), and their events (WAL → memtable → segment files).
//!
//! Write path: [`LogStore::append`] encodes the batch as one WAL record; once
//! the WAL says it is durable, the writer thread inserts it into the group's
//! active memtable (in LSN order) and the call returns. A background flusher
//! turns memtables into Parquet segment files, commits them to the catalog
//! with the group's new flushed LSN, and releases the WAL space.
//!
//! Read path: [`LogStore::read`] merges segment files and memtables in
//! [`EventKey`] order (see `scan.rs`). See `README.md` beside this file.

mod columnar;
mod flush;
mod maintain;
mod memtable;
mod record;
mod scan;
mod segment;
mod store;
mod tokens;

use std::collections::HashSet;
use std::sync::Arc;

pub use columnar::{COL_EVENT_ID, COL_INGESTION, COL_LOG_STREAM, COL_MESSAGE, COL_STREAM_ID, COL_TIMESTAMP, GroupSnapshot, ScanUnit, UnitBatch, event_schema};
pub use scan::PageLimits;
pub use segment::{FORMAT_VERSION as SEGMENT_FORMAT_VERSION, day_label};
pub use store::{GroupSpec, LogStore, LogStoreOptions};
pub use tokens::TokenQuery;

use crate::catalog::{CatalogError, Tags};

/// The position of an event in a log group's order: timestamp, then the
/// event id (which grows with ingestion order and is unique).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EventKey {
    pub timestamp: i64,
    pub event_id: u64,
}

/// An event as a client sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    pub timestamp: i64,
    pub message: String,
}

/// An event as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    pub key: EventKey,
    pub stream_id: u64,
    pub ingestion_ms: i64,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Ascending keys.
    Forward,
    /// Descending keys.
    Backward,
}

/// Which streams a read covers.
#[derive(Debug, Clone)]
pub enum StreamFilter {
    One(u64),
    Set(Arc<HashSet<u64>>),
}

impl StreamFilter {
    pub fn contains(&self, stream_id: u64) -> bool {
        match self {
            StreamFilter::One(id) => *id == stream_id,
            StreamFilter::Set(ids) => ids.contains(&stream_id),
        }
    }

    pub fn single(&self) -> Option<u64> {
        match self {
            StreamFilter::One(id) => Some(*id),
            StreamFilter::Set(_) => None,
        }
    }
}

pub type MessagePredicate = Arc<dyn Fn(&str) -> bool + Send + Sync>;

/// What a read selects: streams, an inclusive time range, and optionally a
/// test on the message (a filter pattern) with the tokens every match must
/// contain (to skip row groups through the token index).
#[derive(Clone)]
pub struct ScanFilter {
    pub streams: StreamFilter,
    pub start_ts: i64,
    pub end_ts: i64,
    pub predicate: Option<MessagePredicate>,
    pub tokens: TokenQuery,
}

impl std::fmt::Debug for ScanFilter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScanFilter")
            .field("streams", &self.streams)
            .field("start_ts", &self.start_ts)
            .field("end_ts", &self.end_ts)
            .field("predicate", &self.predicate.is_some())
            .finish()
    }
}

impl ScanFilter {
    pub fn matches_message(&self, message: &str) -> bool {
        self.predicate.as_ref().is_none_or(|predicate| predicate(message))
    }
}

/// One page of a read, in read order. `more` is true when the read stopped
/// at a limit with events left.
#[derive(Debug, Clone, Default)]
pub struct ScanPage {
    pub events: Vec<StoredEvent>,
    pub more: bool,
}

/// A log group as the services see it.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupInfo {
    pub id: u64,
    pub name: String,
    pub created_ms: i64,
    pub retention_days: Option<i32>,
    pub class: String,
    pub kms_key_id: Option<String>,
    pub deletion_protection: bool,
    pub tags: Tags,
    /// Bytes on disk: its segment files plus the WAL records of its
    /// unflushed events.
    pub stored_bytes: u64,
}

/// A log stream as the services see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamInfo {
    pub id: u64,
    pub group_id: u64,
    pub name: String,
    pub created_ms: i64,
    pub first_event_ms: Option<i64>,
    pub last_event_ms: Option<i64>,
    pub last_ingestion_ms: Option<i64>,
    /// This stream's share of its group's bytes on disk.
    pub stored_bytes: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("log group does not exist")]
    GroupNotFound,
    #[error("log stream does not exist")]
    StreamNotFound,
    #[error("log group already exists")]
    GroupExists,
    #[error("log stream already exists")]
    StreamExists,
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    #[error(transparent)]
    Wal(#[from] crate::wal::WalError),
    #[error(transparent)]
    Segment(#[from] segment::SegmentError),
    #[error(transparent)]
    Object(#[from] crate::objects::ObjectError),
    #[error("storage is unavailable: {0}")]
    Unavailable(String),
}

/// The account and region that own a resource.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Scope {
    pub account: String,
    pub region: String,
}

impl Scope {
    pub fn new(account: impl Into<String>, region: impl Into<String>) -> Scope {
        Scope { account: account.into(), region: region.into() }
    }
}

#[cfg(test)]
mod tests;
