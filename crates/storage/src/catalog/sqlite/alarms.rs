//! [`AlarmCatalog`] on the embedded SQLite catalog: alarms with their state,
//! the alarm history, and the outbox of actions still to run.

use rusqlite::{Row, Transaction, params};

use super::{SqliteCatalog, to_i64, to_u64};
use crate::catalog::{AlarmActionRecord, AlarmCatalog, AlarmHistoryQuery, AlarmHistoryRecord, AlarmRecord, AlarmStateRecord, CatalogError};

pub(super) const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS alarms (
    account TEXT NOT NULL,
    region TEXT NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    config TEXT NOT NULL,
    tags TEXT NOT NULL,
    config_updated_ms INTEGER NOT NULL,
    state_value TEXT NOT NULL,
    state_reason TEXT NOT NULL,
    state_reason_data TEXT,
    state_updated_ms INTEGER NOT NULL,
    state_transitioned_ms INTEGER NOT NULL,
    PRIMARY KEY (account, region, name)
);
CREATE TABLE IF NOT EXISTS alarm_history (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    account TEXT NOT NULL,
    region TEXT NOT NULL,
    alarm_name TEXT NOT NULL,
    alarm_kind TEXT NOT NULL,
    timestamp_ms INTEGER NOT NULL,
    item_type TEXT NOT NULL,
    summary TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS alarm_history_by_time ON alarm_history (account, region, timestamp_ms);
CREATE TABLE IF NOT EXISTS alarm_actions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account TEXT NOT NULL,
    region TEXT NOT NULL,
    alarm_name TEXT NOT NULL,
    alarm_kind TEXT NOT NULL,
    action TEXT NOT NULL,
    subject TEXT NOT NULL,
    message TEXT NOT NULL,
    due_ms INTEGER NOT NULL,
    state TEXT NOT NULL
);
"#;

fn alarm_of(row: &Row<'_>) -> rusqlite::Result<AlarmRecord> {
    Ok(AlarmRecord {
        account: row.get(0)?,
        region: row.get(1)?,
        name: row.get(2)?,
        kind: row.get(3)?,
        config: row.get(4)?,
        tags: row.get(5)?,
        config_updated_ms: row.get(6)?,
        state: AlarmStateRecord {
            value: row.get(7)?,
            reason: row.get(8)?,
            reason_data: row.get(9)?,
            updated_ms: row.get(10)?,
            transitioned_ms: row.get(11)?,
        },
    })
}

fn action_of(row: &Row<'_>) -> rusqlite::Result<AlarmActionRecord> {
    Ok(AlarmActionRecord {
        id: to_u64(row.get(0)?),
        account: row.get(1)?,
        region: row.get(2)?,
        alarm_name: row.get(3)?,
        alarm_kind: row.get(4)?,
        action: row.get(5)?,
        subject: row.get(6)?,
        message: row.get(7)?,
        due_ms: row.get(8)?,
        state: row.get(9)?,
    })
}

fn insert_history(tx: &Transaction<'_>, account: &str, region: &str, items: &[AlarmHistoryRecord]) -> Result<(), CatalogError> {
    let mut stmt = tx.prepare_cached(
        "INSERT INTO alarm_history (account, region, alarm_name, alarm_kind, timestamp_ms, item_type, summary, data)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    for item in items {
        stmt.execute(params![
            account,
            region,
            item.alarm_name,
            item.alarm_kind,
            item.timestamp_ms,
            item.item_type,
            item.summary,
            item.data
        ])?;
    }
    Ok(())
}

impl AlarmCatalog for SqliteCatalog {
    fn load_alarms(&self) -> Result<Vec<AlarmRecord>, CatalogError> {
        let conn = self.conn.lock();
        let mut stmt = conn.prepare(
            "SELECT account, region, name, kind, config, tags, config_updated_ms, state_value, state_reason,
                    state_reason_data, state_updated_ms, state_transitioned_ms
             FROM alarms ORDER BY account, region, name",
        )?;
        let rows = stmt.query_map([], alarm_of)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(CatalogError::from)
    }

    fn put_alarm(&self, alarm: &AlarmRecord, history: &[AlarmHistoryRecord]) -> Result<(), CatalogError> {
        let mut conn = self.conn.lock();
        let tx = conn.transaction()?;
        tx.execute(
            "INSERT OR REPLACE INTO alarms (account, region, name, kind, config, tags, config_updated_ms, state_value,
                 state_reason, state_reason_data, state_updated_ms, state_transitioned_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            params![
                alarm.account,
                alarm.region,
                alarm.name,
                alarm.kind,
                alarm.config,
                alarm.tags,
                alarm.config_updated_ms,
                alarm.state.value,
                alarm.state.reason,
                alarm.state.reason_data,
                alarm.state.updated_ms,
                alarm.state.transitioned_ms
            ],
        )?;
        insert_history(&tx, &alarm.account, &alarm.region, history)?;
        tx.commit()?;
        Ok(())
    }

