//! Analytics for users: price trends per product and category, popular destinations and
//! categories, deal frequency, the dashboard, and the tracked-link redirect that feeds its
//! savings figure. Every figure comes from rollup counters written with the events (see
//! `dealpulse_domain::analytics`): a request costs a fixed number of reads, however many price
//! points, listings or alerts lie behind it. Served by the `api-analytics` function.

use crate::auth::extract::Authenticated;
use crate::problem::{ApiError, Problem};
use crate::resource::QueryParams;
use crate::routes::alerts::{alert_view, AlertView};
use crate::state::Core;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use dealpulse_alerts::model::{AlertRecord, DigestEntry};
use dealpulse_domain::analytics::{
    band_edges, band_quantile, decode_close, names, round1, saved_currency, window_figures,
};
use dealpulse_domain::clicks::{record_click, ClickLink};
use dealpulse_domain::counters::{last_days, CounterBucket, CounterKey, CounterRepository};
use dealpulse_domain::ids::ProductId;
use dealpulse_domain::listing::{Category, TrackedProduct};
use dealpulse_domain::money::{Currency, Money};
use dealpulse_domain::ports::{CatalogRepository, StoreError};
use dealpulse_domain::preferences::{Channel, NotificationPreferences};
use dealpulse_domain::records::{records, DocumentRepository};
use dealpulse_domain::rules::AlertRule;
use dealpulse_domain::watch::WatchItem;
use futures::stream::{self, StreamExt, TryStreamExt};
use jiff::civil::Date;
use jiff::Timestamp;
use serde::Serialize;
use std::collections::BTreeMap;
use utoipa::ToSchema;

pub fn router(core: Core) -> Router {
    Router::new()
        .route("/api/v1/analytics/products/{id}/trend", get(product_trend))
        .route(
            "/api/v1/analytics/categories/{category}/trend",
            get(category_trend),
        )
        .route("/api/v1/analytics/destinations", get(popular_destinations))
        .route("/api/v1/analytics/popular", get(popular))
        .route("/api/v1/analytics/deal-frequency", get(deal_frequency))
        .route("/api/v1/me/dashboard", get(dashboard))
        .route("/api/v1/r/{token}", get(follow_link))
        .with_state(core)
}

/// The windows trends are given for.
const WINDOWS: [u32; 3] = [7, 30, 90];
/// Prefix reads in flight at once (one per day bucket).
const READ_CONCURRENCY: usize = 8;

fn days_param(params: &QueryParams) -> Result<u32, ApiError> {
    match params.text("days") {
        None => Ok(30),
        Some(text) => text
            .parse::<u32>()
            .ok()
            .filter(|days| WINDOWS.contains(days))
            .ok_or_else(|| ApiError::invalid("days", "one of 7, 30 or 90")),
    }
}

fn currency_param(params: &QueryParams) -> Result<Currency, ApiError> {
    Currency::parse(params.text("currency").unwrap_or("USD"))
        .map_err(|_| ApiError::invalid("currency", "an ISO 4217 code such as USD or EUR"))
}

fn money(minor: i64, currency: Currency) -> Option<Money> {
    Money::from_minor(minor.max(0), currency).ok()
}

/// A major-unit amount (a histogram estimate) as money, rounded to the currency's minor unit.
fn money_of(major: f64, currency: Currency) -> Option<Money> {
    let scale = 10_f64.powi(i32::from(currency.decimals()));
    money((major * scale).round() as i64, currency)
}

/// Every counter of `prefix` in each of `days`, read a few days at a time.
async fn prefix_by_day(
    counters: &dyn CounterRepository,
    days: &[Date],
    prefix: &str,
) -> Result<Vec<(Date, Vec<(String, i64)>)>, StoreError> {
    stream::iter(days.iter().copied())
        .map(|day| async move {
            let rows = counters
                .counts_with_prefix(&CounterBucket::day(day), prefix)
                .await?;
            Ok::<_, StoreError>((day, rows))
        })
        .buffered(READ_CONCURRENCY)
        .try_collect()
        .await
}

// ---------------------------------------------------------------------------------------------
// Product trend

#[derive(Debug, Serialize, ToSchema)]
pub struct TrendWindow {
    pub days: u32,
    /// Days of the window with a known price (average) in it.
    pub days_with_data: usize,
    /// Last known price against the first of the window, in percent.
    pub change_percent: Option<f64>,
    /// Standard deviation of the daily prices over their mean, in percent.
    pub volatility_percent: Option<f64>,
    #[schema(value_type = Option<Object>)]
    pub low: Option<Money>,
    #[schema(value_type = Option<Object>)]
    pub high: Option<Money>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProductDay {
    #[schema(value_type = String, format = Date)]
    pub day: Date,
    /// The price at the end of the day (carried over from earlier days without a change).
    #[schema(value_type = Object)]
    pub close: Money,
    #[schema(value_type = Object)]
    pub low: Money,
    #[schema(value_type = Object)]
    pub high: Money,
    /// Price changes recorded that day.
    pub changes: i64,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "product_id": "01937b2e-9b1c-7cc0-9a51-4f2d5c1e0a23", "currency": "EUR",
    "current": {"amount": "279.00", "currency": "EUR"},
    "all_time_low": {"amount": "259.00", "currency": "EUR"},
    "all_time_high": {"amount": "349.00", "currency": "EUR"}, "observations": 41,
    "windows": [{"days": 7, "days_with_data": 7, "change_percent": -4.1, "volatility_percent": 1.8,
        "low": {"amount": "279.00", "currency": "EUR"}, "high": {"amount": "299.00", "currency": "EUR"}}],
    "series": [{"day": "2026-11-25", "close": {"amount": "279.00", "currency": "EUR"},
        "low": {"amount": "279.00", "currency": "EUR"}, "high": {"amount": "289.00", "currency": "EUR"}, "changes": 2}]
}))]
pub struct ProductTrend {
    pub product_id: String,
    pub currency: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub current: Option<Money>,
    #[schema(value_type = Option<Object>)]
    pub all_time_low: Option<Money>,
    #[schema(value_type = Option<Object>)]
    pub all_time_high: Option<Money>,
    /// Price changes recorded since tracking began.
    pub observations: i64,
    /// 7, 30 and 90 days.
    pub windows: Vec<TrendWindow>,
    /// The last 90 days, from the first day with a known price.
    pub series: Vec<ProductDay>,
}

