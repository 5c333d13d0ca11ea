//! The queue port: at-least-once messaging with SQS semantics (visibility timeout, receive count,
//! dead-letter queue after too many receives).

use async_trait::async_trait;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// The receipt handle is unknown or no longer valid (the message was deleted or re-received).
    #[error("receipt handle is not valid")]
    InvalidReceipt,
    #[error("message refused: {0}")]
    Refused(String),
    #[error("queue unavailable: {0}")]
    Unavailable(String),
}

/// Identifies one receipt of a message; needed to delete it or change its visibility.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptHandle(pub String);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedMessage {
    pub message_id: String,
    pub receipt: ReceiptHandle,
    pub body: String,
    /// How many times the message has been received, this time included.
    pub receive_count: u32,
}

/// What happened to each message of a batch, by position in the batch.
#[derive(Debug, Default)]
pub struct SendReport {
    pub sent: Vec<(usize, String)>,
    pub failed: Vec<(usize, String)>,
}

#[async_trait]
pub trait Queue: Send + Sync {
    /// Sends the bodies; partial failure is reported per message, never hidden.
    async fn send_batch(&self, bodies: &[String]) -> Result<SendReport, QueueError>;
    /// Receives up to `max` visible messages (1..=10) and hides them for `visibility`. A message
    /// received more often than the queue's max receive count moves to its dead-letter queue
    /// instead of being returned.
    async fn receive(
        &self,
        max: u32,
        visibility: Duration,
    ) -> Result<Vec<ReceivedMessage>, QueueError>;
    async fn delete(&self, receipt: &ReceiptHandle) -> Result<(), QueueError>;
    /// Makes a received message visible again after `visibility` (zero: at once).
    async fn change_visibility(
        &self,
        receipt: &ReceiptHandle,
        visibility: Duration,
    ) -> Result<(), QueueError>;
    /// Approximate number of messages waiting (visible) in the queue.
    async fn depth(&self) -> Result<u64, QueueError>;
}
