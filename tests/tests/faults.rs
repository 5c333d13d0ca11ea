//! Faults injected into the alert pipeline's dependencies — webhook receivers that fail, fall
//! silent or trickle their answers; SES throttling and rejections; DynamoDB throttling and
//! conditional-check races; the AWS emulator stopped mid-run — and what must hold through all of
//! them: no alert lost, none sent twice, every failure visible in the delivery record, the
//! failed-deliveries list or the dead-letter queue, and the pipeline recovering by itself.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use dealpulse_alerts::deliver::{Deliverer, DeliverySettings, Senders};
use dealpulse_alerts::failures::FailedDelivery;
use dealpulse_alerts::matcher::Matcher;
use dealpulse_alerts::model::AlertRecord;
use dealpulse_alerts::worker::{pump_deliveries, pump_events};
use dealpulse_alerts::AlertSettings;
use dealpulse_aws::dynamodb::DynamoStore;
use dealpulse_aws::ses::SesMailer;
use dealpulse_aws::sqs::SqsQueue;
use dealpulse_domain::clock::SystemClock;
use dealpulse_domain::delivery::{DeliveryRecord, DeliveryState};
use dealpulse_domain::events::{CatalogEvent, EventEnvelope};
use dealpulse_domain::ids::UserId;
use dealpulse_domain::money::{Currency, Money};
use dealpulse_domain::ports::Store;
use dealpulse_domain::preferences::Channel;
use dealpulse_domain::queue::Queue;
use dealpulse_domain::records::records;
use dealpulse_local::{Database, OutboxMailer, SmsOutbox, SqliteQueue, SqliteStore};
use dealpulse_outbound::webhooks::WebhookSender;
use dealpulse_outbound::{HttpNotifiers, SmsNotConfigured};
use dealpulse_tests::alerts::{alert_user, keyword_rule, listing};
use dealpulse_tests::aws::{
    create_queue_pair, create_table, sdk_config, ses_sent, verify_sender, SENDER,
};
use dealpulse_tests::fault_proxy::{AwsError, FaultProxy};
use dealpulse_tests::http_recorder::{Fault, HttpRecorder};
use dealpulse_tests::{loopback_fetcher, moto, unique};
use jiff::Timestamp;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn usd(amount: &str) -> Money {
    Money::parse(amount, Currency::parse("USD").unwrap()).unwrap()
}

/// `listing.observed` events (JSON) for `count` "Sea kayak model N" listings from `base` dollars up.
fn kayak_events(count: usize, base: usize, now: Timestamp) -> Vec<String> {
    (0..count)
        .map(|n| {
            let event = CatalogEvent::ListingObserved {
                listing: Box::new(listing(
                    &format!("Sea kayak model {n}"),
                    usd(&format!("{}", base + n)),
                    now,
                )),
                previous_price: None,
            };
            serde_json::to_string(&EventEnvelope::new(event, now)).unwrap()
        })
        .collect()
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
    let bodies = kayak_events(12, 400, now);
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

/// The alert pipeline on the AWS adapters (DynamoDB store, SQS queues, SES mail), each client
/// built from its own SDK configuration so a test can route one service through a fault proxy.
struct AwsPipeline {
    store: Arc<dyn Store>,
    events: Arc<SqsQueue>,
    deliveries: Arc<SqsQueue>,
    dead_letters: Arc<SqsQueue>,
    matcher: Matcher,
    deliverer: Deliverer,
    lease: Duration,
}

struct Routes<'a> {
    /// Creates the table and queues and verifies the sender (no faults there).
    setup: &'a aws_config::SdkConfig,
    dynamodb: &'a aws_config::SdkConfig,
    sqs: &'a aws_config::SdkConfig,
    ses: &'a aws_config::SdkConfig,
}

/// SDK retries and backoff as in production but with millisecond backoffs, so the tests wait
/// for the faults, not for jitter.
fn quick_retries(config: &aws_config::SdkConfig) -> aws_config::SdkConfig {
    config
        .to_builder()
        .retry_config(
            aws_config::retry::RetryConfig::standard()
                .with_initial_backoff(Duration::from_millis(20))
                .with_max_backoff(Duration::from_millis(200)),
        )
        .build()
}

/// Which service goes through the fault proxy.
enum Proxied {
    Ses,
    DynamoDb,
}

