//! The alert pipeline as local mode runs it — SQLite store and queues, the outbox mailer and SMS
//! outbox, Discord/webhook/push spoken to a recorder on 127.0.0.1 — with an injected clock: a
//! price drop on the fixture shop reaches every enabled channel exactly once, redelivered
//! messages change nothing, quiet hours hold an alert until they end, and the daily cap sends
//! the overflow to the next digest.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use dealpulse_alerts::deliver::{Deliverer, DeliverySettings, Senders};
use dealpulse_alerts::digest::DigestRun;
use dealpulse_alerts::matcher::Matcher;
use dealpulse_alerts::model::{AlertRecord, Plan};
use dealpulse_alerts::worker::{pump_deliveries, pump_events};
use dealpulse_alerts::AlertSettings;
use dealpulse_domain::clock::{Clock, ManualClock};
use dealpulse_domain::events::{CatalogEvent, EventEnvelope};
use dealpulse_domain::ids::{UserId, WatchId};
use dealpulse_domain::listing::{Listing, TrackedProduct};
use dealpulse_domain::mail::OutboxReader;
use dealpulse_domain::money::{Currency, Money};
use dealpulse_domain::ports::Store;
use dealpulse_domain::preferences::{Channel, LocalTime, NotificationPreferences, QuietHours};
use dealpulse_domain::queue::Queue;
use dealpulse_domain::records::records;
use dealpulse_domain::rules::AlertRule;
use dealpulse_domain::sms::SmsOutboxReader;
use dealpulse_domain::watch::{Rearm, WatchItem, WatchTrigger};
use dealpulse_fetch::polite::{PoliteFetcher, Politeness};
use dealpulse_ingest::scrape::{ScrapeSettings, Scraper};
use dealpulse_local::{Database, OutboxMailer, QueueEventBus, SmsOutbox, SqliteQueue, SqliteStore};
use dealpulse_outbound::HttpNotifiers;
use dealpulse_tests::alerts::{alert_user, keyword_rule, listing};
use dealpulse_tests::fixture_shop::{self, FixtureShop};
use dealpulse_tests::http_recorder::HttpRecorder;
use dealpulse_tests::loopback_fetcher;
use jiff::{SignedDuration, Timestamp};
use std::collections::BTreeSet;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

struct Pipeline {
    store: Arc<dyn Store>,
    clock: Arc<ManualClock>,
    events: Arc<SqliteQueue>,
    deliveries: Arc<SqliteQueue>,
    dead_letters: Arc<SqliteQueue>,
    outbox: Arc<OutboxMailer>,
    sms: Arc<SmsOutbox>,
    recorder: HttpRecorder,
    matcher: Matcher,
    deliverer: Deliverer,
    digests: DigestRun,
    _dir: tempfile::TempDir,
}

fn eur(amount: &str) -> Money {
    Money::parse(amount, Currency::parse("EUR").unwrap()).unwrap()
}

