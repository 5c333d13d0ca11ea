//! Delivery claims over SQLite: read and write in one transaction on the single writer
//! connection, so a claim is atomic.

use crate::db::store_error;
use crate::records::{database, decode, encode};
use crate::store::SqliteStore;
use async_trait::async_trait;
use dealpulse_domain::delivery::{
    Claim, DeliveryRecord, DeliveryRepository, DeliveryState, Outcome,
};
use dealpulse_domain::ids::UserId;
use dealpulse_domain::ports::StoreError;
use dealpulse_domain::preferences::Channel;
use jiff::Timestamp;
use rusqlite::{params, OptionalExtension};

fn read(
    transaction: &rusqlite::Transaction<'_>,
    id: &str,
) -> Result<Option<DeliveryRecord>, StoreError> {
    transaction
        .query_row(
            "SELECT body FROM deliveries WHERE id = ?1",
            params![id],
            |row| row.get::<_, String>(0),
        )
        .optional()
        .map_err(store_error)?
        .map(|body| decode("delivery", &body))
        .transpose()
}

fn write(
    transaction: &rusqlite::Transaction<'_>,
    record: &DeliveryRecord,
) -> Result<(), StoreError> {
    transaction
        .execute(
            "INSERT INTO deliveries (id, body) VALUES (?1, ?2) \
             ON CONFLICT (id) DO UPDATE SET body = excluded.body",
            params![record.id, encode(record)?],
        )
        .map_err(store_error)?;
    Ok(())
}

impl SqliteStore {
    /// Reads the delivery and writes what `change` makes of it (nothing for `None`), in one
    /// transaction; `NotFound` when there is none.
    async fn change_delivery(
        &self,
        id: &str,
        change: impl FnOnce(&DeliveryRecord) -> Result<Option<DeliveryRecord>, StoreError>
            + Send
            + 'static,
    ) -> Result<(), StoreError> {
        let id = id.to_string();
        database(self)
            .write(move |connection| {
                let transaction = connection.transaction().map_err(store_error)?;
                let Some(record) = read(&transaction, &id)? else {
                    return Err(StoreError::NotFound);
                };
                if let Some(changed) = change(&record)? {
                    write(&transaction, &changed)?;
                }
                transaction.commit().map_err(store_error)
            })
            .await
    }
}

#[async_trait]
impl DeliveryRepository for SqliteStore {
    async fn claim_delivery(
        &self,
        id: &str,
        user: UserId,
        channel: Channel,
        now: Timestamp,
        lease_until: Timestamp,
    ) -> Result<Claim, StoreError> {
        let id = id.to_string();
        database(self)
            .write(move |connection| {
                let transaction = connection.transaction().map_err(store_error)?;
                let existing = read(&transaction, &id)?;
                if let Some(found) = existing.as_ref().and_then(|r| r.claim_at(now)) {
                    return Ok(found);
                }
                let attempt = existing.map_or(1, |r| r.attempt + 1);
                write(
                    &transaction,
                    &DeliveryRecord {
                        id,
                        user,
                        channel,
                        attempt,
                        state: DeliveryState::InProgress { until: lease_until },
                        updated_at: now,
                    },
                )?;
                transaction.commit().map_err(store_error)?;
                Ok(Claim::Claimed { attempt })
            })
            .await
    }

    async fn finish_delivery(
        &self,
        id: &str,
        attempt: u32,
        outcome: Outcome,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        self.change_delivery(id, move |record| {
            if record.attempt != attempt
                || !matches!(record.state, DeliveryState::InProgress { .. })
            {
                return Err(StoreError::Stale);
            }
            Ok(Some(record.finished(outcome, now)))
        })
        .await
    }

    async fn delivery(&self, id: &str) -> Result<Option<DeliveryRecord>, StoreError> {
        let id = id.to_string();
        database(self)
            .write(move |connection| {
                let transaction = connection.transaction().map_err(store_error)?;
                read(&transaction, &id)
            })
            .await
    }

    async fn reopen_delivery(&self, id: &str, now: Timestamp) -> Result<(), StoreError> {
        self.change_delivery(id, move |record| record.reopened(now))
            .await
    }
}
