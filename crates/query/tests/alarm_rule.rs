//! Data-driven tests of composite-alarm rules: `tests/alarm_rule/cases.txt`
//! lists rules, child states and what the engine must make of them.
//!
//! ```text
//! # comments and blank lines are kept as they are
//! rule: (ALARM(Cpu) OR ALARM(Disk)) AND OK(Net)     the rule, exactly as after `rule: `
//!     parsed: …                      the canonical text (`Display`), only when it differs from the rule
//!     references: Cpu Disk Net       `references()`, or `(none)`
//!     when Cpu=ALARM Net=OK => true: Cpu Net       child states (unlisted: unknown) => result
//!     when Cpu=OK => false
//! rule: ALARM(a) AND
//!     error: after AND at position 13          a part of the expected error message
//! ```
//!
//! A `when` line gives `name=STATE` pairs (STATE is ALARM, OK or
//! INSUFFICIENT_DATA) and, after `=>`, `true` or `false`, with the
//! triggering alarms after `true:`. Names that contain blanks or `"` are
//! written in double quotes with `\"` and `\\` escapes, in `when` lines and
//! in outputs alike. An `error:` line passes when the actual message
//! contains its text.
//!
//! `ARGUS_BLESS=1` (or `ARGUS_REWRITE=1`) `cargo test -p argus-query --test
//! alarm_rule` rewrites the indented outputs (everything but the `when`
//! inputs, and `error:` lines that still match) from what the engine does;
//! review the diff.

#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use argus_query::alarm_rule::{self, AlarmRule, State};
use proptest::prelude::*;

#[derive(Debug)]
enum Entry {
    /// A comment or a blank line.
    Verbatim(String),
    Case(Case),
}

#[derive(Debug)]
struct Case {
    line: usize,
    rule: String,
    expected_error: Option<String>,
    /// The text between `when` and `=>` of each `when` line.
    whens: Vec<String>,
}

fn cases_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/alarm_rule/cases.txt")
}

fn parse_file(content: &str, path: &Path) -> Vec<Entry> {
    let mut entries = Vec::new();
    for (index, line) in content.lines().enumerate() {
        let location = format!("{}:{}", path.display(), index + 1);
        if let Some(rest) = line.strip_prefix("rule:") {
            let rule = rest.strip_prefix(' ').unwrap_or(rest).to_string();
            entries.push(Entry::Case(Case { line: index + 1, rule, expected_error: None, whens: Vec::new() }));
            continue;
        }
        let indented = line.trim_start();
        if indented.len() == line.len() {
            assert!(line.is_empty() || line.starts_with('#'), "{location}: unrecognised line {line:?}");
            entries.push(Entry::Verbatim(line.to_string()));
            continue;
        }
        let Some(Entry::Case(case)) = entries.last_mut() else { panic!("{location}: indented line outside a rule") };
        if let Some(expected) = indented.strip_prefix("error:") {
            case.expected_error = Some(expected.trim().to_string());
        } else if let Some(when) = indented.strip_prefix("when") {
            let (input, _) = when.split_once("=>").unwrap_or_else(|| panic!("{location}: a when line needs `=> result`"));
            case.whens.push(input.trim().to_string());
        } else if !(indented.starts_with("parsed:") || indented.starts_with("references:")) {
            panic!("{location}: unrecognised line {line:?}");
        }
    }
    entries
}

/// Splits at blanks outside double quotes; `\"` and `\\` inside quotes are
/// escapes. Returns the words unquoted.
fn split_words(text: &str, location: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(&first) = chars.peek() {
        if first.is_whitespace() {
            chars.next();
            continue;
        }
        let mut word = String::new();
        let mut quoted = false;
        while let Some(c) = chars.next() {
            match c {
                '"' => quoted = !quoted,
                '\\' if quoted => word.push(chars.next().unwrap_or_else(|| panic!("{location}: dangling backslash"))),
                c if c.is_whitespace() && !quoted => break,
                c => word.push(c),
            }
        }
        assert!(!quoted, "{location}: unterminated quote in {text:?}");
        words.push(word);
    }
    words
}

fn quote_if_needed(name: &str) -> String {
    if !name.is_empty() && !name.chars().any(|c| c.is_whitespace() || c == '"') {
        return name.to_string();
    }
    format!("\"{}\"", name.replace('\\', "\\\\").replace('"', "\\\""))
}

fn names(list: &[&str]) -> String {
    if list.is_empty() {
        return "(none)".into();
    }
    list.iter().map(|name| quote_if_needed(name)).collect::<Vec<_>>().join(" ")
}

