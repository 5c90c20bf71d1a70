//! Splits a Logs Insights query into tokens with byte spans.
//!
//! The lexer is driven by the parser, one token at a time, because `/`
//! means two things: where an operand is expected it opens a regex literal
//! (`like /ERROR/`, `parse @message /(?<d>\d+)/`), after an operand it is
//! division. The parser says which it expects ([`Mode`]).
//!
//! * Names: `[A-Za-z0-9_]` words joined by `.` (`a.b.c`), optionally after
//!   `@` signs (`@timestamp`, `@@example.com`); any part may be written in
//!   backticks instead (`` `foo-bar` ``, `` @`aws.tag.k:v` ``,
//!   `` json.`user.id` ``), where `` \` `` stands for a backtick. ASCII only
//!   outside backticks. A name that is one bare word may be a keyword;
//!   keywords are matched case-insensitively by the parser.
//! * Strings: `'…'` or `"…"`, may span lines; `\\`, `\'`, `\"`, `\n`,
//!   `\t`, `\r` are escapes, any other backslash is kept as written.
//! * Regexes: `/…/` up to the first unescaped `/`; `\/` stands for `/`,
//!   every other backslash is kept for the regex engine. No trailing flags:
//!   AWS documents `(?i)` inside the pattern instead.
//! * Numbers: `12`, `1.5`, `.5`, `1e3`; a whole number glued to a unit is a
//!   time period (`5m`, `100ms`, `1mo`, `2hrs`).
//! * `#` starts a comment up to the end of the line (outside literals).

use super::ast::{Duration, Span, TimeUnit};
use super::error::Failure;

/// What the parser expects next; decides what `/` is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// An operand: `/` opens a regex literal.
    Operand,
    /// An operator: `/` is division.
    Operator,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    pub kind: TokenKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum TokenKind {
    Name(Name),
    /// A number; `text` as written (for `limit`, which needs an exact integer).
    Number { text: String, value: Number },
    Duration(Duration),
    Str(String),
    Regex(String),
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    /// `=~`
    Tilde,
    Plus,
    Minus,
    Star,
    Slash,
    Percent,
    Caret,
    Pipe,
    Comma,
    Dot,
    Colon,
    LParen,
    RParen,
    LBracket,
    RBracket,
    LBrace,
    RBrace,
    End,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Number {
    Integer(i64),
    Float(f64),
}

/// A field name or word as lexed: its parts between dots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Name {
    pub segments: Vec<NameSegment>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameSegment {
    /// The part's text; the first part includes any leading `@` signs.
    pub text: String,
    pub quoted: bool,
}

impl Name {
    /// The text when this is a single bare word (no `@`, no dot, no
    /// backticks): the only names that can be keywords or function names.
    pub fn word(&self) -> Option<&str> {
        match self.segments.as_slice() {
            [segment] if !segment.quoted && !segment.text.starts_with('@') => Some(&segment.text),
            _ => None,
        }
    }

    /// Whether this is the bare word `keyword`, in any case.
    pub fn is(&self, keyword: &str) -> bool {
        self.word().is_some_and(|word| word.eq_ignore_ascii_case(keyword))
    }

    /// The name joined with dots, as written but without backticks.
    pub fn joined(&self) -> String {
        self.segments.iter().map(|segment| segment.text.as_str()).collect::<Vec<_>>().join(".")
    }
}

/// Words that are operators or clause keywords wherever they appear, so
/// they cannot be bare field names or aliases (backticks make them names).
pub const RESERVED: &[&str] = &["and", "or", "not", "like", "in", "as", "by", "asc", "desc", "true", "false"];

pub fn is_reserved(word: &str) -> bool {
    RESERVED.iter().any(|reserved| reserved.eq_ignore_ascii_case(word))
}

impl TokenKind {
    /// How the token reads in an error message (`'count'`, `'<EOF>'`).
    pub fn describe(&self, text: &str, span: Span) -> String {
        match self {
            TokenKind::End => "the end of the query".to_string(),
            _ => {
                let source = span.slice(text);
                let shown: String = source.chars().take(40).collect();
                let ellipsis = if shown.len() < source.len() { "…" } else { "" };
                format!("'{shown}{ellipsis}'")
            }
        }
    }
}

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

pub struct Lexer<'a> {
    text: &'a str,
}

