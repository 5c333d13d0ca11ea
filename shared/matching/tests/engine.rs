//! The engine loads every user's enabled rules and watches from the store.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use dealpulse_conformance::records::sample_rule;
use dealpulse_domain::ids::{ProductId, UserId, WatchId};
use dealpulse_domain::listing::{Listing, SourceName};
use dealpulse_domain::money::{Currency, Money};
use dealpulse_domain::records::records;
use dealpulse_domain::rules::AlertRule;
use dealpulse_domain::watch::{Rearm, WatchItem, WatchTrigger};
use dealpulse_local::{Database, SqliteStore};
use dealpulse_matching::MatchEngine;
use jiff::Timestamp;

fn watch(owner: UserId, product: ProductId, enabled: bool) -> WatchItem {
    WatchItem {
        id: WatchId::generate(),
        owner,
        product_id: product,
        listing_id: None,
        label: None,
        trigger: WatchTrigger::AnyDrop {},
        rearm: Rearm::WhenConditionClears {},
        check_interval_minutes: 360,
        price_when_watched: None,
        armed: true,
        last_fired_at: None,
        enabled,
        created_at: Timestamp::now(),
        updated_at: Timestamp::now(),
        version: 0,
    }
}

#[tokio::test]
async fn every_users_enabled_rules_and_watches_are_loaded() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::new(Database::open(&dir.path().join("db")).unwrap());
    let (alice, bob) = (UserId::generate(), UserId::generate());
    let rules = records::<AlertRule>(&store);
    let gaming = rules
        .insert(&sample_rule(alice, "gaming"), None)
        .await
        .unwrap();
    let mut paused = sample_rule(bob, "paused");
    paused.enabled = false;
    rules.insert(&paused, None).await.unwrap();
    let product = ProductId::generate();
    let watches = records::<WatchItem>(&store);
    watches
        .insert(&watch(alice, product, true), None)
        .await
        .unwrap();
    watches
        .insert(&watch(bob, product, true), None)
        .await
        .unwrap();
    watches
        .insert(&watch(bob, product, false), None)
        .await
        .unwrap();

    let engine = MatchEngine::load(&store).await.unwrap();
    assert_eq!(engine.rules.len(), 1, "the paused rule is not indexed");
    assert_eq!(engine.watches_of(product).len(), 2);
    assert!(engine.watches_of(ProductId::generate()).is_empty());

    let listing = Listing {
        id: dealpulse_domain::ids::ListingId::generate(),
        source: SourceName::parse("test").unwrap(),
        url: "https://deals.example.com/1".into(),
        title: "Gaming desktop, RTX 4070".into(),
        description: String::new(),
        price: Money::parse("699", Currency::parse("USD").unwrap()).unwrap(),
        was_price: None,
        category: gaming.categories.iter().next().copied(),
        condition: None,
        location: gaming.location.as_ref().map(|l| l.point),
        score: None,
        flight: None,
        seen_at: Timestamp::now(),
        audience: None,
    };
    let expected: Vec<_> = gaming.evaluate(&listing);
    let found = engine.rules.matches(&listing);
    assert_eq!(
        found.contains(&gaming.id),
        expected.is_empty(),
        "{expected:?}"
    );
}
