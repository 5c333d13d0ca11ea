//! The Store port over one DynamoDB table (single-table design, see `infra/TABLE.md`).
//!
//! Keys are built by the `key` functions below and nowhere else. Optional attributes that are
//! `None` are not written (rather than written as NULL) so `attribute_not_exists` conditions and
//! sparse indexes work.

use crate::describe;
use async_trait::async_trait;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, Delete, DeleteRequest, Put, ReturnValue, TransactWriteItem, Update,
    WriteRequest,
};
use aws_sdk_dynamodb::Client;
use dealpulse_domain::account::{
    ApiKey, AuditEvent, Email, OneTimeToken, Session, TokenPurpose, User,
};
use dealpulse_domain::counters::{account_changes, documents_of_kind};
use dealpulse_domain::ids::{ApiKeyId, AuditEventId, SessionId, UserId};
use dealpulse_domain::ports::{
    ApiKeyRepository, AuditRepository, OneTimeTokenRepository, RateCounterRepository,
    SessionRepository, Store, StoreError, UserRepository,
};
use dealpulse_domain::secret::TokenHash;
use jiff::Timestamp;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::time::Duration;

mod counters;
mod deliveries;
mod records;
mod sources;

type Item = HashMap<String, AttributeValue>;

/// Ended sessions stay readable this long after expiry (session history), then TTL removes them.
const SESSION_RETENTION_SECS: i64 = 7 * 24 * 3600;

/// One `Query`: a key condition on the table or an index, its values, direction, consistency
/// (table only) and how many items at most.
pub(super) struct KeyQuery<'a> {
    pub index: Option<&'a str>,
    pub condition: &'a str,
    pub values: Vec<(&'a str, AttributeValue)>,
    pub newest_first: bool,
    pub consistent: bool,
    pub limit: Option<usize>,
}

/// Key formats, one function per entity, so every access pattern builds keys the same way.
mod key {
    use super::*;

    pub fn user(id: UserId) -> (String, String) {
        (format!("USER#{id}"), "PROFILE".into())
    }
    pub fn email(email: &Email) -> (String, String) {
        (format!("EMAIL#{}", email.as_str()), "EMAIL".into())
    }
    pub fn session(id: SessionId) -> (String, String) {
        (format!("SESSION#{id}"), "SESSION".into())
    }
    pub fn refresh(hash: &TokenHash) -> (String, String) {
        (format!("REFRESH#{}", hash.as_str()), "REFRESH".into())
    }
    pub fn api_key(hash: &TokenHash) -> (String, String) {
        (format!("APIKEY#{}", hash.as_str()), "APIKEY".into())
    }
    pub fn token(hash: &TokenHash) -> (String, String) {
        (format!("TOKEN#{}", hash.as_str()), "TOKEN".into())
    }
    pub fn rate(name: &str, window_start: Timestamp) -> (String, String) {
        (
            format!("RATE#{name}"),
            format!("WINDOW#{}", window_start.as_second()),
        )
    }
    pub fn audit_day(at: Timestamp) -> String {
        format!("AUDIT#{}", at.strftime("%Y-%m-%d"))
    }
    /// GSI1 partition holding everything a user owns besides the profile.
    pub fn owner(id: UserId) -> String {
        format!("USER#{id}")
    }
    /// GSI2 partition listing users by signup month (admin console).
    pub fn signup_month(created_at: Timestamp) -> String {
        format!("USERS#{}", created_at.strftime("%Y-%m"))
    }
}

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn unavailable<E: std::error::Error + 'static>(error: E) -> StoreError {
    StoreError::Unavailable(describe(&error))
}

fn is_conditional_failure<E, R>(error: &SdkError<E, R>) -> bool
where
    E: ProvideErrorMetadata,
{
    error.code() == Some("ConditionalCheckFailedException")
}

/// Why a transaction was cancelled: a condition failed or another transaction interfered.
fn transaction_lost(
    error: &SdkError<TransactWriteItemsError, aws_sdk_dynamodb::config::http::HttpResponse>,
) -> bool {
    match error.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) => {
            cancelled.cancellation_reasons().iter().any(|reason| {
                matches!(
                    reason.code(),
                    Some("ConditionalCheckFailed") | Some("TransactionConflict")
                )
            })
        }
        _ => false,
    }
}

