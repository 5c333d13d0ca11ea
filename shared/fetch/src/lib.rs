//! Fetching user-supplied URLs safely. Every address is vetted before a connection is made:
//! the resolver returns only public addresses and the client connects to exactly those (no
//! second lookup, so DNS rebinding cannot slip a private address in); IP literals are checked
//! the same way; redirects are followed here, one at a time, each target checked again. Bodies
//! are capped, compressed bodies are decoded within the cap, and every fetch is classified so
//! that a failed or unclassifiable fetch can never be read as a price.

pub mod polite;
pub mod robots;

use dealpulse_domain::net::is_public;
use futures::StreamExt;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use url::{Host, Url};

/// Where the fetcher may connect. The default allows public addresses on the web ports only.
#[derive(Debug, Clone)]
pub struct AddressPolicy {
    pub ports: BTreeSet<u16>,
    /// Loopback ports allowed in addition (test fixtures only; empty in production).
    pub loopback_ports: BTreeSet<u16>,
}

impl Default for AddressPolicy {
    fn default() -> Self {
        Self {
            ports: BTreeSet::from([80, 443, 8080, 8443]),
            loopback_ports: BTreeSet::new(),
        }
    }
}

impl AddressPolicy {
    pub fn allows(&self, address: &SocketAddr) -> bool {
        let ip = canonical(address.ip());
        if ip.is_loopback() && self.loopback_ports.contains(&address.port()) {
            return true;
        }
        is_public(ip) && self.ports.contains(&address.port())
    }
}

/// IPv4-mapped IPv6 addresses are judged as the IPv4 address they carry.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

/// Name resolution, swappable so tests can make a name point anywhere.
pub trait Lookup: Send + Sync {
    fn lookup(
        &self,
        host: &str,
    ) -> futures::future::BoxFuture<'static, std::io::Result<Vec<IpAddr>>>;
}

/// The system resolver.
pub struct SystemLookup;

impl Lookup for SystemLookup {
    fn lookup(
        &self,
        host: &str,
    ) -> futures::future::BoxFuture<'static, std::io::Result<Vec<IpAddr>>> {
        let host = host.to_string();
        Box::pin(async move {
            Ok(tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .map(|address| address.ip())
                .collect())
        })
    }
}

/// A fixed table of names (tests).
#[derive(Default)]
pub struct StaticLookup(pub BTreeMap<String, Vec<IpAddr>>);

impl Lookup for StaticLookup {
    fn lookup(
        &self,
        host: &str,
    ) -> futures::future::BoxFuture<'static, std::io::Result<Vec<IpAddr>>> {
        let found = self.0.get(host).cloned();
        Box::pin(async move {
            found.ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, "no such host"))
        })
    }
}

/// reqwest's resolver hook: resolve, keep only vetted addresses, hand those to the connector.
/// The hook does not see the request's port; `Fetcher::vet_url` checks the port first.
struct VettingResolver {
    lookup: Arc<dyn Lookup>,
    policy: AddressPolicy,
}

impl Resolve for VettingResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let lookup = Arc::clone(&self.lookup);
        let loopback_allowed = !self.policy.loopback_ports.is_empty();
        let host = name.as_str().to_string();
        Box::pin(async move {
            let addresses = lookup.lookup(&host).await?;
            let vetted: Vec<SocketAddr> = addresses
                .into_iter()
                .map(canonical)
                .filter(|ip| is_public(*ip) || (ip.is_loopback() && loopback_allowed))
                .map(|ip| SocketAddr::new(ip, 0))
                .collect();
            if vetted.is_empty() {
                let error: Box<dyn std::error::Error + Send + Sync> = Box::new(Blocked(format!(
                    "{host} resolves only to non-public addresses"
                )));
                return Err(error);
            }
            let addrs: Addrs = Box::new(vetted.into_iter());
            Ok(addrs)
        })
    }
}

/// What a webhook answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostAnswer {
    pub status: u16,
    /// `Retry-After` in seconds, when sent.
    pub retry_after: Option<Duration>,
    pub body: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PostError {
    /// The guard refused the address: never retried.
    #[error("blocked: {0}")]
    Blocked(String),
    /// Connecting, sending or reading failed (timeouts included): worth retrying.
    #[error("failed: {0}")]
    Failed(String),
}

/// A reqwest error with its causes, for reasons an operator can read.
fn describe_reqwest(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(inner) = source {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    text
}

/// The resolver refused every address of a name.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Blocked(pub String);

/// How a fetch ended. Only `Ok` carries a page; everything else must not move a price.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchOutcome {
    Ok(Page),
    /// 304 to a conditional request: nothing changed since the last fetch.
    NotModified,
    /// The address or the target refused us: SSRF guard, 401/403/429, captcha pages.
    Blocked(String),
    NotFound,
    Gone,
    /// Anything else: timeouts, 5xx after retries, oversized bodies, bad redirects.
    Error(String),
}

