//! Deal reports in local mode: users report a listing once; administrators list, open, close
//! (confirmed hides the listing), reopen and bulk-update reports, each change audited.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::http::{Method, StatusCode};
use dealpulse_domain::ids::UserId;
use dealpulse_domain::listing::Listing;
use dealpulse_domain::money::{Currency, Money};
use dealpulse_domain::ports::CatalogRepository;
use dealpulse_domain::reports::is_hidden;
use dealpulse_tests::alerts::listing;
use dealpulse_tests::local_app::{app, assert_problem, App};
use serde_json::{json, Value};

const PASSWORD: &str = "a long enough password";

async fn stored_listing(app: &App, title: &str) -> Listing {
    let listing = listing(
        title,
        Money::parse("79.99", Currency::parse("USD").unwrap()).unwrap(),
        jiff::Timestamp::now(),
    );
    app.runtime.store.put_listing(&listing).await.unwrap();
    listing
}

async fn call(app: &App, method: Method, path: &str, token: &str, body: Option<Value>) -> Value {
    let answer = app.call(method, path, Some(token), body).await;
    assert!(answer.status.is_success(), "{path}: {}", answer.body);
    answer.body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_are_worked_as_tickets_and_confirmed_ones_hide_the_listing() {
    let app = app();
    let (alice, _) = app.verified_user("alice@example.com", PASSWORD).await;
    let (bob, _) = app.verified_user("bob@example.com", PASSWORD).await;
    app.verified_user("boss@example.com", PASSWORD).await;
    app.make_admin("boss@example.com").await;
    let boss = app.login("boss@example.com", PASSWORD).await.0;
    let tv = stored_listing(&app, "OLED TV 65 inch").await;
    let mug = stored_listing(&app, "Coffee mug").await;
    let tv_reports = format!("/api/v1/deals/{}/reports", tv.id);

    let created = app
        .call(
            Method::POST,
            &tv_reports,
            Some(&alice),
            Some(json!({"reason": "wrong_price", "note": " Checkout says $799. "})),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.body["status"], "open");
    assert_eq!(created.body["note"], "Checkout says $799.");
    assert_eq!(created.body["price"], "79.99 USD");
    assert_eq!(created.body["title"], "OLED TV 65 inch");
    let alice_report = created.body["id"].as_str().unwrap().to_string();

    // Once per user and listing; bad reasons, notes and listings change nothing.
    let again = app
        .call(
            Method::POST,
            &tv_reports,
            Some(&alice),
            Some(json!({"reason": "spam"})),
        )
        .await;
    assert_problem(&again, StatusCode::CONFLICT, "second report");
    for (body, status) in [
        (json!({"reason": "ugly"}), StatusCode::UNPROCESSABLE_ENTITY),
        (
            json!({"reason": "spam", "note": "x".repeat(1001)}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"reason": "spam", "extra": 1}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ] {
        let answer = app
            .call(Method::POST, &tv_reports, Some(&bob), Some(body))
            .await;
        assert_problem(&answer, status, "bad report");
    }
    let unknown = app
        .call(
            Method::POST,
            "/api/v1/deals/01a211c9-0000-7000-8000-000000000000/reports",
            Some(&bob),
            Some(json!({"reason": "spam"})),
        )
        .await;
    assert_problem(&unknown, StatusCode::NOT_FOUND, "unknown listing");
    // A deal from alice's own inbox is invisible to bob.
    let mut private = listing(
        "Private flight deal",
        Money::parse("199", Currency::parse("USD").unwrap()).unwrap(),
        jiff::Timestamp::now(),
    );
    let alice_id: UserId = call(&app, Method::GET, "/api/v1/me", &alice, None).await["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    private.audience = Some(alice_id);
    app.runtime.store.put_listing(&private).await.unwrap();
    let hidden_from_bob = app
        .call(
            Method::POST,
            &format!("/api/v1/deals/{}/reports", private.id),
            Some(&bob),
            Some(json!({"reason": "spam"})),
        )
        .await;
    assert_problem(
        &hidden_from_bob,
        StatusCode::NOT_FOUND,
        "someone else's inbox deal",
    );

    let bob_report = call(
        &app,
        Method::POST,
        &tv_reports,
        &bob,
        Some(json!({"reason": "expired"})),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mug_report = call(
        &app,
        Method::POST,
        &format!("/api/v1/deals/{}/reports", mug.id),
        &bob,
        Some(json!({"reason": "spam"})),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_string();

    let open = call(
        &app,
        Method::GET,
        "/api/v1/admin/reports?status=open",
        &boss,
        None,
    )
    .await;
    assert_eq!(open["total"], 3);
    let spam = call(
        &app,
        Method::GET,
        "/api/v1/admin/reports?reason=spam",
        &boss,
        None,
    )
    .await;
    assert_eq!(spam["total"], 1);
    assert_eq!(spam["items"][0]["id"], mug_report.as_str());
    let paged = call(
        &app,
        Method::GET,
        "/api/v1/admin/reports?limit=2",
        &boss,
        None,
    )
    .await;
    assert_eq!(paged["items"].as_array().unwrap().len(), 2);
    let cursor = paged["next_cursor"].as_str().unwrap();
    let rest = call(
        &app,
        Method::GET,
        &format!("/api/v1/admin/reports?limit=2&cursor={cursor}"),
        &boss,
        None,
    )
    .await;
    assert_eq!(rest["items"].as_array().unwrap().len(), 1);
    assert!(rest["next_cursor"].is_null());
    let detail = call(
        &app,
        Method::GET,
        &format!("/api/v1/admin/reports/{alice_report}"),
        &boss,
        None,
    )
    .await;
    assert_eq!(detail["reporter_id"], alice_id.to_string());

    // Two confirmed reports hold the TV hidden; it shows again only when both are released.
    let store = app.runtime.store.as_ref();
    for id in [&alice_report, &bob_report] {
        let closed = call(
            &app,
            Method::POST,
            &format!("/api/v1/admin/reports/{id}/close"),
            &boss,
            Some(json!({"resolution": "confirmed", "note": "Shop confirms."})),
        )
        .await;
        assert_eq!(closed["status"], "closed");
        assert_eq!(closed["resolution"], "confirmed");
        assert!(closed["closed_by"].is_string());
    }
    assert!(is_hidden(store, tv.id).await.unwrap());
    assert!(!is_hidden(store, mug.id).await.unwrap());
    call(
        &app,
        Method::POST,
        &format!("/api/v1/admin/reports/{alice_report}/reopen"),
        &boss,
        Some(json!({})),
    )
    .await;
    assert!(
        is_hidden(store, tv.id).await.unwrap(),
        "bob's report still holds it"
    );
    let bulk = call(
        &app,
        Method::POST,
        "/api/v1/admin/reports/bulk",
        &boss,
        Some(json!({
            "ids": [bob_report, mug_report, "01a211c9-0000-7000-8000-000000000000:01a211c9-0000-7000-8000-000000000000"],
            "status": "closed",
            "resolution": "rejected"
        })),
    )
    .await;
    let outcomes: Vec<&str> = bulk["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|result| result["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["updated", "updated", "not_found"]);
    assert!(
        !is_hidden(store, tv.id).await.unwrap(),
        "no confirmed report left"
    );
    let closed = call(
        &app,
        Method::GET,
        "/api/v1/admin/reports?status=closed",
        &boss,
        None,
    )
    .await;
    assert_eq!(closed["total"], 2);

    for (body, context) in [
        (
            json!({"ids": [], "status": "closed", "resolution": "rejected"}),
            "no ids",
        ),
        (
            json!({"ids": [bob_report], "status": "closed"}),
            "closing without a resolution",
        ),
        (
            json!({"ids": [bob_report], "status": "open", "resolution": "confirmed"}),
            "resolution on open",
        ),
        (
            json!({"ids": [bob_report], "status": "pending"}),
            "unknown status",
        ),
    ] {
        let answer = app
            .call(
                Method::POST,
                "/api/v1/admin/reports/bulk",
                Some(&boss),
                Some(body),
            )
            .await;
        assert_problem(&answer, StatusCode::UNPROCESSABLE_ENTITY, context);
    }

    let audit = call(
        &app,
        Method::GET,
        "/api/v1/admin/audit?action=admin.report.",
        &boss,
        None,
    )
    .await;
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| event["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "admin.report.close",
            "admin.report.close",
            "admin.report.reopen",
            "admin.report.close",
            "admin.report.close"
        ]
    );
}
