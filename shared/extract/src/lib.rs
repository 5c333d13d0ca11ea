//! Product data from a product page's HTML. Methods are tried from the most to the least
//! reliable — schema.org JSON-LD (including `@graph` and arrays, Offer / AggregateOffer /
//! ItemList), microdata, RDFa-lite, OpenGraph/product meta tags, a bare `itemprop=price`, then
//! per-domain or per-watch CSS selector overrides, then a text fallback — and every field records
//! the method that found it, so a selector can be debugged and a layout change noticed.

pub mod feeds;
pub mod newsletter;

pub use url::Url;

use dealpulse_domain::money::Currency;
use dealpulse_domain::price_text::{parse_price, PriceContext};
use scraper::{ElementRef, Html, Selector};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// How a field was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    JsonLd,
    Microdata,
    Rdfa,
    OpenGraph,
    Itemprop,
    Selector,
    Text,
}

/// Availability as schema.org states it, reduced to what alerts need.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Availability {
    InStock,
    OutOfStock,
    PreOrder,
    Discontinued,
}

pub use dealpulse_domain::sources::SelectorOverrides;

/// Checks that every selector of `overrides` is valid CSS (at the API boundary, so a broken
/// override is refused when it is set rather than failing every later check).
pub fn check_selectors(overrides: &SelectorOverrides) -> Result<(), BadSelector> {
    for css in [
        &overrides.title,
        &overrides.price,
        &overrides.list_price,
        &overrides.availability,
        &overrides.image,
    ]
    .into_iter()
    .flatten()
    {
        if css.len() > 300 || Selector::parse(css).is_err() {
            return Err(BadSelector(css.clone()));
        }
    }
    Ok(())
}

/// What the page says about its product. `methods` names the method behind each field.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Extracted {
    pub title: Option<String>,
    /// Decimal amount with the currency's places, e.g. `"1299.00"`.
    pub price: Option<String>,
    pub currency: Option<String>,
    pub list_price: Option<String>,
    pub availability: Option<Availability>,
    pub condition: Option<String>,
    pub image: Option<String>,
    pub canonical_url: Option<String>,
    pub gtin: Option<String>,
    pub sku: Option<String>,
    pub methods: BTreeMap<&'static str, Method>,
}

/// Why a selector override could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid CSS selector: {0}")]
pub struct BadSelector(pub String);

/// The page and what is known about it.
pub struct Page<'a> {
    pub html: &'a str,
    /// The URL the page was fetched from (resolves relative image and canonical URLs).
    pub url: Option<&'a url::Url>,
    /// Overrides for this domain or watch.
    pub selectors: Option<&'a SelectorOverrides>,
}

struct Found {
    extracted: Extracted,
}

impl Found {
    fn set(&mut self, field: &'static str, value: Option<String>, method: Method) {
        let Some(value) = value
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
        else {
            return;
        };
        let slot = match field {
            "title" => &mut self.extracted.title,
            "price" => &mut self.extracted.price,
            "currency" => &mut self.extracted.currency,
            "list_price" => &mut self.extracted.list_price,
            "condition" => &mut self.extracted.condition,
            "image" => &mut self.extracted.image,
            "canonical_url" => &mut self.extracted.canonical_url,
            "gtin" => &mut self.extracted.gtin,
            "sku" => &mut self.extracted.sku,
            _ => return,
        };
        if slot.is_none() {
            *slot = Some(value);
            self.extracted.methods.insert(field, method);
        }
    }

    fn set_availability(&mut self, value: Option<Availability>, method: Method) {
        if self.extracted.availability.is_none() {
            if let Some(value) = value {
                self.extracted.availability = Some(value);
                self.extracted.methods.insert("availability", method);
            }
        }
    }

    /// Reads a price text (with the currency the page states, if any) into price and currency.
    fn set_price_text(
        &mut self,
        text: &str,
        currency: Option<Currency>,
        context: &PriceContext<'_>,
        method: Method,
    ) {
        let parsed = parse_price(
            text,
            &PriceContext {
                currency,
                ..*context
            },
        );
        self.set("price", parsed.amount, method);
        self.set("currency", parsed.currency, method);
    }

    fn has(&self, field: &str) -> bool {
        self.extracted.methods.contains_key(field)
    }
}

