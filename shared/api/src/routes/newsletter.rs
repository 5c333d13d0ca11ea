//! The public weekly newsletter (`/api/v1/newsletter/…`, the `api-subscribers` function) and its
//! administration (`/api/v1/admin/subscribers…`, with the other admin routes).
//!
//! Subscribing always answers 202 the same way, whether the address is new, pending or already
//! confirmed, so the form tells nobody who reads the newsletter. The e-mailed links open a page
//! with a button (GET changes nothing: mail scanners fetch links); the button, or the mail
//! client's one-click unsubscribe (RFC 8058), POSTs.

use crate::auth::extract::{Authenticated, ClientIp};
use crate::json::JsonBody;
use crate::problem::{ApiError, Problem};
use crate::ratelimit::enforce;
use crate::resource::QueryParams;
use crate::routes::admin::{require_admin, AdminState};
use crate::routes::alerts::page;
use crate::routes::ip_text;
use crate::state::Core;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use dealpulse_domain::account::Email;
use dealpulse_domain::mail::{escape_html, EmailMessage, Mailer};
use dealpulse_domain::subscribers::{
    self, newsletter_key, Importer, Line, LineSplitter, NewsletterToken, RowOutcome, Subscribed,
    Subscriber, SubscriberStatus, CONFIRMATION_VALIDITY,
};
use futures::StreamExt;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::ToSchema;

/// State of the public newsletter routes: they send the confirmation e-mail.
#[derive(Clone)]
pub struct NewsletterState {
    pub core: Core,
    pub mailer: Arc<dyn Mailer>,
}

impl axum::extract::FromRef<NewsletterState> for Core {
    fn from_ref(state: &NewsletterState) -> Self {
        state.core.clone()
    }
}

pub fn router(state: NewsletterState) -> Router {
    Router::new()
        .route("/api/v1/newsletter/subscribe", post(subscribe))
        .route(
            "/api/v1/newsletter/confirm",
            get(show_confirm).post(confirm),
        )
        .route(
            "/api/v1/newsletter/unsubscribe",
            get(show_unsubscribe).post(unsubscribe),
        )
        .with_state(state)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"email": "reader@example.com"}))]
pub struct SubscribeRequest {
    pub email: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"status": "check_your_inbox",
    "detail": "If the address can subscribe, a confirmation link is on its way."}))]
pub struct SubscribeAnswer {
    pub status: &'static str,
    pub detail: &'static str,
}

fn key(core: &Core) -> Vec<u8> {
    newsletter_key(core.keys.unsubscribe_key())
}

fn link(core: &Core, path: &str, token: &NewsletterToken) -> String {
    format!(
        "{}/api/v1/newsletter/{path}?token={}",
        core.settings.public_url,
        token.sign(&key(core))
    )
}

fn confirmation_email(core: &Core, subscriber: &Subscriber, now: Timestamp) -> EmailMessage {
    let expires = now.checked_add(CONFIRMATION_VALIDITY).unwrap_or(now);
    let confirm = link(
        core,
        "confirm",
        &NewsletterToken::Confirm {
            email: subscriber.email.clone(),
            expires,
        },
    );
    let text = format!(
        "Someone (hopefully you) asked to receive DealPulse's weekly top deals at this address.\n\n\
         Confirm the subscription here:\n\n{confirm}\n\n\
         The link works for 7 days. If it was not you, ignore this message: nothing will be sent.\n"
    );
    let html = format!(
        "<!doctype html><html><body style=\"font-family:sans-serif;max-width:560px;margin:auto\">\
         <h1 style=\"font-size:20px\">Confirm your subscription</h1>\
         <p>Someone (hopefully you) asked to receive DealPulse's weekly top deals at this address.</p>\
         <p><a href=\"{link}\" style=\"background:#0b6bcb;color:#fff;padding:10px 16px;border-radius:6px;text-decoration:none\">Confirm subscription</a></p>\
         <p style=\"font-size:12px;color:#555\">The link works for 7 days. If it was not you, ignore this message: nothing will be sent.</p>\
         </body></html>",
        link = escape_html(&confirm)
    );
    EmailMessage::new(
        subscriber.email.clone(),
        "Confirm your DealPulse weekly deals subscription".to_string(),
        text,
        Some(html),
    )
    .with_tag("kind", "newsletter-confirm")
}

