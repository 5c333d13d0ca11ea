//! The `ingest-email` function's handler. SES's receipt rule writes each message to the inbound
//! bucket under `inbound/`; the bucket's notification invokes this function with the S3 event;
//! each object is read and ingested (recorded whatever it holds; deals become listings). A
//! storage or bus failure fails the invocation, so Lambda's asynchronous retries apply, and a
//! retried object finds its record rather than making a second one.

use dealpulse_domain::clock::Clock;
use dealpulse_domain::events::EventPublisher;
use dealpulse_domain::inbound::{derive_address_key, InboundAddresses, InboundMail, SenderRule};
use dealpulse_domain::ports::Store;
use dealpulse_ingest::llm::{LlmConfig, LlmExtractor};
use dealpulse_ingest::mail::{MailConfig, MailIngest, MailIngestError};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::sync::Arc;

/// Largest object read (SES stores messages of up to 40 MB).
const MAX_MESSAGE_BYTES: usize = 40 * 1024 * 1024;

pub use dealpulse_aws::env::{ConfigError, FunctionEnv};

#[derive(Debug, Clone)]
pub struct Config {
    pub table: String,
    pub event_bus: String,
    pub inbound_domain: String,
    /// The deployment's signing secret: inbound address tags are derived from it.
    pub signing_secret: String,
    pub system_senders: Vec<SenderRule>,
    /// `DEALPULSE_LLM_URL` + `DEALPULSE_LLM_MODEL` (+ `DEALPULSE_LLM_API_KEY`): read newsletters
    /// with a model first.
    pub llm: Option<LlmConfig>,
}

impl Config {
    pub fn from_env(env: &FunctionEnv) -> Result<Self, ConfigError> {
        let system_senders = env
            .optional("DEALPULSE_INBOUND_SYSTEM_SENDERS")
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                SenderRule::parse(s).map_err(|e| ConfigError::Invalid {
                    name: "DEALPULSE_INBOUND_SYSTEM_SENDERS",
                    why: format!("{s}: {}", e.0),
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            table: env.required("DEALPULSE_TABLE")?,
            event_bus: env.required("DEALPULSE_EVENT_BUS")?,
            inbound_domain: env.required("DEALPULSE_INBOUND_DOMAIN")?,
            signing_secret: env.required("DEALPULSE_JWT_SECRET")?,
            system_senders,
            llm: match (
                env.optional("DEALPULSE_LLM_URL"),
                env.optional("DEALPULSE_LLM_MODEL"),
            ) {
                (Some(base_url), Some(model)) => Some(LlmConfig {
                    base_url,
                    model,
                    api_key: env.optional("DEALPULSE_LLM_API_KEY"),
                    timeout: std::time::Duration::from_secs(20),
                }),
                _ => None,
            },
        })
    }

    pub fn mail_config(&self) -> MailConfig {
        MailConfig {
            addresses: InboundAddresses::new(
                &self.inbound_domain,
                &derive_address_key(self.signing_secret.as_bytes()),
            ),
            system_senders: self.system_senders.clone(),
        }
    }
}

/// One stored object named by an S3 event notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMessage {
    pub bucket: String,
    /// Decoded (S3 events URL-encode keys, with `+` for spaces).
    pub key: String,
}

#[derive(Deserialize)]
struct S3Event {
    #[serde(rename = "Records")]
    records: Vec<S3Record>,
}

#[derive(Deserialize)]
struct S3Record {
    #[serde(rename = "eventSource")]
    event_source: String,
    #[serde(rename = "eventName")]
    event_name: String,
    s3: S3Entity,
}

#[derive(Deserialize)]
struct S3Entity {
    bucket: S3Bucket,
    object: S3Object,
}

#[derive(Deserialize)]
struct S3Bucket {
    name: String,
}

#[derive(Deserialize)]
struct S3Object {
    key: String,
}

#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    #[error("not an S3 object-created event: {0}")]
    NotAnS3Event(String),
    #[error("reading s3://{bucket}/{key}: {why}")]
    Read {
        bucket: String,
        key: String,
        why: String,
    },
    #[error(transparent)]
    Ingest(#[from] MailIngestError),
}

