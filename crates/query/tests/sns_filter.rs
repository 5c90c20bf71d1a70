//! Data-driven tests of SNS subscription filter policies: every `*.txt` file
//! in `tests/sns_filter/` is a list of policies, each followed by messages it
//! must accept or reject, or by the error that refuses it.
//!
//! ```text
//! # comments and blank lines are ignored
//! attributes: {"store": ["example_corp"]}     a policy, FilterPolicyScope MessageAttributes
//!     match: store String example_corp ; price Number 210.75
//!     no match: store String other
//!     no match: (none)                        a message without attributes
//! body: {"store": ["example_corp"]}           a policy, FilterPolicyScope MessageBody
//!     match: {"store": "example_corp"}        the message body, as is
//!     no match: this body is not JSON
//!     keys: 1                                 what the 5-key limit counted
//!     combinations: 1                         what the 150-combination limit counted
//! attributes: {"a": {"b": ["x"]}}
//!     error: does not support nested filter policy      a substring of the refusal
//! ```
//!
//! An attribute is `name DataType value`, the value running to the next
//! ` ; ` or the end of the line (no quoting: a `String.Array` value is its
//! JSON text). Attribute messages are matched both with the full list and
//! through a name lookup, which must agree unless the message has no
//! attribute but Binary ones.
//!
//! The end of the file holds property tests: no text or JSON makes `parse`
//! panic, and no message makes a parsed policy panic.

use std::path::{Path, PathBuf};

use argus_query::sns_filter::{self, Attribute, FilterPolicy, PolicyError, Scope};

/// The policy the following lines are about.
struct Current {
    scope: Scope,
    text: String,
    line: usize,
    parsed: Result<FilterPolicy, PolicyError>,
    /// Whether an `error:` line judged the refusal.
    refusal_checked: bool,
}

#[derive(Default)]
struct Report {
    checks: usize,
    failures: Vec<String>,
}

impl Report {
    fn check(&mut self, passed: bool, location: &str, what: impl FnOnce() -> String) {
        self.checks += 1;
        if !passed {
            self.failures.push(format!("{location}: {}", what()));
        }
    }
}

/// `store String fans ; price Number 10` → the attributes, borrowed from the line.
fn parse_attributes<'l>(text: &'l str, location: &str) -> Vec<(&'l str, Attribute<'l>)> {
    if text.trim() == "(none)" {
        return Vec::new();
    }
    text.split(" ; ")
        .map(|entry| {
            let mut words = entry.trim().splitn(3, ' ');
            let (Some(name), Some(data_type), Some(value)) =
                (words.next(), words.next(), words.next())
            else {
                panic!("{location}: attribute {entry:?} is not `name DataType value`");
            };
            (name, Attribute { data_type, value })
        })
        .collect()
}

fn finish(current: Option<Current>, file: &str, report: &mut Report) {
    let Some(current) = current else {
        return;
    };
    if let Err(error) = &current.parsed
        && !current.refusal_checked
    {
        report.check(false, &format!("{file}:{}", current.line), || {
            format!("policy {} was refused: {error}", current.text)
        });
    }
}

fn run_message(
    policy: &FilterPolicy,
    scope: Scope,
    message: &str,
    expected: bool,
    location: &str,
    report: &mut Report,
) {
    match scope {
        Scope::MessageAttributes => {
            let attributes = parse_attributes(message, location);
            let by_list = policy.matches_attribute_list(&attributes);
            report.check(by_list == expected, location, || {
                format!("expected match={expected}, got {by_list} for {message}")
            });
            report.check(policy.matches(&attributes, "") == by_list, location, || {
                "matches() disagrees".to_string()
            });
            // The lookup cannot know the message has no (non-Binary) attribute.
            if attributes
                .iter()
                .any(|(_, attribute)| !attribute.data_type.starts_with("Binary"))
            {
                let lookup = |name: &str| {
                    attributes
                        .iter()
                        .find(|(attribute, _)| *attribute == name)
                        .map(|(_, value)| *value)
                };
                let by_lookup = policy.matches_attributes(&lookup);
                report.check(by_lookup == by_list, location, || {
                    format!("the lookup says {by_lookup}, the list {by_list}")
                });
            }
        }
        Scope::MessageBody => {
            let matched = policy.matches_body_text(message);
            report.check(matched == expected, location, || {
                format!("expected match={expected}, got {matched} for {message}")
            });
            report.check(policy.matches(&[], message) == matched, location, || {
                "matches() disagrees".to_string()
            });
        }
    }
}

