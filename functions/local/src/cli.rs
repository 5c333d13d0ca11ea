//! Command-line interface of the local runtime.

use crate::accounts::{ensure_account, set_status, Ensured};
use crate::runtime::{LocalConfig, LocalRuntime};
use clap::{Args, Parser, Subcommand, ValueEnum};
use dealpulse_api::routes::billing::StripeSettings;
use dealpulse_domain::account::{Role, UserStatus};
use dealpulse_ingest::llm::LlmConfig;
use dealpulse_outbound::TwilioConfig;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Parser)]
#[command(
    name = "dealpulse",
    version,
    about = "DealPulse deal and price alerts, in one process"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API, pages and background jobs.
    Serve(Box<ServeArgs>),
    /// Manage accounts directly in the local database.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Extract product data from a product page (a URL, fetched politely through the SSRF
    /// guard; a saved file; or - for stdin) and show which method found each field. JSON out.
    Extract {
        source: String,
        /// For a file or stdin: the page's address, for relative links and TLD currency hints.
        #[arg(long)]
        url: Option<String>,
        /// Also allow this port on 127.0.0.1 (a shop running on this machine).
        #[arg(long)]
        allow_loopback_port: Option<u16>,
        /// CSS selector overrides (JSON: {"title", "price", "list_price", "availability", "image"}).
        #[arg(long)]
        selectors: Option<std::path::PathBuf>,
    },
    /// Ingest deal newsletters saved as .eml files, as if they had arrived at their To address
    /// (deals@<inbound domain> or a user's address). Prints each message's record (JSON).
    IngestEmail {
        #[command(flatten)]
        data: DataArgs,
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Check every product page and feed that is due now, once, and print the run's report
    /// (JSON). `serve` does this on a schedule.
    Scrape {
        #[command(flatten)]
        data: DataArgs,
        #[command(flatten)]
        scrape: ScrapeArgs,
        /// Stop starting new checks after this many seconds.
        #[arg(long, default_value_t = 300)]
        budget_seconds: u64,
    },
    /// Parse price text as shops print it. With no TEXT, reads one price text per line from
    /// stdin and writes one JSON object per line: {"input", "amount", "currency"}.
    ParsePrice {
        text: Option<String>,
        /// Currency to assume for ambiguous or missing symbols (ISO 4217, e.g. CAD).
        #[arg(long)]
        currency_hint: Option<String>,
        /// Page locale that resolves ambiguous symbols (e.g. sv-SE).
        #[arg(long)]
        locale: Option<String>,
        /// Shop host whose TLD resolves ambiguous symbols (e.g. shop.example.ca).
        #[arg(long)]
        host: Option<String>,
    },
    /// Manage the weekly newsletter's subscribers in the local database.
    Subscribers {
        #[command(subcommand)]
        command: SubscribersCommand,
    },
    /// Measure a part of the product on synthetic data (see docs/BENCHMARKS.md).
    Bench {
        #[command(subcommand)]
        command: BenchCommand,
    },
}

