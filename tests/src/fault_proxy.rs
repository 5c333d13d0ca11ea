//! A fault-injecting HTTP proxy on 127.0.0.1 in front of an emulator (moto): every request is
//! forwarded unchanged unless the test's plan answers it with an AWS error instead (throttling,
//! a rejection). Each exchange is logged with the error code the client saw, injected or real.

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use std::sync::{Arc, Mutex};

/// What the plan sees of a request.
#[derive(Debug, Clone)]
pub struct Intercepted {
    pub method: String,
    pub path: String,
    /// `X-Amz-Target` of JSON-protocol services (`DynamoDB_20120810.PutItem`, `AmazonSQS.…`).
    pub target: Option<String>,
    pub body: Bytes,
}

impl Intercepted {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// An AWS error answered in place of the emulator: the JSON protocols (DynamoDB, SQS, SES v2)
/// read the code from `X-Amzn-ErrorType` and the body's `__type`.
#[derive(Debug, Clone, Copy)]
pub struct AwsError {
    pub status: u16,
    pub code: &'static str,
    pub message: &'static str,
}

/// One exchange as the client saw it.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub target: Option<String>,
    pub path: String,
    pub status: u16,
    /// The error code answered, if any.
    pub error: Option<String>,
    /// Whether the proxy made the answer up.
    pub injected: bool,
}

type Plan = Arc<dyn Fn(&Intercepted) -> Option<AwsError> + Send + Sync>;

#[derive(Clone)]
struct Proxy {
    upstream: String,
    client: reqwest::Client,
    plan: Arc<Mutex<Option<Plan>>>,
    log: Arc<Mutex<Vec<Exchange>>>,
}

pub struct FaultProxy {
    pub endpoint: String,
    plan: Arc<Mutex<Option<Plan>>>,
    log: Arc<Mutex<Vec<Exchange>>>,
}

impl FaultProxy {
    /// Starts a proxy to `upstream` (e.g. moto's endpoint) on a free loopback port.
    pub async fn start(upstream: &str) -> Self {
        let proxy = Proxy {
            upstream: upstream.trim_end_matches('/').to_string(),
            client: reqwest::Client::new(),
            plan: Arc::new(Mutex::new(None)),
            log: Arc::new(Mutex::new(Vec::new())),
        };
        let (plan, log) = (Arc::clone(&proxy.plan), Arc::clone(&proxy.log));
        let app = axum::Router::new().fallback(forward).with_state(proxy);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            endpoint: format!("http://127.0.0.1:{port}"),
            plan,
            log,
        }
    }

    /// From now on each request meets `plan`: `Some(error)` answers it with that error.
    pub fn inject(&self, plan: impl Fn(&Intercepted) -> Option<AwsError> + Send + Sync + 'static) {
        *self.plan.lock().unwrap() = Some(Arc::new(plan));
    }

    pub fn exchanges(&self) -> Vec<Exchange> {
        self.log.lock().unwrap().clone()
    }

    /// How many answers carried `code`, injected or from the emulator.
    pub fn count(&self, code: &str, injected: bool) -> usize {
        self.exchanges()
            .iter()
            .filter(|e| e.injected == injected && e.error.as_deref() == Some(code))
            .count()
    }
}

async fn forward(
    State(proxy): State<Proxy>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let path = uri
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "/".into());
    let seen = Intercepted {
        method: method.to_string(),
        path: path.clone(),
        target: target.clone(),
        body: body.clone(),
    };
    let plan = proxy.plan.lock().unwrap().clone();
    if let Some(error) = plan.and_then(|plan| plan(&seen)) {
        proxy.log.lock().unwrap().push(Exchange {
            target,
            path,
            status: error.status,
            error: Some(error.code.to_string()),
            injected: true,
        });
        let body = serde_json::json!({"__type": error.code, "message": error.message});
        return (
            StatusCode::from_u16(error.status).unwrap(),
            [
                ("x-amzn-errortype", error.code),
                ("content-type", "application/x-amz-json-1.0"),
            ],
            body.to_string(),
        )
            .into_response();
    }
    let mut request = proxy
        .client
        .request(method, format!("{}{path}", proxy.upstream))
        .body(body);
    for (name, value) in &headers {
        if !matches!(name.as_str(), "host" | "content-length" | "connection") {
            request = request.header(name, value);
        }
    }
    let answer = match request.send().await {
        Ok(answer) => answer,
        Err(error) => {
            return (StatusCode::BAD_GATEWAY, format!("upstream: {error}")).into_response();
        }
    };
    let status = answer.status();
    let mut out = HeaderMap::new();
    for (name, value) in answer.headers() {
        if !matches!(
            name.as_str(),
            "content-length" | "transfer-encoding" | "connection"
        ) {
            out.insert(name.clone(), value.clone());
        }
    }
    let bytes = answer.bytes().await.unwrap_or_default();
    let error = (!status.is_success())
        .then(|| error_code(&out, &bytes))
        .flatten();
    proxy.log.lock().unwrap().push(Exchange {
        target,
        path,
        status: status.as_u16(),
        error,
        injected: false,
    });
    (status, out, Body::from(bytes)).into_response()
}

/// The error code of an emulator's answer: the header, or the body's `__type` (which may carry
/// a `namespace#` prefix).
fn error_code(headers: &HeaderMap, body: &[u8]) -> Option<String> {
    let raw = headers
        .get("x-amzn-errortype")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or_else(|| {
            serde_json::from_slice::<serde_json::Value>(body)
                .ok()?
                .get("__type")?
                .as_str()
                .map(str::to_string)
        })?;
    let code = raw.split(':').next().unwrap_or(&raw);
    Some(code.rsplit('#').next().unwrap_or(code).to_string())
}
