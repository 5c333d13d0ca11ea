//! Every adapter of every port runs the same conformance cases: SQLite and DynamoDB (moto) for
//! the store, SQLite and SQS (moto) for the queue, outbox, SMTP and SES (moto) for the mailer,
//! outbox and Twilio's REST API (against a recorder) for SMS.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use dealpulse_conformance::mail::{Delivered, MailFixture};
use dealpulse_conformance::queue::QueueFixture;
use dealpulse_conformance::sms::SmsFixture;
use dealpulse_conformance::Fixture;
use dealpulse_domain::clock::SystemClock;
use dealpulse_domain::mail::OutboxReader;
use dealpulse_domain::ports::Store;
use dealpulse_domain::sms::{SmsEntry, SmsError, SmsOutboxReader};
use dealpulse_local::SmsOutbox;
use dealpulse_local::{Database, OutboxMailer, SmtpMailer, SqliteQueue, SqliteStore};
use dealpulse_outbound::{TwilioConfig, TwilioSms};
use dealpulse_tests::http_recorder::HttpRecorder;
use dealpulse_tests::smtp::SmtpRecorder;
use std::sync::Arc;

async fn sqlite_store() -> Fixture<dyn Store> {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(&dir.path().join("store.db")).unwrap();
    Fixture::new(Arc::new(SqliteStore::new(db)) as Arc<dyn Store>, dir)
}

async fn sqlite_queues() -> QueueFixture {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(&dir.path().join("queue.db")).unwrap();
    let clock = Arc::new(SystemClock);
    QueueFixture {
        queue: Arc::new(SqliteQueue::with_dead_letters(
            db.clone(),
            clock.clone(),
            "q",
            "q-dlq",
            3,
        )),
        dead_letters: Arc::new(SqliteQueue::plain(db, clock, "q-dlq")),
        max_receive_count: 3,
        guard: Box::new(dir),
    }
}

async fn outbox_mailer() -> MailFixture {
    let dir = tempfile::tempdir().unwrap();
    let outbox = Arc::new(
        OutboxMailer::new(
            &dir.path().join("outbox"),
            "DealPulse <alerts@dealpulse.test>",
        )
        .unwrap(),
    );
    let reader = Arc::clone(&outbox);
    MailFixture {
        mailer: outbox,
        delivered: Box::new(move || {
            let reader = Arc::clone(&reader);
            Box::pin(async move {
                reader
                    .recent(1000)
                    .await
                    .unwrap()
                    .into_iter()
                    .map(|entry| Delivered {
                        to: entry.to,
                        subject: entry.subject,
                        body: entry.text,
                    })
                    .collect()
            })
        }),
        guard: Box::new(dir),
    }
}

async fn smtp_mailer() -> MailFixture {
    let recorder = SmtpRecorder::start();
    let mailer = SmtpMailer::new(&recorder.url(), "DealPulse <alerts@dealpulse.test>").unwrap();
    let received = Arc::clone(&recorder.received);
    MailFixture {
        mailer: Arc::new(mailer),
        delivered: Box::new(move || {
            let received = received.lock().unwrap().clone();
            Box::pin(async move {
                received
                    .into_iter()
                    .map(|mail| Delivered {
                        to: mail.recipients.first().cloned().unwrap_or_default(),
                        subject: mail
                            .data
                            .lines()
                            .find_map(|line| line.strip_prefix("Subject: "))
                            .unwrap_or_default()
                            .to_string(),
                        body: mail.data,
                    })
                    .collect()
            })
        }),
        guard: Box::new(recorder),
    }
}

mod sqlite_store {
    dealpulse_conformance::store_conformance!(super::sqlite_store);
}

mod dynamodb_store {
    dealpulse_conformance::store_conformance!(dealpulse_tests::aws::dynamo_store);
}

mod sqlite_queue {
    dealpulse_conformance::queue_conformance!(super::sqlite_queues);
}

