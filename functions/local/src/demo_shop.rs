//! The demo shop `serve --demo` mounts at `/demo-shop`: product pages marked up the ways real
//! shops do it (JSON-LD, microdata, OpenGraph meta tags), an RSS feed of deals, and prices that
//! move every ten minutes. `serve --demo` tracks its products and feed, so a newcomer watches
//! real checks build real price history without touching the internet.

use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use jiff::Timestamp;

/// How a product page marks up its price.
#[derive(Clone, Copy)]
enum Markup {
    JsonLd,
    Microdata,
    OpenGraph,
}

pub struct DemoProduct {
    pub slug: &'static str,
    pub name: &'static str,
    /// Regular price in cents; the shop's price moves between 75 % and 100 % of it.
    pub list_cents: i64,
    pub currency: &'static str,
    markup: Markup,
}

pub const PRODUCTS: &[DemoProduct] = &[
    DemoProduct {
        slug: "espresso-machine-x1",
        name: "Espresso machine X1",
        list_cents: 34_900,
        currency: "EUR",
        markup: Markup::JsonLd,
    },
    DemoProduct {
        slug: "noise-cancelling-headphones",
        name: "Noise-cancelling headphones NC700",
        list_cents: 29_900,
        currency: "USD",
        markup: Markup::Microdata,
    },
    DemoProduct {
        slug: "robot-vacuum-r5",
        name: "Robot vacuum R5",
        list_cents: 44_900,
        currency: "USD",
        markup: Markup::OpenGraph,
    },
    DemoProduct {
        slug: "4k-monitor-27",
        name: "27\" 4K monitor",
        list_cents: 37_900,
        currency: "USD",
        markup: Markup::JsonLd,
    },
    DemoProduct {
        slug: "trail-running-shoes",
        name: "Trail running shoes",
        list_cents: 13_900,
        currency: "EUR",
        markup: Markup::Microdata,
    },
];

/// Deals in the demo feed: (id, title, list price in USD cents, category).
const DEALS: &[(&str, &str, i64, &str)] = &[
    (
        "gaming-pc-4070",
        "Gaming PC RTX 4070, Ryzen 7, 32 GB",
        99_900,
        "computers",
    ),
    (
        "mechanical-keyboard",
        "Mechanical keyboard, brown switches",
        8_900,
        "computers",
    ),
    ("switch-oled", "Game console OLED bundle", 34_900, "gaming"),
    ("air-fryer", "Air fryer 5.5 l", 12_900, "kitchen"),
    (
        "drill-kit",
        "Cordless drill kit, two batteries",
        15_900,
        "tools",
    ),
];

/// Sender of the demo shop's sample flight-deal newsletters (allowed on the system address in
/// demo mode).
pub const NEWSLETTER_SENDER: &str = "deals@fares.dealpulse.test";

/// The sample newsletters, as raw messages addressed to `to`: a plain-text one and an HTML one
/// in quoted-printable, like real deal newsletters.
pub fn newsletters(to: &str) -> Vec<(String, String)> {
    let plain = format!(
        "From: Fare Alerts <{NEWSLETTER_SENDER}>\r\nTo: {to}\r\nSubject: This week's flight deals from Boston\r\n\
Date: Wed, 25 Nov 2026 08:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
This week's deals:\r\n\r\n\
Boston (BOS) to Lisbon (LIS) - $389 round trip, nonstop on TAP, March to May\r\n\
https://fares.dealpulse.test/deals/bos-lis\r\n\r\n\
Boston (BOS) to Dublin (DUB) - $345 round trip, nonstop on Aer Lingus, February\r\n\
https://fares.dealpulse.test/deals/bos-dub\r\n\r\n\
New York to Paris from $299 roundtrip (1 stop, Delta) in January\r\n"
    );
    let html = format!(
        "From: Fare Alerts <{NEWSLETTER_SENDER}>\r\nTo: {to}\r\nSubject: =?UTF-8?Q?Europe_for_less_=E2=9C=88?=\r\n\
Date: Wed, 25 Nov 2026 09:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\
Content-Transfer-Encoding: quoted-printable\r\n\r\n\
<html><body><h1>Europe for less</h1>\r\n\
<p>Chicago (ORD) to Rome (FCO): =E2=82=AC412 return, 1 stop on Lufthansa, April</p>\r\n\
<p>Boston (BOS) to Reykjavik (KEF) =E2=80=93 $279 round trip, nonstop, Icelandair, October</p>\r\n\
</body></html>\r\n"
    );
    vec![
        ("bos-weekly.eml".to_string(), plain),
        ("europe-for-less.eml".to_string(), html),
    ]
}

