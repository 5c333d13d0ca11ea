//! `dealpulse bench pipeline`: observations per second through the local alert pipeline —
//! product pages extracted, listings matched against N stored rules, alerts queued and
//! delivered as signed webhooks to a receiver on 127.0.0.1 — in one process with `serve`'s own
//! workers on a fresh SQLite file. Rules and listings come from the matching benchmark's
//! synthetic catalogue (`dealpulse_matching::synthetic`), so the match rate is the calibrated
//! one (about 1 rule in 17,000 per listing).

use crate::runtime::{LocalConfig, LocalRuntime};
use dealpulse_domain::account::{
    DisplayName, Email, Locale, PasswordHash, Role, TimeZoneName, User, UserStatus,
};
use dealpulse_domain::channels::{ChannelEndpoint, EndpointKind};
use dealpulse_domain::events::{CatalogEvent, EventEnvelope};
use dealpulse_domain::ids::{EndpointId, UserId};
use dealpulse_domain::money::{Currency, Money};
use dealpulse_domain::net::{PublicUrl, Schemes};
use dealpulse_domain::ports::Store;
use dealpulse_domain::preferences::{Channel, NotificationPreferences};
use dealpulse_domain::queue::Queue;
use dealpulse_domain::records::{bump_matching_stamp, records};
use dealpulse_domain::rules::AlertRule;
use dealpulse_matching::synthetic::{Catalogue, Rng};
use jiff::Timestamp;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What to run.
#[derive(Debug, Clone, Copy)]
pub struct PipelineBench {
    pub rules: usize,
    /// Rules per user (each user has a webhook endpoint and takes alerts at once).
    pub rules_per_user: usize,
    pub observations: usize,
    pub seed: u64,
}

/// What one run measured.
#[derive(Debug, Clone)]
pub struct PipelineFigures {
    pub rules: usize,
    pub users: usize,
    pub observations: usize,
    pub seed_seconds: f64,
    pub extract_seconds: f64,
    /// From the first event queued to the last webhook received.
    pub pipeline_seconds: f64,
    pub deliveries: usize,
}

impl PipelineFigures {
    pub const HEADER: &'static str = "| rules (users) | observations | seeding | extraction | extract → deliver | observations/s | webhooks delivered | deliveries/s |\n|---|---|---|---|---|---|---|---|";

    pub fn row(&self) -> String {
        format!(
            "| {} ({}) | {} | {:.1} s | {:.2} s | {:.2} s | {:.0} | {} | {:.0} |",
            self.rules,
            self.users,
            self.observations,
            self.seed_seconds,
            self.extract_seconds,
            self.pipeline_seconds,
            self.observations as f64 / self.pipeline_seconds,
            self.deliveries,
            self.deliveries as f64 / self.pipeline_seconds,
        )
    }
}

/// A webhook receiver on 127.0.0.1 that counts what it is sent and when the last one came.
struct Receiver {
    url: url::Url,
    received: Arc<AtomicUsize>,
    last: Arc<Mutex<Option<Instant>>>,
}

