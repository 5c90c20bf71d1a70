//! What every AWS API request carries into a service handler once the wire
//! layer has authenticated and decoded it.

/// Identity and scope of one API call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestContext {
    /// The 12-digit account that owns the resources (configurable, default
    /// `000000000000`).
    pub account_id: String,
    /// The region from the SigV4 credential scope, e.g. `us-east-1`.
    pub region: String,
    /// The access key that signed the request.
    pub access_key_id: String,
    /// Echoed in `x-amzn-RequestId` and in awsQuery `ResponseMetadata`.
    pub request_id: String,
}

impl RequestContext {
    pub fn new(account_id: impl Into<String>, region: impl Into<String>) -> Self {
        RequestContext {
            account_id: account_id.into(),
            region: region.into(),
            access_key_id: String::new(),
            request_id: new_request_id(),
        }
    }
}

/// A fresh request id in AWS's UUID form.
pub fn new_request_id() -> String {
    uuid::Uuid::new_v4().to_string()
}
