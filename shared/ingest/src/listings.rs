//! From a feed entry (or a partner's pushed item) to a [`Listing`]: every field parsed into its
//! domain type, the link resolved against the feed and checked as a public http(s) URL, and the
//! id derived from the source and the item's link so seeing it again updates it.

use dealpulse_domain::ids::ListingId;
use dealpulse_domain::listing::{Category, Listing, SourceName};
use dealpulse_domain::money::{Currency, Money};
use dealpulse_domain::net::{PublicUrl, Schemes};
pub use dealpulse_domain::normalize::{category_of, condition_of, place_of};
use dealpulse_extract::feeds::FeedItem;
use jiff::Timestamp;
use url::Url;

/// Why an item did not become a listing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Skipped {
    #[error("no title")]
    NoTitle,
    #[error("no price")]
    NoPrice,
    #[error("no currency for the price {0}")]
    NoCurrency(String),
    #[error("price {0:?} is not an amount")]
    BadPrice(String),
    #[error("no link")]
    NoLink,
    #[error("link refused: {0}")]
    BadLink(String),
}

/// What a source says about items that do not say it themselves.
#[derive(Debug, Clone, Default)]
pub struct SourceDefaults<'a> {
    /// The feed's own URL, for relative links.
    pub base: Option<&'a Url>,
    pub category: Option<Category>,
    pub currency: Option<Currency>,
}

/// Builds the listing for one item seen at `now`.
pub fn listing_from_item(
    source: &SourceName,
    item: &FeedItem,
    defaults: &SourceDefaults<'_>,
    now: Timestamp,
) -> Result<Listing, Skipped> {
    let title: String = item.title.trim().chars().take(300).collect();
    if title.is_empty() {
        return Err(Skipped::NoTitle);
    }
    let link = item
        .url
        .as_deref()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .ok_or(Skipped::NoLink)?;
    let absolute = match defaults.base {
        Some(base) => base
            .join(link)
            .map_err(|e| Skipped::BadLink(e.to_string()))?,
        None => Url::parse(link).map_err(|e| Skipped::BadLink(e.to_string()))?,
    };
    // A link on the feed's own origin is as trustworthy as the feed the fetcher accepted (a
    // shop on this machine, in the demo); anything else must be a public http(s) URL.
    let same_origin = defaults
        .base
        .is_some_and(|base| base.origin() == absolute.origin())
        && absolute.username().is_empty()
        && absolute.password().is_none();
    let url = if same_origin {
        absolute.to_string()
    } else {
        PublicUrl::parse(absolute.as_str(), Schemes::HttpOrHttps)
            .map_err(|e| Skipped::BadLink(e.0))?
            .as_str()
            .to_string()
    };
    let amount = item.price.as_deref().ok_or(Skipped::NoPrice)?;
    let currency = item
        .currency
        .as_deref()
        .and_then(|c| Currency::parse(c).ok())
        .or(defaults.currency)
        .ok_or_else(|| Skipped::NoCurrency(amount.to_string()))?;
    let price =
        Money::parse(amount, currency).map_err(|_| Skipped::BadPrice(amount.to_string()))?;
    Ok(Listing {
        id: ListingId::derived(source.as_str(), &url),
        source: source.clone(),
        url,
        title,
        description: item
            .summary
            .as_deref()
            .map(|s| s.chars().take(2000).collect())
            .unwrap_or_default(),
        price,
        was_price: None,
        category: item
            .category
            .as_deref()
            .and_then(category_of)
            .or(defaults.category),
        condition: item.condition.as_deref().and_then(condition_of),
        location: item.location.as_deref().and_then(place_of),
        score: None,
        flight: None,
        seen_at: now,
        audience: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(title: &str, url: &str, price: Option<&str>, currency: Option<&str>) -> FeedItem {
        FeedItem {
            title: title.into(),
            url: Some(url.into()),
            price: price.map(Into::into),
            currency: currency.map(Into::into),
            ..FeedItem::default()
        }
    }

    #[test]
    fn items_become_listings_with_stable_ids_and_resolved_links() {
        let source = SourceName::parse("craigslist-sfbay").unwrap();
        let base = Url::parse("https://sfbay.example.org/search/sys?format=rss").unwrap();
        let defaults = SourceDefaults {
            base: Some(&base),
            category: Some(Category::Computers),
            currency: Currency::parse("USD").ok(),
        };
        let mut entry = item(
            "Gaming PC RTX 4070",
            "/sfc/sys/d/gaming-pc/123.html",
            Some("749.00"),
            None,
        );
        entry.condition = Some("used".into());
        entry.location = Some("San Francisco, US".into());
        let now = Timestamp::now();
        let listing = listing_from_item(&source, &entry, &defaults, now).unwrap();
        assert_eq!(
            listing.url,
            "https://sfbay.example.org/sfc/sys/d/gaming-pc/123.html"
        );
        assert_eq!(listing.price.to_string(), "749.00 USD");
        assert_eq!(listing.category, Some(Category::Computers));
        assert_eq!(
            listing.condition,
            Some(dealpulse_domain::listing::Condition::Used)
        );
        let sf = listing.location.unwrap();
        assert!(
            (sf.lat() - 37.6).abs() < 0.5 && (sf.lon() + 122.4).abs() < 0.5,
            "{sf:?}"
        );
        let again = listing_from_item(&source, &entry, &defaults, now).unwrap();
        assert_eq!(again.id, listing.id, "same item, same id");
    }

    #[test]
    fn unusable_items_say_why() {
        let source = SourceName::parse("feed").unwrap();
        let defaults = SourceDefaults::default();
        let now = Timestamp::now();
        let cases = [
            (
                item("", "https://x.example.com/1", Some("1.00"), Some("USD")),
                Skipped::NoTitle,
            ),
            (
                item("A", "https://x.example.com/1", None, None),
                Skipped::NoPrice,
            ),
            (
                item("A", "https://x.example.com/1", Some("5.00"), None),
                Skipped::NoCurrency("5.00".into()),
            ),
        ];
        for (entry, why) in cases {
            assert_eq!(listing_from_item(&source, &entry, &defaults, now), Err(why));
        }
        for link in [
            "javascript:alert(1)",
            "http://127.0.0.1/admin",
            "file:///etc/passwd",
            "relative/only",
        ] {
            let entry = item("A", link, Some("1.00"), Some("USD"));
            assert!(
                matches!(
                    listing_from_item(&source, &entry, &defaults, now),
                    Err(Skipped::BadLink(_))
                ),
                "{link}"
            );
        }
    }

    #[test]
    fn source_words_map_onto_the_taxonomy() {
        use dealpulse_domain::listing::Condition;
        assert_eq!(category_of("Laptops"), Some(Category::Computers));
        assert_eq!(category_of("video games"), Some(Category::Gaming));
        assert_eq!(category_of("TVs"), Some(Category::Tv));
        assert_eq!(category_of("knitting"), None);
        assert_eq!(
            condition_of(
                "https://schema.org/UsedCondition"
                    .rsplit('/')
                    .next()
                    .unwrap()
            ),
            Some(Condition::Used)
        );
        assert_eq!(condition_of("Like New"), Some(Condition::LikeNew));
        assert_eq!(
            place_of("52.52, 13.40").map(|p| p.lat().round()),
            Some(53.0)
        );
        assert_eq!(place_of("nowhere-ville"), None);
    }
}
