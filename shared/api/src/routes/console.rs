//! The admin console's account and activity routes: stats (JSON and CSV), the accounts list
//! with search and filters, an account's detail, suspend / activate, and the audit search.
//! Everything reads rollup counters or bounded pages, never a whole table; every route needs the
//! admin role and every request is audited (see [`super::admin::admin_gate`]).

use crate::auth::extract::{Authenticated, ClientIp};
use crate::problem::{ApiError, Problem};
use crate::resource::{decode_cursor, encode_cursor, QueryParams};
use crate::routes::admin::{require_admin, AdminState};
use axum::extract::{Path, RawQuery, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use dealpulse_domain::account::{AuditEvent, Email, Role, User, UserStatus};
use dealpulse_domain::counters::{
    last_days, last_hours, last_months, names, utc_day, AccountMilestones, CounterBucket,
    CounterKey, CounterRepository,
};
use dealpulse_domain::ids::{AuditEventId, UserId};
use dealpulse_domain::plans::Plan;
use dealpulse_domain::preferences::Channel;
use dealpulse_domain::records::{records, DocumentRepository};
use jiff::civil::Date;
use jiff::{Timestamp, ToSpan};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// Channels the per-channel delivery counters are kept for.
const CHANNELS: [Channel; 6] = [
    Channel::Email,
    Channel::Sms,
    Channel::Discord,
    Channel::Slack,
    Channel::Webhook,
    Channel::Push,
];

#[derive(Debug, Serialize, ToSchema)]
pub struct UserStats {
    pub total: i64,
    pub verified: i64,
    pub suspended: i64,
    pub new_7d: i64,
    pub new_30d: i64,
    /// Accounts that saved their first rule or watch in the last 7 / 30 days.
    pub activated_7d: i64,
    pub activated_30d: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AlertStats {
    pub sent_24h: i64,
    pub failed_24h: i64,
    /// Sent in the last 24 hours per channel.
    #[schema(value_type = Object)]
    pub sent_24h_by_channel: BTreeMap<&'static str, i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DayCount {
    /// `YYYY-MM-DD` (UTC).
    pub day: String,
    pub count: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StatsSeries {
    /// Signups per day, last 30 days, oldest first.
    pub signups: Vec<DayCount>,
    /// Alerts sent per day, last 30 days, oldest first.
    pub alerts_sent: Vec<DayCount>,
    /// Alerts that failed for good per day, last 30 days, oldest first.
    pub alerts_failed: Vec<DayCount>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "generated_at": "2026-11-25T12:00:00Z",
    "users": {"total": 120, "verified": 100, "suspended": 1, "new_7d": 9, "new_30d": 31,
              "activated_7d": 6, "activated_30d": 22},
    "rules": 340, "watches": 512,
    "alerts": {"sent_24h": 870, "failed_24h": 3, "sent_24h_by_channel": {"email": 600, "discord": 270}},
    "revenue": {"mrr": [{"amount": "90.00", "currency": "USD"}], "subscriptions_by_plan": {"pro": 10},
                "months": [{"month": "2026-11", "revenue": [{"amount": "90.00", "currency": "USD"}], "invoices": 10}]},
    "series": {"signups": [{"day": "2026-11-25", "count": 2}], "alerts_sent": [], "alerts_failed": []}
}))]
pub struct AdminStats {
    #[schema(value_type = String, format = DateTime)]
    pub generated_at: Timestamp,
    pub users: UserStats,
    /// Saved alert rules and watchlist items, all accounts.
    pub rules: i64,
    pub watches: i64,
    pub alerts: AlertStats,
    /// MRR, live subscriptions per plan and revenue per month (this month last).
    pub revenue: crate::routes::billing::RevenueSummary,
    pub series: StatsSeries,
}

/// Reads the counters named by `keys` and hands them back by key.
struct Counted {
    values: BTreeMap<CounterKey, i64>,
}

impl Counted {
    async fn read(store: &dyn CounterRepository, keys: Vec<CounterKey>) -> Result<Self, ApiError> {
        let values = store.counts(&keys).await?;
        Ok(Self {
            values: keys.into_iter().zip(values).collect(),
        })
    }
    fn get(&self, key: &CounterKey) -> i64 {
        self.values.get(key).copied().unwrap_or(0)
    }
    fn sum<'a>(&self, keys: impl IntoIterator<Item = &'a CounterKey>) -> i64 {
        keys.into_iter().map(|key| self.get(key)).sum()
    }
}

