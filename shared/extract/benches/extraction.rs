//! Extraction speed on a generated corpus of 60 product pages: six markup styles (JSON-LD,
//! JSON-LD @graph, microdata, RDFa-lite, OpenGraph, text only) at ten sizes (about 5 KB to
//! 145 KB: navigation, product block, reviews, scripts, footer). Prints per-page median and p99
//! extraction time and throughput. Run: `cargo bench -p dealpulse-extract --bench extraction`
//! (peak memory: under `/usr/bin/time -v`, see scripts/bench).
#![allow(clippy::expect_used, clippy::unwrap_used)]

use dealpulse_extract::{extract, Page};
use std::time::{Duration, Instant};

fn navigation(links: usize) -> String {
    (0..links)
        .map(|i| format!("<li><a href=\"/c/{i}\" class=\"nav-link\">Category {i}</a></li>"))
        .collect()
}

fn reviews(count: usize) -> String {
    (0..count)
        .map(|i| {
            format!(
                "<article class=\"review\"><h4>Review {i}</h4><p>Bought this in week {i}. The \
                 build quality is solid, shipping took {} days and the price of $ {}.99 felt fair \
                 compared with other shops.</p><span class=\"stars\">★★★★☆</span></article>",
                i % 9 + 1,
                100 + i
            )
        })
        .collect()
}

fn product_block(style: usize, n: usize) -> (String, String) {
    let name = format!("Espresso machine model {n}");
    let price = format!("{}.{:02}", 199 + n * 7, n % 100);
    match style {
        0 => (
            format!(
                r#"<script type="application/ld+json">{{"@context":"https://schema.org","@type":"Product","name":"{name}","sku":"SKU-{n}","image":"/img/{n}.jpg","offers":{{"@type":"Offer","price":"{price}","priceCurrency":"EUR","availability":"https://schema.org/InStock"}}}}</script>"#
            ),
            format!("<h1>{name}</h1><p class=\"price\">{price} €</p>"),
        ),
        1 => (
            format!(
                r#"<script type="application/ld+json">{{"@context":"https://schema.org","@graph":[{{"@type":"WebPage","name":"Shop"}},{{"@type":"BreadcrumbList","itemListElement":[]}},{{"@type":"Product","name":"{name}","offers":[{{"@type":"Offer","price":{price},"priceCurrency":"USD"}},{{"@type":"Offer","price":{},"priceCurrency":"USD"}}]}}]}}</script>"#,
                399 + n
            ),
            format!("<h1>{name}</h1>"),
        ),
        2 => (
            String::new(),
            format!(
                r#"<div itemscope itemtype="https://schema.org/Product"><h1 itemprop="name">{name}</h1><div itemprop="offers" itemscope itemtype="https://schema.org/Offer"><span itemprop="price" content="{price}">{price} $</span><meta itemprop="priceCurrency" content="USD"><link itemprop="availability" href="https://schema.org/InStock"></div></div>"#
            ),
        ),
        3 => (
            String::new(),
            format!(
                r#"<div vocab="https://schema.org/" typeof="Product"><h1 property="name">{name}</h1><div property="offers" typeof="Offer"><span property="price" content="{price}">{price}</span><span property="priceCurrency" content="GBP">£</span></div></div>"#
            ),
        ),
        4 => (
            format!(
                r#"<meta property="og:title" content="{name}"><meta property="product:price:amount" content="{price}"><meta property="product:price:currency" content="CAD">"#
            ),
            format!("<h1>{name}</h1>"),
        ),
        _ => (
            String::new(),
            format!(
                "<h1>{name}</h1><div class=\"product-price\"><span class=\"price--old\">$ {}.00</span> <span class=\"price-now\">$ {price}</span></div>",
                499 + n
            ),
        ),
    }
}

fn page(style: usize, size: usize, n: usize) -> String {
    let (head, body) = product_block(style, n);
    let script = "<script>window.dataLayer=window.dataLayer||[];function gtag(){dataLayer.push(arguments)}</script>".repeat(size * 2 + 1);
    format!(
        "<!doctype html><html lang=\"en\"><head><title>Shop</title>{head}{script}</head><body><nav><ul>{}</ul></nav><main>{body}<section>{}</section></main><footer>{}</footer></body></html>",
        navigation(40 + size * 30),
        reviews(size * size * 6 + 5),
        navigation(20 + size * 10),
    )
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

fn main() {
    let url = url::Url::parse("https://shop.example.com/p/1").expect("valid URL");
    let pages: Vec<String> = (0..6)
        .flat_map(|style| (0..10).map(move |size| page(style, size, style * 10 + size)))
        .collect();
    let total_bytes: usize = pages.iter().map(String::len).sum();
    // Every page must yield its price: a benchmark of a broken extractor measures nothing.
    for (i, html) in pages.iter().enumerate() {
        let found = extract(&Page {
            html,
            url: Some(&url),
            selectors: None,
        })
        .expect("extracts");
        assert!(
            found.price.is_some(),
            "page {i} (style {}) lost its price",
            i / 10
        );
    }
    let rounds = 5;
    let mut per_page = Vec::with_capacity(pages.len() * rounds);
    let started = Instant::now();
    for _ in 0..rounds {
        for html in &pages {
            let t = Instant::now();
            let found = extract(&Page {
                html,
                url: Some(&url),
                selectors: None,
            });
            per_page.push(t.elapsed());
            std::hint::black_box(found.ok());
        }
    }
    let wall = started.elapsed();
    per_page.sort();
    let smallest = pages.iter().map(String::len).min().unwrap_or(0);
    let largest = pages.iter().map(String::len).max().unwrap_or(0);
    println!(
        "corpus: {} pages, {:.1} MB ({} B to {} B)",
        pages.len(),
        total_bytes as f64 / 1e6,
        smallest,
        largest
    );
    println!("rounds: {rounds}, extractions: {}", per_page.len());
    println!(
        "per page: median {:?}, p99 {:?}, max {:?}",
        percentile(&per_page, 0.5),
        percentile(&per_page, 0.99),
        per_page[per_page.len() - 1]
    );
    println!(
        "throughput: {:.1} MB/s, {:.0} pages/s",
        (total_bytes * rounds) as f64 / 1e6 / wall.as_secs_f64(),
        per_page.len() as f64 / wall.as_secs_f64()
    );
}
