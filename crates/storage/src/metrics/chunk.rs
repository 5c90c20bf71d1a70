//! One series' points in a block file: a *chunk*.
//!
//! A point is (bucket start, summary of the samples in that bucket). Most
//! metrics publish one plain value per bucket; those chunks use the Gorilla
//! encoding (Pelkonen et al., "Gorilla: A Fast, Scalable, In-Memory Time
//! Series Database", VLDB 2015): timestamps as delta-of-delta in units of
//! the bucket width, values XORed with the previous one, all in one bit
//! stream — a regular series of a steady value costs 2 bits a point. Other
//! chunks store each summary in its own encoding (`stats/`).
//!
//! ```text
//! u8 layout (0 = gorilla, 1 = summaries) | varint points | zigzag first_ts_ms
//! gorilla:   bit stream (see below)
//! summaries: (points - 1) × zigzag-varint delta in widths, then points × summary
//! ```

use super::codec::{CodecError, Reader, put_signed, put_varint};

const LAYOUT_GORILLA: u8 = 0;
const LAYOUT_SUMMARIES: u8 = 1;

/// What a chunk holds per point.
pub trait ChunkValue: Sized {
    /// The value when the point is exactly one sample of count 1.
    fn as_single(&self) -> Option<f64>;
    fn from_single(value: f64) -> Self;
    fn encode(&self, out: &mut Vec<u8>);
    fn decode(reader: &mut Reader<'_>) -> Result<Self, CodecError>;
}

/// Encodes points sorted by timestamp, each a multiple of `width_ms` apart.
pub fn encode<V: ChunkValue>(points: &[(i64, V)], width_ms: i64, out: &mut Vec<u8>) {
    let Some((first_ts, _)) = points.first() else {
        out.push(LAYOUT_SUMMARIES);
        put_varint(out, 0);
        put_signed(out, 0);
        return;
    };
    let singles: Option<Vec<f64>> = points.iter().map(|(_, value)| value.as_single()).collect();
    let width_ms = width_ms.max(1);
    match singles {
        Some(values) => {
            out.push(LAYOUT_GORILLA);
            put_varint(out, points.len() as u64);
            put_signed(out, *first_ts);
            let mut bits = BitWriter::default();
            let mut previous_ts = *first_ts;
            let mut previous_delta = 0i64;
            let mut xor = XorState::default();
            for (index, ((ts, _), value)) in points.iter().zip(values).enumerate() {
                if index == 0 {
                    bits.write(value.to_bits(), 64);
                    xor.previous = value.to_bits();
                    continue;
                }
                let delta = (ts - previous_ts) / width_ms;
                write_dod(&mut bits, delta - previous_delta);
                previous_delta = delta;
                previous_ts = *ts;
                xor.write(&mut bits, value.to_bits());
            }
            out.extend_from_slice(&bits.finish());
        }
        None => {
            out.push(LAYOUT_SUMMARIES);
            put_varint(out, points.len() as u64);
            put_signed(out, *first_ts);
            let mut previous_ts = *first_ts;
            for (ts, _) in points.iter().skip(1) {
                put_signed(out, (ts - previous_ts) / width_ms);
                previous_ts = *ts;
            }
            for (_, value) in points {
                value.encode(out);
            }
        }
    }
}

pub fn decode<V: ChunkValue>(bytes: &[u8], width_ms: i64) -> Result<Vec<(i64, V)>, CodecError> {
    let mut reader = Reader::new(bytes);
    let layout = reader.u8()?;
    let width_ms = width_ms.max(1);
    match layout {
        LAYOUT_GORILLA => {
            // At least 2 bits a point after the first.
            let count = reader.varint()?;
            let first_ts = reader.signed()?;
            let remaining_bits = (reader.remaining().len() as u64).saturating_mul(8);
            if count > 0 && count.saturating_sub(1).saturating_mul(2).saturating_add(64) > remaining_bits {
                return Err(CodecError("a chunk's point count is larger than its data"));
            }
            let count = usize::try_from(count).map_err(|_| CodecError("chunk too large"))?;
            let mut bits = BitReader::new(reader.remaining());
            let mut points = Vec::with_capacity(count);
            let mut ts = first_ts;
            let mut delta = 0i64;
            let mut xor = XorState::default();
            for index in 0..count {
                if index == 0 {
                    xor.previous = bits.read(64)?;
                } else {
                    delta = delta.wrapping_add(read_dod(&mut bits)?);
                    ts = ts.wrapping_add(delta.wrapping_mul(width_ms));
                    xor.read(&mut bits)?;
                }
                points.push((ts, V::from_single(f64::from_bits(xor.previous))));
            }
            Ok(points)
        }
        LAYOUT_SUMMARIES => {
            let count = reader.count(2)?;
            let first_ts = reader.signed()?;
            let mut timestamps = Vec::with_capacity(count);
            let mut ts = first_ts;
            for index in 0..count {
                if index > 0 {
                    ts = ts.wrapping_add(reader.signed()?.wrapping_mul(width_ms));
                }
                timestamps.push(ts);
            }
            let mut points = Vec::with_capacity(count);
            for ts in timestamps {
                points.push((ts, V::decode(&mut reader)?));
            }
            Ok(points)
        }
        _ => Err(CodecError("unknown chunk layout")),
    }
}

/// Delta-of-delta buckets, as in the Gorilla paper (widened for buckets
/// that are far apart).
fn write_dod(bits: &mut BitWriter, dod: i64) {
    match dod {
        0 => bits.write(0, 1),
        -63..=64 => {
            bits.write(0b10, 2);
            bits.write((dod + 63) as u64, 7);
        }
        -255..=256 => {
            bits.write(0b110, 3);
            bits.write((dod + 255) as u64, 9);
        }
        -2047..=2048 => {
            bits.write(0b1110, 4);
            bits.write((dod + 2047) as u64, 12);
        }
        _ => {
            bits.write(0b1111, 4);
            bits.write(dod as u64, 64);
        }
    }
}

fn read_dod(bits: &mut BitReader<'_>) -> Result<i64, CodecError> {
    if bits.read(1)? == 0 {
        return Ok(0);
    }
    if bits.read(1)? == 0 {
        return Ok(bits.read(7)? as i64 - 63);
    }
    if bits.read(1)? == 0 {
        return Ok(bits.read(9)? as i64 - 255);
    }
    if bits.read(1)? == 0 {
        return Ok(bits.read(12)? as i64 - 2047);
    }
    Ok(bits.read(64)? as i64)
}

/// Gorilla's XOR value compression: an unchanged value is one `0` bit;
/// otherwise the meaningful bits of the XOR, reusing the previous window of
/// leading and trailing zeros when it fits.
#[derive(Default)]
struct XorState {
    previous: u64,
    leading: u32,
    trailing: u32,
    has_window: bool,
}

impl XorState {
    fn write(&mut self, bits: &mut BitWriter, value: u64) {
        let xor = value ^ self.previous;
        self.previous = value;
        if xor == 0 {
            bits.write(0, 1);
            return;
        }
        bits.write(1, 1);
        let leading = xor.leading_zeros().min(31);
        let trailing = xor.trailing_zeros();
        if self.has_window && leading >= self.leading && trailing >= self.trailing {
            bits.write(0, 1);
            let meaningful = 64 - self.leading - self.trailing;
            bits.write(xor >> self.trailing, meaningful);
            return;
        }
        bits.write(1, 1);
        let meaningful = 64 - leading - trailing;
        bits.write(u64::from(leading), 5);
        // 64 meaningful bits are written as 0 (a window is never empty).
        bits.write(u64::from(meaningful & 63), 6);
        bits.write(xor >> trailing, meaningful);
        self.leading = leading;
        self.trailing = trailing;
        self.has_window = true;
    }

