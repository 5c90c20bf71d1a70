//! The canonical request of SigV4, rebuilt from the request as received.
//!
//! Spec: <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html>.
//! Where the spec leaves room, this follows what botocore (the aws CLI and
//! boto3) does, read from `botocore/auth.py`:
//!
//! * URI: the path *as it arrived* (still percent-encoded) has its dot
//!   segments and empty segments removed and is then percent-encoded again,
//!   so `%20` signs as `%2520`. Every non-S3 AWS SDK double-encodes this way.
//! * Query: each `key=value` is decoded and re-encoded with RFC 3986
//!   unreserved characters only, then sorted by key and value.
//! * Headers: the names in `SignedHeaders`, lowercased; values trimmed with
//!   inner runs of spaces collapsed; repeated headers joined with `,`.
//!
//! Clients differ in corners (botocore signs a query it finds in the URL
//! verbatim, so a `+` or lowercase `%2f` there is signed as is; some SDKs do
//! not normalise the path), so the URI and query come as a short list of
//! candidates, the spec's form first. Each candidate is derived from the
//! request itself, so accepting any of them never accepts a request the
//! signer did not sign.

use http::request::Parts;

/// Bytes that stay unescaped in canonical URIs and query strings.
fn is_unreserved(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~')
}

/// Percent-encodes everything but RFC 3986 unreserved bytes (and `/` when
/// `keep_slash`), with uppercase hex as SigV4 requires.
pub(crate) fn uri_encode(input: &[u8], keep_slash: bool) -> String {
    let mut out = String::with_capacity(input.len());
    for &byte in input {
        if is_unreserved(byte) || (keep_slash && byte == b'/') {
            out.push(char::from(byte));
        } else {
            out.push('%');
            out.push(upper_hex_digit(byte >> 4));
            out.push(upper_hex_digit(byte & 0x0f));
        }
    }
    out
}

fn upper_hex_digit(nibble: u8) -> char {
    debug_assert!(nibble < 16);
    char::from(if nibble < 10 {
        b'0' + nibble
    } else {
        b'A' + (nibble - 10)
    })
}

/// Decodes `%XX` escapes; a `%` not followed by two hex digits stays as is.
/// With `plus_is_space`, `+` decodes to a space (form encoding, which is how
/// the awsQuery parser reads the same parameters).
fn percent_decode(input: &str, plus_is_space: bool) -> Vec<u8> {
    let bytes = input.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while let Some(&byte) = bytes.get(index) {
        let escaped = match (byte, bytes.get(index + 1), bytes.get(index + 2)) {
            (b'%', Some(&high), Some(&low)) => hex_value(high)
                .zip(hex_value(low))
                .map(|(h, l)| (h << 4) | l),
            _ => None,
        };
        if let Some(decoded) = escaped {
            out.push(decoded);
            index += 3;
            continue;
        }
        out.push(if plus_is_space && byte == b'+' {
            b' '
        } else {
            byte
        });
        index += 1;
    }
    out
}

fn hex_value(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        b'A'..=b'F' => Some(digit - b'A' + 10),
        _ => None,
    }
}

/// RFC 3986 §5.2.4 dot-segment removal plus dropping empty segments (AWS
/// services treat `//` as `/`), keeping a leading and trailing slash.
fn normalize_path(path: &str) -> String {
    if path.is_empty() {
        return "/".to_owned();
    }
    let mut segments: Vec<&str> = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            other => segments.push(other),
        }
    }
    let mut normalized = String::with_capacity(path.len());
    if path.starts_with('/') {
        normalized.push('/');
    }
    normalized.push_str(&segments.join("/"));
    if path.ends_with('/') && !segments.is_empty() {
        normalized.push('/');
    }
    normalized
}

/// Canonical URI candidates: normalised then encoded (botocore, the spec),
/// then the raw path encoded when normalisation changed it.
pub(crate) fn canonical_uri_candidates(raw_path: &str) -> Vec<String> {
    let normalized = uri_encode(normalize_path(raw_path).as_bytes(), true);
    let raw_path = if raw_path.is_empty() { "/" } else { raw_path };
    let verbatim = uri_encode(raw_path.as_bytes(), true);
    if verbatim == normalized {
        vec![normalized]
    } else {
        vec![normalized, verbatim]
    }
}

