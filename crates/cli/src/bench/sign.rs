//! SigV4 signing for the benchmark client: the `Authorization` header form,
//! as botocore's `SigV4Auth` signs an awsJson request (every header it sends
//! except the ones botocore never signs: `content-type;host;x-amz-date;x-amz-target`,
//! plus `x-amzn-query-mode` for CloudWatch's query-compatible awsJson1.0,
//! and the SHA-256 of the body as the payload hash).
//!
//! Spec: <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html>.
//! Argus's verifier (`argus_wire::sigv4`) keeps its signing helpers private,
//! so this is a small independent signer; the tests check it against the
//! spec's documented signing key and against that verifier.
//!
//! The body hash is an input, not computed here: the benchmark hashes its
//! pre-built bodies once, before the timed phase.

use std::time::{SystemTime, UNIX_EPOCH};

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

type HmacSha256 = Hmac<Sha256>;

const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// The headers every request signs, in canonical (sorted) order.
const BASE_SIGNED_HEADERS: &str = "content-type;host;x-amz-date;x-amz-target";

/// Access key, secret and scope of the requests a client signs.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub region: String,
    pub service: String,
}

/// The headers a signature adds to a request.
#[derive(Debug, Clone)]
pub struct Signature {
    pub amz_date: String,
    pub authorization: String,
}

/// Signs requests for one set of credentials. Keeps the derived key for the
/// current day and the `X-Amz-Date` of the current second, so signing costs
/// two small hashes and one HMAC per request.
#[derive(Debug)]
pub struct Signer {
    credentials: Credentials,
    /// (yyyymmdd, derived signing key)
    day_key: Option<(String, [u8; 32])>,
    /// (unix second, `X-Amz-Date` for it)
    second_stamp: Option<(u64, String)>,
}

impl Credentials {
    /// The same keys and region, scoped to another service's signing name
    /// (`logs`, `monitoring`).
    pub fn for_service(&self, service: &str) -> Self {
        Self {
            service: service.to_owned(),
            ..self.clone()
        }
    }
}

impl Signer {
    pub fn new(credentials: Credentials) -> Self {
        Self {
            credentials,
            day_key: None,
            second_stamp: None,
        }
    }

    /// Signs `POST /` with the given headers and body hash (lowercase hex).
    /// `extra_headers` are further signed headers, lowercase, sorted, and
    /// sorting after `x-amz-target` (such as `x-amzn-query-mode`).
    pub fn sign(
        &mut self,
        now: SystemTime,
        host: &str,
        content_type: &str,
        target: &str,
        extra_headers: &[(&str, &str)],
        payload_sha256_hex: &str,
    ) -> Signature {
        debug_assert!(
            extra_headers
                .iter()
                .all(|(name, _)| *name > "x-amz-target" && name.to_ascii_lowercase() == *name),
            "extra signed headers must be lowercase and sort after x-amz-target"
        );
        let amz_date = self.amz_date(now);
        let mut signed_headers = BASE_SIGNED_HEADERS.to_owned();
        let mut canonical_headers = format!(
            "content-type:{content_type}\nhost:{host}\nx-amz-date:{amz_date}\nx-amz-target:{target}\n"
        );
        for (name, value) in extra_headers {
            signed_headers.push(';');
            signed_headers.push_str(name);
            canonical_headers.push_str(&format!("{name}:{}\n", value.trim()));
        }
        self.finish(amz_date, &canonical_headers, &signed_headers, payload_sha256_hex)
    }

    /// Signs an awsQuery `POST /` (a form body, no `X-Amz-Target`), as
    /// botocore signs SNS requests.
    pub fn sign_form(&mut self, now: SystemTime, host: &str, content_type: &str, payload_sha256_hex: &str) -> Signature {
        let amz_date = self.amz_date(now);
        let canonical_headers = format!("content-type:{content_type}\nhost:{host}\nx-amz-date:{amz_date}\n");
        self.finish(amz_date, &canonical_headers, "content-type;host;x-amz-date", payload_sha256_hex)
    }

    fn finish(&mut self, amz_date: String, canonical_headers: &str, signed_headers: &str, payload_sha256_hex: &str) -> Signature {
        let day = amz_date.get(..8).unwrap_or_default().to_owned();
        let scope = format!(
            "{day}/{}/{}/aws4_request",
            self.credentials.region, self.credentials.service
        );
        let canonical_request =
            format!("POST\n/\n\n{canonical_headers}\n{signed_headers}\n{payload_sha256_hex}");
        let string_to_sign = format!(
            "{ALGORITHM}\n{amz_date}\n{scope}\n{}",
            hex::encode(Sha256::digest(canonical_request.as_bytes()))
        );
        let key = self.signing_key(&day);
        let signature = hex::encode(hmac_sha256(&key, string_to_sign.as_bytes()));
        let authorization = format!(
            "{ALGORITHM} Credential={}/{scope}, SignedHeaders={signed_headers}, Signature={signature}",
            self.credentials.access_key_id
        );
        Signature {
            amz_date,
            authorization,
        }
    }

    fn amz_date(&mut self, now: SystemTime) -> String {
        let unix_second = now
            .duration_since(UNIX_EPOCH)
            .map(|since| since.as_secs())
            .unwrap_or_default();
        if let Some((second, stamp)) = &self.second_stamp
            && *second == unix_second
        {
            return stamp.clone();
        }
        let stamp = format_amz_date(unix_second);
        self.second_stamp = Some((unix_second, stamp.clone()));
        stamp
    }

