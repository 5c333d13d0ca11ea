//! Stripe's webhook in local mode: signatures computed here the way Stripe computes them (HMAC
//! of "<t>.<body>" with the endpoint secret), not by the code under test. Forged, tampered and
//! stale deliveries change nothing; genuine ones move the user's plan with their subscription,
//! count each paid invoice once and keep the MRR rollup, however often and in whatever order
//! Stripe sends them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use dealpulse_api::routes::billing::{BillingAccount, MonthRevenue, MrrRollup};
use dealpulse_domain::account::Email;
use dealpulse_domain::ids::UserId;
use dealpulse_domain::plans::Plan;
use dealpulse_domain::ports::Store;
use dealpulse_domain::records::records;
use dealpulse_tests::local_app::{app, assert_problem, Answer, App, STRIPE_WEBHOOK_SECRET};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

const WEBHOOK: &str = "/api/v1/billing/stripe/webhook";

fn stripe_header(body: &[u8], secret: &str, t: i64) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.").as_bytes());
    mac.update(body);
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("t={t},v1={hex}")
}

fn now() -> i64 {
    jiff::Timestamp::now().as_second()
}

fn event(id: &str, kind: &str, created: i64, object: Value) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "id": id, "object": "event", "type": kind, "created": created,
        "livemode": false, "data": {"object": object}
    }))
    .unwrap()
}

async fn deliver(app: &App, body: &[u8], signature: Option<String>) -> Answer {
    let mut request = Request::builder()
        .method(Method::POST)
        .uri(WEBHOOK)
        .header(header::CONTENT_TYPE, "application/json");
    if let Some(signature) = signature {
        request = request.header("stripe-signature", signature);
    }
    app.send(request.body(Body::from(body.to_vec())).unwrap())
        .await
}

async fn signed(app: &App, body: &[u8]) -> Answer {
    deliver(
        app,
        body,
        Some(stripe_header(body, STRIPE_WEBHOOK_SECRET, now())),
    )
    .await
}

fn subscription(user: Option<UserId>, price: &str, status: &str, amount: i64) -> Value {
    let mut object = json!({
        "id": "sub_1", "object": "subscription", "customer": "cus_1", "status": status,
        "cancel_at_period_end": false,
        "items": {"data": [{"id": "si_1", "quantity": 1, "current_period_end": now() + 30 * 86400,
            "price": {"id": price, "unit_amount": amount, "currency": "usd",
                      "recurring": {"interval": "month"}}}]}
    });
    if let Some(user) = user {
        object["metadata"] = json!({"user_id": user.to_string()});
    }
    object
}

async fn plan_of(app: &App, email: &str) -> (UserId, Plan) {
    let store: &dyn Store = app.runtime.store.as_ref();
    let user = store
        .user_by_email(&Email::parse(email).unwrap())
        .await
        .unwrap()
        .unwrap();
    (user.id, user.plan)
}

