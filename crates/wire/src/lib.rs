//! The AWS wire layer: turns an HTTP request into (service, operation,
//! canonical input) and a handler's canonical output or error back into the
//! HTTP response each protocol expects. It is driven by the AWS service
//! models (stripped copies of botocore's `service-2.json` in `models/`), so
//! parsing and serialising is written once per protocol, not per operation.
//!
//! Protocols: awsJson1.1, awsJson1.0 (with `x-amzn-query-mode` and
//! query-compatible errors), smithy rpc-v2-cbor, awsQuery (form in, XML out).
//! Specs: <https://smithy.io/2.0/aws/protocols/> and
//! <https://smithy.io/2.0/additional-specs/protocols/smithy-rpc-v2.html>.
//!
//! # The canonical value
//!
//! Handlers see a `serde_json::Value` in the awsJson shape of the operation's
//! input, whatever protocol the client used: structure members by their model
//! member names, lists as arrays, maps as objects, timestamps as epoch
//! seconds (a JSON number), blobs as base64 strings, numbers as numbers. They
//! return their output in the same form. Input is validated against the model
//! (required members, types, lengths, ranges, enums, patterns) before the
//! handler runs.
//!
//! This layer never touches storage and never panics on client input.

mod canonical;
pub mod model;
pub mod protocol;
pub mod sigv4;
pub mod validate;

pub use model::{Service, ServiceModel};
pub use protocol::{Protocol, ResponseFormat, Route, decode_input, encode_error, encode_output, guess_format, route};
