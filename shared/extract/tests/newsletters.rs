//! Flight-deal newsletters as they arrive: MIME decoded, deals read line by line.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use dealpulse_extract::newsletter::{flight_deals, parse_mail, MailError};

const QUOTED_PRINTABLE: &str = "From: Going Deals <deals@fares.example.com>\r
To: me@dealpulse.test\r
Subject: =?UTF-8?Q?Fares_from_Boston_=E2=9C=88?=\r
Date: Tue, 24 Nov 2026 08:00:00 +0000\r
MIME-Version: 1.0\r
Content-Type: multipart/alternative; boundary=\"b1\"\r
\r
--b1\r
Content-Type: text/plain; charset=utf-8\r
Content-Transfer-Encoding: quoted-printable\r
\r
Today's deals=0D
\r
Boston (BOS) to Lisbon (LIS) =E2=80=93 $389 round trip, nonstop on TAP, Mar=E2=80=93May\r
https://deals.example.com/bos-lis\r
New York to Paris from $299 roundtrip (1 stop, Delta) in January\r
Chicago (ORD) - Rome (FCO): =E2=82=AC412 return\r
Our office moved to Boston last year.\r
\r
--b1\r
Content-Type: text/html; charset=utf-8\r
\r
<p>HTML version</p>\r
--b1--\r
";

#[test]
fn quoted_printable_multipart_newsletters_yield_each_deal() {
    let mail = parse_mail(QUOTED_PRINTABLE.as_bytes()).unwrap();
    assert_eq!(mail.from.as_deref(), Some("deals@fares.example.com"));
    assert_eq!(mail.subject.as_deref(), Some("Fares from Boston ✈"));
    assert!(mail.text.contains("Lisbon (LIS) – $389"), "{}", mail.text);
    let deals = flight_deals(&mail.text);
    assert_eq!(deals.len(), 3, "{deals:#?}");

    let lisbon = &deals[0];
    assert_eq!(lisbon.origin, ["BOS"]);
    assert_eq!(lisbon.destination, ["LIS"]);
    assert_eq!(lisbon.price, "389.00");
    assert_eq!(lisbon.currency.as_deref(), Some("USD"));
    assert_eq!(lisbon.trip_type, Some("round_trip"));
    assert_eq!(lisbon.stops, Some(0));
    assert_eq!(lisbon.airline.as_deref(), Some("TAP"));
    assert_eq!(lisbon.months, [3, 4, 5]);
    assert_eq!(
        lisbon.link.as_deref(),
        Some("https://deals.example.com/bos-lis")
    );

    let paris = &deals[1];
    assert!(
        paris.origin.contains(&"JFK".to_string()),
        "{:?}",
        paris.origin
    );
    assert!(
        paris.destination.contains(&"CDG".to_string()),
        "{:?}",
        paris.destination
    );
    assert_eq!(paris.price, "299.00");
    assert_eq!(paris.stops, Some(1));
    assert_eq!(paris.airline.as_deref(), Some("Delta"));
    assert_eq!(paris.months, [1]);

    let rome = &deals[2];
    assert_eq!(rome.origin, ["ORD"]);
    assert_eq!(rome.destination, ["FCO"]);
    assert_eq!(rome.price, "412.00");
    assert_eq!(rome.currency.as_deref(), Some("EUR"));
}

#[test]
fn base64_html_only_mail_in_latin_1() {
    use base64::Engine;
    let html = "<html><body><h1>Ofertas</h1><p>Dublin (DUB) \u{2192} Boston (BOS) 249 \u{20ac} one way</p><p>Caf\u{e9} news</p></body></html>";
    // Latin-1 cannot hold the arrow and euro sign, so this part is windows-1252 encoded.
    let (encoded, _, _) = encoding_free_cp1252(html);
    let body = base64::engine::general_purpose::STANDARD.encode(encoded);
    let raw = format!(
        "From: ofertas@vuelos.example.es\r\nSubject: Ofertas\r\nMIME-Version: 1.0\r\nContent-Type: text/html; charset=windows-1252\r\nContent-Transfer-Encoding: base64\r\n\r\n{body}\r\n"
    );
    let mail = parse_mail(raw.as_bytes()).unwrap();
    assert!(mail.text.contains("Café news"), "{}", mail.text);
    let deals = flight_deals(&mail.text);
    assert_eq!(deals.len(), 1, "{}", mail.text);
    assert_eq!(deals[0].origin, ["DUB"]);
    assert_eq!(deals[0].destination, ["BOS"]);
    assert_eq!(deals[0].price, "249.00");
    assert_eq!(deals[0].currency.as_deref(), Some("EUR"));
    assert_eq!(deals[0].trip_type, Some("one_way"));
}

/// Windows-1252 for the few characters the fixture uses.
fn encoding_free_cp1252(text: &str) -> (Vec<u8>, (), ()) {
    let bytes = text
        .chars()
        .map(|c| match c {
            '\u{20ac}' => 0x80,
            '\u{2192}' => b'>', // no arrow in cp1252; shops write "->" or ">"
            c if (c as u32) < 256 => c as u8,
            _ => b'?',
        })
        .collect();
    (bytes, (), ())
}

#[test]
fn garbage_is_not_a_message() {
    assert_eq!(parse_mail(b"").unwrap_err(), MailError::NotAMessage);
    assert!(parse_mail(b"Subject: empty\r\n\r\n").is_err());
}
