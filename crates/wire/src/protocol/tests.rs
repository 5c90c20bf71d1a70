//! Protocol tests: botocore-generated requests decode to the expected
//! canonical input; outputs and errors encode to the golden bytes that
//! `tests/botocore_check.py` feeds to botocore's parsers; bad input of every
//! kind gets the right error and never a panic.
//!
//! Fixtures live in `crates/wire/tests/fixtures/` (made by
//! `tests/gen_fixtures.py`). `ARGUS_BLESS=1 cargo test -p argus-wire`
//! rewrites the golden `*.encoded.json` files.

use std::path::{Path, PathBuf};

use argus_core::{ApiError, ErrorCode};
use serde_json::{Value, json};

use super::*;
use crate::canonical;

fn fixtures_dir(kind: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(kind)
}

fn fixture_files(kind: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(fixtures_dir(kind))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            let name = path.file_name().unwrap().to_string_lossy();
            name.ends_with(".json") && !name.ends_with(".encoded.json")
        })
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no {kind} fixtures");
    files
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn parts(method: &str, uri: &str, headers: &[(&str, &str)]) -> http::request::Parts {
    let mut builder = http::Request::builder().method(method).uri(uri);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(()).unwrap().into_parts().0
}

fn json_parts(target: &str, version: &str) -> http::request::Parts {
    let content_type = format!("application/x-amz-json-{version}");
    parts(
        "POST",
        "/",
        &[("x-amz-target", target), ("content-type", &content_type)],
    )
}

fn cbor_parts(operation: &str) -> http::request::Parts {
    let path = format!("/service/GraniteServiceVersion20100801/operation/{operation}");
    parts(
        "POST",
        &path,
        &[
            ("smithy-protocol", "rpc-v2-cbor"),
            ("content-type", "application/cbor"),
            ("x-amzn-query-mode", "true"),
        ],
    )
}

fn form_parts() -> http::request::Parts {
    parts(
        "POST",
        "/",
        &[(
            "content-type",
            "application/x-www-form-urlencoded; charset=utf-8",
        )],
    )
}

/// Routes and decodes, returning the error if either fails.
fn decode(
    parts: &http::request::Parts,
    body: &[u8],
    signing: Option<&str>,
) -> Result<Value, ApiError> {
    let route = route(parts, body, signing)?;
    decode_input(&route, parts, body)
}

fn cbor_bytes(value: &ciborium::Value) -> Vec<u8> {
    let mut out = Vec::new();
    ciborium::into_writer(value, &mut out).unwrap();
    out
}

fn cbor_map(entries: Vec<(&str, ciborium::Value)>) -> ciborium::Value {
    ciborium::Value::Map(
        entries
            .into_iter()
            .map(|(k, v)| (ciborium::Value::Text(k.to_owned()), v))
            .collect(),
    )
}

// ---------------------------------------------------------------------------
// Requests written by botocore's own serializers.