/// The pipeline on the shared moto with one service behind a fresh fault proxy.
async fn proxied_pipeline(proxied: Proxied) -> (AwsPipeline, FaultProxy, HttpRecorder) {
    let moto = moto::shared();
    let direct = quick_retries(&sdk_config(moto).await);
    let proxy = FaultProxy::start(&moto.endpoint).await;
    let via_proxy = direct.to_builder().endpoint_url(&proxy.endpoint).build();
    let recorder = HttpRecorder::start(200, "{}");
    let (dynamodb, ses) = match proxied {
        Proxied::Ses => (&direct, &via_proxy),
        Proxied::DynamoDb => (&via_proxy, &direct),
    };
    let pipeline = aws_pipeline(
        Routes {
            setup: &direct,
            dynamodb,
            sqs: &direct,
            ses,
        },
        &recorder,
    )
    .await;
    (pipeline, proxy, recorder)
}

async fn aws_pipeline(routes: Routes<'_>, recorder: &HttpRecorder) -> AwsPipeline {
    let table = unique("dealpulse-faults");
    create_table(&aws_sdk_dynamodb::Client::new(routes.setup), &table).await;
    let store: Arc<dyn Store> = Arc::new(DynamoStore::new(
        aws_sdk_dynamodb::Client::new(routes.dynamodb),
        table,
    ));
    let setup = aws_sdk_sqs::Client::new(routes.setup);
    let (events_url, _) = create_queue_pair(&setup, 5).await;
    let (deliveries_url, dead_letters_url) = create_queue_pair(&setup, 5).await;
    let sqs = aws_sdk_sqs::Client::new(routes.sqs);
    let events = Arc::new(SqsQueue::new(sqs.clone(), events_url));
    let deliveries = Arc::new(SqsQueue::new(sqs.clone(), deliveries_url));
    let dead_letters = Arc::new(SqsQueue::new(sqs, dead_letters_url));
    verify_sender(routes.setup).await;
    let http = HttpNotifiers::new(
        Some(recorder.base_url().parse().unwrap()),
        BTreeSet::new(),
        p256::SecretKey::from_slice(&[7; 32]).unwrap(),
        SENDER,
    )
    .unwrap();
    let mut settings = DeliverySettings::new(
        "https://app.dealpulse.test",
        b"key".to_vec(),
        b"click key".to_vec(),
    );
    settings.backoff_base = Duration::from_millis(200);
    settings.backoff_cap = Duration::from_secs(1);
    // A delivery whose outcome could not be written is claimable again after this.
    settings.lease = Duration::from_secs(3);
    let lease = settings.lease;
    let clock = Arc::new(SystemClock);
    AwsPipeline {
        matcher: Matcher::new(
            store.clone(),
            deliveries.clone(),
            clock.clone(),
            AlertSettings::default(),
        ),
        deliverer: Deliverer::new(
            store.clone(),
            Senders {
                mailer: Arc::new(SesMailer::new(
                    aws_sdk_sesv2::Client::new(routes.ses),
                    SENDER,
                    None,
                )),
                sms: Arc::new(SmsNotConfigured),
                endpoints: http.endpoints,
                push: http.push,
            },
            clock,
            settings,
        ),
        store,
        events,
        deliveries,
        dead_letters,
        lease,
    }
}

impl AwsPipeline {
    async fn publish(&self, titles: &[String], copies: usize) {
        let now = Timestamp::now();
        for (n, title) in titles.iter().enumerate() {
            let event = CatalogEvent::ListingObserved {
                listing: Box::new(listing(title, usd(&format!("{}", 300 + n)), now)),
                previous_price: None,
            };
            let body = serde_json::to_string(&EventEnvelope::new(event, now)).unwrap();
            for _ in 0..copies {
                self.events
                    .send_batch(std::slice::from_ref(&body))
                    .await
                    .unwrap();
            }
        }
    }

    async fn assert_nothing_dead_lettered(&self) {
        let dead = self
            .dead_letters
            .receive(10, Duration::from_secs(1))
            .await
            .unwrap();
        assert!(dead.is_empty(), "dead-lettered: {dead:?}");
    }