/// Subscribes an address to the weekly top deals: a confirmation link is e-mailed (double
/// opt-in). The answer is the same for every valid address.
#[utoipa::path(post, path = "/api/v1/newsletter/subscribe", tag = "newsletter",
    request_body = SubscribeRequest,
    responses(
        (status = 202, body = SubscribeAnswer),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn subscribe(
    State(state): State<NewsletterState>,
    ip: Option<Extension<ClientIp>>,
    JsonBody(request): JsonBody<SubscribeRequest>,
) -> Result<(StatusCode, Json<SubscribeAnswer>), ApiError> {
    let core = &state.core;
    enforce(
        core,
        "newsletter-ip",
        &ip_text(ip.as_deref()),
        core.settings.limits.email_per_ip,
    )
    .await?;
    let email = Email::parse(&request.email).map_err(|e| ApiError::invalid("email", e.0))?;
    let now = core.clock.now();
    let store = core.store.as_ref();
    if let Subscribed::SendConfirmation(subscriber) =
        subscribers::subscribe(store, store, &email, now).await?
    {
        let message = confirmation_email(core, &subscriber, now);
        // The subscriber is stored; a failed send is fixed by subscribing again.
        if let Err(error) = state.mailer.send(&message).await {
            tracing::error!(%error, "newsletter confirmation could not be sent");
        }
    }
    Ok((
        StatusCode::ACCEPTED,
        Json(SubscribeAnswer {
            status: "check_your_inbox",
            detail: "If the address can subscribe, a confirmation link is on its way.",
        }),
    ))
}

fn read_token(core: &Core, query: Option<&str>) -> Result<NewsletterToken, ApiError> {
    let params = QueryParams::parse(query, &["token"])?;
    let token = params
        .text("token")
        .ok_or_else(|| ApiError::BadRequest("the link has no token".into()))?;
    NewsletterToken::open(&key(core), token, core.clock.now())
        .map_err(|e| ApiError::BadRequest(e.0.into()))
}

fn button(query: Option<&str>, question: &str, label: &str, one_click: bool) -> String {
    let action = format!("?{}", escape_html(query.unwrap_or_default()));
    let hidden = if one_click {
        "<input type=\"hidden\" name=\"List-Unsubscribe\" value=\"One-Click\">"
    } else {
        ""
    };
    format!(
        "<p>{question}</p><form method=\"post\" action=\"{action}\">{hidden}<button type=\"submit\">{label}</button></form>"
    )
}

/// The page a confirmation link opens, with the button that confirms. Changes nothing.
#[utoipa::path(get, path = "/api/v1/newsletter/confirm", tag = "newsletter",
    params(("token" = String, Query)),
    responses(
        (status = 200, description = "A page with a confirm button", content_type = "text/html"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn show_confirm(
    State(core): State<Core>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let NewsletterToken::Confirm { email, .. } = read_token(&core, query.as_deref())? else {
        return Err(ApiError::BadRequest("not a confirmation link".into()));
    };
    Ok(page(
        "Confirm your subscription",
        &button(
            query.as_deref(),
            &format!(
                "Send DealPulse's weekly top deals to {}?",
                escape_html(email.as_str())
            ),
            "Confirm",
            false,
        ),
    ))
}

/// Confirms a pending subscription. Repeating it is harmless; it does not bring back an
/// address that unsubscribed since the link was sent.
#[utoipa::path(post, path = "/api/v1/newsletter/confirm", tag = "newsletter",
    params(("token" = String, Query)),
    responses(
        (status = 200, description = "Done; a page saying so", content_type = "text/html"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn confirm(
    State(core): State<Core>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let NewsletterToken::Confirm { email, .. } = read_token(&core, query.as_deref())? else {
        return Err(ApiError::BadRequest("not a confirmation link".into()));
    };
    let store = core.store.as_ref();
    let now = core.clock.now();
    let subscriber =
        subscribers::set_status(store, store, &email, SubscriberStatus::Confirmed, now)
            .await?
            .ok_or(ApiError::NotFound)?;
    Ok(match subscriber.status {
        SubscriberStatus::Confirmed => page(
            "Subscribed",
            "<p>You will get DealPulse's top deals every week. Every issue has a one-click unsubscribe link.</p>",
        ),
        _ => page(
            "Not subscribed",
            "<p>This address unsubscribed after the link was sent. Subscribe again to get the newsletter.</p>",
        ),
    })
}

/// The page an unsubscribe link opens, with the button that unsubscribes. Changes nothing.
#[utoipa::path(get, path = "/api/v1/newsletter/unsubscribe", tag = "newsletter", operation_id = "show_newsletter_unsubscribe",
    params(("token" = String, Query)),
    responses(
        (status = 200, description = "A page with an unsubscribe button", content_type = "text/html"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn show_unsubscribe(
    State(core): State<Core>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let NewsletterToken::Unsubscribe { email } = read_token(&core, query.as_deref())? else {
        return Err(ApiError::BadRequest("not an unsubscribe link".into()));
    };
    Ok(page(
        "Unsubscribe",
        &button(
            query.as_deref(),
            &format!(
                "Stop the weekly top deals to {}?",
                escape_html(email.as_str())
            ),
            "Unsubscribe",
            true,
        ),
    ))
}

/// Unsubscribes (the button, or the mail client's `List-Unsubscribe=One-Click`); repeating it
/// is harmless.
#[utoipa::path(post, path = "/api/v1/newsletter/unsubscribe", tag = "newsletter", operation_id = "newsletter_unsubscribe",
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
    let NewsletterToken::Unsubscribe { email } = read_token(&core, query.as_deref())? else {
        return Err(ApiError::BadRequest("not an unsubscribe link".into()));
    };
    let store = core.store.as_ref();
    subscribers::set_status(
        store,
        store,
        &email,
        SubscriberStatus::Unsubscribed,
        core.clock.now(),
    )
    .await?
    .ok_or(ApiError::NotFound)?;
    Ok(page(
        "Unsubscribed",
        "<p>You will get no more weekly top deals from DealPulse.</p>",
    ))
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"email": "reader@example.com", "name": "Ann", "status": "confirmed",
    "source": "form", "created_at": "2026-11-25T10:00:00Z", "confirmed_at": "2026-11-25T10:05:00Z",
    "unsubscribed_at": null}))]
pub struct SubscriberView {
    pub email: String,
    pub name: Option<String>,
    /// pending, confirmed or unsubscribed.
    pub status: &'static str,
    /// form or import.
    pub source: &'static str,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub confirmed_at: Option<Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub unsubscribed_at: Option<Timestamp>,
}

impl From<&Subscriber> for SubscriberView {
    fn from(subscriber: &Subscriber) -> Self {
        Self {
            email: subscriber.email.as_str().to_string(),
            name: subscriber.name.as_ref().map(|n| n.as_str().to_string()),
            status: subscriber.status.as_str(),
            source: match subscriber.source {
                subscribers::SubscriberSource::Form => "form",
                subscribers::SubscriberSource::Import => "import",
            },
            created_at: subscriber.created_at,
            confirmed_at: subscriber.confirmed_at,
            unsubscribed_at: subscriber.unsubscribed_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"pending": 12, "confirmed": 5400, "unsubscribed": 80}))]
pub struct SubscriberTotals {
    pub pending: i64,
    pub confirmed: i64,
    pub unsubscribed: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SubscriberList {
    pub items: Vec<SubscriberView>,
    pub next_cursor: Option<String>,
    /// Subscribers in each state (all of them, whatever the filters).
    pub totals: SubscriberTotals,
}

/// Subscribers in address order: `q` finds addresses starting with it (case-insensitive),
/// `status` filters, `cursor` goes on where the last page stopped.
#[utoipa::path(get, path = "/api/v1/admin/subscribers", tag = "admin",
    security(("bearer" = [])),
    params(("q" = Option<String>, Query), ("status" = Option<String>, Query),
           ("limit" = Option<u32>, Query, minimum = 1, maximum = 100), ("cursor" = Option<String>, Query)),
    responses(
        (status = 200, body = SubscriberList),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_subscribers(
    State(state): State<AdminState>,
    caller: Authenticated,
    RawQuery(query): RawQuery,
) -> Result<Json<SubscriberList>, ApiError> {
    require_admin(&caller)?;
    let params = QueryParams::parse(query.as_deref(), &["q", "status", "limit", "cursor"])?;
    let limit = params.number("limit", 1, 100, 25)?;
    let status = params
        .text("status")
        .map(|s| {
            SubscriberStatus::parse(s)
                .ok_or_else(|| ApiError::invalid("status", "pending, confirmed or unsubscribed"))
        })
        .transpose()?;
    let prefix = params.text("q").unwrap_or_default().trim().to_lowercase();
    if prefix.chars().count() > 254 {
        return Err(ApiError::invalid("q", "at most 254 characters"));
    }
    let cursor = params.text("cursor");
    if cursor.is_some_and(|c| c.len() > 1_024) {
        return Err(ApiError::invalid(
            "cursor",
            "not a cursor from this listing",
        ));
    }
    let store = state.core.store.as_ref();
    let (items, next_cursor) = subscribers::page(store, &prefix, status, cursor, limit).await?;
    let mut totals = SubscriberTotals {
        pending: 0,
        confirmed: 0,
        unsubscribed: 0,
    };
    for (status, count) in subscribers::tallies(store).await? {
        match status {
            SubscriberStatus::Pending => totals.pending = count,
            SubscriberStatus::Confirmed => totals.confirmed = count,
            SubscriberStatus::Unsubscribed => totals.unsubscribed = count,
        }
    }
    Ok(Json(SubscriberList {
        items: items.iter().map(SubscriberView::from).collect(),
        next_cursor,
        totals,
    }))
}

/// A row that was not imported.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportProblem {
    /// The row's line number in the file (the header is line 1).
    pub line: u64,
    /// duplicate or invalid.
    pub result: &'static str,
    pub reason: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"rows": 4, "imported": 2, "duplicate": 1, "invalid": 1,
    "problems": [{"line": 3, "result": "duplicate", "reason": "already confirmed"},
                 {"line": 5, "result": "invalid", "reason": "e-mail address needs an @"}],
    "problems_truncated": false}))]
