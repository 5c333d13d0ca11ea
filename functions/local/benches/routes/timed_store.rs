//! A Store that forwards every call to another and clocks the time spent inside it, so a request's
//! latency can be split into "in the store" and "everything else" (routing, middleware, token
//! checks, JSON, domain logic). The codebase has no in-memory Store adapter, so this is how the
//! bench measures handlers excluding the store.
//!
//! Store time is the union of the intervals during which at least one store call was in flight:
//! calls a handler runs concurrently are not counted twice.

use async_trait::async_trait;
use dealpulse_domain::account::User;
use dealpulse_domain::account::{ApiKey, AuditEvent, Email, OneTimeToken, Session, TokenPurpose};
use dealpulse_domain::counters::{CounterBucket, CounterKey, CounterRepository};
use dealpulse_domain::delivery::{Claim, DeliveryRecord, DeliveryRepository, Outcome};
use dealpulse_domain::ids::{
    ApiKeyId, AuditEventId, ListingId, ProductId, SessionId, SourceId, UserId,
};
use dealpulse_domain::listing::{Listing, PricePoint, TrackedProduct};
use dealpulse_domain::ports::{
    ApiKeyRepository, AuditRepository, CatalogRepository, OneTimeTokenRepository,
    RateCounterRepository, SessionRepository, SourceRepository, Store, StoreError, UserRepository,
};
use dealpulse_domain::preferences::Channel;
use dealpulse_domain::records::{Document, DocumentRepository};
use dealpulse_domain::secret::TokenHash;
use dealpulse_domain::sources::{CheckResult, FeedSource, HostHealth};
use jiff::Timestamp;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// What the store did since the last [`StoreClock::take`].
#[derive(Debug, Clone, Copy, Default)]
pub struct StoreTime {
    pub busy: Duration,
    pub calls: u32,
    /// Calls still running when taken (a handler that left work behind): their time so far is
    /// not in `busy`.
    pub in_flight: u32,
}

#[derive(Default)]
struct Busy {
    in_flight: u32,
    since: Option<Instant>,
    busy: Duration,
    calls: u32,
}

#[derive(Default)]
pub struct StoreClock {
    state: Mutex<Busy>,
}

impl StoreClock {
    fn state(&self) -> MutexGuard<'_, Busy> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn enter(&self) -> InStore<'_> {
        let mut state = self.state();
        if state.in_flight == 0 {
            state.since = Some(Instant::now());
        }
        state.in_flight += 1;
        state.calls += 1;
        InStore { clock: self }
    }

    /// Store time and calls since the previous take; starts counting afresh.
    pub fn take(&self) -> StoreTime {
        let mut state = self.state();
        let taken = StoreTime {
            busy: state.busy,
            calls: state.calls,
            in_flight: state.in_flight,
        };
        state.busy = Duration::ZERO;
        state.calls = 0;
        taken
    }
}

/// Ends a call's interval when dropped, so a cancelled call is counted too.
struct InStore<'a> {
    clock: &'a StoreClock,
}

impl Drop for InStore<'_> {
    fn drop(&mut self) {
        let mut state = self.clock.state();
        state.in_flight -= 1;
        if state.in_flight == 0 {
            if let Some(since) = state.since.take() {
                state.busy += since.elapsed();
            }
        }
    }
}

pub struct TimedStore {
    inner: Arc<dyn Store>,
    clock: Arc<StoreClock>,
}

impl TimedStore {
    pub fn new(inner: Arc<dyn Store>, clock: Arc<StoreClock>) -> Self {
        Self { inner, clock }
    }
}

/// Implements a repository trait for [`TimedStore`] by forwarding each listed method.
macro_rules! timed {
    ($trait:ident { $(fn $name:ident(&self $(, $arg:ident: $ty:ty)*) -> $ret:ty;)* }) => {
        #[async_trait]
        impl $trait for TimedStore {
            $(
                async fn $name(&self $(, $arg: $ty)*) -> $ret {
                    let _in_store = self.clock.enter();
                    $trait::$name(self.inner.as_ref() $(, $arg)*).await
                }
            )*
        }
    };
}

