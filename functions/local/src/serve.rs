//! `dealpulse serve`: one listener for every route, background jobs, graceful shutdown.

use crate::accounts::{ensure_account, Ensured};
use crate::runtime::LocalRuntime;
use dealpulse_domain::account::Role;
use dealpulse_ingest::scrape::Scraper;
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::sync::watch;

/// The demo accounts `serve --demo` makes sure exist.
pub const DEMO_ADMIN: (&str, &str) = ("admin@dealpulse.test", "demo-admin-password");
pub const DEMO_USER: (&str, &str) = ("demo@dealpulse.test", "demo-user-password");

/// How often expired tokens, sessions and rate counters are purged.
const PURGE_EVERY: Duration = Duration::from_secs(600);

pub async fn seed_demo(runtime: &LocalRuntime, shop_base: &str) -> anyhow::Result<()> {
    for ((email, password), role) in [(DEMO_ADMIN, Role::Admin), (DEMO_USER, Role::User)] {
        let (user, outcome) = ensure_account(
            runtime.store.as_ref(),
            runtime.core.clock.as_ref(),
            email,
            Some(password),
            role,
            "serve --demo",
        )
        .await?;
        match outcome {
            Ensured::Created { password } => {
                println!("demo {:<5}  {email}  password: {password}", role.as_str())
            }
            Ensured::Existing => println!(
                "demo {:<5}  {email}  (already existed; password unchanged, initially {password})",
                role.as_str()
            ),
        }
        if role == Role::User {
            let seeded = crate::demo::seed(
                runtime.store.as_ref(),
                user.id,
                runtime.core.clock.now(),
                shop_base,
            )
            .await?;
            if let Some(seeded) = seeded {
                // The sample newsletters arrive through the maildrop, like any dropped mail.
                let maildrop = runtime.config.data_dir.join("maildrop");
                std::fs::create_dir_all(&maildrop)?;
                for (name, raw) in crate::demo_shop::newsletters(&runtime.mail.addresses().system())
                {
                    std::fs::write(maildrop.join(name), raw)?;
                }
                println!(
                    "demo data   {} alert rules, {} watched products, {} listings from source \"demo\", the demo shop's products, feed and two newsletters",
                    seeded.rules, seeded.watches, seeded.listings
                );
            }
        }
    }
    Ok(())
}

/// What `serve` runs besides the routes.
#[derive(Debug, Clone, Default)]
pub struct ServeOptions {
    pub demo: bool,
    /// How often due product pages and feeds are checked; `None` turns scraping off.
    pub scrape_every: Option<Duration>,
    /// Loopback ports the scraper may fetch from (shops on this machine).
    pub loopback_ports: BTreeSet<u16>,
    /// Minimum gap between two requests to one host.
    pub fetch_min_delay: Duration,
}

