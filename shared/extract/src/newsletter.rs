//! Deal newsletters by e-mail: MIME parsed properly (multipart, quoted-printable, base64,
//! charsets; HTML turned into text), then each flight deal in the text extracted by rules —
//! origin and destination (IATA codes, or city names through the airport gazetteer), price and
//! currency, trip type, travel months, airline, stops and the booking link.

use dealpulse_domain::geo::Gazetteer;
use dealpulse_domain::price_text::{parse_price, PriceContext};
use mail_parser::MessageParser;
use serde::Serialize;

/// A parsed e-mail, reduced to what extraction needs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Newsletter {
    pub from: Option<String>,
    /// Every recipient address the message names (To, Cc, Delivered-To, X-Original-To),
    /// lower-cased: how an inbound address is recognised.
    pub recipients: Vec<String>,
    pub subject: Option<String>,
    pub date: Option<String>,
    /// SES's verdicts (`X-SES-Spam-Verdict`, `X-SES-Virus-Verdict`) when SES received it.
    pub spam_verdict: Option<String>,
    pub virus_verdict: Option<String>,
    /// The plain-text body, or the HTML body turned into text.
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MailError {
    #[error("not an e-mail message")]
    NotAMessage,
    #[error("the message has no readable body")]
    NoBody,
}

/// Parses a raw RFC 5322 message.
pub fn parse_mail(raw: &[u8]) -> Result<Newsletter, MailError> {
    let message = MessageParser::default()
        .parse(raw)
        .ok_or(MailError::NotAMessage)?;
    if message.headers().is_empty() {
        return Err(MailError::NotAMessage);
    }
    // A plain-text part as sent; otherwise the HTML part with its blocks on their own lines.
    let has_plain = message.text_body.iter().any(|&part| {
        message
            .part(part)
            .is_some_and(|p| matches!(p.body, mail_parser::PartType::Text(_)))
    });
    let text = if has_plain {
        message.body_text(0).map(|t| t.into_owned())
    } else {
        message.body_html(0).map(|html| html_to_text(&html))
    }
    .filter(|t| !t.trim().is_empty())
    .ok_or(MailError::NoBody)?;
    let mut recipients: Vec<String> = Vec::new();
    for list in [message.to(), message.cc()].into_iter().flatten() {
        for address in list.iter() {
            if let Some(address) = address.address() {
                recipients.push(address.to_lowercase());
            }
        }
    }
    let header = |name: &str| -> Option<String> {
        message
            .header_raw(name)
            .map(|v| v.trim().trim_matches(|c| c == '<' || c == '>').to_string())
            .filter(|v| !v.is_empty())
    };
    for name in ["Delivered-To", "X-Original-To"] {
        if let Some(address) = header(name) {
            recipients.push(address.to_lowercase());
        }
    }
    recipients.dedup();
    Ok(Newsletter {
        from: message
            .from()
            .and_then(|a| a.first())
            .and_then(|a| a.address())
            .map(|a| a.to_lowercase()),
        recipients,
        spam_verdict: header("X-SES-Spam-Verdict"),
        virus_verdict: header("X-SES-Virus-Verdict"),
        subject: message.subject().map(str::to_string),
        date: message.date().map(|d| d.to_rfc3339()),
        text,
    })
}

