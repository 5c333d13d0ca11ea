//! The notification policy: from matches to alerts, and from an alert to when and where it goes.
//! Pure and clock-injected, so every rule of it is a unit test.
//!
//! - Matches of several rules for the same item at the same price merge into one alert naming
//!   every trigger; the same deal from another source (same product page, or near-identical
//!   title and price: [`crate::sameness`]) merges into the first alert the user got for it.
//! - The dedup key (user, trigger, item, channel, price) is what a delivery is claimed under, so
//!   the same deal is never sent twice on one channel.
//! - Immediate alerts go now, unless the user's quiet hours hold them until the window ends, or
//!   the day's cap sends them to the next digest; daily and weekly users get digests only.
//! - SMS and web push carry only urgent alerts (a new all-time low, a target price reached), and
//!   SMS at most `sms_per_day` a day.

use crate::ids::{ListingId, ProductId, RuleId, UserId, WatchId};
use crate::money::Money;
use crate::preferences::{Channel, Frequency, NotificationPreferences};
use jiff::civil::Time;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan, Zoned};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};

/// What fired.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum Trigger {
    Rule(RuleId),
    Watch(WatchId),
}

/// What the alert is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum Item {
    Listing(ListingId),
    Product(ProductId),
}

/// One trigger firing for one user on one item.
#[derive(Debug, Clone, PartialEq)]
pub struct Fired {
    pub user: UserId,
    pub trigger: Trigger,
    pub item: Item,
    pub price: Money,
    /// Worth an SMS or a push: a new all-time low, a target price reached.
    pub urgent: bool,
}

/// One alert: an item at a price for a user, with every trigger that fired for it.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    pub user: UserId,
    pub item: Item,
    pub price: Money,
    pub triggers: BTreeSet<Trigger>,
    pub urgent: bool,
}

/// Merges firings: one alert per (user, item, price), naming all its triggers; urgent if any
/// firing was. Ordered by user, then item.
pub fn merge(fired: &[Fired]) -> Vec<Alert> {
    let mut alerts: BTreeMap<(UserId, Item, i64, String), Alert> = BTreeMap::new();
    for firing in fired {
        let key = (
            firing.user,
            firing.item,
            firing.price.minor(),
            firing.price.currency().code().to_string(),
        );
        let alert = alerts.entry(key).or_insert_with(|| Alert {
            user: firing.user,
            item: firing.item,
            price: firing.price,
            triggers: BTreeSet::new(),
            urgent: false,
        });
        alert.triggers.insert(firing.trigger);
        alert.urgent |= firing.urgent;
    }
    alerts.into_values().collect()
}

