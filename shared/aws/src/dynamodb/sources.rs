//! Check schedules and host health in the single table (see `infra/TABLE.md`, patterns 30–36).
//!
//! Everything that is checked on a schedule carries sparse GSI3 keys: `GSI3PK = DUE#<kind>#<shard>`
//! and `GSI3SK = <due time, zero-padded nanoseconds>#<id>`. A scraper queries every shard for
//! keys up to now and claims each item with a conditional update on the `GSI3SK` it saw, so two
//! scrapers racing for one product cannot both win. Disabled feeds have no GSI3 keys at all.

use super::records::{decode, encode, failed_condition, key, nanos};
use super::{is_conditional_failure, key_map, n, s, unavailable, DynamoStore, Item, KeyQuery};
use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use dealpulse_domain::ids::{ProductId, SourceId};
use dealpulse_domain::listing::TrackedProduct;
use dealpulse_domain::ports::{SourceRepository, StoreError};
use dealpulse_domain::sources::{CheckResult, FeedSource, HostHealth};
use jiff::Timestamp;
use std::collections::{BTreeMap, HashMap};

/// Due items are spread over this many GSI3 partitions so one hot key does not carry them all.
const DUE_SHARDS: u8 = 4;

/// The shard of an id: its last hex digit (random in UUIDv7), modulo the shard count.
fn shard_of(id: &str) -> u8 {
    id.bytes().last().unwrap_or(0) % DUE_SHARDS
}

fn due_partition(kind: &str, shard: u8) -> String {
    format!("DUE#{kind}#{shard}")
}

fn due_sort(due: Option<Timestamp>, id: &str) -> String {
    // Never checked sorts first.
    format!("{:040}#{id}", due.map_or(0, nanos))
}

pub(super) fn product_due_keys(product: &TrackedProduct) -> Item {
    let id = product.id.to_string();
    HashMap::from([
        (
            "GSI3PK".to_string(),
            s(due_partition("product", shard_of(&id))),
        ),
        (
            "GSI3SK".to_string(),
            s(due_sort(product.check.next_check_at, &id)),
        ),
        // The products of a host, by id (pattern 56).
        (
            "GSI1PK".to_string(),
            s(host_products_partition(&product.host)),
        ),
        ("GSI1SK".to_string(), s(id)),
    ])
}

fn host_products_partition(host: &str) -> String {
    format!("HOSTPRODUCTS#{host}")
}

fn feed_key(id: SourceId) -> (String, String) {
    (format!("FEED#{id}"), "FEED".into())
}

fn feed_name_key(name: &str) -> (String, String) {
    (format!("FEEDNAME#{name}"), "FEEDNAME".into())
}

fn host_key(host: &str) -> (String, String) {
    (format!("HOST#{host}"), "HEALTH".into())
}

const FEEDS_PARTITION: &str = "FEEDS";
const HOSTS_PARTITION: &str = "HOSTS";

fn text(item: &Item, name: &str) -> Option<String> {
    match item.get(name) {
        Some(AttributeValue::S(value)) => Some(value.clone()),
        _ => None,
    }
}

fn timestamp(item: &Item, name: &str) -> Result<Option<Timestamp>, StoreError> {
    text(item, name)
        .map(|t| {
            t.parse()
                .map_err(|e| StoreError::Corrupt(format!("{name} {t:?}: {e}")))
        })
        .transpose()
}