/// HTML to text with each block element (paragraph, heading, list item, row, `<br>`) on its own
/// line, so one deal per block stays one deal per line.
pub fn html_to_text(html: &str) -> String {
    let document = scraper::Html::parse_document(html);
    let mut out = String::new();
    fn walk(node: ego_tree::NodeRef<'_, scraper::Node>, out: &mut String) {
        match node.value() {
            scraper::Node::Text(text) => out.push_str(text),
            scraper::Node::Element(element) => {
                let name = element.name();
                if matches!(name, "script" | "style" | "head") {
                    return;
                }
                let block = matches!(
                    name,
                    "p" | "div"
                        | "br"
                        | "li"
                        | "tr"
                        | "h1"
                        | "h2"
                        | "h3"
                        | "h4"
                        | "h5"
                        | "h6"
                        | "table"
                        | "ul"
                        | "ol"
                        | "section"
                        | "article"
                        | "header"
                        | "footer"
                        | "blockquote"
                );
                if block {
                    out.push('\n');
                }
                if name == "a" {
                    let before = out.len();
                    for child in node.children() {
                        walk(child, out);
                    }
                    // Keep the link target next to its text: "Book now <https://…>".
                    if let Some(href) = element.attr("href").filter(|h| h.starts_with("http")) {
                        if !out[before..].contains(href) {
                            out.push_str(&format!(" <{href}>"));
                        }
                    }
                    return;
                }
                for child in node.children() {
                    walk(child, out);
                }
                if block {
                    out.push('\n');
                }
            }
            _ => {
                for child in node.children() {
                    walk(child, out);
                }
            }
        }
    }
    walk(document.tree.root(), &mut out);
    out.lines()
        .map(|line| line.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|line| !line.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

/// One flight deal found in a newsletter.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FlightDeal {
    /// IATA codes the origin stands for (one airport, or every airport of the city).
    pub origin: Vec<String>,
    pub destination: Vec<String>,
    pub origin_name: String,
    pub destination_name: String,
    pub price: String,
    pub currency: Option<String>,
    /// `round_trip` or `one_way`, when the deal says.
    pub trip_type: Option<&'static str>,
    /// Travel months mentioned (1–12).
    pub months: Vec<u8>,
    pub airline: Option<String>,
    pub stops: Option<u8>,
    pub link: Option<String>,
    /// The line the deal was read from.
    pub source_line: String,
}

const AIRLINES: &[&str] = &[
    "Aer Lingus",
    "Aeromexico",
    "Air Canada",
    "Air France",
    "Air India",
    "Air New Zealand",
    "Alaska",
    "American",
    "Austrian",
    "Avianca",
    "British Airways",
    "Brussels Airlines",
    "Cathay Pacific",
    "Condor",
    "Delta",
    "easyJet",
    "Emirates",
    "Etihad",
    "Finnair",
    "Frontier",
    "Iberia",
    "Icelandair",
    "ITA Airways",
    "Japan Airlines",
    "JetBlue",
    "KLM",
    "Korean Air",
    "LATAM",
    "Lufthansa",
    "Norse",
    "Norwegian",
    "Qantas",
    "Qatar Airways",
    "Ryanair",
    "SAS",
    "Singapore Airlines",
    "Southwest",
    "Spirit",
    "Sun Country",
    "Swiss",
    "TAP",
    "Turkish Airlines",
    "United",
    "Virgin Atlantic",
    "Volaris",
    "WestJet",
    "Wizz Air",
];

const MONTHS: [(&str, u8); 12] = [
    ("jan", 1),
    ("feb", 2),
    ("mar", 3),
    ("apr", 4),
    ("may", 5),
    ("jun", 6),
    ("jul", 7),
    ("aug", 8),
    ("sep", 9),
    ("oct", 10),
    ("nov", 11),
    ("dec", 12),
];

/// A place named in a deal: the airports it stands for and how it was written.
struct Place {
    airports: Vec<String>,
    name: String,
}

/// Resolves a place written as `Boston (BOS)`, `BOS` or `New York`.
fn resolve_place(text: &str) -> Option<Place> {
    let places = Gazetteer::get();
    let cleaned = text
        .trim()
        .trim_matches(|c: char| !c.is_alphanumeric() && c != ')' && c != '(');
    // An IATA code in parentheses or standing alone.
    for word in cleaned.split(|c: char| !c.is_ascii_alphabetic()) {
        if word.len() == 3 && word.chars().all(|c| c.is_ascii_uppercase()) {
            if let Some(airport) = places.airport(word) {
                return Some(Place {
                    airports: vec![airport.iata.clone()],
                    name: cleaned.to_string(),
                });
            }
        }
    }
    // Otherwise the longest run of up to three words that is a city served by airports,
    // preferring the words nearest the separator (the end of an origin, the start of a
    // destination is handled by the caller passing the right slice).
    let words: Vec<&str> = cleaned
        .split_whitespace()
        .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric()))
        .filter(|w| !w.is_empty())
        .collect();
    for size in (1..=3.min(words.len())).rev() {
        for start in 0..=words.len() - size {
            let candidate = words[start..start + size].join(" ");
            let airports = places.city_airports(&candidate, None);
            // A city name shared by several countries is ambiguous: take the country with
            // the most airports for that name (Paris → FR rather than the US towns).
            if let Some(country) = majority_country(&airports) {
                let codes: Vec<String> = airports
                    .iter()
                    .filter(|a| a.country == country)
                    .map(|a| a.iata.clone())
                    .collect();
                return Some(Place {
                    airports: codes,
                    name: candidate,
                });
            }
        }
    }
    None
}

/// The airports a place name stands for (`Boston (BOS)`, `BOS`, `New York`) and the name as
/// matched; `None` when the gazetteer does not know it.
pub fn place_airports(text: &str) -> Option<(Vec<String>, String)> {
    resolve_place(text).map(|place| (place.airports, place.name))
}

