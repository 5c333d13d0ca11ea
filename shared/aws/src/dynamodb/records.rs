//! Owned documents and the shared catalogue in the single table (see `infra/TABLE.md`).
//!
//! Documents live in their owner's partition (`PK = USER#<owner>`, `SK = DOC#<kind>#<key>`) so
//! listing them is one strongly consistent query, and carry GSI1 keys so account deletion finds
//! them. A per-kind counter item in the same partition is updated in the same transaction as
//! each insert and delete: the quota condition on it makes "at most N" atomic.

use super::{
    is_conditional_failure, key_map, n, s, transaction_lost, unavailable, DynamoStore, Item,
    KeyQuery,
};
use async_trait::async_trait;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem, Update};
use dealpulse_domain::counters::documents_of_kind;
use dealpulse_domain::ids::{ListingId, ProductId, UserId};
use dealpulse_domain::listing::{Listing, PricePoint, TrackedProduct};
use dealpulse_domain::ports::{CatalogRepository, StoreError};
use dealpulse_domain::records::{Document, DocumentRepository};
use dealpulse_domain::secret::TokenHash;
use jiff::{Timestamp, ToSpan};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::collections::HashMap;

pub(super) mod key {
    use super::*;

    pub fn owner(owner: UserId) -> String {
        format!("USER#{owner}")
    }
    pub fn document(kind: &str, owner: UserId, key: &str) -> (String, String) {
        (self::owner(owner), format!("DOC#{kind}#{key}"))
    }
    pub fn document_prefix(kind: &str) -> String {
        format!("DOC#{kind}#")
    }
    /// Documents of one kind across owners, spread over [`KIND_SHARDS`] GSI2 partitions by the
    /// last character of their key.
    pub fn kind_shard(kind: &str, key: &str) -> String {
        let shard = key.bytes().last().unwrap_or(0) % KIND_SHARDS;
        format!("DOCS#{kind}#{shard}")
    }
    pub const KIND_SHARDS: u8 = 8;
    pub fn counter(kind: &str, owner: UserId) -> (String, String) {
        (self::owner(owner), format!("COUNT#{kind}"))
    }
    pub fn product(id: ProductId) -> (String, String) {
        (format!("PRODUCT#{id}"), "PRODUCT".into())
    }
    /// URLs can be longer than a key allows, so the sentinel is keyed by their hash.
    pub fn product_url(url: &str) -> (String, String) {
        (
            format!("PRODUCTURL#{}", TokenHash::of(url).as_str()),
            "PRODUCTURL".into(),
        )
    }
    pub fn price_sort(at: Timestamp, unique: &str) -> String {
        format!("PRICE#{:020}#{unique}", nanos(at))
    }
    pub fn listing(id: ListingId) -> (String, String) {
        (format!("LISTING#{id}"), "LISTING".into())
    }
    pub fn listings_day(day: jiff::civil::Date) -> String {
        format!("LISTINGS#{day}")
    }
}

/// Nanoseconds since the epoch, shifted to be non-negative so they sort as zero-padded text.
pub(super) fn nanos(at: Timestamp) -> i128 {
    at.as_nanosecond() - Timestamp::MIN.as_nanosecond()
}

pub(super) fn encode<T: Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(format!("encoding: {e}")))
}

pub(super) fn decode<T: DeserializeOwned>(what: &str, item: &Item) -> Result<T, StoreError> {
    match item.get("body") {
        Some(AttributeValue::S(body)) => {
            serde_json::from_str(body).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
        }
        _ => Err(StoreError::Corrupt(format!("{what} without a body"))),
    }
}

fn version_of(item: &Item) -> Result<u64, StoreError> {
    match item.get("version") {
        Some(AttributeValue::N(number)) => number
            .parse()
            .map_err(|_| StoreError::Corrupt(format!("version {number}"))),
        _ => Err(StoreError::Corrupt("document without a version".into())),
    }
}

fn document_item(document: &Document, version: u64) -> Result<Item, StoreError> {
    let (pk, sk) = key::document(document.kind, document.owner, &document.key);
    Ok(HashMap::from([
        ("PK".to_string(), s(pk.clone())),
        ("SK".to_string(), s(sk.clone())),
        ("entity_type".to_string(), s("document")),
        ("kind".to_string(), s(document.kind)),
        ("doc_key".to_string(), s(document.key.clone())),
        ("version".to_string(), n(version)),
        ("body".to_string(), s(encode(&document.body)?)),
        ("GSI1PK".to_string(), s(pk)),
        ("GSI1SK".to_string(), s(sk)),
        (
            "GSI2PK".to_string(),
            s(key::kind_shard(document.kind, &document.key)),
        ),
        (
            "GSI2SK".to_string(),
            s(format!("{}#{}", document.owner, document.key)),
        ),
    ]))
}

