//! Data-driven tests of metric math: every `*.txt` file in
//! `tests/metric_math/` is a script of data, expressions and their results.
//!
//! ```text
//! # comments and blank lines are kept as they are
//! period: 60                      the expression's period (default 60)
//! range: 0 600                    the request's [start, end) in epoch seconds (default 0 600)
//! series m1: 0=30 60=20 120=0     a metric query of the request (what ids and METRICS() see)
//! series m2 "Errors" period=300: 0=1 300=2      … with a label and its own period
//! metric AWS/EC2 CPUUtilization InstanceId=i-1: 0=1 60=2   a stored metric SEARCH can find
//! define e1: SEARCH('{AWS/EC2,InstanceId} CPU', 'Average', 60)   an expression other ids can use
//! clear                           forget every series, metric and definition
//!
//! expr: m1 * 2                    evaluate; the indented lines below are the result
//!     series: 0=60 60=40 120=0
//! search: {AWS/EC2} MetricName="CPUUtilization"   which stored metrics a search string matches
//!     AWS/EC2 CPUUtilization
//! ```
//!
//! Results read `scalar: 5`, `series "label": t=v …` (`(empty)` when it has
//! no datapoint), `array of N` followed by one `- "label": t=v …` line per
//! series, or `error: …`. The indented lines are the expected output:
//! `ARGUS_BLESS=1` (or `ARGUS_REWRITE=1`) `cargo test -p argus-query --test
//! metric_math` rewrites them from what the engine does; review the diff.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use argus_query::metric_math::{Expression, MathContext, MathError, Metric, SearchQuery, Series, Value};

#[derive(Debug)]
enum Line {
    /// A comment, a blank line or a data directive: kept as is.
    Verbatim(String),
    Expr(String),
    Search(String),
}

#[derive(Default)]
struct TestContext {
    period: i64,
    range: (i64, i64),
    series: Vec<Series>,
    metrics: Vec<Series>,
    defined: Vec<(String, Value)>,
}

impl MathContext for TestContext {
    fn lookup(&self, id: &str) -> Option<Value> {
        if let Some(series) = self.series.iter().find(|series| series.id == id) {
            return Some(Value::Series(series.clone()));
        }
        self.defined.iter().find(|(name, _)| name == id).map(|(_, value)| value.clone())
    }

    fn metrics(&self) -> Vec<Series> {
        self.series.clone()
    }

    fn search(&self, query: &SearchQuery, statistic: &str, period: i64) -> Result<Vec<Series>, MathError> {
        if statistic == "Unavailable" {
            return Err(MathError::context("the statistic Unavailable cannot be computed"));
        }
        let found = self.metrics.iter().filter(|series| series.metric.as_ref().is_some_and(|metric| query.matches(&metric.identity())));
        Ok(found.map(|series| Series { period, ..series.clone() }).collect())
    }

    fn period(&self) -> i64 {
        self.period
    }

    fn time_range(&self) -> (i64, i64) {
        self.range
    }
}

fn parse_points(text: &str, location: &str) -> Vec<(i64, f64)> {
    text.split_whitespace()
        .map(|point| {
            let (timestamp, value) = point.split_once('=').unwrap_or_else(|| panic!("{location}: point {point:?} is not t=v"));
            let timestamp = timestamp.parse().unwrap_or_else(|_| panic!("{location}: bad timestamp {timestamp:?}"));
            let value = match value {
                "NaN" => f64::NAN,
                "Inf" => f64::INFINITY,
                other => other.parse().unwrap_or_else(|_| panic!("{location}: bad value {other:?}")),
            };
            (timestamp, value)
        })
        .collect()
}

/// `m1 "label with blanks" period=300` → (id, label, period).
fn parse_series_header(header: &str, default_period: i64, location: &str) -> (String, String, i64) {
    let header = header.trim();
    let (id, mut rest) = header.split_once(' ').unwrap_or((header, ""));
    let mut label = String::new();
    rest = rest.trim();
    if let Some(quoted) = rest.strip_prefix('"') {
        let (inside, after) = quoted.split_once('"').unwrap_or_else(|| panic!("{location}: unclosed label"));
        label = inside.to_string();
        rest = after.trim();
    }
    let period = match rest.strip_prefix("period=") {
        Some(number) => number.parse().unwrap_or_else(|_| panic!("{location}: bad period")),
        None if rest.is_empty() => default_period,
        None => panic!("{location}: unexpected {rest:?}"),
    };
    (id.to_string(), label, period)
}

