//! Local mailers: an outbox that keeps every message as an `.eml` file (plus a JSON index entry)
//! instead of sending it, and an SMTP relay client.

use async_trait::async_trait;
use dealpulse_domain::mail::{
    EmailMessage, MailError, Mailer, OutboxEntry, OutboxReader, SentMail,
};
use lettre::address::Envelope;
use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use std::path::{Path, PathBuf};

fn parse_sender(sender: &str) -> Result<Mailbox, MailError> {
    sender
        .parse()
        .map_err(|e| MailError::Rejected(format!("sender {sender:?}: {e}")))
}

/// Keeps mail in a directory: `<id>.eml` (what would have been sent) and `<id>.json`. A message
/// tagged with its delivery (alerts, digests) is kept under that delivery's name, once: a
/// delivery sent again after a crash (sent, but not yet recorded as sent) finds its message
/// already kept, so local mode never shows an alert twice.
#[derive(Clone)]
pub struct OutboxMailer {
    dir: PathBuf,
    from: Mailbox,
}

impl OutboxMailer {
    pub fn new(dir: &Path, sender: &str) -> Result<Self, MailError> {
        std::fs::create_dir_all(dir)
            .map_err(|e| MailError::Unavailable(format!("outbox {}: {e}", dir.display())))?;
        Ok(Self {
            dir: dir.to_path_buf(),
            from: parse_sender(sender)?,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

#[async_trait]
impl Mailer for OutboxMailer {
    async fn send(&self, message: &EmailMessage) -> Result<SentMail, MailError> {
        let mime = message.to_mime(&self.from.to_string())?;
        let delivery = message
            .tags
            .iter()
            .find(|(name, _)| name == "delivery")
            .map(|(_, value)| value.as_str())
            .filter(|value| {
                (1..=64).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_alphanumeric())
            });
        let id = match delivery {
            Some(delivery) => format!("delivery-{delivery}"),
            None => uuid::Uuid::now_v7().to_string(),
        };
        if delivery.is_some()
            && tokio::fs::try_exists(self.dir.join(format!("{id}.json")))
                .await
                .unwrap_or(false)
        {
            return Ok(SentMail { message_id: id });
        }
        let entry = OutboxEntry {
            id: id.clone(),
            to: message.to.to_string(),
            subject: message.subject.clone(),
            text: message.text.clone(),
            html: message.html.clone(),
            headers: message.headers.clone(),
            created_at: jiff::Timestamp::now().to_string(),
        };
        let index =
            serde_json::to_vec_pretty(&entry).map_err(|e| MailError::Unavailable(e.to_string()))?;
        let write = |name: String, bytes: Vec<u8>| {
            let path = self.dir.join(name);
            async move {
                tokio::fs::write(&path, bytes)
                    .await
                    .map_err(|e| MailError::Unavailable(format!("{}: {e}", path.display())))
            }
        };
        write(format!("{id}.eml"), mime).await?;
        // The index file is written last and renamed into place, so a listed message always has
        // its .eml beside it and a crash never leaves half an index behind.
        write(format!("{id}.json.partial"), index).await?;
        tokio::fs::rename(
            self.dir.join(format!("{id}.json.partial")),
            self.dir.join(format!("{id}.json")),
        )
        .await
        .map_err(|e| MailError::Unavailable(format!("{}: {e}", self.dir.display())))?;
        tracing::info!(outbox = %self.dir.display(), %id, to = %entry.to, "mail kept in outbox");
        Ok(SentMail { message_id: id })
    }

    async fn ping(&self) -> Result<(), MailError> {
        let metadata = tokio::fs::metadata(&self.dir)
            .await
            .map_err(|e| MailError::Unavailable(format!("outbox {}: {e}", self.dir.display())))?;
        if metadata.is_dir() && !metadata.permissions().readonly() {
            Ok(())
        } else {
            Err(MailError::Unavailable(
                "outbox is not a writable directory".into(),
            ))
        }
    }
}

#[async_trait]
impl OutboxReader for OutboxMailer {
    async fn recent(&self, limit: usize) -> Result<Vec<OutboxEntry>, MailError> {
        let unavailable = |e: std::io::Error| MailError::Unavailable(e.to_string());
        let mut entries = Vec::new();
        let mut dir = tokio::fs::read_dir(&self.dir).await.map_err(unavailable)?;
        while let Some(entry) = dir.next_entry().await.map_err(unavailable)? {
            let name = entry.file_name().to_string_lossy().into_owned();
            if !name.ends_with(".json") {
                continue;
            }
            let bytes = tokio::fs::read(entry.path()).await.map_err(unavailable)?;
            match serde_json::from_slice::<StoredEntry>(&bytes) {
                Ok(stored) => {
                    let at: jiff::Timestamp = stored.created_at.parse().unwrap_or_default();
                    entries.push((at, name, stored));
                }
                Err(error) => tracing::warn!(%name, %error, "skipping unreadable outbox entry"),
            }
        }
        // Newest first. Every entry is read: delivery-named messages do not sort by name (the
        // outbox is for development, not for millions of messages).
        entries.sort_unstable_by(|a, b| (b.0, &b.1).cmp(&(a.0, &a.1)));
        Ok(entries
            .into_iter()
            .take(limit)
            .map(|(_, _, stored)| stored.into())
            .collect())
    }
}

#[derive(serde::Deserialize)]
struct StoredEntry {
    id: String,
    to: String,
    subject: String,
    text: String,
    html: Option<String>,
    #[serde(default)]
    headers: Vec<(String, String)>,
    created_at: String,
}

impl From<StoredEntry> for OutboxEntry {
    fn from(stored: StoredEntry) -> Self {
        OutboxEntry {
            id: stored.id,
            to: stored.to,
            subject: stored.subject,
            text: stored.text,
            html: stored.html,
            headers: stored.headers,
            created_at: stored.created_at,
        }
    }
}

/// Sends through an SMTP relay given as a URL: `smtp://user:pass@host:587?tls=required`,
/// `smtps://host:465`, or `smtp://127.0.0.1:2525` (plain, for a local relay).
#[derive(Clone)]
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl SmtpMailer {
    pub fn new(url: &str, sender: &str) -> Result<Self, MailError> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| MailError::Rejected(format!("SMTP URL: {e}")))?
            .timeout(Some(std::time::Duration::from_secs(10)))
            .build();
        Ok(Self {
            transport,
            from: parse_sender(sender)?,
        })
    }
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, message: &EmailMessage) -> Result<SentMail, MailError> {
        let mime = message.to_mime(&self.from.to_string())?;
        let to = message
            .to
            .as_str()
            .parse()
            .map_err(|e| MailError::Rejected(format!("recipient: {e}")))?;
        let envelope = Envelope::new(Some(self.from.email.clone()), vec![to])
            .map_err(|e| MailError::Rejected(e.to_string()))?;
        let response = self
            .transport
            .send_raw(&envelope, &mime)
            .await
            .map_err(|e| {
                if e.is_permanent() {
                    MailError::Rejected(e.to_string())
                } else {
                    MailError::Unavailable(e.to_string())
                }
            })?;
        let message_id = response
            .message()
            .collect::<Vec<_>>()
            .join(" ")
            .chars()
            .take(200)
            .collect();
        Ok(SentMail { message_id })
    }

