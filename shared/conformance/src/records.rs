//! The contract of owned documents (rules, watches, preferences, endpoints, phone, push) and of
//! the shared catalogue (tracked products, price history, listings).

use crate::store::sample_user;
use dealpulse_domain::channels::*;
use dealpulse_domain::geo::{DistanceUnit, FlightPlace, Location, Radius, Region};
use dealpulse_domain::ids::*;
use dealpulse_domain::listing::*;
use dealpulse_domain::money::{Currency, Money};
use dealpulse_domain::net::{PublicUrl, Schemes};
use dealpulse_domain::ports::{Store, StoreError};
use dealpulse_domain::preferences::*;
use dealpulse_domain::query::Query;
use dealpulse_domain::records::{records, Document, Record};
use dealpulse_domain::rules::*;
use dealpulse_domain::secret::TokenHash;
use dealpulse_domain::watch::*;
use jiff::{SignedDuration, Timestamp};
use std::collections::BTreeSet;

fn usd(amount: &str) -> Money {
    Money::parse(amount, Currency::parse("USD").unwrap()).unwrap()
}

fn at(seconds_ago: i64) -> Timestamp {
    Timestamp::now()
        .checked_sub(SignedDuration::from_secs(seconds_ago))
        .unwrap()
}

pub fn sample_rule(owner: UserId, name: &str) -> AlertRule {
    let now = Timestamp::now();
    AlertRule {
        id: RuleId::generate(),
        owner,
        name: RuleName::parse(name).unwrap(),
        query: Query::parse("gaming (pc OR desktop) -mac \"rtx 4070\"").unwrap(),
        min_price: Some(usd("100")),
        max_price: Some(usd("799.99")),
        categories: BTreeSet::from([Category::Computers, Category::Gaming]),
        conditions: BTreeSet::from([Condition::New, Condition::LikeNew]),
        location: Some(Location {
            label: "Boston, US".into(),
            point: dealpulse_domain::geo::GeoPoint::new(42.36, -71.06).unwrap(),
        }),
        radius: Some(Radius::new(50.0, DistanceUnit::Km).unwrap()),
        min_score: Some(60),
        sources: BTreeSet::from([SourceName::parse("slickdeals").unwrap()]),
        flight: Some(FlightCriteria {
            origins: vec![FlightPlace::Airport("BOS".into())],
            destinations: vec![FlightPlace::Region(Region::Europe)],
            depart: Some(
                DateWindow::new("2027-03-01".parse().unwrap(), "2027-03-31".parse().unwrap())
                    .unwrap(),
            ),
            return_window: None,
            trip_type: Some(TripType::RoundTrip),
            max_stops: Some(1),
            cabins: BTreeSet::from([Cabin::Economy]),
        }),
        channels: Some(BTreeSet::from([Channel::Email, Channel::Push])),
        frequency: Some(Frequency::Daily),
        enabled: true,
        cooldown_minutes: 60,
        created_at: now,
        updated_at: now,
        last_triggered_at: None,
        version: 0,
    }
}

fn sample_watch(owner: UserId, product: ProductId) -> WatchItem {
    let now = Timestamp::now();
    WatchItem {
        id: WatchId::generate(),
        owner,
        product_id: product,
        listing_id: None,
        label: Some("Espresso machine".into()),
        trigger: WatchTrigger::TargetPrice {
            price: Money::parse("249.99", Currency::parse("EUR").unwrap()).unwrap(),
        },
        rearm: Rearm::AfterCooldown { minutes: 1440 },
        check_interval_minutes: 360,
        price_when_watched: None,
        armed: true,
        last_fired_at: None,
        enabled: true,
        created_at: now,
        updated_at: now,
        version: 0,
    }
}

fn sample_endpoint(owner: UserId) -> ChannelEndpoint {
    let now = Timestamp::now();
    ChannelEndpoint {
        id: EndpointId::generate(),
        owner,
        kind: EndpointKind::Webhook,
        url: PublicUrl::parse("https://hooks.example.com/dealpulse", Schemes::HttpsOnly).unwrap(),
        label: Some("home automation".into()),
        signing_secret: Some("whsec_abcdef".into()),
        enabled: true,
        created_at: now,
        updated_at: now,
        last_tested_at: None,
        version: 0,
    }
}

