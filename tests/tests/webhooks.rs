//! Discord, Slack and signed generic webhooks spoken to a recording server on 127.0.0.1 (the
//! endpoints' real URLs with their origin replaced): the payload each service expects, the
//! Standard Webhooks signature a receiver can verify, and how each answer is classified.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use base64::Engine;
use dealpulse_domain::channels::{ChannelEndpoint, EndpointKind};
use dealpulse_domain::ids::{EndpointId, UserId};
use dealpulse_domain::money::{Currency, Money};
use dealpulse_domain::net::{PublicUrl, Schemes};
use dealpulse_domain::notify::{DealLine, Notice, NoticeKind, SendFailure as SendError};
use dealpulse_fetch::{FetchConfig, Fetcher, SystemLookup};
use dealpulse_outbound::webhooks::{sign, WebhookSender};
use dealpulse_tests::http_recorder::HttpRecorder;
use dealpulse_tests::loopback_fetcher;
use jiff::Timestamp;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;

fn endpoint(kind: EndpointKind, url: &str, secret: Option<&str>) -> ChannelEndpoint {
    ChannelEndpoint {
        id: EndpointId::generate(),
        owner: UserId::generate(),
        kind,
        url: PublicUrl::parse(url, Schemes::HttpsOnly).unwrap(),
        label: None,
        signing_secret: secret.map(str::to_string),
        enabled: true,
        created_at: Timestamp::now(),
        updated_at: Timestamp::now(),
        last_tested_at: None,
        version: 1,
    }
}

fn message() -> Notice {
    Notice {
        delivery_id: "msg_2f1d0c".into(),
        kind: NoticeKind::Alert { urgent: false },
        deals: vec![DealLine {
            title: "Espresso machine X1".into(),
            url: "https://shop.example.com/p/x1".into(),
            price: Money::parse("249.00", Currency::parse("EUR").unwrap()).unwrap(),
            was_price: Money::parse("279.00", Currency::parse("EUR").unwrap()).ok(),
            reasons: vec!["Espresso under 250".into()],
            score: Some(81),
            history: vec![],
        }],
        occurred_at: "2026-11-25T12:00:00Z".parse().unwrap(),
    }
}

fn sender(recorder: &HttpRecorder) -> WebhookSender {
    WebhookSender::new(
        Arc::new(loopback_fetcher(recorder.port)),
        Some(recorder.base_url().parse().unwrap()),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_service_gets_its_own_payload_and_generic_webhooks_are_signed() {
    let recorder = HttpRecorder::start(200, r#"{"id":"1234567890"}"#);
    let send = sender(&recorder);
    let now: Timestamp = "2026-11-25T12:00:05Z".parse().unwrap();
    let discord = endpoint(
        EndpointKind::Discord,
        "https://discord.com/api/webhooks/123/tok",
        None,
    );
    let delivered = send.send(&discord, &message(), now).await.unwrap();
    assert_eq!(delivered.provider_id.as_deref(), Some("1234567890"));
    let slack = endpoint(
        EndpointKind::Slack,
        "https://hooks.slack.com/services/T1/B2/x",
        None,
    );
    send.send(&slack, &message(), now).await.unwrap();
    let secret = format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(b"a receiver's shared secret")
    );
    let hook = endpoint(
        EndpointKind::Webhook,
        "https://hooks.example.com/dealpulse",
        Some(&secret),
    );
    send.send(&hook, &message(), now).await.unwrap();

    let requests = recorder.requests();
    assert_eq!(requests.len(), 3);
    assert_eq!(requests[0].path, "/api/webhooks/123/tok?wait=true");
    let embed: Value = serde_json::from_slice(&requests[0].body).unwrap();
    assert_eq!(embed["embeds"][0]["title"], "Espresso machine X1");
    assert_eq!(embed["embeds"][0]["url"], "https://shop.example.com/p/x1");
    assert!(embed["embeds"][0]["description"]
        .as_str()
        .unwrap()
        .contains("was 279.00 EUR"));
    assert_eq!(requests[1].path, "/services/T1/B2/x");
    let blocks: Value = serde_json::from_slice(&requests[1].body).unwrap();
    assert_eq!(blocks["blocks"][0]["type"], "header");
    assert_eq!(blocks["blocks"][1]["type"], "section");
    assert!(blocks["text"].as_str().unwrap().contains("249.00 EUR"));

    let signed = &requests[2];
    assert_eq!(signed.path, "/dealpulse");
    assert_eq!(
        signed.headers.get("webhook-id").map(String::as_str),
        Some("msg_2f1d0c")
    );
    let timestamp = signed.headers.get("webhook-timestamp").unwrap();
    assert_eq!(timestamp, &now.as_second().to_string());
    // What a receiver does: HMAC-SHA256 over "<id>.<timestamp>.<body>" with the decoded secret.
    let expected = sign(&secret, "msg_2f1d0c", now.as_second(), &signed.body);
    assert_eq!(signed.headers.get("webhook-signature"), Some(&expected));
    assert!(expected.starts_with("v1,"));
    assert_ne!(
        expected,
        sign(&secret, "msg_2f1d0c", now.as_second() + 1, &signed.body)
    );
    let event: Value = serde_json::from_slice(&signed.body).unwrap();
    assert_eq!(event["type"], "deal.alert");
    assert_eq!(event["data"]["deals"][0]["price"]["amount"], "249.00");
    assert_eq!(event["data"]["delivery_id"], "msg_2f1d0c");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_are_classified_for_the_pipeline() {
    let recorder = HttpRecorder::start(200, "ok");
    let send = sender(&recorder);
    let hook = endpoint(EndpointKind::Webhook, "https://hooks.example.com/x", None);
    let discord = endpoint(
        EndpointKind::Discord,
        "https://discord.com/api/webhooks/1/t",
        None,
    );
    let now = Timestamp::now();

    recorder.set_reply(
        429,
        r#"{"message":"You are being rate limited.","retry_after":1.5,"global":false}"#,
    );
    match send.send(&discord, &message(), now).await {
        Err(SendError::Transient { retry_after, .. }) => {
            assert_eq!(
                retry_after,
                Some(Duration::from_millis(1500)),
                "Discord's retry_after"
            )
        }
        other => panic!("{other:?}"),
    }
    for (status, transient) in [
        (500, true),
        (503, true),
        (408, true),
        (400, false),
        (404, false),
        (410, false),
        (301, false),
    ] {
        recorder.set_reply(status, "{}");
        let outcome = send.send(&hook, &message(), now).await;
        match (outcome, transient) {
            (Err(SendError::Transient { .. }), true)
            | (Err(SendError::Permanent { .. }), false) => {}
            (other, _) => panic!("{status}: {other:?}"),
        }
    }

    // An endpoint whose address the guard refuses is a permanent failure, never a request.
    let before = recorder.requests().len();
    let guarded = WebhookSender::new(
        Arc::new(Fetcher::new(FetchConfig::default(), Arc::new(SystemLookup)).unwrap()),
        Some("http://127.0.0.1:9".parse().unwrap()),
    );
    assert!(matches!(
        guarded.send(&hook, &message(), now).await,
        Err(SendError::Permanent { .. })
    ));
    assert_eq!(recorder.requests().len(), before);
}
