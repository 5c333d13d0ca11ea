//! The Lambda functions as compiled binaries: `cargo lambda watch` runs the Lambda runtime
//! emulator, `cargo lambda invoke --data-file events/...` sends each API Gateway event, and the
//! functions talk to moto. Covers the account sequence end to end and every events/ file.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use dealpulse_aws::dynamodb::DynamoStore;
use dealpulse_conformance::store::sample_listing;
use dealpulse_domain::account::Email;
use dealpulse_domain::plans::Plan;
use dealpulse_domain::ports::{CatalogRepository, UserRepository};
use dealpulse_tests::aws::{
    create_queue_pair, create_table, sdk_config, ses_sent, verify_sender, SENDER,
};
use dealpulse_tests::http_recorder::HttpRecorder;
use dealpulse_tests::lambda::{events_dir, invoke_event, start_watch, write_env_file, Watch};
use dealpulse_tests::{moto, unique};
use jiff::Timestamp;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// An API Gateway HTTP API response as the function returned it.
#[derive(Debug)]
struct Answer {
    status: u16,
    headers: BTreeMap<String, String>,
    body: Value,
}

/// Invokes `function` with an events/ file and reads the API Gateway response.
fn invoke(watch: &Watch, function: &str, event: &str, values: &BTreeMap<&str, String>) -> Answer {
    let response = invoke_event(watch, function, event, values)
        .unwrap_or_else(|error| panic!("invoking {function} with {event} failed: {error}"));
    let body_text = response["body"].as_str().unwrap_or_default();
    let headers = response["headers"]
        .as_object()
        .map(|headers| {
            headers
                .iter()
                .map(|(name, value)| {
                    (
                        name.to_ascii_lowercase(),
                        value.as_str().unwrap_or_default().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    Answer {
        status: response["statusCode"].as_u64().unwrap_or_default() as u16,
        headers,
        body: serde_json::from_str(body_text).unwrap_or(Value::String(body_text.to_string())),
    }
}

fn expect(answer: &Answer, status: u16, event: &str) {
    assert_eq!(answer.status, status, "{event}: {answer:#?}");
    if status >= 400 {
        assert_eq!(
            answer.headers.get("content-type").map(String::as_str),
            Some("application/problem+json"),
            "{event}: {answer:#?}"
        );
        assert_eq!(answer.body["status"], status, "{event}");
        assert!(
            answer.body["type"]
                .as_str()
                .unwrap_or_default()
                .starts_with("https://"),
            "{event}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn functions_serve_the_account_sequence_and_every_event_against_moto() {
    let moto = moto::shared();
    let config = sdk_config(moto).await;
    let table = unique("dealpulse-lambda");
    create_table(&aws_sdk_dynamodb::Client::new(&config), &table).await;
    let (queue_url, _dead_letters) = create_queue_pair(&aws_sdk_sqs::Client::new(&config), 5).await;
    verify_sender(&config).await;

    let twilio = HttpRecorder::start(
        201,
        r#"{"sid":"SM0123456789abcdef0123456789abcdef","status":"queued"}"#,
    );
    // Stands in for Discord: endpoint test sends from api-preferences are relayed here.
    let discord = HttpRecorder::start(204, "");
    let work = tempfile::tempdir().unwrap();
    let env = [
        ("AWS_ENDPOINT_URL", moto.endpoint.clone()),
        ("AWS_REGION", "us-east-1".into()),
        ("AWS_ACCESS_KEY_ID", "testing".into()),
        ("AWS_SECRET_ACCESS_KEY", "testing".into()),
        ("DEALPULSE_TABLE", table.clone()),
        ("DEALPULSE_QUEUE_URL", queue_url),
        ("DEALPULSE_SENDER", SENDER.into()),
        ("DEALPULSE_PUBLIC_URL", "https://app.dealpulse.test".into()),
        (
            "DEALPULSE_JWT_SECRET",
            "lambda-test-secret-of-at-least-32-bytes!".into(),
        ),
        ("DEALPULSE_STAGE", "test".into()),
        (
            "DEALPULSE_VAPID_SECRET",
            "lambda-test-vapid-seed-of-at-least-32-characters".into(),
        ),
        ("DEALPULSE_TWILIO_BASE_URL", twilio.base_url()),
        ("DEALPULSE_TWILIO_ACCOUNT_SID", "AC0123".into()),
        ("DEALPULSE_TWILIO_AUTH_TOKEN", "twilio-token".into()),
        ("DEALPULSE_TWILIO_FROM", "+15005550006".into()),
        ("DEALPULSE_NOTIFY_ORIGIN", discord.base_url()),
    ];
    let watch = start_watch(&write_env_file(work.path(), &env));
    let mut values: BTreeMap<&str, String> = BTreeMap::new();
    let mut used: BTreeSet<String> = BTreeSet::new();
    let mut call = |function: &str, event: &str, status: u16, values: &BTreeMap<&str, String>| {
        let answer = invoke(&watch, function, event, values);
        expect(&answer, status, event);
        used.insert(format!("{function}/{event}.json"));
        answer
    };

    // Health, readiness against moto, the API description.
    let health = call("health", "health", 200, &values);
    assert_eq!(health.body["runtime"], "lambda");
    let ready = call("health", "ready", 200, &values);
    assert_eq!(ready.body["status"], "ready", "{ready:#?}");
    let openapi = call("health", "openapi", 200, &values);
    assert!(openapi.body["openapi"].as_str().unwrap().starts_with("3.1"));
    let docs = call("health", "docs", 200, &values);
    assert!(docs
        .body
        .as_str()
        .unwrap_or_default()
        .contains("DealPulse API"));
    call("health", "unknown-path", 404, &values);
    call("health", "wrong-method", 405, &values);

    // Bad input changes nothing.
    call("api-auth", "register-invalid-fields", 422, &values);
    call("api-auth", "register-unknown-field", 422, &values);
    call("api-auth", "register-malformed-json", 400, &values);
    call("api-auth", "register-missing-content-type", 400, &values);
    call("api-auth", "login", 401, &values);

    // Register, read the verification mail that SES accepted, verify.
    let registered = call("api-auth", "register", 201, &values);
    assert_eq!(registered.body["user"]["email"], "lambda-user@example.com");
    assert_eq!(registered.body["verification_email_sent"], true);
    call("api-auth", "register", 409, &values);
    let mail = ses_sent(moto)
        .await
        .into_iter()
        .rfind(|mail| mail.to == "lambda-user@example.com")
        .expect("verification mail sent through SES");
    assert!(mail
        .body
        .contains("https://app.dealpulse.test/verify-email?token="));
    let token = dealpulse_api::emails::link_token(&mail.body).unwrap();
    let forbidden = call("api-auth", "login", 403, &values);
    assert!(forbidden.body["type"]
        .as_str()
        .unwrap()
        .ends_with("email-not-verified"));
    call("api-auth", "verify-email-bad-token", 400, &values);
    values.insert("VERIFY_TOKEN", token);
    let verified = call("api-auth", "verify-email", 200, &values);
    assert_eq!(verified.body["email_verified"], true);
    call("api-auth", "verify-email", 400, &values); // single use
    call("api-auth", "resend-verification", 202, &values);

    // Log in, refresh, call /me, create and use an API key.
    call("api-auth", "login-wrong-password", 401, &values);
    let login = call("api-auth", "login", 200, &values);
    values.insert(
        "REFRESH_TOKEN",
        login.body["refresh_token"].as_str().unwrap().to_string(),
    );
    let refreshed = call("api-auth", "refresh", 200, &values);
    assert_ne!(refreshed.body["refresh_token"], login.body["refresh_token"]);
    call("api-auth", "refresh", 401, &values); // the rotated token was replayed: session revoked
    let login = call("api-auth", "login", 200, &values);
    values.insert(
        "ACCESS_TOKEN",
        login.body["access_token"].as_str().unwrap().to_string(),
    );

    call("api-account", "me-unauthenticated", 401, &values);
    let me = call("api-account", "me", 200, &values);
    assert_eq!(me.body["email"], "lambda-user@example.com");
    assert_eq!(me.body["timezone"], "America/New_York");
    assert!(me.headers.contains_key("etag"));
    call("api-account", "me-update-invalid", 422, &values);
    let updated = call("api-account", "me-update", 200, &values);
    assert_eq!(updated.body["display_name"], "Renamed");
    assert_eq!(updated.body["locale"], "en-US");
    let sessions = call("api-account", "sessions-list", 200, &values);
    assert_eq!(sessions.body["items"].as_array().unwrap().len(), 1);
    let key = call("api-account", "api-key-create", 201, &values);
    values.insert("API_KEY", key.body["key"].as_str().unwrap().to_string());
    let listed = call("api-account", "api-keys-list-with-key", 200, &values);
    assert_eq!(listed.body["items"][0]["prefix"], key.body["prefix"]);
    assert!(
        listed.body["items"][0].get("key").is_none(),
        "secrets are shown once only"
    );
    call("api-account", "api-key-revoke-unknown", 404, &values);
    // E-mail previews: samples for an account without alerts, unknown templates 404.
    let digest = call("api-account", "email-preview", 200, &values);
    assert_eq!(digest.body["sample"], true, "{digest:#?}");
    assert!(digest.body["html"]
        .as_str()
        .unwrap()
        .contains("token=preview-placeholder"));
    call("api-account", "email-preview-unknown", 404, &values);
    // The export as a zip: a binary body, base64 through API Gateway.
    let export = call("api-account", "export", 200, &values);
    assert_eq!(
        export.headers.get("content-type").map(String::as_str),
        Some("application/zip")
    );

    // Deal alert rules (api-rules), with a listing to dry-run against.
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&config), table.clone());
    let mut near_boston = sample_listing("Gaming PC RTX 4070 desktop", Timestamp::now());
    near_boston.location = Some(dealpulse_domain::geo::GeoPoint::new(42.37, -71.11).unwrap());
    store.put_listing(&near_boston).await.unwrap();
    call("api-rules", "create-unauthenticated", 401, &values);
    call("api-rules", "create-malformed-json", 400, &values);
    let invalid = call("api-rules", "create-invalid", 422, &values);
    assert!(
        invalid.body["errors"].as_array().unwrap().len() >= 4,
        "{invalid:#?}"
    );
    let rule = call("api-rules", "create", 201, &values);
    assert_eq!(rule.body["query_text"], "gaming (pc OR desktop) -mac");
    assert_eq!(rule.body["location"]["label"], "Boston, US");
    values.insert("RULE_ID", rule.body["id"].as_str().unwrap().to_string());
    call("api-rules", "create-flight", 201, &values);
    let listed = call("api-rules", "list", 200, &values);
    assert_eq!(listed.body["total"], 2);
    call("api-rules", "list-bad-query", 422, &values);
    // The rule form's live query check: words and parts, or where the problem is.
    let parsed = call("api-rules", "parse-query", 200, &values);
    assert_eq!(parsed.body["valid"], true, "{parsed:#?}");
    assert_eq!(parsed.body["excluded"], serde_json::json!(["mac"]));
    let unparsed = call("api-rules", "parse-query-invalid", 200, &values);
    assert_eq!(unparsed.body["valid"], false, "{unparsed:#?}");
    assert_eq!(unparsed.body["error"]["start"], 7);
    assert_eq!(unparsed.body["error"]["end"], 21);
    let read = call("api-rules", "get", 200, &values);
    assert!(read.headers.contains_key("etag"));
    call("api-rules", "get-unknown", 404, &values);
    let updated = call("api-rules", "update", 200, &values);
    assert_eq!(updated.body["max_price"], Value::Null);
    assert_eq!(updated.body["version"], 2);
    call("api-rules", "update-stale", 412, &values);
    let dry_run = call("api-rules", "test", 200, &values);
    assert!(dry_run.body["matches"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["title"] == "Gaming PC RTX 4070 desktop"));
    assert_eq!(
        call("api-rules", "pause", 200, &values).body["enabled"],
        false
    );
    assert_eq!(
        call("api-rules", "resume", 200, &values).body["enabled"],
        true
    );
    let bulk = call("api-rules", "bulk-pause", 200, &values);
    assert_eq!(bulk.body["results"][1]["status"], "not_found");
    call("api-rules", "delete", 204, &values);
    call("api-rules", "get", 404, &values);
    // The deals feed (served with the rules): searched, filtered, with category counts.
    let feed = call("api-rules", "deals", 200, &values);
    assert_eq!(
        feed.body["items"][0]["title"], "Gaming PC RTX 4070 desktop",
        "{feed:#?}"
    );
    assert_eq!(feed.body["categories"][0]["category"], "computers");
    let bad = call("api-rules", "deals-bad-query", 422, &values);
    assert_eq!(bad.body["errors"][0]["field"], "sort");
    // Reporting a deal (served with the rules): once per user and listing.
    values.insert("LISTING_ID", near_boston.id.to_string());
    let report = call("api-rules", "deal-report", 201, &values);
    assert_eq!(report.body["reason"], "wrong_price");
    assert_eq!(report.body["status"], "open");
    call("api-rules", "deal-report", 409, &values);
    call("api-rules", "deal-report-unknown", 404, &values);

    // Watchlist (api-watchlist).
    call("api-watchlist", "create-private-url", 422, &values);
    call("api-watchlist", "create-bad-trigger", 422, &values);
    let watched = call("api-watchlist", "create", 201, &values);
    assert_eq!(
        watched.body["product"]["url"],
        "https://shop.example.com/espresso-x1"
    );
    values.insert("WATCH_ID", watched.body["id"].as_str().unwrap().to_string());
    assert_eq!(call("api-watchlist", "list", 200, &values).body["total"], 1);
    call("api-watchlist", "get", 200, &values);
    let changed = call("api-watchlist", "update", 200, &values);
    assert_eq!(changed.body["label"], Value::Null);
    let history = call("api-watchlist", "history", 200, &values);
    values.insert(
        "PRODUCT_ID",
        watched.body["product"]["id"].as_str().unwrap().to_string(),
    );
    let product = call("api-watchlist", "product", 200, &values);
    assert_eq!(product.body["url"], watched.body["product"]["url"]);
    let chart = call("api-watchlist", "product-history", 200, &values);
    assert_eq!(chart.body["observations"], 0, "never checked");
    call("api-watchlist", "product-history-invalid", 422, &values);
    let csv = call("api-watchlist", "product-history-csv", 200, &values);
    assert_eq!(
        csv.body, "at,price,currency,in_stock\n",
        "never checked: only the header"
    );
    assert_eq!(history.body["points"], serde_json::json!([]));
    call("api-watchlist", "get-unknown", 404, &values);
    // Previews go through the SSRF guard; check-now schedules the product once a minute.
    let refused = call("api-watchlist", "preview-private-url", 422, &values);
    assert_eq!(refused.body["errors"][0]["field"], "url", "{refused:#?}");
    let scheduled = call("api-watchlist", "check", 202, &values);
    let due: Timestamp = scheduled.body["next_check_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let product_id: dealpulse_domain::ids::ProductId = values["PRODUCT_ID"].parse().unwrap();
    let stored = store.product_by_id(product_id).await.unwrap().unwrap();
    assert_eq!(stored.check.next_check_at, Some(due));
    let again = call("api-watchlist", "check", 429, &values);
    assert!(again.headers.contains_key("retry-after"), "{again:#?}");

    // Analytics (api-analytics), from the rollups the store wrote with the listing above and a
    // flight deal, and the watch just made.
    let mut flight = sample_listing("Boston to Lisbon, nonstop", Timestamp::now());
    flight.flight = Some(dealpulse_domain::listing::FlightOffer {
        origin: "BOS".into(),
        destination: "LIS".into(),
        depart_on: jiff::civil::date(2027, 2, 3),
        return_on: None,
        stops: 0,
        cabin: dealpulse_domain::listing::Cabin::Economy,
    });
    store.put_listing(&flight).await.unwrap();
    let trend = call("api-analytics", "product-trend", 200, &values);
    assert_eq!(trend.body["observations"], 0, "never checked: {trend:#?}");
    call("api-analytics", "product-trend-unknown", 404, &values);
    let category = call("api-analytics", "category-trend", 200, &values);
    assert_eq!(category.body["windows"][0]["listings"], 2, "{category:#?}");
    call("api-analytics", "category-trend-unknown", 404, &values);
    let destinations = call("api-analytics", "destinations", 200, &values);
    assert_eq!(destinations.body["destinations"][0]["destination"], "LIS");
    assert_eq!(
        destinations.body["destinations"][0]["median_price"]["currency"],
        "USD"
    );
    call("api-analytics", "destinations-bad-days", 422, &values);
    let popular = call("api-analytics", "popular", 200, &values);
    assert_eq!(
        popular.body["products"],
        serde_json::json!([]),
        "one watcher is not enough to be shown: {popular:#?}"
    );
    assert_eq!(popular.body["categories"][0]["category"], "computers");
    let frequency = call("api-analytics", "deal-frequency", 200, &values);
    assert_eq!(frequency.body["rows"][0]["key"], "conformance");
    assert_eq!(frequency.body["deals"], 2);
    call("api-analytics", "deal-frequency-bad-by", 422, &values);
    let dashboard = call("api-analytics", "dashboard", 200, &values);
    assert_eq!(dashboard.body["watches"]["total"], 1, "{dashboard:#?}");
    assert_eq!(dashboard.body["click_tracking"], true);
    call("api-analytics", "dashboard-unauthenticated", 401, &values);
    let link = dealpulse_domain::clicks::ClickLink {
        user: store
            .user_by_email(&Email::parse("lambda-user@example.com").unwrap())
            .await
            .unwrap()
            .unwrap()
            .id,
        delivery: "ab".repeat(16),
        index: 0,
        url: "https://shop.example.com/espresso-x1".into(),
        price: near_boston.price,
        reference: near_boston.was_price,
    };
    values.insert(
        "CLICK_TOKEN",
        link.sign(&dealpulse_domain::clicks::derive_click_key(
            b"lambda-test-secret-of-at-least-32-bytes!",
        )),
    );
    let followed = call("api-analytics", "link", 302, &values);
    assert_eq!(
        followed.headers.get("location").map(String::as_str),
        Some("https://shop.example.com/espresso-x1")
    );
    call("api-analytics", "link-forged", 404, &values);
    let dashboard = call("api-analytics", "dashboard", 200, &values);
    assert_eq!(dashboard.body["clicks"], 1);
    assert_eq!(
        dashboard.body["savings"],
        serde_json::json!([{"amount": "200.00", "currency": "USD"}])
    );

    call("api-watchlist", "delete", 204, &values);
    call("api-watchlist", "get", 404, &values);

    // Preferences, endpoints, phone (codes texted through Twilio's API) and web push.
    let summary = call("api-preferences", "summary", 200, &values);
    assert_eq!(summary.body["plan"], "free");
    call("api-preferences", "channels-unconfigured", 422, &values);
    let limited = call("api-preferences", "channels-sms-not-on-plan", 403, &values);
    assert_eq!(limited.body["limit"]["name"], "channels:sms");
    call("api-preferences", "frequency-invalid", 422, &values);
    let frequency = call("api-preferences", "frequency", 200, &values);
    assert_eq!(frequency.body["max_alerts_per_day"], 20);
    let quiet = call("api-preferences", "quiet-hours", 200, &values);
    assert_eq!(quiet.body["quiet_hours"]["crosses_midnight"], true);
    call("api-preferences", "endpoint-create-insecure", 422, &values);
    let endpoint = call("api-preferences", "endpoint-create", 201, &values);
    values.insert(
        "ENDPOINT_ID",
        endpoint.body["id"].as_str().unwrap().to_string(),
    );
    assert_eq!(
        call("api-preferences", "endpoints-list", 200, &values).body["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let tested = call("api-preferences", "endpoint-test", 200, &values);
    assert_eq!(tested.body["status"], 204);
    let posted = discord.requests();
    assert_eq!(
        posted.len(),
        1,
        "one test message reached the Discord stand-in"
    );
    assert!(
        posted[0].path.starts_with("/api/webhooks/"),
        "{}",
        posted[0].path
    );
    let one = call("api-preferences", "endpoint-get", 200, &values);
    assert_eq!(one.body["url"], "https://discord.com/api/webhooks/123456/…");
    let relabelled = call("api-preferences", "endpoint-update", 200, &values);
    assert_eq!(relabelled.body["label"], "hot deals");
    let discord = call("api-preferences", "channels-discord", 200, &values);
    assert_eq!(discord.body["channels"]["discord"]["enabled"], true);
    let mut user = store
        .user_by_email(&Email::parse("lambda-user@example.com").unwrap())
        .await
        .unwrap()
        .unwrap();
    user.plan = Plan::Pro;
    store.update_user(&user).await.unwrap();
    let webhook = call("api-preferences", "endpoint-create-webhook", 201, &values);
    let first_secret = webhook.body["signing_secret"].as_str().unwrap().to_string();
    values.insert(
        "WEBHOOK_ID",
        webhook.body["id"].as_str().unwrap().to_string(),
    );
    let rotated = call("api-preferences", "endpoint-rotate-secret", 200, &values);
    assert_ne!(
        rotated.body["signing_secret"].as_str().unwrap(),
        first_secret
    );
    call("api-preferences", "endpoint-delete", 204, &values);
    call("api-preferences", "endpoint-delete", 404, &values);
    call("api-preferences", "phone-start-invalid", 422, &values);
    let started = call("api-preferences", "phone-start", 202, &values);
    assert_eq!(started.body["pending"], true);
    let texted = twilio
        .requests()
        .into_iter()
        .find(|r| r.path == "/2010-04-01/Accounts/AC0123/Messages.json")
        .expect("the code went to Twilio");
    assert_eq!(
        texted.headers.get("authorization").map(String::as_str),
        Some("Basic QUMwMTIzOnR3aWxpby10b2tlbg==")
    );
    let form = texted.form();
    assert_eq!(form["To"], "+14155550123");
    assert_eq!(form["From"], "+15005550006");
    let code: String = form["Body"]
        .chars()
        .filter(char::is_ascii_digit)
        .take(6)
        .collect();
    values.insert(
        "WRONG_CODE",
        if code == "000000" { "111111" } else { "000000" }.to_string(),
    );
    values.insert("SMS_CODE", code);
    call("api-preferences", "phone-verify-wrong", 422, &values);
    let verified = call("api-preferences", "phone-verify", 200, &values);
    assert_eq!(verified.body["verified"], true);
    assert_eq!(
        call("api-preferences", "phone", 200, &values).body["verified"],
        true
    );
    let key = call("api-preferences", "vapid-public-key", 200, &values);
    assert_eq!(key.body["public_key"].as_str().unwrap().len(), 87);
    call("api-preferences", "push-subscribe-bad-key", 422, &values);
    call("api-preferences", "push-subscribe", 201, &values);
    call("api-preferences", "push-subscribe", 200, &values); // same endpoint: refreshed
    let log = call("api-preferences", "alerts-list", 200, &values);
    assert_eq!(log.body["items"], serde_json::json!([]), "no alerts yet");
    call("api-preferences", "unsubscribe-forged", 400, &values);
    let subscriptions = call("api-preferences", "push-list", 200, &values);
    assert_eq!(
        subscriptions.body["items"][0]["service"],
        "fcm.googleapis.com"
    );
    call("api-preferences", "push-unsubscribe", 204, &values);
    call("api-preferences", "phone-delete", 204, &values);
    call("api-preferences", "phone", 404, &values);

    // The public newsletter (api-subscribers): double opt-in through SES, the confirm and
    // unsubscribe pages (GET changes nothing), POST to confirm and to leave with one click.
    call("api-subscribers", "subscribe-invalid", 422, &values);
    let subscribed = call("api-subscribers", "subscribe", 202, &values);
    assert_eq!(subscribed.body["status"], "check_your_inbox");
    let confirmation = ses_sent(moto)
        .await
        .into_iter()
        .rfind(|mail| mail.to == "newsletter-reader@example.com")
        .expect("newsletter confirmation sent through SES");
    let marker = "https://app.dealpulse.test/api/v1/newsletter/confirm?token=";
    let start = confirmation.body.find(marker).expect("a confirm link") + marker.len();
    let token: String = confirmation.body[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || "-_.".contains(*c))
        .collect();
    values.insert("NEWSLETTER_CONFIRM_TOKEN", token);
    let page = call("api-subscribers", "confirm-page", 200, &values);
    assert!(page
        .body
        .as_str()
        .unwrap()
        .contains("<form method=\"post\""));
    call("api-subscribers", "confirm-forged", 400, &values);
    let confirmed = call("api-subscribers", "confirm", 200, &values);
    assert!(confirmed.body.as_str().unwrap().contains("Subscribed"));
    let reader = Email::parse("newsletter-reader@example.com").unwrap();
    let stored =
        dealpulse_domain::records::records::<dealpulse_domain::subscribers::Subscriber>(&store)
            .get(dealpulse_domain::ids::UserId::system(), reader.as_str())
            .await
            .unwrap()
            .unwrap();
    assert_eq!(
        stored.status,
        dealpulse_domain::subscribers::SubscriberStatus::Confirmed
    );
    let unsubscribe_key = dealpulse_domain::unsubscribe::derive_unsubscribe_key(
        b"lambda-test-secret-of-at-least-32-bytes!",
    );
    values.insert(
        "NEWSLETTER_UNSUBSCRIBE_TOKEN",
        dealpulse_domain::subscribers::NewsletterToken::Unsubscribe {
            email: reader.clone(),
        }
        .sign(&dealpulse_domain::subscribers::newsletter_key(
            &unsubscribe_key,
        )),
    );
    call("api-subscribers", "unsubscribe-page", 200, &values);
    call("api-subscribers", "unsubscribe", 200, &values);
    let left =
        dealpulse_domain::records::records::<dealpulse_domain::subscribers::Subscriber>(&store)
            .get(dealpulse_domain::ids::UserId::system(), reader.as_str())
            .await
            .unwrap()
            .unwrap();
    assert_eq!(
        left.status,
        dealpulse_domain::subscribers::SubscriberStatus::Unsubscribed
    );

    call("api-auth", "password-forgot", 202, &values);
    call("api-auth", "password-reset-bad-token", 400, &values);
    call("api-auth", "logout", 204, &values);
    call("api-account", "me", 401, &values); // logged out

    // Every event file is exercised by this test.
    let mut all = BTreeSet::new();
    for function in [
        "health",
        "api-auth",
        "api-account",
        "api-rules",
        "api-watchlist",
        "api-preferences",
        "api-analytics",
        "api-subscribers",
    ] {
        for entry in std::fs::read_dir(events_dir().join(function)).unwrap() {
            all.insert(format!(
                "{function}/{}",
                entry.unwrap().file_name().to_string_lossy()
            ));
        }
    }
    let unused: Vec<_> = all.difference(&used).collect();
    assert!(unused.is_empty(), "events without a test: {unused:?}");
    drop(watch);
}

/// `sam build` runs `cargo lambda build` in each function's `CodeUri`. From the workspace root
/// that one cargo invocation builds every member, features unify, and each bootstrap links what
/// any member enables (docs/BENCHMARKS.md, bootstrap size): every function crate is deployed,
/// once, built from its own directory as the binary of that name.
#[test]
fn every_function_is_built_alone_from_its_own_directory() {
    let root = dealpulse_tests::workspace_root();
    let template = dealpulse_tests::aws::template();
    let mut deployed = BTreeSet::new();
    for (name, resource) in template["Resources"].as_mapping().unwrap() {
        if resource["Type"].as_str() != Some("AWS::Serverless::Function") {
            continue;
        }
        let name = name.as_str().unwrap();
        let code_uri = resource["Properties"]["CodeUri"]
            .as_str()
            .unwrap_or_else(|| panic!("{name} has no CodeUri of its own"));
        let crate_name = code_uri
            .strip_prefix("functions/")
            .unwrap_or_else(|| panic!("{name}: CodeUri {code_uri} is not a function's directory"));
        let manifest = std::fs::read_to_string(root.join(code_uri).join("Cargo.toml"))
            .unwrap_or_else(|error| panic!("{name}: {code_uri}/Cargo.toml: {error}"));
        assert!(
            manifest.contains(&format!("name = \"{crate_name}\"")),
            "{name}: {code_uri} is not the package {crate_name}"
        );
        assert_eq!(
            resource["Metadata"]["BuildMethod"].as_str(),
            Some("rust-cargolambda"),
            "{name}"
        );
        assert_eq!(
            resource["Metadata"]["BuildProperties"]["Binary"].as_str(),
            Some(crate_name),
            "{name}"
        );
        assert!(deployed.insert(crate_name.to_owned()), "{crate_name} twice");
    }
    let function_crates: BTreeSet<String> = std::fs::read_dir(root.join("functions"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .filter(|directory| directory != "local")
        .collect();
    assert_eq!(deployed, function_crates);
}
