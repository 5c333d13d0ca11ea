//! `/api/v1/alerts`: the caller's alert log with each channel's delivery status, and
//! `/api/v1/unsubscribe`: the one-click unsubscribe links of alert e-mails (RFC 8058). Served by
//! the `api-preferences` function.
//!
//! An unsubscribe link works without a session: the token is signed for one user and one scope
//! (all alert e-mail, or one rule). GET only shows what the link does, with a button: mail
//! scanners fetch links, and a fetch must not unsubscribe anyone. POST (the button, or the mail
//! client's `List-Unsubscribe=One-Click`) does it, and doing it twice is harmless.

use crate::auth::extract::Authenticated;
use crate::problem::{ApiError, Problem};
use crate::resource::{paginate, QueryParams};
use crate::state::Core;
use axum::extract::{RawQuery, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use dealpulse_alerts::model::{AlertRecord, Plan};
use dealpulse_domain::delivery::DeliveryState;
use dealpulse_domain::ids::UserId;
use dealpulse_domain::mail::escape_html;
use dealpulse_domain::ports::StoreError;
use dealpulse_domain::preferences::{Channel, NotificationPreferences};
use dealpulse_domain::records::records;
use dealpulse_domain::rules::AlertRule;
use dealpulse_domain::unsubscribe::{self, UnsubscribeScope};
use jiff::Timestamp;
use serde::Serialize;
use utoipa::ToSchema;

pub fn router(core: Core) -> Router {
    Router::new()
        .route("/api/v1/alerts", get(list_alerts))
        .route(
            "/api/v1/unsubscribe",
            get(show_unsubscribe).post(unsubscribe),
        )
        .with_state(core)
}

/// One channel's delivery of an alert.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryView {
    /// email, sms, discord, slack, webhook or push.
    #[schema(value_type = String)]
    pub channel: Channel,
    /// The endpoint or push subscription id (none for e-mail and SMS).
    pub target: Option<String>,
    /// queued, sending, retrying, sent, failed, held (quiet hours), digest (waits for the
    /// digest) or skipped.
    pub status: &'static str,
    /// Why it failed, is retrying or was skipped.
    pub reason: Option<String>,
    /// The provider's message id once sent (SES, Twilio, the receiver's answer).
    pub provider_id: Option<String>,
    /// Until when it is held, or when the digest goes out.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub until: Option<Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub updated_at: Option<Timestamp>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AlertView {
    pub id: String,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    pub title: String,
    pub url: String,
    /// Decimal text, as everywhere in the API.
    pub price: String,
    pub was_price: Option<String>,
    pub currency: String,
    /// The rules' names and the watches' descriptions that matched.
    pub reasons: Vec<String>,
    pub score: Option<u8>,
    pub urgent: bool,
    pub deliveries: Vec<DeliveryView>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"items": [], "next_cursor": null, "total": 0}))]
pub struct AlertList {
    pub items: Vec<AlertView>,
    pub next_cursor: Option<String>,
    pub total: usize,
}

