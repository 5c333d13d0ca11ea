//! Everything `dealpulse serve` runs, assembled from configuration: SQLite store and queues,
//! mailer, token keys, and the router with every route group mounted.

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use dealpulse_alerts::deliver::{Deliverer, DeliverySettings, Senders};
use dealpulse_alerts::digest::DigestRun;
use dealpulse_alerts::failures::DeliveryFailures;
use dealpulse_alerts::matcher::Matcher;
use dealpulse_alerts::AlertSettings;
use dealpulse_api::auth::extract::ClientIp;
use dealpulse_api::auth::tokens::{SigningSecret, TokenKeys};
use dealpulse_api::observability::{Metrics, MetricsSink};
use dealpulse_api::routes::admin::AdminState;
use dealpulse_api::routes::ingest::IngestState;
use dealpulse_api::routes::preferences::PreferencesState;
use dealpulse_api::state::{
    AccountState, AuthState, Core, DevState, HealthState, MailerReadiness, QueueReadiness,
    Settings, StoreReadiness, WatchlistState,
};
use dealpulse_domain::clock::{Clock, SystemClock};
use dealpulse_domain::events::EventPublisher;
use dealpulse_domain::inbound::{InboundAddresses, MailReceiver, SenderRule};
use dealpulse_domain::mail::{Mailer, OutboxReader};
use dealpulse_domain::plans::PlanCatalog;
use dealpulse_domain::ports::Store;
use dealpulse_domain::preview::PagePreviewer;
use dealpulse_domain::queue::Queue;
use dealpulse_domain::sms::{SmsOutboxReader, SmsSender};
use dealpulse_domain::vapid::VapidKeys;
use dealpulse_fetch::polite::PoliteFetcher;
use dealpulse_ingest::llm::{LlmConfig, LlmExtractor};
use dealpulse_ingest::mail::{MailConfig, MailIngest};
use dealpulse_ingest::preview::FetchingPreviewer;
use dealpulse_ingest::scrape::{ScrapeSettings, Scraper};
use dealpulse_local::{
    Database, OutboxMailer, QueueEventBus, SmsOutbox, SmtpMailer, SqliteQueue, SqliteStore,
};
use dealpulse_outbound::{TwilioConfig, TwilioSms};
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The three steps of the alert pipeline, ready to run in this process.
#[derive(Clone)]
pub struct AlertPipeline {
    pub matcher: Arc<Matcher>,
    pub deliverer: Arc<Deliverer>,
    pub digests: Arc<DigestRun>,
}

/// Issuer and audience shared with the Lambda functions, so tokens mean the same everywhere.
pub const TOKEN_ISSUER: &str = "dealpulse";
pub const TOKEN_AUDIENCE: &str = "dealpulse-api";

/// SQS-equivalent settings of the local delivery queue (template.yaml: maxReceiveCount 5).
pub const DELIVERY_QUEUE: &str = "deliveries";
pub const DELIVERY_DEAD_LETTERS: &str = "deliveries-dlq";
pub const MAX_RECEIVE_COUNT: u32 = 5;
/// The local event bus: catalogue events wait here for the matcher, as on EventBridge → SQS.
pub const CATALOG_EVENTS_QUEUE: &str = "catalog-events";
pub const CATALOG_EVENTS_DEAD_LETTERS: &str = "catalog-events-dlq";

#[derive(Debug, Clone)]
pub struct LocalConfig {
    pub data_dir: PathBuf,
    pub public_url: String,
    pub sender: String,
    /// Relay mail through SMTP instead of keeping it in the outbox.
    pub smtp_url: Option<String>,
    /// Overrides the secret kept in the data directory.
    pub jwt_secret: Option<String>,
    pub allowed_origins: Vec<String>,
    /// Plan limits (JSON, see `shared/domain/data/plans.json`) instead of the shipped ones.
    pub plans_file: Option<PathBuf>,
    /// Send SMS through Twilio instead of keeping them in the SMS outbox.
    pub twilio: Option<TwilioConfig>,
    /// Domain of the inbound newsletter addresses.
    pub inbound_domain: String,
    /// Senders the system address accepts (`name@domain` or `@domain`).
    pub system_senders: Vec<String>,
    /// An OpenAI-compatible model that reads newsletters before the rules do.
    pub llm: Option<LlmConfig>,
    /// Sends every Discord, Slack, webhook and web push request to this origin instead of the
    /// endpoint's own (a relay or a test recorder on this machine).
    pub notify_origin: Option<url::Url>,
    /// How long a delivery worker holds a message and its claim: longer than the slowest send.
    /// After a crash, what was in flight is retried once this has passed.
    pub delivery_lease: std::time::Duration,
    /// Stripe's webhook secret and price → plan map; without it the webhook answers 501.
    pub stripe: Option<dealpulse_api::routes::billing::StripeSettings>,
    /// Stripe's API (base URL, secret key) for checkouts and cancellations.
    pub stripe_api: Option<(String, String)>,
    /// The built web dashboard (`web/app/dist`): served at `/` when it holds an `index.html`;
    /// without it the small account pages e-mail links land on are served instead.
    pub web_dir: Option<PathBuf>,
}

