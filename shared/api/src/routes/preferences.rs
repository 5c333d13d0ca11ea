//! `/api/v1/notification-preferences` and `/api/v1/push`: how, when and where a user hears about
//! deals — channels, digest frequency, quiet hours, Discord/Slack/webhook endpoints, a verified
//! phone for SMS, and web push subscriptions. Served by the `api-preferences` function.

use crate::auth::extract::Authenticated;
use crate::json::JsonBody;
use crate::problem::{ApiError, Problem, RateLimitInfo};
use crate::resource::{
    delete_record, etag_of, owned_record, plan_limit, quota_error, record_response,
    require_if_match,
};
use crate::routes::auth::Fields;
use crate::state::Core;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use dealpulse_domain::account::{Locale, TimeZoneName, User};
use dealpulse_domain::channels::{
    parse_push_auth, parse_push_p256dh, ChannelEndpoint, EndpointKind, PendingCode, PhoneNumber,
    PhoneSetup, PushSubscription,
};
use dealpulse_domain::ids::{EndpointId, PushSubscriptionId, UserId};
use dealpulse_domain::listing::Category;
use dealpulse_domain::money::{Currency, Money};
use dealpulse_domain::net::{PublicUrl, Schemes};
use dealpulse_domain::notify::{DealLine, EndpointNotifier, Notice, NoticeKind};
use dealpulse_domain::plans::Limit;
use dealpulse_domain::ports::StoreError;
use dealpulse_domain::preferences::{
    Channel, DigestWeekday, Frequency, LocalTime, NotificationPreferences, QuietHours,
};
use dealpulse_domain::records::{records, Record};
use dealpulse_domain::secret::{random_bytes, random_token, TokenHash};
use dealpulse_domain::sms::{SmsError, SmsSender};
use dealpulse_domain::vapid::{is_p256_public_key, VapidKeys};
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use utoipa::ToSchema;

/// State of the preference routes: they also send SMS codes, publish the VAPID key and post
/// test alerts to the user's endpoints (through the transport deliveries use).
#[derive(Clone)]
pub struct PreferencesState {
    pub core: Core,
    pub sms: Arc<dyn SmsSender>,
    pub vapid: Arc<VapidKeys>,
    pub endpoints: Arc<dyn EndpointNotifier>,
}

impl axum::extract::FromRef<PreferencesState> for Core {
    fn from_ref(state: &PreferencesState) -> Self {
        state.core.clone()
    }
}

pub fn router(state: PreferencesState) -> Router {
    const BASE: &str = "/api/v1/notification-preferences";
    Router::new()
        .route(&format!("{BASE}/summary"), get(summary))
        .route(
            &format!("{BASE}/channels"),
            axum::routing::patch(set_channels),
        )
        .route(
            &format!("{BASE}/frequency"),
            axum::routing::patch(set_frequency),
        )
        .route(
            &format!("{BASE}/quiet-hours"),
            axum::routing::patch(set_quiet_hours),
        )
        .route(
            &format!("{BASE}/endpoints"),
            get(list_endpoints).post(create_endpoint),
        )
        .route(
            &format!("{BASE}/endpoints/{{id}}"),
            get(get_endpoint)
                .patch(update_endpoint)
                .delete(delete_endpoint),
        )
        .route(
            &format!("{BASE}/endpoints/{{id}}/rotate-secret"),
            post(rotate_secret),
        )
        .route(
            &format!("{BASE}/endpoints/{{id}}/test"),
            post(test_endpoint),
        )
        .route(
            &format!("{BASE}/phone"),
            get(get_phone).post(start_phone).delete(delete_phone),
        )
        .route(&format!("{BASE}/phone/verify"), post(verify_phone))
        .route("/api/v1/push/vapid-public-key", get(vapid_public_key))
        .route(
            "/api/v1/push/subscriptions",
            get(list_push).post(subscribe_push).delete(unsubscribe_push),
        )
        .with_state(state)
}

// ---------------------------------------------------------------------------------------------
// Preferences record

async fn load_preferences(core: &Core, owner: UserId) -> Result<NotificationPreferences, ApiError> {
    Ok(records::<NotificationPreferences>(core.store.as_ref())
        .get(owner, "current")
        .await?
        .unwrap_or_else(|| NotificationPreferences::defaults(owner, core.clock.now())))
}

/// Stores preferences read at `prefs.version` (0: never stored). A concurrent first write makes
/// the insert conflict, which surfaces as 409 like any lost race.
async fn save_preferences(
    core: &Core,
    mut prefs: NotificationPreferences,
) -> Result<NotificationPreferences, ApiError> {
    prefs.updated_at = core.clock.now();
    let store = records::<NotificationPreferences>(core.store.as_ref());
    if prefs.version == 0 {
        match store.insert(&prefs, None).await {
            Ok(stored) => Ok(stored),
            Err(StoreError::Conflict(_)) => Err(ApiError::Conflict(
                "the preferences were changed concurrently; read them and retry",
            )),
            Err(other) => Err(other.into()),
        }
    } else {
        Ok(store.update(&prefs).await?)
    }
}

/// A channel's state in the summary.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"enabled": true, "available": true, "configured": true}))]
pub struct ChannelState {
    pub enabled: bool,
    /// The plan includes this channel.
    pub available: bool,
    /// What the channel needs is set up (an endpoint, a verified phone, a push subscription).
    pub configured: bool,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"start": "22:00", "end": "07:00", "crosses_midnight": true}))]
pub struct QuietHoursView {
    pub start: String,
    pub end: String,
    pub crosses_midnight: bool,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"number": "+•••••••••23", "verified": true, "verified_at": "2026-11-25T10:05:00Z", "pending": false, "code_expires_at": null}))]
pub struct PhoneView {
    pub number: String,
    pub verified: bool,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub verified_at: Option<Timestamp>,
    /// A code was sent and is waiting to be confirmed.
    pub pending: bool,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub code_expires_at: Option<Timestamp>,
}