/// `a=ALARM "b c"=OK` → the states a `when` line gives.
fn parse_states(input: &str, location: &str) -> Vec<(String, State)> {
    let mut states = Vec::new();
    let mut rest = input.trim();
    while !rest.is_empty() {
        // The name may be quoted and contain `=`; the state never does.
        let end = if rest.starts_with('"') { closing_quote(rest, location) + 1 } else { rest.find('=').unwrap_or(rest.len()) };
        let (name, after) = rest.split_at(end);
        let after = after.strip_prefix('=').unwrap_or_else(|| panic!("{location}: {rest:?} is not name=STATE"));
        let (state, remainder) = after.split_once(char::is_whitespace).unwrap_or((after, ""));
        let state = State::from_keyword(state).unwrap_or_else(|| panic!("{location}: unknown state {state:?}"));
        let name = split_words(name, location).pop().unwrap_or_default();
        states.push((name, state));
        rest = remainder.trim_start();
    }
    states
}

/// Byte index of the `"` that closes the quote `text` starts with.
fn closing_quote(text: &str, location: &str) -> usize {
    let mut escaped = false;
    for (index, c) in text.char_indices().skip(1) {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => return index,
            _ => {}
        }
    }
    panic!("{location}: unterminated quote in {text:?}")
}

fn evaluate_line(rule: &AlarmRule, states: &[(String, State)]) -> String {
    let evaluation = rule.evaluate(|name| states.iter().find(|(known, _)| known == name).map(|(_, state)| *state));
    match (evaluation.result, evaluation.triggering.is_empty()) {
        (false, _) => "false".into(),
        (true, true) => "true".into(),
        (true, false) => format!("true: {}", names(&evaluation.triggering.iter().map(String::as_str).collect::<Vec<_>>())),
    }
}

#[derive(Default)]
struct Counts {
    rules: usize,
    errors: usize,
    evaluations: usize,
}

/// The file as the engine sees it.
fn render(entries: &[Entry], path: &Path, counts: &mut Counts) -> String {
    let mut out = String::new();
    for entry in entries {
        let case = match entry {
            Entry::Verbatim(text) => {
                let _ = writeln!(out, "{text}");
                continue;
            }
            Entry::Case(case) => case,
        };
        let location = format!("{}:{}", path.display(), case.line);
        counts.rules += 1;
        let _ = writeln!(out, "{}", format!("rule: {}", case.rule).trim_end());
        match alarm_rule::parse(&case.rule) {
            Err(error) => {
                counts.errors += 1;
                let message = error.to_string();
                let shown = match &case.expected_error {
                    Some(expected) if !expected.is_empty() && message.contains(expected.as_str()) => expected.clone(),
                    _ => message,
                };
                let _ = writeln!(out, "    error: {shown}");
                for when in &case.whens {
                    let _ = writeln!(out, "    when {when} => (the rule does not parse)");
                }
            }
            Ok(rule) => {
                let canonical = rule.to_string();
                if canonical != case.rule {
                    let _ = writeln!(out, "    parsed: {canonical}");
                }
                let _ = writeln!(out, "    references: {}", names(&rule.references()));
                for when in &case.whens {
                    counts.evaluations += 1;
                    let result = evaluate_line(&rule, &parse_states(when, &location));
                    let _ = writeln!(out, "    {}", format!("when {when} => {result}").replace("when  =>", "when =>"));
                }
            }
        }
    }
    out
}

fn first_difference(expected: &str, actual: &str) -> String {
    let (expected_lines, actual_lines): (Vec<&str>, Vec<&str>) = (expected.lines().collect(), actual.lines().collect());
    let at = expected_lines.iter().zip(&actual_lines).position(|(a, b)| a != b).unwrap_or(expected_lines.len().min(actual_lines.len()));
    let window = |lines: &[&str]| lines.iter().skip(at.saturating_sub(3)).take(8).map(|line| format!("    {line}\n")).collect::<String>();
    format!("first difference at line {}\n  expected (file):\n{}  actual (engine):\n{}", at + 1, window(&expected_lines), window(&actual_lines))
}

fn rewrite_requested() -> bool {
    ["ARGUS_BLESS", "ARGUS_REWRITE"].iter().any(|name| std::env::var_os(name).is_some_and(|value| value == "1"))
}

#[test]
fn alarm_rule_cases() {
    let path = cases_path();
    let content = std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    let mut counts = Counts::default();
    let rendered = render(&parse_file(&content, &path), &path, &mut counts);
    eprintln!("alarm rule cases: {} rules ({} refused), {} evaluations", counts.rules, counts.errors, counts.evaluations);
    assert!(counts.errors >= 12 && counts.evaluations >= 40, "too few cases");
    if rendered == content {
        return;
    }
    if rewrite_requested() {
        std::fs::write(&path, &rendered).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
        eprintln!("rewrote {}", path.display());
        return;
    }
    panic!("{}: {}\n(run with ARGUS_BLESS=1 to accept the engine's output, then review the diff)", path.display(), first_difference(&content, &rendered));
}

