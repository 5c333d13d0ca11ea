//! The `match` step: a catalogue event in, alerts out. Rules are found through the index and
//! re-read fresh (the index may lag an edit), watches decide on the product's history, the
//! policy merges and routes, and the outcome is written in an order that makes a redelivered
//! event harmless: deliveries are queued first (their ids are deterministic, so a second
//! queueing is claimed once), then the log and digest entries (same keys), then the rules' and
//! watches' state.

use crate::model::{
    stable_id, AlertRecord, DeliveryTask, DigestEntry, Plan, PlannedDelivery, RecentDeals,
    TASK_SCHEMA,
};
use crate::targets::destinations;
use crate::AlertSettings;
use dealpulse_domain::clock::Clock;
use dealpulse_domain::events::{CatalogEvent, EventEnvelope, ProductSnapshot};
use dealpulse_domain::ids::UserId;
use dealpulse_domain::listing::{Category, Listing};
use dealpulse_domain::money::Money;
use dealpulse_domain::notify::{DealLine, Notice, NoticeKind};
use dealpulse_domain::policy::{self, Alert, Fired, Item, Route, SentToday, Trigger};
use dealpulse_domain::ports::{Store, StoreError};
use dealpulse_domain::preferences::{Channel, Frequency, NotificationPreferences};
use dealpulse_domain::queue::Queue;
use dealpulse_domain::records::{matching_stamp, records};
use dealpulse_domain::rules::AlertRule;
use dealpulse_domain::sameness::{DealSignature, SeenDeal};
use dealpulse_domain::watch::{PriceObservation, Rearm, WatchDecision, WatchItem, WatchTrigger};
use dealpulse_matching::{listing_words, MatchEngine, MatchedRule};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum MatchError {
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("delivery queue: {0}")]
    Queue(String),
}

/// What one event led to.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MatchReport {
    pub alerts: usize,
    /// Alerts for a deal the user was already alerted to from another source (logged only).
    pub merged: usize,
    pub queued: usize,
    pub digested: usize,
    pub skipped: usize,
}

/// What a firing needs besides the policy's view of it.
enum Source {
    Rule(Box<AlertRule>),
    Watch(Box<WatchItem>),
}

struct Firing {
    fired: Fired,
    source: Source,
}

/// A state change to write once the alerts are out.
enum StateChange {
    RuleFired(Box<AlertRule>),
    WatchFired(WatchItem),
    WatchRearmed(WatchItem),
}

pub struct Matcher {
    store: Arc<dyn Store>,
    queue: Arc<dyn Queue>,
    clock: Arc<dyn Clock>,
    settings: AlertSettings,
    engine: tokio::sync::Mutex<Option<BuiltEngine>>,
}

struct BuiltEngine {
    stamp: u64,
    built_at: Timestamp,
    engine: Arc<MatchEngine>,
}

/// How long, and for how many deals per user, a deal is remembered to merge later sightings.
const SAME_DEAL_WINDOW: SignedDuration = SignedDuration::from_hours(7 * 24);
const SAME_DEAL_MEMORY: usize = 200;

/// Rebuilt at least this often, whatever the stamp says (a missed stamp bump heals itself).
const MAX_INDEX_AGE: SignedDuration = SignedDuration::from_mins(10);

impl Matcher {
    pub fn new(
        store: Arc<dyn Store>,
        queue: Arc<dyn Queue>,
        clock: Arc<dyn Clock>,
        settings: AlertSettings,
    ) -> Self {
        Self {
            store,
            queue,
            clock,
            settings,
            engine: tokio::sync::Mutex::new(None),
        }
    }

