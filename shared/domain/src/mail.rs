//! The mailer port: hands a finished message to a transport (SES, SMTP, a local outbox).

use crate::account::Email;
use async_trait::async_trait;

/// The bare address of a sender given as `Name <address>` or `address`.
pub fn bare_address(sender: &str) -> &str {
    match (sender.rfind('<'), sender.rfind('>')) {
        (Some(open), Some(close)) if open < close => sender[open + 1..close].trim(),
        _ => sender.trim(),
    }
}

/// `text` with every e-mail address replaced by `<address>`: provider answers stored with a
/// delivery ("… failed the check: ann@example.com") keep no address.
pub fn redact_addresses(text: &str) -> String {
    let is_address_char = |c: char| c.is_alphanumeric() || "._%+-'".contains(c) || !c.is_ascii();
    let mut out = String::with_capacity(text.len());
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        let trimmed = word.trim_end_matches('.');
        let looks_like_address = trimmed
            .split_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'));
        if looks_like_address {
            out.push_str("<address>");
            out.push_str(&word[trimmed.len()..]);
        } else {
            out.push_str(word);
        }
        word.clear();
    };
    for c in text.chars() {
        if is_address_char(c) || c == '@' {
            word.push(c);
        } else {
            flush(&mut word, &mut out);
            out.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

/// Text made safe to place in HTML (element content or a quoted attribute).
pub fn escape_html(value: &str) -> String {
    value
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailMessage {
    pub to: Email,
    pub subject: String,
    pub text: String,
    pub html: Option<String>,
    /// Extra headers (`List-Unsubscribe`, `List-Unsubscribe-Post`), already in header syntax.
    pub headers: Vec<(String, String)>,
    /// Name/value tags the transport reports back with delivery events (SES message tags).
    pub tags: Vec<(String, String)>,
}

impl EmailMessage {
    pub fn new(to: Email, subject: impl Into<String>, text: String, html: Option<String>) -> Self {
        Self {
            to,
            subject: subject.into(),
            text,
            html,
            headers: Vec::new(),
            tags: Vec::new(),
        }
    }

    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_string(), value.into()));
        self
    }

    pub fn with_tag(mut self, name: &str, value: impl Into<String>) -> Self {
        self.tags.push((name.to_string(), value.into()));
        self
    }

    /// The message as RFC 5322 bytes from `from` (`Name <address>` or an address): plain text,
    /// or multipart/alternative with the HTML part, and the extra headers. Every transport sends
    /// these same bytes, so what the outbox keeps is what SES would have sent.
    pub fn to_mime(&self, from: &str) -> Result<Vec<u8>, MailError> {
        use lettre_builder::message::header::{HeaderName, HeaderValue};
        use lettre_builder::message::{Mailbox, MultiPart, SinglePart};
        let from: Mailbox = from
            .parse()
            .map_err(|e| MailError::Rejected(format!("sender {from:?}: {e}")))?;
        let to: Mailbox = self
            .to
            .as_str()
            .parse()
            .map_err(|e| MailError::Rejected(format!("recipient: {e}")))?;
        let mut builder = lettre_builder::Message::builder()
            .from(from)
            .to(to)
            .subject(self.subject.clone());
        for (name, value) in &self.headers {
            let valid = !name.is_empty()
                && name.bytes().all(|b| b.is_ascii_graphic() && b != b':')
                && !value.contains(['\r', '\n']);
            if !valid {
                return Err(MailError::Rejected(format!("header {name:?} is malformed")));
            }
            let name = HeaderName::new_from_ascii(name.clone())
                .map_err(|_| MailError::Rejected(format!("header {name:?} is malformed")))?;
            builder = builder.raw_header(HeaderValue::new(name, value.clone()));
        }
        let built = match &self.html {
            Some(html) => builder.multipart(MultiPart::alternative_plain_html(
                self.text.clone(),
                html.clone(),
            )),
            None => builder.singlepart(SinglePart::plain(self.text.clone())),
        };
        built
            .map(|message| message.formatted())
            .map_err(|e| MailError::Rejected(e.to_string()))
    }
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
    /// Extra headers the message carried (`List-Unsubscribe`, …).
    pub headers: Vec<(String, String)>,
    /// RFC 3339 time the message was written.
    pub created_at: String,
}

/// Read access to mail a local transport kept instead of sending (local mode only).
#[async_trait]
pub trait OutboxReader: Send + Sync {
    /// Newest first.
    async fn recent(&self, limit: usize) -> Result<Vec<OutboxEntry>, MailError>;
}

#[cfg(test)]
mod tests {
    #[test]
    fn addresses_are_redacted_from_provider_answers() {
        assert_eq!(
            super::redact_addresses(
                "Email address is not verified: Ann.Lee+x@Example.co.uk. (550 <bob@x.io>)"
            ),
            "Email address is not verified: <address>. (550 <<address>>)"
        );
        assert_eq!(
            super::redact_addresses("no address @ here, user@localhost"),
            "no address @ here, user@localhost"
        );
    }

    use super::*;

    #[test]
    fn sender_addresses_are_unwrapped_from_display_names() {
        assert_eq!(bare_address("DealPulse <alerts@x.io>"), "alerts@x.io");
        assert_eq!(bare_address(" alerts@x.io "), "alerts@x.io");
    }

    #[test]
    fn mime_carries_both_parts_and_the_extra_headers() {
        let message = EmailMessage::new(
            Email::parse("ana@example.com").unwrap(),
            "Prix en baisse: €249",
            "Now €249".into(),
            Some("<p>Now €249</p>".into()),
        )
        .with_header("List-Unsubscribe", "<https://x.test/u?t=abc>")
        .with_header("List-Unsubscribe-Post", "List-Unsubscribe=One-Click");
        let mime =
            String::from_utf8(message.to_mime("DealPulse <alerts@x.test>").unwrap()).unwrap();
        assert!(mime.contains("List-Unsubscribe: <https://x.test/u?t=abc>\r\n"));
        assert!(mime.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"));
        assert!(mime.contains("multipart/alternative"));
        assert!(mime.contains("To: ana@example.com"));
        let injected = message
            .clone()
            .with_header("X-Evil", "a\r\nBcc: victim@example.com");
        assert!(injected.to_mime("alerts@x.test").is_err());
    }
}

/// Why an address no longer gets mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Suppression {
    /// A permanent bounce: the mailbox does not exist.
    Bounce,
    /// The recipient marked a message as spam.
    Complaint,
}

/// What the mail provider told us about an address (SES bounce, complaint and delivery events).
/// Kept per address, owned by the system: suppressed addresses are never sent to again.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AddressHealth {
    pub owner: crate::ids::UserId,
    /// Lower-cased address.
    pub address: String,
    pub suppressed: Option<Suppression>,
    pub transient_bounces: u32,
    pub deliveries: u32,
    /// The provider's words for the last bounce or complaint.
    pub detail: Option<String>,
    pub updated_at: jiff::Timestamp,
    pub version: u64,
}

impl AddressHealth {
    pub fn key_of(address: &str) -> String {
        address.trim().to_lowercase()
    }

    pub fn new(address: &str, now: jiff::Timestamp) -> Self {
        Self {
            owner: crate::ids::UserId::system(),
            address: Self::key_of(address),
            suppressed: None,
            transient_bounces: 0,
            deliveries: 0,
            detail: None,
            updated_at: now,
            version: 0,
        }
    }
}
