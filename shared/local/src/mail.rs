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

/// Keeps mail in a directory: `<id>.eml` (what would have been sent) and `<id>.json`.
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
        let id = uuid::Uuid::now_v7().to_string();
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
        // The index file is written last: a listed message always has its .eml beside it.
        write(format!("{id}.json"), index).await?;
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
        let mut names = Vec::new();
        let mut dir = tokio::fs::read_dir(&self.dir).await.map_err(unavailable)?;
        while let Some(entry) = dir.next_entry().await.map_err(unavailable)? {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.ends_with(".json") {
                names.push(name);
            }
        }
        // UUIDv7 names sort by creation time.
        names.sort_unstable_by(|a, b| b.cmp(a));
        let mut entries = Vec::new();
        for name in names.into_iter().take(limit) {
            let bytes = tokio::fs::read(self.dir.join(&name))
                .await
                .map_err(unavailable)?;
            match serde_json::from_slice::<StoredEntry>(&bytes) {
                Ok(stored) => entries.push(stored.into()),
                Err(error) => tracing::warn!(%name, %error, "skipping unreadable outbox entry"),
            }
        }
        Ok(entries)
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