timed!(UserRepository {
    fn insert_user(&self, user: &User) -> Result<(), StoreError>;
    fn user_by_id(&self, id: UserId) -> Result<Option<User>, StoreError>;
    fn user_by_email(&self, email: &Email) -> Result<Option<User>, StoreError>;
    fn update_user(&self, user: &User) -> Result<User, StoreError>;
    fn delete_user(&self, id: UserId) -> Result<(), StoreError>;
    fn users_signed_up_in(
        &self,
        month: jiff::civil::Date,
        after: Option<(Timestamp, UserId)>,
        limit: u32
    ) -> Result<Vec<User>, StoreError>;
});

timed!(SessionRepository {
    fn insert_session(&self, session: &Session) -> Result<(), StoreError>;
    fn session_by_id(&self, id: SessionId) -> Result<Option<Session>, StoreError>;
    fn session_by_refresh_hash(&self, hash: &TokenHash) -> Result<Option<Session>, StoreError>;
    fn rotate_refresh(
        &self,
        id: SessionId,
        expected_current: &TokenHash,
        next: &TokenHash,
        now: Timestamp,
        expires_at: Timestamp
    ) -> Result<(), StoreError>;
    fn revoke_session(&self, id: SessionId, at: Timestamp) -> Result<(), StoreError>;
    fn revoke_user_sessions(&self, user: UserId, at: Timestamp) -> Result<u32, StoreError>;
    fn sessions_of_user(&self, user: UserId) -> Result<Vec<Session>, StoreError>;
});

timed!(ApiKeyRepository {
    fn insert_api_key(&self, key: &ApiKey) -> Result<(), StoreError>;
    fn api_key_by_hash(&self, hash: &TokenHash) -> Result<Option<ApiKey>, StoreError>;
    fn api_keys_of_user(&self, user: UserId) -> Result<Vec<ApiKey>, StoreError>;
    fn revoke_api_key(&self, user: UserId, id: ApiKeyId, at: Timestamp)
        -> Result<ApiKey, StoreError>;
    fn touch_api_key(&self, hash: &TokenHash, at: Timestamp) -> Result<(), StoreError>;
});

timed!(OneTimeTokenRepository {
    fn insert_token(&self, token: &OneTimeToken) -> Result<(), StoreError>;
    fn consume_token(
        &self,
        hash: &TokenHash,
        purpose: TokenPurpose,
        now: Timestamp
    ) -> Result<Option<OneTimeToken>, StoreError>;
});

timed!(AuditRepository {
    fn append_audit(&self, event: &AuditEvent) -> Result<(), StoreError>;
    fn audit_of_user(&self, user: UserId, limit: u32) -> Result<Vec<AuditEvent>, StoreError>;
    fn audit_of_day(
        &self,
        day: jiff::civil::Date,
        before: Option<AuditEventId>,
        limit: u32
    ) -> Result<Vec<AuditEvent>, StoreError>;
    fn forget_audit_ips(&self, user: UserId) -> Result<u32, StoreError>;
});

timed!(RateCounterRepository {
    fn count_hit(&self, key: &str, window_start: Timestamp, expires_at: Timestamp)
        -> Result<u32, StoreError>;
});

