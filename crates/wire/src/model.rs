//! Service models: the embedded, stripped copies of botocore's
//! `service-2.json` (see `models/strip.py`) parsed once into lookup tables of
//! operations and shapes.
//!
//! A model is the interface spec for one service: which protocols it speaks,
//! its JSON target prefix and XML namespace, every operation's input/output
//! shapes, and the error shapes with their awsQuery codes and HTTP statuses.
//! The format is botocore's (shape names, `members`, `required`, `min`, …),
//! documented at <https://smithy.io/2.0/aws/protocols/>.
//!
//! The models are compiled in; a model that does not parse is a build defect
//! caught by this module's tests, never a runtime condition.

use std::collections::HashMap;
use std::sync::OnceLock;

use argus_core::ErrorCode;
use indexmap::IndexMap;
use regex::Regex;
use serde::Deserialize;

use crate::protocol::Protocol;

/// The AWS services Argus speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Service {
    Logs,
    CloudWatch,
    Sns,
    CloudTrail,
    Events,
}

impl Service {
    /// Every service, in a fixed order.
    pub fn all() -> &'static [Service] {
        &[
            Service::Logs,
            Service::CloudWatch,
            Service::Sns,
            Service::CloudTrail,
            Service::Events,
        ]
    }

    /// The SigV4 signing name (the service in the credential scope).
    pub fn signing_name(self) -> &'static str {
        match self {
            Service::Logs => "logs",
            Service::CloudWatch => "monitoring",
            Service::Sns => "sns",
            Service::CloudTrail => "cloudtrail",
            Service::Events => "events",
        }
    }

    /// The service a SigV4 credential scope names, if Argus speaks it.
    pub fn from_signing_name(name: &str) -> Option<Service> {
        Service::all()
            .iter()
            .copied()
            .find(|service| service.signing_name() == name)
    }

    /// The service whose awsJson `X-Amz-Target` prefix (and rpc-v2-cbor
    /// service name) is `prefix`.
    pub fn from_target_prefix(prefix: &str) -> Option<Service> {
        Service::all()
            .iter()
            .copied()
            .find(|service| service.model().target_prefix() == Some(prefix))
    }

    /// The parsed model, loaded on first use.
    pub fn model(self) -> &'static ServiceModel {
        static MODELS: [OnceLock<ServiceModel>; 5] = [
            OnceLock::new(),
            OnceLock::new(),
            OnceLock::new(),
            OnceLock::new(),
            OnceLock::new(),
        ];
        let (slot, source) = match self {
            Service::Logs => (&MODELS[0], include_str!("../models/logs.json")),
            Service::CloudWatch => (&MODELS[1], include_str!("../models/cloudwatch.json")),
            Service::Sns => (&MODELS[2], include_str!("../models/sns.json")),
            Service::CloudTrail => (&MODELS[3], include_str!("../models/cloudtrail.json")),
            Service::Events => (&MODELS[4], include_str!("../models/events.json")),
        };
        slot.get_or_init(|| ServiceModel::parse(self, source))
    }
}

/// One service's model.
#[derive(Debug)]
pub struct ServiceModel {
    service: Service,
    metadata: Metadata,
    operations: HashMap<String, Operation>,
    shapes: HashMap<String, Shape>,
}

/// The model's `metadata` block (the parts the protocols use).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Metadata {
    pub api_version: String,
    pub endpoint_prefix: String,
    #[serde(default)]
    pub json_version: Option<String>,
    pub protocol: String,
    #[serde(default)]
    pub protocols: Vec<String>,
    #[serde(default)]
    pub target_prefix: Option<String>,
    #[serde(default)]
    pub xml_namespace: Option<String>,
    #[serde(default)]
    pub aws_query_compatible: Option<serde_json::Value>,
    pub service_id: String,
}

/// An operation: its input and output shapes and declared errors.
#[derive(Debug, Deserialize)]
pub struct Operation {
    pub name: String,
    #[serde(default)]
    pub input: Option<ShapeRef>,
    #[serde(default)]
    pub output: Option<ShapeRef>,
    #[serde(default)]
    pub errors: Vec<ShapeRef>,
    /// Encodings the client may compress the request body with (CloudWatch
    /// PutMetricData: gzip). Decompression is the transport's job.
    #[serde(default)]
    pub requestcompression: Option<RequestCompression>,
}

