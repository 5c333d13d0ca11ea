//! What handlers share: ports, clock, keys and settings, built once at start-up.

use crate::auth::tokens::TokenKeys;
use axum::extract::FromRef;
use dealpulse_domain::clock::Clock;
use dealpulse_domain::mail::{Mailer, OutboxReader};
use dealpulse_domain::plans::PlanCatalog;
use dealpulse_domain::ports::Store;
use dealpulse_domain::queue::Queue;
use std::sync::Arc;

/// A fixed-window limit: at most `max` hits per `window_secs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub max: u32,
    pub window_secs: u64,
}

/// Limits on the unauthenticated, abusable routes.
#[derive(Debug, Clone, Copy)]
pub struct RateLimits {
    pub login_per_ip: Limit,
    pub login_per_account: Limit,
    pub register_per_ip: Limit,
    pub register_per_account: Limit,
    /// Resending a verification e-mail: the cooldown is `window_secs`.
    pub resend_per_account: Limit,
    pub reset_per_account: Limit,
    pub email_per_ip: Limit,
    /// Watch previews: each one fetches a page from someone else's site.
    pub preview_per_user: Limit,
    /// Test alerts to a user's Discord/Slack/webhook endpoints: each one posts to a third party.
    pub endpoint_test_per_user: Limit,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            login_per_ip: Limit {
                max: 30,
                window_secs: 300,
            },
            login_per_account: Limit {
                max: 10,
                window_secs: 900,
            },
            register_per_ip: Limit {
                max: 10,
                window_secs: 3600,
            },
            register_per_account: Limit {
                max: 3,
                window_secs: 3600,
            },
            resend_per_account: Limit {
                max: 1,
                window_secs: 60,
            },
            reset_per_account: Limit {
                max: 3,
                window_secs: 3600,
            },
            email_per_ip: Limit {
                max: 20,
                window_secs: 3600,
            },
            endpoint_test_per_user: Limit {
                max: 5,
                window_secs: 60,
            },
            preview_per_user: Limit {
                max: 30,
                window_secs: 60,
            },
        }
    }
}

/// Behaviour that differs between deployments, read once from configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Base URL people reach the product at; e-mail links are built from it.
    pub public_url: String,
    pub access_ttl_secs: i64,
    pub refresh_ttl_secs: i64,
    pub verification_ttl_secs: i64,
    pub reset_ttl_secs: i64,
    pub limits: RateLimits,
    /// `local` or `lambda`; reported by `/health`.
    pub runtime: &'static str,
    /// Trusted URL prefixes (`scheme://host:port/path`) watches and previews may use besides
    /// public URLs: shops on this machine in local mode (the demo shop, `--fetch-loopback-ports`).
    /// Always empty on Lambda. See [`dealpulse_domain::net::FetchableUrl`].
    pub local_shop_origins: Vec<String>,
}

impl Settings {
    pub fn new(public_url: &str, runtime: &'static str) -> Self {
        Self {
            public_url: public_url.trim_end_matches('/').to_string(),
            access_ttl_secs: 15 * 60,
            refresh_ttl_secs: 30 * 24 * 3600,
            verification_ttl_secs: 24 * 3600,
            reset_ttl_secs: 3600,
            limits: RateLimits::default(),
            runtime,
            local_shop_origins: Vec::new(),
        }
    }
}

/// The parts every route group needs.
#[derive(Clone)]
pub struct Core {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub keys: Arc<TokenKeys>,
    pub settings: Arc<Settings>,
    /// Plan limits, read once from configuration.
    pub plans: Arc<PlanCatalog>,
}

/// State of the `/api/v1/auth` routes: they also send mail.
#[derive(Clone)]
pub struct AuthState {
    pub core: Core,
    pub mailer: Arc<dyn Mailer>,
}

impl FromRef<AuthState> for Core {
    fn from_ref(state: &AuthState) -> Self {
        state.core.clone()
    }
}

/// State of the `/api/v1/watchlist` and `/api/v1/products` routes: previews fetch pages.
#[derive(Clone)]
pub struct WatchlistState {
    pub core: Core,
    pub previewer: Arc<dyn dealpulse_domain::preview::PagePreviewer>,
}

impl FromRef<WatchlistState> for Core {
    fn from_ref(state: &WatchlistState) -> Self {
        state.core.clone()
    }
}

/// State of the `/api/v1/me` routes.
#[derive(Clone)]
pub struct AccountState {
    pub core: Core,
}

impl FromRef<AccountState> for Core {
    fn from_ref(state: &AccountState) -> Self {
        state.core.clone()
    }
}

/// What `/health/ready` checks.
#[derive(Clone)]
pub struct HealthState {
    pub store: Arc<dyn ReadinessCheck>,
    pub queue: Arc<dyn ReadinessCheck>,
    pub mailer: Arc<dyn ReadinessCheck>,
    pub runtime: &'static str,
}

/// One dependency's answer to `/health/ready`. A port this narrow, rather than the whole
/// `Store`, `Queue` or `Mailer`, lets the `health` function link only each adapter's readiness
/// call instead of every store operation (a `dyn Store` vtable pulls them all in).
#[async_trait::async_trait]
pub trait ReadinessCheck: Send + Sync {
    /// A cheap round trip; the error is logged, never shown to the caller.
    async fn check(&self) -> Result<(), String>;
}

/// The store answers [`Store::ping`].
pub struct StoreReadiness<S: ?Sized>(pub Arc<S>);

#[async_trait::async_trait]
impl<S: Store + ?Sized> ReadinessCheck for StoreReadiness<S> {
    async fn check(&self) -> Result<(), String> {
        self.0.ping().await.map_err(|error| error.to_string())
    }
}

/// The queue answers [`Queue::depth`].
pub struct QueueReadiness<Q: ?Sized>(pub Arc<Q>);

#[async_trait::async_trait]
impl<Q: Queue + ?Sized> ReadinessCheck for QueueReadiness<Q> {
    async fn check(&self) -> Result<(), String> {
        self.0
            .depth()
            .await
            .map(|_| ())
            .map_err(|error| error.to_string())
    }
}

/// The mail transport answers [`Mailer::ping`].
pub struct MailerReadiness<M: ?Sized>(pub Arc<M>);

#[async_trait::async_trait]
impl<M: Mailer + ?Sized> ReadinessCheck for MailerReadiness<M> {
    async fn check(&self) -> Result<(), String> {
        self.0.ping().await.map_err(|error| error.to_string())
    }
}

/// State of the local-only development routes.
#[derive(Clone)]
pub struct DevState {
    pub outbox: Arc<dyn OutboxReader>,
    pub sms: Arc<dyn dealpulse_domain::sms::SmsOutboxReader>,
}
