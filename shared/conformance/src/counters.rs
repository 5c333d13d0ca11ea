//! Contracts of the rollup counters and of the admin listings (accounts by signup month, audit
//! events by day).

use crate::store::sample_user;
use dealpulse_domain::account::AuditEvent;
use dealpulse_domain::counters::{CounterBucket, CounterKey};
use dealpulse_domain::ids::{AuditEventId, ProductId, UserId};
use dealpulse_domain::ports::Store;
use jiff::civil::{date, Date};
use jiff::Timestamp;

/// A month nobody else's case writes to: cases share one backing table.
fn lonely_month() -> Date {
    let year = 1100 + (UserId::generate().as_uuid().as_u128() % 7000) as i16;
    date(year, 5, 1)
}

fn at(day: Date, hour: i8, minute: i8, second: i8) -> Timestamp {
    day.at(hour, minute, second, 0)
        .to_zoned(jiff::tz::TimeZone::UTC)
        .unwrap()
        .timestamp()
}

pub async fn counters_add_up_and_read_back_in_order(store: &dyn Store) {
    let tag = UserId::generate();
    let day = CounterBucket::day(date(2026, 11, 25));
    let a = CounterKey::new(format!("t{tag}.a"), day.clone());
    let b = CounterKey::new(format!("t{tag}.b"), day.clone());
    let elsewhere = CounterKey::new(format!("t{tag}.a"), CounterBucket::total());
    // Concurrent: every addition counts (DynamoDB's `ADD` is atomic; the test emulator serves
    // DynamoDB requests one at a time to honour that, see tests/support/moto_server.py).
    let both = [(a.clone(), 1), (b.clone(), 2)];
    let additions = futures::future::join_all((0..16).map(|_| store.add_counts(&both))).await;
    assert!(additions.iter().all(Result::is_ok), "{additions:?}");
    store.add_counts(&[(elsewhere.clone(), 7)]).await.unwrap();
    store.add_counts(&[(b.clone(), -5)]).await.unwrap();
    let never = CounterKey::new(format!("t{tag}.never"), day.clone());
    assert_eq!(
        store
            .counts(&[a.clone(), b.clone(), never, a.clone(), elsewhere])
            .await
            .unwrap(),
        vec![16, 27, 0, 16, 7]
    );
    // More keys than one batch read carries.
    let many: Vec<CounterKey> = (0..130)
        .map(|i| CounterKey::new(format!("t{tag}.many.{i:03}"), day.clone()))
        .collect();
    let changes: Vec<(CounterKey, i64)> = many
        .iter()
        .enumerate()
        .map(|(i, key)| (key.clone(), i as i64))
        .collect();
    store.add_counts(&changes).await.unwrap();
    let read = store.counts(&many).await.unwrap();
    assert_eq!(read, (0..130).collect::<Vec<i64>>());
    let listed = store
        .counts_with_prefix(&day, &format!("t{tag}.many."))
        .await
        .unwrap();
    assert_eq!(listed.len(), 130);
    assert_eq!(listed[0], (format!("t{tag}.many.000"), 0));
    assert_eq!(listed[129], (format!("t{tag}.many.129"), 129));
    let both = store
        .counts_with_prefix(&day, &format!("t{tag}."))
        .await
        .unwrap();
    assert_eq!(
        both.len(),
        132,
        "a, b and the 130 (not the total bucket's a)"
    );
}

