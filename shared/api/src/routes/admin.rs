//! `/api/v1/admin/deliveries/…`: deliveries that did not go out, for administrators — the ones
//! that failed for good (retry one once its cause is fixed) and the messages in the delivery
//! dead-letter queue (look at them, move them back). Served by the `api-admin` function and
//! local mode. Every route needs the admin role (403 otherwise); every change is audited.

use crate::auth::extract::{Authenticated, ClientIp};
use crate::json::JsonBody;
use crate::problem::{ApiError, Problem};
use crate::resource::{paginate, QueryParams};
use crate::state::Core;
use axum::extract::{FromRef, Path, RawQuery, State};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use dealpulse_alerts::failures::{
    DeadLetter, DeliveryFailures, FailedDelivery, FailureError, Redrive,
};
use dealpulse_domain::account::Role;
use dealpulse_domain::preferences::Channel;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// State of the admin delivery routes: the core plus the delivery queues.
#[derive(Clone)]
pub struct AdminState {
    pub core: Core,
    pub failures: DeliveryFailures,
    /// Stripe's API, for cancelling subscriptions (`None`: those routes answer 501).
    pub payments: Option<std::sync::Arc<dyn dealpulse_domain::billing::PaymentProvider>>,
}

impl FromRef<AdminState> for Core {
    fn from_ref(state: &AdminState) -> Self {
        state.core.clone()
    }
}

pub fn router(state: AdminState) -> Router {
    use crate::routes::{analytics, console, newsletter, reports};
    Router::new()
        .route("/api/v1/admin/stats", get(console::stats))
        .route(
            "/api/v1/admin/analytics/behaviour",
            get(analytics::behaviour),
        )
        .route("/api/v1/admin/stats.csv", get(console::stats_csv))
        .route("/api/v1/admin/users", get(console::list_users))
        .route("/api/v1/admin/users/{id}", get(console::get_user))
        .route(
            "/api/v1/admin/users/{id}/suspend",
            post(console::suspend_user),
        )
        .route(
            "/api/v1/admin/users/{id}/activate",
            post(console::activate_user),
        )
        .route("/api/v1/admin/audit", get(console::search_audit))
        .route("/api/v1/admin/billing", get(billing_summary))
        .route(
            "/api/v1/admin/products",
            get(crate::routes::products::admin_products),
        )
        .route(
            "/api/v1/admin/subscriptions",
            get(crate::routes::billing::list_subscriptions),
        )
        .route(
            "/api/v1/admin/subscriptions/{id}/cancel",
            post(crate::routes::billing::admin_cancel_subscription),
        )
        .route("/api/v1/admin/system", get(system_health))
        .route("/api/v1/admin/reports", get(reports::list_reports))
        .route("/api/v1/admin/reports/bulk", post(reports::bulk_update))
        .route("/api/v1/admin/reports/{id}", get(reports::get_report))
        .route(
            "/api/v1/admin/reports/{id}/close",
            post(reports::close_report),
        )
        .route(
            "/api/v1/admin/reports/{id}/reopen",
            post(reports::reopen_report),
        )
        .route(
            "/api/v1/admin/subscribers",
            get(newsletter::list_subscribers),
        )
        .route(
            "/api/v1/admin/subscribers/import",
            post(newsletter::import_subscribers),
        )
        .route("/api/v1/admin/deliveries/failed", get(list_failed))
        .route(
            "/api/v1/admin/deliveries/failed/{id}/retry",
            post(retry_failed),
        )
        .route(
            "/api/v1/admin/deliveries/dead-letters",
            get(list_dead_letters),
        )
        .route(
            "/api/v1/admin/deliveries/dead-letters/redrive",
            post(redrive_dead_letters),
        )
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            admin_gate,
        ))
        .with_state(state)
}

