//! The binary form of a [`Summary`] (version 1). Little-endian; varints are
//! LEB128. Decoding checks everything and never panics: corrupt bytes are a
//! [`DecodeError`].
//!
//! ```text
//! version u8 = 1
//! flags   u8   bits 0-1 distribution: 0 unavailable, 1 exact, 2 sketch,
//!                       3 single value (every sample equals min = max)
//!              bit 2    counts are f64 (else varints: all counts integers ≤ 2^53)
//!              bit 3    max omitted (max = min)
//!              bit 4    sum omitted (sum = min × count, bit for bit)
//! count   count                      then, unless count = 0:
//! min     f64, [max f64], [sum f64]
//! exact:  n varint, n × (value f64, count count)     values strictly ascending
//! sketch: zero-count count, negative store, positive store
//!   store: n varint, then n × (index step, count count): the first index
//!          zigzag-varint, each next one its distance (≥ 1) from the previous
//! ```

use super::sketch::{MAX_INDEX, Sketch, Store};
use super::summary::{Distribution, Repr, Summary};

const VERSION: u8 = 1;

const KIND_MASK: u8 = 0b11;
const KIND_UNAVAILABLE: u8 = 0;
const KIND_EXACT: u8 = 1;
const KIND_SKETCH: u8 = 2;
const KIND_SINGLE_VALUE: u8 = 3;
const FLOAT_COUNTS: u8 = 1 << 2;
const MAX_IS_MIN: u8 = 1 << 3;
const SUM_IS_MIN_TIMES_COUNT: u8 = 1 << 4;
const KNOWN_FLAGS: u8 = KIND_MASK | FLOAT_COUNTS | MAX_IS_MIN | SUM_IS_MIN_TIMES_COUNT;

/// Largest count a varint carries exactly (2^53).
const MAX_VARINT_COUNT: f64 = 9_007_199_254_740_992.0;

/// Slack when checking that the distribution's counts add up to the summary's.
const COUNT_TOLERANCE: f64 = 1e-9;

/// Why bytes are not a summary.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DecodeError {
    #[error("summary is truncated")]
    Truncated,
    #[error("summary has unknown format version {0}")]
    UnknownVersion(u8),
    #[error("summary is corrupt: {0}")]
    Corrupt(&'static str),
}

