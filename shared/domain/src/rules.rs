//! Deal alert rules: one model for products, marketplace listings and flights, and the
//! evaluation of a rule against a listing that says which criteria failed.

use crate::account::InvalidValue;
use crate::geo::{FlightPlace, Location, Radius};
use crate::ids::{RuleId, UserId};
use crate::listing::{Cabin, Category, Condition, FlightOffer, Listing, SourceName, TripType};
use crate::money::{Currency, Money};
use crate::preferences::{Channel, Frequency};
use crate::query::{words, Query};
use jiff::civil::Date;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// A rule's name: 1 to 100 characters, trimmed, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RuleName(String);

impl RuleName {
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let name = raw.trim();
        let chars = name.chars().count();
        if chars == 0 || chars > 100 {
            return Err(InvalidValue("a rule name must be 1 to 100 characters"));
        }
        if name.chars().any(char::is_control) {
            return Err(InvalidValue(
                "a rule name must not contain control characters",
            ));
        }
        Ok(Self(name.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for RuleName {
    type Error = InvalidValue;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<RuleName> for String {
    fn from(value: RuleName) -> Self {
        value.0
    }
}

/// An inclusive range of dates, at most a year long.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "DateWindowJson", into = "DateWindowJson")]
pub struct DateWindow {
    from: Date,
    to: Date,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DateWindowJson {
    pub from: Date,
    pub to: Date,
}

impl TryFrom<DateWindowJson> for DateWindow {
    type Error = InvalidValue;
    fn try_from(value: DateWindowJson) -> Result<Self, Self::Error> {
        DateWindow::new(value.from, value.to)
    }
}

impl From<DateWindow> for DateWindowJson {
    fn from(value: DateWindow) -> Self {
        DateWindowJson {
            from: value.from,
            to: value.to,
        }
    }
}

impl DateWindow {
    pub fn new(from: Date, to: Date) -> Result<Self, InvalidValue> {
        if from > to {
            return Err(InvalidValue(
                "a date window's from must not be after its to",
            ));
        }
        let days = from
            .until(to)
            .map(|span| span.get_days())
            .unwrap_or(i32::MAX);
        if days > 366 {
            return Err(InvalidValue("a date window may span at most 366 days"));
        }
        Ok(Self { from, to })
    }

    pub fn from(&self) -> Date {
        self.from
    }
    pub fn to(&self) -> Date {
        self.to
    }

    pub fn contains(&self, date: Date) -> bool {
        self.from <= date && date <= self.to
    }
}

/// Flight criteria of a rule ("any flight from BOS to Europe under $400").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlightCriteria {
    /// At least one place the flight may start from.
    pub origins: Vec<FlightPlace>,
    /// Places it may go to; empty means anywhere.
    pub destinations: Vec<FlightPlace>,
    pub depart: Option<DateWindow>,
    pub return_window: Option<DateWindow>,
    pub trip_type: Option<TripType>,
    pub max_stops: Option<u8>,
    /// Acceptable cabins; empty means any.
    pub cabins: BTreeSet<Cabin>,
}

impl FlightCriteria {
    /// Whether a flight offer meets every flight criterion.
    pub fn admits(&self, offer: &FlightOffer) -> bool {
        self.origins.iter().any(|p| p.contains(&offer.origin))
            && (self.destinations.is_empty()
                || self
                    .destinations
                    .iter()
                    .any(|p| p.contains(&offer.destination)))
            && self.depart.is_none_or(|w| w.contains(offer.depart_on))
            && self
                .return_window
                .is_none_or(|w| offer.return_on.is_some_and(|date| w.contains(date)))
            && self.trip_type.is_none_or(|t| t == offer.trip_type())
            && self.max_stops.is_none_or(|max| offer.stops <= max)
            && (self.cabins.is_empty() || self.cabins.contains(&offer.cabin))
    }
}

/// A deal alert rule. Every criterion that is set must hold for a listing to match.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertRule {
    pub id: RuleId,
    pub owner: UserId,
    pub name: RuleName,
    pub query: Query,
    pub min_price: Option<Money>,
    pub max_price: Option<Money>,
    pub categories: BTreeSet<Category>,
    pub conditions: BTreeSet<Condition>,
    pub location: Option<Location>,
    pub radius: Option<Radius>,
    pub min_score: Option<u8>,
    pub sources: BTreeSet<SourceName>,
    pub flight: Option<FlightCriteria>,
    /// Channels for this rule instead of the user's defaults.
    pub channels: Option<BTreeSet<Channel>>,
    /// Frequency for this rule instead of the user's default.
    pub frequency: Option<Frequency>,
    pub enabled: bool,
    /// Minimum time between two alerts of this rule, in minutes.
    pub cooldown_minutes: u32,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub last_triggered_at: Option<Timestamp>,
    pub version: u64,
}

/// The checks a rule's criteria must pass together; constructing an [`AlertRule`] goes through
/// [`RuleCriteria::check`] so no stored rule breaks them.
pub struct RuleCriteria<'a> {
    pub min_price: Option<&'a Money>,
    pub max_price: Option<&'a Money>,
    pub location: Option<&'a Location>,
    pub radius: Option<&'a Radius>,
    pub min_score: Option<u8>,
    pub flight: Option<&'a FlightCriteria>,
    pub cooldown_minutes: u32,
}

/// A rule-level validation failure: the field it concerns and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleProblem {
    pub field: &'static str,
    pub message: String,
}

impl RuleCriteria<'_> {
    pub const MAX_COOLDOWN_MINUTES: u32 = 60 * 24 * 30;
    pub const MAX_PLACES: usize = 20;

