//! Owned documents and the shared catalogue over SQLite. Bodies are JSON text; the writer
//! connection serialises writes, so a count-then-insert inside one transaction is atomic.

use crate::counters::apply_counts;
use crate::db::{store_error, Database};
use crate::store::SqliteStore;
use async_trait::async_trait;
use dealpulse_domain::counters::documents_of_kind;
use dealpulse_domain::ids::{ListingId, ProductId, UserId};
use dealpulse_domain::listing::{Listing, PricePoint, TrackedProduct};
use dealpulse_domain::ports::{CatalogRepository, StoreError};
use dealpulse_domain::records::{Document, DocumentRepository};
use jiff::Timestamp;
use rusqlite::{params, OptionalExtension};
use serde::de::DeserializeOwned;
use serde::Serialize;

pub(crate) fn encode<T: Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(format!("encoding: {e}")))
}

pub(crate) fn decode<T: DeserializeOwned>(what: &str, text: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

pub(crate) fn nanos(at: Timestamp) -> i64 {
    // i64 nanoseconds cover the years 1678–2262; times beyond clamp to the ends.
    let nanos = at.as_nanosecond();
    i64::try_from(nanos).unwrap_or(if nanos < 0 { i64::MIN } else { i64::MAX })
}

fn document_row(
    kind: &'static str,
    owner: UserId,
    key: String,
    version: i64,
    body: &str,
) -> Result<Document, StoreError> {
    Ok(Document {
        kind,
        owner,
        key,
        version: version as u64,
        body: decode(kind, body)?,
    })
}

pub(crate) fn database(store: &SqliteStore) -> &Database {
    store.database()
}

#[async_trait]
impl DocumentRepository for SqliteStore {
    async fn insert_document(
        &self,
        document: &Document,
        limit: Option<u32>,
    ) -> Result<(), StoreError> {
        let (kind, owner, key) = (
            document.kind,
            document.owner.to_string(),
            document.key.clone(),
        );
        let body = encode(&document.body)?;
        database(self)
            .write(move |connection| {
                let transaction = connection.transaction().map_err(store_error)?;
                if let Some(limit) = limit {
                    let count: i64 = transaction
                        .query_row(
                            "SELECT COUNT(*) FROM documents WHERE kind = ?1 AND owner = ?2",
                            params![kind, owner],
                            |row| row.get(0),
                        )
                        .map_err(store_error)?;
                    if count >= i64::from(limit) {
                        return Err(StoreError::LimitReached(limit));
                    }
                }
                transaction
                    .execute(
                        "INSERT INTO documents (kind, owner, key, version, body) VALUES (?1, ?2, ?3, 1, ?4)",
                        params![kind, owner, key, body],
                    )
                    .map_err(|error| match store_error(error) {
                        StoreError::Conflict(_) => StoreError::Conflict("record"),
                        other => other,
                    })?;
                apply_counts(&transaction, &[(documents_of_kind(kind), 1)])?;
                transaction.commit().map_err(store_error)
            })
            .await
    }

    async fn document(
        &self,
        kind: &'static str,
        owner: UserId,
        key: &str,
    ) -> Result<Option<Document>, StoreError> {
        let key = key.to_string();
        database(self)
            .read(move |connection| {
                let row = connection
                    .query_row(
                        "SELECT version, body FROM documents WHERE kind = ?1 AND owner = ?2 AND key = ?3",
                        params![kind, owner.to_string(), key],
                        |row| Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?)),
                    )
                    .optional()
                    .map_err(store_error)?;
                row.map(|(version, body)| document_row(kind, owner, key, version, &body))
                    .transpose()
            })
            .await
    }

    async fn documents(
        &self,
        kind: &'static str,
        owner: UserId,
    ) -> Result<Vec<Document>, StoreError> {
        database(self)
            .read(move |connection| {
                let mut statement = connection
                    .prepare(
                        "SELECT key, version, body FROM documents WHERE kind = ?1 AND owner = ?2 ORDER BY key",
                    )
                    .map_err(store_error)?;
                document_rows(&mut statement, params![kind, owner.to_string()], kind, owner)
            })
            .await
    }

    async fn documents_before(
        &self,
        kind: &'static str,
        owner: UserId,
        before: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Document>, StoreError> {
        documents_by_key(
            self,
            kind,
            owner,
            "SELECT key, version, body FROM documents WHERE kind = ?1 AND owner = ?2 \
             AND (?3 IS NULL OR key < ?3) ORDER BY key DESC LIMIT ?4",
            before.map(str::to_string),
            limit,
        )
        .await
    }

    async fn documents_from(
        &self,
        kind: &'static str,
        owner: UserId,
        from: &str,
        limit: u32,
    ) -> Result<Vec<Document>, StoreError> {
        documents_by_key(
            self,
            kind,
            owner,
            "SELECT key, version, body FROM documents WHERE kind = ?1 AND owner = ?2 \
             AND key >= ?3 ORDER BY key LIMIT ?4",
            Some(from.to_string()),
            limit,
        )
        .await
    }

    async fn update_document(&self, document: &Document) -> Result<Document, StoreError> {
        let mut stored = document.clone();
        let body = encode(&document.body)?;
        database(self)
            .write(move |connection| {
                let (kind, owner, key) =
                    (stored.kind, stored.owner.to_string(), stored.key.clone());
                let changed = connection
                    .execute(
                        "UPDATE documents SET body = ?1, version = version + 1 \
                         WHERE kind = ?2 AND owner = ?3 AND key = ?4 AND version = ?5",
                        params![body, kind, owner, key, stored.version as i64],
                    )
                    .map_err(store_error)?;
                if changed == 1 {
                    stored.version += 1;
                    return Ok(stored);
                }
                let exists = connection
                    .query_row(
                        "SELECT 1 FROM documents WHERE kind = ?1 AND owner = ?2 AND key = ?3",
                        params![kind, owner, key],
                        |_| Ok(()),
                    )
                    .optional()
                    .map_err(store_error)?;
                Err(if exists.is_some() {
                    StoreError::Stale
                } else {
                    StoreError::NotFound
                })
            })
            .await
    }

    async fn delete_document(
        &self,
        kind: &'static str,
        owner: UserId,
        key: &str,
        expected_version: Option<u64>,
    ) -> Result<(), StoreError> {
        let (owner, key) = (owner.to_string(), key.to_string());
        database(self)
            .write(move |connection| {
                let transaction = connection.transaction().map_err(store_error)?;
                let version: Option<i64> = transaction
                    .query_row(
                        "SELECT version FROM documents WHERE kind = ?1 AND owner = ?2 AND key = ?3",
                        params![kind, owner, key],
                        |row| row.get(0),
                    )
                    .optional()
                    .map_err(store_error)?;
                match (version, expected_version) {
                    (None, _) => return Err(StoreError::NotFound),
                    (Some(found), Some(expected)) if found as u64 != expected => {
                        return Err(StoreError::Stale)
                    }
                    _ => {}
                }
                transaction
                    .execute(
                        "DELETE FROM documents WHERE kind = ?1 AND owner = ?2 AND key = ?3",
                        params![kind, owner, key],
                    )
                    .map_err(store_error)?;
                apply_counts(&transaction, &[(documents_of_kind(kind), -1)])?;
                transaction.commit().map_err(store_error)
            })
            .await
    }

    async fn all_documents(&self, kind: &'static str) -> Result<Vec<Document>, StoreError> {
        database(self)
            .read(move |connection| {
                let mut statement = connection
                    .prepare(
                        "SELECT owner, key, version, body FROM documents WHERE kind = ?1 ORDER BY owner, key",
                    )
                    .map_err(store_error)?;
                let rows = statement
                    .query_map(params![kind], |row| {
                        Ok((
                            row.get::<_, String>(0)?,
                            row.get::<_, String>(1)?,
                            row.get::<_, i64>(2)?,
                            row.get::<_, String>(3)?,
                        ))
                    })
                    .map_err(store_error)?;
                rows.map(|row| {
                    let (owner, key, version, body) = row.map_err(store_error)?;
                    let owner = owner
                        .parse::<UserId>()
                        .map_err(|_| StoreError::Corrupt(format!("document owner {owner}")))?;
                    document_row(kind, owner, key, version, &body)
                })
                .collect()
            })
            .await
    }

    async fn count_documents(&self, kind: &'static str, owner: UserId) -> Result<u32, StoreError> {
        database(self)
            .read(move |connection| {
                connection
                    .query_row(
                        "SELECT COUNT(*) FROM documents WHERE kind = ?1 AND owner = ?2",
                        params![kind, owner.to_string()],
                        |row| row.get::<_, u32>(0),
                    )
                    .map_err(store_error)
            })
            .await
    }
}

