//! Exactly-once delivery effects on an at-least-once queue: before sending, a worker claims the
//! delivery (its dedup key) with a conditional write; the claim holds until a lease expires, and
//! finishing it is fenced by the attempt number, so a redelivered message finds the claim (or the
//! finished delivery) and does nothing, and a worker whose lease lapsed cannot overwrite a newer
//! attempt's result.

use crate::ids::UserId;
use crate::ports::StoreError;
use crate::preferences::Channel;
use async_trait::async_trait;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// Where a delivery stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum DeliveryState {
    /// A worker is sending it until `until`.
    InProgress {
        until: Timestamp,
    },
    /// A transient failure: the next claim tries again.
    Retrying {
        reason: String,
    },
    Sent {
        provider_id: Option<String>,
    },
    /// A permanent failure (or out of attempts): never sent again.
    Failed {
        reason: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryRecord {
    /// The dedup key (see `policy::dedup_key`).
    pub id: String,
    pub user: UserId,
    pub channel: Channel,
    pub attempt: u32,
    pub state: DeliveryState,
    pub updated_at: Timestamp,
}

/// What a claim found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// Yours to send, as this attempt (fencing token for [`DeliveryRepository::finish_delivery`]).
    Claimed {
        attempt: u32,
    },
    /// Another worker holds it until then.
    Busy {
        until: Timestamp,
    },
    AlreadySent,
    AlreadyFailed,
}

/// How an attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Sent { provider_id: Option<String> },
    Retry { reason: String },
    Failed { reason: String },
}

#[async_trait]
pub trait DeliveryRepository: Send + Sync {
    /// Claims the delivery for one attempt until `lease_until`: a new delivery, a retrying one,
    /// or one whose previous claim lapsed. Atomic: of two workers claiming at once, one wins.
    async fn claim_delivery(
        &self,
        id: &str,
        user: UserId,
        channel: Channel,
        now: Timestamp,
        lease_until: Timestamp,
    ) -> Result<Claim, StoreError>;
    /// Records how `attempt` ended; `Stale` when the claim is no longer that attempt's.
    async fn finish_delivery(
        &self,
        id: &str,
        attempt: u32,
        outcome: Outcome,
        now: Timestamp,
    ) -> Result<(), StoreError>;
    async fn delivery(&self, id: &str) -> Result<Option<DeliveryRecord>, StoreError>;
    /// Makes a failed delivery claimable again (an administrator retrying it): `Failed` (or a
    /// claim whose lease lapsed) becomes `Retrying`; already `Retrying` stays so (a retry
    /// repeated). `NotFound` when absent, `Conflict` when it is sent or being sent.
    async fn reopen_delivery(&self, id: &str, now: Timestamp) -> Result<(), StoreError>;
}

impl DeliveryRecord {
    /// What a claim at `now` finds in this record.
    pub fn claim_at(&self, now: Timestamp) -> Option<Claim> {
        match &self.state {
            DeliveryState::Sent { .. } => Some(Claim::AlreadySent),
            DeliveryState::Failed { .. } => Some(Claim::AlreadyFailed),
            DeliveryState::InProgress { until } if *until > now => {
                Some(Claim::Busy { until: *until })
            }
            // Lapsed or retrying: claimable.
            _ => None,
        }
    }

    /// The record retried by an administrator, or why it cannot be. A claim whose lease lapsed
    /// (its worker died) counts as failed.
    pub fn reopened(&self, now: Timestamp) -> Result<Option<DeliveryRecord>, StoreError> {
        let lapsed = matches!(self.state, DeliveryState::InProgress { until } if until <= now);
        match &self.state {
            _ if lapsed => Ok(Some(DeliveryRecord {
                state: DeliveryState::Retrying {
                    reason: "retried by an administrator".into(),
                },
                updated_at: now,
                ..self.clone()
            })),
            DeliveryState::Failed { .. } => Ok(Some(DeliveryRecord {
                state: DeliveryState::Retrying {
                    reason: "retried by an administrator".into(),
                },
                updated_at: now,
                ..self.clone()
            })),
            DeliveryState::Retrying { .. } => Ok(None),
            DeliveryState::Sent { .. } | DeliveryState::InProgress { .. } => {
                Err(StoreError::Conflict("the delivery is sent or being sent"))
            }
        }
    }

    pub fn finished(&self, outcome: Outcome, now: Timestamp) -> DeliveryRecord {
        DeliveryRecord {
            state: match outcome {
                Outcome::Sent { provider_id } => DeliveryState::Sent { provider_id },
                Outcome::Retry { reason } => DeliveryState::Retrying { reason },
                Outcome::Failed { reason } => DeliveryState::Failed { reason },
            },
            updated_at: now,
            ..self.clone()
        }
    }
}