    fn signing_key(&mut self, day: &str) -> [u8; 32] {
        if let Some((cached_day, key)) = &self.day_key
            && cached_day == day
        {
            return *key;
        }
        let key = derive_signing_key(
            &self.credentials.secret_access_key,
            day,
            &self.credentials.region,
            &self.credentials.service,
        );
        self.day_key = Some((day.to_owned(), key));
        key
    }
}

/// `kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, day), region), service), "aws4_request")`.
fn derive_signing_key(secret: &str, day: &str, region: &str, service: &str) -> [u8; 32] {
    let date_key = hmac_sha256(format!("AWS4{secret}").as_bytes(), day.as_bytes());
    let region_key = hmac_sha256(&date_key, region.as_bytes());
    let service_key = hmac_sha256(&region_key, service.as_bytes());
    hmac_sha256(&service_key, b"aws4_request")
}

fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    // HMAC accepts keys of any length, so this cannot fail; the fallback only
    // keeps the function total.
    let Ok(mut mac) = HmacSha256::new_from_slice(key) else {
        return [0; 32];
    };
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// `YYYYMMDDTHHMMSSZ` in UTC.
fn format_amz_date(unix_second: u64) -> String {
    let seconds = i64::try_from(unix_second).unwrap_or_default();
    match jiff::Timestamp::from_second(seconds) {
        Ok(timestamp) => timestamp.strftime("%Y%m%dT%H%M%SZ").to_string(),
        Err(_) => "19700101T000000Z".to_owned(),
    }
}

/// Lowercase hex SHA-256, the payload hash of a body.
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use argus_wire::sigv4::{SecretLookup, verify};

    use super::*;

    struct OneSecret;

    impl SecretLookup for OneSecret {
        fn secret_access_key(&self, access_key_id: &str) -> Option<String> {
            (access_key_id == "AKIDBENCH").then(|| "bench-secret".to_owned())
        }
    }

    #[test]
    fn derives_the_documented_signing_key() {
        // The example in the SigV4 documentation ("Derive a signing key").
        let key = derive_signing_key(
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            "20120215",
            "us-east-1",
            "iam",
        );
        assert_eq!(
            hex::encode(key),
            "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d"
        );
    }

    #[test]
    fn formats_amz_date_in_utc() {
        assert_eq!(format_amz_date(1_700_000_000), "20231114T221320Z");
    }

    #[test]
    fn argus_verifier_accepts_the_signature() {
        let body = br#"{"logGroupName":"/bench","logStreamName":"s","logEvents":[]}"#;
        let now = SystemTime::now();
        let mut signer = Signer::new(Credentials {
            access_key_id: "AKIDBENCH".to_owned(),
            secret_access_key: "bench-secret".to_owned(),
            region: "eu-west-1".to_owned(),
            service: "logs".to_owned(),
        });
        let content_type = "application/x-amz-json-1.1";
        let target = "Logs_20140328.PutLogEvents";
        let signature = signer.sign(
            now,
            "127.0.0.1:4566",
            content_type,
            target,
            &[],
            &sha256_hex(body),
        );
        let request = http::Request::post("/")
            .header("host", "127.0.0.1:4566")
            .header("content-type", content_type)
            .header("x-amz-target", target)
            .header("x-amz-date", &signature.amz_date)
            .header("authorization", &signature.authorization)
            .body(())
            .expect("valid request");
        let (parts, ()) = request.into_parts();
        let verified = verify(&parts, body, &OneSecret, now + Duration::from_secs(1))
            .expect("signature verifies");
        assert_eq!(verified.region, "eu-west-1");
        assert_eq!(verified.service, "logs");

        let tampered = br#"{"logGroupName":"/other","logStreamName":"s","logEvents":[]}"#;
        assert!(verify(&parts, tampered, &OneSecret, now).is_err());
    }

    #[test]
    fn argus_verifier_accepts_a_query_mode_cloudwatch_signature() {
        let body = br#"{"Namespace":"Bench","MetricData":[{"MetricName":"m","Value":1}]}"#;
        let now = SystemTime::now();
        let mut signer = Signer::new(Credentials {
            access_key_id: "AKIDBENCH".to_owned(),
            secret_access_key: "bench-secret".to_owned(),
            region: "us-east-1".to_owned(),
            service: "monitoring".to_owned(),
        });
        let content_type = "application/x-amz-json-1.0";
        let target = "GraniteServiceVersion20100801.PutMetricData";
        let signature = signer.sign(
            now,
            "127.0.0.1:4566",
            content_type,
            target,
            &[("x-amzn-query-mode", "true")],
            &sha256_hex(body),
        );
        assert!(signature.authorization.contains(
            "SignedHeaders=content-type;host;x-amz-date;x-amz-target;x-amzn-query-mode,"
        ));
        let request = http::Request::post("/")
            .header("host", "127.0.0.1:4566")
            .header("content-type", content_type)
            .header("x-amz-target", target)
            .header("x-amzn-query-mode", "true")
            .header("x-amz-date", &signature.amz_date)
            .header("authorization", &signature.authorization)
            .body(())
            .expect("valid request");
        let (parts, ()) = request.into_parts();
        let verified = verify(&parts, body, &OneSecret, now + Duration::from_secs(1))
            .expect("signature verifies");
        assert_eq!(verified.service, "monitoring");
    }
}