/// Canonical query candidates. `skip_key` names a parameter to leave out
/// (`X-Amz-Signature` for presigned URLs).
///
/// 1. every pair decoded (`+` as space) and re-encoded, sorted: the spec;
/// 2. the pairs exactly as received, sorted: botocore when the query was
///    already in the URL it signed.
pub(crate) fn canonical_query_candidates(
    raw_query: Option<&str>,
    skip_key: Option<&str>,
) -> Vec<String> {
    let Some(raw_query) = raw_query.filter(|query| !query.is_empty()) else {
        return vec![String::new()];
    };
    let mut encoded_pairs: Vec<(String, String)> = Vec::new();
    let mut verbatim_pairs: Vec<(&str, &str)> = Vec::new();
    for pair in raw_query.split('&') {
        let (raw_key, raw_value) = pair.split_once('=').unwrap_or((pair, ""));
        let key = percent_decode(raw_key, true);
        if skip_key.is_some_and(|skip| skip.as_bytes() == key.as_slice()) {
            continue;
        }
        verbatim_pairs.push((raw_key, raw_value));
        if pair.is_empty() {
            continue;
        }
        encoded_pairs.push((
            uri_encode(&key, false),
            uri_encode(&percent_decode(raw_value, true), false),
        ));
    }
    encoded_pairs.sort();
    verbatim_pairs.sort();
    let join = |pairs: &mut dyn Iterator<Item = (&str, &str)>| {
        let mut joined = String::with_capacity(raw_query.len() + 16);
        for (index, (key, value)) in pairs.enumerate() {
            if index > 0 {
                joined.push('&');
            }
            joined.push_str(key);
            joined.push('=');
            joined.push_str(value);
        }
        joined
    };
    let encoded = join(
        &mut encoded_pairs
            .iter()
            .map(|(key, value)| (key.as_str(), value.as_str())),
    );
    let verbatim = join(&mut verbatim_pairs.into_iter());
    if verbatim == encoded {
        vec![encoded]
    } else {
        vec![encoded, verbatim]
    }
}

/// The canonical headers block (each `name:value\n`) for `signed_headers`.
/// A signed header the request lacks canonicalises to an empty value, which
/// then fails the signature check rather than the parse. `host` falls back to
/// the URI authority (HTTP/2 has `:authority` instead of a Host header).
pub(crate) fn canonical_headers(parts: &Parts, signed_headers: &[String]) -> Vec<u8> {
    let mut block = Vec::with_capacity(256);
    for name in signed_headers {
        block.extend_from_slice(name.as_bytes());
        block.push(b':');
        let mut first = true;
        for value in parts.headers.get_all(name.as_str()) {
            if !first {
                block.push(b',');
            }
            first = false;
            push_trimmed(&mut block, value.as_bytes());
        }
        if first
            && name == "host"
            && let Some(authority) = parts.uri.authority()
        {
            push_trimmed(&mut block, authority.as_str().as_bytes());
        }
        block.push(b'\n');
    }
    block
}

/// Appends `value` without leading/trailing whitespace and with each inner
/// run of spaces and tabs collapsed to one space.
fn push_trimmed(out: &mut Vec<u8>, value: &[u8]) {
    let mut pending_space = false;
    let mut wrote_any = false;
    for &byte in value {
        if byte == b' ' || byte == b'\t' {
            pending_space = wrote_any;
            continue;
        }
        if pending_space {
            out.push(b' ');
            pending_space = false;
        }
        out.push(byte);
        wrote_any = true;
    }
}

/// The parts of one canonical request.
pub(crate) struct CanonicalRequest<'a> {
    pub method: &'a str,
    pub uri: &'a str,
    pub query: &'a str,
    pub headers: &'a [u8],
    pub signed_headers: &'a str,
    pub payload_hash: &'a str,
}