fn sample_product(url: &str) -> TrackedProduct {
    TrackedProduct {
        id: ProductId::generate(),
        url: url.into(),
        host: "shop.example.com".into(),
        title: Some("Espresso machine".into()),
        current_price: Some(usd("299")),
        in_stock: Some(true),
        created_at: Timestamp::now(),
        last_checked_at: None,
        selectors: None,
        check: Default::default(),
    }
}

pub fn sample_listing(title: &str, seen_at: Timestamp) -> Listing {
    Listing {
        id: ListingId::generate(),
        source: SourceName::parse("conformance").unwrap(),
        url: format!("https://deals.example.com/{}", ListingId::generate()),
        title: title.into(),
        description: "A deal".into(),
        price: usd("499.00"),
        was_price: Some(usd("699.00")),
        category: Some(Category::Computers),
        condition: Some(Condition::New),
        location: None,
        score: Some(80),
        flight: None,
        seen_at,
        audience: None,
    }
}

async fn round_trip<T: Record + PartialEq + std::fmt::Debug>(store: &dyn Store, record: T) {
    let stored = records::<T>(store).insert(&record, None).await.unwrap();
    assert_eq!(stored.version(), 1);
    let read = records::<T>(store)
        .get(record.owner(), &record.key())
        .await
        .unwrap();
    assert_eq!(read, Some(stored), "{} round trip", T::KIND);
}

pub async fn every_record_kind_round_trips(store: &dyn Store) {
    let owner = UserId::generate();
    round_trip(store, sample_rule(owner, "gaming pc")).await;
    round_trip(store, sample_watch(owner, ProductId::generate())).await;
    let mut preferences = NotificationPreferences::defaults(owner, Timestamp::now());
    preferences.quiet_hours = Some(
        QuietHours::new(
            LocalTime::parse("22:00").unwrap(),
            LocalTime::parse("07:00").unwrap(),
        )
        .unwrap(),
    );
    preferences.max_alerts_per_day = Some(20);
    round_trip(store, preferences).await;
    round_trip(store, sample_endpoint(owner)).await;
    round_trip(
        store,
        PhoneSetup {
            owner,
            number: PhoneNumber::parse("+14155550123").unwrap(),
            verified_at: None,
            pending: Some(PendingCode {
                code_hash: TokenHash::of("123456"),
                sent_at: Timestamp::now(),
                expires_at: Timestamp::now(),
                attempts_left: 5,
            }),
            updated_at: Timestamp::now(),
            version: 0,
        },
    )
    .await;
    round_trip(
        store,
        PushSubscription {
            id: PushSubscriptionId::generate(),
            owner,
            endpoint: PublicUrl::parse("https://push.example.net/send/abc", Schemes::HttpsOnly)
                .unwrap(),
            p256dh: "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM".into(),
            auth: "tBHItJI5svbpez7KI4CCXg".into(),
            user_agent: None,
            created_at: Timestamp::now(),
            version: 0,
        },
    )
    .await;
}

pub async fn documents_list_by_owner_and_kind_in_key_order(store: &dyn Store) {
    let (alice, bob) = (UserId::generate(), UserId::generate());
    let rules = records::<AlertRule>(store);
    let mut inserted = Vec::new();
    for name in ["c", "a", "b"] {
        inserted.push(rules.insert(&sample_rule(alice, name), None).await.unwrap());
    }
    rules
        .insert(&sample_rule(bob, "bob's"), None)
        .await
        .unwrap();
    records::<WatchItem>(store)
        .insert(&sample_watch(alice, ProductId::generate()), None)
        .await
        .unwrap();
    let listed = rules.list(alice).await.unwrap();
    // Keys are UUIDv7, so key order is creation order.
    assert_eq!(listed, inserted);
    assert_eq!(rules.count(alice).await.unwrap(), 3);
    assert_eq!(rules.list(UserId::generate()).await.unwrap(), vec![]);
    assert_eq!(
        rules.get(bob, &inserted[0].key()).await.unwrap(),
        None,
        "another owner's key is not found"
    );
}

