//! `GET /api/v1/deals`: the deals feed, the dashboard's catalogue view. Every signed-in user sees
//! the public listings of the last days (and deals read from their own newsletter address),
//! searched, filtered by category and sorted; listings hidden by a confirmed deal report are left
//! out. Built on a bounded scan of the listings seen since the window started, like the rule dry
//! run. Served by the `api-rules` function, with the deal reports.

use crate::auth::extract::Authenticated;
use crate::problem::{ApiError, Problem};
use crate::resource::{decode_cursor, encode_cursor, QueryParams};
use crate::state::Core;
use axum::extract::{RawQuery, State};
use axum::routing::get;
use axum::{Json, Router};
use dealpulse_domain::geo::GeoPoint;
use dealpulse_domain::listing::{Category, FlightOffer, Listing};
use dealpulse_domain::money::Money;
use dealpulse_domain::query::fold;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use utoipa::ToSchema;

pub fn router(core: Core) -> Router {
    Router::new()
        .route("/api/v1/deals", get(list_deals))
        .with_state(core)
}

/// Most listings one feed request scans (newest first), as the other listing scans.
const SCAN_LIMIT: u32 = 2000;
/// Longest search text accepted.
const MAX_SEARCH_CHARS: usize = 200;

/// One deal of the feed.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "01937b2f-2222-7cc0-9a51-4f2d5c1e0a11", "title": "Gaming PC RTX 4070, Ryzen 7, 32 GB",
    "url": "https://deals.example.com/gaming-pc", "source": "slickdeals",
    "price": {"amount": "749.99", "currency": "USD"}, "was_price": {"amount": "999.99", "currency": "USD"},
    "discount_percent": 25, "category": "computers", "condition": "new", "score": 82,
    "location": {"lat": 42.37, "lon": -71.11}, "seen_at": "2026-11-24T18:00:00Z"
}))]
pub struct DealView {
    pub id: String,
    pub title: String,
    pub url: String,
    pub source: String,
    #[schema(value_type = Object)]
    pub price: Money,
    #[schema(value_type = Option<Object>)]
    pub was_price: Option<Money>,
    /// Off the was price, rounded down; null without a higher was price in the same currency.
    pub discount_percent: Option<u8>,
    pub category: Option<String>,
    pub condition: Option<String>,
    /// Deal score 0–100, when scored.
    pub score: Option<u8>,
    /// Where a marketplace item is (`{"lat", "lon"}`); absent when unknown.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub location: Option<GeoPoint>,
    /// The fare of a flight deal (`origin`, `destination`, `depart_on`, `return_on`, `stops`,
    /// `cabin`); absent for other deals.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub flight: Option<FlightOffer>,
    #[schema(value_type = String, format = DateTime)]
    pub seen_at: Timestamp,
}

