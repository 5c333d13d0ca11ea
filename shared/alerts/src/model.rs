//! What the pipeline stores and queues: the delivery task (the SQS message), the user's alert
//! log, and the entries waiting for a digest.

use dealpulse_domain::ids::{RuleId, UserId};
use dealpulse_domain::notify::{DealLine, Notice, NoticeKind};
use dealpulse_domain::policy::{Item, Trigger};
use dealpulse_domain::preferences::Channel;
use dealpulse_domain::sameness::SeenDeal;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Version of the delivery message schema.
pub const TASK_SCHEMA: u8 = 1;

/// One notice for one destination: the body of a delivery queue message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliveryTask {
    pub v: u8,
    /// The claim key: the same deal on the same channel and destination is sent once.
    pub id: String,
    pub user: UserId,
    pub channel: Channel,
    /// The endpoint or push subscription id (none for e-mail and SMS).
    pub target: Option<String>,
    /// Held until then (quiet hours).
    pub not_before: Option<Timestamp>,
    /// The rules that fired, for the e-mail's per-rule unsubscribe links.
    #[serde(default)]
    pub rules: Vec<RuleId>,
    pub notice: Notice,
}

#[derive(Debug, thiserror::Error)]
#[error("not a delivery task: {0}")]
pub struct BadTask(pub String);

impl DeliveryTask {
    pub fn parse(body: &str) -> Result<Self, BadTask> {
        let task: DeliveryTask = serde_json::from_str(body).map_err(|e| BadTask(e.to_string()))?;
        if task.v != TASK_SCHEMA {
            return Err(BadTask(format!("schema version {}", task.v)));
        }
        if task.id.len() != 64 || !task.id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(BadTask("id must be 64 hex digits".into()));
        }
        let newsletter = matches!(task.notice.kind, NoticeKind::Newsletter { .. });
        if newsletter != (task.user == UserId::system())
            || (newsletter && task.channel != Channel::Email)
        {
            return Err(BadTask(
                "only the system sends the newsletter, by e-mail".into(),
            ));
        }
        // The newsletter's target is the subscriber's address key.
        let needs_target = newsletter
            || matches!(
                task.channel,
                Channel::Discord | Channel::Slack | Channel::Webhook | Channel::Push
            );
        if needs_target != task.target.is_some() {
            return Err(BadTask(format!(
                "target does not fit channel {}",
                task.channel
            )));
        }
        Ok(task)
    }

    pub fn to_body(&self) -> String {
        // Serialising plain data cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// Hex SHA-256 of the parts joined by `|`: ids that are the same whenever the inputs are.
pub fn stable_id(parts: &[&str]) -> String {
    let digest = Sha256::digest(parts.join("|").as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// What happened to an alert on one channel and destination.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannedDelivery {
    pub channel: Channel,
    pub target: Option<String>,
    /// The delivery's claim key (its state is in the delivery store), when one was queued.
    pub delivery_id: Option<String>,
    #[serde(flatten)]
    pub plan: Plan,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "plan", rename_all = "snake_case")]
pub enum Plan {
    Now,
    /// Held by quiet hours until then.
    Held {
        until: Timestamp,
    },
    /// Goes out with the digest at that time.
    Digest {
        at: Timestamp,
    },
    Skipped {
        reason: String,
    },
}

/// One alert in the user's log (`GET /alerts`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertRecord {
    pub owner: UserId,
    /// `<event time in ms, 13 digits>-<alert id>`: sorts by time, same for a redelivered event.
    pub key: String,
    pub item: Item,
    pub deal: DealLine,
    pub triggers: Vec<Trigger>,
    pub urgent: bool,
    pub created_at: Timestamp,
    pub deliveries: Vec<PlannedDelivery>,
    pub version: u64,
}

/// An alert waiting for the user's next digest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DigestEntry {
    pub owner: UserId,
    /// `<due, seconds>#<alert id>`.
    pub key: String,
    pub due: Timestamp,
    pub channels: Vec<Channel>,
    pub deal: DealLine,
    /// Came over the daily cap (the user wanted it at once).
    pub overflow: bool,
    pub created_at: Timestamp,
    pub version: u64,
}

/// The deals a user was recently alerted to, so the same deal seen again from another source
/// (or with a reworded title) merges into the first alert. One document per user, updated with
/// a version check, so concurrent sightings cannot both pass.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecentDeals {
    pub owner: UserId,
    pub key: String,
    pub deals: Vec<SeenDeal>,
    pub version: u64,
}

impl RecentDeals {
    pub const KEY: &'static str = "recent";
}

dealpulse_domain::keyed_record!(AlertRecord, "alert");
dealpulse_domain::keyed_record!(DigestEntry, "digest_entry");
dealpulse_domain::keyed_record!(RecentDeals, "recent_deals");

#[cfg(test)]
mod tests {
    use super::*;
    use dealpulse_domain::money::{Currency, Money};

    fn task(channel: Channel, target: Option<&str>) -> DeliveryTask {
        DeliveryTask {
            v: TASK_SCHEMA,
            id: stable_id(&["x"]),
            user: UserId::generate(),
            channel,
            target: target.map(str::to_string),
            not_before: None,
            rules: vec![],
            notice: Notice {
                delivery_id: stable_id(&["x"]),
                kind: NoticeKind::Alert { urgent: false },
                deals: vec![DealLine {
                    title: "Lamp".into(),
                    url: "https://shop.test/lamp".into(),
                    price: Money::parse("20", Currency::parse("EUR").unwrap()).unwrap(),
                    was_price: None,
                    reasons: vec![],
                    score: None,
                    history: vec![],
                }],
                occurred_at: Timestamp::UNIX_EPOCH,
            },
        }
    }

    #[test]
    fn tasks_round_trip_and_bad_ones_are_named() {
        let good = task(Channel::Email, None);
        assert_eq!(DeliveryTask::parse(&good.to_body()).unwrap(), good);
        assert!(DeliveryTask::parse(&task(Channel::Discord, None).to_body()).is_err());
        assert!(DeliveryTask::parse(&task(Channel::Push, Some("p")).to_body()).is_ok());
        let mut old = good.clone();
        old.v = 9;
        assert!(DeliveryTask::parse(&old.to_body()).is_err());
        assert!(DeliveryTask::parse("{").is_err());
        assert!(
            DeliveryTask::parse(&good.to_body().replace("\"v\":1", "\"v\":1,\"x\":2")).is_err()
        );
    }
}
