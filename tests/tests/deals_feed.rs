//! The deals feed in local mode: recent public listings (and the caller's own inbox deals),
//! searched, filtered by category, sorted four ways, paged, with category counts; listings hidden
//! by a confirmed report and other users' inbox deals left out; bad parameters refused.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::http::{Method, StatusCode};
use dealpulse_conformance::store::sample_listing;
use dealpulse_domain::account::Email;
use dealpulse_domain::listing::{Category, Listing};
use dealpulse_domain::money::{Currency, Money};
use dealpulse_domain::ports::{CatalogRepository, UserRepository};
use dealpulse_tests::local_app::{app, assert_problem, Answer, App};
use jiff::{SignedDuration, Timestamp};
use serde_json::{json, Value};

const PASSWORD: &str = "a long enough password";

fn usd(amount: &str) -> Money {
    Money::parse(amount, Currency::parse("USD").unwrap()).unwrap()
}

struct Deal {
    title: &'static str,
    description: &'static str,
    price: &'static str,
    was: Option<&'static str>,
    category: Option<Category>,
    score: Option<u8>,
    hours_ago: i64,
}

async fn put(app: &App, deal: Deal) -> Listing {
    let mut listing = sample_listing(
        deal.title,
        Timestamp::now()
            .checked_sub(SignedDuration::from_hours(deal.hours_ago))
            .unwrap(),
    );
    listing.description = deal.description.into();
    listing.price = usd(deal.price);
    listing.was_price = deal.was.map(usd);
    listing.category = deal.category;
    listing.score = deal.score;
    app.runtime.store.put_listing(&listing).await.unwrap();
    listing
}

async fn feed(app: &App, token: &str, query: &str) -> Answer {
    app.call(
        Method::GET,
        &format!("/api/v1/deals{query}"),
        Some(token),
        None,
    )
    .await
}

