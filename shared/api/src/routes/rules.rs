//! `/api/v1/deal-alert-rules`: what each user wants to hear about. Served by the `api-rules`
//! function. Rules of other users answer 404.

use crate::auth::extract::Authenticated;
use crate::json::JsonBody;
use crate::problem::{ApiError, FieldError, Problem};
use crate::resource::{
    delete_record, edit_until_saved, etag_of, owned_record, paginate, plan_limit, quota_error,
    record_response, require_if_match, QueryParams,
};
use crate::routes::auth::Fields;
use crate::state::Core;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use dealpulse_domain::geo::{
    FlightPlace, FlightPlaceInput, Location, LocationInput, Radius, RadiusJson,
};
use dealpulse_domain::ids::{RuleId, UserId};
use dealpulse_domain::listing::{Cabin, Category, Condition, Listing, SourceName, TripType};
use dealpulse_domain::money::Money;
use dealpulse_domain::plans::Limit;
use dealpulse_domain::preferences::{Channel, Frequency};
use dealpulse_domain::query::{fold, Query, QueryParts};
use dealpulse_domain::records::records;
use dealpulse_domain::rules::{
    AlertRule, CriterionMiss, DateWindow, DateWindowJson, FlightCriteria, RuleCriteria, RuleName,
};
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeSet;
use utoipa::ToSchema;

pub fn router(core: Core) -> Router {
    Router::new()
        .route(
            "/api/v1/deal-alert-rules",
            get(list_rules).post(create_rule),
        )
        .route("/api/v1/deal-alert-rules/bulk", post(bulk_action))
        .route(
            "/api/v1/deal-alert-rules/parse-query",
            post(parse_query_text),
        )
        .route(
            "/api/v1/deal-alert-rules/{id}",
            get(get_rule).patch(update_rule).delete(delete_rule),
        )
        .route("/api/v1/deal-alert-rules/{id}/pause", post(pause_rule))
        .route("/api/v1/deal-alert-rules/{id}/resume", post(resume_rule))
        .route("/api/v1/deal-alert-rules/{id}/test", post(test_rule))
        .route_layer(axum::middleware::from_fn_with_state(
            core.clone(),
            crate::routes::bump_matching_stamp_after_write,
        ))
        .with_state(core.clone())
        .merge(crate::routes::reports::router(core.clone()))
        .merge(crate::routes::deals::router(core))
}

/// A rule as its owner sees it.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "01937b2e-8a1c-7cc0-9a51-4f2d5c1e0a11",
    "name": "Gaming PC under $800",
    "query": {"all_of": ["gaming"], "any_of": [["pc", "desktop"]], "none_of": ["mac"]},
    "query_text": "gaming (pc OR desktop) -mac",
    "min_price": null,
    "max_price": {"amount": "800.00", "currency": "USD"},
    "categories": ["computers"], "conditions": [], "location": {"label": "Boston, US", "lat": 42.36, "lon": -71.01},
    "radius": {"value": 50.0, "unit": "km"}, "min_score": null, "sources": [], "flight": null,
    "channels": null, "frequency": null, "enabled": true, "cooldown_minutes": 60,
    "created_at": "2026-11-25T10:00:00Z", "updated_at": "2026-11-25T10:00:00Z",
    "last_triggered_at": null, "version": 1
}))]
pub struct RuleView {
    #[schema(value_type = String)]
    pub id: RuleId,
    pub name: String,
    #[schema(value_type = Object)]
    pub query: QueryParts,
    /// The query in its canonical text form.
    pub query_text: String,
    #[schema(value_type = Option<Object>)]
    pub min_price: Option<Money>,
    #[schema(value_type = Option<Object>)]
    pub max_price: Option<Money>,
    #[schema(value_type = Vec<String>)]
    pub categories: BTreeSet<Category>,
    #[schema(value_type = Vec<String>)]
    pub conditions: BTreeSet<Condition>,
    #[schema(value_type = Option<Object>)]
    pub location: Option<LocationView>,
    #[schema(value_type = Option<Object>)]
    pub radius: Option<Radius>,
    pub min_score: Option<u8>,
    #[schema(value_type = Vec<String>)]
    pub sources: BTreeSet<SourceName>,
    #[schema(value_type = Option<Object>)]
    pub flight: Option<FlightCriteria>,
    #[schema(value_type = Option<Vec<String>>)]
    pub channels: Option<BTreeSet<Channel>>,
    #[schema(value_type = Option<String>)]
    pub frequency: Option<Frequency>,
    pub enabled: bool,
    pub cooldown_minutes: u32,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_triggered_at: Option<Timestamp>,
    pub version: u64,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"label": "Boston, US", "lat": 42.36, "lon": -71.01}))]
pub struct LocationView {
    pub label: String,
    pub lat: f64,
    pub lon: f64,
}

