//! Watching pages the way the dashboard does: previewing a page before watching it (fetched
//! through the guarded fetcher and read as a check reads it), the demo shop that `serve --demo`
//! mounts being watchable while other local addresses stay refused, and "check now" feeding
//! the scraper, the matcher and delivery.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use async_trait::async_trait;
use axum::http::{header, Method, StatusCode};
use dealpulse_api::state::WatchlistState;
use dealpulse_domain::ports::{CatalogRepository, SourceRepository};
use dealpulse_domain::preview::{PagePreview, PagePreviewer, PreviewError};
use dealpulse_domain::sources::SelectorOverrides;
use dealpulse_tests::local_app::{app, assert_problem, demo_app, Answer, App};
use jiff::{SignedDuration, Timestamp};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

async fn user(app: &App, email: &str) -> String {
    app.verified_user(email, "a long enough password").await.0
}

async fn post(app: &App, path: &str, token: &str, body: Option<Value>) -> Answer {
    app.call(Method::POST, path, Some(token), body).await
}

fn port_of(base: &str) -> u16 {
    base.rsplit(':').next().unwrap().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_shop_is_watchable_in_local_demo_mode_and_other_local_addresses_are_not() {
    let app = demo_app().await;
    let base = app.base_url.clone().unwrap();
    let token = user(&app, "shopper@example.com").await;
    let page = format!("{base}/demo-shop/p/robot-vacuum-r5");

    // Given the demo shop's page, when it is watched by URL, then the tracked product is used.
    let created = post(
        &app,
        "/api/v1/watchlist/items",
        &token,
        Some(json!({"url": page, "trigger": {"kind": "any_drop"}})),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let seeded = app
        .runtime
        .store
        .product_by_url(&page)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(created.body["product"]["id"], seeded.id.to_string());
    assert_eq!(created.body["product"]["url"], page);

    // A listing of the demo shop's feed can be watched too.
    let mut deal =
        dealpulse_conformance::store::sample_listing("Air fryer 5.5 l", Timestamp::now());
    deal.url = format!("{base}/demo-shop/deals/air-fryer");
    app.runtime.store.put_listing(&deal).await.unwrap();
    let from_listing = post(
        &app,
        "/api/v1/watchlist/items",
        &token,
        Some(json!({"listing_id": deal.id.to_string(), "trigger": {"kind": "any_drop"}})),
    )
    .await;
    assert_eq!(
        from_listing.status,
        StatusCode::CREATED,
        "{}",
        from_listing.body
    );
    assert_eq!(from_listing.body["product"]["url"], deal.url);

    // Loopback on another port, the API beside the shop, and a listing elsewhere on this
    // machine are still refused, and nothing is stored for them.
    let other_port = format!(
        "http://127.0.0.1:{}/demo-shop/p/robot-vacuum-r5",
        dealpulse_tests::free_port()
    );
    let mut refused_urls = vec![
        other_port.clone(),
        format!("{base}/api/v1/dev/outbox"),
        format!("{base}/demo-shop/../api/v1/dev/outbox"),
        "http://localhost/demo-shop/p/robot-vacuum-r5".to_string(),
    ];
    for url in refused_urls.drain(..) {
        let refused = post(
            &app,
            "/api/v1/watchlist/items",
            &token,
            Some(json!({"url": url, "trigger": {"kind": "any_drop"}})),
        )
        .await;
        assert_problem(&refused, StatusCode::UNPROCESSABLE_ENTITY, &url);
        assert_eq!(refused.body["errors"][0]["field"], "url", "{url}");
        assert!(app
            .runtime
            .store
            .product_by_url(&url)
            .await
            .unwrap()
            .is_none());
    }
    let mut elsewhere = dealpulse_conformance::store::sample_listing("Kettle", Timestamp::now());
    elsewhere.url = other_port.clone();
    app.runtime.store.put_listing(&elsewhere).await.unwrap();
    let refused = post(
        &app,
        "/api/v1/watchlist/items",
        &token,
        Some(json!({"listing_id": elsewhere.id.to_string(), "trigger": {"kind": "any_drop"}})),
    )
    .await;
    assert_problem(
        &refused,
        StatusCode::UNPROCESSABLE_ENTITY,
        "listing elsewhere",
    );
    assert_eq!(refused.body["errors"][0]["field"], "listing_id");
    let list = app
        .call(Method::GET, "/api/v1/watchlist", Some(&token), None)
        .await;
    assert_eq!(list.body["total"], 2);

    // Outside demo mode (no trusted shops, as on Lambda) the same page is refused.
    let plain = dealpulse_tests::local_app::app();
    let plain_token = user(&plain, "shopper@example.com").await;
    let refused = post(
        &plain,
        "/api/v1/watchlist/items",
        &plain_token,
        Some(json!({"url": page, "trigger": {"kind": "any_drop"}})),
    )
    .await;
    assert_problem(
        &refused,
        StatusCode::UNPROCESSABLE_ENTITY,
        "no trusted shops",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_preview_reads_the_page_as_a_check_would_and_says_whether_it_is_watched() {
    let app = demo_app().await;
    let base = app.base_url.clone().unwrap();
    let token = user(&app, "shopper@example.com").await;
    let espresso = format!("{base}/demo-shop/p/espresso-machine-x1");
    let preview = |url: String| {
        let app = &app;
        let token = token.clone();
        async move {
            post(
                app,
                "/api/v1/watchlist/preview",
                &token,
                Some(json!({ "url": url })),
            )
            .await
        }
    };

    let seen = preview(format!("{espresso}#reviews")).await;
    assert_eq!(seen.status, StatusCode::OK, "{}", seen.body);
    assert_eq!(seen.body["url"], espresso, "canonical: no fragment");
    assert_eq!(seen.body["host"], "127.0.0.1");
    assert_eq!(seen.body["title"], "Espresso machine X1");
    assert_eq!(seen.body["price"]["currency"], "EUR");
    let amount: f64 = seen.body["price"]["amount"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    // The shop sells at 75–100 % of the list price, rounded down to .99: 260.99 to 349.00.
    assert!((260.99..=349.0).contains(&amount), "{amount}");
    assert_eq!(seen.body["in_stock"], true);
    assert_eq!(seen.body["extracted_by"], "json_ld");
    assert_eq!(seen.body["methods"]["price"], "json_ld");
    let tracked = app
        .runtime
        .store
        .product_by_url(&espresso)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        seen.body["already_tracked_product"]["id"],
        tracked.id.to_string()
    );
    assert_eq!(seen.body["already_watching"], false);
    assert_eq!(seen.headers["ratelimit-limit"], "30");
    let before = app.runtime.store.product_by_id(tracked.id).await.unwrap();
    assert_eq!(before, Some(tracked.clone()), "a preview stores nothing");

    // Once watched, the preview says so.
    let watched = post(
        &app,
        "/api/v1/watchlist/items",
        &token,
        Some(json!({"url": espresso, "trigger": {"kind": "any_drop"}})),
    )
    .await;
    assert_eq!(watched.status, StatusCode::CREATED, "{}", watched.body);
    assert_eq!(
        preview(espresso.clone()).await.body["already_watching"],
        true
    );

    // Another markup, another method.
    let headphones = preview(format!("{base}/demo-shop/p/noise-cancelling-headphones")).await;
    assert_eq!(headphones.status, StatusCode::OK, "{}", headphones.body);
    assert_eq!(headphones.body["extracted_by"], "microdata");
    assert_eq!(headphones.body["price"]["currency"], "USD");

    // A page the shop does not have: 422 (the address is the caller's input) without internals.
    let missing = preview(format!("{base}/demo-shop/p/no-such-thing")).await;
    assert_problem(&missing, StatusCode::UNPROCESSABLE_ENTITY, "missing page");
    assert!(missing.body["type"]
        .as_str()
        .unwrap()
        .ends_with("page-unreadable"));
    assert_eq!(
        missing.body["detail"],
        "the page could not be read: the site answered 404 (not found)"
    );
    assert!(!missing.body.to_string().contains("127.0.0.1"));

    // What a watch may not use, a preview may not fetch.
    for url in [
        format!("http://127.0.0.1:{}/", dealpulse_tests::free_port()),
        format!("{base}/api/v1/dev/outbox"),
        "http://169.254.169.254/latest/meta-data/".to_string(),
        "not a url".to_string(),
    ] {
        let refused = preview(url.clone()).await;
        assert_problem(&refused, StatusCode::UNPROCESSABLE_ENTITY, &url);
        assert_eq!(refused.body["errors"][0]["field"], "url");
    }
}

/// A previewer that answers without fetching: a page with `price`, or `error`.
struct Fixed {
    price: Option<&'static str>,
    error: Option<&'static str>,
}

#[async_trait]
impl PagePreviewer for Fixed {
    async fn preview(
        &self,
        _url: &url::Url,
        _selectors: Option<&SelectorOverrides>,
    ) -> Result<PagePreview, PreviewError> {
        if let Some(error) = self.error {
            return Err(PreviewError::Unreadable(error.into()));
        }
        let usd = dealpulse_domain::money::Currency::parse("USD").unwrap();
        Ok(PagePreview {
            title: Some("Kettle".into()),
            price: self
                .price
                .map(|p| dealpulse_domain::money::Money::parse(p, usd).unwrap()),
            ..PagePreview::default()
        })
    }
}

/// `app` answering the watchlist routes with `previewer` instead of the fetching one.
fn with_previewer(app: &mut App, previewer: Fixed) {
    let routes = dealpulse_api::routes::watchlist::router(WatchlistState {
        core: app.runtime.core.clone(),
        previewer: Arc::new(previewer),
    });
    app.router = dealpulse_api::with_common_layers(
        routes,
        dealpulse_api::observability::MetricsSink::Registry(Arc::default()),
        None,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_without_a_price_is_a_422_and_previews_are_rate_limited_per_user() {
    let mut app = app();
    let token = user(&app, "shopper@example.com").await;
    let other = user(&app, "other@example.com").await;
    let body = || Some(json!({"url": "https://shop.example.com/kettle"}));

    with_previewer(
        &mut app,
        Fixed {
            price: None,
            error: None,
        },
    );
    let no_price = post(&app, "/api/v1/watchlist/preview", &token, body()).await;
    assert_problem(&no_price, StatusCode::UNPROCESSABLE_ENTITY, "no price");
    assert!(no_price.body["type"]
        .as_str()
        .unwrap()
        .ends_with("no-price"));
    assert_eq!(no_price.body["detail"], "no price found on the page");
    assert_eq!(no_price.body["errors"][0]["field"], "url");

    with_previewer(
        &mut app,
        Fixed {
            price: None,
            error: Some("the site refused the request"),
        },
    );
    let refused = post(&app, "/api/v1/watchlist/preview", &token, body()).await;
    assert_problem(&refused, StatusCode::UNPROCESSABLE_ENTITY, "refused");
    assert_eq!(
        refused.body["detail"],
        "the page could not be read: the site refused the request"
    );

    with_previewer(
        &mut app,
        Fixed {
            price: Some("39.99"),
            error: None,
        },
    );
    // Fixed windows of a minute: start well inside one so the count below is not split.
    let second = Timestamp::now().as_second().rem_euclid(60);
    if second > 50 {
        tokio::time::sleep(Duration::from_secs((61 - second) as u64)).await;
    }
    let mut served = 0;
    let limited = loop {
        let answer = post(&app, "/api/v1/watchlist/preview", &token, body()).await;
        if answer.status != StatusCode::OK {
            break answer;
        }
        assert_eq!(answer.body["price"]["amount"], "39.99");
        assert_eq!(answer.body["already_tracked_product"], Value::Null);
        served += 1;
        assert!(served <= 30, "no limit after {served} previews");
    };
    assert_problem(&limited, StatusCode::TOO_MANY_REQUESTS, "31st preview");
    assert!(limited.headers.contains_key(header::RETRY_AFTER));
    assert!(served >= 28, "limited after {served}");
    // Another user has their own allowance.
    let theirs = post(&app, "/api/v1/watchlist/preview", &other, body()).await;
    assert_eq!(theirs.status, StatusCode::OK, "{}", theirs.body);
}

/// Matches every waiting catalogue event and sends every delivery it queued.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_now_gets_a_watch_its_alert_at_the_next_scrape_and_cannot_hammer_the_shop() {
    use dealpulse_domain::mail::OutboxReader;
    let app = demo_app().await;
    let base = app.base_url.clone().unwrap();
    let token = user(&app, "shopper@example.com").await;
    let page = format!("{base}/demo-shop/p/4k-monitor-27");
    // The shop's price never exceeds the list price (379.00 USD): this target is met now.
    let created = post(
        &app,
        "/api/v1/watchlist/items",
        &token,
        Some(json!({"url": page, "trigger": {"kind": "target_price", "price": {"amount": "380", "currency": "USD"}}})),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let item = format!(
        "/api/v1/watchlist/items/{}",
        created.body["id"].as_str().unwrap()
    );
    // Given the product is not due for hours (as after a check on a long interval).
    let store = app.runtime.store.clone();
    let mut product = store.product_by_url(&page).await.unwrap().unwrap();
    product.check.next_check_at = Timestamp::now()
        .checked_add(SignedDuration::from_hours(6))
        .ok();
    store.save_product(&product).await.unwrap();
    let scraper = app
        .runtime
        .scraper(BTreeSet::from([port_of(&base)]), Duration::ZERO)
        .unwrap();
    let pipeline = app.runtime.alerts();
    scraper.run(Duration::from_secs(30)).await.unwrap();
    app.settle_alerts(&pipeline).await;
    let unchecked = store.product_by_id(product.id).await.unwrap().unwrap();
    assert_eq!(unchecked.last_checked_at, None, "not due, not checked");
    let log = app
        .call(Method::GET, "/api/v1/alerts", Some(&token), None)
        .await;
    assert_eq!(log.body["total"], 0, "{}", log.body);

    // When the owner asks for a check now, it is scheduled at once — and only once a minute.
    let before = Timestamp::now();
    let scheduled = post(&app, &format!("{item}/check"), &token, None).await;
    assert_eq!(scheduled.status, StatusCode::ACCEPTED, "{}", scheduled.body);
    let due: Timestamp = scheduled.body["next_check_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(due >= before && due <= Timestamp::now());
    let stored = store.product_by_id(product.id).await.unwrap().unwrap();
    assert_eq!(stored.check.next_check_at, Some(due));
    let again = post(&app, &format!("{item}/check"), &token, None).await;
    assert_problem(&again, StatusCode::TOO_MANY_REQUESTS, "second check-now");
    let retry: u64 = again.headers[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    let foreign = user(&app, "other@example.com").await;
    let hidden = post(&app, &format!("{item}/check"), &foreign, None).await;
    assert_problem(&hidden, StatusCode::NOT_FOUND, "someone else's watch");

    // Then the next scrape checks the page, and the watch fires through the pipeline.
    scraper.run(Duration::from_secs(30)).await.unwrap();
    app.settle_alerts(&pipeline).await;
    let checked = store.product_by_id(product.id).await.unwrap().unwrap();
    assert!(checked.last_checked_at.is_some());
    let price = checked.current_price.unwrap();
    assert!(price.minor() <= 37_900, "{price:?}");
    let log = app
        .call(Method::GET, "/api/v1/alerts", Some(&token), None)
        .await;
    assert_eq!(log.body["total"], 1, "{}", log.body);
    let alert = &log.body["items"][0];
    assert!(
        alert["title"].as_str().unwrap().contains("4K monitor"),
        "{alert}"
    );
    assert_eq!(alert["deliveries"][0]["channel"], "email");
    assert_eq!(alert["deliveries"][0]["status"], "sent", "{alert:#}");
    let mails = app
        .runtime
        .outbox
        .as_ref()
        .unwrap()
        .recent(50)
        .await
        .unwrap();
    assert!(mails
        .iter()
        .any(|m| m.to == "shopper@example.com" && m.subject.contains("4K monitor")));

    // Just checked: another check-now waits.
    let soon = post(&app, &format!("{item}/check"), &token, None).await;
    assert_problem(&soon, StatusCode::TOO_MANY_REQUESTS, "right after a check");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_now_judges_a_new_watch_against_an_unchanged_price() {
    let app = demo_app().await;
    let base = app.base_url.clone().unwrap();
    let page = format!("{base}/demo-shop/p/4k-monitor-27");
    let store = app.runtime.store.clone();
    let scraper = app
        .runtime
        .scraper(BTreeSet::from([port_of(&base)]), Duration::ZERO)
        .unwrap();
    let pipeline = app.runtime.alerts();
    // Given the page was read (its price known) and has not changed since.
    let mut product = store.product_by_url(&page).await.unwrap().unwrap();
    product.check.next_check_at = None;
    store.save_product(&product).await.unwrap();
    scraper.run(Duration::from_secs(30)).await.unwrap();
    app.settle_alerts(&pipeline).await;
    let read = store.product_by_id(product.id).await.unwrap().unwrap();
    let price = read.current_price.unwrap();
    // A watch whose target the current price already meets.
    let token = user(&app, "late@example.com").await;
    let created = post(
        &app,
        "/api/v1/watchlist/items",
        &token,
        Some(json!({"url": page, "trigger": {"kind": "target_price", "price": {"amount": "380", "currency": "USD"}}})),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let item = format!(
        "/api/v1/watchlist/items/{}",
        created.body["id"].as_str().unwrap()
    );
    // Backdates the last check by five minutes (past the check-now gap); `due` also makes the
    // page due for an ordinary check.
    let checked_minutes_ago = |due: bool| {
        let store = store.clone();
        async move {
            let mut product = store.product_by_id(product.id).await.unwrap().unwrap();
            if due {
                product.check.next_check_at = None;
            }
            product.check.last_checked_at = Timestamp::now()
                .checked_sub(SignedDuration::from_mins(5))
                .ok();
            store.save_product(&product).await.unwrap();
        }
    };
    // An ordinary check of an unchanged page announces nothing: no alert.
    checked_minutes_ago(true).await;
    scraper.run(Duration::from_secs(30)).await.unwrap();
    app.settle_alerts(&pipeline).await;
    let quiet = app
        .call(Method::GET, "/api/v1/alerts", Some(&token), None)
        .await;
    assert_eq!(quiet.body["total"], 0, "{}", quiet.body);
    // When the watcher asks for a check, the price read is announced and the watch fires.
    checked_minutes_ago(false).await;
    let scheduled = post(&app, &format!("{item}/check"), &token, None).await;
    assert_eq!(scheduled.status, StatusCode::ACCEPTED, "{}", scheduled.body);
    scraper.run(Duration::from_secs(30)).await.unwrap();
    app.settle_alerts(&pipeline).await;
    let checked = store.product_by_id(product.id).await.unwrap().unwrap();
    assert_eq!(
        checked.current_price,
        Some(price),
        "the price did not change"
    );
    let log = app
        .call(Method::GET, "/api/v1/alerts", Some(&token), None)
        .await;
    assert_eq!(log.body["total"], 1, "{}", log.body);
    assert_eq!(log.body["items"][0]["deliveries"][0]["status"], "sent");
    // The next ordinary check of the same price does not fire it again.
    checked_minutes_ago(true).await;
    scraper.run(Duration::from_secs(30)).await.unwrap();
    app.settle_alerts(&pipeline).await;
    let still = app
        .call(Method::GET, "/api/v1/alerts", Some(&token), None)
        .await;
    assert_eq!(still.body["total"], 1, "{}", still.body);
}