async fn mrr(app: &App) -> Vec<(String, i64)> {
    records::<MrrRollup>(app.runtime.store.as_ref())
        .get(UserId::system(), MrrRollup::KEY)
        .await
        .unwrap()
        .map(|rollup| rollup.totals().into_iter().collect())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stripe_events_move_plans_and_count_revenue_once() {
    let app = app();
    let (token, _) = app
        .verified_user("payer@example.com", "a long enough password")
        .await;
    let (user, plan) = plan_of(&app, "payer@example.com").await;
    assert_eq!(plan, Plan::Free);
    let checkout = event(
        "evt_checkout",
        "checkout.session.completed",
        now() - 5,
        json!({"id": "cs_1", "customer": "cus_1", "subscription": "sub_1",
               "client_reference_id": user.to_string(), "mode": "subscription"}),
    );

    // Refused without changing anything: no signature, another secret, tampered, stale.
    let refused = deliver(&app, &checkout, None).await;
    assert_problem(&refused, StatusCode::BAD_REQUEST, "unsigned");
    let forged = stripe_header(&checkout, "whsec_someone_else", now());
    assert_problem(
        &deliver(&app, &checkout, Some(forged)).await,
        StatusCode::BAD_REQUEST,
        "another secret",
    );
    let genuine = stripe_header(&checkout, STRIPE_WEBHOOK_SECRET, now());
    let mut tampered = checkout.clone();
    let position = tampered.iter().position(|b| *b == b'1').unwrap();
    tampered[position] = b'2';
    assert_problem(
        &deliver(&app, &tampered, Some(genuine)).await,
        StatusCode::BAD_REQUEST,
        "tampered",
    );
    let stale = stripe_header(&checkout, STRIPE_WEBHOOK_SECRET, now() - 600);
    assert_problem(
        &deliver(&app, &checkout, Some(stale)).await,
        StatusCode::BAD_REQUEST,
        "stale",
    );
    assert!(records::<BillingAccount>(app.runtime.store.as_ref())
        .get(user, BillingAccount::KEY)
        .await
        .unwrap()
        .is_none());

    // A subscription for a customer nobody has named yet: Stripe is asked to retry.
    let early = event(
        "evt_sub_created",
        "customer.subscription.created",
        now() - 4,
        subscription(None, "price_pro_month", "active", 1200),
    );
    assert_problem(
        &signed(&app, &early).await,
        StatusCode::CONFLICT,
        "unknown customer",
    );

    // The checkout names the user; the retried subscription event makes them Pro.
    let answer = signed(&app, &checkout).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(answer.body, json!({"received": true, "duplicate": false}));
    assert_eq!(signed(&app, &early).await.status, StatusCode::OK);
    assert_eq!(plan_of(&app, "payer@example.com").await.1, Plan::Pro);
    assert_eq!(mrr(&app).await, [("USD".to_string(), 1200)]);
    // The same event again: acknowledged, nothing done twice.
    let again = signed(&app, &early).await;
    assert_eq!(again.body, json!({"received": true, "duplicate": true}));

    // A paid invoice is counted once, even when Stripe sends it twice at once under two events.
    let paid = |id: &str| {
        event(
            id,
            "invoice.paid",
            now() - 3,
            json!({"id": "in_1", "object": "invoice", "customer": "cus_1",
                   "subscription": "sub_1", "amount_paid": 1200, "currency": "usd"}),
        )
    };
    let (paid_a, paid_b) = (paid("evt_paid_a"), paid("evt_paid_b"));
    let (first, second) = tokio::join!(signed(&app, &paid_a), signed(&app, &paid_b));
    assert_eq!(
        (first.status, second.status),
        (StatusCode::OK, StatusCode::OK)
    );
    let month = jiff::Timestamp::now().strftime("%Y-%m").to_string();
    let revenue = records::<MonthRevenue>(app.runtime.store.as_ref())
        .get(UserId::system(), &month)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(revenue.totals.get("USD"), Some(&1200));
    assert_eq!(revenue.invoices, 1);

    // An upgrade to Business, then an older update arriving late, which changes nothing.
    let upgraded = event(
        "evt_sub_upgraded",
        "customer.subscription.updated",
        now() - 1,
        subscription(Some(user), "price_business_month", "active", 4900),
    );
    assert_eq!(signed(&app, &upgraded).await.status, StatusCode::OK);
    let late = event(
        "evt_sub_late",
        "customer.subscription.updated",
        now() - 2,
        subscription(Some(user), "price_pro_month", "past_due", 1200),
    );
    assert_eq!(signed(&app, &late).await.status, StatusCode::OK);
    assert_eq!(plan_of(&app, "payer@example.com").await.1, Plan::Business);
    assert_eq!(mrr(&app).await, [("USD".to_string(), 4900)]);
    let mine = app
        .call(Method::GET, "/api/v1/billing/me", Some(&token), None)
        .await;
    assert_eq!(mine.status, StatusCode::OK, "{}", mine.body);
    assert_eq!(mine.body["plan"], "business");
    assert_eq!(mine.body["status"], "active");
    assert_eq!(
        mine.body["monthly"],
        json!({"amount": "49.00", "currency": "USD"})
    );
    assert_eq!(mine.body["cancel_at_period_end"], false);

    // The administrators' figures come from the rollups.
    let (boss, _) = app
        .verified_user("boss@example.com", "a long enough password")
        .await;
    let not_yet = app
        .call(Method::GET, "/api/v1/admin/billing", Some(&boss), None)
        .await;
    assert_problem(&not_yet, StatusCode::FORBIDDEN, "not an admin");
    app.make_admin("boss@example.com").await;
    let summary = app
        .call(Method::GET, "/api/v1/admin/billing", Some(&boss), None)
        .await;
    assert_eq!(summary.status, StatusCode::OK, "{}", summary.body);
    assert_eq!(
        summary.body["mrr"],
        json!([{"amount": "49.00", "currency": "USD"}])
    );
    assert_eq!(
        summary.body["subscriptions_by_plan"],
        json!({"business": 1})
    );
    let months = summary.body["months"].as_array().unwrap();
    assert_eq!(months.len(), 12);
    assert_eq!(months[11]["month"], month.as_str());
    assert_eq!(
        months[11]["revenue"],
        json!([{"amount": "12.00", "currency": "USD"}])
    );
    assert_eq!(months[11]["invoices"], 1);
    assert_eq!(months[0]["invoices"], 0);

    // Cancelled: back to Free, out of MRR; a failed payment is recorded and audited.
    let deleted = event(
        "evt_sub_deleted",
        "customer.subscription.deleted",
        now(),
        subscription(Some(user), "price_business_month", "canceled", 4900),
    );
    assert_eq!(signed(&app, &deleted).await.status, StatusCode::OK);
    assert_eq!(plan_of(&app, "payer@example.com").await.1, Plan::Free);
    assert_eq!(mrr(&app).await, []);
    let failed = event(
        "evt_failed",
        "invoice.payment_failed",
        now(),
        json!({"id": "in_2", "object": "invoice", "customer": "cus_1", "amount_due": 4900,
               "currency": "usd"}),
    );
    assert_eq!(signed(&app, &failed).await.status, StatusCode::OK);
    let audit = app
        .call(Method::GET, "/api/v1/me/audit", Some(&token), None)
        .await;
    let actions: Vec<&str> = audit.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| event["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions
            .iter()
            .filter(|a| **a == "billing.plan_changed")
            .count(),
        3,
        "free → pro → business → free: {actions:?}"
    );
    assert!(actions.contains(&"billing.payment_failed"));
    let unknown = event(
        "evt_other",
        "invoice.payment_failed",
        now(),
        json!({"id": "in_3", "customer": "cus_nobody", "amount_due": 100, "currency": "usd"}),
    );
    assert_problem(
        &signed(&app, &unknown).await,
        StatusCode::CONFLICT,
        "unknown customer",
    );
    let ignored = event(
        "evt_refund",
        "charge.refunded",
        now(),
        json!({"id": "ch_1"}),
    );
    assert_eq!(signed(&app, &ignored).await.status, StatusCode::OK);
    let not_an_event = br#"{"id":"evt_x","object":"list"}"#;
    assert_problem(
        &signed(&app, not_an_event).await,
        StatusCode::BAD_REQUEST,
        "not an event",
    );
}

/// The revenue summary reads rollups: the same number of documents after one invoice as after
/// forty.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_revenue_summary_reads_the_same_whatever_the_number_of_invoices() {
    use dealpulse_api::routes::billing::revenue_summary;
    use dealpulse_tests::counting::CountingDocuments;

    let app = app();
    let (user, _) = {
        app.verified_user("many@example.com", "a long enough password")
            .await;
        plan_of(&app, "many@example.com").await
    };
    let checkout = event(
        "evt_c",
        "checkout.session.completed",
        now(),
        json!({"id": "cs_9", "customer": "cus_1", "client_reference_id": user.to_string()}),
    );
    assert_eq!(signed(&app, &checkout).await.status, StatusCode::OK);
    let invoice = |n: usize| {
        event(
            &format!("evt_inv_{n}"),
            "invoice.paid",
            now(),
            json!({"id": format!("in_{n}"), "customer": "cus_1", "amount_paid": 1000 + n,
                   "currency": "usd"}),
        )
    };
    let store = app.runtime.store.as_ref();
    let mut reads = Vec::new();
    let mut paid = 0;
    for total in [1, 40] {
        while paid < total {
            assert_eq!(signed(&app, &invoice(paid)).await.status, StatusCode::OK);
            paid += 1;
        }
        let counting = CountingDocuments::new(store);
        let summary = revenue_summary(&counting, jiff::Timestamp::now())
            .await
            .unwrap();
        assert_eq!(summary.months[11].invoices as usize, total);
        reads.push(counting.reads());
    }
    assert_eq!(reads[0], reads[1], "reads per request: {reads:?}");
    assert_eq!(reads[0], 13);
}

