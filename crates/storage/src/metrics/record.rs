//! The WAL payload of one accepted PutMetricData request: its samples, with
//! series already resolved to ids (new series are in the catalog before the
//! record is written).
//!
//! ```text
//! u8 kind = 1 | varint sample_count
//! sample_count × ( varint series_id | u8 unit | u8 resolution_s (1 or 60)
//!                | zigzag-varint timestamp_ms | u8 value_kind | value )
//! value_kind 0: f64 value
//! value_kind 1: varint n, n × (f64 value, f64 count)
//! value_kind 2: f64 count, f64 sum, f64 min, f64 max
//! ```

use super::codec::{CodecError, Reader, put_f64, put_signed, put_varint};
use super::unit::Unit;

const KIND_METRIC_BATCH: u8 = 1;

/// What one datum published, before aggregation.
#[derive(Debug, Clone, PartialEq)]
pub enum SampleValue {
    Single(f64),
    /// `Values` with their `Counts` (1 each when Counts was omitted).
    Values(Vec<(f64, f64)>),
    StatisticSet { count: f64, sum: f64, min: f64, max: f64 },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub series_id: u64,
    pub unit: Unit,
    /// 1 for high-resolution data, 60 for standard.
    pub resolution_s: u8,
    pub timestamp_ms: i64,
    pub value: SampleValue,
}

pub fn encode(samples: &[Sample]) -> Vec<u8> {
    let mut out = Vec::with_capacity(2 + samples.len() * 24);
    out.push(KIND_METRIC_BATCH);
    put_varint(&mut out, samples.len() as u64);
    for sample in samples {
        put_varint(&mut out, sample.series_id);
        out.push(sample.unit.code());
        out.push(sample.resolution_s);
        put_signed(&mut out, sample.timestamp_ms);
        match &sample.value {
            SampleValue::Single(value) => {
                out.push(0);
                put_f64(&mut out, *value);
            }
            SampleValue::Values(pairs) => {
                out.push(1);
                put_varint(&mut out, pairs.len() as u64);
                for (value, count) in pairs {
                    put_f64(&mut out, *value);
                    put_f64(&mut out, *count);
                }
            }
            SampleValue::StatisticSet { count, sum, min, max } => {
                out.push(2);
                for field in [count, sum, min, max] {
                    put_f64(&mut out, *field);
                }
            }
        }
    }
    out
}

pub fn decode(payload: &[u8]) -> Result<Vec<Sample>, CodecError> {
    let mut reader = Reader::new(payload);
    if reader.u8()? != KIND_METRIC_BATCH {
        return Err(CodecError("unknown metrics record kind"));
    }
    let count = reader.count(13)?;
    let mut samples = Vec::with_capacity(count);
    for _ in 0..count {
        let series_id = reader.varint()?;
        let unit = Unit::from_code(reader.u8()?).ok_or(CodecError("unknown unit"))?;
        let resolution_s = reader.u8()?;
        let timestamp_ms = reader.signed()?;
        let value = match reader.u8()? {
            0 => SampleValue::Single(reader.f64()?),
            1 => {
                let pairs = reader.count(16)?;
                let mut values = Vec::with_capacity(pairs);
                for _ in 0..pairs {
                    values.push((reader.f64()?, reader.f64()?));
                }
                SampleValue::Values(values)
            }
            2 => SampleValue::StatisticSet { count: reader.f64()?, sum: reader.f64()?, min: reader.f64()?, max: reader.f64()? },
            _ => return Err(CodecError("unknown sample value kind")),
        };
        samples.push(Sample { series_id, unit, resolution_s, timestamp_ms, value });
    }
    Ok(samples)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_round_trip_and_truncations_fail_cleanly() {
        let samples = vec![
            Sample { series_id: 7, unit: Unit::NONE, resolution_s: 60, timestamp_ms: 1_700_000_000_000, value: SampleValue::Single(1.5) },
            Sample {
                series_id: 1 << 40,
                unit: Unit::parse("Milliseconds").expect("unit"),
                resolution_s: 1,
                timestamp_ms: -5,
                value: SampleValue::Values(vec![(1.0, 2.0), (3.0, 1.0)]),
            },
            Sample {
                series_id: 0,
                unit: Unit::parse("Count").expect("unit"),
                resolution_s: 60,
                timestamp_ms: 0,
                value: SampleValue::StatisticSet { count: 3.0, sum: 6.0, min: 1.0, max: 3.0 },
            },
        ];
        let encoded = encode(&samples);
        assert_eq!(decode(&encoded), Ok(samples));
        for cut in 0..encoded.len() {
            assert!(decode(&encoded[..cut]).is_err(), "cut at {cut}");
        }
    }
}
