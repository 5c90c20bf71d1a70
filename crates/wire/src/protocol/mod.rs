//! Protocol detection, decoding and encoding, driven by the service models.
//!
//! [`route`] finds which protocol, service and operation a request speaks;
//! [`decode_input`] turns its body into the canonical value (see the crate
//! docs) and validates it; [`encode_output`] and [`encode_error`] render a
//! handler's result the way the client's protocol expects. One decoder and
//! one encoder per protocol, none per operation:
//!
//! * awsJson 1.0 / 1.1 (`json.rs`): <https://smithy.io/2.0/aws/protocols/aws-json-1_1-protocol.html>
//! * smithy rpc-v2-cbor (`cbor.rs`): <https://smithy.io/2.0/additional-specs/protocols/smithy-rpc-v2.html>
//! * awsQuery (`query.rs` in, `xml.rs` out): <https://smithy.io/2.0/aws/protocols/aws-query-protocol.html>
//!
//! Query-compatible services (CloudWatch) also put the awsQuery error code
//! in `x-amzn-query-error` when the client asks with `x-amzn-query-mode`
//! (<https://smithy.io/2.0/aws/protocols/aws-query-protocol.html#aws-protocols-awsquerycompatible-trait>).
//!
//! Nothing here panics on client input or allocates from sizes a client
//! declares. The caller caps the body size and inflates a
//! `Content-Encoding: gzip` body (botocore compresses large PutMetricData
//! requests, per the model's `requestcompression`) before calling in.
//! Event-stream operations (Logs StartLiveTail) are not encoded here.

mod cbor;
mod errors;
mod json;
mod query;
mod xml;

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::unwrap_used)]
mod tests;

use argus_core::{ApiError, ErrorCode};
use bytes::Bytes;
use http::header::{CONTENT_TYPE, HeaderName, HeaderValue};
use http::{Method, Response, StatusCode};
use serde_json::Value;

use crate::model::{Operation, Service, ServiceModel};
use crate::validate::{self, Violation};

pub use errors::encode_error;

/// The wire protocols Argus speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    AwsJson10,
    AwsJson11,
    RpcV2Cbor,
    AwsQuery,
}

impl Protocol {
    /// The response `Content-Type`.
    pub fn content_type(self) -> &'static str {
        match self {
            Protocol::AwsJson10 => "application/x-amz-json-1.0",
            Protocol::AwsJson11 => "application/x-amz-json-1.1",
            Protocol::RpcV2Cbor => "application/cbor",
            Protocol::AwsQuery => "text/xml",
        }
    }
}

/// Where a request goes: the protocol it speaks, the service and operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub protocol: Protocol,
    pub service: Service,
    pub operation: String,
    /// The client sent `x-amzn-query-mode: true` (query-compatible errors).
    pub query_mode: bool,
}

/// How to render an error: known fully after routing, guessed before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResponseFormat {
    pub protocol: Protocol,
    pub service: Option<Service>,
    pub query_mode: bool,
}

impl Route {
    pub fn format(&self) -> ResponseFormat {
        ResponseFormat {
            protocol: self.protocol,
            service: Some(self.service),
            query_mode: self.query_mode,
        }
    }

    pub fn model(&self) -> &'static ServiceModel {
        self.service.model()
    }

    /// The operation's model (always present for a route [`route`] made).
    pub fn operation_model(&self) -> Option<&'static Operation> {
        self.service.model().operation(&self.operation)
    }
}

