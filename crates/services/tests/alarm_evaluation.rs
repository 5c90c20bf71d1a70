//! Runs the data-driven alarm evaluation cases in
//! `tests/data/alarm_evaluation.txt` (the format is described at its top).

use argus_services::monitoring::alarms::evaluate::{
    Comparison, Datapoint, MissingData, Range, Rule, StateValue, decide,
};

/// 2026-11-22 10:00:00 UTC: the first slot of every range.
const START_MS: i64 = 1_795_341_600_000;

struct Case {
    line: usize,
    rule: Rule,
    data: Vec<Option<f64>>,
    expect: Vec<(MissingData, Option<StateValue>)>,
    reasons: Vec<(MissingData, String)>,
}

fn mode(text: &str) -> MissingData {
    MissingData::parse(text).unwrap_or_else(|| panic!("unknown TreatMissingData {text}"))
}

fn parse_cases(text: &str) -> Vec<Case> {
    let mut cases: Vec<Case> = Vec::new();
    let mut rule: Option<Rule> = None;
    for (index, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (keyword, rest) = line.split_once(' ').unwrap_or((line, ""));
        match keyword {
            "rule" => {
                let parts: Vec<&str> = rest.split_whitespace().collect();
                let [n, m, comparison, threshold] = parts.as_slice() else {
                    panic!("line {}: rule N M Comparison Threshold", index + 1)
                };
                rule = Some(Rule {
                    comparison: Comparison::parse(comparison).expect("comparison"),
                    threshold: threshold.parse().expect("threshold"),
                    evaluation_periods: n.parse().expect("N"),
                    datapoints_to_alarm: m.parse().expect("M"),
                    missing: MissingData::Missing,
                    period_s: 60,
                    min_samples: None,
                    statistic: Some("Sum".into()),
                    unit: None,
                });
            }
            "data" => {
                let data = rest
                    .split_whitespace()
                    .map(|token| match token {
                        "-" => None,
                        "X" => Some(5.0),
                        number => Some(number.parse().expect("a number, X or -")),
                    })
                    .collect();
                let rule = rule.clone().expect("a rule before data");
                cases.push(Case {
                    line: index + 1,
                    rule,
                    data,
                    expect: Vec::new(),
                    reasons: Vec::new(),
                });
            }
            "expect" => {
                let case = cases.last_mut().expect("a case");
                for pair in rest.split_whitespace() {
                    let (name, state) = pair.split_once('=').expect("mode=STATE");
                    let state = if state == "keep" {
                        None
                    } else {
                        Some(StateValue::parse(state).expect("state"))
                    };
                    case.expect.push((mode(name), state));
                }
            }
            "reason" => {
                let (name, reason) = rest.split_once(' ').expect("reason MODE text");
                cases
                    .last_mut()
                    .expect("a case")
                    .reasons
                    .push((mode(name), reason.to_string()));
            }
            other => panic!("line {}: unknown keyword {other}", index + 1),
        }
    }
    cases
}

#[test]
fn alarm_evaluation_cases() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/alarm_evaluation.txt"
    ))
    .expect("case file");
    let cases = parse_cases(&text);
    assert!(cases.len() >= 20, "only {} cases parsed", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let range = Range {
            start_ms: START_MS,
            slots: case
                .data
                .iter()
                .map(|value| {
                    value.map(|value| Datapoint {
                        value,
                        sample_count: Some(1.0),
                    })
                })
                .collect(),
        };
        for (missing, expected) in &case.expect {
            let rule = Rule {
                missing: *missing,
                ..case.rule.clone()
            };
            let decision = decide(&rule, &range, START_MS + 600_000);
            if decision.state != *expected {
                failures.push(format!(
                    "line {}: {missing:?}: expected {expected:?}, got {:?} ({})",
                    case.line, decision.state, decision.reason
                ));
            }
        }
        for (missing, reason) in &case.reasons {
            let rule = Rule {
                missing: *missing,
                ..case.rule.clone()
            };
            let decision = decide(&rule, &range, START_MS + 600_000);
            if decision.reason != *reason {
                failures.push(format!(
                    "line {}: {missing:?} reason:\n  expected {reason}\n  got      {}",
                    case.line, decision.reason
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
