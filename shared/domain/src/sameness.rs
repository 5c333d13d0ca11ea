//! When two alerts are about the same deal: the same product page at the same price, or a
//! near-identical title at nearly the same price — the newsletter and the shop's own feed
//! announcing one offer, a marketplace relisting with a reworded title. The user gets one alert.

use crate::money::Money;
use crate::query::words;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use sha2::Digest;
use std::collections::BTreeSet;

/// Words that say nothing about which product a title names.
const NOISE: &[&str] = &[
    "a", "an", "and", "at", "by", "deal", "for", "free", "from", "hot", "in", "new", "now", "of",
    "off", "on", "only", "or", "price", "sale", "save", "shipping", "the", "to", "today", "with",
];

/// Query parameters that track a click rather than name a page.
fn is_tracking(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    name.starts_with("utm_")
        || matches!(
            name.as_str(),
            "ref"
                | "ref_"
                | "tag"
                | "aff"
                | "affid"
                | "affiliate"
                | "source"
                | "src"
                | "cmp"
                | "campaign"
                | "gclid"
                | "fbclid"
                | "msclkid"
                | "mc_cid"
                | "mc_eid"
                | "clickid"
                | "irclickid"
        )
}

/// A URL as a product identity: host without `www.`/`m.`, path without a trailing slash, the
/// query without tracking parameters, sorted; scheme and fragment dropped. Empty when `raw` is
/// not an absolute http(s) URL.
pub fn product_identity(raw: &str) -> String {
    let Ok(url) = url::Url::parse(raw.trim()) else {
        return String::new();
    };
    if !matches!(url.scheme(), "http" | "https") {
        return String::new();
    }
    let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
    let host = host
        .strip_prefix("www.")
        .or_else(|| host.strip_prefix("m."))
        .unwrap_or(&host);
    let path = url.path().trim_end_matches('/');
    let mut query: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(name, _)| !is_tracking(name))
        .map(|(name, value)| (name.into_owned(), value.into_owned()))
        .collect();
    query.sort();
    let query: Vec<String> = query
        .into_iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect();
    if query.is_empty() {
        format!("{host}{path}")
    } else {
        format!("{host}{path}?{}", query.join("&"))
    }
}

/// What a deal is, for telling whether two alerts announce the same one. Small: a user's
/// recent deals are kept together in one stored document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DealSignature {
    /// A digest of the link's [`product_identity`]; empty when the link names no page.
    pub product: String,
    /// The title's first 16 telling words (noise left out), sorted and distinct.
    pub words: Vec<String>,
    /// Where it was seen (a listing source; the product page for a watch).
    pub source: String,
    pub price: Money,
}

/// Titles this similar (shared words over all words) name the same thing.
const TITLE_SIMILARITY: f64 = 0.8;
/// Titles need this many telling words to be compared at all ("TV" alone says too little).
const MIN_WORDS: usize = 3;

impl DealSignature {
    pub fn new(title: &str, url: &str, source: &str, price: Money) -> DealSignature {
        let words: BTreeSet<String> = words(title)
            .into_iter()
            .filter(|word| !NOISE.contains(&word.as_str()))
            .take(16)
            .collect();
        let identity = product_identity(url);
        // A bare host (a home page, a tracking link) names no product.
        let product = if identity.contains('/') {
            let digest = sha2::Sha256::digest(identity.as_bytes());
            digest[..12].iter().map(|b| format!("{b:02x}")).collect()
        } else {
            String::new()
        };
        DealSignature {
            product,
            words: words.into_iter().collect(),
            source: source.chars().take(40).collect(),
            price,
        }
    }

    /// The same product page at the same price, or — seen from another source — titles sharing
    /// at least 80 % of their telling words (three or more) at prices within 1 % of each other.
    /// (Two sellers on one marketplace with the same title are two offers, not one.)
    pub fn same_deal(&self, other: &DealSignature) -> bool {
        if self.price.currency() != other.price.currency() {
            return false;
        }
        let (a, b) = (self.price.minor(), other.price.minor());
        if !self.product.is_empty() && self.product == other.product {
            return a == b;
        }
        let close = (a - b).unsigned_abs().saturating_mul(100) <= a.max(b).unsigned_abs();
        if !close
            || self.source == other.source
            || self.words.len() < MIN_WORDS
            || other.words.len() < MIN_WORDS
        {
            return false;
        }
        let shared = self
            .words
            .iter()
            .filter(|word| other.words.binary_search(word).is_ok())
            .count();
        let all = self.words.len() + other.words.len() - shared;
        shared as f64 >= TITLE_SIMILARITY * all as f64
    }
}