fn document_from(kind: &'static str, owner: UserId, item: &Item) -> Result<Document, StoreError> {
    let key = match item.get("doc_key") {
        Some(AttributeValue::S(key)) => key.clone(),
        _ => return Err(StoreError::Corrupt("document without a key".into())),
    };
    let body = match item.get("body") {
        Some(AttributeValue::S(body)) => serde_json::from_str(body)
            .map_err(|e| StoreError::Corrupt(format!("{kind} {key}: {e}")))?,
        _ => return Err(StoreError::Corrupt(format!("{kind} {key} without a body"))),
    };
    Ok(Document {
        kind,
        owner,
        version: version_of(item)?,
        key,
        body,
    })
}

/// The index of the first transaction item whose condition failed, if that is why it failed.
pub(super) fn failed_condition(
    error: &aws_sdk_dynamodb::error::SdkError<
        TransactWriteItemsError,
        aws_sdk_dynamodb::config::http::HttpResponse,
    >,
) -> Option<usize> {
    match error.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) => cancelled
            .cancellation_reasons()
            .iter()
            .position(|reason| reason.code() == Some("ConditionalCheckFailed")),
        _ => None,
    }
}

/// Attempts at a transaction that DynamoDB cancelled for contention before giving up.
const CONFLICT_RETRIES: u32 = 6;

async fn backoff(attempt: u32) {
    tokio::time::sleep(std::time::Duration::from_millis(20 << attempt)).await;
}

impl DynamoStore {
    fn counter_update(
        &self,
        kind: &str,
        owner: UserId,
        delta: i64,
        limit: Option<u32>,
    ) -> Result<TransactWriteItem, StoreError> {
        let (pk, sk) = key::counter(kind, owner);
        let mut update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key_map((pk.clone(), sk.clone()))))
            .update_expression(
                "SET #count = if_not_exists(#count, :zero) + :delta, entity_type = :type, GSI1PK = :pk, GSI1SK = :sk",
            )
            .expression_attribute_names("#count", "count")
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":delta", n(delta))
            .expression_attribute_values(":type", s("counter"))
            .expression_attribute_values(":pk", s(pk))
            .expression_attribute_values(":sk", s(sk));
        if let Some(limit) = limit {
            update = update
                .condition_expression("attribute_not_exists(#count) OR #count < :limit")
                .expression_attribute_values(":limit", n(limit));
        }
        Ok(TransactWriteItem::builder()
            .update(update.build().map_err(unavailable)?)
            .build())
    }
}

#[async_trait]
impl DocumentRepository for DynamoStore {
    async fn insert_document(
        &self,
        document: &Document,
        limit: Option<u32>,
    ) -> Result<(), StoreError> {
        // Concurrent inserts of one owner contend on the counter item; DynamoDB cancels the
        // losers with TransactionConflict, which is retried (a failed condition is not).
        for attempt in 0..CONFLICT_RETRIES {
            let result = self
                .client
                .transact_write_items()
                .set_transact_items(Some({
                    let mut items = Vec::new();
                    items.push(self.counter_update(document.kind, document.owner, 1, limit)?);
                    items.push(self.put(
                        document_item(document, 1)?,
                        Some("attribute_not_exists(PK)"),
                    )?);
                    items.extend(self.counter_changes(&[(documents_of_kind(document.kind), 1)])?);
                    items
                }))
                .send()
                .await;
            match result {
                Ok(_) => return Ok(()),
                Err(error) => match failed_condition(&error) {
                    Some(0) => return Err(StoreError::LimitReached(limit.unwrap_or(0))),
                    Some(_) => return Err(StoreError::Conflict("record")),
                    None if transaction_lost(&error) => backoff(attempt).await,
                    None => return Err(unavailable(error)),
                },
            }
        }
        Err(StoreError::Stale)
    }

    async fn document(
        &self,
        kind: &'static str,
        owner: UserId,
        key: &str,
    ) -> Result<Option<Document>, StoreError> {
        self.get(key::document(kind, owner, key))
            .await?
            .map(|item| document_from(kind, owner, &item))
            .transpose()
    }

