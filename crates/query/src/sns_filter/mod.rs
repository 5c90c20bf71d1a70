//! Amazon SNS subscription filter policies: which published messages a
//! subscription receives.
//!
//! Spec: the SNS developer guide, "Amazon SNS message filtering"
//! (<https://docs.aws.amazon.com/sns/latest/dg/sns-message-filtering.html>)
//! with its pages on filter policy constraints, AND/OR logic, key matching,
//! numeric and string value matching. A policy is a JSON object; each key
//! names a message attribute (scope `MessageAttributes`, the default) or a
//! property of the JSON message body (scope `MessageBody`, where objects
//! nest) and holds an array of alternatives:
//!
//! | entry | matches a value that… |
//! |---|---|
//! | `"text"`, `12.5`, `true`, `null` | equals it (typed: `"12.5"` is not `12.5`) |
//! | `{"prefix": "a"}` / `{"suffix": "z"}` | is a string starting / ending so |
//! | `{"equals-ignore-case": "Ab"}` | is that string in any case |
//! | `{"anything-but": x}` | is none of x (a value or a list); `{"anything-but": {"prefix": "a"}}` |
//! | `{"numeric": ["=", 5]}`, `[">", 0, "<=", 150]` | is a number in the range |
//! | `{"cidr": "10.0.0.0/24"}` | is an IPv4/IPv6 address in the block |
//! | `{"exists": true}` / `false` | (per key) the key has a non-null value / has none |
//!
//! Keys are ANDed, array entries ORed, `"$or": [{…}, {…}]` ORs groups of
//! keys. A key absent from the message satisfies only `{"exists": false}`.
//! Arrays in the message (`String.Array` attributes, arrays in the body) match
//! when any element does. Numbers compare with five decimal places.
//!
//! `parse` enforces the documented constraints: a JSON object of at most
//! 256 KB, value arrays non-empty, at most 5 keys, at most 150 combinations,
//! policy numbers within ±10⁹, operators well formed — with SNS's error
//! wording (see `error.rs`). The decisions where the guide is silent or
//! contradicts itself are listed in `README.md` beside this file.
//!
//! Nothing here does I/O, and no policy or message makes it panic.

mod condition;
mod error;
mod message;
mod policy;

pub use condition::NUMERIC_LIMIT;
pub use error::PolicyError;
pub use message::Attribute;
pub use policy::{MAX_COMBINATIONS, MAX_KEYS};

use serde_json::Value;

use policy::AllOf;

/// "The maximum size of a filter policy is 256 KB."
pub const MAX_POLICY_BYTES: usize = 256 * 1024;

/// What a subscription's policy is matched against (its `FilterPolicyScope`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Scope {
    #[default]
    MessageAttributes,
    MessageBody,
}

impl Scope {
    /// Reads a `FilterPolicyScope` attribute value.
    pub fn from_name(name: &str) -> Option<Scope> {
        match name {
            "MessageAttributes" => Some(Scope::MessageAttributes),
            "MessageBody" => Some(Scope::MessageBody),
            _ => None,
        }
    }

    /// The `FilterPolicyScope` attribute value.
    pub fn name(self) -> &'static str {
        match self {
            Scope::MessageAttributes => "MessageAttributes",
            Scope::MessageBody => "MessageBody",
        }
    }
}

/// A parsed, validated filter policy.
#[derive(Debug, Clone)]
pub struct FilterPolicy {
    scope: Scope,
    root: AllOf,
    keys: usize,
    combinations: u64,
}

