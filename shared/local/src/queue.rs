//! The Queue port over SQLite, with SQS semantics: visibility timeout, receive count, a fresh
//! receipt per receive, and a dead-letter queue after `max_receive_count` receives.

use crate::db::{store_error, Database};
use async_trait::async_trait;
use dealpulse_domain::clock::Clock;
use dealpulse_domain::ports::StoreError;
use dealpulse_domain::queue::{Queue, QueueError, ReceiptHandle, ReceivedMessage, SendReport};
use rusqlite::params;
use std::sync::Arc;
use std::time::Duration;

/// One named queue in the database file, and where its dead letters go.
#[derive(Clone)]
pub struct SqliteQueue {
    db: Database,
    clock: Arc<dyn Clock>,
    name: String,
    dead_letter: Option<(String, u32)>,
}

impl SqliteQueue {
    /// A queue whose messages move to `dead_letter_queue` when received more than
    /// `max_receive_count` times (SQS redrive policy).
    pub fn with_dead_letters(
        db: Database,
        clock: Arc<dyn Clock>,
        name: &str,
        dead_letter_queue: &str,
        max_receive_count: u32,
    ) -> Self {
        Self {
            db,
            clock,
            name: name.to_string(),
            dead_letter: Some((dead_letter_queue.to_string(), max_receive_count.max(1))),
        }
    }

    /// A queue without a redrive policy (a dead-letter queue itself, typically).
    pub fn plain(db: Database, clock: Arc<dyn Clock>, name: &str) -> Self {
        Self {
            db,
            clock,
            name: name.to_string(),
            dead_letter: None,
        }
    }

    fn now_ms(&self) -> i64 {
        self.clock.now().as_millisecond()
    }
}

fn queue_error(error: StoreError) -> QueueError {
    QueueError::Unavailable(error.to_string())
}

/// SQS's limit for one message body.
const MAX_BODY_BYTES: usize = 256 * 1024;

#[async_trait]
impl Queue for SqliteQueue {
    async fn send_batch(&self, bodies: &[String]) -> Result<SendReport, QueueError> {
        let bodies = bodies.to_vec();
        let name = self.name.clone();
        let now = self.now_ms();
        self.db
            .write(move |connection| {
                let transaction = connection.transaction().map_err(store_error)?;
                let mut report = SendReport::default();
                for (index, body) in bodies.into_iter().enumerate() {
                    if body.is_empty() || body.len() > MAX_BODY_BYTES {
                        report
                            .failed
                            .push((index, "message body must be 1 byte to 256 KiB".into()));
                        continue;
                    }
                    let id = uuid::Uuid::now_v7().to_string();
                    transaction
                        .execute(
                            "INSERT INTO queue_messages (id, queue, body, sent_at_ms, visible_at_ms) VALUES (?1, ?2, ?3, ?4, ?4)",
                            params![id, name, body, now],
                        )
                        .map_err(store_error)?;
                    report.sent.push((index, id));
                }
                transaction.commit().map_err(store_error)?;
                Ok(report)
            })
            .await
            .map_err(queue_error)
    }

    async fn receive(
        &self,
        max: u32,
        visibility: Duration,
    ) -> Result<Vec<ReceivedMessage>, QueueError> {
        let max = max.clamp(1, 10);
        let name = self.name.clone();
        let dead_letter = self.dead_letter.clone();
        let now = self.now_ms();
        let hidden_until = now.saturating_add(visibility.as_millis() as i64);
        self.db
            .write(move |connection| {
                let transaction = connection.transaction().map_err(store_error)?;
                let mut received = Vec::new();
                loop {
                    let candidates: Vec<(String, String, i64)> = {
                        let mut statement = transaction
                            .prepare_cached(
                                "SELECT id, body, receive_count FROM queue_messages \
                                 WHERE queue = ?1 AND visible_at_ms <= ?2 ORDER BY visible_at_ms, id LIMIT ?3",
                            )
                            .map_err(store_error)?;
                        let rows = statement
                            .query_map(params![name, now, max - received.len() as u32], |row| {
                                Ok((row.get(0)?, row.get(1)?, row.get(2)?))
                            })
                            .map_err(store_error)?;
                        rows.collect::<Result<_, _>>().map_err(store_error)?
                    };
                    if candidates.is_empty() {
                        break;
                    }
                    for (id, body, receive_count) in candidates {
                        if let Some((dlq, max_receives)) = &dead_letter {
                            if receive_count >= i64::from(*max_receives) {
                                transaction
                                    .execute(
                                        "UPDATE queue_messages SET queue = ?1, receive_count = 0, receipt = NULL, visible_at_ms = ?2 WHERE id = ?3",
                                        params![dlq, now, id],
                                    )
                                    .map_err(store_error)?;
                                tracing::warn!(message_id = %id, queue = %name, "message moved to dead-letter queue");
                                continue;
                            }
                        }
                        let receipt = uuid::Uuid::new_v4().to_string();
                        transaction
                            .execute(
                                "UPDATE queue_messages SET receive_count = receive_count + 1, receipt = ?1, visible_at_ms = ?2 WHERE id = ?3",
                                params![receipt, hidden_until, id],
                            )
                            .map_err(store_error)?;
                        received.push(ReceivedMessage {
                            message_id: id,
                            receipt: ReceiptHandle(receipt),
                            body,
                            receive_count: (receive_count + 1) as u32,
                        });
                    }
                    if received.len() as u32 >= max {
                        break;
                    }
                }
                transaction.commit().map_err(store_error)?;
                Ok(received)
            })
            .await
            .map_err(queue_error)
    }

    async fn delete(&self, receipt: &ReceiptHandle) -> Result<(), QueueError> {
        let receipt = receipt.0.clone();
        let name = self.name.clone();
        let removed = self
            .db
            .write(move |connection| {
                connection
                    .execute(
                        "DELETE FROM queue_messages WHERE receipt = ?1 AND queue = ?2",
                        params![receipt, name],
                    )
                    .map_err(store_error)
            })
            .await
            .map_err(queue_error)?;
        if removed == 0 {
            return Err(QueueError::InvalidReceipt);
        }
        Ok(())
    }

    async fn change_visibility(
        &self,
        receipt: &ReceiptHandle,
        visibility: Duration,
    ) -> Result<(), QueueError> {
        let receipt = receipt.0.clone();
        let name = self.name.clone();
        let visible_at = self.now_ms().saturating_add(visibility.as_millis() as i64);
        let changed = self
            .db
            .write(move |connection| {
                connection
                    .execute(
                        "UPDATE queue_messages SET visible_at_ms = ?1 WHERE receipt = ?2 AND queue = ?3",
                        params![visible_at, receipt, name],
                    )
                    .map_err(store_error)
            })
            .await
            .map_err(queue_error)?;
        if changed == 0 {
            return Err(QueueError::InvalidReceipt);
        }
        Ok(())
    }

    async fn depth(&self) -> Result<u64, QueueError> {
        let name = self.name.clone();
        let now = self.now_ms();
        self.db
            .read(move |connection| {
                connection
                    .query_row(
                        "SELECT COUNT(*) FROM queue_messages WHERE queue = ?1 AND visible_at_ms <= ?2",
                        params![name, now],
                        |row| row.get::<_, i64>(0),
                    )
                    .map(|count| count as u64)
                    .map_err(store_error)
            })
            .await
            .map_err(queue_error)
    }
}