/// A transaction cancelled only because another one touched the same items (a busy counter):
/// worth running again, unlike a failed condition.
fn interfered_only(
    error: &SdkError<TransactWriteItemsError, aws_sdk_dynamodb::config::http::HttpResponse>,
) -> bool {
    match error.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) => {
            let reasons = cancelled.cancellation_reasons();
            reasons
                .iter()
                .any(|reason| reason.code() == Some("TransactionConflict"))
                && !reasons
                    .iter()
                    .any(|reason| reason.code() == Some("ConditionalCheckFailed"))
        }
        _ => false,
    }
}

/// Serialises a domain value into attributes, dropping NULLs (absent options).
fn attributes<T: Serialize>(value: &T) -> Result<Item, StoreError> {
    let mut item: Item = serde_dynamo::to_item(value)
        .map_err(|e| StoreError::Corrupt(format!("cannot serialise: {e}")))?;
    item.retain(|_, attribute| !matches!(attribute, AttributeValue::Null(_)));
    Ok(item)
}

fn from_item<T: DeserializeOwned>(item: Item) -> Result<T, StoreError> {
    serde_dynamo::from_item(item).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn with_keys(mut item: Item, (pk, sk): (String, String), entity_type: &str) -> Item {
    item.insert("PK".into(), s(pk));
    item.insert("SK".into(), s(sk));
    item.insert("entity_type".into(), s(entity_type));
    item
}

fn key_map((pk, sk): (String, String)) -> Item {
    HashMap::from([("PK".to_string(), s(pk)), ("SK".to_string(), s(sk))])
}

/// An audit event as stored: `detail` is kept as JSON text so any JSON value round-trips.
#[derive(Serialize, Deserialize)]
struct AuditRecord {
    id: dealpulse_domain::ids::AuditEventId,
    at: Timestamp,
    user_id: Option<UserId>,
    actor: Option<String>,
    action: String,
    ip: Option<String>,
    detail_json: String,
}

/// The DynamoDB Store adapter.
#[derive(Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
}

