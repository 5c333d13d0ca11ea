//! `dealpulse serve`'s router in-process, on a temporary data directory, with helpers to call it
//! the way a client would (JSON bodies, bearer tokens) and to walk the account sign-up flow.

use axum::body::Body;
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use axum::Router;
use dealpulse::runtime::{LocalConfig, LocalRuntime};
use dealpulse_domain::mail::OutboxReader;
use http_body_util::BodyExt;
use serde_json::{json, Value};
use std::path::PathBuf;
use tower::ServiceExt;

pub struct App {
    pub runtime: LocalRuntime,
    pub router: Router,
    pub dir: tempfile::TempDir,
    /// Where [`demo_app`] serves on 127.0.0.1; `None` for in-process apps.
    pub base_url: Option<String>,
}

/// Local mode with the shipped plan limits.
/// The Stripe endpoint secret local-mode tests sign webhook events with.
pub const STRIPE_WEBHOOK_SECRET: &str = "whsec_local_test_secret";

pub fn app() -> App {
    app_with_plans(None)
}

/// Local mode whose Stripe API calls go to `stripe_base` (a recorder).
pub fn app_with_stripe(stripe_base: &str) -> App {
    app_with(
        None,
        Some((stripe_base.to_string(), "sk_test_local".to_string())),
    )
}

/// Local mode with plan limits from a JSON file (the limits are data).
pub fn app_with_plans(plans_file: Option<PathBuf>) -> App {
    app_with(plans_file, None)
}

/// Local mode serving a built web dashboard from `web_dir`.
pub fn app_with_web_dir(web_dir: PathBuf) -> App {
    app_with_all(None, None, Some(web_dir))
}

/// Local mode whose Discord, Slack, webhook and push requests all go to `origin` (a recorder),
/// as `serve --notify-origin` sends them.
pub fn app_with_notify_origin(origin: &str) -> App {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = config(dir.path(), None, None, None);
    settings.notify_origin = Some(origin.parse().unwrap());
    let runtime = LocalRuntime::start(settings).unwrap();
    let router = runtime.router();
    App {
        runtime,
        router,
        dir,
        base_url: None,
    }
}

fn app_with(plans_file: Option<PathBuf>, stripe_api: Option<(String, String)>) -> App {
    app_with_all(plans_file, stripe_api, None)
}

fn app_with_all(
    plans_file: Option<PathBuf>,
    stripe_api: Option<(String, String)>,
    web_dir: Option<PathBuf>,
) -> App {
    let dir = tempfile::tempdir().unwrap();
    let runtime = LocalRuntime::start(config(dir.path(), plans_file, stripe_api, web_dir)).unwrap();
    let router = runtime.router();
    App {
        runtime,
        router,
        dir,
        base_url: None,
    }
}

fn config(
    data_dir: &std::path::Path,
    plans_file: Option<PathBuf>,
    stripe_api: Option<(String, String)>,
    web_dir: Option<PathBuf>,
) -> LocalConfig {
    LocalConfig {
        data_dir: data_dir.to_path_buf(),
        public_url: "http://dealpulse.test".into(),
        sender: "DealPulse <alerts@dealpulse.test>".into(),
        smtp_url: None,
        jwt_secret: None,
        allowed_origins: vec!["http://localhost:5173".into()],
        plans_file,
        twilio: None,
        inbound_domain: "inbound.dealpulse.test".into(),
        system_senders: vec!["@fares.example.com".into()],
        llm: None,
        notify_origin: None,
        delivery_lease: std::time::Duration::from_secs(120),
        stripe: Some(dealpulse_api::routes::billing::StripeSettings {
            webhook_secret: STRIPE_WEBHOOK_SECRET.into(),
            prices: [
                (
                    "price_pro_month".to_string(),
                    dealpulse_domain::plans::Plan::Pro,
                ),
                (
                    "price_business_month".to_string(),
                    dealpulse_domain::plans::Plan::Business,
                ),
            ]
            .into(),
            tolerance: dealpulse_domain::billing::DEFAULT_TOLERANCE,
        }),
        stripe_api,
        web_dir,
    }
}

