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

/// A product's check as a watch sees it: the new state, the previous one, and the earlier
/// history (oldest first, before this check).
#[derive(Debug, Clone, Copy)]
pub struct PriceObservation<'a> {
    pub price: Money,
    pub previous: Option<Money>,
    pub in_stock: bool,
    pub was_in_stock: Option<bool>,
    pub history: &'a [crate::listing::PricePoint],
    pub at: Timestamp,
}

/// What a watch does with an observation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WatchDecision {
    /// Alert, and record the firing (disarm, or start the cooldown).
    Fire,
    /// The condition cleared: arm again.
    Rearm,
    /// Nothing changes.
    Hold,
}

impl WatchTrigger {
    /// Whether the trigger's condition holds for this observation.
    pub fn holds(&self, seen: &PriceObservation<'_>, price_when_watched: Option<Money>) -> bool {
        let same = |money: &Money| money.currency() == seen.price.currency();
        // Prices in effect since `since`: the points after it, and the one in effect at its
        // start (unchanged prices are coalesced, so a price holds until the next point).
        let earlier = |since: Option<Timestamp>| {
            let before: Vec<&crate::listing::PricePoint> = seen
                .history
                .iter()
                .filter(|p| p.at < seen.at && same(&p.price))
                .collect();
            let start = match since {
                None => 0,
                Some(since) => before.iter().rposition(|p| p.at <= since).unwrap_or(0),
            };
            before
                .into_iter()
                .skip(start)
                .map(|p| p.price.minor())
                .collect::<Vec<i64>>()
                .into_iter()
        };
        match self {
            WatchTrigger::TargetPrice { price } => {
                same(price) && seen.price.minor() <= price.minor()
            }
            WatchTrigger::PercentDrop { percent } => {
                let base = price_when_watched.filter(same).or_else(|| {
                    seen.history
                        .iter()
                        .find(|p| same(&p.price))
                        .map(|p| p.price)
                });
                base.is_some_and(|base| {
                    seen.price.minor() * 100 <= base.minor() * i64::from(100 - *percent)
                })
            }
            WatchTrigger::AnyDrop {} => seen
                .previous
                .is_some_and(|previous| same(&previous) && seen.price.minor() < previous.minor()),
            WatchTrigger::LowestInDays { days } => {
                let since = seen
                    .at
                    .checked_sub(jiff::SignedDuration::from_hours(i64::from(*days) * 24))
                    .ok();
                let mut window = earlier(since).peekable();
                window.peek().is_some() && window.all(|p| seen.price.minor() < p)
            }
            WatchTrigger::AllTimeLow {} => {
                let mut all = earlier(None).peekable();
                all.peek().is_some() && all.all(|p| seen.price.minor() < p)
            }
            WatchTrigger::BackInStock {} => seen.in_stock && seen.was_in_stock == Some(false),
        }
    }
}

