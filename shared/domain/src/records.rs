//! Records a user owns (rules, watches, preferences, endpoints, phone, push subscriptions) are
//! stored through one small port: versioned JSON documents keyed by (kind, owner, key), with an
//! atomic per-owner count so plan quotas cannot be raced past. [`Records`] gives each kind a
//! typed face; adapters implement [`DocumentRepository`] once for all of them.

use crate::ids::UserId;
use crate::ports::StoreError;
use async_trait::async_trait;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::marker::PhantomData;

/// A stored document: the record as JSON plus what the store needs to key and guard it.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    pub kind: &'static str,
    pub owner: UserId,
    pub key: String,
    /// Incremented by the store on every update; 1 after insert.
    pub version: u64,
    pub body: serde_json::Value,
}

#[async_trait]
pub trait DocumentRepository: Send + Sync {
    /// Inserts a new document with version 1. `Conflict` when the key exists;
    /// `LimitReached` when the owner already has `limit` documents of this kind. The count
    /// check and the insert are one atomic step.
    async fn insert_document(
        &self,
        document: &Document,
        limit: Option<u32>,
    ) -> Result<(), StoreError>;
    async fn document(
        &self,
        kind: &'static str,
        owner: UserId,
        key: &str,
    ) -> Result<Option<Document>, StoreError>;
    /// All of an owner's documents of one kind, ordered by key.
    async fn documents(
        &self,
        kind: &'static str,
        owner: UserId,
    ) -> Result<Vec<Document>, StoreError>;
    /// The owner's documents of one kind whose key sorts before `before` (all when `None`),
    /// highest key first, at most `limit`: the newest of a time-keyed log without reading it all.
    async fn documents_before(
        &self,
        kind: &'static str,
        owner: UserId,
        before: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Document>, StoreError>;
    /// The owner's documents of one kind whose key sorts at or after `from`, lowest key first,
    /// at most `limit`: pages through a large kind in key order, or the keys with a prefix.
    async fn documents_from(
        &self,
        kind: &'static str,
        owner: UserId,
        from: &str,
        limit: u32,
    ) -> Result<Vec<Document>, StoreError>;
    /// Replaces the body if the stored version equals `document.version`; returns the stored
    /// document with its new version. `Stale` when it changed, `NotFound` when gone.
    async fn update_document(&self, document: &Document) -> Result<Document, StoreError>;
    /// Deletes the document, only at `expected_version` when given. `NotFound` when absent,
    /// `Stale` when the version differs.
    async fn delete_document(
        &self,
        kind: &'static str,
        owner: UserId,
        key: &str,
        expected_version: Option<u64>,
    ) -> Result<(), StoreError>;
    /// How many documents of this kind the owner has.
    async fn count_documents(&self, kind: &'static str, owner: UserId) -> Result<u32, StoreError>;
    /// Every document of a kind, across owners, ordered by (owner, key): what the matching
    /// engine's index is built from. May lag the latest writes by a moment (DynamoDB reads an
    /// index for it).
    async fn all_documents(&self, kind: &'static str) -> Result<Vec<Document>, StoreError>;
}

/// A record stored as a document.
pub trait Record: Serialize + DeserializeOwned + Clone + Send + Sync {
    /// Stable kind name used in storage keys; never change it for existing data.
    const KIND: &'static str;
    fn owner(&self) -> UserId;
    fn key(&self) -> String;
    fn version(&self) -> u64;
    fn set_version(&mut self, version: u64);
}

/// Typed access to one kind of record.
pub struct Records<'a, T> {
    store: &'a dyn DocumentRepository,
    kind: PhantomData<T>,
}

pub fn records<T: Record>(store: &dyn DocumentRepository) -> Records<'_, T> {
    Records {
        store,
        kind: PhantomData,
    }
}

fn to_document<T: Record>(record: &T) -> Result<Document, StoreError> {
    let mut body = serde_json::to_value(record)
        .map_err(|e| StoreError::Corrupt(format!("cannot encode {}: {e}", T::KIND)))?;
    // The version lives in the document envelope, not twice.
    if let Some(object) = body.as_object_mut() {
        object.remove("version");
    }
    Ok(Document {
        kind: T::KIND,
        owner: record.owner(),
        key: record.key(),
        version: record.version(),
        body,
    })
}

fn from_document<T: Record>(document: Document) -> Result<T, StoreError> {
    let mut body = document.body;
    if let Some(object) = body.as_object_mut() {
        object.insert("version".into(), document.version.into());
    }
    serde_json::from_value(body).map_err(|e| {
        StoreError::Corrupt(format!("{} {} does not decode: {e}", T::KIND, document.key))
    })
}

impl<T: Record> Records<'_, T> {
    /// Inserts `record` (its version becomes 1) within the owner's `limit`.
    pub async fn insert(&self, record: &T, limit: Option<u32>) -> Result<T, StoreError> {
        let mut stored = record.clone();
        stored.set_version(1);
        self.store
            .insert_document(&to_document(&stored)?, limit)
            .await?;
        Ok(stored)
    }