fn phone_view(phone: &PhoneSetup) -> PhoneView {
    PhoneView {
        number: phone.number.masked(),
        verified: phone.verified_at.is_some(),
        verified_at: phone.verified_at,
        pending: phone.pending.is_some(),
        code_expires_at: phone.pending.as_ref().map(|p| p.expires_at),
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "plan": "free",
    "channels": {
        "email": {"enabled": true, "available": true, "configured": true},
        "discord": {"enabled": false, "available": true, "configured": false},
        "slack": {"enabled": false, "available": true, "configured": false},
        "webhook": {"enabled": false, "available": false, "configured": false},
        "sms": {"enabled": false, "available": false, "configured": false},
        "push": {"enabled": false, "available": true, "configured": false}
    },
    "frequency": "daily", "digest_hour": 8, "digest_weekday": "monday",
    "quiet_hours": {"start": "22:00", "end": "07:00", "crosses_midnight": true},
    "max_alerts_per_day": 20, "categories": [], "click_tracking": true, "timezone": "Europe/Berlin", "language": "de-DE",
    "phone": null, "endpoints": 0, "push_subscriptions": 0, "version": 3
}))]
pub struct PreferencesSummary {
    pub plan: String,
    pub channels: BTreeMap<String, ChannelState>,
    #[schema(value_type = String)]
    pub frequency: Frequency,
    pub digest_hour: u8,
    #[schema(value_type = String)]
    pub digest_weekday: DigestWeekday,
    pub quiet_hours: Option<QuietHoursView>,
    pub max_alerts_per_day: Option<u16>,
    #[schema(value_type = Vec<String>)]
    pub categories: BTreeSet<Category>,
    /// Deal links go through the tracked redirect (the dashboard's savings need it).
    pub click_tracking: bool,
    /// The account's time zone: digest hours and quiet hours are in it.
    pub timezone: String,
    /// The account's locale: alerts are written in it.
    pub language: String,
    pub phone: Option<PhoneView>,
    /// Discord, Slack and webhook endpoints set up.
    pub endpoints: usize,
    pub push_subscriptions: usize,
    pub version: u64,
}

/// What is set up for each channel, read once per request.
struct Configured {
    endpoints: Vec<ChannelEndpoint>,
    phone: Option<PhoneSetup>,
    push: Vec<PushSubscription>,
}

impl Configured {
    async fn load(core: &Core, owner: UserId) -> Result<Self, ApiError> {
        let store = core.store.as_ref();
        Ok(Self {
            endpoints: records::<ChannelEndpoint>(store).list(owner).await?,
            phone: records::<PhoneSetup>(store).get(owner, "current").await?,
            push: records::<PushSubscription>(store).list(owner).await?,
        })
    }

    fn has(&self, channel: Channel) -> bool {
        match channel {
            Channel::Email => true,
            Channel::Sms => self.phone.as_ref().is_some_and(|p| p.verified_at.is_some()),
            Channel::Push => !self.push.is_empty(),
            Channel::Discord | Channel::Slack | Channel::Webhook => self
                .endpoints
                .iter()
                .any(|e| e.enabled && e.kind.channel() == channel),
        }
    }
}

fn summarise(
    core: &Core,
    user: &User,
    prefs: &NotificationPreferences,
    configured: &Configured,
) -> PreferencesSummary {
    let limits = core.plans.limits(user.plan);
    PreferencesSummary {
        plan: user.plan.as_str().to_string(),
        channels: Channel::ALL
            .iter()
            .map(|channel| {
                (
                    channel.as_str().to_string(),
                    ChannelState {
                        enabled: prefs.channels.contains(channel),
                        available: limits.channels.contains(channel),
                        configured: configured.has(*channel),
                    },
                )
            })
            .collect(),
        frequency: prefs.frequency,
        digest_hour: prefs.digest_hour,
        digest_weekday: prefs.digest_weekday,
        quiet_hours: prefs.quiet_hours.map(|q| QuietHoursView {
            start: q.start().to_string(),
            end: q.end().to_string(),
            crosses_midnight: q.crosses_midnight(),
        }),
        max_alerts_per_day: prefs.max_alerts_per_day,
        categories: prefs.categories.clone(),
        click_tracking: prefs.click_tracking,
        timezone: user.timezone.as_str().to_string(),
        language: user.locale.as_str().to_string(),
        phone: configured.phone.as_ref().map(phone_view),
        endpoints: configured.endpoints.len(),
        push_subscriptions: configured.push.len(),
        version: prefs.version,
    }
}

/// The summary's ETag covers everything it shows — the preferences' version, and the account
/// settings and channel set-up it reports — so a new endpoint or time zone changes it too.
fn summary_etag(summary: &PreferencesSummary) -> String {
    use sha2::Digest;
    let json = serde_json::to_vec(summary).unwrap_or_default();
    let digest = sha2::Sha256::digest(&json);
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("\"preferences-{}-{hex}\"", summary.version)
}

/// `If-Match` on a preferences change names the summary the client last read.
async fn require_summary_match(
    core: &Core,
    user: &User,
    prefs: &NotificationPreferences,
    headers: &HeaderMap,
) -> Result<(), ApiError> {
    if !headers.contains_key(axum::http::header::IF_MATCH) {
        return Ok(());
    }
    let configured = Configured::load(core, user.id).await?;
    require_if_match(
        headers,
        &summary_etag(&summarise(core, user, prefs, &configured)),
    )
}

/// Applies `edit` to the caller's preferences and stores them, re-applied to newer preferences
/// when an edit without `If-Match` races another (see [`crate::resource::edit_until_saved`]).
async fn change_preferences<T>(
    core: &Core,
    user: &User,
    headers: &HeaderMap,
    edit: impl Fn(&mut NotificationPreferences) -> Result<T, ApiError>,
) -> Result<(NotificationPreferences, T), ApiError> {
    crate::resource::edit_until_saved(headers, || async {
        let mut prefs = load_preferences(core, user.id).await?;
        require_summary_match(core, user, &prefs, headers).await?;
        let outcome = edit(&mut prefs)?;
        match save_preferences(core, prefs).await {
            Ok(stored) => Ok(Some((stored, outcome))),
            Err(ApiError::Conflict(_)) => Ok(None),
            Err(other) => Err(other),
        }
    })
    .await
}

async fn summary_response(
    core: &Core,
    user: &User,
    prefs: &NotificationPreferences,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let configured = Configured::load(core, user.id).await?;
    let summary = summarise(core, user, prefs, &configured);
    let etag = summary_etag(&summary);
    let mut response =
        if crate::resource::etag_listed(headers, axum::http::header::IF_NONE_MATCH, &etag) {
            StatusCode::NOT_MODIFIED.into_response()
        } else {
            (StatusCode::OK, Json(summary)).into_response()
        };
    if let Ok(value) = axum::http::HeaderValue::from_str(&etag) {
        response
            .headers_mut()
            .insert(axum::http::header::ETAG, value);
    }
    Ok(response)
}

/// Everything about the caller's notifications in one document. Supports `If-None-Match`.
#[utoipa::path(get, path = "/api/v1/notification-preferences/summary", tag = "preferences",
    security(("bearer" = [])),
    responses(
        (status = 200, body = PreferencesSummary, headers(("ETag" = String))),
        (status = 304, description = "Not modified"),
    ))]
pub async fn summary(
    State(state): State<PreferencesState>,
    caller: Authenticated,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let prefs = load_preferences(&state.core, caller.user.id).await?;
    summary_response(&state.core, &caller.user, &prefs, &headers).await
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"email": true, "discord": true, "sms": false}))]
pub struct ChannelsRequest {
    pub email: Option<bool>,
    pub discord: Option<bool>,
    pub slack: Option<bool>,
    pub webhook: Option<bool>,
    pub sms: Option<bool>,
    pub push: Option<bool>,
}

