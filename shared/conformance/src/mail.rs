//! The Mailer port's contract: what is sent arrives, addressed and worded as sent.

use dealpulse_domain::account::Email;
use dealpulse_domain::mail::{EmailMessage, Mailer};
use futures::future::BoxFuture;
use std::sync::Arc;

/// A message as the transport's far side received it.
#[derive(Debug, Clone)]
pub struct Delivered {
    pub to: String,
    pub subject: String,
    /// The text part (or the whole raw message where the transport only keeps that).
    pub body: String,
}

pub struct MailFixture {
    pub mailer: Arc<dyn Mailer>,
    /// Everything delivered so far, in any order.
    pub delivered: Box<dyn Fn() -> BoxFuture<'static, Vec<Delivered>> + Send + Sync>,
    pub guard: Box<dyn std::any::Any + Send>,
}

fn message(marker: &str) -> EmailMessage {
    EmailMessage {
        to: Email::parse(&format!("{marker}@example.com")).unwrap(),
        subject: format!("Price drop {marker}"),
        text: format!("The price fell. Marker {marker}."),
        html: Some(format!("<p>The price fell. Marker {marker}.</p>")),
        headers: Vec::new(),
        tags: Vec::new(),
    }
}

fn marker() -> String {
    format!("m{}", jiff::Timestamp::now().as_nanosecond())
}

pub async fn sent_mail_arrives_addressed_and_worded_as_sent(fixture: &MailFixture) {
    let marker = marker();
    let sent = fixture.mailer.send(&message(&marker)).await.unwrap();
    assert!(!sent.message_id.is_empty());
    let delivered = (fixture.delivered)().await;
    let found = delivered
        .iter()
        .find(|mail| mail.subject == format!("Price drop {marker}"))
        .unwrap_or_else(|| panic!("not delivered: {delivered:?}"));
    assert_eq!(found.to, format!("{marker}@example.com"));
    assert!(
        found.body.contains(&format!("Marker {marker}")),
        "{found:?}"
    );
}

pub async fn every_message_is_delivered_separately(fixture: &MailFixture) {
    let first = marker();
    let second = format!("{first}x");
    let a = fixture.mailer.send(&message(&first)).await.unwrap();
    let b = fixture.mailer.send(&message(&second)).await.unwrap();
    assert_ne!(a.message_id, b.message_id);
    let delivered = (fixture.delivered)().await;
    for marker in [first, second] {
        assert_eq!(
            delivered
                .iter()
                .filter(|mail| mail.subject == format!("Price drop {marker}"))
                .count(),
            1
        );
    }
}

pub async fn ping_answers(fixture: &MailFixture) {
    fixture.mailer.ping().await.unwrap();
}

#[macro_export]
macro_rules! mail_conformance {
    ($fixture:path) => {
        $crate::mail_conformance!(@cases $fixture;
            sent_mail_arrives_addressed_and_worded_as_sent,
            every_message_is_delivered_separately,
            ping_answers
        );
    };
    (@cases $fixture:path; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let fixture = $fixture().await;
                $crate::mail::$case(&fixture).await;
            }
        )*
    };
}