impl DynamoStore {
    /// Every item of one GSI partition, in sort-key order.
    async fn partition(&self, index: &str, pk: &str) -> Result<Vec<Item>, StoreError> {
        let mut items = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let output = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(index)
                .key_condition_expression(format!("{index}PK = :pk"))
                .expression_attribute_values(":pk", s(pk))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(unavailable)?;
            items.extend(output.items.unwrap_or_default());
            match output.last_evaluated_key {
                Some(next) if !next.is_empty() => start = Some(next),
                _ => return Ok(items),
            }
        }
    }

    /// Claims up to `limit` due items of `kind`; `rewrite` sets the lease in a decoded body and
    /// returns the new body text.
    async fn claim<T>(
        &self,
        kind: &str,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
        rewrite: impl Fn(&Item) -> Result<(T, String), StoreError>,
    ) -> Result<Vec<T>, StoreError> {
        let upper = format!("{:040}#~", nanos(now));
        let mut due: Vec<Item> = Vec::new();
        for shard in 0..DUE_SHARDS {
            let output = self
                .client
                .query()
                .table_name(&self.table)
                .index_name("GSI3")
                .key_condition_expression("GSI3PK = :pk AND GSI3SK <= :upper")
                .expression_attribute_values(":pk", s(due_partition(kind, shard)))
                .expression_attribute_values(":upper", s(upper.clone()))
                .limit(limit.clamp(1, 1000) as i32)
                .send()
                .await
                .map_err(unavailable)?;
            due.extend(output.items.unwrap_or_default());
        }
        due.sort_by_key(|item| text(item, "GSI3SK"));
        due.truncate(limit as usize);
        let mut claimed = Vec::with_capacity(due.len());
        for item in due {
            let (Some(pk), Some(sk), Some(seen)) =
                (text(&item, "PK"), text(&item, "SK"), text(&item, "GSI3SK"))
            else {
                return Err(StoreError::Corrupt(format!("{kind} without keys")));
            };
            let id = seen.rsplit('#').next().unwrap_or_default().to_string();
            let (value, body) = rewrite(&item)?;
            let result = self
                .client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(key_map((pk, sk))))
                .update_expression("SET body = :body, GSI3SK = :lease")
                .condition_expression("GSI3SK = :seen")
                .expression_attribute_values(":body", s(body))
                .expression_attribute_values(":lease", s(due_sort(Some(lease_until), &id)))
                .expression_attribute_values(":seen", s(seen))
                .send()
                .await;
            match result {
                Ok(_) => claimed.push(value),
                // Someone else claimed or saved it since the index was read.
                Err(error) if is_conditional_failure(&error) => {}
                Err(error) => return Err(unavailable(error)),
            }
        }
        Ok(claimed)
    }

    fn feed_item(&self, feed: &FeedSource) -> Result<Item, StoreError> {
        let mut item = key_map(feed_key(feed.id));
        item.insert("entity_type".into(), s("feed"));
        item.insert("name".into(), s(feed.name.as_str()));
        item.insert("body".into(), s(encode(feed)?));
        item.insert("GSI1PK".into(), s(FEEDS_PARTITION));
        item.insert("GSI1SK".into(), s(feed.name.as_str()));
        if feed.enabled {
            let id = feed.id.to_string();
            item.insert("GSI3PK".into(), s(due_partition("feed", shard_of(&id))));
            item.insert("GSI3SK".into(), s(due_sort(feed.check.next_check_at, &id)));
        }
        Ok(item)
    }
}