async fn pipeline(now: Timestamp) -> Pipeline {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(&dir.path().join("dealpulse.db")).unwrap();
    let clock = Arc::new(ManualClock::new(now));
    let store: Arc<dyn Store> = Arc::new(SqliteStore::new(db.clone()));
    let events = Arc::new(SqliteQueue::with_dead_letters(
        db.clone(),
        clock.clone(),
        "catalog-events",
        "catalog-events-dlq",
        5,
    ));
    let deliveries = Arc::new(SqliteQueue::with_dead_letters(
        db.clone(),
        clock.clone(),
        "deliveries",
        "deliveries-dlq",
        5,
    ));
    let dead_letters = Arc::new(SqliteQueue::plain(db, clock.clone(), "deliveries-dlq"));
    let outbox = Arc::new(
        OutboxMailer::new(
            &dir.path().join("outbox"),
            "DealPulse <alerts@dealpulse.test>",
        )
        .unwrap(),
    );
    let sms = Arc::new(SmsOutbox::new(&dir.path().join("sms")).unwrap());
    let recorder = HttpRecorder::start(200, r#"{"id":"42"}"#);
    // The transports as local mode and the deliver function build them, sent to the recorder.
    let http = HttpNotifiers::new(
        Some(recorder.base_url().parse().unwrap()),
        BTreeSet::new(),
        p256::SecretKey::from_slice(&[7; 32]).unwrap(),
        "ops@dealpulse.test",
    )
    .unwrap();
    let senders = Senders {
        mailer: outbox.clone(),
        sms: sms.clone(),
        endpoints: http.endpoints,
        push: http.push,
    };
    let mut settings = DeliverySettings::new(
        "http://dealpulse.test",
        b"unsubscribe key".to_vec(),
        b"click key".to_vec(),
    );
    settings.backoff_base = Duration::from_millis(1);
    settings.backoff_cap = Duration::from_millis(5);
    Pipeline {
        matcher: Matcher::new(
            store.clone(),
            deliveries.clone(),
            clock.clone(),
            AlertSettings::default(),
        ),
        deliverer: Deliverer::new(store.clone(), senders, clock.clone(), settings),
        digests: DigestRun::new(store.clone(), deliveries.clone(), clock.clone()),
        store,
        clock,
        events,
        deliveries,
        dead_letters,
        outbox,
        sms,
        recorder,
        _dir: dir,
    }
}

impl Pipeline {
    /// A verified user with every channel set up.
    async fn user(&self, channels: &[Channel]) -> UserId {
        alert_user(self.store.as_ref(), channels, self.clock.now())
            .await
            .id
    }

    async fn rule(&self, owner: UserId, query: &str) -> AlertRule {
        keyword_rule(self.store.as_ref(), owner, query, self.clock.now()).await
    }

    /// Runs matcher and deliverers until both queues are empty.
    async fn settle(&self) {
        for _ in 0..50 {
            let matched = pump_events(&self.matcher, self.events.as_ref(), 10)
                .await
                .unwrap();
            let delivered = pump_deliveries(
                &self.deliverer,
                self.deliveries.as_ref(),
                Duration::from_secs(120),
            )
            .await
            .unwrap();
            if matched == 0 && delivered == 0 {
                return;
            }
        }
        panic!("the pipeline did not settle");
    }

    async fn mails(&self) -> Vec<dealpulse_domain::mail::OutboxEntry> {
        self.outbox.recent(100).await.unwrap()
    }

    fn paths(&self) -> Vec<String> {
        self.recorder
            .requests()
            .into_iter()
            .map(|r| r.path)
            .collect()
    }

    async fn publish(&self, event: CatalogEvent) {
        let envelope = EventEnvelope::new(event, self.clock.now());
        self.events
            .send_batch(&[serde_json::to_string(&envelope).unwrap()])
            .await
            .unwrap();
    }

    fn listing(&self, title: &str, price: &str) -> Listing {
        listing(title, eur(price), self.clock.now())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_price_drop_reaches_every_enabled_channel_exactly_once() {
    let p = pipeline(Timestamp::now()).await;
    let shop: FixtureShop = fixture_shop::start().await;
    let user = p
        .user(&[
            Channel::Email,
            Channel::Discord,
            Channel::Webhook,
            Channel::Sms,
            Channel::Push,
        ])
        .await;
    // A rule that never matches the shop (it must not fire), and a watch on the espresso page.
    p.rule(user, "rowing machine").await;
    let mut product = TrackedProduct::new(shop.url("/p/espresso"), "127.0.0.1", p.clock.now());
    product.check.interval_minutes = 60;
    let product = p.store.insert_product(&product).await.unwrap();
    let now = p.clock.now();
    let watch = WatchItem {
        id: WatchId::generate(),
        owner: user,
        product_id: product.id,
        listing_id: None,
        label: Some("Espresso".into()),
        trigger: WatchTrigger::TargetPrice { price: eur("250") },
        rearm: Rearm::WhenConditionClears {},
        check_interval_minutes: 60,
        price_when_watched: Some(eur("279")),
        armed: true,
        last_fired_at: None,
        enabled: true,
        created_at: now,
        updated_at: now,
        version: 0,
    };
    records::<WatchItem>(p.store.as_ref())
        .insert(&watch, None)
        .await
        .unwrap();
    dealpulse_domain::records::bump_matching_stamp(p.store.as_ref())
        .await
        .unwrap();

    let fetcher = loopback_fetcher(shop.port);
    let scraper = Scraper::new(
        p.store.clone(),
        Arc::new(QueueEventBus::new(p.events.clone(), p.clock.clone())),
        Arc::new(PoliteFetcher::new(
            fetcher,
            Politeness {
                min_delay: Duration::ZERO,
                ..Politeness::default()
            },
        )),
        p.clock.clone(),
        ScrapeSettings::default(),
    );
    // First check: €279, above the target: no alert.
    scraper.run(Duration::from_secs(10)).await.unwrap();
    p.settle().await;
    assert!(p.mails().await.is_empty());
    assert!(p.recorder.requests().is_empty());

    // The price drops to €239.
    shop.state.espresso_cents.store(23_900, Ordering::SeqCst);
    p.clock.advance(SignedDuration::from_hours(2));
    scraper.run(Duration::from_secs(10)).await.unwrap();
    p.settle().await;

    let mails = p.mails().await;
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert!(
        mails[0].subject.contains("239.00 EUR"),
        "{}",
        mails[0].subject
    );
    assert!(mails[0]
        .headers
        .iter()
        .any(|(n, v)| n == "List-Unsubscribe-Post" && v == "List-Unsubscribe=One-Click"));
    let sms = p.sms.recent_sms(10).await.unwrap();
    assert_eq!(sms.len(), 1, "a target price reached is urgent");
    assert!(sms[0].body.contains("239.00 EUR"));
    let mut paths = p.paths();
    paths.sort();
    assert_eq!(
        paths,
        vec![
            "/api/webhooks/123/tok?wait=true",
            "/dealpulse",
            "/fcm/send/abc"
        ]
    );
    let push = p
        .recorder
        .requests()
        .into_iter()
        .find(|r| r.path == "/fcm/send/abc")
        .unwrap();
    assert_eq!(
        push.headers.get("content-encoding").map(String::as_str),
        Some("aes128gcm")
    );
    assert!(push
        .headers
        .get("authorization")
        .unwrap()
        .starts_with("vapid t="));

    // The watch is disarmed; the log shows the alert with a delivery per destination.
    let stored = records::<WatchItem>(p.store.as_ref())
        .get(user, &watch.id.to_string())
        .await
        .unwrap()
        .unwrap();
    assert!(!stored.armed);
    let log = records::<AlertRecord>(p.store.as_ref())
        .list(user)
        .await
        .unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(
        log[0]
            .deliveries
            .iter()
            .filter(|d| d.delivery_id.is_some())
            .count(),
        5
    );

    // Every delivery message arrives again, three times: nothing more is sent.
    let ids: Vec<String> = log[0]
        .deliveries
        .iter()
        .filter_map(|d| d.delivery_id.clone())
        .collect();
    for id in &ids {
        let record = p.store.delivery(id).await.unwrap().unwrap();
        assert!(
            matches!(
                record.state,
                dealpulse_domain::delivery::DeliveryState::Sent { .. }
            ),
            "{record:?}"
        );
    }
    let bodies: Vec<String> = {
        // Rebuild the tasks the matcher queued by matching the event again (a redelivered event).
        let envelope = EventEnvelope::new(
            CatalogEvent::PriceChanged {
                product: dealpulse_domain::events::ProductSnapshot {
                    product_id: product.id,
                    url: product.url.clone(),
                    title: Some("Espresso".into()),
                    price: Some(eur("239")),
                    in_stock: Some(true),
                },
                from: Some(eur("279")),
                to: eur("239"),
                at: stored.last_fired_at.unwrap(),
                score: None,
            },
            p.clock.now(),
        );
        vec![serde_json::to_string(&envelope).unwrap(); 3]
    };
    p.events.send_batch(&bodies).await.unwrap();
    p.settle().await;
    assert_eq!(p.mails().await.len(), 1);
    assert_eq!(p.recorder.requests().len(), 3);
    assert_eq!(p.sms.recent_sms(10).await.unwrap().len(), 1);
    assert_eq!(p.dead_letters.depth().await.unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quiet_hours_hold_alerts_and_the_daily_cap_overflows_into_the_digest() {
    // 23:30 in Berlin (UTC+1 in November).
    let p = pipeline("2026-11-25T22:30:00Z".parse().unwrap()).await;
    let user = p.user(&[Channel::Email]).await;
    let prefs_records = records::<NotificationPreferences>(p.store.as_ref());
    let mut prefs = prefs_records.get(user, "current").await.unwrap().unwrap();
    prefs.quiet_hours = Some(
        QuietHours::new(
            LocalTime::parse("22:00").unwrap(),
            LocalTime::parse("07:00").unwrap(),
        )
        .unwrap(),
    );
    prefs.max_alerts_per_day = Some(1);
    prefs.digest_hour = 18;
    prefs_records.update(&prefs).await.unwrap();
    p.rule(user, "lamp").await;

    p.publish(CatalogEvent::ListingObserved {
        listing: Box::new(p.listing("Desk lamp", "20")),
        previous_price: None,
    })
    .await;
    p.settle().await;
    assert!(p.mails().await.is_empty(), "held by quiet hours");
    // A second alert the same (local) day is over the cap of one: into the 18:00 digest,
    // even though quiet hours would hold it anyway.
    p.clock.advance(SignedDuration::from_mins(10));
    p.publish(CatalogEvent::ListingObserved {
        listing: Box::new(p.listing("Floor lamp", "45")),
        previous_price: None,
    })
    .await;
    p.settle().await;

    // Held, not lost: the message is hidden in the queue until 07:00 Berlin.
    let log = records::<AlertRecord>(p.store.as_ref())
        .list(user)
        .await
        .unwrap();
    assert_eq!(log.len(), 2);
    assert_eq!(
        log[1].deliveries[0].plan,
        Plan::Digest {
            at: "2026-11-26T17:00:00Z".parse().unwrap()
        }
    );
    assert_eq!(
        log[0].deliveries[0].plan,
        Plan::Held {
            until: "2026-11-26T06:00:00Z".parse().unwrap()
        }
    );
    p.clock.set("2026-11-26T05:55:00Z".parse().unwrap());
    p.settle().await;
    assert!(p.mails().await.is_empty(), "still quiet at 06:55");

    // 07:05: it goes out.
    p.clock.set("2026-11-26T06:05:00Z".parse().unwrap());
    p.settle().await;
    let mails = p.mails().await;
    assert_eq!(mails.len(), 1);
    assert!(mails[0].subject.contains("Desk lamp"));

    assert_eq!(
        p.digests.run().await.unwrap().users,
        0,
        "not due before 18:00"
    );
    p.clock.set("2026-11-26T17:00:00Z".parse().unwrap());
    let report = p.digests.run().await.unwrap();
    assert_eq!((report.users, report.deals, report.queued), (1, 1, 1));
    assert_eq!(
        p.digests.run().await.unwrap().users,
        0,
        "the bucket is emptied once sent"
    );
    p.settle().await;
    let mails = p.mails().await;
    assert_eq!(mails.len(), 2);
    let digest = &mails[0];
    assert!(
        digest.subject.contains("daily DealPulse digest: 1 deal"),
        "{}",
        digest.subject
    );
    assert!(digest.text.contains("Floor lamp") && digest.text.contains("daily alert limit"));
}

fn sourced(p: &Pipeline, source: &str, url: &str, title: &str, price: &str) -> CatalogEvent {
    let mut listing = p.listing(title, price);
    listing.source = dealpulse_domain::listing::SourceName::parse(source).unwrap();
    listing.url = url.into();
    CatalogEvent::ListingObserved {
        listing: Box::new(listing),
        previous_price: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_deal_from_two_sources_is_one_alert() {
    let p = pipeline("2026-11-25T12:00:00Z".parse().unwrap()).await;
    let user = p.user(&[Channel::Email]).await;
    p.rule(user, "headphones").await;

    p.publish(sourced(
        &p,
        "newsletter",
        "https://shop.example/p/wh1000xm5?utm_source=mail",
        "Sony WH-1000XM5 Wireless Headphones Black",
        "278.00",
    ))
    .await;
    p.settle().await;
    // Another source, a reworded title, a price within 1 %.
    let reworded = sourced(
        &p,
        "marketplace",
        "https://market.example/item/991",
        "NEW Sony WH-1000XM5 wireless headphones (black) - free shipping",
        "279.99",
    );
    p.publish(reworded.clone()).await;
    // The shop's own page (without the tracking parameter), another title, the same price.
    p.publish(sourced(
        &p,
        "shop",
        "https://www.shop.example/p/wh1000xm5/",
        "Headphones of the day",
        "278.00",
    ))
    .await;
    // A different model at the same price is a different deal.
    p.publish(sourced(
        &p,
        "marketplace",
        "https://market.example/item/992",
        "Sony WH-1000XM4 Wireless Headphones Black",
        "278.00",
    ))
    .await;
    p.settle().await;
    // The reworded sighting again (a redelivery) changes nothing.
    p.events
        .send_batch(&[serde_json::to_string(&EventEnvelope::new(reworded, p.clock.now())).unwrap()])
        .await
        .unwrap();
    p.settle().await;

    let mails = p.mails().await;
    let subjects: Vec<&str> = mails.iter().map(|m| m.subject.as_str()).collect();
    assert_eq!(mails.len(), 2, "{subjects:?}");
    assert!(subjects.iter().any(|s| s.contains("WH-1000XM5")));
    assert!(subjects.iter().any(|s| s.contains("WH-1000XM4")));
    let log = records::<AlertRecord>(p.store.as_ref())
        .list(user)
        .await
        .unwrap();
    let merged: Vec<&AlertRecord> = log
        .iter()
        .filter(|record| {
            record.deliveries.iter().all(|d| {
                matches!(&d.plan, Plan::Skipped { reason } if reason.contains("the same deal as the alert of"))
            })
        })
        .collect();
    assert_eq!(
        log.len(),
        4,
        "two sent, two merged (the redelivery adds nothing)"
    );
    assert_eq!(merged.len(), 2);
    assert!(merged
        .iter()
        .all(|record| record.deliveries[0].delivery_id.is_none()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_sources_matched_at_the_same_moment_still_give_one_alert() {
    let p = pipeline("2026-11-25T12:00:00Z".parse().unwrap()).await;
    let user = p.user(&[Channel::Email]).await;
    p.rule(user, "espresso").await;
    let first = EventEnvelope::new(
        sourced(
            &p,
            "feed",
            "https://a.example/1",
            "Gaggia Classic Pro espresso machine",
            "399.00",
        ),
        p.clock.now(),
    );
    let second = EventEnvelope::new(
        sourced(
            &p,
            "mail",
            "https://b.example/2",
            "Gaggia Classic Pro Espresso Machine",
            "399.00",
        ),
        p.clock.now(),
    );
    let (a, b) = tokio::join!(p.matcher.handle(&first), p.matcher.handle(&second));
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.alerts + b.alerts, 1, "{a:?} {b:?}");
    assert_eq!(a.merged + b.merged, 1, "{a:?} {b:?}");
    p.settle().await;
    assert_eq!(p.mails().await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_confirmed_report_stops_alerts_on_its_listing_until_it_is_reopened() {
    use dealpulse_domain::reports::{
        apply_report, DealReport, ReportReason, ReportStatus, Resolution,
    };
    let p = pipeline(Timestamp::now()).await;
    let user = p.user(&[Channel::Email]).await;
    p.rule(user, "lamp").await;
    let lamp = p.listing("Desk lamp", "20");
    let mut report = DealReport {
        owner: UserId::system(),
        key: DealReport::key_of(lamp.id, user),
        listing: lamp.id,
        reporter: user,
        reason: ReportReason::WrongPrice,
        note: None,
        title: lamp.title.clone(),
        url: lamp.url.clone(),
        price: lamp.price.to_string(),
        status: ReportStatus::Closed,
        resolution: Some(Resolution::Confirmed),
        admin_note: None,
        created_at: p.clock.now(),
        updated_at: p.clock.now(),
        closed_by: None,
        version: 1,
    };
    apply_report(p.store.as_ref(), &report, p.clock.now())
        .await
        .unwrap();
    p.publish(CatalogEvent::ListingObserved {
        listing: Box::new(lamp.clone()),
        previous_price: None,
    })
    .await;
    // Another lamp is not hidden: the rule still works.
    p.publish(CatalogEvent::ListingObserved {
        listing: Box::new(p.listing("Floor lamp", "45")),
        previous_price: None,
    })
    .await;
    p.settle().await;
    let mails = p.mails().await;
    assert_eq!(mails.len(), 1, "only the floor lamp");
    assert!(
        mails[0].subject.contains("Floor lamp"),
        "{}",
        mails[0].subject
    );

    // Reopened: the listing alerts again at its next sighting.
    report.status = ReportStatus::Open;
    report.resolution = None;
    apply_report(p.store.as_ref(), &report, p.clock.now())
        .await
        .unwrap();
    // Past the rule's cooldown from the floor lamp.
    p.clock.advance(SignedDuration::from_hours(48));
    p.publish(CatalogEvent::ListingObserved {
        listing: Box::new(lamp),
        previous_price: None,
    })
    .await;
    p.settle().await;
    let mails = p.mails().await;
    assert_eq!(mails.len(), 2);
    assert!(mails.iter().any(|mail| mail.subject.contains("Desk lamp")));
}
