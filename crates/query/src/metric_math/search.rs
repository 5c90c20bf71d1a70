//! The search string of `SEARCH('{Namespace,Dim1} term …', 'Statistic', Period)`:
//! a parser and a matcher the caller runs over its metric index.
//!
//! Spec: "CloudWatch search expression syntax"
//! (<https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/search-expression-syntax.html>)
//! and its examples page. The rules, with where the docs leave room:
//!
//! * **Schema** `{Namespace, DimName, …}` (optional, at most one, at the
//!   start; names with blanks or symbols in double quotes; a comma may follow
//!   the `}`): a metric matches when its namespace equals the schema's and
//!   its set of dimension names is *exactly* the schema's (the examples:
//!   `{AWS/EC2}` alone yields the one dimensionless aggregate).
//! * **Terms**, separated by blanks, implicitly ANDed; `AND`, `OR`, `NOT`
//!   (uppercase only, as AWS requires) and parentheses; NOT binds tighter
//!   than AND, AND tighter than OR.
//! * **Exact match** `"CPUUtilization"`: equal, case-sensitively, to the
//!   namespace, the metric name, a dimension name or a dimension value. `\"`,
//!   `\\`, `\(` and `\)` escape those characters.
//! * **Partial match** `cpu`: token matching (below) against the same four.
//! * **Property designators** `MetricName=…`, `Namespace=…`, and any other
//!   `DimName=…` restrict a term to the metric name, the namespace, or the
//!   value of that dimension; the value may be partial or `"exact"`.
//! * **Tokens** (AWS's tokenization table): a name splits at non-
//!   alphanumeric characters, at lower→upper case changes, between letters
//!   and digits, and before the last capital of a capital run followed by a
//!   lowercase letter (`SDBFailure` → `SDB`, `Failure`). A term part that is
//!   one token matches one token case-insensitively (`count`, `COUNT` find
//!   `CustomCount1`); a part that is several tokens (`CustomCount`,
//!   `couNT`) must equal consecutive tokens case-sensitively (so `couNT` and
//!   `count1` find nothing); parts separated by symbols (`network/errors`)
//!   match consecutive tokens; the whole name with symbols removed,
//!   lowercased (`customcount1`), is a token too.
//!
//! Not supported: cross-account searches (`SEARCH(…, …, …, 'account')`
//! does not exist in the expression syntax and is refused as extra
//! arguments), Metrics Insights `SELECT` queries.

use super::error::{MAX_SEARCH_CHARS, MathError};
use super::value::MetricIdentity;

/// A parsed search string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchQuery {
    /// The text as written.
    pub text: String,
    pub schema: Option<Schema>,
    term: Option<Term>,
}

