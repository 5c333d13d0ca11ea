//! The HTTP boundary's error type and its RFC 9457 `application/problem+json` rendering.
//!
//! Every failure a handler can produce is an [`ApiError`]; its response names the problem type,
//! gives a human sentence and, for validation, the offending fields. Internal detail is logged
//! with the request's span and never sent.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use dealpulse_domain::ports::StoreError;
use serde::Serialize;
use utoipa::ToSchema;

/// One rejected field of a request body or query.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq, Eq)]
pub struct FieldError {
    /// JSON pointer-ish path of the field (`email`, `password`).
    pub field: String,
    pub message: String,
}

/// An RFC 9457 problem document.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// URI identifying the problem type.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Field-level validation errors, when the problem is invalid input.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// The plan limit a request would exceed (403 `plan-limit`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<PlanLimitInfo>,
}

/// Names the plan limit in a 403 answer, so clients can point at the upgrade.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq, Eq)]
pub struct PlanLimitInfo {
    /// `max_rules`, `max_watches`, `min_check_interval_minutes`, `channels:sms`, …
    pub name: String,
    pub plan: String,
    /// What the plan allows, e.g. `10` or `360`.
    pub allowed: String,
}

/// Rate-limit state sent with a 429 (and with successful limited responses).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimitInfo {
    pub limit: u32,
    pub remaining: u32,
    pub reset_secs: u64,
}

impl RateLimitInfo {
    pub fn apply(&self, response: &mut Response) {
        let headers = response.headers_mut();
        for (name, value) in [
            ("ratelimit-limit", self.limit.to_string()),
            ("ratelimit-remaining", self.remaining.to_string()),
            ("ratelimit-reset", self.reset_secs.to_string()),
        ] {
            if let Ok(value) = HeaderValue::from_str(&value) {
                headers.insert(name, value);
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("the request body is not valid JSON: {0}")]
    MalformedJson(String),
    #[error("the request needs Content-Type: application/json")]
    UnsupportedMediaType,
    #[error("the request body is larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("invalid input")]
    Validation(Vec<FieldError>),
    #[error("{0}")]
    BadRequest(String),
    #[error("authentication required")]
    Unauthenticated(&'static str),
    #[error("{detail}")]
    Forbidden {
        kind: &'static str,
        detail: &'static str,
    },
    #[error("not found")]
    NotFound,
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("{0}")]
    Conflict(&'static str),
    #[error("precondition failed")]
    PreconditionFailed,
    #[error("plan limit {0:?}")]
    PlanLimit(PlanLimitInfo),
    #[error("not implemented: {0}")]
    NotImplemented(&'static str),
    #[error("too many requests")]
    RateLimited(RateLimitInfo),
    #[error("a dependency is unavailable")]
    Unavailable(String),
    /// A page the caller named could not be fetched; the text is safe to show. 422, not 502: the
    /// address is the caller's input, and a 5xx would page whoever watches server errors.
    #[error("{0}")]
    PageUnreadable(String),
    /// A Discord/Slack/webhook endpoint did not take a test alert: its answer, for the user
    /// (422 like [`ApiError::PageUnreadable`]: the endpoint is the caller's to fix).
    #[error("the endpoint did not accept the test alert: {0}")]
    EndpointRefused(String),
    /// A page was read but shows no price a check could use.
    #[error("no price found on the page")]
    NoPrice,
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        ApiError::Validation(vec![FieldError {
            field: field.to_string(),
            message: message.into(),
        }])
    }

    pub fn internal(context: impl std::fmt::Display) -> Self {
        ApiError::Internal(context.to_string())
    }

    fn parts(&self) -> (StatusCode, &'static str, &'static str, String) {
        match self {
            ApiError::MalformedJson(why) => (
                StatusCode::BAD_REQUEST,
                "malformed-request",
                "Malformed request",
                format!("The request body could not be read: {why}"),
            ),
            ApiError::UnsupportedMediaType => (
                StatusCode::BAD_REQUEST,
                "missing-content-type",
                "Content-Type required",
                "Send the body as JSON with Content-Type: application/json.".into(),
            ),
            ApiError::PayloadTooLarge { limit } => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload-too-large",
                "Request body too large",
                format!("The request body must not exceed {limit} bytes."),
            ),
            ApiError::Validation(_) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation",
                "Invalid input",
                "One or more fields are invalid; see errors.".into(),
            ),
            ApiError::BadRequest(detail) => (
                StatusCode::BAD_REQUEST,
                "bad-request",
                "Bad request",
                detail.clone(),
            ),
            ApiError::Unauthenticated(detail) => (
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                "Authentication required",
                (*detail).to_string(),
            ),
            ApiError::Forbidden { kind, detail } => (
                StatusCode::FORBIDDEN,
                kind,
                "Forbidden",
                (*detail).to_string(),
            ),
            ApiError::NotFound => (
                StatusCode::NOT_FOUND,
                "not-found",
                "Not found",
                "There is no such resource.".into(),
            ),
            ApiError::MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                "method-not-allowed",
                "Method not allowed",
                "This resource does not support the request method.".into(),
            ),
            ApiError::Conflict(detail) => (
                StatusCode::CONFLICT,
                "conflict",
                "Conflict",
                (*detail).to_string(),
            ),
            ApiError::PreconditionFailed => (
                StatusCode::PRECONDITION_FAILED,
                "precondition-failed",
                "Precondition failed",
                "The resource changed since you read it (If-Match did not match).".into(),
            ),
            ApiError::PlanLimit(info) => (
                StatusCode::FORBIDDEN,
                "plan-limit",
                "Plan limit reached",
                format!(
                    "Your {} plan allows {} for {}; upgrade the plan or remove something first.",
                    info.plan, info.allowed, info.name
                ),
            ),
            ApiError::NotImplemented(what) => (
                StatusCode::NOT_IMPLEMENTED,
                "not-implemented",
                "Not implemented yet",
                (*what).to_string(),
            ),
            ApiError::RateLimited(info) => (
                StatusCode::TOO_MANY_REQUESTS,
                "rate-limited",
                "Too many requests",
                format!("Try again in {} seconds.", info.reset_secs.max(1)),
            ),
            ApiError::Unavailable(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "Service unavailable",
                "A service this request depends on is unavailable; try again shortly.".into(),
            ),
            ApiError::PageUnreadable(detail) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "page-unreadable",
                "The page could not be read",
                detail.clone(),
            ),
            ApiError::EndpointRefused(detail) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "endpoint-refused",
                "The endpoint did not accept the test alert",
                detail.clone(),
            ),
            ApiError::NoPrice => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "no-price",
                "No price found",
                "no price found on the page".into(),
            ),
            ApiError::Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "Internal error",
                "Something went wrong on our side; it has been logged.".into(),
            ),
        }
    }
}

