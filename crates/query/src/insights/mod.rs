//! CloudWatch Logs Insights query language (Logs Insights QL): the front
//! end of StartQuery — text → checked [`Query`] tree, or a [`QueryError`]
//! that becomes a `MalformedQueryException`. No execution here.
//!
//! Spec: "CloudWatch Logs Insights language query syntax"
//! (<https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CWL_QuerySyntax.html>),
//! its pages per command, "Boolean, comparison, numeric, datetime, and other
//! functions", "Hashing functions", "Time-series functions", "Fields that
//! contain special characters" and "Use aliases and comments in queries".
//! The grammar and every decision where AWS is silent are in `README.md`
//! beside this file.
//!
//! | file | what |
//! |---|---|
//! | `lexer.rs` | tokens with byte spans; `/` is a regex or division as the parser asks |
//! | `parser.rs` | recursive descent: commands, expressions with precedence |
//! | `ast.rs` | [`Query`], [`Command`], [`Expr`], … and their canonical `Display` |
//! | `functions.rs` | the function catalog ([`FUNCTIONS`]) |
//! | `check.rs` | arity, argument kinds, aggregates, command order, fields after `stats` |
//! | `error.rs` | [`QueryError`]: message, character offsets, line and position |
//!
//! Never panics, and parses any input in time linear in its length
//! (bounded nesting, no backtracking; queries over [`MAX_QUERY_CHARS`] are
//! refused before parsing).
//!
//! ```
//! use argus_query::insights::{self, CommandKind};
//!
//! let query = insights::parse("fields @timestamp, @message | filter @message like /ERROR/ | sort @timestamp desc | limit 100")?;
//! assert_eq!(query.commands.len(), 4);
//! assert!(matches!(query.commands[3].kind, CommandKind::Limit { count: 100, any: false }));
//! assert_eq!(query.to_string(), "(fields @timestamp @message)\n(filter (like @message /ERROR/))\n(sort (desc @timestamp))\n(limit 100)");
//!
//! let error = insights::parse("stats count(*) by bin(5m) | sort").unwrap_err();
//! assert_eq!(error.to_string(), "unexpected end of query at line 1, position 33: expected an expression");
//! assert_eq!((error.start_char_offset(), error.end_char_offset()), (32, 32));
//! # Ok::<(), insights::QueryError>(())
//! ```

mod ast;
mod check;
mod error;
pub mod exec;
mod functions;
mod lexer;
mod parser;

#[cfg(test)]
mod tests;

pub use ast::{
    BinaryOp, Command, CommandKind, DiffBaseline, Duration, Expr, ExprKind, FieldPath, GlobPart, GlobPattern, Ident, LikePattern, Literal, Parse, ParseMode, PathSegment, Projection, Query, RegexLiteral, SortKey,
    SortOrder, Source, Span, Stats, TimeUnit, UnaryOp,
};
pub use error::{ErrorKind, MAX_EXPR_DEPTH, MAX_LIMIT, MAX_NESTING, MAX_QUERY_CHARS, MAX_REGEX_SIZE, MAX_STATS_COMMANDS, QueryError};
pub use functions::{Category, FUNCTIONS, FunctionClass, FunctionSpec, ValueKind, lookup as lookup_function};
pub use lexer::{Name, NameSegment, Number, RESERVED, Token, TokenKind};

use error::Failure;

/// Parses and checks a Logs Insights query.
pub fn parse(text: &str) -> Result<Query, QueryError> {
    let length = text.chars().count();
    if length > MAX_QUERY_CHARS {
        let failure = Failure::new(ErrorKind::TooComplex, Span::new(0, text.len()), format!("the query is {length} characters long")).hint(format!("the maximum is {MAX_QUERY_CHARS}"));
        return Err(failure.locate(text));
    }
    let query = parser::parse_query(text).map_err(|failure| failure.locate(text))?;
    check::check(&query).map_err(|failure| failure.locate(text))?;
    Ok(query)
}

/// The tokens of a query, for tools such as highlighters (`/` is read as a
/// regex unless it follows an operand; the parser itself decides by
/// context, see `lexer.rs`).
pub fn tokenize(text: &str) -> Result<Vec<Token>, QueryError> {
    lexer::tokenize(text).map_err(|failure| failure.locate(text))
}
