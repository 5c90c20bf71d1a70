//! Statistic names as CloudWatch spells them: the five basic statistics of
//! `GetMetricStatistics` `Statistics`, and the extended ones accepted by
//! `ExtendedStatistics`, `PutMetricAlarm` `ExtendedStatistic` and
//! `GetMetricData` `MetricStat.Stat`.
//!
//! Syntax follows "CloudWatch statistics definitions"
//! (<https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Statistics-definitions.html>):
//!
//! * basic names are case-sensitive: `SampleCount`, `Average`, `Sum`,
//!   `Minimum`, `Maximum`; `IQM` is uppercase;
//! * a single number means percentages from the bottom and is lowercase only:
//!   `p99`, `p99.9`, `tm99` (= `TM(:99%)`), `wm98`, `tc90`, `ts90`;
//! * a range is `NAME(lower:upper)` with either bound optional. With `%` the
//!   bounds are percentiles (0 to 100); without, they are metric values. The
//!   docs show ranges in uppercase; lowercase (`tm(10%:90%)`) is accepted too.
//!   `PR` takes values only;
//! * numbers have at most 10 decimal places, no sign, no exponent.
//!
//! Anything else is a [`StatisticError`] saying what to change.

use std::fmt;
use std::str::FromStr;

/// Most decimal places a bound or percentile may have (AWS: "up to 10 decimal places").
const MAX_DECIMALS: usize = 10;

/// One CloudWatch statistic.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Statistic {
    SampleCount,
    Average,
    Sum,
    Minimum,
    Maximum,
    /// `pNN`: the value at this percentile (0 to 100).
    Percentile(f64),
    /// `TM(..)` / `tmNN`: mean of the values inside the bounds.
    TrimmedMean(Bounds),
    /// `WM(..)` / `wmNN`: mean after clamping values outside the bounds to the bounds.
    WinsorizedMean(Bounds),
    /// `TC(..)` / `tcNN`: number of values inside the bounds.
    TrimmedCount(Bounds),
    /// `TS(..)` / `tsNN`: sum of the values inside the bounds.
    TrimmedSum(Bounds),
    /// `PR(lower:upper)`: percentage (0 to 100) of values in `(lower, upper]`.
    PercentileRank(ValueRange),
    /// `IQM`: `TM(25%:75%)`.
    InterquartileMean,
}

/// The bounds of a trimmed statistic: percentiles (`TM(10%:90%)`) or metric
/// values (`TM(150:1000)`). At least one bound is present and lower < upper.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Bounds {
    /// Percentiles between 0 and 100.
    Percent {
        lower: Option<f64>,
        upper: Option<f64>,
    },
    /// Metric values; `lower` is exclusive, `upper` inclusive.
    Value(ValueRange),
}

/// A range of metric values, lower exclusive and upper inclusive
/// (AWS: "between 80 (exclusive) and 500 (inclusive)").
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ValueRange {
    pub lower: Option<f64>,
    pub upper: Option<f64>,
}

/// Why a statistic string was rejected. Callers map every variant to
/// `InvalidParameterValue`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StatisticError {
    #[error(
        "`{0}` is not a statistic: use SampleCount, Average, Sum, Minimum, Maximum, IQM, \
         a percentile such as p99 or p99.9, or TM, WM, TC, TS or PR with bounds such as TM(10%:90%)"
    )]
    Unknown(String),
    #[error("`{stat}`: {what} must be a number from 0 to 100 with at most 10 decimal places")]
    BadPercent { stat: String, what: String },
    #[error(
        "`{stat}`: bound `{bound}` must be a number without sign or exponent, with at most 10 decimal places"
    )]
    BadValue { stat: String, bound: String },
    #[error("`{stat}`: give at least one bound, as in TM(:95%) or TM(10%:)")]
    NoBounds { stat: String },
    #[error(
        "`{stat}`: write the bounds as `lower:upper` inside the parentheses, as in TM(10%:90%)"
    )]
    MissingColon { stat: String },
    #[error(
        "`{stat}`: both bounds must be percentages or both metric values, as in TM(10%:90%) or TM(100:2000)"
    )]
    MixedBounds { stat: String },
    #[error(
        "`{stat}`: PR bounds are metric values, not percentages, as in PR(:300) or PR(100:2000)"
    )]
    PercentRank { stat: String },
    #[error("`{stat}`: the lower bound must be less than the upper bound")]
    BoundsOrder { stat: String },
    #[error("`{stat}`: a single-number statistic is written in lowercase, as in `{suggestion}`")]
    UppercaseShorthand { stat: String, suggestion: String },
}

