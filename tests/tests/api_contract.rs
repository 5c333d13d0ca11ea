//! The HTTP contract of the account API, run in-process against local mode (SQLite + outbox):
//! bad input on every route, owner checks, rate limits, suspension, password change and reset,
//! deletion, conditional requests, and the OpenAPI document.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use dealpulse::accounts::set_status;
use dealpulse_domain::account::{Email, UserStatus};
use dealpulse_domain::channels::{ChannelEndpoint, PhoneSetup, PushSubscription};
use dealpulse_domain::mail::OutboxReader;
use dealpulse_domain::ports::Store;
use dealpulse_domain::preferences::NotificationPreferences;
use dealpulse_domain::records::records;
use dealpulse_domain::rules::AlertRule;
use dealpulse_domain::watch::WatchItem;
use dealpulse_tests::local_app::{app, assert_problem, Answer, App};
use serde_json::{json, Value};

/// Counts of everything a request could change, to prove bad input changed nothing.
async fn snapshot(app: &App, email: &str) -> Value {
    let store: &dyn Store = app.runtime.store.as_ref();
    let user = store
        .user_by_email(&Email::parse(email).unwrap())
        .await
        .unwrap()
        .unwrap();
    json!({
        "user": serde_json::to_value(&user).unwrap(),
        "sessions": store.sessions_of_user(user.id).await.unwrap().iter().map(|s| (s.id.to_string(), s.revoked_at.map(|t| t.to_string()))).collect::<Vec<_>>(),
        "keys": store.api_keys_of_user(user.id).await.unwrap().iter().map(|k| (k.id.to_string(), k.revoked_at.map(|t| t.to_string()))).collect::<Vec<_>>(),
        "audit": store.audit_of_user(user.id, 1000).await.unwrap().len(),
        "rules": records::<AlertRule>(store).list(user.id).await.unwrap().iter().map(|r| serde_json::to_value(r).unwrap()).collect::<Vec<_>>(),
        "watches": records::<WatchItem>(store).list(user.id).await.unwrap().iter().map(|w| serde_json::to_value(w).unwrap()).collect::<Vec<_>>(),
        "endpoints": records::<ChannelEndpoint>(store).list(user.id).await.unwrap().iter().map(|e| serde_json::to_value(e).unwrap()).collect::<Vec<_>>(),
        "preferences": serde_json::to_value(records::<NotificationPreferences>(store).get(user.id, "current").await.unwrap()).unwrap(),
        "phone": serde_json::to_value(records::<PhoneSetup>(store).get(user.id, "current").await.unwrap()).unwrap(),
        "push": records::<PushSubscription>(store).list(user.id).await.unwrap().len(),
    })
}

