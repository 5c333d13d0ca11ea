//! The public weekly newsletter in local mode: double opt-in with case-insensitive duplicates,
//! confirm and one-click unsubscribe pages, the admin list and CSV import, and the weekly send
//! through the digest run and the deliverer.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use dealpulse_alerts::newsletter::{week_of, NewsletterRun};
use dealpulse_domain::clock::ManualClock;
use dealpulse_domain::mail::{OutboxEntry, OutboxReader};
use dealpulse_domain::money::{Currency, Money};
use dealpulse_domain::ports::{CatalogRepository, Store};
use dealpulse_domain::queue::Queue;
use dealpulse_tests::alerts::listing;
use dealpulse_tests::local_app::{app, assert_problem, Answer, App};
use serde_json::{json, Value};
use std::sync::Arc;

const PASSWORD: &str = "a long enough password";

async fn mails_to(app: &App, to: &str) -> Vec<OutboxEntry> {
    let outbox = app.runtime.outbox.as_ref().unwrap();
    outbox
        .recent(500)
        .await
        .unwrap()
        .into_iter()
        .filter(|mail| mail.to == to)
        .collect()
}

/// The `/api/v1/newsletter/...` link in a mail's text, as a path with its query.
fn link_in(mail: &OutboxEntry, action: &str) -> String {
    let marker = format!("http://dealpulse.test/api/v1/newsletter/{action}?token=");
    let start = mail.text.find(&marker).expect("a newsletter link");
    let link: String = mail.text[start..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect();
    link.trim_start_matches("http://dealpulse.test").to_string()
}

async fn subscribe(app: &App, email: &str) -> Answer {
    app.call(
        Method::POST,
        "/api/v1/newsletter/subscribe",
        None,
        Some(json!({ "email": email })),
    )
    .await
}

async fn import(app: &App, boss: &str, csv: &str) -> Answer {
    let request = Request::builder()
        .method(Method::POST)
        .uri("/api/v1/admin/subscribers/import")
        .header(header::AUTHORIZATION, format!("Bearer {boss}"))
        .header(header::CONTENT_TYPE, "text/csv; charset=utf-8")
        .body(Body::from(csv.to_string()))
        .unwrap();
    app.send(request).await
}

async fn list(app: &App, boss: &str, query: &str) -> Value {
    let answer = app
        .call(
            Method::GET,
            &format!("/api/v1/admin/subscribers{query}"),
            Some(boss),
            None,
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    answer.body
}

fn emails(page: &Value) -> Vec<&str> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["email"].as_str().unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribers_opt_in_twice_import_in_bulk_and_get_the_weekly_top_deals() {
    let app = app();
    app.verified_user("boss@example.com", PASSWORD).await;
    app.make_admin("boss@example.com").await;
    let boss = app.login("boss@example.com", PASSWORD).await.0;
    let (someone, _) = app.verified_user("someone@example.com", PASSWORD).await;

    // Subscribing: the same answer for every valid address, one confirmation per address.
    let answer = subscribe(&app, "Reader@Example.com").await;
    assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.body);
    assert_eq!(answer.body["status"], "check_your_inbox");
    let again = subscribe(&app, "READER@example.COM").await;
    assert_eq!(again.body, answer.body, "a duplicate looks the same");
    assert_eq!(
        mails_to(&app, "reader@example.com").await.len(),
        1,
        "a second subscribe within minutes sends no second confirmation"
    );
    let invalid = subscribe(&app, "not an address").await;
    assert_problem(&invalid, StatusCode::UNPROCESSABLE_ENTITY, "bad address");
    let pending = list(&app, &boss, "?status=pending").await;
    assert_eq!(emails(&pending), ["reader@example.com"]);
    assert_eq!(pending["totals"]["pending"], 1);

    // Confirming: GET shows a button and changes nothing; POST confirms.
    let confirmation = &mails_to(&app, "reader@example.com").await[0];
    assert!(confirmation.subject.contains("Confirm"));
    let confirm = link_in(confirmation, "confirm");
    let page = app.call(Method::GET, &confirm, None, None).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page
        .body
        .as_str()
        .unwrap()
        .contains("<form method=\"post\""));
    assert_eq!(
        list(&app, &boss, "").await["totals"]["confirmed"],
        0,
        "a link scanner's GET confirms nothing"
    );
    let done = app.call(Method::POST, &confirm, None, None).await;
    assert_eq!(done.status, StatusCode::OK);
    assert!(done.body.as_str().unwrap().contains("Subscribed"));
    let forged = format!("{}x", confirm);
    assert_problem(
        &app.call(Method::POST, &forged, None, None).await,
        StatusCode::BAD_REQUEST,
        "forged confirmation",
    );
    assert_eq!(
        subscribe(&app, "reader@example.com").await.status,
        StatusCode::ACCEPTED
    );
    assert_eq!(
        mails_to(&app, "reader@example.com").await.len(),
        1,
        "a confirmed address gets no new confirmation"
    );

    // Import: per-row results; duplicates in any case and within the file; invalid rows named.
    let csv = "email,name\n\
               ann@example.com,Ann\n\
               READER@example.com,Already here\n\
               \"bob@example.com\",\"Smith, Bob\"\n\
               not-an-address\n\
               \n\
               Ann@Example.com,Twice\n\
               carol@example.com";
    let report = import(&app, &boss, csv).await;
    assert_eq!(report.status, StatusCode::OK, "{}", report.body);
    assert_eq!(
        (
            &report.body["rows"],
            &report.body["imported"],
            &report.body["duplicate"],
            &report.body["invalid"]
        ),
        (&json!(6), &json!(3), &json!(2), &json!(1))
    );
    let problems: Vec<(u64, &str)> = report.body["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["line"].as_u64().unwrap(), p["result"].as_str().unwrap()))
        .collect();
    assert_eq!(
        problems,
        [(3, "duplicate"), (5, "invalid"), (7, "duplicate")]
    );
    let not_csv = app
        .call(
            Method::POST,
            "/api/v1/admin/subscribers/import",
            Some(&boss),
            Some(json!({"email": "x@example.com"})),
        )
        .await;
    assert_problem(&not_csv, StatusCode::BAD_REQUEST, "JSON is not CSV");
    let refused = import(&app, &someone, "mallory@example.com").await;
    assert_problem(&refused, StatusCode::FORBIDDEN, "not an admin");

    // The admin list: address order, prefix search, paging, totals from the counters.
    let all = list(&app, &boss, "").await;
    assert_eq!(
        emails(&all),
        [
            "ann@example.com",
            "bob@example.com",
            "carol@example.com",
            "reader@example.com"
        ]
    );
    assert_eq!(all["items"][1]["name"], "Smith, Bob");
    assert_eq!(all["items"][1]["source"], "import");
    assert_eq!(
        all["totals"],
        json!({"pending": 0, "confirmed": 4, "unsubscribed": 0})
    );
    let first = list(&app, &boss, "?limit=3").await;
    assert_eq!(emails(&first).len(), 3);
    let cursor = first["next_cursor"].as_str().unwrap();
    let rest = list(&app, &boss, &format!("?limit=3&cursor={cursor}")).await;
    assert_eq!(emails(&rest), ["reader@example.com"]);
    assert_eq!(rest["next_cursor"], Value::Null);
    assert_eq!(
        emails(&list(&app, &boss, "?q=BO").await),
        ["bob@example.com"]
    );
    assert_problem(
        &app.call(
            Method::GET,
            "/api/v1/admin/subscribers?status=maybe",
            Some(&boss),
            None,
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "bad status",
    );

    // The weekly send: the digest machinery queues one newsletter per confirmed subscriber
    // with the week's best public deals, and the deliverer sends them.
    let store = app.runtime.store.clone() as Arc<dyn Store>;
    let usd = Currency::parse("USD").unwrap();
    let now = jiff::Timestamp::now();
    let mut best = listing("OLED TV 65 inch", Money::parse("799", usd).unwrap(), now);
    best.score = Some(93);
    best.was_price = Some(Money::parse("1499", usd).unwrap());
    let mut good = listing("Espresso machine", Money::parse("199", usd).unwrap(), now);
    good.score = Some(71);
    let mut private = listing("Inbox-only fare", Money::parse("99", usd).unwrap(), now);
    private.score = Some(99);
    private.audience = Some(dealpulse_domain::ids::UserId::generate());
    for item in [&best, &good, &private] {
        app.runtime.store.put_listing(item).await.unwrap();
    }
    let (week, slot) = week_of(now);
    let at = if now < slot {
        slot.checked_add(jiff::SignedDuration::from_hours(1))
            .unwrap()
    } else {
        now
    };
    let clock = Arc::new(ManualClock::new(at));
    let run = NewsletterRun::new(
        store.clone(),
        app.runtime.queue.clone() as Arc<dyn Queue>,
        clock,
    );
    let sent = run.send_if_due().await.unwrap();
    assert_eq!(sent.week.as_deref(), Some(week.as_str()));
    assert_eq!((sent.deals, sent.queued, sent.done), (2, 4, true));
    let again = run.send_if_due().await.unwrap();
    assert_eq!(again.queued, 0, "one issue a week");
    let pipeline = app.runtime.alerts();
    while dealpulse_alerts::worker::pump_deliveries(
        &pipeline.deliverer,
        app.runtime.queue.as_ref(),
        std::time::Duration::from_secs(60),
    )
    .await
    .unwrap()
        > 0
    {}
    let issue = mails_to(&app, "bob@example.com")
        .await
        .into_iter()
        .find(|mail| mail.subject.contains("top deals"))
        .expect("bob got the newsletter");
    assert!(issue.subject.contains(&week), "{}", issue.subject);
    let tv = issue.text.find("OLED TV").expect("the best deal");
    let espresso = issue.text.find("Espresso").expect("the second deal");
    assert!(tv < espresso, "best first");
    assert!(
        !issue.text.contains("Inbox-only"),
        "personal deals stay personal"
    );
    assert!(
        issue
            .headers
            .iter()
            .any(|(name, value)| name == "List-Unsubscribe-Post"
                && value == "List-Unsubscribe=One-Click"),
        "{:?}",
        issue.headers
    );

    // One-click unsubscribe from the issue: no more newsletters, and an import cannot bring
    // the address back.
    let leave = link_in(&issue, "unsubscribe");
    let page = app.call(Method::GET, &leave, None, None).await;
    assert!(page.body.as_str().unwrap().contains("List-Unsubscribe"));
    let one_click = Request::builder()
        .method(Method::POST)
        .uri(&leave)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from("List-Unsubscribe=One-Click"))
        .unwrap();
    assert_eq!(app.send(one_click).await.status, StatusCode::OK);
    let after = list(&app, &boss, "?q=bob").await;
    assert_eq!(after["items"][0]["status"], "unsubscribed");
    assert_eq!(after["totals"]["unsubscribed"], 1);
    let reimport = import(&app, &boss, "bob@example.com\n").await;
    assert_eq!(reimport.body["duplicate"], 1);
    assert_eq!(
        reimport.body["problems"][0]["reason"],
        "already unsubscribed"
    );
    assert_eq!(
        list(&app, &boss, "?q=bob").await["items"][0]["status"],
        "unsubscribed"
    );
    // Subscribing again is a fresh double opt-in.
    subscribe(&app, "bob@example.com").await;
    assert_eq!(
        list(&app, &boss, "?q=bob").await["items"][0]["status"],
        "pending"
    );

    // Imports and list reads are audited as admin actions.
    let audit = app
        .call(
            Method::GET,
            "/api/v1/admin/audit?action=admin.subscribers.import",
            Some(&boss),
            None,
        )
        .await;
    assert_eq!(audit.status, StatusCode::OK, "{}", audit.body);
    assert!(
        audit.body["items"].as_array().unwrap().len() >= 2,
        "{}",
        audit.body
    );
}