impl Statistic {
    /// One of the five statistics of `GetMetricStatistics` `Statistics`,
    /// computable from a statistic set (count, sum, min, max).
    pub fn is_basic(&self) -> bool {
        matches!(
            self,
            Self::SampleCount | Self::Average | Self::Sum | Self::Minimum | Self::Maximum
        )
    }

    /// Needs the value distribution (AWS: "CloudWatch needs raw data points to
    /// calculate" these).
    pub fn needs_distribution(&self) -> bool {
        !self.is_basic()
    }
}

impl FromStr for Statistic {
    type Err = StatisticError;

    fn from_str(stat: &str) -> Result<Self, Self::Err> {
        match stat {
            "SampleCount" => return Ok(Self::SampleCount),
            "Average" => return Ok(Self::Average),
            "Sum" => return Ok(Self::Sum),
            "Minimum" => return Ok(Self::Minimum),
            "Maximum" => return Ok(Self::Maximum),
            "IQM" => return Ok(Self::InterquartileMean),
            _ => {}
        }
        if let Some(open) = stat.find('(') {
            return parse_range_form(stat, open);
        }
        parse_single_number_form(stat)
    }
}

/// Which family a prefix such as `tm` or `TM` names.
#[derive(Clone, Copy)]
enum Family {
    TrimmedMean,
    WinsorizedMean,
    TrimmedCount,
    TrimmedSum,
    PercentileRank,
}

impl Family {
    fn from_prefix(prefix: &str) -> Option<Self> {
        match prefix {
            "TM" | "tm" => Some(Self::TrimmedMean),
            "WM" | "wm" => Some(Self::WinsorizedMean),
            "TC" | "tc" => Some(Self::TrimmedCount),
            "TS" | "ts" => Some(Self::TrimmedSum),
            "PR" | "pr" => Some(Self::PercentileRank),
            _ => None,
        }
    }

    fn with_bounds(self, bounds: Bounds) -> Statistic {
        match self {
            Self::TrimmedMean => Statistic::TrimmedMean(bounds),
            Self::WinsorizedMean => Statistic::WinsorizedMean(bounds),
            Self::TrimmedCount => Statistic::TrimmedCount(bounds),
            Self::TrimmedSum => Statistic::TrimmedSum(bounds),
            Self::PercentileRank => match bounds {
                Bounds::Value(range) => Statistic::PercentileRank(range),
                // The caller rejects percentages for PR before getting here;
                // keep a total function rather than panic.
                Bounds::Percent { lower, upper } => {
                    Statistic::PercentileRank(ValueRange { lower, upper })
                }
            },
        }
    }
}

