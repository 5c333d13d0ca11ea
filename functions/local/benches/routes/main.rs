//! Warm per-route latency in-process: one request through `dealpulse serve`'s full router
//! (`router.clone().oneshot(request)`, every layer, body read to the end), no socket, after
//! setup and warm-up, as a signed-in user with 50 alert rules, 20 watched products and 500
//! recent listings.
//!
//! Two variants, each on its own data directory:
//! - `sqlite`: the real `LocalRuntime` over its SQLite store.
//! - `excl_store`: the same runtime with its store wrapped in [`timed_store::TimedStore`], which
//!   clocks the time spent inside store calls; each request's latency minus its store time. The
//!   codebase has no in-memory Store adapter, so this is "the handlers without the store":
//!   routing, middleware, token checks, (de)serialisation, domain logic and argon2, but not the
//!   SQLite work, its blocking-pool hop or the (de)serialisation of rows inside the adapter.
//!
//! Criterion measures mean and median per route (for `excl_store` through `iter_custom`, with
//! the store time subtracted per request); then a plain loop of 2,000 requests per route (200 for
//! login: argon2) after 200 warm-up requests (20) prints p50/p99 per route and variant.
//!
//! Run: `CARGO_BUILD_JOBS=1 cargo bench -p dealpulse --bench routes`.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod timed_store;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use criterion::{Criterion, SamplingMode};
use dealpulse::runtime::{LocalConfig, LocalRuntime};
use dealpulse_api::state::{Limit, RateLimits, Settings};
use dealpulse_domain::account::Role;
use dealpulse_domain::ids::{ListingId, ProductId, RuleId, WatchId};
use dealpulse_domain::listing::{Category, Condition, Listing, SourceName, TrackedProduct};
use dealpulse_domain::money::{Currency, Money};
use dealpulse_domain::ports::Store;
use dealpulse_domain::query::Query;
use dealpulse_domain::records::records;
use dealpulse_domain::rules::{AlertRule, RuleName};
use dealpulse_domain::sources::CheckState;
use dealpulse_domain::watch::{Rearm, WatchItem, WatchTrigger};
use jiff::{SignedDuration, Timestamp};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};
use timed_store::{StoreClock, TimedStore};
use tower::ServiceExt;

const EMAIL: &str = "bench@dealpulse.test";
const PASSWORD: &str = "correct horse battery staple";
const RULES: usize = 50;
const WATCHES: usize = 20;
const LISTINGS: usize = 500;
/// Requests per route for p50/p99, after the warm-up.
const SAMPLES: usize = 2_000;
const WARM_UP: usize = 200;
/// Login verifies an argon2id hash (tens of milliseconds): fewer requests.
const LOGIN_SAMPLES: usize = 200;
const LOGIN_WARM_UP: usize = 20;

/// One route as measured: the request, and what to undo after it (untimed) so every request
/// meets the same data.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Route {
    Health,
    Me,
    ListRules,
    CreateRule,
    GetRule,
    PatchRule,
    ParseQuery,
    Watchlist,
    GetWatch,
    Deals,
    Preferences,
    Login,
}

impl Route {
    const ALL: [Route; 12] = [
        Route::Health,
        Route::Me,
        Route::ListRules,
        Route::CreateRule,
        Route::GetRule,
        Route::PatchRule,
        Route::ParseQuery,
        Route::Watchlist,
        Route::GetWatch,
        Route::Deals,
        Route::Preferences,
        Route::Login,
    ];

