//! The admin console in local mode: stats from rollup counters (a fixed number of reads however
//! many accounts and deliveries there are), the accounts list with search, filters and cursors,
//! an account's detail, suspension that ends sessions, and the audit search that sees every
//! admin request.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::http::{header, Method, StatusCode};
use dealpulse_api::routes::console::admin_stats;
use dealpulse_domain::counters::{names, utc_day, CounterBucket, CounterKey, CounterRepository};
use dealpulse_tests::counting::{CountingCounters, CountingDocuments};
use dealpulse_tests::local_app::{app, assert_problem, App};
use serde_json::{json, Value};
use std::collections::BTreeSet;

const PASSWORD: &str = "a long enough password";

async fn admin(app: &App) -> String {
    app.verified_user("boss@example.com", PASSWORD).await;
    app.make_admin("boss@example.com").await;
    app.login("boss@example.com", PASSWORD).await.0
}

/// An unverified account, stored directly (sign-ups through the API are rate limited per
/// address, and the tallies are the store's business either way).
async fn register(app: &App, email: &str) {
    use dealpulse_domain::ports::UserRepository;
    let mut user = dealpulse_conformance::store::sample_user();
    user.email = dealpulse_domain::account::Email::parse(email).unwrap();
    user.plan = dealpulse_domain::plans::Plan::Free;
    app.runtime.store.insert_user(&user).await.unwrap();
}