impl WatchItem {
    /// Applies the trigger and the re-arm rule to an observation.
    pub fn decide(&self, seen: &PriceObservation<'_>) -> WatchDecision {
        if !self.enabled {
            return WatchDecision::Hold;
        }
        let holds = self.trigger.holds(seen, self.price_when_watched);
        match self.rearm {
            Rearm::WhenConditionClears {} => match (self.armed, holds) {
                (true, true) => WatchDecision::Fire,
                (false, false) => WatchDecision::Rearm,
                _ => WatchDecision::Hold,
            },
            Rearm::AfterCooldown { minutes } => {
                let cooled = self.last_fired_at.is_none_or(|last| {
                    seen.at.duration_since(last)
                        >= jiff::SignedDuration::from_mins(i64::from(minutes))
                });
                if holds && cooled {
                    WatchDecision::Fire
                } else {
                    WatchDecision::Hold
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::listing::PricePoint;
    use crate::money::Currency;

    fn eur(amount: &str) -> Money {
        Money::parse(amount, Currency::parse("EUR").unwrap()).unwrap()
    }

    fn at(hours: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + hours * 3600).unwrap()
    }

    fn history(prices: &[(i64, &str)]) -> Vec<PricePoint> {
        prices
            .iter()
            .map(|(hours, amount)| PricePoint {
                previous: None,
                product_id: ProductId::generate(),
                at: at(*hours),
                price: eur(amount),
                in_stock: true,
            })
            .collect()
    }

    fn seen<'a>(
        price: &str,
        previous: Option<&str>,
        points: &'a [PricePoint],
        hour: i64,
    ) -> PriceObservation<'a> {
        PriceObservation {
            price: eur(price),
            previous: previous.map(eur),
            in_stock: true,
            was_in_stock: Some(true),
            history: points,
            at: at(hour),
        }
    }

    fn item(trigger: WatchTrigger, rearm: Rearm) -> WatchItem {
        WatchItem {
            id: WatchId::generate(),
            owner: UserId::generate(),
            product_id: ProductId::generate(),
            listing_id: None,
            label: None,
            trigger,
            rearm,
            check_interval_minutes: 60,
            price_when_watched: Some(eur("300")),
            armed: true,
            last_fired_at: None,
            enabled: true,
            created_at: at(0),
            updated_at: at(0),
            version: 1,
        }
    }

    #[test]
    fn each_trigger_holds_exactly_when_it_says() {
        let points = history(&[(0, "300"), (24, "280"), (48, "290")]);
        let target = WatchTrigger::TargetPrice { price: eur("250") };
        assert!(target.holds(&seen("250", None, &points, 72), None));
        assert!(!target.holds(&seen("250.01", None, &points, 72), None));
        let drop = WatchTrigger::PercentDrop { percent: 20 };
        assert!(drop.holds(&seen("240", None, &points, 72), Some(eur("300"))));
        assert!(!drop.holds(&seen("240.01", None, &points, 72), Some(eur("300"))));
        assert!(
            drop.holds(&seen("240", None, &points, 72), None),
            "first price seen as base"
        );
        let any = WatchTrigger::AnyDrop {};
        assert!(any.holds(&seen("289", Some("290"), &points, 72), None));
        assert!(!any.holds(&seen("290", Some("290"), &points, 72), None));
        let lowest = WatchTrigger::LowestInDays { days: 2 };
        assert!(
            lowest.holds(&seen("279", None, &points, 72), None),
            "below 280 and 290 of the last two days"
        );
        assert!(!lowest.holds(&seen("285", None, &points, 72), None));
        assert!(
            lowest.holds(&seen("285", None, &points, 100), None),
            "only 290 is within two days"
        );
        let low = WatchTrigger::AllTimeLow {};
        assert!(low.holds(&seen("279.99", None, &points, 72), None));
        assert!(
            !low.holds(&seen("280", None, &points, 72), None),
            "strictly lower"
        );
        assert!(
            !low.holds(&seen("1", None, &[], 72), None),
            "no history, no record"
        );
        let back = WatchTrigger::BackInStock {};
        let mut restocked = seen("300", None, &points, 72);
        restocked.was_in_stock = Some(false);
        assert!(back.holds(&restocked, None));
        assert!(!back.holds(&seen("300", None, &points, 72), None));
    }

    #[test]
    fn watches_fire_once_per_crossing_or_after_their_cooldown() {
        let points = history(&[(0, "300")]);
        let mut watch = item(
            WatchTrigger::TargetPrice { price: eur("250") },
            Rearm::WhenConditionClears {},
        );
        assert_eq!(
            watch.decide(&seen("249", None, &points, 1)),
            WatchDecision::Fire
        );
        watch.armed = false;
        assert_eq!(
            watch.decide(&seen("239", None, &points, 2)),
            WatchDecision::Hold,
            "still below: once"
        );
        assert_eq!(
            watch.decide(&seen("260", None, &points, 3)),
            WatchDecision::Rearm
        );
        watch.armed = true;
        assert_eq!(
            watch.decide(&seen("245", None, &points, 4)),
            WatchDecision::Fire,
            "a new crossing"
        );

        let mut cooling = item(
            WatchTrigger::TargetPrice { price: eur("250") },
            Rearm::AfterCooldown { minutes: 120 },
        );
        cooling.last_fired_at = Some(at(10));
        assert_eq!(
            cooling.decide(&seen("240", None, &points, 11)),
            WatchDecision::Hold
        );
        assert_eq!(
            cooling.decide(&seen("240", None, &points, 12)),
            WatchDecision::Fire
        );
        cooling.enabled = false;
        assert_eq!(
            cooling.decide(&seen("240", None, &points, 20)),
            WatchDecision::Hold,
            "paused"
        );
    }

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
