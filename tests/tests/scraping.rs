//! The scrape run against a fixture shop on 127.0.0.1, on the local store and bus: every check is
//! classified, only real price and stock changes move a product or raise an event, unchanged
//! pages coalesce (and answer 304 to the stored ETag), feeds become listings, and the time
//! budget is honoured.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use dealpulse_domain::clock::ManualClock;
use dealpulse_domain::events::{CatalogEvent, EventEnvelope};
use dealpulse_domain::ids::{ProductId, SourceId};
use dealpulse_domain::listing::{Category, Condition, SourceName, TrackedProduct};
use dealpulse_domain::money::Currency;
use dealpulse_domain::ports::Store;
use dealpulse_domain::queue::Queue;
use dealpulse_domain::sources::{CheckResult, CheckState, FeedFormat, FeedSource, FieldMapping};
use dealpulse_fetch::polite::{PoliteFetcher, Politeness};
use dealpulse_fetch::{AddressPolicy, FetchConfig, Fetcher, SystemLookup};
use dealpulse_ingest::scrape::{ScrapeSettings, Scraper};
use dealpulse_local::{Database, QueueEventBus, SqliteQueue, SqliteStore};
use dealpulse_tests::fixture_shop::{self, FixtureShop};
use jiff::{SignedDuration, Timestamp};
use std::collections::BTreeSet;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

struct Harness {
    shop: FixtureShop,
    store: Arc<dyn Store>,
    bus: Arc<SqliteQueue>,
    clock: Arc<ManualClock>,
    scraper: Scraper,
    _dir: tempfile::TempDir,
}

async fn harness() -> Harness {
    let shop = fixture_shop::start().await;
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(&dir.path().join("dealpulse.db")).unwrap();
    let clock = Arc::new(ManualClock::new(Timestamp::now()));
    let store: Arc<dyn Store> = Arc::new(SqliteStore::new(db.clone()));
    let bus = Arc::new(SqliteQueue::plain(db, clock.clone(), "catalog-events"));
    let fetcher = Fetcher::new(
        FetchConfig {
            retries: 1,
            backoff: Duration::from_millis(10),
            policy: AddressPolicy {
                loopback_ports: BTreeSet::from([shop.port]),
                ..AddressPolicy::default()
            },
            ..FetchConfig::default()
        },
        Arc::new(SystemLookup),
    )
    .unwrap();
    let polite = PoliteFetcher::new(
        fetcher,
        Politeness {
            min_delay: Duration::ZERO,
            max_concurrency: 4,
            ..Politeness::default()
        },
    );
    let scraper = Scraper::new(
        Arc::clone(&store),
        Arc::new(QueueEventBus::new(bus.clone(), clock.clone())),
        Arc::new(polite),
        clock.clone(),
        ScrapeSettings::default(),
    );
    Harness {
        shop,
        store,
        bus,
        clock,
        scraper,
        _dir: dir,
    }
}

impl Harness {
    async fn track(&self, path: &str) -> TrackedProduct {
        let mut product = TrackedProduct::new(self.shop.url(path), "127.0.0.1", self.clock.now());
        product.check.interval_minutes = 60;
        self.store.insert_product(&product).await.unwrap()
    }

    async fn product(&self, id: ProductId) -> TrackedProduct {
        self.store.product_by_id(id).await.unwrap().unwrap()
    }

    async fn events(&self) -> Vec<CatalogEvent> {
        let mut events = Vec::new();
        loop {
            let batch = self.bus.receive(10, Duration::from_secs(60)).await.unwrap();
            if batch.is_empty() {
                return events;
            }
            for message in batch {
                let envelope: EventEnvelope = serde_json::from_str(&message.body).unwrap();
                assert_eq!(envelope.detail_type, envelope.detail.kind());
                events.push(envelope.detail);
                self.bus.delete(&message.receipt).await.unwrap();
            }
        }
    }

    fn later(&self, hours: i64) {
        self.clock.advance(SignedDuration::from_hours(hours));
    }
}

