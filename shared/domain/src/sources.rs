//! Where listings and prices come from, and when each is checked next.
//!
//! Tracked products and listing feeds are both *checked*: each carries a [`CheckState`] with its
//! due time, the validators for a conditional GET, and a run of consecutive failures that backs
//! the schedule off. Every check is classified as a [`CheckResult`]; the per-host tally of results
//! ([`HostHealth`]) tells operators which sites block us or changed their layout.

use crate::account::InvalidValue;
use crate::ids::SourceId;
use crate::listing::{vocabulary, Category, SourceName};
use crate::money::Currency;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

vocabulary!(
    /// How one check of a product page or feed ended. Only `ok` and `out_of_stock` read anything;
    /// every other result leaves prices untouched.
    CheckResult {
        Ok => "ok",
        NotModified => "not_modified",
        /// 401/403/429, a captcha page, robots.txt, or the SSRF guard.
        Blocked => "blocked",
        NotFound => "not_found",
        Gone => "gone",
        /// The page loaded but had no readable price: the layout changed or a selector broke.
        PriceMissing => "price_missing",
        OutOfStock => "out_of_stock",
        /// Timeouts, 5xx after retries, oversized or malformed answers.
        Error => "error",
    }
);

impl CheckResult {
    /// The check reached the page and learnt its state.
    pub fn succeeded(self) -> bool {
        matches!(
            self,
            CheckResult::Ok | CheckResult::NotModified | CheckResult::OutOfStock
        )
    }
}

/// Interval used when nothing else sets one (the free plan's).
pub const DEFAULT_INTERVAL_MINUTES: u32 = 360;
/// Failing sources are retried at most this far apart.
const MAX_BACKOFF: SignedDuration = SignedDuration::from_hours(24);
/// A page that answered 410 Gone is looked at once a week in case it comes back.
const GONE_RECHECK: SignedDuration = SignedDuration::from_hours(24 * 7);

/// When and how a product page or feed is checked next.
/// Shortest time between a check of a page and a watcher's request to check it again now.
pub const CHECK_NOW_GAP: SignedDuration = SignedDuration::from_secs(60);

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CheckState {
    /// When the next check is due; `None` means as soon as possible.
    pub next_check_at: Option<Timestamp>,
    /// Minutes between checks while all is well; 0 means [`DEFAULT_INTERVAL_MINUTES`].
    pub interval_minutes: u32,
    pub last_checked_at: Option<Timestamp>,
    /// Validators of the last good answer, sent back as a conditional GET.
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    /// Failed checks in a row; each one doubles the wait (up to a day).
    pub failures: u32,
    pub last_result: Option<CheckResult>,
    /// Why the last check failed, in words an operator can act on.
    pub last_reason: Option<String>,
    /// When a watcher last asked for a check now (`POST …/check`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requested_at: Option<Timestamp>,
}

impl CheckState {
    pub fn interval(&self) -> SignedDuration {
        let minutes = match self.interval_minutes {
            0 => DEFAULT_INTERVAL_MINUTES,
            minutes => minutes,
        };
        SignedDuration::from_mins(i64::from(minutes))
    }

    /// Due at `now` (never checked, or its time has come).
    pub fn is_due(&self, now: Timestamp) -> bool {
        self.next_check_at.is_none_or(|at| at <= now)
    }

    /// Records a check that ended with `result` at `now` and schedules the next one: the interval
    /// after a success, a doubling backoff after failures, a week after 410 Gone. `jitter_key`
    /// (the entity's id) spreads checks of the same interval over ±10 % so they do not bunch up.
    pub fn record(
        &mut self,
        result: CheckResult,
        reason: Option<String>,
        now: Timestamp,
        jitter_key: u128,
    ) {
        self.last_result = Some(result);
        self.last_checked_at = Some(now);
        let wait = if result.succeeded() {
            self.failures = 0;
            self.last_reason = None;
            self.interval()
        } else {
            self.failures = self.failures.saturating_add(1);
            self.last_reason = reason;
            if result == CheckResult::Gone {
                GONE_RECHECK
            } else {
                let factor = 1i32 << self.failures.min(8);
                self.interval()
                    .checked_mul(factor)
                    .unwrap_or(MAX_BACKOFF)
                    .min(MAX_BACKOFF.max(self.interval()))
            }
        };
        self.next_check_at = Some(
            now.saturating_add(jitter(wait, jitter_key, now))
                .unwrap_or(now),
        );
    }

