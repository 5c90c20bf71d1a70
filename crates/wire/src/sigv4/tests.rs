//! SigV4 verification tests: AWS's published worked examples, requests
//! signed by botocore itself (`testdata/botocore_fixtures.json`), and every
//! failure kind, each of which must be the right [`AuthError`] and never a
//! panic.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use base64::Engine;
use http::request::Parts;

use super::canonical::{self, CanonicalRequest};
use super::*;

const DOCS_ACCESS_KEY: &str = "AKIDEXAMPLE";
const DOCS_SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const S3_DOCS_ACCESS_KEY: &str = "AKIAIOSFODNN7EXAMPLE";
const S3_DOCS_SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

struct Secrets(HashMap<String, String>);

impl Secrets {
    fn of(pairs: &[(&str, &str)]) -> Secrets {
        Secrets(
            pairs
                .iter()
                .map(|(key, secret)| ((*key).to_owned(), (*secret).to_owned()))
                .collect(),
        )
    }
}

impl SecretLookup for Secrets {
    fn secret_access_key(&self, access_key_id: &str) -> Option<String> {
        self.0.get(access_key_id).cloned()
    }
}

fn at(amz_date: &str) -> SystemTime {
    let unix = time::parse_amz_date(amz_date).expect("test timestamps are valid");
    SystemTime::UNIX_EPOCH + Duration::from_secs(u64::try_from(unix).expect("after 1970"))
}

fn parts(method: &str, uri: &str, headers: &[(&str, &str)]) -> Parts {
    let mut builder = http::Request::builder().method(method).uri(uri);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(()).expect("valid test request").into_parts().0
}

fn docs_secrets() -> Secrets {
    Secrets::of(&[
        (DOCS_ACCESS_KEY, DOCS_SECRET),
        (S3_DOCS_ACCESS_KEY, S3_DOCS_SECRET),
    ])
}

// ---------------------------------------------------------------------------
// AWS's published examples
// ---------------------------------------------------------------------------

const IAM_AUTHORIZATION: &str = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7";

fn iam_list_users(authorization: &str) -> Parts {
    parts(
        "GET",
        "/?Action=ListUsers&Version=2010-05-08",
        &[
            ("Host", "iam.amazonaws.com"),
            (
                "Content-Type",
                "application/x-www-form-urlencoded; charset=utf-8",
            ),
            ("X-Amz-Date", "20150830T123600Z"),
            ("Authorization", authorization),
        ],
    )
}

/// IAM User Guide, "Create a signed AWS API request": the ListUsers GET.
#[test]
fn iam_list_users_documented_example() {
    let request = iam_list_users(IAM_AUTHORIZATION);

    let headers = canonical::canonical_headers(
        &request,
        &["content-type", "host", "x-amz-date"].map(str::to_owned),
    );
    let canonical_request = CanonicalRequest {
        method: "GET",
        uri: "/",
        query: "Action=ListUsers&Version=2010-05-08",
        headers: &headers,
        signed_headers: "content-type;host;x-amz-date",
        payload_hash: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    }
    .to_bytes();
    assert_eq!(
        String::from_utf8_lossy(&canonical_request),
        "GET\n/\nAction=ListUsers&Version=2010-05-08\ncontent-type:application/x-www-form-urlencoded; charset=utf-8\nhost:iam.amazonaws.com\nx-amz-date:20150830T123600Z\n\ncontent-type;host;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    let string_to_sign = signing::string_to_sign(
        "20150830T123600Z",
        "20150830/us-east-1/iam/aws4_request",
        &canonical_request,
    );
    assert_eq!(
        string_to_sign,
        "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/iam/aws4_request\nf536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59"
    );
    let key = signing::derive_signing_key(DOCS_SECRET, "20150830", "us-east-1", "iam");
    assert_eq!(
        signing::signature_hex(&key, &string_to_sign),
        "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"
    );

    let verified = verify(&request, b"", &docs_secrets(), at("20150830T123600Z"))
        .expect("documented request verifies");
    assert_eq!(
        verified,
        Verified {
            access_key_id: DOCS_ACCESS_KEY.into(),
            region: "us-east-1".into(),
            service: "iam".into()
        }
    );
    assert_eq!(
        credential_scope(&request).expect("parses"),
        Some(CredentialScope {
            access_key_id: DOCS_ACCESS_KEY.into(),
            date: "20150830".into(),
            region: "us-east-1".into(),
            service: "iam".into(),
        })
    );
}

