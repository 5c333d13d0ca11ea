//! E-mail previews in local mode: each template rendered for the caller by the functions that
//! send it, with sample deals until the caller has alerts (and the week has deals), real ones
//! after; links carry an inert placeholder, never a real token, and nothing is sent.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::http::{Method, StatusCode};
use dealpulse_domain::mail::OutboxReader;
use dealpulse_domain::money::{Currency, Money};
use dealpulse_domain::ports::CatalogRepository;
use dealpulse_domain::queue::Queue;
use dealpulse_tests::alerts::listing_event_json;
use dealpulse_tests::local_app::{app, assert_problem, Answer, App};
use serde_json::json;

const PASSWORD: &str = "a long enough password";
const PLACEHOLDER: &str = "token=preview-placeholder";

async fn preview(app: &App, token: &str, template: &str) -> Answer {
    app.call(
        Method::GET,
        &format!("/api/v1/me/email-previews/{template}"),
        Some(token),
        None,
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn previews_show_labelled_samples_until_there_are_real_deals() {
    let app = app();
    let (token, _) = app.verified_user("reader@example.com", PASSWORD).await;
    let outbox = app.runtime.outbox.as_ref().unwrap();
    let mails_before = outbox.recent(100).await.unwrap().len();

    // Given no alerts and no deals this week: samples, labelled as such.
    for (template, subject) in [
        (
            "alert",
            "749.99 USD — Sample deal: Gaming PC RTX 4070, 32 GB",
        ),
        ("digest", "Your daily DealPulse digest: 3 deals"),
        ("newsletter", "DealPulse top deals of the week ("),
    ] {
        let answer = preview(&app, &token, template).await;
        assert_eq!(answer.status, StatusCode::OK, "{template}: {}", answer.body);
        assert_eq!(answer.body["template"], template);
        assert_eq!(answer.body["sample"], true, "{template}");
        assert!(
            answer.body["subject"]
                .as_str()
                .unwrap()
                .starts_with(subject),
            "{template}: {}",
            answer.body["subject"]
        );
        for part in ["html", "text"] {
            let body = answer.body[part].as_str().unwrap();
            assert!(body.contains("Sample deal"), "{template} {part}");
            assert!(body.contains(PLACEHOLDER), "{template} {part}: {body}");
        }
        assert!(answer.body["html"]
            .as_str()
            .unwrap()
            .starts_with("<!doctype html>"));
    }

    // When a rule matched a deal: the alert and digest previews show it, with the rule's link.
    let rule = app
        .call(
            Method::POST,
            "/api/v1/deal-alert-rules",
            Some(&token),
            Some(json!({"name": "Kayaks", "query": "kayak"})),
        )
        .await;
    assert_eq!(rule.status, StatusCode::CREATED, "{}", rule.body);
    let usd = Currency::parse("USD").unwrap();
    app.runtime
        .events_queue
        .send_batch(&[listing_event_json(
            "Touring kayak 4.3 m",
            Money::parse("349", usd).unwrap(),
        )])
        .await
        .unwrap();
    app.settle_alerts(&app.runtime.alerts()).await;
    let sent = outbox
        .recent(100)
        .await
        .unwrap()
        .into_iter()
        .find(|mail| mail.subject.contains("Touring kayak"))
        .expect("the real alert was sent");
    let alert = preview(&app, &token, "alert").await;
    assert_eq!(alert.body["sample"], false, "{}", alert.body);
    assert_eq!(
        alert.body["subject"], sent.subject,
        "rendered as it was sent"
    );
    let text = alert.body["text"].as_str().unwrap();
    assert!(text.contains("Touring kayak 4.3 m"), "{text}");
    assert!(
        text.contains(&format!(
            "Stop the rule \"Kayaks\": http://dealpulse.test/api/v1/unsubscribe?{PLACEHOLDER}"
        )),
        "{text}"
    );
    assert!(!text.contains("Sample deal"));
    let real_link = sent
        .text
        .split_whitespace()
        .find(|word| word.contains("/api/v1/unsubscribe?token="))
        .unwrap();
    assert!(!text.contains(real_link), "a preview carries no real token");
    let digest = preview(&app, &token, "digest").await;
    assert_eq!(digest.body["sample"], false);
    assert_eq!(
        digest.body["subject"],
        "Your daily DealPulse digest: 1 deal"
    );
    assert!(digest.body["html"]
        .as_str()
        .unwrap()
        .contains("Touring kayak 4.3 m"));

    // A scored public deal this week makes the newsletter real.
    let mut deal =
        dealpulse_conformance::store::sample_listing("OLED TV 65 inch", jiff::Timestamp::now());
    deal.score = Some(91);
    app.runtime.store.put_listing(&deal).await.unwrap();
    let newsletter = preview(&app, &token, "newsletter").await;
    assert_eq!(newsletter.body["sample"], false, "{}", newsletter.body);
    assert!(newsletter.body["text"]
        .as_str()
        .unwrap()
        .contains("OLED TV 65 inch"));
    assert!(newsletter.body["text"].as_str().unwrap().contains(&format!(
        "http://dealpulse.test/api/v1/newsletter/unsubscribe?{PLACEHOLDER}"
    )));

    // Previews send nothing.
    assert_eq!(
        outbox.recent(100).await.unwrap().len(),
        mails_before + 1,
        "only the real alert was sent"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn account_mail_previews_carry_placeholders_that_open_nothing() {
    let app = app();
    let (token, _) = app.verified_user("reader@example.com", PASSWORD).await;
    let outbox = app.runtime.outbox.as_ref().unwrap();
    let mails_before = outbox.recent(100).await.unwrap().len();

    let verification = preview(&app, &token, "verification").await;
    assert_eq!(verification.status, StatusCode::OK, "{}", verification.body);
    assert_eq!(
        verification.body["subject"],
        "Confirm your DealPulse e-mail address"
    );
    assert_eq!(verification.body["sample"], false);
    assert!(verification.body["text"]
        .as_str()
        .unwrap()
        .contains(&format!("http://dealpulse.test/verify-email?{PLACEHOLDER}")));
    assert!(verification.body["text"]
        .as_str()
        .unwrap()
        .contains("expires in 24 hours"));
    let reset = preview(&app, &token, "password-reset").await;
    assert_eq!(reset.body["subject"], "Reset your DealPulse password");
    assert!(reset.body["html"].as_str().unwrap().contains(&format!(
        "http://dealpulse.test/reset-password?{PLACEHOLDER}"
    )));

    // The placeholders open nothing.
    let token_text = PLACEHOLDER.trim_start_matches("token=");
    let verify = app
        .call(
            Method::POST,
            "/api/v1/auth/verify-email",
            None,
            Some(json!({"token": token_text})),
        )
        .await;
    assert_problem(&verify, StatusCode::BAD_REQUEST, "placeholder verification");
    let reset_with = app
        .call(
            Method::POST,
            "/api/v1/auth/password/reset",
            None,
            Some(json!({"token": token_text, "new_password": "another long password"})),
        )
        .await;
    assert_problem(&reset_with, StatusCode::BAD_REQUEST, "placeholder reset");
    app.login("reader@example.com", PASSWORD).await;
    assert_eq!(outbox.recent(100).await.unwrap().len(), mails_before);

    let unknown = preview(&app, &token, "invoice").await;
    assert_problem(&unknown, StatusCode::NOT_FOUND, "unknown template");
    let anonymous = app
        .call(Method::GET, "/api/v1/me/email-previews/alert", None, None)
        .await;
    assert_problem(&anonymous, StatusCode::UNAUTHORIZED, "signed-in users only");
}