impl Summary {
    /// The binary form (see the module docs).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(32);
        self.encode_into(&mut out);
        out
    }

    pub fn encode_into(&self, out: &mut Vec<u8>) {
        if self.is_empty() {
            // An empty summary: exact, no values.
            out.extend_from_slice(&[VERSION, KIND_EXACT]);
            put_count(out, 0.0, false);
            return;
        }
        let float_counts = !self.counts().all(is_varint_count);
        let kind = match &self.distribution {
            None => KIND_UNAVAILABLE,
            Some(Distribution {
                repr: Repr::Exact(values),
            }) if values.len() == 1 && self.min == self.max => KIND_SINGLE_VALUE,
            Some(Distribution {
                repr: Repr::Exact(_),
            }) => KIND_EXACT,
            Some(Distribution {
                repr: Repr::Sketch(_),
            }) => KIND_SKETCH,
        };
        let max_is_min = self.max.to_bits() == self.min.to_bits();
        let sum_is_implied = self.sum.to_bits() == (self.min * self.count).to_bits();
        let mut flags = kind;
        if float_counts {
            flags |= FLOAT_COUNTS;
        }
        if max_is_min {
            flags |= MAX_IS_MIN;
        }
        if sum_is_implied {
            flags |= SUM_IS_MIN_TIMES_COUNT;
        }
        out.extend_from_slice(&[VERSION, flags]);
        put_count(out, self.count, float_counts);
        out.extend_from_slice(&self.min.to_le_bytes());
        if !max_is_min {
            out.extend_from_slice(&self.max.to_le_bytes());
        }
        if !sum_is_implied {
            out.extend_from_slice(&self.sum.to_le_bytes());
        }
        match (&self.distribution, kind) {
            (
                Some(Distribution {
                    repr: Repr::Exact(values),
                }),
                KIND_EXACT,
            ) => {
                put_varint(out, values.len() as u64);
                for &(value, count) in values {
                    out.extend_from_slice(&value.to_le_bytes());
                    put_count(out, count, float_counts);
                }
            }
            (
                Some(Distribution {
                    repr: Repr::Sketch(sketch),
                }),
                _,
            ) => {
                put_count(out, sketch.zero, float_counts);
                put_store(out, &sketch.negative, float_counts);
                put_store(out, &sketch.positive, float_counts);
            }
            _ => {}
        }
    }

    /// Every count the encoding writes.
    fn counts(&self) -> Box<dyn Iterator<Item = f64> + '_> {
        let own = std::iter::once(self.count);
        match &self.distribution {
            Some(Distribution {
                repr: Repr::Exact(values),
            }) => Box::new(own.chain(values.iter().map(|&(_, count)| count))),
            Some(Distribution {
                repr: Repr::Sketch(sketch),
            }) => Box::new(
                own.chain(std::iter::once(sketch.zero))
                    .chain(sketch.negative.buckets().iter().map(|&(_, count)| count))
                    .chain(sketch.positive.buckets().iter().map(|&(_, count)| count)),
            ),
            None => Box::new(own),
        }
    }

    /// Parses what [`Summary::encode`] wrote.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut input = Reader { bytes };
        let version = input.byte()?;
        if version != VERSION {
            return Err(DecodeError::UnknownVersion(version));
        }
        let flags = input.byte()?;
        if flags & !KNOWN_FLAGS != 0 {
            return Err(DecodeError::Corrupt("unknown flags"));
        }
        let float_counts = flags & FLOAT_COUNTS != 0;
        let count = input.count(float_counts)?;
        let kind = flags & KIND_MASK;
        if count == 0.0 {
            if kind != KIND_EXACT || !input.bytes.is_empty() {
                return Err(DecodeError::Corrupt(
                    "an empty summary has nothing after its count",
                ));
            }
            return Ok(Summary::new());
        }
        let min = input.f64()?;
        let max = if flags & MAX_IS_MIN != 0 {
            min
        } else {
            input.f64()?
        };
        let sum = if flags & SUM_IS_MIN_TIMES_COUNT != 0 {
            min * count
        } else {
            input.f64()?
        };
        if !min.is_finite() || !max.is_finite() || min > max || sum.is_nan() {
            return Err(DecodeError::Corrupt("bad minimum, maximum or sum"));
        }
        let repr = match kind {
            KIND_UNAVAILABLE => None,
            KIND_SINGLE_VALUE => {
                if min != max {
                    return Err(DecodeError::Corrupt(
                        "a single value needs minimum = maximum",
                    ));
                }
                Some(Repr::Exact(vec![(min, count)]))
            }
            KIND_EXACT => Some(Repr::Exact(decode_exact(
                &mut input,
                float_counts,
                min,
                max,
            )?)),
            _ => Some(Repr::Sketch(decode_sketch(
                &mut input,
                float_counts,
                min,
                max,
            )?)),
        };
        if !input.bytes.is_empty() {
            return Err(DecodeError::Corrupt("trailing bytes"));
        }
        let distribution = repr.map(|repr| Distribution { repr });
        if let Some(distribution) = &distribution {
            let total = distribution.total_count();
            if (total - count).abs() > COUNT_TOLERANCE * count {
                return Err(DecodeError::Corrupt("distribution counts do not add up"));
            }
        }
        Ok(Summary {
            count,
            sum,
            min,
            max,
            distribution,
        })
    }
}

fn decode_exact(
    input: &mut Reader<'_>,
    float_counts: bool,
    min: f64,
    max: f64,
) -> Result<Vec<(f64, f64)>, DecodeError> {
    let n = input.length(9)?;
    let mut values: Vec<(f64, f64)> = Vec::with_capacity(n);
    for _ in 0..n {
        let value = input.f64()?;
        let count = input.count(float_counts)?;
        if !value.is_finite() || count <= 0.0 {
            return Err(DecodeError::Corrupt("bad value or count"));
        }
        if values
            .last()
            .is_some_and(|&(previous, _)| previous >= value)
        {
            return Err(DecodeError::Corrupt("values are not ascending"));
        }
        values.push((value, count));
    }
    let first = values.first().map(|&(v, _)| v);
    let last = values.last().map(|&(v, _)| v);
    if first != Some(min) || last != Some(max) {
        return Err(DecodeError::Corrupt(
            "values do not span minimum to maximum",
        ));
    }
    Ok(values)
}

fn decode_sketch(
    input: &mut Reader<'_>,
    float_counts: bool,
    min: f64,
    max: f64,
) -> Result<Sketch, DecodeError> {
    let zero = input.count(float_counts)?;
    let negative = decode_store(input, float_counts)?;
    let positive = decode_store(input, float_counts)?;
    let mut sketch = Sketch::new();
    sketch.zero = zero;
    sketch.negative = negative;
    sketch.positive = positive;
    sketch.min = min;
    sketch.max = max;
    if sketch.bucket_count() == 0 {
        return Err(DecodeError::Corrupt("a sketch with no buckets"));
    }
    Ok(sketch)
}

