//! The PutLogEvents bodies the ingest benchmark sends, built and hashed
//! before the timed phase so the client's CPU goes to sending.
//!
//! Messages look like what services really log (access-log lines, key=value
//! application lines, JSON lines) with varying ids, paths, statuses and
//! latencies; each is padded or cut to a length drawn around the requested
//! size. JSON lines are padded inside a `detail` field so they stay JSON
//! (metric filters' JSON patterns must be able to match them), unless the
//! requested size is shorter than the object. Timestamps are the build
//! time, chronological within a batch.
//!
//! Other benchmarks bring their own bodies ([`Workload::from_pools`]) and
//! share the driver (`driver.rs`) that sends them.
//!
//! Building every batch of a 10-million-event run up front would hold
//! gigabytes in the client, so each stream gets a pool of distinct batches
//! (at most [`POOL_BYTES`] for all streams together) that the connections
//! cycle through.

use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use serde::Serialize;

use super::sign::sha256_hex;

/// Upper bound on the pre-built bodies held by the client, all streams together.
const POOL_BYTES: usize = 64 * 1024 * 1024;

/// One pre-built request body.
#[derive(Debug)]
pub struct Batch {
    pub body: Bytes,
    pub payload_sha256: String,
    /// Log events, or metric datapoints.
    pub events: u64,
    /// UTF-8 message bytes, the size CloudWatch counts (without the 26 per
    /// event); 0 for other operations.
    pub message_bytes: u64,
}

impl Batch {
    /// A body of another operation, hashed here.
    pub fn new(body: Vec<u8>, items: u64) -> Self {
        let payload_sha256 = sha256_hex(&body);
        Self {
            body: Bytes::from(body),
            payload_sha256,
            events: items,
            message_bytes: 0,
        }
    }
}

/// The pools of batches, one pool per stream (or per connection).
#[derive(Debug)]
pub struct Workload {
    pools: Vec<Vec<Batch>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PutLogEventsBody<'a> {
    log_group_name: &'a str,
    log_stream_name: &'a str,
    log_events: Vec<InputLogEvent>,
}

#[derive(Serialize)]
struct InputLogEvent {
    timestamp: i64,
    message: String,
}

impl Workload {
    /// Builds at most `batches_per_stream` distinct batches per stream (fewer
    /// when the pool would exceed [`POOL_BYTES`]), each of `batch_events`
    /// messages of about `event_bytes` bytes.
    pub fn build(
        group: &str,
        streams: &[String],
        batches_per_stream: usize,
        batch_events: usize,
        event_bytes: usize,
    ) -> anyhow::Result<Self> {
        let estimated_body_bytes = batch_events * (event_bytes + 40);
        let pool_budget = POOL_BYTES / (estimated_body_bytes * streams.len()).max(1);
        anyhow::ensure!(
            !streams.is_empty(),
            "the workload needs at least one stream"
        );
        let pool_len = batches_per_stream.min(pool_budget).max(1);
        let now_ms = SystemTime::now().duration_since(UNIX_EPOCH)?.as_millis();
        let now_ms = i64::try_from(now_ms)?;
        let mut random = SplitMix64::new(0x5eed_a7605);
        let mut pools = Vec::with_capacity(streams.len());
        for stream in streams {
            let mut pool = Vec::with_capacity(pool_len);
            for _ in 0..pool_len {
                pool.push(build_batch(
                    group,
                    stream,
                    batch_events,
                    event_bytes,
                    now_ms,
                    &mut random,
                )?);
            }
            pools.push(pool);
        }
        Ok(Self { pools })
    }

    /// Batches built elsewhere, one pool per connection (none empty).
    pub fn from_pools(pools: Vec<Vec<Batch>>) -> anyhow::Result<Self> {
        anyhow::ensure!(
            !pools.is_empty() && pools.iter().all(|pool| !pool.is_empty()),
            "every pool needs at least one batch"
        );
        Ok(Self { pools })
    }

    pub fn pools(&self) -> usize {
        self.pools.len()
    }

