//! `/api/v1/me`: the caller's profile, password, sessions, API keys and audit trail. Served by
//! the `api-account` function. Every id-addressed route answers 404 for ids the caller does not
//! own.

use crate::auth::extract::{Authenticated, ClientIp, Credential};
use crate::auth::passwords::{hash_password, verify_password};
use crate::auth::tokens::generate_api_key;
use crate::json::JsonBody;
use crate::problem::{ApiError, Problem};
use crate::routes::auth::Fields;
use crate::routes::{audit, ip_text};
use crate::state::AccountState;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Extension, Json, Router};
use dealpulse_domain::account::{
    ApiKey, ApiKeyName, ApiKeyScope, DisplayName, Locale, Password, Role, Session, TimeZoneName,
    User, UserStatus,
};
use dealpulse_domain::ids::{ApiKeyId, SessionId, UserId};
use dealpulse_domain::listing::SourceName;
use dealpulse_domain::secret::TokenHash;
use jiff::Timestamp;
use serde::{Deserialize, Deserializer, Serialize};
use std::collections::BTreeSet;
use utoipa::ToSchema;

pub fn router(state: AccountState) -> Router {
    Router::new()
        .route("/api/v1/me", get(get_me).patch(update_me).delete(delete_me))
        .route("/api/v1/me/password", post(change_password))
        .route("/api/v1/me/sessions", get(list_sessions))
        .route("/api/v1/me/sessions/{id}", delete(revoke_session))
        .route(
            "/api/v1/me/api-keys",
            get(list_api_keys).post(create_api_key),
        )
        .route("/api/v1/me/api-keys/{id}", delete(revoke_api_key))
        .route("/api/v1/me/audit", get(list_audit))
        .route("/api/v1/me/export", get(crate::routes::export::export_me))
        .route(
            "/api/v1/me/email-previews/{template}",
            get(crate::routes::email_previews::email_preview),
        )
        .with_state(state)
}

/// The account as its owner sees it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UserProfile {
    #[schema(value_type = String)]
    pub id: UserId,
    pub email: String,
    pub display_name: Option<String>,
    pub timezone: String,
    pub locale: String,
    #[schema(value_type = String, example = "user")]
    pub role: Role,
    #[schema(value_type = String, example = "active")]
    pub status: UserStatus,
    pub email_verified: bool,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
}

impl From<&User> for UserProfile {
    fn from(user: &User) -> Self {
        Self {
            id: user.id,
            email: user.email.to_string(),
            display_name: user
                .display_name
                .as_ref()
                .map(|name| name.as_str().to_string()),
            timezone: user.timezone.as_str().to_string(),
            locale: user.locale.as_str().to_string(),
            role: user.role,
            status: user.status,
            email_verified: user.is_verified(),
            created_at: user.created_at,
            updated_at: user.updated_at,
        }
    }
}

fn etag_of(user: &User) -> String {
    format!("\"{}-{}\"", user.id, user.version)
}

fn etag_matches(header_value: Option<&HeaderValue>, etag: &str) -> bool {
    header_value
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| {
            value
                .split(',')
                .map(|candidate| candidate.trim().trim_start_matches("W/"))
                .any(|candidate| candidate == "*" || candidate == etag)
        })
}

fn profile_response(user: &User, status: StatusCode) -> Response {
    let mut response = (status, Json(UserProfile::from(user))).into_response();
    if let Ok(value) = HeaderValue::from_str(&etag_of(user)) {
        response.headers_mut().insert(header::ETAG, value);
    }
    response
}

