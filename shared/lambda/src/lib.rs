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
use std::collections::HashMap;
use std::sync::Arc;

/// Issuer and audience of the access tokens every function issues and accepts.
pub const TOKEN_ISSUER: &str = "dealpulse";
pub const TOKEN_AUDIENCE: &str = "dealpulse-api";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {0} is required")]
    Missing(&'static str),
    #[error("environment variable {name} is invalid: {why}")]
    Invalid { name: &'static str, why: String },
}

/// The process environment, read once at start-up.
pub struct FunctionEnv {
    vars: HashMap<String, String>,
}

impl FunctionEnv {
    pub fn from_process() -> Self {
        Self {
            vars: std::env::vars().collect(),
        }
    }

    pub fn from_map(vars: HashMap<String, String>) -> Self {
        Self { vars }
    }

    pub fn required(&self, name: &'static str) -> Result<String, ConfigError> {
        self.optional(name).ok_or(ConfigError::Missing(name))
    }

    pub fn optional(&self, name: &str) -> Option<String> {
        self.vars
            .get(name)
            .map(|value| value.trim().to_string())
            .filter(|value| !value.is_empty())
    }

    /// Name of this function (for metrics), from the Lambda environment or the fallback.
    pub fn function_name(&self, fallback: &str) -> String {
        self.optional("AWS_LAMBDA_FUNCTION_NAME")
            .unwrap_or_else(|| fallback.to_string())
    }

    pub fn allowed_origins(&self) -> Vec<String> {
        self.optional("DEALPULSE_ALLOWED_ORIGINS")
            .map(|origins| origins.split(',').map(|o| o.trim().to_string()).collect())
            .unwrap_or_default()
    }

    /// The shared parts of the API state: token keys from `DEALPULSE_JWT_SECRET`, the public URL
    /// for e-mail links from `DEALPULSE_PUBLIC_URL`.
    pub fn core(&self, store: Arc<dyn Store>) -> Result<Core, ConfigError> {
        let secret = SigningSecret::new(self.required("DEALPULSE_JWT_SECRET")?.into_bytes())
            .map_err(|why| ConfigError::Invalid {
                name: "DEALPULSE_JWT_SECRET",
                why: why.to_string(),
            })?;
        let public_url = self.required("DEALPULSE_PUBLIC_URL")?;
        // Plan limits are data: DEALPULSE_PLANS (JSON) overrides the shipped catalogue.
        let plans = match self.optional("DEALPULSE_PLANS") {
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