    fn record_state(
        &self,
        account: &str,
        region: &str,
        name: &str,
        state: &AlarmStateRecord,
        history: &[AlarmHistoryRecord],
        actions: &[AlarmActionRecord],
    ) -> Result<Vec<AlarmActionRecord>, CatalogError> {
        let mut conn = self.conn.lock();
        let tx = conn.transaction()?;
        let changed = tx.execute(
            "UPDATE alarms SET state_value = ?4, state_reason = ?5, state_reason_data = ?6, state_updated_ms = ?7,
                 state_transitioned_ms = ?8
             WHERE account = ?1 AND region = ?2 AND name = ?3",
            params![account, region, name, state.value, state.reason, state.reason_data, state.updated_ms, state.transitioned_ms],
        )?;
        if changed == 0 {
            // Deleted meanwhile: nothing to record.
            return Ok(Vec::new());
        }
        insert_history(&tx, account, region, history)?;
        let mut stored = Vec::with_capacity(actions.len());
        {
            let mut stmt = tx.prepare_cached(
                "INSERT INTO alarm_actions (account, region, alarm_name, alarm_kind, action, subject, message, due_ms, state)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) RETURNING id",
            )?;
            for action in actions {
                let id: i64 = stmt.query_row(
                    params![
                        account,
                        region,
                        action.alarm_name,
                        action.alarm_kind,
                        action.action,
                        action.subject,
                        action.message,
                        action.due_ms,
                        action.state
                    ],
                    |row| row.get(0),
                )?;
                stored.push(AlarmActionRecord { id: to_u64(id), ..action.clone() });
            }
        }
        tx.commit()?;
        Ok(stored)
    }

    fn delete_alarms(&self, account: &str, region: &str, names: &[String]) -> Result<usize, CatalogError> {
        let mut conn = self.conn.lock();
        let tx = conn.transaction()?;
        let mut deleted = 0;
        for name in names {
            deleted += tx.execute("DELETE FROM alarms WHERE account = ?1 AND region = ?2 AND name = ?3", params![account, region, name])?;
            tx.execute(
                "DELETE FROM alarm_actions WHERE account = ?1 AND region = ?2 AND alarm_name = ?3",
                params![account, region, name],
            )?;
        }
        tx.commit()?;
        Ok(deleted)
    }

    fn pending_alarm_actions(&self) -> Result<Vec<AlarmActionRecord>, CatalogError> {
        let conn = self.conn.lock();
        let mut stmt = conn.prepare(
            "SELECT id, account, region, alarm_name, alarm_kind, action, subject, message, due_ms, state
             FROM alarm_actions ORDER BY id",
        )?;
        let rows = stmt.query_map([], action_of)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(CatalogError::from)
    }

    fn finish_alarm_action(&self, id: u64, account: &str, region: &str, outcome: &AlarmHistoryRecord) -> Result<(), CatalogError> {
        let mut conn = self.conn.lock();
        let tx = conn.transaction()?;
        tx.execute("DELETE FROM alarm_actions WHERE id = ?1", params![to_i64(id)])?;
        insert_history(&tx, account, region, std::slice::from_ref(outcome))?;
        tx.commit()?;
        Ok(())
    }

    fn alarm_history(&self, account: &str, region: &str, query: &AlarmHistoryQuery<'_>) -> Result<Vec<AlarmHistoryRecord>, CatalogError> {
        let conn = self.conn.lock();
        let order = if query.newest_first { "DESC" } else { "ASC" };
        let sql = format!(
            "SELECT alarm_name, alarm_kind, timestamp_ms, item_type, summary, data FROM alarm_history
             WHERE account = ?1 AND region = ?2
               AND (?3 IS NULL OR alarm_name = ?3)
               AND (?4 IS NULL OR item_type = ?4)
               AND timestamp_ms >= ?5 AND timestamp_ms < ?6
             ORDER BY timestamp_ms {order}, seq {order}"
        );
        let mut stmt = conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(
            params![
                account,
                region,
                query.alarm_name,
                query.item_type,
                query.start_ms.unwrap_or(i64::MIN),
                query.end_ms.unwrap_or(i64::MAX)
            ],
            |row| {
                Ok(AlarmHistoryRecord {
                    alarm_name: row.get(0)?,
                    alarm_kind: row.get(1)?,
                    timestamp_ms: row.get(2)?,
                    item_type: row.get(3)?,
                    summary: row.get(4)?,
                    data: row.get(5)?,
                })
            },
        )?;
        let mut items = rows.collect::<Result<Vec<_>, _>>()?;
        if !query.kinds.is_empty() {
            items.retain(|item| query.kinds.contains(&item.alarm_kind));
        }
        Ok(items)
    }

