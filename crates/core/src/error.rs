//! The one error type that crosses layer boundaries toward a client.
//!
//! An [`ApiError`] is an [`ErrorCode`] plus a message written for the user
//! (lowercase, says what to change, or AWS's exact wording where clients or
//! tests depend on it). Each code maps to the AWS error shape name and the
//! HTTP status AWS uses for it. The wire layer renders it per protocol; where
//! a service model declares the error shape (with a query-compatible code or a
//! different status) the model wins.
//!
//! Internal failures carry a message that is safe to show; the details are
//! logged where they happen, never sent to the client.

use std::fmt;

macro_rules! error_codes {
    ($( $variant:ident => ($name:literal, $status:literal, $sender:literal) ),* $(,)?) => {
        /// Every AWS error code Argus returns. `name()` is the error shape name
        /// as it appears in the service models and in JSON `__type`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $( $variant, )*
        }

        impl ErrorCode {
            /// The AWS error shape name, e.g. `ResourceNotFoundException`.
            pub fn name(self) -> &'static str {
                match self { $( ErrorCode::$variant => $name, )* }
            }

            /// The HTTP status AWS answers with for this error.
            pub fn status(self) -> u16 {
                match self { $( ErrorCode::$variant => $status, )* }
            }

            /// Whether the client is at fault (`Sender`) rather than the
            /// server (`Receiver`), as awsQuery and query-compatible errors say.
            pub fn is_sender_fault(self) -> bool {
                match self { $( ErrorCode::$variant => $sender, )* }
            }

            /// The code awsQuery (and query-compatible JSON) clients see when
            /// no service model declares the error. AWS's query services
            /// spell a few cross-service errors without the `Exception`
            /// suffix; everything else keeps its shape name.
            pub fn query_code(self) -> &'static str {
                match self {
                    ErrorCode::MissingAuthenticationToken => "MissingAuthenticationToken",
                    ErrorCode::IncompleteSignature => "IncompleteSignature",
                    ErrorCode::Throttling => "Throttling",
                    ErrorCode::ServiceUnavailable => "ServiceUnavailable",
                    other => other.name(),
                }
            }

            /// Looks a code up by its AWS shape name.
            // Logs and SNS share a shape name; the first declared wins.
            #[allow(unreachable_patterns)]
            pub fn from_name(name: &str) -> Option<ErrorCode> {
                match name { $( $name => Some(ErrorCode::$variant), )* _ => None }
            }

            pub const ALL: &'static [ErrorCode] = &[ $( ErrorCode::$variant, )* ];
        }
    };
}