    pub async fn get(&self, owner: UserId, key: &str) -> Result<Option<T>, StoreError> {
        match self.store.document(T::KIND, owner, key).await? {
            Some(document) => from_document(document).map(Some),
            None => Ok(None),
        }
    }

    /// The newest records by key (see [`DocumentRepository::documents_before`]).
    pub async fn latest(
        &self,
        owner: UserId,
        before: Option<&str>,
        limit: u32,
    ) -> Result<Vec<T>, StoreError> {
        self.store
            .documents_before(T::KIND, owner, before, limit)
            .await?
            .into_iter()
            .map(from_document)
            .collect()
    }

    /// Records in key order from `from` on (see [`DocumentRepository::documents_from`]).
    pub async fn starting_at(
        &self,
        owner: UserId,
        from: &str,
        limit: u32,
    ) -> Result<Vec<T>, StoreError> {
        self.store
            .documents_from(T::KIND, owner, from, limit)
            .await?
            .into_iter()
            .map(from_document)
            .collect()
    }

    pub async fn list(&self, owner: UserId) -> Result<Vec<T>, StoreError> {
        self.store
            .documents(T::KIND, owner)
            .await?
            .into_iter()
            .map(from_document)
            .collect()
    }

    /// Stores `record` if nobody changed it since it was read at `record.version()`.
    pub async fn update(&self, record: &T) -> Result<T, StoreError> {
        let stored = self.store.update_document(&to_document(record)?).await?;
        from_document(stored)
    }

    pub async fn delete(
        &self,
        owner: UserId,
        key: &str,
        expected_version: Option<u64>,
    ) -> Result<(), StoreError> {
        self.store
            .delete_document(T::KIND, owner, key, expected_version)
            .await
    }

    pub async fn count(&self, owner: UserId) -> Result<u32, StoreError> {
        self.store.count_documents(T::KIND, owner).await
    }

    /// Reads the record (or starts from `fresh()` when there is none), lets `change` edit it and
    /// stores it, starting over when it changed concurrently. `change` returns false to leave
    /// the record as it is.
    pub async fn modify(
        &self,
        owner: UserId,
        key: &str,
        fresh: impl Fn() -> T,
        mut change: impl FnMut(&mut T) -> bool,
    ) -> Result<T, StoreError> {
        for _ in 0..8 {
            let stored = self.get(owner, key).await?;
            let existed = stored.is_some();
            let mut record = stored.unwrap_or_else(&fresh);
            if !change(&mut record) {
                return Ok(record);
            }
            let saved = if existed {
                self.update(&record).await
            } else {
                self.insert(&record, None).await
            };
            match saved {
                Ok(saved) => return Ok(saved),
                Err(StoreError::Stale | StoreError::Conflict(_) | StoreError::NotFound) => continue,
                Err(other) => return Err(other),
            }
        }
        Err(StoreError::Unavailable(format!(
            "{} {key} kept changing",
            T::KIND
        )))
    }

