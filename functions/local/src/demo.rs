//! What `serve --demo` adds for the demo user so the product has something to show: two alert
//! rules (a local marketplace search and a flight), a handful of listings from a source named
//! `demo` to dry-run the rules against, and the demo shop's products (two of them watched) and
//! deals feed, checked every two minutes. Seeded once; restarts keep edits.

use crate::demo_shop::{price_cents, PRODUCTS};
use dealpulse_domain::geo::{
    DistanceUnit, FlightPlace, FlightPlaceInput, GeoPoint, Location, Radius,
};
use dealpulse_domain::ids::{ListingId, ProductId, RuleId, SourceId, UserId, WatchId};
use dealpulse_domain::listing::{
    Cabin, Category, Condition, FlightOffer, Listing, PricePoint, SourceName, TrackedProduct,
    TripType,
};
use dealpulse_domain::money::{Currency, Money};
use dealpulse_domain::ports::Store;
use dealpulse_domain::query::Query;
use dealpulse_domain::records::records;
use dealpulse_domain::rules::{AlertRule, FlightCriteria, RuleName};
use dealpulse_domain::sources::{CheckState, FeedFormat, FeedSource};
use dealpulse_domain::watch::{Rearm, WatchItem, WatchTrigger};
use jiff::{SignedDuration, Timestamp, ToSpan};
use std::collections::BTreeSet;

/// What was seeded, for the console.
pub struct Seeded {
    pub rules: usize,
    pub watches: usize,
    pub listings: usize,
}

fn ago(now: Timestamp, hours: i64) -> anyhow::Result<Timestamp> {
    Ok(now.checked_sub(SignedDuration::from_hours(hours))?)
}

fn usd(amount: &str) -> anyhow::Result<Money> {
    Ok(Money::parse(amount, Currency::parse("USD")?)?)
}

/// Minutes between checks of the demo shop's pages and feed: short, so history grows while
/// someone looks.
const DEMO_CHECK_MINUTES: u32 = 2;

/// Tracks every demo-shop product and its deals feed, with 30 days of backfilled history drawn
/// from the shop's own price walk, and watches two products. Returns the number of watches.
async fn seed_demo_shop(
    store: &dyn Store,
    owner: UserId,
    now: Timestamp,
    shop_base: &str,
) -> anyhow::Result<usize> {
    let mut watches = 0;
    for product in PRODUCTS {
        let currency = Currency::parse(product.currency)?;
        let money = |cents: i64| Money::from_minor(cents, currency);
        let tracked = store
            .insert_product(&TrackedProduct {
                id: ProductId::generate(),
                url: format!("{shop_base}/p/{}", product.slug),
                host: url::Url::parse(shop_base)?
                    .host_str()
                    .unwrap_or("127.0.0.1")
                    .to_string(),
                title: Some(product.name.to_string()),
                current_price: None,
                in_stock: None,
                created_at: now,
                last_checked_at: None,
                selectors: None,
                check: CheckState {
                    interval_minutes: DEMO_CHECK_MINUTES,
                    ..CheckState::default()
                },
            })
            .await?;
        let mut last = None;
        for hours in (1..=30 * 24).rev().step_by(6) {
            let at = ago(now, hours)?;
            let cents = price_cents(product.slug, product.list_cents, at);
            if last != Some(cents) {
                store
                    .append_price_point(&PricePoint {
                        product_id: tracked.id,
                        at,
                        price: money(cents)?,
                        in_stock: true,
                        previous: last.map(money).transpose()?,
                    })
                    .await?;
                last = Some(cents);
            }
        }
        let trigger = match product.slug {
            "espresso-machine-x1" => WatchTrigger::TargetPrice {
                price: money(product.list_cents * 80 / 100)?,
            },
            "noise-cancelling-headphones" => WatchTrigger::PercentDrop { percent: 15 },
            _ => continue,
        };
        records::<WatchItem>(store)
            .insert(
                &WatchItem {
                    id: WatchId::generate(),
                    owner,
                    product_id: tracked.id,
                    listing_id: None,
                    label: Some(product.name.to_string()),
                    trigger,
                    rearm: Rearm::WhenConditionClears {},
                    check_interval_minutes: 360,
                    price_when_watched: Some(money(product.list_cents)?),
                    armed: true,
                    last_fired_at: None,
                    enabled: true,
                    created_at: now,
                    updated_at: now,
                    version: 0,
                },
                None,
            )
            .await?;
        // What the watch route counts for the popular products.
        store
            .add_counts(&[(
                dealpulse_domain::counters::CounterKey::total(
                    dealpulse_domain::analytics::names::watchers(tracked.id),
                ),
                1,
            )])
            .await?;
        watches += 1;
    }
    store
        .insert_feed(&FeedSource {
            id: SourceId::generate(),
            name: SourceName::parse("demo-shop")?,
            url: format!("{shop_base}/feed.xml"),
            format: FeedFormat::Auto,
            mapping: None,
            category: Some(Category::Other),
            currency: Some(Currency::parse("USD")?),
            enabled: true,
            created_at: now,
            check: CheckState {
                interval_minutes: DEMO_CHECK_MINUTES,
                ..CheckState::default()
            },
            last_item_count: None,
        })
        .await?;
    Ok(watches)
}

