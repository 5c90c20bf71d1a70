//! Byte layout of WAL segment files and records (format version 1).
//!
//! A segment file is named `{first_lsn:020}.wal` so that lexical order is LSN
//! order. It starts with a 24-byte header, then records back to back:
//!
//! ```text
//! segment header: magic "ARGUSWAL" (8) | version u32 | first_lsn u64 | crc32c of the previous 20 bytes u32
//! record:         crc32c u32 | payload length u32 | lsn u64 | payload
//! ```
//!
//! All integers are little-endian. A record's CRC32C covers the length, the
//! LSN and the payload (everything after the CRC field), so a flipped bit in
//! any of them is caught. An all-zero record header never checksums, so
//! zero-filled space (a crash artifact, or preallocation) reads as the end of
//! the log. This module only encodes and decodes; it never touches files, and
//! it must never change the meaning of bytes already on disk: new layouts get
//! a new version number.

use super::Lsn;

/// Segment magic bytes.
pub(crate) const SEGMENT_MAGIC: [u8; 8] = *b"ARGUSWAL";
/// The only format version this build writes and reads.
pub(crate) const FORMAT_VERSION: u32 = 1;
/// Length of the segment header in bytes.
pub(crate) const SEGMENT_HEADER_LEN: usize = 24;
/// Length of a record header in bytes.
pub(crate) const RECORD_HEADER_LEN: usize = 16;
/// Largest payload one record may carry.
pub const MAX_PAYLOAD_BYTES: usize = 64 * 1024 * 1024;

const SEGMENT_SUFFIX: &str = ".wal";
const SEGMENT_DIGITS: usize = 20;

/// The file name of the segment whose first record has `first_lsn`.
pub(crate) fn segment_file_name(first_lsn: Lsn) -> String {
    format!("{first_lsn:020}{SEGMENT_SUFFIX}")
}

/// The first LSN encoded in a segment file name, or `None` if the name is not
/// a segment's.
pub(crate) fn parse_segment_file_name(name: &str) -> Option<Lsn> {
    let digits = name.strip_suffix(SEGMENT_SUFFIX)?;
    if digits.len() != SEGMENT_DIGITS || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

pub(crate) fn encode_segment_header(first_lsn: Lsn) -> [u8; SEGMENT_HEADER_LEN] {
    let mut header = [0u8; SEGMENT_HEADER_LEN];
    let (magic, rest) = header.split_at_mut(8);
    magic.copy_from_slice(&SEGMENT_MAGIC);
    let (version, rest) = rest.split_at_mut(4);
    version.copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    let (lsn, _crc) = rest.split_at_mut(8);
    lsn.copy_from_slice(&first_lsn.to_le_bytes());
    let (covered, crc) = header.split_at_mut(SEGMENT_HEADER_LEN - 4);
    crc.copy_from_slice(&crc32c::crc32c(covered).to_le_bytes());
    header
}

/// Why a segment header could not be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SegmentHeaderError {
    /// Damaged or not a segment: treat like any corruption.
    Corrupt(&'static str),
    /// Intact, but written by a format this build does not know.
    UnsupportedVersion(u32),
}

/// Decodes a segment header and returns the first LSN it declares.
pub(crate) fn decode_segment_header(
    header: &[u8; SEGMENT_HEADER_LEN],
) -> Result<Lsn, SegmentHeaderError> {
    let (magic, rest) = header.split_at(8);
    if magic != SEGMENT_MAGIC {
        return Err(SegmentHeaderError::Corrupt(
            "segment header has the wrong magic bytes",
        ));
    }
    let (covered, crc) = header.split_at(SEGMENT_HEADER_LEN - 4);
    if read_u32(crc, 0) != crc32c::crc32c(covered) {
        return Err(SegmentHeaderError::Corrupt(
            "segment header checksum mismatch",
        ));
    }
    let version = read_u32(rest, 0);
    if version != FORMAT_VERSION {
        return Err(SegmentHeaderError::UnsupportedVersion(version));
    }
    Ok(read_u64(rest, 4))
}

/// Appends one encoded record (header and payload) to `buf`.
pub(crate) fn encode_record(buf: &mut Vec<u8>, lsn: Lsn, payload: &[u8]) {
    debug_assert!(payload.len() <= MAX_PAYLOAD_BYTES);
    let len = u32::try_from(payload.len()).unwrap_or(u32::MAX);
    let mut header = [0u8; RECORD_HEADER_LEN];
    let (crc_field, covered) = header.split_at_mut(4);
    let (len_field, lsn_field) = covered.split_at_mut(4);
    len_field.copy_from_slice(&len.to_le_bytes());
    lsn_field.copy_from_slice(&lsn.to_le_bytes());
    let crc = crc32c::crc32c_append(crc32c::crc32c(covered), payload);
    crc_field.copy_from_slice(&crc.to_le_bytes());
    buf.extend_from_slice(&header);
    buf.extend_from_slice(payload);
}

/// A decoded (not yet verified) record header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RecordHeader {
    pub crc: u32,
    pub payload_len: u32,
    pub lsn: Lsn,
}