/// The SigV4 test suite's `get-vanilla` case.
#[test]
fn test_suite_get_vanilla() {
    let request = parts(
        "GET",
        "/",
        &[
            ("Host", "example.amazonaws.com"),
            ("X-Amz-Date", "20150830T123600Z"),
            (
                "Authorization",
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
            ),
        ],
    );
    let verified =
        verify(&request, b"", &docs_secrets(), at("20150830T123600Z")).expect("verifies");
    assert_eq!(verified.service, "service");
}

/// S3 API Reference, "GET Object" header-signed example (with
/// `x-amz-content-sha256` and a `Range` header).
#[test]
fn s3_get_object_documented_example() {
    let request = parts(
        "GET",
        "/test.txt",
        &[
            ("Host", "examplebucket.s3.amazonaws.com"),
            ("Range", "bytes=0-9"),
            (
                "x-amz-content-sha256",
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            ),
            ("x-amz-date", "20130524T000000Z"),
            (
                "Authorization",
                "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
            ),
        ],
    );
    verify(&request, b"", &docs_secrets(), at("20130524T000500Z")).expect("verifies");
}

const S3_PRESIGNED: &str = "/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404";

/// S3 API Reference, "Authenticating Requests: Using Query Parameters":
/// a presigned URL over UNSIGNED-PAYLOAD, valid for 86400 seconds.
#[test]
fn s3_presigned_documented_example() {
    let request = parts(
        "GET",
        S3_PRESIGNED,
        &[("Host", "examplebucket.s3.amazonaws.com")],
    );
    let secrets = docs_secrets();
    verify(&request, b"", &secrets, at("20130524T000000Z")).expect("valid at signing time");
    verify(&request, b"", &secrets, at("20130524T235959Z")).expect("valid until it expires");
    verify(&request, b"", &secrets, at("20130525T000000Z")).expect("valid at the last second");

    let expired = verify(&request, b"", &secrets, at("20130525T000001Z")).expect_err("expired");
    assert_eq!(
        expired,
        AuthError::PresignedUrlExpired {
            expired_at: "20130525T000000Z".into(),
            now: "20130525T000001Z".into()
        }
    );
    assert_eq!(expired.to_string(), "Request has expired.");

    let early =
        verify(&request, b"", &secrets, at("20130523T234459Z")).expect_err("signed in the future");
    assert_eq!(
        early.to_string(),
        "Signature not yet current: 20130524T000000Z is still later than 20130523T235959Z (20130523T234459Z + 15 min.)"
    );
}

// ---------------------------------------------------------------------------
// Requests botocore signed
// ---------------------------------------------------------------------------

#[derive(serde::Deserialize)]
struct FixtureFile {
    secrets: HashMap<String, String>,
    fixtures: Vec<Fixture>,
}

#[derive(serde::Deserialize, Clone)]
struct Fixture {
    name: String,
    method: String,
    path_and_query: String,
    headers: Vec<(String, String)>,
    body_base64: String,
    now_unix: u64,
    expect: Verified,
}

impl<'de> serde::Deserialize<'de> for Verified {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(serde::Deserialize)]
        struct Raw {
            access_key_id: String,
            region: String,
            service: String,
        }
        let raw = Raw::deserialize(deserializer)?;
        Ok(Verified {
            access_key_id: raw.access_key_id,
            region: raw.region,
            service: raw.service,
        })
    }
}

