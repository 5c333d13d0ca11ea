//! The Queue port's contract: SQS semantics.

use dealpulse_domain::queue::{Queue, QueueError, ReceiptHandle};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

/// A queue with a redrive policy, and its dead-letter queue.
pub struct QueueFixture {
    pub queue: Arc<dyn Queue>,
    pub dead_letters: Arc<dyn Queue>,
    /// Receives allowed before a message moves to `dead_letters`.
    pub max_receive_count: u32,
    pub guard: Box<dyn std::any::Any + Send>,
}

const HIDE: Duration = Duration::from_secs(30);

fn body(label: &str) -> String {
    format!(
        "{{\"label\":\"{label}\",\"n\":{}}}",
        jiff::Timestamp::now().as_nanosecond()
    )
}

pub async fn sent_messages_are_received_once_with_their_body(fixture: &QueueFixture) {
    let sent = body("one");
    let report = fixture
        .queue
        .send_batch(std::slice::from_ref(&sent))
        .await
        .unwrap();
    assert_eq!(report.sent.len(), 1);
    assert!(report.failed.is_empty());
    let received = fixture.queue.receive(10, HIDE).await.unwrap();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].body, sent);
    assert_eq!(received[0].receive_count, 1);
    assert_eq!(received[0].message_id, report.sent[0].1);
    assert!(
        fixture.queue.receive(10, HIDE).await.unwrap().is_empty(),
        "in flight"
    );
}

pub async fn messages_reappear_after_their_visibility_timeout(fixture: &QueueFixture) {
    fixture.queue.send_batch(&[body("timeout")]).await.unwrap();
    let first = fixture
        .queue
        .receive(1, Duration::from_secs(1))
        .await
        .unwrap();
    assert_eq!(first.len(), 1);
    assert!(fixture.queue.receive(1, HIDE).await.unwrap().is_empty());
    tokio::time::sleep(Duration::from_millis(1600)).await;
    let second = fixture.queue.receive(1, HIDE).await.unwrap();
    assert_eq!(second.len(), 1);
    assert_eq!(second[0].message_id, first[0].message_id);
    assert_eq!(second[0].receive_count, 2);
    assert_ne!(
        second[0].receipt, first[0].receipt,
        "each receive has its own receipt"
    );
}

pub async fn deleted_messages_never_come_back(fixture: &QueueFixture) {
    fixture.queue.send_batch(&[body("delete")]).await.unwrap();
    let received = fixture
        .queue
        .receive(1, Duration::from_secs(1))
        .await
        .unwrap();
    fixture.queue.delete(&received[0].receipt).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1600)).await;
    assert!(fixture.queue.receive(10, HIDE).await.unwrap().is_empty());
    assert_eq!(fixture.queue.depth().await.unwrap(), 0);
}

pub async fn a_zero_visibility_change_releases_the_message_at_once(fixture: &QueueFixture) {
    fixture.queue.send_batch(&[body("release")]).await.unwrap();
    let received = fixture.queue.receive(1, HIDE).await.unwrap();
    fixture
        .queue
        .change_visibility(&received[0].receipt, Duration::ZERO)
        .await
        .unwrap();
    let again = fixture.queue.receive(1, HIDE).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].message_id, received[0].message_id);
}

pub async fn too_many_receives_move_a_message_to_the_dead_letter_queue(fixture: &QueueFixture) {
    let poison = body("poison");
    fixture
        .queue
        .send_batch(std::slice::from_ref(&poison))
        .await
        .unwrap();
    for attempt in 1..=fixture.max_receive_count {
        let received = fixture.queue.receive(1, HIDE).await.unwrap();
        assert_eq!(received.len(), 1, "receive {attempt}");
        assert_eq!(received[0].receive_count, attempt);
        fixture
            .queue
            .change_visibility(&received[0].receipt, Duration::ZERO)
            .await
            .unwrap();
    }
    assert!(fixture.queue.receive(1, HIDE).await.unwrap().is_empty());
    let dead = fixture.dead_letters.receive(10, HIDE).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].body, poison);
}

pub async fn batches_larger_than_ten_are_sent_whole(fixture: &QueueFixture) {
    let bodies: Vec<String> = (0..23).map(|i| body(&format!("batch-{i}"))).collect();
    let report = fixture.queue.send_batch(&bodies).await.unwrap();
    assert_eq!(report.sent.len(), 23);
    assert!(report.failed.is_empty());
    let positions: BTreeSet<usize> = report.sent.iter().map(|(index, _)| *index).collect();
    assert_eq!(positions, (0..23).collect());
    assert_eq!(fixture.queue.depth().await.unwrap(), 23);

    let mut seen = BTreeSet::new();
    for _ in 0..20 {
        for message in fixture.queue.receive(10, HIDE).await.unwrap() {
            seen.insert(message.body);
        }
        if seen.len() == bodies.len() {
            break;
        }
    }
    assert_eq!(seen, bodies.into_iter().collect());
}

pub async fn empty_bodies_fail_alone_within_a_batch(fixture: &QueueFixture) {
    let report = fixture
        .queue
        .send_batch(&[body("ok-1"), String::new(), body("ok-2")])
        .await
        .unwrap();
    assert_eq!(
        report.sent.iter().map(|(i, _)| *i).collect::<Vec<_>>(),
        vec![0, 2]
    );
    assert_eq!(report.failed.len(), 1);
    assert_eq!(report.failed[0].0, 1);
}

pub async fn unknown_receipts_are_refused(fixture: &QueueFixture) {
    let bogus = ReceiptHandle("not-a-receipt".into());
    assert!(matches!(
        fixture
            .queue
            .change_visibility(&bogus, Duration::ZERO)
            .await,
        Err(QueueError::InvalidReceipt)
    ));
}

#[macro_export]
macro_rules! queue_conformance {
    ($fixture:path) => {
        $crate::queue_conformance!(@cases $fixture;
            sent_messages_are_received_once_with_their_body,
            messages_reappear_after_their_visibility_timeout,
            deleted_messages_never_come_back,
            a_zero_visibility_change_releases_the_message_at_once,
            too_many_receives_move_a_message_to_the_dead_letter_queue,
            batches_larger_than_ten_are_sent_whole,
            empty_bodies_fail_alone_within_a_batch,
            unknown_receipts_are_refused
        );
    };
    (@cases $fixture:path; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let fixture = $fixture().await;
                $crate::queue::$case(&fixture).await;
            }
        )*
    };
}
