//! Hostile requests against local mode over HTTP, one test per row of the security table in
//! docs/SECURITY.md: forged, expired, foreign and revoked access tokens; refresh-token reuse;
//! oversized and deeply nested JSON; header injection through e-mail fields; a concurrent burst
//! against the rate limiter. Each refusal is a problem document and changes nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use dealpulse_api::auth::tokens::{AccessClaims, SigningSecret, TokenKeys};
use dealpulse_domain::mail::OutboxReader;
use dealpulse_tests::local_app::{app, assert_problem, App};
use jiff::{SignedDuration, Timestamp};
use serde_json::{json, Value};

const ISSUER: &str = dealpulse::runtime::TOKEN_ISSUER;
const AUDIENCE: &str = dealpulse::runtime::TOKEN_AUDIENCE;

/// The claims of a token this app issued (the payload is readable by design).
fn claims_of(token: &str) -> AccessClaims {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

/// The app's own signing keys, read from its data directory as `serve` keeps them.
fn keys_of(app: &App, audience: &str) -> TokenKeys {
    let secret = std::fs::read(app.dir.path().join("jwt-secret")).unwrap();
    TokenKeys::new(&SigningSecret::new(secret).unwrap(), ISSUER, audience)
}

async fn me(app: &App, token: &str) -> dealpulse_tests::local_app::Answer {
    app.call(Method::GET, "/api/v1/me", Some(token), None).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_expired_foreign_and_revoked_access_tokens_are_refused() {
    let app = app();
    let (access, _) = app
        .verified_user("tokens@example.com", "correct horse battery")
        .await;
    assert_eq!(me(&app, &access).await.status, StatusCode::OK);
    let claims = claims_of(&access);
    let now = Timestamp::now();
    let own = keys_of(&app, AUDIENCE);
    let sign = |keys: &TokenKeys, at: Timestamp, ttl: i64| {
        keys.issue_access(claims.sub, claims.sid, claims.role, at, ttl)
    };
    let foreign = TokenKeys::new(
        &SigningSecret::new(b"another deployment's secret of 32+ bytes".to_vec()).unwrap(),
        ISSUER,
        AUDIENCE,
    );
    let [header_part, payload_part, signature_part]: [&str; 3] =
        access.split('.').collect::<Vec<_>>().try_into().unwrap();
    let encode = |value: &Value| URL_SAFE_NO_PAD.encode(value.to_string());
    let mut escalated = serde_json::to_value(&claims).unwrap();
    escalated["role"] = json!("admin");
    let mut other_user = serde_json::to_value(&claims).unwrap();
    other_user["sub"] = json!(uuid_like());
    let none_header = encode(&json!({"alg": "none", "typ": "JWT"}));

    let attempts: Vec<(&str, String)> = vec![
        (
            "expired an hour ago",
            sign(&own, now - SignedDuration::from_hours(2), 3600),
        ),
        (
            "not valid before next hour",
            sign(&own, now + SignedDuration::from_hours(1), 3600),
        ),
        ("signed by another secret", sign(&foreign, now, 900)),
        (
            "issued for another audience",
            sign(&keys_of(&app, "another-api"), now, 900),
        ),
        (
            "role raised without re-signing",
            format!("{header_part}.{}.{signature_part}", encode(&escalated)),
        ),
        (
            "subject swapped without re-signing",
            format!("{header_part}.{}.{signature_part}", encode(&other_user)),
        ),
        (
            "alg none, no signature",
            format!("{none_header}.{payload_part}."),
        ),
        (
            "alg none, original signature",
            format!("{none_header}.{payload_part}.{signature_part}"),
        ),
        (
            "signature stripped",
            format!("{header_part}.{payload_part}."),
        ),
        ("truncated", access[..access.len() / 2].to_string()),
        ("four parts", format!("{access}.{signature_part}")),
        ("empty", String::new()),
    ];
    for (what, token) in &attempts {
        assert_problem(&me(&app, token).await, StatusCode::UNAUTHORIZED, what);
    }

    // A well-signed, unexpired token of a session that was ended.
    assert_eq!(
        app.call(Method::POST, "/api/v1/auth/logout", Some(&access), None)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    let after_logout = sign(&own, now, 900);
    assert_problem(
        &me(&app, &after_logout).await,
        StatusCode::UNAUTHORIZED,
        "token of an ended session",
    );
}

fn uuid_like() -> String {
    "0190a2b4-0000-7000-8000-000000000001".to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reused_refresh_token_ends_the_whole_session() {
    let app = app();
    let (_, first_refresh) = app
        .verified_user("reuse@example.com", "correct horse battery")
        .await;
    let refresh = |token: String| {
        let app = &app;
        async move {
            app.call(
                Method::POST,
                "/api/v1/auth/refresh",
                None,
                Some(json!({"refresh_token": token})),
            )
            .await
        }
    };
    let rotated = refresh(first_refresh.clone()).await;
    assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.body);
    let new_access = rotated.body["access_token"].as_str().unwrap().to_string();
    let new_refresh = rotated.body["refresh_token"].as_str().unwrap().to_string();
    assert_eq!(me(&app, &new_access).await.status, StatusCode::OK);

    // Someone replays the first token (stolen before the rotation): the session ends for both.
    assert_problem(
        &refresh(first_refresh).await,
        StatusCode::UNAUTHORIZED,
        "replayed refresh token",
    );
    assert_problem(
        &refresh(new_refresh).await,
        StatusCode::UNAUTHORIZED,
        "the legitimate holder's refresh after the replay",
    );
    assert_problem(
        &me(&app, &new_access).await,
        StatusCode::UNAUTHORIZED,
        "access token of the ended session",
    );
    // The account itself is fine: logging in again works, and the replay is in the audit log.
    let (access, _) = app
        .login("reuse@example.com", "correct horse battery")
        .await;
    let audit = app
        .call(Method::GET, "/api/v1/me/audit", Some(&access), None)
        .await;
    assert_eq!(audit.status, StatusCode::OK, "{}", audit.body);
    assert!(
        audit
            .body
            .to_string()
            .contains("session.refresh_reuse_revoked"),
        "{}",
        audit.body
    );
}

async fn raw_post(
    app: &App,
    path: &str,
    token: &str,
    body: Vec<u8>,
) -> dealpulse_tests::local_app::Answer {
    app.send(
        Request::builder()
            .method(Method::POST)
            .uri(path)
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body))
            .unwrap(),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_and_deeply_nested_json_is_refused_and_stores_nothing() {
    let app = app();
    let (access, _) = app
        .verified_user("bodies@example.com", "correct horse battery")
        .await;
    let rules = "/api/v1/deal-alert-rules";

    // 2 MiB of valid JSON: over the 1 MiB body limit.
    let long_name = "x".repeat(2 * 1024 * 1024);
    let oversized = json!({"name": long_name}).to_string().into_bytes();
    assert_problem(
        &raw_post(&app, rules, &access, oversized).await,
        StatusCode::PAYLOAD_TOO_LARGE,
        "2 MiB body",
    );

    // 200,000 levels of nesting in 400 KB: under the size limit, over serde_json's depth limit
    // (128), so it is refused while parsing instead of exhausting the stack.
    for (open, close) in [("[", "]"), ("{\"a\":", "}")] {
        let depth = 200_000;
        let nested = format!(
            "{{\"name\":\"deep\",\"keywords\":{}1{}}}",
            open.repeat(depth),
            close.repeat(depth)
        );
        let answer = raw_post(&app, rules, &access, nested.into_bytes()).await;
        assert!(answer.status.is_client_error(), "{open}: {}", answer.body);
        assert_eq!(answer.body["status"], answer.status.as_u16());
    }
    // Nesting inside a field typed as text is refused the same way.
    let answer = raw_post(
        &app,
        rules,
        &access,
        format!("{{\"name\":{}\"x\"{}}}", "[".repeat(5000), "]".repeat(5000)).into_bytes(),
    )
    .await;
    assert!(answer.status.is_client_error(), "{}", answer.body);

    let listed = app.call(Method::GET, rules, Some(&access), None).await;
    assert_eq!(listed.status, StatusCode::OK);
    assert_eq!(listed.body["items"], json!([]), "{}", listed.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn line_breaks_in_e_mail_fields_cannot_add_headers() {
    let app = app();
    let injected = [
        "victim@example.com\r\nBcc: everyone@example.com",
        "victim@example.com\nBcc: everyone@example.com",
        "victim@example.com%0d%0aBcc:everyone@example.com",
        "\"a\r\nBcc: b@example.com\" <victim@example.com>",
        "victim@example.com\r\n\r\n<html>spoofed body</html>",
    ];
    for email in injected {
        for path in [
            "/api/v1/auth/register",
            "/api/v1/auth/password/forgot",
            "/api/v1/auth/resend-verification",
            "/api/v1/newsletter/subscribe",
        ] {
            let body = if path.ends_with("register") {
                json!({"email": email, "password": "correct horse battery"})
            } else {
                json!({"email": email})
            };
            let answer = app.call(Method::POST, path, None, Some(body)).await;
            // A clear 422 for the address, or the uniform answer these routes give for
            // unknown addresses; either way no mail may carry the injected header.
            assert!(
                answer.status == StatusCode::UNPROCESSABLE_ENTITY
                    || answer.status == StatusCode::ACCEPTED
                    || answer.status == StatusCode::NO_CONTENT,
                "{path} {email:?}: {} {}",
                answer.status,
                answer.body
            );
        }
    }
    let outbox = app.runtime.outbox.as_ref().unwrap();
    let sent = outbox.recent(100).await.unwrap();
    for mail in &sent {
        assert!(
            !mail.to.contains('\n') && !mail.to.contains('\r'),
            "a mail went to {:?}",
            mail.to
        );
    }
    assert!(
        sent.is_empty(),
        "mail was sent to an injected address: {sent:?}"
    );
}

/// 200 wrong-password logins for one account at once, from tasks on both worker threads: the
/// per-account limit (10 per 900 s window) admits exactly what is left of it, every refusal is
/// a 429 with Retry-After and RateLimit headers (of whichever limit refused it), and the right
/// password waits too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_login_limiter_holds_under_a_concurrent_burst() {
    const LIMIT: u64 = 10;
    const WINDOW: i64 = 900;
    let app = std::sync::Arc::new(app());
    // Registration logs in once: one hit of the ten.
    app.verified_user("burst@example.com", "the right password")
        .await;
    let window_of = |at: Timestamp| at.as_second().div_euclid(WINDOW);
    let started = Timestamp::now();
    let tasks: Vec<_> = (0..200)
        .map(|_| {
            let app = std::sync::Arc::clone(&app);
            tokio::spawn(async move {
                app.call(
                    Method::POST,
                    "/api/v1/auth/login",
                    None,
                    Some(json!({"email": "burst@example.com", "password": "a wrong guess"})),
                )
                .await
            })
        })
        .collect();
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await.unwrap());
    }
    let finished = Timestamp::now();
    let admitted = answers
        .iter()
        .filter(|a| a.status != StatusCode::TOO_MANY_REQUESTS)
        .count() as u64;
    for answer in &answers {
        if answer.status == StatusCode::TOO_MANY_REQUESTS {
            assert_problem(answer, StatusCode::TOO_MANY_REQUESTS, "burst");
            let retry_after: i64 = answer.headers[header::RETRY_AFTER]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            assert!((1..=WINDOW).contains(&retry_after), "{retry_after}");
            // The per-IP limit (30 per 300 s) refuses the later ones before the account's.
            let limit = answer.headers["ratelimit-limit"].to_str().unwrap();
            assert!(limit == "10" || limit == "30", "{limit}");
            assert_eq!(answer.headers["ratelimit-remaining"], "0");
        } else {
            assert_problem(answer, StatusCode::UNAUTHORIZED, "admitted wrong password");
        }
    }
    // Within one window the nine hits left are the most that get through; a burst that
    // straddles a window boundary may also use the next window's ten, never more.
    // The counter is atomic, so exactly the nine are admitted, not fewer.
    if window_of(started) == window_of(finished) {
        assert_eq!(admitted, LIMIT - 1);
    } else {
        assert!(
            (LIMIT - 1..=2 * LIMIT - 1).contains(&admitted),
            "{admitted}"
        );
    }
    let right = app
        .call(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(json!({"email": "burst@example.com", "password": "the right password"})),
        )
        .await;
    assert_eq!(right.status, StatusCode::TOO_MANY_REQUESTS);
}
