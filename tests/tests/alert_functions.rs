//! The alert functions against moto. First as compiled binaries (`cargo lambda watch` +
//! `cargo lambda invoke --data-file events/...`): `match` reads catalogue events from an SQS
//! batch and reports only the unreadable one, `deliver` sends each queued delivery once (a
//! redelivered batch sends nothing), `digest` runs on its schedule, `ses-events` suppresses
//! bounced and complaining addresses so the next alert skips them. Then the handlers as
//! libraries under load: every event sent three times and every fifth webhook request failing,
//! and still each delivery reaches its receiver exactly once or ends in the dead-letter queue.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};
use dealpulse_alerts::deliver::{Deliverer, DeliverySettings, Senders};
use dealpulse_alerts::matcher::Matcher;
use dealpulse_alerts::model::DeliveryTask;
use dealpulse_alerts::AlertSettings;
use dealpulse_api::auth::tokens::{SigningSecret, TokenKeys};
use dealpulse_aws::dynamodb::DynamoStore;
use dealpulse_aws::ses::SesMailer;
use dealpulse_aws::sqs::SqsQueue;
use dealpulse_conformance::store::{sample_session, sample_user};
use dealpulse_domain::account::Role;
use dealpulse_domain::clock::SystemClock;
use dealpulse_domain::delivery::DeliveryRepository;
use dealpulse_domain::ids::UserId;
use dealpulse_domain::mail::{AddressHealth, Suppression};
use dealpulse_domain::money::{Currency, Money};
use dealpulse_domain::ports::Store;
use dealpulse_domain::ports::{AuditRepository, SessionRepository, UserRepository};
use dealpulse_domain::preferences::Channel;
use dealpulse_domain::records::records;
use dealpulse_lambda::{TOKEN_AUDIENCE, TOKEN_ISSUER};
use dealpulse_outbound::{HttpNotifiers, SmsNotConfigured};
use dealpulse_tests::alerts::{alert_user, keyword_rule, listing_event_json};
use dealpulse_tests::aws::{
    create_queue_pair, create_table, sdk_config, ses_sent, verify_sender, SENDER,
};
use dealpulse_tests::http_recorder::HttpRecorder;
use dealpulse_tests::lambda::{events_dir, invoke_event, start_watch, write_env_file};
use dealpulse_tests::{moto, unique};
use deliver::DeliverHandler;
use jiff::Timestamp;
use match_function::MatchHandler;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

const JWT_SECRET: &str = "alerts-test-secret-of-at-least-32-bytes!";
const VAPID_SECRET: &str = "alerts-test-vapid-seed-of-at-least-32-chars";

fn usd(amount: &str) -> Money {
    Money::parse(amount, Currency::parse("USD").unwrap()).unwrap()
}

/// `text` as it goes inside a JSON string: how an event file's `"{{NAME}}"` placeholder takes a
/// message body.
fn json_escaped(text: &str) -> String {
    let quoted = serde_json::to_string(text).unwrap();
    quoted[1..quoted.len() - 1].to_string()
}

/// An SQS event source batch of received messages, as Lambda hands it to a function.
fn sqs_event(messages: &[aws_sdk_sqs::types::Message]) -> Value {
    let records: Vec<Value> = messages
        .iter()
        .map(|m| {
            let count = m
                .attributes()
                .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
                .cloned()
                .unwrap_or_else(|| "1".into());
            json!({
                "messageId": m.message_id().unwrap(),
                "receiptHandle": m.receipt_handle().unwrap(),
                "body": m.body().unwrap(),
                "attributes": {"ApproximateReceiveCount": count},
                "messageAttributes": {},
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:test",
                "awsRegion": "us-east-1",
            })
        })
        .collect();
    json!({ "Records": records })
}