    /// The index, rebuilt when the matching stamp moved since it was built (a warm Lambda
    /// container keeps it between invocations).
    pub async fn engine(&self) -> Result<Arc<MatchEngine>, StoreError> {
        // Read the stamp before loading: an edit during the load leaves a newer stamp behind,
        // so the next event rebuilds again rather than keeping a stale index.
        let stamp = matching_stamp(self.store.as_ref()).await?;
        let now = self.clock.now();
        let mut cached = self.engine.lock().await;
        if let Some(built) = cached.as_ref() {
            if built.stamp == stamp && now.duration_since(built.built_at) < MAX_INDEX_AGE {
                return Ok(Arc::clone(&built.engine));
            }
        }
        let engine = Arc::new(MatchEngine::load(self.store.as_ref()).await?);
        tracing::info!(stamp, rules = engine.rules.len(), "matching index built");
        *cached = Some(BuiltEngine {
            stamp,
            built_at: now,
            engine: Arc::clone(&engine),
        });
        Ok(engine)
    }

    /// Records one batch of events (`failed` of them not matched) for the system health view:
    /// once per batch, not per event, to keep the hot path's writes to its own.
    pub async fn note_batch(&self, failed: usize) {
        let errors = u32::try_from(failed).unwrap_or(u32::MAX);
        let now = self.clock.now();
        if let Err(error) =
            dealpulse_domain::jobs::note_run(self.store.as_ref(), "match", errors, now).await
        {
            tracing::warn!(%error, "match run not recorded");
        }
    }

    pub async fn handle(&self, envelope: &EventEnvelope) -> Result<MatchReport, MatchError> {
        let at = envelope.time;
        let mut category = None;
        // Where the deal was seen: a listing's source, or the watched product page itself.
        let mut source = "product page".to_string();
        let (firings, changes, deal) = match &envelope.detail {
            CatalogEvent::ListingObserved {
                listing,
                previous_price,
            } => {
                let (firings, changes) = self.listing_firings(listing, at).await?;
                category = listing.category;
                source = listing.source.as_str().to_string();
                let deal = DealLine {
                    title: listing.title.clone(),
                    url: listing.url.clone(),
                    price: listing.price,
                    was_price: previous_price.or(listing.was_price),
                    reasons: vec![],
                    score: listing.score,
                    history: vec![],
                };
                (firings, changes, deal)
            }
            CatalogEvent::PriceChanged {
                product,
                from,
                to,
                at,
                score,
            } => {
                let in_stock = product.in_stock.unwrap_or(true);
                let all_time_low = score.as_ref().is_some_and(|s| s.all_time_low);
                self.product_firings(
                    product,
                    *to,
                    *from,
                    (in_stock, Some(in_stock)),
                    *at,
                    score.as_ref().map(|s| s.score),
                    all_time_low,
                )
                .await?
            }
            CatalogEvent::StockChanged {
                product,
                from,
                to,
                at,
            } => {
                let Some(price) = product.price else {
                    return Ok(MatchReport::default());
                };
                self.product_firings(product, price, Some(price), (*to, *from), *at, None, false)
                    .await?
            }
        };
        let report = self.alert(firings, deal, category, &source, at).await?;
        self.apply(changes).await?;
        Ok(report)
    }

    async fn listing_firings(
        &self,
        listing: &Listing,
        at: Timestamp,
    ) -> Result<(Vec<Firing>, Vec<StateChange>), MatchError> {
        let engine = self.engine().await?;
        let haystack = listing_words(listing);
        let matched: Vec<MatchedRule> = engine
            .rules
            .matching_rules(listing)
            // A listing from a personal inbox is for its owner's rules only.
            .filter(|rule| listing.audience.is_none_or(|owner| owner == rule.owner))
            .collect();
        // A listing an administrator confirmed a report on alerts nobody (read only when it
        // would alert someone).
        if !matched.is_empty()
            && dealpulse_domain::reports::is_hidden(self.store.as_ref(), listing.id).await?
        {
            return Ok((Vec::new(), Vec::new()));
        }
        let urgent = listing
            .score
            .is_some_and(|score| score >= self.settings.urgent_score);
        let mut firings = Vec::new();
        let mut changes = Vec::new();
        for indexed in matched {
            let Some(rule) = records::<AlertRule>(self.store.as_ref())
                .get(indexed.owner, &indexed.id.to_string())
                .await?
            else {
                continue;
            };
            if !rule.enabled || !rule.matches(listing, &haystack) || !cooled_down(&rule, at) {
                continue;
            }
            firings.push(Firing {
                fired: Fired {
                    user: rule.owner,
                    trigger: Trigger::Rule(rule.id),
                    item: Item::Listing(listing.id),
                    price: listing.price,
                    urgent,
                },
                source: Source::Rule(Box::new(rule.clone())),
            });
            changes.push(StateChange::RuleFired(Box::new(rule)));
        }
        Ok((firings, changes))
    }

