//! Data-driven tests: `tests/parse.txt` holds queries that must parse and
//! their canonical trees, `tests/errors.txt` queries that must be refused
//! and the exact error (character offsets and message).
//!
//! ```text
//! # comments and blank lines are kept as they are
//! query: fields @timestamp | limit 5        the query, exactly as after `query: `
//! more:  | sort @timestamp                  appends a new line and the text to the query
//!     (fields @timestamp)                   the expected output, indented by four spaces:
//!     (limit 5)                             the tree's Display, one command per line, or
//!     error 12..13: mismatched input …      `error start..end: message` (character offsets)
//! ```
//!
//! `ARGUS_BLESS=1` (or `ARGUS_REWRITE=1`) `cargo test -p argus-query
//! insights` rewrites the expected outputs from what the parser does;
//! review the diff.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use proptest::prelude::*;

use super::*;

#[derive(Debug)]
enum Line {
    Verbatim(String),
    Case { line: usize, query: String, expected: Vec<String> },
}

fn data_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src/insights/tests").join(name)
}

fn read_cases(name: &str) -> Vec<Line> {
    let path = data_path(name);
    let content = std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    let mut lines: Vec<Line> = Vec::new();
    for (index, text) in content.lines().enumerate() {
        if let Some(query) = text.strip_prefix("query: ") {
            lines.push(Line::Case { line: index + 1, query: query.to_string(), expected: Vec::new() });
        } else if let Some(more) = text.strip_prefix("more: ") {
            match lines.last_mut() {
                Some(Line::Case { query, expected, .. }) if expected.is_empty() => {
                    query.push('\n');
                    query.push_str(more);
                }
                _ => panic!("{}:{}: `more:` must follow a query", path.display(), index + 1),
            }
        } else if let Some(output) = text.strip_prefix("    ") {
            match lines.last_mut() {
                Some(Line::Case { expected, .. }) => expected.push(output.to_string()),
                _ => panic!("{}:{}: an indented line must follow a query", path.display(), index + 1),
            }
        } else {
            lines.push(Line::Verbatim(text.to_string()));
        }
    }
    lines
}

fn render(query: &str) -> Vec<String> {
    match parse(query) {
        Ok(tree) => tree.to_string().lines().map(str::to_string).collect(),
        Err(error) => vec![format!("error {}..{}: {error}", error.start_char_offset(), error.end_char_offset())],
    }
}

fn rewrite_requested() -> bool {
    ["ARGUS_BLESS", "ARGUS_REWRITE"].iter().any(|name| std::env::var_os(name).is_some_and(|value| value == "1"))
}

/// Runs one data file; `must_fail` says whether its queries must all be refused.
fn run_file(name: &str, must_fail: bool) -> Vec<String> {
    let lines = read_cases(name);
    let mut failures = Vec::new();
    let mut rewritten = String::new();
    for line in &lines {
        match line {
            Line::Verbatim(text) => {
                rewritten.push_str(text);
                rewritten.push('\n');
            }
            Line::Case { line, query, expected } => {
                let actual = render(query);
                let failed = actual.first().is_some_and(|first| first.starts_with("error "));
                if failed != must_fail {
                    failures.push(format!("{name}:{line}: {query:?} {} but is in {name}:\n{}", if failed { "is refused" } else { "parses" }, actual.join("\n")));
                }
                if &actual != expected {
                    failures.push(format!("{name}:{line}: {query:?}\nexpected:\n{}\nactual:\n{}", expected.join("\n"), actual.join("\n")));
                }
                let mut query_lines = query.split('\n');
                let _ = writeln!(rewritten, "query: {}", query_lines.next().unwrap_or(""));
                for more in query_lines {
                    let _ = writeln!(rewritten, "more: {more}");
                }
                for output in &actual {
                    let _ = writeln!(rewritten, "    {output}");
                }
            }
        }
    }
    if rewrite_requested() {
        std::fs::write(data_path(name), rewritten).expect("rewrite the data file");
        return Vec::new();
    }
    failures
}

fn queries(name: &str) -> Vec<String> {
    read_cases(name)
        .into_iter()
        .filter_map(|line| match line {
            Line::Case { query, .. } => Some(query),
            Line::Verbatim(_) => None,
        })
        .collect()
}