async fn receive(
    sqs: &aws_sdk_sqs::Client,
    url: &str,
    visibility: i32,
) -> Vec<aws_sdk_sqs::types::Message> {
    sqs.receive_message()
        .queue_url(url)
        .max_number_of_messages(10)
        .visibility_timeout(visibility)
        .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
        .send()
        .await
        .unwrap()
        .messages
        .unwrap_or_default()
}

/// Every message of the queue, received once (hidden for a minute).
async fn receive_all(sqs: &aws_sdk_sqs::Client, url: &str) -> Vec<aws_sdk_sqs::types::Message> {
    let mut all = Vec::new();
    loop {
        let batch = receive(sqs, url, 60).await;
        if batch.is_empty() {
            return all;
        }
        all.extend(batch);
    }
}

/// Deletes received messages, as Lambda's event source mapping does with those a batch did not
/// report as failed (otherwise they come back when their visibility ends, mid-test).
async fn delete_all(
    sqs: &aws_sdk_sqs::Client,
    url: &str,
    messages: &[aws_sdk_sqs::types::Message],
) {
    for message in messages {
        sqs.delete_message()
            .queue_url(url)
            .receipt_handle(message.receipt_handle().unwrap())
            .send()
            .await
            .unwrap();
    }
}

/// The messages waiting or in flight.
async fn queue_size(sqs: &aws_sdk_sqs::Client, url: &str) -> u64 {
    let attributes = sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap_or_default();
    attributes
        .values()
        .map(|v| v.parse::<u64>().unwrap_or(0))
        .sum()
}