    fn read(&mut self, bits: &mut BitReader<'_>) -> Result<(), CodecError> {
        if bits.read(1)? == 0 {
            return Ok(());
        }
        if bits.read(1)? == 1 {
            self.leading = bits.read(5)? as u32;
            let meaningful = match bits.read(6)? as u32 {
                0 => 64,
                other => other,
            };
            if self.leading + meaningful > 64 {
                return Err(CodecError("a value window is wider than 64 bits"));
            }
            self.trailing = 64 - self.leading - meaningful;
            self.has_window = true;
        } else if !self.has_window {
            return Err(CodecError("a value reuses a window that was never set"));
        }
        let meaningful = 64 - self.leading - self.trailing;
        let xor = bits.read(meaningful)? << self.trailing;
        self.previous ^= xor;
        Ok(())
    }
}

#[derive(Default)]
struct BitWriter {
    bytes: Vec<u8>,
    /// Bits used in the last byte (0 = start a new byte).
    used: u32,
}

impl BitWriter {
    /// Writes the low `count` bits of `value`, most significant first.
    fn write(&mut self, value: u64, count: u32) {
        let mut remaining = count;
        while remaining > 0 {
            if self.used == 0 {
                self.bytes.push(0);
            }
            let free = 8 - self.used;
            let take = free.min(remaining);
            let shift = remaining - take;
            let chunk = ((value >> shift) & ((1u64 << take) - 1)) as u8;
            if let Some(last) = self.bytes.last_mut() {
                *last |= chunk << (free - take);
            }
            self.used = (self.used + take) % 8;
            remaining -= take;
        }
    }