impl Fixture {
    fn now(&self) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(self.now_unix)
    }

    fn body(&self) -> Vec<u8> {
        base64::engine::general_purpose::STANDARD
            .decode(&self.body_base64)
            .expect("fixture body is base64")
    }

    fn parts(&self) -> Parts {
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str()))
            .collect();
        parts(&self.method, &self.path_and_query, &headers)
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    fn with_header(&self, name: &str, value: &str) -> Fixture {
        let mut changed = self.clone();
        changed
            .headers
            .retain(|(key, _)| !key.eq_ignore_ascii_case(name));
        changed.headers.push((name.to_owned(), value.to_owned()));
        changed
    }

    fn without_header(&self, name: &str) -> Fixture {
        let mut changed = self.clone();
        changed
            .headers
            .retain(|(key, _)| !key.eq_ignore_ascii_case(name));
        changed
    }

    fn with_body(&self, body: &[u8]) -> Fixture {
        let mut changed = self.clone();
        changed.body_base64 = base64::engine::general_purpose::STANDARD.encode(body);
        changed
    }

    fn verify_at(
        &self,
        secrets: &dyn SecretLookup,
        now: SystemTime,
    ) -> Result<Verified, AuthError> {
        verify(&self.parts(), &self.body(), secrets, now)
    }
}

fn fixture_file() -> FixtureFile {
    serde_json::from_str(include_str!("testdata/botocore_fixtures.json"))
        .expect("fixture file parses")
}

fn load_fixture(name: &str) -> (Fixture, Secrets) {
    let file = fixture_file();
    let secrets = Secrets(file.secrets);
    let found = file
        .fixtures
        .into_iter()
        .find(|fixture| fixture.name == name)
        .expect("fixture exists");
    (found, secrets)
}

fn verify_fixture(fixture: &Fixture, secrets: &Secrets) -> Result<Verified, AuthError> {
    fixture.verify_at(secrets, fixture.now())
}

#[test]
fn every_botocore_fixture_verifies() {
    let file = fixture_file();
    let secrets = Secrets(file.secrets);
    assert!(file.fixtures.len() >= 10, "fixture file lost its cases");
    for fixture in &file.fixtures {
        match verify_fixture(fixture, &secrets) {
            Ok(verified) => assert_eq!(verified, fixture.expect, "{}", fixture.name),
            Err(error) => panic!("{}: {error:?}", fixture.name),
        }
        let scope = credential_scope(&fixture.parts())
            .expect("scope parses")
            .expect("scope present");
        assert_eq!(
            scope.access_key_id, fixture.expect.access_key_id,
            "{}",
            fixture.name
        );
        assert_eq!(scope.region, fixture.expect.region, "{}", fixture.name);
        assert_eq!(scope.service, fixture.expect.service, "{}", fixture.name);
    }
}

/// Every fixture must fail once anything signed changes, so none of them
/// passes by accident (for example through a fallback canonical form).
#[test]
fn every_botocore_fixture_rejects_a_tampered_signature() {
    let file = fixture_file();
    let secrets = Secrets(file.secrets);
    for fixture in &file.fixtures {
        let mut tampered = fixture.clone();
        let flip = |text: &str| {
            // Change the last hex digit of the signature.
            let mut chars: Vec<char> = text.chars().collect();
            if let Some(last) = chars.last_mut() {
                *last = if *last == '0' { '1' } else { '0' };
            }
            chars.into_iter().collect::<String>()
        };
        if let Some(authorization) = fixture.header("Authorization") {
            tampered = tampered.with_header("Authorization", &flip(authorization));
        } else {
            tampered.path_and_query = flip(&fixture.path_and_query);
        }
        assert_eq!(
            verify_fixture(&tampered, &secrets),
            Err(AuthError::SignatureMismatch),
            "{}",
            fixture.name
        );
    }
}

