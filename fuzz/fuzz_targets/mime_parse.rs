//! Any bytes as an e-mail: MIME parsing and deal extraction finish without panicking.
#![no_main]

use dealpulse_extract::newsletter::{flight_deals, parse_mail};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(mail) = parse_mail(data) {
        let _ = flight_deals(&mail.text);
    }
    let _ = flight_deals(&String::from_utf8_lossy(data));
});
