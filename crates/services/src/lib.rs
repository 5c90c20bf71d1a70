//! AWS service semantics: what each operation means, its validation rules,
//! limits and error messages. Handlers take the canonical input value the
//! wire layer decoded (already checked against the service model) and
//! return the canonical output value; there are no HTTP or protocol types
//! here, so one handler serves every protocol.

pub mod logs;
pub mod monitoring;
pub mod sns;

use argus_core::{ApiError, ErrorCode, RequestContext};
use async_trait::async_trait;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// One AWS service (CloudWatch Logs, CloudWatch, SNS, …).
#[async_trait]
pub trait AwsService: Send + Sync {
    /// Runs `operation` with its decoded, model-validated input.
    async fn call(
        &self,
        ctx: &RequestContext,
        operation: &str,
        input: Value,
    ) -> Result<Value, ApiError>;

    /// A shortcut for hot operations: runs `operation` on an awsJson body
    /// decoded straight into the handler's request type, skipping the
    /// canonical value. `None` means the body was not one the shortcut
    /// vouches for (any doubt at all); the caller then takes the general
    /// path, which gives the exact error. A shortcut must therefore accept
    /// nothing the model's validation would refuse.
    async fn call_json(&self, _ctx: &RequestContext, _operation: &str, _body: &[u8]) -> Option<Result<Value, ApiError>> {
        None
    }
}

/// The output of an operation that returns nothing.
#[derive(Debug, Serialize)]
pub(crate) struct Empty {}

/// Reads a canonical input value into a handler's request type.
pub(crate) fn parse<T: DeserializeOwned>(input: Value) -> Result<T, ApiError> {
    serde_json::from_value(input).map_err(|error| {
        ApiError::new(
            ErrorCode::Serialization,
            format!("the request body does not match the operation's input: {error}"),
        )
    })
}

/// Turns a handler's response type into the canonical output value.
pub(crate) fn render<T: Serialize>(output: &T) -> Result<Value, ApiError> {
    serde_json::to_value(output).map_err(|error| {
        tracing::error!(%error, "could not serialize a response");
        ApiError::internal()
    })
}

/// The error for an operation the service model has but Argus does not
/// implement.
pub(crate) fn not_implemented(service: &str, operation: &str) -> ApiError {
    ApiError::new(
        ErrorCode::UnknownOperation,
        format!("{service} operation `{operation}` is not implemented by this Argus server"),
    )
}