fn case_rules() -> Vec<String> {
    let path = cases_path();
    let content = std::fs::read_to_string(&path).unwrap_or_default();
    parse_file(&content, &path)
        .into_iter()
        .filter_map(|entry| match entry {
            Entry::Case(case) => Some(case.rule),
            Entry::Verbatim(_) => None,
        })
        .collect()
}

/// What must hold for any input: no panic, an error position inside the
/// rule (or one past its end), a canonical text that parses back to the same
/// rule, and triggering alarms that the rule names.
fn check_invariants(text: &str) {
    let length = text.chars().count();
    let rule = match alarm_rule::parse(text) {
        Err(error) => {
            assert!(!error.to_string().is_empty());
            if let Some(position) = error.position() {
                assert!((1..=length + 1).contains(&position), "{text:?}: position {position} of {length}: {error}");
            }
            return;
        }
        Ok(rule) => rule,
    };
    let canonical = rule.to_string();
    let reparsed = alarm_rule::parse(&canonical).unwrap_or_else(|error| panic!("{text:?} → {canonical:?}: {error}"));
    assert_eq!(reparsed.to_string(), canonical, "{text:?}");
    assert_eq!(reparsed.references(), rule.references(), "{text:?}");
    let references = rule.references();
    for pick in 0..4_usize {
        let state_of = |name: &str| -> Option<State> {
            let index = references.iter().position(|known| *known == name).unwrap_or(0);
            [Some(State::Alarm), Some(State::Ok), Some(State::InsufficientData), None][(index + pick) % 4]
        };
        let evaluation = rule.evaluate(state_of);
        assert_eq!(reparsed.evaluate(state_of), evaluation, "{text:?}");
        if !evaluation.result {
            assert!(evaluation.triggering.is_empty(), "{text:?}");
        }
        let mut previous = None;
        for name in &evaluation.triggering {
            let position = references.iter().position(|known| known == name);
            assert!(position.is_some() && position > previous, "{text:?}: triggering {:?} out of order or unknown", evaluation.triggering);
            previous = position;
        }
    }
}

#[test]
fn every_prefix_and_suffix_of_the_cases_is_handled() {
    let mut checked = 0;
    for rule in case_rules() {
        let chars: Vec<char> = rule.chars().collect();
        for cut in 0..=chars.len() {
            check_invariants(&chars[..cut].iter().collect::<String>());
            check_invariants(&chars[cut..].iter().collect::<String>());
            checked += 2;
        }
    }
    assert!(checked > 1000, "{checked}");
}

/// Pieces of rules, so that random concatenations often parse.
fn fragments() -> impl Strategy<Value = String> {
    let pieces = vec![
        "ALARM(",
        "OK(",
        "INSUFFICIENT_DATA(",
        "a",
        "b",
        "c d",
        "\"",
        "\\",
        "\\\"",
        "(",
        ")",
        " AND ",
        " OR ",
        "NOT ",
        "TRUE",
        "FALSE",
        " ",
        "\t",
        "\n",
        "alarm",
        "é",
        "arn:aws:cloudwatch:us-east-1:123456789012:alarm:x",
    ];
    proptest::collection::vec(proptest::sample::select(pieces), 0..40).prop_map(|parts| parts.concat())
}

proptest! {
    #[test]
    fn random_text_never_panics(text in "\\PC{0,300}") {
        check_invariants(&text);
    }

    #[test]
    fn random_bytes_as_text_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        check_invariants(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn random_rule_fragments_never_panic(text in fragments()) {
        check_invariants(&text);
    }

    #[test]
    fn well_formed_rules_round_trip(
        operands in proptest::collection::vec((0..3_usize, 0..5_usize, any::<bool>(), any::<bool>()), 1..12),
        operators in proptest::collection::vec(any::<bool>(), 12),
    ) {
        let mut text = String::new();
        for (index, (function, name, negated, quoted)) in operands.iter().enumerate() {
            if index > 0 {
                text.push_str(if operators[index] { " AND " } else { " OR " });
            }
            if *negated {
                text.push_str("NOT ");
            }
            let function = ["ALARM", "OK", "INSUFFICIENT_DATA"][*function];
            let name = ["cpu", "disk", "my alarm", "arn:aws:cloudwatch:us-east-1:123456789012:alarm:x", "q\"uote"][*name];
            if *quoted || name.contains([' ', '"']) {
                let _ = write!(text, "{function}(\"{}\")", name.replace('"', "\\\""));
            } else {
                let _ = write!(text, "{function}({name})");
            }
        }
        prop_assert!(alarm_rule::parse(&text).is_ok(), "{text:?}: {:?}", alarm_rule::parse(&text).err());
        check_invariants(&text);
    }
}
