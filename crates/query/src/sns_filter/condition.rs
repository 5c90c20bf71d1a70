//! One entry of a key's value array — a literal or an operator object — and
//! how it judges one value of the message.
//!
//! Operators: `prefix`, `suffix`, `equals-ignore-case`, `anything-but`
//! (a value, a list, or `{"prefix": …}`), `numeric` (`=`, or one or two
//! bounds), `cidr` (IPv4 and IPv6) and `exists`.

use std::net::IpAddr;

use serde_json::{Map, Value};

use super::error::PolicyError;

/// SNS compares numbers "with five digits of accuracy after the decimal
/// point": both sides are rounded to multiples of 0.00001 ("ticks").
const TICKS_PER_UNIT: f64 = 100_000.0;

/// A number in a policy must lie in [-10⁹, 10⁹] (the documented range).
pub const NUMERIC_LIMIT: f64 = 1_000_000_000.0;

/// Rounds a number to SNS's precision.
pub(super) fn ticks(number: f64) -> f64 {
    (number * TICKS_PER_UNIT).round()
}

/// One scalar value of the message, typed as SNS sees it: a body's JSON
/// scalars, a `String` or `Number` attribute, a `String.Array` element.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Candidate<'a> {
    Str(&'a str),
    Number(f64),
    Bool(bool),
    Null,
}

impl<'a> Candidate<'a> {
    /// The candidate of a JSON scalar; `None` for arrays and objects.
    pub(super) fn of_json(value: &'a Value) -> Option<Candidate<'a>> {
        match value {
            Value::String(text) => Some(Candidate::Str(text)),
            Value::Number(number) => number.as_f64().map(Candidate::Number),
            Value::Bool(flag) => Some(Candidate::Bool(*flag)),
            Value::Null => Some(Candidate::Null),
            Value::Array(_) | Value::Object(_) => None,
        }
    }
}

/// A literal of the policy; numbers are kept in ticks.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Literal {
    Str(String),
    Number(f64),
    Bool(bool),
    Null,
}

impl Literal {
    /// Type-aware equality: the string `"100"` is not the number `100`.
    fn equals(&self, candidate: Candidate<'_>) -> bool {
        match (self, candidate) {
            (Literal::Str(expected), Candidate::Str(text)) => expected == text,
            (Literal::Number(expected_ticks), Candidate::Number(number)) => {
                *expected_ticks == ticks(number)
            }
            (Literal::Bool(expected), Candidate::Bool(flag)) => *expected == flag,
            (Literal::Null, Candidate::Null) => true,
            _ => false,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Bound {
    ticks: f64,
    inclusive: bool,
}

/// `{"numeric": […]}`: `=` sets both bounds; otherwise a lower bound, an
/// upper bound, or a lower bound followed by an upper one.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct NumericRange {
    lower: Option<Bound>,
    upper: Option<Bound>,
}

impl NumericRange {
    fn contains(&self, number: f64) -> bool {
        let value = ticks(number);
        let above_lower = self
            .lower
            .is_none_or(|bound| value > bound.ticks || (bound.inclusive && value == bound.ticks));
        let below_upper = self
            .upper
            .is_none_or(|bound| value < bound.ticks || (bound.inclusive && value == bound.ticks));
        above_lower && below_upper
    }
}

/// `{"cidr": "10.0.0.0/24"}`, kept as the masked network and its length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Cidr {
    V4 { network: u32, prefix_len: u32 },
    V6 { network: u128, prefix_len: u32 },
}

impl Cidr {
    fn contains(&self, text: &str) -> bool {
        let Ok(address) = text.parse::<IpAddr>() else {
            return false;
        };
        match (*self, address) {
            (
                Cidr::V4 {
                    network,
                    prefix_len,
                },
                IpAddr::V4(address),
            ) => u32::from(address) & mask_v4(prefix_len) == network,
            (
                Cidr::V6 {
                    network,
                    prefix_len,
                },
                IpAddr::V6(address),
            ) => u128::from(address) & mask_v6(prefix_len) == network,
            _ => false,
        }
    }
}

fn mask_v4(prefix_len: u32) -> u32 {
    u32::MAX.checked_shl(32 - prefix_len.min(32)).unwrap_or(0)
}

fn mask_v6(prefix_len: u32) -> u128 {
    u128::MAX
        .checked_shl(128 - prefix_len.min(128))
        .unwrap_or(0)
}

/// One entry of a key's array. The entries of an array are alternatives.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Condition {
    Equals(Literal),
    /// Matches a string, number or boolean that is none of these.
    AnythingBut(Vec<Literal>),
    AnythingButPrefix(String),
    Prefix(String),
    Suffix(String),
    EqualsIgnoreCase(String),
    Numeric(NumericRange),
    Cidr(Cidr),
    /// Decided per key, not per value: see `KeyRule::accepts`.
    Exists(bool),
}

