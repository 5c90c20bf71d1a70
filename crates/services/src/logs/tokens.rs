//! Paging tokens. Clients treat them as opaque; Argus makes them
//! self-contained (no server-side cursor state), so a token keeps working
//! across restarts and costs nothing to hold.
//!
//! * DescribeLogGroups / DescribeLogStreams / FilterLogEvents: base64url
//!   of a small JSON object naming where the previous page ended.
//! * GetLogEvents: AWS's visible form, `f/` or `b/` and 56 digits: the
//!   event key (timestamp shifted to be non-negative, 20 digits; event id,
//!   20 digits) and the stream id (16 digits), so a token from another
//!   stream is refused.

use argus_core::ApiError;
use argus_storage::logs::EventKey;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::messages;

pub fn invalid() -> ApiError {
    ApiError::invalid_parameter(messages::INVALID_TOKEN)
}

pub fn encode<T: Serialize>(position: &T) -> String {
    let json = serde_json::to_vec(position).unwrap_or_default();
    URL_SAFE_NO_PAD.encode(json)
}

pub fn decode<T: DeserializeOwned>(token: &str) -> Result<T, ApiError> {
    let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| invalid())?;
    serde_json::from_slice(&bytes).map_err(|_| invalid())
}

/// Where a GetLogEvents page starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamPosition {
    /// Events after this key, ascending.
    Forward(EventKey),
    /// Events before this key, descending.
    Backward(EventKey),
}

const SHIFT: i128 = 1 << 63;

pub fn encode_stream_position(position: StreamPosition, stream_id: u64) -> String {
    let (prefix, key) = match position {
        StreamPosition::Forward(key) => ('f', key),
        StreamPosition::Backward(key) => ('b', key),
    };
    let shifted = (i128::from(key.timestamp) + SHIFT) as u64;
    format!("{prefix}/{shifted:020}{:020}{:016}", key.event_id, stream_id % 10_000_000_000_000_000)
}

pub fn decode_stream_position(token: &str, stream_id: u64) -> Result<StreamPosition, ApiError> {
    let (prefix, digits) = token.split_at_checked(2).ok_or_else(invalid)?;
    if digits.len() != 56 || !digits.bytes().all(|byte| byte.is_ascii_digit()) {
        return Err(invalid());
    }
    let number = |range: std::ops::Range<usize>| -> Result<u64, ApiError> {
        digits.get(range).and_then(|text| text.parse::<u64>().ok()).ok_or_else(invalid)
    };
    let shifted = number(0..20)?;
    let event_id = number(20..40)?;
    let token_stream = number(40..56)?;
    if token_stream != stream_id % 10_000_000_000_000_000 {
        return Err(invalid());
    }
    let timestamp = i64::try_from(i128::from(shifted) - SHIFT).map_err(|_| invalid())?;
    let key = EventKey { timestamp, event_id };
    match prefix {
        "f/" => Ok(StreamPosition::Forward(key)),
        "b/" => Ok(StreamPosition::Backward(key)),
        _ => Err(invalid()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_positions_round_trip_and_are_bound_to_their_stream() {
        for key in [
            EventKey { timestamp: 0, event_id: 0 },
            EventKey { timestamp: 1_700_000_000_000, event_id: 123 << 16 | 7 },
            EventKey { timestamp: -5, event_id: u64::MAX },
            EventKey { timestamp: i64::MAX, event_id: 1 },
        ] {
            for position in [StreamPosition::Forward(key), StreamPosition::Backward(key)] {
                let token = encode_stream_position(position, 42);
                assert_eq!(token.len(), 58, "{token}");
                assert_eq!(decode_stream_position(&token, 42).expect("valid"), position);
                assert!(decode_stream_position(&token, 43).is_err());
            }
        }
        for bad in ["", "f/", "x/00000000000000000000000000000000000000000000000000000000", "f/12ab", "garbage"] {
            assert!(decode_stream_position(bad, 42).is_err(), "{bad}");
        }
    }

    #[test]
    fn opaque_tokens_reject_tampering() {
        let token = encode(&("name", 3));
        assert_eq!(decode::<(String, u32)>(&token).expect("valid"), ("name".to_string(), 3));
        assert!(decode::<(String, u32)>("!!!").is_err());
        assert!(decode::<(String, u32)>(&encode(&"other shape")).is_err());
    }
}