/// A request body that cannot be read at all, before any model check: the
/// protocol's serialization error (`SerializationException`, awsQuery's
/// `MalformedQueryString`).
#[derive(Debug, thiserror::Error)]
pub enum MalformedBody {
    #[error("the request body is not valid JSON: {0}")]
    Json(#[source] serde_json::Error),
    #[error("the request body is not valid CBOR: {0}")]
    Cbor(String),
    #[error("the request body must be a {0}")]
    NotAnObject(&'static str),
    #[error("the request body has data after its CBOR item")]
    TrailingData,
    #[error("the request parameters are not valid UTF-8")]
    FormNotUtf8,
    #[error("compressed request bodies must be decompressed before decoding")]
    StillCompressed,
}

impl MalformedBody {
    /// The error a client of `protocol` gets for this body.
    pub fn to_api_error(&self, protocol: Protocol) -> ApiError {
        let code = match protocol {
            Protocol::AwsQuery => ErrorCode::MalformedQueryString,
            Protocol::AwsJson10 | Protocol::AwsJson11 | Protocol::RpcV2Cbor => {
                ErrorCode::Serialization
            }
        };
        ApiError::new(code, self.to_string())
    }
}

/// The request header naming the awsJson operation.
const TARGET_HEADER: &str = "x-amz-target";
/// The request header rpc-v2-cbor clients send, and the response header.
const SMITHY_PROTOCOL_HEADER: &str = "smithy-protocol";
const QUERY_MODE_HEADER: &str = "x-amzn-query-mode";
const FORM_CONTENT_TYPE: &str = "application/x-www-form-urlencoded";

/// Best guess of the response format for a request that failed before
/// routing: `X-Amz-Target` → awsJson, `smithy-protocol` header or
/// `/service/…/operation/…` path → CBOR, form body (or GET with `Action`) →
/// awsQuery XML; otherwise the signing service's JSON protocol, else JSON 1.1.
pub fn guess_format(parts: &http::request::Parts, signing_service: Option<&str>) -> ResponseFormat {
    let signed = signing_service.and_then(Service::from_signing_name);
    let query_mode = header_is_true(parts, QUERY_MODE_HEADER);
    let content_type = header_str(parts, CONTENT_TYPE.as_str())
        .unwrap_or_default()
        .to_ascii_lowercase();

    if let Some(target) = header_str(parts, TARGET_HEADER) {
        let service = target
            .rsplit_once('.')
            .and_then(|(prefix, _)| Service::from_target_prefix(prefix))
            .or(signed);
        let protocol = json_protocol_for(&content_type, service);
        return ResponseFormat {
            protocol,
            service,
            query_mode,
        };
    }
    let cbor_path = cbor_path(parts.uri.path());
    if header_str(parts, SMITHY_PROTOCOL_HEADER).is_some() || cbor_path.is_some() {
        let service = cbor_path
            .and_then(|(name, _)| Service::from_target_prefix(name))
            .or(signed);
        return ResponseFormat {
            protocol: Protocol::RpcV2Cbor,
            service,
            query_mode,
        };
    }
    if content_type.starts_with(FORM_CONTENT_TYPE)
        || (parts.method == Method::GET && query_string_has_action(parts))
    {
        return ResponseFormat {
            protocol: Protocol::AwsQuery,
            service: signed,
            query_mode: false,
        };
    }
    if content_type.starts_with("application/x-amz-json-") {
        return ResponseFormat {
            protocol: json_protocol_for(&content_type, signed),
            service: signed,
            query_mode,
        };
    }
    if content_type.starts_with("application/cbor") {
        return ResponseFormat {
            protocol: Protocol::RpcV2Cbor,
            service: signed,
            query_mode,
        };
    }
    let protocol = match signed.map(Service::model) {
        Some(model) => model.json_protocol().unwrap_or(Protocol::AwsQuery),
        None => Protocol::AwsJson11,
    };
    ResponseFormat {
        protocol,
        service: signed,
        query_mode,
    }
}

/// Finds protocol, service and operation: by `X-Amz-Target`
/// (`<targetPrefix>.<Operation>`), by the rpc-v2-cbor path
/// `/service/<ServiceShapeName>/operation/<Operation>`, or by the awsQuery
/// `Action` field (form body, or query string for GET). `signing_service` is
/// the service named by the SigV4 credential scope; awsQuery needs it since
/// an `Action` alone does not name the service. An unknown operation gets the
/// protocol's unknown-operation error.
pub fn route(
    parts: &http::request::Parts,
    body: &[u8],
    signing_service: Option<&str>,
) -> Result<Route, ApiError> {
    let format = guess_format(parts, signing_service);
    match format.protocol {
        Protocol::AwsJson10 | Protocol::AwsJson11 => route_json(parts, format),
        Protocol::RpcV2Cbor => route_cbor(parts, format),
        Protocol::AwsQuery => route_query(parts, body, format),
    }
}

fn route_json(parts: &http::request::Parts, format: ResponseFormat) -> Result<Route, ApiError> {
    let Some(target) = header_str(parts, TARGET_HEADER) else {
        return Err(ApiError::new(
            ErrorCode::UnknownOperation,
            "the request names no operation: awsJson requests carry it in the X-Amz-Target header",
        ));
    };
    let Some((prefix, operation)) = target.rsplit_once('.') else {
        return Err(unknown_operation(target));
    };
    let Some(service) = Service::from_target_prefix(prefix) else {
        return Err(unknown_operation(target));
    };
    if service.model().operation(operation).is_none() {
        return Err(unknown_operation(target));
    }
    Ok(Route {
        protocol: format.protocol,
        service,
        operation: operation.to_owned(),
        query_mode: format.query_mode,
    })
}

fn route_cbor(parts: &http::request::Parts, format: ResponseFormat) -> Result<Route, ApiError> {
    let path = parts.uri.path();
    let Some((service_name, operation)) = cbor_path(path) else {
        return Err(ApiError::new(
            ErrorCode::UnknownOperation,
            format!(
                "path `{path}` names no operation: rpc-v2-cbor requests go to /service/<Service>/operation/<Operation>"
            ),
        ));
    };
    let Some(service) = Service::from_target_prefix(service_name) else {
        return Err(unknown_operation(&format!("{service_name}.{operation}")));
    };
    if service.model().operation(operation).is_none() {
        return Err(unknown_operation(&format!("{service_name}.{operation}")));
    }
    Ok(Route {
        protocol: Protocol::RpcV2Cbor,
        service,
        operation: operation.to_owned(),
        query_mode: format.query_mode,
    })
}

fn route_query(
    parts: &http::request::Parts,
    body: &[u8],
    format: ResponseFormat,
) -> Result<Route, ApiError> {
    let params = query::parse_params(parts, body)
        .map_err(|malformed| malformed.to_api_error(Protocol::AwsQuery))?;
    let Some(action) = params.get("Action").filter(|action| !action.is_empty()) else {
        return Err(ApiError::new(
            ErrorCode::MissingAction,
            "the request must contain the parameter Action",
        ));
    };
    let version = params.get("Version").map(String::as_str);
    let service = format
        .service
        .or_else(|| query_service_for(action, version));
    let invalid_action = || {
        ApiError::new(
            ErrorCode::InvalidAction,
            format!("The action {action} is not valid for this web service."),
        )
    };
    let Some(service) = service else {
        return Err(invalid_action());
    };
    let model = service.model();
    if !model.speaks(Protocol::AwsQuery) || model.operation(action).is_none() {
        return Err(invalid_action());
    }
    Ok(Route {
        protocol: Protocol::AwsQuery,
        service,
        operation: action.clone(),
        query_mode: false,
    })
}

/// Without a signing scope, the awsQuery service is the one whose API
/// version the request names, else the only one with that action.
fn query_service_for(action: &str, version: Option<&str>) -> Option<Service> {
    let speaks_query = Service::all()
        .iter()
        .copied()
        .filter(|s| s.model().speaks(Protocol::AwsQuery));
    let candidates: Vec<Service> = speaks_query
        .filter(|s| s.model().operation(action).is_some())
        .collect();
    if let Some(version) = version
        && let Some(service) = candidates
            .iter()
            .copied()
            .find(|s| s.model().api_version() == version)
    {
        return Some(service);
    }
    match candidates.as_slice() {
        [only] => Some(*only),
        _ => None,
    }
}

fn unknown_operation(target: &str) -> ApiError {
    ApiError::new(
        ErrorCode::UnknownOperation,
        format!("operation `{target}` does not exist"),
    )
}

/// Decodes and validates the input into the canonical value (see the crate
/// docs: the awsJson shape; timestamps as epoch-seconds numbers; blobs as
/// base64 strings).
pub fn decode_input(
    route: &Route,
    parts: &http::request::Parts,
    body: &[u8],
) -> Result<Value, ApiError> {
    let model = route.service.model();
    let Some(operation) = model.operation(&route.operation) else {
        return Err(unknown_operation(&route.operation));
    };
    let mut violations: Vec<Violation> = Vec::new();
    let value = decode_body(route, operation, parts, body, &mut violations)
        .map_err(|malformed| malformed.to_api_error(route.protocol))?;
    let input = operation.input.as_ref();
    // Ill-typed members are reported alone: checking constraints on what was
    // left would only add confusing "must not be null" noise about them.
    if violations.is_empty()
        && let Some(input) = input
    {
        validate::validate(model, &input.shape, &value, &mut violations);
    }
    if !violations.is_empty() {
        return Err(validate::to_error(model, &route.operation, &violations));
    }
    Ok(value)
}

/// Runs the protocol's decoder: the canonical input plus the ill-typed
/// members found on the way.
fn decode_body(
    route: &Route,
    operation: &Operation,
    parts: &http::request::Parts,
    body: &[u8],
    violations: &mut Vec<Violation>,
) -> Result<Value, MalformedBody> {
    if is_still_compressed(parts, body) {
        // botocore gzips large PutMetricData bodies (the model's
        // `requestcompression`); the transport must inflate them, capped,
        // before they get here.
        return Err(MalformedBody::StillCompressed);
    }
    let model = route.service.model();
    let input = operation.input.as_ref();
    match route.protocol {
        Protocol::AwsJson10 | Protocol::AwsJson11 => {
            json::decode_input(model, input, body, violations)
        }
        Protocol::RpcV2Cbor => cbor::decode_input(model, input, body, violations),
        Protocol::AwsQuery => {
            let params = query::parse_params(parts, body)?;
            Ok(query::decode_input(model, input, &params, violations))
        }
    }
}

/// Serializes a handler's canonical output for the route's protocol (status
/// 200, `Content-Type`, `x-amzn-RequestId`).
pub fn encode_output(route: &Route, output: &Value, request_id: &str) -> Response<Bytes> {
    let model = route.service.model();
    let Some(operation) = model.operation(&route.operation) else {
        return encode_error(
            &route.format(),
            &unknown_operation(&route.operation),
            request_id,
        );
    };
    let output_ref = operation.output.as_ref();
    let (body, content_type) = match route.protocol {
        Protocol::AwsJson10 | Protocol::AwsJson11 => (
            json::encode_output(model, output_ref, output),
            Some(route.protocol.content_type()),
        ),
        Protocol::RpcV2Cbor => match output_ref {
            // An operation without output answers with an empty body and no
            // Content-Type (smithy protocol test `no_output`).
            None => (Vec::new(), None),
            Some(output_ref) => match cbor::encode_output(model, output_ref, output) {
                Ok(body) => (body, Some(route.protocol.content_type())),
                Err(error) => {
                    tracing::error!(%error, operation = %route.operation, "failed to encode CBOR output");
                    return encode_error(&route.format(), &ApiError::internal(), request_id);
                }
            },
        },
        Protocol::AwsQuery => match xml::encode_output(model, operation, output, request_id) {
            Ok(body) => (body, Some(route.protocol.content_type())),
            Err(error) => {
                tracing::error!(%error, operation = %route.operation, "failed to encode XML output");
                return encode_error(&route.format(), &ApiError::internal(), request_id);
            }
        },
    };
    let mut response = respond(StatusCode::OK, content_type, body, request_id);
    if route.protocol == Protocol::RpcV2Cbor {
        set_header(&mut response, SMITHY_PROTOCOL_HEADER, "rpc-v2-cbor");
    }
    response
}

/// Builds a response with the headers every protocol sends.
fn respond(
    status: StatusCode,
    content_type: Option<&'static str>,
    body: Vec<u8>,
    request_id: &str,
) -> Response<Bytes> {
    let mut response = Response::new(Bytes::from(body));
    *response.status_mut() = status;
    if let Some(content_type) = content_type {
        response
            .headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    }
    set_header(&mut response, "x-amzn-requestid", request_id);
    response
}

/// Sets a header, skipping values that are not valid header text (a request
/// id or code never is, but a malformed one must not panic).
fn set_header(response: &mut Response<Bytes>, name: &'static str, value: &str) {
    match HeaderValue::from_str(value) {
        Ok(value) => {
            response
                .headers_mut()
                .insert(HeaderName::from_static(name), value);
        }
        Err(_) => tracing::warn!(
            header = name,
            "dropping response header with an invalid value"
        ),
    }
}

fn header_str<'a>(parts: &'a http::request::Parts, name: &str) -> Option<&'a str> {
    parts
        .headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .map(str::trim)
}