/// Turns channels on or off. A channel outside the plan is a 403 `plan-limit`; one that is not
/// set up yet (no endpoint, unverified phone, no push subscription) is a 422 naming it.
#[utoipa::path(patch, path = "/api/v1/notification-preferences/channels", tag = "preferences",
    security(("bearer" = [])),
    request_body = ChannelsRequest,
    responses(
        (status = 200, body = PreferencesSummary, headers(("ETag" = String))),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Edited by more than ten writers at once; retry", body = Problem, content_type = "application/problem+json"),
        (status = 412, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn set_channels(
    State(state): State<PreferencesState>,
    caller: Authenticated,
    headers: HeaderMap,
    JsonBody(request): JsonBody<ChannelsRequest>,
) -> Result<Response, ApiError> {
    let core = &state.core;
    let limits = core.plans.limits(caller.user.plan);
    let configured = Configured::load(core, caller.user.id).await?;
    let (stored, ()) = change_preferences(core, &caller.user, &headers, |prefs| {
        let mut fields = Fields::default();
        for (channel, wanted) in [
            (Channel::Email, request.email),
            (Channel::Discord, request.discord),
            (Channel::Slack, request.slack),
            (Channel::Webhook, request.webhook),
            (Channel::Sms, request.sms),
            (Channel::Push, request.push),
        ] {
            match wanted {
                None => {}
                Some(false) => {
                    prefs.channels.remove(&channel);
                }
                Some(true) => {
                    if !limits.channels.contains(&channel) {
                        return Err(plan_limit(
                            caller.user.plan,
                            limits,
                            Limit::Channel(channel),
                        ));
                    }
                    if configured.has(channel) {
                        prefs.channels.insert(channel);
                    } else {
                        fields.take::<(), _>(channel.as_str(), Err(setup_hint(channel)));
                    }
                }
            }
        }
        fields.finish()
    })
    .await?;
    summary_response(core, &caller.user, &stored, &HeaderMap::new()).await
}

fn setup_hint(channel: Channel) -> &'static str {
    match channel {
        Channel::Email => "e-mail needs no set-up",
        Channel::Discord => {
            "add a Discord webhook first (POST /api/v1/notification-preferences/endpoints)"
        }
        Channel::Slack => {
            "add a Slack webhook first (POST /api/v1/notification-preferences/endpoints)"
        }
        Channel::Webhook => {
            "add a webhook endpoint first (POST /api/v1/notification-preferences/endpoints)"
        }
        Channel::Sms => "verify a phone number first (POST /api/v1/notification-preferences/phone)",
        Channel::Push => "subscribe a browser first (POST /api/v1/push/subscriptions)",
    }
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"frequency": "daily", "digest_hour": 8, "max_alerts_per_day": 20, "categories": ["computers"], "language": "en-GB"}))]
pub struct FrequencyRequest {
    /// `immediate`, `daily` or `weekly`.
    pub frequency: Option<String>,
    /// Local hour (0–23) digests go out.
    pub digest_hour: Option<u8>,
    /// Weekday of the weekly digest (`monday` … `sunday`).
    pub digest_weekday: Option<String>,
    /// 1–1000 immediate alerts a day; the rest wait for the next digest. `null` removes the cap.
    #[schema(value_type = Option<u16>)]
    #[serde(default, deserialize_with = "crate::json::present")]
    pub max_alerts_per_day: Option<Value>,
    /// Only alerts in these categories; `[]` for all.
    pub categories: Option<Vec<String>>,
    /// The account's locale (alerts are written in it).
    pub language: Option<String>,
    /// `false`: deal links in alerts lead straight to the deal and no click is recorded.
    pub click_tracking: Option<bool>,
}

/// Sets frequency, digest time, daily cap, category filter, language and click tracking.
#[utoipa::path(patch, path = "/api/v1/notification-preferences/frequency", tag = "preferences",
    security(("bearer" = [])),
    request_body = FrequencyRequest,
    responses(
        (status = 200, body = PreferencesSummary, headers(("ETag" = String))),
        (status = 409, description = "Edited by more than ten writers at once; retry", body = Problem, content_type = "application/problem+json"),
        (status = 412, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn set_frequency(
    State(state): State<PreferencesState>,
    caller: Authenticated,
    headers: HeaderMap,
    JsonBody(request): JsonBody<FrequencyRequest>,
) -> Result<Response, ApiError> {
    let core = &state.core;
    let (stored, locale) = change_preferences(core, &caller.user, &headers, |prefs| {
        apply_frequency(&request, prefs)
    })
    .await?;
    let user = update_account(core, &caller.user, None, locale).await?;
    summary_response(core, &user, &stored, &HeaderMap::new()).await
}

/// Applies a frequency change to `prefs`, collecting every field's problem; the new locale
/// (the account's, written separately) when one was given.
pub(crate) fn apply_frequency(
    request: &FrequencyRequest,
    prefs: &mut NotificationPreferences,
) -> Result<Option<Locale>, ApiError> {
    let mut fields = Fields::default();
    if let Some(text) = &request.frequency {
        if let Some(frequency) = fields.take(
            "frequency",
            Frequency::parse(text).ok_or("frequency is immediate, daily or weekly"),
        ) {
            prefs.frequency = frequency;
        }
    }
    if let Some(hour) = request.digest_hour {
        if let Some(hour) = fields.take(
            "digest_hour",
            (hour <= 23).then_some(hour).ok_or("digest_hour is 0 to 23"),
        ) {
            prefs.digest_hour = hour;
        }
    }
    if let Some(text) = &request.digest_weekday {
        if let Some(day) = fields.take(
            "digest_weekday",
            DigestWeekday::parse(text).ok_or("digest_weekday is monday to sunday"),
        ) {
            prefs.digest_weekday = day;
        }
    }
    match &request.max_alerts_per_day {
        None => {}
        Some(Value::Null) => prefs.max_alerts_per_day = None,
        Some(value) => {
            let cap = value
                .as_u64()
                .filter(|n| {
                    (1..=u64::from(NotificationPreferences::MAX_ALERTS_PER_DAY)).contains(n)
                })
                .map(|n| n as u16)
                .ok_or("max_alerts_per_day is 1 to 1000, or null for no cap");
            if let Some(cap) = fields.take("max_alerts_per_day", cap) {
                prefs.max_alerts_per_day = Some(cap);
            }
        }
    }
    if let Some(list) = &request.categories {
        let parsed: Result<BTreeSet<Category>, String> = list
            .iter()
            .map(|c| Category::parse(c).ok_or_else(|| format!("unknown category {c:?}")))
            .collect();
        if let Some(set) = fields.take("categories", parsed) {
            prefs.categories = set;
        }
    }
    if let Some(tracking) = request.click_tracking {
        prefs.click_tracking = tracking;
    }
    let locale = match &request.language {
        None => None,
        Some(text) => fields.take("language", Locale::parse(text)),
    };
    fields.finish()?;
    Ok(locale)
}

/// Writes time zone / locale to the account (their one home) when they change.
async fn update_account(
    core: &Core,
    user: &User,
    timezone: Option<TimeZoneName>,
    locale: Option<Locale>,
) -> Result<User, ApiError> {
    let changes_zone = timezone.as_ref().is_some_and(|z| *z != user.timezone);
    let changes_locale = locale.as_ref().is_some_and(|l| *l != user.locale);
    if !changes_zone && !changes_locale {
        return Ok(user.clone());
    }
    let mut updated = user.clone();
    if let Some(zone) = timezone {
        updated.timezone = zone;
    }
    if let Some(locale) = locale {
        updated.locale = locale;
    }
    updated.updated_at = core.clock.now();
    Ok(core.store.update_user(&updated).await?)
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"start": "22:00", "end": "07:00", "timezone": "Europe/Berlin"}))]
pub struct QuietHoursRequest {
    /// `HH:MM` local time; `null` together with `end` turns quiet hours off.
    #[schema(value_type = Option<String>)]
    #[serde(default, deserialize_with = "crate::json::present")]
    pub start: Option<Value>,
    #[schema(value_type = Option<String>)]
    #[serde(default, deserialize_with = "crate::json::present")]
    pub end: Option<Value>,
    /// IANA time zone the times are in (the account's time zone).
    pub timezone: Option<String>,
}