fn decode_store(input: &mut Reader<'_>, float_counts: bool) -> Result<Store, DecodeError> {
    let n = input.length(2)?;
    let mut buckets = Vec::with_capacity(n);
    let mut previous: Option<i64> = None;
    for _ in 0..n {
        let step = input.varint()?;
        let index = match previous {
            None => zigzag_decode(step),
            Some(previous) => {
                let step = i64::try_from(step).map_err(|_| DecodeError::Corrupt("bad index"))?;
                if step < 1 {
                    return Err(DecodeError::Corrupt("bucket indexes are not ascending"));
                }
                previous.saturating_add(step)
            }
        };
        let index = i32::try_from(index)
            .ok()
            .filter(|i| i.abs() <= MAX_INDEX)
            .ok_or(DecodeError::Corrupt("bucket index out of range"))?;
        let count = input.count(float_counts)?;
        if count <= 0.0 {
            return Err(DecodeError::Corrupt("empty bucket"));
        }
        buckets.push((index, count));
        previous = Some(i64::from(index));
    }
    Ok(Store::from_sorted(buckets))
}

fn is_varint_count(count: f64) -> bool {
    (0.0..=MAX_VARINT_COUNT).contains(&count) && count.fract() == 0.0
}

fn put_count(out: &mut Vec<u8>, count: f64, float_counts: bool) {
    if float_counts {
        out.extend_from_slice(&count.to_le_bytes());
    } else {
        // is_varint_count held for every count, so the cast is exact.
        put_varint(out, count as u64);
    }
}

fn put_store(out: &mut Vec<u8>, store: &Store, float_counts: bool) {
    let buckets = store.buckets();
    put_varint(out, buckets.len() as u64);
    let mut previous: Option<i32> = None;
    for &(index, count) in buckets {
        let step = match previous {
            None => zigzag_encode(i64::from(index)),
            Some(previous) => (i64::from(index) - i64::from(previous)).unsigned_abs(),
        };
        put_varint(out, step);
        put_count(out, count, float_counts);
        previous = Some(index);
    }
}

fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn zigzag_encode(value: i64) -> u64 {
    ((value << 1) ^ (value >> 63)) as u64
}

fn zigzag_decode(value: u64) -> i64 {
    ((value >> 1) as i64) ^ -((value & 1) as i64)
}

struct Reader<'a> {
    bytes: &'a [u8],
}

impl Reader<'_> {
    fn byte(&mut self) -> Result<u8, DecodeError> {
        let (&first, rest) = self.bytes.split_first().ok_or(DecodeError::Truncated)?;
        self.bytes = rest;
        Ok(first)
    }

    fn f64(&mut self) -> Result<f64, DecodeError> {
        let (head, rest) = self
            .bytes
            .split_first_chunk::<8>()
            .ok_or(DecodeError::Truncated)?;
        self.bytes = rest;
        Ok(f64::from_le_bytes(*head))
    }

    fn varint(&mut self) -> Result<u64, DecodeError> {
        let mut value: u64 = 0;
        for shift in (0..64).step_by(7) {
            let byte = self.byte()?;
            let bits = u64::from(byte & 0x7f);
            if shift == 63 && bits > 1 {
                return Err(DecodeError::Corrupt("varint overflows 64 bits"));
            }
            value |= bits << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(DecodeError::Corrupt("varint longer than 10 bytes"))
    }

    fn count(&mut self, float_counts: bool) -> Result<f64, DecodeError> {
        let count = if float_counts {
            self.f64()?
        } else {
            let raw = self.varint()?;
            if raw > MAX_VARINT_COUNT as u64 {
                return Err(DecodeError::Corrupt("count too large"));
            }
            raw as f64
        };
        if !count.is_finite() || count < 0.0 {
            return Err(DecodeError::Corrupt("bad count"));
        }
        Ok(count)
    }

    /// A length prefix, checked against the bytes left (each item takes at
    /// least `min_item_bytes`) so corrupt input cannot make us allocate much.
    fn length(&mut self, min_item_bytes: usize) -> Result<usize, DecodeError> {
        let n = self.varint()?;
        let n = usize::try_from(n).map_err(|_| DecodeError::Truncated)?;
        if n > self.bytes.len() / min_item_bytes {
            return Err(DecodeError::Truncated);
        }
        Ok(n)
    }
}
