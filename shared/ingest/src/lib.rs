//! From one check of a product page to what it changes. A check is classified first — ok,
//! not modified, blocked, not found, gone, price missing (the layout changed), out of stock,
//! error — and only a check that read a price (or a stock change) can move the product: a
//! failed or unclassifiable fetch never produces a price change, a price point or an event.
//! Unchanged consecutive prices are coalesced: no new point, but the check time is recorded.
//!
//! [`scrape`] runs the checks that are due (product pages and listing feeds) within a time
//! budget; [`listings`] turns feed entries into listings.

pub mod listings;
pub mod llm;
pub mod mail;
pub mod preview;
pub mod scrape;

use dealpulse_domain::listing::{PricePoint, TrackedProduct};
use dealpulse_domain::money::{Currency, Money};
use dealpulse_domain::sources::CheckResult;
use dealpulse_extract::{extract, Availability, Extracted, Page, SelectorOverrides};
use dealpulse_fetch::FetchOutcome;
use jiff::Timestamp;
use serde::Serialize;

/// A classified check, with what it read.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Observation {
    pub classification: CheckResult,
    pub price: Option<Money>,
    /// The list or "was" price the page shows next to the price.
    pub list_price: Option<Money>,
    pub in_stock: Option<bool>,
    pub title: Option<String>,
    /// Why the check failed, for the source's health record.
    pub reason: Option<String>,
}

impl Observation {
    fn failed(classification: CheckResult, reason: impl Into<String>) -> Self {
        Self {
            classification,
            price: None,
            list_price: None,
            in_stock: None,
            title: None,
            reason: Some(reason.into()),
        }
    }
}

/// How a fetch that brought no page ended, with the reason for the host's tally; `None` when it
/// brought a page (which `observe` or a feed reader then reads).
pub fn unread(outcome: &FetchOutcome) -> Option<(CheckResult, Option<String>)> {
    match outcome {
        FetchOutcome::Ok(_) => None,
        FetchOutcome::NotModified => Some((CheckResult::NotModified, None)),
        FetchOutcome::Blocked(why) => Some((CheckResult::Blocked, Some(why.clone()))),
        FetchOutcome::NotFound => Some((CheckResult::NotFound, Some("404".into()))),
        FetchOutcome::Gone => Some((CheckResult::Gone, Some("410".into()))),
        FetchOutcome::Error(why) => Some((CheckResult::Error, Some(why.clone()))),
    }
}

/// Classifies a fetch, extracting the page when there is one. `currency_hint` is the product's
/// known currency (pages that print a bare `$` or `kr` need it).
pub fn observe(
    outcome: &FetchOutcome,
    selectors: Option<&SelectorOverrides>,
    currency_hint: Option<Currency>,
) -> Observation {
    let FetchOutcome::Ok(page) = outcome else {
        let (classification, reason) = unread(outcome).unwrap_or((CheckResult::Error, None));
        return Observation {
            classification,
            price: None,
            list_price: None,
            in_stock: None,
            title: None,
            reason,
        };
    };
    read_page(page, selectors, currency_hint).0
}

/// Reads a fetched page the way a check does: the classified observation, and everything the
/// extractor found (with the method behind each field), for previews.
pub fn read_page(
    page: &dealpulse_fetch::Page,
    selectors: Option<&SelectorOverrides>,
    currency_hint: Option<Currency>,
) -> (Observation, Extracted) {
    let html = String::from_utf8_lossy(&page.body);
    let extracted = match extract(&Page {
        html: &html,
        url: Some(&page.final_url),
        selectors,
    }) {
        Ok(extracted) => extracted,
        Err(bad) => {
            return (
                Observation::failed(CheckResult::Error, bad.to_string()),
                Extracted::default(),
            )
        }
    };
    let currency = extracted
        .currency
        .as_deref()
        .and_then(|c| Currency::parse(c).ok())
        .or(currency_hint);
    let price = match (extracted.price.as_deref(), currency) {
        (Some(amount), Some(currency)) => Money::parse(amount, currency).ok(),
        _ => None,
    };
    let list_price = match (extracted.list_price.as_deref(), currency) {
        (Some(amount), Some(currency)) => Money::parse(amount, currency).ok(),
        _ => None,
    };
    let in_stock = extracted
        .availability
        .map(|a| matches!(a, Availability::InStock | Availability::PreOrder));
    let classification = match (price, in_stock) {
        (_, Some(false)) => CheckResult::OutOfStock,
        (Some(_), _) => CheckResult::Ok,
        (None, _) => CheckResult::PriceMissing,
    };
    let observation = Observation {
        classification,
        price,
        list_price,
        in_stock,
        title: extracted.title.clone(),
        reason: match classification {
            CheckResult::PriceMissing => Some(match (&extracted.price, currency) {
                (Some(_), None) => "a price without a known currency".to_string(),
                _ => "no price on the page".to_string(),
            }),
            _ => None,
        },
    };
    (observation, extracted)
}

