//! Cold starts of the Lambda functions, measured through our own Lambda Runtime API.
//!
//! Each run starts a function's compiled binary as Lambda would (the `AWS_LAMBDA_*` environment
//! and `AWS_LAMBDA_RUNTIME_API` pointing here), answers its first
//! `GET /2018-06-01/runtime/invocation/next` with an events/ file, and times, from just before
//! the spawn: **init** (the first `/next`: config read, SDK clients and router built, runtime
//! ready) and **first response** (the invocation's `/response` or `/error`). The process is then
//! killed, so every run is a new process. AWS calls go to a moto server on loopback.
//!
//!     cargo build --release -p <functions…>        # or: scripts/bench coldstart
//!     cargo run --release -p dealpulse-tests --bin lambda-coldstart -- \
//!         --bin-dir target/release --runs 20 [function…]
//!
//! Prints one Markdown row per function: median and p99 of both, the peak RSS after the first
//! response (`VmHWM`), what the first response was, and the binary's size.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::Router;
use dealpulse_tests::aws::{create_queue_pair, create_table, sdk_config, verify_sender, SENDER};
use dealpulse_tests::{moto, unique, workspace_root};
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::Notify;

/// The event each function gets: the events/ file a real first request could be. Placeholders
/// (`{{NAME}}`) become `coldstart`, so a token placeholder makes an unauthenticated request.
/// `network` says whether answering it reaches moto; rows without are comparable to a
/// hello-world handler.
const FUNCTIONS: &[(&str, &str, bool)] = &[
    ("health", "health", false),
    ("api-auth", "register-malformed-json", false),
    ("api-account", "me-unauthenticated", false),
    ("api-rules", "create-unauthenticated", false),
    ("api-watchlist", "list", false),
    ("api-preferences", "vapid-public-key", false),
    ("api-ingest", "list-feeds", false),
    ("api-admin", "failed-list-not-admin", false),
    ("api-analytics", "dashboard-unauthenticated", false),
    ("api-billing", "me-unauthenticated", false),
    ("api-subscribers", "confirm-forged", false),
    ("scrape", "scheduled", true),
    ("match", "not-a-batch", false),
    ("deliver", "deliveries", false),
    ("digest", "scheduled", true),
    ("ses-events", "delivery", true),
    ("ingest-email", "object-removed", false),
];

/// One cold start as the runtime API saw it.
#[derive(Default)]
struct Run {
    started: Option<Instant>,
    event: Bytes,
    next_at: Option<Duration>,
    answered_at: Option<Duration>,
    /// `response` or `error`, with the body's first bytes.
    outcome: String,
}

#[derive(Clone)]
struct Api {
    run: Arc<Mutex<Run>>,
    answered: Arc<Notify>,
    function: Arc<Mutex<String>>,
}

async fn next(State(api): State<Api>) -> axum::response::Response {
    let (event, first) = {
        let mut run = api.run.lock().unwrap();
        let first = run.next_at.is_none();
        if first {
            run.next_at = run.started.map(|started| started.elapsed());
        }
        (run.event.clone(), first)
    };
    if !first {
        // The function asks for its second invocation; it is killed before one comes.
        std::future::pending::<()>().await;
    }
    let deadline = SystemTime::now().duration_since(UNIX_EPOCH).unwrap() + Duration::from_secs(30);
    let function = api.function.lock().unwrap().clone();
    let mut headers = HeaderMap::new();
    let mut set = |name: &'static str, value: String| {
        headers.insert(name, value.parse().unwrap());
    };
    set("lambda-runtime-aws-request-id", "coldstart-0001".into());
    set(
        "lambda-runtime-deadline-ms",
        deadline.as_millis().to_string(),
    );
    set(
        "lambda-runtime-invoked-function-arn",
        format!("arn:aws:lambda:us-east-1:000000000000:function:{function}"),
    );
    set(
        "lambda-runtime-trace-id",
        "Root=1-00000000-000000000000000000000000;Sampled=0".into(),
    );
    set("content-type", "application/json".into());
    (StatusCode::OK, headers, event).into_response()
}

