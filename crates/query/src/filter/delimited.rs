//! Space-delimited patterns: `[ip, user, username, timestamp, request = *html*, status_code = 4* && status_code != 403, bytes > 1000]`.
//!
//! The event is cut into fields at runs of whitespace; text between a pair of
//! double quotes or square brackets is one field, its value without the
//! quotes or brackets (AWS's Apache example extracts `$request` as
//! `GET /apache_pb.gif HTTP/1.0`). A `\"` inside a quoted field does not
//! close it. A quote or bracket that is never closed runs to the end.
//!
//! The pattern names fields (letters, digits, `_`, `-`), leaves them unnamed
//! (`[a, , c]`, or a trailing comma as in AWS's `[..., status_code=4*,]`), or
//! skips any number of them with one `...`. Without `...` the event must have
//! exactly as many fields as the pattern. A field's conditions use the
//! comparisons of JSON patterns, joined by `&&` / `||`, and may only test
//! that field (AWS rejects `status_code = 4* && bytes > 1000` inside one slot).
//!
//! Extracted values (TestMetricFilter's `extractedValues`, metric values and
//! dimensions): `$name` for named fields, `$N` (1-based position in the
//! event) for every other field, as in AWS's example.

use super::Literal;
use super::error::PatternError;
use super::json::{MAX_NESTING, operand, unexpected};
use super::lexer::{Mode, Token, TokenKind, tokenize};
use super::value::{Comparison, Operand, Scalar, compare};
use std::borrow::Cow;

#[derive(Debug, Clone)]
pub(crate) struct DelimitedPattern {
    slots: Vec<Slot>,
    /// Where the `...` sits: the number of slots before it.
    ellipsis: Option<usize>,
    has_conditions: bool,
}

#[derive(Debug, Clone)]
struct Slot {
    name: Option<String>,
    condition: Option<FieldExpr>,
}

#[derive(Debug, Clone)]
enum FieldExpr {
    Compare(Comparison, Operand),
    And(Vec<FieldExpr>),
    Or(Vec<FieldExpr>),
}

impl FieldExpr {
    fn holds(&self, field: &str) -> bool {
        match self {
            FieldExpr::Compare(comparison, operand) => compare(*comparison, operand, &Scalar::Text(Cow::Borrowed(field))),
            FieldExpr::And(parts) => parts.iter().all(|part| part.holds(field)),
            FieldExpr::Or(parts) => parts.iter().any(|part| part.holds(field)),
        }
    }

    /// A conjunction of alternatives every matching field value contains.
    fn literals(&self) -> Vec<Vec<Literal>> {
        match self {
            FieldExpr::Compare(Comparison::Eq, Operand::Text(text)) => {
                let (core, exact) = text.core();
                if core.is_empty() {
                    return Vec::new();
                }
                // An exact field value sits between delimiters (whitespace,
                // quotes, brackets or the message ends).
                vec![vec![Literal { text: core.to_string(), whole_word: exact }]]
            }
            FieldExpr::Compare(..) => Vec::new(),
            FieldExpr::And(parts) => parts.iter().flat_map(FieldExpr::literals).collect(),
            FieldExpr::Or(parts) => {
                let mut alternatives = Vec::new();
                for part in parts {
                    let Some(first) = part.literals().into_iter().next() else { return Vec::new() };
                    alternatives.extend(first);
                }
                vec![alternatives]
            }
        }
    }
}

impl DelimitedPattern {
    pub(crate) fn parse(text: &str) -> Result<DelimitedPattern, PatternError> {
        let tokens = tokenize(text, Mode::Delimited)?;
        let mut parser = Parser { tokens: &tokens, at: 0, regexes: 0, depth: 0 };
        let open = parser.next();
        if open.kind != TokenKind::OpenBracket {
            return Err(unexpected(&open, "a space-delimited pattern starts with `[`"));
        }
        let mut slots = Vec::new();
        let mut ellipsis = None;
        loop {
            let token = parser.peek().clone();
            match &token.kind {
                TokenKind::Comma | TokenKind::CloseBracket => slots.push(Slot { name: None, condition: None }),
                TokenKind::Ellipsis => {
                    parser.at += 1;
                    if ellipsis.is_some() {
                        return Err(PatternError::syntax(token.position, "a space-delimited pattern may use `...` only once"));
                    }
                    ellipsis = Some(slots.len());
                }
                _ => slots.push(parser.slot()?),
            }
            let separator = parser.next();
            match separator.kind {
                TokenKind::Comma => continue,
                TokenKind::CloseBracket => break,
                _ => return Err(unexpected(&separator, "expected `,` between fields or `]` to close the pattern")),
            }
        }
        let after = parser.next();
        if after.kind != TokenKind::End {
            return Err(unexpected(&after, "unexpected text after the closing `]`"));
        }
        if slots.is_empty() && ellipsis.is_none() {
            return Err(PatternError::syntax(1, "a space-delimited pattern needs at least one field"));
        }
        let has_conditions = slots.iter().any(|slot| slot.condition.is_some());
        Ok(DelimitedPattern { slots, ellipsis, has_conditions })
    }