impl RecordHeader {
    pub(crate) fn decode(header: &[u8; RECORD_HEADER_LEN]) -> RecordHeader {
        RecordHeader {
            crc: read_u32(header, 0),
            payload_len: read_u32(header, 4),
            lsn: read_u64(header, 8),
        }
    }

    /// Whether `payload` is the one this header was written for.
    pub(crate) fn checksum_matches(
        &self,
        header: &[u8; RECORD_HEADER_LEN],
        payload: &[u8],
    ) -> bool {
        let (_crc, covered) = header.split_at(4);
        crc32c::crc32c_append(crc32c::crc32c(covered), payload) == self.crc
    }
}

/// Size on disk of a record carrying `payload_len` bytes.
pub(crate) fn record_len(payload_len: usize) -> u64 {
    (RECORD_HEADER_LEN + payload_len) as u64
}

fn read_u32(bytes: &[u8], at: usize) -> u32 {
    let field = bytes
        .get(at..at + 4)
        .and_then(|s| <[u8; 4]>::try_from(s).ok());
    debug_assert!(field.is_some(), "u32 field out of bounds");
    field.map_or(0, u32::from_le_bytes)
}

fn read_u64(bytes: &[u8], at: usize) -> u64 {
    let field = bytes
        .get(at..at + 8)
        .and_then(|s| <[u8; 8]>::try_from(s).ok());
    debug_assert!(field.is_some(), "u64 field out of bounds");
    field.map_or(0, u64::from_le_bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segment_names_sort_by_lsn_and_round_trip() {
        let names: Vec<String> = [1u64, 9, 10, 123_456, u64::MAX]
            .iter()
            .map(|&l| segment_file_name(l))
            .collect();
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(names, sorted);
        for (name, lsn) in names.iter().zip([1u64, 9, 10, 123_456, u64::MAX]) {
            assert_eq!(parse_segment_file_name(name), Some(lsn));
        }
        assert_eq!(parse_segment_file_name("LOCK"), None);
        assert_eq!(parse_segment_file_name("1.wal"), None);
        assert_eq!(parse_segment_file_name("0000000000000000000x.wal"), None);
        assert_eq!(
            parse_segment_file_name("00000000000000000001.wal.tmp"),
            None
        );
    }

    #[test]
    fn segment_header_round_trips_and_detects_damage() {
        let header = encode_segment_header(42);
        assert_eq!(decode_segment_header(&header), Ok(42));
        for byte in 0..SEGMENT_HEADER_LEN {
            let mut damaged = header;
            if let Some(b) = damaged.get_mut(byte) {
                *b ^= 0x10;
            }
            assert!(
                matches!(
                    decode_segment_header(&damaged),
                    Err(SegmentHeaderError::Corrupt(_))
                ),
                "byte {byte}"
            );
        }
    }

    #[test]
    fn record_round_trips_and_zero_header_never_checksums() {
        let mut buf = Vec::new();
        encode_record(&mut buf, 7, b"hello");
        assert_eq!(buf.len() as u64, record_len(5));
        let (head, payload) = buf.split_at(RECORD_HEADER_LEN);
        let head: [u8; RECORD_HEADER_LEN] = head.try_into().expect("16 bytes");
        let decoded = RecordHeader::decode(&head);
        assert_eq!((decoded.payload_len, decoded.lsn), (5, 7));
        assert!(decoded.checksum_matches(&head, payload));
        assert!(!decoded.checksum_matches(&head, b"hellO"));

        let zero = [0u8; RECORD_HEADER_LEN];
        assert!(!RecordHeader::decode(&zero).checksum_matches(&zero, &[]));
    }

    /// Frozen bytes of format version 1: if this changes, old WALs stop
    /// replaying. Add a new version instead of editing this.
    #[test]
    fn format_v1_bytes_are_frozen() {
        let header = encode_segment_header(1);
        assert_eq!(
            header,
            [
                b'A', b'R', b'G', b'U', b'S', b'W', b'A', b'L', 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0,
                26, 130, 225, 92
            ]
        );
        let mut record = Vec::new();
        encode_record(&mut record, 1, b"argus");
        assert_eq!(
            record,
            [
                170, 188, 164, 35, 5, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, b'a', b'r', b'g', b'u', b's'
            ]
        );
    }
}
