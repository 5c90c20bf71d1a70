//! JSON patterns: `{ $.eventType = "UpdateTrail" && ($.latency > 1000 || $.error IS TRUE) }`.
//!
//! Grammar (AWS "Using filter patterns to match terms in JSON log events"):
//! conditions `SELECTOR op VALUE` with `=`, `!=` on text (quoted, or bare
//! letters/digits/`_ . * + - / :`, `*` wildcards at the ends) and `=`, `!=`,
//! `<`, `<=`, `>`, `>=` on numbers; `%regex%` values with `=`/`!=`;
//! `SELECTOR IS NULL | IS TRUE | IS FALSE | NOT EXISTS`; combined with `&&`
//! and `||` where `()` > `&&` > `||`.
//!
//! Semantics:
//! * Only an event that is exactly one JSON object can match.
//! * A selector that lands on an object or array satisfies no condition,
//!   not even `!=` (AWS: both `{$.users = 1}` and `{$.users != 1}` fail when
//!   `users` is an array).
//! * A missing property satisfies only `NOT EXISTS` (so `!=` needs the
//!   property to be there).
//! * `IS TRUE` / `IS FALSE` / `IS NULL` hold only for the JSON literals.
//! * A property repeated in one object: the last occurrence counts.
//! * A wildcard selector holds when any value it reaches satisfies the
//!   condition; `NOT EXISTS` with a wildcard holds when it reaches nothing.

use super::error::{MAX_REGEXES, PatternError};
use super::json_scan::{self, HitSink, JsonValue, MAX_SELECTORS};
use super::lexer::{Mode, Token, TokenKind, tokenize};
use super::regexp::FilterRegex;
use super::selector::{self, MAX_WILDCARDS_PER_PATTERN, Selector};
use super::value::{Comparison, Operand, Scalar, TextPattern, compare, parse_number};

/// Parentheses nest at most this deep.
pub(crate) const MAX_NESTING: usize = 32;

#[derive(Debug, Clone)]
pub(crate) struct JsonPattern {
    selectors: Vec<Selector>,
    leaves: Vec<Leaf>,
    /// For each selector, the leaves that test it.
    leaves_of: Vec<Vec<usize>>,
    expr: Expr,
}

#[derive(Debug, Clone)]
struct Leaf {
    selector: usize,
    test: Test,
}

#[derive(Debug, Clone)]
enum Test {
    Compare(Comparison, Operand),
    IsNull,
    IsTrue,
    IsFalse,
    NotExists,
}

#[derive(Debug, Clone)]
enum Expr {
    Leaf(usize),
    And(Vec<Expr>),
    Or(Vec<Expr>),
}

impl JsonPattern {
    pub(crate) fn parse(text: &str) -> Result<JsonPattern, PatternError> {
        let tokens = tokenize(text, Mode::Json)?;
        let mut parser = Parser { tokens: &tokens, at: 0, pattern_selectors: Vec::new(), leaves: Vec::new(), regexes: 0, depth: 0 };
        parser.expect(&TokenKind::OpenBrace, "a JSON pattern starts with `{`")?;
        if parser.peek().kind == TokenKind::CloseBrace {
            return Err(PatternError::syntax(parser.peek().position, "the JSON pattern is empty; add a condition such as `$.level = \"ERROR\"`"));
        }
        let expr = parser.or_expr()?;
        parser.expect(&TokenKind::CloseBrace, "expected `&&`, `||` or the closing `}`")?;
        if parser.peek().kind != TokenKind::End {
            return Err(PatternError::syntax(parser.peek().position, "unexpected text after the closing `}`"));
        }
        let wildcards: usize = parser.pattern_selectors.iter().map(Selector::wildcards).sum();
        if wildcards > MAX_WILDCARDS_PER_PATTERN {
            return Err(PatternError::syntax(1, format!("the pattern uses {wildcards} wildcard selectors; at most {MAX_WILDCARDS_PER_PATTERN} are allowed")));
        }
        let mut leaves_of = vec![Vec::new(); parser.pattern_selectors.len()];
        for (index, leaf) in parser.leaves.iter().enumerate() {
            if let Some(list) = leaves_of.get_mut(leaf.selector) {
                list.push(index);
            }
        }
        Ok(JsonPattern { selectors: parser.pattern_selectors, leaves: parser.leaves, leaves_of, expr })
    }

    pub(crate) fn matches(&self, message: &str) -> bool {
        let mut sink = LeafSink { pattern: self, state: LeafState::default() };
        if !json_scan::scan(message, &self.selectors, &mut sink) {
            return false;
        }
        self.decide(&sink.state)
    }

    pub(crate) fn selectors(&self) -> &[Selector] {
        &self.selectors
    }