fn selector(css: &str) -> Option<Selector> {
    Selector::parse(css).ok()
}

/// Reads `https://schema.org/InStock`, `InStock`, `in stock`, `out_of_stock`, …
pub fn parse_availability(text: &str) -> Option<Availability> {
    let key: String = text
        .rsplit('/')
        .next()
        .unwrap_or(text)
        .chars()
        .filter(|c| c.is_alphanumeric())
        .collect::<String>()
        .to_lowercase();
    match key.as_str() {
        "instock" | "instoreonly" | "onlineonly" | "limitedavailability" | "available" => {
            Some(Availability::InStock)
        }
        "outofstock" | "soldout" | "unavailable" => Some(Availability::OutOfStock),
        "preorder" | "presale" | "backorder" => Some(Availability::PreOrder),
        "discontinued" => Some(Availability::Discontinued),
        _ => None,
    }
}

fn condition_name(text: &str) -> String {
    let key = text.rsplit('/').next().unwrap_or(text);
    match key {
        "NewCondition" => "new".into(),
        "UsedCondition" => "used".into(),
        "RefurbishedCondition" => "refurbished".into(),
        "DamagedCondition" => "damaged".into(),
        other => other.to_lowercase(),
    }
}

fn text_of(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Array(items) => items.iter().find_map(text_of),
        Value::Object(map) => map
            .get("url")
            .or_else(|| map.get("@id"))
            .or_else(|| map.get("name"))
            .or_else(|| map.get("contentUrl"))
            .and_then(text_of),
        _ => None,
    }
}

fn has_type(value: &Value, wanted: &str) -> bool {
    let matches = |t: &str| t == wanted || t.ends_with(&format!("/{wanted}"));
    match value.get("@type") {
        Some(Value::String(t)) => matches(t),
        Some(Value::Array(types)) => types.iter().any(|t| t.as_str().is_some_and(matches)),
        _ => false,
    }
}

/// Every object in a JSON-LD document, depth first (`@graph`, arrays, nested items).
fn walk<'v>(value: &'v Value, out: &mut Vec<&'v Value>) {
    match value {
        Value::Array(items) => items.iter().for_each(|item| walk(item, out)),
        Value::Object(map) => {
            out.push(value);
            for child in map.values() {
                if child.is_object() || child.is_array() {
                    walk(child, out);
                }
            }
        }
        _ => {}
    }
}

/// Prices in JSON-LD are numbers or decimal strings (dot decimal per schema.org), but shops
/// also put formatted text there; both are read through the price-text parser.
fn json_price(value: &Value, currency: Option<Currency>) -> Option<String> {
    let text = match value {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        _ => return None,
    };
    // schema.org prices use a dot decimal point; read them as such, whatever the digits count.
    let plain = text.trim();
    if !plain.is_empty()
        && plain.chars().all(|c| c.is_ascii_digit() || c == '.')
        && plain.matches('.').count() <= 1
    {
        let (whole, fraction) = plain.split_once('.').unwrap_or((plain, ""));
        let whole = match whole.trim_start_matches('0') {
            "" => "0",
            digits => digits,
        };
        return Some(match currency.map(|c| usize::from(c.decimals())) {
            Some(0) => whole.to_string(),
            Some(places) => {
                let mut fraction: String = fraction.chars().take(places).collect();
                while fraction.len() < places {
                    fraction.push('0');
                }
                format!("{whole}.{fraction}")
            }
            None if fraction.is_empty() => whole.to_string(),
            None => format!("{whole}.{fraction}"),
        });
    }
    parse_price(
        &text,
        &PriceContext {
            currency,
            ..Default::default()
        },
    )
    .amount
}

