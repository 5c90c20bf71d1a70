//! CloudWatch statistics over metric samples: parse and print statistic names
//! ([`Statistic`]), keep what a period needs to answer them ([`Summary`]), and
//! compute them ([`Summary::compute`]).
//!
//! Follows "CloudWatch statistics definitions"
//! (<https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Statistics-definitions.html>)
//! and the GetMetricStatistics reference for when percentiles exist at all.
//! A summary holds count, sum, min and max exactly, and the values either
//! exactly (up to [`EXACT_LIMIT`] distinct values) or in a DDSketch-style
//! sketch whose percentiles are within [`RELATIVE_ACCURACY`] (0.5%) of the
//! exact answer; summaries merge (sub-periods, roll-ups) and encode to a few
//! bytes. See `README.md` beside this file for the sketch and its accuracy.
//!
//! Never panics on input: bad statistic names are [`StatisticError`], bad
//! samples [`SummaryError`], corrupt bytes [`DecodeError`].
//!
//! ```
//! use argus_storage::metrics::stats::{Statistic, Summary};
//!
//! let mut minute = Summary::from_values(&[(12.0, 1.0), (15.0, 3.0), (250.0, 1.0)])?;
//! minute.add_statistic_set(2.0, 20.0, 10.0, 10.0)?; // two samples of 10: still raw values
//! let p99: Statistic = "p99".parse()?;
//! assert_eq!(minute.compute(&p99), Some(250.0));
//! assert_eq!(minute.compute(&"TC(:100)".parse()?), Some(6.0));
//!
//! let bytes = minute.encode();
//! assert_eq!(Summary::decode(&bytes)?, minute);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod encoding;
mod sketch;
mod statistic;
mod summary;

pub use encoding::DecodeError;
pub use sketch::RELATIVE_ACCURACY;
pub use statistic::{Bounds, Statistic, StatisticError, ValueRange};
pub use summary::{Distribution, EXACT_LIMIT, Summary, SummaryError};

#[cfg(test)]
mod tests;
