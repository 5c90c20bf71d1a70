//! Argus's query languages. Today: CloudWatch Logs filter patterns (one
//! engine for FilterLogEvents, metric filters and subscription filters),
//! metric math, composite-alarm rules, SNS filter policies and the Logs
//! Insights query language's front end (parse and check; no execution yet).
//! Later: Logs Insights execution, PromQL, event patterns.
//!
//! Nothing here does I/O: a language parses text into a plan and evaluates
//! it against values handed in by the caller.

pub mod alarm_rule;
pub mod filter;
pub mod insights;
pub mod metric_math;
pub mod sns_filter;
