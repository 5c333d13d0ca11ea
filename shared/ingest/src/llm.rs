//! The optional LLM extractor for deal newsletters: the message text goes to an OpenAI-compatible
//! chat endpoint (a local Ollama, or a hosted model) with a JSON schema for the answer; every
//! deal in the answer is validated like any input (airports through the gazetteer, the price as
//! money, months, stops, links) and invalid ones are dropped. Any failure — unreachable,
//! timeout, a non-2xx answer, malformed JSON, no valid deal — falls back to the rule-based
//! extractor, so the model can only add recall, never lose a newsletter.

use dealpulse_domain::money::{Currency, Money};
use dealpulse_domain::net::{PublicUrl, Schemes};
use dealpulse_extract::newsletter::{flight_deals, place_airports, FlightDeal};
use serde::Deserialize;
use serde_json::json;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct LlmConfig {
    /// Base URL of the OpenAI-compatible API (`http://127.0.0.1:11434` for Ollama); the
    /// request goes to `<base>/v1/chat/completions`. Operator configuration, so not subject to
    /// the SSRF guard that protects user-supplied URLs.
    pub base_url: String,
    pub model: String,
    pub api_key: Option<String>,
    pub timeout: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    #[error("the model endpoint failed: {0}")]
    Transport(String),
    #[error("the model endpoint answered {0}")]
    Status(u16),
    #[error("the answer is not the requested JSON: {0}")]
    Malformed(String),
    #[error("the answer holds no valid deal")]
    NoValidDeal,
}

/// Which extractor produced a newsletter's deals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Extractor {
    Llm,
    /// The rules, as the only extractor or after the model failed.
    Rules,
}

/// Most characters of a newsletter sent to the model.
const MAX_PROMPT_CHARS: usize = 12_000;

const INSTRUCTIONS: &str = "You extract flight deals from a deal newsletter. For each deal give \
the origin and destination exactly as written (an IATA code or a city name), the price as a \
decimal number, the ISO 4217 currency code, the trip type (round_trip or one_way, null when \
not said), the travel months as numbers 1-12, the airline (or null), the number of stops (or \
null) and the booking link (or null). Only deals actually in the text; never invent any.";

fn schema() -> serde_json::Value {
    json!({
        "type": "object",
        "additionalProperties": false,
        "required": ["deals"],
        "properties": {"deals": {"type": "array", "items": {
            "type": "object",
            "additionalProperties": false,
            "required": ["origin", "destination", "price", "currency", "trip_type", "months", "airline", "stops", "link"],
            "properties": {
                "origin": {"type": "string"},
                "destination": {"type": "string"},
                "price": {"type": "string"},
                "currency": {"type": "string"},
                "trip_type": {"type": ["string", "null"], "enum": ["round_trip", "one_way", null]},
                "months": {"type": "array", "items": {"type": "integer", "minimum": 1, "maximum": 12}},
                "airline": {"type": ["string", "null"]},
                "stops": {"type": ["integer", "null"], "minimum": 0, "maximum": 3},
                "link": {"type": ["string", "null"]}
            }
        }}}
    })
}

#[derive(Deserialize)]
struct ChatAnswer {
    choices: Vec<Choice>,
}

#[derive(Deserialize)]
struct Choice {
    message: Message,
}

#[derive(Deserialize)]
struct Message {
    content: String,
}

#[derive(Deserialize)]
struct Deals {
    deals: Vec<ModelDeal>,
}

#[derive(Deserialize)]
struct ModelDeal {
    origin: String,
    destination: String,
    price: serde_json::Value,
    currency: String,
    trip_type: Option<String>,
    #[serde(default)]
    months: Vec<i64>,
    airline: Option<String>,
    stops: Option<i64>,
    link: Option<String>,
}

