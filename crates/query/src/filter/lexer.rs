//! Tokens of JSON (`{ … }`) and space-delimited (`[ … ]`) patterns.
//!
//! Unquoted values may hold ASCII letters and digits and `_ . * + - / :`;
//! anything else (`@`, `$`, `\`, unicode, …) must be inside double quotes,
//! as AWS requires, and is refused with AWS's `Invalid character(s) in term`.
//! Inside quotes `\"` is a quote and `\\` a backslash; any other backslash is
//! kept as written (so `"C:\temp"` means what it says).

use super::error::PatternError;
use super::value::Comparison;

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum TokenKind {
    OpenBrace,
    CloseBrace,
    OpenBracket,
    CloseBracket,
    OpenParen,
    CloseParen,
    Comma,
    And,
    Or,
    Compare(Comparison),
    Ellipsis,
    /// A JSON selector as written, already checked: `$.a.b[0]`.
    Selector(String),
    Word(String),
    Quoted(String),
    /// The text between `%` and `%`.
    Regex(String),
    End,
}

#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub(crate) kind: TokenKind,
    /// 1-based character position of the token's first character.
    pub(crate) position: usize,
}

/// Which pattern is being read: characters that are structure in one kind
/// (`,` `[` `]` `...` in space-delimited patterns, `{` `}` `$` in JSON ones)
/// are invalid characters in the other, as AWS reports a stray `,` in a JSON
/// pattern: `Invalid character(s) in term ','`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    Json,
    Delimited,
}

pub(crate) fn tokenize(text: &str, mode: Mode) -> Result<Vec<Token>, PatternError> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut at = 0;
    while let Some(&c) = chars.get(at) {
        let position = at + 1;
        if c.is_whitespace() {
            at += 1;
            continue;
        }
        let next = chars.get(at + 1).copied();
        let foreign = match mode {
            Mode::Json => matches!(c, ',' | '[' | ']'),
            Mode::Delimited => matches!(c, '{' | '}' | '$'),
        };
        if foreign {
            return Err(PatternError::invalid_character(c.to_string()));
        }
        let (kind, width) = match c {
            '{' => (TokenKind::OpenBrace, 1),
            '}' => (TokenKind::CloseBrace, 1),
            '[' => (TokenKind::OpenBracket, 1),
            ']' => (TokenKind::CloseBracket, 1),
            '(' => (TokenKind::OpenParen, 1),
            ')' => (TokenKind::CloseParen, 1),
            ',' => (TokenKind::Comma, 1),
            '&' if next == Some('&') => (TokenKind::And, 2),
            '|' if next == Some('|') => (TokenKind::Or, 2),
            '&' | '|' => {
                return Err(PatternError::syntax(position, format!("`{c}` is not an operator; use `{c}{c}`")));
            }
            '=' => (TokenKind::Compare(Comparison::Eq), 1),
            '!' if next == Some('=') => (TokenKind::Compare(Comparison::Ne), 2),
            '!' => return Err(PatternError::syntax(position, "`!` is not an operator; use `!=`")),
            '<' if next == Some('=') => (TokenKind::Compare(Comparison::Le), 2),
            '<' => (TokenKind::Compare(Comparison::Lt), 1),
            '>' if next == Some('=') => (TokenKind::Compare(Comparison::Ge), 2),
            '>' => (TokenKind::Compare(Comparison::Gt), 1),
            '"' => {
                let (content, width) = quoted(&chars, at)?;
                (TokenKind::Quoted(content), width)
            }
            '%' => {
                let Some(length) = chars.get(at + 1..).and_then(|rest| rest.iter().position(|&c| c == '%')) else {
                    return Err(PatternError::syntax(position, "the regular expression that starts here has no closing `%`"));
                };
                let body: String = chars.get(at + 1..at + 1 + length).unwrap_or_default().iter().collect();
                (TokenKind::Regex(body), length + 2)
            }
            '$' => {
                let (selector, width) = selector(&chars, at)?;
                (TokenKind::Selector(selector), width)
            }
            c if is_word_char(c) => {
                let width = chars.get(at..).unwrap_or_default().iter().take_while(|&&c| is_word_char(c)).count();
                let word: String = chars.get(at..at + width).unwrap_or_default().iter().collect();
                if word == "..." && mode == Mode::Delimited { (TokenKind::Ellipsis, width) } else { (TokenKind::Word(word), width) }
            }
            other => return Err(PatternError::invalid_character(other.to_string())),
        };
        tokens.push(Token { kind, position });
        at += width;
    }
    tokens.push(Token { kind: TokenKind::End, position: chars.len() + 1 });
    Ok(tokens)
}

