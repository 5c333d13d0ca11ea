//! Entity identifiers. Each is a UUIDv7 (time-ordered, so keys sort by creation) wrapped in its
//! own type so a session id can never be passed where a user id is expected.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The text was not an identifier of the expected shape.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a valid identifier")]
pub struct InvalidId;

macro_rules! entity_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(uuid::Uuid);

        impl $name {
            /// A fresh, time-ordered identifier.
            pub fn generate() -> Self {
                Self(uuid::Uuid::now_v7())
            }
            pub fn as_uuid(&self) -> uuid::Uuid {
                self.0
            }
            pub fn from_uuid(uuid: uuid::Uuid) -> Self {
                Self(uuid)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.as_hyphenated().fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = InvalidId;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                uuid::Uuid::parse_str(s).map(Self).map_err(|_| InvalidId)
            }
        }
    };
}

entity_id!(
    /// Identifies a user account.
    UserId
);
entity_id!(
    /// Identifies a login session (one refresh-token family).
    SessionId
);
entity_id!(
    /// Identifies an API key (not its secret).
    ApiKeyId
);
entity_id!(
    /// Identifies one audit log entry.
    AuditEventId
);

entity_id!(
    /// Identifies a deal alert rule.
    RuleId
);
entity_id!(
    /// Identifies a watchlist item.
    WatchId
);
entity_id!(
    /// Identifies a tracked product page.
    ProductId
);
entity_id!(
    /// Identifies a listing seen in a source.
    ListingId
);
entity_id!(
    /// Identifies a listing feed.
    SourceId
);
entity_id!(
    /// Identifies a Discord, Slack or webhook delivery endpoint.
    EndpointId
);
entity_id!(
    /// Identifies a web push subscription.
    PushSubscriptionId
);

impl UserId {
    /// The owner of records that belong to no user (the system inbox's mail log).
    pub fn system() -> Self {
        Self(uuid::Uuid::nil())
    }
}

impl ListingId {
    /// The id of an item a source keeps re-publishing (a feed entry, a partner's listing): the
    /// same source and key always give the same id, so seeing the item again updates it instead
    /// of duplicating it. A UUIDv8 holding the first 122 bits of SHA-256(source, key).
    pub fn derived(source: &str, key: &str) -> Self {
        use sha2::{Digest, Sha256};
        let digest = Sha256::new()
            .chain_update(source.as_bytes())
            .chain_update([0u8])
            .chain_update(key.as_bytes())
            .finalize();
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&digest[..16]);
        Self(uuid::Builder::from_custom_bytes(bytes).into_uuid())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_through_text_and_reject_garbage() {
        let id = UserId::generate();
        assert_eq!(id.to_string().parse::<UserId>(), Ok(id));
        assert_eq!("not-a-uuid".parse::<UserId>(), Err(InvalidId));
    }

    #[test]
    fn derived_listing_ids_are_stable_per_source_and_key() {
        let a = ListingId::derived("craigslist", "https://x.example/1");
        assert_eq!(a, ListingId::derived("craigslist", "https://x.example/1"));
        assert_ne!(a, ListingId::derived("craigslist", "https://x.example/2"));
        assert_ne!(a, ListingId::derived("craigslis", "thttps://x.example/1"));
        assert_eq!(a.to_string().parse::<ListingId>(), Ok(a));
    }

    #[test]
    fn later_ids_sort_after_earlier_ones() {
        let first = SessionId::generate();
        let second = SessionId::generate();
        assert!(first.to_string() < second.to_string());
    }
}