    fn name(self) -> &'static str {
        match self {
            Route::Health => "GET /health",
            Route::Me => "GET /api/v1/me",
            Route::ListRules => "GET /api/v1/deal-alert-rules",
            Route::CreateRule => "POST /api/v1/deal-alert-rules",
            Route::GetRule => "GET /api/v1/deal-alert-rules/{id}",
            Route::PatchRule => "PATCH /api/v1/deal-alert-rules/{id}",
            Route::ParseQuery => "POST /api/v1/deal-alert-rules/parse-query",
            Route::Watchlist => "GET /api/v1/watchlist",
            Route::GetWatch => "GET /api/v1/watchlist/items/{id}",
            Route::Deals => "GET /api/v1/deals",
            Route::Preferences => "GET /api/v1/notification-preferences/summary",
            Route::Login => "POST /api/v1/auth/login",
        }
    }

    fn id(self) -> &'static str {
        match self {
            Route::Health => "health",
            Route::Me => "me",
            Route::ListRules => "rules_list",
            Route::CreateRule => "rules_create",
            Route::GetRule => "rules_get",
            Route::PatchRule => "rules_patch",
            Route::ParseQuery => "rules_parse_query",
            Route::Watchlist => "watchlist",
            Route::GetWatch => "watchlist_item",
            Route::Deals => "deals",
            Route::Preferences => "preferences_summary",
            Route::Login => "login",
        }
    }

    fn expected(self) -> StatusCode {
        match self {
            Route::CreateRule => StatusCode::CREATED,
            _ => StatusCode::OK,
        }
    }

    fn samples(self) -> (usize, usize) {
        match self {
            Route::Login => (LOGIN_WARM_UP, LOGIN_SAMPLES),
            _ => (WARM_UP, SAMPLES),
        }
    }
}

/// A runtime with the bench user's data, the router over it and the user's access token.
struct Fixture {
    _dir: tempfile::TempDir,
    _runtime: LocalRuntime,
    router: Router,
    access: String,
    rule: RuleId,
    watch: WatchId,
    /// Set when the store is clocked (`excl_store`).
    store_clock: Option<Arc<StoreClock>>,
    /// Alternates the PATCH body so every PATCH changes the rule.
    patches: std::cell::Cell<u64>,
}

fn config(data_dir: &std::path::Path) -> LocalConfig {
    LocalConfig {
        data_dir: data_dir.to_path_buf(),
        public_url: "http://dealpulse.test".into(),
        sender: "DealPulse <alerts@dealpulse.test>".into(),
        smtp_url: None,
        jwt_secret: None,
        allowed_origins: vec![],
        plans_file: None,
        twilio: None,
        inbound_domain: "inbound.dealpulse.test".into(),
        system_senders: vec![],
        llm: None,
        notify_origin: None,
        delivery_lease: Duration::from_secs(120),
        stripe: None,
        stripe_api: None,
        web_dir: None,
    }
}

fn usd(amount: &str) -> Money {
    Money::parse(amount, Currency::parse("USD").unwrap()).unwrap()
}