    /// Runs `workers` delivery workers beside the matcher until every planned delivery of the
    /// users' `expected` alerts is finished, then two seconds more (late copies would show).
    /// Queue and store errors are what faults cause: they are counted, never fatal.
    async fn run(&self, users: &[UserId], expected: usize, workers: usize) -> usize {
        let deadline = Instant::now() + Duration::from_secs(120);
        let mut finished_at: Option<Instant> = None;
        let mut errors = 0;
        while finished_at.is_none_or(|at| at.elapsed() < Duration::from_secs(2)) {
            errors += usize::from(
                pump_events(&self.matcher, self.events.as_ref(), 10)
                    .await
                    .is_err(),
            );
            let rounds =
                futures::future::join_all((0..workers).map(|_| {
                    pump_deliveries(&self.deliverer, self.deliveries.as_ref(), self.lease)
                }))
                .await;
            let delivered: usize = rounds.iter().map(|r| *r.as_ref().unwrap_or(&0)).sum();
            errors += rounds.iter().filter(|r| r.is_err()).count();
            if finished_at.is_none()
                && finished_deliveries(self.store.as_ref(), users)
                    .await
                    .is_some_and(|done| done.len() == expected)
            {
                finished_at = Some(Instant::now());
            }
            assert!(
                Instant::now() < deadline,
                "the deliveries did not finish: {:?}",
                finished_deliveries(self.store.as_ref(), users)
                    .await
                    .map(|d| d.len())
            );
            if delivered == 0 {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        errors
    }
}

/// The users' planned deliveries with their records, when every one is finished (sent or
/// failed for good); `None` while any is missing or under way, or the store cannot be read.
async fn finished_deliveries(store: &dyn Store, users: &[UserId]) -> Option<Vec<DeliveryRecord>> {
    let mut done = Vec::new();
    for user in users {
        let alerts = records::<AlertRecord>(store).list(*user).await.ok()?;
        for planned in alerts.iter().flat_map(|alert| &alert.deliveries) {
            let id = planned.delivery_id.clone()?;
            let record = store.delivery(&id).await.ok()??;
            match record.state {
                DeliveryState::Sent { .. } | DeliveryState::Failed { .. } => done.push(record),
                _ => return None,
            }
        }
    }
    Some(done)
}

/// Accepted (2xx) webhook requests per webhook id.
fn accepted_by_id(recorder: &HttpRecorder) -> BTreeMap<String, usize> {
    let mut accepted = BTreeMap::new();
    for request in recorder.requests() {
        let id = &request.headers["webhook-id"];
        let count = accepted.entry(id.clone()).or_insert(0);
        if request.status == 200 {
            *count += 1;
        }
    }
    accepted
}

/// SES answers the first seven sends with throttling (429 `TooManyRequestsException`) and
/// refuses every message to one address (`MessageRejected`). Throttled mail is sent once the
/// throttling stops; the refused address's three alerts fail for good, each once, listed for an
/// administrator with SES's reason; no message is sent twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ses_throttling_is_waited_out_and_rejections_are_final_and_listed() {
    let (p, proxy, _recorder) = proxied_pipeline(Proxied::Ses).await;
    let now = Timestamp::now();
    let mut users = Vec::new();
    let mut addresses = Vec::new();
    for _ in 0..4 {
        let user = alert_user(p.store.as_ref(), &[Channel::Email], now).await;
        keyword_rule(p.store.as_ref(), user.id, "canoe", now).await;
        users.push(user.id);
        addresses.push(user.email.as_str().to_string());
    }
    let refused = addresses[0].clone();
    let throttled = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = throttled.clone();
    proxy.inject(move |request| {
        if request.path != "/v2/email/outbound-emails" {
            return None;
        }
        if request.text().contains(&refused) {
            return Some(AwsError {
                status: 400,
                code: "MessageRejected",
                message: "Email address is on the account-level suppression list.",
            });
        }
        (counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst) < 7).then_some(AwsError {
            status: 429,
            code: "TooManyRequestsException",
            message: "Maximum sending rate exceeded.",
        })
    });
    let titles: Vec<String> = (0..3).map(|n| format!("Canoe paddle set {n}")).collect();
    p.publish(&titles, 1).await;
    p.run(&users, 12, 2).await;