/// `AWS/EC2 CPUUtilization InstanceId=i-1 Type=a` → a metric.
fn parse_metric(header: &str, location: &str) -> Metric {
    let mut words = header.split_whitespace();
    let namespace = words.next().unwrap_or_else(|| panic!("{location}: metric needs a namespace")).to_string();
    let metric_name = words.next().unwrap_or_else(|| panic!("{location}: metric needs a name")).to_string();
    let dimensions = words
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or_else(|| panic!("{location}: dimension {pair:?} is not Name=Value"));
            (name.to_string(), value.to_string())
        })
        .collect();
    Metric { namespace, metric_name, dimensions }
}

fn parse_file(content: &str, path: &Path) -> Vec<Line> {
    let mut lines = Vec::new();
    for (number, line) in content.lines().enumerate() {
        if line.starts_with(' ') || line.starts_with('\t') {
            continue; // results: regenerated
        }
        if let Some(rest) = line.strip_prefix("expr:") {
            lines.push(Line::Expr(rest.trim().to_string()));
        } else if let Some(rest) = line.strip_prefix("search:") {
            lines.push(Line::Search(rest.trim().to_string()));
        } else if line.is_empty()
            || line.starts_with('#')
            || ["period:", "range:", "series ", "metric ", "define "].iter().any(|prefix| line.starts_with(prefix))
            || line == "clear"
        {
            lines.push(Line::Verbatim(line.to_string()));
        } else {
            panic!("{}:{}: unrecognised line {line:?}", path.display(), number + 1);
        }
    }
    lines
}

