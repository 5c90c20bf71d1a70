//! The embedded SQLite catalog (one file, `catalog.sqlite`, in the data
//! dir). WAL journal mode with `synchronous=FULL`: a committed change is on
//! disk when the call returns.

use std::collections::HashMap;
use std::path::Path;

use parking_lot::Mutex;
use rusqlite::{Connection, OptionalExtension, params};

use super::{
    Catalog, CatalogError, FlushCommit, GroupRecord, NewGroup, SegmentRecord, SegmentStream,
    StreamRecord, StreamStats, Tags,
};

mod alarms;
mod metric_filters;
mod metrics;
mod query_definitions;
mod sns;

const SCHEMA_VERSION: i64 = 1;

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS log_groups (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account TEXT NOT NULL,
    region TEXT NOT NULL,
    name TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    retention_days INTEGER,
    class TEXT NOT NULL,
    kms_key_id TEXT,
    deletion_protection INTEGER NOT NULL DEFAULT 0,
    flushed_lsn INTEGER NOT NULL DEFAULT 0,
    UNIQUE (account, region, name)
);
CREATE TABLE IF NOT EXISTS log_group_tags (
    group_id INTEGER NOT NULL REFERENCES log_groups(id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (group_id, key)
);
CREATE TABLE IF NOT EXISTS log_streams (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    group_id INTEGER NOT NULL REFERENCES log_groups(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    first_event_ms INTEGER,
    last_event_ms INTEGER,
    last_ingestion_ms INTEGER,
    UNIQUE (group_id, name)
);
CREATE TABLE IF NOT EXISTS log_segments (
    id INTEGER PRIMARY KEY,
    group_id INTEGER NOT NULL REFERENCES log_groups(id) ON DELETE CASCADE,
    path TEXT NOT NULL,
    min_ts INTEGER NOT NULL,
    max_ts INTEGER NOT NULL,
    rows INTEGER NOT NULL,
    file_bytes INTEGER NOT NULL,
    index_bytes INTEGER NOT NULL DEFAULT 0,
    level INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS log_segment_streams (
    segment_id INTEGER NOT NULL REFERENCES log_segments(id) ON DELETE CASCADE,
    stream_id INTEGER NOT NULL,
    rows INTEGER NOT NULL,
    bytes INTEGER NOT NULL,
    PRIMARY KEY (segment_id, stream_id)
);
CREATE TABLE IF NOT EXISTS metric_filters (
    group_id INTEGER NOT NULL REFERENCES log_groups(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    pattern TEXT NOT NULL,
    transformations TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    apply_on_transformed_logs INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (group_id, name)
);
CREATE TABLE IF NOT EXISTS sequences (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS metric_series (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account TEXT NOT NULL,
    region TEXT NOT NULL,
    namespace TEXT NOT NULL,
    metric_name TEXT NOT NULL,
    dimensions TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    UNIQUE (account, region, namespace, metric_name, dimensions)
);
CREATE TABLE IF NOT EXISTS metric_blocks (
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL,
    day TEXT NOT NULL,
    min_ts INTEGER NOT NULL,
    max_ts INTEGER NOT NULL,
    points INTEGER NOT NULL,
    file_bytes INTEGER NOT NULL,
    level INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS dashboards (
    account TEXT NOT NULL,
    region TEXT NOT NULL,
    name TEXT NOT NULL,
    body TEXT NOT NULL,
    modified_ms INTEGER NOT NULL,
    PRIMARY KEY (account, region, name)
);
"#;

pub struct SqliteCatalog {
    conn: Mutex<Connection>,
}

impl SqliteCatalog {
    pub fn open(path: &Path) -> Result<SqliteCatalog, CatalogError> {
        let conn = Connection::open(path)?;
        Self::init(conn)
    }

    pub fn open_in_memory() -> Result<SqliteCatalog, CatalogError> {
        Self::init(Connection::open_in_memory()?)
    }

    fn init(conn: Connection) -> Result<SqliteCatalog, CatalogError> {
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.execute_batch(SCHEMA)?;
        conn.execute_batch(alarms::SCHEMA)?;
        conn.execute_batch(sns::SCHEMA)?;
        conn.execute_batch(query_definitions::SCHEMA)?;
        // Catalogs written before segments had token indexes.
        let has_index_bytes = conn
            .prepare("SELECT 1 FROM pragma_table_info('log_segments') WHERE name = 'index_bytes'")?
            .exists([])?;
        if !has_index_bytes {
            conn.execute_batch(
                "ALTER TABLE log_segments ADD COLUMN index_bytes INTEGER NOT NULL DEFAULT 0",
            )?;
        }
        let has_level = conn
            .prepare("SELECT 1 FROM pragma_table_info('log_segments') WHERE name = 'level'")?
            .exists([])?;
        if !has_level {
            conn.execute_batch(
                "ALTER TABLE log_segments ADD COLUMN level INTEGER NOT NULL DEFAULT 0",
            )?;
        }
        let version: Option<String> = conn
            .query_row(
                "SELECT value FROM meta WHERE key = 'schema_version'",
                [],
                |row| row.get(0),
            )
            .optional()?;
        match version {
            None => {
                conn.execute(
                    "INSERT INTO meta (key, value) VALUES ('schema_version', ?1)",
                    params![SCHEMA_VERSION.to_string()],
                )?;
            }
            Some(found) if found == SCHEMA_VERSION.to_string() => {}
            Some(found) => {
                return Err(CatalogError::Corrupt(format!(
                    "catalog schema version {found} is not supported by this build (expects {SCHEMA_VERSION})"
                )));
            }
        }
        Ok(SqliteCatalog {
            conn: Mutex::new(conn),
        })
    }
}

impl SqliteCatalog {
    /// The next value of a named, never reused sequence (starting at 1).
    fn next_in_sequence(&self, name: &str) -> Result<u64, CatalogError> {
        let conn = self.conn.lock();
        let value: i64 = conn.query_row(
            "INSERT INTO sequences (name, value) VALUES (?1, 1)
             ON CONFLICT (name) DO UPDATE SET value = value + 1
             RETURNING value",
            params![name],
            |row| row.get(0),
        )?;
        Ok(to_u64(value))
    }
}

fn to_u64(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

impl Catalog for SqliteCatalog {
    fn load_groups(&self) -> Result<Vec<GroupRecord>, CatalogError> {
        let conn = self.conn.lock();
        let mut tags: HashMap<u64, Tags> = HashMap::new();
        {
            let mut stmt = conn.prepare("SELECT group_id, key, value FROM log_group_tags")?;
            let rows = stmt.query_map([], |row| {
                Ok((
                    to_u64(row.get(0)?),
                    row.get::<_, String>(1)?,
                    row.get::<_, String>(2)?,
                ))
            })?;
            for row in rows {
                let (group_id, key, value) = row?;
                tags.entry(group_id).or_default().insert(key, value);
            }
        }
        let mut stmt = conn.prepare(
            "SELECT id, account, region, name, created_ms, retention_days, class, kms_key_id,
                    deletion_protection, flushed_lsn
             FROM log_groups ORDER BY id",
        )?;
        let rows = stmt.query_map([], |row| {
            Ok(GroupRecord {
                id: to_u64(row.get(0)?),
                account: row.get(1)?,
                region: row.get(2)?,
                name: row.get(3)?,
                created_ms: row.get(4)?,
                retention_days: row.get(5)?,
                class: row.get(6)?,
                kms_key_id: row.get(7)?,
                deletion_protection: row.get::<_, i64>(8)? != 0,
                tags: Tags::new(),
                flushed_lsn: to_u64(row.get(9)?),
            })
        })?;
        let mut groups = Vec::new();
        for row in rows {
            let mut group = row?;
            group.tags = tags.remove(&group.id).unwrap_or_default();
            groups.push(group);
        }
        Ok(groups)
    }

    fn load_streams(&self) -> Result<Vec<StreamRecord>, CatalogError> {
        let conn = self.conn.lock();
        let mut stmt = conn.prepare(
            "SELECT id, group_id, name, created_ms, first_event_ms, last_event_ms, last_ingestion_ms
             FROM log_streams ORDER BY id",
        )?;
        let rows = stmt.query_map([], |row| {
            Ok(StreamRecord {
                id: to_u64(row.get(0)?),
                group_id: to_u64(row.get(1)?),
                name: row.get(2)?,
                created_ms: row.get(3)?,
                stats: StreamStats {
                    first_event_ms: row.get(4)?,
                    last_event_ms: row.get(5)?,
                    last_ingestion_ms: row.get(6)?,
                },
            })
        })?;
        rows.collect::<Result<Vec<_>, _>>()
            .map_err(CatalogError::from)
    }

    fn load_segments(&self) -> Result<Vec<SegmentRecord>, CatalogError> {
        let conn = self.conn.lock();
        let mut streams: HashMap<u64, Vec<SegmentStream>> = HashMap::new();
        {
            let mut stmt =
                conn.prepare("SELECT segment_id, stream_id, rows, bytes FROM log_segment_streams")?;
            let rows = stmt.query_map([], |row| {
                Ok((
                    to_u64(row.get(0)?),
                    SegmentStream {
                        stream_id: to_u64(row.get(1)?),
                        rows: to_u64(row.get(2)?),
                        bytes: to_u64(row.get(3)?),
                    },
                ))
            })?;
            for row in rows {
                let (segment_id, stream) = row?;
                streams.entry(segment_id).or_default().push(stream);
            }
        }
        let mut stmt = conn
            .prepare("SELECT id, group_id, path, min_ts, max_ts, rows, file_bytes, index_bytes, level FROM log_segments ORDER BY id")?;
        let rows = stmt.query_map([], |row| {
            Ok(SegmentRecord {
                id: to_u64(row.get(0)?),
                group_id: to_u64(row.get(1)?),
                path: row.get(2)?,
                min_ts: row.get(3)?,
                max_ts: row.get(4)?,
                rows: to_u64(row.get(5)?),
                file_bytes: to_u64(row.get(6)?),
                index_bytes: to_u64(row.get(7)?),
                level: u32::try_from(row.get::<_, i64>(8)?).unwrap_or(0),
                streams: Vec::new(),
            })
        })?;
        let mut segments = Vec::new();
        for row in rows {
            let mut segment = row?;
            segment.streams = streams.remove(&segment.id).unwrap_or_default();
            segments.push(segment);
        }
        Ok(segments)
    }

    fn insert_group(&self, group: &NewGroup<'_>) -> Result<u64, CatalogError> {
        let mut conn = self.conn.lock();
        let tx = conn.transaction()?;
        let inserted = tx.execute(
            "INSERT INTO log_groups (account, region, name, created_ms, retention_days, class, kms_key_id,
                                     deletion_protection)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
             ON CONFLICT (account, region, name) DO NOTHING",
            params![
                group.account,
                group.region,
                group.name,
                group.created_ms,
                group.retention_days,
                group.class,
                group.kms_key_id,
                i64::from(group.deletion_protection),
            ],
        )?;
        if inserted == 0 {
            return Err(CatalogError::AlreadyExists);
        }
        let id = tx.last_insert_rowid();
        for (key, value) in group.tags {
            tx.execute(
                "INSERT INTO log_group_tags (group_id, key, value) VALUES (?1, ?2, ?3)",
                params![id, key, value],
            )?;
        }
        tx.commit()?;
        Ok(to_u64(id))
    }

    fn delete_group(&self, group_id: u64) -> Result<Vec<String>, CatalogError> {
        let mut conn = self.conn.lock();
        let tx = conn.transaction()?;
        let paths = {
            let mut stmt = tx.prepare("SELECT path FROM log_segments WHERE group_id = ?1")?;
            let rows = stmt.query_map(params![to_i64(group_id)], |row| row.get::<_, String>(0))?;
            rows.collect::<Result<Vec<_>, _>>()?
        };
        tx.execute(
            "DELETE FROM log_segment_streams WHERE segment_id IN (SELECT id FROM log_segments WHERE group_id = ?1)",
            params![to_i64(group_id)],
        )?;
        tx.execute(
            "DELETE FROM log_segments WHERE group_id = ?1",
            params![to_i64(group_id)],
        )?;
        tx.execute(
            "DELETE FROM log_streams WHERE group_id = ?1",
            params![to_i64(group_id)],
        )?;
        tx.execute(
            "DELETE FROM log_group_tags WHERE group_id = ?1",
            params![to_i64(group_id)],
        )?;
        tx.execute(
            "DELETE FROM metric_filters WHERE group_id = ?1",
            params![to_i64(group_id)],
        )?;
        tx.execute(
            "DELETE FROM log_groups WHERE id = ?1",
            params![to_i64(group_id)],
        )?;
        tx.commit()?;
        Ok(paths)
    }

    fn set_retention(&self, group_id: u64, days: Option<i32>) -> Result<(), CatalogError> {
        let conn = self.conn.lock();
        conn.execute(
            "UPDATE log_groups SET retention_days = ?2 WHERE id = ?1",
            params![to_i64(group_id), days],
        )?;
        Ok(())
    }

    fn set_tags(&self, group_id: u64, tags: &Tags) -> Result<(), CatalogError> {
        let mut conn = self.conn.lock();
        let tx = conn.transaction()?;
        tx.execute(
            "DELETE FROM log_group_tags WHERE group_id = ?1",
            params![to_i64(group_id)],
        )?;
        for (key, value) in tags {
            tx.execute(
                "INSERT INTO log_group_tags (group_id, key, value) VALUES (?1, ?2, ?3)",
                params![to_i64(group_id), key, value],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    fn insert_stream(
        &self,
        group_id: u64,
        name: &str,
        created_ms: i64,
    ) -> Result<u64, CatalogError> {
        let conn = self.conn.lock();
        let inserted = conn.execute(
            "INSERT INTO log_streams (group_id, name, created_ms) VALUES (?1, ?2, ?3)
             ON CONFLICT (group_id, name) DO NOTHING",
            params![to_i64(group_id), name, created_ms],
        )?;
        if inserted == 0 {
            return Err(CatalogError::AlreadyExists);
        }
        Ok(to_u64(conn.last_insert_rowid()))
    }

    fn delete_stream(&self, stream_id: u64) -> Result<(), CatalogError> {
        let conn = self.conn.lock();
        conn.execute(
            "DELETE FROM log_streams WHERE id = ?1",
            params![to_i64(stream_id)],
        )?;
        Ok(())
    }

    fn commit_flush(&self, commit: &FlushCommit) -> Result<(), CatalogError> {
        let mut conn = self.conn.lock();
        let tx = conn.transaction()?;
        for segment in &commit.segments {
            insert_segment(&tx, segment)?;
        }
        for (stream_id, stats) in &commit.stream_stats {
            tx.execute(
                "UPDATE log_streams SET
                    first_event_ms = CASE WHEN first_event_ms IS NULL OR ?2 < first_event_ms THEN ?2 ELSE first_event_ms END,
                    last_event_ms = CASE WHEN last_event_ms IS NULL OR ?3 > last_event_ms THEN ?3 ELSE last_event_ms END,
                    last_ingestion_ms = CASE WHEN last_ingestion_ms IS NULL OR ?4 > last_ingestion_ms THEN ?4 ELSE last_ingestion_ms END
                 WHERE id = ?1",
                params![to_i64(*stream_id), stats.first_event_ms, stats.last_event_ms, stats.last_ingestion_ms],
            )?;
        }
        tx.execute(
            "UPDATE log_groups SET flushed_lsn = MAX(flushed_lsn, ?2) WHERE id = ?1",
            params![to_i64(commit.group_id), to_i64(commit.flushed_lsn)],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn replace_segments(
        &self,
        group_id: u64,
        removed: &[u64],
        added: &[SegmentRecord],
    ) -> Result<(), CatalogError> {
        let mut conn = self.conn.lock();
        let tx = conn.transaction()?;
        let group_exists = tx
            .prepare("SELECT 1 FROM log_groups WHERE id = ?1")?
            .exists(params![to_i64(group_id)])?;
        if !group_exists {
            return Err(CatalogError::Corrupt(format!(
                "log group {group_id} no longer exists"
            )));
        }
        for id in removed {
            tx.execute(
                "DELETE FROM log_segment_streams WHERE segment_id = ?1",
                params![to_i64(*id)],
            )?;
            tx.execute(
                "DELETE FROM log_segments WHERE id = ?1 AND group_id = ?2",
                params![to_i64(*id), to_i64(group_id)],
            )?;
        }
        for segment in added {
            insert_segment(&tx, segment)?;
        }
        tx.commit()?;
        Ok(())
    }

    fn next_segment_id(&self) -> Result<u64, CatalogError> {
        self.next_in_sequence("segment")
    }
}

fn insert_segment(
    tx: &rusqlite::Transaction<'_>,
    segment: &SegmentRecord,
) -> Result<(), CatalogError> {
    tx.execute(
        "INSERT INTO log_segments (id, group_id, path, min_ts, max_ts, rows, file_bytes, index_bytes, level)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            to_i64(segment.id),
            to_i64(segment.group_id),
            segment.path,
            segment.min_ts,
            segment.max_ts,
            to_i64(segment.rows),
            to_i64(segment.file_bytes),
            to_i64(segment.index_bytes),
            i64::from(segment.level),
        ],
    )?;
    for stream in &segment.streams {
        tx.execute(
            "INSERT INTO log_segment_streams (segment_id, stream_id, rows, bytes) VALUES (?1, ?2, ?3, ?4)",
            params![to_i64(segment.id), to_i64(stream.stream_id), to_i64(stream.rows), to_i64(stream.bytes)],
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new_group<'a>(name: &'a str, tags: &'a Tags) -> NewGroup<'a> {
        NewGroup {
            account: "000000000000",
            region: "us-east-1",
            name,
            created_ms: 1,
            retention_days: None,
            class: "STANDARD",
            kms_key_id: None,
            deletion_protection: false,
            tags,
        }
    }

    #[test]
    fn groups_streams_and_flushes_persist_across_reopen() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("catalog.sqlite");
        let tags: Tags = [("env".to_string(), "test".to_string())].into();
        let (group_id, stream_id) = {
            let catalog = SqliteCatalog::open(&path).expect("open");
            let group_id = catalog
                .insert_group(&new_group("/app/api", &tags))
                .expect("insert");
            assert!(matches!(
                catalog.insert_group(&new_group("/app/api", &tags)),
                Err(CatalogError::AlreadyExists)
            ));
            let stream_id = catalog.insert_stream(group_id, "s1", 2).expect("stream");
            catalog
                .set_retention(group_id, Some(30))
                .expect("retention");
            let segment_id = catalog.next_segment_id().expect("segment id");
            catalog
                .commit_flush(&FlushCommit {
                    group_id,
                    flushed_lsn: 42,
                    segments: vec![SegmentRecord {
                        id: segment_id,
                        group_id,
                        path: "logs/1/x.parquet".into(),
                        min_ts: 10,
                        max_ts: 20,
                        rows: 3,
                        file_bytes: 100,
                        index_bytes: 10,
                        level: 0,
                        streams: vec![SegmentStream {
                            stream_id,
                            rows: 3,
                            bytes: 100,
                        }],
                    }],
                    stream_stats: vec![(
                        stream_id,
                        StreamStats {
                            first_event_ms: Some(10),
                            last_event_ms: Some(20),
                            last_ingestion_ms: Some(30),
                        },
                    )],
                })
                .expect("flush");
            (group_id, stream_id)
        };
        let catalog = SqliteCatalog::open(&path).expect("reopen");
        let groups = catalog.load_groups().expect("groups");
        assert_eq!(groups.len(), 1);
        assert_eq!(groups[0].retention_days, Some(30));
        assert_eq!(groups[0].flushed_lsn, 42);
        assert_eq!(groups[0].tags, tags);
        let streams = catalog.load_streams().expect("streams");
        assert_eq!(streams[0].id, stream_id);
        assert_eq!(streams[0].stats.last_event_ms, Some(20));
        let segments = catalog.load_segments().expect("segments");
        assert_eq!(segments[0].streams.len(), 1);
        assert_eq!(
            catalog.delete_group(group_id).expect("delete"),
            vec!["logs/1/x.parquet".to_string()]
        );
        assert!(catalog.load_segments().expect("segments").is_empty());
        assert!(catalog.load_streams().expect("streams").is_empty());
    }

    #[test]
    fn segment_ids_are_never_reused() {
        let catalog = SqliteCatalog::open_in_memory().expect("open");
        let a = catalog.next_segment_id().expect("id");
        let b = catalog.next_segment_id().expect("id");
        assert!(b > a);
    }
}
