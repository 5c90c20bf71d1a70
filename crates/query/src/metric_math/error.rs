//! Why a metric math expression was refused or could not be evaluated. The
//! `Display` text is what the client sees in GetMetricData's error message.
//!
//! AWS's own wording for metric math errors is not documented and was not
//! found in public records, so every message here is ours: lowercase, with
//! the 1-based character position of the problem in the expression (as the
//! filter-pattern errors do), saying what to change. Positions inside a
//! SEARCH string point into the whole expression, counted from the opening
//! quote of the string literal.

use argus_core::error::{ApiError, ErrorCode};

/// The longest expression GetMetricData accepts (the `Expression` length
/// constraint of `MetricDataQuery`).
pub const MAX_EXPRESSION_CHARS: usize = 2048;

/// The longest search string inside `SEARCH('…')` ("The maximum search
/// expression query size is 1024 characters").
pub const MAX_SEARCH_CHARS: usize = 1024;

/// Parentheses, brackets and function calls nest at most this deep, so a
/// hostile expression cannot overflow the parser's or evaluator's stack.
pub const MAX_NESTING: usize = 64;

/// The most datapoints a non-sparse series (FILL, TIME_SERIES, MINUTE, …)
/// may hold; a larger time range divided by the period is refused.
pub const MAX_GRID_POINTS: usize = 1_000_000;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MathError {
    #[error("the expression is {length} characters long; the maximum is {MAX_EXPRESSION_CHARS}")]
    TooLong { length: usize },

    /// The text is not a well-formed expression: an unexpected character or
    /// token, an unbalanced parenthesis, a missing operand.
    #[error("syntax error in expression at character {position}: {problem}")]
    Syntax { position: usize, problem: String },

    /// An id that no metric or expression in the request has.
    #[error("unknown id `{id}` at character {position}: no metric or expression in the request has this id")]
    UnknownId { id: String, position: usize },

    #[error("unknown function `{name}` at character {position}{hint}")]
    UnknownFunction { name: String, position: usize, hint: String },

    /// An AWS function that needs another AWS service or feature Argus does not have.
    #[error("{name} at character {position} is not supported by this server: {reason}")]
    Unsupported { name: String, position: usize, reason: String },

    /// A function or operator got arguments of the wrong kind or number.
    #[error("invalid argument at character {position}: {problem}")]
    Argument { position: usize, problem: String },

    /// The search string of a SEARCH function is malformed.
    #[error("invalid search expression at character {position}: {problem}")]
    Search { position: usize, problem: String },

    /// The whole expression evaluates to a number; GetMetricData needs a
    /// time series or an array of them.
    #[error("the expression evaluates to a single number, not a time series; wrap it in TIME_SERIES(…) or combine it with a metric")]
    ScalarResult,

    /// The caller's context could not provide data (e.g. a SEARCH over too
    /// many metrics). The message is shown to the client as is.
    #[error("{message}")]
    Context { message: String },
}

impl MathError {
    pub(crate) fn syntax(position: usize, problem: impl Into<String>) -> MathError {
        MathError::Syntax { position, problem: problem.into() }
    }

    pub(crate) fn argument(position: usize, problem: impl Into<String>) -> MathError {
        MathError::Argument { position, problem: problem.into() }
    }

    pub(crate) fn search(position: usize, problem: impl Into<String>) -> MathError {
        MathError::Search { position, problem: problem.into() }
    }

    /// An error raised by a [`MathContext`](super::MathContext)
    /// implementation; `message` must be safe to show to the client.
    pub fn context(message: impl Into<String>) -> MathError {
        MathError::Context { message: message.into() }
    }

    /// The AWS error code: CloudWatch answers an invalid metric math
    /// expression with a 400 `ValidationError`.
    pub fn code(&self) -> ErrorCode {
        ErrorCode::ValidationError
    }
}

impl From<MathError> for ApiError {
    fn from(error: MathError) -> ApiError {
        ApiError::new(error.code(), error.to_string())
    }
}