/// Parses and validates a `FilterPolicy` attribute for `scope`.
pub fn parse(policy_json: &str, scope: Scope) -> Result<FilterPolicy, PolicyError> {
    if policy_json.len() > MAX_POLICY_BYTES {
        // Ours: SNS's wording for an oversized policy is not recorded.
        return Err(PolicyError::policy(format!(
            "Filter policy is too large: {} bytes, the maximum is {MAX_POLICY_BYTES}",
            policy_json.len()
        )));
    }
    // serde_json refuses nesting deeper than 128 levels, which also bounds
    // the recursion below.
    let document: Value = serde_json::from_str(policy_json)
        .map_err(|error| PolicyError::policy(format!("failed to parse JSON: {error}")))?;
    let Value::Object(object) = &document else {
        // Ours.
        return Err(PolicyError::policy("Filter policy must be a JSON object"));
    };

    let shape = policy::measure(object, scope, 1)?;
    if shape.keys > MAX_KEYS {
        return Err(PolicyError::policy(format!(
            "Filter policy can not have more than {MAX_KEYS} keys"
        )));
    }
    if shape.combinations > MAX_COMBINATIONS {
        return Err(PolicyError::policy("Filter policy is too complex"));
    }
    let root = policy::build(object, scope, &[])?;
    Ok(FilterPolicy {
        scope,
        root,
        keys: shape.keys,
        combinations: shape.combinations,
    })
}

impl FilterPolicy {
    pub fn scope(&self) -> Scope {
        self.scope
    }

    /// `{}`: no condition, every message passes.
    pub fn is_empty(&self) -> bool {
        self.root.terms.is_empty()
    }

    /// The key count the 5-key limit was checked against.
    pub fn key_count(&self) -> usize {
        self.keys
    }

    /// The combination count the limit of 150 was checked against.
    pub fn combinations(&self) -> u64 {
        self.combinations
    }

    /// MessageAttributes scope: matches the attributes `lookup` returns by
    /// name (`None` for an attribute the message lacks). The attributes may
    /// borrow from anything that outlives the call (`'a`), e.g. the map the
    /// closure looks names up in.
    ///
    /// A lookup cannot tell that a message has no attributes at all, so this
    /// does not apply SNS's rule that such a message fails every non-empty
    /// policy, `{"exists": false}` included; [`FilterPolicy::matches_attribute_list`]
    /// does.
    pub fn matches_attributes<'a>(&self, lookup: &dyn Fn(&str) -> Option<Attribute<'a>>) -> bool {
        self.root
            .holds(&|rule| message::attribute_key_holds(rule, lookup(&rule.name)))
    }

    /// MessageAttributes scope, given all of the message's attributes as
    /// (name, attribute) pairs. A message without attributes (`Binary` ones
    /// do not count) passes only the empty policy: "`exists: false` only
    /// matches if at least one attribute is present".
    pub fn matches_attribute_list(&self, attributes: &[(&str, Attribute<'_>)]) -> bool {
        if self.is_empty() {
            return true;
        }
        if !attributes
            .iter()
            .any(|(_, attribute)| message::is_compared(attribute))
        {
            return false;
        }
        let lookup = |name: &str| {
            attributes
                .iter()
                .find(|(attribute_name, _)| *attribute_name == name)
                .map(|(_, attribute)| *attribute)
        };
        self.matches_attributes(&lookup)
    }

    /// MessageBody scope: matches the body parsed as JSON. A body that is
    /// not a JSON object passes only the empty policy.
    pub fn matches_body(&self, body: &Value) -> bool {
        if self.is_empty() {
            return true;
        }
        if !body.is_object() {
            return false;
        }
        self.root.holds(&|rule| message::body_key_holds(rule, body))
    }

    /// MessageBody scope, from the body's text: a body that is not JSON
    /// passes only the empty policy.
    pub fn matches_body_text(&self, body: &str) -> bool {
        if self.is_empty() {
            return true;
        }
        serde_json::from_str::<Value>(body).is_ok_and(|parsed| self.matches_body(&parsed))
    }

    /// Matches a published message in this policy's scope.
    pub fn matches(&self, attributes: &[(&str, Attribute<'_>)], body: &str) -> bool {
        match self.scope {
            Scope::MessageAttributes => self.matches_attribute_list(attributes),
            Scope::MessageBody => self.matches_body_text(body),
        }
    }
}

#[cfg(test)]
mod tests;