impl DynamoStore {
    /// The store of a function: the table named by `DEALPULSE_TABLE`.
    pub fn from_env(
        sdk: &aws_config::SdkConfig,
        env: &crate::env::FunctionEnv,
    ) -> Result<Self, crate::env::ConfigError> {
        Ok(Self::new(
            Client::new(sdk),
            env.required("DEALPULSE_TABLE")?,
        ))
    }

    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    async fn get(&self, key: (String, String)) -> Result<Option<Item>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key_map(key)))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(output.item)
    }

    /// Queries GSI1 for one owner's items whose sort key starts with `prefix`.
    async fn owned(
        &self,
        owner: UserId,
        prefix: &str,
        newest_first: bool,
        limit: Option<usize>,
    ) -> Result<Vec<Item>, StoreError> {
        let mut values = vec![(":owner", s(key::owner(owner)))];
        // DynamoDB refuses an empty begins_with operand: no prefix means the whole partition.
        let condition = if prefix.is_empty() {
            "GSI1PK = :owner"
        } else {
            values.push((":prefix", s(prefix)));
            "GSI1PK = :owner AND begins_with(GSI1SK, :prefix)"
        };
        self.query_items(KeyQuery {
            index: Some("GSI1"),
            condition,
            values,
            newest_first,
            consistent: false,
            limit,
        })
        .await
    }

    /// Every item of one key condition (at most `limit`), following pages as needed.
    pub(super) async fn query_items(&self, request: KeyQuery<'_>) -> Result<Vec<Item>, StoreError> {
        let mut items = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let remaining = request.limit.map(|limit| limit.saturating_sub(items.len()));
            if remaining == Some(0) {
                break;
            }
            let mut query = self
                .client
                .query()
                .table_name(&self.table)
                .set_index_name(request.index.map(str::to_string))
                .key_condition_expression(request.condition)
                .scan_index_forward(!request.newest_first)
                .set_limit(remaining.map(|n| n.min(1000) as i32))
                .set_exclusive_start_key(start.take());
            if request.consistent {
                query = query.consistent_read(true);
            }
            for (name, value) in &request.values {
                query = query.expression_attribute_values(*name, value.clone());
            }
            let output = query.send().await.map_err(unavailable)?;
            items.extend(output.items.unwrap_or_default());
            match output.last_evaluated_key {
                Some(next) if !next.is_empty() => start = Some(next),
                _ => break,
            }
        }
        if let Some(limit) = request.limit {
            items.truncate(limit);
        }
        Ok(items)
    }

    /// Deletes items by key in batches of 25, retrying unprocessed ones with backoff.
    async fn delete_all(&self, keys: Vec<Item>) -> Result<(), StoreError> {
        for chunk in keys.chunks(25) {
            let mut pending: Vec<WriteRequest> = chunk
                .iter()
                .map(|key| {
                    DeleteRequest::builder()
                        .set_key(Some(key.clone()))
                        .build()
                        .map(|delete| WriteRequest::builder().delete_request(delete).build())
                        .map_err(unavailable)
                })
                .collect::<Result<_, _>>()?;
            for attempt in 0..8u32 {
                if pending.is_empty() {
                    break;
                }
                let output = self
                    .client
                    .batch_write_item()
                    .request_items(&self.table, pending)
                    .send()
                    .await
                    .map_err(unavailable)?;
                pending = output
                    .unprocessed_items
                    .and_then(|mut unprocessed| unprocessed.remove(&self.table))
                    .unwrap_or_default();
                if !pending.is_empty() {
                    tokio::time::sleep(Duration::from_millis(25 << attempt)).await;
                }
            }
            if !pending.is_empty() {
                return Err(StoreError::Unavailable(format!(
                    "{} deletes left unprocessed after retries",
                    pending.len()
                )));
            }
        }
        Ok(())
    }

    fn user_item(&self, user: &User) -> Result<Item, StoreError> {
        let mut item = with_keys(attributes(user)?, key::user(user.id), "user");
        item.insert("GSI2PK".into(), s(key::signup_month(user.created_at)));
        item.insert(
            "GSI2SK".into(),
            s(format!("{}#{}", user.created_at, user.id)),
        );
        Ok(item)
    }

    fn session_item(&self, session: &Session) -> Result<Item, StoreError> {
        let mut item = with_keys(attributes(session)?, key::session(session.id), "session");
        item.insert("GSI1PK".into(), s(key::owner(session.user_id)));
        item.insert("GSI1SK".into(), s(format!("SESSION#{}", session.id)));
        item.insert(
            "ttl".into(),
            n(session.expires_at.as_second() + SESSION_RETENTION_SECS),
        );
        Ok(item)
    }

    fn refresh_item(
        &self,
        hash: &TokenHash,
        session: SessionId,
        owner: UserId,
        expires_at: Timestamp,
    ) -> Item {
        HashMap::from([
            ("PK".to_string(), s(key::refresh(hash).0)),
            ("SK".to_string(), s(key::refresh(hash).1)),
            ("entity_type".to_string(), s("refresh")),
            ("session_id".to_string(), s(session.to_string())),
            ("GSI1PK".to_string(), s(key::owner(owner))),
            (
                "GSI1SK".to_string(),
                s(format!("REFRESH#{}", hash.as_str())),
            ),
            (
                "ttl".to_string(),
                n(expires_at.as_second() + SESSION_RETENTION_SECS),
            ),
        ])
    }

    /// Runs a transaction, again (with backoff) while it only loses to concurrent transactions.
    async fn transact(
        &self,
        items: Vec<TransactWriteItem>,
    ) -> Result<(), SdkError<TransactWriteItemsError, aws_sdk_dynamodb::config::http::HttpResponse>>
    {
        let mut attempt = 0;
        loop {
            let result = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items.clone()))
                .send()
                .await;
            match result {
                Err(error) if attempt < 6 && interfered_only(&error) => {
                    tokio::time::sleep(Duration::from_millis(20 << attempt)).await;
                    attempt += 1;
                }
                other => return other.map(|_| ()),
            }
        }
    }

    fn put(&self, item: Item, condition: Option<&str>) -> Result<TransactWriteItem, StoreError> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .set_condition_expression(condition.map(str::to_string))
            .build()
            .map_err(unavailable)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }
}

#[async_trait]
impl UserRepository for DynamoStore {
    async fn insert_user(&self, user: &User) -> Result<(), StoreError> {
        let profile = self.user_item(user)?;
        let mut sentinel = key_map(key::email(&user.email));
        sentinel.insert("entity_type".into(), s("email"));
        sentinel.insert("user_id".into(), s(user.id.to_string()));
        let mut items = vec![
            self.put(profile, Some("attribute_not_exists(PK)"))?,
            self.put(sentinel, Some("attribute_not_exists(PK)"))?,
        ];
        items.extend(self.counter_changes(&account_changes(None, Some(user)))?);
        let result = self.transact(items).await;
        match result {
            Ok(_) => Ok(()),
            Err(error) if transaction_lost(&error) => Err(StoreError::Conflict("e-mail address")),
            Err(error) => Err(unavailable(error)),
        }
    }