#[test]
fn data_files() {
    let mut failures = run_file("parse.txt", false);
    failures.extend(run_file("errors.txt", true));
    assert!(failures.is_empty(), "{}\n(run with ARGUS_BLESS=1 to accept the parser's output, then review the diff)", failures.join("\n\n"));
}

#[test]
fn acceptance_queries_parse() {
    let accepted = [
        "fields @timestamp, @message | filter @message like /ERROR/ | sort @timestamp desc | limit 100",
        "fields @timestamp, @message | filter @message like /Request completed/ | parse @message /duration=(?<duration>\\d+)/ | stats avg(duration) by bin(5m)",
        "fields @timestamp, @message | filter @message like /DICOM processed/ | parse @message /study_uid=(?<study_uid>\\S+)/ | stats count() by bin(1h)",
        "stats count(*) by bin(5m)",
        "filter @message like /ERROR/ | stats count(*) by service",
        "fields @timestamp, @message | sort @timestamp desc | limit 100",
    ];
    for query in accepted {
        if let Err(error) = parse(query) {
            panic!("{query}: {error}");
        }
    }
    let tree = parse(accepted[1]).unwrap();
    let CommandKind::Parse(parse_command) = &tree.commands[2].kind else { panic!("parse") };
    let ParseMode::Regex { fields, .. } = &parse_command.mode else { panic!("regex") };
    assert_eq!(fields, &["duration"]);
    let CommandKind::Stats(stats) = &tree.commands[3].kind else { panic!("stats") };
    assert_eq!(stats.by[0].expr.to_string(), "(bin 5m)");
    assert_eq!(stats.aggregations[0].output_name(), "avg(duration)");
}

#[test]
fn every_function_and_command_has_a_case() {
    let mut functions_seen = BTreeSet::new();
    let mut commands_seen = BTreeSet::new();
    for query in queries("parse.txt") {
        let Ok(tree) = parse(&query) else { continue };
        for command in &tree.commands {
            commands_seen.insert(command.name().to_string());
            let mut exprs: Vec<&Expr> = Vec::new();
            match &command.kind {
                CommandKind::Fields(items) | CommandKind::Display(items) => exprs.extend(items.iter().map(|item| &item.expr)),
                CommandKind::Filter(expr) | CommandKind::FilterIndex(expr) | CommandKind::Pattern(expr) => exprs.push(expr),
                CommandKind::Stats(stats) => exprs.extend(stats.aggregations.iter().chain(&stats.by).map(|item| &item.expr)),
                CommandKind::Sort(keys) => exprs.extend(keys.iter().map(|key| &key.expr)),
                _ => {}
            }
            for expr in exprs {
                expr.walk(&mut |node| {
                    if let ExprKind::Call { name, .. } = &node.kind {
                        functions_seen.insert(name.to_string());
                    }
                });
            }
        }
    }
    let missing: Vec<&str> = FUNCTIONS.iter().map(|spec| spec.name).filter(|name| !functions_seen.contains(*name)).collect();
    assert!(missing.is_empty(), "functions without a case in parse.txt: {missing:?}");
    let commands = ["fields", "display", "filter", "filterIndex", "stats", "sort", "limit", "parse", "dedup", "unnest", "pattern", "anomaly", "diff", "unmask", "SOURCE", "lookup"];
    let missing: Vec<&str> = commands.into_iter().filter(|name| !commands_seen.contains(*name)).collect();
    assert!(missing.is_empty(), "commands without a case in parse.txt: {missing:?}");
}

#[test]
fn every_prefix_of_every_case_is_handled() {
    for query in queries("parse.txt").into_iter().chain(queries("errors.txt")) {
        for (end, _) in query.char_indices() {
            let _ = parse(query.get(..end).unwrap());
            let _ = tokenize(query.get(..end).unwrap());
        }
    }
}