#[async_trait]
impl SourceRepository for DynamoStore {
    async fn save_product(&self, product: &TrackedProduct) -> Result<(), StoreError> {
        let keys = product_due_keys(product);
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key_map(key::product(product.id))))
            // The host keys too: products stored before pattern 56 gain them at their next check.
            .update_expression(
                "SET body = :body, GSI3PK = :due_pk, GSI3SK = :due_sk, GSI1PK = :host_pk, GSI1SK = :host_sk",
            )
            .condition_expression("attribute_exists(PK)")
            .expression_attribute_values(":body", s(encode(product)?))
            .expression_attribute_values(":due_pk", keys["GSI3PK"].clone())
            .expression_attribute_values(":due_sk", keys["GSI3SK"].clone())
            .expression_attribute_values(":host_pk", keys["GSI1PK"].clone())
            .expression_attribute_values(":host_sk", keys["GSI1SK"].clone())
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(error) if is_conditional_failure(&error) => Err(StoreError::NotFound),
            Err(error) => Err(unavailable(error)),
        }
    }

    async fn products_of_host(
        &self,
        host: &str,
        after: Option<ProductId>,
        limit: u32,
    ) -> Result<Vec<TrackedProduct>, StoreError> {
        let partition = host_products_partition(host);
        let items = match after {
            Some(after) => {
                self.query_items(KeyQuery {
                    index: Some("GSI1"),
                    condition: "GSI1PK = :pk AND GSI1SK > :after",
                    values: vec![(":pk", s(partition)), (":after", s(after.to_string()))],
                    newest_first: false,
                    consistent: false,
                    limit: Some(limit as usize),
                })
                .await?
            }
            None => {
                self.query_items(KeyQuery {
                    index: Some("GSI1"),
                    condition: "GSI1PK = :pk",
                    values: vec![(":pk", s(partition))],
                    newest_first: false,
                    consistent: false,
                    limit: Some(limit as usize),
                })
                .await?
            }
        };
        items.iter().map(|item| decode("product", item)).collect()
    }

    async fn claim_due_products(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<TrackedProduct>, StoreError> {
        self.claim("product", now, lease_until, limit, |item| {
            let mut product: TrackedProduct = decode("product", item)?;
            product.check.next_check_at = Some(lease_until);
            let body = encode(&product)?;
            Ok((product, body))
        })
        .await
    }

    async fn insert_feed(&self, feed: &FeedSource) -> Result<(), StoreError> {
        let mut sentinel = key_map(feed_name_key(feed.name.as_str()));
        sentinel.insert("entity_type".into(), s("feed_name"));
        sentinel.insert("feed_id".into(), s(feed.id.to_string()));
        let result = self
            .client
            .transact_write_items()
            .transact_items(self.put(sentinel, Some("attribute_not_exists(PK)"))?)
            .transact_items(self.put(self.feed_item(feed)?, Some("attribute_not_exists(PK)"))?)
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(error) if failed_condition(&error).is_some() => {
                Err(StoreError::Conflict("a feed with this name already exists"))
            }
            Err(error) => Err(unavailable(error)),
        }
    }

    async fn feed_by_id(&self, id: SourceId) -> Result<Option<FeedSource>, StoreError> {
        self.get(feed_key(id))
            .await?
            .map(|item| decode("feed", &item))
            .transpose()
    }

    async fn feeds(&self) -> Result<Vec<FeedSource>, StoreError> {
        self.partition("GSI1", FEEDS_PARTITION)
            .await?
            .iter()
            .map(|item| decode("feed", item))
            .collect()
    }

    async fn save_feed(&self, feed: &FeedSource) -> Result<(), StoreError> {
        let item = self.feed_item(feed)?;
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_exists(PK) AND #name = :name")
            .expression_attribute_names("#name", "name")
            .expression_attribute_values(":name", s(feed.name.as_str()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(error) if is_conditional_failure(&error) => Err(StoreError::NotFound),
            Err(error) => Err(unavailable(error)),
        }
    }

    async fn delete_feed(&self, id: SourceId) -> Result<(), StoreError> {
        let Some(feed) = self.feed_by_id(id).await? else {
            return Err(StoreError::NotFound);
        };
        let delete = |key: (String, String)| {
            aws_sdk_dynamodb::types::Delete::builder()
                .table_name(&self.table)
                .set_key(Some(key_map(key)))
                .condition_expression("attribute_exists(PK)")
                .build()
                .map(|d| {
                    aws_sdk_dynamodb::types::TransactWriteItem::builder()
                        .delete(d)
                        .build()
                })
                .map_err(unavailable)
        };
        let result = self
            .client
            .transact_write_items()
            .transact_items(delete(feed_key(id))?)
            .transact_items(delete(feed_name_key(feed.name.as_str()))?)
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(error) if failed_condition(&error).is_some() => Err(StoreError::NotFound),
            Err(error) => Err(unavailable(error)),
        }
    }

    async fn claim_due_feeds(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<FeedSource>, StoreError> {
        self.claim("feed", now, lease_until, limit, |item| {
            let mut feed: FeedSource = decode("feed", item)?;
            feed.check.next_check_at = Some(lease_until);
            let body = encode(&feed)?;
            Ok((feed, body))
        })
        .await
    }

    /// One atomic `UpdateItem` per check: `ADD` on the result's counter, so concurrent scrapers
    /// never lose a count.
    async fn record_check(
        &self,
        host: &str,
        result: CheckResult,
        reason: Option<&str>,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key_map(host_key(host))))
            .expression_attribute_names("#count", format!("count_{}", result.as_str()))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":host", s(host))
            .expression_attribute_values(":hosts", s(HOSTS_PARTITION))
            .expression_attribute_values(":type", s("host_health"))
            .expression_attribute_values(":at", s(at.to_string()));
        let mut set = String::from(
            "SET entity_type = :type, host = :host, GSI1PK = :hosts, GSI1SK = :host, \
             last_checked_at = :at",
        );
        if !result.succeeded() {
            set.push_str(
                ", last_failure_at = :at, last_failure = :failure, last_failure_reason = :reason",
            );
            update = update
                .expression_attribute_values(":failure", s(result.as_str()))
                .expression_attribute_values(
                    ":reason",
                    s(reason
                        .map(|r| r.chars().take(300).collect::<String>())
                        .unwrap_or_default()),
                );
        }
        update
            .update_expression(format!("{set} ADD #count :one"))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn host_health(&self) -> Result<Vec<HostHealth>, StoreError> {
        let items = self.partition("GSI1", HOSTS_PARTITION).await?;
        items
            .iter()
            .map(|item| {
                let mut results = BTreeMap::new();
                for result in CheckResult::ALL {
                    if let Some(AttributeValue::N(count)) =
                        item.get(&format!("count_{}", result.as_str()))
                    {
                        let count = count
                            .parse()
                            .map_err(|_| StoreError::Corrupt(format!("count {count}")))?;
                        results.insert(*result, count);
                    }
                }
                Ok(HostHealth {
                    host: text(item, "host")
                        .ok_or_else(|| StoreError::Corrupt("host health without a host".into()))?,
                    results,
                    last_checked_at: timestamp(item, "last_checked_at")?,
                    last_failure_at: timestamp(item, "last_failure_at")?,
                    last_failure: text(item, "last_failure")
                        .as_deref()
                        .and_then(CheckResult::parse),
                    last_failure_reason: text(item, "last_failure_reason")
                        .filter(|r| !r.is_empty()),
                })
            })
            .collect()
    }
}
