//! Micro-benchmark of `FilterPattern::matches` on realistic lines (not a
//! timed test: it only prints). Run it optimised:
//!
//! ```text
//! cargo test --release -p argus-query --test filter_bench -- --ignored --nocapture
//! ```
//!
//! Prints ns/event and MB/s for a terms pattern, a needle phrase, a JSON
//! pattern, a space-delimited pattern and a regex, next to a
//! `serde_json::Value` parse of the same JSON lines (the slow path the
//! selector-driven scanner avoids).

use std::hint::black_box;
use std::time::Instant;

use argus_query::filter::FilterPattern;

/// A small deterministic generator (xorshift), so runs are comparable.
struct Seeded(u64);

impl Seeded {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items.get(self.below(items.len() as u64) as usize).copied().unwrap_or_default()
    }
}

const SERVICES: &[&str] = &["checkout", "payments", "search", "inventory", "auth", "shipping"];
const PATHS: &[&str] = &["/api/v1/orders", "/api/v1/users/42", "/health", "/api/v2/search?q=shoes", "/static/app.js", "/api/v1/cart"];
const MESSAGES: &[&str] = &[
    "request completed",
    "cache miss for key session:7731",
    "upstream responded slowly",
    "user signed in",
    "retrying payment authorization",
    "connection reset by peer",
];

fn plain_line(rng: &mut Seeded, index: usize) -> String {
    let level = match rng.below(100) {
        0..=1 => "ERROR",
        2..=9 => "WARN",
        10..=29 => "DEBUG",
        _ => "INFO",
    };
    format!(
        "2024-05-01T12:{:02}:{:02}.{:03}Z {level} [{}] req-{:016x} {} took {}ms thread=worker-{}",
        index / 60 % 60,
        index % 60,
        rng.below(1000),
        rng.pick(SERVICES),
        rng.next(),
        rng.pick(MESSAGES),
        rng.below(3000),
        rng.below(16)
    )
}

fn json_line(rng: &mut Seeded) -> String {
    let status = match rng.below(100) {
        0..=2 => 500 + rng.below(4),
        3..=10 => 400 + rng.below(5),
        _ => 200,
    };
    format!(
        r#"{{"timestamp":"2024-05-01T12:00:{:02}.{:03}Z","level":"{}","service":"{}","traceId":"1-{:08x}-{:024x}","userId":"u-{}","method":"GET","path":"{}","status":{status},"latency":{}.{},"bytes":{},"errorCode":{},"message":"{}"}}"#,
        rng.below(60),
        rng.below(1000),
        if status >= 500 { "ERROR" } else { "INFO" },
        rng.pick(SERVICES),
        rng.next() as u32,
        rng.next() as u128,
        rng.below(100_000),
        rng.pick(PATHS),
        rng.below(2500),
        rng.below(10),
        rng.below(100_000),
        if status >= 500 { "\"E_UPSTREAM\"" } else { "null" },
        rng.pick(MESSAGES)
    )
}

fn alb_line(rng: &mut Seeded) -> String {
    let status = if rng.below(100) < 3 { 502 } else { 200 };
    format!(
        r#"https 2024-05-01T12:00:00.{:06}Z app/my-lb/50dc6c495c0c9188 192.168.{}.{}:{} 10.0.{}.{}:80 0.000 {}.{:03} 0.000 {status} {status} {} {} "GET https://shop.example.com:443{} HTTP/1.1" "Mozilla/5.0 (X11; Linux x86_64)" ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/web/73e2d6bc24d8a067 "Root=1-{:08x}-{:024x}" "shop.example.com" "arn:aws:acm:us-east-2:123456789012:certificate/12345678" 0 2024-05-01T12:00:00.000000Z "forward" "-" "-" "10.0.1.7:80" "{status}" "-" "-" TID_{:016x}"#,
        rng.below(1_000_000),
        rng.below(256),
        rng.below(256),
        rng.below(65536),
        rng.below(256),
        rng.below(256),
        rng.below(3),
        rng.below(1000),
        rng.below(2000),
        rng.below(50_000),
        rng.pick(PATHS),
        rng.next() as u32,
        rng.next() as u128,
        rng.next()
    )
}