    /// Every record of this kind, of every owner.
    pub async fn all(&self) -> Result<Vec<T>, StoreError> {
        self.store
            .all_documents(T::KIND)
            .await?
            .into_iter()
            .map(from_document)
            .collect()
    }
}

/// Implements [`Record`] for a struct with `owner: UserId`, `key: String` and `version: u64`
/// fields.
#[macro_export]
macro_rules! keyed_record {
    ($type:ty, $kind:literal) => {
        impl $crate::records::Record for $type {
            const KIND: &'static str = $kind;
            fn owner(&self) -> $crate::ids::UserId {
                self.owner
            }
            fn key(&self) -> String {
                self.key.clone()
            }
            fn version(&self) -> u64 {
                self.version
            }
            fn set_version(&mut self, version: u64) {
                self.version = version;
            }
        }
    };
}

macro_rules! record {
    ($type:ty, $kind:literal, |$r:ident| $key:expr) => {
        impl Record for $type {
            const KIND: &'static str = $kind;
            fn owner(&self) -> UserId {
                self.owner
            }
            fn key(&self) -> String {
                let $r = self;
                $key
            }
            fn version(&self) -> u64 {
                self.version
            }
            fn set_version(&mut self, version: u64) {
                self.version = version;
            }
        }
    };
}

record!(crate::rules::AlertRule, "rule", |r| r.id.to_string());
record!(crate::watch::WatchItem, "watch", |r| r.id.to_string());
record!(
    crate::preferences::NotificationPreferences,
    "preferences",
    |_r| "current".to_string()
);
record!(crate::channels::ChannelEndpoint, "endpoint", |r| r
    .id
    .to_string());
record!(crate::channels::PhoneSetup, "phone", |_r| "current"
    .to_string());
record!(crate::channels::PushSubscription, "push", |r| r
    .id
    .to_string());
record!(crate::inbound::InboundSettings, "inbound", |_r| "current"
    .to_string());
record!(crate::inbound::InboundMail, "inbound_mail", |r| r
    .id
    .to_string());
record!(crate::sources::HostSelectors, "host_selectors", |r| r
    .host
    .clone());
record!(crate::mail::AddressHealth, "address_health", |r| r
    .address
    .clone());

/// Changes whenever a rule or watch is written: the matching engine rebuilds its index when the
/// stamp it was built at is no longer the current one. The stamp is the document's version.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct MatchingStamp {
    pub owner: UserId,
    pub version: u64,
}

record!(MatchingStamp, "matching_stamp", |_r| "current".to_string());

/// The current matching stamp (0 before any rule or watch was written).
pub async fn matching_stamp(store: &dyn DocumentRepository) -> Result<u64, StoreError> {
    Ok(records::<MatchingStamp>(store)
        .get(UserId::system(), "current")
        .await?
        .map(|stamp| stamp.version)
        .unwrap_or(0))
}

/// Moves the matching stamp on; called after every rule or watch write.
pub async fn bump_matching_stamp(store: &dyn DocumentRepository) -> Result<(), StoreError> {
    let stamps = records::<MatchingStamp>(store);
    for _ in 0..8 {
        let outcome = match stamps.get(UserId::system(), "current").await? {
            Some(current) => stamps.update(&current).await.map(|_| ()),
            None => {
                let first = MatchingStamp {
                    owner: UserId::system(),
                    version: 0,
                };
                stamps.insert(&first, None).await.map(|_| ())
            }
        };
        match outcome {
            Ok(()) => return Ok(()),
            // Someone else moved it at the same moment: either way it moved, but make sure.
            Err(StoreError::Stale) | Err(StoreError::Conflict(_)) => continue,
            Err(other) => return Err(other),
        }
    }
    Err(StoreError::Stale)
}
