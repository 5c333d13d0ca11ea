//! Route groups. Each Lambda function serves one group; `dealpulse serve` mounts them all.

pub mod account;
pub mod admin;
pub mod alerts;
pub mod analytics;
pub mod auth;
pub mod billing;
pub mod console;
pub mod deals;
pub mod dev;
pub mod email_previews;
pub mod export;
pub mod health;
pub mod ingest;
pub mod newsletter;
pub mod preferences;
pub mod products;
pub mod reports;
pub mod rules;
pub mod watchlist;

use crate::auth::extract::ClientIp;
use crate::problem::ApiError;
use crate::state::Core;
use axum::http::HeaderMap;
use dealpulse_domain::account::AuditEvent;
use dealpulse_domain::ids::{AuditEventId, UserId};

/// The caller's IP as text for rate limits and audit, or `unknown` when the runtime gave none.
pub(crate) fn ip_text(ip: Option<&ClientIp>) -> String {
    ip.map(|ip| ip.0.to_string())
        .unwrap_or_else(|| "unknown".to_string())
}

pub(crate) fn user_agent(headers: &HeaderMap) -> Option<String> {
    headers
        .get(axum::http::header::USER_AGENT)
        .and_then(|value| value.to_str().ok())
        .map(|value| value.chars().take(200).collect())
}

/// Appends an audit event about `user`; a failed write fails the request (nothing is dropped).
pub(crate) async fn audit(
    core: &Core,
    user: Option<UserId>,
    action: &str,
    ip: &str,
    detail: serde_json::Value,
) -> Result<(), ApiError> {
    audit_by(core, user, None, action, ip, detail).await
}

/// Like [`audit`], naming who acted when it is not `user` (an administrator acting on them).
pub(crate) async fn audit_by(
    core: &Core,
    user: Option<UserId>,
    actor: Option<String>,
    action: &str,
    ip: &str,
    detail: serde_json::Value,
) -> Result<(), ApiError> {
    let event = AuditEvent {
        id: AuditEventId::generate(),
        at: core.clock.now(),
        user_id: user,
        actor,
        action: action.to_string(),
        ip: Some(ip.to_string()),
        detail,
    };
    core.store.append_audit(&event).await?;
    Ok(())
}

/// Counts the account active this week for the retention cohorts. Analytics never fail the
/// sign-in they observe: a failed count is logged.
pub(crate) async fn note_activity(core: &Core, user: &dealpulse_domain::account::User) {
    let store = core.store.as_ref();
    if let Err(error) =
        dealpulse_domain::counters::note_activity(store, store, user, core.clock.now()).await
    {
        tracing::warn!(%error, "activity not counted");
    }
}

/// Counts the account's first saved rule or watch (activation). Logged, not failed, like
/// [`note_activity`]: the rule is saved either way.
pub(crate) async fn note_activation(core: &Core, user: &dealpulse_domain::account::User) {
    let store = core.store.as_ref();
    if let Err(error) =
        dealpulse_domain::counters::note_activation(store, store, user, core.clock.now()).await
    {
        tracing::warn!(%error, "activation not counted");
    }
}

/// Moves a product's watcher count (popular products). Logged, not failed, like
/// [`note_activity`]: the watch changes either way.
pub(crate) async fn count_watchers(
    core: &Core,
    product: dealpulse_domain::ids::ProductId,
    delta: i64,
) {
    let key = dealpulse_domain::counters::CounterKey::total(
        dealpulse_domain::analytics::names::watchers(product),
    );
    if let Err(error) = core.store.add_counts(&[(key, delta)]).await {
        tracing::warn!(%error, %product, "watchers not counted");
    }
}

/// Moves the matching stamp after every successful write to rules or watches, so matchers
/// rebuild their index (a failure is logged; matchers also rebuild on a timer). Dry runs,
/// previews, check-now and query parsing change neither rules nor watches.
pub async fn bump_matching_stamp_after_write(
    axum::extract::State(core): axum::extract::State<crate::state::Core>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::http::Method;
    let writes = !matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    ) && !["/test", "/preview", "/check", "/parse-query"]
        .iter()
        .any(|read_only| request.uri().path().ends_with(read_only));
    let response = next.run(request).await;
    if writes && response.status().is_success() {
        if let Err(error) =
            dealpulse_domain::records::bump_matching_stamp(core.store.as_ref()).await
        {
            tracing::error!(%error, "matching stamp not moved; matchers see the change at their next timed rebuild");
        }
    }
    response
}
