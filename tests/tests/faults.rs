//! Faults injected into the alert pipeline's dependencies — webhook receivers that fail, fall
//! silent or trickle their answers; SES throttling and rejections; DynamoDB throttling and
//! conditional-check races; the AWS emulator stopped mid-run — and what must hold through all of
//! them: no alert lost, none sent twice, every failure visible in the delivery record, the
//! failed-deliveries list or the dead-letter queue, and the pipeline recovering by itself.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use dealpulse_alerts::deliver::{Deliverer, DeliverySettings, Senders};
use dealpulse_alerts::matcher::Matcher;
use dealpulse_alerts::worker::{pump_deliveries, pump_events};
use dealpulse_alerts::AlertSettings;
use dealpulse_domain::clock::SystemClock;
use dealpulse_domain::delivery::DeliveryState;
use dealpulse_domain::events::{CatalogEvent, EventEnvelope};
use dealpulse_domain::money::{Currency, Money};
use dealpulse_domain::ports::Store;
use dealpulse_domain::preferences::Channel;
use dealpulse_domain::queue::Queue;
use dealpulse_local::{Database, OutboxMailer, SmsOutbox, SqliteQueue, SqliteStore};
use dealpulse_outbound::webhooks::WebhookSender;
use dealpulse_outbound::HttpNotifiers;
use dealpulse_tests::alerts::{alert_user, keyword_rule, listing};
use dealpulse_tests::http_recorder::{Fault, HttpRecorder};
use dealpulse_tests::loopback_fetcher;
use jiff::Timestamp;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn usd(amount: &str) -> Money {
    Money::parse(amount, Currency::parse("USD").unwrap()).unwrap()
}