    /// Which slot the `index`th of `count` fields falls in; `None` inside the `...`.
    fn slot_of(&self, index: usize, count: usize) -> Option<&Slot> {
        match self.ellipsis {
            None => self.slots.get(index),
            Some(before) => {
                let after = self.slots.len() - before;
                if index < before {
                    self.slots.get(index)
                } else if index >= count.saturating_sub(after) {
                    self.slots.get((index + self.slots.len()).checked_sub(count)?)
                } else {
                    None
                }
            }
        }
    }

    fn fits(&self, count: usize) -> bool {
        match self.ellipsis {
            None => count == self.slots.len(),
            Some(_) => count >= self.slots.len(),
        }
    }

    pub(crate) fn matches(&self, message: &str) -> bool {
        let holds = |slot: &Slot, field: &str| slot.condition.as_ref().is_none_or(|condition| condition.holds(field));
        match self.ellipsis {
            // One pass, stopping at the first failed condition.
            None => {
                let mut count = 0;
                for field in fields(message) {
                    match self.slots.get(count) {
                        Some(slot) if holds(slot, field) => count += 1,
                        _ => return false,
                    }
                }
                return count == self.slots.len();
            }
            // A trailing `...`: only the leading fields matter; stop after them.
            Some(before) if before == self.slots.len() => {
                let mut seen = 0;
                for (slot, field) in self.slots.iter().zip(fields(message)) {
                    if !holds(slot, field) {
                        return false;
                    }
                    seen += 1;
                }
                return seen == self.slots.len();
            }
            Some(_) => {}
        }
        // A leading or inner `...`: count the fields first to place the slots after it.
        let count = fields(message).count();
        if !self.fits(count) {
            return false;
        }
        if !self.has_conditions {
            return true;
        }
        for (index, field) in fields(message).enumerate() {
            let condition = self.slot_of(index, count).and_then(|slot| slot.condition.as_ref());
            if condition.is_some_and(|condition| !condition.holds(field)) {
                return false;
            }
        }
        true
    }

    /// The extracted values of a matching event, in field order.
    pub(crate) fn extract<'m>(&self, message: &'m str) -> Vec<(String, &'m str)> {
        let count = fields(message).count();
        fields(message)
            .enumerate()
            .map(|(index, field)| {
                let name = match self.slot_of(index, count).and_then(|slot| slot.name.as_deref()) {
                    Some(name) => format!("${name}"),
                    None => format!("${}", index + 1),
                };
                (name, field)
            })
            .collect()
    }

    /// The text of the field `$name` or `$N` (as [`extract`](Self::extract)
    /// names them) of a matching event, without building the whole list.
    pub(crate) fn field<'m>(&self, message: &'m str, reference: &str) -> Option<&'m str> {
        let name = reference.strip_prefix('$')?;
        let count = fields(message).count();
        let by_name = self.slots.iter().position(|slot| slot.name.as_deref() == Some(name)).and_then(|slot| match self.ellipsis {
            Some(before) if slot >= before => (slot + count).checked_sub(self.slots.len()),
            _ => Some(slot),
        });
        // `$N` names the Nth field when no slot gives it a name.
        let by_position = name
            .parse::<usize>()
            .ok()
            .and_then(|n| n.checked_sub(1))
            .filter(|&index| index < count && self.slot_of(index, count).is_none_or(|slot| slot.name.is_none()));
        let index = by_name.into_iter().chain(by_position).min()?;
        fields(message).nth(index)
    }

    pub(crate) fn required_literals(&self) -> Vec<Vec<Literal>> {
        self.slots.iter().filter_map(|slot| slot.condition.as_ref()).flat_map(FieldExpr::literals).collect()
    }
}

/// The fields of an event: values between whitespace, `"…"` and `[…]` as one field each.
pub(crate) fn fields(message: &str) -> impl Iterator<Item = &str> {
    let bytes = message.as_bytes();
    let mut at = 0;
    std::iter::from_fn(move || {
        while bytes.get(at).is_some_and(u8::is_ascii_whitespace) {
            at += 1;
        }
        let start = at;
        let close = match bytes.get(at)? {
            b'"' => Some(b'"'),
            b'[' => Some(b']'),
            _ => None,
        };
        if let Some(close) = close {
            let mut end = at + 1;
            loop {
                let rest = bytes.get(end..).unwrap_or_default();
                let found = if close == b'"' { memchr::memchr2(b'"', b'\\', rest) } else { memchr::memchr(close, rest) };
                match found {
                    None => {
                        end = bytes.len();
                        break;
                    }
                    Some(offset) if rest.get(offset) == Some(&b'\\') => end += offset + 2,
                    Some(offset) => {
                        end += offset;
                        break;
                    }
                }
            }
            let end = end.min(bytes.len());
            let closed = end < bytes.len();
            let after = if closed { end + 1 } else { end };
            at = after;
            if bytes.get(after).is_none_or(u8::is_ascii_whitespace) {
                return message.get(start + 1..end);
            }
            // Text glued to the closing quote: the whole token, quotes included, is the field.
        }
        while bytes.get(at).is_some_and(|byte| !byte.is_ascii_whitespace()) {
            at += 1;
        }
        message.get(start..at)
    })
}

