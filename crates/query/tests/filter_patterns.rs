//! Data-driven tests of the filter-pattern language: every `*.txt` file in
//! `tests/filter_patterns/` is a list of cases
//!
//! ```text
//! # comments and blank lines are kept as they are
//! pattern: [ip, user, ..., status = 4*, bytes]
//! values: $status $bytes          (optional: what to print for each match)
//! match: 10.0.0.1 - - "GET / HTTP/1.1" 404 12
//!     $status = "404"
//!     $bytes = "12"
//! no match: 10.0.0.1 - - "GET / HTTP/1.1" 200 12
//!
//! pattern: [ip, user
//! error: invalid filter pattern at character 12: …
//! ```
//!
//! `match:` / `no match:` and the indented values under a match are the
//! expected output, as is `error:`. `pattern json:`, `match json:` and
//! `no match json:` take a JSON string, for text with line breaks or edge
//! blanks. Without `values:`, a match of a space-delimited pattern prints all
//! its extracted values (TestMetricFilter's `extractedValues`).
//!
//! `ARGUS_BLESS=1 cargo test -p argus-query --test filter_patterns` rewrites
//! the expected parts from what the engine does; review the diff.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use argus_query::filter::{FieldValue, FilterPattern};

#[derive(Debug)]
enum Line {
    /// A comment, a blank line or a `values:` line: kept as is.
    Verbatim(String),
    Pattern { raw: String, text: String },
    Values(Vec<String>),
    Event { json: bool, text: String },
}

fn parse_file(content: &str, path: &Path) -> Vec<Line> {
    let mut lines = Vec::new();
    for (number, line) in content.lines().enumerate() {
        let location = || format!("{}:{}", path.display(), number + 1);
        let decode = |text: &str| -> String {
            serde_json::from_str::<String>(text.trim()).unwrap_or_else(|error| panic!("{}: bad JSON string: {error}", location()))
        };
        if line.starts_with(' ') || line.starts_with('\t') {
            continue; // printed values: regenerated
        }
        if line.is_empty() || line.starts_with('#') {
            lines.push(Line::Verbatim(line.to_string()));
        } else if let Some(rest) = line.strip_prefix("pattern json:") {
            lines.push(Line::Pattern { raw: line.to_string(), text: decode(rest) });
        } else if let Some(rest) = line.strip_prefix("pattern:") {
            lines.push(Line::Pattern { raw: line.to_string(), text: rest.strip_prefix(' ').unwrap_or(rest).to_string() });
        } else if let Some(rest) = line.strip_prefix("values:") {
            lines.push(Line::Values(rest.split_whitespace().map(str::to_string).collect()));
            lines.push(Line::Verbatim(line.to_string()));
        } else if let Some(rest) = line.strip_prefix("match json:").or_else(|| line.strip_prefix("no match json:")) {
            lines.push(Line::Event { json: true, text: decode(rest) });
        } else if let Some(rest) = line.strip_prefix("match:").or_else(|| line.strip_prefix("no match:")) {
            lines.push(Line::Event { json: false, text: rest.strip_prefix(' ').unwrap_or(rest).to_string() });
        } else if line.starts_with("error:") {
            continue; // regenerated
        } else {
            panic!("{}: unrecognised line {line:?}", location());
        }
    }
    lines
}

fn render_value(value: Option<FieldValue<'_>>) -> String {
    match value {
        None => "(missing)".into(),
        Some(FieldValue::Number(number)) if number.fract() == 0.0 && number.abs() < 1e15 => format!("{}", number as i64),
        Some(FieldValue::Number(number)) => format!("{number}"),
        Some(FieldValue::String(text)) => serde_json::to_string(text.as_ref()).unwrap_or_default(),
        Some(FieldValue::Bool(flag)) => flag.to_string(),
        Some(FieldValue::Null) => "null".into(),
    }
}

