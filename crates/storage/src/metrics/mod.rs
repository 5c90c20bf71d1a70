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
//! * `store.rs` — ties them together: put, read, flush, roll-ups.

pub mod block;
pub mod chunk;
pub mod codec;
pub mod head;
pub mod record;
pub mod series;
pub mod stats;
pub mod store;
pub mod unit;

pub use record::{Sample, SampleValue};
pub use series::{MetricIdentity, MetricScope, SeriesEntry, SeriesIndex};
pub use unit::Unit;
pub use store::{ListedMetric, MetricStore, MetricStoreError, MetricStoreOptions, NewDatum, PeriodPoint, ReadRequest};
