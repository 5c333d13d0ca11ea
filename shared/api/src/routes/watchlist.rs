//! `/api/v1/watchlist`: products a user follows by URL or from a listing, with their trigger and
//! re-arm rule. Served by the `api-watchlist` function. Other users' items answer 404.

use crate::auth::extract::Authenticated;
use crate::json::JsonBody;
use crate::problem::{ApiError, Problem};
use crate::resource::{
    delete_record, etag_of, owned_record, paginate, plan_limit, quota_error, record_response,
    require_if_match, QueryParams,
};
use crate::routes::auth::Fields;
use crate::routes::rules::ListingSummary;
use crate::state::{Core, WatchlistState};
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};
use dealpulse_domain::ids::{ListingId, UserId, WatchId};
use dealpulse_domain::listing::TrackedProduct;
use dealpulse_domain::money::Money;
use dealpulse_domain::net::FetchableUrl;
use dealpulse_domain::plans::{Limit, PlanLimits};
use dealpulse_domain::records::records;
use dealpulse_domain::sources::SelectorOverrides;
use dealpulse_domain::watch::{Rearm, WatchItem, WatchTrigger};
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

pub fn router(state: WatchlistState) -> Router {
    let core = state.core.clone();
    Router::new()
        .route("/api/v1/watchlist", get(list_watchlist))
        .route("/api/v1/watchlist/items", axum::routing::post(create_item))
        .route("/api/v1/watchlist/preview", axum::routing::post(preview))
        .route(
            "/api/v1/watchlist/items/{id}",
            get(get_item).patch(update_item).delete(delete_item),
        )
        .route("/api/v1/watchlist/items/{id}/history", get(item_history))
        .route(
            "/api/v1/watchlist/items/{id}/check",
            axum::routing::post(check_now),
        )
        .route_layer(axum::middleware::from_fn_with_state(
            core.clone(),
            crate::routes::bump_matching_stamp_after_write,
        ))
        .with_state(state)
        .merge(crate::routes::products::router(core))
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"id": "01937b2e-9b1c-7cc0-9a51-4f2d5c1e0a23", "url": "https://shop.example.com/espresso-x1", "host": "shop.example.com", "title": "Espresso X1", "current_price": {"amount": "279.00", "currency": "EUR"}, "in_stock": true, "last_checked_at": "2026-11-25T06:00:00Z"}))]
pub struct ProductView {
    pub id: String,
    pub url: String,
    pub host: String,
    pub title: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub current_price: Option<Money>,
    pub in_stock: Option<bool>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_checked_at: Option<Timestamp>,
}

impl From<&TrackedProduct> for ProductView {
    fn from(product: &TrackedProduct) -> Self {
        Self {
            id: product.id.to_string(),
            url: product.url.clone(),
            host: product.host.clone(),
            title: product.title.clone(),
            current_price: product.current_price,
            in_stock: product.in_stock,
            last_checked_at: product.last_checked_at,
        }
    }
}

/// A watchlist item as its owner sees it, with its trigger and re-arm rule in words.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "01937b2e-9b1c-7cc0-9a51-4f2d5c1e0a22",
    "product": {"id": "01937b2e-9b1c-7cc0-9a51-4f2d5c1e0a23", "url": "https://shop.example.com/espresso-x1", "host": "shop.example.com", "title": null, "current_price": null, "in_stock": null, "last_checked_at": null},
    "listing_id": null, "label": "Espresso machine",
    "trigger": {"kind": "target_price", "price": {"amount": "249.00", "currency": "EUR"}},
    "trigger_description": "when the price is 249.00 EUR or less",
    "rearm": {"kind": "when_condition_clears"},
    "rearm_description": "fires once, then re-arms when the condition no longer holds",
    "check_interval_minutes": 360, "price_when_watched": null, "armed": true, "enabled": true,
    "last_fired_at": null, "created_at": "2026-11-25T10:00:00Z", "updated_at": "2026-11-25T10:00:00Z", "version": 1
}))]
pub struct WatchView {
    pub id: String,
    pub product: Option<ProductView>,
    pub listing_id: Option<String>,
    pub label: Option<String>,
    #[schema(value_type = Object)]
    pub trigger: WatchTrigger,
    pub trigger_description: String,
    #[schema(value_type = Object)]
    pub rearm: Rearm,
    pub rearm_description: String,
    pub check_interval_minutes: u32,
    #[schema(value_type = Option<Object>)]
    pub price_when_watched: Option<Money>,
    /// False after firing, until the re-arm rule re-arms it.
    pub armed: bool,
    pub enabled: bool,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_fired_at: Option<Timestamp>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
    pub version: u64,
}