/// A category facet: how many deals of the search (before the category filter) it holds.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"category": "computers", "count": 12}))]
pub struct CategoryFacet {
    pub category: String,
    pub count: usize,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "items": [{"id": "01937b2f-2222-7cc0-9a51-4f2d5c1e0a11", "title": "Gaming PC RTX 4070, Ryzen 7, 32 GB",
        "url": "https://deals.example.com/gaming-pc", "source": "slickdeals",
        "price": {"amount": "749.99", "currency": "USD"}, "was_price": {"amount": "999.99", "currency": "USD"},
        "discount_percent": 25, "category": "computers", "condition": "new", "score": 82,
        "seen_at": "2026-11-24T18:00:00Z"}],
    "total": 1, "next_cursor": null,
    "categories": [{"category": "computers", "count": 1}]
}))]
pub struct DealFeed {
    pub items: Vec<DealView>,
    /// Deals matching every filter.
    pub total: usize,
    pub next_cursor: Option<String>,
    /// Counts per category over the deals matching every filter but `category`, most first.
    pub categories: Vec<CategoryFacet>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sort {
    Date,
    Price,
    Score,
    Discount,
}

impl Sort {
    fn parse(text: Option<&str>) -> Result<Self, ApiError> {
        match text {
            None | Some("date") => Ok(Sort::Date),
            Some("price") => Ok(Sort::Price),
            Some("score") => Ok(Sort::Score),
            Some("discount") => Ok(Sort::Discount),
            Some(_) => Err(ApiError::invalid(
                "sort",
                "one of date (newest first), price (lowest first), score, discount (highest first)",
            )),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Sort::Date => "date",
            Sort::Price => "price",
            Sort::Score => "score",
            Sort::Discount => "discount",
        }
    }
}

/// Where the next page starts. Offsets are enough here: the feed is a snapshot of recent
/// listings, and a page that shifts by a new listing only repeats one item.
#[derive(Debug, Serialize, Deserialize)]
struct FeedCursor {
    sort: String,
    offset: usize,
}

fn discount_percent(listing: &Listing) -> Option<u8> {
    let was = listing.was_price?;
    let (was, now) = (was.minor(), listing.price.minor());
    if listing.was_price?.currency() != listing.price.currency() || was <= now || was <= 0 {
        return None;
    }
    u8::try_from((was - now) * 100 / was).ok()
}

impl From<&Listing> for DealView {
    fn from(listing: &Listing) -> Self {
        Self {
            id: listing.id.to_string(),
            title: listing.title.clone(),
            url: listing.url.clone(),
            source: listing.source.to_string(),
            price: listing.price,
            was_price: listing.was_price,
            discount_percent: discount_percent(listing),
            category: listing.category.map(|c| c.to_string()),
            condition: listing.condition.map(|c| c.to_string()),
            score: listing.score,
            location: listing.location,
            flight: listing.flight.clone(),
            seen_at: listing.seen_at,
        }
    }
}

fn categories(text: Option<&str>) -> Result<BTreeSet<Category>, ApiError> {
    let Some(text) = text else {
        return Ok(BTreeSet::new());
    };
    let mut wanted = BTreeSet::new();
    for name in text.split(',').map(str::trim) {
        let category = Category::parse(name).ok_or_else(|| {
            let known: Vec<&str> = Category::ALL.iter().map(Category::as_str).collect();
            ApiError::invalid(
                "category",
                format!(
                    "\"{}\" is not a category; known: {}",
                    name.chars().take(40).collect::<String>(),
                    known.join(", ")
                ),
            )
        })?;
        wanted.insert(category);
    }
    Ok(wanted)
}

/// The search words, folded (case and accents do not matter).
fn search_words(text: Option<&str>) -> Result<Vec<String>, ApiError> {
    let Some(text) = text else {
        return Ok(Vec::new());
    };
    if text.chars().count() > MAX_SEARCH_CHARS {
        return Err(ApiError::invalid(
            "q",
            format!("at most {MAX_SEARCH_CHARS} characters"),
        ));
    }
    Ok(fold(text).split_whitespace().map(str::to_string).collect())
}

/// The deals feed: `q` (every word must appear in the title or description), `category` (one or
/// more, comma-separated), `sort` (`date`, newest first, the default; `price`, lowest first;
/// `score` and `discount`, highest first), `days` (1–30, default 7), `limit` (1–100, default
/// 24), `cursor`.
#[utoipa::path(get, path = "/api/v1/deals", tag = "deals",
    security(("bearer" = [])),
    params(("q" = Option<String>, Query), ("category" = Option<String>, Query),
        ("sort" = Option<String>, Query), ("days" = Option<u32>, Query, minimum = 1, maximum = 30),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 100), ("cursor" = Option<String>, Query)),
    responses(
        (status = 200, body = DealFeed),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_deals(
    State(core): State<Core>,
    caller: Authenticated,
    RawQuery(query): RawQuery,
) -> Result<Json<DealFeed>, ApiError> {
    let params = QueryParams::parse(
        query.as_deref(),
        &["q", "category", "sort", "days", "limit", "cursor"],
    )?;
    let words = search_words(params.text("q"))?;
    let wanted = categories(params.text("category"))?;
    let sort = Sort::parse(params.text("sort"))?;
    let days = params.number("days", 1, 30, 7)?;
    let limit = params.number("limit", 1, 100, 24)? as usize;
    let offset = match params.text("cursor") {
        None => 0,
        Some(text) => {
            let cursor: FeedCursor = decode_cursor(text)?;
            if cursor.sort != sort.name() {
                return Err(ApiError::invalid(
                    "cursor",
                    "the cursor belongs to a different sort order",
                ));
            }
            cursor.offset
        }
    };
    let now = core.clock.now();
    let since = now
        .checked_sub(SignedDuration::from_hours(i64::from(days) * 24))
        .map_err(ApiError::internal)?;
    let hidden = dealpulse_domain::reports::hidden_listings(core.store.as_ref()).await?;
    let searched: Vec<Listing> = core
        .store
        .listings_seen_since(since, SCAN_LIMIT)
        .await?
        .into_iter()
        .filter(|l| l.audience.is_none_or(|user| user == caller.user.id))
        .filter(|l| !hidden.contains(&l.id))
        .filter(|l| {
            let text = fold(&format!("{}\n{}", l.title, l.description));
            words.iter().all(|word| text.contains(word.as_str()))
        })
        .collect();
    let mut counts: BTreeMap<Category, usize> = BTreeMap::new();
    for category in searched.iter().filter_map(|l| l.category) {
        *counts.entry(category).or_default() += 1;
    }
    let mut facets: Vec<CategoryFacet> = counts
        .into_iter()
        .map(|(category, count)| CategoryFacet {
            category: category.to_string(),
            count,
        })
        .collect();
    facets.sort_by(|a, b| b.count.cmp(&a.count).then(a.category.cmp(&b.category)));
    let mut deals: Vec<Listing> = searched
        .into_iter()
        .filter(|l| wanted.is_empty() || l.category.is_some_and(|c| wanted.contains(&c)))
        .collect();
    // Newest first, then by id, breaks every tie so pages are stable.
    deals.sort_by(|a, b| b.seen_at.cmp(&a.seen_at).then(a.id.cmp(&b.id)));
    match sort {
        Sort::Date => {}
        Sort::Price => deals.sort_by_key(|l| l.price.minor()),
        Sort::Score => deals.sort_by_key(|l| std::cmp::Reverse(l.score)),
        Sort::Discount => deals.sort_by_key(|l| std::cmp::Reverse(discount_percent(l))),
    }
    let total = deals.len();
    let items: Vec<DealView> = deals
        .iter()
        .skip(offset)
        .take(limit)
        .map(DealView::from)
        .collect();
    let next_cursor = if offset.saturating_add(limit) < total {
        Some(encode_cursor(&FeedCursor {
            sort: sort.name().to_string(),
            offset: offset + limit,
        })?)
    } else {
        None
    };
    Ok(Json(DealFeed {
        items,
        total,
        next_cursor,
        categories: facets,
    }))
}
