//! The OpenAPI 3.1 document, assembled from the handlers' `#[utoipa::path]` annotations.

use crate::problem::{FieldError, Problem};
use crate::routes::{account, auth, dev, health};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "DealPulse API",
        description = "Deal and price alerts. Errors are RFC 9457 problem documents.",
        license(name = "Apache-2.0")
    ),
    paths(
        health::liveness,
        health::readiness,
        auth::register,
        auth::verify_email,
        auth::resend_verification,
        auth::login,
        auth::refresh,
        auth::logout,
        auth::forgot_password,
        auth::reset_password,
        account::get_me,
        account::update_me,
        account::delete_me,
        account::change_password,
        account::list_sessions,
        account::revoke_session,
        account::create_api_key,
        account::list_api_keys,
        account::revoke_api_key,
        account::list_audit,
        dev::outbox,
    ),
    components(schemas(Problem, FieldError)),
    modifiers(&BearerAuth),
    tags(
        (name = "auth", description = "Registration, log-in, tokens, password reset"),
        (name = "account", description = "The caller's profile, sessions and API keys"),
        (name = "health", description = "Liveness and readiness"),
        (name = "dev", description = "Local mode only"),
    )
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "An access token from /api/v1/auth/login, or an API key (dp_…).",
                    ))
                    .build(),
            ),
        );
    }
}

pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_string();
    doc
}