pub async fn the_newest_documents_page_backwards_by_key(store: &dyn Store) {
    let (alice, bob) = (UserId::generate(), UserId::generate());
    let rules = records::<AlertRule>(store);
    let mut inserted = Vec::new();
    for name in ["a", "b", "c", "d", "e"] {
        inserted.push(rules.insert(&sample_rule(alice, name), None).await.unwrap());
    }
    rules
        .insert(&sample_rule(bob, "bob's"), None)
        .await
        .unwrap();
    records::<WatchItem>(store)
        .insert(&sample_watch(alice, ProductId::generate()), None)
        .await
        .unwrap();
    inserted.reverse();
    let first = rules.latest(alice, None, 2).await.unwrap();
    assert_eq!(first, inserted[..2]);
    let second = rules.latest(alice, Some(&first[1].key()), 2).await.unwrap();
    assert_eq!(second, inserted[2..4]);
    let rest = rules
        .latest(alice, Some(&second[1].key()), 10)
        .await
        .unwrap();
    assert_eq!(rest, inserted[4..], "no other kind or owner mixes in");
    assert!(rules
        .latest(UserId::generate(), None, 5)
        .await
        .unwrap()
        .is_empty());
}

pub async fn documents_page_forward_from_a_key(store: &dyn Store) {
    use dealpulse_domain::subscribers::{self, Importer, RowOutcome, SubscriberStatus};
    let now = jiff::Timestamp::now();
    let mut import = Importer::new(store, store, now);
    let rows = [
        "email,name",
        "carol@example.com,Carol",
        "ann@example.com",
        "ANN@Example.com,Ann again",
        "not an address",
        "anna@example.com",
        "bob@example.com",
        "\"amy@example.com\",\"Amy, A.\"",
    ];
    let mut outcomes = Vec::new();
    for (number, row) in rows.iter().enumerate() {
        outcomes.push(import.row(number as u64 + 1, row).await.unwrap().label());
    }
    import.flush().await;
    assert_eq!(
        outcomes,
        [
            "header",
            "imported",
            "imported",
            "duplicate",
            "invalid",
            "imported",
            "imported",
            "imported"
        ]
    );
    assert_eq!(
        (
            import.totals.rows,
            import.totals.imported,
            import.totals.duplicate,
            import.totals.invalid
        ),
        (7, 5, 1, 1)
    );
    let keys = |page: &[subscribers::Subscriber]| -> Vec<String> {
        page.iter().map(|s| s.key.clone()).collect()
    };
    let (first, next) = subscribers::page(store, "", None, None, 2).await.unwrap();
    assert_eq!(keys(&first), ["amy@example.com", "ann@example.com"]);
    let (second, next) = subscribers::page(store, "", None, next.as_deref(), 2)
        .await
        .unwrap();
    assert_eq!(keys(&second), ["anna@example.com", "bob@example.com"]);
    let (third, next) = subscribers::page(store, "", None, next.as_deref(), 2)
        .await
        .unwrap();
    assert_eq!(keys(&third), ["carol@example.com"]);
    assert_eq!(next, None);
    let (prefixed, next) = subscribers::page(store, "ann", None, None, 10)
        .await
        .unwrap();
    assert_eq!(keys(&prefixed), ["ann@example.com", "anna@example.com"]);
    assert_eq!(next, None, "the prefix ends the listing");
    assert_eq!(first[0].name.as_ref().map(|n| n.as_str()), Some("Amy, A."));

    // The form: a new address is pending until confirmed; an import never revives a leaver.
    let dan = dealpulse_domain::account::Email::parse("Dan@Example.com").unwrap();
    assert!(matches!(
        subscribers::subscribe(store, store, &dan, now)
            .await
            .unwrap(),
        subscribers::Subscribed::SendConfirmation(_)
    ));
    assert_eq!(
        subscribers::subscribe(store, store, &dan, now)
            .await
            .unwrap(),
        subscribers::Subscribed::RecentlySent
    );
    let ann = dealpulse_domain::account::Email::parse("ann@example.com").unwrap();
    let left = subscribers::set_status(store, store, &ann, SubscriberStatus::Unsubscribed, now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(left.status, SubscriberStatus::Unsubscribed);
    let mut again = Importer::new(store, store, now);
    assert_eq!(
        again.row(1, "ann@example.com").await.unwrap(),
        RowOutcome::Duplicate(SubscriberStatus::Unsubscribed)
    );
    let (pending, _) = subscribers::page(store, "", Some(SubscriberStatus::Pending), None, 10)
        .await
        .unwrap();
    assert_eq!(keys(&pending), ["dan@example.com"]);
    let tallies = subscribers::tallies(store).await.unwrap();
    assert_eq!(
        tallies,
        [
            (SubscriberStatus::Pending, 1),
            (SubscriberStatus::Confirmed, 4),
            (SubscriberStatus::Unsubscribed, 1)
        ]
    );
}

pub async fn every_document_of_a_kind_lists_across_owners(store: &dyn Store) {
    let owners = [UserId::generate(), UserId::generate(), UserId::generate()];
    let rules = records::<AlertRule>(store);
    let mut expected = Vec::new();
    for (i, owner) in owners.iter().enumerate() {
        for n in 0..=i {
            expected.push(
                rules
                    .insert(&sample_rule(*owner, &format!("rule {n}")), None)
                    .await
                    .unwrap(),
            );
        }
        records::<WatchItem>(store)
            .insert(&sample_watch(*owner, ProductId::generate()), None)
            .await
            .unwrap();
    }
    // An update shows up with its new state; a deleted one is gone.
    let mut changed = expected[1].clone();
    changed.enabled = false;
    expected[1] = rules.update(&changed).await.unwrap();
    let gone = expected.remove(0);
    rules.delete(gone.owner, &gone.key(), None).await.unwrap();
    let ours: BTreeSet<UserId> = owners.iter().copied().collect();
    let mut all: Vec<AlertRule> = rules
        .all()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| ours.contains(&r.owner))
        .collect();
    let key = |r: &AlertRule| (r.owner, r.key());
    all.sort_by_key(key);
    expected.sort_by_key(key);
    assert_eq!(all, expected);
    let watches = records::<WatchItem>(store).all().await.unwrap();
    assert_eq!(
        watches.iter().filter(|w| ours.contains(&w.owner)).count(),
        3,
        "one watch per owner, and no rules among them"
    );
}