fn titles(answer: &Answer) -> Vec<String> {
    answer.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["title"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_feed_searches_filters_sorts_and_pages_recent_public_deals() {
    let app = app();
    let (token, _) = app.verified_user("reader@example.com", PASSWORD).await;
    let (other, _) = app.verified_user("other@example.com", PASSWORD).await;
    let pc = put(
        &app,
        Deal {
            title: "Gaming PC RTX 4070",
            description: "Ryzen 7, 32 GB",
            price: "749.99",
            was: Some("999.99"),
            category: Some(Category::Computers),
            score: Some(82),
            hours_ago: 5,
        },
    )
    .await;
    put(
        &app,
        Deal {
            title: "Mechanical keyboard",
            description: "Brown switches, for gaming",
            price: "59.00",
            was: Some("89.00"),
            category: Some(Category::Computers),
            score: Some(40),
            hours_ago: 1,
        },
    )
    .await;
    put(
        &app,
        Deal {
            title: "Game console OLED bundle",
            description: "Café edition with two GAMING controllers",
            price: "299.00",
            was: None,
            category: Some(Category::Gaming),
            score: None,
            hours_ago: 30,
        },
    )
    .await;
    put(
        &app,
        Deal {
            title: "Air fryer",
            description: "5.5 l",
            price: "79.00",
            was: Some("129.00"),
            category: Some(Category::Kitchen),
            score: Some(90),
            hours_ago: 3,
        },
    )
    .await;
    put(
        &app,
        Deal {
            title: "Gaming chair, last month",
            description: "",
            price: "99.00",
            was: None,
            category: Some(Category::Furniture),
            score: Some(99),
            hours_ago: 24 * 10,
        },
    )
    .await;
    // Another user's inbox deal is theirs alone; the caller's own shows.
    let reader = app
        .runtime
        .store
        .user_by_email(&Email::parse("reader@example.com").unwrap())
        .await
        .unwrap()
        .unwrap();
    let mut mine = sample_listing("Gaming mouse from my newsletter", Timestamp::now());
    mine.audience = Some(reader.id);
    app.runtime.store.put_listing(&mine).await.unwrap();
    let other_user = app
        .runtime
        .store
        .user_by_email(&Email::parse("other@example.com").unwrap())
        .await
        .unwrap()
        .unwrap();
    let mut theirs = sample_listing("Gaming headset from their newsletter", Timestamp::now());
    theirs.audience = Some(other_user.id);
    app.runtime.store.put_listing(&theirs).await.unwrap();

    // Default: the last 7 days, newest first.
    let all = feed(&app, &token, "").await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.body);
    assert_eq!(
        titles(&all),
        [
            "Gaming mouse from my newsletter",
            "Mechanical keyboard",
            "Air fryer",
            "Gaming PC RTX 4070",
            "Game console OLED bundle"
        ]
    );
    assert_eq!(all.body["total"], 5);
    assert_eq!(all.body["next_cursor"], Value::Null);
    let first = &all.body["items"][3];
    assert_eq!(first["id"], pc.id.to_string());
    assert_eq!(first["source"], "conformance");
    assert_eq!(
        first["price"],
        json!({"amount": "749.99", "currency": "USD"})
    );
    assert_eq!(first["was_price"]["amount"], "999.99");
    assert_eq!(first["discount_percent"], 25);
    assert_eq!(first["category"], "computers");
    assert_eq!(first["condition"], "new");
    assert_eq!(first["score"], 82);
    assert!(first.get("flight").is_none() && first.get("location").is_none());
    assert_eq!(all.body["items"][4]["discount_percent"], Value::Null);
    let other_view = feed(&app, &other, "").await;
    assert!(titles(&other_view).contains(&"Gaming headset from their newsletter".to_string()));
    assert!(!titles(&other_view).contains(&"Gaming mouse from my newsletter".to_string()));

    // Every search word must appear in the title or the description, whatever the case/accents.
    let gaming = feed(&app, &token, "?q=GAMING").await;
    assert_eq!(
        titles(&gaming),
        [
            "Gaming mouse from my newsletter",
            "Mechanical keyboard",
            "Gaming PC RTX 4070",
            "Game console OLED bundle"
        ]
    );
    let cafe = feed(&app, &token, "?q=cafe%20gaming").await;
    assert_eq!(titles(&cafe), ["Game console OLED bundle"]);
    // Category counts cover the search before the category filter.
    let computers = feed(
        &app,
        &token,
        "?q=gaming&category=computers,gaming&sort=price",
    )
    .await;
    assert_eq!(
        titles(&computers),
        [
            "Mechanical keyboard",
            "Game console OLED bundle",
            "Gaming mouse from my newsletter",
            "Gaming PC RTX 4070"
        ]
    );
    let computers_only = feed(&app, &token, "?q=gaming&category=computers").await;
    assert_eq!(computers_only.body["total"], 3);
    assert_eq!(
        computers_only.body["categories"],
        json!([{"category": "computers", "count": 3}, {"category": "gaming", "count": 1}])
    );

    // Sorted by score and by discount, highest first; a longer window reaches older deals.
    let by_score = feed(&app, &token, "?sort=score&days=30").await;
    assert_eq!(
        &titles(&by_score)[..3],
        [
            "Gaming chair, last month",
            "Air fryer",
            "Gaming PC RTX 4070"
        ]
    );
    let by_discount = feed(&app, &token, "?sort=discount").await;
    assert_eq!(
        &titles(&by_discount)[..3],
        [
            "Air fryer",
            "Mechanical keyboard",
            "Gaming mouse from my newsletter"
        ]
    );

    // Pages follow each other; a cursor belongs to its sort order.
    let page1 = feed(&app, &token, "?limit=2").await;
    assert_eq!(titles(&page1), titles(&all)[..2]);
    let cursor = page1.body["next_cursor"].as_str().unwrap().to_string();
    let page2 = feed(&app, &token, &format!("?limit=2&cursor={cursor}")).await;
    assert_eq!(titles(&page2), titles(&all)[2..4]);
    let page3 = feed(
        &app,
        &token,
        &format!(
            "?limit=2&cursor={}",
            page2.body["next_cursor"].as_str().unwrap()
        ),
    )
    .await;
    assert_eq!(titles(&page3), titles(&all)[4..]);
    assert_eq!(page3.body["next_cursor"], Value::Null);
    let foreign = feed(&app, &token, &format!("?sort=price&cursor={cursor}")).await;
    assert_problem(
        &foreign,
        StatusCode::UNPROCESSABLE_ENTITY,
        "cursor of another sort",
    );

    // Bad parameters are problems naming the parameter.
    for (query, field) in [
        ("?sort=cheapest", "sort"),
        ("?category=computers,spaceships", "category"),
        ("?days=31", "days"),
        ("?days=0", "days"),
        ("?limit=101", "limit"),
        ("?cursor=garbage", "cursor"),
        ("?colour=red", "colour"),
        ("?limit=2&limit=3", "limit"),
    ] {
        let answer = feed(&app, &token, query).await;
        assert_problem(&answer, StatusCode::UNPROCESSABLE_ENTITY, query);
        assert_eq!(answer.body["errors"][0]["field"], field, "{query}");
    }
    let long = format!("?q={}", "a".repeat(201));
    assert_problem(
        &feed(&app, &token, &long).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "long search",
    );
    let anonymous = app.call(Method::GET, "/api/v1/deals", None, None).await;
    assert_problem(&anonymous, StatusCode::UNAUTHORIZED, "signed-in users only");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deal_hidden_by_a_confirmed_report_leaves_the_feed() {
    let app = app();
    let (token, _) = app.verified_user("reader@example.com", PASSWORD).await;
    app.verified_user("boss@example.com", PASSWORD).await;
    app.make_admin("boss@example.com").await;
    let boss = app.login("boss@example.com", PASSWORD).await.0;
    let tv = put(
        &app,
        Deal {
            title: "OLED TV 65 inch",
            description: "",
            price: "79.99",
            was: Some("1999.00"),
            category: Some(Category::Tv),
            score: Some(99),
            hours_ago: 1,
        },
    )
    .await;
    put(
        &app,
        Deal {
            title: "Coffee mug",
            description: "",
            price: "9.99",
            was: None,
            category: Some(Category::Kitchen),
            score: None,
            hours_ago: 2,
        },
    )
    .await;
    let report = app
        .call(
            Method::POST,
            &format!("/api/v1/deals/{}/reports", tv.id),
            Some(&token),
            Some(json!({"reason": "wrong_price"})),
        )
        .await;
    assert_eq!(report.status, StatusCode::CREATED, "{}", report.body);
    // An open report hides nothing.
    let before = feed(&app, &token, "").await;
    assert_eq!(titles(&before), ["OLED TV 65 inch", "Coffee mug"]);
    let closed = app
        .call(
            Method::POST,
            &format!(
                "/api/v1/admin/reports/{}/close",
                report.body["id"].as_str().unwrap()
            ),
            Some(&boss),
            Some(json!({"resolution": "confirmed"})),
        )
        .await;
    assert_eq!(closed.status, StatusCode::OK, "{}", closed.body);
    let after = feed(&app, &token, "").await;
    assert_eq!(titles(&after), ["Coffee mug"]);
    assert_eq!(after.body["total"], 1);
    assert_eq!(
        after.body["categories"],
        json!([{"category": "kitchen", "count": 1}])
    );
}