fn view(item: &WatchItem, product: Option<&TrackedProduct>) -> WatchView {
    WatchView {
        id: item.id.to_string(),
        product: product.map(ProductView::from),
        listing_id: item.listing_id.map(|id| id.to_string()),
        label: item.label.clone(),
        trigger: item.trigger.clone(),
        trigger_description: item.trigger.describe(item.price_when_watched.as_ref()),
        rearm: item.rearm,
        rearm_description: item.rearm.describe(),
        check_interval_minutes: item.check_interval_minutes,
        price_when_watched: item.price_when_watched,
        armed: item.armed,
        enabled: item.enabled,
        last_fired_at: item.last_fired_at,
        created_at: item.created_at,
        updated_at: item.updated_at,
        version: item.version,
    }
}

/// A new watch: exactly one of `url` and `listing_id`, and a trigger.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "url": "https://shop.example.com/espresso-x1",
    "trigger": {"kind": "target_price", "price": {"amount": "249", "currency": "EUR"}},
    "rearm": {"kind": "after_cooldown", "minutes": 1440},
    "check_interval_minutes": 360,
    "label": "Espresso machine"
}))]
pub struct CreateWatchRequest {
    /// Product page to watch (http/https, public hosts only).
    pub url: Option<String>,
    /// A listing DealPulse has seen.
    pub listing_id: Option<String>,
    /// `{"kind": "target_price", "price": {...}}`, `{"kind": "percent_drop", "percent": 20}`,
    /// `{"kind": "any_drop"}`, `{"kind": "lowest_in_days", "days": 30}`,
    /// `{"kind": "all_time_low"}` or `{"kind": "back_in_stock"}`.
    #[schema(value_type = Object)]
    pub trigger: Value,
    /// `{"kind": "when_condition_clears"}` (default) or `{"kind": "after_cooldown", "minutes": 1440}`.
    #[schema(value_type = Object)]
    #[serde(default, deserialize_with = "crate::json::present")]
    pub rearm: Option<Value>,
    /// Minutes between checks; at least the plan's minimum (the default).
    pub check_interval_minutes: Option<u32>,
    pub label: Option<String>,
    /// CSS selectors for a page whose structured data is missing or wrong: `title`, `price`,
    /// `list_price`, `availability`, `image`. They apply to the product page for every watcher.
    #[schema(value_type = Option<Object>)]
    pub selectors: Option<SelectorOverrides>,
}

/// Valid CSS selectors, or `None` when every field is empty (clears them).
fn parse_selectors(selectors: &SelectorOverrides) -> Result<Option<SelectorOverrides>, String> {
    dealpulse_extract::check_selectors(selectors).map_err(|bad| format!("{bad}"))?;
    Ok((selectors != &SelectorOverrides::default()).then(|| selectors.clone()))
}

/// Stores selector overrides on the product when they differ from what it has.
async fn apply_selectors(
    core: &Core,
    product: &mut TrackedProduct,
    selectors: Option<Option<SelectorOverrides>>,
) -> Result<(), ApiError> {
    if let Some(selectors) = selectors {
        if product.selectors != selectors {
            product.selectors = selectors;
            // A page that failed for lack of a price is worth checking again at once.
            product.check.next_check_at = None;
            core.store.save_product(product).await?;
        }
    }
    Ok(())
}

fn parse_trigger(value: &Value) -> Result<WatchTrigger, String> {
    let trigger: WatchTrigger = serde_json::from_value(value.clone()).map_err(|e| {
        let text = e.to_string();
        text.split(" at line ").next().unwrap_or(&text).to_string()
    })?;
    trigger.check().map_err(|e| e.0.to_string())?;
    Ok(trigger)
}

fn parse_rearm(value: &Value) -> Result<Rearm, String> {
    let rearm: Rearm = serde_json::from_value(value.clone()).map_err(|e| {
        let text = e.to_string();
        text.split(" at line ").next().unwrap_or(&text).to_string()
    })?;
    rearm.check().map_err(|e| e.0.to_string())?;
    Ok(rearm)
}

