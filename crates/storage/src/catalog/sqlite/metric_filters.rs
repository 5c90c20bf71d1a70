//! [`MetricFilterCatalog`] on the embedded SQLite catalog.

use rusqlite::params;

use super::{SqliteCatalog, to_i64, to_u64};
use crate::catalog::{CatalogError, MetricFilterCatalog, MetricFilterRecord};

impl MetricFilterCatalog for SqliteCatalog {
    fn load_metric_filters(&self) -> Result<Vec<MetricFilterRecord>, CatalogError> {
        let conn = self.conn.lock();
        let mut stmt = conn.prepare(
            "SELECT group_id, name, pattern, transformations, created_ms, apply_on_transformed_logs
             FROM metric_filters ORDER BY group_id, name",
        )?;
        let rows = stmt.query_map([], |row| {
            Ok(MetricFilterRecord {
                group_id: to_u64(row.get(0)?),
                name: row.get(1)?,
                pattern: row.get(2)?,
                transformations: row.get(3)?,
                created_ms: row.get(4)?,
                apply_on_transformed_logs: row.get(5)?,
            })
        })?;
        rows.collect::<Result<Vec<_>, _>>().map_err(CatalogError::from)
    }

    fn put_metric_filter(&self, filter: &MetricFilterRecord) -> Result<(), CatalogError> {
        let conn = self.conn.lock();
        conn.execute(
            "INSERT INTO metric_filters (group_id, name, pattern, transformations, created_ms, apply_on_transformed_logs)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (group_id, name) DO UPDATE SET pattern = excluded.pattern,
                 transformations = excluded.transformations, created_ms = excluded.created_ms,
                 apply_on_transformed_logs = excluded.apply_on_transformed_logs",
            params![
                to_i64(filter.group_id),
                filter.name,
                filter.pattern,
                filter.transformations,
                filter.created_ms,
                filter.apply_on_transformed_logs
            ],
        )?;
        Ok(())
    }

    fn delete_metric_filter(&self, group_id: u64, name: &str) -> Result<bool, CatalogError> {
        let conn = self.conn.lock();
        let deleted =
            conn.execute("DELETE FROM metric_filters WHERE group_id = ?1 AND name = ?2", params![to_i64(group_id), name])?;
        Ok(deleted > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{Catalog, NewGroup, Tags};

    fn group(catalog: &SqliteCatalog, name: &str) -> u64 {
        catalog
            .insert_group(&NewGroup {
                account: "000000000000",
                region: "us-east-1",
                name,
                created_ms: 1,
                retention_days: None,
                class: "STANDARD",
                kms_key_id: None,
                deletion_protection: false,
                tags: &Tags::new(),
            })
            .unwrap()
    }

    fn filter(group_id: u64, name: &str, pattern: &str) -> MetricFilterRecord {
        MetricFilterRecord {
            group_id,
            name: name.to_string(),
            pattern: pattern.to_string(),
            transformations: "[]".to_string(),
            created_ms: 5,
            apply_on_transformed_logs: false,
        }
    }

    #[test]
    fn put_replaces_delete_reports_and_group_deletion_cascades() {
        let catalog = SqliteCatalog::open_in_memory().unwrap();
        let app = group(&catalog, "/app");
        let other = group(&catalog, "/other");
        catalog.put_metric_filter(&filter(app, "errors", "ERROR")).unwrap();
        catalog.put_metric_filter(&filter(app, "errors", "FATAL")).unwrap();
        catalog.put_metric_filter(&filter(other, "errors", "ERROR")).unwrap();
        let loaded = catalog.load_metric_filters().unwrap();
        assert_eq!(loaded.len(), 2);
        assert_eq!(loaded[0].pattern, "FATAL");

        assert!(!catalog.delete_metric_filter(app, "missing").unwrap());
        catalog.delete_group(other).unwrap();
        let loaded = catalog.load_metric_filters().unwrap();
        assert_eq!(loaded.iter().map(|f| f.group_id).collect::<Vec<_>>(), vec![app]);
        assert!(catalog.delete_metric_filter(app, "errors").unwrap());
        assert!(catalog.load_metric_filters().unwrap().is_empty());
    }
}
