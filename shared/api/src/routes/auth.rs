//! `/api/v1/auth`: registration, e-mail verification, login, token refresh, logout and password
//! reset. Served by the `api-auth` function.

use crate::auth::extract::{Authenticated, ClientIp, Credential};
use crate::auth::passwords::{hash_password, verify_against_nothing, verify_password};
use crate::auth::tokens::generate_refresh_token;
use crate::emails;
use crate::json::JsonBody;
use crate::problem::{ApiError, FieldError, Problem};
use crate::ratelimit::enforce;
use crate::routes::account::UserProfile;
use crate::routes::{audit, ip_text, user_agent};
use crate::state::{AuthState, Core};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Extension, Json, Router};
use dealpulse_domain::account::{
    DisplayName, Email, Locale, OneTimeToken, Password, Role, Session, TimeZoneName, TokenPurpose,
    User, UserStatus,
};
use dealpulse_domain::ids::{SessionId, UserId};
use dealpulse_domain::mail::EmailMessage;
use dealpulse_domain::ports::StoreError;
use dealpulse_domain::secret::TokenHash;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub fn router(state: AuthState) -> Router {
    Router::new()
        .route("/api/v1/auth/register", post(register))
        .route("/api/v1/auth/verify-email", post(verify_email))
        .route(
            "/api/v1/auth/resend-verification",
            post(resend_verification),
        )
        .route("/api/v1/auth/login", post(login))
        .route("/api/v1/auth/refresh", post(refresh))
        .route("/api/v1/auth/logout", post(logout))
        .route("/api/v1/auth/password/forgot", post(forgot_password))
        .route("/api/v1/auth/password/reset", post(reset_password))
        .with_state(state)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    #[schema(example = "ada@example.com")]
    pub email: String,
    /// 8 to 128 characters.
    pub password: String,
    pub display_name: Option<String>,
    /// IANA time zone, default `UTC`.
    pub timezone: Option<String>,
    /// BCP 47 language tag, default `en`.
    pub locale: Option<String>,
}

/// A registration with every field parsed.
pub(crate) struct NewAccount {
    email: Email,
    password: Password,
    display_name: Option<DisplayName>,
    timezone: TimeZoneName,
    locale: Locale,
}

/// Collects every field's problem at once, so the client can show them all.
#[derive(Default)]
pub(crate) struct Fields(Vec<FieldError>);

impl Fields {
    pub(crate) fn take<T, E: std::fmt::Display>(
        &mut self,
        field: &str,
        parsed: Result<T, E>,
    ) -> Option<T> {
        match parsed {
            Ok(value) => Some(value),
            Err(error) => {
                self.0.push(FieldError {
                    field: field.to_string(),
                    message: error.to_string(),
                });
                None
            }
        }
    }

    pub(crate) fn finish(self) -> Result<(), ApiError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Validation(self.0))
        }
    }
}

impl TryFrom<RegisterRequest> for NewAccount {
    type Error = ApiError;