#[async_trait]
impl CatalogRepository for SqliteStore {
    async fn insert_product(&self, product: &TrackedProduct) -> Result<TrackedProduct, StoreError> {
        let product = product.clone();
        let body = encode(&product)?;
        let due = product.check.next_check_at.map_or(0, nanos);
        database(self)
            .write(move |connection| {
                connection
                    .execute(
                        "INSERT INTO products (id, url, body, next_check_ns, host) \
                         VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (url) DO NOTHING",
                        params![product.id.to_string(), product.url, body, due, product.host],
                    )
                    .map_err(store_error)?;
                let stored: String = connection
                    .query_row(
                        "SELECT body FROM products WHERE url = ?1",
                        params![product.url],
                        |row| row.get(0),
                    )
                    .map_err(store_error)?;
                decode("product", &stored)
            })
            .await
    }

    async fn product_by_id(&self, id: ProductId) -> Result<Option<TrackedProduct>, StoreError> {
        database(self)
            .read(move |connection| {
                connection
                    .query_row(
                        "SELECT body FROM products WHERE id = ?1",
                        params![id.to_string()],
                        |row| row.get::<_, String>(0),
                    )
                    .optional()
                    .map_err(store_error)?
                    .map(|body| decode("product", &body))
                    .transpose()
            })
            .await
    }

