//! The event publisher over an EventBridge bus. `PutEvents` takes at most 10 entries per call
//! and can accept some entries while refusing others (a 200 with `FailedEntryCount > 0`), so each
//! refused entry is retried with backoff and any still refused are reported, never dropped.

use crate::describe;
use async_trait::async_trait;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use aws_sdk_eventbridge::Client;
use dealpulse_domain::events::{CatalogEvent, EventPublisher, PublishError, EVENT_SOURCE};
use std::time::Duration;

/// Entries per `PutEvents` call (the service maximum).
const BATCH: usize = 10;
/// Extra attempts for entries the bus refused.
const RETRIES: u32 = 3;
/// EventBridge's limit on one entry, counted as Source + DetailType + Detail bytes (+ 14 for the
/// time). Larger entries fail the whole call, so they are refused here and reported.
const MAX_ENTRY_BYTES: usize = 256 * 1024;

pub struct EventBridgePublisher {
    client: Client,
    bus: String,
}

impl EventBridgePublisher {
    pub fn new(client: Client, bus: impl Into<String>) -> Self {
        Self {
            client,
            bus: bus.into(),
        }
    }

    fn entry(&self, event: &CatalogEvent) -> Result<PutEventsRequestEntry, PublishError> {
        let detail = serde_json::to_string(event)
            .map_err(|e| PublishError::Unavailable(format!("cannot encode an event: {e}")))?;
        Ok(PutEventsRequestEntry::builder()
            .event_bus_name(&self.bus)
            .source(EVENT_SOURCE)
            .detail_type(event.kind())
            .detail(detail)
            .build())
    }
}

#[async_trait]
impl EventPublisher for EventBridgePublisher {
    async fn publish(&self, events: &[CatalogEvent]) -> Result<(), PublishError> {
        let mut lost = 0;
        let mut last_reason = String::new();
        let mut entries = Vec::with_capacity(events.len());
        for event in events {
            let entry = self.entry(event)?;
            let size = 14
                + entry.source().map_or(0, str::len)
                + entry.detail_type().map_or(0, str::len)
                + entry.detail().map_or(0, str::len);
            if size > MAX_ENTRY_BYTES {
                lost += 1;
                last_reason = format!("a {} event of {size} bytes exceeds 256 KiB", event.kind());
            } else {
                entries.push(entry);
            }
        }
        for chunk in entries.chunks(BATCH) {
            let mut pending = chunk.to_vec();
            for attempt in 0..=RETRIES {
                if attempt > 0 {
                    tokio::time::sleep(Duration::from_millis(100 << attempt)).await;
                }
                let output = self
                    .client
                    .put_events()
                    .set_entries(Some(pending.clone()))
                    .send()
                    .await
                    .map_err(|e| PublishError::Unavailable(describe(&e)))?;
                if output.failed_entry_count == 0 {
                    pending.clear();
                    break;
                }
                // Results are positional: an entry with an error code was not accepted.
                let results = output.entries.unwrap_or_default();
                let mut refused = Vec::new();
                for (entry, result) in pending.iter().zip(results.iter()) {
                    if let Some(code) = result.error_code() {
                        last_reason =
                            format!("{code}: {}", result.error_message().unwrap_or("no message"));
                        refused.push(entry.clone());
                    }
                }
                pending = refused;
                if pending.is_empty() {
                    break;
                }
            }
            lost += pending.len();
        }
        if lost > 0 {
            return Err(PublishError::Rejected {
                failed: lost,
                total: events.len(),
                reason: last_reason,
            });
        }
        Ok(())
    }
}
