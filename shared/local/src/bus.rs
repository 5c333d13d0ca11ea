//! The local event bus: each published event is queued, in EventBridge's envelope, on a durable
//! SQLite queue that in-process consumers (the matcher) receive from. A crash between publish and
//! consumption loses nothing, as with EventBridge → SQS.

use async_trait::async_trait;
use dealpulse_domain::clock::Clock;
use dealpulse_domain::events::{CatalogEvent, EventEnvelope, EventPublisher, PublishError};
use dealpulse_domain::queue::Queue;
use std::sync::Arc;

pub struct QueueEventBus {
    queue: Arc<dyn Queue>,
    clock: Arc<dyn Clock>,
}

impl QueueEventBus {
    pub fn new(queue: Arc<dyn Queue>, clock: Arc<dyn Clock>) -> Self {
        Self { queue, clock }
    }
}

#[async_trait]
impl EventPublisher for QueueEventBus {
    async fn publish(&self, events: &[CatalogEvent]) -> Result<(), PublishError> {
        let now = self.clock.now();
        let bodies = events
            .iter()
            .map(|event| serde_json::to_string(&EventEnvelope::new(event.clone(), now)))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| PublishError::Unavailable(format!("cannot encode an event: {e}")))?;
        let mut failed = 0;
        let mut reason = String::new();
        for chunk in bodies.chunks(10) {
            let report = self
                .queue
                .send_batch(chunk)
                .await
                .map_err(|e| PublishError::Unavailable(e.to_string()))?;
            if let Some((_, why)) = report.failed.first() {
                reason = why.clone();
            }
            failed += report.failed.len();
        }
        if failed > 0 {
            return Err(PublishError::Rejected {
                failed,
                total: events.len(),
                reason,
            });
        }
        Ok(())
    }
}
