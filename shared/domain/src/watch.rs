//! The watchlist: products a user follows, what should trigger an alert, and how a fired watch
//! re-arms.

use crate::account::InvalidValue;
use crate::ids::{ListingId, ProductId, UserId, WatchId};
use crate::money::Money;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// What makes a watch fire.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum WatchTrigger {
    /// The price is at or below `price`.
    TargetPrice { price: Money },
    /// The price dropped at least `percent` below the price when the watch was created.
    PercentDrop { percent: u8 },
    /// Any drop below the previous observed price.
    AnyDrop {},
    /// The lowest price of the last `days` days.
    LowestInDays { days: u16 },
    /// Lower than every price ever recorded.
    AllTimeLow {},
    /// Was out of stock, is back.
    BackInStock {},
}

impl WatchTrigger {
    pub fn check(&self) -> Result<(), InvalidValue> {
        match self {
            WatchTrigger::PercentDrop { percent } if !(1..=99).contains(percent) => {
                Err(InvalidValue("percent must be between 1 and 99"))
            }
            WatchTrigger::LowestInDays { days } if !(2..=365).contains(days) => {
                Err(InvalidValue("days must be between 2 and 365"))
            }
            _ => Ok(()),
        }
    }

    /// Plain-language description shown with the watch.
    pub fn describe(&self, price_when_watched: Option<&Money>) -> String {
        match self {
            WatchTrigger::TargetPrice { price } => format!("when the price is {price} or less"),
            WatchTrigger::PercentDrop { percent } => match price_when_watched {
                Some(base) => format!("when the price drops {percent}% below {base}"),
                None => format!("when the price drops {percent}% below the first price seen"),
            },
            WatchTrigger::AnyDrop {} => "whenever the price drops".into(),
            WatchTrigger::LowestInDays { days } => {
                format!("when the price is the lowest of the last {days} days")
            }
            WatchTrigger::AllTimeLow {} => "when the price hits a new all-time low".into(),
            WatchTrigger::BackInStock {} => "when it is back in stock".into(),
        }
    }
}

/// How a watch that fired becomes able to fire again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Rearm {
    /// Fire once; re-arm when the condition stops holding (price back above the threshold,
    /// out of stock again), so each new crossing alerts once.
    WhenConditionClears {},
    /// Fire again at the next qualifying check after `minutes` have passed.
    AfterCooldown { minutes: u32 },
}

impl Rearm {
    pub const MIN_COOLDOWN: u32 = 5;
    pub const MAX_COOLDOWN: u32 = 60 * 24 * 30;

    pub fn check(&self) -> Result<(), InvalidValue> {
        match self {
            Rearm::AfterCooldown { minutes }
                if !(Self::MIN_COOLDOWN..=Self::MAX_COOLDOWN).contains(minutes) =>
            {
                Err(InvalidValue(
                    "a re-arm cooldown must be between 5 and 43200 minutes",
                ))
            }
            _ => Ok(()),
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Rearm::WhenConditionClears {} => {
                "fires once, then re-arms when the condition no longer holds".into()
            }
            Rearm::AfterCooldown { minutes } => {
                format!("fires, then may fire again after {minutes} minutes")
            }
        }
    }
}

/// One watchlist entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WatchItem {
    pub id: WatchId,
    pub owner: UserId,
    pub product_id: ProductId,
    /// The listing the watch was created from, if any.
    pub listing_id: Option<ListingId>,
    /// The user's own label for the item.
    pub label: Option<String>,
    pub trigger: WatchTrigger,
    pub rearm: Rearm,
    pub check_interval_minutes: u32,
    pub price_when_watched: Option<Money>,
    /// False after firing until the re-arm rule re-arms it.
    pub armed: bool,
    pub last_fired_at: Option<Timestamp>,
    pub enabled: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub version: u64,
}

impl WatchItem {
    pub const MAX_LABEL_CHARS: usize = 100;
    pub const MAX_CHECK_INTERVAL_MINUTES: u32 = 60 * 24 * 7;

    pub fn parse_label(raw: &str) -> Result<Option<String>, InvalidValue> {
        let label = raw.trim();
        if label.chars().count() > Self::MAX_LABEL_CHARS || label.chars().any(char::is_control) {
            return Err(InvalidValue(
                "a label is at most 100 characters without control characters",
            ));
        }
        Ok((!label.is_empty()).then(|| label.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn triggers_parse_from_tagged_json_and_check_bounds() {
        let trigger: WatchTrigger = serde_json::from_str(
            r#"{"kind":"target_price","price":{"amount":"249.99","currency":"EUR"}}"#,
        )
        .unwrap();
        assert!(trigger.describe(None).contains("249.99 EUR or less"));
        let drop: WatchTrigger =
            serde_json::from_str(r#"{"kind":"percent_drop","percent":0}"#).unwrap();
        assert!(drop.check().is_err());
        assert!(serde_json::from_str::<WatchTrigger>(r#"{"kind":"any_drop","x":1}"#).is_err());
        assert!(serde_json::from_str::<WatchTrigger>(r#"{"kind":"sometimes"}"#).is_err());
        let rearm: Rearm =
            serde_json::from_str(r#"{"kind":"after_cooldown","minutes":1}"#).unwrap();
        assert!(rearm.check().is_err());
    }
}