/// Renders the file as the engine sees it, and counts its cases and events.
fn render(lines: &[Line]) -> (String, usize, usize) {
    let mut out = String::new();
    let mut pattern: Option<Result<FilterPattern, String>> = None;
    let mut values: Vec<String> = Vec::new();
    let mut error_pending = false;
    let (mut cases, mut events) = (0, 0);
    let flush_error = |out: &mut String, pattern: &Option<Result<FilterPattern, String>>, pending: &mut bool| {
        if *pending {
            if let Some(Err(message)) = pattern {
                let _ = writeln!(out, "error: {message}");
            }
            *pending = false;
        }
    };
    for (index, line) in lines.iter().enumerate() {
        match line {
            Line::Pattern { raw, text } => {
                cases += 1;
                let _ = writeln!(out, "{raw}");
                pattern = Some(FilterPattern::parse(text).map_err(|error| error.to_string()));
                values.clear();
                error_pending = true;
                // `values:` may follow the pattern line; the error goes after it.
                if !matches!(lines.get(index + 1), Some(Line::Values(_))) {
                    flush_error(&mut out, &pattern, &mut error_pending);
                }
            }
            Line::Values(list) => values = list.clone(),
            Line::Verbatim(text) => {
                let _ = writeln!(out, "{text}");
                if text.starts_with("values:") {
                    flush_error(&mut out, &pattern, &mut error_pending);
                }
            }
            Line::Event { json, text } => {
                events += 1;
                let shown = if *json { format!(" json: {}", serde_json::to_string(text).unwrap_or_default()) } else { format!(": {text}") };
                let Some(Ok(parsed)) = &pattern else {
                    let _ = writeln!(out, "no match{shown}");
                    continue;
                };
                let Some(captures) = parsed.evaluate(text) else {
                    assert!(!parsed.matches(text), "evaluate and matches disagree on {text:?}");
                    let _ = writeln!(out, "no match{shown}");
                    continue;
                };
                assert!(parsed.matches(text), "evaluate and matches disagree on {text:?}");
                let _ = writeln!(out, "match{shown}");
                if values.is_empty() {
                    for (name, value) in captures.extracted_values() {
                        let _ = writeln!(out, "    {name} = {}", render_value(Some(FieldValue::String(value.into()))));
                    }
                } else {
                    for selector in &values {
                        let _ = writeln!(out, "    {selector} = {}", render_value(captures.value(selector)));
                    }
                }
            }
        }
    }
    (out, cases, events)
}

fn data_files() -> Vec<PathBuf> {
    let directory = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/filter_patterns");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&directory)
        .unwrap_or_else(|error| panic!("{}: {error}", directory.display()))
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "txt"))
        .collect();
    files.sort();
    files
}

fn first_difference(expected: &str, actual: &str) -> String {
    let (expected_lines, actual_lines): (Vec<&str>, Vec<&str>) = (expected.lines().collect(), actual.lines().collect());
    let at = expected_lines.iter().zip(&actual_lines).position(|(a, b)| a != b).unwrap_or(expected_lines.len().min(actual_lines.len()));
    let window = |lines: &[&str]| lines.iter().skip(at.saturating_sub(3)).take(8).map(|line| format!("    {line}\n")).collect::<String>();
    format!("first difference at line {}\n  expected (file):\n{}  actual (engine):\n{}", at + 1, window(&expected_lines), window(&actual_lines))
}

#[test]
fn filter_pattern_data_files() {
    let bless = std::env::var_os("ARGUS_BLESS").is_some_and(|value| value == "1");
    let mut failures = Vec::new();
    let (mut total_cases, mut total_events) = (0, 0);
    for path in data_files() {
        let content = std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
        let lines = parse_file(&content, &path);
        let (rendered, cases, events) = render(&lines);
        total_cases += cases;
        total_events += events;
        if rendered == content {
            continue;
        }
        if bless {
            std::fs::write(&path, &rendered).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
            eprintln!("blessed {}", path.display());
        } else {
            failures.push(format!("{}: {}", path.display(), first_difference(&content, &rendered)));
        }
    }
    eprintln!("filter pattern data files: {total_cases} patterns, {total_events} events");
    assert!(total_cases > 0, "no data files found");
    assert!(failures.is_empty(), "{}\n(run with ARGUS_BLESS=1 to accept the engine's output, then review the diff)", failures.join("\n\n"));
}