    fn prune_alarm_history(&self, before_ms: i64) -> Result<usize, CatalogError> {
        let conn = self.conn.lock();
        Ok(conn.execute("DELETE FROM alarm_history WHERE timestamp_ms < ?1", params![before_ms])?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alarm(name: &str, state: &str) -> AlarmRecord {
        AlarmRecord {
            account: "000000000000".into(),
            region: "us-east-1".into(),
            name: name.into(),
            kind: "MetricAlarm".into(),
            config: "{}".into(),
            tags: "[]".into(),
            config_updated_ms: 1,
            state: AlarmStateRecord {
                value: state.into(),
                reason: "Unchecked: Initial alarm creation".into(),
                reason_data: None,
                updated_ms: 1,
                transitioned_ms: 1,
            },
        }
    }

    fn item(name: &str, at: i64, item_type: &str) -> AlarmHistoryRecord {
        AlarmHistoryRecord {
            alarm_name: name.into(),
            alarm_kind: "MetricAlarm".into(),
            timestamp_ms: at,
            item_type: item_type.into(),
            summary: format!("{item_type} at {at}"),
            data: "{}".into(),
        }
    }

    #[test]
    fn a_state_change_its_history_and_its_actions_commit_together() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("catalog.sqlite");
        {
            let catalog = SqliteCatalog::open(&path).expect("open");
            catalog.put_alarm(&alarm("cpu", "INSUFFICIENT_DATA"), &[item("cpu", 1, "ConfigurationUpdate")]).expect("put");
            let state = AlarmStateRecord {
                value: "ALARM".into(),
                reason: "Threshold Crossed".into(),
                reason_data: Some("{}".into()),
                updated_ms: 5,
                transitioned_ms: 5,
            };
            let action = AlarmActionRecord {
                id: 0,
                account: "000000000000".into(),
                region: "us-east-1".into(),
                alarm_name: "cpu".into(),
                alarm_kind: "MetricAlarm".into(),
                action: "arn:aws:sns:us-east-1:000000000000:alerts".into(),
                subject: "ALARM".into(),
                message: "{}".into(),
                due_ms: 5,
                state: "ALARM".into(),
            };
            let stored = catalog
                .record_state("000000000000", "us-east-1", "cpu", &state, &[item("cpu", 5, "StateUpdate")], &[action])
                .expect("record");
            assert_eq!(stored.len(), 1);
            assert!(stored.first().is_some_and(|action| action.id > 0));
        }
        let catalog = SqliteCatalog::open(&path).expect("reopen");
        let alarms = catalog.load_alarms().expect("load");
        assert_eq!(alarms.first().map(|alarm| alarm.state.value.as_str()), Some("ALARM"));
        let pending = catalog.pending_alarm_actions().expect("pending");
        assert_eq!(pending.len(), 1);
        let action = pending.first().expect("one action");
        catalog.finish_alarm_action(action.id, "000000000000", "us-east-1", &item("cpu", 6, "Action")).expect("finish");
        assert!(catalog.pending_alarm_actions().expect("pending").is_empty());
        let query = AlarmHistoryQuery { alarm_name: Some("cpu"), newest_first: true, ..Default::default() };
        let history = catalog.alarm_history("000000000000", "us-east-1", &query).expect("history");
        let types: Vec<&str> = history.iter().map(|item| item.item_type.as_str()).collect();
        assert_eq!(types, ["Action", "StateUpdate", "ConfigurationUpdate"]);
        assert_eq!(catalog.prune_alarm_history(5).expect("prune"), 1);
        assert_eq!(catalog.delete_alarms("000000000000", "us-east-1", &["cpu".into(), "nope".into()]).expect("delete"), 1);
    }

    #[test]
    fn a_state_change_of_a_deleted_alarm_records_nothing() {
        let catalog = SqliteCatalog::open_in_memory().expect("open");
        let state = alarm("gone", "OK").state;
        let stored = catalog.record_state("000000000000", "us-east-1", "gone", &state, &[item("gone", 1, "StateUpdate")], &[]).expect("record");
        assert!(stored.is_empty());
        let history = catalog.alarm_history("000000000000", "us-east-1", &AlarmHistoryQuery::default()).expect("history");
        assert!(history.is_empty());
    }
}
