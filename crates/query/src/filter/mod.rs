//! CloudWatch Logs filter patterns
//! (<https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html>).
//!
//! This module implements the term form: bare words and `"quoted phrases"`
//! (all required, case-sensitive, matched anywhere in the message), `?term`
//! alternatives (at least one must appear) and `-term` exclusions. The empty
//! pattern and `" "` match everything. JSON (`{ … }`), space-delimited
//! (`[ … ]`) and regular-expression (`%…%`) patterns are refused with a
//! clear error until their engines land.

/// A parsed filter pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterPattern {
    required: Vec<String>,
    optional: Vec<String>,
    excluded: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatternError {
    #[error("invalid filter pattern: {0}")]
    Invalid(String),
    #[error("{0} filter patterns are not supported by this Argus version yet; use terms, \"quoted phrases\", ?alternatives and -exclusions")]
    Unsupported(&'static str),
}

impl FilterPattern {
    pub fn parse(text: &str) -> Result<FilterPattern, PatternError> {
        let trimmed = text.trim();
        match trimmed.chars().next() {
            Some('{') => return Err(PatternError::Unsupported("JSON")),
            Some('[') => return Err(PatternError::Unsupported("space-delimited")),
            Some('%') => return Err(PatternError::Unsupported("regular-expression")),
            _ => {}
        }
        let mut pattern = FilterPattern { required: Vec::new(), optional: Vec::new(), excluded: Vec::new() };
        let mut chars = trimmed.chars().peekable();
        loop {
            while chars.next_if(|c| c.is_whitespace()).is_some() {}
            let Some(&first) = chars.peek() else { break };
            let bucket = match first {
                '?' => {
                    chars.next();
                    &mut pattern.optional
                }
                '-' => {
                    chars.next();
                    &mut pattern.excluded
                }
                _ => &mut pattern.required,
            };
            let term = if chars.peek() == Some(&'"') {
                chars.next();
                let mut phrase = String::new();
                let mut closed = false;
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => match chars.next() {
                            Some(escaped) => phrase.push(escaped),
                            None => return Err(PatternError::Invalid("the pattern ends inside an escape".into())),
                        },
                        '"' => {
                            closed = true;
                            break;
                        }
                        other => phrase.push(other),
                    }
                }
                if !closed {
                    return Err(PatternError::Invalid(format!("unterminated quoted phrase in `{text}`")));
                }
                phrase
            } else {
                let mut word = String::new();
                while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
                    word.push(c);
                }
                word
            };
            // A blank quoted phrase (the documented `" "`) matches everything.
            if !term.trim().is_empty() {
                bucket.push(term);
            }
        }
        Ok(pattern)
    }

    /// True when the pattern selects every event.
    pub fn is_match_all(&self) -> bool {
        self.required.is_empty() && self.optional.is_empty() && self.excluded.is_empty()
    }

    pub fn matches(&self, message: &str) -> bool {
        self.required.iter().all(|term| message.contains(term.as_str()))
            && (self.optional.is_empty() || self.optional.iter().any(|term| message.contains(term.as_str())))
            && !self.excluded.iter().any(|term| message.contains(term.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(pattern: &str, message: &str) -> bool {
        FilterPattern::parse(pattern).expect("valid pattern").matches(message)
    }

    #[test]
    fn terms_are_case_sensitive_and_all_required() {
        assert!(matches("ERROR", "2024 [ERROR] failed"));
        assert!(!matches("ERROR", "2024 [error] failed"));
        assert!(matches("ERROR failed", "failed with ERROR"));
        assert!(!matches("ERROR timeout", "ERROR failed"));
    }

    #[test]
    fn quoted_phrases_match_exactly_with_escapes() {
        assert!(matches("\"Request completed\"", "INFO Request completed duration=3"));
        assert!(!matches("\"Request completed\"", "Request was completed"));
        assert!(matches(r#""say \"hi\"""#, r#"they say "hi" loudly"#));
        assert!(FilterPattern::parse("\"open").is_err());
    }

    #[test]
    fn alternatives_and_exclusions() {
        assert!(matches("?ERROR ?WARN", "WARN disk"));
        assert!(!matches("?ERROR ?WARN", "INFO disk"));
        assert!(matches("ERROR -timeout", "ERROR failed"));
        assert!(!matches("ERROR -timeout", "ERROR timeout"));
    }

    #[test]
    fn empty_and_blank_patterns_match_everything() {
        for pattern in ["", " ", "\" \""] {
            let parsed = FilterPattern::parse(pattern).expect("valid");
            assert!(parsed.is_match_all());
            assert!(parsed.matches("anything"));
        }
    }

    #[test]
    fn structured_patterns_are_refused_not_mismatched() {
        for pattern in ["{ $.level = \"ERROR\" }", "[ip, user]", "%ERR.*%"] {
            assert!(matches!(FilterPattern::parse(pattern), Err(PatternError::Unsupported(_))), "{pattern}");
        }
    }
}
