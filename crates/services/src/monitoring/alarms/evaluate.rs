//! CloudWatch's alarm evaluation semantics, as a pure function: the
//! datapoints of an alarm's evaluation range in, a state decision with
//! CloudWatch's reason text and reason data out.
//!
//! The rules (CloudWatch user guide, "How alarm state is evaluated when data
//! is missing"): the evaluation range holds more periods than
//! `EvaluationPeriods` (N). When at least N of them have data, the newest N
//! real datapoints are evaluated and missing data does not matter. With
//! fewer, the real ones are all evaluated and the rest are filled per
//! `TreatMissingData`, as few as possible: `breaching` and `notBreaching`
//! fill with breaching or good points; `missing` and `ignore` fill with
//! nothing — then the alarm goes to ALARM when at least
//! `DatapointsToAlarm` (M) are breaching or when every real point breaches
//! (`ignore` keeps its state in that last case), and to OK otherwise. With
//! no data at all: INSUFFICIENT_DATA, the current state, ALARM or OK.
//! The data-driven cases in `crates/services/tests/data/alarm_evaluation.txt`
//! include both tables of that guide.

use jiff::Timestamp;
use serde_json::{Value, json};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateValue {
    Ok,
    Alarm,
    InsufficientData,
}

impl StateValue {
    pub fn as_str(self) -> &'static str {
        match self {
            StateValue::Ok => "OK",
            StateValue::Alarm => "ALARM",
            StateValue::InsufficientData => "INSUFFICIENT_DATA",
        }
    }

    pub fn parse(text: &str) -> Option<StateValue> {
        match text {
            "OK" => Some(StateValue::Ok),
            "ALARM" => Some(StateValue::Alarm),
            "INSUFFICIENT_DATA" => Some(StateValue::InsufficientData),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    GreaterThanOrEqual,
    GreaterThan,
    LessThan,
    LessThanOrEqual,
}

impl Comparison {
    pub fn parse(text: &str) -> Option<Comparison> {
        match text {
            "GreaterThanOrEqualToThreshold" => Some(Comparison::GreaterThanOrEqual),
            "GreaterThanThreshold" => Some(Comparison::GreaterThan),
            "LessThanThreshold" => Some(Comparison::LessThan),
            "LessThanOrEqualToThreshold" => Some(Comparison::LessThanOrEqual),
            _ => None,
        }
    }

    pub fn breaches(self, value: f64, threshold: f64) -> bool {
        match self {
            Comparison::GreaterThanOrEqual => value >= threshold,
            Comparison::GreaterThan => value > threshold,
            Comparison::LessThan => value < threshold,
            Comparison::LessThanOrEqual => value <= threshold,
        }
    }

    /// How a reason says it: "was greater than the threshold".
    fn words(self) -> &'static str {
        match self {
            Comparison::GreaterThanOrEqual => "greater than or equal to",
            Comparison::GreaterThan => "greater than",
            Comparison::LessThan => "less than",
            Comparison::LessThanOrEqual => "less than or equal to",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MissingData {
    Missing,
    Ignore,
    Breaching,
    NotBreaching,
}

impl MissingData {
    pub fn parse(text: &str) -> Option<MissingData> {
        match text {
            "missing" => Some(MissingData::Missing),
            "ignore" => Some(MissingData::Ignore),
            "breaching" => Some(MissingData::Breaching),
            "notBreaching" => Some(MissingData::NotBreaching),
            _ => None,
        }
    }
}

/// One period's value of the alarm's metric or expression.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Datapoint {
    pub value: f64,
    /// The samples behind it (None for metric math).
    pub sample_count: Option<f64>,
}

/// What the evaluation needs of an alarm's configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub comparison: Comparison,
    pub threshold: f64,
    pub evaluation_periods: usize,
    pub datapoints_to_alarm: usize,
    pub missing: MissingData,
    pub period_s: i64,
    /// `Some(n)`: EvaluateLowSampleCountPercentile is `ignore` and a
    /// percentile needs `n` samples to be significant.
    pub min_samples: Option<f64>,
    /// For the reason data: `Sum`, `p99` …; None for metric math.
    pub statistic: Option<String>,
    pub unit: Option<String>,
}

/// The evaluation range: one slot per period, oldest first, with the start
/// of the oldest period.
#[derive(Debug, Clone, PartialEq)]
pub struct Range {
    pub start_ms: i64,
    pub slots: Vec<Option<Datapoint>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// None: the alarm keeps its state.
    pub state: Option<StateValue>,
    pub reason: String,
    pub reason_data: Value,
}

/// The number of periods an alarm reads: more than it evaluates, so that a
/// late or missing datapoint does not decide the state by itself.
pub fn range_periods(evaluation_periods: usize) -> usize {
    evaluation_periods + 2
}

/// The minimum samples for a significant percentile (CloudWatch: 10/(1-p)
/// for p ≥ 0.5, 10/p below).
pub fn significant_samples(percentile: f64) -> f64 {
    let p = percentile / 100.0;
    if p >= 0.5 {
        10.0 / (1.0 - p).max(1e-9)
    } else {
        10.0 / p.max(1e-9)
    }
}

struct Evaluated {
    timestamp_ms: i64,
    point: Option<Datapoint>,
    breaching: bool,
}

pub fn decide(rule: &Rule, range: &Range, now_ms: i64) -> Decision {
    let n = rule.evaluation_periods.max(1);
    let m = rule.datapoints_to_alarm.clamp(1, n);
    let period_ms = rule.period_s.max(1) * 1000;
    // Real points, newest first.
    let real: Vec<(i64, Datapoint)> = range
        .slots
        .iter()
        .enumerate()
        .rev()
        .filter_map(|(index, slot)| {
            slot.map(|point| (range.start_ms + index as i64 * period_ms, point))
        })
        .collect();
    let newest_slot_ms = range.start_ms + (range.slots.len() as i64 - 1).max(0) * period_ms;
    let mut data = ReasonData::new(rule, now_ms);

    if let Some(min) = rule.min_samples {
        let low = real
            .iter()
            .take(n)
            .any(|(_, point)| point.sample_count.is_some_and(|count| count < min));
        if low {
            return Decision {
                state: None,
                reason: "Insufficient samples: the percentile is not significant with this few samples; the state is kept.".into(),
                reason_data: data.finish(&[]),
            };
        }
    }

    if real.is_empty() {
        let missing: Vec<Evaluated> = (0..n as i64)
            .map(|back| Evaluated {
                timestamp_ms: newest_slot_ms - back * period_ms,
                point: None,
                breaching: false,
            })
            .collect();
        let (state, reason) = match rule.missing {
            MissingData::Missing => (
                Some(StateValue::InsufficientData),
                format!(
                    "Insufficient Data: {} {} unknown.",
                    count_noun(n, "datapoint"),
                    if n == 1 { "was" } else { "were" }
                ),
            ),
            MissingData::Ignore => (
                None,
                "No datapoints were received; missing data is ignored and the state is kept."
                    .into(),
            ),
            MissingData::Breaching => (
                Some(StateValue::Alarm),
                format!(
                    "Threshold Crossed: no datapoints were received for {} and {n} missing {} treated as [Breaching].",
                    count_noun(n, "period"),
                    were(n)
                ),
            ),
            MissingData::NotBreaching => (
                Some(StateValue::Ok),
                format!(
                    "Threshold Crossed: no datapoints were received for {} and {n} missing {} treated as [NonBreaching].",
                    count_noun(n, "period"),
                    were(n)
                ),
            ),
        };
        return Decision {
            state,
            reason,
            reason_data: data.finish(&missing),
        };
    }

    let mut evaluated: Vec<Evaluated> = real
        .iter()
        .take(n)
        .map(|(timestamp_ms, point)| Evaluated {
            timestamp_ms: *timestamp_ms,
            point: Some(*point),
            breaching: rule.comparison.breaches(point.value, rule.threshold),
        })
        .collect();
    let fills = n - evaluated.len();
    let breaching_real = evaluated.iter().filter(|e| e.breaching).count();
    let good_real = evaluated.len() - breaching_real;
    let state = if fills == 0 {
        if breaching_real >= m {
            StateValue::Alarm
        } else {
            StateValue::Ok
        }
    } else {
        // Fill the missing slots newest first, skipping the real ones.
        let mut slot_ms = newest_slot_ms;
        let taken: Vec<i64> = evaluated.iter().map(|e| e.timestamp_ms).collect();
        let fill_breaching = rule.missing == MissingData::Breaching;
        let mut added = 0;
        while added < fills {
            if !taken.contains(&slot_ms) {
                evaluated.push(Evaluated {
                    timestamp_ms: slot_ms,
                    point: None,
                    breaching: fill_breaching,
                });
                added += 1;
            }
            slot_ms -= period_ms;
        }
        evaluated.sort_by_key(|e| std::cmp::Reverse(e.timestamp_ms));
        match rule.missing {
            MissingData::Breaching => {
                if breaching_real + fills >= m {
                    StateValue::Alarm
                } else {
                    StateValue::Ok
                }
            }
            MissingData::NotBreaching => {
                if breaching_real >= m {
                    StateValue::Alarm
                } else {
                    StateValue::Ok
                }
            }
            MissingData::Missing | MissingData::Ignore => {
                if breaching_real >= m || good_real == 0 {
                    if rule.missing == MissingData::Ignore && breaching_real < m {
                        return Decision {
                            state: None,
                            reason: format!(
                                "{} of the last {n} periods had no data and missing data is ignored; the state is kept.",
                                fills
                            ),
                            reason_data: data.finish(&evaluated),
                        };
                    }
                    StateValue::Alarm
                } else {
                    StateValue::Ok
                }
            }
        }
    };
    data.recent = evaluated
        .iter()
        .rev()
        .filter_map(|e| e.point.map(|p| p.value))
        .collect();
    let reason = threshold_reason(rule, &evaluated, state, n, m);
    Decision {
        state: Some(state),
        reason,
        reason_data: data.finish(&evaluated),
    }
}

fn were(n: usize) -> &'static str {
    if n == 1 {
        "datapoint was"
    } else {
        "datapoints were"
    }
}

