//! CloudWatch alarms.
pub mod evaluate;
