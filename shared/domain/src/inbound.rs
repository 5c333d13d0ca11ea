//! Inbound e-mail addresses for deal newsletters. The system has one (`deals@<domain>`), every
//! user has their own: `u-<user id>-<tag>@<domain>`, where the tag is an HMAC of the user id and
//! the address's generation. An address therefore needs no lookup table, cannot be guessed
//! from a user id, and rotating it (next generation) retires the old one. Each address accepts
//! mail only from its allowed senders; every message received is recorded as an
//! [`InboundMail`], whatever became of it, so none is ever lost.

use crate::account::InvalidValue;
use crate::ids::UserId;
use hmac::{Hmac, Mac};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::fmt;

/// The key inbound addresses are tagged with, derived from the deployment's signing secret so
/// every runtime that knows the secret recognises the same addresses.
pub fn derive_address_key(signing_secret: &[u8]) -> Vec<u8> {
    crate::secret::derive_key(signing_secret, "dealpulse/inbound-address/v1")
}

/// Local part of the system's address.
pub const SYSTEM_LOCAL_PART: &str = "deals";

/// A sender an address accepts: one address (`deals@fares.example.com`) or a whole domain
/// (`@fares.example.com`, subdomains included).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SenderRule(String);

impl SenderRule {
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let rule = raw.trim().to_lowercase();
        let (local, domain) = rule
            .split_once('@')
            .ok_or(InvalidValue("a sender is name@domain or @domain"))?;
        let domain_ok = domain.contains('.')
            && domain.len() <= 253
            && domain
                .split('.')
                .all(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
        let local_ok = local.len() <= 64 && !local.contains(char::is_whitespace);
        if domain_ok && local_ok {
            Ok(Self(rule))
        } else {
            Err(InvalidValue("a sender is name@domain or @domain"))
        }
    }

    pub fn allows(&self, sender: &str) -> bool {
        let sender = sender.trim().to_lowercase();
        match self.0.strip_prefix('@') {
            Some(domain) => sender
                .rsplit_once('@')
                .is_some_and(|(_, d)| d == domain || d.ends_with(&format!(".{domain}"))),
            None => sender == self.0,
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for SenderRule {
    type Error = InvalidValue;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<SenderRule> for String {
    fn from(value: SenderRule) -> Self {
        value.0
    }
}

/// Whether `sender` may deliver to an address with these rules. No rules: anyone (only for
/// personal addresses, whose tag keeps them private; the system address needs rules).
pub fn sender_allowed(rules: &[SenderRule], sender: &str, open_when_empty: bool) -> bool {
    if rules.is_empty() {
        return open_when_empty;
    }
    rules.iter().any(|rule| rule.allows(sender))
}

/// A user's inbound address settings (a record: kind `inbound`, key `current`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InboundSettings {
    pub owner: UserId,
    /// Incremented to retire the current address.
    pub generation: u32,
    pub allowed_senders: Vec<SenderRule>,
    pub version: u64,
}

impl InboundSettings {
    pub const MAX_SENDERS: usize = 50;

    pub fn new(owner: UserId) -> Self {
        Self {
            owner,
            generation: 1,
            allowed_senders: Vec::new(),
            version: 0,
        }
    }
}

/// Whose an inbound address is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recipient {
    System,
    User { user: UserId, generation: u32 },
}

/// Makes and recognises inbound addresses at one domain.
#[derive(Clone)]
pub struct InboundAddresses {
    domain: String,
    key: Vec<u8>,
}

impl fmt::Debug for InboundAddresses {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InboundAddresses")
            .field("domain", &self.domain)
            .finish_non_exhaustive()
    }
}

fn tag(key: &[u8], user: UserId, generation: u32) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
        return String::new();
    };
    mac.update(user.as_uuid().as_bytes());
    mac.update(&generation.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    // 50 bits in lower-case base32: short enough to read, far too many to guess.
    const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
    let mut bits: u64 = 0;
    for byte in &digest[..8] {
        bits = (bits << 8) | u64::from(*byte);
    }
    (0..10)
        .map(|i| ALPHABET[((bits >> (64 - 5 * (i + 1))) & 31) as usize] as char)
        .collect()
}

impl InboundAddresses {
    pub fn new(domain: &str, key: &[u8]) -> Self {
        Self {
            domain: domain.trim().to_lowercase(),
            key: key.to_vec(),
        }
    }

    pub fn domain(&self) -> &str {
        &self.domain
    }

    pub fn system(&self) -> String {
        format!("{SYSTEM_LOCAL_PART}@{}", self.domain)
    }

    pub fn for_user(&self, user: UserId, generation: u32) -> String {
        format!(
            "u-{}-{}-{}@{}",
            user.as_uuid().simple(),
            generation,
            tag(&self.key, user, generation),
            self.domain
        )
    }