    /// Schedules a check now, on a watcher's request. Refused — with how long to wait — while
    /// the page was checked, or a check was requested, less than [`CHECK_NOW_GAP`] ago, so
    /// the request cannot be used to hammer a shop.
    pub fn request_now(&mut self, now: Timestamp) -> Result<(), SignedDuration> {
        let latest = self.last_checked_at.max(self.requested_at);
        if let Some(latest) = latest {
            let since = now.duration_since(latest);
            if since < CHECK_NOW_GAP {
                return Err(CHECK_NOW_GAP - since.max(SignedDuration::ZERO));
            }
        }
        self.requested_at = Some(now);
        self.next_check_at = Some(now);
        Ok(())
    }

    /// A watcher asked for a check (`request_now`) that has not happened yet.
    pub fn requested_since_last_check(&self) -> bool {
        match (self.requested_at, self.last_checked_at) {
            (Some(requested), Some(checked)) => requested > checked,
            (Some(_), None) => true,
            (None, _) => false,
        }
    }

    /// Lowers the interval to `minutes` if that is shorter (a watcher on a faster plan joined)
    /// and pulls the next check forward accordingly.
    pub fn tighten(&mut self, minutes: u32, now: Timestamp) {
        if self.interval_minutes == 0 || minutes < self.interval_minutes {
            self.interval_minutes = minutes.max(1);
            let sooner = now.saturating_add(self.interval()).unwrap_or(now);
            if self.next_check_at.is_some_and(|at| at > sooner) {
                self.next_check_at = Some(sooner);
            }
        }
    }
}

/// `wait` moved by up to ±10 %, deterministically from the key and the time.
fn jitter(wait: SignedDuration, key: u128, now: Timestamp) -> SignedDuration {
    // SplitMix64 over the key and the second: cheap, stable, well spread.
    let mut x = (key as u64) ^ ((key >> 64) as u64) ^ (now.as_second() as u64);
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^= x >> 31;
    let unit = (x % 2001) as f64 / 1000.0 - 1.0; // -1.0 ..= 1.0
    let seconds = wait.as_secs_f64() * (1.0 + 0.1 * unit);
    SignedDuration::from_secs_f64(seconds.max(1.0))
}

/// CSS selectors that override the structured methods for one host or one product page.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SelectorOverrides {
    pub title: Option<String>,
    pub price: Option<String>,
    pub list_price: Option<String>,
    pub availability: Option<String>,
    pub image: Option<String>,
}

impl SelectorOverrides {
    /// These overrides, with `fallback`'s filling the fields these leave open (a product's
    /// own selectors before its host's).
    pub fn or(&self, fallback: &SelectorOverrides) -> SelectorOverrides {
        SelectorOverrides {
            title: self.title.clone().or_else(|| fallback.title.clone()),
            price: self.price.clone().or_else(|| fallback.price.clone()),
            list_price: self
                .list_price
                .clone()
                .or_else(|| fallback.list_price.clone()),
            availability: self
                .availability
                .clone()
                .or_else(|| fallback.availability.clone()),
            image: self.image.clone().or_else(|| fallback.image.clone()),
        }
    }
}

/// Selector overrides for every page of one host, set by administrators (a record of the
/// system owner, kind `host_selectors`, keyed by host).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostSelectors {
    pub owner: crate::ids::UserId,
    pub host: String,
    pub selectors: SelectorOverrides,
    pub version: u64,
}