    pub fn check(&self) -> Vec<RuleProblem> {
        let mut problems = Vec::new();
        let mut problem = |field: &'static str, message: &str| {
            problems.push(RuleProblem {
                field,
                message: message.to_string(),
            })
        };
        if let (Some(min), Some(max)) = (self.min_price, self.max_price) {
            if min.currency() != max.currency() {
                problem(
                    "max_price",
                    "min_price and max_price must use the same currency",
                );
            } else if min.minor() > max.minor() {
                problem("min_price", "min_price must not be above max_price");
            }
        }
        if self.radius.is_some() && self.location.is_none() {
            problem("radius", "a radius needs a location");
        }
        if self.location.is_some() && self.radius.is_none() {
            problem("location", "a location needs a radius");
        }
        if self.min_score.is_some_and(|score| score > 100) {
            problem("min_score", "min_score must be between 0 and 100");
        }
        if self.cooldown_minutes > Self::MAX_COOLDOWN_MINUTES {
            problem(
                "cooldown_minutes",
                "cooldown_minutes may be at most 43200 (30 days)",
            );
        }
        if let Some(flight) = self.flight {
            if flight.origins.is_empty() {
                problem("flight.origins", "a flight rule needs at least one origin");
            }
            if flight.origins.len() > Self::MAX_PLACES
                || flight.destinations.len() > Self::MAX_PLACES
            {
                problem("flight", "at most 20 origins and 20 destinations");
            }
            if flight.max_stops.is_some_and(|stops| stops > 3) {
                problem("flight.max_stops", "max_stops must be between 0 and 3");
            }
            if flight.return_window.is_some() && flight.trip_type == Some(TripType::OneWay) {
                problem(
                    "flight.return_window",
                    "a one-way trip has no return window",
                );
            }
            if let (Some(depart), Some(back)) = (flight.depart, flight.return_window) {
                if back.to() < depart.from() {
                    problem(
                        "flight.return_window",
                        "the return window ends before the departure window starts",
                    );
                }
            }
        }
        problems
    }
}

/// One criterion a listing failed, for "why didn't it match".
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CriterionMiss {
    /// `keywords`, `price`, `category`, `condition`, `location`, `score`, `source`,
    /// `flight.origin`, `flight.destination`, `flight.depart`, `flight.return`,
    /// `flight.trip_type`, `flight.stops`, `flight.cabin`.
    pub criterion: &'static str,
    pub reason: String,
}

impl AlertRule {
    /// Cooldown of a rule created without one.
    pub const DEFAULT_COOLDOWN_MINUTES: u32 = 60;

