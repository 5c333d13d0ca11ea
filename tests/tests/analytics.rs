//! Analytics in local mode: trends, destinations, popularity and deal frequency computed from the
//! rollups the store writes with each price point and listing (figures checked against the
//! inputs; reads that do not grow with the events), the dashboard, tracked deal links through
//! the real alert pipeline (savings once per deal, opt-out honoured), and the admin behaviour
//! view (403 for others).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::http::{header, Method, StatusCode};
use dealpulse_api::routes::analytics::{
    behaviour_of, category_trend_of, deal_frequency_of, destinations_of, popular_of,
    product_trend_of,
};
use dealpulse_domain::counters::CounterRepository;
use dealpulse_domain::events::{CatalogEvent, EventEnvelope};
use dealpulse_domain::ids::{ListingId, ProductId};
use dealpulse_domain::listing::{
    Cabin, Category, FlightOffer, Listing, PricePoint, SourceName, TrackedProduct,
};
use dealpulse_domain::money::{Currency, Money};
use dealpulse_domain::ports::CatalogRepository;
use dealpulse_tests::counting::{CountingCatalog, CountingCounters};
use dealpulse_tests::local_app::{app, assert_problem, App};
use jiff::{SignedDuration, Timestamp};
use serde_json::{json, Value};

const PASSWORD: &str = "a long enough password";

fn usd(text: &str) -> Money {
    Money::parse(text, Currency::parse("USD").unwrap()).unwrap()
}

fn days_ago(now: Timestamp, days: i64) -> Timestamp {
    now.checked_sub(SignedDuration::from_hours(24 * days))
        .unwrap()
}

async fn get(app: &App, path: &str, token: &str) -> Value {
    let answer = app.call(Method::GET, path, Some(token), None).await;
    assert_eq!(answer.status, StatusCode::OK, "{path}: {}", answer.body);
    answer.body
}

async fn trend_of(app: &App, product: ProductId, token: &str) -> Value {
    get(
        app,
        &format!("/api/v1/analytics/products/{product}/trend"),
        token,
    )
    .await
}

fn product(url: &str, price: &str) -> TrackedProduct {
    TrackedProduct {
        id: ProductId::generate(),
        url: url.into(),
        host: "shop.example.com".into(),
        title: Some("Espresso machine".into()),
        current_price: Some(usd(price)),
        in_stock: Some(true),
        created_at: Timestamp::now(),
        last_checked_at: None,
        selectors: None,
        check: Default::default(),
    }
}

fn listing(
    source: &str,
    category: Category,
    price: &str,
    was: Option<&str>,
    at: Timestamp,
) -> Listing {
    Listing {
        id: ListingId::generate(),
        source: SourceName::parse(source).unwrap(),
        url: format!("https://deals.example.com/{}", ListingId::generate()),
        title: format!("{category} deal"),
        description: String::new(),
        price: usd(price),
        was_price: was.map(usd),
        category: Some(category),
        condition: None,
        location: None,
        score: None,
        flight: None,
        seen_at: at,
        audience: None,
    }
}