/// A fetched page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub final_url: Url,
    pub status: u16,
    pub content_type: Option<String>,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub body: Vec<u8>,
}

/// Validators from the previous fetch of the same URL, for a conditional GET.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Validators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

#[derive(Debug, Clone)]
pub struct FetchConfig {
    pub user_agent: String,
    pub connect_timeout: Duration,
    pub timeout: Duration,
    pub max_body_bytes: usize,
    pub max_redirects: usize,
    /// Extra attempts after a timeout or a 5xx, with doubling backoff from `backoff`.
    pub retries: u32,
    pub backoff: Duration,
    pub policy: AddressPolicy,
}

impl Default for FetchConfig {
    fn default() -> Self {
        Self {
            user_agent: concat!(
                "DealPulse/",
                env!("CARGO_PKG_VERSION"),
                " (+https://github.com/dealpulse/dealpulse; price alerts)"
            )
            .to_string(),
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(20),
            max_body_bytes: 5 * 1024 * 1024,
            max_redirects: 5,
            retries: 2,
            backoff: Duration::from_millis(250),
            policy: AddressPolicy::default(),
        }
    }
}

/// Markers of bot-challenge pages served with a 200.
const CHALLENGE_MARKERS: [&str; 6] = [
    "g-recaptcha",
    "h-captcha",
    "cf-challenge",
    "px-captcha",
    "Attention Required! | Cloudflare",
    "/cdn-cgi/challenge-platform/",
];

pub struct Fetcher {
    client: reqwest::Client,
    config: FetchConfig,
}

#[derive(Debug, thiserror::Error)]
#[error("HTTP client: {0}")]
pub struct BuildError(String);