/// Validates an interval against the plan: too short for the plan is a plan limit (403),
/// out of range altogether is bad input (422).
fn check_interval(
    minutes: u32,
    caller: &Authenticated,
    limits: &PlanLimits,
) -> Result<u32, ApiError> {
    if minutes == 0 || minutes > WatchItem::MAX_CHECK_INTERVAL_MINUTES {
        return Err(ApiError::invalid(
            "check_interval_minutes",
            "must be from 1 to 10080 minutes (a week)",
        ));
    }
    if minutes < limits.min_check_interval_minutes {
        return Err(plan_limit(caller.user.plan, limits, Limit::CheckInterval));
    }
    Ok(minutes)
}

/// A URL the caller may watch: public, or under one of the deployment's trusted local shop
/// prefixes (local mode only).
fn watchable(core: &Core, raw: &str) -> Result<FetchableUrl, dealpulse_domain::net::UnsafeUrl> {
    FetchableUrl::parse(raw, &core.settings.local_shop_origins)
}

/// The tracked product behind `url`, created if new. Its check interval becomes the shortest any
/// watcher asked for, so a watcher on a faster plan speeds up checks for everyone watching it.
async fn product_for_url(
    core: &Core,
    url: &FetchableUrl,
    interval_minutes: u32,
) -> Result<TrackedProduct, ApiError> {
    if let Some(mut existing) = core.store.product_by_url(url.as_str()).await? {
        let before = existing.check.clone();
        existing.check.tighten(interval_minutes, core.clock.now());
        if existing.check != before {
            core.store.save_product(&existing).await?;
        }
        return Ok(existing);
    }
    let mut product = TrackedProduct::new(url.as_str(), url.host(), core.clock.now());
    product.check.interval_minutes = interval_minutes;
    Ok(core.store.insert_product(&product).await?)
}

/// A new watch's fields, parsed.
pub(crate) struct NewWatch {
    url: Option<FetchableUrl>,
    listing_id: Option<ListingId>,
    trigger: WatchTrigger,
    rearm: Rearm,
    label: Option<String>,
    selectors: Option<Option<SelectorOverrides>>,
}

/// Parses a new watch, with every field's problem collected. The URL is checked as
/// [`watchable`] does, `trusted` being the deployment's trusted local shop prefixes.
pub(crate) fn parse_new_watch(
    request: &CreateWatchRequest,
    trusted: &[String],
) -> Result<NewWatch, ApiError> {
    let mut fields = Fields::default();
    let url = match (&request.url, &request.listing_id) {
        (Some(url), None) => fields.take("url", FetchableUrl::parse(url, trusted)),
        (None, Some(_)) => None,
        _ => {
            fields.take::<(), _>("url", Err("give exactly one of url and listing_id"));
            None
        }
    };
    let listing_id = request
        .listing_id
        .as_deref()
        .and_then(|id| fields.take("listing_id", id.parse::<ListingId>()));
    let trigger = fields.take("trigger", parse_trigger(&request.trigger));
    let rearm = match &request.rearm {
        None => Some(Rearm::WhenConditionClears {}),
        Some(value) => fields.take("rearm", parse_rearm(value)),
    };
    let label = match request.label.as_deref() {
        None => Some(None),
        Some(label) => fields.take("label", WatchItem::parse_label(label)),
    };
    let selectors = match &request.selectors {
        None => None,
        Some(selectors) => fields.take("selectors", parse_selectors(selectors)),
    };
    fields.finish()?;
    let (Some(trigger), Some(rearm), Some(label)) = (trigger, rearm, label) else {
        return Err(ApiError::internal("validated fields missing"));
    };
    Ok(NewWatch {
        url,
        listing_id,
        trigger,
        rearm,
        label,
        selectors,
    })
}