/// A deal a user was alerted to, remembered to merge later sightings of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeenDeal {
    pub alert_id: String,
    pub signature: DealSignature,
    pub title: String,
    pub at: Timestamp,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::money::Currency;

    fn usd(amount: &str) -> Money {
        Money::parse(amount, Currency::parse("USD").unwrap()).unwrap()
    }

    #[test]
    fn links_identify_products_without_tracking_or_decoration() {
        assert_eq!(
            product_identity("https://www.Shop.example/p/lamp-42/?utm_source=news&ref=x#reviews"),
            "shop.example/p/lamp-42"
        );
        assert_eq!(
            product_identity("http://m.shop.example/item?b=2&a=1&gclid=zz"),
            "shop.example/item?a=1&b=2"
        );
        assert_ne!(
            product_identity("https://shop.example/item?id=1"),
            product_identity("https://shop.example/item?id=2")
        );
        assert_eq!(product_identity("not a url"), "");
        assert_eq!(product_identity("ftp://shop.example/x"), "");
    }

    #[test]
    fn the_same_page_at_the_same_price_is_the_same_deal() {
        let shop = DealSignature::new(
            "Acme Lamp 42",
            "https://shop.example/p/lamp",
            "shop",
            usd("19.99"),
        );
        let newsletter = DealSignature::new(
            "Today only: lamp from Acme",
            "https://www.shop.example/p/lamp/?utm_campaign=weekly",
            "newsletter",
            usd("19.99"),
        );
        assert!(shop.same_deal(&newsletter));
        let cheaper = DealSignature::new(
            "Acme Lamp 42",
            "https://shop.example/p/lamp",
            "shop",
            usd("18"),
        );
        assert!(!shop.same_deal(&cheaper), "a new price is a new deal");
        let home = DealSignature::new("Acme Lamp 42", "https://shop.example/", "a", usd("5"));
        let home_too = DealSignature::new("Vacuum X", "https://shop.example/?ref=1", "b", usd("5"));
        assert!(!home.same_deal(&home_too), "a home page names no product");
    }

    #[test]
    fn near_identical_titles_at_near_identical_prices_are_the_same_deal() {
        let a = DealSignature::new(
            "Sony WH-1000XM5 Wireless Headphones Black",
            "https://deals-a.example/1",
            "deals-a",
            usd("278.00"),
        );
        let b = DealSignature::new(
            "NEW Sony WH-1000XM5 wireless headphones (black) - free shipping",
            "https://deals-b.example/xyz",
            "deals-b",
            usd("279.99"),
        );
        assert!(a.same_deal(&b) && b.same_deal(&a));
        let same_source = DealSignature {
            source: "deals-a".into(),
            ..b.clone()
        };
        assert!(
            !a.same_deal(&same_source),
            "two offers with one title on one marketplace are two deals"
        );
        let other_model = DealSignature::new(
            "Sony WH-1000XM4 Wireless Headphones Black",
            "https://deals-b.example/2",
            "deals-b",
            usd("278.00"),
        );
        assert!(!a.same_deal(&other_model), "one word in six differs");
        let far_price = DealSignature::new(
            "Sony WH-1000XM5 Wireless Headphones Black",
            "https://deals-b.example/3",
            "deals-b",
            usd("249.00"),
        );
        assert!(!a.same_deal(&far_price));
        let euro = DealSignature::new(
            "Sony WH-1000XM5 Wireless Headphones Black",
            "https://deals-b.example/4",
            "deals-b",
            Money::parse("278.00", Currency::parse("EUR").unwrap()).unwrap(),
        );
        assert!(!a.same_deal(&euro));
        let short = DealSignature::new("TV", "https://a.example/1", "a", usd("300"));
        let short_too = DealSignature::new("TV", "https://b.example/1", "b", usd("300"));
        assert!(!short.same_deal(&short_too), "too few words to tell");
    }
}
