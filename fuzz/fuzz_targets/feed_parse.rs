//! Any bytes as a listing feed: RSS/Atom, JSON Feed, or a JSON API read through a field
//! mapping (the first byte chooses, the second whether a currency hint is given). Parsing ends
//! in items or an error, never a panic.
#![no_main]

use dealpulse_domain::money::Currency;
use dealpulse_extract::feeds::{parse_json_feed, parse_mapped_json, parse_xml_feed, FieldMapping};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let [mode, hint, rest @ ..] = data else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    let hint = (hint & 1 == 1).then(|| Currency::parse("USD").ok()).flatten();
    let _ = match mode % 3 {
        0 => parse_xml_feed(&text, hint),
        1 => parse_json_feed(&text, hint),
        _ => parse_mapped_json(&text, &mapping(), hint),
    };
});

fn mapping() -> FieldMapping {
    FieldMapping {
        items: "/data/items".into(),
        title: "/name".into(),
        price: Some("/price/amount".into()),
        currency: Some("/price/currency".into()),
        url: Some("/link".into()),
        category: Some("/category".into()),
        condition: Some("/condition".into()),
        location: Some("/location/city".into()),
        image: Some("/images/0".into()),
    }
}