pub async fn document_updates_are_optimistic(store: &dyn Store) {
    let rules = records::<AlertRule>(store);
    let stored = rules
        .insert(&sample_rule(UserId::generate(), "first"), None)
        .await
        .unwrap();
    let mut renamed = stored.clone();
    renamed.name = RuleName::parse("renamed").unwrap();
    let updated = rules.update(&renamed).await.unwrap();
    assert_eq!(updated.version, 2);
    assert_eq!(updated.name.as_str(), "renamed");
    // Writing from the old version again is refused.
    let mut late = stored.clone();
    late.enabled = false;
    assert!(matches!(rules.update(&late).await, Err(StoreError::Stale)));
    assert_eq!(
        rules.get(stored.owner, &stored.key()).await.unwrap(),
        Some(updated.clone())
    );
    let mut gone = sample_rule(UserId::generate(), "never stored");
    gone.version = 1;
    assert!(matches!(
        rules.update(&gone).await,
        Err(StoreError::NotFound)
    ));
}

pub async fn concurrent_updates_of_one_version_let_exactly_one_win(store: &dyn Store) {
    let rules = records::<AlertRule>(store);
    let stored = rules
        .insert(&sample_rule(UserId::generate(), "contended"), None)
        .await
        .unwrap();
    let attempts = (0..6).map(|i| {
        let mut edit = stored.clone();
        edit.cooldown_minutes = i;
        async move { records::<AlertRule>(store).update(&edit).await }
    });
    let results = futures::future::join_all(attempts).await;
    let wins = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(wins, 1, "{results:?}");
    assert!(results
        .iter()
        .filter_map(|r| r.as_ref().err())
        .all(|e| matches!(e, StoreError::Stale)));
}