    fn try_from(request: RegisterRequest) -> Result<Self, Self::Error> {
        let mut fields = Fields::default();
        let email = fields.take("email", Email::parse(&request.email));
        let password = fields.take("password", Password::parse(&request.password));
        let display_name = match request.display_name.as_deref() {
            Some(name) => fields.take("display_name", DisplayName::parse(name).map(Some)),
            None => Some(None),
        };
        let timezone = match request.timezone.as_deref() {
            Some(zone) => fields.take("timezone", TimeZoneName::parse(zone)),
            None => Some(TimeZoneName::utc()),
        };
        let locale = match request.locale.as_deref() {
            Some(locale) => fields.take("locale", Locale::parse(locale)),
            None => Some(Locale::english()),
        };
        match (email, password, display_name, timezone, locale) {
            (Some(email), Some(password), Some(display_name), Some(timezone), Some(locale)) => {
                Ok(NewAccount {
                    email,
                    password,
                    display_name,
                    timezone,
                    locale,
                })
            }
            _ => Err(fields
                .finish()
                .err()
                .unwrap_or_else(|| ApiError::internal("field parsing"))),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RegisterResponse {
    pub user: UserProfile,
    /// False when the verification e-mail could not be handed to the mail service; use
    /// `resend-verification` later.
    pub verification_email_sent: bool,
}

/// Creates an account and e-mails a verification link. Log-in works once the address is verified.
#[utoipa::path(post, path = "/api/v1/auth/register", tag = "auth",
    request_body = RegisterRequest,
    responses(
        (status = 201, body = RegisterResponse),
        (status = 409, description = "E-mail already registered", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn register(
    State(state): State<AuthState>,
    ip: Option<Extension<ClientIp>>,
    JsonBody(request): JsonBody<RegisterRequest>,
) -> Result<Response, ApiError> {
    let core = &state.core;
    let ip = ip_text(ip.as_deref());
    let limits = core.settings.limits;
    let ip_limit = enforce(core, "register-ip", &ip, limits.register_per_ip).await?;
    let account = NewAccount::try_from(request)?;
    enforce(
        core,
        "register-account",
        account.email.as_str(),
        limits.register_per_account,
    )
    .await?;

    let now = core.clock.now();
    let user = User {
        id: UserId::generate(),
        email: account.email,
        password_hash: hash_password(&account.password)
            .await
            .map_err(ApiError::internal)?,
        display_name: account.display_name,
        timezone: account.timezone,
        locale: account.locale,
        role: Role::User,
        plan: dealpulse_domain::plans::Plan::Free,
        status: UserStatus::Active,
        email_verified_at: None,
        password_changed_at: now,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    match core.store.insert_user(&user).await {
        Ok(()) => {}
        Err(StoreError::Conflict(_)) => {
            return Err(ApiError::Conflict(
                "an account with this e-mail address already exists",
            ))
        }
        Err(other) => return Err(other.into()),
    }
    audit(
        core,
        Some(user.id),
        "account.registered",
        &ip,
        serde_json::json!({}),
    )
    .await?;
    let verification_email_sent = send_verification(&state, &user).await?;
    let mut response = (
        StatusCode::CREATED,
        Json(RegisterResponse {
            user: UserProfile::from(&user),
            verification_email_sent,
        }),
    )
        .into_response();
    ip_limit.apply(&mut response);
    Ok(response)
}

/// Issues a verification link and mails it; a mail failure is logged and reported as `false`
/// because the account itself was created and the user can ask for another link.
async fn send_verification(state: &AuthState, user: &User) -> Result<bool, ApiError> {
    let core = &state.core;
    let ttl = core.settings.verification_ttl_secs;
    let link = issue_link(core, TokenPurpose::VerifyEmail, user.id, ttl).await?;
    let url = format!("{}/verify-email?token={link}", core.settings.public_url);
    let message = emails::verification(&user.email, &url, ttl / 3600);
    Ok(send_logged(state, &message).await)
}

async fn send_logged(state: &AuthState, message: &EmailMessage) -> bool {
    match state.mailer.send(message).await {
        Ok(sent) => {
            tracing::info!(message_id = %sent.message_id, subject = %message.subject, "e-mail sent");
            true
        }
        Err(error) => {
            tracing::error!(%error, subject = %message.subject, "e-mail could not be sent");
            false
        }
    }
}

async fn issue_link(
    core: &Core,
    purpose: TokenPurpose,
    user: UserId,
    ttl_secs: i64,
) -> Result<String, ApiError> {
    let expires_at = core
        .clock
        .now()
        .checked_add(SignedDuration::from_secs(ttl_secs))
        .map_err(ApiError::internal)?;
    let link = core
        .keys
        .issue_link(purpose, user, expires_at)
        .map_err(ApiError::internal)?;
    core.store
        .insert_token(&OneTimeToken {
            hash: TokenHash::of(&link.nonce),
            purpose,
            user_id: user,
            expires_at,
        })
        .await?;
    Ok(link.token)
}

/// Checks a link token and consumes it; any failure is the same 400 so tokens cannot be probed.
async fn consume_link(core: &Core, token: &str, purpose: TokenPurpose) -> Result<User, ApiError> {
    const INVALID: &str = "The link is invalid, expired or already used; ask for a new one.";
    let now = core.clock.now();
    let (user_id, nonce) = core
        .keys
        .verify_link(token, purpose, now)
        .map_err(|_| ApiError::BadRequest(INVALID.into()))?;
    let consumed = core
        .store
        .consume_token(&TokenHash::of(&nonce), purpose, now)
        .await?
        .filter(|stored| stored.user_id == user_id)
        .ok_or_else(|| ApiError::BadRequest(INVALID.into()))?;
    core.store
        .user_by_id(consumed.user_id)
        .await?
        .ok_or_else(|| ApiError::BadRequest(INVALID.into()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    /// The `token` query parameter of the e-mailed link.
    pub token: String,
}

/// Confirms the e-mail address with the token from the verification link (single use).
#[utoipa::path(post, path = "/api/v1/auth/verify-email", tag = "auth",
    request_body = TokenRequest,
    responses(
        (status = 200, body = UserProfile),
        (status = 400, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn verify_email(
    State(state): State<AuthState>,
    ip: Option<Extension<ClientIp>>,
    JsonBody(request): JsonBody<TokenRequest>,
) -> Result<Json<UserProfile>, ApiError> {
    let core = &state.core;
    let user = consume_link(core, &request.token, TokenPurpose::VerifyEmail).await?;
    let user = if user.is_verified() {
        user
    } else {
        let now = core.clock.now();
        let mut verified = user.clone();
        verified.email_verified_at = Some(now);
        verified.updated_at = now;
        core.store.update_user(&verified).await?
    };
    audit(
        core,
        Some(user.id),
        "email.verified",
        &ip_text(ip.as_deref()),
        serde_json::json!({}),
    )
    .await?;
    Ok(Json(UserProfile::from(&user)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmailRequest {
    pub email: String,
}

/// Accepted; says nothing about whether the address is registered.
#[derive(Debug, Serialize, ToSchema)]
pub struct Accepted {
    pub status: &'static str,
}

fn accepted() -> (StatusCode, Json<Accepted>) {
    (StatusCode::ACCEPTED, Json(Accepted { status: "accepted" }))
}

/// Sends another verification link if the address belongs to an unverified account. Answers the
/// same either way; one request per address per cooldown (429 with Retry-After).
#[utoipa::path(post, path = "/api/v1/auth/resend-verification", tag = "auth",
    request_body = EmailRequest,
    responses(
        (status = 202, body = Accepted),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn resend_verification(
    State(state): State<AuthState>,
    ip: Option<Extension<ClientIp>>,
    JsonBody(request): JsonBody<EmailRequest>,
) -> Result<Response, ApiError> {
    let core = &state.core;
    let limits = core.settings.limits;
    enforce(
        core,
        "email-ip",
        &ip_text(ip.as_deref()),
        limits.email_per_ip,
    )
    .await?;
    let email = Email::parse(&request.email).map_err(|e| ApiError::invalid("email", e.0))?;
    let cooldown = enforce(core, "resend", email.as_str(), limits.resend_per_account).await?;
    if let Some(user) = core.store.user_by_email(&email).await? {
        if !user.is_verified() && !user.is_suspended() {
            send_verification(&state, &user).await?;
        }
    }
    let mut response = accepted().into_response();
    cooldown.apply(&mut response);
    Ok(response)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
}

/// A new access token and the refresh token that renews it.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenPair {
    /// HS256 JWT for `Authorization: Bearer`.
    pub access_token: String,
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    /// Opaque; rotated on every use. Presenting a rotated one ends the session.
    pub refresh_token: String,
    pub refresh_expires_in: i64,
    #[schema(value_type = String)]
    pub session_id: SessionId,
    pub user: UserProfile,
}

async fn start_session(
    core: &Core,
    user: &User,
    headers: &HeaderMap,
) -> Result<TokenPair, ApiError> {
    let now = core.clock.now();
    let refresh_token = generate_refresh_token().map_err(ApiError::internal)?;
    let expires_at = now
        .checked_add(SignedDuration::from_secs(core.settings.refresh_ttl_secs))
        .map_err(ApiError::internal)?;
    let session = Session {
        id: SessionId::generate(),
        user_id: user.id,
        current_refresh_hash: TokenHash::of(&refresh_token),
        created_at: now,
        last_refreshed_at: now,
        expires_at,
        revoked_at: None,
        user_agent: user_agent(headers),
    };
    core.store.insert_session(&session).await?;
    crate::routes::note_activity(core, user).await;
    Ok(token_pair(core, user, session.id, refresh_token, now))
}

fn token_pair(
    core: &Core,
    user: &User,
    session: SessionId,
    refresh_token: String,
    now: Timestamp,
) -> TokenPair {
    let settings = &core.settings;
    TokenPair {
        access_token: core.keys.issue_access(
            user.id,
            session,
            user.role,
            now,
            settings.access_ttl_secs,
        ),
        token_type: "Bearer",
        expires_in: settings.access_ttl_secs,
        refresh_token,
        refresh_expires_in: settings.refresh_ttl_secs,
        session_id: session,
        user: UserProfile::from(user),
    }
}

/// Exchanges e-mail and password for tokens. Limited per IP and per account.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, body = TokenPair),
        (status = 401, description = "Wrong e-mail or password", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "E-mail not verified, or account suspended", body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn login(
    State(state): State<AuthState>,
    ip: Option<Extension<ClientIp>>,
    headers: HeaderMap,
    JsonBody(request): JsonBody<LoginRequest>,
) -> Result<Response, ApiError> {
    const WRONG: &str = "The e-mail address or password is wrong.";
    let core = &state.core;
    let ip = ip_text(ip.as_deref());
    let limits = core.settings.limits;
    enforce(core, "login-ip", &ip, limits.login_per_ip).await?;
    let email = Email::parse(&request.email).map_err(|e| ApiError::invalid("email", e.0))?;
    let account_limit = enforce(
        core,
        "login-account",
        email.as_str(),
        limits.login_per_account,
    )
    .await?;

    let Some(user) = core.store.user_by_email(&email).await? else {
        verify_against_nothing(&request.password).await;
        return Err(ApiError::Unauthenticated(WRONG));
    };
    if !verify_password(&request.password, &user.password_hash).await {
        audit(
            core,
            Some(user.id),
            "login.failed",
            &ip,
            serde_json::json!({}),
        )
        .await?;
        return Err(ApiError::Unauthenticated(WRONG));
    }
    if user.is_suspended() {
        return Err(ApiError::Forbidden {
            kind: "account-suspended",
            detail: "This account is suspended.",
        });
    }
    if !user.is_verified() {
        return Err(ApiError::Forbidden {
            kind: "email-not-verified",
            detail: "Confirm your e-mail address first; the link is in your inbox, or ask for a new one.",
        });
    }
    let pair = start_session(core, &user, &headers).await?;
    audit(
        core,
        Some(user.id),
        "login.succeeded",
        &ip,
        serde_json::json!({ "session_id": pair.session_id }),
    )
    .await?;
    let mut response = Json(pair).into_response();
    account_limit.apply(&mut response);
    Ok(response)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

/// Rotates the refresh token and issues a new access token. Reusing a rotated refresh token
/// revokes the whole session (token theft detection).
#[utoipa::path(post, path = "/api/v1/auth/refresh", tag = "auth",
    request_body = RefreshRequest,
    responses(
        (status = 200, body = TokenPair),
        (status = 401, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn refresh(
    State(state): State<AuthState>,
    ip: Option<Extension<ClientIp>>,
    JsonBody(request): JsonBody<RefreshRequest>,
) -> Result<Json<TokenPair>, ApiError> {
    const ENDED: &str = "The refresh token is invalid or the session has ended; log in again.";
    let core = &state.core;
    let now = core.clock.now();
    let presented = TokenHash::of(&request.refresh_token);
    let session = core
        .store
        .session_by_refresh_hash(&presented)
        .await?
        .ok_or(ApiError::Unauthenticated(ENDED))?;
    if !session.is_live(now) {
        return Err(ApiError::Unauthenticated(ENDED));
    }
    if session.current_refresh_hash != presented {
        return Err(reuse_detected(core, &session, &ip_text(ip.as_deref())).await);
    }
    let user = core
        .store
        .user_by_id(session.user_id)
        .await?
        .filter(|user| !user.is_suspended())
        .ok_or(ApiError::Unauthenticated(ENDED))?;
    let next = generate_refresh_token().map_err(ApiError::internal)?;
    let expires_at = now
        .checked_add(SignedDuration::from_secs(core.settings.refresh_ttl_secs))
        .map_err(ApiError::internal)?;
    match core
        .store
        .rotate_refresh(
            session.id,
            &presented,
            &TokenHash::of(&next),
            now,
            expires_at,
        )
        .await
    {
        Ok(()) => {
            crate::routes::note_activity(core, &user).await;
            Ok(Json(token_pair(core, &user, session.id, next, now)))
        }
        // Someone rotated this token between our read and write: the same token was used twice.
        Err(StoreError::Stale) => {
            Err(reuse_detected(core, &session, &ip_text(ip.as_deref())).await)
        }
        Err(other) => Err(other.into()),
    }
}

async fn reuse_detected(core: &Core, session: &Session, ip: &str) -> ApiError {
    tracing::warn!(session_id = %session.id, "rotated refresh token reused; revoking session");
    let now = core.clock.now();
    if let Err(error) = core.store.revoke_session(session.id, now).await {
        return error.into();
    }
    if let Err(error) = audit(
        core,
        Some(session.user_id),
        "session.refresh_reuse_revoked",
        ip,
        serde_json::json!({ "session_id": session.id }),
    )
    .await
    {
        return error;
    }
    ApiError::Unauthenticated("The refresh token was already used; the session has been ended.")
}

/// Ends the session of the access token used to call it.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Session ended"),
        (status = 400, description = "Called with an API key", body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn logout(
    State(state): State<AuthState>,
    ip: Option<Extension<ClientIp>>,
    caller: Authenticated,
) -> Result<StatusCode, ApiError> {
    let core = &state.core;
    let Credential::Session(session) = caller.credential else {
        return Err(ApiError::BadRequest(
            "API keys have no session to end; revoke the key instead.".into(),
        ));
    };
    core.store.revoke_session(session, core.clock.now()).await?;
    audit(
        core,
        Some(caller.user.id),
        "logout",
        &ip_text(ip.as_deref()),
        serde_json::json!({ "session_id": session }),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// E-mails a password-reset link if the address is registered. Answers the same either way.
#[utoipa::path(post, path = "/api/v1/auth/password/forgot", tag = "auth",
    request_body = EmailRequest,
    responses(
        (status = 202, body = Accepted),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn forgot_password(
    State(state): State<AuthState>,
    ip: Option<Extension<ClientIp>>,
    JsonBody(request): JsonBody<EmailRequest>,
) -> Result<Response, ApiError> {
    let core = &state.core;
    let limits = core.settings.limits;
    enforce(
        core,
        "email-ip",
        &ip_text(ip.as_deref()),
        limits.email_per_ip,
    )
    .await?;
    let email = Email::parse(&request.email).map_err(|e| ApiError::invalid("email", e.0))?;
    let limit = enforce(core, "reset", email.as_str(), limits.reset_per_account).await?;
    if let Some(user) = core.store.user_by_email(&email).await? {
        if !user.is_suspended() {
            let ttl = core.settings.reset_ttl_secs;
            let token = issue_link(core, TokenPurpose::ResetPassword, user.id, ttl).await?;
            let url = format!("{}/reset-password?token={token}", core.settings.public_url);
            send_logged(&state, &emails::password_reset(&user.email, &url, ttl / 60)).await;
        }
    }
    let mut response = accepted().into_response();
    limit.apply(&mut response);
    Ok(response)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetPasswordRequest {
    pub token: String,
    pub new_password: String,
}

/// Sets a new password with the token from the reset link, and ends every session.
#[utoipa::path(post, path = "/api/v1/auth/password/reset", tag = "auth",
    request_body = ResetPasswordRequest,
    responses(
        (status = 204, description = "Password changed; log in again"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn reset_password(
    State(state): State<AuthState>,
    ip: Option<Extension<ClientIp>>,
    JsonBody(request): JsonBody<ResetPasswordRequest>,
) -> Result<StatusCode, ApiError> {
    let core = &state.core;
    // Validate before consuming, so a weak password does not burn the link.
    let password = Password::parse(&request.new_password)
        .map_err(|e| ApiError::invalid("new_password", e.0))?;
    let user = consume_link(core, &request.token, TokenPurpose::ResetPassword).await?;
    let now = core.clock.now();
    let mut changed = user.clone();
    changed.password_hash = hash_password(&password).await.map_err(ApiError::internal)?;
    changed.password_changed_at = now;
    changed.updated_at = now;
    // Following the link proves the address is theirs.
    changed.email_verified_at = user.email_verified_at.or(Some(now));
    let changed = core.store.update_user(&changed).await?;
    let revoked = core.store.revoke_user_sessions(changed.id, now).await?;
    audit(
        core,
        Some(changed.id),
        "password.reset",
        &ip_text(ip.as_deref()),
        serde_json::json!({ "sessions_revoked": revoked }),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
