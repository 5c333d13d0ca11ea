//! Alerts to Discord (embeds), Slack (Block Kit) and generic webhooks (a versioned JSON event
//! signed per the Standard Webhooks scheme). Every request goes through the guarded fetcher —
//! endpoint URLs are user-supplied — and every answer is classified: delivered, worth retrying
//! (429 with its `retry_after`, 408, 5xx, timeouts) or permanently refused (other 4xx, 3xx, an
//! address the guard refuses), so the delivery pipeline knows whether to back off or stop.

use base64::Engine;
use dealpulse_domain::channels::{ChannelEndpoint, EndpointKind};
use dealpulse_domain::money::Money;
use dealpulse_fetch::{Fetcher, PostError};
use hmac::{Hmac, Mac};
use jiff::Timestamp;
use serde_json::json;
use sha2::Sha256;
use std::sync::Arc;
use std::time::Duration;
use url::Url;

/// Version of the generic webhook event schema (`type` = `deal.alert`).
pub const WEBHOOK_SCHEMA: &str = "2026-11-25";

/// What an alert says, whatever the channel.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertMessage {
    /// Stable per delivery: the webhook id receivers deduplicate on.
    pub delivery_id: String,
    pub title: String,
    pub url: String,
    pub price: Money,
    pub was_price: Option<Money>,
    /// Why the user gets it: the rules' names and watches' labels.
    pub reasons: Vec<String>,
    pub occurred_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SendError {
    #[error("temporary failure: {reason}")]
    Transient {
        reason: String,
        retry_after: Option<Duration>,
    },
    #[error("refused: {reason}")]
    Permanent { reason: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivered {
    pub status: u16,
    /// The provider's id for the message, when it gives one (Discord with `wait=true`).
    pub provider_id: Option<String>,
}

/// The Standard Webhooks signature header value: `v1,<base64 HMAC-SHA256>` of
/// `<id>.<timestamp>.<body>`, keyed with the secret (`whsec_<base64>`; other secrets are used
/// as their bytes).
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> String {
    let key = secret
        .strip_prefix("whsec_")
        .and_then(|b64| base64::engine::general_purpose::STANDARD.decode(b64).ok())
        .unwrap_or_else(|| secret.as_bytes().to_vec());
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&key) else {
        return String::new();
    };
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let signature = mac.finalize().into_bytes();
    format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(signature)
    )
}

pub struct WebhookSender {
    fetcher: Arc<Fetcher>,
    timeout: Duration,
    /// Replaces scheme, host and port of every endpoint URL (tests point it at a recorder).
    origin_override: Option<Url>,
}

fn describe(message: &AlertMessage) -> String {
    let mut text = format!("Now {}", message.price);
    if let Some(was) = message.was_price {
        text.push_str(&format!(" (was {was})"));
    }
    if !message.reasons.is_empty() {
        text.push_str(&format!(" · {}", message.reasons.join(", ")));
    }
    text
}

impl WebhookSender {
    pub fn new(fetcher: Arc<Fetcher>, origin_override: Option<Url>) -> Self {
        Self {
            fetcher,
            timeout: Duration::from_secs(15),
            origin_override,
        }
    }

    fn target(&self, endpoint: &ChannelEndpoint) -> Result<Url, SendError> {
        let mut url = endpoint.url.url().clone();
        if let Some(origin) = &self.origin_override {
            let permanent = |what: &str| SendError::Permanent {
                reason: format!("origin override: {what}"),
            };
            url.set_scheme(origin.scheme())
                .map_err(|_| permanent("scheme"))?;
            url.set_host(origin.host_str())
                .map_err(|_| permanent("host"))?;
            url.set_port(origin.port()).map_err(|_| permanent("port"))?;
        }
        if endpoint.kind == EndpointKind::Discord {
            url.query_pairs_mut().append_pair("wait", "true");
        }
        Ok(url)
    }

