//! Why a request failed SigV4 authentication, and the AWS error each reason
//! becomes.
//!
//! Messages use AWS's exact wording wherever clients, SDK docs or users'
//! search engines know it ("Signature expired: … is now earlier than …");
//! the rest follow the house style. JSON services (Coral: Logs, CloudWatch
//! over JSON/CBOR) and awsQuery services (SNS, CloudWatch over query) use
//! different codes for the same failure; [`AuthError::to_api_error`] picks.

use argus_core::{ApiError, ErrorCode};

/// Longest echo of a client's Authorization header inside an error message.
const MAX_ECHO: usize = 512;

/// A piece the Authorization header form needs but the request lacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MissingPart {
    Credential,
    Signature,
    SignedHeaders,
    /// Neither `X-Amz-Date` nor `Date` is present.
    Date,
}

/// A SigV4 authentication failure. Each variant is one kind of failure; its
/// `Display` is the message sent to the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No `Authorization` header and no presigned query parameters.
    #[error("Request is missing Authentication Token")]
    MissingAuthentication,

    /// The Authorization header lacks required parameters, or the request has
    /// no date header.
    #[error("{}", incomplete_header_message(.missing, .authorization))]
    IncompleteAuthorizationHeader {
        missing: Vec<MissingPart>,
        authorization: String,
    },

    /// A comma-separated piece of the Authorization header without `=`.
    #[error("'{pair}' not a valid key=value pair (missing equal-sign) in Authorization header: '{}'.", echo(.authorization))]
    MalformedAuthorizationPair { pair: String, authorization: String },

    /// `Credential`, `SignedHeaders` or `Signature` given twice.
    #[error(
        "the Authorization header has more than one '{name}' parameter; send each parameter once"
    )]
    DuplicateAuthorizationParameter { name: &'static str },

    /// More than one `Authorization` header.
    #[error("the request has {count} Authorization headers; send exactly one")]
    MultipleAuthorizationHeaders { count: usize },

    /// Both an Authorization header and presigned query parameters.
    #[error(
        "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter or the Authorization header should be specified"
    )]
    MultipleAuthMechanisms,

    /// A presigned URL without some of its required parameters.
    #[error("{}", incomplete_query_message(.missing))]
    IncompleteQueryParameters { missing: Vec<&'static str> },

    /// A presigned-URL parameter given twice.
    #[error("the query parameter '{name}' appears more than once; send it once")]
    DuplicateQueryParameter { name: &'static str },

    /// Not `AWS4-HMAC-SHA256` (for example SigV4a or SigV2).
    #[error(
        "unsupported signing algorithm '{algorithm}': only AWS4-HMAC-SHA256 (SigV4) is accepted"
    )]
    UnsupportedAlgorithm { algorithm: String },

    /// The credential is not `<access key>/<YYYYMMDD>/<region>/<service>/aws4_request`.
    #[error(
        "the credential '{credential}' is malformed: expected <access key id>/<YYYYMMDD>/<region>/<service>/aws4_request"
    )]
    MalformedCredential { credential: String },

    /// The credential scope ends in something other than `aws4_request`.
    #[error(
        "Credential should be scoped with a valid terminator: 'aws4_request', not '{terminator}'."
    )]
    InvalidCredentialTerminator { terminator: String },

    /// `SignedHeaders` has an empty or invalid name.
    #[error(
        "the signed headers '{signed_headers}' are malformed: expect lowercase header names separated by ';'"
    )]
    MalformedSignedHeaders { signed_headers: String },

    /// `host` is not among the signed headers.
    #[error("'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.")]
    HostNotSigned,

    /// The request timestamp cannot be parsed.
    #[error(
        "the {source_name} value '{value}' is not a valid timestamp: use the ISO 8601 basic format YYYYMMDD'T'HHMMSS'Z'"
    )]
    MalformedDate {
        source_name: &'static str,
        value: String,
    },

    /// `X-Amz-Expires` is not a whole number of seconds.
    #[error("X-Amz-Expires must be a whole number of seconds, not '{value}'")]
    MalformedExpires { value: String },

    /// `X-Amz-Expires` above the SigV4 maximum of 7 days.
    #[error("X-Amz-Expires must be less than a week (in seconds) that is 604800")]
    ExpiresTooLong,

    /// The credential scope's date is not the date of the request timestamp.
    #[error(
        "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{scope_date}' != '{request_date}', from '{amz_date}'."
    )]
    CredentialDateMismatch {
        scope_date: String,
        request_date: String,
        amz_date: String,
    },

    /// The request was signed more than 15 minutes before `now`.
    #[error("Signature expired: {signed_at} is now earlier than {earliest} ({now} - 15 min.)")]
    SignatureExpired {
        signed_at: String,
        earliest: String,
        now: String,
    },

    /// The request was signed more than 15 minutes after `now`.
    #[error(
        "Signature not yet current: {signed_at} is still later than {latest} ({now} + 15 min.)"
    )]
    SignatureNotYetCurrent {
        signed_at: String,
        latest: String,
        now: String,
    },

    /// A presigned URL used after `X-Amz-Date + X-Amz-Expires`.
    #[error("Request has expired.")]
    PresignedUrlExpired { expired_at: String, now: String },

    /// No secret is known for the access key id.
    #[error("The security token included in the request is invalid.")]
    UnknownAccessKey { access_key_id: String },

    /// The signature does not verify (wrong secret, tampered request, or a
    /// canonicalisation difference).
    #[error(
        "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
    )]
    SignatureMismatch,

    /// `x-amz-content-sha256` is a hash, but not the body's.
    #[error("The provided 'x-amz-content-sha256' header does not match what was computed.")]
    ContentSha256Mismatch,

    /// `x-amz-content-sha256` is neither a hex SHA-256 nor `UNSIGNED-PAYLOAD`.
    #[error(
        "x-amz-content-sha256 must be UNSIGNED-PAYLOAD or the hex SHA-256 of the body, not '{value}'"
    )]
    InvalidContentSha256 { value: String },
}