/// Local mode as `serve --demo` runs it: every route and the demo shop on a real socket on
/// 127.0.0.1 (so the guarded fetcher can reach the shop), the demo data seeded, and watches
/// and previews allowed on the demo shop's pages. Requests still go to the router in-process;
/// `base_url` is where the socket listens. Nothing runs in the background: tests drive the
/// scraper and the alert pipeline themselves.
pub async fn demo_app() -> App {
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let bound = listener.local_addr().unwrap();
    let mut runtime = LocalRuntime::start(config(dir.path(), None, None, None)).unwrap();
    let options = dealpulse::serve::ServeOptions {
        demo: true,
        ..Default::default()
    };
    runtime
        .allow_local_shops(
            dealpulse::serve::local_shop_prefixes(bound, &options),
            std::collections::BTreeSet::from([bound.port()]),
        )
        .unwrap();
    dealpulse::serve::seed_demo(&runtime, &format!("http://{bound}/demo-shop"))
        .await
        .unwrap();
    let router = runtime.router();
    let served = router.clone().merge(dealpulse::demo_shop::router());
    tokio::spawn(async move {
        axum::serve(
            listener,
            served.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await
        .unwrap();
    });
    App {
        runtime,
        router,
        dir,
        base_url: Some(format!("http://{bound}")),
    }
}

/// A response as a client sees it; non-JSON bodies become a JSON string.
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl App {
    /// Runs the alert pipeline until nothing is left: catalogue events matched, then every
    /// delivery they queued sent (as the background workers of `serve` would).
    pub async fn settle_alerts(&self, pipeline: &dealpulse::runtime::AlertPipeline) {
        loop {
            let matched = dealpulse_alerts::worker::pump_events(
                &pipeline.matcher,
                self.runtime.events_queue.as_ref(),
                10,
            )
            .await
            .unwrap();
            let sent = dealpulse_alerts::worker::pump_deliveries(
                &pipeline.deliverer,
                self.runtime.queue.as_ref(),
                std::time::Duration::from_secs(60),
            )
            .await
            .unwrap();
            if matched == 0 && sent == 0 {
                break;
            }
        }
    }

    pub async fn send(&self, request: Request<Body>) -> Answer {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let body = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        Answer {
            status,
            headers,
            body,
        }
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        auth: Option<&str>,
        body: Option<Value>,
    ) -> Answer {
        let mut request = Request::builder().method(method).uri(path);
        if let Some(auth) = auth {
            request = request.header(header::AUTHORIZATION, format!("Bearer {auth}"));
        }
        let request = match body {
            Some(body) => request
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body.to_string())),
            None => request.body(Body::empty()),
        };
        self.send(request.unwrap()).await
    }

    pub async fn outbox_token(&self, to: &str) -> String {
        let outbox = self.runtime.outbox.as_ref().unwrap();
        let mail = outbox
            .recent(100)
            .await
            .unwrap()
            .into_iter()
            .find(|mail| mail.to == to)
            .expect("a mail to this address");
        dealpulse_api::emails::link_token(&mail.text).unwrap()
    }

    /// Gives an existing account the administrator role (its tokens carry it from the next
    /// request on: the role is read with the user).
    pub async fn make_admin(&self, email: &str) {
        use dealpulse_domain::ports::UserRepository;
        let store = self.runtime.store.as_ref();
        let mut user = store
            .user_by_email(&dealpulse_domain::account::Email::parse(email).unwrap())
            .await
            .unwrap()
            .unwrap();
        user.role = dealpulse_domain::account::Role::Admin;
        store.update_user(&user).await.unwrap();
    }

    /// Registers and verifies an account; returns (access token, refresh token).
    pub async fn verified_user(&self, email: &str, password: &str) -> (String, String) {
        let created = self
            .call(
                Method::POST,
                "/api/v1/auth/register",
                None,
                Some(json!({"email": email, "password": password})),
            )
            .await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
        let token = self.outbox_token(email).await;
        let verified = self
            .call(
                Method::POST,
                "/api/v1/auth/verify-email",
                None,
                Some(json!({"token": token})),
            )
            .await;
        assert_eq!(verified.status, StatusCode::OK, "{}", verified.body);
        self.login(email, password).await
    }

    /// Creates an API key for the holder of `access`; returns the creation answer.
    pub async fn create_api_key(&self, access: &str, name: &str) -> Answer {
        let created = self
            .call(
                Method::POST,
                "/api/v1/me/api-keys",
                Some(access),
                Some(json!({"name": name})),
            )
            .await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
        created
    }

    pub async fn login(&self, email: &str, password: &str) -> (String, String) {
        let login = self
            .call(
                Method::POST,
                "/api/v1/auth/login",
                None,
                Some(json!({"email": email, "password": password})),
            )
            .await;
        assert_eq!(login.status, StatusCode::OK, "{}", login.body);
        (
            login.body["access_token"].as_str().unwrap().to_string(),
            login.body["refresh_token"].as_str().unwrap().to_string(),
        )
    }
}

/// Asserts an RFC 9457 problem answer with this status that leaks no internals.
pub fn assert_problem(answer: &Answer, status: StatusCode, context: &str) {
    assert_eq!(answer.status, status, "{context}: {}", answer.body);
    assert_eq!(
        answer.headers.get(header::CONTENT_TYPE).unwrap(),
        "application/problem+json",
        "{context}"
    );
    assert_eq!(answer.body["status"], status.as_u16(), "{context}");
    assert!(
        answer.body["title"].is_string() && answer.body["detail"].is_string(),
        "{context}"
    );
    let text = answer.body.to_string();
    for leak in ["sqlite", "rusqlite", "panicked", "src/"] {
        assert!(
            !text.to_lowercase().contains(leak),
            "{context} leaks internals: {text}"
        );
    }
}
