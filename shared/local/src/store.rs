//! The Store port over SQLite: plain tables and indexes (see `migrations/`).

use crate::counters::apply_counts;
use crate::db::{parsed, store_error, ts_in, ts_in_opt, ts_out, Database};
use async_trait::async_trait;
use dealpulse_domain::account::{
    ApiKey, ApiKeyName, ApiKeyScope, AuditEvent, DisplayName, Email, Locale, OneTimeToken,
    PasswordHash, Role, Session, TimeZoneName, TokenPurpose, User, UserStatus,
};
use dealpulse_domain::counters::{account_changes, documents_of_kind};
use dealpulse_domain::ids::{ApiKeyId, AuditEventId, SessionId, UserId};
use dealpulse_domain::listing::SourceName;
use dealpulse_domain::plans::Plan;
use dealpulse_domain::ports::{
    ApiKeyRepository, AuditRepository, OneTimeTokenRepository, RateCounterRepository,
    SessionRepository, Store, StoreError, UserRepository,
};
use dealpulse_domain::secret::TokenHash;
use jiff::Timestamp;
use rusqlite::{params, OptionalExtension, Row};

/// SQLite implementation of every repository.
#[derive(Clone)]
pub struct SqliteStore {
    db: Database,
}

impl SqliteStore {
    pub fn new(db: Database) -> Self {
        Self { db }
    }

    pub fn database(&self) -> &Database {
        &self.db
    }

    /// Deletes what has expired; SQLite has no TTL, so `dealpulse serve` runs this periodically.
    /// Returns the number of rows removed.
    pub async fn purge_expired(&self, now: Timestamp) -> Result<usize, StoreError> {
        let now = now.as_second();
        self.db
            .write(move |connection| {
                let mut removed = 0;
                for sql in [
                    "DELETE FROM one_time_tokens WHERE expires_epoch <= ?1",
                    "DELETE FROM refresh_tokens WHERE expires_epoch <= ?1",
                    "DELETE FROM rate_counters WHERE expires_epoch <= ?1",
                    // Keep ended sessions a week for the user's session history.
                    "DELETE FROM sessions WHERE expires_epoch <= ?1 - 604800",
                ] {
                    removed += connection.execute(sql, params![now]).map_err(store_error)?;
                }
                Ok(removed)
            })
            .await
    }
}

const USER_COLUMNS: &str = "id, email, password_hash, display_name, timezone, locale, role, \
     status, email_verified_at, password_changed_at, created_at, updated_at, version, plan";

/// A users row as stored, before parsing.
struct UserRow {
    id: String,
    email: String,
    password_hash: String,
    display_name: Option<String>,
    timezone: String,
    locale: String,
    role: String,
    status: String,
    email_verified_at: Option<String>,
    password_changed_at: String,
    created_at: String,
    updated_at: String,
    version: i64,
    plan: String,
}

impl UserRow {
    fn read(row: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            id: row.get(0)?,
            email: row.get(1)?,
            password_hash: row.get(2)?,
            display_name: row.get(3)?,
            timezone: row.get(4)?,
            locale: row.get(5)?,
            role: row.get(6)?,
            status: row.get(7)?,
            email_verified_at: row.get(8)?,
            password_changed_at: row.get(9)?,
            created_at: row.get(10)?,
            updated_at: row.get(11)?,
            version: row.get(12)?,
            plan: row.get(13)?,
        })
    }

    fn into_user(self) -> Result<User, StoreError> {
        Ok(User {
            id: parsed("user id", self.id.parse::<UserId>())?,
            email: parsed("email", Email::parse(&self.email))?,
            password_hash: PasswordHash::from_phc(self.password_hash),
            display_name: self
                .display_name
                .map(|name| parsed("display name", DisplayName::parse(&name)))
                .transpose()?,
            timezone: parsed("timezone", TimeZoneName::parse(&self.timezone))?,
            locale: parsed("locale", Locale::parse(&self.locale))?,
            role: parsed("role", Role::parse(&self.role))?,
            plan: Plan::parse(&self.plan)
                .ok_or_else(|| StoreError::Corrupt(format!("plan {:?}", self.plan)))?,
            status: parsed("status", UserStatus::parse(&self.status))?,
            email_verified_at: ts_in_opt(self.email_verified_at)?,
            password_changed_at: ts_in(&self.password_changed_at)?,
            created_at: ts_in(&self.created_at)?,
            updated_at: ts_in(&self.updated_at)?,
            version: self.version as u64,
        })
    }
}

