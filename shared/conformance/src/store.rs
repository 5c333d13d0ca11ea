//! The Store port's contract.

use dealpulse_domain::account::*;
use dealpulse_domain::ids::*;
use dealpulse_domain::ports::{Store, StoreError};
use dealpulse_domain::secret::{random_token, TokenHash};
use jiff::{SignedDuration, Timestamp};

pub use crate::counters::*;
pub use crate::deliveries::*;
pub use crate::records::*;
pub use crate::sources::*;

fn unique_email() -> Email {
    Email::parse(&format!("User.{}@Example.com", UserId::generate())).unwrap()
}

fn later(now: Timestamp, secs: i64) -> Timestamp {
    now.checked_add(SignedDuration::from_secs(secs)).unwrap()
}

pub fn sample_user() -> User {
    let now = Timestamp::now();
    User {
        id: UserId::generate(),
        email: unique_email(),
        password_hash: PasswordHash::from_phc(
            "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
        ),
        display_name: Some(DisplayName::parse("Ada").unwrap()),
        timezone: TimeZoneName::parse("Europe/Berlin").unwrap(),
        locale: Locale::parse("de-DE").unwrap(),
        role: Role::User,
        plan: dealpulse_domain::plans::Plan::Pro,
        status: UserStatus::Active,
        email_verified_at: None,
        password_changed_at: now,
        created_at: now,
        updated_at: now,
        version: 1,
    }
}

pub fn sample_session(user: UserId, refresh: &str) -> Session {
    let now = Timestamp::now();
    Session {
        id: SessionId::generate(),
        user_id: user,
        current_refresh_hash: TokenHash::of(refresh),
        created_at: now,
        last_refreshed_at: now,
        expires_at: later(now, 3600),
        revoked_at: None,
        user_agent: Some("conformance/1.0".into()),
    }
}

pub fn sample_key(user: UserId) -> (ApiKey, String) {
    let secret = format!("dp_test_{}", random_token().unwrap());
    let key = ApiKey {
        id: ApiKeyId::generate(),
        user_id: user,
        name: ApiKeyName::parse("ci").unwrap(),
        prefix: secret[..11].to_string(),
        secret_hash: TokenHash::of(&secret),
        created_at: Timestamp::now(),
        last_used_at: None,
        revoked_at: None,
        scopes: ApiKeyScope::account_only(),
        ingest_source: None,
    };
    (key, secret)
}

pub async fn users_round_trip_by_id_and_case_insensitive_email(store: &dyn Store) {
    let user = sample_user();
    store.insert_user(&user).await.unwrap();
    assert_eq!(store.user_by_id(user.id).await.unwrap(), Some(user.clone()));
    let shouted = Email::parse(&user.email.as_str().to_uppercase()).unwrap();
    assert_eq!(
        store.user_by_email(&shouted).await.unwrap(),
        Some(user.clone())
    );
    assert_eq!(store.user_by_id(UserId::generate()).await.unwrap(), None);
    assert_eq!(store.user_by_email(&unique_email()).await.unwrap(), None);
}

pub async fn email_addresses_are_unique(store: &dyn Store) {
    let first = sample_user();
    store.insert_user(&first).await.unwrap();
    let mut second = sample_user();
    second.email = first.email.clone();
    let result = store.insert_user(&second).await;
    assert!(matches!(result, Err(StoreError::Conflict(_))), "{result:?}");
    assert_eq!(store.user_by_id(second.id).await.unwrap(), None);
    assert_eq!(
        store
            .user_by_email(&first.email)
            .await
            .unwrap()
            .map(|u| u.id),
        Some(first.id)
    );
}

pub async fn user_updates_are_optimistic(store: &dyn Store) {
    let user = sample_user();
    store.insert_user(&user).await.unwrap();
    let mut edited = user.clone();
    edited.display_name = None;
    edited.status = UserStatus::Suspended;
    edited.role = Role::Admin;
    edited.email_verified_at = Some(Timestamp::now());
    let stored = store.update_user(&edited).await.unwrap();
    assert_eq!(stored.version, 2);
    assert_eq!(stored.display_name, None);
    assert_eq!(stored.status, UserStatus::Suspended);
    assert_eq!(stored.role, Role::Admin);
    assert_eq!(
        store.user_by_id(user.id).await.unwrap(),
        Some(stored.clone())
    );

    // A writer still holding version 1 must not overwrite version 2.
    let mut stale = user.clone();
    stale.locale = Locale::parse("fr").unwrap();
    assert!(matches!(
        store.update_user(&stale).await,
        Err(StoreError::Stale)
    ));
    assert_eq!(store.user_by_id(user.id).await.unwrap(), Some(stored));

    let ghost = sample_user();
    assert!(matches!(
        store.update_user(&ghost).await,
        Err(StoreError::NotFound)
    ));
}

