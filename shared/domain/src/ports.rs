//! The storage port: one small repository trait per aggregate, gathered into [`Store`].
//!
//! Every adapter (DynamoDB, SQLite) must pass the same conformance suite
//! (`dealpulse-conformance`), which is the executable definition of these contracts.

use crate::account::{ApiKey, AuditEvent, Email, OneTimeToken, Session, TokenPurpose, User};
use crate::ids::{ApiKeyId, AuditEventId, ListingId, ProductId, SessionId, SourceId, UserId};
use crate::listing::{Listing, PricePoint, TrackedProduct};
use crate::records::DocumentRepository;
use crate::secret::TokenHash;
use crate::sources::{CheckResult, FeedSource, HostHealth};
use async_trait::async_trait;
use jiff::Timestamp;

/// Failures a store can report. Expected outcomes (not found, taken, stale) are their own
/// variants so callers can turn them into 4xx answers; everything else is `Unavailable`.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness rule was broken (e-mail taken, id exists).
    #[error("already exists: {0}")]
    Conflict(&'static str),
    /// An optimistic-concurrency check failed: the record changed since it was read.
    #[error("the record was changed concurrently")]
    Stale,
    /// The record to update or delete does not exist.
    #[error("not found")]
    NotFound,
    /// The owner already has as many records of this kind as the limit allows.
    #[error("limit of {0} reached")]
    LimitReached(u32),
    /// Stored data could not be read back into domain types.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// The backing service failed or could not be reached.
    #[error("store unavailable: {0}")]
    Unavailable(String),
}

#[async_trait]
pub trait UserRepository: Send + Sync {
    /// Inserts a new user; `Conflict` when the e-mail (case-insensitively) or id is taken.
    async fn insert_user(&self, user: &User) -> Result<(), StoreError>;
    async fn user_by_id(&self, id: UserId) -> Result<Option<User>, StoreError>;
    async fn user_by_email(&self, email: &Email) -> Result<Option<User>, StoreError>;
    /// Writes `user` if the stored version equals `user.version`, and returns the record as
    /// stored (version incremented). `Stale` when it changed meanwhile, `NotFound` when gone.
    /// The e-mail address cannot be changed through this call.
    async fn update_user(&self, user: &User) -> Result<User, StoreError>;
    /// Removes the user, frees the e-mail address, and deletes their sessions, API keys,
    /// pending link tokens and owned documents. Audit events are kept. `NotFound` when there is no such user.
    async fn delete_user(&self, id: UserId) -> Result<(), StoreError>;
    /// Accounts created in the UTC month starting `month` (its first day), newest first (by
    /// creation time, then id), strictly after `after` in that order, at most `limit`.
    async fn users_signed_up_in(
        &self,
        month: jiff::civil::Date,
        after: Option<(Timestamp, UserId)>,
        limit: u32,
    ) -> Result<Vec<User>, StoreError>;
}

