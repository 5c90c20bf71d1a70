//! The metrics store: CloudWatch metrics (and later Prometheus series) as
//! one series model.
//!
//! * `series.rs` — identity (namespace, name, sorted dimensions) → series id;
//!   every series is in the catalog before any of its data is acknowledged.
//! * `record.rs` — the WAL record of one PutMetricData request.
//! * `head.rs` — recent data in memory, aggregated per bucket (1 s for
//!   high-resolution data, 1 min for standard) as a `stats::Summary`.
//! * `chunk.rs`, `block.rs` — immutable block files of flushed buckets.
//! * `stats/` — CloudWatch statistics and the percentile sketch.
//! * `store.rs` — ties them together: put, read, flush.
//! * `maintain.rs` — the maintenance pass (hourly, and on
//!   `/_argus/compact`): buckets roll up as CloudWatch keeps them (1 s for
//!   3 h, 1 min for 15 days, 5 min for 63 days, 1 h for 455 days, then
//!   gone), and each UTC day's block files are merged into one. The new
//!   block replaces the old ones in one catalog transaction; old files are
//!   deleted once no reader holds them. A block's `level` says whether it
//!   was merged and its finest bucket width.

pub mod block;
pub mod chunk;
pub mod codec;
pub mod head;
pub mod maintain;
pub mod record;
pub mod series;
pub mod stats;
pub mod store;
pub mod unit;

#[cfg(test)]
mod tests;

pub use maintain::MaintenanceReport;
pub use record::{Sample, SampleValue};
pub use series::{MetricIdentity, MetricScope, SeriesEntry, SeriesIndex};
pub use unit::Unit;
pub use store::{ListedMetric, MetricStore, MetricStoreError, MetricStoreOptions, NewDatum, PeriodPoint, ReadRequest};