fn answered(api: &Api, kind: &str, body: &Bytes) -> StatusCode {
    let mut run = api.run.lock().unwrap();
    if run.answered_at.is_none() {
        run.answered_at = run.started.map(|started| started.elapsed());
        let text = String::from_utf8_lossy(body);
        run.outcome = format!("{kind}: {}", text.chars().take(120).collect::<String>());
    }
    api.answered.notify_one();
    StatusCode::ACCEPTED
}

async fn response(State(api): State<Api>, Path(_id): Path<String>, body: Bytes) -> StatusCode {
    answered(&api, "response", &body)
}

async fn error(State(api): State<Api>, Path(_id): Path<String>, body: Bytes) -> StatusCode {
    answered(&api, "error", &body)
}

async fn init_error(State(api): State<Api>, body: Bytes) -> StatusCode {
    answered(&api, "init error", &body)
}

struct Args {
    bin_dir: PathBuf,
    runs: usize,
    functions: Vec<String>,
}

fn parse_args() -> Args {
    let mut args = Args {
        bin_dir: workspace_root().join("target/release"),
        runs: 20,
        functions: Vec::new(),
    };
    let mut raw = std::env::args().skip(1);
    while let Some(arg) = raw.next() {
        match arg.as_str() {
            "--bin-dir" => args.bin_dir = raw.next().expect("--bin-dir DIR").into(),
            "--runs" => args.runs = raw.next().and_then(|n| n.parse().ok()).expect("--runs N"),
            name => args.functions.push(name.to_string()),
        }
    }
    args
}

/// The value at quantile `q` (nearest rank) of sorted durations, in milliseconds.
fn quantile_ms(sorted: &[Duration], q: f64) -> f64 {
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1].as_secs_f64() * 1000.0
}

fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args = parse_args();
    let moto = moto::shared();
    let config = sdk_config(moto).await;
    let table = unique("dealpulse-coldstart");
    create_table(&aws_sdk_dynamodb::Client::new(&config), &table).await;
    let (queue_url, dlq_url) = create_queue_pair(&aws_sdk_sqs::Client::new(&config), 5).await;
    verify_sender(&config).await;

    let api = Api {
        run: Arc::default(),
        answered: Arc::default(),
        function: Arc::default(),
    };
    let router = Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next))
        .route(
            "/2018-06-01/runtime/invocation/{id}/response",
            post(response),
        )
        .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
        .route("/2018-06-01/runtime/init/error", post(init_error))
        .with_state(api.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let runtime_api = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move { axum::serve(listener, router).await });

    let env: Vec<(&str, String)> = vec![
        ("AWS_LAMBDA_RUNTIME_API", runtime_api),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256".into()),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".into()),
        ("AWS_LAMBDA_LOG_STREAM_NAME", "coldstart".into()),
        ("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/coldstart".into()),
        ("AWS_ENDPOINT_URL", moto.endpoint.clone()),
        ("AWS_REGION", "us-east-1".into()),
        ("AWS_ACCESS_KEY_ID", "testing".into()),
        ("AWS_SECRET_ACCESS_KEY", "testing".into()),
        ("DEALPULSE_TABLE", table),
        ("DEALPULSE_QUEUE_URL", queue_url),
        ("DEALPULSE_DLQ_URL", dlq_url),
        ("DEALPULSE_SENDER", SENDER.into()),
        ("DEALPULSE_PUBLIC_URL", "https://app.dealpulse.test".into()),
        (
            "DEALPULSE_JWT_SECRET",
            "coldstart-secret-of-at-least-32-bytes!!".into(),
        ),
        ("DEALPULSE_STAGE", "coldstart".into()),
        (
            "DEALPULSE_VAPID_SECRET",
            "coldstart-vapid-seed-of-at-least-32-characters".into(),
        ),
        ("DEALPULSE_EVENT_BUS", "default".into()),
        ("DEALPULSE_INBOUND_DOMAIN", "inbound.dealpulse.test".into()),
        ("RUST_LOG", "warn".into()),
    ];

    println!("Cold starts per function: {} runs after one warm-up run (page cache warm), release build, x86_64.\n", args.runs);
    println!("| Function | Event | Network | Init p50 | Init p99 | First response p50 | First response p99 | Peak RSS | Binary | First answer |");
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for &(function, event, network) in FUNCTIONS {
        if !args.functions.is_empty() && !args.functions.iter().any(|name| name == function) {
            continue;
        }
        let binary = args.bin_dir.join(function);
        let path = workspace_root()
            .join("events")
            .join(function)
            .join(format!("{event}.json"));
        let mut text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        while let Some(start) = text.find("{{") {
            let Some(end) = text[start..].find("}}") else {
                break;
            };
            text.replace_range(start..start + end + 2, "coldstart");
        }
        *api.function.lock().unwrap() = function.to_string();
        let (mut inits, mut answers) = (Vec::new(), Vec::new());
        let (mut rss, mut outcome) = (0, String::new());
        for attempt in 0..=args.runs {
            *api.run.lock().unwrap() = Run {
                started: Some(Instant::now()),
                event: Bytes::from(text.clone()),
                ..Run::default()
            };
            let mut child = tokio::process::Command::new(&binary)
                .env_clear()
                .env("PATH", "/usr/bin:/bin")
                .envs(env.iter().map(|(name, value)| (*name, value)))
                .env("AWS_LAMBDA_FUNCTION_NAME", function)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .kill_on_drop(true)
                .spawn()
                .unwrap_or_else(|e| panic!("{}: {e} (build it first)", binary.display()));
            // Either the answer comes, or the process ends first (a start-up error).
            let waited = tokio::select! {
                answered = tokio::time::timeout(Duration::from_secs(30), api.answered.notified()) => answered.is_ok(),
                status = child.wait() => {
                    let mut stderr = String::new();
                    if let Some(mut pipe) = child.stderr.take() {
                        use tokio::io::AsyncReadExt;
                        let _ = pipe.read_to_string(&mut stderr).await;
                    }
                    panic!("{function} exited before answering ({status:?}):\n{stderr}");
                }
            };
            let pid = child.id().unwrap_or_default();
            let peak = peak_rss_kib(pid).unwrap_or_default();
            let _ = child.kill().await;
            let run = std::mem::take(&mut *api.run.lock().unwrap());
            assert!(
                waited && run.answered_at.is_some(),
                "{function}: no answer within 30 s (init reached: {:?})",
                run.next_at
            );
            if attempt == 0 {
                continue;
            }
            inits.push(run.next_at.unwrap_or_default());
            answers.push(run.answered_at.unwrap_or_default());
            rss = rss.max(peak);
            outcome = run.outcome;
        }
        inits.sort();
        answers.sort();
        let size = std::fs::metadata(&binary).map(|m| m.len()).unwrap_or(0);
        let status = outcome
            .split("\"statusCode\":")
            .nth(1)
            .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
            .map(|code| format!("HTTP {code}"))
            .unwrap_or_else(|| outcome.chars().take(48).collect());
        println!(
            "| {function} | `{event}` | {} | {:.1} ms | {:.1} ms | {:.1} ms | {:.1} ms | {:.1} MiB | {:.1} MiB | {} |",
            if network { "moto" } else { "none" },
            quantile_ms(&inits, 0.5),
            quantile_ms(&inits, 0.99),
            quantile_ms(&answers, 0.5),
            quantile_ms(&answers, 0.99),
            rss as f64 / 1024.0,
            size as f64 / 1_048_576.0,
            status.replace('|', "\\|"),
        );
    }
}
