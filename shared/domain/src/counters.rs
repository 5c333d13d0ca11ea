//! Rollup counters: named integers bumped atomically as things happen (a signup, a verified
//! address, a delivery sent), so the admin console and dashboards answer from a fixed number of
//! reads however many events there were. Buckets are UTC periods.

use crate::account::User;
use crate::ids::UserId;
use crate::ports::StoreError;
use crate::records::{records, DocumentRepository};
use async_trait::async_trait;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use serde::{Deserialize, Serialize};

/// The period a counter counts in: all time, or one UTC hour, day, ISO week or month.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CounterBucket(String);

impl CounterBucket {
    pub fn total() -> Self {
        Self("all".into())
    }
    pub fn hour(at: Timestamp) -> Self {
        Self(format!("h{}", at.strftime("%Y-%m-%dT%H")))
    }
    pub fn day(day: Date) -> Self {
        Self(format!("d{day}"))
    }
    /// The ISO week (Monday to Sunday) that contains `day`, named by its Monday.
    pub fn week(day: Date) -> Self {
        Self(format!("w{}", week_start(day)))
    }
    pub fn month(day: Date) -> Self {
        Self(format!("m{}", day.strftime("%Y-%m")))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One counter: a name in a bucket.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CounterKey {
    pub bucket: CounterBucket,
    pub name: String,
}

impl CounterKey {
    pub fn new(name: impl Into<String>, bucket: CounterBucket) -> Self {
        Self {
            bucket,
            name: name.into(),
        }
    }
    pub fn total(name: impl Into<String>) -> Self {
        Self::new(name, CounterBucket::total())
    }
}

#[async_trait]
pub trait CounterRepository: Send + Sync {
    /// Adds each delta to its counter (one never written counts from 0). Each addition is atomic
    /// on its own, so concurrent writers never lose counts; the list is not one transaction.
    async fn add_counts(&self, changes: &[(CounterKey, i64)]) -> Result<(), StoreError>;
    /// Keeps, per counter, the lowest (or highest) value ever offered. Read back through
    /// [`CounterRepository::counts`], which says 0 until a value is offered: keep a count beside
    /// an extreme to tell "none" from 0. Offering the same value twice changes nothing.
    async fn keep_extremes(
        &self,
        offers: &[(CounterKey, crate::analytics::Extreme, i64)],
    ) -> Result<(), StoreError>;
    /// The counters' values in the order asked, 0 for those never written.
    async fn counts(&self, keys: &[CounterKey]) -> Result<Vec<i64>, StoreError>;
    /// Every counter of one bucket whose name starts with `prefix`, ordered by name: the reads
    /// grow with the number of distinct names (destinations, categories), not with events.
    async fn counts_with_prefix(
        &self,
        bucket: &CounterBucket,
        prefix: &str,
    ) -> Result<Vec<(String, i64)>, StoreError>;
}

/// The Monday starting the ISO week of `day`.
pub fn week_start(day: Date) -> Date {
    let back = i64::from(day.weekday().to_monday_zero_offset());
    day.checked_sub(back.days()).unwrap_or(day)
}

/// The UTC calendar day of an instant.
pub fn utc_day(at: Timestamp) -> Date {
    at.to_zoned(TimeZone::UTC).date()
}

/// The `count` days ending with the day of `now`, oldest first.
pub fn last_days(now: Timestamp, count: u32) -> Vec<Date> {
    let today = utc_day(now);
    (0..i64::from(count))
        .rev()
        .filter_map(|back| today.checked_sub(back.days()).ok())
        .collect()
}

/// The Mondays of the `count` ISO weeks ending with the week of `now`, oldest first.
pub fn last_weeks(now: Timestamp, count: u32) -> Vec<Date> {
    let monday = week_start(utc_day(now));
    (0..i64::from(count))
        .rev()
        .filter_map(|back| monday.checked_sub((back * 7).days()).ok())
        .collect()
}

/// The first days of the `count` months ending with the month of `now`, oldest first.
pub fn last_months(now: Timestamp, count: u32) -> Vec<Date> {
    let first = utc_day(now).first_of_month();
    (0..i64::from(count))
        .rev()
        .filter_map(|back| first.checked_sub(back.months()).ok())
        .collect()
}

/// The `count` UTC hours ending with the hour of `now`, oldest first.
pub fn last_hours(now: Timestamp, count: u32) -> Vec<Timestamp> {
    (0..i64::from(count))
        .rev()
        .filter_map(|back| now.checked_sub((back * 3600).seconds()).ok())
        .collect()
}

/// Names of the counters the product keeps. Cohort counters carry the cohort's Monday.
pub mod names {
    use jiff::civil::Date;

    /// Accounts that exist (total bucket, and signup-month buckets).
    pub const USERS: &str = "users";
    /// Accounts with a verified address (total bucket).
    pub const USERS_VERIFIED: &str = "users.verified";
    /// Suspended accounts (total bucket).
    pub const USERS_SUSPENDED: &str = "users.suspended";
    /// Accounts created (day, week and month buckets).
    pub const SIGNUPS: &str = "signups";
    /// Accounts that saved their first rule or watch (day and week buckets, by when it happened).
    pub const ACTIVATIONS: &str = "activations";
    /// Deliveries that went out / failed for good (hour and day buckets).
    pub const DELIVERIES_SENT: &str = "deliveries.sent";
    pub const DELIVERIES_FAILED: &str = "deliveries.failed";
    /// Deliveries sent per channel: `deliveries.sent.<channel>` (hour and day buckets).
    pub fn deliveries_sent_on(channel: &str) -> String {
        format!("{DELIVERIES_SENT}.{channel}")
    }
    /// Accounts of the cohort that signed up in the week of `cohort` that were active in the
    /// bucket's week.
    pub fn cohort_active(cohort: Date) -> String {
        format!("cohort.{cohort}.active")
    }
    /// Accounts of the cohort of `cohort` that have activated (total bucket).
    pub fn cohort_activated(cohort: Date) -> String {
        format!("cohort.{cohort}.activated")
    }
}

/// What an account's current state adds to the counters, in total and in its signup month's
/// bucket. Stores apply these in the same atomic step as the write: `+` on insert, `-` on
/// delete, after minus before on update.
pub fn account_tallies(user: &User) -> Vec<CounterKey> {
    let month = CounterBucket::month(utc_day(user.created_at));
    let mut names = vec![names::USERS];
    if user.is_verified() {
        names.push(names::USERS_VERIFIED);
    }
    if user.is_suspended() {
        names.push(names::USERS_SUSPENDED);
    }
    names
        .into_iter()
        .flat_map(|name| {
            [
                CounterKey::total(name),
                CounterKey::new(name, month.clone()),
            ]
        })
        .collect()
}

/// What creating an account adds once (signups stay counted when the account goes).
pub fn signup_tallies(user: &User) -> Vec<CounterKey> {
    let day = utc_day(user.created_at);
    [
        CounterBucket::day(day),
        CounterBucket::week(day),
        CounterBucket::month(day),
    ]
    .into_iter()
    .map(|bucket| CounterKey::new(names::SIGNUPS, bucket))
    .collect()
}

/// The changes a store applies when an account goes from `before` to `after` (`None` for not
/// existing): only counters that move.
pub fn account_changes(before: Option<&User>, after: Option<&User>) -> Vec<(CounterKey, i64)> {
    let mut changes: Vec<(CounterKey, i64)> = Vec::new();
    let mut add = |key: CounterKey, delta: i64| match changes.iter_mut().find(|(k, _)| *k == key) {
        Some((_, total)) => *total += delta,
        None => changes.push((key, delta)),
    };
    for key in after.map(account_tallies).unwrap_or_default() {
        add(key, 1);
    }
    for key in before.map(account_tallies).unwrap_or_default() {
        add(key, -1);
    }
    if let (None, Some(created)) = (before, after) {
        for key in signup_tallies(created) {
            add(key, 1);
        }
    }
    changes.retain(|(_, delta)| *delta != 0);
    changes
}

/// The counter of all stored documents of a kind (rules, watches…), kept by the store in the
/// same atomic step as each insert and delete.
pub fn documents_of_kind(kind: &str) -> CounterKey {
    CounterKey::total(format!("documents.{kind}"))
}

/// Per-account milestones the behaviour analytics need: kept in the account's partition so
/// each event costs one read and at most one write.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AccountMilestones {
    pub owner: UserId,
    pub key: String,
    /// Monday of the signup week: the cohort.
    pub cohort: Date,
    pub activated_at: Option<Timestamp>,
    /// Monday of the last week the account was counted active in.
    pub last_active_week: Option<Date>,
    pub version: u64,
}
crate::keyed_record!(AccountMilestones, "milestones");

impl AccountMilestones {
    fn fresh(user: &User) -> Self {
        Self {
            owner: user.id,
            key: "current".into(),
            cohort: week_start(utc_day(user.created_at)),
            activated_at: None,
            last_active_week: None,
            version: 0,
        }
    }
}

/// Counts the account active in the week of `now` (a login, a token refresh, an opened alert):
/// once per account and week, into its signup cohort's retention row.
pub async fn note_activity(
    documents: &dyn DocumentRepository,
    counters: &dyn CounterRepository,
    user: &User,
    now: Timestamp,
) -> Result<(), StoreError> {
    let week = week_start(utc_day(now));
    let mut first_this_week = false;
    let milestones = records::<AccountMilestones>(documents)
        .modify(
            user.id,
            "current",
            || AccountMilestones::fresh(user),
            |milestones| {
                first_this_week = milestones.last_active_week.is_none_or(|seen| seen < week);
                if first_this_week {
                    milestones.last_active_week = Some(week);
                }
                first_this_week
            },
        )
        .await?;
    if first_this_week {
        counters
            .add_counts(&[(
                CounterKey::new(
                    names::cohort_active(milestones.cohort),
                    CounterBucket::week(utc_day(now)),
                ),
                1,
            )])
            .await?;
    }
    Ok(())
}

/// Records that the account saved its first rule or watch (once per account, ever).
pub async fn note_activation(
    documents: &dyn DocumentRepository,
    counters: &dyn CounterRepository,
    user: &User,
    now: Timestamp,
) -> Result<(), StoreError> {
    let mut first = false;
    let milestones = records::<AccountMilestones>(documents)
        .modify(
            user.id,
            "current",
            || AccountMilestones::fresh(user),
            |milestones| {
                first = milestones.activated_at.is_none();
                if first {
                    milestones.activated_at = Some(now);
                }
                first
            },
        )
        .await?;
    if first {
        let day = utc_day(now);
        counters
            .add_counts(&[
                (
                    CounterKey::new(names::ACTIVATIONS, CounterBucket::day(day)),
                    1,
                ),
                (
                    CounterKey::new(names::ACTIVATIONS, CounterBucket::week(day)),
                    1,
                ),
                (
                    CounterKey::total(names::cohort_activated(milestones.cohort)),
                    1,
                ),
            ])
            .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::{date, Weekday};

    #[test]
    fn buckets_name_utc_periods() {
        let at: Timestamp = "2026-11-25T13:45:00Z".parse().unwrap();
        assert_eq!(CounterBucket::hour(at).as_str(), "h2026-11-25T13");
        assert_eq!(CounterBucket::day(utc_day(at)).as_str(), "d2026-11-25");
        // 2026-11-25 is a Wednesday: its ISO week starts on Monday the 23rd.
        assert_eq!(CounterBucket::week(utc_day(at)).as_str(), "w2026-11-23");
        assert_eq!(CounterBucket::month(utc_day(at)).as_str(), "m2026-11");
        assert_eq!(week_start(date(2026, 11, 23)), date(2026, 11, 23));
        assert_eq!(week_start(date(2026, 11, 29)), date(2026, 11, 23));
        assert_eq!(date(2026, 11, 30).weekday(), Weekday::Monday);
    }

    #[test]
    fn ranges_end_with_the_current_period_oldest_first() {
        let now: Timestamp = "2026-03-02T01:00:00Z".parse().unwrap();
        assert_eq!(
            last_days(now, 3),
            vec![date(2026, 2, 28), date(2026, 3, 1), date(2026, 3, 2)]
        );
        assert_eq!(
            last_weeks(now, 2),
            vec![date(2026, 2, 23), date(2026, 3, 2)]
        );
        assert_eq!(
            last_months(now, 3),
            vec![date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)]
        );
        let hours = last_hours(now, 24);
        assert_eq!(hours.len(), 24);
        assert_eq!(CounterBucket::hour(hours[0]).as_str(), "h2026-03-01T02");
    }
}
