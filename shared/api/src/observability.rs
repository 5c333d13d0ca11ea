//! One log line per request, request ids, and request metrics: Prometheus text in local mode,
//! CloudWatch Embedded Metric Format lines in Lambda.

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Response};
use axum::middleware::Next;
use axum::response::IntoResponse;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tracing::Instrument;

pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// Upper bounds (seconds) of the latency histogram buckets.
const LATENCY_BUCKETS: [f64; 10] = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0];

#[derive(Default)]
struct RouteStats {
    bucket_counts: [u64; LATENCY_BUCKETS.len()],
    count: u64,
    sum_secs: f64,
}

/// In-process request counters, rendered as Prometheus text by `/metrics`.
#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    latency: Mutex<BTreeMap<String, RouteStats>>,
}

impl Metrics {
    pub fn record(&self, method: &str, route: &str, status: u16, seconds: f64) {
        if let Ok(mut requests) = self.requests.lock() {
            *requests
                .entry((method.to_string(), route.to_string(), status))
                .or_default() += 1;
        }
        if let Ok(mut latency) = self.latency.lock() {
            let stats = latency.entry(route.to_string()).or_default();
            stats.count += 1;
            stats.sum_secs += seconds;
            for (bound, count) in LATENCY_BUCKETS.iter().zip(stats.bucket_counts.iter_mut()) {
                if seconds <= *bound {
                    *count += 1;
                }
            }
        }
    }

    /// Prometheus text exposition format, version 0.0.4.
    pub fn render_prometheus(&self) -> String {
        let mut out = String::new();
        out.push_str("# HELP dealpulse_http_requests_total HTTP requests answered.\n");
        out.push_str("# TYPE dealpulse_http_requests_total counter\n");
        if let Ok(requests) = self.requests.lock() {
            for ((method, route, status), count) in requests.iter() {
                let _ = writeln!(
                    out,
                    "dealpulse_http_requests_total{{method=\"{method}\",route=\"{}\",status=\"{status}\"}} {count}",
                    escape_label(route)
                );
            }
        }
        out.push_str("# HELP dealpulse_http_request_duration_seconds Time to answer a request.\n");
        out.push_str("# TYPE dealpulse_http_request_duration_seconds histogram\n");
        if let Ok(latency) = self.latency.lock() {
            for (route, stats) in latency.iter() {
                let route = escape_label(route);
                for (bound, count) in LATENCY_BUCKETS.iter().zip(stats.bucket_counts.iter()) {
                    let _ = writeln!(
                        out,
                        "dealpulse_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{bound}\"}} {count}"
                    );
                }
                let _ = writeln!(
                    out,
                    "dealpulse_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}",
                    stats.count
                );
                let _ = writeln!(
                    out,
                    "dealpulse_http_request_duration_seconds_sum{{route=\"{route}\"}} {}",
                    stats.sum_secs
                );
                let _ = writeln!(
                    out,
                    "dealpulse_http_request_duration_seconds_count{{route=\"{route}\"}} {}",
                    stats.count
                );
            }
        }
        out
    }
}

fn escape_label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Where per-request metrics go.
#[derive(Clone)]
pub enum MetricsSink {
    /// Kept in process for `/metrics` (local mode).
    Registry(Arc<Metrics>),
    /// Printed to stdout as CloudWatch Embedded Metric Format (Lambda).
    Emf { function: String },
}

impl MetricsSink {
    fn record(&self, method: &str, route: &str, status: u16, seconds: f64) {
        match self {
            MetricsSink::Registry(metrics) => metrics.record(method, route, status, seconds),
            MetricsSink::Emf { function } => {
                println!("{}", emf_line(function, method, route, status, seconds));
            }
        }
    }
}

/// One EMF document: CloudWatch extracts `Requests`, `Errors`, `Faults` and `Latency` metrics
/// by function and route from it.
pub fn emf_line(function: &str, method: &str, route: &str, status: u16, seconds: f64) -> String {
    serde_json::json!({
        "_aws": {
            "Timestamp": jiff::Timestamp::now().as_millisecond(),
            "CloudWatchMetrics": [{
                "Namespace": "DealPulse",
                "Dimensions": [["Function", "Route"]],
                "Metrics": [
                    {"Name": "Requests", "Unit": "Count"},
                    {"Name": "Errors", "Unit": "Count"},
                    {"Name": "Faults", "Unit": "Count"},
                    {"Name": "Latency", "Unit": "Milliseconds"}
                ]
            }]
        },
        "Function": function,
        "Route": format!("{method} {route}"),
        "Status": status,
        "Requests": 1,
        "Errors": u8::from((400..500).contains(&status)),
        "Faults": u8::from(status >= 500),
        "Latency": seconds * 1000.0,
    })
    .to_string()
}

/// Marks a response with the route template that served it, so the outer observer can label
/// metrics by route (`/api/v1/me/api-keys/{id}`), not by raw path.
#[derive(Clone)]
struct ServedRoute(String);

/// Route-level layer: copies the matched route into the response.
pub async fn tag_route(request: Request, next: Next) -> Response<axum::body::Body> {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|path| path.as_str().to_string());
    let mut response = next.run(request).await;
    if let Some(route) = route {
        response.extensions_mut().insert(ServedRoute(route));
    }
    response
}

/// Outer layer: request id, span, one log line and metrics per request.
pub async fn observe(
    State(sink): State<MetricsSink>,
    request: Request,
    next: Next,
) -> impl IntoResponse {
    let started = Instant::now();
    let method = request.method().as_str().to_string();
    let path = request.uri().path().to_string();
    let request_id = request
        .headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|value| value.to_str().ok())
        .filter(|value| !value.is_empty() && value.len() <= 128)
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let span = tracing::info_span!("request", request_id = %request_id, method = %method);
    let mut response = next.run(request).instrument(span.clone()).await;
    let status = response.status().as_u16();
    let route = response
        .extensions()
        .get::<ServedRoute>()
        .map(|route| route.0.clone())
        .unwrap_or_else(|| "unmatched".to_string());
    let seconds = started.elapsed().as_secs_f64();
    span.in_scope(|| {
        tracing::info!(
            target: "dealpulse::access",
            %path,
            %route,
            status,
            latency_ms = seconds * 1000.0,
            "request served"
        );
    });
    sink.record(&method, &route, status, seconds);
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prometheus_text_counts_requests_and_latency() {
        let metrics = Metrics::default();
        metrics.record("GET", "/health", 200, 0.002);
        metrics.record("GET", "/health", 200, 0.2);
        let text = metrics.render_prometheus();
        assert!(text.contains(
            "dealpulse_http_requests_total{method=\"GET\",route=\"/health\",status=\"200\"} 2"
        ));
        assert!(text.contains(
            "dealpulse_http_request_duration_seconds_bucket{route=\"/health\",le=\"0.005\"} 1"
        ));
        assert!(text.contains("dealpulse_http_request_duration_seconds_count{route=\"/health\"} 2"));
    }

    #[test]
    fn emf_lines_declare_their_metrics() {
        let line: serde_json::Value =
            serde_json::from_str(&emf_line("api-auth", "POST", "/x", 503, 0.01)).unwrap();
        assert_eq!(
            line["_aws"]["CloudWatchMetrics"][0]["Namespace"],
            "DealPulse"
        );
        assert_eq!(line["Faults"], 1);
        assert_eq!(line["Errors"], 0);
        assert_eq!(line["Function"], "api-auth");
    }
}
