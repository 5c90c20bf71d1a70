//! Recent metric data in memory: per (series, unit, bucket width) a sorted
//! map from bucket start to the [`Summary`] of the samples in that bucket.
//! Standard-resolution samples fall in 1-minute buckets, high-resolution
//! ones in 1-second buckets; reads merge buckets into the requested period.

use std::collections::{BTreeMap, HashMap};

use super::chunk::ChunkValue;
use super::codec::{CodecError, Reader, put_varint};
use super::record::{Sample, SampleValue};
use super::stats::Summary;
use super::unit::Unit;

/// Which points: one series, one unit, one bucket width.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Track {
    pub series_id: u64,
    pub unit: Unit,
    pub width_s: u32,
}

impl Track {
    pub fn width_ms(self) -> i64 {
        i64::from(self.width_s) * 1000
    }
}

pub const MILLIS_PER_DAY: i64 = 86_400_000;

/// The start of the bucket of `width_ms` holding `timestamp_ms`.
pub fn bucket_start(timestamp_ms: i64, width_ms: i64) -> i64 {
    timestamp_ms - timestamp_ms.rem_euclid(width_ms.max(1))
}

/// One series' points by (unit, bucket width), then bucket start.
pub type SeriesPoints = BTreeMap<(Unit, u32), BTreeMap<i64, Summary>>;

#[derive(Debug, Default)]
pub struct Head {
    /// Keyed by our own series ids: a fast hash is enough.
    pub series: HashMap<u64, SeriesPoints, foldhash::fast::FixedState>,
    /// The last WAL record applied.
    pub applied_lsn: u64,
    pub samples: u64,
}

impl Head {
    /// Adds a sample; values were validated before the WAL record was
    /// written, so a failure here means a corrupt record and the sample is
    /// skipped.
    pub fn apply(&mut self, sample: &Sample) -> bool {
        let width_s = u32::from(sample.resolution_s.max(1));
        let start = bucket_start(sample.timestamp_ms, i64::from(width_s) * 1000);
        let summary = self
            .series
            .entry(sample.series_id)
            .or_default()
            .entry((sample.unit, width_s))
            .or_default()
            .entry(start)
            .or_default();
        let added = match &sample.value {
            SampleValue::Single(value) => summary.add_value(*value, 1.0),
            SampleValue::Values(pairs) => pairs.iter().try_for_each(|(value, count)| summary.add_value(*value, *count)),
            SampleValue::StatisticSet { count, sum, min, max } => summary.add_statistic_set(*count, *sum, *min, *max),
        };
        self.samples += 1;
        added.is_ok()
    }

    pub fn is_empty(&self) -> bool {
        self.series.is_empty()
    }

    pub fn points(&self) -> usize {
        self.series.values().flat_map(|tracks| tracks.values()).map(BTreeMap::len).sum()
    }

    /// The head's points split by UTC day, as block files hold them.
    pub fn by_day(&self) -> BTreeMap<i64, BTreeMap<Track, BTreeMap<i64, Summary>>> {
        let mut days: BTreeMap<i64, BTreeMap<Track, BTreeMap<i64, Summary>>> = BTreeMap::new();
        for (series_id, tracks) in &self.series {
            for ((unit, width_s), points) in tracks {
                let track = Track { series_id: *series_id, unit: *unit, width_s: *width_s };
                for (start, summary) in points {
                    let day = bucket_start(*start, MILLIS_PER_DAY);
                    days.entry(day).or_default().entry(track).or_default().insert(*start, summary.clone());
                }
            }
        }
        days
    }
}

/// How a summary is kept in a chunk: one plain sample as a bare value
/// (Gorilla-encoded), anything else length-prefixed in its own encoding.
impl ChunkValue for Summary {
    fn as_single(&self) -> Option<f64> {
        if self.sample_count() != 1.0 {
            return None;
        }
        let (min, max) = (self.minimum()?, self.maximum()?);
        (min == max && self.sum() == min && self.distribution().is_some()).then_some(min)
    }

    fn from_single(value: f64) -> Self {
        let mut summary = Summary::new();
        // Values in block files were finite when they were written.
        let _ = summary.add_value(value, 1.0);
        summary
    }

    fn encode(&self, out: &mut Vec<u8>) {
        let bytes = Summary::encode(self);
        put_varint(out, bytes.len() as u64);
        out.extend_from_slice(&bytes);
    }

    fn decode(reader: &mut Reader<'_>) -> Result<Self, CodecError> {
        let len = usize::try_from(reader.varint()?).map_err(|_| CodecError("summary length"))?;
        let bytes = reader.bytes(len)?;
        Summary::decode(bytes).map_err(|_| CodecError("a summary in a chunk is corrupt"))
    }
}