    /// The `round`-th batch for `stream`, cycling through its pool.
    pub fn batch(&self, stream: usize, round: usize) -> Option<&Batch> {
        let pool = self.pools.get(stream % self.pools.len().max(1))?;
        pool.get(round % pool.len().max(1))
    }

    pub fn pool_len(&self) -> usize {
        self.pools.first().map_or(0, Vec::len)
    }
}

fn build_batch(
    group: &str,
    stream: &str,
    batch_events: usize,
    event_bytes: usize,
    now_ms: i64,
    random: &mut SplitMix64,
) -> anyhow::Result<Batch> {
    let mut log_events = Vec::with_capacity(batch_events);
    let mut message_bytes = 0_u64;
    // Spread the batch over the last second, oldest first.
    let batch_len = i64::try_from(batch_events)?;
    for index in 0..batch_len {
        let message = message(event_bytes, random);
        message_bytes += message.len() as u64;
        let timestamp = now_ms - 1_000 + index * 1_000 / batch_len.max(1);
        log_events.push(InputLogEvent { timestamp, message });
    }
    let body = serde_json::to_vec(&PutLogEventsBody {
        log_group_name: group,
        log_stream_name: stream,
        log_events,
    })?;
    let payload_sha256 = sha256_hex(&body);
    Ok(Batch {
        body: Bytes::from(body),
        payload_sha256,
        events: batch_events as u64,
        message_bytes,
    })
}

const METHODS: [&str; 4] = ["GET", "POST", "PUT", "DELETE"];
const PATHS: [&str; 6] = [
    "/api/v1/users",
    "/api/v1/orders",
    "/api/v2/search",
    "/checkout/cart",
    "/static/app.js",
    "/healthz",
];
const STATUSES: [u16; 8] = [200, 200, 200, 201, 204, 304, 404, 500];
const LEVELS: [&str; 4] = ["INFO", "INFO", "WARN", "ERROR"];
const SERVICES: [&str; 5] = ["billing", "auth", "catalog", "payments", "notifier"];
const AGENTS: [&str; 3] = [
    "Mozilla/5.0 (X11; Linux x86_64)",
    "curl/8.5.0",
    "aws-sdk-go-v2/1.30.0",
];

/// One log line of about `target_bytes` (within ±20%), ASCII.
fn message(target_bytes: usize, random: &mut SplitMix64) -> String {
    let jitter = target_bytes / 5;
    let length = target_bytes - jitter + random.below(2 * jitter + 1);
    let mut line = match random.below(3) {
        0 => format!(
            "10.{}.{}.{} - - \"{} {}/{} HTTP/1.1\" {} {} {}ms \"{}\"",
            random.below(256),
            random.below(256),
            random.below(256),
            pick(&METHODS, random),
            pick(&PATHS, random),
            random.below(1_000_000),
            pick(&STATUSES, random),
            random.below(100_000),
            random.below(2_000),
            pick(&AGENTS, random),
        ),
        1 => format!(
            "{} [{}] request_id={:016x}{:016x} user={} action=update duration_ms={} retries={}",
            pick(&LEVELS, random),
            pick(&SERVICES, random),
            random.next(),
            random.next(),
            random.below(10_000_000),
            random.below(5_000),
            random.below(4),
        ),
        _ => {
            let object = format!(
                "{{\"level\":\"{}\",\"service\":\"{}\",\"msg\":\"order processed\",\"status\":{},\"latency_ms\":{},\"order_id\":{},\"amount_cents\":{},\"trace_id\":\"{:016x}\"",
                pick(&LEVELS, random).to_ascii_lowercase(),
                pick(&SERVICES, random),
                pick(&STATUSES, random),
                random.below(2_000),
                random.below(100_000_000),
                random.below(1_000_000),
                random.next(),
            );
            // A JSON line longer than the drawn length grows to fit, within
            // the ±20% band, rather than being cut into invalid JSON.
            let fitted = length.max(object.len() + JSON_DETAIL.len() + 3);
            if fitted <= target_bytes + jitter
                && let Some(line) = padded_json(&object, fitted, random)
            {
                return line;
            }
            let mut line = format!("{object}}}");
            line.truncate(length);
            return line;
        }
    };
    if line.len() < length {
        line.push_str(" extra=");
        while line.len() < length {
            line.push_str(&format!("{:016x}", random.next()));
        }
    }
    line.truncate(length);
    line
}