/// The key a delivery is claimed under: the same deal on the same channel is sent once.
pub fn dedup_key(
    user: UserId,
    trigger: Trigger,
    item: Item,
    channel: Channel,
    price: Money,
) -> String {
    let text = format!(
        "{user}|{}|{}|{channel}|{}",
        serde_json::to_string(&trigger).unwrap_or_default(),
        serde_json::to_string(&item).unwrap_or_default(),
        price
    );
    let digest = Sha256::digest(text.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Where one alert goes on one channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// Deliver at once.
    Now,
    /// Deliver when the quiet hours end.
    At(Timestamp),
    /// Into the digest that goes out at this time.
    Digest(Timestamp),
    /// Not on this channel, and why.
    Skip(&'static str),
}

/// What the user has already been sent today (their local day).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SentToday {
    pub alerts: u16,
    pub sms: u16,
}

/// The next time the local clock in `zone` reads `at`, strictly after `now`.
fn next_local(now: Timestamp, zone: &TimeZone, at: Time) -> Timestamp {
    let local = now.to_zoned(zone.clone());
    let today = local.date().to_datetime(at);
    let candidate = today
        .to_zoned(zone.clone())
        .map(|z| z.timestamp())
        .unwrap_or(now);
    if candidate > now {
        return candidate;
    }
    today
        .checked_add(1.day())
        .ok()
        .and_then(|tomorrow| tomorrow.to_zoned(zone.clone()).ok())
        .map(|z: Zoned| z.timestamp())
        .unwrap_or(now)
}

/// When the user's next digest goes out.
pub fn next_digest(prefs: &NotificationPreferences, zone: &TimeZone, now: Timestamp) -> Timestamp {
    let hour = Time::new(
        i8::try_from(prefs.digest_hour.min(23)).unwrap_or(8),
        0,
        0,
        0,
    )
    .unwrap_or(Time::midnight());
    let mut next = next_local(now, zone, hour);
    if prefs.frequency == Frequency::Weekly {
        let wanted = prefs.digest_weekday.weekday();
        for _ in 0..7 {
            if next.to_zoned(zone.clone()).weekday() == wanted {
                break;
            }
            next = next_local(next, zone, hour);
        }
    }
    next
}

/// Decides where `alert` goes on `channel` for a user with these preferences, in their time zone.
pub fn route(
    alert: &Alert,
    channel: Channel,
    prefs: &NotificationPreferences,
    zone: &TimeZone,
    sent: SentToday,
    sms_per_day: u16,
    now: Timestamp,
) -> Route {
    if !prefs.channels.contains(&channel) {
        return Route::Skip("channel not chosen");
    }
    let interrupting = matches!(channel, Channel::Sms | Channel::Push);
    if interrupting && !alert.urgent {
        return Route::Skip("only urgent alerts go by SMS or push");
    }
    if channel == Channel::Sms && sent.sms >= sms_per_day {
        return Route::Skip("today's SMS allowance is used up");
    }
    if prefs.frequency != Frequency::Immediate {
        return if interrupting {
            Route::Skip("digests are not sent by SMS or push")
        } else {
            Route::Digest(next_digest(prefs, zone, now))
        };
    }
    if prefs
        .max_alerts_per_day
        .is_some_and(|max| sent.alerts >= max)
    {
        return if interrupting {
            Route::Skip("today's alert cap is reached")
        } else {
            Route::Digest(next_digest(prefs, zone, now))
        };
    }
    if let Some(quiet) = &prefs.quiet_hours {
        let local = now.to_zoned(zone.clone()).time();
        if quiet.contains(local) {
            return Route::At(next_local(now, zone, quiet.end().time()));
        }
    }
    Route::Now
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Currency;
    use crate::preferences::{DigestWeekday, LocalTime, QuietHours};

    fn eur(amount: &str) -> Money {
        Money::parse(amount, Currency::parse("EUR").unwrap()).unwrap()
    }

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn berlin() -> TimeZone {
        TimeZone::get("Europe/Berlin").unwrap()
    }

    fn prefs(channels: &[Channel]) -> NotificationPreferences {
        let mut prefs =
            NotificationPreferences::defaults(UserId::generate(), at("2026-11-25T00:00:00Z"));
        prefs.channels = channels.iter().copied().collect();
        prefs
    }

    fn alert(urgent: bool) -> Alert {
        Alert {
            user: UserId::generate(),
            item: Item::Listing(ListingId::generate()),
            price: eur("249"),
            triggers: BTreeSet::from([Trigger::Rule(RuleId::generate())]),
            urgent,
        }
    }

    #[test]
    fn several_rules_on_one_item_at_one_price_make_one_alert() {
        let (user, item) = (UserId::generate(), Item::Listing(ListingId::generate()));
        let (a, b) = (
            Trigger::Rule(RuleId::generate()),
            Trigger::Watch(WatchId::generate()),
        );
        let fired = [
            Fired {
                user,
                trigger: a,
                item,
                price: eur("249"),
                urgent: false,
            },
            Fired {
                user,
                trigger: b,
                item,
                price: eur("249"),
                urgent: true,
            },
            Fired {
                user,
                trigger: a,
                item,
                price: eur("239"),
                urgent: false,
            },
            Fired {
                user: UserId::generate(),
                trigger: a,
                item,
                price: eur("249"),
                urgent: false,
            },
        ];
        let alerts = merge(&fired);
        assert_eq!(
            alerts.len(),
            3,
            "two prices for one user, one for the other"
        );
        let merged = alerts
            .iter()
            .find(|x| x.user == user && x.price == eur("249"))
            .unwrap();
        assert_eq!(merged.triggers, BTreeSet::from([a, b]));
        assert!(merged.urgent);
    }

    #[test]
    fn the_dedup_key_changes_with_each_part_and_only_then() {
        let (user, trigger, item) = (
            UserId::generate(),
            Trigger::Rule(RuleId::generate()),
            Item::Product(ProductId::generate()),
        );
        let key = dedup_key(user, trigger, item, Channel::Email, eur("249"));
        assert_eq!(
            key,
            dedup_key(user, trigger, item, Channel::Email, eur("249"))
        );
        assert_eq!(key.len(), 64);
        for other in [
            dedup_key(
                UserId::generate(),
                trigger,
                item,
                Channel::Email,
                eur("249"),
            ),
            dedup_key(
                user,
                Trigger::Rule(RuleId::generate()),
                item,
                Channel::Email,
                eur("249"),
            ),
            dedup_key(
                user,
                trigger,
                Item::Product(ProductId::generate()),
                Channel::Email,
                eur("249"),
            ),
            dedup_key(user, trigger, item, Channel::Slack, eur("249")),
            dedup_key(user, trigger, item, Channel::Email, eur("248.99")),
        ] {
            assert_ne!(key, other);
        }
    }

    #[test]
    fn quiet_hours_hold_immediate_alerts_until_they_end_in_the_users_zone() {
        let mut p = prefs(&[Channel::Email]);
        p.quiet_hours = Some(
            QuietHours::new(
                LocalTime::parse("22:00").unwrap(),
                LocalTime::parse("07:00").unwrap(),
            )
            .unwrap(),
        );
        // 23:30 in Berlin (UTC+1 in November): held until 07:00 Berlin = 06:00 UTC.
        let night = at("2026-11-25T22:30:00Z");
        assert_eq!(
            route(
                &alert(false),
                Channel::Email,
                &p,
                &berlin(),
                SentToday::default(),
                3,
                night
            ),
            Route::At(at("2026-11-26T06:00:00Z"))
        );
        // 12:00 in Berlin: now.
        let noon = at("2026-11-25T11:00:00Z");
        assert_eq!(
            route(
                &alert(false),
                Channel::Email,
                &p,
                &berlin(),
                SentToday::default(),
                3,
                noon
            ),
            Route::Now
        );
    }

    #[test]
    fn the_daily_cap_sends_the_overflow_to_the_next_digest() {
        let mut p = prefs(&[Channel::Email, Channel::Push]);
        p.max_alerts_per_day = Some(5);
        p.digest_hour = 8;
        let now = at("2026-11-25T15:00:00Z");
        let under = SentToday { alerts: 4, sms: 0 };
        let over = SentToday { alerts: 5, sms: 0 };
        assert_eq!(
            route(&alert(false), Channel::Email, &p, &berlin(), under, 3, now),
            Route::Now
        );
        assert_eq!(
            route(&alert(false), Channel::Email, &p, &berlin(), over, 3, now),
            Route::Digest(at("2026-11-26T07:00:00Z")),
            "08:00 Berlin tomorrow"
        );
        assert!(matches!(
            route(&alert(true), Channel::Push, &p, &berlin(), over, 3, now),
            Route::Skip(_)
        ));
    }

    #[test]
    fn digests_follow_the_users_hour_and_weekday() {
        let mut p = prefs(&[Channel::Email]);
        p.frequency = Frequency::Daily;
        p.digest_hour = 18;
        let now = at("2026-11-25T10:00:00Z"); // a Wednesday
        assert_eq!(
            route(
                &alert(false),
                Channel::Email,
                &p,
                &berlin(),
                SentToday::default(),
                3,
                now
            ),
            Route::Digest(at("2026-11-25T17:00:00Z"))
        );
        p.frequency = Frequency::Weekly;
        p.digest_weekday = DigestWeekday::Monday;
        assert_eq!(next_digest(&p, &berlin(), now), at("2026-11-30T17:00:00Z"));
    }

    #[test]
    fn sms_and_push_carry_only_urgent_alerts_within_the_sms_allowance() {
        let p = prefs(&[Channel::Sms, Channel::Push, Channel::Email]);
        let now = at("2026-11-25T11:00:00Z");
        let none = SentToday::default();
        assert!(matches!(
            route(&alert(false), Channel::Sms, &p, &berlin(), none, 3, now),
            Route::Skip(_)
        ));
        assert_eq!(
            route(&alert(true), Channel::Sms, &p, &berlin(), none, 3, now),
            Route::Now
        );
        assert_eq!(
            route(&alert(true), Channel::Push, &p, &berlin(), none, 3, now),
            Route::Now
        );
        let spent = SentToday { alerts: 0, sms: 3 };
        assert!(matches!(
            route(&alert(true), Channel::Sms, &p, &berlin(), spent, 3, now),
            Route::Skip(_)
        ));
        assert!(matches!(
            route(&alert(true), Channel::Slack, &p, &berlin(), none, 3, now),
            Route::Skip("channel not chosen")
        ));
    }
}
