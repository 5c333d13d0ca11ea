//! A shop on 127.0.0.1 for scrape tests: product pages in every state a real shop can be in
//! (priced, sold out, redesigned, 403, captcha, 404, 410, 500, robots-disallowed), ETag support,
//! an RSS feed and a JSON listings API, with prices the test can move.

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

#[derive(Default)]
pub struct ShopState {
    /// Price of `/p/espresso` in cents.
    pub espresso_cents: AtomicU64,
    /// Price of the first feed item in cents.
    pub feed_cents: AtomicU64,
    /// Requests per path.
    pub hits: Mutex<BTreeMap<String, u32>>,
}

impl ShopState {
    pub fn hits(&self, path: &str) -> u32 {
        self.hits.lock().unwrap().get(path).copied().unwrap_or(0)
    }
}

pub struct FixtureShop {
    pub port: u16,
    pub state: Arc<ShopState>,
}

impl FixtureShop {
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
}

fn money(cents: u64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

fn product_page(name: &str, cents: u64, availability: &str) -> String {
    format!(
        r#"<!doctype html><html lang="en"><head><title>{name}</title>
<script type="application/ld+json">{{"@context":"https://schema.org","@type":"Product","name":"{name}","sku":"X1",
"offers":{{"@type":"Offer","price":"{price}","priceCurrency":"EUR","availability":"https://schema.org/{availability}"}}}}</script>
</head><body><h1>{name}</h1><p class="price">€{price}</p></body></html>"#,
        price = money(cents)
    )
}

async fn page(
    State(state): State<Arc<ShopState>>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Response {
    state
        .hits
        .lock()
        .unwrap()
        .entry(format!("/p/{name}"))
        .and_modify(|n| *n += 1)
        .or_insert(1);
    match name.as_str() {
        "espresso" => {
            let cents = state.espresso_cents.load(Ordering::SeqCst);
            let etag = format!("\"espresso-{cents}\"");
            if headers
                .get(header::IF_NONE_MATCH)
                .and_then(|v| v.to_str().ok())
                == Some(etag.as_str())
            {
                return StatusCode::NOT_MODIFIED.into_response();
            }
            (
                [
                    (header::ETAG, etag),
                    (header::CONTENT_TYPE, "text/html".into()),
                ],
                product_page("Espresso machine X1", cents, "InStock"),
            )
                .into_response()
        }
        "grinder" => (
            [(header::CONTENT_TYPE, "text/html")],
            product_page("Burr grinder", 12_900, "OutOfStock"),
        )
            .into_response(),
        "redesigned" => "<html><body><h1>Our new look!</h1></body></html>".into_response(),
        // No structured data and nothing the text fallback recognises: needs selectors.
        "plain" => "<html lang=\"de\"><body><h2 class=\"name\">Kaffeem\u{fc}hle Plain</h2>\
<div class=\"cost\">\u{20ac} 199,00</div><div class=\"stock\">Auf Lager</div></body></html>"
            .into_response(),
        "blocked" => StatusCode::FORBIDDEN.into_response(),
        "captcha" => "<html><div class=\"g-recaptcha\"></div></html>".into_response(),
        "gone" => StatusCode::GONE.into_response(),
        "broken" => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn feed(State(state): State<Arc<ShopState>>) -> Response {
    let cents = state.feed_cents.load(Ordering::SeqCst);
    let body = format!(
        r#"<?xml version="1.0"?><rss version="2.0"><channel><title>Fixture deals</title>
<item><title>Gaming PC RTX 4070 - ${price}</title><link>https://deals.example.com/d/1</link><category>Desktops</category></item>
<item><title>Mechanical keyboard</title><link>https://deals.example.com/d/2</link><description>Cherry switches, $59.99</description></item>
<item><title>4K monitor 27" $279</title><link>https://deals.example.com/d/3</link><category>Monitors</category></item>
</channel></rss>"#,
        price = money(cents)
    );
    ([(header::CONTENT_TYPE, "application/rss+xml")], body).into_response()
}

async fn listings_api() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        r#"{"data":{"results":[
{"name":"Used road bike","cost":{"value":"350","unit":"EUR"},"href":"https://market.example.com/a/77","area":"Berlin, DE","state":"used"},
{"name":"Standing desk","cost":{"value":"180","unit":"EUR"},"href":"https://market.example.com/a/78","area":"52.52, 13.40","state":"like new"},
{"name":"No price here","href":"https://market.example.com/a/79"}
]}}"#,
    )
        .into_response()
}

/// Starts the shop on a free loopback port; it runs until the test's runtime ends.
pub async fn start() -> FixtureShop {
    let state = Arc::new(ShopState::default());
    state.espresso_cents.store(27_900, Ordering::SeqCst);
    state.feed_cents.store(74_900, Ordering::SeqCst);
    let app = Router::new()
        .route(
            "/robots.txt",
            get(|| async { "User-agent: *\nDisallow: /private\n" }),
        )
        .route("/p/{name}", get(page))
        .route("/private/{name}", get(|| async { "members only" }))
        .route("/feed.xml", get(feed))
        .route("/api/listings", get(listings_api))
        .with_state(Arc::clone(&state));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await });
    FixtureShop { port, state }
}