/// A product's trend from its daily rollups: one counter read (6 counters × 90 days).
pub async fn product_trend_of(
    counters: &dyn CounterRepository,
    product: &TrackedProduct,
    now: Timestamp,
) -> Result<ProductTrend, StoreError> {
    let mut trend = ProductTrend {
        product_id: product.id.to_string(),
        currency: None,
        current: product.current_price,
        all_time_low: None,
        all_time_high: None,
        observations: 0,
        windows: Vec::new(),
        series: Vec::new(),
    };
    let Some(currency) = product.current_price.map(|price| price.currency()) else {
        return Ok(trend);
    };
    trend.currency = Some(currency.code().to_string());
    let days = last_days(now, 90);
    const FIELDS: [&str; 6] = ["n", "sum", "lo", "hi", "close", "open"];
    let mut keys: Vec<CounterKey> = days
        .iter()
        .flat_map(|day| {
            FIELDS.iter().map(move |field| {
                CounterKey::new(
                    names::price(product.id, currency, field),
                    CounterBucket::day(*day),
                )
            })
        })
        .collect();
    for field in ["n", "lo", "hi"] {
        keys.push(CounterKey::total(names::price(product.id, currency, field)));
    }
    let values = counters.counts(&keys).await?;
    let totals = &values[days.len() * FIELDS.len()..];
    trend.observations = totals[0];
    if totals[0] > 0 {
        trend.all_time_low = money(totals[1], currency);
        trend.all_time_high = money(totals[2], currency);
    }
    let rows: Vec<&[i64]> = values[..days.len() * FIELDS.len()]
        .chunks(FIELDS.len())
        .collect();
    // Points are written on changes only: the price in force when the window began is the
    // window's first change's previous price, or, with no change in the window, today's.
    let first_change = rows.iter().position(|row| row[0] > 0);
    let carried_in = match first_change {
        Some(first) => (rows[first][5] != 0).then(|| decode_close(rows[first][5])),
        None => product
            .current_price
            .filter(|price| price.currency() == currency)
            .map(|price| price.minor()),
    };
    // Tracked since it was added, or its first recorded change if that is earlier (history
    // imported with the product).
    let added = dealpulse_domain::counters::utc_day(product.created_at);
    let tracked_since = first_change.map_or(added, |first| added.min(days[first]));
    // Walk the days, carrying the last close over days without a change.
    let mut close = carried_in;
    let mut series = Vec::new();
    for (day, row) in days.iter().zip(&rows) {
        let (changes, low, high) = (row[0], row[2], row[3]);
        let (low, high) = if changes > 0 {
            // The price held at the previous close until the day's first change.
            let opening = close.unwrap_or(low);
            close = Some(decode_close(row[4]));
            (low.min(opening), high.max(opening))
        } else {
            if *day < tracked_since {
                continue;
            }
            match close {
                Some(price) => (price, price),
                None => continue,
            }
        };
        if let (Some(close), Some(low), Some(high)) = (
            close.and_then(|c| money(c, currency)),
            money(low, currency),
            money(high, currency),
        ) {
            series.push(ProductDay {
                day: *day,
                close,
                low,
                high,
                changes,
            });
        }
    }
    for window in WINDOWS {
        let start = days[days.len() - window as usize];
        let in_window: Vec<&ProductDay> = series.iter().filter(|d| d.day >= start).collect();
        let closes: Vec<f64> = in_window.iter().map(|d| d.close.as_f64()).collect();
        let figures = window_figures(&closes);
        trend.windows.push(TrendWindow {
            days: window,
            days_with_data: figures.days,
            change_percent: figures.change_percent,
            volatility_percent: figures.volatility_percent,
            low: in_window.iter().map(|d| d.low).min_by_key(Money::minor),
            high: in_window.iter().map(|d| d.high).max_by_key(Money::minor),
        });
    }
    trend.series = series;
    Ok(trend)
}

/// Price trend of a tracked product: 7/30/90-day change, volatility, lows and highs, all-time
/// low, and a daily series (close, low, high) for the last 90 days.
#[utoipa::path(get, path = "/api/v1/analytics/products/{id}/trend", tag = "analytics",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, body = ProductTrend),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn product_trend(
    State(core): State<Core>,
    _caller: Authenticated,
    Path(id): Path<String>,
) -> Result<Json<ProductTrend>, ApiError> {
    let id: ProductId = id.parse().map_err(|_| ApiError::NotFound)?;
    let product = core
        .store
        .product_by_id(id)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(Json(
        product_trend_of(core.store.as_ref(), &product, core.clock.now()).await?,
    ))
}

