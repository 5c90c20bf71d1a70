//! CloudWatch Logs filter patterns: one engine for FilterLogEvents, metric
//! filters, subscription filters and TestMetricFilter.
//!
//! Spec: "Filter pattern syntax for metric filters, subscription filters,
//! filter log events, and Live Tail"
//! (<https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html>),
//! its JSON, space-delimited and regex pages, and where those are silent the
//! behaviour users recorded against the real service (cited per rule in the
//! submodules). The four kinds, chosen by the first non-blank character:
//!
//! | starts with | kind | module |
//! |---|---|---|
//! | `{` | JSON conditions | `json.rs` (+ `json_scan.rs`, `selector.rs`) |
//! | `[` | space-delimited fields | `delimited.rs` |
//! | `%` | one regular expression over the whole message | `regexp.rs` |
//! | anything else | terms, `"phrases"`, `?alternatives`, `-exclusions` | `terms.rs` |
//!
//! Decisions where AWS's documentation is silent or ambiguous:
//! * **Terms match substrings**, case-sensitively: `ERROR` matches
//!   `ERRORCODE` and `[ERROR]` (AWS's example "Exiting with ERRORCODE: -1";
//!   a recorded TestMetricFilter run matched `"admin"` inside `fsxadmin`).
//!   The regex page's `%AUTHORIZED%` → `UNAUTHORIZED` example says nothing
//!   about terms. Quoted phrases are substrings too.
//! * **Bare terms** hold only letters, digits and `_`; `-`/`?` inside a word
//!   start a new exclusion/alternative (`hello-world` = `hello -world`), any
//!   other character is refused with AWS's `Invalid character(s) in term 'X'`
//!   (wording seen for `:`, `,`, `(`, `[`, `\`). Quote such terms.
//! * **`?` mixed with other terms**: once a pattern has a `?` term it is an
//!   OR of all its terms and an exclusion is one more alternative ("does not
//!   contain"), as a recorded AWS run of `?"DELETE" ?"delete" ?"remove"
//!   -"Pending"` showed. (The CDK's `anyTermGroup` assumes `?a b ?c d` means
//!   `(a∧b)∨(c∧d)`; that contradicts the recorded run, so it is not followed.)
//! * **JSON**: strict RFC 8259, exactly one object per event (anything else
//!   never matches); numbers compare as numbers, including numeric strings;
//!   `!=` needs the property to exist; objects/arrays satisfy nothing;
//!   selectors may use `$['key.with.dots']` and one `*` wildcard (`$.a[*].b`,
//!   `$.*`), at most three wildcards per pattern.
//! * **Space-delimited**: fields split at any whitespace (Lambda's tabs too);
//!   `"…"`/`[…]` values lose their delimiters but are not unescaped; without
//!   `...` the field count must be exact; one `...` per pattern (as the CDK
//!   enforces); a slot's conditions may only name that slot.
//! * **Regex**: exactly the documented alphabet (no blanks, no parentheses,
//!   ASCII only), unanchored search, Rust `regex` syntax for the operators.
//! * **Limits**: 1024 characters per pattern (the API's length constraint),
//!   2 regexes in a JSON/space-delimited pattern, 128 JSON conditions,
//!   parentheses 32 deep; regexes are size-capped.
//!
//! Least certain, for whoever can run the real service (`aws logs
//! test-metric-filter` settles each in one call): `?` next to plain terms
//! (ours: plain terms become alternatives; a reviewer of another emulator
//! claims AWS ignores the `?` terms instead), unquoted `-` inside a word,
//! duplicate JSON keys (ours: last wins), text glued to a closing quote in a
//! space-delimited event, `$['key']` and wildcard selectors, case of `IS NULL`
//! keywords (we accept any case), and error wording other than AWS's
//! `Invalid character(s) in term`.
//!
//! This module must never panic on any pattern or message, and matching a
//! term pattern allocates nothing per event.

mod captures;
mod delimited;
mod error;
mod group;
mod json;
pub(crate) mod json_scan;
mod lexer;
mod regexp;
mod selector;
mod terms;
mod value;

pub use captures::{Captures, FieldRef, FieldRefs, FieldValue};
pub use group::{GroupScratch, PatternGroup};
pub use error::{MAX_PATTERN_CHARS, MAX_REGEXES, PatternError};

use delimited::DelimitedPattern;
use json::JsonPattern;
use regexp::FilterRegex;
use terms::TermPattern;

/// A parsed filter pattern, ready to test many events.
#[derive(Debug, Clone)]
pub struct FilterPattern {
    source: String,
    kind: Kind,
}

