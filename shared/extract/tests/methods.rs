//! Every extraction method on a fixture page, and the order in which they win.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use dealpulse_extract::{extract, Availability, Extracted, Method, Page, SelectorOverrides};

fn run(html: &str) -> Extracted {
    let url = url::Url::parse("https://shop.example.com/p/espresso-x1?ref=ad").unwrap();
    extract(&Page {
        html,
        url: Some(&url),
        selectors: None,
    })
    .unwrap()
}

fn method(extracted: &Extracted, field: &str) -> Option<Method> {
    extracted.methods.get(field).copied()
}

#[test]
fn json_ld_product_with_offer() {
    let page = run(r#"<html><head><script type="application/ld+json">
      {"@context": "https://schema.org", "@type": "Product", "name": "Espresso X1",
       "image": ["/img/x1.jpg"], "sku": "X1-BLK", "gtin13": "4006381333931",
       "offers": {"@type": "Offer", "price": 279, "priceCurrency": "EUR",
                  "availability": "https://schema.org/InStock",
                  "itemCondition": "https://schema.org/NewCondition"}}
    </script></head><body><h1>ignored</h1></body></html>"#);
    assert_eq!(page.title.as_deref(), Some("Espresso X1"));
    assert_eq!(page.price.as_deref(), Some("279.00"));
    assert_eq!(page.currency.as_deref(), Some("EUR"));
    assert_eq!(page.availability, Some(Availability::InStock));
    assert_eq!(page.condition.as_deref(), Some("new"));
    assert_eq!(page.sku.as_deref(), Some("X1-BLK"));
    assert_eq!(page.gtin.as_deref(), Some("4006381333931"));
    assert_eq!(
        page.image.as_deref(),
        Some("https://shop.example.com/img/x1.jpg")
    );
    assert_eq!(method(&page, "price"), Some(Method::JsonLd));
}

#[test]
fn json_ld_graph_with_aggregate_offer_and_list_price() {
    let page = run(r#"<script type="application/ld+json">
      {"@context": "https://schema.org", "@graph": [
        {"@type": "WebPage", "name": "Shop"},
        {"@type": ["Product", "IndividualProduct"], "name": "Grinder G2",
         "offers": {"@type": "AggregateOffer", "lowPrice": "89.5", "highPrice": "120",
                    "priceCurrency": "USD", "offerCount": 4}}]}
    </script>"#);
    assert_eq!(page.title.as_deref(), Some("Grinder G2"));
    assert_eq!(page.price.as_deref(), Some("89.50"));
    assert_eq!(page.currency.as_deref(), Some("USD"));

    let page = run(r#"<script type="application/ld+json">
      {"@type": "Product", "name": "Kettle", "offers": {"@type": "Offer", "priceCurrency": "GBP",
        "priceSpecification": [
          {"@type": "UnitPriceSpecification", "price": 39.99},
          {"@type": "UnitPriceSpecification", "priceType": "https://schema.org/ListPrice", "price": 59.99}]}}
    </script>"#);
    assert_eq!(page.price.as_deref(), Some("39.99"));
    assert_eq!(page.list_price.as_deref(), Some("59.99"));
}

#[test]
fn json_ld_arrays_of_offers_take_the_lowest_and_item_lists_the_first_product() {
    let page = run(r#"<script type="application/ld+json">
      [{"@type": "BreadcrumbList"}, {"@type": "Product", "name": "Mug",
        "offers": [{"@type": "Offer", "price": "12.00", "priceCurrency": "JPY"},
                   {"@type": "Offer", "price": "9", "priceCurrency": "JPY"}]}]
    </script>"#);
    assert_eq!(page.price.as_deref(), Some("9"));
    assert_eq!(page.currency.as_deref(), Some("JPY"));
    let page = run(r#"<script type="application/ld+json">
      {"@type": "ItemList", "itemListElement": [
        {"@type": "ListItem", "position": 1, "item": {"@type": "Product", "name": "First",
          "offers": {"@type": "Offer", "price": 10, "priceCurrency": "USD"}}},
        {"@type": "ListItem", "position": 2, "item": {"@type": "Product", "name": "Second"}}]}
    </script>"#);
    assert_eq!(page.title.as_deref(), Some("First"));
    assert_eq!(page.price.as_deref(), Some("10.00"));
}

#[test]
fn microdata_when_there_is_no_json_ld() {
    let page = run(r#"<div itemscope itemtype="https://schema.org/Product">
        <h2 itemprop="name">Milk frother</h2>
        <img itemprop="image" src="/f.jpg">
        <div itemprop="offers" itemscope itemtype="https://schema.org/Offer">
          <span itemprop="price" content="1299.00">1.299,00 €</span>
          <meta itemprop="priceCurrency" content="EUR">
          <link itemprop="availability" href="https://schema.org/OutOfStock">
        </div></div>"#);
    assert_eq!(page.title.as_deref(), Some("Milk frother"));
    assert_eq!(page.price.as_deref(), Some("1299.00"));
    assert_eq!(page.currency.as_deref(), Some("EUR"));
    assert_eq!(page.availability, Some(Availability::OutOfStock));
    assert_eq!(method(&page, "price"), Some(Method::Microdata));
}

#[test]
fn rdfa_lite() {
    let page = run(r#"<div vocab="https://schema.org/" typeof="Product">
        <span property="name">Tamper</span>
        <div property="offers" typeof="Offer">
          <span property="priceCurrency" content="CHF">CHF</span>
          <span property="price" content="49.90">49.90</span>
          <link property="availability" href="https://schema.org/PreOrder">
        </div></div>"#);
    assert_eq!(page.title.as_deref(), Some("Tamper"));
    assert_eq!(page.price.as_deref(), Some("49.90"));
    assert_eq!(page.currency.as_deref(), Some("CHF"));
    assert_eq!(page.availability, Some(Availability::PreOrder));
    assert_eq!(method(&page, "price"), Some(Method::Rdfa));
}

#[test]
fn open_graph_product_tags() {
    let page = run(r#"<head>
        <meta property="og:title" content="Scale S1">
        <meta property="og:image" content="https://cdn.example.com/s1.png">
        <meta property="product:price:amount" content="24.99">
        <meta property="product:price:currency" content="CAD">
        <meta property="product:availability" content="in stock">
        <link rel="canonical" href="/p/scale-s1"></head>"#);
    assert_eq!(page.title.as_deref(), Some("Scale S1"));
    assert_eq!(page.price.as_deref(), Some("24.99"));
    assert_eq!(page.currency.as_deref(), Some("CAD"));
    assert_eq!(page.availability, Some(Availability::InStock));
    assert_eq!(
        page.canonical_url.as_deref(),
        Some("https://shop.example.com/p/scale-s1")
    );
    assert_eq!(method(&page, "price"), Some(Method::OpenGraph));
}

#[test]
fn bare_itemprop_price_uses_the_page_language() {
    let page = run(r#"<html lang="de-DE"><body><h1>Kaffeemühle</h1>
        <span itemprop="price">1.299,00 €</span></body></html>"#);
    assert_eq!(page.price.as_deref(), Some("1299.00"));
    assert_eq!(page.currency.as_deref(), Some("EUR"));
    assert_eq!(method(&page, "price"), Some(Method::Itemprop));
    assert_eq!(page.title.as_deref(), Some("Kaffeemühle"));
    assert_eq!(method(&page, "title"), Some(Method::Text));
}

#[test]
fn text_fallback_skips_old_prices() {
    let page = run(r#"<html><body><h1>Descaler</h1>
        <span class="price price--old">$19.99</span>
        <span class="product-price">$14.99</span></body></html>"#);
    assert_eq!(page.price.as_deref(), Some("14.99"));
    assert_eq!(page.currency.as_deref(), Some("USD"));
    assert_eq!(method(&page, "price"), Some(Method::Text));
}

#[test]
fn selector_overrides_win_and_bad_selectors_are_reported() {
    let html = r#"<script type="application/ld+json">
      {"@type": "Product", "name": "Wrong", "offers": {"price": 1, "priceCurrency": "USD"}}</script>
      <h1 class="real-title">Right title</h1><b id="deal">$ 249.00</b>"#;
    let url = url::Url::parse("https://shop.example.com/x").unwrap();
    let overrides = SelectorOverrides {
        title: Some("h1.real-title".into()),
        price: Some("#deal".into()),
        ..Default::default()
    };
    let page = extract(&Page {
        html,
        url: Some(&url),
        selectors: Some(&overrides),
    })
    .unwrap();
    assert_eq!(page.title.as_deref(), Some("Right title"));
    assert_eq!(page.price.as_deref(), Some("249.00"));
    assert_eq!(method(&page, "price"), Some(Method::Selector));
    let bad = SelectorOverrides {
        price: Some("div[[".into()),
        ..Default::default()
    };
    assert!(extract(&Page {
        html,
        url: Some(&url),
        selectors: Some(&bad),
    })
    .is_err());
}

#[test]
fn a_page_without_a_price_says_so_and_broken_json_ld_is_skipped() {
    let page = run(r#"<html><head><title>Espresso X1 | Shop</title>
      <script type="application/ld+json">{"@type": "Product", "name": </script></head>
      <body><p>Currently unavailable.</p></body></html>"#);
    assert_eq!(page.price, None);
    assert_eq!(page.title.as_deref(), Some("Espresso X1 | Shop"));
}