    let done = finished_deliveries(p.store.as_ref(), &users).await.unwrap();
    let sent = done
        .iter()
        .filter(|record| matches!(record.state, DeliveryState::Sent { .. }))
        .count();
    assert_eq!((done.len(), sent), (12, 9), "{done:?}");
    assert_eq!(proxy.count("TooManyRequestsException", true), 7);
    assert_eq!(
        proxy.count("MessageRejected", true),
        3,
        "a refusal is not retried"
    );
    let sent_mail = ses_sent(moto::shared()).await;
    for address in &addresses[1..] {
        let mine = sent_mail.iter().filter(|m| &m.to == address).count();
        assert_eq!(mine, 3, "{address} got {mine} messages");
    }
    assert!(sent_mail.iter().all(|m| m.to != addresses[0]));
    let failed: Vec<FailedDelivery> = records::<FailedDelivery>(p.store.as_ref())
        .list(UserId::system())
        .await
        .unwrap()
        .into_iter()
        .filter(|f| f.user == users[0])
        .collect();
    assert_eq!(failed.len(), 3, "{failed:?}");
    assert!(
        failed.iter().all(|f| f.reason.contains("MessageRejected")),
        "{failed:?}"
    );
    p.assert_nothing_dead_lettered().await;
}

/// DynamoDB throttles every fourth request (`ProvisionedThroughputExceededException`) while each
/// catalogue event arrives three times and two delivery workers race for the same messages, so
/// the store's conditional writes really fail (the duplicate alert, the taken claim). Twenty
/// deals reach the webhook each accepted exactly once, and nothing is dead-lettered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamodb_throttling_and_conditional_races_lose_and_duplicate_nothing() {
    let (p, proxy, recorder) = proxied_pipeline(Proxied::DynamoDb).await;
    let now = Timestamp::now();
    let user = alert_user(p.store.as_ref(), &[Channel::Webhook], now).await;
    keyword_rule(p.store.as_ref(), user.id, "kayak", now).await;
    let seen = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    proxy.inject(move |request| {
        request.target.as_ref()?;
        let n = seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
        n.is_multiple_of(4).then_some(AwsError {
            status: 400,
            code: "ProvisionedThroughputExceededException",
            message: "The level of configured provisioned throughput for the table was exceeded.",
        })
    });
    let titles: Vec<String> = (0..20).map(|n| format!("Sea kayak model {n}")).collect();
    p.publish(&titles, 3).await;
    p.run(&[user.id], 20, 2).await;

    let accepted = accepted_by_id(&recorder);
    assert_eq!(accepted.len(), 20, "one webhook id per deal: {accepted:?}");
    assert!(
        accepted.values().all(|&n| n == 1),
        "each accepted once: {accepted:?}"
    );
    let throttled = proxy.count("ProvisionedThroughputExceededException", true);
    let races = proxy.count("ConditionalCheckFailedException", false)
        + proxy.count("TransactionCanceledException", false);
    assert!(throttled >= 20, "throttled {throttled} requests");
    assert!(races > 0, "no conditional write lost a race");
    p.assert_nothing_dead_lettered().await;
    println!("throttled {throttled} DynamoDB requests; {races} conditional writes lost a race");
}