#[derive(Debug, Clone)]
enum Kind {
    Terms(TermPattern),
    Regex(FilterRegex),
    Json(JsonPattern),
    Delimited(DelimitedPattern),
}

/// Text that every event a pattern matches contains (see [`FilterPattern::required_literals`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Literal {
    pub text: String,
    /// The occurrence is delimited on both sides by a non-alphanumeric
    /// character or an end of the message; otherwise it may sit anywhere,
    /// inside a longer word.
    pub whole_word: bool,
}

impl FilterPattern {
    pub fn parse(text: &str) -> Result<FilterPattern, PatternError> {
        let length = text.chars().count();
        if length > MAX_PATTERN_CHARS {
            return Err(PatternError::TooLong { length });
        }
        let kind = match text.trim_start().chars().next() {
            Some('{') => Kind::Json(JsonPattern::parse(text)?),
            Some('[') => Kind::Delimited(DelimitedPattern::parse(text)?),
            Some('%') => Kind::Regex(standalone_regex(text)?),
            _ => Kind::Terms(TermPattern::parse(text)?),
        };
        Ok(FilterPattern { source: text.to_string(), kind })
    }

    /// The pattern as the client wrote it.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// True when the pattern selects every event (`""`, blanks, `" "`).
    pub fn is_match_all(&self) -> bool {
        match &self.kind {
            Kind::Terms(terms) => terms.is_match_all(),
            Kind::Regex(_) | Kind::Json(_) | Kind::Delimited(_) => false,
        }
    }

    pub fn matches(&self, message: &str) -> bool {
        match &self.kind {
            Kind::Terms(terms) => terms.matches(message),
            Kind::Regex(regex) => regex.is_match(message),
            Kind::Json(json) => json.matches(message),
            Kind::Delimited(delimited) => delimited.matches(message),
        }
    }

    /// On a match, the event's fields for metric filters: `$.a.b` (JSON
    /// patterns) or `$name` / `$N` (space-delimited patterns).
    pub fn evaluate<'m>(&'m self, message: &'m str) -> Option<Captures<'m>> {
        if !self.matches(message) {
            return None;
        }
        Some(match &self.kind {
            Kind::Terms(_) | Kind::Regex(_) => Captures::nothing(),
            Kind::Json(_) => Captures::json(message),
            Kind::Delimited(delimited) => Captures::fields(delimited, message),
        })
    }

    /// What any matching message must contain, for index pruning: a
    /// conjunction (outer Vec) of alternatives (inner Vec). Empty outer Vec =
    /// no pruning possible. Never excludes a message [`matches`](Self::matches) accepts.
    ///
    /// JSON patterns give nothing: a JSON event may spell any key or string
    /// with `\u` escapes and any number in several ways (`500`, `5e2`,
    /// `"500"`), so no raw text is guaranteed. Space-delimited fields are raw
    /// text, so their `=` text conditions are used; terms give their
    /// substrings; a regex gives its text when it is a plain literal.
    pub fn required_literals(&self) -> Vec<Vec<Literal>> {
        match &self.kind {
            Kind::Terms(terms) => terms.required_literals(),
            Kind::Regex(regex) => match regex.as_literal() {
                Some(text) => vec![vec![Literal { text, whole_word: false }]],
                None => Vec::new(),
            },
            Kind::Json(_) => Vec::new(),
            Kind::Delimited(delimited) => delimited.required_literals(),
        }
    }
}

/// `%regex%` as the whole pattern (blanks around it allowed).
fn standalone_regex(text: &str) -> Result<FilterRegex, PatternError> {
    let leading = text.chars().take_while(|c| c.is_whitespace()).count();
    let rest: Vec<char> = text.chars().skip(leading).collect();
    let open = leading + 1;
    let Some(length) = rest.get(1..).and_then(|body| body.iter().position(|&c| c == '%')) else {
        return Err(PatternError::syntax(open, "the regular expression that starts here has no closing `%`"));
    };
    let body: String = rest.get(1..1 + length).unwrap_or_default().iter().collect();
    let after = rest.get(length + 2..).unwrap_or_default();
    if let Some(offset) = after.iter().position(|c| !c.is_whitespace()) {
        return Err(PatternError::syntax(
            open + length + 2 + offset,
            "unexpected text after the regular expression; a `%…%` pattern stands alone (use `|` inside it for alternatives)",
        ));
    }
    FilterRegex::compile(&body, open)
}

#[cfg(test)]
mod tests;
