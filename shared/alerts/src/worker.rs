//! Queue pumps for a runtime that polls its own queues (local mode, tests): catalogue events
//! into the matcher, deliveries into the deliverer. Lambda gets the same work from its event
//! source mappings instead.

use crate::deliver::Deliverer;
use crate::matcher::Matcher;
use dealpulse_domain::events::EventEnvelope;
use dealpulse_domain::queue::{Queue, QueueError};
use std::time::Duration;

/// How long a received event stays hidden while it is matched.
const MATCH_VISIBILITY: Duration = Duration::from_secs(60);

/// Matches up to `max` waiting events; each is deleted once handled, and comes back after the
/// visibility timeout when handling failed (the queue's dead-letter queue takes it after too
/// many tries). Returns how many were handled.
pub async fn pump_events(
    matcher: &Matcher,
    events: &dyn Queue,
    max: u32,
) -> Result<usize, QueueError> {
    let messages = events.receive(max.clamp(1, 10), MATCH_VISIBILITY).await?;
    let received = messages.len();
    let mut handled = 0;
    for message in messages {
        let envelope: EventEnvelope = match serde_json::from_str(&message.body) {
            Ok(envelope) => envelope,
            Err(error) => {
                tracing::error!(id = %message.message_id, %error, "not a catalogue event; left for the dead-letter queue");
                continue;
            }
        };
        match matcher.handle(&envelope).await {
            Ok(report) => {
                tracing::debug!(event = %envelope.id, alerts = report.alerts, queued = report.queued, "event matched");
                events.delete(&message.receipt).await?;
                handled += 1;
            }
            Err(error) => {
                tracing::warn!(event = %envelope.id, %error, "matching failed; the event comes back");
            }
        }
    }
    if received > 0 {
        matcher.note_batch(received - handled).await;
    }
    Ok(handled)
}

/// Receives one batch of deliveries and processes it; returns how many messages it got.
pub async fn pump_deliveries(
    deliverer: &Deliverer,
    queue: &dyn Queue,
    lease: Duration,
) -> Result<usize, QueueError> {
    let messages = queue.receive(10, lease).await?;
    if messages.is_empty() {
        return Ok(0);
    }
    deliverer.run_batch(queue, &messages, true).await;
    Ok(messages.len())
}
