//! Alerts to Discord (embeds), Slack (Block Kit) and generic webhooks (a versioned JSON event
//! signed per the Standard Webhooks scheme). Every request goes through the guarded fetcher —
//! endpoint URLs are user-supplied — and every answer is classified: delivered, worth retrying
//! (429 with its `retry_after`, 408, 5xx, timeouts) or permanently refused (other 4xx, 3xx, an
//! address the guard refuses), so the delivery pipeline knows whether to back off or stop.

use async_trait::async_trait;
use base64::Engine;
use dealpulse_domain::channels::{ChannelEndpoint, EndpointKind};
use dealpulse_domain::notify::{EndpointNotifier, Notice, NoticeKind, SendFailure, Sent};
use dealpulse_fetch::Fetcher;
use hmac::{Hmac, Mac};
use jiff::Timestamp;
use serde_json::json;
use sha2::Sha256;
use std::sync::Arc;
use std::time::Duration;
use url::Url;

/// Version of the generic webhook event schema (`type` = `deal.alert` or `deal.digest`).
pub const WEBHOOK_SCHEMA: &str = "2026-11-25";

/// Discord takes at most 10 embeds per message; Slack at most 50 blocks.
const DISCORD_EMBEDS: usize = 10;
const SLACK_DEALS: usize = 20;

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

impl WebhookSender {
    pub fn new(fetcher: Arc<Fetcher>, origin_override: Option<Url>) -> Self {
        Self {
            fetcher,
            timeout: Duration::from_secs(15),
            origin_override,
        }
    }

    /// How long one request may take, answer body included (default 15 s, under the deliver
    /// function's timeout; tests shorten it).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    fn target(&self, endpoint: &ChannelEndpoint) -> Result<Url, SendFailure> {
        let mut url = endpoint.url.url().clone();
        if let Some(origin) = &self.origin_override {
            crate::redirect_to_origin(&mut url, origin)?;
        }
        if endpoint.kind == EndpointKind::Discord {
            url.query_pairs_mut().append_pair("wait", "true");
        }
        Ok(url)
    }

    fn payload(endpoint: &ChannelEndpoint, notice: &Notice) -> serde_json::Value {
        let headline = notice.headline();
        match endpoint.kind {
            EndpointKind::Discord => {
                let embeds: Vec<serde_json::Value> = notice
                    .deals
                    .iter()
                    .take(DISCORD_EMBEDS)
                    .map(|deal| {
                        json!({
                            "title": deal.title.chars().take(256).collect::<String>(),
                            "url": deal.url,
                            "description": deal.describe().chars().take(4000).collect::<String>(),
                            "color": 0x2e7d32,
                            "timestamp": notice.occurred_at.to_string(),
                            "fields": [{"name": "Price", "value": deal.price.to_string(), "inline": true}]
                        })
                    })
                    .collect();
                let content = match notice.kind {
                    NoticeKind::Digest { .. } | NoticeKind::Newsletter { .. } => headline,
                    NoticeKind::Alert { .. } => String::new(),
                };
                json!({"username": "DealPulse", "content": content, "embeds": embeds})
            }
            EndpointKind::Slack => {
                let mut blocks = vec![json!({"type": "header", "text": {"type": "plain_text",
                    "text": headline.chars().take(150).collect::<String>()}})];
                for deal in notice.deals.iter().take(SLACK_DEALS) {
                    blocks.push(json!({"type": "section", "text": {"type": "mrkdwn",
                        "text": format!("*<{}|{}>*\n{}", deal.url, deal.title.replace(['<', '>', '|'], " "), deal.describe())}}));
                }
                blocks.push(json!({"type": "context", "elements": [{"type": "mrkdwn", "text": "DealPulse alert"}]}));
                json!({"text": headline, "blocks": blocks})
            }
            EndpointKind::Webhook => json!({
                "type": match notice.kind { NoticeKind::Alert { .. } => "deal.alert", NoticeKind::Digest { .. } => "deal.digest", NoticeKind::Newsletter { .. } => "deal.newsletter" },
                "schema": WEBHOOK_SCHEMA,
                "timestamp": notice.occurred_at.to_string(),
                "data": {
                    "delivery_id": notice.delivery_id,
                    "summary": headline,
                    "deals": notice.deals.iter().map(|deal| json!({
                        "title": deal.title,
                        "url": deal.url,
                        "price": deal.price,
                        "was_price": deal.was_price,
                        "reasons": deal.reasons,
                        "score": deal.score,
                    })).collect::<Vec<_>>(),
                }
            }),
        }
    }

    /// Sends one alert to one endpoint and classifies the answer.
    pub async fn send(
        &self,
        endpoint: &ChannelEndpoint,
        notice: &Notice,
        now: Timestamp,
    ) -> Result<Sent, SendFailure> {
        let url = self.target(endpoint)?;
        let body = serde_json::to_vec(&Self::payload(endpoint, notice)).map_err(|e| {
            SendFailure::Permanent {
                reason: e.to_string(),
            }
        })?;
        let mut headers = vec![("content-type", "application/json".to_string())];
        if endpoint.kind == EndpointKind::Webhook {
            let timestamp = now.as_second();
            headers.push(("webhook-id", notice.delivery_id.clone()));
            headers.push(("webhook-timestamp", timestamp.to_string()));
            if let Some(secret) = &endpoint.signing_secret {
                headers.push((
                    "webhook-signature",
                    sign(secret, &notice.delivery_id, timestamp, &body),
                ));
            }
        }
        let crate::Answered {
            answer,
            excerpt: text,
        } = crate::post(&self.fetcher, &url, &headers, body, self.timeout).await?;
        match answer.status {
            200..=299 => Ok(Sent {
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
                Err(SendFailure::Transient {
                    reason: format!("429 rate limited: {text}"),
                    retry_after: answer.retry_after.or(from_body),
                })
            }
            408 | 500..=599 => Err(SendFailure::Transient {
                reason: format!("{}: {text}", answer.status),
                retry_after: answer.retry_after,
            }),
            status => Err(SendFailure::Permanent {
                reason: format!("{status}: {text}"),
            }),
        }
    }
}

#[async_trait]
impl EndpointNotifier for WebhookSender {
    async fn post(
        &self,
        endpoint: &ChannelEndpoint,
        notice: &Notice,
        now: Timestamp,
    ) -> Result<Sent, SendFailure> {
        self.send(endpoint, notice, now).await
    }
}
