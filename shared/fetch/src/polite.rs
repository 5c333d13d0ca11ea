//! Politeness per host: robots.txt honoured (fetched once and cached), at most N requests in
//! flight, and a minimum delay between request starts (the larger of ours and the site's
//! Crawl-delay).

use crate::robots::Robots;
use crate::{FetchOutcome, Fetcher, Validators};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{Mutex, Semaphore};
use url::Url;

#[derive(Debug, Clone)]
pub struct Politeness {
    /// Requests in flight per host.
    pub max_concurrency: usize,
    /// Minimum time between two request starts on one host.
    pub min_delay: Duration,
    /// How long a robots.txt is trusted.
    pub robots_ttl: Duration,
    /// The product token robots.txt groups are matched against.
    pub agent: String,
}

impl Default for Politeness {
    fn default() -> Self {
        Self {
            max_concurrency: 2,
            min_delay: Duration::from_secs(1),
            robots_ttl: Duration::from_secs(24 * 3600),
            agent: "dealpulse".into(),
        }
    }
}

struct Host {
    permits: Arc<Semaphore>,
    next_start: Mutex<Instant>,
    robots: Mutex<Option<(Robots, Instant)>>,
}

/// A [`Fetcher`] that behaves like a good citizen on every host it visits.
pub struct PoliteFetcher {
    inner: Fetcher,
    rules: Politeness,
    hosts: Mutex<HashMap<String, Arc<Host>>>,
}

impl PoliteFetcher {
    /// The fetcher every DealPulse runtime uses: default limits and User-Agent, public
    /// addresses only (plus `loopback_ports` on 127.0.0.1, for shops on this machine), and at
    /// least `min_delay` between two requests to one host.
    pub fn standard(
        loopback_ports: std::collections::BTreeSet<u16>,
        min_delay: Duration,
    ) -> Result<Self, crate::BuildError> {
        let mut config = crate::FetchConfig::default();
        config.policy.loopback_ports = loopback_ports;
        Ok(Self::new(
            Fetcher::new(config, Arc::new(crate::SystemLookup))?,
            Politeness {
                min_delay,
                ..Politeness::default()
            },
        ))
    }

    pub fn new(inner: Fetcher, rules: Politeness) -> Self {
        Self {
            inner,
            rules,
            hosts: Mutex::new(HashMap::new()),
        }
    }

    async fn host(&self, origin: &str) -> Arc<Host> {
        let mut hosts = self.hosts.lock().await;
        Arc::clone(hosts.entry(origin.to_string()).or_insert_with(|| {
            Arc::new(Host {
                permits: Arc::new(Semaphore::new(self.rules.max_concurrency.max(1))),
                next_start: Mutex::new(Instant::now()),
                robots: Mutex::new(None),
            })
        }))
    }

    /// The robots rules of the URL's origin, from cache or fetched (RFC 9309: a 4xx means no
    /// rules, an unreachable file or a 5xx means nothing may be fetched).
    async fn robots(&self, url: &Url, host: &Host) -> Robots {
        let mut cached = host.robots.lock().await;
        if let Some((robots, fetched_at)) = cached.as_ref() {
            if fetched_at.elapsed() < self.rules.robots_ttl {
                return robots.clone();
            }
        }
        let mut robots_url = url.clone();
        robots_url.set_path("/robots.txt");
        robots_url.set_query(None);
        robots_url.set_fragment(None);
        let robots = match self.inner.fetch(&robots_url, &Validators::default()).await {
            FetchOutcome::Ok(page) => {
                Robots::parse(&String::from_utf8_lossy(&page.body), &self.rules.agent)
            }
            FetchOutcome::NotFound | FetchOutcome::Gone => Robots::allow_all(),
            // 401/403/429 are "unavailable" (4xx) in RFC 9309: no restrictions.
            FetchOutcome::Blocked(why) if why.starts_with("the site answered 4") => {
                Robots::allow_all()
            }
            _ => Robots::disallow_all(),
        };
        *cached = Some((robots.clone(), Instant::now()));
        robots
    }

    pub async fn fetch(&self, url: &Url, validators: &Validators) -> FetchOutcome {
        let origin = url.origin().ascii_serialization();
        let host = self.host(&origin).await;
        let robots = self.robots(url, &host).await;
        let path = match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_string(),
        };
        if !robots.allows(&path) {
            return FetchOutcome::Blocked("robots.txt disallows this path".into());
        }
        let Ok(_permit) = Arc::clone(&host.permits).acquire_owned().await else {
            return FetchOutcome::Error("politeness limiter closed".into());
        };
        let delay = robots
            .crawl_delay
            .map_or(self.rules.min_delay, |d| d.max(self.rules.min_delay));
        let start = {
            let mut next = host.next_start.lock().await;
            let start = (*next).max(Instant::now());
            *next = start + delay;
            start
        };
        tokio::time::sleep_until(start.into()).await;
        self.inner.fetch(url, validators).await
    }
}