/// Sets or clears quiet hours (a window may cross midnight) and the time zone they are in.
#[utoipa::path(patch, path = "/api/v1/notification-preferences/quiet-hours", tag = "preferences",
    security(("bearer" = [])),
    request_body = QuietHoursRequest,
    responses(
        (status = 200, body = PreferencesSummary, headers(("ETag" = String))),
        (status = 409, description = "Edited by more than ten writers at once; retry", body = Problem, content_type = "application/problem+json"),
        (status = 412, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn set_quiet_hours(
    State(state): State<PreferencesState>,
    caller: Authenticated,
    headers: HeaderMap,
    JsonBody(request): JsonBody<QuietHoursRequest>,
) -> Result<Response, ApiError> {
    let core = &state.core;
    let (stored, timezone) = change_preferences(core, &caller.user, &headers, |prefs| {
        apply_quiet_hours(&request, prefs)
    })
    .await?;
    let user = update_account(core, &caller.user, timezone, None).await?;
    summary_response(core, &user, &stored, &HeaderMap::new()).await
}

/// Applies a quiet-hours change to `prefs`, collecting every field's problem; the new time
/// zone (the account's, written separately) when one was given.
pub(crate) fn apply_quiet_hours(
    request: &QuietHoursRequest,
    prefs: &mut NotificationPreferences,
) -> Result<Option<TimeZoneName>, ApiError> {
    let mut fields = Fields::default();
    let time = |fields: &mut Fields, name: &str, value: &Value| -> Option<LocalTime> {
        let parsed = value
            .as_str()
            .ok_or("times are written HH:MM".to_string())
            .and_then(|text| LocalTime::parse(text).map_err(|e| e.0.to_string()));
        fields.take(name, parsed)
    };
    match (&request.start, &request.end) {
        (None, None) => {}
        (Some(Value::Null), Some(Value::Null)) => prefs.quiet_hours = None,
        (Some(start), Some(end)) if !start.is_null() && !end.is_null() => {
            let start = time(&mut fields, "start", start);
            let end = time(&mut fields, "end", end);
            if let (Some(start), Some(end)) = (start, end) {
                if let Some(window) = fields.take("end", QuietHours::new(start, end)) {
                    prefs.quiet_hours = Some(window);
                }
            }
        }
        _ => {
            fields.take::<(), _>(
                "start",
                Err("give start and end together (both null to turn quiet hours off)"),
            );
        }
    }
    let timezone = match &request.timezone {
        None => None,
        Some(text) => fields.take("timezone", TimeZoneName::parse(text)),
    };
    fields.finish()?;
    Ok(timezone)
}

// ---------------------------------------------------------------------------------------------
// Discord, Slack and webhook endpoints

/// Hosts Discord and Slack incoming webhooks live on.
const DISCORD_HOSTS: [&str; 4] = [
    "discord.com",
    "discordapp.com",
    "ptb.discord.com",
    "canary.discord.com",
];
const SLACK_HOSTS: [&str; 1] = ["hooks.slack.com"];

fn parse_endpoint_url(kind: EndpointKind, raw: &str) -> Result<PublicUrl, String> {
    let url = PublicUrl::parse(raw, Schemes::HttpsOnly).map_err(|e| e.0)?;
    let host = url.host();
    let host_ok = match kind {
        EndpointKind::Discord => DISCORD_HOSTS.contains(&host.as_str()),
        EndpointKind::Slack => SLACK_HOSTS.contains(&host.as_str()),
        EndpointKind::Webhook => true,
    };
    if !host_ok {
        return Err(format!("{host} is not a {kind} webhook host"));
    }
    kind.check_url(&url).map_err(|e| e.0.to_string())?;
    Ok(url)
}

fn new_signing_secret() -> Result<String, ApiError> {
    Ok(format!(
        "whsec_{}",
        random_token().map_err(ApiError::internal)?
    ))
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"id": "01937b2e-aaaa-7cc0-9a51-4f2d5c1e0a11", "kind": "discord", "url": "https://discord.com/api/webhooks/123456/…", "label": "deals channel", "enabled": true, "secret_hint": null, "created_at": "2026-11-25T10:00:00Z", "last_tested_at": null, "version": 1}))]
pub struct EndpointView {
    pub id: String,
    /// `discord`, `slack` or `webhook`.
    pub kind: String,
    /// The URL with its secret part hidden.
    pub url: String,
    pub label: Option<String>,
    pub enabled: bool,
    /// First characters of the webhook signing secret.
    pub secret_hint: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_tested_at: Option<Timestamp>,
    pub version: u64,
}

fn endpoint_view(endpoint: &ChannelEndpoint) -> EndpointView {
    EndpointView {
        id: endpoint.id.to_string(),
        kind: endpoint.kind.as_str().to_string(),
        url: endpoint.redacted_url(),
        label: endpoint.label.clone(),
        enabled: endpoint.enabled,
        secret_hint: endpoint.secret_hint(),
        created_at: endpoint.created_at,
        last_tested_at: endpoint.last_tested_at,
        version: endpoint.version,
    }
}

/// An endpoint just created or with a new secret: the secret is shown this once.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"id": "01937b2e-bbbb-7cc0-9a51-4f2d5c1e0a11", "kind": "webhook", "url": "https://hooks.example.com/dealpulse", "label": null, "enabled": true, "secret_hint": "whsec_3k9A", "created_at": "2026-11-25T10:00:00Z", "last_tested_at": null, "version": 1, "signing_secret": "whsec_3k9AqL0v2mHqY0v5cC1m4o8zJ8Xn6b2T1u9yWq7eRk"}))]
pub struct EndpointWithSecret {
    #[serde(flatten)]
    pub endpoint: EndpointView,
    /// HMAC-SHA256 key deliveries are signed with (webhooks only). Shown once.
    pub signing_secret: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"kind": "webhook", "url": "https://hooks.example.com/dealpulse", "label": "home automation"}))]