#[derive(Debug, Deserialize)]
pub struct RequestCompression {
    #[serde(default)]
    pub encodings: Vec<String>,
}

/// A reference to a shape with the serialization traits of the reference
/// (structure member, list member, map key/value, operation input/output).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShapeRef {
    pub shape: String,
    #[serde(default)]
    pub location_name: Option<String>,
    #[serde(default)]
    pub query_name: Option<String>,
    #[serde(default)]
    pub flattened: bool,
    #[serde(default)]
    pub timestamp_format: Option<String>,
    #[serde(default)]
    pub jsonvalue: bool,
    /// awsQuery: the element wrapping an operation's output (`<FooResult>`).
    #[serde(default)]
    pub result_wrapper: Option<String>,
}

impl ShapeRef {
    /// A reference to `shape` with no serialization traits of its own
    /// (what an error shape is when its members are encoded).
    pub fn to(shape: &str) -> ShapeRef {
        ShapeRef {
            shape: shape.to_owned(),
            location_name: None,
            query_name: None,
            flattened: false,
            timestamp_format: None,
            jsonvalue: false,
            result_wrapper: None,
        }
    }
}

/// The type of a shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ShapeType {
    Structure,
    List,
    Map,
    String,
    Integer,
    Long,
    Float,
    Double,
    Boolean,
    Timestamp,
    Blob,
    /// A type none of Argus's models use (byte, short, bigDecimal, …).
    #[serde(other)]
    Other,
}

impl ShapeType {
    /// The smithy name of the type, as validation messages say it.
    pub fn name(self) -> &'static str {
        match self {
            ShapeType::Structure => "structure",
            ShapeType::List => "list",
            ShapeType::Map => "map",
            ShapeType::String => "string",
            ShapeType::Integer => "integer",
            ShapeType::Long => "long",
            ShapeType::Float => "float",
            ShapeType::Double => "double",
            ShapeType::Boolean => "boolean",
            ShapeType::Timestamp => "timestamp",
            ShapeType::Blob => "blob",
            ShapeType::Other => "value",
        }
    }
}

/// A shape with its members, constraints and error traits.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Shape {
    #[serde(rename = "type")]
    pub kind: ShapeType,
    #[serde(default)]
    pub members: IndexMap<String, ShapeRef>,
    #[serde(default)]
    pub required: Vec<String>,
    #[serde(default)]
    pub min: Option<f64>,
    #[serde(default)]
    pub max: Option<f64>,
    #[serde(default)]
    pub pattern: Option<String>,
    #[serde(default, rename = "enum")]
    pub enum_values: Option<Vec<String>>,
    #[serde(default)]
    pub member: Option<ShapeRef>,
    #[serde(default)]
    pub key: Option<ShapeRef>,
    #[serde(default)]
    pub value: Option<ShapeRef>,
    #[serde(default)]
    pub error: Option<ErrorTrait>,
    #[serde(default)]
    pub exception: bool,
    #[serde(default)]
    pub fault: bool,
    #[serde(default)]
    pub flattened: bool,
    #[serde(default)]
    pub timestamp_format: Option<String>,
    #[serde(default)]
    pub union: bool,
    #[serde(default)]
    pub streaming: bool,
    #[serde(default)]
    pub event: bool,
    #[serde(default)]
    pub eventstream: bool,
    #[serde(default)]
    pub document: bool,
    #[serde(default)]
    pub location_name: Option<String>,
    /// awsQuery XML: the order members are written in, when it differs from
    /// the declaration order.
    #[serde(default)]
    pub xml_order: Option<Vec<String>>,
    /// The compiled `pattern`, anchored; `None` inside when the pattern uses
    /// syntax Rust's `regex` does not support (lookaround, backreferences).
    #[serde(skip)]
    compiled_pattern: OnceLock<Option<Regex>>,
}

