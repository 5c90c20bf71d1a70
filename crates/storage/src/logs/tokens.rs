//! The token index: per row group of a segment file, a split-block bloom
//! filter of the tokens its messages contain, kept in a sidecar file beside
//! the segment (`<segment>.tokens`). A filter pattern whose every match must
//! contain some token lets a search skip the row groups whose filter says
//! the token is absent, reading 32 bytes per (row group, token) instead of
//! the row group.
//!
//! * A token is a maximal run of ASCII letters and digits. Indexed are the
//!   tokens of at least 3 bytes that are not all digits (numbers are rarely
//!   searched for and would dominate the filters): a token of up to 8 bytes
//!   as itself, a longer one as its first 8 and its last 8 bytes (its
//!   *head* and *tail*).
//! * Filter patterns match terms as substrings, so a literal's first token
//!   may be the end of a longer token in a message, and its last token the
//!   start of one. Heads and tails make both checkable: a message containing
//!   `…abcdefghij-…` as a substring has a token ending in `cdefghij`, whose
//!   tail (or itself, if 8 bytes long) is that. Tokens strictly inside a
//!   literal are whole in any match. A literal that is a single token
//!   without delimiters around it can sit anywhere inside a longer token and
//!   gives nothing to prune with ([`TokenQuery::from_literals`]).
//! * The filter layout is Parquet's split-block bloom filter (256-bit
//!   blocks of eight 32-bit words, the same salts), hashed with XXH3-64, at
//!   about 10 bits per distinct token (≈1% false positives).
//!
//! Sidecar format, little-endian:
//! `b"ARGUSTOK" | version u32 | row_groups u32 | row_groups × (offset u64, blocks u32) | crc32c u32`
//! followed by the blocks, 32 bytes each, at the given absolute offsets.

use std::collections::HashSet;

pub const SIDECAR_SUFFIX: &str = ".tokens";
const MAGIC: &[u8; 8] = b"ARGUSTOK";
const VERSION: u32 = 2;
const BLOCK_BYTES: usize = 32;
const BITS_PER_TOKEN: usize = 10;
const MIN_TOKEN: usize = 3;
/// Tokens longer than this are indexed by their head and tail of this size.
const EDGE: usize = 8;

const SALT: [u32; 8] = [
    0x47b6_137b, 0x4497_4d91, 0x8824_ad5b, 0xa2b7_289d, 0x7054_95c7, 0x2df1_424b, 0x9efc_4947, 0x5c6b_fb31,
];

fn indexable(token: &[u8]) -> bool {
    token.len() >= MIN_TOKEN && !token.iter().all(u8::is_ascii_digit)
}

/// The index entries of a whole token: itself, or its head and tail.
fn entries(token: &[u8]) -> (&[u8], Option<&[u8]>) {
    match (token.get(..EDGE), token.len().checked_sub(EDGE).and_then(|start| token.get(start..))) {
        (Some(head), Some(tail)) if token.len() > EDGE => (head, Some(tail)),
        _ => (token, None),
    }
}

pub fn hash(token: &[u8]) -> u64 {
    xxhash_rust::xxh3::xxh3_64(token)
}

/// Calls `each` with every maximal ASCII-alphanumeric run of `text` and
/// whether it touches the start and the end of `text`.
fn for_each_run(text: &[u8], mut each: impl FnMut(&[u8], bool, bool)) {
    let mut start: Option<usize> = None;
    for (at, byte) in text.iter().enumerate() {
        match (byte.is_ascii_alphanumeric(), start) {
            (true, None) => start = Some(at),
            (false, Some(from)) => {
                each(text.get(from..at).unwrap_or_default(), from == 0, false);
                start = None;
            }
            _ => {}
        }
    }
    if let Some(from) = start {
        each(text.get(from..).unwrap_or_default(), from == 0, true);
    }
}

/// Hashes of the index entries of a message's tokens.
pub fn message_tokens(message: &[u8], mut each: impl FnMut(u64)) {
    for_each_run(message, |token, _, _| {
        if indexable(token) {
            let (first, second) = entries(token);
            each(hash(first));
            if let Some(second) = second {
                each(hash(second));
            }
        }
    });
}

fn block_index(hash: u64, blocks: u32) -> u32 {
    (((hash >> 32) * u64::from(blocks)) >> 32) as u32
}

