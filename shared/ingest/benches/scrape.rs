//! Scrape throughput: a full scrape run (claim → polite, SSRF-guarded fetch → extract → classify
//! → store price points → publish events → save) over N tracked product pages served by a
//! fixture shop on 127.0.0.1, on the local SQLite store and bus. Pages are ~20 KB with JSON-LD
//! or microdata; a tenth answer 404 and a tenth are sold out, so every path runs.
//!
//! Run: `cargo bench -p dealpulse-ingest --bench scrape` (or `scripts/bench scrape`).
//! Reports pages/min with politeness off (what the pipeline can do on one host) and with the
//! shipped politeness (1 s between requests to one host: the per-host ceiling is 60/min).
#![allow(clippy::expect_used, clippy::unwrap_used)]

use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use dealpulse_domain::clock::SystemClock;
use dealpulse_domain::listing::TrackedProduct;
use dealpulse_domain::ports::Store;
use dealpulse_fetch::polite::{PoliteFetcher, Politeness};
use dealpulse_fetch::{AddressPolicy, FetchConfig, Fetcher, SystemLookup};
use dealpulse_ingest::scrape::{ScrapeSettings, Scraper};
use dealpulse_local::{Database, QueueEventBus, SqliteQueue, SqliteStore};
use jiff::Timestamp;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn page(n: usize) -> Response {
    if n % 10 == 7 {
        return StatusCode::NOT_FOUND.into_response();
    }
    let availability = if n % 10 == 3 { "OutOfStock" } else { "InStock" };
    let price = format!("{}.{:02}", 99 + (n * 13) % 900, n % 100);
    let filler: String = (0..40)
        .map(|i| format!("<article class=\"review\"><h4>Review {i}</h4><p>Solid build, fast shipping, would buy again at this price. Compared with three other shops this one was cheapest in week {i}.</p></article>"))
        .collect();
    let product = if n.is_multiple_of(2) {
        format!(
            r#"<script type="application/ld+json">{{"@context":"https://schema.org","@type":"Product","name":"Product {n}","sku":"SKU-{n}","offers":{{"@type":"Offer","price":"{price}","priceCurrency":"EUR","availability":"https://schema.org/{availability}"}}}}</script><h1>Product {n}</h1>"#
        )
    } else {
        format!(
            r#"<div itemscope itemtype="https://schema.org/Product"><h1 itemprop="name">Product {n}</h1><div itemprop="offers" itemscope itemtype="https://schema.org/Offer"><span itemprop="price" content="{price}">{price} €</span><meta itemprop="priceCurrency" content="EUR"><link itemprop="availability" href="https://schema.org/{availability}"></div></div>"#
        )
    };
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><title>Product {n}</title></head><body><nav>{}</nav>{product}{filler}<footer>Fixture shop</footer></body></html>",
        (0..60).map(|i| format!("<a href=\"/c/{i}\">Category {i}</a>")).collect::<String>()
    ))
    .into_response()
}

async fn shop() -> u16 {
    let app = Router::new()
        .route("/robots.txt", get(|| async { "User-agent: *\nAllow: /\n" }))
        .route("/p/{n}", get(|Path(n): Path<usize>| async move { page(n) }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await });
    port
}

async fn run(port: u16, pages: usize, politeness: Politeness, settings: ScrapeSettings) -> f64 {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(&dir.path().join("bench.db")).unwrap();
    let clock = Arc::new(SystemClock);
    let store: Arc<dyn Store> = Arc::new(SqliteStore::new(db.clone()));
    for n in 0..pages {
        store
            .insert_product(&TrackedProduct::new(
                format!("http://127.0.0.1:{port}/p/{n}"),
                "127.0.0.1",
                Timestamp::now(),
            ))
            .await
            .unwrap();
    }
    let fetcher = Fetcher::new(
        FetchConfig {
            policy: AddressPolicy {
                loopback_ports: BTreeSet::from([port]),
                ..AddressPolicy::default()
            },
            ..FetchConfig::default()
        },
        Arc::new(SystemLookup),
    )
    .unwrap();
    let scraper = Scraper::new(
        Arc::clone(&store),
        Arc::new(QueueEventBus::new(
            Arc::new(SqliteQueue::plain(db, clock.clone(), "catalog-events")),
            clock.clone(),
        )),
        Arc::new(PoliteFetcher::new(fetcher, politeness)),
        clock,
        settings,
    );
    let started = Instant::now();
    let report = scraper.run(Duration::from_secs(600)).await.unwrap();
    let elapsed = started.elapsed();
    assert_eq!(report.products_checked as usize, pages, "{report:?}");
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    let per_minute = pages as f64 / elapsed.as_secs_f64() * 60.0;
    println!(
        "{pages} pages in {:.2} s = {per_minute:.0} pages/min; results {:?}; {} price changes, {} events",
        elapsed.as_secs_f64(),
        report.results,
        report.price_changes,
        report.events_published
    );
    per_minute
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let port = shop().await;
        for concurrency in [1, 8, 32] {
            println!("politeness off (no delay, {concurrency} in flight per host):");
            run(
                port,
                1000,
                Politeness {
                    min_delay: Duration::ZERO,
                    max_concurrency: concurrency,
                    ..Politeness::default()
                },
                ScrapeSettings {
                    concurrency,
                    batch: 64,
                    ..ScrapeSettings::default()
                },
            )
            .await;
        }
        println!("shipped politeness (1 s between requests to one host, 2 in flight):");
        run(port, 20, Politeness::default(), ScrapeSettings::default()).await;
    });
}
