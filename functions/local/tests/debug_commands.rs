//! The debugging commands as a script uses them: `parse-price` (price texts on stdin, JSON lines
//! out) and `extract` (a saved page in, the fields and the method behind each out).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::process::{Command, Stdio};

fn run(args: &[&str], stdin: &str) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_dealpulse"))
        .arg("parse-price")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn stdin_lines_become_json_lines_in_order() {
    let out = run(&[], "1.299,00 €\n$1,234.56\nno price\n₹1,23,456.78\n");
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        [
            r#"{"input":"1.299,00 €","amount":"1299.00","currency":"EUR"}"#,
            r#"{"input":"$1,234.56","amount":"1234.56","currency":"USD"}"#,
            r#"{"input":"no price","amount":null,"currency":null}"#,
            r#"{"input":"₹1,23,456.78","amount":"123456.78","currency":"INR"}"#,
        ]
    );
}

#[test]
fn the_hint_resolves_ambiguous_symbols_and_bad_hints_are_refused() {
    let out = run(&["--currency-hint", "CAD", "$5"], "");
    assert_eq!(
        out.trim(),
        r#"{"input":"$5","amount":"5.00","currency":"CAD"}"#
    );
    let out = run(&["--locale", "sv-SE"], "1 299 kr\n");
    assert_eq!(
        out.trim(),
        r#"{"input":"1 299 kr","amount":"1299.00","currency":"SEK"}"#
    );
    let refused = Command::new(env!("CARGO_BIN_EXE_dealpulse"))
        .args(["parse-price", "--currency-hint", "XYZ", "5"])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("currency-hint"));
}

#[test]
fn extract_reads_a_saved_page_and_names_each_method() {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("page.html");
    std::fs::write(
        &page,
        r#"<script type="application/ld+json">{"@type":"Product","name":"X1","offers":{"price":"279","priceCurrency":"EUR"}}</script>
           <b id="deal">249,00 €</b>"#,
    )
    .unwrap();
    let selectors = dir.path().join("selectors.json");
    std::fs::write(&selectors, r##"{"price": "#deal"}"##).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_dealpulse"))
        .arg("extract")
        .arg(&page)
        .arg("--selectors")
        .arg(&selectors)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["title"], "X1");
    assert_eq!(json["price"], "249.00");
    assert_eq!(json["methods"]["title"], "json_ld");
    assert_eq!(json["methods"]["price"], "selector");
    let missing = Command::new(env!("CARGO_BIN_EXE_dealpulse"))
        .args(["extract", "/nonexistent/page.html"])
        .output()
        .unwrap();
    assert!(!missing.status.success());
}

#[test]
fn extract_fetches_a_url_through_the_guard() {
    // A one-page shop on loopback; robots.txt is a 404 (no rules).
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        use std::io::{BufRead, BufReader};
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request_line = String::new();
            reader.read_line(&mut request_line).unwrap();
            loop {
                let mut header = String::new();
                reader.read_line(&mut header).unwrap();
                if header.trim().is_empty() {
                    break;
                }
            }
            let (status, body) = if request_line.contains("/robots.txt") {
                ("404 Not Found", String::new())
            } else {
                (
                    "200 OK",
                    r#"<meta property="og:title" content="Loop shop kettle"><meta property="product:price:amount" content="39.90"><meta property="product:price:currency" content="EUR">"#.to_string(),
                )
            };
            let mut stream = stream;
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    let url = format!("http://127.0.0.1:{port}/kettle");
    let refused = Command::new(env!("CARGO_BIN_EXE_dealpulse"))
        .args(["extract", &url])
        .output()
        .unwrap();
    assert!(!refused.status.success(), "loopback is refused by default");
    assert!(String::from_utf8_lossy(&refused.stderr).contains("fetch blocked"));
    let output = Command::new(env!("CARGO_BIN_EXE_dealpulse"))
        .args(["extract", &url, "--allow-loopback-port", &port.to_string()])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["title"], "Loop shop kettle");
    assert_eq!(json["price"], "39.90");
    assert_eq!(json["methods"]["price"], "open_graph");
}

#[test]
fn bench_match_prints_figures_that_agree_with_the_naive_matcher() {
    let output = Command::new(env!("CARGO_BIN_EXE_dealpulse"))
        .args(["bench", "match", "--rules", "3000", "--listings", "400"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let text = String::from_utf8(output.stdout).unwrap();
    let row = text.lines().last().unwrap();
    let cells: Vec<&str> = row.split('|').map(str::trim).collect();
    assert_eq!(cells[1], "3000", "{row}");
    let per_second: f64 = cells[3].parse().unwrap();
    assert!(per_second > 0.0, "{row}");
    assert_eq!(cells[8], "yes", "{row}");
    let refused = Command::new(env!("CARGO_BIN_EXE_dealpulse"))
        .args(["bench", "match", "--rules", "0"])
        .output()
        .unwrap();
    assert!(!refused.status.success());
}