/// 50 rules, 20 watched products and 500 listings of the last six days, written straight to the
/// store (not measured).
async fn seed(store: &dyn Store, owner: dealpulse_domain::ids::UserId) -> (RuleId, WatchId) {
    let now = Timestamp::now();
    let queries = [
        "gaming (pc OR desktop) -mac",
        "espresso machine",
        "\"noise cancelling\" headphones -refurbished",
        "4k (tv OR monitor)",
        "standing desk",
    ];
    let mut first_rule = None;
    for i in 0..RULES {
        let rule = AlertRule {
            max_price: Some(usd(&format!("{}", 200 + i * 15))),
            categories: [Category::ALL[i % Category::ALL.len()]].into(),
            ..AlertRule::new(
                owner,
                RuleName::parse(&format!("Bench rule {i}")).unwrap(),
                Query::parse(queries[i % queries.len()]).unwrap(),
                now.checked_sub(SignedDuration::from_mins(i as i64))
                    .unwrap(),
            )
        };
        let stored = records::<AlertRule>(store)
            .insert(&rule, None)
            .await
            .unwrap();
        first_rule.get_or_insert(stored.id);
    }
    let mut first_watch = None;
    for i in 0..WATCHES {
        let product = store
            .insert_product(&TrackedProduct {
                id: ProductId::generate(),
                url: format!("https://shop.example.com/p/item-{i}"),
                host: "shop.example.com".into(),
                title: Some(format!("Shop item {i}")),
                current_price: Some(usd(&format!("{}.99", 50 + i * 10))),
                in_stock: Some(true),
                created_at: now,
                last_checked_at: Some(now),
                selectors: None,
                check: CheckState::default(),
            })
            .await
            .unwrap();
        let watch = records::<WatchItem>(store)
            .insert(
                &WatchItem {
                    id: WatchId::generate(),
                    owner,
                    product_id: product.id,
                    listing_id: None,
                    label: Some(format!("Watch {i}")),
                    trigger: WatchTrigger::PercentDrop { percent: 15 },
                    rearm: Rearm::WhenConditionClears {},
                    check_interval_minutes: 360,
                    price_when_watched: product.current_price,
                    armed: true,
                    last_fired_at: None,
                    enabled: true,
                    created_at: now,
                    updated_at: now,
                    version: 0,
                },
                None,
            )
            .await
            .unwrap();
        first_watch.get_or_insert(watch.id);
    }
    let source = SourceName::parse("bench").unwrap();
    for i in 0..LISTINGS {
        let price = 20 + (i * 37) % 1500;
        store
            .put_listing(&Listing {
                id: ListingId::generate(),
                source: source.clone(),
                url: format!("https://deals.example.com/bench/{i}"),
                title: format!(
                    "Deal {i}: gaming desktop RTX {} with 32 GB",
                    3000 + i % 9 * 10
                ),
                description: "Ships in two days. Barely used, original box, receipt included."
                    .into(),
                price: usd(&format!("{price}.00")),
                was_price: (i % 3 == 0).then(|| usd(&format!("{}.00", price * 4 / 3))),
                category: Some(Category::ALL[i % Category::ALL.len()]),
                condition: Some(if i % 2 == 0 {
                    Condition::New
                } else {
                    Condition::Used
                }),
                location: None,
                score: Some((i % 100) as u8),
                flight: None,
                seen_at: now
                    .checked_sub(SignedDuration::from_mins((i as i64 * 17) % (6 * 24 * 60)))
                    .unwrap(),
                audience: None,
            })
            .await
            .unwrap();
    }
    (first_rule.unwrap(), first_watch.unwrap())
}