const SESSION_COLUMNS: &str = "id, user_id, current_refresh_hash, created_at, \
     last_refreshed_at, expires_at, revoked_at, user_agent";

struct SessionRow {
    id: String,
    user_id: String,
    current_refresh_hash: String,
    created_at: String,
    last_refreshed_at: String,
    expires_at: String,
    revoked_at: Option<String>,
    user_agent: Option<String>,
}

impl SessionRow {
    fn read(row: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            id: row.get(0)?,
            user_id: row.get(1)?,
            current_refresh_hash: row.get(2)?,
            created_at: row.get(3)?,
            last_refreshed_at: row.get(4)?,
            expires_at: row.get(5)?,
            revoked_at: row.get(6)?,
            user_agent: row.get(7)?,
        })
    }

    fn into_session(self) -> Result<Session, StoreError> {
        Ok(Session {
            id: parsed("session id", self.id.parse::<SessionId>())?,
            user_id: parsed("user id", self.user_id.parse::<UserId>())?,
            current_refresh_hash: TokenHash::from_stored(self.current_refresh_hash),
            created_at: ts_in(&self.created_at)?,
            last_refreshed_at: ts_in(&self.last_refreshed_at)?,
            expires_at: ts_in(&self.expires_at)?,
            revoked_at: ts_in_opt(self.revoked_at)?,
            user_agent: self.user_agent,
        })
    }
}

const API_KEY_COLUMNS: &str =
    "id, user_id, name, prefix, secret_hash, created_at, last_used_at, revoked_at, scopes, ingest_source";

struct ApiKeyRow {
    id: String,
    user_id: String,
    name: String,
    prefix: String,
    secret_hash: String,
    created_at: String,
    last_used_at: Option<String>,
    revoked_at: Option<String>,
    scopes: String,
    ingest_source: Option<String>,
}

impl ApiKeyRow {
    fn read(row: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            id: row.get(0)?,
            user_id: row.get(1)?,
            name: row.get(2)?,
            prefix: row.get(3)?,
            secret_hash: row.get(4)?,
            created_at: row.get(5)?,
            last_used_at: row.get(6)?,
            revoked_at: row.get(7)?,
            scopes: row.get(8)?,
            ingest_source: row.get(9)?,
        })
    }

    fn into_key(self) -> Result<ApiKey, StoreError> {
        Ok(ApiKey {
            id: parsed("api key id", self.id.parse::<ApiKeyId>())?,
            user_id: parsed("user id", self.user_id.parse::<UserId>())?,
            name: parsed("api key name", ApiKeyName::parse(&self.name))?,
            prefix: self.prefix,
            secret_hash: TokenHash::from_stored(self.secret_hash),
            created_at: ts_in(&self.created_at)?,
            last_used_at: ts_in_opt(self.last_used_at)?,
            revoked_at: ts_in_opt(self.revoked_at)?,
            scopes: parsed("api key scopes", ApiKeyScope::split(&self.scopes))?,
            ingest_source: self
                .ingest_source
                .map(|s| parsed("ingest source", SourceName::parse(&s)))
                .transpose()?,
        })
    }
}

/// The stored account (also read inside write transactions, for the tallies).
fn user_row(connection: &rusqlite::Connection, id: UserId) -> Result<Option<User>, StoreError> {
    connection
        .query_row(
            &format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?1"),
            params![id.to_string()],
            UserRow::read,
        )
        .optional()
        .map_err(store_error)?
        .map(UserRow::into_user)
        .transpose()
}