/// The scrape schedule: a tick every `every`, each run within a budget a little under it, so
/// runs never overlap (as one Lambda invocation at a time on AWS).
async fn run_scraper(scraper: Scraper, every: Duration, mut shutdown: watch::Receiver<bool>) {
    let mut ticker = tokio::time::interval(every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let budget = every.mul_f64(0.8);
    loop {
        tokio::select! {
            _ = ticker.tick() => {
                match scraper.run(budget).await {
                    Ok(report) => tracing::info!(
                        job = "scrape",
                        products = report.products_checked,
                        feeds = report.feeds_checked,
                        price_changes = report.price_changes,
                        listings_observed = report.listings_observed,
                        failures = report.failures.len(),
                        elapsed_ms = report.elapsed_ms,
                        "job finished"
                    ),
                    Err(error) => tracing::error!(job = "scrape", %error, "job failed"),
                }
            }
            _ = shutdown.changed() => break,
        }
    }
}

/// How often the maildrop folder is swept.
const MAILDROP_EVERY: Duration = Duration::from_secs(5);

/// Ingests newsletters dropped into `<data>/maildrop` as they appear.
async fn watch_maildrop(drop: crate::mail_ingest::MailDrop, mut shutdown: watch::Receiver<bool>) {
    let mut ticker = tokio::time::interval(MAILDROP_EVERY);
    loop {
        tokio::select! {
            _ = ticker.tick() => match drop.sweep().await {
                Ok(mails) if mails.is_empty() => {}
                Ok(mails) => {
                    for mail in mails {
                        tracing::info!(job = "maildrop", id = %mail.id, status = %mail.status,
                            deals = mail.deals, "newsletter received");
                    }
                }
                Err(error) => tracing::error!(job = "maildrop", %error, "job failed; retried next sweep"),
            },
            _ = shutdown.changed() => break,
        }
    }
}

/// Periodic housekeeping; runs until `shutdown` flips. Failures are logged and retried next
/// round, never ignored silently.
async fn run_jobs(runtime: std::sync::Arc<LocalRuntime>, mut shutdown: watch::Receiver<bool>) {
    let mut ticker = tokio::time::interval(PURGE_EVERY);
    loop {
        tokio::select! {
            _ = ticker.tick() => {
                match runtime.store.purge_expired(runtime.core.clock.now()).await {
                    Ok(removed) => tracing::info!(job = "purge-expired", removed, "job finished"),
                    Err(error) => tracing::error!(job = "purge-expired", %error, "job failed"),
                }
            }
            _ = shutdown.changed() => break,
        }
    }
}

/// Deliveries in flight at once: workers, each with a batch of up to 10.
const DELIVERY_WORKERS: usize = 4;
/// How often due digests and held alerts are looked for.
const DIGEST_EVERY: Duration = Duration::from_secs(60);

/// The alert pipeline in this process: a matcher on the event queue, a pool of delivery
/// workers, and the digest run — the same code the Lambda functions run.
pub(crate) fn run_alerts(
    runtime: &LocalRuntime,
    pipeline: crate::runtime::AlertPipeline,
    shutdown: watch::Receiver<bool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let idle = Duration::from_millis(500);
    let mut tasks = Vec::new();
    {
        let matcher = std::sync::Arc::clone(&pipeline.matcher);
        let events = std::sync::Arc::clone(&runtime.events_queue);
        let mut shutdown = shutdown.clone();
        tasks.push(tokio::spawn(async move {
            loop {
                let handled = match dealpulse_alerts::worker::pump_events(
                    &matcher,
                    events.as_ref(),
                    10,
                )
                .await
                {
                    Ok(handled) => handled,
                    Err(error) => {
                        tracing::error!(job = "match", %error, "event queue failed");
                        0
                    }
                };
                if handled == 0 {
                    tokio::select! {
                        _ = tokio::time::sleep(idle) => {}
                        _ = shutdown.changed() => break,
                    }
                } else if *shutdown.borrow() {
                    break;
                }
            }
        }));
    }
    let lease = runtime.config.delivery_lease;
    for _ in 0..DELIVERY_WORKERS {
        let deliverer = std::sync::Arc::clone(&pipeline.deliverer);
        let queue = std::sync::Arc::clone(&runtime.queue);
        let mut shutdown = shutdown.clone();
        tasks.push(tokio::spawn(async move {
            loop {
                let received = match dealpulse_alerts::worker::pump_deliveries(
                    &deliverer,
                    queue.as_ref(),
                    lease,
                )
                .await
                {
                    Ok(received) => received,
                    Err(error) => {
                        tracing::error!(job = "deliver", %error, "delivery queue failed");
                        0
                    }
                };
                if received == 0 {
                    tokio::select! {
                        _ = tokio::time::sleep(idle) => {}
                        _ = shutdown.changed() => break,
                    }
                } else if *shutdown.borrow() {
                    break;
                }
            }
        }));
    }
    {
        let digests = std::sync::Arc::clone(&pipeline.digests);
        let mut shutdown = shutdown;
        tasks.push(tokio::spawn(async move {
            let mut ticker = tokio::time::interval(DIGEST_EVERY);
            loop {
                tokio::select! {
                    _ = ticker.tick() => match digests.run().await {
                        Ok(report) if report.users == 0 => {}
                        Ok(report) => tracing::info!(job = "digest", users = report.users,
                            deals = report.deals, queued = report.queued, "job finished"),
                        Err(error) => tracing::error!(job = "digest", %error, "job failed"),
                    },
                    _ = shutdown.changed() => break,
                }
            }
        }));
    }
    tasks
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = interrupt => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down");
}

/// What watches and previews may use besides public URLs: the demo shop this process mounts
/// (its pages only, not the API beside it), and every page of the shops on
/// `--fetch-loopback-ports`.
pub fn local_shop_prefixes(bound: SocketAddr, options: &ServeOptions) -> Vec<String> {
    let mut prefixes: Vec<String> = options
        .loopback_ports
        .iter()
        .map(|port| format!("http://127.0.0.1:{port}/"))
        .collect();
    if options.demo {
        prefixes.push(format!("http://{bound}/demo-shop/"));
    }
    prefixes
}

pub async fn serve(
    runtime: LocalRuntime,
    listener: tokio::net::TcpListener,
    options: ServeOptions,
) -> anyhow::Result<()> {
    let bound = listener.local_addr()?;
    let mut options = options;
    let mut runtime = runtime;
    let shop_base = format!("http://{bound}/demo-shop");
    let prefixes = local_shop_prefixes(bound, &options);
    if options.demo {
        seed_demo(&runtime, &shop_base).await?;
        // The scraper may fetch the demo shop, and nothing else on this machine.
        options.loopback_ports.insert(bound.port());
    }
    runtime.allow_local_shops(prefixes, options.loopback_ports.clone())?;
    let runtime = std::sync::Arc::new(runtime);
    let mut app = runtime.router();
    if options.demo {
        app = app.merge(crate::demo_shop::router());
    }
    let (stop_jobs, jobs_shutdown) = watch::channel(false);
    let jobs = tokio::spawn(run_jobs(
        std::sync::Arc::clone(&runtime),
        jobs_shutdown.clone(),
    ));
    let maildrop = tokio::spawn(watch_maildrop(runtime.mail_drop(), jobs_shutdown.clone()));
    let alerts = run_alerts(&runtime, runtime.alerts(), jobs_shutdown.clone());
    let scraping = match options.scrape_every {
        Some(every) => {
            let scraper =
                runtime.scraper(options.loopback_ports.clone(), options.fetch_min_delay)?;
            Some(tokio::spawn(run_scraper(scraper, every, jobs_shutdown)))
        }
        None => None,
    };

    println!("DealPulse is serving on http://{bound}");
    println!("  API docs     http://{bound}/docs");
    if let Some(outbox) = &runtime.outbox {
        println!(
            "  mail outbox  http://{bound}/api/v1/dev/outbox  (files in {})",
            outbox.dir().display()
        );
    }
    if options.demo {
        println!("  demo shop    {shop_base}/  (checked every 2 minutes; prices move every 10)");
    }
    println!(
        "  newsletters  mail to {} (senders: {}), or drop .eml files into {}",
        runtime.mail.addresses().system(),
        if runtime.config.system_senders.is_empty() {
            "none allowed yet; see --inbound-system-senders".to_string()
        } else {
            runtime.config.system_senders.join(", ")
        },
        runtime.config.data_dir.join("maildrop").display()
    );
    println!("  data         {}", runtime.config.data_dir.display());
    tracing::info!(%bound, "listening");

    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await?;
    let _ = stop_jobs.send(true);
    jobs.await?;
    if let Some(scraping) = scraping {
        scraping.await?;
    }
    maildrop.await?;
    for task in alerts {
        task.await?;
    }
    Ok(())
}
