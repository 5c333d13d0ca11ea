//! DealPulse's HTTP API, written once over the domain ports. Each Lambda function runs one route
//! group through `lambda_http`; `dealpulse serve` mounts every group on one listener.

pub mod auth;
pub mod emails;
#[doc(hidden)]
pub mod fuzzing;
pub mod json;
pub mod observability;
pub mod openapi;
pub mod problem;
pub mod ratelimit;
pub mod resource;
pub mod routes;
pub mod state;
pub mod zip;

use axum::http::{header, HeaderName, HeaderValue, Method};
use axum::Router;
use observability::MetricsSink;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::set_header::SetResponseHeaderLayer;

/// Origins allowed to call the API from a browser; empty means same-origin only.
pub fn cors_layer(allowed_origins: &[String]) -> Option<CorsLayer> {
    let origins: Vec<HeaderValue> = allowed_origins
        .iter()
        .filter_map(|origin| HeaderValue::from_str(origin.trim()).ok())
        .collect();
    if origins.is_empty() {
        return None;
    }
    Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins))
            .allow_methods([
                Method::GET,
                Method::POST,
                Method::PATCH,
                Method::PUT,
                Method::DELETE,
            ])
            .allow_headers([
                header::AUTHORIZATION,
                header::CONTENT_TYPE,
                header::IF_MATCH,
                header::IF_NONE_MATCH,
                HeaderName::from_static(observability::REQUEST_ID_HEADER),
            ])
            .expose_headers([
                header::ETAG,
                header::RETRY_AFTER,
                HeaderName::from_static(observability::REQUEST_ID_HEADER),
                HeaderName::from_static("ratelimit-limit"),
                HeaderName::from_static("ratelimit-remaining"),
                HeaderName::from_static("ratelimit-reset"),
            ])
            .max_age(std::time::Duration::from_secs(600)),
    )
}

/// Wraps a route group (or all of them) with what every response needs: problem documents for
/// unknown routes and methods, security headers, request ids, a log line and metrics.
pub fn with_common_layers(routes: Router, sink: MetricsSink, cors: Option<CorsLayer>) -> Router {
    let security_headers = [
        ("x-content-type-options", "nosniff"),
        ("x-frame-options", "DENY"),
        ("referrer-policy", "no-referrer"),
        (
            "strict-transport-security",
            "max-age=31536000; includeSubDomains",
        ),
        ("cross-origin-opener-policy", "same-origin"),
        (
            "content-security-policy",
            "default-src 'none'; frame-ancestors 'none'",
        ),
        ("cache-control", "no-store"),
    ];
    let mut app = routes
        .route_layer(axum::middleware::from_fn(observability::tag_route))
        .fallback(problem::not_found_fallback)
        .method_not_allowed_fallback(problem::method_not_allowed_fallback)
        .layer(axum::middleware::from_fn(resource::conditional_get));
    for (name, value) in security_headers {
        app = app.layer(SetResponseHeaderLayer::if_not_present(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        ));
    }
    if let Some(cors) = cors {
        app = app.layer(cors);
    }
    app.layer(axum::middleware::from_fn_with_state(
        sink,
        observability::observe,
    ))
}