fn block_mask(hash: u64) -> [u32; 8] {
    let key = hash as u32;
    SALT.map(|salt| 1u32 << (key.wrapping_mul(salt) >> 27))
}

/// Collects one row group's tokens, then lays out its filter.
#[derive(Debug, Default)]
pub struct RowGroupTokens {
    hashes: HashSet<u64>,
}

impl RowGroupTokens {
    pub fn add_message(&mut self, message: &[u8]) {
        message_tokens(message, |token| {
            self.hashes.insert(token);
        });
    }

    fn filter(&self) -> Vec<u8> {
        let wanted = (self.hashes.len() * BITS_PER_TOKEN).div_ceil(BLOCK_BYTES * 8).max(1);
        let blocks = wanted.next_power_of_two();
        let mut words = vec![0u32; blocks * 8];
        for &hash in &self.hashes {
            let base = block_index(hash, blocks as u32) as usize * 8;
            for (offset, bit) in block_mask(hash).into_iter().enumerate() {
                if let Some(word) = words.get_mut(base + offset) {
                    *word |= bit;
                }
            }
        }
        words.iter().flat_map(|word| word.to_le_bytes()).collect()
    }
}

/// Writes the sidecar for a segment's row groups, in order.
pub fn encode_sidecar(row_groups: &[RowGroupTokens]) -> Vec<u8> {
    let filters: Vec<Vec<u8>> = row_groups.iter().map(RowGroupTokens::filter).collect();
    let header_len = MAGIC.len() + 8 + filters.len() * 12 + 4;
    let mut out = Vec::with_capacity(header_len + filters.iter().map(Vec::len).sum::<usize>());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.extend_from_slice(&(filters.len() as u32).to_le_bytes());
    let mut offset = header_len as u64;
    for filter in &filters {
        out.extend_from_slice(&offset.to_le_bytes());
        out.extend_from_slice(&((filter.len() / BLOCK_BYTES) as u32).to_le_bytes());
        offset += filter.len() as u64;
    }
    let crc = crc32c::crc32c(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    for filter in filters {
        out.extend_from_slice(&filter);
    }
    out
}

/// Where each row group's filter lies in a sidecar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SidecarHeader {
    row_groups: Vec<(u64, u32)>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SidecarError {
    #[error("token index is truncated")]
    Truncated,
    #[error("token index has a bad magic number, version or checksum")]
    Corrupt,
}

impl SidecarHeader {
    /// Bytes to read for a header of a segment with `row_groups` row groups.
    pub fn len_for(row_groups: usize) -> usize {
        MAGIC.len() + 8 + row_groups * 12 + 4
    }

    pub fn decode(bytes: &[u8]) -> Result<SidecarHeader, SidecarError> {
        let field = |at: usize, len: usize| bytes.get(at..at + len).ok_or(SidecarError::Truncated);
        if field(0, 8)? != MAGIC {
            return Err(SidecarError::Corrupt);
        }
        let u32_at = |at: usize| -> Result<u32, SidecarError> {
            let raw: [u8; 4] = field(at, 4)?.try_into().map_err(|_| SidecarError::Truncated)?;
            Ok(u32::from_le_bytes(raw))
        };
        if u32_at(8)? != VERSION {
            return Err(SidecarError::Corrupt);
        }
        let count = u32_at(12)? as usize;
        let crc_at = 16 + count.checked_mul(12).ok_or(SidecarError::Corrupt)?;
        if u32_at(crc_at)? != crc32c::crc32c(field(0, crc_at)?) {
            return Err(SidecarError::Corrupt);
        }
        let mut row_groups = Vec::with_capacity(count);
        for index in 0..count {
            let at = 16 + index * 12;
            let raw: [u8; 8] = field(at, 8)?.try_into().map_err(|_| SidecarError::Truncated)?;
            row_groups.push((u64::from_le_bytes(raw), u32_at(at + 8)?));
        }
        Ok(SidecarHeader { row_groups })
    }

    pub fn row_groups(&self) -> usize {
        self.row_groups.len()
    }

    /// The byte range of the block that holds `hash` in `row_group`'s filter.
    pub fn block_range(&self, row_group: usize, hash: u64) -> Option<std::ops::Range<u64>> {
        let &(offset, blocks) = self.row_groups.get(row_group)?;
        if blocks == 0 {
            return None;
        }
        let start = offset + u64::from(block_index(hash, blocks)) * BLOCK_BYTES as u64;
        Some(start..start + BLOCK_BYTES as u64)
    }
}

/// Whether a filter block (as read from the sidecar) may hold `hash`.
pub fn block_may_contain(block: &[u8], hash: u64) -> bool {
    let mask = block_mask(hash);
    block.chunks_exact(4).zip(mask).all(|(word, bit)| {
        let word: [u8; 4] = word.try_into().unwrap_or_default();
        u32::from_le_bytes(word) & bit != 0
    })
}

/// Tokens a pattern's matches must contain: a conjunction of alternatives,
/// each alternative a set of token hashes that all occur in a matching
/// message. Empty when the pattern gives nothing to prune with.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TokenQuery {
    groups: Vec<Vec<Vec<u64>>>,
}