/// The awsQuery error trait: the code awsQuery (and query-compatible
/// protocols) report, the HTTP status and whose fault the error is.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorTrait {
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub http_status_code: Option<u16>,
    #[serde(default)]
    pub sender_fault: Option<bool>,
}

/// How a service renders one error shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorInfo<'a> {
    /// The error shape name (JSON `__type`).
    pub shape: &'a str,
    /// The awsQuery `<Code>` and the first half of `x-amzn-query-error`.
    pub query_code: &'a str,
    /// The HTTP status, when the model declares one.
    pub status: Option<u16>,
    /// Whether the client is at fault, when the model says.
    pub sender_fault: Option<bool>,
}

#[derive(Deserialize)]
struct ModelFile {
    metadata: Metadata,
    operations: HashMap<String, Operation>,
    shapes: HashMap<String, Shape>,
}

impl ServiceModel {
    fn parse(service: Service, source: &str) -> ServiceModel {
        // The models are compiled in and every one is parsed by the tests, so
        // a failure here is a build defect, not something a client can cause.
        #[allow(clippy::expect_used)]
        let file: ModelFile = serde_json::from_str(source).expect("embedded service model parses");
        ServiceModel {
            service,
            metadata: file.metadata,
            operations: file.operations,
            shapes: file.shapes,
        }
    }

    pub fn service(&self) -> Service {
        self.service
    }

    pub fn metadata(&self) -> &Metadata {
        &self.metadata
    }

    pub fn api_version(&self) -> &str {
        &self.metadata.api_version
    }

    /// The operation named `name` (exact, case-sensitive).
    pub fn operation(&self, name: &str) -> Option<&Operation> {
        self.operations.get(name)
    }

    /// Every operation, in no particular order.
    pub fn operations(&self) -> impl Iterator<Item = &Operation> {
        self.operations.values()
    }

    pub fn shape(&self, name: &str) -> Option<&Shape> {
        self.shapes.get(name)
    }

    /// Every shape with its name, in no particular order.
    pub fn shapes(&self) -> impl Iterator<Item = (&str, &Shape)> {
        self.shapes
            .iter()
            .map(|(name, shape)| (name.as_str(), shape))
    }

    /// The `X-Amz-Target` prefix (also the rpc-v2-cbor service name).
    pub fn target_prefix(&self) -> Option<&str> {
        self.metadata.target_prefix.as_deref()
    }

    /// The awsJson version ("1.0" or "1.1") the service speaks, if any.
    pub fn json_version(&self) -> Option<&str> {
        self.metadata.json_version.as_deref()
    }

    /// The awsJson protocol the service speaks, if it speaks one.
    pub fn json_protocol(&self) -> Option<Protocol> {
        if !self.speaks_protocol_name("json") {
            return None;
        }
        match self.json_version() {
            Some("1.0") => Some(Protocol::AwsJson10),
            _ => Some(Protocol::AwsJson11),
        }
    }

    /// The awsQuery XML namespace, if the service speaks awsQuery.
    pub fn xml_namespace(&self) -> Option<&str> {
        self.metadata.xml_namespace.as_deref()
    }

    /// The protocols the service speaks, in the model's order of preference.
    pub fn protocols(&self) -> Vec<Protocol> {
        let mut names: Vec<&str> = self.metadata.protocols.iter().map(String::as_str).collect();
        if names.is_empty() {
            names.push(self.metadata.protocol.as_str());
        }
        let mut protocols = Vec::new();
        for name in names {
            let protocol = match name {
                "json" => self.json_protocol(),
                "smithy-rpc-v2-cbor" => Some(Protocol::RpcV2Cbor),
                "query" => Some(Protocol::AwsQuery),
                _ => None,
            };
            protocols.extend(protocol);
        }
        protocols
    }

    /// Whether the service speaks `protocol`.
    pub fn speaks(&self, protocol: Protocol) -> bool {
        self.protocols().contains(&protocol)
    }

    fn speaks_protocol_name(&self, name: &str) -> bool {
        self.metadata.protocols.iter().any(|p| p == name) || self.metadata.protocol == name
    }