pub struct CreateEndpointRequest {
    /// `discord`, `slack` or `webhook`.
    pub kind: String,
    /// https only; Discord and Slack URLs must be their incoming-webhook URLs.
    pub url: String,
    pub label: Option<String>,
}

fn parse_label(raw: &str) -> Result<Option<String>, &'static str> {
    let label = raw.trim();
    if label.chars().count() > 60 || label.chars().any(char::is_control) {
        return Err("a label is at most 60 characters without control characters");
    }
    Ok((!label.is_empty()).then(|| label.to_string()))
}

/// A new endpoint's kind, URL and label, with every field's problem collected.
pub(crate) fn parse_new_endpoint(
    request: &CreateEndpointRequest,
) -> Result<(EndpointKind, PublicUrl, Option<String>), ApiError> {
    let mut fields = Fields::default();
    let kind = fields.take(
        "kind",
        EndpointKind::parse(&request.kind).ok_or("kind is discord, slack or webhook"),
    );
    let url = kind.and_then(|kind| fields.take("url", parse_endpoint_url(kind, &request.url)));
    let label = match &request.label {
        None => Some(None),
        Some(text) => fields.take("label", parse_label(text)),
    };
    fields.finish()?;
    let (Some(kind), Some(url), Some(label)) = (kind, url, label) else {
        return Err(ApiError::internal("validated fields missing"));
    };
    Ok((kind, url, label))
}

/// Adds a Discord, Slack or webhook endpoint. Webhooks get a signing secret, shown once.
#[utoipa::path(post, path = "/api/v1/notification-preferences/endpoints", tag = "preferences",
    security(("bearer" = [])),
    request_body = CreateEndpointRequest,
    responses(
        (status = 201, body = EndpointWithSecret, headers(("ETag" = String))),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_endpoint(
    State(state): State<PreferencesState>,
    caller: Authenticated,
    headers: HeaderMap,
    JsonBody(request): JsonBody<CreateEndpointRequest>,
) -> Result<Response, ApiError> {
    let core = &state.core;
    let (kind, url, label) = parse_new_endpoint(&request)?;
    let plan = caller.user.plan;
    let limits = core.plans.limits(plan);
    if !limits.channels.contains(&kind.channel()) {
        return Err(plan_limit(plan, limits, Limit::Channel(kind.channel())));
    }
    let now = core.clock.now();
    let endpoint = ChannelEndpoint {
        id: EndpointId::generate(),
        owner: caller.user.id,
        kind,
        url,
        label,
        signing_secret: match kind {
            EndpointKind::Webhook => Some(new_signing_secret()?),
            _ => None,
        },
        enabled: true,
        created_at: now,
        updated_at: now,
        last_tested_at: None,
        version: 0,
    };
    let stored = records::<ChannelEndpoint>(core.store.as_ref())
        .insert(&endpoint, Some(limits.max_endpoints))
        .await
        .map_err(|e| quota_error(e, plan, limits, Limit::Endpoints))?;
    Ok(record_response(
        &headers,
        &stored,
        StatusCode::CREATED,
        EndpointWithSecret {
            endpoint: endpoint_view(&stored),
            signing_secret: stored.signing_secret.clone(),
        },
    ))
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"items": []}))]
pub struct EndpointList {
    pub items: Vec<EndpointView>,
}

/// The caller's endpoints, oldest first.
#[utoipa::path(get, path = "/api/v1/notification-preferences/endpoints", tag = "preferences",
    security(("bearer" = [])),
    responses((status = 200, body = EndpointList)))]
pub async fn list_endpoints(
    State(state): State<PreferencesState>,
    caller: Authenticated,
) -> Result<Json<EndpointList>, ApiError> {
    let endpoints = records::<ChannelEndpoint>(state.core.store.as_ref())
        .list(caller.user.id)
        .await?;
    Ok(Json(EndpointList {
        items: endpoints.iter().map(endpoint_view).collect(),
    }))
}

async fn owned_endpoint(core: &Core, owner: UserId, id: &str) -> Result<ChannelEndpoint, ApiError> {
    owned_record::<ChannelEndpoint, EndpointId>(core.store.as_ref(), owner, id).await
}

/// One endpoint. Supports `If-None-Match` (304).
#[utoipa::path(get, path = "/api/v1/notification-preferences/endpoints/{id}", tag = "preferences",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, body = EndpointView, headers(("ETag" = String))),
        (status = 304, description = "Not modified"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_endpoint(
    State(state): State<PreferencesState>,
    caller: Authenticated,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let endpoint = owned_endpoint(&state.core, caller.user.id, &id).await?;
    Ok(record_response(
        &headers,
        &endpoint,
        StatusCode::OK,
        endpoint_view(&endpoint),
    ))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"label": "phone", "enabled": false}))]
pub struct UpdateEndpointRequest {
    pub url: Option<String>,
    /// `null` clears it.
    #[schema(value_type = Option<String>)]
    #[serde(default, deserialize_with = "crate::json::present")]
    pub label: Option<Value>,
    pub enabled: Option<bool>,
}

/// Applies a change to `endpoint`, with every field's problem collected.
pub(crate) fn apply_endpoint_update(
    request: &UpdateEndpointRequest,
    endpoint: &mut ChannelEndpoint,
) -> Result<(), ApiError> {
    let mut fields = Fields::default();
    if let Some(raw) = &request.url {
        if let Some(url) = fields.take("url", parse_endpoint_url(endpoint.kind, raw)) {
            endpoint.url = url;
        }
    }
    match &request.label {
        None => {}
        Some(Value::Null) => endpoint.label = None,
        Some(Value::String(text)) => {
            if let Some(label) = fields.take("label", parse_label(text)) {
                endpoint.label = label;
            }
        }
        Some(_) => {
            fields.take::<(), _>("label", Err("label is a string or null"));
        }
    }
    fields.finish()?;
    if let Some(enabled) = request.enabled {
        endpoint.enabled = enabled;
    }
    Ok(())
}