/// One step of the price walk.
const STEP_SECONDS: i64 = 600;

fn mix(key: &str, step: i64) -> u64 {
    let mut x = step as u64 ^ 0x9E37_79B9_7F4A_7C15;
    for byte in key.bytes() {
        x = (x ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01B3);
    }
    x ^= x >> 33;
    x = x.wrapping_mul(0xFF51_AFD7_ED55_8CCD);
    x ^ (x >> 33)
}

/// The price of `key` at `at`: between 75 % and 100 % of the list price, a new value every ten
/// minutes, ending in .99 (or the list price when the shop is not discounting).
pub fn price_cents(key: &str, list_cents: i64, at: Timestamp) -> i64 {
    let step = at.as_second().div_euclid(STEP_SECONDS);
    let roll = mix(key, step) % 100;
    if roll < 30 {
        return list_cents;
    }
    let factor = 75 + (roll % 25) as i64;
    let raw = list_cents * factor / 100;
    (raw / 100) * 100 - 1
}

fn amount(cents: i64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn product_page(product: &DemoProduct, now: Timestamp) -> String {
    let price = amount(price_cents(product.slug, product.list_cents, now));
    let list = amount(product.list_cents);
    let name = escape(product.name);
    let currency = product.currency;
    let body = match product.markup {
        Markup::JsonLd => format!(
            r#"<script type="application/ld+json">{{"@context":"https://schema.org","@type":"Product","name":{name_json},"sku":"{slug}","offers":{{"@type":"Offer","price":"{price}","priceCurrency":"{currency}","availability":"https://schema.org/InStock"}}}}</script>
<h1>{name}</h1><p class="price">{price} {currency}</p><p class="was">List price <s>{list} {currency}</s></p>"#,
            name_json = serde_json::Value::String(product.name.to_string()),
            slug = product.slug,
        ),
        Markup::Microdata => format!(
            r#"<div itemscope itemtype="https://schema.org/Product"><h1 itemprop="name">{name}</h1>
<div itemprop="offers" itemscope itemtype="https://schema.org/Offer"><span itemprop="price" content="{price}">{price}</span>
<meta itemprop="priceCurrency" content="{currency}"><link itemprop="availability" href="https://schema.org/InStock"></div></div>"#
        ),
        Markup::OpenGraph => format!(r#"<h1>{name}</h1><p>Now only {price} {currency}!</p>"#),
    };
    let meta = match product.markup {
        Markup::OpenGraph => format!(
            r#"<meta property="og:type" content="product"><meta property="og:title" content="{name}">
<meta property="product:price:amount" content="{price}"><meta property="product:price:currency" content="{currency}">
<meta property="product:availability" content="in stock">"#
        ),
        _ => String::new(),
    };
    format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{name} – DealPulse demo shop</title>{meta}</head>
<body><p><a href="/demo-shop/">Demo shop</a></p>{body}<p><small>Prices in this demo shop change every ten minutes.</small></p></body></html>"#
    )
}

async fn index() -> Response {
    let now = Timestamp::now();
    let items: String = PRODUCTS
        .iter()
        .map(|p| {
            format!(
                r#"<li><a href="/demo-shop/p/{}">{}</a> – {} {}</li>"#,
                p.slug,
                escape(p.name),
                amount(price_cents(p.slug, p.list_cents, now)),
                p.currency
            )
        })
        .collect();
    Html(format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>DealPulse demo shop</title></head>
<body><h1>DealPulse demo shop</h1><ul>{items}</ul><p><a href="/demo-shop/feed.xml">Deals feed (RSS)</a></p></body></html>"#
    ))
    .into_response()
}