fn count_noun(count: usize, noun: &str) -> String {
    if count == 1 {
        format!("1 {noun}")
    } else {
        format!("{count} {noun}s")
    }
}

/// "Threshold Crossed: 2 out of the last 3 datapoints [12.0 (22/11/26
/// 10:05:00), …] were greater than the threshold (10.0) (minimum 2
/// datapoints for OK -> ALARM transition)."
fn threshold_reason(
    rule: &Rule,
    evaluated: &[Evaluated],
    state: StateValue,
    n: usize,
    m: usize,
) -> String {
    let alarm = state == StateValue::Alarm;
    let listed: Vec<&Evaluated> = evaluated
        .iter()
        .filter(|e| e.point.is_some() && e.breaching == alarm)
        .collect();
    let counted = evaluated.iter().filter(|e| e.breaching == alarm).count();
    let values: Vec<String> = listed
        .iter()
        .filter_map(|e| {
            e.point
                .map(|p| format!("{} ({})", java_double(p.value), reason_time(e.timestamp_ms)))
        })
        .collect();
    let relation = if alarm {
        rule.comparison.words().to_string()
    } else {
        format!("not {}", rule.comparison.words())
    };
    let verb = if counted == 1 { "was" } else { "were" };
    let threshold = java_double(rule.threshold);
    let mut reason = if counted == n {
        format!(
            "Threshold Crossed: {} [{}] {verb} {relation} the threshold ({threshold})",
            count_noun(counted, "datapoint"),
            values.join(", ")
        )
    } else {
        let minimum = if alarm { m } else { n - m + 1 };
        let transition = if alarm { "OK -> ALARM" } else { "ALARM -> OK" };
        format!(
            "Threshold Crossed: {counted} out of the last {n} datapoints [{}] {verb} {relation} the threshold ({threshold}) (minimum {} for {transition} transition)",
            values.join(", "),
            count_noun(minimum, "datapoint"),
        )
    };
    let filled = evaluated.iter().filter(|e| e.point.is_none()).count();
    if filled > 0 {
        let treated = match rule.missing {
            MissingData::Breaching => "Breaching",
            MissingData::NotBreaching => "NonBreaching",
            MissingData::Missing | MissingData::Ignore => "Missing",
        };
        reason.push_str(&format!(
            " and {filled} missing {} treated as [{treated}]",
            were(filled)
        ));
    }
    reason.push('.');
    reason
}