pub async fn document_deletes_honour_versions_and_free_the_quota(store: &dyn Store) {
    let owner = UserId::generate();
    let rules = records::<AlertRule>(store);
    let first = rules
        .insert(&sample_rule(owner, "one"), Some(1))
        .await
        .unwrap();
    assert!(matches!(
        rules.insert(&sample_rule(owner, "two"), Some(1)).await,
        Err(StoreError::LimitReached(1))
    ));
    assert!(matches!(
        rules.delete(owner, &first.key(), Some(7)).await,
        Err(StoreError::Stale)
    ));
    rules.delete(owner, &first.key(), Some(1)).await.unwrap();
    assert!(matches!(
        rules.delete(owner, &first.key(), None).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(rules.count(owner).await.unwrap(), 0);
    rules
        .insert(&sample_rule(owner, "two"), Some(1))
        .await
        .expect("the freed slot can be used");
}

pub async fn quota_holds_under_concurrent_inserts(store: &dyn Store) {
    let owner = UserId::generate();
    let attempts = (0..8).map(|i| {
        let rule = sample_rule(owner, &format!("rule {i}"));
        async move { records::<AlertRule>(store).insert(&rule, Some(3)).await }
    });
    let results = futures::future::join_all(attempts).await;
    let stored = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(stored, 3, "{results:?}");
    assert!(results
        .iter()
        .filter_map(|r| r.as_ref().err())
        .all(|e| matches!(e, StoreError::LimitReached(3) | StoreError::Stale)));
    assert_eq!(
        records::<AlertRule>(store).list(owner).await.unwrap().len(),
        3
    );
    assert_eq!(records::<AlertRule>(store).count(owner).await.unwrap(), 3);
}

pub async fn duplicate_document_keys_conflict(store: &dyn Store) {
    let rule = sample_rule(UserId::generate(), "once");
    let rules = records::<AlertRule>(store);
    rules.insert(&rule, None).await.unwrap();
    assert!(matches!(
        rules.insert(&rule, None).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(rules.count(rule.owner).await.unwrap(), 1);
    // The raw port refuses a document of a kind/key that exists, whatever its body.
    let raw = Document {
        kind: AlertRule::KIND,
        owner: rule.owner,
        key: rule.key(),
        version: 0,
        body: serde_json::json!({"anything": true}),
    };
    assert!(matches!(
        store.insert_document(&raw, None).await,
        Err(StoreError::Conflict(_))
    ));
}

pub async fn deleting_a_user_removes_their_documents(store: &dyn Store) {
    let user = sample_user();
    store.insert_user(&user).await.unwrap();
    let rules = records::<AlertRule>(store);
    rules
        .insert(&sample_rule(user.id, "mine"), Some(10))
        .await
        .unwrap();
    records::<ChannelEndpoint>(store)
        .insert(&sample_endpoint(user.id), None)
        .await
        .unwrap();
    store.delete_user(user.id).await.unwrap();
    assert_eq!(rules.list(user.id).await.unwrap(), vec![]);
    assert_eq!(rules.count(user.id).await.unwrap(), 0);
    assert_eq!(
        records::<ChannelEndpoint>(store)
            .list(user.id)
            .await
            .unwrap(),
        vec![]
    );
}

pub async fn products_are_shared_by_canonical_url(store: &dyn Store) {
    let url = format!("https://shop.example.com/p/{}", ProductId::generate());
    let first = store.insert_product(&sample_product(&url)).await.unwrap();
    let second = store.insert_product(&sample_product(&url)).await.unwrap();
    assert_eq!(
        second, first,
        "the second watcher gets the existing product"
    );
    assert_eq!(
        store.product_by_url(&url).await.unwrap(),
        Some(first.clone())
    );
    assert_eq!(store.product_by_id(first.id).await.unwrap(), Some(first));
    assert_eq!(
        store
            .product_by_url("https://shop.example.com/none")
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store.product_by_id(ProductId::generate()).await.unwrap(),
        None
    );
    let long = format!("https://shop.example.com/{}", "x".repeat(2000));
    let stored = store.insert_product(&sample_product(&long)).await.unwrap();
    assert_eq!(store.product_by_url(&long).await.unwrap(), Some(stored));
}

pub async fn price_points_list_oldest_first_within_a_range(store: &dyn Store) {
    let product = ProductId::generate();
    let mut expected = Vec::new();
    for (ago, price) in [(3000, "310"), (2000, "299"), (1000, "305"), (10, "289.99")] {
        let point = PricePoint {
            previous: None,
            product_id: product,
            at: at(ago),
            price: usd(price),
            in_stock: ago != 2000,
        };
        store.append_price_point(&point).await.unwrap();
        expected.push(point);
    }
    // Same instant twice is kept twice (two sources can report at once).
    let twin = PricePoint {
        previous: None,
        product_id: product,
        at: expected[3].at,
        price: usd("289.99"),
        in_stock: true,
    };
    store.append_price_point(&twin).await.unwrap();
    let now = at(0);
    let all = store
        .price_points(product, at(4000), now, 100)
        .await
        .unwrap();
    assert_eq!(all.len(), 5);
    assert_eq!(all[..4], expected[..]);
    let recent = store
        .price_points(product, at(1500), now, 100)
        .await
        .unwrap();
    assert_eq!(recent.len(), 3);
    assert_eq!(recent[0], expected[2]);
    assert_eq!(
        store.price_points(product, at(4000), now, 2).await.unwrap(),
        expected[..2]
    );
    // Both ends are inclusive.
    assert_eq!(
        store
            .price_points(product, expected[1].at, expected[2].at, 10)
            .await
            .unwrap(),
        expected[1..3]
    );
    assert_eq!(
        store
            .price_points(ProductId::generate(), at(4000), now, 10)
            .await
            .unwrap(),
        vec![]
    );
}

pub async fn listings_list_newest_first_since_and_replace_by_id(store: &dyn Store) {
    let tag = ListingId::generate().to_string();
    let old = sample_listing(&format!("old {tag}"), at(10 * 86_400));
    let mid = sample_listing(&format!("mid {tag}"), at(2 * 86_400));
    let new = sample_listing(&format!("new {tag}"), at(60));
    for listing in [&old, &mid, &new] {
        store.put_listing(listing).await.unwrap();
    }
    let ours = |listings: Vec<Listing>| -> Vec<Listing> {
        listings
            .into_iter()
            .filter(|l| l.title.ends_with(&tag))
            .collect()
    };
    let recent = ours(
        store
            .listings_seen_since(at(3 * 86_400), 1000)
            .await
            .unwrap(),
    );
    assert_eq!(recent, vec![new.clone(), mid.clone()]);
    let mut seen_again = old.clone();
    seen_again.seen_at = at(5);
    seen_again.price = usd("450");
    store.put_listing(&seen_again).await.unwrap();
    assert_eq!(
        store.listing_by_id(old.id).await.unwrap(),
        Some(seen_again.clone())
    );
    let recent = ours(
        store
            .listings_seen_since(at(3 * 86_400), 1000)
            .await
            .unwrap(),
    );
    assert_eq!(recent, vec![seen_again, new, mid]);
    assert_eq!(
        store.listing_by_id(ListingId::generate()).await.unwrap(),
        None
    );
    assert!(
        store
            .listings_seen_since(at(3 * 86_400), 1)
            .await
            .unwrap()
            .len()
            <= 1
    );
}
