use memchr::memmem;

use super::*;

const END_MS: i64 = 1_795_000_000_000;

fn spec(events: u64) -> CorpusSpec {
    CorpusSpec {
        seed: 11,
        events,
        end_ms: END_MS,
    }
}

fn all_text(corpus: &Corpus) -> String {
    corpus.texts().collect()
}

#[test]
fn same_seed_gives_the_same_corpus_on_any_thread_count() {
    let one = Corpus::generate(spec(150_000), 1);
    let three = Corpus::generate(spec(150_000), 3);
    assert_eq!(all_text(&one), all_text(&three));
    assert_eq!(one.needle, three.needle);
    assert_eq!(
        one.stats.json_pattern_events,
        three.stats.json_pattern_events
    );
    let other_seed = Corpus::generate(
        CorpusSpec {
            seed: 12,
            ..spec(150_000)
        },
        2,
    );
    assert_ne!(all_text(&one), all_text(&other_seed));
    assert_ne!(one.needle, other_seed.needle);
}

#[test]
fn the_end_time_moves_timestamps_only() {
    let earlier = Corpus::generate(
        CorpusSpec {
            end_ms: END_MS - 86_400_000 * 40,
            ..spec(20_000)
        },
        2,
    );
    let later = Corpus::generate(spec(20_000), 2);
    assert_eq!(earlier.stats.message_bytes, later.stats.message_bytes);
    assert_eq!(earlier.stats.term_events, later.stats.term_events);
    assert_eq!(
        earlier.stats.json_pattern_events,
        later.stats.json_pattern_events
    );
    assert_eq!(earlier.needle, later.needle);
}

#[test]
fn the_needle_occurs_exactly_once_in_the_middle_of_the_range() {
    let corpus = Corpus::generate(spec(200_000), 2);
    let text = all_text(&corpus);
    assert_eq!(
        memmem::find_iter(text.as_bytes(), corpus.needle.as_bytes()).count(),
        1
    );
    let event = corpus.event(corpus.needle_index).expect("needle event");
    assert!(event.message.contains(&corpus.needle));
    let lengths: Vec<usize> = corpus.needle.split('-').map(str::len).collect();
    assert_eq!(lengths, [8, 4, 4, 4, 12]);
    let start = END_MS - SPAN_MS;
    let position = (event.timestamp_ms - start) as f64 / SPAN_MS as f64;
    assert!(
        (0.34..=0.66).contains(&position),
        "needle at {position:.2} of the range"
    );
}

#[test]
fn counts_match_an_independent_scan() {
    let corpus = Corpus::generate(spec(100_000), 2);
    let mut term = 0;
    let mut json = 0;
    let mut bytes = 0;
    for index in 0..corpus.len() {
        let message = corpus.event(index).expect("event").message;
        bytes += message.len() as u64;
        term += u64::from(message.contains(COMMON_TERM));
        if let Ok(serde_json::Value::Object(object)) =
            serde_json::from_str::<serde_json::Value>(message)
        {
            let number = |key: &str| object.get(key).and_then(serde_json::Value::as_f64);
            json += u64::from(
                number("status").is_some_and(|status| status >= 500.0)
                    && number("latency").is_some_and(|ms| ms > 1000.0),
            );
        }
    }
    assert_eq!(corpus.stats.message_bytes, bytes);
    assert_eq!(corpus.stats.term_events, term);
    assert_eq!(corpus.stats.json_pattern_events, json);
    assert!(json > 0);
}

#[test]
fn the_mix_has_the_intended_shape() {
    let corpus = Corpus::generate(spec(300_000), 2);
    let stats = &corpus.stats;
    let mean = stats.message_bytes as f64 / stats.events as f64;
    assert!(
        (180.0..=220.0).contains(&mean),
        "mean message of {mean:.1} bytes"
    );
    let term_share = stats.term_events as f64 / stats.events as f64;
    assert!(
        (0.015..=0.025).contains(&term_share),
        "ERROR in {:.2}% of events",
        100.0 * term_share
    );
    let json_share = stats.json_pattern_events as f64 / stats.events as f64;
    assert!(
        (0.0002..=0.01).contains(&json_share),
        "JSON pattern matches {:.3}%",
        100.0 * json_share
    );
    for (kind, counts) in &stats.by_kind {
        assert!(counts.events > 0, "no {kind:?} events");
    }
    let stack_traces = stats
        .by_kind
        .iter()
        .find(|(kind, _)| *kind == Kind::JavaStackTrace)
        .expect("kind")
        .1;
    let mean_trace = stack_traces.bytes as f64 / stack_traces.events as f64;
    assert!(
        mean_trace > 3_000.0,
        "stack traces of {mean_trace:.0} bytes"
    );
    assert!(stats.by_stream.iter().all(|(_, events)| *events > 0));
}