/// Changes an endpoint's URL, label or enabled flag. `If-Match` → 412 when stale.
#[utoipa::path(patch, path = "/api/v1/notification-preferences/endpoints/{id}", tag = "preferences",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    request_body = UpdateEndpointRequest,
    responses(
        (status = 200, body = EndpointView, headers(("ETag" = String))),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 412, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update_endpoint(
    State(state): State<PreferencesState>,
    caller: Authenticated,
    headers: HeaderMap,
    Path(id): Path<String>,
    JsonBody(request): JsonBody<UpdateEndpointRequest>,
) -> Result<Response, ApiError> {
    let core = &state.core;
    let mut endpoint = owned_endpoint(core, caller.user.id, &id).await?;
    require_if_match(&headers, &etag_of(&endpoint))?;
    apply_endpoint_update(&request, &mut endpoint)?;
    endpoint.updated_at = core.clock.now();
    let stored = records::<ChannelEndpoint>(core.store.as_ref())
        .update(&endpoint)
        .await?;
    Ok(record_response(
        &HeaderMap::new(),
        &stored,
        StatusCode::OK,
        endpoint_view(&stored),
    ))
}

/// Removes an endpoint; its channel turns off when it was the last one of its kind.
#[utoipa::path(delete, path = "/api/v1/notification-preferences/endpoints/{id}", tag = "preferences",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 412, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete_endpoint(
    State(state): State<PreferencesState>,
    caller: Authenticated,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let core = &state.core;
    let endpoint = owned_endpoint(core, caller.user.id, &id).await?;
    delete_record(core.store.as_ref(), &endpoint, &headers).await?;
    disable_unconfigured(core, caller.user.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Turns off channels whose set-up is gone, so preferences never promise an impossible channel.
async fn disable_unconfigured(core: &Core, owner: UserId) -> Result<(), ApiError> {
    for _ in 0..3 {
        let mut prefs = load_preferences(core, owner).await?;
        let configured = Configured::load(core, owner).await?;
        let before = prefs.channels.len();
        prefs.channels.retain(|channel| configured.has(*channel));
        if prefs.channels.len() == before || prefs.version == 0 {
            return Ok(());
        }
        match save_preferences(core, prefs).await {
            Ok(_) => return Ok(()),
            Err(ApiError::Conflict(_)) => continue,
            Err(other) => return Err(other),
        }
    }
    Err(ApiError::Conflict(
        "the preferences keep changing concurrently; try again",
    ))
}

/// Replaces a webhook's signing secret; the new one is shown once. Deliveries sign with it
/// from now on.
#[utoipa::path(post, path = "/api/v1/notification-preferences/endpoints/{id}/rotate-secret", tag = "preferences",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, body = EndpointWithSecret),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn rotate_secret(
    State(state): State<PreferencesState>,
    caller: Authenticated,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let core = &state.core;
    let mut endpoint = owned_endpoint(core, caller.user.id, &id).await?;
    if endpoint.kind != EndpointKind::Webhook {
        return Err(ApiError::invalid(
            "kind",
            "only webhook endpoints have a signing secret",
        ));
    }
    endpoint.signing_secret = Some(new_signing_secret()?);
    endpoint.updated_at = core.clock.now();
    let stored = records::<ChannelEndpoint>(core.store.as_ref())
        .update(&endpoint)
        .await?;
    Ok(record_response(
        &HeaderMap::new(),
        &stored,
        StatusCode::OK,
        EndpointWithSecret {
            endpoint: endpoint_view(&stored),
            signing_secret: stored.signing_secret.clone(),
        },
    ))
}

/// What a test send did.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"status": 204, "provider_id": null, "tested_at": "2026-12-04T18:00:00Z"}))]
pub struct TestSendResult {
    /// The HTTP status the endpoint answered.
    pub status: u16,
    /// The receiver's message id, when it gave one.
    pub provider_id: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    pub tested_at: Timestamp,
}

/// The sample alert a test send posts: marked as a test in its title and id, so a receiver can
/// tell it from a real alert.
fn test_notice(endpoint: &ChannelEndpoint, now: Timestamp) -> Result<Notice, ApiError> {
    let price = Money::parse(
        "199.00",
        Currency::parse("USD").map_err(ApiError::internal)?,
    )
    .map_err(ApiError::internal)?;
    let was_price = Money::parse(
        "249.00",
        Currency::parse("USD").map_err(ApiError::internal)?,
    )
    .map_err(ApiError::internal)?;
    Ok(Notice {
        delivery_id: format!("test-{}-{}", endpoint.id, now.as_second()),
        kind: NoticeKind::Alert { urgent: false },
        deals: vec![DealLine {
            title: "DealPulse test alert: this endpoint is connected".to_string(),
            url: "https://dealpulse.example/test-alert".to_string(),
            price,
            was_price: Some(was_price),
            reasons: vec!["test send from your notification preferences".to_string()],
            score: Some(80),
            history: Vec::new(),
        }],
        occurred_at: now,
    })
}

/// Posts a sample alert to the endpoint, as a real alert would be posted (same transport,
/// signing and formatting), and records when it was last tested. At most 5 a minute per user;
/// an endpoint that refuses answers 422 (`endpoint-refused`) with the receiver's status.
#[utoipa::path(post, path = "/api/v1/notification-preferences/endpoints/{id}/test", tag = "preferences",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, body = TestSendResult),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn test_endpoint(
    State(state): State<PreferencesState>,
    caller: Authenticated,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let core = &state.core;
    let endpoint = owned_endpoint(core, caller.user.id, &id).await?;
    let limit = crate::ratelimit::enforce(
        core,
        "endpoint-test",
        &caller.user.id.to_string(),
        core.settings.limits.endpoint_test_per_user,
    )
    .await?;
    let now = core.clock.now();
    let notice = test_notice(&endpoint, now)?;
    let sent = state
        .endpoints
        .post(&endpoint, &notice, now)
        .await
        .map_err(|failure| ApiError::EndpointRefused(failure.to_string()))?;
    let mut tested = endpoint;
    tested.last_tested_at = Some(now);
    records::<ChannelEndpoint>(core.store.as_ref())
        .update(&tested)
        .await?;
    let mut response = Json(TestSendResult {
        status: sent.status,
        provider_id: sent.provider_id,
        tested_at: now,
    })
    .into_response();
    limit.apply(&mut response);
    Ok(response)
}

// ---------------------------------------------------------------------------------------------
// Phone for SMS

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"number": "+14155550123"}))]
pub struct PhoneRequest {
    /// E.164, e.g. `+14155550123`.
    pub number: String,
}

fn phone_code_hash(owner: UserId, code: &str) -> TokenHash {
    TokenHash::of(&format!("{owner}:{code}"))
}

fn six_digit_code() -> Result<String, ApiError> {
    // Rejection sampling keeps every code equally likely.
    loop {
        let bytes = random_bytes::<4>().map_err(ApiError::internal)?;
        let value = u32::from_be_bytes(bytes);
        if value < 4_294_000_000 {
            return Ok(format!("{:06}", value % 1_000_000));
        }
    }
}

