//! Any text, with any hint, parses to a price or to nothing — never a panic.
#![no_main]

use dealpulse_domain::money::Currency;
use dealpulse_domain::price_text::{parse_price, PriceContext};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let hint = ["USD", "EUR", "JPY", "KWD", "SEK"]
        .get(data.first().copied().unwrap_or(0) as usize % 6)
        .and_then(|code| Currency::parse(code).ok());
    let parsed = parse_price(
        &text,
        &PriceContext {
            currency: hint,
            locale: Some("sv-SE"),
            host: Some("shop.example.ca"),
        },
    );
    if let Some(amount) = parsed.amount {
        assert!(amount.chars().all(|c| c.is_ascii_digit() || c == '.'));
    }
});