fn run_file(path: &Path, report: &mut Report) {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    let file = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut current: Option<Current> = None;

    for (index, raw) in text.lines().enumerate() {
        let line_number = index + 1;
        let location = format!("{file}:{line_number}");
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let header = line
            .strip_prefix("attributes:")
            .map(|rest| (Scope::MessageAttributes, rest));
        let header = header.or_else(|| {
            line.strip_prefix("body:")
                .map(|rest| (Scope::MessageBody, rest))
        });
        if let Some((scope, policy_text)) = header {
            finish(current.take(), &file, report);
            let policy_text = policy_text.trim().to_string();
            let parsed = sns_filter::parse(&policy_text, scope);
            current = Some(Current {
                scope,
                text: policy_text,
                line: line_number,
                parsed,
                refusal_checked: false,
            });
            continue;
        }

        let Some(policy) = current.as_mut() else {
            panic!("{location}: {line:?} comes before any policy");
        };
        let (directive, argument) = line
            .split_once(':')
            .unwrap_or_else(|| panic!("{location}: no directive in {line:?}"));
        let argument = argument.trim();
        if directive == "error" {
            policy.refusal_checked = true;
            match &policy.parsed {
                Ok(_) => report.check(false, &location, || {
                    format!("policy {} was accepted", policy.text)
                }),
                Err(error) => {
                    let message = error.to_string();
                    report.check(message.contains(argument), &location, || {
                        format!("expected {argument:?} in {message:?}")
                    });
                }
            }
            continue;
        }
        let parsed = match &policy.parsed {
            Ok(parsed) => parsed,
            Err(error) => {
                report.check(false, &location, || {
                    format!("policy {} was refused: {error}", policy.text)
                });
                continue;
            }
        };
        match directive {
            "match" => run_message(parsed, policy.scope, argument, true, &location, report),
            "no match" => run_message(parsed, policy.scope, argument, false, &location, report),
            "keys" => {
                let expected: usize = argument
                    .parse()
                    .unwrap_or_else(|_| panic!("{location}: bad count"));
                let counted = parsed.key_count();
                report.check(counted == expected, &location, || {
                    format!("expected {expected} keys, counted {counted}")
                });
            }
            "combinations" => {
                let expected: u64 = argument
                    .parse()
                    .unwrap_or_else(|_| panic!("{location}: bad count"));
                let counted = parsed.combinations();
                report.check(counted == expected, &location, || {
                    format!("expected {expected} combinations, counted {counted}")
                });
            }
            other => panic!("{location}: unknown directive {other:?}"),
        }
    }
    finish(current, &file, report);
}

fn case_files() -> Vec<PathBuf> {
    let directory = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sns_filter");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&directory)
        .unwrap_or_else(|error| panic!("{}: {error}", directory.display()))
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|extension| extension == "txt"))
        .collect();
    files.sort();
    files
}

#[test]
fn sns_filter_cases() {
    let mut report = Report::default();
    let files = case_files();
    assert!(!files.is_empty(), "no case files in tests/sns_filter");
    for path in &files {
        run_file(path, &mut report);
    }
    println!("{} checks in {} files", report.checks, files.len());
    assert!(
        report.failures.is_empty(),
        "{} of {} checks failed:\n{}",
        report.failures.len(),
        report.checks,
        report.failures.join("\n")
    );
}