impl Fetcher {
    pub fn new(config: FetchConfig, lookup: Arc<dyn Lookup>) -> Result<Self, BuildError> {
        let client = reqwest::Client::builder()
            .user_agent(config.user_agent.clone())
            .connect_timeout(config.connect_timeout)
            .timeout(config.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .dns_resolver(Arc::new(VettingResolver {
                lookup,
                policy: config.policy.clone(),
            }))
            .build()
            .map_err(|e| BuildError(e.to_string()))?;
        Ok(Self { client, config })
    }

    /// Checks what can be checked before connecting: scheme, credentials, port, literal IPs.
    fn vet_url(&self, url: &Url) -> Result<(), String> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!("{} URLs are not fetched", url.scheme()));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err("URLs with credentials are not fetched".into());
        }
        let port = url
            .port_or_known_default()
            .ok_or_else(|| "the URL has no port".to_string())?;
        let literal = match url.host() {
            None => return Err("the URL has no host".into()),
            Some(Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
            Some(Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
            Some(Host::Domain(_)) => None,
        };
        let policy = &self.config.policy;
        match literal {
            Some(ip) if !policy.allows(&SocketAddr::new(ip, port)) => {
                Err(format!("{ip} is not a public address"))
            }
            None if !policy.ports.contains(&port) && !policy.loopback_ports.contains(&port) => {
                Err(format!("port {port} is not fetched"))
            }
            _ => Ok(()),
        }
    }

    /// POSTs `body` to a user-supplied URL (a webhook) through the same guard as fetches: the
    /// URL is vetted, every resolved address must be public, and redirects are not followed (a
    /// 3xx is the answer). The answer's body is read up to 64 KiB, within the same timeout.
    pub async fn post(
        &self,
        url: &Url,
        headers: &[(&str, String)],
        body: Vec<u8>,
        timeout: Duration,
    ) -> Result<PostAnswer, PostError> {
        self.vet_url(url).map_err(PostError::Blocked)?;
        let mut request = self.client.post(url.clone()).timeout(timeout).body(body);
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        let response = request.send().await.map_err(|error| {
            let text = describe_reqwest(&error);
            if text.contains("non-public") || text.contains("resolves only") {
                PostError::Blocked(text)
            } else {
                PostError::Failed(text)
            }
        })?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|s| s.is_finite() && *s >= 0.0)
            .map(Duration::from_secs_f64);
        let mut body = Vec::new();
        let mut stream = response.bytes_stream();
        while let Some(chunk) = stream.next().await {
            match chunk {
                Ok(bytes) => {
                    body.extend_from_slice(&bytes);
                    if body.len() > 64 * 1024 {
                        body.truncate(64 * 1024);
                        break;
                    }
                }
                // The status is the answer: a receiver that said 2xx has the message even
                // when its body then stalls past the timeout, and calling that a failure would
                // send it again. The body is only an excerpt for reasons, so keep what came.
                Err(error) => {
                    tracing::debug!(status, error = %describe_reqwest(&error), "answer body cut short");
                    break;
                }
            }
        }
        Ok(PostAnswer {
            status,
            retry_after,
            body,
        })
    }

    /// GETs `url`, following up to `max_redirects` redirects (each vetted), conditionally when
    /// `validators` are given, retrying timeouts and 5xx.
    pub async fn fetch(&self, url: &Url, validators: &Validators) -> FetchOutcome {
        let mut current = url.clone();
        for hop in 0..=self.config.max_redirects {
            if let Err(why) = self.vet_url(&current) {
                return FetchOutcome::Blocked(why);
            }
            let response = match self.send_with_retries(&current, validators).await {
                Ok(response) => response,
                Err(outcome) => return outcome,
            };
            let status = response.status();
            if status.is_redirection() && status != reqwest::StatusCode::NOT_MODIFIED {
                let Some(location) = response
                    .headers()
                    .get(reqwest::header::LOCATION)
                    .and_then(|v| v.to_str().ok())
                else {
                    return FetchOutcome::Error(format!("{status} without a Location"));
                };
                match current.join(location) {
                    Ok(next) => {
                        tracing::debug!(from = %current, to = %next, hop, "following redirect");
                        current = next;
                        continue;
                    }
                    Err(e) => return FetchOutcome::Error(format!("bad redirect target: {e}")),
                }
            }
            return self.classify(current, response).await;
        }
        FetchOutcome::Error(format!("more than {} redirects", self.config.max_redirects))
    }

    async fn send_with_retries(
        &self,
        url: &Url,
        validators: &Validators,
    ) -> Result<reqwest::Response, FetchOutcome> {
        let mut attempt = 0;
        loop {
            let mut request = self.client.get(url.clone()).header(
                reqwest::header::ACCEPT,
                "text/html,application/xhtml+xml,application/json;q=0.9,*/*;q=0.8",
            );
            if let Some(etag) = &validators.etag {
                request = request.header(reqwest::header::IF_NONE_MATCH, etag);
            }
            if let Some(modified) = &validators.last_modified {
                request = request.header(reqwest::header::IF_MODIFIED_SINCE, modified);
            }
            let retryable = match request.send().await {
                Ok(response) if response.status().is_server_error() => {
                    format!("server error {}", response.status())
                }
                Ok(response) => return Ok(response),
                Err(error) => {
                    if let Some(blocked) = blocked_cause(&error) {
                        return Err(FetchOutcome::Blocked(blocked));
                    }
                    if error.is_timeout() || error.is_connect() {
                        describe(&error)
                    } else {
                        return Err(FetchOutcome::Error(describe(&error)));
                    }
                }
            };
            if attempt >= self.config.retries {
                return Err(FetchOutcome::Error(retryable));
            }
            tokio::time::sleep(self.config.backoff * 2_u32.pow(attempt)).await;
            attempt += 1;
        }
    }

    async fn classify(&self, url: Url, response: reqwest::Response) -> FetchOutcome {
        let status = response.status();
        match status.as_u16() {
            304 => return FetchOutcome::NotModified,
            401 | 403 | 429 => return FetchOutcome::Blocked(format!("the site answered {status}")),
            404 => return FetchOutcome::NotFound,
            410 => return FetchOutcome::Gone,
            200..=299 => {}
            _ => return FetchOutcome::Error(format!("unexpected status {status}")),
        }
        let header = |name: reqwest::header::HeaderName| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let content_type = header(reqwest::header::CONTENT_TYPE);
        let etag = header(reqwest::header::ETAG);
        let last_modified = header(reqwest::header::LAST_MODIFIED);
        let limit = self.config.max_body_bytes;
        if response
            .content_length()
            .is_some_and(|length| length as usize > limit)
        {
            return FetchOutcome::Error(format!("body larger than {limit} bytes"));
        }
        let mut body = Vec::new();
        let mut stream = response.bytes_stream();
        while let Some(chunk) = stream.next().await {
            match chunk {
                Ok(bytes) => {
                    if body.len() + bytes.len() > limit {
                        return FetchOutcome::Error(format!("body larger than {limit} bytes"));
                    }
                    body.extend_from_slice(&bytes);
                }
                Err(error) => return FetchOutcome::Error(describe(&error)),
            }
        }
        let head = String::from_utf8_lossy(&body[..body.len().min(64 * 1024)]).into_owned();
        if CHALLENGE_MARKERS.iter().any(|marker| head.contains(marker)) {
            return FetchOutcome::Blocked("a bot challenge page was served".into());
        }
        FetchOutcome::Ok(Page {
            final_url: url,
            status: status.as_u16(),
            content_type,
            etag,
            last_modified,
            body,
        })
    }
}

/// The SSRF refusal, if that is what made the request fail.
fn blocked_cause(error: &reqwest::Error) -> Option<String> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(current) = source {
        if let Some(blocked) = current.downcast_ref::<Blocked>() {
            return Some(blocked.0.clone());
        }
        source = current.source();
    }
    None
}

fn describe(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
