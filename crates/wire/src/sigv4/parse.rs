//! Finding and parsing the SigV4 authentication a request carries, in either
//! form, without any cryptography:
//!
//! * header: `Authorization: AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/logs/aws4_request,
//!   SignedHeaders=host;x-amz-date, Signature=<64 hex>` plus `X-Amz-Date` (or `Date`);
//! * presigned query: `X-Amz-Algorithm`, `X-Amz-Credential`, `X-Amz-Date`,
//!   `X-Amz-Expires`, `X-Amz-SignedHeaders`, `X-Amz-Signature`
//!   (+ `X-Amz-Security-Token`, which is simply part of the signed query).

use http::request::Parts;

use super::CredentialScope;
use super::error::{AuthError, MissingPart};
use super::time;

pub(crate) const ALGORITHM: &str = "AWS4-HMAC-SHA256";
const TERMINATOR: &str = "aws4_request";
/// SigV4's longest presigned-URL lifetime: seven days.
const MAX_EXPIRES_SECONDS: i64 = 604_800;

/// Which of the two SigV4 forms a request uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AuthForm {
    Header,
    Presigned,
}

/// A parsed credential: the scope plus the text signed in the string to sign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Credential {
    pub scope: CredentialScope,
    /// `<date>/<region>/<service>/aws4_request`, the string-to-sign's scope line.
    pub scope_line: String,
}

/// Everything needed to verify a request, as the request states it.
#[derive(Debug, Clone)]
pub(crate) struct RequestAuth {
    pub form: AuthForm,
    pub credential: Credential,
    /// The `SignedHeaders` value exactly as sent (the canonical request's line).
    pub signed_headers_line: String,
    /// The same names, lowercased, in the order sent.
    pub signed_headers: Vec<String>,
    pub signature: String,
    /// The request timestamp in `YYYYMMDD'T'HHMMSS'Z'` form (the string to sign's date line).
    pub amz_date: String,
    pub signed_at_unix: i64,
    /// `X-Amz-Expires` of a presigned URL.
    pub expires_seconds: Option<i64>,
}

/// The three parameters of the Authorization header.
struct HeaderParameters<'a> {
    credential: &'a str,
    signed_headers: &'a str,
    signature: &'a str,
}

/// Where a request's authentication is.
enum Location<'a> {
    Header(String),
    Query(PresignedParameters<'a>),
}

/// The decoded `X-Amz-*` query parameters of a presigned URL.
#[derive(Default)]
struct PresignedParameters<'a> {
    algorithm: Option<std::borrow::Cow<'a, str>>,
    credential: Option<std::borrow::Cow<'a, str>>,
    date: Option<std::borrow::Cow<'a, str>>,
    expires: Option<std::borrow::Cow<'a, str>>,
    signed_headers: Option<std::borrow::Cow<'a, str>>,
    signature: Option<std::borrow::Cow<'a, str>>,
}

impl PresignedParameters<'_> {
    fn is_present(&self) -> bool {
        self.algorithm.is_some() || self.credential.is_some() || self.signature.is_some()
    }
}

/// The credential scope alone, for routing before verification.
pub(crate) fn credential_only(parts: &Parts) -> Result<Option<Credential>, AuthError> {
    match locate(parts)? {
        None => Ok(None),
        Some(Location::Header(authorization)) => {
            let parameters = header_parameters(&authorization, true)?;
            parse_credential(parameters.credential).map(Some)
        }
        Some(Location::Query(parameters)) => {
            let complete = complete_query_parameters(&parameters)?;
            parse_credential(complete.credential).map(Some)
        }
    }
}

/// The full authentication of a request, or `None` when it carries none.
pub(crate) fn request_auth(parts: &Parts) -> Result<Option<RequestAuth>, AuthError> {
    match locate(parts)? {
        None => Ok(None),
        Some(Location::Header(authorization)) => header_auth(parts, &authorization).map(Some),
        Some(Location::Query(parameters)) => presigned_auth(&parameters).map(Some),
    }
}

fn locate(parts: &Parts) -> Result<Option<Location<'_>>, AuthError> {
    let query = presigned_parameters(parts.uri.query())?;
    let mut headers = parts.headers.get_all(http::header::AUTHORIZATION).iter();
    let Some(first) = headers.next() else {
        return Ok(query.is_present().then_some(Location::Query(query)));
    };
    let extra = headers.count();
    if extra > 0 {
        return Err(AuthError::MultipleAuthorizationHeaders { count: extra + 1 });
    }
    if query.is_present() {
        return Err(AuthError::MultipleAuthMechanisms);
    }
    Ok(Some(Location::Header(
        String::from_utf8_lossy(first.as_bytes()).into_owned(),
    )))
}

