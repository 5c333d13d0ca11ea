//! Account administration shared by `dealpulse admin` and `serve --demo`, written against the
//! Store port so it works on any adapter.

use dealpulse_api::auth::passwords::hash_password;
use dealpulse_domain::account::{
    AuditEvent, Email, Locale, Password, Role, TimeZoneName, User, UserStatus,
};
use dealpulse_domain::clock::Clock;
use dealpulse_domain::ids::{AuditEventId, UserId};
use dealpulse_domain::ports::{Store, StoreError};
use dealpulse_domain::secret::random_token;

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("{0}")]
    Invalid(String),
    #[error("no account with e-mail {0}")]
    NoSuchAccount(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("could not hash the password: {0}")]
    Hashing(String),
}

/// What `ensure_account` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ensured {
    /// A new account; the password is shown because it may have been generated.
    Created { password: String },
    /// The account existed; its role was set and its password left alone.
    Existing,
}

/// Creates a verified account with `role`, or gives an existing one that role.
pub async fn ensure_account(
    store: &dyn Store,
    clock: &dyn Clock,
    email: &str,
    password: Option<&str>,
    role: Role,
    actor: &str,
) -> Result<(User, Ensured), AdminError> {
    let email = Email::parse(email).map_err(|e| AdminError::Invalid(e.0.to_string()))?;
    let now = clock.now();
    if let Some(existing) = store.user_by_email(&email).await? {
        let mut user = existing.clone();
        user.role = role;
        user.email_verified_at = existing.email_verified_at.or(Some(now));
        user.updated_at = now;
        let user = if user == existing {
            existing
        } else {
            store.update_user(&user).await?
        };
        record(store, clock, user.id, actor, "account.role_set", role).await?;
        return Ok((user, Ensured::Existing));
    }
    let password = match password {
        Some(given) => given.to_string(),
        None => random_token().map_err(|e| AdminError::Hashing(e.to_string()))?[..20].to_string(),
    };
    let parsed = Password::parse(&password).map_err(|e| AdminError::Invalid(e.0.to_string()))?;
    let user = User {
        id: UserId::generate(),
        email,
        password_hash: hash_password(&parsed)
            .await
            .map_err(|e| AdminError::Hashing(e.to_string()))?,
        display_name: None,
        timezone: TimeZoneName::utc(),
        locale: Locale::english(),
        role,
        plan: dealpulse_domain::plans::Plan::Free,
        status: UserStatus::Active,
        email_verified_at: Some(now),
        password_changed_at: now,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    store.insert_user(&user).await?;
    record(
        store,
        clock,
        user.id,
        actor,
        "account.created_by_admin",
        role,
    )
    .await?;
    Ok((user, Ensured::Created { password }))
}

/// Suspends or re-activates an account; suspension also ends its sessions.
pub async fn set_status(
    store: &dyn Store,
    clock: &dyn Clock,
    email: &str,
    status: UserStatus,
    actor: &str,
) -> Result<User, AdminError> {
    let email = Email::parse(email).map_err(|e| AdminError::Invalid(e.0.to_string()))?;
    let mut user = store
        .user_by_email(&email)
        .await?
        .ok_or_else(|| AdminError::NoSuchAccount(email.to_string()))?;
    let now = clock.now();
    user.status = status;
    user.updated_at = now;
    let user = store.update_user(&user).await?;
    if status == UserStatus::Suspended {
        store.revoke_user_sessions(user.id, now).await?;
    }
    store
        .append_audit(&AuditEvent {
            id: AuditEventId::generate(),
            at: now,
            user_id: Some(user.id),
            actor: Some(actor.to_string()),
            action: format!("account.{}", status.as_str()),
            ip: None,
            detail: serde_json::json!({}),
        })
        .await?;
    Ok(user)
}

async fn record(
    store: &dyn Store,
    clock: &dyn Clock,
    user: UserId,
    actor: &str,
    action: &str,
    role: Role,
) -> Result<(), StoreError> {
    store
        .append_audit(&AuditEvent {
            id: AuditEventId::generate(),
            at: clock.now(),
            user_id: Some(user),
            actor: Some(actor.to_string()),
            action: action.to_string(),
            ip: None,
            detail: serde_json::json!({ "role": role.as_str() }),
        })
        .await
}
