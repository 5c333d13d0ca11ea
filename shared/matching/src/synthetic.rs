//! Deterministic synthetic rules and listings for the matching benchmark, with the skew of a
//! real deal feed: a catalogue of products (brand, model, type, base price); popular products
//! get more listings and more rules (Zipf laws); titles carry the product's words among common
//! filler ("new", "deal", "free shipping") and a long tail of rare descriptors; rules are what
//! people write — a model with a price cap, a brand and a type, brands OR'ed, a type under a
//! bargain price, a category with a minimum deal score, something near a city — in USD or EUR.

use dealpulse_domain::geo::{GeoPoint, Location, Radius};
use dealpulse_domain::ids::{ListingId, UserId};
use dealpulse_domain::listing::{Category, Condition, Listing, SourceName};
use dealpulse_domain::money::{Currency, Money};
use dealpulse_domain::query::Query;
use dealpulse_domain::rules::{AlertRule, RuleName};
use jiff::Timestamp;
use std::collections::BTreeSet;

/// xorshift64*: deterministic and dependency-free.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
}

/// Ranks drawn with probability proportional to `1 / rank^exponent`.
struct Zipf {
    cumulative: Vec<f64>,
}

impl Zipf {
    fn new(size: usize, exponent: f64) -> Self {
        let mut total = 0.0;
        let cumulative = (1..=size.max(1))
            .map(|rank| {
                total += 1.0 / (rank as f64).powf(exponent);
                total
            })
            .collect();
        Self { cumulative }
    }
    fn sample(&self, rng: &mut Rng) -> usize {
        let total = self.cumulative.last().copied().unwrap_or(1.0);
        let target = rng.unit() * total;
        self.cumulative
            .partition_point(|c| *c < target)
            .min(self.cumulative.len() - 1)
    }
}

/// Product types: the word, its category, and its price range in whole units.
const TYPES: [(&str, Category, f64, f64); 40] = [
    ("laptop", Category::Computers, 300.0, 2500.0),
    ("monitor", Category::Computers, 120.0, 1200.0),
    ("keyboard", Category::Computers, 20.0, 250.0),
    ("mouse", Category::Computers, 10.0, 150.0),
    ("ssd", Category::Computers, 40.0, 400.0),
    ("gpu", Category::Computers, 200.0, 2000.0),
    ("cpu", Category::Computers, 100.0, 700.0),
    ("tablet", Category::Computers, 100.0, 1200.0),
    ("router", Category::Electronics, 40.0, 400.0),
    ("smartwatch", Category::Electronics, 80.0, 800.0),
    ("headphones", Category::Audio, 30.0, 500.0),
    ("earbuds", Category::Audio, 20.0, 300.0),
    ("speaker", Category::Audio, 25.0, 600.0),
    ("soundbar", Category::Audio, 80.0, 1000.0),
    ("tv", Category::Tv, 200.0, 3000.0),
    ("projector", Category::Tv, 150.0, 2000.0),
    ("camera", Category::Cameras, 200.0, 3000.0),
    ("lens", Category::Cameras, 150.0, 2500.0),
    ("phone", Category::Phones, 150.0, 1500.0),
    ("charger", Category::Phones, 10.0, 80.0),
    ("console", Category::Gaming, 200.0, 600.0),
    ("controller", Category::Gaming, 30.0, 180.0),
    ("game", Category::Gaming, 10.0, 70.0),
    ("vacuum", Category::Home, 80.0, 900.0),
    ("purifier", Category::Home, 60.0, 600.0),
    ("blender", Category::Kitchen, 30.0, 500.0),
    ("airfryer", Category::Kitchen, 50.0, 300.0),
    ("espresso", Category::Kitchen, 80.0, 1500.0),
    ("drill", Category::Tools, 40.0, 400.0),
    ("saw", Category::Tools, 50.0, 600.0),
    ("mower", Category::Garden, 150.0, 1200.0),
    ("sneakers", Category::Fashion, 40.0, 250.0),
    ("jacket", Category::Fashion, 50.0, 500.0),
    ("backpack", Category::Outdoors, 30.0, 300.0),
    ("tent", Category::Outdoors, 60.0, 700.0),
    ("bike", Category::Sports, 200.0, 3000.0),
    ("lego", Category::Toys, 20.0, 800.0),
    ("stroller", Category::Baby, 100.0, 1000.0),
    ("chair", Category::Furniture, 80.0, 1200.0),
    ("printer", Category::Office, 60.0, 600.0),
];

