//! The `deliver` step: one queued task, sent at most once. The delivery is claimed under its id
//! before anything is sent (a redelivered message finds the claim or the result and stops);
//! the answer is recorded, fenced by the claim's attempt; transient failures come back after an
//! exponential backoff with full jitter, permanent ones stop at once, and the queue's redrive
//! policy moves a message that keeps failing to the dead-letter queue.

use crate::failures::keep_failed;
use crate::model::DeliveryTask;
use crate::render::{self, EmailLinks};
use dealpulse_domain::account::Email;
use dealpulse_domain::channels::{ChannelEndpoint, PhoneSetup, PushSubscription};
use dealpulse_domain::clicks::ClickLink;
use dealpulse_domain::clock::Clock;
use dealpulse_domain::delivery::{Claim, Outcome};
use dealpulse_domain::ids::UserId;
use dealpulse_domain::mail::{redact_addresses, AddressHealth, EmailMessage, MailError, Mailer};
use dealpulse_domain::notify::{EndpointNotifier, NoticeKind, PushNotifier, SendFailure, Sent};
use dealpulse_domain::ports::{Store, StoreError};
use dealpulse_domain::preferences::{Channel, NotificationPreferences};
use dealpulse_domain::queue::{Queue, ReceivedMessage};
use dealpulse_domain::records::records;
use dealpulse_domain::rules::AlertRule;
use dealpulse_domain::sms::{SmsError, SmsSender};
use dealpulse_domain::subscribers::{
    newsletter_key, NewsletterToken, Subscriber, SubscriberStatus,
};
use dealpulse_domain::unsubscribe::{self, UnsubscribeScope};
use jiff::{SignedDuration, Timestamp};
use std::sync::Arc;
use std::time::Duration;

/// The transports, one per kind of channel.
#[derive(Clone)]
pub struct Senders {
    pub mailer: Arc<dyn Mailer>,
    pub sms: Arc<dyn SmsSender>,
    pub endpoints: Arc<dyn EndpointNotifier>,
    pub push: Arc<dyn PushNotifier>,
}

#[derive(Debug, Clone)]
pub struct DeliverySettings {
    /// How long a claim holds: longer than the slowest send (15 s timeouts).
    pub lease: Duration,
    /// Backoff before attempt n+1 is drawn from 0..min(cap, base·2ⁿ⁻¹).
    pub backoff_base: Duration,
    pub backoff_cap: Duration,
    /// Public base URL for links in messages (unsubscribe, preferences).
    pub public_url: String,
    pub unsubscribe_key: Vec<u8>,
    /// Signs tracked deal links (see `dealpulse_domain::clicks`).
    pub click_key: Vec<u8>,
}

impl DeliverySettings {
    pub fn new(public_url: &str, unsubscribe_key: Vec<u8>, click_key: Vec<u8>) -> Self {
        Self {
            lease: Duration::from_secs(120),
            backoff_base: Duration::from_secs(10),
            backoff_cap: Duration::from_secs(15 * 60),
            public_url: public_url.trim_end_matches('/').to_string(),
            unsubscribe_key,
            click_key,
        }
    }
}

/// What became of one message.
#[derive(Debug, Clone, PartialEq)]
pub enum Disposition {
    /// Finished: sent, refused for good, or already handled by an earlier receipt.
    Done(&'static str),
    /// Try again after this long.
    Retry(Duration),
    /// Not a task at all: left for the dead-letter queue.
    Poison(String),
}

/// SQS caps a message's visibility timeout at 12 hours.
const MAX_VISIBILITY: Duration = Duration::from_secs(12 * 3600);

pub struct Deliverer {
    store: Arc<dyn Store>,
    senders: Senders,
    clock: Arc<dyn Clock>,
    settings: DeliverySettings,
    /// Sends that went out but whose outcome the store would not take (an outage between the
    /// send and the write), by delivery id, with the provider's id. When the message comes back
    /// to this process the outcome is recorded instead of sending a second time.
    unrecorded: std::sync::Mutex<std::collections::HashMap<String, Option<String>>>,
}

/// At most this many unrecorded sends are remembered; beyond it, a retry sends again (as it
/// would in another process), which is the at-least-once fallback.
const MAX_UNRECORDED: usize = 10_000;

enum Attempt {
    Sent(Sent),
    Failed(SendFailure),
}

impl Deliverer {
    pub fn new(
        store: Arc<dyn Store>,
        senders: Senders,
        clock: Arc<dyn Clock>,
        settings: DeliverySettings,
    ) -> Self {
        Self {
            store,
            senders,
            clock,
            settings,
            unrecorded: Default::default(),
        }
    }