/// The emulator behind every AWS client is stopped (SIGSTOP: connections hang, nothing answers)
/// for eight seconds while ten alerts are on their way, then continued. Calls time out instead
/// of hanging, the workers see the errors and carry on, and once it is back every alert
/// reaches the webhook exactly once: sends whose outcome could not be written during the
/// outage are recorded when their message comes back, not sent again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_emulator_stopped_mid_run_loses_nothing_and_the_pipeline_recovers() {
    let moto = Arc::new(moto::dedicated());
    let setup = sdk_config(&moto).await;
    // Production's timeouts scaled down, so the outage outlasts several attempts.
    let config = quick_retries(&setup)
        .to_builder()
        .timeout_config(
            aws_config::timeout::TimeoutConfig::builder()
                .connect_timeout(Duration::from_millis(500))
                .operation_attempt_timeout(Duration::from_millis(700))
                .operation_timeout(Duration::from_secs(2))
                .build(),
        )
        .build();
    let recorder = Arc::new(HttpRecorder::start(200, "{}"));
    // Slow answers keep deliveries in flight when the emulator stops.
    recorder.inject(|_, _| Some(Fault::Delay(Duration::from_millis(300))));
    let p = aws_pipeline(
        Routes {
            setup: &setup,
            dynamodb: &config,
            sqs: &config,
            ses: &config,
        },
        &recorder,
    )
    .await;
    let now = Timestamp::now();
    let user = alert_user(p.store.as_ref(), &[Channel::Webhook], now).await;
    keyword_rule(p.store.as_ref(), user.id, "kayak", now).await;
    let titles: Vec<String> = (0..10).map(|n| format!("Sea kayak model {n}")).collect();
    p.publish(&titles, 1).await;

    let outage = {
        let (moto, recorder) = (moto.clone(), recorder.clone());
        tokio::spawn(async move {
            while recorder.requests().len() < 3 {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            moto.pause();
            tokio::time::sleep(Duration::from_secs(8)).await;
            moto.resume();
        })
    };
    let started = Instant::now();
    let errors = p.run(&[user.id], 10, 2).await;
    outage.await.unwrap();

    let accepted = accepted_by_id(&recorder);
    assert_eq!(accepted.len(), 10, "one webhook id per deal: {accepted:?}");
    assert!(
        accepted.values().all(|&n| n == 1),
        "every deal accepted exactly once: {accepted:?}"
    );
    // The outage shows in the records: deliveries whose outcome write failed were claimed again.
    let finished = finished_deliveries(p.store.as_ref(), &[user.id])
        .await
        .unwrap();
    let retried = finished.iter().filter(|r| r.attempt > 1).count();
    assert!(retried > 0, "no delivery met the outage: {finished:?}");
    p.assert_nothing_dead_lettered().await;
    let alerts = records::<AlertRecord>(p.store.as_ref())
        .list(user.id)
        .await
        .unwrap();
    assert_eq!(alerts.len(), 10, "one alert per deal");
    println!(
        "outage of 8 s: {retried} deliveries claimed again, {errors} failed worker rounds, drained in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

/// `target/debug/dealpulse`, built once per test binary (cargo test builds libraries, not the
/// binary of a dependency).
fn dealpulse_binary() -> std::path::PathBuf {
    static BUILT: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| {
            let root = dealpulse_tests::workspace_root();
            let status = std::process::Command::new("cargo")
                .args(["build", "--quiet", "--bin", "dealpulse"])
                .current_dir(&root)
                .status()
                .expect("cargo build");
            assert!(status.success(), "cargo build --bin dealpulse");
            let target = std::env::var_os("CARGO_TARGET_DIR")
                .map(std::path::PathBuf::from)
                .unwrap_or_else(|| root.join("target"));
            target.join("debug/dealpulse")
        })
        .clone()
}

/// `dealpulse serve` as a child process, SIGKILLed when dropped (or by [`Serve::kill`]).
struct Serve {
    child: std::process::Child,
}

impl Serve {
    /// Starts on a port the system picks and waits for the banner in the process's log (a
    /// port chosen here could be taken by a parallel test in between).
    async fn start(data_dir: &std::path::Path, notify_origin: &str) -> Self {
        static STARTS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let start = STARTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let log_path = data_dir.join(format!("serve-{start}.log"));
        let log = std::fs::File::create(&log_path).unwrap();
        let child = std::process::Command::new(dealpulse_binary())
            .arg("serve")
            .arg("--data-dir")
            .arg(data_dir)
            .args(["--addr", "127.0.0.1:0"])
            .args(["--notify-origin", notify_origin])
            .args(["--delivery-lease-seconds", "20"])
            .args(["--scrape-every-seconds", "0"])
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("dealpulse serve");
        let deadline = Instant::now() + Duration::from_secs(30);
        while !std::fs::read_to_string(&log_path)
            .unwrap_or_default()
            .contains("DealPulse is serving on")
        {
            assert!(Instant::now() < deadline, "serve did not come up");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Self { child }
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Forty alerts (ten deals, four users) on their way from `dealpulse serve` to slow webhook
/// receivers when the process is SIGKILLed; a new process on the same data directory finishes
/// the work by itself. No alert is lost or created twice; a webhook id arrives twice only for a
/// delivery the receiver had accepted but the dead process had not yet recorded (the
/// at-least-once window a receiver closes by de-duplicating on `webhook-id`); the interrupted
/// deliveries show as second attempts in their records.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_killed_mid_pipeline_finishes_the_work_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let recorder = HttpRecorder::start(200, "{}");
    recorder.inject(|_, _| Some(Fault::Delay(Duration::from_millis(400))));
    let now = Timestamp::now();
    let mut users = Vec::new();
    {
        // The accounts, rules and queued catalogue events, written as serve would find them.
        let db = Database::open(&dir.path().join("dealpulse.db")).unwrap();
        let store = SqliteStore::new(db.clone());
        for _ in 0..4 {
            let user = alert_user(&store, &[Channel::Webhook], now).await;
            keyword_rule(&store, user.id, "kayak", now).await;
            users.push(user.id);
        }
        let events = SqliteQueue::with_dead_letters(
            db,
            Arc::new(SystemClock),
            "catalog-events",
            "catalog-events-dlq",
            5,
        );
        let bodies = kayak_events(10, 500, now);
        events.send_batch(&bodies).await.unwrap();
    }
    let reader: Arc<dyn Store> = Arc::new(SqliteStore::new(
        Database::open(&dir.path().join("dealpulse.db")).unwrap(),
    ));

    let mut first = Serve::start(dir.path(), &recorder.base_url()).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let planned = planned_ids(reader.as_ref(), &users).await.len();
        if planned == 40 && recorder.requests().len() >= 8 {
            break;
        }
        assert!(Instant::now() < deadline, "serve matched {planned} of 40");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    first.kill();
    let killed_at = Instant::now();
    // Requests already on the wire still arrive; then: what the receivers had taken in, and what the dead process had claimed but not finished.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let received_before = accepted_by_id(&recorder);
    let mut unrecorded = BTreeSet::new();
    for id in received_before.keys() {
        let record = reader.delivery(id).await.unwrap();
        if !matches!(record.map(|r| r.state), Some(DeliveryState::Sent { .. })) {
            unrecorded.insert(id.clone());
        }
    }
    let mut interrupted = BTreeSet::new();
    for id in planned_ids(reader.as_ref(), &users).await {
        if let Some(record) = reader.delivery(&id).await.unwrap() {
            if matches!(record.state, DeliveryState::InProgress { .. }) {
                interrupted.insert(id);
            }
        }
    }
    assert!(
        !interrupted.is_empty(),
        "the kill came after the work was done"
    );

    let _second = Serve::start(dir.path(), &recorder.base_url()).await;
    let deadline = Instant::now() + Duration::from_secs(90);
    while finished_deliveries(reader.as_ref(), &users)
        .await
        .is_none_or(|done| done.len() < 40)
    {
        assert!(
            Instant::now() < deadline,
            "the restarted serve did not finish: {:?}",
            finished_deliveries(reader.as_ref(), &users)
                .await
                .map(|done| done.len())
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let recovered_in = killed_at.elapsed();
    // Late copies would show within a second.
    tokio::time::sleep(Duration::from_secs(1)).await;

    let accepted = accepted_by_id(&recorder);
    assert_eq!(accepted.len(), 40, "one webhook id per alert and user");
    let repeated: BTreeSet<String> = accepted
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(id, _)| id.clone())
        .collect();
    assert!(
        accepted.values().all(|&n| (1..=2).contains(&n)),
        "{accepted:?}"
    );
    assert!(
        repeated.is_subset(&unrecorded),
        "repeated {repeated:?}, but only {unrecorded:?} were accepted and unrecorded at the kill"
    );
    let finished = finished_deliveries(reader.as_ref(), &users).await.unwrap();
    assert!(finished
        .iter()
        .all(|r| matches!(r.state, DeliveryState::Sent { .. })));
    let claimed_again: BTreeSet<String> = finished
        .iter()
        .filter(|r| r.attempt > 1)
        .map(|r| r.id.clone())
        .collect();
    assert_eq!(
        claimed_again, interrupted,
        "interrupted deliveries are second attempts"
    );
    for user in &users {
        let alerts = records::<AlertRecord>(reader.as_ref())
            .list(*user)
            .await
            .unwrap();
        assert_eq!(alerts.len(), 10, "one alert per deal");
    }
    println!(
        "SIGKILL with {} of 40 deliveries being sent; {} received but unrecorded, {} sent twice; \
         all 40 finished {:.1} s after the kill (lease 20 s)",
        interrupted.len(),
        unrecorded.len(),
        repeated.len(),
        recovered_in.as_secs_f64()
    );
}

/// The delivery ids of the users' alerts, as the matcher planned them.
async fn planned_ids(store: &dyn Store, users: &[UserId]) -> Vec<String> {
    let mut ids = Vec::new();
    for user in users {
        if let Ok(alerts) = records::<AlertRecord>(store).list(*user).await {
            ids.extend(
                alerts
                    .iter()
                    .flat_map(|alert| &alert.deliveries)
                    .filter_map(|d| d.delivery_id.clone()),
            );
        }
    }
    ids
}
