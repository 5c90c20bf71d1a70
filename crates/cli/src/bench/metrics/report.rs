//! The report of `argus bench metrics`: one struct per section (defined
//! beside the section's code), gathered here, as JSON or text.

use std::fmt::Write as _;

use serde::Serialize;

use super::filters::FilterSection;
use super::ingest::IngestSection;
use super::reads::ReadSection;
use super::storage::StorageSection;

#[derive(Debug, Serialize)]
pub struct MetricsReport {
    pub benchmark: &'static str,
    pub command: String,
    pub machine: String,
    pub target: String,
    /// The spawned servers' `--fsync` policy (`None` for an external endpoint).
    pub fsync: Option<String>,
    /// How the client talks to CloudWatch.
    pub protocol: &'static str,
    pub ingest: Option<IngestSection>,
    pub storage: Option<StorageSection>,
    pub reads: Vec<ReadSection>,
    pub filters: Option<FilterSection>,
    /// Failed requests and wrong answers; any makes the command fail.
    pub errors: Vec<String>,
}

/// A server-side step the benchmark asked for (flush, compact) and its time.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    pub method: String,
    pub seconds: f64,
}

impl MetricsReport {
    pub fn new(command: String, machine: String, target: String, fsync: Option<String>) -> Self {
        Self {
            benchmark: "metrics",
            command,
            machine,
            target,
            fsync,
            protocol: "awsJson1.0 with x-amzn-query-mode: true (X-Amz-Target GraniteServiceVersion20100801.*), SigV4 service `monitoring`",
            ingest: None,
            storage: None,
            reads: Vec::new(),
            filters: None,
            errors: Vec::new(),
        }
    }

    pub fn to_text(&self) -> String {
        let mut text = String::new();
        let fsync = self
            .fsync
            .as_deref()
            .map(|policy| format!(", fsync={policy}"))
            .unwrap_or_default();
        let _ = writeln!(text, "argus bench metrics — {}{fsync}", self.target);
        let _ = writeln!(text, "  machine  {}", self.machine);
        let _ = writeln!(text, "  protocol {}", self.protocol);
        if let Some(section) = &self.ingest {
            text.push('\n');
            section.to_text(&mut text);
        }
        if let Some(section) = &self.storage {
            text.push('\n');
            section.to_text(&mut text);
        }
        for section in &self.reads {
            text.push('\n');
            section.to_text(&mut text);
        }
        if let Some(section) = &self.filters {
            text.push('\n');
            section.to_text(&mut text);
        }
        let _ = writeln!(text, "\nerrors {}", self.errors.len());
        for error in &self.errors {
            let _ = writeln!(text, "  {error}");
        }
        text
    }
}

/// The median (mean of the middle two for an even count); 0 when empty.
pub fn median(values: impl Iterator<Item = f64>) -> f64 {
    let mut sorted: Vec<f64> = values.collect();
    sorted.sort_by(f64::total_cmp);
    let middle = sorted.len() / 2;
    match (
        sorted.len() % 2,
        sorted.get(middle),
        middle.checked_sub(1).and_then(|below| sorted.get(below)),
    ) {
        (1, Some(value), _) => *value,
        (_, Some(upper), Some(lower)) => (upper + lower) / 2.0,
        _ => 0.0,
    }
}

pub fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median([3.0, 1.0, 2.0].into_iter()), 2.0);
        assert_eq!(median([4.0, 1.0, 2.0, 3.0].into_iter()), 2.5);
        assert_eq!(median(std::iter::empty()), 0.0);
    }
}
