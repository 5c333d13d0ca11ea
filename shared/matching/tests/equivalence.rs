//! The indexed engine against the naive reference on random rules and listings: exactly the same
//! matches, always. And the boolean rule check against the explaining one.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use dealpulse_domain::geo::{FlightPlace, FlightPlaceInput, GeoPoint, Location};
use dealpulse_domain::ids::{ListingId, RuleId, UserId};
use dealpulse_domain::listing::{Cabin, Category, Condition, FlightOffer, Listing, SourceName};
use dealpulse_domain::money::{Currency, Money};
use dealpulse_domain::query::Query;
use dealpulse_domain::rules::{AlertRule, FlightCriteria, RuleName};
use dealpulse_matching::{explain, listing_words, naive_matches, MatchIndex};
use jiff::civil::Date;
use jiff::Timestamp;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use std::collections::BTreeSet;

const WORDS: &[&str] = &[
    "gaming",
    "pc",
    "desktop",
    "mac",
    "rtx",
    "4070",
    "laptop",
    "chair",
    "monitor",
    "ergonomic",
];
const CATEGORIES: &[Category] = &[Category::Computers, Category::Gaming, Category::Furniture];
const AIRPORTS: &[&str] = &["BOS", "JFK", "LHR", "CDG", "LIS"];

fn money(cents: i64, currency: &str) -> Money {
    Money::from_minor(cents, Currency::parse(currency).unwrap()).unwrap()
}

const SOURCES: &[&str] = &["shop", "feed", "mail"];

/// Price bounds (in one of two currencies), deal score, conditions and sources of a rule.
#[allow(clippy::type_complexity)]
fn extras() -> impl Strategy<
    Value = (
        &'static str,
        Option<i64>,
        Option<u8>,
        BTreeSet<Condition>,
        BTreeSet<&'static str>,
    ),
> {
    (
        prop::sample::select(&["USD", "USD", "EUR"][..]),
        prop::option::weighted(0.3, 5_000i64..120_000),
        prop::option::weighted(0.3, 0u8..=100),
        prop::collection::btree_set(prop::sample::select(Condition::ALL), 0..2),
        prop::collection::btree_set(prop::sample::select(SOURCES), 0..2),
    )
}

fn place(text: &str) -> FlightPlace {
    match text {
        "US" => FlightPlace::Country("US".into()),
        _ => FlightPlace::resolve(&FlightPlaceInput::Text(text.into())).unwrap(),
    }
}

fn word() -> impl Strategy<Value = &'static str> {
    prop::sample::select(WORDS)
}

/// Query text from the vocabulary: required words, a phrase, an OR group, an exclusion.
fn query_text() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(word(), 0..3),
        prop::option::of((word(), word())),
        prop::option::of((word(), word())),
        prop::option::of(word()),
    )
        .prop_map(|(required, phrase, group, excluded)| {
            let mut parts: Vec<String> = required.iter().map(|w| w.to_string()).collect();
            if let Some((a, b)) = phrase {
                parts.push(format!("\"{a} {b}\""));
            }
            if let Some((a, b)) = group {
                parts.push(format!("({a} OR {b})"));
            }
            if let Some(x) = excluded {
                parts.push(format!("-{x}"));
            }
            parts.join(" ")
        })
}

fn rule() -> impl Strategy<Value = AlertRule> {
    (
        query_text(),
        prop::collection::btree_set(prop::sample::select(CATEGORIES), 0..3),
        prop::option::of(10_000i64..200_000),
        prop::option::of((
            prop::sample::select(&["BOS", "New York", "Europe", "US"][..]),
            prop::option::of(0u8..2),
        )),
        prop::option::of(0u8..2),
        extras(),
        prop::bool::weighted(0.9),
    )
        .prop_map(
            |(text, categories, max_cents, flight, near_boston, extras, enabled)| {
                let now = Timestamp::UNIX_EPOCH;
                let (currency, min_cents, min_score, conditions, sources) = extras;
                AlertRule {
                    max_price: max_cents.map(|cents| money(cents, currency)),
                    min_price: min_cents.map(|cents| money(cents, currency)),
                    min_score,
                    conditions,
                    sources: sources
                        .into_iter()
                        .map(|s| SourceName::parse(s).unwrap())
                        .collect(),
                    categories,
                    location: near_boston.map(|_| Location {
                        label: "Boston".into(),
                        point: GeoPoint::new(42.36, -71.06).unwrap(),
                    }),
                    radius: near_boston.map(|n| {
                        dealpulse_domain::geo::Radius::new(
                            if n == 0 { 30.0 } else { 400.0 },
                            dealpulse_domain::geo::DistanceUnit::Km,
                        )
                        .unwrap()
                    }),
                    flight: flight.map(|(origin, stops)| FlightCriteria {
                        origins: vec![place(origin)],
                        destinations: Vec::new(),
                        depart: None,
                        return_window: None,
                        trip_type: None,
                        max_stops: stops,
                        cabins: BTreeSet::new(),
                    }),
                    enabled,
                    version: 1,
                    ..AlertRule::new(
                        UserId::generate(),
                        RuleName::parse("random").unwrap(),
                        Query::parse(&text).unwrap_or_default(),
                        now,
                    )
                }
            },
        )
}