/// Watches a product page or a seen listing. The URL passes the SSRF guard first (in local mode
/// the demo shop and shops on this machine are trusted too).
#[utoipa::path(post, path = "/api/v1/watchlist/items", tag = "watchlist",
    security(("bearer" = [])),
    request_body = CreateWatchRequest,
    responses(
        (status = 201, body = WatchView, headers(("ETag" = String), ("Location" = String))),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_item(
    State(core): State<Core>,
    caller: Authenticated,
    headers: HeaderMap,
    JsonBody(request): JsonBody<CreateWatchRequest>,
) -> Result<Response, ApiError> {
    let limits = core.plans.limits(caller.user.plan);
    let NewWatch {
        url,
        listing_id,
        trigger,
        rearm,
        label,
        selectors,
    } = parse_new_watch(&request, &core.settings.local_shop_origins)?;
    let interval = check_interval(
        request
            .check_interval_minutes
            .unwrap_or(limits.min_check_interval_minutes),
        &caller,
        limits,
    )?;
    let (mut product, price_when_watched) = match (url, listing_id) {
        (Some(url), _) => {
            let product = product_for_url(&core, &url, interval).await?;
            let price = product.current_price;
            (product, price)
        }
        (None, Some(listing_id)) => {
            let listing = core
                .store
                .listing_by_id(listing_id)
                .await?
                .ok_or_else(|| ApiError::invalid("listing_id", "no such listing"))?;
            let url =
                watchable(&core, &listing.url).map_err(|e| ApiError::invalid("listing_id", e.0))?;
            (
                product_for_url(&core, &url, interval).await?,
                Some(listing.price),
            )
        }
        (None, None) => return Err(ApiError::internal("validated target missing")),
    };
    let watches = records::<WatchItem>(core.store.as_ref());
    if watches
        .list(caller.user.id)
        .await?
        .iter()
        .any(|w| w.product_id == product.id)
    {
        return Err(ApiError::Conflict(
            "you already watch this product; change that item instead",
        ));
    }
    let now = core.clock.now();
    let item = WatchItem {
        id: WatchId::generate(),
        owner: caller.user.id,
        product_id: product.id,
        listing_id,
        label,
        trigger,
        rearm,
        check_interval_minutes: interval,
        price_when_watched,
        armed: true,
        last_fired_at: None,
        enabled: true,
        created_at: now,
        updated_at: now,
        version: 0,
    };
    let stored = watches
        .insert(&item, Some(limits.max_watches))
        .await
        .map_err(|e| quota_error(e, caller.user.plan, limits, Limit::Watches))?;
    crate::routes::note_activation(&core, &caller.user).await;
    crate::routes::count_watchers(&core, stored.product_id, 1).await;
    apply_selectors(&core, &mut product, selectors).await?;
    let mut response = record_response(
        &headers,
        &stored,
        StatusCode::CREATED,
        view(&stored, Some(&product)),
    );
    if let Ok(location) = format!("/api/v1/watchlist/items/{}", stored.id).parse() {
        response
            .headers_mut()
            .insert(axum::http::header::LOCATION, location);
    }
    Ok(response)
}

async fn owned_item(core: &Core, owner: UserId, id: &str) -> Result<WatchItem, ApiError> {
    owned_record::<WatchItem, WatchId>(core.store.as_ref(), owner, id).await
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"items": [], "next_cursor": null, "total": 3}))]
pub struct WatchList {
    pub items: Vec<WatchView>,
    pub next_cursor: Option<String>,
    pub total: usize,
}

/// The caller's watchlist, newest first: `limit` (1–100, default 20), `cursor`, `enabled`.
#[utoipa::path(get, path = "/api/v1/watchlist", tag = "watchlist",
    security(("bearer" = [])),
    params(("limit" = Option<u32>, Query, minimum = 1, maximum = 100), ("cursor" = Option<String>, Query), ("enabled" = Option<bool>, Query)),
    responses(
        (status = 200, body = WatchList),
        (status = 400, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_watchlist(
    State(core): State<Core>,
    caller: Authenticated,
    RawQuery(query): RawQuery,
) -> Result<Json<WatchList>, ApiError> {
    let params = QueryParams::parse(query.as_deref(), &["limit", "cursor", "enabled"])?;
    let limit = params.number("limit", 1, 100, 20)? as usize;
    let enabled = params.boolean("enabled")?;
    let items: Vec<WatchItem> = records::<WatchItem>(core.store.as_ref())
        .list(caller.user.id)
        .await?
        .into_iter()
        .filter(|w| enabled.is_none_or(|e| w.enabled == e))
        .collect();
    let total = items.len();
    let page = paginate(
        items,
        |w| (w.created_at.to_string(), w.id.to_string()),
        "-created_at",
        true,
        params.text("cursor"),
        limit,
    )?;
    let mut views = Vec::with_capacity(page.items.len());
    for item in &page.items {
        let product = core.store.product_by_id(item.product_id).await?;
        views.push(view(item, product.as_ref()));
    }
    Ok(Json(WatchList {
        items: views,
        next_cursor: page.next_cursor,
        total,
    }))
}

/// One watchlist item. Supports `If-None-Match` (304).
#[utoipa::path(get, path = "/api/v1/watchlist/items/{id}", tag = "watchlist",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, body = WatchView, headers(("ETag" = String))),
        (status = 304, description = "Not modified"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_item(
    State(core): State<Core>,
    caller: Authenticated,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let item = owned_item(&core, caller.user.id, &id).await?;
    let product = core.store.product_by_id(item.product_id).await?;
    Ok(record_response(
        &headers,
        &item,
        StatusCode::OK,
        view(&item, product.as_ref()),
    ))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"trigger": {"kind": "percent_drop", "percent": 15}, "label": null}))]