    fn finish(self) -> Vec<u8> {
        self.bytes
    }
}

struct BitReader<'a> {
    bytes: &'a [u8],
    /// Bit position from the start.
    position: u64,
}

impl<'a> BitReader<'a> {
    fn new(bytes: &'a [u8]) -> BitReader<'a> {
        BitReader { bytes, position: 0 }
    }

    fn read(&mut self, count: u32) -> Result<u64, CodecError> {
        let mut value = 0u64;
        let mut remaining = count;
        while remaining > 0 {
            let byte_index = usize::try_from(self.position / 8).map_err(|_| CodecError("bit position"))?;
            let byte = *self.bytes.get(byte_index).ok_or(CodecError("bit stream ends early"))?;
            let used = (self.position % 8) as u32;
            let available = 8 - used;
            let take = available.min(remaining);
            let chunk = (u64::from(byte) >> (available - take)) & ((1u64 << take) - 1);
            value = if take == 64 { chunk } else { (value << take) | chunk };
            self.position += u64::from(take);
            remaining -= take;
        }
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, Clone, PartialEq)]
    enum Point {
        Single(f64),
        Pair(f64, f64),
    }

    impl ChunkValue for Point {
        fn as_single(&self) -> Option<f64> {
            match self {
                Point::Single(value) => Some(*value),
                Point::Pair(..) => None,
            }
        }
        fn from_single(value: f64) -> Self {
            Point::Single(value)
        }
        fn encode(&self, out: &mut Vec<u8>) {
            let (a, b) = match self {
                Point::Single(value) => (*value, f64::NAN),
                Point::Pair(a, b) => (*a, *b),
            };
            out.extend_from_slice(&a.to_le_bytes());
            out.extend_from_slice(&b.to_le_bytes());
        }
        fn decode(reader: &mut Reader<'_>) -> Result<Self, CodecError> {
            Ok(Point::Pair(reader.f64()?, reader.f64()?))
        }
    }

    fn same(a: &[(i64, Point)], b: &[(i64, Point)]) -> bool {
        a.len() == b.len()
            && a.iter().zip(b).all(|((ta, va), (tb, vb))| {
                ta == tb
                    && match (va, vb) {
                        (Point::Single(x), Point::Single(y)) => x.to_bits() == y.to_bits(),
                        (Point::Pair(x1, x2), Point::Pair(y1, y2)) => x1 == y1 && x2 == y2,
                        _ => false,
                    }
            })
    }

    #[test]
    fn a_steady_regular_series_costs_about_two_bits_a_point() {
        let points: Vec<(i64, Point)> = (0..10_080).map(|minute| (1_700_000_040_000 + minute * 60_000, Point::Single(42.0))).collect();
        let mut out = Vec::new();
        encode(&points, 60_000, &mut out);
        assert!(out.len() < 10_080 / 4 + 32, "{} bytes", out.len());
        let decoded: Vec<(i64, Point)> = decode(&out, 60_000).expect("decodes");
        assert!(same(&points, &decoded));
    }

    proptest! {
        #[test]
        fn gorilla_chunks_round_trip(
            start in -1_000_000_000_000i64..2_000_000_000_000,
            gaps in proptest::collection::vec(1i64..100_000, 0..200),
            values in proptest::collection::vec(any::<f64>(), 201),
        ) {
            let mut ts = start - start.rem_euclid(60_000);
            let mut points = vec![(ts, Point::Single(values[0]))];
            for (index, gap) in gaps.iter().enumerate() {
                ts += gap * 60_000;
                points.push((ts, Point::Single(values[index + 1])));
            }
            let mut out = Vec::new();
            encode(&points, 60_000, &mut out);
            let decoded: Vec<(i64, Point)> = decode(&out, 60_000).expect("decodes");
            prop_assert!(same(&points, &decoded));
        }

        #[test]
        fn summary_chunks_round_trip(gaps in proptest::collection::vec(1i64..1000, 1..50)) {
            let mut ts = 0i64;
            let mut points = Vec::new();
            for gap in gaps {
                ts += gap * 1000;
                points.push((ts, Point::Pair(gap as f64, -(gap as f64))));
            }
            let mut out = Vec::new();
            encode(&points, 1000, &mut out);
            let decoded: Vec<(i64, Point)> = decode(&out, 1000).expect("decodes");
            prop_assert!(same(&points, &decoded));
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = decode::<Point>(&bytes, 60_000);
        }
    }
}