pub async fn users_list_by_signup_month_newest_first(store: &dyn Store) {
    let month = lonely_month();
    let mut created = Vec::new();
    for (day, second) in [(3, 0), (9, 5), (9, 5), (20, 1), (28, 59)] {
        let mut user = sample_user();
        user.created_at = at(month.with().day(day).build().unwrap(), 12, 0, second);
        store.insert_user(&user).await.unwrap();
        created.push(user);
    }
    for outside in [
        month.yesterday().unwrap(),
        month.checked_add(jiff::ToSpan::months(1)).unwrap(),
    ] {
        let mut user = sample_user();
        user.created_at = at(outside, 0, 0, 0);
        store.insert_user(&user).await.unwrap();
    }
    created.sort_by_key(|user| std::cmp::Reverse((user.created_at, user.id)));
    let ids = |users: &[dealpulse_domain::account::User]| -> Vec<UserId> {
        users.iter().map(|user| user.id).collect()
    };
    let all = store.users_signed_up_in(month, None, 50).await.unwrap();
    assert_eq!(ids(&all), ids(&created));
    let mut paged = Vec::new();
    let mut after = None;
    loop {
        let page = store.users_signed_up_in(month, after, 2).await.unwrap();
        assert!(page.len() <= 2);
        let Some(last) = page.last() else { break };
        after = Some((last.created_at, last.id));
        paged.extend(page);
    }
    assert_eq!(ids(&paged), ids(&created));
}

pub async fn audit_events_list_by_day_newest_first(store: &dyn Store) {
    let day = lonely_month().with().day(17).build().unwrap();
    let event = |at: Timestamp, action: &str| AuditEvent {
        id: AuditEventId::generate(),
        at,
        user_id: None,
        actor: Some("conformance".into()),
        action: action.into(),
        ip: None,
        detail: serde_json::json!({}),
    };
    let mut that_day = Vec::new();
    for (hour, action) in [(0, "first"), (11, "second"), (23, "third")] {
        let appended = event(at(day, hour, 0, 0), action);
        store.append_audit(&appended).await.unwrap();
        that_day.push(appended);
    }
    store
        .append_audit(&event(at(day.tomorrow().unwrap(), 0, 0, 0), "next day"))
        .await
        .unwrap();
    that_day.reverse();
    assert_eq!(store.audit_of_day(day, None, 10).await.unwrap(), that_day);
    assert_eq!(
        store
            .audit_of_day(day, Some(that_day[0].id), 1)
            .await
            .unwrap(),
        that_day[1..2].to_vec()
    );
    assert!(store
        .audit_of_day(day, Some(that_day[2].id), 10)
        .await
        .unwrap()
        .is_empty());
}

pub async fn stores_keep_account_and_document_tallies_with_each_write(store: &dyn Store) {
    use dealpulse_domain::account::UserStatus;
    use dealpulse_domain::counters::{documents_of_kind, names};
    use dealpulse_domain::ports::StoreError;
    use dealpulse_domain::records::Document;

    let month = lonely_month();
    let bucket = CounterBucket::month(month);
    let read = |name: &'static str| CounterKey::new(name, bucket.clone());
    let keys = [
        read(names::USERS),
        read(names::USERS_VERIFIED),
        read(names::USERS_SUSPENDED),
        read(names::SIGNUPS),
    ];
    let mut user = sample_user();
    user.created_at = at(month.with().day(2).build().unwrap(), 8, 0, 0);
    store.insert_user(&user).await.unwrap();
    assert_eq!(store.counts(&keys).await.unwrap(), vec![1, 0, 0, 1]);

    let mut verified = user.clone();
    verified.email_verified_at = Some(Timestamp::now());
    let verified = store.update_user(&verified).await.unwrap();
    assert_eq!(store.counts(&keys).await.unwrap(), vec![1, 1, 0, 1]);

    // A stale write changes nothing, tallies included.
    let mut stale = user.clone();
    stale.status = UserStatus::Suspended;
    assert!(matches!(
        store.update_user(&stale).await,
        Err(StoreError::Stale)
    ));
    assert_eq!(store.counts(&keys).await.unwrap(), vec![1, 1, 0, 1]);

    let mut suspended = verified.clone();
    suspended.status = UserStatus::Suspended;
    store.update_user(&suspended).await.unwrap();
    assert_eq!(store.counts(&keys).await.unwrap(), vec![1, 1, 1, 1]);

    // A kind nobody else writes, so its total is this case's alone.
    let kind: &'static str =
        Box::leak(format!("tally{}", UserId::generate().as_uuid().simple()).into_boxed_str());
    let total = || documents_of_kind(kind);
    for key in ["a", "b", "c"] {
        let document = Document {
            kind,
            owner: user.id,
            key: key.into(),
            version: 1,
            body: serde_json::json!({ "key": key }),
        };
        store.insert_document(&document, Some(10)).await.unwrap();
    }
    store
        .delete_document(kind, user.id, "b", None)
        .await
        .unwrap();
    assert_eq!(store.counts(&[total()]).await.unwrap(), vec![2]);

    store.delete_user(user.id).await.unwrap();
    assert_eq!(
        store.counts(&keys).await.unwrap(),
        vec![0, 0, 0, 1],
        "signups stay counted"
    );
    assert_eq!(store.counts(&[total()]).await.unwrap(), vec![0]);
}

