//! Dashboard bodies as data: each `tests/dashboard_bodies/*.test` file holds
//! a `DashboardBody` and what `PutDashboard` answers for it.
//!
//! ```text
//! # comment lines at the top say what the case is about
//! { "widgets": [ … ] }
//! ---- expect
//! ok                                   (stored; warnings follow, if any)
//! error                                (rejected; validation messages follow)
//! error: <exact message>               (rejected; also checks the message)
//! /widgets/0/x => Should be <= 23      (one DataPath => Message per line)
//! ```
//!
//! `ARGUS_REWRITE=1 cargo test -p argus-services --test dashboard_bodies`
//! rewrites the expected part from what the validator answers now (review
//! the diff before committing it).
//!
//! The property tests below check that no input makes the validator panic.

// A test binary: a panic in a helper is a failed test, as clippy.toml
// already allows inside the tests themselves.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use argus_services::monitoring::dashboard_body::{DashboardBodyError, MAX_WIDGETS, ValidationMessage, validate};
use proptest::prelude::*;
use serde_json::{Value, json};

const SEPARATOR: &str = "---- expect";
const INVALID_BODY_PREFIX: &str = "The dashboard body is invalid, there are ";

struct Case {
    path: PathBuf,
    /// The comment lines and the body, exactly as written.
    head: String,
    body: String,
    expected: String,
}

fn read_case(path: &Path) -> Case {
    let text = std::fs::read_to_string(path).unwrap();
    let (head, expected) = text
        .split_once(&format!("\n{SEPARATOR}\n"))
        .unwrap_or_else(|| panic!("{}: no `{SEPARATOR}` line", path.display()));
    let body: Vec<&str> = head.lines().skip_while(|line| line.starts_with('#')).collect();
    Case {
        path: path.to_owned(),
        head: head.to_owned(),
        body: body.join("\n"),
        expected: expected.trim_end().to_owned(),
    }
}

fn render_messages(out: &mut String, messages: &[ValidationMessage]) {
    for message in messages {
        writeln!(out, "{} => {}", message.data_path, message.message).unwrap();
    }
}

/// The expected part for what the validator answered.
fn render_outcome(outcome: &Result<Vec<ValidationMessage>, DashboardBodyError>) -> String {
    let mut out = String::new();
    match outcome {
        Ok(warnings) => {
            out.push_str("ok\n");
            render_messages(&mut out, warnings);
        }
        Err(error) => {
            if error.message.starts_with(INVALID_BODY_PREFIX) {
                out.push_str("error\n");
            } else {
                writeln!(out, "error: {}", error.message).unwrap();
            }
            render_messages(&mut out, &error.validation_messages);
        }
    }
    out.trim_end().to_owned()
}

fn case_files() -> Vec<PathBuf> {
    let directory = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/dashboard_bodies");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&directory)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|extension| extension == "test"))
        .collect();
    files.sort();
    files
}

#[test]
fn dashboard_bodies_answer_as_expected() {
    let rewrite = std::env::var_os("ARGUS_REWRITE").is_some();
    let files = case_files();
    assert!(files.len() > 20, "the cases went missing");
    let mut failures = Vec::new();
    for file in files {
        let case = read_case(&file);
        let actual = render_outcome(&validate(&case.body));
        if actual == case.expected {
            continue;
        }
        if rewrite {
            std::fs::write(&case.path, format!("{}\n{SEPARATOR}\n{actual}\n", case.head)).unwrap();
        } else {
            failures.push(format!("{}:\n--- expected\n{}\n--- actual\n{actual}\n", case.path.display(), case.expected));
        }
    }
    assert!(failures.is_empty(), "{} cases differ:\n{}", failures.len(), failures.join("\n"));
}

/// Every `ok` case is also accepted after a round trip through
/// `serde_json` (the form `GetDashboard` returns), and the PACS dashboards
/// carry no warnings at all.
#[test]
fn accepted_bodies_stay_accepted_when_reserialized() {
    for file in case_files() {
        let case = read_case(&file);
        let Ok(warnings) = validate(&case.body) else { continue };
        let reserialized = serde_json::from_str::<Value>(&case.body).unwrap().to_string();
        assert_eq!(validate(&reserialized), Ok(warnings.clone()), "{}", file.display());
        let is_pacs = file.file_name().unwrap().to_string_lossy().starts_with("pacs_");
        assert!(!is_pacs || warnings.is_empty(), "{}: {warnings:?}", file.display());
    }
}

#[test]
fn more_than_500_widgets_are_rejected() {
    let widget = json!({"type": "text", "width": 6, "height": 2, "properties": {"markdown": "a"}});
    let at_limit = json!({"widgets": vec![widget.clone(); MAX_WIDGETS]}).to_string();
    assert_eq!(validate(&at_limit), Ok(Vec::new()));
    let over_limit = json!({"widgets": vec![widget; MAX_WIDGETS + 1]}).to_string();
    let error = validate(&over_limit).unwrap_err();
    assert_eq!(
        error.validation_messages,
        [ValidationMessage { data_path: "/widgets".into(), message: "Should NOT have more than 500 items".into() }]
    );
}

