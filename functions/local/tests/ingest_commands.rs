//! `dealpulse ingest-email FILE.eml` and `dealpulse scrape` as an operator runs them against a
//! data directory: newsletters are kept and recorded (JSON out), and a scrape run reports what
//! it checked.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::Value;
use std::process::Command;

fn dealpulse(data: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_dealpulse"))
        .args(args)
        .arg("--data-dir")
        .arg(data)
        .args(["--inbound-domain", "inbound.dealpulse.test"])
        .args(["--inbound-system-senders", "@fares.example.com"])
        .output()
        .unwrap()
}

#[test]
fn newsletters_from_files_are_kept_and_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.eml");
    std::fs::write(
        &good,
        "From: news@fares.example.com\r\nTo: deals@inbound.dealpulse.test\r\nSubject: Deals\r\n\r\n\
Boston (BOS) to Lisbon (LIS) - $389 round trip, nonstop on TAP, March to May\r\n",
    )
    .unwrap();
    let junk = dir.path().join("junk.eml");
    std::fs::write(&junk, "just some bytes, no headers").unwrap();
    let data = dir.path().join("data");
    let output = dealpulse(
        &data,
        &[
            "ingest-email",
            good.to_str().unwrap(),
            junk.to_str().unwrap(),
        ],
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let records: Vec<Value> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(records.len(), 2);
    assert_eq!(records[0]["status"], "accepted");
    assert_eq!(records[0]["deals"], 1);
    assert_eq!(records[1]["status"], "unparseable");
    assert_eq!(
        std::fs::read_dir(data.join("inbound")).unwrap().count(),
        2,
        "both raw messages kept"
    );
    let missing = dealpulse(&data, &["ingest-email", "/nonexistent/mail.eml"]);
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("/nonexistent/mail.eml"));
}

#[test]
fn a_scrape_run_checks_due_pages_on_an_allowed_loopback_port() {
    use dealpulse_domain::listing::TrackedProduct;
    use dealpulse_local::{Database, SqliteStore};
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let port = runtime.block_on(async {
        let app = axum::Router::new().route(
            "/p/1",
            axum::routing::get(|| async {
                axum::response::Html(r#"<script type="application/ld+json">{"@type":"Product","name":"Lamp","offers":{"price":"49.90","priceCurrency":"EUR"}}</script>"#)
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move { axum::serve(listener, app).await });
        port
    });
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path()).unwrap();
    let product = runtime.block_on(async {
        let store = SqliteStore::new(Database::open(&dir.path().join("dealpulse.db")).unwrap());
        use dealpulse_domain::ports::CatalogRepository;
        store
            .insert_product(&TrackedProduct::new(
                format!("http://127.0.0.1:{port}/p/1"),
                "127.0.0.1",
                jiff::Timestamp::now(),
            ))
            .await
            .unwrap()
    });
    // Without the port allowed, the SSRF guard refuses loopback.
    let refused = dealpulse(dir.path(), &["scrape", "--budget-seconds", "30"]);
    let report: Value = serde_json::from_slice(&refused.stdout).unwrap();
    assert_eq!(report["results"]["blocked"], 1, "{report}");
    let port_text = port.to_string();
    let output = dealpulse(
        dir.path(),
        &[
            "scrape",
            "--budget-seconds",
            "30",
            "--fetch-loopback-port",
            &port_text,
            "--fetch-min-delay-ms",
            "0",
        ],
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    // The blocked check backed off, so it is not due again yet: nothing to do.
    assert_eq!(report["products_checked"], 0, "{report}");
    runtime.block_on(async {
        use dealpulse_domain::ports::{CatalogRepository, SourceRepository};
        let store = SqliteStore::new(Database::open(&dir.path().join("dealpulse.db")).unwrap());
        let mut due = store.product_by_id(product.id).await.unwrap().unwrap();
        assert_eq!(due.current_price, None, "a blocked check moved no price");
        due.check.next_check_at = None;
        store.save_product(&due).await.unwrap();
    });
    let output = dealpulse(
        dir.path(),
        &[
            "scrape",
            "--fetch-loopback-port",
            &port_text,
            "--fetch-min-delay-ms",
            "0",
        ],
    );
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["products_checked"], 1, "{report}");
    assert_eq!(report["results"]["ok"], 1, "{report}");
    assert_eq!(report["price_changes"], 1, "{report}");
}
