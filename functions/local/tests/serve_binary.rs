//! The `dealpulse` binary as a person runs it: `serve --demo`, then the account sequence over
//! real HTTP — register, read the verification mail from the outbox, verify, log in, refresh,
//! `/me`, create and use an API key — and a clean shutdown on SIGTERM.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use reqwest::StatusCode;
use serde_json::{json, Value};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Server {
    child: Child,
    base: String,
    /// What `serve` printed up to and including its banner.
    started: Vec<String>,
    /// The rest of its output, line by line, read by a thread so the pipe never fills.
    stdout: std::sync::mpsc::Receiver<String>,
}

impl Server {
    /// What `serve` printed until it closed its stdout (wait for the process first).
    fn printed(&self) -> String {
        let rest: Vec<String> = self.stdout.iter().collect();
        [self.started.as_slice(), &rest].concat().join("\n")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `serve` on a port the system picks (a port chosen here and passed in could be taken
/// by a parallel test's server in between) and reads the address from its banner.
fn start(data_dir: &std::path::Path, args: &[&str]) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_dealpulse"))
        .args(["serve", "--addr", "127.0.0.1:0"])
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (lines, stdout) = std::sync::mpsc::channel();
    let pipe = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(pipe).lines().map_while(Result::ok) {
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    let mut printed = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    let base = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = stdout
            .recv_timeout(left)
            .unwrap_or_else(|_| panic!("dealpulse serve did not start: {printed:?}"));
        let address = line
            .strip_prefix("DealPulse is serving on ")
            .map(str::to_string);
        printed.push(line);
        if let Some(address) = address {
            break address.trim().to_string();
        }
    };
    Server {
        child,
        base,
        started: printed,
        stdout,
    }
}

async fn post(client: &reqwest::Client, url: String, body: Value) -> (StatusCode, Value) {
    let response = client.post(url).json(&body).send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_person_can_register_verify_log_in_and_use_an_api_key() {
    let data = tempfile::tempdir().unwrap();
    let mut server = start(data.path(), &["--demo", "--log-format", "json"]);
    let base = server.base.clone();
    let http = reqwest::Client::new();

    let (status, body) = post(
        &http,
        format!("{base}/api/v1/auth/register"),
        json!({"email": "Person@Example.com", "password": "a long enough password"}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["user"]["email"], "person@example.com");

    let outbox: Value = http
        .get(format!("{base}/api/v1/dev/outbox?to=person@example.com"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mail = &outbox["items"][0];
    assert_eq!(mail["subject"], "Confirm your DealPulse e-mail address");
    let link = mail["text"]
        .as_str()
        .unwrap()
        .lines()
        .find(|line| line.starts_with("http"))
        .unwrap()
        .to_string();
    assert!(
        link.starts_with(&format!("{base}/verify-email?token=")),
        "{link}"
    );
    // The link lands on a page of the running product.
    let page = http.get(&link).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page
        .text()
        .await
        .unwrap()
        .contains("Confirm e-mail address"));
    let eml_files = std::fs::read_dir(data.path().join("outbox"))
        .unwrap()
        .filter(|entry| {
            entry
                .as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|e| e == "eml")
        })
        .count();
    assert_eq!(eml_files, 1);

    let token = mail["token"].as_str().unwrap();
    let (status, verified) = post(
        &http,
        format!("{base}/api/v1/auth/verify-email"),
        json!({"token": token}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(verified["email_verified"], true);

    let (status, login) = post(
        &http,
        format!("{base}/api/v1/auth/login"),
        json!({"email": "person@example.com", "password": "a long enough password"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{login}");
    let (status, refreshed) = post(
        &http,
        format!("{base}/api/v1/auth/refresh"),
        json!({"refresh_token": login["refresh_token"]}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let access = refreshed["access_token"].as_str().unwrap();

    let me: Value = http
        .get(format!("{base}/api/v1/me"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["email"], "person@example.com");

    let created: Value = http
        .post(format!("{base}/api/v1/me/api-keys"))
        .bearer_auth(access)
        .json(&json!({"name": "script"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key = created["key"].as_str().unwrap();
    assert!(key.starts_with("dp_"));
    let with_key = http
        .get(format!("{base}/api/v1/me"))
        .bearer_auth(key)
        .send()
        .await
        .unwrap();
    assert_eq!(with_key.status(), StatusCode::OK);

    // The demo accounts printed on start can log in.
    let (status, _) = post(
        &http,
        format!("{base}/api/v1/auth/login"),
        json!({"email": "admin@dealpulse.test", "password": "demo-admin-password"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    // The demo user has rules and a watch to look at, and listings to dry-run them against.
    let (status, demo) = post(
        &http,
        format!("{base}/api/v1/auth/login"),
        json!({"email": "demo@dealpulse.test", "password": "demo-user-password"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let demo_token = demo["access_token"].as_str().unwrap().to_string();
    let rules: Value = http
        .get(format!("{base}/api/v1/deal-alert-rules?sort=name"))
        .bearer_auth(&demo_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(rules["total"], 2, "{rules}");
    for rule in rules["items"].as_array().unwrap() {
        let dry_run: Value = http
            .post(format!(
                "{base}/api/v1/deal-alert-rules/{}/test",
                rule["id"].as_str().unwrap()
            ))
            .bearer_auth(&demo_token)
            .json(&json!({"days": 7}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(
            !dry_run["matches"].as_array().unwrap().is_empty(),
            "{}: {dry_run}",
            rule["name"]
        );
        assert!(!dry_run["near_misses"].as_array().unwrap().is_empty());
    }
    let watchlist: Value = http
        .get(format!("{base}/api/v1/watchlist"))
        .bearer_auth(&demo_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(watchlist["total"], 2);

    // The demo shop is served and scraped: both watched products get a live price within
    // seconds (the first scrape tick runs at start), on top of their backfilled history.
    let shop = http.get(format!("{base}/demo-shop/")).send().await.unwrap();
    assert_eq!(shop.status(), 200);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let watchlist: Value = http
            .get(format!("{base}/api/v1/watchlist"))
            .bearer_auth(&demo_token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let items = watchlist["items"].as_array().unwrap();
        if items
            .iter()
            .all(|item| !item["product"]["current_price"].is_null())
        {
            let history: Value = http
                .get(format!(
                    "{base}/api/v1/watchlist/items/{}/history",
                    items[0]["id"].as_str().unwrap()
                ))
                .bearer_auth(&demo_token)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            assert!(history["points"].as_array().unwrap().len() > 5, "{history}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the demo shop was not scraped: {watchlist}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    let metrics = http
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("route=\"/api/v1/auth/login\",status=\"200\""),
        "{metrics}"
    );

    // SIGTERM shuts down cleanly.
    let stopped = Command::new("kill")
        .args(["-s", "TERM", "--"])
        .arg(server.child.id().to_string())
        .status()
        .unwrap();
    assert!(stopped.success());
    let deadline = Instant::now() + Duration::from_secs(15);
    let exit = loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "serve did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(exit.success(), "{exit:?}");
    let stdout = server.printed();
    assert!(stdout.contains("admin@dealpulse.test"), "{stdout}");
}

#[tokio::test]
async fn data_survives_a_restart() {
    let data = tempfile::tempdir().unwrap();
    let http = reqwest::Client::new();
    {
        let server = start(data.path(), &[]);
        let (status, _) = post(
            &http,
            format!("{}/api/v1/auth/register", server.base),
            json!({"email": "keep@example.com", "password": "a long enough password"}),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let server = start(data.path(), &[]);
    let (status, body) = post(
        &http,
        format!("{}/api/v1/auth/register", server.base),
        json!({"email": "keep@example.com", "password": "a long enough password"}),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
}

#[test]
fn admin_create_makes_a_verified_admin_that_can_log_in() {
    let data = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_dealpulse"))
        .args([
            "admin",
            "create",
            "--email",
            "Boss@Example.com",
            "--password",
            "boss password 123",
        ])
        .arg("--data-dir")
        .arg(data.path())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("created admin boss@example.com"));
    let again = Command::new(env!("CARGO_BIN_EXE_dealpulse"))
        .args(["admin", "create", "--email", "boss@example.com"])
        .arg("--data-dir")
        .arg(data.path())
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&again.stdout).contains("is now an admin"));
    let bad = Command::new(env!("CARGO_BIN_EXE_dealpulse"))
        .args(["admin", "create", "--email", "not an email"])
        .arg("--data-dir")
        .arg(data.path())
        .output()
        .unwrap();
    assert!(!bad.status.success());

    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let server = start(data.path(), &[]);
        let http = reqwest::Client::new();
        let (status, login) = post(
            &http,
            format!("{}/api/v1/auth/login", server.base),
            json!({"email": "boss@example.com", "password": "boss password 123"}),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{login}");
        assert_eq!(login["user"]["role"], "admin");
    });
}

/// The alert e-mails in the outbox (one `.json` index entry per message): subject → copies.
fn alert_mails(data: &std::path::Path) -> std::collections::BTreeMap<String, usize> {
    let mut mails = std::collections::BTreeMap::new();
    let Ok(entries) = std::fs::read_dir(data.join("outbox")) else {
        return mails;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let Ok(mail) = serde_json::from_str::<Value>(&text) else {
            continue;
        };
        let subject = mail["subject"].as_str().unwrap_or_default().to_string();
        if subject.contains("Kettle K") {
            *mails.entry(subject).or_insert(0) += 1;
        }
    }
    mails
}

/// SIGKILL in the middle of matching and sending: after a restart every alert is in the outbox
/// once — none lost, none twice. (A delivery sent but not yet recorded as sent when the process
/// died is sent again; the outbox keeps alert mail under the delivery's name, so the user sees
/// it once. A provider without such a key, like SES, could carry that one message twice.)
#[tokio::test]
async fn a_killed_server_loses_no_alert() {
    let data = tempfile::tempdir().unwrap();
    let created = Command::new(env!("CARGO_BIN_EXE_dealpulse"))
        .args(["admin", "create", "--email", "boss@example.com"])
        .args(["--password", "boss password 123", "--data-dir"])
        .arg(data.path())
        .output()
        .unwrap();
    assert!(created.status.success());
    // A short lease, so deliveries in flight at the kill come back within the test.
    let args = ["--delivery-lease-seconds", "20", "--log-format", "json"];
    let mut server = start(data.path(), &args);
    let base = server.base.clone();
    let http = reqwest::Client::new();
    let (_, login) = post(
        &http,
        format!("{base}/api/v1/auth/login"),
        json!({"email": "boss@example.com", "password": "boss password 123"}),
    )
    .await;
    let token = login["access_token"].as_str().unwrap().to_string();
    let authed = |request: reqwest::RequestBuilder| request.bearer_auth(&token);
    let rule = authed(http.post(format!("{base}/api/v1/deal-alert-rules")))
        .json(&json!({"name": "Kettles", "query": "kettle", "cooldown_minutes": 0}))
        .send()
        .await
        .unwrap();
    assert_eq!(rule.status(), StatusCode::CREATED);
    let key: Value = authed(http.post(format!("{base}/api/v1/me/api-keys")))
        .json(&json!({"name": "partner", "scopes": ["ingest"], "source": "partner-x"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ingest_key = key["key"].as_str().unwrap().to_string();

    const LISTINGS: usize = 200;
    for batch in 0..4 {
        let listings: Vec<Value> = (0..LISTINGS / 4)
            .map(|n| {
                let i = batch * (LISTINGS / 4) + n;
                json!({
                    "title": format!("Kettle K{i} steel"),
                    "url": format!("https://partner.example.com/kettles/{i}"),
                    "price": {"amount": format!("{}.00", 20 + i), "currency": "USD"},
                })
            })
            .collect();
        let pushed = http
            .post(format!("{base}/api/v1/ingest/listings"))
            .bearer_auth(&ingest_key)
            .json(&json!({ "listings": listings }))
            .send()
            .await
            .unwrap();
        assert_eq!(pushed.status(), StatusCode::OK);
    }
    // Kill as soon as the first alerts are out.
    let deadline = Instant::now() + Duration::from_secs(30);
    while alert_mails(data.path()).is_empty() {
        assert!(Instant::now() < deadline, "no alert was sent");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    server.child.kill().unwrap(); // SIGKILL
    server.child.wait().unwrap();
    let at_kill: usize = alert_mails(data.path()).values().sum();
    assert!(at_kill < LISTINGS, "everything went out before the kill");

    let _server = start(data.path(), &args);
    // Events being matched come back after 60 s, deliveries being sent after the lease.
    let deadline = Instant::now() + Duration::from_secs(150);
    loop {
        let mails = alert_mails(data.path());
        if mails.len() == LISTINGS {
            let twice: Vec<_> = mails.iter().filter(|(_, copies)| **copies > 1).collect();
            assert!(twice.is_empty(), "sent more than once: {twice:?}");
            eprintln!(
                "sent before the kill: {at_kill}; after the restart: all {LISTINGS}, once each"
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "only {} of {LISTINGS} alerts after the restart",
            mails.len()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
