//! The cryptographic half of SigV4: hashing, the derived signing key
//! (`kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request")`)
//! and the constant-time signature comparison.
//!
//! Derived keys are cached per (secret, date, region, service): a busy
//! client sends thousands of requests a second under the same scope, and the
//! four chained HMACs are most of the work of a verification after hashing
//! the body. The cache is small and simply emptied when full; it never holds
//! more than [`KEY_CACHE_CAPACITY`] keys.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

type HmacSha256 = Hmac<Sha256>;

/// A derived SigV4 signing key.
pub(crate) type SigningKey = [u8; 32];

const KEY_CACHE_CAPACITY: usize = 4096;

/// Lowercase hex SHA-256 of `data`.
pub(crate) fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

fn hmac_sha256(key: &[u8], data: &[u8]) -> SigningKey {
    // HMAC takes keys of any length, so `new_from_slice` cannot fail; the
    // fallback only keeps this function total.
    let Ok(mut mac) = HmacSha256::new_from_slice(key) else {
        return [0; 32];
    };
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// The signing key for a scope, from the cache when possible.
pub(crate) fn signing_key(secret: &str, date: &str, region: &str, service: &str) -> SigningKey {
    type CacheKey = (String, String, String, String);
    static CACHE: OnceLock<Mutex<HashMap<CacheKey, SigningKey>>> = OnceLock::new();

    let cache_key = (
        secret.to_owned(),
        date.to_owned(),
        region.to_owned(),
        service.to_owned(),
    );
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    // A poisoned lock only means another thread panicked mid-insert; the map
    // holds plain values and is still usable.
    if let Some(key) = cache
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .get(&cache_key)
    {
        return *key;
    }
    let key = derive_signing_key(secret, date, region, service);
    let mut map = cache
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if map.len() >= KEY_CACHE_CAPACITY {
        map.clear();
    }
    map.insert(cache_key, key);
    key
}

/// Derives the signing key without the cache.
pub(crate) fn derive_signing_key(
    secret: &str,
    date: &str,
    region: &str,
    service: &str,
) -> SigningKey {
    let mut seed = Vec::with_capacity(secret.len() + 4);
    seed.extend_from_slice(b"AWS4");
    seed.extend_from_slice(secret.as_bytes());
    let date_key = hmac_sha256(&seed, date.as_bytes());
    let region_key = hmac_sha256(&date_key, region.as_bytes());
    let service_key = hmac_sha256(&region_key, service.as_bytes());
    hmac_sha256(&service_key, b"aws4_request")
}

/// The string to sign for a canonical request.
pub(crate) fn string_to_sign(amz_date: &str, scope: &str, canonical_request: &[u8]) -> String {
    format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        sha256_hex(canonical_request)
    )
}

/// Hex signature of `string_to_sign` (used by tests and diagnostics).
#[cfg(test)]
pub(crate) fn signature_hex(key: &SigningKey, string_to_sign: &str) -> String {
    hex::encode(hmac_sha256(key, string_to_sign.as_bytes()))
}

/// Whether `provided` (the decoded hex signature from the request) is the
/// HMAC of `string_to_sign`, compared in constant time.
pub(crate) fn signature_matches(key: &SigningKey, string_to_sign: &str, provided: &[u8]) -> bool {
    let Ok(mut mac) = HmacSha256::new_from_slice(key) else {
        return false;
    };
    mac.update(string_to_sign.as_bytes());
    mac.verify_slice(provided).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derives_the_documented_signing_key() {
        // IAM User Guide worked example (20150830, us-east-1, iam).
        let key = derive_signing_key(
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            "20150830",
            "us-east-1",
            "iam",
        );
        assert_eq!(
            hex::encode(key),
            "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9"
        );
        assert_eq!(
            signing_key(
                "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                "20150830",
                "us-east-1",
                "iam"
            ),
            key
        );
        assert_eq!(
            signing_key(
                "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                "20150830",
                "us-east-1",
                "iam"
            ),
            key
        );
    }

    #[test]
    fn empty_body_hash() {
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn signature_comparison_rejects_wrong_lengths() {
        let key = derive_signing_key("secret", "20240101", "us-east-1", "logs");
        let good = hmac_sha256(&key, b"payload");
        assert!(signature_matches(&key, "payload", &good));
        assert!(!signature_matches(
            &key,
            "payload",
            good.get(..31).unwrap_or_default()
        ));
        assert!(!signature_matches(&key, "payload", &[]));
        assert!(!signature_matches(&key, "other", &good));
    }
}
