//! Why a query was refused: what StartQuery answers as a
//! `MalformedQueryException`, whose `queryCompileError` carries the
//! location of the problem (`startCharOffset`, `endCharOffset`) and a
//! message.
//!
//! AWS documents those members only as "Reserved". Ours: offsets count
//! characters (Unicode scalar values, not bytes) from 0; the end is
//! exclusive, so an error at the end of the query has `start == end ==`
//! the query's length. The message names the line and the 1-based position
//! on that line as well, says what is wrong and what was expected.
//!
//! Wording: AWS's parser reports syntax errors in ANTLR's words (recorded
//! answers: "mismatched input 'count' expecting {K_PARSE, K_SEARCH,
//! K_FIELDS, …}", "mismatched input '|' expecting K_STATS") and unknown
//! fields after `stats` as "Unknown symbols found in or after stats: x". We
//! keep "mismatched input 'x'" and the `stats` sentence, and replace the
//! token-name lists with plain words.

use std::fmt;

use argus_core::error::{ApiError, ErrorCode};

use super::ast::Span;

/// The longest query StartQuery accepts (the `queryString` length constraint).
pub const MAX_QUERY_CHARS: usize = 10_000;

/// Parentheses, brackets, calls and prefix operators nest at most this deep.
pub const MAX_NESTING: usize = 64;

/// The tallest expression tree accepted (a chain `a or b or …` grows one
/// level per operator): bounds every recursive pass over the tree.
pub const MAX_EXPR_DEPTH: usize = 256;

/// The largest `limit`. AWS's StartQuery `limit` parameter and
/// GetQueryResults stop at 10,000 rows; newer AWS docs allow `limit` up to
/// 100,000 in the query itself (see README).
pub const MAX_LIMIT: u64 = 10_000;

/// At most this many `stats` commands in one query ("This quota can't be changed").
pub const MAX_STATS_COMMANDS: usize = 2;

/// Size limits for compiling a query's regular expressions (bytes of the
/// compiled program and of the lazy DFA's cache).
pub const MAX_REGEX_SIZE: usize = 1 << 20;

/// What kind of problem a [`QueryError`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// A character, token or structure the grammar does not allow.
    Syntax,
    UnknownCommand,
    UnknownFunction,
    /// A function got too few or too many arguments.
    Arity,
    /// An argument or operand of a kind that cannot work (`bin("x")`).
    ArgumentKind,
    /// An aggregate where none may be, or a non-aggregate where one must be.
    Aggregate,
    /// A field that does not exist after `stats`.
    UnknownField,
    /// Commands in an order AWS refuses (`sort` before a second `stats`, …).
    CommandOrder,
    /// A `limit` that is not a whole number from 1 to [`MAX_LIMIT`].
    Limit,
    /// A regular expression that does not compile or is too large.
    Regex,
    /// The query is longer than [`MAX_QUERY_CHARS`] or nests too deeply.
    TooComplex,
}

/// A refused query, with the location of the problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryError {
    kind: ErrorKind,
    headline: String,
    hint: Option<String>,
    span: Span,
    start_char: usize,
    end_char: usize,
    line: usize,
    column: usize,
}

impl QueryError {
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The byte range of the offending text in the query.
    pub fn span(&self) -> Span {
        self.span
    }

    /// `queryCompileError.location.startCharOffset`: 0-based, in characters.
    pub fn start_char_offset(&self) -> usize {
        self.start_char
    }

    /// `queryCompileError.location.endCharOffset`: 0-based, exclusive, in characters.
    pub fn end_char_offset(&self) -> usize {
        self.end_char
    }

    /// 1-based line of the start of the problem.
    pub fn line(&self) -> usize {
        self.line
    }

    /// 1-based character position of the start of the problem on its line.
    pub fn column(&self) -> usize {
        self.column
    }

    /// The message without the position: what is wrong (`mismatched input ')'`).
    pub fn headline(&self) -> &str {
        &self.headline
    }

    /// What was expected or how to fix it, when there is something to say.
    pub fn hint(&self) -> Option<&str> {
        self.hint.as_deref()
    }

    /// The `queryCompileError` member of the `MalformedQueryException`.
    pub fn query_compile_error(&self) -> serde_json::Value {
        serde_json::json!({
            "location": { "startCharOffset": self.start_char, "endCharOffset": self.end_char },
            "message": self.to_string(),
        })
    }
}

impl fmt::Display for QueryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at line {}, position {}", self.headline, self.line, self.column)?;
        if let Some(hint) = &self.hint {
            write!(f, ": {hint}")?;
        }
        Ok(())
    }
}

impl std::error::Error for QueryError {}

impl From<QueryError> for ApiError {
    fn from(error: QueryError) -> ApiError {
        let members = serde_json::json!({ "queryCompileError": error.query_compile_error() });
        ApiError::new(ErrorCode::MalformedQuery, error.to_string()).with_members(members)
    }
}

/// An error before its location is worked out from the query text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Failure {
    pub kind: ErrorKind,
    pub span: Span,
    pub headline: String,
    pub hint: Option<String>,
}

impl Failure {
    pub fn new(kind: ErrorKind, span: Span, headline: impl Into<String>) -> Failure {
        Failure { kind, span, headline: headline.into(), hint: None }
    }

    pub fn syntax(span: Span, headline: impl Into<String>) -> Failure {
        Failure::new(ErrorKind::Syntax, span, headline)
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Failure {
        self.hint = Some(hint.into());
        self
    }

    /// Locates the failure in `text`: character offsets, line and column.
    pub fn locate(self, text: &str) -> QueryError {
        let start = clamp_to_boundary(text, self.span.start);
        let end = clamp_to_boundary(text, self.span.end.max(start));
        let before = text.get(..start).unwrap_or("");
        let start_char = before.chars().count();
        let end_char = start_char + text.get(start..end).unwrap_or("").chars().count();
        let line = 1 + before.matches('\n').count();
        let line_start = before.rfind('\n').map_or(0, |newline| newline + 1);
        let column = 1 + before.get(line_start..).unwrap_or("").chars().count();
        QueryError {
            kind: self.kind,
            headline: self.headline,
            hint: self.hint,
            span: Span::new(start, end),
            start_char,
            end_char,
            line,
            column,
        }
    }
}

/// The largest char boundary of `text` at or below `offset`.
fn clamp_to_boundary(text: &str, offset: usize) -> usize {
    let mut offset = offset.min(text.len());
    while offset > 0 && !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_count_characters_and_lines() {
        let text = "fields é\n| filter x ==";
        let start = text.find("==").unwrap();
        let error = Failure::syntax(Span::new(start, start + 2), "mismatched input '=='").hint("expected an expression").locate(text);
        assert_eq!(error.start_char_offset(), 20);
        assert_eq!(error.end_char_offset(), 22);
        assert_eq!((error.line(), error.column()), (2, 12));
        assert_eq!(error.to_string(), "mismatched input '==' at line 2, position 12: expected an expression");
        let api: ApiError = error.into();
        assert_eq!(api.code, ErrorCode::MalformedQuery);
        let members = api.members.unwrap();
        assert_eq!(members["queryCompileError"]["location"]["startCharOffset"], 20);
        assert_eq!(members["queryCompileError"]["location"]["endCharOffset"], 22);
    }

    #[test]
    fn spans_inside_a_character_are_clamped() {
        let error = Failure::syntax(Span::new(1, 99), "x").locate("é");
        assert_eq!((error.start_char_offset(), error.end_char_offset()), (0, 1));
    }
}
