//! `/health` (liveness), `/health/ready` (dependencies reachable), `/openapi.json` and `/docs`.
//! Served by the `health` function.

use crate::openapi;
use crate::state::HealthState;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use std::collections::BTreeMap;
use std::future::Future;
use std::time::{Duration, Instant};
use utoipa::ToSchema;

pub fn router(state: HealthState) -> Router {
    Router::new()
        .route("/health", get(liveness))
        .route("/health/ready", get(readiness))
        .route("/openapi.json", get(openapi_document))
        .route("/docs", get(docs_page))
        .with_state(state)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Liveness {
    pub status: &'static str,
    pub version: &'static str,
    /// `local` or `lambda`.
    pub runtime: &'static str,
}

/// The process is up.
#[utoipa::path(get, path = "/health", tag = "health",
    responses((status = 200, body = Liveness)))]
pub async fn liveness(State(state): State<HealthState>) -> Json<Liveness> {
    Json(Liveness {
        status: "ok",
        version: env!("CARGO_PKG_VERSION"),
        runtime: state.runtime,
    })
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Check {
    pub ok: bool,
    pub latency_ms: f64,
    /// Why the check failed, in general terms.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Readiness {
    /// `ready` when every check passed, otherwise `degraded`.
    pub status: &'static str,
    pub checks: BTreeMap<&'static str, Check>,
}

/// A dependency check gets this long before it counts as failed.
const CHECK_TIMEOUT: Duration = Duration::from_secs(3);

async fn timed<F, E>(check: F) -> Check
where
    F: Future<Output = Result<(), E>>,
    E: std::fmt::Display,
{
    let started = Instant::now();
    let outcome = tokio::time::timeout(CHECK_TIMEOUT, check).await;
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    let error = match outcome {
        Ok(Ok(())) => None,
        Ok(Err(error)) => {
            tracing::warn!(%error, "readiness check failed");
            Some("unreachable".to_string())
        }
        Err(_) => Some("timed out".to_string()),
    };
    Check {
        ok: error.is_none(),
        latency_ms,
        error,
    }
}

/// The store, the delivery queue and the mailer all answer. 503 when any does not.
#[utoipa::path(get, path = "/health/ready", tag = "health",
    responses((status = 200, body = Readiness), (status = 503, body = Readiness)))]
pub async fn readiness(State(state): State<HealthState>) -> Response {
    let (store, queue, mailer) = tokio::join!(
        timed(state.store.check()),
        timed(state.queue.check()),
        timed(state.mailer.check()),
    );
    let checks = BTreeMap::from([("store", store), ("queue", queue), ("mailer", mailer)]);
    let ready = checks.values().all(|check| check.ok);
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        Json(Readiness {
            status: if ready { "ready" } else { "degraded" },
            checks,
        }),
    )
        .into_response()
}

/// The OpenAPI 3.1 description of every route, generated from the handlers (committed; see
/// [`openapi::PUBLISHED`]).
pub async fn openapi_document() -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        openapi::PUBLISHED,
    )
        .into_response()
}

/// A self-contained page listing the operations of `/openapi.json` (no CDN, works offline).
pub async fn docs_page() -> Response {
    (
        [(
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'",
        )],
        Html(include_str!("docs.html")),
    )
        .into_response()
}