mod never_panics {
    use proptest::prelude::*;
    use serde_json::{Map, Value};

    use super::*;

    /// Words that steer generated JSON into the parser's interesting paths.
    const KEYS: [&str; 12] = [
        "a",
        "b.c",
        "$or",
        "numeric",
        "prefix",
        "suffix",
        "anything-but",
        "exists",
        "cidr",
        "equals-ignore-case",
        "",
        "wildcard",
    ];
    const STRINGS: [&str; 12] = [
        "=",
        "<",
        "<=",
        ">",
        ">=",
        "10.0.0.0/8",
        "::/0",
        "1.2.3.4/33",
        "x/y/z",
        "abc",
        "",
        "ÄÖ",
    ];

    fn scalar() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            (-2e9f64..2e9f64).prop_map(Value::from),
            any::<f64>()
                .prop_map(|number| serde_json::Number::from_f64(number)
                    .map_or(Value::Null, Value::Number)),
            proptest::sample::select(STRINGS.to_vec()).prop_map(Value::from),
            ".{0,8}".prop_map(Value::from),
        ]
    }

    fn json() -> impl Strategy<Value = Value> {
        scalar().prop_recursive(6, 64, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                proptest::collection::vec((proptest::sample::select(KEYS.to_vec()), inner), 0..6)
                    .prop_map(|entries| Value::Object(
                        entries
                            .into_iter()
                            .map(|(key, value)| (key.to_string(), value))
                            .collect::<Map<_, _>>()
                    )),
            ]
        })
    }

    /// A JSON object, as most policies are, whose values are anything.
    fn policy_object() -> impl Strategy<Value = Value> {
        proptest::collection::vec((proptest::sample::select(KEYS.to_vec()), json()), 0..6).prop_map(
            |entries| {
                Value::Object(
                    entries
                        .into_iter()
                        .map(|(key, value)| (key.to_string(), value))
                        .collect::<Map<_, _>>(),
                )
            },
        )
    }

    fn exercise(policy: &FilterPolicy, body: &Value) {
        let body_text = body.to_string();
        let _ = policy.matches_body(body);
        let _ = policy.matches_body_text(&body_text);
        let _ = policy.matches_body_text("not json");
        let attributes = [
            (
                "a",
                Attribute {
                    data_type: "String",
                    value: "10.1.2.3",
                },
            ),
            (
                "b.c",
                Attribute {
                    data_type: "String.Array",
                    value: &body_text,
                },
            ),
            (
                "$or",
                Attribute {
                    data_type: "Number",
                    value: "1e400",
                },
            ),
            (
                "numeric",
                Attribute {
                    data_type: "Binary",
                    value: "AA",
                },
            ),
        ];
        let _ = policy.matches_attribute_list(&attributes);
        let _ = policy.matches(&attributes, &body_text);
    }

    proptest! {
        #[test]
        fn parse_survives_any_text(text in ".{0,64}") {
            for scope in [Scope::MessageAttributes, Scope::MessageBody] {
                let _ = sns_filter::parse(&text, scope);
            }
        }

        #[test]
        fn parse_and_match_survive_any_json(policy in prop_oneof![json(), policy_object()], body in json()) {
            let policy_text = policy.to_string();
            for scope in [Scope::MessageAttributes, Scope::MessageBody] {
                if let Ok(parsed) = sns_filter::parse(&policy_text, scope) {
                    exercise(&parsed, &body);
                }
            }
        }

        #[test]
        fn accepted_policies_stay_within_limits(policy in policy_object()) {
            if let Ok(parsed) = sns_filter::parse(&policy.to_string(), Scope::MessageBody) {
                prop_assert!(parsed.key_count() <= sns_filter::MAX_KEYS);
                prop_assert!(parsed.combinations() <= sns_filter::MAX_COMBINATIONS);
            }
        }
    }
}