    async fn user_by_id(&self, id: UserId) -> Result<Option<User>, StoreError> {
        self.get(key::user(id)).await?.map(from_item).transpose()
    }

    async fn user_by_email(&self, email: &Email) -> Result<Option<User>, StoreError> {
        let Some(sentinel) = self.get(key::email(email)).await? else {
            return Ok(None);
        };
        let id = match sentinel.get("user_id") {
            Some(AttributeValue::S(id)) => id
                .parse::<UserId>()
                .map_err(|_| StoreError::Corrupt(format!("e-mail sentinel user id {id:?}")))?,
            _ => {
                return Err(StoreError::Corrupt(
                    "e-mail sentinel without user id".into(),
                ))
            }
        };
        self.user_by_id(id).await
    }

    async fn users_signed_up_in(
        &self,
        month: jiff::civil::Date,
        after: Option<(Timestamp, UserId)>,
        limit: u32,
    ) -> Result<Vec<User>, StoreError> {
        let mut condition = "GSI2PK = :pk".to_string();
        let mut values = vec![(":pk", s(format!("USERS#{}", month.strftime("%Y-%m"))))];
        if let Some((at, id)) = after {
            condition.push_str(" AND GSI2SK < :after");
            values.push((":after", s(format!("{at}#{id}"))));
        }
        self.query_items(KeyQuery {
            index: Some("GSI2"),
            condition: &condition,
            values,
            newest_first: true,
            consistent: false,
            limit: Some(limit as usize),
        })
        .await?
        .into_iter()
        .map(from_item)
        .collect()
    }

    async fn update_user(&self, user: &User) -> Result<User, StoreError> {
        let mut next = user.clone();
        next.version = user.version + 1;
        // The state the tallies move from: the conditional write below only succeeds if the
        // stored version is still the one read here.
        let before = self
            .user_by_id(user.id)
            .await?
            .ok_or(StoreError::NotFound)?;
        if before.version != user.version {
            return Err(StoreError::Stale);
        }
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(self.user_item(&next)?))
            .condition_expression("version = :expected AND email = :email")
            .expression_attribute_values(":expected", n(user.version))
            .expression_attribute_values(":email", s(user.email.as_str()))
            .build()
            .map_err(unavailable)?;
        let mut items = vec![TransactWriteItem::builder().put(put).build()];
        items.extend(self.counter_changes(&account_changes(Some(&before), Some(&next)))?);
        let result = self.transact(items).await;
        match result {
            Ok(_) => Ok(next),
            Err(error) if transaction_lost(&error) => {
                if self.get(key::user(user.id)).await?.is_some() {
                    Err(StoreError::Stale)
                } else {
                    Err(StoreError::NotFound)
                }
            }
            Err(error) => Err(unavailable(error)),
        }
    }

    async fn delete_user(&self, id: UserId) -> Result<(), StoreError> {
        let user = self.user_by_id(id).await?.ok_or(StoreError::NotFound)?;
        // Credentials go first: if we stop half-way, the profile still exists and the user can
        // retry, and no credential outlives its account.
        let owned: Vec<Item> = self
            .owned(id, "", false, None)
            .await?
            .into_iter()
            .filter(|item| !matches!(item.get("entity_type"), Some(AttributeValue::S(t)) if t == "audit"))
            .collect();
        // Documents leave their kind's total in the transaction that removes the profile.
        let mut tallies = account_changes(Some(&user), None);
        for item in &owned {
            if let Some(AttributeValue::S(sort)) = item.get("SK") {
                if let Some(kind) = sort
                    .strip_prefix("DOC#")
                    .and_then(|rest| rest.split('#').next())
                {
                    let counter = documents_of_kind(kind);
                    match tallies.iter_mut().find(|(key, _)| *key == counter) {
                        Some((_, delta)) => *delta -= 1,
                        None => tallies.push((counter, -1)),
                    }
                }
            }
        }
        let owned: Vec<Item> = owned
            .into_iter()
            .filter_map(|item| {
                Some(HashMap::from([
                    ("PK".to_string(), item.get("PK")?.clone()),
                    ("SK".to_string(), item.get("SK")?.clone()),
                ]))
            })
            .collect();
        self.delete_all(owned).await?;
        let delete = |key: (String, String), condition: Option<&str>| {
            Delete::builder()
                .table_name(&self.table)
                .set_key(Some(key_map(key)))
                .set_condition_expression(condition.map(str::to_string))
                .build()
                .map(|delete| TransactWriteItem::builder().delete(delete).build())
                .map_err(unavailable)
        };
        let mut items = vec![
            delete(key::user(id), Some("attribute_exists(PK)"))?,
            delete(key::email(&user.email), None)?,
        ];
        items.extend(self.counter_changes(&tallies)?);
        let result = self.transact(items).await;
        match result {
            Ok(_) => Ok(()),
            Err(error) if transaction_lost(&error) => Err(StoreError::NotFound),
            Err(error) => Err(unavailable(error)),
        }
    }
}

