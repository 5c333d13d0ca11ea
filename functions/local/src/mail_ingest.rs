//! Newsletters handed to local mode: `dealpulse ingest-email FILE.eml`, the maildrop folder
//! `serve` watches, and `POST /api/v1/ingest/email`. Every raw message is first kept in
//! `<data>/inbound/` (the local counterpart of the S3 object SES writes), then ingested; a
//! message whose ingestion fails for a storage reason stays in the maildrop for the next sweep.

use async_trait::async_trait;
use dealpulse_domain::inbound::{InboundMail, MailReceiver, ReceiveError};
use dealpulse_ingest::mail::MailIngest;
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Clone)]
pub struct MailDrop {
    pub ingest: Arc<MailIngest>,
    /// Where raw messages are kept.
    pub kept: PathBuf,
    /// Where `*.eml` files dropped by other programs are picked up.
    pub maildrop: PathBuf,
}

impl MailDrop {
    /// Keeps `raw` under a fresh name and ingests it.
    pub async fn keep_and_ingest(&self, raw: &[u8]) -> Result<InboundMail, ReceiveError> {
        tokio::fs::create_dir_all(&self.kept)
            .await
            .map_err(|e| ReceiveError(format!("{}: {e}", self.kept.display())))?;
        let path = self.kept.join(format!(
            "{}.eml",
            uuid_like(raw, std::time::SystemTime::now())
        ));
        tokio::fs::write(&path, raw)
            .await
            .map_err(|e| ReceiveError(format!("{}: {e}", path.display())))?;
        self.ingest
            .ingest(raw, &path.display().to_string())
            .await
            .map_err(|e| ReceiveError(e.to_string()))
    }

    /// Ingests every `*.eml` in the maildrop, oldest name first, removing each once recorded.
    /// Stops at the first failure (the rest waits for the next sweep).
    pub async fn sweep(&self) -> Result<Vec<InboundMail>, ReceiveError> {
        let mut names = Vec::new();
        match std::fs::read_dir(&self.maildrop) {
            Ok(entries) => {
                for entry in entries.flatten() {
                    let path = entry.path();
                    if path.extension().is_some_and(|e| e == "eml") && path.is_file() {
                        names.push(path);
                    }
                }
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(error) => {
                return Err(ReceiveError(format!(
                    "{}: {error}",
                    self.maildrop.display()
                )))
            }
        }
        names.sort();
        let mut received = Vec::new();
        for path in names {
            received.push(self.take(&path).await?);
        }
        Ok(received)
    }

    async fn take(&self, path: &Path) -> Result<InboundMail, ReceiveError> {
        let raw = tokio::fs::read(path)
            .await
            .map_err(|e| ReceiveError(format!("{}: {e}", path.display())))?;
        let mail = self.keep_and_ingest(&raw).await?;
        tokio::fs::remove_file(path)
            .await
            .map_err(|e| ReceiveError(format!("{}: {e}", path.display())))?;
        Ok(mail)
    }
}

/// A unique, sortable file name: receive time, then a hash of the content.
fn uuid_like(raw: &[u8], at: std::time::SystemTime) -> String {
    use std::hash::{DefaultHasher, Hash, Hasher};
    let mut hasher = DefaultHasher::new();
    raw.hash(&mut hasher);
    at.hash(&mut hasher);
    let nanos = at
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("{nanos:024}-{:016x}", hasher.finish())
}

#[async_trait]
impl MailReceiver for MailDrop {
    async fn receive(&self, raw: Vec<u8>) -> Result<InboundMail, ReceiveError> {
        self.keep_and_ingest(&raw).await
    }
}
