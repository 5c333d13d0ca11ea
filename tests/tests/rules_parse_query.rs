//! The rule form's live query check in local mode: a query in words and parts, or where in the
//! text the problem is; over-long input refused; nothing written either way.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::http::{Method, StatusCode};
use dealpulse_tests::local_app::{app, assert_problem, Answer, App};
use serde_json::{json, Value};

const PATH: &str = "/api/v1/deal-alert-rules/parse-query";

async fn parse(app: &App, token: &str, query: &str) -> Answer {
    let answer = app
        .call(
            Method::POST,
            PATH,
            Some(token),
            Some(json!({ "query": query })),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{query}: {}", answer.body);
    answer
}

/// The characters of `text` the error points at.
fn pointed_at(text: &str, error: &Value) -> String {
    let start = error["start"].as_u64().unwrap() as usize;
    let end = error["end"].as_u64().unwrap() as usize;
    text.chars().skip(start).take(end - start).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_query_is_described_or_its_problem_located_and_nothing_is_written() {
    let app = app();
    let (token, _) = app
        .verified_user("typist@example.com", "a long enough password")
        .await;
    let stamp_before = dealpulse_domain::records::matching_stamp(app.runtime.store.as_ref())
        .await
        .unwrap();

    let valid = parse(&app, &token, "Gaming  (PC | desktop) -mac \"water cooled\"").await;
    assert_eq!(
        valid.body,
        json!({
            "valid": true,
            "description": "mentions gaming and \"water cooled\" and mentions either pc or desktop, but mentions none of mac",
            "query_text": "gaming \"water cooled\" (pc OR desktop) -mac",
            "keywords": ["gaming", "\"water cooled\""],
            "any_of": [["pc", "desktop"]],
            "excluded": ["mac"],
            "keyword_count": 6
        })
    );
    let empty = parse(&app, &token, "   ").await;
    assert_eq!(empty.body["valid"], true);
    assert_eq!(
        empty.body["description"],
        "matches every listing (no keywords)"
    );

    // Problems come with the offsets of the text at fault (in characters, not bytes).
    for (text, at_fault, message) in [
        ("gaming (pc OR desktop", "(pc OR desktop", "closing )"),
        ("café pc)", ")", "no matching ("),
        ("pc -pc", "-pc", "both required and excluded"),
        ("(a b)", "b", "separate alternatives with OR"),
        ("ноутбук \"игровой", "\"игровой", "closing \""),
        ("gaming OR", "", "ends where a term was expected"),
    ] {
        let answer = parse(&app, &token, text).await;
        assert_eq!(answer.body["valid"], false, "{text}");
        let error = &answer.body["error"];
        assert!(
            error["message"].as_str().unwrap().contains(message),
            "{text}: {error}"
        );
        assert_eq!(pointed_at(text, error), at_fault, "{text}: {error}");
        assert!(answer.body.get("description").is_none());
    }
    let end = parse(&app, &token, "gaming OR").await;
    assert_eq!(
        end.body["error"]["start"], 9,
        "missing: an empty range at the end"
    );
    // A problem of the whole query has no position.
    let many: Vec<String> = (0..51).map(|i| format!("w{i}")).collect();
    let too_many = parse(&app, &token, &many.join(" ")).await;
    assert_eq!(too_many.body["valid"], false);
    assert_eq!(too_many.body["error"]["start"], Value::Null);
    assert_eq!(too_many.body["error"]["end"], Value::Null);

    // Over-long input is bad input, not a parse result.
    let long = app
        .call(
            Method::POST,
            PATH,
            Some(&token),
            Some(json!({"query": "a ".repeat(501)})),
        )
        .await;
    assert_problem(
        &long,
        StatusCode::UNPROCESSABLE_ENTITY,
        "over 1000 characters",
    );
    assert_eq!(long.body["errors"][0]["field"], "query");
    let anonymous = app
        .call(Method::POST, PATH, None, Some(json!({"query": "pc"})))
        .await;
    assert_problem(&anonymous, StatusCode::UNAUTHORIZED, "signed-in users only");

    // Nothing was written: no rule, and matchers were not told to rebuild.
    let rules = app
        .call(Method::GET, "/api/v1/deal-alert-rules", Some(&token), None)
        .await;
    assert_eq!(rules.body["total"], 0);
    assert_eq!(
        dealpulse_domain::records::matching_stamp(app.runtime.store.as_ref())
            .await
            .unwrap(),
        stamp_before
    );
}
