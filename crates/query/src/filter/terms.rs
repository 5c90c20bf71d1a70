//! Unstructured term patterns: `ERROR`, `"Request completed"`, `?ERROR ?WARN`,
//! `ERROR -timeout`, `""`, `" "`.
//!
//! * A term matches when its text occurs anywhere in the message,
//!   case-sensitively (a substring, not a whole word: AWS's own example has
//!   `ERROR` matching `Exiting with ERRORCODE: -1`, and a real
//!   TestMetricFilter run had `"admin"` matching inside `fsxadmin`).
//! * A bare term may hold letters, digits and `_`; every other character must
//!   be inside double quotes, else AWS's `Invalid character(s) in term '…'`.
//!   A `-` or `?` inside a bare word starts a new exclusion / alternative, so
//!   `request-id-7` means `request -id -7` (why an unquoted request id finds
//!   nothing on AWS); quote it to search for it.
//! * `-term` (also `- "phrase"`, whitespace allowed after the sign) excludes.
//! * Without any `?`: every term is required and no excluded term may occur.
//!   With at least one `?`: the pattern is an OR of all its terms, an
//!   exclusion counting as "does not contain". This is what AWS did in a
//!   recorded run: `?"DELETE" ?"delete" ?"remove" -"Pending"` matched 2,945
//!   of 5,156 events, the exclusion acting as one more alternative.
//! * A quoted term that is empty or only blanks (`""`, `" "`) matches every
//!   event, as AWS documents for `" "`.

use memchr::memmem::Finder;

use super::Literal;
use super::error::PatternError;
use super::lexer::quoted;

#[derive(Debug, Clone)]
pub(crate) struct TermPattern {
    /// At least one `?` term: OR over all terms.
    any: bool,
    /// An OR pattern with a blank alternative matches everything.
    always: bool,
    terms: Vec<Term>,
}

#[derive(Debug, Clone)]
struct Term {
    text: String,
    excluded: bool,
    finder: Finder<'static>,
}

impl Term {
    fn holds(&self, message: &[u8]) -> bool {
        self.finder.find(message).is_some() != self.excluded
    }
}

impl TermPattern {
    pub(crate) fn parse(text: &str) -> Result<TermPattern, PatternError> {
        let chars: Vec<char> = text.chars().collect();
        let mut pattern = TermPattern { any: false, always: false, terms: Vec::new() };
        let mut at = 0;
        loop {
            while chars.get(at).is_some_and(|c| c.is_whitespace()) {
                at += 1;
            }
            let Some(&first) = chars.get(at) else { break };
            let sign_position = at + 1;
            let mut optional = false;
            let mut excluded = false;
            if first == '?' {
                optional = true;
                at += 1;
                if chars.get(at) == Some(&'-') {
                    excluded = true;
                    at += 1;
                }
            } else if first == '-' {
                excluded = true;
                at += 1;
            }
            if optional || excluded {
                while chars.get(at).is_some_and(|c| c.is_whitespace()) {
                    at += 1;
                }
                match chars.get(at) {
                    None => {
                        let sign = if excluded { '-' } else { '?' };
                        return Err(PatternError::syntax(sign_position, format!("`{sign}` must be followed by a term")));
                    }
                    Some('-' | '?') => {
                        return Err(PatternError::invalid_character(chars.get(at).map(char::to_string).unwrap_or_default()));
                    }
                    Some(_) => {}
                }
            }
            let term_text = if chars.get(at) == Some(&'"') {
                let (content, width) = quoted(&chars, at)?;
                at += width;
                content
            } else {
                let start = at;
                while chars.get(at).is_some_and(|&c| is_term_char(c)) {
                    at += 1;
                }
                match chars.get(at) {
                    Some(&c) if !(c.is_whitespace() || matches!(c, '-' | '?' | '"')) => {
                        return Err(PatternError::invalid_character(c.to_string()));
                    }
                    _ => {}
                }
                if at == start {
                    // A sign followed by another sign (`?-` handled above): `--x`, `-?x`.
                    return Err(PatternError::invalid_character(chars.get(at).map(char::to_string).unwrap_or_default()));
                }
                chars.get(start..at).unwrap_or_default().iter().collect()
            };
            pattern.any |= optional;
            if term_text.trim().is_empty() {
                // `" "` and `""` match everything.
                if optional {
                    pattern.always = true;
                }
                continue;
            }
            let finder = Finder::new(term_text.as_bytes()).into_owned();
            pattern.terms.push(Term { text: term_text, excluded, finder });
        }
        Ok(pattern)
    }

    pub(crate) fn is_match_all(&self) -> bool {
        self.terms.is_empty() || (self.any && self.always)
    }

    pub(crate) fn matches(&self, message: &str) -> bool {
        let bytes = message.as_bytes();
        if self.any {
            self.always || self.terms.iter().any(|term| term.holds(bytes))
        } else {
            self.terms.iter().all(|term| term.holds(bytes))
        }
    }

    pub(crate) fn required_literals(&self) -> Vec<Vec<Literal>> {
        let literal = |term: &Term| Literal { text: term.text.clone(), whole_word: false };
        if !self.any {
            return self.terms.iter().filter(|term| !term.excluded).map(|term| vec![literal(term)]).collect();
        }
        if self.always || self.terms.is_empty() || self.terms.iter().any(|term| term.excluded) {
            return Vec::new();
        }
        vec![self.terms.iter().map(literal).collect()]
    }
}

fn is_term_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}
