//! Deliveries that did not go out, for administrators: those that failed for good (kept with
//! their task so they can be retried once the cause is fixed — a webhook URL corrected, an
//! account reactivated) and the messages the queue gave up on (its dead-letter queue), which
//! can be moved back to the delivery queue.

use crate::model::DeliveryTask;
use dealpulse_domain::clock::Clock;
use dealpulse_domain::ids::UserId;
use dealpulse_domain::ports::{Store, StoreError};
use dealpulse_domain::preferences::Channel;
use dealpulse_domain::queue::{Queue, QueueError};
use dealpulse_domain::records::records;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

/// A delivery that failed for good, with the task that would send it again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FailedDelivery {
    /// The system owner: one list for all users.
    pub owner: UserId,
    /// The delivery id.
    pub key: String,
    pub user: UserId,
    pub channel: Channel,
    pub reason: String,
    pub failed_at: Timestamp,
    /// The queue message body, as it was.
    pub task: String,
    pub version: u64,
}

dealpulse_domain::keyed_record!(FailedDelivery, "failed_delivery");

/// Removes the failed deliveries of a deleted account (their tasks name its endpoints and carry
/// the deals it was alerted to). Returns how many were removed.
pub async fn forget_user(store: &dyn Store, user: UserId) -> Result<usize, StoreError> {
    let failures = records::<FailedDelivery>(store);
    let mut removed = 0;
    for failure in failures.list(UserId::system()).await? {
        if failure.user != user {
            continue;
        }
        match failures.delete(UserId::system(), &failure.key, None).await {
            Ok(()) => removed += 1,
            Err(StoreError::NotFound) => {}
            Err(other) => return Err(other),
        }
    }
    Ok(removed)
}

/// Keeps a permanently failed task for an administrator; written again for the same delivery
/// (a retry that failed again) it replaces the earlier one.
pub async fn keep_failed(
    store: &dyn Store,
    task: &DeliveryTask,
    body: &str,
    reason: &str,
    at: Timestamp,
) -> Result<(), StoreError> {
    let failures = records::<FailedDelivery>(store);
    let record = FailedDelivery {
        owner: UserId::system(),
        key: task.id.clone(),
        user: task.user,
        channel: task.channel,
        reason: reason.to_string(),
        failed_at: at,
        task: body.to_string(),
        version: 0,
    };
    for _ in 0..4 {
        match failures.insert(&record, None).await {
            Ok(_) => return Ok(()),
            Err(StoreError::Conflict(_)) => {}
            Err(other) => return Err(other),
        }
        // Kept before: replace it, unless a retry removed it meanwhile (then insert again).
        let Some(existing) = failures.get(UserId::system(), &task.id).await? else {
            continue;
        };
        match failures
            .update(&FailedDelivery {
                version: existing.version,
                ..record.clone()
            })
            .await
        {
            Ok(_) => return Ok(()),
            Err(StoreError::Stale | StoreError::NotFound) => continue,
            Err(other) => return Err(other),
        }
    }
    Err(StoreError::Unavailable(
        "the failed delivery kept changing".into(),
    ))
}

/// A message in the dead-letter queue, as far as it can be read.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeadLetter {
    pub message_id: String,
    /// How often the queues have handed it out.
    pub receive_count: u32,
    /// The delivery it carries, when the body is a readable task.
    pub delivery_id: Option<String>,
    pub user: Option<UserId>,
    pub channel: Option<Channel>,
    pub title: Option<String>,
}

/// What a redrive did.
#[derive(Debug, Default, Clone, PartialEq, Serialize)]
pub struct Redrive {
    /// Message ids moved back to the delivery queue.
    pub moved: Vec<String>,
    /// Message ids left in the dead-letter queue because sending them back failed.
    pub kept: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum FailureError {
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("queue: {0}")]
    Queue(#[from] QueueError),
    #[error("no failed delivery {0}")]
    NotFound(String),
    #[error("the delivery is sent or being sent")]
    NotFailed,
}

/// The operations on failed and dead-lettered deliveries.
#[derive(Clone)]
pub struct DeliveryFailures {
    pub store: Arc<dyn Store>,
    pub deliveries: Arc<dyn Queue>,
    pub dead_letters: Arc<dyn Queue>,
    pub clock: Arc<dyn Clock>,
}

/// How long a message read for a redrive stays hidden from a concurrent one.
const REDRIVE_VISIBILITY: Duration = Duration::from_secs(60);

impl DeliveryFailures {
    /// Failed deliveries, newest first, at most `limit`.
    pub async fn failed(&self, limit: usize) -> Result<Vec<FailedDelivery>, FailureError> {
        let mut all = records::<FailedDelivery>(self.store.as_ref())
            .list(UserId::system())
            .await?;
        all.sort_by(|a, b| b.failed_at.cmp(&a.failed_at).then(a.key.cmp(&b.key)));
        all.truncate(limit);
        Ok(all)
    }