#[test]
fn botocore_requests_decode_to_the_expected_canonical_input() {
    for path in fixture_files("requests") {
        let fixture = read_json(&path);
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let text = |key: &str| fixture[key].as_str().unwrap().to_owned();
        let uri = match text("query").as_str() {
            "" => text("path"),
            query => format!("{}?{query}", text("path")),
        };
        let headers: Vec<(String, String)> = fixture["headers"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
            .collect();
        let header_refs: Vec<(&str, &str)> = headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let request = parts(&text("method"), &uri, &header_refs);
        let body = canonical::decode_base64(&text("body_base64")).unwrap();

        let route = route(&request, &body, Some(&text("signing_name")))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(route.operation, text("operation"), "{name}");
        assert_eq!(route.service.signing_name(), text("signing_name"), "{name}");
        let expected_protocol = match (text("protocol").as_str(), route.service) {
            ("json", Service::CloudWatch) => Protocol::AwsJson10,
            ("json", _) => Protocol::AwsJson11,
            ("smithy-rpc-v2-cbor", _) => Protocol::RpcV2Cbor,
            _ => Protocol::AwsQuery,
        };
        assert_eq!(route.protocol, expected_protocol, "{name}");
        // botocore marks CloudWatch's JSON and CBOR requests as query mode.
        assert_eq!(
            route.query_mode,
            route.service == Service::CloudWatch && expected_protocol != Protocol::AwsQuery,
            "{name}"
        );

        if fixture["compressed"] == true {
            // boto3 gzips large PutMetricData bodies; inflating is the
            // transport's job, and decoding says so if it did not happen.
            let error = decode_input(&route, &request, &body).unwrap_err();
            assert!(error.message.contains("decompressed"), "{name}: {error}");
            continue;
        }
        let decoded =
            decode_input(&route, &request, &body).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(decoded, fixture["expected"], "{name}");
    }
}

/// Every prefix of every real request body: an error or a value, never a panic.
#[test]
fn truncated_botocore_bodies_never_panic() {
    for path in fixture_files("requests") {
        let fixture = read_json(&path);
        let headers: Vec<(String, String)> = fixture["headers"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
            .collect();
        let header_refs: Vec<(&str, &str)> = headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let request = parts(
            fixture["method"].as_str().unwrap(),
            fixture["path"].as_str().unwrap(),
            &header_refs,
        );
        let body = canonical::decode_base64(fixture["body_base64"].as_str().unwrap()).unwrap();
        let signing = fixture["signing_name"].as_str();
        for cut in 0..body.len() {
            let _ = decode(&request, &body[..cut], signing);
        }
        // Flip each byte too (bounded, the bodies are small).
        let mut mutated = body.clone();
        for index in 0..mutated.len() {
            let original = mutated[index];
            mutated[index] = original ^ 0xA5;
            let _ = decode(&request, &mutated, signing);
            mutated[index] = original;
        }
    }
}

#[test]
fn truncated_cbor_is_a_serialization_error() {
    let body = cbor_bytes(&cbor_map(vec![(
        "Namespace",
        ciborium::Value::Text("App".into()),
    )]));
    let error = decode(
        &cbor_parts("PutMetricData"),
        &body[..body.len() - 2],
        Some("monitoring"),
    )
    .unwrap_err();
    assert_eq!(error.code, ErrorCode::Serialization);
}

// ---------------------------------------------------------------------------
// Responses: golden encodings, checked against botocore by botocore_check.py.

fn encoded_view(response: &Response<Bytes>) -> Value {
    let mut headers = serde_json::Map::new();
    for (name, value) in response.headers() {
        headers.insert(
            name.as_str().to_owned(),
            Value::String(value.to_str().unwrap().to_owned()),
        );
    }
    let body = response.body();
    let mut view = json!({
        "status": response.status().as_u16(),
        "headers": headers,
        "body_base64": canonical::encode_base64(body),
    });
    let is_cbor = response
        .headers()
        .get("content-type")
        .is_some_and(|v| v == "application/cbor");
    if let (false, Ok(text)) = (is_cbor, std::str::from_utf8(body)) {
        view["body_text"] = Value::String(text.to_owned());
    }
    view
}

fn service_named(name: &str) -> Service {
    match name {
        "logs" => Service::Logs,
        "cloudwatch" => Service::CloudWatch,
        "sns" => Service::Sns,
        "cloudtrail" => Service::CloudTrail,
        "events" => Service::Events,
        other => panic!("unknown service {other}"),
    }
}

fn protocol_for(service: Service, name: &str) -> Protocol {
    match name {
        "json" => service.model().json_protocol().unwrap(),
        "smithy-rpc-v2-cbor" => Protocol::RpcV2Cbor,
        "query" => Protocol::AwsQuery,
        other => panic!("unknown protocol {other}"),
    }
}

fn encode_case(case: &Value) -> Response<Bytes> {
    let request_id = case["request_id"].as_str().unwrap();
    let service = case["service"].as_str().map(service_named);
    if case["kind"] == "output" {
        let service = service.unwrap();
        let route = Route {
            protocol: protocol_for(service, case["protocol"].as_str().unwrap()),
            service,
            operation: case["operation"].as_str().unwrap().to_owned(),
            query_mode: service == Service::CloudWatch,
        };
        return encode_output(&route, &case["output"], request_id);
    }
    let protocol = match case["protocol"].as_str().unwrap() {
        "json" => service
            .and_then(|s| s.model().json_protocol())
            .unwrap_or(Protocol::AwsJson11),
        other => protocol_for(Service::CloudWatch, other),
    };
    let format = ResponseFormat {
        protocol,
        service,
        query_mode: case["query_mode"].as_bool().unwrap(),
    };
    let code = ErrorCode::from_name(case["code"].as_str().unwrap()).unwrap();
    encode_error(
        &format,
        &ApiError::new(code, case["message"].as_str().unwrap()),
        request_id,
    )
}

#[test]
fn responses_match_their_golden_encodings() {
    let bless = std::env::var_os("ARGUS_BLESS").is_some();
    let mut missing = Vec::new();
    for path in fixture_files("responses") {
        let case = read_json(&path);
        let view = encoded_view(&encode_case(&case));
        let golden_path = path.with_extension("encoded.json");
        if bless {
            let text = serde_json::to_string_pretty(&view).unwrap() + "\n";
            std::fs::write(&golden_path, text).unwrap();
            continue;
        }
        match std::fs::read_to_string(&golden_path) {
            Ok(text) => {
                let golden: Value = serde_json::from_str(&text).unwrap();
                assert_eq!(
                    view,
                    golden,
                    "{} (rewrite with ARGUS_BLESS=1 after checking)",
                    golden_path.display()
                );
            }
            Err(_) => missing.push(golden_path.display().to_string()),
        }
    }
    assert!(
        missing.is_empty(),
        "golden files missing (run with ARGUS_BLESS=1): {missing:?}"
    );
}

// ---------------------------------------------------------------------------
// Round trips: what a handler returns reaches the client and back intact.

#[test]
fn cbor_output_round_trips_through_the_decoder() {
    // GetMetricData's output has lists, nested structures, timestamps.
    let model = Service::CloudWatch.model();
    let operation = model.operation("GetMetricData").unwrap();
    let output = json!({
        "MetricDataResults": [{"Id": "a", "Timestamps": [1704164640, 1704164580.5], "Values": [1.5, "NaN"], "StatusCode": "Complete"}],
        "Messages": []
    });
    let body = cbor::encode_output(model, operation.output.as_ref().unwrap(), &output).unwrap();
    let mut violations = Vec::new();
    let decoded =
        cbor::decode_input(model, operation.output.as_ref(), &body, &mut violations).unwrap();
    assert!(violations.is_empty(), "{violations:?}");
    assert_eq!(decoded, output);
    // Timestamps travel as tag 1.
    let raw: ciborium::Value = ciborium::from_reader(body.as_slice()).unwrap();
    let text = format!("{raw:?}");
    assert!(
        text.contains("Tag(1, Integer(Integer(1704164640)))"),
        "{text}"
    );
    assert!(text.contains("Tag(1, Float(1704164580.5))"), "{text}");
}

#[test]
fn json_output_keeps_members_in_the_model_and_drops_the_rest() {
    let route = Route {
        protocol: Protocol::AwsJson11,
        service: Service::Logs,
        operation: "DescribeLogGroups".into(),
        query_mode: false,
    };
    let output = json!({"logGroups": [{"logGroupName": "g", "creationTime": 1, "bogus": true}], "internal": 1});
    let response = encode_output(&route, &output, "rid");
    let body: Value = serde_json::from_slice(response.body()).unwrap();
    assert_eq!(
        body,
        json!({"logGroups": [{"logGroupName": "g", "creationTime": 1}]})
    );
    assert_eq!(
        response.headers()["content-type"],
        "application/x-amz-json-1.1"
    );
    assert_eq!(response.headers()["x-amzn-requestid"], "rid");
}

#[test]
fn cbor_operation_without_output_has_an_empty_body() {
    let route = Route {
        protocol: Protocol::RpcV2Cbor,
        service: Service::CloudWatch,
        operation: "PutMetricData".into(),
        query_mode: true,
    };
    let response = encode_output(&route, &json!({}), "rid");
    assert_eq!(response.status(), 200);
    assert!(response.body().is_empty());
    assert!(response.headers().get("content-type").is_none());
    assert_eq!(response.headers()["smithy-protocol"], "rpc-v2-cbor");
}

#[test]
fn query_output_uses_result_wrapper_and_namespace() {
    let route = Route {
        protocol: Protocol::AwsQuery,
        service: Service::Sns,
        operation: "ListTopics".into(),
        query_mode: false,
    };
    let response = encode_output(
        &route,
        &json!({"Topics": [{"TopicArn": "arn:1"}], "NextToken": "n&"}),
        "rid-1",
    );
    let body = std::str::from_utf8(response.body()).unwrap();
    assert_eq!(
        body,
        "<ListTopicsResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\"><ListTopicsResult>\
         <Topics><member><TopicArn>arn:1</TopicArn></member></Topics><NextToken>n&amp;</NextToken>\
         </ListTopicsResult><ResponseMetadata><RequestId>rid-1</RequestId></ResponseMetadata></ListTopicsResponse>"
    );
    assert_eq!(response.headers()["content-type"], "text/xml");
}

#[test]
fn query_maps_use_the_models_location_names() {
    // SNS MessageAttributes: entry.N.Name / entry.N.Value.
    let body = b"Action=Publish&Version=2010-03-31&TopicArn=t&Message=m\
        &MessageAttributes.entry.2.Name=b&MessageAttributes.entry.2.Value.DataType=Number&MessageAttributes.entry.2.Value.StringValue=2\
        &MessageAttributes.entry.1.Name=a&MessageAttributes.entry.1.Value.DataType=String&MessageAttributes.entry.1.Value.StringValue=x";
    let decoded = decode(&form_parts(), body, Some("sns")).unwrap();
    assert_eq!(
        decoded["MessageAttributes"],
        json!({"a": {"DataType": "String", "StringValue": "x"}, "b": {"DataType": "Number", "StringValue": "2"}})
    );
}

#[test]
fn query_lists_follow_index_order_and_accept_the_empty_form() {
    let body =
        b"Action=DescribeAlarms&AlarmNames.member.10=j&AlarmNames.member.2=b&AlarmNames.member.1=a";
    let decoded = decode(&form_parts(), body, Some("monitoring")).unwrap();
    assert_eq!(decoded["AlarmNames"], json!(["a", "b", "j"]));
    let decoded = decode(
        &form_parts(),
        b"Action=DescribeAlarms&AlarmNames=",
        Some("monitoring"),
    )
    .unwrap();
    assert_eq!(decoded["AlarmNames"], json!([]));
    // A huge index is just a key: nothing is allocated for the gap.
    let body = b"Action=DescribeAlarms&AlarmNames.member.18446744073709551615=z";
    let decoded = decode(&form_parts(), body, Some("monitoring")).unwrap();
    assert_eq!(decoded["AlarmNames"], json!(["z"]));
}

#[test]
fn get_requests_carry_query_parameters_in_the_url() {
    let request = parts(
        "GET",
        "/?Action=ListTopics&Version=2010-03-31&NextToken=abc",
        &[],
    );
    let found = route(&request, b"", Some("sns")).unwrap();
    assert_eq!(
        (found.protocol, found.service, found.operation.as_str()),
        (Protocol::AwsQuery, Service::Sns, "ListTopics")
    );
    assert_eq!(
        decode_input(&found, &request, b"").unwrap(),
        json!({"NextToken": "abc"})
    );
}

// ---------------------------------------------------------------------------
// Routing.

#[test]
fn routing_by_target_path_and_action() {
    let found = route(
        &json_parts("Logs_20140328.PutLogEvents", "1.1"),
        b"{}",
        None,
    )
    .unwrap();
    assert_eq!(
        (found.protocol, found.service, found.operation.as_str()),
        (Protocol::AwsJson11, Service::Logs, "PutLogEvents")
    );
    assert!(!found.query_mode);

    let found = route(&cbor_parts("GetMetricData"), b"", None).unwrap();
    assert_eq!(
        (found.protocol, found.service),
        (Protocol::RpcV2Cbor, Service::CloudWatch)
    );
    assert!(found.query_mode);

    // A path prefix is tolerated.
    let request = parts(
        "POST",
        "/prefix/service/GraniteServiceVersion20100801/operation/ListMetrics",
        &[("smithy-protocol", "rpc-v2-cbor")],
    );
    assert_eq!(route(&request, b"", None).unwrap().operation, "ListMetrics");

    // awsQuery: the signing scope picks the service; without it the Version does.
    let found = route(
        &form_parts(),
        b"Action=ListMetrics&Version=2010-08-01",
        None,
    )
    .unwrap();
    assert_eq!(found.service, Service::CloudWatch);
    let found = route(
        &form_parts(),
        b"Action=ListTagsForResource&Version=2010-03-31",
        None,
    )
    .unwrap();
    assert_eq!(found.service, Service::Sns);
    let found = route(
        &form_parts(),
        b"Action=ListTagsForResource",
        Some("monitoring"),
    )
    .unwrap();
    assert_eq!(found.service, Service::CloudWatch);

    // CloudTrail's target prefix itself contains dots.
    let target = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents";
    assert_eq!(
        route(&json_parts(target, "1.1"), b"{}", None)
            .unwrap()
            .service,
        Service::CloudTrail
    );
}

#[test]
fn unknown_operations_get_the_protocols_error() {
    let error = route(
        &json_parts("Logs_20140328.DropEverything", "1.1"),
        b"{}",
        None,
    )
    .unwrap_err();
    assert_eq!(error.code, ErrorCode::UnknownOperation);
    let error = route(
        &json_parts("NoSuchService_1.PutLogEvents", "1.1"),
        b"{}",
        None,
    )
    .unwrap_err();
    assert_eq!(error.code, ErrorCode::UnknownOperation);
    let error = route(&cbor_parts("Nope"), b"", None).unwrap_err();
    assert_eq!(error.code, ErrorCode::UnknownOperation);

    let error = route(
        &form_parts(),
        b"Action=Nope&Version=2010-03-31",
        Some("sns"),
    )
    .unwrap_err();
    assert_eq!(error.code, ErrorCode::InvalidAction);
    assert_eq!(
        error.message,
        "The action Nope is not valid for this web service."
    );
    let error = route(&form_parts(), b"Version=2010-03-31", Some("sns")).unwrap_err();
    assert_eq!(error.code, ErrorCode::MissingAction);
    // Logs does not speak awsQuery.
    let error = route(&form_parts(), b"Action=PutLogEvents", Some("logs")).unwrap_err();
    assert_eq!(error.code, ErrorCode::InvalidAction);

    // Rendered as the client expects: JSON with __type, XML with InvalidAction.
    let request = json_parts("Logs_20140328.DropEverything", "1.1");
    let error = route(&request, b"{}", Some("logs")).unwrap_err();
    let response = encode_error(&guess_format(&request, Some("logs")), &error, "r");
    assert_eq!(response.status(), 400);
    let body: Value = serde_json::from_slice(response.body()).unwrap();
    assert_eq!(body["__type"], "UnknownOperationException");
}

#[test]
fn guess_format_before_routing() {
    let format = guess_format(
        &json_parts("GraniteServiceVersion20100801.ListMetrics", "1.0"),
        None,
    );
    assert_eq!(
        format,
        ResponseFormat {
            protocol: Protocol::AwsJson10,
            service: Some(Service::CloudWatch),
            query_mode: false
        }
    );
    let format = guess_format(&cbor_parts("ListMetrics"), None);
    assert_eq!(
        format,
        ResponseFormat {
            protocol: Protocol::RpcV2Cbor,
            service: Some(Service::CloudWatch),
            query_mode: true
        }
    );
    let format = guess_format(&form_parts(), Some("sns"));
    assert_eq!(
        format,
        ResponseFormat {
            protocol: Protocol::AwsQuery,
            service: Some(Service::Sns),
            query_mode: false
        }
    );
    let format = guess_format(&parts("GET", "/?Action=ListTopics", &[]), Some("sns"));
    assert_eq!(format.protocol, Protocol::AwsQuery);
    let format = guess_format(&parts("POST", "/", &[]), Some("sns"));
    assert_eq!(format.protocol, Protocol::AwsQuery);
    let format = guess_format(&parts("POST", "/", &[]), Some("monitoring"));
    assert_eq!(format.protocol, Protocol::AwsJson10);
    let format = guess_format(&parts("POST", "/", &[]), None);
    assert_eq!(
        format,
        ResponseFormat {
            protocol: Protocol::AwsJson11,
            service: None,
            query_mode: false
        }
    );
    // The JSON version follows the Content-Type the client sent.
    let format = guess_format(&json_parts("Logs_20140328.PutLogEvents", "1.0"), None);
    assert_eq!(format.protocol, Protocol::AwsJson10);
}

// ---------------------------------------------------------------------------
// Bad input.

#[test]
fn malformed_json_is_a_serialization_error() {
    let request = json_parts("Logs_20140328.DescribeLogGroups", "1.1");
    for body in [
        &b"{\"limit\": 5"[..],
        b"[1, 2]",
        b"\"text\"",
        b"{\"a\": tru}",
        b"\xff\xfe{}",
        b"{\"logGroupNamePrefix\": \"\xc3\x28\"}",
    ] {
        let error = decode(&request, body, Some("logs")).unwrap_err();
        assert_eq!(
            error.code,
            ErrorCode::Serialization,
            "{}",
            String::from_utf8_lossy(body)
        );
    }
    // Empty and whitespace bodies are an empty input.
    assert_eq!(decode(&request, b"", Some("logs")).unwrap(), json!({}));
    assert_eq!(decode(&request, b"  \n", Some("logs")).unwrap(), json!({}));
    // Deep nesting stops at serde_json's recursion limit, not the stack.
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert_eq!(
        decode(&request, deep.as_bytes(), Some("logs"))
            .unwrap_err()
            .code,
        ErrorCode::Serialization
    );
}

#[test]
fn ill_typed_members_are_validation_errors_naming_the_member() {
    let request = json_parts("Logs_20140328.GetLogEvents", "1.1");
    let error = decode(
        &request,
        br#"{"logGroupName": "g", "logStreamName": 5, "limit": "ten"}"#,
        Some("logs"),
    )
    .unwrap_err();
    assert_eq!(error.code, ErrorCode::InvalidParameter);
    assert_eq!(
        error.message,
        "2 validation errors detected: Value '5' at 'logStreamName' failed to satisfy constraint: Member must be of type string; \
         Value 'ten' at 'limit' failed to satisfy constraint: Member must be of type integer"
    );
    // Integers must fit: `limit` is an i32, `startTime` an i64.
    let error = decode(
        &request,
        br#"{"logGroupName": "g", "logStreamName": "s", "limit": 3000000000}"#,
        Some("logs"),
    )
    .unwrap_err();
    assert!(
        error
            .message
            .contains("at 'limit' failed to satisfy constraint: Member must be of type integer"),
        "{}",
        error.message
    );
    let error = decode(
        &request,
        br#"{"logGroupName": "g", "logStreamName": "s", "startTime": 1e30}"#,
        Some("logs"),
    )
    .unwrap_err();
    assert!(error.message.contains("'startTime'"), "{}", error.message);
    let ok = decode(
        &request,
        br#"{"logGroupName": "g", "logStreamName": "s", "startTime": 9223372036854775807}"#,
        Some("logs"),
    );
    assert_eq!(ok.unwrap()["startTime"], json!(i64::MAX));

    // Nested members are named by their path.
    let request = json_parts("Logs_20140328.PutLogEvents", "1.1");
    let body = br#"{"logGroupName": "g", "logStreamName": "s", "logEvents": [{"timestamp": 1, "message": "m"}, {"timestamp": "x", "message": "m"}]}"#;
    let error = decode(&request, body, Some("logs")).unwrap_err();
    assert!(error.message.contains("at 'logEvents.2.member.timestamp' failed to satisfy constraint: Member must be of type long"), "{}", error.message);

    // CloudWatch: the framework's ValidationException.
    let request = json_parts("GraniteServiceVersion20100801.SetAlarmState", "1.0");
    let error = decode(
        &request,
        br#"{"AlarmName": "a", "StateValue": "INVALID", "StateReason": "r"}"#,
        Some("monitoring"),
    )
    .unwrap_err();
    assert_eq!(error.code, ErrorCode::Validation);
    assert!(
        error
            .message
            .starts_with("1 validation error detected: Value 'INVALID' at 'stateValue'")
    );

    // SNS over awsQuery: ValidationError.
    let error = decode(&form_parts(), b"Action=Publish&TopicArn=t", Some("sns")).unwrap_err();
    assert_eq!(error.code, ErrorCode::ValidationError);
    assert_eq!(
        error.message,
        "1 validation error detected: Value null at 'message' failed to satisfy constraint: Member must not be null"
    );
    let error = decode(
        &form_parts(),
        b"Action=ListMetrics&RecentlyActive=maybe",
        Some("monitoring"),
    )
    .unwrap_err();
    assert!(
        error.message.contains("Member must satisfy enum value set"),
        "{}",
        error.message
    );
    let error = decode(
        &form_parts(),
        b"Action=DescribeAlarms&MaxRecords=lots",
        Some("monitoring"),
    )
    .unwrap_err();
    assert!(error.message.contains("Value 'lots' at 'maxRecords' failed to satisfy constraint: Member must be of type integer"), "{}", error.message);
    let error = decode(
        &form_parts(),
        b"Action=GetMetricStatistics&StartTime=yesterday",
        Some("monitoring"),
    )
    .unwrap_err();
    assert!(error.message.contains("Value 'yesterday' at 'startTime' failed to satisfy constraint: Member must be of type timestamp"), "{}", error.message);
}

#[test]
fn json_doubles_accept_what_botocore_sends() {
    let request = json_parts("GraniteServiceVersion20100801.PutMetricData", "1.0");
    let body = br#"{"Namespace": "n", "MetricData": [{"MetricName": "m", "Value": "NaN", "Values": ["Infinity", "-Infinity", 1, 2.5]}]}"#;
    let decoded = decode(&request, body, Some("monitoring")).unwrap();
    assert_eq!(decoded["MetricData"][0]["Value"], "NaN");
    assert_eq!(
        decoded["MetricData"][0]["Values"],
        json!(["Infinity", "-Infinity", 1.0, 2.5])
    );
    let error = decode(
        &request,
        br#"{"Namespace": "n", "MetricData": [{"MetricName": "m", "Value": "nan"}]}"#,
        Some("monitoring"),
    )
    .unwrap_err();
    assert!(
        error.message.contains("Member must be of type double"),
        "{}",
        error.message
    );
}

#[test]
fn blobs_reach_handlers_as_padded_base64() {
    // SNS BinaryValue over awsQuery, sent without padding.
    let body = b"Action=Publish&TopicArn=t&Message=m&MessageAttributes.entry.1.Name=b\
        &MessageAttributes.entry.1.Value.DataType=Binary&MessageAttributes.entry.1.Value.BinaryValue=aGk";
    let decoded = decode(&form_parts(), body, Some("sns")).unwrap();
    assert_eq!(decoded["MessageAttributes"]["b"]["BinaryValue"], "aGk=");
    let error = decode(&form_parts(), &[&body[..], b"!!"].concat(), Some("sns")).unwrap_err();
    assert!(
        error.message.contains("Member must be of type blob"),
        "{}",
        error.message
    );
}

#[test]
fn gzip_bodies_must_be_inflated_by_the_transport() {
    let request = parts(
        "POST",
        "/",
        &[
            (
                "x-amz-target",
                "GraniteServiceVersion20100801.PutMetricData",
            ),
            ("content-type", "application/x-amz-json-1.0"),
            ("content-encoding", "gzip"),
        ],
    );
    let error = decode(&request, &[0x1f, 0x8b, 8, 0, 0, 0], Some("monitoring")).unwrap_err();
    assert_eq!(error.code, ErrorCode::Serialization);
    assert!(error.message.contains("decompressed"));
    // Already inflated (header left in place): decoded normally.
    assert!(
        decode(
            &request,
            br#"{"Namespace": "n", "MetricData": []}"#,
            Some("monitoring")
        )
        .is_ok()
    );
}

#[test]
fn invalid_utf8_query_is_malformed() {
    let error = decode(&form_parts(), b"Action=Publish&Message=%FF%FE", Some("sns")).unwrap_err();
    assert_eq!(error.code, ErrorCode::MalformedQueryString);
    let error = decode(&form_parts(), b"Action=Publish&Message=\xff", Some("sns")).unwrap_err();
    assert_eq!(error.code, ErrorCode::MalformedQueryString);
}

#[test]
fn cbor_length_prefixes_larger_than_the_body_fail_fast() {
    let request = cbor_parts("PutMetricData");
    // Map header then a text string claiming 2^64-1 bytes.
    let huge_text = [
        0xa1, 0x7b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, b'a',
    ];
    // A byte string, an array and a map claiming 2^63 entries.
    let huge_bytes = [
        0xa1, 0x69, b'N', b'a', b'm', b'e', b's', b'p', b'a', b'c', b'e', 0x5b, 0x80, 0, 0, 0, 0,
        0, 0, 0,
    ];
    let huge_array = [
        0xa1, 0x6a, b'M', b'e', b't', b'r', b'i', b'c', b'D', b'a', b't', b'a', 0x9b, 0x80, 0, 0,
        0, 0, 0, 0, 0, 0xa0,
    ];
    let huge_map = [0xbb, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
    for body in [&huge_text[..], &huge_bytes, &huge_array, &huge_map] {
        let error = decode(&request, body, Some("monitoring")).unwrap_err();
        assert_eq!(error.code, ErrorCode::Serialization);
    }
}

#[test]
fn cbor_oddities_are_handled() {
    let request = cbor_parts("PutMetricData");
    // Deep nesting is refused by the recursion limit.
    let mut deep = vec![0x81u8; 10_000];
    deep.push(0xa0);
    assert_eq!(
        decode(&request, &deep, Some("monitoring"))
            .unwrap_err()
            .code,
        ErrorCode::Serialization
    );
    // Trailing bytes after the item.
    assert_eq!(
        decode(&request, &[0xa0, 0x00], Some("monitoring"))
            .unwrap_err()
            .code,
        ErrorCode::Serialization
    );
    // Not a map at the top.
    assert_eq!(
        decode(&request, &[0x01], Some("monitoring"))
            .unwrap_err()
            .code,
        ErrorCode::Serialization
    );
    // Invalid UTF-8 in a text string.
    let bad_text = [
        0xa1, 0x69, b'N', b'a', b'm', b'e', b's', b'p', b'a', b'c', b'e', 0x62, 0xc3, 0x28,
    ];
    assert_eq!(
        decode(&request, &bad_text, Some("monitoring"))
            .unwrap_err()
            .code,
        ErrorCode::Serialization
    );
    // Indefinite-length map (what some encoders write), with an untagged
    // timestamp and a half-precision NaN.
    let body = [
        &[0xbf][..],
        &cbor_bytes(&ciborium::Value::Text("Namespace".into())),
        &cbor_bytes(&ciborium::Value::Text("n".into())),
        &cbor_bytes(&ciborium::Value::Text("MetricData".into())),
        &[0x81, 0xa3],
        &cbor_bytes(&ciborium::Value::Text("MetricName".into())),
        &cbor_bytes(&ciborium::Value::Text("m".into())),
        &cbor_bytes(&ciborium::Value::Text("Timestamp".into())),
        &cbor_bytes(&ciborium::Value::Integer(1_704_164_645.into())),
        &cbor_bytes(&ciborium::Value::Text("Value".into())),
        &[0xf9, 0x7e, 0x00],
        &[0xff],
    ]
    .concat();
    let decoded = decode(&request, &body, Some("monitoring")).unwrap();
    assert_eq!(
        decoded,
        json!({"Namespace": "n", "MetricData": [{"MetricName": "m", "Timestamp": 1_704_164_645, "Value": "NaN"}]})
    );
    // Wrong types name the member.
    let body = cbor_bytes(&cbor_map(vec![(
        "Namespace",
        ciborium::Value::Integer(5.into()),
    )]));
    let error = decode(&request, &body, Some("monitoring")).unwrap_err();
    assert!(
        error.message.contains(
            "Value '5' at 'namespace' failed to satisfy constraint: Member must be of type string"
        ),
        "{}",
        error.message
    );
}

/// A small deterministic generator, so the fuzz test needs no dependency.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn random_bytes_never_panic_any_decoder() {
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let requests = [
        (json_parts("Logs_20140328.PutLogEvents", "1.1"), "logs"),
        (cbor_parts("PutMetricData"), "monitoring"),
        (cbor_parts("GetMetricData"), "monitoring"),
        (form_parts(), "sns"),
    ];
    for _ in 0..3000 {
        let length = (rng.next() % 64) as usize;
        let mut body: Vec<u8> = (0..length).map(|_| rng.next() as u8).collect();
        // Bias toward structure: start CBOR bodies with a map header.
        if rng.next().is_multiple_of(2) && !body.is_empty() {
            body[0] = 0xa0 | (body[0] & 0x1f);
        }
        for (request, signing) in &requests {
            let _ = decode(request, &body, Some(signing));
        }
        let form: Vec<u8> = body
            .iter()
            .map(|b| b"Action=Publish&.=%0F1member"[usize::from(*b) % 27])
            .collect();
        let _ = decode(&form_parts(), &form, Some("sns"));
    }
}

// ---------------------------------------------------------------------------
// Errors.

#[test]
fn json_errors_carry_type_message_and_query_error_header() {
    let format = ResponseFormat {
        protocol: Protocol::AwsJson10,
        service: Some(Service::CloudWatch),
        query_mode: true,
    };
    let error = ApiError::new(ErrorCode::InvalidParameterValue, "bad value");
    let response = encode_error(&format, &error, "rid");
    assert_eq!(response.status(), 400);
    assert_eq!(
        response.headers()["content-type"],
        "application/x-amz-json-1.0"
    );
    assert_eq!(
        response.headers()["x-amzn-query-error"],
        "InvalidParameterValue;Sender"
    );
    assert_eq!(
        response.headers()["x-amzn-errortype"],
        "InvalidParameterValueException"
    );
    let body: Value = serde_json::from_slice(response.body()).unwrap();
    assert_eq!(
        body,
        json!({"__type": "InvalidParameterValueException", "message": "bad value"})
    );

    // Without query mode there is no header; Logs never has one.
    let quiet = ResponseFormat {
        query_mode: false,
        ..format
    };
    assert!(
        encode_error(&quiet, &error, "rid")
            .headers()
            .get("x-amzn-query-error")
            .is_none()
    );
    let logs = ResponseFormat {
        protocol: Protocol::AwsJson11,
        service: Some(Service::Logs),
        query_mode: true,
    };
    let response = encode_error(
        &logs,
        &ApiError::not_found("The specified log group does not exist."),
        "rid",
    );
    assert!(response.headers().get("x-amzn-query-error").is_none());
    assert_eq!(response.status(), 400);
}

#[test]
fn model_statuses_win_over_defaults() {
    // CloudWatch's ResourceNotFound is a 404 with no message (recorded from AWS).
    let format = ResponseFormat {
        protocol: Protocol::RpcV2Cbor,
        service: Some(Service::CloudWatch),
        query_mode: true,
    };
    let response = encode_error(
        &format,
        &ApiError::new(ErrorCode::CloudWatchResourceNotFound, ""),
        "rid",
    );
    assert_eq!(response.status(), 404);
    assert_eq!(
        response.headers()["x-amzn-query-error"],
        "ResourceNotFound;Sender"
    );
    let body: ciborium::Value = ciborium::from_reader(response.body().as_ref()).unwrap();
    assert_eq!(
        body,
        cbor_map(vec![(
            "__type",
            ciborium::Value::Text("ResourceNotFound".into())
        )])
    );

    // A 5xx is the receiver's fault.
    let format = ResponseFormat {
        protocol: Protocol::AwsQuery,
        service: Some(Service::Sns),
        query_mode: false,
    };
    let response = encode_error(&format, &ApiError::internal(), "rid");
    assert_eq!(response.status(), 500);
    assert!(
        std::str::from_utf8(response.body())
            .unwrap()
            .contains("<Type>Receiver</Type>")
    );
}

#[test]
fn query_errors_are_xml_with_the_query_code() {
    let format = ResponseFormat {
        protocol: Protocol::AwsQuery,
        service: Some(Service::Sns),
        query_mode: false,
    };
    let error = ApiError::new(
        ErrorCode::SnsInvalidParameter,
        "Invalid parameter: <TopicArn> & \"more\"",
    );
    let response = encode_error(&format, &error, "rid-9");
    assert_eq!(response.status(), 400);
    assert_eq!(response.headers()["content-type"], "text/xml");
    assert_eq!(
        std::str::from_utf8(response.body()).unwrap(),
        "<ErrorResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\"><Error><Type>Sender</Type>\
         <Code>InvalidParameter</Code><Message>Invalid parameter: &lt;TopicArn&gt; &amp; &quot;more&quot;</Message>\
         </Error><RequestId>rid-9</RequestId></ErrorResponse>"
    );
}

#[test]
fn error_shape_members_are_encoded_in_every_protocol() {
    let error = ApiError::new(ErrorCode::DashboardInvalidInputError, "invalid body").with_members(json!({
        "dashboardValidationMessages": [{"DataPath": "/widgets/0", "Message": "Should be <= 24"}],
        "notInTheShape": 1
    }));
    let format = |protocol| ResponseFormat { protocol, service: Some(Service::CloudWatch), query_mode: true };

    let body: Value = serde_json::from_slice(encode_error(&format(Protocol::AwsJson10), &error, "r").body()).unwrap();
    assert_eq!(
        body,
        json!({"__type": "DashboardInvalidInputError", "message": "invalid body",
               "dashboardValidationMessages": [{"DataPath": "/widgets/0", "Message": "Should be <= 24"}]})
    );

    let response = encode_error(&format(Protocol::RpcV2Cbor), &error, "r");
    let body: ciborium::Value = ciborium::from_reader(response.body().as_ref()).unwrap();
    let entries = body.as_map().unwrap();
    let keys: Vec<&str> = entries.iter().filter_map(|(key, _)| key.as_text()).collect();
    assert_eq!(keys, ["__type", "message", "dashboardValidationMessages"]);

    let xml = encode_error(&format(Protocol::AwsQuery), &error, "r");
    let text = std::str::from_utf8(xml.body()).unwrap();
    assert!(
        text.contains(
            "<Code>InvalidParameterInput</Code><Message>invalid body</Message><dashboardValidationMessages>\
             <member><DataPath>/widgets/0</DataPath><Message>Should be &lt;= 24</Message></member>\
             </dashboardValidationMessages></Error>"
        ),
        "{text}"
    );
}

#[test]
fn invalid_request_ids_do_not_panic() {
    let format = ResponseFormat {
        protocol: Protocol::AwsJson11,
        service: None,
        query_mode: false,
    };
    let response = encode_error(&format, &ApiError::internal(), "bad\nid");
    assert!(response.headers().get("x-amzn-requestid").is_none());
    assert_eq!(response.status(), 500);
}

#[test]
fn every_error_code_renders_in_every_protocol() {
    for &code in ErrorCode::ALL {
        for protocol in [
            Protocol::AwsJson10,
            Protocol::AwsJson11,
            Protocol::RpcV2Cbor,
            Protocol::AwsQuery,
        ] {
            for service in [
                None,
                Some(Service::Logs),
                Some(Service::CloudWatch),
                Some(Service::Sns),
            ] {
                let format = ResponseFormat {
                    protocol,
                    service,
                    query_mode: true,
                };
                let response = encode_error(&format, &ApiError::new(code, "m"), "r");
                assert!(response.status().as_u16() >= 400, "{code:?} {protocol:?}");
                assert!(!response.body().is_empty());
            }
        }
    }
}

#[test]
fn deeply_nested_cbor_tags_are_refused_not_overflowed() {
    let request = cbor_parts("PutMetricData");
    let mut body = vec![0xa1, 0x69];
    body.extend_from_slice(b"Namespace");
    body.extend(std::iter::repeat_n(0xc6u8, 200_000));
    body.push(0x00);
    let error = decode(&request, &body, Some("monitoring")).unwrap_err();
    assert_eq!(error.code, ErrorCode::Serialization);
}