impl Fixture {
    async fn new(clocked: bool) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut runtime = LocalRuntime::start(config(dir.path())).unwrap();
        // No request may be refused by a rate limit (login runs hundreds of times), and the
        // access token must outlive the run.
        let unlimited = Limit {
            max: u32::MAX,
            window_secs: 60,
        };
        runtime.core.settings = Arc::new(Settings {
            access_ttl_secs: 24 * 3600,
            limits: RateLimits {
                login_per_ip: unlimited,
                login_per_account: unlimited,
                ..RateLimits::default()
            },
            ..(*runtime.core.settings).clone()
        });
        let store: &dyn Store = runtime.store.as_ref();
        let (mut user, _) = dealpulse::accounts::ensure_account(
            store,
            runtime.core.clock.as_ref(),
            EMAIL,
            Some(PASSWORD),
            Role::User,
            "bench",
        )
        .await
        .unwrap();
        // Pro: room for the 50 rules and the one POST adds.
        user.plan = dealpulse_domain::plans::Plan::Pro;
        let user = store.update_user(&user).await.unwrap();
        let (rule, watch) = seed(store, user.id).await;
        let store_clock = clocked.then(|| {
            let clock = Arc::new(StoreClock::default());
            runtime.core.store = Arc::new(TimedStore::new(
                runtime.store.clone() as Arc<dyn Store>,
                Arc::clone(&clock),
            ));
            clock
        });
        let router = runtime.router();
        let mut fixture = Self {
            _dir: dir,
            _runtime: runtime,
            router,
            access: String::new(),
            rule,
            watch,
            store_clock,
            patches: std::cell::Cell::new(0),
        };
        let (status, body) = fixture.call(Route::Login).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        fixture.access = body["access_token"].as_str().unwrap().to_string();
        fixture
    }

    fn request(&self, route: Route) -> Request<Body> {
        let (method, uri, body): (Method, String, Option<Value>) = match route {
            Route::Health => (Method::GET, "/health".into(), None),
            Route::Me => (Method::GET, "/api/v1/me".into(), None),
            Route::ListRules => (Method::GET, "/api/v1/deal-alert-rules".into(), None),
            Route::CreateRule => (
                Method::POST,
                "/api/v1/deal-alert-rules".into(),
                Some(json!({
                    "name": "Gaming PC under $800",
                    "query": "gaming (pc OR desktop) -mac",
                    "max_price": {"amount": "800", "currency": "USD"},
                    "categories": ["computers"],
                    "location": {"lat": 42.36, "lon": -71.06},
                    "radius": {"value": 50, "unit": "km"},
                    "cooldown_minutes": 120
                })),
            ),
            Route::GetRule => (
                Method::GET,
                format!("/api/v1/deal-alert-rules/{}", self.rule),
                None,
            ),
            Route::PatchRule => {
                let n = self.patches.get();
                self.patches.set(n + 1);
                (
                    Method::PATCH,
                    format!("/api/v1/deal-alert-rules/{}", self.rule),
                    Some(json!({
                        "max_price": {"amount": format!("{}", 700 + n % 2), "currency": "USD"}
                    })),
                )
            }
            Route::ParseQuery => (
                Method::POST,
                "/api/v1/deal-alert-rules/parse-query".into(),
                Some(json!({"query": "gaming (pc OR desktop) \"rtx 4070\" -mac -refurbished"})),
            ),
            Route::Watchlist => (Method::GET, "/api/v1/watchlist".into(), None),
            Route::GetWatch => (
                Method::GET,
                format!("/api/v1/watchlist/items/{}", self.watch),
                None,
            ),
            Route::Deals => (Method::GET, "/api/v1/deals".into(), None),
            Route::Preferences => (
                Method::GET,
                "/api/v1/notification-preferences/summary".into(),
                None,
            ),
            Route::Login => (
                Method::POST,
                "/api/v1/auth/login".into(),
                Some(json!({"email": EMAIL, "password": PASSWORD})),
            ),
        };
        let mut request = Request::builder().method(method).uri(uri);
        if !matches!(route, Route::Health | Route::Login) {
            request = request.header(header::AUTHORIZATION, format!("Bearer {}", self.access));
        }
        match body {
            Some(body) => request
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body.to_string())),
            None => request.body(Body::empty()),
        }
        .unwrap()
    }

    /// One request through the router, the body read to the end.
    async fn send(&self, request: Request<Body>) -> (StatusCode, axum::body::Bytes) {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        (status, body)
    }

    async fn call(&self, route: Route) -> (StatusCode, Value) {
        let (status, body) = self.send(self.request(route)).await;
        (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
    }

    /// Undoes what `route` changed, so the data stays the same for the next request. Not timed.
    async fn undo(&self, route: Route, body: &[u8]) {
        if route == Route::CreateRule {
            let created: Value = serde_json::from_slice(body).unwrap();
            let id = created["id"].as_str().unwrap();
            let request = Request::builder()
                .method(Method::DELETE)
                .uri(format!("/api/v1/deal-alert-rules/{id}"))
                .header(header::AUTHORIZATION, format!("Bearer {}", self.access))
                .body(Body::empty())
                .unwrap();
            let (status, _) = self.send(request).await;
            assert_eq!(status, StatusCode::NO_CONTENT);
        }
    }

    /// Times one request: (whole request, time inside the store, store calls).
    async fn measure(&self, route: Route) -> Sample {
        let request = self.request(route);
        if let Some(clock) = &self.store_clock {
            clock.take();
        }
        let started = Instant::now();
        let (status, body) = self.send(request).await;
        let total = started.elapsed();
        let store = self.store_clock.as_ref().map(|clock| clock.take());
        assert_eq!(
            status,
            route.expected(),
            "{}: {}",
            route.name(),
            String::from_utf8_lossy(&body)
        );
        if let Some(store) = store {
            assert_eq!(
                store.in_flight,
                0,
                "{}: a store call outlived the request",
                route.name()
            );
        }
        self.undo(route, &body).await;
        Sample {
            total,
            store: store.map_or(Duration::ZERO, |s| s.busy),
            calls: store.map_or(0, |s| s.calls),
        }
    }
}

#[derive(Clone, Copy)]
struct Sample {
    total: Duration,
    store: Duration,
    calls: u32,
}

impl Sample {
    /// What the variant reports: the whole request, or the request minus its store time.
    fn reported(&self, clocked: bool) -> Duration {
        if clocked {
            self.total.saturating_sub(self.store)
        } else {
            self.total
        }
    }
}