fn number(value: f64) -> String {
    if value.is_nan() {
        return "NaN".into();
    }
    if value.fract() == 0.0 && value.abs() < 1e15 {
        return format!("{}", value as i64);
    }
    let text = format!("{value:.6}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" { "0".into() } else { text.into() }
}

fn render_series(series: &Series) -> String {
    let label = if series.label.is_empty() { String::new() } else { format!(" {:?}", series.label) };
    if series.is_empty() {
        return format!("{label}: (empty)");
    }
    let points: Vec<String> = series.points().map(|(timestamp, value)| format!("{timestamp}={}", number(value))).collect();
    format!("{label}: {}", points.join(" "))
}

fn render_value(result: &Result<Value, MathError>, out: &mut String) {
    match result {
        Err(error) => {
            let _ = writeln!(out, "    error: {error}");
        }
        Ok(Value::Scalar(value)) => {
            let _ = writeln!(out, "    scalar: {}", number(*value));
        }
        Ok(Value::Series(series)) => {
            let _ = writeln!(out, "    series{}", render_series(series));
        }
        Ok(Value::Array(array)) => {
            let _ = writeln!(out, "    array of {}", array.len());
            for series in array {
                let _ = writeln!(out, "    -{}", render_series(series));
            }
        }
    }
}

fn render_metric(metric: &Metric) -> String {
    let mut text = format!("{} {}", metric.namespace, metric.metric_name);
    for (name, value) in &metric.dimensions {
        let _ = write!(text, " {name}={value}");
    }
    text
}

fn evaluate(text: &str, context: &TestContext) -> Result<Value, MathError> {
    Expression::parse(text)?.evaluate(context)
}

/// Renders the file as the engine sees it; counts expressions and searches.
fn render(lines: &[Line], path: &Path) -> (String, usize) {
    let mut out = String::new();
    let mut context = TestContext { period: 60, range: (0, 600), ..TestContext::default() };
    let mut cases = 0;
    for (index, line) in lines.iter().enumerate() {
        let location = format!("{}: line {}", path.display(), index + 1);
        match line {
            Line::Verbatim(text) => {
                let _ = writeln!(out, "{text}");
                if let Some(rest) = text.strip_prefix("period:") {
                    context.period = rest.trim().parse().unwrap_or_else(|_| panic!("{location}: bad period"));
                } else if let Some(rest) = text.strip_prefix("range:") {
                    let bounds: Vec<i64> = rest.split_whitespace().map(|word| word.parse().unwrap_or_else(|_| panic!("{location}: bad range"))).collect();
                    let [start, end] = bounds[..] else { panic!("{location}: range needs a start and an end") };
                    context.range = (start, end);
                } else if let Some(rest) = text.strip_prefix("series ") {
                    let (header, points) = rest.split_once(':').unwrap_or((rest, ""));
                    let (id, label, period) = parse_series_header(header, context.period, &location);
                    context.series.push(Series::from_points(id, label, period, parse_points(points, &location)));
                } else if let Some(rest) = text.strip_prefix("metric ") {
                    let (header, points) = rest.split_once(": ").unwrap_or((rest.trim_end_matches(':'), ""));
                    let metric = parse_metric(header, &location);
                    let mut series = Series::from_points("", "", context.period, parse_points(points, &location));
                    series.metric = Some(metric);
                    context.metrics.push(series);
                } else if let Some(rest) = text.strip_prefix("define ") {
                    let (id, expression) = rest.split_once(':').unwrap_or_else(|| panic!("{location}: define id: expression"));
                    let value = evaluate(expression.trim(), &context).unwrap_or_else(|error| panic!("{location}: {error}"));
                    context.defined.push((id.trim().to_string(), value));
                } else if text == "clear" {
                    context.series.clear();
                    context.metrics.clear();
                    context.defined.clear();
                }
            }
            Line::Expr(text) => {
                cases += 1;
                let _ = writeln!(out, "expr: {text}");
                render_value(&evaluate(text, &context), &mut out);
            }
            Line::Search(text) => {
                cases += 1;
                let _ = writeln!(out, "search: {text}");
                match SearchQuery::parse(text, 1) {
                    Err(error) => {
                        let _ = writeln!(out, "    error: {error}");
                    }
                    Ok(query) => {
                        let found: Vec<&Metric> = context.metrics.iter().filter_map(|series| series.metric.as_ref()).filter(|metric| query.matches(&metric.identity())).collect();
                        if found.is_empty() {
                            let _ = writeln!(out, "    (none)");
                        }
                        for metric in found {
                            let _ = writeln!(out, "    {}", render_metric(metric));
                        }
                    }
                }
            }
        }
    }
    (out, cases)
}

fn data_files() -> Vec<PathBuf> {
    let directory = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/metric_math");
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

fn rewrite_requested() -> bool {
    ["ARGUS_BLESS", "ARGUS_REWRITE"].iter().any(|name| std::env::var_os(name).is_some_and(|value| value == "1"))
}

#[test]
fn metric_math_data_files() {
    let rewrite = rewrite_requested();
    let mut failures = Vec::new();
    let mut total = 0;
    for path in data_files() {
        let content = std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
        let (rendered, cases) = render(&parse_file(&content, &path), &path);
        total += cases;
        if rendered == content {
            continue;
        }
        if rewrite {
            std::fs::write(&path, &rendered).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
            eprintln!("rewrote {}", path.display());
        } else {
            failures.push(format!("{}: {}", path.display(), first_difference(&content, &rendered)));
        }
    }
    eprintln!("metric math data files: {total} cases");
    assert!(total > 0, "no data files found");
    assert!(failures.is_empty(), "{}\n(run with ARGUS_BLESS=1 to accept the engine's output, then review the diff)", failures.join("\n\n"));
}

/// Every function AWS documents appears in at least one `expr:` line.
#[test]
fn every_function_has_data_cases() {
    let mut expressions = String::new();
    for path in data_files() {
        let content = std::fs::read_to_string(&path).unwrap_or_default();
        for line in parse_file(&content, &path) {
            if let Line::Expr(text) = line {
                expressions.push_str(&text);
                expressions.push('\n');
            }
        }
    }
    let functions = [
        "ABS", "AVG", "CEIL", "DATAPOINT_COUNT", "DIFF", "DIFF_TIME", "FILL", "FIRST", "LAST", "FLOOR", "IF", "LOG", "LOG10", "MAX", "METRICS", "METRIC_COUNT", "MIN", "MINUTE",
        "HOUR", "DAY", "DATE", "MONTH", "YEAR", "EPOCH", "PERIOD", "RATE", "REMOVE_EMPTY", "RUNNING_SUM", "SLICE", "SORT", "STDDEV", "SUM", "TIME_SERIES", "SEARCH",
        "ANOMALY_DETECTION_BAND", "INSIGHT_RULE_METRIC", "SERVICE_QUOTA", "LAMBDA",
    ];
    let missing: Vec<&str> = functions.iter().copied().filter(|name| !expressions.contains(&format!("{name}("))).collect();
    assert!(missing.is_empty(), "functions without data cases: {missing:?}");
}

/// Every prefix and suffix of every expression in the data files parses or
/// fails cleanly, and evaluating what parses never panics.
#[test]
fn truncated_expressions_never_panic() {
    let mut texts = Vec::new();
    for path in data_files() {
        let content = std::fs::read_to_string(&path).unwrap_or_default();
        for line in parse_file(&content, &path) {
            if let Line::Expr(text) | Line::Search(text) = line {
                texts.push(text);
            }
        }
    }
    let context = sample_context();
    let mut checked = 0;
    for text in &texts {
        let chars: Vec<char> = text.chars().collect();
        for cut in 0..=chars.len() {
            for candidate in [chars[..cut].iter().collect::<String>(), chars[cut..].iter().collect::<String>()] {
                if let Ok(expression) = Expression::parse(&candidate) {
                    let _ = expression.evaluate(&context);
                }
                let _ = SearchQuery::parse(&candidate, 1);
                checked += 1;
            }
        }
    }
    assert!(checked > 1000, "{checked}");
}

fn sample_context() -> TestContext {
    let mut context = TestContext { period: 60, range: (0, 600), ..TestContext::default() };
    context.series.push(Series::from_points("m1", "Errors", 60, [(0, 1.0), (60, -2.0), (180, 0.0)]));
    context.series.push(Series::from_points("m2", "Requests", 60, [(60, 3.0), (120, 4.0)]));
    let mut stored = Series::from_points("", "", 60, [(0, 5.0)]);
    stored.metric = Some(Metric { namespace: "AWS/EC2".into(), metric_name: "CPUUtilization".into(), dimensions: vec![("InstanceId".into(), "i-1".into())] });
    context.metrics.push(stored);
    context.defined.push(("e1".into(), Value::Array(context.series.clone())));
    context
}

#[test]
fn limits_are_enforced() {
    let long = format!("m1{}", " + m1".repeat(500));
    assert_eq!(Expression::parse(&long).expect_err("too long").to_string(), "the expression is 2502 characters long; the maximum is 2048");
    let search = format!("SEARCH('{}', 'Average', 60)", "a ".repeat(600));
    assert!(Expression::parse(&search).expect_err("search too long").to_string().contains("maximum is 1024"));
    // A long but allowed chain evaluates without exhausting the stack.
    let chain = format!("m1{}", " + 1".repeat(500));
    let value = Expression::parse(&chain).expect("parses").evaluate(&sample_context()).expect("evaluates");
    assert_eq!(value, Value::Series(Series::from_points("m1", "Errors", 60, [(0, 501.0), (60, 498.0), (180, 500.0)])));
    let longest_chain = format!("m1{}", "+1".repeat(1023));
    assert_eq!(longest_chain.len(), 2048);
    assert!(Expression::parse(&longest_chain).expect("parses").evaluate(&sample_context()).is_ok());
    // The deepest nesting the parser allows evaluates too.
    let nested = format!("{}m1{}", "ABS(-(".repeat(21), "))".repeat(21));
    assert!(Expression::parse(&nested).expect("parses").evaluate(&sample_context()).is_ok());
    let nested = format!("{}[m1]{}", "FILL(ABS(".repeat(31), "), 0)".repeat(31));
    assert!(Expression::parse(&nested).expect("parses").evaluate(&sample_context()).is_ok());
    // A huge time range is refused instead of allocating.
    let context = TestContext { period: 1, range: (0, i64::MAX), ..sample_context() };
    assert!(Expression::parse("TIME_SERIES(1)").expect("parses").evaluate(&context).expect_err("too many points").to_string().contains("at most"));
}

#[test]
fn results_are_labelled_like_getmetricdata() {
    let context = sample_context();
    let single = Expression::parse("m1 * 2").expect("parses").evaluate(&context).expect("evaluates");
    assert_eq!(single.clone().into_results(None, "e1").expect("series")[0].label, "e1");
    assert_eq!(single.into_results(Some("Doubled"), "e1").expect("series")[0].label, "Doubled");
    let array = Expression::parse("METRICS() * 2").expect("parses").evaluate(&context).expect("evaluates");
    let labels: Vec<String> = array.clone().into_results(Some("Doubled"), "e1").expect("array").into_iter().map(|series| series.label).collect();
    assert_eq!(labels, ["Doubled Errors", "Doubled Requests"]);
    let labels: Vec<String> = array.into_results(None, "e1").expect("array").into_iter().map(|series| series.label).collect();
    assert_eq!(labels, ["Errors", "Requests"]);
    let scalar = Expression::parse("AVG(m1)").expect("parses").evaluate(&context).expect("evaluates");
    assert_eq!(scalar.into_results(None, "e1").expect_err("scalar"), MathError::ScalarResult);
}

#[test]
fn expression_introspection() {
    let expression = Expression::parse("SUM([m1, m2]) / m1 + FILL(METRICS('x'), 0) - e1").expect("parses");
    assert_eq!(expression.referenced_ids(), ["m1", "m2", "e1"]);
    assert!(expression.uses_metrics_function());
    assert!(!expression.uses_search());
    assert!(Expression::parse("SEARCH('cpu', 'Average', 60)").expect("parses").uses_search());
    // Unknown and unsupported functions and bad SEARCH arguments fail at parse time.
    assert!(matches!(Expression::parse("FOO(m1)"), Err(MathError::UnknownFunction { .. })));
    assert!(matches!(Expression::parse("m1 + ANOMALY_DETECTION_BAND(m1)"), Err(MathError::Unsupported { position: 6, .. })));
    assert!(matches!(Expression::parse("SEARCH('{AWS/EC2', 'Average', 60)"), Err(MathError::Search { position: 9, .. })));
}

#[test]
fn errors_map_to_validation_error() {
    let error = Expression::parse("m1 +").expect_err("syntax");
    let api: argus_core::ApiError = error.into();
    assert_eq!(api.code.name(), "ValidationError");
    assert_eq!(api.message, "syntax error in expression at character 5: the expression ends where an operand is expected");
}

/// Series handed in out of order, with duplicates or non-finite values, are cleaned.
#[test]
fn caller_series_are_normalized() {
    let mut context = sample_context();
    context.series = vec![Series { id: "m1".into(), period: 60, timestamps: vec![120, 0, 60, 60], values: vec![3.0, 1.0, f64::NAN, 2.0], ..Series::default() }];
    let value = Expression::parse("m1 + 0").expect("parses").evaluate(&context).expect("evaluates");
    let Value::Series(series) = value else { panic!("a series") };
    assert_eq!(series.timestamps, [0, 60, 120]);
    assert_eq!(series.values, [1.0, 2.0, 3.0]);
}

mod random {
    use super::sample_context;
    use argus_query::metric_math::{Expression, SearchQuery};
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

        /// Arbitrary text never panics the parser or the evaluator.
        #[test]
        fn any_text(text in "\\PC{0,80}") {
            if let Ok(expression) = Expression::parse(&text) {
                let _ = expression.evaluate(&sample_context());
            }
            let _ = SearchQuery::parse(&text, 1);
        }

        /// Text drawn from the expression alphabet (so it often parses) never panics.
        #[test]
        fn expression_alphabet(text in r#"(m1|m2|e1|[0-9.]{1,3}|[-+*/^(),\[\] ]|==|!=|<=|>=|<|>|&&|\|\||AND|OR|AVG|SUM|MAX|MIN|STDDEV|FILL|REPEAT|LINEAR|IF|SORT|ASC|DESC|SLICE|FIRST|LAST|METRICS|TIME_SERIES|DIFF|RATE|HOUR|DAY|PERIOD|LOG|SEARCH|'[a-zA-Z{}/ ,"=]{0,12}'|"m"){0,30}"#) {
            if let Ok(expression) = Expression::parse(&text) {
                let _ = expression.evaluate(&sample_context());
                let _ = expression.referenced_ids();
            }
        }

        /// Search strings from the search alphabet never panic parsing or matching.
        #[test]
        fn search_alphabet(text in r#"(\{|\}|,|"|\\|\(|\)|=| |AND|OR|NOT|AWS/EC2|MetricName|InstanceId|cpu|CPU|i-1|[a-zA-Z0-9]{1,4}){0,25}"#) {
            if let Ok(query) = SearchQuery::parse(&text, 1) {
                for series in &sample_context().metrics {
                    if let Some(metric) = &series.metric {
                        let _ = query.matches(&metric.identity());
                    }
                }
            }
        }
    }
}