#[test]
fn tampered_body_is_rejected() {
    let (fixture, secrets) = load_fixture("logs_put_log_events_json");
    let tampered =
        fixture.with_body(br#"{"logGroupName": "g", "logStreamName": "s", "logEvents": []}"#);
    assert_eq!(
        verify_fixture(&tampered, &secrets),
        Err(AuthError::SignatureMismatch)
    );

    let (fixture, secrets) = load_fixture("client_sns_publish");
    let body = String::from_utf8(fixture.body())
        .expect("utf-8 form")
        .replace("alerts", "other");
    assert_eq!(
        verify_fixture(&fixture.with_body(body.as_bytes()), &secrets),
        Err(AuthError::SignatureMismatch)
    );
}

#[test]
fn tampered_signed_header_is_rejected_and_unsigned_headers_are_free() {
    let (fixture, secrets) = load_fixture("client_logs_put_log_events");
    let tampered = fixture.with_header("X-Amz-Target", "Logs_20140328.DeleteLogGroup");
    assert_eq!(
        verify_fixture(&tampered, &secrets),
        Err(AuthError::SignatureMismatch)
    );

    let dropped = fixture.without_header("Content-Type");
    assert_eq!(
        verify_fixture(&dropped, &secrets),
        Err(AuthError::SignatureMismatch)
    );

    let other_host = fixture.with_header("Host", "localhost:4567");
    assert_eq!(
        verify_fixture(&other_host, &secrets),
        Err(AuthError::SignatureMismatch)
    );

    // User-Agent and Content-Length are not signed by botocore.
    let unsigned_changed = fixture
        .with_header("User-Agent", "something else")
        .with_header("X-Extra", "1");
    verify_fixture(&unsigned_changed, &secrets).expect("unsigned headers may change");
}

#[test]
fn tampered_query_or_path_or_method_is_rejected() {
    let (fixture, secrets) = load_fixture("presigned_get");
    let mut tampered = fixture.clone();
    tampered.path_and_query = fixture.path_and_query.replace("Name=a%20b", "Name=a%20c");
    assert_eq!(
        verify_fixture(&tampered, &secrets),
        Err(AuthError::SignatureMismatch)
    );

    let (fixture, secrets) = load_fixture("path_special_characters");
    let mut tampered = fixture.clone();
    tampered.path_and_query = fixture.path_and_query.replace("a%2Fb", "a/b");
    assert_eq!(
        verify_fixture(&tampered, &secrets),
        Err(AuthError::SignatureMismatch)
    );

    let mut tampered = fixture.clone();
    tampered.method = "DELETE".into();
    assert_eq!(
        verify_fixture(&tampered, &secrets),
        Err(AuthError::SignatureMismatch)
    );
}

#[test]
fn wrong_secret_is_a_signature_mismatch() {
    let (fixture, _) = load_fixture("logs_put_log_events_json");
    let wrong = Secrets::of(&[(fixture.expect.access_key_id.as_str(), "not-the-secret")]);
    assert_eq!(
        verify_fixture(&fixture, &wrong),
        Err(AuthError::SignatureMismatch)
    );
}

#[test]
fn unknown_access_key_is_reported_as_such() {
    let (fixture, _) = load_fixture("logs_put_log_events_json");
    let error = verify_fixture(&fixture, &Secrets::of(&[])).expect_err("unknown key");
    assert_eq!(
        error,
        AuthError::UnknownAccessKey {
            access_key_id: fixture.expect.access_key_id.clone()
        }
    );
}

#[test]
fn clock_skew_beyond_fifteen_minutes_either_way() {
    let (fixture, secrets) = load_fixture("logs_put_log_events_json");
    let signed = fixture.now();
    let fifteen = Duration::from_secs(15 * 60);

    fixture
        .verify_at(&secrets, signed + fifteen)
        .expect("15 minutes late is fine");
    fixture
        .verify_at(&secrets, signed - fifteen)
        .expect("15 minutes early is fine");

    let late = fixture
        .verify_at(&secrets, signed + fifteen + Duration::from_secs(1))
        .expect_err("too late");
    assert_eq!(
        late.to_string(),
        "Signature expired: 20240501T123456Z is now earlier than 20240501T123457Z (20240501T124957Z - 15 min.)"
    );
    assert!(matches!(late, AuthError::SignatureExpired { .. }));

    let early = fixture
        .verify_at(&secrets, signed - fifteen - Duration::from_secs(1))
        .expect_err("too early");
    assert_eq!(
        early.to_string(),
        "Signature not yet current: 20240501T123456Z is still later than 20240501T123455Z (20240501T121955Z + 15 min.)"
    );

    // Also for the Date-header form.
    let (fixture, secrets) = load_fixture("date_header_instead_of_x_amz_date");
    let late = fixture
        .verify_at(&secrets, fixture.now() + Duration::from_secs(3600))
        .expect_err("too late");
    assert!(
        matches!(late, AuthError::SignatureExpired { .. }),
        "{late:?}"
    );
}

#[test]
fn presigned_url_expiry() {
    let (fixture, secrets) = load_fixture("presigned_get");
    let signed = fixture.now();
    fixture
        .verify_at(&secrets, signed + Duration::from_secs(900))
        .expect("valid at its last second");
    let expired = fixture
        .verify_at(&secrets, signed + Duration::from_secs(901))
        .expect_err("expired");
    assert_eq!(
        expired,
        AuthError::PresignedUrlExpired {
            expired_at: "20240501T124956Z".into(),
            now: "20240501T124957Z".into()
        }
    );
    let api = expired.to_api_error(true);
    assert_eq!(
        (api.code.name(), api.code.status(), api.message.as_str()),
        ("RequestExpired", 400, "Request has expired.")
    );

    let (fixture, secrets) = load_fixture("presigned_sns_form_moved_to_query");
    fixture
        .verify_at(&secrets, fixture.now() + Duration::from_secs(3600))
        .expect("valid for an hour");
    let expired = fixture
        .verify_at(&secrets, fixture.now() + Duration::from_secs(3601))
        .expect_err("expired");
    assert!(matches!(expired, AuthError::PresignedUrlExpired { .. }));
}

#[test]
fn presigned_expires_must_be_sane() {
    let (fixture, secrets) = load_fixture("presigned_get");
    for (expires, expected) in [
        ("604801", AuthError::ExpiresTooLong),
        ("-5", AuthError::MalformedExpires { value: "-5".into() }),
        (
            "1e3",
            AuthError::MalformedExpires {
                value: "1e3".into(),
            },
        ),
        (
            "99999999999999999999999",
            AuthError::MalformedExpires {
                value: "99999999999999999999999".into(),
            },
        ),
    ] {
        let mut changed = fixture.clone();
        changed.path_and_query = fixture
            .path_and_query
            .replace("X-Amz-Expires=900", &format!("X-Amz-Expires={expires}"));
        assert_eq!(
            verify_fixture(&changed, &secrets),
            Err(expected),
            "{expires}"
        );
    }
}

#[test]
fn credential_date_must_match_the_request_date() {
    let (fixture, secrets) = load_fixture("logs_put_log_events_json");
    let authorization = fixture
        .header("Authorization")
        .expect("signed")
        .replace("/20240501/", "/20240502/");
    let changed = fixture.with_header("Authorization", &authorization);
    let error = verify_fixture(&changed, &secrets).expect_err("date mismatch");
    assert_eq!(
        error.to_string(),
        "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '20240502' != '20240501', from '20240501T123456Z'."
    );
}

#[test]
fn unsigned_payload_skips_the_body() {
    let (fixture, secrets) = load_fixture("unsigned_payload");
    verify_fixture(&fixture.with_body(b"anything at all"), &secrets).expect("body is not signed");
    // The header itself is signed: dropping it changes the canonical request.
    assert_eq!(
        verify_fixture(&fixture.without_header("X-Amz-Content-SHA256"), &secrets),
        Err(AuthError::SignatureMismatch)
    );
}

#[test]
fn declared_body_hash_must_match_the_body() {
    let (fixture, secrets) = load_fixture("content_sha256_header");
    let error =
        verify_fixture(&fixture.with_body(b"{\"limit\": 8}"), &secrets).expect_err("body changed");
    assert_eq!(error, AuthError::ContentSha256Mismatch);
    assert_eq!(
        error.to_string(),
        "The provided 'x-amz-content-sha256' header does not match what was computed."
    );

    let streaming =
        fixture.with_header("X-Amz-Content-SHA256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD");
    assert!(matches!(
        verify_fixture(&streaming, &secrets),
        Err(AuthError::InvalidContentSha256 { .. })
    ));
}

#[test]
fn missing_authentication() {
    let request = parts(
        "POST",
        "/",
        &[("Host", "localhost"), ("X-Amz-Date", "20240501T123456Z")],
    );
    assert_eq!(credential_scope(&request), Ok(None));
    let error =
        verify(&request, b"{}", &Secrets::of(&[]), at("20240501T123456Z")).expect_err("no auth");
    assert_eq!(error, AuthError::MissingAuthentication);
    let json = error.to_api_error(false);
    assert_eq!(json.code.name(), "MissingAuthenticationTokenException");
    assert_eq!(json.message, "Request is missing Authentication Token");
}

fn header_error(authorization: &str) -> AuthError {
    let request = iam_list_users(authorization);
    verify(&request, b"", &docs_secrets(), at("20150830T123600Z")).expect_err("must fail")
}

#[test]
fn authorization_missing_pieces_use_aws_wording() {
    let error = header_error(
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, Signature=abc",
    );
    assert_eq!(
        error.to_string(),
        "Authorization header requires 'SignedHeaders' parameter. Authorization=AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, Signature=abc"
    );

    let error = header_error("Bearer eyJhbGciOi");
    assert_eq!(
        error.to_string(),
        "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. Authorization=Bearer eyJhbGciOi"
    );
    assert_eq!(
        error.to_api_error(false).code.name(),
        "IncompleteSignatureException"
    );
    assert!(matches!(
        header_error("AWS4-HMAC-SHA256"),
        AuthError::IncompleteAuthorizationHeader { .. }
    ));
    assert!(matches!(
        header_error(""),
        AuthError::IncompleteAuthorizationHeader { .. }
    ));

    let no_date = parts(
        "GET",
        "/?Action=ListUsers&Version=2010-05-08",
        &[
            ("Host", "iam.amazonaws.com"),
            (
                "Authorization",
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request",
            ),
        ],
    );
    let error =
        verify(&no_date, b"", &docs_secrets(), at("20150830T123600Z")).expect_err("no date");
    assert_eq!(
        error,
        AuthError::IncompleteAuthorizationHeader {
            missing: vec![
                MissingPart::Signature,
                MissingPart::SignedHeaders,
                MissingPart::Date
            ],
            authorization:
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request".into(),
        }
    );
    assert!(error.to_string().contains(
        "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
    ));
}

#[test]
fn garbled_and_duplicate_authorization_pieces() {
    let error = header_error(
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, SignedHeaders=host, Sig",
    );
    assert_eq!(
        error.to_string(),
        "'Sig' not a valid key=value pair (missing equal-sign) in Authorization header: 'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, SignedHeaders=host, Sig'."
    );

    let duplicated =
        format!("{IAM_AUTHORIZATION}, Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request");
    assert_eq!(
        header_error(&duplicated),
        AuthError::DuplicateAuthorizationParameter { name: "Credential" }
    );

    let sigv4a = IAM_AUTHORIZATION.replace("AWS4-HMAC-SHA256", "AWS4-ECDSA-P256-SHA256");
    assert_eq!(
        header_error(&sigv4a),
        AuthError::UnsupportedAlgorithm {
            algorithm: "AWS4-ECDSA-P256-SHA256".into()
        }
    );

    let short_credential =
        IAM_AUTHORIZATION.replace("/us-east-1/iam/aws4_request", "/iam/aws4_request");
    assert!(matches!(
        header_error(&short_credential),
        AuthError::MalformedCredential { .. }
    ));

    let bad_date = IAM_AUTHORIZATION.replace("/20150830/", "/2015-08-30/");
    assert!(matches!(
        header_error(&bad_date),
        AuthError::MalformedCredential { .. }
    ));

    let terminator = IAM_AUTHORIZATION.replace("aws4_request", "aws4_reqest");
    assert_eq!(
        header_error(&terminator).to_string(),
        "Credential should be scoped with a valid terminator: 'aws4_request', not 'aws4_reqest'."
    );

    let no_host =
        IAM_AUTHORIZATION.replace("content-type;host;x-amz-date", "content-type;x-amz-date");
    assert_eq!(header_error(&no_host), AuthError::HostNotSigned);

    let empty_name =
        IAM_AUTHORIZATION.replace("content-type;host;x-amz-date", "content-type;;host");
    assert!(matches!(
        header_error(&empty_name),
        AuthError::MalformedSignedHeaders { .. }
    ));

    // A signature that is not 64 hex digits simply does not match.
    for signature in [
        "",
        "zz",
        "5d672d79",
        &"g".repeat(64),
        &"5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7".repeat(2),
    ] {
        let changed = IAM_AUTHORIZATION.replace(
            "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7",
            signature,
        );
        assert_eq!(
            header_error(&changed),
            AuthError::SignatureMismatch,
            "{signature:?}"
        );
    }
}

#[test]
fn extra_spacing_and_uppercase_hex_in_the_authorization_header_are_accepted() {
    let spaced = IAM_AUTHORIZATION
        .replace(", ", " ,  ")
        .replace("AWS4-HMAC-SHA256 ", "  AWS4-HMAC-SHA256   ");
    let request = iam_list_users(&spaced);
    verify(&request, b"", &docs_secrets(), at("20150830T123600Z"))
        .expect("whitespace is tolerated");

    let upper = IAM_AUTHORIZATION.replace(
        "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7",
        "5D672D79C15B13162D9279B0855CFBA6789A8EDB4C82C400E06B5924A6F2B5D7",
    );
    verify(
        &iam_list_users(&upper),
        b"",
        &docs_secrets(),
        at("20150830T123600Z"),
    )
    .expect("hex case is free");
}

#[test]
fn more_than_one_authorization_or_mechanism() {
    let request = parts(
        "GET",
        "/?Action=ListUsers&Version=2010-05-08",
        &[
            ("Host", "iam.amazonaws.com"),
            ("X-Amz-Date", "20150830T123600Z"),
            ("Authorization", IAM_AUTHORIZATION),
            ("Authorization", IAM_AUTHORIZATION),
        ],
    );
    assert_eq!(
        credential_scope(&request),
        Err(AuthError::MultipleAuthorizationHeaders { count: 2 })
    );

    let (fixture, secrets) = load_fixture("presigned_get");
    let both = fixture.with_header("Authorization", IAM_AUTHORIZATION);
    assert_eq!(
        verify_fixture(&both, &secrets),
        Err(AuthError::MultipleAuthMechanisms)
    );
}

#[test]
fn presigned_query_missing_and_duplicate_parameters() {
    let request = parts(
        "GET",
        "/?Action=X&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F20240501%2Fus-east-1%2Flogs%2Faws4_request",
        &[("Host", "localhost")],
    );
    let error = credential_scope(&request).expect_err("incomplete");
    assert_eq!(
        error.to_string(),
        "AWS query-string parameters must include 'X-Amz-Signature'. AWS query-string parameters must include 'X-Amz-SignedHeaders'. AWS query-string parameters must include 'X-Amz-Date'. Re-examine the query-string parameters."
    );
    assert_eq!(
        error.to_api_error(true).code,
        argus_core::ErrorCode::IncompleteSignature
    );

    let (fixture, secrets) = load_fixture("presigned_get");
    let mut duplicated = fixture.clone();
    duplicated.path_and_query.push_str("&X-Amz-Signature=00");
    assert_eq!(
        verify_fixture(&duplicated, &secrets),
        Err(AuthError::DuplicateQueryParameter {
            name: "X-Amz-Signature"
        })
    );

    let mut other_algorithm = fixture.clone();
    other_algorithm.path_and_query = fixture.path_and_query.replace(
        "X-Amz-Algorithm=AWS4-HMAC-SHA256",
        "X-Amz-Algorithm=AWS4-HMAC-SHA1",
    );
    assert_eq!(
        verify_fixture(&other_algorithm, &secrets),
        Err(AuthError::UnsupportedAlgorithm {
            algorithm: "AWS4-HMAC-SHA1".into()
        })
    );
}

#[test]
fn malformed_dates_are_rejected() {
    let (fixture, secrets) = load_fixture("logs_put_log_events_json");
    let changed = fixture.with_header("X-Amz-Date", "2024-05-01T12:34:56Z");
    assert_eq!(
        verify_fixture(&changed, &secrets),
        Err(AuthError::MalformedDate {
            source_name: "X-Amz-Date header",
            value: "2024-05-01T12:34:56Z".into()
        })
    );
    let (fixture, secrets) = load_fixture("date_header_instead_of_x_amz_date");
    let changed = fixture.with_header("Date", "yesterday");
    assert!(matches!(
        verify_fixture(&changed, &secrets),
        Err(AuthError::MalformedDate { .. })
    ));
}

/// Truncating or mangling any fixture anywhere must give an error (or, for
/// unsigned parts, success), never a panic.
#[test]
fn mangled_requests_never_panic() {
    let file = fixture_file();
    let secrets = Secrets(file.secrets);
    for fixture in &file.fixtures {
        if let Some(authorization) = fixture.header("Authorization") {
            for cut in 0..=authorization.len() {
                let Some(prefix) = authorization.get(..cut) else {
                    continue;
                };
                let changed = fixture.with_header("Authorization", prefix);
                let _ = verify_fixture(&changed, &secrets);
                let _ = credential_scope(&changed.parts());
            }
        }
        for cut in 1..=fixture.path_and_query.len() {
            let Some(prefix) = fixture.path_and_query.get(..cut) else {
                continue;
            };
            let mut changed = fixture.clone();
            changed.path_and_query = prefix.to_owned();
            if http::Request::builder().uri(prefix).body(()).is_err() {
                continue;
            }
            let _ = verify_fixture(&changed, &secrets);
        }
    }
    for garbage in [
        "=",
        ",",
        ",,,",
        "AWS4-HMAC-SHA256 =",
        "AWS4-HMAC-SHA256 Credential=",
        "AWS4-HMAC-SHA256 Credential=////",
        "AWS4-HMAC-SHA256 Credential=a/b/c/d/e/f/g, SignedHeaders=;, Signature==",
        "AWS4-\u{e9}",
        "\u{1F600}",
    ] {
        let _ = header_error(garbage);
    }
    // Non-UTF-8 header bytes.
    let mut request = iam_list_users(IAM_AUTHORIZATION);
    request.headers.insert(
        http::header::AUTHORIZATION,
        http::HeaderValue::from_bytes(
            b"AWS4-HMAC-SHA256 Credential=\xff\xfe/20150830/us-east-1/iam/aws4_request",
        )
        .expect("obs-text is allowed"),
    );
    let _ = verify(&request, b"", &docs_secrets(), at("20150830T123600Z"));
    request.headers.insert(
        "x-amz-date",
        http::HeaderValue::from_bytes(b"\xff2015").expect("obs-text"),
    );
    let _ = verify(&request, b"", &docs_secrets(), at("20150830T123600Z"));
}

#[test]
fn api_errors_per_protocol() {
    use argus_core::ErrorCode;
    let mismatch = AuthError::SignatureMismatch;
    let unknown = AuthError::UnknownAccessKey {
        access_key_id: "AKID".into(),
    };
    let expired = AuthError::SignatureExpired {
        signed_at: "a".into(),
        earliest: "b".into(),
        now: "c".into(),
    };
    let cases = [
        (&mismatch, false, ErrorCode::InvalidSignature, 400),
        (&mismatch, true, ErrorCode::SignatureDoesNotMatch, 403),
        (&unknown, false, ErrorCode::UnrecognizedClient, 400),
        (&unknown, true, ErrorCode::InvalidClientTokenId, 403),
        (&expired, false, ErrorCode::InvalidSignature, 400),
        (&expired, true, ErrorCode::SignatureDoesNotMatch, 403),
        (
            &AuthError::HostNotSigned,
            false,
            ErrorCode::IncompleteSignature,
            400,
        ),
        (
            &AuthError::MissingAuthentication,
            true,
            ErrorCode::MissingAuthenticationToken,
            403,
        ),
    ];
    for (error, query_style, code, status) in cases {
        let api = error.to_api_error(query_style);
        assert_eq!(
            (api.code, api.code.status()),
            (code, status),
            "{error:?} query_style={query_style}"
        );
        assert_eq!(api.message, error.to_string());
    }
    assert_eq!(
        mismatch.to_string(),
        "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
    );
    assert_eq!(
        unknown.to_string(),
        "The security token included in the request is invalid."
    );
}