error_codes! {
    // Cross-service protocol and authentication errors.
    Serialization => ("SerializationException", 400, true),
    // awsQuery's protocol errors: a form body that cannot be decoded, a
    // request without an `Action`, an `Action` the service does not have.
    MalformedQueryString => ("MalformedQueryString", 400, true),
    MissingAction => ("MissingAction", 400, true),
    InvalidAction => ("InvalidAction", 400, true),
    UnknownOperation => ("UnknownOperationException", 400, true),
    Validation => ("ValidationException", 400, true),
    // What awsQuery services (SNS) call a failed model constraint.
    ValidationError => ("ValidationError", 400, true),
    MissingAuthenticationToken => ("MissingAuthenticationTokenException", 403, true),
    IncompleteSignature => ("IncompleteSignatureException", 400, true),
    InvalidSignature => ("InvalidSignatureException", 400, true),
    SignatureDoesNotMatch => ("SignatureDoesNotMatch", 403, true),
    UnrecognizedClient => ("UnrecognizedClientException", 400, true),
    InvalidClientTokenId => ("InvalidClientTokenId", 403, true),
    RequestExpired => ("RequestExpired", 400, true),
    AccessDenied => ("AccessDeniedException", 400, true),
    RequestEntityTooLarge => ("RequestEntityTooLargeException", 413, true),
    Throttling => ("ThrottlingException", 400, true),
    InternalFailure => ("InternalFailure", 500, false),
    ServiceUnavailable => ("ServiceUnavailableException", 503, false),

    // CloudWatch Logs.
    InvalidParameter => ("InvalidParameterException", 400, true),
    ResourceNotFound => ("ResourceNotFoundException", 400, true),
    ResourceAlreadyExists => ("ResourceAlreadyExistsException", 400, true),
    LimitExceeded => ("LimitExceededException", 400, true),
    OperationAborted => ("OperationAbortedException", 400, true),
    InvalidOperation => ("InvalidOperationException", 400, true),
    InvalidSequenceToken => ("InvalidSequenceTokenException", 400, true),
    DataAlreadyAccepted => ("DataAlreadyAcceptedException", 400, true),
    MalformedQuery => ("MalformedQueryException", 400, true),
    TooManyTags => ("TooManyTagsException", 400, true),
    Conflict => ("ConflictException", 400, true),

    // CloudWatch (query-compatible shape names; the model maps them to query codes).
    InvalidParameterValue => ("InvalidParameterValueException", 400, true),
    MissingRequiredParameter => ("MissingRequiredParameterException", 400, true),
    InvalidParameterCombination => ("InvalidParameterCombinationException", 400, true),
    InvalidNextToken => ("InvalidNextToken", 400, true),
    CloudWatchResourceNotFound => ("ResourceNotFound", 404, true),
    LimitExceededFault => ("LimitExceededFault", 400, true),
    InvalidFormatFault => ("InvalidFormatFault", 400, true),
    DashboardInvalidInputError => ("DashboardInvalidInputError", 400, true),

    // SNS.
    SnsInvalidParameter => ("InvalidParameterException", 400, true),
    NotFound => ("NotFoundException", 404, true),
    AuthorizationError => ("AuthorizationErrorException", 403, true),
    EmptyBatchRequest => ("EmptyBatchRequestException", 400, true),
    TooManyEntriesInBatchRequest => ("TooManyEntriesInBatchRequestException", 400, true),
    BatchEntryIdsNotDistinct => ("BatchEntryIdsNotDistinctException", 400, true),
    InvalidBatchEntryId => ("InvalidBatchEntryIdException", 400, true),
    BatchRequestTooLong => ("BatchRequestTooLongException", 400, true),
    TagLimitExceeded => ("TagLimitExceededException", 400, true),
}

/// An error to send to an AWS API client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    /// Members of the error shape besides `message`, as a canonical object
    /// (for example CloudWatch's `dashboardValidationMessages`); the wire
    /// layer encodes them against the service model like any output.
    pub members: Option<Box<serde_json::Value>>,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: message.into(),
            members: None,
        }
    }

    /// Adds members of the error shape (a canonical object keyed by member name).
    pub fn with_members(mut self, members: serde_json::Value) -> Self {
        self.members = Some(Box::new(members));
        self
    }

    pub fn invalid_parameter(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidParameter, message)
    }

    pub fn validation(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Validation, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::ResourceNotFound, message)
    }

    pub fn already_exists(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::ResourceAlreadyExists, message)
    }

    /// A server-side failure. Log the cause where it happens; the client only
    /// learns that the request failed and may be retried.
    pub fn internal() -> Self {
        Self::new(
            ErrorCode::InternalFailure,
            "the server failed to process the request; it is safe to retry",
        )
    }

    pub fn service_unavailable(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::ServiceUnavailable, message)
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.name(), self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_except_shared_shape_names() {
        for &code in ErrorCode::ALL {
            let found = ErrorCode::from_name(code.name()).expect("every name resolves");
            // Logs and SNS both call their error InvalidParameterException; the
            // first declared wins the reverse lookup.
            assert_eq!(found.name(), code.name());
        }
    }

    #[test]
    fn query_codes_drop_the_exception_suffix() {
        assert_eq!(
            ErrorCode::MissingAuthenticationToken.query_code(),
            "MissingAuthenticationToken"
        );
        assert_eq!(
            ErrorCode::IncompleteSignature.query_code(),
            "IncompleteSignature"
        );
        assert_eq!(
            ErrorCode::SignatureDoesNotMatch.query_code(),
            "SignatureDoesNotMatch"
        );
        assert_eq!(ErrorCode::InternalFailure.query_code(), "InternalFailure");
        assert_eq!(
            ErrorCode::Serialization.query_code(),
            "SerializationException"
        );
    }

    #[test]
    fn client_errors_are_4xx_and_server_errors_5xx() {
        for &code in ErrorCode::ALL {
            if code.is_sender_fault() {
                assert!((400..500).contains(&code.status()), "{code:?}");
            } else {
                assert!(code.status() >= 500, "{code:?}");
            }
        }
    }
}
