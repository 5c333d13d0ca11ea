//! The Lambda event shapes our event-driven functions receive, parsed at the boundary: a
//! schedule's tick (EventBridge), a batch of SQS messages, and the partial-batch answer
//! (`ReportBatchItemFailures`). Serde only: no SDK client is needed to read an event.

use dealpulse_domain::queue::{ReceiptHandle, ReceivedMessage};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A schedule's tick: an EventBridge scheduled-rule event or an EventBridge Scheduler event.
#[derive(Debug, Clone, PartialEq)]
pub struct Tick {
    pub time: Timestamp,
}

#[derive(Debug, thiserror::Error)]
pub enum EventError {
    #[error("not a scheduled event: {0}")]
    NotScheduled(String),
    #[error("not an SQS batch: {0}")]
    NotSqsBatch(String),
}

#[derive(Deserialize)]
struct ScheduledEvent {
    source: String,
    #[serde(rename = "detail-type")]
    detail_type: String,
    time: Timestamp,
}

impl Tick {
    pub fn parse(payload: Value) -> Result<Tick, EventError> {
        let event: ScheduledEvent =
            serde_json::from_value(payload).map_err(|e| EventError::NotScheduled(e.to_string()))?;
        let scheduled = matches!(event.source.as_str(), "aws.events" | "aws.scheduler")
            && event.detail_type == "Scheduled Event";
        if !scheduled {
            return Err(EventError::NotScheduled(format!(
                "{} / {}",
                event.source, event.detail_type
            )));
        }
        Ok(Tick { time: event.time })
    }
}

/// The messages of one SQS event source invocation, as the queue port's received messages (the
/// receipt handle lets a consumer change a message's visibility for its backoff).
#[derive(Debug, Clone, PartialEq)]
pub struct SqsBatch {
    pub messages: Vec<ReceivedMessage>,
}

#[derive(Deserialize)]
struct SqsEvent {
    #[serde(rename = "Records")]
    records: Vec<SqsRecord>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SqsRecord {
    message_id: String,
    receipt_handle: String,
    body: String,
    event_source: String,
    #[serde(default)]
    attributes: SqsAttributes,
}

#[derive(Deserialize, Default)]
struct SqsAttributes {
    #[serde(rename = "ApproximateReceiveCount")]
    receive_count: Option<String>,
}

impl SqsBatch {
    pub fn parse(payload: Value) -> Result<SqsBatch, EventError> {
        let event: SqsEvent =
            serde_json::from_value(payload).map_err(|e| EventError::NotSqsBatch(e.to_string()))?;
        if event.records.is_empty() {
            return Err(EventError::NotSqsBatch("no records".into()));
        }
        let messages = event
            .records
            .into_iter()
            .map(|record| {
                if record.event_source != "aws:sqs" {
                    return Err(EventError::NotSqsBatch(format!(
                        "record from {}",
                        record.event_source
                    )));
                }
                Ok(ReceivedMessage {
                    message_id: record.message_id,
                    receipt: ReceiptHandle(record.receipt_handle),
                    body: record.body,
                    receive_count: record
                        .attributes
                        .receive_count
                        .and_then(|count| count.parse().ok())
                        .unwrap_or(1),
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(SqsBatch { messages })
    }
}

/// The answer of an SQS consumer with `ReportBatchItemFailures`: only the listed messages come
/// back; the event source mapping deletes the others.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchResponse {
    pub batch_item_failures: Vec<BatchItemFailure>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchItemFailure {
    pub item_identifier: String,
}

impl BatchResponse {
    pub fn failing(ids: impl IntoIterator<Item = String>) -> Self {
        Self {
            batch_item_failures: ids
                .into_iter()
                .map(|item_identifier| BatchItemFailure { item_identifier })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn only_scheduled_events_are_ticks() {
        let rule = json!({"version":"0","id":"1","detail-type":"Scheduled Event","source":"aws.events","account":"1","time":"2026-11-25T12:00:00Z","region":"us-east-1","resources":[],"detail":{}});
        assert!(Tick::parse(rule).is_ok());
        let other = json!({"detail-type":"price.changed","source":"dealpulse.ingest","time":"2026-11-25T12:00:00Z"});
        assert!(Tick::parse(other).is_err());
        assert!(Tick::parse(json!({"hello": 1})).is_err());
    }

    #[test]
    fn sqs_batches_keep_ids_receipts_and_receive_counts() {
        let event = json!({"Records": [
            {"messageId": "m1", "receiptHandle": "r1", "body": "{}", "eventSource": "aws:sqs",
             "attributes": {"ApproximateReceiveCount": "3"}, "eventSourceARN": "arn:aws:sqs:us-east-1:1:q"},
            {"messageId": "m2", "receiptHandle": "r2", "body": "x", "eventSource": "aws:sqs"}
        ]});
        let batch = SqsBatch::parse(event).unwrap();
        assert_eq!(batch.messages.len(), 2);
        assert_eq!(batch.messages[0].receive_count, 3);
        assert_eq!(batch.messages[1].receipt, ReceiptHandle("r2".into()));
        assert!(SqsBatch::parse(json!({"Records": []})).is_err());
        assert!(SqsBatch::parse(json!({"Records": [{"messageId": "m", "receiptHandle": "r", "body": "", "eventSource": "aws:kinesis"}]})).is_err());
        assert!(SqsBatch::parse(json!({"detail-type": "Scheduled Event"})).is_err());
        let answer = serde_json::to_value(BatchResponse::failing(["m2".to_string()])).unwrap();
        assert_eq!(
            answer,
            json!({"batchItemFailures": [{"itemIdentifier": "m2"}]})
        );
    }
}