    async fn product_by_url(&self, url: &str) -> Result<Option<TrackedProduct>, StoreError> {
        let url = url.to_string();
        database(self)
            .read(move |connection| {
                connection
                    .query_row(
                        "SELECT body FROM products WHERE url = ?1",
                        params![url],
                        |row| row.get::<_, String>(0),
                    )
                    .optional()
                    .map_err(store_error)?
                    .map(|body| decode("product", &body))
                    .transpose()
            })
            .await
    }

    async fn append_price_point(&self, point: &PricePoint) -> Result<(), StoreError> {
        let (product, at) = (point.product_id.to_string(), nanos(point.at));
        let body = encode(point)?;
        let rollup = dealpulse_domain::analytics::price_point_rollup(point);
        database(self)
            .write(move |connection| {
                let transaction = connection.transaction().map_err(store_error)?;
                transaction
                    .execute(
                        "INSERT INTO price_points (product_id, at_ns, body) VALUES (?1, ?2, ?3)",
                        params![product, at, body],
                    )
                    .map_err(store_error)?;
                crate::counters::apply_rollup(&transaction, &rollup)?;
                transaction.commit().map_err(store_error)
            })
            .await
    }

    async fn price_points(
        &self,
        product: ProductId,
        from: Timestamp,
        to: Timestamp,
        limit: u32,
    ) -> Result<Vec<PricePoint>, StoreError> {
        let (from, to) = (nanos(from), nanos(to));
        database(self)
            .read(move |connection| {
                let mut statement = connection
                    .prepare(
                        "SELECT body FROM price_points WHERE product_id = ?1 AND at_ns BETWEEN ?2 AND ?3 \
                         ORDER BY at_ns, seq LIMIT ?4",
                    )
                    .map_err(store_error)?;
                let rows = statement
                    .query_map(params![product.to_string(), from, to, limit], |row| {
                        row.get::<_, String>(0)
                    })
                    .map_err(store_error)?;
                rows.map(|row| decode("price point", &row.map_err(store_error)?))
                    .collect()
            })
            .await
    }