    #[allow(clippy::too_many_arguments)]
    async fn product_firings(
        &self,
        product: &ProductSnapshot,
        price: Money,
        previous: Option<Money>,
        (in_stock, was_in_stock): (bool, Option<bool>),
        at: Timestamp,
        score: Option<u8>,
        all_time_low: bool,
    ) -> Result<(Vec<Firing>, Vec<StateChange>, DealLine), MatchError> {
        let engine = self.engine().await?;
        let history = self
            .store
            .price_points(
                product.product_id,
                at.checked_sub(SignedDuration::from_hours(24 * 366))
                    .unwrap_or(Timestamp::UNIX_EPOCH),
                at,
                5000,
            )
            .await?;
        let recent: Vec<Money> = history
            .iter()
            .filter(|p| p.at < at && p.price.currency() == price.currency())
            .map(|p| p.price)
            .rev()
            .take(self.settings.history_points.saturating_sub(1))
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .chain(std::iter::once(price))
            .collect();
        let seen = PriceObservation {
            price,
            previous,
            in_stock,
            was_in_stock,
            history: &history,
            at,
        };
        let mut firings = Vec::new();
        let mut changes = Vec::new();
        for indexed in engine.watches_of(product.product_id) {
            let Some(watch) = records::<WatchItem>(self.store.as_ref())
                .get(indexed.owner, &indexed.id.to_string())
                .await?
            else {
                continue;
            };
            if watch.product_id != product.product_id {
                continue;
            }
            // The same event again (a redelivery): fire again; the delivery ids dedupe.
            let redo = watch.last_fired_at == Some(at) && watch.enabled;
            let decision = if redo {
                WatchDecision::Fire
            } else {
                watch.decide(&seen)
            };
            match decision {
                WatchDecision::Fire => {
                    let urgent = all_time_low
                        || matches!(
                            watch.trigger,
                            WatchTrigger::TargetPrice { .. }
                                | WatchTrigger::AllTimeLow {}
                                | WatchTrigger::LowestInDays { .. }
                                | WatchTrigger::BackInStock {}
                        );
                    firings.push(Firing {
                        fired: Fired {
                            user: watch.owner,
                            trigger: Trigger::Watch(watch.id),
                            item: Item::Product(product.product_id),
                            price,
                            urgent,
                        },
                        source: Source::Watch(Box::new(watch.clone())),
                    });
                    if !redo {
                        changes.push(StateChange::WatchFired(watch));
                    }
                }
                WatchDecision::Rearm => changes.push(StateChange::WatchRearmed(watch)),
                WatchDecision::Hold => {}
            }
        }
        let deal = DealLine {
            title: product.title.clone().unwrap_or_else(|| product.url.clone()),
            url: product.url.clone(),
            price,
            was_price: previous
                .filter(|p| p.currency() == price.currency() && p.minor() > price.minor()),
            reasons: vec![],
            score,
            history: recent,
        };
        Ok((firings, changes, deal))
    }