fn from_json_ld(document: &Html, found: &mut Found) {
    let Some(scripts) = selector("script[type='application/ld+json' i]") else {
        return;
    };
    let mut products = Vec::new();
    let mut parsed_docs = Vec::new();
    for script in document.select(&scripts) {
        let raw: String = script.text().collect();
        let cleaned = raw
            .trim()
            .trim_start_matches("<!--")
            .trim_end_matches("-->")
            .trim_start_matches("//<![CDATA[")
            .trim_end_matches("//]]>")
            .trim();
        if let Ok(value) = serde_json::from_str::<Value>(cleaned) {
            parsed_docs.push(value);
        }
    }
    for doc in &parsed_docs {
        let mut objects = Vec::new();
        walk(doc, &mut objects);
        products.extend(objects.into_iter().filter(|o| has_type(o, "Product")));
    }
    let Some(product) = products.first() else {
        return;
    };
    found.set(
        "title",
        product.get("name").and_then(text_of),
        Method::JsonLd,
    );
    found.set(
        "image",
        product.get("image").and_then(text_of),
        Method::JsonLd,
    );
    found.set("sku", product.get("sku").and_then(text_of), Method::JsonLd);
    for key in ["gtin13", "gtin", "gtin12", "gtin14", "gtin8", "ean"] {
        found.set("gtin", product.get(key).and_then(text_of), Method::JsonLd);
    }
    found.set(
        "canonical_url",
        product.get("url").and_then(text_of),
        Method::JsonLd,
    );
    let offers: Vec<&Value> = match product.get("offers") {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(offer @ Value::Object(_)) => vec![offer],
        _ => Vec::new(),
    };
    // The lowest offer is what a shopper pays; an AggregateOffer states it as lowPrice.
    let mut best: Option<(String, Option<Currency>, &Value)> = None;
    for offer in offers {
        let spec = offer.get("priceSpecification");
        let currency_text = offer
            .get("priceCurrency")
            .or_else(|| spec.and_then(|s| s.get("priceCurrency")))
            .and_then(text_of);
        let currency = currency_text
            .as_deref()
            .and_then(|c| Currency::parse(c).ok());
        let price_value = offer
            .get("price")
            .or_else(|| offer.get("lowPrice"))
            .or_else(|| spec.filter(|s| s.is_object()).and_then(|s| s.get("price")))
            .or_else(|| {
                // An array of specifications: the one that is not a list price.
                spec.and_then(Value::as_array).and_then(|specs| {
                    specs
                        .iter()
                        .find(|s| {
                            !s.get("priceType").and_then(text_of).is_some_and(|t| {
                                t.contains("ListPrice") || t.contains("Strikethrough")
                            })
                        })
                        .and_then(|s| s.get("price"))
                })
            });
        let Some(price) = price_value.and_then(|p| json_price(p, currency)) else {
            continue;
        };
        let cheaper = best.as_ref().is_none_or(|(current, _, _)| {
            price.parse::<f64>().unwrap_or(f64::MAX) < current.parse::<f64>().unwrap_or(f64::MAX)
        });
        if cheaper {
            best = Some((price, currency, offer));
        }
    }
    if let Some((price, currency, offer)) = best {
        found.set("price", Some(price), Method::JsonLd);
        found.set(
            "currency",
            currency.map(|c| c.code().to_string()),
            Method::JsonLd,
        );
        found.set_availability(
            offer
                .get("availability")
                .and_then(text_of)
                .and_then(|a| parse_availability(&a)),
            Method::JsonLd,
        );
        found.set(
            "condition",
            offer
                .get("itemCondition")
                .and_then(text_of)
                .map(|c| condition_name(&c)),
            Method::JsonLd,
        );
        // A list (strike-through) price is a priceSpecification with that priceType.
        let list_price = match offer.get("priceSpecification") {
            Some(Value::Array(specs)) => specs.iter().find(|spec| {
                spec.get("priceType")
                    .and_then(text_of)
                    .is_some_and(|t| t.contains("ListPrice") || t.contains("StrikethroughPrice"))
            }),
            _ => None,
        };
        found.set(
            "list_price",
            list_price
                .and_then(|spec| spec.get("price"))
                .and_then(|p| json_price(p, currency)),
            Method::JsonLd,
        );
    }
}

/// The value of a microdata / RDFa property element: `content`, then `href`/`src`, then text.
fn property_value(element: ElementRef<'_>) -> Option<String> {
    let value = element.value();
    value
        .attr("content")
        .or_else(|| value.attr("href"))
        .or_else(|| value.attr("src"))
        .map(str::to_string)
        .or_else(|| {
            let text: String = element.text().collect::<Vec<_>>().join(" ");
            Some(text.split_whitespace().collect::<Vec<_>>().join(" "))
        })
        .filter(|v| !v.is_empty())
}

