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
//! Plain values that are all decimals of at most 9 places (123.45) take the
//! decimal layout instead when it is smaller: Gorilla's XOR sees no structure
//! in decimal fractions, whose binary mantissas differ in almost every bit,
//! while the values scaled to integers, delta-coded and Rice-coded with a
//! parameter fitted to each block come close to the entropy of their noise
//! (a gauge of 2 decimals with 5% Gaussian noise: 1.3–1.7 B a point, not 7).
//!
//! ```text
//! u8 layout (0 = gorilla, 1 = summaries, 2 = decimal) | varint points | zigzag first_ts_ms
//! gorilla:   bit stream (see below)
//! summaries: (points - 1) × zigzag-varint delta in widths, then points × summary
//! decimal:   u8 scale k (0..=9) | zigzag-varint first value × 10^k | bit stream: per block of 64
//!            points after the first, a 6-bit Rice parameter (63 = every delta is 0), then per
//!            point its timestamp as gorilla's and the Rice code of zigzag(value × 10^k − previous)
//! ```

use super::codec::{CodecError, Reader, put_signed, put_varint, unzigzag, zigzag};

const LAYOUT_GORILLA: u8 = 0;
const LAYOUT_SUMMARIES: u8 = 1;
const LAYOUT_DECIMAL: u8 = 2;

/// The decimal layout's scales, 10^k for k in 0..=9: exact in an f64, so
/// encoding and decoding divide by the very same number.
const POWERS_OF_TEN: [f64; 10] = [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9];
/// Scaled values must stay below 2^53, where every integer is an f64.
const SCALED_LIMIT: f64 = 9_007_199_254_740_992.0;
/// Points that share one Rice parameter.
const RICE_BLOCK: usize = 64;
/// The parameter code of a block whose deltas are all 0 (and have no codes).
const ALL_ZERO: u32 = 63;
/// A Rice quotient this large is written as that many `1` bits and the raw
/// 64-bit value instead, so an outlier costs 96 bits, not a long unary run.
const RICE_ESCAPE: u32 = 32;

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
            let start = out.len();
            encode_gorilla(points, &values, width_ms, out);
            if let Some((scale, scaled)) = decimal_scale(&values) {
                let mut decimal = Vec::new();
                encode_decimal(points, scale, &scaled, width_ms, &mut decimal);
                if decimal.len() < out.len() - start {
                    out.truncate(start);
                    out.extend_from_slice(&decimal);
                }
            }
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

/// Layout 0: `values` are the points' single values (as many, at least one).
fn encode_gorilla<V>(points: &[(i64, V)], values: &[f64], width_ms: i64, out: &mut Vec<u8>) {
    let first_ts = points.first().map_or(0, |(ts, _)| *ts);
    out.push(LAYOUT_GORILLA);
    put_varint(out, points.len() as u64);
    put_signed(out, first_ts);
    let mut bits = BitWriter::default();
    let mut timestamps = TimestampWriter::new(first_ts, width_ms);
    let mut xor = XorState::default();
    for (index, ((ts, _), value)) in points.iter().zip(values).enumerate() {
        if index == 0 {
            bits.write(value.to_bits(), 64);
            xor.previous = value.to_bits();
            continue;
        }
        timestamps.write(&mut bits, *ts);
        xor.write(&mut bits, value.to_bits());
    }
    out.extend_from_slice(&bits.finish());
}

/// The smallest scale k at which every value is an integer over 10^k (below
/// 2^53) that divides back to the very same bits, and those integers; none
/// for -0.0, NaN, infinities and values that are no short decimal.
fn decimal_scale(values: &[f64]) -> Option<(u8, Vec<i64>)> {
    let mut scaled = Vec::with_capacity(values.len());
    'scales: for (scale, &power) in (0u8..).zip(&POWERS_OF_TEN) {
        scaled.clear();
        for &value in values {
            let integer = (value * power).round();
            if integer.is_nan() || integer.abs() >= SCALED_LIMIT {
                continue 'scales;
            }
            let integer = integer as i64;
            if (integer as f64 / power).to_bits() != value.to_bits() {
                continue 'scales;
            }
            scaled.push(integer);
        }
        return Some((scale, scaled));
    }
    None
}

