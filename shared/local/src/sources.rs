//! Check schedules over SQLite: the due time is an indexed column next to the JSON body, and a
//! claim is one UPDATE … RETURNING on the single writer connection, so two scrapers in one
//! process (or two processes on one file) never claim the same row.

use crate::db::store_error;
use crate::records::{database, decode, encode, nanos};
use crate::store::SqliteStore;
use async_trait::async_trait;
use dealpulse_domain::ids::{ProductId, SourceId};
use dealpulse_domain::listing::TrackedProduct;
use dealpulse_domain::ports::{SourceRepository, StoreError};
use dealpulse_domain::sources::{CheckResult, FeedSource, HostHealth};
use jiff::Timestamp;
use rusqlite::{params, OptionalExtension};

/// Due-time column value of a feed: disabled feeds are never due.
fn feed_due(feed: &FeedSource) -> i64 {
    if feed.enabled {
        feed.check.next_check_at.map_or(0, nanos)
    } else {
        i64::MAX
    }
}

/// Claims up to `limit` due rows of `table` (`products` or `feeds`), rewriting each body's due
/// time to the lease, and returns the rewritten bodies, earliest due first.
fn claim(
    connection: &mut rusqlite::Connection,
    table: &'static str,
    now: Timestamp,
    lease_until: Timestamp,
    limit: u32,
) -> Result<Vec<String>, StoreError> {
    let transaction = connection.transaction().map_err(store_error)?;
    let due: Vec<(String, String)> = {
        let mut statement = transaction
            .prepare(&format!(
                "SELECT id, body FROM {table} WHERE next_check_ns <= ?1 ORDER BY next_check_ns, id LIMIT ?2"
            ))
            .map_err(store_error)?;
        let rows = statement
            .query_map(params![nanos(now), limit], |row| {
                Ok((row.get(0)?, row.get(1)?))
            })
            .map_err(store_error)?;
        rows.collect::<Result<_, _>>().map_err(store_error)?
    };
    let mut claimed = Vec::with_capacity(due.len());
    for (id, body) in due {
        let mut value: serde_json::Value = decode(table, &body)?;
        if let Some(check) = value.get_mut("check").and_then(|c| c.as_object_mut()) {
            check.insert("next_check_at".into(), lease_until.to_string().into());
        } else if let Some(object) = value.as_object_mut() {
            object.insert(
                "check".into(),
                serde_json::json!({ "next_check_at": lease_until.to_string() }),
            );
        }
        let body = encode(&value)?;
        transaction
            .execute(
                &format!("UPDATE {table} SET next_check_ns = ?1, body = ?2 WHERE id = ?3"),
                params![nanos(lease_until), body, id],
            )
            .map_err(store_error)?;
        claimed.push(body);
    }
    transaction.commit().map_err(store_error)?;
    Ok(claimed)
}

#[async_trait]
impl SourceRepository for SqliteStore {
    async fn save_product(&self, product: &TrackedProduct) -> Result<(), StoreError> {
        let (id, body) = (product.id.to_string(), encode(product)?);
        let due = product.check.next_check_at.map_or(0, nanos);
        database(self)
            .write(move |connection| {
                let changed = connection
                    .execute(
                        "UPDATE products SET body = ?1, next_check_ns = ?2 WHERE id = ?3",
                        params![body, due, id],
                    )
                    .map_err(store_error)?;
                if changed == 0 {
                    return Err(StoreError::NotFound);
                }
                Ok(())
            })
            .await
    }

    async fn products_of_host(
        &self,
        host: &str,
        after: Option<ProductId>,
        limit: u32,
    ) -> Result<Vec<TrackedProduct>, StoreError> {
        let host = host.to_string();
        let after = after.map(|id| id.to_string()).unwrap_or_default();
        let bodies: Vec<String> = database(self)
            .read(move |connection| {
                let mut statement = connection
                    .prepare_cached(
                        "SELECT body FROM products WHERE host = ?1 AND id > ?2 ORDER BY id LIMIT ?3",
                    )
                    .map_err(store_error)?;
                let rows = statement
                    .query_map(params![host, after, limit], |row| row.get::<_, String>(0))
                    .map_err(store_error)?;
                rows.collect::<Result<Vec<_>, _>>().map_err(store_error)
            })
            .await?;
        bodies.iter().map(|b| decode("product", b)).collect()
    }

