//! JSON property selectors: `$.eventType`, `$.users[0].id`,
//! `$.coordinates[0][1]`, `$.detail-type`, `$['cluster.name']`, and the
//! wildcards `$.*` / `$.items[*]` (any member / any element).
//!
//! AWS: "Property selectors always start with dollar sign ($) … are
//! alphanumeric strings that also support '-' and '_' characters. Array
//! elements are denoted with [NUMBER] syntax, and must follow a property."
//! A selector may hold at most one wildcard and a pattern at most three
//! (CloudWatch's quotas for wildcard selectors); a wildcard selector holds for
//! an event when *any* value it reaches satisfies the condition.

use super::error::PatternError;

pub(crate) const MAX_WILDCARDS_PER_SELECTOR: usize = 1;
pub(crate) const MAX_WILDCARDS_PER_PATTERN: usize = 3;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Step {
    Key(String),
    Index(usize),
    /// `.*` or `[*]`: every member of an object or element of an array.
    Any,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Selector {
    pub(crate) text: String,
    pub(crate) steps: Vec<Step>,
}

impl Selector {
    /// Parses a selector whose characters the lexer already checked (or any
    /// text a caller hands to `Captures::value`; then `None` when malformed).
    pub(crate) fn parse(text: &str) -> Option<Selector> {
        let rest = text.strip_prefix('$')?;
        let chars: Vec<char> = rest.chars().collect();
        let mut steps = Vec::new();
        let mut at = 0;
        while at < chars.len() {
            match chars.get(at) {
                Some('.') => {
                    at += 1;
                    if chars.get(at) == Some(&'[') {
                        continue;
                    }
                    if chars.get(at) == Some(&'*') {
                        steps.push(Step::Any);
                        at += 1;
                        continue;
                    }
                    let start = at;
                    while chars.get(at).is_some_and(|&c| c.is_alphanumeric() || matches!(c, '_' | '-')) {
                        at += 1;
                    }
                    if at == start {
                        return None;
                    }
                    steps.push(Step::Key(chars.get(start..at)?.iter().collect()));
                }
                Some('[') => {
                    at += 1;
                    match chars.get(at)? {
                        '*' => {
                            steps.push(Step::Any);
                            at += 1;
                        }
                        &quote @ ('\'' | '"') => {
                            let start = at + 1;
                            let length = chars.get(start..)?.iter().position(|&c| c == quote)?;
                            steps.push(Step::Key(chars.get(start..start + length)?.iter().collect()));
                            at = start + length + 1;
                        }
                        _ => {
                            let start = at;
                            while chars.get(at).is_some_and(char::is_ascii_digit) {
                                at += 1;
                            }
                            let digits: String = chars.get(start..at)?.iter().collect();
                            if steps.is_empty() {
                                return None;
                            }
                            steps.push(Step::Index(digits.parse().ok()?));
                        }
                    }
                    if chars.get(at) != Some(&']') {
                        return None;
                    }
                    at += 1;
                }
                _ => return None,
            }
        }
        if steps.is_empty() {
            return None;
        }
        Some(Selector { text: text.to_string(), steps })
    }

    pub(crate) fn wildcards(&self) -> usize {
        self.steps.iter().filter(|step| **step == Step::Any).count()
    }

    pub(crate) fn has_wildcard(&self) -> bool {
        self.wildcards() > 0
    }
}

/// Parses a selector token from a pattern, enforcing the wildcard quota per selector.
pub(crate) fn parse_in_pattern(text: &str, position: usize) -> Result<Selector, PatternError> {
    let Some(selector) = Selector::parse(text) else {
        return Err(PatternError::syntax(position, format!("`{text}` is not a valid selector; write it like `$.user.id` or `$.items[0]`")));
    };
    if let Some(Step::Index(index)) = selector.steps.first() {
        return Err(PatternError::syntax(position, format!("the array index [{index}] must follow a property, as in `$.items[{index}]`")));
    }
    if selector.wildcards() > MAX_WILDCARDS_PER_SELECTOR {
        return Err(PatternError::syntax(position, format!("`{text}` has {} wildcards; a selector may use at most one", selector.wildcards())));
    }
    Ok(selector)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps() {
        let selector = Selector::parse("$.coordinates[0][1]").expect("valid");
        assert_eq!(selector.steps, vec![Step::Key("coordinates".into()), Step::Index(0), Step::Index(1)]);
        let selector = Selector::parse("$['cluster.name'].x").expect("valid");
        assert_eq!(selector.steps, vec![Step::Key("cluster.name".into()), Step::Key("x".into())]);
        let selector = Selector::parse("$.items[*].id").expect("valid");
        assert_eq!(selector.steps, vec![Step::Key("items".into()), Step::Any, Step::Key("id".into())]);
        assert_eq!(Selector::parse("$.detail-type").expect("valid").steps, vec![Step::Key("detail-type".into())]);
        for bad in ["", "$", "$.", "$[0]", "$.a[", "$.a[x]", "latency", "$.a b"] {
            assert!(Selector::parse(bad).is_none(), "{bad}");
        }
    }
}