    /// Whether the service carries the `awsQueryCompatible` trait: a former
    /// awsQuery service whose JSON/CBOR errors also carry the awsQuery code in
    /// `x-amzn-query-error`.
    pub fn is_query_compatible(&self) -> bool {
        self.metadata.aws_query_compatible.is_some()
    }

    /// How this service renders the error shape `shape_name`, if the model
    /// declares it (or Argus knows the service's code for it).
    pub fn error_info<'a>(&'a self, shape_name: &'a str) -> Option<ErrorInfo<'a>> {
        match self.shapes.get_key_value(shape_name) {
            Some((name, shape)) if shape.exception => {
                let error = shape.error.as_ref();
                Some(ErrorInfo {
                    shape: name,
                    query_code: error.and_then(|e| e.code.as_deref()).unwrap_or(name),
                    status: error.and_then(|e| e.http_status_code),
                    sender_fault: match error {
                        Some(error) => error
                            .sender_fault
                            .or(error.http_status_code.map(|status| status < 500)),
                        None => Some(!shape.fault),
                    },
                })
            }
            _ => self.undeclared_error_info(shape_name),
        }
    }

    /// Errors a service returns without declaring them in its model.
    fn undeclared_error_info<'a>(&self, shape_name: &'a str) -> Option<ErrorInfo<'a>> {
        if !self.speaks(Protocol::AwsQuery) {
            return None;
        }
        // The framework-level errors of former awsQuery services keep their
        // awsQuery codes: CloudWatch's ValidationException is ValidationError
        // in XML and in `x-amzn-query-error` (recorded from AWS in the
        // conformance snapshots); the common-error names drop "Exception".
        let query_code = match shape_name {
            "ValidationException" => "ValidationError",
            "MissingAuthenticationTokenException" => "MissingAuthenticationToken",
            "IncompleteSignatureException" => "IncompleteSignature",
            "ServiceUnavailableException" => "ServiceUnavailable",
            _ => return None,
        };
        Some(ErrorInfo {
            shape: shape_name,
            query_code,
            status: None,
            sender_fault: None,
        })
    }

    /// The error code the service answers a failed model constraint with.
    ///
    /// CloudWatch Logs reports them as `InvalidParameterException`, except in
    /// its newer APIs that declare only `ValidationException`; SNS (awsQuery)
    /// says `ValidationError`; the others use the framework's
    /// `ValidationException`.
    pub fn validation_error_code(&self, operation: &str) -> ErrorCode {
        match self.service {
            Service::Logs => {
                let declares = |name: &str| {
                    self.operation(operation)
                        .is_some_and(|op| op.errors.iter().any(|e| e.shape == name))
                };
                if declares("ValidationException") && !declares("InvalidParameterException") {
                    ErrorCode::Validation
                } else {
                    ErrorCode::InvalidParameter
                }
            }
            Service::Sns => ErrorCode::ValidationError,
            Service::CloudWatch | Service::CloudTrail | Service::Events => ErrorCode::Validation,
        }
    }
}

impl Shape {
    /// The member shape of a list, or the value shape of a map.
    pub fn element(&self) -> Option<&ShapeRef> {
        match self.kind {
            ShapeType::List => self.member.as_ref(),
            ShapeType::Map => self.value.as_ref(),
            _ => None,
        }
    }

    /// The compiled pattern, matched against the whole value (AWS validates
    /// patterns as full matches). `None` if the shape has no pattern or the
    /// pattern is not valid for Rust's `regex` even after `java_to_rust`
    /// (lookaround, backreferences); such a pattern is not enforced.
    pub fn pattern_regex(&self) -> Option<&Regex> {
        self.compiled_pattern
            .get_or_init(|| {
                let pattern = self.pattern.as_deref()?;
                match Regex::new(&format!("^(?:{})$", java_to_rust(pattern))) {
                    Ok(regex) => Some(regex),
                    Err(error) => {
                        tracing::debug!(%pattern, %error, "model pattern not supported by regex; not enforced");
                        None
                    }
                }
            })
            .as_ref()
    }

    /// Whether `name` is required.
    pub fn is_required(&self, name: &str) -> bool {
        self.required.iter().any(|required| required == name)
    }