#[async_trait]
impl SessionRepository for DynamoStore {
    async fn insert_session(&self, session: &Session) -> Result<(), StoreError> {
        let refresh = self.refresh_item(
            &session.current_refresh_hash,
            session.id,
            session.user_id,
            session.expires_at,
        );
        self.client
            .transact_write_items()
            .transact_items(self.put(
                self.session_item(session)?,
                Some("attribute_not_exists(PK)"),
            )?)
            .transact_items(self.put(refresh, Some("attribute_not_exists(PK)"))?)
            .send()
            .await
            .map_err(|error| {
                if transaction_lost(&error) {
                    StoreError::Conflict("session")
                } else {
                    unavailable(error)
                }
            })?;
        Ok(())
    }

    async fn session_by_id(&self, id: SessionId) -> Result<Option<Session>, StoreError> {
        self.get(key::session(id)).await?.map(from_item).transpose()
    }

    async fn session_by_refresh_hash(
        &self,
        hash: &TokenHash,
    ) -> Result<Option<Session>, StoreError> {
        let Some(lookup) = self.get(key::refresh(hash)).await? else {
            return Ok(None);
        };
        let id = match lookup.get("session_id") {
            Some(AttributeValue::S(id)) => id
                .parse::<SessionId>()
                .map_err(|_| StoreError::Corrupt(format!("refresh lookup session id {id:?}")))?,
            _ => {
                return Err(StoreError::Corrupt(
                    "refresh lookup without session id".into(),
                ))
            }
        };
        self.session_by_id(id).await
    }

    async fn rotate_refresh(
        &self,
        id: SessionId,
        expected_current: &TokenHash,
        next: &TokenHash,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> Result<(), StoreError> {
        let Some(session) = self.session_by_id(id).await? else {
            return Err(StoreError::Stale);
        };
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key_map(key::session(id))))
            .update_expression(
                "SET current_refresh_hash = :next, last_refreshed_at = :now, expires_at = :expires, #ttl = :ttl",
            )
            .condition_expression("current_refresh_hash = :expected AND attribute_not_exists(revoked_at)")
            .expression_attribute_names("#ttl", "ttl")
            .expression_attribute_values(":next", s(next.as_str()))
            .expression_attribute_values(":expected", s(expected_current.as_str()))
            .expression_attribute_values(":now", s(now.to_string()))
            .expression_attribute_values(":expires", s(expires_at.to_string()))
            .expression_attribute_values(":ttl", n(expires_at.as_second() + SESSION_RETENTION_SECS))
            .build()
            .map_err(unavailable)?;
        let refresh = self.refresh_item(next, id, session.user_id, expires_at);
        let result = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().update(update).build())
            .transact_items(self.put(refresh, Some("attribute_not_exists(PK)"))?)
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(error) if transaction_lost(&error) => Err(StoreError::Stale),
            Err(error) => Err(unavailable(error)),
        }
    }

    async fn revoke_session(&self, id: SessionId, at: Timestamp) -> Result<(), StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key_map(key::session(id))))
            .update_expression("SET revoked_at = :at")
            .condition_expression("attribute_exists(PK) AND attribute_not_exists(revoked_at)")
            .expression_attribute_values(":at", s(at.to_string()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            // Already revoked, or gone: either way it is not live.
            Err(error) if is_conditional_failure(&error) => Ok(()),
            Err(error) => Err(unavailable(error)),
        }
    }

    async fn revoke_user_sessions(&self, user: UserId, at: Timestamp) -> Result<u32, StoreError> {
        let mut revoked = 0;
        for session in self.sessions_of_user(user).await? {
            if session.revoked_at.is_none() {
                self.revoke_session(session.id, at).await?;
                revoked += 1;
            }
        }
        Ok(revoked)
    }

    async fn sessions_of_user(&self, user: UserId) -> Result<Vec<Session>, StoreError> {
        self.owned(user, "SESSION#", true, None)
            .await?
            .into_iter()
            .map(from_item)
            .collect()
    }
}

