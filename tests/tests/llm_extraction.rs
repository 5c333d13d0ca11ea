//! The optional LLM newsletter extractor against a recording server that speaks the
//! OpenAI-compatible chat API: what it sends, that only validated deals are used, and that every
//! kind of failure falls back to the rule-based extractor.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use dealpulse_domain::clock::SystemClock;
use dealpulse_domain::inbound::{InboundAddresses, MailStatus, SenderRule};
use dealpulse_domain::ports::Store;
use dealpulse_ingest::llm::{LlmConfig, LlmExtractor};
use dealpulse_ingest::mail::{MailConfig, MailIngest};
use dealpulse_local::{Database, QueueEventBus, SqliteQueue, SqliteStore};
use dealpulse_tests::http_recorder::HttpRecorder;
use jiff::{SignedDuration, Timestamp};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

const NEWSLETTER: &str = "From: Fare Alerts <news@fares.example.com>\r\nTo: deals@inbound.dealpulse.test\r\n\
Subject: Deals\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
Boston (BOS) to Lisbon (LIS) - $389 round trip, nonstop on TAP, March to May\r\n\
Fancy a long weekend? Fly out of Boston and land in Reykjavik for just 279 dollars there and back.\r\n";

fn chat_answer(deals: Value) -> String {
    json!({"id": "chatcmpl-1", "object": "chat.completion", "model": "llama3.1",
        "choices": [{"index": 0, "finish_reason": "stop",
            "message": {"role": "assistant", "content": json!({"deals": deals}).to_string()}}]})
    .to_string()
}

struct Harness {
    store: Arc<dyn Store>,
    ingest: MailIngest,
    recorder: HttpRecorder,
    _dir: tempfile::TempDir,
}

fn harness() -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(&dir.path().join("dealpulse.db")).unwrap();
    let clock = Arc::new(SystemClock);
    let store: Arc<dyn Store> = Arc::new(SqliteStore::new(db.clone()));
    let bus = Arc::new(QueueEventBus::new(
        Arc::new(SqliteQueue::plain(db, clock.clone(), "catalog-events")),
        clock.clone(),
    ));
    let recorder = HttpRecorder::start(500, "{}");
    let llm = LlmExtractor::new(LlmConfig {
        base_url: recorder.base_url(),
        model: "llama3.1".into(),
        api_key: Some("local-key".into()),
        timeout: Duration::from_secs(5),
    })
    .unwrap();
    let ingest = MailIngest::new(
        Arc::clone(&store),
        bus,
        clock,
        MailConfig {
            addresses: InboundAddresses::new("inbound.dealpulse.test", b"key"),
            system_senders: vec![SenderRule::parse("@fares.example.com").unwrap()],
        },
    )
    .with_llm(llm);
    Harness {
        store,
        ingest,
        recorder,
        _dir: dir,
    }
}

async fn destinations(store: &dyn Store) -> Vec<String> {
    let since = Timestamp::now()
        .checked_sub(SignedDuration::from_hours(1))
        .unwrap();
    let mut found: Vec<String> = store
        .listings_seen_since(since, 100)
        .await
        .unwrap()
        .iter()
        .filter_map(|l| l.flight.as_ref().map(|f| f.destination.clone()))
        .collect();
    found.sort();
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_model_reads_deals_the_rules_miss_and_its_answer_is_validated() {
    let h = harness();
    h.recorder.set_reply(
        200,
        &chat_answer(json!([
            {"origin": "Boston (BOS)", "destination": "Lisbon (LIS)", "price": "389", "currency": "USD",
             "trip_type": "round_trip", "months": [3, 4, 5], "airline": "TAP", "stops": 0, "link": null},
            {"origin": "Boston", "destination": "Reykjavik", "price": 279, "currency": "USD",
             "trip_type": "round_trip", "months": [], "airline": null, "stops": null, "link": null},
            {"origin": "Atlantis", "destination": "LIS", "price": "10", "currency": "USD",
             "trip_type": null, "months": [], "airline": null, "stops": null, "link": null},
            {"origin": "BOS", "destination": "CDG", "price": "-5", "currency": "USD",
             "trip_type": null, "months": [13], "airline": null, "stops": 9, "link": "javascript:x"}
        ])),
    );
    let mail = h
        .ingest
        .ingest(NEWSLETTER.as_bytes(), "test/1.eml")
        .await
        .unwrap();
    assert_eq!(mail.status, MailStatus::Accepted, "{mail:?}");
    assert_eq!(mail.extractor.as_deref(), Some("llm"));
    assert_eq!(
        mail.deals, 2,
        "the invented airport and the impossible deal are dropped"
    );
    assert_eq!(destinations(h.store.as_ref()).await, ["KEF", "LIS"]);

    let requests = h.recorder.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.path, "/v1/chat/completions");
    assert_eq!(
        request.headers.get("authorization").map(String::as_str),
        Some("Bearer local-key")
    );
    let body: Value = serde_json::from_slice(&request.body).unwrap();
    assert_eq!(body["model"], "llama3.1");
    assert_eq!(body["response_format"]["type"], "json_schema");
    assert!(body["messages"][1]["content"]
        .as_str()
        .unwrap()
        .contains("Reykjavik for just 279 dollars"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn any_model_failure_falls_back_to_the_rules() {
    for (status, reply) in [
        (500, "{}".to_string()),
        (200, "not json at all".to_string()),
        (
            200,
            json!({"choices": [{"message": {"role": "assistant", "content": "Sure! Here are the deals: ..."}}]})
                .to_string(),
        ),
        (200, chat_answer(json!([{"origin": "Nowhere", "destination": "Elsewhere", "price": "1",
            "currency": "USD", "trip_type": null, "months": [], "airline": null, "stops": null, "link": null}]))),
    ] {
        let h = harness();
        h.recorder.set_reply(status, &reply);
        let mail = h
            .ingest
            .ingest(NEWSLETTER.as_bytes(), &format!("test/{status}.eml"))
            .await
            .unwrap();
        assert_eq!(mail.status, MailStatus::Accepted, "{reply}: {mail:?}");
        assert_eq!(mail.extractor.as_deref(), Some("rules"), "{reply}");
        assert_eq!(
            destinations(h.store.as_ref()).await,
            ["LIS"],
            "the rules read the BOS-LIS line: {reply}"
        );
    }
}