    /// Whether the pattern holds, given what a scan reported to [`record`](Self::record).
    pub(crate) fn decide(&self, state: &LeafState) -> bool {
        self.eval(&self.expr, state.reached, state.holds)
    }

    /// One value the pattern's `selector`th selector reached.
    pub(crate) fn record(&self, selector: usize, value: JsonValue<'_>, state: &mut LeafState) {
        state.reached |= 1 << selector;
        let wildcard = self.selectors.get(selector).is_some_and(Selector::has_wildcard);
        let Some(leaves) = self.leaves_of.get(selector) else { return };
        for &index in leaves {
            let Some(leaf) = self.leaves.get(index) else { continue };
            if test(&leaf.test, value) {
                state.holds |= 1 << index;
            } else if !wildcard {
                // A repeated property: the last occurrence decides.
                state.holds &= !(1 << index);
            }
        }
    }

    fn eval(&self, expr: &Expr, reached: u128, holds: u128) -> bool {
        match expr {
            Expr::Leaf(index) => {
                let Some(leaf) = self.leaves.get(*index) else { return false };
                match leaf.test {
                    Test::NotExists => reached & (1 << leaf.selector) == 0,
                    _ => holds & (1 << index) != 0,
                }
            }
            Expr::And(parts) => parts.iter().all(|part| self.eval(part, reached, holds)),
            Expr::Or(parts) => parts.iter().any(|part| self.eval(part, reached, holds)),
        }
    }
}

/// Which selectors reached a value and which leaves hold, for one event.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct LeafState {
    reached: u128,
    holds: u128,
}

struct LeafSink<'p> {
    pattern: &'p JsonPattern,
    state: LeafState,
}

impl<'m> HitSink<'m> for LeafSink<'_> {
    fn hit(&mut self, selector: usize, value: JsonValue<'m>) {
        self.pattern.record(selector, value, &mut self.state);
    }
}

fn test(test: &Test, value: JsonValue<'_>) -> bool {
    let scalar = match value {
        JsonValue::Object | JsonValue::Array => return false,
        JsonValue::String { raw, escaped } => Scalar::Text(JsonValue::string_content(raw, escaped)),
        JsonValue::Number(text) => Scalar::Number(text),
        JsonValue::Bool(flag) => Scalar::Bool(flag),
        JsonValue::Null => Scalar::Null,
    };
    match test {
        Test::Compare(comparison, operand) => compare(*comparison, operand, &scalar),
        Test::IsNull => matches!(scalar, Scalar::Null),
        Test::IsTrue => matches!(scalar, Scalar::Bool(true)),
        Test::IsFalse => matches!(scalar, Scalar::Bool(false)),
        Test::NotExists => false,
    }
}

struct Parser<'t> {
    tokens: &'t [Token],
    at: usize,
    pattern_selectors: Vec<Selector>,
    leaves: Vec<Leaf>,
    regexes: usize,
    depth: usize,
}

const END: Token = Token { kind: TokenKind::End, position: 0 };