/// Where the fields of a JSON API's listings are, as JSON pointers (RFC 6901).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FieldMapping {
    /// Pointer to the array of items (`""` when the document is the array).
    pub items: String,
    pub title: String,
    pub price: Option<String>,
    pub currency: Option<String>,
    pub url: Option<String>,
    pub category: Option<String>,
    pub condition: Option<String>,
    pub location: Option<String>,
    pub image: Option<String>,
}

impl FieldMapping {
    /// Every pointer must be empty or start with `/` (RFC 6901).
    pub fn check(&self) -> Result<(), InvalidValue> {
        let pointers = [
            Some(&self.items),
            Some(&self.title),
            self.price.as_ref(),
            self.currency.as_ref(),
            self.url.as_ref(),
            self.category.as_ref(),
            self.condition.as_ref(),
            self.location.as_ref(),
            self.image.as_ref(),
        ];
        if pointers
            .into_iter()
            .flatten()
            .all(|p| p.is_empty() || (p.starts_with('/') && p.len() <= 200))
        {
            Ok(())
        } else {
            Err(InvalidValue(
                "mapping fields are JSON pointers: empty or starting with /",
            ))
        }
    }
}

vocabulary!(
    /// How a feed's body is read.
    FeedFormat {
        /// RSS 2.0, Atom or JSON Feed, recognised from the body.
        Auto => "auto",
        /// A JSON API described by a field mapping.
        JsonApi => "json_api",
    }
);

/// A listing feed an administrator registered: marketplace searches, deal sites, partner APIs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeedSource {
    pub id: SourceId,
    /// Unique; becomes the `source` of every listing read from the feed.
    pub name: SourceName,
    /// Canonical public URL.
    pub url: String,
    pub format: FeedFormat,
    /// Required for `json_api`.
    pub mapping: Option<FieldMapping>,
    /// Category of items that do not name one the taxonomy knows.
    pub category: Option<Category>,
    /// Currency of prices printed without one.
    pub currency: Option<Currency>,
    pub enabled: bool,
    pub created_at: Timestamp,
    #[serde(default)]
    pub check: CheckState,
    /// Items the last good read found.
    #[serde(default)]
    pub last_item_count: Option<u32>,
}

/// The tally of check results on one host.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostHealth {
    pub host: String,
    /// Checks per result, since the host was first seen.
    pub results: BTreeMap<CheckResult, u64>,
    pub last_checked_at: Option<Timestamp>,
    pub last_failure_at: Option<Timestamp>,
    pub last_failure: Option<CheckResult>,
    pub last_failure_reason: Option<String>,
}

impl HostHealth {
    /// Adds one check to the tally.
    pub fn count(&mut self, result: CheckResult, reason: Option<&str>, at: Timestamp) {
        *self.results.entry(result).or_default() += 1;
        self.last_checked_at = Some(self.last_checked_at.map_or(at, |last| last.max(at)));
        if !result.succeeded() {
            self.last_failure_at = Some(at);
            self.last_failure = Some(result);
            self.last_failure_reason = reason.map(|r| r.chars().take(300).collect());
        }
    }

    pub fn total(&self) -> u64 {
        self.results.values().sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_second(seconds).unwrap()
    }

    fn minutes_until(state: &CheckState, now: Timestamp) -> f64 {
        state
            .next_check_at
            .unwrap()
            .duration_since(now)
            .as_secs_f64()
            / 60.0
    }

