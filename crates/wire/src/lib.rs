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
//! seconds (a JSON number), blobs as base64 strings, numbers as numbers
//! (non-finite doubles as the strings `"NaN"`, `"Infinity"`, `"-Infinity"`,
//! as awsJson clients send them). They return their output in the same form;
//! members the output shape does not declare are dropped. Input is validated
//! against the model (required members, types, lengths, ranges, enums,
//! patterns, see [`validate`]) before the handler runs.
//!
//! # Use
//!
//! ```text
//! let route = route(&parts, &body, signing_service)             // or encode_error(&guess_format(..), ..)
//! let input = decode_input(&route, &parts, &body)               // or encode_error(&route.format(), ..)
//! let output = handler(input)
//! encode_output(&route, &output, request_id)                    // or encode_error(&route.format(), ..)
//! ```
//!
//! This layer never touches storage and never panics on client input.

mod canonical;
pub mod model;
pub mod protocol;
pub mod sigv4;
pub mod validate;

pub use model::{Service, ServiceModel};
pub use protocol::{
    MalformedBody, Protocol, ResponseFormat, Route, decode_input, encode_error, encode_output,
    guess_format, route,
};