/// Layout 2: `scaled` are the points' values × 10^`scale` (as many, at least one).
fn encode_decimal<V>(points: &[(i64, V)], scale: u8, scaled: &[i64], width_ms: i64, out: &mut Vec<u8>) {
    let first_ts = points.first().map_or(0, |(ts, _)| *ts);
    let mut previous = scaled.first().copied().unwrap_or(0);
    out.push(LAYOUT_DECIMAL);
    put_varint(out, points.len() as u64);
    put_signed(out, first_ts);
    out.push(scale);
    put_signed(out, previous);
    let mut bits = BitWriter::default();
    let mut timestamps = TimestampWriter::new(first_ts, width_ms);
    let rest_points = points.get(1..).unwrap_or_default();
    let rest_values = scaled.get(1..).unwrap_or_default();
    let mut deltas = [0u64; RICE_BLOCK];
    for (block_points, block_values) in rest_points.chunks(RICE_BLOCK).zip(rest_values.chunks(RICE_BLOCK)) {
        for (delta, &value) in deltas.iter_mut().zip(block_values) {
            *delta = zigzag(value.wrapping_sub(previous));
            previous = value;
        }
        let block_deltas = deltas.get(..block_values.len()).unwrap_or_default();
        let parameter = rice_parameter(block_deltas);
        bits.write(u64::from(parameter), 6);
        for ((ts, _), &delta) in block_points.iter().zip(block_deltas) {
            timestamps.write(&mut bits, *ts);
            if parameter != ALL_ZERO {
                write_rice(&mut bits, delta, parameter);
            }
        }
    }
    out.extend_from_slice(&bits.finish());
}

/// The Rice parameter that codes `deltas` in the fewest bits (the smallest
/// on a tie), or `ALL_ZERO`.
fn rice_parameter(deltas: &[u64]) -> u32 {
    let all = deltas.iter().fold(0, |all, delta| all | delta);
    if all == 0 {
        return ALL_ZERO;
    }
    // At the width of the largest delta every quotient is 0: wider never pays.
    let widest = (u64::BITS - all.leading_zeros()).min(ALL_ZERO - 1);
    (0..=widest).min_by_key(|&parameter| rice_bits(deltas, parameter)).unwrap_or(widest)
}

fn rice_bits(deltas: &[u64], parameter: u32) -> u64 {
    deltas
        .iter()
        .map(|delta| match delta >> parameter {
            quotient if quotient < u64::from(RICE_ESCAPE) => quotient + 1 + u64::from(parameter),
            _ => u64::from(RICE_ESCAPE) + 64,
        })
        .sum()
}

/// The quotient `value >> parameter` as that many `1` bits and a `0`, then
/// the low `parameter` bits; from `RICE_ESCAPE` on, `RICE_ESCAPE` `1` bits
/// and the whole value.
fn write_rice(bits: &mut BitWriter, value: u64, parameter: u32) {
    let quotient = value >> parameter;
    if quotient >= u64::from(RICE_ESCAPE) {
        bits.write(u64::MAX, RICE_ESCAPE);
        bits.write(value, 64);
        return;
    }
    let prefix = quotient as u32 + 1;
    bits.write(u64::MAX << 1, prefix);
    bits.write(value, parameter);
}

