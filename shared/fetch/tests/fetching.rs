//! The fetcher against fixture servers on 127.0.0.1: classifications, conditional GET,
//! redirects, the body cap, retries, and a table of SSRF attempts that must all be blocked.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::Router;
use dealpulse_fetch::polite::{PoliteFetcher, Politeness};
use dealpulse_fetch::{
    AddressPolicy, FetchConfig, FetchOutcome, Fetcher, StaticLookup, Validators,
};
use futures::StreamExt;
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

struct Fixture {
    port: u16,
    fetcher: Fetcher,
    flaky_hits: Arc<AtomicU32>,
    max_in_flight: Arc<AtomicU32>,
    config: FetchConfig,
    lookup: Arc<StaticLookup>,
}

async fn fixture() -> Fixture {
    let flaky_hits = Arc::new(AtomicU32::new(0));
    let hits = Arc::clone(&flaky_hits);
    let in_flight = Arc::new(AtomicU32::new(0));
    let max_in_flight = Arc::new(AtomicU32::new(0));
    let (now, peak) = (Arc::clone(&in_flight), Arc::clone(&max_in_flight));
    let app = Router::new()
        .route(
            "/robots.txt",
            get(|headers: HeaderMap| async move {
                let host = headers
                    .get(header::HOST)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_string();
                if host.starts_with("down.example") {
                    StatusCode::SERVICE_UNAVAILABLE.into_response()
                } else if host.starts_with("other.example") {
                    "User-agent: *\nDisallow: /private\n".into_response()
                } else {
                    "User-agent: *\nDisallow: /private\nCrawl-delay: 0.3\n".into_response()
                }
            }),
        )
        .route("/private", get(|| async { "secret" }))
        .route(
            "/gzip",
            get(|| async {
                use std::io::Write;
                let mut encoder =
                    flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
                encoder.write_all(b"<h1>compressed page</h1>").unwrap();
                (
                    [(header::CONTENT_ENCODING, "gzip")],
                    encoder.finish().unwrap(),
                )
            }),
        )
        .route(
            "/brotli",
            get(|| async {
                let mut out = Vec::new();
                brotli::BrotliCompress(
                    &mut &b"<h1>brotli page</h1>"[..],
                    &mut out,
                    &brotli::enc::BrotliEncoderParams::default(),
                )
                .unwrap();
                ([(header::CONTENT_ENCODING, "br")], out)
            }),
        )
        .route(
            "/gzip-bomb",
            get(|| async {
                use std::io::Write;
                // 8 MiB of zeros compresses to a few KiB: the cap applies after decoding.
                let mut encoder =
                    flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
                encoder.write_all(&vec![0u8; 8 * 1024 * 1024]).unwrap();
                (
                    [(header::CONTENT_ENCODING, "gzip")],
                    encoder.finish().unwrap(),
                )
            }),
        )
        .route(
            "/slowish",
            get(move || {
                let (now, peak) = (Arc::clone(&now), Arc::clone(&peak));
                async move {
                    let current = now.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(current, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(150)).await;
                    now.fetch_sub(1, Ordering::SeqCst);
                    "done"
                }
            }),
        )
        .route(
            "/product",
            get(|headers: HeaderMap| async move {
                if headers
                    .get(header::IF_NONE_MATCH)
                    .and_then(|v| v.to_str().ok())
                    == Some("\"v1\"")
                {
                    return StatusCode::NOT_MODIFIED.into_response();
                }
                (
                    [
                        (header::ETAG, "\"v1\""),
                        (header::CONTENT_TYPE, "text/html"),
                    ],
                    "<h1>Espresso</h1><span itemprop=price>279 €</span>",
                )
                    .into_response()
            }),
        )
        .route(
            "/hop/{n}",
            get(
                |axum::extract::Path(n): axum::extract::Path<u32>| async move {
                    if n == 0 {
                        Redirect::to("/product").into_response()
                    } else {
                        Redirect::to(&format!("/hop/{}", n - 1)).into_response()
                    }
                },
            ),
        )
        .route(
            "/to-private",
            get(|| async { Redirect::to("http://internal.example/admin") }),
        )
        .route(
            "/to-metadata",
            get(|| async { Redirect::to("http://169.254.169.254/latest/meta-data/") }),
        )
        .route(
            "/to-file",
            get(|| async { Redirect::to("file:///etc/passwd") }),
        )
        .route("/forbidden", get(|| async { StatusCode::FORBIDDEN }))
        .route(
            "/throttled",
            get(|| async { StatusCode::TOO_MANY_REQUESTS }),
        )
        .route("/missing", get(|| async { StatusCode::NOT_FOUND }))
        .route("/gone", get(|| async { StatusCode::GONE }))
        .route("/teapot", get(|| async { StatusCode::IM_A_TEAPOT }))
        .route(
            "/captcha",
            get(|| async { "<html><div class=\"g-recaptcha\"></div></html>" }),
        )
        .route("/big", get(|| async { vec![b'x'; 6 * 1024 * 1024] }))
        .route(
            "/big-chunked",
            get(|| async {
                let chunks = (0..7).map(|_| Ok::<_, std::io::Error>(vec![b'y'; 1024 * 1024]));
                axum::body::Body::from_stream(futures::stream::iter(chunks))
            }),
        )
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                "late"
            })
            .post(|| async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                "late"
            }),
        )
        .route(
            "/flaky",
            get(move || {
                let hits = Arc::clone(&hits);
                async move {
                    if hits.fetch_add(1, Ordering::SeqCst) < 2 {
                        StatusCode::SERVICE_UNAVAILABLE.into_response()
                    } else {
                        "recovered".into_response()
                    }
                }
            }),
        )
        .route("/always-down", get(|| async { StatusCode::BAD_GATEWAY }))
        // A webhook receiver that accepts at once and then trickles its body.
        .route(
            "/trickle",
            post(|| async {
                let chunks = futures::stream::iter(0..20).then(|n| async move {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    Ok::<_, std::io::Error>(format!("{n},"))
                });
                (StatusCode::ACCEPTED, axum::body::Body::from_stream(chunks))
            }),
        )
        // Closes the connection after answering, so the next fetch resolves the name again.
        .route(
            "/closing",
            get(|| async { ([(header::CONNECTION, "close")], "<h1>page</h1>") }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    let ip = |s: &str| -> IpAddr { s.parse().unwrap() };
    let lookup = StaticLookup(BTreeMap::from([
        ("shop.example".to_string(), vec![ip("127.0.0.1")]),
        ("internal.example".to_string(), vec![ip("10.0.0.1")]),
        ("metadata.example".to_string(), vec![ip("169.254.169.254")]),
        ("mapped.example".to_string(), vec![ip("::ffff:192.168.1.1")]),
        ("ula.example".to_string(), vec![ip("fd00:ec2::254")]),
        ("cgnat.example".to_string(), vec![ip("100.64.1.1")]),
        ("other.example".to_string(), vec![ip("127.0.0.1")]),
        ("down.example".to_string(), vec![ip("127.0.0.1")]),
    ]));
    let lookup = Arc::new(lookup);
    let config = FetchConfig {
        timeout: Duration::from_millis(800),
        backoff: Duration::from_millis(10),
        policy: AddressPolicy {
            loopback_ports: BTreeSet::from([port]),
            ..AddressPolicy::default()
        },
        ..FetchConfig::default()
    };
    Fixture {
        port,
        fetcher: Fetcher::new(config.clone(), lookup.clone()).unwrap(),
        flaky_hits,
        max_in_flight,
        config,
        lookup,
    }
}

impl Fixture {
    fn url(&self, path: &str) -> url::Url {
        url::Url::parse(&format!("http://shop.example:{}{path}", self.port)).unwrap()
    }

    async fn get(&self, path: &str) -> FetchOutcome {
        self.fetcher
            .fetch(&self.url(path), &Validators::default())
            .await
    }
}

#[tokio::test]
async fn pages_are_fetched_and_revalidated_with_their_etag() {
    let f = fixture().await;
    let FetchOutcome::Ok(page) = f.get("/product").await else {
        panic!("expected a page")
    };
    assert_eq!(page.status, 200);
    assert_eq!(page.etag.as_deref(), Some("\"v1\""));
    assert!(String::from_utf8_lossy(&page.body).contains("Espresso"));
    let again = f
        .fetcher
        .fetch(
            &f.url("/product"),
            &Validators {
                etag: page.etag.clone(),
                last_modified: None,
            },
        )
        .await;
    assert_eq!(again, FetchOutcome::NotModified);
}

#[tokio::test]
async fn every_status_is_classified() {
    let f = fixture().await;
    assert!(matches!(
        f.get("/forbidden").await,
        FetchOutcome::Blocked(_)
    ));
    assert!(matches!(
        f.get("/throttled").await,
        FetchOutcome::Blocked(_)
    ));
    assert!(matches!(f.get("/captcha").await, FetchOutcome::Blocked(_)));
    assert_eq!(f.get("/missing").await, FetchOutcome::NotFound);
    assert_eq!(f.get("/gone").await, FetchOutcome::Gone);
    assert!(matches!(f.get("/teapot").await, FetchOutcome::Error(_)));
}

#[tokio::test]
async fn redirects_are_followed_up_to_five() {
    let f = fixture().await;
    let FetchOutcome::Ok(page) = f.get("/hop/4").await else {
        panic!("five hops are fine")
    };
    assert_eq!(page.final_url.path(), "/product");
    let FetchOutcome::Error(why) = f.get("/hop/5").await else {
        panic!("six hops are too many")
    };
    assert!(why.contains("more than 5 redirects"), "{why}");
}

#[tokio::test]
async fn bodies_over_the_cap_are_refused_with_or_without_a_length() {
    let f = fixture().await;
    for path in ["/big", "/big-chunked"] {
        let FetchOutcome::Error(why) = f.get(path).await else {
            panic!("{path}: expected an error")
        };
        assert!(
            why.contains("body larger than 5242880 bytes"),
            "{path}: {why}"
        );
    }
}

#[tokio::test]
async fn server_errors_are_retried_and_timeouts_end_in_an_error() {
    let f = fixture().await;
    let FetchOutcome::Ok(page) = f.get("/flaky").await else {
        panic!("the third attempt succeeds")
    };
    assert_eq!(page.body, b"recovered");
    assert_eq!(f.flaky_hits.load(Ordering::SeqCst), 3);
    assert!(matches!(
        f.get("/always-down").await,
        FetchOutcome::Error(_)
    ));
    assert!(matches!(f.get("/slow").await, FetchOutcome::Error(_)));
}

/// A receiver's 2xx is its acceptance even when the body then stalls past the timeout: calling
/// that a failure would make the sender retry and deliver the message twice.
#[tokio::test]
async fn a_post_answered_2xx_whose_body_stalls_is_still_its_status() {
    let f = fixture().await;
    let answer = f
        .fetcher
        .post(
            &f.url("/trickle"),
            &[("content-type", "application/json".into())],
            b"{}".to_vec(),
            Duration::from_millis(500),
        )
        .await
        .expect("the status line arrived within the timeout");
    assert_eq!(answer.status, 202);
    let excerpt = String::from_utf8_lossy(&answer.body).into_owned();
    assert!(
        excerpt.starts_with("0,") && !excerpt.contains("19,"),
        "what arrived before the timeout: {excerpt:?}"
    );
    // No status in time is still a failure.
    let silent = f
        .fetcher
        .post(&f.url("/slow"), &[], Vec::new(), Duration::from_millis(300))
        .await;
    assert!(silent.is_err(), "{silent:?}");
}

#[tokio::test]
async fn ssrf_attempts_are_all_blocked() {
    let f = fixture().await;
    let other_port = f.port.wrapping_add(1).max(1025);
    let attempts = [
        format!("http://127.0.0.1:{other_port}/"),
        format!("http://[::1]:{other_port}/"),
        "http://10.0.0.1/".to_string(),
        "http://192.168.1.1/".to_string(),
        "http://172.16.0.1/".to_string(),
        "http://169.254.169.254/latest/meta-data/".to_string(),
        "http://100.64.0.1/".to_string(),
        "http://224.0.0.1/".to_string(),
        "http://0.0.0.0/".to_string(),
        "http://[fd00:ec2::254]/".to_string(),
        "http://[fe80::1]/".to_string(),
        "http://[::ffff:10.0.0.1]/".to_string(),
        "http://internal.example/".to_string(),
        "http://metadata.example/latest/meta-data/".to_string(),
        "http://mapped.example/".to_string(),
        "http://ula.example/".to_string(),
        "http://cgnat.example/".to_string(),
        "ftp://shop.example/".to_string(),
        format!("http://user:secret@shop.example:{}/product", f.port),
        "http://shop.example:22/".to_string(),
        format!("http://shop.example:{}/to-private", f.port),
        format!("http://shop.example:{}/to-metadata", f.port),
        format!("http://shop.example:{}/to-file", f.port),
    ];
    for attempt in attempts {
        let outcome = f
            .fetcher
            .fetch(&url::Url::parse(&attempt).unwrap(), &Validators::default())
            .await;
        assert!(
            matches!(outcome, FetchOutcome::Blocked(_)),
            "{attempt}: {outcome:?}"
        );
    }
}

/// Answers the fixture's address first and a private one from then on: a DNS rebinding.
struct RebindingLookup {
    calls: AtomicU32,
}

impl dealpulse_fetch::Lookup for RebindingLookup {
    fn lookup(
        &self,
        _host: &str,
    ) -> futures::future::BoxFuture<'static, std::io::Result<Vec<IpAddr>>> {
        let first = self.calls.fetch_add(1, Ordering::SeqCst) == 0;
        let address: IpAddr = if first {
            [127, 0, 0, 1].into()
        } else {
            [169, 254, 169, 254].into()
        };
        Box::pin(async move { Ok(vec![address]) })
    }
}

