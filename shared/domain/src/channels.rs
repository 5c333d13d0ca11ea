//! Where alerts are delivered besides e-mail: Discord/Slack/webhook endpoints, a verified phone
//! number for SMS, and web push subscriptions.

use crate::account::InvalidValue;
use crate::ids::{EndpointId, PushSubscriptionId, UserId};
use crate::listing::vocabulary;
use crate::net::PublicUrl;
use crate::preferences::Channel;
use crate::secret::TokenHash;
use base64::Engine;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::fmt;

vocabulary!(
    /// The kinds of URL endpoints alerts can be posted to.
    EndpointKind {
        Discord => "discord",
        Slack => "slack",
        Webhook => "webhook",
    }
);

impl EndpointKind {
    pub fn channel(&self) -> Channel {
        match self {
            EndpointKind::Discord => Channel::Discord,
            EndpointKind::Slack => Channel::Slack,
            EndpointKind::Webhook => Channel::Webhook,
        }
    }

    /// Checks the URL's shape for the service: Discord and Slack incoming-webhook URLs have a
    /// known path form; generic webhooks may be any public https URL.
    pub fn check_url(&self, url: &PublicUrl) -> Result<(), InvalidValue> {
        let segments: Vec<&str> = url.path().trim_matches('/').split('/').collect();
        match self {
            EndpointKind::Discord => {
                let ok = segments.len() >= 4
                    && segments[0] == "api"
                    && segments[segments.len() - 3] == "webhooks"
                    && segments[segments.len() - 2]
                        .chars()
                        .all(|c| c.is_ascii_digit())
                    && !segments[segments.len() - 1].is_empty();
                if ok {
                    Ok(())
                } else {
                    Err(InvalidValue(
                        "a Discord webhook URL looks like https://discord.com/api/webhooks/<id>/<token>",
                    ))
                }
            }
            EndpointKind::Slack => {
                let ok = segments.len() >= 4 && segments[0] == "services";
                if ok {
                    Ok(())
                } else {
                    Err(InvalidValue(
                        "a Slack webhook URL looks like https://hooks.slack.com/services/T…/B…/…",
                    ))
                }
            }
            EndpointKind::Webhook => Ok(()),
        }
    }
}

/// A URL alerts are posted to. Webhooks carry a signing secret, shown once at creation and on
/// rotation; it is kept because every delivery is signed with it (HMAC-SHA256).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChannelEndpoint {
    pub id: EndpointId,
    pub owner: UserId,
    pub kind: EndpointKind,
    pub url: PublicUrl,
    pub label: Option<String>,
    pub signing_secret: Option<String>,
    pub enabled: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub last_tested_at: Option<Timestamp>,
    pub version: u64,
}

impl ChannelEndpoint {
    /// The first characters of the signing secret, enough to tell secrets apart.
    pub fn secret_hint(&self) -> Option<String> {
        self.signing_secret
            .as_ref()
            .map(|secret| secret.chars().take(10).collect())
    }

    /// The URL with its secret part (Discord/Slack token, webhook query) hidden, for display.
    pub fn redacted_url(&self) -> String {
        let url = self.url.url();
        let host = url.host_str().unwrap_or_default();
        match self.kind {
            EndpointKind::Discord | EndpointKind::Slack => {
                let path = url.path();
                let keep = path.rfind('/').map(|i| &path[..i]).unwrap_or(path);
                format!("{}://{host}{keep}/…", url.scheme())
            }
            EndpointKind::Webhook => format!("{}://{host}{}", url.scheme(), url.path()),
        }
    }
}

/// A phone number in E.164 form: `+`, country code, up to 15 digits in all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PhoneNumber(String);