async fn product(Path(slug): Path<String>) -> Response {
    match PRODUCTS.iter().find(|p| p.slug == slug) {
        Some(product) => Html(product_page(product, Timestamp::now())).into_response(),
        None => (StatusCode::NOT_FOUND, "no such product").into_response(),
    }
}

async fn deal(Path(id): Path<String>) -> Response {
    match DEALS.iter().find(|d| d.0 == id) {
        Some((id, title, list, _)) => Html(format!(
            r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title></head><body><h1>{title}</h1><p>{} USD</p></body></html>"#,
            amount(price_cents(id, *list, Timestamp::now())),
            title = escape(title)
        ))
        .into_response(),
        None => (StatusCode::NOT_FOUND, "no such deal").into_response(),
    }
}

/// The deals feed (RSS 2.0); links are relative to the feed.
pub fn feed_xml(now: Timestamp) -> String {
    let items: String = DEALS
        .iter()
        .map(|(id, title, list, category)| {
            format!(
                "<item><title>{} - ${}</title><link>/demo-shop/deals/{id}</link><guid>{id}</guid><category>{category}</category></item>\n",
                escape(title),
                amount(price_cents(id, *list, now)),
            )
        })
        .collect();
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<rss version=\"2.0\"><channel><title>DealPulse demo shop deals</title><link>/demo-shop/</link>\n{items}</channel></rss>\n"
    )
}

async fn feed() -> Response {
    (
        [(header::CONTENT_TYPE, "application/rss+xml; charset=utf-8")],
        feed_xml(Timestamp::now()),
    )
        .into_response()
}

pub fn router() -> Router {
    Router::new()
        .route("/demo-shop/", get(index))
        .route("/demo-shop/p/{slug}", get(product))
        .route("/demo-shop/deals/{id}", get(deal))
        .route("/demo-shop/feed.xml", get(feed))
}

#[cfg(test)]
mod tests {
    use super::*;
    use dealpulse_extract::{extract, Page};

    #[test]
    fn the_sample_newsletters_hold_flight_deals() {
        use dealpulse_extract::newsletter::{flight_deals, parse_mail};
        let mut total = 0;
        for (name, raw) in newsletters("deals@inbound.dealpulse.local") {
            let mail = parse_mail(raw.as_bytes()).unwrap();
            assert_eq!(mail.from.as_deref(), Some(NEWSLETTER_SENDER), "{name}");
            let deals = flight_deals(&mail.text);
            assert!(deals.len() >= 2, "{name}: {deals:#?}");
            assert!(
                deals.iter().all(|d| d.currency.is_some()),
                "{name}: {deals:#?}"
            );
            total += deals.len();
        }
        assert_eq!(total, 5);
    }

    #[test]
    fn prices_move_within_the_band_and_every_page_is_extractable() {
        let start = Timestamp::from_second(1_800_000_000).unwrap();
        let mut seen = std::collections::BTreeSet::new();
        for step in 0..200 {
            let at = Timestamp::from_second(start.as_second() + step * STEP_SECONDS).unwrap();
            let cents = price_cents("espresso-machine-x1", 34_900, at);
            assert!((34_900 * 74 / 100..=34_900).contains(&cents), "{cents}");
            seen.insert(cents);
        }
        assert!(seen.len() > 10, "prices move: {seen:?}");
        for product in PRODUCTS {
            let html = product_page(product, start);
            let found = extract(&Page {
                html: &html,
                url: None,
                selectors: None,
            })
            .unwrap();
            assert_eq!(
                found.price.as_deref(),
                Some(amount(price_cents(product.slug, product.list_cents, start)).as_str()),
                "{}",
                product.slug
            );
            assert_eq!(found.currency.as_deref(), Some(product.currency));
        }
    }
}