pub async fn extremes_keep_the_lowest_and_the_highest_offer(store: &dyn Store) {
    use dealpulse_domain::analytics::Extreme;
    let tag = UserId::generate();
    let low = CounterKey::new(format!("t{tag}.lo"), CounterBucket::total());
    let high = CounterKey::new(format!("t{tag}.hi"), CounterBucket::total());
    for value in [500, 300, 900, 300, 700] {
        store
            .keep_extremes(&[
                (low.clone(), Extreme::Lowest, value),
                (high.clone(), Extreme::Highest, value),
            ])
            .await
            .unwrap();
    }
    assert_eq!(store.counts(&[low, high]).await.unwrap(), vec![300, 900]);
}

pub async fn price_points_and_new_listings_roll_up_once(store: &dyn Store) {
    use crate::records::sample_listing;
    use dealpulse_domain::analytics::names;
    use dealpulse_domain::listing::{Cabin, FlightOffer, PricePoint, SourceName};
    use dealpulse_domain::money::{Currency, Money};
    let day = lonely_month().with().day(11).build().unwrap();
    let usd = |text: &str| Money::parse(text, Currency::parse("USD").unwrap()).unwrap();
    let product = ProductId::generate();
    for (hour, price) in [(8, "120.00"), (12, "100.00"), (20, "110.00")] {
        store
            .append_price_point(&PricePoint {
                previous: None,
                product_id: product,
                at: at(day, hour, 0, 0),
                price: usd(price),
                in_stock: true,
            })
            .await
            .unwrap();
    }
    let usd_code = Currency::parse("USD").unwrap();
    let price_key = |field: &str, bucket: CounterBucket| {
        CounterKey::new(names::price(product, usd_code, field), bucket)
    };
    let d = CounterBucket::day(day);
    assert_eq!(
        store
            .counts(&[
                price_key("n", d.clone()),
                price_key("sum", d.clone()),
                price_key("lo", d.clone()),
                price_key("hi", d.clone()),
                price_key("lo", CounterBucket::total()),
            ])
            .await
            .unwrap(),
        vec![3, 33_000, 10_000, 12_000, 10_000]
    );

    // A listing counts once however often it is seen again; a personal one not at all.
    let source = format!("c{}", &tag_of(product)[..12]);
    let mut flight = sample_listing("BOS to Lisbon", at(day, 9, 0, 0));
    flight.source = SourceName::parse(&source).unwrap();
    flight.flight = Some(FlightOffer {
        origin: "BOS".into(),
        destination: "LIS".into(),
        depart_on: day,
        return_on: None,
        stops: 0,
        cabin: Cabin::Economy,
    });
    store.put_listing(&flight).await.unwrap();
    flight.price = usd("450.00");
    store.put_listing(&flight).await.unwrap();
    let mut personal = sample_listing("Only for one reader", at(day, 10, 0, 0));
    personal.source = flight.source.clone();
    personal.audience = Some(UserId::generate());
    store.put_listing(&personal).await.unwrap();
    assert_eq!(
        store
            .counts(&[
                CounterKey::new(names::deals_by("source", &source), d.clone()),
                CounterKey::new(names::destination("LIS", "n"), d.clone()),
                CounterKey::new(names::destination("LIS", "disc"), d.clone()),
            ])
            .await
            .unwrap(),
        // 499 against 699 is 28.61 % off.
        vec![1, 1, 2861]
    );
}

fn tag_of(product: ProductId) -> String {
    product.as_uuid().simple().to_string()
}
