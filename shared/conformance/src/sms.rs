//! The SMS port's contract: what is sent reaches the recipient with its text intact.

use dealpulse_domain::channels::PhoneNumber;
use dealpulse_domain::sms::{SmsOutboxReader, SmsSender};
use std::sync::Arc;

/// A sender plus a way to see what reached the (real or recording) far end.
pub struct SmsFixture {
    pub sender: Arc<dyn SmsSender>,
    pub sent: Arc<dyn SmsOutboxReader>,
    pub guard: Box<dyn std::any::Any + Send>,
}

pub async fn messages_reach_their_recipient_with_their_text(fixture: &SmsFixture) {
    let first = PhoneNumber::parse("+14155550123").unwrap();
    let second = PhoneNumber::parse("+447700900123").unwrap();
    let id = fixture
        .sender
        .send_sms(&first, "DealPulse code: 123456")
        .await
        .unwrap();
    assert!(!id.is_empty());
    fixture
        .sender
        .send_sms(&second, "Prix baissé — 249,00 € ✓")
        .await
        .unwrap();
    let sent = fixture.sent.recent_sms(10).await.unwrap();
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert_eq!(sent[0].to, "+447700900123");
    assert_eq!(sent[0].body, "Prix baissé — 249,00 € ✓");
    assert_eq!(sent[1].to, "+14155550123");
    assert_eq!(sent[1].body, "DealPulse code: 123456");
}

pub async fn the_reader_honours_its_limit(fixture: &SmsFixture) {
    let to = PhoneNumber::parse("+14155550123").unwrap();
    for i in 0..3 {
        fixture
            .sender
            .send_sms(&to, &format!("message {i}"))
            .await
            .unwrap();
    }
    let sent = fixture.sent.recent_sms(2).await.unwrap();
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0].body, "message 2");
}

/// Expands every SMS case into a test for the fixture built by `$fixture` (an async fn
/// returning [`SmsFixture`]).
#[macro_export]
macro_rules! sms_conformance {
    ($fixture:path) => {
        $crate::sms_conformance!(@cases $fixture;
            messages_reach_their_recipient_with_their_text,
            the_reader_honours_its_limit
        );
    };
    (@cases $fixture:path; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let fixture = $fixture().await;
                $crate::sms::$case(&fixture).await;
                drop(fixture);
            }
        )*
    };
}
