//! `Authorization: Bearer <access JWT | dp_ API key>` → the user making the request.

use crate::auth::tokens::API_KEY_PREFIX;
use crate::problem::ApiError;
use crate::state::Core;
use axum::extract::{FromRef, FromRequestParts};
use axum::http::header;
use axum::http::request::Parts;
use dealpulse_domain::account::{ApiKey, ApiKeyScope, User};
use dealpulse_domain::ids::{ApiKeyId, SessionId};
use dealpulse_domain::listing::SourceName;
use dealpulse_domain::secret::TokenHash;
use std::net::IpAddr;

/// How the request proved who it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential {
    Session(SessionId),
    ApiKey(ApiKeyId),
}

/// A request from an active user with a live credential.
#[derive(Debug, Clone)]
pub struct Authenticated {
    pub user: User,
    pub credential: Credential,
}

/// The caller's address as the runtime saw it (socket peer locally, API Gateway's `sourceIp` in
/// Lambda). Inserted by the runtime's adapter layer; absent in unit tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

impl<S> FromRequestParts<S> for Authenticated
where
    Core: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        // Already established by a gate in front of the route (the admin routes').
        if let Some(caller) = parts.extensions.get::<Authenticated>() {
            return Ok(caller.clone());
        }
        let core = Core::from_ref(state);
        let credential = bearer(parts)?;
        if credential.starts_with(API_KEY_PREFIX) {
            authenticate_api_key(&core, credential).await
        } else {
            authenticate_access_token(&core, credential).await
        }
    }
}

fn bearer(parts: &Parts) -> Result<&str, ApiError> {
    let value = parts
        .headers
        .get(header::AUTHORIZATION)
        .ok_or(ApiError::Unauthenticated(
            "Send Authorization: Bearer <access token or API key>.",
        ))?
        .to_str()
        .map_err(|_| ApiError::Unauthenticated("The Authorization header is not valid text."))?;
    let (scheme, credential) = value
        .split_once(' ')
        .ok_or(ApiError::Unauthenticated("Use the Bearer scheme."))?;
    if !scheme.eq_ignore_ascii_case("bearer") || credential.trim().is_empty() {
        return Err(ApiError::Unauthenticated("Use the Bearer scheme."));
    }
    Ok(credential.trim())
}

async fn authenticate_access_token(core: &Core, token: &str) -> Result<Authenticated, ApiError> {
    let now = core.clock.now();
    let claims = core
        .keys
        .verify_access(token, now)
        .map_err(|_| ApiError::Unauthenticated("The access token is invalid or expired."))?;
    let session = core
        .store
        .session_by_id(claims.sid)
        .await?
        .filter(|session| session.user_id == claims.sub && session.is_live(now))
        .ok_or(ApiError::Unauthenticated(
            "The session has ended; log in again.",
        ))?;
    let user = active_user(core, claims.sub).await?;
    // A password change ends every session, including access tokens already handed out.
    if claims.iat < user.password_changed_at.as_second() {
        return Err(ApiError::Unauthenticated(
            "The session has ended; log in again.",
        ));
    }
    Ok(Authenticated {
        user,
        credential: Credential::Session(session.id),
    })
}

/// A live API key and its active owner.
async fn live_api_key(core: &Core, key: &str) -> Result<(ApiKey, User), ApiError> {
    let hash = TokenHash::of(key);
    let api_key = core
        .store
        .api_key_by_hash(&hash)
        .await?
        .filter(|api_key| api_key.revoked_at.is_none())
        .ok_or(ApiError::Unauthenticated(
            "The API key is invalid or revoked.",
        ))?;
    let user = active_user(core, api_key.user_id).await?;
    let now = core.clock.now();
    let stale = api_key
        .last_used_at
        .is_none_or(|last| now.as_second() - last.as_second() >= 60);
    if stale {
        core.store.touch_api_key(&hash, now).await?;
    }
    Ok((api_key, user))
}

async fn authenticate_api_key(core: &Core, key: &str) -> Result<Authenticated, ApiError> {
    let (api_key, user) = live_api_key(core, key).await?;
    if !api_key.scopes.contains(&ApiKeyScope::Account) {
        return Err(ApiError::Forbidden {
            kind: "api-key-scope",
            detail: "This API key may only push listings (scope ingest).",
        });
    }
    Ok(Authenticated {
        user,
        credential: Credential::ApiKey(api_key.id),
    })
}

/// A partner pushing listings: an API key with the `ingest` scope, acting as its source.
#[derive(Debug, Clone)]
pub struct IngestKey {
    pub key: ApiKey,
    pub user: User,
    pub source: SourceName,
}

impl<S> FromRequestParts<S> for IngestKey
where
    Core: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let core = Core::from_ref(state);
        let credential = bearer(parts)?;
        let refused = ApiError::Forbidden {
            kind: "api-key-scope",
            detail: "Pushing listings needs an API key with the ingest scope.",
        };
        if !credential.starts_with(API_KEY_PREFIX) {
            // A valid session is the wrong credential (403); anything else is no credential.
            authenticate_access_token(&core, credential).await?;
            return Err(refused);
        }
        let (key, user) = live_api_key(&core, credential).await?;
        match (
            &key.ingest_source,
            key.scopes.contains(&ApiKeyScope::Ingest),
        ) {
            (Some(source), true) => Ok(IngestKey {
                source: source.clone(),
                key,
                user,
            }),
            _ => Err(refused),
        }
    }
}

async fn active_user(core: &Core, id: dealpulse_domain::ids::UserId) -> Result<User, ApiError> {
    let user = core
        .store
        .user_by_id(id)
        .await?
        .ok_or(ApiError::Unauthenticated("The account no longer exists."))?;
    if user.is_suspended() {
        return Err(ApiError::Forbidden {
            kind: "account-suspended",
            detail: "This account is suspended.",
        });
    }
    Ok(user)
}
