//! `@ptr`: an opaque handle on one log event, which GetLogRecord takes back.
//!
//! The text is URL-safe base64 (no padding) of a small binary record:
//! version byte `1`, the event's timestamp (i64, big-endian), its
//! `event_id` (u64, big-endian), then the log group identifier (`@log`,
//! UTF-8, to the end). Clients treat it as opaque; [`decode`] refuses
//! anything [`encode`] did not make.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

const VERSION: u8 = 1;

/// Where one event is: what a GetLogRecord needs to fetch it again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventPointer {
    /// The log group identifier as `@log` shows it (`123456789012:my-group`).
    pub log: String,
    /// The event's timestamp, milliseconds since the epoch.
    pub timestamp: i64,
    pub event_id: u64,
}

/// The `@ptr` text of an event.
pub fn encode(pointer: &EventPointer) -> String {
    let mut bytes = Vec::with_capacity(17 + pointer.log.len());
    bytes.push(VERSION);
    bytes.extend_from_slice(&pointer.timestamp.to_be_bytes());
    bytes.extend_from_slice(&pointer.event_id.to_be_bytes());
    bytes.extend_from_slice(pointer.log.as_bytes());
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The event an `@ptr` text points at; `None` if the text is not one.
pub fn decode(text: &str) -> Option<EventPointer> {
    let bytes = URL_SAFE_NO_PAD.decode(text).ok()?;
    let (&version, rest) = bytes.split_first()?;
    if version != VERSION {
        return None;
    }
    let timestamp = i64::from_be_bytes(rest.get(..8)?.try_into().ok()?);
    let event_id = u64::from_be_bytes(rest.get(8..16)?.try_into().ok()?);
    let log = String::from_utf8(rest.get(16..)?.to_vec()).ok()?;
    Some(EventPointer { log, timestamp, event_id })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_garbage() {
        let pointer = EventPointer { log: "123456789012:my-group/a".into(), timestamp: 1_796_224_440_123, event_id: 42 };
        let text = encode(&pointer);
        assert!(text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        assert_eq!(decode(&text), Some(pointer));
        assert_eq!(decode("not a pointer!"), None);
        assert_eq!(decode(""), None);
        assert_eq!(decode("AQ"), None);
    }
}
