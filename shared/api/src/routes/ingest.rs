//! `/api/v1/ingest`: partners push listings with an `ingest` API key (batches of up to 500,
//! a result per item), and administrators register the listing feeds the scraper reads and see
//! how each host answers. Served by the `api-ingest` function.

use crate::auth::extract::{Authenticated, IngestKey};
use crate::json::JsonBody;
use crate::problem::{ApiError, FieldError, Problem};
use crate::resource::QueryParams;
use crate::routes::auth::Fields;
use crate::routes::products::ProductDetail;
use crate::state::Core;
use axum::extract::RawQuery;
use axum::extract::{FromRef, Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use dealpulse_domain::account::Role;
use dealpulse_domain::events::{CatalogEvent, EventPublisher};
use dealpulse_domain::geo::GeoPoint;
use dealpulse_domain::ids::{ListingId, SourceId, UserId};
use dealpulse_domain::inbound::{
    InboundAddresses, InboundMail, InboundSettings, MailReceiver, MailStatus, SenderRule,
};
use dealpulse_domain::listing::TrackedProduct;
use dealpulse_domain::listing::{Category, Listing, SourceName};
use dealpulse_domain::money::{Currency, Money};
use dealpulse_domain::net::{PublicUrl, Schemes};
use dealpulse_domain::normalize::{category_of, condition_of, place_of};
use dealpulse_domain::ports::StoreError;
use dealpulse_domain::records::records;
use dealpulse_domain::score::{prices_by_category, score_against_category};
use dealpulse_domain::sources::{
    CheckState, FeedFormat, FeedSource, FieldMapping, HostHealth, HostSelectors, SelectorOverrides,
};
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;
use utoipa::ToSchema;

#[derive(Clone)]
pub struct IngestState {
    pub core: Core,
    pub events: Arc<dyn EventPublisher>,
    /// `None` when no inbound mail domain is configured.
    pub inbound: Option<InboundAddresses>,
    /// Takes raw messages posted by administrators (local mode); `None` on AWS, where SES
    /// delivers mail.
    pub mail_receiver: Option<Arc<dyn MailReceiver>>,
}

impl FromRef<IngestState> for Core {
    fn from_ref(state: &IngestState) -> Core {
        state.core.clone()
    }
}

pub fn router(state: IngestState) -> Router {
    Router::new()
        .route("/api/v1/ingest/listings", post(push_listings))
        .route("/api/v1/ingest/feeds", get(list_feeds).post(create_feed))
        .route("/api/v1/ingest/products", post(track_product))
        .route(
            "/api/v1/ingest/feeds/{id}",
            get(get_feed).patch(update_feed).delete(delete_feed),
        )
        .route("/api/v1/ingest/hosts", get(host_health))
        .route(
            "/api/v1/ingest/hosts/{host}/selectors",
            get(get_host_selectors)
                .put(put_host_selectors)
                .delete(delete_host_selectors),
        )
        .route("/api/v1/ingest/mails", get(list_mails))
        .route("/api/v1/ingest/email", post(post_email))
        .route("/api/v1/ingest/mails/{id}", get(get_mail))
        .route(
            "/api/v1/ingest/inbound-address",
            get(get_inbound_address).put(set_inbound_senders),
        )
        .route(
            "/api/v1/ingest/inbound-address/rotate",
            post(rotate_inbound_address),
        )
        .with_state(state)
}

/// Most listings in one push.
pub const MAX_BATCH: usize = 500;
/// A push may carry 500 listings with long descriptions.
pub const MAX_PUSH_BYTES: usize = 4 * 1024 * 1024;

pub(crate) fn require_admin(caller: &Authenticated) -> Result<(), ApiError> {
    if caller.user.role == Role::Admin {
        Ok(())
    } else {
        Err(ApiError::Forbidden {
            kind: "admin-only",
            detail: "Only administrators may do this.",
        })
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PushListingsRequest {
    /// 1 to 500 listings; each is checked on its own.
    #[schema(value_type = Vec<PartnerListing>)]
    pub listings: Vec<Value>,
}

/// A place as a partner sends it: coordinates, or a city the gazetteer knows ("Berlin, DE").
#[derive(Debug, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum PartnerPlace {
    Point { lat: f64, lon: f64 },
    Text(String),
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"external_id": "A-1029", "title": "Gaming PC RTX 4070", "url": "https://partner.example.com/a/1029", "price": {"amount": "749.00", "currency": "USD"}, "category": "computers", "condition": "used", "location": "Boston, US"}))]
pub struct PartnerListing {
    /// The partner's id for the item; pushing it again updates the listing. Default: the URL.
    pub external_id: Option<String>,
    pub title: String,
    pub url: String,
    #[schema(value_type = Object)]
    pub price: Money,
    /// The price before the deal.
    #[schema(value_type = Option<Object>)]
    pub was_price: Option<Money>,
    pub category: Option<String>,
    pub condition: Option<String>,
    pub location: Option<PartnerPlace>,
    pub description: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ItemStatus {
    Created,
    /// Seen before; the price changed.
    Updated,
    /// Seen before at this price; its seen time is refreshed.
    Unchanged,
    Rejected,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ItemResult {
    pub index: usize,
    pub status: ItemStatus,
    pub listing_id: Option<String>,
    pub errors: Vec<FieldError>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PushListingsResponse {
    pub source: String,
    pub accepted: usize,
    pub rejected: usize,
    pub results: Vec<ItemResult>,
}

fn field_error(field: &str, message: impl Into<String>) -> FieldError {
    FieldError {
        field: field.to_string(),
        message: message.into(),
    }
}

/// Parses one pushed item into a listing, or says what is wrong with it.
fn parse_partner_listing(
    source: &SourceName,
    value: Value,
    now: Timestamp,
) -> Result<Listing, Vec<FieldError>> {
    let item: PartnerListing =
        serde_json::from_value(value).map_err(|e| vec![field_error("", e.to_string())])?;
    let mut errors = Vec::new();
    let title: String = item.title.trim().to_string();
    if title.is_empty() || title.chars().count() > 300 || title.chars().any(char::is_control) {
        errors.push(field_error("title", "1 to 300 printable characters"));
    }
    let url = PublicUrl::parse(&item.url, Schemes::HttpOrHttps)
        .map_err(|e| errors.push(field_error("url", e.0)))
        .ok();
    let key = match &item.external_id {
        Some(id) if id.trim().is_empty() || id.len() > 200 => {
            errors.push(field_error("external_id", "1 to 200 characters"));
            None
        }
        Some(id) => Some(format!("id:{}", id.trim())),
        None => url.as_ref().map(|u| u.as_str().to_string()),
    };
    if let Some(was) = &item.was_price {
        if was.currency() != item.price.currency() {
            errors.push(field_error("was_price", "must be in the price's currency"));
        }
    }
    let category = match item.category.as_deref() {
        None => None,
        Some(text) => match category_of(text) {
            Some(category) => Some(category),
            None => {
                errors.push(field_error(
                    "category",
                    format!(
                        "not a known category; use one of {}",
                        Category::ALL
                            .iter()
                            .map(|c| c.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
                None
            }
        },
    };
    let condition = match item.condition.as_deref() {
        None => None,
        Some(text) => {
            let parsed = condition_of(text);
            if parsed.is_none() {
                errors.push(field_error("condition", "not a known condition"));
            }
            parsed
        }
    };
    let location = match &item.location {
        None => None,
        Some(PartnerPlace::Point { lat, lon }) => GeoPoint::new(*lat, *lon)
            .map_err(|e| errors.push(field_error("location", e.0)))
            .ok(),
        Some(PartnerPlace::Text(text)) => {
            let place = place_of(text);
            if place.is_none() {
                errors.push(field_error(
                    "location",
                    "give lat and lon, or a city the gazetteer knows (\"Berlin, DE\")",
                ));
            }
            place
        }
    };
    let (Some(url), Some(key), true) = (url, key, errors.is_empty()) else {
        return Err(errors);
    };
    Ok(Listing {
        id: ListingId::derived(source.as_str(), &key),
        source: source.clone(),
        url: url.as_str().to_string(),
        title,
        description: item
            .description
            .map(|d| d.chars().take(2000).collect())
            .unwrap_or_default(),
        price: item.price,
        was_price: item.was_price,
        category,
        condition,
        location,
        score: None,
        flight: None,
        seen_at: now,
        audience: None,
    })
}

/// A push's items, parsed.
pub(crate) struct ParsedPush {
    /// The rejected items' results.
    rejected: Vec<ItemResult>,
    /// The accepted listings, with their index in the request.
    accepted: Vec<(usize, Listing)>,
}

/// Checks a push's size and parses its items.
pub(crate) fn parse_push(
    request: PushListingsRequest,
    source: &SourceName,
    now: Timestamp,
) -> Result<ParsedPush, ApiError> {
    if request.listings.is_empty() || request.listings.len() > MAX_BATCH {
        return Err(ApiError::invalid(
            "listings",
            format!("send 1 to {MAX_BATCH} listings per request"),
        ));
    }
    let mut results = Vec::with_capacity(request.listings.len());
    let mut accepted: Vec<(usize, Listing)> = Vec::new();
    for (index, value) in request.listings.into_iter().enumerate() {
        match parse_partner_listing(source, value, now) {
            Ok(listing) => accepted.push((index, listing)),
            Err(errors) => results.push(ItemResult {
                index,
                status: ItemStatus::Rejected,
                listing_id: None,
                errors,
            }),
        }
    }
    Ok(ParsedPush {
        rejected: results,
        accepted,
    })
}

/// Pushes listings as the key's source. Items are independent: valid ones are stored (and
/// announced when new or re-priced) even when others are rejected. Pushing the same item again
/// updates it, so a failed request can simply be retried.
#[utoipa::path(post, path = "/api/v1/ingest/listings", tag = "ingest",
    security(("bearer" = [])),
    request_body = PushListingsRequest,
    responses(
        (status = 200, body = PushListingsResponse),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn push_listings(
    State(state): State<IngestState>,
    caller: IngestKey,
    JsonBody(request): JsonBody<PushListingsRequest, MAX_PUSH_BYTES>,
) -> Result<Json<PushListingsResponse>, ApiError> {
    let store = &state.core.store;
    let now = state.core.clock.now();
    let ParsedPush {
        rejected: mut results,
        mut accepted,
    } = parse_push(request, &caller.source, now)?;
    // Recent prices per category, for scoring listings that have no history of their own.
    let category_prices: HashMap<Category, Vec<Money>> =
        if accepted.iter().any(|(_, l)| l.category.is_some()) {
            let since = now
                .checked_sub(SignedDuration::from_hours(7 * 24))
                .map_err(ApiError::internal)?;
            prices_by_category(&store.listings_seen_since(since, 2000).await?)
        } else {
            HashMap::new()
        };
    let mut events = Vec::new();
    let mut statuses = Vec::with_capacity(accepted.len());
    for (_, listing) in accepted.iter_mut() {
        let history = listing
            .category
            .and_then(|c| category_prices.get(&c))
            .map(Vec::as_slice)
            .unwrap_or_default();
        listing.score =
            Some(score_against_category(listing.price, listing.was_price, history).score);
        let previous = store.listing_by_id(listing.id).await?.map(|l| l.price);
        let status = match previous {
            None => ItemStatus::Created,
            Some(price) if price != listing.price => ItemStatus::Updated,
            Some(_) => ItemStatus::Unchanged,
        };
        if status != ItemStatus::Unchanged {
            events.push(CatalogEvent::ListingObserved {
                listing: Box::new(listing.clone()),
                previous_price: previous,
            });
        }
        statuses.push(status);
    }
    // Announce first, then store: a failure leaves the batch to be retried, never a stored
    // listing whose event was lost.
    state
        .events
        .publish(&events)
        .await
        .map_err(|e| ApiError::Unavailable(e.to_string()))?;
    for (_, listing) in &accepted {
        store.put_listing(listing).await?;
    }
    let accepted_count = accepted.len();
    for ((index, listing), status) in accepted.into_iter().zip(statuses) {
        results.push(ItemResult {
            index,
            status,
            listing_id: Some(listing.id.to_string()),
            errors: Vec::new(),
        });
    }
    results.sort_by_key(|r| r.index);
    Ok(Json(PushListingsResponse {
        source: caller.source.to_string(),
        accepted: accepted_count,
        rejected: results.len() - accepted_count,
        results,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "craigslist-boston-computers", "url": "https://boston.craigslist.org/search/sya?format=rss", "currency": "USD", "category": "computers", "interval_minutes": 30}))]
pub struct CreateFeedRequest {
    /// Lower-case letters, digits and dashes; the `source` of every listing read from the feed.
    pub name: String,
    pub url: String,
    /// `auto` (RSS, Atom or JSON Feed; the default) or `json_api` (needs `mapping`).
    pub format: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub mapping: Option<FieldMapping>,
    pub category: Option<String>,
    pub currency: Option<String>,
    /// Minutes between reads, 5 to 10080 (default 60).
    pub interval_minutes: Option<u32>,
    pub enabled: Option<bool>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateFeedRequest {
    pub url: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub mapping: Option<FieldMapping>,
    pub category: Option<String>,
    pub currency: Option<String>,
    pub interval_minutes: Option<u32>,
    pub enabled: Option<bool>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FeedView {
    pub id: String,
    pub name: String,
    pub url: String,
    pub format: String,
    #[schema(value_type = Option<Object>)]
    pub mapping: Option<FieldMapping>,
    pub category: Option<String>,
    pub currency: Option<String>,
    pub enabled: bool,
    pub interval_minutes: u32,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub next_check_at: Option<Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_checked_at: Option<Timestamp>,
    pub last_result: Option<String>,
    pub last_failure: Option<String>,
    pub failures: u32,
    pub last_item_count: Option<u32>,
}

impl From<&FeedSource> for FeedView {
    fn from(feed: &FeedSource) -> Self {
        Self {
            id: feed.id.to_string(),
            name: feed.name.to_string(),
            url: feed.url.clone(),
            format: feed.format.as_str().to_string(),
            mapping: feed.mapping.clone(),
            category: feed.category.map(|c| c.as_str().to_string()),
            currency: feed.currency.map(|c| c.code().to_string()),
            enabled: feed.enabled,
            interval_minutes: feed.check.interval().as_mins() as u32,
            next_check_at: feed.check.next_check_at,
            last_checked_at: feed.check.last_checked_at,
            last_result: feed.check.last_result.map(|r| r.as_str().to_string()),
            last_failure: feed.check.last_reason.clone(),
            failures: feed.check.failures,
            last_item_count: feed.last_item_count,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FeedList {
    pub items: Vec<FeedView>,
}

fn parse_interval(minutes: u32) -> Result<u32, &'static str> {
    if (5..=10_080).contains(&minutes) {
        Ok(minutes)
    } else {
        Err("from 5 to 10080 minutes")
    }
}

fn parse_category(text: &str) -> Result<Category, &'static str> {
    Category::parse(text).ok_or("not a known category")
}

fn check_mapping(format: FeedFormat, mapping: Option<&FieldMapping>) -> Result<(), String> {
    match (format, mapping) {
        (FeedFormat::JsonApi, None) => Err("a json_api feed needs a mapping".into()),
        (FeedFormat::Auto, Some(_)) => Err("only json_api feeds take a mapping".into()),
        (_, Some(mapping)) => mapping.check().map_err(|e| e.0.to_string()),
        _ => Ok(()),
    }
}

/// A new feed from its request, with every field's problem collected.
pub(crate) fn parse_new_feed(
    request: CreateFeedRequest,
    now: Timestamp,
) -> Result<FeedSource, ApiError> {
    let mut fields = Fields::default();
    let name = fields.take("name", SourceName::parse(&request.name));
    let url = fields.take(
        "url",
        PublicUrl::parse(&request.url, Schemes::HttpOrHttps).map_err(|e| e.0),
    );
    let format = match request.format.as_deref() {
        None => Some(FeedFormat::Auto),
        Some(text) => fields.take("format", FeedFormat::parse(text).ok_or("auto or json_api")),
    };
    if let Some(format) = format {
        fields.take("mapping", check_mapping(format, request.mapping.as_ref()));
    }
    let category = match request.category.as_deref() {
        None => Some(None),
        Some(text) => fields.take("category", parse_category(text).map(Some)),
    };
    let currency = match request.currency.as_deref() {
        None => Some(None),
        Some(text) => fields.take("currency", Currency::parse(text).map(Some)),
    };
    let interval = fields.take(
        "interval_minutes",
        parse_interval(request.interval_minutes.unwrap_or(60)),
    );
    fields.finish()?;
    let (Some(name), Some(url), Some(format), Some(category), Some(currency), Some(interval)) =
        (name, url, format, category, currency, interval)
    else {
        return Err(ApiError::internal("validated fields missing"));
    };
    Ok(FeedSource {
        id: SourceId::generate(),
        name,
        url: url.as_str().to_string(),
        format,
        mapping: request.mapping,
        category,
        currency,
        enabled: request.enabled.unwrap_or(true),
        created_at: now,
        check: CheckState {
            interval_minutes: interval,
            ..CheckState::default()
        },
        last_item_count: None,
    })
}

/// Registers a listing feed; it is read at its first scrape tick.
#[utoipa::path(post, path = "/api/v1/ingest/feeds", tag = "ingest",
    security(("bearer" = [])),
    request_body = CreateFeedRequest,
    responses(
        (status = 201, body = FeedView),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_feed(
    State(state): State<IngestState>,
    caller: Authenticated,
    JsonBody(request): JsonBody<CreateFeedRequest>,
) -> Result<(StatusCode, Json<FeedView>), ApiError> {
    require_admin(&caller)?;
    let feed = parse_new_feed(request, state.core.clock.now())?;
    match state.core.store.insert_feed(&feed).await {
        Ok(()) => Ok((StatusCode::CREATED, Json(FeedView::from(&feed)))),
        Err(StoreError::Conflict(_)) => {
            Err(ApiError::Conflict("a feed with this name already exists"))
        }
        Err(error) => Err(error.into()),
    }
}

/// Every registered feed with how its last read went.
#[utoipa::path(get, path = "/api/v1/ingest/feeds", tag = "ingest",
    security(("bearer" = [])),
    responses(
        (status = 200, body = FeedList),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_feeds(
    State(state): State<IngestState>,
    caller: Authenticated,
) -> Result<Json<FeedList>, ApiError> {
    require_admin(&caller)?;
    let feeds = state.core.store.feeds().await?;
    Ok(Json(FeedList {
        items: feeds.iter().map(FeedView::from).collect(),
    }))
}

async fn feed(state: &IngestState, id: &str) -> Result<FeedSource, ApiError> {
    let id: SourceId = id.parse().map_err(|_| ApiError::NotFound)?;
    state
        .core
        .store
        .feed_by_id(id)
        .await?
        .ok_or(ApiError::NotFound)
}

#[utoipa::path(get, path = "/api/v1/ingest/feeds/{id}", tag = "ingest",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, body = FeedView),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_feed(
    State(state): State<IngestState>,
    caller: Authenticated,
    Path(id): Path<String>,
) -> Result<Json<FeedView>, ApiError> {
    require_admin(&caller)?;
    Ok(Json(FeedView::from(&feed(&state, &id).await?)))
}

/// Applies a change to `feed`, with every field's problem collected. A new URL forgets the
/// old one's cache validators; a new URL or interval, or enabling it, makes it due at once.
pub(crate) fn apply_feed_update(
    request: UpdateFeedRequest,
    feed: &mut FeedSource,
) -> Result<(), ApiError> {
    let mut fields = Fields::default();
    if let Some(url) = &request.url {
        if let Some(url) = fields.take(
            "url",
            PublicUrl::parse(url, Schemes::HttpOrHttps).map_err(|e| e.0),
        ) {
            feed.url = url.as_str().to_string();
            feed.check.etag = None;
            feed.check.last_modified = None;
            feed.check.next_check_at = None;
        }
    }
    if request.mapping.is_some()
        && fields
            .take(
                "mapping",
                check_mapping(feed.format, request.mapping.as_ref()),
            )
            .is_some()
    {
        feed.mapping = request.mapping;
    }
    if let Some(text) = &request.category {
        if let Some(category) = fields.take("category", parse_category(text)) {
            feed.category = Some(category);
        }
    }
    if let Some(text) = &request.currency {
        if let Some(currency) = fields.take("currency", Currency::parse(text)) {
            feed.currency = Some(currency);
        }
    }
    if let Some(minutes) = request.interval_minutes {
        if let Some(minutes) = fields.take("interval_minutes", parse_interval(minutes)) {
            feed.check.interval_minutes = minutes;
            feed.check.next_check_at = None;
        }
    }
    fields.finish()?;
    if let Some(enabled) = request.enabled {
        if enabled && !feed.enabled {
            feed.check.next_check_at = None;
        }
        feed.enabled = enabled;
    }
    Ok(())
}

/// Changes a feed; enabling it or shortening its interval makes it due at once.
#[utoipa::path(patch, path = "/api/v1/ingest/feeds/{id}", tag = "ingest",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    request_body = UpdateFeedRequest,
    responses(
        (status = 200, body = FeedView),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update_feed(
    State(state): State<IngestState>,
    caller: Authenticated,
    Path(id): Path<String>,
    JsonBody(request): JsonBody<UpdateFeedRequest>,
) -> Result<Json<FeedView>, ApiError> {
    require_admin(&caller)?;
    let mut feed = feed(&state, &id).await?;
    apply_feed_update(request, &mut feed)?;
    state.core.store.save_feed(&feed).await?;
    Ok(Json(FeedView::from(&feed)))
}

#[utoipa::path(delete, path = "/api/v1/ingest/feeds/{id}", tag = "ingest",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 204, description = "Deleted; listings already read stay"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete_feed(
    State(state): State<IngestState>,
    caller: Authenticated,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    require_admin(&caller)?;
    let feed = feed(&state, &id).await?;
    state.core.store.delete_feed(feed.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HostHealthList {
    #[schema(value_type = Vec<Object>)]
    pub items: Vec<HostHealth>,
}

/// How every host the scraper visits answers: checks per result (ok, blocked, price_missing,
/// …) and the last failure, so layout changes and blocking show up.
#[utoipa::path(get, path = "/api/v1/ingest/hosts", tag = "ingest",
    security(("bearer" = [])),
    responses(
        (status = 200, body = HostHealthList),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn host_health(
    State(state): State<IngestState>,
    caller: Authenticated,
) -> Result<Json<HostHealthList>, ApiError> {
    require_admin(&caller)?;
    Ok(Json(HostHealthList {
        items: state.core.store.host_health().await?,
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MailList {
    #[schema(value_type = Vec<Object>)]
    pub items: Vec<InboundMail>,
}

/// Received newsletters, newest first, whatever became of them (`status`: accepted, no_deals,
/// unparseable, sender_not_allowed, unknown_address, rejected); `limit` 1–500 (default 100).
#[utoipa::path(get, path = "/api/v1/ingest/mails", tag = "ingest",
    security(("bearer" = [])),
    params(("status" = Option<String>, Query), ("limit" = Option<u32>, Query, minimum = 1, maximum = 500)),
    responses(
        (status = 200, body = MailList),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_mails(
    State(state): State<IngestState>,
    caller: Authenticated,
    RawQuery(query): RawQuery,
) -> Result<Json<MailList>, ApiError> {
    require_admin(&caller)?;
    let params = QueryParams::parse(query.as_deref(), &["status", "limit"])?;
    let limit = params.number("limit", 1, 500, 100)? as usize;
    let status = params
        .text("status")
        .map(|s| {
            MailStatus::parse(s).ok_or_else(|| {
                ApiError::invalid(
                    "status",
                    "accepted, no_deals, unparseable, sender_not_allowed, unknown_address or rejected",
                )
            })
        })
        .transpose()?;
    let mut mails = records::<InboundMail>(state.core.store.as_ref())
        .list(UserId::system())
        .await?;
    mails.sort_by(|a, b| b.received_at.cmp(&a.received_at).then(b.id.cmp(&a.id)));
    mails.retain(|m| status.is_none_or(|s| m.status == s));
    mails.truncate(limit);
    Ok(Json(MailList { items: mails }))
}

#[utoipa::path(get, path = "/api/v1/ingest/mails/{id}", tag = "ingest",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, body = Object),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_mail(
    State(state): State<IngestState>,
    caller: Authenticated,
    Path(id): Path<String>,
) -> Result<Json<InboundMail>, ApiError> {
    require_admin(&caller)?;
    let id: ListingId = id.parse().map_err(|_| ApiError::NotFound)?;
    records::<InboundMail>(state.core.store.as_ref())
        .get(UserId::system(), &id.to_string())
        .await?
        .map(Json)
        .ok_or(ApiError::NotFound)
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"address": "u-0193...-1-k3m9q2xw7a@inbound.dealpulse.example", "system_address": "deals@inbound.dealpulse.example", "allowed_senders": ["@fares.example.com"]}))]
pub struct InboundAddressView {
    /// Forward deal newsletters here; deals in them are for you alone.
    pub address: String,
    /// The shared address administrators subscribe to newsletters with.
    pub system_address: String,
    /// Senders this address accepts (`name@domain` or `@domain`); empty accepts anyone.
    pub allowed_senders: Vec<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InboundSendersRequest {
    /// Up to 50 senders: `name@domain` or `@domain`; empty accepts anyone.
    pub allowed_senders: Vec<String>,
}

fn inbound(state: &IngestState) -> Result<&InboundAddresses, ApiError> {
    state.inbound.as_ref().ok_or(ApiError::NotFound)
}

async fn inbound_settings(state: &IngestState, user: UserId) -> Result<InboundSettings, ApiError> {
    Ok(records::<InboundSettings>(state.core.store.as_ref())
        .get(user, "current")
        .await?
        .unwrap_or_else(|| InboundSettings::new(user)))
}

/// Stores the settings (insert on first write, else an optimistic update).
async fn save_inbound_settings(
    state: &IngestState,
    settings: &InboundSettings,
) -> Result<InboundSettings, ApiError> {
    let settings_records = records::<InboundSettings>(state.core.store.as_ref());
    let stored = if settings.version == 0 {
        settings_records.insert(settings, None).await
    } else {
        settings_records.update(settings).await
    };
    match stored {
        Ok(stored) => Ok(stored),
        Err(StoreError::Conflict(_) | StoreError::Stale) => Err(ApiError::Conflict(
            "the settings changed concurrently; read them and retry",
        )),
        Err(error) => Err(error.into()),
    }
}

fn inbound_view(addresses: &InboundAddresses, settings: &InboundSettings) -> InboundAddressView {
    InboundAddressView {
        address: addresses.for_user(settings.owner, settings.generation),
        system_address: addresses.system(),
        allowed_senders: settings
            .allowed_senders
            .iter()
            .map(|s| s.as_str().to_string())
            .collect(),
    }
}

/// The caller's personal newsletter address. 404 when this deployment receives no mail.
#[utoipa::path(get, path = "/api/v1/ingest/inbound-address", tag = "ingest",
    security(("bearer" = [])),
    responses(
        (status = 200, body = InboundAddressView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_inbound_address(
    State(state): State<IngestState>,
    caller: Authenticated,
) -> Result<Json<InboundAddressView>, ApiError> {
    let addresses = inbound(&state)?;
    let settings = inbound_settings(&state, caller.user.id).await?;
    Ok(Json(inbound_view(addresses, &settings)))
}

/// At most 50 sender rules, sorted and without repeats, with every rule's problem collected.
pub(crate) fn parse_senders(request: &InboundSendersRequest) -> Result<Vec<SenderRule>, ApiError> {
    if request.allowed_senders.len() > InboundSettings::MAX_SENDERS {
        return Err(ApiError::invalid("allowed_senders", "at most 50 senders"));
    }
    let mut fields = Fields::default();
    let mut senders = Vec::new();
    for (index, raw) in request.allowed_senders.iter().enumerate() {
        if let Some(rule) = fields.take(&format!("allowed_senders/{index}"), SenderRule::parse(raw))
        {
            senders.push(rule);
        }
    }
    fields.finish()?;
    senders.sort();
    senders.dedup();
    Ok(senders)
}

/// Replaces the senders the caller's address accepts.
#[utoipa::path(put, path = "/api/v1/ingest/inbound-address", tag = "ingest",
    security(("bearer" = [])),
    request_body = InboundSendersRequest,
    responses(
        (status = 200, body = InboundAddressView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn set_inbound_senders(
    State(state): State<IngestState>,
    caller: Authenticated,
    JsonBody(request): JsonBody<InboundSendersRequest>,
) -> Result<Json<InboundAddressView>, ApiError> {
    let addresses = inbound(&state)?;
    let senders = parse_senders(&request)?;
    let mut settings = inbound_settings(&state, caller.user.id).await?;
    settings.allowed_senders = senders;
    let stored = save_inbound_settings(&state, &settings).await?;
    Ok(Json(inbound_view(addresses, &stored)))
}

/// Retires the caller's address and issues a new one (for an address that attracts spam).
#[utoipa::path(post, path = "/api/v1/ingest/inbound-address/rotate", tag = "ingest",
    security(("bearer" = [])),
    responses(
        (status = 200, body = InboundAddressView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn rotate_inbound_address(
    State(state): State<IngestState>,
    caller: Authenticated,
) -> Result<Json<InboundAddressView>, ApiError> {
    let addresses = inbound(&state)?;
    let mut settings = inbound_settings(&state, caller.user.id).await?;
    settings.generation = settings.generation.saturating_add(1);
    let stored = save_inbound_settings(&state, &settings).await?;
    Ok(Json(inbound_view(addresses, &stored)))
}

/// Largest raw message accepted (SES accepts up to 40 MB; newsletters are far smaller).
pub const MAX_MAIL_BYTES: usize = 10 * 1024 * 1024;

/// Hands one raw newsletter (`Content-Type: message/rfc822`) to ingestion, as if it had arrived
/// by mail. The message is kept and recorded whatever it holds; the answer is its record.
/// Local mode only (on AWS, SES delivers mail): 404 elsewhere.
#[utoipa::path(post, path = "/api/v1/ingest/email", tag = "ingest",
    security(("bearer" = [])),
    request_body(content = String, content_type = "message/rfc822"),
    responses(
        (status = 201, body = Object),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn post_email(
    State(state): State<IngestState>,
    caller: Authenticated,
    request: axum::extract::Request,
) -> Result<(StatusCode, Json<InboundMail>), ApiError> {
    require_admin(&caller)?;
    let receiver = state.mail_receiver.clone().ok_or(ApiError::NotFound)?;
    let content_type = crate::json::request_media_type(request.headers());
    if content_type != "message/rfc822" {
        return Err(ApiError::BadRequest(
            "Send the raw message with Content-Type: message/rfc822.".into(),
        ));
    }
    let raw = axum::body::to_bytes(request.into_body(), MAX_MAIL_BYTES)
        .await
        .map_err(|_| ApiError::PayloadTooLarge {
            limit: MAX_MAIL_BYTES,
        })?;
    if raw.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::invalid("body", "the message is empty"));
    }
    let mail = receiver
        .receive(raw.to_vec())
        .await
        .map_err(|e| ApiError::Unavailable(e.to_string()))?;
    Ok((StatusCode::CREATED, Json(mail)))
}

/// A host as the scraper records it: lower-case letters, digits, dots and dashes (or an IP).
pub(crate) fn host_param(host: &str) -> Result<String, ApiError> {
    let host = host.trim().to_lowercase();
    let valid = (1..=253).contains(&host.len())
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
    if valid {
        Ok(host)
    } else {
        Err(ApiError::NotFound)
    }
}

/// The CSS selector overrides for every page of a host (404 when it has none).
#[utoipa::path(get, path = "/api/v1/ingest/hosts/{host}/selectors", tag = "ingest",
    security(("bearer" = [])),
    params(("host" = String, Path)),
    responses(
        (status = 200, body = Object),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_host_selectors(
    State(state): State<IngestState>,
    caller: Authenticated,
    Path(host): Path<String>,
) -> Result<Json<SelectorOverrides>, ApiError> {
    require_admin(&caller)?;
    let host = host_param(&host)?;
    records::<HostSelectors>(state.core.store.as_ref())
        .get(UserId::system(), &host)
        .await?
        .map(|h| Json(h.selectors))
        .ok_or(ApiError::NotFound)
}

/// A host's selectors: valid CSS, at least one.
pub(crate) fn check_host_selectors(selectors: &SelectorOverrides) -> Result<(), ApiError> {
    dealpulse_extract::check_selectors(selectors)
        .map_err(|bad| ApiError::invalid("selectors", bad.to_string()))?;
    if selectors == &SelectorOverrides::default() {
        return Err(ApiError::invalid(
            "selectors",
            "give at least one selector (DELETE removes them)",
        ));
    }
    Ok(())
}

/// Sets the selectors every page of the host is read with when its structured data is missing
/// or wrong (a product's own selectors win field by field). Each must be valid CSS.
#[utoipa::path(put, path = "/api/v1/ingest/hosts/{host}/selectors", tag = "ingest",
    security(("bearer" = [])),
    params(("host" = String, Path)),
    request_body(content = Object, description = "title, price, list_price, availability, image: CSS selectors"),
    responses(
        (status = 200, body = Object),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn put_host_selectors(
    State(state): State<IngestState>,
    caller: Authenticated,
    Path(host): Path<String>,
    JsonBody(selectors): JsonBody<SelectorOverrides>,
) -> Result<Json<SelectorOverrides>, ApiError> {
    require_admin(&caller)?;
    let host = host_param(&host)?;
    check_host_selectors(&selectors)?;
    let host_records = records::<HostSelectors>(state.core.store.as_ref());
    let stored = match host_records.get(UserId::system(), &host).await? {
        Some(mut existing) => {
            existing.selectors = selectors;
            host_records.update(&existing).await
        }
        None => {
            host_records
                .insert(
                    &HostSelectors {
                        owner: UserId::system(),
                        host,
                        selectors,
                        version: 0,
                    },
                    None,
                )
                .await
        }
    }
    .map_err(|error| match error {
        StoreError::Conflict(_) | StoreError::Stale => {
            ApiError::Conflict("the selectors changed concurrently; read them and retry")
        }
        other => other.into(),
    })?;
    Ok(Json(stored.selectors))
}

#[utoipa::path(delete, path = "/api/v1/ingest/hosts/{host}/selectors", tag = "ingest",
    security(("bearer" = [])),
    params(("host" = String, Path)),
    responses(
        (status = 204, description = "Removed"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete_host_selectors(
    State(state): State<IngestState>,
    caller: Authenticated,
    Path(host): Path<String>,
) -> Result<StatusCode, ApiError> {
    require_admin(&caller)?;
    let host = host_param(&host)?;
    records::<HostSelectors>(state.core.store.as_ref())
        .delete(UserId::system(), &host, None)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"url": "https://shop.example.com/p/espresso-x1", "interval_minutes": 60}))]
pub struct TrackProductRequest {
    /// Product page (public http/https).
    pub url: String,
    /// Minutes between checks, 5 to 10080 (default 360).
    pub interval_minutes: Option<u32>,
    #[schema(value_type = Option<Object>)]
    pub selectors: Option<SelectorOverrides>,
}

/// The page to track and its interval, with every field's problem collected (selectors are
/// only checked here).
pub(crate) fn parse_track(request: &TrackProductRequest) -> Result<(PublicUrl, u32), ApiError> {
    let mut fields = Fields::default();
    let url = fields.take(
        "url",
        PublicUrl::parse(&request.url, Schemes::HttpOrHttps).map_err(|e| e.0),
    );
    let interval = fields.take(
        "interval_minutes",
        parse_interval(request.interval_minutes.unwrap_or(360)),
    );
    if let Some(selectors) = &request.selectors {
        fields.take("selectors", dealpulse_extract::check_selectors(selectors));
    }
    fields.finish()?;
    let (Some(url), Some(interval)) = (url, interval) else {
        return Err(ApiError::internal("validated fields missing"));
    };
    Ok((url, interval))
}

/// Tracks a product page without a watch (price history for the catalogue, deal scores): the
/// product is checked on its interval like any watched one. Tracking a URL already tracked
/// returns that product, with the shorter interval and the given selectors.
#[utoipa::path(post, path = "/api/v1/ingest/products", tag = "ingest",
    security(("bearer" = [])),
    request_body = TrackProductRequest,
    responses(
        (status = 200, description = "Already tracked", body = ProductDetail),
        (status = 201, body = ProductDetail),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn track_product(
    State(state): State<IngestState>,
    caller: Authenticated,
    JsonBody(request): JsonBody<TrackProductRequest>,
) -> Result<(StatusCode, Json<ProductDetail>), ApiError> {
    require_admin(&caller)?;
    let (url, interval) = parse_track(&request)?;
    let store = &state.core.store;
    let now = state.core.clock.now();
    let (mut product, status) = match store.product_by_url(url.as_str()).await? {
        Some(existing) => (existing, StatusCode::OK),
        None => {
            let mut fresh = TrackedProduct::new(url.as_str(), url.host(), now);
            fresh.check.interval_minutes = interval;
            fresh.selectors = request.selectors.clone();
            let stored = store.insert_product(&fresh).await?;
            let status = if stored.id == fresh.id {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            (stored, status)
        }
    };
    let before = product.clone();
    product.check.tighten(interval, now);
    if let Some(selectors) = request.selectors {
        product.selectors = (selectors != SelectorOverrides::default()).then_some(selectors);
    }
    if product != before {
        store.save_product(&product).await?;
    }
    Ok((status, Json(ProductDetail::from(&product))))
}