async fn get(app: &App, path: &str, token: &str) -> Value {
    let answer = app.call(Method::GET, path, Some(token), None).await;
    assert_eq!(answer.status, StatusCode::OK, "{path}: {}", answer.body);
    answer.body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stats_count_accounts_rules_and_watches_from_rollups() {
    let app = app();
    let boss = admin(&app).await;
    let (shopper, _) = app.verified_user("shopper@example.com", PASSWORD).await;
    register(&app, "unverified@example.com").await;
    for name in ["GPU", "Laptop"] {
        let answer = app
            .call(
                Method::POST,
                "/api/v1/deal-alert-rules",
                Some(&shopper),
                Some(json!({"name": name, "query": name})),
            )
            .await;
        assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
    }
    let stats = get(&app, "/api/v1/admin/stats", &boss).await;
    assert_eq!(stats["users"]["total"], 3);
    assert_eq!(stats["users"]["verified"], 2);
    assert_eq!(stats["users"]["new_7d"], 3);
    assert_eq!(
        stats["users"]["activated_7d"], 1,
        "two rules, one activation"
    );
    assert_eq!(stats["rules"], 2);
    assert_eq!(stats["series"]["signups"].as_array().unwrap().len(), 30);
    assert_eq!(stats["series"]["signups"][29]["count"], 3);
    assert_eq!(stats["revenue"]["months"].as_array().unwrap().len(), 12);

    // Suspending moves the suspended count; deleting an account takes it and its rules out.
    let shopper_id = get(&app, "/api/v1/me", &shopper).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let suspended = app
        .call(
            Method::POST,
            &format!("/api/v1/admin/users/{shopper_id}/suspend"),
            Some(&boss),
            Some(json!({"reason": "test"})),
        )
        .await;
    assert_eq!(suspended.status, StatusCode::OK, "{}", suspended.body);
    let stats = get(&app, "/api/v1/admin/stats", &boss).await;
    assert_eq!(stats["users"]["suspended"], 1);

    let csv = app
        .call(Method::GET, "/api/v1/admin/stats.csv", Some(&boss), None)
        .await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(csv.headers[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let text = csv.body.as_str().unwrap();
    assert!(text.starts_with("metric,value\n"), "{text}");
    for row in [
        "users_total,3\n",
        "users_verified,2\n",
        "users_suspended,1\n",
        "rules,2\n",
    ] {
        assert!(text.contains(row), "{row:?} missing from\n{text}");
    }
    assert!(text.contains("\nday,signups,alerts_sent,alerts_failed\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stats_reads_stay_the_same_however_many_events_were_counted() {
    let app = app();
    let store = app.runtime.store.as_ref();
    let now = jiff::Timestamp::now();
    let reads_after = |events: i64| async move {
        let hour = CounterBucket::hour(now);
        let day = CounterBucket::day(utc_day(now));
        store
            .add_counts(&[
                (
                    CounterKey::new(names::DELIVERIES_SENT, hour.clone()),
                    events,
                ),
                (
                    CounterKey::new(names::deliveries_sent_on("email"), hour),
                    events,
                ),
                (CounterKey::new(names::DELIVERIES_SENT, day), events),
            ])
            .await
            .unwrap();
        let counters = CountingCounters::new(store);
        let documents = CountingDocuments::new(store);
        let stats = admin_stats(&counters, &documents, now).await.unwrap();
        (counters.reads(), documents.reads(), stats.alerts.sent_24h)
    };
    let (counter_reads, document_reads, sent) = reads_after(1).await;
    assert_eq!(sent, 1);
    let (more_counter_reads, more_document_reads, more_sent) = reads_after(10_000).await;
    assert_eq!(more_sent, 10_001);
    assert_eq!(
        (counter_reads, document_reads),
        (more_counter_reads, more_document_reads)
    );
    assert_eq!(counter_reads, 1, "one batched counter read");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_accounts_list_searches_filters_and_pages_without_repeats() {
    let app = app();
    let boss = admin(&app).await;
    for n in 0..23 {
        register(&app, &format!("buyer{n:02}@shop.example")).await;
    }
    app.verified_user("verified.buyer@shop.example", PASSWORD)
        .await;

    let everyone = get(&app, "/api/v1/admin/users?limit=100", &boss).await;
    assert_eq!(everyone["total"], 25);
    assert_eq!(everyone["items"].as_array().unwrap().len(), 25);
    assert!(everyone["next_cursor"].is_null());

    let mut seen = Vec::new();
    let mut path = "/api/v1/admin/users?limit=7".to_string();
    loop {
        let page = get(&app, &path, &boss).await;
        for item in page["items"].as_array().unwrap() {
            seen.push(item["email"].as_str().unwrap().to_string());
        }
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/api/v1/admin/users?limit=7&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen.len(), 25);
    assert_eq!(seen.iter().collect::<BTreeSet<_>>().len(), 25, "no repeats");
    let first_listed: Vec<String> = everyone["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["email"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(seen, first_listed, "pages follow the newest-first order");

    let search = get(&app, "/api/v1/admin/users?q=BUYER1", &boss).await;
    let found: Vec<&str> = search["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["email"].as_str().unwrap())
        .collect();
    assert_eq!(found.len(), 10, "buyer10..buyer19: {found:?}");
    let verified = get(&app, "/api/v1/admin/users?verified=true&role=user", &boss).await;
    assert_eq!(verified["items"].as_array().unwrap().len(), 1);
    assert_eq!(verified["items"][0]["email"], "verified.buyer@shop.example");
    let exact = get(&app, "/api/v1/admin/users?q=Buyer07@Shop.Example", &boss).await;
    assert_eq!(exact["items"].as_array().unwrap().len(), 1);
    let admins = get(&app, "/api/v1/admin/users?role=admin", &boss).await;
    assert_eq!(admins["items"][0]["email"], "boss@example.com");

    for bad in [
        "/api/v1/admin/users?status=banned",
        "/api/v1/admin/users?verified=maybe",
        "/api/v1/admin/users?limit=0",
        "/api/v1/admin/users?cursor=garbage",
        "/api/v1/admin/users?sort=email",
    ] {
        let answer = app.call(Method::GET, bad, Some(&boss), None).await;
        assert_problem(&answer, StatusCode::UNPROCESSABLE_ENTITY, bad);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suspension_ends_sessions_and_every_admin_request_is_audited() {
    let app = app();
    let boss = admin(&app).await;
    let (shopper, refresh) = app.verified_user("shopper@example.com", PASSWORD).await;
    let me = get(&app, "/api/v1/me", &shopper).await;
    let id = me["id"].as_str().unwrap();

    let detail = get(&app, &format!("/api/v1/admin/users/{id}"), &boss).await;
    assert_eq!(detail["user"]["email"], "shopper@example.com");
    assert_eq!(detail["live_sessions"], 1);
    assert!(detail["last_active_week"].is_string(), "{detail}");

    let suspend = format!("/api/v1/admin/users/{id}/suspend");
    let answer = app
        .call(
            Method::POST,
            &suspend,
            Some(&boss),
            Some(json!({"reason": "fraud"})),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(answer.body["status"], "suspended");
    // The shopper's access token and refresh token stop working; logging in is refused.
    let refused = app
        .call(Method::GET, "/api/v1/me", Some(&shopper), None)
        .await;
    assert!(refused.status.is_client_error(), "{}", refused.body);
    let refreshed = app
        .call(
            Method::POST,
            "/api/v1/auth/refresh",
            None,
            Some(json!({"refresh_token": refresh})),
        )
        .await;
    assert!(refreshed.status.is_client_error());
    let login = app
        .call(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(json!({"email": "shopper@example.com", "password": PASSWORD})),
        )
        .await;
    assert!(login.status.is_client_error());

    // Administrators cannot suspend themselves; unknown accounts are 404.
    let boss_id = get(&app, "/api/v1/me", &boss).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let own = app
        .call(
            Method::POST,
            &format!("/api/v1/admin/users/{boss_id}/suspend"),
            Some(&boss),
            Some(json!({})),
        )
        .await;
    assert_problem(&own, StatusCode::CONFLICT, "self-suspension");
    let unknown = app
        .call(
            Method::POST,
            "/api/v1/admin/users/01a211c9-0000-7000-8000-000000000000/suspend",
            Some(&boss),
            Some(json!({})),
        )
        .await;
    assert_problem(&unknown, StatusCode::NOT_FOUND, "unknown account");

    let activate = format!("/api/v1/admin/users/{id}/activate");
    let answer = app
        .call(Method::POST, &activate, Some(&boss), Some(json!({})))
        .await;
    assert_eq!(answer.body["status"], "active");
    app.login("shopper@example.com", PASSWORD).await;

    // A user probing an admin route is refused and that is audited too.
    let (nosy, _) = app.verified_user("nosy@example.com", PASSWORD).await;
    let denied = app
        .call(Method::GET, "/api/v1/admin/stats", Some(&nosy), None)
        .await;
    assert_problem(&denied, StatusCode::FORBIDDEN, "user on admin route");

    let suspensions = get(&app, "/api/v1/admin/audit?action=admin.user.", &boss).await;
    let actions: Vec<&str> = suspensions["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| event["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["admin.user.activate", "admin.user.suspend"]);
    assert_eq!(suspensions["items"][1]["user_id"], id);
    assert_eq!(suspensions["items"][1]["detail"]["reason"], "fraud");
    assert!(suspensions["items"][1]["actor"]
        .as_str()
        .unwrap()
        .starts_with("admin:"));

    let denied = get(&app, "/api/v1/admin/audit?action=admin.denied", &boss).await;
    assert_eq!(denied["items"].as_array().unwrap().len(), 1);
    assert_eq!(denied["items"][0]["detail"]["path"], "/api/v1/admin/stats");
    assert_eq!(denied["items"][0]["detail"]["status"], 403);

    let requests = get(
        &app,
        "/api/v1/admin/audit?action=admin.request&limit=200",
        &boss,
    )
    .await;
    let paths: BTreeSet<&str> = requests["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| event["detail"]["path"].as_str().unwrap())
        .collect();
    assert!(paths.contains(suspend.as_str()), "{paths:?}");
    assert!(paths.contains(format!("/api/v1/admin/users/{id}").as_str()));

    // The account's own history, paged one event at a time.
    let mut cursor: Option<String> = None;
    let mut own_events = 0;
    loop {
        let path = match &cursor {
            Some(cursor) => format!("/api/v1/admin/audit?user={id}&limit=1&cursor={cursor}"),
            None => format!("/api/v1/admin/audit?user={id}&limit=1"),
        };
        let page = get(&app, &path, &boss).await;
        own_events += page["items"].as_array().unwrap().len();
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => break,
        }
        assert!(own_events < 100);
    }
    let all_own = get(
        &app,
        &format!("/api/v1/admin/audit?user={id}&limit=200"),
        &boss,
    )
    .await;
    assert_eq!(own_events, all_own["items"].as_array().unwrap().len());
    assert!(
        own_events >= 4,
        "register, verify, login, suspend, activate…"
    );

    for bad in [
        "/api/v1/admin/audit?from=2026-13-01",
        "/api/v1/admin/audit?from=2026-01-01&to=2026-12-31",
        "/api/v1/admin/audit?from=2026-02-01&to=2026-01-01",
        "/api/v1/admin/audit?user=someone",
    ] {
        let answer = app.call(Method::GET, bad, Some(&boss), None).await;
        assert_problem(&answer, StatusCode::UNPROCESSABLE_ENTITY, bad);
    }
}

/// System health: queue depths, each job's last run and errors, suppressed addresses.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn system_health_shows_queues_jobs_and_suppressions() {
    use dealpulse_alerts::feedback::{record_feedback, MailFeedback};
    use dealpulse_domain::queue::Queue;
    let app = app();
    let boss = admin(&app).await;
    let (shopper, _) = app.verified_user("shopper@example.com", PASSWORD).await;
    let refused = app
        .call(Method::GET, "/api/v1/admin/system", Some(&shopper), None)
        .await;
    assert_problem(
        &refused,
        axum::http::StatusCode::FORBIDDEN,
        "not an administrator",
    );

    let quiet = get(&app, "/api/v1/admin/system", &boss).await;
    assert_eq!(quiet["deliveries"], json!({"depth": 0, "status": "ok"}));
    assert_eq!(quiet["dead_letters"], json!({"depth": 0, "status": "ok"}));
    for job in quiet["jobs"].as_array().unwrap() {
        assert_eq!(job["last_run_at"], Value::Null, "{quiet:#}");
    }
    assert_eq!(quiet["suppressed"], json!({"bounce": 0, "complaint": 0}));

    // Two deliveries waiting, a digest run, a matched event, a complaint.
    app.runtime
        .queue
        .send_batch(&["{}".to_string(), "{}".to_string()])
        .await
        .unwrap();
    let pipeline = app.runtime.alerts();
    pipeline.digests.run().await.unwrap();
    app.runtime
        .events_queue
        .send_batch(&[dealpulse_tests::alerts::listing_event_json(
            "Lamp",
            dealpulse_domain::money::Money::parse(
                "20",
                dealpulse_domain::money::Currency::parse("USD").unwrap(),
            )
            .unwrap(),
        )])
        .await
        .unwrap();
    dealpulse_alerts::worker::pump_events(&pipeline.matcher, app.runtime.events_queue.as_ref(), 10)
        .await
        .unwrap();
    for _ in 0..2 {
        record_feedback(
            app.runtime.store.as_ref(),
            &MailFeedback::Complaint {
                recipients: vec!["Angry@Example.com".into()],
                detail: None,
            },
            jiff::Timestamp::now(),
        )
        .await
        .unwrap();
    }
    let busy = get(&app, "/api/v1/admin/system", &boss).await;
    assert_eq!(busy["deliveries"]["depth"], 2, "{busy:#}");
    let job = |name: &str| {
        busy["jobs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|job| job["job"] == name)
            .unwrap()
            .clone()
    };
    assert!(job("digest")["last_run_at"].is_string(), "{busy:#}");
    assert_eq!(job("digest")["runs_2d"], 1);
    assert_eq!(job("match")["runs_total"], 1);
    assert_eq!(job("match")["errors_2d"], 0);
    assert_eq!(job("scrape")["last_run_at"], Value::Null);
    assert_eq!(
        busy["suppressed"],
        json!({"bounce": 0, "complaint": 1}),
        "the same complaint twice counts one address"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn products_list_by_domain_with_the_domains_scrape_health() {
    use dealpulse_domain::listing::TrackedProduct;
    use dealpulse_domain::ports::{CatalogRepository, SourceRepository};
    use dealpulse_domain::sources::CheckResult;
    let app = app();
    let boss = admin(&app).await;
    let store = app.runtime.store.clone();
    let mut ids = Vec::new();
    for (url, host) in [
        ("https://shop.example.com/tv", "shop.example.com"),
        ("https://shop.example.com/lamp", "shop.example.com"),
        ("https://other.example.org/x", "other.example.org"),
    ] {
        let stored = store
            .insert_product(&TrackedProduct::new(url, host, jiff::Timestamp::now()))
            .await
            .unwrap();
        if host == "shop.example.com" {
            ids.push(stored.id.to_string());
        }
    }
    ids.sort();
    let now = jiff::Timestamp::now();
    store
        .record_check("shop.example.com", CheckResult::Ok, None, now)
        .await
        .unwrap();
    store
        .record_check(
            "shop.example.com",
            CheckResult::Blocked,
            Some("HTTP 403 from a bot wall"),
            now,
        )
        .await
        .unwrap();

    let page = get(
        &app,
        "/api/v1/admin/products?domain=Shop.Example.com",
        &boss,
    )
    .await;
    assert_eq!(page["domain"], "shop.example.com");
    let listed: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert_eq!(listed, ids);
    assert_eq!(page["health"]["results"]["ok"], 1, "{page:#}");
    assert_eq!(page["health"]["results"]["blocked"], 1);
    assert_eq!(
        page["health"]["last_failure_reason"],
        "HTTP 403 from a bot wall"
    );
    let first = get(
        &app,
        "/api/v1/admin/products?domain=shop.example.com&limit=1",
        &boss,
    )
    .await;
    let cursor = first["next_cursor"].as_str().unwrap();
    let second = get(
        &app,
        &format!("/api/v1/admin/products?domain=shop.example.com&limit=1&cursor={cursor}"),
        &boss,
    )
    .await;
    assert_eq!(second["items"][0]["id"], ids[1].as_str());
    let quiet = get(
        &app,
        "/api/v1/admin/products?domain=nowhere.example.net",
        &boss,
    )
    .await;
    assert_eq!(quiet["items"], json!([]));
    assert_eq!(quiet["health"], Value::Null);
    for bad in [
        "",
        "?domain=",
        "?domain=not%20a%20host",
        "?domain=shop.example.com&cursor=x",
    ] {
        let answer = app
            .call(
                Method::GET,
                &format!("/api/v1/admin/products{bad}"),
                Some(&boss),
                None,
            )
            .await;
        assert_problem(&answer, StatusCode::UNPROCESSABLE_ENTITY, bad);
    }
}
