//! The contract of delivery claims: one claimer wins, redeliveries find the claim or the result,
//! lapsed leases can be retaken, and finishing is fenced by the attempt.

use dealpulse_domain::delivery::{Claim, DeliveryState, Outcome};
use dealpulse_domain::ids::{ListingId, UserId};
use dealpulse_domain::ports::{Store, StoreError};
use dealpulse_domain::preferences::Channel;
use jiff::{SignedDuration, Timestamp};

fn later(base: Timestamp, seconds: i64) -> Timestamp {
    base.checked_add(SignedDuration::from_secs(seconds))
        .unwrap()
}

pub async fn a_delivery_is_claimed_once_and_its_result_ends_it(store: &dyn Store) {
    let id = format!("dedup-{}", ListingId::generate());
    let user = UserId::generate();
    let now = Timestamp::now();
    assert_eq!(
        store
            .claim_delivery(&id, user, Channel::Email, now, later(now, 60))
            .await
            .unwrap(),
        Claim::Claimed { attempt: 1 }
    );
    assert_eq!(
        store
            .claim_delivery(&id, user, Channel::Email, later(now, 1), later(now, 61))
            .await
            .unwrap(),
        Claim::Busy {
            until: later(now, 60)
        },
        "a redelivered message finds the claim"
    );
    store
        .finish_delivery(
            &id,
            1,
            Outcome::Sent {
                provider_id: Some("0100-abc".into()),
            },
            later(now, 2),
        )
        .await
        .unwrap();
    assert_eq!(
        store
            .claim_delivery(&id, user, Channel::Email, later(now, 120), later(now, 180))
            .await
            .unwrap(),
        Claim::AlreadySent,
        "and after it was sent, never again"
    );
    let record = store.delivery(&id).await.unwrap().unwrap();
    assert_eq!(
        record.state,
        DeliveryState::Sent {
            provider_id: Some("0100-abc".into())
        }
    );
    assert!(matches!(
        store
            .finish_delivery(
                &id,
                1,
                Outcome::Failed {
                    reason: "late".into()
                },
                later(now, 3)
            )
            .await,
        Err(StoreError::Stale)
    ));
}

pub async fn lapsed_and_retrying_claims_are_retaken_with_fencing(store: &dyn Store) {
    let id = format!("dedup-{}", ListingId::generate());
    let user = UserId::generate();
    let now = Timestamp::now();
    store
        .claim_delivery(&id, user, Channel::Slack, now, later(now, 30))
        .await
        .unwrap();
    // The first worker died; after its lease another takes over as attempt 2.
    assert_eq!(
        store
            .claim_delivery(&id, user, Channel::Slack, later(now, 31), later(now, 90))
            .await
            .unwrap(),
        Claim::Claimed { attempt: 2 }
    );
    // The first worker wakes up: its result is refused.
    assert!(matches!(
        store
            .finish_delivery(&id, 1, Outcome::Sent { provider_id: None }, later(now, 32))
            .await,
        Err(StoreError::Stale)
    ));
    store
        .finish_delivery(
            &id,
            2,
            Outcome::Retry {
                reason: "429".into(),
            },
            later(now, 33),
        )
        .await
        .unwrap();
    assert_eq!(
        store
            .claim_delivery(&id, user, Channel::Slack, later(now, 34), later(now, 94))
            .await
            .unwrap(),
        Claim::Claimed { attempt: 3 },
        "a retrying delivery is claimable at once"
    );
    store
        .finish_delivery(
            &id,
            3,
            Outcome::Failed {
                reason: "404".into(),
            },
            later(now, 35),
        )
        .await
        .unwrap();
    assert_eq!(
        store
            .claim_delivery(&id, user, Channel::Slack, later(now, 500), later(now, 560))
            .await
            .unwrap(),
        Claim::AlreadyFailed
    );
    assert!(matches!(
        store
            .finish_delivery("never-claimed", 1, Outcome::Sent { provider_id: None }, now)
            .await,
        Err(StoreError::NotFound)
    ));
}

pub async fn concurrent_claims_of_one_delivery_let_exactly_one_win(store: &dyn Store) {
    let id = format!("dedup-{}", ListingId::generate());
    let user = UserId::generate();
    let now = Timestamp::now();
    let claims =
        (0..8).map(|_| store.claim_delivery(&id, user, Channel::Webhook, now, later(now, 60)));
    let outcomes: Vec<Claim> = futures::future::join_all(claims)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let winners = outcomes
        .iter()
        .filter(|c| matches!(c, Claim::Claimed { .. }))
        .count();
    assert_eq!(winners, 1, "{outcomes:?}");
    assert!(outcomes
        .iter()
        .all(|c| matches!(c, Claim::Claimed { attempt: 1 } | Claim::Busy { .. })));
}

pub async fn a_failed_delivery_can_be_reopened_once_for_a_retry(store: &dyn Store) {
    let id = format!("dedup-{}", ListingId::generate());
    let user = UserId::generate();
    let now = Timestamp::now();
    assert!(matches!(
        store.reopen_delivery(&id, now).await,
        Err(StoreError::NotFound)
    ));
    store
        .claim_delivery(&id, user, Channel::Webhook, now, later(now, 60))
        .await
        .unwrap();
    assert!(
        matches!(
            store.reopen_delivery(&id, later(now, 1)).await,
            Err(StoreError::Conflict(_))
        ),
        "not while it is being sent"
    );
    store
        .finish_delivery(
            &id,
            1,
            Outcome::Failed {
                reason: "410 Gone".into(),
            },
            later(now, 2),
        )
        .await
        .unwrap();
    assert_eq!(
        store
            .claim_delivery(&id, user, Channel::Webhook, later(now, 3), later(now, 63))
            .await
            .unwrap(),
        Claim::AlreadyFailed
    );
    store.reopen_delivery(&id, later(now, 4)).await.unwrap();
    store
        .reopen_delivery(&id, later(now, 5))
        .await
        .expect("reopening twice is harmless");
    assert!(matches!(
        store.delivery(&id).await.unwrap().unwrap().state,
        DeliveryState::Retrying { .. }
    ));
    assert_eq!(
        store
            .claim_delivery(&id, user, Channel::Webhook, later(now, 6), later(now, 66))
            .await
            .unwrap(),
        Claim::Claimed { attempt: 2 },
        "the retry claims it as the next attempt"
    );
    store
        .finish_delivery(&id, 2, Outcome::Sent { provider_id: None }, later(now, 7))
        .await
        .unwrap();
    assert!(
        matches!(
            store.reopen_delivery(&id, later(now, 8)).await,
            Err(StoreError::Conflict(_))
        ),
        "a sent delivery is never reopened"
    );
    // A claim whose worker died (its lease lapsed) counts as failed.
    let orphan = format!("dedup-{}", ListingId::generate());
    store
        .claim_delivery(&orphan, user, Channel::Email, now, later(now, 60))
        .await
        .unwrap();
    store
        .reopen_delivery(&orphan, later(now, 61))
        .await
        .unwrap();
    assert!(matches!(
        store.delivery(&orphan).await.unwrap().unwrap().state,
        DeliveryState::Retrying { .. }
    ));
}