    /// An enabled rule with only a name and a query: every other criterion open, the user's
    /// channels and frequency, the default cooldown. Set further criteria with struct update.
    pub fn new(owner: UserId, name: RuleName, query: Query, now: Timestamp) -> Self {
        Self {
            id: RuleId::generate(),
            owner,
            name,
            query,
            min_price: None,
            max_price: None,
            categories: BTreeSet::new(),
            conditions: BTreeSet::new(),
            location: None,
            radius: None,
            min_score: None,
            sources: BTreeSet::new(),
            flight: None,
            channels: None,
            frequency: None,
            enabled: true,
            cooldown_minutes: Self::DEFAULT_COOLDOWN_MINUTES,
            created_at: now,
            updated_at: now,
            last_triggered_at: None,
            version: 0,
        }
    }

    /// The currency of the rule's price bounds, if any.
    pub fn price_currency(&self) -> Option<Currency> {
        self.min_price
            .or(self.max_price)
            .map(|money| money.currency())
    }

    /// Whether the listing meets every criterion: the allocation-free twin of
    /// [`AlertRule::evaluate`] (`evaluate(l).is_empty()`), for the matching engine's hot path.
    /// `haystack` is `query::words(title + " " + description)`.
    pub fn matches(&self, listing: &Listing, haystack: &[String]) -> bool {
        if !self.query.is_empty() && !self.query.matches(haystack) {
            return false;
        }
        if let Some(currency) = self.price_currency() {
            let price = listing.price;
            if price.currency() != currency
                || self
                    .max_price
                    .is_some_and(|max| price.minor() > max.minor())
                || self
                    .min_price
                    .is_some_and(|min| price.minor() < min.minor())
            {
                return false;
            }
        }
        if !self.categories.is_empty()
            && !listing
                .category
                .is_some_and(|c| self.categories.contains(&c))
        {
            return false;
        }
        if !self.conditions.is_empty()
            && !listing
                .condition
                .is_some_and(|c| self.conditions.contains(&c))
        {
            return false;
        }
        if let (Some(location), Some(radius)) = (&self.location, &self.radius) {
            match &listing.location {
                Some(point) if location.point.distance_km(point) <= radius.km() => {}
                _ => return false,
            }
        }
        if let Some(min_score) = self.min_score {
            if listing.score.is_none_or(|score| score < min_score) {
                return false;
            }
        }
        if !self.sources.is_empty() && !self.sources.contains(&listing.source) {
            return false;
        }
        if let Some(criteria) = &self.flight {
            if !listing
                .flight
                .as_ref()
                .is_some_and(|offer| criteria.admits(offer))
            {
                return false;
            }
        }
        true
    }