mod sqs_queue {
    dealpulse_conformance::queue_conformance!(dealpulse_tests::aws::sqs_queues);
}

mod outbox_mail {
    dealpulse_conformance::mail_conformance!(super::outbox_mailer);
}

mod smtp_mail {
    dealpulse_conformance::mail_conformance!(super::smtp_mailer);
}

mod ses_mail {
    dealpulse_conformance::mail_conformance!(dealpulse_tests::aws::ses_mailer);
}

async fn outbox_sms() -> SmsFixture {
    let dir = tempfile::tempdir().unwrap();
    let outbox = Arc::new(SmsOutbox::new(&dir.path().join("sms")).unwrap());
    SmsFixture {
        sender: outbox.clone(),
        sent: outbox,
        guard: Box::new(dir),
    }
}

/// What reached the recorder standing in for Twilio, read back from the requests' form bodies.
struct TwilioRecorded(Arc<HttpRecorder>);

#[async_trait::async_trait]
impl SmsOutboxReader for TwilioRecorded {
    async fn recent_sms(&self, limit: usize) -> Result<Vec<SmsEntry>, SmsError> {
        let mut entries: Vec<SmsEntry> = self
            .0
            .requests()
            .into_iter()
            .filter(|r| r.method == "POST" && r.path == "/2010-04-01/Accounts/AC123/Messages.json")
            .enumerate()
            .map(|(i, r)| {
                let form = r.form();
                SmsEntry {
                    id: i.to_string(),
                    to: form.get("To").cloned().unwrap_or_default(),
                    body: form.get("Body").cloned().unwrap_or_default(),
                    created_at: String::new(),
                }
            })
            .collect();
        entries.reverse();
        entries.truncate(limit);
        Ok(entries)
    }
}

async fn twilio_sms() -> SmsFixture {
    let recorder = Arc::new(HttpRecorder::start(
        201,
        r#"{"sid":"SM0123456789abcdef0123456789abcdef","status":"queued"}"#,
    ));
    let sender = TwilioSms::new(TwilioConfig {
        base_url: recorder.base_url(),
        account_sid: "AC123".into(),
        auth_token: "token".into(),
        from: "+15005550006".into(),
    })
    .unwrap();
    SmsFixture {
        sender: Arc::new(sender),
        sent: Arc::new(TwilioRecorded(Arc::clone(&recorder))),
        guard: Box::new(recorder),
    }
}

async fn local_bus() -> dealpulse_conformance::events::EventsFixture {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(&dir.path().join("bus.db")).unwrap();
    let clock = Arc::new(SystemClock);
    let queue = Arc::new(SqliteQueue::plain(db, clock.clone(), "catalog-events"));
    let tap = Arc::clone(&queue);
    dealpulse_conformance::events::EventsFixture {
        publisher: Arc::new(dealpulse_local::QueueEventBus::new(queue, clock)),
        delivered: Box::new(move || {
            let tap = Arc::clone(&tap);
            Box::pin(async move {
                use dealpulse_domain::queue::Queue;
                let mut events = Vec::new();
                loop {
                    let batch = tap
                        .receive(10, std::time::Duration::from_secs(30))
                        .await
                        .unwrap();
                    if batch.is_empty() {
                        return events;
                    }
                    for message in batch {
                        events.push(serde_json::from_str(&message.body).unwrap());
                        tap.delete(&message.receipt).await.unwrap();
                    }
                }
            })
        }),
        guard: Box::new(dir),
    }
}

mod local_bus {
    dealpulse_conformance::events_conformance!(super::local_bus);
}

mod eventbridge_bus {
    dealpulse_conformance::events_conformance!(dealpulse_tests::aws::eventbridge_publisher);
}

mod outbox_sms {
    dealpulse_conformance::sms_conformance!(super::outbox_sms);
}

mod twilio_sms {
    dealpulse_conformance::sms_conformance!(super::twilio_sms);
}