fn listing() -> impl Strategy<Value = Listing> {
    (
        prop::collection::vec(word(), 1..7),
        prop::option::of(prop::sample::select(CATEGORIES)),
        5_000i64..250_000,
        prop::option::of((prop::sample::select(AIRPORTS), 0u8..3)),
        prop::option::of((-89.0f64..89.0, -180.0f64..180.0)),
        prop::option::of(prop::sample::select(
            &[
                (42.37, -71.11),
                (40.71, -74.0),
                (51.5, -0.12),
                (42.36, -71.06),
            ][..],
        )),
        (
            prop::sample::select(&["USD", "USD", "EUR"][..]),
            prop::option::of(0u8..=100),
            prop::option::of(prop::sample::select(Condition::ALL)),
            prop::sample::select(SOURCES),
        ),
    )
        .prop_map(|(title, category, cents, flight, anywhere, near, extras)| {
            let (currency, score, condition, source) = extras;
            Listing {
                id: ListingId::generate(),
                source: SourceName::parse(source).unwrap(),
                url: "https://deals.example.com/x".into(),
                title: title.join(" "),
                description: String::new(),
                price: money(cents, currency),
                was_price: None,
                category,
                condition,
                location: near
                    .or(anywhere)
                    .map(|(lat, lon)| GeoPoint::new(lat, lon).unwrap()),
                score,
                flight: flight.map(|(origin, stops)| FlightOffer {
                    origin: origin.into(),
                    destination: "LIS".into(),
                    depart_on: Date::new(2027, 3, 1).unwrap(),
                    return_on: None,
                    stops,
                    cabin: Cabin::Economy,
                }),
                seen_at: Timestamp::UNIX_EPOCH,
                audience: None,
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn the_index_finds_exactly_what_checking_every_rule_finds(
        rules in prop::collection::vec(rule(), 0..80),
        listings in prop::collection::vec(listing(), 1..20),
    ) {
        let index = MatchIndex::build(rules.clone());
        for listing in &listings {
            prop_assert_eq!(index.matches(listing), naive_matches(&rules, listing), "{}", listing.title);
        }
    }

    #[test]
    fn the_fast_rule_check_agrees_with_the_explaining_one(rule in rule(), listing in listing()) {
        let haystack = listing_words(&listing);
        prop_assert_eq!(rule.matches(&listing, &haystack), explain(&rule, &listing).is_empty());
    }
}

#[test]
fn a_listing_matches_through_each_kind_of_key() {
    let rules: Vec<AlertRule> = ["gaming pc", "(chair OR monitor)", ""]
        .iter()
        .map(|text| {
            let mut rule = rule()
                .new_tree(&mut proptest::test_runner::TestRunner::deterministic())
                .unwrap()
                .current();
            rule.query = Query::parse(text).unwrap_or_default();
            rule.enabled = true;
            rule.max_price = None;
            rule.min_price = None;
            rule.min_score = None;
            rule.conditions = BTreeSet::new();
            rule.sources = BTreeSet::new();
            rule.categories = BTreeSet::new();
            rule.location = None;
            rule.radius = None;
            rule.flight = None;
            rule
        })
        .collect();
    let index = MatchIndex::build(rules.clone());
    assert_eq!(index.len(), 3);
    let mut pc = listing()
        .new_tree(&mut proptest::test_runner::TestRunner::deterministic())
        .unwrap()
        .current();
    pc.title = "Gaming PC with RTX".into();
    pc.flight = None;
    let found = index.matches(&pc);
    assert!(found.contains(&rules[0].id));
    assert!(!found.contains(&rules[1].id));
    assert!(
        found.contains(&rules[2].id),
        "a rule with no criteria matches everything"
    );
    assert_eq!(found, naive_matches(&rules, &pc));
}

/// The equivalence test means something only if random rules do match random listings.
#[test]
fn random_rules_match_a_fair_share_of_random_listings() {
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let rules: Vec<AlertRule> = (0..300)
        .map(|_| rule().new_tree(&mut runner).unwrap().current())
        .collect();
    let index = MatchIndex::build(rules.clone());
    let mut matched_listings = 0;
    let mut matches = 0;
    for _ in 0..300 {
        let listing = listing().new_tree(&mut runner).unwrap().current();
        let found = index.matches(&listing);
        assert_eq!(found, naive_matches(&rules, &listing));
        matched_listings += usize::from(!found.is_empty());
        matches += found.len();
    }
    assert!(
        matched_listings > 100,
        "only {matched_listings} of 300 listings matched anything"
    );
    assert!(matches > 300, "only {matches} matches");
}

fn area_rule(lat: f64, lon: f64, km: f64) -> AlertRule {
    let mut rule = rule()
        .new_tree(&mut proptest::test_runner::TestRunner::deterministic())
        .unwrap()
        .current();
    rule.id = RuleId::generate();
    rule.query = Query::default();
    rule.enabled = true;
    rule.max_price = None;
    rule.categories = BTreeSet::new();
    rule.flight = None;
    rule.location = Some(Location {
        label: "centre".into(),
        point: GeoPoint::new(lat, lon).unwrap(),
    });
    rule.radius = Some(
        dealpulse_domain::geo::Radius::new(km, dealpulse_domain::geo::DistanceUnit::Km).unwrap(),
    );
    rule
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Search areas anywhere on the globe, across the antimeridian and near the poles, of every
    /// size: the grid never loses a listing the distance check accepts.
    #[test]
    fn search_areas_are_found_through_the_grid_everywhere(
        centres in prop::collection::vec(
            (-89.9f64..89.9, -180.0f64..180.0, prop::sample::select(&[5.0, 80.0, 600.0, 3000.0, 9000.0][..])),
            1..30,
        ),
        points in prop::collection::vec((-89.9f64..89.9, -180.0f64..180.0), 1..30),
        nudges in prop::collection::vec((-0.5f64..0.5, -0.5f64..0.5), 30),
    ) {
        let rules: Vec<AlertRule> = centres.iter().map(|(lat, lon, km)| area_rule(*lat, *lon, *km)).collect();
        let index = MatchIndex::build(rules.clone());
        let mut template = listing()
            .new_tree(&mut proptest::test_runner::TestRunner::deterministic())
            .unwrap()
            .current();
        template.flight = None;
        // Random points, and points right next to each centre (so matches do happen).
        let near = centres.iter().zip(nudges.iter()).map(|((lat, lon, _), (dlat, dlon))| {
            ((lat + dlat).clamp(-89.9, 89.9), (lon + dlon + 540.0).rem_euclid(360.0) - 180.0)
        });
        for (lat, lon) in points.iter().copied().chain(near) {
            let mut listing = template.clone();
            listing.location = Some(GeoPoint::new(lat, lon).unwrap());
            prop_assert_eq!(index.matches(&listing), naive_matches(&rules, &listing), "({}, {})", lat, lon);
        }
    }
}

/// Price caps are inclusive, per currency, and a minimum deal score is a floor the index
/// applies before reading the rule: the boundaries random data rarely hits.
#[test]
fn price_caps_and_score_floors_hold_at_their_boundaries() {
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let mut blank = || {
        let mut rule = rule().new_tree(&mut runner).unwrap().current();
        rule.query = Query::parse("monitor").unwrap();
        rule.enabled = true;
        (rule.min_price, rule.min_score, rule.flight) = (None, None, None);
        (rule.location, rule.radius) = (None, None);
        rule.categories = BTreeSet::new();
        rule.conditions = BTreeSet::new();
        rule.sources = BTreeSet::new();
        rule
    };
    let mut at_cap = blank();
    at_cap.max_price = Some(money(19_999, "USD"));
    let mut below_cap = blank();
    below_cap.max_price = Some(money(19_998, "USD"));
    let mut in_euro = blank();
    in_euro.max_price = Some(money(50_000, "EUR"));
    let mut floor_met = blank();
    (floor_met.max_price, floor_met.min_score) = (None, Some(80));
    let mut floor_missed = blank();
    (floor_missed.max_price, floor_missed.min_score) = (None, Some(81));
    let rules = vec![at_cap, below_cap, in_euro, floor_met, floor_missed];
    let index = MatchIndex::build(rules.clone());
    let mut listing = listing().new_tree(&mut runner).unwrap().current();
    listing.title = "27 inch monitor".into();
    listing.price = money(19_999, "USD");
    listing.score = Some(80);
    listing.flight = None;
    let found = index.matches(&listing);
    let mut expected = vec![rules[0].id, rules[3].id];
    expected.sort();
    assert_eq!(found, expected);
    assert_eq!(found, naive_matches(&rules, &listing));
}