impl From<&AlertRule> for RuleView {
    fn from(rule: &AlertRule) -> Self {
        Self {
            id: rule.id,
            name: rule.name.as_str().to_string(),
            query: rule.query.clone().into(),
            query_text: rule.query.to_string(),
            min_price: rule.min_price,
            max_price: rule.max_price,
            categories: rule.categories.clone(),
            conditions: rule.conditions.clone(),
            location: rule.location.as_ref().map(|l| LocationView {
                label: l.label.clone(),
                lat: l.point.lat(),
                lon: l.point.lon(),
            }),
            radius: rule.radius,
            min_score: rule.min_score,
            sources: rule.sources.clone(),
            flight: rule.flight.clone(),
            channels: rule.channels.clone(),
            frequency: rule.frequency,
            enabled: rule.enabled,
            cooldown_minutes: rule.cooldown_minutes,
            created_at: rule.created_at,
            updated_at: rule.updated_at,
            last_triggered_at: rule.last_triggered_at,
            version: rule.version,
        }
    }
}

/// The fields of a rule as a client sends them. On create, `name` is required and everything
/// else optional; on PATCH every field is optional and `null` clears an optional criterion.
/// Complex values arrive as JSON and are parsed field by field, so every problem is reported
/// with its field name.
#[derive(Debug, Default, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "name": "Gaming PC under $800",
    "query": "gaming (pc OR desktop) -mac",
    "max_price": {"amount": "800", "currency": "USD"},
    "categories": ["computers", "gaming"],
    "location": {"city": "Boston", "country": "US"},
    "radius": {"value": 50, "unit": "km"},
    "frequency": "immediate",
    "cooldown_minutes": 120
}))]
pub struct RuleRequest {
    pub name: Option<String>,
    /// Text (`gaming (pc OR desktop) -mac`) or `{"all_of": [], "any_of": [[]], "none_of": []}`.
    #[schema(value_type = Object)]
    #[serde(default, deserialize_with = "crate::json::present")]
    pub query: Option<Value>,
    /// `{"amount": "100", "currency": "USD"}`.
    #[schema(value_type = Object)]
    #[serde(default, deserialize_with = "crate::json::present")]
    pub min_price: Option<Value>,
    #[schema(value_type = Object)]
    #[serde(default, deserialize_with = "crate::json::present")]
    pub max_price: Option<Value>,
    #[schema(value_type = Vec<String>)]
    #[serde(default, deserialize_with = "crate::json::present")]
    pub categories: Option<Value>,
    #[schema(value_type = Vec<String>)]
    #[serde(default, deserialize_with = "crate::json::present")]
    pub conditions: Option<Value>,
    /// `{"lat": 42.36, "lon": -71.06}`, `{"city": "Boston", "country": "US"}` or `{"airport": "BOS"}`.
    #[schema(value_type = Object)]
    #[serde(default, deserialize_with = "crate::json::present")]
    pub location: Option<Value>,
    /// `{"value": 50, "unit": "km"}` (or `mi`).
    #[schema(value_type = Object)]
    #[serde(default, deserialize_with = "crate::json::present")]
    pub radius: Option<Value>,
    #[schema(value_type = u8)]
    #[serde(default, deserialize_with = "crate::json::present")]
    pub min_score: Option<Value>,
    #[schema(value_type = Vec<String>)]
    #[serde(default, deserialize_with = "crate::json::present")]
    pub sources: Option<Value>,
    /// `{"origins": ["BOS"], "destinations": ["Europe"], "depart": {"from": "2027-03-01", "to": "2027-03-31"}, "trip_type": "round_trip", "max_stops": 1, "cabins": ["economy"]}`.
    #[schema(value_type = Object)]
    #[serde(default, deserialize_with = "crate::json::present")]
    pub flight: Option<Value>,
    /// Channels for this rule instead of the defaults; `null` returns to the defaults.
    #[schema(value_type = Vec<String>)]
    #[serde(default, deserialize_with = "crate::json::present")]
    pub channels: Option<Value>,
    #[schema(value_type = String)]
    #[serde(default, deserialize_with = "crate::json::present")]
    pub frequency: Option<Value>,
    pub enabled: Option<bool>,
    pub cooldown_minutes: Option<u32>,
}

/// A field given as `null` in a PATCH: clear it.
fn is_null(value: &Option<Value>) -> bool {
    matches!(value, Some(Value::Null))
}

fn parse_value<T: serde::de::DeserializeOwned>(value: &Value) -> Result<T, String> {
    serde_json::from_value(value.clone()).map_err(|e| {
        let text = e.to_string();
        text.split(" at line ").next().unwrap_or(&text).to_string()
    })
}

fn parse_vocabulary<T: Ord>(
    value: &Value,
    parse: fn(&str) -> Option<T>,
    all: &[&str],
    max: usize,
) -> Result<BTreeSet<T>, String> {
    let items: Vec<String> = parse_value(value)?;
    if items.len() > max {
        return Err(format!("at most {max} values"));
    }
    items
        .iter()
        .map(|item| {
            parse(item).ok_or_else(|| format!("unknown value {item:?}; one of {}", all.join(", ")))
        })
        .collect()
}