/// The address check runs on every connection's own lookup (reqwest's resolver hook), so a
/// name that passed once and then resolves to the metadata service is blocked, not followed.
#[tokio::test]
async fn dns_rebinding_after_a_vetted_fetch_is_blocked() {
    let f = fixture().await;
    let lookup = Arc::new(RebindingLookup {
        calls: AtomicU32::new(0),
    });
    let fetcher = Fetcher::new(f.config.clone(), lookup.clone()).unwrap();
    let url = url::Url::parse(&format!("http://rebind.example:{}/closing", f.port)).unwrap();
    let first = fetcher.fetch(&url, &Validators::default()).await;
    assert!(matches!(first, FetchOutcome::Ok(_)), "{first:?}");
    let second = fetcher.fetch(&url, &Validators::default()).await;
    assert!(matches!(second, FetchOutcome::Blocked(_)), "{second:?}");
    assert!(
        lookup.calls.load(Ordering::SeqCst) >= 2,
        "the name was not looked up again"
    );
}

#[tokio::test]
async fn robots_txt_is_honoured_and_crawl_delay_spaces_requests() {
    let f = fixture().await;
    let polite = PoliteFetcher::new(
        Fetcher::new(f.config.clone(), f.lookup.clone()).unwrap(),
        Politeness {
            min_delay: Duration::from_millis(10),
            ..Politeness::default()
        },
    );
    let blocked = polite
        .fetch(&f.url("/private"), &Validators::default())
        .await;
    assert_eq!(
        blocked,
        FetchOutcome::Blocked("robots.txt disallows this path".into())
    );
    let started = std::time::Instant::now();
    for _ in 0..3 {
        assert!(matches!(
            polite
                .fetch(&f.url("/product"), &Validators::default())
                .await,
            FetchOutcome::Ok(_)
        ));
    }
    // Crawl-delay 0.3 s: three request starts span at least two delays.
    assert!(
        started.elapsed() >= Duration::from_millis(600),
        "{:?}",
        started.elapsed()
    );
    let down = url::Url::parse(&format!("http://down.example:{}/product", f.port)).unwrap();
    assert!(
        matches!(
            polite.fetch(&down, &Validators::default()).await,
            FetchOutcome::Blocked(why) if why.contains("robots.txt")
        ),
        "a 5xx robots.txt disallows everything"
    );
}