pub struct UpdateWatchRequest {
    #[schema(value_type = Object)]
    #[serde(default, deserialize_with = "crate::json::present")]
    pub trigger: Option<Value>,
    #[schema(value_type = Object)]
    #[serde(default, deserialize_with = "crate::json::present")]
    pub rearm: Option<Value>,
    pub check_interval_minutes: Option<u32>,
    /// `null` clears it.
    #[schema(value_type = Option<String>)]
    #[serde(default, deserialize_with = "crate::json::present")]
    pub label: Option<Value>,
    pub enabled: Option<bool>,
    /// `true` re-arms a fired watch now instead of waiting for its re-arm rule; a watch is
    /// disarmed only by firing, so `false` is refused.
    pub armed: Option<bool>,
    /// Replaces the product page's selector overrides; `{}` clears them.
    #[schema(value_type = Option<Object>)]
    pub selectors: Option<SelectorOverrides>,
}

/// Applies a change's trigger, re-arm rule and label to `item`, with every field's problem
/// collected; the product's new selector overrides, when given (`Some(None)` clears them).
pub(crate) fn apply_watch_update(
    request: &UpdateWatchRequest,
    item: &mut WatchItem,
) -> Result<Option<Option<SelectorOverrides>>, ApiError> {
    let mut fields = Fields::default();
    if let Some(value) = &request.trigger {
        if let Some(trigger) = fields.take("trigger", parse_trigger(value)) {
            if trigger != item.trigger {
                item.armed = true;
            }
            item.trigger = trigger;
        }
    }
    if let Some(value) = &request.rearm {
        if let Some(rearm) = fields.take("rearm", parse_rearm(value)) {
            item.rearm = rearm;
        }
    }
    match request.armed {
        None => {}
        Some(true) => item.armed = true,
        Some(false) => {
            fields.take::<(), _>(
                "armed",
                Err("only true (re-arm now); a watch is disarmed by firing"),
            );
        }
    }
    match &request.label {
        None => {}
        Some(Value::Null) => item.label = None,
        Some(Value::String(text)) => {
            if let Some(label) = fields.take("label", WatchItem::parse_label(text)) {
                item.label = label;
            }
        }
        Some(_) => {
            fields.take::<(), _>("label", Err("label is a string or null"));
        }
    }
    let selectors = match &request.selectors {
        None => None,
        Some(selectors) => fields.take("selectors", parse_selectors(selectors)),
    };
    fields.finish()?;
    Ok(selectors)
}

/// Changes an item. A new trigger, or `armed: true`, re-arms it. `If-Match` → 412 when stale.
#[utoipa::path(patch, path = "/api/v1/watchlist/items/{id}", tag = "watchlist",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    request_body = UpdateWatchRequest,
    responses(
        (status = 200, body = WatchView, headers(("ETag" = String))),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 412, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update_item(
    State(core): State<Core>,
    caller: Authenticated,
    headers: HeaderMap,
    Path(id): Path<String>,
    JsonBody(request): JsonBody<UpdateWatchRequest>,
) -> Result<Response, ApiError> {
    let mut item = owned_item(&core, caller.user.id, &id).await?;
    require_if_match(&headers, &etag_of(&item))?;
    let limits = core.plans.limits(caller.user.plan);
    let selectors = apply_watch_update(&request, &mut item)?;
    if let Some(minutes) = request.check_interval_minutes {
        item.check_interval_minutes = check_interval(minutes, &caller, limits)?;
    }
    if let Some(enabled) = request.enabled {
        item.enabled = enabled;
    }
    item.updated_at = core.clock.now();
    let stored = records::<WatchItem>(core.store.as_ref())
        .update(&item)
        .await?;
    let mut product = core.store.product_by_id(stored.product_id).await?;
    if let Some(product) = product.as_mut() {
        let before = product.check.clone();
        product
            .check
            .tighten(stored.check_interval_minutes, core.clock.now());
        if product.check != before {
            core.store.save_product(product).await?;
        }
        apply_selectors(&core, product, selectors).await?;
    }
    Ok(record_response(
        &HeaderMap::new(),
        &stored,
        StatusCode::OK,
        view(&stored, product.as_ref()),
    ))
}

/// Stops watching. `If-Match` → 412 when stale.
#[utoipa::path(delete, path = "/api/v1/watchlist/items/{id}", tag = "watchlist",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 412, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete_item(
    State(core): State<Core>,
    caller: Authenticated,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let item = owned_item(&core, caller.user.id, &id).await?;
    delete_record(core.store.as_ref(), &item, &headers).await?;
    crate::routes::count_watchers(&core, item.product_id, -1).await;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"at": "2026-11-20T06:00:00Z", "price": {"amount": "279.00", "currency": "EUR"}, "in_stock": true}))]
