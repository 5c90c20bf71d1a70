//! Block files: immutable files of flushed metric points, one UTC day each.
//!
//! ```text
//! "ARGMB001"
//! chunks, back to back (`chunk.rs`)
//! index: varint entries, then per entry
//!        varint series_id | u8 unit | varint width_s | zigzag min_ts | zigzag max_ts
//!        | varint points | varint offset | varint len
//! footer: u64 index_offset | u32 index_len | u32 crc32c(index) | "AMB1"   (little-endian)
//! ```
//!
//! The index of every block is read once when the store opens and kept in
//! memory; a read fetches just the chunks it needs.

use std::collections::{BTreeMap, HashMap};

use bytes::Bytes;

use super::chunk;
use super::codec::{CodecError, Reader, put_signed, put_varint};
use super::head::Track;
use super::stats::Summary;
use super::unit::Unit;
use crate::catalog::BlockRecord;

const MAGIC: &[u8; 8] = b"ARGMB001";
const FOOTER_MAGIC: &[u8; 4] = b"AMB1";
pub const FOOTER_BYTES: u64 = 20;

/// Where one track's chunk is in a block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkRef {
    pub track: Track,
    pub min_ts: i64,
    pub max_ts: i64,
    pub points: u64,
    pub offset: u64,
    pub len: u64,
}

/// A block's record and its index.
#[derive(Debug, Clone)]
pub struct LoadedBlock {
    pub record: BlockRecord,
    pub chunks: HashMap<u64, Vec<ChunkRef>>,
}

impl LoadedBlock {
    /// Tracks of a series overlapping `[start, end)`.
    pub fn chunks_of(&self, series_id: u64, start_ms: i64, end_ms: i64) -> impl Iterator<Item = &ChunkRef> {
        self.chunks
            .get(&series_id)
            .into_iter()
            .flatten()
            .filter(move |chunk| chunk.max_ts >= start_ms && chunk.min_ts < end_ms)
    }

    /// The newest point of each series in this block.
    pub fn last_points(&self) -> impl Iterator<Item = (u64, i64)> + '_ {
        self.chunks.iter().map(|(series, chunks)| (*series, chunks.iter().map(|chunk| chunk.max_ts).max().unwrap_or(i64::MIN)))
    }
}

/// A block built in memory.
pub struct BuiltBlock {
    pub bytes: Bytes,
    pub chunks: Vec<ChunkRef>,
    pub min_ts: i64,
    pub max_ts: i64,
    pub points: u64,
}

/// Encodes tracks (each sorted by bucket start) into one block file.
pub fn build(tracks: &BTreeMap<Track, BTreeMap<i64, Summary>>) -> BuiltBlock {
    let mut builder = BlockBuilder::new();
    for (track, points) in tracks {
        builder.add(*track, points);
    }
    builder.finish()
}

/// Writes a block file track by track, so a caller can produce tracks one
/// series at a time instead of holding them all. Tracks must come in
/// ascending order.
pub struct BlockBuilder {
    out: Vec<u8>,
    chunks: Vec<ChunkRef>,
    min_ts: i64,
    max_ts: i64,
    points: u64,
}

impl Default for BlockBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl BlockBuilder {
    pub fn new() -> BlockBuilder {
        let mut out = Vec::with_capacity(4096);
        out.extend_from_slice(MAGIC);
        BlockBuilder { out, chunks: Vec::new(), min_ts: i64::MAX, max_ts: i64::MIN, points: 0 }
    }

    /// Adds one track's points (an empty track is left out).
    pub fn add(&mut self, track: Track, points: &BTreeMap<i64, Summary>) {
        debug_assert!(self.chunks.last().is_none_or(|last| last.track < track), "tracks out of order");
        let (Some((&first, _)), Some((&last, _))) = (points.first_key_value(), points.last_key_value()) else {
            return;
        };
        let offset = self.out.len() as u64;
        let list: Vec<(i64, Summary)> = points.iter().map(|(ts, summary)| (*ts, summary.clone())).collect();
        chunk::encode(&list, track.width_ms(), &mut self.out);
        self.chunks.push(ChunkRef {
            track,
            min_ts: first,
            max_ts: last,
            points: points.len() as u64,
            offset,
            len: self.out.len() as u64 - offset,
        });
        self.min_ts = self.min_ts.min(first);
        self.max_ts = self.max_ts.max(last);
        self.points += points.len() as u64;
    }

    pub fn is_empty(&self) -> bool {
        self.chunks.is_empty()
    }

    /// Appends the index and footer.
    pub fn finish(self) -> BuiltBlock {
        let BlockBuilder { mut out, chunks, min_ts, max_ts, points } = self;
        let index_offset = out.len() as u64;
        put_varint(&mut out, chunks.len() as u64);
        for chunk in &chunks {
            put_varint(&mut out, chunk.track.series_id);
            out.push(chunk.track.unit.code());
            put_varint(&mut out, u64::from(chunk.track.width_s));
            put_signed(&mut out, chunk.min_ts);
            put_signed(&mut out, chunk.max_ts);
            put_varint(&mut out, chunk.points);
            put_varint(&mut out, chunk.offset);
            put_varint(&mut out, chunk.len);
        }
        let index_len = out.len() as u64 - index_offset;
        let crc = out.get(index_offset as usize..).map(crc32c::crc32c).unwrap_or(0);
        out.extend_from_slice(&index_offset.to_le_bytes());
        out.extend_from_slice(&(index_len as u32).to_le_bytes());
        out.extend_from_slice(&crc.to_le_bytes());
        out.extend_from_slice(FOOTER_MAGIC);
        BuiltBlock { bytes: Bytes::from(out), chunks, min_ts, max_ts, points }
    }
}

