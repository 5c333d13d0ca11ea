//! The `digest` step (hourly): every user whose digest is due gets one message per channel with
//! the deals gathered since the last one, best first, including those that came over the daily
//! cap. The digest's id comes from the user and the latest due time among its entries, so a
//! retry after a crash queues the same deliveries and their claims stop a second send.

use crate::matcher::{enqueue, MatchError};
use crate::model::{stable_id, DeliveryTask, DigestEntry, TASK_SCHEMA};
use crate::newsletter::{NewsletterReport, NewsletterRun};
use crate::targets::destinations;
use dealpulse_domain::clock::Clock;
use dealpulse_domain::ids::UserId;
use dealpulse_domain::notify::{DealLine, Notice, NoticeKind};
use dealpulse_domain::ports::{Store, StoreError};
use dealpulse_domain::preferences::{Channel, Frequency, NotificationPreferences};
use dealpulse_domain::queue::Queue;
use dealpulse_domain::records::records;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// A digest lists at most this many deals (the best ones); the rest are counted.
pub const MAX_DIGEST_DEALS: usize = 50;

#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DigestReport {
    pub users: usize,
    pub deals: usize,
    pub queued: usize,
    /// The weekly newsletter, sent by the same run (see [`crate::newsletter`]).
    pub newsletter: NewsletterReport,
}

pub struct DigestRun {
    store: Arc<dyn Store>,
    queue: Arc<dyn Queue>,
    clock: Arc<dyn Clock>,
    newsletter: NewsletterRun,
}

impl DigestRun {
    pub fn new(store: Arc<dyn Store>, queue: Arc<dyn Queue>, clock: Arc<dyn Clock>) -> Self {
        Self {
            newsletter: NewsletterRun::new(store.clone(), queue.clone(), clock.clone()),
            store,
            queue,
            clock,
        }
    }

    /// Sends every digest that is due and the weekly newsletter when it is, and records the
    /// run for the system health view.
    pub async fn run(&self) -> Result<DigestReport, MatchError> {
        let result = match self.send_due().await {
            Ok(mut report) => match self.newsletter.send_if_due().await {
                Ok(newsletter) => {
                    report.newsletter = newsletter;
                    Ok(report)
                }
                Err(error) => Err(error),
            },
            Err(error) => Err(error),
        };
        let errors = u32::from(result.is_err());
        let now = self.clock.now();
        if let Err(error) =
            dealpulse_domain::jobs::note_run(self.store.as_ref(), "digest", errors, now).await
        {
            tracing::warn!(%error, "digest run not recorded");
        }
        result
    }

    async fn send_due(&self) -> Result<DigestReport, MatchError> {
        let now = self.clock.now();
        let mut due: BTreeMap<UserId, Vec<DigestEntry>> = BTreeMap::new();
        for entry in records::<DigestEntry>(self.store.as_ref()).all().await? {
            if entry.due <= now {
                due.entry(entry.owner).or_default().push(entry);
            }
        }
        let mut report = DigestReport::default();
        for (owner, entries) in due {
            let queued = self.digest_for(owner, &entries, now).await?;
            report.users += 1;
            report.deals += entries.len();
            report.queued += queued;
            let digest = records::<DigestEntry>(self.store.as_ref());
            for entry in &entries {
                match digest.delete(owner, &entry.key, None).await {
                    Ok(()) | Err(StoreError::NotFound) => {}
                    Err(error) => return Err(error.into()),
                }
            }
        }
        Ok(report)
    }

    async fn digest_for(
        &self,
        owner: UserId,
        entries: &[DigestEntry],
        now: jiff::Timestamp,
    ) -> Result<usize, MatchError> {
        let Some(user) = self.store.user_by_id(owner).await? else {
            return Ok(0);
        };
        if user.is_suspended() {
            return Ok(0);
        }
        let prefs = records::<NotificationPreferences>(self.store.as_ref())
            .get(owner, "current")
            .await?
            .unwrap_or_else(|| NotificationPreferences::defaults(owner, now));
        let period = match prefs.frequency {
            Frequency::Weekly => "weekly",
            _ => "daily",
        };
        let latest = entries.iter().map(|e| e.due).max().unwrap_or(now);
        let digest_id = stable_id(&[
            &owner.to_string(),
            "digest",
            &latest.as_second().to_string(),
        ]);
        let mut deals: Vec<&DigestEntry> = entries.iter().collect();
        // Best first: highest score, then cheapest.
        deals.sort_by(|a, b| {
            b.deal
                .score
                .cmp(&a.deal.score)
                .then(a.deal.price.minor().cmp(&b.deal.price.minor()))
        });
        let mut seen = BTreeSet::new();
        let lines: Vec<DealLine> = deals
            .iter()
            .filter(|e| seen.insert((e.deal.url.clone(), e.deal.price.to_string())))
            .map(|e| e.deal.clone())
            .take(MAX_DIGEST_DEALS)
            .collect();
        let overflow = entries.iter().filter(|e| e.overflow).count();
        let channels: BTreeSet<Channel> = entries.iter().flat_map(|e| e.channels.clone()).collect();
        let mut tasks = Vec::new();
        for channel in channels {
            let targets = match destinations(self.store.as_ref(), &user, channel).await? {
                Ok(targets) => targets,
                Err(reason) => {
                    tracing::info!(user = %owner, %channel, reason, "digest channel skipped");
                    continue;
                }
            };
            for target in targets {
                let id = stable_id(&[
                    &digest_id,
                    channel.as_str(),
                    target.as_deref().unwrap_or(""),
                ]);
                tasks.push(DeliveryTask {
                    v: TASK_SCHEMA,
                    id: id.clone(),
                    user: owner,
                    channel,
                    target,
                    not_before: None,
                    rules: vec![],
                    notice: Notice {
                        delivery_id: id,
                        kind: NoticeKind::Digest {
                            period: period.to_string(),
                            overflow: u32::try_from(overflow).unwrap_or(u32::MAX),
                        },
                        deals: lines.clone(),
                        occurred_at: latest,
                    },
                });
            }
        }
        enqueue(self.queue.as_ref(), &tasks).await?;
        Ok(tasks.len())
    }
}