#[derive(Subcommand)]
enum SubscribersCommand {
    /// Import subscribers from a CSV file (`email[,name]`, optional header), streamed: imported
    /// addresses count as confirmed, known ones (in any state) are duplicates and left alone.
    /// Shows progress on stderr, writes every row's outcome to the report and prints a JSON
    /// summary.
    Import {
        #[command(flatten)]
        data: DataArgs,
        file: PathBuf,
        /// Where the per-row report goes (default: FILE.report.csv).
        #[arg(long)]
        report: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum BenchCommand {
    /// The matching engine on one core: index build time, listings/s, peak index memory, and
    /// the naive matcher's rate and answers on a sample. Prints a Markdown table row.
    Match {
        /// Alert rules to index.
        #[arg(long, default_value_t = 100_000, value_parser = clap::value_parser!(u64).range(1..=5_000_000))]
        rules: u64,
        /// Listings to match.
        #[arg(long, default_value_t = 20_000, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
        listings: u64,
        /// Seed of the synthetic data (the same seed gives the same data).
        #[arg(long, default_value_t = 0x9E37_79B9_7F4A_7C15)]
        seed: u64,
    },
    /// The whole local alert pipeline: product pages extracted, matched against the rules,
    /// queued and delivered as webhooks to a receiver on 127.0.0.1, with serve's workers on a
    /// fresh SQLite file. Prints a Markdown table row.
    Pipeline {
        /// Alert rules to store (ten per user).
        #[arg(long, default_value_t = 100_000, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
        rules: u64,
        /// Product pages to observe.
        #[arg(long, default_value_t = 5_000, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
        observations: u64,
        /// Seed of the synthetic data (the same seed gives the same data).
        #[arg(long, default_value_t = 0x9E37_79B9_7F4A_7C15)]
        seed: u64,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Json,
    Pretty,
}

#[derive(Args, Clone)]
struct DataArgs {
    /// Directory holding the SQLite file, the mail outbox and the signing secret.
    #[arg(long, env = "DEALPULSE_DATA_DIR", default_value = "./data")]
    data_dir: PathBuf,
    /// Domain of the inbound newsletter addresses (deals@<domain>, and one per user).
    #[arg(
        long,
        env = "DEALPULSE_INBOUND_DOMAIN",
        default_value = "inbound.dealpulse.local"
    )]
    inbound_domain: String,
    /// Senders the system address accepts (name@domain or @domain), comma separated.
    #[arg(long, env = "DEALPULSE_INBOUND_SYSTEM_SENDERS", value_delimiter = ',')]
    inbound_system_senders: Vec<String>,
    /// Read newsletters with a language model first: base URL of an OpenAI-compatible API
    /// (e.g. http://127.0.0.1:11434 for Ollama). The rule-based extractor stays the fallback.
    #[arg(long, env = "DEALPULSE_LLM_URL", requires = "llm_model")]
    llm_url: Option<String>,
    /// Model name for --llm-url (e.g. llama3.1).
    #[arg(long, env = "DEALPULSE_LLM_MODEL")]
    llm_model: Option<String>,
    #[arg(long, env = "DEALPULSE_LLM_API_KEY", hide_env_values = true)]
    llm_api_key: Option<String>,
}

impl DataArgs {
    fn llm(&self) -> Option<LlmConfig> {
        Some(LlmConfig {
            base_url: self.llm_url.clone()?,
            model: self.llm_model.clone()?,
            api_key: self.llm_api_key.clone(),
            timeout: Duration::from_secs(60),
        })
    }
}

#[derive(Args)]
struct ServeArgs {
    #[command(flatten)]
    data: DataArgs,
    /// Address to listen on.
    #[arg(long, env = "DEALPULSE_ADDR", default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// Create the demo admin and user (printed on start).
    #[arg(long)]
    demo: bool,
    /// The built web dashboard, served at `/` (build it: cd web/app && npm ci && npm run build).
    #[arg(long, env = "DEALPULSE_WEB_DIR", default_value = "web/app/dist")]
    web_dir: PathBuf,
    /// Base URL used in e-mailed links (default: http://<the address bound>).
    #[arg(long, env = "DEALPULSE_PUBLIC_URL")]
    public_url: Option<String>,
    /// From address of outgoing mail.
    #[arg(
        long,
        env = "DEALPULSE_SENDER",
        default_value = "DealPulse <alerts@dealpulse.local>"
    )]
    sender: String,
    /// Relay mail through this SMTP server (smtp://user:pass@host:587?tls=required) instead of
    /// keeping it in the outbox.
    #[arg(long, env = "DEALPULSE_SMTP_URL")]
    smtp_url: Option<String>,
    /// Signing secret (at least 32 bytes); default: generated once into the data directory.
    #[arg(long, env = "DEALPULSE_JWT_SECRET", hide_env_values = true)]
    jwt_secret: Option<String>,
    /// Browser origins allowed to call the API (comma separated).
    #[arg(long, env = "DEALPULSE_ALLOWED_ORIGINS", value_delimiter = ',')]
    allowed_origins: Vec<String>,
    /// Plan limits file (JSON, same shape as shared/domain/data/plans.json).
    #[arg(long, env = "DEALPULSE_PLANS_FILE")]
    plans_file: Option<PathBuf>,
    /// Twilio account SID: send SMS through Twilio instead of keeping them in the SMS outbox.
    #[arg(long, env = "DEALPULSE_TWILIO_ACCOUNT_SID", requires_all = ["twilio_auth_token", "twilio_from"])]
    twilio_account_sid: Option<String>,
    #[arg(long, env = "DEALPULSE_TWILIO_AUTH_TOKEN", hide_env_values = true)]
    twilio_auth_token: Option<String>,
    /// Sending number (+1…) or Messaging Service SID (MG…).
    #[arg(long, env = "DEALPULSE_TWILIO_FROM")]
    twilio_from: Option<String>,
    #[arg(
        long,
        env = "DEALPULSE_TWILIO_BASE_URL",
        default_value = "https://api.twilio.com"
    )]
    twilio_base_url: String,
    /// Send every Discord, Slack, webhook and web push request to this origin instead of the
    /// endpoint's own (a relay, or a recorder when testing).
    #[arg(long, env = "DEALPULSE_NOTIFY_ORIGIN")]
    notify_origin: Option<url::Url>,
    /// Seconds a delivery worker holds a message before another may take it: longer than the
    /// slowest send (15 s). After a crash, deliveries in flight are retried once it has passed.
    #[arg(long, env = "DEALPULSE_DELIVERY_LEASE_SECONDS", default_value_t = 120,
        value_parser = clap::value_parser!(u64).range(20..=3600))]
    delivery_lease_seconds: u64,
    /// Stripe webhook endpoint secret (`whsec_…`): enables /api/v1/billing/stripe/webhook.
    #[arg(long, env = "DEALPULSE_STRIPE_WEBHOOK_SECRET", hide_env_values = true)]
    stripe_webhook_secret: Option<String>,
    /// Which Stripe price is which plan: `price_…=pro,price_…=business`.
    #[arg(long, env = "DEALPULSE_STRIPE_PRICES")]
    stripe_prices: Option<String>,
    /// Stripe secret key (`sk_…`): enables checkouts and cancellations.
    #[arg(long, env = "DEALPULSE_STRIPE_SECRET_KEY", hide_env_values = true)]
    stripe_secret_key: Option<String>,
    #[arg(
        long,
        env = "DEALPULSE_STRIPE_API_BASE",
        default_value = "https://api.stripe.com"
    )]
    stripe_api_base: String,
    #[arg(long, env = "DEALPULSE_LOG_FORMAT", value_enum, default_value = "json")]
    log_format: LogFormat,
    #[command(flatten)]
    scrape: ScrapeArgs,
}

