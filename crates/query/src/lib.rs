//! Argus's query languages. Today: CloudWatch Logs filter patterns (one
//! engine for FilterLogEvents, metric filters and subscription filters).
//! Later: Logs Insights, PromQL, metric math, event patterns.
//!
//! Nothing here does I/O: a language parses text into a plan and evaluates
//! it against values handed in by the caller.

pub mod alarm_rule;
pub mod filter;
pub mod metric_math;
pub mod sns_filter;
