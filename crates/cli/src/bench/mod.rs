//! `argus bench`: load generators that measure Argus from the outside, over
//! the same HTTP API and SigV4 signatures the AWS SDKs use.
//!
//! Each benchmark is a subcommand. By default it spawns the real `argus
//! serve` as a child process (so the client's CPU and memory are not counted
//! as the server's) on a free port with a temporary data dir; with
//! `--endpoint` it drives an already-running server instead, which is how a
//! peer (for example moto's server) is measured by the very same client.
//!
//! Figures and the exact commands that produced them live in the repo's
//! `BENCHMARKS.md`. A benchmark never asserts on timings: it reports them,
//! and exits non-zero only when a request fails.

mod alarms;
mod client;
mod corpus;
mod driver;
mod logs_ingest;
mod logs_query;
mod metrics;
mod report;
mod server;
mod sign;
mod workload;

use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// PutLogEvents throughput, batch latency and server memory: N keep-alive
    /// connections send pre-built batches as fast as possible (or at `--rate`).
    LogsIngest(logs_ingest::LogsIngestArgs),
    /// FilterLogEvents over a seeded 13-day corpus of realistic logs: a
    /// needle, a first page, a full JSON-pattern count, bytes on disk, and a
    /// single-threaded memmem over the same data as the reference.
    LogsQuery(logs_query::LogsQueryArgs),
    /// CloudWatch metrics: PutMetricData throughput, bytes per stored
    /// datapoint, GetMetricStatistics and GetMetricData latency, and the
    /// cost of metric filters on PutLogEvents.
    Metrics(metrics::MetricsArgs),
    /// Alarms and notifications: evaluator cost for N alarms, breaching
    /// datapoint → state change → webhook latency, SNS fan-out to HTTP.
    Alarms(alarms::AlarmsArgs),
}

pub fn run(command: BenchCommand) -> anyhow::Result<()> {
    match command {
        BenchCommand::LogsIngest(args) => logs_ingest::run(args),
        BenchCommand::LogsQuery(args) => logs_query::run(args),
        BenchCommand::Metrics(args) => metrics::run(args),
        BenchCommand::Alarms(args) => alarms::run(args),
    }
}