/// Microdata (`itemprop` inside `itemscope itemtype=…Product`) or RDFa-lite (`property`
/// inside `typeof=Product`).
fn from_properties(document: &Html, found: &mut Found, context: &PriceContext<'_>, rdfa: bool) {
    let (scope_css, attribute, method) = if rdfa {
        ("[typeof$='Product' i]", "property", Method::Rdfa)
    } else {
        (
            "[itemscope][itemtype$='Product' i]",
            "itemprop",
            Method::Microdata,
        )
    };
    let Some(scope_selector) = selector(scope_css) else {
        return;
    };
    let Some(scope) = document.select(&scope_selector).next() else {
        return;
    };
    let prop = |name: &str| -> Option<String> {
        let css = format!("[{attribute}='{name}'], [{attribute}$=':{name}']");
        let chosen = selector(&css)?;
        scope.select(&chosen).next().and_then(property_value)
    };
    found.set("title", prop("name"), method);
    found.set("image", prop("image"), method);
    found.set("sku", prop("sku"), method);
    found.set("gtin", prop("gtin13").or_else(|| prop("gtin")), method);
    let currency_text = prop("priceCurrency");
    let currency = currency_text
        .as_deref()
        .and_then(|c| Currency::parse(c).ok())
        .or(context.currency);
    if let Some(price) = prop("price").or_else(|| prop("lowPrice")) {
        found.set_price_text(&price, currency, context, method);
    }
    found.set_availability(
        prop("availability").and_then(|a| parse_availability(&a)),
        method,
    );
    found.set(
        "condition",
        prop("itemCondition").map(|c| condition_name(&c)),
        method,
    );
}

fn meta(document: &Html, names: &[&str]) -> Option<String> {
    names.iter().find_map(|name| {
        let css = format!("meta[property='{name}'], meta[name='{name}']");
        let chosen = selector(&css)?;
        document
            .select(&chosen)
            .find_map(|m| m.value().attr("content").map(str::to_string))
            .filter(|v| !v.trim().is_empty())
    })
}

fn from_open_graph(document: &Html, found: &mut Found, context: &PriceContext<'_>) {
    let method = Method::OpenGraph;
    found.set(
        "title",
        meta(document, &["og:title", "twitter:title"]),
        method,
    );
    found.set(
        "image",
        meta(document, &["og:image", "twitter:image"]),
        method,
    );
    found.set("canonical_url", meta(document, &["og:url"]), method);
    let currency = meta(document, &["product:price:currency", "og:price:currency"])
        .and_then(|c| Currency::parse(&c).ok())
        .or(context.currency);
    if let Some(amount) = meta(document, &["product:price:amount", "og:price:amount"]) {
        found.set_price_text(&amount, currency, context, method);
    }
    found.set_availability(
        meta(document, &["product:availability", "og:availability"])
            .and_then(|a| parse_availability(&a)),
        method,
    );
    found.set(
        "condition",
        meta(document, &["product:condition", "og:condition"]),
        method,
    );
}

fn from_itemprop(document: &Html, found: &mut Found, context: &PriceContext<'_>) {
    let Some(chosen) = selector("[itemprop='price']") else {
        return;
    };
    let Some(element) = document.select(&chosen).next() else {
        return;
    };
    let currency = selector("[itemprop='priceCurrency']")
        .and_then(|c| document.select(&c).next())
        .and_then(property_value)
        .and_then(|c| Currency::parse(&c).ok())
        .or(context.currency);
    if let Some(text) = property_value(element) {
        found.set_price_text(&text, currency, context, Method::Itemprop);
    }
}

