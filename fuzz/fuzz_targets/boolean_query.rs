//! Any text as a rule query: it parses or is refused, and what parses round-trips.
#![no_main]

use dealpulse_domain::query::Query;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(query) = Query::parse(&text) {
        let shown = query.to_string();
        assert_eq!(Query::parse(&shown).ok(), Some(query), "{shown}");
    }
});
