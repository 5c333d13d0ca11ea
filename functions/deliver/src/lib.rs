//! The `deliver` function's handler: the SQS event source hands it up to ten deliveries; they
//! are sent concurrently, each claimed first so a redelivered message sends nothing twice. A
//! delivery to retry gets its backoff as the message's visibility and is reported in
//! `batchItemFailures`; the queue's redrive policy moves it to the dead-letter queue after too
//! many receives. Everything else is deleted by the event source mapping.

use dealpulse_alerts::deliver::{Deliverer, DeliverySettings};
use dealpulse_aws::lambda_events::{BatchResponse, EventError, SqsBatch};
use dealpulse_domain::clicks::derive_click_key;
use dealpulse_domain::queue::Queue;
use dealpulse_domain::unsubscribe::derive_unsubscribe_key;
use dealpulse_domain::vapid::VapidKeys;
use serde_json::Value;
use std::collections::BTreeSet;
use std::sync::Arc;

pub use dealpulse_aws::env::{ConfigError, FunctionEnv};

/// What the function reads from its environment, once.
pub struct Config {
    pub table: String,
    pub queue_url: String,
    pub sender: String,
    pub configuration_set: Option<String>,
    pub settings: DeliverySettings,
    /// From `DEALPULSE_VAPID_SECRET`, the same seed api-preferences publishes the key from.
    pub vapid: VapidKeys,
    /// `DEALPULSE_NOTIFY_ORIGIN`: every webhook and push request goes there instead. Tests and
    /// relays only; the template does not set it.
    pub notify_origin: Option<url::Url>,
    /// `DEALPULSE_FETCH_LOOPBACK_PORTS`: tests only.
    pub loopback_ports: BTreeSet<u16>,
}

impl Config {
    pub fn from_env(env: &FunctionEnv) -> Result<Self, ConfigError> {
        let invalid = |name: &'static str, why: String| ConfigError::Invalid { name, why };
        let signing_secret = env.required("DEALPULSE_JWT_SECRET")?;
        let vapid = VapidKeys::derive(&env.required("DEALPULSE_VAPID_SECRET")?)
            .map_err(|e| invalid("DEALPULSE_VAPID_SECRET", e.to_string()))?;
        let notify_origin = env
            .optional("DEALPULSE_NOTIFY_ORIGIN")
            .map(|origin| url::Url::parse(&origin))
            .transpose()
            .map_err(|e| invalid("DEALPULSE_NOTIFY_ORIGIN", e.to_string()))?;
        Ok(Self {
            table: env.required("DEALPULSE_TABLE")?,
            queue_url: env.required("DEALPULSE_QUEUE_URL")?,
            sender: env.required("DEALPULSE_SENDER")?,
            configuration_set: env.optional("DEALPULSE_SES_CONFIGURATION_SET"),
            settings: DeliverySettings::new(
                &env.required("DEALPULSE_PUBLIC_URL")?,
                derive_unsubscribe_key(signing_secret.as_bytes()),
                derive_click_key(signing_secret.as_bytes()),
            ),
            vapid,
            notify_origin,
            loopback_ports: env.ports("DEALPULSE_FETCH_LOOPBACK_PORTS")?,
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

pub struct DeliverHandler {
    deliverer: Deliverer,
    /// The delivery queue itself, for the backoff (ChangeMessageVisibility).
    queue: Arc<dyn Queue>,
}

impl DeliverHandler {
    pub fn new(deliverer: Deliverer, queue: Arc<dyn Queue>) -> Self {
        Self { deliverer, queue }
    }

    pub async fn handle(&self, payload: Value) -> Result<BatchResponse, HandlerError> {
        let batch = SqsBatch::parse(payload)?;
        let failed = self
            .deliverer
            .run_batch(self.queue.as_ref(), &batch.messages, false)
            .await;
        tracing::info!(
            messages = batch.messages.len(),
            failed = failed.len(),
            "delivery batch"
        );
        Ok(BatchResponse::failing(failed))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const BASE: [(&str, &str); 6] = [
        ("DEALPULSE_TABLE", "t"),
        ("DEALPULSE_QUEUE_URL", "http://q"),
        ("DEALPULSE_SENDER", "DealPulse <alerts@example.com>"),
        ("DEALPULSE_PUBLIC_URL", "https://app.example.com/"),
        (
            "DEALPULSE_JWT_SECRET",
            "a-signing-secret-of-at-least-32-bytes",
        ),
        (
            "DEALPULSE_VAPID_SECRET",
            "a-vapid-seed-of-at-least-32-characters",
        ),
    ];

    #[test]
    fn config_reads_every_setting_and_rejects_bad_ones() {
        let config = Config::from_env(&FunctionEnv::from_pairs(&BASE)).unwrap();
        assert_eq!(config.settings.public_url, "https://app.example.com");
        assert!(config.notify_origin.is_none());
        let mut short = BASE.to_vec();
        short[5] = ("DEALPULSE_VAPID_SECRET", "short");
        assert!(matches!(
            Config::from_env(&FunctionEnv::from_pairs(&short)),
            Err(ConfigError::Invalid {
                name: "DEALPULSE_VAPID_SECRET",
                ..
            })
        ));
        let mut relay = BASE.to_vec();
        relay.push(("DEALPULSE_NOTIFY_ORIGIN", "not a url"));
        assert!(Config::from_env(&FunctionEnv::from_pairs(&relay)).is_err());
        assert!(matches!(
            Config::from_env(&FunctionEnv::from_pairs(&BASE[1..])),
            Err(ConfigError::Missing("DEALPULSE_TABLE"))
        ));
    }
}
