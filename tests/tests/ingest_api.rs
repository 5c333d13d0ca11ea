//! The ingestion API end to end over HTTP in local mode: partner pushes with ingest-scoped API
//! keys (per-item results, idempotent re-sends, events only for new or re-priced listings, the
//! 500 cap) and the admin routes for feeds and host health.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::http::{Method, StatusCode};
use dealpulse_domain::events::{CatalogEvent, EventEnvelope};
use dealpulse_domain::ports::{CatalogRepository, SourceRepository};
use dealpulse_domain::queue::Queue;
use dealpulse_tests::local_app::{app, assert_problem, App};
use jiff::{SignedDuration, Timestamp};
use serde_json::{json, Value};
use std::time::Duration;

async fn admin(app: &App, email: &str) -> String {
    let (token, _) = app.verified_user(email, "a long enough password").await;
    app.make_admin(email).await;
    token
}

async fn events(app: &App) -> Vec<CatalogEvent> {
    let mut events = Vec::new();
    loop {
        let batch = app
            .runtime
            .events_queue
            .receive(10, Duration::from_secs(60))
            .await
            .unwrap();
        if batch.is_empty() {
            return events;
        }
        for message in batch {
            let envelope: EventEnvelope = serde_json::from_str(&message.body).unwrap();
            events.push(envelope.detail);
            app.runtime
                .events_queue
                .delete(&message.receipt)
                .await
                .unwrap();
        }
    }
}

