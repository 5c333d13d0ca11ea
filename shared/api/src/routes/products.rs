//! `/api/v1/products/{id}`: a tracked product page and its price history for charts. Products
//! are shared public pages (every watcher of one URL sees the same product), so any signed-in
//! user may read them; ids are unguessable UUIDs. Served by the `api-watchlist` function.

use crate::auth::extract::Authenticated;
use crate::problem::{ApiError, Problem};
use crate::resource::QueryParams;
use crate::routes::watchlist::{PricePointView, ProductView};
use crate::state::Core;
use axum::extract::{Path, RawQuery, State};
use axum::routing::get;
use axum::{Json, Router};
use dealpulse_domain::ids::ProductId;
use dealpulse_domain::listing::TrackedProduct;
use dealpulse_domain::money::Money;
use dealpulse_domain::score::{downsample, score_against_history, DealScore};
use dealpulse_domain::sources::CheckResult;
use jiff::{SignedDuration, Timestamp};
use serde::Serialize;
use utoipa::ToSchema;

pub fn router(core: Core) -> Router {
    Router::new()
        .route("/api/v1/products/{id}", get(get_product))
        .route("/api/v1/products/{id}/history", get(product_history))
        .route(
            "/api/v1/products/{id}/history.csv",
            get(product_history_csv),
        )
        .with_state(core)
}

/// Most observations one history answer reads before downsampling.
const READ_LIMIT: u32 = 20_000;
/// Longest range one history answer covers.
const MAX_RANGE_DAYS: i64 = 5 * 366;

async fn product(core: &Core, id: &str) -> Result<TrackedProduct, ApiError> {
    let id: ProductId = id.parse().map_err(|_| ApiError::NotFound)?;
    core.store
        .product_by_id(id)
        .await?
        .ok_or(ApiError::NotFound)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProductDetail {
    #[serde(flatten)]
    pub product: ProductView,
    /// How the last check went: ok, not_modified, blocked, not_found, gone, price_missing,
    /// out_of_stock or error.
    pub last_result: Option<String>,
    /// Why the last check failed, when it did.
    pub last_failure: Option<String>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub next_check_at: Option<Timestamp>,
    pub check_interval_minutes: u32,
    /// CSS selector overrides for this page, when a watcher set some.
    #[schema(value_type = Option<Object>)]
    pub selectors: Option<dealpulse_domain::sources::SelectorOverrides>,
}

/// A tracked product with its check status.
#[utoipa::path(get, path = "/api/v1/products/{id}", tag = "watchlist",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, body = ProductDetail),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_product(
    State(core): State<Core>,
    _caller: Authenticated,
    Path(id): Path<String>,
) -> Result<Json<ProductDetail>, ApiError> {
    let product = product(&core, &id).await?;
    Ok(Json(ProductDetail::from(&product)))
}

impl From<&TrackedProduct> for ProductDetail {
    fn from(product: &TrackedProduct) -> Self {
        ProductDetail {
            product: ProductView::from(product),
            last_result: product.check.last_result.map(|r| r.as_str().to_string()),
            last_failure: product
                .check
                .last_result
                .filter(|r| !CheckResult::succeeded(*r))
                .and(product.check.last_reason.clone()),
            next_check_at: product.check.next_check_at,
            check_interval_minutes: product.check.interval().as_mins() as u32,
            selectors: product.selectors.clone(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "product_id": "01937b2e-9b1c-7cc0-9a51-4f2d5c1e0a23",
    "from": "2026-08-27T12:00:00Z", "to": "2026-11-25T12:00:00Z",
    "observations": 3, "downsampled": false,
    "points": [{"at": "2026-11-20T06:00:00Z", "price": {"amount": "279.00", "currency": "EUR"}, "in_stock": true}],
    "lowest": {"amount": "279.00", "currency": "EUR"}, "highest": {"amount": "329.00", "currency": "EUR"},
    "score": {"score": 72, "confidence": "low", "all_time_low": true, "cheaper_than_90d": 1.0, "cheaper_than_all": 1.0, "discount": null, "observations": 3}
}))]
pub struct ProductHistory {
    pub product_id: String,
    #[schema(value_type = String, format = DateTime)]
    pub from: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub to: Timestamp,
    /// Price changes recorded in the range (unchanged prices are coalesced into one point).
    pub observations: usize,
    /// True when `points` is a reduction of the observations (each time bucket keeps its
    /// lowest and highest point, so dips and spikes survive).
    pub downsampled: bool,
    pub points: Vec<PricePointView>,
    #[schema(value_type = Option<Object>)]
    pub lowest: Option<Money>,
    #[schema(value_type = Option<Object>)]
    pub highest: Option<Money>,
    /// Deal score of the current price against the product's whole known history.
    #[schema(value_type = Option<Object>)]
    pub score: Option<DealScore>,
}