#[async_trait]
impl UserRepository for SqliteStore {
    async fn insert_user(&self, user: &User) -> Result<(), StoreError> {
        let user = user.clone();
        self.db
            .write(move |connection| {
                let transaction = connection.transaction().map_err(store_error)?;
                transaction
                    .execute(
                        &format!("INSERT INTO users ({USER_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"),
                        params![
                            user.id.to_string(),
                            user.email.as_str(),
                            user.password_hash.as_phc(),
                            user.display_name.as_ref().map(|n| n.as_str().to_string()),
                            user.timezone.as_str(),
                            user.locale.as_str(),
                            user.role.as_str(),
                            user.status.as_str(),
                            user.email_verified_at.map(ts_out),
                            ts_out(user.password_changed_at),
                            ts_out(user.created_at),
                            ts_out(user.updated_at),
                            user.version as i64,
                            user.plan.as_str(),
                        ],
                    )
                    .map_err(|error| match store_error(error) {
                        StoreError::Conflict(_) => StoreError::Conflict("e-mail address"),
                        other => other,
                    })?;
                apply_counts(&transaction, &account_changes(None, Some(&user)))?;
                transaction.commit().map_err(store_error)
            })
            .await
    }

    async fn user_by_id(&self, id: UserId) -> Result<Option<User>, StoreError> {
        self.db
            .read(move |connection| user_row(connection, id))
            .await
    }

    async fn user_by_email(&self, email: &Email) -> Result<Option<User>, StoreError> {
        let email = email.as_str().to_string();
        self.db
            .read(move |connection| {
                connection
                    .query_row(
                        &format!("SELECT {USER_COLUMNS} FROM users WHERE email = ?1"),
                        params![email],
                        UserRow::read,
                    )
                    .optional()
                    .map_err(store_error)?
                    .map(UserRow::into_user)
                    .transpose()
            })
            .await
    }

    async fn update_user(&self, user: &User) -> Result<User, StoreError> {
        let user = user.clone();
        self.db
            .write(move |connection| {
                let transaction = connection.transaction().map_err(store_error)?;
                let before = user_row(&transaction, user.id)?;
                let changed = transaction
                    .execute(
                        "UPDATE users SET password_hash = ?1, display_name = ?2, timezone = ?3, \
                         locale = ?4, role = ?5, status = ?6, email_verified_at = ?7, \
                         password_changed_at = ?8, updated_at = ?9, plan = ?12, \
                         version = version + 1 WHERE id = ?10 AND version = ?11",
                        params![
                            user.password_hash.as_phc(),
                            user.display_name.as_ref().map(|n| n.as_str().to_string()),
                            user.timezone.as_str(),
                            user.locale.as_str(),
                            user.role.as_str(),
                            user.status.as_str(),
                            user.email_verified_at.map(ts_out),
                            ts_out(user.password_changed_at),
                            ts_out(user.updated_at),
                            user.id.to_string(),
                            user.version as i64,
                            user.plan.as_str(),
                        ],
                    )
                    .map_err(store_error)?;
                if changed == 1 {
                    let after = user_row(&transaction, user.id)?.ok_or(StoreError::NotFound)?;
                    apply_counts(
                        &transaction,
                        &account_changes(before.as_ref(), Some(&after)),
                    )?;
                    transaction.commit().map_err(store_error)?;
                    return Ok(after);
                }
                Err(if before.is_some() {
                    StoreError::Stale
                } else {
                    StoreError::NotFound
                })
            })
            .await
    }

