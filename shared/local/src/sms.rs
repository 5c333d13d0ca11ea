//! The local SMS transport: keeps each text message as a JSON file in an outbox directory
//! instead of sending it, so phone verification works with no SMS provider.

use async_trait::async_trait;
use dealpulse_domain::channels::PhoneNumber;
use dealpulse_domain::sms::{SmsEntry, SmsError, SmsOutboxReader, SmsSender};
use std::path::{Path, PathBuf};

#[derive(Clone)]
pub struct SmsOutbox {
    dir: PathBuf,
}

impl SmsOutbox {
    pub fn new(dir: &Path) -> Result<Self, SmsError> {
        std::fs::create_dir_all(dir)
            .map_err(|e| SmsError::Unavailable(format!("SMS outbox {}: {e}", dir.display())))?;
        Ok(Self {
            dir: dir.to_path_buf(),
        })
    }
}

#[async_trait]
impl SmsSender for SmsOutbox {
    async fn send_sms(&self, to: &PhoneNumber, body: &str) -> Result<String, SmsError> {
        let id = uuid::Uuid::now_v7().to_string();
        let entry = SmsEntry {
            id: id.clone(),
            to: to.to_string(),
            body: body.to_string(),
            created_at: jiff::Timestamp::now().to_string(),
        };
        let bytes =
            serde_json::to_vec_pretty(&entry).map_err(|e| SmsError::Unavailable(e.to_string()))?;
        let path = self.dir.join(format!("{id}.json"));
        tokio::fs::write(&path, bytes)
            .await
            .map_err(|e| SmsError::Unavailable(format!("{}: {e}", path.display())))?;
        tracing::info!(outbox = %self.dir.display(), %id, to = %to.masked(), "text message kept in outbox");
        Ok(id)
    }
}

#[async_trait]
impl SmsOutboxReader for SmsOutbox {
    async fn recent_sms(&self, limit: usize) -> Result<Vec<SmsEntry>, SmsError> {
        let unavailable = |e: std::io::Error| SmsError::Unavailable(e.to_string());
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
            entries.push(
                serde_json::from_slice(&bytes)
                    .map_err(|e| SmsError::Unavailable(format!("{name}: {e}")))?,
            );
        }
        Ok(entries)
    }
}