    /// Merges the firings into alerts, routes each on each channel and queues or files them.
    async fn alert(
        &self,
        firings: Vec<Firing>,
        deal: DealLine,
        category: Option<Category>,
        source: &str,
        at: Timestamp,
    ) -> Result<MatchReport, MatchError> {
        let mut report = MatchReport::default();
        if firings.is_empty() {
            return Ok(report);
        }
        let fired: Vec<Fired> = firings.iter().map(|f| f.fired.clone()).collect();
        let sources: BTreeMap<Trigger, &Source> = firings
            .iter()
            .map(|f| (f.fired.trigger, &f.source))
            .collect();
        let now = self.clock.now();
        let mut tasks: Vec<DeliveryTask> = Vec::new();
        let mut entries: Vec<DigestEntry> = Vec::new();
        let mut logs: Vec<AlertRecord> = Vec::new();
        for alert in policy::merge(&fired) {
            let Some(user) = self.store.user_by_id(alert.user).await? else {
                continue;
            };
            if user.is_suspended() {
                continue;
            }
            let prefs = records::<NotificationPreferences>(self.store.as_ref())
                .get(user.id, "current")
                .await?
                .unwrap_or_else(|| NotificationPreferences::defaults(user.id, now));
            let triggered: Vec<&Source> = alert
                .triggers
                .iter()
                .filter_map(|t| sources.get(t).copied())
                .collect();
            // The user's category filter narrows rules; a watch is an explicit choice.
            let only_rules = triggered.iter().all(|s| matches!(s, Source::Rule(_)));
            let outside = category.is_none_or(|c| !prefs.categories.contains(&c));
            if only_rules && !prefs.categories.is_empty() && outside {
                continue;
            }
            let effective = effective_preferences(&prefs, &triggered);
            let zone = TimeZone::get(user.timezone.as_str()).unwrap_or(TimeZone::UTC);
            let alert_id = stable_id(&[
                &alert.user.to_string(),
                &serde_json::to_string(&alert.item).unwrap_or_default(),
                &alert.price.to_string(),
            ]);
            let mut line = deal.clone();
            line.reasons = triggered.iter().map(|s| reason(s)).collect();
            let log_key = format!(
                "{:013}-{}",
                at.as_millisecond().max(0),
                alert_id.get(..16).unwrap_or(&alert_id)
            );
            // The log entry of this alert, with what became of it on each channel.
            let log = |deal: DealLine, deliveries: Vec<PlannedDelivery>| AlertRecord {
                owner: user.id,
                key: log_key.clone(),
                item: alert.item,
                deal,
                triggers: alert.triggers.iter().copied().collect(),
                urgent: alert.urgent,
                created_at: now,
                deliveries,
                version: 0,
            };
            let signature = DealSignature::new(&line.title, &line.url, source, alert.price);
            if let Some(earlier) = self
                .first_sighting(user.id, &signature, &alert_id, &line.title, now)
                .await?
            {
                // Logged, so the user sees the deal was seen again, but not sent or counted.
                let reason = format!(
                    "the same deal as the alert of {} ({})",
                    earlier.at.strftime("%Y-%m-%d %H:%M UTC"),
                    earlier.title
                );
                let deliveries: Vec<PlannedDelivery> = effective
                    .channels
                    .iter()
                    .map(|channel| PlannedDelivery {
                        channel: *channel,
                        target: None,
                        delivery_id: None,
                        plan: Plan::Skipped {
                            reason: reason.clone(),
                        },
                    })
                    .collect();
                report.merged += 1;
                report.skipped += deliveries.len();
                logs.push(log(line, deliveries));
                continue;
            }
            let sent = self.sent_today(&alert, &effective, &zone, now).await?;
            let dedup_trigger = alert.triggers.iter().next().copied();
            let rules: Vec<_> = triggered
                .iter()
                .filter_map(|s| match s {
                    Source::Rule(rule) => Some(rule.id),
                    Source::Watch(_) => None,
                })
                .collect();
            let mut planned = Vec::new();
            let mut digest_channels = BTreeSet::new();
            let mut digest_due = None;
            let mut overflow = false;
            for channel in effective.channels.iter().copied() {
                let route = policy::route(
                    &alert,
                    channel,
                    &effective,
                    &zone,
                    sent,
                    self.settings.sms_per_day,
                    now,
                );
                match route {
                    Route::Now | Route::At(_) => {
                        let not_before = match route {
                            Route::At(until) => Some(until),
                            _ => None,
                        };
                        match destinations(self.store.as_ref(), &user, channel).await? {
                            Err(reason) => planned.push(PlannedDelivery {
                                channel,
                                target: None,
                                delivery_id: None,
                                plan: Plan::Skipped {
                                    reason: reason.to_string(),
                                },
                            }),
                            Ok(targets) => {
                                for target in targets {
                                    let key = match dedup_trigger {
                                        Some(trigger) => policy::dedup_key(
                                            alert.user,
                                            trigger,
                                            alert.item,
                                            channel,
                                            alert.price,
                                        ),
                                        None => alert_id.clone(),
                                    };
                                    let id = match &target {
                                        Some(target) => stable_id(&[&key, target]),
                                        None => key,
                                    };
                                    tasks.push(DeliveryTask {
                                        v: TASK_SCHEMA,
                                        id: id.clone(),
                                        user: user.id,
                                        channel,
                                        target: target.clone(),
                                        not_before,
                                        rules: rules.clone(),
                                        notice: Notice {
                                            delivery_id: id.clone(),
                                            kind: NoticeKind::Alert {
                                                urgent: alert.urgent,
                                            },
                                            deals: vec![line.clone()],
                                            occurred_at: at,
                                        },
                                    });
                                    planned.push(PlannedDelivery {
                                        channel,
                                        target,
                                        delivery_id: Some(id),
                                        plan: match not_before {
                                            Some(until) => Plan::Held { until },
                                            None => Plan::Now,
                                        },
                                    });
                                }
                            }
                        }
                    }
                    Route::Digest(due) => {
                        digest_channels.insert(channel);
                        digest_due = Some(due);
                        overflow |= effective.frequency == Frequency::Immediate;
                        planned.push(PlannedDelivery {
                            channel,
                            target: None,
                            delivery_id: None,
                            plan: Plan::Digest { at: due },
                        });
                    }
                    Route::Skip(reason) => planned.push(PlannedDelivery {
                        channel,
                        target: None,
                        delivery_id: None,
                        plan: Plan::Skipped {
                            reason: reason.to_string(),
                        },
                    }),
                }
            }
            if let Some(due) = digest_due {
                entries.push(DigestEntry {
                    owner: user.id,
                    key: format!("{:012}#{alert_id}", due.as_second()),
                    due,
                    channels: digest_channels.into_iter().collect(),
                    deal: line.clone(),
                    overflow,
                    created_at: now,
                    version: 0,
                });
            }
            report.alerts += 1;
            report.skipped += planned
                .iter()
                .filter(|p| matches!(p.plan, Plan::Skipped { .. }))
                .count();
            logs.push(log(line, planned));
        }
        report.queued = tasks.len();
        report.digested = entries.len();
        self.enqueue(&tasks).await?;
        for entry in &entries {
            insert_once(
                records::<DigestEntry>(self.store.as_ref())
                    .insert(entry, None)
                    .await,
            )?;
        }
        for log in &logs {
            insert_once(
                records::<AlertRecord>(self.store.as_ref())
                    .insert(log, None)
                    .await,
            )?;
        }
        Ok(report)
    }