#[test]
fn more_than_500_metric_rows_are_rejected() {
    let rows: Vec<Value> =
        (0..501).map(|n| json!(["PACS/Application", "PACSBackendErrors", "Task", n.to_string()])).collect();
    let body = json!({"widgets": [{"type": "metric", "properties": {"metrics": rows, "region": "eu-west-1"}}]});
    let error = validate(&body.to_string()).unwrap_err();
    assert_eq!(
        error.validation_messages,
        [ValidationMessage {
            data_path: "/widgets/0/properties/metrics".into(),
            message: "Should NOT have more than 500 items".into()
        }]
    );
}

#[test]
fn more_than_2500_metrics_on_a_dashboard_is_a_warning() {
    let rows: Vec<Value> =
        (0..500).map(|n| json!(["AWS/ECS", "CPUUtilization", "ServiceName", n.to_string()])).collect();
    let widget = json!({"type": "metric", "properties": {"metrics": rows, "region": "eu-west-1"}});
    let body = json!({"widgets": vec![widget; 6]});
    let warnings = validate(&body.to_string()).unwrap();
    assert_eq!(warnings.len(), 1);
    assert_eq!(warnings[0].data_path, "/widgets");
}

#[test]
fn more_than_25_variables_are_rejected() {
    let variables: Vec<Value> = (0..26)
        .map(|n| json!({"type": "pattern", "pattern": format!("p{n}"), "inputType": "input", "id": format!("v{n}")}))
        .collect();
    let error = validate(&json!({"widgets": [], "variables": variables}).to_string()).unwrap_err();
    assert_eq!(error.validation_messages.len(), 1);
    assert_eq!(error.validation_messages[0].message, "Should NOT have more than 25 items");
}

#[test]
fn deeply_nested_bodies_are_rejected_without_overflowing_the_stack() {
    for depth in [200, 100_000] {
        let nested = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        let body = format!(r#"{{"widgets": [{{"type": "metric", "properties": {{"metrics": {nested}}}}}]}}"#);
        let error = validate(&body).unwrap_err();
        assert_eq!(error.message, "The field DashboardBody must be a valid JSON object");
    }
    // Nesting within serde_json's limit is checked as usual.
    let nested = format!("{}{}", "[".repeat(100), "]".repeat(100));
    let body = format!(r#"{{"widgets": [{{"type": "metric", "properties": {{"metrics": [{nested}]}}}}]}}"#);
    assert!(validate(&body).is_err());
}

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(|f| json!(f)),
        // Words the validator gives meaning to, and anything else.
        prop::sample::select(vec![
            "metric",
            "text",
            "log",
            "alarm",
            "explorer",
            "custom",
            "chart",
            ".",
            "...",
            "",
            "AWS/ECS",
            "left",
            "gauge",
            "#ff0000",
            "red",
            "-PT3H",
            "SOURCE '/aws/ecs/pacs-backend' | fields @message",
        ])
        .prop_map(|word| json!(word)),
        ".{0,12}".prop_map(Value::String),
    ];
    let keys = prop::sample::select(vec![
        "widgets",
        "type",
        "x",
        "y",
        "width",
        "height",
        "properties",
        "metrics",
        "annotations",
        "alarms",
        "horizontal",
        "vertical",
        "value",
        "yAxis",
        "left",
        "min",
        "max",
        "view",
        "period",
        "stat",
        "markdown",
        "query",
        "variables",
        "id",
        "inputType",
        "values",
        "search",
        "labels",
        "key",
        "func",
        "expression",
        "color",
        "start",
        "end",
        "table",
        "summaryColumns",
        "legend",
        "position",
        "other",
    ]);
    leaf.prop_recursive(6, 64, 8, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::btree_map(keys.clone(), inner, 0..8)
                .prop_map(|map| Value::Object(map.into_iter().map(|(key, value)| (key.to_owned(), value)).collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_text_never_panics(body in ".{0,300}") {
        let _ = validate(&body);
    }

    #[test]
    fn arbitrary_json_never_panics(widgets in any_json(), extra in any_json()) {
        let _ = validate(&widgets.to_string());
        let _ = validate(&json!({"widgets": widgets, "variables": extra}).to_string());
        let _ = validate(&json!({"widgets": [{"type": "metric", "x": 0, "y": 0, "properties": extra}]}).to_string());
        let _ = validate(&json!({"widgets": [{"type": "metric", "properties": {"metrics": widgets}}]}).to_string());
    }

    /// Cutting a real dashboard anywhere, or replacing one byte, never
    /// panics (the cut lands inside strings, escapes and numbers).
    #[test]
    fn damaged_pacs_dashboards_never_panic(cut in 0usize..20_000, byte in any::<u8>()) {
        for file in case_files().iter().filter(|file| file.to_string_lossy().contains("pacs_")) {
            let body = read_case(file).body;
            let mut bytes = body.clone().into_bytes();
            let at = cut % bytes.len();
            let _ = validate(&String::from_utf8_lossy(&bytes[..at]));
            bytes[at] = byte;
            let _ = validate(&String::from_utf8_lossy(&bytes));
        }
    }
}