// ---------------------------------------------------------------------------------------------
// Category trend

#[derive(Debug, Serialize, ToSchema)]
pub struct CategoryWindow {
    pub days: u32,
    /// New listings in the window.
    pub listings: i64,
    /// Last day's average price against the first day's, in percent.
    pub change_percent: Option<f64>,
    pub volatility_percent: Option<f64>,
    #[schema(value_type = Option<Object>)]
    pub average: Option<Money>,
    #[schema(value_type = Option<Object>)]
    pub low: Option<Money>,
    /// Average stated discount of the listings that state one (in any currency), in percent.
    pub average_discount_percent: Option<f64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CategoryDay {
    #[schema(value_type = String, format = Date)]
    pub day: Date,
    pub listings: i64,
    #[schema(value_type = Object)]
    pub average: Money,
    #[schema(value_type = Object)]
    pub low: Money,
    pub average_discount_percent: Option<f64>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "category": "computers", "currency": "USD",
    "windows": [{"days": 30, "listings": 412, "change_percent": -2.5, "volatility_percent": 6.1,
        "average": {"amount": "642.10", "currency": "USD"}, "low": {"amount": "189.00", "currency": "USD"},
        "average_discount_percent": 18.4}],
    "series": [{"day": "2026-11-25", "listings": 14, "average": {"amount": "655.00", "currency": "USD"},
        "low": {"amount": "249.00", "currency": "USD"}, "average_discount_percent": 21.0}]
}))]
pub struct CategoryTrend {
    pub category: String,
    pub currency: String,
    pub windows: Vec<CategoryWindow>,
    pub series: Vec<CategoryDay>,
}

/// A category's trend over new listings priced in `currency`: one counter read.
pub async fn category_trend_of(
    counters: &dyn CounterRepository,
    category: Category,
    currency: Currency,
    now: Timestamp,
) -> Result<CategoryTrend, StoreError> {
    let days = last_days(now, 90);
    let keys: Vec<CounterKey> = days
        .iter()
        .flat_map(|day| {
            let bucket = CounterBucket::day(*day);
            [
                names::category_price(category, currency, "n"),
                names::category_price(category, currency, "sum"),
                names::category_price(category, currency, "lo"),
                names::category_discount(category, "n"),
                names::category_discount(category, "sum"),
            ]
            .into_iter()
            .map(move |name| CounterKey::new(name, bucket.clone()))
        })
        .collect();
    let values = counters.counts(&keys).await?;
    let rows: Vec<(Date, &[i64])> = days.iter().copied().zip(values.chunks(5)).collect();
    let discount =
        |count: i64, sum: i64| (count > 0).then(|| round1(sum as f64 / count as f64 / 100.0));
    let series: Vec<CategoryDay> = rows
        .iter()
        .filter(|(_, row)| row[0] > 0)
        .filter_map(|(day, row)| {
            Some(CategoryDay {
                day: *day,
                listings: row[0],
                average: money(row[1] / row[0], currency)?,
                low: money(row[2], currency)?,
                average_discount_percent: discount(row[3], row[4]),
            })
        })
        .collect();
    let windows = WINDOWS
        .iter()
        .map(|window| {
            let start = days[days.len() - *window as usize];
            let in_window: Vec<&(Date, &[i64])> =
                rows.iter().filter(|(day, _)| *day >= start).collect();
            let listings: i64 = in_window.iter().map(|(_, row)| row[0]).sum();
            let sum: i64 = in_window.iter().map(|(_, row)| row[1]).sum();
            let days_of: Vec<&CategoryDay> = series.iter().filter(|d| d.day >= start).collect();
            let averages: Vec<f64> = days_of.iter().map(|d| d.average.as_f64()).collect();
            let figures = window_figures(&averages);
            CategoryWindow {
                days: *window,
                listings,
                change_percent: figures.change_percent,
                volatility_percent: figures.volatility_percent,
                average: (listings > 0)
                    .then(|| money(sum / listings, currency))
                    .flatten(),
                low: days_of.iter().map(|d| d.low).min_by_key(Money::minor),
                average_discount_percent: discount(
                    in_window.iter().map(|(_, row)| row[3]).sum(),
                    in_window.iter().map(|(_, row)| row[4]).sum(),
                ),
            }
        })
        .collect();
    Ok(CategoryTrend {
        category: category.as_str().to_string(),
        currency: currency.code().to_string(),
        windows,
        series,
    })
}

/// Price trend of a category over the listings seen in it (`currency`, default USD): 7/30/90-day
/// change of the daily average, volatility, lows, average stated discount, daily series.
#[utoipa::path(get, path = "/api/v1/analytics/categories/{category}/trend", tag = "analytics",
    security(("bearer" = [])),
    params(("category" = String, Path), ("currency" = Option<String>, Query)),
    responses(
        (status = 200, body = CategoryTrend),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn category_trend(
    State(core): State<Core>,
    _caller: Authenticated,
    Path(category): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Json<CategoryTrend>, ApiError> {
    let category = Category::parse(&category).ok_or(ApiError::NotFound)?;
    let params = QueryParams::parse(query.as_deref(), &["currency"])?;
    let currency = currency_param(&params)?;
    Ok(Json(
        category_trend_of(core.store.as_ref(), category, currency, core.clock.now()).await?,
    ))
}

// ---------------------------------------------------------------------------------------------
// Popular destinations

#[derive(Debug, Serialize, ToSchema)]
pub struct DestinationView {
    /// IATA airport code.
    pub destination: String,
    pub deals: i64,
    /// Median price of the deals priced in the asked currency (from a histogram of 20 bands per
    /// decade: within about 6 %).
    #[schema(value_type = Option<Object>)]
    pub median_price: Option<Money>,
    /// Deals the median is taken over.
    pub priced_deals: i64,
    pub best_discount_percent: Option<f64>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "days": 30, "currency": "USD",
    "destinations": [{"destination": "LIS", "deals": 14, "median_price": {"amount": "389.00", "currency": "USD"},
        "priced_deals": 12, "best_discount_percent": 52.3}]
}))]
pub struct DestinationList {
    pub days: u32,
    pub currency: String,
    pub destinations: Vec<DestinationView>,
}