/// Words most titles carry, commonest first.
const FILLER: [&str; 48] = [
    "new",
    "deal",
    "sale",
    "free",
    "shipping",
    "with",
    "for",
    "and",
    "the",
    "black",
    "off",
    "price",
    "lowest",
    "edition",
    "bundle",
    "white",
    "pack",
    "today",
    "only",
    "gift",
    "2025",
    "silver",
    "blue",
    "series",
    "wireless",
    "portable",
    "smart",
    "set",
    "limited",
    "official",
    "inch",
    "hd",
    "4k",
    "usb",
    "bluetooth",
    "kids",
    "men",
    "women",
    "renewed",
    "refurbished",
    "open",
    "box",
    "red",
    "green",
    "gray",
    "large",
    "small",
    "compact",
];

/// Variants a model may carry.
const VARIANTS: [&str; 12] = [
    "pro", "max", "mini", "plus", "ultra", "lite", "se", "air", "128gb", "256gb", "oled", "gen2",
];

/// Metro areas listings near a place come from, and local rules search around.
const METROS: [(f64, f64); 6] = [
    (42.36, -71.06),
    (40.71, -74.01),
    (37.77, -122.42),
    (51.51, -0.13),
    (52.52, 13.40),
    (48.86, 2.35),
];

struct Product {
    brand: usize,
    kind: usize,
    model: String,
    variant: Option<&'static str>,
    base: f64,
}

/// The catalogue both rules and listings are drawn from.
pub struct Catalogue {
    brands: Vec<String>,
    products: Vec<Product>,
    tail: Vec<String>,
    brand_law: Zipf,
    rule_law: Zipf,
    listing_law: Zipf,
    tail_law: Zipf,
    filler_law: Zipf,
    usd: Currency,
    eur: Currency,
}

/// A pronounceable made-up word, distinct for each `n`.
fn word(mut n: usize, suffix: &str) -> String {
    const SYLLABLES: [&str; 24] = [
        "ka", "ro", "zen", "vi", "lo", "mar", "tek", "su", "no", "ra", "pix", "del", "on", "ix",
        "bo", "ly", "qu", "ta", "ner", "ga", "fi", "mo", "xa", "ul",
    ];
    let mut text = String::new();
    loop {
        text.push_str(SYLLABLES[n % SYLLABLES.len()]);
        n /= SYLLABLES.len();
        if n == 0 {
            break;
        }
    }
    text.push_str(suffix);
    text
}

impl Catalogue {
    /// 20,000 brands, `products` products, 20,000 rare title words.
    pub fn new(products: usize, rng: &mut Rng) -> Self {
        let brands: Vec<String> = (0..20_000).map(|i| word(i + 24, "")).collect();
        let brand_law = Zipf::new(brands.len(), 0.8);
        let products = (0..products)
            .map(|i| {
                let brand = brand_law.sample(rng);
                // A brand makes a few kinds of product.
                let kind = (brand * 7 + rng.below(3) * 13) % TYPES.len();
                let (_, _, low, high) = TYPES[kind];
                Product {
                    brand,
                    kind,
                    model: format!("{}{}", &word(brand, "")[..2], 100 + i),
                    variant: rng.chance(30).then(|| VARIANTS[rng.below(VARIANTS.len())]),
                    base: low * (high / low).powf(rng.unit()),
                }
            })
            .collect::<Vec<_>>();
        let count = products.len();
        Self {
            brands,
            products,
            tail: (0..20_000).map(|i| word(i, "s")).collect(),
            brand_law,
            rule_law: Zipf::new(count, 0.7),
            listing_law: Zipf::new(count, 0.7),
            tail_law: Zipf::new(20_000, 1.0),
            filler_law: Zipf::new(FILLER.len(), 0.8),
            usd: Currency::parse("USD").unwrap_or_else(|_| unreachable!("USD is known")),
            eur: Currency::parse("EUR").unwrap_or_else(|_| unreachable!("EUR is known")),
        }
    }

    fn money(&self, amount: f64, euro: bool) -> Money {
        let cents = (amount.max(1.0) * 100.0).round() as i64;
        Money::from_minor(cents, if euro { self.eur } else { self.usd })
            .unwrap_or_else(|_| unreachable!("a bounded positive amount"))
    }

