//! The SMS port: hands a text message to a transport (Twilio's REST API, or a local outbox).

use crate::channels::PhoneNumber;
use async_trait::async_trait;

#[derive(Debug, thiserror::Error)]
pub enum SmsError {
    /// The transport refused this message (bad number, unverified sender); retrying won't help.
    #[error("text message rejected: {0}")]
    Rejected(String),
    /// The transport could not be reached or failed; retrying later may help.
    #[error("SMS transport unavailable: {0}")]
    Unavailable(String),
}

#[async_trait]
pub trait SmsSender: Send + Sync {
    /// Sends `body` to `to`; returns the transport's message id.
    async fn send_sms(&self, to: &PhoneNumber, body: &str) -> Result<String, SmsError>;
}

/// A text message a local transport kept instead of sending.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SmsEntry {
    pub id: String,
    pub to: String,
    pub body: String,
    /// RFC 3339 time the message was kept.
    pub created_at: String,
}

/// Read access to kept text messages (local mode and tests).
#[async_trait]
pub trait SmsOutboxReader: Send + Sync {
    /// Newest first.
    async fn recent_sms(&self, limit: usize) -> Result<Vec<SmsEntry>, SmsError>;
}