#[derive(Default)]
struct DestinationTally {
    deals: i64,
    bands: BTreeMap<u32, i64>,
    best_discount: Option<i64>,
}

/// Flight deals by destination over the last `days` days: one prefix read per day.
pub async fn destinations_of(
    counters: &dyn CounterRepository,
    days: u32,
    currency: Currency,
    limit: usize,
    now: Timestamp,
) -> Result<DestinationList, StoreError> {
    let mut tallies: BTreeMap<String, DestinationTally> = BTreeMap::new();
    for (_, rows) in prefix_by_day(counters, &last_days(now, days), "dest.").await? {
        for (name, value) in rows {
            let Some(rest) = name.strip_prefix("dest.") else {
                continue;
            };
            let mut parts = rest.splitn(3, '.');
            let (Some(iata), Some(field)) = (parts.next(), parts.next()) else {
                continue;
            };
            let tally = tallies.entry(iata.to_string()).or_default();
            match (field, parts.next()) {
                ("n", None) => tally.deals += value,
                ("disc", None) => {
                    tally.best_discount = Some(tally.best_discount.map_or(value, |b| b.max(value)))
                }
                (code, Some(band)) if code == currency.code() => {
                    if let Ok(band) = band.parse::<u32>() {
                        *tally.bands.entry(band).or_default() += value;
                    }
                }
                _ => {}
            }
        }
    }
    let mut destinations: Vec<DestinationView> = tallies
        .into_iter()
        .filter(|(_, tally)| tally.deals > 0)
        .map(|(destination, tally)| {
            let histogram: Vec<(u32, i64)> = tally.bands.into_iter().collect();
            DestinationView {
                destination,
                deals: tally.deals,
                median_price: band_quantile(&histogram, 0.5)
                    .and_then(|major| money_of(major, currency)),
                priced_deals: histogram.iter().map(|(_, n)| n).sum(),
                best_discount_percent: tally.best_discount.map(|bp| round1(bp as f64 / 100.0)),
            }
        })
        .collect();
    destinations.sort_by(|a, b| {
        b.deals
            .cmp(&a.deals)
            .then(a.destination.cmp(&b.destination))
    });
    destinations.truncate(limit);
    Ok(DestinationList {
        days,
        currency: currency.code().to_string(),
        destinations,
    })
}

/// Popular flight destinations over the last `days` (7, 30 or 90; default 30): deals, median
/// price in `currency` (default USD) and best discount; `limit` 1–50 (default 10).
#[utoipa::path(get, path = "/api/v1/analytics/destinations", tag = "analytics",
    security(("bearer" = [])),
    params(("days" = Option<u32>, Query), ("currency" = Option<String>, Query), ("limit" = Option<u32>, Query, minimum = 1, maximum = 50)),
    responses(
        (status = 200, body = DestinationList),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn popular_destinations(
    State(core): State<Core>,
    _caller: Authenticated,
    RawQuery(query): RawQuery,
) -> Result<Json<DestinationList>, ApiError> {
    let params = QueryParams::parse(query.as_deref(), &["days", "currency", "limit"])?;
    let days = days_param(&params)?;
    let currency = currency_param(&params)?;
    let limit = params.number("limit", 1, 50, 10)? as usize;
    Ok(Json(
        destinations_of(core.store.as_ref(), days, currency, limit, core.clock.now()).await?,
    ))
}

// ---------------------------------------------------------------------------------------------
// Popular categories and products

#[derive(Debug, Serialize, ToSchema)]
pub struct CategoryCount {
    pub category: String,
    pub deals: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PopularProduct {
    pub product_id: String,
    pub title: Option<String>,
    pub url: String,
    pub host: String,
    /// Watches on it across all users.
    pub watchers: i64,
    #[schema(value_type = Option<Object>)]
    pub current_price: Option<Money>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "days": 30,
    "categories": [{"category": "computers", "deals": 412}, {"category": "flights", "deals": 96}],
    "products": [{"product_id": "01937b2e-9b1c-7cc0-9a51-4f2d5c1e0a23", "title": "Espresso machine",
        "url": "https://shop.example.com/espresso", "host": "shop.example.com", "watchers": 31,
        "current_price": {"amount": "279.00", "currency": "EUR"}}]
}))]
pub struct PopularList {
    pub days: u32,
    /// Categories by new deals in the window.
    pub categories: Vec<CategoryCount>,
    /// Products by watchers (those with at least three; addresses without their query).
    pub products: Vec<PopularProduct>,
}

/// Products watched by fewer accounts are not shown: a page one person watches may be private.
pub const MIN_WATCHERS_SHOWN: i64 = 3;

/// A product page's address without query or fragment (they can carry personal tokens).
fn public_address(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) => {
            parsed.set_query(None);
            parsed.set_fragment(None);
            parsed.to_string()
        }
        Err(_) => String::new(),
    }
}