/// The caller's profile. Supports `If-None-Match` (304).
#[utoipa::path(get, path = "/api/v1/me", tag = "account",
    security(("bearer" = [])),
    responses(
        (status = 200, body = UserProfile, headers(("ETag" = String))),
        (status = 304, description = "Not modified"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_me(caller: Authenticated, headers: HeaderMap) -> Response {
    let etag = etag_of(&caller.user);
    if etag_matches(headers.get(header::IF_NONE_MATCH), &etag) {
        let mut response = StatusCode::NOT_MODIFIED.into_response();
        if let Ok(value) = HeaderValue::from_str(&etag) {
            response.headers_mut().insert(header::ETAG, value);
        }
        return response;
    }
    profile_response(&caller.user, StatusCode::OK)
}

/// A field that may be absent (leave as is), `null` (clear) or a value (set).
#[derive(Debug, Default)]
pub enum Patch<T> {
    #[default]
    Keep,
    Clear,
    Set(T),
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Patch<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(match Option::<T>::deserialize(deserializer)? {
            Some(value) => Patch::Set(value),
            None => Patch::Clear,
        })
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateProfileRequest {
    /// `null` clears it.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub display_name: Patch<String>,
    pub timezone: Option<String>,
    pub locale: Option<String>,
}

/// Changes display name, time zone or locale. `If-Match` with the profile's ETag guards against
/// overwriting a concurrent change (412).
#[utoipa::path(patch, path = "/api/v1/me", tag = "account",
    security(("bearer" = [])),
    request_body = UpdateProfileRequest,
    responses(
        (status = 200, body = UserProfile, headers(("ETag" = String))),
        (status = 412, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update_me(
    State(state): State<AccountState>,
    ip: Option<Extension<ClientIp>>,
    caller: Authenticated,
    headers: HeaderMap,
    JsonBody(request): JsonBody<UpdateProfileRequest>,
) -> Result<Response, ApiError> {
    let core = &state.core;
    if let Some(if_match) = headers.get(header::IF_MATCH) {
        if !etag_matches(Some(if_match), &etag_of(&caller.user)) {
            return Err(ApiError::PreconditionFailed);
        }
    }
    let mut user = caller.user.clone();
    apply_profile(request, &mut user)?;
    user.updated_at = core.clock.now();
    let updated = core.store.update_user(&user).await?;
    audit(
        core,
        Some(updated.id),
        "profile.updated",
        &ip_text(ip.as_deref()),
        serde_json::json!({}),
    )
    .await?;
    Ok(profile_response(&updated, StatusCode::OK))
}

/// Applies a profile change to `user`, collecting every field's problem.
pub(crate) fn apply_profile(
    request: UpdateProfileRequest,
    user: &mut User,
) -> Result<(), ApiError> {
    let mut fields = Fields::default();
    match request.display_name {
        Patch::Keep => {}
        Patch::Clear => user.display_name = None,
        Patch::Set(name) => {
            user.display_name = fields.take("display_name", DisplayName::parse(&name))
        }
    }
    if let Some(zone) = request.timezone {
        if let Some(zone) = fields.take("timezone", TimeZoneName::parse(&zone)) {
            user.timezone = zone;
        }
    }
    if let Some(locale) = request.locale {
        if let Some(locale) = fields.take("locale", Locale::parse(&locale)) {
            user.locale = locale;
        }
    }
    fields.finish()
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmPasswordRequest {
    /// The account's current password, to confirm a destructive action.
    pub password: String,
}

async fn confirm_password(user: &User, password: &str) -> Result<(), ApiError> {
    if verify_password(password, &user.password_hash).await {
        Ok(())
    } else {
        Err(ApiError::Forbidden {
            kind: "wrong-password",
            detail: "The password is wrong.",
        })
    }
}

/// Deletes the account with everything it owns (sessions, API keys, rules, watches, alerts,
/// channels), its newsletter subscription, failed deliveries and dashboard counters. Needs the
/// current password.
#[utoipa::path(delete, path = "/api/v1/me", tag = "account",
    security(("bearer" = [])),
    request_body = ConfirmPasswordRequest,
    responses(
        (status = 204, description = "Account deleted"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete_me(
    State(state): State<AccountState>,
    caller: Authenticated,
    JsonBody(request): JsonBody<ConfirmPasswordRequest>,
) -> Result<StatusCode, ApiError> {
    let core = &state.core;
    confirm_password(&caller.user, &request.password).await?;
    let watches = dealpulse_domain::records::records::<dealpulse_domain::watch::WatchItem>(
        core.store.as_ref(),
    )
    .list(caller.user.id)
    .await?;
    // What is kept about the person outside their own records goes first (each step can be
    // repeated if the request fails half-way): their newsletter subscription, the address's
    // bounce history, failed deliveries kept for a retry, their dashboard counters. Delivery
    // claims hold no address (provider answers are redacted when recorded).
    let store = core.store.as_ref();
    dealpulse_domain::subscribers::forget(store, store, &caller.user.email).await?;
    match dealpulse_domain::records::records::<dealpulse_domain::mail::AddressHealth>(store)
        .delete(
            dealpulse_domain::ids::UserId::system(),
            &dealpulse_domain::mail::AddressHealth::key_of(caller.user.email.as_str()),
            None,
        )
        .await
    {
        Ok(()) | Err(dealpulse_domain::ports::StoreError::NotFound) => {}
        Err(other) => return Err(other.into()),
    }
    dealpulse_alerts::failures::forget_user(store, caller.user.id).await?;
    dealpulse_domain::analytics::forget_user_counters(store, caller.user.id).await?;
    // The account's audit trail stays (security record) without the IP addresses.
    core.store.forget_audit_ips(caller.user.id).await?;
    core.store.delete_user(caller.user.id).await?;
    for watch in watches {
        crate::routes::count_watchers(core, watch.product_id, -1).await;
    }
    audit(
        core,
        Some(caller.user.id),
        "account.deleted",
        "withheld",
        serde_json::json!({}),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePasswordRequest {
    pub current_password: String,
    pub new_password: String,
}

/// Changes the password and ends every session, this one included.
#[utoipa::path(post, path = "/api/v1/me/password", tag = "account",
    security(("bearer" = [])),
    request_body = ChangePasswordRequest,
    responses(
        (status = 204, description = "Changed; log in again"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn change_password(
    State(state): State<AccountState>,
    ip: Option<Extension<ClientIp>>,
    caller: Authenticated,
    JsonBody(request): JsonBody<ChangePasswordRequest>,
) -> Result<StatusCode, ApiError> {
    let core = &state.core;
    let password = Password::parse(&request.new_password)
        .map_err(|e| ApiError::invalid("new_password", e.0))?;
    confirm_password(&caller.user, &request.current_password).await?;
    let now = core.clock.now();
    let mut user = caller.user.clone();
    user.password_hash = hash_password(&password).await.map_err(ApiError::internal)?;
    user.password_changed_at = now;
    user.updated_at = now;
    let user = core.store.update_user(&user).await?;
    let revoked = core.store.revoke_user_sessions(user.id, now).await?;
    audit(
        core,
        Some(user.id),
        "password.changed",
        &ip_text(ip.as_deref()),
        serde_json::json!({ "sessions_revoked": revoked }),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionSummary {
    #[schema(value_type = String)]
    pub id: SessionId,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub last_refreshed_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: Timestamp,
    pub user_agent: Option<String>,
    /// The session the request was made with.
    pub current: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionList {
    pub items: Vec<SessionSummary>,
}

fn summarise(session: &Session, caller: &Authenticated) -> SessionSummary {
    SessionSummary {
        id: session.id,
        created_at: session.created_at,
        last_refreshed_at: session.last_refreshed_at,
        expires_at: session.expires_at,
        user_agent: session.user_agent.clone(),
        current: caller.credential == Credential::Session(session.id),
    }
}

/// The caller's live sessions, newest first.
#[utoipa::path(get, path = "/api/v1/me/sessions", tag = "account",
    security(("bearer" = [])),
    responses((status = 200, body = SessionList)))]
pub async fn list_sessions(
    State(state): State<AccountState>,
    caller: Authenticated,
) -> Result<Json<SessionList>, ApiError> {
    let now = state.core.clock.now();
    let sessions = state.core.store.sessions_of_user(caller.user.id).await?;
    Ok(Json(SessionList {
        items: sessions
            .iter()
            .filter(|session| session.is_live(now))
            .map(|session| summarise(session, &caller))
            .collect(),
    }))
}

fn parse_id<T: std::str::FromStr>(raw: &str) -> Result<T, ApiError> {
    // A malformed id cannot name anything the caller owns.
    raw.parse().map_err(|_| ApiError::NotFound)
}

/// Ends one of the caller's sessions (another device, say).
#[utoipa::path(delete, path = "/api/v1/me/sessions/{id}", tag = "account",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Session id")),
    responses(
        (status = 204, description = "Session ended"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn revoke_session(
    State(state): State<AccountState>,
    ip: Option<Extension<ClientIp>>,
    caller: Authenticated,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let core = &state.core;
    let id: SessionId = parse_id(&id)?;
    let session = core
        .store
        .session_by_id(id)
        .await?
        .filter(|session| session.user_id == caller.user.id)
        .ok_or(ApiError::NotFound)?;
    core.store
        .revoke_session(session.id, core.clock.now())
        .await?;
    audit(
        core,
        Some(caller.user.id),
        "session.revoked",
        &ip_text(ip.as_deref()),
        serde_json::json!({ "session_id": session.id }),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateApiKeyRequest {
    /// A label to recognise the key by.
    pub name: String,
    /// `["account"]` (the default): everything the account can do. `["ingest"]`: only pushing
    /// listings as `source` (admins only, for partners).
    #[serde(default)]
    pub scopes: Option<Vec<String>>,
    /// The source name an ingest key pushes listings as (`partner-acme`).
    #[serde(default)]
    pub source: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeySummary {
    #[schema(value_type = String)]
    pub id: ApiKeyId,
    pub name: String,
    /// The first characters of the key, to tell keys apart.
    pub prefix: String,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_used_at: Option<Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub revoked_at: Option<Timestamp>,
    pub scopes: Vec<String>,
    /// The source an ingest key pushes listings as.
    pub source: Option<String>,
}

impl From<&ApiKey> for ApiKeySummary {
    fn from(key: &ApiKey) -> Self {
        Self {
            id: key.id,
            name: key.name.as_str().to_string(),
            prefix: key.prefix.clone(),
            created_at: key.created_at,
            last_used_at: key.last_used_at,
            revoked_at: key.revoked_at,
            scopes: key.scopes.iter().map(|s| s.as_str().to_string()).collect(),
            source: key.ingest_source.as_ref().map(|s| s.as_str().to_string()),
        }
    }
}

/// The key's secret, shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyCreated {
    #[serde(flatten)]
    pub summary: ApiKeySummary,
    /// Use as `Authorization: Bearer <key>`. It cannot be shown again.
    pub key: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyList {
    pub items: Vec<ApiKeySummary>,
}

/// The scopes a new key asks for: one scope per key (least privilege); `ingest` only for admins
/// and only with a source name.
pub(crate) fn key_scopes(
    caller: &Authenticated,
    request: &CreateApiKeyRequest,
) -> Result<(BTreeSet<ApiKeyScope>, Option<SourceName>), ApiError> {
    let scopes = match &request.scopes {
        None => ApiKeyScope::account_only(),
        Some(names) => names
            .iter()
            .map(|name| {
                ApiKeyScope::parse(name)
                    .ok_or_else(|| ApiError::invalid("scopes", "each scope is account or ingest"))
            })
            .collect::<Result<BTreeSet<_>, _>>()?,
    };
    if scopes.len() != 1 {
        return Err(ApiError::invalid(
            "scopes",
            "give exactly one scope: account or ingest",
        ));
    }
    if scopes.contains(&ApiKeyScope::Ingest) {
        if caller.user.role != Role::Admin {
            return Err(ApiError::Forbidden {
                kind: "admin-only",
                detail: "Only administrators create ingest keys (for partners).",
            });
        }
        let source = request
            .source
            .as_deref()
            .ok_or_else(|| ApiError::invalid("source", "an ingest key needs a source name"))?;
        let source = SourceName::parse(source).map_err(|e| ApiError::invalid("source", e.0))?;
        return Ok((scopes, Some(source)));
    }
    if request.source.is_some() {
        return Err(ApiError::invalid(
            "source",
            "only ingest keys have a source",
        ));
    }
    Ok((scopes, None))
}

/// Upper bound on live keys per user.
const MAX_LIVE_KEYS: usize = 25;

/// Creates an API key. The response holds the secret; only its hash is stored.
#[utoipa::path(post, path = "/api/v1/me/api-keys", tag = "account",
    security(("bearer" = [])),
    request_body = CreateApiKeyRequest,
    responses(
        (status = 201, body = ApiKeyCreated),
        (status = 409, description = "Too many keys", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_api_key(
    State(state): State<AccountState>,
    ip: Option<Extension<ClientIp>>,
    caller: Authenticated,
    JsonBody(request): JsonBody<CreateApiKeyRequest>,
) -> Result<(StatusCode, Json<ApiKeyCreated>), ApiError> {
    let core = &state.core;
    let name = ApiKeyName::parse(&request.name).map_err(|e| ApiError::invalid("name", e.0))?;
    let (scopes, ingest_source) = key_scopes(&caller, &request)?;
    let live = core
        .store
        .api_keys_of_user(caller.user.id)
        .await?
        .iter()
        .filter(|key| key.revoked_at.is_none())
        .count();
    if live >= MAX_LIVE_KEYS {
        return Err(ApiError::Conflict(
            "this account already has 25 live API keys; revoke one first",
        ));
    }
    let (secret, prefix) = generate_api_key().map_err(ApiError::internal)?;
    let key = ApiKey {
        id: ApiKeyId::generate(),
        user_id: caller.user.id,
        name,
        prefix,
        secret_hash: TokenHash::of(&secret),
        created_at: core.clock.now(),
        last_used_at: None,
        revoked_at: None,
        scopes,
        ingest_source,
    };
    core.store.insert_api_key(&key).await?;
    audit(
        core,
        Some(caller.user.id),
        "api_key.created",
        &ip_text(ip.as_deref()),
        serde_json::json!({ "api_key_id": key.id, "prefix": key.prefix }),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(ApiKeyCreated {
            summary: ApiKeySummary::from(&key),
            key: secret,
        }),
    ))
}

/// The caller's API keys, revoked ones included; secrets are never shown.
#[utoipa::path(get, path = "/api/v1/me/api-keys", tag = "account",
    security(("bearer" = [])),
    responses((status = 200, body = ApiKeyList)))]
pub async fn list_api_keys(
    State(state): State<AccountState>,
    caller: Authenticated,
) -> Result<Json<ApiKeyList>, ApiError> {
    let keys = state.core.store.api_keys_of_user(caller.user.id).await?;
    Ok(Json(ApiKeyList {
        items: keys.iter().map(ApiKeySummary::from).collect(),
    }))
}

/// Revokes one of the caller's API keys; it stops working at once.
#[utoipa::path(delete, path = "/api/v1/me/api-keys/{id}", tag = "account",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "API key id")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn revoke_api_key(
    State(state): State<AccountState>,
    ip: Option<Extension<ClientIp>>,
    caller: Authenticated,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let core = &state.core;
    let id: ApiKeyId = parse_id(&id)?;
    let key = core
        .store
        .revoke_api_key(caller.user.id, id, core.clock.now())
        .await?;
    audit(
        core,
        Some(caller.user.id),
        "api_key.revoked",
        &ip_text(ip.as_deref()),
        serde_json::json!({ "api_key_id": key.id }),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEntry {
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    pub action: String,
    pub ip: Option<String>,
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AccountAuditList {
    pub items: Vec<AuditEntry>,
}

/// Security events of the caller's account, newest first (last 100).
#[utoipa::path(get, path = "/api/v1/me/audit", tag = "account",
    security(("bearer" = [])),
    responses((status = 200, body = AccountAuditList)))]
pub async fn list_audit(
    State(state): State<AccountState>,
    caller: Authenticated,
) -> Result<Json<AccountAuditList>, ApiError> {
    let events = state.core.store.audit_of_user(caller.user.id, 100).await?;
    Ok(Json(AccountAuditList {
        items: events
            .into_iter()
            .map(|event| AuditEntry {
                at: event.at,
                action: event.action,
                ip: event.ip,
                detail: event.detail,
            })
            .collect(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etags_match_exact_weak_and_wildcard_forms() {
        let etag = "\"abc-3\"";
        let header = |value: &'static str| HeaderValue::from_static(value);
        assert!(etag_matches(Some(&header("\"abc-3\"")), etag));
        assert!(etag_matches(Some(&header("W/\"abc-3\"")), etag));
        assert!(etag_matches(Some(&header("\"x\", \"abc-3\"")), etag));
        assert!(etag_matches(Some(&header("*")), etag));
        assert!(!etag_matches(Some(&header("\"abc-2\"")), etag));
        assert!(!etag_matches(None, etag));
    }

    #[test]
    fn patch_fields_tell_absent_from_null() {
        let absent: UpdateProfileRequest = serde_json::from_str("{}").unwrap();
        assert!(matches!(absent.display_name, Patch::Keep));
        let null: UpdateProfileRequest = serde_json::from_str(r#"{"display_name":null}"#).unwrap();
        assert!(matches!(null.display_name, Patch::Clear));
        let set: UpdateProfileRequest = serde_json::from_str(r#"{"display_name":"Ada"}"#).unwrap();
        assert!(matches!(set.display_name, Patch::Set(ref name) if name == "Ada"));
    }
}
