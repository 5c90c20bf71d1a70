//! The Logs Insights function catalog, as data: every function AWS
//! documents ("Boolean, comparison, numeric, datetime, and other
//! functions", "Hashing functions", "Time-series functions" and the
//! functions of `stats`), with its parameters, which of them are optional,
//! what it returns and whether it aggregates.
//!
//! Names are matched case-insensitively (AWS's own examples write
//! `ispresent` and `isPresent`, `bin` and `BIN`, `MAX`, `SUM`); the tree
//! keeps the spelling below. Kinds follow AWS's signatures: "LogField"
//! (any value) is [`ValueKind::Any`], "Map | List" is
//! [`ValueKind::Structure`]; where AWS says a predicate returns `1`/`0` its
//! result is [`ValueKind::Number`], where it says `true`/`false`,
//! [`ValueKind::Boolean`] (Insights treats the two alike).

use std::fmt::Write as _;

/// The kind of a value, as far as the parser can know it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    Number,
    String,
    Boolean,
    Timestamp,
    /// A time period literal: `5m`, `1h`.
    Period,
    /// A map or a list (`jsonParse`'s result).
    Structure,
    List,
    Map,
    /// Any log field value.
    Any,
}

impl ValueKind {
    pub fn describe(self) -> &'static str {
        match self {
            ValueKind::Number => "a number",
            ValueKind::String => "a string",
            ValueKind::Boolean => "a condition",
            ValueKind::Timestamp => "a timestamp",
            ValueKind::Period => "a time period such as 5m",
            ValueKind::Structure => "a map or list (from jsonParse)",
            ValueKind::List => "a list",
            ValueKind::Map => "a map",
            ValueKind::Any => "a value",
        }
    }
}

/// Where a function may be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FunctionClass {
    /// One value per row: usable anywhere an expression is.
    Scalar,
    /// A `stats` aggregation function (`avg`, `count`, `pct`, …).
    Aggregate,
    /// A `stats` non-aggregation function (`earliest`, `latest`,
    /// `sortsFirst`, `sortsLast`): one row's value per group, so for the
    /// planner an ordered first/last aggregate.
    StatsSelector,
    /// A time-series function of `stats` (`rate`, `count_over_time`, …).
    TimeSeries,
}

impl FunctionClass {
    /// Whether the function computes one value per `stats` group (and so
    /// may only be used in a `stats` command).
    pub fn is_aggregate(self) -> bool {
        self != FunctionClass::Scalar
    }
}

/// The section of AWS's documentation a function comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Category {
    Numeric,
    Datetime,
    General,
    Json,
    IpAddress,
    String,
    Hashing,
    StatsAggregation,
    StatsNonAggregation,
    TimeSeries,
}

/// One documented function.
#[derive(Debug, PartialEq, Eq)]
pub struct FunctionSpec {
    /// The canonical spelling (AWS's).
    pub name: &'static str,
    /// Other names for the same function (`strftime` for `formatDate`).
    pub aliases: &'static [&'static str],
    pub category: Category,
    pub class: FunctionClass,
    /// Parameter names and kinds, in order. For a variadic function the
    /// last one repeats.
    pub params: &'static [(&'static str, ValueKind)],
    /// How many arguments are required.
    pub min_args: usize,
    /// The most arguments accepted; `None` when unbounded.
    pub max_args: Option<usize>,
    pub result: ValueKind,
    /// Whether `*` is accepted as the only argument (`count(*)`).
    pub accepts_star: bool,
}

impl FunctionSpec {
    /// The parameter an argument at `index` binds to.
    pub fn param(&self, index: usize) -> Option<(&'static str, ValueKind)> {
        self.params.get(index).or_else(|| if self.max_args.is_none() || self.max_args > Some(self.params.len()) { self.params.last() } else { None }).copied()
    }