impl TokenQuery {
    /// From what a pattern's matches must contain: a conjunction of
    /// alternatives, each a literal text and whether it sits between
    /// delimiters (`whole_word`) or may be part of a longer word.
    pub fn from_literals<'a, G, A>(groups_of_literals: G) -> TokenQuery
    where
        G: IntoIterator<Item = A>,
        A: IntoIterator<Item = (&'a str, bool)>,
    {
        let mut groups = Vec::new();
        'groups: for alternatives in groups_of_literals {
            let mut group = Vec::new();
            for (text, whole_word) in alternatives {
                let tokens = whole_tokens(text, whole_word);
                if tokens.is_empty() {
                    // This alternative can match anywhere: the group prunes nothing.
                    continue 'groups;
                }
                group.push(tokens);
            }
            if !group.is_empty() {
                groups.push(group);
            }
        }
        TokenQuery { groups }
    }

    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// Every token hash the query may look up.
    pub fn hashes(&self) -> impl Iterator<Item = u64> + '_ {
        self.groups.iter().flatten().flatten().copied()
    }

    /// Whether a row group whose filter answers `present` may hold a match.
    pub fn may_match(&self, present: impl Fn(u64) -> bool) -> bool {
        self.groups.iter().all(|alternatives| alternatives.iter().any(|tokens| tokens.iter().all(|&hash| present(hash))))
    }
}