/// Sets the SMS number and texts it a 6-digit code (valid 10 minutes, 5 attempts). A new code
/// can be requested once a minute (429 with Retry-After before that).
#[utoipa::path(post, path = "/api/v1/notification-preferences/phone", tag = "preferences",
    security(("bearer" = [])),
    request_body = PhoneRequest,
    responses(
        (status = 202, body = PhoneView),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn start_phone(
    State(state): State<PreferencesState>,
    caller: Authenticated,
    JsonBody(request): JsonBody<PhoneRequest>,
) -> Result<Response, ApiError> {
    let core = &state.core;
    let number =
        PhoneNumber::parse(&request.number).map_err(|e| ApiError::invalid("number", e.0))?;
    let plan = caller.user.plan;
    let limits = core.plans.limits(plan);
    if !limits.channels.contains(&Channel::Sms) {
        return Err(plan_limit(plan, limits, Limit::Channel(Channel::Sms)));
    }
    let now = core.clock.now();
    let phones = records::<PhoneSetup>(core.store.as_ref());
    let existing = phones.get(caller.user.id, "current").await?;
    if let Some(pending) = existing.as_ref().and_then(|p| p.pending.as_ref()) {
        let wait = PhoneSetup::RESEND_SECONDS - now.duration_since(pending.sent_at).as_secs();
        if wait > 0 {
            return Err(ApiError::RateLimited(RateLimitInfo {
                limit: 1,
                remaining: 0,
                reset_secs: wait as u64,
            }));
        }
    }
    let code = six_digit_code()?;
    let pending = PendingCode {
        code_hash: phone_code_hash(caller.user.id, &code),
        sent_at: now,
        expires_at: now
            .checked_add(SignedDuration::from_mins(PhoneSetup::CODE_MINUTES))
            .map_err(ApiError::internal)?,
        attempts_left: PhoneSetup::CODE_ATTEMPTS,
    };
    let same_number = existing.as_ref().is_some_and(|p| p.number == number);
    let setup = PhoneSetup {
        owner: caller.user.id,
        number: number.clone(),
        verified_at: existing
            .as_ref()
            .filter(|_| same_number)
            .and_then(|p| p.verified_at),
        pending: Some(pending),
        updated_at: now,
        version: existing.as_ref().map_or(0, |p| p.version),
    };
    // Send first: a number the provider refuses is never stored.
    state
        .sms
        .send_sms(
            &number,
            &format!("Your DealPulse code is {code}. It expires in 10 minutes."),
        )
        .await
        .map_err(|e| match e {
            SmsError::Rejected(why) => ApiError::invalid(
                "number",
                format!("the text message could not be sent to this number: {why}"),
            ),
            SmsError::Unavailable(why) => ApiError::Unavailable(why),
        })?;
    let stored = match existing {
        None => phones.insert(&setup, None).await?,
        Some(_) => phones.update(&setup).await?,
    };
    if !same_number {
        disable_unconfigured(core, caller.user.id).await?;
    }
    Ok((StatusCode::ACCEPTED, Json(phone_view(&stored))).into_response())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"code": "123456"}))]
pub struct VerifyPhoneRequest {
    pub code: String,
}

/// Confirms the code texted to the phone. Each wrong code uses one of 5 attempts.
#[utoipa::path(post, path = "/api/v1/notification-preferences/phone/verify", tag = "preferences",
    security(("bearer" = [])),
    request_body = VerifyPhoneRequest,
    responses(
        (status = 200, body = PhoneView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn verify_phone(
    State(state): State<PreferencesState>,
    caller: Authenticated,
    JsonBody(request): JsonBody<VerifyPhoneRequest>,
) -> Result<Json<PhoneView>, ApiError> {
    let core = &state.core;
    let code = request.code.trim();
    if code.len() != 6 || !code.chars().all(|c| c.is_ascii_digit()) {
        return Err(ApiError::invalid("code", "the code is 6 digits"));
    }
    let phones = records::<PhoneSetup>(core.store.as_ref());
    let mut setup = phones
        .get(caller.user.id, "current")
        .await?
        .ok_or(ApiError::NotFound)?;
    let Some(pending) = setup.pending.clone() else {
        return Err(ApiError::Conflict(
            "no code is waiting; request one with POST /api/v1/notification-preferences/phone",
        ));
    };
    let now = core.clock.now();
    if now >= pending.expires_at || pending.attempts_left == 0 {
        setup.pending = None;
        setup.updated_at = now;
        phones.update(&setup).await?;
        return Err(ApiError::invalid(
            "code",
            "the code expired or was tried too often; request a new one",
        ));
    }
    if phone_code_hash(caller.user.id, code) != pending.code_hash {
        let left = pending.attempts_left - 1;
        setup.pending = (left > 0).then_some(PendingCode {
            attempts_left: left,
            ..pending
        });
        setup.updated_at = now;
        // A concurrent guess makes this update stale (409): attempts are never refunded.
        phones.update(&setup).await?;
        return Err(ApiError::invalid(
            "code",
            if left > 0 {
                format!("wrong code; {left} attempts left")
            } else {
                "wrong code; no attempts left, request a new one".to_string()
            },
        ));
    }
    setup.pending = None;
    setup.verified_at = Some(now);
    setup.updated_at = now;
    let stored = phones.update(&setup).await?;
    Ok(Json(phone_view(&stored)))
}

/// The SMS number (masked) and whether it is verified.
#[utoipa::path(get, path = "/api/v1/notification-preferences/phone", tag = "preferences",
    security(("bearer" = [])),
    responses(
        (status = 200, body = PhoneView, headers(("ETag" = String))),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_phone(
    State(state): State<PreferencesState>,
    caller: Authenticated,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let phone = records::<PhoneSetup>(state.core.store.as_ref())
        .get(caller.user.id, "current")
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(record_response(
        &headers,
        &phone,
        StatusCode::OK,
        phone_view(&phone),
    ))
}

/// Removes the SMS number; the SMS channel turns off. `If-Match` → 412 when stale.
#[utoipa::path(delete, path = "/api/v1/notification-preferences/phone", tag = "preferences",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Removed"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 412, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete_phone(
    State(state): State<PreferencesState>,
    caller: Authenticated,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    let phone = records::<PhoneSetup>(state.core.store.as_ref())
        .get(caller.user.id, "current")
        .await?
        .ok_or(ApiError::NotFound)?;
    delete_record(state.core.store.as_ref(), &phone, &headers).await?;
    disable_unconfigured(&state.core, caller.user.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---------------------------------------------------------------------------------------------
// Web push

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"public_key": "BEl62iUYgUivxIkv69yViEuiBIa-Ib9-SkvMeAtA3LFgDzkrxZJjSgSnfckjBJuBkr3qBUYIHBQFLXYp5Nksh8U"}))]
pub struct VapidPublicKey {
    /// Pass as `applicationServerKey` to `PushManager.subscribe`.
    pub public_key: String,
}

/// The VAPID public key browsers subscribe with. Public, no credentials needed.
#[utoipa::path(get, path = "/api/v1/push/vapid-public-key", tag = "push",
    responses((status = 200, body = VapidPublicKey)))]
pub async fn vapid_public_key(State(state): State<PreferencesState>) -> Json<VapidPublicKey> {
    Json(VapidPublicKey {
        public_key: state.vapid.public_key(),
    })
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"p256dh": "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM", "auth": "tBHItJI5svbpez7KI4CCXg"}))]
pub struct PushKeys {
    pub p256dh: String,
    pub auth: String,
}

