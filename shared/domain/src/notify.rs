//! What a notification says, whatever the channel, and the ports that carry it to URL endpoints
//! (Discord, Slack, webhooks) and web push services. E-mail and SMS have their own ports
//! (`mail`, `sms`); the delivery pipeline renders a [`Notice`] for each.

use crate::channels::{ChannelEndpoint, PushSubscription};
use crate::money::Money;
use async_trait::async_trait;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// One deal as a notification shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DealLine {
    pub title: String,
    pub url: String,
    pub price: Money,
    pub was_price: Option<Money>,
    /// Why the user gets it: the rules' names and the watches' descriptions.
    pub reasons: Vec<String>,
    /// Deal score 0–100 when known.
    pub score: Option<u8>,
    /// Recent prices, oldest first, for a sparkline (same currency as `price`).
    #[serde(default)]
    pub history: Vec<Money>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum NoticeKind {
    /// One deal, as it happens.
    Alert { urgent: bool },
    /// Deals gathered since the last digest; `overflow` of them came over the daily cap.
    Digest { period: String, overflow: u32 },
    /// The public weekly top deals (ISO week, e.g. `2026-W49`), sent to newsletter subscribers.
    Newsletter { week: String },
}

/// A notification ready to render for any channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notice {
    /// Stable per delivery: receivers deduplicate on it (the webhook id).
    pub delivery_id: String,
    pub kind: NoticeKind,
    /// Best deals first.
    pub deals: Vec<DealLine>,
    pub occurred_at: Timestamp,
}

impl Notice {
    /// A one-line summary: the subject of an e-mail, the title of a push.
    pub fn headline(&self) -> String {
        match (&self.kind, self.deals.first()) {
            (NoticeKind::Alert { .. }, Some(deal)) => {
                let title: String = deal.title.chars().take(80).collect();
                format!("{} — {title}", deal.price)
            }
            (NoticeKind::Digest { period, .. }, _) => {
                let count = self.deals.len();
                let plural = if count == 1 { "deal" } else { "deals" };
                format!("Your {period} DealPulse digest: {count} {plural}")
            }
            (NoticeKind::Newsletter { week }, _) => {
                format!("DealPulse top deals of the week ({week})")
            }
            (NoticeKind::Alert { .. }, None) => "DealPulse alert".to_string(),
        }
    }
}

impl DealLine {
    /// `Now €249 (was €299) · rule names`.
    pub fn describe(&self) -> String {
        let mut text = format!("Now {}", self.price);
        if let Some(was) = self.was_price {
            text.push_str(&format!(" (was {was})"));
        }
        if !self.reasons.is_empty() {
            text.push_str(&format!(" · {}", self.reasons.join(", ")));
        }
        text
    }
}

/// Why a send did not happen, as the pipeline needs to know it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SendFailure {
    /// Worth retrying later (rate limits, 5xx, timeouts); `retry_after` when the service said.
    #[error("temporary failure: {reason}")]
    Transient {
        reason: String,
        retry_after: Option<Duration>,
    },
    /// Never worth retrying as it is (a 4xx, an invalid address).
    #[error("refused: {reason}")]
    Permanent { reason: String },
    /// The destination no longer exists (push 404/410): remove it.
    #[error("destination gone: {reason}")]
    Gone { reason: String },
}

/// What the service said when it took the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    pub status: u16,
    /// The provider's id for the message, when it gives one.
    pub provider_id: Option<String>,
}

/// Posts notices to Discord, Slack and webhook endpoints.
#[async_trait]
pub trait EndpointNotifier: Send + Sync {
    async fn post(
        &self,
        endpoint: &ChannelEndpoint,
        notice: &Notice,
        now: Timestamp,
    ) -> Result<Sent, SendFailure>;
}

/// Sends notices as encrypted web push messages.
#[async_trait]
pub trait PushNotifier: Send + Sync {
    async fn push(
        &self,
        subscription: &PushSubscription,
        notice: &Notice,
        now: Timestamp,
    ) -> Result<Sent, SendFailure>;
}