fn header_is_true(parts: &http::request::Parts, name: &str) -> bool {
    header_str(parts, name).is_some_and(|value| value.eq_ignore_ascii_case("true"))
}

/// The awsJson version named by the Content-Type, else the service's, else 1.1.
fn json_protocol_for(content_type: &str, service: Option<Service>) -> Protocol {
    if content_type.starts_with("application/x-amz-json-1.0") {
        Protocol::AwsJson10
    } else if content_type.starts_with("application/x-amz-json-1.1") {
        Protocol::AwsJson11
    } else {
        service
            .and_then(|s| s.model().json_protocol())
            .unwrap_or(Protocol::AwsJson11)
    }
}

/// Splits `…/service/<Service>/operation/<Operation>` (the spec allows a
/// path prefix).
fn cbor_path(path: &str) -> Option<(&str, &str)> {
    let start = path.rfind("/service/")?;
    let rest = path.get(start + "/service/".len()..)?;
    let (service, operation) = rest.split_once("/operation/")?;
    if service.is_empty() || operation.is_empty() || operation.contains('/') {
        return None;
    }
    Some((service, operation))
}

/// A body still carrying `Content-Encoding: gzip` and the gzip magic bytes.
fn is_still_compressed(parts: &http::request::Parts, body: &[u8]) -> bool {
    let gzip_declared = header_str(parts, http::header::CONTENT_ENCODING.as_str())
        .is_some_and(|encoding| encoding.to_ascii_lowercase().contains("gzip"));
    gzip_declared && body.starts_with(&[0x1f, 0x8b])
}

fn query_string_has_action(parts: &http::request::Parts) -> bool {
    parts
        .uri
        .query()
        .is_some_and(|query| query.split('&').any(|pair| pair.starts_with("Action=")))
}
