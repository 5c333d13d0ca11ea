//! Click tracking for the savings figure: a deal link in an alert goes through a signed redirect
//! that names the user, the delivery, the deal and its prices. Following it records the click
//! once per deal and delivery, and adds the deal's saving (reference price minus price) to the
//! user's total. Signed, so nobody can credit clicks or savings to another account; tracking is
//! the user's choice (`NotificationPreferences::click_tracking`), checked again on the click.

use crate::account::InvalidValue;
use crate::analytics::{names, savings_minor};
use crate::counters::{utc_day, CounterBucket, CounterKey, CounterRepository};
use crate::ids::UserId;
use crate::money::Money;
use crate::ports::StoreError;
use crate::records::{records, DocumentRepository};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// The key click links are signed with, derived from the deployment's signing secret.
pub fn derive_click_key(signing_secret: &[u8]) -> Vec<u8> {
    crate::secret::derive_key(signing_secret, "dealpulse/click/v1")
}

/// What a tracked link carries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClickLink {
    #[serde(rename = "u")]
    pub user: UserId,
    /// The delivery the link was sent in (first 32 hex digits of its id).
    #[serde(rename = "d")]
    pub delivery: String,
    /// The deal's place in the message.
    #[serde(rename = "i")]
    pub index: u16,
    /// Where the link leads.
    #[serde(rename = "l")]
    pub url: String,
    #[serde(rename = "p")]
    pub price: Money,
    /// The list or reference price the saving is measured from.
    #[serde(rename = "r", default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<Money>,
}

impl ClickLink {
    /// `<base64url JSON>.<base64url tag>` (see [`crate::secret::sign_payload`]), safe in a URL
    /// path segment.
    pub fn sign(&self, key: &[u8]) -> String {
        crate::secret::sign_payload(key, &serde_json::to_vec(self).unwrap_or_default())
    }

    /// Checks the signature and reads the link back; only http(s) destinations are accepted.
    pub fn verify(key: &[u8], token: &str) -> Result<Self, InvalidValue> {
        let bad = InvalidValue("the link is not valid");
        if token.len() > 4096 {
            return Err(bad);
        }
        let payload = crate::secret::open_signed(key, token).ok_or(bad.clone())?;
        let link: ClickLink = serde_json::from_slice(&payload).map_err(|_| bad.clone())?;
        let scheme_ok = url::Url::parse(&link.url)
            .map(|url| matches!(url.scheme(), "http" | "https"))
            .unwrap_or(false);
        if !scheme_ok {
            return Err(bad);
        }
        Ok(link)
    }

    /// What following the link saved, in the deal's currency (0 without a higher reference).
    pub fn saving_minor(&self) -> i64 {
        let reference = self
            .reference
            .as_ref()
            .filter(|reference| reference.currency() == self.price.currency())
            .map(Money::minor);
        savings_minor(self.price.minor(), reference)
    }
}

/// A followed link, kept in the user's partition (deleted with the account).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClickRecord {
    pub owner: UserId,
    /// `<delivery>:<index>`: one per deal and message however often it is followed.
    pub key: String,
    pub url: String,
    pub price: Money,
    pub saved: Option<Money>,
    pub clicked_at: Timestamp,
    pub version: u64,
}
crate::keyed_record!(ClickRecord, "click");

/// Records a followed link once and adds it to the user's and the product's click figures;
/// `false` when it had been followed before.
pub async fn record_click(
    documents: &dyn DocumentRepository,
    counters: &dyn CounterRepository,
    link: &ClickLink,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let saving = link.saving_minor();
    let currency = link.price.currency();
    let record = ClickRecord {
        owner: link.user,
        key: format!("{}:{}", link.delivery, link.index),
        url: link.url.clone(),
        price: link.price,
        saved: (saving > 0)
            .then(|| Money::from_minor(saving, currency).ok())
            .flatten(),
        clicked_at: now,
        version: 0,
    };
    match records::<ClickRecord>(documents)
        .insert(&record, None)
        .await
    {
        Ok(_) => {}
        Err(StoreError::Conflict(_)) => return Ok(false),
        Err(error) => return Err(error),
    }
    let day = utc_day(now);
    let mut changes = vec![
        (CounterKey::total(names::user_clicks(link.user)), 1),
        (CounterKey::new(names::CLICKS, CounterBucket::day(day)), 1),
        (CounterKey::new(names::CLICKS, CounterBucket::week(day)), 1),
    ];
    if saving > 0 {
        changes.push((
            CounterKey::total(names::user_saved(link.user, currency)),
            saving,
        ));
    }
    counters.add_counts(&changes).await?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Currency;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;

    fn link() -> ClickLink {
        let eur = Currency::parse("EUR").unwrap();
        ClickLink {
            user: UserId::generate(),
            delivery: "ab".repeat(16),
            index: 2,
            url: "https://shop.test/lamp?ref=1".into(),
            price: Money::parse("80", eur).unwrap(),
            reference: Some(Money::parse("100", eur).unwrap()),
        }
    }

    #[test]
    fn links_round_trip_and_resist_tampering() {
        let key = derive_click_key(b"a signing secret of thirty-two bytes!");
        let link = link();
        let token = link.sign(&key);
        assert_eq!(ClickLink::verify(&key, &token).unwrap(), link);
        assert_eq!(link.saving_minor(), 2000);
        let other = derive_click_key(b"another deployment's secret......");
        assert!(ClickLink::verify(&other, &token).is_err());
        let (_, tag) = token.split_once('.').unwrap();
        let mut forged = link.clone();
        forged.user = UserId::generate();
        let forged_payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&forged).unwrap());
        assert!(ClickLink::verify(&key, &format!("{forged_payload}.{tag}")).is_err());
        let mut script = link.clone();
        script.url = "javascript:alert(1)".into();
        assert!(ClickLink::verify(&key, &script.sign(&key)).is_err());
        assert!(ClickLink::verify(&key, "garbage").is_err());
    }
}
