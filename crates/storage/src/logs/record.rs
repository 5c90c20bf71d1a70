//! The WAL payload of one accepted PutLogEvents batch (one group, one
//! stream, events in chronological order):
//!
//! ```text
//! u8  kind = 1
//! u64 group_id | u64 stream_id | i64 ingestion_ms | u32 event_count
//! event_count × (i64 timestamp_ms | u32 message_len | message bytes)
//! ```
//! little-endian. Indexing never panics and never trusts a length further
//! than the bytes that are really there.

use super::NewEvent;

const KIND_LOG_BATCH: u8 = 1;

pub fn encode(group_id: u64, stream_id: u64, ingestion_ms: i64, events: &[NewEvent]) -> Vec<u8> {
    let payload: usize = events.iter().map(|event| 12 + event.message.len()).sum();
    let mut out = Vec::with_capacity(29 + payload);
    out.push(KIND_LOG_BATCH);
    out.extend_from_slice(&group_id.to_le_bytes());
    out.extend_from_slice(&stream_id.to_le_bytes());
    out.extend_from_slice(&ingestion_ms.to_le_bytes());
    out.extend_from_slice(&(events.len() as u32).to_le_bytes());
    for event in events {
        out.extend_from_slice(&event.timestamp.to_le_bytes());
        out.extend_from_slice(&(event.message.len() as u32).to_le_bytes());
        out.extend_from_slice(event.message.as_bytes());
    }
    out
}

/// Where each event of an encoded batch sits in its payload, without
/// copying the messages: the memtable keeps the payload itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchIndex {
    pub group_id: u64,
    pub stream_id: u64,
    pub ingestion_ms: i64,
    pub events: Vec<IndexedEvent>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexedEvent {
    pub timestamp: i64,
    /// Byte range of the message in the payload.
    pub offset: u32,
    pub len: u32,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    #[error("unknown record kind {0}")]
    UnknownKind(u8),
    #[error("record is truncated")]
    Truncated,
}

struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let (head, tail) = self.bytes.split_at_checked(n).ok_or(DecodeError::Truncated)?;
        self.bytes = tail;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    fn u8(&mut self) -> Result<u8, DecodeError> {
        let [byte] = self.array::<1>()?;
        Ok(byte)
    }

    fn u32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    fn u64(&mut self) -> Result<u64, DecodeError> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    fn i64(&mut self) -> Result<i64, DecodeError> {
        Ok(i64::from_le_bytes(self.array()?))
    }
}

/// Indexes an encoded batch. Message bytes are not checked for UTF-8 here
/// (they were `String`s when encoded; readers check as they read).
pub fn index(bytes: &[u8]) -> Result<BatchIndex, DecodeError> {
    let total = bytes.len();
    let mut reader = Reader { bytes };
    let kind = reader.u8()?;
    if kind != KIND_LOG_BATCH {
        return Err(DecodeError::UnknownKind(kind));
    }
    let group_id = reader.u64()?;
    let stream_id = reader.u64()?;
    let ingestion_ms = reader.i64()?;
    let count = reader.u32()? as usize;
    let mut events = Vec::with_capacity(count.min(reader.bytes.len() / 12));
    for _ in 0..count {
        let timestamp = reader.i64()?;
        let len = reader.u32()?;
        let offset = u32::try_from(total - reader.bytes.len()).map_err(|_| DecodeError::Truncated)?;
        reader.take(len as usize)?;
        events.push(IndexedEvent { timestamp, offset, len });
    }
    Ok(BatchIndex { group_id, stream_id, ingestion_ms, events })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_points_at_each_message() {
        let events = vec![
            NewEvent { timestamp: 5, message: "one".into() },
            NewEvent { timestamp: 6, message: "two ✓".into() },
        ];
        let bytes = encode(1, 2, 3, &events);
        let index = index(&bytes).expect("indexes");
        assert_eq!((index.group_id, index.stream_id, index.ingestion_ms), (1, 2, 3));
        for (event, indexed) in events.iter().zip(&index.events) {
            let range = indexed.offset as usize..(indexed.offset + indexed.len) as usize;
            assert_eq!(&bytes[range], event.message.as_bytes());
            assert_eq!(indexed.timestamp, event.timestamp);
        }
        for cut in 0..bytes.len() {
            assert!(super::index(&bytes[..cut]).is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn huge_counts_do_not_allocate() {
        let mut bytes = encode(1, 1, 1, &[]);
        let count_at = bytes.len() - 4;
        bytes[count_at..].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(index(&bytes), Err(DecodeError::Truncated));
    }
}
