//! Rollup counters over SQLite: an upsert per change, all changes of one call in one transaction.

use crate::db::store_error;
use crate::records::database;
use crate::store::SqliteStore;
use async_trait::async_trait;
use dealpulse_domain::analytics::{Extreme, Rollup};
use dealpulse_domain::counters::{CounterBucket, CounterKey, CounterRepository};
use dealpulse_domain::ports::StoreError;
use rusqlite::{params, OptionalExtension};

/// Applies counter changes inside the caller's transaction (tallies kept in step with a write).
pub(crate) fn apply_counts(
    connection: &rusqlite::Connection,
    changes: &[(CounterKey, i64)],
) -> Result<(), StoreError> {
    for (key, delta) in changes {
        connection
            .execute(
                "INSERT INTO counters (bucket, name, value) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (bucket, name) DO UPDATE SET value = value + excluded.value",
                params![key.bucket.as_str(), key.name, delta],
            )
            .map_err(store_error)?;
    }
    Ok(())
}

/// Keeps extremes inside the caller's transaction.
pub(crate) fn apply_extremes(
    connection: &rusqlite::Connection,
    offers: &[(CounterKey, Extreme, i64)],
) -> Result<(), StoreError> {
    for (key, extreme, value) in offers {
        let keep = match extreme {
            Extreme::Lowest => "MIN",
            Extreme::Highest => "MAX",
        };
        connection
            .execute(
                &format!(
                    "INSERT INTO counters (bucket, name, value) VALUES (?1, ?2, ?3) \
                     ON CONFLICT (bucket, name) DO UPDATE SET value = {keep}(value, excluded.value)"
                ),
                params![key.bucket.as_str(), key.name, value],
            )
            .map_err(store_error)?;
    }
    Ok(())
}

/// Applies an event's rollup inside the caller's transaction.
pub(crate) fn apply_rollup(
    connection: &rusqlite::Connection,
    rollup: &Rollup,
) -> Result<(), StoreError> {
    apply_counts(connection, &rollup.adds)?;
    apply_extremes(connection, &rollup.extremes)
}

#[async_trait]
impl CounterRepository for SqliteStore {
    async fn keep_extremes(&self, offers: &[(CounterKey, Extreme, i64)]) -> Result<(), StoreError> {
        let offers = offers.to_vec();
        database(self)
            .write(move |connection| {
                let transaction = connection.transaction().map_err(store_error)?;
                apply_extremes(&transaction, &offers)?;
                transaction.commit().map_err(store_error)
            })
            .await
    }

    async fn add_counts(&self, changes: &[(CounterKey, i64)]) -> Result<(), StoreError> {
        let changes = changes.to_vec();
        database(self)
            .write(move |connection| {
                let transaction = connection.transaction().map_err(store_error)?;
                apply_counts(&transaction, &changes)?;
                transaction.commit().map_err(store_error)
            })
            .await
    }

    async fn counts(&self, keys: &[CounterKey]) -> Result<Vec<i64>, StoreError> {
        let keys: Vec<(String, String)> = keys
            .iter()
            .map(|key| (key.bucket.as_str().to_string(), key.name.clone()))
            .collect();
        database(self)
            .read(move |connection| {
                let mut statement = connection
                    .prepare_cached("SELECT value FROM counters WHERE bucket = ?1 AND name = ?2")
                    .map_err(store_error)?;
                keys.iter()
                    .map(|(bucket, name)| {
                        statement
                            .query_row(params![bucket, name], |row| row.get::<_, i64>(0))
                            .optional()
                            .map(|value| value.unwrap_or(0))
                            .map_err(store_error)
                    })
                    .collect()
            })
            .await
    }

    async fn counts_with_prefix(
        &self,
        bucket: &CounterBucket,
        prefix: &str,
    ) -> Result<Vec<(String, i64)>, StoreError> {
        let bucket = bucket.as_str().to_string();
        let prefix = prefix.to_string();
        database(self)
            .read(move |connection| {
                let mut statement = connection
                    .prepare_cached(
                        "SELECT name, value FROM counters WHERE bucket = ?1 AND substr(name, 1, ?2) = ?3 \
                         ORDER BY name",
                    )
                    .map_err(store_error)?;
                let rows = statement
                    .query_map(
                        params![bucket, prefix.chars().count() as i64, prefix],
                        |row| Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?)),
                    )
                    .map_err(store_error)?;
                rows.map(|row| row.map_err(store_error)).collect()
            })
            .await
    }
}