fn item(id: &str, price: &str) -> Value {
    json!({
        "external_id": id,
        "title": format!("Gaming PC {id}"),
        "url": format!("https://partner.example.com/a/{id}"),
        "price": {"amount": price, "currency": "USD"},
        "category": "computers",
        "condition": "used",
        "location": {"lat": 42.36, "lon": -71.06}
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partners_push_listings_with_ingest_keys_and_get_a_result_per_item() {
    let app = app();
    let boss = admin(&app, "admin@example.com").await;
    let (user, _) = app
        .verified_user("someone@example.com", "a long enough password")
        .await;

    // Only admins make ingest keys, and only with a source.
    let keys = "/api/v1/me/api-keys";
    let ingest_key = |name: &str, source: Option<&str>| {
        let mut body = json!({"name": name, "scopes": ["ingest"]});
        if let Some(source) = source {
            body["source"] = json!(source);
        }
        body
    };
    assert_problem(
        &app.call(
            Method::POST,
            keys,
            Some(&user),
            Some(ingest_key("p", Some("partner-acme"))),
        )
        .await,
        StatusCode::FORBIDDEN,
        "user makes an ingest key",
    );
    for bad in [
        ingest_key("p", None),
        ingest_key("p", Some("Not A Name!")),
        json!({"name": "p", "scopes": ["account", "ingest"], "source": "partner-acme"}),
        json!({"name": "p", "scopes": ["everything"]}),
        json!({"name": "p", "source": "partner-acme"}),
    ] {
        assert_problem(
            &app.call(Method::POST, keys, Some(&boss), Some(bad.clone()))
                .await,
            StatusCode::UNPROCESSABLE_ENTITY,
            &bad.to_string(),
        );
    }
    let created = app
        .call(
            Method::POST,
            keys,
            Some(&boss),
            Some(ingest_key("Acme feed", Some("partner-acme"))),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.body["scopes"], json!(["ingest"]));
    assert_eq!(created.body["source"], "partner-acme");
    let partner = created.body["key"].as_str().unwrap().to_string();
    let account_key = app.create_api_key(&user, "mine").await.body["key"]
        .as_str()
        .unwrap()
        .to_string();

    // An ingest key does nothing else; nothing else pushes.
    assert_problem(
        &app.call(Method::GET, "/api/v1/me", Some(&partner), None)
            .await,
        StatusCode::FORBIDDEN,
        "ingest key on /me",
    );
    let push = "/api/v1/ingest/listings";
    let batch = json!({"listings": [item("1", "749.00")]});
    for (who, credential) in [("session", &user), ("account key", &account_key)] {
        assert_problem(
            &app.call(Method::POST, push, Some(credential), Some(batch.clone()))
                .await,
            StatusCode::FORBIDDEN,
            who,
        );
    }

    // A mixed batch: valid items are stored, the others say why.
    let mixed = json!({"listings": [
        item("1", "749.00"),
        {"external_id": "2", "title": "Road bike", "url": "https://partner.example.com/a/2",
         "price": {"amount": "350", "currency": "EUR"}, "location": "Berlin, DE", "condition": "like new"},
        {"title": "Sneaky", "url": "javascript:alert(1)", "price": {"amount": "1", "currency": "USD"}},
        {"title": "Odd", "url": "https://partner.example.com/a/4", "price": {"amount": "-5", "currency": "USD"}},
        {"title": "Strange", "url": "https://partner.example.com/a/5", "price": {"amount": "5", "currency": "USD"}, "category": "knitting"},
        "not even an object"
    ]});
    let answer = app
        .call(Method::POST, push, Some(&partner), Some(mixed))
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(answer.body["source"], "partner-acme");
    assert_eq!(answer.body["accepted"], 2);
    assert_eq!(answer.body["rejected"], 4);
    let results = answer.body["results"].as_array().unwrap();
    let statuses: Vec<&str> = results
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        ["created", "created", "rejected", "rejected", "rejected", "rejected"]
    );
    assert_eq!(results[2]["errors"][0]["field"], "url");
    assert_eq!(results[4]["errors"][0]["field"], "category");
    let bike_id = results[1]["listing_id"].as_str().unwrap().parse().unwrap();
    let bike = app
        .runtime
        .store
        .listing_by_id(bike_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(bike.source.as_str(), "partner-acme");
    assert!((bike.location.unwrap().lat() - 52.5).abs() < 0.5);
    let announced = events(&app).await;
    assert_eq!(announced.len(), 2, "{announced:?}");

    // The same items again change nothing; a new price is one update and one event.
    let again = app
        .call(
            Method::POST,
            push,
            Some(&partner),
            Some(json!({"listings": [item("1", "749.00")]})),
        )
        .await;
    assert_eq!(again.body["results"][0]["status"], "unchanged");
    assert_eq!(
        again.body["results"][0]["listing_id"],
        results[0]["listing_id"]
    );
    assert!(events(&app).await.is_empty());
    let cheaper = app
        .call(
            Method::POST,
            push,
            Some(&partner),
            Some(json!({"listings": [item("1", "699.00")]})),
        )
        .await;
    assert_eq!(cheaper.body["results"][0]["status"], "updated");
    match events(&app).await.as_slice() {
        [CatalogEvent::ListingObserved {
            previous_price,
            listing,
        }] => {
            assert_eq!(previous_price.unwrap().to_string(), "749.00 USD");
            assert_eq!(listing.price.to_string(), "699.00 USD");
        }
        other => panic!("{other:?}"),
    }

    // Batches are 1 to 500 listings; a refused batch stores nothing.
    let since = Timestamp::now()
        .checked_sub(SignedDuration::from_hours(1))
        .unwrap();
    let before = app
        .runtime
        .store
        .listings_seen_since(since, 5000)
        .await
        .unwrap()
        .len();
    let too_many: Vec<Value> = (0..501)
        .map(|i| item(&format!("bulk-{i}"), "10.00"))
        .collect();
    assert_problem(
        &app.call(
            Method::POST,
            push,
            Some(&partner),
            Some(json!({"listings": too_many})),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "501 listings",
    );
    assert_problem(
        &app.call(
            Method::POST,
            push,
            Some(&partner),
            Some(json!({"listings": []})),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "no listings",
    );
    assert_eq!(
        app.runtime
            .store
            .listings_seen_since(since, 5000)
            .await
            .unwrap()
            .len(),
        before
    );
    let full: Vec<Value> = (0..500)
        .map(|i| item(&format!("bulk-{i}"), "10.00"))
        .collect();
    let accepted = app
        .call(
            Method::POST,
            push,
            Some(&partner),
            Some(json!({"listings": full})),
        )
        .await;
    assert_eq!(accepted.status, StatusCode::OK, "{}", accepted.body);
    assert_eq!(accepted.body["accepted"], 500);
    assert_eq!(events(&app).await.len(), 500);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn administrators_register_feeds_and_read_host_health() {
    let app = app();
    let boss = admin(&app, "admin@example.com").await;
    let (user, _) = app
        .verified_user("someone@example.com", "a long enough password")
        .await;
    let feeds = "/api/v1/ingest/feeds";
    let feed = json!({"name": "cl-boston", "url": "https://boston.example.org/search/sya?format=rss",
        "currency": "USD", "category": "computers", "interval_minutes": 30});
    assert_problem(
        &app.call(Method::POST, feeds, Some(&user), Some(feed.clone()))
            .await,
        StatusCode::FORBIDDEN,
        "not an admin",
    );
    assert_problem(
        &app.call(Method::GET, "/api/v1/ingest/hosts", Some(&user), None)
            .await,
        StatusCode::FORBIDDEN,
        "not an admin",
    );
    let invalid = app
        .call(
            Method::POST,
            feeds,
            Some(&boss),
            Some(
                json!({"name": "Bad Name", "url": "http://10.0.0.1/feed", "format": "xml",
                "currency": "XXQ", "interval_minutes": 1, "category": "stuff"}),
            ),
        )
        .await;
    assert_problem(&invalid, StatusCode::UNPROCESSABLE_ENTITY, "bad feed");
    let fields: Vec<&str> = invalid.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    for field in [
        "name",
        "url",
        "format",
        "currency",
        "interval_minutes",
        "category",
    ] {
        assert!(fields.contains(&field), "{field} in {fields:?}");
    }
    assert_problem(
        &app.call(
            Method::POST,
            feeds,
            Some(&boss),
            Some(json!({"name": "api", "url": "https://x.example.com/api", "format": "json_api"})),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "json_api without mapping",
    );
    let created = app
        .call(Method::POST, feeds, Some(&boss), Some(feed.clone()))
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.body["interval_minutes"], 30);
    assert_eq!(created.body["next_check_at"], Value::Null, "due at once");
    let id = created.body["id"].as_str().unwrap().to_string();
    assert_problem(
        &app.call(Method::POST, feeds, Some(&boss), Some(feed)).await,
        StatusCode::CONFLICT,
        "same name",
    );
    let mapped = app
        .call(
            Method::POST,
            feeds,
            Some(&boss),
            Some(json!({
            "name": "market-api", "url": "https://market.example.com/api/listings",
            "format": "json_api",
            "mapping": {"items": "/data/results", "title": "/name", "price": "/cost/value",
                        "currency": "/cost/unit", "url": "/href"}})),
        )
        .await;
    assert_eq!(mapped.status, StatusCode::CREATED, "{}", mapped.body);
    let list = app.call(Method::GET, feeds, Some(&boss), None).await;
    let names: Vec<&str> = list.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["cl-boston", "market-api"]);

    let one = format!("{feeds}/{id}");
    let paused = app
        .call(
            Method::PATCH,
            &one,
            Some(&boss),
            Some(json!({"enabled": false, "interval_minutes": 120})),
        )
        .await;
    assert_eq!(paused.status, StatusCode::OK, "{}", paused.body);
    assert_eq!(paused.body["enabled"], false);
    assert_eq!(paused.body["interval_minutes"], 120);
    assert_problem(
        &app.call(
            Method::PATCH,
            &one,
            Some(&boss),
            Some(json!({"interval_minutes": 0})),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "interval 0",
    );
    assert_eq!(
        app.call(Method::DELETE, &one, Some(&boss), None)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_problem(
        &app.call(Method::GET, &one, Some(&boss), None).await,
        StatusCode::NOT_FOUND,
        "deleted",
    );

    app.runtime
        .store
        .record_check(
            "shop.example.com",
            dealpulse_domain::sources::CheckResult::Blocked,
            Some("captcha page"),
            Timestamp::now(),
        )
        .await
        .unwrap();
    let hosts = app
        .call(Method::GET, "/api/v1/ingest/hosts", Some(&boss), None)
        .await;
    assert_eq!(hosts.status, StatusCode::OK, "{}", hosts.body);
    assert_eq!(hosts.body["items"][0]["host"], "shop.example.com");
    assert_eq!(hosts.body["items"][0]["results"]["blocked"], 1);
    assert_eq!(
        hosts.body["items"][0]["last_failure_reason"],
        "captcha page"
    );
}

fn newsletter(from: &str, to: &str, extra_headers: &str) -> String {
    format!(
        "From: Fare Alerts <{from}>\r\nTo: {to}\r\nSubject: Deals from Boston\r\n{extra_headers}\
Date: Wed, 25 Nov 2026 08:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
Boston (BOS) to Lisbon (LIS) - $389 round trip, nonstop on TAP, March to May\r\n\
https://fares.example.com/deals/bos-lis\r\n\r\n\
Boston (BOS) to Dublin (DUB) - $345 round trip, nonstop on Aer Lingus, February\r\n\
New York to Paris from $299 roundtrip (1 stop, Delta) in January\r\n"
    )
}

async fn post_mail(app: &App, token: &str, raw: &str) -> dealpulse_tests::local_app::Answer {
    let request = axum::http::Request::builder()
        .method(Method::POST)
        .uri("/api/v1/ingest/email")
        .header(axum::http::header::AUTHORIZATION, format!("Bearer {token}"))
        .header(axum::http::header::CONTENT_TYPE, "message/rfc822")
        .body(axum::body::Body::from(raw.to_string()))
        .unwrap();
    app.send(request).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn newsletters_are_kept_recorded_and_their_deals_become_listings() {
    use dealpulse_domain::listing::Category;
    let app = app();
    let boss = admin(&app, "admin@example.com").await;
    let (user, _) = app
        .verified_user("traveller@example.com", "a long enough password")
        .await;
    let system = "deals@inbound.dealpulse.test";

    // The system address, from an allowed sender: three deals, three listings, three events.
    let accepted = post_mail(
        &app,
        &boss,
        &newsletter("news@fares.example.com", system, ""),
    )
    .await;
    assert_eq!(accepted.status, StatusCode::CREATED, "{}", accepted.body);
    assert_eq!(accepted.body["status"], "accepted");
    assert_eq!(accepted.body["deals"], 3);
    assert_eq!(accepted.body["to"], system);
    let announced = events(&app).await;
    assert_eq!(announced.len(), 3);
    let lisbon = announced
        .iter()
        .find_map(|e| match e {
            CatalogEvent::ListingObserved { listing, .. }
                if listing
                    .flight
                    .as_ref()
                    .is_some_and(|f| f.destination == "LIS") =>
            {
                Some(listing.clone())
            }
            _ => None,
        })
        .unwrap();
    assert_eq!(lisbon.category, Some(Category::Flights));
    assert_eq!(lisbon.price.to_string(), "389.00 USD");
    assert_eq!(lisbon.url, "https://fares.example.com/deals/bos-lis");
    assert_eq!(lisbon.source.as_str(), "mail-fares-example-com");
    assert_eq!(lisbon.audience, None, "the system's deals are for everyone");
    let flight = lisbon.flight.as_ref().unwrap();
    assert_eq!((flight.origin.as_str(), flight.stops), ("BOS", 0));
    assert!(flight.return_on.is_some(), "round trip");
    // The same newsletter again: recorded, but no listing is new.
    let again = post_mail(
        &app,
        &boss,
        &newsletter("news@fares.example.com", system, ""),
    )
    .await;
    assert_eq!(again.body["status"], "accepted");
    assert!(events(&app).await.is_empty());

    // Mail that does nothing is still kept and recorded, with the reason.
    for (raw, status) in [
        (newsletter("spam@elsewhere.example", system, ""), "sender_not_allowed"),
        (newsletter("news@fares.example.com", "someone@else.example", ""), "unknown_address"),
        (
            newsletter("news@fares.example.com", system, "X-SES-Spam-Verdict: FAIL\r\n"),
            "rejected",
        ),
        ("this is not an e-mail at all".to_string(), "unparseable"),
        (
            "From: news@fares.example.com\r\nTo: deals@inbound.dealpulse.test\r\nSubject: Hi\r\n\r\nNo deals this week, sorry!\r\n".to_string(),
            "no_deals",
        ),
    ] {
        let answer = post_mail(&app, &boss, &raw).await;
        assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
        assert_eq!(answer.body["status"], status, "{}", answer.body);
        assert!(answer.body["reason"].is_string(), "{}", answer.body);
        assert!(std::path::Path::new(answer.body["raw_ref"].as_str().unwrap()).exists());
    }
    assert!(events(&app).await.is_empty());

    // A personal address: private deals, its own allowlist, retired by rotation.
    let mine = app
        .call(
            Method::GET,
            "/api/v1/ingest/inbound-address",
            Some(&user),
            None,
        )
        .await;
    assert_eq!(mine.status, StatusCode::OK, "{}", mine.body);
    assert_eq!(mine.body["system_address"], system);
    let address = mine.body["address"].as_str().unwrap().to_string();
    assert!(address.ends_with("@inbound.dealpulse.test"));
    let set = app
        .call(
            Method::PUT,
            "/api/v1/ingest/inbound-address",
            Some(&user),
            Some(json!({"allowed_senders": ["@fares.example.com", "@FARES.example.com"]})),
        )
        .await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.body);
    assert_eq!(set.body["allowed_senders"], json!(["@fares.example.com"]));
    assert_problem(
        &app.call(
            Method::PUT,
            "/api/v1/ingest/inbound-address",
            Some(&user),
            Some(json!({"allowed_senders": ["not a sender"]})),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "bad sender",
    );
    let private = post_mail(
        &app,
        &boss,
        &newsletter("deals@mail.fares.example.com", &address, ""),
    )
    .await;
    assert_eq!(private.body["status"], "accepted", "{}", private.body);
    let private_events = events(&app).await;
    assert_eq!(private_events.len(), 3);
    let me = app.call(Method::GET, "/api/v1/me", Some(&user), None).await;
    for event in &private_events {
        let CatalogEvent::ListingObserved { listing, .. } = event else {
            panic!("{event:?}")
        };
        assert_eq!(
            listing.audience.map(|u| u.to_string()),
            me.body["id"].as_str().map(str::to_string),
            "deals from a personal address are for its owner"
        );
    }
    let stranger = post_mail(&app, &boss, &newsletter("x@other.example", &address, "")).await;
    assert_eq!(stranger.body["status"], "sender_not_allowed");
    let rotated = app
        .call(
            Method::POST,
            "/api/v1/ingest/inbound-address/rotate",
            Some(&user),
            None,
        )
        .await;
    assert_ne!(rotated.body["address"], address.as_str());
    let retired = post_mail(
        &app,
        &boss,
        &newsletter("news@fares.example.com", &address, ""),
    )
    .await;
    assert_eq!(retired.body["status"], "unknown_address");

    // Administrators see every message, newest first, and can filter by what became of it.
    let all = app
        .call(Method::GET, "/api/v1/ingest/mails", Some(&boss), None)
        .await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.body);
    let items = all.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 10);
    assert_eq!(items[0]["status"], "unknown_address", "newest first");
    let kept = std::fs::read_dir(app.dir.path().join("inbound"))
        .unwrap()
        .count();
    assert_eq!(kept, 10, "every raw message is kept");
    let unparseable = app
        .call(
            Method::GET,
            "/api/v1/ingest/mails?status=unparseable",
            Some(&boss),
            None,
        )
        .await;
    assert_eq!(unparseable.body["items"].as_array().unwrap().len(), 1);
    let one = app
        .call(
            Method::GET,
            &format!("/api/v1/ingest/mails/{}", items[0]["id"].as_str().unwrap()),
            Some(&boss),
            None,
        )
        .await;
    assert_eq!(one.status, StatusCode::OK);
    assert_problem(
        &app.call(
            Method::GET,
            "/api/v1/ingest/mails?status=lost",
            Some(&boss),
            None,
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unknown status",
    );

    // Only administrators hand over mail, as message/rfc822, not empty.
    assert_problem(
        &post_mail(
            &app,
            &user,
            &newsletter("news@fares.example.com", system, ""),
        )
        .await,
        StatusCode::FORBIDDEN,
        "not an admin",
    );
    assert_problem(
        &app.call(
            Method::POST,
            "/api/v1/ingest/email",
            Some(&boss),
            Some(json!({"raw": "x"})),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "JSON instead of a message",
    );
    assert_problem(
        &post_mail(&app, &boss, "  \r\n").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "empty",
    );
    assert_eq!(
        std::fs::read_dir(app.dir.path().join("inbound"))
            .unwrap()
            .count(),
        10,
        "refused requests keep nothing"
    );
}