/// A model's deal checked like any other input; `None` when any part does not hold up.
fn validated(deal: ModelDeal) -> Option<FlightDeal> {
    let (origin, origin_name) = place_airports(&deal.origin)?;
    let (destination, destination_name) = place_airports(&deal.destination)?;
    if origin == destination {
        return None;
    }
    let currency = Currency::parse(&deal.currency).ok()?;
    let price_text = match &deal.price {
        serde_json::Value::String(text) => text.trim().to_string(),
        serde_json::Value::Number(number) => number.to_string(),
        _ => return None,
    };
    let price = Money::parse(&price_text, currency).ok()?;
    if price.minor() == 0 {
        return None;
    }
    let trip_type = match deal.trip_type.as_deref() {
        Some("round_trip") => Some("round_trip"),
        Some("one_way") => Some("one_way"),
        None => None,
        Some(_) => return None,
    };
    let months: Vec<u8> = deal
        .months
        .iter()
        .map(|m| u8::try_from(*m).ok().filter(|m| (1..=12).contains(m)))
        .collect::<Option<_>>()?;
    let stops = match deal.stops {
        None => None,
        Some(n) => Some(u8::try_from(n).ok().filter(|n| *n <= 3)?),
    };
    let link = deal
        .link
        .as_deref()
        .and_then(|l| PublicUrl::parse(l, Schemes::HttpOrHttps).ok())
        .map(|u| u.as_str().to_string());
    Some(FlightDeal {
        source_line: format!("{} to {}: {}", deal.origin, deal.destination, price),
        origin,
        destination,
        origin_name,
        destination_name,
        price: price.amount_text(),
        currency: Some(currency.code().to_string()),
        trip_type,
        months,
        airline: deal.airline.map(|a| a.chars().take(60).collect()),
        stops,
        link,
    })
}

pub struct LlmExtractor {
    client: reqwest::Client,
    config: LlmConfig,
}

impl LlmExtractor {
    pub fn new(config: LlmConfig) -> Result<Self, LlmError> {
        let client = reqwest::Client::builder()
            .timeout(config.timeout)
            .build()
            .map_err(|e| LlmError::Transport(e.to_string()))?;
        Ok(Self { client, config })
    }

    /// Asks the model; only validated deals come back.
    pub async fn ask(&self, text: &str) -> Result<Vec<FlightDeal>, LlmError> {
        let text: String = text.chars().take(MAX_PROMPT_CHARS).collect();
        let body = json!({
            "model": self.config.model,
            "temperature": 0,
            "messages": [
                {"role": "system", "content": INSTRUCTIONS},
                {"role": "user", "content": text}
            ],
            "response_format": {"type": "json_schema", "json_schema": {
                "name": "flight_deals", "strict": true, "schema": schema()
            }}
        });
        let url = format!(
            "{}/v1/chat/completions",
            self.config.base_url.trim_end_matches('/')
        );
        let mut request = self.client.post(url).json(&body);
        if let Some(key) = &self.config.api_key {
            request = request.bearer_auth(key);
        }
        let response = request
            .send()
            .await
            .map_err(|e| LlmError::Transport(e.to_string()))?;
        if !response.status().is_success() {
            return Err(LlmError::Status(response.status().as_u16()));
        }
        let answer: ChatAnswer = response
            .json()
            .await
            .map_err(|e| LlmError::Malformed(e.to_string()))?;
        let content = answer
            .choices
            .into_iter()
            .next()
            .ok_or_else(|| LlmError::Malformed("no choices".into()))?
            .message
            .content;
        let deals: Deals =
            serde_json::from_str(content.trim()).map_err(|e| LlmError::Malformed(e.to_string()))?;
        let valid: Vec<FlightDeal> = deals.deals.into_iter().filter_map(validated).collect();
        if valid.is_empty() {
            return Err(LlmError::NoValidDeal);
        }
        Ok(valid)
    }

    /// The model's deals, or the rules' when the model fails in any way.
    pub async fn flight_deals(&self, text: &str) -> (Vec<FlightDeal>, Extractor) {
        match self.ask(text).await {
            Ok(deals) => (deals, Extractor::Llm),
            Err(error) => {
                tracing::warn!(%error, "LLM extractor failed; using the rules");
                (flight_deals(text), Extractor::Rules)
            }
        }
    }
}