/// Popular categories (one prefix read per day) and products (one prefix read, then one read
/// per product shown).
pub async fn popular_of(
    counters: &dyn CounterRepository,
    catalog: &dyn CatalogRepository,
    days: u32,
    limit: usize,
    now: Timestamp,
) -> Result<PopularList, StoreError> {
    let mut categories: BTreeMap<String, i64> = BTreeMap::new();
    for (_, rows) in prefix_by_day(counters, &last_days(now, days), "deals.category.").await? {
        for (name, value) in rows {
            if let Some(category) = name.strip_prefix("deals.category.") {
                *categories.entry(category.to_string()).or_default() += value;
            }
        }
    }
    let mut categories: Vec<CategoryCount> = categories
        .into_iter()
        .filter(|(_, deals)| *deals > 0)
        .map(|(category, deals)| CategoryCount { category, deals })
        .collect();
    categories.sort_by(|a, b| b.deals.cmp(&a.deals).then(a.category.cmp(&b.category)));
    categories.truncate(limit);

    let mut watched: Vec<(ProductId, i64)> = counters
        .counts_with_prefix(&CounterBucket::total(), "watchers.")
        .await?
        .into_iter()
        .filter(|(_, watchers)| *watchers >= MIN_WATCHERS_SHOWN)
        .filter_map(|(name, watchers)| {
            dealpulse_domain::analytics::product_of_watchers(&name).map(|id| (id, watchers))
        })
        .collect();
    watched.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    watched.truncate(limit);
    let mut products = Vec::with_capacity(watched.len());
    for (id, watchers) in watched {
        if let Some(product) = catalog.product_by_id(id).await? {
            products.push(PopularProduct {
                product_id: id.to_string(),
                title: product.title,
                url: public_address(&product.url),
                host: product.host,
                watchers,
                current_price: product.current_price,
            });
        }
    }
    Ok(PopularList {
        days,
        categories,
        products,
    })
}