/// The caller's alerts, newest first, each with every channel's delivery status: `limit`
/// (1–100, default 20), `cursor`, `channel` (only alerts planned for that channel).
#[utoipa::path(get, path = "/api/v1/alerts", tag = "alerts",
    security(("bearer" = [])),
    params(("limit" = Option<u32>, Query, minimum = 1, maximum = 100), ("cursor" = Option<String>, Query), ("channel" = Option<String>, Query)),
    responses(
        (status = 200, body = AlertList),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_alerts(
    State(core): State<Core>,
    caller: Authenticated,
    RawQuery(query): RawQuery,
) -> Result<Json<AlertList>, ApiError> {
    let params = QueryParams::parse(query.as_deref(), &["limit", "cursor", "channel"])?;
    let limit = params.number("limit", 1, 100, 20)? as usize;
    let channel = params
        .text("channel")
        .map(|text| {
            serde_json::from_value::<Channel>(serde_json::Value::String(text.to_string())).map_err(
                |_| {
                    ApiError::invalid(
                        "channel",
                        "one of email, sms, discord, slack, webhook, push",
                    )
                },
            )
        })
        .transpose()?;
    let alerts: Vec<AlertRecord> = records::<AlertRecord>(core.store.as_ref())
        .list(caller.user.id)
        .await?
        .into_iter()
        .filter(|alert| channel.is_none_or(|c| alert.deliveries.iter().any(|d| d.channel == c)))
        .collect();
    let total = alerts.len();
    let page = paginate(
        alerts,
        |alert| (alert.created_at.to_string(), alert.key.clone()),
        "-created_at",
        true,
        params.text("cursor"),
        limit,
    )?;
    let mut items = Vec::with_capacity(page.items.len());
    for alert in page.items {
        items.push(alert_view(&core, alert).await?);
    }
    Ok(Json(AlertList {
        items,
        next_cursor: page.next_cursor,
        total,
    }))
}

pub(crate) async fn alert_view(core: &Core, alert: AlertRecord) -> Result<AlertView, ApiError> {
    let mut deliveries = Vec::with_capacity(alert.deliveries.len());
    for planned in &alert.deliveries {
        let mut view = DeliveryView {
            channel: planned.channel,
            target: planned.target.clone(),
            status: "queued",
            reason: None,
            provider_id: None,
            until: None,
            updated_at: None,
        };
        match &planned.plan {
            Plan::Skipped { reason } => {
                view.status = "skipped";
                view.reason = Some(reason.clone());
            }
            Plan::Digest { at } => {
                view.status = "digest";
                view.until = Some(*at);
            }
            Plan::Held { until } => {
                view.status = "held";
                view.until = Some(*until);
            }
            Plan::Now => {}
        }
        // Once the deliverer has claimed it, its record tells the rest.
        if let Some(id) = &planned.delivery_id {
            if let Some(record) = core.store.delivery(id).await? {
                view.updated_at = Some(record.updated_at);
                view.until = None;
                match record.state {
                    DeliveryState::InProgress { .. } => view.status = "sending",
                    DeliveryState::Retrying { reason } => {
                        view.status = "retrying";
                        view.reason = Some(reason);
                    }
                    DeliveryState::Sent { provider_id } => {
                        view.status = "sent";
                        view.provider_id = provider_id;
                    }
                    DeliveryState::Failed { reason } => {
                        view.status = "failed";
                        view.reason = Some(reason);
                    }
                }
            }
        }
        deliveries.push(view);
    }
    let deal = alert.deal;
    Ok(AlertView {
        id: alert.key,
        created_at: alert.created_at,
        title: deal.title,
        url: deal.url,
        price: deal.price.amount_text(),
        was_price: deal.was_price.map(|p| p.amount_text()),
        currency: deal.price.currency().code().to_string(),
        reasons: deal.reasons,
        score: deal.score,
        urgent: alert.urgent,
        deliveries,
    })
}

/// What an unsubscribe link turns off, read from its signed token.
struct Unsubscription {
    user: UserId,
    scope: UnsubscribeScope,
    /// The rule's name, for the page.
    rule_name: Option<String>,
}

async fn read_token(core: &Core, query: Option<&str>) -> Result<Unsubscription, ApiError> {
    let params = QueryParams::parse(query, &["token"])?;
    let token = params
        .text("token")
        .ok_or_else(|| ApiError::BadRequest("the unsubscribe link has no token".into()))?;
    let (user, scope) = unsubscribe::verify(core.keys.unsubscribe_key(), token)
        .map_err(|e| ApiError::BadRequest(e.0.into()))?;
    // A link for an account that no longer exists unsubscribes nobody.
    if core.store.user_by_id(user).await?.is_none() {
        return Err(ApiError::NotFound);
    }
    let rule_name = match scope {
        UnsubscribeScope::Email => None,
        UnsubscribeScope::Rule(id) => Some(
            records::<AlertRule>(core.store.as_ref())
                .get(user, &id.to_string())
                .await?
                .ok_or(ApiError::NotFound)?
                .name
                .as_str()
                .to_string(),
        ),
    };
    Ok(Unsubscription {
        user,
        scope,
        rule_name,
    })
}

fn what(unsubscription: &Unsubscription) -> String {
    match &unsubscription.rule_name {
        Some(name) => format!("alerts from your rule “{}”", escape_html(name)),
        None => "all DealPulse alert e-mails".to_string(),
    }
}

pub(crate) fn page(title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\"><meta name=\"robots\" content=\"noindex\"><title>{title}</title></head>\
         <body style=\"font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem\"><h1>{title}</h1>{body}</body></html>"
    );
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        html,
    )
        .into_response()
}

