//! Alert pipeline fixtures shared by the local and the Lambda tests: a verified user with
//! channels set up, a keyword rule, a listing. Written through the store port, so they work on
//! SQLite and DynamoDB alike.

use dealpulse_conformance::store::sample_user;
use dealpulse_domain::account::User;
use dealpulse_domain::channels::{
    ChannelEndpoint, EndpointKind, PhoneNumber, PhoneSetup, PushSubscription,
};
use dealpulse_domain::ids::{EndpointId, ListingId, PushSubscriptionId, UserId};
use dealpulse_domain::listing::{Listing, SourceName};
use dealpulse_domain::money::Money;
use dealpulse_domain::net::{PublicUrl, Schemes};
use dealpulse_domain::ports::Store;
use dealpulse_domain::preferences::{Channel, NotificationPreferences};
use dealpulse_domain::query::Query;
use dealpulse_domain::records::records;
use dealpulse_domain::rules::{AlertRule, RuleName};
use jiff::Timestamp;

/// A verified user whose preferences turn on `channels`, with a Discord and a generic webhook
/// endpoint, a verified phone and a push subscription (each used only when its channel is on).
pub async fn alert_user(store: &dyn Store, channels: &[Channel], now: Timestamp) -> User {
    let mut user = sample_user();
    user.email_verified_at = Some(now);
    store.insert_user(&user).await.unwrap();
    let mut prefs = NotificationPreferences::defaults(user.id, now);
    prefs.channels = channels.iter().copied().collect();
    records::<NotificationPreferences>(store)
        .insert(&prefs, None)
        .await
        .unwrap();
    for (kind, url) in [
        (
            EndpointKind::Discord,
            "https://discord.com/api/webhooks/123/tok",
        ),
        (EndpointKind::Webhook, "https://hooks.example.com/dealpulse"),
    ] {
        let endpoint = ChannelEndpoint {
            id: EndpointId::generate(),
            owner: user.id,
            kind,
            url: PublicUrl::parse(url, Schemes::HttpsOnly).unwrap(),
            label: None,
            signing_secret: Some("whsec_c2VjcmV0".into()),
            enabled: true,
            created_at: now,
            updated_at: now,
            last_tested_at: None,
            version: 0,
        };
        records::<ChannelEndpoint>(store)
            .insert(&endpoint, None)
            .await
            .unwrap();
    }
    let phone = PhoneSetup {
        owner: user.id,
        number: PhoneNumber::parse("+14155550123").unwrap(),
        verified_at: Some(now),
        pending: None,
        updated_at: now,
        version: 0,
    };
    records::<PhoneSetup>(store)
        .insert(&phone, None)
        .await
        .unwrap();
    let browser = p256::SecretKey::from_slice(&[9; 32]).unwrap();
    use base64::Engine;
    use p256::elliptic_curve::sec1::ToEncodedPoint;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let push = PushSubscription {
        id: PushSubscriptionId::generate(),
        owner: user.id,
        endpoint: PublicUrl::parse(
            "https://fcm.googleapis.com/fcm/send/abc",
            Schemes::HttpsOnly,
        )
        .unwrap(),
        p256dh: b64.encode(browser.public_key().to_encoded_point(false).as_bytes()),
        auth: b64.encode([3u8; 16]),
        user_agent: None,
        created_at: now,
        version: 0,
    };
    records::<PushSubscription>(store)
        .insert(&push, None)
        .await
        .unwrap();
    user
}

/// An enabled keyword rule without cooldown; moves the matching stamp as the rules API does.
pub async fn keyword_rule(
    store: &dyn Store,
    owner: UserId,
    query: &str,
    now: Timestamp,
) -> AlertRule {
    let rule = AlertRule {
        cooldown_minutes: 0,
        ..AlertRule::new(
            owner,
            RuleName::parse(&format!("Rule {query}")).unwrap(),
            Query::parse(query).unwrap(),
            now,
        )
    };
    let stored = records::<AlertRule>(store)
        .insert(&rule, None)
        .await
        .unwrap();
    dealpulse_domain::records::bump_matching_stamp(store)
        .await
        .unwrap();
    stored
}

/// A `listing.observed` event for a fresh listing, as JSON (what a catalogue queue carries).
pub fn listing_event_json(title: &str, price: Money) -> String {
    let now = Timestamp::now();
    let envelope = dealpulse_domain::events::EventEnvelope::new(
        dealpulse_domain::events::CatalogEvent::ListingObserved {
            listing: Box::new(listing(title, price, now)),
            previous_price: None,
        },
        now,
    );
    serde_json::to_string(&envelope).unwrap()
}

/// A listing from the `demo` source.
pub fn listing(title: &str, price: Money, now: Timestamp) -> Listing {
    Listing {
        id: ListingId::generate(),
        source: SourceName::parse("demo").unwrap(),
        url: format!("https://deals.example.com/{}", title.replace(' ', "-")),
        title: title.into(),
        description: String::new(),
        price,
        was_price: None,
        category: None,
        condition: None,
        location: None,
        score: None,
        flight: None,
        seen_at: now,
        audience: None,
    }
}