/// Concrete paths for the OpenAPI templates, with ids that name nothing.
fn concrete(path: &str) -> String {
    path.replace("{id}", "01a211c9-0000-7000-8000-000000000000")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_on_every_route_is_a_4xx_problem_and_changes_nothing() {
    let app = app();
    let (access, _) = app
        .verified_user("victim@example.com", "a long enough password")
        .await;
    let before = snapshot(&app, "victim@example.com").await;
    // Admin routes are probed as an administrator and the partner push with an ingest key, so
    // the answers are about the input, not the role.
    let (boss, _) = app
        .verified_user("boss@example.com", "a long enough password")
        .await;
    app.make_admin("boss@example.com").await;
    let ingest_key = app
        .call(
            Method::POST,
            "/api/v1/me/api-keys",
            Some(&boss),
            Some(json!({"name": "partner", "scopes": ["ingest"], "source": "partner-x"})),
        )
        .await
        .body["key"]
        .as_str()
        .unwrap()
        .to_string();
    let doc = dealpulse_api::openapi::document_json();
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let method: Method = method.to_uppercase().parse().unwrap();
            let uri = concrete(path);
            let secured = operation.get("security").is_some();
            let has_body = operation.get("requestBody").is_some();
            let context = format!("{method} {path}");

            if secured {
                let answer = app
                    .call(method.clone(), &uri, None, has_body.then(|| json!({})))
                    .await;
                assert_problem(
                    &answer,
                    StatusCode::UNAUTHORIZED,
                    &format!("{context} without credentials"),
                );
                assert!(answer.headers.contains_key(header::WWW_AUTHENTICATE));
                let answer = app
                    .call(
                        method.clone(),
                        &uri,
                        Some("not.a.jwt"),
                        has_body.then(|| json!({})),
                    )
                    .await;
                assert_problem(
                    &answer,
                    StatusCode::UNAUTHORIZED,
                    &format!("{context} with a forged token"),
                );
                checked += 2;
            }
            let credential = if path == "/api/v1/ingest/listings" {
                ingest_key.as_str()
            } else if path.starts_with("/api/v1/ingest/") || path.starts_with("/api/v1/admin/") {
                boss.as_str()
            } else {
                access.as_str()
            };
            let auth = secured.then_some(credential);
            let raw_mail = operation["requestBody"]["content"]
                .get("message/rfc822")
                .is_some();
            if raw_mail {
                // Raw messages: anything but message/rfc822, an empty message or one over the
                // cap is refused, and nothing is kept.
                let over = "x".repeat(dealpulse_api::routes::ingest::MAX_MAIL_BYTES + 1);
                for (label, content_type, body, expected) in [
                    (
                        "JSON",
                        "application/json",
                        "{}".to_string(),
                        StatusCode::BAD_REQUEST,
                    ),
                    (
                        "empty",
                        "message/rfc822",
                        String::new(),
                        StatusCode::UNPROCESSABLE_ENTITY,
                    ),
                    (
                        "over the cap",
                        "message/rfc822",
                        over,
                        StatusCode::PAYLOAD_TOO_LARGE,
                    ),
                ] {
                    let mut request = Request::builder()
                        .method(method.clone())
                        .uri(&uri)
                        .header(header::CONTENT_TYPE, content_type);
                    if let Some(auth) = auth {
                        request = request.header(header::AUTHORIZATION, format!("Bearer {auth}"));
                    }
                    let answer = app.send(request.body(Body::from(body)).unwrap()).await;
                    assert_problem(&answer, expected, &format!("{context} with {label}"));
                    checked += 1;
                }
            } else if path == "/api/v1/billing/stripe/webhook" {
                // Stripe's webhook reads nothing before the signature: every unsigned body,
                // well-formed or not, is a 400 (tests/billing_api.rs covers signed ones).
                for body in ["{\"email\": ", "{}", "{\"surprise\": true}", "[1, 2, 3]"] {
                    let request = Request::builder()
                        .method(method.clone())
                        .uri(&uri)
                        .header(header::CONTENT_TYPE, "application/json")
                        .body(Body::from(body))
                        .unwrap();
                    let answer = app.send(request).await;
                    assert_problem(
                        &answer,
                        StatusCode::BAD_REQUEST,
                        &format!("{context} unsigned"),
                    );
                    checked += 1;
                }
            } else if operation["requestBody"]["content"]
                .get("text/csv")
                .is_some()
            {
                // CSV imports: only text/csv, at least one row, at most the cap.
                let over = "x".repeat(dealpulse_api::routes::newsletter::MAX_IMPORT_BYTES + 1);
                for (label, content_type, body, expected) in [
                    (
                        "JSON",
                        Some("application/json"),
                        "{}".to_string(),
                        StatusCode::BAD_REQUEST,
                    ),
                    (
                        "no content type",
                        None,
                        "a@example.com".to_string(),
                        StatusCode::BAD_REQUEST,
                    ),
                    (
                        "no rows",
                        Some("text/csv"),
                        "email,name\n\n".to_string(),
                        StatusCode::UNPROCESSABLE_ENTITY,
                    ),
                    (
                        "over the cap",
                        Some("text/csv"),
                        over,
                        StatusCode::PAYLOAD_TOO_LARGE,
                    ),
                ] {
                    let mut request = Request::builder().method(method.clone()).uri(&uri);
                    if let Some(auth) = auth {
                        request = request.header(header::AUTHORIZATION, format!("Bearer {auth}"));
                    }
                    if let Some(content_type) = content_type {
                        request = request.header(header::CONTENT_TYPE, content_type);
                    }
                    let answer = app.send(request.body(Body::from(body)).unwrap()).await;
                    assert_problem(&answer, expected, &format!("{context} with {label}"));
                    checked += 1;
                }
            } else if has_body {
                let bad_bodies: [(&str, Option<&str>, &str, StatusCode); 4] = [
                    (
                        "malformed JSON",
                        Some("application/json"),
                        "{\"email\": ",
                        StatusCode::BAD_REQUEST,
                    ),
                    ("no content type", None, "{}", StatusCode::BAD_REQUEST),
                    (
                        "unknown field",
                        Some("application/json"),
                        "{\"surprise\": true}",
                        StatusCode::UNPROCESSABLE_ENTITY,
                    ),
                    (
                        "wrong type",
                        Some("application/json"),
                        "[1, 2, 3]",
                        StatusCode::UNPROCESSABLE_ENTITY,
                    ),
                ];
                for (label, content_type, body, expected) in bad_bodies {
                    let mut request = Request::builder().method(method.clone()).uri(&uri);
                    if let Some(auth) = auth {
                        request = request.header(header::AUTHORIZATION, format!("Bearer {auth}"));
                    }
                    if let Some(content_type) = content_type {
                        request = request.header(header::CONTENT_TYPE, content_type);
                    }
                    let answer = app.send(request.body(Body::from(body)).unwrap()).await;
                    assert_problem(&answer, expected, &format!("{context} with {label}"));
                    checked += 1;
                }
                // Larger than the route's cap: 1 MiB everywhere, 4 MiB for partner pushes.
                let cap = if path == "/api/v1/ingest/listings" {
                    dealpulse_api::routes::ingest::MAX_PUSH_BYTES
                } else {
                    dealpulse_api::json::MAX_BODY_BYTES
                };
                let huge = format!("{{\"email\": \"{}\"}}", "a".repeat(cap));
                let mut request = Request::builder()
                    .method(method.clone())
                    .uri(&uri)
                    .header(header::CONTENT_TYPE, "application/json");
                if let Some(auth) = auth {
                    request = request.header(header::AUTHORIZATION, format!("Bearer {auth}"));
                }
                let answer = app.send(request.body(Body::from(huge)).unwrap()).await;
                assert_problem(
                    &answer,
                    StatusCode::PAYLOAD_TOO_LARGE,
                    &format!("{context} with a body over {cap} bytes"),
                );
                checked += 1;
            }
            if path.contains("{id}") {
                // A well-formed body, so that the answer is about the id.
                for id in ["not-an-id", "01a211c9-0000-7000-8000-000000000000"] {
                    let answer = app
                        .call(
                            method.clone(),
                            &path.replace("{id}", id),
                            auth,
                            has_body.then(|| json!({})),
                        )
                        .await;
                    assert_problem(
                        &answer,
                        StatusCode::NOT_FOUND,
                        &format!("{context} with id {id}"),
                    );
                    checked += 1;
                }
            }
            if path == "/api/v1/dev/outbox" {
                let answer = app
                    .call(method.clone(), "/api/v1/dev/outbox?limit=0", None, None)
                    .await;
                assert_problem(&answer, StatusCode::UNPROCESSABLE_ENTITY, "outbox limit 0");
                let answer = app
                    .call(method.clone(), "/api/v1/dev/outbox?limit=abc", None, None)
                    .await;
                assert_problem(&answer, StatusCode::BAD_REQUEST, "outbox limit abc");
                checked += 2;
            }
        }
    }
    // Invalid values on the routes that parse them.
    for (path, body) in [
        (
            "/api/v1/auth/register",
            json!({"email": "nope", "password": "short", "timezone": "Mars/Base", "locale": "xx-yy-zz"}),
        ),
        (
            "/api/v1/auth/login",
            json!({"email": "nope", "password": "x"}),
        ),
        ("/api/v1/auth/resend-verification", json!({"email": "nope"})),
        ("/api/v1/auth/password/forgot", json!({"email": "nope"})),
        (
            "/api/v1/auth/password/reset",
            json!({"token": "v1.x.y", "new_password": "short"}),
        ),
    ] {
        let answer = app.call(Method::POST, path, None, Some(body)).await;
        assert_problem(&answer, StatusCode::UNPROCESSABLE_ENTITY, path);
        assert!(
            answer.body["errors"]
                .as_array()
                .is_some_and(|e| !e.is_empty()),
            "{path}: field errors"
        );
        checked += 1;
    }
    let answer = app
        .call(
            Method::PATCH,
            "/api/v1/me",
            Some(&access),
            Some(json!({"timezone": "Mars/Base", "display_name": ""})),
        )
        .await;
    assert_problem(
        &answer,
        StatusCode::UNPROCESSABLE_ENTITY,
        "PATCH /me invalid",
    );
    assert_eq!(
        answer.body["errors"].as_array().unwrap().len(),
        2,
        "every bad field is named"
    );
    let answer = app
        .call(
            Method::POST,
            "/api/v1/me/api-keys",
            Some(&access),
            Some(json!({"name": " "})),
        )
        .await;
    assert_problem(
        &answer,
        StatusCode::UNPROCESSABLE_ENTITY,
        "api key without name",
    );
    let answer = app
        .call(
            Method::POST,
            "/api/v1/me/password",
            Some(&access),
            Some(json!({"current_password": "wrong password", "new_password": "another long one"})),
        )
        .await;
    assert_problem(
        &answer,
        StatusCode::FORBIDDEN,
        "password change with the wrong current password",
    );
    let answer = app
        .call(
            Method::DELETE,
            "/api/v1/me",
            Some(&access),
            Some(json!({"password": "wrong password"})),
        )
        .await;
    assert_problem(
        &answer,
        StatusCode::FORBIDDEN,
        "deletion with the wrong password",
    );

    assert!(checked > 60, "only {checked} checks ran");
    assert_eq!(
        snapshot(&app, "victim@example.com").await,
        before,
        "bad input changed state"
    );
    use dealpulse_domain::ports::{CatalogRepository, SourceRepository};
    assert!(
        app.runtime.store.feeds().await.unwrap().is_empty(),
        "no feed registered"
    );
    assert!(
        !app.dir.path().join("inbound").exists(),
        "no raw message kept"
    );
    assert!(
        app.runtime
            .store
            .listings_seen_since(jiff::Timestamp::UNIX_EPOCH, 10)
            .await
            .unwrap()
            .is_empty(),
        "no listing pushed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_id_addressed_route_answers_404_for_another_users_ids() {
    let app = app();
    let (alice, _) = app
        .verified_user("alice@example.com", "alice's long password")
        .await;
    let (bob, _) = app
        .verified_user("bob@example.com", "bob's long password!")
        .await;
    let bob_key = app.create_api_key(&bob, "bob's").await;
    let bob_key_id = bob_key.body["id"].as_str().unwrap().to_string();
    let bob_sessions = app
        .call(Method::GET, "/api/v1/me/sessions", Some(&bob), None)
        .await;
    let bob_session_id = bob_sessions.body["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let created = |answer: Answer| {
        assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
        answer.body["id"].as_str().unwrap().to_string()
    };
    let bob_rule_id = created(
        app.call(
            Method::POST,
            "/api/v1/deal-alert-rules",
            Some(&bob),
            Some(json!({"name": "bob's rule", "query": "gaming pc"})),
        )
        .await,
    );
    let bob_watch_id = created(
        app.call(
            Method::POST,
            "/api/v1/watchlist/items",
            Some(&bob),
            Some(json!({"url": "https://shop.example.com/p/1", "trigger": {"kind": "any_drop"}})),
        )
        .await,
    );
    let bob_endpoint_id = created(
        app.call(
            Method::POST,
            "/api/v1/notification-preferences/endpoints",
            Some(&bob),
            Some(json!({"kind": "discord", "url": "https://discord.com/api/webhooks/123/abc"})),
        )
        .await,
    );
    let before = snapshot(&app, "bob@example.com").await;

    let doc = dealpulse_api::openapi::document_json();
    let mut id_routes = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        // Tracked products are shared public pages, readable by every signed-in user; feeds
        // and failed deliveries are administrators' (everyone else gets 403, see
        // tests/ingest_api.rs and every_admin_route_refuses_other_users below).
        if !path.contains("{id}")
            || path.starts_with("/api/v1/products/")
            || path.starts_with("/api/v1/analytics/products/")
            || path.starts_with("/api/v1/ingest/")
            || path.starts_with("/api/v1/admin/")
            // Deals are listings every user sees; reporting one is tested in deal_reports.rs.
            || path.starts_with("/api/v1/deals/")
        {
            continue;
        }
        for (method, operation) in item.as_object().unwrap() {
            let bobs_id = if path.contains("api-keys") {
                &bob_key_id
            } else if path.contains("deal-alert-rules") {
                &bob_rule_id
            } else if path.contains("watchlist") {
                &bob_watch_id
            } else if path.contains("endpoints") {
                &bob_endpoint_id
            } else {
                assert!(path.contains("sessions"), "{path}: whose id?");
                &bob_session_id
            };
            let has_body = operation.get("requestBody").is_some();
            let answer = app
                .call(
                    method.to_uppercase().parse().unwrap(),
                    &path.replace("{id}", bobs_id),
                    Some(&alice),
                    has_body.then(|| json!({})),
                )
                .await;
            assert_problem(
                &answer,
                StatusCode::NOT_FOUND,
                &format!("{method} {path} as another user"),
            );
            id_routes += 1;
        }
    }
    assert_eq!(id_routes, 18);
    assert_eq!(snapshot(&app, "bob@example.com").await, before);
    let still = app
        .call(
            Method::GET,
            "/api/v1/me",
            Some(bob_key.body["key"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(still.status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_is_rate_limited_per_account_with_retry_after() {
    let app = app();
    app.verified_user("target@example.com", "the right password")
        .await;
    let mut last = None;
    for attempt in 1..=11 {
        let answer = app
            .call(
                Method::POST,
                "/api/v1/auth/login",
                None,
                Some(json!({"email": "target@example.com", "password": "a wrong guess"})),
            )
            .await;
        if attempt <= 9 {
            assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "attempt {attempt}");
        }
        last = Some(answer);
    }
    let limited = last.unwrap();
    assert_problem(&limited, StatusCode::TOO_MANY_REQUESTS, "11th login");
    let retry_after: u64 = limited.headers[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=900).contains(&retry_after));
    assert_eq!(limited.headers["ratelimit-limit"], "10");
    assert_eq!(limited.headers["ratelimit-remaining"], "0");
    // Even the right password waits: the limit protects the account, not the guess.
    let right = app
        .call(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(json!({"email": "target@example.com", "password": "the right password"})),
        )
        .await;
    assert_eq!(right.status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resending_verification_has_a_cooldown() {
    let app = app();
    app.call(
        Method::POST,
        "/api/v1/auth/register",
        None,
        Some(json!({"email": "slow@example.com", "password": "a long enough password"})),
    )
    .await;
    let first = app
        .call(
            Method::POST,
            "/api/v1/auth/resend-verification",
            None,
            Some(json!({"email": "slow@example.com"})),
        )
        .await;
    assert_eq!(first.status, StatusCode::ACCEPTED);
    let second = app
        .call(
            Method::POST,
            "/api/v1/auth/resend-verification",
            None,
            Some(json!({"email": "slow@example.com"})),
        )
        .await;
    assert_problem(&second, StatusCode::TOO_MANY_REQUESTS, "second resend");
    assert!(second.headers.contains_key(header::RETRY_AFTER));
    let unknown = app
        .call(
            Method::POST,
            "/api/v1/auth/resend-verification",
            None,
            Some(json!({"email": "nobody@example.com"})),
        )
        .await;
    assert_eq!(
        unknown.status,
        StatusCode::ACCEPTED,
        "no account enumeration"
    );
    let sent = app
        .runtime
        .outbox
        .as_ref()
        .unwrap()
        .recent(100)
        .await
        .unwrap();
    assert_eq!(
        sent.iter()
            .filter(|mail| mail.to == "slow@example.com")
            .count(),
        2
    );
    assert!(sent.iter().all(|mail| mail.to != "nobody@example.com"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suspended_users_cannot_log_in_refresh_or_use_keys() {
    let app = app();
    let (access, refresh) = app
        .verified_user("suspect@example.com", "a long enough password")
        .await;
    let key = app.create_api_key(&access, "k").await;
    let key = key.body["key"].as_str().unwrap().to_string();
    set_status(
        app.runtime.store.as_ref(),
        app.runtime.core.clock.as_ref(),
        "suspect@example.com",
        UserStatus::Suspended,
        "test",
    )
    .await
    .unwrap();
    let login = app
        .call(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(json!({"email": "suspect@example.com", "password": "a long enough password"})),
        )
        .await;
    assert_problem(&login, StatusCode::FORBIDDEN, "suspended login");
    assert!(login.body["type"]
        .as_str()
        .unwrap()
        .ends_with("account-suspended"));
    let with_key = app.call(Method::GET, "/api/v1/me", Some(&key), None).await;
    assert_problem(&with_key, StatusCode::FORBIDDEN, "suspended key");
    let with_access = app
        .call(Method::GET, "/api/v1/me", Some(&access), None)
        .await;
    assert_eq!(with_access.status.as_u16() / 100, 4);
    let refreshed = app
        .call(
            Method::POST,
            "/api/v1/auth/refresh",
            None,
            Some(json!({"refresh_token": refresh})),
        )
        .await;
    assert_problem(&refreshed, StatusCode::UNAUTHORIZED, "suspended refresh");

    set_status(
        app.runtime.store.as_ref(),
        app.runtime.core.clock.as_ref(),
        "suspect@example.com",
        UserStatus::Active,
        "test",
    )
    .await
    .unwrap();
    assert_eq!(
        app.call(Method::GET, "/api/v1/me", Some(&key), None)
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changing_the_password_ends_every_session() {
    let app = app();
    let (first, first_refresh) = app
        .verified_user("mover@example.com", "old password 123")
        .await;
    let (second, _) = app.login("mover@example.com", "old password 123").await;
    let changed = app
        .call(
            Method::POST,
            "/api/v1/me/password",
            Some(&second),
            Some(
                json!({"current_password": "old password 123", "new_password": "new password 456"}),
            ),
        )
        .await;
    assert_eq!(changed.status, StatusCode::NO_CONTENT, "{}", changed.body);
    for token in [&first, &second] {
        assert_problem(
            &app.call(Method::GET, "/api/v1/me", Some(token), None).await,
            StatusCode::UNAUTHORIZED,
            "old access token",
        );
    }
    let refreshed = app
        .call(
            Method::POST,
            "/api/v1/auth/refresh",
            None,
            Some(json!({"refresh_token": first_refresh})),
        )
        .await;
    assert_problem(&refreshed, StatusCode::UNAUTHORIZED, "old refresh token");
    let old = app
        .call(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(json!({"email": "mover@example.com", "password": "old password 123"})),
        )
        .await;
    assert_problem(&old, StatusCode::UNAUTHORIZED, "old password");
    app.login("mover@example.com", "new password 456").await;
    let audit = app
        .call(
            Method::GET,
            "/api/v1/me/audit",
            Some(&app.login("mover@example.com", "new password 456").await.0),
            None,
        )
        .await;
    let actions: Vec<&str> = audit.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(actions.contains(&"password.changed"), "{actions:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_reset_link_works_once_and_ends_sessions() {
    let app = app();
    let (access, _) = app
        .verified_user("forgetful@example.com", "forgotten password")
        .await;
    let forgot = app
        .call(
            Method::POST,
            "/api/v1/auth/password/forgot",
            None,
            Some(json!({"email": "forgetful@example.com"})),
        )
        .await;
    assert_eq!(forgot.status, StatusCode::ACCEPTED);
    let mails = app
        .runtime
        .outbox
        .as_ref()
        .unwrap()
        .recent(10)
        .await
        .unwrap();
    let reset_mail = mails.iter().find(|m| m.subject.contains("Reset")).unwrap();
    assert!(reset_mail
        .text
        .contains("http://dealpulse.test/reset-password?token="));
    let token = dealpulse_api::emails::link_token(&reset_mail.text).unwrap();

    let weak = app
        .call(
            Method::POST,
            "/api/v1/auth/password/reset",
            None,
            Some(json!({"token": token, "new_password": "short"})),
        )
        .await;
    assert_problem(
        &weak,
        StatusCode::UNPROCESSABLE_ENTITY,
        "weak password keeps the link usable",
    );
    let reset = app
        .call(
            Method::POST,
            "/api/v1/auth/password/reset",
            None,
            Some(json!({"token": token, "new_password": "remembered password"})),
        )
        .await;
    assert_eq!(reset.status, StatusCode::NO_CONTENT, "{}", reset.body);
    let again = app
        .call(
            Method::POST,
            "/api/v1/auth/password/reset",
            None,
            Some(json!({"token": token, "new_password": "another password!"})),
        )
        .await;
    assert_problem(&again, StatusCode::BAD_REQUEST, "second use of the link");
    assert_problem(
        &app.call(Method::GET, "/api/v1/me", Some(&access), None)
            .await,
        StatusCode::UNAUTHORIZED,
        "session after reset",
    );
    app.login("forgetful@example.com", "remembered password")
        .await;
    // A verification token is not a reset token.
    let (_, _) = app
        .verified_user("other@example.com", "other long password")
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_the_account_removes_access_and_frees_the_address() {
    let app = app();
    let (access, refresh) = app
        .verified_user("leaver@example.com", "leaving password")
        .await;
    let key = app.create_api_key(&access, "k").await;
    let key = key.body["key"].as_str().unwrap().to_string();
    let deleted = app
        .call(
            Method::DELETE,
            "/api/v1/me",
            Some(&access),
            Some(json!({"password": "leaving password"})),
        )
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.body);
    assert_problem(
        &app.call(Method::GET, "/api/v1/me", Some(&access), None)
            .await,
        StatusCode::UNAUTHORIZED,
        "access after deletion",
    );
    assert_problem(
        &app.call(Method::GET, "/api/v1/me", Some(&key), None).await,
        StatusCode::UNAUTHORIZED,
        "key after deletion",
    );
    let refreshed = app
        .call(
            Method::POST,
            "/api/v1/auth/refresh",
            None,
            Some(json!({"refresh_token": refresh})),
        )
        .await;
    assert_problem(
        &refreshed,
        StatusCode::UNAUTHORIZED,
        "refresh after deletion",
    );
    let again = app
        .call(
            Method::POST,
            "/api/v1/auth/register",
            None,
            Some(json!({"email": "leaver@example.com", "password": "a new beginning"})),
        )
        .await;
    assert_eq!(again.status, StatusCode::CREATED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn profile_reads_and_writes_are_conditional() {
    let app = app();
    let (access, _) = app
        .verified_user("careful@example.com", "careful password")
        .await;
    let me = app
        .call(Method::GET, "/api/v1/me", Some(&access), None)
        .await;
    let etag = me.headers[header::ETAG].to_str().unwrap().to_string();
    let cached = app
        .send(
            Request::get("/api/v1/me")
                .header(header::AUTHORIZATION, format!("Bearer {access}"))
                .header(header::IF_NONE_MATCH, &etag)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(cached.status, StatusCode::NOT_MODIFIED);
    let patch = |if_match: String, name: &str| {
        Request::patch("/api/v1/me")
            .header(header::AUTHORIZATION, format!("Bearer {access}"))
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::IF_MATCH, if_match)
            .body(Body::from(json!({"display_name": name}).to_string()))
            .unwrap()
    };
    let first = app.send(patch(etag.clone(), "First")).await;
    assert_eq!(first.status, StatusCode::OK);
    assert_ne!(first.headers[header::ETAG].to_str().unwrap(), etag);
    let stale = app.send(patch(etag, "Second")).await;
    assert_problem(&stale, StatusCode::PRECONDITION_FAILED, "stale If-Match");
    let me = app
        .call(Method::GET, "/api/v1/me", Some(&access), None)
        .await;
    assert_eq!(me.body["display_name"], "First");
    let cleared = app
        .call(
            Method::PATCH,
            "/api/v1/me",
            Some(&access),
            Some(json!({"display_name": null})),
        )
        .await;
    assert_eq!(cleared.body["display_name"], Value::Null);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoked_api_keys_stop_working_and_logout_ends_the_session() {
    let app = app();
    let (access, _) = app
        .verified_user("keys@example.com", "keys password 1")
        .await;
    let created = app.create_api_key(&access, "ci").await;
    let key = created.body["key"].as_str().unwrap();
    assert!(key.starts_with(created.body["prefix"].as_str().unwrap()));
    let logout_with_key = app
        .call(Method::POST, "/api/v1/auth/logout", Some(key), None)
        .await;
    assert_problem(
        &logout_with_key,
        StatusCode::BAD_REQUEST,
        "logout with an API key",
    );
    let id = created.body["id"].as_str().unwrap();
    let revoked = app
        .call(
            Method::DELETE,
            &format!("/api/v1/me/api-keys/{id}"),
            Some(&access),
            None,
        )
        .await;
    assert_eq!(revoked.status, StatusCode::NO_CONTENT);
    assert_problem(
        &app.call(Method::GET, "/api/v1/me", Some(key), None).await,
        StatusCode::UNAUTHORIZED,
        "revoked key",
    );
    let listed = app
        .call(Method::GET, "/api/v1/me/api-keys", Some(&access), None)
        .await;
    assert!(listed.body["items"][0]["revoked_at"].is_string());

    let logout = app
        .call(Method::POST, "/api/v1/auth/logout", Some(&access), None)
        .await;
    assert_eq!(logout.status, StatusCode::NO_CONTENT);
    assert_problem(
        &app.call(Method::GET, "/api/v1/me", Some(&access), None)
            .await,
        StatusCode::UNAUTHORIZED,
        "after logout",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_response_carries_request_id_security_headers_and_problems_for_unknown_routes() {
    let app = app();
    let answer = app
        .send(
            Request::get("/nowhere")
                .header("x-request-id", "trace-me-42")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_problem(&answer, StatusCode::NOT_FOUND, "unknown path");
    assert_eq!(answer.headers["x-request-id"], "trace-me-42");
    for name in [
        "x-content-type-options",
        "x-frame-options",
        "referrer-policy",
        "content-security-policy",
    ] {
        assert!(answer.headers.contains_key(name), "{name}");
    }
    let wrong_method = app.call(Method::DELETE, "/health", None, None).await;
    assert_problem(
        &wrong_method,
        StatusCode::METHOD_NOT_ALLOWED,
        "DELETE /health",
    );
    let generated = app.call(Method::GET, "/health", None, None).await;
    assert_eq!(
        generated.headers["x-request-id"].to_str().unwrap().len(),
        36
    );

    let preflight = app
        .send(
            Request::builder()
                .method(Method::OPTIONS)
                .uri("/api/v1/auth/login")
                .header(header::ORIGIN, "http://localhost:5173")
                .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(
        preflight.headers[header::ACCESS_CONTROL_ALLOW_ORIGIN],
        "http://localhost:5173"
    );
    let foreign = app
        .send(
            Request::get("/health")
                .header(header::ORIGIN, "http://evil.test")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert!(!foreign
        .headers
        .contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_is_3_1_and_describes_every_route() {
    let app = app();
    let answer = app.call(Method::GET, "/openapi.json", None, None).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert!(answer.body["openapi"].as_str().unwrap().starts_with("3.1"));
    let paths = answer.body["paths"].as_object().unwrap();
    let expected = [
        ("/health", "get"),
        ("/health/ready", "get"),
        ("/api/v1/auth/register", "post"),
        ("/api/v1/auth/verify-email", "post"),
        ("/api/v1/auth/resend-verification", "post"),
        ("/api/v1/auth/login", "post"),
        ("/api/v1/auth/refresh", "post"),
        ("/api/v1/auth/logout", "post"),
        ("/api/v1/auth/password/forgot", "post"),
        ("/api/v1/auth/password/reset", "post"),
        ("/api/v1/me", "get"),
        ("/api/v1/me", "patch"),
        ("/api/v1/me", "delete"),
        ("/api/v1/me/password", "post"),
        ("/api/v1/me/sessions", "get"),
        ("/api/v1/me/sessions/{id}", "delete"),
        ("/api/v1/me/api-keys", "get"),
        ("/api/v1/me/api-keys", "post"),
        ("/api/v1/me/api-keys/{id}", "delete"),
        ("/api/v1/me/audit", "get"),
        ("/api/v1/dev/outbox", "get"),
        ("/api/v1/dev/sms-outbox", "get"),
        ("/api/v1/deal-alert-rules", "get"),
        ("/api/v1/deal-alert-rules", "post"),
        ("/api/v1/deal-alert-rules/bulk", "post"),
        ("/api/v1/deal-alert-rules/parse-query", "post"),
        ("/api/v1/deal-alert-rules/{id}", "get"),
        ("/api/v1/deal-alert-rules/{id}", "patch"),
        ("/api/v1/deal-alert-rules/{id}", "delete"),
        ("/api/v1/deal-alert-rules/{id}/pause", "post"),
        ("/api/v1/deal-alert-rules/{id}/resume", "post"),
        ("/api/v1/deal-alert-rules/{id}/test", "post"),
        ("/api/v1/watchlist", "get"),
        ("/api/v1/watchlist/items", "post"),
        ("/api/v1/watchlist/items/{id}", "get"),
        ("/api/v1/watchlist/items/{id}", "patch"),
        ("/api/v1/watchlist/items/{id}", "delete"),
        ("/api/v1/watchlist/items/{id}/history", "get"),
        ("/api/v1/watchlist/items/{id}/check", "post"),
        ("/api/v1/watchlist/preview", "post"),
        ("/api/v1/products/{id}", "get"),
        ("/api/v1/products/{id}/history", "get"),
        ("/api/v1/ingest/listings", "post"),
        ("/api/v1/ingest/feeds", "get"),
        ("/api/v1/ingest/feeds", "post"),
        ("/api/v1/ingest/products", "post"),
        ("/api/v1/ingest/feeds/{id}", "get"),
        ("/api/v1/ingest/feeds/{id}", "patch"),
        ("/api/v1/ingest/feeds/{id}", "delete"),
        ("/api/v1/ingest/hosts", "get"),
        ("/api/v1/ingest/hosts/{host}/selectors", "get"),
        ("/api/v1/ingest/hosts/{host}/selectors", "put"),
        ("/api/v1/ingest/hosts/{host}/selectors", "delete"),
        ("/api/v1/ingest/mails", "get"),
        ("/api/v1/ingest/mails/{id}", "get"),
        ("/api/v1/ingest/email", "post"),
        ("/api/v1/ingest/inbound-address", "get"),
        ("/api/v1/ingest/inbound-address", "put"),
        ("/api/v1/ingest/inbound-address/rotate", "post"),
        ("/api/v1/notification-preferences/summary", "get"),
        ("/api/v1/notification-preferences/channels", "patch"),
        ("/api/v1/notification-preferences/frequency", "patch"),
        ("/api/v1/notification-preferences/quiet-hours", "patch"),
        ("/api/v1/notification-preferences/endpoints", "get"),
        ("/api/v1/notification-preferences/endpoints", "post"),
        ("/api/v1/notification-preferences/endpoints/{id}", "get"),
        ("/api/v1/notification-preferences/endpoints/{id}", "patch"),
        ("/api/v1/notification-preferences/endpoints/{id}", "delete"),
        (
            "/api/v1/notification-preferences/endpoints/{id}/rotate-secret",
            "post",
        ),
        (
            "/api/v1/notification-preferences/endpoints/{id}/test",
            "post",
        ),
        ("/api/v1/notification-preferences/phone", "get"),
        ("/api/v1/notification-preferences/phone", "post"),
        ("/api/v1/notification-preferences/phone", "delete"),
        ("/api/v1/notification-preferences/phone/verify", "post"),
        ("/api/v1/push/vapid-public-key", "get"),
        ("/api/v1/push/subscriptions", "get"),
        ("/api/v1/push/subscriptions", "post"),
        ("/api/v1/push/subscriptions", "delete"),
        ("/api/v1/alerts", "get"),
        ("/api/v1/unsubscribe", "get"),
        ("/api/v1/unsubscribe", "post"),
        ("/api/v1/admin/deliveries/failed", "get"),
        ("/api/v1/admin/deliveries/failed/{id}/retry", "post"),
        ("/api/v1/admin/deliveries/dead-letters", "get"),
        ("/api/v1/admin/deliveries/dead-letters/redrive", "post"),
        ("/api/v1/billing/stripe/webhook", "post"),
        ("/api/v1/billing/me", "get"),
        ("/api/v1/billing/checkout", "post"),
        ("/api/v1/billing/cancel", "post"),
        ("/api/v1/billing/plan", "post"),
        ("/api/v1/admin/billing", "get"),
        ("/api/v1/admin/stats", "get"),
        ("/api/v1/admin/stats.csv", "get"),
        ("/api/v1/admin/users", "get"),
        ("/api/v1/admin/users/{id}", "get"),
        ("/api/v1/admin/users/{id}/suspend", "post"),
        ("/api/v1/admin/users/{id}/activate", "post"),
        ("/api/v1/admin/audit", "get"),
        ("/api/v1/deals", "get"),
        ("/api/v1/deals/{id}/reports", "post"),
        ("/api/v1/admin/reports", "get"),
        ("/api/v1/admin/reports/bulk", "post"),
        ("/api/v1/admin/reports/{id}", "get"),
        ("/api/v1/admin/reports/{id}/close", "post"),
        ("/api/v1/admin/reports/{id}/reopen", "post"),
        ("/api/v1/analytics/products/{id}/trend", "get"),
        ("/api/v1/analytics/categories/{category}/trend", "get"),
        ("/api/v1/analytics/destinations", "get"),
        ("/api/v1/analytics/popular", "get"),
        ("/api/v1/analytics/deal-frequency", "get"),
        ("/api/v1/me/dashboard", "get"),
        ("/api/v1/r/{token}", "get"),
        ("/api/v1/admin/analytics/behaviour", "get"),
        ("/api/v1/admin/system", "get"),
        ("/api/v1/me/export", "get"),
        ("/api/v1/me/email-previews/{template}", "get"),
        ("/api/v1/products/{id}/history.csv", "get"),
        ("/api/v1/newsletter/subscribe", "post"),
        ("/api/v1/newsletter/confirm", "get"),
        ("/api/v1/newsletter/confirm", "post"),
        ("/api/v1/newsletter/unsubscribe", "get"),
        ("/api/v1/newsletter/unsubscribe", "post"),
        ("/api/v1/admin/subscribers", "get"),
        ("/api/v1/admin/subscriptions", "get"),
        ("/api/v1/admin/products", "get"),
        ("/api/v1/admin/subscriptions/{id}/cancel", "post"),
        ("/api/v1/admin/subscribers/import", "post"),
    ];
    for (path, method) in expected {
        assert!(
            paths.get(path).and_then(|item| item.get(method)).is_some(),
            "{method} {path} undocumented"
        );
        // And the router really serves it (anything but 404/405 from the fallback).
        let served = app
            .call(
                method.to_uppercase().parse().unwrap(),
                &concrete(path),
                None,
                None,
            )
            .await;
        let fallback = served.status == StatusCode::METHOD_NOT_ALLOWED
            || (served.status == StatusCode::NOT_FOUND
                && served.body["type"]
                    .as_str()
                    .unwrap_or_default()
                    .ends_with("not-found")
                && !path.contains('{'));
        assert!(!fallback, "{method} {path} documented but not routed");
    }
    let documented: usize = paths
        .values()
        .map(|item| item.as_object().unwrap().len())
        .sum();
    assert_eq!(
        documented,
        expected.len(),
        "routes documented but not listed here"
    );
    let docs = app.call(Method::GET, "/docs", None, None).await;
    assert_eq!(docs.status, StatusCode::OK);
}

#[test]
fn every_alert_route_documents_its_bodies_with_schemas_and_examples() {
    let doc = dealpulse_api::openapi::document_json();
    let schemas = &doc["components"]["schemas"];
    let has_example = |content: &Value, context: &str| {
        let schema = &content["application/json"]["schema"];
        let reference = schema["$ref"]
            .as_str()
            .unwrap_or_else(|| panic!("{context}: body without a named schema: {schema}"));
        let name = reference.trim_start_matches("#/components/schemas/");
        let component = &schemas[name];
        assert!(
            component.get("example").is_some() || component.get("examples").is_some(),
            "{context}: schema {name} has no example"
        );
    };
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        let alert_route = [
            "deal-alert-rules",
            "watchlist",
            "notification-preferences",
            "push",
        ]
        .iter()
        .any(|group| path.contains(group));
        if !alert_route {
            continue;
        }
        for (method, operation) in item.as_object().unwrap() {
            let context = format!("{method} {path}");
            if let Some(body) = operation.get("requestBody") {
                has_example(&body["content"], &format!("{context} request"));
                checked += 1;
            }
            for (status, response) in operation["responses"].as_object().unwrap() {
                if status.starts_with('2') {
                    if let Some(content) = response.get("content") {
                        has_example(content, &format!("{context} {status}"));
                        checked += 1;
                    }
                }
            }
        }
    }
    assert!(checked >= 40, "only {checked} bodies checked");
}

/// Creates link to the operations on what they made (schemathesis' stateful phase follows
/// them): every link names an operation of the document by `operationId` and fills exactly
/// that operation's path parameter from the new record's `id`.
#[test]
fn creates_link_to_the_operations_on_their_record() {
    let doc = dealpulse_api::openapi::document_json();
    let mut operations = std::collections::BTreeMap::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            if let Some(id) = operation["operationId"].as_str() {
                assert!(
                    operations
                        .insert(id.to_string(), (path.clone(), method.clone()))
                        .is_none(),
                    "operationId {id} is not unique"
                );
            }
        }
    }
    let mut linked = std::collections::BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        let links = item["post"]["responses"]["201"]["links"].as_object();
        for (name, link) in links.into_iter().flatten() {
            let target = link["operationId"].as_str().unwrap_or_else(|| {
                panic!("{path} link {name} has no operationId (snake-case key?): {link}")
            });
            let (target_path, _) = &operations[target];
            assert!(
                target_path.starts_with(&format!("{path}/{{")),
                "{path} -> {target_path}"
            );
            let parameters = link["parameters"].as_object().unwrap();
            assert_eq!(parameters.len(), 1, "{path} -> {target}");
            let (parameter, value) = parameters.iter().next().unwrap();
            assert!(
                target_path.contains(&format!("{{{parameter}}}")),
                "{path} -> {target_path}"
            );
            assert_eq!(value, "$response.body#/id");
            linked.insert(target_path.clone());
        }
    }
    for record in [
        "/api/v1/deal-alert-rules/{id}",
        "/api/v1/watchlist/items/{id}",
        "/api/v1/notification-preferences/endpoints/{id}",
        "/api/v1/ingest/feeds/{id}",
        "/api/v1/me/api-keys/{id}",
    ] {
        assert!(linked.contains(record), "no create links to {record}");
    }
}
