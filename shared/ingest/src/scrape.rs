//! One scrape run: claim the product pages and listing feeds that are due, check them through the
//! polite, SSRF-guarded fetcher, and write back what changed — within a time budget, leaving the
//! rest for the next tick (their claims lapse, so they fall due again).
//!
//! Per product the order is publish → append price point → save product: if any step fails the
//! product keeps its lease, falls due again when it lapses, and the change is detected and
//! published again. Events are therefore at least once; their consumers deduplicate.

use crate::listings::{listing_from_item, SourceDefaults};
use crate::{apply, observe, unread, ProductEvent};
use dealpulse_domain::clock::Clock;
use dealpulse_domain::events::{CatalogEvent, EventPublisher, ProductSnapshot};
use dealpulse_domain::ids::UserId;
use dealpulse_domain::listing::{Category, Listing, TrackedProduct};
use dealpulse_domain::money::Money;
use dealpulse_domain::ports::{Store, StoreError};
use dealpulse_domain::records::records;
use dealpulse_domain::score::{prices_by_category, score_against_category, score_against_history};
use dealpulse_domain::sources::{
    CheckResult, FeedFormat, FeedSource, HostSelectors, SelectorOverrides,
};
use dealpulse_extract::feeds::{parse_json_feed, parse_mapped_json, parse_xml_feed, FeedItem};
use dealpulse_fetch::polite::PoliteFetcher;
use dealpulse_fetch::{FetchOutcome, Validators};
use futures::future::{BoxFuture, FutureExt};
use futures::stream::{self, StreamExt};
use jiff::{SignedDuration, Timestamp};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};
use url::Url;

#[derive(Debug, Clone)]
pub struct ScrapeSettings {
    /// Checks in flight at once (the fetcher still limits each host).
    pub concurrency: usize,
    /// Items claimed per round.
    pub batch: u32,
    /// How long a claim holds before an unfinished item falls due again.
    pub lease: SignedDuration,
}

impl Default for ScrapeSettings {
    fn default() -> Self {
        Self {
            concurrency: 8,
            batch: 24,
            lease: SignedDuration::from_mins(10),
        }
    }
}