/// Base of problem type URIs; the path segment names the problem.
pub const PROBLEM_BASE: &str = "https://dealpulse.dev/problems/";

pub fn problem_response(status: StatusCode, problem: &Problem) -> Response {
    let body = serde_json::to_vec(problem).unwrap_or_else(|_| b"{}".to_vec());
    let mut response = (status, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    response
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, kind, title, detail) = self.parts();
        match &self {
            ApiError::Internal(why) => tracing::error!(error = %why, "request failed"),
            ApiError::Unavailable(why) => tracing::warn!(error = %why, "dependency unavailable"),
            _ => {}
        }
        let errors = match self {
            ApiError::Validation(ref errors) => errors.clone(),
            ApiError::NoPrice => vec![FieldError {
                field: "url".into(),
                message: "no price found on the page".into(),
            }],
            _ => Vec::new(),
        };
        let limit = match self {
            ApiError::PlanLimit(ref info) => Some(info.clone()),
            _ => None,
        };
        let problem = Problem {
            kind: format!("{PROBLEM_BASE}{kind}"),
            title: title.to_string(),
            status: status.as_u16(),
            detail,
            errors,
            limit,
        };
        let mut response = problem_response(status, &problem);
        match self {
            ApiError::RateLimited(info) => {
                info.apply(&mut response);
                if let Ok(value) = HeaderValue::from_str(&info.reset_secs.max(1).to_string()) {
                    response.headers_mut().insert(header::RETRY_AFTER, value);
                }
            }
            ApiError::Unauthenticated(_) => {
                response.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"dealpulse\""),
                );
            }
            _ => {}
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound => ApiError::NotFound,
            StoreError::Conflict(what) => ApiError::Conflict(what),
            StoreError::Stale => {
                ApiError::Conflict("the resource was changed concurrently; read it and retry")
            }
            StoreError::LimitReached(_) => {
                ApiError::Internal("a store quota was reached without a plan context".into())
            }
            StoreError::Unavailable(why) => ApiError::Unavailable(why),
            StoreError::Corrupt(why) => ApiError::Internal(format!("corrupt record: {why}")),
        }
    }
}

/// Answers for paths no router knows.
pub async fn not_found_fallback() -> ApiError {
    ApiError::NotFound
}

/// Answers for known paths with an unsupported method.
pub async fn method_not_allowed_fallback() -> ApiError {
    ApiError::MethodNotAllowed
}