fn time_param(params: &QueryParams, name: &'static str) -> Result<Option<Timestamp>, ApiError> {
    params
        .text(name)
        .map(|text| {
            text.parse::<Timestamp>()
                .map_err(|_| ApiError::invalid(name, "an RFC 3339 time, e.g. 2026-11-25T12:00:00Z"))
        })
        .transpose()
}

/// `from`/`to` of a history request: RFC 3339, default the last 90 days, at most five years.
fn range(params: &QueryParams, now: Timestamp) -> Result<(Timestamp, Timestamp), ApiError> {
    let to = time_param(params, "to")?.unwrap_or(now);
    let from = match time_param(params, "from")? {
        Some(from) => from,
        None => to
            .checked_sub(SignedDuration::from_hours(90 * 24))
            .map_err(ApiError::internal)?,
    };
    if from >= to {
        return Err(ApiError::invalid("from", "must be before to"));
    }
    if to.duration_since(from) > SignedDuration::from_hours(MAX_RANGE_DAYS * 24) {
        return Err(ApiError::invalid(
            "from",
            "the range can span at most five years",
        ));
    }
    Ok((from, to))
}

/// Every recorded price of the range (`from`/`to` as for the chart) as CSV, oldest first:
/// `at,price,currency,in_stock`. Not downsampled.
#[utoipa::path(get, path = "/api/v1/products/{id}/history.csv", tag = "watchlist",
    security(("bearer" = [])),
    params(("id" = String, Path), ("from" = Option<String>, Query), ("to" = Option<String>, Query)),
    responses(
        (status = 200, description = "The price history", content_type = "text/csv"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn product_history_csv(
    State(core): State<Core>,
    _caller: Authenticated,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    let params = QueryParams::parse(query.as_deref(), &["from", "to"])?;
    let (from, to) = range(&params, core.clock.now())?;
    let product = product(&core, &id).await?;
    let points = core
        .store
        .price_points(product.id, from, to, READ_LIMIT)
        .await?;
    let mut csv = String::from("at,price,currency,in_stock\n");
    for point in &points {
        csv.push_str(&format!(
            "{},{},{},{}\n",
            point.at,
            point.price.amount_text(),
            point.price.currency().code(),
            point.in_stock
        ));
    }
    let disposition = format!("attachment; filename=\"price-history-{}.csv\"", product.id);
    Ok((
        [
            (
                axum::http::header::CONTENT_TYPE,
                "text/csv; charset=utf-8".to_string(),
            ),
            (axum::http::header::CONTENT_DISPOSITION, disposition),
        ],
        csv,
    )
        .into_response())
}

/// Price history for a chart: `from`/`to` (RFC 3339; default the last 90 days) and at most
/// `points` points (2–1000, default 200).
#[utoipa::path(get, path = "/api/v1/products/{id}/history", tag = "watchlist",
    security(("bearer" = [])),
    params(("id" = String, Path), ("from" = Option<String>, Query), ("to" = Option<String>, Query),
        ("points" = Option<u32>, Query, minimum = 2, maximum = 1000)),
    responses(
        (status = 200, body = ProductHistory),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn product_history(
    State(core): State<Core>,
    _caller: Authenticated,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Json<ProductHistory>, ApiError> {
    let params = QueryParams::parse(query.as_deref(), &["from", "to", "points"])?;
    let now = core.clock.now();
    let (from, to) = range(&params, now)?;
    let max_points = params.number("points", 2, 1000, 200)?;
    let product = product(&core, &id).await?;
    let points = core
        .store
        .price_points(product.id, from, to, READ_LIMIT)
        .await?;
    let score = match product.current_price {
        Some(current) => {
            let all = core
                .store
                .price_points(product.id, Timestamp::MIN, now, READ_LIMIT)
                .await?;
            let earlier: Vec<_> = all
                .into_iter()
                .filter(|p| product.check.last_checked_at.is_none_or(|last| p.at < last))
                .collect();
            Some(score_against_history(current, None, &earlier, now))
        }
        None => None,
    };
    let lowest = points.iter().map(|p| p.price).min_by_key(|m| m.minor());
    let highest = points.iter().map(|p| p.price).max_by_key(|m| m.minor());
    let observations = points.len();
    let reduced = downsample(&points, max_points as usize);
    Ok(Json(ProductHistory {
        product_id: product.id.to_string(),
        from,
        to,
        observations,
        downsampled: reduced.len() < observations,
        points: reduced
            .into_iter()
            .map(|p| PricePointView {
                at: p.at,
                price: p.price,
                in_stock: p.in_stock,
            })
            .collect(),
        lowest,
        highest,
        score,
    }))
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"id": "0193a1b2-0000-7000-8000-000000000003", "url": "https://shop.example.com/tv",
    "title": "OLED TV 65 inch", "current_price": {"amount": "899.00", "currency": "USD"}, "in_stock": true,
    "last_checked_at": "2026-12-04T10:00:00Z", "next_check_at": "2026-12-04T11:00:00Z",
    "last_result": "ok", "last_reason": null, "failures_in_a_row": 0}))]
pub struct AdminProductView {
    pub id: String,
    pub url: String,
    pub title: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub current_price: Option<Money>,
    pub in_stock: Option<bool>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_checked_at: Option<Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub next_check_at: Option<Timestamp>,
    /// ok, not_modified, blocked, price_missing, … of the last check.
    #[schema(value_type = Option<String>)]
    pub last_result: Option<dealpulse_domain::sources::CheckResult>,
    pub last_reason: Option<String>,
    pub failures_in_a_row: u32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AdminProductList {
    pub domain: String,
    /// The domain's scrape health from the ingestion counters (checks per result, last
    /// failure); null when it was never checked.
    #[schema(value_type = Option<Object>)]
    pub health: Option<dealpulse_domain::sources::HostHealth>,
    pub items: Vec<AdminProductView>,
    pub next_cursor: Option<String>,
}

/// Tracked products of one domain (`domain`, required) in id order, each with its last check,
/// and the domain's scrape health.
#[utoipa::path(get, path = "/api/v1/admin/products", tag = "admin",
    security(("bearer" = [])),
    params(("domain" = String, Query), ("limit" = Option<u32>, Query, minimum = 1, maximum = 100), ("cursor" = Option<String>, Query)),
    responses(
        (status = 200, body = AdminProductList),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn admin_products(
    State(state): State<crate::routes::admin::AdminState>,
    caller: Authenticated,
    RawQuery(query): RawQuery,
) -> Result<Json<AdminProductList>, ApiError> {
    crate::routes::admin::require_admin(&caller)?;
    let params = QueryParams::parse(query.as_deref(), &["domain", "limit", "cursor"])?;
    let limit = params.number("limit", 1, 100, 25)?;
    let domain = params
        .text("domain")
        .ok_or_else(|| ApiError::invalid("domain", "required, e.g. shop.example.com"))?;
    let domain = crate::routes::ingest::host_param(domain)
        .map_err(|_| ApiError::invalid("domain", "a host name, e.g. shop.example.com"))?;
    let after = params
        .text("cursor")
        .map(|cursor| {
            cursor
                .parse::<ProductId>()
                .map_err(|_| ApiError::invalid("cursor", "not a cursor from this listing"))
        })
        .transpose()?;
    let store = &state.core.store;
    let products = store.products_of_host(&domain, after, limit).await?;
    let next_cursor = (products.len() == limit as usize)
        .then(|| products.last().map(|p| p.id.to_string()))
        .flatten();
    let health = store
        .host_health()
        .await?
        .into_iter()
        .find(|health| health.host == domain);
    Ok(Json(AdminProductList {
        domain,
        health,
        items: products
            .into_iter()
            .map(|product| AdminProductView {
                id: product.id.to_string(),
                url: product.url,
                title: product.title,
                current_price: product.current_price,
                in_stock: product.in_stock,
                last_checked_at: product.last_checked_at,
                next_check_at: product.check.next_check_at,
                last_result: product.check.last_result,
                last_reason: product.check.last_reason,
                failures_in_a_row: product.check.failures,
            })
            .collect(),
        next_cursor,
    }))
}