struct Parser<'t> {
    tokens: &'t [Token],
    at: usize,
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

    fn slot(&mut self) -> Result<Slot, PatternError> {
        let first = self.peek().clone();
        let following = self.tokens.get(self.at + 1).map(|token| &token.kind);
        if let TokenKind::Word(name) = &first.kind
            && matches!(following, Some(TokenKind::Comma | TokenKind::CloseBracket))
        {
            check_name(name, first.position)?;
            self.at += 1;
            return Ok(Slot { name: Some(name.clone()), condition: None });
        }
        let mut name = None;
        let condition = self.or_expr(&mut name)?;
        Ok(Slot { name, condition: Some(condition) })
    }

    fn or_expr(&mut self, name: &mut Option<String>) -> Result<FieldExpr, PatternError> {
        let mut parts = vec![self.and_expr(name)?];
        while self.peek().kind == TokenKind::Or {
            self.at += 1;
            parts.push(self.and_expr(name)?);
        }
        Ok(if parts.len() == 1 { parts.remove(0) } else { FieldExpr::Or(parts) })
    }

    fn and_expr(&mut self, name: &mut Option<String>) -> Result<FieldExpr, PatternError> {
        let mut parts = vec![self.primary(name)?];
        while self.peek().kind == TokenKind::And {
            self.at += 1;
            parts.push(self.primary(name)?);
        }
        Ok(if parts.len() == 1 { parts.remove(0) } else { FieldExpr::And(parts) })
    }

    fn primary(&mut self, name: &mut Option<String>) -> Result<FieldExpr, PatternError> {
        let token = self.next();
        match &token.kind {
            TokenKind::OpenParen => {
                self.depth += 1;
                if self.depth > MAX_NESTING {
                    return Err(PatternError::syntax(token.position, format!("parentheses nest more than {MAX_NESTING} deep")));
                }
                let inner = self.or_expr(name)?;
                let close = self.next();
                if close.kind != TokenKind::CloseParen {
                    return Err(unexpected(&close, "expected `&&`, `||` or `)` to close the `(`"));
                }
                self.depth -= 1;
                Ok(inner)
            }
            TokenKind::Word(field) => {
                check_name(field, token.position)?;
                match name {
                    Some(existing) if existing != field => {
                        return Err(PatternError::syntax(
                            token.position,
                            format!("a condition on `{field}` sits in the field named `{existing}`; each field's conditions may only test that field"),
                        ));
                    }
                    Some(_) => {}
                    None => *name = Some(field.clone()),
                }
                let operator = self.next();
                let TokenKind::Compare(comparison) = operator.kind else {
                    return Err(unexpected(&operator, &format!("expected `,`, `]` or a comparison (`=`, `!=`, `<`, `<=`, `>`, `>=`) after `{field}`")));
                };
                let value = operand(self.next(), comparison, &mut self.regexes)?;
                Ok(FieldExpr::Compare(comparison, value))
            }
            _ => Err(unexpected(&token, "expected a field name, `...` or a condition such as `status_code = 200`")),
        }
    }
}

fn check_name(name: &str, position: usize) -> Result<(), PatternError> {
    match name.chars().find(|&c| !(c.is_ascii_alphanumeric() || c == '_' || c == '-')) {
        Some(bad) => Err(PatternError::invalid_character(bad.to_string())),
        None if name.is_empty() => Err(PatternError::syntax(position, "a field name is empty")),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_and_bracketed_values_are_one_field() {
        let line = r#"127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /apache_pb.gif HTTP/1.0" 200 1534"#;
        let found: Vec<&str> = fields(line).collect();
        assert_eq!(found, vec!["127.0.0.1", "-", "frank", "10/Oct/2000:13:25:15 -0700", "GET /apache_pb.gif HTTP/1.0", "200", "1534"]);
    }

    #[test]
    fn escaped_quotes_glued_text_and_unclosed_fields() {
        assert_eq!(fields(r#"a "say \"hi\"" b"#).collect::<Vec<_>>(), vec!["a", r#"say \"hi\""#, "b"]);
        assert_eq!(fields(r#""a b"cd e"#).collect::<Vec<_>>(), vec![r#""a b"cd"#, "e"]);
        assert_eq!(fields("x [open to the end").collect::<Vec<_>>(), vec!["x", "open to the end"]);
        assert_eq!(fields("  \t ").count(), 0);
        assert_eq!(fields(r#"trailing\"#).collect::<Vec<_>>(), vec![r#"trailing\"#]);
        assert_eq!(fields(r#""\"#).collect::<Vec<_>>(), vec!["\\"]);
    }
}
