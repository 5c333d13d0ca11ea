//! The `match` function's handler. Catalogue events reach it through an SQS queue (an
//! EventBridge rule on the bus copies them there), so a failed event is retried by the queue and
//! ends in its dead-letter queue after too many tries; the answer names only the failed
//! messages (`ReportBatchItemFailures`).

use dealpulse_alerts::matcher::Matcher;
use dealpulse_aws::lambda_events::{BatchResponse, EventError, SqsBatch};
use dealpulse_domain::events::EventEnvelope;
use dealpulse_domain::queue::ReceivedMessage;
use serde_json::Value;

pub use dealpulse_aws::env::{ConfigError, FunctionEnv};

/// What the function reads from its environment, once.
#[derive(Debug, Clone)]
pub struct Config {
    pub table: String,
    /// The delivery queue the matched alerts go to.
    pub queue_url: String,
}

impl Config {
    pub fn from_env(env: &FunctionEnv) -> Result<Self, ConfigError> {
        Ok(Self {
            table: env.required("DEALPULSE_TABLE")?,
            queue_url: env.required("DEALPULSE_QUEUE_URL")?,
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    #[error(transparent)]
    Event(#[from] EventError),
}

impl From<HandlerError> for lambda_runtime::Diagnostic {
    fn from(error: HandlerError) -> Self {
        lambda_runtime::Diagnostic {
            error_type: "NotAnSqsBatch".into(),
            error_message: error.to_string(),
        }
    }
}

pub struct MatchHandler {
    matcher: Matcher,
}

impl MatchHandler {
    pub fn new(matcher: Matcher) -> Self {
        Self { matcher }
    }

    /// Matches the batch's events concurrently; the failed ones (unreadable, or the store or
    /// queue failed) are reported so the queue brings them back.
    pub async fn handle(&self, payload: Value) -> Result<BatchResponse, HandlerError> {
        let batch = SqsBatch::parse(payload)?;
        let outcomes =
            futures::future::join_all(batch.messages.iter().map(|message| self.one(message))).await;
        let failed: Vec<String> = batch
            .messages
            .iter()
            .zip(outcomes)
            .filter(|(_, ok)| !ok)
            .map(|(message, _)| message.message_id.clone())
            .collect();
        if !batch.messages.is_empty() {
            self.matcher.note_batch(failed.len()).await;
        }
        Ok(BatchResponse::failing(failed))
    }

    async fn one(&self, message: &ReceivedMessage) -> bool {
        let envelope: EventEnvelope = match serde_json::from_str(&message.body) {
            Ok(envelope) => envelope,
            Err(error) => {
                tracing::error!(id = %message.message_id, %error, "not a catalogue event; it goes to the dead-letter queue");
                return false;
            }
        };
        match self.matcher.handle(&envelope).await {
            Ok(report) => {
                tracing::info!(event = %envelope.id, kind = %envelope.detail_type, alerts = report.alerts, queued = report.queued, digested = report.digested, "event matched");
                true
            }
            Err(error) => {
                tracing::warn!(event = %envelope.id, receive_count = message.receive_count, %error, "matching failed; the event comes back");
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn config_needs_table_and_queue() {
        assert!(matches!(
            Config::from_env(&FunctionEnv::from_pairs(&[("DEALPULSE_TABLE", "t")])),
            Err(ConfigError::Missing("DEALPULSE_QUEUE_URL"))
        ));
        let config = Config::from_env(&FunctionEnv::from_pairs(&[
            ("DEALPULSE_TABLE", "t"),
            ("DEALPULSE_QUEUE_URL", "http://q"),
        ]))
        .unwrap();
        assert_eq!(config.queue_url, "http://q");
    }
}
