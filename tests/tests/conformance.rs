//! Every adapter of every port runs the same conformance cases: SQLite and DynamoDB (moto) for
//! the store, SQLite and SQS (moto) for the queue, outbox, SMTP and SES (moto) for the mailer.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use dealpulse_conformance::mail::{Delivered, MailFixture};
use dealpulse_conformance::queue::QueueFixture;
use dealpulse_conformance::Fixture;
use dealpulse_domain::clock::SystemClock;
use dealpulse_domain::mail::OutboxReader;
use dealpulse_domain::ports::Store;
use dealpulse_local::{Database, OutboxMailer, SmtpMailer, SqliteQueue, SqliteStore};
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
