//! Listing feeds: RSS 2.0, Atom, JSON Feed, and JSON APIs described by a field mapping (JSON
//! pointers to the items and to each field). Every format yields the same [`FeedItem`]; a price
//! is read from a price field when there is one, else from the title ("Gaming PC – $749").

use dealpulse_domain::money::Currency;
use dealpulse_domain::price_text::{parse_price, PriceContext};
use quick_xml::events::Event;
use quick_xml::Reader;
use serde::Serialize;
use serde_json::Value;

/// One entry of a feed, before it becomes a listing.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct FeedItem {
    pub title: String,
    pub url: Option<String>,
    pub price: Option<String>,
    pub currency: Option<String>,
    pub category: Option<String>,
    pub condition: Option<String>,
    pub location: Option<String>,
    pub image: Option<String>,
    pub published: Option<String>,
    pub summary: Option<String>,
}

pub use dealpulse_domain::sources::FieldMapping;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FeedError {
    #[error("not a feed: {0}")]
    NotAFeed(String),
    #[error("the feed is not well-formed: {0}")]
    Malformed(String),
}

/// Fills price and currency from the item's own price text, else from its title, else from its
/// summary (a number in free text counts only when a currency marks it).
fn settle_price(item: &mut FeedItem, price_text: Option<String>, hint: Option<Currency>) {
    let context = PriceContext {
        currency: item
            .currency
            .as_deref()
            .and_then(|c| Currency::parse(c).ok())
            .or(hint),
        ..Default::default()
    };
    let parsed = price_text
        .as_deref()
        .map(|text| parse_price(text, &context))
        .filter(|p| p.amount.is_some())
        .or_else(|| {
            [Some(item.title.as_str()), item.summary.as_deref()]
                .into_iter()
                .flatten()
                .map(|text| parse_price(text, &context))
                .find(|p| p.amount.is_some() && p.currency.is_some())
        });
    if let Some(parsed) = parsed {
        item.price = parsed.amount;
        if item.currency.is_none() {
            item.currency = parsed.currency;
        }
    }
}

fn clean(text: &str) -> Option<String> {
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    (!text.is_empty()).then_some(text)
}