    #[test]
    fn success_waits_one_interval_with_jitter_and_failures_back_off_to_a_day() {
        let now = at(1_800_000_000);
        let mut state = CheckState {
            interval_minutes: 60,
            ..CheckState::default()
        };
        assert!(state.is_due(now), "never checked is due");
        state.record(CheckResult::Ok, None, now, 7);
        let wait = minutes_until(&state, now);
        assert!((54.0..=66.0).contains(&wait), "{wait}");
        assert!(!state.is_due(now));

        let mut waits = Vec::new();
        for _ in 0..8 {
            state.record(CheckResult::Blocked, Some("403".into()), now, 7);
            waits.push(minutes_until(&state, now));
        }
        assert_eq!(state.failures, 8);
        assert!((108.0..=132.0).contains(&waits[0]), "{waits:?}");
        assert!((216.0..=264.0).contains(&waits[1]), "{waits:?}");
        assert!(
            waits.iter().all(|w| *w <= 24.0 * 60.0 * 1.1),
            "capped: {waits:?}"
        );
        assert_eq!(state.last_reason.as_deref(), Some("403"));

        state.record(CheckResult::NotModified, None, now, 7);
        assert_eq!(state.failures, 0, "a success resets the backoff");
        assert_eq!(state.last_reason, None);

        state.record(CheckResult::Gone, None, now, 7);
        assert!(minutes_until(&state, now) > 6.0 * 24.0 * 60.0);
    }

    #[test]
    fn jitter_spreads_equal_intervals() {
        let now = at(1_800_000_000);
        let due: std::collections::BTreeSet<_> = (0..50u128)
            .map(|key| {
                let mut state = CheckState::default();
                state.record(CheckResult::Ok, None, now, key * 7919);
                state.next_check_at.unwrap()
            })
            .collect();
        assert!(due.len() > 40, "only {} distinct due times", due.len());
    }

    #[test]
    fn a_faster_plan_tightens_the_interval_and_pulls_the_check_forward() {
        let now = at(1_800_000_000);
        let mut state = CheckState::default();
        state.record(CheckResult::Ok, None, now, 1);
        assert!(minutes_until(&state, now) > 300.0);
        state.tighten(15, now);
        assert_eq!(state.interval_minutes, 15);
        assert!(minutes_until(&state, now) <= 15.0);
        state.tighten(60, now);
        assert_eq!(
            state.interval_minutes, 15,
            "never loosened by a slower plan"
        );
    }

    #[test]
    fn host_health_counts_results_and_remembers_the_last_failure() {
        let mut health = HostHealth {
            host: "shop.example".into(),
            ..HostHealth::default()
        };
        health.count(CheckResult::Ok, None, at(10));
        health.count(CheckResult::Blocked, Some("captcha page"), at(20));
        health.count(CheckResult::Ok, None, at(30));
        assert_eq!(health.total(), 3);
        assert_eq!(health.results[&CheckResult::Ok], 2);
        assert_eq!(health.last_failure, Some(CheckResult::Blocked));
        assert_eq!(health.last_failure_at, Some(at(20)));
        assert_eq!(health.last_checked_at, Some(at(30)));
    }

    #[test]
    fn mappings_must_be_json_pointers() {
        let mut mapping = FieldMapping {
            items: "/data/items".into(),
            title: "/name".into(),
            price: Some("/price/amount".into()),
            currency: None,
            url: None,
            category: None,
            condition: None,
            location: None,
            image: None,
        };
        assert!(mapping.check().is_ok());
        mapping.title = "name".into();
        assert!(mapping.check().is_err());
    }
    #[test]
    fn check_now_waits_a_minute_after_any_check_or_request() {
        let now = at(1_800_000_000);
        let mut state = CheckState::default();
        state.record(CheckResult::Ok, None, now, 7);
        let soon = now.saturating_add(SignedDuration::from_secs(20)).unwrap();
        assert_eq!(state.request_now(soon), Err(SignedDuration::from_secs(40)));
        assert!(!state.is_due(soon), "a refused request changes nothing");
        let later = now.saturating_add(SignedDuration::from_secs(61)).unwrap();
        assert_eq!(state.request_now(later), Ok(()));
        assert!(state.is_due(later));
        let again = later.saturating_add(SignedDuration::from_secs(59)).unwrap();
        assert_eq!(state.request_now(again), Err(SignedDuration::from_secs(1)));
    }
}
