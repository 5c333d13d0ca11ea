//! Runs a DealPulse router as a Lambda function behind an API Gateway HTTP API.
//!
//! Each `functions/*/src/main.rs` reads [`FunctionEnv`] once, builds its SDK clients once, builds
//! its router, and hands it to [`run`]. Everything here is testable without the Lambda runtime.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use axum::Router;
use dealpulse_api::auth::extract::ClientIp;
use dealpulse_api::auth::tokens::{SigningSecret, TokenKeys};
use dealpulse_api::observability::MetricsSink;
use dealpulse_api::state::{Core, Settings};
use dealpulse_domain::clock::SystemClock;
use dealpulse_domain::plans::PlanCatalog;
use dealpulse_domain::ports::Store;
use lambda_http::request::RequestContext;
use lambda_http::RequestExt;
use std::sync::Arc;

/// Issuer and audience of the access tokens every function issues and accepts.
pub const TOKEN_ISSUER: &str = "dealpulse";
pub const TOKEN_AUDIENCE: &str = "dealpulse-api";

pub use dealpulse_aws::env::{ConfigError, FunctionEnv};

/// The shared parts of the API state: token keys from `DEALPULSE_JWT_SECRET`, the public URL
/// for e-mail links from `DEALPULSE_PUBLIC_URL`.
pub fn core(env: &FunctionEnv, store: Arc<dyn Store>) -> Result<Core, ConfigError> {
    let secret =
        SigningSecret::new(env.required("DEALPULSE_JWT_SECRET")?.into_bytes()).map_err(|why| {
            ConfigError::Invalid {
                name: "DEALPULSE_JWT_SECRET",
                why: why.to_string(),
            }
        })?;
    let public_url = env.required("DEALPULSE_PUBLIC_URL")?;
    // Plan limits are data: DEALPULSE_PLANS (JSON) overrides the shipped catalogue.
    let plans = match env.optional("DEALPULSE_PLANS") {
        Some(json) => PlanCatalog::from_json(&json),
        None => PlanCatalog::builtin(),
    }
    .map_err(|why| ConfigError::Invalid {
        name: "DEALPULSE_PLANS",
        why: why.to_string(),
    })?;
    Ok(Core {
        store,
        clock: Arc::new(SystemClock),
        keys: Arc::new(TokenKeys::new(&secret, TOKEN_ISSUER, TOKEN_AUDIENCE)),
        settings: Arc::new(Settings::new(&public_url, "lambda")),
        plans: Arc::new(plans),
    })
}

/// Copies API Gateway's `sourceIp` into the request as [`ClientIp`].
async fn client_ip_from_context(mut request: Request, next: Next) -> Response {
    let source_ip = match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(context)) => context
            .http
            .source_ip
            .as_deref()
            .and_then(|ip| ip.parse().ok()),
        _ => None,
    };
    if let Some(ip) = source_ip {
        request.extensions_mut().insert(ClientIp(ip));
    }
    next.run(request).await
}

/// The router as the Lambda function serves it: common layers, EMF metrics, caller IP.
pub fn lambda_app(routes: Router, env: &FunctionEnv, function: &str) -> Router {
    let sink = MetricsSink::Emf {
        function: env.function_name(function),
    };
    dealpulse_api::with_common_layers(
        routes,
        sink,
        dealpulse_api::cors_layer(&env.allowed_origins()),
    )
    .layer(axum::middleware::from_fn(client_ip_from_context))
}

/// Hands the app to the Lambda runtime; returns only when the runtime stops.
pub async fn run(app: Router) -> Result<(), lambda_http::Error> {
    lambda_http::run(app).await
}
