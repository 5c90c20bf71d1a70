//! [`SnsCatalog`] on the embedded SQLite catalog: topics, subscriptions,
//! and the outbox of deliveries still to make.
//!
//! A delivery row lives from the Publish that queued it until it is
//! delivered (deleted) or given up on (kept as `failed` until pruned).

use rusqlite::{OptionalExtension, Row, Transaction, params};

use super::{SqliteCatalog, to_i64, to_u64};
use crate::catalog::{
    CatalogError, DeliveryOutcome, DeliveryRecord, SnsCatalog, SubscriptionRecord, TopicRecord,
};

pub(super) const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS sns_topics (
    arn TEXT PRIMARY KEY,
    account TEXT NOT NULL,
    region TEXT NOT NULL,
    name TEXT NOT NULL,
    attributes TEXT NOT NULL,
    tags TEXT NOT NULL,
    created_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS sns_subscriptions (
    arn TEXT PRIMARY KEY,
    topic_arn TEXT NOT NULL,
    account TEXT NOT NULL,
    region TEXT NOT NULL,
    protocol TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    attributes TEXT NOT NULL,
    confirmed INTEGER NOT NULL,
    token TEXT NOT NULL,
    created_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS sns_subscriptions_by_topic ON sns_subscriptions (topic_arn);
CREATE TABLE IF NOT EXISTS sns_deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    subscription_arn TEXT NOT NULL,
    message_id TEXT NOT NULL,
    payload TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    due_ms INTEGER NOT NULL,
    status TEXT NOT NULL,
    last_error TEXT,
    updated_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS sns_deliveries_due ON sns_deliveries (status, due_ms);
CREATE TABLE IF NOT EXISTS sns_published (
    dedup_key TEXT PRIMARY KEY,
    message_id TEXT NOT NULL,
    created_ms INTEGER NOT NULL
);
"#;

fn topic_of(row: &Row<'_>) -> rusqlite::Result<TopicRecord> {
    Ok(TopicRecord {
        arn: row.get(0)?,
        account: row.get(1)?,
        region: row.get(2)?,
        name: row.get(3)?,
        attributes: row.get(4)?,
        tags: row.get(5)?,
        created_ms: row.get(6)?,
    })
}

fn subscription_of(row: &Row<'_>) -> rusqlite::Result<SubscriptionRecord> {
    Ok(SubscriptionRecord {
        arn: row.get(0)?,
        topic_arn: row.get(1)?,
        account: row.get(2)?,
        region: row.get(3)?,
        protocol: row.get(4)?,
        endpoint: row.get(5)?,
        attributes: row.get(6)?,
        confirmed: row.get::<_, i64>(7)? != 0,
        token: row.get(8)?,
        created_ms: row.get(9)?,
    })
}

fn delivery_of(row: &Row<'_>) -> rusqlite::Result<DeliveryRecord> {
    Ok(DeliveryRecord {
        id: to_u64(row.get(0)?),
        subscription_arn: row.get(1)?,
        message_id: row.get(2)?,
        payload: row.get(3)?,
        attempts: u32::try_from(row.get::<_, i64>(4)?).unwrap_or(0),
        due_ms: row.get(5)?,
    })
}

fn queue(
    tx: &Transaction<'_>,
    deliveries: &[DeliveryRecord],
    now_ms: i64,
) -> Result<(), CatalogError> {
    let mut stmt = tx.prepare_cached(
        "INSERT INTO sns_deliveries (subscription_arn, message_id, payload, attempts, due_ms, status, updated_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, 'pending', ?6)",
    )?;
    for delivery in deliveries {
        stmt.execute(params![
            delivery.subscription_arn,
            delivery.message_id,
            delivery.payload,
            i64::from(delivery.attempts),
            delivery.due_ms,
            now_ms
        ])?;
    }
    Ok(())
}

impl SnsCatalog for SqliteCatalog {
    fn load_topics(&self) -> Result<Vec<TopicRecord>, CatalogError> {
        let conn = self.conn.lock();
        let mut stmt =
            conn.prepare("SELECT arn, account, region, name, attributes, tags, created_ms FROM sns_topics ORDER BY arn")?;
        let rows = stmt.query_map([], topic_of)?;
        rows.collect::<Result<Vec<_>, _>>()
            .map_err(CatalogError::from)
    }

    fn put_topic(&self, topic: &TopicRecord) -> Result<(), CatalogError> {
        let conn = self.conn.lock();
        conn.execute(
            "INSERT INTO sns_topics (arn, account, region, name, attributes, tags, created_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT (arn) DO UPDATE SET attributes = excluded.attributes, tags = excluded.tags",
            params![topic.arn, topic.account, topic.region, topic.name, topic.attributes, topic.tags, topic.created_ms],
        )?;
        Ok(())
    }

    fn delete_topic(&self, arn: &str) -> Result<(), CatalogError> {
        let mut conn = self.conn.lock();
        let tx = conn.transaction()?;
        tx.execute(
            "DELETE FROM sns_deliveries WHERE status = 'pending'
               AND subscription_arn IN (SELECT arn FROM sns_subscriptions WHERE topic_arn = ?1)",
            params![arn],
        )?;
        tx.execute(
            "DELETE FROM sns_subscriptions WHERE topic_arn = ?1",
            params![arn],
        )?;
        tx.execute("DELETE FROM sns_topics WHERE arn = ?1", params![arn])?;
        tx.commit()?;
        Ok(())
    }

    fn load_subscriptions(&self) -> Result<Vec<SubscriptionRecord>, CatalogError> {
        let conn = self.conn.lock();
        let mut stmt = conn.prepare(
            "SELECT arn, topic_arn, account, region, protocol, endpoint, attributes, confirmed, token, created_ms
             FROM sns_subscriptions ORDER BY created_ms, arn",
        )?;
        let rows = stmt.query_map([], subscription_of)?;
        rows.collect::<Result<Vec<_>, _>>()
            .map_err(CatalogError::from)
    }

    fn put_subscription(
        &self,
        subscription: &SubscriptionRecord,
        deliveries: &[DeliveryRecord],
    ) -> Result<(), CatalogError> {
        let mut conn = self.conn.lock();
        let tx = conn.transaction()?;
        tx.execute(
            "INSERT INTO sns_subscriptions (arn, topic_arn, account, region, protocol, endpoint, attributes, confirmed, token, created_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
             ON CONFLICT (arn) DO UPDATE SET attributes = excluded.attributes, confirmed = excluded.confirmed,
                                            token = excluded.token",
            params![
                subscription.arn,
                subscription.topic_arn,
                subscription.account,
                subscription.region,
                subscription.protocol,
                subscription.endpoint,
                subscription.attributes,
                i64::from(subscription.confirmed),
                subscription.token,
                subscription.created_ms
            ],
        )?;
        queue(&tx, deliveries, subscription.created_ms)?;
        tx.commit()?;
        Ok(())
    }

    fn delete_subscription(&self, arn: &str) -> Result<(), CatalogError> {
        let mut conn = self.conn.lock();
        let tx = conn.transaction()?;
        tx.execute(
            "DELETE FROM sns_deliveries WHERE status = 'pending' AND subscription_arn = ?1",
            params![arn],
        )?;
        tx.execute("DELETE FROM sns_subscriptions WHERE arn = ?1", params![arn])?;
        tx.commit()?;
        Ok(())
    }

    fn accept_message(
        &self,
        dedup_key: Option<&str>,
        message_id: &str,
        created_ms: i64,
        deliveries: &[DeliveryRecord],
    ) -> Result<String, CatalogError> {
        let mut conn = self.conn.lock();
        let tx = conn.transaction()?;
        if let Some(key) = dedup_key {
            let seen: Option<String> = tx
                .query_row(
                    "SELECT message_id FROM sns_published WHERE dedup_key = ?1",
                    params![key],
                    |row| row.get(0),
                )
                .optional()?;
            if let Some(first) = seen {
                return Ok(first);
            }
            tx.execute(
                "INSERT INTO sns_published (dedup_key, message_id, created_ms) VALUES (?1, ?2, ?3)",
                params![key, message_id, created_ms],
            )?;
        }
        queue(&tx, deliveries, created_ms)?;
        tx.commit()?;
        Ok(message_id.to_string())
    }

    fn due_deliveries(
        &self,
        now_ms: i64,
        limit: usize,
    ) -> Result<Vec<DeliveryRecord>, CatalogError> {
        let conn = self.conn.lock();
        let mut stmt = conn.prepare_cached(
            "SELECT id, subscription_arn, message_id, payload, attempts, due_ms FROM sns_deliveries
             WHERE status = 'pending' AND due_ms <= ?1 ORDER BY due_ms, id LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![now_ms, to_i64(limit as u64)], delivery_of)?;
        rows.collect::<Result<Vec<_>, _>>()
            .map_err(CatalogError::from)
    }

    fn next_delivery_due(&self) -> Result<Option<i64>, CatalogError> {
        let conn = self.conn.lock();
        let due = conn.query_row(
            "SELECT MIN(due_ms) FROM sns_deliveries WHERE status = 'pending'",
            [],
            |row| row.get(0),
        )?;
        Ok(due)
    }

    fn finish_deliveries(
        &self,
        outcomes: &[(u64, DeliveryOutcome)],
        now_ms: i64,
    ) -> Result<(), CatalogError> {
        let mut conn = self.conn.lock();
        let tx = conn.transaction()?;
        {
            let mut delete = tx.prepare_cached("DELETE FROM sns_deliveries WHERE id = ?1")?;
            let mut retry = tx.prepare_cached(
                "UPDATE sns_deliveries SET attempts = attempts + 1, due_ms = ?2, last_error = ?3, updated_ms = ?4 WHERE id = ?1",
            )?;
            let mut fail = tx.prepare_cached(
                "UPDATE sns_deliveries SET attempts = attempts + 1, status = 'failed', last_error = ?2, updated_ms = ?3
                 WHERE id = ?1",
            )?;
            for (id, outcome) in outcomes {
                let id = to_i64(*id);
                match outcome {
                    DeliveryOutcome::Delivered => delete.execute(params![id])?,
                    DeliveryOutcome::Retry { due_ms, error } => {
                        retry.execute(params![id, due_ms, error, now_ms])?
                    }
                    DeliveryOutcome::Failed { error } => {
                        fail.execute(params![id, error, now_ms])?
                    }
                };
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn prune_deliveries(&self, before_ms: i64) -> Result<usize, CatalogError> {
        let mut conn = self.conn.lock();
        let tx = conn.transaction()?;
        let mut pruned = tx.execute(
            "DELETE FROM sns_deliveries WHERE status = 'failed' AND updated_ms < ?1",
            params![before_ms],
        )?;
        pruned += tx.execute(
            "DELETE FROM sns_published WHERE created_ms < ?1",
            params![before_ms],
        )?;
        tx.commit()?;
        Ok(pruned)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn delivery(subscription: &str, due_ms: i64) -> DeliveryRecord {
        DeliveryRecord {
            id: 0,
            subscription_arn: subscription.into(),
            message_id: "m-1".into(),
            payload: "{}".into(),
            attempts: 0,
            due_ms,
        }
    }

    #[test]
    fn a_deduplicated_publish_queues_nothing_and_answers_the_first_message_id() {
        let catalog = SqliteCatalog::open_in_memory().unwrap();
        let first = catalog
            .accept_message(Some("alarm-action-7"), "m-1", 10, &[delivery("s", 10)])
            .unwrap();
        let again = catalog
            .accept_message(Some("alarm-action-7"), "m-2", 11, &[delivery("s", 11)])
            .unwrap();
        assert_eq!((first.as_str(), again.as_str()), ("m-1", "m-1"));
        assert_eq!(catalog.due_deliveries(100, 10).unwrap().len(), 1);
    }

    #[test]
    fn retries_wait_for_their_due_time_and_failures_leave_the_queue() {
        let catalog = SqliteCatalog::open_in_memory().unwrap();
        catalog
            .accept_message(None, "m-1", 10, &[delivery("a", 10), delivery("b", 10)])
            .unwrap();
        let due = catalog.due_deliveries(10, 10).unwrap();
        assert_eq!(due.len(), 2);
        catalog
            .finish_deliveries(
                &[
                    (
                        due[0].id,
                        DeliveryOutcome::Retry {
                            due_ms: 500,
                            error: "503".into(),
                        },
                    ),
                    (
                        due[1].id,
                        DeliveryOutcome::Failed {
                            error: "gone".into(),
                        },
                    ),
                ],
                10,
            )
            .unwrap();
        assert!(catalog.due_deliveries(499, 10).unwrap().is_empty());
        let retried = catalog.due_deliveries(500, 10).unwrap();
        assert_eq!((retried.len(), retried[0].attempts), (1, 1));
        assert_eq!(catalog.next_delivery_due().unwrap(), Some(500));
        catalog
            .finish_deliveries(&[(retried[0].id, DeliveryOutcome::Delivered)], 500)
            .unwrap();
        assert_eq!(catalog.next_delivery_due().unwrap(), None);
        assert_eq!(catalog.prune_deliveries(1_000).unwrap(), 1);
    }
}
