//! Where a channel reaches a user: the verified e-mail address, each enabled endpoint of the
//! channel's kind, the verified phone, each push subscription.

use dealpulse_domain::account::User;
use dealpulse_domain::channels::{ChannelEndpoint, PhoneSetup, PushSubscription};
use dealpulse_domain::ports::{Store, StoreError};
use dealpulse_domain::preferences::Channel;
use dealpulse_domain::records::records;

/// The destinations of `channel` for `user` (`None` for the single e-mail or SMS destination),
/// or why there are none.
pub async fn destinations(
    store: &dyn Store,
    user: &User,
    channel: Channel,
) -> Result<Result<Vec<Option<String>>, &'static str>, StoreError> {
    Ok(match channel {
        Channel::Email if user.is_verified() => Ok(vec![None]),
        Channel::Email => Err("the e-mail address is not verified"),
        Channel::Discord | Channel::Slack | Channel::Webhook => {
            let ids: Vec<Option<String>> = records::<ChannelEndpoint>(store)
                .list(user.id)
                .await?
                .into_iter()
                .filter(|e| e.enabled && e.kind.channel() == channel)
                .map(|e| Some(e.id.to_string()))
                .collect();
            if ids.is_empty() {
                Err("no enabled endpoint for this channel")
            } else {
                Ok(ids)
            }
        }
        Channel::Sms => match records::<PhoneSetup>(store).get(user.id, "current").await? {
            Some(phone) if phone.verified_at.is_some() => Ok(vec![None]),
            _ => Err("no verified phone number"),
        },
        Channel::Push => {
            let ids: Vec<Option<String>> = records::<PushSubscription>(store)
                .list(user.id)
                .await?
                .into_iter()
                .map(|s| Some(s.id.to_string()))
                .collect();
            if ids.is_empty() {
                Err("no push subscription")
            } else {
                Ok(ids)
            }
        }
    })
}