fn names<T: Copy>(all: &[T], name: fn(&T) -> &'static str) -> Vec<&'static str> {
    all.iter().map(name).collect()
}

fn parse_query(value: &Value) -> Result<Query, String> {
    match value {
        Value::String(text) => Query::parse(text).map_err(|e| e.message),
        Value::Object(_) => {
            let parts: QueryParts = parse_value(value)?;
            Query::try_from(parts).map_err(|e| e.message)
        }
        _ => Err("a query is a string or an object with all_of, any_of and none_of".into()),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FlightInput {
    origins: Vec<FlightPlaceInput>,
    #[serde(default)]
    destinations: Vec<FlightPlaceInput>,
    depart: Option<DateWindowJson>,
    return_window: Option<DateWindowJson>,
    trip_type: Option<String>,
    max_stops: Option<u8>,
    #[serde(default)]
    cabins: Vec<String>,
}

fn parse_flight(value: &Value, fields: &mut Fields) -> Option<FlightCriteria> {
    let input: FlightInput = fields.take("flight", parse_value(value))?;
    let mut places = |list: &[FlightPlaceInput], field: &str| -> Vec<FlightPlace> {
        list.iter()
            .enumerate()
            .filter_map(|(i, place)| {
                fields.take(&format!("flight.{field}[{i}]"), FlightPlace::resolve(place))
            })
            .collect()
    };
    let origins = places(&input.origins, "origins");
    let destinations = places(&input.destinations, "destinations");
    let depart = input
        .depart
        .and_then(|w| fields.take("flight.depart", DateWindow::try_from(w)));
    let return_window = input
        .return_window
        .and_then(|w| fields.take("flight.return_window", DateWindow::try_from(w)));
    let trip_type = match input.trip_type.as_deref() {
        None => None,
        Some(text) => fields.take(
            "flight.trip_type",
            TripType::parse(text).ok_or("trip_type is one_way or round_trip"),
        ),
    };
    let cabins = fields.take(
        "flight.cabins",
        parse_vocabulary(
            &Value::from(input.cabins),
            Cabin::parse,
            &names(Cabin::ALL, Cabin::as_str),
            4,
        ),
    );
    Some(FlightCriteria {
        origins,
        destinations,
        depart,
        return_window,
        trip_type,
        max_stops: input.max_stops,
        cabins: cabins.unwrap_or_default(),
    })
}

/// Applies the request's fields to `rule` (a new rule or a stored one), collecting every field
/// problem, then checks the criteria together.
pub(crate) fn apply(
    request: RuleRequest,
    rule: &mut AlertRule,
    creating: bool,
    plan_channels: &[Channel],
) -> Result<Option<Channel>, ApiError> {
    let mut fields = Fields::default();
    match (&request.name, creating) {
        (Some(name), _) => {
            if let Some(name) = fields.take("name", RuleName::parse(name)) {
                rule.name = name;
            }
        }
        (None, true) => {
            fields.take::<(), _>("name", Err("a rule needs a name"));
        }
        (None, false) => {}
    }
    match &request.query {
        None => {}
        Some(Value::Null) => rule.query = Query::default(),
        Some(value) => {
            if let Some(query) = fields.take("query", parse_query(value)) {
                rule.query = query;
            }
        }
    }
    for (field, value, target) in [
        ("min_price", &request.min_price, &mut rule.min_price),
        ("max_price", &request.max_price, &mut rule.max_price),
    ] {
        match value {
            None => {}
            Some(Value::Null) => *target = None,
            Some(value) => {
                if let Some(money) = fields.take(field, parse_value::<Money>(value)) {
                    *target = Some(money);
                }
            }
        }
    }
    if let Some(value) = request.categories.as_ref().filter(|v| !v.is_null()) {
        let all = names(Category::ALL, Category::as_str);
        if let Some(set) = fields.take(
            "categories",
            parse_vocabulary(value, Category::parse, &all, 20),
        ) {
            rule.categories = set;
        }
    } else if is_null(&request.categories) {
        rule.categories.clear();
    }
    if let Some(value) = request.conditions.as_ref().filter(|v| !v.is_null()) {
        let all = names(Condition::ALL, Condition::as_str);
        if let Some(set) = fields.take(
            "conditions",
            parse_vocabulary(value, Condition::parse, &all, 6),
        ) {
            rule.conditions = set;
        }
    } else if is_null(&request.conditions) {
        rule.conditions.clear();
    }
    match &request.location {
        None => {}
        Some(Value::Null) => rule.location = None,
        Some(value) => {
            let location =
                parse_value::<LocationInput>(value).and_then(|input| Location::resolve(&input));
            if let Some(location) = fields.take("location", location) {
                rule.location = Some(location);
            }
        }
    }
    match &request.radius {
        None => {}
        Some(Value::Null) => rule.radius = None,
        Some(value) => {
            let radius = parse_value::<RadiusJson>(value)
                .and_then(|json| Radius::try_from(json).map_err(|e| e.0.to_string()));
            if let Some(radius) = fields.take("radius", radius) {
                rule.radius = Some(radius);
            }
        }
    }
    match &request.min_score {
        None => {}
        Some(Value::Null) => rule.min_score = None,
        Some(value) => {
            let score = value
                .as_u64()
                .filter(|score| *score <= 100)
                .map(|score| score as u8)
                .ok_or("min_score must be a whole number from 0 to 100");
            if let Some(score) = fields.take("min_score", score) {
                rule.min_score = Some(score);
            }
        }
    }
    match &request.sources {
        None => {}
        Some(Value::Null) => rule.sources.clear(),
        Some(value) => {
            let sources = parse_value::<Vec<String>>(value).and_then(|list| {
                if list.len() > 50 {
                    return Err("at most 50 sources".to_string());
                }
                list.iter()
                    .map(|s| SourceName::parse(s).map_err(|e| format!("{s:?}: {e}")))
                    .collect::<Result<BTreeSet<_>, _>>()
            });
            if let Some(sources) = fields.take("sources", sources) {
                rule.sources = sources;
            }
        }
    }
    match &request.flight {
        None => {}
        Some(Value::Null) => rule.flight = None,
        Some(value) => {
            if let Some(flight) = parse_flight(value, &mut fields) {
                rule.flight = Some(flight);
            }
        }
    }
    match &request.channels {
        None => {}
        Some(Value::Null) => rule.channels = None,
        Some(value) => {
            let all = names(Channel::ALL, Channel::as_str);
            if let Some(set) =
                fields.take("channels", parse_vocabulary(value, Channel::parse, &all, 6))
            {
                if set.is_empty() {
                    fields.take::<(), _>(
                        "channels",
                        Err("give at least one channel, or null for the defaults"),
                    );
                }
                rule.channels = Some(set);
            }
        }
    }
    match &request.frequency {
        None => {}
        Some(Value::Null) => rule.frequency = None,
        Some(value) => {
            let frequency = value
                .as_str()
                .and_then(Frequency::parse)
                .ok_or("frequency is immediate, daily or weekly");
            if let Some(frequency) = fields.take("frequency", frequency) {
                rule.frequency = Some(frequency);
            }
        }
    }
    if let Some(enabled) = request.enabled {
        rule.enabled = enabled;
    }
    if let Some(cooldown) = request.cooldown_minutes {
        rule.cooldown_minutes = cooldown;
    }
    let problems = RuleCriteria {
        min_price: rule.min_price.as_ref(),
        max_price: rule.max_price.as_ref(),
        location: rule.location.as_ref(),
        radius: rule.radius.as_ref(),
        min_score: rule.min_score,
        flight: rule.flight.as_ref(),
        cooldown_minutes: rule.cooldown_minutes,
    }
    .check();
    let mut errors = match fields.finish() {
        Ok(()) => Vec::new(),
        Err(ApiError::Validation(errors)) => errors,
        Err(other) => return Err(other),
    };
    // Criteria problems about a field that already failed to parse would only repeat it.
    for problem in problems {
        if !errors.iter().any(|e| e.field.starts_with(problem.field)) {
            errors.push(FieldError {
                field: problem.field.to_string(),
                message: problem.message,
            });
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    // A channel the plan does not include is a plan limit, not bad input.
    Ok(rule
        .channels
        .iter()
        .flatten()
        .find(|channel| !plan_channels.contains(channel))
        .copied())
}

pub(crate) fn blank_rule(owner: UserId, now: Timestamp) -> Result<AlertRule, ApiError> {
    Ok(AlertRule::new(
        owner,
        RuleName::parse("rule").map_err(ApiError::internal)?,
        Query::default(),
        now,
    ))
}

fn parse_id(raw: &str) -> Result<RuleId, ApiError> {
    // A malformed id cannot name anything the caller owns.
    raw.parse().map_err(|_| ApiError::NotFound)
}

async fn owned_rule(core: &Core, owner: UserId, id: &str) -> Result<AlertRule, ApiError> {
    owned_record::<AlertRule, RuleId>(core.store.as_ref(), owner, id).await
}

/// Creates a rule. The plan's `max_rules` and channels apply (403 `plan-limit`).
#[utoipa::path(post, path = "/api/v1/deal-alert-rules", tag = "rules",
    security(("bearer" = [])),
    request_body = RuleRequest,
    responses(
        (status = 201, body = RuleView, headers(("ETag" = String), ("Location" = String))),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_rule(
    State(core): State<Core>,
    caller: Authenticated,
    headers: HeaderMap,
    JsonBody(request): JsonBody<RuleRequest>,
) -> Result<Response, ApiError> {
    let plan = caller.user.plan;
    let limits = core.plans.limits(plan);
    let mut rule = blank_rule(caller.user.id, core.clock.now())?;
    if let Some(channel) = apply(request, &mut rule, true, &limits.channels)? {
        return Err(plan_limit(plan, limits, Limit::Channel(channel)));
    }
    let stored = records::<AlertRule>(core.store.as_ref())
        .insert(&rule, Some(limits.max_rules))
        .await
        .map_err(|e| quota_error(e, plan, limits, Limit::Rules))?;
    crate::routes::note_activation(&core, &caller.user).await;
    let mut response = record_response(
        &headers,
        &stored,
        StatusCode::CREATED,
        RuleView::from(&stored),
    );
    if let Ok(location) = format!("/api/v1/deal-alert-rules/{}", stored.id).parse() {
        response
            .headers_mut()
            .insert(axum::http::header::LOCATION, location);
    }
    Ok(response)
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"items": [], "next_cursor": "eyJzb3J0IjoiLWNyZWF0ZWRfYXQiLCJ2YWx1ZSI6IjIwMjYtMTEtMjVUMTA6MDA6MDBaIiwiaWQiOiIwMTkzIn0", "total": 42}))]
pub struct RuleList {
    pub items: Vec<RuleView>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
    /// Rules matching the filters, over all pages.
    pub total: usize,
}

/// Lists the caller's rules: `limit` (1–100, default 20), `cursor`, `q` (name contains,
/// case- and accent-insensitive), `enabled`, `category`, `sort` (`created_at`, `updated_at`,
/// `name`, `last_triggered_at`; prefix `-` for descending; default `-created_at`).
#[utoipa::path(get, path = "/api/v1/deal-alert-rules", tag = "rules",
    security(("bearer" = [])),
    params(
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 100), ("cursor" = Option<String>, Query),
        ("q" = Option<String>, Query), ("enabled" = Option<bool>, Query),
        ("category" = Option<String>, Query), ("sort" = Option<String>, Query),
    ),
    responses(
        (status = 200, body = RuleList),
        (status = 400, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_rules(
    State(core): State<Core>,
    caller: Authenticated,
    RawQuery(query): RawQuery,
) -> Result<Json<RuleList>, ApiError> {
    let params = QueryParams::parse(
        query.as_deref(),
        &["limit", "cursor", "q", "enabled", "category", "sort"],
    )?;
    let limit = params.number("limit", 1, 100, 20)? as usize;
    let enabled = params.boolean("enabled")?;
    let category = match params.text("category") {
        None => None,
        Some(text) => Some(
            Category::parse(text)
                .ok_or_else(|| ApiError::invalid("category", "unknown category"))?,
        ),
    };
    let search = params.text("q").map(fold);
    let sort = params.text("sort").unwrap_or("-created_at");
    let (descending, field) = match sort.strip_prefix('-') {
        Some(field) => (true, field),
        None => (false, sort),
    };
    let sort_key: fn(&AlertRule) -> String = match field {
        "created_at" => |r| r.created_at.to_string(),
        "updated_at" => |r| r.updated_at.to_string(),
        "name" => |r| fold(r.name.as_str()),
        "last_triggered_at" => |r| {
            r.last_triggered_at
                .map(|t| t.to_string())
                .unwrap_or_default()
        },
        _ => return Err(ApiError::invalid(
            "sort",
            "sort by created_at, updated_at, name or last_triggered_at (prefix - for descending)",
        )),
    };
    let rules: Vec<AlertRule> = records::<AlertRule>(core.store.as_ref())
        .list(caller.user.id)
        .await?
        .into_iter()
        .filter(|r| enabled.is_none_or(|e| r.enabled == e))
        .filter(|r| category.is_none_or(|c| r.categories.contains(&c)))
        .filter(|r| {
            search
                .as_ref()
                .is_none_or(|q| fold(r.name.as_str()).contains(q.as_str()))
        })
        .collect();
    let total = rules.len();
    let page = paginate(
        rules,
        |r| (sort_key(r), r.id.to_string()),
        sort,
        descending,
        params.text("cursor"),
        limit,
    )?;
    Ok(Json(RuleList {
        items: page.items.iter().map(RuleView::from).collect(),
        next_cursor: page.next_cursor,
        total,
    }))
}

/// One rule. Supports `If-None-Match` (304).
#[utoipa::path(get, path = "/api/v1/deal-alert-rules/{id}", tag = "rules",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, body = RuleView, headers(("ETag" = String))),
        (status = 304, description = "Not modified"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_rule(
    State(core): State<Core>,
    caller: Authenticated,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let rule = owned_rule(&core, caller.user.id, &id).await?;
    Ok(record_response(
        &headers,
        &rule,
        StatusCode::OK,
        RuleView::from(&rule),
    ))
}

/// Changes a rule. `null` clears an optional criterion. `If-Match` → 412 when stale; without
/// it, a change that lands between this read and write is kept: the request is applied again
/// on top of it (a 409 only past `CONCURRENT_WRITE_TRIES` simultaneous edits).
#[utoipa::path(patch, path = "/api/v1/deal-alert-rules/{id}", tag = "rules",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    request_body = RuleRequest,
    responses(
        (status = 200, body = RuleView, headers(("ETag" = String))),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 412, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update_rule(
    State(core): State<Core>,
    caller: Authenticated,
    headers: HeaderMap,
    Path(id): Path<String>,
    JsonBody(request): JsonBody<RuleRequest>,
) -> Result<Response, ApiError> {
    let plan = caller.user.plan;
    let limits = core.plans.limits(plan);
    let stored = edit_until_saved(&headers, || async {
        let mut rule = owned_rule(&core, caller.user.id, &id).await?;
        require_if_match(&headers, &etag_of(&rule))?;
        if let Some(channel) = apply(request.clone(), &mut rule, false, &limits.channels)? {
            return Err(plan_limit(plan, limits, Limit::Channel(channel)));
        }
        rule.updated_at = core.clock.now();
        match records::<AlertRule>(core.store.as_ref())
            .update(&rule)
            .await
        {
            Ok(stored) => Ok(Some(stored)),
            Err(dealpulse_domain::ports::StoreError::Stale) => Ok(None),
            Err(other) => Err(other.into()),
        }
    })
    .await?;
    Ok(record_response(
        &HeaderMap::new(),
        &stored,
        StatusCode::OK,
        RuleView::from(&stored),
    ))
}

/// Deletes a rule; `If-Match` → 412 when stale.
#[utoipa::path(delete, path = "/api/v1/deal-alert-rules/{id}", tag = "rules",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 412, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete_rule(
    State(core): State<Core>,
    caller: Authenticated,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let rule = owned_rule(&core, caller.user.id, &id).await?;
    delete_record(core.store.as_ref(), &rule, &headers).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn set_enabled(
    core: &Core,
    owner: UserId,
    id: &str,
    enabled: bool,
) -> Result<AlertRule, ApiError> {
    // Retried once against a concurrent edit: pausing is idempotent and never loses that edit.
    for _ in 0..3 {
        let mut rule = owned_rule(core, owner, id).await?;
        if rule.enabled == enabled {
            return Ok(rule);
        }
        rule.enabled = enabled;
        rule.updated_at = core.clock.now();
        match records::<AlertRule>(core.store.as_ref())
            .update(&rule)
            .await
        {
            Ok(stored) => return Ok(stored),
            Err(dealpulse_domain::ports::StoreError::Stale) => continue,
            Err(other) => return Err(other.into()),
        }
    }
    Err(ApiError::Conflict(
        "the rule keeps changing concurrently; try again",
    ))
}

/// Pauses a rule (idempotent).
#[utoipa::path(post, path = "/api/v1/deal-alert-rules/{id}/pause", tag = "rules",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, body = RuleView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn pause_rule(
    State(core): State<Core>,
    caller: Authenticated,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let rule = set_enabled(&core, caller.user.id, &id, false).await?;
    Ok(record_response(
        &HeaderMap::new(),
        &rule,
        StatusCode::OK,
        RuleView::from(&rule),
    ))
}

/// Resumes a paused rule (idempotent).
#[utoipa::path(post, path = "/api/v1/deal-alert-rules/{id}/resume", tag = "rules",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, body = RuleView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn resume_rule(
    State(core): State<Core>,
    caller: Authenticated,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let rule = set_enabled(&core, caller.user.id, &id, true).await?;
    Ok(record_response(
        &HeaderMap::new(),
        &rule,
        StatusCode::OK,
        RuleView::from(&rule),
    ))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"days": 7}))]
pub struct TestRuleRequest {
    /// How far back to look, 1–90 days (default 7).
    pub days: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"id": "01937b2f-1111-7cc0-9a51-4f2d5c1e0a11", "source": "slickdeals", "title": "Gaming PC RTX 4070", "url": "https://deals.example.com/1", "price": {"amount": "749.99", "currency": "USD"}, "category": "computers", "score": 82, "seen_at": "2026-11-24T18:00:00Z"}))]
