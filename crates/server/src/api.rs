//! HTTP handlers: the AWS API pipeline and Argus's own endpoints.
//!
//! AWS API pipeline: cap the body → read the SigV4 credential scope →
//! verify the signature → route (protocol, service, operation) → decode and
//! validate → service handler → encode. Every failure is rendered as the
//! AWS error of the protocol the client speaks; nothing here panics on
//! client input.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::SystemTime;

use argus_core::{ApiError, ErrorCode, RequestContext, context::new_request_id};
use argus_services::AwsService;
use argus_wire::sigv4::{self, AuthError};
use argus_wire::{Protocol, ResponseFormat, Route, Service};
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use tracing::{debug, warn};

use crate::state::AppState;

pub async fn health(State(state): State<Arc<AppState>>) -> Response {
    let (status, body) = if state.is_ready() {
        (StatusCode::OK, r#"{"status":"ok"}"#)
    } else if state.services.get().is_some() {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            r#"{"status":"failed","reason":"storage cannot accept writes; see the server log"}"#,
        )
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, r#"{"status":"starting"}"#)
    };
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// `POST /_argus/clock?advance_ms=N`: moves the product clock forward
/// (only with `--test-clock`).
pub async fn advance_clock(
    State(state): State<Arc<AppState>>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let Some(clock) = &state.manual_clock else {
        return (
            StatusCode::NOT_FOUND,
            "the test clock is off; start argus with --test-clock",
        )
            .into_response();
    };
    let Some(advance) = params
        .get("advance_ms")
        .and_then(|value| value.parse::<i64>().ok())
    else {
        return (
            StatusCode::BAD_REQUEST,
            "advance_ms must be an integer number of milliseconds",
        )
            .into_response();
    };
    clock.advance(advance);
    let body = format!(r#"{{"offset_ms":{}}}"#, clock.offset_millis());
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response()
}

/// `POST /_argus/flush`: writes every memtable to segment files now (what
/// the server does on its own when memtables fill or age; benchmarks and
/// operators use it to measure or snapshot what is on disk).
pub async fn flush(State(state): State<Arc<AppState>>) -> Response {
    let Some(services) = state.services.get() else {
        return (StatusCode::SERVICE_UNAVAILABLE, r#"{"status":"starting"}"#).into_response();
    };
    let flushed = match services.logs_store.flush_all().await {
        Ok(()) => services
            .metric_store
            .flush()
            .await
            .map_err(|error| error.to_string()),
        Err(error) => Err(error.to_string()),
    };
    match flushed {
        Ok(()) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            r#"{"flushed":true}"#,
        )
            .into_response(),
        Err(error) => {
            warn!(%error, "flush requested over HTTP failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "flush failed; see the server log",
            )
                .into_response()
        }
    }
}

/// `POST /_argus/compact`: one maintenance pass now — retention, space of
/// deleted streams, and every day's files merged into their final form;
/// metric roll-ups, retention and block merging (the server does all this
/// on its own over time).
pub async fn compact(State(state): State<Arc<AppState>>) -> Response {
    let Some(services) = state.services.get() else {
        return (StatusCode::SERVICE_UNAVAILABLE, r#"{"status":"starting"}"#).into_response();
    };
    let maintained = match services.logs_store.maintain(true).await {
        Ok(()) => services
            .metric_store
            .maintain()
            .await
            .map(|_| ())
            .map_err(|error| error.to_string()),
        Err(error) => Err(error.to_string()),
    };
    match maintained {
        Ok(()) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            r#"{"compacted":true}"#,
        )
            .into_response(),
        Err(error) => {
            warn!(%error, "compaction requested over HTTP failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "compaction failed; see the server log",
            )
                .into_response()
        }
    }
}

fn to_response(response: http::Response<Bytes>) -> Response {
    response.map(Body::from)
}

fn error_response(format: &ResponseFormat, error: &ApiError, request_id: &str) -> Response {
    if error.code.status() >= 500 {
        warn!(code = error.code.name(), message = %error.message, request_id, "request failed");
    } else {
        debug!(code = error.code.name(), message = %error.message, request_id, "request rejected");
    }
    to_response(argus_wire::encode_error(format, error, request_id))
}

/// Reads the body, refusing one larger than `max` before reading it whole.
async fn read_body(
    parts: &http::request::Parts,
    body: Body,
    max: usize,
) -> Result<Bytes, ApiError> {
    let too_large = || {
        ApiError::new(
            ErrorCode::RequestEntityTooLarge,
            format!("the request body is larger than the {max}-byte limit"),
        )
    };
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if declared.is_some_and(|length| length > max as u64) {
        return Err(too_large());
    }
    // Collect into one buffer sized from Content-Length: no regrowth copies
    // of large bodies.
    let mut buffer = bytes::BytesMut::with_capacity(declared.map_or(0, |length| length as usize));
    let mut body = Limited::new(body, max);
    while let Some(frame) = body.frame().await {
        match frame {
            Ok(frame) => {
                if let Ok(data) = frame.into_data() {
                    buffer.extend_from_slice(&data);
                }
            }
            Err(error) if error.downcast_ref::<LengthLimitError>().is_some() => {
                return Err(too_large());
            }
            Err(error) => {
                return Err(ApiError::new(
                    ErrorCode::Serialization,
                    format!("could not read the request body: {error}"),
                ));
            }
        }
    }
    Ok(buffer.freeze())
}

/// Inflates a `Content-Encoding: gzip` body (botocore compresses large
/// PutMetricData requests) after the signature, which covers the compressed
/// bytes, has been checked. The inflated size is capped like any body.
fn inflate(parts: &mut http::request::Parts, body: Bytes, max: usize) -> Result<Bytes, ApiError> {
    let gzip = parts
        .headers
        .get(header::CONTENT_ENCODING)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|encoding| {
            encoding
                .split(',')
                .any(|part| part.trim().eq_ignore_ascii_case("gzip"))
        });
    if !gzip {
        return Ok(body);
    }
    let mut inflated = Vec::new();
    let decoder = flate2::read::GzDecoder::new(&body[..]);
    std::io::Read::read_to_end(
        &mut std::io::Read::take(decoder, max as u64 + 1),
        &mut inflated,
    )
    .map_err(|error| {
        ApiError::new(
            ErrorCode::Serialization,
            format!("the gzip-compressed request body cannot be inflated: {error}"),
        )
    })?;
    if inflated.len() > max {
        return Err(ApiError::new(
            ErrorCode::RequestEntityTooLarge,
            format!("the request body inflates to more than the {max}-byte limit"),
        ));
    }
    parts.headers.remove(header::CONTENT_ENCODING);
    Ok(Bytes::from(inflated))
}

pub async fn aws_api(State(state): State<Arc<AppState>>, request: Request) -> Response {
    let request_id = new_request_id();
    let (mut parts, body) = request.into_parts();
    let scope = sigv4::credential_scope(&parts);
    let signing_service = match &scope {
        Ok(Some(scope)) => Some(scope.service.clone()),
        _ => None,
    };
    let format = argus_wire::guess_format(&parts, signing_service.as_deref());
    let query_style = format.protocol == Protocol::AwsQuery;

    let body = match read_body(&parts, body, state.config.max_body_bytes).await {
        Ok(body) => body,
        Err(error) => return error_response(&format, &error, &request_id),
    };
    match scope {
        Ok(Some(_)) => {}
        Ok(None) => {
            return error_response(
                &format,
                &AuthError::MissingAuthentication.to_api_error(query_style),
                &request_id,
            );
        }
        Err(error) => {
            return error_response(&format, &error.to_api_error(query_style), &request_id);
        }
    }
    let Some(secrets) = state.secrets.get() else {
        return error_response(&format, &starting(), &request_id);
    };
    let verified = match sigv4::verify(&parts, &body, secrets, SystemTime::now()) {
        Ok(verified) => verified,
        Err(error) => {
            return error_response(&format, &error.to_api_error(query_style), &request_id);
        }
    };
    let body = match inflate(&mut parts, body, state.config.max_body_bytes) {
        Ok(body) => body,
        Err(error) => return error_response(&format, &error, &request_id),
    };
    let route = match argus_wire::route(&parts, &body, Some(&verified.service)) {
        Ok(route) => route,
        Err(error) => return error_response(&format, &error, &request_id),
    };
    let format = route.format();
    let ctx = RequestContext {
        account_id: state.config.account_id.clone(),
        region: verified.region,
        access_key_id: verified.access_key_id,
        request_id: request_id.clone(),
    };
    match call(&state, &route, &parts, &body, &ctx).await {
        Ok(output) => {
            debug!(operation = %route.operation, request_id, "request served");
            to_response(argus_wire::encode_output(&route, &output, &request_id))
        }
        Err(error) => error_response(&format, &error, &request_id),
    }
}

/// `GET /`: the SubscribeURL and UnsubscribeURL links SNS puts in its
/// messages are unsigned GETs (`?Action=ConfirmSubscription&TopicArn=…&Token=…`,
/// `?Action=Unsubscribe&SubscriptionArn=…`), answered in awsQuery XML as
/// on SNS. Anything else — a signed GET among them — takes the API pipeline.
pub async fn root_get(state: State<Arc<AppState>>, request: Request) -> Response {
    let signed = request.headers().contains_key(header::AUTHORIZATION)
        || request
            .uri()
            .query()
            .is_some_and(|query| query.contains("X-Amz-Signature="));
    let params: HashMap<String, String> = request
        .uri()
        .query()
        .map(|query| {
            form_urlencoded::parse(query.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default();
    let action = params.get("Action").map(String::as_str);
    if signed || !matches!(action, Some("ConfirmSubscription" | "Unsubscribe")) {
        return aws_api(state, request).await;
    }
    let request_id = new_request_id();
    let Some(services) = state.services.get() else {
        return error_response(&sns_format(), &starting(), &request_id);
    };
    let param = |name: &str| params.get(name).map(String::as_str).unwrap_or("");
    let (operation, result) = if action == Some("ConfirmSubscription") {
        let result = services
            .sns
            .confirm_from_link(param("TopicArn"), param("Token"))
            .await;
        (
            "ConfirmSubscription",
            result.map(|arn| serde_json::json!({"SubscriptionArn": arn})),
        )
    } else {
        let result = services
            .sns
            .unsubscribe_from_link(param("SubscriptionArn"))
            .await;
        ("Unsubscribe", result.map(|()| serde_json::json!({})))
    };
    match result {
        Ok(output) => {
            let route = Route {
                protocol: Protocol::AwsQuery,
                service: Service::Sns,
                operation: operation.into(),
                query_mode: false,
            };
            to_response(argus_wire::encode_output(&route, &output, &request_id))
        }
        Err(error) => error_response(&sns_format(), &error, &request_id),
    }
}

fn sns_format() -> ResponseFormat {
    ResponseFormat {
        protocol: Protocol::AwsQuery,
        service: Some(Service::Sns),
        query_mode: false,
    }
}

/// `GET /_argus/sns/SimpleNotificationService.pem`: the certificate whose
/// key signs SNS messages (the envelope's SigningCertURL).
pub async fn sns_signing_certificate(State(state): State<Arc<AppState>>) -> Response {
    let Some(services) = state.services.get() else {
        return (StatusCode::SERVICE_UNAVAILABLE, r#"{"status":"starting"}"#).into_response();
    };
    let pem = services.sns.signing_certificate().to_string();
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/x-pem-file")],
        pem,
    )
        .into_response()
}

/// `GET /_argus/alarms/{name}?region=…`: one alarm and its recent history
/// as JSON — where the links in alarm notifications (Slack, Teams) lead.
pub async fn alarm_page(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let Some(services) = state.services.get() else {
        return (StatusCode::SERVICE_UNAVAILABLE, r#"{"status":"starting"}"#).into_response();
    };
    let ctx = RequestContext {
        account_id: state.config.account_id.clone(),
        region: params
            .get("region")
            .cloned()
            .unwrap_or_else(|| "us-east-1".to_string()),
        access_key_id: String::new(),
        request_id: new_request_id(),
    };
    let describe = services.cloudwatch.call(&ctx, "DescribeAlarms", serde_json::json!({"AlarmNames": [name], "AlarmTypes": ["MetricAlarm", "CompositeAlarm"]})).await;
    let history = services
        .cloudwatch
        .call(
            &ctx,
            "DescribeAlarmHistory",
            serde_json::json!({"AlarmName": name, "MaxRecords": 20}),
        )
        .await;
    let (Ok(describe), Ok(history)) = (describe, history) else {
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            "could not read the alarm",
        )
            .into_response();
    };
    let alarm = ["MetricAlarms", "CompositeAlarms"]
        .iter()
        .find_map(|member| {
            describe
                .get(*member)
                .and_then(|list| list.as_array())
                .and_then(|list| list.first())
                .cloned()
        });
    let Some(alarm) = alarm else {
        return (
            StatusCode::NOT_FOUND,
            format!("no alarm named `{name}` in {}", ctx.region),
        )
            .into_response();
    };
    let body =
        serde_json::json!({"Alarm": alarm, "RecentHistory": history.get("AlarmHistoryItems")});
    let text = serde_json::to_string_pretty(&body).unwrap_or_default();
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        text,
    )
        .into_response()
}

/// `GET /metrics`: Argus's own counters in the Prometheus text format —
/// alarm evaluations, state transitions, actions, SNS deliveries.
pub async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    let Some(services) = state.services.get() else {
        return (StatusCode::SERVICE_UNAVAILABLE, "# starting\n").into_response();
    };
    let mut text = String::new();
    let counters = services
        .cloudwatch
        .alarms
        .counters
        .snapshot()
        .into_iter()
        .chain(services.sns.counters.snapshot());
    for (name, kind, value) in counters {
        text.push_str(&format!("# TYPE {name} {kind}\n{name} {value}\n"));
    }
    text.push_str(&format!(
        "# TYPE argus_alarms gauge\nargus_alarms {}\n",
        services.cloudwatch.alarms.count()
    ));
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        text,
    )
        .into_response()
}

fn starting() -> ApiError {
    ApiError::service_unavailable(
        "Argus is starting: storage is still recovering; retry in a moment",
    )
}

async fn call(
    state: &AppState,
    route: &Route,
    parts: &http::request::Parts,
    body: &[u8],
    ctx: &RequestContext,
) -> Result<serde_json::Value, ApiError> {
    let Some(services) = state.services.get() else {
        return Err(starting());
    };
    let Some(service) = services.by_service.get(&route.service) else {
        return Err(ApiError::new(
            ErrorCode::UnknownOperation,
            format!(
                "the {:?} service is not available in this Argus build yet",
                route.service
            ),
        ));
    };
    if matches!(route.protocol, Protocol::AwsJson10 | Protocol::AwsJson11)
        && let Some(answer) = service.call_json(ctx, &route.operation, body).await
    {
        return answer;
    }
    let input = argus_wire::decode_input(route, parts, body)?;
    service.call(ctx, &route.operation, input).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ServerConfig;

    #[tokio::test]
    async fn health_is_503_until_storage_has_recovered_then_200() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut config = ServerConfig::new("127.0.0.1:0", dir.path());
        config.root_credentials = Some(crate::Credentials {
            access_key_id: "AKIDTEST".into(),
            secret_access_key: "s".into(),
        });
        let state = Arc::new(AppState::new(
            config,
            Arc::new(argus_core::SystemClock),
            None,
        ));
        let starting = health(State(Arc::clone(&state))).await;
        assert_eq!(starting.status(), StatusCode::SERVICE_UNAVAILABLE);
        state.start_services().await.expect("start");
        assert_eq!(
            health(State(Arc::clone(&state))).await.status(),
            StatusCode::OK
        );
        state.stop_services().await;
    }

    #[test]
    fn oversized_gzip_bodies_are_refused_while_inflating() {
        use std::io::Write;
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(&vec![b'a'; 10_000]).expect("compress");
        let compressed = Bytes::from(encoder.finish().expect("finish"));
        let request = http::Request::builder()
            .header("content-encoding", "gzip")
            .body(())
            .expect("request");
        let (mut parts, ()) = request.into_parts();
        let refused = inflate(&mut parts.clone(), compressed.clone(), 1000).expect_err("too large");
        assert_eq!(refused.code, ErrorCode::RequestEntityTooLarge);
        let inflated = inflate(&mut parts, compressed, 20_000).expect("inflates");
        assert_eq!(inflated.len(), 10_000);
        assert!(
            parts.headers.get(header::CONTENT_ENCODING).is_none(),
            "the header goes once the body is inflated"
        );
        let garbage = http::Request::builder()
            .header("content-encoding", "gzip")
            .body(())
            .expect("request");
        let error = inflate(
            &mut garbage.into_parts().0,
            Bytes::from_static(b"not gzip"),
            1000,
        )
        .expect_err("corrupt");
        assert_eq!(error.code, ErrorCode::Serialization);
    }
}