/// A browser's `PushSubscription.toJSON()`, as is.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schema(example = json!({
    "endpoint": "https://fcm.googleapis.com/fcm/send/dpH5lCsTSSM:APA91bH",
    "expirationTime": null,
    "keys": {"p256dh": "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM", "auth": "tBHItJI5svbpez7KI4CCXg"}
}))]
pub struct SubscribeRequest {
    pub endpoint: String,
    #[schema(value_type = Option<u64>)]
    #[serde(default, deserialize_with = "crate::json::present")]
    pub expiration_time: Option<Value>,
    pub keys: PushKeys,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"id": "01937b2e-cccc-7cc0-9a51-4f2d5c1e0a11", "service": "fcm.googleapis.com", "user_agent": "Mozilla/5.0", "created_at": "2026-11-25T10:00:00Z"}))]
pub struct PushSubscriptionView {
    pub id: String,
    /// Host of the push service (`fcm.googleapis.com`, `updates.push.services.mozilla.com`, …).
    pub service: String,
    pub user_agent: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

fn push_view(subscription: &PushSubscription) -> PushSubscriptionView {
    PushSubscriptionView {
        id: subscription.id.to_string(),
        service: subscription.endpoint.host(),
        user_agent: subscription.user_agent.clone(),
        created_at: subscription.created_at,
    }
}

/// A push subscription's endpoint and keys (`p256dh` re-encoded), with every field's problem
/// collected.
pub(crate) fn parse_push_subscription(
    request: &SubscribeRequest,
) -> Result<(PublicUrl, String, String), ApiError> {
    let mut fields = Fields::default();
    let endpoint = fields.take(
        "endpoint",
        PublicUrl::parse(&request.endpoint, Schemes::HttpsOnly),
    );
    let p256dh = fields.take(
        "keys.p256dh",
        parse_push_p256dh(&request.keys.p256dh).and_then(|bytes| {
            if is_p256_public_key(&bytes) {
                Ok(base64::Engine::encode(
                    &base64::engine::general_purpose::URL_SAFE_NO_PAD,
                    bytes,
                ))
            } else {
                Err(dealpulse_domain::account::InvalidValue(
                    "keys.p256dh is not a point on the P-256 curve",
                ))
            }
        }),
    );
    let auth = fields.take("keys.auth", parse_push_auth(&request.keys.auth));
    match &request.expiration_time {
        None | Some(Value::Null) | Some(Value::Number(_)) => {}
        Some(_) => {
            fields.take::<(), _>("expirationTime", Err("expirationTime is a number or null"));
        }
    }
    fields.finish()?;
    let (Some(endpoint), Some(p256dh), Some(auth)) = (endpoint, p256dh, auth) else {
        return Err(ApiError::internal("validated fields missing"));
    };
    Ok((endpoint, p256dh, auth))
}

/// Stores a browser's push subscription (201), or refreshes its keys when the endpoint is
/// already stored (200). The endpoint must be a public https URL; `p256dh` must be a P-256 key.
#[utoipa::path(post, path = "/api/v1/push/subscriptions", tag = "push",
    security(("bearer" = [])),
    request_body = SubscribeRequest,
    responses(
        (status = 201, body = PushSubscriptionView),
        (status = 200, body = PushSubscriptionView),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn subscribe_push(
    State(state): State<PreferencesState>,
    caller: Authenticated,
    headers: HeaderMap,
    JsonBody(request): JsonBody<SubscribeRequest>,
) -> Result<Response, ApiError> {
    let core = &state.core;
    let (endpoint, p256dh, auth) = parse_push_subscription(&request)?;
    let plan = caller.user.plan;
    let limits = core.plans.limits(plan);
    if !limits.channels.contains(&Channel::Push) {
        return Err(plan_limit(plan, limits, Limit::Channel(Channel::Push)));
    }
    let subscriptions = records::<PushSubscription>(core.store.as_ref());
    if let Some(mut existing) = subscriptions
        .list(caller.user.id)
        .await?
        .into_iter()
        .find(|s| s.endpoint == endpoint)
    {
        existing.p256dh = p256dh;
        existing.auth = auth;
        let stored = subscriptions.update(&existing).await?;
        return Ok((StatusCode::OK, Json(push_view(&stored))).into_response());
    }
    let subscription = PushSubscription {
        id: PushSubscriptionId::generate(),
        owner: caller.user.id,
        endpoint,
        p256dh,
        auth,
        user_agent: crate::routes::user_agent(&headers),
        created_at: core.clock.now(),
        version: 0,
    };
    let stored = subscriptions
        .insert(&subscription, Some(limits.max_push_subscriptions))
        .await
        .map_err(|e| quota_error(e, plan, limits, Limit::PushSubscriptions))?;
    Ok((StatusCode::CREATED, Json(push_view(&stored))).into_response())
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"items": []}))]
pub struct PushSubscriptionList {
    pub items: Vec<PushSubscriptionView>,
}

/// The caller's push subscriptions.
#[utoipa::path(get, path = "/api/v1/push/subscriptions", tag = "push",
    security(("bearer" = [])),
    responses((status = 200, body = PushSubscriptionList)))]
pub async fn list_push(
    State(state): State<PreferencesState>,
    caller: Authenticated,
) -> Result<Json<PushSubscriptionList>, ApiError> {
    let subscriptions = records::<PushSubscription>(state.core.store.as_ref())
        .list(caller.user.id)
        .await?;
    Ok(Json(PushSubscriptionList {
        items: subscriptions.iter().map(push_view).collect(),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"endpoint": "https://fcm.googleapis.com/fcm/send/dpH5lCsTSSM:APA91bH"}))]
pub struct UnsubscribeRequest {
    pub endpoint: String,
}

/// Removes the subscription with this endpoint (what a browser knows after unsubscribing).
#[utoipa::path(delete, path = "/api/v1/push/subscriptions", tag = "push",
    security(("bearer" = [])),
    request_body = UnsubscribeRequest,
    responses(
        (status = 204, description = "Removed"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn unsubscribe_push(
    State(state): State<PreferencesState>,
    caller: Authenticated,
    JsonBody(request): JsonBody<UnsubscribeRequest>,
) -> Result<StatusCode, ApiError> {
    let core = &state.core;
    let endpoint = PublicUrl::parse(&request.endpoint, Schemes::HttpsOnly)
        .map_err(|e| ApiError::invalid("endpoint", e.0))?;
    let subscriptions = records::<PushSubscription>(core.store.as_ref());
    let found = subscriptions
        .list(caller.user.id)
        .await?
        .into_iter()
        .find(|s| s.endpoint == endpoint)
        .ok_or(ApiError::NotFound)?;
    subscriptions
        .delete(caller.user.id, &found.key(), None)
        .await?;
    disable_unconfigured(core, caller.user.id).await?;
    Ok(StatusCode::NO_CONTENT)
}