use dealpulse_domain::clock::Clock;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_check_is_classified_and_only_real_changes_move_prices() {
    let h = harness().await;
    let espresso = h.track("/p/espresso").await;
    let mut others = Vec::new();
    for (path, expected) in [
        ("/p/grinder", CheckResult::OutOfStock),
        ("/p/redesigned", CheckResult::PriceMissing),
        ("/p/blocked", CheckResult::Blocked),
        ("/p/captcha", CheckResult::Blocked),
        ("/private/members", CheckResult::Blocked),
        ("/p/nothing-here", CheckResult::NotFound),
        ("/p/gone", CheckResult::Gone),
        ("/p/broken", CheckResult::Error),
    ] {
        others.push((h.track(path).await, expected));
    }

    let report = h.scraper.run(Duration::from_secs(60)).await.unwrap();
    assert_eq!(report.products_checked, 9, "{report:?}");
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    assert!(!report.out_of_time);
    assert_eq!(report.results.get(&CheckResult::Ok), Some(&1));
    assert_eq!(report.results.get(&CheckResult::Blocked), Some(&3));

    let checked = h.product(espresso.id).await;
    assert_eq!(checked.current_price.unwrap().to_string(), "279.00 EUR");
    assert_eq!(checked.title.as_deref(), Some("Espresso machine X1"));
    assert_eq!(checked.in_stock, Some(true));
    assert_eq!(checked.check.etag.as_deref(), Some("\"espresso-27900\""));
    assert_eq!(checked.check.last_result, Some(CheckResult::Ok));
    let due = checked.check.next_check_at.unwrap();
    let wait = due.duration_since(h.clock.now()).as_mins();
    assert!((54..=66).contains(&wait), "next check in {wait} min");

    for (product, expected) in &others {
        let after = h.product(product.id).await;
        assert_eq!(after.check.last_result, Some(*expected), "{}", product.url);
        if *expected != CheckResult::OutOfStock {
            assert_eq!(after.current_price, None, "{} moved no price", product.url);
            assert_eq!(after.check.failures, 1);
            assert!(after.check.last_reason.is_some());
            let points = h
                .store
                .price_points(product.id, Timestamp::MIN, h.clock.now(), 10)
                .await
                .unwrap();
            assert!(points.is_empty(), "{} has no history", product.url);
        }
    }
    let grinder = h.product(others[0].0.id).await;
    assert_eq!(grinder.in_stock, Some(false));

    let events = h.events().await;
    let price_events: Vec<_> = events
        .iter()
        .filter(|e| matches!(e, CatalogEvent::PriceChanged { .. }))
        .collect();
    assert_eq!(
        price_events.len(),
        2,
        "the first prices of espresso and grinder: {events:?}"
    );
    assert!(events.iter().all(|e| match e {
        CatalogEvent::PriceChanged { product, .. } | CatalogEvent::StockChanged { product, .. } =>
            product.product_id == espresso.id || product.product_id == grinder.id,
        CatalogEvent::ListingObserved { .. } => false,
    }));

    // Nothing is due until the interval has passed.
    let idle = h.scraper.run(Duration::from_secs(60)).await.unwrap();
    assert_eq!(idle.products_checked, 0);

    // The price drops: one event with a score, one more point.
    h.shop.state.espresso_cents.store(24_900, Ordering::SeqCst);
    h.later(2);
    let drop = h.scraper.run(Duration::from_secs(60)).await.unwrap();
    assert!(drop.products_checked >= 1);
    assert_eq!(drop.price_changes, 1, "{drop:?}");
    let events = h.events().await;
    let change = events
        .iter()
        .find_map(|e| match e {
            CatalogEvent::PriceChanged {
                product,
                from,
                to,
                score,
                ..
            } if product.product_id == espresso.id => Some((*from, *to, score.clone())),
            _ => None,
        })
        .expect("a price.changed for the espresso machine");
    assert_eq!(change.0.unwrap().to_string(), "279.00 EUR");
    assert_eq!(change.1.to_string(), "249.00 EUR");
    let score = change.2.unwrap();
    assert!(score.all_time_low);
    assert!(score.score > 0);
    let points = h
        .store
        .price_points(espresso.id, Timestamp::MIN, h.clock.now(), 10)
        .await
        .unwrap();
    assert_eq!(points.len(), 2);

    // Unchanged: the stored ETag gets a 304, nothing moves, the check is still recorded.
    h.later(2);
    let hits_before = h.shop.state.hits("/p/espresso");
    let same = h.scraper.run(Duration::from_secs(60)).await.unwrap();
    assert_eq!(
        same.results.get(&CheckResult::NotModified),
        Some(&1),
        "{same:?}"
    );
    assert_eq!(h.shop.state.hits("/p/espresso"), hits_before + 1);
    let after = h.product(espresso.id).await;
    assert_eq!(after.check.last_result, Some(CheckResult::NotModified));
    assert_eq!(after.current_price.unwrap().to_string(), "249.00 EUR");
    assert!(h
        .events()
        .await
        .iter()
        .all(|e| !matches!(e, CatalogEvent::PriceChanged { product, .. } if product.product_id == espresso.id)));
    assert_eq!(
        h.store
            .price_points(espresso.id, Timestamp::MIN, h.clock.now(), 10)
            .await
            .unwrap()
            .len(),
        2,
        "coalesced"
    );

    // Failing pages back off: after two hours the 403 page (1 failure → 2 h ± 10 %) may be due,
    // but the 410 page waits a week.
    let gone = h.product(others[6].0.id).await;
    assert!(
        gone.check.next_check_at.unwrap()
            > h.clock
                .now()
                .checked_add(SignedDuration::from_hours(24 * 6))
                .unwrap()
    );

    let health = h.store.host_health().await.unwrap();
    let local = health.iter().find(|x| x.host == "127.0.0.1").unwrap();
    assert!(local.total() >= 11, "{local:?}");
    assert_eq!(local.results.get(&CheckResult::Gone), Some(&1));
    assert_eq!(h.shop.state.hits("/p/gone"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feeds_become_listings_and_only_new_or_repriced_ones_raise_events() {
    let h = harness().await;
    let rss = FeedSource {
        id: SourceId::generate(),
        name: SourceName::parse("fixture-deals").unwrap(),
        url: h.shop.url("/feed.xml"),
        format: FeedFormat::Auto,
        mapping: None,
        category: None,
        currency: Currency::parse("USD").ok(),
        enabled: true,
        created_at: h.clock.now(),
        check: CheckState {
            interval_minutes: 30,
            ..CheckState::default()
        },
        last_item_count: None,
    };
    let api = FeedSource {
        id: SourceId::generate(),
        name: SourceName::parse("fixture-market").unwrap(),
        url: h.shop.url("/api/listings"),
        format: FeedFormat::JsonApi,
        mapping: Some(FieldMapping {
            items: "/data/results".into(),
            title: "/name".into(),
            price: Some("/cost/value".into()),
            currency: Some("/cost/unit".into()),
            url: Some("/href".into()),
            category: None,
            condition: Some("/state".into()),
            location: Some("/area".into()),
            image: None,
        }),
        category: Some(Category::Other),
        currency: None,
        enabled: true,
        created_at: h.clock.now(),
        check: CheckState::default(),
        last_item_count: None,
    };
    h.store.insert_feed(&rss).await.unwrap();
    h.store.insert_feed(&api).await.unwrap();

    let report = h.scraper.run(Duration::from_secs(60)).await.unwrap();
    assert_eq!(report.feeds_checked, 2, "{report:?}");
    assert_eq!(report.listings_seen, 5, "3 RSS items + 2 priced API items");
    assert_eq!(report.items_skipped, 1, "the API item without a price");
    assert_eq!(report.listings_observed, 5);
    let events = h.events().await;
    assert_eq!(events.len(), 5);

    let listings = h
        .store
        .listings_seen_since(
            h.clock
                .now()
                .checked_sub(SignedDuration::from_hours(1))
                .unwrap(),
            50,
        )
        .await
        .unwrap();
    let pc = listings
        .iter()
        .find(|l| l.title.starts_with("Gaming PC"))
        .unwrap();
    assert_eq!(pc.price.to_string(), "749.00 USD");
    assert_eq!(pc.category, Some(Category::Computers), "Desktops");
    assert_eq!(pc.source.as_str(), "fixture-deals");
    assert!(pc.score.is_some());
    let keyboard = listings
        .iter()
        .find(|l| l.title == "Mechanical keyboard")
        .unwrap();
    assert_eq!(
        keyboard.price.to_string(),
        "59.99 USD",
        "price from the description"
    );
    let bike = listings
        .iter()
        .find(|l| l.title == "Used road bike")
        .unwrap();
    assert_eq!(bike.price.to_string(), "350.00 EUR");
    assert_eq!(bike.condition, Some(Condition::Used));
    assert!((bike.location.unwrap().lat() - 52.5).abs() < 0.5, "Berlin");
    let desk = listings
        .iter()
        .find(|l| l.title == "Standing desk")
        .unwrap();
    assert_eq!(desk.condition, Some(Condition::LikeNew));

    let stored_rss = h.store.feed_by_id(rss.id).await.unwrap().unwrap();
    assert_eq!(stored_rss.last_item_count, Some(3));
    assert_eq!(stored_rss.check.last_result, Some(CheckResult::Ok));

    // Seen again at the same prices: stored again, no events. One repriced: one event.
    h.shop.state.feed_cents.store(69_900, Ordering::SeqCst);
    h.later(1);
    let again = h.scraper.run(Duration::from_secs(60)).await.unwrap();
    assert_eq!(
        again.feeds_checked, 1,
        "the RSS feed (every 30 min) is due, the API (every 6 h) is not"
    );
    assert_eq!(again.listings_observed, 1, "{again:?}");
    let events = h.events().await;
    match events.as_slice() {
        [CatalogEvent::ListingObserved {
            listing,
            previous_price,
        }] => {
            assert_eq!(listing.id, pc.id, "same item, same id");
            assert_eq!(listing.price.to_string(), "699.00 USD");
            assert_eq!(previous_price.unwrap().to_string(), "749.00 USD");
        }
        other => panic!("expected one listing.observed, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spent_budget_leaves_due_work_for_the_next_tick() {
    let h = harness().await;
    let product = h.track("/p/espresso").await;
    let report = h.scraper.run(Duration::ZERO).await.unwrap();
    assert!(report.out_of_time);
    assert_eq!(report.products_checked, 0);
    assert_eq!(h.shop.state.hits("/p/espresso"), 0);
    let next = h.scraper.run(Duration::from_secs(60)).await.unwrap();
    assert_eq!(next.products_checked, 1);
    assert_eq!(
        h.product(product.id).await.check.last_result,
        Some(CheckResult::Ok)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn selector_overrides_read_pages_without_structured_data() {
    use dealpulse_domain::ids::UserId;
    use dealpulse_domain::records::records;
    use dealpulse_domain::sources::{HostSelectors, SelectorOverrides};
    let h = harness().await;
    let plain = h.track("/p/plain").await;
    h.scraper.run(Duration::from_secs(60)).await.unwrap();
    assert_eq!(
        h.product(plain.id).await.check.last_result,
        Some(CheckResult::PriceMissing),
        "no structured data, nothing recognisable"
    );

    // An administrator's selectors for the host read the price.
    records::<HostSelectors>(h.store.as_ref())
        .insert(
            &HostSelectors {
                owner: UserId::system(),
                host: "127.0.0.1".into(),
                selectors: SelectorOverrides {
                    price: Some(".cost".into()),
                    ..SelectorOverrides::default()
                },
                version: 0,
            },
            None,
        )
        .await
        .unwrap();
    h.later(3);
    h.scraper.run(Duration::from_secs(60)).await.unwrap();
    let read = h.product(plain.id).await;
    assert_eq!(read.check.last_result, Some(CheckResult::Ok));
    assert_eq!(read.current_price.unwrap().to_string(), "199.00 EUR");
    assert_eq!(read.title, None, "the host's selectors name no title");

    // The product's own selectors add to the host's, field by field.
    let mut own = read.clone();
    own.selectors = Some(SelectorOverrides {
        title: Some("h2.name".into()),
        ..SelectorOverrides::default()
    });
    own.check.next_check_at = None;
    own.current_price = None;
    h.store.save_product(&own).await.unwrap();
    h.scraper.run(Duration::from_secs(60)).await.unwrap();
    let both = h.product(plain.id).await;
    assert_eq!(both.title.as_deref(), Some("Kaffeemühle Plain"));
    assert_eq!(both.current_price.unwrap().to_string(), "199.00 EUR");
}
