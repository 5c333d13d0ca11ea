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
use jiff::Timestamp;
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

pub use dealpulse_aws::env::{ConfigError, FunctionEnv};

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
        let loopback_ports = match env.optional("DEALPULSE_FETCH_LOOPBACK_PORTS") {
            None => BTreeSet::new(),
            Some(list) => list
                .split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(|p| {
                    p.parse().map_err(|_| ConfigError::Invalid {
                        name: "DEALPULSE_FETCH_LOOPBACK_PORTS",
                        why: format!("{p:?} is not a port"),
                    })
                })
                .collect::<Result<_, _>>()?,
        };
        Ok(Self {
            table: env.required("DEALPULSE_TABLE")?,
            event_bus: env.required("DEALPULSE_EVENT_BUS")?,
            budget: Duration::from_secs(env.number("DEALPULSE_SCRAPE_BUDGET_SECONDS", 48)?),
            min_delay: Duration::from_millis(env.number("DEALPULSE_FETCH_MIN_DELAY_MS", 1000)?),
            loopback_ports,
        })
    }
}

/// A schedule's tick: an EventBridge scheduled-rule event or an EventBridge Scheduler event.
#[derive(Debug, Clone, PartialEq)]
pub struct Tick {
    pub time: Timestamp,
}

#[derive(Debug, thiserror::Error)]
pub enum TickError {
    #[error("not a scheduled event: {0}")]
    NotScheduled(String),
}

#[derive(Deserialize)]
struct ScheduledEvent {
    source: String,
    #[serde(rename = "detail-type")]
    detail_type: String,
    time: Timestamp,
}

impl Tick {
    pub fn parse(payload: Value) -> Result<Tick, TickError> {
        let event: ScheduledEvent =
            serde_json::from_value(payload).map_err(|e| TickError::NotScheduled(e.to_string()))?;
        let scheduled = matches!(event.source.as_str(), "aws.events" | "aws.scheduler")
            && event.detail_type == "Scheduled Event";
        if !scheduled {
            return Err(TickError::NotScheduled(format!(
                "{} / {}",
                event.source, event.detail_type
            )));
        }
        Ok(Tick { time: event.time })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    #[error(transparent)]
    Tick(#[from] TickError),
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
    fn only_scheduled_events_are_ticks() {
        let rule = serde_json::json!({"version":"0","id":"1","detail-type":"Scheduled Event","source":"aws.events","account":"1","time":"2026-11-25T12:00:00Z","region":"us-east-1","resources":[],"detail":{}});
        assert!(Tick::parse(rule).is_ok());
        let other = serde_json::json!({"detail-type":"price.changed","source":"dealpulse.ingest","time":"2026-11-25T12:00:00Z"});
        assert!(Tick::parse(other).is_err());
        assert!(Tick::parse(serde_json::json!({"hello": 1})).is_err());
    }

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