#[async_trait]
impl ApiKeyRepository for DynamoStore {
    async fn insert_api_key(&self, key: &ApiKey) -> Result<(), StoreError> {
        let mut item = with_keys(attributes(key)?, key::api_key(&key.secret_hash), "apikey");
        item.insert("GSI1PK".into(), s(key::owner(key.user_id)));
        item.insert("GSI1SK".into(), s(format!("APIKEY#{}", key.id)));
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(PK)")
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(error) if is_conditional_failure(&error) => Err(StoreError::Conflict("API key")),
            Err(error) => Err(unavailable(error)),
        }
    }

    async fn api_key_by_hash(&self, hash: &TokenHash) -> Result<Option<ApiKey>, StoreError> {
        self.get(key::api_key(hash))
            .await?
            .map(from_item)
            .transpose()
    }

    async fn api_keys_of_user(&self, user: UserId) -> Result<Vec<ApiKey>, StoreError> {
        self.owned(user, "APIKEY#", true, None)
            .await?
            .into_iter()
            .map(from_item)
            .collect()
    }

    async fn revoke_api_key(
        &self,
        user: UserId,
        id: ApiKeyId,
        at: Timestamp,
    ) -> Result<ApiKey, StoreError> {
        let found = self
            .owned(user, &format!("APIKEY#{id}"), false, Some(1))
            .await?;
        let Some(stored) = found.into_iter().next() else {
            return Err(StoreError::NotFound);
        };
        let stored: ApiKey = from_item(stored)?;
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key_map(key::api_key(&stored.secret_hash))))
            .update_expression("SET revoked_at = if_not_exists(revoked_at, :at)")
            .condition_expression("user_id = :owner")
            .expression_attribute_values(":at", s(at.to_string()))
            .expression_attribute_values(":owner", s(user.to_string()))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match result {
            Ok(output) => from_item(output.attributes.unwrap_or_default()),
            Err(error) if is_conditional_failure(&error) => Err(StoreError::NotFound),
            Err(error) => Err(unavailable(error)),
        }
    }

    async fn touch_api_key(&self, hash: &TokenHash, at: Timestamp) -> Result<(), StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key_map(key::api_key(hash))))
            .update_expression("SET last_used_at = :at")
            .condition_expression("attribute_exists(PK)")
            .expression_attribute_values(":at", s(at.to_string()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(error) if is_conditional_failure(&error) => Err(StoreError::NotFound),
            Err(error) => Err(unavailable(error)),
        }
    }
}

#[async_trait]
impl OneTimeTokenRepository for DynamoStore {
    async fn insert_token(&self, token: &OneTimeToken) -> Result<(), StoreError> {
        let mut item = with_keys(attributes(token)?, key::token(&token.hash), "token");
        item.insert("expires_ns".into(), n(token.expires_at.as_nanosecond()));
        item.insert("ttl".into(), n(token.expires_at.as_second() + 60));
        item.insert("GSI1PK".into(), s(key::owner(token.user_id)));
        item.insert("GSI1SK".into(), s(format!("TOKEN#{}", token.hash.as_str())));
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(PK)")
            .send()
            .await
            .map_err(|error| {
                if is_conditional_failure(&error) {
                    StoreError::Conflict("token")
                } else {
                    unavailable(error)
                }
            })?;
        Ok(())
    }

    async fn consume_token(
        &self,
        hash: &TokenHash,
        purpose: TokenPurpose,
        now: Timestamp,
    ) -> Result<Option<OneTimeToken>, StoreError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key_map(key::token(hash))))
            .condition_expression("purpose = :purpose AND expires_ns > :now")
            .expression_attribute_values(":purpose", s(purpose.as_str()))
            .expression_attribute_values(":now", n(now.as_nanosecond()))
            .return_values(ReturnValue::AllOld)
            .send()
            .await;
        match result {
            Ok(output) => match output.attributes {
                Some(attributes) if !attributes.is_empty() => {
                    Ok(Some(from_item::<OneTimeToken>(attributes)?))
                }
                _ => Ok(None),
            },
            Err(error) if is_conditional_failure(&error) => Ok(None),
            Err(error) => Err(unavailable(error)),
        }
    }
}

