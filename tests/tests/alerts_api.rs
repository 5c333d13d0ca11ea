//! Alert rules, watchlist, notification preferences, channel set-up and plan quotas, end to end
//! over HTTP against local mode (SQLite, mail and SMS outboxes).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::http::{header, Method, StatusCode};
use dealpulse_domain::account::Email;
use dealpulse_domain::ids::{ListingId, ProductId};
use dealpulse_domain::listing::{
    Cabin, Category, Condition, FlightOffer, Listing, PricePoint, SourceName,
};
use dealpulse_domain::money::{Currency, Money};
use dealpulse_domain::plans::Plan;
use dealpulse_domain::ports::{CatalogRepository, Store, UserRepository};
use dealpulse_domain::sms::SmsOutboxReader;
use dealpulse_domain::vapid::VapidKeys;
use dealpulse_tests::http_recorder::HttpRecorder;
use dealpulse_tests::local_app::{
    app, app_with_notify_origin, app_with_plans, assert_problem, Answer, App,
};
use futures::future::join_all;
use jiff::{SignedDuration, Timestamp};
use serde_json::{json, Value};

const RULES: &str = "/api/v1/deal-alert-rules";
const PREFS: &str = "/api/v1/notification-preferences";

async fn user(app: &App, email: &str) -> String {
    app.verified_user(email, "a long enough password").await.0
}

async fn set_plan(app: &App, email: &str, plan: Plan) {
    let store: &dyn Store = app.runtime.store.as_ref();
    let mut user = store
        .user_by_email(&Email::parse(email).unwrap())
        .await
        .unwrap()
        .unwrap();
    user.plan = plan;
    store.update_user(&user).await.unwrap();
}

async fn post(app: &App, path: &str, token: &str, body: Value) -> Answer {
    app.call(Method::POST, path, Some(token), Some(body)).await
}

async fn patch(app: &App, path: &str, token: &str, body: Value) -> Answer {
    app.call(Method::PATCH, path, Some(token), Some(body)).await
}

async fn get(app: &App, path: &str, token: &str) -> Answer {
    app.call(Method::GET, path, Some(token), None).await
}

fn created(answer: &Answer) -> String {
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
    answer.body["id"].as_str().unwrap().to_string()
}