    async fn delete_user(&self, id: UserId) -> Result<(), StoreError> {
        let user_id = id;
        let id = id.to_string();
        self.db
            .write(move |connection| {
                let transaction = connection.transaction().map_err(store_error)?;
                let before = user_row(&transaction, user_id)?.ok_or(StoreError::NotFound)?;
                transaction
                    .execute("DELETE FROM users WHERE id = ?1", params![id])
                    .map_err(store_error)?;
                let mut changes = account_changes(Some(&before), None);
                let mut kinds = transaction
                    .prepare("SELECT kind, COUNT(*) FROM documents WHERE owner = ?1 GROUP BY kind")
                    .map_err(store_error)?;
                let owned = kinds
                    .query_map(params![id], |row| Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?)))
                    .map_err(store_error)?;
                for kind in owned {
                    let (kind, count) = kind.map_err(store_error)?;
                    changes.push((documents_of_kind(&kind), -count));
                }
                drop(kinds);
                apply_counts(&transaction, &changes)?;
                for sql in [
                    "DELETE FROM refresh_tokens WHERE session_id IN (SELECT id FROM sessions WHERE user_id = ?1)",
                    "DELETE FROM sessions WHERE user_id = ?1",
                    "DELETE FROM api_keys WHERE user_id = ?1",
                    "DELETE FROM one_time_tokens WHERE user_id = ?1",
                    "DELETE FROM documents WHERE owner = ?1",
                ] {
                    transaction.execute(sql, params![id]).map_err(store_error)?;
                }
                transaction.commit().map_err(store_error)
            })
            .await
    }

    async fn users_signed_up_in(
        &self,
        month: jiff::civil::Date,
        after: Option<(Timestamp, UserId)>,
        limit: u32,
    ) -> Result<Vec<User>, StoreError> {
        let first = month.first_of_month();
        let next = first
            .checked_add(jiff::ToSpan::months(1))
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        // Stored timestamps are RFC 3339 text: a day's text sorts below every instant of it.
        let (from, to) = (first.to_string(), next.to_string());
        let (after_at, after_id) = after.map_or_else(
            || ("~".to_string(), String::new()),
            |(at, id)| (ts_out(at), id.to_string()),
        );
        self.db
            .read(move |connection| {
                let mut statement = connection
                    .prepare_cached(&format!(
                        "SELECT {USER_COLUMNS} FROM users WHERE created_at >= ?1 AND created_at < ?2 \
                         AND (created_at, id) < (?3, ?4) ORDER BY created_at DESC, id DESC LIMIT ?5"
                    ))
                    .map_err(store_error)?;
                let rows = statement
                    .query_map(params![from, to, after_at, after_id, limit], UserRow::read)
                    .map_err(store_error)?;
                rows.map(|row| row.map_err(store_error)?.into_user())
                    .collect()
            })
            .await
    }
}

#[async_trait]
impl SessionRepository for SqliteStore {
    async fn insert_session(&self, session: &Session) -> Result<(), StoreError> {
        let session = session.clone();
        self.db
            .write(move |connection| {
                let transaction = connection.transaction().map_err(store_error)?;
                transaction
                    .execute(
                        &format!("INSERT INTO sessions ({SESSION_COLUMNS}, expires_epoch) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"),
                        params![
                            session.id.to_string(),
                            session.user_id.to_string(),
                            session.current_refresh_hash.as_str(),
                            ts_out(session.created_at),
                            ts_out(session.last_refreshed_at),
                            ts_out(session.expires_at),
                            session.revoked_at.map(ts_out),
                            session.user_agent,
                            session.expires_at.as_second(),
                        ],
                    )
                    .map_err(store_error)?;
                transaction
                    .execute(
                        "INSERT INTO refresh_tokens (hash, session_id, expires_epoch) VALUES (?1, ?2, ?3)",
                        params![
                            session.current_refresh_hash.as_str(),
                            session.id.to_string(),
                            session.expires_at.as_second()
                        ],
                    )
                    .map_err(store_error)?;
                transaction.commit().map_err(store_error)
            })
            .await
    }

    async fn session_by_id(&self, id: SessionId) -> Result<Option<Session>, StoreError> {
        self.db
            .read(move |connection| {
                connection
                    .query_row(
                        &format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE id = ?1"),
                        params![id.to_string()],
                        SessionRow::read,
                    )
                    .optional()
                    .map_err(store_error)?
                    .map(SessionRow::into_session)
                    .transpose()
            })
            .await
    }