fn from_selectors(
    document: &Html,
    found: &mut Found,
    overrides: &SelectorOverrides,
    context: &PriceContext<'_>,
) -> Result<(), BadSelector> {
    let pick = |css: &Option<String>| -> Result<Option<String>, BadSelector> {
        let Some(css) = css else { return Ok(None) };
        let chosen = Selector::parse(css).map_err(|_| BadSelector(css.clone()))?;
        Ok(document.select(&chosen).next().and_then(property_value))
    };
    // Overrides win over structured data: they exist because the structured data is wrong.
    let method = Method::Selector;
    if let Some(title) = pick(&overrides.title)? {
        found.extracted.title = None;
        found.set("title", Some(title), method);
    }
    if let Some(text) = pick(&overrides.price)? {
        let parsed = parse_price(&text, context);
        if parsed.amount.is_some() {
            found.extracted.price = None;
            found.set("price", parsed.amount, method);
            if parsed.currency.is_some() {
                found.extracted.currency = None;
                found.set("currency", parsed.currency, method);
            }
        }
    }
    if let Some(text) = pick(&overrides.list_price)? {
        found.extracted.list_price = None;
        found.set("list_price", parse_price(&text, context).amount, method);
    }
    if let Some(text) = pick(&overrides.availability)? {
        if let Some(availability) = parse_availability(&text) {
            found.extracted.availability = None;
            found.set_availability(Some(availability), method);
        }
    }
    if let Some(image) = pick(&overrides.image)? {
        found.extracted.image = None;
        found.set("image", Some(image), method);
    }
    Ok(())
}

/// The last resort: the page heading (or `<title>`) for the title, and an element whose class
/// or id says "price" (former prices skipped) for the price.
fn from_text(document: &Html, found: &mut Found, context: &PriceContext<'_>) {
    if found.extracted.title.is_none() {
        let heading = selector("h1")
            .and_then(|h| document.select(&h).next())
            .map(|h| h.text().collect::<Vec<_>>().join(" "))
            .or_else(|| {
                selector("title")
                    .and_then(|t| document.select(&t).next())
                    .map(|t| t.text().collect::<String>())
            });
        found.set(
            "title",
            heading.map(|h| h.split_whitespace().collect::<Vec<_>>().join(" ")),
            Method::Text,
        );
    }
    if found.has("price") {
        return;
    }
    let candidates = selector("[class*='price' i], [id*='price' i]")
        .map(|chosen| document.select(&chosen).collect::<Vec<_>>())
        .unwrap_or_default();
    for element in candidates {
        let class = element
            .value()
            .attr("class")
            .unwrap_or_default()
            .to_lowercase();
        if ["old", "was", "strike", "regular", "list", "compare"]
            .iter()
            .any(|word| class.contains(word))
        {
            continue;
        }
        let text: String = element.text().collect::<Vec<_>>().join(" ");
        let parsed = parse_price(&text, context);
        if parsed.amount.is_some() && parsed.currency.is_some() {
            found.set("price", parsed.amount, Method::Text);
            found.set("currency", parsed.currency, Method::Text);
            return;
        }
    }
}

fn resolve_url(base: Option<&url::Url>, value: &mut Option<String>) {
    if let (Some(base), Some(text)) = (base, value.as_mut()) {
        if let Ok(absolute) = base.join(text) {
            *text = absolute.to_string();
        }
    }
}

/// Extracts the product the page describes.
pub fn extract(page: &Page<'_>) -> Result<Extracted, BadSelector> {
    let document = Html::parse_document(page.html);
    let locale = selector("html")
        .and_then(|h| document.select(&h).next())
        .and_then(|h| h.value().attr("lang").map(str::to_string));
    let host = page.url.and_then(|u| u.host_str()).map(str::to_string);
    let context = PriceContext {
        currency: None,
        locale: locale.as_deref(),
        host: host.as_deref(),
    };
    let mut found = Found {
        extracted: Extracted::default(),
    };
    from_json_ld(&document, &mut found);
    let structured_currency = found
        .extracted
        .currency
        .as_deref()
        .and_then(|c| Currency::parse(c).ok());
    let context = PriceContext {
        currency: structured_currency,
        ..context
    };
    from_properties(&document, &mut found, &context, false);
    from_properties(&document, &mut found, &context, true);
    from_open_graph(&document, &mut found, &context);
    from_itemprop(&document, &mut found, &context);
    if let Some(overrides) = page.selectors {
        from_selectors(&document, &mut found, overrides, &context)?;
    }
    from_text(&document, &mut found, &context);
    if found.extracted.canonical_url.is_none() {
        let canonical = selector("link[rel='canonical']")
            .and_then(|l| document.select(&l).next())
            .and_then(|l| l.value().attr("href").map(str::to_string));
        found.set("canonical_url", canonical, Method::Text);
    }
    resolve_url(page.url, &mut found.extracted.image);
    resolve_url(page.url, &mut found.extracted.canonical_url);
    Ok(found.extracted)
}