/// `NAME(lower:upper)`.
fn parse_range_form(stat: &str, open: usize) -> Result<Statistic, StatisticError> {
    let unknown = || StatisticError::Unknown(stat.to_owned());
    let (prefix, rest) = stat.split_at(open);
    let family = Family::from_prefix(prefix).ok_or_else(unknown)?;
    let inner = rest
        .strip_prefix('(')
        .and_then(|r| r.strip_suffix(')'))
        .ok_or_else(unknown)?;
    let (lower_text, upper_text) =
        inner
            .split_once(':')
            .ok_or_else(|| StatisticError::MissingColon {
                stat: stat.to_owned(),
            })?;
    let lower = parse_bound(stat, lower_text)?;
    let upper = parse_bound(stat, upper_text)?;

    let is_percent = match (lower, upper) {
        (None, None) => {
            return Err(StatisticError::NoBounds {
                stat: stat.to_owned(),
            });
        }
        (Some(l), Some(u)) if l.is_percent != u.is_percent => {
            return Err(StatisticError::MixedBounds {
                stat: stat.to_owned(),
            });
        }
        (Some(b), _) | (None, Some(b)) => b.is_percent,
    };
    if is_percent && matches!(family, Family::PercentileRank) {
        return Err(StatisticError::PercentRank {
            stat: stat.to_owned(),
        });
    }
    let lower = lower.map(|b| b.number);
    let upper = upper.map(|b| b.number);
    if let (Some(l), Some(u)) = (lower, upper)
        && l >= u
    {
        return Err(StatisticError::BoundsOrder {
            stat: stat.to_owned(),
        });
    }
    let bounds = if is_percent {
        Bounds::Percent { lower, upper }
    } else {
        Bounds::Value(ValueRange { lower, upper })
    };
    Ok(family.with_bounds(bounds))
}

#[derive(Clone, Copy)]
struct Bound {
    number: f64,
    is_percent: bool,
}

fn parse_bound(stat: &str, text: &str) -> Result<Option<Bound>, StatisticError> {
    if text.is_empty() {
        return Ok(None);
    }
    if let Some(digits) = text.strip_suffix('%') {
        let number = parse_percent(digits).ok_or_else(|| StatisticError::BadPercent {
            stat: stat.to_owned(),
            what: format!("bound `{text}`"),
        })?;
        return Ok(Some(Bound {
            number,
            is_percent: true,
        }));
    }
    let number = parse_decimal(text).ok_or_else(|| StatisticError::BadValue {
        stat: stat.to_owned(),
        bound: text.to_owned(),
    })?;
    Ok(Some(Bound {
        number,
        is_percent: false,
    }))
}

/// `p99`, `tm99`, `wm98`, `tc90`, `ts90`.
fn parse_single_number_form(stat: &str) -> Result<Statistic, StatisticError> {
    let digits_at = stat
        .find(|c: char| c.is_ascii_digit())
        .ok_or_else(|| StatisticError::Unknown(stat.to_owned()))?;
    let (prefix, number) = stat.split_at(digits_at);
    let lowercase = prefix.to_ascii_lowercase();
    let is_known = matches!(lowercase.as_str(), "p" | "tm" | "wm" | "tc" | "ts");
    if !is_known {
        return Err(StatisticError::Unknown(stat.to_owned()));
    }
    if prefix != lowercase {
        return Err(StatisticError::UppercaseShorthand {
            stat: stat.to_owned(),
            suggestion: format!("{lowercase}{number}"),
        });
    }
    let what = if prefix == "p" {
        "the percentile"
    } else {
        "the upper percentile"
    };
    let percent = parse_percent(number).ok_or_else(|| StatisticError::BadPercent {
        stat: stat.to_owned(),
        what: what.to_owned(),
    })?;
    let up_to = Bounds::Percent {
        lower: None,
        upper: Some(percent),
    };
    Ok(match prefix {
        "p" => Statistic::Percentile(percent),
        "tm" => Statistic::TrimmedMean(up_to),
        "wm" => Statistic::WinsorizedMean(up_to),
        "tc" => Statistic::TrimmedCount(up_to),
        _ => Statistic::TrimmedSum(up_to),
    })
}

fn parse_percent(text: &str) -> Option<f64> {
    parse_decimal(text).filter(|p| *p <= 100.0)
}

/// `digits[.digits]`, at most [`MAX_DECIMALS`] after the point.
fn parse_decimal(text: &str) -> Option<f64> {
    let (whole, fraction) = match text.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (text, None),
    };
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(whole) {
        return None;
    }
    if let Some(fraction) = fraction
        && (!all_digits(fraction) || fraction.len() > MAX_DECIMALS)
    {
        return None;
    }
    text.parse::<f64>().ok().filter(|n| n.is_finite())
}