impl Condition {
    /// Whether one value of the message satisfies this condition.
    pub(super) fn accepts(&self, candidate: Candidate<'_>) -> bool {
        match self {
            Condition::Equals(literal) => literal.equals(candidate),
            // A null never satisfies anything-but: SNS treats a null as the
            // absence of a value (see `exists`), and anything-but needs one.
            Condition::AnythingBut(excluded) => {
                candidate != Candidate::Null
                    && !excluded.iter().any(|literal| literal.equals(candidate))
            }
            Condition::AnythingButPrefix(prefix) => {
                matches!(candidate, Candidate::Str(text) if !text.starts_with(prefix.as_str()))
            }
            Condition::Prefix(prefix) => {
                matches!(candidate, Candidate::Str(text) if text.starts_with(prefix.as_str()))
            }
            Condition::Suffix(suffix) => {
                matches!(candidate, Candidate::Str(text) if text.ends_with(suffix.as_str()))
            }
            Condition::EqualsIgnoreCase(expected) => {
                matches!(candidate, Candidate::Str(text) if equal_ignoring_case(text, expected))
            }
            Condition::Numeric(range) => {
                matches!(candidate, Candidate::Number(number) if range.contains(number))
            }
            Condition::Cidr(cidr) => {
                matches!(candidate, Candidate::Str(text) if cidr.contains(text))
            }
            Condition::Exists(_) => false,
        }
    }
}

/// Unicode case folding by lowercasing both sides, char by char, without
/// allocating.
fn equal_ignoring_case(left: &str, right: &str) -> bool {
    left.chars()
        .flat_map(char::to_lowercase)
        .eq(right.chars().flat_map(char::to_lowercase))
}

/// Parses one entry of a key's value array.
pub(super) fn parse(entry: &Value) -> Result<Condition, PolicyError> {
    match entry {
        Value::String(text) => Ok(Condition::Equals(Literal::Str(text.clone()))),
        Value::Number(_) => Ok(Condition::Equals(Literal::Number(policy_number(entry)?))),
        Value::Bool(flag) => Ok(Condition::Equals(Literal::Bool(*flag))),
        Value::Null => Ok(Condition::Equals(Literal::Null)),
        Value::Array(_) => Err(PolicyError::policy(
            "Match value must be String, number, true, false, or null",
        )),
        Value::Object(operator) => parse_operator(operator),
    }
}

/// The single `"operator": operand` pair of an object, or SNS's complaint.
fn single_entry(object: &Map<String, Value>) -> Result<(&str, &Value), PolicyError> {
    let mut entries = object.iter();
    let Some((operator, operand)) = entries.next() else {
        // Ours: SNS's wording for an empty match object is not recorded.
        return Err(PolicyError::policy("Empty objects are not allowed"));
    };
    if entries.next().is_some() {
        return Err(PolicyError::policy(
            "Only one key allowed in match expression",
        ));
    }
    Ok((operator, operand))
}

fn parse_operator(object: &Map<String, Value>) -> Result<Condition, PolicyError> {
    let (operator, operand) = single_entry(object)?;
    match operator {
        "prefix" => Ok(Condition::Prefix(string_operand(operator, operand)?)),
        "suffix" => Ok(Condition::Suffix(string_operand(operator, operand)?)),
        "equals-ignore-case" => Ok(Condition::EqualsIgnoreCase(string_operand(
            operator, operand,
        )?)),
        "exists" => match operand {
            Value::Bool(wanted) => Ok(Condition::Exists(*wanted)),
            _ => Err(PolicyError::policy(
                "exists match pattern must be either true or false.",
            )),
        },
        "anything-but" => parse_anything_but(operand),
        "numeric" => parse_numeric(operand).map(Condition::Numeric),
        "cidr" => parse_cidr(operand).map(Condition::Cidr),
        other => Err(PolicyError::policy(format!(
            "Unrecognized match type {other}"
        ))),
    }
}