/// Numbers as CloudWatch's reasons print them (Java's `Double.toString`):
/// `5.0`, `12.25`, `1.0E7`.
pub fn java_double(value: f64) -> String {
    if value.is_finite() && value.fract() == 0.0 && value.abs() < 1e7 {
        format!("{value:.1}")
    } else if value.is_finite() && value != 0.0 && (value.abs() >= 1e7 || value.abs() < 1e-3) {
        let exponent = value.abs().log10().floor() as i32;
        let mantissa = value / 10f64.powi(exponent);
        let mantissa = if mantissa.fract() == 0.0 {
            format!("{mantissa:.1}")
        } else {
            format!("{mantissa}")
        };
        format!("{mantissa}E{exponent}")
    } else {
        format!("{value}")
    }
}

/// `22/11/26 10:05:00` (dd/MM/yy HH:mm:ss, UTC).
fn reason_time(ms: i64) -> String {
    Timestamp::from_millisecond(ms)
        .map(|ts| ts.strftime("%d/%m/%y %H:%M:%S").to_string())
        .unwrap_or_default()
}

/// `2026-11-22T10:05:00.000+0000`, as CloudWatch's reason data writes dates.
pub fn reason_data_time(ms: i64) -> String {
    Timestamp::from_millisecond(ms)
        .map(|ts| ts.strftime("%Y-%m-%dT%H:%M:%S%.3f+0000").to_string())
        .unwrap_or_default()
}