    /// Remembers the deal for the user, unless they were alerted to the same deal (another
    /// source, a reworded title: [`DealSignature::same_deal`]) in the last week: then returns
    /// that sighting. The user's recent deals are one versioned document, so two sources matched
    /// at once cannot both pass; the same alert again (a redelivered event) passes again.
    async fn first_sighting(
        &self,
        user: UserId,
        signature: &DealSignature,
        alert_id: &str,
        title: &str,
        now: Timestamp,
    ) -> Result<Option<SeenDeal>, StoreError> {
        let recent = records::<RecentDeals>(self.store.as_ref());
        for _ in 0..8 {
            let stored = recent.get(user, RecentDeals::KEY).await?;
            let mut deals = stored.clone().unwrap_or_else(|| RecentDeals {
                owner: user,
                key: RecentDeals::KEY.into(),
                deals: Vec::new(),
                version: 0,
            });
            deals
                .deals
                .retain(|seen| now.duration_since(seen.at) < SAME_DEAL_WINDOW);
            if deals.deals.iter().any(|seen| seen.alert_id == alert_id) {
                return Ok(None);
            }
            if let Some(earlier) = deals
                .deals
                .iter()
                .find(|seen| seen.signature.same_deal(signature))
            {
                return Ok(Some(earlier.clone()));
            }
            deals.deals.push(SeenDeal {
                alert_id: alert_id.to_string(),
                signature: signature.clone(),
                title: title.chars().take(120).collect(),
                at: now,
            });
            let excess = deals.deals.len().saturating_sub(SAME_DEAL_MEMORY);
            deals.deals.drain(..excess);
            let written = match stored {
                None => recent.insert(&deals, None).await.map(drop),
                Some(_) => recent.update(&deals).await.map(drop),
            };
            match written {
                Ok(()) => return Ok(None),
                Err(StoreError::Conflict(_) | StoreError::Stale) => continue,
                Err(other) => return Err(other),
            }
        }
        Err(StoreError::Unavailable(
            "the user's recent deals kept changing".into(),
        ))
    }