/// In front of every admin route: the caller must be an administrator (401 without a valid
/// credential, 403 otherwise), and every request, refused or served, is written to the audit
/// log with its method, path and answer. The handlers find the caller in the request
/// extensions rather than authenticating twice.
pub async fn admin_gate(
    State(state): State<AdminState>,
    ip: Option<Extension<ClientIp>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let (mut parts, body) = request.into_parts();
    let caller =
        match <Authenticated as axum::extract::FromRequestParts<AdminState>>::from_request_parts(
            &mut parts, &state,
        )
        .await
        {
            Ok(caller) => caller,
            Err(refused) => return refused.into_response(),
        };
    let method = parts.method.to_string();
    let path = parts.uri.path().to_string();
    let admitted = require_admin(&caller);
    let response = match admitted {
        Ok(()) => {
            parts.extensions.insert(caller.clone());
            next.run(axum::extract::Request::from_parts(parts, body))
                .await
        }
        Err(refused) => refused.into_response(),
    };
    let action = if response.status() == axum::http::StatusCode::FORBIDDEN {
        "admin.denied"
    } else {
        "admin.request"
    };
    let audited = crate::routes::audit(
        &state.core,
        Some(caller.user.id),
        action,
        &crate::routes::ip_text(ip.as_deref()),
        serde_json::json!({
            "method": method,
            "path": path,
            "status": response.status().as_u16(),
        }),
    )
    .await;
    match audited {
        Ok(()) => response,
        // An admin action that cannot be audited is not answered as a success.
        Err(error) => error.into_response(),
    }
}

/// 403 unless the caller is an administrator.
pub(crate) fn require_admin(caller: &Authenticated) -> Result<(), ApiError> {
    if caller.user.role == Role::Admin {
        Ok(())
    } else {
        Err(ApiError::Forbidden {
            kind: "admin-only",
            detail: "This needs the administrator role.",
        })
    }
}