/// A change worth telling watchers about.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ProductEvent {
    #[serde(rename = "price.changed")]
    PriceChanged { from: Option<Money>, to: Money },
    #[serde(rename = "stock.changed")]
    StockChanged { from: Option<bool>, to: bool },
}

/// What a check changes.
#[derive(Debug, Clone, PartialEq)]
pub struct Changes {
    /// The product as it should be stored after the check.
    pub product: TrackedProduct,
    /// A new price point, when the price or the stock changed.
    pub point: Option<PricePoint>,
    pub events: Vec<ProductEvent>,
}

/// Applies an observation to a product.
pub fn apply(product: &TrackedProduct, observation: &Observation, now: Timestamp) -> Changes {
    let mut next = product.clone();
    let mut events = Vec::new();
    match observation.classification {
        // Nothing was read: the product stays as it was, apart from confirming an unchanged page.
        CheckResult::NotModified => {
            next.last_checked_at = Some(now);
            return Changes {
                product: next,
                point: None,
                events,
            };
        }
        CheckResult::Blocked
        | CheckResult::NotFound
        | CheckResult::Gone
        | CheckResult::PriceMissing
        | CheckResult::Error => {
            return Changes {
                product: next,
                point: None,
                events,
            };
        }
        CheckResult::Ok | CheckResult::OutOfStock => {}
    }
    next.last_checked_at = Some(now);
    if next.title.is_none() {
        next.title = observation.title.clone();
    }
    let stock = observation.in_stock.or(product.in_stock).unwrap_or(true);
    let price = observation.price.or(product.current_price);
    let price_changed = observation.price.is_some() && observation.price != product.current_price;
    let stock_changed = product.in_stock != Some(stock);
    // A check a watcher asked for announces the price it read even when it did not change, so
    // a watch created or edited since is judged against today's price now rather than at the
    // next change.
    let announce = price_changed || product.check.requested_since_last_check();
    if let (true, Some(to)) = (announce, observation.price) {
        events.push(ProductEvent::PriceChanged {
            from: product.current_price,
            to,
        });
        next.current_price = Some(to);
    }
    if stock_changed && product.in_stock.is_some() {
        events.push(ProductEvent::StockChanged {
            from: product.in_stock,
            to: stock,
        });
    }
    next.in_stock = Some(stock);
    // Coalescing: a point only when something changed (the first observation always counts).
    let point = match price {
        Some(price) if price_changed || stock_changed => Some(PricePoint {
            product_id: product.id,
            at: now,
            price,
            in_stock: stock,
            previous: product.current_price,
        }),
        _ => None,
    };
    Changes {
        product: next,
        point,
        events,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dealpulse_domain::ids::ProductId;
    use dealpulse_fetch::Page as Fetched;

    fn eur(amount: &str) -> Money {
        Money::parse(amount, Currency::parse("EUR").unwrap()).unwrap()
    }

    fn page(html: &str) -> FetchOutcome {
        FetchOutcome::Ok(Fetched {
            final_url: "https://shop.example.com/p/1".parse().unwrap(),
            status: 200,
            content_type: Some("text/html".into()),
            etag: None,
            last_modified: None,
            body: html.as_bytes().to_vec(),
        })
    }

    fn product() -> TrackedProduct {
        TrackedProduct {
            id: ProductId::generate(),
            url: "https://shop.example.com/p/1".into(),
            host: "shop.example.com".into(),
            title: None,
            current_price: None,
            in_stock: None,
            created_at: Timestamp::UNIX_EPOCH,
            last_checked_at: None,
            selectors: None,
            check: Default::default(),
        }
    }

    const IN_STOCK: &str = r#"<script type="application/ld+json">{"@type":"Product","name":"X1","offers":{"price":"279","priceCurrency":"EUR","availability":"https://schema.org/InStock"}}</script>"#;

    #[test]
    fn checks_are_classified() {
        assert_eq!(
            observe(&page(IN_STOCK), None, None).classification,
            CheckResult::Ok
        );
        let sold_out = IN_STOCK.replace("InStock", "OutOfStock");
        assert_eq!(
            observe(&page(&sold_out), None, None).classification,
            CheckResult::OutOfStock
        );
        let missing = observe(&page("<h1>Redesigned page</h1>"), None, None);
        assert_eq!(missing.classification, CheckResult::PriceMissing);
        let bare = observe(&page("<span class=price>279 kr</span>"), None, None);
        assert_eq!(
            bare.classification,
            CheckResult::PriceMissing,
            "kr without a hint"
        );
        let hinted = observe(
            &page("<span itemprop=price>279 kr</span>"),
            None,
            Currency::parse("SEK").ok(),
        );
        assert_eq!(hinted.classification, CheckResult::Ok);
        for (outcome, class) in [
            (FetchOutcome::NotModified, CheckResult::NotModified),
            (FetchOutcome::Blocked("403".into()), CheckResult::Blocked),
            (FetchOutcome::NotFound, CheckResult::NotFound),
            (FetchOutcome::Gone, CheckResult::Gone),
            (FetchOutcome::Error("timeout".into()), CheckResult::Error),
        ] {
            assert_eq!(observe(&outcome, None, None).classification, class);
        }
    }

    #[test]
    fn failures_never_move_the_price_and_unchanged_prices_coalesce() {
        let now = Timestamp::now();
        let first = apply(&product(), &observe(&page(IN_STOCK), None, None), now);
        assert_eq!(first.point.as_ref().map(|p| p.price), Some(eur("279")));
        assert_eq!(first.product.current_price, Some(eur("279")));
        assert_eq!(first.product.title.as_deref(), Some("X1"));
        assert_eq!(
            first.events.len(),
            1,
            "the first price is an observation, not a stock change"
        );

        let later = now
            .checked_add(jiff::SignedDuration::from_hours(6))
            .unwrap();
        let same = apply(&first.product, &observe(&page(IN_STOCK), None, None), later);
        assert_eq!(same.point, None, "unchanged: coalesced");
        assert!(same.events.is_empty());
        assert_eq!(
            same.product.last_checked_at,
            Some(later),
            "but the check is recorded"
        );

        // A check a watcher asked for announces the unchanged price, still without a new point.
        let mut asked = first.product.clone();
        assert!(asked.check.request_now(later).is_ok());
        let requested = apply(&asked, &observe(&page(IN_STOCK), None, None), later);
        assert_eq!(requested.point, None);
        assert_eq!(
            requested.events,
            vec![ProductEvent::PriceChanged {
                from: Some(eur("279")),
                to: eur("279")
            }]
        );

        for failure in [
            FetchOutcome::Blocked("captcha".into()),
            FetchOutcome::Error("timeout".into()),
            FetchOutcome::NotFound,
            page("<h1>no price any more</h1>"),
        ] {
            let changes = apply(&first.product, &observe(&failure, None, None), later);
            assert_eq!(changes.point, None);
            assert!(changes.events.is_empty());
            assert_eq!(
                changes.product, first.product,
                "a failed check changes nothing"
            );
        }

        let cheaper = IN_STOCK.replace("\"279\"", "\"249\"");
        let drop = apply(&first.product, &observe(&page(&cheaper), None, None), later);
        assert_eq!(
            drop.events,
            vec![ProductEvent::PriceChanged {
                from: Some(eur("279")),
                to: eur("249")
            }]
        );
        assert_eq!(drop.point.map(|p| p.price), Some(eur("249")));

        let sold_out = cheaper.replace("InStock", "OutOfStock");
        let gone = apply(&drop.product, &observe(&page(&sold_out), None, None), later);
        assert_eq!(
            gone.events,
            vec![ProductEvent::StockChanged {
                from: Some(true),
                to: false
            }]
        );
        assert_eq!(gone.point.map(|p| p.in_stock), Some(false));
    }
}