    async fn claim_due_products(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<TrackedProduct>, StoreError> {
        let bodies = database(self)
            .write(move |connection| claim(connection, "products", now, lease_until, limit))
            .await?;
        bodies.iter().map(|b| decode("product", b)).collect()
    }

    async fn insert_feed(&self, feed: &FeedSource) -> Result<(), StoreError> {
        let (id, name, body) = (feed.id.to_string(), feed.name.to_string(), encode(feed)?);
        let due = feed_due(feed);
        database(self)
            .write(move |connection| {
                connection
                    .execute(
                        "INSERT INTO feeds (id, name, next_check_ns, body) VALUES (?1, ?2, ?3, ?4)",
                        params![id, name, due, body],
                    )
                    .map_err(|error| match store_error(error) {
                        StoreError::Conflict(_) => {
                            StoreError::Conflict("a feed with this name already exists")
                        }
                        other => other,
                    })?;
                Ok(())
            })
            .await
    }

    async fn feed_by_id(&self, id: SourceId) -> Result<Option<FeedSource>, StoreError> {
        database(self)
            .read(move |connection| {
                connection
                    .query_row(
                        "SELECT body FROM feeds WHERE id = ?1",
                        params![id.to_string()],
                        |row| row.get::<_, String>(0),
                    )
                    .optional()
                    .map_err(store_error)?
                    .map(|body| decode("feed", &body))
                    .transpose()
            })
            .await
    }

    async fn feeds(&self) -> Result<Vec<FeedSource>, StoreError> {
        database(self)
            .read(move |connection| {
                let mut statement = connection
                    .prepare("SELECT body FROM feeds ORDER BY name")
                    .map_err(store_error)?;
                let rows = statement
                    .query_map([], |row| row.get::<_, String>(0))
                    .map_err(store_error)?;
                rows.map(|row| decode("feed", &row.map_err(store_error)?))
                    .collect()
            })
            .await
    }

    async fn save_feed(&self, feed: &FeedSource) -> Result<(), StoreError> {
        let (id, name, body) = (feed.id.to_string(), feed.name.to_string(), encode(feed)?);
        let due = feed_due(feed);
        database(self)
            .write(move |connection| {
                let changed = connection
                    .execute(
                        "UPDATE feeds SET body = ?1, next_check_ns = ?2 WHERE id = ?3 AND name = ?4",
                        params![body, due, id, name],
                    )
                    .map_err(store_error)?;
                if changed == 0 {
                    return Err(StoreError::NotFound);
                }
                Ok(())
            })
            .await
    }

    async fn delete_feed(&self, id: SourceId) -> Result<(), StoreError> {
        database(self)
            .write(move |connection| {
                let changed = connection
                    .execute("DELETE FROM feeds WHERE id = ?1", params![id.to_string()])
                    .map_err(store_error)?;
                if changed == 0 {
                    return Err(StoreError::NotFound);
                }
                Ok(())
            })
            .await
    }

    async fn claim_due_feeds(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<FeedSource>, StoreError> {
        let bodies = database(self)
            .write(move |connection| claim(connection, "feeds", now, lease_until, limit))
            .await?;
        bodies.iter().map(|b| decode("feed", b)).collect()
    }

    async fn record_check(
        &self,
        host: &str,
        result: CheckResult,
        reason: Option<&str>,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        let (host, reason) = (host.to_string(), reason.map(str::to_string));
        database(self)
            .write(move |connection| {
                let transaction = connection.transaction().map_err(store_error)?;
                let stored: Option<String> = transaction
                    .query_row(
                        "SELECT body FROM host_health WHERE host = ?1",
                        params![host],
                        |row| row.get(0),
                    )
                    .optional()
                    .map_err(store_error)?;
                let mut health = match stored {
                    Some(body) => decode::<HostHealth>("host health", &body)?,
                    None => HostHealth {
                        host: host.clone(),
                        ..HostHealth::default()
                    },
                };
                health.count(result, reason.as_deref(), at);
                transaction
                    .execute(
                        "INSERT INTO host_health (host, body) VALUES (?1, ?2) \
                         ON CONFLICT (host) DO UPDATE SET body = excluded.body",
                        params![host, encode(&health)?],
                    )
                    .map_err(store_error)?;
                transaction.commit().map_err(store_error)
            })
            .await
    }

    async fn host_health(&self) -> Result<Vec<HostHealth>, StoreError> {
        database(self)
            .read(move |connection| {
                let mut statement = connection
                    .prepare("SELECT body FROM host_health ORDER BY host")
                    .map_err(store_error)?;
                let rows = statement
                    .query_map([], |row| row.get::<_, String>(0))
                    .map_err(store_error)?;
                rows.map(|row| decode("host health", &row.map_err(store_error)?))
                    .collect()
            })
            .await
    }
}