pub async fn deleting_a_user_frees_the_email_and_removes_credentials(store: &dyn Store) {
    let user = sample_user();
    store.insert_user(&user).await.unwrap();
    let session = sample_session(user.id, "refresh-delete");
    store.insert_session(&session).await.unwrap();
    let (key, secret) = sample_key(user.id);
    store.insert_api_key(&key).await.unwrap();
    let token = OneTimeToken {
        hash: TokenHash::of(&random_token().unwrap()),
        purpose: TokenPurpose::VerifyEmail,
        user_id: user.id,
        expires_at: later(Timestamp::now(), 3600),
    };
    store.insert_token(&token).await.unwrap();
    let event = AuditEvent {
        id: AuditEventId::generate(),
        at: Timestamp::now(),
        user_id: Some(user.id),
        actor: None,
        action: "account.registered".into(),
        ip: None,
        detail: serde_json::json!({}),
    };
    store.append_audit(&event).await.unwrap();

    store.delete_user(user.id).await.unwrap();

    assert_eq!(store.user_by_id(user.id).await.unwrap(), None);
    assert_eq!(store.user_by_email(&user.email).await.unwrap(), None);
    assert_eq!(store.session_by_id(session.id).await.unwrap(), None);
    assert_eq!(
        store
            .session_by_refresh_hash(&TokenHash::of("refresh-delete"))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .api_key_by_hash(&TokenHash::of(&secret))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .consume_token(&token.hash, TokenPurpose::VerifyEmail, Timestamp::now())
            .await
            .unwrap(),
        None
    );
    assert_eq!(store.audit_of_user(user.id, 10).await.unwrap(), vec![event]);
    assert!(matches!(
        store.delete_user(user.id).await,
        Err(StoreError::NotFound)
    ));

    let mut again = sample_user();
    again.email = user.email.clone();
    store.insert_user(&again).await.unwrap();
}