#[tokio::test]
async fn at_most_two_requests_are_in_flight_per_host() {
    let f = fixture().await;
    let polite = PoliteFetcher::new(
        Fetcher::new(f.config.clone(), f.lookup.clone()).unwrap(),
        Politeness {
            max_concurrency: 2,
            min_delay: Duration::ZERO,
            ..Politeness::default()
        },
    );
    let url = url::Url::parse(&format!("http://other.example:{}/slowish", f.port)).unwrap();
    let none = Validators::default();
    let outcomes = futures::future::join_all((0..6).map(|_| polite.fetch(&url, &none))).await;
    assert!(
        outcomes.iter().all(|o| matches!(o, FetchOutcome::Ok(_))),
        "{outcomes:?}"
    );
    assert_eq!(f.max_in_flight.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn compressed_bodies_are_decoded_within_the_cap() {
    let f = fixture().await;
    let FetchOutcome::Ok(page) = f.get("/gzip").await else {
        panic!("gzip page")
    };
    assert_eq!(page.body, b"<h1>compressed page</h1>");
    let FetchOutcome::Ok(page) = f.get("/brotli").await else {
        panic!("brotli page")
    };
    assert_eq!(page.body, b"<h1>brotli page</h1>");
    let FetchOutcome::Error(why) = f.get("/gzip-bomb").await else {
        panic!("a decompression bomb must hit the cap")
    };
    assert!(why.contains("body larger than"), "{why}");
}
