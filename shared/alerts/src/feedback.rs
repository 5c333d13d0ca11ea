//! What the mail provider reports after a send (SES bounce, complaint and delivery events),
//! kept per address as [`AddressHealth`]: a hard bounce or a complaint suppresses the address
//! for good, repeated soft bounces without a delivery in between suppress it too, and the
//! deliverer never sends to a suppressed address.

use dealpulse_domain::ids::UserId;
use dealpulse_domain::mail::{AddressHealth, Suppression};
use dealpulse_domain::ports::{Store, StoreError};
use dealpulse_domain::records::records;
use jiff::Timestamp;

/// Soft bounces in a row (no delivery in between) after which an address is suppressed.
pub const SOFT_BOUNCE_LIMIT: u32 = 3;

/// One provider report, already parsed from the provider's event.
#[derive(Debug, Clone, PartialEq)]
pub enum MailFeedback {
    Bounce {
        permanent: bool,
        recipients: Vec<String>,
        detail: Option<String>,
    },
    Complaint {
        recipients: Vec<String>,
        detail: Option<String>,
    },
    Delivery {
        recipients: Vec<String>,
    },
}

/// The addresses whose health changed, and which of them are now suppressed.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FeedbackReport {
    pub updated: Vec<String>,
    pub suppressed: Vec<String>,
}

/// Records `feedback` for each recipient. Safe to apply twice (EventBridge delivers at least
/// once): suppression is idempotent, and a counter off by one on a duplicate event changes no
/// decision but the soft-bounce threshold's timing.
pub async fn record_feedback(
    store: &dyn Store,
    feedback: &MailFeedback,
    now: Timestamp,
) -> Result<FeedbackReport, StoreError> {
    let recipients = match feedback {
        MailFeedback::Bounce { recipients, .. }
        | MailFeedback::Complaint { recipients, .. }
        | MailFeedback::Delivery { recipients } => recipients,
    };
    let mut report = FeedbackReport::default();
    for address in recipients {
        let (before, health) =
            update_health(store, address, now, |health| apply(health, feedback)).await?;
        if let Err(error) = count_suppression(store, before, health.suppressed).await {
            tracing::warn!(%error, "suppression not counted");
        }
        report.updated.push(health.address.clone());
        if health.suppressed.is_some() {
            report.suppressed.push(health.address);
        }
    }
    Ok(report)
}

fn apply(health: &mut AddressHealth, feedback: &MailFeedback) {
    match feedback {
        MailFeedback::Bounce {
            permanent: true,
            detail,
            ..
        } => {
            health.suppressed = Some(Suppression::Bounce);
            health.detail = detail.clone();
        }
        MailFeedback::Bounce {
            permanent: false,
            detail,
            ..
        } => {
            health.transient_bounces = health.transient_bounces.saturating_add(1);
            health.detail = detail.clone();
            if health.transient_bounces >= SOFT_BOUNCE_LIMIT && health.suppressed.is_none() {
                health.suppressed = Some(Suppression::Bounce);
            }
        }
        MailFeedback::Complaint { detail, .. } => {
            // A complaint outranks a bounce: the person asked us to stop.
            health.suppressed = Some(Suppression::Complaint);
            health.detail = detail.clone();
        }
        MailFeedback::Delivery { .. } => {
            health.deliveries = health.deliveries.saturating_add(1);
            health.transient_bounces = 0;
        }
    }
}

/// Counter of addresses suppressed for `reason` (the system health view).
pub fn suppressed_counter(reason: Suppression) -> dealpulse_domain::counters::CounterKey {
    let reason = match reason {
        Suppression::Bounce => "bounce",
        Suppression::Complaint => "complaint",
    };
    dealpulse_domain::counters::CounterKey::total(format!("mail.suppressed.{reason}"))
}

/// Moves the suppression counters when an address's suppression changed.
async fn count_suppression(
    store: &dyn Store,
    before: Option<Suppression>,
    after: Option<Suppression>,
) -> Result<(), StoreError> {
    if before == after {
        return Ok(());
    }
    let mut changes = Vec::new();
    if let Some(reason) = before {
        changes.push((suppressed_counter(reason), -1));
    }
    if let Some(reason) = after {
        changes.push((suppressed_counter(reason), 1));
    }
    store.add_counts(&changes).await
}

/// Read, change, write with the version check; a concurrent writer makes it read again.
/// Returns the suppression before the change that was written, and the stored record.
async fn update_health(
    store: &dyn Store,
    address: &str,
    now: Timestamp,
    change: impl Fn(&mut AddressHealth),
) -> Result<(Option<Suppression>, AddressHealth), StoreError> {
    let healths = records::<AddressHealth>(store);
    let key = AddressHealth::key_of(address);
    for _ in 0..8 {
        let (before, outcome) = match healths.get(UserId::system(), &key).await? {
            Some(mut health) => {
                let before = health.suppressed;
                change(&mut health);
                health.updated_at = now;
                (before, healths.update(&health).await)
            }
            None => {
                let mut health = AddressHealth::new(address, now);
                change(&mut health);
                (None, healths.insert(&health, None).await)
            }
        };
        match outcome {
            Ok(stored) => return Ok((before, stored)),
            Err(StoreError::Stale) | Err(StoreError::Conflict(_)) => continue,
            Err(other) => return Err(other),
        }
    }
    Err(StoreError::Stale)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fresh() -> AddressHealth {
        AddressHealth::new("Ann@Example.com ", Timestamp::UNIX_EPOCH)
    }

    fn bounce(permanent: bool) -> MailFeedback {
        MailFeedback::Bounce {
            permanent,
            recipients: vec!["ann@example.com".into()],
            detail: Some("550 5.1.1 user unknown".into()),
        }
    }

    #[test]
    fn hard_bounces_and_complaints_suppress_at_once() {
        let mut health = fresh();
        assert_eq!(health.address, "ann@example.com");
        apply(&mut health, &bounce(true));
        assert_eq!(health.suppressed, Some(Suppression::Bounce));
        apply(
            &mut health,
            &MailFeedback::Complaint {
                recipients: vec![],
                detail: Some("abuse".into()),
            },
        );
        assert_eq!(health.suppressed, Some(Suppression::Complaint));
        // A later delivery report does not lift a suppression.
        apply(&mut health, &MailFeedback::Delivery { recipients: vec![] });
        assert_eq!(health.suppressed, Some(Suppression::Complaint));
    }

    #[test]
    fn soft_bounces_suppress_only_in_a_row() {
        let mut health = fresh();
        for _ in 0..SOFT_BOUNCE_LIMIT - 1 {
            apply(&mut health, &bounce(false));
        }
        apply(&mut health, &MailFeedback::Delivery { recipients: vec![] });
        assert_eq!(health.transient_bounces, 0);
        for _ in 0..SOFT_BOUNCE_LIMIT - 1 {
            apply(&mut health, &bounce(false));
        }
        assert_eq!(health.suppressed, None);
        apply(&mut health, &bounce(false));
        assert_eq!(health.suppressed, Some(Suppression::Bounce));
    }
}