/// Parses an RSS 2.0 or Atom document.
pub fn parse_xml_feed(xml: &str, hint: Option<Currency>) -> Result<Vec<FeedItem>, FeedError> {
    let mut reader = Reader::from_str(xml);
    reader.config_mut().trim_text(true);
    let mut items = Vec::new();
    let mut current: Option<(FeedItem, Option<String>)> = None;
    let mut saw_feed = false;
    let mut text = String::new();
    loop {
        let event = reader
            .read_event()
            .map_err(|e| FeedError::Malformed(e.to_string()))?;
        match event {
            Event::Start(start) | Event::Empty(start) => {
                let name = String::from_utf8_lossy(start.local_name().as_ref()).to_lowercase();
                if matches!(name.as_str(), "rss" | "feed" | "rdf") {
                    saw_feed = true;
                }
                if matches!(name.as_str(), "item" | "entry") {
                    current = Some((FeedItem::default(), None));
                }
                if let Some((item, _)) = current.as_mut() {
                    let attribute = |key: &str| {
                        start
                            .attributes()
                            .flatten()
                            .find(|a| a.key.local_name().as_ref() == key.as_bytes())
                            .and_then(|a| a.unescape_value().ok())
                            .map(|v| v.into_owned())
                    };
                    match name.as_str() {
                        // Atom: <link rel="alternate" href="…"/>
                        "link" => {
                            let rel = attribute("rel").unwrap_or_else(|| "alternate".into());
                            if rel == "alternate" && item.url.is_none() {
                                item.url = attribute("href");
                            }
                        }
                        "enclosure" | "content" | "thumbnail" => {
                            let kind = attribute("type").unwrap_or_default();
                            if item.image.is_none()
                                && (kind.starts_with("image/") || name == "thumbnail")
                            {
                                item.image = attribute("url");
                            }
                        }
                        "category" if item.category.is_none() => {
                            item.category = attribute("term");
                        }
                        _ => {}
                    }
                }
                text.clear();
            }
            Event::Text(t) => {
                text.push_str(&t.unescape().map(|c| c.into_owned()).unwrap_or_default());
            }
            Event::CData(c) => {
                text.push_str(&String::from_utf8_lossy(&c.into_inner()));
            }
            Event::End(end) => {
                let name = String::from_utf8_lossy(end.local_name().as_ref()).to_lowercase();
                if let Some((item, price)) = current.as_mut() {
                    let value = clean(&text);
                    match name.as_str() {
                        "title" => item.title = value.unwrap_or_default(),
                        "link" if item.url.is_none() => item.url = value,
                        "guid" if item.url.is_none() => {
                            item.url = value.filter(|v| v.starts_with("http"))
                        }
                        "category" if item.category.is_none() => item.category = value,
                        "pubdate" | "published" | "updated" | "date"
                            if item.published.is_none() =>
                        {
                            item.published = value
                        }
                        "description" | "summary" if item.summary.is_none() => item.summary = value,
                        "price" | "amount" => *price = value,
                        "currency" | "pricecurrency" => item.currency = value,
                        "condition" => item.condition = value,
                        "location" => item.location = value,
                        _ => {}
                    }
                }
                if matches!(name.as_str(), "item" | "entry") {
                    if let Some((mut item, price)) = current.take() {
                        settle_price(&mut item, price, hint);
                        if !item.title.is_empty() || item.url.is_some() {
                            items.push(item);
                        }
                    }
                }
                text.clear();
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !saw_feed {
        return Err(FeedError::NotAFeed(
            "no <rss>, <feed> or <rdf:RDF> element".into(),
        ));
    }
    Ok(items)
}

/// Parses a JSON Feed (version 1 or 1.1).
pub fn parse_json_feed(json: &str, hint: Option<Currency>) -> Result<Vec<FeedItem>, FeedError> {
    let document: Value =
        serde_json::from_str(json).map_err(|e| FeedError::Malformed(e.to_string()))?;
    let is_feed = document
        .get("version")
        .and_then(Value::as_str)
        .is_some_and(|v| v.starts_with("https://jsonfeed.org/version/"));
    if !is_feed {
        return Err(FeedError::NotAFeed("no JSON Feed version".into()));
    }
    let entries = document
        .get("items")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    Ok(entries
        .iter()
        .map(|entry| {
            let text = |key: &str| entry.get(key).and_then(Value::as_str).and_then(clean);
            let mut item = FeedItem {
                title: text("title").unwrap_or_default(),
                url: text("url").or_else(|| text("external_url")),
                image: text("image").or_else(|| text("banner_image")),
                published: text("date_published"),
                summary: text("summary").or_else(|| text("content_text")),
                category: entry
                    .get("tags")
                    .and_then(Value::as_array)
                    .and_then(|tags| tags.first())
                    .and_then(Value::as_str)
                    .map(str::to_string),
                ..FeedItem::default()
            };
            settle_price(&mut item, None, hint);
            item
        })
        .filter(|item| !item.title.is_empty() || item.url.is_some())
        .collect())
}

/// Parses a JSON API response with a declared mapping.
pub fn parse_mapped_json(
    json: &str,
    mapping: &FieldMapping,
    hint: Option<Currency>,
) -> Result<Vec<FeedItem>, FeedError> {
    let document: Value =
        serde_json::from_str(json).map_err(|e| FeedError::Malformed(e.to_string()))?;
    let entries = document
        .pointer(&mapping.items)
        .and_then(Value::as_array)
        .ok_or_else(|| FeedError::NotAFeed(format!("no array at {:?}", mapping.items)))?;
    Ok(entries
        .iter()
        .map(|entry| {
            let field = |pointer: &Option<String>| -> Option<String> {
                let value = entry.pointer(pointer.as_deref()?)?;
                match value {
                    Value::String(s) => clean(s),
                    Value::Number(n) => Some(n.to_string()),
                    Value::Bool(b) => Some(b.to_string()),
                    _ => None,
                }
            };
            let mut item = FeedItem {
                title: field(&Some(mapping.title.clone())).unwrap_or_default(),
                url: field(&mapping.url),
                currency: field(&mapping.currency),
                category: field(&mapping.category),
                condition: field(&mapping.condition),
                location: field(&mapping.location),
                image: field(&mapping.image),
                ..FeedItem::default()
            };
            let price = field(&mapping.price);
            settle_price(&mut item, price, hint);
            item
        })
        .filter(|item| !item.title.is_empty())
        .collect())
}