/// The admin dashboard's figures: one batched counter read plus the revenue rollups, however
/// many accounts, rules and deliveries there are.
pub async fn admin_stats(
    counters: &dyn CounterRepository,
    documents: &dyn DocumentRepository,
    now: Timestamp,
) -> Result<AdminStats, ApiError> {
    let days = last_days(now, 30);
    let hours = last_hours(now, 24);
    let day_keys = |name: &str| -> Vec<CounterKey> {
        days.iter()
            .map(|day| CounterKey::new(name, CounterBucket::day(*day)))
            .collect()
    };
    let hour_keys = |name: &str| -> Vec<CounterKey> {
        hours
            .iter()
            .map(|hour| CounterKey::new(name, CounterBucket::hour(*hour)))
            .collect()
    };
    let totals =
        [names::USERS, names::USERS_VERIFIED, names::USERS_SUSPENDED].map(CounterKey::total);
    let rules = dealpulse_domain::counters::documents_of_kind("rule");
    let watches = dealpulse_domain::counters::documents_of_kind("watch");
    let signups = day_keys(names::SIGNUPS);
    let activations = day_keys(names::ACTIVATIONS);
    let sent_days = day_keys(names::DELIVERIES_SENT);
    let failed_days = day_keys(names::DELIVERIES_FAILED);
    let sent_hours = hour_keys(names::DELIVERIES_SENT);
    let failed_hours = hour_keys(names::DELIVERIES_FAILED);
    let per_channel: Vec<(&'static str, Vec<CounterKey>)> = CHANNELS
        .iter()
        .map(|channel| {
            (
                channel.as_str(),
                hour_keys(&names::deliveries_sent_on(channel.as_str())),
            )
        })
        .collect();
    let mut keys: Vec<CounterKey> = totals.to_vec();
    keys.extend([rules.clone(), watches.clone()]);
    for group in [
        &signups,
        &activations,
        &sent_days,
        &failed_days,
        &sent_hours,
        &failed_hours,
    ] {
        keys.extend(group.iter().cloned());
    }
    for (_, group) in &per_channel {
        keys.extend(group.iter().cloned());
    }
    let counted = Counted::read(counters, keys).await?;
    let series = |keys: &[CounterKey]| -> Vec<DayCount> {
        days.iter()
            .zip(keys)
            .map(|(day, key)| DayCount {
                day: day.to_string(),
                count: counted.get(key),
            })
            .collect()
    };
    Ok(AdminStats {
        generated_at: now,
        users: UserStats {
            total: counted.get(&totals[0]),
            verified: counted.get(&totals[1]),
            suspended: counted.get(&totals[2]),
            new_7d: counted.sum(&signups[23..]),
            new_30d: counted.sum(&signups),
            activated_7d: counted.sum(&activations[23..]),
            activated_30d: counted.sum(&activations),
        },
        rules: counted.get(&rules),
        watches: counted.get(&watches),
        alerts: AlertStats {
            sent_24h: counted.sum(&sent_hours),
            failed_24h: counted.sum(&failed_hours),
            sent_24h_by_channel: per_channel
                .iter()
                .map(|(channel, keys)| (*channel, counted.sum(keys)))
                .filter(|(_, count)| *count > 0)
                .collect(),
        },
        revenue: crate::routes::billing::revenue_summary(documents, now).await?,
        series: StatsSeries {
            signups: series(&signups),
            alerts_sent: series(&sent_days),
            alerts_failed: series(&failed_days),
        },
    })
}

/// Figures for the admin dashboard (from rollups).
#[utoipa::path(get, path = "/api/v1/admin/stats", tag = "admin",
    security(("bearer" = [])),
    responses(
        (status = 200, body = AdminStats),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn stats(
    State(state): State<AdminState>,
    caller: Authenticated,
) -> Result<Json<AdminStats>, ApiError> {
    require_admin(&caller)?;
    let core = &state.core;
    Ok(Json(
        admin_stats(core.store.as_ref(), core.store.as_ref(), core.clock.now()).await?,
    ))
}

/// The same figures as CSV, one `metric,value` row each, then the daily series
/// (`day,signups,alerts_sent,alerts_failed`) and the monthly revenue.
#[utoipa::path(get, path = "/api/v1/admin/stats.csv", tag = "admin",
    security(("bearer" = [])),
    responses(
        (status = 200, body = String, content_type = "text/csv"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn stats_csv(
    State(state): State<AdminState>,
    caller: Authenticated,
) -> Result<Response, ApiError> {
    require_admin(&caller)?;
    let core = &state.core;
    let stats = admin_stats(core.store.as_ref(), core.store.as_ref(), core.clock.now()).await?;
    let mut csv = String::from("metric,value\n");
    let mut row = |metric: &str, value: String| {
        csv.push_str(metric);
        csv.push(',');
        csv.push_str(&value);
        csv.push('\n');
    };
    row("generated_at", stats.generated_at.to_string());
    row("users_total", stats.users.total.to_string());
    row("users_verified", stats.users.verified.to_string());
    row("users_suspended", stats.users.suspended.to_string());
    row("users_new_7d", stats.users.new_7d.to_string());
    row("users_new_30d", stats.users.new_30d.to_string());
    row("users_activated_7d", stats.users.activated_7d.to_string());
    row("users_activated_30d", stats.users.activated_30d.to_string());
    row("rules", stats.rules.to_string());
    row("watches", stats.watches.to_string());
    row("alerts_sent_24h", stats.alerts.sent_24h.to_string());
    row("alerts_failed_24h", stats.alerts.failed_24h.to_string());
    for (channel, count) in &stats.alerts.sent_24h_by_channel {
        row(&format!("alerts_sent_24h_{channel}"), count.to_string());
    }
    for amount in &stats.revenue.mrr {
        row(&format!("mrr_{}", amount.currency), amount.amount.clone());
    }
    if let Some(month) = stats.revenue.months.last() {
        for amount in &month.revenue {
            row(
                &format!("revenue_this_month_{}", amount.currency),
                amount.amount.clone(),
            );
        }
    }
    for (plan, count) in &stats.revenue.subscriptions_by_plan {
        row(&format!("subscriptions_{plan}"), count.to_string());
    }
    csv.push_str("\nday,signups,alerts_sent,alerts_failed\n");
    for ((signups, sent), failed) in stats
        .series
        .signups
        .iter()
        .zip(&stats.series.alerts_sent)
        .zip(&stats.series.alerts_failed)
    {
        csv.push_str(&format!(
            "{},{},{},{}\n",
            signups.day, signups.count, sent.count, failed.count
        ));
    }
    csv.push_str("\nmonth,currency,revenue,invoices\n");
    for month in &stats.revenue.months {
        for amount in &month.revenue {
            csv.push_str(&format!(
                "{},{},{},{}\n",
                month.month, amount.currency, amount.amount, month.invoices
            ));
        }
    }
    let filename = format!(
        "attachment; filename=\"dealpulse-stats-{}.csv\"",
        utc_day(stats.generated_at)
    );
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (header::CONTENT_DISPOSITION, filename),
        ],
        csv,
    )
        .into_response())
}

// ---------------------------------------------------------------------------------------------
// Accounts

#[derive(Debug, Serialize, ToSchema)]
pub struct AdminUserView {
    pub id: String,
    pub email: String,
    pub display_name: Option<String>,
    /// user or admin.
    pub role: String,
    /// active or suspended.
    pub status: String,
    /// free, pro or business.
    pub plan: String,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub email_verified_at: Option<Timestamp>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    pub timezone: String,
}

impl From<&User> for AdminUserView {
    fn from(user: &User) -> Self {
        Self {
            id: user.id.to_string(),
            email: user.email.as_str().to_string(),
            display_name: user
                .display_name
                .as_ref()
                .map(|name| name.as_str().to_string()),
            role: user.role.as_str().to_string(),
            status: user.status.as_str().to_string(),
            plan: user.plan.as_str().to_string(),
            email_verified_at: user.email_verified_at,
            created_at: user.created_at,
            timezone: user.timezone.as_str().to_string(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AdminUserList {
    pub items: Vec<AdminUserView>,
    /// More may follow (also when this page is short: the search stops after examining
    /// [`USERS_EXAMINED_PER_PAGE`] accounts so no request reads the whole table).
    pub next_cursor: Option<String>,
    /// Accounts in total (all filters aside).
    pub total: i64,
}

/// How many accounts one list request examines at most, matches or not.
pub const USERS_EXAMINED_PER_PAGE: usize = 2_000;
/// How far back the list walks signup months.
const MONTHS_BACK: u32 = 240;

/// Where the list stopped: the signup month and the last account examined in it.
#[derive(Debug, Serialize, Deserialize)]
struct UserCursor {
    month: String,
    at: Option<Timestamp>,
    id: Option<UserId>,
}

/// The list's filters, parsed from the query.
struct UserFilter {
    query: Option<String>,
    status: Option<UserStatus>,
    verified: Option<bool>,
    plan: Option<Plan>,
    role: Option<Role>,
}

impl UserFilter {
    fn parse(params: &QueryParams) -> Result<Self, ApiError> {
        let query = params
            .text("q")
            .map(|q| q.trim().to_lowercase())
            .filter(|q| !q.is_empty());
        if query.as_ref().is_some_and(|q| q.chars().count() > 200) {
            return Err(ApiError::invalid("q", "at most 200 characters"));
        }
        Ok(Self {
            query,
            status: params
                .text("status")
                .map(|s| {
                    UserStatus::parse(s)
                        .map_err(|_| ApiError::invalid("status", "active or suspended"))
                })
                .transpose()?,
            verified: params.boolean("verified")?,
            plan: params
                .text("plan")
                .map(|p| {
                    Plan::parse(p).ok_or_else(|| ApiError::invalid("plan", "free, pro or business"))
                })
                .transpose()?,
            role: params
                .text("role")
                .map(|r| Role::parse(r).map_err(|_| ApiError::invalid("role", "user or admin")))
                .transpose()?,
        })
    }

    fn admits(&self, user: &User) -> bool {
        self.status.is_none_or(|status| user.status == status)
            && self
                .verified
                .is_none_or(|verified| user.is_verified() == verified)
            && self.plan.is_none_or(|plan| user.plan == plan)
            && self.role.is_none_or(|role| user.role == role)
            && self.query.as_ref().is_none_or(|query| {
                user.email.as_str().to_lowercase().contains(query)
                    || user
                        .display_name
                        .as_ref()
                        .is_some_and(|name| name.as_str().to_lowercase().contains(query))
            })
    }
}

/// Accounts newest first; `q` searches e-mail and name (case-insensitive, part of either),
/// `status`, `verified`, `plan` and `role` filter.
#[utoipa::path(get, path = "/api/v1/admin/users", tag = "admin",
    security(("bearer" = [])),
    params(("q" = Option<String>, Query), ("status" = Option<String>, Query),
           ("verified" = Option<bool>, Query), ("plan" = Option<String>, Query),
           ("role" = Option<String>, Query), ("limit" = Option<u32>, Query, minimum = 1, maximum = 100),
           ("cursor" = Option<String>, Query)),
    responses(
        (status = 200, body = AdminUserList),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_users(
    State(state): State<AdminState>,
    caller: Authenticated,
    RawQuery(query): RawQuery,
) -> Result<Json<AdminUserList>, ApiError> {
    require_admin(&caller)?;
    let params = QueryParams::parse(
        query.as_deref(),
        &["q", "status", "verified", "plan", "role", "limit", "cursor"],
    )?;
    let limit = params.number("limit", 1, 100, 20)? as usize;
    let filter = UserFilter::parse(&params)?;
    let cursor: Option<UserCursor> = params.text("cursor").map(decode_cursor).transpose()?;
    let store = state.core.store.as_ref();
    let now = state.core.clock.now();
    let total = store.counts(&[CounterKey::total(names::USERS)]).await?[0];

    // An exact address needs no walk.
    if let Some(email) = filter.query.as_deref().and_then(|q| Email::parse(q).ok()) {
        if cursor.is_none() {
            let found = store.user_by_email(&email).await?;
            return Ok(Json(AdminUserList {
                items: found
                    .iter()
                    .filter(|user| filter.admits(user))
                    .map(AdminUserView::from)
                    .collect(),
                next_cursor: None,
                total,
            }));
        }
    }

    // Months that hold accounts, newest first (their counters in one batched read).
    let months: Vec<Date> = last_months(now, MONTHS_BACK).into_iter().rev().collect();
    let month_keys: Vec<CounterKey> = months
        .iter()
        .map(|month| CounterKey::new(names::USERS, CounterBucket::month(*month)))
        .collect();
    let populated = store.counts(&month_keys).await?;
    let start_month = match &cursor {
        Some(cursor) => cursor.month.clone(),
        None => months
            .first()
            .map(|month| month.strftime("%Y-%m").to_string())
            .unwrap_or_default(),
    };
    let mut after = cursor.as_ref().and_then(|c| Some((c.at?, c.id?)));
    let mut items = Vec::new();
    let mut examined = 0;
    let mut next_cursor = None;
    'months: for (month, accounts) in months.iter().zip(populated) {
        let label = month.strftime("%Y-%m").to_string();
        if label > start_month {
            continue;
        }
        if label < start_month {
            after = None;
        }
        if accounts <= 0 {
            continue;
        }
        loop {
            let batch = store.users_signed_up_in(*month, after, 200).await?;
            let Some(last) = batch.last() else { break };
            let batch_len = batch.len();
            after = Some((last.created_at, last.id));
            for user in &batch {
                examined += 1;
                if filter.admits(user) {
                    items.push(AdminUserView::from(user));
                }
                if items.len() == limit || examined == USERS_EXAMINED_PER_PAGE {
                    next_cursor = Some(encode_cursor(&UserCursor {
                        month: label.clone(),
                        at: Some(user.created_at),
                        id: Some(user.id),
                    })?);
                    break 'months;
                }
            }
            if batch_len < 200 {
                break;
            }
        }
        after = None;
    }
    Ok(Json(AdminUserList {
        items,
        next_cursor,
        total,
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditView {
    pub id: String,
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    pub user_id: Option<String>,
    pub actor: Option<String>,
    pub action: String,
    pub ip: Option<String>,
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
}

impl From<AuditEvent> for AuditView {
    fn from(event: AuditEvent) -> Self {
        Self {
            id: event.id.to_string(),
            at: event.at,
            user_id: event.user_id.map(|id| id.to_string()),
            actor: event.actor,
            action: event.action,
            ip: event.ip,
            detail: event.detail,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AdminUserDetail {
    pub user: AdminUserView,
    pub rules: u32,
    pub watches: u32,
    /// Sessions not revoked or expired.
    pub live_sessions: usize,
    /// API keys not revoked.
    pub api_keys: usize,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub activated_at: Option<Timestamp>,
    /// Monday of the last week the account signed in or refreshed a session.
    pub last_active_week: Option<String>,
    /// The account's latest 20 audit events.
    pub recent_audit: Vec<AuditView>,
}

fn parse_user_id(id: &str) -> Result<UserId, ApiError> {
    id.parse().map_err(|_| ApiError::NotFound)
}

/// One account: profile, what it owns, activity and its latest audit events.
#[utoipa::path(get, path = "/api/v1/admin/users/{id}", tag = "admin",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, body = AdminUserDetail),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_user(
    State(state): State<AdminState>,
    caller: Authenticated,
    Path(id): Path<String>,
) -> Result<Json<AdminUserDetail>, ApiError> {
    require_admin(&caller)?;
    let store = state.core.store.as_ref();
    let now = state.core.clock.now();
    let user = store
        .user_by_id(parse_user_id(&id)?)
        .await?
        .ok_or(ApiError::NotFound)?;
    let milestones = records::<AccountMilestones>(store)
        .get(user.id, "current")
        .await?;
    let sessions = store.sessions_of_user(user.id).await?;
    let keys = store.api_keys_of_user(user.id).await?;
    Ok(Json(AdminUserDetail {
        rules: store.count_documents("rule", user.id).await?,
        watches: store.count_documents("watch", user.id).await?,
        live_sessions: sessions
            .iter()
            .filter(|session| session.revoked_at.is_none() && session.expires_at > now)
            .count(),
        api_keys: keys.iter().filter(|key| key.revoked_at.is_none()).count(),
        activated_at: milestones.as_ref().and_then(|m| m.activated_at),
        last_active_week: milestones
            .as_ref()
            .and_then(|m| m.last_active_week)
            .map(|week| week.to_string()),
        recent_audit: store
            .audit_of_user(user.id, 20)
            .await?
            .into_iter()
            .map(AuditView::from)
            .collect(),
        user: AdminUserView::from(&user),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reason": "chargeback fraud"}))]
pub struct StatusChangeBody {
    /// Why, for the audit log (at most 500 characters).
    pub reason: Option<String>,
}

async fn change_status(
    state: &AdminState,
    caller: &Authenticated,
    ip: &Option<Extension<ClientIp>>,
    id: &str,
    body: StatusChangeBody,
    status: UserStatus,
) -> Result<Json<AdminUserView>, ApiError> {
    require_admin(caller)?;
    let reason = body.reason.unwrap_or_default();
    if reason.chars().count() > 500 {
        return Err(ApiError::invalid("reason", "at most 500 characters"));
    }
    let core = &state.core;
    let id = parse_user_id(id)?;
    if id == caller.user.id {
        return Err(ApiError::Conflict(
            "administrators cannot change their own status",
        ));
    }
    let mut user = core.store.user_by_id(id).await?.ok_or(ApiError::NotFound)?;
    let previous = user.status;
    if previous != status {
        user.status = status;
        user.updated_at = core.clock.now();
        user = core.store.update_user(&user).await?;
    }
    if status == UserStatus::Suspended {
        // Suspension ends every session now, not when access tokens run out.
        core.store
            .revoke_user_sessions(id, core.clock.now())
            .await?;
    }
    let action = match status {
        UserStatus::Suspended => "admin.user.suspend",
        UserStatus::Active => "admin.user.activate",
    };
    crate::routes::audit_by(
        core,
        Some(id),
        Some(format!("admin:{}", caller.user.id)),
        action,
        &crate::routes::ip_text(ip.as_deref()),
        serde_json::json!({ "from": previous.as_str(), "to": status.as_str(), "reason": reason }),
    )
    .await?;
    Ok(Json(AdminUserView::from(&user)))
}

/// Suspends an account: it can no longer sign in, refresh or use API keys, its sessions end
/// and its alerts stop. Idempotent; 409 for your own account.
#[utoipa::path(post, path = "/api/v1/admin/users/{id}/suspend", tag = "admin",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    request_body = StatusChangeBody,
    responses(
        (status = 200, body = AdminUserView),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn suspend_user(
    State(state): State<AdminState>,
    ip: Option<Extension<ClientIp>>,
    caller: Authenticated,
    Path(id): Path<String>,
    crate::json::JsonBody(body): crate::json::JsonBody<StatusChangeBody>,
) -> Result<Json<AdminUserView>, ApiError> {
    change_status(&state, &caller, &ip, &id, body, UserStatus::Suspended).await
}

/// Lifts a suspension. Idempotent; 409 for your own account.
#[utoipa::path(post, path = "/api/v1/admin/users/{id}/activate", tag = "admin",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    request_body = StatusChangeBody,
    responses(
        (status = 200, body = AdminUserView),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn activate_user(
    State(state): State<AdminState>,
    ip: Option<Extension<ClientIp>>,
    caller: Authenticated,
    Path(id): Path<String>,
    crate::json::JsonBody(body): crate::json::JsonBody<StatusChangeBody>,
) -> Result<Json<AdminUserView>, ApiError> {
    change_status(&state, &caller, &ip, &id, body, UserStatus::Active).await
}

// ---------------------------------------------------------------------------------------------
// Audit search

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditList {
    pub items: Vec<AuditView>,
    /// More may follow (also after a short page: one request examines at most
    /// [`AUDIT_EXAMINED_PER_PAGE`] events).
    pub next_cursor: Option<String>,
}

/// How many audit events one search request examines at most.
pub const AUDIT_EXAMINED_PER_PAGE: usize = 5_000;
/// The widest window one search covers.
const AUDIT_MAX_DAYS: i64 = 92;

#[derive(Debug, Serialize, Deserialize)]
struct AuditCursor {
    day: Date,
    before: Option<AuditEventId>,
}

fn parse_day(params: &QueryParams, name: &str) -> Result<Option<Date>, ApiError> {
    params
        .text(name)
        .map(|text| {
            text.parse::<Date>()
                .map_err(|_| ApiError::invalid(name, "a date as YYYY-MM-DD"))
        })
        .transpose()
}

/// Audit events newest first between `from` and `to` (UTC days, default the last 7, at most
/// 92), optionally only of one account (`user`), actions starting with `action`, or from `ip`.
#[utoipa::path(get, path = "/api/v1/admin/audit", tag = "admin",
    security(("bearer" = [])),
    params(("from" = Option<String>, Query), ("to" = Option<String>, Query),
           ("user" = Option<String>, Query), ("action" = Option<String>, Query),
           ("ip" = Option<String>, Query), ("limit" = Option<u32>, Query, minimum = 1, maximum = 200),
           ("cursor" = Option<String>, Query)),
    responses(
        (status = 200, body = AuditList),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn search_audit(
    State(state): State<AdminState>,
    caller: Authenticated,
    RawQuery(query): RawQuery,
) -> Result<Json<AuditList>, ApiError> {
    require_admin(&caller)?;
    let params = QueryParams::parse(
        query.as_deref(),
        &["from", "to", "user", "action", "ip", "limit", "cursor"],
    )?;
    let limit = params.number("limit", 1, 200, 50)? as usize;
    let store = state.core.store.as_ref();
    let today = utc_day(state.core.clock.now());
    let to = parse_day(&params, "to")?.unwrap_or(today);
    let from = match parse_day(&params, "from")? {
        Some(from) => from,
        None => to.checked_sub(6.days()).map_err(ApiError::internal)?,
    };
    if from > to {
        return Err(ApiError::invalid("from", "must not be after to"));
    }
    if (to - from).get_days() as i64 >= AUDIT_MAX_DAYS {
        return Err(ApiError::invalid(
            "from",
            format!("at most {AUDIT_MAX_DAYS} days per search"),
        ));
    }
    let user = params
        .text("user")
        .map(|id| {
            id.parse::<UserId>()
                .map_err(|_| ApiError::invalid("user", "an account id"))
        })
        .transpose()?;
    let action = params.text("action").map(str::to_string);
    let ip = params.text("ip").map(str::to_string);
    let admits = |event: &AuditEvent| {
        let day = utc_day(event.at);
        day >= from
            && day <= to
            && action
                .as_ref()
                .is_none_or(|a| event.action.starts_with(a.as_str()))
            && ip
                .as_ref()
                .is_none_or(|ip| event.ip.as_deref() == Some(ip.as_str()))
    };

    if let Some(user) = user {
        // One account's events come from its own index, newest first.
        let events = store
            .audit_of_user(user, AUDIT_EXAMINED_PER_PAGE as u32)
            .await?;
        let before: Option<AuditEventId> = params
            .text("cursor")
            .map(decode_cursor::<AuditCursor>)
            .transpose()?
            .and_then(|cursor| cursor.before);
        let mut items = Vec::new();
        let mut next_cursor = None;
        for event in events {
            if before.is_some_and(|before| event.id >= before) || !admits(&event) {
                continue;
            }
            if items.len() == limit {
                break;
            }
            let (day, id) = (utc_day(event.at), event.id);
            items.push(AuditView::from(event));
            if items.len() == limit {
                next_cursor = Some(encode_cursor(&AuditCursor {
                    day,
                    before: Some(id),
                })?);
            }
        }
        return Ok(Json(AuditList { items, next_cursor }));
    }

    let cursor: Option<AuditCursor> = params.text("cursor").map(decode_cursor).transpose()?;
    let (mut day, mut before) = match cursor {
        Some(cursor) if cursor.day <= to && cursor.day >= from => (cursor.day, cursor.before),
        Some(_) => return Err(ApiError::invalid("cursor", "belongs to another window")),
        None => (to, None),
    };
    let mut items = Vec::new();
    let mut examined = 0;
    loop {
        let batch = store.audit_of_day(day, before, 200).await?;
        let batch_len = batch.len();
        for event in batch {
            examined += 1;
            before = Some(event.id);
            if admits(&event) {
                items.push(AuditView::from(event));
            }
            if items.len() == limit || examined == AUDIT_EXAMINED_PER_PAGE {
                let next = encode_cursor(&AuditCursor { day, before })?;
                return Ok(Json(AuditList {
                    items,
                    next_cursor: Some(next),
                }));
            }
        }
        if batch_len < 200 {
            if day <= from {
                break;
            }
            day = day.yesterday().map_err(ApiError::internal)?;
            before = None;
        }
    }
    Ok(Json(AuditList {
        items,
        next_cursor: None,
    }))
}