fn majority_country(airports: &[&dealpulse_domain::geo::Airport]) -> Option<String> {
    let mut counts: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
    for airport in airports {
        *counts.entry(airport.country.as_str()).or_default() += 1;
    }
    counts
        .into_iter()
        .max_by_key(|(_, n)| *n)
        .map(|(country, _)| country.to_string())
}

fn find_link(line: &str) -> Option<String> {
    line.split_whitespace()
        .map(|w| {
            w.trim_matches(|c: char| matches!(c, '<' | '>' | '(' | ')' | '[' | ']' | ',' | '"'))
        })
        .find(|w| w.starts_with("https://") || w.starts_with("http://"))
        .map(str::to_string)
}

/// Splits "Boston (BOS) to Lisbon (LIS) – $389" into origin and destination text.
fn route_sides(line: &str) -> Option<(String, String)> {
    for separator in [" to ", " → ", " -> ", " > ", " ✈ ", " – ", " - ", " — "] {
        if let Some((left, right)) = line.split_once(separator) {
            // The destination ends where the price or punctuation starts.
            let right_end = right
                .find(|c: char| {
                    matches!(c, '$' | '€' | '£' | ':' | ',' | '|' | '–' | '—') || c.is_ascii_digit()
                })
                .unwrap_or(right.len());
            let left_start = left.rfind([':', '|', '•', '*']).map_or(0, |i| i + 1);
            return Some((
                left[left_start..].to_string(),
                right[..right_end].to_string(),
            ));
        }
    }
    None
}

/// Extracts every flight deal from a newsletter's text, one per line that names a route and
/// a price. Lines without both are skipped; nothing is guessed.
pub fn flight_deals(text: &str) -> Vec<FlightDeal> {
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    let mut deals = Vec::new();
    for (index, line) in lines.iter().enumerate() {
        if line.is_empty() {
            continue;
        }
        let Some((left, right)) = route_sides(line) else {
            continue;
        };
        let (Some(origin), Some(destination)) = (resolve_place(&left), resolve_place(&right))
        else {
            continue;
        };
        let parsed = parse_price(line, &PriceContext::default());
        let (Some(price), Some(currency)) = (parsed.amount, parsed.currency) else {
            continue;
        };
        let lower = line.to_lowercase();
        let trip_type = if ["round trip", "roundtrip", "round-trip", "return", "r/t"]
            .iter()
            .any(|w| lower.contains(w))
        {
            Some("round_trip")
        } else if ["one way", "one-way", "oneway"]
            .iter()
            .any(|w| lower.contains(w))
        {
            Some("one_way")
        } else {
            None
        };
        let stops = if ["nonstop", "non-stop", "direct"]
            .iter()
            .any(|w| lower.contains(w))
        {
            Some(0)
        } else {
            lower
                .split_whitespace()
                .collect::<Vec<_>>()
                .windows(2)
                .find(|w| w[1].starts_with("stop"))
                .and_then(|w| w[0].trim_start_matches('(').parse::<u8>().ok())
        };
        let airline = AIRLINES
            .iter()
            .find(|name| {
                let name = name.to_lowercase();
                lower.match_indices(&name).any(|(at, _)| {
                    let before = lower[..at].chars().last();
                    let after = lower[at + name.len()..].chars().next();
                    before.is_none_or(|c| !c.is_alphanumeric())
                        && after.is_none_or(|c| !c.is_alphanumeric())
                })
            })
            .map(|name| name.to_string());
        let mut months: Vec<u8> = lower
            .split(|c: char| !c.is_alphabetic())
            .filter(|w| w.len() >= 3)
            .filter_map(|w| {
                MONTHS
                    .iter()
                    .find(|(prefix, _)| w.starts_with(prefix) && (w.len() == 3 || full_month(w)))
                    .map(|(_, n)| *n)
            })
            .collect();
        months.dedup();
        // "Mar–May": a span of months.
        if months.len() == 2
            && (lower.contains('–') || lower.contains('-'))
            && months[0] < months[1]
        {
            months = (months[0]..=months[1]).collect();
        }
        let link =
            find_link(line).or_else(|| lines.get(index + 1).and_then(|next| find_link(next)));
        deals.push(FlightDeal {
            origin: origin.airports,
            destination: destination.airports,
            origin_name: origin.name,
            destination_name: destination.name,
            price,
            currency: Some(currency),
            trip_type,
            months,
            airline,
            stops,
            link,
            source_line: line.to_string(),
        });
    }
    deals
}

fn full_month(word: &str) -> bool {
    matches!(
        word,
        "january"
            | "february"
            | "march"
            | "april"
            | "june"
            | "july"
            | "august"
            | "september"
            | "sept"
            | "october"
            | "november"
            | "december"
    )
}