impl<'a> Lexer<'a> {
    pub fn new(text: &'a str) -> Lexer<'a> {
        Lexer { text }
    }

    fn char_at(&self, offset: usize) -> Option<char> {
        self.text.get(offset..).and_then(|rest| rest.chars().next())
    }

    /// The offset of the next token at or after `offset`, past blanks and comments.
    pub fn skip_trivia(&self, mut offset: usize) -> usize {
        while let Some(c) = self.char_at(offset) {
            if c.is_whitespace() {
                offset += c.len_utf8();
            } else if c == '#' {
                offset = self.text.get(offset..).and_then(|rest| rest.find('\n')).map_or(self.text.len(), |newline| offset + newline);
            } else {
                break;
            }
        }
        offset
    }

    /// The token starting at or after `offset`.
    pub fn token_at(&self, offset: usize, mode: Mode) -> Result<Token, Failure> {
        let start = self.skip_trivia(offset);
        let Some(c) = self.char_at(start) else {
            return Ok(Token { kind: TokenKind::End, span: Span::new(start, start) });
        };
        let next = self.char_at(start + c.len_utf8());
        let token = |kind: TokenKind, width: usize| Ok(Token { kind, span: Span::new(start, start + width) });
        match (c, next) {
            ('=', Some('~')) => token(TokenKind::Tilde, 2),
            ('=', Some('=')) => Err(Failure::syntax(Span::new(start, start + 2), "unexpected symbol '=='").hint("compare with a single =")),
            ('=', _) => token(TokenKind::Eq, 1),
            ('!', Some('=')) => token(TokenKind::Ne, 2),
            ('!', Some('~')) => Err(Failure::syntax(Span::new(start, start + 2), "unexpected symbol '!~'").hint("write e not like /regex/")),
            ('!', _) => Err(Failure::syntax(Span::new(start, start + 1), "unexpected symbol '!'").hint("negate with not, compare with !=")),
            ('<', Some('=')) => token(TokenKind::Le, 2),
            ('<', Some('>')) => Err(Failure::syntax(Span::new(start, start + 2), "unexpected symbol '<>'").hint("compare with !=")),
            ('<', _) => token(TokenKind::Lt, 1),
            ('>', Some('=')) => token(TokenKind::Ge, 2),
            ('>', _) => token(TokenKind::Gt, 1),
            ('&', Some('&')) => Err(Failure::syntax(Span::new(start, start + 2), "unexpected symbol '&&'").hint("combine conditions with and")),
            ('&', _) => Err(Failure::syntax(Span::new(start, start + 1), "unexpected symbol '&'").hint("combine conditions with and")),
            ('|', Some('|')) => Err(Failure::syntax(Span::new(start, start + 2), "unexpected symbol '||'").hint("combine conditions with or; a single | separates commands")),
            ('|', _) => token(TokenKind::Pipe, 1),
            ('+', _) => token(TokenKind::Plus, 1),
            ('-', _) => token(TokenKind::Minus, 1),
            ('*', _) => token(TokenKind::Star, 1),
            ('%', _) => token(TokenKind::Percent, 1),
            ('^', _) => token(TokenKind::Caret, 1),
            (',', _) => token(TokenKind::Comma, 1),
            (':', _) => token(TokenKind::Colon, 1),
            ('(', _) => token(TokenKind::LParen, 1),
            (')', _) => token(TokenKind::RParen, 1),
            ('[', _) => token(TokenKind::LBracket, 1),
            (']', _) => token(TokenKind::RBracket, 1),
            ('{', _) => token(TokenKind::LBrace, 1),
            ('}', _) => token(TokenKind::RBrace, 1),
            ('/', _) if mode == Mode::Operand => self.regex(start),
            ('/', _) => token(TokenKind::Slash, 1),
            ('\'' | '"', _) => self.string(start, c),
            ('.', Some(digit)) if digit.is_ascii_digit() && mode == Mode::Operand => self.number(start),
            ('.', _) => token(TokenKind::Dot, 1),
            (c, _) if c.is_ascii_digit() => self.number(start),
            (c, _) if is_word_char(c) || c == '@' || c == '`' => self.name(start),
            (c, _) => {
                let hint = if c.is_alphanumeric() {
                    "write field names with other than ASCII letters, digits, _, @ and . in backticks: `name`"
                } else {
                    "expected a field, a value, an operator or |"
                };
                Err(Failure::syntax(Span::new(start, start + c.len_utf8()), format!("unexpected symbol '{c}'")).hint(hint))
            }
        }
    }

    fn string(&self, start: usize, quote: char) -> Result<Token, Failure> {
        let mut content = String::new();
        let mut chars = self.text.get(start + 1..).unwrap_or("").char_indices();
        while let Some((index, c)) = chars.next() {
            match c {
                c if c == quote => {
                    return Ok(Token { kind: TokenKind::Str(content), span: Span::new(start, start + 1 + index + 1) });
                }
                '\\' => match chars.next() {
                    Some((_, escaped)) => match escaped {
                        '\\' | '\'' | '"' => content.push(escaped),
                        'n' => content.push('\n'),
                        't' => content.push('\t'),
                        'r' => content.push('\r'),
                        other => {
                            content.push('\\');
                            content.push(other);
                        }
                    },
                    None => break,
                },
                c => content.push(c),
            }
        }
        Err(Failure::syntax(Span::new(start, self.text.len()), "unterminated string").hint(format!("add the closing {quote}")))
    }

    fn regex(&self, start: usize) -> Result<Token, Failure> {
        let mut pattern = String::new();
        let mut chars = self.text.get(start + 1..).unwrap_or("").char_indices();
        while let Some((index, c)) = chars.next() {
            match c {
                '/' => {
                    let end = start + 1 + index + 1;
                    if let Some(flag) = self.char_at(end).filter(|c| c.is_ascii_alphabetic()) {
                        return Err(Failure::syntax(Span::new(end, end + 1), format!("unexpected symbol '{flag}' after a regular expression"))
                            .hint("regular expressions take no flags; write (?i) at the start of the pattern to ignore case"));
                    }
                    return Ok(Token { kind: TokenKind::Regex(pattern), span: Span::new(start, end) });
                }
                '\\' => match chars.next() {
                    Some((_, '/')) => pattern.push('/'),
                    Some((_, escaped)) => {
                        pattern.push('\\');
                        pattern.push(escaped);
                    }
                    None => break,
                },
                c => pattern.push(c),
            }
        }
        Err(Failure::syntax(Span::new(start, self.text.len()), "unterminated regular expression").hint("add the closing /, and write a / inside the pattern as \\/"))
    }

    fn number(&self, start: usize) -> Result<Token, Failure> {
        let rest = self.text.get(start..).unwrap_or("");
        let bytes = rest.as_bytes();
        let digits = |mut at: usize| {
            while bytes.get(at).is_some_and(u8::is_ascii_digit) {
                at += 1;
            }
            at
        };
        let mut end = digits(0);
        let mut integer = true;
        if bytes.get(end) == Some(&b'.') && bytes.get(end + 1).is_some_and(u8::is_ascii_digit) {
            end = digits(end + 1);
            integer = false;
        }
        if matches!(bytes.get(end), Some(b'e' | b'E')) {
            let mut exponent = end + 1;
            if matches!(bytes.get(exponent), Some(b'+' | b'-')) {
                exponent += 1;
            }
            if bytes.get(exponent).is_some_and(u8::is_ascii_digit) {
                end = digits(exponent);
                integer = false;
            }
        }
        let number_text = rest.get(..end).unwrap_or("");
        let unit_end = end + rest.get(end..).unwrap_or("").chars().take_while(|c| is_word_char(*c)).count();
        if unit_end > end {
            let unit_text = rest.get(end..unit_end).unwrap_or("");
            let span = Span::new(start, start + unit_end);
            let hint = "a time period is a whole number and a unit: ms, s, m, h, d, w, mo, q, y (or msec, sec, min, hr, day, week, mon, qtr, yr)";
            let unit = TimeUnit::from_word(unit_text).filter(|_| unit_text.chars().all(|c| c.is_ascii_alphabetic()));
            return match (unit, integer, number_text.parse::<u64>()) {
                (Some(unit), true, Ok(amount)) => Ok(Token { kind: TokenKind::Duration(Duration { amount, unit }), span }),
                _ => Err(Failure::syntax(span, format!("invalid number or time period '{}'", span.slice(self.text))).hint(hint)),
            };
        }
        let span = Span::new(start, start + end);
        let value = match number_text.parse::<i64>() {
            Ok(value) if integer => Number::Integer(value),
            _ => match number_text.parse::<f64>() {
                Ok(value) if value.is_finite() => Number::Float(value),
                _ => return Err(Failure::syntax(span, format!("invalid number '{number_text}'")).hint("the number is too large")),
            },
        };
        Ok(Token { kind: TokenKind::Number { text: number_text.to_string(), value }, span })
    }

    fn name(&self, start: usize) -> Result<Token, Failure> {
        let mut at = start;
        while self.char_at(at) == Some('@') {
            at += 1;
        }
        let prefix = self.text.get(start..at).unwrap_or("");
        let mut segments = Vec::new();
        loop {
            let mut segment = match self.char_at(at) {
                Some('`') => {
                    let (text, end) = self.backtick(at)?;
                    at = end;
                    NameSegment { text, quoted: true }
                }
                Some(c) if is_word_char(c) => {
                    let width = self.text.get(at..).unwrap_or("").chars().take_while(|c| is_word_char(*c)).count();
                    let text = self.text.get(at..at + width).unwrap_or("").to_string();
                    at += width;
                    NameSegment { text, quoted: false }
                }
                _ => {
                    return Err(Failure::syntax(Span::new(start, at.max(start + 1)), format!("unexpected symbol '{}'", self.text.get(start..at.max(start + 1)).unwrap_or("@")))
                        .hint("a field name follows @, as in @message"));
                }
            };
            if segments.is_empty() && !prefix.is_empty() {
                segment.text.insert_str(0, prefix);
            }
            segments.push(segment);
            // A dot continues the name only when a part follows right away.
            let continues = self.char_at(at) == Some('.') && self.char_at(at + 1).is_some_and(|c| is_word_char(c) || c == '`');
            if !continues {
                break;
            }
            at += 1;
        }
        Ok(Token { kind: TokenKind::Name(Name { segments }), span: Span::new(start, at) })
    }

    /// A backticked part starting at `start`: its text and the offset past it.
    fn backtick(&self, start: usize) -> Result<(String, usize), Failure> {
        let mut text = String::new();
        let mut chars = self.text.get(start + 1..).unwrap_or("").char_indices();
        while let Some((index, c)) = chars.next() {
            match c {
                '`' => {
                    let end = start + 1 + index + 1;
                    if text.is_empty() {
                        return Err(Failure::syntax(Span::new(start, end), "empty field name ``").hint("write a name between the backticks"));
                    }
                    return Ok((text, end));
                }
                '\\' => match chars.next() {
                    Some((_, '`')) => text.push('`'),
                    Some((_, other)) => {
                        text.push('\\');
                        text.push(other);
                    }
                    None => break,
                },
                c => text.push(c),
            }
        }
        Err(Failure::syntax(Span::new(start, self.text.len()), "unterminated field name").hint("add the closing `"))
    }
}

/// All tokens of `text` (for tools such as highlighters; the parser drives
/// the lexer itself). `/` is read as a regex unless the previous token ends
/// an operand: a number, string, `)`, `]`, or a name that is not a keyword
/// or command — so `parse @message /re/` lexes its regex as division here.
pub(crate) fn tokenize(text: &str) -> Result<Vec<Token>, Failure> {
    let lexer = Lexer::new(text);
    let mut tokens: Vec<Token> = Vec::new();
    let mut offset = 0;
    loop {
        let operand_ended = tokens.last().is_some_and(|token| match &token.kind {
            TokenKind::Name(name) => !name.word().is_some_and(|word| is_reserved(word) || super::parser::command_keyword(word).is_some()),
            TokenKind::Number { .. } | TokenKind::Duration(_) | TokenKind::Str(_) | TokenKind::Regex(_) | TokenKind::RParen | TokenKind::RBracket => true,
            _ => false,
        });
        let mode = if operand_ended { Mode::Operator } else { Mode::Operand };
        let token = lexer.token_at(offset, mode)?;
        offset = token.span.end;
        let end = token.kind == TokenKind::End;
        tokens.push(token);
        if end {
            return Ok(tokens);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<TokenKind> {
        tokenize(text).expect("tokenizes").into_iter().map(|token| token.kind).collect()
    }

    fn name(parts: &[(&str, bool)]) -> TokenKind {
        TokenKind::Name(Name { segments: parts.iter().map(|(text, quoted)| NameSegment { text: text.to_string(), quoted: *quoted }).collect() })
    }

    #[test]
    fn names_paths_and_backticks() {
        assert_eq!(kinds("@timestamp"), vec![name(&[("@timestamp", false)]), TokenKind::End]);
        assert_eq!(kinds("a.b.c"), vec![name(&[("a", false), ("b", false), ("c", false)]), TokenKind::End]);
        assert_eq!(kinds("`foo-bar`"), vec![name(&[("foo-bar", true)]), TokenKind::End]);
        assert_eq!(kinds("@`aws.tag.k:v`"), vec![name(&[("@aws.tag.k:v", true)]), TokenKind::End]);
        assert_eq!(kinds("json.`user.id`"), vec![name(&[("json", false), ("user.id", true)]), TokenKind::End]);
        assert_eq!(kinds("@@example.com"), vec![name(&[("@@example", false), ("com", false)]), TokenKind::End]);
        assert_eq!(kinds("`a\\`b`"), vec![name(&[("a`b", true)]), TokenKind::End]);
    }

    #[test]
    fn numbers_and_periods() {
        assert_eq!(kinds("5m 100ms 1mo 2hrs"), vec![
            TokenKind::Duration(Duration { amount: 5, unit: TimeUnit::Minute }),
            TokenKind::Duration(Duration { amount: 100, unit: TimeUnit::Millisecond }),
            TokenKind::Duration(Duration { amount: 1, unit: TimeUnit::Month }),
            TokenKind::Duration(Duration { amount: 2, unit: TimeUnit::Hour }),
            TokenKind::End
        ]);
        assert_eq!(kinds("1.5"), vec![TokenKind::Number { text: "1.5".into(), value: Number::Float(1.5) }, TokenKind::End]);
        assert_eq!(kinds("1e3"), vec![TokenKind::Number { text: "1e3".into(), value: Number::Float(1000.0) }, TokenKind::End]);
        assert!(tokenize("5x").is_err());
        assert!(tokenize("1.5m").is_err());
    }

    #[test]
    fn slash_is_a_regex_only_where_an_operand_starts() {
        assert_eq!(kinds("a / b"), vec![name(&[("a", false)]), TokenKind::Slash, name(&[("b", false)]), TokenKind::End]);
        assert_eq!(kinds("like /a\\/b\\d/"), vec![name(&[("like", false)]), TokenKind::Regex("a/b\\d".into()), TokenKind::End]);
    }

    #[test]
    fn strings_and_comments() {
        assert_eq!(kinds("'it\\'s' \"a\\\\b\\q\" # comment | x\n|"), vec![TokenKind::Str("it's".into()), TokenKind::Str("a\\b\\q".into()), TokenKind::Pipe, TokenKind::End]);
        assert!(tokenize("'open").is_err());
        assert!(tokenize("/open").is_err());
        assert!(tokenize("/x/i").is_err());
    }
}
