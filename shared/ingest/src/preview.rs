//! The page previewer behind `POST /api/v1/watchlist/preview`: one page fetched through the
//! polite, SSRF-guarded fetcher and read by the same code a scheduled check uses
//! ([`crate::read_page`]), so a preview shows what watching the page would see.

use crate::read_page;
use async_trait::async_trait;
use dealpulse_domain::preview::{PagePreview, PagePreviewer, PreviewError};
use dealpulse_domain::sources::SelectorOverrides;
use dealpulse_fetch::polite::{PoliteFetcher, Politeness};
use dealpulse_fetch::{FetchConfig, FetchOutcome, Fetcher, SystemLookup, Validators};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;
use url::Url;

pub struct FetchingPreviewer {
    fetcher: Arc<PoliteFetcher>,
}

impl FetchingPreviewer {
    pub fn new(fetcher: Arc<PoliteFetcher>) -> Self {
        Self { fetcher }
    }

    /// A previewer for a request path: public addresses only (plus `loopback_ports` on
    /// 127.0.0.1, for shops on this machine in local mode), no retries and short timeouts, so
    /// robots.txt and the page fit in one API request; a second between two requests to a host.
    pub fn for_requests(
        loopback_ports: BTreeSet<u16>,
    ) -> Result<Self, dealpulse_fetch::BuildError> {
        let mut config = FetchConfig {
            connect_timeout: Duration::from_secs(3),
            timeout: Duration::from_secs(8),
            retries: 0,
            ..FetchConfig::default()
        };
        config.policy.loopback_ports = loopback_ports;
        let fetcher = Fetcher::new(config, Arc::new(SystemLookup))?;
        Ok(Self::new(Arc::new(PoliteFetcher::new(
            fetcher,
            Politeness::default(),
        ))))
    }
}

/// Why a fetch brought no page, in words for the user: the fetcher's own reasons can carry
/// addresses and library errors, which stay in the log.
fn unreadable(outcome: &FetchOutcome) -> PreviewError {
    let reason = match outcome {
        FetchOutcome::Ok(_) | FetchOutcome::NotModified => "the site sent no page",
        FetchOutcome::NotFound => "the site answered 404 (not found)",
        FetchOutcome::Gone => "the site answered 410 (gone)",
        FetchOutcome::Blocked(why) if why.starts_with("the site answered") => {
            "the site refused the request"
        }
        FetchOutcome::Blocked(why) if why.contains("robots.txt") => {
            "the site's robots.txt does not allow it"
        }
        FetchOutcome::Blocked(why) if why.contains("challenge") => {
            "the site answered with a bot challenge"
        }
        FetchOutcome::Blocked(_) => "only public web addresses can be read",
        FetchOutcome::Error(_) => "the site could not be reached or answered with an error",
    };
    PreviewError::Unreadable(reason.to_string())
}

#[async_trait]
impl PagePreviewer for FetchingPreviewer {
    async fn preview(
        &self,
        url: &Url,
        selectors: Option<&SelectorOverrides>,
    ) -> Result<PagePreview, PreviewError> {
        let outcome = self.fetcher.fetch(url, &Validators::default()).await;
        let FetchOutcome::Ok(page) = &outcome else {
            tracing::info!(%url, outcome = ?outcome, "preview: page not read");
            return Err(unreadable(&outcome));
        };
        let (observation, extracted) = read_page(page, selectors, None);
        let methods = extracted
            .methods
            .iter()
            .filter_map(|(field, method)| {
                let name = serde_json::to_value(method).ok()?;
                Some((field.to_string(), name.as_str()?.to_string()))
            })
            .collect();
        Ok(PagePreview {
            title: observation.title,
            price: observation.price,
            list_price: observation.list_price,
            in_stock: observation.in_stock,
            image: extracted.image,
            methods,
        })
    }
}