    /// Every criterion the listing fails; empty when the listing matches. Disabled rules are
    /// evaluated all the same (a dry run of a paused rule is useful).
    pub fn evaluate(&self, listing: &Listing) -> Vec<CriterionMiss> {
        let mut misses = Vec::new();
        let mut miss = |criterion: &'static str, reason: String| {
            misses.push(CriterionMiss { criterion, reason })
        };
        if !self.query.is_empty() {
            let haystack = words(&format!("{} {}", listing.title, listing.description));
            if let Some(why) = self.query.explain(&haystack) {
                let mut parts = Vec::new();
                if !why.missing.is_empty() {
                    parts.push(format!("missing {}", why.missing.join(", ")));
                }
                for group in &why.unmet_groups {
                    parts.push(format!("none of {group}"));
                }
                if !why.excluded_present.is_empty() {
                    parts.push(format!(
                        "contains excluded {}",
                        why.excluded_present.join(", ")
                    ));
                }
                miss("keywords", parts.join("; "));
            }
        }
        if let Some(currency) = self.price_currency() {
            let price = listing.price;
            if price.currency() != currency {
                miss(
                    "price",
                    format!("priced in {}, the rule is in {currency}", price.currency()),
                );
            } else {
                if let Some(max) = self.max_price.filter(|max| price.minor() > max.minor()) {
                    miss("price", format!("{price} is above the maximum {max}"));
                }
                if let Some(min) = self.min_price.filter(|min| price.minor() < min.minor()) {
                    miss("price", format!("{price} is below the minimum {min}"));
                }
            }
        }
        if !self.categories.is_empty() {
            match listing.category {
                Some(category) if self.categories.contains(&category) => {}
                Some(category) => miss("category", format!("category is {category}")),
                None => miss("category", "the listing has no category".into()),
            }
        }
        if !self.conditions.is_empty() {
            match listing.condition {
                Some(condition) if self.conditions.contains(&condition) => {}
                Some(condition) => miss("condition", format!("condition is {condition}")),
                None => miss(
                    "condition",
                    "the listing does not state its condition".into(),
                ),
            }
        }
        if let (Some(location), Some(radius)) = (&self.location, &self.radius) {
            match &listing.location {
                Some(point) => {
                    let km = location.point.distance_km(point);
                    if km > radius.km() {
                        miss(
                            "location",
                            format!(
                                "{km:.0} km from {}, beyond the {:.0} km radius",
                                location.label,
                                radius.km()
                            ),
                        );
                    }
                }
                None => miss("location", "the listing has no location".into()),
            }
        }
        if let Some(min_score) = self.min_score {
            match listing.score {
                Some(score) if score >= min_score => {}
                Some(score) => miss("score", format!("deal score {score} is below {min_score}")),
                None => miss("score", "the listing has no deal score yet".into()),
            }
        }
        if !self.sources.is_empty() && !self.sources.contains(&listing.source) {
            miss("source", format!("source is {}", listing.source));
        }
        if let Some(criteria) = &self.flight {
            match &listing.flight {
                None => miss("flight.origin", "the listing is not a flight".into()),
                Some(offer) => {
                    if !criteria.origins.iter().any(|p| p.contains(&offer.origin)) {
                        miss("flight.origin", format!("departs from {}", offer.origin));
                    }
                    if !criteria.destinations.is_empty()
                        && !criteria
                            .destinations
                            .iter()
                            .any(|p| p.contains(&offer.destination))
                    {
                        miss(
                            "flight.destination",
                            format!("flies to {}", offer.destination),
                        );
                    }
                    if let Some(window) = criteria.depart.filter(|w| !w.contains(offer.depart_on)) {
                        miss(
                            "flight.depart",
                            format!(
                                "departs {}, outside {} to {}",
                                offer.depart_on,
                                window.from(),
                                window.to()
                            ),
                        );
                    }
                    if let Some(window) = criteria.return_window {
                        match offer.return_on {
                            Some(date) if window.contains(date) => {}
                            Some(date) => miss(
                                "flight.return",
                                format!(
                                    "returns {date}, outside {} to {}",
                                    window.from(),
                                    window.to()
                                ),
                            ),
                            None => miss("flight.return", "one-way fare".into()),
                        }
                    }
                    if let Some(trip) = criteria.trip_type.filter(|t| *t != offer.trip_type()) {
                        miss(
                            "flight.trip_type",
                            format!("{} fare, the rule wants {trip}", offer.trip_type()),
                        );
                    }
                    if let Some(max) = criteria.max_stops.filter(|max| offer.stops > *max) {
                        miss(
                            "flight.stops",
                            format!("{} stops, at most {max}", offer.stops),
                        );
                    }
                    if !criteria.cabins.is_empty() && !criteria.cabins.contains(&offer.cabin) {
                        miss("flight.cabin", format!("cabin is {}", offer.cabin));
                    }
                }
            }
        }
        misses
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geo::{DistanceUnit, FlightPlaceInput, GeoPoint};
    use crate::ids::ListingId;
    use crate::listing::FlightOffer;
    use crate::preferences::Frequency;

    fn usd(amount: &str) -> Money {
        Money::parse(amount, Currency::parse("USD").unwrap()).unwrap()
    }

