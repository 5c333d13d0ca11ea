//! The `api-billing` Lambda binary against moto (`cargo lambda watch` + `invoke --data-file
//! events/api-billing/...`): an unsigned delivery is refused, a subscription event signed the
//! way Stripe signs it (computed here) makes the user Pro in DynamoDB, and its redelivery is
//! acknowledged without being applied again.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use dealpulse_api::routes::billing::MrrRollup;
use dealpulse_aws::dynamodb::DynamoStore;
use dealpulse_conformance::store::sample_user;
use dealpulse_domain::ids::UserId;
use dealpulse_domain::plans::Plan;
use dealpulse_domain::ports::UserRepository;
use dealpulse_domain::records::records;
use dealpulse_tests::aws::{create_table, sdk_config};
use dealpulse_tests::lambda::{events_dir, invoke_event, start_watch, write_env_file};
use dealpulse_tests::{moto, unique};
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;
use std::collections::{BTreeMap, BTreeSet};

const SECRET: &str = "whsec_lambda_test_secret";

fn stripe_header(body: &str, t: i64) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(format!("{t}.{body}").as_bytes());
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("t={t},v1={hex}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_billing_function_applies_signed_stripe_events_once() {
    let moto = moto::shared();
    let config = sdk_config(moto).await;
    let table = unique("dealpulse-billing");
    create_table(&aws_sdk_dynamodb::Client::new(&config), &table).await;
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&config), table.clone());
    let user = dealpulse_domain::account::User {
        plan: Plan::Free,
        ..sample_user()
    };
    store.insert_user(&user).await.unwrap();

    let work = tempfile::tempdir().unwrap();
    let env_file = write_env_file(
        work.path(),
        &[
            ("AWS_ENDPOINT_URL", moto.endpoint.clone()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_ACCESS_KEY_ID", "testing".into()),
            ("AWS_SECRET_ACCESS_KEY", "testing".into()),
            ("DEALPULSE_TABLE", table.clone()),
            ("DEALPULSE_PUBLIC_URL", "https://app.dealpulse.test".into()),
            (
                "DEALPULSE_JWT_SECRET",
                "billing-test-secret-of-at-least-32-bytes!".into(),
            ),
            ("DEALPULSE_STRIPE_WEBHOOK_SECRET", SECRET.into()),
            (
                "DEALPULSE_STRIPE_PRICES",
                "price_pro_month=pro,price_business_month=business".into(),
            ),
        ],
    );
    let watch = start_watch(&env_file);
    let now = jiff::Timestamp::now().as_second();
    let mut values: BTreeMap<&str, String> = BTreeMap::new();
    values.insert("USER_ID", user.id.to_string());
    values.insert("NOW", now.to_string());
    // The body as API Gateway hands it over, with the placeholders filled in: what Stripe signed.
    let file = std::fs::read_to_string(events_dir().join("api-billing/webhook-subscription.json"))
        .unwrap();
    let event: Value = serde_json::from_str(&file).unwrap();
    let body = event["body"]
        .as_str()
        .unwrap()
        .replace("{{USER_ID}}", &user.id.to_string())
        .replace("{{NOW}}", &now.to_string());
    let signature = stripe_header(&body, now);
    values.insert("STRIPE_SIGNATURE", signature);
    let mut used = BTreeSet::new();
    let mut call = |event: &str, status: u64| {
        let answer = invoke_event(&watch, "api-billing", event, &values)
            .unwrap_or_else(|e| panic!("{event}: {e}"));
        assert_eq!(answer["statusCode"], status, "{event}: {answer:#}");
        used.insert(format!("api-billing/{event}.json"));
        serde_json::from_str::<Value>(answer["body"].as_str().unwrap_or("null")).unwrap()
    };

    call("me-unauthenticated", 401);
    call("checkout-unauthenticated", 401);
    call("plan-unauthenticated", 401);
    let refused = call("webhook-unsigned", 400);
    assert!(refused["detail"]
        .as_str()
        .unwrap()
        .contains("Stripe-Signature"));
    assert_eq!(
        store.user_by_id(user.id).await.unwrap().unwrap().plan,
        Plan::Free
    );
    let applied = call("webhook-subscription", 200);
    assert_eq!(applied["duplicate"], false);
    assert_eq!(
        store.user_by_id(user.id).await.unwrap().unwrap().plan,
        Plan::Pro
    );
    let again = call("webhook-subscription", 200);
    assert_eq!(again["duplicate"], true);
    let mrr = records::<MrrRollup>(&store)
        .get(UserId::system(), MrrRollup::KEY)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(mrr.totals().get("USD"), Some(&1200));

    let mut all = BTreeSet::new();
    for entry in std::fs::read_dir(events_dir().join("api-billing")).unwrap() {
        all.insert(format!(
            "api-billing/{}",
            entry.unwrap().file_name().to_string_lossy()
        ));
    }
    assert_eq!(all, used, "every api-billing event is exercised");
    drop(watch);
}
