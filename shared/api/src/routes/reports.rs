//! Deal reports. Users report a listing (`POST /api/v1/deals/{id}/reports`, served with the
//! rules); administrators work the reports as tickets under `/api/v1/admin/reports`: list by
//! status and reason, open one, close it as confirmed (the listing stops matching) or rejected,
//! reopen it, or change many at once. Every change is audited.

use crate::auth::extract::{Authenticated, ClientIp};
use crate::json::JsonBody;
use crate::problem::{ApiError, Problem};
use crate::resource::{paginate, QueryParams};
use crate::routes::admin::{require_admin, AdminState};
use crate::state::Core;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Extension, Json, Router};
use dealpulse_domain::ids::{ListingId, UserId};
use dealpulse_domain::ports::StoreError;
use dealpulse_domain::records::records;
use dealpulse_domain::reports::{
    apply_report, DealReport, ReportNote, ReportReason, ReportStatus, Resolution,
};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The users' side, merged into the rules group.
pub fn router(core: Core) -> Router {
    Router::new()
        .route("/api/v1/deals/{id}/reports", post(report_deal))
        .with_state(core)
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0193a1b2-0000-7000-8000-000000000001:0193a1b2-0000-7000-8000-000000000002",
    "listing_id": "0193a1b2-0000-7000-8000-000000000001",
    "reporter_id": "0193a1b2-0000-7000-8000-000000000002",
    "reason": "wrong_price", "note": "Checkout says $799.", "title": "OLED TV 65 inch",
    "url": "https://deals.example.com/oled-tv", "price": "79.99 USD", "status": "open",
    "resolution": null, "admin_note": null, "created_at": "2026-11-25T10:00:00Z",
    "updated_at": "2026-11-25T10:00:00Z", "closed_by": null
}))]
pub struct ReportView {
    /// `<listing id>:<reporter id>`.
    pub id: String,
    pub listing_id: String,
    pub reporter_id: String,
    /// wrong_price, expired or spam.
    pub reason: String,
    pub note: Option<String>,
    pub title: String,
    pub url: String,
    /// The listed price when reported, e.g. `"79.99 USD"`.
    pub price: String,
    /// open or closed.
    pub status: String,
    /// confirmed or rejected, once closed.
    pub resolution: Option<String>,
    pub admin_note: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
    pub closed_by: Option<String>,
}