    /// Whose `address` is, if it is one of ours with a valid tag (plus-tags are ignored).
    pub fn recognise(&self, address: &str) -> Option<Recipient> {
        let address = address.trim().to_lowercase();
        let (local, domain) = address.rsplit_once('@')?;
        if domain != self.domain {
            return None;
        }
        let local = local.split('+').next().unwrap_or(local);
        if local == SYSTEM_LOCAL_PART {
            return Some(Recipient::System);
        }
        let mut parts = local.strip_prefix("u-")?.split('-');
        let (id, generation, given) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let user = UserId::from_uuid(uuid::Uuid::try_parse(id).ok()?);
        let generation: u32 = generation.parse().ok()?;
        let expected = tag(&self.key, user, generation);
        let matches: bool = subtle_eq(expected.as_bytes(), given.as_bytes());
        matches.then_some(Recipient::User { user, generation })
    }
}

/// Constant-time comparison, so tags cannot be found byte by byte.
fn subtle_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

crate::listing::vocabulary!(
    /// What became of a received message.
    MailStatus {
        /// Deals were read and became listings.
        Accepted => "accepted",
        /// A readable message without any deal in it.
        NoDeals => "no_deals",
        /// Not a parseable e-mail, or no readable body.
        Unparseable => "unparseable",
        SenderNotAllowed => "sender_not_allowed",
        /// Addressed to none of our inbound addresses (or to a retired one).
        UnknownAddress => "unknown_address",
        /// SES judged it spam or infected.
        Rejected => "rejected",
    }
);

/// The record of one received message, kept for administrators whatever its fate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InboundMail {
    pub id: crate::ids::ListingId,
    /// All mail records live under the system owner (administrators list them together).
    pub owner: UserId,
    /// The user whose address received it; `None` for the system address or unknown ones.
    pub recipient_user: Option<UserId>,
    pub received_at: Timestamp,
    pub from: Option<String>,
    pub to: Option<String>,
    pub subject: Option<String>,
    pub status: MailStatus,
    /// Listings made from it.
    pub deals: u32,
    /// Why it was not (fully) accepted.
    pub reason: Option<String>,
    /// Which extractor read the deals: `rules`, or `llm` when the optional model did.
    #[serde(default)]
    pub extractor: Option<String>,
    /// Where the raw message is kept: an S3 key, or a file in the data directory.
    pub raw_ref: String,
    pub version: u64,
}

/// Receiving a raw message failed for a reason outside the message (storage, event bus): the
/// sender should retry.
#[derive(Debug, thiserror::Error)]
#[error("the message could not be received: {0}")]
pub struct ReceiveError(pub String);

/// Where raw messages handed over directly (not through SES) go: kept, then ingested.
#[async_trait::async_trait]
pub trait MailReceiver: Send + Sync {
    async fn receive(&self, raw: Vec<u8>) -> Result<InboundMail, ReceiveError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_addresses_round_trip_and_cannot_be_forged_or_reused_after_rotation() {
        let addresses = InboundAddresses::new("In.DealPulse.test", b"secret key");
        let user = UserId::generate();
        let first = addresses.for_user(user, 1);
        assert!(first.ends_with("@in.dealpulse.test"), "{first}");
        assert_eq!(
            addresses.recognise(&first),
            Some(Recipient::User {
                user,
                generation: 1
            })
        );
        assert_eq!(
            addresses.recognise(&first.to_uppercase()),
            Some(Recipient::User {
                user,
                generation: 1
            }),
            "case-insensitive"
        );
        let plus = first.replacen('@', "+newsletters@", 1);
        assert!(
            addresses.recognise(&plus).is_some(),
            "plus tags are ignored"
        );
        let forged = addresses.for_user(UserId::generate(), 1);
        let stolen_tag = format!(
            "{}-{}",
            first.rsplit_once('-').unwrap().0.replace(
                &user.as_uuid().simple().to_string(),
                &UserId::generate().as_uuid().simple().to_string()
            ),
            forged.rsplit_once('-').unwrap().1
        );
        assert_eq!(addresses.recognise(&stolen_tag), None);
        let other_key = InboundAddresses::new("in.dealpulse.test", b"other key");
        assert_eq!(other_key.recognise(&first), None);
        assert_ne!(addresses.for_user(user, 2), first, "rotation changes it");
        assert_eq!(
            addresses.recognise("deals@in.dealpulse.test"),
            Some(Recipient::System)
        );
        assert_eq!(addresses.recognise("deals@elsewhere.test"), None);
        assert_eq!(addresses.recognise("nobody@in.dealpulse.test"), None);
    }

    #[test]
    fn sender_rules_match_addresses_and_domains() {
        let exact = SenderRule::parse("Deals@Fares.example.com").unwrap();
        assert!(exact.allows("deals@fares.example.com"));
        assert!(!exact.allows("other@fares.example.com"));
        let domain = SenderRule::parse("@fares.example.com").unwrap();
        assert!(domain.allows("anyone@fares.example.com"));
        assert!(domain.allows("news@mail.fares.example.com"));
        assert!(!domain.allows("x@evilfares.example.com"));
        assert!(SenderRule::parse("nonsense").is_err());
        assert!(SenderRule::parse("a@b").is_err());
        assert!(sender_allowed(&[], "a@b.c", true));
        assert!(!sender_allowed(&[], "a@b.c", false));
        assert!(sender_allowed(&[domain], "a@fares.example.com", false));
    }
}
