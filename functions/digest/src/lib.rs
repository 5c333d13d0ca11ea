//! The `digest` function's handler: an hourly schedule invokes it; every digest entry that is
//! due (the user's local digest hour, and weekday for weekly digests, has come) is gathered into
//! one message per user and channel and queued. A failed run fails the invocation; the next run
//! finds the same entries and queues the same digest ids, whose claims stop a second send.

use dealpulse_alerts::digest::{DigestReport, DigestRun};
use dealpulse_alerts::matcher::MatchError;
use dealpulse_aws::lambda_events::{EventError, Tick};
use serde_json::Value;

pub use dealpulse_aws::env::{ConfigError, FunctionEnv};

#[derive(Debug, Clone)]
pub struct Config {
    pub table: String,
    pub queue_url: String,
}

impl Config {
    pub fn from_env(env: &FunctionEnv) -> Result<Self, ConfigError> {
        Ok(Self {
            table: env.required("DEALPULSE_TABLE")?,
            queue_url: env.required("DEALPULSE_QUEUE_URL")?,
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    #[error(transparent)]
    Tick(#[from] EventError),
    #[error(transparent)]
    Digest(#[from] MatchError),
}

impl From<HandlerError> for lambda_runtime::Diagnostic {
    fn from(error: HandlerError) -> Self {
        let error_type = match error {
            HandlerError::Tick(_) => "NotAScheduledEvent",
            HandlerError::Digest(MatchError::Store(_)) => "StoreUnavailable",
            HandlerError::Digest(MatchError::Queue(_)) => "QueueUnavailable",
        };
        lambda_runtime::Diagnostic {
            error_type: error_type.into(),
            error_message: error.to_string(),
        }
    }
}

pub struct DigestHandler {
    run: DigestRun,
}

impl DigestHandler {
    pub fn new(run: DigestRun) -> Self {
        Self { run }
    }

    pub async fn handle(&self, payload: Value) -> Result<DigestReport, HandlerError> {
        let tick = Tick::parse(payload)?;
        let report = self.run.run().await?;
        tracing::info!(scheduled_at = %tick.time, users = report.users, deals = report.deals, queued = report.queued, "digest run");
        Ok(report)
    }
}