fn failure_error(error: FailureError) -> ApiError {
    match error {
        FailureError::Store(error) => error.into(),
        FailureError::Queue(error) => ApiError::Unavailable(format!("delivery queue: {error}")),
        FailureError::NotFound(_) => ApiError::NotFound,
        FailureError::NotFailed => ApiError::Conflict("the delivery is sent or being sent"),
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FailedDeliveryView {
    /// The delivery id (what `retry` takes).
    pub id: String,
    pub user_id: String,
    /// email, sms, discord, slack, webhook or push.
    #[schema(value_type = String)]
    pub channel: Channel,
    pub reason: String,
    #[schema(value_type = String, format = DateTime)]
    pub failed_at: Timestamp,
    /// The deal's title, when the task names one.
    pub title: Option<String>,
}

impl From<FailedDelivery> for FailedDeliveryView {
    fn from(failed: FailedDelivery) -> Self {
        let title = dealpulse_alerts::model::DeliveryTask::parse(&failed.task)
            .ok()
            .and_then(|task| task.notice.deals.first().map(|deal| deal.title.clone()));
        Self {
            id: failed.key,
            user_id: failed.user.to_string(),
            channel: failed.channel,
            reason: failed.reason,
            failed_at: failed.failed_at,
            title,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FailedDeliveryList {
    pub items: Vec<FailedDeliveryView>,
    pub next_cursor: Option<String>,
    pub total: usize,
}

/// Failed deliveries, newest first.
#[utoipa::path(get, path = "/api/v1/admin/deliveries/failed", tag = "admin",
    security(("bearer" = [])),
    params(("limit" = Option<u32>, Query, minimum = 1, maximum = 100), ("cursor" = Option<String>, Query)),
    responses(
        (status = 200, body = FailedDeliveryList),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_failed(
    State(state): State<AdminState>,
    caller: Authenticated,
    RawQuery(query): RawQuery,
) -> Result<Json<FailedDeliveryList>, ApiError> {
    require_admin(&caller)?;
    let params = QueryParams::parse(query.as_deref(), &["limit", "cursor"])?;
    let limit = params.number("limit", 1, 100, 20)? as usize;
    let all = state
        .failures
        .failed(usize::MAX)
        .await
        .map_err(failure_error)?;
    let total = all.len();
    let page = paginate(
        all,
        |failed| {
            (
                format!("{:020}", failed.failed_at.as_millisecond()),
                failed.key.clone(),
            )
        },
        "-failed_at",
        true,
        params.text("cursor"),
        limit,
    )?;
    Ok(Json(FailedDeliveryList {
        items: page.items.into_iter().map(Into::into).collect(),
        next_cursor: page.next_cursor,
        total,
    }))
}

/// Queues a failed delivery again (after its cause was fixed). 404 for an unknown id; 409 when
/// it was sent meanwhile.
#[utoipa::path(post, path = "/api/v1/admin/deliveries/failed/{id}/retry", tag = "admin",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 202, body = FailedDeliveryView),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn retry_failed(
    State(state): State<AdminState>,
    ip: Option<Extension<ClientIp>>,
    caller: Authenticated,
    Path(id): Path<String>,
) -> Result<(axum::http::StatusCode, Json<FailedDeliveryView>), ApiError> {
    require_admin(&caller)?;
    if id.len() != 64 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ApiError::NotFound);
    }
    let retried = state.failures.retry(&id).await;
    // Audited whatever came of it: a retry that failed half-way may still have queued the task.
    let outcome = match &retried {
        Ok(_) => "queued".to_string(),
        Err(error) => error.to_string(),
    };
    crate::routes::audit(
        &state.core,
        Some(caller.user.id),
        "admin.delivery.retry",
        &crate::routes::ip_text(ip.as_deref()),
        serde_json::json!({ "delivery": id, "outcome": outcome }),
    )
    .await?;
    let failed = retried.map_err(failure_error)?;
    Ok((axum::http::StatusCode::ACCEPTED, Json(failed.into())))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeadLetterView {
    pub message_id: String,
    pub receive_count: u32,
    pub delivery_id: Option<String>,
    pub user_id: Option<String>,
    #[schema(value_type = Option<String>)]
    pub channel: Option<Channel>,
    pub title: Option<String>,
}

impl From<DeadLetter> for DeadLetterView {
    fn from(letter: DeadLetter) -> Self {
        Self {
            message_id: letter.message_id,
            receive_count: letter.receive_count,
            delivery_id: letter.delivery_id,
            user_id: letter.user.map(|u| u.to_string()),
            channel: letter.channel,
            title: letter.title,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeadLetterList {
    pub items: Vec<DeadLetterView>,
}

/// Messages in the delivery dead-letter queue (read without taking them out; up to `limit`).
#[utoipa::path(get, path = "/api/v1/admin/deliveries/dead-letters", tag = "admin",
    security(("bearer" = [])),
    params(("limit" = Option<u32>, Query, minimum = 1, maximum = 100)),
    responses(
        (status = 200, body = DeadLetterList),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_dead_letters(
    State(state): State<AdminState>,
    caller: Authenticated,
    RawQuery(query): RawQuery,
) -> Result<Json<DeadLetterList>, ApiError> {
    require_admin(&caller)?;
    let params = QueryParams::parse(query.as_deref(), &["limit"])?;
    let limit = params.number("limit", 1, 100, 20)? as usize;
    let letters = state
        .failures
        .dead_letters(limit)
        .await
        .map_err(failure_error)?;
    Ok(Json(DeadLetterList {
        items: letters.into_iter().map(Into::into).collect(),
    }))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"max": 100}))]
pub struct RedriveRequest {
    /// Most messages to move, 1 to 1000 (default 100).
    pub max: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RedriveResult {
    /// Message ids moved back to the delivery queue.
    pub moved: Vec<String>,
    /// Message ids that stayed (sending them back failed).
    pub kept: Vec<String>,
}

impl From<Redrive> for RedriveResult {
    fn from(redrive: Redrive) -> Self {
        Self {
            moved: redrive.moved,
            kept: redrive.kept,
        }
    }
}

/// Moves dead letters back to the delivery queue; deliveries already sent are not sent again
/// (their claim says so).
#[utoipa::path(post, path = "/api/v1/admin/deliveries/dead-letters/redrive", tag = "admin",
    security(("bearer" = [])),
    request_body = RedriveRequest,
    responses(
        (status = 200, body = RedriveResult),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn redrive_dead_letters(
    State(state): State<AdminState>,
    ip: Option<Extension<ClientIp>>,
    caller: Authenticated,
    JsonBody(request): JsonBody<RedriveRequest>,
) -> Result<Json<RedriveResult>, ApiError> {
    require_admin(&caller)?;
    let max = request.max.unwrap_or(100);
    if !(1..=1000).contains(&max) {
        return Err(ApiError::invalid("max", "max must be from 1 to 1000"));
    }
    let redrive = state.failures.redrive(max as usize).await;
    let detail = match &redrive {
        Ok(done) => serde_json::json!({ "moved": done.moved.len(), "kept": done.kept.len() }),
        Err(error) => serde_json::json!({ "error": error.to_string() }),
    };
    crate::routes::audit(
        &state.core,
        Some(caller.user.id),
        "admin.dead_letters.redrive",
        &crate::routes::ip_text(ip.as_deref()),
        detail,
    )
    .await?;
    Ok(Json(redrive.map_err(failure_error)?.into()))
}

/// MRR, subscriptions per plan and the last twelve months of revenue (from rollups).
#[utoipa::path(get, path = "/api/v1/admin/billing", tag = "admin",
    security(("bearer" = [])),
    responses(
        (status = 200, body = crate::routes::billing::RevenueSummary),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn billing_summary(
    State(state): State<AdminState>,
    caller: Authenticated,
) -> Result<Json<crate::routes::billing::RevenueSummary>, ApiError> {
    require_admin(&caller)?;
    Ok(Json(
        crate::routes::billing::revenue_summary(state.core.store.as_ref(), state.core.clock.now())
            .await?,
    ))
}

/// One queue's depth, or why it could not be read.
#[derive(Debug, Serialize, ToSchema)]
pub struct QueueHealth {
    /// Messages waiting (visible and in flight), as the queue reports them.
    pub depth: Option<u64>,
    /// `ok`, or `unavailable` when the queue did not answer.
    pub status: &'static str,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct JobView {
    /// scrape, match or digest.
    pub job: &'static str,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_run_at: Option<Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_error_at: Option<Timestamp>,
    /// Runs (a scrape or digest run, a batch of events for match) and their errors (failed
    /// checks for scrape, unmatched events for match, failed runs for digest), today and
    /// yesterday, UTC.
    pub runs_2d: i64,
    pub errors_2d: i64,
    pub runs_total: i64,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "deliveries": {"depth": 3, "status": "ok"}, "dead_letters": {"depth": 0, "status": "ok"},
    "jobs": [{"job": "scrape", "last_run_at": "2026-11-25T08:00:00Z", "last_error_at": null,
        "runs_2d": 1440, "errors_2d": 0, "runs_total": 90210}],
    "suppressed": {"bounce": 4, "complaint": 1}
}))]
pub struct SystemHealth {
    pub deliveries: QueueHealth,
    pub dead_letters: QueueHealth,
    pub jobs: Vec<JobView>,
    /// Addresses no mail goes to any more, by reason.
    pub suppressed: std::collections::BTreeMap<String, i64>,
}

async fn queue_health(queue: &dyn dealpulse_domain::queue::Queue) -> QueueHealth {
    match queue.depth().await {
        Ok(depth) => QueueHealth {
            depth: Some(depth),
            status: "ok",
        },
        Err(error) => {
            tracing::warn!(%error, "queue depth not read");
            QueueHealth {
                depth: None,
                status: "unavailable",
            }
        }
    }
}

/// System health: delivery queue and dead-letter queue depths, each background job's last run,
/// last error and recent counts, and suppressed addresses — a few reads, whatever the volume.
#[utoipa::path(get, path = "/api/v1/admin/system", tag = "admin",
    security(("bearer" = [])),
    responses(
        (status = 200, body = SystemHealth),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn system_health(
    State(state): State<AdminState>,
    _caller: Authenticated,
) -> Result<Json<SystemHealth>, ApiError> {
    use dealpulse_alerts::feedback::suppressed_counter;
    use dealpulse_domain::mail::Suppression;
    let core = &state.core;
    let now = core.clock.now();
    let jobs = dealpulse_domain::jobs::job_health(core.store.as_ref(), now)
        .await?
        .into_iter()
        .map(|job| JobView {
            job: job.job,
            last_run_at: job.last_run_at,
            last_error_at: job.last_error_at,
            runs_2d: job.runs_2d,
            errors_2d: job.errors_2d,
            runs_total: job.runs_total,
        })
        .collect();
    let reasons = [
        ("bounce", Suppression::Bounce),
        ("complaint", Suppression::Complaint),
    ];
    let counts = core
        .store
        .counts(&reasons.map(|(_, reason)| suppressed_counter(reason)))
        .await?;
    Ok(Json(SystemHealth {
        deliveries: queue_health(state.failures.deliveries.as_ref()).await,
        dead_letters: queue_health(state.failures.dead_letters.as_ref()).await,
        jobs,
        suppressed: reasons
            .iter()
            .zip(counts)
            .map(|((name, _), count)| (name.to_string(), count))
            .collect(),
    }))
}