impl fmt::Display for Statistic {
    /// The canonical spelling: parsing it gives back the same statistic.
    /// (`p0.0` displays as `p0`, `TM(:99%)` as `tm99`.) API responses that
    /// echo the caller's statistic should echo the caller's string instead.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::SampleCount => f.write_str("SampleCount"),
            Self::Average => f.write_str("Average"),
            Self::Sum => f.write_str("Sum"),
            Self::Minimum => f.write_str("Minimum"),
            Self::Maximum => f.write_str("Maximum"),
            Self::InterquartileMean => f.write_str("IQM"),
            Self::Percentile(p) => write!(f, "p{p}"),
            Self::TrimmedMean(bounds) => write_bounds(f, "tm", bounds),
            Self::WinsorizedMean(bounds) => write_bounds(f, "wm", bounds),
            Self::TrimmedCount(bounds) => write_bounds(f, "tc", bounds),
            Self::TrimmedSum(bounds) => write_bounds(f, "ts", bounds),
            Self::PercentileRank(range) => write_range(f, "PR", range.lower, range.upper, ""),
        }
    }
}

fn write_bounds(f: &mut fmt::Formatter<'_>, short: &str, bounds: &Bounds) -> fmt::Result {
    let long = short.to_ascii_uppercase();
    match *bounds {
        Bounds::Percent {
            lower: None,
            upper: Some(upper),
        } => write!(f, "{short}{upper}"),
        Bounds::Percent { lower, upper } => write_range(f, &long, lower, upper, "%"),
        Bounds::Value(range) => write_range(f, &long, range.lower, range.upper, ""),
    }
}

