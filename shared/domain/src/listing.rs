//! What DealPulse watches: listings seen in sources (products, marketplace items, flights), the
//! products a user tracks by URL, and their price history.

use crate::account::InvalidValue;
use crate::geo::GeoPoint;
use crate::ids::{ListingId, ProductId};
use crate::money::Money;
use crate::sources::CheckState;
use jiff::civil::Date;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Declares a closed, snake_case vocabulary with its list of values (for validation messages
/// and OpenAPI enums).
macro_rules! vocabulary {
    ($(#[$doc:meta])* $name:ident { $($(#[$vattr:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vattr])* $variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(&self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub fn parse(raw: &str) -> Option<$name> {
                match raw { $($text => Some($name::$variant),)+ _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use vocabulary;

vocabulary!(
    /// The deal taxonomy rules filter on and sources map their categories into.
    Category {
        Electronics => "electronics",
        Computers => "computers",
        Gaming => "gaming",
        Phones => "phones",
        Audio => "audio",
        Cameras => "cameras",
        Tv => "tv",
        Home => "home",
        Kitchen => "kitchen",
        Garden => "garden",
        Tools => "tools",
        Fashion => "fashion",
        Sports => "sports",
        Outdoors => "outdoors",
        Toys => "toys",
        Books => "books",
        Media => "media",
        Health => "health",
        Beauty => "beauty",
        Grocery => "grocery",
        Automotive => "automotive",
        Baby => "baby",
        Pets => "pets",
        Office => "office",
        Furniture => "furniture",
        Flights => "flights",
        Hotels => "hotels",
        Travel => "travel",
        Other => "other",
    }
);

vocabulary!(
    /// Condition of a marketplace item.
    Condition {
        New => "new",
        LikeNew => "like_new",
        Good => "good",
        Fair => "fair",
        Refurbished => "refurbished",
        Used => "used",
    }
);

vocabulary!(
    /// Cabin class of a flight offer.
    Cabin {
        Economy => "economy",
        PremiumEconomy => "premium_economy",
        Business => "business",
        First => "first",
    }
);

vocabulary!(
    /// One way or return.
    TripType {
        OneWay => "one_way",
        RoundTrip => "round_trip",
    }
);

/// A source's short name (`slickdeals`, `craigslist-sfbay`, `partner-acme`): lower-case letters,
/// digits and dashes, 1 to 40 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SourceName(String);

impl SourceName {
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let name = raw.trim().to_ascii_lowercase();
        let valid = (1..=40).contains(&name.len())
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !name.starts_with('-')
            && !name.ends_with('-');
        if valid {
            Ok(Self(name))
        } else {
            Err(InvalidValue(
                "a source name is 1 to 40 lower-case letters, digits or dashes",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for SourceName {
    type Error = InvalidValue;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<SourceName> for String {
    fn from(value: SourceName) -> Self {
        value.0
    }
}

impl fmt::Display for SourceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The flight part of a listing that is a fare.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlightOffer {
    /// IATA code.
    pub origin: String,
    /// IATA code.
    pub destination: String,
    pub depart_on: Date,
    pub return_on: Option<Date>,
    pub stops: u8,
    pub cabin: Cabin,
}

impl FlightOffer {
    pub fn trip_type(&self) -> TripType {
        if self.return_on.is_some() {
            TripType::RoundTrip
        } else {
            TripType::OneWay
        }
    }
}

/// One deal, product offer, marketplace item or fare as seen in a source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Listing {
    pub id: ListingId,
    pub source: SourceName,
    pub url: String,
    pub title: String,
    #[serde(default)]
    pub description: String,
    pub price: Money,
    /// The price before the deal, when the source states one.
    pub was_price: Option<Money>,
    pub category: Option<Category>,
    pub condition: Option<Condition>,
    pub location: Option<GeoPoint>,
    /// Deal score 0–100, when scored.
    pub score: Option<u8>,
    pub flight: Option<FlightOffer>,
    pub seen_at: Timestamp,
    /// Only this user may be alerted about it (deals read from their personal newsletter
    /// address); `None` for everyone.
    #[serde(default)]
    pub audience: Option<crate::ids::UserId>,
}

/// A product page a user watches; shared by every watcher of the same canonical URL.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrackedProduct {
    pub id: ProductId,
    /// Canonical URL (see `net::PublicUrl`), unique across products.
    pub url: String,
    pub host: String,
    pub title: Option<String>,
    pub current_price: Option<Money>,
    pub in_stock: Option<bool>,
    pub created_at: Timestamp,
    /// The last check that read the page (failed checks are in `check`).
    pub last_checked_at: Option<Timestamp>,
    /// When it is checked next, and how the last checks went.
    #[serde(default)]
    pub check: CheckState,
    /// CSS selectors for this page, set with a watch; they win over the host's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selectors: Option<crate::sources::SelectorOverrides>,
}

impl TrackedProduct {
    /// A page never checked yet: due at once, on the default interval.
    pub fn new(url: impl Into<String>, host: impl Into<String>, created_at: Timestamp) -> Self {
        Self {
            id: ProductId::generate(),
            url: url.into(),
            host: host.into(),
            title: None,
            current_price: None,
            in_stock: None,
            created_at,
            last_checked_at: None,
            check: CheckState::default(),
            selectors: None,
        }
    }
}

/// One observation of a product's price.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PricePoint {
    pub product_id: ProductId,
    pub at: Timestamp,
    pub price: Money,
    pub in_stock: bool,
    /// The price before this change, when one was known: trends start from it (points are
    /// only written on changes, so a window's first day needs the price carried into it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<Money>,
}