/// The `{Namespace, DimName, …}` part of a search.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schema {
    pub namespace: String,
    pub dimension_names: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Term {
    And(Vec<Term>),
    Or(Vec<Term>),
    Not(Box<Term>),
    Match { property: Property, text: String, exact: bool },
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Property {
    /// No designator: namespace, metric name, dimension names and values.
    Any,
    MetricName,
    Namespace,
    Dimension(String),
}

impl SearchQuery {
    /// Parses a search string. `offset` is the 1-based position in the whole
    /// expression of the string's first character, so errors point into the
    /// expression; use 1 for a standalone search string.
    pub fn parse(text: &str, offset: usize) -> Result<SearchQuery, MathError> {
        let length = text.chars().count();
        if length > MAX_SEARCH_CHARS {
            return Err(MathError::search(offset, format!("the search string is {length} characters long; the maximum is {MAX_SEARCH_CHARS}")));
        }
        let chars: Vec<char> = text.chars().collect();
        let mut parser = SearchParser { chars, index: 0, offset, depth: 0 };
        parser.skip_blanks();
        let schema = if parser.peek() == Some('{') { Some(parser.schema()?) } else { None };
        parser.skip_blanks();
        let term = if parser.peek().is_some() { Some(parser.or()?) } else { None };
        if let Some(c) = parser.peek() {
            let problem = if c == ')' { "unexpected `)` with no matching `(`".to_string() } else { format!("unexpected `{c}`") };
            return Err(parser.error_here(problem));
        }
        if schema.is_none() && term.is_none() {
            return Err(MathError::search(offset, "a search needs a metric schema such as {AWS/EC2,InstanceId}, a search term, or both"));
        }
        Ok(SearchQuery { text: text.to_string(), schema, term })
    }

    /// Whether a stored metric is found by this search.
    pub fn matches(&self, metric: &MetricIdentity<'_>) -> bool {
        if self.schema.as_ref().is_some_and(|schema| !schema.matches(metric)) {
            return false;
        }
        self.term.as_ref().is_none_or(|term| term.matches(metric))
    }
}

impl Schema {
    fn matches(&self, metric: &MetricIdentity<'_>) -> bool {
        if metric.namespace != self.namespace || metric.dimensions.len() != self.dimension_names.len() {
            return false;
        }
        self.dimension_names.iter().all(|wanted| metric.dimensions.iter().any(|(name, _)| name == wanted))
    }
}

impl Term {
    fn matches(&self, metric: &MetricIdentity<'_>) -> bool {
        match self {
            Term::And(terms) => terms.iter().all(|term| term.matches(metric)),
            Term::Or(terms) => terms.iter().any(|term| term.matches(metric)),
            Term::Not(term) => !term.matches(metric),
            Term::Match { property, text, exact } => {
                let found = |candidate: &str| if *exact { candidate == text } else { partial_match(text, candidate) };
                match property {
                    Property::Any => {
                        found(metric.namespace)
                            || found(metric.metric_name)
                            || metric.dimensions.iter().any(|(name, value)| found(name) || found(value))
                    }
                    Property::MetricName => found(metric.metric_name),
                    Property::Namespace => found(metric.namespace),
                    Property::Dimension(wanted) => metric.dimensions.iter().any(|(name, value)| name == wanted && found(value)),
                }
            }
        }
    }
}

/// AWS's tokens of a name, in their original case.
fn tokens(text: &str) -> Vec<String> {
    let mut tokens = Vec::new();
    let mut current = String::new();
    let chars: Vec<char> = text.chars().collect();
    for (index, &c) in chars.iter().enumerate() {
        if !c.is_alphanumeric() {
            if !current.is_empty() {
                tokens.push(std::mem::take(&mut current));
            }
            continue;
        }
        if let Some(&previous) = index.checked_sub(1).and_then(|before| chars.get(before)) {
            let next = chars.get(index + 1).copied();
            let boundary = previous.is_alphanumeric()
                && ((previous.is_lowercase() && c.is_uppercase())
                    || (previous.is_numeric() != c.is_numeric())
                    || (previous.is_uppercase() && c.is_uppercase() && next.is_some_and(char::is_lowercase)));
            if boundary && !current.is_empty() {
                tokens.push(std::mem::take(&mut current));
            }
        }
        current.push(c);
    }
    if !current.is_empty() {
        tokens.push(current);
    }
    tokens
}

/// The whole name with symbols removed, lowercased: AWS's first token.
fn whole_token(text: &str) -> String {
    text.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect()
}

/// Whether the partial-match term `term` finds the name `candidate`.
fn partial_match(term: &str, candidate: &str) -> bool {
    let whole = whole_token(term);
    if whole.is_empty() {
        return false;
    }
    if whole == whole_token(candidate) {
        return true;
    }
    let parts: Vec<&str> = term.split(|c: char| !c.is_alphanumeric()).filter(|part| !part.is_empty()).collect();
    let targets = tokens(candidate);
    (0..targets.len()).any(|start| parts_match_from(&parts, &targets, start))
}

/// Whether `parts` match consecutive tokens of `targets` starting at `start`.
fn parts_match_from(parts: &[&str], targets: &[String], start: usize) -> bool {
    let Some((part, rest)) = parts.split_first() else {
        return true;
    };
    let part_tokens = tokens(part);
    if part_tokens.len() == 1 {
        // One token: matches one token, whatever the case.
        return targets.get(start).is_some_and(|target| target.to_lowercase() == part.to_lowercase()) && parts_match_from(rest, targets, start + 1);
    }
    // A composite: consecutive tokens, exactly as written.
    let mut joined = String::new();
    for (end, target) in targets.iter().enumerate().skip(start) {
        joined.push_str(target);
        if joined.len() > part.len() || !part.starts_with(joined.as_str()) {
            return false;
        }
        if joined.len() == part.len() {
            return parts_match_from(rest, targets, end + 1);
        }
    }
    false
}

struct SearchParser {
    chars: Vec<char>,
    index: usize,
    offset: usize,
    depth: usize,
}

impl SearchParser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.index).copied()
    }

    fn error_here(&self, problem: impl Into<String>) -> MathError {
        MathError::search(self.offset + self.index, problem)
    }

    fn skip_blanks(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.index += 1;
        }
    }

    fn schema(&mut self) -> Result<Schema, MathError> {
        let opened_at = self.index;
        self.index += 1; // `{`
        let mut names = Vec::new();
        loop {
            self.skip_blanks();
            let name = match self.peek() {
                Some('"') => self.quoted()?,
                Some('}') if names.is_empty() => return Err(self.error_here("the metric schema needs a namespace: {Namespace, DimensionName, …}")),
                Some(_) => {
                    let start = self.index;
                    while self.peek().is_some_and(|c| c != ',' && c != '}' && c != '"') {
                        self.index += 1;
                    }
                    let name: String = self.chars.iter().skip(start).take(self.index - start).collect::<String>().trim().to_string();
                    if name.is_empty() {
                        return Err(self.error_here("a name is missing in the metric schema"));
                    }
                    name
                }
                None => return Err(MathError::search(self.offset + opened_at, "the `{` of the metric schema is not closed; add `}`")),
            };
            names.push(name);
            self.skip_blanks();
            match self.peek() {
                Some(',') => self.index += 1,
                Some('}') => {
                    self.index += 1;
                    break;
                }
                Some(c) => return Err(self.error_here(format!("unexpected `{c}` in the metric schema; quote names that hold blanks or symbols"))),
                None => return Err(MathError::search(self.offset + opened_at, "the `{` of the metric schema is not closed; add `}`")),
            }
        }
        self.skip_blanks();
        if self.peek() == Some(',') {
            self.index += 1;
        }
        let mut names = names.into_iter();
        let namespace = names.next().unwrap_or_default();
        Ok(Schema { namespace, dimension_names: names.collect() })
    }

    /// A `"…"` string at the cursor, unescaped.
    fn quoted(&mut self) -> Result<String, MathError> {
        let opened_at = self.index;
        self.index += 1;
        let mut text = String::new();
        loop {
            match self.peek() {
                None => return Err(MathError::search(self.offset + opened_at, "the quoted term starting here is not closed; add `\"`")),
                Some('"') => {
                    self.index += 1;
                    return Ok(text);
                }
                Some('\\') => {
                    let escaped = self.chars.get(self.index + 1).copied();
                    match escaped {
                        Some(c @ ('"' | '\\' | '(' | ')')) => {
                            text.push(c);
                            self.index += 2;
                        }
                        _ => {
                            text.push('\\');
                            self.index += 1;
                        }
                    }
                }
                Some(c) => {
                    text.push(c);
                    self.index += 1;
                }
            }
        }
    }

    fn keyword_here(&self, keyword: &str) -> bool {
        let matches_word = keyword.chars().enumerate().all(|(at, c)| self.chars.get(self.index + at) == Some(&c));
        let after = self.chars.get(self.index + keyword.len()).copied();
        matches_word && after.is_none_or(|c| c.is_whitespace() || c == '(' || c == '"')
    }

    fn or(&mut self) -> Result<Term, MathError> {
        let mut terms = vec![self.and()?];
        loop {
            self.skip_blanks();
            if !self.keyword_here("OR") {
                break;
            }
            self.index += 2;
            terms.push(self.and()?);
        }
        Ok(if terms.len() == 1 { terms.pop().unwrap_or(Term::And(Vec::new())) } else { Term::Or(terms) })
    }

    fn and(&mut self) -> Result<Term, MathError> {
        let mut terms = vec![self.not()?];
        loop {
            self.skip_blanks();
            match self.peek() {
                None | Some(')') => break,
                _ if self.keyword_here("OR") => break,
                _ if self.keyword_here("AND") => {
                    self.index += 3;
                }
                _ => {}
            }
            terms.push(self.not()?);
        }
        Ok(if terms.len() == 1 { terms.pop().unwrap_or(Term::And(Vec::new())) } else { Term::And(terms) })
    }

    fn not(&mut self) -> Result<Term, MathError> {
        self.skip_blanks();
        if self.keyword_here("NOT") {
            self.index += 3;
            self.enter()?;
            let inner = self.not()?;
            self.depth -= 1;
            return Ok(Term::Not(Box::new(inner)));
        }
        self.atom()
    }

    fn enter(&mut self) -> Result<(), MathError> {
        self.depth += 1;
        if self.depth > super::error::MAX_NESTING {
            return Err(self.error_here("the search nests too deep"));
        }
        Ok(())
    }

    fn atom(&mut self) -> Result<Term, MathError> {
        self.skip_blanks();
        match self.peek() {
            None => Err(self.error_here("the search ends where a term is expected")),
            Some('(') => {
                let opened_at = self.index;
                self.index += 1;
                self.enter()?;
                self.skip_blanks();
                if self.peek() == Some(')') {
                    return Err(self.error_here("empty parentheses in the search"));
                }
                let inner = self.or()?;
                self.depth -= 1;
                self.skip_blanks();
                if self.peek() != Some(')') {
                    return Err(MathError::search(self.offset + opened_at, "the `(` is not closed; add `)`"));
                }
                self.index += 1;
                Ok(inner)
            }
            Some(')') => Err(self.error_here("unexpected `)` where a term is expected")),
            Some('"') => Ok(Term::Match { property: Property::Any, text: self.quoted()?, exact: true }),
            Some('{') => Err(self.error_here("the metric schema {…} must come first, and only once")),
            Some(_) if self.keyword_here("AND") || self.keyword_here("OR") => Err(self.error_here("AND and OR need a term on each side")),
            Some(_) => self.word(),
        }
    }

    /// A bare term, or `Name=value` / `Name="value"`.
    fn word(&mut self) -> Result<Term, MathError> {
        let start = self.index;
        while self.peek().is_some_and(|c| !c.is_whitespace() && c != '(' && c != ')' && c != '"' && c != '=') {
            self.index += 1;
        }
        let word: String = self.chars.iter().skip(start).take(self.index - start).collect();
        if self.peek() != Some('=') {
            return Ok(Term::Match { property: Property::Any, text: word, exact: false });
        }
        if word.is_empty() {
            return Err(self.error_here("`=` needs a property name on its left, such as MetricName=\"CPUUtilization\""));
        }
        self.index += 1; // `=`
        let property = match word.as_str() {
            "MetricName" => Property::MetricName,
            "Namespace" => Property::Namespace,
            _ => Property::Dimension(word),
        };
        if self.peek() == Some('"') {
            return Ok(Term::Match { property, text: self.quoted()?, exact: true });
        }
        let value_start = self.index;
        while self.peek().is_some_and(|c| !c.is_whitespace() && c != '(' && c != ')' && c != '"') {
            self.index += 1;
        }
        let value: String = self.chars.iter().skip(value_start).take(self.index - value_start).collect();
        if value.is_empty() {
            return Err(self.error_here("a value is missing after `=`"));
        }
        Ok(Term::Match { property, text: value, exact: false })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_follow_the_aws_table() {
        assert_eq!(tokens("CustomCount1"), ["Custom", "Count", "1"]);
        assert_eq!(tokens("SDBFailure"), ["SDB", "Failure"]);
        assert_eq!(tokens("Project2-trial333"), ["Project", "2", "trial", "333"]);
        assert_eq!(tokens("Network-Errors_2"), ["Network", "Errors", "2"]);
        assert_eq!(whole_token("Project2-trial333"), "project2trial333");
    }

    #[test]
    fn partial_matches_from_the_docs() {
        for term in ["count", "Count", "COUNT", "CustomCount", "Count1", "customcount1", "1"] {
            assert!(partial_match(term, "CustomCount1"), "{term} finds CustomCount1");
        }
        for term in ["couNT", "customcount", "count1", "Custom1"] {
            assert!(!partial_match(term, "CustomCount1"), "{term} does not find CustomCount1");
        }
        for term in ["network/errors", "network+errors", "network-errors", "Network_Errors"] {
            assert!(partial_match(term, "Network-Errors-2"), "{term}");
            assert!(partial_match(term, "NetworkErrors2"), "{term}");
        }
        assert!(partial_match("project2trial333", "Project2-trial333"));
    }
}
