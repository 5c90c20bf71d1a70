//! [`MetricCatalog`] on the embedded SQLite catalog: metric series, block
//! files, the metrics flush checkpoint and dashboards.

use rusqlite::{OptionalExtension, params};

use super::{SqliteCatalog, to_i64, to_u64};
use crate::catalog::{BlockRecord, CatalogError, DashboardRecord, MetricCatalog, SeriesRecord};

const FLUSHED_LSN_KEY: &str = "metrics_flushed_lsn";

impl MetricCatalog for SqliteCatalog {
    fn load_series(&self) -> Result<Vec<SeriesRecord>, CatalogError> {
        let conn = self.conn.lock();
        let mut stmt = conn.prepare(
            "SELECT id, account, region, namespace, metric_name, dimensions, created_ms FROM metric_series ORDER BY id",
        )?;
        let rows = stmt.query_map([], |row| {
            Ok(SeriesRecord {
                id: to_u64(row.get(0)?),
                account: row.get(1)?,
                region: row.get(2)?,
                namespace: row.get(3)?,
                metric_name: row.get(4)?,
                dimensions: row.get(5)?,
                created_ms: row.get(6)?,
            })
        })?;
        rows.collect::<Result<Vec<_>, _>>().map_err(CatalogError::from)
    }

    fn insert_series(&self, series: &SeriesRecord) -> Result<u64, CatalogError> {
        let conn = self.conn.lock();
        let id: i64 = conn.query_row(
            "INSERT INTO metric_series (account, region, namespace, metric_name, dimensions, created_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (account, region, namespace, metric_name, dimensions) DO UPDATE SET created_ms = created_ms
             RETURNING id",
            params![
                series.account,
                series.region,
                series.namespace,
                series.metric_name,
                series.dimensions,
                series.created_ms
            ],
            |row| row.get(0),
        )?;
        Ok(to_u64(id))
    }

    fn load_blocks(&self) -> Result<Vec<BlockRecord>, CatalogError> {
        let conn = self.conn.lock();
        let mut stmt = conn
            .prepare("SELECT id, path, day, min_ts, max_ts, points, file_bytes, level FROM metric_blocks ORDER BY id")?;
        let rows = stmt.query_map([], |row| {
            Ok(BlockRecord {
                id: to_u64(row.get(0)?),
                path: row.get(1)?,
                day: row.get(2)?,
                min_ts: row.get(3)?,
                max_ts: row.get(4)?,
                points: to_u64(row.get(5)?),
                file_bytes: to_u64(row.get(6)?),
                level: u32::try_from(row.get::<_, i64>(7)?).unwrap_or(0),
            })
        })?;
        rows.collect::<Result<Vec<_>, _>>().map_err(CatalogError::from)
    }

    fn metrics_flushed_lsn(&self) -> Result<u64, CatalogError> {
        let conn = self.conn.lock();
        let value: Option<String> =
            conn.query_row("SELECT value FROM meta WHERE key = ?1", params![FLUSHED_LSN_KEY], |row| row.get(0)).optional()?;
        match value {
            None => Ok(0),
            Some(text) => text
                .parse()
                .map_err(|_| CatalogError::Corrupt(format!("{FLUSHED_LSN_KEY} is not a number: {text}"))),
        }
    }

    fn commit_blocks(&self, added: &[BlockRecord], removed: &[u64], flushed_lsn: Option<u64>) -> Result<(), CatalogError> {
        let mut conn = self.conn.lock();
        let tx = conn.transaction()?;
        for block in added {
            tx.execute(
                "INSERT INTO metric_blocks (id, path, day, min_ts, max_ts, points, file_bytes, level)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    to_i64(block.id),
                    block.path,
                    block.day,
                    block.min_ts,
                    block.max_ts,
                    to_i64(block.points),
                    to_i64(block.file_bytes),
                    block.level
                ],
            )?;
        }
        for id in removed {
            tx.execute("DELETE FROM metric_blocks WHERE id = ?1", params![to_i64(*id)])?;
        }
        if let Some(lsn) = flushed_lsn {
            tx.execute(
                "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                params![FLUSHED_LSN_KEY, lsn.to_string()],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    fn next_block_id(&self) -> Result<u64, CatalogError> {
        self.next_in_sequence("metric_block")
    }

    fn put_dashboard(&self, account: &str, region: &str, dashboard: &DashboardRecord) -> Result<(), CatalogError> {
        let conn = self.conn.lock();
        conn.execute(
            "INSERT INTO dashboards (account, region, name, body, modified_ms) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (account, region, name) DO UPDATE SET body = excluded.body, modified_ms = excluded.modified_ms",
            params![account, region, dashboard.name, dashboard.body, dashboard.modified_ms],
        )?;
        Ok(())
    }

    fn get_dashboard(&self, account: &str, region: &str, name: &str) -> Result<Option<DashboardRecord>, CatalogError> {
        let conn = self.conn.lock();
        let found = conn
            .query_row(
                "SELECT name, body, modified_ms FROM dashboards WHERE account = ?1 AND region = ?2 AND name = ?3",
                params![account, region, name],
                |row| Ok(DashboardRecord { name: row.get(0)?, body: row.get(1)?, modified_ms: row.get(2)? }),
            )
            .optional()?;
        Ok(found)
    }

    fn list_dashboards(&self, account: &str, region: &str, prefix: &str) -> Result<Vec<DashboardRecord>, CatalogError> {
        let conn = self.conn.lock();
        let mut stmt = conn.prepare(
            "SELECT name, body, modified_ms FROM dashboards
             WHERE account = ?1 AND region = ?2 AND substr(name, 1, length(?3)) = ?3 ORDER BY name",
        )?;
        let rows = stmt.query_map(params![account, region, prefix], |row| {
            Ok(DashboardRecord { name: row.get(0)?, body: row.get(1)?, modified_ms: row.get(2)? })
        })?;
        rows.collect::<Result<Vec<_>, _>>().map_err(CatalogError::from)
    }

    fn delete_dashboards(&self, account: &str, region: &str, names: &[String]) -> Result<usize, CatalogError> {
        let mut conn = self.conn.lock();
        let tx = conn.transaction()?;
        let mut deleted = 0;
        for name in names {
            deleted += tx.execute(
                "DELETE FROM dashboards WHERE account = ?1 AND region = ?2 AND name = ?3",
                params![account, region, name],
            )?;
        }
        tx.commit()?;
        Ok(deleted)
    }
}
