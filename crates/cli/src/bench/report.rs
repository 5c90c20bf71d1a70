//! What a benchmark run reports: the figures as a serializable struct (for
//! `--json`) and as a short human-readable table.

use std::fmt::Write as _;

use hdrhistogram::Histogram;
use serde::Serialize;

use super::server::RssReport;

/// Batch latency percentiles, in milliseconds.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Percentiles {
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
    pub mean: f64,
}

impl Percentiles {
    /// From a histogram of microseconds.
    pub fn from_micros(histogram: &Histogram<u64>) -> Self {
        let millis = |micros: u64| micros as f64 / 1_000.0;
        Self {
            p50: millis(histogram.value_at_quantile(0.50)),
            p90: millis(histogram.value_at_quantile(0.90)),
            p99: millis(histogram.value_at_quantile(0.99)),
            max: millis(histogram.max()),
            mean: histogram.mean() / 1_000.0,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct IngestReport {
    pub benchmark: &'static str,
    /// The command line that produced this report.
    pub command: String,
    pub machine: String,
    /// `spawned argus` or the `--endpoint` URL.
    pub target: String,
    /// The spawned server's `--fsync` policy (`None` for an external endpoint).
    pub fsync: Option<String>,
    pub connections: usize,
    pub streams: usize,
    pub batch_events: usize,
    pub event_bytes_target: usize,
    /// Open-loop pacing (`--rate`), events per second; `None` is as fast as possible.
    pub rate_limit: Option<f64>,
    /// Distinct pre-built batches per stream that the connections cycle through.
    pub batch_pool_per_stream: usize,
    pub events_acknowledged: u64,
    pub batches_acknowledged: u64,
    pub errors: u64,
    /// New TCP connections opened because the server closed one (0 with keep-alive).
    pub reconnects: u64,
    pub error_samples: Vec<String>,
    pub elapsed_seconds: f64,
    pub events_per_second: f64,
    /// UTF-8 message bytes (what CloudWatch counts) per second, in MB (10^6).
    pub message_mb_per_second: f64,
    /// HTTP request bodies per second, in MB (10^6).
    pub request_mb_per_second: f64,
    pub batches_per_second: f64,
    /// From the time a batch was due (its pacing slot under `--rate`, else
    /// when it was sent) to the end of its response: queueing in the client
    /// under `--rate` counts, so an overloaded server cannot hide it.
    pub batch_latency_ms: Percentiles,
    /// From the write of the request to the end of its response.
    pub service_latency_ms: Percentiles,
    pub server_memory: Option<RssReport>,
    /// `VmRSS` after the last batch was acknowledged, before shutdown.
    pub server_rss_after_load_bytes: Option<u64>,
    /// CPU time (user + system) the server used during the timed phase.
    pub server_cpu_seconds: Option<f64>,
    /// CPU time this client used during the timed phase.
    pub client_cpu_seconds: Option<f64>,
    pub server_shutdown_seconds: Option<f64>,
    /// Bytes the spawned server left in its data dir.
    pub data_dir_bytes: Option<u64>,
}

impl IngestReport {
    pub fn to_text(&self) -> String {
        let mut text = String::new();
        let pacing = match self.rate_limit {
            Some(rate) => format!("paced at {} events/s", thousands(rate)),
            None => "unpaced".to_owned(),
        };
        let fsync = self
            .fsync
            .as_deref()
            .map(|policy| format!(", fsync={policy}"))
            .unwrap_or_default();
        let _ = writeln!(text, "argus bench logs-ingest — {}{fsync}", self.target);
        let _ = writeln!(
            text,
            "  workload      {} connections, {} streams, batches of {} events of ~{} B, {pacing}",
            self.connections, self.streams, self.batch_events, self.event_bytes_target
        );
        let _ = writeln!(text, "  machine       {}", self.machine);
        let _ = writeln!(
            text,
            "  acknowledged  {} events in {} batches, {:.2} s",
            thousands(self.events_acknowledged as f64),
            thousands(self.batches_acknowledged as f64),
            self.elapsed_seconds
        );
        let _ = writeln!(
            text,
            "  throughput    {} events/s, {:.1} MB/s messages ({:.1} MB/s requests), {:.1} batches/s",
            thousands(self.events_per_second),
            self.message_mb_per_second,
            self.request_mb_per_second,
            self.batches_per_second
        );
        let latency = self.batch_latency_ms;
        let _ = writeln!(
            text,
            "  batch latency p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms, max {:.1} ms, mean {:.1} ms",
            latency.p50, latency.p90, latency.p99, latency.max, latency.mean
        );
        if self.rate_limit.is_some() {
            let service = self.service_latency_ms;
            let _ = writeln!(
                text,
                "  service time  p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
                service.p50, service.p90, service.p99, service.max
            );
        }
        let cpu = |seconds: Option<f64>| match seconds {
            Some(seconds) => format!(
                "{seconds:.1} s ({:.0}% of a core)",
                100.0 * seconds / self.elapsed_seconds
            ),
            None => "unknown".to_owned(),
        };
        let _ = writeln!(
            text,
            "  CPU           server {}, client {}",
            cpu(self.server_cpu_seconds),
            cpu(self.client_cpu_seconds)
        );
        if let Some(memory) = &self.server_memory {
            let after_load = self
                .server_rss_after_load_bytes
                .map(mib)
                .map(|value| format!(", {value:.1} MiB after load"))
                .unwrap_or_default();
            let _ = writeln!(
                text,
                "  server RSS    peak {:.1} MiB (VmHWM), max sampled {:.1} MiB{after_load}",
                mib(memory.peak_hwm_bytes),
                mib(memory.max_sampled_rss_bytes)
            );
        }
        if let Some(seconds) = self.server_shutdown_seconds {
            let on_disk = self
                .data_dir_bytes
                .map(|bytes| format!(", {:.1} MiB on disk", mib(bytes)))
                .unwrap_or_default();
            let _ = writeln!(
                text,
                "  server stop   {seconds:.2} s after SIGTERM{on_disk}"
            );
        }
        if self.reconnects > 0 {
            let _ = writeln!(
                text,
                "  reconnects    {} (the server closed the connection after responses)",
                self.reconnects
            );
        }
        let _ = writeln!(text, "  errors        {}", self.errors);
        for sample in &self.error_samples {
            let _ = writeln!(text, "    {sample}");
        }
        text
    }
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// `1234567.8` → `1,234,568`.
pub fn thousands(value: f64) -> String {
    let digits = format!("{:.0}", value.max(0.0));
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    grouped
}

/// The command line of this run, as the report shows it (`argus bench …`).
pub fn command_line() -> String {
    let mut words = Vec::new();
    for (index, argument) in std::env::args().enumerate() {
        if index == 0 {
            words.push("argus".to_owned());
        } else if argument.contains(char::is_whitespace) {
            words.push(format!("'{argument}'"));
        } else {
            words.push(argument);
        }
    }
    words.join(" ")
}

/// `AMD EPYC (2 cores)`, from `/proc/cpuinfo`.
pub fn machine_description() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|line| {
            line.strip_prefix("model name")
                .and_then(|rest| rest.split_once(':'))
                .map(|(_, name)| name.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let cores = std::thread::available_parallelism()
        .map(|count| count.get())
        .unwrap_or(1);
    format!("{model} ({cores} cores)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_thousands() {
        assert_eq!(thousands(0.0), "0");
        assert_eq!(thousands(999.4), "999");
        assert_eq!(thousands(1_000.0), "1,000");
        assert_eq!(thousands(312_345.6), "312,346");
        assert_eq!(thousands(10_000_000.0), "10,000,000");
    }

    #[test]
    fn percentiles_are_in_milliseconds() {
        let mut histogram =
            Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("valid bounds");
        for micros in 1..=100 {
            histogram.record(micros * 1_000).expect("in range");
        }
        let percentiles = Percentiles::from_micros(&histogram);
        assert!((percentiles.p50 - 50.0).abs() < 0.1);
        assert!((percentiles.p99 - 99.0).abs() < 0.1);
        assert!((percentiles.max - 100.0).abs() < 0.1);
    }
}