pub struct PricePointView {
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    #[schema(value_type = Object)]
    pub price: Money,
    pub in_stock: bool,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "product_id": "01937b2e-9b1c-7cc0-9a51-4f2d5c1e0a23", "days": 90,
    "points": [{"at": "2026-11-20T06:00:00Z", "price": {"amount": "279.00", "currency": "EUR"}, "in_stock": true}],
    "lowest": {"amount": "279.00", "currency": "EUR"}, "highest": {"amount": "279.00", "currency": "EUR"},
    "listing": null
}))]
pub struct PriceHistory {
    pub product_id: String,
    pub days: u32,
    /// Oldest first.
    pub points: Vec<PricePointView>,
    #[schema(value_type = Option<Object>)]
    pub lowest: Option<Money>,
    #[schema(value_type = Option<Object>)]
    pub highest: Option<Money>,
    /// The listing the watch was created from, if it is still known.
    pub listing: Option<ListingSummary>,
}

/// Most points one history answer carries.
const HISTORY_LIMIT: u32 = 5000;

/// Price history of the watched product over `days` (1–730, default 90). Empty until the
/// product has been checked.
#[utoipa::path(get, path = "/api/v1/watchlist/items/{id}/history", tag = "watchlist",
    security(("bearer" = [])),
    params(("id" = String, Path), ("days" = Option<u32>, Query, minimum = 1, maximum = 730)),
    responses(
        (status = 200, body = PriceHistory),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn item_history(
    State(core): State<Core>,
    caller: Authenticated,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Json<PriceHistory>, ApiError> {
    let params = QueryParams::parse(query.as_deref(), &["days"])?;
    let days = params.number("days", 1, 730, 90)?;
    let item = owned_item(&core, caller.user.id, &id).await?;
    let since = core
        .clock
        .now()
        .checked_sub(SignedDuration::from_hours(i64::from(days) * 24))
        .map_err(ApiError::internal)?;
    let points = core
        .store
        .price_points(item.product_id, since, core.clock.now(), HISTORY_LIMIT)
        .await?;
    let lowest = points.iter().map(|p| p.price).min_by_key(|m| m.minor());
    let highest = points.iter().map(|p| p.price).max_by_key(|m| m.minor());
    let listing = match item.listing_id {
        Some(id) => core.store.listing_by_id(id).await?,
        None => None,
    };
    Ok(Json(PriceHistory {
        product_id: item.product_id.to_string(),
        days,
        points: points
            .into_iter()
            .map(|p| PricePointView {
                at: p.at,
                price: p.price,
                in_stock: p.in_stock,
            })
            .collect(),
        lowest,
        highest,
        listing: listing.as_ref().map(ListingSummary::from),
    }))
}

/// A product page to preview before watching it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"url": "https://shop.example.com/espresso-x1"}))]
pub struct PreviewRequest {
    /// Product page (http/https, public hosts only).
    pub url: String,
}

/// What a check of the page would read, and whether the caller already follows it.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "url": "https://shop.example.com/espresso-x1", "host": "shop.example.com",
    "title": "Espresso X1", "price": {"amount": "279.00", "currency": "EUR"},
    "list_price": {"amount": "349.00", "currency": "EUR"}, "in_stock": true,
    "image": "https://shop.example.com/img/x1.jpg", "extracted_by": "json_ld",
    "methods": {"title": "json_ld", "price": "json_ld", "image": "open_graph"},
    "already_tracked_product": null, "already_watching": false
}))]
pub struct PagePreviewView {
    /// The URL in the canonical form a watch would track.
    pub url: String,
    pub host: String,
    pub title: Option<String>,
    #[schema(value_type = Object)]
    pub price: Money,
    #[schema(value_type = Option<Object>)]
    pub list_price: Option<Money>,
    pub in_stock: Option<bool>,
    pub image: Option<String>,
    /// How the price was found: json_ld, microdata, rdfa, open_graph, itemprop, selector or text.
    pub extracted_by: Option<String>,
    /// The method behind each field found.
    pub methods: std::collections::BTreeMap<String, String>,
    /// The product DealPulse already tracks at this URL, if any.
    pub already_tracked_product: Option<ProductView>,
    /// Whether the caller already watches that product.
    pub already_watching: bool,
}