    async fn put_listing(&self, listing: &Listing) -> Result<(), StoreError> {
        let (id, seen) = (listing.id.to_string(), nanos(listing.seen_at));
        let body = encode(listing)?;
        let rollup = dealpulse_domain::analytics::new_listing_rollup(listing);
        database(self)
            .write(move |connection| {
                let transaction = connection.transaction().map_err(store_error)?;
                let known = transaction
                    .query_row("SELECT 1 FROM listings WHERE id = ?1", params![id], |_| Ok(()))
                    .optional()
                    .map_err(store_error)?
                    .is_some();
                transaction
                    .execute(
                        "INSERT INTO listings (id, seen_ns, body) VALUES (?1, ?2, ?3) \
                         ON CONFLICT (id) DO UPDATE SET seen_ns = excluded.seen_ns, body = excluded.body",
                        params![id, seen, body],
                    )
                    .map_err(store_error)?;
                if !known {
                    crate::counters::apply_rollup(&transaction, &rollup)?;
                }
                transaction.commit().map_err(store_error)
            })
            .await
    }

    async fn listing_by_id(&self, id: ListingId) -> Result<Option<Listing>, StoreError> {
        database(self)
            .read(move |connection| {
                connection
                    .query_row(
                        "SELECT body FROM listings WHERE id = ?1",
                        params![id.to_string()],
                        |row| row.get::<_, String>(0),
                    )
                    .optional()
                    .map_err(store_error)?
                    .map(|body| decode("listing", &body))
                    .transpose()
            })
            .await
    }

    async fn listings_seen_since(
        &self,
        since: Timestamp,
        limit: u32,
    ) -> Result<Vec<Listing>, StoreError> {
        let since = nanos(since);
        database(self)
            .read(move |connection| {
                let mut statement = connection
                    .prepare(
                        "SELECT body FROM listings WHERE seen_ns >= ?1 ORDER BY seen_ns DESC, id DESC LIMIT ?2",
                    )
                    .map_err(store_error)?;
                let rows = statement
                    .query_map(params![since, limit], |row| row.get::<_, String>(0))
                    .map_err(store_error)?;
                rows.map(|row| decode("listing", &row.map_err(store_error)?))
                    .collect()
            })
            .await
    }
}

/// An owner's documents of one kind from `sql`, whose `?3` is a key bound and `?4` the limit.
async fn documents_by_key(
    store: &SqliteStore,
    kind: &'static str,
    owner: UserId,
    sql: &'static str,
    bound: Option<String>,
    limit: u32,
) -> Result<Vec<Document>, StoreError> {
    database(store)
        .read(move |connection| {
            let mut statement = connection.prepare_cached(sql).map_err(store_error)?;
            document_rows(
                &mut statement,
                params![kind, owner.to_string(), bound, limit],
                kind,
                owner,
            )
        })
        .await
}

/// Reads `key, version, body` rows of one owner and kind into documents.
fn document_rows(
    statement: &mut rusqlite::Statement<'_>,
    parameters: impl rusqlite::Params,
    kind: &'static str,
    owner: UserId,
) -> Result<Vec<Document>, StoreError> {
    let rows = statement
        .query_map(parameters, |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, i64>(1)?,
                row.get::<_, String>(2)?,
            ))
        })
        .map_err(store_error)?;
    let mut documents = Vec::new();
    for row in rows {
        let (key, version, body) = row.map_err(store_error)?;
        documents.push(document_row(kind, owner, key, version, &body)?);
    }
    Ok(documents)
}
