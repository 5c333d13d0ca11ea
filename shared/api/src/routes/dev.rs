//! `/api/v1/dev/outbox` and `/api/v1/dev/sms-outbox`: mail and text messages the local
//! outboxes kept instead of sending. Mounted by `dealpulse serve` only; no Lambda function
//! serves them.

use crate::emails::link_token;
use crate::problem::{ApiError, Problem};
use crate::state::DevState;
use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

pub fn router(state: DevState) -> Router {
    Router::new()
        .route("/api/v1/dev/outbox", get(outbox))
        .route("/api/v1/dev/sms-outbox", get(sms_outbox))
        .with_state(state)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OutboxMessage {
    pub id: String,
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: Option<String>,
    pub created_at: String,
    /// The link token in the message, if it carries one (verification, reset).
    pub token: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OutboxList {
    pub items: Vec<OutboxMessage>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct OutboxQuery {
    /// Only messages to this address.
    pub to: Option<String>,
    /// At most this many (1–200, default 50).
    pub limit: Option<usize>,
}

/// Mail kept by the local outbox, newest first (local mode only).
#[utoipa::path(get, path = "/api/v1/dev/outbox", tag = "dev",
    params(OutboxQuery),
    responses(
        (status = 200, body = OutboxList),
        (status = 400, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn outbox(
    State(state): State<DevState>,
    query: Result<Query<OutboxQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<OutboxList>, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let limit = query.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::invalid(
            "limit",
            "limit must be between 1 and 200",
        ));
    }
    let wanted = query.to.map(|to| to.trim().to_lowercase());
    let entries = state
        .outbox
        .recent(if wanted.is_some() { 1000 } else { limit })
        .await
        .map_err(|e| ApiError::Unavailable(e.to_string()))?;
    let items = entries
        .into_iter()
        .filter(|entry| wanted.as_ref().is_none_or(|to| &entry.to == to))
        .take(limit)
        .map(|entry| OutboxMessage {
            token: link_token(&entry.text),
            id: entry.id,
            to: entry.to,
            subject: entry.subject,
            text: entry.text,
            html: entry.html,
            created_at: entry.created_at,
        })
        .collect();
    Ok(Json(OutboxList { items }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SmsOutboxMessage {
    pub id: String,
    pub to: String,
    pub body: String,
    pub created_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SmsOutboxList {
    pub items: Vec<SmsOutboxMessage>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct SmsOutboxQuery {
    /// Only messages to this E.164 number.
    pub to: Option<String>,
    /// At most this many (1–200, default 50).
    pub limit: Option<usize>,
}

/// Text messages kept by the local SMS outbox, newest first (local mode only).
#[utoipa::path(get, path = "/api/v1/dev/sms-outbox", tag = "dev",
    params(SmsOutboxQuery),
    responses(
        (status = 200, body = SmsOutboxList),
        (status = 400, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn sms_outbox(
    State(state): State<DevState>,
    query: Result<Query<SmsOutboxQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<SmsOutboxList>, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let limit = query.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::invalid(
            "limit",
            "limit must be between 1 and 200",
        ));
    }
    let wanted = query.to.map(|to| to.trim().to_string());
    let entries = state
        .sms
        .recent_sms(if wanted.is_some() { 1000 } else { limit })
        .await
        .map_err(|e| ApiError::Unavailable(e.to_string()))?;
    Ok(Json(SmsOutboxList {
        items: entries
            .into_iter()
            .filter(|entry| wanted.as_ref().is_none_or(|to| &entry.to == to))
            .take(limit)
            .map(|entry| SmsOutboxMessage {
                id: entry.id,
                to: entry.to,
                body: entry.body,
                created_at: entry.created_at,
            })
            .collect(),
    }))
}
