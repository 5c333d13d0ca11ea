//! The contract of check scheduling: due products and feeds are claimed by exactly one scraper,
//! saved state comes back as written, and host tallies count every check.

use dealpulse_domain::ids::{ProductId, SourceId};
use dealpulse_domain::listing::{Category, SourceName, TrackedProduct};
use dealpulse_domain::money::{Currency, Money};
use dealpulse_domain::ports::{Store, StoreError};
use dealpulse_domain::sources::{CheckResult, CheckState, FeedFormat, FeedSource, FieldMapping};
use jiff::{SignedDuration, Timestamp};
use std::collections::BTreeSet;

fn at(seconds_from_now: i64) -> Timestamp {
    Timestamp::now()
        .checked_add(SignedDuration::from_secs(seconds_from_now))
        .unwrap()
}

fn product(due: Option<Timestamp>) -> TrackedProduct {
    let mut product = TrackedProduct::new(
        format!("https://shop.example.com/p/{}", ProductId::generate()),
        "shop.example.com",
        Timestamp::now(),
    );
    product.check = CheckState {
        next_check_at: due,
        interval_minutes: 60,
        ..CheckState::default()
    };
    product
}

pub fn sample_feed(name: &str) -> FeedSource {
    FeedSource {
        id: SourceId::generate(),
        name: SourceName::parse(name).unwrap(),
        url: format!("https://feeds.example.com/{name}.json"),
        format: FeedFormat::JsonApi,
        mapping: Some(FieldMapping {
            items: "/items".into(),
            title: "/title".into(),
            price: Some("/price".into()),
            currency: None,
            url: Some("/link".into()),
            category: None,
            condition: None,
            location: None,
            image: None,
        }),
        category: Some(Category::Computers),
        currency: Currency::parse("USD").ok(),
        enabled: true,
        created_at: Timestamp::now(),
        check: CheckState::default(),
        last_item_count: None,
    }
}

pub async fn due_products_are_claimed_once_until_the_lease_lapses(store: &dyn Store) {
    let never_checked = store.insert_product(&product(None)).await.unwrap();
    let overdue = store
        .insert_product(&product(Some(at(-600))))
        .await
        .unwrap();
    let later = store
        .insert_product(&product(Some(at(3600))))
        .await
        .unwrap();
    let lease = at(300);
    let claimed = store
        .claim_due_products(Timestamp::now(), lease, 10)
        .await
        .unwrap();
    let ids: Vec<_> = claimed.iter().map(|p| p.id).collect();
    assert_eq!(
        ids,
        vec![never_checked.id, overdue.id],
        "due ones, earliest first"
    );
    assert!(claimed.iter().all(|p| p.check.next_check_at == Some(lease)));
    assert!(!ids.contains(&later.id));
    assert_eq!(
        store
            .claim_due_products(Timestamp::now(), at(300), 10)
            .await
            .unwrap(),
        vec![],
        "claimed ones are not handed out again"
    );
    assert_eq!(
        store
            .product_by_id(overdue.id)
            .await
            .unwrap()
            .unwrap()
            .check
            .next_check_at,
        Some(lease),
        "the lease is stored"
    );
    // A scraper that died: the claim lapses and the product is due again.
    let after_lease = store
        .claim_due_products(at(301), at(900), 10)
        .await
        .unwrap();
    let again: BTreeSet<_> = after_lease.iter().map(|p| p.id).collect();
    assert_eq!(again, BTreeSet::from([never_checked.id, overdue.id]));
    // The limit is honoured.
    assert_eq!(
        store
            .claim_due_products(at(7200), at(8000), 1)
            .await
            .unwrap()
            .len(),
        1
    );
}