/// Reads a block's index from the whole file's bytes.
pub fn read_index(file: &[u8]) -> Result<Vec<ChunkRef>, CodecError> {
    let len = file.len() as u64;
    if len < MAGIC.len() as u64 + FOOTER_BYTES || file.get(..MAGIC.len()) != Some(MAGIC.as_slice()) {
        return Err(CodecError("not a metric block file"));
    }
    let footer = file.get((len - FOOTER_BYTES) as usize..).ok_or(CodecError("footer"))?;
    let mut reader = Reader::new(footer);
    let index_offset = reader.u64_le()?;
    let index_len = u64::from(reader.u32_le()?);
    let crc = reader.u32_le()?;
    if reader.remaining() != FOOTER_MAGIC {
        return Err(CodecError("block footer magic"));
    }
    let index_end = index_offset.checked_add(index_len).ok_or(CodecError("index range"))?;
    if index_end > len - FOOTER_BYTES {
        return Err(CodecError("index range"));
    }
    let index = file.get(index_offset as usize..index_end as usize).ok_or(CodecError("index range"))?;
    if crc32c::crc32c(index) != crc {
        return Err(CodecError("block index checksum mismatch"));
    }
    let mut reader = Reader::new(index);
    let count = reader.count(8)?;
    let mut chunks = Vec::with_capacity(count);
    for _ in 0..count {
        let series_id = reader.varint()?;
        let unit = Unit::from_code(reader.u8()?).ok_or(CodecError("unknown unit"))?;
        let width_s = u32::try_from(reader.varint()?).map_err(|_| CodecError("bucket width"))?;
        let chunk = ChunkRef {
            track: Track { series_id, unit, width_s },
            min_ts: reader.signed()?,
            max_ts: reader.signed()?,
            points: reader.varint()?,
            offset: reader.varint()?,
            len: reader.varint()?,
        };
        if chunk.offset.saturating_add(chunk.len) > index_offset {
            return Err(CodecError("a chunk lies outside the data"));
        }
        chunks.push(chunk);
    }
    Ok(chunks)
}

pub fn load(record: BlockRecord, chunks: Vec<ChunkRef>) -> LoadedBlock {
    let mut by_series: HashMap<u64, Vec<ChunkRef>> = HashMap::new();
    for chunk in chunks {
        by_series.entry(chunk.track.series_id).or_default().push(chunk);
    }
    LoadedBlock { record, chunks: by_series }
}

pub fn decode_chunk(bytes: &[u8], track: Track) -> Result<Vec<(i64, Summary)>, CodecError> {
    chunk::decode(bytes, track.width_ms())
}

/// See [`chunk::decode_plain`].
pub fn decode_plain_chunk(bytes: &[u8], track: Track) -> Result<Option<Vec<(i64, f64)>>, CodecError> {
    chunk::decode_plain(bytes, track.width_ms())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_round_trip_and_regular_data_is_small() {
        let mut tracks = BTreeMap::new();
        let track = Track { series_id: 3, unit: Unit::NONE, width_s: 60 };
        let mut points = BTreeMap::new();
        for minute in 0..10_080i64 {
            points.insert(1_700_000_040_000 + minute * 60_000, Summary::from_values(&[((minute % 7) as f64, 1.0)]).expect("finite"));
        }
        tracks.insert(track, points.clone());
        let other = Track { series_id: 4, unit: Unit::parse("Count").expect("unit"), width_s: 1 };
        let mut mixed = BTreeMap::new();
        mixed.insert(1_000, Summary::from_values(&[(1.0, 2.0), (5.0, 1.0)]).expect("finite"));
        mixed.insert(5_000, Summary::from_values(&[(2.0, 1.0)]).expect("finite"));
        tracks.insert(other, mixed.clone());

        let built = build(&tracks);
        // Values cycling through 0..7 cost about 2 bytes a point (a steady
        // value costs 2 bits, see chunk.rs).
        assert!(built.bytes.len() < 10_080 * 3, "{} bytes for 10,080 points", built.bytes.len());
        let index = read_index(&built.bytes).expect("index");
        assert_eq!(index, built.chunks);
        for chunk in &index {
            let bytes = &built.bytes[chunk.offset as usize..(chunk.offset + chunk.len) as usize];
            let decoded: BTreeMap<i64, Summary> = decode_chunk(bytes, chunk.track).expect("chunk").into_iter().collect();
            let expected = if chunk.track == track { &points } else { &mixed };
            assert_eq!(&decoded, expected);
        }
        let mut corrupt = built.bytes.to_vec();
        let middle = corrupt.len() - 30;
        corrupt[middle] ^= 0xff;
        assert!(read_index(&corrupt).is_err());
    }
}