    /// Processes a batch concurrently; returns the ids of the messages that must come back
    /// (SQS `batchItemFailures`). Those to retry get their visibility set to the backoff; with
    /// `delete_done` (local worker) finished ones are deleted, as Lambda's event source mapping
    /// does for the messages not reported.
    pub async fn run_batch(
        &self,
        queue: &dyn Queue,
        messages: &[ReceivedMessage],
        delete_done: bool,
    ) -> Vec<String> {
        let outcomes =
            futures::future::join_all(messages.iter().map(|message| self.deliver(&message.body)))
                .await;
        let mut failed = Vec::new();
        for (message, outcome) in messages.iter().zip(outcomes) {
            match outcome {
                Disposition::Done(_) => {
                    if delete_done {
                        if let Err(error) = queue.delete(&message.receipt).await {
                            // It comes back and finds the delivery finished: nothing is lost.
                            tracing::warn!(id = %message.message_id, %error, "could not delete a finished message");
                        }
                    }
                }
                Disposition::Retry(after) => {
                    if let Err(error) = queue
                        .change_visibility(&message.receipt, after.min(MAX_VISIBILITY))
                        .await
                    {
                        tracing::warn!(id = %message.message_id, %error, "could not set the backoff; the queue's timeout applies");
                    }
                    failed.push(message.message_id.clone());
                }
                Disposition::Poison(reason) => {
                    tracing::error!(id = %message.message_id, %reason, "undeliverable message");
                    failed.push(message.message_id.clone());
                }
            }
        }
        failed
    }

    pub async fn deliver(&self, body: &str) -> Disposition {
        let task = match DeliveryTask::parse(body) {
            Ok(task) => task,
            Err(error) => return Disposition::Poison(error.to_string()),
        };
        let now = self.clock.now();
        if let Some(not_before) = task.not_before {
            if not_before > now {
                return Disposition::Retry(duration_between(now, not_before));
            }
        }
        let lease_until = now
            .checked_add(SignedDuration::try_from(self.settings.lease).unwrap_or_default())
            .unwrap_or(now);
        let claim = self
            .store
            .claim_delivery(&task.id, task.user, task.channel, now, lease_until)
            .await;
        let attempt = match claim {
            Ok(Claim::Claimed { attempt }) => attempt,
            Ok(Claim::AlreadySent) => {
                self.forget_unrecorded(&task.id);
                return Disposition::Done("already sent");
            }
            Ok(Claim::AlreadyFailed) => {
                self.forget_unrecorded(&task.id);
                return Disposition::Done("already failed");
            }
            Ok(Claim::Busy { until }) => {
                return Disposition::Retry(duration_between(now, until) + Duration::from_secs(1))
            }
            Err(error) => {
                tracing::warn!(id = %task.id, %error, "claim failed");
                return Disposition::Retry(self.backoff(1, None));
            }
        };
        let already_sent = self
            .unrecorded
            .lock()
            .ok()
            .and_then(|mut unrecorded| unrecorded.remove(&task.id));
        let attempted = match already_sent {
            Some(provider_id) => {
                tracing::info!(id = %task.id, "recording an earlier send instead of sending again");
                Attempt::Sent(Sent {
                    status: 200,
                    provider_id,
                })
            }
            None => match self.send(&task, now).await {
                Ok(attempted) => attempted,
                Err(error) => {
                    tracing::warn!(id = %task.id, %error, "store failed while sending");
                    Attempt::Failed(SendFailure::Transient {
                        reason: format!("store: {error}"),
                        retry_after: None,
                    })
                }
            },
        };
        // Provider answers can quote the recipient; the delivery's record keeps no address.
        let attempted = match attempted {
            Attempt::Failed(SendFailure::Permanent { reason }) => {
                Attempt::Failed(SendFailure::Permanent {
                    reason: redact_addresses(&reason),
                })
            }
            Attempt::Failed(SendFailure::Gone { reason }) => Attempt::Failed(SendFailure::Gone {
                reason: redact_addresses(&reason),
            }),
            Attempt::Failed(SendFailure::Transient {
                reason,
                retry_after,
            }) => Attempt::Failed(SendFailure::Transient {
                reason: redact_addresses(&reason),
                retry_after,
            }),
            sent => sent,
        };
        let (outcome, disposition) = match attempted {
            Attempt::Sent(sent) => (
                Outcome::Sent {
                    provider_id: sent.provider_id,
                },
                Disposition::Done("sent"),
            ),
            Attempt::Failed(SendFailure::Permanent { reason })
            | Attempt::Failed(SendFailure::Gone { reason }) => {
                (Outcome::Failed { reason }, Disposition::Done("failed"))
            }
            Attempt::Failed(SendFailure::Transient {
                reason,
                retry_after,
            }) => (
                Outcome::Retry { reason },
                Disposition::Retry(self.backoff(attempt, retry_after)),
            ),
        };
        if let Outcome::Failed { reason } = &outcome {
            // Kept for an administrator's retry before the failure is final; if that write
            // fails, the message comes back and the attempt is made again.
            if let Err(error) =
                keep_failed(self.store.as_ref(), &task, body, reason, self.clock.now()).await
            {
                tracing::warn!(id = %task.id, %error, "could not keep the failed delivery");
                return Disposition::Retry(self.backoff(attempt, None));
            }
        }
        let sent_provider_id = match &outcome {
            Outcome::Sent { provider_id } => Some(provider_id.clone()),
            _ => None,
        };
        let counted = match &outcome {
            Outcome::Sent { .. } => Some(true),
            Outcome::Failed { .. } => Some(false),
            Outcome::Retry { .. } => None,
        };
        match self
            .store
            .finish_delivery(&task.id, attempt, outcome, self.clock.now())
            .await
        {
            Ok(()) => {
                if let Some(sent) = counted {
                    self.count_outcome(task.user, task.channel, sent).await;
                }
                disposition
            }
            Err(StoreError::Stale) => {
                tracing::warn!(id = %task.id, attempt, "a newer attempt owns this delivery");
                Disposition::Done("superseded")
            }
            Err(error) => {
                // The claim lapses and a later receipt finds it claimable again; if it went out,
                // that receipt records it rather than sending it twice.
                tracing::warn!(id = %task.id, %error, "could not record the outcome");
                if let Some(provider_id) = sent_provider_id {
                    self.remember_unrecorded(&task.id, provider_id);
                }
                Disposition::Retry(self.backoff(attempt, None))
            }
        }
    }