    async fn documents(
        &self,
        kind: &'static str,
        owner: UserId,
    ) -> Result<Vec<Document>, StoreError> {
        let mut documents = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let output = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("PK = :pk AND begins_with(SK, :prefix)")
                .expression_attribute_values(":pk", s(key::owner(owner)))
                .expression_attribute_values(":prefix", s(key::document_prefix(kind)))
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(unavailable)?;
            for item in output.items.unwrap_or_default() {
                documents.push(document_from(kind, owner, &item)?);
            }
            match output.last_evaluated_key {
                Some(next) if !next.is_empty() => start = Some(next),
                _ => break,
            }
        }
        documents.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(documents)
    }

    async fn documents_before(
        &self,
        kind: &'static str,
        owner: UserId,
        before: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Document>, StoreError> {
        let prefix = key::document_prefix(kind);
        // Every key of the kind sorts between `DOC#<kind>#` and `DOC#<kind>$` ('$' follows '#').
        let upper = match before {
            Some(before) => format!("{prefix}{before}"),
            None => format!("{}$", prefix.trim_end_matches('#')),
        };
        let items = self
            .query_items(KeyQuery {
                index: None,
                condition: "PK = :pk AND SK BETWEEN :low AND :high",
                values: vec![
                    (":pk", s(key::owner(owner))),
                    (":low", s(prefix)),
                    (":high", s(upper)),
                ],
                newest_first: true,
                consistent: true,
                // BETWEEN includes `before` itself, dropped below.
                limit: Some(limit as usize + 1),
            })
            .await?;
        let mut documents = Vec::with_capacity(items.len());
        for item in &items {
            let document = document_from(kind, owner, item)?;
            if Some(document.key.as_str()) != before {
                documents.push(document);
            }
        }
        documents.truncate(limit as usize);
        Ok(documents)
    }

    async fn documents_from(
        &self,
        kind: &'static str,
        owner: UserId,
        from: &str,
        limit: u32,
    ) -> Result<Vec<Document>, StoreError> {
        let prefix = key::document_prefix(kind);
        let items = self
            .query_items(KeyQuery {
                index: None,
                condition: "PK = :pk AND SK BETWEEN :low AND :high",
                values: vec![
                    (":pk", s(key::owner(owner))),
                    (":low", s(format!("{prefix}{from}"))),
                    // Every key of the kind sorts below `DOC#<kind>$` ('$' follows '#').
                    (":high", s(format!("{}$", prefix.trim_end_matches('#')))),
                ],
                newest_first: false,
                consistent: true,
                limit: Some(limit as usize),
            })
            .await?;
        items
            .iter()
            .map(|item| document_from(kind, owner, item))
            .collect()
    }

    async fn update_document(&self, document: &Document) -> Result<Document, StoreError> {
        let next = document.version + 1;
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(document_item(document, next)?))
            .condition_expression("attribute_exists(PK) AND version = :expected")
            .expression_attribute_values(":expected", n(document.version))
            .send()
            .await;
        match result {
            Ok(_) => Ok(Document {
                version: next,
                ..document.clone()
            }),
            Err(error) if is_conditional_failure(&error) => {
                match self
                    .document(document.kind, document.owner, &document.key)
                    .await?
                {
                    Some(_) => Err(StoreError::Stale),
                    None => Err(StoreError::NotFound),
                }
            }
            Err(error) => Err(unavailable(error)),
        }
    }

    async fn delete_document(
        &self,
        kind: &'static str,
        owner: UserId,
        key: &str,
        expected_version: Option<u64>,
    ) -> Result<(), StoreError> {
        let mut delete = aws_sdk_dynamodb::types::Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key_map(key::document(kind, owner, key))));
        delete = match expected_version {
            Some(version) => delete
                .condition_expression("attribute_exists(PK) AND version = :expected")
                .expression_attribute_values(":expected", n(version)),
            None => delete.condition_expression("attribute_exists(PK)"),
        };
        let delete = TransactWriteItem::builder()
            .delete(delete.build().map_err(unavailable)?)
            .build();
        for attempt in 0..CONFLICT_RETRIES {
            let result = self
                .client
                .transact_write_items()
                .set_transact_items(Some({
                    let mut items =
                        vec![delete.clone(), self.counter_update(kind, owner, -1, None)?];
                    items.extend(self.counter_changes(&[(documents_of_kind(kind), -1)])?);
                    items
                }))
                .send()
                .await;
            match result {
                Ok(_) => return Ok(()),
                Err(error) if failed_condition(&error).is_some() => {
                    return match self.document(kind, owner, key).await? {
                        Some(_) => Err(StoreError::Stale),
                        None => Err(StoreError::NotFound),
                    }
                }
                Err(error) if transaction_lost(&error) => backoff(attempt).await,
                Err(error) => return Err(unavailable(error)),
            }
        }
        Err(StoreError::Stale)
    }

    async fn all_documents(&self, kind: &'static str) -> Result<Vec<Document>, StoreError> {
        let mut documents = Vec::new();
        for shard in 0..key::KIND_SHARDS {
            let mut start: Option<Item> = None;
            loop {
                let output = self
                    .client
                    .query()
                    .table_name(&self.table)
                    .index_name("GSI2")
                    .key_condition_expression("GSI2PK = :pk")
                    .expression_attribute_values(":pk", s(format!("DOCS#{kind}#{shard}")))
                    .set_exclusive_start_key(start.take())
                    .send()
                    .await
                    .map_err(unavailable)?;
                for item in output.items.unwrap_or_default() {
                    let owner = match item.get("PK") {
                        Some(AttributeValue::S(pk)) => pk
                            .strip_prefix("USER#")
                            .and_then(|id| id.parse::<UserId>().ok())
                            .ok_or_else(|| StoreError::Corrupt(format!("document owner {pk}")))?,
                        _ => return Err(StoreError::Corrupt("document without an owner".into())),
                    };
                    documents.push(document_from(kind, owner, &item)?);
                }
                match output.last_evaluated_key {
                    Some(next) if !next.is_empty() => start = Some(next),
                    _ => break,
                }
            }
        }
        documents.sort_by(|a, b| (a.owner, &a.key).cmp(&(b.owner, &b.key)));
        Ok(documents)
    }

    async fn count_documents(&self, kind: &'static str, owner: UserId) -> Result<u32, StoreError> {
        match self.get(key::counter(kind, owner)).await? {
            Some(item) => match item.get("count") {
                Some(AttributeValue::N(count)) => {
                    Ok(count.parse::<i64>().unwrap_or(0).max(0) as u32)
                }
                _ => Ok(0),
            },
            None => Ok(0),
        }
    }
}