#[inline(always)]
fn read_rice(bits: &mut BitReader<'_>, parameter: u32) -> Result<u64, CodecError> {
    let word = bits.peek();
    let quotient = word.leading_ones();
    if quotient >= RICE_ESCAPE {
        bits.skip(RICE_ESCAPE)?;
        return bits.read(64);
    }
    let prefix = quotient + 1;
    let high = u64::from(quotient) << parameter;
    if parameter == 0 {
        bits.skip(prefix)?;
        Ok(high)
    } else if prefix + parameter <= BitReader::PEEKED {
        bits.skip(prefix + parameter)?;
        Ok(high | ((word << prefix) >> (64 - parameter)))
    } else {
        bits.skip(prefix)?;
        Ok(high | bits.read(parameter)?)
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
            let mut timestamps = TimestampReader::new(first_ts, width_ms);
            let mut xor = XorState::default();
            for index in 0..count {
                let ts = if index == 0 {
                    xor.previous = bits.read(64)?;
                    first_ts
                } else {
                    let ts = timestamps.read(&mut bits)?;
                    xor.read(&mut bits)?;
                    ts
                };
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
        LAYOUT_DECIMAL => {
            let count = reader.varint()?;
            let first_ts = reader.signed()?;
            let power = *POWERS_OF_TEN.get(usize::from(reader.u8()?)).ok_or(CodecError("a decimal scale above 9"))?;
            let mut scaled = reader.signed()?;
            // At least 1 bit a point after the first (its timestamp).
            let remaining_bits = (reader.remaining().len() as u64).saturating_mul(8);
            if count.saturating_sub(1) > remaining_bits {
                return Err(CodecError("a chunk's point count is larger than its data"));
            }
            let count = usize::try_from(count).map_err(|_| CodecError("chunk too large"))?;
            let mut points = Vec::with_capacity(count);
            if count == 0 {
                return Ok(points);
            }
            points.push((first_ts, V::from_single(scaled as f64 / power)));
            let mut bits = BitReader::new(reader.remaining());
            let mut timestamps = TimestampReader::new(first_ts, width_ms);
            let mut left = count - 1;
            while left > 0 {
                let block = left.min(RICE_BLOCK);
                let parameter = bits.read(6)? as u32;
                for _ in 0..block {
                    let ts = timestamps.read(&mut bits)?;
                    if parameter != ALL_ZERO {
                        scaled = scaled.wrapping_add(unzigzag(read_rice(&mut bits, parameter)?));
                    }
                    points.push((ts, V::from_single(scaled as f64 / power)));
                }
                left -= block;
            }
            Ok(points)
        }
        _ => Err(CodecError("unknown chunk layout")),
    }
}

/// The timestamps after a chunk's first, as delta-of-delta in widths.
struct TimestampWriter {
    previous_ts: i64,
    previous_delta: i64,
    width_ms: i64,
}

impl TimestampWriter {
    fn new(first_ts: i64, width_ms: i64) -> TimestampWriter {
        TimestampWriter { previous_ts: first_ts, previous_delta: 0, width_ms }
    }

    fn write(&mut self, bits: &mut BitWriter, ts: i64) {
        let delta = ts.wrapping_sub(self.previous_ts) / self.width_ms;
        write_dod(bits, delta.wrapping_sub(self.previous_delta));
        self.previous_delta = delta;
        self.previous_ts = ts;
    }
}

struct TimestampReader {
    ts: i64,
    delta: i64,
    width_ms: i64,
}

impl TimestampReader {
    fn new(first_ts: i64, width_ms: i64) -> TimestampReader {
        TimestampReader { ts: first_ts, delta: 0, width_ms }
    }

    #[inline(always)]
    fn read(&mut self, bits: &mut BitReader<'_>) -> Result<i64, CodecError> {
        self.delta = self.delta.wrapping_add(read_dod(bits)?);
        self.ts = self.ts.wrapping_add(self.delta.wrapping_mul(self.width_ms));
        Ok(self.ts)
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

#[inline(always)]
fn read_dod(bits: &mut BitReader<'_>) -> Result<i64, CodecError> {
    // The prefix is up to four `1` bits; the bucket's value follows it.
    let word = bits.peek();
    let (prefix, width, offset) = match word.leading_ones() {
        0 => {
            bits.skip(1)?;
            return Ok(0);
        }
        1 => (2, 7, 63),
        2 => (3, 9, 255),
        3 => (4, 12, 2047),
        _ => {
            bits.skip(4)?;
            return Ok(bits.read(64)? as i64);
        }
    };
    bits.skip(prefix + width)?;
    Ok(((word << prefix) >> (64 - width)) as i64 - offset)
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

    #[inline(always)]
    fn read(&mut self, bits: &mut BitReader<'_>) -> Result<(), CodecError> {
        // `0`, `10`, or `11` + 5 bits leading + 6 bits meaningful.
        let word = bits.peek();
        match word >> 62 {
            0 | 1 => {
                bits.skip(1)?;
                return Ok(());
            }
            2 => {
                bits.skip(2)?;
                if !self.has_window {
                    return Err(CodecError("a value reuses a window that was never set"));
                }
            }
            _ => {
                bits.skip(13)?;
                self.leading = ((word >> 57) & 31) as u32;
                let meaningful = match ((word >> 51) & 63) as u32 {
                    0 => 64,
                    other => other,
                };
                if self.leading + meaningful > 64 {
                    return Err(CodecError("a value window is wider than 64 bits"));
                }
                self.trailing = 64 - self.leading - meaningful;
                self.has_window = true;
            }
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
    /// Bits not yet in `bytes` are the low `pending` (< 32) bits of `buffer`.
    buffer: u64,
    pending: u32,
}

impl BitWriter {
    /// Writes the low `count` bits of `value`, most significant first.
    fn write(&mut self, value: u64, count: u32) {
        if count > 32 {
            self.write(value >> 32, count - 32);
            self.write(value, 32);
            return;
        }
        if count == 0 {
            return;
        }
        // At most 31 + 32 bits: the shift keeps them all.
        self.buffer = (self.buffer << count) | (value & (u64::MAX >> (64 - count)));
        self.pending += count;
        if self.pending >= 32 {
            self.pending -= 32;
            self.bytes.extend_from_slice(&((self.buffer >> self.pending) as u32).to_be_bytes());
        }
    }

    /// The bytes, the last one padded with `0` bits.
    fn finish(mut self) -> Vec<u8> {
        let padding = (8 - self.pending % 8) % 8;
        let tail = (self.buffer << padding).to_be_bytes();
        let whole = ((self.pending + padding) / 8) as usize;
        self.bytes.extend_from_slice(tail.get(8 - whole..).unwrap_or_default());
        self.bytes
    }
}

struct BitReader<'a> {
    bytes: &'a [u8],
    /// The next byte of `bytes` to load.
    next: usize,
    /// The bits loaded and not yet read, most significant first; `buffered`
    /// of them count (the rest are 0 or bits of the next byte).
    buffer: u64,
    buffered: u32,
}

impl<'a> BitReader<'a> {
    /// How many leading bits of `peek` are the stream's (when it has that many left).
    const PEEKED: u32 = 56;

    fn new(bytes: &'a [u8]) -> BitReader<'a> {
        BitReader { bytes, next: 0, buffer: 0, buffered: 0 }
    }

    /// The next bits, most significant first: at least `PEEKED` of them, or
    /// all that are left followed by `0` bits.
    #[inline(always)]
    fn peek(&mut self) -> u64 {
        if self.buffered < Self::PEEKED {
            self.refill();
        }
        self.buffer
    }

    fn refill(&mut self) {
        let rest = self.bytes.get(self.next..).unwrap_or_default();
        if let Some(eight) = rest.first_chunk::<8>() {
            // Loads whole bytes below the buffered bits, and the top bits of
            // the byte after them (loaded again, in the same place, next time).
            self.buffer |= u64::from_be_bytes(*eight) >> self.buffered;
            let loaded = (63 - self.buffered) / 8;
            self.next += loaded as usize;
            self.buffered += loaded * 8;
        } else {
            for &byte in rest {
                if self.buffered > 56 {
                    break;
                }
                self.buffer |= u64::from(byte) << (56 - self.buffered);
                self.next += 1;
                self.buffered += 8;
            }
        }
    }

    /// Passes `count` (at most `PEEKED`) bits, after a `peek`.
    #[inline(always)]
    fn skip(&mut self, count: u32) -> Result<(), CodecError> {
        if count > self.buffered {
            return Err(CodecError("bit stream ends early"));
        }
        self.buffer = self.buffer.checked_shl(count).unwrap_or(0);
        self.buffered -= count;
        Ok(())
    }

    /// The next `count` (at most 64) bits.
    #[inline(always)]
    fn read(&mut self, count: u32) -> Result<u64, CodecError> {
        if count > Self::PEEKED {
            let high = self.read_short(count.min(64) - 32)?;
            return Ok((high << 32) | self.read_short(32)?);
        }
        self.read_short(count)
    }

    #[inline(always)]
    fn read_short(&mut self, count: u32) -> Result<u64, CodecError> {
        if count == 0 {
            return Ok(0);
        }
        let value = self.peek() >> (64 - count);
        self.skip(count)?;
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

    const MINUTE: i64 = 60_000;
    const START: i64 = 1_700_000_040_000;

    fn minutely(values: &[f64]) -> Vec<(i64, Point)> {
        (0..).zip(values).map(|(minute, value)| (START + minute * MINUTE, Point::Single(*value))).collect()
    }

    /// Gorilla's and the decimal layout's sizes (none when the values are no
    /// short decimals), after checking that both decode to `points`.
    fn sizes(points: &[(i64, Point)]) -> (usize, Option<usize>) {
        let values: Vec<f64> = points.iter().map(|(_, value)| value.as_single().expect("single")).collect();
        let mut gorilla = Vec::new();
        encode_gorilla(points, &values, MINUTE, &mut gorilla);
        assert!(same(points, &decode::<Point>(&gorilla, MINUTE).expect("gorilla decodes")));
        let decimal = decimal_scale(&values).map(|(scale, scaled)| {
            let mut decimal = Vec::new();
            encode_decimal(points, scale, &scaled, MINUTE, &mut decimal);
            assert!(same(points, &decode::<Point>(&decimal, MINUTE).expect("decimal decodes")));
            decimal.len()
        });
        (gorilla.len(), decimal)
    }

    /// SplitMix64 and Box–Muller: a deterministic Gaussian without a dependency.
    struct Noise(u64);

    impl Noise {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut mixed = self.0;
            mixed = (mixed ^ (mixed >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            mixed = (mixed ^ (mixed >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            mixed ^ (mixed >> 31)
        }

        fn unit(&mut self) -> f64 {
            (self.next() >> 11) as f64 / (1u64 << 53) as f64
        }

        fn gaussian(&mut self) -> f64 {
            let radius = (-2.0 * (1.0 - self.unit()).ln()).sqrt();
            radius * (std::f64::consts::TAU * self.unit()).cos()
        }
    }

    const WEEK_MINUTES: i64 = 7 * 1440;

    fn daily_cycle(minute: i64) -> f64 {
        (std::f64::consts::TAU * minute as f64 / 1440.0).sin()
    }

    /// The benchmark's gauge: a daily cycle of ±30% and noise of 5%, in hundredths.
    fn gauge(base: f64) -> Vec<f64> {
        let mut noise = Noise(base.to_bits());
        (0..WEEK_MINUTES)
            .map(|minute| {
                let value = (base * (1.0 + 0.3 * daily_cycle(minute)) + 0.05 * base * noise.gaussian()).max(0.0);
                (value * 100.0).round() / 100.0
            })
            .collect()
    }

    fn report(name: &str, points: &[(i64, Point)]) -> (f64, f64, f64) {
        let (gorilla, decimal) = sizes(points);
        let decimal = decimal.expect("short decimals");
        let mut chosen = Vec::new();
        encode(points, MINUTE, &mut chosen);
        let per_point = |bytes: usize| bytes as f64 / points.len() as f64;
        println!(
            "{name}: gorilla {:.3} B/point, decimal {:.3} B/point, chosen {:.3} B/point (layout {})",
            per_point(gorilla),
            per_point(decimal),
            per_point(chosen.len()),
            chosen[0]
        );
        assert_eq!(chosen.len(), gorilla.min(decimal));
        (per_point(gorilla), per_point(decimal), per_point(chosen.len()))
    }

    #[test]
    fn a_steady_regular_series_costs_about_two_bits_a_point() {
        let points = minutely(&[42.0; WEEK_MINUTES as usize]);
        let mut out = Vec::new();
        encode(&points, MINUTE, &mut out);
        assert!(out.len() < 10_080 / 4 + 32, "{} bytes", out.len());
        let decoded: Vec<(i64, Point)> = decode(&out, MINUTE).expect("decodes");
        assert!(same(&points, &decoded));
    }

    #[test]
    fn a_two_decimal_gauge_costs_under_two_bytes_a_point() {
        for base in [20.0, 100.0, 200.0] {
            let values = gauge(base);
            let (_, _, chosen) = report(&format!("gauge, base {base}, a week"), &minutely(&values));
            assert!(chosen < 2.0, "{chosen} B a point");
            // As a server compacts it: one chunk a day.
            let days: Vec<f64> = values
                .chunks(1440)
                .map(|day| report(&format!("gauge, base {base}, a day"), &minutely(day)).2)
                .collect();
            assert!(days.iter().all(|&day| day < 2.0), "{days:?}");
        }
    }

    #[test]
    fn counts_and_counters_are_no_bigger_than_with_gorilla() {
        let mut noise = Noise(7);
        let counts: Vec<f64> = (0..WEEK_MINUTES)
            .map(|minute| {
                let rate = 300.0 * (1.0 + 0.5 * daily_cycle(minute));
                (rate + rate.sqrt() * noise.gaussian()).round().max(0.0)
            })
            .collect();
        let (gorilla, _, chosen) = report("count, rate 300, a week", &minutely(&counts));
        assert!(chosen <= gorilla);
        let counter: Vec<f64> = (0..WEEK_MINUTES).map(|minute| (17 + minute / 50) as f64).collect();
        let (gorilla, _, chosen) = report("counter, +1 every 50 minutes, a week", &minutely(&counter));
        assert!(chosen <= gorilla);
        let (gorilla, _, chosen) = report("constant, a week", &minutely(&[42.0; WEEK_MINUTES as usize]));
        assert!(chosen <= gorilla);
    }

    #[test]
    fn values_that_are_no_short_decimals_stay_gorilla() {
        let odds =
            [-0.0, f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 1.0 / 3.0, 0.1 + 0.2, 1e300, 1e-10, 2f64.powi(53)];
        for odd in odds {
            let points = minutely(&[1.5, 2.25, odd, 3.0]);
            assert_eq!(sizes(&points).1, None, "{odd}");
            let mut out = Vec::new();
            encode(&points, MINUTE, &mut out);
            assert_eq!(out[0], LAYOUT_GORILLA);
        }
        assert_eq!(decimal_scale(&[1.0, -2.0, 0.0]).map(|(scale, _)| scale), Some(0));
        assert_eq!(decimal_scale(&[1.5, 0.07, 123.45]).map(|(scale, _)| scale), Some(2));
        assert_eq!(decimal_scale(&[0.000_000_001]).map(|(scale, _)| scale), Some(9));
        assert_eq!(decimal_scale(&[0.000_000_000_1]), None);
    }

    /// Written by the encoder before the decimal layout (and its faster bit
    /// reader and writer): a varied Gorilla chunk that must keep decoding.
    #[test]
    fn gorilla_chunks_from_before_still_decode_unchanged() {
        let legacy = "000e8091b0fef9623ff8000000000000a0184efff580f800b40c1f5f1ff21e44003acf3e8073f90f22001d6761fa020c\
            ccccccccccdd5b8038000000000000ca3800d555555555557e9f1bfcb19999999999aef6c7fffffffffffffb50e04301\
            17c000000000005eb9afff0ffffffffffffe851a8ffb00";
        let values = [1.5, 1.5, 2.25, -3.0, 1e300, f64::NAN, 0.1, 0.2, 0.1 + 0.2, 42.0, 42.0, -0.0, f64::INFINITY, 7.0];
        let offsets = [0i64, 1, 2, 3, 5, 6, 7, 100, 101, 600, 3000, 3001, 100_000, 100_001];
        let points: Vec<(i64, Point)> =
            offsets.iter().zip(values).map(|(offset, value)| (START + offset * MINUTE, Point::Single(value))).collect();
        let bytes: Vec<u8> =
            (0..legacy.len()).step_by(2).map(|at| u8::from_str_radix(&legacy[at..at + 2], 16).expect("hex")).collect();
        assert!(same(&points, &decode::<Point>(&bytes, MINUTE).expect("decodes")));
        let mut out = Vec::new();
        encode(&points, MINUTE, &mut out);
        assert_eq!(out, bytes);
    }

    #[test]
    fn rice_codes_round_trip_at_every_parameter() {
        let values = [0u64, 1, 2, 3, 63, 64, 1000, 1 << 31, (1 << 53) + 1, u64::MAX >> 1, u64::MAX];
        for parameter in 0..ALL_ZERO {
            let mut bits = BitWriter::default();
            for value in values {
                write_rice(&mut bits, value, parameter);
            }
            let bytes = bits.finish();
            let mut reader = BitReader::new(&bytes);
            for value in values {
                assert_eq!(read_rice(&mut reader, parameter), Ok(value), "parameter {parameter}");
            }
        }
    }

    #[test]
    fn bits_round_trip_at_every_width() {
        let mut bits = BitWriter::default();
        let widths: Vec<u32> = (0..=64).chain((0..=64).rev()).collect();
        for &width in &widths {
            bits.write(u64::MAX.checked_shr(64 - width).unwrap_or(0) ^ u64::from(width), width);
        }
        let bytes = bits.finish();
        let mut reader = BitReader::new(&bytes);
        for &width in &widths {
            let expected = (u64::MAX.checked_shr(64 - width).unwrap_or(0) ^ u64::from(width))
                & u64::MAX.checked_shr(64 - width).unwrap_or(0);
            assert_eq!(reader.read(width), Ok(expected), "width {width}");
        }
        assert!(reader.read(8).is_err());
    }

    /// Integers for the decimal layout: small and large, of either sign,
    /// slowly varying, and constant.
    fn scaled_values() -> impl Strategy<Value = Vec<i64>> {
        const LIMIT: i64 = 1 << 53;
        prop_oneof![
            proptest::collection::vec(-1_000i64..1_000, 1..300),
            proptest::collection::vec(-LIMIT + 1..LIMIT, 1..100),
            proptest::collection::vec(prop_oneof![Just(0i64), Just(LIMIT - 1), Just(-LIMIT + 1), Just(7)], 1..200),
            (-LIMIT / 2..LIMIT / 2, proptest::collection::vec(-50i64..50, 0..300)).prop_map(|(start, steps)| {
                std::iter::once(start)
                    .chain(steps.into_iter().scan(start, |value, step| {
                        *value += step;
                        Some(*value)
                    }))
                    .collect()
            }),
            (any::<i64>(), 1usize..500).prop_map(|(value, len)| vec![value % LIMIT; len]),
        ]
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
        fn decimal_chunks_round_trip(
            scale in 0usize..10,
            scaled in scaled_values(),
            gaps in proptest::collection::vec(prop_oneof![4 => Just(1i64), 1 => 1i64..5000], 500),
        ) {
            let values: Vec<f64> = scaled.iter().map(|&integer| integer as f64 / POWERS_OF_TEN[scale]).collect();
            let mut ts = START;
            let points: Vec<(i64, Point)> = values
                .iter()
                .zip(&gaps)
                .map(|(value, gap)| {
                    ts += gap * MINUTE;
                    (ts, Point::Single(*value))
                })
                .collect();
            // Checks that both layouts decode to the points.
            let (gorilla, decimal) = sizes(&points);
            // Far below 2^53, the scaled value is sure to survive the round trip.
            if scaled.iter().all(|integer| integer.unsigned_abs() < 1 << 48) {
                prop_assert!(decimal.is_some());
            }
            let mut out = Vec::new();
            encode(&points, MINUTE, &mut out);
            prop_assert_eq!(out.len(), decimal.map_or(gorilla, |decimal| decimal.min(gorilla)));
            let decoded: Vec<(i64, Point)> = decode(&out, MINUTE).expect("decodes");
            prop_assert!(same(&points, &decoded));
        }

        #[test]
        fn one_odd_value_falls_back_to_gorilla(
            scaled in proptest::collection::vec(-100_000i64..100_000, 2..200),
            at in any::<prop::sample::Index>(),
            odd in prop_oneof![Just(-0.0), Just(f64::NAN), Just(f64::INFINITY), Just(1.0 / 3.0), any::<f64>()],
        ) {
            let mut values: Vec<f64> = scaled.iter().map(|&integer| integer as f64 / 100.0).collect();
            let index = at.index(values.len());
            values[index] = odd;
            let points = minutely(&values);
            let mut out = Vec::new();
            encode(&points, MINUTE, &mut out);
            prop_assert!(decimal_scale(&values).is_some() || out[0] == LAYOUT_GORILLA);
            let decoded: Vec<(i64, Point)> = decode(&out, MINUTE).expect("decodes");
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

        #[test]
        fn arbitrary_decimal_chunks_never_panic(
            header in proptest::collection::vec(any::<u8>(), 0..12),
            stream in proptest::collection::vec(any::<u8>(), 0..300),
        ) {
            let mut bytes = vec![LAYOUT_DECIMAL];
            bytes.extend_from_slice(&header);
            bytes.extend_from_slice(&stream);
            let _ = decode::<Point>(&bytes, 60_000);
            // A plausible header (few points, a valid scale) reaches the bit stream.
            let mut bytes = vec![LAYOUT_DECIMAL];
            put_varint(&mut bytes, u64::from(header.first().copied().unwrap_or(0)));
            put_signed(&mut bytes, START);
            bytes.push(header.get(1).copied().unwrap_or(0) % 10);
            put_signed(&mut bytes, -12_345);
            bytes.extend_from_slice(&stream);
            let _ = decode::<Point>(&bytes, 60_000);
        }

        #[test]
        fn corrupt_decimal_chunks_never_panic(
            scaled in scaled_values(),
            flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
            cut in any::<prop::sample::Index>(),
        ) {
            let values: Vec<f64> = scaled.iter().map(|&integer| integer as f64 / 1000.0).collect();
            let points = minutely(&values);
            let Some((scale, scaled)) = decimal_scale(&values) else {
                return Ok(());
            };
            let mut bytes = Vec::new();
            encode_decimal(&points, scale, &scaled, MINUTE, &mut bytes);
            let _ = decode::<Point>(&bytes[..cut.index(bytes.len())], MINUTE);
            for (at, byte) in flips {
                let index = at.index(bytes.len());
                bytes[index] ^= byte;
            }
            let _ = decode::<Point>(&bytes, MINUTE);
        }
    }
}