fn measure(label: &str, lines: &[String], rounds: usize, mut test: impl FnMut(&str) -> bool) {
    let bytes: usize = lines.iter().map(String::len).sum();
    let mut matched = 0usize;
    // Warm up once, then time.
    for line in lines {
        matched += usize::from(test(line));
    }
    let start = Instant::now();
    for _ in 0..rounds {
        for line in lines {
            matched += usize::from(black_box(test(black_box(line))));
        }
    }
    let elapsed = start.elapsed();
    let events = lines.len() * rounds;
    let ns = elapsed.as_nanos() as f64 / events as f64;
    let mb_per_s = (bytes * rounds) as f64 / elapsed.as_secs_f64() / 1e6;
    let share = matched as f64 / (events + lines.len()) as f64 * 100.0;
    println!("{label:<58} {ns:>8.1} ns/event {mb_per_s:>8.0} MB/s  ({share:.1}% matched, {} B/line)", bytes / lines.len());
}

#[test]
#[ignore = "benchmark: run with --release -- --ignored --nocapture"]
fn filter_pattern_throughput() {
    const LINES: usize = 100_000;
    const ROUNDS: usize = 5;
    let mut rng = Seeded(0x9E37_79B9_7F4A_7C15);
    let plain: Vec<String> = (0..LINES).map(|index| plain_line(&mut rng, index)).collect();
    let json: Vec<String> = (0..LINES).map(|_| json_line(&mut rng)).collect();
    let alb: Vec<String> = (0..LINES).map(|_| alb_line(&mut rng)).collect();
    let needle = plain[LINES / 2].split_whitespace().nth(3).unwrap_or_default().to_string();

    println!();
    let cases: Vec<(&str, String, &[String])> = vec![
        ("terms: ERROR (plain text)", "ERROR".into(), &plain),
        ("terms: needle request id (plain text)", format!("\"{needle}\""), &plain),
        ("terms: ERROR \"took\" -payments (plain text)", "ERROR \"took\" -payments".into(), &plain),
        ("regex: %took\\s[0-9]{4}ms% (plain text)", "%took\\s[0-9]{4}ms%".into(), &plain),
        ("json: { $.status >= 500 && $.latency > 1000 }", "{ $.status >= 500 && $.latency > 1000 }".into(), &json),
        ("json: { $.service = \"pay*\" || $.errorCode NOT EXISTS }", "{ $.service = \"pay*\" || $.errorCode NOT EXISTS }".into(), &json),
        ("json pattern on plain text (early bail-out)", "{ $.status >= 500 }".into(), &plain),
        (
            "space-delimited: ALB elb_status_code = 5*",
            "[type, time, elb, client, target, request_processing_time, target_processing_time, response_processing_time, elb_status_code = 5*, ...]".into(),
            &alb,
        ),
        ("space-delimited: ALB target_processing_time > 1.5", "[type, time, elb, client, target, rpt, tpt > 1.5, ...]".into(), &alb),
    ];
    // ARGUS_BENCH_ONLY=json runs only the cases whose label contains "json" (for profiling).
    let only = std::env::var("ARGUS_BENCH_ONLY").unwrap_or_default();
    for (label, pattern, lines) in cases {
        if !label.contains(only.as_str()) {
            continue;
        }
        let parsed = FilterPattern::parse(&pattern).unwrap_or_else(|error| panic!("{pattern}: {error}"));
        measure(label, lines, ROUNDS, |line| parsed.matches(line));
    }
    if !only.is_empty() {
        return;
    }
    measure("baseline: serde_json::Value parse + status/latency test", &json, ROUNDS, |line| {
        let Ok(value) = serde_json::from_str::<serde_json::Value>(line) else { return false };
        value["status"].as_f64().is_some_and(|status| status >= 500.0) && value["latency"].as_f64().is_some_and(|latency| latency > 1000.0)
    });
    measure("baseline: serde_json validation only (IgnoredAny)", &json, ROUNDS, |line| {
        serde_json::from_str::<serde::de::IgnoredAny>(line).is_ok()
    });
    let finder = memchr::memmem::Finder::new("ERROR");
    measure("baseline: bare memmem ERROR", &plain, ROUNDS, |line| finder.find(line.as_bytes()).is_some());
}
