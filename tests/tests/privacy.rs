//! Exports and account deletion in local mode: `GET /me/export` as JSON and as a zip (read
//! back by Python's zipfile, not by our writer), the price history CSV, and deleting an account
//! taking its newsletter subscription, bounce history, failed deliveries and counters along.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::http::{Method, StatusCode};
use dealpulse_alerts::failures::FailedDelivery;
use dealpulse_domain::counters::{CounterKey, CounterRepository};
use dealpulse_domain::ids::UserId;
use dealpulse_domain::listing::{PricePoint, TrackedProduct};
use dealpulse_domain::mail::AddressHealth;
use dealpulse_domain::money::{Currency, Money};
use dealpulse_domain::ports::{CatalogRepository, UserRepository};
use dealpulse_domain::preferences::Channel;
use dealpulse_domain::records::records;
use dealpulse_domain::subscribers::{self, Importer, SubscriberStatus};
use dealpulse_tests::local_app::{app, assert_problem};
use serde_json::{json, Value};

const PASSWORD: &str = "a long enough password";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exports_hold_the_users_data_and_deletion_leaves_no_trace() {
    let app = app();
    let (ann, _) = app.verified_user("ann@example.com", PASSWORD).await;
    let (bob, _) = app.verified_user("bob@example.com", PASSWORD).await;
    let store = app.runtime.store.clone();
    let ann_id = store
        .user_by_email(&dealpulse_domain::account::Email::parse("ann@example.com").unwrap())
        .await
        .unwrap()
        .unwrap()
        .id;
    // Pro: webhooks (with a signing secret) are allowed.
    let mut upgraded = store.user_by_id(ann_id).await.unwrap().unwrap();
    upgraded.plan = dealpulse_domain::plans::Plan::Pro;
    store.update_user(&upgraded).await.unwrap();
    let rule = app
        .call(
            Method::POST,
            "/api/v1/deal-alert-rules",
            Some(&ann),
            Some(json!({"name": "Cheap OLED", "query": "oled tv", "max_price": {"amount": "900", "currency": "usd"}})),
        )
        .await;
    assert_eq!(rule.status, StatusCode::CREATED, "{}", rule.body);
    let hook = app
        .call(
            Method::POST,
            "/api/v1/notification-preferences/endpoints",
            Some(&ann),
            Some(json!({"kind": "webhook", "url": "https://hooks.example.com/dealpulse"})),
        )
        .await;
    assert_eq!(hook.status, StatusCode::CREATED, "{}", hook.body);

    // What is kept about Ann outside her own records.
    let mut import = Importer::new(store.as_ref(), store.as_ref(), jiff::Timestamp::now());
    import.row(1, "ann@example.com,Ann").await.unwrap();
    import.row(2, "carl@example.com").await.unwrap();
    import.flush().await;
    records::<AddressHealth>(store.as_ref())
        .insert(
            &AddressHealth::new("ann@example.com", jiff::Timestamp::now()),
            None,
        )
        .await
        .unwrap();
    let failed = |user: UserId, key: &str| FailedDelivery {
        owner: UserId::system(),
        key: key.into(),
        user,
        channel: Channel::Email,
        reason: "rejected".into(),
        failed_at: jiff::Timestamp::now(),
        task: "{}".into(),
        version: 0,
    };
    let failures = records::<FailedDelivery>(store.as_ref());
    failures.insert(&failed(ann_id, "a1"), None).await.unwrap();
    failures
        .insert(&failed(UserId::generate(), "b1"), None)
        .await
        .unwrap();
    let sent = CounterKey::total(dealpulse_domain::analytics::names::user_sent(
        ann_id, "email",
    ));
    store.add_counts(&[(sent.clone(), 3)]).await.unwrap();

    // JSON export: her data, nobody else's, no secrets.
    let export = app
        .call(Method::GET, "/api/v1/me/export", Some(&ann), None)
        .await;
    assert_eq!(export.status, StatusCode::OK, "{}", export.body);
    assert!(export.headers[axum::http::header::CONTENT_DISPOSITION]
        .to_str()
        .unwrap()
        .contains(".json"));
    let tables = &export.body["tables"];
    assert_eq!(tables["profile"][0]["email"], "ann@example.com");
    assert_eq!(tables["rules"].as_array().unwrap().len(), 1);
    assert_eq!(tables["rules"][0]["name"], "Cheap OLED");
    assert_eq!(
        tables["endpoints"][0]["signing_secret"], "[withheld]",
        "{tables:#}"
    );
    assert!(!tables["audit"].as_array().unwrap().is_empty());
    let text = export.body.to_string();
    assert!(!text.contains("bob@example.com"));
    assert!(!text.contains("argon2"), "no password hash");
    assert!(!text.contains("whsec_"), "no webhook secret");
    assert_problem(
        &app.call(
            Method::GET,
            "/api/v1/me/export?format=pdf",
            Some(&ann),
            None,
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unknown format",
    );

    // Zip export, read back by Python's zipfile (CRC-checked).
    let request = axum::http::Request::builder()
        .uri("/api/v1/me/export?format=zip")
        .header(axum::http::header::AUTHORIZATION, format!("Bearer {ann}"))
        .body(axum::body::Body::empty())
        .unwrap();
    let response = tower::ServiceExt::oneshot(app.router.clone(), request)
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/zip");
    let bytes = http_body_util::BodyExt::collect(response.into_body())
        .await
        .unwrap()
        .to_bytes();
    let path = app.dir.path().join("export.zip");
    std::fs::write(&path, &bytes).unwrap();
    let script = "import json, sys, zipfile\n\
        z = zipfile.ZipFile(sys.argv[1])\n\
        assert z.testzip() is None\n\
        rules = z.read('rules.csv').decode().splitlines()\n\
        data = json.loads(z.read('export.json'))\n\
        print(json.dumps({'names': sorted(z.namelist()), 'rules': rules, 'email': data['tables']['profile'][0]['email']}))";
    let output = std::process::Command::new("python3")
        .args(["-c", script])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let read: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(read["email"], "ann@example.com");
    let names: Vec<&str> = read["names"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    for name in [
        "export.json",
        "rules.csv",
        "alerts.csv",
        "audit.csv",
        "profile.csv",
    ] {
        assert!(names.contains(&name), "{name} in {names:?}");
    }
    assert_eq!(
        read["rules"].as_array().unwrap().len(),
        2,
        "header and one rule"
    );
    assert!(read["rules"][1].as_str().unwrap().contains("Cheap OLED"));

    // Price history of a product as CSV, oldest first, every point.
    let usd = Currency::parse("USD").unwrap();
    let product = store
        .insert_product(&TrackedProduct::new(
            "https://shop.example.com/tv",
            "shop.example.com",
            jiff::Timestamp::now(),
        ))
        .await
        .unwrap();
    let start = jiff::Timestamp::now()
        .checked_sub(jiff::SignedDuration::from_hours(48))
        .unwrap();
    for (hours, price) in [(0, "999"), (12, "949.50"), (24, "899")] {
        store
            .append_price_point(&PricePoint {
                product_id: product.id,
                at: start
                    .checked_add(jiff::SignedDuration::from_hours(hours))
                    .unwrap(),
                price: Money::parse(price, usd).unwrap(),
                in_stock: true,
                previous: None,
            })
            .await
            .unwrap();
    }
    let csv = app
        .call(
            Method::GET,
            &format!("/api/v1/products/{}/history.csv", product.id),
            Some(&bob),
            None,
        )
        .await;
    assert_eq!(csv.status, StatusCode::OK);
    let lines: Vec<&str> = csv.body.as_str().unwrap().lines().collect();
    assert_eq!(lines[0], "at,price,currency,in_stock");
    assert_eq!(lines.len(), 4, "{lines:?}");
    assert!(lines[1].ends_with(",999.00,USD,true"), "{}", lines[1]);
    assert!(lines[3].contains(",899.00,USD,"));
    assert_problem(
        &app.call(
            Method::GET,
            &format!("/api/v1/products/{}/history.csv?from=yesterday", product.id),
            Some(&bob),
            None,
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "bad from",
    );

    // Deletion: the account and everything kept about it outside its records go in one request.
    let deleted = app
        .call(
            Method::DELETE,
            "/api/v1/me",
            Some(&ann),
            Some(json!({"password": PASSWORD})),
        )
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.body);
    let system = UserId::system();
    assert!(records::<subscribers::Subscriber>(store.as_ref())
        .get(system, "ann@example.com")
        .await
        .unwrap()
        .is_none());
    assert!(
        records::<subscribers::Subscriber>(store.as_ref())
            .get(system, "carl@example.com")
            .await
            .unwrap()
            .is_some(),
        "other subscribers stay"
    );
    let tallies = subscribers::tallies(store.as_ref()).await.unwrap();
    assert_eq!(tallies[1], (SubscriberStatus::Confirmed, 1));
    assert!(records::<AddressHealth>(store.as_ref())
        .get(system, "ann@example.com")
        .await
        .unwrap()
        .is_none());
    let kept: Vec<String> = failures
        .list(system)
        .await
        .unwrap()
        .into_iter()
        .map(|f| f.key)
        .collect();
    assert_eq!(kept, ["b1"]);
    assert_eq!(store.counts(&[sent]).await.unwrap(), [0]);
    assert!(
        records::<dealpulse_domain::rules::AlertRule>(store.as_ref())
            .list(ann_id)
            .await
            .unwrap()
            .is_empty()
    );
}