/// The index entries a message containing `text` must have.
fn whole_tokens(text: &str, whole_word: bool) -> Vec<u64> {
    let mut out = Vec::new();
    for_each_run(text.as_bytes(), |run, at_start, at_end| {
        // An all-digit run at an edge may belong to a longer token with
        // letters, an all-digit run inside is a token the index skips: in
        // both cases nothing is known.
        if !indexable(run) {
            return;
        }
        match (whole_word || (!at_start && !at_end), at_start, at_end) {
            // The run is a whole token of the message.
            (true, _, _) => {
                let (first, second) = entries(run);
                out.push(hash(first));
                out.extend(second.map(hash));
            }
            // The message token ends with the run: its tail (or the token
            // itself, when 8 bytes long) is the run's last 8 bytes.
            (false, true, false) => {
                if let Some(start) = run.len().checked_sub(EDGE) {
                    out.extend(run.get(start..).map(hash));
                }
            }
            // The message token starts with the run: its head is the run's
            // first 8 bytes.
            (false, false, true) => {
                if run.len() >= EDGE {
                    out.extend(run.get(..EDGE).map(hash));
                }
            }
            // A single run may sit anywhere inside a longer token.
            (false, _, _) => {}
        }
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sidecar_for(groups: &[&[&str]]) -> (SidecarHeader, Vec<u8>) {
        let tokens: Vec<RowGroupTokens> = groups
            .iter()
            .map(|messages| {
                let mut group = RowGroupTokens::default();
                for message in *messages {
                    group.add_message(message.as_bytes());
                }
                group
            })
            .collect();
        let bytes = encode_sidecar(&tokens);
        let header = SidecarHeader::decode(&bytes[..SidecarHeader::len_for(groups.len())]).expect("header");
        (header, bytes)
    }

    fn present(header: &SidecarHeader, bytes: &[u8], row_group: usize, token: &str) -> bool {
        let hash = hash(token.as_bytes());
        let range = header.block_range(row_group, hash).expect("range");
        block_may_contain(&bytes[range.start as usize..range.end as usize], hash)
    }

    #[test]
    fn every_indexed_token_is_found_and_absent_ones_mostly_are_not() {
        let messages: Vec<String> =
            (0..5000).map(|i| format!("req-{i:08x}-user{i} GET /api/items/{i} ERROR done")).collect();
        let refs: Vec<&str> = messages.iter().map(String::as_str).collect();
        let (header, bytes) = sidecar_for(&[&refs, &["nothing in common here"]]);
        for i in 0..5000 {
            assert!(present(&header, &bytes, 0, &format!("{i:08x}")) || format!("{i:08x}").bytes().all(|b| b.is_ascii_digit()));
            assert!(present(&header, &bytes, 0, &format!("user{i}")[..format!("user{i}").len().min(8)]));
            assert!(present(&header, &bytes, 0, &format!("user{i}")));
        }
        let false_positives = (0..10_000).filter(|i| present(&header, &bytes, 0, &format!("absent{i}"))).count();
        assert!(false_positives < 300, "{false_positives} false positives in 10,000");
        assert!(!present(&header, &bytes, 1, "ERROR"));
        assert!(present(&header, &bytes, 1, "common"));
    }

    #[test]
    fn corrupt_headers_are_refused_not_trusted() {
        let (_, mut bytes) = sidecar_for(&[&["a message"]]);
        assert!(SidecarHeader::decode(&bytes[..10]).is_err());
        bytes[20] ^= 1;
        assert_eq!(SidecarHeader::decode(&bytes), Err(SidecarError::Corrupt));
    }

    /// A query requiring one substring literal.
    fn query(text: &str) -> TokenQuery {
        TokenQuery::from_literals([[(text, false)]])
    }

    #[test]
    fn only_tokens_a_match_must_contain_whole_prune() {
        // A bare term may sit inside a longer word: it cannot prune.
        assert!(query("ERROR").is_empty());
        // Between delimiters, it can.
        assert!(!TokenQuery::from_literals([[("ERROR", true)]]).is_empty());
        // Inside a literal, the middle tokens are whole; the first may end a
        // longer token (its last 8 bytes are known), the last may start one
        // (its first 8 bytes are known).
        let uuid = query("3f2b8c1e-9d4a-4c7e-8f1a-2b3c4d5e6f70");
        let expected: Vec<u64> =
            ["3f2b8c1e", "9d4a", "4c7e", "8f1a", "2b3c4d5e"].iter().map(|t| hash(t.as_bytes())).collect();
        assert_eq!(uuid.hashes().collect::<Vec<_>>(), expected);
        // An edge shorter than 8 bytes says nothing.
        assert_eq!(query("req-3f2b8c1e9d4a").hashes().collect::<Vec<_>>(), vec![hash(b"3f2b8c1e")]);
        // A single run sits anywhere inside a longer token.
        assert!(query("3f2b8c1e9d4a4c7e").is_empty());
        // Numbers and short tokens are not indexed.
        assert!(query("a 12345678 b").is_empty());
        // One alternative without tokens makes the whole OR unprunable.
        assert!(TokenQuery::from_literals([vec![("x-abcdef-y", false), ("ERROR", false)]]).is_empty());
    }

    #[test]
    fn substrings_that_extend_tokens_are_never_pruned_away() {
        // The literal's first run ends a longer token, its last run starts one.
        let (header, bytes) =
            sidecar_for(&[&["id=xx3f2b8c1e-9d4a-4c7e-8f1a-2b3c4d5e6f70ffff done"], &["id=other-0000-1111-zzzzzzzzzzzzzzzzzz"]]);
        let q = query("3f2b8c1e-9d4a-4c7e-8f1a-2b3c4d5e6f70");
        let check = |row_group: usize| {
            q.may_match(|hash| {
                let range = header.block_range(row_group, hash).expect("range");
                block_may_contain(&bytes[range.start as usize..range.end as usize], hash)
            })
        };
        assert!(check(0), "the message holds the literal as a substring");
        assert!(!check(1));
    }

    #[test]
    fn queries_prune_row_groups_without_the_token() {
        let (header, bytes) = sidecar_for(&[&["id=aaa-bbbbbb-ccc ok"], &["id=aaa-dddddd-ccc ok"]]);
        let q = query("aaa-bbbbbb-ccc");
        assert!(!q.is_empty());
        let check = |row_group: usize| q.may_match(|hash| {
            let range = header.block_range(row_group, hash).expect("range");
            block_may_contain(&bytes[range.start as usize..range.end as usize], hash)
        });
        assert!(check(0));
        assert!(!check(1));
    }
}