/// Popular categories (by new deals over the last `days`: 7, 30 or 90, default 30) and products
/// (by watchers); `limit` 1–50 (default 10) of each.
#[utoipa::path(get, path = "/api/v1/analytics/popular", tag = "analytics",
    security(("bearer" = [])),
    params(("days" = Option<u32>, Query), ("limit" = Option<u32>, Query, minimum = 1, maximum = 50)),
    responses(
        (status = 200, body = PopularList),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn popular(
    State(core): State<Core>,
    _caller: Authenticated,
    RawQuery(query): RawQuery,
) -> Result<Json<PopularList>, ApiError> {
    let params = QueryParams::parse(query.as_deref(), &["days", "limit"])?;
    let days = days_param(&params)?;
    let limit = params.number("limit", 1, 50, 10)? as usize;
    let store = core.store.as_ref();
    Ok(Json(
        popular_of(store, store, days, limit, core.clock.now()).await?,
    ))
}

// ---------------------------------------------------------------------------------------------
// Deal frequency

#[derive(Debug, Serialize, ToSchema)]
pub struct PriceBands {
    /// Deals priced in the asked currency.
    pub deals: i64,
    #[schema(value_type = Option<Object>)]
    pub p25: Option<Money>,
    #[schema(value_type = Option<Object>)]
    pub median: Option<Money>,
    #[schema(value_type = Option<Object>)]
    pub p75: Option<Money>,
    /// Counts per price band (each about 12 % wide), cheapest first.
    pub bands: Vec<PriceBand>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PriceBand {
    #[schema(value_type = Object)]
    pub from: Money,
    #[schema(value_type = Object)]
    pub to: Money,
    pub deals: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FrequencyDay {
    #[schema(value_type = String, format = Date)]
    pub day: Date,
    pub deals: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FrequencyRow {
    /// The category, source or route (`BOS-LIS`).
    pub key: String,
    pub deals: i64,
    pub per_day: f64,
    /// Every day of the window, oldest first.
    pub series: Vec<FrequencyDay>,
    /// Typical prices, for categories (from the price histogram).
    pub prices: Option<PriceBands>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "by": "category", "days": 7, "currency": "USD", "deals": 31, "per_day": 4.4,
    "rows": [{"key": "computers", "deals": 21, "per_day": 3.0,
        "series": [{"day": "2026-11-25", "deals": 4}],
        "prices": {"deals": 21, "p25": {"amount": "310.00", "currency": "USD"},
            "median": {"amount": "540.00", "currency": "USD"}, "p75": {"amount": "799.00", "currency": "USD"},
            "bands": [{"from": {"amount": "501.19", "currency": "USD"}, "to": {"amount": "562.34", "currency": "USD"}, "deals": 5}]}}],
    "prices": null
}))]
pub struct DealFrequency {
    /// category, source or route.
    pub by: String,
    pub days: u32,
    pub currency: String,
    /// New public deals in the window, all keys together.
    pub deals: i64,
    pub per_day: f64,
    pub rows: Vec<FrequencyRow>,
    /// Typical prices of every deal in the window priced in the currency.
    #[schema(value_type = Option<Object>)]
    pub prices: Option<PriceBands>,
}

fn price_bands(histogram: &BTreeMap<u32, i64>, currency: Currency) -> Option<PriceBands> {
    let pairs: Vec<(u32, i64)> = histogram.iter().map(|(b, n)| (*b, *n)).collect();
    let deals: i64 = pairs.iter().map(|(_, n)| n).sum();
    if deals == 0 {
        return None;
    }
    let at = |q| band_quantile(&pairs, q).and_then(|major| money_of(major, currency));
    Some(PriceBands {
        deals,
        p25: at(0.25),
        median: at(0.5),
        p75: at(0.75),
        bands: pairs
            .iter()
            .filter_map(|(band, deals)| {
                let (from, to) = band_edges(*band);
                Some(PriceBand {
                    from: money_of(from, currency)?,
                    to: money_of(to, currency)?,
                    deals: *deals,
                })
            })
            .collect(),
    })
}

/// Deals per day by category, source or route over the last `days`, with typical price bands:
/// two prefix reads per day.
pub async fn deal_frequency_of(
    counters: &dyn CounterRepository,
    by: &str,
    days: u32,
    currency: Currency,
    now: Timestamp,
) -> Result<DealFrequency, StoreError> {
    let window = last_days(now, days);
    let prefix = format!("deals.{by}.");
    let mut per_key: BTreeMap<String, BTreeMap<Date, i64>> = BTreeMap::new();
    for (day, rows) in prefix_by_day(counters, &window, &prefix).await? {
        for (name, value) in rows {
            if let Some(key) = name.strip_prefix(&prefix) {
                *per_key
                    .entry(key.to_string())
                    .or_default()
                    .entry(day)
                    .or_default() += value;
            }
        }
    }
    let band_prefix = format!("bands.{}.", currency.code());
    let mut all_bands: BTreeMap<u32, i64> = BTreeMap::new();
    let mut category_bands: BTreeMap<String, BTreeMap<u32, i64>> = BTreeMap::new();
    for (_, rows) in prefix_by_day(counters, &window, &band_prefix).await? {
        for (name, value) in rows {
            let Some((category, band)) = name
                .strip_prefix(&band_prefix)
                .and_then(|rest| rest.split_once('.'))
            else {
                continue;
            };
            let Ok(band) = band.parse::<u32>() else {
                continue;
            };
            *all_bands.entry(band).or_default() += value;
            *category_bands
                .entry(category.to_string())
                .or_default()
                .entry(band)
                .or_default() += value;
        }
    }
    let per_day = |deals: i64| round1(deals as f64 / f64::from(days));
    let mut rows: Vec<FrequencyRow> = per_key
        .into_iter()
        .map(|(key, counts)| {
            let deals: i64 = counts.values().sum();
            let prices = (by == "category")
                .then(|| {
                    category_bands
                        .get(&key)
                        .and_then(|h| price_bands(h, currency))
                })
                .flatten();
            FrequencyRow {
                series: window
                    .iter()
                    .map(|day| FrequencyDay {
                        day: *day,
                        deals: counts.get(day).copied().unwrap_or(0),
                    })
                    .collect(),
                key,
                deals,
                per_day: per_day(deals),
                prices,
            }
        })
        .filter(|row| row.deals > 0)
        .collect();
    rows.sort_by(|a, b| b.deals.cmp(&a.deals).then(a.key.cmp(&b.key)));
    let deals = rows.iter().map(|row| row.deals).sum();
    Ok(DealFrequency {
        by: by.to_string(),
        days,
        currency: currency.code().to_string(),
        deals,
        per_day: per_day(deals),
        rows,
        prices: price_bands(&all_bands, currency),
    })
}

/// How often deals appear: per day by `by` (category, source or route; default category) over
/// the last `days` (7, 30 or 90; default 30), with typical price bands in `currency`.
#[utoipa::path(get, path = "/api/v1/analytics/deal-frequency", tag = "analytics",
    security(("bearer" = [])),
    params(("by" = Option<String>, Query), ("days" = Option<u32>, Query), ("currency" = Option<String>, Query)),
    responses(
        (status = 200, body = DealFrequency),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn deal_frequency(
    State(core): State<Core>,
    _caller: Authenticated,
    RawQuery(query): RawQuery,
) -> Result<Json<DealFrequency>, ApiError> {
    let params = QueryParams::parse(query.as_deref(), &["by", "days", "currency"])?;
    let by = match params.text("by").unwrap_or("category") {
        by @ ("category" | "source" | "route") => by,
        _ => return Err(ApiError::invalid("by", "one of category, source or route")),
    };
    let days = days_param(&params)?;
    let currency = currency_param(&params)?;
    Ok(Json(
        deal_frequency_of(core.store.as_ref(), by, days, currency, core.clock.now()).await?,
    ))
}

// ---------------------------------------------------------------------------------------------
// Dashboard

#[derive(Debug, Serialize, ToSchema)]
pub struct ActiveCount {
    pub active: usize,
    pub total: usize,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DigestPreview {
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    /// Deals waiting for it.
    pub waiting: usize,
    /// The first ten, in the order the digest lists them.
    pub deals: Vec<DigestDeal>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DigestDeal {
    pub title: String,
    pub url: String,
    #[schema(value_type = Object)]
    pub price: Money,
    #[schema(value_type = Option<Object>)]
    pub was_price: Option<Money>,
    pub reasons: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "rules": {"active": 2, "total": 3}, "watches": {"active": 4, "total": 4},
    "alerts_sent": {"email": 12, "discord": 3}, "clicks": 5,
    "savings": [{"amount": "184.00", "currency": "USD"}], "click_tracking": true,
    "recent_alerts": [], "next_digest": null
}))]
pub struct Dashboard {
    pub rules: ActiveCount,
    pub watches: ActiveCount,
    /// Deliveries sent per channel, all time.
    pub alerts_sent: BTreeMap<String, i64>,
    /// Deal links followed from alerts.
    pub clicks: i64,
    /// Reference price minus deal price of the deals followed, per currency.
    #[schema(value_type = Vec<Object>)]
    pub savings: Vec<Money>,
    /// Whether deal links are tracked (the savings figure needs it).
    pub click_tracking: bool,
    /// The five newest alerts.
    pub recent_alerts: Vec<AlertView>,
    /// The next digest and what waits for it (none when nothing waits).
    pub next_digest: Option<DigestPreview>,
}

/// The signed-in user's dashboard: a fixed number of reads (rules and watches within the plan's
/// quota, two counter reads, the five newest alerts, the waiting digest entries).
#[utoipa::path(get, path = "/api/v1/me/dashboard", tag = "analytics",
    security(("bearer" = [])),
    responses(
        (status = 200, body = Dashboard),
        (status = 401, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn dashboard(
    State(core): State<Core>,
    caller: Authenticated,
) -> Result<Json<Dashboard>, ApiError> {
    let store = core.store.as_ref();
    let user = &caller.user;
    let now = core.clock.now();
    let rules = records::<AlertRule>(store).list(user.id).await?;
    let watches = records::<WatchItem>(store).list(user.id).await?;
    let prefs = records::<NotificationPreferences>(store)
        .get(user.id, "current")
        .await?
        .unwrap_or_else(|| NotificationPreferences::defaults(user.id, now));
    let sent_keys: Vec<CounterKey> = Channel::ALL
        .iter()
        .map(|channel| CounterKey::total(names::user_sent(user.id, channel.as_str())))
        .chain([CounterKey::total(names::user_clicks(user.id))])
        .collect();
    let values = store.counts(&sent_keys).await?;
    let alerts_sent = Channel::ALL
        .iter()
        .zip(&values)
        .filter(|(_, sent)| **sent > 0)
        .map(|(channel, sent)| (channel.as_str().to_string(), *sent))
        .collect();
    let savings = store
        .counts_with_prefix(&CounterBucket::total(), &names::user_saved_prefix(user.id))
        .await?
        .into_iter()
        .filter(|(_, minor)| *minor > 0)
        .filter_map(|(name, minor)| money(minor, saved_currency(user.id, &name)?))
        .collect();
    let mut recent_alerts = Vec::new();
    for alert in records::<AlertRecord>(store)
        .latest(user.id, None, 5)
        .await?
    {
        recent_alerts.push(alert_view(&core, alert).await?);
    }
    let next_digest = digest_preview(store, user.id, now).await?;
    Ok(Json(Dashboard {
        rules: ActiveCount {
            active: rules.iter().filter(|rule| rule.enabled).count(),
            total: rules.len(),
        },
        watches: ActiveCount {
            active: watches.iter().filter(|watch| watch.enabled).count(),
            total: watches.len(),
        },
        alerts_sent,
        clicks: values.last().copied().unwrap_or(0),
        savings,
        click_tracking: prefs.click_tracking,
        recent_alerts,
        next_digest,
    }))
}

/// What the next digest carries: the waiting entries due by the earliest due time (entries wait
/// in the user's partition, each with the digest time it was routed to, until the run takes them).
async fn digest_preview(
    store: &dyn DocumentRepository,
    owner: dealpulse_domain::ids::UserId,
    now: Timestamp,
) -> Result<Option<DigestPreview>, StoreError> {
    let mut entries = records::<DigestEntry>(store).list(owner).await?;
    entries.sort_by(|a, b| a.due.cmp(&b.due).then(a.key.cmp(&b.key)));
    let Some(first) = entries.first() else {
        return Ok(None);
    };
    // Anything already due goes out with the next run, as soon as it comes.
    let at = first.due.max(now);
    let due: Vec<&DigestEntry> = entries.iter().filter(|entry| entry.due <= at).collect();
    Ok(Some(DigestPreview {
        at,
        waiting: due.len(),
        deals: due
            .iter()
            .take(10)
            .map(|entry| DigestDeal {
                title: entry.deal.title.clone(),
                url: entry.deal.url.clone(),
                price: entry.deal.price,
                was_price: entry.deal.was_price,
                reasons: entry.deal.reasons.clone(),
            })
            .collect(),
    }))
}

// ---------------------------------------------------------------------------------------------
// Tracked links

/// Follows a deal link from an alert: records the click once (when the user tracks clicks) and
/// redirects to the deal. A link that does not verify is a 404; a failure to record never keeps
/// the user from the deal.
#[utoipa::path(get, path = "/api/v1/r/{token}", tag = "analytics",
    params(("token" = String, Path)),
    responses(
        (status = 302, description = "To the deal", headers(("Location" = String))),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn follow_link(
    State(core): State<Core>,
    Path(token): Path<String>,
) -> Result<Response, ApiError> {
    let link = ClickLink::verify(core.keys.click_key(), &token).map_err(|_| ApiError::NotFound)?;
    if let Err(error) = count_click(&core, &link).await {
        tracing::warn!(%error, user = %link.user, "click not recorded");
    }
    Ok((
        StatusCode::FOUND,
        [
            (header::LOCATION, link.url.clone()),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
    )
        .into_response())
}

async fn count_click(core: &Core, link: &ClickLink) -> Result<(), StoreError> {
    let store = core.store.as_ref();
    let Some(user) = store.user_by_id(link.user).await? else {
        return Ok(());
    };
    let now = core.clock.now();
    let tracking = records::<NotificationPreferences>(store)
        .get(user.id, "current")
        .await?
        .is_none_or(|prefs| prefs.click_tracking);
    if tracking && record_click(store, store, link, now).await? {
        dealpulse_domain::counters::note_activity(store, store, &user, now).await?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// User behaviour (administrators)

#[derive(Debug, Serialize, ToSchema)]
pub struct WeekActivity {
    /// The week's Monday.
    #[schema(value_type = String, format = Date)]
    pub week: Date,
    pub signups: i64,
    /// Accounts that saved their first rule or watch that week.
    pub activations: i64,
    pub alerts_sent: i64,
    /// Deal links followed from alerts.
    pub clicks: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RetentionCell {
    /// Weeks after the signup week (0 = the signup week).
    pub week_offset: u32,
    pub active: i64,
    pub percent: Option<f64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CohortRow {
    /// Monday of the signup week.
    #[schema(value_type = String, format = Date)]
    pub cohort: Date,
    pub signups: i64,
    /// Of them, accounts that have saved a rule or watch.
    pub activated: i64,
    pub activation_percent: Option<f64>,
    /// Accounts active (signed in, refreshed a session or followed an alert) in each later week.
    pub retention: Vec<RetentionCell>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "weeks": 4,
    "activity": [{"week": "2026-11-23", "signups": 12, "activations": 7, "alerts_sent": 340, "clicks": 41}],
    "cohorts": [{"cohort": "2026-11-02", "signups": 20, "activated": 11, "activation_percent": 55.0,
        "retention": [{"week_offset": 0, "active": 18, "percent": 90.0}, {"week_offset": 1, "active": 9, "percent": 45.0}]}]
}))]
pub struct Behaviour {
    pub weeks: u32,
    /// Oldest week first.
    pub activity: Vec<WeekActivity>,
    /// Weekly signup cohorts, oldest first, each with its retention by week.
    pub cohorts: Vec<CohortRow>,
}

/// Signups, activation, alerts and clicks per week and retention by weekly cohort over the last
/// `weeks` weeks: one counter read, however many accounts and events.
pub async fn behaviour_of(
    counters: &dyn CounterRepository,
    weeks: u32,
    now: Timestamp,
) -> Result<Behaviour, StoreError> {
    use dealpulse_domain::counters::names as counted;
    use jiff::ToSpan;
    let mondays = dealpulse_domain::counters::last_weeks(now, weeks);
    let week_days = |monday: Date| -> Vec<Date> {
        (0..7)
            .filter_map(|offset| monday.checked_add(offset.days()).ok())
            .collect()
    };
    let mut keys = Vec::new();
    for monday in &mondays {
        let week = CounterBucket::week(*monday);
        keys.push(CounterKey::new(counted::SIGNUPS, week.clone()));
        keys.push(CounterKey::new(counted::ACTIVATIONS, week.clone()));
        keys.push(CounterKey::new(names::CLICKS, week));
        keys.push(CounterKey::total(counted::cohort_activated(*monday)));
        for day in week_days(*monday) {
            keys.push(CounterKey::new(
                counted::DELIVERIES_SENT,
                CounterBucket::day(day),
            ));
        }
    }
    let per_week = keys.len() / mondays.len().max(1);
    let mut retention_keys = Vec::new();
    for (index, cohort) in mondays.iter().enumerate() {
        for later in &mondays[index..] {
            retention_keys.push(CounterKey::new(
                counted::cohort_active(*cohort),
                CounterBucket::week(*later),
            ));
        }
    }
    keys.extend(retention_keys);
    let values = counters.counts(&keys).await?;
    let percent =
        |part: i64, whole: i64| (whole > 0).then(|| round1(part as f64 * 100.0 / whole as f64));
    let mut activity = Vec::new();
    let mut cohorts = Vec::new();
    let mut next = per_week * mondays.len();
    for (index, monday) in mondays.iter().enumerate() {
        let row = &values[index * per_week..(index + 1) * per_week];
        activity.push(WeekActivity {
            week: *monday,
            signups: row[0],
            activations: row[1],
            alerts_sent: row[4..].iter().sum(),
            clicks: row[2],
        });
        let later = mondays.len() - index;
        let retention = values[next..next + later]
            .iter()
            .enumerate()
            .map(|(offset, active)| RetentionCell {
                week_offset: offset as u32,
                active: *active,
                percent: percent(*active, row[0]),
            })
            .collect();
        next += later;
        cohorts.push(CohortRow {
            cohort: *monday,
            signups: row[0],
            activated: row[3],
            activation_percent: percent(row[3], row[0]),
            retention,
        });
    }
    Ok(Behaviour {
        weeks,
        activity,
        cohorts,
    })
}

/// User behaviour for administrators: per week signups, activations (first rule or watch),
/// alerts sent and followed; retention by weekly signup cohort. `weeks` 2–26 (default 12).
#[utoipa::path(get, path = "/api/v1/admin/analytics/behaviour", tag = "admin",
    security(("bearer" = [])),
    params(("weeks" = Option<u32>, Query, minimum = 2, maximum = 26)),
    responses(
        (status = 200, body = Behaviour),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn behaviour(
    State(core): State<Core>,
    _caller: Authenticated,
    RawQuery(query): RawQuery,
) -> Result<Json<Behaviour>, ApiError> {
    let params = QueryParams::parse(query.as_deref(), &["weeks"])?;
    let weeks = params.number("weeks", 2, 26, 12)?;
    Ok(Json(
        behaviour_of(core.store.as_ref(), weeks, core.clock.now()).await?,
    ))
}