fn presigned_parameters(query: Option<&str>) -> Result<PresignedParameters<'_>, AuthError> {
    let mut parameters = PresignedParameters::default();
    let Some(query) = query else {
        return Ok(parameters);
    };
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        let (slot, name) = match key.as_ref() {
            "X-Amz-Algorithm" => (&mut parameters.algorithm, "X-Amz-Algorithm"),
            "X-Amz-Credential" => (&mut parameters.credential, "X-Amz-Credential"),
            "X-Amz-Date" => (&mut parameters.date, "X-Amz-Date"),
            "X-Amz-Expires" => (&mut parameters.expires, "X-Amz-Expires"),
            "X-Amz-SignedHeaders" => (&mut parameters.signed_headers, "X-Amz-SignedHeaders"),
            "X-Amz-Signature" => (&mut parameters.signature, "X-Amz-Signature"),
            _ => continue,
        };
        if slot.is_some() {
            return Err(AuthError::DuplicateQueryParameter { name });
        }
        *slot = Some(value);
    }
    Ok(parameters)
}

/// Splits the Authorization header into its three parameters. `has_date`
/// says whether the request has a date header, which AWS reports in the
/// same message as missing parameters.
fn header_parameters(
    authorization: &str,
    has_date: bool,
) -> Result<HeaderParameters<'_>, AuthError> {
    let trimmed = authorization.trim();
    let scheme_end = trimmed.find(char::is_whitespace).unwrap_or(trimmed.len());
    let (scheme, rest) = trimmed.split_at(scheme_end);
    if scheme != ALGORITHM {
        // Another AWS4 algorithm (SigV4a) is named as unsupported; anything
        // else (SigV2, a bearer token) is simply not a SigV4 header, which
        // AWS reports as all three parameters missing.
        if scheme.starts_with("AWS4-") {
            return Err(AuthError::UnsupportedAlgorithm {
                algorithm: scheme.to_owned(),
            });
        }
        let mut missing = vec![
            MissingPart::Credential,
            MissingPart::Signature,
            MissingPart::SignedHeaders,
        ];
        if !has_date {
            missing.push(MissingPart::Date);
        }
        return Err(AuthError::IncompleteAuthorizationHeader {
            missing,
            authorization: authorization.to_owned(),
        });
    }

    let mut credential = None;
    let mut signed_headers = None;
    let mut signature = None;
    for piece in rest.split(',') {
        let piece = piece.trim();
        if piece.is_empty() {
            continue;
        }
        let Some((key, value)) = piece.split_once('=') else {
            return Err(AuthError::MalformedAuthorizationPair {
                pair: piece.to_owned(),
                authorization: authorization.to_owned(),
            });
        };
        let (slot, name) = match key.trim() {
            "Credential" => (&mut credential, "Credential"),
            "SignedHeaders" => (&mut signed_headers, "SignedHeaders"),
            "Signature" => (&mut signature, "Signature"),
            _ => continue,
        };
        if slot.is_some() {
            return Err(AuthError::DuplicateAuthorizationParameter { name });
        }
        *slot = Some(value.trim());
    }

    let mut missing = Vec::new();
    if credential.is_none() {
        missing.push(MissingPart::Credential);
    }
    if signature.is_none() {
        missing.push(MissingPart::Signature);
    }
    if signed_headers.is_none() {
        missing.push(MissingPart::SignedHeaders);
    }
    if !has_date {
        missing.push(MissingPart::Date);
    }
    match (credential, signed_headers, signature) {
        (Some(credential), Some(signed_headers), Some(signature)) if missing.is_empty() => {
            Ok(HeaderParameters {
                credential,
                signed_headers,
                signature,
            })
        }
        _ => Err(AuthError::IncompleteAuthorizationHeader {
            missing,
            authorization: authorization.to_owned(),
        }),
    }
}

fn header_auth(parts: &Parts, authorization: &str) -> Result<RequestAuth, AuthError> {
    let amz_date_header = parts.headers.get("x-amz-date");
    let date_header = parts.headers.get(http::header::DATE);
    let has_date = amz_date_header.is_some() || date_header.is_some();
    let parameters = header_parameters(authorization, has_date)?;
    let credential = parse_credential(parameters.credential)?;
    let (signed_headers_line, signed_headers) = parse_signed_headers(parameters.signed_headers)?;

    // X-Amz-Date wins over Date when both are present.
    let (amz_date, signed_at_unix) = if let Some(value) = amz_date_header {
        let text = String::from_utf8_lossy(value.as_bytes()).into_owned();
        let Some(unix) = time::parse_amz_date(&text) else {
            return Err(AuthError::MalformedDate {
                source_name: "X-Amz-Date header",
                value: text,
            });
        };
        (text, unix)
    } else if let Some(value) = date_header {
        let text = String::from_utf8_lossy(value.as_bytes()).into_owned();
        let Some(unix) = time::parse_http_date(&text) else {
            return Err(AuthError::MalformedDate {
                source_name: "Date header",
                value: text,
            });
        };
        (time::format_amz_date(unix), unix)
    } else {
        // header_parameters reported the missing date already.
        return Err(AuthError::IncompleteAuthorizationHeader {
            missing: vec![MissingPart::Date],
            authorization: authorization.to_owned(),
        });
    };

    Ok(RequestAuth {
        form: AuthForm::Header,
        credential,
        signed_headers_line,
        signed_headers,
        signature: parameters.signature.to_owned(),
        amz_date,
        signed_at_unix,
        expires_seconds: None,
    })
}