    /// Sends a failed delivery again: its claim is reopened and its task queued; it leaves the
    /// list (it comes back if it fails again).
    pub async fn retry(&self, id: &str) -> Result<FailedDelivery, FailureError> {
        let failures = records::<FailedDelivery>(self.store.as_ref());
        let failed = failures
            .get(UserId::system(), id)
            .await?
            .ok_or_else(|| FailureError::NotFound(id.to_string()))?;
        match self.store.reopen_delivery(id, self.clock.now()).await {
            Ok(()) => {}
            Err(StoreError::Conflict(_)) => {
                // Sent by a later attempt after all: the entry is out of date.
                let sent = self.store.delivery(id).await?.is_some_and(|record| {
                    matches!(
                        record.state,
                        dealpulse_domain::delivery::DeliveryState::Sent { .. }
                    )
                });
                if sent {
                    failures
                        .delete(UserId::system(), id, Some(failed.version))
                        .await
                        .or_else(|error| match error {
                            StoreError::Stale | StoreError::NotFound => Ok(()),
                            other => Err(other),
                        })?;
                }
                return Err(FailureError::NotFailed);
            }
            Err(StoreError::NotFound) => return Err(FailureError::NotFound(id.to_string())),
            Err(other) => return Err(other.into()),
        }
        let report = self
            .deliveries
            .send_batch(std::slice::from_ref(&failed.task))
            .await?;
        if let Some((_, reason)) = report.failed.first() {
            return Err(QueueError::Unavailable(reason.clone()).into());
        }
        match failures
            .delete(UserId::system(), id, Some(failed.version))
            .await
        {
            // Failed again meanwhile and rewritten, or removed by a concurrent retry: either way
            // the task is queued once more.
            Ok(()) | Err(StoreError::Stale | StoreError::NotFound) => Ok(failed),
            Err(other) => Err(other.into()),
        }
    }

    /// Up to `limit` messages of the dead-letter queue, without taking them out of it.
    pub async fn dead_letters(&self, limit: usize) -> Result<Vec<DeadLetter>, FailureError> {
        let mut seen = BTreeSet::new();
        let mut letters = Vec::new();
        // Received with no visibility timeout, so they stay where they are; a message may come
        // back in a later receive, hence the ids seen. SQS may answer a short poll with fewer
        // messages than it holds, or none: three receives in a row without a new one end it.
        let mut fruitless = 0;
        for _ in 0..limit.div_ceil(10).max(1) * 4 {
            let messages = self.dead_letters.receive(10, Duration::ZERO).await?;
            let mut new = 0;
            for message in messages {
                if letters.len() >= limit || !seen.insert(message.message_id.clone()) {
                    continue;
                }
                new += 1;
                let task = DeliveryTask::parse(&message.body).ok();
                letters.push(DeadLetter {
                    message_id: message.message_id,
                    receive_count: message.receive_count,
                    delivery_id: task.as_ref().map(|t| t.id.clone()),
                    user: task.as_ref().map(|t| t.user),
                    channel: task.as_ref().map(|t| t.channel),
                    title: task
                        .as_ref()
                        .and_then(|t| t.notice.deals.first())
                        .map(|deal| deal.title.clone()),
                });
            }
            fruitless = if new == 0 { fruitless + 1 } else { 0 };
            if fruitless == 3 || letters.len() >= limit {
                break;
            }
        }
        Ok(letters)
    }

    /// Moves up to `max` messages from the dead-letter queue back to the delivery queue. A
    /// message is deleted from the dead-letter queue only once it is in the delivery queue, so
    /// a failure half-way keeps it (and a repeat may send it twice, which the delivery claim
    /// makes harmless).
    pub async fn redrive(&self, max: usize) -> Result<Redrive, FailureError> {
        let mut result = Redrive::default();
        while result.moved.len() + result.kept.len() < max {
            let wanted = (max - result.moved.len() - result.kept.len()).min(10) as u32;
            let messages = self
                .dead_letters
                .receive(wanted, REDRIVE_VISIBILITY)
                .await?;
            if messages.is_empty() {
                break;
            }
            let bodies: Vec<String> = messages.iter().map(|m| m.body.clone()).collect();
            let report = self.deliveries.send_batch(&bodies).await?;
            for (position, _) in &report.sent {
                let Some(message) = messages.get(*position) else {
                    continue;
                };
                // Already in the delivery queue: if it cannot be deleted here it is moved again
                // by a later redrive, which its delivery claim makes harmless.
                if let Err(error) = self.dead_letters.delete(&message.receipt).await {
                    tracing::warn!(id = %message.message_id, %error, "a moved dead letter stays in the dead-letter queue");
                }
                result.moved.push(message.message_id.clone());
            }
            for (position, reason) in &report.failed {
                let Some(message) = messages.get(*position) else {
                    continue;
                };
                tracing::warn!(id = %message.message_id, %reason, "could not move a dead letter back");
                result.kept.push(message.message_id.clone());
            }
            if !report.failed.is_empty() {
                break;
            }
        }
        Ok(result)
    }
}