/// The page an unsubscribe link opens: says what it turns off, with a button that does it.
/// Changes nothing by itself.
#[utoipa::path(get, path = "/api/v1/unsubscribe", tag = "alerts",
    params(("token" = String, Query)),
    responses(
        (status = 200, description = "A confirmation page", content_type = "text/html"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn show_unsubscribe(
    State(core): State<Core>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let unsubscription = read_token(&core, query.as_deref()).await?;
    let action = format!("?{}", escape_html(query.as_deref().unwrap_or_default()));
    Ok(page(
        "Unsubscribe",
        &format!(
            "<p>Stop {}?</p><form method=\"post\" action=\"{action}\"><input type=\"hidden\" name=\"List-Unsubscribe\" value=\"One-Click\"><button type=\"submit\">Unsubscribe</button></form>",
            what(&unsubscription)
        ),
    ))
}

/// Unsubscribes: all alert e-mail (the e-mail channel is turned off) or one rule (paused).
/// Mail clients POST `List-Unsubscribe=One-Click` here (RFC 8058); repeating it is harmless.
#[utoipa::path(post, path = "/api/v1/unsubscribe", tag = "alerts",
    params(("token" = String, Query)),
    responses(
        (status = 200, description = "Done; a page saying so", content_type = "text/html"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn unsubscribe(
    State(core): State<Core>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let unsubscription = read_token(&core, query.as_deref()).await?;
    let now = core.clock.now();
    let changed = match unsubscription.scope {
        UnsubscribeScope::Email => stop_email(&core, unsubscription.user, now).await?,
        UnsubscribeScope::Rule(id) => {
            let changed = pause_rule(&core, unsubscription.user, &id.to_string(), now).await?;
            if changed {
                dealpulse_domain::records::bump_matching_stamp(core.store.as_ref()).await?;
            }
            changed
        }
    };
    if changed {
        let scope = match unsubscription.scope {
            UnsubscribeScope::Email => "email".to_string(),
            UnsubscribeScope::Rule(id) => format!("rule:{id}"),
        };
        crate::routes::audit(
            &core,
            Some(unsubscription.user),
            "alerts.unsubscribe",
            "link",
            serde_json::json!({ "scope": scope }),
        )
        .await?;
    }
    Ok(page(
        "Unsubscribed",
        &format!(
            "<p>You will get no more {}. You can turn them back on in your preferences.</p>",
            what(&unsubscription)
        ),
    ))
}

/// Retries a read-change-write a few times when another writer got there first.
async fn with_retries<F, Fut>(mut attempt: F) -> Result<bool, ApiError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<bool, StoreError>>,
{
    for _ in 0..4 {
        match attempt().await {
            Err(StoreError::Stale) | Err(StoreError::Conflict(_)) => continue,
            other => return Ok(other?),
        }
    }
    Err(ApiError::Conflict(
        "the preferences changed at the same moment; try again",
    ))
}

async fn stop_email(core: &Core, user: UserId, now: Timestamp) -> Result<bool, ApiError> {
    with_retries(|| async move {
        let preferences = records::<NotificationPreferences>(core.store.as_ref());
        match preferences.get(user, "current").await? {
            Some(mut current) => {
                if !current.channels.remove(&Channel::Email) {
                    return Ok(false);
                }
                current.updated_at = now;
                preferences.update(&current).await?;
            }
            None => {
                let mut fresh = NotificationPreferences::defaults(user, now);
                fresh.channels.remove(&Channel::Email);
                preferences.insert(&fresh, None).await?;
            }
        }
        Ok(true)
    })
    .await
}

async fn pause_rule(
    core: &Core,
    user: UserId,
    key: &str,
    now: Timestamp,
) -> Result<bool, ApiError> {
    with_retries(|| async move {
        let rules = records::<AlertRule>(core.store.as_ref());
        let Some(mut rule) = rules.get(user, key).await? else {
            return Ok(false);
        };
        if !rule.enabled {
            return Ok(false);
        }
        rule.enabled = false;
        rule.updated_at = now;
        rules.update(&rule).await?;
        Ok(true)
    })
    .await
}
