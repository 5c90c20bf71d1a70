//! CloudWatch metric math: the `Expression` of a GetMetricData
//! `MetricDataQuery` (and of metric math alarms), parsed once and evaluated
//! over time series the caller has already fetched.
//!
//! Spec: "Using metric math" / "Metric math syntax and functions"
//! (<https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/using-metric-math.html>)
//! and "CloudWatch search expression syntax"
//! (<https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/search-expression-syntax.html>).
//! The design, the alignment rules and every decision where AWS is silent
//! are in `README.md` beside this file.
//!
//! | file | what |
//! |---|---|
//! | `lexer.rs`, `parser.rs` | text → tree; errors carry 1-based character positions |
//! | `eval.rs` | [`MathContext`] (what the caller provides), operators and alignment |
//! | `functions.rs` | ABS … TIME_SERIES, IF, FILL, SORT, SEARCH, METRICS |
//! | `search.rs` | [`SearchQuery`]: search strings and matching a metric |
//! | `value.rs` | [`Value`], [`Series`], [`Metric`] |
//! | `time.rs` | UTC calendar parts and the period grid |
//!
//! This module does no I/O and never panics on any expression: data comes
//! from the [`MathContext`], and every refusal is a [`MathError`].
//!
//! ```
//! use argus_query::metric_math::{Expression, MathContext, MathError, SearchQuery, Series, Value};
//!
//! struct Request { m1: Series, m2: Series }
//! impl MathContext for Request {
//!     fn lookup(&self, id: &str) -> Option<Value> {
//!         match id { "m1" => Some(Value::Series(self.m1.clone())), "m2" => Some(Value::Series(self.m2.clone())), _ => None }
//!     }
//!     fn metrics(&self) -> Vec<Series> { vec![self.m1.clone(), self.m2.clone()] }
//!     fn search(&self, _: &SearchQuery, _: &str, _: i64) -> Result<Vec<Series>, MathError> { Ok(Vec::new()) }
//!     fn period(&self) -> i64 { 60 }
//!     fn time_range(&self) -> (i64, i64) { (0, 180) }
//! }
//!
//! let request = Request {
//!     m1: Series::from_points("m1", "Errors", 60, [(0, 1.0), (60, 4.0), (120, 3.0)]),
//!     m2: Series::from_points("m2", "Requests", 60, [(0, 10.0), (60, 0.0), (120, 30.0)]),
//! };
//! let expression = Expression::parse("100 * m1 / m2")?;
//! assert_eq!(expression.referenced_ids(), ["m1", "m2"]);
//! let results = expression.evaluate(&request)?.into_results(Some("Error rate"), "e1")?;
//! // 4 / 0 is dropped, as AWS drops divisions by zero.
//! assert_eq!(results[0].timestamps, [0, 120]);
//! assert_eq!(results[0].values, [10.0, 10.0]);
//! assert_eq!(results[0].label, "Error rate");
//! # Ok::<(), MathError>(())
//! ```

mod error;
mod eval;
mod functions;
mod lexer;
mod parser;
mod search;
mod time;
mod value;

pub use error::{MAX_EXPRESSION_CHARS, MAX_GRID_POINTS, MAX_NESTING, MAX_SEARCH_CHARS, MathError};
pub use eval::MathContext;
pub use search::{Schema, SearchQuery};
pub use value::{Metric, MetricIdentity, Series, Value};

use parser::{Expr, Node};

/// A parsed metric math expression.
#[derive(Debug, Clone, PartialEq)]
pub struct Expression {
    text: String,
    root: Expr,
}