/// What the event source mapping does after a handler answered: deletes every message not
/// named in `batchItemFailures`.
async fn delete_succeeded(
    sqs: &aws_sdk_sqs::Client,
    url: &str,
    messages: &[aws_sdk_sqs::types::Message],
    answer: &Value,
) {
    let failed: BTreeSet<&str> = answer["batchItemFailures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["itemIdentifier"].as_str().unwrap())
        .collect();
    for message in messages {
        if !failed.contains(message.message_id().unwrap()) {
            sqs.delete_message()
                .queue_url(url)
                .receipt_handle(message.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
        }
    }
}

async fn health(store: &dyn Store, address: &str) -> Option<AddressHealth> {
    records::<AddressHealth>(store)
        .get(UserId::system(), &AddressHealth::key_of(address))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alert_functions_run_every_event_against_moto() {
    let moto = moto::shared();
    let config = sdk_config(moto).await;
    verify_sender(&config).await;
    let table = unique("dealpulse-alerts");
    create_table(&aws_sdk_dynamodb::Client::new(&config), &table).await;
    let sqs = aws_sdk_sqs::Client::new(&config);
    let (queue_url, dlq_url) = create_queue_pair(&sqs, 5).await;
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&config), table.clone());
    let recorder = HttpRecorder::start(200, "{}");
    let now = jiff::Timestamp::now();
    let user = alert_user(&store, &[Channel::Email, Channel::Webhook], now).await;
    keyword_rule(&store, user.id, "espresso", now).await;

    let work = tempfile::tempdir().unwrap();
    let env_file = write_env_file(
        work.path(),
        &[
            ("AWS_ENDPOINT_URL", moto.endpoint.clone()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_ACCESS_KEY_ID", "testing".into()),
            ("AWS_SECRET_ACCESS_KEY", "testing".into()),
            ("DEALPULSE_TABLE", table.clone()),
            ("DEALPULSE_QUEUE_URL", queue_url.clone()),
            ("DEALPULSE_DLQ_URL", dlq_url.clone()),
            ("DEALPULSE_SENDER", SENDER.into()),
            ("DEALPULSE_PUBLIC_URL", "https://app.dealpulse.test".into()),
            ("DEALPULSE_JWT_SECRET", JWT_SECRET.into()),
            ("DEALPULSE_VAPID_SECRET", VAPID_SECRET.into()),
            ("DEALPULSE_NOTIFY_ORIGIN", recorder.base_url()),
        ],
    );
    let watch = start_watch(&env_file);
    let mut values: BTreeMap<&str, String> = BTreeMap::new();
    let mut used = BTreeSet::new();

    // match: the catalogue event is matched, the unreadable message alone is reported.
    // A catalogue event as EventBridge puts it on the matcher's queue.
    let event = listing_event_json("Espresso machine, dual boiler", usd("899"));
    values.insert("EVENT_BODY", json_escaped(&event));
    let poison = json!({"batchItemFailures": [{"itemIdentifier": "poison-7b2d4e9f-1c6a-4b8e-a0d3-55e1f2c3d4e5"}]});
    let answer = invoke_event(&watch, "match", "catalog-events", &values).unwrap();
    assert_eq!(answer, poison);
    // The same batch again (SQS redelivers at least once): same answer, nothing new to send.
    let again = invoke_event(&watch, "match", "catalog-events", &values).unwrap();
    assert_eq!(again, poison);
    used.insert("match/catalog-events.json");
    let refused = invoke_event(&watch, "match", "not-a-batch", &values).unwrap_err();
    assert!(refused.contains("NotAnSqsBatch"), "{refused}");
    used.insert("match/not-a-batch.json");

    // deliver: whatever was queued (e-mail and webhook, possibly twice each), two at a time.
    let queued = receive_all(&sqs, &queue_url).await;
    let tasks: BTreeSet<(String, Channel)> = queued
        .iter()
        .map(|m| {
            let task = DeliveryTask::parse(m.body().unwrap()).unwrap();
            (task.id, task.channel)
        })
        .collect();
    assert_eq!(tasks.len(), 2, "one delivery per channel: {tasks:?}");
    assert_eq!(
        tasks.iter().map(|(_, c)| *c).collect::<BTreeSet<_>>(),
        BTreeSet::from([Channel::Email, Channel::Webhook]),
    );
    let deliver_pair = |first: &aws_sdk_sqs::types::Message,
                        second: &aws_sdk_sqs::types::Message,
                        values: &mut BTreeMap<&str, String>| {
        for (n, message) in [(1, first), (2, second)] {
            let (id, receipt, body) = match n {
                1 => (
                    "DELIVERY_MESSAGE_1",
                    "DELIVERY_RECEIPT_1",
                    "DELIVERY_BODY_1",
                ),
                _ => (
                    "DELIVERY_MESSAGE_2",
                    "DELIVERY_RECEIPT_2",
                    "DELIVERY_BODY_2",
                ),
            };
            values.insert(id, message.message_id().unwrap().to_string());
            values.insert(receipt, message.receipt_handle().unwrap().to_string());
            values.insert(body, json_escaped(message.body().unwrap()));
        }
        invoke_event(&watch, "deliver", "deliveries", values).unwrap()
    };
    for pair in queued.chunks(2) {
        let answer = deliver_pair(&pair[0], pair.last().unwrap(), &mut values);
        assert_eq!(answer, json!({"batchItemFailures": []}));
    }
    // A redelivered batch finds both claims sent: nothing goes out twice.
    let answer = deliver_pair(&queued[0], &queued[queued.len() - 1], &mut values);
    assert_eq!(answer, json!({"batchItemFailures": []}));
    delete_all(&sqs, &queue_url, &queued).await;
    used.insert("deliver/deliveries.json");
    let to_user = |mails: Vec<dealpulse_conformance::mail::Delivered>| {
        mails
            .into_iter()
            .filter(|m| m.to == user.email.as_str())
            .collect::<Vec<_>>()
    };
    let mails = to_user(ses_sent(moto).await);
    assert_eq!(mails.len(), 1, "one alert e-mail");
    assert!(
        mails[0].subject.contains("Espresso"),
        "{}",
        mails[0].subject
    );
    assert!(mails[0]
        .body
        .contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"));
    assert!(mails[0]
        .body
        .contains("https://app.dealpulse.test/api/v1/unsubscribe?token="));
    let hooks = recorder.requests();
    assert_eq!(hooks.len(), 1, "one webhook request");
    assert_eq!(hooks[0].path, "/dealpulse");
    let event: Value = serde_json::from_slice(&hooks[0].body).unwrap();
    assert_eq!(event["type"], "deal.alert");
    assert!(hooks[0].headers.contains_key("webhook-signature"));

    // digest: nothing is waiting for a digest; a non-schedule event is refused.
    let report = invoke_event(&watch, "digest", "scheduled", &values).unwrap();
    assert_eq!(
        (&report["users"], &report["deals"], &report["queued"]),
        (&json!(0), &json!(0), &json!(0)),
        "{report:#}"
    );
    // The weekly newsletter rides on the same run (from Monday 08:00 UTC): nobody subscribed.
    assert_eq!(report["newsletter"]["queued"], 0, "{report:#}");
    used.insert("digest/scheduled.json");
    let refused = invoke_event(&watch, "digest", "not-a-schedule", &values).unwrap_err();
    assert!(refused.contains("NotAScheduledEvent"), "{refused}");
    used.insert("digest/not-a-schedule.json");

    // ses-events: a hard bounce suppresses the user's address, a complaint another one, a
    // delivery report only counts; an open event is not ours to handle.
    let complainer = unique("complainer") + "@example.com";
    let reader = unique("reader") + "@example.com";
    values.insert("BOUNCED", user.email.as_str().to_uppercase());
    values.insert("COMPLAINED", complainer.clone());
    values.insert("DELIVERED", reader.clone());
    let bounced = invoke_event(&watch, "ses-events", "bounce", &values).unwrap();
    let address = user.email.as_str().to_lowercase();
    assert_eq!(bounced["suppressed"], json!([address]));
    used.insert("ses-events/bounce.json");
    let complained = invoke_event(&watch, "ses-events", "complaint", &values).unwrap();
    assert_eq!(complained["suppressed"], json!([complainer]));
    used.insert("ses-events/complaint.json");
    let delivered = invoke_event(&watch, "ses-events", "delivery", &values).unwrap();
    assert_eq!(delivered["suppressed"], json!([]));
    used.insert("ses-events/delivery.json");
    let opened = invoke_event(&watch, "ses-events", "opened", &values).unwrap_err();
    assert!(opened.contains("NotAnSesMailEvent"), "{opened}");
    used.insert("ses-events/opened.json");
    assert_eq!(
        health(&store, &address).await.unwrap().suppressed,
        Some(Suppression::Bounce)
    );
    assert_eq!(
        health(&store, &complainer).await.unwrap().suppressed,
        Some(Suppression::Complaint)
    );
    let reader_health = health(&store, &reader).await.unwrap();
    assert_eq!(
        (reader_health.suppressed, reader_health.deliveries),
        (None, 1)
    );

    // The next alert reaches the webhook but not the bounced address.
    let event = listing_event_json("Espresso grinder, flat burrs", usd("199"));
    values.insert("EVENT_BODY", json_escaped(&event));
    assert_eq!(
        invoke_event(&watch, "match", "catalog-events", &values).unwrap(),
        poison
    );
    let queued = receive_all(&sqs, &queue_url).await;
    assert_eq!(queued.len(), 2, "e-mail and webhook");
    let answer = deliver_pair(&queued[0], &queued[1], &mut values);
    assert_eq!(
        answer,
        json!({"batchItemFailures": []}),
        "a suppressed address is a permanent failure, not a retry"
    );
    delete_all(&sqs, &queue_url, &queued).await;
    assert_eq!(
        to_user(ses_sent(moto).await).len(),
        1,
        "no mail to the bounced address"
    );
    assert_eq!(recorder.requests().len(), 2);

    // api-admin: the e-mail that failed for good is listed and can be retried; dead letters are
    // listed and moved back; only for administrators, and audited.
    let keys = TokenKeys::new(
        &SigningSecret::new(JWT_SECRET.as_bytes().to_vec()).unwrap(),
        TOKEN_ISSUER,
        TOKEN_AUDIENCE,
    );
    let mut boss = sample_user();
    boss.role = Role::Admin;
    store.insert_user(&boss).await.unwrap();
    let boss_session = sample_session(boss.id, "refresh-token-of-the-admin");
    store.insert_session(&boss_session).await.unwrap();
    values.insert(
        "ACCESS_TOKEN",
        keys.issue_access(
            boss.id,
            boss_session.id,
            Role::Admin,
            Timestamp::now(),
            3600,
        ),
    );
    let user_session = sample_session(user.id, "refresh-token-of-the-user");
    store.insert_session(&user_session).await.unwrap();
    values.insert(
        "USER_TOKEN",
        keys.issue_access(user.id, user_session.id, Role::User, Timestamp::now(), 3600),
    );
    let mut admin_used: BTreeSet<String> = BTreeSet::new();
    let mut admin = |event: &str, status: u64, values: &BTreeMap<&str, String>| {
        let answer = invoke_event(&watch, "api-admin", event, values)
            .unwrap_or_else(|e| panic!("{event}: {e}"));
        assert_eq!(answer["statusCode"], status, "{event}: {answer:#}");
        admin_used.insert(format!("api-admin/{event}.json"));
        let body = answer["body"].as_str().unwrap_or("null");
        serde_json::from_str::<Value>(body).unwrap_or_else(|_| Value::String(body.to_string()))
    };
    let refused = admin("failed-list-not-admin", 403, &values);
    assert_eq!(
        refused["type"], "https://dealpulse.dev/problems/admin-only",
        "{refused:#}"
    );
    admin("redrive-not-admin", 403, &values);
    let billing = admin("billing-summary", 200, &values);
    assert_eq!(billing["mrr"], json!([]), "{billing:#}");
    assert_eq!(billing["months"].as_array().unwrap().len(), 12);
    // The console's account routes, on DynamoDB: tallies kept by the store, the accounts list
    // from the signup-month index, suspension, the audit search.
    let stats = admin("stats", 200, &values);
    assert!(stats["users"]["total"].as_i64().unwrap() >= 2, "{stats:#}");
    assert_eq!(stats["series"]["signups"].as_array().unwrap().len(), 30);
    // System health: the queues answer, the match function's runs and the bounce are counted.
    let system = admin("system", 200, &values);
    assert_eq!(system["deliveries"]["status"], "ok", "{system:#}");
    assert_eq!(system["dead_letters"]["status"], "ok");
    let matched = system["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|job| job["job"] == "match")
        .unwrap();
    assert!(matched["last_run_at"].is_string(), "{system:#}");
    assert!(matched["runs_2d"].as_i64().unwrap() >= 1);
    assert_eq!(system["suppressed"]["bounce"], 1, "{system:#}");
    assert_eq!(system["suppressed"]["complaint"], 1);
    let behaviour = admin("behaviour", 200, &values);
    assert_eq!(behaviour["activity"].as_array().unwrap().len(), 4);
    let csv = admin("stats-csv", 200, &values);
    assert!(csv.as_str().unwrap().starts_with("metric,value\n"), "{csv}");
    let listed = admin("users-search", 200, &values);
    assert!(
        listed["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|item| item["email_verified_at"].is_null()),
        "{listed:#}"
    );
    values.insert("USER_ID", user.id.to_string());
    let detail = admin("user-detail", 200, &values);
    assert_eq!(detail["user"]["email"], user.email.as_str());
    assert_eq!(admin("user-suspend", 200, &values)["status"], "suspended");
    assert_eq!(admin("user-activate", 200, &values)["status"], "active");
    let audit_found = admin("audit-search", 200, &values);
    let found: Vec<&str> = audit_found["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| event["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        found,
        ["admin.user.activate", "admin.user.suspend"],
        "{audit_found:#}"
    );

    // Newsletter subscribers: a CSV import (one imported, one invalid, one duplicate in
    // another case) and the admin list's prefix search, on DynamoDB.
    let imported = admin("subscribers-import", 200, &values);
    assert_eq!(
        (
            &imported["imported"],
            &imported["invalid"],
            &imported["duplicate"]
        ),
        (&json!(1), &json!(1), &json!(1)),
        "{imported:#}"
    );
    let subscribers = admin("subscribers", 200, &values);
    assert_eq!(
        subscribers["items"][0]["email"], "lambda-reader@example.com",
        "{subscribers:#}"
    );
    assert_eq!(subscribers["items"][0]["name"], "Lambda Reader");
    assert_eq!(subscribers["totals"]["confirmed"], 1);

    // Products by domain, from the host index on DynamoDB (the product pages of this test's
    // table, if any, are all under other hosts).
    let products = admin("products", 200, &values);
    assert_eq!(products["domain"], "shop.example.com", "{products:#}");
    assert!(products["items"].is_array());

    // Subscriptions: none in this table yet; cancelling an unknown account's is a 404.
    let subscriptions = admin("subscriptions", 200, &values);
    assert_eq!(subscriptions["total"], 0, "{subscriptions:#}");
    admin("subscription-cancel-unknown", 404, &values);

    // Deal reports as tickets: a user's report of a listing in the table, closed as confirmed
    // (the listing is hidden from matching), reopened (released), closed in bulk as rejected.
    let reported = dealpulse_tests::alerts::listing(
        "Reported OLED TV",
        Money::parse("79.99", Currency::parse("USD").unwrap()).unwrap(),
        Timestamp::now(),
    );
    dealpulse_domain::ports::CatalogRepository::put_listing(&store, &reported)
        .await
        .unwrap();
    let report = dealpulse_domain::reports::DealReport {
        owner: UserId::system(),
        key: dealpulse_domain::reports::DealReport::key_of(reported.id, user.id),
        listing: reported.id,
        reporter: user.id,
        reason: dealpulse_domain::reports::ReportReason::WrongPrice,
        note: None,
        title: reported.title.clone(),
        url: reported.url.clone(),
        price: reported.price.to_string(),
        status: dealpulse_domain::reports::ReportStatus::Open,
        resolution: None,
        admin_note: None,
        created_at: Timestamp::now(),
        updated_at: Timestamp::now(),
        closed_by: None,
        version: 0,
    };
    records::<dealpulse_domain::reports::DealReport>(&store)
        .insert(&report, None)
        .await
        .unwrap();
    values.insert("REPORT_ID", report.key.clone());
    let open = admin("reports-open", 200, &values);
    assert_eq!(open["items"][0]["id"], report.key.as_str(), "{open:#}");
    assert_eq!(
        admin("report-detail", 200, &values)["reason"],
        "wrong_price"
    );
    assert_eq!(
        admin("report-close", 200, &values)["resolution"],
        "confirmed"
    );
    assert!(dealpulse_domain::reports::is_hidden(&store, reported.id)
        .await
        .unwrap());
    assert_eq!(admin("report-reopen", 200, &values)["status"], "open");
    assert!(!dealpulse_domain::reports::is_hidden(&store, reported.id)
        .await
        .unwrap());
    let bulk = admin("reports-bulk", 200, &values);
    assert_eq!(bulk["results"][0]["outcome"], "updated", "{bulk:#}");
    let failed = admin("failed-list", 200, &values);
    assert_eq!(failed["total"], 1, "{failed:#}");
    assert_eq!(failed["items"][0]["channel"], "email");
    assert_eq!(failed["items"][0]["user_id"], user.id.to_string());
    assert!(failed["items"][0]["reason"]
        .as_str()
        .unwrap()
        .contains("suppressed"));
    let failed_id = failed["items"][0]["id"].as_str().unwrap().to_string();
    values.insert("DELIVERY_ID", failed_id.clone());
    admin("failed-retry-unknown", 404, &values);
    let retried = admin("failed-retry", 202, &values);
    assert_eq!(retried["id"], failed_id.as_str());
    admin("failed-retry", 404, &values); // no longer in the list
    assert_eq!(admin("failed-list", 200, &values)["total"], 0);
    let requeued = receive_all(&sqs, &queue_url).await;
    assert_eq!(requeued.len(), 1, "the retried task is queued again");
    let task = DeliveryTask::parse(requeued[0].body().unwrap()).unwrap();
    assert_eq!(task.id, failed_id);
    assert!(matches!(
        store.delivery(&failed_id).await.unwrap().unwrap().state,
        dealpulse_domain::delivery::DeliveryState::Retrying { .. }
    ));
    // The same task as a dead letter (what SQS does after too many receives).
    sqs.send_message()
        .queue_url(&dlq_url)
        .message_body(requeued[0].body().unwrap())
        .send()
        .await
        .unwrap();
    let letters = admin("dead-letters", 200, &values);
    assert_eq!(letters["items"].as_array().unwrap().len(), 1, "{letters:#}");
    assert_eq!(letters["items"][0]["delivery_id"], failed_id.as_str());
    assert_eq!(letters["items"][0]["channel"], "email");
    assert_eq!(
        queue_size(&sqs, &dlq_url).await,
        1,
        "listing takes nothing out"
    );
    admin("redrive-invalid", 422, &values);
    let moved = admin("redrive", 200, &values);
    assert_eq!(moved["moved"].as_array().unwrap().len(), 1, "{moved:#}");
    assert_eq!(moved["kept"], json!([]));
    assert_eq!(queue_size(&sqs, &dlq_url).await, 0);
    let back = receive_all(&sqs, &queue_url).await;
    assert_eq!(back.len(), 1);
    assert_eq!(
        DeliveryTask::parse(back[0].body().unwrap()).unwrap().id,
        failed_id
    );
    let audit: Vec<String> = store
        .audit_of_user(boss.id, 50)
        .await
        .unwrap()
        .into_iter()
        .map(|event| event.action)
        .collect();
    assert!(
        audit.contains(&"admin.delivery.retry".to_string()),
        "{audit:?}"
    );
    assert!(
        audit.contains(&"admin.dead_letters.redrive".to_string()),
        "{audit:?}"
    );

    // Every event file of these functions is exercised above.
    let mut all = BTreeSet::new();
    for function in ["match", "deliver", "digest", "ses-events", "api-admin"] {
        for entry in std::fs::read_dir(events_dir().join(function)).unwrap() {
            all.insert(format!(
                "{function}/{}",
                entry.unwrap().file_name().to_string_lossy()
            ));
        }
    }
    let mut used: BTreeSet<String> = used.into_iter().map(String::from).collect();
    used.extend(admin_used);
    let unused: Vec<_> = all.difference(&used).collect();
    assert!(unused.is_empty(), "events without a test: {unused:?}");
    drop(watch);
}

/// Twenty alerts, each catalogue event delivered three times, every fifth webhook request
/// answered 500: every delivery reaches the receiver exactly once (one 2xx per webhook id), or
/// sits in the dead-letter queue having reached it never.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redelivery_and_injected_failures_still_deliver_exactly_once() {
    let moto = moto::shared();
    let config = sdk_config(moto).await;
    let table = unique("dealpulse-once");
    create_table(&aws_sdk_dynamodb::Client::new(&config), &table).await;
    let sqs = aws_sdk_sqs::Client::new(&config);
    let (events_url, _) = create_queue_pair(&sqs, 5).await;
    let (deliveries_url, dead_letters_url) = create_queue_pair(&sqs, 5).await;
    let store: Arc<dyn Store> = Arc::new(DynamoStore::new(
        aws_sdk_dynamodb::Client::new(&config),
        table,
    ));
    let recorder = HttpRecorder::start(200, "{}");
    recorder.fail_every(5, 500);
    let now = jiff::Timestamp::now();
    let user = alert_user(store.as_ref(), &[Channel::Webhook], now).await;
    keyword_rule(store.as_ref(), user.id, "kayak", now).await;

    let deliveries = Arc::new(SqsQueue::new(sqs.clone(), deliveries_url.clone()));
    let matcher = MatchHandler::new(Matcher::new(
        store.clone(),
        deliveries.clone(),
        Arc::new(SystemClock),
        AlertSettings::default(),
    ));
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
    // Backoff in whole seconds is what SQS can express; keep the test quick.
    settings.backoff_base = Duration::from_millis(500);
    settings.backoff_cap = Duration::from_secs(1);
    // A duplicate received while the first copy is being sent waits out the claim's lease.
    settings.lease = Duration::from_secs(3);
    let deliverer = DeliverHandler::new(
        Deliverer::new(
            store.clone(),
            Senders {
                mailer: Arc::new(SesMailer::new(
                    aws_sdk_sesv2::Client::new(&config),
                    SENDER,
                    None,
                )),
                sms: Arc::new(SmsNotConfigured),
                endpoints: http.endpoints,
                push: http.push,
            },
            Arc::new(SystemClock),
            settings,
        ),
        deliveries.clone(),
    );

    // Twenty kayak deals, each event on the queue three times.
    for n in 0..20 {
        let body = listing_event_json(
            &format!("Sea kayak model {n}"),
            usd(&format!("{}", 500 + n)),
        );
        for _ in 0..3 {
            sqs.send_message()
                .queue_url(&events_url)
                .message_body(&body)
                .send()
                .await
                .unwrap();
        }
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let sizes = (
            queue_size(&sqs, &events_url).await,
            queue_size(&sqs, &deliveries_url).await,
        );
        assert!(
            Instant::now() < deadline,
            "the queues did not drain: {sizes:?} (events, deliveries), {} webhook requests",
            recorder.requests().len()
        );
        let events = receive(&sqs, &events_url, 30).await;
        if !events.is_empty() {
            let answer = matcher.handle(sqs_event(&events)).await.unwrap();
            let answer = serde_json::to_value(answer).unwrap();
            assert_eq!(answer["batchItemFailures"], json!([]));
            delete_succeeded(&sqs, &events_url, &events, &answer).await;
        }
        let batch = receive(&sqs, &deliveries_url, 30).await;
        if !batch.is_empty() {
            let answer = deliverer.handle(sqs_event(&batch)).await.unwrap();
            let answer = serde_json::to_value(answer).unwrap();
            delete_succeeded(&sqs, &deliveries_url, &batch, &answer).await;
        }
        if events.is_empty() && batch.is_empty() && sizes == (0, 0) {
            break;
        }
        if batch.is_empty() {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    let mut successes: BTreeMap<String, usize> = BTreeMap::new();
    let mut attempts: BTreeMap<String, usize> = BTreeMap::new();
    for request in recorder.requests() {
        let id = request.headers["webhook-id"].clone();
        *attempts.entry(id.clone()).or_default() += 1;
        if request.status == 200 {
            *successes.entry(id).or_default() += 1;
        }
    }
    let dead: BTreeSet<String> = receive_all(&sqs, &dead_letters_url)
        .await
        .iter()
        .map(|m| {
            DeliveryTask::parse(m.body().unwrap())
                .unwrap()
                .notice
                .delivery_id
        })
        .collect();
    assert_eq!(attempts.len(), 20, "one webhook id per deal: {attempts:?}");
    assert!(
        attempts.values().any(|&n| n > 1),
        "some requests failed and were retried: {attempts:?}"
    );
    for id in attempts.keys() {
        let sent = successes.get(id).copied().unwrap_or(0);
        if dead.contains(id) {
            assert_eq!(
                sent, 0,
                "{id} is in the dead-letter queue but was delivered"
            );
        } else {
            assert_eq!(sent, 1, "{id} delivered {sent} times");
        }
    }
}