pub struct ListingSummary {
    pub id: String,
    pub source: String,
    pub title: String,
    pub url: String,
    #[schema(value_type = Object)]
    pub price: Money,
    pub category: Option<String>,
    pub score: Option<u8>,
    #[schema(value_type = String, format = DateTime)]
    pub seen_at: Timestamp,
}

impl From<&Listing> for ListingSummary {
    fn from(listing: &Listing) -> Self {
        Self {
            id: listing.id.to_string(),
            source: listing.source.to_string(),
            title: listing.title.clone(),
            url: listing.url.clone(),
            price: listing.price,
            category: listing.category.map(|c| c.to_string()),
            score: listing.score,
            seen_at: listing.seen_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"listing": {"id": "01937b2f-2222-7cc0-9a51-4f2d5c1e0a11", "source": "slickdeals", "title": "Gaming Mac desktop", "url": "https://deals.example.com/2", "price": {"amount": "699.00", "currency": "USD"}, "category": "computers", "score": 60, "seen_at": "2026-11-23T09:00:00Z"}, "failed": [{"criterion": "keywords", "reason": "contains excluded mac"}]}))]
pub struct NearMiss {
    pub listing: ListingSummary,
    /// Each criterion the listing failed, and why.
    #[schema(value_type = Vec<Object>)]
    pub failed: Vec<CriterionMiss>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "examined": 120, "days": 7,
    "matches": [{"id": "…", "source": "slickdeals", "title": "Gaming PC RTX 4070", "url": "https://…", "price": {"amount": "749.99", "currency": "USD"}, "category": "computers", "score": 82, "seen_at": "2026-11-24T18:00:00Z"}],
    "near_misses": [{"listing": {"id": "…", "source": "slickdeals", "title": "Gaming Mac desktop", "url": "https://…", "price": {"amount": "699.00", "currency": "USD"}, "category": "computers", "score": 60, "seen_at": "2026-11-23T09:00:00Z"},
                     "failed": [{"criterion": "keywords", "reason": "contains excluded mac"}]}]
}))]
pub struct TestRuleResult {
    /// Listings looked at.
    pub examined: usize,
    pub days: u32,
    /// Listings the rule matches (newest first, at most 50).
    pub matches: Vec<ListingSummary>,
    /// Listings that failed one or two criteria, fewest failures first (at most 50).
    pub near_misses: Vec<NearMiss>,
}

