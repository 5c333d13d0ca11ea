//! The mailer port: hands a finished message to a transport (SES, SMTP, a local outbox).

use crate::account::Email;
use async_trait::async_trait;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailMessage {
    pub to: Email,
    pub subject: String,
    pub text: String,
    pub html: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentMail {
    /// The transport's id for the message (SES message id, outbox file name, SMTP queue id).
    pub message_id: String,
}

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// The transport refused this message (bad recipient, unverified sender); retrying won't help.
    #[error("message rejected: {0}")]
    Rejected(String),
    /// The transport could not be reached or failed; retrying later may help.
    #[error("mail transport unavailable: {0}")]
    Unavailable(String),
}

#[async_trait]
pub trait Mailer: Send + Sync {
    async fn send(&self, message: &EmailMessage) -> Result<SentMail, MailError>;
    /// Cheap check that the transport is reachable and allowed to send (readiness checks).
    async fn ping(&self) -> Result<(), MailError>;
}

/// A message kept by a local outbox, for the development routes and tests.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct OutboxEntry {
    pub id: String,
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: Option<String>,
    /// RFC 3339 time the message was written.
    pub created_at: String,
}

/// Read access to mail a local transport kept instead of sending (local mode only).
#[async_trait]
pub trait OutboxReader: Send + Sync {
    /// Newest first.
    async fn recent(&self, limit: usize) -> Result<Vec<OutboxEntry>, MailError>;
}