    fn remember_unrecorded(&self, id: &str, provider_id: Option<String>) {
        match self.unrecorded.lock() {
            Ok(mut unrecorded) if unrecorded.len() < MAX_UNRECORDED => {
                unrecorded.insert(id.to_string(), provider_id);
            }
            _ => tracing::warn!(
                id,
                "an unrecorded send is not remembered; a retry sends it again"
            ),
        }
    }

    /// Another receipt recorded it: nothing left to remember.
    fn forget_unrecorded(&self, id: &str) {
        if let Ok(mut unrecorded) = self.unrecorded.lock() {
            unrecorded.remove(id);
        }
    }

    /// Counts a finished delivery into the hourly and daily rollups (admin stats, user dashboards). The
    /// delivery itself is done: a failed count is logged, not retried into a second send.
    async fn count_outcome(&self, user: UserId, channel: Channel, sent: bool) {
        use dealpulse_domain::counters::{names, utc_day, CounterBucket, CounterKey};
        let now = self.clock.now();
        let periods = [CounterBucket::hour(now), CounterBucket::day(utc_day(now))];
        let mut changes = Vec::new();
        for bucket in periods {
            if sent {
                changes.push((
                    CounterKey::new(names::deliveries_sent_on(channel.as_str()), bucket.clone()),
                    1,
                ));
                changes.push((CounterKey::new(names::DELIVERIES_SENT, bucket), 1));
            } else {
                changes.push((CounterKey::new(names::DELIVERIES_FAILED, bucket), 1));
            }
        }
        if sent && user != UserId::system() {
            // The user's own dashboard: sent per channel, all time.
            changes.push((
                CounterKey::total(dealpulse_domain::analytics::names::user_sent(
                    user,
                    channel.as_str(),
                )),
                1,
            ));
        }
        if let Err(error) = self.store.add_counts(&changes).await {
            tracing::warn!(%error, sent, "delivery not counted in the hourly rollup");
        }
    }

    /// Full jitter: uniformly 0..min(cap, base·2^(attempt−1)), but never before the service's
    /// own `retry_after`.
    fn backoff(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        let exponent = attempt.saturating_sub(1).min(20);
        let ceiling = self
            .settings
            .backoff_base
            .saturating_mul(1 << exponent)
            .min(self.settings.backoff_cap);
        let random = dealpulse_domain::secret::random_bytes::<8>()
            .map(u64::from_le_bytes)
            .unwrap_or(u64::MAX / 2);
        let fraction = (random >> 11) as f64 / (1u64 << 53) as f64;
        let drawn = ceiling.mul_f64(fraction);
        drawn.max(retry_after.unwrap_or_default())
    }