impl CanonicalRequest<'_> {
    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(
            self.method.len()
                + self.uri.len()
                + self.query.len()
                + self.headers.len()
                + self.signed_headers.len()
                + 80,
        );
        for line in [
            self.method.as_bytes(),
            self.uri.as_bytes(),
            self.query.as_bytes(),
            self.headers,
        ] {
            out.extend_from_slice(line);
            out.push(b'\n');
        }
        // The headers block already ends in '\n'; the blank line after it is
        // the spec's separator.
        out.extend_from_slice(self.signed_headers.as_bytes());
        out.push(b'\n');
        out.extend_from_slice(self.payload_hash.as_bytes());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_encoding_keeps_only_unreserved() {
        assert_eq!(uri_encode(b"aZ09-_.~", false), "aZ09-_.~");
        assert_eq!(uri_encode(b"a b/c+d=e%", false), "a%20b%2Fc%2Bd%3De%25");
        assert_eq!(uri_encode(b"/a b/", true), "/a%20b/");
        assert_eq!(uri_encode("é".as_bytes(), false), "%C3%A9");
    }

    #[test]
    fn paths_are_normalized_then_double_encoded() {
        assert_eq!(canonical_uri_candidates(""), vec!["/"]);
        assert_eq!(canonical_uri_candidates("/"), vec!["/"]);
        assert_eq!(canonical_uri_candidates("/foo%20bar"), vec!["/foo%2520bar"]);
        assert_eq!(
            canonical_uri_candidates("/a/./b/../c//d/"),
            vec!["/a/c/d/", "/a/./b/../c//d/"]
        );
        assert_eq!(canonical_uri_candidates("/.."), vec!["/", "/.."]);
        assert_eq!(normalize_path("/a/b/../../.."), "/");
        assert_eq!(normalize_path("//"), "/");
    }

    #[test]
    fn query_is_decoded_reencoded_and_sorted() {
        assert_eq!(canonical_query_candidates(None, None), vec![""]);
        assert_eq!(canonical_query_candidates(Some(""), None), vec![""]);
        assert_eq!(
            canonical_query_candidates(Some("b=2&a=1&a=0"), None),
            vec!["a=0&a=1&b=2"]
        );
        assert_eq!(
            canonical_query_candidates(Some("flag&x="), None),
            vec!["flag=&x="]
        );
        assert_eq!(
            canonical_query_candidates(Some("q=a+b%2fc&r=%7E!"), None),
            vec!["q=a%20b%2Fc&r=~%21", "q=a+b%2fc&r=%7E!"]
        );
        assert_eq!(
            canonical_query_candidates(Some("X-Amz-Signature=abc&A=1"), Some("X-Amz-Signature")),
            vec!["A=1"]
        );
        // A lone '%' is not an escape; it is encoded like any other byte.
        assert_eq!(
            canonical_query_candidates(Some("p=100%"), None),
            vec!["p=100%25", "p=100%"]
        );
    }

    #[test]
    fn header_values_are_trimmed_and_joined() {
        let request = http::Request::builder()
            .uri("/")
            .header("Host", "example.com")
            .header("X-Multi", "  a   b \t c ")
            .header("X-Multi", "d")
            .header("X-Empty", "")
            .body(())
            .expect("valid request");
        let (parts, ()) = request.into_parts();
        let names: Vec<String> = ["host", "x-empty", "x-missing", "x-multi"]
            .map(str::to_owned)
            .to_vec();
        let block = canonical_headers(&parts, &names);
        assert_eq!(
            String::from_utf8_lossy(&block),
            "host:example.com\nx-empty:\nx-missing:\nx-multi:a b c,d\n"
        );
    }

    #[test]
    fn host_falls_back_to_the_uri_authority() {
        let (parts, ()) = http::Request::builder()
            .uri("https://logs.example.com:8443/")
            .body(())
            .expect("valid request")
            .into_parts();
        let block = canonical_headers(&parts, &["host".to_owned()]);
        assert_eq!(
            String::from_utf8_lossy(&block),
            "host:logs.example.com:8443\n"
        );
    }
}