/// Most listings a dry run examines.
const TEST_SCAN_LIMIT: u32 = 5000;

/// Dry run: evaluates the rule against the listings seen in the last `days` days and explains
/// near misses ("why didn't it match"). Nothing is sent and the rule is not changed.
#[utoipa::path(post, path = "/api/v1/deal-alert-rules/{id}/test", tag = "rules",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    request_body = TestRuleRequest,
    responses(
        (status = 200, body = TestRuleResult),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn test_rule(
    State(core): State<Core>,
    caller: Authenticated,
    Path(id): Path<String>,
    JsonBody(request): JsonBody<TestRuleRequest>,
) -> Result<Json<TestRuleResult>, ApiError> {
    let days = request.days.unwrap_or(7);
    if !(1..=90).contains(&days) {
        return Err(ApiError::invalid("days", "days must be from 1 to 90"));
    }
    let rule = owned_rule(&core, caller.user.id, &id).await?;
    let since = core
        .clock
        .now()
        .checked_sub(SignedDuration::from_hours(i64::from(days) * 24))
        .map_err(ApiError::internal)?;
    let listings = core
        .store
        .listings_seen_since(since, TEST_SCAN_LIMIT)
        .await?;
    let mut matches = Vec::new();
    let mut near = Vec::new();
    for listing in &listings {
        let failed = dealpulse_matching::explain(&rule, listing);
        match failed.len() {
            0 => matches.push(ListingSummary::from(listing)),
            1 | 2 => near.push(NearMiss {
                listing: ListingSummary::from(listing),
                failed,
            }),
            _ => {}
        }
    }
    near.sort_by_key(|miss| miss.failed.len());
    matches.truncate(50);
    near.truncate(50);
    Ok(Json(TestRuleResult {
        examined: listings.len(),
        days,
        matches,
        near_misses: near,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"action": "pause", "ids": ["01937b2e-8a1c-7cc0-9a51-4f2d5c1e0a11"]}))]
pub struct BulkRequest {
    /// `pause`, `resume` or `delete`.
    pub action: String,
    /// 1 to 100 rule ids.
    pub ids: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"id": "01937b2e-8a1c-7cc0-9a51-4f2d5c1e0a11", "status": "deleted"}))]