    async fn session_by_refresh_hash(
        &self,
        hash: &TokenHash,
    ) -> Result<Option<Session>, StoreError> {
        let hash = hash.as_str().to_string();
        self.db
            .read(move |connection| {
                connection
                    .query_row(
                        &format!(
                            "SELECT {} FROM refresh_tokens r JOIN sessions s ON s.id = r.session_id WHERE r.hash = ?1",
                            SESSION_COLUMNS
                                .split(", ")
                                .map(|column| format!("s.{column}"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                        params![hash],
                        SessionRow::read,
                    )
                    .optional()
                    .map_err(store_error)?
                    .map(SessionRow::into_session)
                    .transpose()
            })
            .await
    }

    async fn rotate_refresh(
        &self,
        id: SessionId,
        expected_current: &TokenHash,
        next: &TokenHash,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> Result<(), StoreError> {
        let (expected, next) = (
            expected_current.as_str().to_string(),
            next.as_str().to_string(),
        );
        self.db
            .write(move |connection| {
                let transaction = connection.transaction().map_err(store_error)?;
                let changed = transaction
                    .execute(
                        "UPDATE sessions SET current_refresh_hash = ?1, last_refreshed_at = ?2, \
                         expires_at = ?3, expires_epoch = ?4 \
                         WHERE id = ?5 AND current_refresh_hash = ?6 AND revoked_at IS NULL",
                        params![
                            next,
                            ts_out(now),
                            ts_out(expires_at),
                            expires_at.as_second(),
                            id.to_string(),
                            expected
                        ],
                    )
                    .map_err(store_error)?;
                if changed == 0 {
                    return Err(StoreError::Stale);
                }
                transaction
                    .execute(
                        "INSERT INTO refresh_tokens (hash, session_id, expires_epoch) VALUES (?1, ?2, ?3)",
                        params![next, id.to_string(), expires_at.as_second()],
                    )
                    .map_err(store_error)?;
                // Older tokens of the family must outlive the session too, to detect replays.
                transaction
                    .execute(
                        "UPDATE refresh_tokens SET expires_epoch = ?1 WHERE session_id = ?2",
                        params![expires_at.as_second(), id.to_string()],
                    )
                    .map_err(store_error)?;
                transaction.commit().map_err(store_error)
            })
            .await
    }

    async fn revoke_session(&self, id: SessionId, at: Timestamp) -> Result<(), StoreError> {
        self.db
            .write(move |connection| {
                connection
                    .execute(
                        "UPDATE sessions SET revoked_at = ?1 WHERE id = ?2 AND revoked_at IS NULL",
                        params![ts_out(at), id.to_string()],
                    )
                    .map_err(store_error)?;
                Ok(())
            })
            .await
    }

    async fn revoke_user_sessions(&self, user: UserId, at: Timestamp) -> Result<u32, StoreError> {
        self.db
            .write(move |connection| {
                let changed = connection
                    .execute(
                        "UPDATE sessions SET revoked_at = ?1 WHERE user_id = ?2 AND revoked_at IS NULL",
                        params![ts_out(at), user.to_string()],
                    )
                    .map_err(store_error)?;
                Ok(changed as u32)
            })
            .await
    }

    async fn sessions_of_user(&self, user: UserId) -> Result<Vec<Session>, StoreError> {
        self.db
            .read(move |connection| {
                let mut statement = connection
                    .prepare_cached(&format!(
                        "SELECT {SESSION_COLUMNS} FROM sessions WHERE user_id = ?1 ORDER BY id DESC"
                    ))
                    .map_err(store_error)?;
                let rows = statement
                    .query_map(params![user.to_string()], SessionRow::read)
                    .map_err(store_error)?;
                rows.map(|row| row.map_err(store_error)?.into_session())
                    .collect()
            })
            .await
    }
}

#[async_trait]
impl ApiKeyRepository for SqliteStore {
    async fn insert_api_key(&self, key: &ApiKey) -> Result<(), StoreError> {
        let key = key.clone();
        self.db
            .write(move |connection| {
                connection
                    .execute(
                        &format!("INSERT INTO api_keys ({API_KEY_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"),
                        params![
                            key.id.to_string(),
                            key.user_id.to_string(),
                            key.name.as_str(),
                            key.prefix,
                            key.secret_hash.as_str(),
                            ts_out(key.created_at),
                            key.last_used_at.map(ts_out),
                            key.revoked_at.map(ts_out),
                            ApiKeyScope::join(&key.scopes),
                            key.ingest_source.as_ref().map(|s| s.as_str().to_string()),
                        ],
                    )
                    .map_err(store_error)?;
                Ok(())
            })
            .await
    }

    async fn api_key_by_hash(&self, hash: &TokenHash) -> Result<Option<ApiKey>, StoreError> {
        let hash = hash.as_str().to_string();
        self.db
            .read(move |connection| {
                connection
                    .query_row(
                        &format!("SELECT {API_KEY_COLUMNS} FROM api_keys WHERE secret_hash = ?1"),
                        params![hash],
                        ApiKeyRow::read,
                    )
                    .optional()
                    .map_err(store_error)?
                    .map(ApiKeyRow::into_key)
                    .transpose()
            })
            .await
    }

    async fn api_keys_of_user(&self, user: UserId) -> Result<Vec<ApiKey>, StoreError> {
        self.db
            .read(move |connection| {
                let mut statement = connection
                    .prepare_cached(&format!(
                        "SELECT {API_KEY_COLUMNS} FROM api_keys WHERE user_id = ?1 ORDER BY id DESC"
                    ))
                    .map_err(store_error)?;
                let rows = statement
                    .query_map(params![user.to_string()], ApiKeyRow::read)
                    .map_err(store_error)?;
                rows.map(|row| row.map_err(store_error)?.into_key())
                    .collect()
            })
            .await
    }

    async fn revoke_api_key(
        &self,
        user: UserId,
        id: ApiKeyId,
        at: Timestamp,
    ) -> Result<ApiKey, StoreError> {
        self.db
            .write(move |connection| {
                connection
                    .execute(
                        "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?1) WHERE id = ?2 AND user_id = ?3",
                        params![ts_out(at), id.to_string(), user.to_string()],
                    )
                    .map_err(store_error)?;
                connection
                    .query_row(
                        &format!("SELECT {API_KEY_COLUMNS} FROM api_keys WHERE id = ?1 AND user_id = ?2"),
                        params![id.to_string(), user.to_string()],
                        ApiKeyRow::read,
                    )
                    .optional()
                    .map_err(store_error)?
                    .ok_or(StoreError::NotFound)?
                    .into_key()
            })
            .await
    }

    async fn touch_api_key(&self, hash: &TokenHash, at: Timestamp) -> Result<(), StoreError> {
        let hash = hash.as_str().to_string();
        self.db
            .write(move |connection| {
                connection
                    .execute(
                        "UPDATE api_keys SET last_used_at = ?1 WHERE secret_hash = ?2",
                        params![ts_out(at), hash],
                    )
                    .map_err(store_error)?;
                Ok(())
            })
            .await
    }
}

#[async_trait]
impl OneTimeTokenRepository for SqliteStore {
    async fn insert_token(&self, token: &OneTimeToken) -> Result<(), StoreError> {
        let token = token.clone();
        self.db
            .write(move |connection| {
                connection
                    .execute(
                        "INSERT INTO one_time_tokens (hash, purpose, user_id, expires_at, expires_epoch) VALUES (?1, ?2, ?3, ?4, ?5)",
                        params![
                            token.hash.as_str(),
                            token.purpose.as_str(),
                            token.user_id.to_string(),
                            ts_out(token.expires_at),
                            token.expires_at.as_second(),
                        ],
                    )
                    .map_err(store_error)?;
                Ok(())
            })
            .await
    }

    async fn consume_token(
        &self,
        hash: &TokenHash,
        purpose: TokenPurpose,
        now: Timestamp,
    ) -> Result<Option<OneTimeToken>, StoreError> {
        let hash = hash.as_str().to_string();
        self.db
            .write(move |connection| {
                let transaction = connection.transaction().map_err(store_error)?;
                let row: Option<(String, String, String)> = transaction
                    .query_row(
                        "SELECT purpose, user_id, expires_at FROM one_time_tokens WHERE hash = ?1",
                        params![hash],
                        |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
                    )
                    .optional()
                    .map_err(store_error)?;
                let Some((stored_purpose, user_id, expires_at)) = row else {
                    return Ok(None);
                };
                let token = OneTimeToken {
                    hash: TokenHash::from_stored(hash.clone()),
                    purpose: parsed("token purpose", TokenPurpose::parse(&stored_purpose))?,
                    user_id: parsed("user id", user_id.parse::<UserId>())?,
                    expires_at: ts_in(&expires_at)?,
                };
                if token.purpose != purpose || token.expires_at <= now {
                    return Ok(None);
                }
                transaction
                    .execute("DELETE FROM one_time_tokens WHERE hash = ?1", params![hash])
                    .map_err(store_error)?;
                transaction.commit().map_err(store_error)?;
                Ok(Some(token))
            })
            .await
    }
}

#[async_trait]
impl AuditRepository for SqliteStore {
    async fn append_audit(&self, event: &AuditEvent) -> Result<(), StoreError> {
        let event = event.clone();
        self.db
            .write(move |connection| {
                connection
                    .execute(
                        "INSERT INTO audit_events (id, at, user_id, actor, action, ip, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                        params![
                            event.id.to_string(),
                            ts_out(event.at),
                            event.user_id.map(|id| id.to_string()),
                            event.actor,
                            event.action,
                            event.ip,
                            event.detail.to_string(),
                        ],
                    )
                    .map_err(store_error)?;
                Ok(())
            })
            .await
    }

    async fn audit_of_user(&self, user: UserId, limit: u32) -> Result<Vec<AuditEvent>, StoreError> {
        self.db
            .read(move |connection| {
                audit_rows(
                    connection,
                    "WHERE user_id = ?1 ORDER BY id DESC LIMIT ?2",
                    params![user.to_string(), limit],
                )
            })
            .await
    }

    async fn forget_audit_ips(&self, user: UserId) -> Result<u32, StoreError> {
        self.db
            .write(move |connection| {
                let changed = connection
                    .execute(
                        "UPDATE audit_events SET ip = NULL WHERE user_id = ?1 AND ip IS NOT NULL",
                        params![user.to_string()],
                    )
                    .map_err(store_error)?;
                Ok(u32::try_from(changed).unwrap_or(u32::MAX))
            })
            .await
    }

    async fn audit_of_day(
        &self,
        day: jiff::civil::Date,
        before: Option<AuditEventId>,
        limit: u32,
    ) -> Result<Vec<AuditEvent>, StoreError> {
        let from = day.to_string();
        let to = day
            .tomorrow()
            .map_err(|e| StoreError::Corrupt(e.to_string()))?
            .to_string();
        // UUIDv7 text sorts like the ids; "~" is above every id character.
        let before = before.map_or_else(|| "~".to_string(), |id| id.to_string());
        self.db
            .read(move |connection| {
                audit_rows(
                    connection,
                    "WHERE at >= ?1 AND at < ?2 AND id < ?3 ORDER BY id DESC LIMIT ?4",
                    params![from, to, before, limit],
                )
            })
            .await
    }
}

/// Audit events selected by `filter` (a WHERE … ORDER BY … LIMIT clause over `params`).
fn audit_rows(
    connection: &rusqlite::Connection,
    filter: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<AuditEvent>, StoreError> {
    let mut statement = connection
        .prepare_cached(&format!(
            "SELECT id, at, user_id, actor, action, ip, detail FROM audit_events {filter}"
        ))
        .map_err(store_error)?;
    let rows = statement
        .query_map(params, |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, Option<String>>(2)?,
                row.get::<_, Option<String>>(3)?,
                row.get::<_, String>(4)?,
                row.get::<_, Option<String>>(5)?,
                row.get::<_, String>(6)?,
            ))
        })
        .map_err(store_error)?;
    rows.map(|row| {
        let (id, at, user_id, actor, action, ip, detail) = row.map_err(store_error)?;
        Ok(AuditEvent {
            id: parsed("audit id", id.parse::<AuditEventId>())?,
            at: ts_in(&at)?,
            user_id: user_id
                .map(|id| parsed("user id", id.parse::<UserId>()))
                .transpose()?,
            actor,
            action,
            ip,
            detail: parsed("audit detail", serde_json::from_str(&detail))?,
        })
    })
    .collect()
}

#[async_trait]
impl RateCounterRepository for SqliteStore {
    async fn count_hit(
        &self,
        key: &str,
        window_start: Timestamp,
        expires_at: Timestamp,
    ) -> Result<u32, StoreError> {
        let key = key.to_string();
        self.db
            .write(move |connection| {
                connection
                    .query_row(
                        "INSERT INTO rate_counters (key, window_start, hits, expires_epoch) VALUES (?1, ?2, 1, ?3) \
                         ON CONFLICT (key, window_start) DO UPDATE SET hits = hits + 1 RETURNING hits",
                        params![key, window_start.as_second(), expires_at.as_second()],
                        |row| row.get::<_, i64>(0),
                    )
                    .map(|hits| hits as u32)
                    .map_err(store_error)
            })
            .await
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn ping(&self) -> Result<(), StoreError> {
        self.db
            .read(|connection| {
                connection
                    .query_row("SELECT 1", [], |_| Ok(()))
                    .map_err(store_error)
            })
            .await
    }
}
