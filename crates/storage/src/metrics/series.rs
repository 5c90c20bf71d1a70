//! Series identity and the series index.
//!
//! A series is one metric: (namespace, metric name, dimensions) in one
//! account and region. Dimensions are kept sorted by name, so the same set
//! in any order is the same series; Prometheus labels will map onto the
//! same model (namespace and name are labels like any other). Units are not
//! part of the identity: CloudWatch keeps one metric whatever unit its
//! datapoints carry, and filters by unit when reading (see `head.rs`).

use std::collections::HashMap;
use std::sync::Arc;

use crate::catalog::SeriesRecord;

/// Account and region: every metric lives in one.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MetricScope {
    pub account: String,
    pub region: String,
}

/// What names a metric.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MetricIdentity {
    pub namespace: String,
    pub metric_name: String,
    /// Sorted by name; names are unique.
    pub dimensions: Vec<(String, String)>,
}

impl MetricIdentity {
    /// Sorts the dimensions; the caller has rejected duplicate names.
    pub fn new(namespace: impl Into<String>, metric_name: impl Into<String>, mut dimensions: Vec<(String, String)>) -> Self {
        dimensions.sort();
        MetricIdentity { namespace: namespace.into(), metric_name: metric_name.into(), dimensions }
    }

    /// The canonical JSON of the dimensions, as the catalog stores them.
    pub fn dimensions_json(&self) -> String {
        let pairs: Vec<[&str; 2]> = self.dimensions.iter().map(|(name, value)| [name.as_str(), value.as_str()]).collect();
        serde_json::to_string(&pairs).unwrap_or_else(|_| "[]".to_string())
    }

    fn from_record(record: &SeriesRecord) -> MetricIdentity {
        let pairs: Vec<(String, String)> = serde_json::from_str::<Vec<[String; 2]>>(&record.dimensions)
            .unwrap_or_default()
            .into_iter()
            .map(|[name, value]| (name, value))
            .collect();
        MetricIdentity::new(record.namespace.clone(), record.metric_name.clone(), pairs)
    }
}

/// A known series.
#[derive(Debug, Clone)]
pub struct SeriesEntry {
    pub id: u64,
    pub scope: Arc<MetricScope>,
    pub identity: Arc<MetricIdentity>,
}

/// identity → id and back, for every series ever written. Lookups borrow
/// the scope and identity (no allocation per datum).
/// Lookups hash every name and dimension of an identity on each datum:
/// foldhash (randomly seeded per map) rather than SipHash.
type Map<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

#[derive(Debug, Default)]
pub struct SeriesIndex {
    by_scope: Map<Arc<MetricScope>, Map<Arc<MetricIdentity>, u64>>,
    by_id: Map<u64, SeriesEntry>,
}

impl SeriesIndex {
    pub fn from_records(records: &[SeriesRecord]) -> SeriesIndex {
        let mut index = SeriesIndex::default();
        for record in records {
            let scope = MetricScope { account: record.account.clone(), region: record.region.clone() };
            index.insert(record.id, &scope, MetricIdentity::from_record(record));
        }
        index
    }

    pub fn get(&self, scope: &MetricScope, identity: &MetricIdentity) -> Option<u64> {
        self.by_scope.get(scope)?.get(identity).copied()
    }

    pub fn insert(&mut self, id: u64, scope: &MetricScope, identity: MetricIdentity) {
        let scope = match self.by_scope.get_key_value(scope) {
            Some((shared, _)) => Arc::clone(shared),
            None => Arc::new(scope.clone()),
        };
        let identity = Arc::new(identity);
        self.by_scope.entry(Arc::clone(&scope)).or_default().insert(Arc::clone(&identity), id);
        self.by_id.insert(id, SeriesEntry { id, scope, identity });
    }

    pub fn entry(&self, id: u64) -> Option<&SeriesEntry> {
        self.by_id.get(&id)
    }

    /// Every series of one scope.
    pub fn in_scope<'a>(&'a self, scope: &MetricScope) -> impl Iterator<Item = &'a SeriesEntry> + 'a {
        self.by_scope
            .get(scope)
            .into_iter()
            .flat_map(|series| series.values())
            .filter_map(|id| self.by_id.get(id))
    }

    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }
}