    /// Members in the order awsQuery XML writes them.
    pub fn xml_members(&self) -> Vec<(&str, &ShapeRef)> {
        if let Some(order) = &self.xml_order {
            let mut ordered: Vec<(&str, &ShapeRef)> = Vec::with_capacity(self.members.len());
            for name in order {
                if let Some((name, member)) = self.members.get_key_value(name) {
                    ordered.push((name.as_str(), member));
                }
            }
            // Members the order list forgot still get written, at the end.
            for (name, member) in &self.members {
                if !order.contains(name) {
                    ordered.push((name.as_str(), member));
                }
            }
            return ordered;
        }
        self.members
            .iter()
            .map(|(name, member)| (name.as_str(), member))
            .collect()
    }
}

/// Rewrites the Java-isms in AWS model patterns that Rust's `regex` reads
/// differently: a `-` right after a class escape (`[\w-_]`) is a literal,
/// and supplementary planes are written as UTF-16 surrogate pairs.
fn java_to_rust(pattern: &str) -> String {
    let mut rust = pattern.replace(r"\uD800\uDC00-\uDBFF\uDFFF", r"\x{10000}-\x{10FFFF}");
    for class in ["w", "W", "d", "D", "s", "S"] {
        rust = rust.replace(&format!("\\{class}-"), &format!("\\{class}\\-"));
    }
    rust
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn every_model_parses_and_is_consistent() {
        for &service in Service::all() {
            let model = service.model();
            assert_eq!(model.service(), service);
            assert!(model.operations().count() > 10, "{service:?}");
            // Every shape reference resolves.
            for op in model.operations() {
                for r in op
                    .input
                    .iter()
                    .chain(op.output.iter())
                    .chain(op.errors.iter())
                {
                    assert!(
                        model.shape(&r.shape).is_some(),
                        "{service:?} {} -> {}",
                        op.name,
                        r.shape
                    );
                }
            }
            for (name, shape) in model.shapes() {
                let refs = shape
                    .members
                    .values()
                    .chain(shape.member.iter())
                    .chain(shape.key.iter())
                    .chain(shape.value.iter());
                for r in refs {
                    assert!(
                        model.shape(&r.shape).is_some(),
                        "{service:?} {name} -> {}",
                        r.shape
                    );
                }
                assert_ne!(shape.kind, ShapeType::Other, "{service:?} {name}");
            }
        }
    }

    #[test]
    fn signing_names_round_trip() {
        for &service in Service::all() {
            assert_eq!(
                Service::from_signing_name(service.signing_name()),
                Some(service)
            );
        }
        assert_eq!(
            Service::from_signing_name("monitoring"),
            Some(Service::CloudWatch)
        );
        assert_eq!(Service::from_signing_name("s3"), None);
    }

    #[test]
    fn protocols_and_prefixes_match_botocore_metadata() {
        let logs = Service::Logs.model();
        assert_eq!(logs.target_prefix(), Some("Logs_20140328"));
        assert_eq!(logs.protocols(), vec![Protocol::AwsJson11]);
        assert!(!logs.is_query_compatible());

        let cloudwatch = Service::CloudWatch.model();
        assert_eq!(
            cloudwatch.target_prefix(),
            Some("GraniteServiceVersion20100801")
        );
        assert_eq!(
            cloudwatch.protocols(),
            vec![Protocol::RpcV2Cbor, Protocol::AwsJson10, Protocol::AwsQuery]
        );
        assert!(cloudwatch.is_query_compatible());
        assert_eq!(
            cloudwatch.xml_namespace(),
            Some("http://monitoring.amazonaws.com/doc/2010-08-01/")
        );

        let sns = Service::Sns.model();
        assert_eq!(sns.protocols(), vec![Protocol::AwsQuery]);
        assert_eq!(sns.target_prefix(), None);

        assert_eq!(
            Service::from_target_prefix("AWSEvents"),
            Some(Service::Events)
        );
        assert_eq!(
            Service::from_target_prefix("com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101"),
            Some(Service::CloudTrail)
        );
        assert_eq!(Service::Events.model().api_version(), "2015-10-07");
    }

    #[test]
    fn error_info_uses_query_codes_from_the_model() {
        let cloudwatch = Service::CloudWatch.model();
        let info = cloudwatch
            .error_info("InvalidParameterValueException")
            .expect("declared");
        assert_eq!(info.query_code, "InvalidParameterValue");
        assert_eq!(info.status, Some(400));
        assert_eq!(info.sender_fault, Some(true));
        let info = cloudwatch.error_info("ResourceNotFound").expect("declared");
        assert_eq!(
            (info.query_code, info.status),
            ("ResourceNotFound", Some(404))
        );
        let info = cloudwatch.error_info("ValidationException").expect("known");
        assert_eq!(info.query_code, "ValidationError");

        let sns = Service::Sns.model();
        let info = sns
            .error_info("InvalidParameterException")
            .expect("declared");
        assert_eq!(info.query_code, "InvalidParameter");
        assert_eq!(
            sns.error_info("NotFoundException").map(|i| i.status),
            Some(Some(404))
        );

        // Logs declares its errors without the awsQuery trait.
        let info = Service::Logs
            .model()
            .error_info("ResourceNotFoundException")
            .expect("declared");
        assert_eq!(
            (info.query_code, info.status),
            ("ResourceNotFoundException", None)
        );
        assert_eq!(Service::Logs.model().error_info("NoSuchThing"), None);

        // Framework errors of awsQuery services use the awsQuery spelling.
        let info = sns
            .error_info("MissingAuthenticationTokenException")
            .expect("known");
        assert_eq!(info.query_code, "MissingAuthenticationToken");
        assert_eq!(
            Service::Logs
                .model()
                .error_info("MissingAuthenticationTokenException"),
            None
        );
    }

    #[test]
    fn validation_codes_follow_each_service() {
        let logs = Service::Logs.model();
        assert_eq!(
            logs.validation_error_code("GetLogEvents"),
            ErrorCode::InvalidParameter
        );
        assert_eq!(
            logs.validation_error_code("PutDeliveryDestination"),
            ErrorCode::Validation
        );
        assert_eq!(
            Service::Sns.model().validation_error_code("Publish"),
            ErrorCode::ValidationError
        );
        assert_eq!(
            Service::CloudWatch
                .model()
                .validation_error_code("SetAlarmState"),
            ErrorCode::Validation
        );
    }

    #[test]
    fn patterns_compile_or_are_skipped_without_panicking() {
        let mut compiled = 0;
        let mut skipped = Vec::new();
        for &service in Service::all() {
            for (name, shape) in service.model().shapes() {
                if shape.pattern.is_some() {
                    match shape.pattern_regex() {
                        Some(_) => compiled += 1,
                        None => skipped.push(format!("{service:?}/{name}")),
                    }
                }
            }
        }
        assert!(compiled > 100, "{compiled} compiled; skipped {skipped:?}");
        // Only a lookahead is beyond Rust's regex; list new ones here.
        assert_eq!(skipped, vec!["Events/PathParameter".to_owned()]);
    }

    #[test]
    fn java_pattern_idioms_are_translated() {
        let logs = Service::Logs
            .model()
            .shape("ResourceType")
            .unwrap()
            .pattern_regex()
            .unwrap();
        assert!(logs.is_match("AWS-Lambda_fn"));
        assert!(!logs.is_match("a b"));
        let trail = Service::CloudTrail
            .model()
            .shape("PartitionKeyName")
            .unwrap();
        let trail = trail.pattern_regex().unwrap();
        assert!(trail.is_match("emoji \u{1F600}\tok"));
        assert!(!trail.is_match("bell\u{7}"));
    }

    #[test]
    fn xml_order_is_respected() {
        let model = Service::CloudWatch.model();
        let alarm = model.shape("MetricAlarm").expect("shape");
        let names: Vec<&str> = alarm
            .xml_members()
            .into_iter()
            .map(|(name, _)| name)
            .collect();
        let extended = names.iter().position(|n| *n == "ExtendedStatistic");
        let dimensions = names.iter().position(|n| *n == "Dimensions");
        assert!(
            extended > dimensions,
            "xmlOrder puts ExtendedStatistic after Dimensions"
        );
        assert_eq!(names.len(), alarm.members.len());
    }
}
