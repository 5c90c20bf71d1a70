//! Why a filter pattern was refused. The `Display` text is what the client
//! sees in the `InvalidParameterException` message.
//!
//! Where CloudWatch Logs' own wording is known it is reused verbatim
//! (`Invalid character(s) in term '…'`, reported by AWS for `:`, `,`, `(`,
//! `[`, `*`, `\`, a backtick and for `$."` in a selector); every other message
//! is ours: lowercase, pointing at the 1-based character position of the
//! problem and saying what to change.

/// The longest pattern AWS accepts (the `filterPattern` length constraint of
/// PutMetricFilter, PutSubscriptionFilter, FilterLogEvents and TestMetricFilter).
pub const MAX_PATTERN_CHARS: usize = 1024;

/// At most this many regular expressions in a JSON or space-delimited pattern
/// (the "2 regex for each filter pattern" quota).
pub const MAX_REGEXES: usize = 2;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatternError {
    /// A bare term, value or selector holds a character that must be quoted
    /// (AWS's wording; `term` is the offending text as AWS reports it).
    #[error("Invalid character(s) in term '{term}'")]
    InvalidCharacter { term: String },

    #[error("the filter pattern is {length} characters long; the maximum is {MAX_PATTERN_CHARS}")]
    TooLong { length: usize },

    /// The pattern's structure is wrong: an unbalanced bracket, quote or
    /// parenthesis, an unknown operator, a missing value, trailing text.
    #[error("invalid filter pattern at character {position}: {problem}")]
    Syntax { position: usize, problem: String },

    /// A `%…%` regular expression breaks CloudWatch's regex rules or does not compile.
    #[error("invalid regular expression at character {position}: {problem}")]
    Regex { position: usize, problem: String },

    #[error("the filter pattern has {count} regular expressions; a JSON or space-delimited pattern may use at most {MAX_REGEXES}")]
    TooManyRegexes { count: usize },
}

impl PatternError {
    pub(crate) fn syntax(position: usize, problem: impl Into<String>) -> PatternError {
        PatternError::Syntax { position, problem: problem.into() }
    }

    pub(crate) fn invalid_character(term: impl Into<String>) -> PatternError {
        PatternError::InvalidCharacter { term: term.into() }
    }
}