struct ReasonData<'a> {
    rule: &'a Rule,
    now_ms: i64,
    recent: Vec<f64>,
}

impl<'a> ReasonData<'a> {
    fn new(rule: &'a Rule, now_ms: i64) -> Self {
        ReasonData {
            rule,
            now_ms,
            recent: Vec::new(),
        }
    }

    fn finish(self, evaluated: &[Evaluated]) -> Value {
        let mut data = serde_json::Map::new();
        data.insert("version".into(), json!("1.0"));
        data.insert("queryDate".into(), json!(reason_data_time(self.now_ms)));
        if let Some(oldest) = evaluated.iter().map(|e| e.timestamp_ms).min() {
            data.insert("startDate".into(), json!(reason_data_time(oldest)));
        }
        if let Some(unit) = &self.rule.unit {
            data.insert("unit".into(), json!(unit));
        }
        if let Some(statistic) = &self.rule.statistic {
            data.insert("statistic".into(), json!(statistic));
        }
        data.insert("period".into(), json!(self.rule.period_s));
        data.insert("recentDatapoints".into(), json!(self.recent));
        data.insert("threshold".into(), json!(self.rule.threshold));
        let points: Vec<Value> = evaluated
            .iter()
            .map(|e| {
                let mut point = serde_json::Map::new();
                point.insert("timestamp".into(), json!(reason_data_time(e.timestamp_ms)));
                if let Some(p) = e.point {
                    if let Some(count) = p.sample_count {
                        point.insert("sampleCount".into(), json!(count));
                    }
                    point.insert("value".into(), json!(p.value));
                }
                Value::Object(point)
            })
            .collect();
        data.insert("evaluatedDatapoints".into(), Value::Array(points));
        Value::Object(data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_print_as_java_doubles() {
        assert_eq!(java_double(5.0), "5.0");
        assert_eq!(java_double(12.25), "12.25");
        assert_eq!(java_double(-3.0), "-3.0");
        assert_eq!(java_double(1e7), "1.0E7");
        assert_eq!(java_double(2.5e9), "2.5E9");
    }

    #[test]
    fn percentiles_need_more_samples_towards_the_tails() {
        assert!((significant_samples(99.0) - 1000.0).abs() < 1e-6);
        assert!((significant_samples(50.0) - 20.0).abs() < 1e-6);
        assert!((significant_samples(10.0) - 100.0).abs() < 1e-6);
    }
}