    fn rule() -> AlertRule {
        let now = Timestamp::UNIX_EPOCH;
        AlertRule {
            id: RuleId::generate(),
            owner: UserId::generate(),
            name: RuleName::parse("gaming pc").unwrap(),
            query: Query::parse("gaming (pc OR desktop) -mac").unwrap(),
            min_price: None,
            max_price: Some(usd("800")),
            categories: BTreeSet::from([Category::Computers]),
            conditions: BTreeSet::new(),
            location: Some(Location {
                label: "Boston".into(),
                point: GeoPoint::new(42.36, -71.06).unwrap(),
            }),
            radius: Some(Radius::new(50.0, DistanceUnit::Km).unwrap()),
            min_score: None,
            sources: BTreeSet::new(),
            flight: None,
            channels: None,
            frequency: Some(Frequency::Immediate),
            enabled: true,
            cooldown_minutes: 0,
            created_at: now,
            updated_at: now,
            last_triggered_at: None,
            version: 1,
        }
    }

    fn listing(title: &str, price: &str, lat: f64, lon: f64) -> Listing {
        Listing {
            id: ListingId::generate(),
            source: SourceName::parse("craigslist-boston").unwrap(),
            url: "https://example.com/item".into(),
            title: title.into(),
            description: String::new(),
            price: usd(price),
            was_price: None,
            category: Some(Category::Computers),
            condition: Some(Condition::Used),
            location: Some(GeoPoint::new(lat, lon).unwrap()),
            score: Some(70),
            flight: None,
            seen_at: Timestamp::UNIX_EPOCH,
            audience: None,
        }
    }

    #[test]
    fn the_brief_s_gaming_pc_rule_matches_and_explains() {
        let rule = rule();
        // Cambridge, MA: a few km from Boston.
        assert!(rule
            .evaluate(&listing("Gaming PC RTX 3070", "750", 42.37, -71.11))
            .is_empty());
        let misses = rule.evaluate(&listing("Gaming Mac desktop", "900", 40.71, -74.0));
        let criteria: Vec<&str> = misses.iter().map(|m| m.criterion).collect();
        assert_eq!(criteria, vec!["keywords", "price", "location"]);
        assert!(misses[0].reason.contains("contains excluded mac"));
        assert!(misses[1].reason.contains("above the maximum 800.00 USD"));
        assert!(misses[2].reason.contains("beyond the 50 km radius"));
    }

    #[test]
    fn flights_match_by_region_and_dates() {
        let mut rule = rule();
        rule.query = Query::default();
        rule.location = None;
        rule.radius = None;
        rule.categories = BTreeSet::new();
        rule.max_price = Some(usd("400"));
        let date = |s: &str| s.parse::<Date>().unwrap();
        rule.flight = Some(FlightCriteria {
            origins: vec![FlightPlace::resolve(&FlightPlaceInput::Text("BOS".into())).unwrap()],
            destinations: vec![
                FlightPlace::resolve(&FlightPlaceInput::Text("Europe".into())).unwrap(),
            ],
            depart: Some(DateWindow::new(date("2027-03-01"), date("2027-03-31")).unwrap()),
            return_window: None,
            trip_type: None,
            max_stops: Some(1),
            cabins: BTreeSet::new(),
        });
        let mut fare = listing("BOS to LIS", "389", 42.0, -71.0);
        fare.location = None;
        fare.flight = Some(FlightOffer {
            origin: "BOS".into(),
            destination: "LIS".into(),
            depart_on: date("2027-03-10"),
            return_on: Some(date("2027-03-17")),
            stops: 0,
            cabin: Cabin::Economy,
        });
        assert_eq!(rule.evaluate(&fare), vec![]);
        if let Some(offer) = fare.flight.as_mut() {
            offer.destination = "CUN".into();
            offer.stops = 2;
        }
        let criteria: Vec<&str> = rule.evaluate(&fare).iter().map(|m| m.criterion).collect();
        assert_eq!(criteria, vec!["flight.destination", "flight.stops"]);
    }

    #[test]
    fn criteria_checks_name_the_field() {
        let min = usd("900");
        let max = usd("800");
        let problems = RuleCriteria {
            min_price: Some(&min),
            max_price: Some(&max),
            location: None,
            radius: Some(&Radius::new(5.0, DistanceUnit::Km).unwrap()),
            min_score: Some(101),
            flight: None,
            cooldown_minutes: 0,
        }
        .check();
        let fields: Vec<&str> = problems.iter().map(|p| p.field).collect();
        assert_eq!(fields, vec!["min_price", "radius", "min_score"]);
    }
}
