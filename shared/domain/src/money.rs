//! Prices: an ISO 4217 currency and an exact amount in the currency's minor units.
//! Amounts travel in JSON as decimal strings (`"799.99"`) so no float ever rounds a price.

use crate::account::InvalidValue;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Currencies DealPulse accepts, with their number of decimal places.
const CURRENCIES: &[(&str, u8)] = &[
    ("AED", 2),
    ("ARS", 2),
    ("AUD", 2),
    ("BGN", 2),
    ("BHD", 3),
    ("BRL", 2),
    ("CAD", 2),
    ("CHF", 2),
    ("CLP", 0),
    ("CNY", 2),
    ("COP", 2),
    ("CZK", 2),
    ("DKK", 2),
    ("EGP", 2),
    ("EUR", 2),
    ("GBP", 2),
    ("HKD", 2),
    ("HUF", 2),
    ("IDR", 2),
    ("ILS", 2),
    ("INR", 2),
    ("ISK", 0),
    ("JOD", 3),
    ("JPY", 0),
    ("KES", 2),
    ("KRW", 0),
    ("KWD", 3),
    ("MAD", 2),
    ("MXN", 2),
    ("MYR", 2),
    ("NGN", 2),
    ("NOK", 2),
    ("NZD", 2),
    ("OMR", 3),
    ("PEN", 2),
    ("PHP", 2),
    ("PKR", 2),
    ("PLN", 2),
    ("QAR", 2),
    ("RON", 2),
    ("RUB", 2),
    ("SAR", 2),
    ("SEK", 2),
    ("SGD", 2),
    ("THB", 2),
    ("TRY", 2),
    ("TWD", 2),
    ("UAH", 2),
    ("USD", 2),
    ("VND", 0),
    ("ZAR", 2),
];

/// Largest amount accepted, in major units: far above any deal, far below i64 overflow.
const MAX_MAJOR_UNITS: i64 = 1_000_000_000;

/// An ISO 4217 currency code DealPulse knows the minor units of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency {
    code: [u8; 3],
    decimals: u8,
}

impl Currency {
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let upper = raw.trim().to_ascii_uppercase();
        CURRENCIES
            .iter()
            .find(|(code, _)| *code == upper)
            .map(|(code, decimals)| {
                let bytes = code.as_bytes();
                Self {
                    code: [bytes[0], bytes[1], bytes[2]],
                    decimals: *decimals,
                }
            })
            .ok_or(InvalidValue(
                "currency must be a supported ISO 4217 code such as USD or EUR",
            ))
    }

    pub fn code(&self) -> &str {
        // The code bytes come from the ASCII table above.
        std::str::from_utf8(&self.code).unwrap_or("XXX")
    }

    pub fn decimals(&self) -> u8 {
        self.decimals
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl TryFrom<String> for Currency {
    type Error = InvalidValue;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Currency> for String {
    fn from(value: Currency) -> Self {
        value.code().to_string()
    }
}

/// A non-negative amount of money.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "MoneyJson", into = "MoneyJson")]
pub struct Money {
    minor: i64,
    currency: Currency,
}

/// Money as JSON: `{"amount": "799.99", "currency": "USD"}`; a JSON number is accepted too.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MoneyJson {
    pub amount: AmountText,
    pub currency: String,
}

/// A decimal amount as a string or a JSON number.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum AmountText {
    Text(String),
    Number(serde_json::Number),
}

impl TryFrom<MoneyJson> for Money {
    type Error = InvalidValue;
    fn try_from(value: MoneyJson) -> Result<Self, Self::Error> {
        let currency = Currency::parse(&value.currency)?;
        let text = match &value.amount {
            AmountText::Text(text) => text.clone(),
            AmountText::Number(number) => number.to_string(),
        };
        Money::parse(&text, currency)
    }
}

impl From<Money> for MoneyJson {
    fn from(value: Money) -> Self {
        MoneyJson {
            amount: AmountText::Text(value.amount_text()),
            currency: value.currency.code().to_string(),
        }
    }
}

impl Money {
    pub fn from_minor(minor: i64, currency: Currency) -> Result<Self, InvalidValue> {
        if minor < 0 {
            return Err(InvalidValue("an amount cannot be negative"));
        }
        if minor / 10_i64.pow(u32::from(currency.decimals)) > MAX_MAJOR_UNITS {
            return Err(InvalidValue("the amount is too large"));
        }
        Ok(Self { minor, currency })
    }