/// Every prefix and suffix of every pattern in the data files, and a set of
/// hostile inputs, parse or fail cleanly and never panic while matching.
#[test]
fn truncated_and_hostile_patterns_never_panic() {
    let mut patterns = Vec::new();
    for path in data_files() {
        let content = std::fs::read_to_string(&path).unwrap_or_default();
        for line in parse_file(&content, &path) {
            if let Line::Pattern { text, .. } = line {
                patterns.push(text);
            }
        }
    }
    let events = [
        "",
        "ERROR plain text line",
        r#"{"a": 1, "b": {"c": [1, 2, {"d": "x"}]}, "status": 500, "latency": 1500}"#,
        r#"127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /index.html HTTP/1.0" 404 1534"#,
        "{\"unterminated\": \"",
        "\"[",
    ];
    let mut checked = 0;
    for pattern in &patterns {
        let chars: Vec<char> = pattern.chars().collect();
        for cut in 0..=chars.len() {
            for candidate in [chars[..cut].iter().collect::<String>(), chars[cut..].iter().collect::<String>()] {
                if let Ok(parsed) = FilterPattern::parse(&candidate) {
                    for event in events {
                        let _ = parsed.matches(event);
                        let _ = parsed.evaluate(event);
                    }
                    let _ = parsed.required_literals();
                }
                checked += 1;
            }
        }
    }
    assert!(checked > 1000);
}

#[test]
fn oversized_and_deeply_nested_patterns_are_refused() {
    let ten_kb = "ERROR ".repeat(1700);
    let error = FilterPattern::parse(&ten_kb).expect_err("10 KB pattern");
    assert_eq!(error.to_string(), "the filter pattern is 10200 characters long; the maximum is 1024");

    let nested = format!("{{ {}$.a = 1{} }}", "(".repeat(40), ")".repeat(40));
    let error = FilterPattern::parse(&nested).expect_err("deep nesting");
    assert!(error.to_string().contains("parentheses nest more than 32 deep"), "{error}");

    let just_fits = format!("{{ {}$.a = 1{} }}", "(".repeat(32), ")".repeat(32));
    assert!(FilterPattern::parse(&just_fits).expect("32 levels").matches(r#"{"a":1}"#));

    let at_limit = format!("\"{}\"", "x".repeat(1022));
    assert!(FilterPattern::parse(&at_limit).is_ok(), "1024 characters are allowed");

    let many_conditions = format!("{{ {} }}", (0..129).map(|i| format!("$.a={}", i % 10)).collect::<Vec<_>>().join("||"));
    assert!(many_conditions.chars().count() <= 1024);
    let error = FilterPattern::parse(&many_conditions).expect_err("too many conditions");
    assert!(error.to_string().contains("more than 128 conditions"), "{error}");
}

mod random {
    use argus_query::filter::FilterPattern;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

        /// Arbitrary text drawn from the pattern alphabet never panics the parser or the matcher.
        #[test]
        fn any_pattern_any_event(
            pattern in r#"[{}\[\]()$.*%"\\ ,=!<>&|?\-a-z0-9_:@é]{0,60}"#,
            event in r#"[{}\[\]"\\ ,:a-z0-9.\-]{0,80}"#,
        ) {
            if let Ok(parsed) = FilterPattern::parse(&pattern) {
                let _ = parsed.matches(&event);
                if let Some(captures) = parsed.evaluate(&event) {
                    let _ = captures.value("$.a");
                    let _ = captures.value("$1");
                    let _ = captures.extracted_values().len();
                }
                let _ = parsed.required_literals();
            }
        }

        /// Structured patterns built from valid pieces always parse, and never panic on JSON events.
        #[test]
        fn generated_json_patterns(
            selectors in proptest::collection::vec(r"\$\.[a-c](\.[a-c]|\[[0-2]\]){0,3}", 1..5),
            operators in proptest::collection::vec(prop_oneof![Just("="), Just("!="), Just(">"), Just("<="), Just("IS NULL"), Just("NOT EXISTS")], 5),
            joins in proptest::collection::vec(prop_oneof![Just("&&"), Just("||")], 5),
            event in r#"\{("[a-c]": ([0-9]|"[a-z]*"|null|true|\[[0-9]\]|\{"[a-c]": [0-9]\}), ){0,4}"z": 0\}"#,
        ) {
            let mut text = String::from("{ ");
            for (index, selector) in selectors.iter().enumerate() {
                if index > 0 {
                    text.push_str(&format!(" {} ", joins[index % joins.len()]));
                }
                let operator = operators[index % operators.len()];
                if operator.contains(' ') {
                    text.push_str(&format!("{selector} {operator}"));
                } else {
                    text.push_str(&format!("{selector} {operator} 1"));
                }
            }
            text.push_str(" }");
            let parsed = FilterPattern::parse(&text);
            prop_assert!(parsed.is_ok(), "{text}: {parsed:?}");
            if let Ok(parsed) = parsed {
                let _ = parsed.matches(&event);
            }
        }
    }
}