impl LocalConfig {
    /// A runtime for command-line tools on `data_dir` (admin commands, imports, benchmarks):
    /// no server address of its own, mail kept in the outbox, no third-party services.
    pub fn for_tools(data_dir: PathBuf, inbound_domain: String) -> Self {
        Self {
            data_dir,
            public_url: "http://127.0.0.1:8080".into(),
            sender: "DealPulse <alerts@dealpulse.local>".into(),
            smtp_url: None,
            jwt_secret: None,
            allowed_origins: Vec::new(),
            plans_file: None,
            twilio: None,
            inbound_domain,
            system_senders: Vec::new(),
            llm: None,
            notify_origin: None,
            delivery_lease: std::time::Duration::from_secs(120),
            stripe: None,
            stripe_api: None,
            web_dir: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("database: {0}")]
    Database(#[from] dealpulse_local::db::DbError),
    #[error("mailer: {0}")]
    Mail(#[from] dealpulse_domain::mail::MailError),
    #[error("signing secret: {0}")]
    Secret(String),
    #[error("plan limits: {0}")]
    Plans(String),
    #[error("SMS: {0}")]
    Sms(#[from] dealpulse_domain::sms::SmsError),
    #[error("inbound mail: {0}")]
    Inbound(String),
    #[error("Stripe: {0}")]
    Payments(#[from] dealpulse_domain::billing::PaymentError),
    #[error("page fetcher: {0}")]
    Fetcher(#[from] dealpulse_fetch::BuildError),
}

pub struct LocalRuntime {
    pub store: Arc<SqliteStore>,
    pub queue: Arc<SqliteQueue>,
    pub dead_letters: Arc<SqliteQueue>,
    /// Catalogue events (price, stock, listings) as queued by [`LocalRuntime::events`].
    pub events_queue: Arc<SqliteQueue>,
    pub events: Arc<QueueEventBus>,
    pub mailer: Arc<dyn Mailer>,
    pub outbox: Option<Arc<OutboxMailer>>,
    pub sms: Arc<dyn SmsSender>,
    pub sms_outbox: Option<Arc<SmsOutbox>>,
    pub vapid: Arc<VapidKeys>,
    /// Stripe's API, when a secret key is configured.
    pub payments: Option<Arc<dyn dealpulse_domain::billing::PaymentProvider>>,
    pub core: Core,
    pub metrics: Arc<Metrics>,
    pub config: LocalConfig,
    /// Newsletters by e-mail: raw messages are kept in `<data>/inbound`.
    pub mail: Arc<MailIngest>,
    /// Watch previews: public addresses only until [`LocalRuntime::allow_local_shops`].
    pub previewer: Arc<dyn PagePreviewer>,
    /// Webhook and web push transports (deliveries and test sends), with the configured origin
    /// override.
    pub notifiers: dealpulse_outbound::HttpNotifiers,
}

/// Reads a key file from the data directory, creating it with `create` (mode 0600) on first
/// start, so keys survive restarts without configuration.
fn load_or_create_key(
    path: &Path,
    create: impl FnOnce() -> Result<Vec<u8>, String>,
) -> Result<Vec<u8>, String> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    match std::fs::read(path) {
        Ok(bytes) => Ok(bytes),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            let bytes = create()?;
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path)
                .map_err(|e| format!("{}: {e}", path.display()))?;
            file.write_all(&bytes)
                .map_err(|e| format!("{}: {e}", path.display()))?;
            Ok(bytes)
        }
        Err(error) => Err(format!("{}: {error}", path.display())),
    }
}

fn load_or_create_secret(data_dir: &Path) -> Result<SigningSecret, StartError> {
    let bytes = load_or_create_key(&data_dir.join("jwt-secret"), || {
        SigningSecret::generate()
            .map(|secret| secret.as_bytes().to_vec())
            .map_err(|e| e.to_string())
    })
    .map_err(StartError::Secret)?;
    SigningSecret::new(bytes).map_err(|e| StartError::Secret(e.to_string()))
}

fn load_or_create_vapid(data_dir: &Path) -> Result<VapidKeys, StartError> {
    let bytes = load_or_create_key(&data_dir.join("vapid-private-key"), || {
        VapidKeys::generate()
            .map(|keys| keys.private_base64().into_bytes())
            .map_err(|e| e.to_string())
    })
    .map_err(StartError::Secret)?;
    VapidKeys::from_private_base64(&String::from_utf8_lossy(&bytes))
        .map_err(|e| StartError::Secret(e.to_string()))
}

impl LocalRuntime {
    pub fn start(config: LocalConfig) -> Result<Self, StartError> {
        std::fs::create_dir_all(&config.data_dir)
            .map_err(|e| StartError::Secret(format!("{}: {e}", config.data_dir.display())))?;
        let db = Database::open(&config.data_dir.join("dealpulse.db"))?;
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let store = Arc::new(SqliteStore::new(db.clone()));
        let queue = Arc::new(SqliteQueue::with_dead_letters(
            db.clone(),
            Arc::clone(&clock),
            DELIVERY_QUEUE,
            DELIVERY_DEAD_LETTERS,
            MAX_RECEIVE_COUNT,
        ));
        let dead_letters = Arc::new(SqliteQueue::plain(
            db.clone(),
            Arc::clone(&clock),
            DELIVERY_DEAD_LETTERS,
        ));
        let events_queue = Arc::new(SqliteQueue::with_dead_letters(
            db,
            Arc::clone(&clock),
            CATALOG_EVENTS_QUEUE,
            CATALOG_EVENTS_DEAD_LETTERS,
            MAX_RECEIVE_COUNT,
        ));
        let events = Arc::new(QueueEventBus::new(
            events_queue.clone() as Arc<dyn Queue>,
            Arc::clone(&clock),
        ));
        let (mailer, outbox): (Arc<dyn Mailer>, Option<Arc<OutboxMailer>>) = match &config.smtp_url
        {
            Some(url) => (Arc::new(SmtpMailer::new(url, &config.sender)?), None),
            None => {
                let outbox = Arc::new(OutboxMailer::new(
                    &config.data_dir.join("outbox"),
                    &config.sender,
                )?);
                (outbox.clone(), Some(outbox))
            }
        };
        let (sms, sms_outbox): (Arc<dyn SmsSender>, Option<Arc<SmsOutbox>>) = match &config.twilio {
            Some(twilio) => (Arc::new(TwilioSms::new(twilio.clone())?), None),
            None => {
                let outbox = Arc::new(SmsOutbox::new(&config.data_dir.join("sms-outbox"))?);
                (outbox.clone(), Some(outbox))
            }
        };
        let vapid = Arc::new(load_or_create_vapid(&config.data_dir)?);
        let secret = match &config.jwt_secret {
            Some(value) => SigningSecret::new(value.as_bytes().to_vec())
                .map_err(|e| StartError::Secret(e.to_string()))?,
            None => load_or_create_secret(&config.data_dir)?,
        };
        let core = Core {
            store: store.clone() as Arc<dyn Store>,
            clock,
            keys: Arc::new(TokenKeys::new(&secret, TOKEN_ISSUER, TOKEN_AUDIENCE)),
            settings: Arc::new(Settings::new(&config.public_url, "local")),
            plans: Arc::new(
                match &config.plans_file {
                    Some(path) => {
                        let text = std::fs::read_to_string(path)
                            .map_err(|e| StartError::Plans(format!("{}: {e}", path.display())))?;
                        PlanCatalog::from_json(&text)
                    }
                    None => PlanCatalog::builtin(),
                }
                .map_err(|e| StartError::Plans(e.to_string()))?,
            ),
        };
        let system_senders = config
            .system_senders
            .iter()
            .filter(|s| !s.trim().is_empty())
            .map(|s| SenderRule::parse(s).map_err(|e| StartError::Inbound(format!("{s}: {}", e.0))))
            .collect::<Result<Vec<_>, _>>()?;
        let mut mail = MailIngest::new(
            store.clone() as Arc<dyn Store>,
            events.clone() as Arc<dyn EventPublisher>,
            Arc::clone(&core.clock),
            MailConfig {
                addresses: InboundAddresses::new(&config.inbound_domain, core.keys.inbound_key()),
                system_senders,
            },
        );
        if let Some(llm) = &config.llm {
            mail = mail.with_llm(
                LlmExtractor::new(llm.clone()).map_err(|e| StartError::Inbound(e.to_string()))?,
            );
        }
        let mail = Arc::new(mail);
        let payments = match &config.stripe_api {
            Some((base, key)) => Some(Arc::new(dealpulse_outbound::stripe::StripeApi::new(
                base, key,
            )?)
                as Arc<dyn dealpulse_domain::billing::PaymentProvider>),
            None => None,
        };
        let notifiers = dealpulse_outbound::HttpNotifiers::new(
            config.notify_origin.clone(),
            Default::default(),
            vapid.secret().clone(),
            &config.sender,
        )?;
        Ok(Self {
            notifiers,
            previewer: Arc::new(FetchingPreviewer::for_requests(BTreeSet::new())?),
            payments,
            mail,
            store,
            queue,
            dead_letters,
            events_queue,
            events,
            mailer,
            outbox,
            sms,
            sms_outbox,
            vapid,
            core,
            metrics: Arc::new(Metrics::default()),
            config,
        })
    }

    /// Lets watches and previews use pages under `prefixes` (`scheme://host:port/path`, e.g. the
    /// demo shop this process serves) besides public URLs, and lets previews fetch from
    /// `loopback_ports` on 127.0.0.1, as the scraper may. Call before [`LocalRuntime::router`].
    pub fn allow_local_shops(
        &mut self,
        prefixes: Vec<String>,
        loopback_ports: BTreeSet<u16>,
    ) -> Result<(), dealpulse_fetch::BuildError> {
        let mut settings = (*self.core.settings).clone();
        settings.local_shop_origins = prefixes;
        self.core.settings = Arc::new(settings);
        self.previewer = Arc::new(FetchingPreviewer::for_requests(loopback_ports)?);
        Ok(())
    }

    /// Where received messages are kept, and the maildrop folder `serve` watches.
    pub fn mail_drop(&self) -> crate::mail_ingest::MailDrop {
        crate::mail_ingest::MailDrop {
            ingest: Arc::clone(&self.mail),
            kept: self.config.data_dir.join("inbound"),
            maildrop: self.config.data_dir.join("maildrop"),
        }
    }

    /// The scrape job over this runtime's store and bus, fetching politely (`min_delay` per
    /// host) from public addresses and the given loopback ports.
    pub fn scraper(
        &self,
        loopback_ports: BTreeSet<u16>,
        min_delay: std::time::Duration,
    ) -> Result<Scraper, dealpulse_fetch::BuildError> {
        Ok(Scraper::new(
            self.store.clone() as Arc<dyn Store>,
            self.events.clone() as Arc<dyn EventPublisher>,
            Arc::new(PoliteFetcher::standard(loopback_ports, min_delay)?),
            Arc::clone(&self.core.clock),
            ScrapeSettings::default(),
        ))
    }

    /// The alert pipeline over this runtime's store, queues and transports.
    pub fn alerts(&self) -> AlertPipeline {
        let store = self.store.clone() as Arc<dyn Store>;
        let queue = self.queue.clone() as Arc<dyn Queue>;
        let clock = Arc::clone(&self.core.clock);
        let senders = Senders {
            mailer: Arc::clone(&self.mailer),
            sms: Arc::clone(&self.sms),
            endpoints: self.notifiers.endpoints.clone(),
            push: self.notifiers.push.clone(),
        };
        AlertPipeline {
            matcher: Arc::new(Matcher::new(
                Arc::clone(&store),
                Arc::clone(&queue),
                Arc::clone(&clock),
                AlertSettings::default(),
            )),
            deliverer: Arc::new(Deliverer::new(
                Arc::clone(&store),
                senders,
                Arc::clone(&clock),
                DeliverySettings {
                    lease: self.config.delivery_lease,
                    ..DeliverySettings::new(
                        &self.config.public_url,
                        self.core.keys.unsubscribe_key().to_vec(),
                        self.core.keys.click_key().to_vec(),
                    )
                },
            )),
            digests: Arc::new(DigestRun::new(store, queue, clock)),
        }
    }

    /// Every route group on one router, with the common layers and the caller's socket address.
    pub fn router(&self) -> Router {
        let mut routes = Router::new()
            .merge(dealpulse_api::routes::auth::router(AuthState {
                core: self.core.clone(),
                mailer: Arc::clone(&self.mailer),
            }))
            .merge(dealpulse_api::routes::account::router(AccountState {
                core: self.core.clone(),
            }))
            .merge(dealpulse_api::routes::rules::router(self.core.clone()))
            .merge(dealpulse_api::routes::alerts::router(self.core.clone()))
            .merge(dealpulse_api::routes::analytics::router(self.core.clone()))
            .merge(dealpulse_api::routes::newsletter::router(
                dealpulse_api::routes::newsletter::NewsletterState {
                    core: self.core.clone(),
                    mailer: Arc::clone(&self.mailer),
                },
            ))
            .merge(dealpulse_api::routes::billing::router(
                dealpulse_api::routes::billing::BillingState {
                    core: self.core.clone(),
                    stripe: self.config.stripe.clone().map(Arc::new),
                    payments: self.payments.clone(),
                },
            ))
            .merge(dealpulse_api::routes::admin::router(AdminState {
                core: self.core.clone(),
                failures: DeliveryFailures {
                    store: self.store.clone() as Arc<dyn Store>,
                    deliveries: self.queue.clone() as Arc<dyn Queue>,
                    dead_letters: self.dead_letters.clone() as Arc<dyn Queue>,
                    clock: Arc::clone(&self.core.clock),
                },
                payments: self.payments.clone(),
            }))
            .merge(dealpulse_api::routes::watchlist::router(WatchlistState {
                core: self.core.clone(),
                previewer: Arc::clone(&self.previewer),
            }))
            .merge(dealpulse_api::routes::ingest::router(IngestState {
                core: self.core.clone(),
                events: self.events.clone() as Arc<dyn EventPublisher>,
                inbound: Some(self.mail.addresses().clone()),
                mail_receiver: Some(Arc::new(self.mail_drop()) as Arc<dyn MailReceiver>),
            }))
            .merge(dealpulse_api::routes::preferences::router(
                PreferencesState {
                    core: self.core.clone(),
                    sms: Arc::clone(&self.sms),
                    vapid: Arc::clone(&self.vapid),
                    endpoints: Arc::clone(&self.notifiers.endpoints) as _,
                },
            ))
            .merge(dealpulse_api::routes::health::router(HealthState {
                store: Arc::new(StoreReadiness(self.store.clone())),
                queue: Arc::new(QueueReadiness(self.queue.clone())),
                mailer: Arc::new(MailerReadiness(Arc::clone(&self.mailer))),
                runtime: "local",
            }))
            .merge(pages(self.config.web_dir.as_deref()))
            .route(
                "/metrics",
                get(render_metrics).with_state(Arc::clone(&self.metrics)),
            );
        if let (Some(outbox), Some(sms)) = (&self.outbox, &self.sms_outbox) {
            routes = routes.merge(dealpulse_api::routes::dev::router(DevState {
                outbox: outbox.clone() as Arc<dyn OutboxReader>,
                sms: sms.clone() as Arc<dyn SmsOutboxReader>,
            }));
        }
        dealpulse_api::with_common_layers(
            routes,
            MetricsSink::Registry(Arc::clone(&self.metrics)),
            dealpulse_api::cors_layer(&self.config.allowed_origins),
        )
        .layer(axum::middleware::from_fn(client_ip_from_socket))
    }
}

async fn client_ip_from_socket(mut request: Request, next: Next) -> Response {
    if let Some(ConnectInfo(peer)) = request.extensions().get::<ConnectInfo<SocketAddr>>() {
        let ip = ClientIp(peer.ip());
        request.extensions_mut().insert(ip);
    }
    next.run(request).await
}

async fn render_metrics(State(metrics): State<Arc<Metrics>>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        metrics.render_prometheus(),
    )
        .into_response()
}

/// The small pages e-mail links land on until the dashboard exists.
const PAGE_CSP: &str = "default-src 'self'; frame-ancestors 'none'";

fn page(html: &'static str) -> Response {
    ([(header::CONTENT_SECURITY_POLICY, PAGE_CSP)], Html(html)).into_response()
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        body,
    )
        .into_response()
}

fn pages(web_dir: Option<&Path>) -> Router {
    if let Some(dir) = web_dir.filter(|dir| dir.join("index.html").is_file()) {
        tracing::info!(dir = %dir.display(), "serving the web dashboard");
        return dashboard(dir.to_path_buf());
    }
    if let Some(dir) = web_dir {
        tracing::warn!(dir = %dir.display(), "the web dashboard is not built there (cd web/app && npm ci && npm run build); serving the account pages only");
    }
    basic_pages()
}

/// The single-page dashboard: `index.html` for its entry paths (including the pages e-mailed
/// links open), hashed files under `/assets/` cached for a year.
fn dashboard(dir: PathBuf) -> Router {
    let index = {
        let dir = dir.clone();
        move || {
            let dir = dir.clone();
            async move {
                match tokio::fs::read_to_string(dir.join("index.html")).await {
                    Ok(html) => (
                        [
                            (header::CONTENT_SECURITY_POLICY, DASHBOARD_CSP),
                            (header::CACHE_CONTROL, "no-cache"),
                        ],
                        Html(html),
                    )
                        .into_response(),
                    Err(error) => {
                        tracing::error!(%error, "the dashboard's index.html cannot be read");
                        StatusCode::SERVICE_UNAVAILABLE.into_response()
                    }
                }
            }
        }
    };
    let assets = dir.join("assets");
    let worker = dir.join("sw.js");
    Router::new()
        .route(
            "/sw.js",
            get(move || {
                let worker = worker.clone();
                async move { service_worker(&worker).await }
            }),
        )
        .route("/", get(index.clone()))
        .route("/verify-email", get(index.clone()))
        .route("/reset-password", get(index))
        .route(
            "/assets/{file}",
            get(
                move |axum::extract::Path(file): axum::extract::Path<String>| {
                    let assets = assets.clone();
                    async move { dashboard_asset(&assets, &file).await }
                },
            ),
        )
}

/// Scripts, styles and inline styles from this origin only; images may be data URLs (charts).
const DASHBOARD_CSP: &str = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'";

/// The push service worker, at the root so its scope covers the whole app; never cached long,
/// so a new version reaches browsers at their next visit.
async fn service_worker(path: &Path) -> Response {
    match tokio::fs::read(path).await {
        Ok(body) => (
            [
                (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
                (header::CACHE_CONTROL, "no-cache"),
            ],
            body,
        )
            .into_response(),
        Err(_) => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn dashboard_asset(assets: &Path, file: &str) -> Response {
    // Built file names only: letters, digits, '-', '_' and one extension; nothing else is read.
    let safe = !file.is_empty()
        && file.len() <= 128
        && file
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && !file.starts_with('.');
    let content_type = match file.rsplit_once('.').map(|(_, ext)| ext) {
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("woff2") => "font/woff2",
        Some("json") => "application/json",
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    if !safe {
        return StatusCode::NOT_FOUND.into_response();
    }
    match tokio::fs::read(assets.join(file)).await {
        Ok(body) => (
            [
                (header::CONTENT_TYPE, content_type),
                (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
            ],
            body,
        )
            .into_response(),
        Err(_) => StatusCode::NOT_FOUND.into_response(),
    }
}

fn basic_pages() -> Router {
    Router::new()
        .route(
            "/",
            get(|| async { page(include_str!("../../../web/public/index.html")) }),
        )
        .route(
            "/verify-email",
            get(|| async { page(include_str!("../../../web/public/verify-email.html")) }),
        )
        .route(
            "/reset-password",
            get(|| async { page(include_str!("../../../web/public/reset-password.html")) }),
        )
        .route(
            "/assets/account.js",
            get(|| async {
                asset(
                    "text/javascript; charset=utf-8",
                    include_str!("../../../web/public/account.js"),
                )
            }),
        )
        .route(
            "/assets/style.css",
            get(|| async {
                asset(
                    "text/css; charset=utf-8",
                    include_str!("../../../web/public/style.css"),
                )
            }),
        )
}