#[derive(Args, Clone)]
struct ScrapeArgs {
    /// Seconds between scrape runs (each checks what is due); 0 turns scraping off.
    #[arg(long, env = "DEALPULSE_SCRAPE_EVERY_SECONDS", default_value_t = 60)]
    scrape_every_seconds: u64,
    /// Let the scraper fetch from this port on 127.0.0.1 too (a shop on this machine).
    /// Repeatable, or comma separated.
    #[arg(long, env = "DEALPULSE_FETCH_LOOPBACK_PORTS", value_delimiter = ',')]
    fetch_loopback_port: Vec<u16>,
    /// Minimum milliseconds between two requests to one host.
    #[arg(long, env = "DEALPULSE_FETCH_MIN_DELAY_MS", default_value_t = 1000)]
    fetch_min_delay_ms: u64,
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create an admin (verified), or make an existing account an admin.
    Create {
        #[command(flatten)]
        data: DataArgs,
        #[arg(long)]
        email: String,
        /// Password for a new account; generated and printed when omitted.
        #[arg(long, env = "DEALPULSE_ADMIN_PASSWORD", hide_env_values = true)]
        password: Option<String>,
    },
    /// Suspend an account: it can no longer log in or use API keys; its sessions end.
    Suspend {
        #[command(flatten)]
        data: DataArgs,
        #[arg(long)]
        email: String,
    },
    /// Lift a suspension.
    Activate {
        #[command(flatten)]
        data: DataArgs,
        #[arg(long)]
        email: String,
    },
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().flatten_event(true).init(),
        LogFormat::Pretty => builder.init(),
    }
}

