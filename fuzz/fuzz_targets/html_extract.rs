//! Any bytes as a product page: extraction finishes without panicking.
#![no_main]

use dealpulse_extract::{extract, Page};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let html = String::from_utf8_lossy(data);
    let url = url_base();
    let _ = extract(&Page {
        html: &html,
        url: Some(&url),
        selectors: None,
    });
});

fn url_base() -> dealpulse_extract::Url {
    dealpulse_extract::Url::parse("https://shop.example.com/p/1").unwrap_or_else(|_| unreachable!())
}