    /// Parses a plain decimal (`"1299"`, `"1299.5"`, `"0.99"`) with at most the currency's
    /// number of decimal places.
    pub fn parse(text: &str, currency: Currency) -> Result<Self, InvalidValue> {
        let text = text.trim();
        let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
        let digits_only = |s: &str| s.chars().all(|c| c.is_ascii_digit());
        if whole.is_empty() || !digits_only(whole) || !digits_only(fraction) {
            return Err(InvalidValue(
                "an amount must be a non-negative decimal number such as 799.99",
            ));
        }
        if text.ends_with('.') {
            return Err(InvalidValue("an amount must not end with a decimal point"));
        }
        let decimals = usize::from(currency.decimals);
        if fraction.len() > decimals {
            return Err(InvalidValue(
                "the amount has more decimal places than the currency allows",
            ));
        }
        let whole = whole.trim_start_matches('0');
        if whole.len() > 10 {
            return Err(InvalidValue("the amount is too large"));
        }
        let whole: i64 = if whole.is_empty() {
            0
        } else {
            whole
                .parse()
                .map_err(|_| InvalidValue("the amount is too large"))?
        };
        let padded = format!("{fraction:0<decimals$}");
        let fraction: i64 = if padded.is_empty() {
            0
        } else {
            padded
                .parse()
                .map_err(|_| InvalidValue("the amount is not a number"))?
        };
        let scale = 10_i64.pow(u32::from(currency.decimals));
        Self::from_minor(whole * scale + fraction, currency)
    }

    pub fn minor(&self) -> i64 {
        self.minor
    }

    pub fn currency(&self) -> Currency {
        self.currency
    }

    /// The amount as an exact decimal string with the currency's decimal places.
    pub fn amount_text(&self) -> String {
        let decimals = usize::from(self.currency.decimals);
        if decimals == 0 {
            return self.minor.to_string();
        }
        let scale = 10_i64.pow(u32::from(self.currency.decimals));
        format!(
            "{}.{:0decimals$}",
            self.minor / scale,
            self.minor % scale,
            decimals = decimals
        )
    }

    /// The amount as a float, for scores and percentages only (never for storage).
    pub fn as_f64(&self) -> f64 {
        self.minor as f64 / 10_f64.powi(i32::from(self.currency.decimals))
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.amount_text(), self.currency)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usd() -> Currency {
        Currency::parse("usd").unwrap()
    }

    #[test]
    fn amounts_are_exact_in_minor_units() {
        assert_eq!(Money::parse("799.99", usd()).unwrap().minor(), 79_999);
        assert_eq!(Money::parse("800", usd()).unwrap().minor(), 80_000);
        assert_eq!(Money::parse("0.5", usd()).unwrap().amount_text(), "0.50");
        let yen = Currency::parse("JPY").unwrap();
        assert_eq!(Money::parse("12000", yen).unwrap().amount_text(), "12000");
        assert!(Money::parse("12000.5", yen).is_err());
        let dinar = Currency::parse("KWD").unwrap();
        assert_eq!(Money::parse("1.005", dinar).unwrap().minor(), 1005);
    }

    #[test]
    fn malformed_amounts_are_refused() {
        for bad in [
            "",
            "-1",
            "1.999",
            "1e3",
            "abc",
            ".5",
            "5.",
            "1,000",
            "99999999999",
            " 1 2",
        ] {
            assert!(Money::parse(bad, usd()).is_err(), "{bad:?} accepted");
        }
        assert!(Currency::parse("XYZ").is_err());
    }

    #[test]
    fn json_accepts_strings_and_numbers_and_writes_strings() {
        let money: Money = serde_json::from_str(r#"{"amount":"250","currency":"eur"}"#).unwrap();
        assert_eq!(
            serde_json::to_value(money).unwrap(),
            serde_json::json!({"amount": "250.00", "currency": "EUR"})
        );
        let money: Money = serde_json::from_str(r#"{"amount":19.99,"currency":"USD"}"#).unwrap();
        assert_eq!(money.minor(), 1999);
        assert!(serde_json::from_str::<Money>(r#"{"amount":-1,"currency":"USD"}"#).is_err());
    }
}
