//! The shape of a policy: keys ANDed together, `$or` groups, nested objects
//! (body scope), and the limits SNS puts on that shape.
//!
//! Parsing runs in two passes over the JSON, so that the errors come in
//! SNS's order: first the structure (every value an object or a non-empty
//! array), then the key count and the complexity, and only then the match
//! values themselves.

use serde_json::{Map, Value};

use super::Scope;
use super::condition::{self, Candidate, Condition};
use super::error::PolicyError;

/// "A filter policy can have a maximum of five keys."
pub const MAX_KEYS: usize = 5;

/// "The total combination of values must not exceed 150."
pub const MAX_COMBINATIONS: u64 = 150;

/// The words that make an object a match expression; an `$or` whose
/// alternatives use one of them as a field name is not an `$or`.
const OPERATORS: [&str; 7] = [
    "anything-but",
    "cidr",
    "equals-ignore-case",
    "exists",
    "numeric",
    "prefix",
    "suffix",
];

/// Terms that must all hold.
#[derive(Debug, Clone, Default)]
pub(super) struct AllOf {
    pub(super) terms: Vec<Term>,
}

#[derive(Debug, Clone)]
pub(super) enum Term {
    Key(KeyRule),
    /// An `$or`: at least one alternative holds.
    AnyOf(Vec<AllOf>),
}

/// One key of the policy and its value array (alternatives).
#[derive(Debug, Clone)]
pub(super) struct KeyRule {
    /// The attribute name, or the body property's path joined with dots.
    pub(super) name: String,
    /// Body scope: the path's segments. Dots inside a policy key separate
    /// segments too (`{"a.b": …}` is `{"a": {"b": …}}`), as SNS does.
    pub(super) path: Vec<String>,
    pub(super) conditions: Vec<Condition>,
}

impl AllOf {
    /// Whether every term holds, deciding single keys with `key_holds`.
    pub(super) fn holds(&self, key_holds: &dyn Fn(&KeyRule) -> bool) -> bool {
        self.terms.iter().all(|term| match term {
            Term::Key(rule) => key_holds(rule),
            Term::AnyOf(alternatives) => alternatives
                .iter()
                .any(|alternative| alternative.holds(key_holds)),
        })
    }
}

impl KeyRule {
    /// Whether the key's values (every scalar found at the key, arrays
    /// flattened) satisfy one of the key's conditions.
    ///
    /// `exists: true` wants a non-null value ("the key must have a non-null
    /// and non-empty value"); `exists: false` is its exact opposite, so a key
    /// that is absent, null, or an empty array does not exist.
    pub(super) fn accepts(&self, values: &[Candidate<'_>]) -> bool {
        let exists = values.iter().any(|value| *value != Candidate::Null);
        self.conditions.iter().any(|condition| match condition {
            Condition::Exists(wanted) => *wanted == exists,
            other => values.iter().any(|value| other.accepts(*value)),
        })
    }
}

/// The alternatives of an `$or`, if `key`/`value` is one. SNS only reads
/// `"$or"` as an operator when its value is an array of at least two
/// objects none of which has an operator as a field name; otherwise `$or` is
/// an ordinary key.
fn or_alternatives<'v>(key: &str, value: &'v Value) -> Option<Vec<&'v Map<String, Value>>> {
    if key != "$or" {
        return None;
    }
    let items = value.as_array()?;
    if items.len() < 2 {
        return None;
    }
    let mut alternatives = Vec::with_capacity(items.len());
    for item in items {
        let object = item.as_object()?;
        if object
            .keys()
            .any(|field| OPERATORS.contains(&field.as_str()))
        {
            return None;
        }
        alternatives.push(object);
    }
    Some(alternatives)
}

/// What the limits are computed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Shape {
    /// The most keys any one way of satisfying the policy needs: keys of
    /// the same conjunction add up, the alternatives of an `$or` do not.
    pub(super) keys: usize,
    pub(super) combinations: u64,
}

/// Checks the structure and measures it.
///
/// Combinations follow SNS's documentation: the product of the value
/// arrays' lengths, each multiplied by the depth of its key in a nested
/// (body) policy ("four values in a three-level nested key" count 3 × 4);
/// an `$or` contributes the sum of its alternatives' combinations (its
/// example `source && (metricName || metricType && (metricId || spaces))`
/// with 1, 2, 1, 2 and 3 values counts 1×2 + 1×1×2 + 1×1×3 = 7).
///
/// Keys: SNS counts the keys that carry value arrays, nested or not, and
/// not the objects above them. How `$or` counts is not documented; here each
/// alternative is a separate way to match, and the limit applies to the
/// largest of them.
pub(super) fn measure(
    object: &Map<String, Value>,
    scope: Scope,
    depth: u64,
) -> Result<Shape, PolicyError> {
    let mut keys = 0usize;
    let mut combinations = 1u64;
    for (key, value) in object {
        if let Some(alternatives) = or_alternatives(key, value) {
            let mut most_keys = 0usize;
            let mut sum = 0u64;
            for alternative in alternatives {
                let shape = measure(alternative, scope, depth)?;
                most_keys = most_keys.max(shape.keys);
                sum = sum.saturating_add(shape.combinations);
            }
            keys = keys.saturating_add(most_keys);
            combinations = combinations.saturating_mul(sum);
            continue;
        }
        match value {
            Value::Array(values) => {
                if values.is_empty() {
                    return Err(PolicyError::policy("Empty arrays are not allowed"));
                }
                let count = u64::try_from(values.len()).unwrap_or(u64::MAX);
                keys = keys.saturating_add(1);
                combinations = combinations.saturating_mul(count.saturating_mul(depth));
            }
            Value::Object(child) => {
                if scope == Scope::MessageAttributes {
                    return Err(PolicyError::nested_in_attribute_scope());
                }
                let shape = measure(child, scope, depth.saturating_add(1))?;
                keys = keys.saturating_add(shape.keys);
                combinations = combinations.saturating_mul(shape.combinations);
            }
            _ => {
                return Err(PolicyError::policy(format!(
                    "\"{key}\" must be an object or an array"
                )));
            }
        }
    }
    Ok(Shape { keys, combinations })
}

/// Builds the rule tree of an object whose structure `measure` accepted.
pub(super) fn build(
    object: &Map<String, Value>,
    scope: Scope,
    prefix: &[String],
) -> Result<AllOf, PolicyError> {
    let mut terms = Vec::with_capacity(object.len());
    for (key, value) in object {
        if let Some(alternatives) = or_alternatives(key, value) {
            let mut branches = Vec::with_capacity(alternatives.len());
            for alternative in alternatives {
                branches.push(build(alternative, scope, prefix)?);
            }
            terms.push(Term::AnyOf(branches));
            continue;
        }
        let mut path = prefix.to_vec();
        match scope {
            Scope::MessageAttributes => path.push(key.clone()),
            Scope::MessageBody => path.extend(key.split('.').map(str::to_string)),
        }
        match value {
            Value::Array(entries) => {
                let mut conditions = Vec::with_capacity(entries.len());
                for entry in entries {
                    conditions.push(condition::parse(entry)?);
                }
                terms.push(Term::Key(KeyRule {
                    name: path.join("."),
                    path,
                    conditions,
                }));
            }
            Value::Object(child) => {
                let nested = build(child, scope, &path)?;
                terms.extend(nested.terms);
            }
            // `measure` refused these already; kept as an error, not a panic.
            _ => {
                return Err(PolicyError::policy(format!(
                    "\"{key}\" must be an object or an array"
                )));
            }
        }
    }
    Ok(AllOf { terms })
}