    /// What the user was already sent today (their local day), counting this alert.
    async fn sent_today(
        &self,
        alert: &Alert,
        prefs: &NotificationPreferences,
        zone: &TimeZone,
        now: Timestamp,
    ) -> Result<SentToday, StoreError> {
        let mut sent = SentToday::default();
        if prefs.frequency != Frequency::Immediate {
            return Ok(sent);
        }
        let local = now.to_zoned(zone.clone());
        let day_start = local
            .date()
            .to_zoned(zone.clone())
            .map(|z| z.timestamp())
            .unwrap_or(now);
        let expires = day_start
            .checked_add(SignedDuration::from_hours(48))
            .unwrap_or(now);
        let day = local.date();
        if prefs.max_alerts_per_day.is_some() {
            let count = self
                .store
                .count_hit(&format!("alerts:{}:{day}", alert.user), day_start, expires)
                .await?;
            sent.alerts = u16::try_from(count.saturating_sub(1)).unwrap_or(u16::MAX);
        }
        if alert.urgent && prefs.channels.contains(&Channel::Sms) {
            let count = self
                .store
                .count_hit(&format!("sms:{}:{day}", alert.user), day_start, expires)
                .await?;
            sent.sms = u16::try_from(count.saturating_sub(1)).unwrap_or(u16::MAX);
        }
        Ok(sent)
    }

    async fn enqueue(&self, tasks: &[DeliveryTask]) -> Result<(), MatchError> {
        enqueue(self.queue.as_ref(), tasks).await
    }

    /// Records that rules and watches fired or re-armed, re-reading on a concurrent edit.
    async fn apply(&self, changes: Vec<StateChange>) -> Result<(), MatchError> {
        let rules = records::<AlertRule>(self.store.as_ref());
        let watches = records::<WatchItem>(self.store.as_ref());
        for change in changes {
            for _ in 0..4 {
                let outcome = match &change {
                    StateChange::RuleFired(rule) => {
                        let Some(mut fresh) = rules.get(rule.owner, &rule.id.to_string()).await?
                        else {
                            break;
                        };
                        fresh.last_triggered_at = Some(self.clock.now());
                        rules.update(&fresh).await.map(|_| ())
                    }
                    StateChange::WatchFired(watch) | StateChange::WatchRearmed(watch) => {
                        let Some(mut fresh) =
                            watches.get(watch.owner, &watch.id.to_string()).await?
                        else {
                            break;
                        };
                        if let StateChange::WatchFired(fired) = &change {
                            fresh.armed = !matches!(fresh.rearm, Rearm::WhenConditionClears {});
                            fresh.last_fired_at = fired.last_fired_at.max(Some(self.clock.now()));
                        } else {
                            fresh.armed = true;
                        }
                        watches.update(&fresh).await.map(|_| ())
                    }
                };
                match outcome {
                    Ok(()) | Err(StoreError::NotFound) => break,
                    Err(StoreError::Stale) => continue,
                    Err(other) => return Err(other.into()),
                }
            }
        }
        Ok(())
    }
}