pub struct BulkOutcome {
    pub id: String,
    /// `paused`, `resumed`, `deleted` or `not_found`.
    pub status: &'static str,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"results": [{"id": "01937b2e-8a1c-7cc0-9a51-4f2d5c1e0a11", "status": "paused"}, {"id": "01937b2e-0000-7000-8000-000000000000", "status": "not_found"}]}))]
pub struct BulkResult {
    pub results: Vec<BulkOutcome>,
}

/// The bulk action (`pause`, `resume` or `delete`) for 1 to 100 distinct ids, with every
/// field's problem collected.
pub(crate) fn bulk_action_of(request: &BulkRequest) -> Result<&str, ApiError> {
    let mut fields = Fields::default();
    let action = fields.take(
        "action",
        match request.action.as_str() {
            "pause" | "resume" | "delete" => Ok(request.action.as_str()),
            _ => Err("action is pause, resume or delete"),
        },
    );
    if request.ids.is_empty() || request.ids.len() > 100 {
        fields.take::<(), _>("ids", Err("give 1 to 100 rule ids"));
    }
    let unique: BTreeSet<&String> = request.ids.iter().collect();
    if unique.len() != request.ids.len() {
        fields.take::<(), _>("ids", Err("ids must not repeat"));
    }
    fields.finish()?;
    let Some(action) = action else {
        return Err(ApiError::invalid(
            "action",
            "action is pause, resume or delete",
        ));
    };
    Ok(action)
}

/// Pauses, resumes or deletes several rules; each id gets its own outcome (ids the caller does
/// not own are `not_found`).
#[utoipa::path(post, path = "/api/v1/deal-alert-rules/bulk", tag = "rules",
    security(("bearer" = [])),
    request_body = BulkRequest,
    responses(
        (status = 200, body = BulkResult),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn bulk_action(
    State(core): State<Core>,
    caller: Authenticated,
    JsonBody(request): JsonBody<BulkRequest>,
) -> Result<Json<BulkResult>, ApiError> {
    let action = bulk_action_of(&request)?;
    let mut results = Vec::with_capacity(request.ids.len());
    for id in &request.ids {
        let outcome = match action {
            "pause" => set_enabled(&core, caller.user.id, id, false)
                .await
                .map(|_| "paused"),
            "resume" => set_enabled(&core, caller.user.id, id, true)
                .await
                .map(|_| "resumed"),
            _ => match parse_id(id) {
                Ok(rule_id) => records::<AlertRule>(core.store.as_ref())
                    .delete(caller.user.id, &rule_id.to_string(), None)
                    .await
                    .map(|_| "deleted")
                    .map_err(ApiError::from),
                Err(error) => Err(error),
            },
        };
        let status = match outcome {
            Ok(status) => status,
            Err(ApiError::NotFound) => "not_found",
            Err(other) => return Err(other),
        };
        results.push(BulkOutcome {
            id: id.clone(),
            status,
        });
    }
    Ok(Json(BulkResult { results }))
}

/// A query as the rule form holds it while the user types.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"query": "gaming (pc OR desktop) -mac"}))]
pub struct ParseQueryRequest {
    pub query: String,
}

/// What is wrong with a query, and where: character offsets `[start, end)` into the text
/// (`start == end` at the end means something is missing there); null when the problem is the
/// query as a whole.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"message": "a ( is missing its closing )", "start": 7, "end": 21}))]
pub struct QueryProblem {
    pub message: String,
    pub start: Option<usize>,
    pub end: Option<usize>,
}

/// A parsed query in words and parts, or why it does not parse.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "valid": true,
    "description": "mentions gaming and mentions either pc or desktop, but mentions none of mac",
    "query_text": "gaming (pc OR desktop) -mac",
    "keywords": ["gaming"], "any_of": [["pc", "desktop"]], "excluded": ["mac"], "keyword_count": 4
}))]
pub struct ParsedQuery {
    pub valid: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The canonical text the rule would store.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query_text: Option<String>,
    /// Required terms (phrases quoted).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keywords: Option<Vec<String>>,
    /// OR groups: at least one term of each.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub any_of: Option<Vec<Vec<String>>>,
    /// Excluded terms.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub excluded: Option<Vec<String>>,
    /// Words counted against the limit of 50.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keyword_count: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<QueryProblem>,
}