/// Seeds the demo user's rules, sample listings and the demo shop at `shop_base`
/// (`http://<addr>/demo-shop`). Nothing happens when the user already has rules.
pub async fn seed(
    store: &dyn Store,
    owner: UserId,
    now: Timestamp,
    shop_base: &str,
) -> anyhow::Result<Option<Seeded>> {
    let rules = records::<AlertRule>(store);
    if rules.count(owner).await? > 0 {
        return Ok(None);
    }
    let boston = GeoPoint::new(42.3601, -71.0589)?;
    let base = AlertRule {
        max_price: Some(usd("800")?),
        categories: BTreeSet::from([Category::Computers]),
        location: Some(Location {
            label: "Boston, US".into(),
            point: boston,
        }),
        radius: Some(Radius::new(50.0, DistanceUnit::Km)?),
        ..AlertRule::new(
            owner,
            RuleName::parse("Gaming PC under $800 near Boston")?,
            Query::parse("gaming (pc OR desktop) -mac")?,
            now,
        )
    };
    let flight_rule = AlertRule {
        id: RuleId::generate(),
        name: RuleName::parse("Boston to Europe under $400")?,
        query: Query::default(),
        max_price: Some(usd("400")?),
        categories: BTreeSet::new(),
        location: None,
        radius: None,
        flight: Some(FlightCriteria {
            origins: vec![FlightPlace::resolve(&FlightPlaceInput::Text("BOS".into()))
                .map_err(anyhow::Error::msg)?],
            destinations: vec![
                FlightPlace::resolve(&FlightPlaceInput::Text("Europe".into()))
                    .map_err(anyhow::Error::msg)?,
            ],
            depart: None,
            return_window: None,
            trip_type: Some(TripType::RoundTrip),
            max_stops: Some(1),
            cabins: BTreeSet::from([Cabin::Economy, Cabin::PremiumEconomy]),
        }),
        ..base.clone()
    };
    rules.insert(&base, None).await?;
    rules.insert(&flight_rule, None).await?;

    let source = SourceName::parse("demo")?;
    let listing = |title: &str, price: &str, hours: i64| -> anyhow::Result<Listing> {
        Ok(Listing {
            id: ListingId::generate(),
            source: source.clone(),
            url: format!("https://deals.example.com/demo/{}", ListingId::generate()),
            title: title.into(),
            description: String::new(),
            price: usd(price)?,
            was_price: None,
            category: Some(Category::Computers),
            condition: Some(Condition::Used),
            location: Some(GeoPoint::new(42.3736, -71.1097)?), // Cambridge, MA
            score: Some(70),
            flight: None,
            seen_at: ago(now, hours)?,
            audience: None,
        })
    };
    let mut listings = vec![
        listing("Gaming PC, RTX 4070, Ryzen 7, 32 GB", "749.99", 3)?,
        listing("Gaming desktop tower, RTX 3060", "520.00", 20)?,
        listing("Mac mini M2 gaming setup", "650.00", 8)?,
        listing("Gaming PC, RTX 4080 Super", "1150.00", 30)?,
    ];
    let mut far = listing("Gaming PC, RTX 4060", "600.00", 12)?;
    far.location = Some(GeoPoint::new(40.7128, -74.0060)?); // New York
    listings.push(far);
    let today = now.to_zoned(jiff::tz::TimeZone::UTC).date();
    for (destination, price, stops, hours) in [("LIS", "389.00", 0, 2), ("CDG", "455.00", 1, 6)] {
        let mut fare = listing(
            &format!("Boston (BOS) to {destination}, round trip"),
            price,
            hours,
        )?;
        fare.category = Some(Category::Flights);
        fare.condition = None;
        fare.location = None;
        fare.flight = Some(FlightOffer {
            origin: "BOS".into(),
            destination: destination.into(),
            depart_on: today.checked_add(45.days())?,
            return_on: Some(today.checked_add(52.days())?),
            stops,
            cabin: Cabin::Economy,
        });
        listings.push(fare);
    }
    for item in &listings {
        store.put_listing(item).await?;
    }

    let watched = seed_demo_shop(store, owner, now, shop_base).await?;
    Ok(Some(Seeded {
        rules: 2,
        watches: watched,
        listings: listings.len(),
    }))
}
