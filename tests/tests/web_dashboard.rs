//! `dealpulse serve` serves the built dashboard: its entry paths (the pages e-mail links open
//! included) answer with index.html under a CSP, built assets are served with long caching, and
//! nothing outside `assets/` can be read.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::http::{header, Method, StatusCode};
use dealpulse_tests::local_app::app_with_web_dir;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_built_dashboard_is_served_at_its_entry_paths_and_assets() {
    let web = tempfile::tempdir().unwrap();
    std::fs::create_dir(web.path().join("assets")).unwrap();
    std::fs::write(
        web.path().join("index.html"),
        "<!doctype html><title>DealPulse</title><script type=module src=/assets/index-Ab1.js></script>",
    )
    .unwrap();
    std::fs::write(web.path().join("assets/index-Ab1.js"), "console.log(1)").unwrap();
    std::fs::write(web.path().join("secret.txt"), "not for the web").unwrap();
    std::fs::write(
        web.path().join("sw.js"),
        "self.addEventListener('push', () => {});",
    )
    .unwrap();
    let app = app_with_web_dir(web.path().to_path_buf());

    for path in ["/", "/verify-email?token=abc", "/reset-password?token=abc"] {
        let page = app.call(Method::GET, path, None, None).await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        assert!(page
            .body
            .as_str()
            .unwrap()
            .contains("<title>DealPulse</title>"));
        assert!(page.headers[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .contains("default-src 'self'"));
    }
    let script = app
        .call(Method::GET, "/assets/index-Ab1.js", None, None)
        .await;
    assert_eq!(script.status, StatusCode::OK);
    assert_eq!(
        script.headers[header::CONTENT_TYPE],
        "text/javascript; charset=utf-8"
    );
    assert!(script.headers[header::CACHE_CONTROL]
        .to_str()
        .unwrap()
        .contains("immutable"));
    for path in [
        "/assets/missing-1.js",
        "/assets/..%2Fsecret.txt",
        "/assets/.hidden.js",
        "/assets/index-Ab1.exe",
    ] {
        let answer = app.call(Method::GET, path, None, None).await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{path}");
    }
    // The push service worker sits at the root (its scope is the whole app), revalidated on
    // every visit; other root files are not served.
    let worker = app.call(Method::GET, "/sw.js", None, None).await;
    assert_eq!(worker.status, StatusCode::OK);
    assert_eq!(
        worker.headers[header::CONTENT_TYPE],
        "text/javascript; charset=utf-8"
    );
    assert_eq!(worker.headers[header::CACHE_CONTROL], "no-cache");
    let secret = app.call(Method::GET, "/secret.txt", None, None).await;
    assert_eq!(secret.status, StatusCode::NOT_FOUND);
    // The API stays the API.
    let health = app.call(Method::GET, "/health", None, None).await;
    assert_eq!(health.status, StatusCode::OK);
}
