//! The `scrape` function's handler: an EventBridge schedule invokes it every minute; each
//! invocation checks due product pages and feeds for at most its time budget and answers with
//! the run's report. A claim failure (the table is unreachable) fails the invocation, so the
//! scheduler's retry policy applies; per-item failures are in the report and retried when their
//! claims lapse.

use dealpulse_domain::clock::SystemClock;
use dealpulse_domain::events::EventPublisher;
use dealpulse_domain::ports::Store;
use dealpulse_fetch::polite::PoliteFetcher;
use dealpulse_ingest::scrape::{ScrapeReport, ScrapeSettings, Scraper};
use serde_json::Value;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

pub use dealpulse_aws::env::{ConfigError, FunctionEnv};
use dealpulse_aws::lambda_events::{EventError, Tick};

/// What the function reads from its environment, once.
#[derive(Debug, Clone)]
pub struct Config {
    pub table: String,
    pub event_bus: String,
    /// `DEALPULSE_SCRAPE_BUDGET_SECONDS` (default 48, as local mode's 60 s tick): keep it well
    /// under the function timeout, since a round in progress finishes after the budget.
    pub budget: Duration,
    /// `DEALPULSE_FETCH_MIN_DELAY_MS` (default 1000): minimum gap between requests to one host.
    pub min_delay: Duration,
    /// `DEALPULSE_FETCH_LOOPBACK_PORTS`: loopback ports the fetcher may reach. Tests only; never
    /// set in a deployment (the template does not).
    pub loopback_ports: BTreeSet<u16>,
}

impl Config {
    pub fn from_env(env: &FunctionEnv) -> Result<Self, ConfigError> {
        Ok(Self {
            table: env.required("DEALPULSE_TABLE")?,
            event_bus: env.required("DEALPULSE_EVENT_BUS")?,
            budget: Duration::from_secs(env.number("DEALPULSE_SCRAPE_BUDGET_SECONDS", 48)?),
            min_delay: Duration::from_millis(env.number("DEALPULSE_FETCH_MIN_DELAY_MS", 1000)?),
            loopback_ports: env.ports("DEALPULSE_FETCH_LOOPBACK_PORTS")?,
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    #[error(transparent)]
    Tick(#[from] EventError),
    #[error(transparent)]
    Scrape(#[from] dealpulse_ingest::scrape::ScrapeError),
}

/// What the Lambda runtime reports for a failed invocation: a stable type and the message.
impl From<HandlerError> for lambda_runtime::Diagnostic {
    fn from(error: HandlerError) -> Self {
        let error_type = match error {
            HandlerError::Tick(_) => "NotAScheduledEvent",
            HandlerError::Scrape(_) => "StoreUnavailable",
        };
        lambda_runtime::Diagnostic {
            error_type: error_type.into(),
            error_message: error.to_string(),
        }
    }
}

pub struct ScrapeHandler {
    scraper: Scraper,
    budget: Duration,
}

impl ScrapeHandler {
    pub fn new(
        store: Arc<dyn Store>,
        events: Arc<dyn EventPublisher>,
        config: &Config,
    ) -> Result<Self, ConfigError> {
        Ok(Self {
            scraper: Scraper::new(
                store,
                events,
                Arc::new(
                    PoliteFetcher::standard(config.loopback_ports.clone(), config.min_delay)
                        .map_err(|e| ConfigError::Invalid {
                            name: "fetcher",
                            why: e.to_string(),
                        })?,
                ),
                Arc::new(SystemClock),
                ScrapeSettings::default(),
            ),
            budget: config.budget,
        })
    }

    pub async fn handle(&self, payload: Value) -> Result<ScrapeReport, HandlerError> {
        let tick = Tick::parse(payload)?;
        let report = self.scraper.run(self.budget).await?;
        tracing::info!(
            scheduled_at = %tick.time,
            products = report.products_checked,
            feeds = report.feeds_checked,
            price_changes = report.price_changes,
            listings_observed = report.listings_observed,
            failures = report.failures.len(),
            out_of_time = report.out_of_time,
            "scrape run"
        );
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_needs_table_and_bus_and_parses_numbers() {
        assert!(matches!(
            Config::from_env(&FunctionEnv::from_pairs(&[("DEALPULSE_TABLE", "t")])),
            Err(ConfigError::Missing("DEALPULSE_EVENT_BUS"))
        ));
        let config = Config::from_env(&FunctionEnv::from_pairs(&[
            ("DEALPULSE_TABLE", "t"),
            ("DEALPULSE_EVENT_BUS", "b"),
            ("DEALPULSE_FETCH_LOOPBACK_PORTS", "8081, 9000"),
        ]))
        .unwrap();
        assert_eq!(config.budget, Duration::from_secs(48));
        assert_eq!(config.loopback_ports, BTreeSet::from([8081, 9000]));
        assert!(Config::from_env(&FunctionEnv::from_pairs(&[
            ("DEALPULSE_TABLE", "t"),
            ("DEALPULSE_EVENT_BUS", "b"),
            ("DEALPULSE_SCRAPE_BUDGET_SECONDS", "soon"),
        ]))
        .is_err());
    }
}