/// Twelve alerts to one webhook. Each delivery's first request meets a different fault — a
/// 500, a 429, silence past the sender's timeout, a 2xx whose body trickles past it — and its
/// later requests are answered normally. Every alert reaches the receiver accepted exactly once;
/// the failed first attempts show in the delivery records; nothing is dead-lettered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_errors_silence_and_slow_bodies_still_deliver_each_alert_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(&dir.path().join("dealpulse.db")).unwrap();
    let clock = Arc::new(SystemClock);
    let store: Arc<dyn Store> = Arc::new(SqliteStore::new(db.clone()));
    let queue = |name: &str, dead: &str| {
        Arc::new(SqliteQueue::with_dead_letters(
            db.clone(),
            clock.clone(),
            name,
            dead,
            5,
        ))
    };
    let events = queue("catalog-events", "catalog-events-dlq");
    let deliveries = queue("deliveries", "deliveries-dlq");
    let dead_letters = SqliteQueue::plain(db.clone(), clock.clone(), "deliveries-dlq");

    let recorder = HttpRecorder::start(200, r#"{"id":"42"}"#);
    let faults = [
        Fault::Status(500),
        Fault::Status(429),
        Fault::Silence(Duration::from_secs(3)),
        // 11 body bytes, 250 ms apart: the status arrives at once, the body after the timeout.
        Fault::SlowBody(Duration::from_millis(250)),
    ];
    let seen: Mutex<Vec<String>> = Mutex::new(Vec::new());
    recorder.inject(move |_, headers| {
        let id = headers.get("webhook-id")?.clone();
        let mut seen = seen.lock().unwrap();
        if seen.contains(&id) {
            return None;
        }
        seen.push(id);
        Some(faults[(seen.len() - 1) % faults.len()])
    });
    let origin: url::Url = recorder.base_url().parse().unwrap();
    let endpoints = Arc::new(
        WebhookSender::new(Arc::new(loopback_fetcher(recorder.port)), Some(origin))
            .with_timeout(Duration::from_secs(1)),
    );
    let push = HttpNotifiers::new(
        Some(recorder.base_url().parse().unwrap()),
        BTreeSet::new(),
        p256::SecretKey::from_slice(&[7; 32]).unwrap(),
        "ops@dealpulse.test",
    )
    .unwrap()
    .push;
    let mut settings = DeliverySettings::new(
        "http://dealpulse.test",
        b"unsubscribe key".to_vec(),
        b"click key".to_vec(),
    );
    settings.backoff_base = Duration::from_millis(50);
    settings.backoff_cap = Duration::from_millis(200);
    let lease = settings.lease;
    let deliverer = Deliverer::new(
        store.clone(),
        Senders {
            mailer: Arc::new(
                OutboxMailer::new(&dir.path().join("outbox"), "alerts@dealpulse.test").unwrap(),
            ),
            sms: Arc::new(SmsOutbox::new(&dir.path().join("sms")).unwrap()),
            endpoints,
            push,
        },
        clock.clone(),
        settings,
    );
    let matcher = Matcher::new(
        store.clone(),
        deliveries.clone(),
        clock.clone(),
        AlertSettings::default(),
    );

    let now = Timestamp::now();
    let user = alert_user(store.as_ref(), &[Channel::Webhook], now).await;
    keyword_rule(store.as_ref(), user.id, "kayak", now).await;
    let bodies: Vec<String> = (0..12)
        .map(|n| {
            let event = CatalogEvent::ListingObserved {
                listing: Box::new(listing(
                    &format!("Sea kayak model {n}"),
                    usd(&format!("{}", 400 + n)),
                    now,
                )),
                previous_price: None,
            };
            serde_json::to_string(&EventEnvelope::new(event, now)).unwrap()
        })
        .collect();
    events.send_batch(&bodies).await.unwrap();

    // Run the workers until every alert's delivery is finished, then a second longer: a copy
    // still queued behind a backoff would show up as a second request.
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut finished_at: Option<Instant> = None;
    while finished_at.is_none_or(|at| at.elapsed() < Duration::from_secs(1)) {
        pump_events(&matcher, events.as_ref(), 10).await.unwrap();
        let delivered = pump_deliveries(&deliverer, deliveries.as_ref(), lease)
            .await
            .unwrap();
        if finished_at.is_none() && all_final(store.as_ref(), &recorder, 12).await {
            finished_at = Some(Instant::now());
        }
        assert!(
            Instant::now() < deadline,
            "the deliveries did not finish: {} webhook requests",
            recorder.requests().len()
        );
        if delivered == 0 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    let mut by_id: BTreeMap<String, Vec<u16>> = BTreeMap::new();
    for request in recorder.requests() {
        by_id
            .entry(request.headers["webhook-id"].clone())
            .or_default()
            .push(request.status);
    }
    assert_eq!(by_id.len(), 12, "one webhook id per alert: {by_id:?}");
    for (id, statuses) in &by_id {
        let accepted = statuses.iter().filter(|s| **s == 200).count();
        assert_eq!(accepted, 1, "{id} accepted {accepted} times: {statuses:?}");
        let record = store
            .delivery(id)
            .await
            .unwrap()
            .expect("a delivery record");
        assert!(
            matches!(record.state, DeliveryState::Sent { .. }),
            "{id}: {record:?}"
        );
        // The first request decides: failed ones were retried once, the trickling 2xx was not.
        let expected_attempts = if statuses[0] == 200 { 1 } else { 2 };
        assert_eq!(statuses.len(), expected_attempts, "{id}: {statuses:?}");
        assert_eq!(
            record.attempt as usize, expected_attempts,
            "{id}: {record:?}"
        );
    }
    let first: Vec<u16> = by_id.values().map(|statuses| statuses[0]).collect();
    for status in [500, 429, 0, 200] {
        assert_eq!(
            first.iter().filter(|s| **s == status).count(),
            3,
            "each fault met three deliveries first: {first:?}"
        );
    }
    assert_eq!(dead_letters.depth().await.unwrap(), 0);
}

/// Whether `expected` distinct deliveries reached the recorder and each is finished (sent or
/// failed for good).
async fn all_final(store: &dyn Store, recorder: &HttpRecorder, expected: usize) -> bool {
    let ids: BTreeSet<String> = recorder
        .requests()
        .into_iter()
        .filter_map(|request| request.headers.get("webhook-id").cloned())
        .collect();
    if ids.len() < expected {
        return false;
    }
    for id in &ids {
        match store.delivery(id).await {
            Ok(Some(record))
                if matches!(
                    record.state,
                    DeliveryState::Sent { .. } | DeliveryState::Failed { .. }
                ) => {}
            _ => return false,
        }
    }
    true
}