impl From<&DealReport> for ReportView {
    fn from(report: &DealReport) -> Self {
        Self {
            id: report.key.clone(),
            listing_id: report.listing.to_string(),
            reporter_id: report.reporter.to_string(),
            reason: report.reason.as_str().into(),
            note: report.note.as_ref().map(|n| n.as_str().to_string()),
            title: report.title.clone(),
            url: report.url.clone(),
            price: report.price.clone(),
            status: report.status.as_str().into(),
            resolution: report.resolution.map(|r| r.as_str().to_string()),
            admin_note: report.admin_note.as_ref().map(|n| n.as_str().to_string()),
            created_at: report.created_at,
            updated_at: report.updated_at,
            closed_by: report.closed_by.map(|id| id.to_string()),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reason": "wrong_price", "note": "The shop charges $499 at checkout."}))]
pub struct ReportBody {
    /// wrong_price, expired or spam (required).
    pub reason: Option<String>,
    /// At most 1,000 characters.
    pub note: Option<String>,
}

pub(crate) fn parse_note(field: &str, note: Option<&str>) -> Result<Option<ReportNote>, ApiError> {
    match note {
        None => Ok(None),
        Some(text) => ReportNote::parse(text).map_err(|why| ApiError::invalid(field, why)),
    }
}

fn parse_reason(text: &str) -> Result<ReportReason, ApiError> {
    ReportReason::parse(text)
        .ok_or_else(|| ApiError::invalid("reason", "wrong_price, expired or spam"))
}

/// A report's reason (required) and note.
pub(crate) fn parse_report(
    body: &ReportBody,
) -> Result<(ReportReason, Option<ReportNote>), ApiError> {
    let reason =
        parse_reason(body.reason.as_deref().ok_or_else(|| {
            ApiError::invalid("reason", "required: wrong_price, expired or spam")
        })?)?;
    let note = parse_note("note", body.note.as_deref())?;
    Ok((reason, note))
}

async fn audit_report(
    core: &Core,
    actor: &Authenticated,
    ip: &str,
    action: &str,
    report: &DealReport,
) -> Result<(), ApiError> {
    crate::routes::audit(
        core,
        Some(actor.user.id),
        action,
        ip,
        serde_json::json!({
            "report": report.key,
            "listing": report.listing.to_string(),
            "reason": report.reason.as_str(),
            "status": report.status.as_str(),
            "resolution": report.resolution.map(Resolution::as_str),
        }),
    )
    .await
}

/// Reports a deal as a wrong price, expired or spam. One report per user and listing (409 for
/// a second); 404 for an unknown listing.
#[utoipa::path(post, path = "/api/v1/deals/{id}/reports", tag = "rules",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The listing's id")),
    request_body = ReportBody,
    responses(
        (status = 201, body = ReportView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn report_deal(
    State(core): State<Core>,
    ip: Option<Extension<ClientIp>>,
    caller: Authenticated,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<ReportBody>,
) -> Result<(StatusCode, Json<ReportView>), ApiError> {
    let listing_id: ListingId = id.parse().map_err(|_| ApiError::NotFound)?;
    let listing = core
        .store
        .listing_by_id(listing_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    // A deal from someone's personal inbox is theirs alone to see, and to report.
    if listing
        .audience
        .is_some_and(|owner| owner != caller.user.id)
    {
        return Err(ApiError::NotFound);
    }
    let (reason, note) = parse_report(&body)?;
    let now = core.clock.now();
    let report = DealReport {
        owner: UserId::system(),
        key: DealReport::key_of(listing.id, caller.user.id),
        listing: listing.id,
        reporter: caller.user.id,
        reason,
        note,
        title: listing.title.chars().take(300).collect(),
        url: listing.url.clone(),
        price: listing.price.to_string(),
        status: ReportStatus::Open,
        resolution: None,
        admin_note: None,
        created_at: now,
        updated_at: now,
        closed_by: None,
        version: 0,
    };
    let stored = match records::<DealReport>(core.store.as_ref())
        .insert(&report, None)
        .await
    {
        Ok(stored) => stored,
        Err(StoreError::Conflict(_)) => {
            return Err(ApiError::Conflict("you have reported this deal already"))
        }
        Err(other) => return Err(other.into()),
    };
    let ip = crate::routes::ip_text(ip.as_deref());
    audit_report(&core, &caller, &ip, "deal.report", &stored).await?;
    Ok((StatusCode::CREATED, Json(ReportView::from(&stored))))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReportList {
    pub items: Vec<ReportView>,
    pub next_cursor: Option<String>,
    /// Reports matching the filters.
    pub total: usize,
}

/// Reports newest first, filtered by `status` (open, closed) and `reason`.
#[utoipa::path(get, path = "/api/v1/admin/reports", tag = "admin",
    security(("bearer" = [])),
    params(("status" = Option<String>, Query), ("reason" = Option<String>, Query),
           ("limit" = Option<u32>, Query, minimum = 1, maximum = 100), ("cursor" = Option<String>, Query)),
    responses(
        (status = 200, body = ReportList),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_reports(
    State(state): State<AdminState>,
    caller: Authenticated,
    RawQuery(query): RawQuery,
) -> Result<Json<ReportList>, ApiError> {
    require_admin(&caller)?;
    let params = QueryParams::parse(query.as_deref(), &["status", "reason", "limit", "cursor"])?;
    let limit = params.number("limit", 1, 100, 20)? as usize;
    let status = params
        .text("status")
        .map(|s| {
            ReportStatus::parse(s).ok_or_else(|| ApiError::invalid("status", "open or closed"))
        })
        .transpose()?;
    let reason = params.text("reason").map(parse_reason).transpose()?;
    let reports: Vec<DealReport> = records::<DealReport>(state.core.store.as_ref())
        .list(UserId::system())
        .await?
        .into_iter()
        .filter(|report| status.is_none_or(|status| report.status == status))
        .filter(|report| reason.is_none_or(|reason| report.reason == reason))
        .collect();
    let total = reports.len();
    let page = paginate(
        reports,
        |report| {
            (
                format!("{:020}", report.created_at.as_millisecond()),
                report.key.clone(),
            )
        },
        "-created_at",
        true,
        params.text("cursor"),
        limit,
    )?;
    Ok(Json(ReportList {
        items: page.items.iter().map(ReportView::from).collect(),
        next_cursor: page.next_cursor,
        total,
    }))
}

async fn stored_report(state: &AdminState, id: &str) -> Result<DealReport, ApiError> {
    // Keys are two UUIDs; anything else names nothing.
    if id.len() != 73 {
        return Err(ApiError::NotFound);
    }
    records::<DealReport>(state.core.store.as_ref())
        .get(UserId::system(), id)
        .await?
        .ok_or(ApiError::NotFound)
}

/// One report.
#[utoipa::path(get, path = "/api/v1/admin/reports/{id}", tag = "admin",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, body = ReportView),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_report(
    State(state): State<AdminState>,
    caller: Authenticated,
    Path(id): Path<String>,
) -> Result<Json<ReportView>, ApiError> {
    require_admin(&caller)?;
    Ok(Json(ReportView::from(&stored_report(&state, &id).await?)))
}

/// The state a ticket is moved to.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Target {
    status: ReportStatus,
    resolution: Option<Resolution>,
}

/// Moves one report to `target` (a no-op when it is there already), keeps the listing's hidden
/// state in step and audits the change.
async fn move_report(
    state: &AdminState,
    caller: &Authenticated,
    ip: &str,
    mut report: DealReport,
    target: Target,
    note: Option<ReportNote>,
) -> Result<DealReport, ApiError> {
    let core = &state.core;
    let now = core.clock.now();
    let unchanged = report.status == target.status && report.resolution == target.resolution;
    if !unchanged || note.is_some() {
        report.status = target.status;
        report.resolution = target.resolution;
        if note.is_some() {
            report.admin_note = note;
        }
        report.closed_by = (target.status == ReportStatus::Closed).then_some(caller.user.id);
        report.updated_at = now;
        report = match records::<DealReport>(core.store.as_ref())
            .update(&report)
            .await
        {
            Ok(stored) => stored,
            Err(StoreError::Stale) => {
                return Err(ApiError::Conflict(
                    "the report changed meanwhile; read it again",
                ))
            }
            Err(other) => return Err(other.into()),
        };
    }
    // Also when unchanged: repairs a hidden state left behind by an interrupted earlier move.
    apply_report(core.store.as_ref(), &report, now).await?;
    if !unchanged {
        let action = match target.status {
            ReportStatus::Closed => "admin.report.close",
            ReportStatus::Open => "admin.report.reopen",
        };
        audit_report(core, caller, ip, action, &report).await?;
    }
    Ok(report)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"resolution": "confirmed", "note": "Checkout price is $499."}))]
pub struct CloseBody {
    /// confirmed (the listing stops matching) or rejected (required).
    pub resolution: Option<String>,
    pub note: Option<String>,
}

fn parse_resolution(text: &str) -> Result<Resolution, ApiError> {
    Resolution::parse(text).ok_or_else(|| ApiError::invalid("resolution", "confirmed or rejected"))
}

/// A closing's resolution (required) and note.
pub(crate) fn parse_close(body: &CloseBody) -> Result<(Target, Option<ReportNote>), ApiError> {
    let resolution = body
        .resolution
        .as_deref()
        .ok_or_else(|| ApiError::invalid("resolution", "required: confirmed or rejected"))?;
    let target = Target {
        status: ReportStatus::Closed,
        resolution: Some(parse_resolution(resolution)?),
    };
    let note = parse_note("note", body.note.as_deref())?;
    Ok((target, note))
}

/// Closes a report. Confirmed hides the listing from matching and deal views.
#[utoipa::path(post, path = "/api/v1/admin/reports/{id}/close", tag = "admin",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    request_body = CloseBody,
    responses(
        (status = 200, body = ReportView),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn close_report(
    State(state): State<AdminState>,
    ip: Option<Extension<ClientIp>>,
    caller: Authenticated,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<CloseBody>,
) -> Result<Json<ReportView>, ApiError> {
    require_admin(&caller)?;
    // An unknown report is 404 whatever the body says.
    let report = stored_report(&state, &id).await?;
    let (target, note) = parse_close(&body)?;
    let ip = crate::routes::ip_text(ip.as_deref());
    let report = move_report(&state, &caller, &ip, report, target, note).await?;
    Ok(Json(ReportView::from(&report)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"note": "The shop fixed the price; look again."}))]
pub struct ReopenBody {
    pub note: Option<String>,
}

/// Reopens a closed report; a confirmed one releases its listing.
#[utoipa::path(post, path = "/api/v1/admin/reports/{id}/reopen", tag = "admin",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    request_body = ReopenBody,
    responses(
        (status = 200, body = ReportView),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn reopen_report(
    State(state): State<AdminState>,
    ip: Option<Extension<ClientIp>>,
    caller: Authenticated,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<ReopenBody>,
) -> Result<Json<ReportView>, ApiError> {
    require_admin(&caller)?;
    let report = stored_report(&state, &id).await?;
    let note = parse_note("note", body.note.as_deref())?;
    let target = Target {
        status: ReportStatus::Open,
        resolution: None,
    };
    let ip = crate::routes::ip_text(ip.as_deref());
    let report = move_report(&state, &caller, &ip, report, target, note).await?;
    Ok(Json(ReportView::from(&report)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"ids": ["0193…:0193…"], "status": "closed", "resolution": "rejected"}))]
pub struct ReportBulkBody {
    /// At most 100 report ids.
    pub ids: Vec<String>,
    /// open or closed.
    pub status: String,
    /// Required when closing: confirmed or rejected.
    pub resolution: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReportBulkOutcome {
    pub id: String,
    /// updated, not_found or conflict.
    pub outcome: &'static str,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReportBulkResult {
    pub results: Vec<ReportBulkOutcome>,
}

/// The state a bulk change moves its 1 to 100 reports to.
pub(crate) fn bulk_target(body: &ReportBulkBody) -> Result<Target, ApiError> {
    if body.ids.is_empty() || body.ids.len() > 100 {
        return Err(ApiError::invalid("ids", "from 1 to 100 report ids"));
    }
    let status = ReportStatus::parse(&body.status)
        .ok_or_else(|| ApiError::invalid("status", "open or closed"))?;
    let resolution = match (status, body.resolution.as_deref()) {
        (ReportStatus::Closed, Some(text)) => Some(parse_resolution(text)?),
        (ReportStatus::Closed, None) => {
            return Err(ApiError::invalid("resolution", "required when closing"))
        }
        (ReportStatus::Open, Some(_)) => {
            return Err(ApiError::invalid("resolution", "only when closing"))
        }
        (ReportStatus::Open, None) => None,
    };
    Ok(Target { status, resolution })
}

/// Opens or closes many reports at once; each id gets its own outcome.
#[utoipa::path(post, path = "/api/v1/admin/reports/bulk", tag = "admin",
    security(("bearer" = [])),
    request_body = ReportBulkBody,
    responses(
        (status = 200, body = ReportBulkResult),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn bulk_update(
    State(state): State<AdminState>,
    ip: Option<Extension<ClientIp>>,
    caller: Authenticated,
    JsonBody(body): JsonBody<ReportBulkBody>,
) -> Result<Json<ReportBulkResult>, ApiError> {
    require_admin(&caller)?;
    let target = bulk_target(&body)?;
    let ip = crate::routes::ip_text(ip.as_deref());
    let mut results = Vec::with_capacity(body.ids.len());
    for id in body.ids {
        let moved = match stored_report(&state, &id).await {
            Ok(report) => move_report(&state, &caller, &ip, report, target, None).await,
            Err(error) => Err(error),
        };
        let outcome = match moved {
            Ok(_) => "updated",
            Err(ApiError::NotFound) => "not_found",
            Err(ApiError::Conflict(_)) => "conflict",
            Err(other) => return Err(other),
        };
        results.push(ReportBulkOutcome { id, outcome });
    }
    Ok(Json(ReportBulkResult { results }))
}