    async fn send(&self, task: &DeliveryTask, now: Timestamp) -> Result<Attempt, StoreError> {
        let permanent = |reason: &str| {
            Ok(Attempt::Failed(SendFailure::Permanent {
                reason: reason.to_string(),
            }))
        };
        if matches!(task.notice.kind, NoticeKind::Newsletter { .. }) {
            return self.send_newsletter(task).await;
        }
        let Some(user) = self.store.user_by_id(task.user).await? else {
            return permanent("the account no longer exists");
        };
        if user.is_suspended() {
            return permanent("the account is suspended");
        }
        // The user may have turned the channel or the rules off since the alert was queued.
        let prefs = records::<NotificationPreferences>(self.store.as_ref())
            .get(user.id, "current")
            .await?
            .unwrap_or_else(|| NotificationPreferences::defaults(user.id, now));
        let mut rules = Vec::new();
        for id in &task.rules {
            if let Some(rule) = records::<AlertRule>(self.store.as_ref())
                .get(user.id, &id.to_string())
                .await?
            {
                rules.push(rule);
            }
        }
        let live_rules: Vec<&AlertRule> = rules.iter().filter(|r| r.enabled).collect();
        if !task.rules.is_empty() && live_rules.is_empty() {
            return permanent("the rules that matched were turned off");
        }
        let wanted = if task.rules.is_empty() {
            prefs.channels.contains(&task.channel)
        } else {
            live_rules.iter().any(|rule| {
                rule.channels
                    .as_ref()
                    .unwrap_or(&prefs.channels)
                    .contains(&task.channel)
            })
        };
        if !wanted {
            return permanent("the channel was turned off");
        }
        let target = task.target.clone().unwrap_or_default();
        // Deal links lead through the click redirect unless the user turned tracking off;
        // webhooks get the deal's own URL (machines consume them), text messages too (a signed
        // link would take several more SMS segments).
        let tracked;
        let task =
            if prefs.click_tracking && !matches!(task.channel, Channel::Webhook | Channel::Sms) {
                tracked = self.tracked(task);
                &tracked
            } else {
                task
            };
        let result = match task.channel {
            Channel::Email => {
                if let Some(reason) = self.suppression(&user.email).await? {
                    return permanent(&reason);
                }
                let links = self.links(user.id, &live_rules);
                let message = render::email(&task.notice, user.email.clone(), &links)
                    .with_tag("delivery", &task.id[..32]);
                self.mail(&message).await
            }
            Channel::Sms => {
                let phone = records::<PhoneSetup>(self.store.as_ref())
                    .get(user.id, "current")
                    .await?;
                let Some(phone) = phone.filter(|p| p.verified_at.is_some()) else {
                    return permanent("no verified phone number");
                };
                match self
                    .senders
                    .sms
                    .send_sms(&phone.number, &render::sms(&task.notice))
                    .await
                {
                    Ok(id) => Ok(Sent {
                        status: 201,
                        provider_id: Some(id),
                    }),
                    Err(SmsError::Rejected(reason)) => Err(SendFailure::Permanent { reason }),
                    Err(SmsError::Unavailable(reason)) => Err(SendFailure::Transient {
                        reason,
                        retry_after: None,
                    }),
                }
            }
            Channel::Discord | Channel::Slack | Channel::Webhook => {
                let endpoint = records::<ChannelEndpoint>(self.store.as_ref())
                    .get(user.id, &target)
                    .await?;
                let Some(endpoint) =
                    endpoint.filter(|e| e.enabled && e.kind.channel() == task.channel)
                else {
                    return permanent("the endpoint was removed or disabled");
                };
                self.senders
                    .endpoints
                    .post(&endpoint, &task.notice, now)
                    .await
            }
            Channel::Push => {
                let subscriptions = records::<PushSubscription>(self.store.as_ref());
                let Some(subscription) = subscriptions.get(user.id, &target).await? else {
                    return permanent("the push subscription was removed");
                };
                let result = self
                    .senders
                    .push
                    .push(&subscription, &task.notice, now)
                    .await;
                if let Err(SendFailure::Gone { reason }) = &result {
                    tracing::info!(user = %user.id, %reason, "push subscription gone; removing it");
                    match subscriptions.delete(user.id, &target, None).await {
                        Ok(()) | Err(StoreError::NotFound) => {}
                        Err(error) => return Err(error),
                    }
                }
                result
            }
        };
        Ok(match result {
            Ok(sent) => Attempt::Sent(sent),
            Err(failure) => Attempt::Failed(failure),
        })
    }