impl AuthError {
    /// The AWS error to send. `query_style` is true for awsQuery services
    /// (SNS, CloudWatch over awsQuery), which use different codes/statuses
    /// than JSON services.
    pub fn to_api_error(&self, query_style: bool) -> ApiError {
        ApiError::new(self.error_code(query_style), self.to_string())
    }

    fn error_code(&self, query_style: bool) -> ErrorCode {
        use AuthError::*;
        match self {
            MissingAuthentication => ErrorCode::MissingAuthenticationToken,
            IncompleteAuthorizationHeader { .. }
            | MalformedAuthorizationPair { .. }
            | DuplicateAuthorizationParameter { .. }
            | MultipleAuthorizationHeaders { .. }
            | MultipleAuthMechanisms
            | IncompleteQueryParameters { .. }
            | DuplicateQueryParameter { .. }
            | UnsupportedAlgorithm { .. }
            | MalformedCredential { .. }
            | InvalidCredentialTerminator { .. }
            | MalformedSignedHeaders { .. }
            | HostNotSigned
            | MalformedDate { .. }
            | MalformedExpires { .. }
            | ExpiresTooLong
            | InvalidContentSha256 { .. } => ErrorCode::IncompleteSignature,
            UnknownAccessKey { .. } if query_style => ErrorCode::InvalidClientTokenId,
            UnknownAccessKey { .. } => ErrorCode::UnrecognizedClient,
            PresignedUrlExpired { .. } => ErrorCode::RequestExpired,
            CredentialDateMismatch { .. }
            | SignatureExpired { .. }
            | SignatureNotYetCurrent { .. }
            | SignatureMismatch
            | ContentSha256Mismatch => {
                if query_style {
                    ErrorCode::SignatureDoesNotMatch
                } else {
                    ErrorCode::InvalidSignature
                }
            }
        }
    }
}

/// AWS's message for an incomplete Authorization header: one sentence per
/// missing piece, then the header echoed back.
fn incomplete_header_message(missing: &[MissingPart], authorization: &str) -> String {
    let mut message = String::new();
    for part in missing {
        message.push_str(match part {
            MissingPart::Credential => "Authorization header requires 'Credential' parameter. ",
            MissingPart::Signature => "Authorization header requires 'Signature' parameter. ",
            MissingPart::SignedHeaders => "Authorization header requires 'SignedHeaders' parameter. ",
            MissingPart::Date => "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. ",
        });
    }
    message.push_str("Authorization=");
    message.push_str(&echo(authorization));
    message
}

fn incomplete_query_message(missing: &[&str]) -> String {
    let mut message = String::new();
    for name in missing {
        message.push_str("AWS query-string parameters must include '");
        message.push_str(name);
        message.push_str("'. ");
    }
    message.push_str("Re-examine the query-string parameters.");
    message
}

/// The client's own header, cut to a sane length for an error message.
fn echo(value: &str) -> String {
    if value.len() <= MAX_ECHO {
        return value.to_owned();
    }
    let mut end = MAX_ECHO;
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", value.get(..end).unwrap_or_default())
}