/// Sends every task, retrying the ones the queue refused; an error when some still fail (the
/// event is then redelivered, and the ids make the second queueing harmless).
pub async fn enqueue(queue: &dyn Queue, tasks: &[DeliveryTask]) -> Result<(), MatchError> {
    let mut pending: Vec<String> = tasks.iter().map(DeliveryTask::to_body).collect();
    for attempt in 0..3 {
        if pending.is_empty() {
            return Ok(());
        }
        let report = queue
            .send_batch(&pending)
            .await
            .map_err(|e| MatchError::Queue(e.to_string()))?;
        if report.failed.is_empty() {
            return Ok(());
        }
        tracing::warn!(
            attempt,
            failed = report.failed.len(),
            "delivery messages refused; retrying them"
        );
        pending = report
            .failed
            .iter()
            .filter_map(|(index, _)| pending.get(*index).cloned())
            .collect();
    }
    Err(MatchError::Queue(format!(
        "{} delivery messages were refused three times",
        pending.len()
    )))
}

fn insert_once<T>(result: Result<T, StoreError>) -> Result<(), StoreError> {
    match result {
        Ok(_) | Err(StoreError::Conflict(_)) => Ok(()),
        Err(other) => Err(other),
    }
}

/// Whether the rule may alert for an event at `at`: never fired, past its cooldown, or fired by
/// this very event (a redelivery).
fn cooled_down(rule: &AlertRule, at: Timestamp) -> bool {
    match rule.last_triggered_at {
        None => true,
        Some(last) => {
            last >= at
                || at.duration_since(last)
                    >= SignedDuration::from_mins(i64::from(rule.cooldown_minutes))
        }
    }
}

fn reason(source: &Source) -> String {
    match source {
        Source::Rule(rule) => rule.name.as_str().to_string(),
        Source::Watch(watch) => match &watch.label {
            Some(label) => format!(
                "{label}: {}",
                watch.trigger.describe(watch.price_when_watched.as_ref())
            ),
            None => format!(
                "Watch {}",
                watch.trigger.describe(watch.price_when_watched.as_ref())
            ),
        },
    }
}

/// The user's preferences as the alert's triggers override them: the union of their channels,
/// and the most immediate of their frequencies.
fn effective_preferences(
    prefs: &NotificationPreferences,
    triggered: &[&Source],
) -> NotificationPreferences {
    let mut effective = prefs.clone();
    let mut channels = BTreeSet::new();
    let mut frequency: Option<Frequency> = None;
    for source in triggered {
        let (rule_channels, rule_frequency) = match source {
            Source::Rule(rule) => (rule.channels.clone(), rule.frequency),
            Source::Watch(_) => (None, None),
        };
        channels.extend(rule_channels.unwrap_or_else(|| prefs.channels.clone()));
        let wanted = rule_frequency.unwrap_or(prefs.frequency);
        frequency = Some(match frequency {
            None => wanted,
            Some(current) => most_immediate(current, wanted),
        });
    }
    effective.channels = channels;
    effective.frequency = frequency.unwrap_or(prefs.frequency);
    effective
}

fn most_immediate(a: Frequency, b: Frequency) -> Frequency {
    let rank = |f: Frequency| match f {
        Frequency::Immediate => 0,
        Frequency::Daily => 1,
        Frequency::Weekly => 2,
    };
    if rank(a) <= rank(b) {
        a
    } else {
        b
    }
}