/// The required presigned parameters, present and borrowed.
struct CompleteQueryParameters<'p> {
    credential: &'p str,
    date: &'p str,
    signed_headers: &'p str,
    signature: &'p str,
}

fn complete_query_parameters<'p>(
    parameters: &'p PresignedParameters<'_>,
) -> Result<CompleteQueryParameters<'p>, AuthError> {
    let mut missing = Vec::new();
    let required = [
        ("X-Amz-Algorithm", &parameters.algorithm),
        ("X-Amz-Credential", &parameters.credential),
        ("X-Amz-Signature", &parameters.signature),
        ("X-Amz-SignedHeaders", &parameters.signed_headers),
        ("X-Amz-Date", &parameters.date),
    ];
    for (name, value) in required {
        if value.is_none() {
            missing.push(name);
        }
    }
    match (
        &parameters.algorithm,
        &parameters.credential,
        &parameters.date,
        &parameters.signed_headers,
        &parameters.signature,
    ) {
        (Some(algorithm), Some(credential), Some(date), Some(signed_headers), Some(signature)) => {
            if algorithm.as_ref() != ALGORITHM {
                return Err(AuthError::UnsupportedAlgorithm {
                    algorithm: algorithm.clone().into_owned(),
                });
            }
            Ok(CompleteQueryParameters {
                credential,
                date,
                signed_headers,
                signature,
            })
        }
        _ => Err(AuthError::IncompleteQueryParameters { missing }),
    }
}

fn presigned_auth(parameters: &PresignedParameters<'_>) -> Result<RequestAuth, AuthError> {
    let complete = complete_query_parameters(parameters)?;
    let credential = parse_credential(complete.credential)?;
    let (signed_headers_line, signed_headers) = parse_signed_headers(complete.signed_headers)?;
    let Some(signed_at_unix) = time::parse_amz_date(complete.date) else {
        return Err(AuthError::MalformedDate {
            source_name: "X-Amz-Date parameter",
            value: complete.date.to_owned(),
        });
    };
    let expires_seconds = match &parameters.expires {
        None => None,
        Some(text) => {
            let valid_digits =
                !text.is_empty() && text.len() <= 18 && text.bytes().all(|b| b.is_ascii_digit());
            let Some(seconds) = valid_digits.then(|| text.parse::<i64>().ok()).flatten() else {
                return Err(AuthError::MalformedExpires {
                    value: text.clone().into_owned(),
                });
            };
            if seconds > MAX_EXPIRES_SECONDS {
                return Err(AuthError::ExpiresTooLong);
            }
            Some(seconds)
        }
    };
    Ok(RequestAuth {
        form: AuthForm::Presigned,
        credential,
        signed_headers_line,
        signed_headers,
        signature: complete.signature.to_owned(),
        amz_date: complete.date.to_owned(),
        signed_at_unix,
        expires_seconds,
    })
}

/// Parses `AKID/YYYYMMDD/region/service/aws4_request`. The access key id is
/// everything before the last four segments.
fn parse_credential(text: &str) -> Result<Credential, AuthError> {
    let malformed = || AuthError::MalformedCredential {
        credential: text.to_owned(),
    };
    let mut segments = text.rsplitn(5, '/');
    let (Some(terminator), Some(service), Some(region), Some(date), Some(access_key_id)) = (
        segments.next(),
        segments.next(),
        segments.next(),
        segments.next(),
        segments.next(),
    ) else {
        return Err(malformed());
    };
    let date_is_valid = date.len() == 8 && date.bytes().all(|b| b.is_ascii_digit());
    if access_key_id.is_empty() || region.is_empty() || service.is_empty() || !date_is_valid {
        return Err(malformed());
    }
    if terminator != TERMINATOR {
        return Err(AuthError::InvalidCredentialTerminator {
            terminator: terminator.to_owned(),
        });
    }
    Ok(Credential {
        scope: CredentialScope {
            access_key_id: access_key_id.to_owned(),
            date: date.to_owned(),
            region: region.to_owned(),
            service: service.to_owned(),
        },
        scope_line: format!("{date}/{region}/{service}/{TERMINATOR}"),
    })
}

/// Parses `host;x-amz-date;...`; `host` must be among them.
fn parse_signed_headers(line: &str) -> Result<(String, Vec<String>), AuthError> {
    let mut names = Vec::new();
    for name in line.split(';') {
        let is_token = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_graphic() && b != b':' && b != b',');
        if !is_token {
            return Err(AuthError::MalformedSignedHeaders {
                signed_headers: line.to_owned(),
            });
        }
        names.push(name.to_ascii_lowercase());
    }
    if !names.iter().any(|name| name == "host") {
        return Err(AuthError::HostNotSigned);
    }
    Ok((line.to_owned(), names))
}