pub async fn concurrent_scrapers_split_due_products_without_overlap(store: &dyn Store) {
    let mut expected = BTreeSet::new();
    for _ in 0..12 {
        expected.insert(
            store
                .insert_product(&product(Some(at(-60))))
                .await
                .unwrap()
                .id,
        );
    }
    let (a, b) = tokio::join!(
        store.claim_due_products(Timestamp::now(), at(600), 8),
        store.claim_due_products(Timestamp::now(), at(600), 8),
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    let mut seen = BTreeSet::new();
    for product in a.iter().chain(b.iter()) {
        assert!(seen.insert(product.id), "{} claimed twice", product.id);
    }
    let rest = store
        .claim_due_products(Timestamp::now(), at(600), 20)
        .await
        .unwrap();
    seen.extend(rest.iter().map(|p| p.id));
    assert_eq!(seen, expected, "every due product claimed exactly once");
}

pub async fn products_list_by_host_in_id_order(store: &dyn Store) {
    let host = format!("shop-{}.example.com", ProductId::generate());
    let mut ids = Vec::new();
    for name in ["a", "b", "c"] {
        let product = TrackedProduct::new(
            format!("https://{host}/{name}"),
            host.clone(),
            Timestamp::now(),
        );
        ids.push(store.insert_product(&product).await.unwrap().id);
    }
    store
        .insert_product(&TrackedProduct::new(
            "https://elsewhere.example.org/x",
            "elsewhere.example.org",
            Timestamp::now(),
        ))
        .await
        .unwrap();
    ids.sort();
    let listed = |after: Option<ProductId>, limit: u32| {
        let host = host.clone();
        async move {
            store
                .products_of_host(&host, after, limit)
                .await
                .unwrap()
                .into_iter()
                .map(|p| p.id)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(listed(None, 2).await, ids[..2]);
    assert_eq!(listed(Some(ids[1]), 2).await, ids[2..]);
    assert!(listed(Some(ids[2]), 2).await.is_empty());
    // A checked product stays listed under its host.
    let mut checked = store.product_by_id(ids[0]).await.unwrap().unwrap();
    checked.title = Some("Checked".into());
    store.save_product(&checked).await.unwrap();
    let first = store.products_of_host(&host, None, 1).await.unwrap();
    assert_eq!(first[0].title.as_deref(), Some("Checked"));
}

pub async fn saved_products_keep_their_state_and_schedule(store: &dyn Store) {
    let mut stored = store.insert_product(&product(None)).await.unwrap();
    stored.title = Some("Espresso X1".into());
    stored.current_price = Some(Money::parse("279.00", Currency::parse("EUR").unwrap()).unwrap());
    stored.in_stock = Some(true);
    stored.last_checked_at = Some(Timestamp::now());
    stored
        .check
        .record(CheckResult::Ok, None, Timestamp::now(), 42);
    stored.check.etag = Some("\"v1\"".into());
    store.save_product(&stored).await.unwrap();
    assert_eq!(
        store.product_by_id(stored.id).await.unwrap(),
        Some(stored.clone())
    );
    assert_eq!(
        store.product_by_url(&stored.url).await.unwrap(),
        Some(stored.clone())
    );
    assert!(
        store
            .claim_due_products(Timestamp::now(), at(60), 10)
            .await
            .unwrap()
            .is_empty(),
        "rescheduled into the future"
    );
    assert!(matches!(
        store.save_product(&product(None)).await,
        Err(StoreError::NotFound)
    ));
}

pub async fn feeds_round_trip_with_unique_names_and_only_enabled_ones_fall_due(store: &dyn Store) {
    let tag = &SourceId::generate().to_string()[30..];
    let first = sample_feed(&format!("a-{tag}"));
    let mut second = sample_feed(&format!("b-{tag}"));
    second.enabled = false;
    second.format = FeedFormat::Auto;
    second.mapping = None;
    store.insert_feed(&second).await.unwrap();
    store.insert_feed(&first).await.unwrap();
    assert_eq!(
        store.feed_by_id(first.id).await.unwrap(),
        Some(first.clone())
    );
    assert_eq!(
        store.feeds().await.unwrap(),
        vec![first.clone(), second.clone()],
        "ordered by name"
    );
    let mut twin = sample_feed(&format!("a-{tag}"));
    twin.url = "https://elsewhere.example.com/feed".into();
    assert!(matches!(
        store.insert_feed(&twin).await,
        Err(StoreError::Conflict(_))
    ));

    let claimed = store
        .claim_due_feeds(Timestamp::now(), at(120), 10)
        .await
        .unwrap();
    assert_eq!(
        claimed.iter().map(|f| f.id).collect::<Vec<_>>(),
        vec![first.id],
        "disabled feeds never fall due"
    );
    assert!(store
        .claim_due_feeds(Timestamp::now(), at(120), 10)
        .await
        .unwrap()
        .is_empty());

    let mut checked = claimed[0].clone();
    checked
        .check
        .record(CheckResult::Ok, None, Timestamp::now(), 1);
    checked.last_item_count = Some(17);
    store.save_feed(&checked).await.unwrap();
    assert_eq!(store.feed_by_id(first.id).await.unwrap(), Some(checked));

    second.enabled = true;
    store.save_feed(&second).await.unwrap();
    let due = store
        .claim_due_feeds(Timestamp::now(), at(120), 10)
        .await
        .unwrap();
    assert_eq!(
        due.iter().map(|f| f.id).collect::<Vec<_>>(),
        vec![second.id],
        "enabled again: due"
    );

    store.delete_feed(first.id).await.unwrap();
    assert_eq!(store.feed_by_id(first.id).await.unwrap(), None);
    assert!(matches!(
        store.delete_feed(first.id).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.save_feed(&sample_feed("never-stored")).await,
        Err(StoreError::NotFound)
    ));
    // The name is free again.
    store.insert_feed(&twin).await.unwrap();
}

pub async fn host_health_counts_every_check(store: &dyn Store) {
    let host = format!(
        "shop-{}.example.com",
        &SourceId::generate().to_string()[24..]
    );
    let base = at(0);
    let checks = (0..20).map(|i| {
        let result = if i % 5 == 0 {
            CheckResult::Blocked
        } else {
            CheckResult::Ok
        };
        let when = base.checked_add(SignedDuration::from_secs(i)).unwrap();
        let host = host.clone();
        async move {
            store
                .record_check(&host, result, Some("403 from the site"), when)
                .await
        }
    });
    for outcome in futures::future::join_all(checks).await {
        outcome.unwrap();
    }
    let failed_at = base.checked_add(SignedDuration::from_secs(100)).unwrap();
    store
        .record_check(
            &host,
            CheckResult::PriceMissing,
            Some("no price"),
            failed_at,
        )
        .await
        .unwrap();
    let health = store.host_health().await.unwrap();
    let ours = health.iter().find(|h| h.host == host).unwrap();
    assert_eq!(ours.results.get(&CheckResult::Ok), Some(&16));
    assert_eq!(ours.results.get(&CheckResult::Blocked), Some(&4));
    assert_eq!(ours.results.get(&CheckResult::PriceMissing), Some(&1));
    assert_eq!(ours.total(), 21);
    assert_eq!(ours.last_failure, Some(CheckResult::PriceMissing));
    assert_eq!(ours.last_failure_reason.as_deref(), Some("no price"));
    assert_eq!(ours.last_failure_at, Some(failed_at));
    assert_eq!(ours.last_checked_at, Some(failed_at));
}