const JSON_DETAIL: &str = ",\"detail\":\"";

/// `object` (an unclosed JSON object) closed with a `detail` string that
/// brings it to exactly `length` bytes; `None` when it is already too long.
fn padded_json(object: &str, length: usize, random: &mut SplitMix64) -> Option<String> {
    // The detail holds at least one character, then `"}`.
    if object.len() + JSON_DETAIL.len() + 3 > length {
        return None;
    }
    let mut object = format!("{object}{JSON_DETAIL}");
    let detail_end = length - 2;
    while object.len() < detail_end {
        object.push_str(&format!("{:016x}", random.next()));
    }
    object.truncate(detail_end);
    object.push_str("\"}");
    Some(object)
}

fn pick<T: Copy + Default>(choices: &[T], random: &mut SplitMix64) -> T {
    choices
        .get(random.below(choices.len()))
        .copied()
        .unwrap_or_default()
}

/// A tiny deterministic generator (SplitMix64): reproducible workloads, no
/// dependency, and more than random enough for log lines.
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut mixed = self.0;
        mixed = (mixed ^ (mixed >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        mixed = (mixed ^ (mixed >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        mixed ^ (mixed >> 31)
    }

    /// Uniform-enough in `0..bound` (`bound` > 0).
    pub fn below(&mut self, bound: usize) -> usize {
        debug_assert!(bound > 0);
        (self.next() % bound.max(1) as u64) as usize
    }

    /// Uniform in `[0, 1)`, from the top 53 bits.
    pub fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1_u64 << 53) as f64
    }

    /// Standard normal (Box–Muller).
    pub fn gaussian(&mut self) -> f64 {
        let radius = (-2.0 * (1.0 - self.unit()).ln()).sqrt();
        radius * (std::f64::consts::TAU * self.unit()).cos()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_are_valid_chronological_put_log_events_bodies() {
        let streams = vec!["s-0".to_owned(), "s-1".to_owned()];
        let workload =
            Workload::build("/bench/group", &streams, 3, 1_000, 200).expect("workload builds");
        assert_eq!(workload.pool_len(), 3);
        let batch = workload.batch(1, 4).expect("stream 1 has batches");
        let body: serde_json::Value = serde_json::from_slice(&batch.body).expect("body is JSON");
        assert_eq!(body["logGroupName"], "/bench/group");
        assert_eq!(body["logStreamName"], "s-1");
        let events = body["logEvents"].as_array().expect("logEvents is an array");
        assert_eq!(events.len(), 1_000);
        let mut previous = i64::MIN;
        let mut total = 0_u64;
        for event in events {
            let timestamp = event["timestamp"].as_i64().expect("timestamp");
            assert!(timestamp >= previous, "events must be chronological");
            previous = timestamp;
            let message = event["message"].as_str().expect("message");
            assert!(
                (160..=240).contains(&message.len()),
                "message of {} bytes",
                message.len()
            );
            total += message.len() as u64;
            if message.starts_with('{') {
                let object: serde_json::Value =
                    serde_json::from_str(message).expect("JSON lines are JSON");
                assert!(object["status"].is_u64() && object["latency_ms"].is_u64());
            }
        }
        assert_eq!(total, batch.message_bytes);
        // CloudWatch's batch limit: messages plus 26 bytes per event.
        assert!(batch.message_bytes + 26 * batch.events <= 1_048_576);
        assert_eq!(batch.payload_sha256, sha256_hex(&batch.body));
    }

    #[test]
    fn pool_is_capped_by_bytes() {
        let streams: Vec<String> = (0..64).map(|index| format!("s-{index}")).collect();
        let workload =
            Workload::build("/g", &streams, 1_000_000, 1_000, 200).expect("workload builds");
        // 64 MiB over 64 streams of ~240 kB bodies.
        assert_eq!(workload.pool_len(), 4);
    }
}