    /// `name(param, param[, optional])` for messages.
    pub fn signature(&self) -> String {
        let mut text = format!("{}(", self.name);
        let bounded = self.max_args == Some(self.params.len());
        for (index, (param, _)) in self.params.iter().enumerate() {
            let separator = if index == 0 { "" } else { ", " };
            if index >= self.min_args && bounded {
                let _ = write!(text, "[{separator}{param}]");
            } else {
                let _ = write!(text, "{separator}{param}");
            }
        }
        if !bounded {
            text.push_str(", …");
        }
        if self.accepts_star {
            text.push_str(" | *");
        }
        text.push(')');
        text
    }
}

use Category as C;
use FunctionClass as F;
use ValueKind::{Any, Boolean, Map, Number, Period, Structure, Timestamp};
use ValueKind::{List, String as Str};

const fn fixed(name: &'static str, category: Category, params: &'static [(&'static str, ValueKind)], min_args: usize, result: ValueKind) -> FunctionSpec {
    FunctionSpec { name, aliases: &[], category, class: F::Scalar, params, min_args, max_args: Some(params.len()), result, accepts_star: false }
}

const fn variadic(name: &'static str, category: Category, params: &'static [(&'static str, ValueKind)], min_args: usize, max_args: Option<usize>, result: ValueKind) -> FunctionSpec {
    FunctionSpec { name, aliases: &[], category, class: F::Scalar, params, min_args, max_args, result, accepts_star: false }
}

const fn stats(name: &'static str, category: Category, class: FunctionClass, params: &'static [(&'static str, ValueKind)], result: ValueKind) -> FunctionSpec {
    FunctionSpec { name, aliases: &[], category, class, params, min_args: params.len(), max_args: Some(params.len()), result, accepts_star: false }
}

const fn aliased(spec: FunctionSpec, aliases: &'static [&'static str]) -> FunctionSpec {
    FunctionSpec { aliases, ..spec }
}

const A: &[(&str, ValueKind)] = &[("a", Number)];
const FIELD: &[(&str, ValueKind)] = &[("fieldName", Any)];
const NUMERIC_FIELD: &[(&str, ValueKind)] = &[("fieldName", Number)];
const STRING_FIELD: &[(&str, ValueKind)] = &[("fieldName", Str)];
const STR: &[(&str, ValueKind)] = &[("str", Str)];
const IP_SUBNET: &[(&str, ValueKind)] = &[("fieldName", Str), ("subnet", Str)];
const TRIM: &[(&str, ValueKind)] = &[("str", Str), ("trimChars", Str)];
const SEARCH: &[(&str, ValueKind)] = &[("str", Str), ("searchValue", Str)];
const NONE: &[(&str, ValueKind)] = &[];

/// Every documented function.
pub static FUNCTIONS: &[FunctionSpec] = &[
    // Numeric operations.
    fixed("abs", C::Numeric, A, 1, Number),
    fixed("ceil", C::Numeric, A, 1, Number),
    fixed("floor", C::Numeric, A, 1, Number),
    variadic("greatest", C::Numeric, &[("a", Number), ("numbers", Number)], 1, None, Number),
    variadic("least", C::Numeric, &[("a", Number), ("numbers", Number)], 1, None, Number),
    fixed("log", C::Numeric, A, 1, Number),
    fixed("round", C::Numeric, &[("a", Number), ("d", Number)], 1, Number),
    fixed("sqrt", C::Numeric, A, 1, Number),
    fixed("haversine", C::Numeric, &[("lat1", Number), ("lon1", Number), ("lat2", Number), ("lon2", Number)], 4, Number),
    fixed("toNumber", C::Numeric, FIELD, 1, Number),
    fixed("toInt", C::Numeric, FIELD, 1, Number),
    fixed("toLong", C::Numeric, FIELD, 1, Number),
    fixed("toDouble", C::Numeric, FIELD, 1, Number),
    // Datetime functions.
    fixed("bin", C::Datetime, &[("period", Period)], 1, Timestamp),
    fixed("datefloor", C::Datetime, &[("timestamp", Timestamp), ("period", Period)], 2, Timestamp),
    fixed("dateceil", C::Datetime, &[("timestamp", Timestamp), ("period", Period)], 2, Timestamp),
    fixed("fromMillis", C::Datetime, NUMERIC_FIELD, 1, Timestamp),
    fixed("toMillis", C::Datetime, &[("fieldName", Timestamp)], 1, Number),
    fixed("now", C::Datetime, NONE, 0, Number),
    fixed("parseDate", C::Datetime, &[("fieldName", Str), ("format", Str), ("timezone", Str)], 2, Number),
    aliased(fixed("formatDate", C::Datetime, &[("timestamp", Timestamp), ("format", Str), ("timezone", Str)], 2, Str), &["strftime"]),
    // General functions.
    fixed("ispresent", C::General, FIELD, 1, Boolean),
    variadic("coalesce", C::General, &[("fieldName", Any), ("fieldNames", Any)], 1, None, Any),
    variadic("case", C::General, &[("cond1", Any), ("val1", Any), ("more", Any)], 2, Some(21), Any),
    fixed("if", C::General, &[("condition", Boolean), ("trueValue", Any), ("falseValue", Any)], 3, Any),
    fixed("isNumeric", C::General, FIELD, 1, Boolean),
    fixed("messageSize", C::General, FIELD, 1, Number),
    fixed("queryStartTime", C::General, NONE, 0, Number),
    fixed("queryEndTime", C::General, NONE, 0, Number),
    fixed("queryTimeRange", C::General, NONE, 0, Number),
    fixed("unmask", C::General, FIELD, 1, Str),
    // JSON functions.
    fixed("jsonParse", C::Json, STRING_FIELD, 1, Structure),
    fixed("jsonStringify", C::Json, &[("fieldName", Structure)], 1, Str),
    fixed("jsonArraySize", C::Json, FIELD, 1, Number),
    fixed("jsonArrayContains", C::Json, &[("fieldName", Any), ("value", Str)], 2, Boolean),
    // IP address string functions.
    fixed("isValidIp", C::IpAddress, STRING_FIELD, 1, Boolean),
    fixed("isValidIpV4", C::IpAddress, STRING_FIELD, 1, Boolean),
    fixed("isValidIpV6", C::IpAddress, STRING_FIELD, 1, Boolean),
    fixed("isIpInSubnet", C::IpAddress, IP_SUBNET, 2, Boolean),
    fixed("isIpv4InSubnet", C::IpAddress, IP_SUBNET, 2, Boolean),
    fixed("isIpv6InSubnet", C::IpAddress, IP_SUBNET, 2, Boolean),
    fixed("ipv4ToNumber", C::IpAddress, STRING_FIELD, 1, Number),
    fixed("isPrivateIP", C::IpAddress, STRING_FIELD, 1, Boolean),
    fixed("isPublicIP", C::IpAddress, STRING_FIELD, 1, Boolean),
    fixed("isReservedIP", C::IpAddress, STRING_FIELD, 1, Boolean),
    // String functions.
    fixed("isempty", C::String, STRING_FIELD, 1, Number),
    fixed("isblank", C::String, STRING_FIELD, 1, Number),
    variadic("concat", C::String, &[("str", Str), ("strings", Str)], 1, None, Str),
    fixed("ltrim", C::String, TRIM, 1, Str),
    fixed("rtrim", C::String, TRIM, 1, Str),
    fixed("trim", C::String, TRIM, 1, Str),
    fixed("strlen", C::String, STR, 1, Number),
    fixed("toupper", C::String, STR, 1, Str),
    fixed("tolower", C::String, STR, 1, Str),
    fixed("substr", C::String, &[("str", Str), ("startIndex", Number), ("length", Number)], 2, Str),
    fixed("replace", C::String, &[("fieldName", Str), ("searchValue", Str), ("replaceValue", Str)], 3, Str),
    fixed("regexReplace", C::String, &[("fieldName", Str), ("pattern", Str), ("replacement", Str)], 3, Str),
    fixed("strcontains", C::String, &[("str", Str), ("searchValue", Str), ("caseInsensitive", Boolean)], 2, Number),
    fixed("startsWith", C::String, SEARCH, 2, Number),
    fixed("endsWith", C::String, SEARCH, 2, Number),
    fixed("urlencode", C::String, STR, 1, Str),
    fixed("urldecode", C::String, STR, 1, Str),
    fixed("base64encode", C::String, STR, 1, Str),
    fixed("base64decode", C::String, STR, 1, Str),
    fixed("split", C::String, &[("str", Str), ("delimiter", Str)], 2, List),
    fixed("hexToAscii", C::String, &[("value", Str)], 1, Str),
    fixed("hexToDec", C::String, &[("value", Str)], 1, Number),
    fixed("decToHex", C::String, &[("value", Number)], 1, Str),
    // Hashing functions.
    fixed("md5", C::Hashing, STRING_FIELD, 1, Str),
    fixed("sha256", C::Hashing, STRING_FIELD, 1, Str),
    // Stats aggregation functions.
    stats("avg", C::StatsAggregation, F::Aggregate, NUMERIC_FIELD, Number),
    FunctionSpec { name: "count", aliases: &[], category: C::StatsAggregation, class: F::Aggregate, params: FIELD, min_args: 0, max_args: Some(1), result: Number, accepts_star: true },
    stats("count_distinct", C::StatsAggregation, F::Aggregate, FIELD, Number),
    stats("max", C::StatsAggregation, F::Aggregate, FIELD, Any),
    stats("min", C::StatsAggregation, F::Aggregate, FIELD, Any),
    stats("pct", C::StatsAggregation, F::Aggregate, &[("fieldName", Any), ("percent", Number)], Any),
    stats("stddev", C::StatsAggregation, F::Aggregate, NUMERIC_FIELD, Number),
    stats("sum", C::StatsAggregation, F::Aggregate, NUMERIC_FIELD, Number),
    // Stats non-aggregation functions.
    stats("earliest", C::StatsNonAggregation, F::StatsSelector, FIELD, Any),
    stats("latest", C::StatsNonAggregation, F::StatsSelector, FIELD, Any),
    stats("sortsFirst", C::StatsNonAggregation, F::StatsSelector, FIELD, Any),
    stats("sortsLast", C::StatsNonAggregation, F::StatsSelector, FIELD, Any),
    // Time-series functions (with stats).
    stats("rate", C::TimeSeries, F::TimeSeries, &[("fieldName", Number), ("interval", Period)], Number),
    aliased(stats("count_over_time", C::TimeSeries, F::TimeSeries, FIELD, Number), &["countOverTime"]),
    aliased(stats("sum_over_time", C::TimeSeries, F::TimeSeries, NUMERIC_FIELD, Number), &["sumOverTime"]),
    stats("histogram", C::TimeSeries, F::TimeSeries, &[("fieldName", Number), ("buckets", Number)], Map),
];

/// The function named `name` (any case, or one of its aliases).
pub fn lookup(name: &str) -> Option<&'static FunctionSpec> {
    FUNCTIONS.iter().find(|spec| spec.name.eq_ignore_ascii_case(name) || spec.aliases.iter().any(|alias| alias.eq_ignore_ascii_case(name)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_case_insensitive() {
        for (index, spec) in FUNCTIONS.iter().enumerate() {
            for name in std::iter::once(&spec.name).chain(spec.aliases) {
                let found = lookup(&name.to_ascii_uppercase()).unwrap();
                assert!(std::ptr::eq(found, &FUNCTIONS[index]), "{name} resolves to {}", found.name);
            }
            assert!(spec.min_args <= spec.params.len() || spec.max_args.is_none(), "{}", spec.name);
            assert!(spec.max_args.is_none_or(|max| max >= spec.min_args), "{}", spec.name);
        }
        assert_eq!(lookup("ISPRESENT").unwrap().name, "ispresent");
        assert_eq!(lookup("strftime").unwrap().name, "formatDate");
        assert!(lookup("nope").is_none());
    }

    #[test]
    fn signatures_read_well() {
        assert_eq!(lookup("pct").unwrap().signature(), "pct(fieldName, percent)");
        assert_eq!(lookup("substr").unwrap().signature(), "substr(str, startIndex[, length])");
        assert_eq!(lookup("concat").unwrap().signature(), "concat(str, strings, …)");
        assert_eq!(lookup("count").unwrap().signature(), "count([fieldName] | *)");
        assert_eq!(lookup("now").unwrap().signature(), "now()");
    }
}