fn field_errors(answer: &Answer) -> Vec<String> {
    answer.body["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|e| e["field"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

fn usd(amount: &str) -> Money {
    Money::parse(amount, Currency::parse("USD").unwrap()).unwrap()
}

fn listing(title: &str, price: &str, hours_ago: i64) -> Listing {
    Listing {
        id: ListingId::generate(),
        source: SourceName::parse("slickdeals").unwrap(),
        url: format!("https://deals.example.com/{}", ListingId::generate()),
        title: title.into(),
        description: String::new(),
        price: usd(price),
        was_price: None,
        category: Some(Category::Computers),
        condition: Some(Condition::New),
        location: None,
        score: Some(75),
        flight: None,
        seen_at: Timestamp::now()
            .checked_sub(SignedDuration::from_hours(hours_ago))
            .unwrap(),
        audience: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rule_is_created_from_the_boolean_syntax_and_read_back_in_both_forms() {
    let app = app();
    let token = user(&app, "rules@example.com").await;
    let answer = post(
        &app,
        RULES,
        &token,
        json!({
            "name": "Gaming PC under $800",
            "query": "Gaming (PC OR desktop) -Mac \"RTX 4070\"",
            "max_price": {"amount": "800", "currency": "usd"},
            "categories": ["computers", "gaming"],
            "conditions": ["new", "like_new", "refurbished"],
            "location": {"city": "Boston", "country": "US"},
            "radius": {"value": 50, "unit": "km"},
            "min_score": 60,
            "sources": ["slickdeals"],
            "frequency": "daily",
            "cooldown_minutes": 120
        }),
    )
    .await;
    let id = created(&answer);
    let rule = &answer.body;
    assert_eq!(
        rule["query_text"],
        "gaming \"rtx 4070\" (pc OR desktop) -mac"
    );
    assert_eq!(rule["query"]["any_of"], json!([["pc", "desktop"]]));
    assert_eq!(rule["query"]["none_of"], json!(["mac"]));
    assert_eq!(
        rule["max_price"],
        json!({"amount": "800.00", "currency": "USD"})
    );
    assert_eq!(rule["location"]["label"], "Boston, US");
    assert_eq!(rule["enabled"], true);
    assert_eq!(rule["version"], 1);
    assert_eq!(
        answer.headers.get(header::LOCATION).unwrap(),
        &format!("{RULES}/{id}")
    );
    let etag = answer.headers.get(header::ETAG).unwrap().clone();

    let read = get(&app, &format!("{RULES}/{id}"), &token).await;
    assert_eq!(read.status, StatusCode::OK);
    assert_eq!(read.body, answer.body);
    // Conditional GET.
    let mut request = axum::http::Request::builder()
        .uri(format!("{RULES}/{id}"))
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::IF_NONE_MATCH, etag.clone());
    request = request.method(Method::GET);
    let not_modified = app
        .send(request.body(axum::body::Body::empty()).unwrap())
        .await;
    assert_eq!(not_modified.status, StatusCode::NOT_MODIFIED);

    // The structured form gives the same rule.
    let structured = post(
        &app,
        RULES,
        &token,
        json!({"name": "same", "query": {"all_of": ["gaming", "\"rtx 4070\""], "any_of": [["pc", "desktop"]], "none_of": ["mac"]}}),
    )
    .await;
    assert_eq!(structured.body["query_text"], rule["query_text"]);

    // PATCH: null clears a criterion, absent leaves it, a location without radius is refused.
    let cleared = patch(
        &app,
        &format!("{RULES}/{id}"),
        &token,
        json!({"max_price": null, "location": null, "radius": null, "channels": ["email"]}),
    )
    .await;
    assert_eq!(cleared.status, StatusCode::OK, "{}", cleared.body);
    assert_eq!(cleared.body["max_price"], Value::Null);
    assert_eq!(cleared.body["location"], Value::Null);
    assert_eq!(cleared.body["query_text"], rule["query_text"]);
    assert_eq!(cleared.body["channels"], json!(["email"]));
    assert_eq!(cleared.body["version"], 2);
    let half = patch(
        &app,
        &format!("{RULES}/{id}"),
        &token,
        json!({"location": {"airport": "BOS"}}),
    )
    .await;
    assert_problem(
        &half,
        StatusCode::UNPROCESSABLE_ENTITY,
        "location without radius",
    );
    assert_eq!(field_errors(&half), ["location"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_rules_name_every_bad_field_and_store_nothing() {
    let app = app();
    let token = user(&app, "strict@example.com").await;
    let answer = post(
        &app,
        RULES,
        &token,
        json!({
            "name": "",
            "query": "gaming (pc",
            "min_price": {"amount": "900", "currency": "USD"},
            "max_price": {"amount": "800", "currency": "USD"},
            "categories": ["spaceships"],
            "radius": {"value": 5, "unit": "km"},
            "min_score": 101,
            "flight": {"origins": ["ZZZ"], "destinations": ["Atlantis"], "max_stops": 7}
        }),
    )
    .await;
    assert_problem(&answer, StatusCode::UNPROCESSABLE_ENTITY, "bad rule");
    let fields = field_errors(&answer);
    for expected in [
        "name",
        "query",
        "categories",
        "min_score",
        "flight.origins[0]",
        "flight.destinations[0]",
        "min_price",
        "radius",
        "flight.max_stops",
    ] {
        assert!(
            fields.contains(&expected.to_string()),
            "{expected} missing in {fields:?}"
        );
    }
    let unknown_airport = answer.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["field"] == "flight.origins[0]")
        .unwrap();
    assert!(unknown_airport["message"]
        .as_str()
        .unwrap()
        .contains("unknown airport code ZZZ"));
    let many: Vec<String> = (0..51).map(|i| format!("w{i}")).collect();
    let answer = post(
        &app,
        RULES,
        &token,
        json!({"name": "many", "query": many.join(" ")}),
    )
    .await;
    assert_problem(&answer, StatusCode::UNPROCESSABLE_ENTITY, "51 keywords");
    let list = get(&app, RULES, &token).await;
    assert_eq!(list.body["total"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_paginate_search_filter_and_sort() {
    let app = app();
    let token = user(&app, "lists@example.com").await;
    for (name, category) in [
        ("Épée deals", "sports"),
        ("laptop", "computers"),
        ("Monitor", "computers"),
        ("desk", "furniture"),
        ("Keyboard", "computers"),
    ] {
        created(
            &post(
                &app,
                RULES,
                &token,
                json!({"name": name, "categories": [category]}),
            )
            .await,
        );
    }
    let paused = get(&app, &format!("{RULES}?q=desk"), &token).await;
    let desk_id = paused.body["items"][0]["id"].as_str().unwrap().to_string();
    post(&app, &format!("{RULES}/{desk_id}/pause"), &token, json!({})).await;

    let mut names = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("{RULES}?sort=name&limit=2&cursor={c}"),
            None => format!("{RULES}?sort=name&limit=2"),
        };
        let page = get(&app, &path, &token).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        assert_eq!(page.body["total"], 5);
        for item in page.body["items"].as_array().unwrap() {
            names.push(item["name"].as_str().unwrap().to_string());
        }
        match page.body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => break,
        }
    }
    assert_eq!(
        names,
        ["desk", "Épée deals", "Keyboard", "laptop", "Monitor"]
    );
    let search = get(&app, &format!("{RULES}?q=EPEE"), &token).await;
    assert_eq!(
        search.body["items"][0]["name"], "Épée deals",
        "accent-insensitive"
    );
    let computers = get(
        &app,
        &format!("{RULES}?category=computers&sort=-name"),
        &token,
    )
    .await;
    let names: Vec<&str> = computers.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Monitor", "laptop", "Keyboard"]);
    let disabled = get(&app, &format!("{RULES}?enabled=false"), &token).await;
    assert_eq!(disabled.body["total"], 1);
    // Lists and summaries revalidate too: a weak ETag over the body.
    let list_etag = disabled.headers.get(header::ETAG).unwrap().clone();
    assert!(list_etag.to_str().unwrap().starts_with("W/\""));
    let revalidate = |etag: axum::http::HeaderValue| {
        axum::http::Request::builder()
            .method(Method::GET)
            .uri(format!("{RULES}?enabled=false"))
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::IF_NONE_MATCH, etag)
            .body(axum::body::Body::empty())
            .unwrap()
    };
    let unchanged = app.send(revalidate(list_etag.clone())).await;
    assert_eq!(unchanged.status, StatusCode::NOT_MODIFIED);
    post(
        &app,
        &format!("{RULES}/{desk_id}/resume"),
        &token,
        json!({}),
    )
    .await;
    let changed = app.send(revalidate(list_etag)).await;
    assert_eq!(changed.status, StatusCode::OK);
    assert_eq!(changed.body["total"], 0);
    for bad in [
        "sort=price",
        "limit=0",
        "enabled=maybe",
        "category=x",
        "cursor=%%%",
        "nope=1",
    ] {
        let answer = get(&app, &format!("{RULES}?{bad}"), &token).await;
        assert_problem(&answer, StatusCode::UNPROCESSABLE_ENTITY, bad);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_patches_all_land_and_none_is_lost() {
    let app = app();
    let token = user(&app, "race@example.com").await;
    let id = created(&post(&app, RULES, &token, json!({"name": "contended"})).await);
    let path = format!("{RULES}/{id}");
    let answers = join_all((0..8).map(|i| {
        let (app, token, path) = (&app, &token, &path);
        async move { patch(app, path, token, json!({"cooldown_minutes": 10 + i})).await }
    }))
    .await;
    let applied: Vec<&Answer> = answers
        .iter()
        .filter(|a| a.status == StatusCode::OK)
        .collect();
    // Eight unconditional edits at once all land: each is re-applied on top of the others.
    for answer in &answers {
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    }
    let stored = get(&app, &path, &token).await;
    // Every 200 is a version; a lost write would leave the version behind the 200s.
    assert_eq!(stored.body["version"], 1 + applied.len() as u64);
    assert!(applied
        .iter()
        .any(|a| a.body["cooldown_minutes"] == stored.body["cooldown_minutes"]));
    // If-Match with an old ETag is refused.
    let mut request = axum::http::Request::builder()
        .method(Method::PATCH)
        .uri(&path)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::IF_MATCH, format!("\"rule-{id}-1\""));
    request = request.header("x-test", "stale");
    let stale = app
        .send(
            request
                .body(axum::body::Body::from("{\"enabled\": false}"))
                .unwrap(),
        )
        .await;
    assert_problem(&stale, StatusCode::PRECONDITION_FAILED, "stale If-Match");
    assert_eq!(get(&app, &path, &token).await.body["enabled"], true);
}

/// The preferences are one record edited from several forms; concurrent edits of different
/// fields without If-Match all land (found by schemathesis as a 409 to a plain PATCH).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_preference_edits_of_different_fields_all_land() {
    let app = app();
    let token = user(&app, "prefs-race@example.com").await;
    // Eight writers: within the ten tries a contended write gets (one writer wins each round).
    let hours = 0..8u64;
    let answers = join_all(hours.clone().map(|hour| {
        let (app, token) = (&app, &token);
        async move {
            if hour % 2 == 0 {
                let body = json!({"digest_hour": hour});
                patch(app, &format!("{PREFS}/frequency"), token, body).await
            } else {
                let body = json!({"start": format!("{hour:02}:00"), "end": "06:30"});
                patch(app, &format!("{PREFS}/quiet-hours"), token, body).await
            }
        }
    }))
    .await;
    for answer in &answers {
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    }
    let summary = get(&app, &format!("{PREFS}/summary"), &token).await;
    // One version per edit: none was applied to a stale copy and overwritten.
    assert_eq!(summary.body["version"], hours.end, "{}", summary.body);
    let digest_hour = summary.body["digest_hour"].as_u64().unwrap();
    assert!(digest_hour % 2 == 0, "{}", summary.body);
    assert_eq!(
        summary.body["quiet_hours"]["end"], "06:30",
        "{}",
        summary.body
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pause_resume_bulk_and_delete() {
    let app = app();
    let token = user(&app, "bulk@example.com").await;
    let other = user(&app, "other@example.com").await;
    let mine: Vec<String> = join_all((0..3).map(|i| {
        let (app, token) = (&app, &token);
        async move { created(&post(app, RULES, token, json!({"name": format!("r{i}")})).await) }
    }))
    .await;
    let theirs = created(&post(&app, RULES, &other, json!({"name": "theirs"})).await);
    let paused = post(
        &app,
        &format!("{RULES}/{}/pause", mine[0]),
        &token,
        json!({}),
    )
    .await;
    assert_eq!(paused.body["enabled"], false);
    let again = post(
        &app,
        &format!("{RULES}/{}/pause", mine[0]),
        &token,
        json!({}),
    )
    .await;
    assert_eq!(
        again.body["version"], paused.body["version"],
        "pausing twice changes nothing"
    );
    let resumed = post(
        &app,
        &format!("{RULES}/{}/resume", mine[0]),
        &token,
        json!({}),
    )
    .await;
    assert_eq!(resumed.body["enabled"], true);

    let bulk = post(
        &app,
        &format!("{RULES}/bulk"),
        &token,
        json!({"action": "pause", "ids": [mine[1], mine[2], theirs]}),
    )
    .await;
    assert_eq!(bulk.status, StatusCode::OK, "{}", bulk.body);
    let statuses: Vec<&str> = bulk.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["paused", "paused", "not_found"]);
    assert_eq!(
        get(&app, &format!("{RULES}/{theirs}"), &other).await.body["enabled"],
        true
    );
    let deleted = post(
        &app,
        &format!("{RULES}/bulk"),
        &token,
        json!({"action": "delete", "ids": [mine[0], mine[1]]}),
    )
    .await;
    assert_eq!(deleted.body["results"][1]["status"], "deleted");
    assert_eq!(get(&app, RULES, &token).await.body["total"], 1);
    for bad in [
        json!({"action": "explode", "ids": [mine[2]]}),
        json!({"action": "pause", "ids": []}),
        json!({"action": "pause", "ids": [mine[2], mine[2]]}),
    ] {
        let answer = post(&app, &format!("{RULES}/bulk"), &token, bad.clone()).await;
        assert_problem(&answer, StatusCode::UNPROCESSABLE_ENTITY, &bad.to_string());
    }
    let gone = app
        .call(
            Method::DELETE,
            &format!("{RULES}/{}", mine[2]),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT);
    assert_eq!(get(&app, RULES, &token).await.body["total"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_finds_matches_and_says_why_near_misses_failed() {
    let app = app();
    let token = user(&app, "dryrun@example.com").await;
    let store: &dyn Store = app.runtime.store.as_ref();
    for item in [
        listing("Gaming PC RTX 4070 desktop", "749.99", 2),
        listing("Gaming Mac desktop", "699", 5),
        listing("Gaming PC tower", "950", 30),
        listing("Office desktop", "300", 10),
        listing("Gaming desktop, last month", "500", 24 * 40),
    ] {
        store.put_listing(&item).await.unwrap();
    }
    let mut fare = listing("BOS to Lisbon", "389", 1);
    fare.category = Some(Category::Flights);
    fare.flight = Some(FlightOffer {
        origin: "BOS".into(),
        destination: "LIS".into(),
        depart_on: "2027-03-10".parse().unwrap(),
        return_on: Some("2027-03-17".parse().unwrap()),
        stops: 0,
        cabin: Cabin::Economy,
    });
    store.put_listing(&fare).await.unwrap();

    let id = created(
        &post(
            &app,
            RULES,
            &token,
            json!({"name": "gaming pc", "query": "gaming (pc OR desktop) -mac", "max_price": {"amount": "800", "currency": "USD"}}),
        )
        .await,
    );
    let result = post(
        &app,
        &format!("{RULES}/{id}/test"),
        &token,
        json!({"days": 7}),
    )
    .await;
    assert_eq!(result.status, StatusCode::OK, "{}", result.body);
    assert_eq!(
        result.body["examined"], 5,
        "the 40-day-old listing is outside 7 days"
    );
    let matches: Vec<&str> = result.body["matches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["title"].as_str().unwrap())
        .collect();
    assert_eq!(matches, ["Gaming PC RTX 4070 desktop"]);
    let near = result.body["near_misses"].as_array().unwrap();
    let reason = |title: &str| -> Vec<(String, String)> {
        near.iter()
            .find(|n| n["listing"]["title"] == title)
            .map(|n| {
                n["failed"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|f| {
                        (
                            f["criterion"].as_str().unwrap().to_string(),
                            f["reason"].as_str().unwrap().to_string(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let mac = reason("Gaming Mac desktop");
    assert_eq!(mac[0].0, "keywords");
    assert!(mac[0].1.contains("contains excluded mac"), "{mac:?}");
    let tower = reason("Gaming PC tower");
    assert_eq!(tower[0].0, "price");
    assert!(tower[0]
        .1
        .contains("950.00 USD is above the maximum 800.00 USD"));

    let flight_rule = created(
        &post(
            &app,
            RULES,
            &token,
            json!({"name": "BOS to Europe", "max_price": {"amount": "400", "currency": "USD"},
                   "flight": {"origins": ["BOS"], "destinations": ["Europe"], "max_stops": 1}}),
        )
        .await,
    );
    let result = post(
        &app,
        &format!("{RULES}/{flight_rule}/test"),
        &token,
        json!({}),
    )
    .await;
    assert_eq!(result.body["matches"][0]["title"], "BOS to Lisbon");
    let answer = post(
        &app,
        &format!("{RULES}/{id}/test"),
        &token,
        json!({"days": 91}),
    )
    .await;
    assert_problem(&answer, StatusCode::UNPROCESSABLE_ENTITY, "days 91");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_limits_come_from_data_and_answer_403_naming_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let plans = dir.path().join("plans.json");
    std::fs::write(
        &plans,
        json!({
            "free": {"max_rules": 2, "max_watches": 1, "min_check_interval_minutes": 120, "channels": ["email", "discord"], "max_endpoints": 1, "max_push_subscriptions": 1},
            "pro": {"max_rules": 5, "max_watches": 5, "min_check_interval_minutes": 30, "channels": ["email", "discord", "slack", "webhook", "sms", "push"], "max_endpoints": 5, "max_push_subscriptions": 5},
            "business": {"max_rules": 50, "max_watches": 50, "min_check_interval_minutes": 5, "channels": ["email", "discord", "slack", "webhook", "sms", "push"], "max_endpoints": 50, "max_push_subscriptions": 50}
        })
        .to_string(),
    )
    .unwrap();
    let app = app_with_plans(Some(plans));
    let token = user(&app, "quota@example.com").await;
    // Concurrent creates cannot race past the limit.
    let answers = join_all((0..5).map(|i| {
        let (app, token) = (&app, &token);
        async move { post(app, RULES, token, json!({"name": format!("r{i}")})).await }
    }))
    .await;
    assert_eq!(
        answers
            .iter()
            .filter(|a| a.status == StatusCode::CREATED)
            .count(),
        2
    );
    let refused = answers
        .iter()
        .find(|a| a.status == StatusCode::FORBIDDEN)
        .unwrap();
    assert_problem(refused, StatusCode::FORBIDDEN, "third rule");
    assert_eq!(refused.body["limit"]["name"], "max_rules");
    assert_eq!(refused.body["limit"]["plan"], "free");
    assert_eq!(refused.body["limit"]["allowed"], "2");
    let sms = post(
        &app,
        RULES,
        &token,
        json!({"name": "x", "channels": ["sms"]}),
    )
    .await;
    assert_problem(&sms, StatusCode::FORBIDDEN, "sms on free");
    assert_eq!(sms.body["limit"]["name"], "channels:sms");
    let fast = post(
        &app,
        "/api/v1/watchlist/items",
        &token,
        json!({"url": "https://shop.example.com/a", "trigger": {"kind": "any_drop"}, "check_interval_minutes": 60}),
    )
    .await;
    assert_eq!(fast.body["limit"]["name"], "min_check_interval_minutes");
    let webhook = post(
        &app,
        "/api/v1/notification-preferences/endpoints",
        &token,
        json!({"kind": "webhook", "url": "https://hooks.example.com/x"}),
    )
    .await;
    assert_eq!(webhook.body["limit"]["name"], "channels:webhook");
    set_plan(&app, "quota@example.com", Plan::Pro).await;
    let (token, _) = app
        .login("quota@example.com", "a long enough password")
        .await;
    created(&post(&app, RULES, &token, json!({"name": "third, on pro"})).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watching_by_url_goes_through_the_ssrf_guard_and_shares_products() {
    let app = app();
    let alice = user(&app, "alice@example.com").await;
    let bob = user(&app, "bob@example.com").await;
    let items = "/api/v1/watchlist/items";
    for url in [
        "http://127.0.0.1/admin",
        "http://localhost:8080/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/",
        "http://10.1.2.3/",
        "http://0x7f000001/",
        "file:///etc/passwd",
        "ftp://example.com/",
        "http://metadata.google.internal/",
    ] {
        let answer = post(
            &app,
            items,
            &alice,
            json!({"url": url, "trigger": {"kind": "any_drop"}}),
        )
        .await;
        assert_problem(&answer, StatusCode::UNPROCESSABLE_ENTITY, url);
        assert_eq!(field_errors(&answer), ["url"], "{url}");
    }
    let first = post(
        &app,
        items,
        &alice,
        json!({"url": "https://Shop.Example.com/espresso#reviews", "label": "Espresso",
               "trigger": {"kind": "target_price", "price": {"amount": "249", "currency": "EUR"}},
               "rearm": {"kind": "after_cooldown", "minutes": 1440}}),
    )
    .await;
    let alice_item = created(&first);
    assert_eq!(
        first.body["product"]["url"],
        "https://shop.example.com/espresso"
    );
    assert_eq!(
        first.body["trigger_description"],
        "when the price is 249.00 EUR or less"
    );
    assert_eq!(
        first.body["rearm_description"],
        "fires, then may fire again after 1440 minutes"
    );
    assert_eq!(
        first.body["check_interval_minutes"], 360,
        "the free plan's minimum"
    );
    let duplicate = post(
        &app,
        items,
        &alice,
        json!({"url": "https://shop.example.com/espresso", "trigger": {"kind": "any_drop"}}),
    )
    .await;
    assert_problem(&duplicate, StatusCode::CONFLICT, "watching twice");
    let bobs = post(
        &app,
        items,
        &bob,
        json!({"url": "https://shop.example.com/espresso", "trigger": {"kind": "all_time_low"}}),
    )
    .await;
    created(&bobs);
    assert_eq!(
        bobs.body["product"]["id"], first.body["product"]["id"],
        "one product, two watchers"
    );

    for bad in [
        json!({"url": "https://a.example.com/", "trigger": {"kind": "percent_drop", "percent": 0}}),
        json!({"url": "https://a.example.com/", "trigger": {"kind": "sometimes"}}),
        json!({"url": "https://a.example.com/", "listing_id": "x", "trigger": {"kind": "any_drop"}}),
        json!({"trigger": {"kind": "any_drop"}}),
        json!({"url": "https://a.example.com/", "trigger": {"kind": "any_drop"}, "rearm": {"kind": "after_cooldown", "minutes": 1}}),
    ] {
        let answer = post(&app, items, &alice, bad.clone()).await;
        assert_problem(&answer, StatusCode::UNPROCESSABLE_ENTITY, &bad.to_string());
    }

    // From a listing: the price when watched is the listing's price.
    let seen = listing("Espresso machine X2", "289.00", 3);
    app.runtime.store.put_listing(&seen).await.unwrap();
    let from_listing = post(&app, items, &alice, json!({"listing_id": seen.id.to_string(), "trigger": {"kind": "percent_drop", "percent": 20}})).await;
    created(&from_listing);
    assert_eq!(
        from_listing.body["price_when_watched"],
        json!({"amount": "289.00", "currency": "USD"})
    );
    assert_eq!(
        from_listing.body["trigger_description"],
        "when the price drops 20% below 289.00 USD"
    );

    // History: final shape, empty until checked, then the points in order.
    let path = format!("{items}/{alice_item}/history");
    let empty = get(&app, &path, &alice).await;
    assert_eq!(empty.status, StatusCode::OK);
    assert_eq!(empty.body["points"], json!([]));
    assert_eq!(empty.body["lowest"], Value::Null);
    let product: ProductId = first.body["product"]["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let eur = Currency::parse("EUR").unwrap();
    for (hours, amount) in [(50, "279"), (20, "259"), (2, "265")] {
        app.runtime
            .store
            .append_price_point(&PricePoint {
                previous: None,
                product_id: product,
                at: Timestamp::now()
                    .checked_sub(SignedDuration::from_hours(hours))
                    .unwrap(),
                price: Money::parse(amount, eur).unwrap(),
                in_stock: true,
            })
            .await
            .unwrap();
    }
    let history = get(&app, &path, &alice).await;
    let prices: Vec<&str> = history.body["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["price"]["amount"].as_str().unwrap())
        .collect();
    assert_eq!(prices, ["279.00", "259.00", "265.00"]);
    assert_eq!(history.body["lowest"]["amount"], "259.00");
    assert_eq!(history.body["highest"]["amount"], "279.00");
    let recent = get(&app, &format!("{path}?days=1"), &alice).await;
    assert_eq!(
        recent.body["points"].as_array().unwrap().len(),
        2,
        "20 h and 2 h ago"
    );
    assert_problem(
        &get(&app, &format!("{path}?days=0"), &alice).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "days=0",
    );

    // A fired watch re-arms on request; `armed: false` is refused and changes nothing.
    let watches = dealpulse_domain::records::records::<dealpulse_domain::watch::WatchItem>(
        app.runtime.store.as_ref(),
    );
    let alice_id = app
        .runtime
        .store
        .user_by_email(&Email::parse("alice@example.com").unwrap())
        .await
        .unwrap()
        .unwrap()
        .id;
    let mut fired = watches.get(alice_id, &alice_item).await.unwrap().unwrap();
    fired.armed = false;
    fired.last_fired_at = Some(Timestamp::now());
    watches.update(&fired).await.unwrap();
    let item_path = format!("{items}/{alice_item}");
    assert_eq!(get(&app, &item_path, &alice).await.body["armed"], false);
    let refused = patch(&app, &item_path, &alice, json!({"armed": false})).await;
    assert_problem(&refused, StatusCode::UNPROCESSABLE_ENTITY, "armed: false");
    assert_eq!(field_errors(&refused), ["armed"]);
    let rearmed = patch(&app, &item_path, &alice, json!({"armed": true})).await;
    assert_eq!(rearmed.status, StatusCode::OK, "{}", rearmed.body);
    assert_eq!(rearmed.body["armed"], true);
    assert_eq!(get(&app, &item_path, &alice).await.body["armed"], true);
    let mut fired = watches.get(alice_id, &alice_item).await.unwrap().unwrap();
    fired.armed = false;
    watches.update(&fired).await.unwrap();

    // A new trigger re-arms; labels clear with null.
    let changed = patch(
        &app,
        &format!("{items}/{alice_item}"),
        &alice,
        json!({"trigger": {"kind": "back_in_stock"}, "label": null}),
    )
    .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.body);
    assert_eq!(changed.body["label"], Value::Null);
    assert_eq!(changed.body["armed"], true);
    let list = get(&app, "/api/v1/watchlist", &alice).await;
    assert_eq!(list.body["total"], 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preferences_channels_quiet_hours_and_frequency() {
    let receiver = HttpRecorder::start(200, r#"{"id":"98765"}"#);
    let app = app_with_notify_origin(&receiver.base_url());
    let token = user(&app, "prefs@example.com").await;
    let summary = get(&app, &format!("{PREFS}/summary"), &token).await;
    assert_eq!(summary.status, StatusCode::OK);
    assert_eq!(
        summary.body["channels"]["email"],
        json!({"enabled": true, "available": true, "configured": true})
    );
    assert_eq!(
        summary.body["channels"]["sms"]["available"], false,
        "SMS is not on free"
    );
    assert_eq!(summary.body["frequency"], "immediate");

    let discord = patch(
        &app,
        &format!("{PREFS}/channels"),
        &token,
        json!({"discord": true}),
    )
    .await;
    assert_problem(
        &discord,
        StatusCode::UNPROCESSABLE_ENTITY,
        "discord without endpoint",
    );
    assert!(discord.body["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("add a Discord webhook first"));
    let sms = patch(
        &app,
        &format!("{PREFS}/channels"),
        &token,
        json!({"sms": true}),
    )
    .await;
    assert_eq!(sms.body["limit"]["name"], "channels:sms");

    for bad_url in [
        "http://discord.com/api/webhooks/1/x",
        "https://evil.example.com/api/webhooks/1/x",
        "https://discord.com/channels/1/2",
        "https://127.0.0.1/api/webhooks/1/x",
    ] {
        let answer = post(
            &app,
            &format!("{PREFS}/endpoints"),
            &token,
            json!({"kind": "discord", "url": bad_url}),
        )
        .await;
        assert_problem(&answer, StatusCode::UNPROCESSABLE_ENTITY, bad_url);
    }
    let etag_before = summary.headers.get(header::ETAG).unwrap().clone();
    let endpoint = post(&app, &format!("{PREFS}/endpoints"), &token, json!({"kind": "discord", "url": "https://discord.com/api/webhooks/123456/secret-token", "label": "deals channel"})).await;
    // The summary reports set-up too, so a new endpoint changes its ETag.
    let revalidated = app
        .send(
            axum::http::Request::builder()
                .uri(format!("{PREFS}/summary"))
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .header(header::IF_NONE_MATCH, etag_before)
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(revalidated.status, StatusCode::OK);
    assert_eq!(revalidated.body["channels"]["discord"]["configured"], true);
    let endpoint_id = created(&endpoint);
    assert_eq!(
        endpoint.body["url"], "https://discord.com/api/webhooks/123456/…",
        "token hidden"
    );
    assert_eq!(endpoint.body["signing_secret"], Value::Null);
    let test_send = post(
        &app,
        &format!("{PREFS}/endpoints/{endpoint_id}/test"),
        &token,
        json!({}),
    )
    .await;
    // The test send goes out like a delivery: a Discord message to the endpoint's own path.
    assert_eq!(test_send.status, StatusCode::OK, "{}", test_send.body);
    assert_eq!(test_send.body["status"], 200);
    let posted = receiver.requests();
    assert_eq!(posted.len(), 1);
    assert!(
        posted[0]
            .path
            .starts_with("/api/webhooks/123456/secret-token"),
        "{}",
        posted[0].path
    );
    let message: Value = serde_json::from_str(&posted[0].text()).unwrap();
    assert!(
        message.to_string().contains("DealPulse test alert"),
        "{message}"
    );
    let tested = get(&app, &format!("{PREFS}/endpoints/{endpoint_id}"), &token).await;
    assert_eq!(tested.body["last_tested_at"], test_send.body["tested_at"]);
    // A refusing endpoint is reported with its answer, and nothing is marked tested.
    receiver.set_reply(404, r#"{"message": "Unknown Webhook"}"#);
    let refused = post(
        &app,
        &format!("{PREFS}/endpoints/{endpoint_id}/test"),
        &token,
        json!({}),
    )
    .await;
    assert_problem(
        &refused,
        StatusCode::UNPROCESSABLE_ENTITY,
        "refused test send",
    );
    assert!(refused.body["type"]
        .as_str()
        .unwrap()
        .ends_with("endpoint-refused"));
    assert!(refused.body["detail"].as_str().unwrap().contains("404"));
    // Five test sends a minute at most (two used above).
    receiver.set_reply(204, "");
    for _ in 0..3 {
        let again = post(
            &app,
            &format!("{PREFS}/endpoints/{endpoint_id}/test"),
            &token,
            json!({}),
        )
        .await;
        assert_eq!(again.status, StatusCode::OK, "{}", again.body);
    }
    let limited = post(
        &app,
        &format!("{PREFS}/endpoints/{endpoint_id}/test"),
        &token,
        json!({}),
    )
    .await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(receiver.requests().len(), 5);
    let unknown = post(
        &app,
        &format!("{PREFS}/endpoints/01937b2e-aaaa-7cc0-9a51-4f2d5c1e0a11/test"),
        &token,
        json!({}),
    )
    .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let enabled = patch(
        &app,
        &format!("{PREFS}/channels"),
        &token,
        json!({"discord": true, "email": false}),
    )
    .await;
    assert_eq!(enabled.status, StatusCode::OK, "{}", enabled.body);
    assert_eq!(enabled.body["channels"]["discord"]["enabled"], true);
    assert_eq!(enabled.body["channels"]["email"]["enabled"], false);

    let quiet = patch(
        &app,
        &format!("{PREFS}/quiet-hours"),
        &token,
        json!({"start": "22:30", "end": "07:00", "timezone": "Europe/Berlin"}),
    )
    .await;
    assert_eq!(quiet.status, StatusCode::OK, "{}", quiet.body);
    assert_eq!(
        quiet.body["quiet_hours"],
        json!({"start": "22:30", "end": "07:00", "crosses_midnight": true})
    );
    assert_eq!(quiet.body["timezone"], "Europe/Berlin");
    assert_eq!(
        get(&app, "/api/v1/me", &token).await.body["timezone"],
        "Europe/Berlin",
        "one home for the time zone"
    );
    for bad in [
        json!({"start": "25:00", "end": "07:00"}),
        json!({"start": "07:00", "end": "07:00"}),
        json!({"start": "22:00"}),
        json!({"start": "22:00", "end": "06:00", "timezone": "Mars/Olympus"}),
    ] {
        let answer = patch(&app, &format!("{PREFS}/quiet-hours"), &token, bad.clone()).await;
        assert_problem(&answer, StatusCode::UNPROCESSABLE_ENTITY, &bad.to_string());
    }
    let cleared = patch(
        &app,
        &format!("{PREFS}/quiet-hours"),
        &token,
        json!({"start": null, "end": null}),
    )
    .await;
    assert_eq!(cleared.body["quiet_hours"], Value::Null);

    let frequency = patch(&app, &format!("{PREFS}/frequency"), &token, json!({"frequency": "weekly", "digest_hour": 18, "digest_weekday": "friday", "max_alerts_per_day": 20, "categories": ["computers", "gaming"], "language": "de-DE"})).await;
    assert_eq!(frequency.status, StatusCode::OK, "{}", frequency.body);
    assert_eq!(frequency.body["digest_weekday"], "friday");
    assert_eq!(frequency.body["max_alerts_per_day"], 20);
    assert_eq!(frequency.body["language"], "de-DE");
    for bad in [
        json!({"digest_hour": 24}),
        json!({"frequency": "hourly"}),
        json!({"max_alerts_per_day": 0}),
        json!({"categories": ["spaceships"]}),
        json!({"digest_weekday": "someday"}),
    ] {
        let answer = patch(&app, &format!("{PREFS}/frequency"), &token, bad.clone()).await;
        assert_problem(&answer, StatusCode::UNPROCESSABLE_ENTITY, &bad.to_string());
    }
    // Removing the last Discord endpoint turns the channel off.
    let deleted = app
        .call(
            Method::DELETE,
            &format!("{PREFS}/endpoints/{endpoint_id}"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    let after = get(&app, &format!("{PREFS}/summary"), &token).await;
    assert_eq!(after.body["channels"]["discord"]["enabled"], false);
    // Stale If-Match on a preferences PATCH.
    let request = axum::http::Request::builder()
        .method(Method::PATCH)
        .uri(format!("{PREFS}/frequency"))
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::IF_MATCH, "\"preferences-current-1\"")
        .body(axum::body::Body::from("{\"digest_hour\": 7}"))
        .unwrap();
    assert_problem(
        &app.send(request).await,
        StatusCode::PRECONDITION_FAILED,
        "stale preferences",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_get_a_secret_shown_once_and_rotatable() {
    let app = app();
    let token = user(&app, "hooks@example.com").await;
    set_plan(&app, "hooks@example.com", Plan::Pro).await;
    let (token, _) = {
        let _ = token;
        app.login("hooks@example.com", "a long enough password")
            .await
    };
    const ENDPOINTS: &str = "/api/v1/notification-preferences/endpoints";
    let created_answer = post(
        &app,
        ENDPOINTS,
        &token,
        json!({"kind": "webhook", "url": "https://hooks.example.com/dealpulse?key=abc"}),
    )
    .await;
    let id = created(&created_answer);
    let secret = created_answer.body["signing_secret"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(secret.starts_with("whsec_") && secret.len() > 40);
    assert_eq!(
        created_answer.body["url"], "https://hooks.example.com/dealpulse",
        "query hidden"
    );
    let read = get(&app, &format!("{ENDPOINTS}/{id}"), &token).await;
    assert!(read.body.get("signing_secret").is_none(), "shown once");
    assert_eq!(read.body["secret_hint"], &secret[..10]);
    let rotated = post(
        &app,
        &format!("{ENDPOINTS}/{id}/rotate-secret"),
        &token,
        json!({}),
    )
    .await;
    assert_eq!(rotated.status, StatusCode::OK);
    let new_secret = rotated.body["signing_secret"].as_str().unwrap();
    assert_ne!(new_secret, secret);
    let plain = post(
        &app,
        ENDPOINTS,
        &token,
        json!({"kind": "webhook", "url": "http://hooks.example.com/x"}),
    )
    .await;
    assert_problem(&plain, StatusCode::UNPROCESSABLE_ENTITY, "http webhook");
    let slack = post(
        &app,
        ENDPOINTS,
        &token,
        json!({"kind": "slack", "url": "https://hooks.slack.com/services/T000/B000/XXXX"}),
    )
    .await;
    let slack_id = created(&slack);
    let not_webhook = post(
        &app,
        &format!("{ENDPOINTS}/{slack_id}/rotate-secret"),
        &token,
        json!({}),
    )
    .await;
    assert_problem(
        &not_webhook,
        StatusCode::UNPROCESSABLE_ENTITY,
        "rotate slack",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_is_verified_with_a_texted_code_within_limits() {
    let app = app();
    user(&app, "phone@example.com").await;
    set_plan(&app, "phone@example.com", Plan::Pro).await;
    let (token, _) = app
        .login("phone@example.com", "a long enough password")
        .await;
    const PHONE: &str = "/api/v1/notification-preferences/phone";
    assert_problem(
        &get(&app, PHONE, &token).await,
        StatusCode::NOT_FOUND,
        "no phone yet",
    );
    for bad in ["4155550123", "+0123", "+1 415 FLOWERS"] {
        let answer = post(&app, PHONE, &token, json!({"number": bad})).await;
        assert_problem(&answer, StatusCode::UNPROCESSABLE_ENTITY, bad);
    }
    let started = post(&app, PHONE, &token, json!({"number": "+1 (415) 555-0123"})).await;
    assert_eq!(started.status, StatusCode::ACCEPTED, "{}", started.body);
    assert_eq!(started.body["number"], "+•••••••••23");
    assert_eq!(started.body["pending"], true);
    let resend = post(&app, PHONE, &token, json!({"number": "+14155550123"})).await;
    assert_problem(
        &resend,
        StatusCode::TOO_MANY_REQUESTS,
        "resend within a minute",
    );
    assert!(resend.headers.contains_key(header::RETRY_AFTER));

    let sms = app
        .runtime
        .sms_outbox
        .as_ref()
        .unwrap()
        .recent_sms(10)
        .await
        .unwrap();
    assert_eq!(sms.len(), 1, "the refused resend sent nothing");
    assert_eq!(sms[0].to, "+14155550123");
    let code: String = sms[0]
        .body
        .chars()
        .filter(|c| c.is_ascii_digit())
        .take(6)
        .collect();
    let wrong = if code == "000000" { "111111" } else { "000000" };

    let verify = format!("{PHONE}/verify");
    let answer = post(&app, &verify, &token, json!({"code": wrong})).await;
    assert_problem(&answer, StatusCode::UNPROCESSABLE_ENTITY, "wrong code");
    assert!(answer.body["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("4 attempts left"));
    assert_problem(
        &post(&app, &verify, &token, json!({"code": "12ab56"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "not digits",
    );
    let ok = post(&app, &verify, &token, json!({"code": code})).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    assert_eq!(ok.body["verified"], true);
    let again = post(&app, &verify, &token, json!({"code": code})).await;
    assert_problem(&again, StatusCode::CONFLICT, "code used twice");
    // An expired code is refused even when right.
    let phones = dealpulse_domain::records::records::<dealpulse_domain::channels::PhoneSetup>(
        app.runtime.store.as_ref(),
    );
    let owner = app
        .runtime
        .store
        .user_by_email(&Email::parse("phone@example.com").unwrap())
        .await
        .unwrap()
        .unwrap()
        .id;
    let texted_at = Timestamp::now();
    let mut setup = phones.get(owner, "current").await.unwrap().unwrap();
    setup.pending = Some(dealpulse_domain::channels::PendingCode {
        code_hash: dealpulse_domain::secret::TokenHash::of(&format!("{owner}:654321")),
        sent_at: texted_at
            .checked_sub(SignedDuration::from_mins(11))
            .unwrap(),
        expires_at: texted_at.checked_sub(SignedDuration::from_mins(1)).unwrap(),
        attempts_left: 5,
    });
    phones.update(&setup).await.unwrap();
    let expired = post(&app, &verify, &token, json!({"code": "654321"})).await;
    assert_problem(&expired, StatusCode::UNPROCESSABLE_ENTITY, "expired code");
    assert!(expired.body["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("expired"));
    assert_eq!(
        get(&app, PHONE, &token).await.body["verified"],
        true,
        "still the earlier verification"
    );
    let sms_on = patch(
        &app,
        "/api/v1/notification-preferences/channels",
        &token,
        json!({"sms": true}),
    )
    .await;
    assert_eq!(sms_on.status, StatusCode::OK, "{}", sms_on.body);
    assert_eq!(sms_on.body["channels"]["sms"]["enabled"], true);

    // Five wrong codes burn the code.
    let other = user(&app, "guesser@example.com").await;
    set_plan(&app, "guesser@example.com", Plan::Pro).await;
    let _ = other;
    let (other, _) = app
        .login("guesser@example.com", "a long enough password")
        .await;
    post(&app, PHONE, &other, json!({"number": "+447700900123"})).await;
    let texts = app
        .runtime
        .sms_outbox
        .as_ref()
        .unwrap()
        .recent_sms(1)
        .await
        .unwrap();
    let real: String = texts[0]
        .body
        .chars()
        .filter(|c| c.is_ascii_digit())
        .take(6)
        .collect();
    let wrong = if real == "000000" { "111111" } else { "000000" };
    for _ in 0..5 {
        post(&app, &verify, &other, json!({"code": wrong})).await;
    }
    let late = post(&app, &verify, &other, json!({"code": real})).await;
    assert!(
        late.status == StatusCode::CONFLICT || late.status == StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        late.body
    );
    assert_eq!(get(&app, PHONE, &other).await.body["verified"], false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_push_subscriptions_are_validated_and_deduplicated() {
    let app = app();
    let token = user(&app, "push@example.com").await;
    let key = app
        .call(Method::GET, "/api/v1/push/vapid-public-key", None, None)
        .await;
    assert_eq!(key.status, StatusCode::OK);
    assert_eq!(
        key.body["public_key"].as_str().unwrap().len(),
        87,
        "65 bytes, base64url"
    );
    // A real P-256 public key stands in for the browser's.
    let browser_key = VapidKeys::generate().unwrap().public_key();
    let subscription = json!({
        "endpoint": "https://updates.push.services.mozilla.com/wpush/v2/gAAAAAB",
        "expirationTime": null,
        "keys": {"p256dh": browser_key, "auth": "tBHItJI5svbpez7KI4CCXg"}
    });
    let first = post(
        &app,
        "/api/v1/push/subscriptions",
        &token,
        subscription.clone(),
    )
    .await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);
    assert_eq!(first.body["service"], "updates.push.services.mozilla.com");
    let again = post(
        &app,
        "/api/v1/push/subscriptions",
        &token,
        subscription.clone(),
    )
    .await;
    assert_eq!(again.status, StatusCode::OK, "same endpoint refreshes");
    assert_eq!(again.body["id"], first.body["id"]);
    let mut off_curve = browser_key.clone();
    off_curve.replace_range(
        80..82,
        if &browser_key[80..82] == "AA" {
            "AB"
        } else {
            "AA"
        },
    );
    for (label, bad) in [
        (
            "http endpoint",
            json!({"endpoint": "http://push.example.com/x", "keys": {"p256dh": browser_key, "auth": "tBHItJI5svbpez7KI4CCXg"}}),
        ),
        (
            "private endpoint",
            json!({"endpoint": "https://10.0.0.1/x", "keys": {"p256dh": browser_key, "auth": "tBHItJI5svbpez7KI4CCXg"}}),
        ),
        (
            "short auth",
            json!({"endpoint": "https://push.example.com/x", "keys": {"p256dh": browser_key, "auth": "AAAA"}}),
        ),
        (
            "off-curve key",
            json!({"endpoint": "https://push.example.com/x", "keys": {"p256dh": off_curve, "auth": "tBHItJI5svbpez7KI4CCXg"}}),
        ),
    ] {
        let answer = post(&app, "/api/v1/push/subscriptions", &token, bad).await;
        assert_problem(&answer, StatusCode::UNPROCESSABLE_ENTITY, label);
    }
    let push_on = patch(
        &app,
        "/api/v1/notification-preferences/channels",
        &token,
        json!({"push": true}),
    )
    .await;
    assert_eq!(push_on.body["channels"]["push"]["enabled"], true);
    let removed = app
        .call(
            Method::DELETE,
            "/api/v1/push/subscriptions",
            Some(&token),
            Some(json!({"endpoint": subscription["endpoint"]})),
        )
        .await;
    assert_eq!(removed.status, StatusCode::NO_CONTENT);
    let summary = get(&app, "/api/v1/notification-preferences/summary", &token).await;
    assert_eq!(
        summary.body["channels"]["push"]["enabled"], false,
        "no subscription, no push"
    );
    let missing = app
        .call(
            Method::DELETE,
            "/api/v1/push/subscriptions",
            Some(&token),
            Some(json!({"endpoint": subscription["endpoint"]})),
        )
        .await;
    assert_problem(&missing, StatusCode::NOT_FOUND, "second unsubscribe");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn product_history_serves_ranges_downsampled_for_charts() {
    use dealpulse_domain::listing::TrackedProduct;
    use dealpulse_domain::sources::CheckState;
    let app = app();
    let token = user(&app, "charts@example.com").await;
    let now = Timestamp::now();
    let eur = Currency::parse("EUR").unwrap();
    let product = app
        .runtime
        .store
        .insert_product(&TrackedProduct {
            id: ProductId::generate(),
            url: "https://shop.example.com/p/chart".into(),
            host: "shop.example.com".into(),
            title: Some("Chart me".into()),
            current_price: Some(Money::parse("199.00", eur).unwrap()),
            in_stock: Some(true),
            created_at: now,
            last_checked_at: Some(now),
            selectors: None,
            check: CheckState {
                interval_minutes: 60,
                ..CheckState::default()
            },
        })
        .await
        .unwrap();
    // 600 hourly points over 25 days, with one deep dip in the middle.
    for hour in 0..600i64 {
        let cents = if hour == 300 {
            14_900
        } else {
            25_000 + (hour % 7) * 100
        };
        app.runtime
            .store
            .append_price_point(&PricePoint {
                previous: None,
                product_id: product.id,
                at: now
                    .checked_sub(SignedDuration::from_hours(600 - hour))
                    .unwrap(),
                price: Money::from_minor(cents, eur).unwrap(),
                in_stock: true,
            })
            .await
            .unwrap();
    }
    let base = format!("/api/v1/products/{}", product.id);
    let detail = get(&app, &base, &token).await;
    assert_eq!(detail.status, StatusCode::OK, "{}", detail.body);
    assert_eq!(detail.body["title"], "Chart me");
    assert_eq!(detail.body["check_interval_minutes"], 60);

    let chart = get(&app, &format!("{base}/history?points=50"), &token).await;
    assert_eq!(chart.status, StatusCode::OK, "{}", chart.body);
    assert_eq!(chart.body["observations"], 600);
    assert_eq!(chart.body["downsampled"], true);
    let points = chart.body["points"].as_array().unwrap();
    assert!(points.len() <= 50 && points.len() >= 40, "{}", points.len());
    assert!(
        points.iter().any(|p| p["price"]["amount"] == "149.00"),
        "the dip survives downsampling"
    );
    assert_eq!(chart.body["lowest"]["amount"], "149.00");
    let score = &chart.body["score"];
    assert_eq!(score["all_time_low"], false, "149 was cheaper");
    assert!(score["score"].as_u64().unwrap() > 50, "{score}");

    // A window: only its points, not downsampled.
    let from = now.checked_sub(SignedDuration::from_hours(10)).unwrap();
    let to = now.checked_sub(SignedDuration::from_hours(5)).unwrap();
    let window = get(&app, &format!("{base}/history?from={from}&to={to}"), &token).await;
    assert_eq!(window.status, StatusCode::OK, "{}", window.body);
    assert_eq!(
        window.body["observations"], 6,
        "hours 10 to 5 ago, inclusive"
    );
    assert_eq!(window.body["downsampled"], false);

    for bad in [
        "from=yesterday",
        "points=1",
        "points=5000",
        "unknown=1",
        &format!("from={to}&to={from}"),
        "from=2000-01-01T00:00:00Z",
    ] {
        assert_problem(
            &get(&app, &format!("{base}/history?{bad}"), &token).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            bad,
        );
    }
    assert_problem(
        &get(
            &app,
            &format!("/api/v1/products/{}/history", ProductId::generate()),
            &token,
        )
        .await,
        StatusCode::NOT_FOUND,
        "unknown product",
    );
    assert_problem(
        &get(&app, "/api/v1/products/not-an-id", &token).await,
        StatusCode::NOT_FOUND,
        "not an id",
    );
    let anonymous = app
        .call(Method::GET, &format!("{base}/history"), None, None)
        .await;
    assert_problem(&anonymous, StatusCode::UNAUTHORIZED, "no token");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watches_can_carry_css_selectors_for_their_product_page() {
    let app = app();
    let token = user(&app, "selectors@example.com").await;
    let items = "/api/v1/watchlist/items";
    let invalid = post(
        &app,
        items,
        &token,
        json!({"url": "https://shop.example.com/p/plain", "trigger": {"kind": "any_drop"},
               "selectors": {"price": "div[[["}}),
    )
    .await;
    assert_problem(&invalid, StatusCode::UNPROCESSABLE_ENTITY, "bad CSS");
    assert_eq!(field_errors(&invalid), ["selectors"]);
    let made = post(
        &app,
        items,
        &token,
        json!({"url": "https://shop.example.com/p/plain", "trigger": {"kind": "any_drop"},
               "selectors": {"price": ".cost", "title": "h2.name"}}),
    )
    .await;
    let id = created(&made);
    let product = made.body["product"]["id"].as_str().unwrap().to_string();
    let detail = get(&app, &format!("/api/v1/products/{product}"), &token).await;
    assert_eq!(detail.body["selectors"]["price"], ".cost");
    let cleared = patch(
        &app,
        &format!("{items}/{id}"),
        &token,
        json!({"selectors": {}}),
    )
    .await;
    assert_eq!(cleared.status, StatusCode::OK, "{}", cleared.body);
    let detail = get(&app, &format!("/api/v1/products/{product}"), &token).await;
    assert_eq!(detail.body["selectors"], Value::Null);
}

/// The alert log shows each channel's delivery status, and the alert e-mail's unsubscribe links
/// work: GET only shows a confirmation page, POST (the button, or a mail client's one-click
/// request) pauses the rule or turns the e-mail channel off, and repeating it is harmless.
#[tokio::test]
async fn the_alert_log_and_unsubscribe_links() {
    use dealpulse_domain::mail::OutboxReader;
    use dealpulse_domain::queue::Queue;
    use dealpulse_tests::alerts::listing_event_json;

    let app = app();
    let token = user(&app, "kim@example.com").await;
    let rule = post(
        &app,
        RULES,
        &token,
        json!({"name": "Kayaks <cheap>", "query": "kayak"}),
    )
    .await;
    assert_eq!(rule.status, StatusCode::CREATED, "{}", rule.body);
    let rule_path = format!("{RULES}/{}", rule.body["id"].as_str().unwrap());
    let empty = get(&app, "/api/v1/alerts", &token).await;
    assert_eq!(
        empty.body,
        json!({"items": [], "next_cursor": null, "total": 0})
    );

    let pipeline = app.runtime.alerts();
    let publish = |title: &str| {
        listing_event_json(
            title,
            Money::parse("349", Currency::parse("USD").unwrap()).unwrap(),
        )
    };
    let settle = || async {
        match_all(&app, &pipeline).await;
        deliver_all(&app, &pipeline).await;
    };
    app.runtime
        .events_queue
        .send_batch(&[publish("Touring kayak 4.3 m")])
        .await
        .unwrap();
    settle().await;

    let log = get(&app, "/api/v1/alerts?channel=email", &token).await;
    assert_eq!(log.status, StatusCode::OK, "{}", log.body);
    assert_eq!(log.body["total"], 1);
    let alert = &log.body["items"][0];
    assert_eq!(alert["title"], "Touring kayak 4.3 m");
    assert_eq!(alert["price"], "349.00");
    assert_eq!(alert["reasons"], json!(["Kayaks <cheap>"]));
    assert_eq!(alert["deliveries"][0]["channel"], "email");
    assert_eq!(alert["deliveries"][0]["status"], "sent", "{alert:#}");
    let sms_only = get(&app, "/api/v1/alerts?channel=sms", &token).await;
    assert_eq!(sms_only.body["total"], 0);
    let bad = get(&app, "/api/v1/alerts?channel=pigeon", &token).await;
    assert_problem(&bad, StatusCode::UNPROCESSABLE_ENTITY, "unknown channel");

    // The mail's links: one for the rule, one for all alert e-mail.
    let outbox = app.runtime.outbox.as_ref().unwrap();
    let mail = outbox
        .recent(10)
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.subject.contains("kayak"))
        .expect("the alert mail");
    let header = mail
        .headers
        .iter()
        .find(|(name, _)| name == "List-Unsubscribe")
        .map(|(_, value)| value.clone())
        .expect("List-Unsubscribe");
    let links: Vec<String> = mail
        .text
        .split_whitespace()
        .filter(|word| word.contains("/api/v1/unsubscribe?token="))
        .map(|word| word.trim_matches(|c| c == '<' || c == '>').to_string())
        .collect();
    let path_of = |link: &str| link.trim_start_matches("http://dealpulse.test").to_string();
    let all_mail = path_of(header.trim_matches(|c| c == '<' || c == '>'));
    let rule_link = links
        .iter()
        .map(|l| path_of(l))
        .find(|l| *l != all_mail)
        .expect("a per-rule link");

    // GET shows what the link does and changes nothing.
    let page = app.call(Method::GET, &rule_link, None, None).await;
    assert_eq!(page.status, StatusCode::OK);
    let html = page.body.as_str().unwrap();
    assert!(html.contains("Kayaks &lt;cheap&gt;"), "{html}");
    assert!(html.contains("method=\"post\""), "{html}");
    assert_eq!(get(&app, &rule_path, &token).await.body["enabled"], true);

    // POST pauses the rule; again, nothing more happens.
    for _ in 0..2 {
        let done = app.call(Method::POST, &rule_link, None, None).await;
        assert_eq!(done.status, StatusCode::OK);
        assert!(done.body.as_str().unwrap().contains("Unsubscribed"));
        assert_eq!(get(&app, &rule_path, &token).await.body["enabled"], false);
    }
    // The one-click header link turns e-mail off altogether.
    let done = app.call(Method::POST, &all_mail, None, None).await;
    assert_eq!(done.status, StatusCode::OK);
    let prefs = get(&app, "/api/v1/notification-preferences/summary", &token).await;
    assert_eq!(
        prefs.body["channels"]["email"]["enabled"], false,
        "{}",
        prefs.body
    );

    // A paused rule alerts no more.
    app.runtime
        .events_queue
        .send_batch(&[publish("Sea kayak, carbon")])
        .await
        .unwrap();
    settle().await;
    assert_eq!(get(&app, "/api/v1/alerts", &token).await.body["total"], 1);

    // A tampered or foreign token is refused and changes nothing.
    let forged = format!("{all_mail}x");
    let refused = app.call(Method::POST, &forged, None, None).await;
    assert_problem(&refused, StatusCode::BAD_REQUEST, "tampered token");
    let missing = app
        .call(Method::GET, "/api/v1/unsubscribe", None, None)
        .await;
    assert_problem(&missing, StatusCode::BAD_REQUEST, "no token");
}

/// Matches every waiting catalogue event.
async fn match_all(app: &App, pipeline: &dealpulse::runtime::AlertPipeline) {
    while dealpulse_alerts::worker::pump_events(
        &pipeline.matcher,
        app.runtime.events_queue.as_ref(),
        10,
    )
    .await
    .unwrap()
        > 0
    {}
}

/// Sends every waiting delivery.
async fn deliver_all(app: &App, pipeline: &dealpulse::runtime::AlertPipeline) {
    while dealpulse_alerts::worker::pump_deliveries(
        &pipeline.deliverer,
        app.runtime.queue.as_ref(),
        std::time::Duration::from_secs(60),
    )
    .await
    .unwrap()
        > 0
    {}
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn administrators_retry_failed_deliveries_and_redrive_dead_letters() {
    use dealpulse_domain::mail::OutboxReader;
    use dealpulse_domain::queue::Queue;
    use dealpulse_tests::alerts::listing_event_json;

    let app = app();
    let token = user(&app, "lee@example.com").await;
    let boss = user(&app, "boss@example.com").await;
    app.make_admin("boss@example.com").await;
    // Every admin route refuses everyone else, and says why.
    let doc = dealpulse_api::openapi::document_json();
    let mut admin_routes = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        if !path.starts_with("/api/v1/admin/") {
            continue;
        }
        for (method, operation) in item.as_object().unwrap() {
            let uri = path.replace("{id}", &"0".repeat(64));
            let body = operation.get("requestBody").map(|_| json!({}));
            let answer = app
                .call(
                    method.to_uppercase().parse().unwrap(),
                    &uri,
                    Some(&token),
                    body,
                )
                .await;
            assert_problem(&answer, StatusCode::FORBIDDEN, &format!("{method} {path}"));
            assert!(answer.body["type"]
                .as_str()
                .unwrap()
                .ends_with("admin-only"));
            admin_routes += 1;
        }
    }
    assert_eq!(admin_routes, 24);

    // An alert whose rule is paused before it is sent fails for good.
    let rule = post(
        &app,
        RULES,
        &token,
        json!({"name": "Tents", "query": "tent"}),
    )
    .await;
    let rule_path = format!("{RULES}/{}", created(&rule));
    let pipeline = app.runtime.alerts();
    let deliver_all = || deliver_all(&app, &pipeline);
    app.runtime
        .events_queue
        .send_batch(&[listing_event_json("Two-person tent", usd("129"))])
        .await
        .unwrap();
    match_all(&app, &pipeline).await;
    let paused = post(&app, &format!("{rule_path}/pause"), &token, json!({})).await;
    assert_eq!(paused.status, StatusCode::OK, "{}", paused.body);
    deliver_all().await;
    let outbox = app.runtime.outbox.as_ref().unwrap();
    let tent_mails = || async {
        outbox
            .recent(50)
            .await
            .unwrap()
            .into_iter()
            .filter(|mail| mail.subject.contains("Two-person tent"))
            .collect::<Vec<_>>()
    };
    assert!(tent_mails().await.is_empty());

    let failed = get(&app, "/api/v1/admin/deliveries/failed", &boss).await;
    assert_eq!(failed.status, StatusCode::OK, "{}", failed.body);
    assert_eq!(failed.body["total"], 1, "{}", failed.body);
    let item = &failed.body["items"][0];
    assert_eq!(item["channel"], "email");
    assert_eq!(item["title"], "Two-person tent");
    assert_eq!(item["reason"], "the rules that matched were turned off");
    let retry = format!(
        "/api/v1/admin/deliveries/failed/{}/retry",
        item["id"].as_str().unwrap()
    );
    // Fixed (the rule resumed), then retried: sent once, and gone from the list.
    post(&app, &format!("{rule_path}/resume"), &token, json!({})).await;
    let retried = post(&app, &retry, &boss, json!({})).await;
    assert_eq!(retried.status, StatusCode::ACCEPTED, "{}", retried.body);
    deliver_all().await;
    assert_eq!(tent_mails().await.len(), 1);
    let again = post(&app, &retry, &boss, json!({})).await;
    assert_problem(&again, StatusCode::NOT_FOUND, "retried already");
    let empty = get(&app, "/api/v1/admin/deliveries/failed", &boss).await;
    assert_eq!(empty.body["total"], 0);
    let log = get(&app, "/api/v1/alerts", &token).await;
    assert_eq!(log.body["items"][0]["deliveries"][0]["status"], "sent");

    // Dead letters: listed without being taken out, then moved back; unreadable ones too.
    app.runtime
        .dead_letters
        .send_batch(&["not a task".to_string()])
        .await
        .unwrap();
    let letters = get(&app, "/api/v1/admin/deliveries/dead-letters", &boss).await;
    assert_eq!(letters.status, StatusCode::OK, "{}", letters.body);
    assert_eq!(letters.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(letters.body["items"][0]["delivery_id"], Value::Null);
    assert_eq!(app.runtime.dead_letters.depth().await.unwrap(), 1);
    let bad = post(
        &app,
        "/api/v1/admin/deliveries/dead-letters/redrive",
        &boss,
        json!({"max": 5000}),
    )
    .await;
    assert_problem(&bad, StatusCode::UNPROCESSABLE_ENTITY, "max too large");
    let moved = post(
        &app,
        "/api/v1/admin/deliveries/dead-letters/redrive",
        &boss,
        json!({}),
    )
    .await;
    assert_eq!(moved.status, StatusCode::OK, "{}", moved.body);
    assert_eq!(moved.body["moved"].as_array().unwrap().len(), 1);
    assert_eq!(app.runtime.dead_letters.depth().await.unwrap(), 0);
    assert_eq!(app.runtime.queue.depth().await.unwrap(), 1);
    let audit = get(&app, "/api/v1/me/audit", &boss).await;
    let actions: Vec<&str> = audit.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| event["action"].as_str().unwrap())
        .collect();
    assert!(actions.contains(&"admin.delivery.retry"), "{actions:?}");
    assert!(actions.contains(&"admin.dead_letters.redrive"));
}
