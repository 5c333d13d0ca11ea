//! Delivery claims in the single table (`PK = DELIVERY#<dedup key>`, `SK = DELIVERY`): a claim is
//! one conditional `PutItem` (absent, retrying, or a lapsed lease) and finishing one is fenced by
//! the attempt number, so concurrent workers and redelivered messages cannot both send.

use super::records::{decode, encode, nanos};
use super::{is_conditional_failure, key_map, n, s, unavailable, DynamoStore};
use async_trait::async_trait;
use dealpulse_domain::delivery::{
    Claim, DeliveryRecord, DeliveryRepository, DeliveryState, Outcome,
};
use dealpulse_domain::ids::UserId;
use dealpulse_domain::ports::StoreError;
use dealpulse_domain::preferences::Channel;
use jiff::Timestamp;

fn delivery_key(id: &str) -> (String, String) {
    (format!("DELIVERY#{id}"), "DELIVERY".into())
}

fn state_name(state: &DeliveryState) -> &'static str {
    match state {
        DeliveryState::InProgress { .. } => "in_progress",
        DeliveryState::Retrying { .. } => "retrying",
        DeliveryState::Sent { .. } => "sent",
        DeliveryState::Failed { .. } => "failed",
    }
}

impl DynamoStore {
    fn delivery_item(
        &self,
        record: &DeliveryRecord,
    ) -> Result<
        std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>,
        StoreError,
    > {
        let mut item = key_map(delivery_key(&record.id));
        item.insert("entity_type".into(), s("delivery"));
        item.insert("state".into(), s(state_name(&record.state)));
        item.insert("attempt".into(), n(record.attempt));
        let until = match &record.state {
            DeliveryState::InProgress { until } => nanos(*until),
            _ => 0,
        };
        item.insert("lease_ns".into(), n(until));
        item.insert("body".into(), s(encode(record)?));
        Ok(item)
    }
}

impl DynamoStore {
    /// Writes `next` only if the stored record is still `seen` (same attempt, same state);
    /// `Stale` otherwise.
    async fn replace_delivery(
        &self,
        next: &DeliveryRecord,
        seen: &DeliveryRecord,
    ) -> Result<(), StoreError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(self.delivery_item(next)?))
            .condition_expression("attempt = :attempt AND #state = :state")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":attempt", n(seen.attempt))
            .expression_attribute_values(":state", s(state_name(&seen.state)))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(error) if is_conditional_failure(&error) => Err(StoreError::Stale),
            Err(error) => Err(unavailable(error)),
        }
    }
}

#[async_trait]
impl DeliveryRepository for DynamoStore {
    async fn claim_delivery(
        &self,
        id: &str,
        user: UserId,
        channel: Channel,
        now: Timestamp,
        lease_until: Timestamp,
    ) -> Result<Claim, StoreError> {
        for _ in 0..4 {
            let existing = self.delivery(id).await?;
            if let Some(found) = existing.as_ref().and_then(|r| r.claim_at(now)) {
                return Ok(found);
            }
            let attempt = existing.as_ref().map_or(1, |r| r.attempt + 1);
            let record = DeliveryRecord {
                id: id.to_string(),
                user,
                channel,
                attempt,
                state: DeliveryState::InProgress { until: lease_until },
                updated_at: now,
            };
            // Exactly the state just read may be replaced: nothing, or the same attempt.
            let request = self
                .client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(self.delivery_item(&record)?));
            let request = match &existing {
                None => request.condition_expression("attribute_not_exists(PK)"),
                // The state too: a holder finishing its attempt keeps the number but not the state.
                Some(previous) => request
                    .condition_expression("attempt = :seen AND #state = :seen_state")
                    .expression_attribute_names("#state", "state")
                    .expression_attribute_values(":seen", n(previous.attempt))
                    .expression_attribute_values(":seen_state", s(state_name(&previous.state))),
            };
            match request.send().await {
                Ok(_) => return Ok(Claim::Claimed { attempt }),
                // Someone claimed between the read and the write: read again.
                Err(error) if is_conditional_failure(&error) => continue,
                Err(error) => return Err(unavailable(error)),
            }
        }
        match self.delivery(id).await? {
            Some(record) => Ok(record.claim_at(now).unwrap_or(Claim::Busy { until: now })),
            None => Err(StoreError::Stale),
        }
    }

    async fn finish_delivery(
        &self,
        id: &str,
        attempt: u32,
        outcome: Outcome,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let Some(record) = self.delivery(id).await? else {
            return Err(StoreError::NotFound);
        };
        if record.attempt != attempt || !matches!(record.state, DeliveryState::InProgress { .. }) {
            return Err(StoreError::Stale);
        }
        self.replace_delivery(&record.finished(outcome, now), &record)
            .await
    }

    async fn delivery(&self, id: &str) -> Result<Option<DeliveryRecord>, StoreError> {
        self.get(delivery_key(id))
            .await?
            .map(|item| decode("delivery", &item))
            .transpose()
    }

    async fn reopen_delivery(&self, id: &str, now: Timestamp) -> Result<(), StoreError> {
        let Some(record) = self.delivery(id).await? else {
            return Err(StoreError::NotFound);
        };
        match record.reopened(now)? {
            Some(reopened) => self.replace_delivery(&reopened, &record).await,
            None => Ok(()),
        }
    }
}