impl From<HandlerError> for lambda_runtime::Diagnostic {
    fn from(error: HandlerError) -> Self {
        let error_type = match error {
            HandlerError::NotAnS3Event(_) => "NotAnS3Event",
            HandlerError::Read { .. } => "ObjectUnreadable",
            HandlerError::Ingest(_) => "IngestUnavailable",
        };
        lambda_runtime::Diagnostic {
            error_type: error_type.into(),
            error_message: error.to_string(),
        }
    }
}

/// The objects an S3 notification names (object-created events only).
pub fn stored_messages(payload: Value) -> Result<Vec<StoredMessage>, HandlerError> {
    let event: S3Event =
        serde_json::from_value(payload).map_err(|e| HandlerError::NotAnS3Event(e.to_string()))?;
    if event.records.is_empty() {
        return Err(HandlerError::NotAnS3Event("no records".into()));
    }
    event
        .records
        .into_iter()
        .map(|record| {
            if record.event_source != "aws:s3" || !record.event_name.starts_with("ObjectCreated:") {
                return Err(HandlerError::NotAnS3Event(format!(
                    "{} {}",
                    record.event_source, record.event_name
                )));
            }
            let plus_decoded = record.s3.object.key.replace('+', " ");
            let key = url::form_urlencoded::parse(format!("k={plus_decoded}").as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
                .unwrap_or(plus_decoded);
            Ok(StoredMessage {
                bucket: record.s3.bucket.name,
                key,
            })
        })
        .collect()
}

#[derive(Debug, Serialize)]
pub struct Received {
    pub mails: Vec<InboundMail>,
}

pub struct EmailHandler {
    s3: aws_sdk_s3::Client,
    ingest: MailIngest,
}

impl EmailHandler {
    pub fn new(
        s3: aws_sdk_s3::Client,
        store: Arc<dyn Store>,
        events: Arc<dyn EventPublisher>,
        clock: Arc<dyn Clock>,
        config: &Config,
    ) -> Result<Self, ConfigError> {
        let mut ingest = MailIngest::new(store, events, clock, config.mail_config());
        if let Some(llm) = &config.llm {
            ingest = ingest.with_llm(LlmExtractor::new(llm.clone()).map_err(|e| {
                ConfigError::Invalid {
                    name: "DEALPULSE_LLM_URL",
                    why: e.to_string(),
                }
            })?);
        }
        Ok(Self { s3, ingest })
    }

    async fn read(&self, message: &StoredMessage) -> Result<Vec<u8>, HandlerError> {
        let failed = |why: String| HandlerError::Read {
            bucket: message.bucket.clone(),
            key: message.key.clone(),
            why,
        };
        let object = self
            .s3
            .get_object()
            .bucket(&message.bucket)
            .key(&message.key)
            .send()
            .await
            .map_err(|e| failed(dealpulse_aws::describe_error(&e)))?;
        if object
            .content_length()
            .is_some_and(|n| n > MAX_MESSAGE_BYTES as i64)
        {
            return Err(failed("larger than 40 MB".into()));
        }
        let bytes = object
            .body
            .collect()
            .await
            .map_err(|e| failed(e.to_string()))?;
        Ok(bytes.into_bytes().to_vec())
    }

    pub async fn handle(&self, payload: Value) -> Result<Received, HandlerError> {
        let mut mails = Vec::new();
        for message in stored_messages(payload)? {
            let raw = self.read(&message).await?;
            let mail = self
                .ingest
                .ingest(&raw, &format!("s3://{}/{}", message.bucket, message.key))
                .await?;
            tracing::info!(id = %mail.id, status = %mail.status, deals = mail.deals, key = %message.key, "newsletter received");
            mails.push(mail);
        }
        Ok(Received { mails })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s3_events_name_their_objects_with_decoded_keys() {
        let event = serde_json::json!({"Records": [{"eventVersion": "2.1", "eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
            "s3": {"bucket": {"name": "dealpulse-inbound"}, "object": {"key": "inbound/a+b%2Bc", "size": 10}}}]});
        assert_eq!(
            stored_messages(event).unwrap(),
            vec![StoredMessage {
                bucket: "dealpulse-inbound".into(),
                key: "inbound/a b+c".into()
            }]
        );
        let removed = serde_json::json!({"Records": [{"eventSource": "aws:s3", "eventName": "ObjectRemoved:Delete",
            "s3": {"bucket": {"name": "b"}, "object": {"key": "k"}}}]});
        assert!(stored_messages(removed).is_err());
        assert!(stored_messages(serde_json::json!({"detail-type": "Scheduled Event"})).is_err());
    }
}
