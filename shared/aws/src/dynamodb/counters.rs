//! Rollup counters in the single table: `PK = COUNTERS#<bucket>`, `SK = <name>`, `value` N.
//! Additions are `UpdateItem ADD` (atomic under any number of writers); reads are consistent
//! `BatchGetItem`s of at most 100 keys; a bucket's names with a prefix are one `Query`.

use super::{is_conditional_failure, key_map, n, s, unavailable, DynamoStore, Item, KeyQuery};
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes, TransactWriteItem, Update};
use dealpulse_domain::analytics::{Extreme, Rollup};
use dealpulse_domain::counters::{CounterBucket, CounterKey, CounterRepository};
use dealpulse_domain::ports::StoreError;
use std::collections::HashMap;

/// One counter addition; `entity_type` marks the item for anyone reading the table.
const ADD_TO_COUNTER: &str = "ADD #value :delta SET entity_type = :type";

fn partition(bucket: &CounterBucket) -> String {
    format!("COUNTERS#{}", bucket.as_str())
}

fn number(item: &Item) -> Result<i64, StoreError> {
    match item.get("value") {
        Some(AttributeValue::N(value)) => value
            .parse()
            .map_err(|_| StoreError::Corrupt(format!("counter value {value:?}"))),
        _ => Err(StoreError::Corrupt("counter without a value".into())),
    }
}

fn text(item: &Item, name: &str) -> String {
    match item.get(name) {
        Some(AttributeValue::S(value)) => value.clone(),
        _ => String::new(),
    }
}

impl DynamoStore {
    /// Counter additions as transaction items, so tallies move in the same atomic step as the
    /// write they count.
    pub(super) fn counter_changes(
        &self,
        changes: &[(CounterKey, i64)],
    ) -> Result<Vec<TransactWriteItem>, StoreError> {
        changes
            .iter()
            .map(|(key, delta)| {
                Update::builder()
                    .table_name(&self.table)
                    .set_key(Some(key_map((partition(&key.bucket), key.name.clone()))))
                    .update_expression(ADD_TO_COUNTER)
                    .expression_attribute_names("#value", "value")
                    .expression_attribute_values(":delta", n(delta))
                    .expression_attribute_values(":type", s("counter"))
                    .build()
                    .map(|update| TransactWriteItem::builder().update(update).build())
                    .map_err(unavailable)
            })
            .collect()
    }
}

impl DynamoStore {
    /// Applies an event's rollup after the event's own write: additions are atomic one by one,
    /// extremes idempotent. Not in the event's transaction on purpose: every listing and price
    /// point of a day touches the same few counters, and transactions on hot items conflict.
    /// Extremes go first, so a reader that sees a count also sees its low, high and close. A
    /// failure is logged, not returned: the event is stored, and failing it would make the
    /// caller write it again (a second price point) while its analytics stay a little short.
    pub(super) async fn apply_rollup(&self, rollup: &Rollup) {
        let result = match self.keep_extremes(&rollup.extremes).await {
            Ok(()) => self.add_counts(&rollup.adds).await,
            Err(error) => Err(error),
        };
        if let Err(error) = result {
            tracing::warn!(%error, "analytics rollup not written");
        }
    }
}

/// Unprocessed keys are asked again this many times (throttling) before the read fails.
const BATCH_ROUNDS: usize = 8;

#[async_trait]
impl CounterRepository for DynamoStore {
    async fn add_counts(&self, changes: &[(CounterKey, i64)]) -> Result<(), StoreError> {
        for (key, delta) in changes {
            self.client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(key_map((partition(&key.bucket), key.name.clone()))))
                .update_expression(ADD_TO_COUNTER)
                .expression_attribute_names("#value", "value")
                .expression_attribute_values(":delta", n(delta))
                .expression_attribute_values(":type", s("counter"))
                .send()
                .await
                .map_err(unavailable)?;
        }
        Ok(())
    }

    async fn keep_extremes(&self, offers: &[(CounterKey, Extreme, i64)]) -> Result<(), StoreError> {
        for (key, extreme, value) in offers {
            let condition = match extreme {
                Extreme::Lowest => "attribute_not_exists(#value) OR #value > :value",
                Extreme::Highest => "attribute_not_exists(#value) OR #value < :value",
            };
            let result = self
                .client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(key_map((partition(&key.bucket), key.name.clone()))))
                .update_expression("SET #value = :value, entity_type = :type")
                .condition_expression(condition)
                .expression_attribute_names("#value", "value")
                .expression_attribute_values(":value", n(value))
                .expression_attribute_values(":type", s("counter"))
                .send()
                .await;
            match result {
                Ok(_) => {}
                // The kept value is already lower (higher): nothing to do.
                Err(error) if is_conditional_failure(&error) => {}
                Err(error) => return Err(unavailable(error)),
            }
        }
        Ok(())
    }

    async fn counts(&self, keys: &[CounterKey]) -> Result<Vec<i64>, StoreError> {
        let mut found: HashMap<(String, String), i64> = HashMap::new();
        let mut unique: Vec<(String, String)> = keys
            .iter()
            .map(|key| (partition(&key.bucket), key.name.clone()))
            .collect();
        unique.sort();
        unique.dedup();
        for chunk in unique.chunks(100) {
            let mut pending = KeysAndAttributes::builder()
                .set_keys(Some(chunk.iter().cloned().map(key_map).collect()))
                .consistent_read(true)
                .build()
                .map_err(unavailable)?;
            for round in 0.. {
                if round == BATCH_ROUNDS {
                    return Err(StoreError::Unavailable(
                        "counter reads kept coming back unprocessed".into(),
                    ));
                }
                let output = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, pending.clone())
                    .send()
                    .await
                    .map_err(unavailable)?;
                for item in output
                    .responses
                    .unwrap_or_default()
                    .remove(&self.table)
                    .unwrap_or_default()
                {
                    found.insert((text(&item, "PK"), text(&item, "SK")), number(&item)?);
                }
                match output
                    .unprocessed_keys
                    .and_then(|mut unprocessed| unprocessed.remove(&self.table))
                {
                    Some(rest) if !rest.keys.is_empty() => {
                        tokio::time::sleep(std::time::Duration::from_millis(20 << round)).await;
                        pending = rest;
                    }
                    _ => break,
                }
            }
        }
        Ok(keys
            .iter()
            .map(|key| {
                found
                    .get(&(partition(&key.bucket), key.name.clone()))
                    .copied()
                    .unwrap_or(0)
            })
            .collect())
    }

    async fn counts_with_prefix(
        &self,
        bucket: &CounterBucket,
        prefix: &str,
    ) -> Result<Vec<(String, i64)>, StoreError> {
        let mut values = vec![(":pk", s(partition(bucket)))];
        // A key condition may not compare with an empty string.
        let condition = if prefix.is_empty() {
            "PK = :pk"
        } else {
            values.push((":prefix", s(prefix)));
            "PK = :pk AND begins_with(SK, :prefix)"
        };
        let items = self
            .query_items(KeyQuery {
                index: None,
                condition,
                values,
                newest_first: false,
                consistent: true,
                limit: None,
            })
            .await?;
        let mut counters = Vec::with_capacity(items.len());
        for item in items {
            counters.push((text(&item, "SK"), number(&item)?));
        }
        Ok(counters)
    }
}
