//! Listing feeds in every supported format become the same items.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use dealpulse_domain::money::Currency;
use dealpulse_extract::feeds::{
    parse_json_feed, parse_mapped_json, parse_xml_feed, FeedError, FieldMapping,
};

#[test]
fn rss_items_with_prices_in_titles_and_fields() {
    let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
    <rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/" xmlns:g="http://base.google.com/ns/1.0">
      <channel><title>Deals</title>
        <item>
          <title>Gaming PC RTX 4070 &#8211; $749.99</title>
          <link>https://deals.example.com/1</link>
          <category>Computers</category>
          <description><![CDATA[<p>Great <b>deal</b></p>]]></description>
          <pubDate>Tue, 24 Nov 2026 18:00:00 GMT</pubDate>
          <enclosure url="https://img.example.com/1.jpg" type="image/jpeg" length="1"/>
        </item>
        <item>
          <title>Espresso machine</title>
          <guid>https://deals.example.com/2</guid>
          <g:price>279,00 EUR</g:price>
          <g:condition>refurbished</g:condition>
        </item>
        <item><title>Meetup announcement, 2026</title><link>https://deals.example.com/3</link></item>
      </channel></rss>"#;
    let items = parse_xml_feed(xml, None).unwrap();
    assert_eq!(items.len(), 3);
    assert_eq!(items[0].title, "Gaming PC RTX 4070 – $749.99");
    assert_eq!(items[0].price.as_deref(), Some("749.99"));
    assert_eq!(items[0].currency.as_deref(), Some("USD"));
    assert_eq!(items[0].url.as_deref(), Some("https://deals.example.com/1"));
    assert_eq!(items[0].category.as_deref(), Some("Computers"));
    assert_eq!(
        items[0].image.as_deref(),
        Some("https://img.example.com/1.jpg")
    );
    assert_eq!(items[1].price.as_deref(), Some("279.00"));
    assert_eq!(items[1].currency.as_deref(), Some("EUR"));
    assert_eq!(items[1].condition.as_deref(), Some("refurbished"));
    assert_eq!(items[1].url.as_deref(), Some("https://deals.example.com/2"));
    assert_eq!(items[2].price, None, "a year in a title is not a price");
}

#[test]
fn atom_entries() {
    let xml = r#"<feed xmlns="http://www.w3.org/2005/Atom"><title>Fares</title>
      <entry><title>BOS to LIS round trip from $389</title>
        <link rel="alternate" href="https://fares.example.com/bos-lis"/>
        <link rel="self" href="https://fares.example.com/api/1"/>
        <category term="flights"/>
        <updated>2026-11-24T10:00:00Z</updated>
        <summary>Nonstop in March</summary></entry></feed>"#;
    let items = parse_xml_feed(xml, None).unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(
        items[0].url.as_deref(),
        Some("https://fares.example.com/bos-lis")
    );
    assert_eq!(items[0].price.as_deref(), Some("389.00"));
    assert_eq!(items[0].category.as_deref(), Some("flights"));
    assert_eq!(items[0].published.as_deref(), Some("2026-11-24T10:00:00Z"));
}

#[test]
fn json_feed_items() {
    let json = r#"{"version": "https://jsonfeed.org/version/1.1", "title": "Deals",
      "items": [{"id": "1", "url": "https://deals.example.com/a", "title": "Monitor 27\" £189",
                 "tags": ["computers"], "image": "https://img.example.com/a.png",
                 "date_published": "2026-11-24T09:00:00Z"},
                {"id": "2", "content_text": "no title, no url"}]}"#;
    let items = parse_json_feed(json, None).unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].price.as_deref(), Some("189.00"));
    assert_eq!(items[0].currency.as_deref(), Some("GBP"));
    assert_eq!(items[0].category.as_deref(), Some("computers"));
}

#[test]
fn json_apis_with_a_field_mapping() {
    let json = r#"{"data": {"listings": [
        {"headline": "Road bike", "cost": {"value": 450, "unit": "CAD"}, "href": "https://m.example.com/1",
         "where": "Toronto, ON", "state": "used", "section": "sports"},
        {"headline": "Kayak", "cost": {"value": "1 299,00"}, "href": "https://m.example.com/2"},
        {"cost": {"value": 1}}]}}"#;
    let mapping = FieldMapping {
        items: "/data/listings".into(),
        title: "/headline".into(),
        price: Some("/cost/value".into()),
        currency: Some("/cost/unit".into()),
        url: Some("/href".into()),
        category: Some("/section".into()),
        condition: Some("/state".into()),
        location: Some("/where".into()),
        image: None,
    };
    let items = parse_mapped_json(json, &mapping, Currency::parse("EUR").ok()).unwrap();
    assert_eq!(items.len(), 2, "an item without a title is skipped");
    assert_eq!(items[0].price.as_deref(), Some("450.00"));
    assert_eq!(items[0].currency.as_deref(), Some("CAD"));
    assert_eq!(items[0].location.as_deref(), Some("Toronto, ON"));
    assert_eq!(items[0].condition.as_deref(), Some("used"));
    assert_eq!(items[1].price.as_deref(), Some("1299.00"));
    assert_eq!(
        items[1].currency.as_deref(),
        Some("EUR"),
        "the source's currency hint"
    );
    let wrong = FieldMapping {
        items: "/data/nothing".into(),
        ..mapping
    };
    assert!(matches!(
        parse_mapped_json(json, &wrong, None),
        Err(FeedError::NotAFeed(_))
    ));
}

#[test]
fn non_feeds_and_broken_xml_are_errors() {
    assert!(matches!(
        parse_xml_feed("<html><body>hi</body></html>", None),
        Err(FeedError::NotAFeed(_))
    ));
    assert!(matches!(
        parse_xml_feed("<rss><channel><item><title>x</item></rss>", None),
        Err(FeedError::Malformed(_))
    ));
    assert!(matches!(
        parse_json_feed(r#"{"items": []}"#, None),
        Err(FeedError::NotAFeed(_))
    ));
    assert!(matches!(
        parse_json_feed("{", None),
        Err(FeedError::Malformed(_))
    ));
}