pub(crate) fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '*' | '+' | '-' | '/' | ':')
}

fn is_name_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '-')
}

/// Reads a `"…"` string starting at `chars[start]`; returns its content and width.
pub(crate) fn quoted(chars: &[char], start: usize) -> Result<(String, usize), PatternError> {
    let mut content = String::new();
    let mut at = start + 1;
    loop {
        match chars.get(at) {
            None => {
                return Err(PatternError::syntax(start + 1, "the quoted string that starts here is never closed; add a closing `\"`"));
            }
            Some('"') => return Ok((content, at + 1 - start)),
            Some('\\') => match chars.get(at + 1) {
                Some(&escaped @ ('"' | '\\')) => {
                    content.push(escaped);
                    at += 2;
                }
                _ => {
                    content.push('\\');
                    at += 1;
                }
            },
            Some(&c) => {
                content.push(c);
                at += 1;
            }
        }
    }
}

/// Reads a JSON selector starting at the `$` in `chars[start]`.
fn selector(chars: &[char], start: usize) -> Result<(String, usize), PatternError> {
    let mut at = start + 1;
    let mut steps = 0;
    let consumed = |end: usize, bad: char| -> PatternError {
        let mut term: String = chars.get(start..end).unwrap_or_default().iter().collect();
        term.push(bad);
        PatternError::invalid_character(term)
    };
    loop {
        match chars.get(at) {
            Some('.') => {
                at += 1;
                match chars.get(at) {
                    Some('*') => at += 1,
                    Some('[') => continue,
                    Some(&c) if is_name_char(c) => {
                        while chars.get(at).is_some_and(|&c| is_name_char(c)) {
                            at += 1;
                        }
                    }
                    Some(&bad) => return Err(consumed(at, bad)),
                    None => return Err(PatternError::syntax(start + 1, "the selector ends with `.`; name a property after it")),
                }
            }
            Some('[') => {
                let open = at;
                at += 1;
                match chars.get(at) {
                    Some('*') => at += 1,
                    Some('\'' | '"') => {
                        let quote = chars.get(at).copied().unwrap_or('"');
                        at += 1;
                        while chars.get(at).is_some_and(|&c| c != quote) {
                            at += 1;
                        }
                        if chars.get(at).is_none() {
                            return Err(PatternError::syntax(open + 1, "the quoted property name in this selector is never closed"));
                        }
                        at += 1;
                    }
                    Some(c) if c.is_ascii_digit() => {
                        if steps == 0 {
                            return Err(PatternError::syntax(open + 1, "an array index must follow a property, as in `$.items[0]`"));
                        }
                        while chars.get(at).is_some_and(char::is_ascii_digit) {
                            at += 1;
                        }
                    }
                    Some(&bad) => return Err(consumed(at, bad)),
                    None => return Err(PatternError::syntax(open + 1, "the `[` in this selector is never closed")),
                }
                match chars.get(at) {
                    Some(']') => at += 1,
                    Some(&bad) => return Err(consumed(at, bad)),
                    None => return Err(PatternError::syntax(open + 1, "the `[` in this selector is never closed")),
                }
            }
            Some(&c) if c.is_whitespace() || matches!(c, '=' | '!' | '<' | '>' | ')' | '}' | '&' | '|') => break,
            None => break,
            Some(&bad) => return Err(consumed(at, bad)),
        }
        steps += 1;
    }
    if steps == 0 {
        return Err(PatternError::syntax(start + 1, "a selector needs a property after `$`, as in `$.level`"));
    }
    let text: String = chars.get(start..at).unwrap_or_default().iter().collect();
    Ok((text, at - start))
}