fn write_range(
    f: &mut fmt::Formatter<'_>,
    name: &str,
    lower: Option<f64>,
    upper: Option<f64>,
    unit: &str,
) -> fmt::Result {
    write!(f, "{name}(")?;
    if let Some(lower) = lower {
        write!(f, "{lower}{unit}")?;
    }
    f.write_str(":")?;
    if let Some(upper) = upper {
        write!(f, "{upper}{unit}")?;
    }
    f.write_str(")")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Statistic {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn percent(lower: Option<f64>, upper: Option<f64>) -> Bounds {
        Bounds::Percent { lower, upper }
    }

    fn values(lower: Option<f64>, upper: Option<f64>) -> ValueRange {
        ValueRange { lower, upper }
    }

    #[test]
    fn basic_names_are_case_sensitive() {
        assert_eq!(parse("SampleCount"), Statistic::SampleCount);
        assert_eq!(parse("Average"), Statistic::Average);
        assert_eq!(parse("Sum"), Statistic::Sum);
        assert_eq!(parse("Minimum"), Statistic::Minimum);
        assert_eq!(parse("Maximum"), Statistic::Maximum);
        assert_eq!(parse("IQM"), Statistic::InterquartileMean);
        for bad in ["average", "SUM", "Min", "max", "iqm", "", "p", "TM", "TM()"] {
            assert!(bad.parse::<Statistic>().is_err(), "{bad}");
        }
    }

    #[test]
    fn percentiles_from_p0_to_p100() {
        assert_eq!(parse("p99"), Statistic::Percentile(99.0));
        assert_eq!(parse("p99.9"), Statistic::Percentile(99.9));
        assert_eq!(parse("p0.0"), Statistic::Percentile(0.0));
        assert_eq!(parse("p100"), Statistic::Percentile(100.0));
        assert_eq!(
            parse("p99.9999999999"),
            Statistic::Percentile(99.999_999_999_9)
        );
        for bad in [
            "p100.5",
            "p101",
            "p-1",
            "p99.",
            "p.5",
            "p99.99999999999",
            "p1e2",
            "p 99",
            "P99",
            "p99%",
            "pp99",
        ] {
            assert!(bad.parse::<Statistic>().is_err(), "{bad}");
        }
    }

    #[test]
    fn trimmed_forms_with_percentages() {
        assert_eq!(
            parse("TM(10%:90%)"),
            Statistic::TrimmedMean(percent(Some(10.0), Some(90.0)))
        );
        assert_eq!(parse("tm(10%:90%)"), parse("TM(10%:90%)"));
        assert_eq!(
            parse("TM(:95%)"),
            Statistic::TrimmedMean(percent(None, Some(95.0)))
        );
        assert_eq!(
            parse("TM(5%:)"),
            Statistic::TrimmedMean(percent(Some(5.0), None))
        );
        assert_eq!(parse("tm99"), parse("TM(:99%)"));
        assert_eq!(
            parse("wm98"),
            Statistic::WinsorizedMean(percent(None, Some(98.0)))
        );
        assert_eq!(
            parse("tc90"),
            Statistic::TrimmedCount(percent(None, Some(90.0)))
        );
        assert_eq!(
            parse("ts90"),
            Statistic::TrimmedSum(percent(None, Some(90.0)))
        );
        assert_eq!(
            parse("TS(80%:)"),
            Statistic::TrimmedSum(percent(Some(80.0), None))
        );
    }

    #[test]
    fn trimmed_forms_with_values() {
        assert_eq!(
            parse("TM(100:2000)"),
            Statistic::TrimmedMean(Bounds::Value(values(Some(100.0), Some(2000.0))))
        );
        assert_eq!(
            parse("TC(0.005:0.030)"),
            Statistic::TrimmedCount(Bounds::Value(values(Some(0.005), Some(0.03))))
        );
        assert_eq!(
            parse("TC(:0.5)"),
            Statistic::TrimmedCount(Bounds::Value(values(None, Some(0.5))))
        );
        assert_eq!(
            parse("PR(:300)"),
            Statistic::PercentileRank(values(None, Some(300.0)))
        );
        assert_eq!(
            parse("PR(100:2000)"),
            Statistic::PercentileRank(values(Some(100.0), Some(2000.0)))
        );
    }

    #[test]
    fn invalid_strings_say_what_is_wrong() {
        let message = |s: &str| s.parse::<Statistic>().unwrap_err().to_string();
        assert!(message("TM(90%:10%)").contains("lower bound must be less"));
        assert!(message("TM(50%:50%)").contains("lower bound must be less"));
        assert!(message("TM(10%:900)").contains("both bounds"));
        assert!(message("PR(10%:90%)").contains("PR bounds are metric values"));
        assert!(message("TM(:)").contains("at least one bound"));
        assert!(message("TM(10%)").contains("lower:upper"));
        assert!(message("TM99").contains("`tm99`"));
        assert!(message("P99").contains("`p99`"));
        assert!(message("p100.5").contains("from 0 to 100"));
        assert!(message("TM(:100.5%)").contains("bound `100.5%`"));
        assert!(message("TM(-5:5)").contains("bound `-5`"));
        assert!(message("XX(1:2)").contains("is not a statistic"));
        assert!(message("TM(1:2").contains("is not a statistic"));
        assert!(message("pr99").contains("is not a statistic"));
        assert!(message("Average ").contains("is not a statistic"));
    }

    #[test]
    fn display_is_canonical_and_parses_back() {
        for (input, shown) in [
            ("p99", "p99"),
            ("p99.9", "p99.9"),
            ("p0.0", "p0"),
            ("TM(:99%)", "tm99"),
            ("tm(10%:90%)", "TM(10%:90%)"),
            ("TM(5%:)", "TM(5%:)"),
            ("WM(100:2000)", "WM(100:2000)"),
            ("PR(:300)", "PR(:300)"),
            ("TC(0.005:0.030)", "TC(0.005:0.03)"),
            ("p0.0000000001", "p0.0000000001"),
            ("IQM", "IQM"),
            ("SampleCount", "SampleCount"),
        ] {
            let stat = parse(input);
            assert_eq!(stat.to_string(), shown, "{input}");
            assert_eq!(parse(shown), stat, "{shown}");
        }
    }
}