    /// One listing: a product's words among filler, at 50–110 % of its base price (mostly near
    /// the top: deep discounts are rare).
    pub fn listing(&self, rng: &mut Rng) -> Listing {
        let product = &self.products[self.listing_law.sample(rng)];
        let (kind, category, _, _) = TYPES[product.kind];
        let mut title = vec![self.brands[product.brand].as_str(), product.model.as_str()];
        title.extend(product.variant);
        title.push(kind);
        for _ in 0..2 + rng.below(5) {
            title.push(if rng.chance(70) {
                FILLER[self.filler_law.sample(rng)]
            } else {
                &self.tail[self.tail_law.sample(rng)]
            });
        }
        let local = rng.chance(10).then(|| {
            let (lat, lon) = METROS[rng.below(METROS.len())];
            GeoPoint::new(lat + rng.unit() - 0.5, lon + rng.unit() - 0.5)
                .unwrap_or_else(|_| unreachable!("near a metro"))
        });
        Listing {
            id: ListingId::generate(),
            source: SourceName::parse(["shop", "feed", "mail", "market"][rng.below(4)])
                .unwrap_or_else(|_| unreachable!("a valid source name")),
            url: "https://deals.example.com/item".into(),
            title: title.join(" "),
            description: String::new(),
            price: self.money(
                product.base * (0.5 + 0.6 * rng.unit().sqrt()),
                rng.chance(15),
            ),
            was_price: None,
            category: Some(category),
            condition: Some(if rng.chance(85) {
                Condition::New
            } else {
                Condition::Refurbished
            }),
            location: local,
            score: rng.chance(70).then(|| rng.below(101) as u8),
            flight: None,
            seen_at: Timestamp::UNIX_EPOCH,
            audience: None,
        }
    }

    /// One rule, as a user would write it.
    pub fn rule(&self, rng: &mut Rng) -> AlertRule {
        let product = &self.products[self.rule_law.sample(rng)];
        let (kind, category, low, high) = TYPES[product.kind];
        let brand = &self.brands[product.brand];
        let euro = rng.chance(15);
        let mut cap = Some(product.base * (0.5 + 0.35 * rng.unit()));
        let mut categories = BTreeSet::new();
        let mut min_score = None;
        let mut area = None;
        let roll = rng.below(100);
        let text = match roll {
            // A model, with its brand or variant sometimes, and refurbished excluded sometimes.
            0..=77 => {
                let mut text = product.model.clone();
                if rng.chance(60) {
                    text = format!("{brand} {text}");
                }
                if let Some(variant) = product.variant.filter(|_| rng.chance(40)) {
                    text = format!("{text} {variant}");
                }
                if rng.chance(25) {
                    text.push_str(" -refurbished");
                }
                text
            }
            // A brand and a type.
            78..=87 => {
                cap = Some(low + (high - low) * 0.15 * rng.unit());
                format!("{brand} {kind}")
            }
            // Either of two brands, and a type.
            88..=92 => {
                cap = Some(low + (high - low) * 0.15 * rng.unit());
                let other = &self.brands[self.brand_law.sample(rng)];
                format!("({brand} OR {other}) {kind}")
            }
            // The model as a phrase.
            93..=96 => format!("\"{brand} {}\"", product.model),
            // Any product of a type at a bargain price, perhaps with a good deal score.
            97 => {
                cap = Some(low * (0.8 + 0.7 * rng.unit()));
                categories.insert(category);
                min_score = Some(60 + rng.below(30) as u8);
                kind.to_string()
            }
            // Anything in a category above a deal score, under a price.
            98 => {
                categories.insert(category);
                min_score = Some(80 + rng.below(20) as u8);
                cap = Some(high * (0.02 + 0.08 * rng.unit()));
                String::new()
            }
            // Anything in a category near a city.
            _ => {
                categories.insert(category);
                let (lat, lon) = METROS[rng.below(METROS.len())];
                area = Some((lat, lon, 10.0 + 40.0 * rng.unit()));
                String::new()
            }
        };
        if rng.chance(10) && roll < 97 {
            cap = None;
        }
        let mut rule = AlertRule::new(
            UserId::generate(),
            RuleName::parse("bench").unwrap_or_else(|_| unreachable!("a valid name")),
            Query::parse(&text).unwrap_or_default(),
            Timestamp::UNIX_EPOCH,
        );
        rule.max_price = cap.map(|amount| self.money(amount, euro));
        rule.categories = categories;
        rule.min_score = min_score;
        if let Some((lat, lon, km)) = area {
            rule.location = GeoPoint::new(lat, lon).ok().map(|point| Location {
                label: String::new(),
                point,
            });
            rule.radius = Radius::new(km, dealpulse_domain::geo::DistanceUnit::Km).ok();
        }
        rule
    }
}
