//! Previewing a product page before it is watched: the port through which the API has one page
//! fetched (through the SSRF-guarded fetcher, the only way to reach a user-supplied URL) and read
//! the way a scheduled check reads it. Nothing is stored.

use crate::money::Money;
use crate::sources::SelectorOverrides;
use async_trait::async_trait;
use std::collections::BTreeMap;

/// What a product page says, as a check would read it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PagePreview {
    pub title: Option<String>,
    /// `None` when the page shows no price a check could use (none, or without a currency).
    pub price: Option<Money>,
    /// The list or "was" price shown next to the price.
    pub list_price: Option<Money>,
    pub in_stock: Option<bool>,
    pub image: Option<String>,
    /// The extraction method behind each field found (`price` → `json_ld`, `title` → `open_graph`).
    pub methods: BTreeMap<String, String>,
}

/// Why a page could not be previewed. Reasons are written for the user: no addresses, no
/// library errors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PreviewError {
    #[error("the page could not be read: {0}")]
    Unreadable(String),
}

/// Fetches and reads one product page.
#[async_trait]
pub trait PagePreviewer: Send + Sync {
    /// `selectors` are the overrides a check of this page would apply (the product's own, then
    /// its host's).
    async fn preview(
        &self,
        url: &url::Url,
        selectors: Option<&SelectorOverrides>,
    ) -> Result<PagePreview, PreviewError>;
}