fn config_for_admin(data: &DataArgs) -> LocalConfig {
    LocalConfig {
        system_senders: data.inbound_system_senders.clone(),
        llm: data.llm(),
        ..LocalConfig::for_tools(data.data_dir.clone(), data.inbound_domain.clone())
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(mut args) => {
            init_logging(args.log_format);
            if args.demo {
                // The demo shop's sample newsletters come from this sender.
                args.data
                    .inbound_system_senders
                    .push(crate::demo_shop::NEWSLETTER_SENDER.to_string());
            }
            let llm = args.data.llm();
            // Bound before the configuration is built: with port 0 the links in e-mails must
            // name the port the system chose, not 0.
            let listener = tokio::net::TcpListener::bind(args.addr).await?;
            let bound = listener.local_addr()?;
            let config = LocalConfig {
                data_dir: args.data.data_dir,
                public_url: args.public_url.unwrap_or_else(|| format!("http://{bound}")),
                sender: args.sender,
                smtp_url: args.smtp_url,
                jwt_secret: args.jwt_secret,
                allowed_origins: args.allowed_origins,
                plans_file: args.plans_file,
                twilio: match (
                    args.twilio_account_sid,
                    args.twilio_auth_token,
                    args.twilio_from,
                ) {
                    (Some(account_sid), Some(auth_token), Some(from)) => Some(TwilioConfig {
                        base_url: args.twilio_base_url,
                        account_sid,
                        auth_token,
                        from,
                    }),
                    _ => None,
                },
                llm,
                notify_origin: args.notify_origin,
                delivery_lease: Duration::from_secs(args.delivery_lease_seconds),
                stripe: match args.stripe_webhook_secret {
                    Some(secret) => Some(StripeSettings {
                        webhook_secret: secret,
                        prices: StripeSettings::parse_prices(
                            args.stripe_prices.as_deref().unwrap_or_default(),
                        )
                        .map_err(|why| anyhow::anyhow!("--stripe-prices: {why}"))?,
                        tolerance: dealpulse_domain::billing::DEFAULT_TOLERANCE,
                    }),
                    None => None,
                },
                stripe_api: args
                    .stripe_secret_key
                    .map(|key| (args.stripe_api_base.clone(), key)),
                inbound_domain: args.data.inbound_domain,
                system_senders: args.data.inbound_system_senders,
                web_dir: Some(args.web_dir),
            };
            let options = crate::serve::ServeOptions {
                demo: args.demo,
                scrape_every: (args.scrape.scrape_every_seconds > 0)
                    .then(|| Duration::from_secs(args.scrape.scrape_every_seconds)),
                loopback_ports: args.scrape.fetch_loopback_port.iter().copied().collect(),
                fetch_min_delay: Duration::from_millis(args.scrape.fetch_min_delay_ms),
            };
            crate::serve::serve(LocalRuntime::start(config)?, listener, options).await
        }
        Command::IngestEmail { data, files } => {
            init_logging(LogFormat::Pretty);
            let runtime = LocalRuntime::start(config_for_admin(&data))?;
            let drop = runtime.mail_drop();
            for file in files {
                let raw =
                    std::fs::read(&file).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
                let mail = drop.keep_and_ingest(&raw).await?;
                println!("{}", serde_json::to_string(&mail)?);
            }
            Ok(())
        }
        Command::Scrape {
            data,
            scrape,
            budget_seconds,
        } => {
            init_logging(LogFormat::Pretty);
            let runtime = LocalRuntime::start(config_for_admin(&data))?;
            let scraper = runtime.scraper(
                scrape.fetch_loopback_port.iter().copied().collect(),
                Duration::from_millis(scrape.fetch_min_delay_ms),
            )?;
            let report = scraper.run(Duration::from_secs(budget_seconds)).await?;
            println!("{}", serde_json::to_string_pretty(&report)?);
            Ok(())
        }
        Command::Extract {
            source,
            url,
            allow_loopback_port,
            selectors,
        } => {
            crate::extract::run(
                &source,
                url.as_deref(),
                selectors.as_deref(),
                allow_loopback_port,
            )
            .await
        }
        Command::ParsePrice {
            text,
            currency_hint,
            locale,
            host,
        } => crate::parse_price::run(
            text.as_deref(),
            currency_hint.as_deref(),
            locale.as_deref(),
            host.as_deref(),
        ),
        Command::Bench {
            command:
                BenchCommand::Match {
                    rules,
                    listings,
                    seed,
                },
        } => {
            use dealpulse_matching::bench::{run, MatchBench, MatchFigures};
            let figures = run(MatchBench {
                rules: usize::try_from(rules)?,
                listings: usize::try_from(listings)?,
                seed,
            });
            println!("{}\n{}", MatchFigures::HEADER, figures.row());
            if !figures.agrees_with_naive {
                anyhow::bail!("the index and the naive matcher disagree");
            }
            Ok(())
        }
        Command::Bench {
            command:
                BenchCommand::Pipeline {
                    rules,
                    observations,
                    seed,
                },
        } => {
            use crate::bench_pipeline::{run, PipelineBench, PipelineFigures};
            let figures = run(PipelineBench {
                rules: usize::try_from(rules)?,
                rules_per_user: 10,
                observations: usize::try_from(observations)?,
                seed,
            })
            .await?;
            println!("{}\n{}", PipelineFigures::HEADER, figures.row());
            Ok(())
        }
        Command::Subscribers {
            command: SubscribersCommand::Import { data, file, report },
        } => {
            init_logging(LogFormat::Pretty);
            let runtime = LocalRuntime::start(config_for_admin(&data))?;
            let report = report.unwrap_or_else(|| {
                let mut name = file.clone().into_os_string();
                name.push(".report.csv");
                PathBuf::from(name)
            });
            let summary = crate::subscribers::import(
                runtime.store.as_ref(),
                runtime.core.clock.as_ref(),
                &file,
                &report,
            )
            .await?;
            println!("{}", serde_json::to_string_pretty(&summary)?);
            Ok(())
        }
        Command::Admin { command } => {
            init_logging(LogFormat::Pretty);
            match command {
                AdminCommand::Create {
                    data,
                    email,
                    password,
                } => {
                    let runtime = LocalRuntime::start(config_for_admin(&data))?;
                    let (user, outcome) = ensure_account(
                        runtime.store.as_ref(),
                        runtime.core.clock.as_ref(),
                        &email,
                        password.as_deref(),
                        Role::Admin,
                        "cli",
                    )
                    .await?;
                    match outcome {
                        Ensured::Created { password } => {
                            println!(
                                "created admin {} ({})\npassword: {password}",
                                user.email, user.id
                            )
                        }
                        Ensured::Existing => {
                            println!("{} ({}) is now an admin", user.email, user.id)
                        }
                    }
                }
                AdminCommand::Suspend { data, email } => {
                    let runtime = LocalRuntime::start(config_for_admin(&data))?;
                    let user = set_status(
                        runtime.store.as_ref(),
                        runtime.core.clock.as_ref(),
                        &email,
                        UserStatus::Suspended,
                        "cli",
                    )
                    .await?;
                    println!("suspended {} ({})", user.email, user.id);
                }
                AdminCommand::Activate { data, email } => {
                    let runtime = LocalRuntime::start(config_for_admin(&data))?;
                    let user = set_status(
                        runtime.store.as_ref(),
                        runtime.core.clock.as_ref(),
                        &email,
                        UserStatus::Active,
                        "cli",
                    )
                    .await?;
                    println!("activated {} ({})", user.email, user.id);
                }
            }
            Ok(())
        }
    }
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