#[async_trait]
impl CatalogRepository for DynamoStore {
    async fn insert_product(&self, product: &TrackedProduct) -> Result<TrackedProduct, StoreError> {
        let (pk, sk) = key::product(product.id);
        let mut item = HashMap::from([
            ("PK".to_string(), s(pk)),
            ("SK".to_string(), s(sk)),
            ("entity_type".to_string(), s("product")),
            ("body".to_string(), s(encode(product)?)),
        ]);
        item.extend(super::sources::product_due_keys(product));
        let mut sentinel = key_map(key::product_url(&product.url));
        sentinel.insert("entity_type".into(), s("product_url"));
        sentinel.insert("product_id".into(), s(product.id.to_string()));
        let result = self
            .client
            .transact_write_items()
            .transact_items(self.put(sentinel, Some("attribute_not_exists(PK)"))?)
            .transact_items(self.put(item, Some("attribute_not_exists(PK)"))?)
            .send()
            .await;
        match result {
            Ok(_) => Ok(product.clone()),
            Err(error) if transaction_lost(&error) => self
                .product_by_url(&product.url)
                .await?
                .ok_or(StoreError::Stale),
            Err(error) => Err(unavailable(error)),
        }
    }

    async fn product_by_id(&self, id: ProductId) -> Result<Option<TrackedProduct>, StoreError> {
        self.get(key::product(id))
            .await?
            .map(|item| decode("product", &item))
            .transpose()
    }

    async fn product_by_url(&self, url: &str) -> Result<Option<TrackedProduct>, StoreError> {
        let Some(sentinel) = self.get(key::product_url(url)).await? else {
            return Ok(None);
        };
        let id = match sentinel.get("product_id") {
            Some(AttributeValue::S(id)) => id
                .parse::<ProductId>()
                .map_err(|_| StoreError::Corrupt(format!("product id {id}")))?,
            _ => return Err(StoreError::Corrupt("product URL without an id".into())),
        };
        self.product_by_id(id).await
    }

