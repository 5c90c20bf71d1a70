//! [`QueryDefinitionCatalog`] on the embedded SQLite catalog.

use rusqlite::{OptionalExtension, Row, params};

use super::SqliteCatalog;
use crate::catalog::{CatalogError, QueryDefinitionCatalog, QueryDefinitionRecord};

pub(super) const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS query_definitions (
    account TEXT NOT NULL,
    region TEXT NOT NULL,
    id TEXT NOT NULL,
    name TEXT NOT NULL,
    query_string TEXT NOT NULL,
    query_language TEXT NOT NULL,
    log_group_names TEXT NOT NULL,
    parameters TEXT NOT NULL,
    last_modified_ms INTEGER NOT NULL,
    PRIMARY KEY (account, region, id)
);
"#;

const COLUMNS: &str = "account, region, id, name, query_string, query_language, log_group_names, parameters, last_modified_ms";

fn record(row: &Row<'_>) -> rusqlite::Result<QueryDefinitionRecord> {
    Ok(QueryDefinitionRecord {
        account: row.get(0)?,
        region: row.get(1)?,
        id: row.get(2)?,
        name: row.get(3)?,
        query_string: row.get(4)?,
        query_language: row.get(5)?,
        log_group_names: row.get(6)?,
        parameters: row.get(7)?,
        last_modified_ms: row.get(8)?,
    })
}

impl QueryDefinitionCatalog for SqliteCatalog {
    fn put_query_definition(&self, definition: &QueryDefinitionRecord) -> Result<(), CatalogError> {
        let conn = self.conn.lock();
        conn.execute(
            &format!(
                "INSERT INTO query_definitions ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                 ON CONFLICT (account, region, id) DO UPDATE SET name = excluded.name,
                     query_string = excluded.query_string, query_language = excluded.query_language,
                     log_group_names = excluded.log_group_names, parameters = excluded.parameters,
                     last_modified_ms = excluded.last_modified_ms"
            ),
            params![
                definition.account,
                definition.region,
                definition.id,
                definition.name,
                definition.query_string,
                definition.query_language,
                definition.log_group_names,
                definition.parameters,
                definition.last_modified_ms
            ],
        )?;
        Ok(())
    }

    fn query_definition(&self, account: &str, region: &str, id: &str) -> Result<Option<QueryDefinitionRecord>, CatalogError> {
        let conn = self.conn.lock();
        let found = conn
            .query_row(
                &format!("SELECT {COLUMNS} FROM query_definitions WHERE account = ?1 AND region = ?2 AND id = ?3"),
                params![account, region, id],
                record,
            )
            .optional()?;
        Ok(found)
    }

    fn query_definitions(&self, account: &str, region: &str) -> Result<Vec<QueryDefinitionRecord>, CatalogError> {
        let conn = self.conn.lock();
        let mut stmt = conn.prepare(&format!(
            "SELECT {COLUMNS} FROM query_definitions WHERE account = ?1 AND region = ?2 ORDER BY name, id"
        ))?;
        let rows = stmt.query_map(params![account, region], record)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(CatalogError::from)
    }

    fn delete_query_definition(&self, account: &str, region: &str, id: &str) -> Result<bool, CatalogError> {
        let conn = self.conn.lock();
        let deleted = conn.execute(
            "DELETE FROM query_definitions WHERE account = ?1 AND region = ?2 AND id = ?3",
            params![account, region, id],
        )?;
        Ok(deleted > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn definition(id: &str, name: &str, region: &str) -> QueryDefinitionRecord {
        QueryDefinitionRecord {
            account: "000000000000".into(),
            region: region.into(),
            id: id.into(),
            name: name.into(),
            query_string: "fields @message".into(),
            query_language: "CWLI".into(),
            log_group_names: "[]".into(),
            parameters: "[]".into(),
            last_modified_ms: 5,
        }
    }

    #[test]
    fn definitions_are_put_replaced_listed_by_name_and_deleted_per_scope() {
        let catalog = SqliteCatalog::open_in_memory().expect("catalog");
        catalog.put_query_definition(&definition("b", "zeta", "us-east-1")).expect("put");
        catalog.put_query_definition(&definition("a", "alpha", "us-east-1")).expect("put");
        catalog.put_query_definition(&definition("c", "alpha", "eu-west-1")).expect("put");
        let mut renamed = definition("b", "beta", "us-east-1");
        renamed.query_string = "stats count(*)".into();
        catalog.put_query_definition(&renamed).expect("replace");
        let listed = catalog.query_definitions("000000000000", "us-east-1").expect("list");
        let names: Vec<&str> = listed.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names, ["alpha", "beta"]);
        assert_eq!(catalog.query_definition("000000000000", "us-east-1", "b").expect("get"), Some(renamed));
        assert_eq!(catalog.query_definition("000000000000", "eu-west-1", "b").expect("get"), None);
        assert!(catalog.delete_query_definition("000000000000", "us-east-1", "a").expect("delete"));
        assert!(!catalog.delete_query_definition("000000000000", "us-east-1", "a").expect("delete again"));
        assert_eq!(catalog.query_definitions("000000000000", "eu-west-1").expect("list").len(), 1);
    }
}