fn string_operand(operator: &str, operand: &Value) -> Result<String, PolicyError> {
    match operand {
        Value::String(text) => Ok(text.clone()),
        _ => Err(PolicyError::policy(format!(
            "{operator} match pattern must be a string"
        ))),
    }
}

/// A number of the policy, range-checked, in ticks.
fn policy_number(value: &Value) -> Result<f64, PolicyError> {
    let number = value.as_f64().unwrap_or(f64::NAN);
    if !(-NUMERIC_LIMIT..=NUMERIC_LIMIT).contains(&number) {
        // Ours: SNS fails such a policy with an InternalFailure instead of
        // naming the problem; a client mistake must be a 400 here.
        return Err(PolicyError::policy(format!(
            "Numeric value {value} is out of range: numbers must be between -1000000000 and 1000000000"
        )));
    }
    Ok(ticks(number))
}

fn parse_anything_but(operand: &Value) -> Result<Condition, PolicyError> {
    match operand {
        Value::String(text) => Ok(Condition::AnythingBut(vec![Literal::Str(text.clone())])),
        Value::Number(_) => Ok(Condition::AnythingBut(vec![Literal::Number(
            policy_number(operand)?,
        )])),
        Value::Array(items) => {
            if items.is_empty() {
                return Err(PolicyError::policy("Empty arrays are not allowed"));
            }
            let mut excluded = Vec::with_capacity(items.len());
            for item in items {
                let literal = match item {
                    Value::String(text) => Literal::Str(text.clone()),
                    Value::Number(_) => Literal::Number(policy_number(item)?),
                    // Ours: the documentation only shows strings and numbers.
                    _ => {
                        return Err(PolicyError::policy(
                            "Inside anything-but list, only strings and numbers are allowed",
                        ));
                    }
                };
                excluded.push(literal);
            }
            Ok(Condition::AnythingBut(excluded))
        }
        Value::Object(inner) => {
            let (operator, prefix) = single_entry(inner)?;
            if operator != "prefix" {
                return Err(PolicyError::policy(format!(
                    "Unsupported anything-but pattern: {operator}"
                )));
            }
            Ok(Condition::AnythingButPrefix(string_operand(
                operator, prefix,
            )?))
        }
        Value::Bool(_) | Value::Null => Err(PolicyError::policy(
            "Value of anything-but must be an array or single string/number value",
        )),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RangeOperator {
    Equal,
    Greater,
    GreaterOrEqual,
    Less,
    LessOrEqual,
}

impl RangeOperator {
    fn parse(text: &str) -> Option<RangeOperator> {
        match text {
            "=" => Some(RangeOperator::Equal),
            ">" => Some(RangeOperator::Greater),
            ">=" => Some(RangeOperator::GreaterOrEqual),
            "<" => Some(RangeOperator::Less),
            "<=" => Some(RangeOperator::LessOrEqual),
            _ => None,
        }
    }

    /// How SNS names the operator in "Value of … must be numeric".
    fn name(self) -> &'static str {
        match self {
            RangeOperator::Equal => "equals",
            RangeOperator::Greater => ">",
            RangeOperator::GreaterOrEqual => ">=",
            RangeOperator::Less => "<",
            RangeOperator::LessOrEqual => "<=",
        }
    }

    fn is_lower_bound(self) -> bool {
        matches!(self, RangeOperator::Greater | RangeOperator::GreaterOrEqual)
    }

    fn is_upper_bound(self) -> bool {
        matches!(self, RangeOperator::Less | RangeOperator::LessOrEqual)
    }

    fn is_inclusive(self) -> bool {
        matches!(
            self,
            RangeOperator::GreaterOrEqual | RangeOperator::LessOrEqual | RangeOperator::Equal
        )
    }
}

/// The number after an operator, in ticks.
fn range_operand(operator: RangeOperator, operand: Option<&Value>) -> Result<f64, PolicyError> {
    match operand {
        Some(value @ Value::Number(_)) => policy_number(value),
        _ => Err(PolicyError::policy(format!(
            "Value of {} must be numeric",
            operator.name()
        ))),
    }
}

/// `["=", 5]`, `["<", 5]`, `[">", 0, "<=", 150]`: a lower bound may be
/// followed by an upper one, nothing else may be combined (SNS's rules and
/// wording, in SNS's order of checks).
fn parse_numeric(operand: &Value) -> Result<NumericRange, PolicyError> {
    let Some(items) = operand.as_array() else {
        // Ours.
        return Err(PolicyError::policy("Value of numeric must be an array"));
    };
    let mut items = items.iter();
    let Some(first) = items.next() else {
        return Err(PolicyError::policy("Invalid member in numeric match: ]"));
    };
    let Some(first_text) = first.as_str() else {
        return Err(PolicyError::policy(format!(
            "Invalid member in numeric match: {first}"
        )));
    };
    let Some(first_operator) = RangeOperator::parse(first_text) else {
        return Err(PolicyError::policy(format!(
            "Unrecognized numeric range operator: {first_text}"
        )));
    };
    let first_ticks = range_operand(first_operator, items.next())?;
    let first_bound = Bound {
        ticks: first_ticks,
        inclusive: first_operator.is_inclusive(),
    };

    let Some(second) = items.next() else {
        let range = match first_operator {
            RangeOperator::Equal => NumericRange {
                lower: Some(first_bound),
                upper: Some(first_bound),
            },
            operator if operator.is_lower_bound() => NumericRange {
                lower: Some(first_bound),
                upper: None,
            },
            _ => NumericRange {
                lower: None,
                upper: Some(first_bound),
            },
        };
        return Ok(range);
    };
    if !first_operator.is_lower_bound() {
        return Err(PolicyError::policy(
            "Too many elements in numeric expression",
        ));
    }
    let Some(second_text) = second.as_str() else {
        return Err(PolicyError::policy(format!(
            "Bad value in numeric range: {second}"
        )));
    };
    let second_operator = match RangeOperator::parse(second_text) {
        Some(operator) if operator.is_upper_bound() => operator,
        _ => {
            return Err(PolicyError::policy(format!(
                "Bad numeric range operator: {second_text}"
            )));
        }
    };
    let second_ticks = range_operand(second_operator, items.next())?;
    if second_ticks <= first_ticks {
        return Err(PolicyError::policy("Bottom must be less than top"));
    }
    if items.next().is_some() {
        return Err(PolicyError::policy(
            "Too many terms in numeric range expression",
        ));
    }
    Ok(NumericRange {
        lower: Some(first_bound),
        upper: Some(Bound {
            ticks: second_ticks,
            inclusive: second_operator.is_inclusive(),
        }),
    })
}

/// `"10.0.0.0/24"` or `"2001:db8::/32"`. Host bits set in the address are
/// ignored (`10.0.0.7/24` means `10.0.0.0/24`): SNS's behaviour there is not
/// recorded, and refusing would buy nothing.
fn parse_cidr(operand: &Value) -> Result<Cidr, PolicyError> {
    let Some(text) = operand.as_str() else {
        // SNS answers a non-string cidr with the prefix operator's message.
        return Err(PolicyError::policy("prefix match pattern must be a string"));
    };
    let mut parts = text.split('/');
    let (Some(address_text), Some(bits_text), None) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(PolicyError::policy("Malformed CIDR, one '/' required"));
    };
    let Ok(prefix_len) = bits_text.parse::<u32>() else {
        return Err(PolicyError::policy(
            "Malformed CIDR, mask bits must be an integer",
        ));
    };
    let Ok(address) = address_text.parse::<IpAddr>() else {
        return Err(PolicyError::policy(format!(
            "Nonstandard IP address: {address_text}"
        )));
    };
    match address {
        IpAddr::V4(address) if prefix_len <= 32 => Ok(Cidr::V4 {
            network: u32::from(address) & mask_v4(prefix_len),
            prefix_len,
        }),
        IpAddr::V6(address) if prefix_len <= 128 => Ok(Cidr::V6 {
            network: u128::from(address) & mask_v6(prefix_len),
            prefix_len,
        }),
        // Ours.
        IpAddr::V4(_) => Err(PolicyError::policy(
            "Malformed CIDR, mask bits must be between 0 and 32 for IPv4",
        )),
        IpAddr::V6(_) => Err(PolicyError::policy(
            "Malformed CIDR, mask bits must be between 0 and 128 for IPv6",
        )),
    }
}