pub struct ImportReport {
    pub rows: u64,
    pub imported: u64,
    pub duplicate: u64,
    pub invalid: u64,
    /// Each row not imported, in file order (the first [`MAX_REPORTED_PROBLEMS`]).
    pub problems: Vec<ImportProblem>,
    pub problems_truncated: bool,
}

/// The answer lists this many rows that were not imported; the totals count them all.
pub const MAX_REPORTED_PROBLEMS: usize = 1_000;
/// The largest CSV the API imports (the CLI takes any size).
pub const MAX_IMPORT_BYTES: usize = 64 * 1024 * 1024;

/// Imports subscribers from a CSV body (`email[,name]`, optional `email,name` header), row by
/// row as the body streams in. Imported addresses count as confirmed (the list opted in where
/// it came from); addresses already known, in any state, are reported as duplicates and left
/// alone, so an import never re-subscribes someone who unsubscribed.
#[utoipa::path(post, path = "/api/v1/admin/subscribers/import", tag = "admin",
    security(("bearer" = [])),
    request_body(content = String, content_type = "text/csv"),
    responses(
        (status = 200, body = ImportReport),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn import_subscribers(
    State(state): State<AdminState>,
    caller: Authenticated,
    ip: Option<Extension<ClientIp>>,
    request: axum::extract::Request,
) -> Result<Json<ImportReport>, ApiError> {
    require_admin(&caller)?;
    let content_type = crate::json::request_media_type(request.headers());
    if content_type != "text/csv" && content_type != "text/plain" {
        return Err(ApiError::BadRequest(
            "send the file with Content-Type: text/csv".into(),
        ));
    }
    let store = state.core.store.as_ref();
    let mut importer = Importer::new(store, store, state.core.clock.now());
    let mut report = ImportReport {
        rows: 0,
        imported: 0,
        duplicate: 0,
        invalid: 0,
        problems: Vec::new(),
        problems_truncated: false,
    };
    let mut lines = LineSplitter::default();
    let mut body = request.into_body().into_data_stream();
    let mut received = 0usize;
    let mut number = 0u64;
    let mut stopped: Option<ApiError> = None;
    'body: while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| ApiError::BadRequest(format!("the body broke off: {e}")))?;
        received += chunk.len();
        if received > MAX_IMPORT_BYTES {
            stopped = Some(ApiError::PayloadTooLarge {
                limit: MAX_IMPORT_BYTES,
            });
            break;
        }
        for line in lines.push(&chunk) {
            number += 1;
            if let Err(error) = import_line(&mut importer, &mut report, number, line).await {
                stopped = Some(error);
                break 'body;
            }
        }
    }
    if stopped.is_none() {
        if let Some(line) = lines.finish() {
            number += 1;
            if let Err(error) = import_line(&mut importer, &mut report, number, line).await {
                stopped = Some(error);
            }
        }
    }
    importer.flush().await;
    let totals = importer.totals.clone();
    if stopped.is_none() && totals.rows == 0 {
        return Err(ApiError::invalid("body", "the file has no rows"));
    }
    (
        report.rows,
        report.imported,
        report.duplicate,
        report.invalid,
    ) = (
        totals.rows,
        totals.imported,
        totals.duplicate,
        totals.invalid,
    );
    crate::routes::audit(
        &state.core,
        Some(caller.user.id),
        "admin.subscribers.import",
        &ip_text(ip.as_deref()),
        serde_json::json!({
            "rows": totals.rows, "imported": totals.imported, "duplicate": totals.duplicate,
            "invalid": totals.invalid, "stopped_at_line": stopped.as_ref().map(|_| number),
        }),
    )
    .await?;
    match stopped {
        // The rows before were imported and are audited; importing the file again reports them
        // as duplicates.
        Some(error) => Err(error),
        None => Ok(Json(report)),
    }
}

async fn import_line(
    importer: &mut Importer<'_>,
    report: &mut ImportReport,
    number: u64,
    line: Line,
) -> Result<(), ApiError> {
    let outcome = importer.line(number, line).await?;
    if matches!(
        outcome,
        Some(RowOutcome::Duplicate(_) | RowOutcome::Invalid(_))
    ) {
        if report.problems.len() < MAX_REPORTED_PROBLEMS {
            if let Some(outcome) = &outcome {
                report.problems.push(ImportProblem {
                    line: number,
                    result: outcome.label(),
                    reason: outcome.reason(),
                });
            }
        } else {
            report.problems_truncated = true;
        }
    }
    Ok(())
}
