//! Argus storage: the write-ahead log, the catalog of metadata, and the log
//! event store (in-memory buffers flushed to compressed columnar segment
//! files). No HTTP, no AWS wire types: services call this layer with plain
//! Rust types and get plain errors back.
//!
//! Durability rule: a write is acknowledged only after its WAL record is
//! durable per the fsync policy; segment files are fsynced before the WAL
//! space that covered them is released.

pub mod background;
pub mod catalog;
pub mod logs;
pub mod metrics;
pub mod objects;
pub mod wal;

pub use catalog::{
    AlarmCatalog, Catalog, MetricCatalog, MetricFilterCatalog, MetricFilterRecord,
    QueryDefinitionCatalog, QueryDefinitionRecord, SnsCatalog, SqliteCatalog,
};