    fn payload(endpoint: &ChannelEndpoint, message: &AlertMessage) -> serde_json::Value {
        match endpoint.kind {
            EndpointKind::Discord => json!({
                "username": "DealPulse",
                "embeds": [{
                    "title": message.title.chars().take(256).collect::<String>(),
                    "url": message.url,
                    "description": describe(message),
                    "color": 0x2e7d32,
                    "timestamp": message.occurred_at.to_string(),
                    "fields": [{"name": "Price", "value": message.price.to_string(), "inline": true}]
                }]
            }),
            EndpointKind::Slack => json!({
                "text": format!("{}: {}", message.title, message.price),
                "blocks": [
                    {"type": "section", "text": {"type": "mrkdwn",
                        "text": format!("*<{}|{}>*\n{}", message.url, message.title.replace(['<', '>', '|'], " "), describe(message))}},
                    {"type": "context", "elements": [{"type": "mrkdwn", "text": "DealPulse alert"}]}
                ]
            }),
            EndpointKind::Webhook => json!({
                "type": "deal.alert",
                "schema": WEBHOOK_SCHEMA,
                "timestamp": message.occurred_at.to_string(),
                "data": {
                    "delivery_id": message.delivery_id,
                    "title": message.title,
                    "url": message.url,
                    "price": message.price,
                    "was_price": message.was_price,
                    "reasons": message.reasons,
                }
            }),
        }
    }

    /// Sends one alert to one endpoint and classifies the answer.
    pub async fn send(
        &self,
        endpoint: &ChannelEndpoint,
        message: &AlertMessage,
        now: Timestamp,
    ) -> Result<Delivered, SendError> {
        let url = self.target(endpoint)?;
        let body = serde_json::to_vec(&Self::payload(endpoint, message)).map_err(|e| {
            SendError::Permanent {
                reason: e.to_string(),
            }
        })?;
        let mut headers = vec![("content-type", "application/json".to_string())];
        if endpoint.kind == EndpointKind::Webhook {
            let timestamp = now.as_second();
            headers.push(("webhook-id", message.delivery_id.clone()));
            headers.push(("webhook-timestamp", timestamp.to_string()));
            if let Some(secret) = &endpoint.signing_secret {
                headers.push((
                    "webhook-signature",
                    sign(secret, &message.delivery_id, timestamp, &body),
                ));
            }
        }
        let answer = match self.fetcher.post(&url, &headers, body, self.timeout).await {
            Ok(answer) => answer,
            Err(PostError::Blocked(reason)) => return Err(SendError::Permanent { reason }),
            Err(PostError::Failed(reason)) => {
                return Err(SendError::Transient {
                    reason,
                    retry_after: None,
                })
            }
        };
        let text = String::from_utf8_lossy(&answer.body)
            .chars()
            .take(300)
            .collect::<String>();
        match answer.status {
            200..=299 => Ok(Delivered {
                status: answer.status,
                provider_id: serde_json::from_slice::<serde_json::Value>(&answer.body)
                    .ok()
                    .and_then(|v| v.get("id").and_then(|id| id.as_str()).map(str::to_string)),
            }),
            429 => {
                // Discord puts the wait in the body (seconds, fractional); others in the header.
                let from_body = serde_json::from_slice::<serde_json::Value>(&answer.body)
                    .ok()
                    .and_then(|v| v.get("retry_after").and_then(|r| r.as_f64()))
                    .filter(|s| s.is_finite() && *s >= 0.0)
                    .map(Duration::from_secs_f64);
                Err(SendError::Transient {
                    reason: format!("429 rate limited: {text}"),
                    retry_after: answer.retry_after.or(from_body),
                })
            }
            408 | 500..=599 => Err(SendError::Transient {
                reason: format!("{}: {text}", answer.status),
                retry_after: answer.retry_after,
            }),
            status => Err(SendError::Permanent {
                reason: format!("{status}: {text}"),
            }),
        }
    }
}
