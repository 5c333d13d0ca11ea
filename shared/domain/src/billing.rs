//! Stripe's webhook signatures, verified as Stripe's own libraries do: the `Stripe-Signature`
//! header carries `t=<unix seconds>` and one or more `v1=<hex HMAC-SHA256>` over
//! `"<t>.<raw body>"` keyed with the endpoint's signing secret (`whsec_…`, used as is). A
//! request is accepted when any `v1` matches (Stripe sends two while a secret is being rolled)
//! and `t` is within the tolerance of now, either way — an old capture replayed later fails.

use hmac::{Hmac, Mac};
use jiff::{SignedDuration, Timestamp};
use sha2::Sha256;

/// Stripe's libraries accept signatures up to five minutes old by default.
pub const DEFAULT_TOLERANCE: SignedDuration = SignedDuration::from_secs(300);

/// Why a webhook request was refused; the text is safe to answer with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the Stripe-Signature header is missing")]
    Missing,
    #[error("the Stripe-Signature header has no timestamp or no v1 signature")]
    Malformed,
    #[error("the signature timestamp is outside the tolerance")]
    Stale,
    #[error("no signature matches")]
    Mismatch,
}

/// The parts of a `Stripe-Signature` header we use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StripeSignature {
    pub timestamp: i64,
    /// Every `v1` value, as sent (hex).
    pub signatures: Vec<String>,
}

impl StripeSignature {
    /// Parses `t=…,v1=…[,v1=…][,v0=…]`; other schemes are ignored, as Stripe advises.
    pub fn parse(header: &str) -> Result<Self, SignatureError> {
        let mut timestamp = None;
        let mut signatures = Vec::new();
        for part in header.split(',') {
            let Some((name, value)) = part.trim().split_once('=') else {
                continue;
            };
            match name {
                "t" => timestamp = value.parse::<i64>().ok(),
                "v1" if !value.is_empty() => signatures.push(value.to_ascii_lowercase()),
                _ => {}
            }
        }
        match timestamp {
            Some(timestamp) if !signatures.is_empty() => Ok(Self {
                timestamp,
                signatures,
            }),
            _ => Err(SignatureError::Malformed),
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Verifies `payload` (the raw request body) against the header with the endpoint's secret.
pub fn verify(
    payload: &[u8],
    header: Option<&str>,
    secret: &str,
    now: Timestamp,
    tolerance: SignedDuration,
) -> Result<(), SignatureError> {
    let signature = StripeSignature::parse(header.ok_or(SignatureError::Missing)?)?;
    let signed_at =
        Timestamp::from_second(signature.timestamp).map_err(|_| SignatureError::Stale)?;
    if now.duration_since(signed_at).abs() > tolerance {
        return Err(SignatureError::Stale);
    }
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return Err(SignatureError::Mismatch);
    };
    mac.update(signature.timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(payload);
    let expected = mac.finalize().into_bytes();
    // Compared in constant time: every byte is looked at whatever the first difference.
    let matches = signature.signatures.iter().any(|candidate| {
        decode_hex(candidate).is_some_and(|bytes| {
            bytes.len() == expected.len()
                && bytes
                    .iter()
                    .zip(expected.iter())
                    .fold(0u8, |diff, (a, b)| diff | (a ^ b))
                    == 0
        })
    });
    if matches {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|at| u8::from_str_radix(text.get(at..at + 2)?, 16).ok())
        .collect()
}

/// The header Stripe would send for `payload` at `timestamp` (for local tools and fixtures).
pub fn sign(payload: &[u8], secret: &str, timestamp: i64) -> String {
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(mac) => mac,
        // HMAC takes keys of any length.
        Err(_) => return format!("t={timestamp}"),
    };
    mac.update(format!("{timestamp}.").as_bytes());
    mac.update(payload);
    format!("t={timestamp},v1={}", hex(&mac.finalize().into_bytes()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_test_secret";
    const BODY: &[u8] = br#"{"id":"evt_1","type":"invoice.paid"}"#;

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_second(seconds).unwrap()
    }

    /// The expected signature, computed here with the HMAC primitive directly rather than by the
    /// code under test.
    fn reference(timestamp: i64, body: &[u8], secret: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        let mut signed = timestamp.to_string().into_bytes();
        signed.push(b'.');
        signed.extend_from_slice(body);
        mac.update(&signed);
        mac.finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    #[test]
    fn a_genuine_signature_verifies_and_a_tampered_one_does_not() {
        let t = 1_795_680_000;
        let header = format!("t={t},v1={},v0=deadbeef", reference(t, BODY, SECRET));
        assert_eq!(
            verify(BODY, Some(&header), SECRET, at(t + 10), DEFAULT_TOLERANCE),
            Ok(())
        );
        assert_eq!(
            sign(BODY, SECRET, t),
            format!("t={t},v1={}", reference(t, BODY, SECRET))
        );
        let tampered = br#"{"id":"evt_1","type":"invoice.paid "}"#;
        assert_eq!(
            verify(tampered, Some(&header), SECRET, at(t), DEFAULT_TOLERANCE),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(BODY, Some(&header), "whsec_other", at(t), DEFAULT_TOLERANCE),
            Err(SignatureError::Mismatch)
        );
        let rolled = format!(
            "t={t},v1={},v1={}",
            "00".repeat(32),
            reference(t, BODY, SECRET)
        );
        assert_eq!(
            verify(BODY, Some(&rolled), SECRET, at(t), DEFAULT_TOLERANCE),
            Ok(())
        );
    }

    #[test]
    fn stale_future_missing_and_malformed_headers_are_refused() {
        let t = 1_795_680_000;
        let header = format!("t={t},v1={}", reference(t, BODY, SECRET));
        assert_eq!(
            verify(BODY, Some(&header), SECRET, at(t + 301), DEFAULT_TOLERANCE),
            Err(SignatureError::Stale),
            "a replay six minutes later"
        );
        assert_eq!(
            verify(BODY, Some(&header), SECRET, at(t - 301), DEFAULT_TOLERANCE),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify(BODY, None, SECRET, at(t), DEFAULT_TOLERANCE),
            Err(SignatureError::Missing)
        );
        for bad in [
            "",
            "t=abc,v1=00",
            "v1=00",
            &format!("t={t}"),
            &format!("t={t},v0=00"),
        ] {
            assert_eq!(
                verify(BODY, Some(bad), SECRET, at(t), DEFAULT_TOLERANCE),
                Err(SignatureError::Malformed),
                "{bad}"
            );
        }
        let odd = format!("t={t},v1=abc");
        assert_eq!(
            verify(BODY, Some(&odd), SECRET, at(t), DEFAULT_TOLERANCE),
            Err(SignatureError::Mismatch)
        );
    }
}