async fn start_receiver() -> anyhow::Result<Receiver> {
    let received = Arc::new(AtomicUsize::new(0));
    let last = Arc::new(Mutex::new(None));
    let (count, stamp) = (Arc::clone(&received), Arc::clone(&last));
    let app = axum::Router::new().fallback(move || {
        let (count, stamp) = (Arc::clone(&count), Arc::clone(&stamp));
        async move {
            count.fetch_add(1, Ordering::SeqCst);
            if let Ok(mut last) = stamp.lock() {
                *last = Some(Instant::now());
            }
            "{}"
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?).parse()?;
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(Receiver {
        url,
        received,
        last,
    })
}

fn config(data_dir: &std::path::Path, notify_origin: url::Url) -> LocalConfig {
    LocalConfig {
        notify_origin: Some(notify_origin),
        ..LocalConfig::for_tools(data_dir.to_path_buf(), "inbound.dealpulse.local".into())
    }
}

/// A verified user taking alerts at once on a webhook endpoint.
async fn seed_user(store: &dyn Store, n: usize, now: Timestamp) -> anyhow::Result<UserId> {
    let user = User {
        id: UserId::generate(),
        email: Email::parse(&format!("bench.{n}@dealpulse.local"))?,
        // Never used to log in: nobody knows a password for it.
        password_hash: PasswordHash::from_phc(
            "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
        ),
        display_name: Some(DisplayName::parse(&format!("Bench {n}"))?),
        timezone: TimeZoneName::utc(),
        locale: Locale::english(),
        role: Role::User,
        plan: dealpulse_domain::plans::Plan::Business,
        status: UserStatus::Active,
        email_verified_at: Some(now),
        password_changed_at: now,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    store.insert_user(&user).await?;
    let mut prefs = NotificationPreferences::defaults(user.id, now);
    prefs.channels = [Channel::Webhook].into();
    records::<NotificationPreferences>(store)
        .insert(&prefs, None)
        .await?;
    let endpoint = ChannelEndpoint {
        id: EndpointId::generate(),
        owner: user.id,
        kind: EndpointKind::Webhook,
        url: PublicUrl::parse(
            &format!("https://hooks.example.com/user/{n}"),
            Schemes::HttpsOnly,
        )?,
        label: None,
        signing_secret: Some("whsec_YmVuY2ggc2VjcmV0".into()),
        enabled: true,
        created_at: now,
        updated_at: now,
        last_tested_at: None,
        version: 0,
    };
    records::<ChannelEndpoint>(store)
        .insert(&endpoint, None)
        .await?;
    Ok(user.id)
}

/// A shop's product page for `title` at `price`, with the JSON-LD and microdata shops print.
fn product_page(title: &str, price: &Money) -> String {
    let name = serde_json::to_string(title).unwrap_or_default();
    format!(
        r#"<!doctype html><html><head><title>{title} | Shop</title>
<script type="application/ld+json">{{"@context":"https://schema.org","@type":"Product","name":{name},"offers":{{"@type":"Offer","price":"{amount}","priceCurrency":"{currency}","availability":"https://schema.org/InStock"}}}}</script>
</head><body><nav>Home / Deals</nav><h1 itemprop="name">{title}</h1>
<span class="price" itemprop="price">{amount}</span><p>Free shipping. Limited stock.</p></body></html>"#,
        title = html_escape(title),
        amount = price.amount_text(),
        currency = price.currency().code(),
    )
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

pub async fn run(bench: PipelineBench) -> anyhow::Result<PipelineFigures> {
    let receiver = start_receiver().await?;
    let dir = tempfile::tempdir()?;
    let runtime = LocalRuntime::start(config(dir.path(), receiver.url.clone()))?;
    let store = runtime.store.clone();
    let now = Timestamp::now();
    let mut rng = Rng::new(bench.seed);
    let catalogue = Catalogue::new(1_000_000, &mut rng);

    let started = Instant::now();
    let per_user = bench.rules_per_user.max(1);
    let users = bench.rules.div_ceil(per_user);
    let mut owner = UserId::generate();
    for n in 0..bench.rules {
        if n % per_user == 0 {
            owner = seed_user(store.as_ref(), n / per_user, now).await?;
        }
        let rule = AlertRule {
            owner,
            cooldown_minutes: 0,
            ..catalogue.rule(&mut rng)
        };
        records::<AlertRule>(store.as_ref())
            .insert(&rule, None)
            .await?;
    }
    bump_matching_stamp(store.as_ref()).await?;
    let seed_seconds = started.elapsed().as_secs_f64();

    // The pages, rendered before the clock starts; extraction is timed on its own and again as
    // part of the pipeline.
    let pages: Vec<(String, String, dealpulse_domain::listing::Listing)> = (0..bench.observations)
        .map(|n| {
            let listing = catalogue.listing(&mut rng);
            let url = format!("https://shop.example.com/p/{n}");
            (product_page(&listing.title, &listing.price), url, listing)
        })
        .collect();

    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let workers = crate::serve::run_alerts(&runtime, runtime.alerts(), shutdown);
    let pipeline_started = Instant::now();
    let mut bodies = Vec::with_capacity(pages.len());
    for (html, url, listing) in &pages {
        let parsed = url::Url::parse(url)?;
        let found = dealpulse_extract::extract(&dealpulse_extract::Page {
            html,
            url: Some(&parsed),
            selectors: None,
        })?;
        let (Some(title), Some(amount), Some(currency)) =
            (found.title, found.price, found.currency)
        else {
            anyhow::bail!("the extractor lost the title or price of {url}");
        };
        let observed = dealpulse_domain::listing::Listing {
            url: url.clone(),
            title,
            price: Money::parse(&amount, Currency::parse(&currency)?)?,
            seen_at: Timestamp::now(),
            ..listing.clone()
        };
        let event = CatalogEvent::ListingObserved {
            listing: Box::new(observed),
            previous_price: None,
        };
        bodies.push(serde_json::to_string(&EventEnvelope::new(
            event,
            Timestamp::now(),
        ))?);
    }
    let extract_seconds = pipeline_started.elapsed().as_secs_f64();
    for chunk in bodies.chunks(10) {
        runtime.events_queue.send_batch(chunk).await?;
    }

    // Done when both queues are empty and nothing has arrived for two seconds.
    let mut quiet_since = Instant::now();
    let mut seen = 0;
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let now_seen = receiver.received.load(Ordering::SeqCst);
        let waiting = runtime.events_queue.depth().await? + runtime.queue.depth().await?;
        if now_seen != seen || waiting > 0 {
            seen = now_seen;
            quiet_since = Instant::now();
        } else if quiet_since.elapsed() > Duration::from_secs(2) {
            break;
        }
    }
    let _ = stop.send(true);
    for worker in workers {
        let _ = worker.await;
    }
    let last = receiver
        .last
        .lock()
        .ok()
        .and_then(|last| *last)
        .unwrap_or(pipeline_started);
    let dead = runtime.dead_letters.depth().await?;
    if dead > 0 {
        anyhow::bail!("{dead} deliveries were dead-lettered");
    }
    Ok(PipelineFigures {
        rules: bench.rules,
        users,
        observations: bench.observations,
        seed_seconds,
        extract_seconds,
        pipeline_seconds: last.duration_since(pipeline_started).as_secs_f64(),
        deliveries: receiver.received.load(Ordering::SeqCst),
    })
}
