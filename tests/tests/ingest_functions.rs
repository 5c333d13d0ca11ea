//! The ingestion functions as compiled binaries (`cargo lambda watch` + `cargo lambda invoke
//! --data-file events/...`) against moto: `scrape` checks a fixture shop on 127.0.0.1 and
//! publishes to an EventBridge bus whose rule copies events to an SQS queue we read;
//! `api-ingest` serves partner pushes and the admin routes; `ingest-email` reads a newsletter
//! from an S3 object, as SES's receipt rule stores it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use dealpulse_api::auth::tokens::{SigningSecret, TokenKeys};
use dealpulse_aws::dynamodb::DynamoStore;
use dealpulse_conformance::store::{sample_key, sample_session, sample_user};
use dealpulse_domain::account::{ApiKeyScope, Role};
use dealpulse_domain::events::CatalogEvent;
use dealpulse_domain::ids::{ListingId, SourceId};
use dealpulse_domain::listing::{SourceName, TrackedProduct};
use dealpulse_domain::money::Currency;
use dealpulse_domain::ports::{ApiKeyRepository, SessionRepository, UserRepository};
use dealpulse_domain::ports::{CatalogRepository, SourceRepository};
use dealpulse_domain::sources::{CheckResult, CheckState, FeedFormat, FeedSource};
use dealpulse_lambda::{TOKEN_AUDIENCE, TOKEN_ISSUER};
use dealpulse_tests::aws::{create_table, drain_events, event_bus_to_queue, sdk_config};
use dealpulse_tests::fixture_shop;
use dealpulse_tests::lambda::{events_dir, invoke_event, start_watch, write_env_file};
use dealpulse_tests::{moto, unique};
use jiff::Timestamp;
use std::collections::{BTreeMap, BTreeSet};