impl Parser<'_> {
    fn peek(&self) -> &Token {
        self.tokens.get(self.at).unwrap_or(&END)
    }

    fn next(&mut self) -> Token {
        let token = self.peek().clone();
        self.at += 1;
        token
    }

    fn expect(&mut self, kind: &TokenKind, problem: &str) -> Result<(), PatternError> {
        let token = self.next();
        if &token.kind == kind { Ok(()) } else { Err(unexpected(&token, problem)) }
    }

    fn or_expr(&mut self) -> Result<Expr, PatternError> {
        let mut parts = vec![self.and_expr()?];
        while self.peek().kind == TokenKind::Or {
            self.at += 1;
            parts.push(self.and_expr()?);
        }
        Ok(if parts.len() == 1 { parts.remove(0) } else { Expr::Or(parts) })
    }

    fn and_expr(&mut self) -> Result<Expr, PatternError> {
        let mut parts = vec![self.primary()?];
        while self.peek().kind == TokenKind::And {
            self.at += 1;
            parts.push(self.primary()?);
        }
        Ok(if parts.len() == 1 { parts.remove(0) } else { Expr::And(parts) })
    }

    fn primary(&mut self) -> Result<Expr, PatternError> {
        let token = self.next();
        match token.kind {
            TokenKind::OpenParen => {
                self.depth += 1;
                if self.depth > MAX_NESTING {
                    return Err(PatternError::syntax(token.position, format!("parentheses nest more than {MAX_NESTING} deep")));
                }
                let inner = self.or_expr()?;
                let close = self.next();
                if close.kind != TokenKind::CloseParen {
                    return Err(unexpected(&close, "expected `&&`, `||` or `)` to close the `(`"));
                }
                self.depth -= 1;
                Ok(inner)
            }
            TokenKind::Selector(text) => self.condition(&text, token.position),
            _ => Err(unexpected(&token, "expected a selector such as `$.level` or `(`")),
        }
    }

    fn condition(&mut self, selector_text: &str, position: usize) -> Result<Expr, PatternError> {
        let selector = selector::parse_in_pattern(selector_text, position)?;
        let operator = self.next();
        let test = match operator.kind {
            TokenKind::Compare(comparison) => {
                let operand = operand(self.next(), comparison, &mut self.regexes)?;
                Test::Compare(comparison, operand)
            }
            TokenKind::Word(ref word) if word.eq_ignore_ascii_case("IS") => {
                let what = self.next();
                match &what.kind {
                    TokenKind::Word(word) if word.eq_ignore_ascii_case("NULL") => Test::IsNull,
                    TokenKind::Word(word) if word.eq_ignore_ascii_case("TRUE") => Test::IsTrue,
                    TokenKind::Word(word) if word.eq_ignore_ascii_case("FALSE") => Test::IsFalse,
                    _ => return Err(unexpected(&what, "`IS` must be followed by `NULL`, `TRUE` or `FALSE`")),
                }
            }
            TokenKind::Word(ref word) if word.eq_ignore_ascii_case("NOT") => {
                let what = self.next();
                match &what.kind {
                    TokenKind::Word(word) if word.eq_ignore_ascii_case("EXISTS") => Test::NotExists,
                    _ => return Err(unexpected(&what, "`NOT` must be followed by `EXISTS`")),
                }
            }
            _ => {
                return Err(unexpected(&operator, &format!("expected an operator (`=`, `!=`, `<`, `<=`, `>`, `>=`, `IS`, `NOT EXISTS`) after `{selector_text}`")));
            }
        };
        let selector_index = match self.pattern_selectors.iter().position(|known| known.steps == selector.steps) {
            Some(index) => index,
            None => {
                self.pattern_selectors.push(selector);
                self.pattern_selectors.len() - 1
            }
        };
        if self.leaves.len() >= MAX_SELECTORS {
            return Err(PatternError::syntax(position, format!("the pattern has more than {MAX_SELECTORS} conditions")));
        }
        self.leaves.push(Leaf { selector: selector_index, test });
        Ok(Expr::Leaf(self.leaves.len() - 1))
    }
}

/// Reads the value after `comparison` (shared with space-delimited patterns).
pub(crate) fn operand(token: Token, comparison: Comparison, regexes: &mut usize) -> Result<Operand, PatternError> {
    let operand = match token.kind {
        TokenKind::Quoted(text) => Operand::Text(TextPattern::new(&text)),
        TokenKind::Word(word) => match parse_number(&word) {
            Some(number) => Operand::Number(number),
            None => Operand::Text(TextPattern::new(&word)),
        },
        TokenKind::Regex(body) => {
            *regexes += 1;
            if *regexes > MAX_REGEXES {
                return Err(PatternError::TooManyRegexes { count: *regexes });
            }
            Operand::Regex(FilterRegex::compile(&body, token.position)?)
        }
        _ => return Err(unexpected(&token, &format!("expected a value after `{}`", comparison.symbol()))),
    };
    if comparison.is_ordering() && !matches!(operand, Operand::Number(_)) {
        return Err(PatternError::syntax(token.position, format!("`{}` compares numbers; write a number such as `1000` after it", comparison.symbol())));
    }
    Ok(operand)
}

pub(crate) fn unexpected(token: &Token, problem: &str) -> PatternError {
    let found = match &token.kind {
        TokenKind::End => "the end of the pattern".to_string(),
        TokenKind::OpenBrace => "`{`".into(),
        TokenKind::CloseBrace => "`}`".into(),
        TokenKind::OpenBracket => "`[`".into(),
        TokenKind::CloseBracket => "`]`".into(),
        TokenKind::OpenParen => "`(`".into(),
        TokenKind::CloseParen => "`)`".into(),
        TokenKind::Comma => "`,`".into(),
        TokenKind::And => "`&&`".into(),
        TokenKind::Or => "`||`".into(),
        TokenKind::Compare(comparison) => format!("`{}`", comparison.symbol()),
        TokenKind::Ellipsis => "`...`".into(),
        TokenKind::Selector(text) | TokenKind::Word(text) => format!("`{text}`"),
        TokenKind::Quoted(text) => format!("\"{text}\""),
        TokenKind::Regex(body) => format!("%{body}%"),
    };
    PatternError::syntax(token.position, format!("{problem}, found {found}"))
}