    async fn ping(&self) -> Result<(), MailError> {
        match self.transport.test_connection().await {
            Ok(true) => Ok(()),
            Ok(false) => Err(MailError::Unavailable(
                "SMTP relay did not answer NOOP".into(),
            )),
            Err(e) => Err(MailError::Unavailable(e.to_string())),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use dealpulse_domain::account::Email;

    #[tokio::test]
    async fn a_delivery_is_kept_once_however_often_it_is_sent() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = OutboxMailer::new(dir.path(), "DealPulse <alerts@dealpulse.test>").unwrap();
        let message = |subject: &str| {
            EmailMessage::new(
                Email::parse("kim@example.com").unwrap(),
                subject,
                "text".into(),
                None,
            )
        };
        let alert =
            message("Lamp at 20 EUR").with_tag("delivery", "0123456789abcdef0123456789abcdef");
        let first = outbox.send(&alert).await.unwrap();
        let again = outbox.send(&alert).await.unwrap();
        assert_eq!(first.message_id, again.message_id);
        outbox.send(&message("Verify your address")).await.unwrap();
        outbox.send(&message("Verify your address")).await.unwrap();
        let kept = outbox.recent(10).await.unwrap();
        let subjects: Vec<&str> = kept.iter().map(|m| m.subject.as_str()).collect();
        assert_eq!(
            subjects,
            [
                "Verify your address",
                "Verify your address",
                "Lamp at 20 EUR"
            ],
            "untagged mail is kept each time, newest first"
        );
        let odd = message("Odd tag").with_tag("delivery", "../../etc/passwd");
        outbox.send(&odd).await.unwrap();
        assert_eq!(
            outbox.recent(10).await.unwrap().len(),
            4,
            "an odd tag is not a name"
        );
    }
}
