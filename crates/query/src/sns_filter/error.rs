//! Why a filter policy was refused.
//!
//! SNS answers a bad `FilterPolicy` with `InvalidParameter` and a message of
//! the form `Invalid parameter: FilterPolicy: <reason>`. Where SNS's own
//! reason is known (recorded by emulators that replay their tests against
//! AWS) it is reused word for word, AWS's capitals and the odd trailing
//! period included, because SDK users match on it; the other reasons are ours
//! and are marked where they are raised.

use argus_core::error::ErrorCode;

/// A filter policy SNS would refuse.
///
/// `Display` gives the message `SetSubscriptionAttributes` returns;
/// [`PolicyError::subscribe_message`] the one `Subscribe` returns (SNS adds
/// `Attributes Reason:` there).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Invalid parameter: {tail}")]
pub struct PolicyError {
    /// Everything after `Invalid parameter: `, e.g.
    /// `FilterPolicy: Filter policy is too complex`.
    tail: String,
}

impl PolicyError {
    /// A reason about the policy itself: `FilterPolicy: <reason>`.
    pub(crate) fn policy(reason: impl Into<String>) -> PolicyError {
        PolicyError {
            tail: format!("FilterPolicy: {}", reason.into()),
        }
    }

    /// SNS words this one without the `FilterPolicy:` label.
    pub(crate) fn nested_in_attribute_scope() -> PolicyError {
        PolicyError {
            tail: "Filter policy scope MessageAttributes does not support nested filter policy"
                .to_string(),
        }
    }

    /// The reason alone, without `Invalid parameter: FilterPolicy: `.
    pub fn reason(&self) -> &str {
        self.tail
            .strip_prefix("FilterPolicy: ")
            .unwrap_or(&self.tail)
    }

    /// The message as `Subscribe` words it:
    /// `Invalid parameter: Attributes Reason: FilterPolicy: <reason>`.
    pub fn subscribe_message(&self) -> String {
        format!("Invalid parameter: Attributes Reason: {}", self.tail)
    }

    /// The AWS error every refused policy maps to (`InvalidParameter`, 400).
    pub fn code(&self) -> ErrorCode {
        ErrorCode::SnsInvalidParameter
    }
}