impl PhoneNumber {
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let compact: String = raw
            .trim()
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '(' | ')' | '.'))
            .collect();
        let digits = compact.strip_prefix('+').unwrap_or("");
        let valid = (8..=15).contains(&digits.len())
            && digits.chars().all(|c| c.is_ascii_digit())
            && !digits.starts_with('0');
        if valid {
            Ok(Self(compact))
        } else {
            Err(InvalidValue(
                "a phone number must be in international E.164 form, e.g. +14155550123",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The number with all but the last two digits hidden.
    pub fn masked(&self) -> String {
        let digits = self.0.len().saturating_sub(1);
        let shown: String = self
            .0
            .chars()
            .skip(self.0.len().saturating_sub(2))
            .collect();
        format!("+{}{shown}", "•".repeat(digits.saturating_sub(2)))
    }
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for PhoneNumber {
    type Error = InvalidValue;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<PhoneNumber> for String {
    fn from(value: PhoneNumber) -> Self {
        value.0
    }
}

/// A code sent by SMS and not yet confirmed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingCode {
    pub code_hash: TokenHash,
    pub sent_at: Timestamp,
    pub expires_at: Timestamp,
    pub attempts_left: u8,
}

/// The user's SMS number: pending until the code is confirmed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhoneSetup {
    pub owner: UserId,
    pub number: PhoneNumber,
    pub verified_at: Option<Timestamp>,
    pub pending: Option<PendingCode>,
    pub updated_at: Timestamp,
    pub version: u64,
}

impl PhoneSetup {
    pub const CODE_ATTEMPTS: u8 = 5;
    pub const CODE_MINUTES: i64 = 10;
    pub const RESEND_SECONDS: i64 = 60;
}

/// A browser's web push subscription (RFC 8030 endpoint, RFC 8291 keys).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PushSubscription {
    pub id: PushSubscriptionId,
    pub owner: UserId,
    pub endpoint: PublicUrl,
    /// The user agent's P-256 public key, uncompressed point, base64url without padding.
    pub p256dh: String,
    /// The 16-byte authentication secret, base64url without padding.
    pub auth: String,
    pub user_agent: Option<String>,
    pub created_at: Timestamp,
    pub version: u64,
}

fn base64url(raw: &str) -> Option<Vec<u8>> {
    let trimmed = raw.trim().trim_end_matches('=');
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(trimmed)
        .ok()
}

/// Decodes and checks the `auth` secret: exactly 16 bytes.
pub fn parse_push_auth(raw: &str) -> Result<String, InvalidValue> {
    match base64url(raw) {
        Some(bytes) if bytes.len() == 16 => {
            Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
        }
        _ => Err(InvalidValue(
            "keys.auth must be 16 bytes, base64url encoded",
        )),
    }
}

/// Decodes the `p256dh` key's bytes: 65 bytes, uncompressed point (0x04 prefix). Whether the
/// point is on the curve is checked by the caller that has the curve arithmetic.
pub fn parse_push_p256dh(raw: &str) -> Result<Vec<u8>, InvalidValue> {
    match base64url(raw) {
        Some(bytes) if bytes.len() == 65 && bytes[0] == 4 => Ok(bytes),
        _ => Err(InvalidValue(
            "keys.p256dh must be an uncompressed P-256 public key (65 bytes), base64url encoded",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::Schemes;

    #[test]
    fn phone_numbers_are_e164() {
        assert_eq!(
            PhoneNumber::parse("+1 (415) 555-0123").unwrap().as_str(),
            "+14155550123"
        );
        for bad in [
            "4155550123",
            "+0123456789",
            "+1415",
            "+1415555012345678",
            "+1-800-FLOWERS",
        ] {
            assert!(PhoneNumber::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            PhoneNumber::parse("+14155550123").unwrap().masked(),
            "+•••••••••23"
        );
    }

    #[test]
    fn service_urls_have_their_service_shape() {
        let url = |raw: &str| PublicUrl::parse(raw, Schemes::HttpsOnly).unwrap();
        assert!(EndpointKind::Discord
            .check_url(&url("https://discord.com/api/webhooks/123456/abcDEF"))
            .is_ok());
        assert!(EndpointKind::Discord
            .check_url(&url("https://discord.com/api/v10/webhooks/123456/abcDEF"))
            .is_ok());
        assert!(EndpointKind::Discord
            .check_url(&url("https://discord.com/channels/1/2"))
            .is_err());
        assert!(EndpointKind::Slack
            .check_url(&url("https://hooks.slack.com/services/T000/B000/XXXX"))
            .is_ok());
        assert!(EndpointKind::Slack
            .check_url(&url("https://hooks.slack.com/workflows/1"))
            .is_err());
    }

    #[test]
    fn push_keys_have_their_sizes() {
        assert!(parse_push_auth("AAAAAAAAAAAAAAAAAAAAAA").is_ok());
        assert!(parse_push_auth("AAAA").is_err());
        assert!(
            parse_push_p256dh(&"A".repeat(87)).is_err(),
            "first byte must be 0x04"
        );
    }
}