    /// Why mail to `email` must not go out (a hard bounce or a complaint), if it must not.
    async fn suppression(&self, email: &Email) -> Result<Option<String>, StoreError> {
        let key = AddressHealth::key_of(email.as_str());
        let health = records::<AddressHealth>(self.store.as_ref())
            .get(UserId::system(), &key)
            .await?;
        Ok(health
            .and_then(|h| h.suppressed)
            .map(|reason| format!("the address is suppressed ({reason:?})")))
    }

    async fn mail(&self, message: &EmailMessage) -> Result<Sent, SendFailure> {
        match self.senders.mailer.send(message).await {
            Ok(sent) => Ok(Sent {
                status: 200,
                provider_id: Some(sent.message_id),
            }),
            Err(MailError::Rejected(reason)) => Err(SendFailure::Permanent { reason }),
            Err(MailError::Unavailable(reason)) => Err(SendFailure::Transient {
                reason,
                retry_after: None,
            }),
        }
    }

    /// The weekly newsletter to one subscriber (the task's target is the address key): only
    /// while confirmed and not suppressed, with a one-click unsubscribe of the newsletter.
    async fn send_newsletter(&self, task: &DeliveryTask) -> Result<Attempt, StoreError> {
        let permanent = |reason: &str| {
            Ok(Attempt::Failed(SendFailure::Permanent {
                reason: reason.to_string(),
            }))
        };
        let key = task.target.as_deref().unwrap_or_default();
        let Some(subscriber) = records::<Subscriber>(self.store.as_ref())
            .get(UserId::system(), key)
            .await?
        else {
            return permanent("the subscriber is gone");
        };
        if subscriber.status != SubscriberStatus::Confirmed {
            return permanent("the subscriber is not confirmed");
        }
        if let Some(reason) = self.suppression(&subscriber.email).await? {
            return permanent(&reason);
        }
        let token = NewsletterToken::Unsubscribe {
            email: subscriber.email.clone(),
        }
        .sign(&newsletter_key(&self.settings.unsubscribe_key));
        let unsubscribe = format!(
            "{}/api/v1/newsletter/unsubscribe?token={token}",
            self.settings.public_url
        );
        let links = EmailLinks {
            unsubscribe_all: unsubscribe.clone(),
            unsubscribe_rules: vec![],
            preferences: unsubscribe,
        };
        let message = render::email(&task.notice, subscriber.email, &links)
            .with_tag("delivery", &task.id[..32]);
        Ok(match self.mail(&message).await {
            Ok(sent) => Attempt::Sent(sent),
            Err(failure) => Attempt::Failed(failure),
        })
    }

    /// The task with each deal's link replaced by a signed redirect through `/api/v1/r/`.
    fn tracked(&self, task: &DeliveryTask) -> DeliveryTask {
        let mut tracked = task.clone();
        for (index, deal) in tracked.notice.deals.iter_mut().enumerate() {
            let link = ClickLink {
                user: task.user,
                delivery: task.id.chars().take(32).collect(),
                index: u16::try_from(index).unwrap_or(u16::MAX),
                url: deal.url.clone(),
                price: deal.price,
                reference: deal.was_price,
            };
            deal.url = format!(
                "{}/api/v1/r/{}",
                self.settings.public_url,
                link.sign(&self.settings.click_key)
            );
        }
        tracked
    }

    fn links(&self, user: dealpulse_domain::ids::UserId, rules: &[&AlertRule]) -> EmailLinks {
        let key = &self.settings.unsubscribe_key;
        let base = &self.settings.public_url;
        let link = |scope| {
            format!(
                "{base}/api/v1/unsubscribe?token={}",
                unsubscribe::token(key, user, scope)
            )
        };
        EmailLinks {
            unsubscribe_all: link(UnsubscribeScope::Email),
            unsubscribe_rules: rules
                .iter()
                .map(|rule| {
                    (
                        rule.name.as_str().to_string(),
                        link(UnsubscribeScope::Rule(rule.id)),
                    )
                })
                .collect(),
            preferences: format!("{base}/preferences"),
        }
    }
}

fn duration_between(from: Timestamp, to: Timestamp) -> Duration {
    Duration::try_from(to.duration_since(from)).unwrap_or_default()
}
