//! The weekly top-deals newsletter, sent by the digest step: from Monday 08:00 UTC, the first
//! run of an ISO week picks the best public deals seen in the seven days before, stores them as
//! that week's issue and queues one delivery per confirmed subscriber. The issue remembers the
//! last subscriber queued, so a run cut short (or capped at [`MAX_QUEUED_PER_RUN`]) goes on at
//! the next hourly run; delivery ids come from the week and the address, so queueing a
//! subscriber twice still sends once.

use crate::matcher::{enqueue, MatchError};
use crate::model::{stable_id, DeliveryTask, TASK_SCHEMA};
use dealpulse_domain::clock::Clock;
use dealpulse_domain::ids::UserId;
use dealpulse_domain::listing::Listing;
use dealpulse_domain::notify::{DealLine, Notice, NoticeKind};
use dealpulse_domain::ports::{Store, StoreError};
use dealpulse_domain::preferences::Channel;
use dealpulse_domain::queue::Queue;
use dealpulse_domain::records::records;
use dealpulse_domain::subscribers::{self, SubscriberStatus};
use jiff::civil::Weekday;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::sync::Arc;

/// Deals in an issue.
pub const TOP_DEALS: usize = 10;
/// Listings of the week considered (newest first) when picking the top deals.
pub const CANDIDATES: u32 = 5_000;
/// Deliveries one run queues at most; the rest go at the next run.
pub const MAX_QUEUED_PER_RUN: usize = 20_000;
/// Subscribers read per page.
const PAGE: u32 = 500;

/// One week's newsletter: what it says and how far sending got.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewsletterIssue {
    pub owner: UserId,
    /// The ISO week, `2026-W49`.
    pub key: String,
    pub deals: Vec<DealLine>,
    /// The last subscriber address queued.
    pub cursor: Option<String>,
    pub queued: u64,
    pub done: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub version: u64,
}
dealpulse_domain::keyed_record!(NewsletterIssue, "newsletter_issue");

#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct NewsletterReport {
    /// The week whose issue was worked on, when one was due.
    pub week: Option<String>,
    pub deals: usize,
    pub queued: usize,
    pub done: bool,
}

/// The ISO week of `now` (`2026-W49`) and when its issue goes out (Monday 08:00 UTC).
pub fn week_of(now: Timestamp) -> (String, Timestamp) {
    let day = now.to_zoned(TimeZone::UTC).date();
    let iso = day.iso_week_date();
    let label = format!("{}-W{:02}", iso.year(), iso.week());
    let monday = dealpulse_domain::counters::week_start(day);
    let slot = monday
        .at(8, 0, 0, 0)
        .to_zoned(TimeZone::UTC)
        .map(|zoned| zoned.timestamp())
        .unwrap_or(now);
    debug_assert_eq!(monday.weekday(), Weekday::Monday);
    (label, slot)
}

fn discount_per_mille(listing: &Listing) -> i64 {
    match listing.was_price {
        Some(was) if was.currency() == listing.price.currency() && was.minor() > 0 => {
            (was.minor() - listing.price.minor()) * 1000 / was.minor()
        }
        _ => 0,
    }
}

/// The best public deals seen in `since..now`: highest score first, then the deepest discount;
/// one per link; listings hidden by a confirmed report and personal-inbox deals left out.
pub async fn top_deals(
    store: &dyn Store,
    since: Timestamp,
    limit: usize,
) -> Result<Vec<DealLine>, StoreError> {
    let mut listings: Vec<Listing> = store
        .listings_seen_since(since, CANDIDATES)
        .await?
        .into_iter()
        .filter(|listing| listing.audience.is_none())
        .filter(|listing| listing.score.is_some() || discount_per_mille(listing) > 0)
        .collect();
    listings.sort_by(|a, b| {
        b.score
            .unwrap_or(0)
            .cmp(&a.score.unwrap_or(0))
            .then(discount_per_mille(b).cmp(&discount_per_mille(a)))
            .then(b.seen_at.cmp(&a.seen_at))
    });
    let mut links = BTreeSet::new();
    let mut deals = Vec::new();
    for listing in listings {
        if deals.len() == limit {
            break;
        }
        if !links.insert(listing.url.clone())
            || dealpulse_domain::reports::is_hidden(store, listing.id).await?
        {
            continue;
        }
        deals.push(DealLine {
            title: listing.title,
            url: listing.url,
            price: listing.price,
            was_price: listing
                .was_price
                .filter(|was| was.currency() == listing.price.currency()),
            reasons: vec![listing.source.as_str().to_string()],
            score: listing.score,
            history: vec![],
        });
    }
    Ok(deals)
}