fn flight(to: &str, price: &str, was: Option<&str>, at: Timestamp) -> Listing {
    let mut deal = listing("fares", Category::Flights, price, was, at);
    deal.flight = Some(FlightOffer {
        origin: "BOS".into(),
        destination: to.into(),
        depart_on: jiff::civil::date(2027, 3, 1),
        return_on: None,
        stops: 0,
        cabin: Cabin::Economy,
    });
    deal
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trends_destinations_and_frequency_come_from_the_rollups() {
    let app = app();
    let store = app.runtime.store.as_ref();
    let now = Timestamp::now();
    let (token, _) = app.verified_user("ana@example.com", PASSWORD).await;

    // A product whose price went 100 → 95 → 90 (same day) → held → 80.
    let espresso = store
        .insert_product(&product("https://shop.example.com/espresso", "80"))
        .await
        .unwrap();
    for (ago, hour_back, price) in [(3, 0, "100"), (2, 2, "95"), (2, 1, "90"), (0, 0, "80")] {
        let at = days_ago(now, ago)
            .checked_sub(SignedDuration::from_mins(hour_back))
            .unwrap();
        store
            .append_price_point(&PricePoint {
                previous: None,
                product_id: espresso.id,
                at,
                price: usd(price),
                in_stock: true,
            })
            .await
            .unwrap();
    }
    let trend = trend_of(&app, espresso.id, &token).await;
    assert_eq!(trend["observations"], 4);
    assert_eq!(
        trend["all_time_low"],
        json!({"amount": "80.00", "currency": "USD"})
    );
    assert_eq!(
        trend["all_time_high"],
        json!({"amount": "100.00", "currency": "USD"})
    );
    let series = trend["series"].as_array().unwrap();
    let closes: Vec<&str> = series
        .iter()
        .map(|day| day["close"]["amount"].as_str().unwrap())
        .collect();
    assert_eq!(closes, ["100.00", "90.00", "90.00", "80.00"], "{trend:#}");
    assert_eq!(series[1]["changes"], 2);
    assert_eq!(
        series[1]["high"]["amount"], "100.00",
        "opened at the day before's close"
    );
    assert_eq!(series[2]["changes"], 0, "carried over");
    let week = &trend["windows"][0];
    assert_eq!(week["days"], 7);
    assert_eq!(week["change_percent"], -20.0);
    assert_eq!(week["low"]["amount"], "80.00");
    assert!(week["volatility_percent"].as_f64().unwrap() > 0.0);
    // A kettle at 120 since long before the window, cut to 100 three days ago: the window opens
    // at 120 (the change's previous price), and is flat before the change.
    let mut kettle = product("https://shop.example.com/kettle", "100");
    kettle.created_at = days_ago(now, 200);
    let kettle = store.insert_product(&kettle).await.unwrap();
    for (ago, price, previous) in [(150, "120", None), (3, "100", Some(usd("120")))] {
        store
            .append_price_point(&PricePoint {
                previous,
                product_id: kettle.id,
                at: days_ago(now, ago),
                price: usd(price),
                in_stock: true,
            })
            .await
            .unwrap();
    }
    let trend = trend_of(&app, kettle.id, &token).await;
    assert_eq!(trend["series"].as_array().unwrap().len(), 90, "{trend:#}");
    assert_eq!(trend["series"][0]["close"]["amount"], "120.00");
    let week = &trend["windows"][0];
    assert_eq!(week["change_percent"], -16.7, "120 → 100: {trend:#}");
    assert_eq!(week["high"]["amount"], "120.00");
    assert_eq!(trend["windows"][2]["days_with_data"], 90);
    // Unchanged for the whole window: flat at today's price.
    let mut flat = product("https://shop.example.com/flat", "42");
    flat.created_at = days_ago(now, 10);
    let flat = store.insert_product(&flat).await.unwrap();
    let trend = trend_of(&app, flat.id, &token).await;
    assert_eq!(
        trend["series"].as_array().unwrap().len(),
        11,
        "tracked for ten days and today: {trend:#}"
    );
    assert_eq!(trend["windows"][0]["change_percent"], 0.0);
    assert_eq!(trend["windows"][0]["low"]["amount"], "42.00");

    let unknown = app
        .call(
            Method::GET,
            &format!("/api/v1/analytics/products/{}/trend", ProductId::generate()),
            Some(&token),
            None,
        )
        .await;
    assert_problem(&unknown, StatusCode::NOT_FOUND, "unknown product");

    // Listings: computers at 500 and 700 (both 20 % off) today, 400 a week ago; flights.
    for listing in [
        listing("shop-a", Category::Computers, "500", Some("625"), now),
        listing("shop-b", Category::Computers, "700", Some("875"), now),
        listing("shop-a", Category::Computers, "400", None, days_ago(now, 8)),
        flight("LIS", "300", Some("600"), now),
        flight("LIS", "400", None, days_ago(now, 1)),
        flight("LIS", "500", None, days_ago(now, 2)),
        flight("CDG", "450", None, now),
    ] {
        store.put_listing(&listing).await.unwrap();
        // Seen again: counted once.
        store.put_listing(&listing).await.unwrap();
    }
    let computers = get(&app, "/api/v1/analytics/categories/computers/trend", &token).await;
    assert_eq!(computers["windows"][0]["listings"], 2);
    assert_eq!(computers["windows"][0]["average"]["amount"], "600.00");
    assert_eq!(computers["windows"][0]["average_discount_percent"], 20.0);
    assert_eq!(computers["windows"][1]["listings"], 3);
    assert_eq!(computers["windows"][1]["low"]["amount"], "400.00");
    assert_eq!(computers["windows"][1]["change_percent"], 50.0, "400 → 600");
    let euros = get(
        &app,
        "/api/v1/analytics/categories/computers/trend?currency=EUR",
        &token,
    )
    .await;
    assert_eq!(euros["windows"][1]["listings"], 0, "priced in dollars");

    let destinations = get(&app, "/api/v1/analytics/destinations?days=7", &token).await;
    let lisbon = &destinations["destinations"][0];
    assert_eq!(lisbon["destination"], "LIS");
    assert_eq!(lisbon["deals"], 3);
    assert_eq!(lisbon["best_discount_percent"], 50.0);
    let median: f64 = lisbon["median_price"]["amount"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (376.0..=424.0).contains(&median),
        "median of 300/400/500 ≈ 400: {median}"
    );
    assert_eq!(destinations["destinations"][1]["destination"], "CDG");

    let frequency = get(
        &app,
        "/api/v1/analytics/deal-frequency?by=source&days=7",
        &token,
    )
    .await;
    assert_eq!(
        frequency["deals"], 6,
        "the 8-day-old listing is outside: {frequency:#}"
    );
    assert_eq!(frequency["rows"][0]["key"], "fares");
    assert_eq!(frequency["rows"][0]["deals"], 4);
    assert_eq!(frequency["rows"][0]["series"].as_array().unwrap().len(), 7);
    let by_category = get(
        &app,
        "/api/v1/analytics/deal-frequency?by=category&days=7",
        &token,
    )
    .await;
    let computers_row = by_category["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["key"] == "computers")
        .unwrap();
    let typical: f64 = computers_row["prices"]["median"]["amount"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((500.0..=710.0).contains(&typical), "{typical}");
    for bad in [
        "/api/v1/analytics/deal-frequency?by=weather",
        "/api/v1/analytics/destinations?days=12",
        "/api/v1/analytics/destinations?currency=dollars",
        "/api/v1/analytics/popular?limit=0",
    ] {
        let answer = app.call(Method::GET, bad, Some(&token), None).await;
        assert_problem(&answer, StatusCode::UNPROCESSABLE_ENTITY, bad);
    }
    let anonymous = app
        .call(Method::GET, "/api/v1/analytics/popular", None, None)
        .await;
    assert_problem(&anonymous, StatusCode::UNAUTHORIZED, "signed out");

    // Popular: categories by deals, products by watchers (watches made through the API); a
    // product only shows once three accounts watch it, without its query string.
    let mut watchers = vec![token.clone()];
    for name in ["bo", "cy"] {
        watchers.push(
            app.verified_user(&format!("{name}@example.com"), PASSWORD)
                .await
                .0,
        );
    }
    let mut watches = Vec::new();
    for (index, watcher) in watchers.iter().enumerate() {
        let watch = app
            .call(
                Method::POST,
                "/api/v1/watchlist/items",
                Some(watcher),
                Some(json!({"url": "https://shop.example.com/espresso", "trigger": {"kind": "any_drop"}})),
            )
            .await;
        assert_eq!(watch.status, StatusCode::CREATED, "{}", watch.body);
        watches.push((
            watcher.clone(),
            watch.body["id"].as_str().unwrap().to_string(),
        ));
        let popular = get(&app, "/api/v1/analytics/popular?days=30", &token).await;
        let shown = if index < 2 { 0 } else { 1 };
        assert_eq!(
            popular["products"].as_array().unwrap().len(),
            shown,
            "{popular:#}"
        );
    }
    let popular = get(&app, "/api/v1/analytics/popular?days=30", &token).await;
    assert_eq!(
        popular["categories"][0],
        json!({"category": "flights", "deals": 4})
    );
    assert_eq!(popular["products"][0]["watchers"], 3);
    assert_eq!(
        popular["products"][0]["product_id"],
        espresso.id.to_string()
    );
    let (watcher, watch) = &watches[0];
    let removed = app
        .call(
            Method::DELETE,
            &format!("/api/v1/watchlist/items/{watch}"),
            Some(watcher),
            None,
        )
        .await;
    assert_eq!(removed.status, StatusCode::NO_CONTENT);
    let popular = get(&app, "/api/v1/analytics/popular", &token).await;
    assert_eq!(popular["products"], json!([]));
}

/// The analytics read the same number of times whether 10 or 1,000 events lie behind them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn analytics_reads_do_not_grow_with_the_number_of_events() {
    let app = app();
    let store = app.runtime.store.as_ref();
    let now = Timestamp::now();
    let espresso = store
        .insert_product(&product("https://shop.example.com/espresso", "80"))
        .await
        .unwrap();
    store
        .add_counts(&[(
            dealpulse_domain::counters::CounterKey::total(
                dealpulse_domain::analytics::names::watchers(espresso.id),
            ),
            3,
        )])
        .await
        .unwrap();
    let mut added = 0;
    let mut reads = Vec::new();
    for events in [10, 1_000] {
        while added < events {
            let at = days_ago(now, (added % 80) as i64);
            store
                .append_price_point(&PricePoint {
                    previous: None,
                    product_id: espresso.id,
                    at,
                    price: usd(&format!("{}", 50 + added % 40)),
                    in_stock: true,
                })
                .await
                .unwrap();
            let deal = if added % 2 == 0 {
                flight(["LIS", "CDG", "FCO"][added % 3], "350", Some("500"), at)
            } else {
                listing("shop-a", Category::Computers, "500", Some("600"), at)
            };
            store.put_listing(&deal).await.unwrap();
            added += 1;
        }
        let counters = CountingCounters::new(store);
        let catalog = CountingCatalog::new(store);
        let usd_code = Currency::parse("USD").unwrap();
        let trend = product_trend_of(&counters, &espresso, now).await.unwrap();
        let category = category_trend_of(&counters, Category::Computers, usd_code, now)
            .await
            .unwrap();
        let destinations = destinations_of(&counters, 90, usd_code, 10, now)
            .await
            .unwrap();
        let popular = popular_of(&counters, &catalog, 90, 10, now).await.unwrap();
        let frequency = deal_frequency_of(&counters, "category", 90, usd_code, now)
            .await
            .unwrap();
        let behaviour = behaviour_of(&counters, 12, now).await.unwrap();
        // The figures moved with the events…
        assert_eq!(trend.observations, events as i64);
        assert_eq!(category.windows[2].listings, events as i64 / 2);
        assert_eq!(
            destinations
                .destinations
                .iter()
                .map(|d| d.deals)
                .sum::<i64>(),
            events as i64 / 2
        );
        assert_eq!(popular.products.len(), 1);
        assert_eq!(frequency.deals, events as i64);
        assert_eq!(behaviour.activity.len(), 12);
        // …the reads did not.
        reads.push((counters.reads(), catalog.reads()));
    }
    assert_eq!(reads[0], reads[1], "reads after 10 and after 1,000 events");
    // One read per trend, 90 day-prefix reads per windowed list (two for frequency), one for
    // behaviour, one product read for the one popular product.
    assert_eq!(reads[0], (1 + 1 + 90 + (90 + 1) + 180 + 1, 1));
}

/// Deal links in alert mail go through the signed redirect: following one records the click and
/// the saving once, shows on the dashboard, and stops being recorded (and rewritten) once the
/// user turns click tracking off.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tracked_links_count_savings_once_and_honour_the_opt_out() {
    use dealpulse_domain::queue::Queue;

    let app = app();
    let (token, _) = app.verified_user("sam@example.com", PASSWORD).await;
    let rule = app
        .call(
            Method::POST,
            "/api/v1/deal-alert-rules",
            Some(&token),
            Some(json!({"name": "Kayaks", "query": "kayak", "cooldown_minutes": 0})),
        )
        .await;
    assert_eq!(rule.status, StatusCode::CREATED, "{}", rule.body);
    let pipeline = app.runtime.alerts();
    let publish = |title: &str, price: &str| {
        let now = Timestamp::now();
        let mut deal = dealpulse_tests::alerts::listing(title, usd(price), now);
        deal.was_price = Some(usd("450"));
        serde_json::to_string(&EventEnvelope::new(
            CatalogEvent::ListingObserved {
                listing: Box::new(deal),
                previous_price: None,
            },
            now,
        ))
        .unwrap()
    };
    let settle = || async {
        while dealpulse_alerts::worker::pump_events(
            &pipeline.matcher,
            app.runtime.events_queue.as_ref(),
            10,
        )
        .await
        .unwrap()
            > 0
        {}
        while dealpulse_alerts::worker::pump_deliveries(
            &pipeline.deliverer,
            app.runtime.queue.as_ref(),
            std::time::Duration::from_secs(60),
        )
        .await
        .unwrap()
            > 0
        {}
    };
    app.runtime
        .events_queue
        .send_batch(&[publish("Touring kayak", "300")])
        .await
        .unwrap();
    settle().await;
    let (text, html) = mail_about(&app, "Touring").await;
    let tracked: Vec<&str> = text
        .split_whitespace()
        .filter(|word| word.contains("/api/v1/r/"))
        .collect();
    assert_eq!(tracked.len(), 1, "{text}");
    assert!(
        !text.contains("https://deals.example.com/Touring-kayak"),
        "{text}"
    );
    assert!(html.unwrap_or_default().contains("/api/v1/r/"));
    let path = tracked[0]
        .trim_matches(|c| c == '<' || c == '>' || c == '(' || c == ')')
        .trim_start_matches("http://dealpulse.test")
        .to_string();
    for _ in 0..2 {
        let followed = app.call(Method::GET, &path, None, None).await;
        assert_eq!(followed.status, StatusCode::FOUND);
        assert_eq!(
            followed.headers[header::LOCATION].to_str().unwrap(),
            "https://deals.example.com/Touring-kayak"
        );
    }
    let dashboard = get(&app, "/api/v1/me/dashboard", &token).await;
    assert_eq!(dashboard["clicks"], 1, "followed twice, counted once");
    assert_eq!(
        dashboard["savings"],
        json!([{"amount": "150.00", "currency": "USD"}])
    );
    assert_eq!(dashboard["alerts_sent"], json!({"email": 1}));
    assert_eq!(dashboard["rules"], json!({"active": 1, "total": 1}));
    assert_eq!(dashboard["recent_alerts"][0]["title"], "Touring kayak");
    assert_eq!(dashboard["next_digest"], Value::Null);

    // A tampered link leads nowhere.
    let forged = app.call(Method::GET, &format!("{path}x"), None, None).await;
    assert_problem(&forged, StatusCode::NOT_FOUND, "tampered link");

    // Tracking off: links lead straight to the deal, and old links count nothing more.
    let off = app
        .call(
            Method::PATCH,
            "/api/v1/notification-preferences/frequency",
            Some(&token),
            Some(json!({"click_tracking": false})),
        )
        .await;
    assert_eq!(off.status, StatusCode::OK, "{}", off.body);
    assert_eq!(off.body["click_tracking"], false);
    app.runtime
        .events_queue
        .send_batch(&[publish("Inflatable kayak with pump", "120")])
        .await
        .unwrap();
    settle().await;
    let log = get(&app, "/api/v1/alerts", &token).await;
    assert_eq!(log["total"], 2, "{log:#}");
    let (text, _) = mail_about(&app, "Inflatable").await;
    assert!(!text.contains("/api/v1/r/"), "{text}");
    assert!(
        text.contains("https://deals.example.com/Inflatable-kayak-with-pump"),
        "{text}"
    );
    let user_id = get(&app, "/api/v1/me", &token).await["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let another = dealpulse_domain::clicks::ClickLink {
        user: user_id,
        delivery: "cd".repeat(16),
        index: 0,
        url: "https://deals.example.com/Inflatable-kayak-with-pump".into(),
        price: usd("300"),
        reference: Some(usd("450")),
    };
    let followed = app
        .call(
            Method::GET,
            &format!(
                "/api/v1/r/{}",
                another.sign(app.runtime.core.keys.click_key())
            ),
            None,
            None,
        )
        .await;
    assert_eq!(followed.status, StatusCode::FOUND);
    let dashboard = get(&app, "/api/v1/me/dashboard", &token).await;
    assert_eq!(dashboard["clicks"], 1);
    assert_eq!(dashboard["click_tracking"], false);
    assert_eq!(dashboard["alerts_sent"], json!({"email": 2}));
}

/// The text and HTML of the newest outbox mail whose subject mentions `word`.
async fn mail_about(app: &App, word: &str) -> (String, Option<String>) {
    use dealpulse_domain::mail::OutboxReader;
    let mail = app
        .runtime
        .outbox
        .as_ref()
        .unwrap()
        .recent(10)
        .await
        .unwrap();
    let subjects: Vec<String> = mail.iter().map(|m| m.subject.clone()).collect();
    let mail = mail
        .into_iter()
        .find(|m| m.subject.contains(word))
        .unwrap_or_else(|| panic!("no alert mail about {word}: {subjects:?}"));
    (mail.text, mail.html)
}

/// Weekly activity and cohort retention for administrators; everyone else gets 403.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behaviour_analytics_show_signups_activation_and_retention() {
    let app = app();
    app.verified_user("boss@example.com", PASSWORD).await;
    app.make_admin("boss@example.com").await;
    let (boss, _) = app.login("boss@example.com", PASSWORD).await;
    let (shopper, _) = app.verified_user("shopper@example.com", PASSWORD).await;
    let rule = app
        .call(
            Method::POST,
            "/api/v1/deal-alert-rules",
            Some(&shopper),
            Some(json!({"name": "GPU", "query": "gpu"})),
        )
        .await;
    assert_eq!(rule.status, StatusCode::CREATED);
    let refused = app
        .call(
            Method::GET,
            "/api/v1/admin/analytics/behaviour",
            Some(&shopper),
            None,
        )
        .await;
    assert_problem(&refused, StatusCode::FORBIDDEN, "not an administrator");
    let bad = app
        .call(
            Method::GET,
            "/api/v1/admin/analytics/behaviour?weeks=99",
            Some(&boss),
            None,
        )
        .await;
    assert_problem(&bad, StatusCode::UNPROCESSABLE_ENTITY, "weeks out of range");
    let behaviour = get(&app, "/api/v1/admin/analytics/behaviour?weeks=4", &boss).await;
    let this_week = &behaviour["activity"][3];
    assert_eq!(this_week["signups"], 2);
    assert_eq!(this_week["activations"], 1);
    let cohort = &behaviour["cohorts"][3];
    assert_eq!(cohort["signups"], 2);
    assert_eq!(cohort["activated"], 1);
    assert_eq!(cohort["activation_percent"], 50.0);
    assert_eq!(
        cohort["retention"][0]["active"], 2,
        "both signed in this week: {behaviour:#}"
    );
    assert_eq!(
        behaviour["cohorts"][0]["retention"]
            .as_array()
            .unwrap()
            .len(),
        4
    );
}