fn percentile(sorted: &[Duration], p: usize) -> Duration {
    let rank = (sorted.len() * p).div_ceil(100).max(1);
    sorted[rank - 1]
}

fn micros(d: Duration) -> String {
    let us = d.as_secs_f64() * 1e6;
    if us >= 10_000.0 {
        format!("{:.1} ms", us / 1000.0)
    } else {
        format!("{us:.0} µs")
    }
}

struct Row {
    route: Route,
    p50: Duration,
    p99: Duration,
    /// For `excl_store`: median whole request, median store time and store calls per request.
    store: Option<(Duration, Duration, u32)>,
}

fn percentiles(runtime: &tokio::runtime::Runtime, fixture: &Fixture) -> Vec<Row> {
    let clocked = fixture.store_clock.is_some();
    Route::ALL
        .iter()
        .map(|&route| {
            let (warm_up, samples) = route.samples();
            let measured: Vec<Sample> = runtime.block_on(async {
                for _ in 0..warm_up {
                    fixture.measure(route).await;
                }
                let mut measured = Vec::with_capacity(samples);
                for _ in 0..samples {
                    measured.push(fixture.measure(route).await);
                }
                measured
            });
            let mut reported: Vec<Duration> =
                measured.iter().map(|s| s.reported(clocked)).collect();
            reported.sort();
            let store = clocked.then(|| {
                let mut total: Vec<Duration> = measured.iter().map(|s| s.total).collect();
                let mut store: Vec<Duration> = measured.iter().map(|s| s.store).collect();
                let mut calls: Vec<u32> = measured.iter().map(|s| s.calls).collect();
                total.sort();
                store.sort();
                calls.sort();
                (
                    percentile(&total, 50),
                    percentile(&store, 50),
                    calls[calls.len() / 2],
                )
            });
            Row {
                route,
                p50: percentile(&reported, 50),
                p99: percentile(&reported, 99),
                store,
            }
        })
        .collect()
}

fn bench_routes(
    criterion: &mut Criterion,
    runtime: &tokio::runtime::Runtime,
    fixture: &Fixture,
    variant: &str,
) {
    let clocked = fixture.store_clock.is_some();
    for route in Route::ALL {
        let mut group = criterion.benchmark_group(format!("{variant}/{}", route.id()));
        if route == Route::Login {
            group
                .sampling_mode(SamplingMode::Flat)
                .sample_size(10)
                .measurement_time(Duration::from_secs(8));
        }
        group.bench_function("request", |b| {
            b.iter_custom(|iters| {
                runtime.block_on(async {
                    let mut spent = Duration::ZERO;
                    for _ in 0..iters {
                        spent += fixture.measure(route).await.reported(clocked);
                    }
                    spent
                })
            })
        });
        group.finish();
    }
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut criterion = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(30)
        .configure_from_args();

    let sqlite = runtime.block_on(Fixture::new(false));
    let clocked = runtime.block_on(Fixture::new(true));

    bench_routes(&mut criterion, &runtime, &sqlite, "sqlite");
    bench_routes(&mut criterion, &runtime, &clocked, "excl_store");

    let with_store = percentiles(&runtime, &sqlite);
    let without = percentiles(&runtime, &clocked);
    println!();
    println!(
        "p50/p99 per route: {SAMPLES} requests after {WARM_UP} warm-up ({LOGIN_SAMPLES} after {LOGIN_WARM_UP} for login); {RULES} rules, {WATCHES} watches, {LISTINGS} listings"
    );
    println!("| Route | SQLite p50 | SQLite p99 | Excl. store p50 | Excl. store p99 | Store calls | Store time p50 (of total p50) |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for (a, b) in with_store.iter().zip(&without) {
        let (total, store, calls) = b.store.unwrap_or_default();
        println!(
            "| `{}` | {} | {} | {} | {} | {} | {} (of {}) |",
            a.route.name(),
            micros(a.p50),
            micros(a.p99),
            micros(b.p50),
            micros(b.p99),
            calls,
            micros(store),
            micros(total),
        );
    }
    criterion.final_summary();
}