/// What a run did, for logs, metrics and the CLI.
#[derive(Debug, Default, Clone, Serialize)]
pub struct ScrapeReport {
    pub products_checked: u32,
    pub feeds_checked: u32,
    pub results: BTreeMap<CheckResult, u32>,
    pub price_changes: u32,
    pub stock_changes: u32,
    /// Feed items read into listings.
    pub listings_seen: u32,
    /// New listings, or listings whose price changed (each raised `listing.observed`).
    pub listings_observed: u32,
    /// Feed items that could not become listings (no price, bad link, …).
    pub items_skipped: u32,
    pub events_published: u32,
    /// Checks whose result could not be stored or published; each is retried when its claim
    /// lapses.
    pub failures: Vec<String>,
    /// The budget ran out with work possibly left.
    pub out_of_time: bool,
    pub elapsed_ms: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum ScrapeError {
    #[error("cannot claim due checks: {0}")]
    Claim(#[from] StoreError),
}

/// What one check contributes to the report.
#[derive(Default)]
struct Checked {
    product: bool,
    result: Option<CheckResult>,
    price_changes: u32,
    stock_changes: u32,
    listings_seen: u32,
    listings_observed: u32,
    items_skipped: u32,
    events: u32,
    failure: Option<String>,
}

impl ScrapeReport {
    fn add(&mut self, checked: Checked) {
        if checked.product {
            self.products_checked += 1;
        } else {
            self.feeds_checked += 1;
        }
        if let Some(result) = checked.result {
            *self.results.entry(result).or_default() += 1;
        }
        self.price_changes += checked.price_changes;
        self.stock_changes += checked.stock_changes;
        self.listings_seen += checked.listings_seen;
        self.listings_observed += checked.listings_observed;
        self.items_skipped += checked.items_skipped;
        self.events_published += checked.events;
        self.failures.extend(checked.failure);
    }
}

pub struct Scraper {
    store: Arc<dyn Store>,
    events: Arc<dyn EventPublisher>,
    fetcher: Arc<PoliteFetcher>,
    clock: Arc<dyn Clock>,
    settings: ScrapeSettings,
}

/// Listings from the last 30 days, by category, for scoring listings that have no history.
type CategoryPrices = HashMap<Category, Vec<Money>>;
/// Selector overrides by host.
type HostSelectorMap = HashMap<String, SelectorOverrides>;

impl Scraper {
    pub fn new(
        store: Arc<dyn Store>,
        events: Arc<dyn EventPublisher>,
        fetcher: Arc<PoliteFetcher>,
        clock: Arc<dyn Clock>,
        settings: ScrapeSettings,
    ) -> Self {
        Self {
            store,
            events,
            fetcher,
            clock,
            settings,
        }
    }

    /// Checks due items until none is left or `budget` is spent (a round in progress finishes),
    /// and records the run for the system health view.
    pub async fn run(&self, budget: Duration) -> Result<ScrapeReport, ScrapeError> {
        let result = self.check_due(budget).await;
        let errors = match &result {
            Ok(report) => u32::try_from(report.failures.len()).unwrap_or(u32::MAX),
            Err(_) => 1,
        };
        let now = self.clock.now();
        if let Err(error) =
            dealpulse_domain::jobs::note_run(self.store.as_ref(), "scrape", errors, now).await
        {
            tracing::warn!(%error, "scrape run not recorded");
        }
        result
    }

    async fn check_due(&self, budget: Duration) -> Result<ScrapeReport, ScrapeError> {
        let started = Instant::now();
        let mut report = ScrapeReport::default();
        let mut category_prices: Option<Arc<CategoryPrices>> = None;
        let mut host_selectors: Option<Arc<HostSelectorMap>> = None;
        loop {
            if started.elapsed() >= budget {
                report.out_of_time = true;
                break;
            }
            let now = self.clock.now();
            let lease = now.saturating_add(self.settings.lease).unwrap_or(now);
            let feeds = self
                .store
                .claim_due_feeds(now, lease, self.settings.batch)
                .await?;
            let products = self
                .store
                .claim_due_products(now, lease, self.settings.batch)
                .await?;
            if feeds.is_empty() && products.is_empty() {
                break;
            }
            if !feeds.is_empty() && category_prices.is_none() {
                category_prices = Some(Arc::new(self.category_prices(now).await));
            }
            let prices = category_prices.clone().unwrap_or_default();
            if !products.is_empty() && host_selectors.is_none() {
                host_selectors = Some(Arc::new(self.host_selectors().await));
            }
            let selectors = host_selectors.clone().unwrap_or_default();
            // Boxed so the run future stays `Send` for any caller (spawned tasks, Lambda).
            let mut checks: Vec<BoxFuture<'_, Checked>> = Vec::new();
            for feed in feeds {
                checks.push(self.check_feed(feed, Arc::clone(&prices)).boxed());
            }
            for product in products {
                checks.push(self.check_product(product, Arc::clone(&selectors)).boxed());
            }
            let done: Vec<Checked> = stream::iter(checks)
                .buffer_unordered(self.settings.concurrency.max(1))
                .collect()
                .await;
            done.into_iter().for_each(|checked| report.add(checked));
        }
        report.elapsed_ms = started.elapsed().as_millis() as u64;
        for failure in &report.failures {
            tracing::warn!(failure = %failure, "scrape: a check will be retried");
        }
        Ok(report)
    }

    async fn category_prices(&self, now: Timestamp) -> CategoryPrices {
        let since = now
            .checked_sub(SignedDuration::from_hours(30 * 24))
            .unwrap_or(now);
        match self.store.listings_seen_since(since, 5000).await {
            Ok(listings) => prices_by_category(&listings),
            // Scores then rest on the discount alone; the feed is still read.
            Err(error) => {
                tracing::warn!(%error, "scrape: no category prices for scoring");
                CategoryPrices::new()
            }
        }
    }

    /// Administrators' per-host selector overrides, read once per run.
    async fn host_selectors(&self) -> HostSelectorMap {
        match records::<HostSelectors>(self.store.as_ref())
            .list(UserId::system())
            .await
        {
            Ok(all) => all.into_iter().map(|h| (h.host, h.selectors)).collect(),
            Err(error) => {
                // Checks still run on structured data; the failure is logged, not hidden.
                tracing::warn!(%error, "scrape: host selector overrides unavailable");
                HostSelectorMap::new()
            }
        }
    }

    async fn check_product(&self, product: TrackedProduct, hosts: Arc<HostSelectorMap>) -> Checked {
        let mut checked = Checked {
            product: true,
            ..Checked::default()
        };
        let now = self.clock.now();
        let outcome = match Url::parse(&product.url) {
            Ok(url) => {
                // Without a known price the body is needed, so no conditional GET; nor when a
                // watcher asked for this check: they want the page read and their watch judged.
                let validators = match product.current_price {
                    Some(_) if !product.check.requested_since_last_check() => Validators {
                        etag: product.check.etag.clone(),
                        last_modified: product.check.last_modified.clone(),
                    },
                    _ => Validators::default(),
                };
                self.fetcher.fetch(&url, &validators).await
            }
            Err(error) => FetchOutcome::Error(format!("stored URL does not parse: {error}")),
        };
        let selectors = match (&product.selectors, hosts.get(&product.host)) {
            (Some(own), Some(host)) => Some(own.or(host)),
            (Some(own), None) => Some(own.clone()),
            (None, host) => host.cloned(),
        };
        let observation = observe(
            &outcome,
            selectors.as_ref(),
            product.current_price.map(|price| price.currency()),
        );
        let result = observation.classification;
        checked.result = Some(result);
        let changes = apply(&product, &observation, now);
        let mut next = changes.product;
        next.check.record(
            result,
            observation.reason.clone(),
            now,
            product.id.as_uuid().as_u128(),
        );
        if let FetchOutcome::Ok(page) = &outcome {
            next.check.etag = page.etag.clone();
            next.check.last_modified = page.last_modified.clone();
        }
        let snapshot = ProductSnapshot {
            product_id: next.id,
            url: next.url.clone(),
            title: next.title.clone(),
            price: next.current_price,
            in_stock: next.in_stock,
        };
        let mut events = Vec::new();
        for event in changes.events {
            events.push(match event {
                ProductEvent::PriceChanged { from, to } => {
                    checked.price_changes += 1;
                    let history = match self
                        .store
                        .price_points(product.id, Timestamp::MIN, now, 10_000)
                        .await
                    {
                        Ok(history) => history,
                        Err(error) => {
                            checked.failure = Some(format!("{}: history: {error}", product.url));
                            return checked;
                        }
                    };
                    CatalogEvent::PriceChanged {
                        product: snapshot.clone(),
                        from,
                        to,
                        at: now,
                        score: Some(score_against_history(
                            to,
                            observation.list_price,
                            &history,
                            now,
                        )),
                    }
                }
                ProductEvent::StockChanged { from, to } => {
                    checked.stock_changes += 1;
                    CatalogEvent::StockChanged {
                        product: snapshot.clone(),
                        from,
                        to,
                        at: now,
                    }
                }
            });
        }
        if let Err(error) = self.events.publish(&events).await {
            checked.failure = Some(format!("{}: events: {error}", product.url));
            return checked;
        }
        checked.events = events.len() as u32;
        if let Some(point) = &changes.point {
            if let Err(error) = self.store.append_price_point(point).await {
                checked.failure = Some(format!("{}: price point: {error}", product.url));
                return checked;
            }
        }
        if let Err(error) = self.store.save_product(&next).await {
            checked.failure = Some(format!("{}: save: {error}", product.url));
            return checked;
        }
        if let Err(error) = self
            .store
            .record_check(&product.host, result, observation.reason.as_deref(), now)
            .await
        {
            checked.failure = Some(format!("{}: host health: {error}", product.host));
        }
        checked
    }

    async fn check_feed(&self, feed: FeedSource, category_prices: Arc<CategoryPrices>) -> Checked {
        let mut checked = Checked::default();
        let now = self.clock.now();
        let url = match Url::parse(&feed.url) {
            Ok(url) => url,
            Err(error) => {
                return self
                    .finish_feed(
                        feed,
                        CheckResult::Error,
                        Some(format!("bad URL: {error}")),
                        None,
                        checked,
                    )
                    .await
            }
        };
        let validators = Validators {
            etag: feed.check.etag.clone(),
            last_modified: feed.check.last_modified.clone(),
        };
        let page = match self.fetcher.fetch(&url, &validators).await {
            FetchOutcome::Ok(page) => page,
            other => {
                let (result, reason) = unread(&other).unwrap_or((CheckResult::Error, None));
                return self.finish_feed(feed, result, reason, None, checked).await;
            }
        };
        let body = String::from_utf8_lossy(&page.body);
        let parsed: Result<Vec<FeedItem>, _> = match (&feed.format, &feed.mapping) {
            (FeedFormat::JsonApi, Some(mapping)) => {
                parse_mapped_json(&body, mapping, feed.currency)
            }
            (FeedFormat::JsonApi, None) => Err(dealpulse_extract::feeds::FeedError::NotAFeed(
                "a JSON API feed needs a field mapping".into(),
            )),
            (FeedFormat::Auto, _) if body.trim_start().starts_with('{') => {
                parse_json_feed(&body, feed.currency)
            }
            (FeedFormat::Auto, _) => parse_xml_feed(&body, feed.currency),
        };
        let items = match parsed {
            Ok(items) => items,
            Err(error) => {
                return self
                    .finish_feed(
                        feed,
                        CheckResult::Error,
                        Some(error.to_string()),
                        None,
                        checked,
                    )
                    .await
            }
        };
        let defaults = SourceDefaults {
            base: Some(&page.final_url),
            category: feed.category,
            currency: feed.currency,
        };
        let mut listings: Vec<Listing> = Vec::new();
        for item in &items {
            match listing_from_item(&feed.name, item, &defaults, now) {
                Ok(listing) => listings.push(listing),
                Err(_) => checked.items_skipped += 1,
            }
        }
        checked.listings_seen = listings.len() as u32;
        let mut events = Vec::new();
        let mut fresh = Vec::with_capacity(listings.len());
        for mut listing in listings {
            let previous = match self.store.listing_by_id(listing.id).await {
                Ok(previous) => previous,
                Err(error) => {
                    checked.failure = Some(format!("{}: {error}", feed.name));
                    return checked;
                }
            };
            let category_history = listing
                .category
                .and_then(|c| category_prices.get(&c))
                .map(Vec::as_slice)
                .unwrap_or_default();
            listing.score = Some(
                score_against_category(listing.price, listing.was_price, category_history).score,
            );
            let previous_price = previous.as_ref().map(|p| p.price);
            if previous_price != Some(listing.price) {
                events.push(CatalogEvent::ListingObserved {
                    listing: Box::new(listing.clone()),
                    previous_price,
                });
            }
            fresh.push(listing);
        }
        if let Err(error) = self.events.publish(&events).await {
            checked.failure = Some(format!("{}: events: {error}", feed.name));
            return checked;
        }
        checked.events = events.len() as u32;
        checked.listings_observed = events.len() as u32;
        for listing in &fresh {
            if let Err(error) = self.store.put_listing(listing).await {
                checked.failure = Some(format!("{}: listing: {error}", feed.name));
                return checked;
            }
        }
        let mut feed = feed;
        feed.check.etag = page.etag.clone();
        feed.check.last_modified = page.last_modified.clone();
        let result = CheckResult::Ok;
        self.finish_feed(feed, result, None, Some(items.len() as u32), checked)
            .await
    }

    async fn finish_feed(
        &self,
        mut feed: FeedSource,
        result: CheckResult,
        reason: Option<String>,
        items: Option<u32>,
        mut checked: Checked,
    ) -> Checked {
        let now = self.clock.now();
        checked.result = Some(result);
        feed.check
            .record(result, reason.clone(), now, feed.id.as_uuid().as_u128());
        if items.is_some() {
            feed.last_item_count = items;
        }
        let host = Url::parse(&feed.url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_string))
            .unwrap_or_default();
        if let Err(error) = self.store.save_feed(&feed).await {
            checked.failure = Some(format!("{}: save: {error}", feed.name));
            return checked;
        }
        if let Err(error) = self
            .store
            .record_check(&host, result, reason.as_deref(), now)
            .await
        {
            checked.failure = Some(format!("{host}: host health: {error}"));
        }
        checked
    }
}