#[test]
fn events_are_chronological_per_stream_and_inside_the_window() {
    let corpus = Corpus::generate(spec(50_000), 2);
    let by_stream = corpus.events_by_stream();
    assert_eq!(by_stream.len(), Corpus::stream_names().len());
    assert_eq!(
        by_stream.iter().map(Vec::len).sum::<usize>() as u64,
        corpus.len()
    );
    for indexes in &by_stream {
        let mut last = i64::MIN;
        for &index in indexes {
            let event = corpus.event(u64::from(index)).expect("event");
            assert!(event.timestamp_ms >= END_MS - SPAN_MS && event.timestamp_ms <= END_MS);
            assert!(event.timestamp_ms >= last);
            last = event.timestamp_ms;
        }
    }
}

#[test]
fn lines_look_like_their_formats() {
    let corpus = Corpus::generate(spec(60_000), 2);
    let names = Corpus::stream_names();
    for (stream, indexes) in names.iter().zip(corpus.events_by_stream()) {
        for index in indexes {
            let message = corpus.event(u64::from(index)).expect("event").message;
            check_format(stream, message);
        }
    }
}

fn check_format(stream: &str, message: &str) {
    assert!(!message.is_empty() && message.is_ascii());
    if stream.starts_with("alb/") {
        // 30 fields, quoted ones counted as one.
        let mut fields = 0;
        let mut quoted = false;
        let mut in_field = false;
        for byte in message.bytes() {
            match byte {
                b'"' => {
                    quoted = !quoted;
                    in_field = true;
                }
                b' ' if !quoted => {
                    fields += usize::from(in_field);
                    in_field = false;
                }
                _ => in_field = true,
            }
        }
        fields += usize::from(in_field);
        assert_eq!(fields, 30, "{message}");
        let trace = message
            .split("\"Root=1-")
            .nth(1)
            .expect("trace id")
            .split('"')
            .next()
            .expect("end");
        let parts: Vec<usize> = trace.split('-').map(str::len).collect();
        assert_eq!(parts, [8, 24], "{trace}");
    } else if stream.starts_with("nginx/") {
        let value: serde_json::Value = serde_json::from_str(message).expect("nginx line is JSON");
        for key in [
            "time",
            "remote_addr",
            "request",
            "status",
            "body_bytes_sent",
            "request_time",
            "http_referer",
            "http_user_agent",
            "request_id",
        ] {
            assert!(value.get(key).is_some(), "{key} missing in {message}");
        }
    } else if stream.starts_with("app/") {
        let value: serde_json::Value = serde_json::from_str(message).expect("app line is JSON");
        for key in [
            "timestamp",
            "level",
            "service",
            "traceId",
            "message",
            "userId",
            "latency",
        ] {
            assert!(value.get(key).is_some(), "{key} missing in {message}");
        }
    } else if message.contains("\n\tat ") {
        assert!(
            message.contains(" ERROR ") && message.len() > 2_000,
            "{message}"
        );
    }
}

#[test]
fn request_ids_travel_across_tiers() {
    let corpus = Corpus::generate(spec(100_000), 2);
    let names = Corpus::stream_names();
    let mut nginx_ids = std::collections::HashSet::new();
    let mut backend_ids = std::collections::HashSet::new();
    for (stream, indexes) in names.iter().zip(corpus.events_by_stream()) {
        for index in indexes {
            let message = corpus.event(u64::from(index)).expect("event").message;
            if stream.starts_with("nginx/") {
                let value: serde_json::Value = serde_json::from_str(message).expect("JSON");
                nginx_ids.insert(value["request_id"].as_str().expect("request_id").to_owned());
            } else if stream.starts_with("app/") {
                let value: serde_json::Value = serde_json::from_str(message).expect("JSON");
                if let Some(id) = value.get("requestId").and_then(serde_json::Value::as_str) {
                    backend_ids.insert(id.to_owned());
                }
            } else if stream.starts_with("pacs-backend/")
                && message.contains("\"Request completed\"")
            {
                backend_ids.insert(message.split(' ').nth(1).expect("request id").to_owned());
            }
        }
    }
    let shared = nginx_ids.intersection(&backend_ids).count();
    assert!(
        shared * 4 > nginx_ids.len(),
        "{shared} of {} nginx request ids reach a backend",
        nginx_ids.len()
    );
    assert!(!backend_ids.contains(&corpus.needle));
}