#[async_trait]
pub trait SessionRepository: Send + Sync {
    async fn insert_session(&self, session: &Session) -> Result<(), StoreError>;
    async fn session_by_id(&self, id: SessionId) -> Result<Option<Session>, StoreError>;
    /// Finds the session a refresh token was ever issued for, current or already rotated.
    async fn session_by_refresh_hash(
        &self,
        hash: &TokenHash,
    ) -> Result<Option<Session>, StoreError>;
    /// Replaces the current refresh token, only if it is still `expected_current` and the session
    /// is not revoked (`Stale` otherwise: someone else rotated first).
    async fn rotate_refresh(
        &self,
        id: SessionId,
        expected_current: &TokenHash,
        next: &TokenHash,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> Result<(), StoreError>;
    /// Marks one session revoked; revoking twice is not an error.
    async fn revoke_session(&self, id: SessionId, at: Timestamp) -> Result<(), StoreError>;
    /// Revokes every live session of a user; returns how many were revoked.
    async fn revoke_user_sessions(&self, user: UserId, at: Timestamp) -> Result<u32, StoreError>;
    /// The user's sessions, newest first.
    async fn sessions_of_user(&self, user: UserId) -> Result<Vec<Session>, StoreError>;
}

#[async_trait]
pub trait ApiKeyRepository: Send + Sync {
    async fn insert_api_key(&self, key: &ApiKey) -> Result<(), StoreError>;
    async fn api_key_by_hash(&self, hash: &TokenHash) -> Result<Option<ApiKey>, StoreError>;
    /// The user's keys (revoked ones included), newest first.
    async fn api_keys_of_user(&self, user: UserId) -> Result<Vec<ApiKey>, StoreError>;
    /// Revokes a key if it belongs to `user`; `NotFound` when it does not exist or is someone
    /// else's (callers cannot tell the two apart, by design).
    async fn revoke_api_key(
        &self,
        user: UserId,
        id: ApiKeyId,
        at: Timestamp,
    ) -> Result<ApiKey, StoreError>;
    /// Records use, at most about once a minute per key, so reads stay cheap.
    async fn touch_api_key(&self, hash: &TokenHash, at: Timestamp) -> Result<(), StoreError>;
}

#[async_trait]
pub trait OneTimeTokenRepository: Send + Sync {
    async fn insert_token(&self, token: &OneTimeToken) -> Result<(), StoreError>;
    /// Atomically removes and returns the token if it exists, has this purpose and has not
    /// expired at `now`. A second call with the same hash returns `None`.
    async fn consume_token(
        &self,
        hash: &TokenHash,
        purpose: TokenPurpose,
        now: Timestamp,
    ) -> Result<Option<OneTimeToken>, StoreError>;
}

#[async_trait]
pub trait AuditRepository: Send + Sync {
    async fn append_audit(&self, event: &AuditEvent) -> Result<(), StoreError>;
    /// The user's most recent audit events, newest first.
    async fn audit_of_user(&self, user: UserId, limit: u32) -> Result<Vec<AuditEvent>, StoreError>;
    /// Events of one UTC day (by `at`), newest first by id, older than `before`, at most `limit`.
    async fn audit_of_day(
        &self,
        day: jiff::civil::Date,
        before: Option<AuditEventId>,
        limit: u32,
    ) -> Result<Vec<AuditEvent>, StoreError>;
    /// Removes the IP address from every event about `user` (a deleted account's log stays,
    /// without what identifies the person). Returns how many events were changed.
    async fn forget_audit_ips(&self, user: UserId) -> Result<u32, StoreError>;
}

#[async_trait]
pub trait RateCounterRepository: Send + Sync {
    /// Counts one hit against `key` in the fixed window starting at `window_start` and returns
    /// the count including this hit. Counters are shared by every process using the store, so a
    /// limit holds across Lambda containers. `expires_at` lets the store forget old windows.
    async fn count_hit(
        &self,
        key: &str,
        window_start: Timestamp,
        expires_at: Timestamp,
    ) -> Result<u32, StoreError>;
}

/// What DealPulse has seen and tracks, shared by all users: tracked product pages, their price
/// history, and listings from sources.
#[async_trait]
pub trait CatalogRepository: Send + Sync {
    /// Stores a new tracked product unless one with the same canonical URL exists; returns the
    /// stored product either way (so two users watching one URL share it).
    async fn insert_product(&self, product: &TrackedProduct) -> Result<TrackedProduct, StoreError>;
    async fn product_by_id(&self, id: ProductId) -> Result<Option<TrackedProduct>, StoreError>;
    async fn product_by_url(&self, url: &str) -> Result<Option<TrackedProduct>, StoreError>;
    async fn append_price_point(&self, point: &PricePoint) -> Result<(), StoreError>;
    /// Price points of a product in `from..=to`, oldest first, at most `limit` (the oldest ones
    /// when there are more).
    async fn price_points(
        &self,
        product: ProductId,
        from: Timestamp,
        to: Timestamp,
        limit: u32,
    ) -> Result<Vec<PricePoint>, StoreError>;
    /// Inserts or replaces a listing by id.
    async fn put_listing(&self, listing: &Listing) -> Result<(), StoreError>;
    async fn listing_by_id(&self, id: ListingId) -> Result<Option<Listing>, StoreError>;
    /// Listings seen at or after `since`, newest first, at most `limit`.
    async fn listings_seen_since(
        &self,
        since: Timestamp,
        limit: u32,
    ) -> Result<Vec<Listing>, StoreError>;
}

/// What the scraper needs: due products and feeds claimed one worker at a time, their state
/// written back, and the per-host tally of check results.
#[async_trait]
pub trait SourceRepository: Send + Sync {
    /// Replaces a tracked product's state (price, stock, check schedule). `NotFound` when absent.
    async fn save_product(&self, product: &TrackedProduct) -> Result<(), StoreError>;
    /// The tracked products of one host in id order, after `after` (exclusive), at most
    /// `limit`: the admin's products-by-domain list.
    async fn products_of_host(
        &self,
        host: &str,
        after: Option<ProductId>,
        limit: u32,
    ) -> Result<Vec<TrackedProduct>, StoreError>;
    /// Products due at `now` (oldest due first, at most `limit`), each claimed by moving its
    /// due time to `lease_until` in the same atomic step, so concurrent scrapers never check one
    /// product twice. A claim lapses at `lease_until` if the claimer never saves the product.
    /// The products come back with `check.next_check_at = lease_until`.
    async fn claim_due_products(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<TrackedProduct>, StoreError>;
    /// `Conflict` when the id or the name is taken.
    async fn insert_feed(&self, feed: &FeedSource) -> Result<(), StoreError>;
    async fn feed_by_id(&self, id: SourceId) -> Result<Option<FeedSource>, StoreError>;
    /// All feeds, ordered by name.
    async fn feeds(&self) -> Result<Vec<FeedSource>, StoreError>;
    /// Replaces a feed (the name cannot change). `NotFound` when absent.
    async fn save_feed(&self, feed: &FeedSource) -> Result<(), StoreError>;
    /// `NotFound` when absent.
    async fn delete_feed(&self, id: SourceId) -> Result<(), StoreError>;
    /// Enabled feeds due at `now`, claimed like [`SourceRepository::claim_due_products`].
    async fn claim_due_feeds(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<FeedSource>, StoreError>;
    /// Adds one check result to the host's tally.
    async fn record_check(
        &self,
        host: &str,
        result: CheckResult,
        reason: Option<&str>,
        at: Timestamp,
    ) -> Result<(), StoreError>;
    /// Every host's tally, ordered by host.
    async fn host_health(&self) -> Result<Vec<HostHealth>, StoreError>;
}

/// Everything the features need from storage.
#[async_trait]
pub trait Store:
    UserRepository
    + SessionRepository
    + ApiKeyRepository
    + OneTimeTokenRepository
    + AuditRepository
    + RateCounterRepository
    + DocumentRepository
    + CatalogRepository
    + SourceRepository
    + crate::delivery::DeliveryRepository
    + crate::counters::CounterRepository
{
    /// Cheap round trip proving the store answers (readiness checks).
    async fn ping(&self) -> Result<(), StoreError>;
}