timed!(DocumentRepository {
    fn insert_document(&self, document: &Document, limit: Option<u32>) -> Result<(), StoreError>;
    fn document(&self, kind: &'static str, owner: UserId, key: &str)
        -> Result<Option<Document>, StoreError>;
    fn documents(&self, kind: &'static str, owner: UserId) -> Result<Vec<Document>, StoreError>;
    fn documents_before(
        &self,
        kind: &'static str,
        owner: UserId,
        before: Option<&str>,
        limit: u32
    ) -> Result<Vec<Document>, StoreError>;
    fn documents_from(&self, kind: &'static str, owner: UserId, from: &str, limit: u32)
        -> Result<Vec<Document>, StoreError>;
    fn update_document(&self, document: &Document) -> Result<Document, StoreError>;
    fn delete_document(
        &self,
        kind: &'static str,
        owner: UserId,
        key: &str,
        expected_version: Option<u64>
    ) -> Result<(), StoreError>;
    fn count_documents(&self, kind: &'static str, owner: UserId) -> Result<u32, StoreError>;
    fn all_documents(&self, kind: &'static str) -> Result<Vec<Document>, StoreError>;
});

timed!(CatalogRepository {
    fn insert_product(&self, product: &TrackedProduct) -> Result<TrackedProduct, StoreError>;
    fn product_by_id(&self, id: ProductId) -> Result<Option<TrackedProduct>, StoreError>;
    fn product_by_url(&self, url: &str) -> Result<Option<TrackedProduct>, StoreError>;
    fn append_price_point(&self, point: &PricePoint) -> Result<(), StoreError>;
    fn price_points(&self, product: ProductId, from: Timestamp, to: Timestamp, limit: u32)
        -> Result<Vec<PricePoint>, StoreError>;
    fn put_listing(&self, listing: &Listing) -> Result<(), StoreError>;
    fn listing_by_id(&self, id: ListingId) -> Result<Option<Listing>, StoreError>;
    fn listings_seen_since(&self, since: Timestamp, limit: u32)
        -> Result<Vec<Listing>, StoreError>;
});

timed!(SourceRepository {
    fn save_product(&self, product: &TrackedProduct) -> Result<(), StoreError>;
    fn products_of_host(&self, host: &str, after: Option<ProductId>, limit: u32)
        -> Result<Vec<TrackedProduct>, StoreError>;
    fn claim_due_products(&self, now: Timestamp, lease_until: Timestamp, limit: u32)
        -> Result<Vec<TrackedProduct>, StoreError>;
    fn insert_feed(&self, feed: &FeedSource) -> Result<(), StoreError>;
    fn feed_by_id(&self, id: SourceId) -> Result<Option<FeedSource>, StoreError>;
    fn feeds(&self) -> Result<Vec<FeedSource>, StoreError>;
    fn save_feed(&self, feed: &FeedSource) -> Result<(), StoreError>;
    fn delete_feed(&self, id: SourceId) -> Result<(), StoreError>;
    fn claim_due_feeds(&self, now: Timestamp, lease_until: Timestamp, limit: u32)
        -> Result<Vec<FeedSource>, StoreError>;
    fn record_check(&self, host: &str, result: CheckResult, reason: Option<&str>, at: Timestamp)
        -> Result<(), StoreError>;
    fn host_health(&self) -> Result<Vec<HostHealth>, StoreError>;
});

timed!(DeliveryRepository {
    fn claim_delivery(
        &self,
        id: &str,
        user: UserId,
        channel: Channel,
        now: Timestamp,
        lease_until: Timestamp
    ) -> Result<Claim, StoreError>;
    fn finish_delivery(&self, id: &str, attempt: u32, outcome: Outcome, now: Timestamp)
        -> Result<(), StoreError>;
    fn delivery(&self, id: &str) -> Result<Option<DeliveryRecord>, StoreError>;
    fn reopen_delivery(&self, id: &str, now: Timestamp) -> Result<(), StoreError>;
});

timed!(CounterRepository {
    fn add_counts(&self, changes: &[(CounterKey, i64)]) -> Result<(), StoreError>;
    fn keep_extremes(&self, offers: &[(CounterKey, dealpulse_domain::analytics::Extreme, i64)])
        -> Result<(), StoreError>;
    fn counts(&self, keys: &[CounterKey]) -> Result<Vec<i64>, StoreError>;
    fn counts_with_prefix(&self, bucket: &CounterBucket, prefix: &str)
        -> Result<Vec<(String, i64)>, StoreError>;
});

timed!(Store {
    fn ping(&self) -> Result<(), StoreError>;
});