/// Fetches a product page through the SSRF-guarded fetcher and reads it as a check would (the
/// product's and its host's selector overrides included), without storing anything. Limited
/// per user (30 a minute). 422 when the page shows no price (`no-price`) or cannot be read (`page-unreadable`).
#[utoipa::path(post, path = "/api/v1/watchlist/preview", tag = "watchlist",
    security(("bearer" = [])),
    request_body = PreviewRequest,
    responses(
        (status = 200, body = PagePreviewView),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn preview(
    State(state): State<WatchlistState>,
    caller: Authenticated,
    JsonBody(request): JsonBody<PreviewRequest>,
) -> Result<Response, ApiError> {
    use axum::response::IntoResponse;
    let core = &state.core;
    let url = watchable(core, &request.url).map_err(|e| ApiError::invalid("url", e.0))?;
    let limit = crate::ratelimit::enforce(
        core,
        "watch-preview",
        &caller.user.id.to_string(),
        core.settings.limits.preview_per_user,
    )
    .await?;
    let host = url.host();
    let tracked = core.store.product_by_url(url.as_str()).await?;
    let host_selectors = records::<dealpulse_domain::sources::HostSelectors>(core.store.as_ref())
        .get(UserId::system(), &host)
        .await?
        .map(|h| h.selectors);
    let own = tracked.as_ref().and_then(|p| p.selectors.clone());
    let selectors = match (own, host_selectors) {
        (Some(own), Some(host)) => Some(own.or(&host)),
        (own, host) => own.or(host),
    };
    let page = state
        .previewer
        .preview(url.url(), selectors.as_ref())
        .await
        .map_err(|e| ApiError::PageUnreadable(e.to_string()))?;
    let price = page.price.ok_or(ApiError::NoPrice)?;
    let already_watching = match &tracked {
        Some(product) => records::<WatchItem>(core.store.as_ref())
            .list(caller.user.id)
            .await?
            .iter()
            .any(|w| w.product_id == product.id),
        None => false,
    };
    let mut response = Json(PagePreviewView {
        url: url.as_str().to_string(),
        host,
        title: page.title,
        price,
        list_price: page.list_price,
        in_stock: page.in_stock,
        image: page.image,
        extracted_by: page.methods.get("price").cloned(),
        methods: page.methods,
        already_tracked_product: tracked.as_ref().map(ProductView::from),
        already_watching,
    })
    .into_response();
    limit.apply(&mut response);
    Ok(response)
}

/// When the watched product will be checked.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"next_check_at": "2026-11-25T10:00:00Z"}))]
pub struct CheckScheduled {
    #[schema(value_type = String, format = DateTime)]
    pub next_check_at: Timestamp,
}

/// Schedules the watched product for a check now (the scraper picks it up at its next run).
/// 429 with `Retry-After` while the page was checked, or a check requested, less than a minute
/// ago.
#[utoipa::path(post, path = "/api/v1/watchlist/items/{id}/check", tag = "watchlist",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 202, body = CheckScheduled),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn check_now(
    State(core): State<Core>,
    caller: Authenticated,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<CheckScheduled>), ApiError> {
    let item = owned_item(&core, caller.user.id, &id).await?;
    let mut product = core
        .store
        .product_by_id(item.product_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let now = core.clock.now();
    if let Err(wait) = product.check.request_now(now) {
        let seconds = (wait.as_millis().max(1) as u64).div_ceil(1000);
        return Err(ApiError::RateLimited(crate::problem::RateLimitInfo {
            limit: 1,
            remaining: 0,
            reset_secs: seconds,
        }));
    }
    core.store.save_product(&product).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(CheckScheduled { next_check_at: now }),
    ))
}
