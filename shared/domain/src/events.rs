//! What ingestion tells the rest of the system: a listing was observed, a tracked product's
//! price or stock changed. The matching engine subscribes to these; the AWS runtime carries them
//! on EventBridge, the local runtime on an in-process bus. The JSON shape is the contract.

use crate::ids::ProductId;
use crate::listing::Listing;
use crate::money::Money;
use crate::score::DealScore;
use async_trait::async_trait;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// Value of the EventBridge `Source` field of every DealPulse event.
pub const EVENT_SOURCE: &str = "dealpulse.ingest";

/// A product's state when an event about it was raised.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProductSnapshot {
    pub product_id: ProductId,
    pub url: String,
    pub title: Option<String>,
    pub price: Option<Money>,
    pub in_stock: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum CatalogEvent {
    /// A listing was seen for the first time, or again with a different price.
    #[serde(rename = "listing.observed")]
    ListingObserved {
        listing: Box<Listing>,
        /// The price it had when last seen; `None` for a new listing.
        previous_price: Option<Money>,
    },
    #[serde(rename = "price.changed")]
    PriceChanged {
        product: ProductSnapshot,
        from: Option<Money>,
        to: Money,
        at: Timestamp,
        /// The deal score of the new price against the product's history.
        score: Option<DealScore>,
    },
    #[serde(rename = "stock.changed")]
    StockChanged {
        product: ProductSnapshot,
        from: Option<bool>,
        to: bool,
        at: Timestamp,
    },
}

impl CatalogEvent {
    /// The EventBridge `DetailType` (and the local bus topic).
    pub fn kind(&self) -> &'static str {
        match self {
            CatalogEvent::ListingObserved { .. } => "listing.observed",
            CatalogEvent::PriceChanged { .. } => "price.changed",
            CatalogEvent::StockChanged { .. } => "stock.changed",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// Some events were not accepted after retries; the count says how many.
    #[error("{failed} of {total} events were not published: {reason}")]
    Rejected {
        failed: usize,
        total: usize,
        reason: String,
    },
    #[error("event bus unavailable: {0}")]
    Unavailable(String),
}

/// Where catalogue events go.
#[async_trait]
pub trait EventPublisher: Send + Sync {
    /// Publishes every event or reports how many were lost; never silently drops one.
    async fn publish(&self, events: &[CatalogEvent]) -> Result<(), PublishError>;
}

/// An event as EventBridge delivers it to a target (Lambda, SQS), and as the local bus queues
/// it: consumers parse one shape in both runtimes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventEnvelope {
    pub id: String,
    pub source: String,
    #[serde(rename = "detail-type")]
    pub detail_type: String,
    pub time: Timestamp,
    pub detail: CatalogEvent,
}

impl EventEnvelope {
    pub fn new(event: CatalogEvent, time: Timestamp) -> Self {
        Self {
            id: crate::ids::ListingId::generate().to_string(),
            source: EVENT_SOURCE.to_string(),
            detail_type: event.kind().to_string(),
            time,
            detail: event,
        }
    }
}