const JWT_SECRET: &str = "ingest-test-secret-of-at-least-32-bytes!";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingestion_functions_run_every_event_against_moto() {
    let moto = moto::shared();
    let config = sdk_config(moto).await;
    let table = unique("dealpulse-ingest");
    create_table(&aws_sdk_dynamodb::Client::new(&config), &table).await;
    let (bus, tap) = event_bus_to_queue(&config).await;
    let sqs = aws_sdk_sqs::Client::new(&config);
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&config), table.clone());
    let shop = fixture_shop::start().await;

    let espresso = store
        .insert_product(&TrackedProduct::new(
            shop.url("/p/espresso"),
            "127.0.0.1",
            Timestamp::now(),
        ))
        .await
        .unwrap();
    let blocked = store
        .insert_product(&TrackedProduct::new(
            shop.url("/p/blocked"),
            "127.0.0.1",
            Timestamp::now(),
        ))
        .await
        .unwrap();
    let feed = FeedSource {
        id: SourceId::generate(),
        name: SourceName::parse("fixture-deals").unwrap(),
        url: shop.url("/feed.xml"),
        format: FeedFormat::Auto,
        mapping: None,
        category: None,
        currency: Currency::parse("USD").ok(),
        enabled: true,
        created_at: Timestamp::now(),
        check: CheckState::default(),
        last_item_count: None,
    };
    store.insert_feed(&feed).await.unwrap();

    let work = tempfile::tempdir().unwrap();
    let env = [
        ("AWS_ENDPOINT_URL", moto.endpoint.clone()),
        ("AWS_REGION", "us-east-1".into()),
        ("AWS_ACCESS_KEY_ID", "testing".into()),
        ("AWS_SECRET_ACCESS_KEY", "testing".into()),
        ("DEALPULSE_TABLE", table.clone()),
        ("DEALPULSE_EVENT_BUS", bus.clone()),
        ("DEALPULSE_FETCH_LOOPBACK_PORTS", shop.port.to_string()),
        ("DEALPULSE_FETCH_MIN_DELAY_MS", "0".into()),
        ("DEALPULSE_SCRAPE_BUDGET_SECONDS", "60".into()),
        ("DEALPULSE_PUBLIC_URL", "https://app.dealpulse.test".into()),
        ("DEALPULSE_JWT_SECRET", JWT_SECRET.into()),
        ("DEALPULSE_INBOUND_DOMAIN", "inbound.dealpulse.test".into()),
        (
            "DEALPULSE_INBOUND_SYSTEM_SENDERS",
            "@fares.example.com".into(),
        ),
    ];
    let watch = start_watch(&write_env_file(work.path(), &env));
    let mut values = BTreeMap::new();
    let mut used = BTreeSet::new();

    // An administrator with a session, and a partner's ingest key, made in the table directly.
    let mut boss = sample_user();
    boss.role = Role::Admin;
    store.insert_user(&boss).await.unwrap();
    let session = sample_session(boss.id, "refresh-token-of-the-boss");
    store.insert_session(&session).await.unwrap();
    let keys = TokenKeys::new(
        &SigningSecret::new(JWT_SECRET.as_bytes().to_vec()).unwrap(),
        TOKEN_ISSUER,
        TOKEN_AUDIENCE,
    );
    values.insert(
        "ACCESS_TOKEN",
        keys.issue_access(boss.id, session.id, Role::Admin, Timestamp::now(), 3600),
    );
    let (mut ingest, ingest_secret) = sample_key(boss.id);
    ingest.scopes = BTreeSet::from([ApiKeyScope::Ingest]);
    ingest.ingest_source = Some(SourceName::parse("partner-acme").unwrap());
    store.insert_api_key(&ingest).await.unwrap();
    values.insert("INGEST_KEY", ingest_secret);

    // scrape: a scheduled tick checks everything due.
    let report = invoke_event(&watch, "scrape", "scheduled", &values).unwrap();
    used.insert("scrape/scheduled.json".to_string());
    assert_eq!(report["products_checked"], 2, "{report:#}");
    assert_eq!(report["feeds_checked"], 1, "{report:#}");
    assert_eq!(report["results"]["ok"], 2, "{report:#}");
    assert_eq!(report["results"]["blocked"], 1, "{report:#}");
    assert_eq!(report["listings_observed"], 3, "{report:#}");
    assert_eq!(report["failures"], serde_json::json!([]));
    let checked = store.product_by_id(espresso.id).await.unwrap().unwrap();
    assert_eq!(checked.current_price.unwrap().to_string(), "279.00 EUR");
    let refused = store.product_by_id(blocked.id).await.unwrap().unwrap();
    assert_eq!(refused.current_price, None);
    assert_eq!(refused.check.last_result, Some(CheckResult::Blocked));
    let events = drain_events(&sqs, &tap).await;
    let kinds: BTreeMap<String, usize> = events.iter().fold(BTreeMap::new(), |mut m, e| {
        *m.entry(e.detail_type.clone()).or_default() += 1;
        m
    });
    assert_eq!(kinds.get("price.changed"), Some(&1), "{kinds:?}");
    assert_eq!(kinds.get("listing.observed"), Some(&3), "{kinds:?}");
    assert!(events.iter().any(|e| matches!(&e.detail,
        CatalogEvent::PriceChanged { product, .. } if product.product_id == espresso.id)));
    let health = store.host_health().await.unwrap();
    assert_eq!(health[0].total(), 3);

    // A second tick finds nothing due.
    let idle = invoke_event(&watch, "scrape", "scheduled", &values).unwrap();
    assert_eq!(idle["products_checked"], 0, "{idle:#}");

    // Anything but a schedule is refused without touching the table.
    let error = invoke_event(&watch, "scrape", "not-a-schedule", &values).unwrap_err();
    used.insert("scrape/not-a-schedule.json".to_string());
    assert!(error.contains("NotAScheduledEvent"), "{error}");

    // api-ingest: a partner push with a result per item, announced on the bus.
    let mut call = |event: &str, status: u64, values: &BTreeMap<&str, String>| {
        let answer = invoke_event(&watch, "api-ingest", event, values)
            .unwrap_or_else(|e| panic!("{event}: {e}"));
        assert_eq!(answer["statusCode"], status, "{event}: {answer:#}");
        used.insert(format!("api-ingest/{event}.json"));
        serde_json::from_str::<serde_json::Value>(answer["body"].as_str().unwrap_or("null"))
            .unwrap_or_default()
    };
    let pushed = call("push-listings", 200, &values);
    assert_eq!(pushed["accepted"], 2, "{pushed:#}");
    assert_eq!(pushed["rejected"], 1);
    assert_eq!(pushed["results"][2]["errors"][0]["field"], "url");
    let bike: ListingId = pushed["results"][1]["listing_id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let stored = store.listing_by_id(bike).await.unwrap().unwrap();
    assert_eq!(stored.source.as_str(), "partner-acme");
    let announced = drain_events(&sqs, &tap).await;
    assert_eq!(
        announced
            .iter()
            .filter(|e| e.detail_type == "listing.observed")
            .count(),
        2
    );
    call("push-listings-with-session", 403, &values);
    call("push-listings-empty", 422, &values);
    let feed = call("create-feed", 201, &values);
    values.insert("FEED_ID", feed["id"].as_str().unwrap().to_string());
    call("create-feed-invalid", 422, &values);
    let feeds = call("list-feeds", 200, &values);
    assert_eq!(feeds["items"].as_array().unwrap().len(), 2);
    let paused = call("update-feed", 200, &values);
    assert_eq!(paused["enabled"], false);
    call("delete-feed", 204, &values);
    let hosts = call("hosts", 200, &values);
    assert_eq!(hosts["items"][0]["host"], "127.0.0.1");

    // ingest-email: SES stored a newsletter in the bucket; the notification names it.
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&config)
            .force_path_style(true)
            .build(),
    );
    let bucket = unique("inbound");
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    let key = format!("inbound/{}", unique("ses-message"));
    let newsletter =
        "From: Fare Alerts <news@fares.example.com>\r\nTo: deals@inbound.dealpulse.test\r\n\
Subject: Deals\r\nX-SES-Spam-Verdict: PASS\r\nX-SES-Virus-Verdict: PASS\r\nMIME-Version: 1.0\r\n\
Content-Type: text/plain; charset=utf-8\r\n\r\n\
Boston (BOS) to Lisbon (LIS) - $389 round trip, nonstop on TAP, March to May\r\n\
Chicago (ORD) - Rome (FCO): \u{20ac}412 return\r\n";
    s3.put_object()
        .bucket(&bucket)
        .key(&key)
        .body(newsletter.as_bytes().to_vec().into())
        .send()
        .await
        .unwrap();
    values.insert("BUCKET", bucket.clone());
    values.insert("KEY", key.clone());
    let received = invoke_event(&watch, "ingest-email", "message-stored", &values).unwrap();
    used.insert("ingest-email/message-stored.json".to_string());
    let mail = &received["mails"][0];
    assert_eq!(mail["status"], "accepted", "{received:#}");
    assert_eq!(mail["deals"], 2);
    assert_eq!(mail["raw_ref"], format!("s3://{bucket}/{key}"));
    let announced = drain_events(&sqs, &tap).await;
    assert_eq!(announced.len(), 2, "{announced:?}");
    // A retried delivery of the same object finds its record: no second one, no new events.
    let again = invoke_event(&watch, "ingest-email", "message-stored", &values).unwrap();
    assert_eq!(again["mails"][0]["id"], mail["id"]);
    let mails =
        dealpulse_domain::records::records::<dealpulse_domain::inbound::InboundMail>(&store)
            .list(dealpulse_domain::ids::UserId::system())
            .await
            .unwrap();
    assert_eq!(mails.len(), 1);
    let missing = invoke_event(&watch, "ingest-email", "object-missing", &values).unwrap_err();
    used.insert("ingest-email/object-missing.json".to_string());
    assert!(missing.contains("ObjectUnreadable"), "{missing}");
    let removed = invoke_event(&watch, "ingest-email", "object-removed", &values).unwrap_err();
    used.insert("ingest-email/object-removed.json".to_string());
    assert!(removed.contains("NotAnS3Event"), "{removed}");

    // Every event file of these functions is exercised.
    for function in ["scrape", "api-ingest", "ingest-email"] {
        for entry in std::fs::read_dir(events_dir().join(function)).unwrap() {
            let name = format!(
                "{function}/{}",
                entry.unwrap().file_name().to_string_lossy()
            );
            assert!(used.contains(&name), "{name} has no test");
        }
    }
    drop(watch);
}
