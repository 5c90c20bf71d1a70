//! Error rendering for every protocol.
//!
//! * awsJson: `{"__type": "<Shape>", "message": "…"}` plus `x-amzn-ErrorType`.
//! * rpc-v2-cbor: the same map in CBOR, plus `smithy-protocol: rpc-v2-cbor`.
//! * awsQuery: `<ErrorResponse><Error><Type>Sender</Type><Code>…</Code>
//!   <Message>…</Message></Error><RequestId>…</RequestId></ErrorResponse>`.
//!
//! Where the service model declares the error shape, its awsQuery code and
//! HTTP status win over [`ErrorCode`]'s defaults. JSON and CBOR errors of a
//! query-compatible service, asked for with `x-amzn-query-mode: true`, also
//! carry `x-amzn-query-error: <QueryCode>;<Sender|Receiver>`. An empty
//! message is left out, as AWS does. Other members of a declared error
//! shape ([`ApiError::members`]) are encoded against the model: beside
//! `message` in JSON and CBOR, inside `<Error>` in XML.

use argus_core::ApiError;
use bytes::Bytes;
use http::{Response, StatusCode};

use super::{Protocol, ResponseFormat, SMITHY_PROTOCOL_HEADER, respond, set_header};
use crate::model::Service;

/// An error with everything the wire needs resolved against the model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ResolvedError<'a> {
    /// The error shape name, JSON/CBOR `__type`.
    pub type_name: &'a str,
    /// The awsQuery code.
    pub query_code: &'a str,
    pub status: StatusCode,
    pub sender_fault: bool,
    pub message: &'a str,
    /// The declared error shape and the error's members beyond `message`.
    pub members: Option<(&'a str, &'a serde_json::Value)>,
}

pub(crate) fn resolve(service: Option<Service>, error: &ApiError) -> ResolvedError<'_> {
    let name = error.code.name();
    let info = service.and_then(|service| service.model().error_info(name));
    let status = info
        .as_ref()
        .and_then(|info| info.status)
        .unwrap_or_else(|| error.code.status());
    ResolvedError {
        type_name: name,
        query_code: info.as_ref().map_or(error.code.query_code(), |info| info.query_code),
        status: StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
        sender_fault: info
            .as_ref()
            .and_then(|info| info.sender_fault)
            .unwrap_or_else(|| error.code.is_sender_fault()),
        message: &error.message,
        members: info.as_ref().zip(error.members.as_deref()).map(|(info, members)| (info.shape, members)),
    }
}

/// Renders an error as the protocol expects.
pub fn encode_error(
    format: &ResponseFormat,
    error: &ApiError,
    request_id: &str,
) -> Response<Bytes> {
    let resolved = resolve(format.service, error);
    let fault = if resolved.sender_fault {
        "Sender"
    } else {
        "Receiver"
    };
    let query_error = format.query_mode
        && format
            .service
            .is_some_and(|service| service.model().is_query_compatible());

    let mut response = match format.protocol {
        Protocol::AwsJson10 | Protocol::AwsJson11 => {
            let mut body = serde_json::Map::new();
            body.insert("__type".to_owned(), resolved.type_name.into());
            if !resolved.message.is_empty() {
                body.insert("message".to_owned(), resolved.message.into());
            }
            if let (Some(service), Some((shape, members))) = (format.service, resolved.members) {
                for (name, value) in super::json::encode_members(service.model(), shape, members) {
                    body.entry(name).or_insert(value);
                }
            }
            let body = serde_json::to_vec(&body).unwrap_or_default();
            let mut response = respond(
                resolved.status,
                Some(format.protocol.content_type()),
                body,
                request_id,
            );
            set_header(&mut response, "x-amzn-errortype", resolved.type_name);
            response
        }
        Protocol::RpcV2Cbor => {
            let mut entries = vec![(
                ciborium::Value::from("__type"),
                ciborium::Value::from(resolved.type_name),
            )];
            if !resolved.message.is_empty() {
                entries.push((
                    ciborium::Value::from("message"),
                    ciborium::Value::from(resolved.message),
                ));
            }
            if let (Some(service), Some((shape, members))) = (format.service, resolved.members) {
                let extra = super::cbor::encode_members(service.model(), shape, members);
                entries.extend(extra.into_iter().filter(|(name, _)| {
                    name.as_text().is_some_and(|name| name != "message" && name != "__type")
                }));
            }
            let mut body = Vec::new();
            if let Err(error) = ciborium::into_writer(&ciborium::Value::Map(entries), &mut body) {
                tracing::error!(%error, "failed to encode a CBOR error body");
            }
            let mut response = respond(
                resolved.status,
                Some(format.protocol.content_type()),
                body,
                request_id,
            );
            set_header(&mut response, SMITHY_PROTOCOL_HEADER, "rpc-v2-cbor");
            response
        }
        Protocol::AwsQuery => {
            let model = format.service.map(|service| service.model());
            let body = super::xml::encode_error(model, &resolved, request_id);
            respond(
                resolved.status,
                Some(format.protocol.content_type()),
                body,
                request_id,
            )
        }
    };
    if query_error && format.protocol != Protocol::AwsQuery {
        set_header(
            &mut response,
            "x-amzn-query-error",
            &format!("{};{fault}", resolved.query_code),
        );
    }
    response
}
