//! `%…%` regular expressions, restricted to exactly what CloudWatch Logs
//! accepts (<https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/regex-expressions.html>):
//! ASCII letters and digits, the symbols `: _ # = @ / ; , -` and the operators
//! `^ $ ? [ ] { } | \ * + .`. Parentheses, spaces, any other symbol and
//! multi-byte characters are refused. (`:` is missing from one revision of
//! AWS's list but present in another, and a real `%DELETE.*::\sSuccess%`
//! pattern was accepted, so it is allowed.)
//!
//! Matching is an unanchored, case-sensitive search; `^` and `$` anchor at the
//! ends of the searched text (the whole message, a JSON string value or one
//! space-delimited field). Compiled size is capped so a pathological
//! repetition such as `%a{1000}{1000}%` is refused instead of exhausting memory.

use super::error::PatternError;

/// Compiled-program and lazy-DFA caps; far above anything a 1024-character
/// pattern of the allowed alphabet needs for ordinary use.
const REGEX_SIZE_LIMIT: usize = 1 << 20;
const REGEX_DFA_SIZE_LIMIT: usize = 1 << 21;

/// A regular expression that passed CloudWatch's character rules and compiled.
#[derive(Debug, Clone)]
pub(crate) struct FilterRegex {
    source: String,
    regex: regex::Regex,
}

impl FilterRegex {
    /// Compiles `body` (the text between the `%` signs), which starts at the
    /// 1-based character `position` of the pattern.
    pub(crate) fn compile(body: &str, position: usize) -> Result<FilterRegex, PatternError> {
        if body.is_empty() {
            return Err(PatternError::Regex { position, problem: "the regular expression between `%` and `%` is empty".into() });
        }
        for (offset, c) in body.chars().enumerate() {
            let at = position + 1 + offset;
            if !c.is_ascii() {
                return Err(PatternError::Regex {
                    position: at,
                    problem: format!("multi-byte character `{c}` is not supported in a regular expression"),
                });
            }
            if matches!(c, '(' | ')') {
                return Err(PatternError::Regex {
                    position: at,
                    problem: "parentheses are not supported in a regular expression; use `|` without a subpattern or a character class".into(),
                });
            }
            if !is_allowed(c) {
                let shown = match c {
                    ' ' => "space".to_string(),
                    c if c.is_ascii_graphic() => format!("`{c}`"),
                    c => format!("`{}`", c.escape_default()),
                };
                return Err(PatternError::Regex {
                    position: at,
                    problem: format!("{shown} is not supported in a regular expression (escape classes such as `\\s` or `\\W` can stand for it)"),
                });
            }
        }
        let regex = regex::RegexBuilder::new(body)
            .size_limit(REGEX_SIZE_LIMIT)
            .dfa_size_limit(REGEX_DFA_SIZE_LIMIT)
            .build()
            .map_err(|error| PatternError::Regex { position, problem: describe(&error) })?;
        Ok(FilterRegex { source: body.to_string(), regex })
    }

    pub(crate) fn is_match(&self, text: &str) -> bool {
        self.regex.is_match(text)
    }

    /// The regex's text when it is a plain literal (no operator, only escaped
    /// punctuation): then every match contains it verbatim.
    pub(crate) fn as_literal(&self) -> Option<String> {
        let mut literal = String::new();
        let mut chars = self.source.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some(escaped) if escaped.is_ascii_punctuation() => literal.push(escaped),
                    _ => return None,
                },
                '^' | '$' | '?' | '[' | ']' | '{' | '}' | '|' | '*' | '+' | '.' => return None,
                other => literal.push(other),
            }
        }
        (!literal.is_empty()).then_some(literal)
    }
}

fn is_allowed(c: char) -> bool {
    c.is_ascii_alphanumeric()
        || matches!(c, ':' | '_' | '#' | '=' | '@' | '/' | ';' | ',' | '-')
        || matches!(c, '^' | '$' | '?' | '[' | ']' | '{' | '}' | '|' | '\\' | '*' | '+' | '.')
}

fn describe(error: &regex::Error) -> String {
    match error {
        regex::Error::CompiledTooBig(_) => "the regular expression is too large; reduce its repetition counts".into(),
        regex::Error::Syntax(text) => {
            // The regex crate's message spans several lines with a caret diagram; keep the last line.
            let last = text.lines().rev().find(|line| !line.trim().is_empty()).unwrap_or(text);
            last.trim().trim_start_matches("error: ").to_string()
        }
        other => other.to_string(),
    }
}