    async fn append_price_point(&self, point: &PricePoint) -> Result<(), StoreError> {
        let unique = dealpulse_domain::ids::ListingId::generate().to_string();
        let item = HashMap::from([
            ("PK".to_string(), s(key::product(point.product_id).0)),
            ("SK".to_string(), s(key::price_sort(point.at, &unique))),
            ("entity_type".to_string(), s("price")),
            ("body".to_string(), s(encode(point)?)),
        ]);
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(unavailable)?;
        self.apply_rollup(&dealpulse_domain::analytics::price_point_rollup(point))
            .await;
        Ok(())
    }

    async fn price_points(
        &self,
        product: ProductId,
        from: Timestamp,
        to: Timestamp,
        limit: u32,
    ) -> Result<Vec<PricePoint>, StoreError> {
        let mut points = Vec::new();
        let mut start: Option<Item> = None;
        while points.len() < limit as usize {
            let output = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("PK = :pk AND SK BETWEEN :from AND :to")
                .expression_attribute_values(":pk", s(key::product(product).0))
                .expression_attribute_values(":from", s(key::price_sort(from, "")))
                .expression_attribute_values(":to", s(key::price_sort(to, "~")))
                .consistent_read(true)
                .limit((limit as usize - points.len()).min(1000) as i32)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(unavailable)?;
            for item in output.items.unwrap_or_default() {
                points.push(decode("price point", &item)?);
            }
            match output.last_evaluated_key {
                Some(next) if !next.is_empty() => start = Some(next),
                _ => break,
            }
        }
        points.truncate(limit as usize);
        Ok(points)
    }

    async fn put_listing(&self, listing: &Listing) -> Result<(), StoreError> {
        let (pk, sk) = key::listing(listing.id);
        let day = listing.seen_at.to_zoned(jiff::tz::TimeZone::UTC).date();
        let item = HashMap::from([
            ("PK".to_string(), s(pk)),
            ("SK".to_string(), s(sk)),
            ("entity_type".to_string(), s("listing")),
            ("body".to_string(), s(encode(listing)?)),
            ("GSI2PK".to_string(), s(key::listings_day(day))),
            (
                "GSI2SK".to_string(),
                s(format!("{:040}#{}", nanos(listing.seen_at), listing.id)),
            ),
        ]);
        let replaced = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllOld)
            .send()
            .await
            .map_err(unavailable)?
            .attributes
            .is_some_and(|old| !old.is_empty());
        if replaced {
            return Ok(());
        }
        self.apply_rollup(&dealpulse_domain::analytics::new_listing_rollup(listing))
            .await;
        Ok(())
    }

    async fn listing_by_id(&self, id: ListingId) -> Result<Option<Listing>, StoreError> {
        self.get(key::listing(id))
            .await?
            .map(|item| decode("listing", &item))
            .transpose()
    }

    /// Walks the per-day GSI2 partitions from tomorrow (UTC, for clock skew) back to the day of
    /// `since`, newest first. At most 400 days are walked.
    async fn listings_seen_since(
        &self,
        since: Timestamp,
        limit: u32,
    ) -> Result<Vec<Listing>, StoreError> {
        let utc = jiff::tz::TimeZone::UTC;
        let first_day = since.to_zoned(utc.clone()).date();
        let mut day = Timestamp::now()
            .to_zoned(utc)
            .date()
            .checked_add(1.day())
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        let lower = format!("{:040}", nanos(since));
        let mut listings: Vec<Listing> = Vec::new();
        for _ in 0..400 {
            if day < first_day || listings.len() >= limit as usize {
                break;
            }
            let mut start: Option<Item> = None;
            loop {
                let output = self
                    .client
                    .query()
                    .table_name(&self.table)
                    .index_name("GSI2")
                    .key_condition_expression("GSI2PK = :day AND GSI2SK >= :lower")
                    .expression_attribute_values(":day", s(key::listings_day(day)))
                    .expression_attribute_values(":lower", s(lower.clone()))
                    .scan_index_forward(false)
                    .set_exclusive_start_key(start.take())
                    .send()
                    .await
                    .map_err(unavailable)?;
                for item in output.items.unwrap_or_default() {
                    listings.push(decode("listing", &item)?);
                }
                match output.last_evaluated_key {
                    Some(next) if !next.is_empty() && listings.len() < limit as usize => {
                        start = Some(next)
                    }
                    _ => break,
                }
            }
            day = match day.yesterday() {
                Ok(previous) => previous,
                Err(_) => break,
            };
        }
        listings.truncate(limit as usize);
        Ok(listings)
    }
}