pub struct NewsletterRun {
    store: Arc<dyn Store>,
    queue: Arc<dyn Queue>,
    clock: Arc<dyn Clock>,
}

impl NewsletterRun {
    pub fn new(store: Arc<dyn Store>, queue: Arc<dyn Queue>, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            queue,
            clock,
        }
    }

    /// Starts or continues this week's issue when it is due.
    pub async fn send_if_due(&self) -> Result<NewsletterReport, MatchError> {
        let now = self.clock.now();
        let (week, slot) = week_of(now);
        if now < slot {
            return Ok(NewsletterReport::default());
        }
        let issues = records::<NewsletterIssue>(self.store.as_ref());
        let mut issue = match issues.get(UserId::system(), &week).await? {
            Some(issue) => issue,
            None => {
                let since = now
                    .checked_sub(SignedDuration::from_hours(7 * 24))
                    .unwrap_or(now);
                let deals = top_deals(self.store.as_ref(), since, TOP_DEALS).await?;
                let fresh = NewsletterIssue {
                    owner: UserId::system(),
                    key: week.clone(),
                    // A week without deals sends nothing.
                    done: deals.is_empty(),
                    deals,
                    cursor: None,
                    queued: 0,
                    created_at: now,
                    updated_at: now,
                    version: 0,
                };
                match issues.insert(&fresh, None).await {
                    Ok(stored) => stored,
                    // Another run made it a moment ago: work on theirs.
                    Err(StoreError::Conflict(_)) => issues
                        .get(UserId::system(), &week)
                        .await?
                        .ok_or(StoreError::NotFound)?,
                    Err(other) => return Err(other.into()),
                }
            }
        };
        let mut report = NewsletterReport {
            week: Some(week.clone()),
            deals: issue.deals.len(),
            queued: 0,
            done: issue.done,
        };
        while !issue.done && report.queued < MAX_QUEUED_PER_RUN {
            let (page, next) = subscribers::page(
                self.store.as_ref(),
                "",
                Some(SubscriberStatus::Confirmed),
                issue.cursor.as_deref(),
                PAGE,
            )
            .await?;
            let tasks: Vec<DeliveryTask> = page
                .iter()
                .map(|subscriber| {
                    let id = stable_id(&[&week, "newsletter", &subscriber.key]);
                    DeliveryTask {
                        v: TASK_SCHEMA,
                        id: id.clone(),
                        user: UserId::system(),
                        channel: Channel::Email,
                        target: Some(subscriber.key.clone()),
                        not_before: None,
                        rules: vec![],
                        notice: Notice {
                            delivery_id: id,
                            kind: NoticeKind::Newsletter { week: week.clone() },
                            deals: issue.deals.clone(),
                            occurred_at: slot,
                        },
                    }
                })
                .collect();
            enqueue(self.queue.as_ref(), &tasks).await?;
            report.queued += tasks.len();
            issue.queued += tasks.len() as u64;
            issue.done = next.is_none();
            issue.cursor = next
                .or_else(|| page.last().map(|s| s.key.clone()))
                .or(issue.cursor.take());
            issue.updated_at = self.clock.now();
            // Where to go on is stored after each page: a crash re-queues one page at most,
            // and those deliveries' claims stop a second send.
            issue = issues.update(&issue).await?;
        }
        report.done = issue.done;
        Ok(report)
    }
}