#[async_trait]
impl AuditRepository for DynamoStore {
    async fn append_audit(&self, event: &AuditEvent) -> Result<(), StoreError> {
        let record = AuditRecord {
            id: event.id,
            at: event.at,
            user_id: event.user_id,
            actor: event.actor.clone(),
            action: event.action.clone(),
            ip: event.ip.clone(),
            detail_json: event.detail.to_string(),
        };
        let mut item = with_keys(
            attributes(&record)?,
            (key::audit_day(event.at), event.id.to_string()),
            "audit",
        );
        if let Some(user) = event.user_id {
            item.insert("GSI1PK".into(), s(key::owner(user)));
            item.insert("GSI1SK".into(), s(format!("AUDIT#{}", event.id)));
        }
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn audit_of_user(&self, user: UserId, limit: u32) -> Result<Vec<AuditEvent>, StoreError> {
        self.owned(user, "AUDIT#", true, Some(limit as usize))
            .await?
            .into_iter()
            .map(audit_event)
            .collect()
    }

    async fn forget_audit_ips(&self, user: UserId) -> Result<u32, StoreError> {
        let mut changed = 0;
        for item in self.owned(user, "AUDIT#", false, None).await? {
            if !item.contains_key("ip") {
                continue;
            }
            let (Some(pk), Some(sk)) = (item.get("PK"), item.get("SK")) else {
                return Err(StoreError::Corrupt("an audit item without its keys".into()));
            };
            self.client
                .update_item()
                .table_name(&self.table)
                .key("PK", pk.clone())
                .key("SK", sk.clone())
                .update_expression("REMOVE ip")
                .send()
                .await
                .map_err(unavailable)?;
            changed += 1;
        }
        Ok(changed)
    }

    async fn audit_of_day(
        &self,
        day: jiff::civil::Date,
        before: Option<AuditEventId>,
        limit: u32,
    ) -> Result<Vec<AuditEvent>, StoreError> {
        let mut condition = "PK = :pk".to_string();
        let mut values = vec![(":pk", s(format!("AUDIT#{day}")))];
        if let Some(before) = before {
            condition.push_str(" AND SK < :before");
            values.push((":before", s(before.to_string())));
        }
        self.query_items(KeyQuery {
            index: None,
            condition: &condition,
            values,
            newest_first: true,
            consistent: false,
            limit: Some(limit as usize),
        })
        .await?
        .into_iter()
        .map(audit_event)
        .collect()
    }
}

fn audit_event(item: Item) -> Result<AuditEvent, StoreError> {
    let record: AuditRecord = from_item(item)?;
    Ok(AuditEvent {
        id: record.id,
        at: record.at,
        user_id: record.user_id,
        actor: record.actor,
        action: record.action,
        ip: record.ip,
        detail: serde_json::from_str(&record.detail_json)
            .map_err(|e| StoreError::Corrupt(format!("audit detail: {e}")))?,
    })
}

#[async_trait]
impl RateCounterRepository for DynamoStore {
    async fn count_hit(
        &self,
        name: &str,
        window_start: Timestamp,
        expires_at: Timestamp,
    ) -> Result<u32, StoreError> {
        let output = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key_map(key::rate(name, window_start))))
            .update_expression(
                "ADD hits :one SET #ttl = if_not_exists(#ttl, :ttl), entity_type = :type",
            )
            .expression_attribute_names("#ttl", "ttl")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":ttl", n(expires_at.as_second()))
            .expression_attribute_values(":type", s("rate"))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(unavailable)?;
        match output.attributes.as_ref().and_then(|a| a.get("hits")) {
            Some(AttributeValue::N(hits)) => hits
                .parse()
                .map_err(|_| StoreError::Corrupt(format!("rate counter {hits:?}"))),
            _ => Err(StoreError::Corrupt(
                "rate counter update returned no count".into(),
            )),
        }
    }
}

#[async_trait]
impl Store for DynamoStore {
    async fn ping(&self) -> Result<(), StoreError> {
        self.client
            .describe_table()
            .table_name(&self.table)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}