#[test]
fn errors_carry_locations_and_map_to_malformed_query() {
    let error = parse("fields a\n| filter b = ").unwrap_err();
    assert_eq!((error.line(), error.column()), (2, 14));
    assert_eq!(error.kind(), ErrorKind::Syntax);
    let api: argus_core::error::ApiError = error.into();
    assert_eq!(api.code.name(), "MalformedQueryException");
    let members = api.members.unwrap();
    assert_eq!(members["queryCompileError"]["location"]["startCharOffset"], 22);
    assert!(members["queryCompileError"]["message"].as_str().unwrap().contains("line 2, position 14"));
}

#[test]
fn limits_are_enforced_quickly() {
    // (query, whether it must be refused)
    let cases = [
        ("(".repeat(5_000), true),
        (format!("filter {}", "(".repeat(4_000)), true),
        (format!("filter {}1", "-".repeat(9_000)), true),
        (format!("filter {}", "not ".repeat(2_400)), true),
        (format!("filter a{}", " or a".repeat(1_500)), true),
        (format!("filter 1{}", "^1".repeat(4_000)), true),
        (format!("fields {}", "f(".repeat(4_000)), true),
        (format!("filter x in [{}]", "1,".repeat(4_000)), true),
        (format!("filter x in [1{}]", ",1".repeat(4_000)), false),
        (format!("filter x like /{}/", "(a)".repeat(3_000)), false),
        (format!("filter x like /{}/", "a{1000}{1000}".repeat(2)), true),
        (format!("filter x like /{}/", "\\w{100}".repeat(200)), true),
        ("|".repeat(10_000), true),
        ("x".repeat(10_001), true),
    ];
    for (query, refused) in &cases {
        let started = Instant::now();
        let result = parse(query);
        assert!(started.elapsed() < Duration::from_secs(2), "{} characters took {:?}", query.len(), started.elapsed());
        assert_eq!(result.is_err(), *refused, "{}…: {result:?}", query.get(..40).unwrap_or(query));
    }
    let long = parse(&"x".repeat(10_001)).unwrap_err();
    assert_eq!(long.kind(), ErrorKind::TooComplex);
    let deep = parse(&format!("filter {}1{}", "(".repeat(65), ")".repeat(65))).unwrap_err();
    assert!(deep.to_string().contains("nests more than 64"), "{deep}");
    assert!(parse(&format!("filter {}1{} = 1", "(".repeat(60), ")".repeat(60))).is_ok());
}

#[test]
fn tokens_have_spans() {
    let tokens = tokenize("filter `a b`.c >= 5m # note").unwrap();
    let spans: Vec<(usize, usize)> = tokens.iter().map(|token| (token.span.start, token.span.end)).collect();
    assert_eq!(spans, [(0, 6), (7, 14), (15, 17), (18, 20), (27, 27)]);
}

fn query_text() -> impl Strategy<Value = String> {
    let pieces = prop::sample::select(vec![
        "fields", "filter", "stats", "sort", "limit", "parse", "display", "dedup", "unnest", "into", "pattern", "diff", "SOURCE", "logGroups", "by", "as", "and", "or", "not", "like", "in", "asc", "desc", "any", "count(", "bin(", "avg(",
        "pct(", "@message", "@timestamp", "a.b", "`x y`", "\"s\"", "'s'", "/re/", "/(?<n>\\d+)/", "5m", "1.5", "10", "(", ")", "[", "]", ",", "|", "=", "!=", "<", ">=", "=~", "+", "-", "*", "/", "%", "^", "#", "\n", " ", ".", ":",
        "\\", "`", "\"", "'", "é", "{", "}", "&",
    ]);
    prop::collection::vec(pieces, 0..60).prop_map(|pieces| pieces.join(" "))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,200}") {
        let started = Instant::now();
        let _ = parse(&text);
        let _ = tokenize(&text);
        prop_assert!(started.elapsed() < Duration::from_secs(2));
    }

    #[test]
    fn query_like_text_never_panics(text in query_text()) {
        let started = Instant::now();
        match parse(&text) {
            Ok(tree) => {
                let _ = tree.to_string();
            }
            Err(error) => {
                prop_assert!(error.start_char_offset() <= error.end_char_offset());
                prop_assert!(error.end_char_offset() <= text.chars().count());
                let _ = error.to_string();
            }
        }
        prop_assert!(started.elapsed() < Duration::from_secs(2));
    }
}