pub async fn refresh_tokens_rotate_once_and_replays_are_recognised(store: &dyn Store) {
    let user = sample_user();
    store.insert_user(&user).await.unwrap();
    let session = sample_session(user.id, "refresh-1");
    store.insert_session(&session).await.unwrap();
    assert_eq!(
        store.session_by_id(session.id).await.unwrap(),
        Some(session.clone())
    );
    assert_eq!(
        store
            .session_by_refresh_hash(&TokenHash::of("refresh-1"))
            .await
            .unwrap(),
        Some(session.clone())
    );

    let now = Timestamp::now();
    let expires = later(now, 7200);
    store
        .rotate_refresh(
            session.id,
            &TokenHash::of("refresh-1"),
            &TokenHash::of("refresh-2"),
            now,
            expires,
        )
        .await
        .unwrap();
    let rotated = store.session_by_id(session.id).await.unwrap().unwrap();
    assert_eq!(rotated.current_refresh_hash, TokenHash::of("refresh-2"));
    assert_eq!(rotated.expires_at, expires);
    assert_eq!(rotated.last_refreshed_at, now);

    // The old token still leads to its session, whose current token is now a different one.
    let via_old = store
        .session_by_refresh_hash(&TokenHash::of("refresh-1"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(via_old.id, session.id);
    assert_ne!(via_old.current_refresh_hash, TokenHash::of("refresh-1"));

    assert!(matches!(
        store
            .rotate_refresh(
                session.id,
                &TokenHash::of("refresh-1"),
                &TokenHash::of("refresh-x"),
                now,
                expires
            )
            .await,
        Err(StoreError::Stale)
    ));

    store.revoke_session(session.id, now).await.unwrap();
    store.revoke_session(session.id, now).await.unwrap();
    let revoked = store.session_by_id(session.id).await.unwrap().unwrap();
    assert_eq!(revoked.revoked_at, Some(now));
    assert!(!revoked.is_live(now));
    assert!(matches!(
        store
            .rotate_refresh(
                session.id,
                &TokenHash::of("refresh-2"),
                &TokenHash::of("refresh-3"),
                now,
                expires
            )
            .await,
        Err(StoreError::Stale)
    ));
}

pub async fn concurrent_rotations_of_one_token_let_exactly_one_win(store: &dyn Store) {
    let user = sample_user();
    store.insert_user(&user).await.unwrap();
    let session = sample_session(user.id, "race-0");
    store.insert_session(&session).await.unwrap();
    let now = Timestamp::now();
    let attempts = (0..8).map(|i| {
        let next = TokenHash::of(&format!("race-{}", i + 1));
        async move {
            store
                .rotate_refresh(
                    session.id,
                    &TokenHash::of("race-0"),
                    &next,
                    now,
                    later(now, 60),
                )
                .await
        }
    });
    let outcomes = futures::future::join_all(attempts).await;
    let wins = outcomes.iter().filter(|outcome| outcome.is_ok()).count();
    assert_eq!(wins, 1, "{outcomes:?}");
    assert!(outcomes
        .iter()
        .all(|outcome| matches!(outcome, Ok(()) | Err(StoreError::Stale))));
}

pub async fn revoking_all_sessions_of_a_user_leaves_others_alone(store: &dyn Store) {
    let user = sample_user();
    let other = sample_user();
    store.insert_user(&user).await.unwrap();
    store.insert_user(&other).await.unwrap();
    let first = sample_session(user.id, &random_token().unwrap());
    let second = sample_session(user.id, &random_token().unwrap());
    let theirs = sample_session(other.id, &random_token().unwrap());
    for session in [&first, &second, &theirs] {
        store.insert_session(session).await.unwrap();
    }
    let listed: Vec<SessionId> = store
        .sessions_of_user(user.id)
        .await
        .unwrap()
        .iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(listed, vec![second.id, first.id], "newest first");

    let now = Timestamp::now();
    store.revoke_session(first.id, now).await.unwrap();
    assert_eq!(store.revoke_user_sessions(user.id, now).await.unwrap(), 1);
    assert!(store
        .sessions_of_user(user.id)
        .await
        .unwrap()
        .iter()
        .all(|s| s.revoked_at.is_some()));
    assert_eq!(
        store
            .session_by_id(theirs.id)
            .await
            .unwrap()
            .unwrap()
            .revoked_at,
        None
    );
}

pub async fn api_keys_are_found_by_hash_and_revoked_only_by_their_owner(store: &dyn Store) {
    // An ingest key keeps its scope and source.
    let owner = sample_user();
    store.insert_user(&owner).await.unwrap();
    let (mut ingest, ingest_secret) = sample_key(owner.id);
    ingest.scopes = std::collections::BTreeSet::from([ApiKeyScope::Ingest]);
    ingest.ingest_source =
        Some(dealpulse_domain::listing::SourceName::parse("partner-acme").unwrap());
    store.insert_api_key(&ingest).await.unwrap();
    assert_eq!(
        store
            .api_key_by_hash(&TokenHash::of(&ingest_secret))
            .await
            .unwrap(),
        Some(ingest)
    );

    let owner = sample_user();
    let stranger = sample_user();
    store.insert_user(&owner).await.unwrap();
    store.insert_user(&stranger).await.unwrap();
    let (first, first_secret) = sample_key(owner.id);
    let (second, _) = sample_key(owner.id);
    store.insert_api_key(&first).await.unwrap();
    store.insert_api_key(&second).await.unwrap();

    assert_eq!(
        store
            .api_key_by_hash(&TokenHash::of(&first_secret))
            .await
            .unwrap(),
        Some(first.clone())
    );
    assert_eq!(
        store
            .api_key_by_hash(&TokenHash::of("dp_nope"))
            .await
            .unwrap(),
        None
    );
    let ids: Vec<ApiKeyId> = store
        .api_keys_of_user(owner.id)
        .await
        .unwrap()
        .iter()
        .map(|k| k.id)
        .collect();
    assert_eq!(ids, vec![second.id, first.id], "newest first");
    assert!(store
        .api_keys_of_user(stranger.id)
        .await
        .unwrap()
        .is_empty());

    let now = Timestamp::now();
    assert!(matches!(
        store.revoke_api_key(stranger.id, first.id, now).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store
            .revoke_api_key(owner.id, ApiKeyId::generate(), now)
            .await,
        Err(StoreError::NotFound)
    ));
    let revoked = store.revoke_api_key(owner.id, first.id, now).await.unwrap();
    assert_eq!(revoked.revoked_at, Some(now));
    assert_eq!(
        store
            .api_key_by_hash(&TokenHash::of(&first_secret))
            .await
            .unwrap()
            .unwrap()
            .revoked_at,
        Some(now)
    );

    let used = later(now, 5);
    store
        .touch_api_key(&TokenHash::of(&first_secret), used)
        .await
        .unwrap();
    assert_eq!(
        store
            .api_key_by_hash(&TokenHash::of(&first_secret))
            .await
            .unwrap()
            .unwrap()
            .last_used_at,
        Some(used)
    );
}

pub async fn one_time_tokens_are_single_use_purpose_bound_and_expire(store: &dyn Store) {
    let user = sample_user();
    store.insert_user(&user).await.unwrap();
    let now = Timestamp::now();
    let token = OneTimeToken {
        hash: TokenHash::of(&random_token().unwrap()),
        purpose: TokenPurpose::ResetPassword,
        user_id: user.id,
        expires_at: later(now, 600),
    };
    store.insert_token(&token).await.unwrap();

    assert_eq!(
        store
            .consume_token(&token.hash, TokenPurpose::VerifyEmail, now)
            .await
            .unwrap(),
        None,
        "wrong purpose neither matches nor burns the token"
    );
    assert_eq!(
        store
            .consume_token(&token.hash, TokenPurpose::ResetPassword, later(now, 600))
            .await
            .unwrap(),
        None,
        "expired at its expiry instant"
    );
    assert_eq!(
        store
            .consume_token(&token.hash, TokenPurpose::ResetPassword, now)
            .await
            .unwrap(),
        Some(token.clone())
    );
    assert_eq!(
        store
            .consume_token(&token.hash, TokenPurpose::ResetPassword, now)
            .await
            .unwrap(),
        None,
        "second use"
    );
}

pub async fn concurrent_consumers_of_one_token_get_it_once(store: &dyn Store) {
    let user = sample_user();
    store.insert_user(&user).await.unwrap();
    let now = Timestamp::now();
    let token = OneTimeToken {
        hash: TokenHash::of(&random_token().unwrap()),
        purpose: TokenPurpose::VerifyEmail,
        user_id: user.id,
        expires_at: later(now, 600),
    };
    store.insert_token(&token).await.unwrap();
    let outcomes = futures::future::join_all(
        (0..8).map(|_| store.consume_token(&token.hash, TokenPurpose::VerifyEmail, now)),
    )
    .await;
    let winners = outcomes
        .into_iter()
        .map(|outcome| outcome.unwrap())
        .filter(Option::is_some)
        .count();
    assert_eq!(winners, 1);
}

pub async fn audit_events_list_newest_first_per_user(store: &dyn Store) {
    let user = sample_user();
    let other = UserId::generate();
    let start = Timestamp::now();
    let mut appended = Vec::new();
    for (offset, action) in ["a", "b", "c"].iter().enumerate() {
        let event = AuditEvent {
            id: AuditEventId::generate(),
            at: later(start, offset as i64),
            user_id: Some(user.id),
            actor: Some("cli".into()),
            action: action.to_string(),
            ip: Some("192.0.2.1".into()),
            detail: serde_json::json!({ "n": offset }),
        };
        store.append_audit(&event).await.unwrap();
        appended.push(event);
    }
    store
        .append_audit(&AuditEvent {
            id: AuditEventId::generate(),
            at: start,
            user_id: Some(other),
            actor: None,
            action: "x".into(),
            ip: None,
            detail: serde_json::json!(null),
        })
        .await
        .unwrap();
    let listed = store.audit_of_user(user.id, 10).await.unwrap();
    appended.reverse();
    assert_eq!(listed, appended);
    let limited = store.audit_of_user(user.id, 2).await.unwrap();
    assert_eq!(limited, appended[..2].to_vec());
}

pub async fn rate_counters_count_per_key_and_window_atomically(store: &dyn Store) {
    let key = format!("test:{}", UserId::generate());
    let window = Timestamp::from_second(1_700_000_000).unwrap();
    let expires = Timestamp::now()
        .checked_add(SignedDuration::from_hours(1))
        .unwrap();
    assert_eq!(store.count_hit(&key, window, expires).await.unwrap(), 1);
    assert_eq!(store.count_hit(&key, window, expires).await.unwrap(), 2);
    let next_window = later(window, 60);
    assert_eq!(
        store.count_hit(&key, next_window, expires).await.unwrap(),
        1
    );
    let other_key = format!("{key}:other");
    assert_eq!(
        store.count_hit(&other_key, window, expires).await.unwrap(),
        1
    );

    let concurrent =
        futures::future::join_all((0..20).map(|_| store.count_hit(&key, next_window, expires)))
            .await;
    let mut counts: Vec<u32> = concurrent.into_iter().map(|c| c.unwrap()).collect();
    counts.sort_unstable();
    assert_eq!(
        counts,
        (2..=21).collect::<Vec<u32>>(),
        "every hit counted once"
    );
}

pub async fn audit_ips_of_a_user_are_forgotten(store: &dyn Store) {
    let (ann, bob) = (UserId::generate(), UserId::generate());
    for (user, action) in [
        (ann, "login.succeeded"),
        (ann, "rule.created"),
        (bob, "login.succeeded"),
    ] {
        store
            .append_audit(&AuditEvent {
                id: AuditEventId::generate(),
                at: Timestamp::now(),
                user_id: Some(user),
                actor: None,
                action: action.into(),
                ip: Some("203.0.113.7".into()),
                detail: serde_json::json!({}),
            })
            .await
            .unwrap();
    }
    assert_eq!(store.forget_audit_ips(ann).await.unwrap(), 2);
    let kept = store.audit_of_user(ann, 10).await.unwrap();
    assert_eq!(kept.len(), 2, "the events stay");
    assert!(kept.iter().all(|event| event.ip.is_none()));
    let actions: Vec<&str> = kept.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["rule.created", "login.succeeded"]);
    assert_eq!(
        store.audit_of_user(bob, 10).await.unwrap()[0].ip.as_deref(),
        Some("203.0.113.7"),
        "other users' events keep theirs"
    );
    assert_eq!(store.forget_audit_ips(ann).await.unwrap(), 0, "done once");
}

pub async fn ping_answers(store: &dyn Store) {
    store.ping().await.unwrap();
}

/// Expands every store case into a test for the fixture built by `$fixture` (an async fn
/// returning `Fixture<dyn Store>`).
#[macro_export]
macro_rules! store_conformance {
    ($fixture:path) => {
        $crate::store_conformance!(@cases $fixture;
            users_round_trip_by_id_and_case_insensitive_email,
            email_addresses_are_unique,
            user_updates_are_optimistic,
            deleting_a_user_frees_the_email_and_removes_credentials,
            refresh_tokens_rotate_once_and_replays_are_recognised,
            concurrent_rotations_of_one_token_let_exactly_one_win,
            revoking_all_sessions_of_a_user_leaves_others_alone,
            api_keys_are_found_by_hash_and_revoked_only_by_their_owner,
            one_time_tokens_are_single_use_purpose_bound_and_expire,
            concurrent_consumers_of_one_token_get_it_once,
            audit_events_list_newest_first_per_user,
            rate_counters_count_per_key_and_window_atomically,
            ping_answers,
            audit_ips_of_a_user_are_forgotten,
            every_record_kind_round_trips,
            documents_list_by_owner_and_kind_in_key_order,
            every_document_of_a_kind_lists_across_owners,
            document_updates_are_optimistic,
            concurrent_updates_of_one_version_let_exactly_one_win,
            document_deletes_honour_versions_and_free_the_quota,
            quota_holds_under_concurrent_inserts,
            duplicate_document_keys_conflict,
            deleting_a_user_removes_their_documents,
            products_are_shared_by_canonical_url,
            price_points_list_oldest_first_within_a_range,
            listings_list_newest_first_since_and_replace_by_id,
            due_products_are_claimed_once_until_the_lease_lapses,
            concurrent_scrapers_split_due_products_without_overlap,
            saved_products_keep_their_state_and_schedule,
            products_list_by_host_in_id_order,
            feeds_round_trip_with_unique_names_and_only_enabled_ones_fall_due,
            host_health_counts_every_check,
            a_delivery_is_claimed_once_and_its_result_ends_it,
            lapsed_and_retrying_claims_are_retaken_with_fencing,
            concurrent_claims_of_one_delivery_let_exactly_one_win,
            a_failed_delivery_can_be_reopened_once_for_a_retry,
            counters_add_up_and_read_back_in_order,
            the_newest_documents_page_backwards_by_key,
            documents_page_forward_from_a_key,
            extremes_keep_the_lowest_and_the_highest_offer,
            price_points_and_new_listings_roll_up_once,
            users_list_by_signup_month_newest_first,
            audit_events_list_by_day_newest_first,
            stores_keep_account_and_document_tallies_with_each_write
        );
    };
    (@cases $fixture:path; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let fixture = $fixture().await;
                $crate::store::$case(&*fixture.port).await;
                drop(fixture);
            }
        )*
    };
}