impl From<Result<Query, dealpulse_domain::query::QueryError>> for ParsedQuery {
    fn from(parsed: Result<Query, dealpulse_domain::query::QueryError>) -> Self {
        let texts = |terms: &[dealpulse_domain::query::Term]| {
            terms.iter().map(ToString::to_string).collect::<Vec<_>>()
        };
        match parsed {
            Ok(query) => ParsedQuery {
                valid: true,
                description: Some(query.describe()),
                query_text: Some(query.to_string()),
                keywords: Some(texts(query.all_of())),
                any_of: Some(query.any_of().iter().map(|g| texts(g)).collect()),
                excluded: Some(texts(query.none_of())),
                keyword_count: Some(query.keyword_count()),
                error: None,
            },
            Err(error) => ParsedQuery {
                valid: false,
                description: None,
                query_text: None,
                keywords: None,
                any_of: None,
                excluded: None,
                keyword_count: None,
                error: Some(QueryProblem {
                    start: error.span.map(|(start, _)| start),
                    end: error.span.map(|(_, end)| end),
                    message: error.message,
                }),
            },
        }
    }
}

/// Parses a keyword query as the rule form is typed: 200 with the query in words and parts, or
/// 200 with `valid: false` and where the problem is. Stores nothing. Over 1000 characters: 422.
#[utoipa::path(post, path = "/api/v1/deal-alert-rules/parse-query", tag = "rules",
    security(("bearer" = [])),
    request_body = ParseQueryRequest,
    responses(
        (status = 200, body = ParsedQuery),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn parse_query_text(
    _caller: Authenticated,
    JsonBody(request): JsonBody<ParseQueryRequest>,
) -> Result<Json<ParsedQuery>, ApiError> {
    parse_query_request(&request).map(Json)
}

/// The query in words and parts, or where it goes wrong; too long a query is a 422.
pub(crate) fn parse_query_request(request: &ParseQueryRequest) -> Result<ParsedQuery, ApiError> {
    if request.query.chars().count() > dealpulse_domain::query::MAX_QUERY_CHARS {
        return Err(ApiError::invalid(
            "query",
            format!(
                "a query may be at most {} characters",
                dealpulse_domain::query::MAX_QUERY_CHARS
            ),
        ));
    }
    Ok(ParsedQuery::from(Query::parse(&request.query)))
}