impl Expression {
    /// Parses and checks an expression: syntax, function names (unknown and
    /// unsupported ones are refused here), SEARCH strings, statistics and
    /// periods given as literals. Ids are checked when evaluating.
    pub fn parse(text: &str) -> Result<Expression, MathError> {
        let length = text.chars().count();
        if length > MAX_EXPRESSION_CHARS {
            return Err(MathError::TooLong { length });
        }
        let root = parser::parse(text)?;
        check(&root)?;
        Ok(Expression { text: text.to_string(), root })
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    /// The ids this expression reads, each once, in order of appearance:
    /// evaluate those queries first (and refuse cycles). `METRICS()` reads
    /// every metric query; see [`Expression::uses_metrics_function`].
    pub fn referenced_ids(&self) -> Vec<String> {
        let mut ids = Vec::new();
        visit(&self.root, &mut |expr| {
            if let Node::Id(id) = &expr.node
                && !ids.contains(id)
            {
                ids.push(id.clone());
            }
        });
        ids
    }

    /// Whether the expression calls `METRICS()`, which reads every metric
    /// query of the request.
    pub fn uses_metrics_function(&self) -> bool {
        self.calls("METRICS")
    }

    /// Whether the expression calls `SEARCH` (which AWS forbids in alarms).
    pub fn uses_search(&self) -> bool {
        self.calls("SEARCH")
    }

    fn calls(&self, function: &str) -> bool {
        let mut found = false;
        visit(&self.root, &mut |expr| {
            if matches!(&expr.node, Node::Call { name, .. } if name == function) {
                found = true;
            }
        });
        found
    }

    /// Evaluates the expression. The result may be a number (only valid
    /// inside a larger expression); [`Value::into_results`] turns a final
    /// result into GetMetricData's labelled series.
    pub fn evaluate(&self, context: &dyn MathContext) -> Result<Value, MathError> {
        eval::Evaluator { context }.eval(&self.root)
    }
}

/// Parse-time checks of every function call and keyword.
fn check(root: &Expr) -> Result<(), MathError> {
    check_keywords(root, false)?;
    let mut first_error = None;
    visit(root, &mut |expr| {
        if first_error.is_some() {
            return;
        }
        if let Node::Call { name, args } = &expr.node {
            let checked = functions::check_name(name, expr.position).and_then(|()| {
                if name == "SEARCH" { functions::search_arguments(args, expr.position).map(|_| ()) } else { Ok(()) }
            });
            if let Err(error) = checked {
                first_error = Some(error);
            }
        }
    });
    first_error.map_or(Ok(()), Err)
}

/// Refuses an uppercase word that is not called where no function takes a
/// keyword: only FILL's filler (`REPEAT`, `LINEAR`) and SORT's statistic and
/// order (`AVG`, `DESC`, …) are keywords; the functions check which.
fn check_keywords(expr: &Expr, keyword_allowed: bool) -> Result<(), MathError> {
    match &expr.node {
        Node::Keyword(word) if !keyword_allowed => Err(eval::keyword_out_of_place(word, expr.position)),
        Node::Negate(inner) => check_keywords(inner, false),
        Node::Binary { .. } => {
            // Iterative over the left spine, as the evaluator is.
            let mut current = expr;
            while let Node::Binary { left, right, .. } = &current.node {
                check_keywords(right, false)?;
                current = left;
            }
            check_keywords(current, false)
        }
        Node::Call { name, args } => {
            for (index, arg) in args.iter().enumerate() {
                let allowed = matches!((name.as_str(), index), ("FILL", 1) | ("SORT", 1 | 2));
                check_keywords(arg, allowed)?;
            }
            Ok(())
        }
        Node::Array(items) => items.iter().try_for_each(|item| check_keywords(item, false)),
        Node::Number(_) | Node::Id(_) | Node::Str(_) | Node::Keyword(_) => Ok(()),
    }
}

/// Calls `f` on every node, parents before children, left to right.
fn visit(expr: &Expr, f: &mut dyn FnMut(&Expr)) {
    f(expr);
    match &expr.node {
        Node::Negate(inner) => visit(inner, f),
        Node::Binary { left, right, .. } => {
            visit(left, f);
            visit(right, f);
        }
        Node::Call { args: items, .. } | Node::Array(items) => {
            for item in items {
                visit(item, f);
            }
        }
        Node::Number(_) | Node::Id(_) | Node::Str(_) | Node::Keyword(_) => {}
    }
}