/// Checkout and cancellation talk Stripe's REST API (form-encoded, secret key as bearer) to a
/// recorder standing in for api.stripe.com.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkout_and_cancel_call_stripe_and_the_webhook_confirms() {
    use dealpulse_tests::http_recorder::HttpRecorder;
    use dealpulse_tests::local_app::app_with_stripe;

    let stripe = HttpRecorder::start(
        200,
        r#"{"id":"cs_test_a1","object":"checkout.session","url":"https://checkout.stripe.com/c/pay/cs_test_a1"}"#,
    );
    let app = app_with_stripe(&stripe.base_url());
    let (token, _) = app
        .verified_user("buyer@example.com", "a long enough password")
        .await;
    let (user, _) = plan_of(&app, "buyer@example.com").await;
    let post = |path: &'static str, body: Value| {
        let token = token.clone();
        let app = &app;
        async move { app.call(Method::POST, path, Some(&token), Some(body)).await }
    };
    for (body, why) in [
        (json!({"plan": "free"}), "free is not bought"),
        (json!({"plan": "platinum"}), "no such plan"),
        (json!({"plan": "pro", "coupon": "x"}), "unknown field"),
    ] {
        let answer = post("/api/v1/billing/checkout", body).await;
        assert_problem(&answer, StatusCode::UNPROCESSABLE_ENTITY, why);
    }
    assert!(stripe.requests().is_empty(), "nothing reached Stripe");
    let refused = post("/api/v1/billing/cancel", json!({"at_period_end": true})).await;
    assert_problem(&refused, StatusCode::CONFLICT, "no subscription to cancel");

    let started = post("/api/v1/billing/checkout", json!({"plan": "pro"})).await;
    assert_eq!(started.status, StatusCode::CREATED, "{}", started.body);
    assert_eq!(
        started.body["url"],
        "https://checkout.stripe.com/c/pay/cs_test_a1"
    );
    let sent = stripe.requests();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].path, "/v1/checkout/sessions");
    assert_eq!(sent[0].headers["authorization"], "Bearer sk_test_local");
    let form: std::collections::BTreeMap<String, String> =
        url::form_urlencoded::parse(&sent[0].body)
            .into_owned()
            .collect();
    assert_eq!(form["mode"], "subscription");
    assert_eq!(form["line_items[0][price]"], "price_pro_month");
    assert_eq!(form["client_reference_id"], user.to_string());
    assert_eq!(
        form["subscription_data[metadata][user_id]"],
        user.to_string()
    );
    assert_eq!(form["customer_email"], "buyer@example.com");
    assert!(form["success_url"].starts_with("http://dealpulse.test/billing"));

    // Paid: Stripe's events make the subscription live; a second checkout is refused.
    let subscribed = event(
        "evt_buyer_sub",
        "customer.subscription.created",
        now(),
        subscription(Some(user), "price_pro_month", "active", 1200),
    );
    assert_eq!(signed(&app, &subscribed).await.status, StatusCode::OK);
    let again = post("/api/v1/billing/checkout", json!({"plan": "business"})).await;
    assert_problem(&again, StatusCode::CONFLICT, "already subscribed");
    let cancelled = post("/api/v1/billing/cancel", json!({"at_period_end": true})).await;
    assert_eq!(cancelled.status, StatusCode::ACCEPTED, "{}", cancelled.body);
    let sent = stripe.requests();
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[1].path, "/v1/subscriptions/sub_1");
    assert_eq!(sent[1].body, b"cancel_at_period_end=true");

    // Upgrade: the subscription's item moves to the business price, prorated (and the pending
    // cancellation is taken back); the plan follows Stripe's update event.
    for (body, status, why) in [
        (
            json!({"plan": "pro"}),
            StatusCode::CONFLICT,
            "on pro already",
        ),
        (
            json!({"plan": "free"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "free is a cancellation",
        ),
        (
            json!({"plan": "gold"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "no such plan",
        ),
    ] {
        assert_problem(&post("/api/v1/billing/plan", body).await, status, why);
    }
    assert_eq!(stripe.requests().len(), 2, "refusals reach nobody");
    let upgraded = post("/api/v1/billing/plan", json!({"plan": "business"})).await;
    assert_eq!(upgraded.status, StatusCode::ACCEPTED, "{}", upgraded.body);
    assert_eq!(
        upgraded.body,
        json!({"subscription": "sub_1", "from": "pro", "to": "business"})
    );
    let sent = stripe.requests();
    assert_eq!(sent[2].path, "/v1/subscriptions/sub_1");
    let form: std::collections::BTreeMap<String, String> =
        url::form_urlencoded::parse(&sent[2].body)
            .into_owned()
            .collect();
    assert_eq!(form["items[0][id]"], "si_1");
    assert_eq!(form["items[0][price]"], "price_business_month");
    assert_eq!(form["proration_behavior"], "create_prorations");
    assert_eq!(form["cancel_at_period_end"], "false");
    assert_eq!(plan_of(&app, "buyer@example.com").await.1, Plan::Pro);
    let updated = event(
        "evt_buyer_upgrade",
        "customer.subscription.updated",
        now() + 1,
        subscription(Some(user), "price_business_month", "active", 4900),
    );
    assert_eq!(signed(&app, &updated).await.status, StatusCode::OK);
    assert_eq!(plan_of(&app, "buyer@example.com").await.1, Plan::Business);
    // And back down.
    let downgraded = post("/api/v1/billing/plan", json!({"plan": "pro"})).await;
    assert_eq!(
        downgraded.status,
        StatusCode::ACCEPTED,
        "{}",
        downgraded.body
    );
    assert_eq!(downgraded.body["from"], "business");

    // Administrators list subscriptions (filtered) and cancel one at Stripe.
    app.verified_user("boss@example.com", "a long enough password")
        .await;
    app.make_admin("boss@example.com").await;
    let boss = app
        .login("boss@example.com", "a long enough password")
        .await
        .0;
    let admin_get = |query: &'static str| {
        let boss = boss.clone();
        let app = &app;
        async move {
            app.call(
                Method::GET,
                &format!("/api/v1/admin/subscriptions{query}"),
                Some(&boss),
                None,
            )
            .await
        }
    };
    let live = admin_get("?status=live").await;
    assert_eq!(live.status, StatusCode::OK, "{}", live.body);
    assert_eq!(live.body["total"], 1);
    assert_eq!(live.body["items"][0]["email"], "buyer@example.com");
    assert_eq!(live.body["items"][0]["plan"], "business");
    assert_eq!(live.body["items"][0]["subscription"], "sub_1");
    assert_eq!(admin_get("?plan=pro").await.body["total"], 0);
    assert_eq!(admin_get("?cancelling=true").await.body["total"], 0);
    assert_problem(
        &admin_get("?status=bogus").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "bad status",
    );
    let cancel_path = format!("/api/v1/admin/subscriptions/{user}/cancel");
    let refused = app
        .call(
            Method::POST,
            &cancel_path,
            Some(&token),
            Some(json!({"at_period_end": true})),
        )
        .await;
    assert_problem(&refused, StatusCode::FORBIDDEN, "the buyer is no admin");
    let before = stripe.requests().len();
    let cancelled = app
        .call(
            Method::POST,
            &cancel_path,
            Some(&boss),
            Some(json!({"at_period_end": true})),
        )
        .await;
    assert_eq!(cancelled.status, StatusCode::ACCEPTED, "{}", cancelled.body);
    let sent = stripe.requests();
    assert_eq!(sent.len(), before + 1);
    assert_eq!(sent[before].path, "/v1/subscriptions/sub_1");
    assert_eq!(sent[before].body, b"cancel_at_period_end=true");
    let unknown = app
        .call(
            Method::POST,
            &format!("/api/v1/admin/subscriptions/{}/cancel", UserId::generate()),
            Some(&boss),
            Some(json!({"at_period_end": true})),
        )
        .await;
    assert_problem(&unknown, StatusCode::NOT_FOUND, "no such subscriber");
}
